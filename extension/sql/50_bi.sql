-- icu_bi: the Power BI schema.
--
-- Power BI's PostgreSQL connector (Npgsql) does not list materialized views,
-- and materialized views have no row-level security, so the BI tools read
-- plain views here over the materialized views in icu_predict:
--   * column types Power BI reads without surprises only (float8, integer,
--     bigint, text, boolean, date, timestamptz);
--   * patient rows filtered by ward through icu_predict.ward_access
--     (security_barrier, so a user's own functions cannot see filtered rows);
--   * role icu_bi_reader gets USAGE on icu_bi and SELECT on these views, and
--     nothing in icu_predict: raw tables stay out of reach (SQLSTATE 42501).
-- The views are owned by the extension owner and read the materialized
-- views with its rights; the functions they call are executable by PUBLIC.

CREATE SCHEMA icu_bi;
COMMENT ON SCHEMA icu_bi IS
    'icu_predict for Power BI and other BI tools: plain views with BI-friendly types over the materialized views; patient rows filtered by icu_predict.ward_access. Grant role icu_bi_reader to BI logins.';

CREATE VIEW icu_bi.patient_status WITH (security_barrier) AS
    SELECT ps.admission_id::bigint        AS admission_id,
           ps.patient_id::text            AS patient_id,
           ps.day_date::date              AS day_date,
           ps.day_of_stay::integer        AS day_of_stay,
           ps.is_today::boolean           AS is_today,
           ps.as_of::timestamptz          AS as_of,
           ps.ward::text                  AS ward,
           ps.unit_kind::text             AS unit_kind,
           ps.isolation::text             AS isolation,
           ps.days_in_hospital::float8    AS days_in_hospital,
           ps.crp_last::float8            AS crp_last,
           ps.crp_trend::float8           AS crp_trend_per_day,
           ps.ldh_last::float8            AS ldh_last,
           ps.ldh_trend::float8           AS ldh_trend_per_day,
           ps.d_dimer_last::float8        AS d_dimer_last,
           ps.d_dimer_trend::float8       AS d_dimer_trend_per_day,
           ps.ferritin_last::float8       AS ferritin_last,
           ps.lymphocytes_last::float8    AS lymphocytes_last,
           ps.lymphocytes_trend::float8   AS lymphocytes_trend_per_day,
           ps.risk::float8                AS icu_risk,
           ps.risk_horizon_hours::integer AS icu_risk_horizon_hours,
           ps.risk_band::text             AS risk_band,
           ps.risk_change::float8         AS risk_change,
           ps.course::text                AS course,
           ps.stay_expected_days::float8  AS icu_stay_expected_days,
           ps.stay_median_days::float8    AS icu_stay_median_days,
           ps.stay_p10_days::float8       AS icu_stay_p10_days,
           ps.stay_p90_days::float8       AS icu_stay_p90_days,
           ps.top_reasons::text           AS top_reasons,
           ps.risk_model_version::text    AS risk_model_version,
           ps.forecast_risk::float8       AS icu_risk_forecast,
           ps.forecast_risk_horizon_hours::integer AS icu_risk_forecast_horizon_hours,
           ps.forecast_risk_model_version::text AS forecast_risk_model_version,
           ps.stay_model_version::text    AS stay_model_version,
           ps.data_time::timestamptz      AS data_time,
           ps.refreshed_at::timestamptz   AS refreshed_at
      FROM @extschema@.patient_status ps
     WHERE EXISTS (
            SELECT 1
              FROM @extschema@.ward_access a
              JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name
             WHERE (a.ward = ps.ward OR a.ward = '*')
               AND pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'MEMBER'));

COMMENT ON VIEW icu_bi.patient_status IS
    'Daily patient status for Power BI: one row per current admission per day of stay (is_today marks today''s row), only on the wards the user is mapped to in icu_predict.ward_access.';
