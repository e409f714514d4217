/*
 * icu_compat.h — the one place where PostgreSQL major versions differ for
 * this extension's C code.  Every #if on PG_VERSION_NUM lives here; the
 * sources use the names defined below.
 */
#ifndef ICU_COMPAT_H
#define ICU_COMPAT_H

#include "postgres.h"
#include "utils/datetime.h"

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

/*
 * DecodeDateTime() gained a DateTimeErrorExtra argument in PostgreSQL 16
 * (written to on some errors, so it must point somewhere).
 */
static inline int
icu_decode_date_time(char **field, int *ftype, int nf, int *dtype,
					 struct pg_tm *tm, fsec_t *fsec, int *tzp)
{
#if PG_VERSION_NUM >= 160000
	DateTimeErrorExtra extra;

	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp, &extra);
#else
	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp);
#endif
}

#endif							/* ICU_COMPAT_H */
