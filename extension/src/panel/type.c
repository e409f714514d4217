/*
 * type.c — the lab_panel value: validate unpacked features and pack them
 * (panel_build), and check a stored panel cheaply when it is read
 * (panel_fetch).
 *
 * Every panel in existence went through panel_build: the aggregates' final
 * functions, text input and binary receive all call it, so all panels
 * satisfy the same invariants (valid sorted unique names, counts in range,
 * finite statistics inside [min, max], prev exactly when count >= 2, last_at
 * finite and not after as_of).
 *
 * On-disk layout (private; varlena, alignment double, ~80 bytes per
 * feature): header (40 bytes) | nfeat x PanelFeat (80 bytes) | names.  The
 * header carries layout_id, a hash of the ordered feature-name list,
 * computed whenever a panel is built, so equal name lists give equal ids and
 * readers (the model runtime) can cache feature-index resolution per layout
 * for free.  It is not part of the text or binary forms; input recomputes it.
 */
#include "panel_int.h"

/* Every panel_build error: 22P02 from text, 22P03 from binary, 22023 from an aggregate's rows. */
#define BAD_BUILD(...) icu_invalid_input(form, "lab_panel", __VA_ARGS__)

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
LabPanel *
panel_build(IcuInputForm form, bool has_adm, int64 admission_id, TimestampTz as_of,
			double window_hours, FeatIn *f, int n)
{
	Size		names_len = 0;
	Size		size;
	LabPanel   *p;
	char	   *names;

	if (n < 0 || n > ICU_PANEL_MAX_FEATURES)
		BAD_BUILD("%d features (at most %d allowed)", n, ICU_PANEL_MAX_FEATURES);
	/* binary input can carry any int64: keep to the range timestamptz_out can print */
	if (TIMESTAMP_NOT_FINITE(as_of) || !IS_VALID_TIMESTAMP(as_of))
		BAD_BUILD("as_of must be a finite time within the timestamptz range");
	if (!isfinite(window_hours) || window_hours <= 0)
		BAD_BUILD("trend window must be a positive number of hours");

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

		if (!icu_feature_name_ok(x->name, len))
			BAD_BUILD("\"%s\" is not a valid feature name", x->name);
		if (i > 0 && strcmp(f[i - 1].name, x->name) == 0)
			BAD_BUILD("feature \"%s\" appears twice", x->name);
		if (x->count < 0 || x->count > PG_INT32_MAX ||
			x->rejected < 0 || x->rejected > PG_INT32_MAX)
			BAD_BUILD("counts of feature \"%s\" out of range", x->name);
		if (x->count == 0)
		{
			if (x->has_prev || x->has_trend)
				BAD_BUILD("feature \"%s\" has no accepted value but a prev or trend", x->name);
		}
		else
		{
			if (!isfinite(x->last) || !isfinite(x->first) || !isfinite(x->min) ||
				!isfinite(x->max) || !isfinite(x->mean) ||
				(x->has_prev && !isfinite(x->prev)) ||
				(x->has_trend && !isfinite(x->trend)))
				BAD_BUILD("statistics of feature \"%s\" must be finite numbers", x->name);
			if (x->has_prev != (x->count >= 2))
				BAD_BUILD("feature \"%s\" must have prev exactly when count >= 2", x->name);
			if (x->has_trend && x->count < 2)
				BAD_BUILD("feature \"%s\" has a trend from fewer than 2 values", x->name);
			if (x->min > x->max ||
				x->last < x->min || x->last > x->max ||
				x->first < x->min || x->first > x->max ||
				x->mean < x->min || x->mean > x->max ||
				(x->has_prev && (x->prev < x->min || x->prev > x->max)))
				BAD_BUILD("statistics of feature \"%s\" are inconsistent (outside [min, max])", x->name);
			if (TIMESTAMP_NOT_FINITE(x->last_at) || !IS_VALID_TIMESTAMP(x->last_at) ||
				x->last_at > as_of)
				BAD_BUILD("last_at of feature \"%s\" must be a finite time not after as_of", x->name);
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
LabPanel *
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

