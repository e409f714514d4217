-- The grading functions of a count forecast (bed_demand_cdf, _crps, _pit,
-- _pit_cdf) against brute force and hand computation, then the forecast log
-- and its grading on a tiny hand-made history.

-- ---------------------------------------------------------------- scores
-- Two patients with p = 1/2: pmf 1/4, 1/2, 1/4, so F(0) = 0.25, F(1) = 0.75,
-- F(2) = 1.  CRPS(y) = sum_k (F(k) - [y <= k])^2:
--   y = -1: 1 (k = -1) + 0.75^2 + 0.25^2 = 1.625   (below the support)
--   y = 0: 0.75^2 + 0.25^2 = 0.625;  y = 1: 0.25^2 + 0.25^2 = 0.125
--   y = 2: 0.25^2 + 0.75^2 = 0.625;  y = 4: 0.625 + 2 (k = 2, 3) = 2.625
-- Randomised PIT at u = 0.5: F(y - 1) + 0.5 (F(y) - F(y - 1)):
--   y = 0: 0.125;  y = 1: 0.5;  y = 2: 0.875;  y = 4: 1;  y = -1: 0
-- pit_cdf(y = 1, z): 0 for z <= 0.25, 1 for z >= 0.75, (z - 0.25) / 0.5 between.
CREATE TEMP TABLE two AS SELECT icu_predict.bed_demand(p) AS d FROM (VALUES (0.5::float8), (0.5)) v(p);
SELECT y, icu_predict.bed_demand_cdf(d, y) AS cdf, icu_predict.bed_demand_crps(d, y) AS crps,
       icu_predict.bed_demand_pit(d, y, 0.5) AS pit_half,
       icu_predict.bed_demand_pit(d, y, 0) AS pit_0, icu_predict.bed_demand_pit(d, y, 1) AS pit_1
  FROM two, generate_series(-1, 4) y ORDER BY y;
SELECT z, icu_predict.bed_demand_pit_cdf(d, 1, z) AS pit_cdf_y1
  FROM two, (VALUES (0::float8), (0.25), (0.5), (0.6), (0.75), (1)) v(z) ORDER BY z;
-- a point mass at 3 (persistence): CRPS = |y - 3|
SELECT y, icu_predict.bed_demand_crps('{"offset": 3, "pmf": [1]}', y) AS crps
  FROM generate_series(0, 6, 2) y ORDER BY y;

-- Brute force on small pmfs, y inside and outside the support: F from the
-- pmf rows, the CRPS as the sum over k from below both to above both.
CREATE TEMP TABLE dists (name text, d icu_predict.bed_demand);
INSERT INTO dists VALUES
    ('three', '{"offset": 2, "pmf": [0.2, 0.5, 0.3]}'),
    ('gap', '{"offset": 1, "pmf": [0.4, 0, 0.6]}'),
    ('binomial', (SELECT icu_predict.bed_demand(p) FROM (VALUES (0.1::float8), (0.7), (0.35), (0.9)) v(p))),
    ('poisson', icu_predict.bed_demand_poisson(1.3)),
    ('point', '{"offset": 5, "pmf": [1]}');
CREATE TEMP VIEW brute AS
WITH support AS (
    SELECT name, min(beds) AS lo, max(beds) AS hi, sum(probability) AS total
      FROM dists, icu_predict.bed_demand_pmf(d) GROUP BY name
), cdf AS (
    SELECT s.name, k, coalesce((SELECT sum(probability) FROM dists x, icu_predict.bed_demand_pmf(x.d)
                                  WHERE x.name = s.name AND beds <= k), 0) / s.total AS f
      FROM support s, generate_series(s.lo - 12, s.hi + 12) k
)
SELECT ds.name, y,
       (SELECT sum((c.f - (y <= c.k)::int) ^ 2) FROM cdf c WHERE c.name = ds.name) AS crps,
       (SELECT c.f FROM cdf c WHERE c.name = ds.name AND c.k = y) AS f_y,
       (SELECT c.f FROM cdf c WHERE c.name = ds.name AND c.k = y - 1) AS f_y1
  FROM dists ds, support s, generate_series(s.lo - 3, s.hi + 3) y
 WHERE s.name = ds.name;
SELECT b.name, count(*) AS counts,
       max(abs(icu_predict.bed_demand_crps(d.d, b.y) - b.crps)) < 1e-12 AS crps_ok,
       max(abs(icu_predict.bed_demand_cdf(d.d, b.y) - b.f_y)) < 1e-12 AS cdf_ok,
       max(abs(icu_predict.bed_demand_pit(d.d, b.y, 0.3) - (b.f_y1 + 0.3 * (b.f_y - b.f_y1)))) < 1e-12 AS pit_ok,
       max(abs(icu_predict.bed_demand_pit_cdf(d.d, b.y, 0.42)
               - CASE WHEN 0.42 <= b.f_y1 THEN 0 WHEN 0.42 >= b.f_y THEN 1
                      ELSE (0.42 - b.f_y1) / (b.f_y - b.f_y1) END)) < 1e-12 AS pit_cdf_ok
  FROM brute b JOIN dists d USING (name) GROUP BY b.name ORDER BY b.name;

