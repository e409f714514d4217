/*
 * icu_json.h — reading the extension's JSON text forms (common/json_input.c).
 * type names the SQL type for messages ("lab_panel"); what names the part
 * being read ("the panel", "feature \"crp\"").  Every fault is 22P02.
 */
#ifndef ICU_JSON_H
#define ICU_JSON_H

#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

extern Jsonb *icu_json_object_in(const char *str, const char *type);
/* Every key of object c must be in allowed[] or pass also_allowed (may be NULL). */
extern void icu_json_check_keys(JsonbContainer *c, const char *const *allowed, int nallowed,
								bool (*also_allowed) (const char *key),
								const char *type, const char *what);
/* The value of key, false when absent or JSON null. */
extern bool icu_json_get(JsonbContainer *c, const char *key, JsonbValue *v);
extern double icu_json_number(JsonbContainer *c, const char *key, const char *type, const char *what);
extern double icu_json_numeric_double(Numeric n);
extern int64 icu_json_count(JsonbContainer *c, const char *key, const char *type, const char *what);
extern TimestampTz icu_json_time(JsonbContainer *c, const char *key, const char *type, const char *what);

#endif							/* ICU_JSON_H */
