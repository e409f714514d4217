-- The ward views score with every input a model reads, and show the death
-- risk: a user's ICU-admission model and death model that read BMI, the
-- Charlson index, a comorbidity group and the missing indicators, deployed;
-- patient_status, patient_risk, icu_bi.patient_status, risk_reasons() and
-- icu_bi.patient_reasons agree with predict() (and with values by hand),
-- each score names its model, and without a death model the columns say why.
BEGIN;
SELECT plan(29);

SET LOCAL timezone = 'UTC';
SET LOCAL icu_predict.reference_time = '2020-04-03 08:00+00';

-- ------------------------------------------------------------ a small hospital
-- 951 on ward SC-W1, age 72, BMI 35, heart failure + diabetes + CKD (Charlson
--     1 + 1 + 2 = 4), CRP 80;
-- 952 on ward SC-W2, age and sex unknown, no BMI, no diagnosis, no labs;
-- 953 in the ICU, age 80, nothing else;
-- 954 in the ED, age 55, a myocardial infarction (Charlson 1) diagnosed at
--     02:00 today: unknown comorbidities on day 1, known today.
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (951, 'sc-1', '2020-04-01 10:00+00', 72, 'male'),
    (952, 'sc-2', '2020-04-02 09:00+00', NULL, 'unknown'),
    (953, 'sc-3', '2020-04-02 06:00+00', 80, 'female'),
    (954, 'sc-4', '2020-04-02 20:00+00', 55, 'female');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (951, 'SC-W1', 'ward', 'none', '2020-04-01 10:00+00', NULL),
    (952, 'SC-W2', 'ward', 'none', '2020-04-02 09:00+00', NULL),
    (953, 'SC-IC', 'icu',  'none', '2020-04-02 06:00+00', NULL),
    (954, 'SC-ED', 'ed',   'none', '2020-04-02 20:00+00', NULL);
INSERT INTO icu_predict.admission_bmi (admission_id, bmi, measured_at) VALUES
    (951, 35, '2020-04-01 11:00+00');
