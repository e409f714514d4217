/*
 * series.c — the daily series aggregate:
 *   lab_panel_series(admission_id, feature, value, resulted_at, from, until
 *                    [, window]) -> lab_panel[]
 * (icu_lab_panel_series_trans, _combine, _serialize, _deserialize, _final).
 *
 * The state keeps each row (feature slot, accepted?, time, value); the final
 * function sorts them by (resulted_at, value) once and sweeps, taking a
 * snapshot at the end of each calendar day (in icu_predict.day_timezone, or
 * the session TimeZone) from the day of `from` to the day of `until`, the
 * last one as of `until`.  Cost: one sort plus O(labs + days x features +
 * points in the trend windows) per admission.  Deserialize checks every
 * count against the bytes present and every point (22P03).
 * A series whose `from` is quarantined by the admission rule
 * (common/integrity.c: not finite, before 1900, or more than 3650 days
 * before `until`) is empty.
 */
#include "panel_int.h"
#include "icu_integrity.h"

#include "utils/array.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define BAD_STATE(...) icu_invalid_input(ICU_INPUT_BINARY, "lab_panel_series aggregate state", __VA_ARGS__)

typedef struct SeriesPoint
{
	TimestampTz t;
	double		v;
	int16		feat;			/* catalogue index */
	int16		ok;				/* 1 accepted, 0 rejected (implausible) */
	int32		reserved;
} SeriesPoint;

typedef struct SeriesState
{
	bool		has_adm;
	bool		unsorted;		/* points not in time order (final sorts) */
	int16		ncat;
	int64		admission_id;
	TimestampTz from;
	TimestampTz until;
	double		window_hours;
	int64		npts;
	int64		cappts;
	SeriesPoint *pts;
} SeriesState;

static SeriesState *
sstate_new(MemoryContext ctx, int ncat, TimestampTz from, TimestampTz until, double window_hours)
{
	SeriesState *s = MemoryContextAllocZero(ctx, sizeof(SeriesState));

	s->ncat = (int16) ncat;
	s->from = from;
	s->until = until;
	s->window_hours = window_hours;
	return s;
}

/* Room for `more` points; the buffer lives in ctx (the one it was made in). */
static void
sstate_reserve(SeriesState *s, MemoryContext ctx, int64 more)
{
	Size		bytes;

	if (s->npts + more <= s->cappts)
		return;
	if ((Size) (s->npts + more) > MaxAllocSize / sizeof(SeriesPoint) / 2)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("too many lab results for one admission in lab_panel_series")));
	bytes = panel_chunk_bytes(sizeof(SeriesPoint) * (s->npts + more));
	s->pts = s->pts ? repalloc(s->pts, bytes) : MemoryContextAlloc(ctx, bytes);
	s->cappts = bytes / sizeof(SeriesPoint);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_series_trans);
