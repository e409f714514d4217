-- Admission covariates (issue 13, item 5): unknown age and sex, BMI,
-- comorbidity groups from ICD-10 diagnoses, Charlson index, Elixhauser
-- groups and van Walraven score, missing
-- indicators; usable in model specs and read by predict().  Values by hand.
SET TimeZone = 'UTC';
SET extra_float_digits = 0;
SET client_min_messages = warning;
SET search_path = icu_predict, public;
BEGIN;

-- the groups and the shipped code lists
SELECT name, charlson_weight, superseded_by FROM comorbidity_groups();
SELECT comorbidity, count(*) AS prefixes FROM comorbidity_code WHERE builtin GROUP BY 1 ORDER BY 1;

-- age unknown (NULL) is storable; 0 is a real age
INSERT INTO admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (9101, 'cov-1', '2020-04-01 08:00+00', NULL, 'unknown'),   -- nothing known
    (9102, 'cov-2', '2020-04-01 08:00+00', 70,   'male'),      -- BMI, comorbidities below
    (9103, 'cov-3', '2020-04-01 08:00+00', 0,    'female');    -- a newborn, no diagnoses
INSERT INTO admission_bmi (admission_id, bmi, measured_at) VALUES
    (9102, 31.5, NULL),
    (9103, 3.5 * 2, '2020-04-05 00:00+00');                    -- measured after the predictions: unknown
INSERT INTO diagnosis (admission_id, icd10_code, diagnosed_at) VALUES
    (9102, 'I21.4', NULL),                    -- myocardial infarction (1)
    (9102, 'e11.2', NULL),                    -- diabetes with complication (2), lower case
    (9102, 'E119',  NULL),                    -- diabetes without: superseded
    (9102, 'K70.3', NULL),                    -- mild liver disease: superseded by ...
    (9102, 'K72.1', NULL),                    -- ... moderate/severe liver disease (3)
    (9102, 'J18.9', NULL),                    -- pneumonia: no group
    (9102, 'C78.0', '2020-04-02 12:00+00'),   -- metastatic (6), known only from 04-02 12:00
    (9102, 'C34.1', '2020-04-02 12:00+00');   -- lung cancer: superseded by metastatic

SELECT admission_id, admission_covariates(admission_id, '2020-04-02 00:00+00') AS before_staging,
       admission_covariates(admission_id, '2020-04-03 00:00+00') AS after_staging
  FROM admission WHERE admission_id BETWEEN 9101 AND 9103 ORDER BY 1;
SELECT admission_id, comorbidity FROM admission_comorbidity WHERE admission_id BETWEEN 9101 AND 9103 ORDER BY 1, 2;

-- every covariate as the runtime reads it (NULL = missing)
SELECT c.name AS covariate,
       covariate_value(c.name, admission_covariates(9101, '2020-04-03 00:00+00'), 40, 'ward') AS unknown_all,
       covariate_value(c.name, admission_covariates(9102, '2020-04-02 00:00+00'), 40, 'ward') AS adm_9102_day1,
       covariate_value(c.name, admission_covariates(9102, '2020-04-03 00:00+00'), 40, 'ward') AS adm_9102_day2,
       covariate_value(c.name, admission_covariates(9103, '2020-04-03 00:00+00'), 40, 'ward') AS newborn
  FROM model_covariates() c;
-- the positional form reads the same age, sex and indicators (BMI, comorbidities unknown)
SELECT c.name AS covariate, covariate_value(c.name, NULL::float8, NULL, 40, 'ward') AS unknown_age_sex
  FROM model_covariates() c WHERE c.name IN ('age_years', 'age_missing', 'sex_male', 'sex_missing', 'bmi_missing');

-- a model reading unknown age (imputed 60, indicator), BMI, a comorbidity and the Charlson index
INSERT INTO model (name, version, kind, format, horizon_hours, spec) VALUES
('cov_risk', '1', 'icu_admission', 'linear', 48,
 '{"format":"linear","link":"logit","intercept":-3,
   "inputs":[{"covariate":"age_years","impute":60,"mean":60,"scale":10,"coef":0.5,"missing_coef":0.25},
             {"covariate":"age_missing","impute":0,"coef":0.1},
             {"covariate":"bmi","impute":25,"mean":25,"scale":5,"coef":0.4,"missing_coef":0.05},
             {"covariate":"comorbidity_heart_failure","impute":0,"coef":0.7},
             {"covariate":"comorbidity_myocardial_infarction","impute":0.1,"coef":0.6,"missing_coef":0.2},
             {"covariate":"charlson_index","impute":1,"coef":0.15}]}');
SELECT name FROM deploy('cov_risk', '1');
-- by hand, eta = -3 + sum of contributions:
--   9101 (nothing known): age 0.5*0 + 0.25, indicator 0.1, bmi 0 + 0.05, hf 0, mi 0.6*0.1 + 0.2,
--        charlson 0.15*1  -> eta = -2.19
--   9102 as of 04-03: age 0.5*1, indicator 0, bmi 0.4*1.3, hf 0, mi 0.6, charlson 0.15*12 -> eta = 0.42
--   9103: age 0.5*(-6), indicator 0, bmi 0.05, hf 0, mi 0.06 + 0.2, charlson 0.15 -> eta = -5.54
SELECT x.admission_id, round(p.risk::numeric, 10) AS risk,
       round((1 / (1 + exp(-x.eta)))::numeric, 10) AS by_hand, p.top_reasons
  FROM (VALUES (9101, -2.19), (9102, 0.42), (9103, -5.54)) AS x(admission_id, eta),
       LATERAL predict(x.admission_id, '2020-04-03 00:00+00') p
 ORDER BY 1;
