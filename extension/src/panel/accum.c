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
 * is clamped into [min, max] against rounding.
 */
#include "panel_int.h"

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
	{
		double		n1 = (double) a->n,
					n2 = (double) b->n,
					n = n1 + n2;
		double		d1 = a->sx / n1 - b->sx / n2;
		double		d2 = a->sy / n1 - b->sy / n2;

		a->sxx += b->sxx + n1 * n2 * d1 * d1 / n;
		a->sxy += b->sxy + n1 * n2 * d1 * d2 / n;
		a->n += b->n;
		a->sx += b->sx;
		a->sy += b->sy;
	}
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
		a->sum = b->sum;
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
	a->sum += b->sum;
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
	f->mean = a->sum / (double) a->count;
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
	if (tr != NULL && tr->n >= 2 && tr->sxx > 0)
	{
		double		slope = tr->sxy / tr->sxx;

		if (isfinite(slope))
		{
			f->has_trend = true;
			f->trend = slope;
		}
	}
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

