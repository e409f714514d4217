-- patient_status: the daily patient status (materialized), and what the
-- ward sees in it.
--
--   ward_policy           optional single row of ward settings: when labs
--                         are stale, when refresh() warns of lagging data,
--                         whether non-lab inputs appear in the reasons
--   ward_settings()       the row in force, or the defaults
--   feature_label         display name and unit of every feature (the one
--                         place that reads them from the catalogue)
--   ward_lab_display      the hospital's list of labs: which fill the six
--                         key-lab columns, and their reference ranges
--   ward_lab_list()       that list, or the built-in one while it is empty
--   risk_reasons()        the inputs behind a risk, in clinical words
--   patient_status        the materialized view
--
-- One row per admission that is current at the reference time
-- (icu_predict.reference_time(), i.e. admitted_at <= t < discharged_at), per
-- calendar day of its stay from the admission day up to the reference day.
-- Each row describes the patient as of the end of that day (midnight in
-- icu_predict.day_timezone, or the session TimeZone when that is empty), and
-- today's row as of the reference time itself: location, isolation label,
-- days in hospital, and the patient's state there:
--   pre_icu   on a ward (or mc, or, other, no location) before any ICU stay:
--             scored for ICU admission;
--   ed        in the emergency department before any ICU stay: scored;
--   in_icu    in an ICU: no ICU-admission risk; the remaining ICU stay
--             (expected, median, P10-P90) and P(still in ICU) 1, 3 and 7
--             days on, from S(s + d) / S(s) of the stay model the capacity
--             forecast uses, s the days spent in the current ICU episode;
--   post_icu  outside the ICU after an ICU stay of this admission: not
--             scored for the ward (the ICU-admission models are trained on
--             patients before their first ICU stay); the risk columns keep
--             the first-admission model's output only as the capacity
--             forecast's input, and risk_band, course and reasons are NULL.
-- Every score is computed with the admission's covariates as of the row
-- (admission_covariates(): age, sex, BMI, comorbidity groups), as predict()
-- computes it, so the dashboard's value equals predict()'s.  The death risk
-- (the active death model whose horizon is nearest the status horizon) is
-- shown on every row; each score carries its model's id, version and
-- synthetic-default flag.
-- Remaining-stay figures come from the stay survival curve
-- (stay_survival_curve, C) on a six-hourly grid of 90 days after s: the
-- probabilities at 1, 3 and 7 days are exact grid points, the expected
-- remaining stay is Simpson's integral of S(s + u) / S(s) over those 90 days
-- (longer stays are not counted), and each quantile is found between the
-- hours of the six-hour step that brackets it (seven more points), linear
-- within the hour.
--
-- Created WITH NO DATA: icu_predict.refresh() populates it (plainly the first
-- time, concurrently after; the unique index below makes that possible).

-- ---------------------------------------------------------------------------
-- ward_policy: the ward's settings
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.ward_policy (
    id                     boolean NOT NULL DEFAULT true,
    stale_lab_hours        float8  NOT NULL DEFAULT 48,
    data_lag_lab_hours     float8  NOT NULL DEFAULT 24,
    data_lag_max_hours     float8  NOT NULL DEFAULT 24,
    reasons_show_non_lab   boolean NOT NULL DEFAULT true,
    CONSTRAINT ward_policy_pkey PRIMARY KEY (id),
    CONSTRAINT ward_policy_one_row CHECK (id),
    CONSTRAINT ward_policy_stale_lab_hours_range
        CHECK (stale_lab_hours > 0 AND stale_lab_hours <= 8760),
    CONSTRAINT ward_policy_data_lag_lab_hours_range
        CHECK (data_lag_lab_hours > 0 AND data_lag_lab_hours <= 8760),
    CONSTRAINT ward_policy_data_lag_max_hours_range
        CHECK (data_lag_max_hours > 0 AND data_lag_max_hours <= 8760)
);
COMMENT ON TABLE @extschema@.ward_policy IS
    'Optional single row of ward settings for patient_status and refresh(). Without a row the defaults hold (see ward_settings()). Change with INSERT ... ON CONFLICT (id) DO UPDATE; takes effect at the next refresh.';
COMMENT ON COLUMN @extschema@.ward_policy.id IS 'Always true: the table holds at most one row.';
COMMENT ON COLUMN @extschema@.ward_policy.stale_lab_hours IS 'A row is stale (labs_stale, course ''stale'') when its newest lab, or the admission when it has no lab, is more than this many hours before as_of (default 48).';
COMMENT ON COLUMN @extschema@.ward_policy.data_lag_lab_hours IS 'refresh() warns (refresh_log.data_lag_warning) when no lab result at all was resulted in this many hours before the reference time (default 24).';
COMMENT ON COLUMN @extschema@.ward_policy.data_lag_max_hours IS 'refresh() warns when the newest data of any kind (lab result, admission, location stay) is more than this many hours older than the reference time (default 24: a day).';
COMMENT ON COLUMN @extschema@.ward_policy.reasons_show_non_lab IS 'Whether the reasons in words (patient_status.top_reasons) may name non-lab inputs (age, sex, time since admission, unit kind); they are labelled "(non-lab input)" either way. icu_bi.patient_reasons lists them always, with shown_in_reasons (default true).';

CREATE FUNCTION @extschema@.ward_settings()
RETURNS @extschema@.ward_policy
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT p FROM @extschema@.ward_policy p WHERE p.id),
        ROW(true, 48::float8, 24::float8, 24::float8, true)::@extschema@.ward_policy);
END;
COMMENT ON FUNCTION @extschema@.ward_settings() IS
    'The ward settings in force: the row of ward_policy, or the defaults when the table is empty.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ward_policy', '');

