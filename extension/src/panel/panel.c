/*
 * panel.c — the lab panel: type, as-of aggregate, accessors and daily series.
 *
 * SQL objects backed here (see extension/sql/10_panel.sql):
 *   type      lab_panel            (text I/O, binary send/recv, cast to jsonb)
 *   aggregate lab_panel(admission_id, feature, value, resulted_at, as_of [, trend_window])
 *   aggregate lab_panel_series(admission_id, feature, value, resulted_at, from, until [, trend_window])
 *   functions lab_value, lab_last_at, lab_as_of, lab_admission, lab_features,
 *             lab_layout_id
 *
 * A panel holds, per canonical feature (by NAME, so it is self-describing and
 * survives dump/restore): last value and its result time, previous, first,
 * min, max, mean, count of accepted values, count of rejected (implausible)
 * values, and the least-squares slope per day over the trend window ending
 * at as_of.  Order of results is (resulted_at, value): ties in time are broken
 * by value, so the serial and the parallel result agree exactly.
 *
 * The feature catalogue (names and plausible ranges) is read once per query
 * through SPI, in byte order of the names, and cached in fn_extra under
 * fn_mcxt.  Aggregate states key features by catalogue index (so they emit
 * features already sorted) and hold only the features an admission has;
 * they live in the aggregate context, except deserialized states, which are
 * built in the per-input-tuple context and copied by combine.  Serialized
 * states carry the catalogue's fingerprint, checked before any index is used.  Rows with resulted_at
 * after as_of are ignored (no leakage).  NULL feature/value/resulted_at rows
 * are skipped; NaN or infinite values raise 22000 naming feature and admission.
 *
 * Float semantics: min/max/last/prev/first/count are exact whatever the order
 * of input; the mean and the trend use sums (trend: Youngs-Cramer updates, as
 * PostgreSQL's regr_slope) whose last bits depend on the order, so a parallel
 * result agrees with the serial one to about 1e-15 relative.  The mean is
 * clamped into [min, max] against rounding.
 *
 * On-disk layout (private; varlena, alignment double, ~80 bytes per feature):
 *   header (40 bytes) | nfeat x PanelFeat (80 bytes) | feature names.
 * The header carries layout_id, a hash of the ordered feature-name list,
 * computed whenever a panel is built (aggregate final, text input, binary
 * receive), so equal name lists give equal ids and readers (the model
 * runtime) can cache feature-index resolution per layout for free.  It is
 * not part of the text or binary forms; input recomputes it.
 * Every byte of external input (text, binary recv, aggregate deserialize) is
 * validated before use; bad input raises 22P02.
 */
#include "icu_predict.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#define PANEL_VERSION			2	/* on-disk layout (v2: layout_id in the header) */
#define PANEL_WIRE_VERSION		1	/* binary send/recv format */
#define STATE_VERSION			1	/* serialized aggregate states */
#define PANEL_NAME_MAX			31	/* feature_name_format allows 31 chars */
#define PANEL_DEFAULT_WINDOW_H	72.0
#define USECS_PER_DAY_F			86400000000.0

#define PF_HAS_PREV		0x01
#define PF_HAS_TREND	0x02
#define PH_HAS_ADMISSION 0x01

typedef struct PanelFeat
{
	double		last;
	TimestampTz last_at;
	double		prev;
	double		first;
	double		min;
	double		max;
	double		mean;
	double		trend;
	int32		count;
	int32		rejected;
	uint16		name_off;		/* offset of name from start of names area */
	uint8		name_len;
	uint8		flags;
	int32		reserved;
} PanelFeat;

struct LabPanel
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	uint16		nfeat;
	uint32		layout_id;		/* hash of the ordered feature names */
	int32		reserved;
	int64		admission_id;
	TimestampTz as_of;
	double		window_hours;
	PanelFeat	feat[FLEXIBLE_ARRAY_MEMBER];
	/* followed by the names (not NUL-terminated) */
};

#define PANEL_NAMES(p)	((const char *) (p) + offsetof(LabPanel, feat) + sizeof(PanelFeat) * (p)->nfeat)

/* A feature's statistics in unpacked form, used to build and validate panels. */
typedef struct FeatIn
{
	char		name[PANEL_NAME_MAX + 1];
	int64		count;
	int64		rejected;
	bool		has_prev;
	bool		has_trend;
	double		last;
	TimestampTz last_at;
	double		prev;
	double		first;
	double		min;
	double		max;
	double		mean;
	double		trend;
} FeatIn;

static const char *const stat_names[ICU_STAT_NUM] = {
	"last", "prev", "first", "min", "max", "mean", "count", "rejected",
	"trend", "hours_since_last"
};

/* ------------------------------------------------------------------------
 * Validation helpers
 * ------------------------------------------------------------------------ */

static bool
name_ok(const char *s, int len)
{
	if (len < 1 || len > PANEL_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (int i = 1; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

#define BAD_PANEL(...) \
	ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), \
					errmsg("invalid lab_panel: " __VA_ARGS__)))

static int
featin_cmp(const void *a, const void *b)
{
	return strcmp(((const FeatIn *) a)->name, ((const FeatIn *) b)->name);
}

/*
 * Layout identity: FNV-1a over the sorted names, each followed by a 0 byte
 * (so "ab","c" and "a","bc" differ), then a final avalanche.  Never 0, so
 * callers may use 0 as "no layout cached yet".
 */
static uint32
layout_hash(const FeatIn *f, int n)
{
	uint32		h = 2166136261u;

	for (int i = 0; i < n; i++)
	{
		for (const char *c = f[i].name; *c; c++)
			h = (h ^ (uint8) *c) * 16777619u;
		h *= 16777619u;		/* the 0 separator: h ^ 0 == h */
	}
	h ^= (uint32) n;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h == 0 ? 1 : h;
}

/*
 * -0.0 as 0.0: the text form is JSON, whose numbers have no negative zero,
 * so a panel holding -0.0 would not survive a text round trip bit for bit.
 */
static inline double
plus_zero(double v)
{
	return v == 0.0 ? 0.0 : v;
}

/*
 * Validate the unpacked features and pack them into a panel.  Used by the
 * aggregates' final functions, text input and binary receive alike, so every
 * panel in existence satisfies the same invariants.
 */
