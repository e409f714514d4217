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
           coalesce(nullif(pg_catalog.current_setting('icu_predict.day_timezone', true), ''),
                    pg_catalog.current_setting('TimeZone')) AS tz
), days AS (
    SELECT a.admission_id, a.patient_id, a.admitted_at,
           d.day::date AS day_date,
           (d.day::date - pg_catalog.timezone(ref.tz, a.admitted_at)::date + 1) AS day_of_stay,
           least(ref.t, pg_catalog.timezone(ref.tz, (d.day::date + 1)::timestamp)) AS as_of,
           (d.day::date = pg_catalog.timezone(ref.tz, ref.t)::date) AS is_today
      FROM ref
      JOIN @extschema@.admission a
        ON a.admitted_at <= ref.t
       AND (a.discharged_at IS NULL OR a.discharged_at > ref.t)
     CROSS JOIN LATERAL pg_catalog.generate_series(
               pg_catalog.timezone(ref.tz, a.admitted_at)::date::timestamp,
               pg_catalog.timezone(ref.tz, ref.t)::date::timestamp,
               '1 day'::interval) AS d(day)
)
SELECT d.admission_id,
       d.patient_id,
       d.day_date,
       d.day_of_stay::integer AS day_of_stay,
       d.is_today,
       d.as_of,
       loc.unit AS ward,
       loc.unit_kind,
       loc.isolation,
       (pg_catalog.date_part('epoch', d.as_of - d.admitted_at) / 86400.0)::float8 AS days_in_hospital,
       NULL::float8 AS risk,
       pg_catalog.now() AS refreshed_at
  FROM days d
  LEFT JOIN LATERAL (
        SELECT s.unit, s.unit_kind, s.isolation
          FROM @extschema@.location_stay s
         WHERE s.admission_id = d.admission_id
           AND s.started_at <= d.as_of
         ORDER BY s.started_at DESC, s.stay_id DESC
         LIMIT 1) loc ON true
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
COMMENT ON COLUMN @extschema@.patient_status.risk IS 'Probability of ICU admission (active icu_admission model) as of as_of.';
COMMENT ON COLUMN @extschema@.patient_status.refreshed_at IS 'When the view was last refreshed.';
