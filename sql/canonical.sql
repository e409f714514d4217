-- Canonicalisation at load: the catalogue, specimens, censored values, and
-- every rejection reason, counted so that rows in = rows used + rows rejected.
SET TimeZone = 'UTC';
SET search_path = icu_predict, public;
SET extra_float_digits = 0;

-- the catalogue: at least 60 features, each with a UCUM unit that parses,
-- a display name and unit; the 0.1.0 names all there
SELECT count(*) >= 60 AS at_least_60, count(*) FILTER (WHERE unit_ucum(unit) IS NULL) AS unit_unreadable,
       count(*) FILTER (WHERE display_name = '' ) AS no_display_name,
       count(*) FILTER (WHERE loinc IS NULL) AS without_loinc,
       count(*) FILTER (WHERE specimen IS NULL) AS vital_signs_and_settings
  FROM feature WHERE builtin;
SELECT array_agg(name ORDER BY name) FILTER (WHERE NOT builtin) AS not_shipped,
       count(*) FILTER (WHERE name IN ('crp', 'ldh', 'd_dimer', 'ferritin', 'lymphocytes', 'lymphocytes_pct',
            'neutrophils', 'platelets', 'creatinine', 'urea', 'procalcitonin', 'troponin_t', 'il6',
            'albumin', 'bilirubin', 'lactate', 'pao2', 'pf_ratio', 'leukocytes')) AS shipped_in_0_1_0
  FROM feature;
SELECT name, unit, display_name, display_unit, molar_mass, specimen FROM feature
 WHERE name IN ('creatinine', 'haemoglobin', 'heart_rate', 'temperature', 'gcs', 'inr', 'urine_leukocytes',
                'd_dimer', 'd_dimer_ddu', 'sodium', 'il6', 'spo2')
 ORDER BY name;
-- every shipped molar mass lets its feature's mass and substance units convert
SELECT name FROM feature
 WHERE molar_mass IS NOT NULL
   AND unit_factor(CASE WHEN unit LIKE '%mol/L' THEN 'mg/dL' ELSE 'mmol/L' END, unit, molar_mass) IS NULL;
