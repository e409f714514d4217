-- Contract of the forecast log and its grading: objects, comments,
-- properties of the scores, SQLSTATEs, and privileges (a non-owner refresh
-- writes the log; the BI role reads icu_bi.forecast_quality, not the log).
BEGIN;
SELECT plan(64);

SET LOCAL timezone = 'UTC';

-- ------------------------------------------------------------ objects
SELECT has_table('icu_predict', 'forecast_log', 'forecast_log exists');
SELECT has_pk('icu_predict', 'forecast_log', 'forecast_log has a primary key');
SELECT col_is_pk('icu_predict', 'forecast_log', ARRAY['run_id', 'unit', 'horizon_day'],
    'one row per run, unit and horizon day');
SELECT index_is_unique('icu_predict', 'forecast_log', 'forecast_log_of_record_key');
SELECT has_view('icu_predict', 'forecast_grade', 'forecast_grade exists');
SELECT has_function('icu_predict', 'bed_demand_cdf', ARRAY['icu_predict.bed_demand', 'integer']);
SELECT has_function('icu_predict', 'bed_demand_crps', ARRAY['icu_predict.bed_demand', 'integer']);
SELECT has_function('icu_predict', 'bed_demand_pit', ARRAY['icu_predict.bed_demand', 'integer', 'double precision']);
SELECT has_function('icu_predict', 'bed_demand_pit_cdf', ARRAY['icu_predict.bed_demand', 'integer', 'double precision']);
SELECT has_function('icu_predict', 'icu_census', ARRAY['timestamp with time zone[]']);
SELECT has_function('icu_predict', 'icu_census_at', ARRAY['timestamp with time zone']);
SELECT has_function('icu_predict', 'forecast_grades', ARRAY['timestamp with time zone', 'boolean', 'boolean']);
SELECT has_function('icu_predict', 'forecast_skill', ARRAY['integer', 'boolean']);
SELECT has_column('icu_predict', 'capacity_policy', 'forecast_log_retention_days', 'retention is a policy column');
SELECT has_column('icu_predict', 'capacity_policy', 'forecast_of_record_after', 'the of-record time is a policy column');
SELECT is((icu_predict.capacity_settings()).forecast_log_retention_days, 730, 'retention defaults to 730 days');
SELECT is((icu_predict.capacity_settings()).forecast_of_record_after, '00:00'::time, 'of record from 00:00 by default');
SELECT ok('icu_predict.forecast_log'::regclass = ANY (e.extconfig), 'forecast_log is dumped by pg_dump')
  FROM pg_extension e WHERE e.extname = 'icu_predict';

SELECT is_empty($$
    SELECT p.proname FROM pg_proc p
     WHERE p.pronamespace = 'icu_predict'::regnamespace
       AND p.proname IN ('bed_demand_cdf', 'bed_demand_crps', 'bed_demand_pit', 'bed_demand_pit_cdf')
       AND NOT (p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's')$$,
    'the score functions are IMMUTABLE STRICT PARALLEL SAFE');
SELECT ok((SELECT prosecdef AND proconfig = ARRAY['search_path=pg_catalog, pg_temp'] FROM pg_proc
            WHERE oid = 'icu_predict.forecast_skill(integer, boolean)'::regprocedure),
    'forecast_skill() is SECURITY DEFINER with a pinned search_path');

-- ------------------------------------------------------------ comments
SELECT is_empty($$
    SELECT c.relname || '.' || a.attname
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.oid IN ('icu_predict.forecast_log'::regclass, 'icu_predict.forecast_grade'::regclass,
                     'icu_bi.forecast_quality'::regclass)
       AND a.attnum > 0 AND NOT a.attisdropped
       AND coalesce(col_description(c.oid, a.attnum), '') = ''$$,
    'every column of forecast_log, forecast_grade and icu_bi.forecast_quality has a comment');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'icu_predict'::regnamespace
       AND p.proname IN ('bed_demand_cdf', 'bed_demand_crps', 'bed_demand_pit', 'bed_demand_pit_cdf',
                         'icu_census', 'icu_census_at', 'forecast_grades', 'forecast_skill',
                         'forecast_log_append_only')
       AND coalesce(obj_description(p.oid, 'pg_proc'), '') = ''$$,
    'every new function has a comment');
