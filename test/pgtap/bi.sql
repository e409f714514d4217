-- Contract of the Power BI schema and of refresh(): roles, privileges, the
-- ward filter, BI-safe column types, comments, and a non-owner refresh.
BEGIN;
SELECT plan(37);

SET LOCAL timezone = 'UTC';
SET LOCAL icu_predict.reference_time = '2020-04-03 08:00+00';

-- ------------------------------------------------------------ objects
SELECT has_schema('icu_bi');
SELECT has_role('icu_bi_reader');
SELECT has_role('icu_refresher');
SELECT views_are('icu_bi', ARRAY['patient_status', 'capacity_forecast', 'refresh_status', 'forecast_quality',
                                 'patient_labs', 'patient_reasons', 'ward_access', 'patient_risk'],
    'icu_bi holds plain views only');
SELECT materialized_views_are('icu_predict', ARRAY['patient_status', 'capacity_forecast'],
    'the two materialized views exist');
SELECT has_index('icu_predict', 'patient_status', 'patient_status_key', 'patient_status has its unique key');
SELECT index_is_unique('icu_predict', 'patient_status', 'patient_status_key');
SELECT index_is_unique('icu_predict', 'capacity_forecast', 'capacity_forecast_key');

SELECT is_empty($$
    SELECT c.table_name || '.' || c.column_name || ' ' || c.data_type
      FROM information_schema.columns c
     WHERE c.table_schema = 'icu_bi'
       AND c.data_type NOT IN ('double precision', 'integer', 'bigint', 'text', 'boolean',
                               'date', 'timestamp with time zone')$$,
    'icu_bi columns use BI-safe types only');
SELECT is_empty($$
    SELECT c.relname || '.' || a.attname
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.relnamespace = 'icu_bi'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
       AND coalesce(col_description(c.oid, a.attnum), '') = ''$$,
    'every icu_bi column has a comment');
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'icu_bi'::regnamespace
       AND coalesce(obj_description(c.oid, 'pg_class'), '') = ''$$,
    'every icu_bi view has a comment');

SELECT ok(pg_extension_config_dump_registered, 'ward_access is dumped')
  FROM (SELECT 'icu_predict.ward_access'::regclass = ANY (e.extconfig) AS pg_extension_config_dump_registered
          FROM pg_extension e WHERE e.extname = 'icu_predict') x;
SELECT ok('icu_predict.refresh_log'::regclass = ANY (e.extconfig), 'refresh_log is dumped')
  FROM pg_extension e WHERE e.extname = 'icu_predict';

SELECT ok((SELECT prosecdef FROM pg_proc WHERE oid = 'icu_predict.refresh'::regproc),
    'refresh() is SECURITY DEFINER');
SELECT ok((SELECT proconfig FROM pg_proc WHERE oid = 'icu_predict.refresh'::regproc)
          = ARRAY['search_path=pg_catalog, pg_temp'],
    'refresh() pins search_path to pg_catalog, pg_temp');