-- u and z outside [0, 1] or NaN: 22023
\set VERBOSITY terse
SELECT icu_predict.bed_demand_pit(d, 1, 1.5) FROM two;
SELECT icu_predict.bed_demand_pit(d, 1, 'NaN') FROM two;
SELECT icu_predict.bed_demand_pit_cdf(d, 1, -0.1) FROM two;
\set VERBOSITY default

-- ---------------------------------------------------------------- the log
-- A hand-made history (UTC).  Stay model fl_stay: S(t) = 2^-t (memoryless,
-- as in views.sql), so a patient in the ICU at the reference time is still
-- there d days later with probability 2^-d.  Units FL-A (4 staffed beds)
-- and FL-B (2 staffed, never used).
--   A 8001: ward W9 03-28 00:00, ICU FL-A 03-30 00:00 - 04-01 20:00, discharged
--   B 8002: ward W9 03-29 00:00, ICU FL-A 03-31 00:00 - 04-02 20:00, discharged
--   C 8003: straight into ICU FL-A 04-01 12:00 - 04-04 12:00, discharged
-- Census of FL-A at 08:00: 03-30 1, 03-31 2, 04-01 2, 04-02 2 (B, C),
-- 04-03 1 (C), 04-04 1; FL-B always 0.
--
-- Forecast as of R1 = 04-01 08:00: A and B in the ICU, nobody on a ward,
-- and the arrival window (7 days) holds A's and B's ICU episodes, both 2
-- days after admission, so the expected ICU entries of patients not yet in
-- hospital are 0 on forecast days 0 and 1: days 1 and 2 are exact binomials.
--   d0 (04-01 08:00): point mass at 2; realised 2
--       PIT = F(1) + u (F(2) - F(1)) = u;  CRPS 0;  error 0
--   d1 (04-02 08:00): Binomial(2, 1/2): F = 0.25, 0.75, 1; expected 1;
--       P05 = P10 = 0, P50 = 1, P90 = P95 = 2; realised 2 (B, C)
--       PIT = 0.75 + 0.25 u;  CRPS = 0.25^2 + 0.75^2 = 0.625;  |error| 1
--   d2 (04-03 08:00): Binomial(2, 1/4): pmf 9/16, 6/16, 1/16; F = 0.5625,
--       0.9375, 1; expected 0.5; P05 = P10 = P50 = 0, P90 = 1, P95 = 2;
--       realised 1 (C)
--       PIT = 0.5625 + 0.375 u;  CRPS = 0.5625^2 + 0.0625^2 = 0.3203125;
--       |error| 0.5
--   persistence: the census at R1, 2: |error| 0, 0, 1 at d0, d1, d2
--   7-day mean: census at R1 - 1..7 days = 2, 1, 0, 0, 0, 0, 0 -> 3/7 =
--       0.428571: |error| 1.571429, 1.571429, 0.571429
-- FL-B: point mass at 0 at d0..d2 (no patients, no arrivals yet), realised
-- 0: CRPS 0.  The total row equals FL-A's there.
SET timezone = 'UTC';
ALTER SEQUENCE icu_predict.refresh_log_run_id_seq RESTART WITH 101;
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('fl_stay', '1', 'icu_stay', 'linear', NULL,
   '{"format": "linear", "link": "log", "intercept": 0.36651292058166435,
     "stay": {"distribution": "extreme", "sigma": 1},
     "inputs": [{"covariate": "age_years", "impute": 0, "coef": 0}]}');
SELECT name, version FROM icu_predict.deploy('fl_stay', '1');
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (8001, 'f1', '2020-03-28 00:00+00', 70),
    (8002, 'f2', '2020-03-29 00:00+00', 60),
    (8003, 'f3', '2020-04-01 12:00+00', 50);
UPDATE icu_predict.admission SET discharged_at = CASE admission_id
    WHEN 8001 THEN '2020-04-01 20:00+00'::timestamptz
    WHEN 8002 THEN '2020-04-02 20:00+00' ELSE '2020-04-04 12:00+00' END
 WHERE admission_id IN (8001, 8002, 8003);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (8001, 'W9',   'ward', 'none', '2020-03-28 00:00+00', '2020-03-30 00:00+00'),
    (8001, 'FL-A', 'icu',  'none', '2020-03-30 00:00+00', '2020-04-01 20:00+00'),
    (8002, 'W9',   'ward', 'none', '2020-03-29 00:00+00', '2020-03-31 00:00+00'),
    (8002, 'FL-A', 'icu',  'none', '2020-03-31 00:00+00', '2020-04-02 20:00+00'),
    (8003, 'FL-A', 'icu',  'none', '2020-04-01 12:00+00', '2020-04-04 12:00+00');
INSERT INTO icu_predict.icu_capacity VALUES ('FL-A', '2020-01-01', 4, 5), ('FL-B', '2020-01-01', 2, 2);

