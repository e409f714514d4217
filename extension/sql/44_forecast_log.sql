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
    calibration_factor  float8,
    calibration_forecasts integer,
    calibration_effective_forecasts float8,
    calibration_status  text,
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
COMMENT ON COLUMN @extschema@.forecast_log.variance_beds IS 'Variance of the occupied beds (of demand, after calibration; the components'' variances add up to the variance before it).';
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
COMMENT ON COLUMN @extschema@.forecast_log.calibration_factor IS 'The calibration factor the forecast was widened by (capacity_forecast.calibration_factor); NULL when calibration was off or for rows logged before it existed.';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_forecasts IS 'Graded past forecasts the factor rested on (capacity_forecast.calibration_forecasts).';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_effective_forecasts IS 'Independent errors among them (capacity_forecast.calibration_effective_forecasts).';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_status IS 'calibrated, cold start, census now or off (capacity_forecast.calibration_status).';

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

-- EXECUTE is granted in 50_bi.sql, after the roles exist (46_access.sql).
