-- icu_predict 0.2.0 -> 0.3.0 upgrade script (ALTER EXTENSION icu_predict UPDATE).
--
-- Carries every schema change between the released 0.2.0 install script
-- (extension/icu_predict--0.2.0.sql, kept as shipped) and the 0.3.0 install
-- parts (extension/sql/), so that an updated database holds the same objects
-- as a fresh 0.3.0 install (tools/check-upgrade.sh proves it for every
-- released version).  Each change adds its own section.  See CHANGELOG.md.

\echo Use "ALTER EXTENSION icu_predict UPDATE TO '0.3.0'" to load this file. \quit

-- ===========================================================================
-- 1. issue 15: the default models retrained with the 0.3.0 training (first-
--    window-safe inputs, landmark validation, the quality gate): the data
--    file icu_predict_default_models.json ships new rows for the 48 h, 7 day
--    and stay slots (new model_ids below the old ones, versions suffixed with
--    their spec's hash) and keeps the rows 0.1.0 and 0.2.0 shipped (ids 1-3)
--    as they were.  Loading it adds the new rows and leaves every deployment
--    alone: a slot a deployment pinned keeps its model; a slot on the builtin
--    fallback moves to the newest shipped model (active_model).  No object
--    changes (load_default_models() is the 0.2.0 function).
-- ===========================================================================
SELECT pg_catalog.count(*) FROM @extschema@.load_default_models();

-- ===========================================================================
-- 2. issue 12: the common shift in capacity_forecast (capacity_policy.
--    common_shift, common_shift_nodes; bed_demand_shift_logit; the columns
--    icu_shift_sd, ward_shift_sd, shift_forecasts, shift_status)
-- ===========================================================================
CREATE FUNCTION @extschema@.bed_demand_shift_logit(p float8, shift float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_shift_logit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_shift_logit(float8, float8) IS
    'expit(logit(p) + shift): the probability p with its log-odds moved by shift, computed without overflow or cancellation; p = 0 and p = 1 are returned as they are. p in [0, 1] and shift finite, else 22023. capacity_forecast applies it per node of a normal shift before bed_demand_mixture (capacity_policy.common_shift).';

-- capacity_settings() returns the table's row type, and a BEGIN ATOMIC body
-- records that dependency, which forbids adding columns: give it a plain
-- body for the ALTER, then its 0.3.0 body below.
CREATE OR REPLACE FUNCTION @extschema@.capacity_settings()
RETURNS @extschema@.capacity_policy
LANGUAGE sql STABLE PARALLEL SAFE
AS $body$
    SELECT p FROM @extschema@.capacity_policy p WHERE p.id
$body$;
ALTER TABLE @extschema@.capacity_policy
    ADD COLUMN common_shift       boolean NOT NULL DEFAULT false,
    ADD COLUMN common_shift_nodes integer NOT NULL DEFAULT 9,
    ADD CONSTRAINT capacity_policy_common_shift_nodes_range
        CHECK (common_shift_nodes BETWEEN 3 AND 32);
COMMENT ON COLUMN @extschema@.capacity_policy.common_shift IS 'Mix the forecast over a common shift of every ward patient''s probability of being in an ICU at the forecast moment and of every ICU patient''s probability of still being there, each on the logit scale and normal with the standard deviation estimated from the graded forecasts of record in calibration_window_days (cold start below calibration_min_forecasts graded reference days: no shift); applied before the calibration, the quantiles, P(demand > staffed beds) and the recommended action (default false; docs/views.md, "Common shift").';
COMMENT ON COLUMN @extschema@.capacity_policy.common_shift_nodes IS 'Gauss-Hermite nodes of the common shift''s mixture (bed_demand_normal_nodes); the forecast''s Poisson-binomials are built once per node (3 to 32; default 9).';

CREATE OR REPLACE FUNCTION @extschema@.capacity_settings()
RETURNS @extschema@.capacity_policy
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT p FROM @extschema@.capacity_policy p WHERE p.id),
        ROW(true, 0.10::float8, 2, 48, 168, 7, 0.05::float8,
            0.10::float8, 0.30::float8, 0, 2::float8,
            false, 7::float8, true, 0,
            730, '00:00'::time, 3, true,
            false, 112, 14,
            false, 0.5::float8, 5::float8,
            false, 9)::@extschema@.capacity_policy);
END;

-- A materialized view's query cannot be altered, so capacity_forecast and the
-- BI view over it are created anew (as in the 0.1.0 -> 0.2.0 update).  A view
-- of your own over either makes the DROP fail (nothing is changed then): drop
-- it, update, create it again.  Privileges granted on either view beyond the
-- extension's own are not carried over: they are listed in a WARNING, to be
-- granted again after the update.  Run CALL icu_predict.refresh() after it.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT c.oid::regclass AS rel, a.privilege_type,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END AS grantee,
               a.is_grantable
          FROM pg_catalog.pg_class c
         CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
          LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
         WHERE c.oid IN ('@extschema@.capacity_forecast'::regclass, 'icu_bi.capacity_forecast'::regclass)
           AND a.grantee <> c.relowner
           AND NOT (c.oid = 'icu_bi.capacity_forecast'::regclass
                    AND r.rolname = 'icu_bi_reader' AND a.privilege_type = 'SELECT'
                    AND NOT a.is_grantable)
         ORDER BY 1, 3, 2
    LOOP
        RAISE WARNING 'icu_predict 0.3.0 recreates %; grant again after the update: GRANT % ON % TO %;',
                      g.rel, g.privilege_type, g.rel,
                      g.grantee || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
    END LOOP;
END
$$;

DROP VIEW icu_bi.capacity_forecast;
DROP MATERIALIZED VIEW @extschema@.capacity_forecast;