static LabPanel *
panel_build(bool has_adm, int64 admission_id, TimestampTz as_of,
			double window_hours, FeatIn *f, int n)
{
	Size		names_len = 0;
	Size		size;
	LabPanel   *p;
	char	   *names;

	if (n < 0 || n > ICU_PANEL_MAX_FEATURES)
		BAD_PANEL("%d features (at most %d allowed)", n, ICU_PANEL_MAX_FEATURES);
	/* binary input can carry any int64: keep to the range timestamptz_out can print */
	if (TIMESTAMP_NOT_FINITE(as_of) || !IS_VALID_TIMESTAMP(as_of))
		BAD_PANEL("as_of must be a finite time within the timestamptz range");
	if (!isfinite(window_hours) || window_hours <= 0)
		BAD_PANEL("trend window must be a positive number of hours");

	for (int i = 1; i < n; i++)
		if (strcmp(f[i - 1].name, f[i].name) >= 0)
		{
			qsort(f, n, sizeof(FeatIn), featin_cmp);
			break;
		}

	for (int i = 0; i < n; i++)
	{
		FeatIn	   *x = &f[i];
		int			len = strlen(x->name);

		if (!name_ok(x->name, len))
			BAD_PANEL("\"%s\" is not a valid feature name", x->name);
		if (i > 0 && strcmp(f[i - 1].name, x->name) == 0)
			BAD_PANEL("feature \"%s\" appears twice", x->name);
		if (x->count < 0 || x->count > PG_INT32_MAX ||
			x->rejected < 0 || x->rejected > PG_INT32_MAX)
			BAD_PANEL("counts of feature \"%s\" out of range", x->name);
		if (x->count == 0)
		{
			if (x->has_prev || x->has_trend)
				BAD_PANEL("feature \"%s\" has no accepted value but a prev or trend", x->name);
		}
		else
		{
			if (!isfinite(x->last) || !isfinite(x->first) || !isfinite(x->min) ||
				!isfinite(x->max) || !isfinite(x->mean) ||
				(x->has_prev && !isfinite(x->prev)) ||
				(x->has_trend && !isfinite(x->trend)))
				BAD_PANEL("statistics of feature \"%s\" must be finite numbers", x->name);
			if (x->has_prev != (x->count >= 2))
				BAD_PANEL("feature \"%s\" must have prev exactly when count >= 2", x->name);
			if (x->has_trend && x->count < 2)
				BAD_PANEL("feature \"%s\" has a trend from fewer than 2 values", x->name);
			if (x->min > x->max ||
				x->last < x->min || x->last > x->max ||
				x->first < x->min || x->first > x->max ||
				x->mean < x->min || x->mean > x->max ||
				(x->has_prev && (x->prev < x->min || x->prev > x->max)))
				BAD_PANEL("statistics of feature \"%s\" are inconsistent (outside [min, max])", x->name);
			if (TIMESTAMP_NOT_FINITE(x->last_at) || !IS_VALID_TIMESTAMP(x->last_at) ||
				x->last_at > as_of)
				BAD_PANEL("last_at of feature \"%s\" must be a finite time not after as_of", x->name);
		}
		names_len += len;
	}

	size = offsetof(LabPanel, feat) + sizeof(PanelFeat) * n + names_len;
	p = (LabPanel *) palloc0(size);
	SET_VARSIZE(p, size);
	p->version = PANEL_VERSION;
	p->flags = has_adm ? PH_HAS_ADMISSION : 0;
	p->nfeat = (uint16) n;
	p->layout_id = layout_hash(f, n);
	p->admission_id = has_adm ? admission_id : 0;
	p->as_of = as_of;
	p->window_hours = window_hours;
	names = (char *) PANEL_NAMES(p);
	names_len = 0;
	for (int i = 0; i < n; i++)
	{
		FeatIn	   *x = &f[i];
		PanelFeat  *o = &p->feat[i];
		int			len = strlen(x->name);

		o->count = (int32) x->count;
		o->rejected = (int32) x->rejected;
		o->name_off = (uint16) names_len;
		o->name_len = (uint8) len;
		memcpy(names + names_len, x->name, len);
		names_len += len;
		if (x->count > 0)
		{
			o->last = plus_zero(x->last);
			o->last_at = x->last_at;
			o->first = plus_zero(x->first);
			o->min = plus_zero(x->min);
			o->max = plus_zero(x->max);
			o->mean = plus_zero(x->mean);
			if (x->has_prev)
			{
				o->prev = plus_zero(x->prev);
				o->flags |= PF_HAS_PREV;
			}
			if (x->has_trend)
			{
				o->trend = plus_zero(x->trend);
				o->flags |= PF_HAS_TREND;
			}
		}
	}
	return p;
}

/*
 * Check the structure of a panel coming from disk (it was validated when
 * built, so this only guards against corrupted or foreign bytes cheaply).
 */
static LabPanel *
panel_fetch(Datum d)
{
	LabPanel   *p = DatumGetLabPanelP(d);
	Size		size = VARSIZE(p);

	if (size < offsetof(LabPanel, feat) || p->version != PANEL_VERSION ||
		size < offsetof(LabPanel, feat) + sizeof(PanelFeat) * (Size) p->nfeat)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("lab_panel value is corrupted or of an unknown version")));
	return p;
}

/* ------------------------------------------------------------------------
 * C API (icu_predict.h)
 * ------------------------------------------------------------------------ */

int
icu_panel_stat_from_name(const char *name)
{
	for (int i = 0; i < ICU_STAT_NUM; i++)
		if (strcmp(name, stat_names[i]) == 0)
			return i;
	return -1;
}

const char *
icu_panel_stat_name(IcuPanelStat stat)
{
	if ((int) stat < 0 || (int) stat >= ICU_STAT_NUM)
		return NULL;
	return stat_names[stat];
}

TimestampTz
icu_panel_as_of(const LabPanel *p)
{
	return p->as_of;
}

bool
icu_panel_admission(const LabPanel *p, int64 *admission_id)
{
	if (!(p->flags & PH_HAS_ADMISSION))
		return false;
	*admission_id = p->admission_id;
	return true;
}

double
icu_panel_trend_window_hours(const LabPanel *p)
{
	return p->window_hours;
}

uint32
icu_panel_layout_id(const LabPanel *p)
{
	return p->layout_id;
}

int
icu_panel_nfeatures(const LabPanel *p)
{
	return p->nfeat;
}

/* Returns a palloc'd NUL-terminated copy of the index-th feature's name. */
const char *
icu_panel_feature_name(const LabPanel *p, int index)
{
	const PanelFeat *f;

	if (index < 0 || index >= p->nfeat)
		return NULL;
	f = &p->feat[index];
	return pnstrdup(PANEL_NAMES(p) + f->name_off, f->name_len);
}

