/*
 * accum.c — the accumulator of one feature and the helpers both panel
 * aggregates share: merging accumulators and trend sums (combine), turning
 * an accumulator into a feature's statistics (final), the trend-window
 * argument, the finite-value check and the one-admission-per-group check.
 * The per-row steps (panel_acc_add, panel_trend_add) are inline in
 * panel_int.h.
 *
 * Rows: NULL feature/value/resulted_at rows are skipped by the callers; a
 * NaN or infinite value raises 22023 naming feature and admission.  The mean
 * is clamped into [min, max] against rounding.  Sums are exact (see
 * panel_int.h): the exact-sum helpers, their rounding, and the trend's
 * final arithmetic in double-double live here.
 */
#include "panel_int.h"

/* ---- exact sums --------------------------------------------------------- */

/* All parts taken: fold the smallest into the next one (rounds; see panel_int.h). */
void
panel_xsum_fold(double *p, int16 *np)
{
	int			n = *np;

	if (n < 2)
		return;
	p[1] += p[0];
	memmove(p, p + 1, sizeof(double) * (n - 1));
	*np = (int16) (n - 1);
}

/*
 * The exact sum of the parts (increasing magnitude, non-overlapping),
 * rounded once to nearest, ties to even: add from the largest part down
 * until a sum is inexact, then correct a half-way case by the sign of the
 * parts below (the rounding of Python's math.fsum).
 */
double
panel_xsum_round(const double *p, int n)
{
	double		hi,
				lo = 0.0,
				x,
				y,
				yr;

	if (n <= 0)
		return 0.0;
	hi = p[--n];
	while (n > 0)
	{
		x = hi;
		y = p[--n];
		hi = x + y;
		yr = hi - x;
		lo = y - yr;
		if (lo != 0.0)
			break;
	}
	if (n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)))
	{
		y = lo * 2.0;
		x = hi + y;
		yr = x - hi;
		if (y == yr)
			hi = x;
	}
	return hi;
}

static void
xsum_merge(double *a, int16 *na, const double *b, int nb)
{
	for (int i = 0; i < nb; i++)
		panel_xsum_add(a, na, b[i]);
}

/* double-double numbers for the trend's final arithmetic */
typedef struct DD
{
	double		hi,
				lo;
} DD;

static inline DD
dd_fast(double a, double b)
{
	DD			r;

	r.hi = a + b;
	r.lo = b - (r.hi - a);
	return r;
}

static DD
dd_add(DD a, DD b)
{
	double		s = a.hi + b.hi;
	double		bb = s - a.hi;
	double		e = (a.hi - (s - bb)) + (b.hi - bb);
	DD			r;

	e += a.lo + b.lo;
	r = dd_fast(s, e);
	return r;
}

static DD
dd_neg(DD a)
{
	a.hi = -a.hi;
	a.lo = -a.lo;
	return a;
}

static DD
dd_mul(DD a, DD b)
{
	double		p = a.hi * b.hi;
	double		e = fma(a.hi, b.hi, -p);

	e += a.hi * b.lo + a.lo * b.hi;
	return dd_fast(p, e);
}

static DD
dd_div_d(DD a, double d)
{
	double		q1 = a.hi / d;
	double		p = q1 * d;
	double		e = fma(q1, d, -p);
	double		s = ((a.hi - p) - e) + a.lo;

	return dd_fast(q1, s / d);
}

static DD
dd_mul_d(DD a, double d)
{
	double		p = a.hi * d;
	double		e = fma(a.hi, d, -p);

	e += a.lo * d;
	return dd_fast(p, e);
}

/* a / b to about 100 bits (three quotient digits) */
static DD
dd_div(DD a, DD b)
{
	double		q1 = a.hi / b.hi;
	DD			r = dd_add(a, dd_neg(dd_mul_d(b, q1)));
	double		q2 = r.hi / b.hi;
	double		q3;
	DD			q;

	r = dd_add(r, dd_neg(dd_mul_d(b, q2)));
	q3 = r.hi / b.hi;
	q = dd_fast(q1, q2);
	return dd_add(q, (DD) {q3, 0.0});
}

static DD
dd_from_int128(int128 v)
{
	DD			r;

	r.hi = (double) v;
	r.lo = (double) (v - (int128) r.hi);
	return r;
}

