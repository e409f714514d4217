-- Policy: the thresholds of the daily views (patient_status,
-- capacity_forecast) and of predict().
--
--   capacity_policy        one optional row of thresholds (risk bands, risk
--                          horizons, scale up / down, inflow window and trend).
--   capacity_settings()    the row in force, or the defaults when the table is
--                          empty.

-- ---------------------------------------------------------------------------
-- capacity_policy: the configurable thresholds of the forecast
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.capacity_policy (
    id                      boolean NOT NULL DEFAULT true,
    scale_up_probability    float8  NOT NULL DEFAULT 0.10,
    scale_down_spare_beds   integer NOT NULL DEFAULT 2,
    status_risk_horizon_hours   integer NOT NULL DEFAULT 48,
    forecast_risk_horizon_hours integer NOT NULL DEFAULT 168,
    arrival_window_days     integer NOT NULL DEFAULT 7,
    course_stable_band      float8  NOT NULL DEFAULT 0.05,
    risk_band_medium        float8  NOT NULL DEFAULT 0.10,
    risk_band_high          float8  NOT NULL DEFAULT 0.30,
    arrival_trend_days      integer NOT NULL DEFAULT 0,
    arrival_trend_cap       float8  NOT NULL DEFAULT 2,
    inflow_trend            boolean NOT NULL DEFAULT false,
    inflow_trend_damping_days float8 NOT NULL DEFAULT 7,
    inflow_overdispersion   boolean NOT NULL DEFAULT true,
    routing_window_days     integer NOT NULL DEFAULT 0,
    forecast_log_retention_days integer NOT NULL DEFAULT 730,
    forecast_of_record_after    time    NOT NULL DEFAULT '00:00',
    action_lookahead_days   integer NOT NULL DEFAULT 3,
    action_hysteresis       boolean NOT NULL DEFAULT true,
    calibration             boolean NOT NULL DEFAULT false,
    calibration_window_days integer NOT NULL DEFAULT 112,
    calibration_min_forecasts integer NOT NULL DEFAULT 14,
    stay_at_episode_start   boolean NOT NULL DEFAULT false,
    calibration_min_factor  float8  NOT NULL DEFAULT 0.5,
    calibration_max_factor_long float8 NOT NULL DEFAULT 5,
    common_shift            boolean NOT NULL DEFAULT false,
    common_shift_nodes      integer NOT NULL DEFAULT 9,
    CONSTRAINT capacity_policy_pkey PRIMARY KEY (id),
    CONSTRAINT capacity_policy_one_row CHECK (id),
    CONSTRAINT capacity_policy_scale_up_probability_range
        CHECK (scale_up_probability > 0 AND scale_up_probability <= 1),
    CONSTRAINT capacity_policy_scale_down_spare_beds_nonnegative
        CHECK (scale_down_spare_beds >= 0),
    CONSTRAINT capacity_policy_status_risk_horizon_hours_range
        CHECK (status_risk_horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT capacity_policy_forecast_risk_horizon_hours_range
        CHECK (forecast_risk_horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT capacity_policy_arrival_window_days_range
        CHECK (arrival_window_days BETWEEN 1 AND 365),
    CONSTRAINT capacity_policy_course_stable_band_range
        CHECK (course_stable_band >= 0 AND course_stable_band < 1),
    CONSTRAINT capacity_policy_risk_bands_ordered
        CHECK (0 < risk_band_medium AND risk_band_medium <= risk_band_high AND risk_band_high <= 1),
    CONSTRAINT capacity_policy_arrival_trend_days_range
        CHECK (arrival_trend_days >= 0 AND arrival_trend_days <= arrival_window_days),
    CONSTRAINT capacity_policy_arrival_trend_cap_range
        CHECK (arrival_trend_cap >= 1 AND arrival_trend_cap <= 100),
    CONSTRAINT capacity_policy_inflow_trend_damping_days_range
        CHECK (inflow_trend_damping_days >= 0.5 AND inflow_trend_damping_days <= 60),
    CONSTRAINT capacity_policy_routing_window_days_range
        CHECK (routing_window_days BETWEEN 0 AND 365),
    CONSTRAINT capacity_policy_forecast_log_retention_days_range
        CHECK (forecast_log_retention_days BETWEEN 0 AND 36500),
    CONSTRAINT capacity_policy_action_lookahead_days_range
        CHECK (action_lookahead_days BETWEEN 1 AND 14),
    CONSTRAINT capacity_policy_calibration_window_days_range
        CHECK (calibration_window_days BETWEEN 7 AND 3650),
    CONSTRAINT capacity_policy_calibration_min_forecasts_range
        CHECK (calibration_min_forecasts BETWEEN 1 AND 1000),
    CONSTRAINT capacity_policy_calibration_min_factor_range
        CHECK (calibration_min_factor >= 0.5 AND calibration_min_factor <= 1),
    CONSTRAINT capacity_policy_calibration_max_factor_long_range
        CHECK (calibration_max_factor_long >= 1 AND calibration_max_factor_long <= 5),
    CONSTRAINT capacity_policy_common_shift_nodes_range
        CHECK (common_shift_nodes BETWEEN 3 AND 32)
);
COMMENT ON TABLE @extschema@.capacity_policy IS
    'Optional single row of thresholds for patient_status and capacity_forecast. Without a row the defaults hold (see capacity_settings()). Change with INSERT ... ON CONFLICT (id) DO UPDATE; takes effect at the next refresh.';
COMMENT ON COLUMN @extschema@.capacity_policy.id IS 'Always true: the table holds at most one row.';
COMMENT ON COLUMN @extschema@.capacity_policy.scale_up_probability IS 'Recommend "scale up" when P(demand > staffed beds) is at least this (default 0.10).';
COMMENT ON COLUMN @extschema@.capacity_policy.scale_down_spare_beds IS 'Recommend "scale down" when the P95 of demand leaves at least this many staffed beds free (default 2), and "scale up" does not apply.';
COMMENT ON COLUMN @extschema@.capacity_policy.status_risk_horizon_hours IS 'Horizon of the risk shown in patient_status.risk (bands, course, reasons): the active icu_admission model of this horizon, else the one nearest to it (default 48). When its horizon differs from the forecast risk''s, the capacity forecast uses it as a second point of the ward patients'' ICU-admission curve.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_risk_horizon_hours IS 'Horizon of the risk the capacity forecast uses (patient_status.forecast_risk): the active icu_admission model of this horizon, else the one nearest to it (default 168 = 7 days). The forecast reads that model''s probability over the model''s own horizon_hours.';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_window_days IS 'Days back over which the ICU inflow of patients not yet in hospital is estimated: ICU episodes begun in this window, by their time since hospital admission (default 7).';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_days IS 'Trend of the inflow of patients not yet in hospital: hospital admissions per day in the last this many days divided by those in the whole arrival window scale the inflow (capped by arrival_trend_cap); 0 = no trend (default 0).';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_cap IS 'The trend factor (arrival_trend_days), and the growth multiplier of inflow_trend, are each kept between 1 / this and this (default 2).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_trend IS 'Grow the inflow of patients not yet in hospital with the growth rate of ICU-episode starts over the last 14 days (Poisson log-linear fit, shrunk toward no growth by its standard error, damped by inflow_trend_damping_days, capped by arrival_trend_cap); false = the arrival window''s mean rate (default false).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_trend_damping_days IS 'Time constant of the fading of the inflow growth, in days: the log multiplier at u days ahead is r (W/2 + tau (1 - exp(-u/tau))) (default 7).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_overdispersion IS 'Negative-binomial inflow: the inflow rate''s own uncertainty (from the arrival window''s count and the growth estimate) as one gamma multiplier shared by every day of the horizon; false = Poisson inflow (default true: on the four scenario presets of docs/backtest.md it lowered CRPS at every horizon and changed no mean).';
COMMENT ON COLUMN @extschema@.capacity_policy.routing_window_days IS 'Route ward patients and new arrivals to ICU units by the first ICU units of the episodes begun in this many days (per source unit, smoothed toward the hospital-wide routing, which is smoothed toward staffed-bed shares, each with the weight of 5 episodes); 0 = staffed-bed shares (default 0).';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_log_retention_days IS 'Live rows of forecast_log whose reference time is more than this many days before now are deleted by refresh() (default 730); 0 keeps them forever. Replay rows are never deleted by this rule.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_of_record_after IS 'Time of day (in icu_predict.day_timezone) from which a refresh can give the forecast of record of its reference day: the first successful run at or after it, per unit and horizon, is of record (default 00:00 = the day''s first run). A day with runs only before it has no forecast of record.';
COMMENT ON COLUMN @extschema@.capacity_policy.action_lookahead_days IS 'Days ahead the recommended action looks at: scale up when P(demand > staffed beds) reaches scale_up_probability on any of days 1 to this, scale down when scale_down_spare_beds beds are spare at the P95 on each of days 0 to this (default 3).';
COMMENT ON COLUMN @extschema@.capacity_policy.action_hysteresis IS 'Keep an action until its condition clearly ends: scale up until P(demand > staffed beds) falls below half of scale_up_probability, scale down while one bed fewer than scale_down_spare_beds is spare; the previous action is the unit''s latest earlier forecast in forecast_log within two days (default true).';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration IS 'Recalibrate each forecast distribution per unit and horizon from the graded forecasts of record in forecast_log (live rows for a live refresh, replay rows for a replay): widened or narrowed around its mean by bed_demand_calibration_factor() before quantiles, P(demand > staffed beds) and the recommended action are read (default false; docs/views.md, "Calibration from the log").';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_window_days IS 'Past forecasts whose moment lies in this many days before the reference time are graded for the calibration (default 112: a 28-day window holds only about four independent 7-day errors and follows the last regime; docs/backtest.md).';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_min_forecasts IS 'Cold start: a unit and horizon with fewer graded forecasts of record than this in the window is not calibrated (factor 1, calibration_status ''cold start'') (default 14).';
COMMENT ON COLUMN @extschema@.capacity_policy.stay_at_episode_start IS 'Read the remaining ICU stay of a patient in an ICU from the stay model''s estimate as of the start of the current ICU episode (the labs resulted by then and the hours since hospital admission then: the inputs the model is trained on), conditioned on the days spent; false = from today''s estimate, whose inputs include the labs and the hours of the ICU stay itself (default false: on the scenario presets of docs/backtest.md it matches the observed departures and lowers CRPS by up to a third on the small hospitals, but worsens it beyond noise on the large wave at 2 and 7 to 14 days).';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_min_factor IS 'The calibration factor is never below this (0.5 to 1; default 0.5 = the bound of bed_demand_calibration_factor()); 1 = a widening that never narrows.';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_max_factor_long IS 'Cap of the calibration factor at horizons of 7 days and more (1 to 5; default 5 = the bound of bed_demand_calibration_factor()), where the errors are the mean''s more than the spread''s.';
COMMENT ON COLUMN @extschema@.capacity_policy.common_shift IS 'Mix the forecast over a common shift of every ward patient''s probability of being in an ICU at the forecast moment and of every ICU patient''s probability of still being there, each on the logit scale and normal with the standard deviation estimated from the graded forecasts of record in calibration_window_days (cold start below calibration_min_forecasts graded reference days: no shift); applied before the calibration, the quantiles, P(demand > staffed beds) and the recommended action (default false; docs/views.md, "Common shift").';
COMMENT ON COLUMN @extschema@.capacity_policy.common_shift_nodes IS 'Gauss-Hermite nodes of the common shift''s mixture (bed_demand_normal_nodes); the forecast''s Poisson-binomials are built once per node (3 to 32; default 9).';
COMMENT ON COLUMN @extschema@.capacity_policy.course_stable_band IS 'Risk change against the day before within +/- this is "stable"; above is "worsening", below "improving" (default 0.05).';
COMMENT ON COLUMN @extschema@.capacity_policy.risk_band_medium IS 'Risk from this value on is band "medium" (default 0.10).';
COMMENT ON COLUMN @extschema@.capacity_policy.risk_band_high IS 'Risk from this value on is band "high" (default 0.30).';

CREATE FUNCTION @extschema@.capacity_settings()
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
COMMENT ON FUNCTION @extschema@.capacity_settings() IS
    'The thresholds in force: the row of capacity_policy, or the defaults when the table is empty.';


SELECT pg_catalog.pg_extension_config_dump('@extschema@.capacity_policy', '');