int
icu_panel_find(const LabPanel *p, const char *feature)
{
	const char *names = PANEL_NAMES(p);
	int			len = strlen(feature);
	int			lo = 0,
				hi = p->nfeat - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		const PanelFeat *f = &p->feat[mid];
		int			c = memcmp(names + f->name_off, feature, Min(len, (int) f->name_len));

		if (c == 0)
			c = (int) f->name_len - len;
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

bool
icu_panel_value(const LabPanel *p, int index, IcuPanelStat stat, double *out)
{
	const PanelFeat *f;

	if (index < 0 || index >= p->nfeat)
		return false;
	f = &p->feat[index];
	switch (stat)
	{
		case ICU_STAT_COUNT:
			*out = f->count;
			return true;
		case ICU_STAT_REJECTED:
			*out = f->rejected;
			return true;
		default:
			break;
	}
	if (f->count == 0)
		return false;
	switch (stat)
	{
		case ICU_STAT_LAST:
			*out = f->last;
			return true;
		case ICU_STAT_PREV:
			if (!(f->flags & PF_HAS_PREV))
				return false;
			*out = f->prev;
			return true;
		case ICU_STAT_FIRST:
			*out = f->first;
			return true;
		case ICU_STAT_MIN:
			*out = f->min;
			return true;
		case ICU_STAT_MAX:
			*out = f->max;
			return true;
		case ICU_STAT_MEAN:
			*out = f->mean;
			return true;
		case ICU_STAT_TREND:
			if (!(f->flags & PF_HAS_TREND))
				return false;
			*out = f->trend;
			return true;
		case ICU_STAT_HOURS_SINCE_LAST:
			/* in double: the span of valid timestamps exceeds int64 */
			*out = ((double) p->as_of - (double) f->last_at) / (double) USECS_PER_HOUR;
			return true;
		default:
			return false;
	}
}

bool
icu_panel_last_at(const LabPanel *p, int index, TimestampTz *out)
{
	if (index < 0 || index >= p->nfeat || p->feat[index].count == 0)
		return false;
	*out = p->feat[index].last_at;
	return true;
}

/* ------------------------------------------------------------------------
 * Feature catalogue: read once per query (SPI), cached in fn_extra.
 * ------------------------------------------------------------------------ */

typedef struct PanelCatalog
{
	int			n;
	char		(*names)[PANEL_NAME_MAX + 1];
	uint8	   *lens;
	double	   *lo;
	double	   *hi;
	int			hmask;
	int16	   *hash;			/* open addressing: index+1, 0 = empty */
	char	   *schema;			/* quoted schema name, for hints */
	uint32		fingerprint;	/* hash of the names in order (aggregate states carry it) */
} PanelCatalog;

static inline uint32
name_hash(const char *s, int len)
{
	uint32		h = 2166136261u;

	for (int i = 0; i < len; i++)
		h = (h ^ (uint8) s[i]) * 16777619u;
	return h;
}

static PanelCatalog *
panel_catalog(FmgrInfo *flinfo)
{
	PanelCatalog *cat = (PanelCatalog *) flinfo->fn_extra;
	MemoryContext old;
	char	   *nsp;
	char	   *query;
	int			rc;
	int			hsize;

	if (cat != NULL)
		return cat;

	nsp = get_namespace_name(get_func_namespace(flinfo->fn_oid));
	if (nsp == NULL)
		elog(ERROR, "icu_predict: cannot find the schema of function %u", flinfo->fn_oid);
	cat = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(PanelCatalog));
	cat->schema = MemoryContextStrdup(flinfo->fn_mcxt, quote_identifier(nsp));
	/* in byte order of the names: catalogue order is panel order */
	query = psprintf("SELECT name, plausible_min, plausible_max FROM %s.feature ORDER BY name COLLATE \"C\"",
					 cat->schema);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "icu_predict: SPI_connect failed");
	rc = SPI_execute(query, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "icu_predict: reading the feature catalogue failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed > ICU_PANEL_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the feature catalogue has %llu features; a lab panel holds at most %d",
						(unsigned long long) SPI_processed, ICU_PANEL_MAX_FEATURES)));

	old = MemoryContextSwitchTo(flinfo->fn_mcxt);
	cat->n = (int) SPI_processed;
	cat->names = palloc0(sizeof(*cat->names) * Max(cat->n, 1));
	cat->lens = palloc0(Max(cat->n, 1));
	cat->lo = palloc0(sizeof(double) * Max(cat->n, 1));
	cat->hi = palloc0(sizeof(double) * Max(cat->n, 1));
	for (hsize = 16; hsize < 2 * cat->n; hsize *= 2)
		;
	cat->hmask = hsize - 1;
	cat->hash = palloc0(sizeof(int16) * hsize);
	cat->fingerprint = 2166136261u ^ (uint32) cat->n;
	for (int i = 0; i < cat->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(tup, td, 1, &isnull));
		int			len = strlen(name);
		uint32		h;

		if (!name_ok(name, len))
			elog(ERROR, "icu_predict: feature catalogue holds invalid name \"%s\"", name);
		strcpy(cat->names[i], name);
		cat->lens[i] = (uint8) len;
		cat->lo[i] = DatumGetFloat8(SPI_getbinval(tup, td, 2, &isnull));
		cat->hi[i] = DatumGetFloat8(SPI_getbinval(tup, td, 3, &isnull));
		cat->fingerprint = (cat->fingerprint ^ name_hash(name, len)) * 16777619u;
		h = name_hash(name, len) & cat->hmask;
		while (cat->hash[h] != 0)
			h = (h + 1) & cat->hmask;
		cat->hash[h] = (int16) (i + 1);
	}
	MemoryContextSwitchTo(old);
	SPI_finish();

	flinfo->fn_extra = cat;
	return cat;
}

static int
catalog_find(const PanelCatalog *cat, const char *s, int len)
{
	uint32		h = name_hash(s, len) & cat->hmask;

	for (;;)
	{
		int			k = cat->hash[h];

		if (k == 0)
			return -1;
		k--;
		if (cat->lens[k] == len && memcmp(cat->names[k], s, len) == 0)
			return k;
		h = (h + 1) & cat->hmask;
	}
}

static void
unknown_feature(const PanelCatalog *cat, const char *s, int len)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("unknown lab feature \"%.*s\"", len, s),
			 errhint("SELECT name FROM %s.feature lists the valid feature names.",
					 cat->schema)));
}

/* ------------------------------------------------------------------------
 * Accumulator of one feature (aggregate states)
 *
 * 88 bytes per feature an admission has; the trend sums (40 bytes) live in
 * a separate array and exist only for features with a value inside the
 * trend window, which for most features of most admissions is none.
 * ------------------------------------------------------------------------ */

typedef struct PanelAcc
{
	int32		count;			/* accepted values */
	int32		rejected;		/* implausible values */
	int16		feat;			/* catalogue index */
	int16		trend;			/* index of the feature's TrendSums, -1: none */
	int32		reserved;
	double		last_v;
	TimestampTz last_t;
	double		prev_v;
	TimestampTz prev_t;
	double		first_v;
	TimestampTz first_t;
	double		min;
	double		max;
	double		sum;
} PanelAcc;

/* Trend: Youngs-Cramer sums of x = days relative to as_of, y = value. */
typedef struct TrendSums
{
	int64		n;
	double		sx;
	double		sy;
	double		sxx;
	double		sxy;
} TrendSums;

/* (t1, v1) after (t2, v2)? */
static inline bool
later(TimestampTz t1, double v1, TimestampTz t2, double v2)
{
	return t1 > t2 || (t1 == t2 && v1 > v2);
}

static inline void
trend_add(TrendSums *a, double x, double y)
{
	a->n++;
	a->sx += x;
	a->sy += y;
	if (a->n > 1)
	{
		double		n = (double) a->n;
		double		tmpx = x * n - a->sx;
		double		tmpy = y * n - a->sy;
		double		scale = 1.0 / (n * (n - 1.0));

		a->sxx += tmpx * tmpx * scale;
		a->sxy += tmpx * tmpy * scale;
	}
}

static void
trend_merge(TrendSums *a, const TrendSums *b)
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

static void
too_many_values(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("more than %d lab values of one feature in one lab panel", PG_INT32_MAX)));
}

static inline void
acc_add(PanelAcc *a, TimestampTz t, double v)
{
	if (a->count == 0)
	{
		a->last_v = a->first_v = a->min = a->max = v;
		a->last_t = a->first_t = t;
		a->sum = v;
		a->count = 1;
		return;
	}
	if (unlikely(a->count == PG_INT32_MAX))
		too_many_values();
	a->count++;
	a->sum += v;
	if (v < a->min)
		a->min = v;
	if (v > a->max)
		a->max = v;
	if (later(t, v, a->last_t, a->last_v))
	{
		a->prev_v = a->last_v;
		a->prev_t = a->last_t;
		a->last_v = v;
		a->last_t = t;
	}
	else if (a->count == 2 || later(t, v, a->prev_t, a->prev_v))
	{
		a->prev_v = v;
		a->prev_t = t;
	}
	if (later(a->first_t, a->first_v, t, v))
	{
		a->first_v = v;
		a->first_t = t;
	}
}

/* Merge b's statistics into a (not the trend sums; see trend_merge). */
static void
acc_merge(PanelAcc *a, const PanelAcc *b)
{
	if ((int64) a->rejected + b->rejected > PG_INT32_MAX ||
		(int64) a->count + b->count > PG_INT32_MAX)
		too_many_values();
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
			if (i1 < 0 || later(ct[i], cv[i], ct[i1], cv[i1]))
				i1 = i;
		for (int i = 0; i < n; i++)
			if (i != i1 && (i2 < 0 || later(ct[i], cv[i], ct[i2], cv[i2])))
				i2 = i;
		a->last_t = ct[i1];
		a->last_v = cv[i1];
		a->prev_t = ct[i2];
		a->prev_v = cv[i2];
	}
	if (later(a->first_t, a->first_v, b->first_t, b->first_v))
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
static void
acc_to_featin(const PanelAcc *a, const TrendSums *tr, const char *name, FeatIn *f)
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
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
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

