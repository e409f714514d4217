/*
 * access.c — reading a panel: the C API declared in icu_predict.h (used by
 * the model runtime) and the SQL accessors lab_value, lab_last_at,
 * lab_as_of, lab_admission, lab_features, lab_layout_id.
 *
 * lab_value(p, feature, stat): count and rejected are 0 for a known feature
 * the panel lacks (and for a NULL panel), as the scorer reads them; other
 * statistics are NULL when the panel has no value for a known feature (or
 * the statistic is not available: prev with one value, trend from fewer than
 * two values or a span under the minimum); an unknown feature is 42704 and
 * an unknown statistic 22023.  The statistic name and the catalogue are cached per
 * call site in fn_extra.
 */
#include "panel_int.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

/* ---- C API (icu_predict.h) ---------------------------------------------- */

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

/* ---- SQL accessors ------------------------------------------------------- */

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
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("unknown lab panel statistic \"%s\"", s),
				 errhint("Use one of: %s.", icu_panel_stat_list())));
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
	if (panel_catalog_find(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature)) < 0)
		panel_unknown_feature(cat, VARDATA_ANY(feature), VARSIZE_ANY_EXHDR(feature));
}

static int
feature_index(FunctionCallInfo fcinfo, const LabPanel *p, text *feature)
{
	int			len = VARSIZE_ANY_EXHDR(feature);
	char		name[ICU_FEATURE_NAME_MAX + 1];
	int			k = -1;

	if (len <= ICU_FEATURE_NAME_MAX)
	{
		memcpy(name, VARDATA_ANY(feature), len);
		name[len] = '\0';
		k = icu_panel_find(p, name);
	}
	if (k < 0)
		check_known_feature(fcinfo, feature);
	return k;
}

/*
 * lab_value(panel, feature, stat) — not STRICT: a NULL panel is a panel
 * without labs (as for risk()), so count and rejected are 0 for it as for
 * any feature the panel lacks; NULL feature or stat give NULL.
 */
PG_FUNCTION_INFO_V1(icu_lab_value);
Datum
icu_lab_value(PG_FUNCTION_ARGS)
{
	LabPanel   *p;
	text	   *feature;
	int			stat;
	int			k;
	double		v;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	feature = PG_GETARG_TEXT_PP(1);
	stat = stat_arg(fcinfo, PG_GETARG_TEXT_PP(2));
	if (PG_ARGISNULL(0))
	{
		check_known_feature(fcinfo, feature);
		k = -1;
		p = NULL;
	}
	else
	{
		p = panel_fetch(PG_GETARG_DATUM(0));
		k = feature_index(fcinfo, p, feature);
	}
	if (k < 0)
	{
		/* absent feature: no values, so none accepted and none rejected */
		if (stat == ICU_STAT_COUNT || stat == ICU_STAT_REJECTED)
			PG_RETURN_FLOAT8(0.0);
		PG_RETURN_NULL();
	}
	if (!icu_panel_value(p, k, (IcuPanelStat) stat, &v))
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