CREATE MATERIALIZED VIEW @extschema@.capacity_forecast AS
WITH ref AS (
    SELECT @extschema@.reference_time() AS t,
           pg_catalog.timezone(@extschema@.day_zone(), @extschema@.reference_time())::date AS ref_date,
           @extschema@.capacity_settings() AS pol
), horizon AS (
    SELECT h AS d FROM pg_catalog.generate_series(0, 14) AS h
), today AS (
    -- today's row of every current admission
    SELECT ps.admission_id, ps.ward, ps.unit_kind, ps.as_of,
           coalesce(ps.forecast_risk, ps.risk) AS risk,
           ps.stay_model, ps.stay_version, ps.stay_location_days,
           -- the points of the ICU-admission curve: (h1, r1) and, when the
           -- status risk and the forecast risk have different horizons,
           -- (h2, r2) with h1 < h2
           CASE WHEN two.ok AND two.status_first THEN ps.risk
                ELSE coalesce(ps.forecast_risk, ps.risk) END AS r1,
           (CASE WHEN two.ok AND two.status_first THEN ps.risk_horizon_hours
                 WHEN ps.forecast_risk IS NOT NULL THEN ps.forecast_risk_horizon_hours
                 ELSE ps.risk_horizon_hours END / 24.0)::float8 AS h1,
           CASE WHEN two.ok THEN CASE WHEN two.status_first THEN ps.forecast_risk ELSE ps.risk END
                END AS r2,
           (CASE WHEN two.ok THEN greatest(ps.risk_horizon_hours, ps.forecast_risk_horizon_hours)
                 END / 24.0)::float8 AS h2
      FROM @extschema@.patient_status ps
      CROSS JOIN ref
      CROSS JOIN LATERAL (
            SELECT ps.risk IS NOT NULL AND ps.forecast_risk IS NOT NULL
                   AND ps.risk_horizon_hours IS DISTINCT FROM ps.forecast_risk_horizon_hours AS ok,
                   ps.risk_horizon_hours < ps.forecast_risk_horizon_hours AS status_first) two
     WHERE ps.day_date = ref.ref_date
), episodes_recent AS MATERIALIZED (
    -- ICU episodes begun in the longest look-back any part uses (arrival
    -- window, the 14 days of the growth fit, the routing window), read once
    SELECT ep.admission_id, ep.first_unit, ep.started_at
      FROM ref
      JOIN @extschema@.icu_episode ep
        ON ep.started_at <= ref.t
       AND ep.started_at > ref.t - pg_catalog.make_interval(
               days => greatest((ref.pol).arrival_window_days, 14, (ref.pol).routing_window_days))
), cap AS (
    -- capacity per unit and horizon day (latest valid_from <= that day)
    SELECT c.unit, h.d, c.staffed_beds, c.surge_beds
      FROM horizon h, ref,
           LATERAL (SELECT DISTINCT ON (ic.unit) ic.unit, ic.staffed_beds, ic.surge_beds
                      FROM @extschema@.icu_capacity ic
                     WHERE ic.valid_from <= ref.ref_date + h.d
                     ORDER BY ic.unit, ic.valid_from DESC) c
), units AS (
    SELECT DISTINCT c.unit FROM cap c
    UNION
    SELECT DISTINCT t.ward FROM today t WHERE t.unit_kind = 'icu'
), beds_w AS (
    -- staffed-bed share of each unit on day 0 (equal shares without data):
    -- the routing of last resort
    SELECT u.unit,
           CASE WHEN pg_catalog.sum(coalesce(c.staffed_beds, 0)) OVER () > 0
                THEN coalesce(c.staffed_beds, 0)::float8
                     / pg_catalog.sum(coalesce(c.staffed_beds, 0)) OVER ()
                ELSE 1.0 / pg_catalog.count(*) OVER () END AS w
      FROM units u
      LEFT JOIN cap c ON c.unit = u.unit AND c.d = 0
), routing_hist AS (
    -- where recent ICU patients went: the first ICU unit of every episode
    -- begun in the routing window, with the non-ICU unit the patient came
    -- from (the latest location stay begun before the episode)
    SELECT e.first_unit AS unit,
           (SELECT s.unit FROM @extschema@.location_stay s
             WHERE s.admission_id = e.admission_id
               AND s.unit_kind IS DISTINCT FROM 'icu'
               AND s.started_at < e.started_at
             ORDER BY s.started_at DESC LIMIT 1) AS from_unit
      FROM episodes_recent e
      CROSS JOIN ref
     WHERE e.started_at > ref.t - pg_catalog.make_interval(days => (ref.pol).routing_window_days)
       AND e.first_unit IN (SELECT u.unit FROM units u)
), weights AS (
    -- hospital-wide routing (new arrivals, and ward patients of a unit
    -- without history): episodes per first unit, smoothed towards the
    -- staffed-bed shares with the weight of 5 episodes,
    --     w_u = (n_u + 5 b_u) / (n + 5)
    -- so no history gives the staffed-bed shares and a long history the
    -- observed ones
    SELECT b.unit,
           ((coalesce(h.n, 0) + 5.0 * b.w) / (tot.n + 5.0))::float8 AS w
      FROM beds_w b
      LEFT JOIN (SELECT r.unit, pg_catalog.count(*) AS n FROM routing_hist r GROUP BY r.unit) h
        ON h.unit = b.unit
      CROSS JOIN (SELECT pg_catalog.count(*) AS n FROM routing_hist) tot
), ward_weights AS (
    -- routing of patients on one non-ICU unit: that unit's episodes per
    -- first ICU unit, smoothed towards the hospital-wide routing with the
    -- weight of 5 episodes
    SELECT f.from_unit, w.unit,
           ((coalesce(h.n, 0) + 5.0 * w.w) / (f.n + 5.0))::float8 AS w
      FROM (SELECT r.from_unit, pg_catalog.count(*) AS n
              FROM routing_hist r WHERE r.from_unit IS NOT NULL GROUP BY r.from_unit) f
      CROSS JOIN weights w
      LEFT JOIN (SELECT r.from_unit, r.unit, pg_catalog.count(*) AS n
                   FROM routing_hist r GROUP BY r.from_unit, r.unit) h
        ON h.from_unit = f.from_unit AND h.unit = w.unit
), icu_start AS MATERIALIZED (
    -- patients in an ICU: the start of the current ICU episode and, with
    -- capacity_policy.stay_at_episode_start, the stay model's location as of
    -- that start (the panel of the labs resulted by then, the hours since
    -- hospital admission then: the inputs the model was trained on), so that
    -- S(s + d) / S(s) conditions one stay distribution on the s days spent;
    -- else, or without an episode start, today's location
    SELECT t.admission_id, e.started_at,
           CASE WHEN (ref.pol).stay_at_episode_start AND e.started_at IS NOT NULL
                     AND t.stay_model IS NOT NULL
                THEN coalesce((@extschema@.length_of_stay(
                         (SELECT @extschema@.lab_panel(c.admission_id, c.feature, c.value, c.resulted_at,
                                                       e.started_at)
                            FROM @extschema@.lab_canonical c
                           WHERE c.admission_id = t.admission_id AND c.resulted_at <= e.started_at),
                         a.age_years::float8, a.sex::text,
                         (pg_catalog.date_part('epoch', e.started_at - a.admitted_at) / 3600.0)::float8,
                         'icu', t.stay_model, t.stay_version)).location_days,
                     t.stay_location_days)
                ELSE t.stay_location_days END AS stay_location_days
      FROM today t
      CROSS JOIN ref
      JOIN @extschema@.admission a ON a.admission_id = t.admission_id
      LEFT JOIN LATERAL (
            SELECT ep.started_at FROM @extschema@.icu_episode ep
             WHERE ep.admission_id = t.admission_id
               AND ep.started_at <= ref.t
             ORDER BY ep.started_at DESC LIMIT 1) e ON true
     WHERE t.unit_kind = 'icu'
), icu_now AS (
    SELECT t.admission_id, t.ward AS unit, t.stay_model, t.stay_version, st.stay_location_days,
           coalesce(pg_catalog.date_part('epoch', ref.t - st.started_at) / 86400.0, 0) AS spent
      FROM today t
      CROSS JOIN ref
      JOIN icu_start st ON st.admission_id = t.admission_id
), icu_p AS (
    -- remaining-stay probabilities S(s + d) / S(s)
    SELECT i.admission_id, i.unit, h.d,
           CASE WHEN h.d = 0 THEN 1.0::float8
                WHEN curve.s[1] IS NULL THEN NULL
                WHEN curve.s[1] <= 0 THEN 0.0::float8
                ELSE least(1.0, curve.s[h.d + 1] / curve.s[1]) END AS p
      FROM icu_now i
      CROSS JOIN ref
      CROSS JOIN LATERAL (
            SELECT CASE WHEN i.stay_model IS NOT NULL THEN
                   @extschema@.stay_survival_curve(i.stay_location_days,
                       ARRAY(SELECT i.spent + g FROM pg_catalog.generate_series(0, 14) g ORDER BY g),
                       i.stay_model, i.stay_version) END AS s) curve
      CROSS JOIN horizon h
), s0 AS (
    -- stay survival from the start of an ICU stay, at x = 0.5, 1.5, ..., 13.5
    -- (a patient in an ICU now with the location as of the episode start,
    -- as in icu_now: the curve enters the mean curve Sbar of the arrivals)
    SELECT t.admission_id, t.ward, t.unit_kind, t.risk, t.r1, t.h1, t.r2, t.h2,
           CASE WHEN t.stay_model IS NOT NULL THEN
                @extschema@.stay_survival_curve(coalesce(st.stay_location_days, t.stay_location_days),
                    ARRAY(SELECT (g + 0.5)::float8 FROM pg_catalog.generate_series(0, 13) g ORDER BY g),
                    t.stay_model, t.stay_version) END AS s
      FROM today t
      LEFT JOIN icu_start st ON st.admission_id = t.admission_id
), ward_p AS (
    -- nf.u[x + 1] = P(no ICU admission by day x), x = 0..14
    SELECT w.admission_id, w.ward, h.d,
           (SELECT coalesce(pg_catalog.sum((nf.u[k + 1] - nf.u[k + 2]) * w.s[h.d - k]), 0)
              FROM pg_catalog.generate_series(0, h.d - 1) k)::float8 AS p
      FROM s0 w
      CROSS JOIN LATERAL (
            SELECT ARRAY(SELECT CASE WHEN w.r2 IS NULL OR x <= w.h1
                                         THEN (1 - w.r1) ^ (x / w.h1)
                                     WHEN w.r1 >= 1 THEN 0.0::float8
                                     ELSE (1 - w.r1)
                                          * ((1 - greatest(w.r1, w.r2)) / (1 - w.r1))
                                            ^ ((x - w.h1) / (w.h2 - w.h1)) END
                           FROM pg_catalog.generate_series(0, 14) x ORDER BY x) AS u) nf
      CROSS JOIN horizon h
     WHERE w.unit_kind IS DISTINCT FROM 'icu'
       AND w.risk IS NOT NULL
), arrival_history AS (
    -- ICU episodes begun in the arrival window, with their delay from
    -- hospital admission in days
    SELECT greatest(0, pg_catalog.date_part('epoch', ep.started_at - a.admitted_at) / 86400.0) AS delay
      FROM ref
      JOIN episodes_recent ep
        ON ep.started_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_window_days)
      JOIN @extschema@.admission a ON a.admission_id = ep.admission_id
), trend AS (
    -- hospital admissions per day, last arrival_trend_days vs the window
    SELECT CASE WHEN (ref.pol).arrival_trend_days = 0 OR adm.in_window = 0 THEN 1.0::float8
                ELSE least((ref.pol).arrival_trend_cap,
                           greatest(1.0 / (ref.pol).arrival_trend_cap,
                                    (adm.recent::float8 / (ref.pol).arrival_trend_days)
                                    / (adm.in_window::float8 / (ref.pol).arrival_window_days)))
                END AS f
      FROM ref
      CROSS JOIN LATERAL (
            SELECT pg_catalog.count(*) FILTER (
                       WHERE a.admitted_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_trend_days))
                       AS recent,
                   pg_catalog.count(*) AS in_window
              FROM @extschema@.admission a
             WHERE a.admitted_at <= ref.t
               AND a.admitted_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_window_days)) adm
), growth AS (
    -- growth of the ICU inflow: Poisson log-linear fit to the ICU-episode
    -- starts of the last 14 days (whole weeks: the weekday cycle cancels),
    -- shrunk toward no growth by its own uncertainty,
    --     r_s = r * max(0, 1 - se^2 / r^2)
    -- (no growth at all when |r| <= se); the shrunk slope has sd f * se.
    SELECT g.rate, g.rate_se,
           CASE WHEN NOT (ref.pol).inflow_trend OR g.rate_se IS NULL OR g.rate = 0 THEN 0.0::float8
                ELSE greatest(0.0, 1.0 - (g.rate_se / g.rate) ^ 2) END AS shrink,
           (SELECT pg_catalog.count(*) FROM arrival_history)::float8 AS n_window
      FROM ref
      CROSS JOIN LATERAL @extschema@.inflow_growth(ARRAY(
            SELECT pg_catalog.count(e.started_at)::float8
              FROM pg_catalog.generate_series(13, 0, -1) AS j
              LEFT JOIN episodes_recent e
                ON e.started_at > ref.t - pg_catalog.make_interval(days => j + 1)
               AND e.started_at <= ref.t - pg_catalog.make_interval(days => j)
             GROUP BY j ORDER BY j DESC)) g
), growth_s AS (
    SELECT g.*, g.rate * g.shrink AS rate_s, g.rate_se * g.shrink AS rate_s_sd FROM growth g
), entries AS (
    -- expected ICU entries during forecast day k of patients admitted after
    -- t: an episode of the window with delay x from hospital admission
    -- stands for admissions at t + u entering during day k, u in
    -- [max(0, k - x), max(0, k + 1 - x)); under growth each counts with the
    -- damped, capped multiplier m(u) at the middle of that interval,
    --     m(u) = exp(r_s * (W/2 + tau * (1 - exp(-u / tau))))
    -- within [1/cap, cap]: W/2 moves the window's mean rate to t, tau
    -- (inflow_trend_damping_days) lets the growth fade.
    SELECT k,
           (trend.f
            * coalesce((SELECT pg_catalog.sum(
                            least(1.0, greatest(0.0, k + 1 - ah.delay))
                            * least((ref.pol).arrival_trend_cap,
                                    greatest(1.0 / (ref.pol).arrival_trend_cap,
                                             pg_catalog.exp(gs.rate_s
                                                 * ((ref.pol).arrival_window_days / 2.0
                                                    + (ref.pol).inflow_trend_damping_days
                                                      * (1.0 - pg_catalog.exp(
                                                            -((greatest(0.0, k - ah.delay)
                                                               + greatest(0.0, k + 1 - ah.delay)) / 2.0)
                                                            / (ref.pol).inflow_trend_damping_days)))))))
                          FROM arrival_history ah), 0)
            / (ref.pol).arrival_window_days)::float8 AS e
      FROM pg_catalog.generate_series(0, 13) AS k, trend, ref, growth_s gs
), sbar AS (
    SELECT x.i, pg_catalog.avg(x.v) AS v
      FROM s0, LATERAL pg_catalog.unnest(s0.s) WITH ORDINALITY AS x(v, i)
     GROUP BY x.i
), arrivals_d AS (
    -- mean of the Poisson count of those patients in the ICU at t + d, and
    -- their expected ICU entries during the day before t + d
    SELECT h.d,
           coalesce((SELECT pg_catalog.sum(en.e * sb.v)
                       FROM entries en JOIN sbar sb ON sb.i = h.d - en.k
                      WHERE en.k < h.d), 0)::float8 AS m,
           coalesce((SELECT en.e FROM entries en WHERE en.k = h.d - 1), 0)::float8 AS per_day,
           -- gamma shape of the rate multiplier shared by all arrivals: the
           -- relative variance of the estimated rate, from the window's count
           -- (1/N) and the slope's sd at the mean entry time d/2,
           --     v_d = 1/N + (f se (W/2 + tau (1 - exp(-d / (2 tau)))))^2
           CASE WHEN (ref.pol).inflow_overdispersion AND gs.n_window > 0 THEN
                (1.0 / (1.0 / gs.n_window
                        + (coalesce(gs.rate_s_sd, 0)
                           * ((ref.pol).arrival_window_days / 2.0
                              + (ref.pol).inflow_trend_damping_days
                                * (1.0 - pg_catalog.exp(-h.d / (2.0 * (ref.pol).inflow_trend_damping_days))))) ^ 2))
                END::float8 AS shape
      FROM horizon h, ref, growth_s gs
), ward_routed AS (
    -- every ward patient's probability with the share w of each ICU unit
    SELECT wt.unit, wp.d, wp.p, coalesce(ww.w, wt.w) AS w
      FROM ward_p wp
      CROSS JOIN weights wt
      LEFT JOIN ward_weights ww ON ww.from_unit = wp.ward AND ww.unit = wt.unit
), contrib AS (
    -- (unit, d, p) for every patient and unit; src: in the ICU now or not
    SELECT 'icu'::text AS src, ip.unit, ip.d, ip.p FROM icu_p ip
    UNION ALL
    SELECT 'ward'::text, wr.unit, wr.d, wr.p * wr.w FROM ward_routed wr
), per_unit AS (
    SELECT u.unit, h.d, false AS is_total,
           @extschema@.bed_demand_add_arrivals(
               coalesce((SELECT @extschema@.bed_demand(c.p) FROM contrib c
                          WHERE c.unit = u.unit AND c.d = h.d),
                        @extschema@.bed_demand_poisson(0)),
               coalesce(ad.m * wt.w, 0), ad.shape) AS demand,
           (SELECT pg_catalog.count(*) FROM icu_now i WHERE i.unit = u.unit)::integer AS occupied_now,
           c.staffed_beds, c.surge_beds, ad.per_day AS arrivals_per_day,
           cm.icu_mean, cm.icu_var, cm.ward_mean, cm.ward_var,
           coalesce(ad.m * wt.w, 0) AS arrivals_mean,
           coalesce(ad.m * wt.w + CASE WHEN ad.shape IS NULL THEN 0 ELSE (ad.m * wt.w) ^ 2 / ad.shape END, 0)
               AS arrivals_var,
           ad.shape AS arrivals_shape
      FROM units u
      CROSS JOIN horizon h
      JOIN arrivals_d ad ON ad.d = h.d
      LEFT JOIN weights wt ON wt.unit = u.unit
      LEFT JOIN cap c ON c.unit = u.unit AND c.d = h.d
      CROSS JOIN LATERAL (
            SELECT coalesce(pg_catalog.sum(c2.p) FILTER (WHERE c2.src = 'icu'), 0)::float8 AS icu_mean,
                   coalesce(pg_catalog.sum(c2.p * (1 - c2.p)) FILTER (WHERE c2.src = 'icu'), 0)::float8 AS icu_var,
                   coalesce(pg_catalog.sum(c2.p) FILTER (WHERE c2.src = 'ward'), 0)::float8 AS ward_mean,
                   coalesce(pg_catalog.sum(c2.p * (1 - c2.p)) FILTER (WHERE c2.src = 'ward'), 0)::float8 AS ward_var
              FROM contrib c2 WHERE c2.unit = u.unit AND c2.d = h.d) cm
), total AS (
    SELECT 'All ICU units'::text AS unit, h.d, true AS is_total,
           @extschema@.bed_demand_add_arrivals(
               coalesce((SELECT @extschema@.bed_demand(x.p)
                           FROM (SELECT ip.p FROM icu_p ip WHERE ip.d = h.d
                                 UNION ALL
                                 SELECT wp.p FROM ward_p wp WHERE wp.d = h.d) x),
                        @extschema@.bed_demand_poisson(0)),
               ad.m, ad.shape) AS demand,
           (SELECT pg_catalog.count(*) FROM icu_now)::integer AS occupied_now,
           (SELECT pg_catalog.sum(c.staffed_beds) FROM cap c WHERE c.d = h.d)::integer AS staffed_beds,
           (SELECT pg_catalog.sum(c.surge_beds) FROM cap c WHERE c.d = h.d)::integer AS surge_beds,
           ad.per_day AS arrivals_per_day,
           cm.icu_mean, cm.icu_var, cm.ward_mean, cm.ward_var,
           ad.m AS arrivals_mean,
           ad.m + CASE WHEN ad.shape IS NULL THEN 0 ELSE ad.m ^ 2 / ad.shape END AS arrivals_var,
           ad.shape AS arrivals_shape
      FROM horizon h
      JOIN arrivals_d ad ON ad.d = h.d
      CROSS JOIN LATERAL (
            SELECT coalesce(pg_catalog.sum(x.p) FILTER (WHERE x.src = 'icu'), 0)::float8 AS icu_mean,
                   coalesce(pg_catalog.sum(x.p * (1 - x.p)) FILTER (WHERE x.src = 'icu'), 0)::float8 AS icu_var,
                   coalesce(pg_catalog.sum(x.p) FILTER (WHERE x.src = 'ward'), 0)::float8 AS ward_mean,
                   coalesce(pg_catalog.sum(x.p * (1 - x.p)) FILTER (WHERE x.src = 'ward'), 0)::float8 AS ward_var
              FROM (SELECT 'icu'::text AS src, ip.p FROM icu_p ip WHERE ip.d = h.d
                    UNION ALL
                    SELECT 'ward', wp.p FROM ward_p wp WHERE wp.d = h.d) x) cm
), unmixed AS (
    SELECT * FROM per_unit UNION ALL SELECT * FROM total
), shift_on AS (
    SELECT (ref.pol).common_shift AS on_ FROM ref
), shift_hist AS MATERIALIZED (
    -- the graded past of the common shift (capacity_policy.common_shift):
    -- the hospital-wide forecasts of record of the same kind (live, or
    -- replay) whose moment lies in the calibration window, with their ICU
    -- and ward components as computed (at zero shift)
    SELECT f.reference_time, f.reference_date, f.forecast_at,
           f.icu_mean, f.icu_var, f.ward_mean, f.ward_var
      FROM ref
      JOIN @extschema@.forecast_log f
        ON f.of_record
       AND f.is_total
       AND f.horizon_day >= 1
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
       AND f.forecast_at <= ref.t
       AND f.forecast_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days)
     WHERE (SELECT so.on_ FROM shift_on so)
), shift_eps AS MATERIALIZED (
    -- the ICU episodes that may cover one of those moments or their
    -- reference times (at most 14 days before them)
    SELECT ep.admission_id, ep.started_at, ep.ended_at, a.admitted_at
      FROM ref
      JOIN @extschema@.icu_episode ep
        ON ep.started_at <= ref.t
       AND (ep.ended_at IS NULL
            OR ep.ended_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days + 14))
      JOIN @extschema@.admission a ON a.admission_id = ep.admission_id
     WHERE (SELECT so.on_ FROM shift_on so) AND EXISTS (SELECT 1 FROM shift_hist)
), shift_moments AS (
    SELECT DISTINCT h.reference_time, h.forecast_at FROM shift_hist h
), shift_icu_then AS (
    -- the patients in an ICU episode at each of those reference times
    SELECT DISTINCT r.reference_time, e.admission_id
      FROM (SELECT DISTINCT m.reference_time FROM shift_moments m) r
      JOIN shift_eps e
        ON e.started_at <= r.reference_time
       AND (e.ended_at IS NULL OR e.ended_at > r.reference_time)
), shift_real AS (
    -- the realised components (the census rule of icu_census: an ICU
    -- episode covers the moment): of the patients in an ICU at the moment,
    -- those in an ICU at the reference time are the ICU component's count,
    -- those admitted by then but not in an ICU the ward component's (the
    -- rest were admitted later)
    SELECT m.reference_time, m.forecast_at,
           pg_catalog.count(i.admission_id)::float8 AS y_icu,
           pg_catalog.count(e.admission_id) FILTER (
               WHERE i.admission_id IS NULL AND e.admitted_at <= m.reference_time)::float8 AS y_ward
      FROM shift_moments m
      LEFT JOIN shift_eps e
        ON e.started_at <= m.forecast_at
       AND (e.ended_at IS NULL OR e.ended_at > m.forecast_at)
      LEFT JOIN shift_icu_then i
        ON i.reference_time = m.reference_time AND i.admission_id = e.admission_id
     GROUP BY m.reference_time, m.forecast_at
), shift_est AS (
    -- method of moments: a common logit shift with variance sigma^2 adds
    -- about (d mean / d shift)^2 sigma^2 = v^2 sigma^2 to a Poisson-binomial
    -- count of variance v = sum p (1 - p), so, pooled over horizons 1..14,
    --     sigma^2 = max(0, sum((y - m)^2 - v) / sum(v^2))
    -- with each (y - m)^2 held at 100 v (one wild day cannot set it alone)
    SELECT pg_catalog.count(*)::integer AS n,
           pg_catalog.count(DISTINCT h.reference_date)::integer AS n_days,
           pg_catalog.sum(least((r.y_icu - h.icu_mean) ^ 2, 100 * h.icu_var) - h.icu_var)
               FILTER (WHERE h.icu_var > 0) AS icu_num,
           pg_catalog.sum(h.icu_var ^ 2) FILTER (WHERE h.icu_var > 0) AS icu_den,
           pg_catalog.sum(least((r.y_ward - h.ward_mean) ^ 2, 100 * h.ward_var) - h.ward_var)
               FILTER (WHERE h.ward_var > 0) AS ward_num,
           pg_catalog.sum(h.ward_var ^ 2) FILTER (WHERE h.ward_var > 0) AS ward_den
      FROM shift_hist h
      JOIN shift_real r ON r.reference_time = h.reference_time AND r.forecast_at = h.forecast_at
), shift AS (
    -- the shift in force: off; cold start (fewer graded reference days than
    -- calibration_min_forecasts: no shift); else the estimated standard
    -- deviations, at most 2 on the logit scale
    SELECT CASE WHEN NOT (ref.pol).common_shift THEN 'off'
                WHEN coalesce(e.n_days, 0) < (ref.pol).calibration_min_forecasts THEN 'cold start'
                ELSE 'mixed' END AS status,
           coalesce(e.n, 0) AS n,
           CASE WHEN NOT (ref.pol).common_shift THEN NULL
                WHEN coalesce(e.n_days, 0) < (ref.pol).calibration_min_forecasts THEN 0.0::float8
                ELSE least(2.0, pg_catalog.sqrt(greatest(0.0, coalesce(e.icu_num / NULLIF(e.icu_den, 0), 0))))::float8
                END AS icu_sd,
           CASE WHEN NOT (ref.pol).common_shift THEN NULL
                WHEN coalesce(e.n_days, 0) < (ref.pol).calibration_min_forecasts THEN 0.0::float8
                ELSE least(2.0, pg_catalog.sqrt(greatest(0.0, coalesce(e.ward_num / NULLIF(e.ward_den, 0), 0))))::float8
                END AS ward_sd
      FROM ref
      LEFT JOIN shift_est e ON true
), shift_nodes AS (
    -- per component the shifts s = sd * z and weights of the Gauss-Hermite
    -- rule (common_shift_nodes nodes), or the one node s = 0 when its sd is 0
    SELECT c.comp, c.sd * g.z AS s, g.weight
      FROM shift sh
      CROSS JOIN ref
      CROSS JOIN LATERAL (VALUES ('icu'::text, sh.icu_sd), ('ward'::text, sh.ward_sd)) AS c(comp, sd)
      CROSS JOIN LATERAL @extschema@.bed_demand_normal_nodes(
            CASE WHEN c.sd > 0 THEN (ref.pol).common_shift_nodes ELSE 1 END) g
     WHERE sh.status = 'mixed' AND (sh.icu_sd > 0 OR sh.ward_sd > 0)
), mix_parts AS (
    -- the ICU and the ward part of every row as mixtures over their shift:
    -- given the shift the patients are independent (an exact
    -- Poisson-binomial per node), over it the count is the mixture; the
    -- ward probability is shifted before it is split over the units
    SELECT x.unit, x.d, x.comp, @extschema@.bed_demand_mixture(x.demand, x.weight) AS demand
      FROM (SELECT ip.unit, ip.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(ip.p, n.s)) AS demand
              FROM icu_p ip JOIN shift_nodes n ON n.comp = 'icu'
             WHERE ip.d >= 1
             GROUP BY ip.unit, ip.d, n.comp, n.s, n.weight
            UNION ALL
            SELECT wr.unit, wr.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(wr.p, n.s) * wr.w)
              FROM ward_routed wr JOIN shift_nodes n ON n.comp = 'ward'
             WHERE wr.d >= 1
             GROUP BY wr.unit, wr.d, n.comp, n.s, n.weight
            UNION ALL
            SELECT 'All ICU units'::text, ip.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(ip.p, n.s))
              FROM icu_p ip JOIN shift_nodes n ON n.comp = 'icu'
             WHERE ip.d >= 1
             GROUP BY ip.d, n.comp, n.s, n.weight
            UNION ALL
            SELECT 'All ICU units'::text, wp.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(wp.p, n.s))
              FROM ward_p wp JOIN shift_nodes n ON n.comp = 'ward'
             WHERE wp.d >= 1
             GROUP BY wp.d, n.comp, n.s, n.weight) x
     GROUP BY x.unit, x.d, x.comp
), uncalibrated AS (
    -- with the common shift in force (days 1..14): the mixed ICU part plus
    -- the mixed ward part (the two shifts are independent, so the mixtures
    -- add by convolution), plus the inflow as before; the components keep
    -- their values at zero shift
    SELECT r.unit, r.d, r.is_total,
           CASE WHEN sh.status = 'mixed' AND (sh.icu_sd > 0 OR sh.ward_sd > 0) AND r.d >= 1 THEN
                @extschema@.bed_demand_add_arrivals(
                    @extschema@.bed_demand_add(
                        coalesce((SELECT m.demand FROM mix_parts m
                                   WHERE m.unit = r.unit AND m.d = r.d AND m.comp = 'icu'),
                                 @extschema@.bed_demand_poisson(0)),
                        coalesce((SELECT m.demand FROM mix_parts m
                                   WHERE m.unit = r.unit AND m.d = r.d AND m.comp = 'ward'),
                                 @extschema@.bed_demand_poisson(0))),
                    r.arrivals_mean, r.arrivals_shape)
                ELSE r.demand END AS demand,
           r.occupied_now, r.staffed_beds, r.surge_beds, r.arrivals_per_day,
           r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
           r.arrivals_mean, r.arrivals_var, r.arrivals_shape
      FROM unmixed r
      CROSS JOIN shift sh
), calib_hist AS MATERIALIZED (
    -- the graded past of the calibration (capacity_policy.calibration): the
    -- forecasts of record of the same kind (live, or replay) whose moment
    -- lies in the window, with the mean and variance of the forecast as it
    -- was computed, before its calibration (the sums of its components)
    SELECT f.unit, f.is_total, f.horizon_day, f.reference_date, f.forecast_at,
           f.icu_mean + f.ward_mean + f.arrivals_mean AS m,
           -- with the common shift in force, the variance it adds to the ICU
           -- and ward parts (sd^2 v^2 each, the estimator's approximation,
           -- with today's sd), so that the calibration widens what the
           -- mixture left out
           f.icu_var + f.ward_var + f.arrivals_var
           + CASE WHEN sh.status = 'mixed'
                  THEN sh.icu_sd ^ 2 * f.icu_var ^ 2 + sh.ward_sd ^ 2 * f.ward_var ^ 2
                  ELSE 0 END AS v
      FROM ref
      CROSS JOIN shift sh
      JOIN @extschema@.forecast_log f
        ON (ref.pol).calibration
       AND f.of_record
       AND f.horizon_day >= 1
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
       AND f.forecast_at <= ref.t
       AND f.forecast_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days)
), calib_census AS MATERIALIZED (
    -- the census those forecasts met (the grading rule, icu_census)
    SELECT c.at, c.unit, c.patients
      FROM @extschema@.icu_census(ARRAY(SELECT DISTINCT h.forecast_at FROM calib_hist h)) c
), calib AS (
    -- per unit and horizon: n graded forecasts, the mean of their squared
    -- standardised errors z^2 = (y - m)^2 / v (each held at 100, so one
    -- wild day cannot set the factor alone), and the number of independent
    -- errors: daily h-day forecasts overlap, so about one per h days of
    -- reference days spanned, n_eff = min(n, span / h + 1)
    SELECT h.unit, h.horizon_day,
           pg_catalog.count(*)::integer AS n,
           least(pg_catalog.count(*)::float8,
                 (pg_catalog.max(h.reference_date) - pg_catalog.min(h.reference_date))::float8
                     / h.horizon_day + 1) AS n_eff,
           pg_catalog.avg(least(100.0::float8,
                                (CASE WHEN h.is_total THEN ct.patients ELSE coalesce(c.patients, 0) END
                                 - h.m) ^ 2 / h.v)) AS mean_sq_z
      FROM calib_hist h
      LEFT JOIN calib_census c ON c.at = h.forecast_at AND c.unit = h.unit AND NOT h.is_total
      LEFT JOIN (SELECT cc.at, pg_catalog.sum(cc.patients)::integer AS patients
                   FROM calib_census cc GROUP BY cc.at) ct
        ON ct.at = h.forecast_at AND h.is_total
     WHERE h.v > 0
     GROUP BY h.unit, h.horizon_day
), calib_rule AS (
    -- the factor of every row: off; day 0 (the census now, not a forecast);
    -- cold start (fewer than calibration_min_forecasts graded forecasts:
    -- factor 1, uncalibrated); else bed_demand_calibration_factor
    SELECT r.unit, r.d,
           CASE WHEN NOT (ref.pol).calibration THEN 'off'
                WHEN r.d = 0 THEN 'census now'
                WHEN coalesce(k.n, 0) < (ref.pol).calibration_min_forecasts THEN 'cold start'
                ELSE 'calibrated' END AS status,
           k.n, k.n_eff, k.mean_sq_z,
           -- the learnt factor within [calibration_min_factor, 5], and at
           -- most calibration_max_factor_long from 7 days on
           greatest((ref.pol).calibration_min_factor,
                    least(CASE WHEN r.d >= 7 THEN (ref.pol).calibration_max_factor_long ELSE 5 END,
                          @extschema@.bed_demand_calibration_factor(k.mean_sq_z, k.n_eff)))::float8 AS factor
      FROM uncalibrated r
      CROSS JOIN ref
      LEFT JOIN calib k ON k.unit = r.unit AND k.horizon_day = r.d
), all_rows AS (
    -- the forecast as published: every distribution recalibrated before
    -- anything is read from it
    SELECT r.unit, r.d, r.is_total,
           CASE WHEN cr.status = 'calibrated'
                THEN @extschema@.bed_demand_widen(r.demand, cr.factor)
                ELSE r.demand END AS demand,
           r.occupied_now, r.staffed_beds, r.surge_beds, r.arrivals_per_day,
           r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
           r.arrivals_mean, r.arrivals_var, r.arrivals_shape,
           CASE WHEN cr.status = 'off' THEN NULL
                WHEN cr.status = 'calibrated' THEN cr.factor
                ELSE 1.0::float8 END AS calibration_factor,
           CASE WHEN cr.status <> 'off' THEN coalesce(cr.n, 0) END AS calibration_forecasts,
           CASE WHEN cr.status <> 'off' THEN coalesce(cr.n_eff, 0) END AS calibration_effective_forecasts,
           cr.status AS calibration_status,
           sh.icu_sd AS icu_shift_sd, sh.ward_sd AS ward_shift_sd,
           CASE WHEN sh.status <> 'off' THEN sh.n END AS shift_forecasts,
           CASE WHEN sh.status <> 'off' AND r.d = 0 THEN 'census now' ELSE sh.status END AS shift_status
      FROM uncalibrated r
      JOIN calib_rule cr ON cr.unit = r.unit AND cr.d = r.d
      CROSS JOIN shift sh
), scored AS (
    SELECT r.unit, r.d, r.staffed_beds,
           CASE WHEN r.staffed_beds IS NOT NULL THEN
                @extschema@.bed_demand_prob_exceeds(r.demand, r.staffed_beds) END AS p_over,
           @extschema@.bed_demand_quantile(r.demand, 0.95) AS q95
      FROM all_rows r
), unit_rule AS (
    -- the action rule reads the next action_lookahead_days days of a unit:
    -- the highest P(demand > staffed) on days 1..L and the fewest spare
    -- staffed beds at the P95 on days 0..L (day 0 is the census now)
    SELECT s.unit,
           pg_catalog.bool_and(s.staffed_beds IS NULL) AS no_capacity,
           pg_catalog.max(s.p_over) FILTER (WHERE s.d >= 1) AS p_up,
           pg_catalog.min(s.d) FILTER (WHERE s.d >= 1 AND s.p_over >= (ref.pol).scale_up_probability) AS d_up,
           pg_catalog.min(s.staffed_beds - s.q95) AS spare
      FROM scored s, ref
     WHERE s.d <= (ref.pol).action_lookahead_days
     GROUP BY s.unit
), prev AS (
    -- the action of the unit's latest earlier forecast (the log; live and
    -- replay apart), if made within the last two days
    SELECT DISTINCT ON (f.unit) f.unit, f.recommended_action AS action
      FROM ref
      JOIN @extschema@.forecast_log f
        ON f.horizon_day = 0
       AND f.reference_time < ref.t
       AND f.reference_time >= ref.t - pg_catalog.make_interval(days => 2)
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
     ORDER BY f.unit, f.reference_time DESC, f.run_id DESC
), unit_action AS (
    -- enter 'scale up' at P >= scale_up_probability, stay until it falls
    -- below half of that; enter 'scale down' with scale_down_spare_beds
    -- spare on every day, stay while one bed fewer is spare
    SELECT u.unit,
           CASE WHEN u.no_capacity THEN 'no capacity data'
                WHEN u.p_up >= (ref.pol).scale_up_probability THEN 'scale up'
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale up'
                     AND u.p_up >= (ref.pol).scale_up_probability / 2 THEN 'scale up'
                WHEN u.spare >= (ref.pol).scale_down_spare_beds THEN 'scale down'
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale down'
                     AND u.spare >= (ref.pol).scale_down_spare_beds - 1 THEN 'scale down'
                ELSE 'hold' END AS action,
           CASE WHEN u.no_capacity THEN 'no staffed beds known for the next days'
                WHEN u.p_up >= (ref.pol).scale_up_probability THEN
                     pg_catalog.format('P(demand > staffed beds) reaches the threshold %s on day %s (highest %s within %s days)',
                                       (ref.pol).scale_up_probability, u.d_up,
                                       pg_catalog.round(u.p_up::numeric, 2), (ref.pol).action_lookahead_days)
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale up'
                     AND u.p_up >= (ref.pol).scale_up_probability / 2 THEN
                     pg_catalog.format('still scaled up: P(demand > staffed beds) %s within %s days, above half the threshold',
                                       pg_catalog.round(u.p_up::numeric, 2), (ref.pol).action_lookahead_days)
                WHEN u.spare >= (ref.pol).scale_down_spare_beds THEN
                     pg_catalog.format('at least %s staffed beds spare at the P95 on each of the next %s days',
                                       u.spare, (ref.pol).action_lookahead_days)
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale down'
                     AND u.spare >= (ref.pol).scale_down_spare_beds - 1 THEN
                     pg_catalog.format('still scaled down: %s staffed beds spare at the P95', u.spare)
                ELSE pg_catalog.format('P(demand > staffed beds) at most %s within %s days; fewer than %s beds spare',
                                       pg_catalog.round(coalesce(u.p_up, 0)::numeric, 2),
                                       (ref.pol).action_lookahead_days, (ref.pol).scale_down_spare_beds)
                END AS reason
      FROM unit_rule u
      CROSS JOIN ref
      LEFT JOIN prev p ON p.unit = u.unit
)
SELECT r.unit,
       r.d AS horizon_day,
       ref.ref_date + r.d AS forecast_date,
       ref.t + pg_catalog.make_interval(days => r.d) AS forecast_at,
       r.is_total,
       r.occupied_now,
       @extschema@.bed_demand_mean(r.demand) AS expected_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.10) AS p10_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.50) AS p50_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.90) AS p90_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.95) AS p95_beds,
       r.staffed_beds,
       r.surge_beds,
       CASE WHEN r.staffed_beds IS NULL THEN NULL
            ELSE @extschema@.bed_demand_prob_exceeds(r.demand, r.staffed_beds) END AS prob_over_staffed,
       CASE WHEN r.surge_beds IS NULL THEN NULL
            ELSE @extschema@.bed_demand_prob_exceeds(r.demand, r.surge_beds) END AS prob_over_surge,
       coalesce(ua.action, 'no capacity data') AS recommended_action,
       ua.reason AS action_reason,
       r.arrivals_per_day,
       r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
       r.arrivals_mean, r.arrivals_var, r.arrivals_shape,
       (SELECT gs.rate_s FROM growth_s gs) AS inflow_growth_per_day,
       r.demand,
       ref.t AS reference_time,
       pg_catalog.now() AS refreshed_at,
       r.calibration_factor,
       r.calibration_forecasts,
       r.calibration_effective_forecasts,
       r.calibration_status,
       r.icu_shift_sd,
       r.ward_shift_sd,
       r.shift_forecasts,
       r.shift_status
  FROM all_rows r
  CROSS JOIN ref
  LEFT JOIN unit_action ua ON ua.unit = r.unit
