-- Contracts of the model registry and runtime: validation at insert (with the
-- JSON path), hostile specs, SQLSTATEs, deploy/rollback, cache invalidation,
-- hand-checked xgboost and linear scores, TreeSHAP sums.
BEGIN;
SELECT plan(71);

CREATE TEMP TABLE t_spec (name text PRIMARY KEY, spec jsonb);
INSERT INTO t_spec VALUES
('lin', '{"format":"linear","link":"logit","intercept":-1,
  "inputs":[{"feature":"crp","stat":"last","impute":10,"clip":[0.1,500],"transform":"log","mean":2,"scale":1.5,"coef":0.8,"missing_coef":0.3},
            {"covariate":"age_years","impute":60,"mean":60,"scale":15,"coef":0.5}]}'),
('xgb', '{"format":"xgboost","inputs":[{"feature":"crp","stat":"last"},{"covariate":"age_years"}],
  "model":{"learner":{"learner_model_param":{"base_score":"5E-1","num_feature":"2","num_class":"0","num_target":"1"},
   "objective":{"name":"binary:logistic"},
   "gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1"},
     "trees":[{"tree_param":{"num_nodes":"5"},"left_children":[1,-1,3,-1,-1],"right_children":[2,-1,4,-1,-1],
               "split_indices":[0,0,1,0,0],"split_conditions":[50,-0.5,65,0.25,0.75],"default_left":[1,0,0,0,0],
               "split_type":[0,0,0,0,0],"sum_hessian":[10,6,4,1,3]}]}}}}}');

CREATE FUNCTION pg_temp.bad(path text[], val jsonb, base text DEFAULT 'xgb') RETURNS text
LANGUAGE sql AS $$
  SELECT format('INSERT INTO icu_predict.model (name, version, kind, format, spec) VALUES (''bad'', ''1'', ''icu_admission'', %L, %L)',
                base_fmt, jsonb_set(spec, path, val)::text)
    FROM (SELECT spec, CASE WHEN base = 'xgb' THEN 'xgboost' ELSE 'linear' END AS base_fmt
            FROM t_spec WHERE name = base) s
$$;

-- registry objects
SELECT has_table('icu_predict', 'model', 'registry table exists');
SELECT has_view('icu_predict', 'active_model', 'active models are derived (view active_model)');
SELECT hasnt_column('icu_predict', 'model', 'active', 'no stored active flag that a restore could collide on');
SELECT ok((SELECT 'icu_predict.model'::regclass = ANY (extconfig) FROM pg_extension WHERE extname = 'icu_predict'),
          'model rows are dumped by pg_dump');
SELECT has_function('icu_predict', 'predict', ARRAY['bigint', 'timestamp with time zone'], 'predict(admission_id, as_of)');

-- valid specs go in; the trigger fills features and content_hash
SELECT lives_ok($$INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                  SELECT 'tap_lin', '1', 'icu_admission', 'linear', 48, spec FROM t_spec WHERE name = 'lin'$$, 'linear spec accepted');
SELECT lives_ok($$INSERT INTO icu_predict.model (name, version, kind, format, spec, training)
                  SELECT 'tap_xgb', '1', 'icu_admission', 'xgboost', spec, '{"horizon_hours": 48}' FROM t_spec WHERE name = 'xgb'$$, 'xgboost spec accepted');
SELECT is((SELECT horizon_hours FROM icu_predict.model WHERE name = 'tap_xgb'), 48, 'horizon_hours taken from the training metadata');
SELECT throws_ok($$INSERT INTO icu_predict.model (name, version, kind, format, spec)
                   SELECT 'tap_nohz', '1', 'icu_admission', 'linear', spec FROM t_spec WHERE name = 'lin'$$,
                 '22023', NULL, 'a risk model without horizon: 22023');
SELECT is((SELECT features FROM icu_predict.model WHERE name = 'tap_lin'), '{"crp": "mg/L"}'::jsonb,
          'features lists the lab features with their units');