-- the census rule is icu_occupancy's: equal at the midnights that end each day
SELECT count(*) AS unit_days,
       count(*) FILTER (WHERE o.patients IS DISTINCT FROM c.patients) AS differing
  FROM icu_predict.icu_occupancy('2020-03-27', '2020-04-06') o
  LEFT JOIN LATERAL icu_predict.icu_census_at((o.day + 1)::timestamp AT TIME ZONE 'UTC') c
    ON c.unit = o.unit;
SELECT at, unit, patients
  FROM icu_predict.icu_census(ARRAY['2020-03-31 08:00+00', '2020-04-02 08:00+00',
                                    '2020-04-03 08:00+00', NULL]::timestamptz[])
 ORDER BY at, unit;

-- Replays: R1, a second run on R1's day (14:00, not of record), R2.
SET icu_predict.reference_time = '2020-04-01 08:00+00';
CALL icu_predict.refresh();
SET icu_predict.reference_time = '2020-04-01 14:00+00';
CALL icu_predict.refresh();
SET icu_predict.reference_time = '2020-04-02 08:00+00';
CALL icu_predict.refresh();
SELECT run_id, succeeded, reference_time FROM icu_predict.refresh_log ORDER BY run_id;

-- 15 horizon days x (FL-A, FL-B, total) per run; all replays; the first run
-- of each reference day is of record (policy default: from 00:00)
SELECT run_id, reference_date, count(*) AS n, bool_and(is_replay) AS replay,
       bool_and(of_record) AS all_of_record, bool_or(of_record) AS any_of_record,
       min(risk_model_version) AS risk_models, min(stay_model_version) AS stay_models,
       min(policy ->> 'forecast_log_retention_days') AS retention
  FROM icu_predict.forecast_log GROUP BY run_id, reference_date ORDER BY run_id;
-- (one action per unit, from days 0..3 together: FL-B holds, since scale
-- down needs 2 staffed beds spare at the P95 on each of those days)
SELECT unit, horizon_day, forecast_at, round(expected_beds::numeric, 6) AS expected,
       round(variance_beds::numeric, 6) AS variance, p05_beds, p10_beds, p50_beds, p90_beds, p95_beds,
       occupied_now, census_now, round(census_mean_7d::numeric, 6) AS mean_7d, staffed_beds,
       recommended_action
  FROM icu_predict.forecast_log WHERE run_id = 101 AND horizon_day <= 2
 ORDER BY is_total, unit, horizon_day;
-- the components are the forecast's: their means add up to the expected beds
-- and, with the patients independent of the inflow, their variances to the
-- variance of the distribution logged
SELECT count(*) AS rows_logged,
       count(*) FILTER (WHERE abs(icu_mean + ward_mean + arrivals_mean - expected_beds) < 1e-9) AS means_add_up,
       count(*) FILTER (WHERE abs(icu_var + ward_var + arrivals_var - variance_beds) < 1e-6) AS variances_add_up
  FROM icu_predict.forecast_log;

-- ---------------------------------------------------------------- grading
-- Graded as of 04-03 08:00: forecasts whose moment has passed.
SET icu_predict.reference_time = '2020-04-03 08:00+00';
SELECT run_id, unit, horizon_day, of_record, realised, in_p10_p90, in_p05_p95,
       round(pit_u::numeric, 6) AS u, round(pit::numeric, 6) AS pit, round(crps::numeric, 7) AS crps,
       round(abs_error::numeric, 6) AS abs_error, persistence, persistence_abs_error,
       round(mean_7d_abs_error::numeric, 6) AS mean_7d_abs_error
  FROM icu_predict.forecast_grade WHERE run_id = 101
 ORDER BY is_total, unit, horizon_day;
-- the PIT of the hand-computed rows, from their u
SELECT horizon_day,
       round((pit - CASE horizon_day WHEN 0 THEN pit_u WHEN 1 THEN 0.75 + 0.25 * pit_u
                     ELSE 0.5625 + 0.375 * pit_u END)::numeric, 12) AS pit_minus_hand
  FROM icu_predict.forecast_grade WHERE run_id = 101 AND unit = 'FL-A' ORDER BY horizon_day;
-- u is a function of the row's key: the same on every read
SELECT count(*) AS rows, count(DISTINCT pit_u) AS distinct_u,
       bool_and(pit_u >= 0 AND pit_u < 1) AS u_in_unit_interval
  FROM icu_predict.forecast_grade;
-- nothing past the reference time of grading is graded
SELECT max(forecast_at) AS last_graded FROM icu_predict.forecast_grade;