Datum
icu_lab_panel_series_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = icu_agg_context(fcinfo, "icu_lab_panel_series_trans");
	SeriesState *s = PG_ARGISNULL(0) ? NULL : (SeriesState *) PG_GETARG_POINTER(0);
	int64		adm;
	TimestampTz from,
				until,
				t;
	double		v;
	text	   *feature;
	PanelCatalog *cat;
	int			k;
	SeriesPoint *p;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(5) || PG_ARGISNULL(6))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	adm = PG_GETARG_INT64(1);
	from = PG_GETARG_TIMESTAMPTZ(5);
	until = PG_GETARG_TIMESTAMPTZ(6);
	cat = panel_catalog(fcinfo->flinfo);
	if (s == NULL)
	{
		/* a non-finite from (a quarantined admission) gives an empty series */
		if (TIMESTAMP_NOT_FINITE(until))
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("lab_panel_series: until must be a finite time")));
		s = sstate_new(aggctx, cat->n, from, until, panel_window_arg(fcinfo, 7));
	}
	else if (s->from != from || s->until != until)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("lab_panel_series: from and until must be the same for all rows of a group")));
	panel_set_admission(&s->has_adm, &s->admission_id, adm);

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_POINTER(s);
	t = PG_GETARG_TIMESTAMPTZ(4);
	if (t > s->until)
		PG_RETURN_POINTER(s);
	feature = PG_GETARG_TEXT_PP(2);
	v = PG_GETARG_FLOAT8(3);
	panel_check_value(v, &adm, feature);
	k = panel_catalog_find(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (k < 0)
		panel_unknown_feature(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (unlikely(s->ncat != cat->n))
		elog(ERROR, "lab_panel_series: state built for another feature catalogue");
	sstate_reserve(s, aggctx, 1);
	p = &s->pts[s->npts++];
	p->t = t;
	p->v = v;
	p->feat = (int16) k;
	p->ok = !(v < cat->lo[k] || v > cat->hi[k]);
	p->reserved = 0;
	/*
	 * Rows often arrive in time order: then the final function need not sort.
	 * Only time order matters to the sweep (per-feature statistics break
	 * ties by value themselves; sums are exact, so their order is free).
	 */
	if (s->npts > 1 && (p - 1)->t > p->t)
		s->unsorted = true;
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_series_combine);
Datum
icu_lab_panel_series_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = icu_agg_context(fcinfo, "icu_lab_panel_series_combine");
	SeriesState *a = PG_ARGISNULL(0) ? NULL : (SeriesState *) PG_GETARG_POINTER(0);
	SeriesState *b = PG_ARGISNULL(1) ? NULL : (SeriesState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
		a = sstate_new(aggctx, b->ncat, b->from, b->until, b->window_hours);
	else if (a->from != b->from || a->until != b->until || a->window_hours != b->window_hours)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("lab_panel_series: from, until and trend window must be the same for all rows of a group")));
	else if (a->ncat != b->ncat)
		elog(ERROR, "lab_panel_series: states built for different feature catalogues");
	if (b->has_adm)
		panel_set_admission(&a->has_adm, &a->admission_id, b->admission_id);
	if (b->npts > 0)
	{
		if (b->unsorted || (a->npts > 0 && a->pts[a->npts - 1].t > b->pts[0].t))
			a->unsorted = true;
		sstate_reserve(a, aggctx, b->npts);
		memcpy(&a->pts[a->npts], b->pts, sizeof(SeriesPoint) * b->npts);
		a->npts += b->npts;
	}
	PG_RETURN_POINTER(a);
}

/*
 * Serialized state: version u8 | has_adm u8 | ncat i16 | catalogue fingerprint u32 |
 *   admission_id i64 | from i64 | until i64 | window_hours f64 | npts i64 | npts x SeriesPoint
 */
#define SSTATE_HDR	(1 + 1 + 2 + 4 + 8 + 8 + 8 + 8 + 8)

PG_FUNCTION_INFO_V1(icu_lab_panel_series_serialize);
Datum
icu_lab_panel_series_serialize(PG_FUNCTION_ARGS)
{
	SeriesState *s = (SeriesState *) PG_GETARG_POINTER(0);
	PanelCatalog *cat = panel_catalog(fcinfo->flinfo);
	IcuWriter	w;
	uint8		version = PANEL_STATE_VERSION;
	uint8		has_adm = s->has_adm ? 1 : 0;

	icu_agg_context(fcinfo, "icu_lab_panel_series_serialize");
	icu_writer_init(&w, SSTATE_HDR + sizeof(SeriesPoint) * s->npts);
	icu_write_value(&w, version);
	icu_write_value(&w, has_adm);
	icu_write_value(&w, s->ncat);
	icu_write_value(&w, cat->fingerprint);
	icu_write_value(&w, s->admission_id);
	icu_write_value(&w, s->from);
	icu_write_value(&w, s->until);
	icu_write_value(&w, s->window_hours);
	icu_write_value(&w, s->npts);
	icu_write_bytes(&w, s->pts, sizeof(SeriesPoint) * s->npts);
	PG_RETURN_BYTEA_P(icu_writer_finish(&w));
}

