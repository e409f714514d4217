-- The common shift of capacity_forecast (capacity_policy.common_shift):
-- bed_demand_shift_logit and its mean-preserving offset, the mixture over a
-- common logit shift against brute force, the shift's size per horizon band
-- estimated from a tiny hand-made forecast log (hand-computed), the cold
-- start per band, the mixture applied in the forecast (mean kept), the
-- policy's CHECKs, and a non-owner refresh with the setting on.
BEGIN;
SELECT plan(42);

SET LOCAL timezone = 'UTC';

-- ------------------------------------------------------------ objects and defaults
SELECT has_function('icu_predict', 'bed_demand_shift_logit', ARRAY['double precision', 'double precision']);
SELECT ok((SELECT provolatile = 'i' AND proisstrict AND proparallel = 's'
             FROM pg_proc WHERE oid = 'icu_predict.bed_demand_shift_logit(float8, float8)'::regprocedure),
    'bed_demand_shift_logit is IMMUTABLE STRICT PARALLEL SAFE');
SELECT has_function('icu_predict', 'bed_demand_shift_logit_offset',
    ARRAY['double precision', 'double precision', 'integer']);
SELECT ok((SELECT provolatile = 'i' AND proisstrict AND proparallel = 's'
             FROM pg_proc WHERE oid = 'icu_predict.bed_demand_shift_logit_offset(float8, float8, integer)'::regprocedure),
    'bed_demand_shift_logit_offset is IMMUTABLE STRICT PARALLEL SAFE');
SELECT is((icu_predict.capacity_settings()).common_shift, false, 'the common shift is off by default');
SELECT is((icu_predict.capacity_settings()).common_shift_nodes, 9, '9 nodes by default');
SELECT is_empty($$
    SELECT a.attname FROM pg_attribute a
     WHERE a.attrelid = 'icu_predict.capacity_forecast'::regclass
       AND a.attname IN ('icu_shift_sd', 'ward_shift_sd', 'shift_forecasts', 'shift_status')
       AND coalesce(col_description(a.attrelid, a.attnum), '') = ''
    UNION ALL
    SELECT a.attname FROM pg_attribute a
     WHERE a.attrelid = 'icu_predict.capacity_policy'::regclass
       AND a.attname IN ('common_shift', 'common_shift_nodes')
       AND coalesce(col_description(a.attrelid, a.attnum), '') = ''$$,
    'the new columns have comments');

-- ------------------------------------------------------------ bed_demand_shift_logit
SELECT ok(abs(icu_predict.bed_demand_shift_logit(0.2, 0.7) - 1 / (1 + exp(-(ln(0.25) + 0.7)))) < 1e-15,
    'shift_logit(0.2, 0.7) = expit(logit 0.2 + 0.7)');
SELECT ok(abs(icu_predict.bed_demand_shift_logit(0.9, -1.3) - 1 / (1 + exp(-(ln(9.0) - 1.3)))) < 1e-15,
    'shift_logit(0.9, -1.3) = expit(logit 0.9 - 1.3)');
SELECT ok(icu_predict.bed_demand_shift_logit(0, 5) = 0 AND icu_predict.bed_demand_shift_logit(1, -5) = 1
          AND icu_predict.bed_demand_shift_logit(0.3, 0) = 0.3,
    'p = 0 and p = 1 (no logit) and a zero shift leave p as it is');
SELECT ok(abs(icu_predict.bed_demand_shift_logit(1e-300, 2) / 1e-300 - exp(2.0)) < 1e-12
          AND icu_predict.bed_demand_shift_logit(0.5, 800) = 1
          AND icu_predict.bed_demand_shift_logit(0.5, -800) = 0,
    'a tiny p keeps its precision (odds times e^s), extreme shifts saturate without overflow');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit(1.5, 0)$$, '22023',
    'bed_demand_shift_logit probability 1.5 is outside [0, 1]', 'p above 1 raises 22023 naming the value');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit('NaN', 0)$$, '22023', NULL, 'p NaN raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit(0.5, 'Infinity')$$, '22023',
    'bed_demand_shift_logit shift Infinity is not a finite number', 'an infinite shift raises 22023');

