-- The ward filter cannot be seen through (issue 17, item 1).  As a login
-- mapped only to ward LEAK-A, nothing of ward LEAK-B may come out: not its
-- rows, not a row count of EXPLAIN ANALYZE, not a planner estimate, not a
-- value handed to a LEAKPROOF function.  Under a security_barrier view each
-- probe below answered (the inner scan's "rows=1" told whether a hidden
-- patient's risk exceeded a bound); through the SECURITY DEFINER functions
-- every qual runs on the filtered rows.
BEGIN;
SELECT plan(15);

SET LOCAL timezone = 'UTC';
SET LOCAL icu_predict.reference_time = '2020-04-03 08:00+00';

INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (951, 'leak-a', '2020-04-02 10:00+00', 60),
    (952, 'leak-b', '2020-04-02 10:00+00', 70);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at) VALUES
    (951, 'LEAK-A', 'ward', 'none', '2020-04-02 10:00+00'),
    (952, 'LEAK-B', 'ward', 'none', '2020-04-02 10:00+00');
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('LEAK-CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (951, 'LEAK-CRP', 20, 'mg/L', '2020-04-02 12:00+00'),
    (952, 'LEAK-CRP', 250, 'mg/L', '2020-04-02 12:00+00');
CALL icu_predict.refresh();

CREATE ROLE tap_leak_a LOGIN IN ROLE icu_bi_reader;
INSERT INTO icu_predict.ward_access VALUES ('tap_leak_a', 'LEAK-A');

-- probes: the row counts of every plan node of EXPLAIN ANALYZE, the
-- estimates of plain EXPLAIN, and a LEAKPROOF function that records each
-- value it is shown (only a superuser may declare LEAKPROOF; the planner
-- then evaluates it below a security barrier)
CREATE FUNCTION pg_temp.plan_rows(q text, do_analyze boolean) RETURNS integer[]
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    out integer[] := '{}';
    m text[];
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (' || CASE WHEN do_analyze THEN 'ANALYZE, TIMING OFF, SUMMARY OFF, COSTS OFF'
                                            ELSE 'COSTS ON' END || ') ' || q LOOP
        FOR m IN SELECT regexp_matches(line, CASE WHEN do_analyze THEN 'actual rows=(\d+)' ELSE ' rows=(\d+)' END, 'g') LOOP
            out := out || m[1]::integer;
        END LOOP;
        IF do_analyze THEN
            FOR m IN SELECT regexp_matches(line, 'Rows Removed by Filter: (\d+)', 'g') LOOP
                out := out || m[1]::integer;
            END LOOP;
        END IF;
    END LOOP;
    RETURN out;
END
$$;
CREATE FUNCTION pg_temp.plan_text(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
    out text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, COSTS OFF) ' || q LOOP
        out := out || line || E'\n';
    END LOOP;
    RETURN out;
END
$$;
CREATE TEMP TABLE seen (admission_id bigint, risk float8);
GRANT ALL ON seen TO PUBLIC;
CREATE FUNCTION pg_temp.peek(a bigint, r float8) RETURNS boolean
LANGUAGE plpgsql LEAKPROOF COST 0.0000001 AS $$
BEGIN
    INSERT INTO pg_temp.seen VALUES (a, r);
    RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.plan_rows(text, boolean), pg_temp.plan_text(text),
                          pg_temp.peek(bigint, float8) TO PUBLIC;

SET LOCAL SESSION AUTHORIZATION tap_leak_a;

SELECT results_eq($$SELECT DISTINCT admission_id FROM icu_bi.patient_status$$,
    $$VALUES (951::bigint)$$, 'the LEAK-A login sees its own patient only');

-- Each probe on hidden data must give exactly the plan (row counts, rows
-- removed by filters, estimates) of the same probe on data that does not
-- exist; a control shows the probe does see the login's own rows.
-- 1. the bisection of the issue: a hidden patient's risk against a bound
SELECT is(pg_temp.plan_rows('SELECT 1 FROM icu_bi.patient_status WHERE admission_id = 952 AND is_today AND icu_risk > 0.01', true),
          pg_temp.plan_rows('SELECT 1 FROM icu_bi.patient_status WHERE admission_id = -1 AND is_today AND icu_risk > 0.01', true),
    'EXPLAIN ANALYZE of a risk probe on a hidden patient equals that on no patient');
SELECT is(pg_temp.plan_rows('SELECT 1 FROM icu_bi.patient_status WHERE admission_id = 952 AND is_today AND icu_risk > 0.99', true),
          pg_temp.plan_rows('SELECT 1 FROM icu_bi.patient_status WHERE admission_id = -1 AND is_today AND icu_risk > 0.99', true),
    '... whatever the bound');
SELECT isnt(pg_temp.plan_rows('SELECT 1 FROM icu_bi.patient_status WHERE admission_id = 951 AND is_today AND icu_risk > 0', true),
            pg_temp.plan_rows('SELECT 1 FROM icu_bi.patient_status WHERE admission_id = -1 AND is_today AND icu_risk > 0', true),
    'control: the same probe on the login''s own patient does count its row');
-- 2. another ward's census
SELECT is(pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_status WHERE ward = 'LEAK-B'$q$, true),
          pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_status WHERE ward = 'NO-SUCH-WARD'$q$, true),
    'EXPLAIN ANALYZE on another ward equals that on a ward that does not exist');