-- Skill: live rows only (the default) gives nothing here, all are replays.
SELECT count(*) AS live_rows FROM icu_predict.forecast_skill();
-- With the replay rows: of record are R1 (run 101) and R2 (run 103), graded
-- where forecast_at <= 04-03 08:00: h0 and h1 of both, h2 of R1.
--   FL-A h0: R1 and R2 are point masses at the census (2): CRPS 0, MAE 0;
--     persistence MAE 0 too, so its skills are NULL (no error to beat).
--   FL-A h1: R1 (PIT 0.962784, outside both ranges) and R2 (B and C in the
--     ICU, C a direct admission in the window, so the inflow enters; not
--     computed by hand): PIT coverage 0.5.
--   FL-A h2: R1 alone: PIT 0.906025 -> outside [0.1, 0.9], inside
--     [0.05, 0.95]: coverage 0 and 1; inclusive intervals 1 and 1;
--     CRPS 0.3203125, MAE 0.5, bias -0.5, persistence MAE 1 -> skills
--     1 - 0.3203125 = 0.6796875 (CRPS) and 0.5 (MAE); 7-day mean MAE
--     0.571429 -> CRPS skill 1 - 0.3203125 / 0.571429 = 0.439453, MAE skill
--     1 - 0.5 / 0.571429 = 0.125.
SELECT unit, horizon_day, n_forecasts, coverage_80, coverage_90, coverage_80_interval,
       coverage_90_interval, round(mean_crps::numeric, 7) AS crps, round(mae::numeric, 6) AS mae,
       round(bias::numeric, 6) AS bias, persistence_mae,
       round(crps_skill_persistence::numeric, 7) AS crps_skill_p, round(mae_skill_persistence::numeric, 6) AS mae_skill_p,
       round(mean_7d_mae::numeric, 6) AS mean_7d_mae,
       round(crps_skill_mean_7d::numeric, 6) AS crps_skill_m7, round(mae_skill_mean_7d::numeric, 6) AS mae_skill_m7
  FROM icu_predict.forecast_skill(28, false) WHERE horizon_day <= 2
 ORDER BY is_total, unit, horizon_day;
-- the non-randomised PIT histogram sums to 1 per unit and horizon
SELECT unit, horizon_day, array_length(pit_histogram, 1) AS bars,
       round((SELECT sum(x) FROM unnest(pit_histogram) x)::numeric, 12) AS total
  FROM icu_predict.forecast_skill(28, false) WHERE horizon_day <= 2 AND unit = 'FL-A'
 ORDER BY horizon_day;
-- FL-A h2 (R1 alone, realised 1): the PIT given y = 1 is uniform on
-- [0.5625, 0.9375]: bars 6 to 9 get 0.0375/0.375 = 0.1, 0.266667, 0.266667,
-- 0.266667 and bar 10 gets 0.0375/0.375 = 0.1.
SELECT round(x::numeric, 6) AS bar FROM icu_predict.forecast_skill(28, false) s, unnest(s.pit_histogram) x
 WHERE s.unit = 'FL-A' AND s.horizon_day = 2;
\set VERBOSITY terse
SELECT * FROM icu_predict.forecast_skill(0);
SELECT * FROM icu_predict.forecast_skill(28, NULL);
\set VERBOSITY default

-- ---------------------------------------------------------------- rules
-- Append-only: UPDATE is refused (55000).
\set VERBOSITY terse
UPDATE icu_predict.forecast_log SET expected_beds = 0 WHERE run_id = 101 AND unit = 'FL-A' AND horizon_day = 0;
\set VERBOSITY default

-- A failed run logs nothing: a trigger of ours breaks the insert; the run
-- is logged as failed, capacity_forecast keeps R2's rows, forecast_log its.
CREATE FUNCTION pg_temp.fl_break() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'broken on purpose'; END$$;
CREATE TRIGGER fl_break BEFORE INSERT ON icu_predict.forecast_log
    FOR EACH ROW EXECUTE FUNCTION pg_temp.fl_break();
SET icu_predict.reference_time = '2020-04-03 09:00+00';
\set VERBOSITY terse
CALL icu_predict.refresh();
\set VERBOSITY default
DROP TRIGGER fl_break ON icu_predict.forecast_log;
SELECT run_id, succeeded, error FROM icu_predict.refresh_log WHERE run_id = 104;
SELECT count(*) AS rows_of_run_104 FROM icu_predict.forecast_log WHERE run_id = 104;
SELECT DISTINCT reference_time FROM icu_predict.capacity_forecast;

-- of_record from a time of day: with forecast_of_record_after 10:00, a run
-- at 09:30 is not of record, the next at 11:00 is, and one at 12:00 is not.
INSERT INTO icu_predict.capacity_policy (forecast_of_record_after) VALUES ('10:00');
SET icu_predict.reference_time = '2020-04-03 09:30+00';
CALL icu_predict.refresh();
SET icu_predict.reference_time = '2020-04-03 11:00+00';
CALL icu_predict.refresh();
SET icu_predict.reference_time = '2020-04-03 12:00+00';
CALL icu_predict.refresh();
SELECT run_id, reference_time, bool_and(of_record) AS of_record, count(*) AS n
  FROM icu_predict.forecast_log WHERE reference_date = '2020-04-03'
 GROUP BY run_id, reference_time ORDER BY run_id;
