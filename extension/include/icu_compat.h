/*
 * icu_compat.h — the one place where PostgreSQL major versions differ for
 * this extension's C code.  Every #if on PG_VERSION_NUM lives here; the
 * sources use the names defined below.  Supported and tested: 15, 17, 18
 * (tools/pg-versions.sh; docs/postgresql-versions.md).
 */
#ifndef ICU_COMPAT_H
#define ICU_COMPAT_H

#include "postgres.h"
#include "utils/datetime.h"

#if PG_VERSION_NUM < 150000
#error "icu_predict needs PostgreSQL 15 or later (pg_config names an older server)"
#endif

/*
 * The varlena macros (VARDATA, VARSIZE_ANY_EXHDR, SET_VARSIZE, ...) moved
 * from postgres.h to varatt.h in PostgreSQL 16; through 17 other headers
 * this code includes brought varatt.h in, in 18 they no longer do.
 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

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

/*
 * A composite (row) argument.  Later minor releases of 17 (17.12's headers)
 * turned DatumGetHeapTupleHeader(), which PG_GETARG_HEAPTUPLEHEADER() calls,
 * from a macro into a server function that earlier servers of the same
 * major (17.10) do not export, so a module built against the newer headers
 * would not load into them.  Detoasting the datum is what the macro did, on
 * every version (a flattened, detoasted composite datum is a tuple header).
 */
#define ICU_GETARG_ROW(n) ((HeapTupleHeader) PG_DETOAST_DATUM(PG_GETARG_DATUM(n)))

#endif							/* ICU_COMPAT_H */
