/*
 * module.c — module start and settings.
 *
 * Settings (GUCs), all USERSET so that an analyst can replay a past day, and
 * each validated when it is set (check hooks), so a bad value fails at SET,
 * ALTER DATABASE ... SET or in postgresql.conf, never at first use:
 *   icu_predict.day_timezone    time zone in which a calendar day of stay
 *                               ends (daily panels, patient_status, the
 *                               occupancy census); '' means the session's
 *                               TimeZone.  Check: a zone pg_tzset() knows.
 *   icu_predict.reference_time  the "now" of patient_status and
 *                               capacity_forecast (read by the SQL function
 *                               icu_predict.reference_time()); '' means the
 *                               current time, a timestamptz literal replays
 *                               that moment.  Check: parses as a finite
 *                               timestamptz.  The literal is kept as text and
 *                               converted at use, so a value without a zone
 *                               is read in the TimeZone of the moment of use.
 *
 * icu_day_zone() is the day-zone rule, written once: the daily series
 * aggregate cuts days with it, and the SQL function day_zone()
 * (icu_day_zone_name) gives its name to every SQL part.
 */
#include "icu_predict.h"
#include "icu_common.h"
#include "icu_integrity.h"

#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

char	   *icu_day_timezone = NULL;
char	   *icu_reference_time = NULL;

void		_PG_init(void);

static bool
check_day_timezone(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (pg_tzset(*newval) == NULL)
	{
		GUC_check_errmsg("icu_predict.day_timezone \"%s\" is not a known time zone", *newval);
		GUC_check_errhint("Use a zone name from pg_timezone_names, e.g. 'Europe/Amsterdam', or '' for the session TimeZone.");
		return false;
	}
	return true;
}

static bool
check_reference_time(char **newval, void **extra, GucSource source)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	TimestampTz t;
	int			dterr;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	dterr = ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf);
	if (dterr == 0)
		dterr = icu_decode_date_time(field, ftype, nf, &dtype, &tm, &fsec, &tz);
	if (dterr != 0 || (dtype != DTK_DATE && dtype != DTK_EPOCH))
	{
		GUC_check_errmsg("icu_predict.reference_time \"%s\" is not a finite time stamp", *newval);
		GUC_check_errhint("Give a timestamptz such as '2020-04-01 08:00+02', or '' for the current time.");
		return false;
	}
	if (dtype == DTK_DATE && tm2timestamp(&tm, fsec, &tz, &t) != 0)
	{
		GUC_check_errmsg("icu_predict.reference_time \"%s\" is out of the timestamptz range", *newval);
		return false;
	}
	return true;
}

struct pg_tz *
icu_day_zone(void)
{
	pg_tz	   *tz;

	if (icu_day_timezone == NULL || icu_day_timezone[0] == '\0')
		return session_timezone;
	tz = pg_tzset(icu_day_timezone);
	if (tz == NULL)				/* the check hook accepted it: cannot happen */
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("icu_predict.day_timezone \"%s\" is not a known time zone", icu_day_timezone)));
	return tz;
}

/* day_zone(): the name of the zone icu_day_zone() cuts days in. */
PG_FUNCTION_INFO_V1(icu_day_zone_name);
Datum
icu_day_zone_name(PG_FUNCTION_ARGS)
{
	const char *name = pg_get_timezone_name(icu_day_zone());

	if (name == NULL)			/* every zone pg_tzset() returns has a name */
		elog(ERROR, "day_zone: the time zone has no name");
	PG_RETURN_TEXT_P(cstring_to_text(name));
}

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
							   check_day_timezone, NULL, NULL);

	DefineCustomStringVariable("icu_predict.reference_time",
							   "Reference time (\"now\") of patient_status and capacity_forecast.",
							   "Empty means the current time; a timestamptz literal replays the views as of that moment.",
							   &icu_reference_time,
							   "",
							   PGC_USERSET,
							   0,
							   check_reference_time, NULL, NULL);

	icu_integrity_init();		/* icu_predict.allow_drop_data (integrity.c) */

	MarkGUCPrefixReserved("icu_predict");
}
