-- icu_bi: the Power BI schema.
--
-- Power BI's PostgreSQL connector (Npgsql) does not list materialized views,
-- and materialized views have no row-level security, so the BI tools read
-- plain views here over the materialized views in icu_predict:
--   * column types Power BI reads without surprises only (float8, integer,
--     bigint, text, boolean, date, timestamptz);
--   * patient rows filtered by ward through icu_predict.ward_access, inside
--     the SECURITY DEFINER functions of 46_access.sql (ward_patient_rows()
--     and the functions over it), so no qual, EXPLAIN count or estimate of
--     the caller reaches another ward's rows;
--   * role icu_bi_reader gets USAGE on icu_bi and SELECT on these views, and
--     nothing in icu_predict: raw tables stay out of reach (SQLSTATE 42501).
-- The views are owned by the extension owner and read the materialized
-- views with its rights; the ward filter functions are executable by
-- icu_bi_reader only, the other functions they call by PUBLIC.

CREATE SCHEMA icu_bi;
COMMENT ON SCHEMA icu_bi IS
    'icu_predict for Power BI and other BI tools: plain views with BI-friendly types over the materialized views; patient rows filtered by icu_predict.ward_access. Grant role icu_bi_reader to BI logins.';

-- The patient views read through the ward filter functions of
-- 46_access.sql (SECURITY DEFINER, filter on the session's login inside):
-- the planner cannot push a caller's qual below the filter, so neither
-- EXPLAIN ANALYZE row counts, nor estimates, nor leakproof operators reveal
-- anything of other wards.  The ICU-admission risk and what derives from it
-- are shown only where they apply (patient_state pre_icu or ed).
CREATE VIEW icu_bi.patient_status AS
    SELECT ps.admission_id::bigint        AS admission_id,
           ps.patient_id::text            AS patient_id,
           ps.day_date::date              AS day_date,
           ps.day_of_stay::integer        AS day_of_stay,
           ps.is_today::boolean           AS is_today,
           ps.as_of::timestamptz          AS as_of,
           ps.ward::text                  AS ward,
           ps.unit_kind::text             AS unit_kind,
           ps.isolation::text             AS isolation,
           ps.patient_state::text         AS patient_state,
           ps.state_note::text            AS state_note,
           ps.days_in_hospital::float8    AS days_in_hospital,
           ps.key_lab_1_name::text        AS key_lab_1_name,
           ps.key_lab_1_unit::text        AS key_lab_1_unit,
           ps.key_lab_1_last::float8      AS key_lab_1_last,
           ps.key_lab_1_trend::float8     AS key_lab_1_trend_per_day,
           ps.key_lab_2_name::text        AS key_lab_2_name,
           ps.key_lab_2_unit::text        AS key_lab_2_unit,
           ps.key_lab_2_last::float8      AS key_lab_2_last,
           ps.key_lab_2_trend::float8     AS key_lab_2_trend_per_day,
           ps.key_lab_3_name::text        AS key_lab_3_name,
           ps.key_lab_3_unit::text        AS key_lab_3_unit,
           ps.key_lab_3_last::float8      AS key_lab_3_last,
           ps.key_lab_3_trend::float8     AS key_lab_3_trend_per_day,
           ps.key_lab_4_name::text        AS key_lab_4_name,
           ps.key_lab_4_unit::text        AS key_lab_4_unit,
           ps.key_lab_4_last::float8      AS key_lab_4_last,
           ps.key_lab_4_trend::float8     AS key_lab_4_trend_per_day,
           ps.key_lab_5_name::text        AS key_lab_5_name,
           ps.key_lab_5_unit::text        AS key_lab_5_unit,
           ps.key_lab_5_last::float8      AS key_lab_5_last,
           ps.key_lab_5_trend::float8     AS key_lab_5_trend_per_day,
           ps.key_lab_6_name::text        AS key_lab_6_name,
           ps.key_lab_6_unit::text        AS key_lab_6_unit,
           ps.key_lab_6_last::float8      AS key_lab_6_last,
           ps.key_lab_6_trend::float8     AS key_lab_6_trend_per_day,
           ps.data_time::timestamptz      AS last_lab_at,
           ps.hours_since_last_lab::float8 AS hours_since_last_lab,
           ps.labs_stale::boolean         AS labs_stale,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.risk END)::float8 AS icu_risk,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.risk_horizon_hours END)::integer
                                          AS icu_risk_horizon_hours,
           ps.risk_band::text             AS risk_band,
           ps.risk_change::float8         AS risk_change,
           ps.course::text                AS course,
           ps.top_reasons::text           AS top_reasons,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.risk_model_version END)::text
                                          AS risk_model_version,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.forecast_risk END)::float8
                                          AS icu_risk_forecast,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.forecast_risk_horizon_hours END)::integer
                                          AS icu_risk_forecast_horizon_hours,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.forecast_risk_model_version END)::text
                                          AS forecast_risk_model_version,
           ps.stay_expected_days::float8  AS icu_stay_expected_days,
           ps.stay_median_days::float8    AS icu_stay_median_days,
           ps.stay_p10_days::float8       AS icu_stay_p10_days,
           ps.stay_p90_days::float8       AS icu_stay_p90_days,
           ps.icu_days_so_far::float8     AS icu_days_so_far,
           ps.icu_remaining_expected_days::float8 AS icu_remaining_expected_days,
           ps.icu_remaining_median_days::float8   AS icu_remaining_median_days,
           ps.icu_remaining_p10_days::float8      AS icu_remaining_p10_days,
           ps.icu_remaining_p90_days::float8      AS icu_remaining_p90_days,
           ps.p_still_in_icu_1d::float8   AS p_still_in_icu_1d,
           ps.p_still_in_icu_3d::float8   AS p_still_in_icu_3d,
           ps.p_still_in_icu_7d::float8   AS p_still_in_icu_7d,
           ps.stay_model_version::text    AS stay_model_version,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.risk_model_id END)::bigint
                                          AS risk_model_id,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.risk_synthetic_default END)::boolean
                                          AS risk_synthetic_default,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.forecast_risk_model_id END)::bigint
                                          AS forecast_risk_model_id,
           (CASE WHEN ps.patient_state IN ('pre_icu', 'ed') THEN ps.forecast_risk_synthetic_default END)::boolean
                                          AS forecast_risk_synthetic_default,
           ps.death_risk::float8          AS death_risk,
           ps.death_risk_horizon_hours::integer AS death_risk_horizon_hours,
           ps.death_risk_model_version::text AS death_risk_model_version,
           ps.death_risk_model_id::bigint AS death_risk_model_id,
           ps.death_risk_synthetic_default::boolean AS death_risk_synthetic_default,
           ps.death_risk_note::text       AS death_risk_note,
           ps.stay_model_id::bigint       AS stay_model_id,
           ps.stay_synthetic_default::boolean AS stay_synthetic_default,
           ps.refreshed_at::timestamptz   AS refreshed_at
      FROM @extschema@.ward_patient_rows() ps;