-- ------------------------------------------------------------ bed_demand_shift_logit_offset
-- two nodes z = -1, +1 with weights 1/2: for p = 0.65 and sd = ln 2 the
-- offset puts logit(p) + c at ln 2, where (expit(ln 4) + expit(0)) / 2 =
-- (4/5 + 1/2) / 2 = 0.65; so c = ln 2 - logit(0.65) = ln(14/13)
SELECT ok(abs(icu_predict.bed_demand_shift_logit_offset(0.65, ln(2), 2) - ln(14.0 / 13)) < 1e-12,
    'offset(0.65, ln 2, 2 nodes) = ln(14/13), as computed by hand');
SELECT ok((SELECT bool_and(abs((SELECT sum(nd.weight * icu_predict.bed_demand_shift_logit(v.p, c.c + v.sd * nd.z))
                                  FROM icu_predict.bed_demand_normal_nodes(v.n) nd) - v.p) < 1e-12 * greatest(v.p, 1e-300) + 1e-15
                           AND (v.p >= 0.5 OR c.c < 0))
             FROM (VALUES (0.2::float8, 0.7::float8, 9), (0.03, 2.0, 9), (0.9, 1.3, 5), (1e-12, 1.5, 9),
                          (0.999, 0.4, 32)) v(p, sd, n),
                  LATERAL (SELECT icu_predict.bed_demand_shift_logit_offset(v.p, v.sd, v.n) AS c) c),
    'with the offset the mixture over the nodes keeps p as its mean (p < 1/2: c < 0)');
SELECT ok(abs(icu_predict.bed_demand_shift_logit_offset(0.2, 0.8, 9) + icu_predict.bed_demand_shift_logit_offset(0.8, 0.8, 9)) < 1e-12
          AND icu_predict.bed_demand_shift_logit_offset(0.5, 1.7, 9) = 0
          AND icu_predict.bed_demand_shift_logit_offset(0.3, 0, 9) = 0
          AND icu_predict.bed_demand_shift_logit_offset(0, 1, 9) = 0
          AND icu_predict.bed_demand_shift_logit_offset(1, 1, 9) = 0,
    'offset: c(1 - p) = -c(p); 0 at p = 1/2, sd = 0, p = 0 and p = 1');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit_offset(-0.1, 1, 9)$$, '22023',
    'bed_demand_shift_logit_offset probability -0.1 is outside [0, 1]', 'offset: p below 0 raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit_offset(0.5, -1, 9)$$, '22023',
    'bed_demand_shift_logit_offset standard deviation -1 is not a finite number >= 0', 'offset: a negative sd raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit_offset(0.01, 20000, 9)$$, '22023',
    'bed_demand_shift_logit_offset standard deviation 20000 is above 10000', 'offset: an sd above 10000 raises 22023');
SELECT ok(abs(icu_predict.bed_demand_shift_logit_offset(1e-12, 10000, 64)) < 1e6
          AND (SELECT abs(sum(w * icu_predict.bed_demand_shift_logit(1e-12,
                      icu_predict.bed_demand_shift_logit_offset(1e-12, 10000, 64) + 10000 * z)) - 1e-12) / 1e-12
                 FROM icu_predict.bed_demand_normal_nodes(64) AS nd(z, w)) < 1e-6,
    'offset: at sd = 10000 and p = 1e-12 (64 nodes) the mixture mean is still p');
SELECT throws_ok($$SELECT icu_predict.bed_demand_shift_logit_offset(0.5, 1, 65)$$, '22023',
    'bed_demand_shift_logit_offset nodes 65 is outside 1..64', 'offset: too many nodes raise 22023');