/* Built in the current (per-input-tuple) context; combine copies the points. */
PG_FUNCTION_INFO_V1(icu_lab_panel_series_deserialize);
Datum
icu_lab_panel_series_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	IcuReader	r;
	PanelCatalog *cat = panel_catalog(fcinfo->flinfo);
	uint8		version,
				has_adm;
	int16		ncat;
	uint32		fp;
	int64		npts;
	SeriesState *s;

	icu_agg_context(fcinfo, "icu_lab_panel_series_deserialize");
	icu_reader_init(&r, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes),
					ICU_INPUT_BINARY, "lab_panel_series aggregate state");
	icu_read_value(&r, version);
	icu_read_value(&r, has_adm);
	if (version != PANEL_STATE_VERSION || has_adm > 1)
		BAD_STATE("unknown version");
	icu_read_value(&r, ncat);
	icu_read_value(&r, fp);
	if (ncat != cat->n || fp != cat->fingerprint)
		BAD_STATE("built with another feature catalogue");
	s = sstate_new(CurrentMemoryContext, ncat, 0, 0, 0);
	s->has_adm = has_adm;
	icu_read_value(&r, s->admission_id);
	icu_read_value(&r, s->from);
	icu_read_value(&r, s->until);
	icu_read_value(&r, s->window_hours);
	icu_read_value(&r, npts);
	if (TIMESTAMP_NOT_FINITE(s->until) ||
		!isfinite(s->window_hours) || s->window_hours <= 0 ||
		npts < 0 || (Size) npts > r.left / sizeof(SeriesPoint) ||
		r.left != (Size) npts * sizeof(SeriesPoint))
		BAD_STATE("bad header or point count");
	if (npts > 0)
	{
		s->pts = palloc(sizeof(SeriesPoint) * npts);
		icu_read_bytes(&r, s->pts, sizeof(SeriesPoint) * npts);
	}
	s->npts = s->cappts = npts;
	for (int64 i = 0; i < npts; i++)
	{
		SeriesPoint *p = &s->pts[i];

		if (p->feat < 0 || p->feat >= ncat || (p->ok != 0 && p->ok != 1) ||
			!isfinite(p->v) || TIMESTAMP_NOT_FINITE(p->t) || p->t > s->until)
			BAD_STATE("bad point");
		if (i > 0 && (p - 1)->t > p->t)
			s->unsorted = true;
	}
	PG_RETURN_POINTER(s);
}

static int
point_cmp(const void *a, const void *b)
{
	const SeriesPoint *x = a,
			   *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	if (x->feat != y->feat)
		return x->feat < y->feat ? -1 : 1;
	return x->ok - y->ok;
}