SELECT is_empty($$
    SELECT column_name FROM information_schema.columns
     WHERE table_schema = 'icu_predict' AND table_name = 'capacity_policy'
       AND column_name IN ('forecast_log_retention_days', 'forecast_of_record_after')
       AND coalesce(col_description('icu_predict.capacity_policy'::regclass, ordinal_position::int), '') = ''$$,
    'the new policy columns have comments');
-- the BI type rule of bi.sql reads information_schema.columns of icu_bi: it sees this view
SELECT is((SELECT count(*)::integer FROM information_schema.columns
            WHERE table_schema = 'icu_bi' AND table_name = 'forecast_quality'
              AND data_type IN ('double precision', 'integer', 'bigint', 'text', 'boolean',
                                'date', 'timestamp with time zone')), 21,
    'icu_bi.forecast_quality: 21 columns, all of BI-safe types');

-- ------------------------------------------------------------ properties of the scores
CREATE TEMP TABLE tap_d (name text, d icu_predict.bed_demand);
INSERT INTO tap_d VALUES
    ('poisson', icu_predict.bed_demand_poisson(2.5)),
    ('binomial', (SELECT icu_predict.bed_demand(p) FROM (VALUES (0.2::float8), (0.9), (0.5)) v(p))),
    ('negbin', icu_predict.bed_demand_negbinomial(3, 1.5));
-- a forecast is calibrated for its own outcomes: E_y pit_cdf(y, z) = z
SELECT is_empty($$
    SELECT t.name, z FROM tap_d t, (VALUES (0.1::float8), (0.35), (0.5), (0.8)) v(z)
     WHERE abs((SELECT sum(probability * icu_predict.bed_demand_pit_cdf(t.d, beds, z))
                  FROM icu_predict.bed_demand_pmf(t.d)) - z) > 1e-9$$,
    'PIT of a forecast against its own distribution is uniform: E pit_cdf(Y, z) = z');
-- E PIT(Y, u) = sum_y p_y (F(y - 1) + u p_y) = 1/2 + (u - 1/2) sum_y p_y^2
SELECT is_empty($$
    SELECT t.name FROM tap_d t
     WHERE abs((SELECT sum(probability * icu_predict.bed_demand_pit(t.d, beds, 0.37))
                  FROM icu_predict.bed_demand_pmf(t.d))
               - (0.5 + (0.37 - 0.5) * (SELECT sum(probability * probability)
                                          FROM icu_predict.bed_demand_pmf(t.d)))) > 1e-9$$,
    'randomised PIT against its own distribution: E PIT(Y, u) = 1/2 + (u - 1/2) sum p^2');
-- the CRPS identity E|X - y| - E|X - X'| / 2
SELECT is_empty($$
    SELECT t.name, y FROM tap_d t, generate_series(-2, 12) y
     WHERE abs(icu_predict.bed_demand_crps(t.d, y)
               - ((SELECT sum(probability * abs(beds - y)) FROM icu_predict.bed_demand_pmf(t.d))
                  - (SELECT sum(a.probability * b.probability * abs(a.beds - b.beds)) / 2
                       FROM icu_predict.bed_demand_pmf(t.d) a, icu_predict.bed_demand_pmf(t.d) b)))
           > 1e-9$$,
    'CRPS equals E|X - y| - E|X - X''|/2, inside and outside the support');
SELECT is(icu_predict.bed_demand_cdf(icu_predict.bed_demand_poisson(2.5), 1000), 1::float8,
    'cdf is 1 above the support');
SELECT is(icu_predict.bed_demand_cdf(icu_predict.bed_demand_poisson(2.5), -1), 0::float8,
    'cdf is 0 below the support');

