-- patient_status: the daily patient status (materialized).
--
-- One row per admission that is current at the reference time
-- (icu_predict.reference_time(), i.e. admitted_at <= t < discharged_at), per
-- calendar day of its stay from the admission day up to the reference day.
-- Each row describes the patient as of the end of that day (midnight in
-- icu_predict.day_timezone, or the session TimeZone when that is empty), and
-- today's row as of the reference time itself: location, isolation label,
-- days in hospital.
--
-- Created WITH NO DATA: icu_predict.refresh() populates it (plainly the first
-- time, concurrently after; the unique index below makes that possible).

CREATE MATERIALIZED VIEW @extschema@.patient_status AS
WITH ref AS (
    SELECT @extschema@.reference_time() AS t,
           @extschema@.day_zone() AS tz,
           @extschema@.capacity_settings() AS pol
), cur AS (
    SELECT a.*
      FROM @extschema@.admission a, ref
     WHERE a.admitted_at <= ref.t
       AND (a.discharged_at IS NULL OR a.discharged_at > ref.t)
), series AS (
    -- one pass over each admission's labs: a panel per calendar day
    SELECT a.admission_id,
           @extschema@.lab_panel_series(a.admission_id, c.feature, c.value, c.resulted_at,
                                        a.admitted_at, ref.t) AS s
      FROM ref
      CROSS JOIN cur a
      -- per admission through the (admission_id, resulted_at) index: the
      -- current admissions are few, the lab table is the whole history
      -- (OFFSET 0 keeps the planner from hashing all of it)
      LEFT JOIN LATERAL (
            SELECT lc.feature, lc.value, lc.resulted_at
              FROM @extschema@.lab_canonical lc
             WHERE lc.admission_id = a.admission_id AND lc.resulted_at <= ref.t
            OFFSET 0) c ON true
     GROUP BY a.admission_id, a.admitted_at, ref.t
), days AS (
    SELECT a.admission_id, a.patient_id, a.admitted_at, a.age_years, a.sex,
           pg_catalog.timezone(ref.tz, a.admitted_at)::date + (u.n - 1)::integer AS day_date,
           u.n::integer AS day_of_stay,
           @extschema@.lab_as_of(u.panel) AS as_of,
           u.panel
      FROM ref
      JOIN series sr ON true
      JOIN cur a ON a.admission_id = sr.admission_id
     CROSS JOIN LATERAL pg_catalog.unnest(sr.s) WITH ORDINALITY AS u(panel, n)
), models AS MATERIALIZED (
    -- the active models (view active_model): risk of the status horizon and
    -- of the forecast horizon (capacity_policy), and the stay model.
    -- MATERIALIZED here and in predicted: else every (x).field reference
    -- would re-evaluate the function that returned x.
    SELECT @extschema@.active_risk_model((ref.pol).status_risk_horizon_hours) AS rm,
           @extschema@.active_risk_model((ref.pol).forecast_risk_horizon_hours) AS fm,
           (SELECT a FROM @extschema@.active_model a WHERE a.kind = 'icu_stay') AS sm
      FROM ref
), scored AS (
    SELECT d.*, loc.unit, loc.unit_kind, loc.isolation,
           (models.rm).name AS risk_model, (models.rm).version AS risk_version,
           (models.rm).horizon_hours AS risk_horizon_hours,
           (models.fm).name AS forecast_model, (models.fm).version AS forecast_version,
           (models.fm).horizon_hours AS forecast_horizon_hours,
           (models.sm).name AS stay_model, (models.sm).version AS stay_version,
           (pg_catalog.date_part('epoch', d.as_of - d.admitted_at) / 3600.0)::float8 AS hours
      FROM days d
      CROSS JOIN models
      LEFT JOIN LATERAL (
            SELECT s.unit, s.unit_kind, s.isolation
              FROM @extschema@.location_stay s
             WHERE s.admission_id = d.admission_id
               AND s.started_at <= d.as_of
             ORDER BY s.started_at DESC, s.stay_id DESC
             LIMIT 1) loc ON true
), predicted AS MATERIALIZED (
    -- the C panel functions build every model input from the panel and the
    -- covariates (model/score_panel.c): the one input path of the extension
    SELECT sc.*,
           CASE WHEN sc.risk_model IS NOT NULL THEN
                @extschema@.risk(sc.panel, sc.age_years::float8, sc.sex, sc.hours, sc.unit_kind,
                                 sc.risk_model, sc.risk_version) END AS risk,
           CASE WHEN sc.forecast_model IS NOT NULL THEN
                @extschema@.risk(sc.panel, sc.age_years::float8, sc.sex, sc.hours, sc.unit_kind,
                                 sc.forecast_model, sc.forecast_version) END AS forecast_risk,
           CASE WHEN sc.stay_model IS NOT NULL THEN
                @extschema@.length_of_stay(sc.panel, sc.age_years::float8, sc.sex, sc.hours, sc.unit_kind,
                                           sc.stay_model, sc.stay_version) END AS stay,
           (SELECT pg_catalog.string_agg(
                       pg_catalog.format('%s %s (%s)', x.input,
                           CASE WHEN x.contribution > 0 THEN 'raises risk' ELSE 'lowers risk' END,
                           pg_catalog.to_char(x.contribution, 'SG0.00')),
                       '; ' ORDER BY pg_catalog.abs(x.contribution) DESC, x.input)
              FROM (SELECT e.input, e.contribution
                      FROM @extschema@.explain(sc.panel, sc.age_years::float8, sc.sex, sc.hours,
                                               sc.unit_kind, sc.risk_model, sc.risk_version,
                                               'icu_admission', 1000) e
                     WHERE sc.risk_model IS NOT NULL AND e.contribution <> 0
                     ORDER BY pg_catalog.abs(e.contribution) DESC, e.input
                     LIMIT 3) x) AS reasons
      FROM scored sc
)
SELECT p.admission_id,
       p.patient_id,
       p.day_date,
       p.day_of_stay,
       (p.day_date = pg_catalog.timezone(ref.tz, ref.t)::date) AS is_today,
       p.as_of,
       p.unit AS ward,
       p.unit_kind,
       p.isolation,
       (pg_catalog.date_part('epoch', p.as_of - p.admitted_at) / 86400.0)::float8 AS days_in_hospital,
       @extschema@.lab_value(p.panel, 'crp', 'last') AS crp_last,
       @extschema@.lab_value(p.panel, 'crp', 'trend') AS crp_trend,
       @extschema@.lab_value(p.panel, 'ldh', 'last') AS ldh_last,
       @extschema@.lab_value(p.panel, 'ldh', 'trend') AS ldh_trend,
       @extschema@.lab_value(p.panel, 'd_dimer', 'last') AS d_dimer_last,
       @extschema@.lab_value(p.panel, 'd_dimer', 'trend') AS d_dimer_trend,
       @extschema@.lab_value(p.panel, 'ferritin', 'last') AS ferritin_last,
       @extschema@.lab_value(p.panel, 'lymphocytes', 'last') AS lymphocytes_last,
       @extschema@.lab_value(p.panel, 'lymphocytes', 'trend') AS lymphocytes_trend,
       p.risk,
       p.risk_horizon_hours,
       CASE WHEN p.risk IS NULL THEN NULL
            WHEN p.risk >= (ref.pol).risk_band_high THEN 'high'
            WHEN p.risk >= (ref.pol).risk_band_medium THEN 'medium'
            ELSE 'low' END AS risk_band,
       p.risk - pg_catalog.lag(p.risk) OVER w AS risk_change,
       CASE WHEN p.risk IS NULL OR pg_catalog.lag(p.risk) OVER w IS NULL THEN NULL
            WHEN p.risk - pg_catalog.lag(p.risk) OVER w > (ref.pol).course_stable_band THEN 'worsening'
            WHEN p.risk - pg_catalog.lag(p.risk) OVER w < -(ref.pol).course_stable_band THEN 'improving'
            ELSE 'stable' END AS course,
       (p.stay).expected_days AS stay_expected_days,
       (p.stay).median_days AS stay_median_days,
       (p.stay).p10_days AS stay_p10_days,
       (p.stay).p90_days AS stay_p90_days,
       p.reasons AS top_reasons,
       p.risk_model || ' ' || p.risk_version AS risk_model_version,
       p.forecast_risk,
       p.forecast_horizon_hours AS forecast_risk_horizon_hours,
       p.forecast_model || ' ' || p.forecast_version AS forecast_risk_model_version,
       p.stay_model || ' ' || p.stay_version AS stay_model_version,
       p.stay_model, p.stay_version, (p.stay).location_days AS stay_location_days,
       (SELECT pg_catalog.max(c.resulted_at) FROM @extschema@.lab_canonical c
         WHERE c.admission_id = p.admission_id AND c.resulted_at <= p.as_of) AS data_time,
       pg_catalog.now() AS refreshed_at
  FROM predicted p, ref
