/*
 * inflow.c — count distributions of patients not yet admitted: arrivals
 * whose number is Poisson (rate known) or negative binomial (rate uncertain,
 * gamma-distributed around its estimate).
 *
 * SQL objects backed here (extension/sql/30_demand.sql, 31_demand_inflow.sql):
 *   bed_demand_poisson(lambda), bed_demand_add_poisson(d, lambda)
 *   bed_demand_negbinomial(mean, shape), bed_demand_add_negbinomial(d, mean, shape)
 *
 * Negative binomial.  N | G ~ Poisson(mean * G), G ~ Gamma(shape k, rate k)
 * (mean 1, variance 1/k), so E N = mean and Var N = mean + mean^2 / k; as
 * k -> infinity it tends to Poisson(mean).  docs/demand.md says why one
 * shared G per forecast horizon models the uncertainty of the arrival rate.
 *
 * Subtle points.
 * - The Poisson pmf is exp(k log lambda - lambda - lgamma(k + 1)) per entry,
 *   from the mode outwards (no underflow for large lambda); the walk stops
 *   where entries fall below 1e-15 and the mass beyond, 1 - sum, is recorded
 *   as trimmed.
 *   The negative binomial is NOT computed that way: lgamma(n + k) -
 *   lgamma(k) loses about eps * k * log(k) to cancellation, 1e-9 at k = 1e6,
 *   so a large shape could never reach its Poisson limit.  Instead the pmf
 *   is built from the mode outwards by the exact ratio
 *       p(n+1) / p(n) = (mean / (n+1)) * (1 + (n - mean) / (k + mean)),
 *   written so that a huge k gives mean / (n+1) without cancellation, and
 *   normalised at the end.  Relative rounding grows like |n - mode| * eps.
 * - The walk stops on a rigorous bound of the mass left beyond each end
 *   (below 1e-16 relative to the mode's weight): the pmf is unimodal and its
 *   ratios are monotone (geometric bound), so the bound holds for small
 *   shapes with their long upper tail (k = 0.5, mean 500: ~ 35 000 counts).
 *   The bound is recorded as trimmed mass and the kept entries are scaled to
 *   sum to 1 - trimmed, so every probability is within trimmed_mass() of
 *   the exact value; then the tails are cut like the Poisson's
 *   (ICU_DEMAND_WORK_TRIM per step, ICU_DEMAND_TRIM for the finished value).
 * - A distribution wider than ICU_DEMAND_INFLOW_MAX_WIDTH counts (a small
 *   shape with a large mean) raises 54000 instead of filling memory.
 */
#include "demand.h"

#include <math.h>

#include "miscadmin.h"

/* Largest number of pmf entries an inflow distribution may have. */
#define ICU_DEMAND_INFLOW_MAX_WIDTH	(1 << 24)

/* Mass (relative to the mode's weight) left beyond each end of the walk. */
#define ICU_DEMAND_INFLOW_TAIL	1e-16

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


/* ------------------------------------------------------------------------
 * Negative binomial (Poisson-gamma)
 * ------------------------------------------------------------------------ */

static void
demand_check_negbinomial(float8 mean, float8 shape)
{
	if (!(mean >= 0.0 && mean <= 1e8))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("negative-binomial mean %g is outside [0, 1e8]", mean)));
	if (!(shape > 0.0) || isinf(shape))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("negative-binomial shape %g is not a finite number above 0", shape),
				 errhint("The shape k sets the variance mean + mean^2/k; as k grows the count tends to Poisson, for which use bed_demand_poisson(mean).")));
}

/* p(n+1) / p(n) of NB(mean, shape); exact for any shape (see the header). */
static inline float8
demand_nb_ratio(float8 n, float8 mean, float8 shape)
{
	return (mean / (n + 1.0)) * (1.0 + (n - mean) / (shape + mean));
}

static void
demand_nb_too_wide(float8 mean, float8 shape)
{
	ereport(ERROR,
			(errcode(ICU_ERR_LIMIT),
			 errmsg("negative-binomial distribution with mean %g and shape %g is too wide", mean, shape),
			 errdetail("It would need more than %d counts.", ICU_DEMAND_INFLOW_MAX_WIDTH),
			 errhint("A small shape with a large mean spreads the count over a very wide range; check the shape.")));
}

/*
 * NB(mean, shape) as a working state in cxt: weights relative to the mode
 * (weight 1), walked outwards until the rigorous tail bound is below
 * ICU_DEMAND_INFLOW_TAIL, then normalised.
 */
