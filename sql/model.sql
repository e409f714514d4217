-- Model runtime: exact outputs of a hand-made linear risk model and a
-- hand-made stay model on a two-admission cohort.  Cleans up after itself.
SET client_min_messages = warning;
SET extra_float_digits = 0;
BEGIN;
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
('reg_risk', '1', 'icu_admission', 'linear', 48,
 '{"format":"linear","link":"logit","intercept":-2,
   "inputs":[{"feature":"crp","stat":"last","impute":10,"clip":[1,500],"transform":"log","mean":3,"scale":1,"coef":1,"missing_coef":0.5},
             {"feature":"crp","stat":"trend","impute":0,"coef":0.01},
             {"feature":"ldh","stat":"max","impute":250,"mean":250,"scale":100,"coef":0.4},
             {"covariate":"age_years","impute":60,"mean":60,"scale":10,"coef":0.3},
             {"covariate":"sex_male","impute":0.5,"coef":0.2},
             {"covariate":"unit_kind_icu","impute":0,"coef":2}]}'),
('reg_stay', '1', 'icu_stay', 'linear', NULL,
 '{"format":"linear","link":"log","intercept":2.3,
   "inputs":[{"feature":"crp","stat":"max","impute":10,"clip":[1,500],"transform":"log","mean":3,"scale":1,"coef":0.2}],
   "stay":{"distribution":"normal","sigma":0.5}}');
SELECT name, version, kind, features FROM icu_predict.model WHERE name LIKE 'reg\_%' ORDER BY name;

INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (9001, 'reg-p1', '2020-04-01 08:00+00', 72, 'male'),
    (9002, 'reg-p2', '2020-04-01 08:00+00', 45, 'female');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, started_at) VALUES
    (9001, 'W4', 'ward', '2020-04-01 08:00+00'), (9002, 'W4', 'ward', '2020-04-01 08:00+00');
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('REG-CRP', 'mg/L', 'crp'), ('REG-LDH', 'U/L', 'ldh');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (9001, 'REG-CRP', 40, 'mg/L', '2020-04-01 10:00+00'),
    (9001, 'REG-CRP', 160, 'mg/L', '2020-04-02 10:00+00'),
    (9001, 'REG-LDH', 450, 'U/L', '2020-04-02 10:00+00');

-- risk and its explanation, by name
SELECT a.admission_id,
       round(icu_predict.risk(icu_predict.lab_panel_at(a.admission_id, '2020-04-03 00:00+00'), a.age_years, a.sex, 40, 'ward',
                              'reg_risk', '1')::numeric, 6) AS risk
  FROM icu_predict.admission a WHERE a.admission_id IN (9001, 9002) ORDER BY 1;
SELECT rank, input, value, round(contribution::numeric, 6) AS contribution, model_version
  FROM icu_predict.explain(icu_predict.lab_panel_at(9001, '2020-04-03 00:00+00'), 72, 'male', 40, 'ward',
                           'reg_risk', '1', top => 4);
-- stay distribution and S(t)
SELECT model_version, round(location_days::numeric, 4) AS location, round(expected_days::numeric, 4) AS expected,
       round(median_days::numeric, 4) AS median, round(p10_days::numeric, 4) AS p10, round(p90_days::numeric, 4) AS p90
  FROM icu_predict.length_of_stay(icu_predict.lab_panel_at(9001, '2020-04-03 00:00+00'),
                                  model_name => 'reg_stay', model_version => '1');
SELECT t, round(icu_predict.stay_survival(icu_predict.lab_panel_at(9001, '2020-04-03 00:00+00'), t,
                                          model_name => 'reg_stay', model_version => '1')::numeric, 6) AS s
  FROM unnest(ARRAY[0, 5, 10, 20, 40]::float8[]) t;
-- predict(): deploy both, then the analyst view of one admission
SELECT name FROM icu_predict.deploy('reg_risk', '1');
SELECT name FROM icu_predict.deploy('reg_stay', '1');
SELECT round(risk::numeric, 6) AS risk, risk_band, round(expected_stay_days::numeric, 4) AS expected,
       round(stay_p10_days::numeric, 4) AS p10, round(stay_p90_days::numeric, 4) AS p90,
       top_reasons, risk_model_version, stay_model_version
  FROM icu_predict.predict(9001, '2020-04-03 00:00+00');
-- only what was resulted by as_of counts
SELECT round(risk::numeric, 6) AS risk, top_reasons FROM icu_predict.predict(9001, '2020-04-01 09:00+00');
ROLLBACK;