WINDOW w AS (PARTITION BY p.admission_id ORDER BY p.day_date)
WITH NO DATA;

CREATE UNIQUE INDEX patient_status_key ON @extschema@.patient_status (admission_id, day_date);
CREATE INDEX patient_status_today_idx ON @extschema@.patient_status (day_date, ward);

COMMENT ON MATERIALIZED VIEW @extschema@.patient_status IS
    'Daily patient status: one row per current admission (at icu_predict.reference_time(), default now) per calendar day of stay up to the reference day, each as of the end of that day (today: as of the reference time). Populated by CALL icu_predict.refresh(); read it through icu_bi.patient_status.';
COMMENT ON COLUMN @extschema@.patient_status.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.patient_status.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN @extschema@.patient_status.day_date IS 'Calendar day of the stay (in icu_predict.day_timezone).';
COMMENT ON COLUMN @extschema@.patient_status.day_of_stay IS 'Day number of the stay: 1 is the day of admission.';
COMMENT ON COLUMN @extschema@.patient_status.is_today IS 'True for the row of the reference day.';
COMMENT ON COLUMN @extschema@.patient_status.as_of IS 'The moment the row describes: the end of day_date, or the reference time for today.';
COMMENT ON COLUMN @extschema@.patient_status.ward IS 'Ward or unit where the patient lay at as_of (latest location stay begun by then).';
COMMENT ON COLUMN @extschema@.patient_status.unit_kind IS 'Kind of that unit: ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN @extschema@.patient_status.isolation IS 'Isolation label of that location stay.';
COMMENT ON COLUMN @extschema@.patient_status.days_in_hospital IS 'Days from hospital admission to as_of.';
COMMENT ON COLUMN @extschema@.patient_status.crp_last IS 'Last CRP (mg/L) resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.crp_trend IS 'CRP trend: least-squares slope per day over the panel''s trend window.';
COMMENT ON COLUMN @extschema@.patient_status.ldh_last IS 'Last LDH (U/L).';
COMMENT ON COLUMN @extschema@.patient_status.ldh_trend IS 'LDH trend per day.';
COMMENT ON COLUMN @extschema@.patient_status.d_dimer_last IS 'Last D-dimer (mg/L FEU).';
COMMENT ON COLUMN @extschema@.patient_status.d_dimer_trend IS 'D-dimer trend per day.';
COMMENT ON COLUMN @extschema@.patient_status.ferritin_last IS 'Last ferritin (ug/L).';
COMMENT ON COLUMN @extschema@.patient_status.lymphocytes_last IS 'Last absolute lymphocyte count (10^9/L).';
COMMENT ON COLUMN @extschema@.patient_status.lymphocytes_trend IS 'Lymphocyte trend per day.';
COMMENT ON COLUMN @extschema@.patient_status.risk IS 'Probability of ICU admission within risk_horizon_hours (default 48 h) as of as_of, from the active icu_admission model of capacity_policy.status_risk_horizon_hours (else the nearest horizon); NULL without an active risk model.';
COMMENT ON COLUMN @extschema@.patient_status.risk_horizon_hours IS 'Horizon of risk in hours (the risk model''s own horizon_hours).';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk IS 'Probability of ICU admission within forecast_risk_horizon_hours (default 7 days) from the active risk model of capacity_policy.forecast_risk_horizon_hours (else the nearest horizon); the capacity forecast uses it.';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk_horizon_hours IS 'Horizon of forecast_risk in hours (that model''s own horizon_hours).';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk_model_version IS 'Name and version of the model behind forecast_risk.';
COMMENT ON COLUMN @extschema@.patient_status.risk_band IS 'low, medium or high by capacity_policy.risk_band_medium / risk_band_high.';
COMMENT ON COLUMN @extschema@.patient_status.risk_change IS 'Risk minus the risk of the day before (NULL on the first day).';
COMMENT ON COLUMN @extschema@.patient_status.course IS 'improving, stable or worsening: risk_change against +/- capacity_policy.course_stable_band.';
COMMENT ON COLUMN @extschema@.patient_status.stay_expected_days IS 'Expected ICU length of stay in days (active icu_stay model).';
COMMENT ON COLUMN @extschema@.patient_status.stay_median_days IS 'Median ICU length of stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.stay_p10_days IS '10th percentile of ICU length of stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.stay_p90_days IS '90th percentile of ICU length of stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.top_reasons IS 'Up to three inputs that move the risk most, with their signed contribution to the log-odds.';
COMMENT ON COLUMN @extschema@.patient_status.risk_model_version IS 'Name and version of the risk model.';
COMMENT ON COLUMN @extschema@.patient_status.stay_model_version IS 'Name and version of the length-of-stay model.';
COMMENT ON COLUMN @extschema@.patient_status.stay_model IS 'Stay model name (capacity_forecast scores S(t) with it).';
COMMENT ON COLUMN @extschema@.patient_status.stay_version IS 'Stay model version.';
COMMENT ON COLUMN @extschema@.patient_status.stay_location_days IS 'Location exp(mu) of the stay distribution for this row (capacity_forecast evaluates S(t) from it with stay_survival_curve()).';
COMMENT ON COLUMN @extschema@.patient_status.data_time IS 'Result time of the latest lab in the row''s panel (NULL without labs).';
COMMENT ON COLUMN @extschema@.patient_status.refreshed_at IS 'When the view was last refreshed.';
