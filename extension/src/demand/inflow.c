/*
 * inflow.c — count distributions of patients not yet admitted: arrivals
 * whose number is Poisson with a known rate.
 *
 * SQL objects backed here (extension/sql/30_demand.sql):
 *   bed_demand_poisson(lambda), bed_demand_add_poisson(d, lambda)
 *
 * Subtle points: the pmf is computed in log space from the mode outwards
 * (no underflow for large lambda), and the walk stops where entries fall
 * below 1e-15; the mass beyond, 1 - sum, is recorded as trimmed.
 */
#include "demand.h"

#include <math.h>

static void
demand_check_lambda(float8 lambda)
{
	if (!(lambda >= 0.0 && lambda <= 1e8))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("Poisson arrival rate %g is outside [0, 1e8]", lambda)));
}

/*
 * The Poisson(lambda) pmf from its mode outwards, in log space (no
 * underflow for large lambda), stopping where each tail's remaining mass is
 * below the trim threshold.  Returns a state.
 */
static IcuDemandState *
demand_poisson_state(float8 lambda, MemoryContext cxt)
{
	int64		mode;
	int64		lo,
				hi;
	float8		loglam;
	IcuDemandState *st;
	int32		k;
	float8		total = 0.0;

	if (lambda == 0.0)
		return icu_demand_state_unit(cxt);

	mode = (int64) floor(lambda);
	loglam = log(lambda);

	/* walk out from the mode while entries are at least 1e-15 */
	lo = mode;
	while (lo > 0 &&
		   exp((lo - 1) * loglam - lambda - lgamma((float8) lo)) >= ICU_DEMAND_TRIM * 1e-3)
		lo--;
	hi = mode;
	while (exp((hi + 1) * loglam - lambda - lgamma((float8) hi + 2.0)) >= ICU_DEMAND_TRIM * 1e-3)
		hi++;
	icu_demand_check_count(hi);

	st = icu_demand_state_new(cxt, lo, (int32) (hi - lo + 1));
	for (k = 0; k <= hi - lo; k++)
	{
		int64		c = lo + k;

		st->buf[k] = exp(c * loglam - lambda - lgamma((float8) c + 1.0));
		total += st->buf[k];
	}
	st->len = (int32) (hi - lo + 1);
	/* the tails beyond lo and hi (each entry < 1e-15) count as trimmed */
	st->trimmed = Max(0.0, 1.0 - total);
	icu_demand_trim(st->buf, &st->start, &st->len, &st->offset, &st->trimmed, ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
	return st;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_poisson);
Datum
icu_bed_demand_poisson(PG_FUNCTION_ARGS)
{
	float8		lambda = PG_GETARG_FLOAT8(0);

	demand_check_lambda(lambda);
	PG_RETURN_POINTER(icu_demand_from_state(demand_poisson_state(lambda, CurrentMemoryContext)));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_add_poisson);
Datum
icu_bed_demand_add_poisson(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		lambda = PG_GETARG_FLOAT8(1);
	IcuDemandState *pois;
	IcuDemandState *st;

	demand_check_lambda(lambda);
	if (lambda == 0.0)
		PG_RETURN_POINTER(d);
	pois = demand_poisson_state(lambda, CurrentMemoryContext);
	st = icu_demand_state_from_value(d, CurrentMemoryContext);
	icu_demand_state_convolve(st, pois->buf + pois->start, pois->len, pois->offset,
						  pois->trimmed, CurrentMemoryContext);
	PG_RETURN_POINTER(icu_demand_from_state(st));
}