COMMENT ON VIEW icu_bi.patient_status IS
    'Daily patient status for Power BI: one row per current admission per day of stay (is_today marks today''s row), only on the wards the login is mapped to in icu_predict.ward_access. patient_state says which numbers apply: the ICU-admission risk before the ICU (pre_icu, ed), the remaining ICU stay in the ICU (in_icu), neither after an ICU stay (post_icu).';
COMMENT ON COLUMN icu_bi.patient_status.admission_id IS 'Admission (encounter) identifier.';
COMMENT ON COLUMN icu_bi.patient_status.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN icu_bi.patient_status.day_date IS 'Calendar day of the stay.';
COMMENT ON COLUMN icu_bi.patient_status.day_of_stay IS 'Day number of the stay (1 = day of admission).';
COMMENT ON COLUMN icu_bi.patient_status.is_today IS 'True for the row of the reference day (today).';
COMMENT ON COLUMN icu_bi.patient_status.as_of IS 'Moment the row describes: end of the day, or the reference time for today.';
COMMENT ON COLUMN icu_bi.patient_status.ward IS 'Ward or unit where the patient lay.';
COMMENT ON COLUMN icu_bi.patient_status.unit_kind IS 'ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN icu_bi.patient_status.isolation IS 'Isolation label: none, droplet, contact, airborne, strict, unknown.';
COMMENT ON COLUMN icu_bi.patient_status.patient_state IS 'pre_icu (not yet in the ICU: ICU-admission risk shown), ed (emergency department, not yet in the ICU: risk shown), in_icu (remaining ICU stay shown, no admission risk), post_icu (on a ward after an ICU stay: not scored).';
COMMENT ON COLUMN icu_bi.patient_status.state_note IS 'What patient_state means for this row''s numbers, in words.';
COMMENT ON COLUMN icu_bi.patient_status.days_in_hospital IS 'Days since hospital admission.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_1_name IS 'Name of key lab 1 (the hospital''s list, icu_predict.ward_lab_display; NULL when slot 1 is empty).';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_1_unit IS 'Unit of key lab 1.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_1_last IS 'Last value of key lab 1, in key_lab_1_unit.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_1_trend_per_day IS 'Change of key lab 1 per day (recent trend), in key_lab_1_unit per day.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_2_name IS 'Name of key lab 2 (the hospital''s list, icu_predict.ward_lab_display; NULL when slot 2 is empty).';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_2_unit IS 'Unit of key lab 2.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_2_last IS 'Last value of key lab 2, in key_lab_2_unit.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_2_trend_per_day IS 'Change of key lab 2 per day (recent trend), in key_lab_2_unit per day.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_3_name IS 'Name of key lab 3 (the hospital''s list, icu_predict.ward_lab_display; NULL when slot 3 is empty).';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_3_unit IS 'Unit of key lab 3.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_3_last IS 'Last value of key lab 3, in key_lab_3_unit.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_3_trend_per_day IS 'Change of key lab 3 per day (recent trend), in key_lab_3_unit per day.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_4_name IS 'Name of key lab 4 (the hospital''s list, icu_predict.ward_lab_display; NULL when slot 4 is empty).';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_4_unit IS 'Unit of key lab 4.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_4_last IS 'Last value of key lab 4, in key_lab_4_unit.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_4_trend_per_day IS 'Change of key lab 4 per day (recent trend), in key_lab_4_unit per day.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_5_name IS 'Name of key lab 5 (the hospital''s list, icu_predict.ward_lab_display; NULL when slot 5 is empty).';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_5_unit IS 'Unit of key lab 5.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_5_last IS 'Last value of key lab 5, in key_lab_5_unit.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_5_trend_per_day IS 'Change of key lab 5 per day (recent trend), in key_lab_5_unit per day.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_6_name IS 'Name of key lab 6 (the hospital''s list, icu_predict.ward_lab_display; NULL when slot 6 is empty).';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_6_unit IS 'Unit of key lab 6.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_6_last IS 'Last value of key lab 6, in key_lab_6_unit.';
COMMENT ON COLUMN icu_bi.patient_status.key_lab_6_trend_per_day IS 'Change of key lab 6 per day (recent trend), in key_lab_6_unit per day.';
COMMENT ON COLUMN icu_bi.patient_status.last_lab_at IS 'Result time of the newest lab used (NULL without labs).';
COMMENT ON COLUMN icu_bi.patient_status.hours_since_last_lab IS 'Hours from last_lab_at to as_of.';
COMMENT ON COLUMN icu_bi.patient_status.labs_stale IS 'True when the newest lab (or, without labs, the admission) is older than icu_predict.ward_policy.stale_lab_hours (48 by default) at as_of: the risk rests on old labs (course says ''stale'').';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk IS 'Probability of ICU admission within icu_risk_horizon_hours (0 to 1; 48 hours by default); only for patient_state pre_icu and ed.';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk_horizon_hours IS 'Horizon of icu_risk in hours.';
COMMENT ON COLUMN icu_bi.patient_status.risk_band IS 'low, medium or high (from icu_risk).';
COMMENT ON COLUMN icu_bi.patient_status.risk_change IS 'Change of icu_risk since the day before.';
COMMENT ON COLUMN icu_bi.patient_status.course IS 'stale (labs_stale), else improving, stable or worsening (icu_risk against the day before).';
COMMENT ON COLUMN icu_bi.patient_status.top_reasons IS 'Up to three inputs that move icu_risk most, in clinical words, e.g. ''C-reactive protein 182 mg/L (rising 40/day) raises risk''; icu_bi.patient_reasons has them structured.';
COMMENT ON COLUMN icu_bi.patient_status.risk_model_version IS 'Risk model name and version behind icu_risk.';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk_forecast IS 'Probability of ICU admission within icu_risk_forecast_horizon_hours (0 to 1; 7 days by default); the capacity forecast uses it; only for pre_icu and ed.';
COMMENT ON COLUMN icu_bi.patient_status.icu_risk_forecast_horizon_hours IS 'Horizon of icu_risk_forecast in hours.';
COMMENT ON COLUMN icu_bi.patient_status.forecast_risk_model_version IS 'Name and version of the model behind icu_risk_forecast.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_expected_days IS 'Expected ICU length of stay from ICU arrival, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_median_days IS 'Median ICU length of stay from ICU arrival, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_p10_days IS 'ICU length of stay, 10th percentile, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_stay_p90_days IS 'ICU length of stay, 90th percentile, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_days_so_far IS 'In the ICU: days since the current ICU episode began.';
COMMENT ON COLUMN icu_bi.patient_status.icu_remaining_expected_days IS 'In the ICU: expected remaining ICU stay, days (the stay model of the capacity forecast, given the days so far).';
COMMENT ON COLUMN icu_bi.patient_status.icu_remaining_median_days IS 'In the ICU: median remaining ICU stay, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_remaining_p10_days IS 'In the ICU: remaining ICU stay, 10th percentile, days.';
COMMENT ON COLUMN icu_bi.patient_status.icu_remaining_p90_days IS 'In the ICU: remaining ICU stay, 90th percentile, days (NULL beyond 90 days).';
COMMENT ON COLUMN icu_bi.patient_status.p_still_in_icu_1d IS 'In the ICU: probability of still being in the ICU 1 day later (0 to 1).';
COMMENT ON COLUMN icu_bi.patient_status.p_still_in_icu_3d IS 'In the ICU: probability of still being in the ICU 3 days later.';
COMMENT ON COLUMN icu_bi.patient_status.p_still_in_icu_7d IS 'In the ICU: probability of still being in the ICU 7 days later.';
COMMENT ON COLUMN icu_bi.patient_status.stay_model_version IS 'Length-of-stay model name and version.';
COMMENT ON COLUMN icu_bi.patient_status.risk_model_id IS 'Registry id of the model behind icu_risk (icu_predict.model.model_id).';
COMMENT ON COLUMN icu_bi.patient_status.risk_synthetic_default IS 'True when icu_risk comes from a shipped default model trained on synthetic data: not validated on this hospital''s patients.';
COMMENT ON COLUMN icu_bi.patient_status.forecast_risk_model_id IS 'Registry id of the model behind icu_risk_forecast.';
COMMENT ON COLUMN icu_bi.patient_status.forecast_risk_synthetic_default IS 'True when icu_risk_forecast comes from a shipped default model trained on synthetic data.';
COMMENT ON COLUMN icu_bi.patient_status.death_risk IS 'Probability of in-hospital death within death_risk_horizon_hours (0 to 1), by the active death model; every patient state; NULL when no death model is active (death_risk_note). icu_bi.patient_risk has every death horizon deployed.';
COMMENT ON COLUMN icu_bi.patient_status.death_risk_horizon_hours IS 'Horizon of death_risk in hours.';
COMMENT ON COLUMN icu_bi.patient_status.death_risk_model_version IS 'Name and version of the death model behind death_risk.';
COMMENT ON COLUMN icu_bi.patient_status.death_risk_model_id IS 'Registry id of the death model behind death_risk.';
COMMENT ON COLUMN icu_bi.patient_status.death_risk_synthetic_default IS 'True when death_risk comes from a shipped default model trained on synthetic data.';
COMMENT ON COLUMN icu_bi.patient_status.death_risk_note IS 'Why death_risk is empty (no active death model); NULL when it has a value.';
COMMENT ON COLUMN icu_bi.patient_status.stay_model_id IS 'Registry id of the length-of-stay model.';
COMMENT ON COLUMN icu_bi.patient_status.stay_synthetic_default IS 'True when the length-of-stay model is a shipped default trained on synthetic data.';
COMMENT ON COLUMN icu_bi.patient_status.refreshed_at IS 'When the data was last refreshed.';

