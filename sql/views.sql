-- patient_status and capacity_forecast on a hand-made hospital whose
-- numbers are computed by hand below.
--
-- Models (exact by construction):
--   risk  = 1 / (1 + exp(-crp/100))          (crp missing -> 0 -> risk 0.5)
--   stay  : log(stay) = mu + Z, Z extreme, sigma 1, exp(mu) = L = 1/ln 2,
--           so S(t) = exp(-t/L) = 2^-t  (memoryless), E = L = 1.4427,
--           median = L ln 2 = 1, P10 = L (-ln 0.9) = 0.1520, P90 = L ln 10 = 3.3219.
-- Reference time 2020-04-03 08:00 UTC.  v_risk is a 24-hour model
-- (horizon_hours 24) and capacity_policy picks the 24 h risk model for both
-- the status and the forecast, so the forecast's risk horizon is H = 1 day.
-- (The builtin defaults, 48 h and 7 d, stay active in their own slots.)
--   A1: ward W1 from 04-01 10:00, ICU IC-1 from 04-02 12:00; CRP 100 resulted
--       04-01 12:00, CRP 200 resulted 04-02 12:00.
--       day 1 (as of 04-02 00:00): W1, risk 1/(1+e^-1) = 0.7311
--       day 2 (as of 04-03 00:00): IC-1: in the ICU, no ICU-admission risk
--       day 3 (as of 04-03 08:00): IC-1, likewise
--   A2: ward W1 from 04-02 10:00, no labs: risk 0.5 on both days.
-- Capacity IC-1: 2 staffed, 3 surge.
--   A1 in ICU 20 h: p(d) = S(s+d)/S(s) = 2^-d           -> 1, 0.5, 0.25, 0.125
--   A2 on the ward: p(d) = sum_k (F(k+1)-F(k)) S0(d-k-1/2), F(x) = 1-0.5^x
--       p(0) = 0; p(1) = 0.5 * 2^-0.5 = 0.353553;
--       p(2) = 0.5 * 2^-1.5 + 0.25 * 2^-0.5 = 0.353553
--       p(3) = 0.5 * 2^-2.5 + 0.25 * 2^-1.5 + 0.125 * 2^-0.5 = 0.265165
--   Patients not yet in hospital: one ICU episode began in the 7-day window
--   (A1, 26 h = 1.083333 days after admission), so the expected ICU entries
--   during forecast day k are e_k = clamp(k + 1 - 1.083333, 0, 1) / 7:
--       e_0 = 0, e_1 = 0.916667 / 7 = 0.130952, e_k = 1/7 = 0.142857 (k >= 2)
--   (arrivals_per_day of horizon day d is e_{d-1}); no trend factor (default
--   arrival_trend_days 0).  Sbar = mean S0 of A1 and A2 = 2^-x, so the
--   Poisson mean of them in the ICU on day d is sum_{k<d} e_k 2^-(d-k-1/2):
--       m(0) = m(1) = 0; m(2) = 0.130952 * 2^-0.5 = 0.092597;
--       m(3) = 0.130952 * 2^-1.5 + 0.142857 * 2^-0.5 = 0.147314
--   expected beds: d0 1, d1 0.853553, d2 0.25 + 0.353553 + 0.092597 = 0.696151,
--       d3 0.125 + 0.265165 + 0.147314 = 0.537479
--   d1 pmf (no Poisson part yet): P0 = 0.5*0.646447 = 0.323223, P1 = 0.5,
--       P2 = 0.176777 -> P10 0, P50 1, P90 2, P95 2, P(>2 staffed) = 0;
--       P95 2 > 2 - 2 spare -> hold
--   d2: Bernoulli(0.25) + Bernoulli(0.353553) + Poisson(0.092597):
--       P0 = 0.75 * 0.646447 * e^-0.092597 = 0.441956, P1 = 0.429957,
--       P2 = 0.118489 -> P10 0, P50 1, P90 2 (P(<=1) = 0.871913), P95 2,
--       P(>2) = 1 - 0.990402 = 0.009597 < 0.10 -> hold
--   d3: Bernoulli(0.125) + Bernoulli(0.265165) + Poisson(0.147314):
--       P0 = 0.554907, P1 = 0.361256, P2 = 0.075802 -> P10 0, P50 0, P90 1,
--       P95 2, P(>2) = 0.008035 -> hold
SET timezone = 'UTC';
SET icu_predict.reference_time = '2020-04-03 08:00+00';

