/*
 * asof.c — the as-of aggregate:
 *   lab_panel(admission_id, feature, value, resulted_at, as_of [, window])
 *   lab_panel(feature, value, resulted_at, as_of [, window])   (no admission)
 * with its transition, combine, serialize/deserialize and final functions
 * (icu_lab_panel_trans[_noadm], _combine, _serialize, _deserialize, _final).
 * Rows with resulted_at after as_of are ignored (no leakage).
 *
 * The state is sized for what the admission has, not for the catalogue:
 * a header with a catalogue-index -> slot map (2 bytes per catalogue
 * feature), an array of PanelAcc grown by doubling (sized to fill the
 * power-of-two chunks the allocator hands out anyway), and trend sums
 * only for features with a value in the window.  Features are keyed by
 * catalogue index, never by name: the catalogue is read in name order, so
 * the final function emits features sorted without sorting, and combine
 * merges by index.  A serialized state carries the catalogue's fingerprint
 * and the deserializer checks it against its own before trusting indices;
 * every count and length is checked against the bytes present (22P03).
 * Deserialized states are built in the per-input-tuple context and copied
 * into the aggregate context by combine.
 */
#include "panel_int.h"

typedef struct PanelState
{
	int64		admission_id;
	TimestampTz as_of;
	TimestampTz window_start;
	double		window_hours;
	PanelAcc   *acc;
	TrendSums  *tr;
	bool		has_adm;
	int16		ncat;			/* catalogue size = entries of map */
	int16		n;				/* features in acc */
	int16		cap;
	int16		nt;				/* trend sums in use */
	int16		tcap;
	int16		map[FLEXIBLE_ARRAY_MEMBER];	/* catalogue index -> slot, or -1 */
} PanelState;

static PanelState *
pstate_new(MemoryContext ctx, int ncat)
{
	PanelState *s;

	s = MemoryContextAlloc(ctx, offsetof(PanelState, map) + sizeof(int16) * Max(ncat, 1));
	memset(s, 0, offsetof(PanelState, map));
	memset(s->map, -1, sizeof(int16) * Max(ncat, 1));
	s->ncat = (int16) ncat;
	return s;
}

/* A new (empty) slot for catalogue feature k. */
static int
pstate_add(PanelState *s, MemoryContext ctx, int k)
{
	PanelAcc   *a;

	if (s->n == s->cap)
	{
		Size		bytes = panel_chunk_bytes(sizeof(PanelAcc) * (s->n + 1));

		s->acc = s->acc ? repalloc(s->acc, bytes) : MemoryContextAlloc(ctx, bytes);
		s->cap = (int16) Min(bytes / sizeof(PanelAcc), ICU_PANEL_MAX_FEATURES);
	}
	a = &s->acc[s->n];
	memset(a, 0, sizeof(PanelAcc));
	a->feat = (int16) k;
	a->trend = -1;
	s->map[k] = s->n;
	return s->n++;
}

/* The trend sums of slot i, created empty when missing. */
static TrendSums *
pstate_trend(PanelState *s, MemoryContext ctx, int i)
{
	PanelAcc   *a = &s->acc[i];

	if (a->trend < 0)
	{
		if (s->nt == s->tcap)
		{
			Size		bytes = panel_chunk_bytes(sizeof(TrendSums) * (s->nt + 1));

			s->tr = s->tr ? repalloc(s->tr, bytes) : MemoryContextAlloc(ctx, bytes);
			s->tcap = (int16) Min(bytes / sizeof(TrendSums), ICU_PANEL_MAX_FEATURES);
		}
		memset(&s->tr[s->nt], 0, sizeof(TrendSums));
		a->trend = s->nt++;
	}
	return &s->tr[a->trend];
}

/*
 * Transition with the admission as first argument (o = 1) or without it
 * (o = 0; errors then cannot name the admission, and a panel has none).
 */