CREATE VIEW icu_bi.patient_labs AS
    SELECT l.admission_id::bigint    AS admission_id,
           l.patient_id::text        AS patient_id,
           l.day_date::date          AS day_date,
           l.is_today::boolean       AS is_today,
           l.as_of::timestamptz      AS as_of,
           l.ward::text              AS ward,
           l.feature::text           AS feature,
           l.display_name::text      AS display_name,
           l.unit::text              AS unit,
           l.last_value::float8      AS last_value,
           l.trend_per_day::float8   AS trend_per_day,
           l.last_at::timestamptz    AS last_at,
           l.n_results::integer      AS n_results,
           l.reference_low::float8   AS reference_low,
           l.reference_high::float8  AS reference_high,
           l.out_of_range::boolean   AS out_of_range,
           l.key_lab_slot::integer   AS key_lab_slot
      FROM @extschema@.ward_patient_labs() l;
COMMENT ON VIEW icu_bi.patient_labs IS
    'Every lab feature of every patient-day in icu_bi.patient_status (same ward filter): one row per admission, day and feature, including features the hospital added to the catalogue.';
COMMENT ON COLUMN icu_bi.patient_labs.admission_id IS 'Admission (encounter) identifier.';
COMMENT ON COLUMN icu_bi.patient_labs.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN icu_bi.patient_labs.day_date IS 'Calendar day of the stay (as in icu_bi.patient_status).';
COMMENT ON COLUMN icu_bi.patient_labs.is_today IS 'True for the row of the reference day (today).';
COMMENT ON COLUMN icu_bi.patient_labs.as_of IS 'Moment the row describes.';
COMMENT ON COLUMN icu_bi.patient_labs.ward IS 'Ward or unit where the patient lay.';
COMMENT ON COLUMN icu_bi.patient_labs.feature IS 'Feature name of the catalogue (icu_predict.feature).';
COMMENT ON COLUMN icu_bi.patient_labs.display_name IS 'Name of the lab for display.';
COMMENT ON COLUMN icu_bi.patient_labs.unit IS 'Unit of last_value (the canonical unit).';
COMMENT ON COLUMN icu_bi.patient_labs.last_value IS 'Last accepted value resulted by as_of; NULL when every value was rejected.';
COMMENT ON COLUMN icu_bi.patient_labs.trend_per_day IS 'Change per day (least-squares slope over the recent trend window), in unit per day.';
COMMENT ON COLUMN icu_bi.patient_labs.last_at IS 'Result time of last_value.';
COMMENT ON COLUMN icu_bi.patient_labs.n_results IS 'Accepted results of this feature by as_of.';
COMMENT ON COLUMN icu_bi.patient_labs.reference_low IS 'Lower end of the reference range (icu_predict.ward_lab_display); NULL when none.';
COMMENT ON COLUMN icu_bi.patient_labs.reference_high IS 'Upper end of the reference range; NULL when none.';
COMMENT ON COLUMN icu_bi.patient_labs.out_of_range IS 'True when last_value lies outside the reference range, false inside, NULL without a range or a value.';
COMMENT ON COLUMN icu_bi.patient_labs.key_lab_slot IS 'The key-lab column (1 to 6) of icu_bi.patient_status that shows this feature; NULL when none.';

