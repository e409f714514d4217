-- The remaining ICU stay in capacity_forecast: from today's stay estimate by
-- default, from the stay model's estimate as of the start of the ICU episode
-- with capacity_policy.stay_at_episode_start; and the calibration bounds of
-- capacity_policy (calibration_min_factor, calibration_max_factor_long).
--
-- The stay model: log(stay) = mu + Z, Z extreme, sigma 1, so
-- S(t) = exp(-t / L), L = exp(mu): memoryless, S(s + d) / S(s) = exp(-d / L).
-- mu = ln(1 / ln 2) + (hours_since_admission - 26) * ln(2) / 20, so
--   L = 1 / ln 2 at 26 hours (the ICU start below):  p(d) = 2^-d,
--   L = 2 / ln 2 at 46 hours (the reference time):   p(d) = 2^(-d/2).
-- Patient 7601: ward from 04-01 10:00, ICU TAPS-IC from 04-02 12:00 (26 h
-- after admission); reference time 04-03 08:00 (46 h).  The ICU component of
-- the unit's forecast (icu_mean) is that one patient's p(d).
BEGIN;
SELECT plan(13);

SET LOCAL timezone = 'UTC';
SET LOCAL icu_predict.reference_time = '2020-04-03 08:00+00';

SELECT has_column('icu_predict', 'capacity_policy', 'stay_at_episode_start',
    'stay_at_episode_start is a policy column');
SELECT is((icu_predict.capacity_settings()).stay_at_episode_start, false,
    'the stay is read from today''s estimate by default');
SELECT is((icu_predict.capacity_settings()).calibration_min_factor, 0.5::float8,
    'calibration_min_factor defaults to 0.5 (the factor function''s own bound)');
SELECT is((icu_predict.capacity_settings()).calibration_max_factor_long, 5::float8,
    'calibration_max_factor_long defaults to 5 (the factor function''s own bound)');

INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('taps_stay', '1', 'icu_stay', 'linear', NULL,
   format('{"format": "linear", "link": "log", "intercept": %s,
            "stay": {"distribution": "extreme", "sigma": 1},
            "inputs": [{"covariate": "hours_since_admission", "impute": 0, "coef": %s}]}',
          ln(1 / ln(2)) - 26 * ln(2) / 20, ln(2) / 20)::jsonb);
SELECT lives_ok($$SELECT icu_predict.deploy('taps_stay', '1')$$, 'the test stay model is deployed');
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (7601, 'taps1', '2020-04-01 10:00+00', 70, 'male');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (7601, 'TAPS-W',  'ward', 'none', '2020-04-01 10:00+00', '2020-04-02 12:00+00'),
    (7601, 'TAPS-IC', 'icu',  'none', '2020-04-02 12:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('TAPS-IC', '2020-01-01', 4, 6);

-- the estimate patient_status shows is today's (46 h): L = 2 / ln 2
CALL icu_predict.refresh();
SELECT ok(abs(stay_location_days - 2 / ln(2)) < 1e-9, 'today''s stay location is 2 / ln 2 (46 hours)')
  FROM icu_predict.patient_status WHERE admission_id = 7601 AND is_today;
SELECT results_eq($$
    SELECT horizon_day, round(icu_mean::numeric, 9) FROM icu_predict.capacity_forecast
     WHERE unit = 'TAPS-IC' AND horizon_day BETWEEN 1 AND 3 ORDER BY horizon_day$$,
    $$VALUES (1, round((2 ^ -0.5)::numeric, 9)), (2, 0.5), (3, round((2 ^ -1.5)::numeric, 9))$$,
    'by default the remaining stay follows today''s estimate: 2^(-d/2)');

INSERT INTO icu_predict.capacity_policy (stay_at_episode_start) VALUES (true);
CALL icu_predict.refresh();
SELECT results_eq($$
    SELECT horizon_day, round(icu_mean::numeric, 9) FROM icu_predict.capacity_forecast
     WHERE unit = 'TAPS-IC' AND horizon_day BETWEEN 1 AND 3 ORDER BY horizon_day$$,
    $$VALUES (1, 0.5::numeric), (2, 0.25), (3, 0.125)$$,
    'stay_at_episode_start true: the remaining stay follows the estimate as of the ICU start, 2^-d');

-- the policy's calibration bounds
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET calibration_min_factor = 0.4$$,
    '23514', NULL, 'a minimum factor below 0.5 violates the policy CHECK');
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET calibration_min_factor = 1.1$$,
    '23514', NULL, 'a minimum factor above 1 violates the policy CHECK');
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET calibration_max_factor_long = 0.9$$,
    '23514', NULL, 'a long-horizon cap below 1 violates the policy CHECK');
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET calibration_max_factor_long = 'NaN'$$,
    '23514', NULL, 'a NaN long-horizon cap violates the policy CHECK');
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET stay_at_episode_start = NULL$$,
    '23502', NULL, 'stay_at_episode_start is NOT NULL');

SELECT * FROM finish();
ROLLBACK;
