/*
 * icu_compat.h — the one place where PostgreSQL major versions differ for
 * this extension's C code.  Every #if on PG_VERSION_NUM lives here; the
 * sources use the names defined below.
 */
#ifndef ICU_COMPAT_H
#define ICU_COMPAT_H

#include "postgres.h"

/*
 * A function that does not return.  PostgreSQL 18 replaced the trailing
 * pg_attribute_noreturn() by a leading pg_noreturn; the leading position
 * works with both spellings, so declarations put ICU_NORETURN first.
 */
#if defined(pg_noreturn)
#define ICU_NORETURN pg_noreturn
#elif defined(__GNUC__) || defined(__clang__)
#define ICU_NORETURN __attribute__((noreturn))
#else
#define ICU_NORETURN
#endif

#endif							/* ICU_COMPAT_H */
