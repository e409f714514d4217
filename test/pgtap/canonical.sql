-- Contract of canonicalisation: UCUM functions, the catalogue's bookkeeping
-- of shipped rows, lab_map and specimen checks, the catalogue limit, and the
-- SQLSTATE of each refusal.
BEGIN;
SELECT plan(44);

SET LOCAL search_path = icu_predict, public;

-- ---------------------------------------------------------------- objects
SELECT has_function('icu_predict', 'unit_ucum', ARRAY['text']);
SELECT has_function('icu_predict', 'unit_factor', ARRAY['text', 'text', 'double precision']);
SELECT has_function('icu_predict', 'unit_offset', ARRAY['text', 'text', 'double precision']);
SELECT has_function('icu_predict', 'unit_convert', ARRAY['double precision', 'text', 'text', 'double precision']);
SELECT has_function('icu_predict', 'unit_conversion_problem', ARRAY['text', 'text', 'double precision']);
SELECT has_function('icu_predict', 'unit_spellings', ARRAY[]::text[]);
SELECT has_function('icu_predict', 'lab_text_value', ARRAY['text']);
SELECT has_function('icu_predict', 'lab_text_censoring', ARRAY['text']);
SELECT has_function('icu_predict', 'canonical_value', ARRAY['double precision', 'double precision', 'double precision']);
SELECT has_view('icu_predict', 'lab_row_status', 'view lab_row_status exists');
SELECT has_view('icu_predict', 'lab_load_quality', 'view lab_load_quality exists');
SELECT has_view('icu_predict', 'lab_code_feature', 'view lab_code_feature exists');
SELECT has_table('icu_predict', 'lab_rejection_reason', 'the one list of rejection reasons');
SELECT has_table('icu_predict', 'feature_removed', 'deleted shipped features are recorded');
SELECT set_eq($$SELECT reason FROM lab_rejection_reason$$,
    ARRAY['non_finite_time', 'code_unknown', 'specimen_mismatch', 'unit_not_convertible', 'not_numeric',
          'out_of_range', 'implausible'], 'the rejection reasons');
SELECT is((SELECT e.extcondition[array_position(e.extconfig, 'icu_predict.feature_removed'::regclass)]
             FROM pg_extension e WHERE e.extname = 'icu_predict'), '', 'feature_removed is dumped');
SELECT is(feature_catalogue_max(), 1000, 'the catalogue limit is 1000');
SELECT is(ARRAY(SELECT name FROM feature WHERE builtin AND loinc IS NULL ORDER BY name), ARRAY['il2r'],
    'every shipped feature has a LOINC code, except sIL-2R (U/mL; its LOINC code is a mass concentration)');
SELECT volatility_is('icu_predict', 'unit_factor', ARRAY['text', 'text', 'double precision'], 'immutable');

-- ---------------------------------------------------------------- refusals
SELECT throws_ok($$SELECT unit_convert(1, 'mg/dL', 'mmol/L')$$, '22023', NULL,
    'mass to substance without molar mass: invalid_parameter_value');
SELECT throws_ok($$SELECT unit_convert(1, 'furlong', 'm')$$, '22023', NULL, 'unknown unit: 22023');
SELECT throws_ok($$SELECT unit_convert('Infinity', 'mg/dL', 'mg/L')$$, '22023', NULL, 'infinite value: 22023');
SELECT throws_ok($$SELECT unit_convert(1e300, 'g/L', 'fg/L')$$, '22003', NULL, 'overflowing result: 22003');
SELECT throws_like($$SELECT unit_convert(1, 'mg/dL', 'mmol/L')$$, '%cannot convert from unit "mg/dL" to "mmol/L"%',
    'the message names both units');
SELECT is(canonical_value(5e-324, 1 / 88.4, 0), NULL, 'an underflowing conversion is NULL, not an error');
SELECT is(canonical_value(1e300, 1e12, 0), NULL, 'an overflowing conversion is NULL, not an error');