static Datum
panel_trans(FunctionCallInfo fcinfo, int adm_arg)
{
	MemoryContext aggctx = icu_agg_context(fcinfo, "icu_lab_panel_trans");
	PanelState *s = PG_ARGISNULL(0) ? NULL : (PanelState *) PG_GETARG_POINTER(0);
	int64		adm;
	TimestampTz as_of;
	TimestampTz t;
	double		v;
	text	   *feature;
	PanelCatalog *cat;
	int			k;
	int			slot;

	/* NULL admission or as_of: nothing to describe */
	if ((adm_arg && PG_ARGISNULL(1)) || PG_ARGISNULL(4 + adm_arg))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	adm = adm_arg ? PG_GETARG_INT64(1) : 0;
	as_of = PG_GETARG_TIMESTAMPTZ(4 + adm_arg);
	cat = panel_catalog(fcinfo->flinfo);

	if (s == NULL)
	{
		if (TIMESTAMP_NOT_FINITE(as_of))
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("as_of must be a finite time")));
		s = pstate_new(aggctx, cat->n);
		s->as_of = as_of;
		s->window_hours = panel_window_arg(fcinfo, 5 + adm_arg);
		s->window_start = as_of - (TimestampTz) (s->window_hours * USECS_PER_HOUR);
	}
	else if (s->as_of != as_of)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("lab_panel: as_of must be the same for all rows of a group")));
	if (adm_arg)
		panel_set_admission(&s->has_adm, &s->admission_id, adm);

	if (PG_ARGISNULL(1 + adm_arg) || PG_ARGISNULL(2 + adm_arg) || PG_ARGISNULL(3 + adm_arg))
		PG_RETURN_POINTER(s);
	t = PG_GETARG_TIMESTAMPTZ(3 + adm_arg);
	if (t > s->as_of)
		PG_RETURN_POINTER(s);	/* not known yet at as_of */
	feature = PG_GETARG_TEXT_PP(1 + adm_arg);
	v = PG_GETARG_FLOAT8(2 + adm_arg);
	panel_check_value(v, adm_arg ? &adm : NULL, feature);

	k = panel_catalog_find(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (k < 0)
		panel_unknown_feature(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (unlikely(s->ncat != cat->n))
		elog(ERROR, "lab_panel: state built for another feature catalogue");
	slot = s->map[k];
	if (slot < 0)
		slot = pstate_add(s, aggctx, k);
	if (v < cat->lo[k] || v > cat->hi[k])
	{
		if (unlikely(s->acc[slot].rejected == PG_INT32_MAX))
			panel_too_many_values();
		s->acc[slot].rejected++;
	}
	else
	{
		panel_acc_add(&s->acc[slot], t, v);
		if (t >= s->window_start)
			panel_trend_add(pstate_trend(s, aggctx, slot), t - s->as_of, v);
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_trans);
Datum
icu_lab_panel_trans(PG_FUNCTION_ARGS)
{
	return panel_trans(fcinfo, 1);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_trans_noadm);
Datum
icu_lab_panel_trans_noadm(PG_FUNCTION_ARGS)
{
	return panel_trans(fcinfo, 0);
}

/* Merge b into a (a may be NULL: then a copy of b in ctx). */
static PanelState *
pstate_merge(MemoryContext ctx, PanelState *a, const PanelState *b)
{
	if (a == NULL)
	{
		a = pstate_new(ctx, b->ncat);
		a->has_adm = b->has_adm;
		a->admission_id = b->admission_id;
		a->as_of = b->as_of;
		a->window_hours = b->window_hours;
		a->window_start = b->window_start;
	}
	else
	{
		if (a->as_of != b->as_of || a->window_hours != b->window_hours)
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("lab_panel: as_of and trend window must be the same for all rows of a group")));
		if (a->ncat != b->ncat)
			elog(ERROR, "lab_panel: states built for different feature catalogues");
		if (b->has_adm)
			panel_set_admission(&a->has_adm, &a->admission_id, b->admission_id);
	}
	for (int i = 0; i < b->n; i++)
	{
		const PanelAcc *bi = &b->acc[i];
		int			k = a->map[bi->feat];

		if (k < 0)
			k = pstate_add(a, ctx, bi->feat);
		panel_acc_merge(&a->acc[k], bi);
		if (bi->trend >= 0)
			panel_trend_merge(pstate_trend(a, ctx, k), &b->tr[bi->trend]);
	}
	return a;
}