/* ------------------------------------------------------------------------
 * Shared parts of both aggregate states
 * ------------------------------------------------------------------------ */

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return ctx;
}

static double
window_arg(FunctionCallInfo fcinfo, int argno)
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
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trend window must be positive, got %g hours", hours)));
	return hours;
}

static void
check_value(double v, const int64 *admission_id, const text *feature)
{
	if (unlikely(!isfinite(v)))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("lab value %s of feature \"%.*s\" of admission %s is not a finite number",
						isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"),
						(int) VARSIZE_ANY_EXHDR(feature), VARDATA_ANY(feature),
						admission_id ? psprintf(INT64_FORMAT, *admission_id) : "(not given)"),
				 errhint("Check lab_map.factor and \"offset\" for this feature; values must stay finite after conversion.")));
}

/* Reading helpers for serialized states: every read is bounds-checked. */
typedef struct Reader
{
	const char *p;
	Size		left;
} Reader;

static void
rd(Reader *r, void *dst, Size n)
{
	if (r->left < n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid lab_panel aggregate state: truncated")));
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

/* ------------------------------------------------------------------------
 * The as-of aggregate: lab_panel(admission_id, feature, value, resulted_at, as_of [, window])
 *
 * The state is sized for what the admission has, not for the catalogue:
 * a header with a catalogue-index -> slot map (2 bytes per catalogue
 * feature), an array of PanelAcc grown by doubling (sized to fill the
 * power-of-two chunks the allocator hands out anyway), and trend sums
 * only for features with a value in the window.  Features are keyed by
 * catalogue index, never by name: the catalogue is read in name order, so
 * the final function emits features sorted without sorting, and combine
 * merges by index.  A serialized state carries the catalogue's fingerprint
 * and the deserializer checks it against its own before trusting indices.
 * ------------------------------------------------------------------------ */

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

/* Bytes to allocate for at least `need` bytes: a power of two from 128. */
static inline Size
chunk_bytes(Size need)
{
	Size		b = 128;

	while (b < need)
		b *= 2;
	return b;
}

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
		Size		bytes = chunk_bytes(sizeof(PanelAcc) * (s->n + 1));

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
			Size		bytes = chunk_bytes(sizeof(TrendSums) * (s->nt + 1));

			s->tr = s->tr ? repalloc(s->tr, bytes) : MemoryContextAlloc(ctx, bytes);
			s->tcap = (int16) Min(bytes / sizeof(TrendSums), ICU_PANEL_MAX_FEATURES);
		}
		memset(&s->tr[s->nt], 0, sizeof(TrendSums));
		a->trend = s->nt++;
	}
	return &s->tr[a->trend];
}

static void
set_admission(bool *has, int64 *cur, int64 adm)
{
	if (!*has)
	{
		*has = true;
		*cur = adm;
	}
	else if (*cur != adm)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lab_panel received rows of admissions " INT64_FORMAT " and " INT64_FORMAT " in one group",
						*cur, adm),
				 errhint("GROUP BY admission_id: a panel describes one admission.")));
}

/*
 * Transition with the admission as first argument (o = 1) or without it
 * (o = 0; errors then cannot name the admission, and a panel has none).
 */
static Datum
panel_trans(FunctionCallInfo fcinfo, int o)
{
	MemoryContext aggctx = agg_context(fcinfo, "icu_lab_panel_trans");
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
	if ((o && PG_ARGISNULL(1)) || PG_ARGISNULL(4 + o))
	{
		if (s == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s);
	}
	adm = o ? PG_GETARG_INT64(1) : 0;
	as_of = PG_GETARG_TIMESTAMPTZ(4 + o);
	cat = panel_catalog(fcinfo->flinfo);

	if (s == NULL)
	{
		if (TIMESTAMP_NOT_FINITE(as_of))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("as_of must be a finite time")));
		s = pstate_new(aggctx, cat->n);
		s->as_of = as_of;
		s->window_hours = window_arg(fcinfo, 5 + o);
		s->window_start = as_of - (TimestampTz) (s->window_hours * USECS_PER_HOUR);
	}
	else if (s->as_of != as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lab_panel: as_of must be the same for all rows of a group")));
	if (o)
		set_admission(&s->has_adm, &s->admission_id, adm);

	if (PG_ARGISNULL(1 + o) || PG_ARGISNULL(2 + o) || PG_ARGISNULL(3 + o))
		PG_RETURN_POINTER(s);
	t = PG_GETARG_TIMESTAMPTZ(3 + o);
	if (t > s->as_of)
		PG_RETURN_POINTER(s);	/* not known yet at as_of */
	feature = PG_GETARG_TEXT_PP(1 + o);
	v = PG_GETARG_FLOAT8(2 + o);
	check_value(v, o ? &adm : NULL, feature);

	k = catalog_find(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (k < 0)
		unknown_feature(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (unlikely(s->ncat != cat->n))
		elog(ERROR, "lab_panel: state built for another feature catalogue");
	slot = s->map[k];
	if (slot < 0)
		slot = pstate_add(s, aggctx, k);
	if (v < cat->lo[k] || v > cat->hi[k])
	{
		if (unlikely(s->acc[slot].rejected == PG_INT32_MAX))
			too_many_values();
		s->acc[slot].rejected++;
	}
	else
	{
		acc_add(&s->acc[slot], t, v);
		if (t >= s->window_start)
			trend_add(pstate_trend(s, aggctx, slot),
					  (double) (t - s->as_of) / USECS_PER_DAY_F, v);
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
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lab_panel: as_of and trend window must be the same for all rows of a group")));
		if (a->ncat != b->ncat)
			elog(ERROR, "lab_panel: states built for different feature catalogues");
		if (b->has_adm)
			set_admission(&a->has_adm, &a->admission_id, b->admission_id);
	}
	for (int i = 0; i < b->n; i++)
	{
		const PanelAcc *bi = &b->acc[i];
		int			k = a->map[bi->feat];

		if (k < 0)
			k = pstate_add(a, ctx, bi->feat);
		acc_merge(&a->acc[k], bi);
		if (bi->trend >= 0)
			trend_merge(pstate_trend(a, ctx, k), &b->tr[bi->trend]);
	}
	return a;
}

PG_FUNCTION_INFO_V1(icu_lab_panel_combine);
Datum
icu_lab_panel_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = agg_context(fcinfo, "icu_lab_panel_combine");
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
	Size		size = VARHDRSZ + STATE_HDR + sizeof(PanelAcc) * s->n + sizeof(TrendSums) * s->nt;
	bytea	   *out;
	char	   *p;
	uint8		b;

	agg_context(fcinfo, "icu_lab_panel_serialize");
	out = (bytea *) palloc(size);
	SET_VARSIZE(out, size);
	p = VARDATA(out);
#define PUT(x) (memcpy(p, &(x), sizeof(x)), p += sizeof(x))
	b = STATE_VERSION;
	PUT(b);
	b = s->has_adm ? 1 : 0;
	PUT(b);
	PUT(s->n);
	PUT(s->nt);
	PUT(s->ncat);
	PUT(cat->fingerprint);
	PUT(s->admission_id);
	PUT(s->as_of);
	PUT(s->window_hours);
#undef PUT
	if (s->n > 0)
		memcpy(p, s->acc, sizeof(PanelAcc) * s->n);
	p += sizeof(PanelAcc) * s->n;
	if (s->nt > 0)
		memcpy(p, s->tr, sizeof(TrendSums) * s->nt);
	PG_RETURN_BYTEA_P(out);
}

static void
bad_state(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid lab_panel aggregate state: %s", what)));
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
	Reader		r = {VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes)};
	PanelCatalog *cat = panel_catalog(fcinfo->flinfo);
	uint8		version,
				has_adm;
	int16		n,
				nt,
				ncat;
	uint32		fp;
	PanelState *s;
	bool	   *tused;

	agg_context(fcinfo, "icu_lab_panel_deserialize");
	rd(&r, &version, 1);
	rd(&r, &has_adm, 1);
	if (version != STATE_VERSION || has_adm > 1)
		bad_state("unknown version");
	rd(&r, &n, sizeof(n));
	rd(&r, &nt, sizeof(nt));
	rd(&r, &ncat, sizeof(ncat));
	rd(&r, &fp, sizeof(fp));
	if (ncat != cat->n || fp != cat->fingerprint)
		bad_state("built with another feature catalogue");
	if (n < 0 || n > ncat || nt < 0 || nt > n ||
		r.left != 8 + 8 + 8 + sizeof(PanelAcc) * n + sizeof(TrendSums) * nt)
		bad_state("bad header");
	s = pstate_new(CurrentMemoryContext, ncat);
	s->has_adm = has_adm;
	rd(&r, &s->admission_id, sizeof(int64));
	rd(&r, &s->as_of, sizeof(TimestampTz));
	rd(&r, &s->window_hours, sizeof(double));
	if (TIMESTAMP_NOT_FINITE(s->as_of) || !isfinite(s->window_hours) || s->window_hours <= 0)
		bad_state("bad header");
	s->window_start = s->as_of - (TimestampTz) (s->window_hours * USECS_PER_HOUR);
	s->n = s->cap = n;
	s->nt = s->tcap = nt;
	s->acc = palloc(sizeof(PanelAcc) * Max(n, 1));
	s->tr = palloc(sizeof(TrendSums) * Max(nt, 1));
	rd(&r, s->acc, sizeof(PanelAcc) * n);
	rd(&r, s->tr, sizeof(TrendSums) * nt);
	tused = palloc0(sizeof(bool) * Max(nt, 1));
	for (int i = 0; i < n; i++)
	{
		const PanelAcc *a = &s->acc[i];
		bool		ok;

		if (a->feat < 0 || a->feat >= ncat || s->map[a->feat] >= 0)
			bad_state("bad or repeated feature index");
		s->map[a->feat] = (int16) i;
		ok = a->count >= 0 && a->rejected >= 0 && a->trend >= -1 && a->trend < nt;
		if (ok && a->count > 0)
			ok = isfinite(a->last_v) && isfinite(a->first_v) && isfinite(a->min) &&
				isfinite(a->max) && a->min <= a->max && isfinite(a->sum) &&
				!TIMESTAMP_NOT_FINITE(a->last_t) && !TIMESTAMP_NOT_FINITE(a->first_t) &&
				a->last_t <= s->as_of &&
				(a->count < 2 || (isfinite(a->prev_v) && !TIMESTAMP_NOT_FINITE(a->prev_t)));
		if (ok && a->trend >= 0)
		{
			const TrendSums *t = &s->tr[a->trend];

			ok = !tused[a->trend] && t->n >= 1 && t->n <= a->count &&
				isfinite(t->sx) && isfinite(t->sy) && isfinite(t->sxx) && isfinite(t->sxy);
			tused[a->trend] = true;
		}
		if (!ok)
			bad_state("inconsistent statistics");
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

	agg_context(fcinfo, "icu_lab_panel_final");
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
			acc_to_featin(&s->acc[i], s->acc[i].trend >= 0 ? &s->tr[s->acc[i].trend] : NULL,
						  cat->names[k], &f[n++]);
	}
	PG_RETURN_POINTER(panel_build(s->has_adm, s->admission_id, s->as_of,
								  s->window_hours, f, n));
}