-- every shipped feature has a LOINC code but sIL-2R (reported in U/mL; its
-- LOINC code is a mass concentration, see the feature's comment)
SELECT name AS shipped_without_loinc FROM feature WHERE builtin AND loinc IS NULL ORDER BY name;
SELECT name, loinc FROM feature WHERE name IN ('il8', 'il10', 'tnf_alpha') ORDER BY name;
-- no LOINC code names two features
SELECT code, count(*) FROM feature, unnest(other_loinc || loinc) code
 WHERE code IS NOT NULL GROUP BY code HAVING count(*) > 1;

-- a cohort of rows, one or more per reason
INSERT INTO admission (admission_id, patient_id, admitted_at, discharged_at, age_years) VALUES
    (9301, 'can-1', '2020-04-01 08:00+00', NULL, 60),
    (9302, 'can-2', '2020-04-01 08:00+00', NULL, 70);
INSERT INTO lab_map (local_code, unit, feature, factor, note) VALUES
    ('CAN-CREA', 'umol/L', 'creatinine', NULL, 'UCUM converts'),
    ('CAN-CRP',  'mg/L',   'crp',        NULL, 'UCUM converts'),
    ('CAN-BUN',  'mg/dL',  'urea',       0.357, 'urea nitrogen: an override'),
    ('CAN-BIG',  'mg/L',   'crp',        1e12,  'an absurd factor'),
    ('CAN-WBC',  '10^9/L', 'leukocytes', NULL, 'blood count, any specimen'),
    ('CAN-TEMP', '[degF]', 'temperature', NULL, 'UCUM converts with an offset'),
    ('CAN-LYM',  '%',      'lymphocytes_pct', NULL, 'one code, two features'),
    ('CAN-LYM',  '10^9/L', 'lymphocytes', NULL, 'one code, two features');
INSERT INTO lab_map (local_code, unit, feature, specimen, note) VALUES
    ('CAN-WBC',  '/HPF',   'urine_leukocytes', 'urine', 'urine sediment'),
    ('CAN-UALB', 'mg/L',   'albumin', 'serum', 'albumin, only for serum');
INSERT INTO lab_result (admission_id, local_code, value, value_text, unit, specimen, resulted_at) VALUES
    -- used: UCUM from a mapped unit, a spelling variant, another unit of a mapped code, a LOINC code
    (9301, 'CAN-CREA', 88.4,  NULL,        'umol/L', NULL,    '2020-04-02 06:00+00'),
    (9301, 'CAN-CREA', 88.4,  NULL,        'UMOL/L', 'serum', '2020-04-02 07:00+00'),
    (9301, 'CAN-CREA', 1.1,   NULL,        'mg/dL',  NULL,    '2020-04-02 08:00+00'),
    (9301, 'CAN-CRP',  5,     NULL,        'mg/dL',  NULL,    '2020-04-02 06:00+00'),
    (9301, 'CAN-BUN',  14,    NULL,        'mg/dL',  NULL,    '2020-04-02 06:00+00'),
    (9301, '2951-2',   140,   NULL,        'mEq/L',  'plasma','2020-04-02 06:00+00'),
    (9301, 'CAN-TEMP', 101.3, NULL,        '[degF]', NULL,    '2020-04-02 06:00+00'),
    (9301, 'CAN-LYM',  22,    NULL,        '%',      NULL,    '2020-04-02 06:00+00'),
    -- censored results: used at their bound, flagged
    (9301, 'CAN-CRP',  NULL,  '<5',        'mg/L',   NULL,    '2020-04-02 09:00+00'),
    (9301, 'CAN-CRP',  NULL,  '> 300',     'mg/L',   NULL,    '2020-04-02 10:00+00'),
    -- blood count in blood; a urine count under the same code goes to the urine feature
    (9301, 'CAN-WBC',  12.5,  NULL,        '10^9/L', 'blood', '2020-04-02 06:00+00'),
    (9301, 'CAN-WBC',  40,    NULL,        '/HPF',   'urine', '2020-04-02 06:00+00'),
    -- specimen_mismatch: a urine value under a blood feature; a code mapped only for serum
    (9301, 'CAN-WBC',  300,   NULL,        '10^9/L', 'urine', '2020-04-02 06:01+00'),
    (9301, 'CAN-UALB', 20,    NULL,        'mg/L',   'urine', '2020-04-02 06:00+00'),
    -- code_unknown
    (9301, 'CAN-XYZ',  3,     NULL,        'mmol/L', NULL,    '2020-04-02 06:00+00'),
    -- unit_not_convertible: mapped code, unit of another kind; no unit; a unit of a two-feature code
    (9301, 'CAN-CRP',  5,     NULL,        'mmol/L', NULL,    '2020-04-02 06:00+00'),
    (9301, 'CAN-CREA', 1.1,   NULL,        NULL,     NULL,    '2020-04-02 06:00+00'),
    (9301, 'CAN-LYM',  1.2,   NULL,        'K/uL',   NULL,    '2020-04-02 06:00+00'),
    -- not_numeric
    (9301, 'CAN-CRP',  NULL,  'HEMOLYZED', 'mg/L',   NULL,    '2020-04-02 06:00+00'),
    -- out_of_range (issue 17): underflow through creatinine, overflow through a factor of 1e12
    (9302, 'CAN-CREA', 5e-324, NULL,       'umol/L', NULL,    '2020-04-02 06:00+00'),
    (9302, 'CAN-BIG',  1e300, NULL,        'mg/L',   NULL,    '2020-04-02 06:00+00'),
    -- non_finite_time (issue 17): a feature's only value at -infinity
    (9302, 'CAN-TEMP', 99,    NULL,        '[degF]', NULL,    '-infinity'),
    -- implausible: a CRP of 1500 mg/L
    (9301, 'CAN-CRP',  1500,  NULL,        'mg/L',   NULL,    '2020-04-02 11:00+00');

SELECT local_code, local_unit, specimen, feature, round(value::numeric, 4) AS value, censored, rejection
  FROM lab_row_status WHERE admission_id IN (9301, 9302)
 ORDER BY rejection NULLS FIRST, lab_result_id;
SELECT reason, local_code, detail FROM lab_unmapped
 WHERE local_code LIKE 'CAN-%' ORDER BY reason, local_code, detail;

-- the invariant, over the load and per feature and per code: rows in = used + rejected
SELECT (SELECT count(*) FROM lab_result WHERE admission_id IN (9301, 9302)) AS rows_in,
       count(*) FILTER (WHERE status = 'used') AS used,
       count(*) FILTER (WHERE status <> 'used') AS rejected,
       string_agg(DISTINCT status, ', ' ORDER BY status) AS statuses
  FROM (SELECT status, generate_series(1, n_rows::int) FROM lab_load_quality
         WHERE local_code LIKE 'CAN-%' OR local_code = '2951-2') q;
SELECT coalesce(q.feature, '(none)') AS feature, q.n AS rows_counted, r.n AS rows_in, q.n = r.n AS adds_up
  FROM (SELECT feature, sum(n_rows) AS n FROM lab_load_quality
         WHERE local_code LIKE 'CAN-%' OR local_code = '2951-2' GROUP BY feature) q
  JOIN (SELECT s.feature, count(*) AS n FROM lab_result l JOIN lab_row_status s USING (lab_result_id)
         WHERE l.admission_id IN (9301, 9302) GROUP BY s.feature) r
    ON r.feature IS NOT DISTINCT FROM q.feature
 ORDER BY 1;
SELECT count(*) AS codes_not_adding_up FROM (
  SELECT l.local_code FROM lab_result l WHERE l.admission_id IN (9301, 9302) GROUP BY l.local_code
  HAVING count(*) <> (SELECT sum(n_rows) FROM lab_load_quality q WHERE q.local_code = l.local_code)) x;
SELECT count(*) = (SELECT count(*) FROM lab_result) AS one_status_row_per_lab_row FROM lab_row_status;
-- every reason used is in the one list
SELECT DISTINCT rejection FROM lab_row_status
 WHERE rejection IS NOT NULL AND rejection NOT IN (SELECT reason FROM lab_rejection_reason);
SELECT reason, sort_order FROM lab_rejection_reason ORDER BY sort_order;

-- lab_canonical holds the used and the implausible rows; the panel counts the latter
SELECT feature, count(*) AS n, count(*) FILTER (WHERE censored IS NOT NULL) AS censored
  FROM lab_canonical WHERE admission_id IN (9301, 9302) GROUP BY feature ORDER BY feature;
SELECT lab_value(p, 'crp', 'count') AS crp_count, lab_value(p, 'crp', 'rejected') AS crp_rejected,
       lab_value(p, 'crp', 'max') AS crp_max, lab_value(p, 'leukocytes', 'max') AS wbc_max,
       round(lab_value(p, 'temperature', 'last')::numeric, 4) AS temp_cel
  FROM (SELECT lab_panel_at(9301, '2020-04-03 00:00+00') AS p) s;
-- issue 17: the rows that used to fail a panel or the refresh are counted, not fatal
SELECT lab_features(lab_panel_at(9302, '2020-04-03 00:00+00')) AS features_9302;
SET icu_predict.reference_time = '2020-04-03 00:00+00';
CALL refresh();
SELECT succeeded FROM refresh_log ORDER BY run_id DESC LIMIT 1;

-- clean up (the refreshes' log rows too: later tests list the logs)
DELETE FROM admission WHERE admission_id IN (9301, 9302);
DELETE FROM lab_map WHERE local_code LIKE 'CAN-%';
CALL refresh();
RESET icu_predict.reference_time;
DELETE FROM forecast_log;
DELETE FROM refresh_log;