-- ------------------------------------------------------------ the mixture against brute force
-- three patients (0.2, 0.5, 0.7), a common logit shift 0.8 Z over 5 nodes:
-- P(X = k) = sum_j w_j sum over the 2^3 outcomes with k events of the
-- product of q_ij or 1 - q_ij, q_ij = expit(logit p_i + 0.8 z_j)
CREATE TEMP TABLE sh_p (i int, p float8) ON COMMIT DROP;
INSERT INTO sh_p VALUES (1, 0.2), (2, 0.5), (3, 0.7);
SELECT ok((SELECT max(abs(coalesce(m.probability, 0) - coalesce(b.p, 0)))
             FROM (SELECT k.k AS beds, sum(nd.weight * o.pr) AS p
                     FROM icu_predict.bed_demand_normal_nodes(5) nd
                    CROSS JOIN generate_series(0, 3) k
                    CROSS JOIN LATERAL (
                          SELECT sum(x.pr) AS pr FROM (
                              SELECT exp(sum(ln(CASE WHEN (mask >> (s.i - 1)) & 1 = 1
                                                     THEN icu_predict.bed_demand_shift_logit(s.p, 0.8 * nd.z)
                                                     ELSE 1 - icu_predict.bed_demand_shift_logit(s.p, 0.8 * nd.z) END)))
                                         AS pr,
                                     sum((mask >> (s.i - 1)) & 1) AS events
                                FROM generate_series(0, 7) mask, sh_p s GROUP BY mask) x
                           WHERE x.events = k.k) o
                    GROUP BY k.k) b
             FULL JOIN icu_predict.bed_demand_pmf((
                    SELECT icu_predict.bed_demand_mixture(d, w)
                      FROM (SELECT nd.weight AS w,
                                   icu_predict.bed_demand(icu_predict.bed_demand_shift_logit(s.p, 0.8 * nd.z)) AS d
                              FROM icu_predict.bed_demand_normal_nodes(5) nd, sh_p s
                             GROUP BY nd.z, nd.weight) q)) m USING (beds)) < 1e-15,
    'mixture over a common logit shift equals the brute-force enumeration of outcomes and nodes');

-- ------------------------------------------------------------ a tiny hospital and a hand-made log
-- One ICU unit TSH-IC.  A stay model with S(t) = 2^-t (memoryless, as in
-- demand_stay.sql), so every ICU patient's p(1) is 1/2.
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('tsh_stay', '1', 'icu_stay', 'linear', NULL,
   format('{"format": "linear", "link": "log", "intercept": %s,
            "stay": {"distribution": "extreme", "sigma": 1},
            "inputs": [{"covariate": "hours_since_admission", "impute": 0, "coef": 0}]}',
          ln(1 / ln(2)))::jsonb);