WITH NO DATA;

CREATE UNIQUE INDEX capacity_forecast_key ON @extschema@.capacity_forecast (unit, horizon_day);

COMMENT ON MATERIALIZED VIEW @extschema@.capacity_forecast IS
    'ICU occupancy now and the forecast ICU bed demand per ICU unit (and all units together) for horizon days 0 to 14 from the reference time, with its distribution, staffed and surge beds, the probability of running out, and a recommended action. Populated by CALL icu_predict.refresh(); read it through icu_bi.capacity_forecast. Method: see docs/views.md.';
COMMENT ON COLUMN @extschema@.capacity_forecast.unit IS 'ICU unit, or ''All ICU units'' for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.capacity_forecast.horizon_day IS 'Days ahead of the reference time, 0 to 14 (0 = now).';
COMMENT ON COLUMN @extschema@.capacity_forecast.forecast_date IS 'Calendar day of the forecast moment (reference day + horizon_day).';
COMMENT ON COLUMN @extschema@.capacity_forecast.forecast_at IS 'The forecast moment: reference time + horizon_day days.';
COMMENT ON COLUMN @extschema@.capacity_forecast.is_total IS 'True for the hospital-wide row over all ICU units.';
COMMENT ON COLUMN @extschema@.capacity_forecast.occupied_now IS 'Patients in the unit at the reference time (today''s actual occupancy).';
COMMENT ON COLUMN @extschema@.capacity_forecast.expected_beds IS 'Expected number of occupied beds at forecast_at.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p10_beds IS '10th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p50_beds IS 'Median of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p90_beds IS '90th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p95_beds IS '95th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.staffed_beds IS 'Staffed beds on forecast_date (icu_capacity); NULL when unknown.';
COMMENT ON COLUMN @extschema@.capacity_forecast.surge_beds IS 'Surge (maximum) beds on forecast_date (icu_capacity); NULL when unknown.';
COMMENT ON COLUMN @extschema@.capacity_forecast.prob_over_staffed IS 'P(demand > staffed beds).';
COMMENT ON COLUMN @extschema@.capacity_forecast.prob_over_surge IS 'P(demand > surge beds).';
COMMENT ON COLUMN @extschema@.capacity_forecast.recommended_action IS 'The unit''s recommended action, the same on every horizon row: ''scale up'' when P(demand > staffed beds) reaches capacity_policy.scale_up_probability on any of the next action_lookahead_days days (kept until it falls below half of that, with action_hysteresis), ''scale down'' when at least scale_down_spare_beds staffed beds are spare at the P95 on each of days 0 .. action_lookahead_days (kept while one bed fewer is spare), else ''hold''; ''no capacity data'' without staffed beds. The previous action comes from forecast_log (the unit''s latest earlier forecast within two days).';
COMMENT ON COLUMN @extschema@.capacity_forecast.action_reason IS 'Why: the figures the recommended action rests on, in words.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_per_day IS 'Expected ICU admissions, hospital-wide, during the day before forecast_at of patients not yet in hospital at the reference time (admitted later, reaching the ICU directly or through a ward); 0 on horizon day 0.';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_mean IS 'Component: expected beds at forecast_at of the patients in this ICU unit at the reference time (sum of their remaining-stay probabilities).';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_var IS 'Component: variance of that count (sum of p (1 - p)). The components describe the forecast as computed, before its calibration: their variances add up to the variance of demand only when calibration_factor is 1 or NULL.';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_mean IS 'Component: expected beds at forecast_at of the patients in hospital but not in an ICU at the reference time (their ICU-admission curve through their stay survival, routed to this unit).';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_var IS 'Component: variance of that count (sum of p (1 - p)).';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_mean IS 'Component: expected beds at forecast_at of patients not yet in hospital at the reference time.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_var IS 'Component: variance of that count: the mean for a Poisson inflow, mean + mean^2 / arrivals_shape for the negative binomial.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_shape IS 'Gamma shape of the inflow rate''s uncertainty (negative-binomial inflow, capacity_policy.inflow_overdispersion); NULL: Poisson inflow.';
COMMENT ON COLUMN @extschema@.capacity_forecast.inflow_growth_per_day IS 'Growth of the ICU inflow used, per day on the log scale (the 14-day fit after shrinkage; 0 without capacity_policy.inflow_trend).';
COMMENT ON COLUMN @extschema@.capacity_forecast.demand IS 'The full bed-count distribution (bed_demand; use bed_demand_pmf(demand) for plots), after the calibration when capacity_policy.calibration is on; the quantiles, expected beds and probabilities are read from it.';
COMMENT ON COLUMN @extschema@.capacity_forecast.reference_time IS 'The reference time ("now") of the forecast.';
COMMENT ON COLUMN @extschema@.capacity_forecast.refreshed_at IS 'When the view was last refreshed.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_factor IS 'Factor by which the distribution was widened (> 1) or narrowed (< 1) around its mean, learnt from the graded forecasts of record of this unit and horizon (bed_demand_calibration_factor); 1 at day 0 and in the cold start; NULL when capacity_policy.calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_forecasts IS 'Graded past forecasts of record (this unit and horizon, in capacity_policy.calibration_window_days) the factor rests on; NULL when calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_effective_forecasts IS 'How many independent errors those are: daily h-day forecasts overlap, so min(forecasts, days spanned / h + 1); NULL when calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_status IS '''calibrated''; ''cold start'' (fewer graded forecasts than capacity_policy.calibration_min_forecasts: factor 1, the forecast as computed); ''census now'' (day 0); ''off'' (capacity_policy.calibration false).';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_shift_sd IS 'Standard deviation of the common shift of the ICU patients'' probabilities of still being in an ICU at forecast_at, on the logit scale, that the distribution is mixed over (capacity_policy.common_shift; estimated from the graded forecasts of record, at most 2); 0 in the cold start; NULL when common_shift is off. The same on every row.';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_shift_sd IS 'Standard deviation of the common shift of the ward patients'' probabilities of being in an ICU at forecast_at, on the logit scale (as icu_shift_sd).';
COMMENT ON COLUMN @extschema@.capacity_forecast.shift_forecasts IS 'Graded hospital-wide forecasts of record (horizons 1 to 14 pooled, in capacity_policy.calibration_window_days) the shift sizes rest on; NULL when common_shift is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.shift_status IS '''mixed'' (the distribution is a mixture over the common shift); ''cold start'' (graded forecasts of record on fewer reference days than capacity_policy.calibration_min_forecasts: no shift); ''census now'' (day 0, which no shift changes); ''off'' (capacity_policy.common_shift false).';

