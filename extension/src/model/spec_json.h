/*
 * spec_json.h — reading a model spec's JSON with the path of every value
 * (private to spec.c and spec_json.c).  Every accessor raises the spec
 * error (22023) that names the JSON path ($.inputs[2].coef) on a missing
 * key, a wrong type or a number that is not finite.
 */
#ifndef ICU_SPEC_JSON_H
#define ICU_SPEC_JSON_H

#include "model.h"

#include "utils/jsonb.h"
#include "utils/numeric.h"

typedef struct SpecCtx
{
	char		path[1024];
	int			len;
} SpecCtx;

extern int spec_path_key(SpecCtx *c, const char *key);
extern int spec_path_index(SpecCtx *c, int i);
extern void spec_path_pop(SpecCtx *c, int old);
ICU_NORETURN extern void spec_error(SpecCtx *c, const char *fmt,...) pg_attribute_printf(2, 3);
extern const char *spec_jtype_name(const JsonbValue *v);
extern JsonbValue *spec_get_key(JsonbContainer *obj, const char *key);
extern JsonbValue *spec_need_key(SpecCtx *c, JsonbContainer *obj, const char *key);
extern JsonbContainer *spec_as_object(SpecCtx *c, JsonbValue *v);
extern JsonbContainer *spec_as_array(SpecCtx *c, JsonbValue *v);
extern double spec_numeric_to_double(Numeric n);
extern double spec_as_number(SpecCtx *c, JsonbValue *v, bool allow_string);
extern double spec_key_number(SpecCtx *c, JsonbContainer *obj, const char *key, bool required, double dflt, bool allow_string);
extern int64 spec_key_integer(SpecCtx *c, JsonbContainer *obj, const char *key, int64 lo, int64 hi);
extern void spec_as_string(SpecCtx *c, JsonbValue *v, char *buf, int buflen);
extern bool spec_key_string(SpecCtx *c, JsonbContainer *obj, const char *key, bool required, char *buf, int buflen);
extern void spec_key_number_array(SpecCtx *c, JsonbContainer *obj, const char *key, int n, double *out);

#endif