SELECT lives_ok($$SELECT icu_predict.deploy('tsh_stay', '1')$$, 'the test stay model is deployed');
-- 9601 in the ICU throughout; 9602 in the ICU until 04-16 00:00, then
-- discharged; 9603 on the ward from 04-12, in the ICU from 04-15 20:00;
-- 9604 admitted to the ICU on 04-16 00:00.
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, discharged_at, age_years) VALUES
    (9601, 'tsh1', '2020-04-10 00:00+00', NULL, 60),
    (9602, 'tsh2', '2020-04-10 00:00+00', '2020-04-16 00:00+00', 60),
    (9603, 'tsh3', '2020-04-12 00:00+00', NULL, 60),
    (9604, 'tsh4', '2020-04-16 00:00+00', NULL, 60);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (9601, 'TSH-IC', 'icu', 'none', '2020-04-10 00:00+00', NULL),
    (9602, 'TSH-IC', 'icu', 'none', '2020-04-10 00:00+00', '2020-04-16 00:00+00'),
    (9603, 'TSH-W', 'ward', 'none', '2020-04-12 00:00+00', '2020-04-15 20:00+00'),
    (9603, 'TSH-IC', 'icu', 'none', '2020-04-15 20:00+00', NULL),
    (9604, 'TSH-IC', 'icu', 'none', '2020-04-16 00:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('TSH-IC', '2020-01-01', 6, 8);

-- Two replay forecasts of record for all units, 1 day ahead:
--   F1 made 04-15 08:00 for 04-16 08:00: in an ICU then 9601, 9603, 9604;
--      of them in an ICU at 04-15 08:00: 9601 (y_icu = 1); on the ward
--      then: 9603 (y_ward = 1); 9604 was admitted later.
--      logged icu 2 (var 0.5), ward 0.3 (var 0.21)
--   F2 made 04-16 08:00 for 04-17 08:00: 9601, 9603, 9604 in an ICU at
--      both moments (y_icu = 3, y_ward = 0).
--      logged icu 2.5 (var 0.5), ward 0.6 (var 0.24)
-- Band 1-2 days:
-- sigma_icu^2  = ((1 - 2)^2 - 0.5 + (3 - 2.5)^2 - 0.5) / (0.5^2 + 0.5^2) = 0.25 / 0.5 = 0.5
-- sigma_ward^2 = ((1 - 0.3)^2 - 0.21 + (0 - 0.6)^2 - 0.24) / (0.21^2 + 0.24^2) = 0.40 / 0.1017
-- on 2 reference days spanning 1 day: n_eff = min(2, 1 / 2 + 1) = 1.5, so
-- sd^2 = sigma^2 * 1.5 / 5.5.
-- Two replay forecasts of record 3 days ahead (band 3-6 days):
--   F3 made 04-13 08:00 for 04-16 08:00: in an ICU then 9601, 9603, 9604;
--      in an ICU at 04-13 08:00 also: 9601 (y_icu = 1); 9603 on the ward
--      then (y_ward = 1).  Logged icu 1.5 (var 0.5), ward 0.5 (var 0.25)
--   F4 made 04-14 08:00 for 04-17 08:00: the same (y_icu = 1, y_ward = 1).
--      Logged icu 3 (var 0.5), ward 0.2 (var 0.16)
-- sigma_icu^2  = ((1 - 1.5)^2 - 0.5 + (1 - 3)^2 - 0.5) / 0.5 = 3.25 / 0.5 = 6.5
-- sigma_ward^2 = ((1 - 0.5)^2 - 0.25 + (1 - 0.2)^2 - 0.16) / (0.25^2 + 0.16^2) = 0.48 / 0.0881
-- n_eff = min(2, 1 / 6 + 1) = 7/6, sd^2 = sigma^2 * (7/6) / (7/6 + 4) = sigma^2 * 7 / 31.
-- Band 7-14 days: only a forecast whose moment has not come: cold start.
-- Rows the estimate must ignore: a live row, a row not of record, a unit
-- row, a day-0 row and a forecast whose moment (04-29) has not come.
CREATE FUNCTION pg_temp.sh_log(run bigint, ref timestamptz, h int, unit text, replay boolean, rec boolean,
                               im float8, iv float8, wm float8, wv float8) RETURNS void LANGUAGE sql AS $$
    INSERT INTO icu_predict.forecast_log
           (run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total, horizon_day,
            demand, expected_beds, variance_beds, p05_beds, p10_beds, p50_beds, p90_beds, p95_beds,
            occupied_now, recommended_action, icu_mean, icu_var, ward_mean, ward_var,
            arrivals_mean, arrivals_var, policy, is_replay, of_record, logged_at)
    VALUES (run, ref, (ref AT TIME ZONE 'UTC')::date, ref + make_interval(days => h),
            (ref AT TIME ZONE 'UTC')::date + h, unit, unit = 'All ICU units', h,
            icu_predict.bed_demand_poisson(2), 2, 2, 0, 0, 2, 4, 5, 2, 'hold', im, iv, wm, wv, 0, 0,
            '{}'::jsonb, replay, rec, now()) $$;
SELECT pg_temp.sh_log(-1, '2020-04-15 08:00+00', 1, 'All ICU units', true, true, 2, 0.5, 0.3, 0.21);
SELECT pg_temp.sh_log(-2, '2020-04-16 08:00+00', 1, 'All ICU units', true, true, 2.5, 0.5, 0.6, 0.24);
SELECT pg_temp.sh_log(-5, '2020-04-13 08:00+00', 3, 'All ICU units', true, true, 1.5, 0.5, 0.5, 0.25);
SELECT pg_temp.sh_log(-6, '2020-04-14 08:00+00', 3, 'All ICU units', true, true, 3, 0.5, 0.2, 0.16);
SELECT pg_temp.sh_log(-3, '2020-04-15 08:00+00', 1, 'All ICU units', false, true, 9, 0.5, 9, 0.5);
SELECT pg_temp.sh_log(-4, '2020-04-15 09:00+00', 1, 'All ICU units', true, false, 9, 0.5, 9, 0.5);
SELECT pg_temp.sh_log(-1, '2020-04-15 08:00+00', 1, 'TSH-IC', true, true, 9, 0.5, 9, 0.5);
SELECT pg_temp.sh_log(-1, '2020-04-15 08:00+00', 0, 'All ICU units', true, true, 9, 0.5, 9, 0.5);
SELECT pg_temp.sh_log(-1, '2020-04-15 08:00+00', 14, 'All ICU units', true, true, 9, 0.5, 9, 0.5);

SET LOCAL icu_predict.reference_time = '2020-04-20 08:00+00';

-- off (the default): no shift, NULL sizes
INSERT INTO icu_predict.capacity_policy (forecast_log_retention_days, calibration_min_forecasts)
VALUES (0, 2);
CALL icu_predict.refresh();
SELECT results_eq($$
    SELECT DISTINCT icu_shift_sd, ward_shift_sd, shift_forecasts, shift_status
      FROM icu_predict.capacity_forecast WHERE horizon_day >= 1$$,
    $$VALUES (NULL::float8, NULL::float8, NULL::integer, 'off'::text)$$,
    'common_shift off: no sizes, status off');
CREATE TEMP TABLE sh_off ON COMMIT DROP AS
    SELECT horizon_day, demand, icu_var, arrivals_var FROM icu_predict.capacity_forecast
     WHERE is_total AND horizon_day = 1;
SELECT ok((SELECT abs(icu_predict.bed_demand_variance(demand) - (icu_var + arrivals_var)) < 1e-9
                  AND abs(icu_var - 0.75) < 1e-12 FROM sh_off),
    'without the shift: three ICU patients with p(1) = 1/2, variance 3/4 plus the inflow''s');

-- on: the sizes from the two graded forecasts
UPDATE icu_predict.capacity_policy SET common_shift = true;
CALL icu_predict.refresh();
SELECT ok((SELECT bool_and(abs(icu_shift_sd - sqrt(0.5 * 1.5 / 5.5)) < 1e-12
                           AND abs(ward_shift_sd - sqrt(0.40 / 0.1017 * 1.5 / 5.5)) < 1e-12)
             FROM icu_predict.capacity_forecast WHERE horizon_day BETWEEN 1 AND 2),
    'days 1-2: icu_shift_sd = sqrt(0.5 * 1.5 / 5.5), ward_shift_sd = sqrt(0.40 / 0.1017 * 1.5 / 5.5), as computed by hand');
SELECT ok((SELECT bool_and(abs(icu_shift_sd - sqrt(6.5 * 7 / 31)) < 1e-12
                           AND abs(ward_shift_sd - sqrt(0.48 / 0.0881 * 7 / 31)) < 1e-12)
             FROM icu_predict.capacity_forecast WHERE horizon_day BETWEEN 3 AND 6),
    'days 3-6: icu_shift_sd = sqrt(6.5 * 7 / 31), ward_shift_sd = sqrt(0.48 / 0.0881 * 7 / 31), as computed by hand');
SELECT results_eq($$
    SELECT DISTINCT CASE WHEN horizon_day = 0 THEN 0 WHEN horizon_day <= 2 THEN 1 WHEN horizon_day <= 6 THEN 3
                         ELSE 7 END AS band,
           icu_shift_sd = 0 AND ward_shift_sd = 0 AS no_shift, shift_forecasts, shift_status
      FROM icu_predict.capacity_forecast ORDER BY 1$$,
    $$VALUES (0, true, NULL::integer, 'census now'::text), (1, false, 2, 'mixed'), (3, false, 2, 'mixed'),
             (7, true, 0, 'cold start')$$,
    'per band: days 1-2 and 3-6 mixed on 2 graded forecasts each; 7-14 cold start (no graded forecast); day 0 the census now');
-- the forecast is the mixture: the ICU part's variance is
-- E[3 q (1 - q)] + Var(3 q), q = expit(sd z) over the 9 nodes (p = 1/2 has
-- offset 0), plus the inflow's
SELECT ok((SELECT abs(icu_predict.bed_demand_variance(cf.demand)
                      - ((SELECT sum(nd.weight * (3 * q * (1 - q) + 9 * (q - 0.5) ^ 2))
                            FROM icu_predict.bed_demand_normal_nodes(9) nd,
                                 LATERAL (SELECT icu_predict.bed_demand_shift_logit(0.5, sqrt(0.5 * 1.5 / 5.5) * nd.z) AS q) x)
                         + cf.arrivals_var)) < 1e-9
             FROM icu_predict.capacity_forecast cf WHERE cf.is_total AND cf.horizon_day = 1),
    'with the shift the day-1 distribution is the mixture over the common shift: variance by the nodes');
-- day 3: every ICU patient's p(3) = 1/8; the mean-preserving shift keeps the
-- ICU part's mean at 3/8 (a plain logit-normal shift of sd 1.21 would give
-- 3 E expit(logit(1/8) + sd Z), about 0.56)
SELECT ok((SELECT abs(icu_predict.bed_demand_mean(cf.demand) - (3.0 / 8 + cf.arrivals_mean)) < 1e-9
                  AND abs(cf.icu_mean - 3.0 / 8) < 1e-12
                  AND icu_predict.bed_demand_variance(cf.demand) > 3 * (1.0 / 8) * (7.0 / 8) + cf.arrivals_var + 0.05
             FROM icu_predict.capacity_forecast cf WHERE cf.is_total AND cf.horizon_day = 3),
    'day 3: the mixture keeps the mean 3/8 of the ICU part and widens it');
