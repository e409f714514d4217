-- Scoring (C: extension/src/model/): the model runtime on plain input
-- vectors, on lab panels with admission covariates, explanations, and the
-- analyst's predict(admission_id, as_of).  Docs: docs/model-runtime.md.
-- Models are looked up in the registry (20_registry.sql) and parsed once per
-- backend (the C model cache).
--
-- In the functions on panels, model_name NULL = the active model of the kind
-- (view active_model; for icu_admission the one whose horizon is nearest
-- 48 h); model_version NULL = the active version of model_name.

-- ---------------------------------------------------------------------------
-- Scoring on plain input vectors (inputs[k] = raw value of the spec's input k)
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.stay_estimate AS (
    model_id      bigint,
    model_version text,
    location_days float8,
    expected_days float8,
    median_days   float8,
    p10_days      float8,
    p90_days      float8
);
COMMENT ON TYPE @extschema@.stay_estimate IS
    'ICU length of stay distribution: location exp(mu) (what xgboost predict returns for survival:aft), expected value (NULL when infinite), median, 10th and 90th percentile, in days, and the model that made it.';

CREATE FUNCTION @extschema@.model_predict(model_name text, model_version text, inputs float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_predict_vec'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_predict(text, text, float8[]) IS
    'Prediction of a model for raw input values (NULL = missing): probability for icu_admission, location exp(mu) in days for icu_stay; equals Python''s predict / predict_proba.';

CREATE FUNCTION @extschema@.model_margin(model_name text, model_version text, inputs float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_margin_vec'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_margin(text, text, float8[]) IS
    'Margin (linear predictor, log-odds or log-days) of a model for raw input values (NULL = missing).';

CREATE FUNCTION @extschema@.model_contributions(model_name text, model_version text, inputs float8[])
RETURNS TABLE (input text, contribution float8)
AS 'MODULE_PATHNAME', 'icu_model_contributions_vec'
LANGUAGE C STABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.model_contributions(text, text, float8[]) IS
    'Signed contribution of each input to the margin, plus a (bias) row; they sum to model_margin(). Exact for linear models, TreeSHAP for xgboost.';

CREATE FUNCTION @extschema@.model_stay(model_name text, model_version text, inputs float8[])
RETURNS @extschema@.stay_estimate
AS 'MODULE_PATHNAME', 'icu_model_stay_vec'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_stay(text, text, float8[]) IS
    'ICU length-of-stay distribution of an icu_stay model for raw input values (NULL = missing).';

CREATE FUNCTION @extschema@.model_stay_survival(model_name text, model_version text, inputs float8[], t_days float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_stay_survival_vec'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_stay_survival(text, text, float8[], float8) IS
    'S(t) = P(ICU stay > t_days) of an icu_stay model for raw input values (NULL = missing).';

CREATE FUNCTION @extschema@.model_cache_stats()
RETURNS TABLE (parses bigint, lookups bigint, hits bigint, cached integer)
AS 'MODULE_PATHNAME', 'icu_model_cache_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.model_cache_stats() IS
    'This backend''s model cache: specs parsed, registry lookups (one per query and call site), lookups served from cache, models cached.';

-- ---------------------------------------------------------------------------
-- Scoring on lab panels and admission covariates
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.risk(
    panel                 @extschema@.lab_panel,
    age_years             float8 DEFAULT NULL,
    sex                   text   DEFAULT NULL,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_risk'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.risk(@extschema@.lab_panel, float8, text, float8, text, text, text) IS
    'Probability of ICU admission (0..1) for a lab panel and covariates, by the active icu_admission model (or the one named: a model of kind death or event gives the probability of its own outcome within its horizon; see outcome_risk()). NULL panel = no labs; NULL covariates are missing (imputed); NaN covariates raise 22023; unknown model 42704.';

-- outcome_risk() with the admission's covariates: the slot's model reads BMI,
-- the comorbidity groups and the missing indicators as the views score them
CREATE FUNCTION @extschema@.outcome_risk(
    panel                 @extschema@.lab_panel,
    covariates            @extschema@.admission_covariates,
    outcome               text,
    horizon_hours         integer,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL)
RETURNS float8
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    am @extschema@.active_model;
BEGIN
    IF outcome_risk.outcome IS NULL OR outcome_risk.horizon_hours IS NULL THEN
        RAISE EXCEPTION 'outcome_risk(): outcome and horizon_hours must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT a.* INTO am FROM @extschema@.active_model a
     WHERE a.kind <> 'icu_stay' AND a.outcome = outcome_risk.outcome
       AND a.horizon_hours = outcome_risk.horizon_hours;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active risk model for outcome "%" within % hours', outcome_risk.outcome, outcome_risk.horizon_hours
            USING ERRCODE = 'undefined_object',
                  HINT = 'The active slots are in icu_predict.active_model; deploy one with icu_predict.deploy(name, version).';
    END IF;
    RETURN @extschema@.risk(panel, covariates, hours_since_admission, unit_kind, am.name, am.version);
END
$$;
COMMENT ON FUNCTION @extschema@.outcome_risk(@extschema@.lab_panel, @extschema@.admission_covariates, text, integer, float8, text) IS
    'outcome_risk() with the admission''s covariates (admission_covariates(admission_id, as_of)), so that a model reading BMI, comorbidity groups, charlson_index or the missing indicators is scored as patient_status and patient_risk score it. ERROR 42704 when no model of that outcome and horizon is active, 22004 for a NULL outcome or horizon.';

-- risk of any outcome: the active model of the slot (outcome, horizon)
CREATE FUNCTION @extschema@.outcome_risk(
    panel                 @extschema@.lab_panel,
    outcome               text,
    horizon_hours         integer,
    age_years             float8 DEFAULT NULL,
    sex                   text   DEFAULT NULL,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL)
RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- age and sex known, BMI and comorbidities unknown, as positional risk() reads them
    SELECT @extschema@.outcome_risk(panel, ROW(age_years, sex, NULL, NULL)::@extschema@.admission_covariates,
                                    outcome, horizon_hours, hours_since_admission, unit_kind)
$$;
COMMENT ON FUNCTION @extschema@.outcome_risk(@extschema@.lab_panel, text, integer, float8, text, float8, text) IS
    'Probability of an outcome (icu_admission, death, or an event''s name) within exactly horizon_hours, by the active model of that slot (view active_model), scored like risk(). ERROR 42704 when no model of that outcome and horizon is active, 22004 for a NULL outcome or horizon.';

CREATE FUNCTION @extschema@.length_of_stay(
    panel                 @extschema@.lab_panel,
    age_years             float8 DEFAULT NULL,
    sex                   text   DEFAULT NULL,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL)
RETURNS @extschema@.stay_estimate
AS 'MODULE_PATHNAME', 'icu_model_length_of_stay'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.length_of_stay(@extschema@.lab_panel, float8, text, float8, text, text, text) IS
    'ICU length-of-stay distribution (expected, median, P10, P90 days and the model version) by the active icu_stay model (or the one named).';

CREATE FUNCTION @extschema@.stay_survival(
    panel                 @extschema@.lab_panel,
    t_days                float8,
    age_years             float8 DEFAULT NULL,
    sex                   text   DEFAULT NULL,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_stay_survival'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stay_survival(@extschema@.lab_panel, float8, float8, text, float8, text, text, text) IS
    'S(t) = P(ICU stay > t_days) by the active icu_stay model (or the one named); 1 for t_days <= 0.';

CREATE FUNCTION @extschema@.stay_survival_curve(
    location_days float8,
    t_days        float8[],
    model_name    text DEFAULT NULL,
    model_version text DEFAULT NULL)
RETURNS float8[]
AS 'MODULE_PATHNAME', 'icu_stay_survival_curve'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stay_survival_curve(float8, float8[], text, text) IS
    'S(t) = P(ICU stay > t) for each t of t_days, of the icu_stay model''s distribution around location_days (the location_days of a stay_estimate made by that model, e.g. from length_of_stay()). NULL location_days gives NULL; location_days <= 0 or NaN t raise 22023.';

CREATE FUNCTION @extschema@.explain(
    panel                 @extschema@.lab_panel,
    age_years             float8 DEFAULT NULL,
    sex                   text   DEFAULT NULL,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL,
    kind                  text   DEFAULT 'icu_admission',
    top                   integer DEFAULT 5)
RETURNS TABLE (rank integer, input text, value float8, contribution float8, model_version text)
AS 'MODULE_PATHNAME', 'icu_model_explain'
LANGUAGE C STABLE PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION @extschema@.explain(@extschema@.lab_panel, float8, text, float8, text, text, text, text, integer) IS
    'The top inputs by absolute contribution to the margin (log-odds for risk, log-days for stay), signed: exact for linear models, TreeSHAP for xgboost. value is the raw input (NULL when missing and imputed).';

-- The same four with an admission_covariates value (06_comorbidity.sql) in
-- place of age and sex: BMI and comorbidity groups become readable too.
CREATE FUNCTION @extschema@.risk(
    panel                 @extschema@.lab_panel,
    covariates            @extschema@.admission_covariates,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_risk_row'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.risk(@extschema@.lab_panel, @extschema@.admission_covariates, float8, text, text, text) IS
    'risk() with the admission''s covariates (admission_covariates(admission_id, as_of)): age, sex, BMI and comorbidity groups, so specs may read bmi, comorbidity_<group>, charlson_index and the missing indicators. NULL covariates = all unknown.';

CREATE FUNCTION @extschema@.length_of_stay(
    panel                 @extschema@.lab_panel,
    covariates            @extschema@.admission_covariates,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL)
RETURNS @extschema@.stay_estimate
AS 'MODULE_PATHNAME', 'icu_model_length_of_stay_row'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.length_of_stay(@extschema@.lab_panel, @extschema@.admission_covariates, float8, text, text, text) IS
    'length_of_stay() with the admission''s covariates (admission_covariates()).';

CREATE FUNCTION @extschema@.stay_survival(
    panel                 @extschema@.lab_panel,
    t_days                float8,
    covariates            @extschema@.admission_covariates,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_model_stay_survival_row'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stay_survival(@extschema@.lab_panel, float8, @extschema@.admission_covariates, float8, text, text, text) IS
    'stay_survival() with the admission''s covariates (admission_covariates()).';

CREATE FUNCTION @extschema@.explain(
    panel                 @extschema@.lab_panel,
    covariates            @extschema@.admission_covariates,
    hours_since_admission float8 DEFAULT NULL,
    unit_kind             text   DEFAULT NULL,
    model_name            text   DEFAULT NULL,
    model_version         text   DEFAULT NULL,
    kind                  text   DEFAULT 'icu_admission',
    top                   integer DEFAULT 5)
RETURNS TABLE (rank integer, input text, value float8, contribution float8, model_version text)
AS 'MODULE_PATHNAME', 'icu_model_explain_row'
LANGUAGE C STABLE PARALLEL SAFE ROWS 5;
COMMENT ON FUNCTION @extschema@.explain(@extschema@.lab_panel, @extschema@.admission_covariates, float8, text, text, text, text, integer) IS
    'explain() with the admission''s covariates (admission_covariates()).';

CREATE FUNCTION @extschema@.predict(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (
    risk               float8,
    risk_band          text,
    expected_stay_days float8,
    stay_p10_days      float8,
    stay_p90_days      float8,
    top_reasons        text,
    risk_model_version text,
    stay_model_version text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a      record;
    p      @extschema@.lab_panel;
    cov    @extschema@.admission_covariates;
    ukind  text;
    hrs    float8;
    r      float8;
    s      @extschema@.stay_estimate;
    medium float8 := 0.10;
    high   float8 := 0.30;
    rv     text;
    reasons text;
    hz     integer := 48;
    rm     @extschema@.active_model;
BEGIN
    SELECT x.admission_id, x.admitted_at INTO a
      FROM @extschema@.admission x WHERE x.admission_id = predict.admission_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'admission % does not exist', predict.admission_id
            USING ERRCODE = 'undefined_object';
    END IF;
    IF predict.as_of IS NULL OR predict.as_of < a.admitted_at THEN
        RAISE EXCEPTION 'as_of % is before admission % began (%)', predict.as_of, a.admission_id, a.admitted_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    p := @extschema@.lab_panel_at(a.admission_id, predict.as_of);
    cov := @extschema@.admission_covariates(a.admission_id, predict.as_of);
    SELECT ls.unit_kind INTO ukind
      FROM @extschema@.location_stay ls
     WHERE ls.admission_id = a.admission_id AND ls.started_at <= predict.as_of
     ORDER BY ls.started_at DESC, ls.stay_id DESC LIMIT 1;
    hrs := extract(epoch FROM predict.as_of - a.admitted_at) / 3600.0;

    BEGIN
        SELECT c.risk_band_medium, c.risk_band_high, c.status_risk_horizon_hours INTO STRICT medium, high, hz
          FROM @extschema@.capacity_policy c;
    EXCEPTION WHEN no_data_found OR undefined_table OR too_many_rows THEN
        NULL;               -- keep the defaults 0.10 / 0.30 / 48 h
    END;
    rm := @extschema@.active_risk_model(hz);
    IF rm.model_id IS NULL THEN
        RAISE EXCEPTION 'no active model of kind icu_admission'
            USING ERRCODE = 'undefined_object',
                  HINT = 'Deploy one with icu_predict.deploy(name, version).';
    END IF;
    r := @extschema@.risk(p, cov, hrs, ukind, rm.name, rm.version);
    rv := rm.version;
    SELECT string_agg(format('%s%s (%s%s)', e.input,
                             CASE WHEN e.value IS NULL THEN ' missing' ELSE '=' || round(e.value::numeric, 2)::text END,
                             CASE WHEN e.contribution >= 0 THEN '+' ELSE '' END,
                             round(e.contribution::numeric, 2)),
                      '; ' ORDER BY e.rank)
      INTO reasons
      FROM @extschema@.explain(p, cov, hrs, ukind, rm.name, rm.version, top => 3) e;

    IF EXISTS (SELECT 1 FROM @extschema@.active_model m WHERE m.kind = 'icu_stay') THEN
        s := @extschema@.length_of_stay(p, cov, hrs, ukind);
    END IF;

    RETURN QUERY SELECT r,
        CASE WHEN r >= high THEN 'high' WHEN r >= medium THEN 'medium' ELSE 'low' END,
        s.expected_days, s.p10_days, s.p90_days, reasons, rv, s.model_version;
END
$$;
COMMENT ON FUNCTION @extschema@.predict(bigint, timestamptz) IS
    'For analysts: risk of ICU admission of one admission as of a time (labs resulted by then, covariates from admission_covariates() and location_stay) by the active risk model of capacity_policy.status_risk_horizon_hours (default 48 h, else the nearest horizon), its band (capacity_policy thresholds), expected ICU stay with P10-P90 (NULL without an active icu_stay model), the top 3 reasons and the model versions.';

CREATE FUNCTION @extschema@.covariate_value(covariate text, age_years float8, sex text,
                                            hours_since_admission float8, unit_kind text)
RETURNS float8
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_covariate_value';
COMMENT ON FUNCTION @extschema@.covariate_value(text, float8, text, float8, text) IS
    'The value a model input of this covariate reads (age_years, sex_male, hours_since_admission, unit_kind_ward ... unit_kind_other), by the encoding risk(), length_of_stay() and explain() use: sex_male is 1 for male, 0 for female or other, NULL for unknown; unit kinds are one-hot. NULL when the covariate is missing. Training code builds its inputs with it.';

CREATE FUNCTION @extschema@.covariate_value(covariate text, covariates @extschema@.admission_covariates,
                                            hours_since_admission float8, unit_kind text)
RETURNS float8
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_covariate_value_row';
COMMENT ON FUNCTION @extschema@.covariate_value(text, @extschema@.admission_covariates, float8, text) IS
    'The value a model input of this covariate reads from admission_covariates() (any name of model_covariates(): also bmi, bmi_missing, age_missing, sex_missing, charlson_index, comorbidity_<group>, elixhauser_van_walraven, elixhauser_<group>), by the encoding of the scoring functions. NULL when missing. Training code builds its inputs with it.';

CREATE FUNCTION @extschema@.model_covariates()
RETURNS TABLE (name text)
AS 'MODULE_PATHNAME', 'icu_model_covariates'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 31;
COMMENT ON FUNCTION @extschema@.model_covariates() IS
    'The covariate names a model spec accepts ({"covariate": name}), in order.';