-- one forecast of record per unit, reference day, horizon and kind
\set VERBOSITY terse
INSERT INTO icu_predict.forecast_log
SELECT run_id + 1000, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
       horizon_day, demand, expected_beds, variance_beds, p05_beds, p10_beds, p50_beds, p90_beds,
       p95_beds, occupied_now, census_now, census_mean_7d, staffed_beds, surge_beds,
       prob_over_staffed, prob_over_surge, recommended_action, arrivals_per_day, icu_mean,
       icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var, policy, risk_model_version,
       stay_model_version, is_replay, of_record, logged_at
  FROM icu_predict.forecast_log WHERE run_id = 101;
\set VERBOSITY default

-- A live run (reference time = the wall clock): is_replay false, of record.
-- Retention: live rows older than forecast_log_retention_days (set to 30)
-- go at the next refresh; replay rows (reference times in 2020) stay.
RESET icu_predict.reference_time;
UPDATE icu_predict.capacity_policy SET forecast_log_retention_days = 30, forecast_of_record_after = '00:00';
-- two live rows of an old run, copied from run 101 and moved 40 and 20 days back
INSERT INTO icu_predict.forecast_log
SELECT 9000 + k, now() - make_interval(days => 10 * k), (now() - make_interval(days => 10 * k))::date,
       now() - make_interval(days => 10 * k), (now() - make_interval(days => 10 * k))::date,
       unit, is_total, 0, demand, expected_beds, variance_beds, p05_beds, p10_beds, p50_beds, p90_beds,
       p95_beds, occupied_now, census_now, census_mean_7d, staffed_beds, surge_beds,
       prob_over_staffed, prob_over_surge, recommended_action, arrivals_per_day, icu_mean,
       icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var, policy, risk_model_version,
       stay_model_version, false, true, logged_at
  FROM icu_predict.forecast_log, (VALUES (2), (4)) v(k)
 WHERE run_id = 101 AND unit = 'FL-A' AND horizon_day = 0;
SELECT run_id, is_replay FROM icu_predict.forecast_log WHERE run_id >= 9000 ORDER BY run_id;
CALL icu_predict.refresh();
SELECT run_id FROM icu_predict.forecast_log WHERE run_id >= 9000 ORDER BY run_id;
SELECT is_replay, count(DISTINCT run_id) AS runs, bool_and(of_record) FILTER (WHERE NOT is_replay) AS live_of_record
  FROM icu_predict.forecast_log GROUP BY is_replay ORDER BY is_replay;
-- Live skill: the copy of 40 days ago is gone; the one of 20 days ago (a
-- point mass at 2, realised 0 now that nobody is in the ICU: CRPS 2) and
-- the live run's day 0 (0 beds, realised 0: CRPS 0) give FL-A h0 a mean
-- CRPS and MAE of 1.
SELECT unit, horizon_day, n_forecasts, round(mean_crps::numeric, 6) AS crps, round(mae::numeric, 6) AS mae
  FROM icu_predict.forecast_skill(28) ORDER BY is_total, unit, horizon_day;

-- ---------------------------------------------------------------- calibration
-- bed_demand_widen by hand.  pmf 1/4, 1/2, 1/4 on 2, 3, 4 (mean 3):
--   factor 1.5: 2 -> 1.5 (1/8 on 1, 1/8 on 2), 3 -> 3, 4 -> 4.5 (1/8 on 4,
--   1/8 on 5): mean 3, variance 4/8 + 1/8 + 1/8 + 4/8 = 1.25 = 1.5^2 * 0.5
--   + 0.125 (the splits);
--   factor 0.5: 2 -> 2.5, 4 -> 3.5: 1/8, 3/4, 1/8 on 2, 3, 4, variance 0.25.
-- pmf 1/4, 1/2, 1/4 on 0, 1, 2 (mean 1), factor 1.5: 0 -> -0.5 is held at
--   0, 2 -> 2.5: 1/4, 1/2, 1/8, 1/8 on 0..3, mean 1.125 (the mass held at 0
--   raises it by 1/4 * 1/2).
SELECT f, beds, probability
  FROM (VALUES (1.5::float8), (0.5)) v(f),
       icu_predict.bed_demand_pmf(icu_predict.bed_demand_widen('{"offset": 2, "pmf": [0.25, 0.5, 0.25]}', f))
 ORDER BY f DESC, beds;
SELECT icu_predict.bed_demand_mean(w) AS mean, icu_predict.bed_demand_variance(w) AS variance
  FROM (VALUES (1.5::float8), (0.5)) v(f),
       LATERAL (SELECT icu_predict.bed_demand_widen('{"offset": 2, "pmf": [0.25, 0.5, 0.25]}', f) AS w) x
 ORDER BY f DESC;
