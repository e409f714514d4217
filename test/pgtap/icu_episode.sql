-- Contracts of icu_episode, icu_episodes() and icu_occupancy().
BEGIN;
SELECT plan(12);
SET search_path = icu_predict, public;

SELECT has_view('icu_predict', 'icu_episode', 'view icu_episode exists');
SELECT columns_are('icu_predict', 'icu_episode',
    ARRAY['admission_id', 'episode', 'first_unit', 'last_unit', 'started_at', 'ended_at',
          'los_days', 'still_in_icu', 'location_stays'], 'icu_episode has the documented columns');
SELECT col_type_is('icu_predict', 'icu_episode', 'los_days', 'double precision', 'los_days is float8 (BI-safe)');
SELECT is((SELECT count(*)::int FROM pg_attribute a
            WHERE a.attrelid = 'icu_predict.icu_episode'::regclass AND a.attnum > 0
              AND col_description(a.attrelid, a.attnum) IS NULL), 0, 'every icu_episode column has a COMMENT');
SELECT function_returns('icu_predict', 'icu_episodes', ARRAY['interval'], 'setof record', 'icu_episodes(interval) returns rows');
SELECT volatility_is('icu_predict', 'icu_episodes', ARRAY['interval'], 'stable', 'icu_episodes is STABLE');
SELECT volatility_is('icu_predict', 'icu_occupancy', ARRAY['date', 'date'], 'stable', 'icu_occupancy is STABLE');
SELECT is_strict('icu_predict', 'icu_occupancy', ARRAY['date', 'date'], 'icu_occupancy is STRICT');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.oid IN ('icu_predict.icu_episodes(interval)'::regprocedure,
                            'icu_predict.icu_occupancy(date, date)'::regprocedure)
              AND p.proparallel = 's' AND obj_description(p.oid, 'pg_proc') IS NOT NULL),
          2, 'both functions are PARALLEL SAFE and commented');

-- An unknown day zone is an error, not a silent UTC.
-- (checked by the library's check hook; any call of a C function loads it)
SELECT icu_predict.day_zone() IS NOT NULL AS library_loaded \gset
SELECT throws_ok($$SET LOCAL icu_predict.day_timezone = 'Nowhere/Atlantis'$$,
                 '22023', NULL, 'an unknown icu_predict.day_timezone raises 22023 when set');
RESET icu_predict.day_timezone;

-- The functions resolve names when created: a hostile search_path changes nothing.
CREATE TEMP TABLE location_stay (admission_id bigint, unit text, unit_kind text,
                                 started_at timestamptz, ended_at timestamptz, stay_id bigint);
INSERT INTO location_stay VALUES (1, 'X', 'icu', now(), NULL, 1);
SET LOCAL search_path = pg_temp, icu_predict, public;
SELECT is((SELECT count(*)::int FROM icu_predict.icu_episode), 0, 'icu_episode ignores a look-alike table on the search_path');
SELECT is((SELECT count(*)::int FROM icu_predict.icu_occupancy(current_date, current_date)), 0,
          'icu_occupancy ignores it too (no units, no rows)');

SELECT * FROM finish();
ROLLBACK;