-- lab_map: a row without factor must convert; a specimen must fit the feature
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature) VALUES ('T-CRP', 'mmol/L', 'crp')$$,
    '22023', NULL, 'lab_map unit that does not convert and no factor: 22023');
SELECT lives_ok($$INSERT INTO lab_map (local_code, unit, feature, factor) VALUES ('T-CRP', 'mmol/L', 'crp', 2)$$,
    'the same row with a factor (an override) goes in');
SELECT lives_ok($$INSERT INTO lab_map (local_code, unit, feature) VALUES ('T-CREA', 'umol/L', 'creatinine')$$,
    'umol/L to creatinine mg/dL converts through its molar mass');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature, specimen) VALUES ('T-WBC', '10*9/L', 'leukocytes', 'urine')$$,
    '22023', NULL, 'a urine mapping to a blood feature: 22023');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature, specimen) VALUES ('T-WBC', '10*9/L', 'leukocytes', 'bile')$$,
    '23514', NULL, 'unknown specimen in lab_map: check_violation');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature, "offset") VALUES ('T-TMP', 'Cel', 'temperature', 1)$$,
    '23514', NULL, 'an offset without factor: check_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at, specimen) VALUES (1, 'X', 1, '2020-01-01', 'bile')$$,
    '23514', NULL, 'unknown specimen in lab_result: check_violation');

-- feature: unit, builtin, the limit
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max) VALUES ('t_bad', 'x', 'furlong', 0, 1)$$,
    '22023', NULL, 'a feature unit that is not UCUM: 22023');
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max, builtin) VALUES ('t_b', 'x', 'mg/L', 0, 1, true)$$,
    '42501', NULL, 'users cannot add builtin rows');
SELECT throws_ok($$UPDATE feature SET molar_mass = NULL WHERE name = 'creatinine'$$,
    '22023', NULL, 'a change that leaves a UCUM-converted mapping unconvertible: 22023');
SELECT is((SELECT display_name FROM feature WHERE name = 'haemoglobin'), 'Haemoglobin', 'display name');
SELECT lives_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max) VALUES ('t_score', 'A local score', '{score}', 0, 10)$$,
    'a user feature without display columns goes in');
SELECT is((SELECT display_name || ' / ' || display_unit FROM feature WHERE name = 't_score'), 'A local score / {score}',
    'display name and unit default to description and unit');

-- shipped rows kept apart: an edit, a rename, a delete are marked for pg_dump
UPDATE feature SET plausible_max = 2000 WHERE name = 'crp';
SELECT is((SELECT (builtin, replaces) FROM feature WHERE name = 'crp'), (false, 'crp'::text),
    'an edited shipped row is no longer builtin and says what it replaces');
UPDATE feature SET name = 'sodium_serum' WHERE name = 'sodium';
SELECT is((SELECT (builtin, replaces) FROM feature WHERE name = 'sodium_serum'), (false, 'sodium'::text),
    'a renamed shipped row keeps its shipped name in replaces');
DELETE FROM feature WHERE name = 'esr';
SELECT ok(EXISTS (SELECT 1 FROM feature_removed WHERE name = 'esr'), 'a deleted shipped row leaves its name');
-- what pg_restore does: the dumped row takes the shipped row's place
DELETE FROM feature WHERE name = 'sodium_serum';
INSERT INTO feature (name, description, unit, plausible_min, plausible_max, display_name, display_unit, replaces)
VALUES ('sodium_local', 'Sodium (local)', 'mmol/L', 100, 180, 'Na', 'mmol/L', 'cystatin_c');
SELECT is((SELECT count(*)::int FROM feature WHERE name IN ('cystatin_c', 'sodium_local')), 1,
    'an inserted row with replaces takes the place of that shipped row');

-- the catalogue limit, at insert
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max)
                   SELECT 't_' || i, 'filler', '1', 0, 1 FROM generate_series(1, 1000) i$$,
    '54000', NULL, 'more than 1000 features: program_limit_exceeded');

SELECT * FROM finish();
ROLLBACK;