-- ------------------------------------------------------------ a small hospital
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (901, 'tap-1', '2020-04-01 10:00+00', 70),
    (902, 'tap-2', '2020-04-02 10:00+00', 60),
    (903, 'tap-3', '2020-04-02 11:00+00', 50);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (901, 'TAP-W1', 'ward', 'droplet', '2020-04-01 10:00+00', '2020-04-02 12:00+00'),
    (901, 'TAP-IC', 'icu',  'strict',  '2020-04-02 12:00+00', NULL),
    (902, 'TAP-W1', 'ward', 'none',    '2020-04-02 10:00+00', NULL),
    (903, 'TAP-W2', 'ward', 'contact', '2020-04-02 11:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('TAP-IC', '2020-01-01', 4, 6);
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('TAP-CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (902, 'TAP-CRP', 40, 'mg/L', '2020-04-02 12:00+00'),
    (903, 'TAP-CRP', 90, 'mg/L', '2020-04-02 13:00+00');

CREATE ROLE tap_ward_w1 LOGIN IN ROLE icu_bi_reader;
CREATE ROLE tap_team_w2 NOLOGIN;
CREATE ROLE tap_nurse_w2 LOGIN IN ROLE icu_bi_reader, tap_team_w2;
CREATE ROLE tap_cron LOGIN IN ROLE icu_refresher;
CREATE ROLE tap_nobody LOGIN;
INSERT INTO icu_predict.ward_access VALUES ('tap_ward_w1', 'TAP-W1'), ('tap_team_w2', 'TAP-W2');

-- ------------------------------------------------------------ refresh by a non-owner
SET LOCAL ROLE tap_nobody;
SELECT throws_ok('CALL icu_predict.refresh()', '42501', NULL,
    'a role without icu_refresher cannot run refresh()');
RESET ROLE;

SET LOCAL ROLE tap_cron;
SELECT lives_ok('CALL icu_predict.refresh()', 'icu_refresher runs refresh() (first run: plain)');
SELECT lives_ok('CALL icu_predict.refresh()', 'and again (concurrently)');
SELECT throws_ok('REFRESH MATERIALIZED VIEW icu_predict.patient_status', '42501', NULL,
    'but cannot refresh the view directly');
RESET ROLE;

SELECT results_eq($$
    SELECT mode, succeeded, patient_status_rows, run_by, is_replay FROM icu_predict.refresh_log
     ORDER BY run_id$$,
    $$VALUES ('plain'::text, true, 7::bigint, session_user::text COLLATE "default", true),
             ('concurrently', true, 7::bigint, session_user::text COLLATE "default", true)$$,
    'both runs are logged: plain, then concurrently, with row counts, the session user (not the role set with SET ROLE) and as replays');

-- ------------------------------------------------------------ the BI role
-- The ward filter reads the session's login (SESSION_USER): SET SESSION
-- AUTHORIZATION stands for logging in as the ward's login.
SET LOCAL SESSION AUTHORIZATION tap_ward_w1;
SELECT throws_ok('SELECT * FROM icu_predict.admission', '42501', NULL,
    'BI reader cannot read admission');
SELECT throws_ok('SELECT * FROM icu_predict.lab_result', '42501', NULL,
    'BI reader cannot read lab_result');
SELECT throws_ok('SELECT * FROM icu_predict.location_stay', '42501', NULL,
    'BI reader cannot read location_stay');
SELECT throws_ok('SELECT * FROM icu_predict.patient_status', '42501', NULL,
    'BI reader cannot read the materialized view directly');
SELECT throws_ok('SELECT * FROM icu_predict.ward_patient_rows()', '42501', NULL,
    'BI reader cannot call the filter function directly (no USAGE on icu_predict)');
SELECT throws_ok('CALL icu_predict.refresh()', '42501', NULL,
    'BI reader cannot refresh');
SELECT results_eq($$SELECT admission_id, day_date, ward, patient_state FROM icu_bi.patient_status ORDER BY 1, 2$$,
    $$VALUES (901::bigint, '2020-04-01'::date, 'TAP-W1'::text, 'pre_icu'::text),
             (902, '2020-04-02', 'TAP-W1', 'pre_icu'), (902, '2020-04-03', 'TAP-W1', 'pre_icu')$$,
    'the W1 manager sees W1 rows only (901 only while it lay on W1)');
SELECT results_eq($$SELECT DISTINCT admission_id, feature FROM icu_bi.patient_labs ORDER BY 1$$,
    $$VALUES (902::bigint, 'crp'::text)$$,
    'patient_labs carries the same filter (903''s CRP on W2 is not shown)');
SELECT results_eq($$SELECT DISTINCT admission_id, day_date FROM icu_bi.patient_reasons ORDER BY 1, 2$$,
    $$VALUES (901::bigint, '2020-04-01'::date), (902, '2020-04-02'), (902, '2020-04-03')$$,
    'patient_reasons carries the same filter');
SELECT results_eq($$SELECT user_name, ward, all_wards FROM icu_bi.ward_access$$,
    $$VALUES ('tap_ward_w1'::text, 'TAP-W1'::text, false)$$,
    'a ward login sees only its own ward mapping');
SELECT is((SELECT count(*)::integer FROM icu_bi.capacity_forecast), 30,
    'capacity is visible to every BI reader (15 days x (unit + total))');
SELECT is((SELECT last_run_failed FROM icu_bi.refresh_status), false, 'refresh_status readable');
RESET SESSION AUTHORIZATION;

SET LOCAL ROLE tap_ward_w1;
SELECT is((SELECT count(*)::integer FROM icu_bi.patient_status), 5,
    'SET ROLE leaves SESSION_USER in charge of the filter (here the superuser, a member of tap_ward_w1 and tap_team_w2: W1 and W2 rows)');
RESET ROLE;

SET LOCAL SESSION AUTHORIZATION tap_nurse_w2;
SELECT results_eq($$SELECT DISTINCT ward FROM icu_bi.patient_status$$,
    $$VALUES ('TAP-W2'::text)$$,
    'membership through a group role maps the W2 nurse to W2');
RESET SESSION AUTHORIZATION;

GRANT icu_bi_reader TO tap_nobody;
SET LOCAL SESSION AUTHORIZATION tap_nobody;
SELECT is_empty('SELECT * FROM icu_bi.patient_status', 'a BI reader mapped to no ward sees no patients');
RESET SESSION AUTHORIZATION;

INSERT INTO icu_predict.ward_access VALUES ('tap_nobody', '*'), ('jan.jansen@hospital.example', 'TAP-W2');
SET LOCAL SESSION AUTHORIZATION tap_nobody;
SELECT is((SELECT count(*)::integer FROM icu_bi.patient_status), 7, 'ward ''*'' shows every ward');
SELECT results_eq($$SELECT user_name, is_database_login, ward, all_wards, granted_through FROM icu_bi.ward_access
                     WHERE user_name IN ('tap_ward_w1', 'tap_nurse_w2', 'jan.jansen@hospital.example')
                        OR (user_name = 'tap_nobody' AND ward LIKE 'TAP-%')
                     ORDER BY user_name, ward$$,
    $$VALUES ('jan.jansen@hospital.example'::text, false, 'TAP-W2'::text, false, 'jan.jansen@hospital.example'::text),
             ('tap_nobody', true, 'TAP-IC', true, 'tap_nobody'),
             ('tap_nobody', true, 'TAP-W1', true, 'tap_nobody'),
             ('tap_nobody', true, 'TAP-W2', true, 'tap_nobody'),
             ('tap_nurse_w2', true, 'TAP-W2', false, 'tap_team_w2'),
             ('tap_ward_w1', true, 'TAP-W1', false, 'tap_ward_w1')$$,
    'the all-wards login (the gateway''s) reads the whole mapping for Power BI RLS: group roles expanded to logins, ''*'' to every unit, a principal name passed on');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