COMMENT ON COLUMN icu_bi.patient_status.admission_id IS 'Admission (encounter) identifier.';
COMMENT ON COLUMN icu_bi.patient_status.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN icu_bi.patient_status.day_date IS 'Calendar day of the stay.';
COMMENT ON COLUMN icu_bi.patient_status.day_of_stay IS 'Day number of the stay (1 = day of admission).';
COMMENT ON COLUMN icu_bi.patient_status.is_today IS 'True for the row of the reference day (today).';
COMMENT ON COLUMN icu_bi.patient_status.as_of IS 'Moment the row describes: end of the day, or the reference time for today.';
COMMENT ON COLUMN icu_bi.patient_status.ward IS 'Ward or unit where the patient lay.';
COMMENT ON COLUMN icu_bi.patient_status.unit_kind IS 'ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN icu_bi.patient_status.isolation IS 'Isolation label: none, droplet, contact, airborne, strict, unknown.';
COMMENT ON COLUMN icu_bi.patient_status.days_in_hospital IS 'Days since hospital admission.';
COMMENT ON COLUMN icu_bi.patient_status.crp_last IS 'Last CRP, mg/L.';
COMMENT ON COLUMN icu_bi.patient_status.crp_trend_per_day IS 'CRP change per day (recent trend).';
COMMENT ON COLUMN icu_bi.patient_status.ldh_last IS 'Last LDH, U/L.';
COMMENT ON COLUMN icu_bi.patient_status.ldh_trend_per_day IS 'LDH change per day.';
COMMENT ON COLUMN icu_bi.patient_status.d_dimer_last IS 'Last D-dimer, mg/L FEU.';
COMMENT ON COLUMN icu_bi.patient_status.d_dimer_trend_per_day IS 'D-dimer change per day.';
COMMENT ON COLUMN icu_bi.patient_status.ferritin_last IS 'Last ferritin, ug/L.';
COMMENT ON COLUMN icu_bi.patient_status.lymphocytes_last IS 'Last lymphocyte count, 10^9/L.';
COMMENT ON COLUMN icu_bi.patient_status.lymphocytes_trend_per_day IS 'Lymphocyte change per day.';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk IS 'Probability of ICU admission within icu_risk_horizon_hours (0 to 1; 48 hours by default).';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk_horizon_hours IS 'Horizon of icu_risk in hours.';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk_forecast IS 'Probability of ICU admission within icu_risk_forecast_horizon_hours (0 to 1; 7 days by default); the capacity forecast uses it.';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk_forecast_horizon_hours IS 'Horizon of icu_risk_forecast in hours.';
COMMENT ON COLUMN icu_bi.patient_status.forecast_risk_model_version IS 'Name and version of the model behind icu_risk_forecast.';
COMMENT ON COLUMN icu_bi.patient_status.risk_band IS 'low, medium or high.';
COMMENT ON COLUMN icu_bi.patient_status.risk_change IS 'Change of the risk since the day before.';
COMMENT ON COLUMN icu_bi.patient_status.course IS 'improving, stable or worsening (risk against the day before).';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_expected_days IS 'Expected ICU length of stay, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_median_days IS 'Median ICU length of stay, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_p10_days IS 'ICU length of stay, 10th percentile, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_p90_days IS 'ICU length of stay, 90th percentile, days.';
COMMENT ON COLUMN icu_bi.patient_status.top_reasons IS 'The inputs that move the risk most, in words, with their signed contribution.';
COMMENT ON COLUMN icu_bi.patient_status.risk_model_version IS 'Risk model name and version.';
COMMENT ON COLUMN icu_bi.patient_status.stay_model_version IS 'Length-of-stay model name and version.';
COMMENT ON COLUMN icu_bi.patient_status.data_time IS 'Time of the latest lab result used.';
COMMENT ON COLUMN icu_bi.patient_status.refreshed_at IS 'When the data was last refreshed.';

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

CREATE VIEW icu_bi.refresh_status AS
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

COMMENT ON VIEW icu_bi.refresh_status IS
    'One row: how fresh the data is (last successful refresh, its reference time, the last failure). Show it on every report page so nothing looks current when it is not.';
COMMENT ON COLUMN icu_bi.refresh_status.last_success_at IS 'End of the last successful refresh; NULL if never.';
COMMENT ON COLUMN icu_bi.refresh_status.data_as_of IS 'Reference time of the data now in the views.';
COMMENT ON COLUMN icu_bi.refresh_status.last_failure_at IS 'End of the last failed refresh; NULL if none.';
COMMENT ON COLUMN icu_bi.refresh_status.last_run_failed IS 'True when the most recent refresh failed (the views show older data).';
COMMENT ON COLUMN icu_bi.refresh_status.model_versions IS 'Model versions behind the data.';
COMMENT ON COLUMN icu_bi.refresh_status.hours_since_success IS 'Hours since the last successful refresh.';
COMMENT ON COLUMN icu_bi.refresh_status.data_is_replay IS 'True when the data in the views comes from a replay (a refresh as of another time than its run), not from a live refresh.';
COMMENT ON COLUMN icu_bi.refresh_status.quarantined_admissions IS 'Open admissions the last successful refresh skipped because their admission time is not usable (icu_predict.admission_quarantine).';

-- forecast_skill() (44_forecast_log.sql) is SECURITY DEFINER and returns aggregates only:
-- the BI role may call it for the view below, nobody else.
REVOKE ALL ON FUNCTION @extschema@.forecast_skill(integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.forecast_skill(integer, boolean) TO icu_bi_reader;

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

REVOKE ALL ON SCHEMA icu_bi FROM PUBLIC;
GRANT USAGE ON SCHEMA icu_bi TO icu_bi_reader;
GRANT SELECT ON icu_bi.patient_status, icu_bi.capacity_forecast, icu_bi.refresh_status,
                icu_bi.forecast_quality
    TO icu_bi_reader;
