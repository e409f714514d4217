/*
 * icu_integrity.h — the quarantine rule for admissions and the install-time
 * guard (extension/src/common/integrity.c).
 */
#ifndef ICU_INTEGRITY_H
#define ICU_INTEGRITY_H

#include "postgres.h"
#include "datatype/timestamp.h"

/* admitted before this (UTC) is implausible */
#define ICU_ADMISSION_EARLIEST_YEAR	1900
/* an admission open longer than this at the reference time is implausible */
#define ICU_ADMISSION_MAX_OPEN_DAYS	3650

/*
 * NULL when an admission admitted at `admitted` and open at `reference` is
 * plausible, else the reason it is quarantined (a static string).
 */
extern const char *icu_admission_implausible(TimestampTz admitted, TimestampTz reference);

/* defines icu_predict.allow_drop_data (called from _PG_init) */
extern void icu_integrity_init(void);

#endif							/* ICU_INTEGRITY_H */