SELECT is((SELECT length(content_hash) FROM icu_predict.model WHERE name = 'tap_xgb'), 32, 'content hash set');

-- rejected at insert, naming the JSON path
SELECT throws_ok(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,left_children,0}', '7'), '22023', NULL, 'child index out of range: 22023');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,left_children,0}', '7'),
                   '%$.model.learner.gradient_booster.model.trees[0].left_children[0]: child index 7 out of range%', 'error names the JSON path');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,left_children,0}', '-5'),
                   '%trees[0].left_children[0]%out of range%', 'negative index rejected');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,right_children,2}', '1'),
                   '%reached twice%', 'shared child / cycle rejected');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,left_children,2}', '2'),
                   '%node 2 is reached twice%', 'self loop rejected');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,split_indices,2}', '5'),
                   '%trees[0].split_indices[2]: feature index 5 out of range [0, 1]%', 'split index beyond inputs rejected');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,tree_param,num_nodes}', '"2000000"'),
                   '%num_nodes: expected an integer in [1, 1000000]%', 'huge node count rejected before allocation');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,default_left}', '[1,0]'),
                   '%trees[0].default_left: expected 5 elements, found 2%', 'array length mismatch rejected');
SELECT throws_like(pg_temp.bad('{model,learner,learner_model_param,base_score}', '"NaN"'),
                   '%base_score: number must be finite%', 'NaN rejected');
SELECT throws_like(pg_temp.bad('{model,learner,objective,name}', '"reg:squarederror"'),
                   '%objective.name: unsupported objective%', 'unsupported objective rejected');
SELECT throws_like(pg_temp.bad('{model,learner,learner_model_param,num_feature}', '"3"'),
                   '%num_feature differs from the number of inputs%', 'num_feature must match inputs');
SELECT throws_like(pg_temp.bad('{model,learner,gradient_booster,model,trees,0,split_type,1}', '1'),
                   '%categorical splits%', 'categorical splits rejected');
SELECT throws_like(pg_temp.bad('{inputs}', '"crp"'), '%$.inputs: expected an array, found string%', 'wrong type rejected');
SELECT throws_like(pg_temp.bad('{inputs,0,stat}', '"median"'), '%$.inputs[0].stat: unknown panel statistic%', 'unknown stat rejected');
SELECT throws_ok(pg_temp.bad('{inputs,0,feature}', '"crpp"'), '42704', NULL, 'unknown feature: 42704');
SELECT throws_like(pg_temp.bad('{inputs,0,feature}', '"crpp"'), '%$.inputs[0].feature: unknown feature "crpp"%', 'unknown feature names its path');
SELECT throws_like(format('INSERT INTO icu_predict.model (name, version, kind, format, spec) VALUES (''bad'',''1'',''icu_admission'',''linear'',%L)',
                          (SELECT spec - 'intercept' FROM t_spec WHERE name = 'lin')),
                   '%$: missing required key "intercept"%', 'missing field rejected');
SELECT throws_like(pg_temp.bad('{inputs,0,clip}', '[0, 500]', 'lin'), '%"log" needs "clip" with lo > 0%', 'log of non-positive values impossible');
SELECT throws_like(pg_temp.bad('{inputs,1,scale}', '0', 'lin'), '%$.inputs[1].scale: scale must be > 0%', 'zero scale rejected');
-- a chain 100 splits deep
SELECT throws_like(format('INSERT INTO icu_predict.model (name, version, kind, format, spec) VALUES (''bad'',''1'',''icu_admission'',''xgboost'',%L)',
    (SELECT jsonb_set(spec, '{model,learner,gradient_booster,model,trees,0}', jsonb_build_object(
        'tree_param', jsonb_build_object('num_nodes', 201),
        'left_children',  (SELECT jsonb_agg(CASE WHEN i < 99 THEN i + 1 WHEN i = 99 THEN 200 ELSE -1 END ORDER BY i) FROM generate_series(0, 200) i),
        'right_children', (SELECT jsonb_agg(CASE WHEN i < 100 THEN 100 + i ELSE -1 END ORDER BY i) FROM generate_series(0, 200) i),
        'split_indices',  (SELECT jsonb_agg(0) FROM generate_series(0, 200)),
        'split_conditions', (SELECT jsonb_agg(0.5) FROM generate_series(0, 200)),
        'default_left', (SELECT jsonb_agg(0) FROM generate_series(0, 200)),
        'sum_hessian', (SELECT jsonb_agg(1) FROM generate_series(0, 200))))
       FROM t_spec WHERE name = 'xgb')),
    '%tree deeper than 64%', 'huge depth rejected');