/* ------------------------------------------------------------------------
 * The daily series: lab_panel_series(admission_id, feature, value,
 * resulted_at, from, until [, window]) -> lab_panel[]
 *
 * The state keeps each row (feature slot, accepted?, time, value); the final
 * function sorts them by (resulted_at, value) once and sweeps, taking a
 * snapshot at the end of each calendar day (in icu_predict.day_timezone, or
 * the session TimeZone) from the day of `from` to the day of `until`, the
 * last one as of `until`.  Cost: one sort plus O(labs + days x features +
 * points in the trend windows) per admission.
 * ------------------------------------------------------------------------ */

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
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many lab results for one admission in lab_panel_series")));
	bytes = chunk_bytes(sizeof(SeriesPoint) * (s->npts + more));
	s->pts = s->pts ? repalloc(s->pts, bytes) : MemoryContextAlloc(ctx, bytes);
	s->cappts = bytes / sizeof(SeriesPoint);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_series_trans);
Datum
icu_lab_panel_series_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = agg_context(fcinfo, "icu_lab_panel_series_trans");
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
		if (TIMESTAMP_NOT_FINITE(from) || TIMESTAMP_NOT_FINITE(until))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lab_panel_series: from and until must be finite times")));
		s = sstate_new(aggctx, cat->n, from, until, window_arg(fcinfo, 7));
	}
	else if (s->from != from || s->until != until)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lab_panel_series: from and until must be the same for all rows of a group")));
	set_admission(&s->has_adm, &s->admission_id, adm);

	if (PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_POINTER(s);
	t = PG_GETARG_TIMESTAMPTZ(4);
	if (t > s->until)
		PG_RETURN_POINTER(s);
	feature = PG_GETARG_TEXT_PP(2);
	v = PG_GETARG_FLOAT8(3);
	check_value(v, &adm, feature);
	k = catalog_find(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
	if (k < 0)
		unknown_feature(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
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
	 * ties by value themselves; sums may round differently, within 1e-12).
	 */
	if (s->npts > 1 && (p - 1)->t > p->t)
		s->unsorted = true;
	PG_RETURN_POINTER(s);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_series_combine);
Datum
icu_lab_panel_series_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx = agg_context(fcinfo, "icu_lab_panel_series_combine");
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
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lab_panel_series: from, until and trend window must be the same for all rows of a group")));
	else if (a->ncat != b->ncat)
		elog(ERROR, "lab_panel_series: states built for different feature catalogues");
	if (b->has_adm)
		set_admission(&a->has_adm, &a->admission_id, b->admission_id);
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
	Size		size = VARHDRSZ + SSTATE_HDR + sizeof(SeriesPoint) * s->npts;
	bytea	   *out;
	char	   *p;
	uint8		b;

	agg_context(fcinfo, "icu_lab_panel_series_serialize");
	out = (bytea *) palloc(size);
	SET_VARSIZE(out, size);
	p = VARDATA(out);
#define PUT(x) (memcpy(p, &(x), sizeof(x)), p += sizeof(x))
	b = STATE_VERSION;
	PUT(b);
	b = s->has_adm ? 1 : 0;
	PUT(b);
	PUT(s->ncat);
	PUT(cat->fingerprint);
	PUT(s->admission_id);
	PUT(s->from);
	PUT(s->until);
	PUT(s->window_hours);
	PUT(s->npts);
#undef PUT
	if (s->npts > 0)
		memcpy(p, s->pts, sizeof(SeriesPoint) * s->npts);
	PG_RETURN_BYTEA_P(out);
}

