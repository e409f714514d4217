-- Contract of the canonical clinical schema: objects, constraints and the
-- SQLSTATE each constraint raises, and pg_dump registration.
BEGIN;
SELECT plan(104);

SET LOCAL search_path = icu_predict, public;

-- ---------------------------------------------------------------- objects
SELECT has_schema('icu_predict');
SELECT tables_are('icu_predict',
    ARRAY['admission', 'location_stay', 'lab_result', 'feature', 'lab_map', 'icu_capacity']
    || ARRAY(SELECT c.relname::text FROM pg_class c
              WHERE c.relnamespace = 'icu_predict'::regnamespace AND c.relkind = 'r'
                AND c.relname NOT IN ('admission', 'location_stay', 'lab_result',
                                      'feature', 'lab_map', 'icu_capacity')),
    'the canonical tables exist (other parts may add their own)');

SELECT columns_are('icu_predict', 'admission', ARRAY[
    'admission_id', 'patient_id', 'admitted_at', 'discharged_at', 'age_years', 'sex',
    'admission_source', 'died_in_hospital']);
SELECT columns_are('icu_predict', 'location_stay', ARRAY[
    'stay_id', 'admission_id', 'unit', 'unit_kind', 'isolation', 'started_at', 'ended_at']);
SELECT columns_are('icu_predict', 'lab_result', ARRAY[
    'lab_result_id', 'admission_id', 'local_code', 'value', 'value_text', 'unit',
    'sampled_at', 'resulted_at', 'specimen']);
SELECT columns_are('icu_predict', 'feature', ARRAY[
    'name', 'loinc', 'description', 'unit', 'plausible_min', 'plausible_max', 'builtin',
    'display_name', 'display_unit', 'molar_mass', 'other_loinc', 'specimen', 'replaces']);
SELECT columns_are('icu_predict', 'lab_map', ARRAY[
    'local_code', 'unit', 'unit_key', 'feature', 'factor', 'offset', 'note', 'specimen']);
SELECT columns_are('icu_predict', 'icu_capacity', ARRAY[
    'unit', 'valid_from', 'staffed_beds', 'surge_beds']);

SELECT col_type_is('icu_predict', 'admission', 'admitted_at', 'timestamp with time zone', 'admitted_at is timestamptz');
SELECT col_type_is('icu_predict', 'lab_result', 'resulted_at', 'timestamp with time zone', 'resulted_at is timestamptz');
SELECT col_type_is('icu_predict', 'lab_result', 'value', 'double precision', 'lab values are float8');
SELECT col_not_null('icu_predict', 'lab_result', 'resulted_at', 'a lab result needs its result time');
SELECT col_is_null('icu_predict', 'admission', 'discharged_at', 'discharged_at is NULL while admitted');
SELECT col_is_null('icu_predict', 'location_stay', 'ended_at', 'ended_at is NULL while there');

SELECT col_is_pk('icu_predict', 'admission', 'admission_id', 'admission key');
SELECT col_is_pk('icu_predict', 'location_stay', 'stay_id', 'location_stay key');
SELECT col_is_pk('icu_predict', 'lab_result', 'lab_result_id', 'lab_result key');
SELECT col_is_pk('icu_predict', 'feature', 'name', 'feature key');
SELECT col_is_pk('icu_predict', 'lab_map', ARRAY['local_code', 'unit_key', 'specimen'], 'lab_map key is (local_code, unit_key, specimen)');
SELECT col_is_pk('icu_predict', 'icu_capacity', ARRAY['unit', 'valid_from'], 'icu_capacity key is (unit, valid_from)');
SELECT fk_ok('icu_predict', 'location_stay', 'admission_id', 'icu_predict', 'admission', 'admission_id');
SELECT fk_ok('icu_predict', 'lab_result', 'admission_id', 'icu_predict', 'admission', 'admission_id');
SELECT fk_ok('icu_predict', 'lab_map', 'feature', 'icu_predict', 'feature', 'name');

