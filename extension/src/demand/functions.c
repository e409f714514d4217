/*
 * functions.c — plain functions over bed_demand values: the sum of two
 * independent counts and the numbers a bed manager reads from a
 * distribution.
 *
 * SQL objects backed here (extension/sql/30_demand.sql):
 *   bed_demand_add(a, b) and operator +, mean, variance, quantile,
 *   prob_exceeds, trimmed_mass, pmf
 *
 * Subtle points: the mean and variance are summed relative to the offset
 * (small, exact indices); quantile allows ICU_DEMAND_TRIM (1e-12) for
 * rounding and trimming; prob_exceeds sums from the upper tail so small
 * exceedance probabilities keep their precision.  All are immutable and
 * read the value only.
 */
#include "demand.h"

#include "funcapi.h"
#include "utils/tuplestore.h"

/* ------------------------------------------------------------------------
 * Plain functions over values
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(icu_bed_demand_add);
Datum
icu_bed_demand_add(PG_FUNCTION_ARGS)
{
	IcuBedDemand *a = PG_GETARG_BED_DEMAND_P(0);
	IcuBedDemand *b = PG_GETARG_BED_DEMAND_P(1);
	IcuDemandState *st = icu_demand_state_from_value(a, CurrentMemoryContext);

	icu_demand_state_convolve(st, b->pmf, b->n, b->offset, b->trimmed, CurrentMemoryContext);
	PG_RETURN_POINTER(icu_demand_from_state(st));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_mean);
Datum
icu_bed_demand_mean(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		m = 0.0;
	int32		i;

	/* relative to the offset, then shifted: keeps the sum small and exact */
	for (i = 0; i < d->n; i++)
		m += (float8) i * d->pmf[i];
	PG_RETURN_FLOAT8((float8) d->offset + m);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_variance);
Datum
icu_bed_demand_variance(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		m = 0.0;
	float8		v = 0.0;
	int32		i;

	for (i = 0; i < d->n; i++)
		m += (float8) i * d->pmf[i];
	for (i = 0; i < d->n; i++)
	{
		float8		dev = (float8) i - m;

		v += dev * dev * d->pmf[i];
	}
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_quantile);
Datum
icu_bed_demand_quantile(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		q = PG_GETARG_FLOAT8(1);
	float8		cum = 0.0;
	float8		target;
	int32		i;

	if (!(q >= 0.0 && q <= 1.0))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("quantile level %g is outside [0, 1]", q)));

	/*
	 * Smallest k with CDF(k) >= q, allowing 1e-12 for rounding and trimming;
	 * if rounding keeps the CDF below q, the largest kept count.
	 */
	target = q - ICU_DEMAND_TRIM;
	for (i = 0; i < d->n; i++)
	{
		cum += d->pmf[i];
		if (cum >= target && (q > 0.0 || d->pmf[i] > 0.0))
			PG_RETURN_INT32(d->offset + i);
	}
	PG_RETURN_INT32(d->offset + d->n - 1);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_prob_exceeds);
Datum
icu_bed_demand_prob_exceeds(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	int64		k = PG_GETARG_INT32(1);
	float8		s = 0.0;
	int32		i;

	/* summed from the top, so small tail probabilities keep their precision */
	for (i = d->n - 1; i >= 0 && (int64) d->offset + i > k; i--)
		s += d->pmf[i];
	PG_RETURN_FLOAT8(s);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_trimmed_mass);
Datum
icu_bed_demand_trimmed_mass(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);

	PG_RETURN_FLOAT8(d->trimmed);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_pmf);
Datum
icu_bed_demand_pmf(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < d->n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int32GetDatum(d->offset + i);
		values[1] = Float8GetDatum(d->pmf[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