SELECT throws_like($$UPDATE icu_predict.model SET spec = jsonb_set(spec, '{intercept}', '"x"') WHERE name = 'tap_lin'$$,
                   '%$.intercept: expected a number%', 'validated on UPDATE too');

-- hand-checked scores
SELECT is(icu_predict.model_predict('tap_xgb', '1', ARRAY[40, 70]), 1 / (1 + exp(0.5::float8)), 'crp 40 < 50 goes left');
SELECT is(icu_predict.model_predict('tap_xgb', '1', ARRAY[NULL, 70]), 1 / (1 + exp(0.5::float8)), 'missing crp follows default_left');
SELECT is(icu_predict.model_predict('tap_xgb', '1', ARRAY[50, 70]), 1 / (1 + exp(-0.75::float8)), 'x = threshold goes right (x < t is left)');
SELECT is(icu_predict.model_predict('tap_xgb', '1', ARRAY[60, 60]), 1 / (1 + exp(-0.25::float8)), 'second split');
SELECT ok(abs((SELECT sum(contribution) FROM icu_predict.model_contributions('tap_xgb', '1', ARRAY[60, 70]))
              - icu_predict.model_margin('tap_xgb', '1', ARRAY[60, 70])) < 1e-12, 'TreeSHAP contributions sum to the margin');
SELECT ok(abs(icu_predict.model_margin('tap_lin', '1', ARRAY[50, 70]) - (-1 + 0.8 * (ln(50) - 2) / 1.5 + 0.5 * 10 / 15.0)) < 1e-12,
          'linear margin as documented');

-- errors while scoring
SELECT throws_ok($$SELECT icu_predict.model_predict('nope', '1', ARRAY[1, 2])$$, '42704', NULL, 'unknown model: 42704');
SELECT throws_ok($$SELECT icu_predict.model_predict('tap_lin', '9', ARRAY[1, 2])$$, '42704', NULL, 'unknown version: 42704');
SELECT throws_ok($$SELECT icu_predict.model_predict('tap_lin', '1', ARRAY['NaN', 2]::float8[])$$, '22023', NULL, 'NaN input: 22023');
SELECT throws_ok($$SELECT icu_predict.risk(NULL, 70, model_name => 'absent')$$, '42704', NULL, 'unknown model in risk(): 42704');

-- deploy / rollback (an install may ship a default model: remember it)
CREATE TEMP TABLE t_before AS SELECT name FROM icu_predict.active_model WHERE kind = 'icu_admission' AND horizon_hours = 48;
SELECT lives_ok($$SELECT icu_predict.deploy('tap_lin', '1')$$, 'deploy');
SELECT throws_ok($$SELECT icu_predict.risk(NULL, 'NaN'::float8)$$, '22023', NULL, 'NaN covariate: 22023');
SELECT is(icu_predict.risk(NULL, 70), icu_predict.model_predict('tap_lin', '1', ARRAY[NULL, 70]), 'risk() uses the active model, NULL panel = no labs');
SELECT lives_ok($$SELECT icu_predict.deploy('tap_xgb', '1')$$, 'deploy another version');
SELECT throws_ok($$UPDATE icu_predict.model SET builtin = true WHERE name = 'tap_lin'$$, '42501', NULL, 'builtin (not dumped) only from CREATE EXTENSION: 42501');
SELECT is((SELECT name FROM icu_predict.active_model WHERE kind = 'icu_admission' AND horizon_hours = 48), 'tap_xgb', 'the newest deployment is the active model of its slot');
SELECT is((SELECT name FROM icu_predict.rollback('icu_admission')), 'tap_lin', 'rollback re-activates the previous model');
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t_before)
            THEN throws_ok($$SELECT icu_predict.rollback('icu_admission')$$, '55000', NULL, 'nothing left to roll back to: 55000')
            ELSE is((SELECT name FROM icu_predict.rollback('icu_admission')), (SELECT name FROM t_before), 'second rollback: the model active before')
       END;