CREATE VIEW icu_bi.patient_reasons AS
    SELECT r.admission_id::bigint  AS admission_id,
           r.patient_id::text      AS patient_id,
           r.day_date::date        AS day_date,
           r.is_today::boolean     AS is_today,
           r.ward::text            AS ward,
           r.rank::integer         AS rank,
           r.input::text           AS input,
           r.input_kind::text      AS input_kind,
           r.feature::text         AS feature,
           r.stat::text            AS stat,
           r.display_name::text    AS display_name,
           r.value::float8         AS value,
           r.unit::text            AS unit,
           r.trend_per_day::float8 AS trend_per_day,
           r.contribution::float8  AS contribution,
           r.direction::text       AS direction,
           r.reason::text          AS reason,
           r.shown_in_reasons::boolean AS shown_in_reasons,
           r.risk_model_version::text AS risk_model_version,
           r.risk_model_id::bigint AS risk_model_id
      FROM @extschema@.ward_patient_reasons() r;
COMMENT ON VIEW icu_bi.patient_reasons IS
    'The inputs behind icu_risk for drill-down: for every scored patient-day (patient_state pre_icu or ed) of icu_bi.patient_status (same ward filter), the top ten inputs by their contribution, structured and in words.';
COMMENT ON COLUMN icu_bi.patient_reasons.admission_id IS 'Admission (encounter) identifier.';
COMMENT ON COLUMN icu_bi.patient_reasons.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN icu_bi.patient_reasons.day_date IS 'Calendar day of the stay.';
COMMENT ON COLUMN icu_bi.patient_reasons.is_today IS 'True for the row of the reference day (today).';
COMMENT ON COLUMN icu_bi.patient_reasons.ward IS 'Ward or unit where the patient lay.';
COMMENT ON COLUMN icu_bi.patient_reasons.rank IS '1 = the input that moves the risk most.';
COMMENT ON COLUMN icu_bi.patient_reasons.input IS 'Model input: feature.statistic for labs (crp.last), the covariate name otherwise (age_years, hours_since_admission ...).';
COMMENT ON COLUMN icu_bi.patient_reasons.input_kind IS 'lab or non-lab.';
COMMENT ON COLUMN icu_bi.patient_reasons.feature IS 'Feature name for lab inputs; NULL for non-lab inputs.';
COMMENT ON COLUMN icu_bi.patient_reasons.stat IS 'Statistic of the feature (last, max, trend ...); NULL for non-lab inputs.';
COMMENT ON COLUMN icu_bi.patient_reasons.display_name IS 'Name of the input for display (Age, Time since admission, the lab''s name).';
COMMENT ON COLUMN icu_bi.patient_reasons.value IS 'The input''s value (NULL when it was missing and imputed).';
COMMENT ON COLUMN icu_bi.patient_reasons.unit IS 'Unit of value.';
COMMENT ON COLUMN icu_bi.patient_reasons.trend_per_day IS 'For a last value: the lab''s trend per day.';
COMMENT ON COLUMN icu_bi.patient_reasons.contribution IS 'Signed contribution to the risk''s log-odds.';
COMMENT ON COLUMN icu_bi.patient_reasons.direction IS 'raises risk or lowers risk.';
COMMENT ON COLUMN icu_bi.patient_reasons.reason IS 'The reason in words.';
COMMENT ON COLUMN icu_bi.patient_reasons.shown_in_reasons IS 'False for non-lab inputs when icu_predict.ward_policy.reasons_show_non_lab is off (then top_reasons leaves them out).';
COMMENT ON COLUMN icu_bi.patient_reasons.risk_model_version IS 'Risk model name and version.';
COMMENT ON COLUMN icu_bi.patient_reasons.risk_model_id IS 'Registry id of the risk model.';

