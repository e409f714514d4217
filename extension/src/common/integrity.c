/*
 * integrity.c — the admission quarantine rule and the install-time guard.
 *
 * SQL objects:
 *   admission_quarantine_reason(admitted_at, reference_time) -> text
 *       (icu_admission_quarantine_reason; view admission_quarantine,
 *        extension/sql/22_integrity.sql)
 *   installing_extension() -> boolean   (icu_installing_extension; the
 *       guard of builtin rows)
 *
 * The admission rule is written once, here: the daily series aggregate
 * (panel/series.c) gives an empty series for a quarantined admission, so
 * patient_status skips it, and the view admission_quarantine lists it with
 * the same reason.  An open admission is quarantined when its admitted_at
 *   - is not finite (-infinity / infinity): "non-finite time";
 *   - lies before 1900-01-01 00:00 UTC: "implausible: admitted before 1900";
 *   - lies more than 3650 days before the reference time:
 *     "implausible: open for more than 3650 days".
 * (A real stay of ten years would give 3650 daily rows; a wrong year gives
 * tens of thousands, and a year in 4713 BC more days than the series holds.)
 *
 * installing_extension() is true only while CREATE EXTENSION or ALTER
 * EXTENSION UPDATE runs a script of icu_predict itself; unlike a setting, a
 * session cannot set it.
 *
 * drop_guard() is the event trigger (ddl_command_start) that keeps a DROP
 * from taking the clinical data by surprise (docs/integrity.md).  It reads
 * the statement's parse tree, so it knows which objects a DROP names before
 * anything is dropped: DROP EXTENSION icu_predict, DROP EXTENSION ... CASCADE
 * of an extension icu_predict requires, DROP SCHEMA <its schema> CASCADE and
 * DROP OWNED BY <its owner>.  For those it refuses (55000) while any table
 * pg_dump keeps for the extension (pg_extension_config_dump: admission,
 * lab_result, the registry, the logs, ...) holds a row that would be dumped,
 * unless icu_predict.allow_drop_data is on.  (A sql_drop trigger sees every
 * dropped object, but one that belongs to the extension is dropped with it
 * and then does not fire, so it cannot guard DROP EXTENSION.)
 */
#include "icu_predict.h"
#include "icu_integrity.h"

#include "fmgr.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

const char *
icu_admission_implausible(TimestampTz admitted, TimestampTz reference)
{
	static TimestampTz earliest = 0;

	if (TIMESTAMP_NOT_FINITE(admitted))
		return "non-finite time";
	if (earliest == 0)
	{
		struct pg_tm tm = {0};

		tm.tm_year = ICU_ADMISSION_EARLIEST_YEAR;
		tm.tm_mon = 1;
		tm.tm_mday = 1;
		if (tm2timestamp(&tm, 0, NULL, &earliest) != 0)
			elog(ERROR, "admission quarantine: cannot represent the earliest admission time");
	}
	if (admitted < earliest)
		return "implausible: admitted before 1900";
	if (!TIMESTAMP_NOT_FINITE(reference) &&
		reference - admitted > (TimestampTz) ICU_ADMISSION_MAX_OPEN_DAYS * USECS_PER_DAY)
		return "implausible: open for more than 3650 days";
	return NULL;
}