/* Built in the current (per-input-tuple) context; combine copies the points. */
PG_FUNCTION_INFO_V1(icu_lab_panel_series_deserialize);
Datum
icu_lab_panel_series_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	Reader		r = {VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes)};
	PanelCatalog *cat = panel_catalog(fcinfo->flinfo);
	uint8		version,
				has_adm;
	int16		ncat;
	uint32		fp;
	int64		npts;
	SeriesState *s;

	agg_context(fcinfo, "icu_lab_panel_series_deserialize");
	rd(&r, &version, 1);
	rd(&r, &has_adm, 1);
	if (version != STATE_VERSION || has_adm > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid lab_panel_series aggregate state: unknown version")));
	rd(&r, &ncat, sizeof(ncat));
	rd(&r, &fp, sizeof(fp));
	if (ncat != cat->n || fp != cat->fingerprint)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid lab_panel_series aggregate state: built with another feature catalogue")));
	s = sstate_new(CurrentMemoryContext, ncat, 0, 0, 0);
	s->has_adm = has_adm;
	rd(&r, &s->admission_id, sizeof(int64));
	rd(&r, &s->from, sizeof(TimestampTz));
	rd(&r, &s->until, sizeof(TimestampTz));
	rd(&r, &s->window_hours, sizeof(double));
	rd(&r, &npts, sizeof(int64));
	if (TIMESTAMP_NOT_FINITE(s->from) || TIMESTAMP_NOT_FINITE(s->until) ||
		!isfinite(s->window_hours) || s->window_hours <= 0 ||
		npts < 0 || (Size) npts > r.left / sizeof(SeriesPoint) ||
		r.left != (Size) npts * sizeof(SeriesPoint))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid lab_panel_series aggregate state: bad header or point count")));
	if (npts > 0)
	{
		s->pts = palloc(sizeof(SeriesPoint) * npts);
		rd(&r, s->pts, sizeof(SeriesPoint) * npts);
	}
	s->npts = s->cappts = npts;
	for (int64 i = 0; i < npts; i++)
	{
		SeriesPoint *p = &s->pts[i];

		if (p->feat < 0 || p->feat >= ncat || (p->ok != 0 && p->ok != 1) ||
			!isfinite(p->v) || TIMESTAMP_NOT_FINITE(p->t) || p->t > s->until)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid lab_panel_series aggregate state: bad point")));
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

/* The time zone in which days end: icu_predict.day_timezone or TimeZone. */
static pg_tz *
day_zone(void)
{
	pg_tz	   *tz;

	if (icu_day_timezone == NULL || icu_day_timezone[0] == '\0')
		return session_timezone;
	tz = pg_tzset(icu_day_timezone);
	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("icu_predict.day_timezone \"%s\" is not a known time zone", icu_day_timezone),
				 errhint("Use a zone name from pg_timezone_names, e.g. 'Europe/Amsterdam', or '' for the session TimeZone.")));
	return tz;
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
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
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
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
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

	agg_context(fcinfo, "icu_lab_panel_series_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (SeriesState *) PG_GETARG_POINTER(0);
	elemtype = get_element_type(get_fn_expr_rettype(fcinfo->flinfo));
	if (!OidIsValid(elemtype))
		elog(ERROR, "lab_panel_series: cannot determine the panel type");
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);

	tz = day_zone();
	if (s->from > s->until)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(elemtype));
	jd0 = local_jday(s->from, tz);
	jd1 = local_jday(s->until, tz);
	ndays = jd1 - jd0 + 1;
	if (ndays > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
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
				acc_add(&acc[p->feat], p->t, p->v);
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

				trend_add(&tr, (double) (p->t - as_of) / USECS_PER_DAY_F, p->v);
			}
			acc_to_featin(&acc[f], &tr, cat->names[f], &fi[n++]);
		}
		out[d] = PointerGetDatum(panel_build(s->has_adm, s->admission_id, as_of,
											 s->window_hours, fi, n));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, ndays, elemtype, typlen, typbyval, typalign));
}

/* ------------------------------------------------------------------------
 * Text I/O (JSON), binary I/O, jsonb cast
 * ------------------------------------------------------------------------ */

static void
append_double(StringInfo buf, double v)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(v, tmp);
	appendStringInfoString(buf, tmp);
}

static void
append_ts(StringInfo buf, TimestampTz t)
{
	char		tmp[MAXDATELEN + 1];

	JsonEncodeDateTime(tmp, TimestampTzGetDatum(t), TIMESTAMPTZOID, NULL);
	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, tmp);
	appendStringInfoChar(buf, '"');
}

static char *
panel_to_cstring(const LabPanel *p)
{
	StringInfoData buf;
	const char *names = PANEL_NAMES(p);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"admission_id\": ");
	if (p->flags & PH_HAS_ADMISSION)
		appendStringInfo(&buf, INT64_FORMAT, p->admission_id);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"as_of\": ");
	append_ts(&buf, p->as_of);
	appendStringInfoString(&buf, ", \"trend_window_hours\": ");
	append_double(&buf, p->window_hours);
	appendStringInfoString(&buf, ", \"features\": {");
	for (int i = 0; i < p->nfeat; i++)
	{
		const PanelFeat *f = &p->feat[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "\"%.*s\": {\"count\": %d, \"rejected\": %d",
						 (int) f->name_len, names + f->name_off, f->count, f->rejected);
		if (f->count > 0)
		{
			appendStringInfoString(&buf, ", \"last\": ");
			append_double(&buf, f->last);
			appendStringInfoString(&buf, ", \"last_at\": ");
			append_ts(&buf, f->last_at);
			appendStringInfoString(&buf, ", \"prev\": ");
			if (f->flags & PF_HAS_PREV)
				append_double(&buf, f->prev);
			else
				appendStringInfoString(&buf, "null");
			appendStringInfoString(&buf, ", \"first\": ");
			append_double(&buf, f->first);
			appendStringInfoString(&buf, ", \"min\": ");
			append_double(&buf, f->min);
			appendStringInfoString(&buf, ", \"max\": ");
			append_double(&buf, f->max);
			appendStringInfoString(&buf, ", \"mean\": ");
			append_double(&buf, f->mean);
			appendStringInfoString(&buf, ", \"trend\": ");
			if (f->flags & PF_HAS_TREND)
				append_double(&buf, f->trend);
			else
				appendStringInfoString(&buf, "null");
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "}}");
	return buf.data;
}

PG_FUNCTION_INFO_V1(icu_lab_panel_out);
Datum
icu_lab_panel_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(panel_to_cstring(panel_fetch(PG_GETARG_DATUM(0))));
}

/* JSON text input helpers: look up a key, insist on its type. */
static bool
jget(JsonbContainer *c, const char *key, JsonbValue *v)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), v) != NULL &&
		v->type != jbvNull;
}

static double
jnum(JsonbContainer *c, const char *key, const char *what)
{
	JsonbValue	v;
	double		d;

	if (!jget(c, key, &v) || v.type != jbvNumeric)
		BAD_PANEL("%s needs a number \"%s\"", what, key);
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v.val.numeric)));
	if (!isfinite(d))
		BAD_PANEL("\"%s\" of %s must be a finite number", key, what);
	return d;
}

static int64
jcount(JsonbContainer *c, const char *key, const char *what)
{
	double		d = jnum(c, key, what);

	if (d != floor(d) || d < 0 || d > PG_INT32_MAX)
		BAD_PANEL("\"%s\" of %s must be a whole number from 0 to %d", key, what, PG_INT32_MAX);
	return (int64) d;
}

