/*
 * score.c — grading a count forecast against the count that happened: the
 * forecast CDF, the continuous ranked probability score and the probability
 * integral transform for a discrete distribution.
 *
 * SQL objects backed here (extension/sql/30_demand.sql):
 *   bed_demand_cdf(d, k), bed_demand_crps(d, y), bed_demand_pit(d, y, u),
 *   bed_demand_pit_cdf(d, y, z)
 *
 * The CDF read here.  A bed_demand keeps the pmf over offset .. top
 * (top = offset + n - 1) and the mass trimmed from its tails.  The scores
 * read the distribution as pmf / sum(pmf), so that F(k) = 0 below the
 * offset and F(k) = 1 from top on exactly: the trimmed mass (at most about
 * 1e-12 per tail and step) is spread over the kept counts instead of being
 * lost beyond them, which keeps the CRPS a finite sum and the PIT of a count
 * at the top equal to 1.  Every value differs from the unnormalised reading
 * by at most trimmed_mass().
 *
 *   F(k)        = sum_{j <= k} pmf(j) / S            (S = sum of the pmf)
 *   1 - F(k)    = sum_{j > k}  pmf(j) / S            (summed from the top,
 *                 so small upper tails keep their precision)
 *   CRPS(F, y)  = sum over all integers k of (F(k) - 1{y <= k})^2, the
 *                 discrete CRPS (the ranked probability score with unit
 *                 bins; Gneiting & Raftery 2007).  Terms below
 *                 min(offset, y) and from max(top, y) on are 0; when y lies
 *                 outside the support the counts between y and the support
 *                 add 1 each, so a point mass at x scores |y - x|.
 *   PIT(y, u)   = F(y - 1) + u (F(y) - F(y - 1)), u in [0, 1]: uniform on
 *                 [0, 1] for a calibrated forecast when u is uniform.
 *   pit_cdf(y, z) = the CDF at z of that PIT given y (Czado, Gneiting & Held
 *                 2009): 0 for z <= F(y - 1), 1 for z >= F(y), linear in
 *                 between.  The mean of pit_cdf(b) - pit_cdf(a) over the
 *                 forecasts is the non-randomised PIT histogram's bar [a, b).
 *
 * Counts are compared in 64 bits (y - 1 of INT32_MIN, offset + n - 1).  All
 * functions are immutable and read the value only; u or z outside [0, 1]
 * (or NaN) raise 22023.
 */
#include "demand.h"

#include <math.h>

/* sum of the whole pmf */
static float8
icu_demand_total(const IcuBedDemand *d)
{
	float8		s = 0.0;
	int32		i;

	for (i = 0; i < d->n; i++)
		s += d->pmf[i];
	return s;
}

/*
 * F(k) of the normalised distribution; total is the sum of the pmf
 * (icu_demand_total), passed in so callers that read F twice sum once.
 */
static float8
icu_demand_cdf_at(const IcuBedDemand *d, int64 k, float8 total)
{
	int64		top = (int64) d->offset + d->n - 1;
	float8		s = 0.0;
	int64		i;

	if (k < d->offset)
		return 0.0;
	if (k >= top || !(total > 0.0))
		return 1.0;
	/* the shorter side: from the bottom up to k, or from the top down to k + 1 */
	if (k - d->offset < top - k)
	{
		for (i = 0; i <= k - d->offset; i++)
			s += d->pmf[i];
		return Min(1.0, s / total);
	}
	for (i = d->n - 1; i > k - d->offset; i--)
		s += d->pmf[i];
	return Max(0.0, 1.0 - s / total);
}

void
icu_demand_check_unit_interval(float8 x, const char *name)
{
	if (!(x >= 0.0 && x <= 1.0))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("%s %g is outside [0, 1]", name, x),
				 errhint("Pass a number between 0 and 1, e.g. 0.5.")));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_cdf);
Datum
icu_bed_demand_cdf(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	int64		k = PG_GETARG_INT32(1);

	PG_RETURN_FLOAT8(icu_demand_cdf_at(d, k, icu_demand_total(d)));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_crps);
Datum
icu_bed_demand_crps(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	int64		y = PG_GETARG_INT32(1);
	int64		lo = d->offset;
	int64		top = (int64) d->offset + d->n - 1;
	float8		total = icu_demand_total(d);
	float8		crps = 0.0;
	float8		s;
	int64		k;

	if (!(total > 0.0))
		elog(ERROR, "bed_demand_crps: distribution without mass");

	/* counts between y and the support: F is 0 below it, 1 from top on */
	if (y < lo)
		crps += (float8) (lo - y);
	if (y > top)
		crps += (float8) (y - top);

	/* k in [lo, min(y, top) - 1]: (F(k) - 0)^2, F summed from the bottom */
	s = 0.0;
	for (k = lo; k < Min(y, top); k++)
	{
		float8		f;

		s += d->pmf[k - lo];
		f = Min(1.0, s / total);
		crps += f * f;
	}

	/* k in [max(y, lo), top - 1]: (F(k) - 1)^2 = (1 - F(k))^2, from the top */
	s = 0.0;
	for (k = top - 1; k >= Max(y, lo); k--)
	{
		float8		g;

		s += d->pmf[k + 1 - lo];
		g = Min(1.0, s / total);
		crps += g * g;
	}
	PG_RETURN_FLOAT8(crps);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_pit);
Datum
icu_bed_demand_pit(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	int64		y = PG_GETARG_INT32(1);
	float8		u = PG_GETARG_FLOAT8(2);
	float8		total;
	float8		a;
	float8		b;

	icu_demand_check_unit_interval(u, "PIT randomisation u");
	total = icu_demand_total(d);
	a = icu_demand_cdf_at(d, y - 1, total);
	b = icu_demand_cdf_at(d, y, total);
	PG_RETURN_FLOAT8(a + u * (b - a));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_pit_cdf);
Datum
icu_bed_demand_pit_cdf(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	int64		y = PG_GETARG_INT32(1);
	float8		z = PG_GETARG_FLOAT8(2);
	float8		total;
	float8		a;
	float8		b;

	icu_demand_check_unit_interval(z, "PIT level z");
	total = icu_demand_total(d);
	a = icu_demand_cdf_at(d, y - 1, total);
	b = icu_demand_cdf_at(d, y, total);
	if (z <= a)
		PG_RETURN_FLOAT8(0.0);
	if (z >= b)
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8((z - a) / (b - a));
}