/*
 * An exact sum as a double-double that depends only on the exact value:
 * hi = the sum rounded, lo = (sum - hi) rounded.
 */
static DD
xsum_dd(const double *p, int n)
{
	double		q[PANEL_XSUM_K + 1];
	int16		nq = (int16) n;
	DD			r;

	memcpy(q, p, sizeof(double) * n);
	r.hi = panel_xsum_round(p, n);
	/* room for one more part: q has PANEL_XSUM_K + 1 slots */
	{
		int			i = 0;
		double		x = -r.hi;

		for (int j = 0; j < nq; j++)
		{
			double		y = q[j];
			double		hi,
						lo;

			if (fabs(x) < fabs(y))
			{
				double		t = x;

				x = y;
				y = t;
			}
			hi = x + y;
			lo = y - (hi - x);
			if (lo != 0.0)
				q[i++] = lo;
			x = hi;
		}
		if (x != 0.0)
			q[i++] = x;
		nq = (int16) i;
	}
	r.lo = panel_xsum_round(q, nq);
	return r;
}

void
panel_trend_merge(TrendSums *a, const TrendSums *b)
{
	if (b->n == 0)
		return;
	if (a->n == 0)
	{
		*a = *b;
		return;
	}
	a->xmin = Min(a->xmin, b->xmin);
	a->xmax = Max(a->xmax, b->xmax);
	a->n += b->n;
	a->sx += b->sx;
	a->sxx += b->sxx;
	xsum_merge(a->sy, &a->nsy, b->sy, b->nsy);
	xsum_merge(a->sxy, &a->nsxy, b->sxy, b->nsxy);
}

/*
 * The least-squares slope per day from exact sums, or false when there is
 * none (fewer than 2 values, a span shorter than PANEL_TREND_MIN_SPAN_H, or
 * a slope too large for a double).  slope = (Sxy - Sx Sy / n) / (Sxx - Sx^2 / n),
 * evaluated in double-double from values that depend only on the exact
 * sums, so the result does not depend on the order the sums were built in.
 */
static bool
trend_slope(const TrendSums *t, double *out)
{
	DD			sx,
				num,
				den;
	double		n = (double) t->n,
				slope;

	if (t->n < 2 || t->xmax - t->xmin < PANEL_TREND_MIN_SPAN_US)
		return false;
	sx = dd_from_int128(t->sx);		/* exact: |Sx| < 2^78 */
	/* (Sy / n) brought from Sy's scale (2^-32) to Sxy's (2^-96), times Sx */
	num = dd_div_d(xsum_dd(t->sy, t->nsy), n);
	num.hi *= 0x1p-64;
	num.lo *= 0x1p-64;
	num = dd_mul(sx, num);
	num = dd_add(xsum_dd(t->sxy, t->nsxy), dd_neg(num));
	den = dd_add(dd_from_int128(t->sxx), dd_neg(dd_div_d(dd_mul(sx, sx), n)));
	if (!(den.hi > 0))
		return false;
	/* per microsecond at scale 2^-96: to per day, unscaled, rounded once */
	num = dd_mul_d(num, USECS_PER_DAY_F);
	num = dd_div(num, den);
	slope = ldexp(num.hi + num.lo, -PANEL_XY_SCALE);
	if (!isfinite(slope))
		return false;
	*out = slope;
	return true;
}

void
panel_too_many_values(void)
{
	ereport(ERROR,
			(errcode(ICU_ERR_LIMIT),
			 errmsg("more than %d lab values of one feature in one lab panel", PG_INT32_MAX)));
}