PG_FUNCTION_INFO_V1(icu_lab_panel_combine);
Datum
icu_lab_panel_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = icu_agg_context(fcinfo, "icu_lab_panel_combine");
	PanelState *a = PG_ARGISNULL(0) ? NULL : (PanelState *) PG_GETARG_POINTER(0);
	PanelState *b = PG_ARGISNULL(1) ? NULL : (PanelState *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	PG_RETURN_POINTER(pstate_merge(aggctx, a, b));
}

/*
 * Serialized state (same build on both ends, so native byte order):
 *   version u8 | has_adm u8 | n i16 | nt i16 | ncat i16 | catalogue fingerprint u32 |
 *   admission_id i64 | as_of i64 | window_hours f64 | n x PanelAcc | nt x TrendSums
 */
#define STATE_HDR	(1 + 1 + 2 + 2 + 2 + 4 + 8 + 8 + 8)

PG_FUNCTION_INFO_V1(icu_lab_panel_serialize);
Datum
icu_lab_panel_serialize(PG_FUNCTION_ARGS)
{
	PanelState *s = (PanelState *) PG_GETARG_POINTER(0);
	PanelCatalog *cat = panel_catalog(fcinfo->flinfo);
	IcuWriter	w;
	uint8		version = PANEL_STATE_VERSION;
	uint8		has_adm = s->has_adm ? 1 : 0;

	icu_agg_context(fcinfo, "icu_lab_panel_serialize");
	icu_writer_init(&w, STATE_HDR + sizeof(PanelAcc) * s->n + sizeof(TrendSums) * s->nt);
	icu_write_value(&w, version);
	icu_write_value(&w, has_adm);
	icu_write_value(&w, s->n);
	icu_write_value(&w, s->nt);
	icu_write_value(&w, s->ncat);
	icu_write_value(&w, cat->fingerprint);
	icu_write_value(&w, s->admission_id);
	icu_write_value(&w, s->as_of);
	icu_write_value(&w, s->window_hours);
	icu_write_bytes(&w, s->acc, sizeof(PanelAcc) * s->n);
	icu_write_bytes(&w, s->tr, sizeof(TrendSums) * s->nt);
	PG_RETURN_BYTEA_P(icu_writer_finish(&w));
}

#define BAD_STATE(...) icu_invalid_input(ICU_INPUT_BINARY, "lab_panel aggregate state", __VA_ARGS__)

/* the parts of an exact sum read from a state: a valid count, all finite */
static bool
xsum_ok(const double *p, int n)
{
	if (n < 0 || n > PANEL_XSUM_K)
		return false;
	for (int i = 0; i < n; i++)
		if (!isfinite(p[i]))
			return false;
	return true;
}

/*
 * The state is built in the current (per-input-tuple) memory context:
 * combine copies what it keeps into the aggregate context.
 */
