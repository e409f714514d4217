-- Reference scores (NEWS2, ISARIC 4C Mortality): rows scored by hand from the
-- published point tables (extension/sql/26_reference_scores.sql), and one
-- admission with vitals scored as of two times.  Cleans up after itself.
SET TimeZone = 'UTC';
SET extra_float_digits = 0;
SET client_min_messages = warning;
SET search_path = icu_predict, public;
BEGIN;

-- NEWS2: resp rate, SpO2, SBP, pulse, temperature, GCS -> expected points (by hand)
SELECT v.expected, s.score, s.score = v.expected AS ok, s.points, s.missing
  FROM (VALUES
        (16,   97, 120, 70,  37.0, 15,   0),   -- all normal
        (8,    91, 90,  40,  35.0, 14,  18),   -- the lowest band of each, not alert: 3 * 6
        (25,   92, 220, 131, 39.1, 15,  13),   -- 3 + 2 + 3 + 3 + 2
        (21,   94, 101, 111, 38.1, 15,   7),   -- 2 + 1 + 1 + 2 + 1
        (9,    95, 100, 41,  36.0, 15,   6),   -- 1 + 1 + 2 + 1 + 1
        (20.5, 93, 110, 91,  38.0, 15,   6),   -- 20.5 lies in 21-24: 2 + 2 + 1 + 1 + 0
        (12,   96, 111, 51,  36.1, 15,   0),   -- the lower bound of each normal band
        (20,   100, 219, 90, 38.0, 15,   0),   -- the upper bound of each normal band
        (NULL, NULL, NULL, 135, NULL, NULL, 3) -- missing components score 0 and are named
       ) AS v(rr, spo2, sbp, hr, temp, gcs, expected),
       LATERAL news2_points(v.rr, v.spo2, v.sbp, v.hr, v.temp, v.gcs) s;

-- ISARIC 4C: age, male, comorbidities, resp rate, SpO2, GCS, urea, CRP -> expected points (by hand)
SELECT v.expected, s.score, s.score = v.expected AS ok, s.points, s.missing
  FROM (VALUES
        (45,   false, 0,    18,   96,   15,   5.0,  20,   0),
        (50,   true,  1,    20,   91.9, 14,   7.0,  50,  11),   -- 2 + 1 + 1 + 1 + 2 + 2 + 1 + 1
        (79.9, true,  5,    30,   92,   15,   14.0, 99.9, 13),  -- 6 + 1 + 2 + 2 + 0 + 0 + 1 + 1
        (80,   false, 2,    29,   85,   3,    14.1, 100, 19),   -- 7 + 0 + 2 + 1 + 2 + 2 + 3 + 2
        (90,   true,  3,    35,   80,   8,    30,   200, 21),   -- the table's maximum
        (65,   NULL,  NULL, NULL, NULL, NULL, 20.0, NULL, 7)    -- missing -> 0: 4 + 3
       ) AS v(age, male, com, rr, spo2, gcs, urea, crp, expected),
       LATERAL isaric4c_points(v.age, v.male, v.com, v.rr, v.spo2, v.gcs, v.urea, v.crp) s;

-- errors: NaN and infinity are not missing values; a negative count
-- each error with its SQLSTATE
DO $$ BEGIN PERFORM * FROM news2_points('NaN', 97, 120, 70, 37, 15); EXCEPTION WHEN OTHERS THEN RAISE WARNING '% %', SQLSTATE, SQLERRM; END $$;
DO $$ BEGIN PERFORM * FROM isaric4c_points(60, true, 0, 18, 'Infinity', 15, 5, 20); EXCEPTION WHEN OTHERS THEN RAISE WARNING '% %', SQLSTATE, SQLERRM; END $$;
DO $$ BEGIN PERFORM * FROM isaric4c_points(60, true, -1, 18, 97, 15, 5, 20); EXCEPTION WHEN OTHERS THEN RAISE WARNING '% %', SQLSTATE, SQLERRM; END $$;

-- one admission with vitals, labs and diagnoses, scored from its rows as of two times
INSERT INTO admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (9301, 'ref-1', '2020-04-01 08:00+00', 72, 'male'),
    (9302, 'ref-2', '2020-04-01 08:00+00', 45, 'female');      -- no rows at all