SELECT x.beds, x.probability FROM two, icu_predict.bed_demand_pmf(icu_predict.bed_demand_widen(two.d, 1.5)) x ORDER BY x.beds;
SELECT icu_predict.bed_demand_mean(icu_predict.bed_demand_widen(d, 1.5)) AS mean_held_at_0 FROM two;
-- factor 1 gives the input; a point mass stays where it is
SELECT icu_predict.bed_demand_widen(d, 1)::text = d::text AS unchanged FROM dists WHERE name = 'binomial';
SELECT icu_predict.bed_demand_widen('{"offset": 5, "pmf": [1]}', 3)::text AS point_mass;
-- the factor: k^2 = (n_eff mean_sq_z + 4) / (n_eff + 4), within [0.5, 5]
--   (1, 10) -> 1;  (4, 4) -> sqrt(20 / 8) = 1.581139;  (9, 0) -> 1 (no
--   history);  (0, 1000) -> sqrt(4 / 1004) = 0.063 -> 0.5;
--   (100, 1000) -> sqrt(100004 / 1004) = 9.98 -> 5
SELECT msz, neff, round(icu_predict.bed_demand_calibration_factor(msz, neff)::numeric, 6) AS factor
  FROM (VALUES (1::float8, 10::float8), (4, 4), (9, 0), (0, 1000), (100, 1000)) v(msz, neff);
\set VERBOSITY terse
SELECT icu_predict.bed_demand_widen(d, -1) FROM two;
SELECT icu_predict.bed_demand_calibration_factor('NaN', 1);
INSERT INTO icu_predict.capacity_policy (calibration_window_days) VALUES (3);
\set VERBOSITY default

-- The calibration on a hand-made graded past.  Patient D 8004 enters the
-- ICU FL-A on 06-01 00:00 (admitted then); the forecast is made as of
-- 06-01 08:00, with calibration on, a 7-day window and a cold start below
-- 3 graded forecasts.  Before 06-01 every unit's census is 0.
UPDATE icu_predict.capacity_policy
   SET calibration = true, calibration_window_days = 7, calibration_min_forecasts = 3;
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (8004, 'f4', '2020-06-01 00:00+00', 65);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at) VALUES
    (8004, 'FL-A', 'icu', 'none', '2020-06-01 00:00+00');
SET icu_predict.reference_time = '2020-06-01 08:00+00';
-- No graded history in the window (the replay rows of April are older):
-- every row is the forecast as computed, 'cold start' with factor 1 and 0
-- forecasts, day 0 'census now'.
CALL icu_predict.refresh();
SELECT calibration_status, count(*) AS n, min(calibration_factor) AS factor_min,
       max(calibration_factor) AS factor_max, max(calibration_forecasts) AS forecasts
  FROM icu_predict.capacity_forecast GROUP BY calibration_status ORDER BY calibration_status;
CREATE TEMP TABLE fl_raw AS SELECT unit, horizon_day, demand FROM icu_predict.capacity_forecast;
-- The graded past: forecasts of record (replays) whose moment lies in the
-- window, each with mean m and variance v (as icu_mean and icu_var) and met
-- by a census of 0, so z^2 = m^2 / v:
--   FL-A h1: 4 forecasts, moments 05-28 .. 05-31, m 1, v 0.5: z^2 = 2;
--            reference days span 3 days: n_eff = min(4, 3 / 1 + 1) = 4;
--            k = sqrt((4 * 2 + 4) / 8) = 1.224745
--   FL-A h2: 3 forecasts, moments 05-29 .. 05-31, m 2, v 1: z^2 = 4; span
--            2 days: n_eff = min(3, 2 / 2 + 1) = 2; k = sqrt(12 / 6) = 1.414214
--   FL-A h3: 2 forecasts (m 1, v 1): below the minimum of 3: cold start
--   FL-B h1: 3 forecasts, m 20, v 1: z^2 = 400, held at 100; n_eff 3;
--            k = sqrt(304 / 7) = 6.59, held at 5
--   total h1: 3 forecasts, m 1, v 4: z^2 = 0.25; n_eff 3;
--            k = sqrt(4.75 / 7) = 0.823754 (narrower)
--   FL-B h2 and the other horizons: no history: cold start
-- and rows that must not count (FL-A, wild m = 9): a live row, a replay
-- row not of record, one older than the window (05-20), and one at h3
-- whose moment (06-03) has not come yet.
INSERT INTO icu_predict.forecast_log
       (run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
        horizon_day, demand, expected_beds, variance_beds,
        p05_beds, p10_beds, p50_beds, p90_beds, p95_beds, occupied_now, census_now, census_mean_7d,
        staffed_beds, surge_beds, prob_over_staffed, prob_over_surge, recommended_action,
        arrivals_per_day, icu_mean, icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var,
        policy, risk_model_version, stay_model_version, is_replay, of_record, logged_at)