-- ------------------------------------------------------------ SQLSTATEs
SELECT throws_ok($$SELECT icu_predict.bed_demand_pit(icu_predict.bed_demand_poisson(1), 1, 1.5)$$,
    '22023', NULL, 'u above 1: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_pit(icu_predict.bed_demand_poisson(1), 1, 'NaN')$$,
    '22023', NULL, 'u NaN: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_pit_cdf(icu_predict.bed_demand_poisson(1), 1, -0.5)$$,
    '22023', NULL, 'z below 0: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_pit_cdf(icu_predict.bed_demand_poisson(1), 1, 'Infinity')$$,
    '22023', NULL, 'z infinite: 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.forecast_skill(0)$$, '22023', NULL,
    'forecast_skill window 0: 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.forecast_skill(28, NULL)$$, '22023', NULL,
    'forecast_skill live_only NULL: 22023');
SELECT throws_ok($$INSERT INTO icu_predict.capacity_policy (forecast_log_retention_days) VALUES (-1)$$,
    '23514', NULL, 'a negative retention violates the policy CHECK');
SELECT is_empty('SELECT * FROM icu_predict.forecast_skill()', 'an empty log grades to no rows, not NaN');

-- ------------------------------------------------------------ calibration
SELECT has_function('icu_predict', 'bed_demand_widen', ARRAY['icu_predict.bed_demand', 'double precision']);
SELECT has_function('icu_predict', 'bed_demand_calibration_factor', ARRAY['double precision', 'double precision']);
SELECT is_empty($$
    SELECT p.proname FROM pg_proc p
     WHERE p.pronamespace = 'icu_predict'::regnamespace
       AND p.proname IN ('bed_demand_widen', 'bed_demand_calibration_factor')
       AND NOT (p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's')$$,
    'the calibration functions are IMMUTABLE STRICT PARALLEL SAFE');
SELECT columns_are('icu_predict', 'capacity_forecast',
    ARRAY['unit', 'horizon_day', 'forecast_date', 'forecast_at', 'is_total', 'occupied_now',
          'expected_beds', 'p10_beds', 'p50_beds', 'p90_beds', 'p95_beds', 'staffed_beds',
          'surge_beds', 'prob_over_staffed', 'prob_over_surge', 'recommended_action',
          'action_reason', 'arrivals_per_day', 'icu_mean', 'icu_var', 'ward_mean', 'ward_var',
          'arrivals_mean', 'arrivals_var', 'arrivals_shape', 'inflow_growth_per_day', 'demand',
          'reference_time', 'refreshed_at', 'calibration_factor', 'calibration_forecasts',
          'calibration_effective_forecasts', 'calibration_status',
          'icu_shift_sd', 'ward_shift_sd', 'shift_forecasts', 'shift_status'],
    'capacity_forecast shows the calibration factor and what it rests on');
SELECT has_column('icu_predict', 'forecast_log', 'calibration_factor', 'the log keeps the calibration factor');
SELECT has_column('icu_predict', 'forecast_log', 'calibration_forecasts', 'the log keeps how many forecasts it rested on');
SELECT is((icu_predict.capacity_settings()).calibration_window_days, 112, 'the calibration window defaults to 112 days');
SELECT is((icu_predict.capacity_settings()).calibration_min_forecasts, 14, 'cold start below 14 graded forecasts by default');
SELECT throws_ok($$SELECT icu_predict.bed_demand_widen(icu_predict.bed_demand_poisson(1), 0)$$,
    '22023', NULL, 'widening factor 0: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_widen(icu_predict.bed_demand_poisson(1), 'NaN')$$,
    '22023', NULL, 'widening factor NaN: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_widen(icu_predict.bed_demand_poisson(1), 101)$$,
    '22023', NULL, 'widening factor above 100: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_calibration_factor(-1, 4)$$,
    '22023', NULL, 'a negative mean squared error: 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_calibration_factor(1, 'Infinity')$$,
    '22023', NULL, 'an infinite number of forecasts: 22023');