INSERT INTO diagnosis (admission_id, icd10_code, diagnosed_at) VALUES
    (9301, 'I21.4', NULL),                     -- myocardial infarction
    (9301, 'E11.2', '2020-04-02 00:00+00');    -- diabetes with complication, known from day 2
INSERT INTO lab_map (local_code, unit, feature) VALUES
    ('REF-RR', '/min', 'resp_rate'), ('REF-SPO2', '%', 'spo2'), ('REF-SBP', 'mm[Hg]', 'sbp'),
    ('REF-HR', '/min', 'heart_rate'), ('REF-T', 'Cel', 'temperature'), ('REF-GCS', '{score}', 'gcs'),
    ('REF-UREA', 'mmol/L', 'urea'), ('REF-CRP', 'mg/L', 'crp');
INSERT INTO lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (9301, 'REF-RR',   18,   '/min',   '2020-04-01 09:00+00'),
    (9301, 'REF-SPO2', 95,   '%',      '2020-04-01 09:00+00'),
    (9301, 'REF-SBP',  118,  'mm[Hg]', '2020-04-01 09:00+00'),
    (9301, 'REF-HR',   96,   '/min',   '2020-04-01 09:00+00'),
    (9301, 'REF-T',    38.4, 'Cel',    '2020-04-01 09:00+00'),
    (9301, 'REF-UREA', 8.2,  'mmol/L', '2020-04-01 10:00+00'),
    -- day 2: worse
    (9301, 'REF-RR',   26,   '/min',   '2020-04-02 09:00+00'),
    (9301, 'REF-SPO2', 90,   '%',      '2020-04-02 09:00+00'),
    (9301, 'REF-SBP',  95,   'mm[Hg]', '2020-04-02 09:00+00'),
    (9301, 'REF-GCS',  14,   '{score}', '2020-04-02 09:00+00'),
    (9301, 'REF-CRP',  120,  'mg/L',   '2020-04-02 10:00+00');
-- day 1 at noon: NEWS2 = rr 18: 0, SpO2 95: 1, SBP 118: 0, HR 96: 1, T 38.4: 1, GCS missing = 3;
--   4C = age 72: 6, male: 1, one group: 1, rr 18: 0, SpO2 95: 0, urea 8.2: 1, GCS, CRP missing = 9
-- day 2 at noon: NEWS2 = rr 26: 3, SpO2 90: 3, SBP 95: 2, HR 96: 1, T 38.4: 1, GCS 14: 3 = 13;
--   4C = 6 + 1 + two groups: 2 + rr 26: 1 + SpO2 90: 2 + GCS 14: 2 + urea: 1 + CRP 120: 2 = 17
SELECT t.at, n.score AS news2, n.missing AS news2_missing, c.score AS isaric4c, c.missing AS isaric4c_missing
  FROM (VALUES ('2020-04-01 12:00+00'::timestamptz), ('2020-04-02 12:00+00')) AS t(at),
       LATERAL news2(9301, t.at) n, LATERAL isaric4c(9301, t.at) c
 ORDER BY t.at;
SELECT (isaric4c(9301, '2020-04-02 12:00+00')).points;
-- an admission with nothing recorded: every measured input missing, 4C from age and sex only
SELECT (news2(9302, '2020-04-02 00:00+00')).*, (isaric4c(9302, '2020-04-02 00:00+00')).*;

-- errors: an unknown admission, a time before the admission
-- each error with its SQLSTATE
DO $$ BEGIN PERFORM * FROM news2(9399, '2020-04-02 00:00+00'); EXCEPTION WHEN OTHERS THEN RAISE WARNING '% %', SQLSTATE, SQLERRM; END $$;
DO $$ BEGIN PERFORM * FROM isaric4c(9301, '2020-03-31 00:00+00'); EXCEPTION WHEN OTHERS THEN RAISE WARNING '% %', SQLSTATE, SQLERRM; END $$;
DO $$ BEGIN PERFORM * FROM news2(9301, NULL); EXCEPTION WHEN OTHERS THEN RAISE WARNING '% %', SQLSTATE, SQLERRM; END $$;
ROLLBACK;