CREATE VIEW icu_bi.ward_access AS
    SELECT m.user_name::text          AS user_name,
           m.is_database_login::boolean AS is_database_login,
           m.ward::text               AS ward,
           m.all_wards::boolean       AS all_wards,
           m.granted_through::text    AS granted_through
      FROM @extschema@.ward_access_map() m;
COMMENT ON VIEW icu_bi.ward_access IS
    'Which user sees which ward, for Power BI''s own row-level security when a published dataset reads through one gateway login: filter patient tables by ward where user_name = USERPRINCIPALNAME() (docs/power-bi.md). The gateway login (mapped to ''*'') sees every row; any other login only its own.';
COMMENT ON COLUMN icu_bi.ward_access.user_name IS 'A database login, or a name mapped in icu_predict.ward_access that is no database role (e.g. a Power BI user principal name).';
COMMENT ON COLUMN icu_bi.ward_access.is_database_login IS 'True when user_name is a database login.';
COMMENT ON COLUMN icu_bi.ward_access.ward IS 'A ward or unit the user may see.';
COMMENT ON COLUMN icu_bi.ward_access.all_wards IS 'True when the row comes from a mapping to every ward (''*'').';
COMMENT ON COLUMN icu_bi.ward_access.granted_through IS 'The role_name of icu_predict.ward_access that grants it.';

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