CREATE VIEW icu_bi.capacity_forecast AS
    SELECT cf.unit::text                  AS unit,
           cf.is_total::boolean           AS is_total,
           cf.horizon_day::integer        AS horizon_day,
           cf.forecast_date::date         AS forecast_date,
           cf.forecast_at::timestamptz    AS forecast_at,
           cf.occupied_now::integer       AS occupied_now,
           cf.expected_beds::float8       AS expected_beds,
           cf.p10_beds::integer           AS p10_beds,
           cf.p50_beds::integer           AS p50_beds,
           cf.p90_beds::integer           AS p90_beds,
           cf.p95_beds::integer           AS p95_beds,
           cf.staffed_beds::integer       AS staffed_beds,
           cf.surge_beds::integer         AS surge_beds,
           cf.prob_over_staffed::float8   AS prob_over_staffed,
           cf.prob_over_surge::float8     AS prob_over_surge,
           cf.recommended_action::text    AS recommended_action,
           cf.arrivals_per_day::float8    AS arrivals_per_day,
           cf.reference_time::timestamptz AS reference_time,
           cf.refreshed_at::timestamptz   AS refreshed_at,
           cf.action_reason::text         AS action_reason,
           cf.calibration_factor::float8  AS calibration_factor,
           cf.calibration_forecasts::integer AS calibration_forecasts,
           cf.calibration_effective_forecasts::float8 AS calibration_effective_forecasts,
           cf.calibration_status::text    AS calibration_status,
           cf.icu_shift_sd::float8        AS icu_shift_sd,
           cf.ward_shift_sd::float8       AS ward_shift_sd,
           cf.shift_forecasts::integer    AS shift_forecasts,
           cf.shift_status::text          AS shift_status
      FROM @extschema@.capacity_forecast cf;

COMMENT ON VIEW icu_bi.capacity_forecast IS
    'ICU occupancy now and forecast bed demand per ICU unit (and ''All ICU units'') for 0 to 14 days ahead, with P10/P50/P90/P95, staffed and surge beds, P(demand > staffed) and a recommended action. Aggregate numbers: not filtered by ward.';
COMMENT ON COLUMN icu_bi.capacity_forecast.unit IS 'ICU unit, or ''All ICU units''.';
COMMENT ON COLUMN icu_bi.capacity_forecast.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN icu_bi.capacity_forecast.horizon_day IS 'Days ahead (0 = now).';
COMMENT ON COLUMN icu_bi.capacity_forecast.forecast_date IS 'Calendar day of the forecast.';
COMMENT ON COLUMN icu_bi.capacity_forecast.forecast_at IS 'Moment of the forecast (reference time + horizon_day days).';
COMMENT ON COLUMN icu_bi.capacity_forecast.occupied_now IS 'Patients in the unit now (actual occupancy at the reference time).';
COMMENT ON COLUMN icu_bi.capacity_forecast.expected_beds IS 'Expected occupied beds.';
COMMENT ON COLUMN icu_bi.capacity_forecast.p10_beds IS 'Occupied beds, 10th percentile (low end of the 80% range).';
COMMENT ON COLUMN icu_bi.capacity_forecast.p50_beds IS 'Occupied beds, median.';
COMMENT ON COLUMN icu_bi.capacity_forecast.p90_beds IS 'Occupied beds, 90th percentile (high end of the 80% range).';
COMMENT ON COLUMN icu_bi.capacity_forecast.p95_beds IS 'Occupied beds, 95th percentile.';
COMMENT ON COLUMN icu_bi.capacity_forecast.staffed_beds IS 'Staffed beds that day.';
COMMENT ON COLUMN icu_bi.capacity_forecast.surge_beds IS 'Surge (maximum) beds that day.';
COMMENT ON COLUMN icu_bi.capacity_forecast.prob_over_staffed IS 'Probability that demand exceeds the staffed beds (0 to 1).';
COMMENT ON COLUMN icu_bi.capacity_forecast.prob_over_surge IS 'Probability that demand exceeds the surge beds (0 to 1).';
COMMENT ON COLUMN icu_bi.capacity_forecast.recommended_action IS 'scale up, hold, scale down, or no capacity data: one action per unit from the next days (capacity_policy.action_lookahead_days), kept until its condition clearly ends (docs/views.md).';
COMMENT ON COLUMN icu_bi.capacity_forecast.action_reason IS 'The figures the recommended action rests on, in words.';
COMMENT ON COLUMN icu_bi.capacity_forecast.arrivals_per_day IS 'Expected ICU admissions, during the day before this forecast moment, of patients not yet in hospital at the reference time (hospital-wide).';
COMMENT ON COLUMN icu_bi.capacity_forecast.reference_time IS 'Reference time ("now") of the forecast.';
COMMENT ON COLUMN icu_bi.capacity_forecast.refreshed_at IS 'When the data was last refreshed.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_factor IS 'Factor the forecast distribution was widened (above 1) or narrowed (below 1) by around its mean, from the graded past forecasts (capacity_policy.calibration); 1 in the cold start and for day 0, empty when the calibration is off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_forecasts IS 'Graded past forecasts of this unit and horizon the calibration factor rests on; empty when the calibration is off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_effective_forecasts IS 'Independent errors among those forecasts (overlapping h-day forecasts count about once per h days); empty when the calibration is off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_status IS 'calibrated, cold start (too few graded forecasts: factor 1), census now (day 0) or off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.icu_shift_sd IS 'Size (standard deviation, logit scale) of the common shift of the ICU patients'' chances of still being in an ICU that the forecast range allows for (capacity_policy.common_shift), learnt from the graded past forecasts; 0 in the cold start, empty when off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.ward_shift_sd IS 'Size of the common shift of the ward patients'' chances of being in an ICU (as icu_shift_sd).';
COMMENT ON COLUMN icu_bi.capacity_forecast.shift_forecasts IS 'Graded past hospital-wide forecasts the shift sizes rest on; empty when off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.shift_status IS 'mixed, cold start (too few graded forecasts: no shift), census now (day 0) or off.';

GRANT SELECT ON icu_bi.capacity_forecast TO icu_bi_reader;

