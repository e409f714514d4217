-- icu_predict 0.1.0 -> 0.2.0 upgrade script (ALTER EXTENSION icu_predict UPDATE).
--
-- Carries every schema change between the released 0.1.0 install script
-- (extension/icu_predict--0.1.0.sql, built from commit 585487b) and the 0.2.0
-- install parts (extension/sql/), so that an updated database holds the same
-- objects as a fresh 0.2.0 install.  Later changes of 0.2.0 add their parts
-- here, each in its own section.  See CHANGELOG.md.

\echo Use "ALTER EXTENSION icu_predict UPDATE TO '0.2.0'" to load this file. \quit

-- ===========================================================================
-- 1. Bed-demand functions prefixed bed_demand_
-- ===========================================================================
-- The C functions keep their objects (and so their grants, comments and the
-- dependent views); only the names change.  The 0.1.0 names come back as
-- deprecated SQL aliases, removed in 0.3.0.
ALTER FUNCTION @extschema@.mean(@extschema@.bed_demand) RENAME TO bed_demand_mean;
ALTER FUNCTION @extschema@.variance(@extschema@.bed_demand) RENAME TO bed_demand_variance;
ALTER FUNCTION @extschema@.quantile(@extschema@.bed_demand, float8) RENAME TO bed_demand_quantile;
ALTER FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, integer) RENAME TO bed_demand_prob_exceeds;
ALTER FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand) RENAME TO bed_demand_trimmed_mass;
ALTER FUNCTION @extschema@.pmf(@extschema@.bed_demand) RENAME TO bed_demand_pmf;