SELECT has_check('icu_predict', 'admission', 'admission has CHECK constraints');
SELECT has_index('icu_predict', 'lab_result', 'lab_result_admission_time_idx',
                 ARRAY['admission_id', 'resulted_at'], 'labs by admission and result time');
SELECT has_index('icu_predict', 'location_stay', 'location_stay_open_idx', 'index on open stays');
SELECT has_index('icu_predict', 'admission', 'admission_open_idx', 'index on open admissions');
SELECT has_trigger('icu_predict', 'location_stay', 'location_stay_within_admission', 'stays are checked against their admission');
SELECT has_trigger('icu_predict', 'admission', 'admission_covers_stays', 'admission changes are checked against stays');

-- every table and column users see is documented
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'icu_predict'::regnamespace AND c.relkind = 'r'
              AND obj_description(c.oid, 'pg_class') IS NULL),
          0, 'every table has a COMMENT');
SELECT is((SELECT count(*)::int FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = 'icu_predict'::regnamespace AND c.relkind = 'r'
              AND a.attnum > 0 AND NOT a.attisdropped
              AND col_description(c.oid, a.attnum) IS NULL),
          0, 'every column has a COMMENT');

-- the catalogue is seeded with the COVID-relevant labs, with LOINC codes
SELECT cmp_ok((SELECT count(*)::int FROM feature WHERE builtin), '>=', 16,
              'at least 16 built-in features');
SELECT set_has($$SELECT name FROM feature$$,
    $$VALUES ('crp'), ('ldh'), ('d_dimer'), ('ferritin'), ('lymphocytes'), ('lymphocytes_pct'),
             ('neutrophils'), ('platelets'), ('creatinine'), ('urea'), ('procalcitonin'),
             ('troponin_t'), ('il6'), ('albumin'), ('bilirubin'), ('lactate'), ('pao2'),
             ('pf_ratio')$$,
    'the MISSION labs are in the catalogue');
SELECT is((SELECT loinc FROM feature WHERE name = 'crp'), '1988-5', 'CRP carries LOINC 1988-5');
SELECT is((SELECT loinc FROM feature WHERE name = 'd_dimer'), '48065-7', 'D-dimer is FEU (48065-7)');

-- ---------------------------------------------------------------- pg_dump registration
SELECT set_eq(
    $$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) AS t(oid)
        JOIN pg_class c ON c.oid = t.oid
       WHERE e.extname = 'icu_predict'
         AND c.relname IN ('admission', 'location_stay', 'lab_result', 'feature', 'lab_map',
                           'icu_capacity', 'location_stay_stay_id_seq',
                           'lab_result_lab_result_id_seq')$$,
    ARRAY['admission', 'location_stay', 'lab_result', 'feature', 'lab_map', 'icu_capacity',
          'location_stay_stay_id_seq', 'lab_result_lab_result_id_seq'],
    'every user-filled table and its sequence is registered with pg_extension_config_dump');
SELECT is((SELECT e.extcondition[array_position(e.extconfig, 'icu_predict.feature'::regclass)]
             FROM pg_extension e WHERE e.extname = 'icu_predict'),
          'WHERE NOT builtin', 'only user-added features are dumped');

-- ---------------------------------------------------------------- valid rows go in
SELECT lives_ok($$INSERT INTO admission VALUES
    (1, 'P1', '2026-03-01 08:00+00', '2026-03-10 12:00+00', 67, 'male', 'emergency', false),
    (2, 'P2', '2026-03-05 10:00+00', NULL, 54, 'female', 'emergency', NULL)$$,
    'valid admissions (one discharged, one open) go in');
SELECT lives_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (1, 'ED',  'ed',   'droplet', '2026-03-01 08:00+00', '2026-03-01 11:00+00'),
    (1, '4N',  'ward', 'droplet', '2026-03-01 11:00+00', '2026-03-03 02:00+00'),
    (1, 'IC1', 'icu',  'strict',  '2026-03-03 02:00+00', '2026-03-08 09:00+00'),
    (1, '4N',  'ward', 'droplet', '2026-03-08 09:00+00', '2026-03-10 12:00+00'),
    (2, '5Z',  'ward', 'none',    '2026-03-05 10:00+00', NULL)$$,
    'back-to-back stays and an open stay in an open admission go in');
