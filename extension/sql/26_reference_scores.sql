-- Published clinical scores, the reference rows of every model card
-- (docs/training.md, "Reference scores"): NEWS2 and the ISARIC 4C Mortality
-- Score.  One definition: the training code (model/reference_scores.py)
-- scores its rows with news2_points() and isaric4c_points(); news2() and
-- isaric4c() score one admission as of a time from the same numbers (the
-- panel's last value of each feature, admission_covariates()).
--
-- NEWS2 -- Royal College of Physicians, National Early Warning Score (NEWS) 2,
-- December 2017, chart 1 (SpO2 scale 1):
--   respiration rate /min  <=8: 3   9-11: 1   12-20: 0   21-24: 2   >=25: 3
--   SpO2 %                 <=91: 3  92-93: 2  94-95: 1   >=96: 0
--   air or oxygen          oxygen: 2, air: 0
--   systolic BP mmHg       <=90: 3  91-100: 2 101-110: 1 111-219: 0 >=220: 3
--   pulse /min             <=40: 3  41-50: 1  51-90: 0   91-110: 1  111-130: 2  >=131: 3
--   consciousness          alert: 0, new confusion / V / P / U: 3
--   temperature degC       <=35.0: 3  35.1-36.0: 1  36.1-38.0: 0  38.1-39.0: 1  >=39.1: 2
-- Supplemental oxygen is not recorded and scores 0 (air); consciousness is
-- read from the GCS total (15: alert; below 15: 3 points).  A value between
-- the chart's whole-number bands takes the band above the bound it exceeds
-- (respiration 20.5 scores as 21-24): each band is "above the previous
-- upper bound, up to and including its own".
--
-- ISARIC 4C Mortality Score -- Knight SR et al., BMJ 2020;370:m3339, table 2:
--   age years         <50: 0  50-59: 2  60-69: 4  70-79: 6  >=80: 7
--   sex at birth      female: 0, male: 1
--   comorbidities     0: 0  1: 1  >=2: 2
--   respiratory rate  <20: 0  20-29: 1  >=30: 2
--   SpO2 on room air  >=92: 0  <92: 2
--   GCS               15: 0  <15: 2
--   urea mmol/L       <7: 0  7-14: 1  >14: 3
--   CRP mg/L          <50: 0  50-99: 1  >=100: 2
-- The comorbidity count is the number of comorbidity groups of the admission
-- known by then (admission_covariates(), Charlson groups), a proxy for the
-- 4C list; age 79.9 is 70-79.
--
-- The one rule for missing inputs: a missing component (NULL) scores 0 points,
-- taken as normal as a blank field on a bedside chart would be; the score is
-- the sum of the points of the components present, and `missing` names the
-- components that were absent (empty when the score is complete).  `points`
-- holds the points of every component, JSON null for a missing one.  NaN and
-- +-Infinity are errors (22023), not missing values.
--
-- ISARIC 4C Deterioration (Gupta RK et al., Lancet Respir Med 2021) is not
-- here: it is a logistic model with continuous terms, not a points table, and
-- three of its inputs (nosocomial infection, oxygen therapy, chest-radiograph
-- infiltrates) are not in the data the extension holds.

CREATE FUNCTION @extschema@.news2_points(resp_rate float8, spo2 float8, sbp float8,
                                         heart_rate float8, temperature float8, gcs float8,
                                         OUT score integer, OUT points jsonb, OUT missing text[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    names  text[]   := ARRAY['resp_rate', 'spo2', 'sbp', 'heart_rate', 'temperature', 'gcs'];
    vals   float8[] := ARRAY[resp_rate, spo2, sbp, heart_rate, temperature, gcs];
    pts    integer[];
BEGIN
    FOR i IN 1 .. 6 LOOP
        IF vals[i] IS NOT NULL AND (vals[i] = 'NaN'::float8 OR vals[i] = 'Infinity'::float8
                                    OR vals[i] = '-Infinity'::float8) THEN
            RAISE EXCEPTION 'NEWS2 input % is %', names[i], vals[i]
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass a finite value, or NULL for a missing one (it scores 0 points).';
        END IF;
    END LOOP;
    pts := ARRAY[
        CASE WHEN resp_rate IS NULL THEN NULL WHEN resp_rate <= 8 THEN 3 WHEN resp_rate <= 11 THEN 1
             WHEN resp_rate <= 20 THEN 0 WHEN resp_rate <= 24 THEN 2 ELSE 3 END,
        CASE WHEN spo2 IS NULL THEN NULL WHEN spo2 <= 91 THEN 3 WHEN spo2 <= 93 THEN 2
             WHEN spo2 <= 95 THEN 1 ELSE 0 END,
        CASE WHEN sbp IS NULL THEN NULL WHEN sbp <= 90 THEN 3 WHEN sbp <= 100 THEN 2
             WHEN sbp <= 110 THEN 1 WHEN sbp <= 219 THEN 0 ELSE 3 END,
        CASE WHEN heart_rate IS NULL THEN NULL WHEN heart_rate <= 40 THEN 3 WHEN heart_rate <= 50 THEN 1
             WHEN heart_rate <= 90 THEN 0 WHEN heart_rate <= 110 THEN 1 WHEN heart_rate <= 130 THEN 2 ELSE 3 END,
        CASE WHEN temperature IS NULL THEN NULL WHEN temperature <= 35.0 THEN 3 WHEN temperature <= 36.0 THEN 1
             WHEN temperature <= 38.0 THEN 0 WHEN temperature <= 39.0 THEN 1 ELSE 2 END,
        CASE WHEN gcs IS NULL THEN NULL WHEN gcs < 15 THEN 3 ELSE 0 END];
    score := 0;
    points := '{}'::jsonb;
    missing := '{}'::text[];
    FOR i IN 1 .. 6 LOOP
        score := score + COALESCE(pts[i], 0);
        points := points OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(names[i], pts[i]);
        IF pts[i] IS NULL THEN
            missing := pg_catalog.array_append(missing, names[i]);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.news2_points(float8, float8, float8, float8, float8, float8) IS
    'NEWS2 (Royal College of Physicians 2017, chart 1, SpO2 scale 1) from respiratory rate (/min), SpO2 (%), systolic BP (mmHg), pulse (/min), temperature (degC) and GCS total: score (0-18 here: supplemental oxygen is not recorded and scores 0), points per component (JSON null when missing) and the missing components. A missing input (NULL) scores 0 points; consciousness from GCS (15 alert, below 15: 3 points). NaN or infinite input: 22023.';

CREATE FUNCTION @extschema@.isaric4c_points(age_years float8, male boolean, comorbidity_count integer,
                                            resp_rate float8, spo2 float8, gcs float8,
                                            urea float8, crp float8,
                                            OUT score integer, OUT points jsonb, OUT missing text[])
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    names  text[]   := ARRAY['age_years', 'resp_rate', 'spo2', 'gcs', 'urea', 'crp'];
    vals   float8[] := ARRAY[age_years, resp_rate, spo2, gcs, urea, crp];
    all_names text[] := ARRAY['age_years', 'sex', 'comorbidities', 'resp_rate', 'spo2', 'gcs', 'urea', 'crp'];
    pts    integer[];
BEGIN
    FOR i IN 1 .. 6 LOOP
        IF vals[i] IS NOT NULL AND (vals[i] = 'NaN'::float8 OR vals[i] = 'Infinity'::float8
                                    OR vals[i] = '-Infinity'::float8) THEN
            RAISE EXCEPTION 'ISARIC 4C input % is %', names[i], vals[i]
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass a finite value, or NULL for a missing one (it scores 0 points).';
        END IF;
    END LOOP;
    IF comorbidity_count < 0 THEN
        RAISE EXCEPTION 'ISARIC 4C comorbidity count % is negative', comorbidity_count
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    pts := ARRAY[
        CASE WHEN age_years IS NULL THEN NULL WHEN age_years < 50 THEN 0 WHEN age_years < 60 THEN 2
             WHEN age_years < 70 THEN 4 WHEN age_years < 80 THEN 6 ELSE 7 END,
        CASE WHEN male IS NULL THEN NULL WHEN male THEN 1 ELSE 0 END,
        CASE WHEN comorbidity_count IS NULL THEN NULL ELSE LEAST(comorbidity_count, 2) END,
        CASE WHEN resp_rate IS NULL THEN NULL WHEN resp_rate >= 30 THEN 2 WHEN resp_rate >= 20 THEN 1 ELSE 0 END,
        CASE WHEN spo2 IS NULL THEN NULL WHEN spo2 < 92 THEN 2 ELSE 0 END,
        CASE WHEN gcs IS NULL THEN NULL WHEN gcs < 15 THEN 2 ELSE 0 END,
        CASE WHEN urea IS NULL THEN NULL WHEN urea > 14 THEN 3 WHEN urea >= 7 THEN 1 ELSE 0 END,
        CASE WHEN crp IS NULL THEN NULL WHEN crp >= 100 THEN 2 WHEN crp >= 50 THEN 1 ELSE 0 END];
    score := 0;
    points := '{}'::jsonb;
    missing := '{}'::text[];
    FOR i IN 1 .. 8 LOOP
        score := score + COALESCE(pts[i], 0);
        points := points OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(all_names[i], pts[i]);
        IF pts[i] IS NULL THEN
            missing := pg_catalog.array_append(missing, all_names[i]);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.isaric4c_points(float8, boolean, integer, float8, float8, float8, float8, float8) IS
    'ISARIC 4C Mortality Score (Knight et al., BMJ 2020;370:m3339) from age (years), male (NULL unknown), comorbidity count, respiratory rate (/min), SpO2 on air (%), GCS total, urea (mmol/L) and CRP (mg/L): score (0-21), points per component (JSON null when missing) and the missing components. A missing input (NULL) scores 0 points. NaN or infinite input, or a negative count: 22023.';

CREATE FUNCTION @extschema@.reference_score_admission(fn text, admission_id bigint, as_of timestamptz)
RETURNS @extschema@.lab_panel
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    admitted timestamptz;
BEGIN
    SELECT a.admitted_at INTO admitted
      FROM @extschema@.admission a WHERE a.admission_id = reference_score_admission.admission_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION '%: admission % does not exist', fn, reference_score_admission.admission_id
            USING ERRCODE = 'undefined_object';
    END IF;
    IF as_of IS NULL THEN
        RAISE EXCEPTION '%: as_of is NULL', fn
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the time to score the admission at.';
    END IF;
    IF as_of < admitted THEN
        RAISE EXCEPTION '%: as_of % is before admission % began (%)', fn, as_of,
                        reference_score_admission.admission_id, admitted
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN @extschema@.lab_panel_at(reference_score_admission.admission_id, as_of);
END
$$;
COMMENT ON FUNCTION @extschema@.reference_score_admission(text, bigint, timestamptz) IS
    'For news2() and isaric4c(): the lab panel of an admission as of a time, after checking that the admission exists (42704) and that as_of is not NULL nor before its admission (22023).';

CREATE FUNCTION @extschema@.reference_score_last(panel @extschema@.lab_panel, feature text)
RETURNS float8
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN EXISTS (SELECT 1 FROM @extschema@.feature f WHERE f.name = reference_score_last.feature)
                THEN @extschema@.lab_value(reference_score_last.panel, reference_score_last.feature, 'last') END;
END;
COMMENT ON FUNCTION @extschema@.reference_score_last(@extschema@.lab_panel, text) IS
    'For news2() and isaric4c(): the last value of a feature in a panel, NULL (missing) when the panel has none or the catalogue no longer has the feature.';

CREATE FUNCTION @extschema@.news2(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now(),
                                  OUT score integer, OUT points jsonb, OUT missing text[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    p @extschema@.lab_panel := @extschema@.reference_score_admission('news2', news2.admission_id, news2.as_of);
BEGIN
    SELECT s.score, s.points, s.missing INTO score, points, missing
      FROM @extschema@.news2_points(@extschema@.reference_score_last(p, 'resp_rate'),
                                    @extschema@.reference_score_last(p, 'spo2'),
                                    @extschema@.reference_score_last(p, 'sbp'),
                                    @extschema@.reference_score_last(p, 'heart_rate'),
                                    @extschema@.reference_score_last(p, 'temperature'),
                                    @extschema@.reference_score_last(p, 'gcs')) s;
END
$$;
COMMENT ON FUNCTION @extschema@.news2(bigint, timestamptz) IS
    'NEWS2 of one admission as of a time (default now), by news2_points() from the last resp_rate, spo2, sbp, heart_rate, temperature and gcs resulted by then (lab_panel_at()); a feature without a value by then is missing and scores 0. Errors: 42704 unknown admission, 22023 as_of NULL or before the admission.';

CREATE FUNCTION @extschema@.isaric4c(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now(),
                                     OUT score integer, OUT points jsonb, OUT missing text[])
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    p @extschema@.lab_panel := @extschema@.reference_score_admission('isaric4c', isaric4c.admission_id, isaric4c.as_of);
    cov @extschema@.admission_covariates := @extschema@.admission_covariates(isaric4c.admission_id, isaric4c.as_of);
    male float8 := @extschema@.covariate_value('sex_male', cov, NULL::float8, NULL::text);
BEGIN
    SELECT s.score, s.points, s.missing INTO score, points, missing
      FROM @extschema@.isaric4c_points(@extschema@.covariate_value('age_years', cov, NULL::float8, NULL::text),
                                       male = 1, pg_catalog.cardinality(cov.comorbidities),
                                       @extschema@.reference_score_last(p, 'resp_rate'),
                                       @extschema@.reference_score_last(p, 'spo2'),
                                       @extschema@.reference_score_last(p, 'gcs'),
                                       @extschema@.reference_score_last(p, 'urea'),
                                       @extschema@.reference_score_last(p, 'crp')) s;
END
$$;
COMMENT ON FUNCTION @extschema@.isaric4c(bigint, timestamptz) IS
    'ISARIC 4C Mortality Score of one admission as of a time (default now), by isaric4c_points() from age and sex (covariate_value()), the number of comorbidity groups known by then (admission_covariates(); no diagnosis known: missing) and the last resp_rate, spo2, gcs, urea and crp resulted by then; a missing input scores 0. Errors: 42704 unknown admission, 22023 as_of NULL or before the admission.';