PG_FUNCTION_INFO_V1(icu_admission_quarantine_reason);
Datum
icu_admission_quarantine_reason(PG_FUNCTION_ARGS)
{
	const char *why = icu_admission_implausible(PG_GETARG_TIMESTAMPTZ(0), PG_GETARG_TIMESTAMPTZ(1));

	if (why == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}

PG_FUNCTION_INFO_V1(icu_installing_extension);
Datum
icu_installing_extension(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(creating_extension &&
				   CurrentExtensionObject == get_extension_oid("icu_predict", true));
}

/* ---- the drop guard ------------------------------------------------------ */

static bool icu_allow_drop_data = false;

void
icu_integrity_init(void)
{
	DefineCustomBoolVariable("icu_predict.allow_drop_data",
							 "Lets DROP EXTENSION icu_predict (and DROP SCHEMA ... CASCADE, DROP OWNED) drop tables that hold clinical data.",
							 "Off: such a DROP is refused while the tables pg_dump keeps for icu_predict hold rows. Turn it on for one session after a pg_dump, and for pg_restore --clean.",
							 &icu_allow_drop_data,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/* does the statement name icu_predict, its schema or its owner? */
static bool
drop_reaches_extension(Node *tree, Oid extoid, Oid *owner, Oid *schema)
{
	ListCell   *lc;

	if (IsA(tree, DropStmt))
	{
		DropStmt   *d = (DropStmt *) tree;

		if (d->removeType == OBJECT_EXTENSION)
		{
			foreach(lc, d->objects)
			{
				const char *name = strVal(lfirst(lc));
				Oid			other = get_extension_oid(name, true);

				if (other == extoid)
					return true;
				if (OidIsValid(other) && d->behavior == DROP_CASCADE)
				{
					/* an extension icu_predict requires: the cascade takes it */
					Datum		args[2] = {ObjectIdGetDatum(extoid), ObjectIdGetDatum(other)};
					Oid			types[2] = {OIDOID, OIDOID};

					if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_depend d"
											  " WHERE d.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
											  "   AND d.objid = $1"
											  "   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
											  "   AND d.refobjid = $2",
											  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
						elog(ERROR, "drop guard: reading pg_depend failed");
					if (SPI_processed > 0)
						return true;
				}
			}
		}
		else if (d->removeType == OBJECT_SCHEMA && d->behavior == DROP_CASCADE)
		{
			foreach(lc, d->objects)
				if (get_namespace_oid(strVal(lfirst(lc)), true) == *schema)
					return true;
		}
	}
	else if (IsA(tree, DropOwnedStmt))
	{
		DropOwnedStmt *d = (DropOwnedStmt *) tree;

		foreach(lc, d->roles)
			if (get_rolespec_oid((RoleSpec *) lfirst(lc), true) == *owner)
				return true;
	}
	return false;
}

PG_FUNCTION_INFO_V1(icu_drop_guard);
Datum
icu_drop_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trig;
	Oid			extoid;
	Oid			owner = InvalidOid;
	Oid			schema = InvalidOid;
	StringInfoData full;
	uint64		ntables;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "drop guard: not called as an event trigger");
	trig = (EventTriggerData *) fcinfo->context;
	extoid = get_extension_oid("icu_predict", true);
	if (icu_allow_drop_data || !OidIsValid(extoid) ||
		!(IsA(trig->parsetree, DropStmt) || IsA(trig->parsetree, DropOwnedStmt)))
		PG_RETURN_VOID();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "drop guard: SPI_connect failed");
	{
		Datum		arg = ObjectIdGetDatum(extoid);
		Oid			type = OIDOID;
		bool		isnull;

		if (SPI_execute_with_args("SELECT e.extowner, e.extnamespace FROM pg_catalog.pg_extension e WHERE e.oid = $1",
								  1, &type, &arg, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "drop guard: reading pg_extension failed");
		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		schema = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	if (!drop_reaches_extension(trig->parsetree, extoid, &owner, &schema))
	{
		SPI_finish();
		PG_RETURN_VOID();
	}

	/* the config-dumped tables and the condition pg_dump applies */
	{
		Datum		arg = ObjectIdGetDatum(extoid);
		Oid			type = OIDOID;

		if (SPI_execute_with_args("SELECT pg_catalog.format('SELECT 1 FROM %s %s LIMIT 1', c.oid::pg_catalog.regclass, x.cond),"
								  "       c.oid::pg_catalog.regclass::pg_catalog.text"
								  "  FROM pg_catalog.pg_extension e,"
								  "       LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS x(rel, cond)"
								  "  JOIN pg_catalog.pg_class c ON c.oid = x.rel"
								  " WHERE e.oid = $1 AND c.relkind = 'r'"
								  " ORDER BY 2",
								  1, &type, &arg, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "drop guard: reading pg_extension.extconfig failed");
	}
	ntables = SPI_processed;
	initStringInfo(&full);
	{
		SPITupleTable *tables = SPI_tuptable;

		for (uint64 i = 0; i < ntables; i++)
		{
			char	   *query = SPI_getvalue(tables->vals[i], tables->tupdesc, 1);
			char	   *name = SPI_getvalue(tables->vals[i], tables->tupdesc, 2);

			if (SPI_execute(query, true, 1) != SPI_OK_SELECT)
				elog(ERROR, "drop guard: reading %s failed", name);
			if (SPI_processed > 0)
				appendStringInfo(&full, "%s%s", full.len > 0 ? ", " : "", name);
		}
	}
	if (full.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s would drop the tables of icu_predict, and these hold data: %s",
						GetCommandTagName(trig->tag), full.data),
				 errdetail("The tables are part of the extension: dropping it drops them with every row."),
				 errhint("Keep a pg_dump first; then SET icu_predict.allow_drop_data = on in this session and repeat the command (docs/integrity.md).")));
	SPI_finish();
	PG_RETURN_VOID();
}