-- ---------------------------------------------------------------------------
-- feature_label: what a clinician reads for a feature.  The one place that
-- turns the catalogue into display names and units (views and reasons read
-- this view, never the catalogue's columns).
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.feature_label AS
    SELECT f.name         AS feature,
           f.display_name AS display_name,
           f.display_unit AS display_unit
      FROM @extschema@.feature f;
COMMENT ON VIEW @extschema@.feature_label IS
    'Display name and unit of every feature of the catalogue, as patient_status, the icu_bi views and the reasons show them.';
COMMENT ON COLUMN @extschema@.feature_label.feature IS 'Feature name (feature.name).';
COMMENT ON COLUMN @extschema@.feature_label.display_name IS 'Name shown to clinicians (feature.display_name).';
COMMENT ON COLUMN @extschema@.feature_label.display_unit IS 'Unit shown with its values (feature.display_unit).';

-- ---------------------------------------------------------------------------
-- ward_lab_display: the hospital's lab list
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.ward_lab_display (
    feature        text    NOT NULL,
    key_lab_slot   integer,
    reference_low  float8,
    reference_high float8,
    CONSTRAINT ward_lab_display_pkey PRIMARY KEY (feature),
    CONSTRAINT ward_lab_display_feature_fkey FOREIGN KEY (feature)
        REFERENCES @extschema@.feature (name) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT ward_lab_display_key_lab_slot_unique UNIQUE (key_lab_slot),
    CONSTRAINT ward_lab_display_key_lab_slot_range CHECK (key_lab_slot BETWEEN 1 AND 6),
    CONSTRAINT ward_lab_display_reference_finite
        CHECK (reference_low > '-Infinity'::float8 AND reference_low < 'Infinity'::float8
               OR reference_low IS NULL),
    CONSTRAINT ward_lab_display_reference_high_finite
        CHECK (reference_high > '-Infinity'::float8 AND reference_high < 'Infinity'::float8
               OR reference_high IS NULL),
    CONSTRAINT ward_lab_display_reference_ordered
        CHECK (reference_low IS NULL OR reference_high IS NULL OR reference_low < reference_high)
);
COMMENT ON TABLE @extschema@.ward_lab_display IS
    'The hospital''s lab list for the dashboards: which feature fills each of the six key-lab columns of patient_status (key_lab_slot 1 to 6), and the reference range behind the out-of-range flag of icu_bi.patient_labs. While the table is empty the built-in list of ward_lab_list() holds; once it has rows they are the whole list. Takes effect at the next refresh.';
COMMENT ON COLUMN @extschema@.ward_lab_display.feature IS 'Feature name (feature.name).';
COMMENT ON COLUMN @extschema@.ward_lab_display.key_lab_slot IS 'Key-lab column 1 to 6 of patient_status this feature fills; NULL: only in icu_bi.patient_labs.';
COMMENT ON COLUMN @extschema@.ward_lab_display.reference_low IS 'Lower end of the reference range in the canonical unit; NULL: no lower limit.';
COMMENT ON COLUMN @extschema@.ward_lab_display.reference_high IS 'Upper end of the reference range in the canonical unit; NULL: no upper limit.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ward_lab_display', '');

CREATE FUNCTION @extschema@.ward_lab_list()
RETURNS TABLE (feature text, key_lab_slot integer, reference_low float8, reference_high float8)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT d.feature, d.key_lab_slot, d.reference_low, d.reference_high
      FROM @extschema@.ward_lab_display d
    UNION ALL
    -- the built-in list (adult reference ranges), while the table is empty
    SELECT b.feature, b.key_lab_slot, b.reference_low, b.reference_high
      FROM (VALUES ('crp'::text, 1, NULL::float8, 10::float8),
                   ('ldh', 2, NULL, 250),
                   ('d_dimer', 3, NULL, 0.5),
                   ('ferritin', 4, 30, 400),
                   ('lymphocytes', 5, 1.0, 4.0)) AS b(feature, key_lab_slot, reference_low, reference_high)
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.ward_lab_display);
END;
COMMENT ON FUNCTION @extschema@.ward_lab_list() IS
    'The lab list in force: the rows of ward_lab_display, or while it is empty the built-in one (key labs 1 CRP (reference < 10 mg/L), 2 LDH (< 250 U/L), 3 D-dimer (< 0.5 mg/L FEU), 4 ferritin (30 to 400 ug/L), 5 lymphocytes (1.0 to 4.0 10^9/L); slot 6 empty).';

