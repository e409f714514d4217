-- Integrity: rows the daily refresh cannot use are quarantined, not fatal;
-- what the registry depends on cannot be pulled away under it.
--
--   admission_quarantine_reason()  the rule for an implausible open admission (C)
--   admission_quarantine           the open admissions refresh() skips, with why
--   installing_extension()         true only inside icu_predict's own scripts (C)
--   model_builtin_guard            builtin model rows only from those scripts
--   feature_in_use_guard           no rename or delete of a feature a model reads
--
-- The admission rule is written once, in C (extension/src/common/integrity.c):
-- the daily series aggregate gives a quarantined admission no days, so
-- patient_status has no rows for it, and the view below lists it.  refresh()
-- (48_refresh.sql) counts the quarantined admissions by reason in refresh_log.
-- Docs: docs/integrity.md.

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

-- The catalogue limit (1,000 features, 54000 at the insert) is checked by
-- the feature_write trigger of 03_canonical.sql (feature_catalogue_max()).