static TimestampTz
jts(JsonbContainer *c, const char *key, const char *what)
{
	JsonbValue	v;
	char	   *s;
	TimestampTz t;

	if (!jget(c, key, &v) || v.type != jbvString)
		BAD_PANEL("%s needs a time stamp string \"%s\"", what, key);
	s = pnstrdup(v.val.string.val, v.val.string.len);
	t = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												ObjectIdGetDatum(InvalidOid),
												Int32GetDatum(-1)));
	return t;
}

static LabPanel *
panel_from_cstring(const char *str)
{
	Jsonb	   *jb;
	JsonbContainer *root;
	JsonbValue	v;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbContainer *feats;
	FeatIn	   *f;
	int			n = 0,
				cap;
	bool		has_adm = false;
	int64		adm = 0;
	TimestampTz as_of;
	double		window;

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str)));
	root = &jb->root;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		BAD_PANEL("expected a JSON object");
	/* no unknown top-level keys: a typo should not pass silently */
	it = JsonbIteratorInit(root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY)
		{
			char	   *k = pnstrdup(v.val.string.val, v.val.string.len);

			if (strcmp(k, "admission_id") != 0 && strcmp(k, "as_of") != 0 &&
				strcmp(k, "trend_window_hours") != 0 && strcmp(k, "features") != 0)
				BAD_PANEL("unknown key \"%s\"", k);
		}
	if (jget(root, "admission_id", &v))
	{
		Datum		num;

		if (v.type != jbvNumeric)
			BAD_PANEL("the panel needs a number \"admission_id\"");
		/*
		 * Exact for every bigint (the aggregate and binary input take any):
		 * numeric_int8 rounds and raises 22003 out of range; a round trip
		 * through int8 tells whole numbers from fractions.
		 */
		num = NumericGetDatum(v.val.numeric);
		adm = DatumGetInt64(DirectFunctionCall1(numeric_int8, num));
		if (!DatumGetBool(DirectFunctionCall2(numeric_eq, num,
											  DirectFunctionCall1(int8_numeric, Int64GetDatum(adm)))))
			BAD_PANEL("admission_id must be a whole number");
		has_adm = true;
	}
	as_of = jts(root, "as_of", "the panel");
	window = jnum(root, "trend_window_hours", "the panel");
	if (!jget(root, "features", &v) || v.type != jbvBinary ||
		!JsonContainerIsObject(v.val.binary.data))
		BAD_PANEL("expected an object \"features\"");
	feats = v.val.binary.data;

	cap = Max(JsonContainerSize(feats), 1);
	if (cap > ICU_PANEL_MAX_FEATURES)
		BAD_PANEL("too many features");
	f = palloc0(sizeof(FeatIn) * cap);
	it = JsonbIteratorInit(feats);
	tok = JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_OBJECT */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		FeatIn	   *x;
		JsonbContainer *c;
		JsonbValue	fv;
		const char *what;
		JsonbIterator *it2;
		JsonbIteratorToken tok2;
		JsonbValue	kv;

		if (tok != WJB_KEY)
			continue;
		if (n >= cap)
			BAD_PANEL("too many features");
		x = &f[n++];
		if (v.val.string.len > PANEL_NAME_MAX ||
			!name_ok(v.val.string.val, v.val.string.len))
			BAD_PANEL("\"%.*s\" is not a valid feature name",
					  Min(v.val.string.len, 64), v.val.string.val);
		memcpy(x->name, v.val.string.val, v.val.string.len);
		x->name[v.val.string.len] = '\0';
		what = psprintf("feature \"%s\"", x->name);
		tok = JsonbIteratorNext(&it, &fv, true);
		if (tok != WJB_VALUE || fv.type != jbvBinary || !JsonContainerIsObject(fv.val.binary.data))
			BAD_PANEL("%s must be an object", what);
		c = fv.val.binary.data;
		it2 = JsonbIteratorInit(c);
		while ((tok2 = JsonbIteratorNext(&it2, &kv, true)) != WJB_DONE)
			if (tok2 == WJB_KEY)
			{
				char	   *k = pnstrdup(kv.val.string.val, kv.val.string.len);

				if (icu_panel_stat_from_name(k) < 0 && strcmp(k, "last_at") != 0)
					BAD_PANEL("unknown key \"%s\" in %s", k, what);
			}
		x->count = jcount(c, "count", what);
		x->rejected = jcount(c, "rejected", what);
		if (x->count > 0)
		{
			x->last = jnum(c, "last", what);
			x->last_at = jts(c, "last_at", what);
			x->first = jnum(c, "first", what);
			x->min = jnum(c, "min", what);
			x->max = jnum(c, "max", what);
			x->mean = jnum(c, "mean", what);
			if (jget(c, "prev", &kv))
			{
				x->has_prev = true;
				x->prev = jnum(c, "prev", what);
			}
			if (jget(c, "trend", &kv))
			{
				x->has_trend = true;
				x->trend = jnum(c, "trend", what);
			}
		}
		else
		{
			const char *const vals[] = {"last", "last_at", "first", "min", "max", "mean", "prev", "trend"};

			for (int i = 0; i < (int) lengthof(vals); i++)
				if (jget(c, vals[i], &kv))
					BAD_PANEL("%s has count 0 but a \"%s\"", what, vals[i]);
		}
	}
	return panel_build(has_adm, adm, as_of, window, f, n);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_in);
Datum
icu_lab_panel_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(panel_from_cstring(PG_GETARG_CSTRING(0)));
}