SELECT 7000 + row_number() OVER (), v.at - make_interval(days => v.h), (v.at - make_interval(days => v.h))::date,
       v.at, v.at::date, v.unit, v.unit = 'All ICU units', v.h, t.demand, v.m, v.v,
       t.p05_beds, t.p10_beds, t.p50_beds, t.p90_beds, t.p95_beds, 0, 0, 0,
       NULL, NULL, NULL, NULL, 'hold', 0, v.m, v.v, 0, 0, 0, 0,
       t.policy, NULL, NULL, v.replay, v.of_record, now()
  FROM icu_predict.forecast_log t,
       (VALUES ('FL-A', 1, '2020-05-28 08:00+00'::timestamptz, 1::float8, 0.5::float8, true, true),
               ('FL-A', 1, '2020-05-29 08:00+00', 1, 0.5, true, true),
               ('FL-A', 1, '2020-05-30 08:00+00', 1, 0.5, true, true),
               ('FL-A', 1, '2020-05-31 08:00+00', 1, 0.5, true, true),
               ('FL-A', 2, '2020-05-29 08:00+00', 2, 1, true, true),
               ('FL-A', 2, '2020-05-30 08:00+00', 2, 1, true, true),
               ('FL-A', 2, '2020-05-31 08:00+00', 2, 1, true, true),
               ('FL-A', 3, '2020-05-30 08:00+00', 1, 1, true, true),
               ('FL-A', 3, '2020-05-31 08:00+00', 1, 1, true, true),
               ('FL-B', 1, '2020-05-29 08:00+00', 20, 1, true, true),
               ('FL-B', 1, '2020-05-30 08:00+00', 20, 1, true, true),
               ('FL-B', 1, '2020-05-31 08:00+00', 20, 1, true, true),
               ('All ICU units', 1, '2020-05-29 08:00+00', 1, 4, true, true),
               ('All ICU units', 1, '2020-05-30 08:00+00', 1, 4, true, true),
               ('All ICU units', 1, '2020-05-31 08:00+00', 1, 4, true, true),
               ('FL-A', 1, '2020-05-30 08:00+00', 9, 0.5, false, true),
               ('FL-A', 1, '2020-05-30 12:00+00', 9, 0.5, true, false),
               ('FL-A', 1, '2020-05-20 08:00+00', 9, 0.5, true, true),
               ('FL-A', 3, '2020-06-03 08:00+00', 9, 0.5, true, true))
            AS v(unit, h, at, m, v, replay, of_record)
 WHERE t.run_id = 101 AND t.unit = 'FL-A' AND t.horizon_day = 0;
CALL icu_predict.refresh();
SELECT unit, horizon_day, calibration_status, round(calibration_factor::numeric, 6) AS factor,
       calibration_forecasts AS forecasts, round(calibration_effective_forecasts::numeric, 6) AS n_eff
  FROM icu_predict.capacity_forecast WHERE horizon_day <= 3
 ORDER BY is_total, unit, horizon_day;
-- the published distribution is the computed one widened by the factor, and
-- the quantiles, P(demand > staffed) and P(demand > surge) are read from it
SELECT count(*) AS rows,
       count(*) FILTER (WHERE cf.demand::text
                        = icu_predict.bed_demand_widen(r.demand, cf.calibration_factor)::text) AS widened_as_stated,
       count(*) FILTER (WHERE cf.calibration_status = 'calibrated'
                          AND cf.demand::text <> r.demand::text) AS changed,
       count(*) FILTER (WHERE cf.p10_beds = icu_predict.bed_demand_quantile(cf.demand, 0.1)
                          AND cf.p90_beds = icu_predict.bed_demand_quantile(cf.demand, 0.9)
                          AND cf.p95_beds = icu_predict.bed_demand_quantile(cf.demand, 0.95)
                          AND abs(cf.expected_beds - icu_predict.bed_demand_mean(cf.demand)) < 1e-12
                          AND cf.prob_over_staffed = icu_predict.bed_demand_prob_exceeds(cf.demand, cf.staffed_beds)
                          AND cf.prob_over_surge = icu_predict.bed_demand_prob_exceeds(cf.demand, cf.surge_beds))
           AS read_from_calibrated
  FROM icu_predict.capacity_forecast cf
  JOIN fl_raw r USING (unit, horizon_day);
-- FL-B h1 widened by 5, against the rule computed here from the computed
-- pmf: each count x to m + 5 (x - m), held at 0, split between the integers
-- around it (the mean is kept but for the mass held at 0)
WITH r AS (SELECT demand FROM fl_raw WHERE unit = 'FL-B' AND horizon_day = 1),
     m AS (SELECT sum(beds * probability) / sum(probability) AS m FROM r, icu_predict.bed_demand_pmf(r.demand)),
     img AS (SELECT probability AS p, greatest(0, m.m + 5 * (beds - m.m)) AS x
               FROM r, m, icu_predict.bed_demand_pmf(r.demand)),
     brute AS (SELECT k AS beds, sum(q) AS probability
                 FROM (SELECT floor(x)::int AS k, p * (1 - (x - floor(x))) AS q FROM img
                       UNION ALL
                       SELECT floor(x)::int + 1, p * (x - floor(x)) FROM img) z
                GROUP BY k),
     cf AS (SELECT x.* FROM icu_predict.capacity_forecast c, icu_predict.bed_demand_pmf(c.demand) x
             WHERE c.unit = 'FL-B' AND c.horizon_day = 1)
SELECT count(*) AS counts, max(abs(coalesce(cf.probability, 0) - coalesce(b.probability, 0))) < 1e-10 AS as_the_rule,
       (SELECT m FROM m) > 0 AS nondegenerate,
       (SELECT icu_predict.bed_demand_variance(c.demand) FROM icu_predict.capacity_forecast c
         WHERE c.unit = 'FL-B' AND c.horizon_day = 1)
       > 4 * (SELECT icu_predict.bed_demand_variance(r.demand) FROM r) AS much_wider
  FROM brute b FULL JOIN cf USING (beds);