-- ===========================================================================
-- 3. issue 12: the common shift per horizon band and mean-preserving
--    (bed_demand_shift_logit_offset; capacity_forecast's shift sizes per
--    band of days 1-2, 3-6, 7-14, shrunk by their effective count; the
--    columns icu_shift_sd, ward_shift_sd, shift_forecasts and shift_status
--    per row).  Self-contained: it replaces capacity_forecast and
--    icu_bi.capacity_forecast as a whole.
-- ===========================================================================
CREATE FUNCTION @extschema@.bed_demand_shift_logit_offset(p float8, sd float8, nodes integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_shift_logit_offset'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_shift_logit_offset(float8, float8, integer) IS
    'The log-odds offset c with sum(weight * bed_demand_shift_logit(p, c + sd * z)) = p over bed_demand_normal_nodes(nodes): shifting p by c + sd z at every node keeps p as the mixture''s mean (a logit-normal shift alone pulls p toward 1/2). c <= 0 for p <= 1/2, c(1 - p) = -c(p); 0 for p = 0, p = 1 or sd = 0. p in [0, 1], sd finite, >= 0 and at most 10000, nodes in 1..64, else 22023.';

-- A materialized view's query cannot be altered, so capacity_forecast and the
-- BI view over it are created anew (as in the 0.1.0 -> 0.2.0 update).  A view
-- of your own over either makes the DROP fail (nothing is changed then): drop
-- it, update, create it again.  Privileges granted on either view beyond the
-- extension's own are not carried over: they are listed in a WARNING, to be
-- granted again after the update.  Run CALL icu_predict.refresh() after it.
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT c.oid::regclass AS rel, a.privilege_type,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END AS grantee,
               a.is_grantable
          FROM pg_catalog.pg_class c
         CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
          LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
         WHERE c.oid IN ('@extschema@.capacity_forecast'::regclass, 'icu_bi.capacity_forecast'::regclass)
           AND a.grantee <> c.relowner
           AND NOT (c.oid = 'icu_bi.capacity_forecast'::regclass
                    AND r.rolname = 'icu_bi_reader' AND a.privilege_type = 'SELECT'
                    AND NOT a.is_grantable)
         ORDER BY 1, 3, 2
    LOOP
        RAISE WARNING 'icu_predict 0.3.0 recreates %; grant again after the update: GRANT % ON % TO %;',
                      g.rel, g.privilege_type, g.rel,
                      g.grantee || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END;
    END LOOP;
END
$$;

DROP VIEW icu_bi.capacity_forecast;
DROP MATERIALIZED VIEW @extschema@.capacity_forecast;

CREATE MATERIALIZED VIEW @extschema@.capacity_forecast AS
WITH ref AS (
    SELECT @extschema@.reference_time() AS t,
           pg_catalog.timezone(@extschema@.day_zone(), @extschema@.reference_time())::date AS ref_date,
           @extschema@.capacity_settings() AS pol
), horizon AS (
    SELECT h AS d FROM pg_catalog.generate_series(0, 14) AS h
), today AS (
    -- today's row of every current admission
    SELECT ps.admission_id, ps.ward, ps.unit_kind, ps.as_of,
           coalesce(ps.forecast_risk, ps.risk) AS risk,
           ps.stay_model, ps.stay_version, ps.stay_location_days,
           -- the points of the ICU-admission curve: (h1, r1) and, when the
           -- status risk and the forecast risk have different horizons,
           -- (h2, r2) with h1 < h2
           CASE WHEN two.ok AND two.status_first THEN ps.risk
                ELSE coalesce(ps.forecast_risk, ps.risk) END AS r1,
           (CASE WHEN two.ok AND two.status_first THEN ps.risk_horizon_hours
                 WHEN ps.forecast_risk IS NOT NULL THEN ps.forecast_risk_horizon_hours
                 ELSE ps.risk_horizon_hours END / 24.0)::float8 AS h1,
           CASE WHEN two.ok THEN CASE WHEN two.status_first THEN ps.forecast_risk ELSE ps.risk END
                END AS r2,
           (CASE WHEN two.ok THEN greatest(ps.risk_horizon_hours, ps.forecast_risk_horizon_hours)
                 END / 24.0)::float8 AS h2
      FROM @extschema@.patient_status ps
      CROSS JOIN ref
      CROSS JOIN LATERAL (
            SELECT ps.risk IS NOT NULL AND ps.forecast_risk IS NOT NULL
                   AND ps.risk_horizon_hours IS DISTINCT FROM ps.forecast_risk_horizon_hours AS ok,
                   ps.risk_horizon_hours < ps.forecast_risk_horizon_hours AS status_first) two
     WHERE ps.day_date = ref.ref_date
), episodes_recent AS MATERIALIZED (
    -- ICU episodes begun in the longest look-back any part uses (arrival
    -- window, the 14 days of the growth fit, the routing window), read once
    SELECT ep.admission_id, ep.first_unit, ep.started_at
      FROM ref
      JOIN @extschema@.icu_episode ep
        ON ep.started_at <= ref.t
       AND ep.started_at > ref.t - pg_catalog.make_interval(
               days => greatest((ref.pol).arrival_window_days, 14, (ref.pol).routing_window_days))
), cap AS (
    -- capacity per unit and horizon day (latest valid_from <= that day)
    SELECT c.unit, h.d, c.staffed_beds, c.surge_beds
      FROM horizon h, ref,
           LATERAL (SELECT DISTINCT ON (ic.unit) ic.unit, ic.staffed_beds, ic.surge_beds
                      FROM @extschema@.icu_capacity ic
                     WHERE ic.valid_from <= ref.ref_date + h.d
                     ORDER BY ic.unit, ic.valid_from DESC) c
), units AS (
    SELECT DISTINCT c.unit FROM cap c
    UNION
    SELECT DISTINCT t.ward FROM today t WHERE t.unit_kind = 'icu'
), beds_w AS (
    -- staffed-bed share of each unit on day 0 (equal shares without data):
    -- the routing of last resort
    SELECT u.unit,
           CASE WHEN pg_catalog.sum(coalesce(c.staffed_beds, 0)) OVER () > 0
                THEN coalesce(c.staffed_beds, 0)::float8
                     / pg_catalog.sum(coalesce(c.staffed_beds, 0)) OVER ()
                ELSE 1.0 / pg_catalog.count(*) OVER () END AS w
      FROM units u
      LEFT JOIN cap c ON c.unit = u.unit AND c.d = 0
), routing_hist AS (
    -- where recent ICU patients went: the first ICU unit of every episode
    -- begun in the routing window, with the non-ICU unit the patient came
    -- from (the latest location stay begun before the episode)
    SELECT e.first_unit AS unit,
           (SELECT s.unit FROM @extschema@.location_stay s
             WHERE s.admission_id = e.admission_id
               AND s.unit_kind IS DISTINCT FROM 'icu'
               AND s.started_at < e.started_at
             ORDER BY s.started_at DESC LIMIT 1) AS from_unit
      FROM episodes_recent e
      CROSS JOIN ref
     WHERE e.started_at > ref.t - pg_catalog.make_interval(days => (ref.pol).routing_window_days)
       AND e.first_unit IN (SELECT u.unit FROM units u)
), weights AS (
    -- hospital-wide routing (new arrivals, and ward patients of a unit
    -- without history): episodes per first unit, smoothed towards the
    -- staffed-bed shares with the weight of 5 episodes,
    --     w_u = (n_u + 5 b_u) / (n + 5)
    -- so no history gives the staffed-bed shares and a long history the
    -- observed ones
    SELECT b.unit,
           ((coalesce(h.n, 0) + 5.0 * b.w) / (tot.n + 5.0))::float8 AS w
      FROM beds_w b
      LEFT JOIN (SELECT r.unit, pg_catalog.count(*) AS n FROM routing_hist r GROUP BY r.unit) h
        ON h.unit = b.unit
      CROSS JOIN (SELECT pg_catalog.count(*) AS n FROM routing_hist) tot
), ward_weights AS (
    -- routing of patients on one non-ICU unit: that unit's episodes per
    -- first ICU unit, smoothed towards the hospital-wide routing with the
    -- weight of 5 episodes
    SELECT f.from_unit, w.unit,
           ((coalesce(h.n, 0) + 5.0 * w.w) / (f.n + 5.0))::float8 AS w
      FROM (SELECT r.from_unit, pg_catalog.count(*) AS n
              FROM routing_hist r WHERE r.from_unit IS NOT NULL GROUP BY r.from_unit) f
      CROSS JOIN weights w
      LEFT JOIN (SELECT r.from_unit, r.unit, pg_catalog.count(*) AS n
                   FROM routing_hist r GROUP BY r.from_unit, r.unit) h
        ON h.from_unit = f.from_unit AND h.unit = w.unit
), icu_start AS MATERIALIZED (
    -- patients in an ICU: the start of the current ICU episode and, with
    -- capacity_policy.stay_at_episode_start, the stay model's location as of
    -- that start (the panel of the labs resulted by then, the hours since
    -- hospital admission then: the inputs the model was trained on), so that
    -- S(s + d) / S(s) conditions one stay distribution on the s days spent;
    -- else, or without an episode start, today's location
    SELECT t.admission_id, e.started_at,
           CASE WHEN (ref.pol).stay_at_episode_start AND e.started_at IS NOT NULL
                     AND t.stay_model IS NOT NULL
                THEN coalesce((@extschema@.length_of_stay(
                         (SELECT @extschema@.lab_panel(c.admission_id, c.feature, c.value, c.resulted_at,
                                                       e.started_at)
                            FROM @extschema@.lab_canonical c
                           WHERE c.admission_id = t.admission_id AND c.resulted_at <= e.started_at),
                         a.age_years::float8, a.sex::text,
                         (pg_catalog.date_part('epoch', e.started_at - a.admitted_at) / 3600.0)::float8,
                         'icu', t.stay_model, t.stay_version)).location_days,
                     t.stay_location_days)
                ELSE t.stay_location_days END AS stay_location_days
      FROM today t
      CROSS JOIN ref
      JOIN @extschema@.admission a ON a.admission_id = t.admission_id
      LEFT JOIN LATERAL (
            SELECT ep.started_at FROM @extschema@.icu_episode ep
             WHERE ep.admission_id = t.admission_id
               AND ep.started_at <= ref.t
             ORDER BY ep.started_at DESC LIMIT 1) e ON true
     WHERE t.unit_kind = 'icu'
), icu_now AS (
    SELECT t.admission_id, t.ward AS unit, t.stay_model, t.stay_version, st.stay_location_days,
           coalesce(pg_catalog.date_part('epoch', ref.t - st.started_at) / 86400.0, 0) AS spent
      FROM today t
      CROSS JOIN ref
      JOIN icu_start st ON st.admission_id = t.admission_id
), icu_p AS (
    -- remaining-stay probabilities S(s + d) / S(s)
    SELECT i.admission_id, i.unit, h.d,
           CASE WHEN h.d = 0 THEN 1.0::float8
                WHEN curve.s[1] IS NULL THEN NULL
                WHEN curve.s[1] <= 0 THEN 0.0::float8
                ELSE least(1.0, curve.s[h.d + 1] / curve.s[1]) END AS p
      FROM icu_now i
      CROSS JOIN ref
      CROSS JOIN LATERAL (
            SELECT CASE WHEN i.stay_model IS NOT NULL THEN
                   @extschema@.stay_survival_curve(i.stay_location_days,
                       ARRAY(SELECT i.spent + g FROM pg_catalog.generate_series(0, 14) g ORDER BY g),
                       i.stay_model, i.stay_version) END AS s) curve
      CROSS JOIN horizon h
), s0 AS (
    -- stay survival from the start of an ICU stay, at x = 0.5, 1.5, ..., 13.5
    -- (a patient in an ICU now with the location as of the episode start,
    -- as in icu_now: the curve enters the mean curve Sbar of the arrivals)
    SELECT t.admission_id, t.ward, t.unit_kind, t.risk, t.r1, t.h1, t.r2, t.h2,
           CASE WHEN t.stay_model IS NOT NULL THEN
                @extschema@.stay_survival_curve(coalesce(st.stay_location_days, t.stay_location_days),
                    ARRAY(SELECT (g + 0.5)::float8 FROM pg_catalog.generate_series(0, 13) g ORDER BY g),
                    t.stay_model, t.stay_version) END AS s
      FROM today t
      LEFT JOIN icu_start st ON st.admission_id = t.admission_id
), ward_p AS (
    -- nf.u[x + 1] = P(no ICU admission by day x), x = 0..14
    SELECT w.admission_id, w.ward, h.d,
           (SELECT coalesce(pg_catalog.sum((nf.u[k + 1] - nf.u[k + 2]) * w.s[h.d - k]), 0)
              FROM pg_catalog.generate_series(0, h.d - 1) k)::float8 AS p
      FROM s0 w
      CROSS JOIN LATERAL (
            SELECT ARRAY(SELECT CASE WHEN w.r2 IS NULL OR x <= w.h1
                                         THEN (1 - w.r1) ^ (x / w.h1)
                                     WHEN w.r1 >= 1 THEN 0.0::float8
                                     ELSE (1 - w.r1)
                                          * ((1 - greatest(w.r1, w.r2)) / (1 - w.r1))
                                            ^ ((x - w.h1) / (w.h2 - w.h1)) END
                           FROM pg_catalog.generate_series(0, 14) x ORDER BY x) AS u) nf
      CROSS JOIN horizon h
     WHERE w.unit_kind IS DISTINCT FROM 'icu'
       AND w.risk IS NOT NULL
), arrival_history AS (
    -- ICU episodes begun in the arrival window, with their delay from
    -- hospital admission in days
    SELECT greatest(0, pg_catalog.date_part('epoch', ep.started_at - a.admitted_at) / 86400.0) AS delay
      FROM ref
      JOIN episodes_recent ep
        ON ep.started_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_window_days)
      JOIN @extschema@.admission a ON a.admission_id = ep.admission_id
), trend AS (
    -- hospital admissions per day, last arrival_trend_days vs the window
    SELECT CASE WHEN (ref.pol).arrival_trend_days = 0 OR adm.in_window = 0 THEN 1.0::float8
                ELSE least((ref.pol).arrival_trend_cap,
                           greatest(1.0 / (ref.pol).arrival_trend_cap,
                                    (adm.recent::float8 / (ref.pol).arrival_trend_days)
                                    / (adm.in_window::float8 / (ref.pol).arrival_window_days)))
                END AS f
      FROM ref
      CROSS JOIN LATERAL (
            SELECT pg_catalog.count(*) FILTER (
                       WHERE a.admitted_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_trend_days))
                       AS recent,
                   pg_catalog.count(*) AS in_window
              FROM @extschema@.admission a
             WHERE a.admitted_at <= ref.t
               AND a.admitted_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_window_days)) adm
), growth AS (
    -- growth of the ICU inflow: Poisson log-linear fit to the ICU-episode
    -- starts of the last 14 days (whole weeks: the weekday cycle cancels),
    -- shrunk toward no growth by its own uncertainty,
    --     r_s = r * max(0, 1 - se^2 / r^2)
    -- (no growth at all when |r| <= se); the shrunk slope has sd f * se.
    SELECT g.rate, g.rate_se,
           CASE WHEN NOT (ref.pol).inflow_trend OR g.rate_se IS NULL OR g.rate = 0 THEN 0.0::float8
                ELSE greatest(0.0, 1.0 - (g.rate_se / g.rate) ^ 2) END AS shrink,
           (SELECT pg_catalog.count(*) FROM arrival_history)::float8 AS n_window
      FROM ref
      CROSS JOIN LATERAL @extschema@.inflow_growth(ARRAY(
            SELECT pg_catalog.count(e.started_at)::float8
              FROM pg_catalog.generate_series(13, 0, -1) AS j
              LEFT JOIN episodes_recent e
                ON e.started_at > ref.t - pg_catalog.make_interval(days => j + 1)
               AND e.started_at <= ref.t - pg_catalog.make_interval(days => j)
             GROUP BY j ORDER BY j DESC)) g
), growth_s AS (
    SELECT g.*, g.rate * g.shrink AS rate_s, g.rate_se * g.shrink AS rate_s_sd FROM growth g
), entries AS (
    -- expected ICU entries during forecast day k of patients admitted after
    -- t: an episode of the window with delay x from hospital admission
    -- stands for admissions at t + u entering during day k, u in
    -- [max(0, k - x), max(0, k + 1 - x)); under growth each counts with the
    -- damped, capped multiplier m(u) at the middle of that interval,
    --     m(u) = exp(r_s * (W/2 + tau * (1 - exp(-u / tau))))
    -- within [1/cap, cap]: W/2 moves the window's mean rate to t, tau
    -- (inflow_trend_damping_days) lets the growth fade.
    SELECT k,
           (trend.f
            * coalesce((SELECT pg_catalog.sum(
                            least(1.0, greatest(0.0, k + 1 - ah.delay))
                            * least((ref.pol).arrival_trend_cap,
                                    greatest(1.0 / (ref.pol).arrival_trend_cap,
                                             pg_catalog.exp(gs.rate_s
                                                 * ((ref.pol).arrival_window_days / 2.0
                                                    + (ref.pol).inflow_trend_damping_days
                                                      * (1.0 - pg_catalog.exp(
                                                            -((greatest(0.0, k - ah.delay)
                                                               + greatest(0.0, k + 1 - ah.delay)) / 2.0)
                                                            / (ref.pol).inflow_trend_damping_days)))))))
                          FROM arrival_history ah), 0)
            / (ref.pol).arrival_window_days)::float8 AS e
      FROM pg_catalog.generate_series(0, 13) AS k, trend, ref, growth_s gs
), sbar AS (
    SELECT x.i, pg_catalog.avg(x.v) AS v
      FROM s0, LATERAL pg_catalog.unnest(s0.s) WITH ORDINALITY AS x(v, i)
     GROUP BY x.i
), arrivals_d AS (
    -- mean of the Poisson count of those patients in the ICU at t + d, and
    -- their expected ICU entries during the day before t + d
    SELECT h.d,
           coalesce((SELECT pg_catalog.sum(en.e * sb.v)
                       FROM entries en JOIN sbar sb ON sb.i = h.d - en.k
                      WHERE en.k < h.d), 0)::float8 AS m,
           coalesce((SELECT en.e FROM entries en WHERE en.k = h.d - 1), 0)::float8 AS per_day,
           -- gamma shape of the rate multiplier shared by all arrivals: the
           -- relative variance of the estimated rate, from the window's count
           -- (1/N) and the slope's sd at the mean entry time d/2,
           --     v_d = 1/N + (f se (W/2 + tau (1 - exp(-d / (2 tau)))))^2
           CASE WHEN (ref.pol).inflow_overdispersion AND gs.n_window > 0 THEN
                (1.0 / (1.0 / gs.n_window
                        + (coalesce(gs.rate_s_sd, 0)
                           * ((ref.pol).arrival_window_days / 2.0
                              + (ref.pol).inflow_trend_damping_days
                                * (1.0 - pg_catalog.exp(-h.d / (2.0 * (ref.pol).inflow_trend_damping_days))))) ^ 2))
                END::float8 AS shape
      FROM horizon h, ref, growth_s gs
), ward_routed AS (
    -- every ward patient's probability with the share w of each ICU unit
    SELECT wp.admission_id, wt.unit, wp.d, wp.p, coalesce(ww.w, wt.w) AS w
      FROM ward_p wp
      CROSS JOIN weights wt
      LEFT JOIN ward_weights ww ON ww.from_unit = wp.ward AND ww.unit = wt.unit
), contrib AS (
    -- (unit, d, p) for every patient and unit; src: in the ICU now or not
    SELECT 'icu'::text AS src, ip.unit, ip.d, ip.p FROM icu_p ip
    UNION ALL
    SELECT 'ward'::text, wr.unit, wr.d, wr.p * wr.w FROM ward_routed wr
), per_unit AS (
    SELECT u.unit, h.d, false AS is_total,
           @extschema@.bed_demand_add_arrivals(
               coalesce((SELECT @extschema@.bed_demand(c.p) FROM contrib c
                          WHERE c.unit = u.unit AND c.d = h.d),
                        @extschema@.bed_demand_poisson(0)),
               coalesce(ad.m * wt.w, 0), ad.shape) AS demand,
           (SELECT pg_catalog.count(*) FROM icu_now i WHERE i.unit = u.unit)::integer AS occupied_now,
           c.staffed_beds, c.surge_beds, ad.per_day AS arrivals_per_day,
           cm.icu_mean, cm.icu_var, cm.ward_mean, cm.ward_var,
           coalesce(ad.m * wt.w, 0) AS arrivals_mean,
           coalesce(ad.m * wt.w + CASE WHEN ad.shape IS NULL THEN 0 ELSE (ad.m * wt.w) ^ 2 / ad.shape END, 0)
               AS arrivals_var,
           ad.shape AS arrivals_shape
      FROM units u
      CROSS JOIN horizon h
      JOIN arrivals_d ad ON ad.d = h.d
      LEFT JOIN weights wt ON wt.unit = u.unit
      LEFT JOIN cap c ON c.unit = u.unit AND c.d = h.d
      CROSS JOIN LATERAL (
            SELECT coalesce(pg_catalog.sum(c2.p) FILTER (WHERE c2.src = 'icu'), 0)::float8 AS icu_mean,
                   coalesce(pg_catalog.sum(c2.p * (1 - c2.p)) FILTER (WHERE c2.src = 'icu'), 0)::float8 AS icu_var,
                   coalesce(pg_catalog.sum(c2.p) FILTER (WHERE c2.src = 'ward'), 0)::float8 AS ward_mean,
                   coalesce(pg_catalog.sum(c2.p * (1 - c2.p)) FILTER (WHERE c2.src = 'ward'), 0)::float8 AS ward_var
              FROM contrib c2 WHERE c2.unit = u.unit AND c2.d = h.d) cm
), total AS (
    SELECT 'All ICU units'::text AS unit, h.d, true AS is_total,
           @extschema@.bed_demand_add_arrivals(
               coalesce((SELECT @extschema@.bed_demand(x.p)
                           FROM (SELECT ip.p FROM icu_p ip WHERE ip.d = h.d
                                 UNION ALL
                                 SELECT wp.p FROM ward_p wp WHERE wp.d = h.d) x),
                        @extschema@.bed_demand_poisson(0)),
               ad.m, ad.shape) AS demand,
           (SELECT pg_catalog.count(*) FROM icu_now)::integer AS occupied_now,
           (SELECT pg_catalog.sum(c.staffed_beds) FROM cap c WHERE c.d = h.d)::integer AS staffed_beds,
           (SELECT pg_catalog.sum(c.surge_beds) FROM cap c WHERE c.d = h.d)::integer AS surge_beds,
           ad.per_day AS arrivals_per_day,
           cm.icu_mean, cm.icu_var, cm.ward_mean, cm.ward_var,
           ad.m AS arrivals_mean,
           ad.m + CASE WHEN ad.shape IS NULL THEN 0 ELSE ad.m ^ 2 / ad.shape END AS arrivals_var,
           ad.shape AS arrivals_shape
      FROM horizon h
      JOIN arrivals_d ad ON ad.d = h.d
      CROSS JOIN LATERAL (
            SELECT coalesce(pg_catalog.sum(x.p) FILTER (WHERE x.src = 'icu'), 0)::float8 AS icu_mean,
                   coalesce(pg_catalog.sum(x.p * (1 - x.p)) FILTER (WHERE x.src = 'icu'), 0)::float8 AS icu_var,
                   coalesce(pg_catalog.sum(x.p) FILTER (WHERE x.src = 'ward'), 0)::float8 AS ward_mean,
                   coalesce(pg_catalog.sum(x.p * (1 - x.p)) FILTER (WHERE x.src = 'ward'), 0)::float8 AS ward_var
              FROM (SELECT 'icu'::text AS src, ip.p FROM icu_p ip WHERE ip.d = h.d
                    UNION ALL
                    SELECT 'ward', wp.p FROM ward_p wp WHERE wp.d = h.d) x) cm
), unmixed AS (
    SELECT * FROM per_unit UNION ALL SELECT * FROM total
), shift_on AS (
    SELECT (ref.pol).common_shift AS on_ FROM ref
), shift_bands AS (
    -- the horizon bands whose shift sizes are estimated apart: the short
    -- horizons' common error is not the long horizons'
    SELECT b.band, b.d_lo, b.d_hi
      FROM (VALUES (1, 1, 2), (2, 3, 6), (3, 7, 14)) AS b(band, d_lo, d_hi)
), shift_hist AS MATERIALIZED (
    -- the graded past of the common shift (capacity_policy.common_shift):
    -- the hospital-wide forecasts of record of the same kind (live, or
    -- replay) whose moment lies in the calibration window, with their ICU
    -- and ward components as computed (at zero shift)
    SELECT f.reference_time, f.reference_date, f.forecast_at, f.horizon_day,
           f.icu_mean, f.icu_var, f.ward_mean, f.ward_var
      FROM ref
      JOIN @extschema@.forecast_log f
        ON f.of_record
       AND f.is_total
       AND f.horizon_day >= 1
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
       AND f.forecast_at <= ref.t
       AND f.forecast_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days)
     WHERE (SELECT so.on_ FROM shift_on so)
), shift_eps AS MATERIALIZED (
    -- the ICU episodes that may cover one of those moments or their
    -- reference times (at most 14 days before them)
    SELECT ep.admission_id, ep.started_at, ep.ended_at, a.admitted_at
      FROM ref
      JOIN @extschema@.icu_episode ep
        ON ep.started_at <= ref.t
       AND (ep.ended_at IS NULL
            OR ep.ended_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days + 14))
      JOIN @extschema@.admission a ON a.admission_id = ep.admission_id
     WHERE (SELECT so.on_ FROM shift_on so) AND EXISTS (SELECT 1 FROM shift_hist)
), shift_moments AS (
    SELECT DISTINCT h.reference_time, h.forecast_at FROM shift_hist h
), shift_icu_then AS (
    -- the patients in an ICU episode at each of those reference times
    SELECT DISTINCT r.reference_time, e.admission_id
      FROM (SELECT DISTINCT m.reference_time FROM shift_moments m) r
      JOIN shift_eps e
        ON e.started_at <= r.reference_time
       AND (e.ended_at IS NULL OR e.ended_at > r.reference_time)
), shift_real AS (
    -- the realised components (the census rule of icu_census: an ICU
    -- episode covers the moment): of the patients in an ICU at the moment,
    -- those in an ICU at the reference time are the ICU component's count,
    -- those admitted by then but not in an ICU the ward component's (the
    -- rest were admitted later)
    SELECT m.reference_time, m.forecast_at,
           pg_catalog.count(i.admission_id)::float8 AS y_icu,
           pg_catalog.count(e.admission_id) FILTER (
               WHERE i.admission_id IS NULL AND e.admitted_at <= m.reference_time)::float8 AS y_ward
      FROM shift_moments m
      LEFT JOIN shift_eps e
        ON e.started_at <= m.forecast_at
       AND (e.ended_at IS NULL OR e.ended_at > m.forecast_at)
      LEFT JOIN shift_icu_then i
        ON i.reference_time = m.reference_time AND i.admission_id = e.admission_id
     GROUP BY m.reference_time, m.forecast_at
), shift_est AS (
    -- method of moments per horizon band: a common logit shift with
    -- variance sigma^2 adds about (d mean / d shift)^2 sigma^2 = v^2 sigma^2
    -- to a Poisson-binomial count of variance v = sum p (1 - p), so, over
    -- the band's graded forecasts,
    --     sigma^2 = max(0, sum((y - m)^2 - v) / sum(v^2))
    -- with each (y - m)^2 held at 100 v (one wild day cannot set it alone).
    -- Daily forecasts of up to d_hi days overlap: n_eff = min(reference
    -- days, span / d_hi + 1) independent errors
    SELECT b.band,
           pg_catalog.count(h.reference_time)::integer AS n,
           pg_catalog.count(DISTINCT h.reference_date)::integer AS n_days,
           least(pg_catalog.count(DISTINCT h.reference_date)::float8,
                 coalesce(pg_catalog.max(h.reference_date) - pg_catalog.min(h.reference_date), 0)::float8
                     / b.d_hi + 1) AS n_eff,
           pg_catalog.sum(least((r.y_icu - h.icu_mean) ^ 2, 100 * h.icu_var) - h.icu_var)
               FILTER (WHERE h.icu_var > 0) AS icu_num,
           pg_catalog.sum(h.icu_var ^ 2) FILTER (WHERE h.icu_var > 0) AS icu_den,
           pg_catalog.sum(least((r.y_ward - h.ward_mean) ^ 2, 100 * h.ward_var) - h.ward_var)
               FILTER (WHERE h.ward_var > 0) AS ward_num,
           pg_catalog.sum(h.ward_var ^ 2) FILTER (WHERE h.ward_var > 0) AS ward_den
      FROM shift_bands b
      LEFT JOIN (shift_hist h
                 JOIN shift_real r ON r.reference_time = h.reference_time AND r.forecast_at = h.forecast_at)
        ON h.horizon_day BETWEEN b.d_lo AND b.d_hi
     GROUP BY b.band, b.d_hi
), shift AS (
    -- the shift in force per band: off; cold start (graded forecasts of the
    -- band on fewer reference days than calibration_min_forecasts: no
    -- shift); else the estimated variances shrunk toward 0 by the effective
    -- count, as the calibration's prior of 4 forecasts,
    --     sd = sqrt(sigma^2 n_eff / (n_eff + 4)),  at most 2 (logit scale)
    SELECT b.band, b.d_lo, b.d_hi,
           CASE WHEN NOT (ref.pol).common_shift THEN 'off'
                WHEN coalesce(e.n_days, 0) < (ref.pol).calibration_min_forecasts THEN 'cold start'
                ELSE 'mixed' END AS status,
           coalesce(e.n, 0) AS n,
           CASE WHEN NOT (ref.pol).common_shift THEN NULL
                WHEN coalesce(e.n_days, 0) < (ref.pol).calibration_min_forecasts THEN 0.0::float8
                ELSE least(2.0, pg_catalog.sqrt(greatest(0.0, coalesce(e.icu_num / NULLIF(e.icu_den, 0), 0))
                                                * e.n_eff / (e.n_eff + 4)))::float8
                END AS icu_sd,
           CASE WHEN NOT (ref.pol).common_shift THEN NULL
                WHEN coalesce(e.n_days, 0) < (ref.pol).calibration_min_forecasts THEN 0.0::float8
                ELSE least(2.0, pg_catalog.sqrt(greatest(0.0, coalesce(e.ward_num / NULLIF(e.ward_den, 0), 0))
                                                * e.n_eff / (e.n_eff + 4)))::float8
                END AS ward_sd
      FROM ref
      CROSS JOIN shift_bands b
      LEFT JOIN shift_est e ON e.band = b.band
), shift_nodes AS (
    -- per band and component the shifts s = sd * z and weights of the
    -- Gauss-Hermite rule (common_shift_nodes nodes), or the one node s = 0
    -- when its sd is 0
    SELECT sh.band, c.comp, c.sd, c.sd * g.z AS s, g.weight
      FROM shift sh
      CROSS JOIN ref
      CROSS JOIN LATERAL (VALUES ('icu'::text, sh.icu_sd), ('ward'::text, sh.ward_sd)) AS c(comp, sd)
      CROSS JOIN LATERAL @extschema@.bed_demand_normal_nodes(
            CASE WHEN c.sd > 0 THEN (ref.pol).common_shift_nodes ELSE 1 END) g
     WHERE sh.status = 'mixed' AND (sh.icu_sd > 0 OR sh.ward_sd > 0)
), shift_off AS (
    -- every patient's mean-preserving offset c for its row's band
    -- (bed_demand_shift_logit_offset): shifted by c + sd z at the nodes, the
    -- mixture keeps the patient's probability as its mean
    SELECT ip.admission_id, ip.unit, ip.d, ip.p, 'icu'::text AS comp, sh.band,
           CASE WHEN sh.icu_sd > 0
                THEN @extschema@.bed_demand_shift_logit_offset(ip.p, sh.icu_sd, (ref.pol).common_shift_nodes)
                ELSE 0.0::float8 END AS c
      FROM icu_p ip
      CROSS JOIN ref
      JOIN shift sh ON ip.d BETWEEN sh.d_lo AND sh.d_hi
     WHERE sh.status = 'mixed' AND (sh.icu_sd > 0 OR sh.ward_sd > 0)
    UNION ALL
    SELECT wp.admission_id, wp.ward, wp.d, wp.p, 'ward'::text, sh.band,
           CASE WHEN sh.ward_sd > 0
                THEN @extschema@.bed_demand_shift_logit_offset(wp.p, sh.ward_sd, (ref.pol).common_shift_nodes)
                ELSE 0.0::float8 END
      FROM ward_p wp
      CROSS JOIN ref
      JOIN shift sh ON wp.d BETWEEN sh.d_lo AND sh.d_hi
     WHERE sh.status = 'mixed' AND (sh.icu_sd > 0 OR sh.ward_sd > 0)
), mix_parts AS (
    -- the ICU and the ward part of every row as mixtures over their band's
    -- shift: given the shift the patients are independent (an exact
    -- Poisson-binomial per node), over it the count is the mixture; the
    -- ward probability is shifted before it is split over the units
    SELECT x.unit, x.d, x.comp, @extschema@.bed_demand_mixture(x.demand, x.weight) AS demand
      FROM (SELECT o.unit, o.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(o.p, o.c + n.s)) AS demand
              FROM shift_off o JOIN shift_nodes n ON n.band = o.band AND n.comp = o.comp
             WHERE o.comp = 'icu'
             GROUP BY o.unit, o.d, n.comp, n.s, n.weight
            UNION ALL
            SELECT wr.unit, wr.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(o.p, o.c + n.s) * wr.w)
              FROM ward_routed wr
              JOIN shift_off o ON o.comp = 'ward' AND o.admission_id = wr.admission_id AND o.d = wr.d
              JOIN shift_nodes n ON n.band = o.band AND n.comp = o.comp
             GROUP BY wr.unit, wr.d, n.comp, n.s, n.weight
            UNION ALL
            SELECT 'All ICU units'::text, o.d, n.comp, n.s, n.weight,
                   @extschema@.bed_demand(@extschema@.bed_demand_shift_logit(o.p, o.c + n.s))
              FROM shift_off o JOIN shift_nodes n ON n.band = o.band AND n.comp = o.comp
             GROUP BY o.d, n.comp, n.s, n.weight) x
     GROUP BY x.unit, x.d, x.comp
), uncalibrated AS (
    -- with the common shift in force (days 1..14): the mixed ICU part plus
    -- the mixed ward part (the two shifts are independent, so the mixtures
    -- add by convolution), plus the inflow as before; the components keep
    -- their values at zero shift
    SELECT r.unit, r.d, r.is_total,
           CASE WHEN sh.status = 'mixed' AND (sh.icu_sd > 0 OR sh.ward_sd > 0) THEN
                @extschema@.bed_demand_add_arrivals(
                    @extschema@.bed_demand_add(
                        coalesce((SELECT m.demand FROM mix_parts m
                                   WHERE m.unit = r.unit AND m.d = r.d AND m.comp = 'icu'),
                                 @extschema@.bed_demand_poisson(0)),
                        coalesce((SELECT m.demand FROM mix_parts m
                                   WHERE m.unit = r.unit AND m.d = r.d AND m.comp = 'ward'),
                                 @extschema@.bed_demand_poisson(0))),
                    r.arrivals_mean, r.arrivals_shape)
                ELSE r.demand END AS demand,
           r.occupied_now, r.staffed_beds, r.surge_beds, r.arrivals_per_day,
           r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
           r.arrivals_mean, r.arrivals_var, r.arrivals_shape
      FROM unmixed r
      LEFT JOIN shift sh ON r.d BETWEEN sh.d_lo AND sh.d_hi
), calib_hist AS MATERIALIZED (
    -- the graded past of the calibration (capacity_policy.calibration): the
    -- forecasts of record of the same kind (live, or replay) whose moment
    -- lies in the window, with the mean and variance of the forecast as it
    -- was computed, before its calibration (the sums of its components)
    SELECT f.unit, f.is_total, f.horizon_day, f.reference_date, f.forecast_at,
           f.icu_mean + f.ward_mean + f.arrivals_mean AS m,
           -- with the common shift in force, the variance it adds to the ICU
           -- and ward parts (sd^2 v^2 each, the estimator's approximation,
           -- with today's sd of the horizon's band), so that the calibration
           -- widens what the mixture left out
           f.icu_var + f.ward_var + f.arrivals_var
           + CASE WHEN sh.status = 'mixed'
                  THEN sh.icu_sd ^ 2 * f.icu_var ^ 2 + sh.ward_sd ^ 2 * f.ward_var ^ 2
                  ELSE 0 END AS v
      FROM ref
      JOIN @extschema@.forecast_log f
        ON (ref.pol).calibration
       AND f.of_record
       AND f.horizon_day >= 1
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
       AND f.forecast_at <= ref.t
       AND f.forecast_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days)
      LEFT JOIN shift sh ON f.horizon_day BETWEEN sh.d_lo AND sh.d_hi
), calib_census AS MATERIALIZED (
    -- the census those forecasts met (the grading rule, icu_census)
    SELECT c.at, c.unit, c.patients
      FROM @extschema@.icu_census(ARRAY(SELECT DISTINCT h.forecast_at FROM calib_hist h)) c
), calib AS (
    -- per unit and horizon: n graded forecasts, the mean of their squared
    -- standardised errors z^2 = (y - m)^2 / v (each held at 100, so one
    -- wild day cannot set the factor alone), and the number of independent
    -- errors: daily h-day forecasts overlap, so about one per h days of
    -- reference days spanned, n_eff = min(n, span / h + 1)
    SELECT h.unit, h.horizon_day,
           pg_catalog.count(*)::integer AS n,
           least(pg_catalog.count(*)::float8,
                 (pg_catalog.max(h.reference_date) - pg_catalog.min(h.reference_date))::float8
                     / h.horizon_day + 1) AS n_eff,
           pg_catalog.avg(least(100.0::float8,
                                (CASE WHEN h.is_total THEN ct.patients ELSE coalesce(c.patients, 0) END
                                 - h.m) ^ 2 / h.v)) AS mean_sq_z
      FROM calib_hist h
      LEFT JOIN calib_census c ON c.at = h.forecast_at AND c.unit = h.unit AND NOT h.is_total
      LEFT JOIN (SELECT cc.at, pg_catalog.sum(cc.patients)::integer AS patients
                   FROM calib_census cc GROUP BY cc.at) ct
        ON ct.at = h.forecast_at AND h.is_total
     WHERE h.v > 0
     GROUP BY h.unit, h.horizon_day
), calib_rule AS (
    -- the factor of every row: off; day 0 (the census now, not a forecast);
    -- cold start (fewer than calibration_min_forecasts graded forecasts:
    -- factor 1, uncalibrated); else bed_demand_calibration_factor
    SELECT r.unit, r.d,
           CASE WHEN NOT (ref.pol).calibration THEN 'off'
                WHEN r.d = 0 THEN 'census now'
                WHEN coalesce(k.n, 0) < (ref.pol).calibration_min_forecasts THEN 'cold start'
                ELSE 'calibrated' END AS status,
           k.n, k.n_eff, k.mean_sq_z,
           -- the learnt factor within [calibration_min_factor, 5], and at
           -- most calibration_max_factor_long from 7 days on
           greatest((ref.pol).calibration_min_factor,
                    least(CASE WHEN r.d >= 7 THEN (ref.pol).calibration_max_factor_long ELSE 5 END,
                          @extschema@.bed_demand_calibration_factor(k.mean_sq_z, k.n_eff)))::float8 AS factor
      FROM uncalibrated r
      CROSS JOIN ref
      LEFT JOIN calib k ON k.unit = r.unit AND k.horizon_day = r.d
), all_rows AS (
    -- the forecast as published: every distribution recalibrated before
    -- anything is read from it
    SELECT r.unit, r.d, r.is_total,
           CASE WHEN cr.status = 'calibrated'
                THEN @extschema@.bed_demand_widen(r.demand, cr.factor)
                ELSE r.demand END AS demand,
           r.occupied_now, r.staffed_beds, r.surge_beds, r.arrivals_per_day,
           r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
           r.arrivals_mean, r.arrivals_var, r.arrivals_shape,
           CASE WHEN cr.status = 'off' THEN NULL
                WHEN cr.status = 'calibrated' THEN cr.factor
                ELSE 1.0::float8 END AS calibration_factor,
           CASE WHEN cr.status <> 'off' THEN coalesce(cr.n, 0) END AS calibration_forecasts,
           CASE WHEN cr.status <> 'off' THEN coalesce(cr.n_eff, 0) END AS calibration_effective_forecasts,
           cr.status AS calibration_status,
           -- the shift of the row's horizon band; day 0 (the census now) has
           -- none: sizes 0 (NULL when off), no forecasts
           CASE WHEN so.on_ THEN coalesce(sh.icu_sd, 0.0::float8) END AS icu_shift_sd,
           CASE WHEN so.on_ THEN coalesce(sh.ward_sd, 0.0::float8) END AS ward_shift_sd,
           CASE WHEN so.on_ THEN sh.n END AS shift_forecasts,
           CASE WHEN NOT so.on_ THEN 'off' WHEN r.d = 0 THEN 'census now' ELSE sh.status END AS shift_status
      FROM uncalibrated r
      JOIN calib_rule cr ON cr.unit = r.unit AND cr.d = r.d
      CROSS JOIN shift_on so
      LEFT JOIN shift sh ON r.d BETWEEN sh.d_lo AND sh.d_hi
), scored AS (
    SELECT r.unit, r.d, r.staffed_beds,
           CASE WHEN r.staffed_beds IS NOT NULL THEN
                @extschema@.bed_demand_prob_exceeds(r.demand, r.staffed_beds) END AS p_over,
           @extschema@.bed_demand_quantile(r.demand, 0.95) AS q95
      FROM all_rows r
), unit_rule AS (
    -- the action rule reads the next action_lookahead_days days of a unit:
    -- the highest P(demand > staffed) on days 1..L and the fewest spare
    -- staffed beds at the P95 on days 0..L (day 0 is the census now)
    SELECT s.unit,
           pg_catalog.bool_and(s.staffed_beds IS NULL) AS no_capacity,
           pg_catalog.max(s.p_over) FILTER (WHERE s.d >= 1) AS p_up,
           pg_catalog.min(s.d) FILTER (WHERE s.d >= 1 AND s.p_over >= (ref.pol).scale_up_probability) AS d_up,
           pg_catalog.min(s.staffed_beds - s.q95) AS spare
      FROM scored s, ref
     WHERE s.d <= (ref.pol).action_lookahead_days
     GROUP BY s.unit
), prev AS (
    -- the action of the unit's latest earlier forecast (the log; live and
    -- replay apart), if made within the last two days
    SELECT DISTINCT ON (f.unit) f.unit, f.recommended_action AS action
      FROM ref
      JOIN @extschema@.forecast_log f
        ON f.horizon_day = 0
       AND f.reference_time < ref.t
       AND f.reference_time >= ref.t - pg_catalog.make_interval(days => 2)
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
     ORDER BY f.unit, f.reference_time DESC, f.run_id DESC
), unit_action AS (
    -- enter 'scale up' at P >= scale_up_probability, stay until it falls
    -- below half of that; enter 'scale down' with scale_down_spare_beds
    -- spare on every day, stay while one bed fewer is spare
    SELECT u.unit,
           CASE WHEN u.no_capacity THEN 'no capacity data'
                WHEN u.p_up >= (ref.pol).scale_up_probability THEN 'scale up'
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale up'
                     AND u.p_up >= (ref.pol).scale_up_probability / 2 THEN 'scale up'
                WHEN u.spare >= (ref.pol).scale_down_spare_beds THEN 'scale down'
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale down'
                     AND u.spare >= (ref.pol).scale_down_spare_beds - 1 THEN 'scale down'
                ELSE 'hold' END AS action,
           CASE WHEN u.no_capacity THEN 'no staffed beds known for the next days'
                WHEN u.p_up >= (ref.pol).scale_up_probability THEN
                     pg_catalog.format('P(demand > staffed beds) reaches the threshold %s on day %s (highest %s within %s days)',
                                       (ref.pol).scale_up_probability, u.d_up,
                                       pg_catalog.round(u.p_up::numeric, 2), (ref.pol).action_lookahead_days)
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale up'
                     AND u.p_up >= (ref.pol).scale_up_probability / 2 THEN
                     pg_catalog.format('still scaled up: P(demand > staffed beds) %s within %s days, above half the threshold',
                                       pg_catalog.round(u.p_up::numeric, 2), (ref.pol).action_lookahead_days)
                WHEN u.spare >= (ref.pol).scale_down_spare_beds THEN
                     pg_catalog.format('at least %s staffed beds spare at the P95 on each of the next %s days',
                                       u.spare, (ref.pol).action_lookahead_days)
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale down'
                     AND u.spare >= (ref.pol).scale_down_spare_beds - 1 THEN
                     pg_catalog.format('still scaled down: %s staffed beds spare at the P95', u.spare)
                ELSE pg_catalog.format('P(demand > staffed beds) at most %s within %s days; fewer than %s beds spare',
                                       pg_catalog.round(coalesce(u.p_up, 0)::numeric, 2),
                                       (ref.pol).action_lookahead_days, (ref.pol).scale_down_spare_beds)
                END AS reason
      FROM unit_rule u
      CROSS JOIN ref
      LEFT JOIN prev p ON p.unit = u.unit
)
SELECT r.unit,
       r.d AS horizon_day,
       ref.ref_date + r.d AS forecast_date,
       ref.t + pg_catalog.make_interval(days => r.d) AS forecast_at,
       r.is_total,
       r.occupied_now,
       @extschema@.bed_demand_mean(r.demand) AS expected_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.10) AS p10_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.50) AS p50_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.90) AS p90_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.95) AS p95_beds,
       r.staffed_beds,
       r.surge_beds,
       CASE WHEN r.staffed_beds IS NULL THEN NULL
            ELSE @extschema@.bed_demand_prob_exceeds(r.demand, r.staffed_beds) END AS prob_over_staffed,
       CASE WHEN r.surge_beds IS NULL THEN NULL
            ELSE @extschema@.bed_demand_prob_exceeds(r.demand, r.surge_beds) END AS prob_over_surge,
       coalesce(ua.action, 'no capacity data') AS recommended_action,
       ua.reason AS action_reason,
       r.arrivals_per_day,
       r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
       r.arrivals_mean, r.arrivals_var, r.arrivals_shape,
       (SELECT gs.rate_s FROM growth_s gs) AS inflow_growth_per_day,
       r.demand,
       ref.t AS reference_time,
       pg_catalog.now() AS refreshed_at,
       r.calibration_factor,
       r.calibration_forecasts,
       r.calibration_effective_forecasts,
       r.calibration_status,
       r.icu_shift_sd,
       r.ward_shift_sd,
       r.shift_forecasts,
       r.shift_status
  FROM all_rows r
  CROSS JOIN ref
  LEFT JOIN unit_action ua ON ua.unit = r.unit
