/*
 * panel_int.h — what the lab-panel files share and nothing outside panel/
 * sees: the on-disk layout of a panel, the unpacked form panels are built
 * from, the feature catalogue, the per-feature accumulator with its trend
 * sums, and the helpers of both aggregates.
 *
 * Files of the panel (split by phase):
 *   type.c     validate and pack a panel (panel_build), fetch one from disk
 *   io.c       text (JSON), binary send/recv, cast to jsonb
 *   catalog.c  the feature catalogue, read once per query through SPI
 *   accum.c    the accumulator of one feature, shared by both aggregates
 *   asof.c     the as-of aggregate lab_panel(...)
 *   series.c   the daily series aggregate lab_panel_series(...)
 *   access.c   the C API (icu_predict.h) and the SQL accessors
 *
 * Float semantics (all files): min/max/last/prev/first/count are exact
 * whatever the order of input; mean and trend use sums (trend: Youngs-Cramer
 * updates, as PostgreSQL's regr_slope) whose last bits depend on the order,
 * so a parallel result agrees with the serial one to about 1e-15 relative.
 */
#ifndef ICU_PANEL_INT_H
#define ICU_PANEL_INT_H

#include "icu_predict.h"
#include "icu_common.h"

#include <math.h>

#define PANEL_VERSION			2	/* on-disk layout (v2: layout_id in the header) */
#define PANEL_WIRE_VERSION		1	/* binary send/recv format */
#define PANEL_STATE_VERSION		1	/* serialized aggregate states */
#define PANEL_DEFAULT_WINDOW_H	72.0
#define USECS_PER_DAY_F			86400000000.0

#define PF_HAS_PREV		0x01
#define PF_HAS_TREND	0x02
#define PH_HAS_ADMISSION 0x01

/* On-disk layout: header | nfeat x PanelFeat | feature names (no NULs). */
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
	char		name[ICU_FEATURE_NAME_MAX + 1];
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

/* type.c */
extern LabPanel *panel_build(IcuInputForm form, bool has_adm, int64 admission_id,
							 TimestampTz as_of, double window_hours, FeatIn *f, int n);
extern LabPanel *panel_fetch(Datum d);

/* catalog.c: names in byte order, plausible ranges, a name hash */
typedef struct PanelCatalog
{
	int			n;
	char		(*names)[ICU_FEATURE_NAME_MAX + 1];
	uint8	   *lens;
	double	   *lo;
	double	   *hi;
	int			hmask;
	int16	   *hash;			/* open addressing: index+1, 0 = empty */
	char	   *schema;			/* quoted schema name, for hints */
	uint32		fingerprint;	/* hash of the names in order (aggregate states carry it) */
} PanelCatalog;

extern PanelCatalog *panel_catalog(FmgrInfo *flinfo);
extern int	panel_catalog_find(const PanelCatalog *cat, const char *s, int len);
ICU_NORETURN extern void panel_unknown_feature(const PanelCatalog *cat, const char *s, int len);

/*
 * accum.c: the accumulator of one feature (aggregate states).  88 bytes per
 * feature an admission has; the trend sums (40 bytes) live in a separate
 * array and exist only for features with a value inside the trend window.
 */
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

ICU_NORETURN extern void panel_too_many_values(void);
extern void panel_trend_merge(TrendSums *a, const TrendSums *b);
extern void panel_acc_merge(PanelAcc *a, const PanelAcc *b);
extern void panel_acc_to_featin(const PanelAcc *a, const TrendSums *tr, const char *name, FeatIn *f);
extern double panel_window_arg(FunctionCallInfo fcinfo, int argno);
extern void panel_check_value(double v, const int64 *admission_id, const text *feature);
extern void panel_set_admission(bool *has, int64 *cur, int64 adm);

/*
 * Order of results: (resulted_at, value); ties in time are broken by value,
 * so serial and parallel results agree exactly.  (t1, v1) after (t2, v2)?
 */
static inline bool
panel_point_after(TimestampTz t1, double v1, TimestampTz t2, double v2)
{
	return t1 > t2 || (t1 == t2 && v1 > v2);
}

static inline void
panel_trend_add(TrendSums *a, double x, double y)
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

/* Add one accepted value (hot: inlined into both aggregates). */
static inline void
panel_acc_add(PanelAcc *a, TimestampTz t, double v)
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
		panel_too_many_values();
	a->count++;
	a->sum += v;
	if (v < a->min)
		a->min = v;
	if (v > a->max)
		a->max = v;
	if (panel_point_after(t, v, a->last_t, a->last_v))
	{
		a->prev_v = a->last_v;
		a->prev_t = a->last_t;
		a->last_v = v;
		a->last_t = t;
	}
	else if (a->count == 2 || panel_point_after(t, v, a->prev_t, a->prev_v))
	{
		a->prev_v = v;
		a->prev_t = t;
	}
	if (panel_point_after(a->first_t, a->first_v, t, v))
	{
		a->first_v = v;
		a->first_t = t;
	}
}

/* Bytes to allocate for at least `need` bytes: a power of two from 128. */
static inline Size
panel_chunk_bytes(Size need)
{
	Size		b = 128;

	while (b < need)
		b *= 2;
	return b;
}

#endif							/* ICU_PANEL_INT_H */