static IcuDemandState *
demand_negbinomial_state(float8 mean, float8 shape, MemoryContext cxt)
{
	float8		L = mean / (shape + mean);	/* limit of the ratio, < 1 */
	float8		mode_f = mean - mean / shape;
	int64		mode = mode_f > 0.0 ? (int64) floor(mode_f) : 0;
	float8	   *down;			/* weights mode-1, mode-2, ..., lo */
	int32		ndown = 0;
	int32		capdown = 64;
	float8		w;
	float8		bound_lo = 0.0;
	float8		bound_hi = 0.0;
	float8		total;
	float8		scale;
	int64		lo;
	IcuDemandState *st;
	int32		i;

	if (mean == 0.0)
		return icu_demand_state_unit(cxt);

	/*
	 * Down from the mode: p(n-1) = p(n) / r(n-1).  Below the mode the weights
	 * increase with n, so the mass below lo is at most lo * w(lo-1); for
	 * shape >= 1 the downward ratios 1 / r(j-1) also shrink as j falls, a
	 * geometric bound w(lo-1) / (1 - 1/r(lo-2)).
	 */
	down = palloc(sizeof(float8) * capdown);
	lo = mode;
	w = 1.0;
	while (lo > 0)
	{
		float8		wnext = w / demand_nb_ratio((float8) (lo - 1), mean, shape);
		float8		b = wnext * (float8) lo;

		if (lo >= 2 && shape >= 1.0)
		{
			float8		q = 1.0 / demand_nb_ratio((float8) (lo - 2), mean, shape);

			if (q < 1.0)
				b = Min(b, wnext / (1.0 - q));
		}
		else if (lo == 1)
			b = wnext;
		if (b < ICU_DEMAND_INFLOW_TAIL)
		{
			bound_lo = b;
			break;
		}
		if (ndown == capdown)
		{
			if (capdown >= ICU_DEMAND_INFLOW_MAX_WIDTH)
				demand_nb_too_wide(mean, shape);
			capdown *= 2;
			down = repalloc(down, sizeof(float8) * capdown);
		}
		down[ndown++] = wnext;
		w = wnext;
		lo--;
		if ((ndown & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/* the state: lo .. mode, then up from the mode */
	st = icu_demand_state_new(cxt, lo, ndown + 64);
	for (i = 0; i < ndown; i++)
		st->buf[i] = down[ndown - 1 - i];
	st->buf[ndown] = 1.0;
	st->len = ndown + 1;
	pfree(down);

	/*
	 * Up from the mode: p(n+1) = p(n) r(n).  Above the mode r(n) < 1; for
	 * shape >= 1 it falls with n (towards L from above), for shape < 1 it
	 * rises towards L, so every later ratio is at most max(r(hi+1), L): the
	 * mass above hi is at most w(hi+1) / (1 - max(r(hi+1), L)).
	 */
	w = 1.0;
	for (;;)
	{
		int64		hi = st->offset + st->len - 1;
		float8		wnext = w * demand_nb_ratio((float8) hi, mean, shape);
		float8		rho = Max(demand_nb_ratio((float8) (hi + 1), mean, shape), L);

		if (rho < 1.0 && wnext / (1.0 - rho) < ICU_DEMAND_INFLOW_TAIL)
		{
			bound_hi = wnext / (1.0 - rho);
			break;
		}
		if (st->len >= ICU_DEMAND_INFLOW_MAX_WIDTH)
			demand_nb_too_wide(mean, shape);
		icu_demand_check_count(hi + 1);
		icu_demand_state_make_room(st, cxt);
		st->buf[st->start + st->len] = wnext;
		st->len++;
		w = wnext;
		if ((st->len & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
	}

	/* normalise: the kept entries carry 1 - (bounded tails) */
	total = 0.0;
	for (i = 0; i < st->len; i++)
		total += st->buf[st->start + i];
	st->trimmed = (bound_lo + bound_hi) / total;
	scale = (1.0 - st->trimmed) / total;
	for (i = 0; i < st->len; i++)
		st->buf[st->start + i] *= scale;
	icu_demand_trim(st->buf, &st->start, &st->len, &st->offset, &st->trimmed,
					ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
	return st;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_negbinomial);
Datum
icu_bed_demand_negbinomial(PG_FUNCTION_ARGS)
{
	float8		mean = PG_GETARG_FLOAT8(0);
	float8		shape = PG_GETARG_FLOAT8(1);

	demand_check_negbinomial(mean, shape);
	PG_RETURN_POINTER(icu_demand_from_state(demand_negbinomial_state(mean, shape, CurrentMemoryContext)));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_add_negbinomial);
Datum
icu_bed_demand_add_negbinomial(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		mean = PG_GETARG_FLOAT8(1);
	float8		shape = PG_GETARG_FLOAT8(2);
	IcuDemandState *nb;
	IcuDemandState *st;

	demand_check_negbinomial(mean, shape);
	if (mean == 0.0)
		PG_RETURN_POINTER(d);
	nb = demand_negbinomial_state(mean, shape, CurrentMemoryContext);
	st = icu_demand_state_from_value(d, CurrentMemoryContext);
	icu_demand_state_convolve(st, nb->buf + nb->start, nb->len, nb->offset,
							  nb->trimmed, CurrentMemoryContext);
	PG_RETURN_POINTER(icu_demand_from_state(st));
}
