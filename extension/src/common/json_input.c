/*
 * json_input.c — the one reader of the extension's JSON text forms
 * (lab_panel and bed_demand text input): the text is parsed by PostgreSQL's
 * jsonb input, and typed fields are read from the object with these
 * helpers, so both types accept the same JSON and report the same faults
 * the same way (22P02, "invalid <type>: <what is wrong>").
 *
 * No SQL objects of its own.
 */
#include "icu_common.h"
#include "icu_json.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

Jsonb *
icu_json_object_in(const char *str, const char *type)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(str)));

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		icu_invalid_input(ICU_INPUT_TEXT, type, "expected a JSON object");
	return jb;
}

void
icu_json_check_keys(JsonbContainer *c, const char *const *allowed, int nallowed,
					bool (*also_allowed) (const char *key),
					const char *type, const char *what)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbIteratorToken tok;
	JsonbValue	v;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *k;
		bool		ok = false;

		if (tok != WJB_KEY)
			continue;
		k = pnstrdup(v.val.string.val, v.val.string.len);
		for (int i = 0; i < nallowed && !ok; i++)
			ok = strcmp(k, allowed[i]) == 0;
		if (!ok && also_allowed != NULL)
			ok = also_allowed(k);
		if (!ok)
		{
			if (what != NULL)
				icu_invalid_input(ICU_INPUT_TEXT, type, "unknown key \"%s\" in %s", k, what);
			icu_invalid_input(ICU_INPUT_TEXT, type, "unknown key \"%s\"", k);
		}
	}
}

bool
icu_json_get(JsonbContainer *c, const char *key, JsonbValue *v)
{
	return getKeyJsonValueFromContainer(c, key, strlen(key), v) != NULL &&
		v->type != jbvNull;
}

double
icu_json_number(JsonbContainer *c, const char *key, const char *type, const char *what)
{
	JsonbValue	v;
	double		d;

	if (!icu_json_get(c, key, &v) || v.type != jbvNumeric)
		icu_invalid_input(ICU_INPUT_TEXT, type, "%s needs a number \"%s\"", what, key);
	d = icu_json_numeric_double(v.val.numeric);
	if (!isfinite(d))
		icu_invalid_input(ICU_INPUT_TEXT, type, "\"%s\" of %s must be a finite number", key, what);
	return d;
}

double
icu_json_numeric_double(Numeric n)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(n)));
}

int64
icu_json_count(JsonbContainer *c, const char *key, const char *type, const char *what)
{
	double		d = icu_json_number(c, key, type, what);

	if (d != floor(d) || d < 0 || d > PG_INT32_MAX)
		icu_invalid_input(ICU_INPUT_TEXT, type, "\"%s\" of %s must be a whole number from 0 to %d",
						  key, what, PG_INT32_MAX);
	return (int64) d;
}

TimestampTz
icu_json_time(JsonbContainer *c, const char *key, const char *type, const char *what)
{
	JsonbValue	v;
	char	   *s;

	if (!icu_json_get(c, key, &v) || v.type != jbvString)
		icu_invalid_input(ICU_INPUT_TEXT, type, "%s needs a time stamp string \"%s\"", what, key);
	s = pnstrdup(v.val.string.val, v.val.string.len);
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}
