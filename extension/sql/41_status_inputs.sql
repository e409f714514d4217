-- status_model_inputs(): the input vector of a registry model for one
-- admission-day, built from a lab panel and the admission's covariates, in
-- the spec's input order (docs/model-spec.md, "Inputs").  patient_status
-- and capacity_forecast score the active models on these vectors with the
-- C runtime (model_predict, model_stay, model_stay_survival,
-- model_contributions), so the numbers are the registry's, not a copy.

CREATE FUNCTION @extschema@.status_model_inputs(
    spec jsonb, panel @extschema@.lab_panel,
    age_years integer, sex text, hours_since_admission float8, unit_kind text)
RETURNS float8[]
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(pg_catalog.array_agg(
        CASE
            WHEN i.inp ? 'feature' THEN
                CASE WHEN i.inp->>'stat' IN ('count', 'rejected')
                     THEN coalesce(@extschema@.lab_value(status_model_inputs.panel,
                                                         i.inp->>'feature', i.inp->>'stat'), 0)
                     ELSE @extschema@.lab_value(status_model_inputs.panel,
                                                i.inp->>'feature', i.inp->>'stat') END
            WHEN i.inp->>'covariate' = 'age_years' THEN status_model_inputs.age_years::float8
            WHEN i.inp->>'covariate' = 'sex_male' THEN
                CASE status_model_inputs.sex WHEN 'male' THEN 1.0::float8
                     WHEN 'female' THEN 0.0::float8 WHEN 'other' THEN 0.0::float8 END
            WHEN i.inp->>'covariate' = 'hours_since_admission' THEN status_model_inputs.hours_since_admission
            WHEN i.inp->>'covariate' LIKE 'unit_kind\_%' THEN
                CASE WHEN status_model_inputs.unit_kind IS NULL THEN NULL::float8
                     WHEN i.inp->>'covariate' = 'unit_kind_' || status_model_inputs.unit_kind THEN 1.0::float8
                     ELSE 0.0::float8 END
        END ORDER BY i.n), '{}'::float8[])
      FROM pg_catalog.jsonb_array_elements(status_model_inputs.spec->'inputs') WITH ORDINALITY AS i(inp, n);
END;
COMMENT ON FUNCTION @extschema@.status_model_inputs(jsonb, @extschema@.lab_panel, integer, text, float8, text) IS
    'Raw input vector of a model spec for a lab panel and covariates (age, sex, hours since admission, current unit kind), in the spec''s input order; NULL elements are missing. Used by patient_status.';
