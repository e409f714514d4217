/*
 * spec_json.c — the JSON side of spec parsing (spec.c): the path of the
 * value being read, kept for error messages, and typed access to keys,
 * numbers, strings and arrays of a jsonb container.
 */
#include "spec_json.h"

#include <math.h>

#include "utils/builtins.h"

/* ---- JSON path bookkeeping ---------------------------------------------- */

int
spec_path_key(SpecCtx *c, const char *key)
{
	int			old = c->len;
	int			n = snprintf(c->path + c->len, sizeof(c->path) - c->len, ".%s", key);

	if (n > 0)
		c->len = Min(c->len + n, (int) sizeof(c->path) - 1);
	return old;
}

int
spec_path_index(SpecCtx *c, int i)
{
	int			old = c->len;
	int			n = snprintf(c->path + c->len, sizeof(c->path) - c->len, "[%d]", i);

	if (n > 0)
		c->len = Min(c->len + n, (int) sizeof(c->path) - 1);
	return old;
}

void
spec_path_pop(SpecCtx *c, int old)
{
	c->len = old;
	c->path[old] = '\0';
}

void
spec_error(SpecCtx *c, const char *fmt,...)
{
	char		buf[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ICU_ERR_ARGUMENT),
			 errmsg("model spec: %s: %s", c->path, buf),
			 errhint("See docs/model-spec.md for the spec format.")));
}

/* ---- typed access -------------------------------------------------------- */

const char *
spec_jtype_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "value";
	}
}

/* Look up key in object container; NULL when absent. */
JsonbValue *
spec_get_key(JsonbContainer *obj, const char *key)
{
	JsonbValue *res = palloc(sizeof(JsonbValue));

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), res) == NULL)
	{
		pfree(res);
		return NULL;
	}
	return res;
}

JsonbValue *
spec_need_key(SpecCtx *c, JsonbContainer *obj, const char *key)
{
	JsonbValue *v = spec_get_key(obj, key);

	if (v == NULL)
		spec_error(c, "missing required key \"%s\"", key);
	return v;
}

JsonbContainer *
spec_as_object(SpecCtx *c, JsonbValue *v)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		spec_error(c, "expected an object, found %s", spec_jtype_name(v));
	return v->val.binary.data;
}

JsonbContainer *
spec_as_array(SpecCtx *c, JsonbValue *v)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		spec_error(c, "expected an array, found %s", spec_jtype_name(v));
	return v->val.binary.data;
}

double
spec_numeric_to_double(Numeric n)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(n)));
}

/* A finite number; xgboost writes some numbers as strings ("5E-1"), so
 * strings holding a number are accepted where allow_string. */
double
spec_as_number(SpecCtx *c, JsonbValue *v, bool allow_string)
{
	double		d;

	if (v->type == jbvNumeric)
		d = spec_numeric_to_double(v->val.numeric);
	else if (v->type == jbvString && allow_string)
	{
		char		buf[64];
		char	   *end;

		if (v->val.string.len <= 0 || v->val.string.len >= (int) sizeof(buf))
			spec_error(c, "expected a number in a string");
		memcpy(buf, v->val.string.val, v->val.string.len);
		buf[v->val.string.len] = '\0';
		errno = 0;
		d = strtod(buf, &end);
		if (*end != '\0' || end == buf || errno == ERANGE)
			spec_error(c, "expected a number, found \"%s\"", buf);
	}
	else
		spec_error(c, "expected a number, found %s", spec_jtype_name(v));
	if (!isfinite(d))
		spec_error(c, "number must be finite");
	return d;
}

double
spec_key_number(SpecCtx *c, JsonbContainer *obj, const char *key, bool required, double dflt, bool allow_string)
{
	JsonbValue *v = required ? spec_need_key(c, obj, key) : spec_get_key(obj, key);
	int			old;
	double		d;

	if (v == NULL)
		return dflt;
	old = spec_path_key(c, key);
	d = spec_as_number(c, v, allow_string);
	spec_path_pop(c, old);
	return d;
}

int64
spec_key_integer(SpecCtx *c, JsonbContainer *obj, const char *key, int64 lo, int64 hi)
{
	JsonbValue *v = spec_need_key(c, obj, key);
	int			old = spec_path_key(c, key);
	double		d = spec_as_number(c, v, true);

	if (d != floor(d) || d < (double) lo || d > (double) hi)
		spec_error(c, "expected an integer in [" INT64_FORMAT ", " INT64_FORMAT "], found %g", lo, hi, d);
	spec_path_pop(c, old);
	return (int64) d;
}

/* string value into buf (NUL-terminated); errors when too long */
void
spec_as_string(SpecCtx *c, JsonbValue *v, char *buf, int buflen)
{
	if (v->type != jbvString)
		spec_error(c, "expected a string, found %s", spec_jtype_name(v));
	if (v->val.string.len >= buflen)
		spec_error(c, "string too long (at most %d bytes)", buflen - 1);
	memcpy(buf, v->val.string.val, v->val.string.len);
	buf[v->val.string.len] = '\0';
}

bool
spec_key_string(SpecCtx *c, JsonbContainer *obj, const char *key, bool required, char *buf, int buflen)
{
	JsonbValue *v = required ? spec_need_key(c, obj, key) : spec_get_key(obj, key);
	int			old;

	if (v == NULL)
		return false;
	old = spec_path_key(c, key);
	spec_as_string(c, v, buf, buflen);
	spec_path_pop(c, old);
	return true;
}

/*
 * Read the array obj[key] of exactly n numbers into out (as double) with an
 * iterator (O(n)).  Integer arrays are range-checked by the caller.
 */
void
spec_key_number_array(SpecCtx *c, JsonbContainer *obj, const char *key, int n, double *out)
{
	JsonbValue *v = spec_need_key(c, obj, key);
	int			old = spec_path_key(c, key);
	JsonbContainer *arr = spec_as_array(c, v);
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			i = 0;

	if ((int) JsonContainerSize(arr) != n)
		spec_error(c, "expected %d elements, found %d", n, (int) JsonContainerSize(arr));
	it = JsonbIteratorInit(arr);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (i >= n)
			spec_error(c, "too many elements");
		{
			int			o2 = spec_path_index(c, i);

			out[i] = spec_as_number(c, &elem, false);
			spec_path_pop(c, o2);
		}
		i++;
	}
	spec_path_pop(c, old);
}