PG_FUNCTION_INFO_V1(icu_lab_panel_send);
Datum
icu_lab_panel_send(PG_FUNCTION_ARGS)
{
	LabPanel   *p = panel_fetch(PG_GETARG_DATUM(0));
	const char *names = PANEL_NAMES(p);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, PANEL_WIRE_VERSION);
	pq_sendbyte(&buf, (p->flags & PH_HAS_ADMISSION) ? 1 : 0);
	pq_sendint64(&buf, p->admission_id);
	pq_sendint64(&buf, p->as_of);
	pq_sendfloat8(&buf, p->window_hours);
	pq_sendint16(&buf, p->nfeat);
	for (int i = 0; i < p->nfeat; i++)
	{
		const PanelFeat *f = &p->feat[i];

		pq_sendbyte(&buf, f->name_len);
		pq_sendbytes(&buf, names + f->name_off, f->name_len);
		pq_sendbyte(&buf, f->flags);
		pq_sendint32(&buf, f->count);
		pq_sendint32(&buf, f->rejected);
		pq_sendfloat8(&buf, f->last);
		pq_sendint64(&buf, f->last_at);
		pq_sendfloat8(&buf, f->prev);
		pq_sendfloat8(&buf, f->first);
		pq_sendfloat8(&buf, f->min);
		pq_sendfloat8(&buf, f->max);
		pq_sendfloat8(&buf, f->mean);
		pq_sendfloat8(&buf, f->trend);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
need(StringInfo buf, int n)
{
	if (n < 0 || buf->len - buf->cursor < n)
		BAD_PANEL("binary value is truncated");
}

PG_FUNCTION_INFO_V1(icu_lab_panel_recv);
Datum
icu_lab_panel_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version,
				has_adm,
				n;
	int64		adm;
	TimestampTz as_of;
	double		window;
	FeatIn	   *f;

	need(buf, 2 + 8 + 8 + 8 + 2);
	version = pq_getmsgbyte(buf);
	has_adm = pq_getmsgbyte(buf);
	if (version != PANEL_WIRE_VERSION || has_adm > 1)
		BAD_PANEL("unknown binary version %d", version);
	adm = pq_getmsgint64(buf);
	as_of = pq_getmsgint64(buf);
	window = pq_getmsgfloat8(buf);
	n = pq_getmsgint(buf, 2);
	if (n > ICU_PANEL_MAX_FEATURES)
		BAD_PANEL("%d features (at most %d allowed)", n, ICU_PANEL_MAX_FEATURES);
	f = palloc0(sizeof(FeatIn) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		FeatIn	   *x = &f[i];
		int			len,
					flags;

		need(buf, 1);
		len = pq_getmsgbyte(buf);
		if (len < 1 || len > PANEL_NAME_MAX)
			BAD_PANEL("bad feature name length %d", len);
		need(buf, len + 1 + 4 + 4 + 8 * 8);
		pq_copymsgbytes(buf, x->name, len);
		x->name[len] = '\0';
		flags = pq_getmsgbyte(buf);
		if (flags & ~(PF_HAS_PREV | PF_HAS_TREND))
			BAD_PANEL("bad feature flags");
		x->has_prev = (flags & PF_HAS_PREV) != 0;
		x->has_trend = (flags & PF_HAS_TREND) != 0;
		x->count = (int32) pq_getmsgint(buf, 4);
		x->rejected = (int32) pq_getmsgint(buf, 4);
		x->last = pq_getmsgfloat8(buf);
		x->last_at = pq_getmsgint64(buf);
		x->prev = pq_getmsgfloat8(buf);
		x->first = pq_getmsgfloat8(buf);
		x->min = pq_getmsgfloat8(buf);
		x->max = pq_getmsgfloat8(buf);
		x->mean = pq_getmsgfloat8(buf);
		x->trend = pq_getmsgfloat8(buf);
		if (x->count == 0 && (x->last != 0 || x->last_at != 0 || x->prev != 0 ||
							  x->first != 0 || x->min != 0 || x->max != 0 ||
							  x->mean != 0 || x->trend != 0))
			BAD_PANEL("feature \"%s\" has count 0 but statistics", x->name);
		if (!x->has_prev && x->prev != 0)
			BAD_PANEL("feature \"%s\" has a prev value without its flag", x->name);
		if (!x->has_trend && x->trend != 0)
			BAD_PANEL("feature \"%s\" has a trend value without its flag", x->name);
	}
	if (buf->cursor != buf->len)
		BAD_PANEL("trailing bytes in binary value");
	PG_RETURN_POINTER(panel_build(has_adm == 1, has_adm ? adm : 0, as_of, window, f, n));
}

PG_FUNCTION_INFO_V1(icu_lab_panel_jsonb);
Datum
icu_lab_panel_jsonb(PG_FUNCTION_ARGS)
{
	char	   *s = panel_to_cstring(panel_fetch(PG_GETARG_DATUM(0)));

	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
}

/* ------------------------------------------------------------------------
 * SQL accessors
 * ------------------------------------------------------------------------ */

/* Per-call-site cache for lab_value: the last stat name parsed. */
typedef struct ValueCache
{
	PanelCatalog *cat;
	char		stat_text[32];
	int			stat;
} ValueCache;

static int
stat_arg(FunctionCallInfo fcinfo, text *stat)
{
	ValueCache *vc = (ValueCache *) fcinfo->flinfo->fn_extra;
	int			len = VARSIZE_ANY_EXHDR(stat);
	char	   *s;
	int			k;

	if (vc == NULL)
	{
		vc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ValueCache));
		vc->stat = -1;
		fcinfo->flinfo->fn_extra = vc;
	}
	if (vc->stat >= 0 && len < (int) sizeof(vc->stat_text) &&
		strncmp(vc->stat_text, VARDATA_ANY(stat), len) == 0 && vc->stat_text[len] == '\0')
		return vc->stat;
	s = text_to_cstring(stat);
	k = icu_panel_stat_from_name(s);
	if (k < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown lab panel statistic \"%s\"", s),
				 errhint("Use one of: last, prev, first, min, max, mean, count, rejected, trend, hours_since_last.")));
	if (len < (int) sizeof(vc->stat_text))
	{
		strcpy(vc->stat_text, s);
		vc->stat = k;
	}
	return k;
}

/* The feature is not in the panel: NULL if the catalogue knows it, else 42704. */
static void
check_known_feature(FunctionCallInfo fcinfo, text *feature)
{
	ValueCache *vc = (ValueCache *) fcinfo->flinfo->fn_extra;
	FmgrInfo	tmp;
	PanelCatalog *cat;

	if (vc == NULL)
	{
		vc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ValueCache));
		vc->stat = -1;
		fcinfo->flinfo->fn_extra = vc;
	}
	if (vc->cat == NULL)
	{
		/* panel_catalog caches in fn_extra; give it a private FmgrInfo copy */
		tmp = *fcinfo->flinfo;
		tmp.fn_extra = NULL;
		vc->cat = panel_catalog(&tmp);
	}
	cat = vc->cat;
	if (catalog_find(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature)) < 0)
		unknown_feature(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
}

static int
feature_index(FunctionCallInfo fcinfo, const LabPanel *p, text *feature)
{
	int			len = VARSIZE_ANY_EXHDR(feature);
	char		name[PANEL_NAME_MAX + 1];
	int			k = -1;

	if (len <= PANEL_NAME_MAX)
	{
		memcpy(name, VARDATA_ANY(feature), len);
		name[len] = '\0';
		k = icu_panel_find(p, name);
	}
	if (k < 0)
		check_known_feature(fcinfo, feature);
	return k;
}

PG_FUNCTION_INFO_V1(icu_lab_value);
Datum
icu_lab_value(PG_FUNCTION_ARGS)
{
	LabPanel   *p = panel_fetch(PG_GETARG_DATUM(0));
	text	   *feature = PG_GETARG_TEXT_PP(1);
	int			stat = stat_arg(fcinfo, PG_GETARG_TEXT_PP(2));
	int			k = feature_index(fcinfo, p, feature);
	double		v;

	if (k < 0 || !icu_panel_value(p, k, (IcuPanelStat) stat, &v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(icu_lab_last_at);
Datum
icu_lab_last_at(PG_FUNCTION_ARGS)
{
	LabPanel   *p = panel_fetch(PG_GETARG_DATUM(0));
	int			k = feature_index(fcinfo, p, PG_GETARG_TEXT_PP(1));
	TimestampTz t;

	if (k < 0 || !icu_panel_last_at(p, k, &t))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(t);
}

PG_FUNCTION_INFO_V1(icu_lab_as_of);
Datum
icu_lab_as_of(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(icu_panel_as_of(panel_fetch(PG_GETARG_DATUM(0))));
}

PG_FUNCTION_INFO_V1(icu_lab_admission);
Datum
icu_lab_admission(PG_FUNCTION_ARGS)
{
	int64		adm;

	if (!icu_panel_admission(panel_fetch(PG_GETARG_DATUM(0)), &adm))
		PG_RETURN_NULL();
	PG_RETURN_INT64(adm);
}

PG_FUNCTION_INFO_V1(icu_lab_features);
Datum
icu_lab_features(PG_FUNCTION_ARGS)
{
	LabPanel   *p = panel_fetch(PG_GETARG_DATUM(0));
	Datum	   *d = palloc(sizeof(Datum) * Max(p->nfeat, 1));

	for (int i = 0; i < p->nfeat; i++)
		d[i] = CStringGetTextDatum(icu_panel_feature_name(p, i));
	PG_RETURN_ARRAYTYPE_P(construct_array(d, p->nfeat, TEXTOID, -1, false, TYPALIGN_INT));
}

PG_FUNCTION_INFO_V1(icu_lab_layout_id);
Datum
icu_lab_layout_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) icu_panel_layout_id(panel_fetch(PG_GETARG_DATUM(0))));
}