-- unknown age is never scored as age 0: the newborn and the unknown differ
SELECT input, value, round(contribution::numeric, 6) AS contribution
  FROM explain(NULL::lab_panel, admission_covariates(9101, '2020-04-03 00:00+00'), 40, 'ward',
               'cov_risk', '1', top => 6) ORDER BY rank;
SELECT input, value, round(contribution::numeric, 6) AS contribution
  FROM explain(NULL::lab_panel, admission_covariates(9103, '2020-04-03 00:00+00'), 40, 'ward',
               'cov_risk', '1', top => 2) ORDER BY rank;
-- the positional risk() cannot see BMI or comorbidities: they are missing there
SELECT round(risk(NULL, 70::float8, 'male', 40, 'ward', 'cov_risk', '1')::numeric, 10)
         = round((1 / (1 + exp(-(-3 + 0.5 + 0.05 + 0.06 + 0.2 + 0.15))))::numeric, 10) AS positional_form;

-- Elixhauser (Quan et al. 2005 ICD-10 lists, van Walraven weights), by hand:
--   E11.2 diabetes complicated (0) over E11.9 uncomplicated (not flagged);
--   C78.0 metastatic cancer (12) over C34.1 solid tumour (not flagged);
--   I11.0 hypertension complicated (0) over I10 uncomplicated (not flagged),
--        and congestive heart failure (7); K70.3 liver disease (11) and
--   alcohol abuse (0); F32.1 depression (-3); E66.9 obesity (-4); J18.9 none.
--   van Walraven = 12 + 7 + 11 - 3 - 4 = 23.
--   Charlson: diabetes complicated 2 (E11.9 superseded), metastatic 6 (C34.1
--   superseded), heart failure 1 (I11.0), mild liver 1 (K70.3) = 10.
SELECT name, van_walraven_weight, superseded_by FROM elixhauser_groups();
INSERT INTO admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (9104, 'cov-4', '2020-04-01 08:00+00', 64, 'female');
INSERT INTO diagnosis (admission_id, icd10_code, diagnosed_at) VALUES
    (9104, 'E11.2', NULL), (9104, 'E11.9', NULL), (9104, 'C78.0', NULL), (9104, 'C34.1', NULL),
    (9104, 'I10', NULL), (9104, 'I11.0', NULL), (9104, 'K70.3', NULL), (9104, 'F32.1', NULL),
    (9104, 'E66.9', NULL), (9104, 'J18.9', NULL);
SELECT (admission_covariates(9104)).comorbidities;
SELECT c.name AS covariate, covariate_value(c.name, admission_covariates(9104), 40, 'ward') AS value
  FROM model_covariates() c
 WHERE c.name LIKE 'elixhauser%' AND covariate_value(c.name, admission_covariates(9104), 40, 'ward') <> 0
    OR c.name IN ('charlson_index', 'elixhauser_diabetes', 'elixhauser_solid_tumour', 'elixhauser_hypertension');
-- usable in a spec: eta = -3 + 0.1 * 23 + 0.5 * 1 = -0.2
INSERT INTO model (name, version, kind, format, horizon_hours, spec) VALUES
('cov_elix', '1', 'icu_admission', 'linear', 48,
 '{"format":"linear","link":"logit","intercept":-3,
   "inputs":[{"covariate":"elixhauser_van_walraven","impute":0,"coef":0.1},
             {"covariate":"elixhauser_heart_failure","impute":0,"coef":0.5}]}');
SELECT round(risk(NULL, admission_covariates(9104), model_name => 'cov_elix', model_version => '1')::numeric, 10)
       AS risk, round((1 / (1 + exp(0.2)))::numeric, 10) AS by_hand;
-- unknown comorbidities (no diagnosis): the Elixhauser covariates are missing too
SELECT covariate_value('elixhauser_van_walraven', admission_covariates(9101), 40, 'ward') IS NULL AS unknown_is_missing;

-- bad input
\set VERBOSITY terse
SAVEPOINT s;
SELECT risk(NULL, ROW(70, 'male', NULL, ARRAY['gout'])::admission_covariates, model_name => 'cov_risk', model_version => '1');
ROLLBACK TO SAVEPOINT s;
SELECT risk(NULL, ROW('NaN', 'male', NULL, NULL)::admission_covariates, model_name => 'cov_risk', model_version => '1');
ROLLBACK TO SAVEPOINT s;
INSERT INTO admission_bmi (admission_id, bmi) VALUES (9101, 2);
ROLLBACK TO SAVEPOINT s;
INSERT INTO diagnosis (admission_id, icd10_code) VALUES (9102, 'not a code');
ROLLBACK TO SAVEPOINT s;
INSERT INTO comorbidity_code (icd10_prefix, comorbidity) VALUES ('U07', 'covid');
ROLLBACK TO SAVEPOINT s;
INSERT INTO model (name, version, kind, format, horizon_hours, spec) VALUES
('cov_bad', '1', 'icu_admission', 'linear', 48,
 '{"format":"linear","link":"logit","intercept":0,"inputs":[{"covariate":"comorbidity_gout","impute":0,"coef":1}]}');
ROLLBACK;
RESET search_path;