CREATE FUNCTION @extschema@.mean(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_mean($1);
COMMENT ON FUNCTION @extschema@.mean(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_mean; removed in 0.3.0. Expected bed count.';

CREATE FUNCTION @extschema@.variance(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_variance($1);
COMMENT ON FUNCTION @extschema@.variance(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_variance; removed in 0.3.0. Variance of the bed count.';

CREATE FUNCTION @extschema@.quantile(@extschema@.bed_demand, q float8)
RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_quantile($1, q);
COMMENT ON FUNCTION @extschema@.quantile(@extschema@.bed_demand, float8) IS
    'Deprecated: use bed_demand_quantile; removed in 0.3.0. Smallest bed count k with P(count <= k) >= q.';

CREATE FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, k integer)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_prob_exceeds($1, k);
COMMENT ON FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, integer) IS
    'Deprecated: use bed_demand_prob_exceeds; removed in 0.3.0. P(count > k).';

CREATE FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_trimmed_mass($1);
COMMENT ON FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_trimmed_mass; removed in 0.3.0. Probability mass dropped from the tails.';

CREATE FUNCTION @extschema@.pmf(@extschema@.bed_demand, OUT beds integer, OUT probability float8)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1 ROWS 50
BEGIN ATOMIC
    SELECT b.beds, b.probability FROM @extschema@.bed_demand_pmf($1) b;
END;
COMMENT ON FUNCTION @extschema@.pmf(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_pmf; removed in 0.3.0. The distribution as rows (beds, probability).';

-- The SQLSTATE of an out-of-range probability (22023 since 0.2.0).
COMMENT ON AGGREGATE @extschema@.bed_demand(float8) IS
    'Distribution of how many of the rows'' events happen, each row an independent event with probability p (Poisson-binomial, exact by convolution, tails below 1e-12 trimmed). NULL p is skipped; no non-NULL p gives NULL. p outside [0, 1] (or NaN) raises 22023.';

-- ===========================================================================
-- 2. The clock: "now" and the day zone from reference_time() and day_zone()
-- ===========================================================================
-- Same results as 0.1.0; the rule is no longer repeated inline.  Both
-- functions exist since 0.1.0.
CREATE OR REPLACE FUNCTION @extschema@.icu_episodes(max_gap interval DEFAULT '24 hours')
RETURNS TABLE (
    admission_id   bigint,
    episode        integer,
    first_unit     text,
    last_unit      text,
    started_at     timestamptz,
    ended_at       timestamptz,
    los_days       float8,
    still_in_icu   boolean,
    location_stays integer
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH icu AS (
        SELECT s.stay_id, s.admission_id, s.unit, s.started_at, s.ended_at,
               pg_catalog.max(COALESCE(s.ended_at, 'infinity'::timestamptz)) OVER (
                   PARTITION BY s.admission_id ORDER BY s.started_at, s.stay_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_end
          FROM @extschema@.location_stay s
         WHERE s.unit_kind = 'icu'
    ), numbered AS (
        SELECT icu.*,
               pg_catalog.sum(CASE
                       WHEN icu.prior_end IS NULL THEN 1
                       WHEN icu.started_at
                            > icu.prior_end + COALESCE(icu_episodes.max_gap, '0'::interval) THEN 1
                       ELSE 0 END)
                   OVER (PARTITION BY icu.admission_id
                         ORDER BY icu.started_at, icu.stay_id) AS episode
          FROM icu
    ), grouped AS (
        SELECT n.admission_id,
               n.episode::integer AS episode,
               (pg_catalog.array_agg(n.unit ORDER BY n.started_at, n.stay_id))[1] AS first_unit,
               (pg_catalog.array_agg(n.unit ORDER BY n.started_at DESC, n.stay_id DESC))[1] AS last_unit,
               pg_catalog.min(n.started_at) AS started_at,
               CASE WHEN pg_catalog.bool_or(n.ended_at IS NULL) THEN NULL
                    ELSE pg_catalog.max(n.ended_at) END AS ended_at,
               pg_catalog.bool_or(n.ended_at IS NULL) AS still_in_icu,
               pg_catalog.count(*)::integer AS location_stays
          FROM numbered n
         GROUP BY n.admission_id, n.episode
    )
    SELECT g.admission_id, g.episode, g.first_unit, g.last_unit,
           g.started_at, g.ended_at,
           pg_catalog.date_part('epoch',
               COALESCE(g.ended_at, @extschema@.reference_time()) - g.started_at) / 86400.0 AS los_days,
           g.still_in_icu, g.location_stays
      FROM grouped g
     ORDER BY g.admission_id, g.episode;
END;

CREATE OR REPLACE FUNCTION @extschema@.icu_occupancy(from_day date, to_day date)
RETURNS TABLE (unit text, day date, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH zone AS (
        SELECT @extschema@.day_zone() AS tz
    ), days AS (
        SELECT d::date AS day,
               pg_catalog.timezone(zone.tz, (d::date + 1)::timestamp) AS census_at
          FROM pg_catalog.generate_series(icu_occupancy.from_day::timestamp,
                                          icu_occupancy.to_day::timestamp,
                                          '1 day'::interval) AS d,
               zone
    ), units AS (
        SELECT s.unit FROM @extschema@.location_stay s WHERE s.unit_kind = 'icu'
        UNION
        SELECT c.unit FROM @extschema@.icu_capacity c
    ), present AS (
        SELECT d.day,
               (SELECT s.unit
                  FROM @extschema@.location_stay s
                 WHERE s.admission_id = e.admission_id
                   AND s.unit_kind = 'icu'
                   AND s.started_at >= e.started_at
                   AND s.started_at <= d.census_at
                 ORDER BY s.started_at DESC, s.stay_id DESC
                 LIMIT 1) AS unit
          FROM days d
          JOIN @extschema@.icu_episode e
            ON e.started_at <= d.census_at
           AND (e.ended_at IS NULL OR e.ended_at > d.census_at)
    )
    SELECT u.unit, d.day, pg_catalog.count(p.unit)::integer AS patients
      FROM units u
     CROSS JOIN days d
      LEFT JOIN present p ON p.unit = u.unit AND p.day = d.day
     GROUP BY u.unit, d.day
     ORDER BY u.unit, d.day;
END;

-- ===========================================================================
-- 4. The rules defined once in C: statistic names, feature-name rule, day zone
-- ===========================================================================
CREATE FUNCTION @extschema@.lab_stats()
RETURNS SETOF text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'icu_lab_stats';
COMMENT ON FUNCTION @extschema@.lab_stats() IS
    'The statistics a lab panel holds per feature, in order: the names lab_value(panel, feature, stat) and model specs accept.';

CREATE FUNCTION @extschema@.feature_name_max_length()
RETURNS integer
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_feature_name_max_length';
COMMENT ON FUNCTION @extschema@.feature_name_max_length() IS
    'The longest feature name allowed, in bytes (31).';

CREATE FUNCTION @extschema@.feature_name_ok(name text)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_feature_name_ok_sql';
COMMENT ON FUNCTION @extschema@.feature_name_ok(text) IS
    'Whether name is a valid feature name: a lower-case ASCII letter, then lower-case letters, digits or _, at most feature_name_max_length() bytes. The same rule as the lab panel and the model spec check.';

-- The same rule as 0.1.0's regular expression, now from the one definition.
ALTER TABLE @extschema@.feature DROP CONSTRAINT feature_name_format;
ALTER TABLE @extschema@.feature
    ADD CONSTRAINT feature_name_format CHECK (@extschema@.feature_name_ok(name));

-- day_zone() from the C rule the daily series uses (same zone as 0.1.0).
CREATE OR REPLACE FUNCTION @extschema@.day_zone()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_day_zone_name';

-- SQLSTATEs of the policy (docs/errors.md).
COMMENT ON FUNCTION @extschema@.lab_panel_recv(internal) IS 'Binary input of lab_panel; validates every length and count (SQLSTATE 22P03).';
COMMENT ON AGGREGATE @extschema@.lab_panel(bigint, text, float8, timestamptz, timestamptz) IS
    'The lab panel of one admission as of a time: aggregate its canonical lab rows (lab_canonical) grouped by admission_id. Rows resulted after as_of are ignored; NULL rows skipped; implausible values counted as rejected; trend window 72 hours. NaN/Infinity: ERROR 22023; unknown feature: ERROR 42704. NULL when there are no rows.';

-- ===========================================================================
-- 5. Bed demand: negative-binomial inflow, mixtures, normal nodes, inflow
--    growth, arrivals (new)
-- ===========================================================================
-- Bed demand: the uncertainty that is common to all patients
-- (C: extension/src/demand/inflow.c, mixture.c; docs/demand.md).
--
-- bed_demand_negbinomial(mean, shape) is the Poisson-gamma count of new
-- arrivals when the arrival rate itself is uncertain: one gamma multiplier
-- (mean 1, shape k) shared by every day of the horizon, variance
-- mean + mean^2/k.  bed_demand_mixture(d, weight) mixes distributions
-- computed under different values of a common shift (of all risks, of all
-- stays); bed_demand_normal_nodes(n) gives the Gauss-Hermite nodes and
-- weights for a normally distributed shift.

-- ---------------------------------------------------------------------------
-- negative-binomial inflow
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_negbinomial(mean float8, shape float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_negbinomial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_negbinomial(float8, float8) IS
    'Negative-binomial (Poisson-gamma) count with the given mean and gamma shape k: Poisson(mean * G) with G ~ Gamma(k, rate k), so variance = mean + mean^2/k; k -> infinity is Poisson. New arrivals whose rate is uncertain. Tails below 1e-12 trimmed. mean in [0, 1e8]; shape finite and > 0, else 22023.';

CREATE FUNCTION @extschema@.bed_demand_add_negbinomial(demand @extschema@.bed_demand, mean float8, shape float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add_negbinomial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add_negbinomial(@extschema@.bed_demand, float8, float8) IS
    'Adds an independent negative-binomial (mean, shape) number of new arrivals to a bed count (convolution); mean = 0 returns the input. For units that share one rate multiplier, add one negative binomial with the summed mean to their total, not one per unit.';

-- ---------------------------------------------------------------------------
-- mixture aggregate (internal state)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_mixture_accum(internal, @extschema@.bed_demand, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_final(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.bed_demand_mixture_accum(internal, @extschema@.bed_demand, float8) IS 'Transition function of bed_demand_mixture: adds weight * pmf to the weighted sums; NULL rows skipped, a negative or non-finite weight raises 22023.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_combine(internal, internal) IS 'Combine function of bed_demand_mixture (adds two partial weighted sums).';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_serialize(internal) IS 'Serialize function of bed_demand_mixture.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_deserialize(bytea, internal) IS 'Deserialize function of bed_demand_mixture; validates every length, count, weight and probability.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_final(internal) IS 'Final function of bed_demand_mixture: divides by the total weight (22023 when it is 0); NULL when no non-NULL row was seen.';

CREATE AGGREGATE @extschema@.bed_demand_mixture(@extschema@.bed_demand, float8) (
    SFUNC        = @extschema@.bed_demand_mixture_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_mixture_final,
    COMBINEFUNC  = @extschema@.bed_demand_mixture_combine,
    SERIALFUNC   = @extschema@.bed_demand_mixture_serialize,
    DESERIALFUNC = @extschema@.bed_demand_mixture_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand_mixture(@extschema@.bed_demand, float8) IS
    'Mixture of bed-count distributions: sum of weight * pmf divided by the sum of weights, e.g. over the values of a common shift of all risks. Trimmed mass is the weighted mean of the inputs'' (nothing more is trimmed). Rows with a NULL distribution or weight are skipped; no such row gives NULL; weights must be finite and >= 0 and sum to more than 0 (22023).';

-- ---------------------------------------------------------------------------
-- Gauss-Hermite nodes for a standard normal shift
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_normal_nodes(n integer)
RETURNS TABLE (z float8, weight float8)
AS 'MODULE_PATHNAME', 'icu_bed_demand_normal_nodes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.bed_demand_normal_nodes(integer) IS
    'Gauss-Hermite rule for a standard normal Z: n nodes z (ascending) and weights summing to 1, so that sum(weight * f(z)) = E f(Z) exactly for polynomials of degree <= 2n - 1. n in 1..64, else 22023. Use with bed_demand_mixture to mix over a normal shift of all risks.';

-- ---------------------------------------------------------------------------
-- inflow_growth(daily_counts): the growth rate of ICU-episode starts
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.inflow_growth(daily_counts float8[],
                                          OUT rate float8, OUT rate_se float8,
                                          OUT level float8, OUT total float8)
RETURNS record
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_inflow_growth';
COMMENT ON FUNCTION @extschema@.inflow_growth(float8[]) IS
    'Poisson log-linear fit to daily counts (oldest first): rate = growth per day of the log count, rate_se its standard error (NULL when there are no events), level = fitted count per day at the middle of the window, total = sum of the counts. capacity_forecast passes the ICU-episode starts of the last 14 days (two whole weeks, so the weekday cycle cancels). |rate| is held at 1 per day when all events fall on the first or on the last day (no finite maximum).';

-- ---------------------------------------------------------------------------
-- bed_demand_add_arrivals(d, mean, shape): Poisson or negative-binomial inflow
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_add_arrivals(demand @extschema@.bed_demand,
                                                    mean float8, shape float8)
RETURNS @extschema@.bed_demand
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN demand IS NULL OR mean IS NULL THEN NULL
            WHEN shape IS NULL THEN @extschema@.bed_demand_add_poisson(demand, mean)
            ELSE @extschema@.bed_demand_add_negbinomial(demand, mean, shape) END;
COMMENT ON FUNCTION @extschema@.bed_demand_add_arrivals(@extschema@.bed_demand, float8, float8) IS
    'demand plus the arrivals of the capacity forecast: Poisson(mean) when shape is NULL, else the negative binomial of that mean and gamma shape.';

-- ===========================================================================
-- 6. capacity_policy: inflow growth, negative-binomial inflow, routing
-- ===========================================================================
-- capacity_settings() returns the table's row type, and a BEGIN ATOMIC body
-- records that dependency, which forbids adding columns: give it a plain
-- body for the ALTER, then its 0.2.0 body below.
CREATE OR REPLACE FUNCTION @extschema@.capacity_settings()
RETURNS @extschema@.capacity_policy
LANGUAGE sql STABLE PARALLEL SAFE
AS $body$
    SELECT coalesce(
        (SELECT p FROM @extschema@.capacity_policy p WHERE p.id),
        ROW(true, 0.10::float8, 2, 48, 168, 7, 0.05::float8,
            0.10::float8, 0.30::float8, 0, 2::float8)::@extschema@.capacity_policy)
$body$;
ALTER TABLE @extschema@.capacity_policy
    ADD COLUMN inflow_trend            boolean NOT NULL DEFAULT false,
    ADD COLUMN inflow_trend_damping_days float8 NOT NULL DEFAULT 7,
    ADD COLUMN inflow_overdispersion   boolean NOT NULL DEFAULT true,
    ADD COLUMN routing_window_days     integer NOT NULL DEFAULT 0,
    ADD COLUMN forecast_log_retention_days integer NOT NULL DEFAULT 730,
    ADD COLUMN forecast_of_record_after    time    NOT NULL DEFAULT '00:00',
    ADD COLUMN action_lookahead_days   integer NOT NULL DEFAULT 3,
    ADD COLUMN action_hysteresis       boolean NOT NULL DEFAULT true,
    ADD CONSTRAINT capacity_policy_action_lookahead_days_range
        CHECK (action_lookahead_days BETWEEN 1 AND 14),
    ADD CONSTRAINT capacity_policy_forecast_log_retention_days_range
        CHECK (forecast_log_retention_days BETWEEN 0 AND 36500),
    ADD CONSTRAINT capacity_policy_inflow_trend_damping_days_range
        CHECK (inflow_trend_damping_days >= 0.5 AND inflow_trend_damping_days <= 60),
    ADD CONSTRAINT capacity_policy_routing_window_days_range
        CHECK (routing_window_days BETWEEN 0 AND 365);
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_cap IS 'The trend factor (arrival_trend_days), and the growth multiplier of inflow_trend, are each kept between 1 / this and this (default 2).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_trend IS 'Grow the inflow of patients not yet in hospital with the growth rate of ICU-episode starts over the last 14 days (Poisson log-linear fit, shrunk toward no growth by its standard error, damped by inflow_trend_damping_days, capped by arrival_trend_cap); false = the arrival window''s mean rate (default false).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_trend_damping_days IS 'Time constant of the fading of the inflow growth, in days: the log multiplier at u days ahead is r (W/2 + tau (1 - exp(-u/tau))) (default 7).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_overdispersion IS 'Negative-binomial inflow: the inflow rate''s own uncertainty (from the arrival window''s count and the growth estimate) as one gamma multiplier shared by every day of the horizon; false = Poisson inflow (default true: on the four scenario presets of docs/backtest.md it lowered CRPS at every horizon and changed no mean).';
COMMENT ON COLUMN @extschema@.capacity_policy.routing_window_days IS 'Route ward patients and new arrivals to ICU units by the first ICU units of the episodes begun in this many days (per source unit, smoothed toward the hospital-wide routing, which is smoothed toward staffed-bed shares, each with the weight of 5 episodes); 0 = staffed-bed shares (default 0).';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_risk_horizon_hours IS 'Horizon of the risk the capacity forecast uses (patient_status.forecast_risk): the active icu_admission model of this horizon, else the one nearest to it (default 168 = 7 days). The forecast reads that model''s probability over the model''s own horizon_hours.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_log_retention_days IS 'Live rows of forecast_log whose reference time is more than this many days before now are deleted by refresh() (default 730); 0 keeps them forever. Replay rows are never deleted by this rule.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_of_record_after IS 'Time of day (in icu_predict.day_timezone) from which a refresh can give the forecast of record of its reference day: the first successful run at or after it, per unit and horizon, is of record (default 00:00 = the day''s first run). A day with runs only before it has no forecast of record.';
COMMENT ON COLUMN @extschema@.capacity_policy.action_lookahead_days IS 'Days ahead the recommended action looks at: scale up when P(demand > staffed beds) reaches scale_up_probability on any of days 1 to this, scale down when scale_down_spare_beds beds are spare at the P95 on each of days 0 to this (default 3).';
COMMENT ON COLUMN @extschema@.capacity_policy.action_hysteresis IS 'Keep an action until its condition clearly ends: scale up until P(demand > staffed beds) falls below half of scale_up_probability, scale down while one bed fewer than scale_down_spare_beds is spare; the previous action is the unit''s latest earlier forecast in forecast_log within two days (default true).';
CREATE OR REPLACE FUNCTION @extschema@.capacity_settings()
RETURNS @extschema@.capacity_policy
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT p FROM @extschema@.capacity_policy p WHERE p.id),
        ROW(true, 0.10::float8, 2, 48, 168, 7, 0.05::float8,
            0.10::float8, 0.30::float8, 0, 2::float8,
            false, 7::float8, true, 0,
            730, '00:00'::time, 3, true)::@extschema@.capacity_policy);
END;

-- ===========================================================================
-- 8. covariate_value(): the covariate encoding of the scoring functions, for training
-- ===========================================================================
CREATE FUNCTION @extschema@.covariate_value(covariate text, age_years float8, sex text,
                                            hours_since_admission float8, unit_kind text)
RETURNS float8
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_covariate_value';
COMMENT ON FUNCTION @extschema@.covariate_value(text, float8, text, float8, text) IS
    'The value a model input of this covariate reads (age_years, sex_male, hours_since_admission, unit_kind_ward ... unit_kind_other), by the encoding risk(), length_of_stay() and explain() use: sex_male is 1 for male, 0 for female or other, NULL for unknown; unit kinds are one-hot. NULL when the covariate is missing. Training code builds its inputs with it.';

-- ===========================================================================
-- 9. Forecast log and grading (new): score functions, census, forecast_log,
--    its grading, refresh() writing the log, icu_bi.forecast_quality
-- ===========================================================================
-- Bed demand: grading a count forecast against what happened
-- (C: extension/src/demand/score.c; docs/demand.md, docs/views.md).
--
-- The CDF, the CRPS and the PIT of a bed_demand read the distribution as
-- pmf / sum(pmf): F is 0 below the kept counts and 1 from the largest on
-- (the trimmed mass, at most about 1e-12 per tail, is spread over the kept
-- counts).  forecast_grade and forecast_skill (44_forecast_log.sql) grade
-- the forecast log with them.

CREATE FUNCTION @extschema@.bed_demand_cdf(demand @extschema@.bed_demand, k integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_cdf(@extschema@.bed_demand, integer) IS
    'P(count <= k) of the distribution read as pmf / sum(pmf): 0 below the smallest kept count, 1 from the largest on.';

CREATE FUNCTION @extschema@.bed_demand_crps(demand @extschema@.bed_demand, y integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_crps'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_crps(@extschema@.bed_demand, integer) IS
    'Continuous ranked probability score of the count forecast for the observed count y: the sum over all integers k of (F(k) - [y <= k])^2, exact (a finite sum over the kept counts, plus 1 for every count between y and them when y lies outside). In beds; lower is better; a point mass at x scores |y - x|.';

CREATE FUNCTION @extschema@.bed_demand_pit(demand @extschema@.bed_demand, y integer, u float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_pit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_pit(@extschema@.bed_demand, integer, float8) IS
    'Randomised probability integral transform of the observed count y: F(y - 1) + u (F(y) - F(y - 1)). With u uniform on [0, 1] it is uniform for a calibrated count forecast. u in [0, 1], else 22023.';

CREATE FUNCTION @extschema@.bed_demand_pit_cdf(demand @extschema@.bed_demand, y integer, z float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_pit_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_pit_cdf(@extschema@.bed_demand, integer, float8) IS
    'Non-randomised PIT of a count (Czado, Gneiting & Held 2009): the CDF at z of the PIT given the observed count y, 0 for z <= F(y - 1), 1 for z >= F(y), linear in between. The mean of pit_cdf(b) - pit_cdf(a) over many forecasts is the PIT histogram''s bar [a, b). z in [0, 1], else 22023.';

-- Forecast log and grading: every capacity forecast that refresh() makes is
-- kept, and graded against the ICU census once its moment has passed.
--
--   icu_census(moments), icu_census_at(at)
--                      patients in an ICU episode per unit at given moments,
--                      by the rule of icu_occupancy() (05_episodes.sql).
--   forecast_log       append-only: one row per refresh run, unit and
--                      horizon day, written by refresh() (48_refresh.sql)
--                      in the run's subtransaction.
--   forecast_grades(), the view forecast_grade
--                      each logged forecast whose moment has passed, with
--                      the census that happened, PIT, CRPS and errors, and
--                      those of persistence and of the 7-day mean.
--   forecast_skill(window_days, live_only)
--                      coverage, PIT histogram, CRPS, MAE, skill and bias per
--                      unit and horizon over the forecasts of record.
--
-- Rules (docs/views.md, "Forecast log and grading"):
--   * a row is a replay (is_replay) when its reference time is not the wall
--     clock, i.e. icu_predict.reference_time was set to another moment;
--   * the forecast of record of a unit, reference day and horizon is the
--     first successful run of that day (live and replay counted apart) whose
--     reference time is at or after capacity_policy.forecast_of_record_after
--     in the day zone; it is fixed when the row is written, so the log stays
--     append-only, and a unique index keeps it one;
--   * refresh() deletes live rows older than
--     capacity_policy.forecast_log_retention_days (0 = never); replay rows
--     are kept, since their reference times lie in the past by design.

-- ---------------------------------------------------------------------------
-- icu_census(moments) and icu_census_at(at)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.icu_census(moments timestamptz[])
RETURNS TABLE (at timestamptz, unit text, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH m AS (
        SELECT DISTINCT x AS at FROM pg_catalog.unnest(icu_census.moments) AS x WHERE x IS NOT NULL
    ), units AS (
        SELECT s.unit FROM @extschema@.location_stay s WHERE s.unit_kind = 'icu'
        UNION
        SELECT c.unit FROM @extschema@.icu_capacity c
    ), present AS (
        SELECT m.at,
               (SELECT s.unit
                  FROM @extschema@.location_stay s
                 WHERE s.admission_id = e.admission_id
                   AND s.unit_kind = 'icu'
                   AND s.started_at >= e.started_at
                   AND s.started_at <= m.at
                 ORDER BY s.started_at DESC, s.stay_id DESC
                 LIMIT 1) AS unit
          FROM m
          JOIN @extschema@.icu_episode e
            ON e.started_at <= m.at
           AND (e.ended_at IS NULL OR e.ended_at > m.at)
    )
    SELECT m.at, u.unit, pg_catalog.count(p.unit)::integer AS patients
      FROM units u
     CROSS JOIN m
      LEFT JOIN present p ON p.unit = u.unit AND p.at = m.at
     GROUP BY m.at, u.unit
     ORDER BY m.at, u.unit;
END;
COMMENT ON FUNCTION @extschema@.icu_census(timestamptz[]) IS
    'ICU census at each of the given moments: per ICU unit, the number of patients in an ICU episode (started_at <= moment < ended_at), counted in the unit of the latest ICU location stay begun by then; the rule of icu_occupancy(), which is this census at the midnights that end its days. Every ICU unit known from location_stay or icu_capacity gets a row per moment, 0 when empty; NULL moments are ignored.';

CREATE FUNCTION @extschema@.icu_census_at(at timestamptz)
RETURNS TABLE (unit text, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT c.unit, c.patients
      FROM @extschema@.icu_census(ARRAY[icu_census_at.at]) c
     ORDER BY c.unit;
END;
COMMENT ON FUNCTION @extschema@.icu_census_at(timestamptz) IS
    'ICU census at one moment: per ICU unit, the number of patients in an ICU episode then (see icu_census).';

-- ---------------------------------------------------------------------------
-- forecast_log
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.forecast_log (
    run_id              bigint      NOT NULL,
    reference_time      timestamptz NOT NULL,
    reference_date      date        NOT NULL,
    forecast_at         timestamptz NOT NULL,
    forecast_date       date        NOT NULL,
    unit                text        NOT NULL,
    is_total            boolean     NOT NULL,
    horizon_day         integer     NOT NULL,
    demand              @extschema@.bed_demand NOT NULL,
    expected_beds       float8      NOT NULL,
    variance_beds       float8      NOT NULL,
    p05_beds            integer     NOT NULL,
    p10_beds            integer     NOT NULL,
    p50_beds            integer     NOT NULL,
    p90_beds            integer     NOT NULL,
    p95_beds            integer     NOT NULL,
    occupied_now        integer     NOT NULL,
    census_now          integer,
    census_mean_7d      float8,
    staffed_beds        integer,
    surge_beds          integer,
    prob_over_staffed   float8,
    prob_over_surge     float8,
    recommended_action  text        NOT NULL,
    arrivals_per_day    float8,
    icu_mean            float8,
    icu_var             float8,
    ward_mean           float8,
    ward_var            float8,
    arrivals_mean       float8,
    arrivals_var        float8,
    policy              jsonb       NOT NULL,
    risk_model_version  text,
    stay_model_version  text,
    is_replay           boolean     NOT NULL,
    of_record           boolean     NOT NULL,
    logged_at           timestamptz NOT NULL,
    CONSTRAINT forecast_log_pkey PRIMARY KEY (run_id, unit, horizon_day),
    CONSTRAINT forecast_log_horizon_day_range CHECK (horizon_day >= 0),
    CONSTRAINT forecast_log_dates_agree CHECK (forecast_date = reference_date + horizon_day),
    CONSTRAINT forecast_log_quantiles_ordered
        CHECK (p05_beds <= p10_beds AND p10_beds <= p50_beds AND p50_beds <= p90_beds
               AND p90_beds <= p95_beds)
);
CREATE UNIQUE INDEX forecast_log_of_record_key
    ON @extschema@.forecast_log (unit, reference_date, horizon_day, is_replay) WHERE of_record;
CREATE INDEX forecast_log_forecast_at_idx ON @extschema@.forecast_log (forecast_at);
CREATE INDEX forecast_log_reference_time_idx ON @extschema@.forecast_log (reference_time);

COMMENT ON TABLE @extschema@.forecast_log IS
    'Append-only log of the capacity forecasts: one row per successful refresh() run, ICU unit (and ''All ICU units'') and horizon day, with the distribution, its summaries, the baselines known at the reference time, the policy and the model versions. Written by refresh() with the views, in the same subtransaction (a failed run logs nothing); graded by forecast_grade and forecast_skill(). Live rows older than capacity_policy.forecast_log_retention_days are deleted by refresh(). Survives pg_dump/pg_restore.';
COMMENT ON COLUMN @extschema@.forecast_log.run_id IS 'The refresh run (refresh_log.run_id).';
COMMENT ON COLUMN @extschema@.forecast_log.reference_time IS 'The reference time ("now") of the forecast.';
COMMENT ON COLUMN @extschema@.forecast_log.reference_date IS 'The reference day: the calendar day of reference_time in the day zone (icu_predict.day_timezone).';
COMMENT ON COLUMN @extschema@.forecast_log.forecast_at IS 'The forecast moment: reference_time + horizon_day days.';
COMMENT ON COLUMN @extschema@.forecast_log.forecast_date IS 'Calendar day of the forecast moment (reference_date + horizon_day).';
COMMENT ON COLUMN @extschema@.forecast_log.unit IS 'ICU unit, or ''All ICU units'' for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.forecast_log.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.forecast_log.horizon_day IS 'Days ahead of the reference time (0 = now).';
COMMENT ON COLUMN @extschema@.forecast_log.demand IS 'The forecast distribution of occupied beds at forecast_at (bed_demand), as capacity_forecast.demand.';
COMMENT ON COLUMN @extschema@.forecast_log.expected_beds IS 'Expected occupied beds (mean of demand).';
COMMENT ON COLUMN @extschema@.forecast_log.variance_beds IS 'Variance of the occupied beds (of demand).';
COMMENT ON COLUMN @extschema@.forecast_log.p05_beds IS '5th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p10_beds IS '10th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p50_beds IS 'Median of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p90_beds IS '90th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p95_beds IS '95th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.occupied_now IS 'capacity_forecast.occupied_now: patients lying in the unit at the reference time.';
COMMENT ON COLUMN @extschema@.forecast_log.census_now IS 'ICU census of the unit at the reference time by the grading rule (icu_census), as known then: the persistence forecast of every horizon.';
COMMENT ON COLUMN @extschema@.forecast_log.census_mean_7d IS 'Mean ICU census of the unit at the reference time minus 1, 2, ..., 7 days (icu_census), as known then: the 7-day-mean forecast of every horizon.';
COMMENT ON COLUMN @extschema@.forecast_log.staffed_beds IS 'Staffed beds on forecast_date; NULL when unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.surge_beds IS 'Surge beds on forecast_date; NULL when unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.prob_over_staffed IS 'P(demand > staffed beds); NULL when staffed beds are unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.prob_over_surge IS 'P(demand > surge beds); NULL when surge beds are unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.recommended_action IS 'The recommended action of the forecast (capacity_forecast.recommended_action).';
COMMENT ON COLUMN @extschema@.forecast_log.arrivals_per_day IS 'capacity_forecast.arrivals_per_day: expected ICU admissions, hospital-wide, during the day before forecast_at of patients not yet in hospital.';
COMMENT ON COLUMN @extschema@.forecast_log.icu_mean IS 'Mean of the beds occupied at forecast_at by the patients in the ICU at the reference time (capacity_forecast.icu_mean).';
COMMENT ON COLUMN @extschema@.forecast_log.icu_var IS 'Variance of that count (capacity_forecast.icu_var).';
COMMENT ON COLUMN @extschema@.forecast_log.ward_mean IS 'Mean of the beds occupied at forecast_at by the patients elsewhere in hospital at the reference time (capacity_forecast.ward_mean).';
COMMENT ON COLUMN @extschema@.forecast_log.ward_var IS 'Variance of that count (capacity_forecast.ward_var).';
COMMENT ON COLUMN @extschema@.forecast_log.arrivals_mean IS 'Mean of the beds occupied at forecast_at by patients not yet in hospital at the reference time (capacity_forecast.arrivals_mean).';
COMMENT ON COLUMN @extschema@.forecast_log.arrivals_var IS 'Variance of that count (capacity_forecast.arrivals_var: Poisson or negative binomial).';
COMMENT ON COLUMN @extschema@.forecast_log.policy IS 'The thresholds and parameters in force (capacity_settings() as jsonb).';
COMMENT ON COLUMN @extschema@.forecast_log.risk_model_version IS 'Name and version of the risk models the forecast read (today''s patient_status rows), separated by ''; ''.';
COMMENT ON COLUMN @extschema@.forecast_log.stay_model_version IS 'Name and version of the length-of-stay models the forecast read, separated by ''; ''.';
COMMENT ON COLUMN @extschema@.forecast_log.is_replay IS 'True when the reference time was not the wall clock (icu_predict.reference_time set to another moment: a replay or backtest). Live grading uses rows with false only.';
COMMENT ON COLUMN @extschema@.forecast_log.of_record IS 'True for the forecast of record of its unit, reference day and horizon: the first successful run of the day (live and replay apart) whose reference time is at or after capacity_policy.forecast_of_record_after. Grading and calibration use these rows, so frequent refreshes do not weigh more.';
COMMENT ON COLUMN @extschema@.forecast_log.logged_at IS 'Wall-clock time the row was written.';

-- Rows are facts about past forecasts: never changed.  (Deleting, by the
-- retention rule or by the owner, stays possible.)
CREATE FUNCTION @extschema@.forecast_log_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'forecast_log rows are never changed (run %, unit %, horizon day %)',
                    OLD.run_id, OLD.unit, OLD.horizon_day
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'The log is append-only; delete old rows with capacity_policy.forecast_log_retention_days.';
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_log_append_only() IS
    'Trigger function of forecast_log: rejects UPDATE (SQLSTATE 55000); the log is append-only.';
CREATE TRIGGER forecast_log_append_only
    BEFORE UPDATE ON @extschema@.forecast_log
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forecast_log_append_only();
COMMENT ON TRIGGER forecast_log_append_only ON @extschema@.forecast_log IS
    'Keeps forecast_log append-only: UPDATE raises 55000.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.forecast_log', '');

-- ---------------------------------------------------------------------------
-- forecast_grades() and the view forecast_grade
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.forecast_grades(
    since timestamptz DEFAULT '-infinity',
    live_only boolean DEFAULT false,
    of_record_only boolean DEFAULT false)
RETURNS TABLE (
    run_id             bigint,
    reference_time     timestamptz,
    reference_date     date,
    forecast_at        timestamptz,
    forecast_date      date,
    unit               text,
    is_total           boolean,
    horizon_day        integer,
    is_replay          boolean,
    of_record          boolean,
    demand             @extschema@.bed_demand,
    expected_beds      float8,
    p05_beds           integer,
    p10_beds           integer,
    p50_beds           integer,
    p90_beds           integer,
    p95_beds           integer,
    realised           integer,
    in_p10_p90         boolean,
    in_p05_p95         boolean,
    pit_u              float8,
    pit                float8,
    crps               float8,
    error              float8,
    abs_error          float8,
    persistence        integer,
    persistence_abs_error float8,
    persistence_crps   float8,
    mean_7d            float8,
    mean_7d_abs_error  float8
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH g AS (
        SELECT f.*
          FROM @extschema@.forecast_log f
         WHERE f.forecast_at <= @extschema@.reference_time()
           AND f.forecast_at > forecast_grades.since
           AND (NOT forecast_grades.live_only OR NOT f.is_replay)
           AND (NOT forecast_grades.of_record_only OR f.of_record)
    ), census AS (
        SELECT c.at, c.unit, c.patients
          FROM @extschema@.icu_census(ARRAY(SELECT DISTINCT g.forecast_at FROM g)) c
    ), census_total AS (
        SELECT c.at, pg_catalog.sum(c.patients)::integer AS patients
          FROM census c GROUP BY c.at
    ), graded AS (
        SELECT g.*,
               CASE WHEN g.is_total THEN ct.patients ELSE coalesce(c.patients, 0) END AS realised,
               -- a reproducible u in [0, 1) for the randomised PIT: 53 bits of
               -- a hash of the row's key
               ((pg_catalog.hashtextextended(g.run_id::text || '/' || g.unit || '/' || g.horizon_day::text, 0)
                 & 9007199254740991)::float8 / 9007199254740992.0) AS u
          FROM g
          LEFT JOIN census c ON c.at = g.forecast_at AND c.unit = g.unit AND NOT g.is_total
          LEFT JOIN census_total ct ON ct.at = g.forecast_at AND g.is_total
    )
    SELECT x.run_id, x.reference_time, x.reference_date, x.forecast_at, x.forecast_date,
           x.unit, x.is_total, x.horizon_day, x.is_replay, x.of_record, x.demand,
           x.expected_beds, x.p05_beds, x.p10_beds, x.p50_beds, x.p90_beds, x.p95_beds,
           x.realised,
           x.realised BETWEEN x.p10_beds AND x.p90_beds,
           x.realised BETWEEN x.p05_beds AND x.p95_beds,
           x.u,
           @extschema@.bed_demand_pit(x.demand, x.realised, x.u),
           @extschema@.bed_demand_crps(x.demand, x.realised),
           x.expected_beds - x.realised,
           pg_catalog.abs(x.expected_beds - x.realised),
           x.census_now,
           pg_catalog.abs(x.census_now - x.realised)::float8,
           pg_catalog.abs(x.census_now - x.realised)::float8,
           x.census_mean_7d,
           pg_catalog.abs(x.census_mean_7d - x.realised)
      FROM graded x
     WHERE x.realised IS NOT NULL
     ORDER BY x.forecast_at, x.is_total, x.unit, x.horizon_day, x.run_id;
END;
COMMENT ON FUNCTION @extschema@.forecast_grades(timestamptz, boolean, boolean) IS
    'The logged forecasts whose moment has passed (forecast_at <= reference_time(), and > since), graded against the ICU census at forecast_at (icu_census; the sum over units for ''All ICU units''): realised beds, inside P10-P90 and P5-P95 (bounds included), the randomised PIT with a reproducible u from a hash of (run_id, unit, horizon_day), CRPS, error and absolute error of the expected beds, and persistence (the census at the reference time, a point mass: its CRPS is its absolute error) and the 7-day mean. live_only drops replay rows; of_record_only keeps the forecasts of record.';

CREATE VIEW @extschema@.forecast_grade AS
    SELECT g.run_id, g.reference_time, g.reference_date, g.forecast_at, g.forecast_date,
           g.unit, g.is_total, g.horizon_day, g.is_replay, g.of_record, g.demand,
           g.expected_beds, g.p05_beds, g.p10_beds, g.p50_beds, g.p90_beds, g.p95_beds,
           g.realised, g.in_p10_p90, g.in_p05_p95, g.pit_u, g.pit, g.crps, g.error,
           g.abs_error, g.persistence, g.persistence_abs_error, g.persistence_crps,
           g.mean_7d, g.mean_7d_abs_error
      FROM @extschema@.forecast_grades() g;
COMMENT ON VIEW @extschema@.forecast_grade IS
    'Every logged forecast whose moment has passed (forecast_at <= icu_predict.reference_time(), or now), graded against the ICU census at that moment. For a window or the forecasts of record only, call forecast_grades(since, live_only, of_record_only), which filters before it counts the census. See docs/views.md, "Forecast log and grading".';
COMMENT ON COLUMN @extschema@.forecast_grade.run_id IS 'The refresh run (refresh_log.run_id).';
COMMENT ON COLUMN @extschema@.forecast_grade.reference_time IS 'Reference time of the forecast.';
COMMENT ON COLUMN @extschema@.forecast_grade.reference_date IS 'Reference day of the forecast.';
COMMENT ON COLUMN @extschema@.forecast_grade.forecast_at IS 'The forecast moment, at which the census is counted.';
COMMENT ON COLUMN @extschema@.forecast_grade.forecast_date IS 'Calendar day of the forecast moment.';
COMMENT ON COLUMN @extschema@.forecast_grade.unit IS 'ICU unit, or ''All ICU units''.';
COMMENT ON COLUMN @extschema@.forecast_grade.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.forecast_grade.horizon_day IS 'Days ahead (0 = now).';
COMMENT ON COLUMN @extschema@.forecast_grade.is_replay IS 'True for a forecast made in a replay (forecast_log.is_replay).';
COMMENT ON COLUMN @extschema@.forecast_grade.of_record IS 'True for the forecast of record of its unit, reference day and horizon.';
COMMENT ON COLUMN @extschema@.forecast_grade.demand IS 'The forecast distribution.';
COMMENT ON COLUMN @extschema@.forecast_grade.expected_beds IS 'Expected occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_grade.p05_beds IS '5th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.p10_beds IS '10th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.p50_beds IS 'Median.';
COMMENT ON COLUMN @extschema@.forecast_grade.p90_beds IS '90th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.p95_beds IS '95th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.realised IS 'Patients in an ICU episode in the unit at forecast_at (icu_census; all units for the total row).';
COMMENT ON COLUMN @extschema@.forecast_grade.in_p10_p90 IS 'p10_beds <= realised <= p90_beds (bounds included, so a count interval covers at least 80%).';
COMMENT ON COLUMN @extschema@.forecast_grade.in_p05_p95 IS 'p05_beds <= realised <= p95_beds.';
COMMENT ON COLUMN @extschema@.forecast_grade.pit_u IS 'The u of the randomised PIT: 53 bits of hashtextextended(run_id/unit/horizon_day) over 2^53, in [0, 1), the same on every read.';
COMMENT ON COLUMN @extschema@.forecast_grade.pit IS 'Randomised PIT: F(realised - 1) + pit_u (F(realised) - F(realised - 1)); uniform on [0, 1] for a calibrated forecast.';
COMMENT ON COLUMN @extschema@.forecast_grade.crps IS 'CRPS of the distribution for the realised count (bed_demand_crps), in beds.';
COMMENT ON COLUMN @extschema@.forecast_grade.error IS 'expected_beds - realised (positive: forecast too high).';
COMMENT ON COLUMN @extschema@.forecast_grade.abs_error IS '|expected_beds - realised|.';
COMMENT ON COLUMN @extschema@.forecast_grade.persistence IS 'Persistence''s forecast: the census at the reference time (forecast_log.census_now).';
COMMENT ON COLUMN @extschema@.forecast_grade.persistence_abs_error IS '|persistence - realised|.';
COMMENT ON COLUMN @extschema@.forecast_grade.persistence_crps IS 'CRPS of persistence as a point mass, equal to its absolute error.';
COMMENT ON COLUMN @extschema@.forecast_grade.mean_7d IS 'The 7-day-mean forecast: mean census at the reference time minus 1..7 days (forecast_log.census_mean_7d).';
COMMENT ON COLUMN @extschema@.forecast_grade.mean_7d_abs_error IS '|mean_7d - realised|, also its CRPS as a point forecast.';

-- ---------------------------------------------------------------------------
-- forecast_skill(window_days, live_only)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.forecast_skill(window_days integer DEFAULT 28, live_only boolean DEFAULT true)
RETURNS TABLE (
    unit                 text,
    is_total             boolean,
    horizon_day          integer,
    n_forecasts          bigint,
    first_forecast_at    timestamptz,
    last_forecast_at     timestamptz,
    coverage_80          float8,
    coverage_90          float8,
    coverage_80_interval float8,
    coverage_90_interval float8,
    pit_histogram        float8[],
    mean_crps            float8,
    mae                  float8,
    bias                 float8,
    persistence_mae      float8,
    persistence_crps     float8,
    crps_skill_persistence float8,
    mae_skill_persistence  float8,
    mean_7d_mae          float8,
    crps_skill_mean_7d   float8,
    mae_skill_mean_7d    float8
)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF window_days IS NULL OR window_days < 1 OR window_days > 36500 THEN
        RAISE EXCEPTION 'forecast_skill window of % days is outside 1 to 36500', coalesce(window_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a number of days, e.g. forecast_skill(28).';
    END IF;
    IF live_only IS NULL THEN
        RAISE EXCEPTION 'forecast_skill live_only must be true or false, not NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH g AS (
        SELECT gr.*
          FROM @extschema@.forecast_grades(
                   @extschema@.reference_time() - pg_catalog.make_interval(days => window_days),
                   live_only, true) gr
    ), bins AS (
        SELECT g.unit, g.horizon_day, b,
               pg_catalog.avg(@extschema@.bed_demand_pit_cdf(g.demand, g.realised, (b + 1) / 10.0::float8)
                              - @extschema@.bed_demand_pit_cdf(g.demand, g.realised, b / 10.0::float8)) AS share
          FROM g CROSS JOIN pg_catalog.generate_series(0, 9) AS b
         GROUP BY g.unit, g.horizon_day, b
    ), hist AS (
        SELECT bins.unit, bins.horizon_day, pg_catalog.array_agg(bins.share ORDER BY bins.b) AS h
          FROM bins GROUP BY bins.unit, bins.horizon_day
    ), s AS (
        SELECT g.unit, pg_catalog.bool_or(g.is_total) AS is_total, g.horizon_day,
               pg_catalog.count(*) AS n,
               pg_catalog.min(g.forecast_at) AS first_at,
               pg_catalog.max(g.forecast_at) AS last_at,
               pg_catalog.avg((g.pit >= 0.1 AND g.pit <= 0.9)::integer::float8) AS cov80,
               pg_catalog.avg((g.pit >= 0.05 AND g.pit <= 0.95)::integer::float8) AS cov90,
               pg_catalog.avg(g.in_p10_p90::integer::float8) AS cov80i,
               pg_catalog.avg(g.in_p05_p95::integer::float8) AS cov90i,
               pg_catalog.avg(g.crps) AS crps,
               pg_catalog.avg(g.abs_error) AS mae,
               pg_catalog.avg(g.error) AS bias,
               pg_catalog.avg(g.persistence_abs_error) AS pmae,
               pg_catalog.avg(g.persistence_crps) AS pcrps,
               pg_catalog.avg(g.mean_7d_abs_error) AS m7mae
          FROM g
         GROUP BY g.unit, g.horizon_day
    )
    SELECT s.unit, s.is_total, s.horizon_day, s.n, s.first_at, s.last_at,
           s.cov80, s.cov90, s.cov80i, s.cov90i, hist.h,
           s.crps, s.mae, s.bias, s.pmae, s.pcrps,
           1 - s.crps / NULLIF(s.pcrps, 0),
           1 - s.mae / NULLIF(s.pmae, 0),
           s.m7mae,
           1 - s.crps / NULLIF(s.m7mae, 0),
           1 - s.mae / NULLIF(s.m7mae, 0)
      FROM s
      JOIN hist ON hist.unit = s.unit AND hist.horizon_day = s.horizon_day
     ORDER BY s.is_total, s.unit, s.horizon_day;
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_skill(integer, boolean) IS
    'How good the forecasts were: per unit and horizon, over the forecasts of record whose moment lies in the last window_days days before the reference time (live rows only by default; live_only => false adds replay rows, for a backtest database): n, coverage of the 80% and 90% ranges by the randomised PIT (share in [0.1, 0.9] and [0.05, 0.95]) and by the inclusive P10-P90 and P5-P95 intervals, the non-randomised PIT histogram (10 bars of width 0.1, Czado et al. 2009), mean CRPS, MAE, bias (mean forecast - realised), persistence''s MAE and CRPS and the skill 1 - model / persistence, the 7-day mean''s MAE and the skill against it (NULL when the reference made no error). Runs as the extension owner and returns aggregates only; EXECUTE is granted to icu_bi_reader for icu_bi.forecast_quality. window_days in 1..36500, else 22023.';

REVOKE ALL ON FUNCTION @extschema@.forecast_skill(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.forecast_skill(integer, boolean) TO icu_bi_reader;

-- ---------------------------------------------------------------------------
-- refresh() writes the forecast log
-- ---------------------------------------------------------------------------
CREATE OR REPLACE PROCEDURE @extschema@.refresh()
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_started   timestamptz := pg_catalog.clock_timestamp();
    v_ref       timestamptz;
    v_mode      text := 'concurrently';
    v_view      text;
    v_ps_rows   bigint;
    v_cf_rows   bigint;
    v_models    text;
    v_state     text;
    v_msg       text;
    -- the caller: the role set with SET ROLE, else the session user
    v_by        text := coalesce(nullif(pg_catalog.current_setting('role'), 'none'),
                                 SESSION_USER::text);
    -- the run's number, taken first so that forecast_log rows can carry it
    v_run       bigint := pg_catalog.nextval('@extschema@.refresh_log_run_id_seq'::regclass);
    v_pol       @extschema@.capacity_policy;
    v_replay    boolean;
    v_risk_models text;
    v_stay_models text;
BEGIN
    BEGIN
        v_ref := @extschema@.reference_time();
        FOREACH v_view IN ARRAY ARRAY['patient_status', 'capacity_forecast'] LOOP
            IF (SELECT c.relispopulated FROM pg_catalog.pg_class c
                 WHERE c.oid = pg_catalog.format('%I.%I', '@extschema@', v_view)::regclass) THEN
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I.%I',
                                          '@extschema@', v_view);
            ELSE
                v_mode := 'plain';
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %I.%I', '@extschema@', v_view);
            END IF;
        END LOOP;
        SELECT pg_catalog.count(*) INTO v_ps_rows FROM @extschema@.patient_status;
        SELECT pg_catalog.count(*) INTO v_cf_rows FROM @extschema@.capacity_forecast;
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version),
                               (ps.stay_model_version)) AS x(v)
         WHERE v IS NOT NULL;

        -- the forecast log: what this run forecast, per unit and horizon day
        v_pol := @extschema@.capacity_settings();
        -- a replay when "now" is not the wall clock (icu_predict.reference_time set)
        v_replay := v_ref IS DISTINCT FROM pg_catalog.now();
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_risk_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version)) AS x(v)
         WHERE ps.is_today AND v IS NOT NULL;
        SELECT pg_catalog.string_agg(DISTINCT ps.stay_model_version, '; ' ORDER BY ps.stay_model_version)
          INTO v_stay_models
          FROM @extschema@.patient_status ps
         WHERE ps.is_today AND ps.stay_model_version IS NOT NULL;
        INSERT INTO @extschema@.forecast_log
               (run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
                horizon_day, demand, expected_beds, variance_beds,
                p05_beds, p10_beds, p50_beds, p90_beds, p95_beds,
                occupied_now, census_now, census_mean_7d,
                staffed_beds, surge_beds, prob_over_staffed, prob_over_surge, recommended_action,
                arrivals_per_day, icu_mean, icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var,
                policy, risk_model_version, stay_model_version,
                is_replay, of_record, logged_at)
        WITH census AS (
            -- the census at the reference time and at 1..7 days before it
            SELECT c.at, c.unit, c.patients
              FROM @extschema@.icu_census(ARRAY(
                       SELECT v_ref - pg_catalog.make_interval(days => j)
                         FROM pg_catalog.generate_series(0, 7) AS j)) c
        ), per_unit AS (
            SELECT c.unit,
                   pg_catalog.sum(c.patients) FILTER (WHERE c.at = v_ref)::integer AS now,
                   pg_catalog.avg(c.patients) FILTER (WHERE c.at < v_ref)::float8 AS mean_7d
              FROM census c GROUP BY c.unit
        ), total AS (
            SELECT pg_catalog.sum(c.patients) FILTER (WHERE c.at = v_ref)::integer AS now,
                   (pg_catalog.sum(c.patients) FILTER (WHERE c.at < v_ref) / 7.0)::float8 AS mean_7d
              FROM census c
        ), fc AS (
            SELECT cf.*, cf.forecast_date - cf.horizon_day AS reference_date,
                   CASE WHEN cf.is_total THEN t.now ELSE coalesce(pu.now, 0) END AS census_now,
                   CASE WHEN cf.is_total THEN t.mean_7d ELSE coalesce(pu.mean_7d, 0) END AS census_mean_7d
              FROM @extschema@.capacity_forecast cf
              CROSS JOIN total t
              LEFT JOIN per_unit pu ON pu.unit = cf.unit AND NOT cf.is_total
        )
        SELECT v_run, r.reference_time, r.reference_date, r.forecast_at, r.forecast_date, r.unit,
               r.is_total, r.horizon_day, r.demand, r.expected_beds,
               @extschema@.bed_demand_variance(r.demand),
               @extschema@.bed_demand_quantile(r.demand, 0.05),
               r.p10_beds, r.p50_beds, r.p90_beds, r.p95_beds,
               r.occupied_now, r.census_now, r.census_mean_7d,
               r.staffed_beds, r.surge_beds, r.prob_over_staffed, r.prob_over_surge,
               r.recommended_action, r.arrivals_per_day,
               r.icu_mean, r.icu_var, r.ward_mean, r.ward_var, r.arrivals_mean, r.arrivals_var,
               pg_catalog.to_jsonb(v_pol), v_risk_models, v_stay_models, v_replay,
               -- of record: the first run of the reference day at or after
               -- the policy's time of day, per unit and horizon (live and
               -- replay apart)
               pg_catalog.timezone(@extschema@.day_zone(), v_ref)::time >= (v_pol).forecast_of_record_after
               AND NOT EXISTS (
                    SELECT 1 FROM @extschema@.forecast_log f
                     WHERE f.of_record
                       AND f.unit = r.unit
                       AND f.reference_date = r.reference_date
                       AND f.horizon_day = r.horizon_day
                       AND f.is_replay = v_replay),
               pg_catalog.clock_timestamp()
          FROM fc r;

        -- retention of live rows (replay rows are kept)
        IF (v_pol).forecast_log_retention_days > 0 THEN
            DELETE FROM @extschema@.forecast_log f
             WHERE NOT f.is_replay
               AND f.reference_time < pg_catalog.now()
                                      - pg_catalog.make_interval(days => (v_pol).forecast_log_retention_days);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
        INSERT INTO @extschema@.refresh_log
               (run_id, started_at, finished_at, succeeded, reference_time, mode, error, run_by)
        VALUES (v_run, v_started, pg_catalog.clock_timestamp(), false, v_ref, v_mode,
                v_state || ': ' || v_msg, v_by);
        RAISE WARNING 'icu_predict.refresh() failed, the views keep their previous contents: %', v_msg
            USING ERRCODE = v_state,
                  HINT = 'The failure is logged in icu_predict.refresh_log.';
        RETURN;
    END;
    INSERT INTO @extschema@.refresh_log
           (run_id, started_at, finished_at, succeeded, reference_time, mode,
            patient_status_rows, capacity_forecast_rows, model_versions, run_by)
    VALUES (v_run, v_started, pg_catalog.clock_timestamp(), true, v_ref, v_mode,
            v_ps_rows, v_cf_rows, v_models, v_by);
END
$$;
COMMENT ON PROCEDURE @extschema@.refresh() IS
    'Refreshes patient_status then capacity_forecast as of icu_predict.reference_time() (default now): plainly when a view is empty (first run, after pg_restore), CONCURRENTLY otherwise. Logs every run to refresh_log and its forecast to forecast_log (deleting live rows past capacity_policy.forecast_log_retention_days); on failure the views and forecast_log keep their contents and a WARNING is raised. Runs as the extension owner; EXECUTE is granted to icu_refresher.';

-- ---------------------------------------------------------------------------
-- icu_bi.forecast_quality
-- ---------------------------------------------------------------------------
CREATE VIEW icu_bi.forecast_quality AS
    SELECT q.unit::text                   AS unit,
           q.is_total::boolean            AS is_total,
           q.horizon_day::integer         AS horizon_day,
           28::integer                    AS window_days,
           q.n_forecasts::bigint          AS n_forecasts,
           q.first_forecast_at::timestamptz AS first_forecast_at,
           q.last_forecast_at::timestamptz  AS last_forecast_at,
           q.coverage_80::float8          AS coverage_80,
           q.coverage_90::float8          AS coverage_90,
           q.coverage_80_interval::float8 AS coverage_80_interval,
           q.coverage_90_interval::float8 AS coverage_90_interval,
           q.mean_crps::float8            AS mean_crps,
           q.mae::float8                  AS mae,
           q.bias::float8                 AS bias,
           q.persistence_mae::float8      AS persistence_mae,
           q.mae_skill_persistence::float8  AS mae_skill_vs_persistence,
           q.crps_skill_persistence::float8 AS crps_skill_vs_persistence,
           q.mean_7d_mae::float8          AS mean_7d_mae,
           q.mae_skill_mean_7d::float8    AS mae_skill_vs_7day_mean,
           q.crps_skill_mean_7d::float8   AS crps_skill_vs_7day_mean,
           @extschema@.reference_time()::timestamptz AS graded_as_of
      FROM @extschema@.forecast_skill(28, true) q;

COMMENT ON VIEW icu_bi.forecast_quality IS
    'How good were our forecasts over the last 28 days: per ICU unit (and ''All ICU units'') and horizon day, the live forecasts of record whose moment lies in the 28 days before now, graded against the ICU census that happened. Coverage near 0.80 / 0.90 and skill above 0 are good. Aggregate numbers: not filtered by ward.';
COMMENT ON COLUMN icu_bi.forecast_quality.unit IS 'ICU unit, or ''All ICU units''.';
COMMENT ON COLUMN icu_bi.forecast_quality.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN icu_bi.forecast_quality.horizon_day IS 'Days ahead the forecasts were made (0 = the census at the time).';
COMMENT ON COLUMN icu_bi.forecast_quality.window_days IS 'Days back over which forecasts are graded (28).';
COMMENT ON COLUMN icu_bi.forecast_quality.n_forecasts IS 'Forecasts graded (one per day: the forecast of record).';
COMMENT ON COLUMN icu_bi.forecast_quality.first_forecast_at IS 'Earliest forecast moment graded.';
COMMENT ON COLUMN icu_bi.forecast_quality.last_forecast_at IS 'Latest forecast moment graded.';
COMMENT ON COLUMN icu_bi.forecast_quality.coverage_80 IS 'Share of days the census fell in the 80% range (P10-P90), by the randomised PIT (0 to 1; 0.80 is right, lower means the ranges are too narrow).';
COMMENT ON COLUMN icu_bi.forecast_quality.coverage_90 IS 'Share of days the census fell in the 90% range (P5-P95), by the randomised PIT (0.90 is right).';
COMMENT ON COLUMN icu_bi.forecast_quality.coverage_80_interval IS 'Share of days with P10 <= census <= P90 (bounds included; over-covers for small units).';
COMMENT ON COLUMN icu_bi.forecast_quality.coverage_90_interval IS 'Share of days with P5 <= census <= P95 (bounds included).';
COMMENT ON COLUMN icu_bi.forecast_quality.mean_crps IS 'Mean CRPS in beds: the error of the whole distribution (lower is better; equals the MAE for a single number).';
COMMENT ON COLUMN icu_bi.forecast_quality.mae IS 'Mean absolute error of the expected beds.';
COMMENT ON COLUMN icu_bi.forecast_quality.bias IS 'Mean of expected beds minus census (positive: forecasts too high).';
COMMENT ON COLUMN icu_bi.forecast_quality.persistence_mae IS 'Mean absolute error of "no change" (the census when the forecast was made).';
COMMENT ON COLUMN icu_bi.forecast_quality.mae_skill_vs_persistence IS '1 - MAE / persistence MAE: above 0 the forecast beats "no change"; NULL when persistence made no error.';
COMMENT ON COLUMN icu_bi.forecast_quality.crps_skill_vs_persistence IS '1 - mean CRPS / persistence CRPS (= its MAE).';
COMMENT ON COLUMN icu_bi.forecast_quality.mean_7d_mae IS 'Mean absolute error of the 7-day mean census before the forecast was made.';
COMMENT ON COLUMN icu_bi.forecast_quality.mae_skill_vs_7day_mean IS '1 - MAE / 7-day-mean MAE.';
COMMENT ON COLUMN icu_bi.forecast_quality.crps_skill_vs_7day_mean IS '1 - mean CRPS / 7-day-mean MAE.';
COMMENT ON COLUMN icu_bi.forecast_quality.graded_as_of IS 'The moment of grading (now, or icu_predict.reference_time).';

GRANT SELECT ON icu_bi.forecast_quality TO icu_bi_reader;

-- ===========================================================================
-- 7. capacity_forecast: bed_demand_* names, day_zone(), the inflow and
--    routing of 0.2.0 and its component columns (last: it needs 4 to 6, 8 and 9)
-- ===========================================================================
-- A materialized view's query cannot be altered, so capacity_forecast and the
-- BI view over it are created anew.  A view of your own over either makes the
-- DROP fail (nothing is changed then): drop it, update, create it again.
-- Privileges granted on either view beyond the extension's own are not
-- carried over (PostgreSQL would record them as the extension's initial
-- privileges, and pg_dump would then leave them out): they are listed in a
-- WARNING, to be granted again after the update.
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
        RAISE WARNING 'icu_predict 0.2.0 recreates %; grant again after the update: GRANT % ON % TO %;',
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
), icu_now AS (
    SELECT t.admission_id, t.ward AS unit, t.stay_model, t.stay_version, t.stay_location_days,
           coalesce(pg_catalog.date_part('epoch', ref.t - e.started_at) / 86400.0, 0) AS spent
      FROM today t
      CROSS JOIN ref
      LEFT JOIN LATERAL (
            SELECT ep.started_at FROM @extschema@.icu_episode ep
             WHERE ep.admission_id = t.admission_id
               AND ep.started_at <= ref.t
             ORDER BY ep.started_at DESC LIMIT 1) e ON true
     WHERE t.unit_kind = 'icu'
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
    SELECT t.admission_id, t.ward, t.unit_kind, t.risk, t.r1, t.h1, t.r2, t.h2,
           CASE WHEN t.stay_model IS NOT NULL THEN
                @extschema@.stay_survival_curve(t.stay_location_days,
                    ARRAY(SELECT (g + 0.5)::float8 FROM pg_catalog.generate_series(0, 13) g ORDER BY g),
                    t.stay_model, t.stay_version) END AS s
      FROM today t, ref
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
), contrib AS (
    -- (unit, d, p) for every patient and unit; src: in the ICU now or not
    SELECT 'icu'::text AS src, ip.unit, ip.d, ip.p FROM icu_p ip
    UNION ALL
    SELECT 'ward'::text, wt.unit, wp.d, wp.p * coalesce(ww.w, wt.w)
      FROM ward_p wp
      CROSS JOIN weights wt
      LEFT JOIN ward_weights ww ON ww.from_unit = wp.ward AND ww.unit = wt.unit
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
), all_rows AS (
    SELECT * FROM per_unit UNION ALL SELECT * FROM total
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
       pg_catalog.now() AS refreshed_at
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
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_var IS 'Component: variance of that count (sum of p (1 - p)).';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_mean IS 'Component: expected beds at forecast_at of the patients in hospital but not in an ICU at the reference time (their ICU-admission curve through their stay survival, routed to this unit).';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_var IS 'Component: variance of that count (sum of p (1 - p)).';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_mean IS 'Component: expected beds at forecast_at of patients not yet in hospital at the reference time.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_var IS 'Component: variance of that count: the mean for a Poisson inflow, mean + mean^2 / arrivals_shape for the negative binomial.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_shape IS 'Gamma shape of the inflow rate''s uncertainty (negative-binomial inflow, capacity_policy.inflow_overdispersion); NULL: Poisson inflow.';
COMMENT ON COLUMN @extschema@.capacity_forecast.inflow_growth_per_day IS 'Growth of the ICU inflow used, per day on the log scale (the 14-day fit after shrinkage; 0 without capacity_policy.inflow_trend).';
COMMENT ON COLUMN @extschema@.capacity_forecast.demand IS 'The full bed-count distribution (bed_demand; use bed_demand_pmf(demand) for plots).';
COMMENT ON COLUMN @extschema@.capacity_forecast.reference_time IS 'The reference time ("now") of the forecast.';
COMMENT ON COLUMN @extschema@.capacity_forecast.refreshed_at IS 'When the view was last refreshed.';

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
           cf.action_reason::text         AS action_reason
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

GRANT SELECT ON icu_bi.capacity_forecast TO icu_bi_reader;

-- The new capacity_forecast is empty.  When the views held data, fill it
-- again as of the reference time of the last successful refresh (the time
-- patient_status describes), so Power BI keeps reading the forecast; the next
-- CALL icu_predict.refresh() brings both views up to date as usual.
DO $$
DECLARE
    v_ref timestamptz;
    v_old text := pg_catalog.current_setting('icu_predict.reference_time', true);
BEGIN
    IF NOT (SELECT c.relispopulated FROM pg_catalog.pg_class c
             WHERE c.oid = '@extschema@.patient_status'::regclass) THEN
        RETURN;
    END IF;
    SELECT l.reference_time INTO v_ref
      FROM @extschema@.refresh_log l
     WHERE l.succeeded
     ORDER BY l.run_id DESC
     LIMIT 1;
    IF v_ref IS NULL THEN
        RETURN;
    END IF;
    BEGIN
        PERFORM pg_catalog.set_config('icu_predict.reference_time',
                pg_catalog.to_char(v_ref AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00"'), true);
        REFRESH MATERIALIZED VIEW @extschema@.capacity_forecast;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'icu_predict.capacity_forecast stays empty until the next refresh: %', SQLERRM
            USING HINT = 'Run CALL icu_predict.refresh().';
    END;
    PERFORM pg_catalog.set_config('icu_predict.reference_time', coalesce(v_old, ''), true);
END
$$;

-- ===========================================================================
-- 10. issue 17: integrity -- admission quarantine, finite scores, the
--     registry's features, builtin rows, replays of refresh(), the
--     catalogue limit, the drop guard (new objects of 22_integrity.sql and
--     49_guard.sql; the
--     refresh_log columns, refresh() and icu_bi.refresh_status of
--     48_refresh.sql and 50_bi.sql, all in extension/sql/)
-- ===========================================================================
-- ---------------------------------------------------------------------------
-- Admission quarantine
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.admission_quarantine_reason(admitted_at timestamptz, reference_time timestamptz)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_admission_quarantine_reason'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.admission_quarantine_reason(timestamptz, timestamptz) IS
    'Why an admission open at reference_time cannot be used (NULL when it can): ''non-finite time'' (admitted_at is -infinity or infinity), ''implausible: admitted before 1900'', ''implausible: open for more than 3650 days''. patient_status skips such admissions; view admission_quarantine lists them.';

CREATE VIEW @extschema@.admission_quarantine AS
    SELECT a.admission_id, a.patient_id, a.admitted_at, q.reason,
           @extschema@.reference_time() AS reference_time
      FROM @extschema@.admission a
     CROSS JOIN LATERAL (SELECT @extschema@.admission_quarantine_reason(
                                    a.admitted_at, @extschema@.reference_time()) AS reason) q
     WHERE a.admitted_at <= @extschema@.reference_time()
       AND (a.discharged_at IS NULL OR a.discharged_at > @extschema@.reference_time())
       AND q.reason IS NOT NULL;
COMMENT ON VIEW @extschema@.admission_quarantine IS
    'Admissions open at icu_predict.reference_time() (default now) that the daily views skip because their admission time is not usable (rule: admission_quarantine_reason()). Correct the row in admission; the next refresh uses it. refresh_log counts them per run.';
COMMENT ON COLUMN @extschema@.admission_quarantine.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.admission_quarantine.patient_id IS 'Its pseudonymous patient.';
COMMENT ON COLUMN @extschema@.admission_quarantine.admitted_at IS 'The admission time as stored.';
COMMENT ON COLUMN @extschema@.admission_quarantine.reason IS 'Why it is skipped: non-finite time, or implausible (before 1900, or open for more than 3650 days).';
COMMENT ON COLUMN @extschema@.admission_quarantine.reference_time IS 'The reference time the rule was applied at.';

-- ---------------------------------------------------------------------------
-- Builtin rows come from the extension's own scripts only
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.installing_extension()
RETURNS boolean
AS 'MODULE_PATHNAME', 'icu_installing_extension'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.installing_extension() IS
    'True only while CREATE EXTENSION icu_predict or ALTER EXTENSION icu_predict UPDATE runs its scripts (PostgreSQL''s creating_extension; no session can set it).';

CREATE FUNCTION @extschema@.model_builtin_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.builtin AND (TG_OP = 'INSERT' OR NOT OLD.builtin)
       AND NOT @extschema@.installing_extension() THEN
        RAISE EXCEPTION 'builtin models are shipped by CREATE EXTENSION only'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'builtin rows are left out of pg_dump; leave builtin false for your own models.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.model_builtin_guard() IS
    'Trigger: refuses a builtin model row (insert, or builtin set to true) outside the extension''s own install and update scripts (SQLSTATE 42501), whatever the session''s settings.';

CREATE TRIGGER model_builtin_guard
    BEFORE INSERT OR UPDATE OF builtin ON @extschema@.model
    FOR EACH ROW EXECUTE FUNCTION @extschema@.model_builtin_guard();

-- ---------------------------------------------------------------------------
-- A feature a model reads cannot be renamed or deleted under it
-- ---------------------------------------------------------------------------
-- Model specs name their inputs by feature name; model.features (set at
-- insert) lists them.  Renaming or deleting such a feature would turn the
-- model's inputs into "missing" without an error, and leave a stored spec
-- that re-insertion rejects.  So both are refused while any model row reads
-- the feature (whether deployed, active or kept for the record): the model
-- registry always re-validates, and model_spec_check and insert agree.
CREATE FUNCTION @extschema@.feature_in_use_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_models text;
    v_live   boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name THEN
        RETURN NEW;
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('"%s" version "%s"%s', m.name, m.version,
                                     CASE WHEN a.model_id IS NOT NULL THEN ' (active)' ELSE '' END),
                                 ', ' ORDER BY a.model_id IS NULL, m.name, m.version),
           pg_catalog.bool_or(a.model_id IS NOT NULL
                              OR EXISTS (SELECT 1 FROM @extschema@.model_deployment d
                                          WHERE d.model_id = m.model_id AND d.rolled_back_at IS NULL))
      INTO v_models, v_live
      FROM @extschema@.model m
      LEFT JOIN @extschema@.active_model a ON a.model_id = m.model_id
     WHERE m.features ? OLD.name;
    IF v_models IS NOT NULL THEN
        RAISE EXCEPTION 'feature "%" is read by model %', OLD.name, v_models
            USING ERRCODE = 'foreign_key_violation',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA,
                  DETAIL = CASE WHEN v_live
                                THEN 'A deployed or active model would silently score this input as missing.'
                                ELSE 'Its stored spec would name a feature that no longer exists.' END,
                  HINT = CASE WHEN TG_OP = 'UPDATE'
                              THEN 'Add the new name as a feature of its own (and map it in lab_map), then retrain and deploy a model that reads it; delete old models with DELETE FROM icu_predict.model WHERE ... once they are no longer active.'
                              ELSE 'Deploy a model that does not read it (or roll back), then delete the models that read it from icu_predict.model.' END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_in_use_guard() IS
    'Trigger: refuses renaming or deleting a feature that a model in the registry reads (SQLSTATE 23503, naming the models, active ones first).';

CREATE TRIGGER feature_in_use_guard
    BEFORE UPDATE OF name OR DELETE ON @extschema@.feature
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_in_use_guard();

-- ---------------------------------------------------------------------------
-- The catalogue limit, at the point of insert
-- ---------------------------------------------------------------------------
-- A lab panel holds at most 1,000 features (ICU_PANEL_MAX_FEATURES, the
-- value panel_max_features() returns); a catalogue beyond it would make every
-- panel fail.  So the insert that would exceed it fails instead.
CREATE FUNCTION @extschema@.panel_max_features()
RETURNS integer
AS 'MODULE_PATHNAME', 'icu_panel_max_features'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.panel_max_features() IS
    'The most features the catalogue (and so one lab panel) may hold: 1000.';

CREATE FUNCTION @extschema@.feature_catalogue_limit()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_n bigint;
BEGIN
    SELECT pg_catalog.count(*) INTO v_n FROM @extschema@.feature;
    IF v_n > @extschema@.panel_max_features() THEN
        RAISE EXCEPTION 'the feature catalogue would hold % features, more than the limit of %',
                v_n, @extschema@.panel_max_features()
            USING ERRCODE = 'program_limit_exceeded',
                  TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA,
                  HINT = 'A lab panel holds at most 1000 features; delete features no lab_map row or model uses.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_catalogue_limit() IS
    'Trigger: refuses an insert that would take the feature catalogue beyond panel_max_features() (SQLSTATE 54000).';

CREATE TRIGGER feature_catalogue_limit
    AFTER INSERT ON @extschema@.feature
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.feature_catalogue_limit();

ALTER TABLE @extschema@.refresh_log
    ADD COLUMN is_replay boolean NOT NULL DEFAULT false,
    ADD COLUMN quarantined_admissions integer,
    ADD COLUMN quarantine text;
-- runs before 0.2.0 were replays when their reference time was not their start
UPDATE @extschema@.refresh_log SET is_replay = true
 WHERE reference_time IS NOT NULL
   AND pg_catalog.abs(pg_catalog.date_part('epoch', reference_time - started_at)) > 60;
COMMENT ON COLUMN @extschema@.refresh_log.run_by IS 'Who ran the refresh: the session user (the login, or the pg_cron job''s user); SET ROLE does not change it.';
COMMENT ON COLUMN @extschema@.refresh_log.is_replay IS 'True when the run was a replay: its reference time (icu_predict.reference_time, which only the extension owner may set for a refresh) was not the time of the run.';
COMMENT ON COLUMN @extschema@.refresh_log.quarantined_admissions IS 'Open admissions the run skipped because their admission time is not usable (view admission_quarantine); 0 when none.';
COMMENT ON COLUMN @extschema@.refresh_log.quarantine IS 'The skipped admissions by reason (''reason: count'', separated by ''; ''); NULL when none.';

CREATE OR REPLACE PROCEDURE @extschema@.refresh()
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_started   timestamptz := pg_catalog.clock_timestamp();
    v_ref       timestamptz;
    v_mode      text := 'concurrently';
    v_view      text;
    v_ps_rows   bigint;
    v_cf_rows   bigint;
    v_models    text;
    v_state     text;
    v_msg       text;
    -- the caller: the session user (SET ROLE cannot change it)
    v_by        text := SESSION_USER::text;
    v_quarantined integer;
    v_quarantine  text;
    -- the run's number, taken first so that forecast_log rows can carry it
    v_run       bigint := pg_catalog.nextval('@extschema@.refresh_log_run_id_seq'::regclass);
    v_pol       @extschema@.capacity_policy;
    v_replay    boolean;
    v_risk_models text;
    v_stay_models text;
BEGIN
    -- a reference time other than the wall clock (a replay) is the owner's
    -- decision only
    IF coalesce(pg_catalog.current_setting('icu_predict.reference_time', true), '') <> ''
       AND NOT pg_catalog.pg_has_role(SESSION_USER,
            (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'icu_predict'),
            'MEMBER') THEN
        RAISE EXCEPTION 'only the owner of icu_predict may refresh as of another time (icu_predict.reference_time = %)',
                pg_catalog.current_setting('icu_predict.reference_time', true)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'RESET icu_predict.reference_time to refresh as of now; a replay is run by the extension owner and logged with is_replay = true.';
    END IF;
    BEGIN
        v_ref := @extschema@.reference_time();
        v_replay := v_ref IS DISTINCT FROM pg_catalog.now();
        FOREACH v_view IN ARRAY ARRAY['patient_status', 'capacity_forecast'] LOOP
            IF (SELECT c.relispopulated FROM pg_catalog.pg_class c
                 WHERE c.oid = pg_catalog.format('%I.%I', '@extschema@', v_view)::regclass) THEN
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I.%I',
                                          '@extschema@', v_view);
            ELSE
                v_mode := 'plain';
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %I.%I', '@extschema@', v_view);
            END IF;
        END LOOP;
        SELECT pg_catalog.count(*) INTO v_ps_rows FROM @extschema@.patient_status;
        SELECT pg_catalog.count(*) INTO v_cf_rows FROM @extschema@.capacity_forecast;
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version),
                               (ps.stay_model_version)) AS x(v)
         WHERE v IS NOT NULL;

        -- the forecast log: what this run forecast, per unit and horizon day
        v_pol := @extschema@.capacity_settings();
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_risk_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version)) AS x(v)
         WHERE ps.is_today AND v IS NOT NULL;
        SELECT pg_catalog.string_agg(DISTINCT ps.stay_model_version, '; ' ORDER BY ps.stay_model_version)
          INTO v_stay_models
          FROM @extschema@.patient_status ps
         WHERE ps.is_today AND ps.stay_model_version IS NOT NULL;
        INSERT INTO @extschema@.forecast_log
               (run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
                horizon_day, demand, expected_beds, variance_beds,
                p05_beds, p10_beds, p50_beds, p90_beds, p95_beds,
                occupied_now, census_now, census_mean_7d,
                staffed_beds, surge_beds, prob_over_staffed, prob_over_surge, recommended_action,
                arrivals_per_day, icu_mean, icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var,
                policy, risk_model_version, stay_model_version,
                is_replay, of_record, logged_at)
        WITH census AS (
            -- the census at the reference time and at 1..7 days before it
            SELECT c.at, c.unit, c.patients
              FROM @extschema@.icu_census(ARRAY(
                       SELECT v_ref - pg_catalog.make_interval(days => j)
                         FROM pg_catalog.generate_series(0, 7) AS j)) c
        ), per_unit AS (
            SELECT c.unit,
                   pg_catalog.sum(c.patients) FILTER (WHERE c.at = v_ref)::integer AS now,
                   pg_catalog.avg(c.patients) FILTER (WHERE c.at < v_ref)::float8 AS mean_7d
              FROM census c GROUP BY c.unit
        ), total AS (
            SELECT pg_catalog.sum(c.patients) FILTER (WHERE c.at = v_ref)::integer AS now,
                   (pg_catalog.sum(c.patients) FILTER (WHERE c.at < v_ref) / 7.0)::float8 AS mean_7d
              FROM census c
        ), fc AS (
            SELECT cf.*, cf.forecast_date - cf.horizon_day AS reference_date,
                   CASE WHEN cf.is_total THEN t.now ELSE coalesce(pu.now, 0) END AS census_now,
                   CASE WHEN cf.is_total THEN t.mean_7d ELSE coalesce(pu.mean_7d, 0) END AS census_mean_7d
              FROM @extschema@.capacity_forecast cf
              CROSS JOIN total t
              LEFT JOIN per_unit pu ON pu.unit = cf.unit AND NOT cf.is_total
        )
        SELECT v_run, r.reference_time, r.reference_date, r.forecast_at, r.forecast_date, r.unit,
               r.is_total, r.horizon_day, r.demand, r.expected_beds,
               @extschema@.bed_demand_variance(r.demand),
               @extschema@.bed_demand_quantile(r.demand, 0.05),
               r.p10_beds, r.p50_beds, r.p90_beds, r.p95_beds,
               r.occupied_now, r.census_now, r.census_mean_7d,
               r.staffed_beds, r.surge_beds, r.prob_over_staffed, r.prob_over_surge,
               r.recommended_action, r.arrivals_per_day,
               r.icu_mean, r.icu_var, r.ward_mean, r.ward_var, r.arrivals_mean, r.arrivals_var,
               pg_catalog.to_jsonb(v_pol), v_risk_models, v_stay_models, v_replay,
               -- of record: the first run of the reference day at or after
               -- the policy's time of day, per unit and horizon (live and
               -- replay apart)
               pg_catalog.timezone(@extschema@.day_zone(), v_ref)::time >= (v_pol).forecast_of_record_after
               AND NOT EXISTS (
                    SELECT 1 FROM @extschema@.forecast_log f
                     WHERE f.of_record
                       AND f.unit = r.unit
                       AND f.reference_date = r.reference_date
                       AND f.horizon_day = r.horizon_day
                       AND f.is_replay = v_replay),
               pg_catalog.clock_timestamp()
          FROM fc r;

        -- retention of live rows (replay rows are kept)
        IF (v_pol).forecast_log_retention_days > 0 THEN
            DELETE FROM @extschema@.forecast_log f
             WHERE NOT f.is_replay
               AND f.reference_time < pg_catalog.now()
                                      - pg_catalog.make_interval(days => (v_pol).forecast_log_retention_days);
        END IF;

        -- the open admissions patient_status skipped, by reason
        SELECT pg_catalog.sum(q.n)::integer,
               pg_catalog.string_agg(q.reason || ': ' || q.n, '; ' ORDER BY q.reason)
          INTO v_quarantined, v_quarantine
          FROM (SELECT aq.reason, pg_catalog.count(*) AS n
                  FROM @extschema@.admission_quarantine aq GROUP BY aq.reason) q;
        v_quarantined := coalesce(v_quarantined, 0);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
        INSERT INTO @extschema@.refresh_log
               (run_id, started_at, finished_at, succeeded, reference_time, mode, error, run_by,
                is_replay)
        VALUES (v_run, v_started, pg_catalog.clock_timestamp(), false, v_ref, v_mode,
                v_state || ': ' || v_msg, v_by, coalesce(v_replay, true));
        RAISE WARNING 'icu_predict.refresh() failed, the views keep their previous contents: %', v_msg
            USING ERRCODE = v_state,
                  HINT = 'The failure is logged in icu_predict.refresh_log.';
        RETURN;
    END;
    INSERT INTO @extschema@.refresh_log
           (run_id, started_at, finished_at, succeeded, reference_time, mode,
            patient_status_rows, capacity_forecast_rows, model_versions, run_by,
            is_replay, quarantined_admissions, quarantine)
    VALUES (v_run, v_started, pg_catalog.clock_timestamp(), true, v_ref, v_mode,
            v_ps_rows, v_cf_rows, v_models, v_by, v_replay, v_quarantined, v_quarantine);
    IF v_quarantined > 0 THEN
        RAISE WARNING 'icu_predict.refresh() skipped % open admissions whose admission time is not usable (%)',
                v_quarantined, v_quarantine
            USING HINT = 'SELECT * FROM icu_predict.admission_quarantine lists them; correct admitted_at.';
    END IF;
END
$$;
COMMENT ON PROCEDURE @extschema@.refresh() IS
    'Refreshes patient_status then capacity_forecast as of icu_predict.reference_time() (default now; another time only for the extension owner, logged as a replay), skipping the open admissions of admission_quarantine (counted in refresh_log): plainly when a view is empty (first run, after pg_restore), CONCURRENTLY otherwise. Logs every run to refresh_log and its forecast to forecast_log (deleting live rows past capacity_policy.forecast_log_retention_days); on failure the views and forecast_log keep their contents and a WARNING is raised. Runs as the extension owner; EXECUTE is granted to icu_refresher.';


CREATE OR REPLACE VIEW icu_bi.refresh_status AS
    SELECT (SELECT pg_catalog.max(l.finished_at) FROM @extschema@.refresh_log l
             WHERE l.succeeded)::timestamptz AS last_success_at,
           (SELECT l.reference_time FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::timestamptz AS data_as_of,
           (SELECT pg_catalog.max(l.finished_at) FROM @extschema@.refresh_log l
             WHERE NOT l.succeeded)::timestamptz AS last_failure_at,
           (SELECT NOT l.succeeded FROM @extschema@.refresh_log l
             ORDER BY l.run_id DESC LIMIT 1)::boolean AS last_run_failed,
           (SELECT l.model_versions FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::text AS model_versions,
           (pg_catalog.date_part('epoch', pg_catalog.now()
               - (SELECT pg_catalog.max(l.finished_at) FROM @extschema@.refresh_log l
                   WHERE l.succeeded)) / 3600.0)::float8 AS hours_since_success,
           (SELECT l.is_replay FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::boolean AS data_is_replay,
           (SELECT l.quarantined_admissions FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::integer AS quarantined_admissions;

COMMENT ON COLUMN icu_bi.refresh_status.data_is_replay IS 'True when the data in the views comes from a replay (a refresh as of another time than its run), not from a live refresh.';
COMMENT ON COLUMN icu_bi.refresh_status.quarantined_admissions IS 'Open admissions the last successful refresh skipped because their admission time is not usable (icu_predict.admission_quarantine).';

-- the drop guard (49_guard.sql)
CREATE FUNCTION @extschema@.drop_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'icu_drop_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.drop_guard() IS
    'Event trigger function: refuses DROP EXTENSION icu_predict (and DROP SCHEMA of its schema CASCADE, DROP OWNED BY its owner, DROP EXTENSION ... CASCADE of an extension it requires) while its dumped tables hold rows, unless icu_predict.allow_drop_data is on (SQLSTATE 55000).';

CREATE EVENT TRIGGER icu_predict_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@.drop_guard();
COMMENT ON EVENT TRIGGER icu_predict_drop_guard IS
    'Keeps DROP EXTENSION icu_predict (and the other commands that would drop it) from dropping tables that hold clinical data, unless icu_predict.allow_drop_data = on; see @extschema@.drop_guard().';