-- the log records what was published, and earlier runs say they were uncalibrated
SELECT count(*) AS rows, count(*) FILTER (WHERE l.calibration_factor IS NOT DISTINCT FROM cf.calibration_factor
                                              AND l.calibration_forecasts = cf.calibration_forecasts
                                              AND l.calibration_status = cf.calibration_status
                                              AND l.demand::text = cf.demand::text) AS as_published
  FROM icu_predict.forecast_log l
  JOIN icu_predict.capacity_forecast cf USING (unit, horizon_day)
 WHERE l.run_id = (SELECT max(run_id) FROM icu_predict.refresh_log);
SELECT calibration_status, calibration_factor IS NULL AS no_factor, count(DISTINCT run_id) AS runs
  FROM icu_predict.forecast_log WHERE run_id < 7000 AND reference_date < '2020-05-01'
 GROUP BY 1, 2 ORDER BY 1;
-- The policy's bounds of the factor.  FL-B h7: 3 forecasts (m 20, v 1, met
-- by 0: z^2 400, held at 100), moments 05-29 .. 05-31, reference days span
-- 2 days: n_eff = min(3, 2 / 7 + 1) = 1.285714; k^2 = (128.5714 + 4) /
-- 5.285714 = 25.08, k = 5.008, held at 5 by the factor function.  With
-- calibration_min_factor 1 the total's h1 factor 0.823754 becomes 1 (never
-- narrower), with calibration_max_factor_long 1.5 FL-B h7 becomes 1.5 while
-- FL-B h1 (a short horizon) stays 5.
INSERT INTO icu_predict.forecast_log
       (run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
        horizon_day, demand, expected_beds, variance_beds,
        p05_beds, p10_beds, p50_beds, p90_beds, p95_beds, occupied_now, census_now, census_mean_7d,
        staffed_beds, surge_beds, prob_over_staffed, prob_over_surge, recommended_action,
        arrivals_per_day, icu_mean, icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var,
        policy, risk_model_version, stay_model_version, is_replay, of_record, logged_at)
SELECT 7100 + row_number() OVER (), v.at - make_interval(days => 7), (v.at - make_interval(days => 7))::date,
       v.at, v.at::date, 'FL-B', false, 7, t.demand, 20, 1,
       t.p05_beds, t.p10_beds, t.p50_beds, t.p90_beds, t.p95_beds, 0, 0, 0,
       NULL, NULL, NULL, NULL, 'hold', 0, 20, 1, 0, 0, 0, 0,
       t.policy, NULL, NULL, true, true, now()
  FROM icu_predict.forecast_log t,
       (VALUES ('2020-05-29 08:00+00'::timestamptz), ('2020-05-30 08:00+00'), ('2020-05-31 08:00+00')) AS v(at)
 WHERE t.run_id = 101 AND t.unit = 'FL-A' AND t.horizon_day = 0;
CALL icu_predict.refresh();
SELECT unit, horizon_day, calibration_status, round(calibration_factor::numeric, 6) AS factor
  FROM icu_predict.capacity_forecast
 WHERE (unit, horizon_day) IN (('All ICU units', 1), ('FL-A', 1), ('FL-B', 1), ('FL-B', 7))
 ORDER BY is_total, unit, horizon_day;
UPDATE icu_predict.capacity_policy SET calibration_min_factor = 1, calibration_max_factor_long = 1.5;
CALL icu_predict.refresh();
SELECT unit, horizon_day, calibration_status, round(calibration_factor::numeric, 6) AS factor,
       cf.demand::text = icu_predict.bed_demand_widen(r.demand, cf.calibration_factor)::text AS widened_as_stated
  FROM icu_predict.capacity_forecast cf
  JOIN fl_raw r USING (unit, horizon_day)
 WHERE (unit, horizon_day) IN (('All ICU units', 1), ('FL-A', 1), ('FL-B', 1), ('FL-B', 7))
 ORDER BY is_total, unit, horizon_day;
RESET icu_predict.reference_time;

-- clean up: the regression database is shared
DELETE FROM icu_predict.forecast_log;
DELETE FROM icu_predict.refresh_log;
DELETE FROM icu_predict.capacity_policy;
DELETE FROM icu_predict.admission WHERE admission_id IN (8001, 8002, 8003, 8004);
DELETE FROM icu_predict.icu_capacity WHERE unit IN ('FL-A', 'FL-B');
DELETE FROM icu_predict.model_deployment WHERE model_id IN
    (SELECT model_id FROM icu_predict.model WHERE name = 'fl_stay');
DELETE FROM icu_predict.model WHERE name = 'fl_stay';
REFRESH MATERIALIZED VIEW icu_predict.capacity_forecast WITH NO DATA;
REFRESH MATERIALIZED VIEW icu_predict.patient_status WITH NO DATA;
ALTER SEQUENCE icu_predict.refresh_log_run_id_seq RESTART WITH 1;
RESET timezone;