SELECT throws_ok($$INSERT INTO icu_predict.capacity_policy (calibration_window_days) VALUES (3)$$,
    '23514', NULL, 'a calibration window under 7 days violates the policy CHECK');
SELECT throws_ok($$INSERT INTO icu_predict.capacity_policy (calibration_min_forecasts) VALUES (0)$$,
    '23514', NULL, 'a minimum of 0 forecasts violates the policy CHECK');
SELECT ok(abs(icu_predict.bed_demand_mean(icu_predict.bed_demand_widen(icu_predict.bed_demand_poisson(100), 1.5))
              - 100) < 1e-6, 'widening keeps the mean when no mass reaches 0');
SELECT ok(icu_predict.bed_demand_variance(icu_predict.bed_demand_widen(icu_predict.bed_demand_poisson(100), 1.5))
          BETWEEN 225 - 1e-6 AND 225.25,
    'widening by 1.5 multiplies the variance by 2.25, plus at most 1/4 for the split');

-- ------------------------------------------------------------ a non-owner refresh writes the log
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (951, 'tapf-1', '2020-04-01 10:00+00', 70);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (951, 'TAPF-IC', 'icu', 'none', '2020-04-01 10:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('TAPF-IC', '2020-01-01', 3, 4);
CREATE ROLE tapf_cron LOGIN IN ROLE icu_refresher;
CREATE ROLE tapf_bi LOGIN IN ROLE icu_bi_reader;

SET LOCAL icu_predict.reference_time = '2020-04-03 08:00+00';
SET LOCAL ROLE tapf_cron;
SELECT lives_ok('CALL icu_predict.refresh()', 'icu_refresher runs refresh()');
SELECT throws_ok('SELECT * FROM icu_predict.forecast_log', '42501', NULL,
    'but cannot read forecast_log');
RESET ROLE;
SELECT results_eq($$
    SELECT count(*)::integer, bool_and(f.is_replay), bool_and(f.of_record), bool_and(l.run_by = session_user::text COLLATE "default")
      FROM icu_predict.forecast_log f JOIN icu_predict.refresh_log l USING (run_id)$$,
    $$VALUES (30, true, true, true)$$,
    'the run logged 15 days x (unit + total), as a replay of record, under its refresh_log run_id, run_by the session user');
SELECT is((SELECT census_now FROM icu_predict.forecast_log WHERE unit = 'TAPF-IC' AND horizon_day = 0),
    1, 'persistence is the census at the reference time');
SELECT throws_ok($$UPDATE icu_predict.forecast_log SET expected_beds = 0$$, '55000', NULL,
    'forecast_log is append-only: UPDATE raises 55000');

-- graded a day later, from the replay rows
SET LOCAL icu_predict.reference_time = '2020-04-04 08:00+00';
SELECT results_eq($$
    SELECT unit, horizon_day, realised FROM icu_predict.forecast_grade ORDER BY is_total, horizon_day$$,
    $$VALUES ('TAPF-IC'::text, 0, 1), ('TAPF-IC', 1, 1), ('All ICU units', 0, 1), ('All ICU units', 1, 1)$$,
    'forecast_grade grades the forecasts whose moment has passed');

-- ------------------------------------------------------------ the BI role
SET LOCAL ROLE tapf_bi;
SELECT throws_ok('SELECT * FROM icu_predict.forecast_log', '42501', NULL,
    'BI reader cannot read forecast_log');
SELECT throws_ok('SELECT * FROM icu_predict.forecast_grade', '42501', NULL,
    'BI reader cannot read forecast_grade');
SELECT lives_ok('SELECT * FROM icu_bi.forecast_quality', 'BI reader reads icu_bi.forecast_quality');
SELECT is((SELECT count(*)::integer FROM icu_bi.forecast_quality), 0,
    'forecast_quality shows live forecasts only: none here (all were replays)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