CREATE VIEW icu_bi.refresh_status AS
    SELECT (SELECT pg_catalog.max(l.finished_at) FROM @extschema@.refresh_log l
             WHERE l.succeeded)::timestamptz AS last_success_at,
           (SELECT l.newest_data_at FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::timestamptz AS data_as_of,
           (SELECT l.reference_time FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::timestamptz AS reference_time,
           (SELECT l.newest_lab_at FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::timestamptz AS newest_lab_at,
           (SELECT l.data_lag_warning FROM @extschema@.refresh_log l
             WHERE l.succeeded ORDER BY l.run_id DESC LIMIT 1)::text AS data_lag_warning,
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
    'One row: how fresh the data is (last successful refresh, its reference time beside the newest data it found, a warning when the data lags, the last failure). Show it on every report page so nothing looks current when it is not.';
COMMENT ON COLUMN icu_bi.refresh_status.last_success_at IS 'End of the last successful refresh; NULL if never.';
COMMENT ON COLUMN icu_bi.refresh_status.data_as_of IS 'Newest data time (lab result, admission or location stay, at or before reference_time) of the last successful refresh: what the views really know.';
COMMENT ON COLUMN icu_bi.refresh_status.reference_time IS 'Reference time ("now") the views were computed for.';
COMMENT ON COLUMN icu_bi.refresh_status.newest_lab_at IS 'Newest lab result time at or before reference_time.';
COMMENT ON COLUMN icu_bi.refresh_status.data_lag_warning IS 'Why the data looks late (no labs for ward_policy.data_lag_lab_hours, or the newest data more than data_lag_max_hours before the reference time); NULL when current.';
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
GRANT SELECT ON icu_bi.patient_labs, icu_bi.patient_reasons, icu_bi.ward_access TO icu_bi_reader;
GRANT EXECUTE ON FUNCTION @extschema@.ward_patient_rows(), @extschema@.ward_patient_labs(),
                          @extschema@.ward_patient_reasons(), @extschema@.ward_access_map()
    TO icu_bi_reader;