-- stay_survival_curve() from a stored stay estimate equals stay_survival() on the panel
SELECT ok((SELECT max(abs(c.s - icu_predict.stay_survival(NULL, c.t, 70)))
             FROM unnest(icu_predict.stay_survival_curve((icu_predict.length_of_stay(NULL, 70)).location_days,
                                                         ARRAY[0, 0.5, 3, 10, 30]::float8[]),
                         ARRAY[0, 0.5, 3, 10, 30]::float8[]) AS c(s, t)) < 1e-12,
          'stay_survival_curve(location_days of length_of_stay) = stay_survival');
SELECT throws_ok($$SELECT icu_predict.stay_survival_curve(0, ARRAY[1]::float8[])$$, '22023', NULL, 'location_days <= 0: 22023');
SELECT is(icu_predict.stay_survival_curve(NULL, ARRAY[1]::float8[]), NULL, 'NULL location (no stay model): NULL');

-- found by bench/fuzz_inputs.py: an AFT base_score beyond float32 became an
-- infinite margin and infinite stays
SELECT throws_like((SELECT format('INSERT INTO icu_predict.model (name, version, kind, format, spec) VALUES (''bad_aft'', ''1'', ''icu_stay'', ''xgboost'', %L)',
                                  jsonb_set(spec, '{model,learner,learner_model_param,base_score}', '"1e39"')::text)
                      FROM icu_predict.model WHERE builtin AND kind = 'icu_stay' AND format = 'xgboost' LIMIT 1),
                   '%learner_model_param.base_score: base_score must be > 0 and fit in float32%',
                   'survival:aft base_score beyond float32 rejected with its path');

-- cache invalidation: an UPDATE of the spec is seen by the next query
UPDATE icu_predict.model SET spec = jsonb_set(spec, '{intercept}', '0') WHERE name = 'tap_lin';
SELECT ok(abs(icu_predict.model_margin('tap_lin', '1', ARRAY[50, 70]) - (0.8 * (ln(50) - 2) / 1.5 + 0.5 * 10 / 15.0)) < 1e-12,
          'changed spec is re-parsed');

-- covariate_value: the scorer's covariate encoding, offered to training code
SELECT is(ARRAY[icu_predict.covariate_value('sex_male', 70, 'male', 5, 'ward'),
                icu_predict.covariate_value('sex_male', 70, 'female', 5, 'ward'),
                icu_predict.covariate_value('sex_male', 70, 'other', 5, 'ward'),
                icu_predict.covariate_value('age_years', 70, 'unknown', 5, 'ward'),
                icu_predict.covariate_value('hours_since_admission', 70, 'male', 5.5, NULL),
                icu_predict.covariate_value('unit_kind_ward', 70, 'male', 5, 'ward'),
                icu_predict.covariate_value('unit_kind_icu', 70, 'male', 5, 'ward')],
          ARRAY[1, 0, 0, 70, 5.5, 1, 0]::float8[], 'covariate_value encodes sex, age, hours and unit kind');
SELECT ok(icu_predict.covariate_value('sex_male', 70, 'unknown', 5, 'ward') IS NULL
          AND icu_predict.covariate_value('unit_kind_icu', 70, 'male', 5, NULL) IS NULL
          AND icu_predict.covariate_value('age_years', NULL, 'male', 5, 'ward') IS NULL,
          'covariate_value is NULL when the covariate is missing');