INSERT INTO icu_predict.diagnosis (admission_id, icd10_code, diagnosed_at) VALUES
    (951, 'I50.9', '2020-04-01 12:00+00'),
    (951, 'E11.9', '2020-04-01 12:00+00'),
    (951, 'N18.3', NULL),
    (954, 'I21.4', '2020-04-03 02:00+00');
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('SC-CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (951, 'SC-CRP', 80, 'mg/L', '2020-04-02 12:00+00');

-- ICU admission within 48 h (the status slot): logit =
--   -2 + 0.005 crp + 0.4 (bmi - 25) / 5 [+0.05 when missing] + 0.3 charlson
--   + 0.9 heart failure + 0.5 age_missing + 0.2 (age - 60) / 10
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
('sc_icu', '1', 'icu_admission', 'linear', 48,
 '{"format":"linear","link":"logit","intercept":-2,
   "inputs":[{"feature":"crp","stat":"last","impute":0,"coef":0.005},
             {"covariate":"bmi","impute":25,"mean":25,"scale":5,"coef":0.4,"missing_coef":0.05},
             {"covariate":"charlson_index","impute":0,"coef":0.3},
             {"covariate":"comorbidity_heart_failure","impute":0,"coef":0.9},
             {"covariate":"age_missing","impute":0,"coef":0.5},
             {"covariate":"age_years","impute":60,"mean":60,"scale":10,"coef":0.2}]}'),
-- in-hospital death within 7 days: logit =
--   -4 + 0.5 (age - 60) / 10 + 0.25 charlson + 0.3 bmi_missing
('sc_death', '1', 'death', 'linear', 168,
 '{"format":"linear","link":"logit","intercept":-4,
   "inputs":[{"covariate":"age_years","impute":60,"mean":60,"scale":10,"coef":0.5},
             {"covariate":"charlson_index","impute":0,"coef":0.25},
             {"covariate":"bmi_missing","impute":0,"coef":0.3}]}');
SELECT icu_predict.deploy('sc_icu', '1');
SELECT icu_predict.deploy('sc_death', '1');

CREATE ROLE tap_sc_all NOLOGIN;
CREATE ROLE tap_sc_w2 LOGIN IN ROLE icu_bi_reader;
INSERT INTO icu_predict.ward_access VALUES ('tap_sc_all', '*'), ('tap_sc_w2', 'SC-W2');

CALL icu_predict.refresh();

CREATE TEMP TABLE sc_pred ON COMMIT DROP AS
SELECT ps.admission_id, ps.day_date, ps.as_of, ps.patient_state, ps.risk, ps.death_risk, p.risk AS predict_risk,
       p.top_reasons AS predict_reasons,
       icu_predict.risk(icu_predict.lab_panel_at(ps.admission_id, ps.as_of),
                        icu_predict.admission_covariates(ps.admission_id, ps.as_of),
                        ps.hours_since_admission, ps.unit_kind, 'sc_death', '1') AS death_by_predict_path
  FROM icu_predict.patient_status ps
 CROSS JOIN LATERAL icu_predict.predict(ps.admission_id, ps.as_of) p;

-- ------------------------------------------------------------ ICU risk = predict()
SELECT is((SELECT count(*) FROM sc_pred WHERE patient_state IN ('pre_icu', 'ed'))::integer, 7,
    'seven scored patient-days (951 days 1-3, 952 and 954 days 1-2)');
SELECT is_empty($$ SELECT admission_id, day_date FROM sc_pred
                    WHERE patient_state IN ('pre_icu', 'ed') AND risk IS DISTINCT FROM predict_risk $$,
    'patient_status.risk equals predict() on every scored patient-day');
SELECT is(round(risk::numeric, 12), round((1 / (1 + exp(-1.54)))::numeric, 12),
          '951 today: BMI, Charlson 4 and heart failure are read (eta -2 + 0.4 + 0.8 + 1.2 + 0.9 + 0.24 = 1.54)')
  FROM icu_predict.patient_status WHERE admission_id = 951 AND is_today;
SELECT ok(abs(ps.risk - icu_predict.risk(ps.panel, ps.age_years::float8, ps.sex, ps.hours_since_admission,
                                         ps.unit_kind, 'sc_icu', '1')) > 0.3,
          '951 today: the positional risk() (BMI, comorbidities missing) would differ')
  FROM icu_predict.patient_status ps WHERE ps.admission_id = 951 AND ps.is_today;
SELECT is(round(risk::numeric, 12), round((1 / (1 + exp(1.45)))::numeric, 12),
          '952: unknown age (indicator 0.5, imputed 60) and missing BMI (0.05): eta -1.45')
  FROM icu_predict.patient_status WHERE admission_id = 952 AND is_today;
SELECT results_eq($$ SELECT day_of_stay, round(risk::numeric, 12) FROM icu_predict.patient_status
                      WHERE admission_id = 954 ORDER BY day_of_stay $$,
                  $$ VALUES (1, round((1 / (1 + exp(2.05)))::numeric, 12)),
                            (2, round((1 / (1 + exp(1.75)))::numeric, 12)) $$,
    '954: the infarction diagnosed today counts today only (covariates as of each row)');
SELECT is((SELECT risk FROM icu_predict.patient_status WHERE admission_id = 953 AND is_today), NULL,
    'no ICU-admission risk in the ICU');

-- ------------------------------------------------------------ death risk
SELECT is_empty($$ SELECT admission_id, day_date FROM sc_pred
                    WHERE death_risk IS DISTINCT FROM death_by_predict_path $$,
    'patient_status.death_risk equals risk() with predict()''s inputs on every row, ICU included');
SELECT results_eq($$ SELECT admission_id, round(death_risk::numeric, 12), death_risk_horizon_hours,
                            death_risk_model_version, death_risk_synthetic_default, death_risk_note
                       FROM icu_predict.patient_status WHERE is_today AND admission_id IN (951, 953)
                      ORDER BY 1 $$,
                  $$ VALUES (951::bigint, round((1 / (1 + exp(2.4)))::numeric, 12), 168, 'sc_death 1', false, NULL::text),
                            (953, round((1 / (1 + exp(2.7)))::numeric, 12), 168, 'sc_death 1', false, NULL) $$,
    'death risk by hand: 951 -4 + 0.6 + 1.0 = -2.4; 953 (in the ICU) -4 + 1.0 + 0.3 = -2.7');

-- the death slot, then the ICU slot, in one transaction: the runtime must not keep
-- the first model for the call site inside outcome_risk()
SELECT is(round(icu_predict.outcome_risk(ps.panel, icu_predict.admission_covariates(951, ps.as_of), 'death', 168,
                                         ps.hours_since_admission, ps.unit_kind)::numeric, 12),
          round((1 / (1 + exp(2.4)))::numeric, 12),
          'outcome_risk() with the admission''s covariates: the death slot''s model reads the Charlson index (-2.4)')
  FROM icu_predict.patient_status ps WHERE ps.admission_id = 951 AND ps.is_today;
SELECT is(icu_predict.outcome_risk(ps.panel, icu_predict.admission_covariates(951, ps.as_of), 'icu_admission', 48,
                                   ps.hours_since_admission, ps.unit_kind),
          ps.risk, 'outcome_risk() with covariates, ICU within 48 h, equals patient_status.risk')
  FROM icu_predict.patient_status ps WHERE ps.admission_id = 951 AND ps.is_today;
SELECT is(round(icu_predict.outcome_risk(ps.panel, 'death', 168, 72, 'male',
                                         ps.hours_since_admission, ps.unit_kind)::numeric, 12),
          round((1 / (1 + exp(3.1)))::numeric, 12),
          'positional outcome_risk(): age known, comorbidities and BMI unknown (-4 + 0.6 + 0.3 = -3.1)')
  FROM icu_predict.patient_status ps WHERE ps.admission_id = 951 AND ps.is_today;

-- ------------------------------------------------------------ which model
SELECT results_eq($$ SELECT risk_model_id, risk_synthetic_default, forecast_risk_synthetic_default,
                            death_risk_model_id, stay_synthetic_default
                       FROM icu_predict.patient_status WHERE admission_id = 951 AND is_today $$,
                  $$ SELECT (SELECT model_id FROM icu_predict.model WHERE name = 'sc_icu'), false, true,
                            (SELECT model_id FROM icu_predict.model WHERE name = 'sc_death'), true $$,
    'model ids and synthetic-default flags: the user''s models false, the shipped 7-day and stay models true');
SELECT is((SELECT forecast_risk_model_id FROM icu_predict.patient_status WHERE admission_id = 951 AND is_today),
          (SELECT model_id FROM icu_predict.active_model WHERE kind = 'icu_admission' AND horizon_hours = 168),
    'forecast_risk_model_id is the 7-day slot''s model');
SELECT is((SELECT stay_model_id FROM icu_predict.patient_status WHERE admission_id = 953 AND is_today),
          (SELECT model_id FROM icu_predict.active_model WHERE kind = 'icu_stay'),
    'stay_model_id is the active stay model');

-- ------------------------------------------------------------ patient_risk
SELECT is_empty($$ SELECT pr.admission_id, pr.day_date FROM icu_predict.patient_risk pr
                     JOIN sc_pred s USING (admission_id, day_date)
                    WHERE pr.outcome = 'icu_admission' AND pr.horizon_hours = 48
                      AND pr.risk IS DISTINCT FROM (CASE WHEN s.patient_state IN ('pre_icu', 'ed') THEN s.predict_risk END) $$,
    'patient_risk, ICU within 48 h, equals predict()');
SELECT is_empty($$ SELECT pr.admission_id, pr.day_date FROM icu_predict.patient_risk pr
                     JOIN sc_pred s USING (admission_id, day_date)
                    WHERE pr.outcome = 'death' AND pr.risk IS DISTINCT FROM s.death_risk $$,
    'patient_risk, death within 7 days, equals patient_status.death_risk');
SELECT is((SELECT count(DISTINCT model_id) FROM icu_predict.patient_risk
            WHERE model_id = (SELECT model_id FROM icu_predict.model WHERE name = 'sc_death'))::integer, 1,
    'patient_risk.model_id names the death model');

-- ------------------------------------------------------------ reasons
-- predict() lists its top 3 as input=value (contribution), from explain()
-- with the same covariates: risk_reasons() gives the same three.
SELECT is((SELECT string_agg(format('%s%s (%s%s)', r.input,
                                    CASE WHEN r.value IS NULL THEN ' missing' ELSE '=' || round(r.value::numeric, 2)::text END,
                                    CASE WHEN r.contribution >= 0 THEN '+' ELSE '' END,
                                    round(r.contribution::numeric, 2)), '; ' ORDER BY r.rank)
             FROM icu_predict.patient_status ps,
                  icu_predict.risk_reasons(ps.panel, icu_predict.admission_covariates(ps.admission_id, ps.as_of),
                                           ps.hours_since_admission, ps.unit_kind, ps.risk_model, ps.risk_version, 3) r
            WHERE ps.admission_id = 951 AND ps.is_today),
          (SELECT predict_reasons FROM sc_pred WHERE admission_id = 951 AND day_date = '2020-04-03'),
    'risk_reasons() has predict()''s top three inputs and contributions');
SELECT results_eq($$ SELECT r.input, r.reason FROM icu_predict.patient_status ps,
                            icu_predict.risk_reasons(ps.panel, icu_predict.admission_covariates(ps.admission_id, ps.as_of),
                                                     ps.hours_since_admission, ps.unit_kind, ps.risk_model, ps.risk_version) r
                      WHERE ps.admission_id = 951 AND ps.is_today ORDER BY r.rank $$,
                  $$ VALUES ('charlson_index', 'Charlson comorbidity index 4 (non-lab input) raises risk'),
                            ('comorbidity_heart_failure', 'Congestive heart failure recorded (non-lab input) raises risk'),
                            ('bmi', 'BMI 35 kg/m2 (non-lab input) raises risk'),
                            ('crp.last', 'CRP 80 mg/L raises risk'),
                            ('age_years', 'Age 72 years (non-lab input) raises risk') $$,
    'the covariate reasons in words: Charlson index, BMI with its unit, the comorbidity group by name');
SELECT results_eq($$ SELECT r.reason FROM icu_predict.patient_status ps,
                            icu_predict.risk_reasons(ps.panel, icu_predict.admission_covariates(ps.admission_id, ps.as_of),
                                                     ps.hours_since_admission, ps.unit_kind, ps.risk_model, ps.risk_version) r
                      WHERE ps.admission_id = 952 AND ps.is_today ORDER BY r.rank $$,
                  $$ VALUES ('Age unknown (non-lab input) raises risk'),
                            ('BMI unknown (non-lab input) raises risk') $$,
    'unknown age and a missing BMI in words');
SELECT is((SELECT top_reasons FROM icu_predict.patient_status WHERE admission_id = 951 AND is_today),
          'Charlson comorbidity index 4 (non-lab input) raises risk; Congestive heart failure recorded (non-lab input) raises risk; BMI 35 kg/m2 (non-lab input) raises risk',
    'top_reasons of patient_status read the covariates too');

-- ------------------------------------------------------------ icu_bi
SELECT is_empty($$ SELECT b.admission_id, b.day_date FROM icu_bi.patient_status b
                     JOIN sc_pred s USING (admission_id, day_date)
                    WHERE b.icu_risk IS DISTINCT FROM (CASE WHEN s.patient_state IN ('pre_icu', 'ed') THEN s.predict_risk END)
                       OR b.death_risk IS DISTINCT FROM s.death_risk $$,
    'icu_bi.patient_status: icu_risk equals predict(), death_risk equals patient_status');
SELECT is((SELECT count(*) FROM icu_bi.patient_status)::integer, (SELECT count(*) FROM sc_pred)::integer,
    'icu_bi.patient_status shows every row to a login that sees every ward');
SELECT results_eq($$ SELECT risk_model_id, risk_synthetic_default, forecast_risk_synthetic_default,
                            death_risk_model_id, death_risk_synthetic_default, death_risk_horizon_hours,
                            death_risk_model_version
                       FROM icu_bi.patient_status WHERE admission_id = 951 AND is_today $$,
                  $$ SELECT (SELECT model_id FROM icu_predict.model WHERE name = 'sc_icu'), false, true,
                            (SELECT model_id FROM icu_predict.model WHERE name = 'sc_death'), false, 168, 'sc_death 1' $$,
    'icu_bi.patient_status names the models and flags');
SELECT is_empty($$ SELECT r.admission_id FROM icu_bi.patient_reasons r
                     JOIN icu_bi.patient_status b USING (admission_id, day_date)
                    WHERE r.risk_model_id IS DISTINCT FROM b.risk_model_id $$,
    'icu_bi.patient_reasons.risk_model_id is the model of icu_risk');

SET LOCAL SESSION AUTHORIZATION tap_sc_w2;
SELECT results_eq($$ SELECT admission_id, round(death_risk::numeric, 12) FROM icu_bi.patient_status
                      WHERE is_today ORDER BY 1 $$,
                  $$ VALUES (952::bigint, round((1 / (1 + exp(-(-4 + 0.3))))::numeric, 12)) $$,
    'a login mapped to SC-W2 sees the death risk of SC-W2 only (952: -4 + 0 + 0 + 0.3)');
RESET SESSION AUTHORIZATION;

-- ------------------------------------------------------------ no death model
SELECT icu_predict.retire('death', 'death', 168);
CALL icu_predict.refresh();
SELECT is_empty($$ SELECT admission_id FROM icu_predict.patient_status
                    WHERE death_risk IS NOT NULL OR death_risk_model_id IS NOT NULL
                       OR death_risk_note IS DISTINCT FROM
                          'No death model is active: deploy one with icu_predict.deploy(name, version) (docs/training.md).' $$,
    'without an active death model every row says so, and holds no death value');
SELECT is((SELECT count(*) FROM icu_bi.patient_status
            WHERE death_risk IS NULL AND death_risk_note LIKE 'No death model is active%')::integer,
          (SELECT count(*) FROM icu_predict.patient_status)::integer,
    'and icu_bi.patient_status says it too');

SELECT * FROM finish();
ROLLBACK;