PG_FUNCTION_INFO_V1(icu_lab_panel_deserialize);
Datum
icu_lab_panel_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	IcuReader	r;
	PanelCatalog *cat = panel_catalog(fcinfo->flinfo);
	uint8		version,
				has_adm;
	int16		n,
				nt,
				ncat;
	uint32		fp;
	PanelState *s;
	bool	   *tused;

	icu_agg_context(fcinfo, "icu_lab_panel_deserialize");
	icu_reader_init(&r, VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes),
					ICU_INPUT_BINARY, "lab_panel aggregate state");
	icu_read_value(&r, version);
	icu_read_value(&r, has_adm);
	if (version != PANEL_STATE_VERSION || has_adm > 1)
		BAD_STATE("unknown version");
	icu_read_value(&r, n);
	icu_read_value(&r, nt);
	icu_read_value(&r, ncat);
	icu_read_value(&r, fp);
	if (ncat != cat->n || fp != cat->fingerprint)
		BAD_STATE("built with another feature catalogue");
	if (n < 0 || n > ncat || nt < 0 || nt > n ||
		r.left != 8 + 8 + 8 + sizeof(PanelAcc) * n + sizeof(TrendSums) * nt)
		BAD_STATE("bad header");
	s = pstate_new(CurrentMemoryContext, ncat);
	s->has_adm = has_adm;
	icu_read_value(&r, s->admission_id);
	icu_read_value(&r, s->as_of);
	icu_read_value(&r, s->window_hours);
	if (TIMESTAMP_NOT_FINITE(s->as_of) || !isfinite(s->window_hours) || s->window_hours <= 0)
		BAD_STATE("bad header");
	s->window_start = s->as_of - (TimestampTz) (s->window_hours * USECS_PER_HOUR);
	s->n = s->cap = n;
	s->nt = s->tcap = nt;
	s->acc = palloc(sizeof(PanelAcc) * Max(n, 1));
	s->tr = palloc(sizeof(TrendSums) * Max(nt, 1));
	icu_read_bytes(&r, s->acc, sizeof(PanelAcc) * n);
	icu_read_bytes(&r, s->tr, sizeof(TrendSums) * nt);
	tused = palloc0(sizeof(bool) * Max(nt, 1));
	for (int i = 0; i < n; i++)
	{
		const PanelAcc *a = &s->acc[i];
		bool		ok;

		if (a->feat < 0 || a->feat >= ncat || s->map[a->feat] >= 0)
			BAD_STATE("bad or repeated feature index");
		s->map[a->feat] = (int16) i;
		ok = a->count >= 0 && a->rejected >= 0 && a->trend >= -1 && a->trend < nt;
		if (ok && a->count > 0)
			ok = isfinite(a->last_v) && isfinite(a->first_v) && isfinite(a->min) &&
				isfinite(a->max) && a->min <= a->max && xsum_ok(a->sum, a->nsum) &&
				!TIMESTAMP_NOT_FINITE(a->last_t) && !TIMESTAMP_NOT_FINITE(a->first_t) &&
				a->last_t <= s->as_of &&
				(a->count < 2 || (isfinite(a->prev_v) && !TIMESTAMP_NOT_FINITE(a->prev_t)));
		if (ok && a->trend >= 0)
		{
			const TrendSums *t = &s->tr[a->trend];

			ok = !tused[a->trend] && t->n >= 1 && t->n <= a->count &&
				t->xmin <= t->xmax && t->xmax <= 0 &&
				t->xmin >= -(int64) (s->window_hours * USECS_PER_HOUR) &&
				t->sxx >= 0 && xsum_ok(t->sy, t->nsy) && xsum_ok(t->sxy, t->nsxy);
			tused[a->trend] = true;
		}
		if (ok && a->count == 0)
			ok = a->nsum == 0;
		if (!ok)
			BAD_STATE("inconsistent statistics");
	}
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_final);
Datum
icu_lab_panel_final(PG_FUNCTION_ARGS)
{
	PanelState *s;
	PanelCatalog *cat;
	FeatIn	   *f;
	int			n = 0;

	icu_agg_context(fcinfo, "icu_lab_panel_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (PanelState *) PG_GETARG_POINTER(0);
	cat = panel_catalog(fcinfo->flinfo);
	if (s->ncat != cat->n)
		elog(ERROR, "lab_panel: state built for another feature catalogue");
	f = palloc(sizeof(FeatIn) * Max(s->n, 1));
	/* catalogue order is name order: the features come out sorted */
	for (int k = 0; k < s->ncat; k++)
	{
		int			i = s->map[k];

		if (i >= 0)
			panel_acc_to_featin(&s->acc[i], s->acc[i].trend >= 0 ? &s->tr[s->acc[i].trend] : NULL,
						  cat->names[k], &f[n++]);
	}
	PG_RETURN_POINTER(panel_build(ICU_INPUT_VALUES, s->has_adm, s->admission_id, s->as_of,
								  s->window_hours, f, n));
}