SELECT ok((SELECT abs(icu_predict.bed_demand_mean(cf.demand) - (1.5 + cf.arrivals_mean)) < 1e-9
                  AND cf.icu_var = o.icu_var
             FROM icu_predict.capacity_forecast cf, sh_off o WHERE cf.is_total AND cf.horizon_day = 1),
    'a symmetric shift of p = 1/2 keeps the mean; the components keep their zero-shift values');
SELECT ok((SELECT icu_predict.bed_demand_variance(cf.demand) > icu_predict.bed_demand_variance(o.demand) + 0.03
             FROM icu_predict.capacity_forecast cf, sh_off o WHERE cf.is_total AND cf.horizon_day = 1),
    'and the range is wider than without it');
SELECT ok((SELECT bool_and(cf.demand::text = f.demand::text)
             FROM icu_predict.capacity_forecast cf
             JOIN icu_predict.forecast_log f
               ON f.run_id = (SELECT max(l.run_id) FROM icu_predict.forecast_log l)
              AND f.unit = cf.unit AND f.horizon_day = cf.horizon_day),
    'refresh() logs the mixed distribution it published');

-- cold start: graded forecasts on fewer reference days than calibration_min_forecasts
UPDATE icu_predict.capacity_policy SET calibration_min_forecasts = 3;
CALL icu_predict.refresh();
SELECT results_eq($$
    SELECT DISTINCT icu_shift_sd, ward_shift_sd, shift_forecasts, shift_status
      FROM icu_predict.capacity_forecast WHERE horizon_day >= 1 ORDER BY shift_forecasts$$,
    $$VALUES (0::float8, 0::float8, 0, 'cold start'::text), (0, 0, 2, 'cold start')$$,
    'cold start: 2 reference days < 3 in every band, no shift (sizes 0), status cold start');