SELECT lives_ok($$INSERT INTO lab_result (admission_id, local_code, value, value_text, unit, sampled_at, resulted_at) VALUES
    (1, 'CRP', 85, '85', 'mg/L', '2026-03-01 08:30+00', '2026-03-01 09:30+00'),
    (1, 'DDIM', NULL, '<0.1', 'mg/L', '2026-03-01 08:30+00', '2026-03-01 09:30+00'),
    (2, 'CREA', 1.1, NULL, 'mg/dL', NULL, '2026-03-05 11:00+00')$$,
    'valid lab results (numeric, text-only, without sample time) go in');
SELECT lives_ok($$INSERT INTO icu_capacity VALUES ('IC1', '2026-01-01', 12, 18)$$,
    'a capacity row goes in');
SELECT lives_ok($$INSERT INTO lab_map (local_code, unit, feature, factor) VALUES ('CRP', 'mg/dL', 'crp', 10)$$,
    'a lab_map row goes in');
SELECT is((SELECT unit_key FROM lab_map WHERE local_code = 'CRP'), 'mg/dl', 'unit_key is normalised');
SELECT is(unit_key(' MG / L'), unit_key('mg/l'), 'unit spelling variants share one key');
SELECT is(unit_key('µmol/L'), unit_key('umol/l'), 'the micro sign folds to u');
SELECT is(unit_key(NULL), '', 'no unit is the empty key');
SELECT is(unit_key(' MG / L'), 'mg/l', 'the key is lower case without spaces');
SELECT is(unit_key('μmol/L'), 'umol/l', 'Greek small mu folds to u');
SELECT is(unit_key('ΜMOL/L'), 'umol/l', 'Greek capital mu folds to u');
SELECT is(unit_key('10^9/L'), '10^9/l', 'digits and symbols are kept');
SELECT is(unit_key('°C'), '°c', 'other non-ASCII characters are kept');
SELECT is(unit_key(''), '', 'the empty unit is the empty key');
SELECT is(unit_key('µ'), 'u', 'a micro sign at the end folds');

-- ---------------------------------------------------------------- each constraint rejects its bad row
-- admission
SELECT throws_ok($$INSERT INTO admission VALUES (1, 'P9', '2026-03-01', NULL, 50, 'male', 'emergency', NULL)$$,
    '23505', NULL, 'duplicate admission_id: unique_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, NULL, '2026-03-01', NULL, 50, 'male', 'emergency', NULL)$$,
    '23502', NULL, 'missing patient_id: not_null_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, '', '2026-03-01', NULL, 50, 'male', 'emergency', NULL)$$,
    '23514', NULL, 'empty patient_id: check_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', NULL, NULL, 50, 'male', 'emergency', NULL)$$,
    '23502', NULL, 'missing admitted_at: not_null_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', '2026-03-05', '2026-03-04', 50, 'male', 'emergency', false)$$,
    '23514', 'new row for relation "admission" violates check constraint "admission_discharge_after_admission"',
    'discharge before admission is rejected, naming the constraint');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', '2026-03-05', NULL, 130, 'male', 'emergency', NULL)$$,
    '23514', NULL, 'age 130: check_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', '2026-03-05', NULL, -1, 'male', 'emergency', NULL)$$,
    '23514', NULL, 'negative age: check_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', '2026-03-05', NULL, 50, 'M', 'emergency', NULL)$$,
    '23514', NULL, 'sex outside the vocabulary: check_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', '2026-03-05', NULL, 50, 'male', 'walk-in', NULL)$$,
    '23514', NULL, 'admission source outside the vocabulary: check_violation');