/* Julian day number of the local date of t in zone tz. */
static int
local_jday(TimestampTz t, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, tz) != 0)
		ereport(ERROR,
				(errcode(ICU_ERR_DATETIME),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* Local midnight at the start of Julian day jd in zone tz. */
static TimestampTz
local_midnight(int jd, pg_tz *tz)
{
	struct pg_tm tm;
	TimestampTz result;
	int			tzoff;

	memset(&tm, 0, sizeof(tm));
	j2date(jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tzoff = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, 0, &tzoff, &result) != 0)
		ereport(ERROR,
				(errcode(ICU_ERR_DATETIME),
				 errmsg("timestamp out of range")));
	return result;
}

PG_FUNCTION_INFO_V1(icu_lab_panel_series_final);
Datum
icu_lab_panel_series_final(PG_FUNCTION_ARGS)
{
	SeriesState *s;
	pg_tz	   *tz;
	int			jd0,
				jd1,
				ndays;
	Datum	   *out;
	PanelAcc   *acc;
	int		   *wlo;			/* per feature: first sorted index in the window */
	int64	   *nextpt;			/* per feature: next point index (feature list) */
	int64	  **fpts;			/* per feature: indices of accepted points, sorted */
	int64	   *nf;
	FeatIn	   *fi;
	int64		pos = 0;
	Oid			elemtype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	TimestampTz window_us;
	PanelCatalog *cat;
	int			nf_all;

	icu_agg_context(fcinfo, "icu_lab_panel_series_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (SeriesState *) PG_GETARG_POINTER(0);
	elemtype = get_element_type(get_fn_expr_rettype(fcinfo->flinfo));
	if (!OidIsValid(elemtype))
		elog(ERROR, "lab_panel_series: cannot determine the panel type");
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);

	tz = icu_day_zone();
	/*
	 * An admission quarantined by the rule of common/integrity.c (admitted_at
	 * not finite, before 1900, or more than 3650 days before until) has no
	 * days: patient_status skips it, view admission_quarantine lists it.
	 */
	if (s->from > s->until || icu_admission_implausible(s->from, s->until) != NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(elemtype));
	jd0 = local_jday(s->from, tz);
	jd1 = local_jday(s->until, tz);
	ndays = jd1 - jd0 + 1;
	if (ndays > 100000)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("lab_panel_series: %d days is too long a stay", ndays)));

	cat = panel_catalog(fcinfo->flinfo);
	if (s->ncat != cat->n)
		elog(ERROR, "lab_panel_series: state built for another feature catalogue");
	nf_all = Max(s->ncat, 1);
	if (s->unsorted)
		qsort(s->pts, s->npts, sizeof(SeriesPoint), point_cmp);
	acc = palloc0(sizeof(PanelAcc) * nf_all);
	wlo = palloc0(sizeof(int) * nf_all);
	nextpt = palloc0(sizeof(int64) * nf_all);
	nf = palloc0(sizeof(int64) * nf_all);
	fpts = palloc0(sizeof(int64 *) * nf_all);
	for (int64 i = 0; i < s->npts; i++)
		if (s->pts[i].ok)
			nf[s->pts[i].feat]++;
	/* one buffer for the per-feature lists of accepted points */
	{
		int64	   *buf = palloc(sizeof(int64) * Max(s->npts, 1));
		int64		off = 0;

		for (int f = 0; f < s->ncat; f++)
		{
			fpts[f] = buf + off;
			off += nf[f];
			nf[f] = 0;
		}
	}
	for (int64 i = 0; i < s->npts; i++)
		if (s->pts[i].ok)
			fpts[s->pts[i].feat][nf[s->pts[i].feat]++] = i;

	fi = palloc(sizeof(FeatIn) * nf_all);
	out = palloc(sizeof(Datum) * ndays);
	window_us = (TimestampTz) (s->window_hours * USECS_PER_HOUR);
	for (int d = 0; d < ndays; d++)
	{
		TimestampTz as_of = local_midnight(jd0 + d + 1, tz);
		int			n = 0;

		if (as_of > s->until)
			as_of = s->until;
		/* take in every point resulted by as_of */
		for (; pos < s->npts && s->pts[pos].t <= as_of; pos++)
		{
			SeriesPoint *p = &s->pts[pos];

			if (p->ok)
			{
				panel_acc_add(&acc[p->feat], p->t, p->v);
				nextpt[p->feat]++;
			}
			else
				acc[p->feat].rejected++;
		}
		/* catalogue order is name order: the features come out sorted */
		for (int f = 0; f < s->ncat; f++)
		{
			TrendSums	tr = {0};

			if (acc[f].count == 0 && acc[f].rejected == 0)
				continue;
			/* trend over the accepted points in [as_of - window, as_of] */
			while (wlo[f] < nextpt[f] && s->pts[fpts[f][wlo[f]]].t < as_of - window_us)
				wlo[f]++;
			for (int64 j = wlo[f]; j < nextpt[f]; j++)
			{
				SeriesPoint *p = &s->pts[fpts[f][j]];

				panel_trend_add(&tr, p->t - as_of, p->v);
			}
			panel_acc_to_featin(&acc[f], &tr, cat->names[f], &fi[n++]);
		}
		out[d] = PointerGetDatum(panel_build(ICU_INPUT_VALUES, s->has_adm, s->admission_id, as_of,
											 s->window_hours, fi, n));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, ndays, elemtype, typlen, typbyval, typalign));
}

