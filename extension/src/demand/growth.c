/*
 * growth.c — the growth rate of the ICU inflow, for the capacity forecast's
 * trend: a Poisson log-linear fit to daily counts of ICU-episode starts.
 *
 * SQL object backed here (extension/sql/31_demand_inflow.sql):
 *   inflow_growth(daily_counts float8[], OUT rate float8, OUT rate_se float8,
 *                 OUT level float8, OUT total float8)
 *
 * Model: count c_j of day j (j = 0 .. n-1, oldest first) is Poisson with
 * mean exp(a + r x_j), x_j = j - (n-1)/2 (days from the middle of the
 * window, which makes a and r nearly uncorrelated).  The maximum-likelihood
 * (a, r) come from Newton's method on the two score equations, started at
 * the flat fit (a = log of the mean count, r = 0); rate = r per day,
 * rate_se = sqrt of the (r, r) entry of the inverse Fisher information,
 * level = exp(a) = the fitted count per day at the middle of the window.
 * Counting whole weeks (the forecast passes 14 days) cancels the weekday
 * cycle from the slope.
 *
 * Edge cases: no events at all -> rate 0, rate_se NULL (nothing known),
 * level 0.  When the likelihood has no finite maximum (all events on the
 * first day, or all on the last), |rate| is held at ICU_GROWTH_MAX_RATE,
 * the level fitted at that slope, and rate_se taken there; the forecast's
 * shrinkage (rate * max(0, 1 - se^2 / rate^2)) then decides how much of it
 * to believe.  Counts must be finite and >= 0 (22023), 2 to 366 of them.
 */
#include "demand.h"

#include <math.h>

#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "catalog/pg_type.h"

#define ICU_GROWTH_MAX_RATE		1.0		/* per day, when the data cannot bound it */
#define ICU_GROWTH_MAX_DAYS		366

typedef struct GrowthFit
{
	double		rate;
	double		rate_se;		/* NaN: unknown */
	double		level;
	double		total;
} GrowthFit;

/* Sums of the fit at (a, r): mu, x mu, x^2 mu, and the two scores. */
static void
growth_sums(const double *c, int n, double a, double r,
			double *s0, double *s1, double *s2, double *u0, double *u1)
{
	double		mid = (n - 1) / 2.0;

	*s0 = *s1 = *s2 = *u0 = *u1 = 0.0;
	for (int j = 0; j < n; j++)
	{
		double		x = j - mid;
		double		mu = exp(a + r * x);

		*s0 += mu;
		*s1 += x * mu;
		*s2 += x * x * mu;
		*u0 += c[j] - mu;
		*u1 += x * (c[j] - mu);
	}
}

static void
growth_fit(const double *c, int n, GrowthFit *out)
{
	double		total = 0.0;
	double		a,
				r = 0.0;
	double		mid = (n - 1) / 2.0;

	for (int j = 0; j < n; j++)
		total += c[j];
	out->total = total;
	if (total <= 0.0)
	{
		out->rate = 0.0;
		out->rate_se = NAN;
		out->level = 0.0;
		return;
	}
	a = log(total / n);
	/*
	 * The maximum is infinite exactly when every event falls on the first
	 * day or every event on the last (the slope separates them): hold the
	 * slope then.  Otherwise Newton finds the finite maximum.
	 */
	if (c[0] == total || c[n - 1] == total)
	{
		double		sum = 0.0;

		r = c[0] == total ? -ICU_GROWTH_MAX_RATE : ICU_GROWTH_MAX_RATE;
		for (int j = 0; j < n; j++)
			sum += exp(r * (j - mid));
		a = log(total / sum);
	}
	else
	{
		for (int iter = 0; iter < 200; iter++)
		{
			double		s0,
						s1,
						s2,
						u0,
						u1,
						det,
						da,
						dr;

			growth_sums(c, n, a, r, &s0, &s1, &s2, &u0, &u1);
			det = s0 * s2 - s1 * s1;
			if (!(det > 0.0))
				break;
			da = (s2 * u0 - s1 * u1) / det;
			dr = (s0 * u1 - s1 * u0) / det;
			/* damp long steps: the log-likelihood is concave, Newton converges */
			if (fabs(dr) > 0.25)
			{
				da *= 0.25 / fabs(dr);
				dr = dr > 0 ? 0.25 : -0.25;
			}
			a += da;
			r += dr;
			if (fabs(da) < 1e-13 && fabs(dr) < 1e-13)
				break;
		}
	}
	{
		double		s0,
					s1,
					s2,
					u0,
					u1,
					det;

		growth_sums(c, n, a, r, &s0, &s1, &s2, &u0, &u1);
		det = s0 * s2 - s1 * s1;
		out->rate = r;
		out->rate_se = det > 0.0 ? sqrt(s0 / det) : NAN;
		out->level = exp(a);
	}
}

PG_FUNCTION_INFO_V1(icu_inflow_growth);
Datum
icu_inflow_growth(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	double	   *c;
	GrowthFit	fit;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		isnull[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "inflow_growth: return type must be a row type");
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("inflow_growth needs a one-dimensional array of daily counts")));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n < 2 || n > ICU_GROWTH_MAX_DAYS)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("inflow_growth needs 2 to %d daily counts, got %d", ICU_GROWTH_MAX_DAYS, n)));
	c = palloc(sizeof(double) * n);
	for (int j = 0; j < n; j++)
	{
		if (nulls[j])
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("inflow_growth: daily count %d is NULL", j + 1),
					 errhint("Pass 0 for a day without ICU-episode starts.")));
		c[j] = DatumGetFloat8(elems[j]);
		if (!(c[j] >= 0.0) || isinf(c[j]))
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("inflow_growth: daily count %d is %g; counts must be finite and >= 0",
							j + 1, c[j])));
	}
	growth_fit(c, n, &fit);
	values[0] = Float8GetDatum(fit.rate);
	if (isnan(fit.rate_se))
		isnull[1] = true;
	else
		values[1] = Float8GetDatum(fit.rate_se);
	values[2] = Float8GetDatum(fit.level);
	values[3] = Float8GetDatum(fit.total);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, isnull)));
}
