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
 * Float semantics (all files): every statistic is a function of the set of
 * accepted values, never of the order they arrive in (serial, parallel,
 * shuffled: the same bits).  min/max/last/prev/first/count are exact.  The
 * sums behind mean and trend are exact: each is kept as a short expansion of
 * non-overlapping doubles (PanelXSum, Shewchuk's error-free transformations:
 * two-sum, and fma for products), so the state holds the exact sum and the
 * final functions round it once.  Values are scaled by a power of two before
 * they are summed (exact), so no sum of finite values can overflow.  An
 * expansion has at most PANEL_XSUM_K parts; a sum that would need more
 * (values spanning more than about 10^60 with cancellation, never lab data)
 * folds its two smallest parts and is then exact only to ~200 bits.  Trend
 * times are integer microseconds relative to as_of, their sums int128.
 * Products of the trend use fma(), so the build must not contract floating
 * point expressions on its own (the Makefile passes -ffp-contract=off).
 */
#ifndef ICU_PANEL_INT_H
#define ICU_PANEL_INT_H

#include "icu_predict.h"
#include "icu_common.h"

#include <math.h>

#ifndef HAVE_INT128
#error "icu_predict needs a compiler with a 128-bit integer type (the exact trend sums)"
#endif

#define PANEL_VERSION			2	/* on-disk layout (v2: layout_id in the header) */
#define PANEL_WIRE_VERSION		1	/* binary send/recv format */
#define PANEL_STATE_VERSION		2	/* serialized aggregate states (v2: exact sums) */
#define PANEL_DEFAULT_WINDOW_H	72.0
#define PANEL_MAX_WINDOW_H		35064.0	/* 4 years: |x| < 2^47 us, so sum x^2 fits int128 */
/*
 * The trend needs its accepted values in the window to span at least this
 * long (last minus first result time); closer values give no trend (NULL),
 * so two draws minutes apart do not make a slope of thousands per day.
 */
#define PANEL_TREND_MIN_SPAN_H	6.0
#define PANEL_TREND_MIN_SPAN_US	((int64) (PANEL_TREND_MIN_SPAN_H * 3600) * 1000000)
#define PANEL_XSUM_K			4	/* parts of an exact sum */
#define PANEL_SUM_SCALE			(-32)	/* values are summed as v * 2^-32 ... */
#define PANEL_XY_SCALE			(-96)	/* ... and trend products as v * 2^-96 * t_us */
#define PANEL_SUM_MUL			0x1p-32	/* 2^PANEL_SUM_SCALE: exact scaling */
#define PANEL_XY_MUL			0x1p-96	/* 2^PANEL_XY_SCALE */
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
 * accum.c: the accumulator of one feature (aggregate states).  112 bytes per
 * feature an admission has; the trend sums (128 bytes) live in a separate
 * array and exist only for features with a value inside the trend window.
 */
typedef struct PanelAcc
{
	int32		count;			/* accepted values */
	int32		rejected;		/* implausible values */
	int16		feat;			/* catalogue index */
	int16		trend;			/* index of the feature's TrendSums, -1: none */
	int16		nsum;			/* parts of sum in use */
	int16		reserved;
	double		last_v;
	TimestampTz last_t;
	double		prev_v;
	TimestampTz prev_t;
	double		first_v;
	TimestampTz first_t;
	double		min;
	double		max;
	double		sum[PANEL_XSUM_K];	/* exact sum of v * 2^PANEL_SUM_SCALE */
} PanelAcc;

/*
 * Trend: exact least-squares sums of x = result time - as_of (integer
 * microseconds, -window <= x <= 0) and y = value: n, sum x and sum x^2 as
 * integers, sum y and sum x*y as exact expansions (scaled), and the earliest
 * and latest x for the minimum span.
 */
typedef struct TrendSums
{
	int64		n;
	int64		xmin;
	int64		xmax;
	int128		sx;
	int128		sxx;
	double		sy[PANEL_XSUM_K];	/* sum of y * 2^PANEL_SUM_SCALE */
	double		sxy[PANEL_XSUM_K];	/* sum of y * 2^PANEL_XY_SCALE * x */
	int16		nsy;
	int16		nsxy;
	int32		reserved;
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

/*
 * Add x to the exact sum held in p[0 .. *np-1] (non-overlapping parts in
 * increasing magnitude; Shewchuk's grow-expansion with two-sum).  When all
 * PANEL_XSUM_K parts are taken, the two smallest are folded (rounds).
 */
extern void panel_xsum_fold(double *p, int16 *np);

static inline void
panel_xsum_add(double *p, int16 *np, double x)
{
	int			i = 0;

	for (int j = 0; j < *np; j++)
	{
		double		y = p[j];
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
			p[i++] = lo;
		x = hi;
	}
	if (x != 0.0)
	{
		if (unlikely(i == PANEL_XSUM_K))
		{
			*np = (int16) i;
			panel_xsum_fold(p, np);
			i = *np;
		}
		p[i++] = x;
	}
	*np = (int16) i;
}

/* accum.c: the exact sum rounded once to the nearest double (ties to even) */
extern double panel_xsum_round(const double *p, int n);

static inline void
panel_trend_add(TrendSums *a, int64 x, double y)
{
	double		yx = y * PANEL_XY_MUL;
	double		xd = (double) x;	/* exact: |x| < 2^53 */
	double		prod = yx * xd;
	double		err = fma(yx, xd, -prod);	/* prod + err = yx * x exactly */

	if (a->n == 0 || x < a->xmin)
		a->xmin = x;
	if (a->n == 0 || x > a->xmax)
		a->xmax = x;
	a->n++;
	a->sx += x;
	a->sxx += (int128) x * x;
	panel_xsum_add(a->sy, &a->nsy, y * PANEL_SUM_MUL);
	panel_xsum_add(a->sxy, &a->nsxy, prod);
	if (err != 0.0)
		panel_xsum_add(a->sxy, &a->nsxy, err);
}

/* Add one accepted value (hot: inlined into both aggregates). */
static inline void
panel_acc_add(PanelAcc *a, TimestampTz t, double v)
{
	if (a->count == 0)
	{
		a->last_v = a->first_v = a->min = a->max = v;
		a->last_t = a->first_t = t;
		a->nsum = 0;
		panel_xsum_add(a->sum, &a->nsum, v * PANEL_SUM_MUL);
		a->count = 1;
		return;
	}
	if (unlikely(a->count == PG_INT32_MAX))
		panel_too_many_values();
	a->count++;
	panel_xsum_add(a->sum, &a->nsum, v * PANEL_SUM_MUL);
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