SELECT is(pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_labs WHERE ward = 'LEAK-B' AND last_value > 100$q$, true),
          pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_labs WHERE ward = 'NO-SUCH-WARD' AND last_value > 100$q$, true),
    'likewise on patient_labs');
SELECT is(pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_reasons WHERE ward = 'LEAK-B' AND contribution > 0$q$, true),
          pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_reasons WHERE ward = 'NO-SUCH-WARD' AND contribution > 0$q$, true),
    'likewise on patient_reasons');
SELECT is(pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_risk WHERE ward = 'LEAK-B' AND risk > 0$q$, true),
          pg_temp.plan_rows($q$SELECT 1 FROM icu_bi.patient_risk WHERE ward = 'NO-SUCH-WARD' AND risk > 0$q$, true),
    'likewise on patient_risk (every outcome, long form)');
SELECT unalike(pg_temp.plan_text($q$SELECT 1 FROM icu_bi.patient_status WHERE ward = 'LEAK-B'$q$),
    '%patient_status%', 'the plan shows no scan of the materialized view, only the filter function');
-- 3. estimates do not come from the hidden rows
SELECT is(pg_temp.plan_rows($q$SELECT * FROM icu_bi.patient_status WHERE ward = 'LEAK-B'$q$, false),
          pg_temp.plan_rows($q$SELECT * FROM icu_bi.patient_status WHERE ward = 'NO-SUCH-WARD'$q$, false),
    'plain EXPLAIN: the estimate for another ward equals the one for a ward that does not exist');
SELECT is(pg_temp.plan_rows('SELECT * FROM icu_bi.patient_status WHERE admission_id = 952 AND icu_risk > 0.45', false),
          pg_temp.plan_rows('SELECT * FROM icu_bi.patient_status WHERE admission_id = -1 AND icu_risk > 0.45', false),
    '... and for a hidden patient the one for no patient');
-- 4. leakproof functions see filtered rows only
SELECT is((SELECT count(*)::integer FROM icu_bi.patient_status WHERE pg_temp.peek(admission_id, icu_risk)), 2,
    'a LEAKPROOF function in the WHERE clause of patient_status gets the login''s two rows');
SELECT is((SELECT count(*)::integer FROM icu_bi.patient_labs l WHERE pg_temp.peek(l.admission_id, l.last_value)), 2,
    'and in patient_labs the login''s two CRP rows');
SELECT is_empty($$SELECT * FROM pg_temp.seen WHERE admission_id IS DISTINCT FROM 951$$,
    'it was never shown a hidden patient''s id or value');
RESET SESSION AUTHORIZATION;

SELECT is((SELECT count(*)::integer FROM icu_predict.patient_status WHERE admission_id = 952), 2,
    'control: the hidden patient has two rows in the materialized view');

SELECT * FROM finish();
ROLLBACK;
