/*
 * calibrate.c — recalibration of a bed-demand distribution from the graded
 * past forecasts in forecast_log: the widening factor learnt from the
 * standardised errors, and the widened distribution itself.
 *
 * SQL objects backed here (extension/sql/31_demand_calibration.sql):
 *   bed_demand_calibration_factor(mean_sq_z, effective_forecasts)
 *   bed_demand_widen(demand, factor)
 * capacity_forecast (45_capacity_forecast.sql) reads the log, computes the
 * standardised errors of the forecasts of record and calls both, before any
 * quantile, exceedance probability or action is read from a distribution.
 *
 * The factor.  A past forecast of record with mean m and variance v (both of
 * the forecast as computed, before any calibration) that met the census y has
 * the standardised squared error z^2 = (y - m)^2 / v; for a calibrated
 * forecast its mean is 1.  Over the window of a unit and horizon,
 *
 *     k^2 = (n_eff * mean(z^2) + 4) / (n_eff + 4),    k in [0.5, 5],
 *
 * i.e. the observed mean of z^2 shrunk toward 1 (no change) with the weight
 * of ICU_CALIBRATION_PRIOR = 4 independent forecasts.  n_eff is the number
 * of independent errors the mean rests on, which the caller counts (daily
 * h-day forecasts overlap: about one independent error per h days).  The
 * factor widens (k > 1) a forecast whose errors were larger than its spread
 * and narrows (k < 1) one whose spread was too large.  Since mean(z^2) is
 * bias^2 / v + the error variance / v, a persistent bias widens the range
 * too, so that the range keeps its coverage; the mean itself is not moved.
 *
 * The widening.  X' = m + k (X - m), m the mean of X: every count x keeps its
 * mass, moved to x' = x + (k - 1)(x - m) and split linearly between the two
 * integers around x' (floor gets 1 - frac, ceil gets frac), which keeps the
 * mean exactly and gives variance k^2 v + (the rounding of the split, at
 * most 1/4).  Mass that would land below 0 is put on 0 (a count cannot be
 * negative), which raises the mean by at most that mass times its distance.
 * k = 1 returns the distribution unchanged.  The tails are trimmed as every
 * finished value is (ICU_DEMAND_TRIM); trimmed mass carries over.
 *
 * Float semantics: plain IEEE doubles; immutable, reads its inputs only.
 */
#include "demand.h"

#include <math.h>

/* Weight of the prior "the forecast's own spread is right", in forecasts. */
#define ICU_CALIBRATION_PRIOR	4.0
/* Bounds of the widening factor. */
#define ICU_CALIBRATION_MIN_FACTOR	0.5
#define ICU_CALIBRATION_MAX_FACTOR	5.0
/* Largest factor bed_demand_widen accepts. */
#define ICU_WIDEN_MAX_FACTOR	100.0

PG_FUNCTION_INFO_V1(icu_bed_demand_calibration_factor);
Datum
icu_bed_demand_calibration_factor(PG_FUNCTION_ARGS)
{
	float8		msz = PG_GETARG_FLOAT8(0);
	float8		neff = PG_GETARG_FLOAT8(1);
	float8		k;

	if (!isfinite(msz) || msz < 0.0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("calibration mean squared standardised error %g is not a finite number >= 0", msz)));
	if (!isfinite(neff) || neff < 0.0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("calibration effective number of forecasts %g is not a finite number >= 0", neff)));

	k = sqrt((neff * msz + ICU_CALIBRATION_PRIOR) / (neff + ICU_CALIBRATION_PRIOR));
	if (k < ICU_CALIBRATION_MIN_FACTOR)
		k = ICU_CALIBRATION_MIN_FACTOR;
	if (k > ICU_CALIBRATION_MAX_FACTOR)
		k = ICU_CALIBRATION_MAX_FACTOR;
	PG_RETURN_FLOAT8(k);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_widen);
Datum
icu_bed_demand_widen(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		k = PG_GETARG_FLOAT8(1);
	float8		total = 0.0;
	float8		m = 0.0;
	float8		lo_x,
				hi_x;
	int64		lo,
				hi;
	int32		n,
				start,
				len,
				i;
	int64		offset;
	float8		trimmed;
	float8	   *out;

	if (!isfinite(k) || k <= 0.0 || k > ICU_WIDEN_MAX_FACTOR)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed demand widening factor %g is outside (0, %g]", k, ICU_WIDEN_MAX_FACTOR),
				 errhint("capacity_forecast passes bed_demand_calibration_factor(), which lies in [0.5, 5].")));
	if (k == 1.0)
		PG_RETURN_POINTER(icu_demand_from_pmf(d->pmf, d->n, d->offset, d->trimmed));

	/* the mean of the distribution as it is read (pmf / sum), relative to the offset */
	for (i = 0; i < d->n; i++)
	{
		total += d->pmf[i];
		m += (float8) i * d->pmf[i];
	}
	if (!(total > 0.0))
		PG_RETURN_POINTER(icu_demand_from_pmf(d->pmf, d->n, d->offset, d->trimmed));
	m /= total;

	/* the new support: the images of the two ends, and 0 at the least */
	lo_x = (float8) 0 + (k - 1.0) * (0.0 - m);
	hi_x = (float8) (d->n - 1) + (k - 1.0) * ((float8) (d->n - 1) - m);
	lo = (int64) floor(lo_x) + d->offset;
	hi = (int64) ceil(hi_x) + d->offset;
	if (lo < 0)
		lo = 0;
	if (hi < lo)
		hi = lo;
	icu_demand_check_count(hi);
	if (hi - lo + 1 > ICU_DEMAND_MAX_N)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("bed demand distribution too wide")));
	n = (int32) (hi - lo + 1);
	out = palloc0(sizeof(float8) * n);

	for (i = 0; i < d->n; i++)
	{
		float8		p = d->pmf[i];
		float8		x;
		float8		f;
		int64		c;

		if (p == 0.0)
			continue;
		/* the count's image relative to the offset, then absolute */
		x = (float8) i + (k - 1.0) * ((float8) i - m) + (float8) d->offset;
		if (x <= (float8) lo)
		{
			out[0] += p;
			continue;
		}
		c = (int64) floor(x);
		f = x - (float8) c;
		if (c - lo >= n - 1)
		{
			out[n - 1] += p;
			continue;
		}
		out[c - lo] += p * (1.0 - f);
		out[c - lo + 1] += p * f;
	}

	start = 0;
	len = n;
	offset = lo;
	trimmed = d->trimmed;
	icu_demand_trim(out, &start, &len, &offset, &trimmed, ICU_DEMAND_TRIM, 1);
	PG_RETURN_POINTER(icu_demand_from_pmf(out + start, len, offset, trimmed));
}