SELECT throws_ok($$INSERT INTO admission VALUES (3, 'P3', '2026-03-05', NULL, 50, 'male', 'emergency', true)$$,
    '23514', NULL, 'death without discharge time: check_violation');

-- location_stay
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at) VALUES (99, '4N', 'ward', '2026-03-05')$$,
    '23503', NULL, 'stay of an unknown admission: foreign_key_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at) VALUES (2, '4N', 'hallway', '2026-03-06')$$,
    '23514', NULL, 'unit_kind outside the vocabulary: check_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, isolation, started_at) VALUES (2, '4N', 'ward', 'maybe', '2026-03-06')$$,
    '23514', NULL, 'isolation outside the vocabulary: check_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at) VALUES (2, '', 'ward', '2026-03-06')$$,
    '23514', NULL, 'empty unit name: check_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES (1, '4N', 'ward', '2026-03-02', '2026-03-01 12:00+00')$$,
    '23514', NULL, 'stay ending before it starts: check_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES (1, 'MC', 'mc', '2026-03-02 00:00+00', '2026-03-02 06:00+00')$$,
    '23P01', NULL, 'overlapping stays of one admission: exclusion_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at) VALUES (2, 'IC1', 'icu', '2026-03-06')$$,
    '23P01', NULL, 'a second open stay overlaps the first: exclusion_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES (1, 'ED', 'ed', '2026-02-28 20:00+00', '2026-03-01 07:00+00')$$,
    '23514', NULL, 'stay starting before the admission: check_violation');
SELECT throws_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES (1, '4N', 'ward', '2026-03-10 12:00+00', '2026-03-11')$$,
    '23514', NULL, 'stay ending after discharge: check_violation');
SELECT throws_ok($$UPDATE location_stay SET ended_at = NULL WHERE admission_id = 1 AND started_at = '2026-03-08 09:00+00'$$,
    '23514', NULL, 'an open stay in a discharged admission: check_violation');
SELECT throws_ok($$UPDATE admission SET discharged_at = '2026-03-09' WHERE admission_id = 1$$,
    '23514', NULL, 'moving discharge before the last stay ends: check_violation');
SELECT throws_ok($$UPDATE admission SET admitted_at = '2026-03-01 09:00+00' WHERE admission_id = 1$$,
    '23514', NULL, 'moving admission after the first stay starts: check_violation');
SELECT lives_ok($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES (1, 'OR', 'or', '2026-03-10 12:00+00', '2026-03-10 12:00+00')$$,
    'a zero-length stay at the discharge instant is allowed (it overlaps nothing)');

-- the message of the within-admission check names the admission
SELECT throws_like($$INSERT INTO location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES (1, 'ED', 'ed', '2026-02-28 20:00+00', '2026-03-01 07:00+00')$$,
    'location stay of admission 1 %', 'the rejected stay is named in the message');

-- lab_result
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (99, 'CRP', 5, '2026-03-05')$$,
    '23503', NULL, 'lab of an unknown admission: foreign_key_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (2, NULL, 5, '2026-03-05')$$,
    '23502', NULL, 'lab without code: not_null_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (2, '', 5, '2026-03-05')$$,
    '23514', NULL, 'lab with empty code: check_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (2, 'CRP', 5, NULL)$$,
    '23502', NULL, 'lab without result time: not_null_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, resulted_at) VALUES (2, 'CRP', '2026-03-05')$$,
    '23514', NULL, 'lab with neither value nor text: check_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (2, 'CRP', 'NaN', '2026-03-05')$$,
    '23514', NULL, 'NaN value: check_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (2, 'CRP', 'Infinity', '2026-03-05')$$,
    '23514', NULL, 'infinite value: check_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, resulted_at) VALUES (2, 'CRP', '-Infinity', '2026-03-05')$$,
    '23514', NULL, 'minus infinite value: check_violation');
SELECT throws_ok($$INSERT INTO lab_result (admission_id, local_code, value, sampled_at, resulted_at) VALUES (2, 'CRP', 5, '2026-03-05 12:00+00', '2026-03-05 11:00+00')$$,
    '23514', NULL, 'result before sample: check_violation');