WITH NO DATA;

CREATE UNIQUE INDEX capacity_forecast_key ON @extschema@.capacity_forecast (unit, horizon_day);

COMMENT ON MATERIALIZED VIEW @extschema@.capacity_forecast IS
    'ICU occupancy now and the forecast ICU bed demand per ICU unit (and all units together) for horizon days 0 to 14 from the reference time, with its distribution, staffed and surge beds, the probability of running out, and a recommended action. Populated by CALL icu_predict.refresh(); read it through icu_bi.capacity_forecast. Method: see docs/views.md.';
COMMENT ON COLUMN @extschema@.capacity_forecast.unit IS 'ICU unit, or ''All ICU units'' for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.capacity_forecast.horizon_day IS 'Days ahead of the reference time, 0 to 14 (0 = now).';
COMMENT ON COLUMN @extschema@.capacity_forecast.forecast_date IS 'Calendar day of the forecast moment (reference day + horizon_day).';
COMMENT ON COLUMN @extschema@.capacity_forecast.forecast_at IS 'The forecast moment: reference time + horizon_day days.';
COMMENT ON COLUMN @extschema@.capacity_forecast.is_total IS 'True for the hospital-wide row over all ICU units.';
COMMENT ON COLUMN @extschema@.capacity_forecast.occupied_now IS 'Patients in the unit at the reference time (today''s actual occupancy).';
COMMENT ON COLUMN @extschema@.capacity_forecast.expected_beds IS 'Expected number of occupied beds at forecast_at.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p10_beds IS '10th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p50_beds IS 'Median of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p90_beds IS '90th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p95_beds IS '95th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.staffed_beds IS 'Staffed beds on forecast_date (icu_capacity); NULL when unknown.';
COMMENT ON COLUMN @extschema@.capacity_forecast.surge_beds IS 'Surge (maximum) beds on forecast_date (icu_capacity); NULL when unknown.';
COMMENT ON COLUMN @extschema@.capacity_forecast.prob_over_staffed IS 'P(demand > staffed beds).';
COMMENT ON COLUMN @extschema@.capacity_forecast.prob_over_surge IS 'P(demand > surge beds).';
COMMENT ON COLUMN @extschema@.capacity_forecast.recommended_action IS 'The unit''s recommended action, the same on every horizon row: ''scale up'' when P(demand > staffed beds) reaches capacity_policy.scale_up_probability on any of the next action_lookahead_days days (kept until it falls below half of that, with action_hysteresis), ''scale down'' when at least scale_down_spare_beds staffed beds are spare at the P95 on each of days 0 .. action_lookahead_days (kept while one bed fewer is spare), else ''hold''; ''no capacity data'' without staffed beds. The previous action comes from forecast_log (the unit''s latest earlier forecast within two days).';
COMMENT ON COLUMN @extschema@.capacity_forecast.action_reason IS 'Why: the figures the recommended action rests on, in words.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_per_day IS 'Expected ICU admissions, hospital-wide, during the day before forecast_at of patients not yet in hospital at the reference time (admitted later, reaching the ICU directly or through a ward); 0 on horizon day 0.';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_mean IS 'Component: expected beds at forecast_at of the patients in this ICU unit at the reference time (sum of their remaining-stay probabilities).';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_var IS 'Component: variance of that count (sum of p (1 - p)). The components describe the forecast as computed, before its calibration: their variances add up to the variance of demand only when calibration_factor is 1 or NULL.';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_mean IS 'Component: expected beds at forecast_at of the patients in hospital but not in an ICU at the reference time (their ICU-admission curve through their stay survival, routed to this unit).';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_var IS 'Component: variance of that count (sum of p (1 - p)).';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_mean IS 'Component: expected beds at forecast_at of patients not yet in hospital at the reference time.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_var IS 'Component: variance of that count: the mean for a Poisson inflow, mean + mean^2 / arrivals_shape for the negative binomial.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_shape IS 'Gamma shape of the inflow rate''s uncertainty (negative-binomial inflow, capacity_policy.inflow_overdispersion); NULL: Poisson inflow.';
COMMENT ON COLUMN @extschema@.capacity_forecast.inflow_growth_per_day IS 'Growth of the ICU inflow used, per day on the log scale (the 14-day fit after shrinkage; 0 without capacity_policy.inflow_trend).';
COMMENT ON COLUMN @extschema@.capacity_forecast.demand IS 'The full bed-count distribution (bed_demand; use bed_demand_pmf(demand) for plots), after the calibration when capacity_policy.calibration is on; the quantiles, expected beds and probabilities are read from it.';
COMMENT ON COLUMN @extschema@.capacity_forecast.reference_time IS 'The reference time ("now") of the forecast.';
COMMENT ON COLUMN @extschema@.capacity_forecast.refreshed_at IS 'When the view was last refreshed.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_factor IS 'Factor by which the distribution was widened (> 1) or narrowed (< 1) around its mean, learnt from the graded forecasts of record of this unit and horizon (bed_demand_calibration_factor); 1 at day 0 and in the cold start; NULL when capacity_policy.calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_forecasts IS 'Graded past forecasts of record (this unit and horizon, in capacity_policy.calibration_window_days) the factor rests on; NULL when calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_effective_forecasts IS 'How many independent errors those are: daily h-day forecasts overlap, so min(forecasts, days spanned / h + 1); NULL when calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_status IS '''calibrated''; ''cold start'' (fewer graded forecasts than capacity_policy.calibration_min_forecasts: factor 1, the forecast as computed); ''census now'' (day 0); ''off'' (capacity_policy.calibration false).';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_shift_sd IS 'Standard deviation of the common shift of the ICU patients'' probabilities of still being in an ICU at forecast_at, on the logit scale, that the distribution is mixed over (capacity_policy.common_shift; mean-preserving; estimated per horizon band, days 1-2, 3-6 and 7-14, from the band''s graded forecasts of record and shrunk by their effective count, at most 2); 0 on day 0 and in the band''s cold start; NULL when common_shift is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_shift_sd IS 'Standard deviation of the common shift of the ward patients'' probabilities of being in an ICU at forecast_at, on the logit scale (as icu_shift_sd).';
COMMENT ON COLUMN @extschema@.capacity_forecast.shift_forecasts IS 'Graded hospital-wide forecasts of record of this row''s horizon band (days 1-2, 3-6 or 7-14, in capacity_policy.calibration_window_days) the shift sizes rest on; NULL on day 0 and when common_shift is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.shift_status IS '''mixed'' (the distribution is a mixture over the common shift); ''cold start'' (graded forecasts of record of the row''s horizon band on fewer reference days than capacity_policy.calibration_min_forecasts: no shift); ''census now'' (day 0, which no shift changes); ''off'' (capacity_policy.common_shift false).';