-- ---------------------------------------------------------------------------
-- risk_reasons(): the inputs behind a risk, in clinical words
-- ---------------------------------------------------------------------------
-- Numbers are shown with three significant digits (at most), trailing zeros
-- dropped.
CREATE FUNCTION @extschema@.clinical_number(x float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN x IS NULL THEN NULL
                WHEN x = 0 THEN '0'
                WHEN x <> x OR x IN ('Infinity'::float8, '-Infinity'::float8) THEN x::text
                ELSE pg_catalog.trim_scale(pg_catalog.round(x::numeric,
                         greatest(0, 2 - pg_catalog.floor(pg_catalog.log(pg_catalog.abs(x::numeric)))::integer)))::text
           END;
END;
COMMENT ON FUNCTION @extschema@.clinical_number(float8) IS
    'A number as the reasons show it: three significant digits at most, no trailing zeros (182, 0.456, 1240).';

CREATE FUNCTION @extschema@.risk_reasons(
    panel                 @extschema@.lab_panel,
    covariates            @extschema@.admission_covariates,
    hours_since_admission float8,
    unit_kind             text,
    model_name            text,
    model_version         text,
    top                   integer DEFAULT 10)
RETURNS TABLE (rank integer, input text, input_kind text, feature text, stat text,
               display_name text, value float8, unit text, trend_per_day float8,
               contribution float8, direction text, reason text, shown_in_reasons boolean)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH e AS (
        SELECT x.rank, x.input, x.value, x.contribution,
               pg_catalog.strpos(x.input, '.') > 0 AS is_lab,
               CASE WHEN pg_catalog.strpos(x.input, '.') > 0
                    THEN pg_catalog.split_part(x.input, '.', 1) END AS feature,
               CASE WHEN pg_catalog.strpos(x.input, '.') > 0
                    THEN pg_catalog.split_part(x.input, '.', 2) END AS stat
          FROM @extschema@.explain(risk_reasons.panel, risk_reasons.covariates,
                                   risk_reasons.hours_since_admission, risk_reasons.unit_kind,
                                   risk_reasons.model_name, risk_reasons.model_version,
                                   'icu_admission', risk_reasons.top) x
         WHERE risk_reasons.model_name IS NOT NULL AND x.contribution <> 0
    ), l AS (
        SELECT e.*, fl.display_name AS lab_name, fl.display_unit AS lab_unit,
               CASE WHEN e.is_lab AND e.stat = 'last' AND risk_reasons.panel IS NOT NULL
                    THEN @extschema@.lab_value(risk_reasons.panel, e.feature, 'trend') END AS trend,
               -- a comorbidity input (comorbidity_<group>): the group's description
               CASE WHEN NOT e.is_lab AND e.input LIKE 'comorbidity\_%' THEN
                    coalesce((SELECT g.description FROM @extschema@.comorbidity_groups() g
                               WHERE 'comorbidity_' || g.name = e.input),
                             pg_catalog.replace(pg_catalog.substr(e.input, 13), '_', ' ')) END AS group_name
          FROM e
          LEFT JOIN @extschema@.feature_label fl ON fl.feature = e.feature
    ), w AS (
        SELECT l.*,
               CASE WHEN l.is_lab THEN coalesce(l.lab_name, l.feature)
                    WHEN l.input = 'age_years' THEN 'Age'
                    WHEN l.input = 'sex_male' THEN 'Sex'
                    WHEN l.input = 'hours_since_admission' THEN 'Time since admission'
                    WHEN l.input LIKE 'unit\_kind\_%' THEN 'Location kind'
                    WHEN l.input = 'bmi' THEN 'BMI'
                    WHEN l.input = 'charlson_index' THEN 'Charlson comorbidity index'
                    WHEN l.input = 'age_missing' THEN 'Age'
                    WHEN l.input = 'sex_missing' THEN 'Sex'
                    WHEN l.input = 'bmi_missing' THEN 'BMI'
                    WHEN l.group_name IS NOT NULL THEN l.group_name
                    ELSE l.input END AS name,
               CASE WHEN l.is_lab THEN
                        CASE WHEN l.stat IN ('count', 'rejected') THEN 'results'
                             WHEN l.stat = 'hours_since_last' THEN 'h'
                             WHEN l.stat = 'trend' THEN l.lab_unit || '/day'
                             ELSE l.lab_unit END
                    WHEN l.input = 'age_years' THEN 'years'
                    WHEN l.input = 'hours_since_admission' THEN 'h'
                    WHEN l.input = 'bmi' THEN 'kg/m2' END AS shown_unit,
               CASE WHEN l.is_lab THEN
                        CASE l.stat WHEN 'last' THEN ''
                                    WHEN 'prev' THEN ' previous'
                                    WHEN 'first' THEN ' first'
                                    WHEN 'min' THEN ' lowest'
                                    WHEN 'max' THEN ' highest'
                                    WHEN 'mean' THEN ' mean'
                                    WHEN 'count' THEN ' number of'
                                    WHEN 'rejected' THEN ' rejected'
                                    WHEN 'trend' THEN ' trend'
                                    WHEN 'hours_since_last' THEN ' time since last result'
                                    ELSE ' ' || l.stat END END AS stat_words
          FROM l
    )
    SELECT w.rank, w.input,
           CASE WHEN w.is_lab THEN 'lab' ELSE 'non-lab' END,
           w.feature, w.stat, w.name, w.value, w.shown_unit, w.trend, w.contribution,
           CASE WHEN w.contribution > 0 THEN 'raises risk' ELSE 'lowers risk' END,
           CASE
             WHEN w.is_lab AND w.value IS NULL THEN
                  w.name || w.stat_words || ' not measured'
             WHEN w.is_lab THEN
                  w.name || w.stat_words || ' '
                  || CASE WHEN w.stat = 'trend' AND w.value > 0 THEN '+' ELSE '' END
                  || @extschema@.clinical_number(w.value)
                  || coalesce(' ' || w.shown_unit, '')
                  || CASE WHEN w.trend IS NULL THEN ''
                          WHEN w.trend > 0 THEN ' (rising ' || @extschema@.clinical_number(w.trend) || '/day)'
                          WHEN w.trend < 0 THEN ' (falling ' || @extschema@.clinical_number(-w.trend) || '/day)'
                          ELSE ' (steady)' END
             WHEN w.input = 'sex_male' THEN
                  'Sex ' || CASE WHEN w.value IS NULL THEN 'unknown' WHEN w.value = 1 THEN 'male'
                                 ELSE 'not male' END || ' (non-lab input)'
             WHEN w.input LIKE 'unit\_kind\_%' THEN
                  CASE WHEN w.value = 1 THEN 'Location kind ' ELSE 'Location kind not ' END
                  || pg_catalog.substr(w.input, 11) || ' (non-lab input)'
             WHEN w.input IN ('age_missing', 'sex_missing', 'bmi_missing') THEN
                  w.name || CASE WHEN w.value = 1 THEN ' unknown' ELSE ' known' END || ' (non-lab input)'
             WHEN w.group_name IS NOT NULL THEN
                  w.name || CASE WHEN w.value IS NULL THEN ' unknown (no diagnosis recorded)'
                                 WHEN w.value = 1 THEN ' recorded' ELSE ' not recorded' END
                  || ' (non-lab input)'
             ELSE w.name || ' ' || coalesce(@extschema@.clinical_number(w.value) || coalesce(' ' || w.shown_unit, ''),
                                            'unknown') || ' (non-lab input)'
           END || CASE WHEN w.contribution > 0 THEN ' raises risk' ELSE ' lowers risk' END,
           w.is_lab OR (@extschema@.ward_settings()).reasons_show_non_lab
      FROM w
     ORDER BY w.rank;
END;
COMMENT ON FUNCTION @extschema@.risk_reasons(@extschema@.lab_panel, @extschema@.admission_covariates, float8, text, text, text, integer) IS
    'The top inputs of a risk by the named icu_admission model (explain() with the admission''s covariates, C), in clinical words: display name (feature_label), value with its unit, the trend of a last value and the direction, e.g. ''C-reactive protein 182 mg/L (rising 40/day) raises risk''. covariates is admission_covariates(admission_id, as_of), as predict() and patient_status score with it, so BMI, comorbidity groups, the Charlson index and the missing indicators are read too. Non-lab inputs (age, sex, BMI, comorbidities, time since admission, location kind) are labelled ''(non-lab input)''; shown_in_reasons is false for them when ward_policy.reasons_show_non_lab is off. Inputs with no contribution are left out.';

-- ---------------------------------------------------------------------------
-- patient_status
-- ---------------------------------------------------------------------------
CREATE MATERIALIZED VIEW @extschema@.patient_status AS
WITH ref AS (
    SELECT @extschema@.reference_time() AS t,
           @extschema@.day_zone() AS tz,
           @extschema@.capacity_settings() AS pol,
           @extschema@.ward_settings() AS wp
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
    -- The death model: the active one whose horizon is nearest the status
    -- horizon (the shorter on a tie); patient_risk lists every death slot.
    SELECT @extschema@.active_risk_model((ref.pol).status_risk_horizon_hours) AS rm,
           @extschema@.active_risk_model((ref.pol).forecast_risk_horizon_hours) AS fm,
           (SELECT a FROM @extschema@.active_model a WHERE a.kind = 'icu_stay') AS sm,
           (SELECT a FROM @extschema@.active_model a
             WHERE a.kind = 'death'
             ORDER BY pg_catalog.abs(a.horizon_hours - (ref.pol).status_risk_horizon_hours),
                      a.horizon_hours
             LIMIT 1) AS dm
      FROM ref
), key_labs AS MATERIALIZED (
    -- the six key-lab columns: feature, display name and unit per slot
    SELECT pg_catalog.array_agg(k.feature ORDER BY s.slot) AS f,
           pg_catalog.array_agg(fl.display_name ORDER BY s.slot) AS n,
           pg_catalog.array_agg(fl.display_unit ORDER BY s.slot) AS u
      FROM pg_catalog.generate_series(1, 6) AS s(slot)
      LEFT JOIN @extschema@.ward_lab_list() k ON k.key_lab_slot = s.slot
      LEFT JOIN @extschema@.feature_label fl ON fl.feature = k.feature
), located AS (
    SELECT d.*, loc.unit, loc.unit_kind, loc.isolation, cv.covariates,
           EXISTS (SELECT 1 FROM @extschema@.location_stay s
                    WHERE s.admission_id = d.admission_id
                      AND s.unit_kind = 'icu'
                      AND s.started_at <= d.as_of) AS had_icu,
           (pg_catalog.date_part('epoch', d.as_of - d.admitted_at) / 3600.0)::float8 AS hours,
           (SELECT pg_catalog.max(c.resulted_at) FROM @extschema@.lab_canonical c
             WHERE c.admission_id = d.admission_id AND c.resulted_at <= d.as_of) AS data_time
      FROM days d
      LEFT JOIN LATERAL (
            SELECT s.unit, s.unit_kind, s.isolation
              FROM @extschema@.location_stay s
             WHERE s.admission_id = d.admission_id
               AND s.started_at <= d.as_of
             ORDER BY s.started_at DESC, s.stay_id DESC
             LIMIT 1) loc ON true
      -- the admission's covariates as of the row, as predict() reads them:
      -- age, sex, BMI, comorbidity groups (once per row: OFFSET 0)
      CROSS JOIN LATERAL (
            SELECT @extschema@.admission_covariates(d.admission_id, d.as_of) AS covariates
            OFFSET 0) cv
), scored AS (
    SELECT l.*,
           CASE WHEN l.unit_kind = 'icu' THEN 'in_icu'
                WHEN l.had_icu THEN 'post_icu'
                WHEN l.unit_kind = 'ed' THEN 'ed'
                ELSE 'pre_icu' END AS state,
           (models.rm).name AS rm_name, (models.rm).version AS rm_version,
           (models.rm).horizon_hours AS rm_horizon,
           (models.fm).name AS fm_name, (models.fm).version AS fm_version,
           (models.fm).horizon_hours AS fm_horizon,
           (models.rm).model_id AS rm_id, (models.rm).synthetic_default AS rm_synthetic,
           (models.fm).model_id AS fm_id, (models.fm).synthetic_default AS fm_synthetic,
           (models.sm).name AS stay_model, (models.sm).version AS stay_version,
           (models.sm).model_id AS stay_id, (models.sm).synthetic_default AS stay_synthetic,
           (models.dm).name AS dm_name, (models.dm).version AS dm_version,
           (models.dm).horizon_hours AS dm_horizon, (models.dm).model_id AS dm_id,
           (models.dm).synthetic_default AS dm_synthetic
      FROM located l
      CROSS JOIN models
), predicted AS MATERIALIZED (
    -- the C panel functions build every model input from the panel and the
    -- covariates (model/score_panel.c): the one input path of the extension,
    -- with admission_covariates() as predict() passes it, so a spec's BMI,
    -- comorbidity, Charlson and missing-indicator inputs score here as there.
    -- No ICU-admission risk is computed for patients in the ICU; the death
    -- risk is computed for every state (the death models are trained on
    -- every day in hospital, ICU days included).
    SELECT sc.*,
           CASE WHEN sc.rm_name IS NOT NULL AND sc.state <> 'in_icu' THEN sc.rm_name END AS risk_model,
           CASE WHEN sc.rm_name IS NOT NULL AND sc.state <> 'in_icu' THEN sc.rm_version END AS risk_version,
           CASE WHEN sc.rm_name IS NOT NULL AND sc.state <> 'in_icu' THEN
                @extschema@.risk(sc.panel, sc.covariates, sc.hours, sc.unit_kind,
                                 sc.rm_name, sc.rm_version) END AS risk,
           CASE WHEN sc.fm_name IS NOT NULL AND sc.state <> 'in_icu' THEN
                @extschema@.risk(sc.panel, sc.covariates, sc.hours, sc.unit_kind,
                                 sc.fm_name, sc.fm_version) END AS forecast_risk,
           CASE WHEN sc.dm_name IS NOT NULL THEN
                @extschema@.risk(sc.panel, sc.covariates, sc.hours, sc.unit_kind,
                                 sc.dm_name, sc.dm_version) END AS death_risk,
           CASE WHEN sc.stay_model IS NOT NULL THEN
                @extschema@.length_of_stay(sc.panel, sc.covariates, sc.hours, sc.unit_kind,
                                           sc.stay_model, sc.stay_version) END AS stay,
           CASE WHEN sc.state = 'in_icu' THEN
                (SELECT pg_catalog.date_part('epoch', sc.as_of - ep.started_at) / 86400.0
                   FROM @extschema@.icu_episode ep
                  WHERE ep.admission_id = sc.admission_id AND ep.started_at <= sc.as_of
                  ORDER BY ep.started_at DESC LIMIT 1) END::float8 AS icu_days,
           CASE WHEN sc.rm_name IS NOT NULL AND sc.state IN ('pre_icu', 'ed') THEN
                -- the three strongest shown inputs among the top 12 (at most
                -- 9 inputs are non-lab, so 3 labs remain when the policy
                -- leaves those out)
                (SELECT pg_catalog.string_agg(r.reason, '; ' ORDER BY r.rank)
                   FROM (SELECT r0.reason, r0.rank
                           FROM @extschema@.risk_reasons(sc.panel, sc.covariates, sc.hours,
                                                         sc.unit_kind, sc.rm_name, sc.rm_version, 12) r0
                          WHERE r0.shown_in_reasons
                          ORDER BY r0.rank LIMIT 3) r) END AS reasons
      FROM scored sc
), grid AS MATERIALIZED (
    -- u = 0, 1/4, ..., 90 days (six-hourly), built once
    SELECT ARRAY(SELECT k / 4.0 FROM pg_catalog.generate_series(0, 360) k ORDER BY k)::float8[] AS u
), icu_curves AS MATERIALIZED (
    -- in the ICU only: S(s + u) on the six-hourly grid
    SELECT p.admission_id, p.day_date, coalesce(p.icu_days, 0)::float8 AS s,
           (p.stay).location_days AS loc, p.stay_model, p.stay_version,
           @extschema@.stay_survival_curve((p.stay).location_days,
               ARRAY(SELECT coalesce(p.icu_days, 0) + x.u
                       FROM pg_catalog.unnest(g.u) WITH ORDINALITY AS x(u, n) ORDER BY x.n),
               p.stay_model, p.stay_version) AS curve
      FROM predicted p, grid g
     WHERE p.state = 'in_icu' AND p.stay_model IS NOT NULL
       AND (p.stay).location_days IS NOT NULL
), icu_brackets AS MATERIALIZED (
    -- one pass over each curve (curve[n] is u = (n - 1) / 4 days): Simpson's
    -- sum, and the first grid point at or below each level of S(s), so the
    -- quantile lies in the six hours before it
    SELECT c.*, x.simpson, x.n50, x.n90, x.n10,
           @extschema@.stay_survival_curve(c.loc,
               ARRAY(SELECT c.s + (6 * (coalesce(b.n, 2) - 2) + j) / 24.0
                       FROM (VALUES (1, x.n50), (2, x.n90), (3, x.n10)) AS b(i, n),
                            pg_catalog.generate_series(0, 6) j
                      ORDER BY b.i, j),
               c.stay_model, c.stay_version) AS fine
      FROM icu_curves c
      CROSS JOIN LATERAL (
            SELECT pg_catalog.sum(u.v * CASE WHEN u.n IN (1, 361) THEN 1 WHEN u.n % 2 = 0 THEN 4 ELSE 2 END) AS simpson,
                   pg_catalog.min(u.n) FILTER (WHERE u.v <= 0.5 * c.curve[1]) AS n50,
                   pg_catalog.min(u.n) FILTER (WHERE u.v <= 0.9 * c.curve[1]) AS n90,
                   pg_catalog.min(u.n) FILTER (WHERE u.v <= 0.1 * c.curve[1]) AS n10
              FROM pg_catalog.unnest(c.curve) WITH ORDINALITY AS u(v, n)) x
     WHERE c.curve[1] > 0
), icu_remaining AS MATERIALIZED (
    -- the quantiles between the hours of their bracket (fine[7 i + j + 1] is
    -- hour j of bracket i), linear within the hour
    SELECT b.admission_id, b.day_date,
           least(1.0, b.curve[5] / b.curve[1])::float8 AS p1,
           least(1.0, b.curve[13] / b.curve[1])::float8 AS p3,
           least(1.0, b.curve[29] / b.curve[1])::float8 AS p7,
           (b.simpson * 0.25 / 3.0 / b.curve[1])::float8 AS expected,
           q.median, q.p10, q.p90
      FROM icu_brackets b
      CROSS JOIN LATERAL (
            SELECT pg_catalog.max(t.days) FILTER (WHERE t.i = 0) AS median,
                   pg_catalog.max(t.days) FILTER (WHERE t.i = 1) AS p10,
                   pg_catalog.max(t.days) FILTER (WHERE t.i = 2) AS p90
              FROM (SELECT l.i,
                           ((6 * (l.n - 2) + j.j - 1
                             + (b.fine[7 * l.i + j.j] - l.level * b.curve[1])
                               / nullif(b.fine[7 * l.i + j.j] - b.fine[7 * l.i + j.j + 1], 0)) / 24.0)::float8 AS days
                      FROM (VALUES (0, b.n50, 0.5::float8), (1, b.n90, 0.9), (2, b.n10, 0.1)) AS l(i, n, level)
                      CROSS JOIN LATERAL (
                            SELECT coalesce(pg_catalog.min(jj), 6) AS j
                              FROM pg_catalog.generate_series(1, 6) jj
                             WHERE b.fine[7 * l.i + jj + 1] <= l.level * b.curve[1]) j
                     WHERE l.n IS NOT NULL) t) q
), summarised AS (
    SELECT p.*, ir.p1, ir.p3, ir.p7, ir.expected, ir.median, ir.p10, ir.p90
      FROM predicted p
      LEFT JOIN icu_remaining ir ON ir.admission_id = p.admission_id AND ir.day_date = p.day_date
), shown AS (
    SELECT s.*,
           (pg_catalog.date_part('epoch', s.as_of - s.data_time) / 3600.0)::float8 AS lab_hours,
           pg_catalog.date_part('epoch', s.as_of - coalesce(s.data_time, s.admitted_at)) / 3600.0
               > (ref.wp).stale_lab_hours AS stale,
           CASE WHEN s.state IN ('pre_icu', 'ed') THEN s.risk END AS ward_risk
      FROM summarised s, ref
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
       p.state AS patient_state,
       CASE p.state
            WHEN 'pre_icu' THEN 'Not yet in the ICU: scored for ICU admission.'
            WHEN 'ed' THEN 'In the emergency department, not yet in the ICU: scored for ICU admission.'
            WHEN 'in_icu' THEN 'In the ICU: no ICU-admission risk; remaining ICU stay and P(still in ICU) shown.'
            ELSE 'After an ICU stay: not scored, the ICU-admission models are trained on patients before their first ICU stay (no readmission model yet).'
       END AS state_note,
       (pg_catalog.date_part('epoch', p.as_of - p.admitted_at) / 86400.0)::float8 AS days_in_hospital,
       p.hours AS hours_since_admission,
       kl.f[1] AS key_lab_1_feature, kl.n[1] AS key_lab_1_name, kl.u[1] AS key_lab_1_unit,
       @extschema@.lab_value(p.panel, kl.f[1], 'last') AS key_lab_1_last,
       @extschema@.lab_value(p.panel, kl.f[1], 'trend') AS key_lab_1_trend,
       kl.f[2] AS key_lab_2_feature, kl.n[2] AS key_lab_2_name, kl.u[2] AS key_lab_2_unit,
       @extschema@.lab_value(p.panel, kl.f[2], 'last') AS key_lab_2_last,
       @extschema@.lab_value(p.panel, kl.f[2], 'trend') AS key_lab_2_trend,
       kl.f[3] AS key_lab_3_feature, kl.n[3] AS key_lab_3_name, kl.u[3] AS key_lab_3_unit,
       @extschema@.lab_value(p.panel, kl.f[3], 'last') AS key_lab_3_last,
       @extschema@.lab_value(p.panel, kl.f[3], 'trend') AS key_lab_3_trend,
       kl.f[4] AS key_lab_4_feature, kl.n[4] AS key_lab_4_name, kl.u[4] AS key_lab_4_unit,
       @extschema@.lab_value(p.panel, kl.f[4], 'last') AS key_lab_4_last,
       @extschema@.lab_value(p.panel, kl.f[4], 'trend') AS key_lab_4_trend,
       kl.f[5] AS key_lab_5_feature, kl.n[5] AS key_lab_5_name, kl.u[5] AS key_lab_5_unit,
       @extschema@.lab_value(p.panel, kl.f[5], 'last') AS key_lab_5_last,
       @extschema@.lab_value(p.panel, kl.f[5], 'trend') AS key_lab_5_trend,
       kl.f[6] AS key_lab_6_feature, kl.n[6] AS key_lab_6_name, kl.u[6] AS key_lab_6_unit,
       @extschema@.lab_value(p.panel, kl.f[6], 'last') AS key_lab_6_last,
       @extschema@.lab_value(p.panel, kl.f[6], 'trend') AS key_lab_6_trend,
       p.risk,
       CASE WHEN p.risk IS NOT NULL THEN p.rm_horizon END AS risk_horizon_hours,
       CASE WHEN p.ward_risk IS NULL THEN NULL
            WHEN p.ward_risk >= (ref.pol).risk_band_high THEN 'high'
            WHEN p.ward_risk >= (ref.pol).risk_band_medium THEN 'medium'
            ELSE 'low' END AS risk_band,
       p.ward_risk - pg_catalog.lag(p.ward_risk) OVER w AS risk_change,
       CASE WHEN p.ward_risk IS NULL THEN NULL
            WHEN p.stale THEN 'stale'
            WHEN pg_catalog.lag(p.ward_risk) OVER w IS NULL THEN NULL
            WHEN p.ward_risk - pg_catalog.lag(p.ward_risk) OVER w > (ref.pol).course_stable_band THEN 'worsening'
            WHEN p.ward_risk - pg_catalog.lag(p.ward_risk) OVER w < -(ref.pol).course_stable_band THEN 'improving'
            ELSE 'stable' END AS course,
       (p.stay).expected_days AS stay_expected_days,
       (p.stay).median_days AS stay_median_days,
       (p.stay).p10_days AS stay_p10_days,
       (p.stay).p90_days AS stay_p90_days,
       p.icu_days AS icu_days_so_far,
       p.expected AS icu_remaining_expected_days,
       p.median AS icu_remaining_median_days,
       p.p10 AS icu_remaining_p10_days,
       p.p90 AS icu_remaining_p90_days,
       p.p1 AS p_still_in_icu_1d,
       p.p3 AS p_still_in_icu_3d,
       p.p7 AS p_still_in_icu_7d,
       p.reasons AS top_reasons,
       p.risk_model || ' ' || p.risk_version AS risk_model_version,
       p.forecast_risk,
       CASE WHEN p.forecast_risk IS NOT NULL THEN p.fm_horizon END AS forecast_risk_horizon_hours,
       CASE WHEN p.forecast_risk IS NOT NULL THEN p.fm_name || ' ' || p.fm_version END AS forecast_risk_model_version,
       p.stay_model || ' ' || p.stay_version AS stay_model_version,
       p.stay_model, p.stay_version, (p.stay).location_days AS stay_location_days,
       CASE WHEN p.risk IS NOT NULL THEN p.rm_id END AS risk_model_id,
       CASE WHEN p.risk IS NOT NULL THEN p.rm_synthetic END AS risk_synthetic_default,
       CASE WHEN p.forecast_risk IS NOT NULL THEN p.fm_id END AS forecast_risk_model_id,
       CASE WHEN p.forecast_risk IS NOT NULL THEN p.fm_synthetic END AS forecast_risk_synthetic_default,
       p.death_risk,
       CASE WHEN p.death_risk IS NOT NULL THEN p.dm_horizon END AS death_risk_horizon_hours,
       CASE WHEN p.death_risk IS NOT NULL THEN p.dm_name || ' ' || p.dm_version END AS death_risk_model_version,
       CASE WHEN p.death_risk IS NOT NULL THEN p.dm_id END AS death_risk_model_id,
       CASE WHEN p.death_risk IS NOT NULL THEN p.dm_synthetic END AS death_risk_synthetic_default,
       CASE WHEN p.dm_name IS NULL
            THEN 'No death model is active: deploy one with icu_predict.deploy(name, version) (docs/training.md).'
            WHEN p.death_risk IS NULL THEN 'The death model gave no value for this row.'
       END AS death_risk_note,
       CASE WHEN p.stay_model IS NOT NULL THEN p.stay_id END AS stay_model_id,
       CASE WHEN p.stay_model IS NOT NULL THEN p.stay_synthetic END AS stay_synthetic_default,
       p.data_time,
       p.lab_hours AS hours_since_last_lab,
       p.stale AS labs_stale,
       p.panel,
       p.age_years,
       p.sex,
       p.risk_model,
       p.risk_version,
       pg_catalog.now() AS refreshed_at
  FROM shown p, ref, key_labs kl
WINDOW w AS (PARTITION BY p.admission_id ORDER BY p.day_date)
WITH NO DATA;

CREATE UNIQUE INDEX patient_status_key ON @extschema@.patient_status (admission_id, day_date);
CREATE INDEX patient_status_today_idx ON @extschema@.patient_status (day_date, ward);

COMMENT ON MATERIALIZED VIEW @extschema@.patient_status IS
    'Daily patient status: one row per current admission (at icu_predict.reference_time(), default now) per calendar day of stay up to the reference day, each as of the end of that day (today: as of the reference time), with the patient''s state (pre_icu, ed, in_icu, post_icu) and only the scores that apply to it. Populated by CALL icu_predict.refresh(); read it through icu_bi.patient_status.';
COMMENT ON COLUMN @extschema@.patient_status.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.patient_status.patient_id IS 'Pseudonymous patient identifier.';
COMMENT ON COLUMN @extschema@.patient_status.day_date IS 'Calendar day of the stay (in icu_predict.day_timezone).';
COMMENT ON COLUMN @extschema@.patient_status.day_of_stay IS 'Day number of the stay: 1 is the day of admission.';
COMMENT ON COLUMN @extschema@.patient_status.is_today IS 'True for the row of the reference day.';
COMMENT ON COLUMN @extschema@.patient_status.as_of IS 'The moment the row describes: the end of day_date, or the reference time for today.';
COMMENT ON COLUMN @extschema@.patient_status.ward IS 'Ward or unit where the patient lay at as_of (latest location stay begun by then).';
COMMENT ON COLUMN @extschema@.patient_status.unit_kind IS 'Kind of that unit: ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN @extschema@.patient_status.isolation IS 'Isolation label of that location stay.';
COMMENT ON COLUMN @extschema@.patient_status.patient_state IS 'pre_icu (not in the ICU, no ICU stay yet: scored), ed (emergency department, no ICU stay yet: scored), in_icu (in an ICU: remaining stay instead of a risk), post_icu (outside the ICU after an ICU stay of this admission: not scored).';
COMMENT ON COLUMN @extschema@.patient_status.state_note IS 'What the state means for the numbers of the row, in words.';
COMMENT ON COLUMN @extschema@.patient_status.days_in_hospital IS 'Days from hospital admission to as_of.';
COMMENT ON COLUMN @extschema@.patient_status.hours_since_admission IS 'Hours from hospital admission to as_of (the models'' covariate).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_1_feature IS 'Feature of key-lab column 1 (ward_lab_list(); NULL when the slot is empty); key_lab_2 to key_lab_6 likewise.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_1_name IS 'Display name of key lab 1 (feature_label).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_1_unit IS 'Unit of key lab 1.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_1_last IS 'Last value of key lab 1 resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_1_trend IS 'Trend of key lab 1: least-squares slope per day over the panel''s trend window.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_2_feature IS 'Feature of key-lab column 2 (ward_lab_list(); NULL when the slot is empty).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_2_name IS 'Display name of key lab 2.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_2_unit IS 'Unit of key lab 2.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_2_last IS 'Last value of key lab 2 resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_2_trend IS 'Trend of key lab 2 per day.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_3_feature IS 'Feature of key-lab column 3 (ward_lab_list(); NULL when the slot is empty).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_3_name IS 'Display name of key lab 3.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_3_unit IS 'Unit of key lab 3.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_3_last IS 'Last value of key lab 3 resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_3_trend IS 'Trend of key lab 3 per day.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_4_feature IS 'Feature of key-lab column 4 (ward_lab_list(); NULL when the slot is empty).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_4_name IS 'Display name of key lab 4.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_4_unit IS 'Unit of key lab 4.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_4_last IS 'Last value of key lab 4 resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_4_trend IS 'Trend of key lab 4 per day.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_5_feature IS 'Feature of key-lab column 5 (ward_lab_list(); NULL when the slot is empty).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_5_name IS 'Display name of key lab 5.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_5_unit IS 'Unit of key lab 5.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_5_last IS 'Last value of key lab 5 resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_5_trend IS 'Trend of key lab 5 per day.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_6_feature IS 'Feature of key-lab column 6 (ward_lab_list(); NULL when the slot is empty).';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_6_name IS 'Display name of key lab 6.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_6_unit IS 'Unit of key lab 6.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_6_last IS 'Last value of key lab 6 resulted by as_of.';
COMMENT ON COLUMN @extschema@.patient_status.key_lab_6_trend IS 'Trend of key lab 6 per day.';
COMMENT ON COLUMN @extschema@.patient_status.risk IS 'Probability of ICU admission within risk_horizon_hours (default 48 h) as of as_of, from the active icu_admission model of capacity_policy.status_risk_horizon_hours (else the nearest horizon), with the admission''s covariates (admission_covariates(admission_id, as_of)): equals predict(admission_id, as_of). NULL in the ICU and without an active risk model. For post_icu rows it is the first-admission model''s output, kept only as the capacity forecast''s input: risk_band, course and reasons are NULL there and icu_bi does not show it.';
COMMENT ON COLUMN @extschema@.patient_status.risk_horizon_hours IS 'Horizon of risk in hours (the risk model''s own horizon_hours).';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk IS 'Probability of ICU admission within forecast_risk_horizon_hours (default 7 days) from the active risk model of capacity_policy.forecast_risk_horizon_hours (else the nearest horizon); the capacity forecast uses it. NULL in the ICU; for post_icu rows as for risk.';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk_horizon_hours IS 'Horizon of forecast_risk in hours (that model''s own horizon_hours).';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk_model_version IS 'Name and version of the model behind forecast_risk.';
COMMENT ON COLUMN @extschema@.patient_status.risk_band IS 'low, medium or high by capacity_policy.risk_band_medium / risk_band_high; pre_icu and ed rows only.';
COMMENT ON COLUMN @extschema@.patient_status.risk_change IS 'Risk minus the risk of the day before (NULL on the first scored day); pre_icu and ed rows only.';
COMMENT ON COLUMN @extschema@.patient_status.course IS 'stale when labs_stale; else improving, stable or worsening: risk_change against +/- capacity_policy.course_stable_band; pre_icu and ed rows only.';
COMMENT ON COLUMN @extschema@.patient_status.stay_expected_days IS 'Expected ICU length of stay in days from the start of an ICU stay (active icu_stay model).';
COMMENT ON COLUMN @extschema@.patient_status.stay_median_days IS 'Median ICU length of stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.stay_p10_days IS '10th percentile of ICU length of stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.stay_p90_days IS '90th percentile of ICU length of stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.icu_days_so_far IS 'In the ICU: days since the current ICU episode began (icu_episode), s.';
COMMENT ON COLUMN @extschema@.patient_status.icu_remaining_expected_days IS 'In the ICU: expected remaining ICU stay in days, the integral of S(s + u) / S(s) over u up to 90 days (Simpson, six-hourly; stay model of the capacity forecast).';
COMMENT ON COLUMN @extschema@.patient_status.icu_remaining_median_days IS 'In the ICU: median remaining ICU stay in days (S(s + u) / S(s) = 0.5, linear between hours).';
COMMENT ON COLUMN @extschema@.patient_status.icu_remaining_p10_days IS 'In the ICU: 10th percentile of the remaining ICU stay in days.';
COMMENT ON COLUMN @extschema@.patient_status.icu_remaining_p90_days IS 'In the ICU: 90th percentile of the remaining ICU stay in days; NULL beyond 90 days.';
COMMENT ON COLUMN @extschema@.patient_status.p_still_in_icu_1d IS 'In the ICU: P(still in the ICU 1 day after as_of) = S(s + 1) / S(s), as the capacity forecast counts it.';
COMMENT ON COLUMN @extschema@.patient_status.p_still_in_icu_3d IS 'In the ICU: P(still in the ICU 3 days after as_of).';
COMMENT ON COLUMN @extschema@.patient_status.p_still_in_icu_7d IS 'In the ICU: P(still in the ICU 7 days after as_of).';
COMMENT ON COLUMN @extschema@.patient_status.top_reasons IS 'pre_icu and ed rows: up to three inputs that move the risk most, in clinical words (risk_reasons()), separated by ''; ''.';
COMMENT ON COLUMN @extschema@.patient_status.risk_model_version IS 'Name and version of the risk model behind risk.';
COMMENT ON COLUMN @extschema@.patient_status.stay_model_version IS 'Name and version of the length-of-stay model.';
COMMENT ON COLUMN @extschema@.patient_status.stay_model IS 'Stay model name (capacity_forecast scores S(t) with it).';
COMMENT ON COLUMN @extschema@.patient_status.stay_version IS 'Stay model version.';
COMMENT ON COLUMN @extschema@.patient_status.risk_model_id IS 'model_id of the model behind risk (NULL when risk is NULL).';
COMMENT ON COLUMN @extschema@.patient_status.risk_synthetic_default IS 'True when risk comes from a shipped default model trained on synthetic data (active_model.synthetic_default): not validated on this hospital''s patients.';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk_model_id IS 'model_id of the model behind forecast_risk.';
COMMENT ON COLUMN @extschema@.patient_status.forecast_risk_synthetic_default IS 'True when forecast_risk comes from a shipped default model trained on synthetic data.';
COMMENT ON COLUMN @extschema@.patient_status.death_risk IS 'Probability of in-hospital death within death_risk_horizon_hours as of as_of, by the active death model whose horizon is nearest capacity_policy.status_risk_horizon_hours (the shorter on a tie; patient_risk lists every death slot), scored like risk with the admission''s covariates. Every patient state. NULL without an active death model (death_risk_note says so).';
COMMENT ON COLUMN @extschema@.patient_status.death_risk_horizon_hours IS 'Horizon of death_risk in hours (the death model''s own horizon_hours).';
COMMENT ON COLUMN @extschema@.patient_status.death_risk_model_version IS 'Name and version of the death model behind death_risk.';
COMMENT ON COLUMN @extschema@.patient_status.death_risk_model_id IS 'model_id of the death model behind death_risk.';
COMMENT ON COLUMN @extschema@.patient_status.death_risk_synthetic_default IS 'True when death_risk comes from a shipped default model trained on synthetic data.';
COMMENT ON COLUMN @extschema@.patient_status.death_risk_note IS 'Why death_risk is NULL (no active death model); NULL when it has a value.';
COMMENT ON COLUMN @extschema@.patient_status.stay_model_id IS 'model_id of the length-of-stay model behind the stay and remaining-stay columns.';
COMMENT ON COLUMN @extschema@.patient_status.stay_synthetic_default IS 'True when the stay model is a shipped default trained on synthetic data.';
COMMENT ON COLUMN @extschema@.patient_status.stay_location_days IS 'Location exp(mu) of the stay distribution for this row (capacity_forecast evaluates S(t) from it with stay_survival_curve()).';
COMMENT ON COLUMN @extschema@.patient_status.data_time IS 'Result time of the latest lab in the row''s panel (NULL without labs).';
COMMENT ON COLUMN @extschema@.patient_status.hours_since_last_lab IS 'Hours from data_time to as_of (NULL without labs).';
COMMENT ON COLUMN @extschema@.patient_status.labs_stale IS 'True when the newest lab (or, without labs, the admission) is more than ward_policy.stale_lab_hours before as_of.';
COMMENT ON COLUMN @extschema@.patient_status.panel IS 'The row''s lab panel (lab_panel): icu_bi.patient_labs and icu_bi.patient_reasons read it.';
COMMENT ON COLUMN @extschema@.patient_status.age_years IS 'Age at admission (a model covariate).';
COMMENT ON COLUMN @extschema@.patient_status.sex IS 'Sex (a model covariate).';
COMMENT ON COLUMN @extschema@.patient_status.risk_model IS 'Name of the risk model behind risk.';
COMMENT ON COLUMN @extschema@.patient_status.risk_version IS 'Version of the risk model behind risk.';
COMMENT ON COLUMN @extschema@.patient_status.refreshed_at IS 'When the view was last refreshed.';