SELECT ok((SELECT cf.demand::text = o.demand::text
             FROM icu_predict.capacity_forecast cf, sh_off o WHERE cf.is_total AND cf.horizon_day = 1),
    'in the cold start the distribution is the one without the shift, bit for bit');

-- ------------------------------------------------------------ the policy's CHECKs
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET common_shift_nodes = 2$$,
    '23514', NULL, 'fewer than 3 nodes violate the policy CHECK');
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET common_shift_nodes = 33$$,
    '23514', NULL, 'more than 32 nodes violate the policy CHECK');
SELECT throws_ok($$UPDATE icu_predict.capacity_policy SET common_shift = NULL$$,
    '23502', NULL, 'common_shift is NOT NULL');

-- ------------------------------------------------------------ a non-owner refresh with the shift on
UPDATE icu_predict.capacity_policy SET calibration_min_forecasts = 2, common_shift_nodes = 5;
CREATE ROLE tsh_cron LOGIN IN ROLE icu_refresher;
SET LOCAL ROLE tsh_cron;
SELECT lives_ok('CALL icu_predict.refresh()', 'icu_refresher runs refresh() with common_shift on');
RESET ROLE;
SELECT is((SELECT count(*)::integer FROM icu_predict.capacity_forecast WHERE shift_status = 'mixed'), 12,
    'and the forecast is mixed on days 1..6 of the unit and the total (7..14: cold start)');
SELECT ok((SELECT l.succeeded FROM icu_predict.refresh_log l
            WHERE l.run_id = (SELECT max(run_id) FROM icu_predict.refresh_log)),
    'the run succeeded');

SELECT * FROM finish();
ROLLBACK;
