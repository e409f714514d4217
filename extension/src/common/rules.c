/*
 * rules.c — the rules that SQL, C and Python share, each written once:
 * the names of the lab panel statistics (in IcuPanelStat order) and the
 * feature-name rule.
 *
 * SQL objects backed here (extension/sql, canonical part):
 *   lab_stats()                 SETOF text, the statistic names in order
 *   feature_name_max_length()   integer, ICU_FEATURE_NAME_MAX
 *   feature_name_ok(text)       boolean, the CHECK of feature.name
 * model/spec.py keeps its own copy of the statistic names for server-free
 * use; test/integration checks that it equals lab_stats().
 */
#include "icu_predict.h"
#include "icu_common.h"

#include "funcapi.h"
#include "utils/builtins.h"

static const char *const stat_names[ICU_STAT_NUM] = {
	[ICU_STAT_LAST] = "last",
	[ICU_STAT_PREV] = "prev",
	[ICU_STAT_FIRST] = "first",
	[ICU_STAT_MIN] = "min",
	[ICU_STAT_MAX] = "max",
	[ICU_STAT_MEAN] = "mean",
	[ICU_STAT_COUNT] = "count",
	[ICU_STAT_REJECTED] = "rejected",
	[ICU_STAT_TREND] = "trend",
	[ICU_STAT_HOURS_SINCE_LAST] = "hours_since_last",
};

bool
icu_feature_name_ok(const char *s, int len)
{
	if (len < 1 || len > ICU_FEATURE_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (int i = 1; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

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

const char *
icu_panel_stat_list(void)
{
	static char list[256];

	if (list[0] == '\0')
	{
		size_t		off = 0;

		for (int i = 0; i < ICU_STAT_NUM; i++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", stat_names[i]);
	}
	return list;
}

PG_FUNCTION_INFO_V1(icu_lab_stats);
Datum
icu_lab_stats(PG_FUNCTION_ARGS)
{
	FuncCallContext *fc;

	if (SRF_IS_FIRSTCALL())
		fc = SRF_FIRSTCALL_INIT();
	fc = SRF_PERCALL_SETUP();
	if (fc->call_cntr < ICU_STAT_NUM)
	{
		/* SRF_RETURN_NEXT advances call_cntr before it reads its argument */
		Datum		name = CStringGetTextDatum(stat_names[fc->call_cntr]);

		SRF_RETURN_NEXT(fc, name);
	}
	SRF_RETURN_DONE(fc);
}

PG_FUNCTION_INFO_V1(icu_feature_name_max_length);
Datum
icu_feature_name_max_length(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ICU_FEATURE_NAME_MAX);
}

PG_FUNCTION_INFO_V1(icu_feature_name_ok_sql);
Datum
icu_feature_name_ok_sql(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(icu_feature_name_ok(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}