SELECT throws_ok($$SELECT icu_predict.covariate_value('weight_kg', 70, 'male', 5, 'ward')$$, '22023', NULL,
                 'an unknown covariate is 22023');

-- admission covariates: unknown age, BMI, diagnoses, comorbidity groups
SELECT has_table('icu_predict', 'diagnosis', 'table diagnosis exists');
SELECT col_is_null('icu_predict', 'admission', 'age_years', 'admission.age_years may be NULL (unknown)');
SELECT is((SELECT count(*)::int FROM icu_predict.comorbidity_groups()), 17, '17 Charlson groups');
SELECT is((SELECT count(*)::int FROM icu_predict.comorbidity_code WHERE builtin), 289 + 399,
          '289 Charlson and 399 Elixhauser shipped ICD-10 prefixes');
SELECT is((SELECT count(DISTINCT comorbidity)::int FROM icu_predict.comorbidity_code WHERE builtin), 17 + 31,
          'every Charlson and Elixhauser group has codes');
SELECT ok(icu_predict.covariate_value('bmi', NULL::float8, 'male', 5, 'ward') IS NULL
          AND icu_predict.covariate_value('bmi_missing', NULL::float8, 'male', 5, 'ward') = 1
          AND icu_predict.covariate_value('age_missing', NULL::float8, 'male', 5, 'ward') = 1
          AND icu_predict.covariate_value('age_missing', 0, 'male', 5, 'ward') = 0,
          'positional covariates: BMI missing, indicators 0/1 (age 0 is known)');
SELECT is(icu_predict.covariate_value('charlson_index',
              ROW(70, 'male', 30, ARRAY['diabetes', 'diabetes_complicated', 'metastatic_tumour', 'malignancy'])
                ::icu_predict.admission_covariates, 5, 'ward'), 8::float8,
          'Charlson index: superseded groups not counted (2 + 6)');
SELECT ok(icu_predict.covariate_value('comorbidity_renal',
              ROW(70, 'male', 30, NULL)::icu_predict.admission_covariates, 5, 'ward') IS NULL
          AND icu_predict.covariate_value('comorbidity_renal',
              ROW(70, 'male', 30, '{}')::icu_predict.admission_covariates, 5, 'ward') = 0,
          'comorbidities NULL = unknown (missing), empty = none (0)');
SELECT throws_ok($$SELECT icu_predict.covariate_value('charlson_index',
                     ROW(70, 'male', 30, ARRAY['gout'])::icu_predict.admission_covariates, 5, 'ward')$$,
                 '22023', 'unknown comorbidity group "gout"', 'an unknown comorbidity group is 22023');
SELECT throws_ok($$SELECT icu_predict.covariate_value('bmi',
                     ROW(70, 'male', 'Infinity', NULL)::icu_predict.admission_covariates, 5, 'ward')$$,
                 '22023', NULL, 'a non-finite BMI is 22023');
SELECT throws_ok($$WITH a AS (INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                              VALUES (99001, 'tap-bmi', '2020-04-01', NULL) RETURNING admission_id)
                   INSERT INTO icu_predict.admission_bmi (admission_id, bmi) SELECT admission_id, 2 FROM a$$,
                 '23514', NULL, 'BMI outside 5-150: 23514');
SELECT throws_ok($$INSERT INTO icu_predict.comorbidity_code (icd10_prefix, comorbidity) VALUES ('U07', 'covid')$$,
                 '23514', NULL, 'a code list row for an unknown group: 23514');
SELECT throws_ok($$INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
                   ('tap_bad_cov', '1', 'icu_admission', 'linear', 48,
                    '{"format":"linear","link":"logit","intercept":0,
                      "inputs":[{"covariate":"comorbidity_gout","impute":0,"coef":1}]}')$$,
                 '22023', NULL, 'a spec reading an unknown comorbidity: 22023');

SELECT * FROM finish();
ROLLBACK;
