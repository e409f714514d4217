/*
 * module.c — module start and settings.
 *
 * Settings (GUCs), all USERSET so that an analyst can replay a past day:
 *   icu_predict.day_timezone  time zone in which a calendar day of stay ends
 *                             (daily panels, patient_status); '' means the
 *                             session's TimeZone.
 *   icu_predict.reference_time  the "now" of patient_status and
 *                             capacity_forecast (read by the SQL function
 *                             icu_predict.reference_time()); '' means the
 *                             current time, a timestamptz literal replays
 *                             that moment.
 */
#include "icu_predict.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *icu_day_timezone = NULL;
char	   *icu_reference_time = NULL;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomStringVariable("icu_predict.day_timezone",
							   "Time zone in which a calendar day of stay ends.",
							   "Daily lab panels and patient_status take each day as of its end in this zone. Empty means the session's TimeZone setting.",
							   &icu_day_timezone,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("icu_predict.reference_time",
							   "Reference time (\"now\") of patient_status and capacity_forecast.",
							   "Empty means the current time; a timestamptz literal replays the views as of that moment.",
							   &icu_reference_time,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("icu_predict");
}