void
panel_acc_merge(PanelAcc *a, const PanelAcc *b)
{
	if ((int64) a->rejected + b->rejected > PG_INT32_MAX ||
		(int64) a->count + b->count > PG_INT32_MAX)
		panel_too_many_values();
	a->rejected += b->rejected;
	if (b->count == 0)
		return;
	if (a->count == 0)
	{
		a->count = b->count;
		a->last_v = b->last_v;
		a->last_t = b->last_t;
		a->prev_v = b->prev_v;
		a->prev_t = b->prev_t;
		a->first_v = b->first_v;
		a->first_t = b->first_t;
		a->min = b->min;
		a->max = b->max;
		memcpy(a->sum, b->sum, sizeof(a->sum));
		a->nsum = b->nsum;
		return;
	}
	/* last and prev: the two latest of a's two and b's two */
	{
		TimestampTz ct[4];
		double		cv[4];
		int			n = 0;
		int			i1 = -1,
					i2 = -1;

		ct[n] = a->last_t, cv[n++] = a->last_v;
		if (a->count >= 2)
			ct[n] = a->prev_t, cv[n++] = a->prev_v;
		ct[n] = b->last_t, cv[n++] = b->last_v;
		if (b->count >= 2)
			ct[n] = b->prev_t, cv[n++] = b->prev_v;
		for (int i = 0; i < n; i++)
			if (i1 < 0 || panel_point_after(ct[i], cv[i], ct[i1], cv[i1]))
				i1 = i;
		for (int i = 0; i < n; i++)
			if (i != i1 && (i2 < 0 || panel_point_after(ct[i], cv[i], ct[i2], cv[i2])))
				i2 = i;
		a->last_t = ct[i1];
		a->last_v = cv[i1];
		a->prev_t = ct[i2];
		a->prev_v = cv[i2];
	}
	if (panel_point_after(a->first_t, a->first_v, b->first_t, b->first_v))
	{
		a->first_t = b->first_t;
		a->first_v = b->first_v;
	}
	a->min = Min(a->min, b->min);
	a->max = Max(a->max, b->max);
	a->count += b->count;
	xsum_merge(a->sum, &a->nsum, b->sum, b->nsum);
}

/* tr: the feature's trend sums, or NULL when no value fell in the window. */
void
panel_acc_to_featin(const PanelAcc *a, const TrendSums *tr, const char *name, FeatIn *f)
{
	memset(f, 0, sizeof(FeatIn));
	strlcpy(f->name, name, sizeof(f->name));
	f->count = a->count;
	f->rejected = a->rejected;
	if (a->count == 0)
		return;
	f->last = a->last_v;
	f->last_at = a->last_t;
	f->first = a->first_v;
	f->min = a->min;
	f->max = a->max;
	/* the exact sum rounded once, divided, unscaled (exact) */
	f->mean = ldexp(panel_xsum_round(a->sum, a->nsum) / (double) a->count, -PANEL_SUM_SCALE);
	if (f->mean < f->min)
		f->mean = f->min;
	if (f->mean > f->max)
		f->mean = f->max;
	if (!isfinite(f->mean))
		ereport(ERROR,
				(errcode(ICU_ERR_RANGE),
				 errmsg("mean of feature \"%s\" overflows", name)));
	if (a->count >= 2)
	{
		f->has_prev = true;
		f->prev = a->prev_v;
	}
	if (tr != NULL && trend_slope(tr, &f->trend))
		f->has_trend = true;
}



double
panel_window_arg(FunctionCallInfo fcinfo, int argno)
{
	Interval   *iv;
	double		hours;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return PANEL_DEFAULT_WINDOW_H;
	iv = PG_GETARG_INTERVAL_P(argno);
	hours = ((double) iv->time + (double) iv->day * USECS_PER_DAY_F +
			 (double) iv->month * 30.0 * USECS_PER_DAY_F) / (double) USECS_PER_HOUR;
	if (!(hours > 0) || !isfinite(hours))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("trend window must be positive, got %g hours", hours)));
	if (hours > PANEL_MAX_WINDOW_H)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("trend window must be at most 4 years (%g hours), got %g hours",
						PANEL_MAX_WINDOW_H, hours)));
	return hours;
}

void
panel_check_value(double v, const int64 *admission_id, const text *feature)
{
	if (unlikely(!isfinite(v)))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("lab value %s of feature \"%.*s\" of admission %s is not a finite number",
						icu_nonfinite_name(v),
						(int) VARSIZE_ANY_EXHDR(feature), VARDATA_ANY(feature),
						admission_id ? psprintf(INT64_FORMAT, *admission_id) : "(not given)"),
				 errhint("Check lab_map.factor and \"offset\" for this feature; values must stay finite after conversion.")));
}

void
panel_set_admission(bool *has, int64 *cur, int64 adm)
{
	if (!*has)
	{
		*has = true;
		*cur = adm;
	}
	else if (*cur != adm)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("lab_panel received rows of admissions " INT64_FORMAT " and " INT64_FORMAT " in one group",
						*cur, adm),
				 errhint("GROUP BY admission_id: a panel describes one admission.")));
}