-- (a Poisson inflow, inflow_overdispersion off, for the hand computations;
-- the negative binomial is checked further down)
INSERT INTO icu_predict.capacity_policy (status_risk_horizon_hours, forecast_risk_horizon_hours, inflow_overdispersion)
VALUES (24, 24, false);
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('v_risk', '1', 'icu_admission', 'linear', 24,
   '{"format": "linear", "link": "logit", "intercept": 0,
     "inputs": [{"feature": "crp", "stat": "last", "impute": 0, "coef": 0.01}]}'),
  ('v_stay', '1', 'icu_stay', 'linear', NULL,
   '{"format": "linear", "link": "log", "intercept": 0.36651292058166435,
     "stay": {"distribution": "extreme", "sigma": 1},
     "inputs": [{"covariate": "age_years", "impute": 0, "coef": 0}]}');
SELECT name, version FROM icu_predict.deploy('v_risk', '1');
SELECT name, version FROM icu_predict.deploy('v_stay', '1');

INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('V-CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (7001, 'v1', '2020-04-01 10:00+00', 70, 'male'),
    (7002, 'v2', '2020-04-02 10:00+00', 60, 'female'),
    (7003, 'v3', '2020-03-20 10:00+00', 60, 'female');
UPDATE icu_predict.admission SET discharged_at = '2020-03-25 10:00+00' WHERE admission_id = 7003;
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (7001, 'W1',   'ward', 'droplet', '2020-04-01 10:00+00', '2020-04-02 12:00+00'),
    (7001, 'IC-1', 'icu',  'strict',  '2020-04-02 12:00+00', NULL),
    (7002, 'W1',   'ward', 'none',    '2020-04-02 10:00+00', NULL),
    (7003, 'W1',   'ward', 'none',    '2020-03-20 10:00+00', '2020-03-25 10:00+00');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (7001, 'V-CRP', 100, 'mg/L', '2020-04-01 12:00+00'),
    (7001, 'V-CRP', 200, 'mg/L', '2020-04-02 12:00+00'),
    (7001, 'V-CRP', 999, 'mg/L', '2020-04-03 08:00:01+00');   -- after the reference time
INSERT INTO icu_predict.icu_capacity VALUES ('IC-1', '2020-01-01', 2, 3);

CALL icu_predict.refresh();

-- 7003 was discharged before the reference time: not current, no rows.
SELECT admission_id, day_date, day_of_stay, is_today, as_of, ward, unit_kind, isolation,
       round(days_in_hospital::numeric, 4) AS days_in_hospital, key_lab_1_feature, key_lab_1_last,
       round(risk::numeric, 4) AS risk, risk_horizon_hours, risk_band, round(risk_change::numeric, 4) AS risk_change,
       course
  FROM icu_predict.patient_status ORDER BY admission_id, day_date;

SELECT admission_id, day_date, round(stay_expected_days::numeric, 4) AS expected,
       round(stay_median_days::numeric, 4) AS median, round(stay_p10_days::numeric, 4) AS p10,
       round(stay_p90_days::numeric, 4) AS p90, top_reasons, risk_model_version,
       stay_model_version, round(forecast_risk::numeric, 4) AS forecast_risk,
       forecast_risk_horizon_hours, data_time
  FROM icu_predict.patient_status ORDER BY admission_id, day_date;

SELECT unit, horizon_day, forecast_date, occupied_now, round(expected_beds::numeric, 6) AS expected,
       p10_beds, p50_beds, p90_beds, p95_beds, staffed_beds, surge_beds,
       round(prob_over_staffed::numeric, 6) AS p_over_staffed, recommended_action,
       round(arrivals_per_day::numeric, 6) AS arrivals_per_day
  FROM icu_predict.capacity_forecast WHERE horizon_day <= 3 ORDER BY is_total, unit, horizon_day;

SELECT beds, round(probability::numeric, 6) AS probability
  FROM icu_predict.capacity_forecast, icu_predict.bed_demand_pmf(demand)
 WHERE unit = 'IC-1' AND horizon_day = 1;

SELECT mode, succeeded, patient_status_rows, capacity_forecast_rows, model_versions, reference_time
  FROM icu_predict.refresh_log ORDER BY run_id;

-- With no staffed beds P(demand > staffed) = 1 - P(0 beds), which reaches
-- scale_up_probability (0.10) on every day: 'scale up'.  1 - P0: d0 1,
-- d1 1 - 0.323223 = 0.676777, d2 1 - 0.441956 = 0.558044.
UPDATE icu_predict.icu_capacity SET staffed_beds = 0 WHERE unit = 'IC-1';
CALL icu_predict.refresh();
SELECT horizon_day, staffed_beds, round(prob_over_staffed::numeric, 6) AS p_over_staffed,
       recommended_action
  FROM icu_predict.capacity_forecast WHERE unit = 'IC-1' AND horizon_day <= 2 ORDER BY horizon_day;

-- Two points of the ICU-admission curve: the forecast reads a 72-hour model
-- (v_risk3, logit 1.0986 = ln 3, so A2's 72 h risk is 0.75) and the status
-- risk keeps the 24 h model (A2: 0.5).  Hazard constant on [0, 1] and on
-- [1, 3]: 1 - F(x) = 0.5^x for x <= 1, 0.5 * (0.25 / 0.5)^((x - 1) / 2) after:
--   1 - F: x=0 1, x=1 0.5, x=2 0.353553, x=3 0.25
--   F(k+1) - F(k): 0.5, 0.146447, 0.103553
--   A2: p(1) = 0.5 * 2^-0.5 = 0.353553
--       p(2) = 0.5 * 2^-1.5 + 0.146447 * 2^-0.5 = 0.280330
--       p(3) = 0.5 * 2^-2.5 + 0.146447 * 2^-1.5 + 0.103553 * 2^-0.5 = 0.213388
--   (the 24 h risk alone, F(3) = 0.875, gave 0.353553 and 0.265165)
--   expected beds (A1 2^-d, new patients m(d) as above, staffed beds back to 2):
--       d1 0.5 + 0.353553 = 0.853553; d2 0.25 + 0.280330 + 0.092597 = 0.622927;
--       d3 0.125 + 0.213388 + 0.147314 = 0.485702
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('v_risk3', '1', 'icu_admission', 'linear', 72,
   '{"format": "linear", "link": "logit", "intercept": 1.0986122886681098,
     "inputs": [{"feature": "crp", "stat": "last", "impute": 0, "coef": 0}]}');
SELECT name, version FROM icu_predict.deploy('v_risk3', '1');
UPDATE icu_predict.capacity_policy SET forecast_risk_horizon_hours = 72;
UPDATE icu_predict.icu_capacity SET staffed_beds = 2 WHERE unit = 'IC-1';
CALL icu_predict.refresh();
SELECT admission_id, round(risk::numeric, 4) AS risk, risk_horizon_hours,
       round(forecast_risk::numeric, 4) AS forecast_risk, forecast_risk_horizon_hours
  FROM icu_predict.patient_status WHERE is_today ORDER BY admission_id;
SELECT horizon_day, round(expected_beds::numeric, 6) AS expected
  FROM icu_predict.capacity_forecast WHERE unit = 'IC-1' AND horizon_day <= 3 ORDER BY horizon_day;

-- Negative-binomial inflow (capacity_policy.inflow_overdispersion): one
-- episode in the 7-day window, so the relative variance of the inflow rate
-- is 1/N = 1 and the gamma shape 1 (no trend: no slope term).  Means are
-- unchanged; d2: arrivals mean 0.092597, variance m + m^2 = 0.101172, and
-- P0 = 0.75 * (1 - 0.280330) * 1/(1 + m) = 0.75 * 0.719670 * 0.915251 = 0.494009.
UPDATE icu_predict.capacity_policy SET inflow_overdispersion = true;
CALL icu_predict.refresh();
SELECT horizon_day, round(expected_beds::numeric, 6) AS expected, arrivals_shape,
       round(arrivals_mean::numeric, 6) AS arrivals_mean, round(arrivals_var::numeric, 6) AS arrivals_var
  FROM icu_predict.capacity_forecast WHERE unit = 'IC-1' AND horizon_day BETWEEN 1 AND 3 ORDER BY horizon_day;
SELECT beds, round(probability::numeric, 6) AS probability
  FROM icu_predict.capacity_forecast, icu_predict.bed_demand_pmf(demand)
 WHERE unit = 'IC-1' AND horizon_day = 2 AND beds <= 1;

-- Inflow growth (capacity_policy.inflow_trend): the only ICU start of the last
-- 14 days is on the last day, a slope the fit cannot pin down (held at 1/day
-- with a standard error above 1), so the shrinkage leaves no growth: one
-- episode does not make a wave.
UPDATE icu_predict.capacity_policy SET inflow_trend = true;
CALL icu_predict.refresh();
SELECT DISTINCT inflow_growth_per_day FROM icu_predict.capacity_forecast;
SELECT round(rate::numeric, 6) AS rate, round(rate_se::numeric, 6) AS rate_se
  FROM icu_predict.inflow_growth(ARRAY[0,0,0,0,0,0,0,0,0,0,0,0,0,1]::float8[]);

-- Routing by history (capacity_policy.routing_window_days): a second unit
-- IC-2 with 2 staffed beds.  By staffed beds alone every ward patient and
-- arrival goes half to each unit.  With a 28-day window the one episode of
-- the window (A1, from W1 to IC-1) moves the shares, each smoothed with the
-- weight of 5 episodes:
--   hospital-wide  IC-1 (1 + 5 * 0.5) / 6 = 0.583333, IC-2 0.416667
--   from W1        IC-1 (1 + 5 * 0.583333) / 6 = 0.652778, IC-2 0.347222
-- A2 (on W1) uses the W1 shares, the arrivals the hospital-wide ones.
INSERT INTO icu_predict.icu_capacity (unit, valid_from, staffed_beds, surge_beds) VALUES ('IC-2', '2020-01-01', 2, 3);
UPDATE icu_predict.capacity_policy SET inflow_trend = false, inflow_overdispersion = false;
CALL icu_predict.refresh();
SELECT f.unit, round((f.ward_mean / t.ward_mean)::numeric, 6) AS ward_share,
       round((f.arrivals_mean / t.arrivals_mean)::numeric, 6) AS arrival_share
  FROM icu_predict.capacity_forecast f
  JOIN icu_predict.capacity_forecast t ON t.is_total AND t.horizon_day = f.horizon_day
 WHERE NOT f.is_total AND f.horizon_day = 3 ORDER BY f.unit;
UPDATE icu_predict.capacity_policy SET routing_window_days = 28;
CALL icu_predict.refresh();
SELECT f.unit, round((f.ward_mean / t.ward_mean)::numeric, 6) AS ward_share,
       round((f.arrivals_mean / t.arrivals_mean)::numeric, 6) AS arrival_share
  FROM icu_predict.capacity_forecast f
  JOIN icu_predict.capacity_forecast t ON t.is_total AND t.horizon_day = f.horizon_day
 WHERE NOT f.is_total AND f.horizon_day = 3 ORDER BY f.unit;
-- the total row does not depend on the routing
SELECT horizon_day, round(expected_beds::numeric, 6) AS expected
  FROM icu_predict.capacity_forecast WHERE is_total AND horizon_day <= 3 ORDER BY horizon_day;
DELETE FROM icu_predict.icu_capacity WHERE unit = 'IC-2';

-- The recommended action: one per unit, from the next 3 days
-- (action_lookahead_days), kept until its condition clearly ends.  With 1
-- staffed bed P(demand > 1) is 0.176777 on day 1 (the d1 pmf above), 0.128 on
-- day 2 and 0.084 on day 3: at a threshold of 0.10 that is 'scale up' on
-- every row, with the reason.
UPDATE icu_predict.icu_capacity SET staffed_beds = 1 WHERE unit = 'IC-1';
UPDATE icu_predict.capacity_policy SET forecast_risk_horizon_hours = 24, scale_up_probability = 0.10;
DELETE FROM icu_predict.forecast_log;
CALL icu_predict.refresh();
SELECT DISTINCT recommended_action, action_reason FROM icu_predict.capacity_forecast WHERE unit = 'IC-1';
-- An hour later, at a threshold of 0.30: 0.18 is below it but above half of
-- it, so the unit stays scaled up (the log holds the 08:00 action) ...
SET icu_predict.reference_time = '2020-04-03 09:00+00';
UPDATE icu_predict.capacity_policy SET scale_up_probability = 0.30;
CALL icu_predict.refresh();
SELECT DISTINCT recommended_action, action_reason FROM icu_predict.capacity_forecast WHERE unit = 'IC-1';
-- ... and without hysteresis the same figures say 'hold'.
SET icu_predict.reference_time = '2020-04-03 10:00+00';
UPDATE icu_predict.capacity_policy SET action_hysteresis = false;
CALL icu_predict.refresh();
SELECT DISTINCT recommended_action, action_reason FROM icu_predict.capacity_forecast WHERE unit = 'IC-1';
-- Day 0 is the census now: the patients in the unit, no spread.
SELECT occupied_now, expected_beds, p10_beds, p95_beds FROM icu_predict.capacity_forecast
 WHERE unit = 'IC-1' AND horizon_day = 0;
SET icu_predict.reference_time = '2020-04-03 08:00+00';
UPDATE icu_predict.icu_capacity SET staffed_beds = 2 WHERE unit = 'IC-1';
DELETE FROM icu_predict.forecast_log;

-- ------------------------------------------------------------------ what the ward sees
-- Patient states, remaining ICU stay, stale labs, the lab list, reasons and
-- the data-lag warning, on four more admissions (reference time 04-03 08:00,
-- status risk v_risk: 1 / (1 + exp(-crp/100)); stay v_stay: S(t) = 2^-t):
--   A1 7001: in IC-1 since 04-02 12:00, s = 20 h = 0.833333 days.  The stay
--       is memoryless, so the remaining stay has the full distribution:
--       expected 1/ln 2 = 1.4427, median 1, P10 0.1520, P90 3.3219,
--       P(still in ICU) 1, 3, 7 days = 0.5, 0.125, 0.0078125; no risk.
--   A4 7004: ED 'SEH' from 04-03 06:00, CRP 50 at 07:00 and a lab the
--       hospital added, SpO2 91 % at 07:30: state ed, risk 1/(1+e^-0.5) = 0.6225.
--   A5 7005: W2, IC-1 04-01 12:00 .. 04-02 06:00, then W2 again: day 1
--       (as of 04-02 00:00) in_icu, days 2 and 3 post_icu: not scored.
--   A6 7006: W1 since 03-25 10:00, CRP 60 at 03-25 12:00 and 80 at
--       03-26 12:00 (trend 20/day), nothing after: risk 0.6457 on day 1,
--       1/(1+e^-0.8) = 0.6900 from day 2 (+0.0443: stable); the last lab is
--       36 h old on day 3 (stable), 60 h on day 4 (beyond 48 h: stale), and
--       188 h today.
INSERT INTO icu_predict.ward_access VALUES ('icu_bi_reader', '*');
INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max)
VALUES ('v_spo2', 'Oxygen saturation', '%', 50, 100);
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('V-SPO2', '%', 'v_spo2');
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (7004, 'v4', '2020-04-03 06:00+00', 60, 'female'),
    (7005, 'v5', '2020-04-01 00:00+00', 50, 'male'),
    (7006, 'v6', '2020-03-25 10:00+00', 80, 'male');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (7004, 'SEH',  'ed',   'none',    '2020-04-03 06:00+00', NULL),
    (7005, 'W2',   'ward', 'none',    '2020-04-01 00:00+00', '2020-04-01 12:00+00'),
    (7005, 'IC-1', 'icu',  'strict',  '2020-04-01 12:00+00', '2020-04-02 06:00+00'),
    (7005, 'W2',   'ward', 'contact', '2020-04-02 06:00+00', NULL),
    (7006, 'W1',   'ward', 'none',    '2020-03-25 10:00+00', NULL);
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (7004, 'V-CRP', 50, 'mg/L', '2020-04-03 07:00+00'),
    (7004, 'V-SPO2', 91, '%', '2020-04-03 07:30+00'),
    (7005, 'V-CRP', 120, 'mg/L', '2020-04-01 06:00+00'),
    (7006, 'V-CRP', 60, 'mg/L', '2020-03-25 12:00+00'),
    (7006, 'V-CRP', 80, 'mg/L', '2020-03-26 12:00+00');
CALL icu_predict.refresh();

-- states and only the numbers that apply
SELECT admission_id, day_of_stay, ward, patient_state, round(icu_risk::numeric, 4) AS icu_risk,
       risk_band, course, labs_stale, round(hours_since_last_lab::numeric, 1) AS lab_hours, top_reasons
  FROM icu_bi.patient_status
 WHERE admission_id >= 7004 OR is_today ORDER BY admission_id, day_date;
SELECT DISTINCT patient_state, state_note FROM icu_bi.patient_status ORDER BY 1;
-- the risk columns keep no ICU-admission risk in the ICU
SELECT admission_id, day_of_stay, risk, forecast_risk, risk_model_version
  FROM icu_predict.patient_status WHERE patient_state = 'in_icu' ORDER BY 1, 2;
-- the remaining ICU stay of A1 (and of A5 on its ICU day, 12 h in: the same
-- memoryless figures)
SELECT admission_id, day_of_stay, round(icu_days_so_far::numeric, 4) AS so_far,
       round(icu_remaining_expected_days::numeric, 3) AS expected,
       round(icu_remaining_median_days::numeric, 3) AS median,
       round(icu_remaining_p10_days::numeric, 3) AS p10,
       round(icu_remaining_p90_days::numeric, 3) AS p90,
       round(p_still_in_icu_1d::numeric, 6) AS p1, round(p_still_in_icu_3d::numeric, 6) AS p3,
       round(p_still_in_icu_7d::numeric, 7) AS p7
  FROM icu_bi.patient_status WHERE patient_state = 'in_icu' ORDER BY 1, 2;
-- nothing of the ICU remaining stay outside the ICU
SELECT count(*) AS non_icu_rows_with_remaining_stay FROM icu_bi.patient_status
 WHERE patient_state <> 'in_icu' AND (icu_remaining_expected_days IS NOT NULL OR p_still_in_icu_1d IS NOT NULL);
-- the stale patient, day by day
SELECT day_of_stay, as_of, round(icu_risk::numeric, 4) AS icu_risk, round(risk_change::numeric, 4) AS change,
       course, labs_stale, round(hours_since_last_lab::numeric, 1) AS lab_hours
  FROM icu_bi.patient_status WHERE admission_id = 7006 AND day_of_stay <= 4 ORDER BY day_date;

-- reasons in clinical words, with the trend of the last value
SELECT day_of_stay, top_reasons FROM icu_bi.patient_status WHERE admission_id = 7006 AND day_of_stay <= 2 ORDER BY 1;
SELECT admission_id, day_of_stay, rank, input, input_kind, feature, stat, display_name, value, unit,
       trend_per_day, round(contribution::numeric, 4) AS contribution, direction, reason, shown_in_reasons
  FROM icu_bi.patient_reasons JOIN icu_bi.patient_status USING (admission_id, day_date, patient_id, is_today, ward)
 WHERE admission_id IN (7004, 7006) AND day_of_stay <= 2 ORDER BY 1, 2, 3;
-- non-lab inputs are labelled, and the policy can keep them out of the
-- reasons shown: a model on CRP (0.01), age (0.02) and hours since
-- admission (-0.01); A4 today: age 60 -> +1.2, CRP 50 -> +0.5, 2 h -> -0.02
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('v_reason', '1', 'icu_admission', 'linear', 24,
   '{"format": "linear", "link": "logit", "intercept": 0,
     "inputs": [{"feature": "crp", "stat": "last", "impute": 0, "coef": 0.01},
                {"covariate": "age_years", "impute": 0, "coef": 0.02},
                {"covariate": "hours_since_admission", "impute": 0, "coef": -0.01}]}');
SELECT r.rank, r.input_kind, r.display_name, r.value, r.unit, round(r.contribution::numeric, 4) AS contribution,
       r.reason, r.shown_in_reasons
  FROM icu_predict.patient_status ps,
       icu_predict.risk_reasons(ps.panel, icu_predict.admission_covariates(ps.admission_id, ps.as_of), ps.hours_since_admission,
                                ps.unit_kind, 'v_reason', '1') r
 WHERE ps.admission_id = 7004 AND ps.is_today ORDER BY r.rank;
INSERT INTO icu_predict.ward_policy (reasons_show_non_lab) VALUES (false);
SELECT r.rank, r.reason, r.shown_in_reasons
  FROM icu_predict.patient_status ps,
       icu_predict.risk_reasons(ps.panel, icu_predict.admission_covariates(ps.admission_id, ps.as_of), ps.hours_since_admission,
                                ps.unit_kind, 'v_reason', '1') r
 WHERE ps.admission_id = 7004 AND ps.is_today ORDER BY r.rank;
DELETE FROM icu_predict.ward_policy;
SELECT icu_predict.clinical_number(x) FROM unnest(ARRAY[182, 0.45678, 1234.5, -40, 0, 3.0]::float8[]) x;

-- every lab, including the one the hospital added; the built-in list holds
-- the reference ranges (CRP < 10): CRP 50 is out of range, SpO2 has none yet
SELECT admission_id, feature, display_name, unit, last_value, trend_per_day, last_at, n_results,
       reference_low, reference_high, out_of_range, key_lab_slot
  FROM icu_bi.patient_labs WHERE admission_id = 7004 ORDER BY feature;
SELECT key_lab_1_name, key_lab_1_unit, key_lab_1_last, key_lab_2_name, key_lab_5_name, key_lab_6_name
  FROM icu_bi.patient_status WHERE admission_id = 7004;
-- the hospital's own list: SpO2 (94-100 %) in column 1, CRP in column 2;
-- the rest of the built-in list is gone with it
INSERT INTO icu_predict.ward_lab_display (feature, key_lab_slot, reference_low, reference_high) VALUES
    ('v_spo2', 1, 94, 100), ('crp', 2, NULL, 10);
CALL icu_predict.refresh();
SELECT key_lab_1_name, key_lab_1_unit, key_lab_1_last, key_lab_2_name, key_lab_2_unit, key_lab_2_last,
       key_lab_3_name, key_lab_3_last
  FROM icu_bi.patient_status WHERE admission_id = 7004;
SELECT feature, last_value, reference_low, reference_high, out_of_range, key_lab_slot
  FROM icu_bi.patient_labs WHERE admission_id = 7004 ORDER BY feature;
\set VERBOSITY terse
INSERT INTO icu_predict.ward_lab_display (feature, key_lab_slot) VALUES ('ldh', 7);
INSERT INTO icu_predict.ward_lab_display (feature, key_lab_slot) VALUES ('no_such_lab', 3);
INSERT INTO icu_predict.ward_lab_display (feature, reference_low, reference_high) VALUES ('ldh', 300, 100);
INSERT INTO icu_predict.ward_policy (stale_lab_hours) VALUES (0);
\set VERBOSITY default
DELETE FROM icu_predict.ward_lab_display;

-- freshness of the run: current data, then a replay long after the data
-- ended (the newest data is CRP 999 of A1 at 04-03 08:00:01, after the
-- first reference time): both warnings, and the run still succeeds
SELECT data_as_of, reference_time, newest_lab_at, data_lag_warning, last_run_failed FROM icu_bi.refresh_status;
SET icu_predict.reference_time = '2020-04-20 08:00+00';
CALL icu_predict.refresh();
SELECT succeeded, reference_time, newest_data_at, newest_lab_at, data_lag_warning
  FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1;
SELECT data_as_of, reference_time, newest_lab_at, data_lag_warning FROM icu_bi.refresh_status;
SELECT admission_id, patient_state, course, labs_stale FROM icu_bi.patient_status WHERE is_today ORDER BY 1;
SET icu_predict.reference_time = '2020-04-03 08:00+00';
DELETE FROM icu_predict.ward_access WHERE role_name = 'icu_bi_reader' AND ward = '*';
DELETE FROM icu_predict.admission WHERE admission_id IN (7004, 7005, 7006);
DELETE FROM icu_predict.lab_map WHERE local_code = 'V-SPO2';
DELETE FROM icu_predict.feature WHERE name = 'v_spo2';
DELETE FROM icu_predict.model WHERE name = 'v_reason';

-- clean up: the regression database is shared
DELETE FROM icu_predict.admission WHERE admission_id IN (7001, 7002, 7003);
DELETE FROM icu_predict.lab_map WHERE local_code = 'V-CRP';
DELETE FROM icu_predict.icu_capacity WHERE unit = 'IC-1';
DELETE FROM icu_predict.capacity_policy;
DELETE FROM icu_predict.refresh_log;
DELETE FROM icu_predict.model_deployment WHERE model_id IN
    (SELECT model_id FROM icu_predict.model WHERE name IN ('v_risk', 'v_risk3', 'v_stay'));
DELETE FROM icu_predict.model WHERE name IN ('v_risk', 'v_risk3', 'v_stay');
CALL icu_predict.refresh();
SELECT count(*) AS rows_left FROM icu_predict.patient_status;
DELETE FROM icu_predict.refresh_log;
DELETE FROM icu_predict.forecast_log;
RESET icu_predict.reference_time;
-- v_risk and v_stay are gone: the builtin defaults are active again in every
-- slot (48 h and 7-day risk, stay), with no deployment left in the log.
SELECT kind, horizon_hours, name, source FROM icu_predict.active_model ORDER BY kind, horizon_hours;
