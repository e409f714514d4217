-- The clock: the two rules of time every other part reads.
--
--   reference_time()   the "now" of the extension: icu_predict.reference_time,
--                      or the current time when that setting is empty.  The
--                      daily views, the ICU episode length of an open episode
--                      and refresh() all take "now" from here, so a replay
--                      (SET icu_predict.reference_time) moves all of them.
--   day_zone()         the time zone in which a calendar day of stay ends:
--                      icu_predict.day_timezone, or the session TimeZone when
--                      that setting is empty.  Daily panels, patient_status,
--                      the ICU census and the capacity forecast's reference
--                      day all cut days here.
--
-- The day-zone rule is written once, in C (extension/src/common/module.c:
-- icu_day_zone()); day_zone() gives its zone's name to SQL, and the daily
-- series aggregate cuts days with the same function.
--
-- This part comes first: every later part may call both functions.

-- ---------------------------------------------------------------------------
-- reference_time()
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.reference_time()
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN coalesce(pg_catalog.current_setting('icu_predict.reference_time', true), '') = ''
        THEN pg_catalog.now()
    ELSE pg_catalog.current_setting('icu_predict.reference_time', true)::timestamptz
END;
COMMENT ON FUNCTION @extschema@.reference_time() IS
    'The reference time ("now") of patient_status and capacity_forecast: the setting icu_predict.reference_time as a timestamptz, or now() when the setting is empty (the default). SET icu_predict.reference_time = ''2020-04-01 08:00+02'' before CALL icu_predict.refresh() replays that moment.';

-- ---------------------------------------------------------------------------
-- day_zone()
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.day_zone()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_day_zone_name';
COMMENT ON FUNCTION @extschema@.day_zone() IS
    'The time zone in which a calendar day of stay ends: icu_predict.day_timezone, or the session TimeZone when that setting is empty.';