CREATE VIEW icu_bi.capacity_forecast AS
    SELECT cf.unit::text                  AS unit,
           cf.is_total::boolean           AS is_total,
           cf.horizon_day::integer        AS horizon_day,
           cf.forecast_date::date         AS forecast_date,
           cf.forecast_at::timestamptz    AS forecast_at,
           cf.occupied_now::integer       AS occupied_now,
           cf.expected_beds::float8       AS expected_beds,
           cf.p10_beds::integer           AS p10_beds,
           cf.p50_beds::integer           AS p50_beds,
           cf.p90_beds::integer           AS p90_beds,
           cf.p95_beds::integer           AS p95_beds,
           cf.staffed_beds::integer       AS staffed_beds,
           cf.surge_beds::integer         AS surge_beds,
           cf.prob_over_staffed::float8   AS prob_over_staffed,
           cf.prob_over_surge::float8     AS prob_over_surge,
           cf.recommended_action::text    AS recommended_action,
           cf.arrivals_per_day::float8    AS arrivals_per_day,
           cf.reference_time::timestamptz AS reference_time,
           cf.refreshed_at::timestamptz   AS refreshed_at,
           cf.action_reason::text         AS action_reason,
           cf.calibration_factor::float8  AS calibration_factor,
           cf.calibration_forecasts::integer AS calibration_forecasts,
           cf.calibration_effective_forecasts::float8 AS calibration_effective_forecasts,
           cf.calibration_status::text    AS calibration_status,
           cf.icu_shift_sd::float8        AS icu_shift_sd,
           cf.ward_shift_sd::float8       AS ward_shift_sd,
           cf.shift_forecasts::integer    AS shift_forecasts,
           cf.shift_status::text          AS shift_status
      FROM @extschema@.capacity_forecast cf;

