-- icu_bi.patient_risk: the long-form risks (43_patient_risk.sql) for Power BI.
--
-- Same rules as the other icu_bi patient views (50_bi.sql): BI-safe column
-- types, rows filtered by icu_predict.ward_access inside a SECURITY DEFINER
-- function on SESSION_USER (46_access.sql says why a security_barrier view
-- is not enough), SELECT for icu_bi_reader only.  One row per admission,
-- day, outcome and horizon, with the model version and the synthetic-default
-- flag.

CREATE FUNCTION @extschema@.ward_patient_risks()
RETURNS SETOF @extschema@.patient_risk
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 3000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pr.*
      FROM @extschema@.patient_risk pr
     WHERE EXISTS (
            SELECT 1
              FROM @extschema@.ward_access a
              JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name
             WHERE (a.ward = pr.ward OR a.ward = '*')
               AND pg_catalog.pg_has_role(SESSION_USER, r.oid, 'MEMBER'));
END;
COMMENT ON FUNCTION @extschema@.ward_patient_risks() IS
    'The patient_risk rows the session''s login may see (wards mapped in ward_access, as ward_patient_rows()). SECURITY DEFINER and never inlined; filters on SESSION_USER. Backs icu_bi.patient_risk.';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_risks() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.ward_patient_risks() TO icu_bi_reader;

CREATE VIEW icu_bi.patient_risk AS
    SELECT pr.admission_id::bigint        AS admission_id,
           pr.patient_id::text            AS patient_id,
           pr.day_date::date              AS day_date,
           pr.day_of_stay::integer        AS day_of_stay,
           pr.is_today::boolean           AS is_today,
           pr.as_of::timestamptz          AS as_of,
           pr.ward::text                  AS ward,
           pr.unit_kind::text             AS unit_kind,
           pr.patient_state::text         AS patient_state,
           pr.outcome::text               AS outcome,
           pr.horizon_hours::integer      AS horizon_hours,
           pr.risk::float8                AS risk,
           (pr.model_name || ' ' || pr.model_version)::text AS model_version,
           pr.model_id::bigint            AS model_id,
           pr.model_source::text          AS model_source,
           pr.synthetic_default::boolean  AS synthetic_default,
           pr.data_time::timestamptz      AS data_time,
           pr.refreshed_at::timestamptz   AS refreshed_at
      FROM @extschema@.ward_patient_risks() pr;

COMMENT ON VIEW icu_bi.patient_risk IS
    'Risks of every deployed outcome for Power BI, in long form: one row per current admission, day of stay, outcome and horizon (ICU admission within 48 h, within 7 days, in-hospital death ...), each with its model version; only on the wards the user is mapped to in icu_predict.ward_access.';
COMMENT ON COLUMN icu_bi.patient_risk.admission_id IS 'Admission (encounter) identifier.';
COMMENT ON COLUMN icu_bi.patient_risk.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN icu_bi.patient_risk.day_date IS 'Calendar day of the stay.';
COMMENT ON COLUMN icu_bi.patient_risk.day_of_stay IS 'Day number of the stay (1 = day of admission).';
COMMENT ON COLUMN icu_bi.patient_risk.is_today IS 'True for the row of the reference day (today).';
COMMENT ON COLUMN icu_bi.patient_risk.as_of IS 'Moment the risk is for: end of the day, or the reference time for today.';
COMMENT ON COLUMN icu_bi.patient_risk.ward IS 'Ward or unit where the patient lay.';
COMMENT ON COLUMN icu_bi.patient_risk.unit_kind IS 'ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN icu_bi.patient_risk.patient_state IS 'pre_icu, ed, in_icu or post_icu (as icu_bi.patient_status); ICU-admission risks only for pre_icu and ed.';
COMMENT ON COLUMN icu_bi.patient_risk.outcome IS 'Predicted outcome: icu_admission, death (in hospital), or the name of a hospital-defined event.';
COMMENT ON COLUMN icu_bi.patient_risk.horizon_hours IS 'Horizon in hours: risk is the probability of the outcome within it.';
COMMENT ON COLUMN icu_bi.patient_risk.risk IS 'Probability (0..1) of the outcome within horizon_hours.';
COMMENT ON COLUMN icu_bi.patient_risk.model_version IS 'Name and version of the model behind risk.';
COMMENT ON COLUMN icu_bi.patient_risk.model_id IS 'Registry id of the model behind risk (icu_predict.model.model_id).';
COMMENT ON COLUMN icu_bi.patient_risk.model_source IS 'deployed (chosen by this hospital) or builtin (shipped default).';
COMMENT ON COLUMN icu_bi.patient_risk.synthetic_default IS 'True when risk comes from a shipped default model trained on synthetic data: not validated on this hospital''s patients.';
COMMENT ON COLUMN icu_bi.patient_risk.data_time IS 'Result time of the latest lab behind the row.';
COMMENT ON COLUMN icu_bi.patient_risk.refreshed_at IS 'When the status was last refreshed.';

GRANT SELECT ON icu_bi.patient_risk TO icu_bi_reader;
