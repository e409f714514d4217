-- patient_risk: the risks of every outcome in long form.
--
-- One row per row of patient_status (admission and calendar day of stay, as
-- of the end of that day or the reference time for today) and per active
-- risk model slot of active_model (kind icu_admission, death or event; one
-- slot per outcome and horizon): the probability of that outcome within that
-- horizon, with the model that gave it and whether that model is a shipped
-- default trained on synthetic data.  ICU-admission risks are given only
-- where patient_status scores (patient_state pre_icu or ed): the models are
-- trained on patients not yet in the ICU; other rows carry NULL.
--
-- A plain view over the materialized patient_status (so it reads what the
-- last refresh() saw: the same admissions, days and as-of times).  Each
-- (admission, day) panel is rebuilt once with lab_panel_at() -- the labs
-- resulted by as_of, as patient_status's daily series has them -- with the
-- admission's covariates as of then (admission_covariates(), as predict()
-- reads them: BMI, comorbidity groups, missing indicators), and scored by
-- risk() with every active risk model, so its cost grows with current
-- admissions x days x slots.  The ICU row of the status horizon equals
-- patient_status.risk (pg_regress/pytest check it).

CREATE VIEW @extschema@.patient_risk AS
SELECT ps.admission_id,
       ps.patient_id,
       ps.day_date,
       ps.day_of_stay,
       ps.is_today,
       ps.as_of,
       ps.ward,
       ps.unit_kind,
       ps.patient_state,
       am.outcome,
       am.kind AS model_kind,
       am.horizon_hours,
       CASE WHEN am.kind = 'icu_admission' AND ps.patient_state NOT IN ('pre_icu', 'ed')
            THEN NULL::float8
            ELSE @extschema@.risk(pn.panel, pn.covariates,
                        (pg_catalog.date_part('epoch', ps.as_of - a.admitted_at) / 3600.0)::float8,
                        ps.unit_kind, am.name, am.version) END AS risk,
       am.model_id,
       am.name AS model_name,
       am.version AS model_version,
       am.source AS model_source,
       am.synthetic_default,
       ps.data_time,
       ps.refreshed_at
  FROM @extschema@.patient_status ps
  JOIN @extschema@.admission a ON a.admission_id = ps.admission_id
 CROSS JOIN LATERAL (SELECT @extschema@.lab_panel_at(ps.admission_id, ps.as_of) AS panel,
                           @extschema@.admission_covariates(ps.admission_id, ps.as_of) AS covariates
                    OFFSET 0) pn
  JOIN @extschema@.active_model am ON am.kind <> 'icu_stay';

COMMENT ON VIEW @extschema@.patient_risk IS
    'Risks in long form: one row per patient_status row (admission, day of stay) and active risk model slot (outcome and horizon: ICU admission, in-hospital death, a user event), with the model version and the synthetic-default flag. Reads the last refresh() of patient_status; read it through icu_bi.patient_risk.';
COMMENT ON COLUMN @extschema@.patient_risk.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.patient_risk.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN @extschema@.patient_risk.day_date IS 'Calendar day of the stay (in icu_predict.day_timezone).';
COMMENT ON COLUMN @extschema@.patient_risk.day_of_stay IS 'Day number of the stay: 1 is the day of admission.';
COMMENT ON COLUMN @extschema@.patient_risk.is_today IS 'True for the row of the reference day.';
COMMENT ON COLUMN @extschema@.patient_risk.as_of IS 'The moment the risk is for: the end of day_date, or the reference time for today (as patient_status).';
COMMENT ON COLUMN @extschema@.patient_risk.ward IS 'Ward or unit where the patient lay at as_of.';
COMMENT ON COLUMN @extschema@.patient_risk.unit_kind IS 'Kind of that unit: ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN @extschema@.patient_risk.patient_state IS 'pre_icu, ed, in_icu or post_icu, as patient_status.patient_state; ICU-admission risks are NULL unless pre_icu or ed.';
COMMENT ON COLUMN @extschema@.patient_risk.outcome IS 'The predicted outcome: icu_admission, death (in hospital), or the name of a user event (model.outcome).';
COMMENT ON COLUMN @extschema@.patient_risk.model_kind IS 'Registry kind of the model: icu_admission, death or event.';
COMMENT ON COLUMN @extschema@.patient_risk.horizon_hours IS 'The horizon: risk is the probability of the outcome within this many hours after as_of.';
COMMENT ON COLUMN @extschema@.patient_risk.risk IS 'Probability (0..1) of the outcome within horizon_hours after as_of, by risk() with the model of this row and the admission''s covariates (admission_covariates(admission_id, as_of)), as predict() scores.';
COMMENT ON COLUMN @extschema@.patient_risk.model_id IS 'model_id of the model behind risk (registry table model).';
COMMENT ON COLUMN @extschema@.patient_risk.model_name IS 'Name of the model behind risk.';
COMMENT ON COLUMN @extschema@.patient_risk.model_version IS 'Version of the model behind risk.';
COMMENT ON COLUMN @extschema@.patient_risk.model_source IS '''deployed'' (by deploy()) or ''builtin'' (shipped default).';
COMMENT ON COLUMN @extschema@.patient_risk.synthetic_default IS 'True when risk comes from a shipped default model trained on synthetic data: retrain on local data before reading it clinically.';
COMMENT ON COLUMN @extschema@.patient_risk.data_time IS 'Result time of the latest lab resulted by as_of (NULL without labs).';
COMMENT ON COLUMN @extschema@.patient_risk.refreshed_at IS 'When patient_status was last refreshed.';