COMMENT ON VIEW icu_bi.capacity_forecast IS
    'ICU occupancy now and forecast bed demand per ICU unit (and ''All ICU units'') for 0 to 14 days ahead, with P10/P50/P90/P95, staffed and surge beds, P(demand > staffed) and a recommended action. Aggregate numbers: not filtered by ward.';
COMMENT ON COLUMN icu_bi.capacity_forecast.unit IS 'ICU unit, or ''All ICU units''.';
COMMENT ON COLUMN icu_bi.capacity_forecast.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN icu_bi.capacity_forecast.horizon_day IS 'Days ahead (0 = now).';
COMMENT ON COLUMN icu_bi.capacity_forecast.forecast_date IS 'Calendar day of the forecast.';
COMMENT ON COLUMN icu_bi.capacity_forecast.forecast_at IS 'Moment of the forecast (reference time + horizon_day days).';
COMMENT ON COLUMN icu_bi.capacity_forecast.occupied_now IS 'Patients in the unit now (actual occupancy at the reference time).';
COMMENT ON COLUMN icu_bi.capacity_forecast.expected_beds IS 'Expected occupied beds.';
COMMENT ON COLUMN icu_bi.capacity_forecast.p10_beds IS 'Occupied beds, 10th percentile (low end of the 80% range).';
COMMENT ON COLUMN icu_bi.capacity_forecast.p50_beds IS 'Occupied beds, median.';
COMMENT ON COLUMN icu_bi.capacity_forecast.p90_beds IS 'Occupied beds, 90th percentile (high end of the 80% range).';
COMMENT ON COLUMN icu_bi.capacity_forecast.p95_beds IS 'Occupied beds, 95th percentile.';
COMMENT ON COLUMN icu_bi.capacity_forecast.staffed_beds IS 'Staffed beds that day.';
COMMENT ON COLUMN icu_bi.capacity_forecast.surge_beds IS 'Surge (maximum) beds that day.';
COMMENT ON COLUMN icu_bi.capacity_forecast.prob_over_staffed IS 'Probability that demand exceeds the staffed beds (0 to 1).';
COMMENT ON COLUMN icu_bi.capacity_forecast.prob_over_surge IS 'Probability that demand exceeds the surge beds (0 to 1).';
COMMENT ON COLUMN icu_bi.capacity_forecast.recommended_action IS 'scale up, hold, scale down, or no capacity data: one action per unit from the next days (capacity_policy.action_lookahead_days), kept until its condition clearly ends (docs/views.md).';
COMMENT ON COLUMN icu_bi.capacity_forecast.action_reason IS 'The figures the recommended action rests on, in words.';
COMMENT ON COLUMN icu_bi.capacity_forecast.arrivals_per_day IS 'Expected ICU admissions, during the day before this forecast moment, of patients not yet in hospital at the reference time (hospital-wide).';
COMMENT ON COLUMN icu_bi.capacity_forecast.reference_time IS 'Reference time ("now") of the forecast.';
COMMENT ON COLUMN icu_bi.capacity_forecast.refreshed_at IS 'When the data was last refreshed.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_factor IS 'Factor the forecast distribution was widened (above 1) or narrowed (below 1) by around its mean, from the graded past forecasts (capacity_policy.calibration); 1 in the cold start and for day 0, empty when the calibration is off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_forecasts IS 'Graded past forecasts of this unit and horizon the calibration factor rests on; empty when the calibration is off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_effective_forecasts IS 'Independent errors among those forecasts (overlapping h-day forecasts count about once per h days); empty when the calibration is off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.calibration_status IS 'calibrated, cold start (too few graded forecasts: factor 1), census now (day 0) or off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.icu_shift_sd IS 'Size (standard deviation, logit scale) of the common shift of the ICU patients'' chances of still being in an ICU that the forecast range allows for at this horizon (capacity_policy.common_shift), learnt from the graded past forecasts of similar horizons (1-2, 3-6, 7-14 days); 0 for day 0 and in the cold start, empty when off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.ward_shift_sd IS 'Size of the common shift of the ward patients'' chances of being in an ICU (as icu_shift_sd).';
COMMENT ON COLUMN icu_bi.capacity_forecast.shift_forecasts IS 'Graded past hospital-wide forecasts of similar horizons the shift sizes rest on; empty for day 0 and when off.';
COMMENT ON COLUMN icu_bi.capacity_forecast.shift_status IS 'mixed, cold start (too few graded forecasts: no shift), census now (day 0) or off.';

GRANT SELECT ON icu_bi.capacity_forecast TO icu_bi_reader;

-- ===========================================================================
-- 4. issue 15: outcome_risk() with the admission's covariates (BMI,
--    comorbidity groups, the missing indicators), as the views score them;
--    the positional outcome_risk() becomes a call of it (age and sex known,
--    BMI and comorbidities unknown, as before)
-- ===========================================================================
-- outcome_risk() with the admission's covariates: the slot's model reads BMI,
-- the comorbidity groups and the missing indicators as the views score them
CREATE FUNCTION @extschema@.outcome_risk(
    panel                 @extschema@.lab_panel,
    covariates            @extschema@.admission_covariates,
    outcome               text,
    horizon_hours         integer,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL)
RETURNS float8
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    am @extschema@.active_model;
BEGIN
    IF outcome_risk.outcome IS NULL OR outcome_risk.horizon_hours IS NULL THEN
        RAISE EXCEPTION 'outcome_risk(): outcome and horizon_hours must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.* INTO am FROM @extschema@.active_model a
     WHERE a.kind <> 'icu_stay' AND a.outcome = outcome_risk.outcome
       AND a.horizon_hours = outcome_risk.horizon_hours;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active risk model for outcome "%" within % hours', outcome_risk.outcome, outcome_risk.horizon_hours
            USING ERRCODE = 'undefined_object',
                  HINT = 'The active slots are in icu_predict.active_model; deploy one with icu_predict.deploy(name, version).';
    END IF;
    RETURN @extschema@.risk(panel, covariates, hours_since_admission, unit_kind, am.name, am.version);
END
$$;
COMMENT ON FUNCTION @extschema@.outcome_risk(@extschema@.lab_panel, @extschema@.admission_covariates, text, integer, float8, text) IS
    'outcome_risk() with the admission''s covariates (admission_covariates(admission_id, as_of)), so that a model reading BMI, comorbidity groups, charlson_index or the missing indicators is scored as patient_status and patient_risk score it. ERROR 42704 when no model of that outcome and horizon is active, 22004 for a NULL outcome or horizon.';

-- risk of any outcome: the active model of the slot (outcome, horizon)
CREATE OR REPLACE FUNCTION @extschema@.outcome_risk(
    panel                 @extschema@.lab_panel,
    outcome               text,
    horizon_hours         integer,
    age_years             float8 DEFAULT NULL,
    sex                   text   DEFAULT NULL,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL)
RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- age and sex known, BMI and comorbidities unknown, as positional risk() reads them
    SELECT @extschema@.outcome_risk(panel, ROW(age_years, sex, NULL, NULL)::@extschema@.admission_covariates,
                                    outcome, horizon_hours, hours_since_admission, unit_kind)
$$;
COMMENT ON FUNCTION @extschema@.outcome_risk(@extschema@.lab_panel, text, integer, float8, text, float8, text) IS
    'Probability of an outcome (icu_admission, death, or an event''s name) within exactly horizon_hours, by the active model of that slot (view active_model), scored like risk(). ERROR 42704 when no model of that outcome and horizon is active, 22004 for a NULL outcome or horizon.';