-- feature
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max) VALUES ('CRP2', 'x', 'mg/L', 0, 1)$$,
    '23514', NULL, 'feature name not lower-case snake: check_violation');
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max) VALUES ('esr', 'x', 'mm/h', 10, 1)$$,
    '23514', NULL, 'plausible range reversed: check_violation');
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max) VALUES ('esr', 'x', 'mm/h', 0, 'Infinity')$$,
    '23514', NULL, 'infinite plausible bound: check_violation');
SELECT throws_ok($$INSERT INTO feature (name, loinc, description, unit, plausible_min, plausible_max) VALUES ('esr', 'abc', 'x', 'mm/h', 0, 200)$$,
    '23514', NULL, 'malformed LOINC code: check_violation');
SELECT throws_ok($$INSERT INTO feature (name, description, unit, plausible_min, plausible_max) VALUES ('crp', 'x', 'mg/L', 0, 1)$$,
    '23505', NULL, 'duplicate feature: unique_violation');
SELECT lives_ok($$INSERT INTO feature (name, loinc, description, unit, plausible_min, plausible_max) VALUES ('esr_local', '4537-7', 'Erythrocyte sedimentation rate', 'mm/h', 0, 200)$$,
    'a user-defined feature goes in');
SELECT is((SELECT builtin FROM feature WHERE name = 'esr_local'), false, 'and is not built-in, so pg_dump keeps it');

-- lab_map
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature) VALUES ('XYZ', 'mg/L', 'no_such_feature')$$,
    '23503', NULL, 'mapping to an unknown feature: foreign_key_violation');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature) VALUES ('CRP', 'MG/DL', 'crp')$$,
    '23505', NULL, 'a spelling variant of a mapped unit is a duplicate: unique_violation');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature, factor) VALUES ('CRP', 'g/L', 'crp', 0)$$,
    '23514', NULL, 'zero factor: check_violation');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature, factor) VALUES ('CRP', 'g/L', 'crp', 'NaN')$$,
    '23514', NULL, 'NaN factor: check_violation');
SELECT throws_ok($$INSERT INTO lab_map (local_code, unit, feature, "offset") VALUES ('CRP', 'g/L', 'crp', 'Infinity')$$,
    '23514', NULL, 'infinite offset: check_violation');

-- icu_capacity
SELECT throws_ok($$INSERT INTO icu_capacity VALUES ('IC1', '2026-01-01', 10, 12)$$,
    '23505', NULL, 'two capacity rows for one unit and date: unique_violation');
SELECT throws_ok($$INSERT INTO icu_capacity VALUES ('IC2', '2026-01-01', -1, 12)$$,
    '23514', NULL, 'negative staffed beds: check_violation');
SELECT throws_ok($$INSERT INTO icu_capacity VALUES ('IC2', '2026-01-01', 12, 10)$$,
    '23514', NULL, 'surge beds below staffed beds: check_violation');

-- deleting an admission removes its stays and labs (nothing left dangling)
SELECT lives_ok($$DELETE FROM admission WHERE admission_id = 2$$, 'an admission can be deleted');
SELECT is((SELECT count(*)::int FROM location_stay WHERE admission_id = 2)
        + (SELECT count(*)::int FROM lab_result WHERE admission_id = 2), 0,
          'its stays and labs go with it');

-- nothing was silently altered: the rows that went in are as given
SELECT results_eq($$SELECT admission_id, unit, unit_kind, isolation FROM location_stay ORDER BY started_at$$,
    $$VALUES (1::bigint, 'ED'::text, 'ed'::text, 'droplet'::text), (1, '4N', 'ward', 'droplet'),
             (1, 'IC1', 'icu', 'strict'), (1, '4N', 'ward', 'droplet'), (1, 'OR', 'or', 'unknown')$$,
    'stored stays are exactly the accepted ones');

SELECT * FROM finish();
ROLLBACK;
