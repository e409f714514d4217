-- icu_predict 0.2.0 install script, as released (2026-12-02): built from
-- extension/sql/*.sql of the release commit and kept as shipped, so that
-- CREATE EXTENSION icu_predict VERSION '0.2.0' installs what hospitals have.
-- Never edit it: later versions change through icu_predict--0.2.0--*.sql.

\echo Use "CREATE EXTENSION icu_predict CASCADE" to load this file. \quit

-- ==== extension/sql/00_clock.sql
-- The clock: the two rules of time every other part reads.
--
--   reference_time()   the "now" of the extension: icu_predict.reference_time,
--                      or the current time when that setting is empty.  The
--                      daily views, the ICU episode length of an open episode
--                      and refresh() all take "now" from here, so a replay
--                      (SET icu_predict.reference_time) moves all of them.
--   day_zone()         the time zone in which a calendar day of stay ends:
--                      icu_predict.day_timezone, or the session TimeZone when
--                      that setting is empty.  Daily panels, patient_status,
--                      the ICU census and the capacity forecast's reference
--                      day all cut days here.
--
-- The day-zone rule is written once, in C (extension/src/common/module.c:
-- icu_day_zone()); day_zone() gives its zone's name to SQL, and the daily
-- series aggregate cuts days with the same function.
--
-- This part comes first: every later part may call both functions.

-- ---------------------------------------------------------------------------
-- reference_time()
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.reference_time()
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN coalesce(pg_catalog.current_setting('icu_predict.reference_time', true), '') = ''
        THEN pg_catalog.now()
    ELSE pg_catalog.current_setting('icu_predict.reference_time', true)::timestamptz
END;
COMMENT ON FUNCTION @extschema@.reference_time() IS
    'The reference time ("now") of patient_status and capacity_forecast: the setting icu_predict.reference_time as a timestamptz, or now() when the setting is empty (the default). SET icu_predict.reference_time = ''2020-04-01 08:00+02'' before CALL icu_predict.refresh() replays that moment.';

-- ---------------------------------------------------------------------------
-- day_zone()
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.day_zone()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_day_zone_name';
COMMENT ON FUNCTION @extschema@.day_zone() IS
    'The time zone in which a calendar day of stay ends: icu_predict.day_timezone, or the session TimeZone when that setting is empty.';

-- ==== extension/sql/01_ingest.sql
-- Ingest: the clinical tables a hospital loads from its EHR export.
--
--   admission        one row per hospital admission
--   location_stay    each stay at one location (ward, ICU, ...) of an admission
--   lab_result       lab results under local codes and units, as sent
--   icu_capacity     staffed and surge ICU beds per unit from a date on
--   diagnosis        ICD-10 codes of an admission (comorbidities)
--   admission_bmi    body-mass index of an admission
--
-- Every table a user fills is registered with pg_extension_config_dump, so
-- pg_dump keeps its rows.  Constraints reject impossible rows with a named
-- constraint (SQLSTATE 23xxx); nothing is silently altered or dropped.
-- The canonical feature catalogue and the lab mapping follow in 03_canonical.sql.

-- ---------------------------------------------------------------------------
-- admission
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.admission (
    admission_id     bigint      NOT NULL,
    patient_id       text        NOT NULL,
    admitted_at      timestamptz NOT NULL,
    discharged_at    timestamptz,
    age_years        integer,
    sex              text        NOT NULL DEFAULT 'unknown',
    admission_source text        NOT NULL DEFAULT 'unknown',
    died_in_hospital boolean,
    CONSTRAINT admission_pkey PRIMARY KEY (admission_id),
    CONSTRAINT admission_patient_id_not_empty CHECK (patient_id <> ''),
    CONSTRAINT admission_discharge_after_admission
        CHECK (discharged_at IS NULL OR discharged_at >= admitted_at),
    CONSTRAINT admission_age_plausible CHECK (age_years BETWEEN 0 AND 125),
    CONSTRAINT admission_sex_known_value
        CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    CONSTRAINT admission_source_known_value
        CHECK (admission_source IN ('emergency', 'elective', 'transfer', 'outpatient', 'other', 'unknown')),
    CONSTRAINT admission_death_needs_discharge
        CHECK (died_in_hospital IS NOT TRUE OR discharged_at IS NOT NULL)
);
CREATE INDEX admission_open_idx ON @extschema@.admission (admitted_at)
    WHERE discharged_at IS NULL;
CREATE INDEX admission_patient_idx ON @extschema@.admission (patient_id);

COMMENT ON TABLE @extschema@.admission IS
    'One row per hospital admission (pseudonymised). discharged_at is NULL while the patient is admitted.';
COMMENT ON COLUMN @extschema@.admission.admission_id IS 'Admission (encounter) identifier from the EHR.';
COMMENT ON COLUMN @extschema@.admission.patient_id IS 'Pseudonymous patient identifier; one patient may have several admissions.';
COMMENT ON COLUMN @extschema@.admission.admitted_at IS 'Time of hospital admission.';
COMMENT ON COLUMN @extschema@.admission.discharged_at IS 'Time of discharge or death; NULL while admitted. Must not precede admitted_at.';
COMMENT ON COLUMN @extschema@.admission.age_years IS 'Age in whole years at admission (0 to 125); NULL when unknown (models impute it as their spec says and can read the indicator age_missing; never scored as 0).';
COMMENT ON COLUMN @extschema@.admission.sex IS 'female, male, other or unknown.';
COMMENT ON COLUMN @extschema@.admission.admission_source IS 'emergency, elective, transfer, outpatient, other or unknown.';
COMMENT ON COLUMN @extschema@.admission.died_in_hospital IS 'True when the admission ended in death; NULL when unknown or still admitted.';

-- ---------------------------------------------------------------------------
-- diagnosis: ICD-10 codes of an admission (comorbidities, 06_comorbidity.sql)
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.diagnosis (
    diagnosis_id  bigint      GENERATED BY DEFAULT AS IDENTITY,
    admission_id  bigint      NOT NULL,
    icd10_code    text        NOT NULL,
    diagnosed_at  timestamptz,
    CONSTRAINT diagnosis_pkey PRIMARY KEY (diagnosis_id),
    CONSTRAINT diagnosis_admission_fkey FOREIGN KEY (admission_id)
        REFERENCES @extschema@.admission (admission_id) ON DELETE CASCADE,
    CONSTRAINT diagnosis_icd10_code_format
        CHECK (icd10_code ~ '^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$')
);
CREATE INDEX diagnosis_admission_idx ON @extschema@.diagnosis (admission_id);
COMMENT ON TABLE @extschema@.diagnosis IS
    'ICD-10 diagnosis codes of an admission, as coded (I21.4, i214 and I214 are the same code). They give the comorbidity covariates (admission_covariates(), comorbidity_code).';
COMMENT ON COLUMN @extschema@.diagnosis.diagnosis_id IS 'Surrogate key.';
COMMENT ON COLUMN @extschema@.diagnosis.admission_id IS 'The admission (admission.admission_id).';
COMMENT ON COLUMN @extschema@.diagnosis.icd10_code IS 'ICD-10 code: a letter, two digits, then up to four more characters, with or without the dot.';
COMMENT ON COLUMN @extschema@.diagnosis.diagnosed_at IS 'When the diagnosis became known; NULL for conditions known at admission (history, problem list). A prediction as of t uses only diagnoses known by t.';

-- ---------------------------------------------------------------------------
-- admission_bmi: body-mass index of an admission (a covariate of the models)
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.admission_bmi (
    admission_id bigint      NOT NULL,
    bmi          float8      NOT NULL,
    measured_at  timestamptz,
    CONSTRAINT admission_bmi_pkey PRIMARY KEY (admission_id),
    CONSTRAINT admission_bmi_admission_fkey FOREIGN KEY (admission_id)
        REFERENCES @extschema@.admission (admission_id) ON DELETE CASCADE,
    CONSTRAINT admission_bmi_plausible CHECK (bmi BETWEEN 5 AND 150)
);
COMMENT ON TABLE @extschema@.admission_bmi IS
    'Body-mass index of an admission, at most one row each; an admission without a row has BMI unknown (models impute it and can read bmi_missing).';
COMMENT ON COLUMN @extschema@.admission_bmi.admission_id IS 'The admission (admission.admission_id).';
COMMENT ON COLUMN @extschema@.admission_bmi.bmi IS 'Body-mass index in kg/m2 (5 to 150).';
COMMENT ON COLUMN @extschema@.admission_bmi.measured_at IS 'When it was measured or recorded; NULL for known at admission. A prediction as of t uses it only from then on.';

-- ---------------------------------------------------------------------------
-- location_stay
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.location_stay (
    stay_id      bigint      GENERATED BY DEFAULT AS IDENTITY,
    admission_id bigint      NOT NULL,
    unit         text        NOT NULL,
    unit_kind    text        NOT NULL,
    isolation    text        NOT NULL DEFAULT 'unknown',
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    CONSTRAINT location_stay_pkey PRIMARY KEY (stay_id),
    CONSTRAINT location_stay_admission_fkey FOREIGN KEY (admission_id)
        REFERENCES @extschema@.admission (admission_id) ON DELETE CASCADE,
    CONSTRAINT location_stay_unit_not_empty CHECK (unit <> ''),
    CONSTRAINT location_stay_unit_kind_known_value
        CHECK (unit_kind IN ('ward', 'icu', 'mc', 'ed', 'or', 'other')),
    CONSTRAINT location_stay_isolation_known_value
        CHECK (isolation IN ('none', 'droplet', 'contact', 'airborne', 'strict', 'unknown')),
    CONSTRAINT location_stay_end_after_start
        CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT location_stay_no_overlap EXCLUDE USING gist (
        admission_id WITH =,
        tstzrange(started_at, ended_at, '[)') WITH &&)
);
CREATE INDEX location_stay_open_idx ON @extschema@.location_stay (unit_kind, unit)
    WHERE ended_at IS NULL;
CREATE INDEX location_stay_admission_idx ON @extschema@.location_stay (admission_id, started_at);

COMMENT ON TABLE @extschema@.location_stay IS
    'Each stay at one location (ward, ICU, ...) within an admission. Stays of one admission do not overlap and lie within the admission. ICU admissions and ICU length of stay derive from this table.';
COMMENT ON COLUMN @extschema@.location_stay.stay_id IS 'Surrogate key; generated when not given.';
COMMENT ON COLUMN @extschema@.location_stay.admission_id IS 'The admission this stay belongs to.';
COMMENT ON COLUMN @extschema@.location_stay.unit IS 'Ward or unit name as the hospital calls it (e.g. ''IC-1'', ''Longafdeling 4N'').';
COMMENT ON COLUMN @extschema@.location_stay.unit_kind IS 'ward, icu, mc (medium care / step-down), ed (emergency department), or (operating room) or other.';
COMMENT ON COLUMN @extschema@.location_stay.isolation IS 'Isolation label during the stay: none, droplet, contact, airborne, strict or unknown.';
COMMENT ON COLUMN @extschema@.location_stay.started_at IS 'Arrival at the location.';
COMMENT ON COLUMN @extschema@.location_stay.ended_at IS 'Departure from the location; NULL while the patient is there.';

-- A stay must lie within its admission.  This spans two tables, so it is a
-- trigger rather than a CHECK; it reports SQLSTATE 23514 like a CHECK would.
CREATE FUNCTION @extschema@.location_stay_within_admission()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a record;
BEGIN
    SELECT admitted_at, discharged_at INTO a
      FROM @extschema@.admission WHERE admission_id = NEW.admission_id;
    IF NOT FOUND THEN
        RETURN NEW;             -- the foreign key reports this case
    END IF;
    IF NEW.started_at < a.admitted_at
       OR (a.discharged_at IS NOT NULL
           AND (NEW.ended_at IS NULL OR NEW.ended_at > a.discharged_at)) THEN
        RAISE EXCEPTION 'location stay of admission % (unit %, % to %) lies outside the admission (% to %)',
                NEW.admission_id, NEW.unit, NEW.started_at,
                coalesce(NEW.ended_at::text, 'now'), a.admitted_at,
                coalesce(a.discharged_at::text, 'now')
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'location_stay_within_admission',
                  TABLE = 'location_stay', SCHEMA = '@extschema@',
                  HINT = 'A stay must start at or after admitted_at and end at or before discharged_at; an open stay needs an open admission.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.location_stay_within_admission() IS
    'Trigger: rejects a location stay outside its admission (SQLSTATE 23514).';

CREATE TRIGGER location_stay_within_admission
    BEFORE INSERT OR UPDATE OF admission_id, started_at, ended_at
    ON @extschema@.location_stay
    FOR EACH ROW EXECUTE FUNCTION @extschema@.location_stay_within_admission();

-- And an admission may not shrink away from its stays.
CREATE FUNCTION @extschema@.admission_covers_stays()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
BEGIN
    SELECT unit, started_at, ended_at INTO s
      FROM @extschema@.location_stay
     WHERE admission_id = NEW.admission_id
       AND (started_at < NEW.admitted_at
            OR (NEW.discharged_at IS NOT NULL
                AND (ended_at IS NULL OR ended_at > NEW.discharged_at)))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'admission % (% to %) would no longer contain its stay at unit % (% to %)',
                NEW.admission_id, NEW.admitted_at, coalesce(NEW.discharged_at::text, 'now'),
                s.unit, s.started_at, coalesce(s.ended_at::text, 'now')
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'admission_covers_stays',
                  TABLE = 'admission', SCHEMA = '@extschema@',
                  HINT = 'Close or move the location stays first, then change the admission times.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.admission_covers_stays() IS
    'Trigger: rejects changing admission times so that a stay falls outside (SQLSTATE 23514).';

CREATE TRIGGER admission_covers_stays
    BEFORE UPDATE OF admitted_at, discharged_at ON @extschema@.admission
    FOR EACH ROW EXECUTE FUNCTION @extschema@.admission_covers_stays();

-- ---------------------------------------------------------------------------
-- lab_result
-- ---------------------------------------------------------------------------
-- The specimen names lab_result, lab_map and feature share (one rule).
CREATE FUNCTION @extschema@.specimen_known(specimen text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN specimen IN ('blood', 'serum', 'plasma', 'whole blood', 'arterial blood', 'venous blood',
                    'capillary blood', 'urine', 'cerebrospinal fluid', 'pleural fluid', 'ascites',
                    'other');
COMMENT ON FUNCTION @extschema@.specimen_known(text) IS
    'Whether specimen is one lab_result.specimen and lab_map.specimen accept: blood, serum, plasma, whole blood, arterial blood, venous blood, capillary blood, urine, cerebrospinal fluid, pleural fluid, ascites, other.';

CREATE FUNCTION @extschema@.specimen_class(specimen text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN specimen IN ('blood', 'serum', 'plasma', 'whole blood', 'arterial blood',
                              'venous blood', 'capillary blood') THEN 'blood'
            WHEN specimen = 'urine' THEN 'urine'
            ELSE 'other' END;
COMMENT ON FUNCTION @extschema@.specimen_class(text) IS
    'The specimen class of a specimen: blood (blood, serum, plasma, whole blood, arterial, venous or capillary blood), urine, or other. feature.specimen names a class; a lab row of another class than its feature''s is rejected (specimen_mismatch).';

CREATE TABLE @extschema@.lab_result (
    lab_result_id bigint      GENERATED BY DEFAULT AS IDENTITY,
    admission_id  bigint      NOT NULL,
    local_code    text        NOT NULL,
    value         float8,
    value_text    text,
    unit          text,
    sampled_at    timestamptz,
    resulted_at   timestamptz NOT NULL,
    specimen      text,
    CONSTRAINT lab_result_pkey PRIMARY KEY (lab_result_id),
    CONSTRAINT lab_result_admission_fkey FOREIGN KEY (admission_id)
        REFERENCES @extschema@.admission (admission_id) ON DELETE CASCADE,
    CONSTRAINT lab_result_local_code_not_empty CHECK (local_code <> ''),
    CONSTRAINT lab_result_has_value CHECK (value IS NOT NULL OR value_text IS NOT NULL),
    CONSTRAINT lab_result_value_finite
        CHECK (value IS NULL OR value BETWEEN '-1e300'::float8 AND '1e300'::float8),
    CONSTRAINT lab_result_resulted_after_sampled
        CHECK (sampled_at IS NULL OR resulted_at >= sampled_at),
    CONSTRAINT lab_result_specimen_known_value
        CHECK (@extschema@.specimen_known(specimen))
);
CREATE INDEX lab_result_admission_time_idx
    ON @extschema@.lab_result (admission_id, resulted_at);

COMMENT ON TABLE @extschema@.lab_result IS
    'Lab results as sent by the laboratory system, under local codes and units. Canonical features are derived through lab_map (see view lab_canonical).';
COMMENT ON COLUMN @extschema@.lab_result.lab_result_id IS 'Surrogate key; generated when not given.';
COMMENT ON COLUMN @extschema@.lab_result.admission_id IS 'The admission during (or for) which the sample was taken.';
COMMENT ON COLUMN @extschema@.lab_result.local_code IS 'The laboratory''s own test code.';
COMMENT ON COLUMN @extschema@.lab_result.value IS 'Numeric value in the unit as sent; NULL when the result is only text. Must be finite (no NaN or Infinity).';
COMMENT ON COLUMN @extschema@.lab_result.value_text IS 'The raw result text as sent (e.g. ''<0.1'', ''>500''), kept for audit; the loader documents how it derives value from it.';
COMMENT ON COLUMN @extschema@.lab_result.unit IS 'Unit as sent (any spelling; lab_map matches it case-insensitively, ignoring spaces; UCUM converts it into the feature''s unit).';
COMMENT ON COLUMN @extschema@.lab_result.sampled_at IS 'Time the sample was taken, when known.';
COMMENT ON COLUMN @extschema@.lab_result.resulted_at IS 'Time the result became available. A prediction as of t uses only results with resulted_at <= t.';
COMMENT ON COLUMN @extschema@.lab_result.specimen IS 'Specimen (system) as sent: blood, serum, plasma, whole blood, arterial blood, venous blood, capillary blood, urine, cerebrospinal fluid, pleural fluid, ascites or other (specimen_known()). NULL when the source has none: the row then matches lab_map rows for any specimen (''*'') and is taken to be of its feature''s specimen.';

-- ---------------------------------------------------------------------------
-- icu_capacity
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.icu_capacity (
    unit         text    NOT NULL,
    valid_from   date    NOT NULL,
    staffed_beds integer NOT NULL,
    surge_beds   integer NOT NULL,
    CONSTRAINT icu_capacity_pkey PRIMARY KEY (unit, valid_from),
    CONSTRAINT icu_capacity_staffed_nonnegative CHECK (staffed_beds >= 0),
    CONSTRAINT icu_capacity_surge_at_least_staffed CHECK (surge_beds >= staffed_beds)
);
COMMENT ON TABLE @extschema@.icu_capacity IS
    'ICU beds per unit from a date on: the row with the latest valid_from <= d holds on day d.';
COMMENT ON COLUMN @extschema@.icu_capacity.unit IS 'ICU unit name, as in location_stay.unit.';
COMMENT ON COLUMN @extschema@.icu_capacity.valid_from IS 'First day on which these numbers hold.';
COMMENT ON COLUMN @extschema@.icu_capacity.staffed_beds IS 'Beds that can be used with the staff rostered.';
COMMENT ON COLUMN @extschema@.icu_capacity.surge_beds IS 'Maximum beds when scaled up (surge); at least staffed_beds.';

-- ---------------------------------------------------------------------------
-- pg_dump keeps the rows users load.
-- ---------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('@extschema@.admission', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.diagnosis', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.admission_bmi', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.location_stay', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lab_result', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.icu_capacity', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.location_stay_stay_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.diagnosis_diagnosis_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lab_result_lab_result_id_seq', '');

-- ==== extension/sql/02_rules.sql
-- The rules SQL, C and Python share, each defined once in C
-- (extension/src/common/rules.c): the lab panel statistic names and the
-- feature-name rule.

CREATE FUNCTION @extschema@.lab_stats()
RETURNS SETOF text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'icu_lab_stats';
COMMENT ON FUNCTION @extschema@.lab_stats() IS
    'The statistics a lab panel holds per feature, in order: the names lab_value(panel, feature, stat) and model specs accept.';

CREATE FUNCTION @extschema@.feature_name_max_length()
RETURNS integer
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_feature_name_max_length';
COMMENT ON FUNCTION @extschema@.feature_name_max_length() IS
    'The longest feature name allowed, in bytes (31).';

CREATE FUNCTION @extschema@.feature_name_ok(name text)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_feature_name_ok_sql';
COMMENT ON FUNCTION @extschema@.feature_name_ok(text) IS
    'Whether name is a valid feature name: a lower-case ASCII letter, then lower-case letters, digits or _, at most feature_name_max_length() bytes. The same rule as the lab panel and the model spec check.';

-- ==== extension/sql/03_canonical.sql
-- Canonical labs: local lab codes and units become canonical features, once.
--
--   feature              the canonical feature catalogue (one UCUM unit each,
--                        plausible range, display name and unit, molar mass,
--                        specimen); shipped rows plus the user's own, kept
--                        apart for pg_dump (builtin, replaces, feature_removed)
--   unit_key()           the normalisation of unit spellings lab_map keys on (C)
--   unit_ucum(), unit_factor(), unit_offset(), unit_convert(),
--   unit_conversion_problem(), unit_spellings()
--                        UCUM parsing and conversion (C, canonical/ucum.c)
--   lab_text_value(), lab_text_censoring(), canonical_value()
--                        the number of a result and its conversion (C)
--   lab_map              local code (+ specimen, + unit) -> feature; the factor
--                        is an override, UCUM converts otherwise
--   lab_rejection_reason the one list of reasons a lab row is not used
--   lab_row_status       every lab_result row: feature, canonical value, and
--                        its rejection reason (NULL when used)
--   lab_canonical        the rows the panels read (used + implausible)
--   lab_unmapped         rejected rows (other than implausible) by code and reason
--   lab_load_quality     every row counted by feature, code, unit, specimen and status
--
-- Rows in lab_result = rows used + the rows of each rejection reason
-- (lab_row_status has exactly one row per lab_result row).

-- ---------------------------------------------------------------------------
-- UCUM units and lab values (C)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.unit_ucum(unit text)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_unit_ucum'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_ucum(text) IS
    'The UCUM spelling a unit as sent is read as (through unit_spellings(): IU/L is U/L, 10^9/L is 10*9/L, mmHg is mm[Hg] ...); NULL or '''' is the unity 1; NULL when the unit is not understood.';

CREATE FUNCTION @extschema@.unit_factor(from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_unit_factor'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_factor(text, text, float8) IS
    'The multiplier from from_unit into to_unit (value_to = value_from * factor + unit_offset()); mass and amount of substance convert through molar_mass (g/mol). NULL when the units are not convertible (unit_conversion_problem() says why). A NULL or empty from_unit is the unity 1.';

CREATE FUNCTION @extschema@.unit_offset(from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_unit_offset'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_offset(text, text, float8) IS
    'The additive term of the conversion from from_unit into to_unit: 0 except between temperature scales (Cel, [degF], K). NULL when not convertible.';

CREATE FUNCTION @extschema@.unit_conversion_problem(from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_unit_conversion_problem'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_conversion_problem(text, text, float8) IS
    'Why from_unit does not convert into to_unit (not a UCUM unit, not commensurable, a molar mass needed, annotations such as {FEU} and {DDU} that differ); NULL when it does.';

CREATE FUNCTION @extschema@.unit_convert(value float8, from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_unit_convert'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_convert(float8, text, text, float8) IS
    'value in from_unit expressed in to_unit (UCUM; mass <-> substance through molar_mass). ERROR 22023 when the units are not convertible (the detail says why) or value is not finite, 22003 when the result is out of range; NULL for NULL value or to_unit.';

CREATE FUNCTION @extschema@.unit_spellings(OUT spelling text, OUT ucum text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'icu_unit_spellings'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 60;
COMMENT ON FUNCTION @extschema@.unit_spellings() IS
    'The accepted spellings that are not UCUM as written, and the UCUM unit each is read as. G/L and T/L match as written (case matters); the others match the unit_key() form (case and spaces ignored). Besides these: 10^9, 10E9 and x10^9 are read as 10*9, the micro sign and mu as u, mc as micro, and UCUM written in another case (MG/DL).';

CREATE FUNCTION @extschema@.lab_text_value(value_text text)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_lab_text_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_text_value(text) IS
    'The number in a result text: a decimal (a comma as the decimal separator is accepted when there is no point), or the bound of a censored result (<5, > 1000, <=0.1, less than 10, greater than 500). NULL when the text is no number (NEG, 1+, HEMOLYZED, NaN).';

CREATE FUNCTION @extschema@.lab_text_censoring(value_text text)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_lab_text_censoring'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_text_censoring(text) IS
    '<, <=, > or >= when the result text is a censored number (its bound is lab_text_value()), NULL otherwise.';

CREATE FUNCTION @extschema@.canonical_value(value float8, factor float8, "offset" float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_canonical_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.canonical_value(float8, float8, float8) IS
    'value * factor + offset, or NULL when that overflows, is not finite, or underflows to 0 from a non-zero product; lab_row_status counts such rows as out_of_range instead of failing.';

CREATE FUNCTION @extschema@.feature_catalogue_max()
RETURNS integer
AS 'MODULE_PATHNAME', 'icu_feature_catalogue_max'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_catalogue_max() IS
    'The most features the catalogue (and so a lab panel) may hold: 1000. Inserting beyond it fails with 54000.';

-- ---------------------------------------------------------------------------
-- feature: the canonical feature catalogue
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.feature (
    name          text   NOT NULL,
    loinc         text,
    description   text   NOT NULL,
    unit          text   NOT NULL,
    plausible_min float8 NOT NULL,
    plausible_max float8 NOT NULL,
    builtin       boolean NOT NULL DEFAULT false,
    display_name  text   NOT NULL,
    display_unit  text   NOT NULL,
    molar_mass    float8,
    other_loinc   text[] NOT NULL DEFAULT '{}',
    specimen      text,
    replaces      text,
    CONSTRAINT feature_pkey PRIMARY KEY (name),
    CONSTRAINT feature_name_format CHECK (@extschema@.feature_name_ok(name)),
    CONSTRAINT feature_loinc_format CHECK (loinc IS NULL OR loinc ~ '^[0-9]{1,7}-[0-9]$'),
    CONSTRAINT feature_range_ordered CHECK (plausible_min < plausible_max),
    CONSTRAINT feature_range_finite
        CHECK (plausible_min > '-Infinity'::float8 AND plausible_max < 'Infinity'::float8),
    CONSTRAINT feature_molar_mass_usable
        CHECK (molar_mass IS NULL OR (molar_mass > 0 AND molar_mass < 1e7)),
    CONSTRAINT feature_other_loinc_format
        CHECK (pg_catalog.array_to_string(other_loinc, ' ') ~ '^([0-9]{1,7}-[0-9]( |$))*$'),
    CONSTRAINT feature_specimen_known_value CHECK (specimen IN ('blood', 'urine', 'other')),
    CONSTRAINT feature_builtin_not_replacing CHECK (NOT (builtin AND replaces IS NOT NULL))
);
COMMENT ON TABLE @extschema@.feature IS
    'The canonical feature catalogue: one row per lab feature or vital sign the panel and the models know, in one canonical UCUM unit. Values outside [plausible_min, plausible_max] are counted as rejected (implausible), not used. At most feature_catalogue_max() rows. Shipped rows have builtin = true; editing, renaming or deleting one is recorded (builtin false and replaces, or a row in feature_removed), so pg_dump keeps the change.';
COMMENT ON COLUMN @extschema@.feature.name IS 'Short name used in panels and model specs (lower case, e.g. crp).';
COMMENT ON COLUMN @extschema@.feature.loinc IS 'LOINC code of the canonical measurement, where one exists. Lab rows sent under this code (or other_loinc) need no lab_map row.';
COMMENT ON COLUMN @extschema@.feature.description IS 'What is measured, in words.';
COMMENT ON COLUMN @extschema@.feature.unit IS 'Canonical unit, in UCUM (unit_ucum() must understand it); every local unit is converted into it.';
COMMENT ON COLUMN @extschema@.feature.plausible_min IS 'Lowest physiologically plausible value in the canonical unit.';
COMMENT ON COLUMN @extschema@.feature.plausible_max IS 'Highest physiologically plausible value in the canonical unit.';
COMMENT ON COLUMN @extschema@.feature.builtin IS 'True for a shipped row as shipped; false for rows users added or changed. pg_dump keeps the rows with builtin = false.';
COMMENT ON COLUMN @extschema@.feature.display_name IS 'Name for people (dashboards, explanations), e.g. ''CRP'', ''hs-Troponin I''; defaults to description.';
COMMENT ON COLUMN @extschema@.feature.display_unit IS 'Unit for people, e.g. ''10^9/L'', ''mmHg'' (ASCII); defaults to unit.';
COMMENT ON COLUMN @extschema@.feature.molar_mass IS 'Molar mass in g/mol where mass and substance concentrations convert (creatinine 113.12); NULL otherwise, and then mg/dL <-> mmol/L is refused.';
COMMENT ON COLUMN @extschema@.feature.other_loinc IS 'Further LOINC codes measuring the same thing (other units or methods); lab rows sent under them map like loinc.';
COMMENT ON COLUMN @extschema@.feature.specimen IS 'The specimen class the feature is measured in: blood, urine or other; NULL for vital signs and ventilator settings. A lab row whose specimen is of another class is rejected (specimen_mismatch).';
COMMENT ON COLUMN @extschema@.feature.replaces IS 'For a changed shipped row: the name it was shipped under (set automatically). A dumped row with replaces takes the place of that shipped row on restore.';

-- The shipped catalogue.  LOINC codes as in the LOINC table (check them
-- against your release); where none is given, no code is asserted.  Each
-- plausible range is wide: it excludes values no living patient has (unit and
-- specimen mix-ups), not abnormal ones.  Its basis is in the comment above the
-- row: the adult reference interval, then the extremes seen in critical
-- illness as reported in the clinical chemistry literature.
INSERT INTO @extschema@.feature (name, loinc, description, unit, plausible_min, plausible_max, builtin,
                                 display_name, display_unit, molar_mass, other_loinc, specimen) VALUES
    -- crp: ref < 5; severe sepsis/COVID-19 rarely > 500
    ('crp', '1988-5', 'C-reactive protein', 'mg/L', 0, 1000, true, 'CRP', 'mg/L', NULL, '{}', 'blood'),
    -- ldh: ref 120-250; haemolysis and shock reach several thousand
    ('ldh', '2532-0', 'Lactate dehydrogenase', 'U/L', 10, 20000, true, 'LDH', 'U/L', NULL, '{14804-9}', 'blood'),
    -- d_dimer: ref < 0.5; assays report up to about 100
    ('d_dimer', '48065-7', 'D-dimer (fibrinogen equivalent units)', 'mg/L{FEU}', 0, 200, true, 'D-dimer (FEU)', 'mg/L FEU', NULL, '{}', 'blood'),
    -- ferritin: ref 20-300; haemophagocytic syndromes exceed 100000
    ('ferritin', '2276-4', 'Ferritin', 'ug/L', 0, 200000, true, 'Ferritin', 'ug/L', NULL, '{}', 'blood'),
    -- lymphocytes: ref 1-4; chronic lymphocytic leukaemia reaches several hundred
    ('lymphocytes', '731-0', 'Lymphocytes, absolute count', '10*9/L', 0, 200, true, 'Lymphocytes', '10^9/L', NULL, '{26474-7}', 'blood'),
    -- lymphocytes_pct: a percentage
    ('lymphocytes_pct', '736-9', 'Lymphocytes, percentage of leukocytes', '%', 0, 100, true, 'Lymphocytes %', '%', NULL, '{26478-8}', 'blood'),
    -- neutrophils: ref 2-7.5; leukaemoid reactions below 100
    ('neutrophils', '751-8', 'Neutrophils, absolute count', '10*9/L', 0, 200, true, 'Neutrophils', '10^9/L', NULL, '{26499-4}', 'blood'),
    -- platelets: ref 150-400; essential thrombocythaemia up to about 2000
    ('platelets', '777-3', 'Platelets', '10*9/L', 1, 3000, true, 'Platelets', '10^9/L', NULL, '{26515-7}', 'blood'),
    -- creatinine: ref 0.6-1.2; end-stage renal failure rarely above 25
    ('creatinine', '2160-0', 'Creatinine', 'mg/dL', 0.05, 40, true, 'Creatinine', 'mg/dL', 113.12, '{14682-9,38483-4}', 'blood'),
    -- urea: ref 2.5-7.5; uraemia above 100 is rare. Urea nitrogen (BUN, 3094-0) is not urea: map it with factor 0.357 (mg/dL BUN to mmol/L urea)
    ('urea', '22664-7', 'Urea', 'mmol/L', 0.1, 150, true, 'Urea', 'mmol/L', 60.06, '{}', 'blood'),
    -- procalcitonin: ref < 0.05; septic shock reaches several hundred
    ('procalcitonin', '33959-8', 'Procalcitonin', 'ug/L', 0, 1000, true, 'Procalcitonin', 'ug/L', NULL, '{}', 'blood'),
    -- troponin_t: 99th percentile 14; large infarcts reach tens of thousands
    ('troponin_t', '6598-7', 'Troponin T, cardiac', 'ng/L', 0, 100000, true, 'Troponin T', 'ng/L', NULL, '{67151-1}', 'blood'),
    -- il6: ref < 7; cytokine storm reaches tens of thousands
    ('il6', '26881-3', 'Interleukin 6', 'pg/mL', 0, 100000, true, 'IL-6', 'pg/mL', NULL, '{}', 'blood'),
    -- albumin: ref 35-50
    ('albumin', '1751-7', 'Albumin', 'g/L', 5, 70, true, 'Albumin', 'g/L', NULL, '{}', 'blood'),
    -- bilirubin: ref < 21; fulminant liver failure up to about 800
    ('bilirubin', '1975-2', 'Bilirubin, total', 'umol/L', 0, 1000, true, 'Bilirubin', 'umol/L', 584.66, '{14631-6}', 'blood'),
    -- lactate: ref 0.5-2.2; survivable values above 30 are case reports
    ('lactate', '2524-7', 'Lactate', 'mmol/L', 0.1, 40, true, 'Lactate', 'mmol/L', 89.07, '{32693-4}', 'blood'),
    -- pao2: ref 10-13.3; breathing pure oxygen at sea level below 90
    ('pao2', '2703-7', 'Oxygen partial pressure, arterial', 'kPa', 1, 80, true, 'PaO2', 'kPa', NULL, '{11556-8}', 'blood'),
    -- pf_ratio: PaO2 (mmHg) / FiO2; ARDS below 300
    ('pf_ratio', '50984-4', 'PaO2/FiO2 ratio', 'mm[Hg]', 20, 700, true, 'P/F ratio', 'mmHg', NULL, '{}', 'blood'),
    -- leukocytes: ref 4-10; hyperleukocytosis in leukaemia up to several hundred
    ('leukocytes', '6690-2', 'Leukocytes', '10*9/L', 0.05, 500, true, 'Leukocytes (blood)', '10^9/L', NULL, '{26464-8,804-5}', 'blood'),
    -- sodium: ref 135-145; survived extremes reported near 99 and 200
    ('sodium', '2951-2', 'Sodium', 'mmol/L', 90, 200, true, 'Sodium', 'mmol/L', 22.99, '{2947-0}', 'blood'),
    -- potassium: ref 3.5-5.0; cardiac arrest beyond about 10
    ('potassium', '2823-3', 'Potassium', 'mmol/L', 1, 12, true, 'Potassium', 'mmol/L', 39.098, '{6298-4}', 'blood'),
    -- chloride: ref 98-107
    ('chloride', '2075-0', 'Chloride', 'mmol/L', 50, 160, true, 'Chloride', 'mmol/L', 35.45, '{}', 'blood'),
    -- bicarbonate: ref 22-29; severe acidosis below 5
    ('bicarbonate', '1963-8', 'Bicarbonate', 'mmol/L', 2, 60, true, 'Bicarbonate', 'mmol/L', 61.017, '{}', 'blood'),
    -- glucose: ref 3.9-7.8; hyperosmolar states above 60
    ('glucose', '14749-6', 'Glucose', 'mmol/L', 0.5, 100, true, 'Glucose', 'mmol/L', 180.156, '{2345-7,2339-0,15074-8}', 'blood'),
    -- calcium: ref 2.15-2.6
    ('calcium', '2000-8', 'Calcium, total', 'mmol/L', 0.5, 5, true, 'Calcium', 'mmol/L', 40.078, '{17861-6}', 'blood'),
    -- magnesium: ref 1.7-2.2 mg/dL
    ('magnesium', '19123-9', 'Magnesium', 'mg/dL', 0.3, 10, true, 'Magnesium', 'mg/dL', 24.305, '{}', 'blood'),
    -- phosphate: ref 2.5-4.5 mg/dL; molar mass of phosphorus, as reported
    ('phosphate', '2777-1', 'Phosphate (as phosphorus)', 'mg/dL', 0.3, 20, true, 'Phosphate', 'mg/dL', 30.974, '{}', 'blood'),
    -- total_protein: ref 60-80; myeloma up to about 130
    ('total_protein', '2885-2', 'Protein, total', 'g/L', 10, 150, true, 'Total protein', 'g/L', NULL, '{}', 'blood'),
    -- osmolality: ref 275-295
    ('osmolality', '2692-2', 'Osmolality', 'mosm/kg', 200, 450, true, 'Osmolality', 'mOsm/kg', NULL, '{}', 'blood'),
    -- anion_gap: ref 8-16; negative values occur with paraproteins
    ('anion_gap', '33037-3', 'Anion gap', 'mmol/L', -10, 70, true, 'Anion gap', 'mmol/L', NULL, '{}', 'blood'),
    -- egfr: ref > 90
    ('egfr', '62238-1', 'Glomerular filtration rate, estimated (creatinine, CKD-EPI)', 'mL/min/{1.73_m2}', 0, 200, true, 'eGFR', 'mL/min/1.73m2', NULL, '{33914-3,98979-8}', 'blood'),
    -- cystatin_c: ref 0.6-1.0
    ('cystatin_c', '33863-2', 'Cystatin C', 'mg/L', 0.1, 10, true, 'Cystatin C', 'mg/L', NULL, '{}', 'blood'),
    -- ast: ref < 40; ischaemic hepatitis reaches tens of thousands
    ('ast', '1920-8', 'Aspartate aminotransferase (AST)', 'U/L', 1, 50000, true, 'AST', 'U/L', NULL, '{}', 'blood'),
    -- alt: ref < 45; ischaemic or toxic hepatitis reaches tens of thousands
    ('alt', '1742-6', 'Alanine aminotransferase (ALT)', 'U/L', 1, 50000, true, 'ALT', 'U/L', NULL, '{}', 'blood'),
    -- alp: ref 40-130
    ('alp', '6768-6', 'Alkaline phosphatase', 'U/L', 5, 5000, true, 'Alkaline phosphatase', 'U/L', NULL, '{}', 'blood'),
    -- ggt: ref < 60
    ('ggt', '2324-2', 'Gamma-glutamyltransferase (GGT)', 'U/L', 1, 5000, true, 'GGT', 'U/L', NULL, '{}', 'blood'),
    -- bilirubin_direct: ref < 5
    ('bilirubin_direct', '1968-7', 'Bilirubin, direct (conjugated)', 'umol/L', 0, 800, true, 'Bilirubin, direct', 'umol/L', 584.66, '{}', 'blood'),
    -- ammonia: ref 10-50; hepatic coma above 200
    ('ammonia', '16362-6', 'Ammonia', 'umol/L', 1, 1500, true, 'Ammonia', 'umol/L', 17.031, '{}', 'blood'),
    -- haemoglobin: ref 120-175 g/L; molar mass of the haem monomer, so mmol/L (x 16.1145 = g/L) converts as Dutch labs report it
    ('haemoglobin', '718-7', 'Haemoglobin', 'g/L', 20, 250, true, 'Haemoglobin', 'g/L', 16114.5, '{20509-6}', 'blood'),
    -- haematocrit: ref 36-50 %
    ('haematocrit', '4544-3', 'Haematocrit', '%', 5, 80, true, 'Haematocrit', '%', NULL, '{20570-8}', 'blood'),
    -- erythrocytes: ref 4-6
    ('erythrocytes', '789-8', 'Erythrocytes', '10*12/L', 0.5, 10, true, 'Red cells', '10^12/L', NULL, '{26453-1}', 'blood'),
    -- mcv: ref 80-100
    ('mcv', '787-2', 'Mean corpuscular volume', 'fL', 50, 150, true, 'MCV', 'fL', NULL, '{}', 'blood'),
    -- rdw: ref 11.5-14.5
    ('rdw', '788-0', 'Red cell distribution width', '%', 5, 40, true, 'RDW', '%', NULL, '{}', 'blood'),
    -- monocytes: ref 0.2-1.0
    ('monocytes', '742-7', 'Monocytes, absolute count', '10*9/L', 0, 100, true, 'Monocytes', '10^9/L', NULL, '{26484-6}', 'blood'),
    -- eosinophils: ref 0-0.5
    ('eosinophils', '711-2', 'Eosinophils, absolute count', '10*9/L', 0, 50, true, 'Eosinophils', '10^9/L', NULL, '{26449-9}', 'blood'),
    -- basophils: ref 0-0.1
    ('basophils', '704-7', 'Basophils, absolute count', '10*9/L', 0, 20, true, 'Basophils', '10^9/L', NULL, '{26444-0}', 'blood'),
    -- neutrophils_pct: a percentage
    ('neutrophils_pct', '770-8', 'Neutrophils, percentage of leukocytes', '%', 0, 100, true, 'Neutrophils %', '%', NULL, '{26511-6}', 'blood'),
    -- esr: ref < 20; the Westergren tube reads at most about 150-200
    ('esr', '4537-7', 'Erythrocyte sedimentation rate (Westergren)', 'mm/h', 0, 200, true, 'ESR', 'mm/h', NULL, '{30341-2}', 'blood'),
    -- pt: ref 11-13.5 s
    ('pt', '5902-2', 'Prothrombin time', 's', 5, 200, true, 'Prothrombin time', 's', NULL, '{}', 'blood'),
    -- inr: ref 0.8-1.2; over-anticoagulation rarely above 10
    ('inr', '6301-6', 'INR (prothrombin time ratio)', '1', 0.5, 20, true, 'INR', '', NULL, '{34714-6}', 'blood'),
    -- aptt: ref 25-35 s
    ('aptt', '3173-2', 'Activated partial thromboplastin time', 's', 10, 250, true, 'aPTT', 's', NULL, '{14979-9}', 'blood'),
    -- fibrinogen: ref 2-4
    ('fibrinogen', '3255-7', 'Fibrinogen', 'g/L', 0.1, 15, true, 'Fibrinogen', 'g/L', NULL, '{}', 'blood'),
    -- d_dimer_ddu: about half the FEU value; not converted into FEU
    ('d_dimer_ddu', '48066-5', 'D-dimer (D-dimer units)', 'mg/L{DDU}', 0, 100, true, 'D-dimer (DDU)', 'mg/L DDU', NULL, '{}', 'blood'),
    -- ph: ref 7.35-7.45; survival outside 6.8-7.8 is rare
    ('ph', '2744-1', 'pH, arterial', '[pH]', 6.5, 8, true, 'pH', '', NULL, '{11558-4}', 'blood'),
    -- paco2: ref 4.7-6.0 kPa
    ('paco2', '2019-8', 'Carbon dioxide partial pressure, arterial', 'kPa', 1, 30, true, 'PaCO2', 'kPa', NULL, '{11557-6}', 'blood'),
    -- base_excess: ref -2 to +2
    ('base_excess', '1925-7', 'Base excess, arterial', 'mmol/L', -40, 40, true, 'Base excess', 'mmol/L', NULL, '{11555-0}', 'blood'),
    -- sao2: a percentage
    ('sao2', '2708-6', 'Oxygen saturation, arterial (blood gas)', '%', 20, 100, true, 'SaO2', '%', NULL, '{}', 'blood'),
    -- fio2: room air 21 %; a fraction (0.21-1) sent with unit 1 converts to %
    ('fio2', '3150-0', 'Inhaled oxygen fraction', '%', 21, 100, true, 'FiO2', '%', NULL, '{19996-8}', NULL),
    -- troponin_i: 99th percentile about 26; large infarcts reach tens of thousands
    ('troponin_i', '89579-7', 'Troponin I, cardiac (high-sensitivity)', 'ng/L', 0, 100000, true, 'hs-Troponin I', 'ng/L', NULL, '{10839-9,42757-5}', 'blood'),
    -- nt_probnp: ref < 125; severe heart failure above 30000
    ('nt_probnp', '33762-6', 'NT-proBNP', 'pg/mL', 0, 100000, true, 'NT-proBNP', 'pg/mL', NULL, '{}', 'blood'),
    -- bnp: ref < 100
    ('bnp', '30934-4', 'B-type natriuretic peptide', 'pg/mL', 0, 50000, true, 'BNP', 'pg/mL', NULL, '{}', 'blood'),
    -- ck: ref < 200; rhabdomyolysis above 100000
    ('ck', '2157-6', 'Creatine kinase', 'U/L', 1, 500000, true, 'CK', 'U/L', NULL, '{}', 'blood'),
    -- ck_mb: ref < 5
    ('ck_mb', '13969-1', 'Creatine kinase MB (mass)', 'ug/L', 0, 1000, true, 'CK-MB', 'ug/L', NULL, '{}', 'blood'),
    -- il2r: ref 220-710 U/mL; haemophagocytic syndromes above 10000.  No LOINC code is
    -- asserted: the soluble IL-2 receptor is reported in U/mL by the immunoassays that
    -- hospitals run (Siemens Immulite), while the LOINC code laboratories give it,
    -- 76039-7, is the mass concentration reported in pg/mL by multiplex bead assays.
    -- pg/mL does not convert into U/mL (the assay's units are calibrated, not a mass),
    -- so rows sent under 76039-7 would be unit_not_convertible here; map them to a
    -- feature of your own in pg/mL (docs/bring-your-own-data.md, "Add your own feature").
    ('il2r', NULL, 'Interleukin 2 receptor, soluble (sIL-2R)', 'U/mL', 0, 100000, true, 'sIL-2R', 'U/mL', NULL, '{}', 'blood'),
    -- il8: ref < 62; LOINC 33211-4 "Interleukin 8 [Mass/volume] in Serum or Plasma"
    ('il8', '33211-4', 'Interleukin 8', 'pg/mL', 0, 100000, true, 'IL-8', 'pg/mL', NULL, '{}', 'blood'),
    -- il10: ref < 9; LOINC 26848-2 "Interleukin 10 [Mass/volume] in Serum or Plasma"
    ('il10', '26848-2', 'Interleukin 10', 'pg/mL', 0, 100000, true, 'IL-10', 'pg/mL', NULL, '{}', 'blood'),
    -- tnf_alpha: ref < 8; LOINC 3074-2 "Tumor necrosis factor.alpha [Mass/volume] in Serum or Plasma"
    ('tnf_alpha', '3074-2', 'Tumour necrosis factor alpha', 'pg/mL', 0, 100000, true, 'TNF-alpha', 'pg/mL', NULL, '{}', 'blood'),
    -- heart_rate: adult rest 60-100; the fastest recorded rhythms stay below 300
    ('heart_rate', '8867-4', 'Heart rate', '/min', 10, 300, true, 'Heart rate', 'beats/min', NULL, '{}', NULL),
    -- resp_rate: adult 12-20
    ('resp_rate', '9279-1', 'Respiratory rate', '/min', 2, 80, true, 'Respiratory rate', 'breaths/min', NULL, '{}', NULL),
    -- spo2: oximeters are not calibrated below about 70 %
    ('spo2', '59408-5', 'Oxygen saturation, pulse oximetry', '%', 30, 100, true, 'SpO2', '%', NULL, '{2710-2}', NULL),
    -- temperature: normal 36.1-37.8; survived hypothermia below 20 is extraordinary
    ('temperature', '8310-5', 'Body temperature', 'Cel', 25, 45, true, 'Temperature', 'deg C', NULL, '{8331-1,8332-9}', NULL),
    -- sbp: normal 90-140
    ('sbp', '8480-6', 'Systolic blood pressure', 'mm[Hg]', 30, 300, true, 'Systolic BP', 'mmHg', NULL, '{}', NULL),
    -- dbp: normal 60-90
    ('dbp', '8462-4', 'Diastolic blood pressure', 'mm[Hg]', 10, 200, true, 'Diastolic BP', 'mmHg', NULL, '{}', NULL),
    -- map: normal 70-105
    ('map', '8478-0', 'Mean arterial pressure', 'mm[Hg]', 20, 250, true, 'Mean arterial pressure', 'mmHg', NULL, '{}', NULL),
    -- gcs: the scale runs 3-15
    ('gcs', '9269-2', 'Glasgow coma score, total', '{score}', 3, 15, true, 'GCS', 'points', NULL, '{}', NULL),
    -- urine_leukocytes: normal < 5 per HPF; a urine value, never a blood count
    ('urine_leukocytes', '5821-4', 'Leukocytes in urine sediment (per high power field)', '/[HPF]', 0, 1000, true, 'Leukocytes (urine)', '/HPF', NULL, '{}', 'urine');

-- ---------------------------------------------------------------------------
-- Shipped rows kept apart from the user's changes
-- ---------------------------------------------------------------------------
-- A shipped row that is changed (range, name, anything) becomes builtin =
-- false with replaces = its shipped name, so pg_dump (WHERE NOT builtin) keeps
-- it; on restore CREATE EXTENSION brings the shipped row back and inserting
-- the dumped row puts the changed row in its place.  A deleted shipped row
-- leaves its name in feature_removed (dumped), whose rows delete the shipped
-- row again on restore.  pg_dump restores extension tables in foreign-key
-- order, so feature comes before lab_map.
CREATE TABLE @extschema@.feature_removed (
    name       text        NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT feature_removed_pkey PRIMARY KEY (name)
);
COMMENT ON TABLE @extschema@.feature_removed IS
    'Shipped features the user deleted (filled by a trigger on feature). pg_dump keeps these rows; restoring one deletes the shipped row CREATE EXTENSION re-created.';
COMMENT ON COLUMN @extschema@.feature_removed.name IS 'The shipped name of the deleted feature.';
COMMENT ON COLUMN @extschema@.feature_removed.removed_at IS 'When it was deleted.';

CREATE FUNCTION @extschema@.feature_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    m record;
BEGIN
    NEW.display_name := coalesce(NEW.display_name, NEW.description);
    NEW.display_unit := coalesce(NEW.display_unit, NEW.unit);
    IF TG_OP = 'INSERT' THEN
        IF NEW.builtin THEN
            RAISE EXCEPTION 'feature "%": builtin rows are shipped by CREATE EXTENSION only', NEW.name
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Leave builtin false for your own features.';
        END IF;
        IF NEW.replaces IS NULL
           AND EXISTS (SELECT 1 FROM @extschema@.feature_removed r WHERE r.name = NEW.name) THEN
            NEW.replaces := NEW.name;      -- the user's own row under a deleted shipped name
        END IF;
        IF NEW.replaces IS NOT NULL
           AND EXISTS (SELECT 1 FROM @extschema@.feature f WHERE f.name = NEW.replaces AND f.builtin) THEN
            -- a changed shipped row (pg_restore): it takes the shipped row's place
            UPDATE @extschema@.feature f
               SET name = NEW.name, loinc = NEW.loinc, description = NEW.description, unit = NEW.unit,
                   plausible_min = NEW.plausible_min, plausible_max = NEW.plausible_max,
                   display_name = NEW.display_name, display_unit = NEW.display_unit,
                   molar_mass = NEW.molar_mass, other_loinc = NEW.other_loinc,
                   specimen = NEW.specimen, builtin = false, replaces = NEW.replaces
             WHERE f.name = NEW.replaces;
            RETURN NULL;
        END IF;
        SELECT pg_catalog.count(*) INTO n FROM @extschema@.feature;
        IF n >= @extschema@.feature_catalogue_max() THEN
            RAISE EXCEPTION 'feature "%": the catalogue already holds % features, the most a lab panel can hold',
                    NEW.name, n
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Delete features no model or mapping uses; see docs/bring-your-own-data.md.';
        END IF;
    ELSE
        IF NEW.builtin AND NOT OLD.builtin THEN
            RAISE EXCEPTION 'feature "%": builtin rows are shipped by CREATE EXTENSION only', NEW.name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.builtin AND NEW IS DISTINCT FROM OLD THEN
            NEW.builtin := false;
            NEW.replaces := coalesce(NEW.replaces, OLD.name);
        END IF;
        -- a mapping converted by UCUM must stay convertible
        IF NEW.unit IS DISTINCT FROM OLD.unit OR NEW.molar_mass IS DISTINCT FROM OLD.molar_mass THEN
            SELECT l.local_code, l.unit,
                   @extschema@.unit_conversion_problem(l.unit, NEW.unit, NEW.molar_mass) AS why
              INTO m
              FROM @extschema@.lab_map l
             WHERE l.feature = OLD.name AND l.factor IS NULL
               AND @extschema@.unit_factor(l.unit, NEW.unit, NEW.molar_mass) IS NULL
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'feature "%": lab_map row (%, %) would no longer convert: %',
                        NEW.name, m.local_code, m.unit, m.why
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give that lab_map row a factor, or change its unit first.';
            END IF;
        END IF;
    END IF;
    IF @extschema@.unit_ucum(NEW.unit) IS NULL THEN
        RAISE EXCEPTION 'feature "%": unit "%" is not a UCUM unit known here', NEW.name, NEW.unit
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = @extschema@.unit_conversion_problem(NEW.unit, NEW.unit),
                  HINT = 'Write the canonical unit in UCUM (mg/L, 10*9/L, mm[Hg], {score}); SELECT * FROM icu_predict.unit_spellings() lists accepted spellings.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_write() IS
    'Trigger: fills display_name/display_unit, checks the unit (22023) and the catalogue limit (54000), marks a changed shipped row (builtin false, replaces), puts a restored changed row in the shipped row''s place, refuses builtin rows from users (42501) and a unit or molar mass change that leaves a UCUM-converted lab_map row unconvertible (22023).';

CREATE TRIGGER feature_write
    BEFORE INSERT OR UPDATE ON @extschema@.feature
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_write();

CREATE FUNCTION @extschema@.feature_deleted()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.builtin OR OLD.replaces IS NOT NULL THEN
        INSERT INTO @extschema@.feature_removed (name)
        VALUES (coalesce(OLD.replaces, OLD.name)) ON CONFLICT (name) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_deleted() IS
    'Trigger: a deleted shipped feature leaves its shipped name in feature_removed, so pg_dump keeps the deletion.';

CREATE TRIGGER feature_deleted
    AFTER DELETE ON @extschema@.feature
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_deleted();

CREATE FUNCTION @extschema@.feature_removed_apply()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.feature f WHERE f.name = NEW.name AND f.builtin;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_removed_apply() IS
    'Trigger: a row in feature_removed (from pg_restore) deletes the shipped feature of that name, if CREATE EXTENSION re-created it.';

CREATE TRIGGER feature_removed_apply
    AFTER INSERT ON @extschema@.feature_removed
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_removed_apply();

-- ---------------------------------------------------------------------------
-- lab_map: local code (and specimen, and unit) -> canonical feature
-- ---------------------------------------------------------------------------
-- unit_key() is the normalisation of unit spellings lab_map rows match by:
-- ASCII case folded, spaces removed, micro sign and mu as u, so 'mg/L',
-- 'mg/l' and 'MG / L' match alike.  In C (canonical/unit_key.c).
CREATE FUNCTION @extschema@.unit_key(unit text)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_unit_key'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_key(text) IS
    'Normalised spelling of a unit: ASCII letters lower-cased, spaces removed, micro sign and Greek mu as u; NULL becomes the empty string. lab_map matches units by this key.';

CREATE TABLE @extschema@.lab_map (
    local_code text   NOT NULL,
    unit       text   NOT NULL DEFAULT '',
    unit_key   text   GENERATED ALWAYS AS (@extschema@.unit_key(unit)) STORED,
    feature    text   NOT NULL,
    factor     float8,
    "offset"   float8 NOT NULL DEFAULT 0,
    note       text,
    specimen   text   NOT NULL DEFAULT '*',
    CONSTRAINT lab_map_pkey PRIMARY KEY (local_code, unit_key, specimen),
    CONSTRAINT lab_map_feature_fkey FOREIGN KEY (feature)
        REFERENCES @extschema@.feature (name) ON UPDATE CASCADE,
    CONSTRAINT lab_map_factor_usable
        CHECK (factor <> 0 AND factor BETWEEN '-1e12'::float8 AND '1e12'::float8),
    CONSTRAINT lab_map_offset_finite
        CHECK ("offset" BETWEEN '-1e12'::float8 AND '1e12'::float8),
    CONSTRAINT lab_map_offset_needs_factor CHECK (factor IS NOT NULL OR "offset" = 0),
    CONSTRAINT lab_map_specimen_known_value
        CHECK (specimen = '*' OR @extschema@.specimen_known(specimen))
);
CREATE INDEX lab_map_feature_idx ON @extschema@.lab_map (feature);
COMMENT ON TABLE @extschema@.lab_map IS
    'Maps a local lab code (for a specimen, or ''*'' for any) to a canonical feature. The value is converted from the unit sent into the feature''s unit by UCUM (unit_factor()), or by factor and offset when factor is given (an override for units UCUM does not know). A row whose unit has no lab_map row of its own is converted from its own unit, when all lab_map rows of its code name one feature. Units match by unit_key(); use unit '''' for results sent without a unit.';
COMMENT ON COLUMN @extschema@.lab_map.local_code IS 'The laboratory''s own test code, as in lab_result.local_code.';
COMMENT ON COLUMN @extschema@.lab_map.unit IS 'Unit as sent (any spelling; '''' for no unit).';
COMMENT ON COLUMN @extschema@.lab_map.unit_key IS 'Normalised unit (generated from unit by unit_key()).';
COMMENT ON COLUMN @extschema@.lab_map.feature IS 'Canonical feature (feature.name).';
COMMENT ON COLUMN @extschema@.lab_map.factor IS 'Override: multiplier into the canonical unit (e.g. 0.357 for BUN mg/dL to urea mmol/L). NULL (the default): UCUM converts unit into the feature''s unit, and the row is refused (22023) when it cannot.';
COMMENT ON COLUMN @extschema@.lab_map."offset" IS 'With factor: added after it; must be 0 without a factor (UCUM gives temperature offsets itself).';
COMMENT ON COLUMN @extschema@.lab_map.note IS 'Free text: where the mapping comes from.';
COMMENT ON COLUMN @extschema@.lab_map.specimen IS '''*'' (the default): any specimen, and results sent without one. Otherwise a specimen (as lab_result.specimen): the row applies to results of that specimen and wins over a ''*'' row.';

CREATE FUNCTION @extschema@.lab_map_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    SELECT x.unit, x.molar_mass, x.specimen INTO f FROM @extschema@.feature x WHERE x.name = NEW.feature;
    IF NOT FOUND THEN
        RETURN NEW;             -- the foreign key reports this case
    END IF;
    IF NEW.factor IS NULL AND @extschema@.unit_factor(NEW.unit, f.unit, f.molar_mass) IS NULL THEN
        RAISE EXCEPTION 'lab_map row (%, %): unit "%" does not convert into "%", the unit of feature "%"',
                NEW.local_code, NEW.unit, NEW.unit, f.unit, NEW.feature
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = @extschema@.unit_conversion_problem(NEW.unit, f.unit, f.molar_mass) || '.',
                  HINT = 'Give the factor (and offset) into the canonical unit, or write the unit in UCUM; SELECT * FROM icu_predict.unit_spellings() lists accepted spellings.';
    END IF;
    IF NEW.specimen <> '*' AND f.specimen IS NOT NULL AND @extschema@.specimen_known(NEW.specimen)
       AND @extschema@.specimen_class(NEW.specimen) <> f.specimen THEN
        RAISE EXCEPTION 'lab_map row (%, %): specimen "%" is not a % specimen, as feature "%" needs',
                NEW.local_code, NEW.unit, NEW.specimen, f.specimen, NEW.feature
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Map results of this specimen to a feature measured in it (urine_leukocytes, not leukocytes).';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.lab_map_check() IS
    'Trigger: a lab_map row without factor must convert by UCUM into its feature''s unit, and a row for a specimen must match the feature''s specimen class (22023 with the reason otherwise).';

CREATE TRIGGER lab_map_check
    BEFORE INSERT OR UPDATE ON @extschema@.lab_map
    FOR EACH ROW EXECUTE FUNCTION @extschema@.lab_map_check();

-- ---------------------------------------------------------------------------
-- The one list of rejection reasons
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.lab_rejection_reason (
    reason      text    NOT NULL,
    sort_order  integer NOT NULL,
    description text    NOT NULL,
    remedy      text    NOT NULL,
    CONSTRAINT lab_rejection_reason_pkey PRIMARY KEY (reason),
    CONSTRAINT lab_rejection_reason_sort_order_key UNIQUE (sort_order)
);
COMMENT ON TABLE @extschema@.lab_rejection_reason IS
    'Why a lab row is not used: the one list that lab_row_status, lab_unmapped, lab_load_quality and the loaders use. A row gets the first reason that applies, in sort_order. Shipped with the extension.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.reason IS 'The reason code, as in lab_row_status.rejection.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.sort_order IS 'Order of the checks: a row gets the first reason that applies.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.description IS 'What it means.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.remedy IS 'What to do about it.';

INSERT INTO @extschema@.lab_rejection_reason (reason, sort_order, description, remedy) VALUES
    ('non_finite_time', 1, 'resulted_at or sampled_at is infinity or -infinity.',
     'Correct the time in the export: a result is used as of its result time.'),
    ('code_unknown', 2, 'No lab_map row has the local code, and no feature has it as its LOINC code.',
     'Add a lab_map row (local_code, unit, feature) if the code measures a feature; otherwise nothing.'),
    ('specimen_mismatch', 3, 'The row''s specimen is not of the feature''s specimen class (a urine leukocyte count for blood leukocytes), or lab_map maps the code only for other specimens (a row without specimen matches only ''*'' rows).',
     'Map the code for this specimen to a feature measured in it, or correct the specimen.'),
    ('unit_not_convertible', 4, 'The code is mapped, but the unit sent does not convert into the feature''s unit (the detail names the unit expected and the units lab_map has for the code).',
     'Send the unit in UCUM, or add a lab_map row for this unit with a factor.'),
    ('not_numeric', 5, 'No value, and value_text is neither a number nor a censored number (<5, >1000).',
     'Nothing if the text is a remark (NEG, HEMOLYZED); otherwise derive value in the loader.'),
    ('out_of_range', 6, 'The converted value overflows or underflows float8 (value * factor).',
     'Check the value and the lab_map factor.'),
    ('implausible', 7, 'The converted value is outside the feature''s [plausible_min, plausible_max]; the panel counts it as rejected.',
     'Check the unit (a value on another scale) and the specimen; widen the range only for a real patient.');

-- ---------------------------------------------------------------------------
-- Every lab row, its feature, canonical value and rejection reason
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.lab_code_feature AS
SELECT m.local_code, m.specimen, pg_catalog.min(m.feature) AS feature, 'lab_map'::text AS source
  FROM @extschema@.lab_map m
 GROUP BY m.local_code, m.specimen
HAVING pg_catalog.count(DISTINCT m.feature) = 1
UNION ALL
SELECT c.code, '*', pg_catalog.min(f.name), 'loinc'
  FROM @extschema@.feature f
 CROSS JOIN LATERAL pg_catalog.unnest(f.other_loinc || f.loinc) AS c(code)
 WHERE c.code IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM @extschema@.lab_map m WHERE m.local_code = c.code)
 GROUP BY c.code
HAVING pg_catalog.count(*) = 1;
COMMENT ON VIEW @extschema@.lab_code_feature IS
    'The feature a local code maps to, per specimen (''*'': any), for results whose unit has no lab_map row of its own: codes whose lab_map rows name one feature, and the catalogue''s LOINC codes (loinc, other_loinc) that lab_map does not use. Such results are converted from the unit sent by UCUM.';
COMMENT ON COLUMN @extschema@.lab_code_feature.local_code IS 'Local code (or LOINC code) as sent.';
COMMENT ON COLUMN @extschema@.lab_code_feature.specimen IS 'Specimen the mapping applies to; ''*'' for any.';
COMMENT ON COLUMN @extschema@.lab_code_feature.feature IS 'The feature.';
COMMENT ON COLUMN @extschema@.lab_code_feature.source IS 'lab_map or loinc (the catalogue''s own codes).';

-- The lookups over lab_map, kept in two small tables so that lab_row_status
-- stays a plain join (the planner pushes an admission's qualification down to
-- lab_result and probes these by key).  Rebuilt from lab_map and feature by
-- statement triggers on both (also while pg_restore loads them).
CREATE TABLE @extschema@.lab_code_lookup (
    local_code text NOT NULL,
    specimen   text NOT NULL,
    feature    text NOT NULL,
    CONSTRAINT lab_code_lookup_pkey PRIMARY KEY (local_code, specimen)
);
COMMENT ON TABLE @extschema@.lab_code_lookup IS
    'Derived from lab_code_feature (kept by triggers on lab_map and feature; not dumped): the one feature of a code per specimen.';
COMMENT ON COLUMN @extschema@.lab_code_lookup.local_code IS 'Local code (or LOINC code) as sent.';
COMMENT ON COLUMN @extschema@.lab_code_lookup.specimen IS 'Specimen, or ''*'' for any.';
COMMENT ON COLUMN @extschema@.lab_code_lookup.feature IS 'The feature.';

CREATE TABLE @extschema@.lab_map_code (
    local_code   text    NOT NULL,
    any_specimen boolean NOT NULL,
    specimens    text[]  NOT NULL,
    units        text    NOT NULL,
    CONSTRAINT lab_map_code_pkey PRIMARY KEY (local_code)
);
COMMENT ON TABLE @extschema@.lab_map_code IS
    'Derived from lab_map (kept by triggers; not dumped): per local code, the specimens and units it is mapped under, for the rejection reasons and their details.';
COMMENT ON COLUMN @extschema@.lab_map_code.local_code IS 'Local code.';
COMMENT ON COLUMN @extschema@.lab_map_code.any_specimen IS 'Whether a lab_map row of the code is for any specimen (''*'').';
COMMENT ON COLUMN @extschema@.lab_map_code.specimens IS 'The specimens of its lab_map rows.';
COMMENT ON COLUMN @extschema@.lab_map_code.units IS 'The units of its lab_map rows, comma-separated.';

CREATE FUNCTION @extschema@.lab_lookup_rebuild()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.lab_code_lookup;
    INSERT INTO @extschema@.lab_code_lookup (local_code, specimen, feature)
    SELECT x.local_code, x.specimen, x.feature FROM @extschema@.lab_code_feature x;
    DELETE FROM @extschema@.lab_map_code;
    INSERT INTO @extschema@.lab_map_code (local_code, any_specimen, specimens, units)
    SELECT l.local_code, pg_catalog.bool_or(l.specimen = '*'),
           pg_catalog.array_agg(DISTINCT l.specimen ORDER BY l.specimen),
           pg_catalog.string_agg(DISTINCT l.unit, ', ' ORDER BY l.unit)
      FROM @extschema@.lab_map l GROUP BY l.local_code;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lab_lookup_rebuild() IS
    'Trigger: rebuilds lab_code_lookup and lab_map_code after a change of lab_map or feature.';

CREATE TRIGGER lab_lookup_rebuild
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.lab_map
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lab_lookup_rebuild();
CREATE TRIGGER lab_lookup_rebuild
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.feature
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lab_lookup_rebuild();
INSERT INTO @extschema@.lab_code_lookup (local_code, specimen, feature)
SELECT x.local_code, x.specimen, x.feature FROM @extschema@.lab_code_feature x;
INSERT INTO @extschema@.lab_map_code (local_code, any_specimen, specimens, units)
SELECT l.local_code, pg_catalog.bool_or(l.specimen = '*'),
       pg_catalog.array_agg(DISTINCT l.specimen ORDER BY l.specimen),
       pg_catalog.string_agg(DISTINCT l.unit, ', ' ORDER BY l.unit)
  FROM @extschema@.lab_map l GROUP BY l.local_code;

CREATE VIEW @extschema@.lab_row_status AS
SELECT r.lab_result_id,
       r.admission_id,
       r.local_code,
       r.unit AS local_unit,
       r.specimen,
       r.value AS value_sent,
       r.value_text,
       r.resulted_at,
       r.sampled_at,
       f.name AS feature,
       f.unit AS canonical_unit,
       f.plausible_min,
       f.plausible_max,
       k.factor,
       k."offset",
       c.value,
       CASE WHEN r.value_text IS NOT NULL THEN @extschema@.lab_text_censoring(r.value_text) END AS censored,
       s.rejection,
       CASE s.rejection
           WHEN 'non_finite_time' THEN
               'resulted_at ' || r.resulted_at || coalesce(', sampled_at ' || r.sampled_at, '')
           WHEN 'code_unknown' THEN
               'no lab_map row for code ' || r.local_code || ', and no feature has it as LOINC code'
           WHEN 'specimen_mismatch' THEN
               CASE WHEN f.name IS NULL
                    THEN 'lab_map maps code ' || r.local_code || ' only for specimen '
                         || pg_catalog.array_to_string(mc.specimens, ', ') || '; this row''s specimen is '
                         || coalesce(r.specimen, 'not given')
                    ELSE 'specimen ' || r.specimen || ' is not ' || f.specimen
                         || ', the specimen of feature ' || f.name END
           WHEN 'unit_not_convertible' THEN
               CASE WHEN f.name IS NULL
                    THEN 'unit "' || coalesce(r.unit, '') || '" is none of the units lab_map has for code '
                         || r.local_code || ' (' || mc.units || '), which name several features'
                    ELSE 'expected a unit convertible to ' || f.unit || ' (feature ' || f.name || '): '
                         || coalesce(@extschema@.unit_conversion_problem(r.unit, f.unit, f.molar_mass), '')
                         || coalesce('; lab_map has code ' || r.local_code || ' under ' || mc.units, '') END
           WHEN 'not_numeric' THEN
               'result text ' || pg_catalog.quote_literal(r.value_text) || ' is no number'
           WHEN 'out_of_range' THEN
               v.raw || ' * ' || k.factor || ' + ' || k."offset" || ' is outside the float8 range'
           WHEN 'implausible' THEN
               c.value || ' ' || f.unit || ' is outside [' || f.plausible_min || ', ' || f.plausible_max
               || '] of feature ' || f.name
       END AS detail
  FROM @extschema@.lab_result r
  LEFT JOIN @extschema@.lab_map ms
    ON ms.local_code = r.local_code AND ms.unit_key = @extschema@.unit_key(r.unit) AND ms.specimen = r.specimen
  LEFT JOIN @extschema@.lab_map ma
    ON ma.local_code = r.local_code AND ma.unit_key = @extschema@.unit_key(r.unit) AND ma.specimen = '*'
  LEFT JOIN @extschema@.lab_code_lookup cs
    ON cs.local_code = r.local_code AND cs.specimen = r.specimen
  LEFT JOIN @extschema@.lab_code_lookup ca
    ON ca.local_code = r.local_code AND ca.specimen = '*'
  LEFT JOIN @extschema@.feature f
    ON f.name = coalesce(ms.feature, ma.feature, cs.feature, ca.feature)
  LEFT JOIN @extschema@.lab_map_code mc
    ON mc.local_code = r.local_code
 CROSS JOIN LATERAL (
       SELECT CASE WHEN ms.local_code IS NOT NULL THEN ms.unit
                   WHEN ma.local_code IS NOT NULL THEN ma.unit
                   ELSE r.unit END AS from_unit,
              CASE WHEN ms.local_code IS NOT NULL THEN ms.factor ELSE ma.factor END AS factor,
              CASE WHEN ms.local_code IS NOT NULL THEN ms."offset" ELSE ma."offset" END AS "offset") m
 CROSS JOIN LATERAL (
       SELECT CASE WHEN m.factor IS NOT NULL THEN m.factor
                   ELSE @extschema@.unit_factor(m.from_unit, f.unit, f.molar_mass) END AS factor,
              CASE WHEN m.factor IS NOT NULL THEN m."offset"
                   ELSE @extschema@.unit_offset(m.from_unit, f.unit, f.molar_mass) END AS "offset") k
 CROSS JOIN LATERAL (
       SELECT coalesce(r.value, @extschema@.lab_text_value(r.value_text)) AS raw) v
 CROSS JOIN LATERAL (
       SELECT @extschema@.canonical_value(v.raw, k.factor, k."offset") AS value) c
 CROSS JOIN LATERAL (
       SELECT CASE
                WHEN NOT pg_catalog.isfinite(r.resulted_at)
                     OR NOT pg_catalog.isfinite(coalesce(r.sampled_at, r.resulted_at))
                     THEN 'non_finite_time'
                WHEN f.name IS NULL AND mc.local_code IS NULL THEN 'code_unknown'
                WHEN f.name IS NULL AND (mc.any_specimen OR r.specimen = ANY (mc.specimens))
                     THEN 'unit_not_convertible'
                WHEN f.name IS NULL THEN 'specimen_mismatch'
                WHEN r.specimen IS NOT NULL AND f.specimen IS NOT NULL
                     AND @extschema@.specimen_class(r.specimen) <> f.specimen THEN 'specimen_mismatch'
                WHEN k.factor IS NULL THEN 'unit_not_convertible'
                WHEN v.raw IS NULL THEN 'not_numeric'
                WHEN c.value IS NULL THEN 'out_of_range'
                WHEN c.value < f.plausible_min OR c.value > f.plausible_max THEN 'implausible'
              END AS rejection) s;
COMMENT ON VIEW @extschema@.lab_row_status IS
    'Every lab_result row (exactly one row each) with the feature it maps to, its value in the canonical unit and its rejection reason (lab_rejection_reason; NULL when the row is used). Mapping: the lab_map row of the code and unit for the row''s specimen, else for ''*''; else the code''s one feature (lab_code_feature), converted from the unit sent. The value is value, or the number in value_text (censored results at their bound, flagged in censored).';
COMMENT ON COLUMN @extschema@.lab_row_status.lab_result_id IS 'The source row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_row_status.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.lab_row_status.local_code IS 'The laboratory''s own code, as sent.';
COMMENT ON COLUMN @extschema@.lab_row_status.local_unit IS 'The unit as sent.';
COMMENT ON COLUMN @extschema@.lab_row_status.specimen IS 'The specimen as sent (NULL: not given).';
COMMENT ON COLUMN @extschema@.lab_row_status.value_sent IS 'lab_result.value.';
COMMENT ON COLUMN @extschema@.lab_row_status.value_text IS 'lab_result.value_text.';
COMMENT ON COLUMN @extschema@.lab_row_status.resulted_at IS 'Time the result became available.';
COMMENT ON COLUMN @extschema@.lab_row_status.sampled_at IS 'Time the sample was taken, when known.';
COMMENT ON COLUMN @extschema@.lab_row_status.feature IS 'The canonical feature, when the code maps to one.';
COMMENT ON COLUMN @extschema@.lab_row_status.canonical_unit IS 'The feature''s unit.';
COMMENT ON COLUMN @extschema@.lab_row_status.plausible_min IS 'The feature''s lowest plausible value.';
COMMENT ON COLUMN @extschema@.lab_row_status.plausible_max IS 'The feature''s highest plausible value.';
COMMENT ON COLUMN @extschema@.lab_row_status.factor IS 'The multiplier into the canonical unit (lab_map override or UCUM); NULL when the unit does not convert.';
COMMENT ON COLUMN @extschema@.lab_row_status."offset" IS 'The additive term (temperatures, or the lab_map override).';
COMMENT ON COLUMN @extschema@.lab_row_status.value IS 'The value in the canonical unit; NULL when there is none (not numeric, not convertible, out of range).';
COMMENT ON COLUMN @extschema@.lab_row_status.censored IS '<, <=, > or >= when value_text is a censored result; the value is then the bound.';
COMMENT ON COLUMN @extschema@.lab_row_status.rejection IS 'NULL when the row is used; else the first reason of lab_rejection_reason that applies.';
COMMENT ON COLUMN @extschema@.lab_row_status.detail IS 'The rejection in words: the unit expected and the units lab_map has for the code, the specimen, the range.';

-- ---------------------------------------------------------------------------
-- Canonical lab rows and what is not used
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.lab_canonical AS
SELECT s.lab_result_id,
       s.admission_id,
       s.feature,
       s.value,
       s.resulted_at,
       s.sampled_at,
       s.local_code,
       s.local_unit,
       s.canonical_unit,
       s.plausible_min,
       s.plausible_max,
       s.specimen,
       s.censored
  FROM @extschema@.lab_row_status s
 WHERE s.rejection IS NULL OR s.rejection = 'implausible';
COMMENT ON VIEW @extschema@.lab_canonical IS
    'Lab results in canonical features, the rows the panels read: the rows of lab_row_status that are used, plus the implausible ones (lab_panel counts those as rejected). Every other row is listed, with its reason, in lab_unmapped.';
COMMENT ON COLUMN @extschema@.lab_canonical.lab_result_id IS 'The source row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_canonical.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.lab_canonical.feature IS 'Canonical feature name (feature.name).';
COMMENT ON COLUMN @extschema@.lab_canonical.value IS 'Value in the canonical unit of the feature.';
COMMENT ON COLUMN @extschema@.lab_canonical.resulted_at IS 'Time the result became available (the as-of time rule uses this).';
COMMENT ON COLUMN @extschema@.lab_canonical.sampled_at IS 'Time the sample was taken, when known.';
COMMENT ON COLUMN @extschema@.lab_canonical.local_code IS 'The laboratory''s own code, as sent.';
COMMENT ON COLUMN @extschema@.lab_canonical.local_unit IS 'The unit as sent.';
COMMENT ON COLUMN @extschema@.lab_canonical.canonical_unit IS 'The canonical unit of the feature (feature.unit).';
COMMENT ON COLUMN @extschema@.lab_canonical.plausible_min IS 'Lowest plausible value of the feature; lower values are rejected by lab_panel.';
COMMENT ON COLUMN @extschema@.lab_canonical.plausible_max IS 'Highest plausible value of the feature; higher values are rejected by lab_panel.';
COMMENT ON COLUMN @extschema@.lab_canonical.specimen IS 'The specimen as sent (NULL: not given).';
COMMENT ON COLUMN @extschema@.lab_canonical.censored IS '<, <=, > or >= for a censored result (the value is its bound); NULL otherwise.';

CREATE VIEW @extschema@.lab_unmapped AS
SELECT s.local_code,
       @extschema@.unit_key(s.local_unit) AS unit_key,
       pg_catalog.min(coalesce(s.local_unit, '')) AS unit_example,
       s.rejection AS reason,
       s.feature AS mapped_feature,
       pg_catalog.count(*) AS n_rows,
       pg_catalog.count(*) FILTER (WHERE s.value_sent IS NULL) AS n_text_only,
       pg_catalog.count(DISTINCT s.admission_id) AS n_admissions,
       pg_catalog.min(s.resulted_at) AS first_resulted_at,
       pg_catalog.max(s.resulted_at) AS last_resulted_at,
       s.specimen,
       pg_catalog.min(s.canonical_unit) AS expected_unit,
       pg_catalog.min(s.lab_result_id) AS example_lab_result_id,
       pg_catalog.min(coalesce(s.value_text, s.value_sent::text)) AS example_value,
       pg_catalog.min(s.detail) AS detail
  FROM @extschema@.lab_row_status s
 WHERE s.rejection IS NOT NULL AND s.rejection <> 'implausible'
 GROUP BY s.local_code, @extschema@.unit_key(s.local_unit), s.rejection, s.feature, s.specimen;
COMMENT ON VIEW @extschema@.lab_unmapped IS
    'Lab rows that are not used for a reason other than implausibility, counted per code, unit, reason, feature and specimen, with an example and the reason in words. Implausible rows are in lab_canonical (the panel counts them); lab_load_quality counts every row.';
COMMENT ON COLUMN @extschema@.lab_unmapped.local_code IS 'Local lab code as sent.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_key IS 'Normalised unit (unit_key()); lab_map matches on it.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_example IS 'One spelling of the unit as sent ('''' when none).';
COMMENT ON COLUMN @extschema@.lab_unmapped.reason IS 'The rejection reason (lab_rejection_reason.reason).';
COMMENT ON COLUMN @extschema@.lab_unmapped.mapped_feature IS 'The feature the code maps to, when it maps to one.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_rows IS 'Number of lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_text_only IS 'Of these, rows with only a text result.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_admissions IS 'Number of admissions with such rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.first_resulted_at IS 'Earliest result time.';
COMMENT ON COLUMN @extschema@.lab_unmapped.last_resulted_at IS 'Latest result time.';
COMMENT ON COLUMN @extschema@.lab_unmapped.specimen IS 'The specimen as sent.';
COMMENT ON COLUMN @extschema@.lab_unmapped.expected_unit IS 'The unit of the feature the code maps to (what a convertible unit must convert into).';
COMMENT ON COLUMN @extschema@.lab_unmapped.example_lab_result_id IS 'One such row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_unmapped.example_value IS 'One value as sent (text, or the number).';
COMMENT ON COLUMN @extschema@.lab_unmapped.detail IS 'The reason in words, for one such row.';

CREATE VIEW @extschema@.lab_load_quality AS
SELECT s.feature,
       s.local_code,
       @extschema@.unit_key(s.local_unit) AS unit_key,
       pg_catalog.min(coalesce(s.local_unit, '')) AS unit_example,
       s.specimen,
       coalesce(s.rejection, 'used') AS status,
       pg_catalog.count(*) AS n_rows,
       pg_catalog.count(*) FILTER (WHERE s.censored IS NOT NULL) AS n_censored,
       pg_catalog.count(DISTINCT s.admission_id) AS n_admissions,
       pg_catalog.min(s.lab_result_id) AS example_lab_result_id,
       pg_catalog.min(coalesce(s.value_text, s.value_sent::text)) AS example_value,
       pg_catalog.min(s.detail) AS detail,
       pg_catalog.min(s.resulted_at) AS first_resulted_at,
       pg_catalog.max(s.resulted_at) AS last_resulted_at
  FROM @extschema@.lab_row_status s
 GROUP BY s.feature, s.local_code, @extschema@.unit_key(s.local_unit), s.specimen,
          coalesce(s.rejection, 'used');
COMMENT ON VIEW @extschema@.lab_load_quality IS
    'Every lab row counted by feature, local code, unit, specimen and status (used, or a rejection reason), with an example: what a load could and could not use. For each feature and each code, n_rows of status used plus the rows of every reason equals its rows in lab_result.';
COMMENT ON COLUMN @extschema@.lab_load_quality.feature IS 'The feature (NULL for codes that map to none).';
COMMENT ON COLUMN @extschema@.lab_load_quality.local_code IS 'Local lab code as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.unit_key IS 'Normalised unit.';
COMMENT ON COLUMN @extschema@.lab_load_quality.unit_example IS 'One spelling of the unit as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.specimen IS 'The specimen as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.status IS 'used, or the rejection reason (lab_rejection_reason.reason).';
COMMENT ON COLUMN @extschema@.lab_load_quality.n_rows IS 'Number of lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_load_quality.n_censored IS 'Of these, censored results (<5, >1000).';
COMMENT ON COLUMN @extschema@.lab_load_quality.n_admissions IS 'Number of admissions with such rows.';
COMMENT ON COLUMN @extschema@.lab_load_quality.example_lab_result_id IS 'One such row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_load_quality.example_value IS 'One value as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.detail IS 'The reason in words, for one such row (NULL when used).';
COMMENT ON COLUMN @extschema@.lab_load_quality.first_resulted_at IS 'Earliest result time.';
COMMENT ON COLUMN @extschema@.lab_load_quality.last_resulted_at IS 'Latest result time.';

-- ---------------------------------------------------------------------------
-- pg_dump keeps the rows users load.  The shipped catalogue rows come back
-- with CREATE EXTENSION, so only rows users added or changed are dumped, and
-- the shipped names they deleted.
-- ---------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature_removed', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lab_map', '');

-- ==== extension/sql/05_episodes.sql
-- ICU episodes and ICU occupancy, derived from location_stay.
--
-- An ICU episode is what MIMIC calls an ICU stay (ICUSTAYS) and what a bed
-- manager counts: one admission's time in intensive care, from the first
-- arrival in an ICU unit to the last departure, where
--   * consecutive ICU location stays are merged even when the unit changes
--     (an ICU-to-ICU transfer continues the episode), and
--   * a return to an ICU within max_gap (24 hours in the view icu_episode)
--     of leaving one continues the episode too; the time off the unit
--     (e.g. on a ward, in theatre) counts towards the episode's length.
-- This is the rule MIMIC-III applies when it groups TRANSFERS into ICUSTAYS;
-- on the MIMIC-III demo every ICUSTAYS row equals one episode.
--
-- Functions use SQL-standard bodies (BEGIN ATOMIC), so every name and
-- operator is resolved when the extension is created, not through the
-- caller's search_path.  "Now" and the end of a day come from the clock
-- (00_clock.sql): reference_time() and day_zone().

-- ---------------------------------------------------------------------------
-- icu_episodes(max_gap) and the view icu_episode
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.icu_episodes(max_gap interval DEFAULT '24 hours')
RETURNS TABLE (
    admission_id   bigint,
    episode        integer,
    first_unit     text,
    last_unit      text,
    started_at     timestamptz,
    ended_at       timestamptz,
    los_days       float8,
    still_in_icu   boolean,
    location_stays integer
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH icu AS (
        SELECT s.stay_id, s.admission_id, s.unit, s.started_at, s.ended_at,
               pg_catalog.max(COALESCE(s.ended_at, 'infinity'::timestamptz)) OVER (
                   PARTITION BY s.admission_id ORDER BY s.started_at, s.stay_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_end
          FROM @extschema@.location_stay s
         WHERE s.unit_kind = 'icu'
    ), numbered AS (
        SELECT icu.*,
               pg_catalog.sum(CASE
                       WHEN icu.prior_end IS NULL THEN 1
                       WHEN icu.started_at
                            > icu.prior_end + COALESCE(icu_episodes.max_gap, '0'::interval) THEN 1
                       ELSE 0 END)
                   OVER (PARTITION BY icu.admission_id
                         ORDER BY icu.started_at, icu.stay_id) AS episode
          FROM icu
    ), grouped AS (
        SELECT n.admission_id,
               n.episode::integer AS episode,
               (pg_catalog.array_agg(n.unit ORDER BY n.started_at, n.stay_id))[1] AS first_unit,
               (pg_catalog.array_agg(n.unit ORDER BY n.started_at DESC, n.stay_id DESC))[1] AS last_unit,
               pg_catalog.min(n.started_at) AS started_at,
               CASE WHEN pg_catalog.bool_or(n.ended_at IS NULL) THEN NULL
                    ELSE pg_catalog.max(n.ended_at) END AS ended_at,
               pg_catalog.bool_or(n.ended_at IS NULL) AS still_in_icu,
               pg_catalog.count(*)::integer AS location_stays
          FROM numbered n
         GROUP BY n.admission_id, n.episode
    )
    SELECT g.admission_id, g.episode, g.first_unit, g.last_unit,
           g.started_at, g.ended_at,
           pg_catalog.date_part('epoch',
               COALESCE(g.ended_at, @extschema@.reference_time()) - g.started_at) / 86400.0 AS los_days,
           g.still_in_icu, g.location_stays
      FROM grouped g
     ORDER BY g.admission_id, g.episode;
END;

COMMENT ON FUNCTION @extschema@.icu_episodes(interval) IS
    'ICU episodes derived from location_stay (unit_kind = ''icu''): ICU stays of one admission are merged into one episode when the next one starts at most max_gap after the latest end so far (ICU-to-ICU transfers have gap 0). NULL max_gap merges only stays that touch. The view icu_episode uses 24 hours, the MIMIC-III ICUSTAYS rule.';

CREATE VIEW @extschema@.icu_episode AS
    SELECT e.admission_id, e.episode, e.first_unit, e.last_unit,
           e.started_at, e.ended_at, e.los_days, e.still_in_icu, e.location_stays
      FROM @extschema@.icu_episodes('24 hours'::interval) e;

COMMENT ON VIEW @extschema@.icu_episode IS
    'One row per ICU episode: consecutive ICU location stays of an admission, merged when the patient returns to an ICU within 24 hours (the MIMIC-III ICUSTAYS rule). ICU admissions and ICU length of stay derive from here.';
COMMENT ON COLUMN @extschema@.icu_episode.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.icu_episode.episode IS 'Episode number within the admission, 1 for the first ICU episode, in time order.';
COMMENT ON COLUMN @extschema@.icu_episode.first_unit IS 'The ICU unit the episode started in.';
COMMENT ON COLUMN @extschema@.icu_episode.last_unit IS 'The ICU unit of the episode''s latest ICU location stay.';
COMMENT ON COLUMN @extschema@.icu_episode.started_at IS 'Arrival in the first ICU unit.';
COMMENT ON COLUMN @extschema@.icu_episode.ended_at IS 'Departure from the last ICU unit; NULL while the patient is in the ICU.';
COMMENT ON COLUMN @extschema@.icu_episode.los_days IS 'ICU length of stay in days (ended_at - started_at, including short excursions off the ICU); for an open episode the time so far, up to icu_predict.reference_time or now.';
COMMENT ON COLUMN @extschema@.icu_episode.still_in_icu IS 'True while the episode is open (its latest ICU location stay has no ended_at).';
COMMENT ON COLUMN @extschema@.icu_episode.location_stays IS 'Number of ICU location stays merged into the episode.';

-- ---------------------------------------------------------------------------
-- icu_occupancy(from_day, to_day)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.icu_occupancy(from_day date, to_day date)
RETURNS TABLE (unit text, day date, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH zone AS (
        SELECT @extschema@.day_zone() AS tz
    ), days AS (
        SELECT d::date AS day,
               pg_catalog.timezone(zone.tz, (d::date + 1)::timestamp) AS census_at
          FROM pg_catalog.generate_series(icu_occupancy.from_day::timestamp,
                                          icu_occupancy.to_day::timestamp,
                                          '1 day'::interval) AS d,
               zone
    ), units AS (
        SELECT s.unit FROM @extschema@.location_stay s WHERE s.unit_kind = 'icu'
        UNION
        SELECT c.unit FROM @extschema@.icu_capacity c
    ), present AS (
        SELECT d.day,
               (SELECT s.unit
                  FROM @extschema@.location_stay s
                 WHERE s.admission_id = e.admission_id
                   AND s.unit_kind = 'icu'
                   AND s.started_at >= e.started_at
                   AND s.started_at <= d.census_at
                 ORDER BY s.started_at DESC, s.stay_id DESC
                 LIMIT 1) AS unit
          FROM days d
          JOIN @extschema@.icu_episode e
            ON e.started_at <= d.census_at
           AND (e.ended_at IS NULL OR e.ended_at > d.census_at)
    )
    SELECT u.unit, d.day, pg_catalog.count(p.unit)::integer AS patients
      FROM units u
     CROSS JOIN days d
      LEFT JOIN present p ON p.unit = u.unit AND p.day = d.day
     GROUP BY u.unit, d.day
     ORDER BY u.unit, d.day;
END;

COMMENT ON FUNCTION @extschema@.icu_occupancy(date, date) IS
    'ICU census per unit and day from from_day to to_day: the number of patients in an ICU episode at the end of the day (midnight at which the day ends in icu_predict.day_timezone, or the session TimeZone when that is empty), i.e. started_at <= midnight < ended_at. A patient counts in the unit of the latest ICU location stay begun by then, also during a short excursion off the ICU that the episode rule (icu_episode) merges. Every ICU unit known from location_stay or icu_capacity gets a row for every day, 0 when empty.';

-- ==== extension/sql/06_comorbidity.sql
-- Comorbidities: the Charlson and Elixhauser groups (defined once, in C:
-- model/comorbidity.c), the ICD-10 codes that place an admission in a group
-- (data: the coding algorithms of Quan et al., Med Care 2005;43:1130-9,
-- shipped; hospitals may add their own rows), and the admission covariates the
-- scoring functions read.
--
--   comorbidity_groups()        the Charlson groups, their weights and hierarchy
--   elixhauser_groups()         the Elixhauser groups, van Walraven weights, hierarchy
--   comorbidity_code            ICD-10 code prefix -> group (289 Charlson and
--                               399 Elixhauser shipped prefixes)
--   admission_comorbidity       the groups of each admission, from diagnosis
--   type admission_covariates   age, sex, BMI and comorbidity groups of an admission
--   admission_covariates(admission_id, as_of)

CREATE FUNCTION @extschema@.comorbidity_groups()
RETURNS TABLE (name text, description text, charlson_weight integer, superseded_by text)
AS 'MODULE_PATHNAME', 'icu_comorbidity_groups'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 17;
COMMENT ON FUNCTION @extschema@.comorbidity_groups() IS
    'The Charlson comorbidity groups (Quan et al. 2005 ICD-10 groups, Charlson 1987 weights): name (model inputs read it as covariate comorbidity_<name>), description, weight in charlson_index, and the group that supersedes it in the index (mild under severe liver disease, diabetes under diabetes with complications, malignancy under metastatic tumour).';

CREATE FUNCTION @extschema@.elixhauser_groups()
RETURNS TABLE (name text, description text, van_walraven_weight integer, superseded_by text)
AS 'MODULE_PATHNAME', 'icu_elixhauser_groups'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 31;
COMMENT ON FUNCTION @extschema@.elixhauser_groups() IS
    'The Elixhauser comorbidity groups (Elixhauser 1998, hypertension split as in Quan et al. 2005, whose ICD-10 code lists comorbidity_code holds): name (model inputs read it as covariate of that name, e.g. elixhauser_heart_failure), description, weight in the van Walraven score (van Walraven et al. 2009; covariate elixhauser_van_walraven), and the group that supersedes it (not flagged when that group is present: diabetes and hypertension uncomplicated under complicated, solid tumour under metastatic cancer).';

CREATE FUNCTION @extschema@.comorbidity_group_ok(name text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN EXISTS (SELECT 1 FROM @extschema@.comorbidity_groups() g WHERE g.name = comorbidity_group_ok.name)
    OR EXISTS (SELECT 1 FROM @extschema@.elixhauser_groups() g WHERE g.name = comorbidity_group_ok.name);
COMMENT ON FUNCTION @extschema@.comorbidity_group_ok(text) IS
    'True when name is one of comorbidity_groups() or elixhauser_groups() (the CHECK of comorbidity_code).';

CREATE TABLE @extschema@.comorbidity_code (
    icd10_prefix text    NOT NULL,
    comorbidity  text    NOT NULL,
    builtin      boolean NOT NULL DEFAULT false,
    CONSTRAINT comorbidity_code_pkey PRIMARY KEY (icd10_prefix, comorbidity),
    CONSTRAINT comorbidity_code_prefix_format CHECK (icd10_prefix ~ '^[A-Z][0-9][0-9A-Z]{0,5}$'),
    CONSTRAINT comorbidity_code_group_known CHECK (@extschema@.comorbidity_group_ok(comorbidity))
);
COMMENT ON TABLE @extschema@.comorbidity_code IS
    'ICD-10 code prefixes of each comorbidity group: a diagnosis code (upper case, without the dot) that starts with icd10_prefix places the admission in the group. Shipped rows (builtin) follow Quan et al. 2005, for the Charlson groups and the Elixhauser groups (elixhauser_...); add your own rows for local codes.';
COMMENT ON COLUMN @extschema@.comorbidity_code.icd10_prefix IS 'Code prefix, upper case, without the dot (I21 covers I21.0 to I21.9; I252 is I25.2).';
COMMENT ON COLUMN @extschema@.comorbidity_code.comorbidity IS 'Group name (comorbidity_groups()).';
COMMENT ON COLUMN @extschema@.comorbidity_code.builtin IS 'True for the rows installed with the extension; pg_dump keeps only the rows users added.';

INSERT INTO @extschema@.comorbidity_code (comorbidity, icd10_prefix, builtin)
SELECT v.g, p.prefix, true
  FROM (VALUES
    ('myocardial_infarction', ARRAY['I21','I22','I252']),
    ('heart_failure', ARRAY['I099','I110','I130','I132','I255','I420','I425','I426','I427','I428',
           'I429','I43','I50','P290']),
    ('peripheral_vascular', ARRAY['I70','I71','I731','I738','I739','I771','I790','I792','K551','K558',
           'K559','Z958','Z959']),
    ('cerebrovascular', ARRAY['G45','G46','H340','I60','I61','I62','I63','I64','I65','I66','I67',
           'I68','I69']),
    ('dementia', ARRAY['F00','F01','F02','F03','F051','G30','G311']),
    ('chronic_pulmonary', ARRAY['I278','I279','J40','J41','J42','J43','J44','J45','J46','J47','J60',
           'J61','J62','J63','J64','J65','J66','J67','J684','J701','J703']),
    ('rheumatic', ARRAY['M05','M06','M315','M32','M33','M34','M351','M353','M360']),
    ('peptic_ulcer', ARRAY['K25','K26','K27','K28']),
    ('mild_liver', ARRAY['B18','K700','K701','K702','K703','K709','K713','K714','K715','K717',
           'K73','K74','K760','K762','K763','K764','K768','K769','Z944']),
    ('diabetes', ARRAY['E100','E101','E106','E108','E109','E110','E111','E116','E118','E119',
           'E120','E121','E126','E128','E129','E130','E131','E136','E138','E139',
           'E140','E141','E146','E148','E149']),
    ('diabetes_complicated', ARRAY['E102','E103','E104','E105','E107','E112','E113','E114','E115','E117',
           'E122','E123','E124','E125','E127','E132','E133','E134','E135','E137',
           'E142','E143','E144','E145','E147']),
    ('hemiplegia', ARRAY['G041','G114','G801','G802','G81','G82','G830','G831','G832','G833',
           'G834','G839']),
    ('renal', ARRAY['I120','I131','N032','N033','N034','N035','N036','N037','N052','N053',
           'N054','N055','N056','N057','N18','N19','N250','Z490','Z491','Z492',
           'Z940','Z992']),
    ('malignancy', ARRAY['C00','C01','C02','C03','C04','C05','C06','C07','C08','C09','C10','C11',
           'C12','C13','C14','C15','C16','C17','C18','C19','C20','C21','C22','C23',
           'C24','C25','C26','C30','C31','C32','C33','C34','C37','C38','C39','C40',
           'C41','C43','C45','C46','C47','C48','C49','C50','C51','C52','C53','C54',
           'C55','C56','C57','C58','C60','C61','C62','C63','C64','C65','C66','C67',
           'C68','C69','C70','C71','C72','C73','C74','C75','C76','C81','C82','C83',
           'C84','C85','C88','C90','C91','C92','C93','C94','C95','C96','C97']),
    ('severe_liver', ARRAY['I850','I859','I864','I982','K704','K711','K721','K729','K765','K766',
           'K767']),
    ('metastatic_tumour', ARRAY['C77','C78','C79','C80']),
    ('hiv_aids', ARRAY['B20','B21','B22','B24'])
       ) AS v(g, prefixes),
       LATERAL unnest(v.prefixes) AS p(prefix);
-- The Elixhauser groups: the ICD-10 lists of Quan et al. 2005 (table 2),
-- ranges written out (I42.5-I42.9 is I425 ... I429).
INSERT INTO @extschema@.comorbidity_code (comorbidity, icd10_prefix, builtin)
SELECT v.g, p.prefix, true
  FROM (VALUES
    ('elixhauser_heart_failure', ARRAY['I099','I110','I130','I132','I255','I420','I425','I426','I427','I428','I429','I43','I50',
           'P290']),
    ('elixhauser_arrhythmia', ARRAY['I441','I442','I443','I456','I459','I47','I48','I49','R000','R001','R008','T821','Z450',
           'Z950']),
    ('elixhauser_valvular', ARRAY['A520','I05','I06','I07','I08','I091','I098','I34','I35','I36','I37','I38','I39','Q230',
           'Q231','Q232','Q233','Z952','Z953','Z954']),
    ('elixhauser_pulmonary_circulation', ARRAY['I26','I27','I280','I288','I289']),
    ('elixhauser_peripheral_vascular', ARRAY['I70','I71','I731','I738','I739','I771','I790','I792','K551','K558','K559','Z958','Z959']),
    ('elixhauser_hypertension', ARRAY['I10']),
    ('elixhauser_hypertension_complicated', ARRAY['I11','I12','I13','I15']),
    ('elixhauser_paralysis', ARRAY['G041','G114','G801','G802','G81','G82','G830','G831','G832','G833','G834','G839']),
    ('elixhauser_neurological', ARRAY['G10','G11','G12','G13','G20','G21','G22','G254','G255','G312','G318','G319','G32','G35',
           'G36','G37','G40','G41','G931','G934','R470','R56']),
    ('elixhauser_chronic_pulmonary', ARRAY['I278','I279','J40','J41','J42','J43','J44','J45','J46','J47','J60','J61','J62','J63',
           'J64','J65','J66','J67','J684','J701','J703']),
    ('elixhauser_diabetes', ARRAY['E100','E101','E109','E110','E111','E119','E120','E121','E129','E130','E131','E139',
           'E140','E141','E149']),
    ('elixhauser_diabetes_complicated', ARRAY['E102','E103','E104','E105','E106','E107','E108','E112','E113','E114','E115','E116',
           'E117','E118','E122','E123','E124','E125','E126','E127','E128','E132','E133','E134',
           'E135','E136','E137','E138','E142','E143','E144','E145','E146','E147','E148']),
    ('elixhauser_hypothyroidism', ARRAY['E00','E01','E02','E03','E890']),
    ('elixhauser_renal_failure', ARRAY['I120','I131','N18','N19','N250','Z490','Z491','Z492','Z940','Z992']),
    ('elixhauser_liver', ARRAY['B18','I85','I864','I982','K70','K711','K713','K714','K715','K717','K72','K73','K74',
           'K760','K762','K763','K764','K765','K766','K767','K768','K769','Z944']),
    ('elixhauser_peptic_ulcer', ARRAY['K257','K259','K267','K269','K277','K279','K287','K289']),
    ('elixhauser_hiv_aids', ARRAY['B20','B21','B22','B24']),
    ('elixhauser_lymphoma', ARRAY['C81','C82','C83','C84','C85','C88','C96','C900','C902']),
    ('elixhauser_metastatic_cancer', ARRAY['C77','C78','C79','C80']),
    ('elixhauser_solid_tumour', ARRAY['C00','C01','C02','C03','C04','C05','C06','C07','C08','C09','C10','C11','C12','C13',
           'C14','C15','C16','C17','C18','C19','C20','C21','C22','C23','C24','C25','C26','C30',
           'C31','C32','C33','C34','C37','C38','C39','C40','C41','C43','C45','C46','C47','C48',
           'C49','C50','C51','C52','C53','C54','C55','C56','C57','C58','C60','C61','C62','C63',
           'C64','C65','C66','C67','C68','C69','C70','C71','C72','C73','C74','C75','C76','C97']),
    ('elixhauser_rheumatic', ARRAY['L940','L941','L943','M05','M06','M08','M120','M123','M30','M310','M311','M312','M313',
           'M32','M33','M34','M35','M45','M461','M468','M469']),
    ('elixhauser_coagulopathy', ARRAY['D65','D66','D67','D68','D691','D693','D694','D695','D696']),
    ('elixhauser_obesity', ARRAY['E66']),
    ('elixhauser_weight_loss', ARRAY['E40','E41','E42','E43','E44','E45','E46','R634','R64']),
    ('elixhauser_fluid_electrolyte', ARRAY['E222','E86','E87']),
    ('elixhauser_blood_loss_anaemia', ARRAY['D500']),
    ('elixhauser_deficiency_anaemia', ARRAY['D508','D509','D51','D52','D53']),
    ('elixhauser_alcohol', ARRAY['F10','E52','G621','I426','K292','K700','K703','K709','T51','Z502','Z714','Z721']),
    ('elixhauser_drugs', ARRAY['F11','F12','F13','F14','F15','F16','F18','F19','Z715','Z722']),
    ('elixhauser_psychoses', ARRAY['F20','F22','F23','F24','F25','F28','F29','F302','F312','F315']),
    ('elixhauser_depression', ARRAY['F204','F313','F314','F315','F32','F33','F341','F412','F432'])

       ) AS v(g, prefixes),
       LATERAL unnest(v.prefixes) AS p(prefix);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.comorbidity_code', 'WHERE NOT builtin');

CREATE VIEW @extschema@.admission_comorbidity AS
SELECT DISTINCT d.admission_id, c.comorbidity
  FROM @extschema@.diagnosis d
  JOIN @extschema@.comorbidity_code c
    ON pg_catalog.starts_with(pg_catalog.upper(pg_catalog.replace(d.icd10_code, '.', '')), c.icd10_prefix);
COMMENT ON VIEW @extschema@.admission_comorbidity IS
    'The comorbidity groups of each admission, from all its diagnosis codes (whatever diagnosed_at). admission_covariates() gives them as of a time.';

CREATE TYPE @extschema@.admission_covariates AS (
    age_years     float8,
    sex           text,
    bmi           float8,
    comorbidities text[]
);
COMMENT ON TYPE @extschema@.admission_covariates IS
    'What the models read of an admission besides labs, location and time: age (NULL = unknown), sex, BMI (NULL = unknown), comorbidity group names (NULL = no diagnosis recorded: unknown; empty = none of the groups). Built by admission_covariates(); read by risk(), length_of_stay(), stay_survival(), explain() and covariate_value().';

CREATE FUNCTION @extschema@.admission_covariates(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.admission_covariates
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT ROW(a.age_years::float8, a.sex,
               (SELECT b.bmi FROM @extschema@.admission_bmi b
                 WHERE b.admission_id = a.admission_id
                   AND (b.measured_at IS NULL OR b.measured_at <= admission_covariates.as_of)),
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.diagnosis d
                                  WHERE d.admission_id = a.admission_id
                                    AND (d.diagnosed_at IS NULL OR d.diagnosed_at <= admission_covariates.as_of))
                    THEN ARRAY(SELECT DISTINCT c.comorbidity
                                 FROM @extschema@.diagnosis d
                                 JOIN @extschema@.comorbidity_code c
                                   ON pg_catalog.starts_with(pg_catalog.upper(pg_catalog.replace(d.icd10_code, '.', '')),
                                                             c.icd10_prefix)
                                WHERE d.admission_id = a.admission_id
                                  AND (d.diagnosed_at IS NULL OR d.diagnosed_at <= admission_covariates.as_of)
                                ORDER BY 1)
               END)::@extschema@.admission_covariates
      FROM @extschema@.admission a
     WHERE a.admission_id = admission_covariates.admission_id;
END;
COMMENT ON FUNCTION @extschema@.admission_covariates(bigint, timestamptz) IS
    'The admission''s covariates as of a time (default now): age and sex, BMI (admission_bmi, if measured by then), and its comorbidity groups from the diagnoses known by then (diagnosed_at NULL or <= as_of); comorbidities NULL when the admission has no diagnosis known by then. NULL for an unknown admission.';

-- ==== extension/sql/10_panel.sql
-- The lab panel (C: extension/src/panel/).
--
--   type lab_panel       per-feature last/prev/first/min/max/mean/count/rejected/trend
--                        of one admission as of a time; JSON-like text I/O,
--                        binary I/O, cast to jsonb
--   aggregate lab_panel(admission_id, feature, value, resulted_at, as_of [, trend_window])
--   aggregate lab_panel_series(admission_id, feature, value, resulted_at, from, until [, trend_window])
--   lab_panel_at(), lab_panel_daily(), lab_panel_daily_all()
--   accessors lab_value(), lab_last_at(), lab_as_of(), lab_admission(), lab_features(),
--             lab_layout_id()
--
-- The panels read canonical lab rows (lab_canonical, 03_canonical.sql).  The
-- aggregates read the feature catalogue (names, plausible ranges) once per
-- query; values outside [plausible_min, plausible_max] are counted as rejected.
-- Days end in day_zone() (00_clock.sql).

-- ---------------------------------------------------------------------------
-- The lab_panel type
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.lab_panel;

CREATE FUNCTION @extschema@.lab_panel_in(cstring) RETURNS @extschema@.lab_panel
    AS 'MODULE_PATHNAME', 'icu_lab_panel_in'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_out(@extschema@.lab_panel) RETURNS cstring
    AS 'MODULE_PATHNAME', 'icu_lab_panel_out'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_recv(internal) RETURNS @extschema@.lab_panel
    AS 'MODULE_PATHNAME', 'icu_lab_panel_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_send(@extschema@.lab_panel) RETURNS bytea
    AS 'MODULE_PATHNAME', 'icu_lab_panel_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.lab_panel (
    INPUT = @extschema@.lab_panel_in,
    OUTPUT = @extschema@.lab_panel_out,
    RECEIVE = @extschema@.lab_panel_recv,
    SEND = @extschema@.lab_panel_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = main
);
COMMENT ON TYPE @extschema@.lab_panel IS
    'Lab statistics of one admission as of a time, per canonical feature: last (and its time), prev, first, min, max, mean, count, rejected, trend (slope per day over the trend window). Text form is JSON; cast to jsonb for JSON tools; read values with lab_value().';
COMMENT ON FUNCTION @extschema@.lab_panel_in(cstring) IS 'Text input of lab_panel (the JSON form written by lab_panel_out); validates every field (SQLSTATE 22P02).';
COMMENT ON FUNCTION @extschema@.lab_panel_out(@extschema@.lab_panel) IS 'Text output of lab_panel as JSON; times in ISO 8601 in the session TimeZone, numbers exact (shortest round-trip form).';
COMMENT ON FUNCTION @extschema@.lab_panel_recv(internal) IS 'Binary input of lab_panel; validates every length and count (SQLSTATE 22P03).';
COMMENT ON FUNCTION @extschema@.lab_panel_send(@extschema@.lab_panel) IS 'Binary output of lab_panel.';

CREATE FUNCTION @extschema@.lab_panel_jsonb(@extschema@.lab_panel) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'icu_lab_panel_jsonb'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_panel_jsonb(@extschema@.lab_panel) IS
    'The panel as jsonb (same structure as its text form); also available as a cast: panel::jsonb.';
CREATE CAST (@extschema@.lab_panel AS jsonb)
    WITH FUNCTION @extschema@.lab_panel_jsonb(@extschema@.lab_panel);

-- ---------------------------------------------------------------------------
-- Accessors
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_value(panel @extschema@.lab_panel, feature text, stat text)
RETURNS float8
    AS 'MODULE_PATHNAME', 'icu_lab_value'
    LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_value(@extschema@.lab_panel, text, text) IS
    'One statistic of one feature: stat is last, prev, first, min, max, mean, count, rejected, trend (slope per day; needs values spanning at least 6 hours in the trend window) or hours_since_last. count and rejected are 0 for a known feature the panel lacks and for a NULL panel (a panel without labs), as risk() reads them; other stats are NULL when the feature is known but has no such value; NULL feature or stat give NULL; ERROR 42704 for an unknown feature, 22023 for an unknown stat.';

CREATE FUNCTION @extschema@.lab_last_at(panel @extschema@.lab_panel, feature text)
RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'icu_lab_last_at'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_last_at(@extschema@.lab_panel, text) IS
    'Result time of the last accepted value of the feature; NULL when there is none; ERROR 42704 for an unknown feature.';

CREATE FUNCTION @extschema@.lab_as_of(panel @extschema@.lab_panel)
RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'icu_lab_as_of'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_as_of(@extschema@.lab_panel) IS
    'The time the panel describes: only results with resulted_at <= this time are in it.';

CREATE FUNCTION @extschema@.lab_admission(panel @extschema@.lab_panel)
RETURNS bigint
    AS 'MODULE_PATHNAME', 'icu_lab_admission'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_admission(@extschema@.lab_panel) IS
    'The admission the panel belongs to (NULL for panels built without admission_id).';

CREATE FUNCTION @extschema@.lab_features(panel @extschema@.lab_panel)
RETURNS text[]
    AS 'MODULE_PATHNAME', 'icu_lab_features'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_features(@extschema@.lab_panel) IS
    'Names of the features the panel holds (accepted or rejected values), sorted.';

CREATE FUNCTION @extschema@.lab_layout_id(panel @extschema@.lab_panel)
RETURNS bigint
    AS 'MODULE_PATHNAME', 'icu_lab_layout_id'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_layout_id(@extschema@.lab_panel) IS
    'Identity of the panel''s feature list: a hash (1 to 4294967295) of its sorted feature names, equal for panels holding the same features; lets code cache feature positions per layout.';

-- ---------------------------------------------------------------------------
-- The as-of aggregate
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz, interval)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans_noadm'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz, interval)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans_noadm'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'icu_lab_panel_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_final(internal)
RETURNS @extschema@.lab_panel AS 'MODULE_PATHNAME', 'icu_lab_panel_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz) IS 'Transition function of lab_panel (reads the feature catalogue once per query).';
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz, interval) IS 'Transition function of lab_panel with a trend window.';
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz) IS 'Transition function of lab_panel without admission_id.';
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz, interval) IS 'Transition function of lab_panel without admission_id, with a trend window.';
COMMENT ON FUNCTION @extschema@.lab_panel_combine(internal, internal) IS 'Combine function of lab_panel (parallel aggregation).';
COMMENT ON FUNCTION @extschema@.lab_panel_serialize(internal) IS 'Serialize function of lab_panel (parallel aggregation).';
COMMENT ON FUNCTION @extschema@.lab_panel_deserialize(bytea, internal) IS 'Deserialize function of lab_panel; validates every length and count.';
COMMENT ON FUNCTION @extschema@.lab_panel_final(internal) IS 'Final function of lab_panel.';

CREATE AGGREGATE @extschema@.lab_panel(admission_id bigint, feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel(admission_id bigint, feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz,
                                       trend_window interval) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel(feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel(feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz,
                                       trend_window interval) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.lab_panel(bigint, text, float8, timestamptz, timestamptz) IS
    'The lab panel of one admission as of a time: aggregate its canonical lab rows (lab_canonical) grouped by admission_id. Rows resulted after as_of are ignored; NULL rows skipped; implausible values counted as rejected; trend window 72 hours. NaN/Infinity: ERROR 22023; unknown feature: ERROR 42704. NULL when there are no rows.';
COMMENT ON AGGREGATE @extschema@.lab_panel(bigint, text, float8, timestamptz, timestamptz, interval) IS
    'lab_panel with an explicit trend window (the least-squares slope uses accepted results in [as_of - trend_window, as_of]; at most 4 years; no trend when those results span less than 6 hours).';
COMMENT ON AGGREGATE @extschema@.lab_panel(text, float8, timestamptz, timestamptz) IS
    'lab_panel without admission_id (the panel then names no admission, and a missing GROUP BY is not detected); prefer the form with admission_id.';
COMMENT ON AGGREGATE @extschema@.lab_panel(text, float8, timestamptz, timestamptz, interval) IS
    'lab_panel without admission_id, with an explicit trend window.';

-- ---------------------------------------------------------------------------
-- The daily series aggregate
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz, interval)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'icu_lab_panel_series_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_final(internal)
RETURNS @extschema@.lab_panel[] AS 'MODULE_PATHNAME', 'icu_lab_panel_series_final'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz) IS 'Transition function of lab_panel_series.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz, interval) IS 'Transition function of lab_panel_series with a trend window.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_combine(internal, internal) IS 'Combine function of lab_panel_series.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_serialize(internal) IS 'Serialize function of lab_panel_series.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_deserialize(bytea, internal) IS 'Deserialize function of lab_panel_series; validates every length and count.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_final(internal) IS 'Final function of lab_panel_series: one sort and one sweep per admission; reads icu_predict.day_timezone.';

CREATE AGGREGATE @extschema@.lab_panel_series(admission_id bigint, feature text, value float8,
                                              resulted_at timestamptz, from_time timestamptz,
                                              until timestamptz) (
    SFUNC = @extschema@.lab_panel_series_trans, STYPE = internal, SSPACE = 2400,
    FINALFUNC = @extschema@.lab_panel_series_final,
    COMBINEFUNC = @extschema@.lab_panel_series_combine,
    SERIALFUNC = @extschema@.lab_panel_series_serialize,
    DESERIALFUNC = @extschema@.lab_panel_series_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel_series(admission_id bigint, feature text, value float8,
                                              resulted_at timestamptz, from_time timestamptz,
                                              until timestamptz, trend_window interval) (
    SFUNC = @extschema@.lab_panel_series_trans, STYPE = internal, SSPACE = 2400,
    FINALFUNC = @extschema@.lab_panel_series_final,
    COMBINEFUNC = @extschema@.lab_panel_series_combine,
    SERIALFUNC = @extschema@.lab_panel_series_serialize,
    DESERIALFUNC = @extschema@.lab_panel_series_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.lab_panel_series(bigint, text, float8, timestamptz, timestamptz, timestamptz) IS
    'Daily panels of one admission in one pass: element k is the panel as of the end of calendar day k of [from_time, until] (midnight in icu_predict.day_timezone, or the session TimeZone when that is empty), the last one as of until. Same statistics as lab_panel as of that time.';
COMMENT ON AGGREGATE @extschema@.lab_panel_series(bigint, text, float8, timestamptz, timestamptz, timestamptz, interval) IS
    'lab_panel_series with an explicit trend window.';

-- ---------------------------------------------------------------------------
-- Convenience functions for analysts and the model
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_panel_at(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.lab_panel
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT @extschema@.lab_panel(a.admission_id, c.feature, c.value, c.resulted_at, lab_panel_at.as_of)
      FROM @extschema@.admission a
      LEFT JOIN @extschema@.lab_canonical c
        ON c.admission_id = a.admission_id AND c.resulted_at <= lab_panel_at.as_of
     WHERE a.admission_id = lab_panel_at.admission_id;
END;
COMMENT ON FUNCTION @extschema@.lab_panel_at(bigint, timestamptz) IS
    'The lab panel of one admission as of a time (default now). An admission without labs gives an empty panel; an unknown admission gives NULL.';

CREATE FUNCTION @extschema@.lab_panel_daily(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (day date, as_of timestamptz, panel @extschema@.lab_panel)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (g.admitted_at AT TIME ZONE @extschema@.day_zone())::date + (u.n - 1)::integer,
           @extschema@.lab_as_of(u.panel),
           u.panel
      FROM (SELECT a.admitted_at,
                   @extschema@.lab_panel_series(a.admission_id, c.feature, c.value, c.resulted_at,
                        a.admitted_at,
                        LEAST(coalesce(a.discharged_at, lab_panel_daily.as_of), lab_panel_daily.as_of)) AS s
              FROM @extschema@.admission a
              LEFT JOIN @extschema@.lab_canonical c
                ON c.admission_id = a.admission_id AND c.resulted_at <= lab_panel_daily.as_of
             WHERE a.admission_id = lab_panel_daily.admission_id
             GROUP BY a.admission_id, a.admitted_at, a.discharged_at) g
     CROSS JOIN LATERAL pg_catalog.unnest(g.s) WITH ORDINALITY AS u(panel, n)
     ORDER BY u.n;
END;
COMMENT ON FUNCTION @extschema@.lab_panel_daily(bigint, timestamptz) IS
    'The prognostic course of one admission: one lab panel per calendar day of the stay, as of the end of that day (icu_predict.day_timezone), the last day as of discharge or as_of (default now), whichever is first.';

CREATE FUNCTION @extschema@.lab_panel_daily_all(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (admission_id bigint, day date, as_of timestamptz, panel @extschema@.lab_panel)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- The series are aggregated over lab rows joined to their admission (an
    -- inner join lets the lab rows be the parallel probe side, the admissions
    -- the small hashed side); admissions without canonical labs get their
    -- series of empty panels from the correlated subquery, run only for them.
    SELECT a.admission_id,
           (a.admitted_at AT TIME ZONE @extschema@.day_zone())::date + (u.n - 1)::integer,
           @extschema@.lab_as_of(u.panel),
           u.panel
      FROM @extschema@.admission a
      LEFT JOIN (SELECT c.admission_id,
                        @extschema@.lab_panel_series(c.admission_id, c.feature, c.value, c.resulted_at,
                            b.admitted_at,
                            LEAST(coalesce(b.discharged_at, lab_panel_daily_all.as_of), lab_panel_daily_all.as_of)) AS s
                   FROM @extschema@.lab_canonical c
                   JOIN @extschema@.admission b ON b.admission_id = c.admission_id
                  WHERE c.resulted_at <= lab_panel_daily_all.as_of
                    AND b.admitted_at <= lab_panel_daily_all.as_of
                  GROUP BY c.admission_id) g ON g.admission_id = a.admission_id
     CROSS JOIN LATERAL pg_catalog.unnest(coalesce(g.s,
            (SELECT @extschema@.lab_panel_series(e.id, NULL::text, NULL::float8, NULL::timestamptz, e.f, e.u)
               FROM (VALUES (a.admission_id, a.admitted_at,
                             LEAST(coalesce(a.discharged_at, lab_panel_daily_all.as_of), lab_panel_daily_all.as_of))) e(id, f, u))))
            WITH ORDINALITY AS u(panel, n)
     WHERE a.admitted_at <= lab_panel_daily_all.as_of;
END;
COMMENT ON FUNCTION @extschema@.lab_panel_daily_all(timestamptz) IS
    'lab_panel_daily for every admission admitted by as_of (default now): one row per admission and calendar day of stay.';

-- ==== extension/sql/20_registry.sql
-- The model registry: versioned model rows, the deployment log, and which
-- model is active per slot.  Validation of a spec at insert is C
-- (extension/src/model/); scoring follows in 21_scoring.sql.
-- Spec format: docs/model-spec.md.  Functions: docs/model-runtime.md.

-- ---------------------------------------------------------------------------
-- model: versioned registry
--
-- Which model is active is not stored in the row: it is derived from the
-- deployment log (view active_model).  Per slot -- kind, and for risk models
-- the horizon -- the newest deployment not rolled back wins; a slot without
-- one falls back to its builtin model (the rows CREATE EXTENSION ships).
-- So a pg_dump holds the user's models and the log (both config-dumped; the
-- builtin rows are left out, CREATE EXTENSION re-creates them), and a
-- restore gives back exactly the active models the user had, with no
-- constraint to collide.
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.model (
    model_id     bigint      GENERATED BY DEFAULT AS IDENTITY,
    name         text        NOT NULL,
    version      text        NOT NULL,
    kind         text        NOT NULL,
    format       text        NOT NULL,
    spec         jsonb       NOT NULL,
    features     jsonb       NOT NULL DEFAULT '{}',
    training     jsonb       NOT NULL DEFAULT '{}',
    metrics      jsonb       NOT NULL DEFAULT '{}',
    content_hash text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    horizon_hours integer,
    builtin      boolean     NOT NULL DEFAULT false,
    outcome      text        NOT NULL,
    CONSTRAINT model_pkey PRIMARY KEY (model_id),
    CONSTRAINT model_name_version_key UNIQUE (name, version),
    CONSTRAINT model_name_format CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT model_version_format CHECK (version <> '' AND pg_catalog.length(version) <= 63),
    CONSTRAINT model_kind_known_value CHECK (kind IN ('icu_admission', 'death', 'event', 'icu_stay')),
    CONSTRAINT model_format_known_value CHECK (format IN ('linear', 'xgboost')),
    CONSTRAINT model_training_is_object CHECK (pg_catalog.jsonb_typeof(training) = 'object'),
    CONSTRAINT model_metrics_is_object CHECK (pg_catalog.jsonb_typeof(metrics) = 'object'),
    CONSTRAINT model_horizon_iff_risk CHECK ((kind <> 'icu_stay') = (horizon_hours IS NOT NULL)),
    CONSTRAINT model_horizon_hours_range CHECK (horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT model_outcome_of_kind CHECK (CASE WHEN kind = 'event'
        THEN outcome ~ '^[a-z][a-z0-9_]{0,62}$' AND outcome NOT IN ('icu_admission', 'death', 'icu_stay')
        ELSE outcome = kind END)
);

COMMENT ON TABLE @extschema@.model IS
    'Model registry: one row per trained model version (spec in jsonb, validated at insert). The active model of each kind (and risk horizon) follows from the deployment log, see active_model; change it with deploy() and rollback().';
COMMENT ON COLUMN @extschema@.model.model_id IS 'Surrogate key (generated).';
COMMENT ON COLUMN @extschema@.model.name IS 'Model family name, lower case (e.g. icu_risk_lr).';
COMMENT ON COLUMN @extschema@.model.version IS 'Version text; (name, version) is unique. Every prediction names it.';
COMMENT ON COLUMN @extschema@.model.kind IS 'icu_admission (risk of ICU admission within horizon_hours), death (risk of in-hospital death within horizon_hours), event (risk of the event named by outcome within horizon_hours, e.g. ventilation) or icu_stay (ICU length of stay). The three risk kinds are scored alike (a probability; spec link logit / binary:logistic).';
COMMENT ON COLUMN @extschema@.model.format IS 'linear (logistic/linear with preprocessing) or xgboost (xgboost JSON model); equals spec->>''format''.';
COMMENT ON COLUMN @extschema@.model.spec IS 'The model (docs/model-spec.md). Validated by a trigger at INSERT/UPDATE; errors name the JSON path.';
COMMENT ON COLUMN @extschema@.model.features IS 'Set by the trigger: the lab features the spec reads, with their canonical unit ({"crp": "mg/L"}).';
COMMENT ON COLUMN @extschema@.model.training IS 'Training metadata (data window, rows, code version ...).';
COMMENT ON COLUMN @extschema@.model.metrics IS 'Validation metrics (AUC, calibration, Brier, C-index ...).';
COMMENT ON COLUMN @extschema@.model.content_hash IS 'Set by the trigger: md5 of name, version, kind, format and spec. The C model cache re-parses when it changes.';
COMMENT ON COLUMN @extschema@.model.created_at IS 'When the row was inserted.';
COMMENT ON COLUMN @extschema@.model.horizon_hours IS 'icu_admission models: the horizon of the predicted probability, P(ICU admission within horizon_hours); required for that kind (taken from training->>''horizon_hours'' when not given), NULL for icu_stay. One risk model per horizon can be active.';
COMMENT ON COLUMN @extschema@.model.outcome IS 'What the model predicts: equals kind for icu_admission, death and icu_stay; for kind event the event''s name (lower case, e.g. ventilation), set from training->>''outcome'' when not given. A risk slot is (kind, outcome, horizon_hours).';
COMMENT ON COLUMN @extschema@.model.builtin IS 'True for the default models shipped with the extension (re-created by CREATE EXTENSION, so pg_dump leaves them out); false for models users add.';

CREATE TABLE @extschema@.model_deployment (
    deployment_id  bigint      GENERATED BY DEFAULT AS IDENTITY,
    kind           text        NOT NULL,
    model_id       bigint      NOT NULL,
    deployed_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    deployed_by    text        NOT NULL DEFAULT CURRENT_USER,
    rolled_back_at timestamptz,
    CONSTRAINT model_deployment_pkey PRIMARY KEY (deployment_id),
    CONSTRAINT model_deployment_model_fkey FOREIGN KEY (model_id)
        REFERENCES @extschema@.model (model_id) ON DELETE CASCADE
);
CREATE INDEX model_deployment_kind_idx ON @extschema@.model_deployment (kind, deployment_id);
COMMENT ON TABLE @extschema@.model_deployment IS
    'Log of deploy() calls, and the source of truth of which model is active (view active_model): per kind and horizon the newest deployment not rolled back wins. rollback() marks a deployment rolled back.';
COMMENT ON COLUMN @extschema@.model_deployment.deployment_id IS 'Surrogate key, increasing with time.';
COMMENT ON COLUMN @extschema@.model_deployment.kind IS 'Kind of the deployed model.';
COMMENT ON COLUMN @extschema@.model_deployment.model_id IS 'The model made active.';
COMMENT ON COLUMN @extschema@.model_deployment.deployed_at IS 'When it was made active.';
COMMENT ON COLUMN @extschema@.model_deployment.deployed_by IS 'Role that deployed it.';
COMMENT ON COLUMN @extschema@.model_deployment.rolled_back_at IS 'When rollback() undid this deployment; NULL while it stands.';

-- ---------------------------------------------------------------------------
-- active_model: the active model per slot, derived from the log
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.active_model AS
SELECT DISTINCT ON (x.kind, x.outcome, x.horizon_hours)
       x.kind, x.horizon_hours, x.model_id, x.name, x.version, x.source, x.deployment_id,
       x.outcome, x.synthetic_default
  FROM (SELECT m.kind, m.horizon_hours, m.model_id, m.name, m.version,
               'deployed'::text AS source, d.deployment_id, 0 AS prio, m.outcome,
               ((m.builtin OR coalesce(m.training->>'shipped_default', 'false') = 'true')
                AND coalesce(m.training->>'synthetic', 'true') = 'true') AS synthetic_default
          FROM @extschema@.model_deployment d
          JOIN @extschema@.model m ON m.model_id = d.model_id
         WHERE d.rolled_back_at IS NULL
        UNION ALL
        SELECT m.kind, m.horizon_hours, m.model_id, m.name, m.version,
               'builtin'::text, NULL::bigint, 1, m.outcome,
               coalesce(m.training->>'synthetic', 'true') = 'true'
          FROM @extschema@.model m
         WHERE m.builtin) x
 ORDER BY x.kind, x.outcome, x.horizon_hours, x.prio, x.deployment_id DESC,
          -- the newest shipped model of the slot (docs/model-runtime.md): shipped
          -- ids are fixed in the data file, 1, 2, 3 for the 0.1.0 models and then
          -- -1, -2, ... (ids the sequence never hands out), so a negative id is
          -- newer than any positive one, and the lower a negative id the newer
          x.model_id < 0 DESC,
          CASE WHEN x.model_id < 0 THEN -(x.model_id + 1) ELSE x.model_id END DESC;
COMMENT ON VIEW @extschema@.active_model IS
    'The active model of each slot (kind, outcome, and horizon_hours for the risk kinds): the model of the newest deployment not rolled back, else the newest builtin model of that slot (shipped ids: negative ids are newer than positive ones, -2 newer than -1, 3 newer than 1). Derived, never stored, so dump/restore cannot collide.';
COMMENT ON COLUMN @extschema@.active_model.kind IS 'icu_admission, death, event or icu_stay.';
COMMENT ON COLUMN @extschema@.active_model.horizon_hours IS 'Risk horizon of the slot (NULL for icu_stay).';
COMMENT ON COLUMN @extschema@.active_model.outcome IS 'What the slot predicts (model.outcome): icu_admission, death, icu_stay, or the name of an event.';
COMMENT ON COLUMN @extschema@.active_model.synthetic_default IS 'True when the active model is a shipped default trained on synthetic data (builtin, or shipped by an earlier version: training->>''shipped_default''; and training->>''synthetic''): its values must not be read as validated on this hospital''s patients.';
COMMENT ON COLUMN @extschema@.active_model.model_id IS 'The active model.';
COMMENT ON COLUMN @extschema@.active_model.name IS 'Its name.';
COMMENT ON COLUMN @extschema@.active_model.version IS 'Its version.';
COMMENT ON COLUMN @extschema@.active_model.source IS '''deployed'' (by deploy()) or ''builtin'' (shipped default, no deployment in the log).';
COMMENT ON COLUMN @extschema@.active_model.deployment_id IS 'The deployment that made it active; NULL for a builtin fallback.';

CREATE FUNCTION @extschema@.active_risk_model(horizon_hours integer DEFAULT 48)
RETURNS @extschema@.active_model
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT a FROM @extschema@.active_model a
     WHERE a.kind = 'icu_admission'
     ORDER BY pg_catalog.abs(a.horizon_hours - active_risk_model.horizon_hours), a.horizon_hours
     LIMIT 1;
END;
COMMENT ON FUNCTION @extschema@.active_risk_model(integer) IS
    'The active icu_admission model of the given horizon in hours (default 48), or the active one with the nearest horizon (the shorter on a tie); NULL when no risk model is active. Its own horizon_hours says what its probability means.';

-- ---------------------------------------------------------------------------
-- Validation at insert (C validator + feature catalogue check)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.model_spec_check(kind text, format text, spec jsonb)
RETURNS TABLE (path text, feature text, stat text)
AS 'MODULE_PATHNAME', 'icu_model_spec_check'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.model_spec_check(text, text, jsonb) IS
    'Validates a model spec of the given kind and format (ERROR 22023 naming the JSON path) and lists the lab features it reads.';

CREATE FUNCTION @extschema@.model_validate()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r     record;
    u     text;
    feats jsonb := '{}';
BEGIN
    IF NEW.spec->>'format' IS DISTINCT FROM NEW.format THEN
        RAISE EXCEPTION 'model spec: $.format: "%" differs from the row''s format "%"',
                NEW.spec->>'format', NEW.format
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the runtime knows two model families: a probability (the risk kinds) and a stay
    FOR r IN SELECT * FROM @extschema@.model_spec_check(
                 CASE WHEN NEW.kind = 'icu_stay' THEN 'icu_stay' ELSE 'icu_admission' END,
                 NEW.format, NEW.spec) LOOP
        SELECT f.unit INTO u FROM @extschema@.feature f WHERE f.name = r.feature;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'model spec: %: unknown feature "%"', r.path, r.feature
                USING ERRCODE = 'undefined_object',
                      HINT = 'Features are the names in icu_predict.feature.';
        END IF;
        feats := feats || jsonb_build_object(r.feature, u);
    END LOOP;
    NEW.features := feats;
    IF NEW.kind <> 'icu_stay' AND NEW.horizon_hours IS NULL THEN
        IF NEW.training ? 'horizon_hours' THEN
            NEW.horizon_hours := (NEW.training->>'horizon_hours')::integer;
        ELSE
            RAISE EXCEPTION 'model "%" version "%": a model of kind % needs horizon_hours', NEW.name, NEW.version, NEW.kind
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Give the column horizon_hours, or training->>''horizon_hours'' (48 for P(ICU within 48 h)).';
        END IF;
    END IF;
    IF NEW.outcome IS NULL THEN
        NEW.outcome := CASE WHEN NEW.kind = 'event' THEN NEW.training->>'outcome' ELSE NEW.kind END;
    END IF;
    IF NEW.kind = 'event' AND NEW.outcome IS NULL THEN
        RAISE EXCEPTION 'model "%" version "%": a model of kind event needs the event''s name in outcome', NEW.name, NEW.version
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give the column outcome, or training->>''outcome'' (e.g. ''ventilation'').';
    END IF;
    -- builtin rows: the trigger model_builtin_guard (22_integrity.sql) refuses
    -- them outside the extension's own scripts
    NEW.content_hash := md5(NEW.name || chr(31) || NEW.version || chr(31) || NEW.kind
                            || chr(31) || NEW.format || chr(31) || NEW.spec::text);
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.model_validate() IS
    'Trigger: validates model.spec (SQLSTATE 22023 / 42704 naming the JSON path), sets features and content_hash, takes horizon_hours (and, for kind event, outcome) from training metadata when not given (22023 when a risk model has none; outcome = kind otherwise). Builtin rows outside the extension''s scripts are refused by the trigger model_builtin_guard (42501).';

CREATE TRIGGER model_validate
    BEFORE INSERT OR UPDATE OF name, version, kind, format, spec, features, content_hash,
                               horizon_hours, builtin, training, outcome
    ON @extschema@.model
    FOR EACH ROW EXECUTE FUNCTION @extschema@.model_validate();

-- ---------------------------------------------------------------------------
-- deploy / rollback
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.deploy(model_name text, model_version text)
RETURNS TABLE (model_id bigint, kind text, name text, version text)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m   record;
    cur bigint;
    src text;
BEGIN
    SELECT x.model_id, x.kind, x.name, x.version, x.horizon_hours, x.outcome INTO m
      FROM @extschema@.model x
     WHERE x.name = model_name AND x.version = model_version
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model "%" version "%" does not exist', model_name, model_version
            USING ERRCODE = 'undefined_object';
    END IF;
    -- serialise deployments of one kind
    PERFORM pg_advisory_xact_lock(hashtext('icu_predict.deploy:' || m.kind));
    SELECT a.model_id, a.source INTO cur, src
      FROM @extschema@.active_model a
     WHERE a.kind = m.kind AND a.outcome = m.outcome
       AND a.horizon_hours IS NOT DISTINCT FROM m.horizon_hours;
    -- deploying the builtin model a slot falls back to is logged too: the slot
    -- is then pinned to it, and an update that ships a newer builtin model for
    -- the slot does not change what the hospital chose
    IF cur IS DISTINCT FROM m.model_id OR src IS DISTINCT FROM 'deployed' THEN
        INSERT INTO @extschema@.model_deployment (kind, model_id) VALUES (m.kind, m.model_id);
    END IF;
    RETURN QUERY SELECT m.model_id, m.kind, m.name, m.version;
END
$$;
COMMENT ON FUNCTION @extschema@.deploy(text, text) IS
    'Makes the model (name, version) the active model of its slot (kind, outcome, and for the risk kinds its horizon) by logging it in model_deployment; a no-op when it is deployed and active already. Deploying the builtin model the slot falls back to is logged (it pins the slot: a newer shipped model does not replace it). ERROR 42704 when it does not exist.';

CREATE FUNCTION @extschema@.rollback(model_kind text)
RETURNS TABLE (model_id bigint, kind text, name text, version text)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur record;
    nxt record;
BEGIN
    IF model_kind NOT IN ('icu_admission', 'death', 'event', 'icu_stay') THEN
        RAISE EXCEPTION 'unknown model kind "%"', model_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Kinds are icu_admission, death, event and icu_stay.';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('icu_predict.deploy:' || model_kind));
    SELECT d.deployment_id, d.model_id, m.horizon_hours, m.outcome INTO cur
      FROM @extschema@.model_deployment d
      JOIN @extschema@.model m ON m.model_id = d.model_id
     WHERE m.kind = model_kind AND d.rolled_back_at IS NULL
     ORDER BY d.deployment_id DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no deployment of kind % to roll back', model_kind
            USING ERRCODE = 'undefined_object';
    END IF;
    UPDATE @extschema@.model_deployment d SET rolled_back_at = pg_catalog.clock_timestamp()
     WHERE d.deployment_id = cur.deployment_id;
    -- what is active now: the deployment before it, else the builtin model
    SELECT a.model_id, a.kind, a.name, a.version INTO nxt
      FROM @extschema@.active_model a
     WHERE a.kind = model_kind AND a.outcome = cur.outcome
       AND a.horizon_hours IS NOT DISTINCT FROM cur.horizon_hours;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no earlier deployment of kind % (outcome %, horizon % h) to roll back to',
                model_kind, cur.outcome, coalesce(cur.horizon_hours::text, '-')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = pg_catalog.format('Deploy another version with deploy(name, version), or leave the slot without a model with retire(%L, %L, %s).',
                                           model_kind, cur.outcome, coalesce(cur.horizon_hours::text, 'NULL'));
    END IF;
    RETURN QUERY SELECT nxt.model_id, nxt.kind, nxt.name, nxt.version;
END
$$;
COMMENT ON FUNCTION @extschema@.rollback(text) IS
    'Undoes the latest standing deploy() of a kind (marks it rolled back): the model deployed before it in the same slot (kind, outcome and horizon) is active again, or the builtin default when the log has none. Returns the model now active. ERROR 42704 when nothing of that kind was deployed, 55000 when nothing would be left active (the hint names the retire() call that empties the slot).';

CREATE FUNCTION @extschema@.retire(model_kind text, model_outcome text, horizon_hours integer DEFAULT NULL)
RETURNS TABLE (model_id bigint, kind text, name text, version text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF model_kind IS NULL OR model_kind NOT IN ('icu_admission', 'death', 'event', 'icu_stay') THEN
        RAISE EXCEPTION 'unknown model kind "%"', model_kind
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Kinds are icu_admission, death, event and icu_stay.';
    END IF;
    IF model_outcome IS NULL THEN
        RAISE EXCEPTION 'retire(): the outcome must not be NULL'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'The outcome equals the kind except for kind event (the event''s name).';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('icu_predict.deploy:' || model_kind));
    UPDATE @extschema@.model_deployment d SET rolled_back_at = pg_catalog.clock_timestamp()
      FROM @extschema@.model m
     WHERE m.model_id = d.model_id AND d.rolled_back_at IS NULL
       AND m.kind = model_kind AND m.outcome = model_outcome
       AND m.horizon_hours IS NOT DISTINCT FROM retire.horizon_hours;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'no standing deployment of kind % (outcome %, horizon % h) to retire',
                model_kind, model_outcome, coalesce(retire.horizon_hours::text, '-')
            USING ERRCODE = 'undefined_object',
                  HINT = 'See icu_predict.active_model; a builtin default cannot be retired, only replaced with deploy().';
    END IF;
    -- what is active in the slot now: the builtin default, or nothing
    RETURN QUERY SELECT a.model_id, a.kind, a.name, a.version
      FROM @extschema@.active_model a
     WHERE a.kind = model_kind AND a.outcome = model_outcome
       AND a.horizon_hours IS NOT DISTINCT FROM retire.horizon_hours;
END
$$;
COMMENT ON FUNCTION @extschema@.retire(text, text, integer) IS
    'Marks every standing deployment of one slot (kind, outcome, horizon_hours; NULL horizon for icu_stay) rolled back, so the slot falls back to its builtin default or has no active model. Returns the model now active in the slot (no row when none). ERROR 42704 when the slot has no standing deployment.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.model', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_deployment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_deployment_deployment_id_seq', '');

-- ==== extension/sql/21_scoring.sql
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
    RETURN @extschema@.risk(panel, age_years, sex, hours_since_admission, unit_kind, am.name, am.version);
END
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

-- ==== extension/sql/22_integrity.sql
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

-- ==== extension/sql/25_default_model.sql
-- The default models, shipped so that CREATE EXTENSION alone can score.
--
-- TRAINED ON SYNTHETIC DATA: retrain on local data before clinical use
-- (docs/training.md).
--
-- The models are data, not part of this script: the generated file
-- icu_predict_default_models.json (extension/ in the tree, written by
-- `make default-model`) is installed beside icu_predict.control, in the
-- server's share directory, and load_default_models() reads it at CREATE
-- EXTENSION and at ALTER EXTENSION UPDATE.  A retrain changes that file and
-- the model card (docs/default-model/), never a versioned script.
--
-- Shipped rows (model.builtin) and the user's own are kept apart:
--   * each shipped model carries a fixed model_id in the file, so a
--     deployment of it in a dump points at the same row after any restore;
--   * shipped rows are not dumped (CREATE EXTENSION re-creates them); the
--     user's edits of their training and metrics are recorded in
--     shipped_model_edit, which is dumped and re-applied on restore;
--   * their identity (name, version, kind, format, horizon, spec) cannot be
--     changed and they cannot be deleted: insert a version of your own and
--     deploy() it instead;
--   * an update adds the models a new version ships and never touches the
--     deployment log; a shipped model the new version no longer ships stays,
--     as a model of the user's (builtin = false, so it is dumped from then on).

-- ---------------------------------------------------------------------------
-- shipped_model_edit: the user's edits of shipped rows (dumped)
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.shipped_model_edit (
    model_id   bigint      NOT NULL,
    name       text        NOT NULL,
    version    text        NOT NULL,
    training   jsonb       NOT NULL,
    metrics    jsonb       NOT NULL,
    edited_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    edited_by  text        NOT NULL DEFAULT SESSION_USER,
    CONSTRAINT shipped_model_edit_pkey PRIMARY KEY (model_id)
);
COMMENT ON TABLE @extschema@.shipped_model_edit IS
    'Edits of shipped (builtin) model rows: their training and metrics as the user last set them. Written by a trigger on model, dumped by pg_dump and applied again to the re-created shipped row on restore and on ALTER EXTENSION UPDATE.';
COMMENT ON COLUMN @extschema@.shipped_model_edit.model_id IS 'The shipped model (its fixed model_id).';
COMMENT ON COLUMN @extschema@.shipped_model_edit.name IS 'Its name; the edit applies only to a shipped row of this name and version.';
COMMENT ON COLUMN @extschema@.shipped_model_edit.version IS 'Its version.';
COMMENT ON COLUMN @extschema@.shipped_model_edit.training IS 'model.training as edited.';
COMMENT ON COLUMN @extschema@.shipped_model_edit.metrics IS 'model.metrics as edited.';
COMMENT ON COLUMN @extschema@.shipped_model_edit.edited_at IS 'When the edit was made.';
COMMENT ON COLUMN @extschema@.shipped_model_edit.edited_by IS 'Session user who made it.';

CREATE FUNCTION @extschema@.shipped_model_edit_record()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- the loader itself (CREATE EXTENSION, ALTER EXTENSION UPDATE) writes shipped values
    IF @extschema@.installing_extension() THEN
        RETURN NULL;
    END IF;
    INSERT INTO @extschema@.shipped_model_edit AS e (model_id, name, version, training, metrics)
    VALUES (NEW.model_id, NEW.name, NEW.version, NEW.training, NEW.metrics)
    ON CONFLICT (model_id) DO UPDATE
       SET training = EXCLUDED.training, metrics = EXCLUDED.metrics,
           edited_at = pg_catalog.now(), edited_by = SESSION_USER
     WHERE e.training IS DISTINCT FROM EXCLUDED.training OR e.metrics IS DISTINCT FROM EXCLUDED.metrics;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.shipped_model_edit_record() IS
    'Trigger on model: records an edit of a shipped row''s training or metrics in shipped_model_edit, so that pg_dump keeps it (every edit outside the extension''s own scripts, installing_extension()).';

CREATE TRIGGER shipped_model_edit_record
    AFTER UPDATE OF training, metrics ON @extschema@.model
    FOR EACH ROW
    WHEN (OLD.builtin AND NEW.builtin
          AND (OLD.training IS DISTINCT FROM NEW.training OR OLD.metrics IS DISTINCT FROM NEW.metrics))
    EXECUTE FUNCTION @extschema@.shipped_model_edit_record();

CREATE FUNCTION @extschema@.shipped_model_edit_apply()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE @extschema@.model m
       SET training = NEW.training, metrics = NEW.metrics
     WHERE m.model_id = NEW.model_id AND m.builtin
       AND m.name = NEW.name AND m.version = NEW.version
       AND (m.training IS DISTINCT FROM NEW.training OR m.metrics IS DISTINCT FROM NEW.metrics);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.shipped_model_edit_apply() IS
    'Trigger on shipped_model_edit: applies a recorded edit to the shipped row of that model_id, name and version (so a restored edit reaches the row CREATE EXTENSION re-created).';

CREATE TRIGGER shipped_model_edit_apply
    AFTER INSERT OR UPDATE ON @extschema@.shipped_model_edit
    FOR EACH ROW EXECUTE FUNCTION @extschema@.shipped_model_edit_apply();

CREATE FUNCTION @extschema@.shipped_model_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- only the extension's own scripts (the loader) change or retire a shipped row;
    -- installing_extension() is PostgreSQL's creating_extension, which no session can set
    IF @extschema@.installing_extension() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'shipped model "%" version "%" cannot be deleted', OLD.name, OLD.version
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Shipped models come back with every restore. To stop using one, deploy() a model of your own in its slot.';
    END IF;
    IF NEW.builtin AND (NEW.name, NEW.version, NEW.kind, NEW.format, NEW.spec, NEW.horizon_hours)
                       IS DISTINCT FROM (OLD.name, OLD.version, OLD.kind, OLD.format, OLD.spec, OLD.horizon_hours) THEN
        RAISE EXCEPTION 'shipped model "%" version "%" cannot be changed', OLD.name, OLD.version
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only training and metrics of a shipped model can be edited (the edit is kept by pg_dump). Insert your own version instead.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.shipped_model_guard() IS
    'Trigger on model: a shipped (builtin) row keeps its identity (name, version, kind, format, spec, horizon_hours) and is not deleted (42501) outside the extension''s own install and update scripts (installing_extension(), whatever the session''s settings); its training and metrics can be edited.';

CREATE TRIGGER shipped_model_guard
    BEFORE UPDATE OF name, version, kind, format, spec, horizon_hours OR DELETE ON @extschema@.model
    FOR EACH ROW
    WHEN (OLD.builtin)
    EXECUTE FUNCTION @extschema@.shipped_model_guard();

-- ---------------------------------------------------------------------------
-- load_default_models(): the data file into the registry
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.load_default_models(keep_unrecorded_edits boolean DEFAULT false)
RETURNS TABLE (model_id bigint, name text, version text, action text)
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    file  text;
    doc   jsonb;
    m     jsonb;
    cur   record;
    ed    record;
    id    bigint;
    ids   bigint[] := '{}';
    top   bigint;
    seq   text := pg_catalog.pg_get_serial_sequence('@extschema@.model', 'model_id');
BEGIN
    SELECT c.setting || '/extension/icu_predict_default_models.json' INTO file
      FROM pg_catalog.pg_config c WHERE c.name = 'SHAREDIR';
    IF pg_catalog.pg_stat_file(file, true) IS NULL THEN
        RAISE EXCEPTION 'default models file "%" is missing', file
            USING ERRCODE = 'undefined_file',
                  HINT = 'It is installed beside icu_predict.control by make install and by the postgresql-15-icu-predict package; install the extension''s files again.';
    END IF;
    BEGIN
        doc := pg_catalog.pg_read_file(file)::jsonb;
    EXCEPTION WHEN invalid_text_representation OR character_not_in_repertoire OR untranslatable_character THEN
        RAISE EXCEPTION 'default models file "%" is not valid JSON', file
            USING ERRCODE = 'invalid_text_representation',
                  HINT = 'Install the extension''s files again (make install, or the package).';
    END;
    IF doc->>'format' IS DISTINCT FROM 'icu_predict default models 1'
       OR pg_catalog.jsonb_typeof(doc->'models') IS DISTINCT FROM 'array' THEN
        RAISE EXCEPTION 'default models file "%" is not in the format "icu_predict default models 1"', file
            USING ERRCODE = 'invalid_text_representation',
                  HINT = 'It belongs to another version of icu_predict; install the extension''s files again.';
    END IF;
    FOR m IN SELECT x FROM pg_catalog.jsonb_array_elements(doc->'models') x LOOP
        id := (m->>'model_id')::bigint;
        IF id IS NULL OR id = ANY (ids) THEN
            RAISE EXCEPTION 'default models file "%": model "%" has no model_id of its own', file, m->>'name'
                USING ERRCODE = 'invalid_text_representation';
        END IF;
        ids := ids || id;
        SELECT x.* INTO cur FROM @extschema@.model x WHERE x.model_id = id;
        IF NOT FOUND THEN
            IF EXISTS (SELECT FROM @extschema@.model x WHERE x.name = m->>'name' AND x.version = m->>'version') THEN
                RAISE NOTICE 'shipped model "%" version "%" not installed: a model of that name and version is there already',
                    m->>'name', m->>'version';
                RETURN QUERY SELECT id, m->>'name', m->>'version', 'skipped: name and version taken'::text;
                CONTINUE;
            END IF;
            INSERT INTO @extschema@.model AS x (model_id, name, version, kind, format, horizon_hours, builtin,
                                                 spec, training, metrics)
            VALUES (id, m->>'name', m->>'version', m->>'kind', m->>'format', (m->>'horizon_hours')::integer, true,
                    m->'spec', coalesce(m->'training', '{}'), coalesce(m->'metrics', '{}'));
            -- an edit restored before this row existed
            UPDATE @extschema@.model x SET training = e.training, metrics = e.metrics
              FROM @extschema@.shipped_model_edit e
             WHERE x.model_id = id AND e.model_id = id AND e.name = x.name AND e.version = x.version;
            RETURN QUERY SELECT id, m->>'name', m->>'version', 'installed'::text;
        ELSIF cur.builtin AND cur.name = m->>'name' AND cur.version = m->>'version'
              AND cur.kind = m->>'kind' AND cur.format = m->>'format' AND cur.spec = m->'spec'
              AND cur.horizon_hours IS NOT DISTINCT FROM (m->>'horizon_hours')::integer THEN
            SELECT e.* INTO ed FROM @extschema@.shipped_model_edit e
             WHERE e.model_id = id AND e.name = cur.name AND e.version = cur.version;
            IF FOUND THEN
                RETURN QUERY SELECT id, cur.name, cur.version, 'kept, with the user''s edits'::text;
            ELSIF keep_unrecorded_edits
                  AND (cur.training IS DISTINCT FROM coalesce(m->'training', '{}')
                       OR cur.metrics IS DISTINCT FROM coalesce(m->'metrics', '{}')) THEN
                -- edited before edits were recorded (0.1.0): record them now
                INSERT INTO @extschema@.shipped_model_edit (model_id, name, version, training, metrics)
                VALUES (id, cur.name, cur.version, cur.training, cur.metrics);
                RETURN QUERY SELECT id, cur.name, cur.version, 'kept, with the user''s edits'::text;
            ELSE
                UPDATE @extschema@.model x
                   SET training = coalesce(m->'training', '{}'), metrics = coalesce(m->'metrics', '{}')
                 WHERE x.model_id = id
                   AND (x.training IS DISTINCT FROM coalesce(m->'training', '{}')
                        OR x.metrics IS DISTINCT FROM coalesce(m->'metrics', '{}'));
                RETURN QUERY SELECT id, cur.name, cur.version, 'kept'::text;
            END IF;
        ELSE
            RAISE WARNING 'shipped model "%" version "%" not installed: model_id % holds model "%" version "%"%',
                m->>'name', m->>'version', id, cur.name, cur.version,
                CASE WHEN cur.builtin THEN ' (a changed shipped row, now kept as a model of yours)' ELSE '' END;
            IF cur.builtin THEN
                UPDATE @extschema@.model x SET builtin = false,
                       training = x.training || '{"shipped_default": true}'::jsonb
                 WHERE x.model_id = id;
                DELETE FROM @extschema@.shipped_model_edit e WHERE e.model_id = id;
            END IF;
            RETURN QUERY SELECT id, m->>'name', m->>'version', 'skipped: model_id taken'::text;
        END IF;
    END LOOP;
    -- shipped by an earlier version only: the user's from now on (dumped), deployments untouched
    FOR cur IN SELECT x.model_id, x.name, x.version FROM @extschema@.model x
                WHERE x.builtin AND x.model_id <> ALL (ids) ORDER BY x.model_id LOOP
        UPDATE @extschema@.model x SET builtin = false,
                   training = x.training || '{"shipped_default": true}'::jsonb
             WHERE x.model_id = cur.model_id;
        DELETE FROM @extschema@.shipped_model_edit e WHERE e.model_id = cur.model_id;
        RAISE NOTICE 'model "%" version "%" is no longer shipped: kept as a model of yours (dumped from now on)',
            cur.name, cur.version;
        RETURN QUERY SELECT cur.model_id, cur.name, cur.version, 'no longer shipped: kept as a user model'::text;
    END LOOP;
    -- generated model_ids continue after the highest one in use
    SELECT pg_catalog.max(x.model_id) INTO top FROM @extschema@.model x;
    IF top > 0 AND top > (SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END
                            FROM @extschema@.model_model_id_seq s) THEN
        PERFORM pg_catalog.setval(seq, top);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.load_default_models(boolean) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.load_default_models(boolean) IS
    'Loads the shipped default models from icu_predict_default_models.json in the server''s share directory (extension/): installs each one missing under its fixed model_id, keeps those present with the user''s recorded edits, and turns shipped rows the file no longer holds into models of the user''s; the deployment log is never touched. Called by CREATE EXTENSION and ALTER EXTENSION UPDATE (superuser: it reads a server file). keep_unrecorded_edits: a shipped row whose training or metrics differ from the file is taken as edited by the user (an update from 0.1.0, which recorded no edits). Errors: 58P01 file missing, 22P02 file malformed.';

SELECT pg_catalog.count(*) FROM @extschema@.load_default_models();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.shipped_model_edit', '');

-- ==== extension/sql/26_reference_scores.sql
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

-- ==== extension/sql/30_demand.sql
-- Bed demand as a distribution (C: extension/src/demand/).
--
-- bed_demand holds the exact pmf of how many of N independent patients need
-- a bed (Poisson-binomial), with tails below 1e-12 trimmed per step and the
-- trimmed mass recorded.  The aggregate bed_demand(p) builds it from
-- per-patient probabilities; bed_demand_sum(d) and bed_demand_add(a, b) / +
-- convolve distributions so units and hospitals add up.  Every function on a
-- bed_demand is named bed_demand_*: bed_demand_mean, bed_demand_variance,
-- bed_demand_quantile, bed_demand_prob_exceeds, bed_demand_trimmed_mass,
-- bed_demand_pmf (the 0.1.0 names remain as deprecated aliases, below).

-- ---------------------------------------------------------------------------
-- type bed_demand
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.bed_demand;

CREATE FUNCTION @extschema@.bed_demand_in(cstring)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_out(@extschema@.bed_demand)
RETURNS cstring
AS 'MODULE_PATHNAME', 'icu_bed_demand_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_recv(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_send(@extschema@.bed_demand)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.bed_demand (
    INPUT     = @extschema@.bed_demand_in,
    OUTPUT    = @extschema@.bed_demand_out,
    RECEIVE   = @extschema@.bed_demand_recv,
    SEND      = @extschema@.bed_demand_send,
    ALIGNMENT = double,
    STORAGE   = extended
);

COMMENT ON TYPE @extschema@.bed_demand IS
    'Distribution of a bed count: pmf over offset..offset+n-1. Text form {"offset": k, "trimmed": m, "pmf": [p_k, p_k+1, ...]}; "trimmed" is the probability mass dropped from the tails (each tail below 1e-12 per convolution step), an upper bound on the error of every probability read from it.';
COMMENT ON FUNCTION @extschema@.bed_demand_in(cstring) IS 'Text input of bed_demand: {"offset": k, "trimmed": m, "pmf": [...]}; trimmed is optional; the pmf plus trimmed must sum to 1 within 1e-6.';
COMMENT ON FUNCTION @extschema@.bed_demand_out(@extschema@.bed_demand) IS 'Text output of bed_demand (shortest exact decimals, so text round trips are exact).';
COMMENT ON FUNCTION @extschema@.bed_demand_recv(internal) IS 'Binary input of bed_demand (validated).';
COMMENT ON FUNCTION @extschema@.bed_demand_send(@extschema@.bed_demand) IS 'Binary output of bed_demand.';

-- ---------------------------------------------------------------------------
-- aggregate support (internal state)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_accum(internal, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_merge_accum(internal, @extschema@.bed_demand)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_merge_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_final(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.bed_demand_accum(internal, float8) IS 'Transition function of bed_demand(float8): convolves one Bernoulli(p) in place.';
COMMENT ON FUNCTION @extschema@.bed_demand_merge_accum(internal, @extschema@.bed_demand) IS 'Transition function of bed_demand_sum(bed_demand): convolves one distribution in.';
COMMENT ON FUNCTION @extschema@.bed_demand_combine(internal, internal) IS 'Combine function of the bed-demand aggregates (convolution of two partial states).';
COMMENT ON FUNCTION @extschema@.bed_demand_serialize(internal) IS 'Serialize function of the bed-demand aggregates.';
COMMENT ON FUNCTION @extschema@.bed_demand_deserialize(bytea, internal) IS 'Deserialize function of the bed-demand aggregates; validates every length, count and probability.';
COMMENT ON FUNCTION @extschema@.bed_demand_final(internal) IS 'Final function of the bed-demand aggregates; NULL when no non-NULL input was seen.';

CREATE AGGREGATE @extschema@.bed_demand(float8) (
    SFUNC        = @extschema@.bed_demand_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_final,
    COMBINEFUNC  = @extschema@.bed_demand_combine,
    SERIALFUNC   = @extschema@.bed_demand_serialize,
    DESERIALFUNC = @extschema@.bed_demand_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand(float8) IS
    'Distribution of how many of the rows'' events happen, each row an independent event with probability p (Poisson-binomial, exact by convolution, tails below 1e-12 trimmed). NULL p is skipped; no non-NULL p gives NULL. p outside [0, 1] (or NaN) raises 22023.';

CREATE AGGREGATE @extschema@.bed_demand_sum(@extschema@.bed_demand) (
    SFUNC        = @extschema@.bed_demand_merge_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_final,
    COMBINEFUNC  = @extschema@.bed_demand_combine,
    SERIALFUNC   = @extschema@.bed_demand_serialize,
    DESERIALFUNC = @extschema@.bed_demand_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand_sum(@extschema@.bed_demand) IS
    'Distribution of the sum of independent bed counts (convolution), e.g. hospital demand from unit demands. NULLs are skipped; no non-NULL input gives NULL.';

-- ---------------------------------------------------------------------------
-- functions over values
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_add(@extschema@.bed_demand, @extschema@.bed_demand)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add(@extschema@.bed_demand, @extschema@.bed_demand) IS
    'Distribution of the sum of two independent bed counts (convolution).';

CREATE OPERATOR @extschema@.+ (
    LEFTARG    = @extschema@.bed_demand,
    RIGHTARG   = @extschema@.bed_demand,
    FUNCTION   = @extschema@.bed_demand_add,
    COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (@extschema@.bed_demand, @extschema@.bed_demand) IS
    'Sum of two independent bed counts (convolution of their distributions).';

CREATE FUNCTION @extschema@.bed_demand_poisson(lambda float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_poisson'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_poisson(float8) IS
    'Poisson(lambda) count distribution, tails below 1e-12 trimmed: new arrivals at rate lambda. lambda must be in [0, 1e8].';

CREATE FUNCTION @extschema@.bed_demand_add_poisson(demand @extschema@.bed_demand, lambda float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add_poisson'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add_poisson(@extschema@.bed_demand, float8) IS
    'Adds a Poisson(lambda) number of independent new arrivals to a bed count (convolution); lambda = 0 returns the input.';

CREATE FUNCTION @extschema@.bed_demand_mean(@extschema@.bed_demand)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_mean'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_mean(@extschema@.bed_demand) IS 'Expected bed count.';

CREATE FUNCTION @extschema@.bed_demand_variance(@extschema@.bed_demand)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_variance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_variance(@extschema@.bed_demand) IS 'Variance of the bed count.';

CREATE FUNCTION @extschema@.bed_demand_quantile(@extschema@.bed_demand, q float8)
RETURNS integer
AS 'MODULE_PATHNAME', 'icu_bed_demand_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_quantile(@extschema@.bed_demand, float8) IS
    'Smallest bed count k with P(count <= k) >= q (within 1e-12); q in [0, 1], q = 0 gives the smallest count with positive probability.';

CREATE FUNCTION @extschema@.bed_demand_prob_exceeds(@extschema@.bed_demand, k integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_prob_exceeds'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_prob_exceeds(@extschema@.bed_demand, integer) IS
    'P(count > k), e.g. the probability that demand exceeds k staffed beds.';

CREATE FUNCTION @extschema@.bed_demand_trimmed_mass(@extschema@.bed_demand)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_trimmed_mass'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_trimmed_mass(@extschema@.bed_demand) IS
    'Probability mass dropped from the tails while building the distribution: a bound on the error of every probability read from it.';

CREATE FUNCTION @extschema@.bed_demand_pmf(@extschema@.bed_demand, OUT beds integer, OUT probability float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'icu_bed_demand_pmf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 50;
COMMENT ON FUNCTION @extschema@.bed_demand_pmf(@extschema@.bed_demand) IS
    'The distribution as rows (beds, probability), one per kept count in increasing order, for plots.';

-- ---------------------------------------------------------------------------
-- Deprecated names (0.1.0), kept for one release: removed in 0.3.0
-- ---------------------------------------------------------------------------
-- 0.1.0 named the readers of a bed_demand with generic words (mean,
-- quantile, pmf, ...), which collide with other extensions' functions in a
-- shared schema.  The old names call the new ones with the same volatility,
-- strictness and parallel safety (and the C functions' cost); SQL-standard
-- bodies are bound when created and inlined by the planner.
CREATE FUNCTION @extschema@.mean(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_mean($1);
COMMENT ON FUNCTION @extschema@.mean(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_mean; removed in 0.3.0. Expected bed count.';

CREATE FUNCTION @extschema@.variance(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_variance($1);
COMMENT ON FUNCTION @extschema@.variance(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_variance; removed in 0.3.0. Variance of the bed count.';

CREATE FUNCTION @extschema@.quantile(@extschema@.bed_demand, q float8)
RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_quantile($1, q);
COMMENT ON FUNCTION @extschema@.quantile(@extschema@.bed_demand, float8) IS
    'Deprecated: use bed_demand_quantile; removed in 0.3.0. Smallest bed count k with P(count <= k) >= q.';

CREATE FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, k integer)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_prob_exceeds($1, k);
COMMENT ON FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, integer) IS
    'Deprecated: use bed_demand_prob_exceeds; removed in 0.3.0. P(count > k).';

CREATE FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_trimmed_mass($1);
COMMENT ON FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_trimmed_mass; removed in 0.3.0. Probability mass dropped from the tails.';

CREATE FUNCTION @extschema@.pmf(@extschema@.bed_demand, OUT beds integer, OUT probability float8)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1 ROWS 50
BEGIN ATOMIC
    SELECT b.beds, b.probability FROM @extschema@.bed_demand_pmf($1) b;
END;
COMMENT ON FUNCTION @extschema@.pmf(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_pmf; removed in 0.3.0. The distribution as rows (beds, probability).';

-- ==== extension/sql/31_demand_calibration.sql
-- Bed demand: recalibration from the forecast log
-- (C: extension/src/demand/calibrate.c; docs/demand.md, docs/views.md).
--
-- bed_demand_calibration_factor(mean_sq_z, effective_forecasts) is the
-- widening factor learnt from the standardised squared errors of past
-- forecasts, shrunk toward 1; bed_demand_widen(demand, factor) scales a
-- distribution around its mean by it.  capacity_forecast
-- (45_capacity_forecast.sql) applies both per unit and horizon before it
-- reads quantiles, P(demand > staffed beds) and the recommended action.

CREATE FUNCTION @extschema@.bed_demand_calibration_factor(mean_sq_z float8, effective_forecasts float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_calibration_factor'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_calibration_factor(float8, float8) IS
    'Widening factor k of a forecast from its graded past: mean_sq_z is the mean of (realised - mean)^2 / variance over past forecasts (1 for a calibrated forecast), effective_forecasts the number of independent errors it rests on; k^2 = (n_eff * mean_sq_z + 4) / (n_eff + 4) (shrunk toward 1 with the weight of 4 forecasts), kept within [0.5, 5]. Both arguments finite and >= 0, else 22023.';

CREATE FUNCTION @extschema@.bed_demand_widen(demand @extschema@.bed_demand, factor float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_widen'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_widen(@extschema@.bed_demand, float8) IS
    'The distribution of m + factor (X - m), m the mean of X: each count''s mass moves to m + factor (x - m) and is split linearly between the two integers around it, so the mean is kept and the variance becomes factor^2 times it plus at most 1/4; mass that would fall below 0 goes to 0. factor = 1 returns the input. factor in (0, 100], else 22023.';

-- ==== extension/sql/31_demand_inflow.sql
-- Bed demand: the uncertainty that is common to all patients
-- (C: extension/src/demand/inflow.c, mixture.c; docs/demand.md).
--
-- bed_demand_negbinomial(mean, shape) is the Poisson-gamma count of new
-- arrivals when the arrival rate itself is uncertain: one gamma multiplier
-- (mean 1, shape k) shared by every day of the horizon, variance
-- mean + mean^2/k.  bed_demand_mixture(d, weight) mixes distributions
-- computed under different values of a common shift (of all risks, of all
-- stays); bed_demand_normal_nodes(n) gives the Gauss-Hermite nodes and
-- weights for a normally distributed shift.

-- ---------------------------------------------------------------------------
-- negative-binomial inflow
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_negbinomial(mean float8, shape float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_negbinomial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_negbinomial(float8, float8) IS
    'Negative-binomial (Poisson-gamma) count with the given mean and gamma shape k: Poisson(mean * G) with G ~ Gamma(k, rate k), so variance = mean + mean^2/k; k -> infinity is Poisson. New arrivals whose rate is uncertain. Tails below 1e-12 trimmed. mean in [0, 1e8]; shape finite and > 0, else 22023.';

CREATE FUNCTION @extschema@.bed_demand_add_negbinomial(demand @extschema@.bed_demand, mean float8, shape float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add_negbinomial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add_negbinomial(@extschema@.bed_demand, float8, float8) IS
    'Adds an independent negative-binomial (mean, shape) number of new arrivals to a bed count (convolution); mean = 0 returns the input. For units that share one rate multiplier, add one negative binomial with the summed mean to their total, not one per unit.';

-- ---------------------------------------------------------------------------
-- mixture aggregate (internal state)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_mixture_accum(internal, @extschema@.bed_demand, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_final(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.bed_demand_mixture_accum(internal, @extschema@.bed_demand, float8) IS 'Transition function of bed_demand_mixture: adds weight * pmf to the weighted sums; NULL rows skipped, a negative or non-finite weight raises 22023.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_combine(internal, internal) IS 'Combine function of bed_demand_mixture (adds two partial weighted sums).';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_serialize(internal) IS 'Serialize function of bed_demand_mixture.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_deserialize(bytea, internal) IS 'Deserialize function of bed_demand_mixture; validates every length, count, weight and probability.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_final(internal) IS 'Final function of bed_demand_mixture: divides by the total weight (22023 when it is 0); NULL when no non-NULL row was seen.';

CREATE AGGREGATE @extschema@.bed_demand_mixture(@extschema@.bed_demand, float8) (
    SFUNC        = @extschema@.bed_demand_mixture_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_mixture_final,
    COMBINEFUNC  = @extschema@.bed_demand_mixture_combine,
    SERIALFUNC   = @extschema@.bed_demand_mixture_serialize,
    DESERIALFUNC = @extschema@.bed_demand_mixture_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand_mixture(@extschema@.bed_demand, float8) IS
    'Mixture of bed-count distributions: sum of weight * pmf divided by the sum of weights, e.g. over the values of a common shift of all risks. Trimmed mass is the weighted mean of the inputs'' (nothing more is trimmed). Rows with a NULL distribution or weight are skipped; no such row gives NULL; weights must be finite and >= 0 and sum to more than 0 (22023).';

-- ---------------------------------------------------------------------------
-- Gauss-Hermite nodes for a standard normal shift
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_normal_nodes(n integer)
RETURNS TABLE (z float8, weight float8)
AS 'MODULE_PATHNAME', 'icu_bed_demand_normal_nodes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.bed_demand_normal_nodes(integer) IS
    'Gauss-Hermite rule for a standard normal Z: n nodes z (ascending) and weights summing to 1, so that sum(weight * f(z)) = E f(Z) exactly for polynomials of degree <= 2n - 1. n in 1..64, else 22023. Use with bed_demand_mixture to mix over a normal shift of all risks.';

-- ---------------------------------------------------------------------------
-- inflow_growth(daily_counts): the growth rate of ICU-episode starts
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.inflow_growth(daily_counts float8[],
                                          OUT rate float8, OUT rate_se float8,
                                          OUT level float8, OUT total float8)
RETURNS record
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_inflow_growth';
COMMENT ON FUNCTION @extschema@.inflow_growth(float8[]) IS
    'Poisson log-linear fit to daily counts (oldest first): rate = growth per day of the log count, rate_se its standard error (NULL when there are no events), level = fitted count per day at the middle of the window, total = sum of the counts. capacity_forecast passes the ICU-episode starts of the last 14 days (two whole weeks, so the weekday cycle cancels). |rate| is held at 1 per day when all events fall on the first or on the last day (no finite maximum).';

-- ---------------------------------------------------------------------------
-- bed_demand_add_arrivals(d, mean, shape): Poisson or negative-binomial inflow
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_add_arrivals(demand @extschema@.bed_demand,
                                                    mean float8, shape float8)
RETURNS @extschema@.bed_demand
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN demand IS NULL OR mean IS NULL THEN NULL
            WHEN shape IS NULL THEN @extschema@.bed_demand_add_poisson(demand, mean)
            ELSE @extschema@.bed_demand_add_negbinomial(demand, mean, shape) END;
COMMENT ON FUNCTION @extschema@.bed_demand_add_arrivals(@extschema@.bed_demand, float8, float8) IS
    'demand plus the arrivals of the capacity forecast: Poisson(mean) when shape is NULL, else the negative binomial of that mean and gamma shape.';

-- ==== extension/sql/32_demand_score.sql
-- Bed demand: grading a count forecast against what happened
-- (C: extension/src/demand/score.c; docs/demand.md, docs/views.md).
--
-- The CDF, the CRPS and the PIT of a bed_demand read the distribution as
-- pmf / sum(pmf): F is 0 below the kept counts and 1 from the largest on
-- (the trimmed mass, at most about 1e-12 per tail, is spread over the kept
-- counts).  forecast_grade and forecast_skill (44_forecast_log.sql) grade
-- the forecast log with them.

CREATE FUNCTION @extschema@.bed_demand_cdf(demand @extschema@.bed_demand, k integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_cdf(@extschema@.bed_demand, integer) IS
    'P(count <= k) of the distribution read as pmf / sum(pmf): 0 below the smallest kept count, 1 from the largest on.';

CREATE FUNCTION @extschema@.bed_demand_crps(demand @extschema@.bed_demand, y integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_crps'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_crps(@extschema@.bed_demand, integer) IS
    'Continuous ranked probability score of the count forecast for the observed count y: the sum over all integers k of (F(k) - [y <= k])^2, exact (a finite sum over the kept counts, plus 1 for every count between y and them when y lies outside). In beds; lower is better; a point mass at x scores |y - x|.';

CREATE FUNCTION @extschema@.bed_demand_pit(demand @extschema@.bed_demand, y integer, u float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_pit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_pit(@extschema@.bed_demand, integer, float8) IS
    'Randomised probability integral transform of the observed count y: F(y - 1) + u (F(y) - F(y - 1)). With u uniform on [0, 1] it is uniform for a calibrated count forecast. u in [0, 1], else 22023.';

CREATE FUNCTION @extschema@.bed_demand_pit_cdf(demand @extschema@.bed_demand, y integer, z float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_pit_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_pit_cdf(@extschema@.bed_demand, integer, float8) IS
    'Non-randomised PIT of a count (Czado, Gneiting & Held 2009): the CDF at z of the PIT given the observed count y, 0 for z <= F(y - 1), 1 for z >= F(y), linear in between. The mean of pit_cdf(b) - pit_cdf(a) over many forecasts is the PIT histogram''s bar [a, b). z in [0, 1], else 22023.';

-- ==== extension/sql/40_policy.sql
-- Policy: the thresholds of the daily views (patient_status,
-- capacity_forecast) and of predict().
--
--   capacity_policy        one optional row of thresholds (risk bands, risk
--                          horizons, scale up / down, inflow window and trend).
--   capacity_settings()    the row in force, or the defaults when the table is
--                          empty.

-- ---------------------------------------------------------------------------
-- capacity_policy: the configurable thresholds of the forecast
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.capacity_policy (
    id                      boolean NOT NULL DEFAULT true,
    scale_up_probability    float8  NOT NULL DEFAULT 0.10,
    scale_down_spare_beds   integer NOT NULL DEFAULT 2,
    status_risk_horizon_hours   integer NOT NULL DEFAULT 48,
    forecast_risk_horizon_hours integer NOT NULL DEFAULT 168,
    arrival_window_days     integer NOT NULL DEFAULT 7,
    course_stable_band      float8  NOT NULL DEFAULT 0.05,
    risk_band_medium        float8  NOT NULL DEFAULT 0.10,
    risk_band_high          float8  NOT NULL DEFAULT 0.30,
    arrival_trend_days      integer NOT NULL DEFAULT 0,
    arrival_trend_cap       float8  NOT NULL DEFAULT 2,
    inflow_trend            boolean NOT NULL DEFAULT false,
    inflow_trend_damping_days float8 NOT NULL DEFAULT 7,
    inflow_overdispersion   boolean NOT NULL DEFAULT true,
    routing_window_days     integer NOT NULL DEFAULT 0,
    forecast_log_retention_days integer NOT NULL DEFAULT 730,
    forecast_of_record_after    time    NOT NULL DEFAULT '00:00',
    action_lookahead_days   integer NOT NULL DEFAULT 3,
    action_hysteresis       boolean NOT NULL DEFAULT true,
    calibration             boolean NOT NULL DEFAULT false,
    calibration_window_days integer NOT NULL DEFAULT 112,
    calibration_min_forecasts integer NOT NULL DEFAULT 14,
    stay_at_episode_start   boolean NOT NULL DEFAULT false,
    calibration_min_factor  float8  NOT NULL DEFAULT 0.5,
    calibration_max_factor_long float8 NOT NULL DEFAULT 5,
    CONSTRAINT capacity_policy_pkey PRIMARY KEY (id),
    CONSTRAINT capacity_policy_one_row CHECK (id),
    CONSTRAINT capacity_policy_scale_up_probability_range
        CHECK (scale_up_probability > 0 AND scale_up_probability <= 1),
    CONSTRAINT capacity_policy_scale_down_spare_beds_nonnegative
        CHECK (scale_down_spare_beds >= 0),
    CONSTRAINT capacity_policy_status_risk_horizon_hours_range
        CHECK (status_risk_horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT capacity_policy_forecast_risk_horizon_hours_range
        CHECK (forecast_risk_horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT capacity_policy_arrival_window_days_range
        CHECK (arrival_window_days BETWEEN 1 AND 365),
    CONSTRAINT capacity_policy_course_stable_band_range
        CHECK (course_stable_band >= 0 AND course_stable_band < 1),
    CONSTRAINT capacity_policy_risk_bands_ordered
        CHECK (0 < risk_band_medium AND risk_band_medium <= risk_band_high AND risk_band_high <= 1),
    CONSTRAINT capacity_policy_arrival_trend_days_range
        CHECK (arrival_trend_days >= 0 AND arrival_trend_days <= arrival_window_days),
    CONSTRAINT capacity_policy_arrival_trend_cap_range
        CHECK (arrival_trend_cap >= 1 AND arrival_trend_cap <= 100),
    CONSTRAINT capacity_policy_inflow_trend_damping_days_range
        CHECK (inflow_trend_damping_days >= 0.5 AND inflow_trend_damping_days <= 60),
    CONSTRAINT capacity_policy_routing_window_days_range
        CHECK (routing_window_days BETWEEN 0 AND 365),
    CONSTRAINT capacity_policy_forecast_log_retention_days_range
        CHECK (forecast_log_retention_days BETWEEN 0 AND 36500),
    CONSTRAINT capacity_policy_action_lookahead_days_range
        CHECK (action_lookahead_days BETWEEN 1 AND 14),
    CONSTRAINT capacity_policy_calibration_window_days_range
        CHECK (calibration_window_days BETWEEN 7 AND 3650),
    CONSTRAINT capacity_policy_calibration_min_forecasts_range
        CHECK (calibration_min_forecasts BETWEEN 1 AND 1000),
    CONSTRAINT capacity_policy_calibration_min_factor_range
        CHECK (calibration_min_factor >= 0.5 AND calibration_min_factor <= 1),
    CONSTRAINT capacity_policy_calibration_max_factor_long_range
        CHECK (calibration_max_factor_long >= 1 AND calibration_max_factor_long <= 5)
);
COMMENT ON TABLE @extschema@.capacity_policy IS
    'Optional single row of thresholds for patient_status and capacity_forecast. Without a row the defaults hold (see capacity_settings()). Change with INSERT ... ON CONFLICT (id) DO UPDATE; takes effect at the next refresh.';
COMMENT ON COLUMN @extschema@.capacity_policy.id IS 'Always true: the table holds at most one row.';
COMMENT ON COLUMN @extschema@.capacity_policy.scale_up_probability IS 'Recommend "scale up" when P(demand > staffed beds) is at least this (default 0.10).';
COMMENT ON COLUMN @extschema@.capacity_policy.scale_down_spare_beds IS 'Recommend "scale down" when the P95 of demand leaves at least this many staffed beds free (default 2), and "scale up" does not apply.';
COMMENT ON COLUMN @extschema@.capacity_policy.status_risk_horizon_hours IS 'Horizon of the risk shown in patient_status.risk (bands, course, reasons): the active icu_admission model of this horizon, else the one nearest to it (default 48). When its horizon differs from the forecast risk''s, the capacity forecast uses it as a second point of the ward patients'' ICU-admission curve.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_risk_horizon_hours IS 'Horizon of the risk the capacity forecast uses (patient_status.forecast_risk): the active icu_admission model of this horizon, else the one nearest to it (default 168 = 7 days). The forecast reads that model''s probability over the model''s own horizon_hours.';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_window_days IS 'Days back over which the ICU inflow of patients not yet in hospital is estimated: ICU episodes begun in this window, by their time since hospital admission (default 7).';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_days IS 'Trend of the inflow of patients not yet in hospital: hospital admissions per day in the last this many days divided by those in the whole arrival window scale the inflow (capped by arrival_trend_cap); 0 = no trend (default 0).';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_cap IS 'The trend factor (arrival_trend_days), and the growth multiplier of inflow_trend, are each kept between 1 / this and this (default 2).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_trend IS 'Grow the inflow of patients not yet in hospital with the growth rate of ICU-episode starts over the last 14 days (Poisson log-linear fit, shrunk toward no growth by its standard error, damped by inflow_trend_damping_days, capped by arrival_trend_cap); false = the arrival window''s mean rate (default false).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_trend_damping_days IS 'Time constant of the fading of the inflow growth, in days: the log multiplier at u days ahead is r (W/2 + tau (1 - exp(-u/tau))) (default 7).';
COMMENT ON COLUMN @extschema@.capacity_policy.inflow_overdispersion IS 'Negative-binomial inflow: the inflow rate''s own uncertainty (from the arrival window''s count and the growth estimate) as one gamma multiplier shared by every day of the horizon; false = Poisson inflow (default true: on the four scenario presets of docs/backtest.md it lowered CRPS at every horizon and changed no mean).';
COMMENT ON COLUMN @extschema@.capacity_policy.routing_window_days IS 'Route ward patients and new arrivals to ICU units by the first ICU units of the episodes begun in this many days (per source unit, smoothed toward the hospital-wide routing, which is smoothed toward staffed-bed shares, each with the weight of 5 episodes); 0 = staffed-bed shares (default 0).';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_log_retention_days IS 'Live rows of forecast_log whose reference time is more than this many days before now are deleted by refresh() (default 730); 0 keeps them forever. Replay rows are never deleted by this rule.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_of_record_after IS 'Time of day (in icu_predict.day_timezone) from which a refresh can give the forecast of record of its reference day: the first successful run at or after it, per unit and horizon, is of record (default 00:00 = the day''s first run). A day with runs only before it has no forecast of record.';
COMMENT ON COLUMN @extschema@.capacity_policy.action_lookahead_days IS 'Days ahead the recommended action looks at: scale up when P(demand > staffed beds) reaches scale_up_probability on any of days 1 to this, scale down when scale_down_spare_beds beds are spare at the P95 on each of days 0 to this (default 3).';
COMMENT ON COLUMN @extschema@.capacity_policy.action_hysteresis IS 'Keep an action until its condition clearly ends: scale up until P(demand > staffed beds) falls below half of scale_up_probability, scale down while one bed fewer than scale_down_spare_beds is spare; the previous action is the unit''s latest earlier forecast in forecast_log within two days (default true).';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration IS 'Recalibrate each forecast distribution per unit and horizon from the graded forecasts of record in forecast_log (live rows for a live refresh, replay rows for a replay): widened or narrowed around its mean by bed_demand_calibration_factor() before quantiles, P(demand > staffed beds) and the recommended action are read (default false; docs/views.md, "Calibration from the log").';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_window_days IS 'Past forecasts whose moment lies in this many days before the reference time are graded for the calibration (default 112: a 28-day window holds only about four independent 7-day errors and follows the last regime; docs/backtest.md).';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_min_forecasts IS 'Cold start: a unit and horizon with fewer graded forecasts of record than this in the window is not calibrated (factor 1, calibration_status ''cold start'') (default 14).';
COMMENT ON COLUMN @extschema@.capacity_policy.stay_at_episode_start IS 'Read the remaining ICU stay of a patient in an ICU from the stay model''s estimate as of the start of the current ICU episode (the labs resulted by then and the hours since hospital admission then: the inputs the model is trained on), conditioned on the days spent; false = from today''s estimate, whose inputs include the labs and the hours of the ICU stay itself (default false: on the scenario presets of docs/backtest.md it matches the observed departures and lowers CRPS by up to a third on the small hospitals, but worsens it beyond noise on the large wave at 2 and 7 to 14 days).';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_min_factor IS 'The calibration factor is never below this (0.5 to 1; default 0.5 = the bound of bed_demand_calibration_factor()); 1 = a widening that never narrows.';
COMMENT ON COLUMN @extschema@.capacity_policy.calibration_max_factor_long IS 'Cap of the calibration factor at horizons of 7 days and more (1 to 5; default 5 = the bound of bed_demand_calibration_factor()), where the errors are the mean''s more than the spread''s.';
COMMENT ON COLUMN @extschema@.capacity_policy.course_stable_band IS 'Risk change against the day before within +/- this is "stable"; above is "worsening", below "improving" (default 0.05).';
COMMENT ON COLUMN @extschema@.capacity_policy.risk_band_medium IS 'Risk from this value on is band "medium" (default 0.10).';
COMMENT ON COLUMN @extschema@.capacity_policy.risk_band_high IS 'Risk from this value on is band "high" (default 0.30).';

CREATE FUNCTION @extschema@.capacity_settings()
RETURNS @extschema@.capacity_policy
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT p FROM @extschema@.capacity_policy p WHERE p.id),
        ROW(true, 0.10::float8, 2, 48, 168, 7, 0.05::float8,
            0.10::float8, 0.30::float8, 0, 2::float8,
            false, 7::float8, true, 0,
            730, '00:00'::time, 3, true,
            false, 112, 14,
            false, 0.5::float8, 5::float8)::@extschema@.capacity_policy);
END;
COMMENT ON FUNCTION @extschema@.capacity_settings() IS
    'The thresholds in force: the row of capacity_policy, or the defaults when the table is empty.';


SELECT pg_catalog.pg_extension_config_dump('@extschema@.capacity_policy', '');

-- ==== extension/sql/42_patient_status.sql
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

-- ==== extension/sql/43_patient_risk.sql
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

-- ==== extension/sql/44_forecast_log.sql
-- Forecast log and grading: every capacity forecast that refresh() makes is
-- kept, and graded against the ICU census once its moment has passed.
--
--   icu_census(moments), icu_census_at(at)
--                      patients in an ICU episode per unit at given moments,
--                      by the rule of icu_occupancy() (05_episodes.sql).
--   forecast_log       append-only: one row per refresh run, unit and
--                      horizon day, written by refresh() (48_refresh.sql)
--                      in the run's subtransaction.
--   forecast_grades(), the view forecast_grade
--                      each logged forecast whose moment has passed, with
--                      the census that happened, PIT, CRPS and errors, and
--                      those of persistence and of the 7-day mean.
--   forecast_skill(window_days, live_only)
--                      coverage, PIT histogram, CRPS, MAE, skill and bias per
--                      unit and horizon over the forecasts of record.
--
-- Rules (docs/views.md, "Forecast log and grading"):
--   * a row is a replay (is_replay) when its reference time is not the wall
--     clock, i.e. icu_predict.reference_time was set to another moment;
--   * the forecast of record of a unit, reference day and horizon is the
--     first successful run of that day (live and replay counted apart) whose
--     reference time is at or after capacity_policy.forecast_of_record_after
--     in the day zone; it is fixed when the row is written, so the log stays
--     append-only, and a unique index keeps it one;
--   * refresh() deletes live rows older than
--     capacity_policy.forecast_log_retention_days (0 = never); replay rows
--     are kept, since their reference times lie in the past by design.

-- ---------------------------------------------------------------------------
-- icu_census(moments) and icu_census_at(at)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.icu_census(moments timestamptz[])
RETURNS TABLE (at timestamptz, unit text, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH m AS (
        SELECT DISTINCT x AS at FROM pg_catalog.unnest(icu_census.moments) AS x WHERE x IS NOT NULL
    ), units AS (
        SELECT s.unit FROM @extschema@.location_stay s WHERE s.unit_kind = 'icu'
        UNION
        SELECT c.unit FROM @extschema@.icu_capacity c
    ), present AS (
        SELECT m.at,
               (SELECT s.unit
                  FROM @extschema@.location_stay s
                 WHERE s.admission_id = e.admission_id
                   AND s.unit_kind = 'icu'
                   AND s.started_at >= e.started_at
                   AND s.started_at <= m.at
                 ORDER BY s.started_at DESC, s.stay_id DESC
                 LIMIT 1) AS unit
          FROM m
          JOIN @extschema@.icu_episode e
            ON e.started_at <= m.at
           AND (e.ended_at IS NULL OR e.ended_at > m.at)
    )
    SELECT m.at, u.unit, pg_catalog.count(p.unit)::integer AS patients
      FROM units u
     CROSS JOIN m
      LEFT JOIN present p ON p.unit = u.unit AND p.at = m.at
     GROUP BY m.at, u.unit
     ORDER BY m.at, u.unit;
END;
COMMENT ON FUNCTION @extschema@.icu_census(timestamptz[]) IS
    'ICU census at each of the given moments: per ICU unit, the number of patients in an ICU episode (started_at <= moment < ended_at), counted in the unit of the latest ICU location stay begun by then; the rule of icu_occupancy(), which is this census at the midnights that end its days. Every ICU unit known from location_stay or icu_capacity gets a row per moment, 0 when empty; NULL moments are ignored.';

CREATE FUNCTION @extschema@.icu_census_at(at timestamptz)
RETURNS TABLE (unit text, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT c.unit, c.patients
      FROM @extschema@.icu_census(ARRAY[icu_census_at.at]) c
     ORDER BY c.unit;
END;
COMMENT ON FUNCTION @extschema@.icu_census_at(timestamptz) IS
    'ICU census at one moment: per ICU unit, the number of patients in an ICU episode then (see icu_census).';

-- ---------------------------------------------------------------------------
-- forecast_log
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.forecast_log (
    run_id              bigint      NOT NULL,
    reference_time      timestamptz NOT NULL,
    reference_date      date        NOT NULL,
    forecast_at         timestamptz NOT NULL,
    forecast_date       date        NOT NULL,
    unit                text        NOT NULL,
    is_total            boolean     NOT NULL,
    horizon_day         integer     NOT NULL,
    demand              @extschema@.bed_demand NOT NULL,
    expected_beds       float8      NOT NULL,
    variance_beds       float8      NOT NULL,
    p05_beds            integer     NOT NULL,
    p10_beds            integer     NOT NULL,
    p50_beds            integer     NOT NULL,
    p90_beds            integer     NOT NULL,
    p95_beds            integer     NOT NULL,
    occupied_now        integer     NOT NULL,
    census_now          integer,
    census_mean_7d      float8,
    staffed_beds        integer,
    surge_beds          integer,
    prob_over_staffed   float8,
    prob_over_surge     float8,
    recommended_action  text        NOT NULL,
    arrivals_per_day    float8,
    icu_mean            float8,
    icu_var             float8,
    ward_mean           float8,
    ward_var            float8,
    arrivals_mean       float8,
    arrivals_var        float8,
    policy              jsonb       NOT NULL,
    risk_model_version  text,
    stay_model_version  text,
    is_replay           boolean     NOT NULL,
    of_record           boolean     NOT NULL,
    logged_at           timestamptz NOT NULL,
    calibration_factor  float8,
    calibration_forecasts integer,
    calibration_effective_forecasts float8,
    calibration_status  text,
    CONSTRAINT forecast_log_pkey PRIMARY KEY (run_id, unit, horizon_day),
    CONSTRAINT forecast_log_horizon_day_range CHECK (horizon_day >= 0),
    CONSTRAINT forecast_log_dates_agree CHECK (forecast_date = reference_date + horizon_day),
    CONSTRAINT forecast_log_quantiles_ordered
        CHECK (p05_beds <= p10_beds AND p10_beds <= p50_beds AND p50_beds <= p90_beds
               AND p90_beds <= p95_beds)
);
CREATE UNIQUE INDEX forecast_log_of_record_key
    ON @extschema@.forecast_log (unit, reference_date, horizon_day, is_replay) WHERE of_record;
CREATE INDEX forecast_log_forecast_at_idx ON @extschema@.forecast_log (forecast_at);
CREATE INDEX forecast_log_reference_time_idx ON @extschema@.forecast_log (reference_time);

COMMENT ON TABLE @extschema@.forecast_log IS
    'Append-only log of the capacity forecasts: one row per successful refresh() run, ICU unit (and ''All ICU units'') and horizon day, with the distribution, its summaries, the baselines known at the reference time, the policy and the model versions. Written by refresh() with the views, in the same subtransaction (a failed run logs nothing); graded by forecast_grade and forecast_skill(). Live rows older than capacity_policy.forecast_log_retention_days are deleted by refresh(). Survives pg_dump/pg_restore.';
COMMENT ON COLUMN @extschema@.forecast_log.run_id IS 'The refresh run (refresh_log.run_id).';
COMMENT ON COLUMN @extschema@.forecast_log.reference_time IS 'The reference time ("now") of the forecast.';
COMMENT ON COLUMN @extschema@.forecast_log.reference_date IS 'The reference day: the calendar day of reference_time in the day zone (icu_predict.day_timezone).';
COMMENT ON COLUMN @extschema@.forecast_log.forecast_at IS 'The forecast moment: reference_time + horizon_day days.';
COMMENT ON COLUMN @extschema@.forecast_log.forecast_date IS 'Calendar day of the forecast moment (reference_date + horizon_day).';
COMMENT ON COLUMN @extschema@.forecast_log.unit IS 'ICU unit, or ''All ICU units'' for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.forecast_log.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.forecast_log.horizon_day IS 'Days ahead of the reference time (0 = now).';
COMMENT ON COLUMN @extschema@.forecast_log.demand IS 'The forecast distribution of occupied beds at forecast_at (bed_demand), as capacity_forecast.demand.';
COMMENT ON COLUMN @extschema@.forecast_log.expected_beds IS 'Expected occupied beds (mean of demand).';
COMMENT ON COLUMN @extschema@.forecast_log.variance_beds IS 'Variance of the occupied beds (of demand, after calibration; the components'' variances add up to the variance before it).';
COMMENT ON COLUMN @extschema@.forecast_log.p05_beds IS '5th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p10_beds IS '10th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p50_beds IS 'Median of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p90_beds IS '90th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.p95_beds IS '95th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_log.occupied_now IS 'capacity_forecast.occupied_now: patients lying in the unit at the reference time.';
COMMENT ON COLUMN @extschema@.forecast_log.census_now IS 'ICU census of the unit at the reference time by the grading rule (icu_census), as known then: the persistence forecast of every horizon.';
COMMENT ON COLUMN @extschema@.forecast_log.census_mean_7d IS 'Mean ICU census of the unit at the reference time minus 1, 2, ..., 7 days (icu_census), as known then: the 7-day-mean forecast of every horizon.';
COMMENT ON COLUMN @extschema@.forecast_log.staffed_beds IS 'Staffed beds on forecast_date; NULL when unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.surge_beds IS 'Surge beds on forecast_date; NULL when unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.prob_over_staffed IS 'P(demand > staffed beds); NULL when staffed beds are unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.prob_over_surge IS 'P(demand > surge beds); NULL when surge beds are unknown.';
COMMENT ON COLUMN @extschema@.forecast_log.recommended_action IS 'The recommended action of the forecast (capacity_forecast.recommended_action).';
COMMENT ON COLUMN @extschema@.forecast_log.arrivals_per_day IS 'capacity_forecast.arrivals_per_day: expected ICU admissions, hospital-wide, during the day before forecast_at of patients not yet in hospital.';
COMMENT ON COLUMN @extschema@.forecast_log.icu_mean IS 'Mean of the beds occupied at forecast_at by the patients in the ICU at the reference time (capacity_forecast.icu_mean).';
COMMENT ON COLUMN @extschema@.forecast_log.icu_var IS 'Variance of that count (capacity_forecast.icu_var).';
COMMENT ON COLUMN @extschema@.forecast_log.ward_mean IS 'Mean of the beds occupied at forecast_at by the patients elsewhere in hospital at the reference time (capacity_forecast.ward_mean).';
COMMENT ON COLUMN @extschema@.forecast_log.ward_var IS 'Variance of that count (capacity_forecast.ward_var).';
COMMENT ON COLUMN @extschema@.forecast_log.arrivals_mean IS 'Mean of the beds occupied at forecast_at by patients not yet in hospital at the reference time (capacity_forecast.arrivals_mean).';
COMMENT ON COLUMN @extschema@.forecast_log.arrivals_var IS 'Variance of that count (capacity_forecast.arrivals_var: Poisson or negative binomial).';
COMMENT ON COLUMN @extschema@.forecast_log.policy IS 'The thresholds and parameters in force (capacity_settings() as jsonb).';
COMMENT ON COLUMN @extschema@.forecast_log.risk_model_version IS 'Name and version of the risk models the forecast read (today''s patient_status rows), separated by ''; ''.';
COMMENT ON COLUMN @extschema@.forecast_log.stay_model_version IS 'Name and version of the length-of-stay models the forecast read, separated by ''; ''.';
COMMENT ON COLUMN @extschema@.forecast_log.is_replay IS 'True when the reference time was not the wall clock (icu_predict.reference_time set to another moment: a replay or backtest). Live grading uses rows with false only.';
COMMENT ON COLUMN @extschema@.forecast_log.of_record IS 'True for the forecast of record of its unit, reference day and horizon: the first successful run of the day (live and replay apart) whose reference time is at or after capacity_policy.forecast_of_record_after. Grading and calibration use these rows, so frequent refreshes do not weigh more.';
COMMENT ON COLUMN @extschema@.forecast_log.logged_at IS 'Wall-clock time the row was written.';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_factor IS 'The calibration factor the forecast was widened by (capacity_forecast.calibration_factor); NULL when calibration was off or for rows logged before it existed.';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_forecasts IS 'Graded past forecasts the factor rested on (capacity_forecast.calibration_forecasts).';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_effective_forecasts IS 'Independent errors among them (capacity_forecast.calibration_effective_forecasts).';
COMMENT ON COLUMN @extschema@.forecast_log.calibration_status IS 'calibrated, cold start, census now or off (capacity_forecast.calibration_status).';

-- Rows are facts about past forecasts: never changed.  (Deleting, by the
-- retention rule or by the owner, stays possible.)
CREATE FUNCTION @extschema@.forecast_log_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'forecast_log rows are never changed (run %, unit %, horizon day %)',
                    OLD.run_id, OLD.unit, OLD.horizon_day
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'The log is append-only; delete old rows with capacity_policy.forecast_log_retention_days.';
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_log_append_only() IS
    'Trigger function of forecast_log: rejects UPDATE (SQLSTATE 55000); the log is append-only.';
CREATE TRIGGER forecast_log_append_only
    BEFORE UPDATE ON @extschema@.forecast_log
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forecast_log_append_only();
COMMENT ON TRIGGER forecast_log_append_only ON @extschema@.forecast_log IS
    'Keeps forecast_log append-only: UPDATE raises 55000.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.forecast_log', '');

-- ---------------------------------------------------------------------------
-- forecast_grades() and the view forecast_grade
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.forecast_grades(
    since timestamptz DEFAULT '-infinity',
    live_only boolean DEFAULT false,
    of_record_only boolean DEFAULT false)
RETURNS TABLE (
    run_id             bigint,
    reference_time     timestamptz,
    reference_date     date,
    forecast_at        timestamptz,
    forecast_date      date,
    unit               text,
    is_total           boolean,
    horizon_day        integer,
    is_replay          boolean,
    of_record          boolean,
    demand             @extschema@.bed_demand,
    expected_beds      float8,
    p05_beds           integer,
    p10_beds           integer,
    p50_beds           integer,
    p90_beds           integer,
    p95_beds           integer,
    realised           integer,
    in_p10_p90         boolean,
    in_p05_p95         boolean,
    pit_u              float8,
    pit                float8,
    crps               float8,
    error              float8,
    abs_error          float8,
    persistence        integer,
    persistence_abs_error float8,
    persistence_crps   float8,
    mean_7d            float8,
    mean_7d_abs_error  float8
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH g AS (
        SELECT f.*
          FROM @extschema@.forecast_log f
         WHERE f.forecast_at <= @extschema@.reference_time()
           AND f.forecast_at > forecast_grades.since
           AND (NOT forecast_grades.live_only OR NOT f.is_replay)
           AND (NOT forecast_grades.of_record_only OR f.of_record)
    ), census AS (
        SELECT c.at, c.unit, c.patients
          FROM @extschema@.icu_census(ARRAY(SELECT DISTINCT g.forecast_at FROM g)) c
    ), census_total AS (
        SELECT c.at, pg_catalog.sum(c.patients)::integer AS patients
          FROM census c GROUP BY c.at
    ), graded AS (
        SELECT g.*,
               CASE WHEN g.is_total THEN ct.patients ELSE coalesce(c.patients, 0) END AS realised,
               -- a reproducible u in [0, 1) for the randomised PIT: 53 bits of
               -- a hash of the row's key
               ((pg_catalog.hashtextextended(g.run_id::text || '/' || g.unit || '/' || g.horizon_day::text, 0)
                 & 9007199254740991)::float8 / 9007199254740992.0) AS u
          FROM g
          LEFT JOIN census c ON c.at = g.forecast_at AND c.unit = g.unit AND NOT g.is_total
          LEFT JOIN census_total ct ON ct.at = g.forecast_at AND g.is_total
    )
    SELECT x.run_id, x.reference_time, x.reference_date, x.forecast_at, x.forecast_date,
           x.unit, x.is_total, x.horizon_day, x.is_replay, x.of_record, x.demand,
           x.expected_beds, x.p05_beds, x.p10_beds, x.p50_beds, x.p90_beds, x.p95_beds,
           x.realised,
           x.realised BETWEEN x.p10_beds AND x.p90_beds,
           x.realised BETWEEN x.p05_beds AND x.p95_beds,
           x.u,
           @extschema@.bed_demand_pit(x.demand, x.realised, x.u),
           @extschema@.bed_demand_crps(x.demand, x.realised),
           x.expected_beds - x.realised,
           pg_catalog.abs(x.expected_beds - x.realised),
           x.census_now,
           pg_catalog.abs(x.census_now - x.realised)::float8,
           pg_catalog.abs(x.census_now - x.realised)::float8,
           x.census_mean_7d,
           pg_catalog.abs(x.census_mean_7d - x.realised)
      FROM graded x
     WHERE x.realised IS NOT NULL
     ORDER BY x.forecast_at, x.is_total, x.unit, x.horizon_day, x.run_id;
END;
COMMENT ON FUNCTION @extschema@.forecast_grades(timestamptz, boolean, boolean) IS
    'The logged forecasts whose moment has passed (forecast_at <= reference_time(), and > since), graded against the ICU census at forecast_at (icu_census; the sum over units for ''All ICU units''): realised beds, inside P10-P90 and P5-P95 (bounds included), the randomised PIT with a reproducible u from a hash of (run_id, unit, horizon_day), CRPS, error and absolute error of the expected beds, and persistence (the census at the reference time, a point mass: its CRPS is its absolute error) and the 7-day mean. live_only drops replay rows; of_record_only keeps the forecasts of record.';

CREATE VIEW @extschema@.forecast_grade AS
    SELECT g.run_id, g.reference_time, g.reference_date, g.forecast_at, g.forecast_date,
           g.unit, g.is_total, g.horizon_day, g.is_replay, g.of_record, g.demand,
           g.expected_beds, g.p05_beds, g.p10_beds, g.p50_beds, g.p90_beds, g.p95_beds,
           g.realised, g.in_p10_p90, g.in_p05_p95, g.pit_u, g.pit, g.crps, g.error,
           g.abs_error, g.persistence, g.persistence_abs_error, g.persistence_crps,
           g.mean_7d, g.mean_7d_abs_error
      FROM @extschema@.forecast_grades() g;
COMMENT ON VIEW @extschema@.forecast_grade IS
    'Every logged forecast whose moment has passed (forecast_at <= icu_predict.reference_time(), or now), graded against the ICU census at that moment. For a window or the forecasts of record only, call forecast_grades(since, live_only, of_record_only), which filters before it counts the census. See docs/views.md, "Forecast log and grading".';
COMMENT ON COLUMN @extschema@.forecast_grade.run_id IS 'The refresh run (refresh_log.run_id).';
COMMENT ON COLUMN @extschema@.forecast_grade.reference_time IS 'Reference time of the forecast.';
COMMENT ON COLUMN @extschema@.forecast_grade.reference_date IS 'Reference day of the forecast.';
COMMENT ON COLUMN @extschema@.forecast_grade.forecast_at IS 'The forecast moment, at which the census is counted.';
COMMENT ON COLUMN @extschema@.forecast_grade.forecast_date IS 'Calendar day of the forecast moment.';
COMMENT ON COLUMN @extschema@.forecast_grade.unit IS 'ICU unit, or ''All ICU units''.';
COMMENT ON COLUMN @extschema@.forecast_grade.is_total IS 'True for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.forecast_grade.horizon_day IS 'Days ahead (0 = now).';
COMMENT ON COLUMN @extschema@.forecast_grade.is_replay IS 'True for a forecast made in a replay (forecast_log.is_replay).';
COMMENT ON COLUMN @extschema@.forecast_grade.of_record IS 'True for the forecast of record of its unit, reference day and horizon.';
COMMENT ON COLUMN @extschema@.forecast_grade.demand IS 'The forecast distribution.';
COMMENT ON COLUMN @extschema@.forecast_grade.expected_beds IS 'Expected occupied beds.';
COMMENT ON COLUMN @extschema@.forecast_grade.p05_beds IS '5th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.p10_beds IS '10th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.p50_beds IS 'Median.';
COMMENT ON COLUMN @extschema@.forecast_grade.p90_beds IS '90th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.p95_beds IS '95th percentile.';
COMMENT ON COLUMN @extschema@.forecast_grade.realised IS 'Patients in an ICU episode in the unit at forecast_at (icu_census; all units for the total row).';
COMMENT ON COLUMN @extschema@.forecast_grade.in_p10_p90 IS 'p10_beds <= realised <= p90_beds (bounds included, so a count interval covers at least 80%).';
COMMENT ON COLUMN @extschema@.forecast_grade.in_p05_p95 IS 'p05_beds <= realised <= p95_beds.';
COMMENT ON COLUMN @extschema@.forecast_grade.pit_u IS 'The u of the randomised PIT: 53 bits of hashtextextended(run_id/unit/horizon_day) over 2^53, in [0, 1), the same on every read.';
COMMENT ON COLUMN @extschema@.forecast_grade.pit IS 'Randomised PIT: F(realised - 1) + pit_u (F(realised) - F(realised - 1)); uniform on [0, 1] for a calibrated forecast.';
COMMENT ON COLUMN @extschema@.forecast_grade.crps IS 'CRPS of the distribution for the realised count (bed_demand_crps), in beds.';
COMMENT ON COLUMN @extschema@.forecast_grade.error IS 'expected_beds - realised (positive: forecast too high).';
COMMENT ON COLUMN @extschema@.forecast_grade.abs_error IS '|expected_beds - realised|.';
COMMENT ON COLUMN @extschema@.forecast_grade.persistence IS 'Persistence''s forecast: the census at the reference time (forecast_log.census_now).';
COMMENT ON COLUMN @extschema@.forecast_grade.persistence_abs_error IS '|persistence - realised|.';
COMMENT ON COLUMN @extschema@.forecast_grade.persistence_crps IS 'CRPS of persistence as a point mass, equal to its absolute error.';
COMMENT ON COLUMN @extschema@.forecast_grade.mean_7d IS 'The 7-day-mean forecast: mean census at the reference time minus 1..7 days (forecast_log.census_mean_7d).';
COMMENT ON COLUMN @extschema@.forecast_grade.mean_7d_abs_error IS '|mean_7d - realised|, also its CRPS as a point forecast.';

-- ---------------------------------------------------------------------------
-- forecast_skill(window_days, live_only)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.forecast_skill(window_days integer DEFAULT 28, live_only boolean DEFAULT true)
RETURNS TABLE (
    unit                 text,
    is_total             boolean,
    horizon_day          integer,
    n_forecasts          bigint,
    first_forecast_at    timestamptz,
    last_forecast_at     timestamptz,
    coverage_80          float8,
    coverage_90          float8,
    coverage_80_interval float8,
    coverage_90_interval float8,
    pit_histogram        float8[],
    mean_crps            float8,
    mae                  float8,
    bias                 float8,
    persistence_mae      float8,
    persistence_crps     float8,
    crps_skill_persistence float8,
    mae_skill_persistence  float8,
    mean_7d_mae          float8,
    crps_skill_mean_7d   float8,
    mae_skill_mean_7d    float8
)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF window_days IS NULL OR window_days < 1 OR window_days > 36500 THEN
        RAISE EXCEPTION 'forecast_skill window of % days is outside 1 to 36500', coalesce(window_days::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a number of days, e.g. forecast_skill(28).';
    END IF;
    IF live_only IS NULL THEN
        RAISE EXCEPTION 'forecast_skill live_only must be true or false, not NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH g AS (
        SELECT gr.*
          FROM @extschema@.forecast_grades(
                   @extschema@.reference_time() - pg_catalog.make_interval(days => window_days),
                   live_only, true) gr
    ), bins AS (
        SELECT g.unit, g.horizon_day, b,
               pg_catalog.avg(@extschema@.bed_demand_pit_cdf(g.demand, g.realised, (b + 1) / 10.0::float8)
                              - @extschema@.bed_demand_pit_cdf(g.demand, g.realised, b / 10.0::float8)) AS share
          FROM g CROSS JOIN pg_catalog.generate_series(0, 9) AS b
         GROUP BY g.unit, g.horizon_day, b
    ), hist AS (
        SELECT bins.unit, bins.horizon_day, pg_catalog.array_agg(bins.share ORDER BY bins.b) AS h
          FROM bins GROUP BY bins.unit, bins.horizon_day
    ), s AS (
        SELECT g.unit, pg_catalog.bool_or(g.is_total) AS is_total, g.horizon_day,
               pg_catalog.count(*) AS n,
               pg_catalog.min(g.forecast_at) AS first_at,
               pg_catalog.max(g.forecast_at) AS last_at,
               pg_catalog.avg((g.pit >= 0.1 AND g.pit <= 0.9)::integer::float8) AS cov80,
               pg_catalog.avg((g.pit >= 0.05 AND g.pit <= 0.95)::integer::float8) AS cov90,
               pg_catalog.avg(g.in_p10_p90::integer::float8) AS cov80i,
               pg_catalog.avg(g.in_p05_p95::integer::float8) AS cov90i,
               pg_catalog.avg(g.crps) AS crps,
               pg_catalog.avg(g.abs_error) AS mae,
               pg_catalog.avg(g.error) AS bias,
               pg_catalog.avg(g.persistence_abs_error) AS pmae,
               pg_catalog.avg(g.persistence_crps) AS pcrps,
               pg_catalog.avg(g.mean_7d_abs_error) AS m7mae
          FROM g
         GROUP BY g.unit, g.horizon_day
    )
    SELECT s.unit, s.is_total, s.horizon_day, s.n, s.first_at, s.last_at,
           s.cov80, s.cov90, s.cov80i, s.cov90i, hist.h,
           s.crps, s.mae, s.bias, s.pmae, s.pcrps,
           1 - s.crps / NULLIF(s.pcrps, 0),
           1 - s.mae / NULLIF(s.pmae, 0),
           s.m7mae,
           1 - s.crps / NULLIF(s.m7mae, 0),
           1 - s.mae / NULLIF(s.m7mae, 0)
      FROM s
      JOIN hist ON hist.unit = s.unit AND hist.horizon_day = s.horizon_day
     ORDER BY s.is_total, s.unit, s.horizon_day;
END
$$;
COMMENT ON FUNCTION @extschema@.forecast_skill(integer, boolean) IS
    'How good the forecasts were: per unit and horizon, over the forecasts of record whose moment lies in the last window_days days before the reference time (live rows only by default; live_only => false adds replay rows, for a backtest database): n, coverage of the 80% and 90% ranges by the randomised PIT (share in [0.1, 0.9] and [0.05, 0.95]) and by the inclusive P10-P90 and P5-P95 intervals, the non-randomised PIT histogram (10 bars of width 0.1, Czado et al. 2009), mean CRPS, MAE, bias (mean forecast - realised), persistence''s MAE and CRPS and the skill 1 - model / persistence, the 7-day mean''s MAE and the skill against it (NULL when the reference made no error). Runs as the extension owner and returns aggregates only; EXECUTE is granted to icu_bi_reader for icu_bi.forecast_quality. window_days in 1..36500, else 22023.';

-- EXECUTE is granted in 50_bi.sql, after the roles exist (46_access.sql).

-- ==== extension/sql/45_capacity_forecast.sql
-- capacity_forecast: ICU occupancy now and the bed demand forecast for the
-- next 14 days, per ICU unit and for all units together (materialized).
--
-- For reference time t (icu_predict.reference_time()) and horizon day
-- d = 0..14 (the moment t + d days), each patient in hospital at t needs an
-- ICU bed at t + d with probability p:
--
--   * in the ICU at t, having spent s days of the current ICU episode
--     (icu_episode):     p = S(s + d) / S(s)      (p = 1 for d = 0)
--     with S the patient's ICU length-of-stay survival function from the
--     active stay model (P(stay > x days)), i.e. the probability that the
--     remaining stay exceeds d days given the time already spent; S is the
--     model's distribution from today's patient_status row, or as of the
--     start of the episode (its inputs then:
--     the labs resulted by then, the hours since hospital admission then),
--     which is what the model was trained on, with capacity_policy.
--     stay_at_episode_start (default false: today's estimate);
--   * elsewhere in hospital (ward, mc, ed ...): the patient's probability
--     F(x) of ICU admission by day x runs through the risks of today's
--     patient_status row, each read as what its model predicts,
--     P(ICU admission within H days), H = the model's own horizon_hours / 24:
--     forecast_risk (the active risk model of
--     capacity_policy.forecast_risk_horizon_hours, default 7 days) and, when
--     its horizon differs, the status risk (status_risk_horizon_hours,
--     default 48 h).  With one point (r, H) the hazard is constant,
--     1 - F(x) = (1 - r)^(x / H); with two, (r1, h1) and (r2, h2), h1 < h2,
--     it is constant on [0, h1] and on [h1, ...):
--         1 - F(x) = (1 - r1)^(x / h1)                                x <= h1
--         1 - F(x) = (1 - r1) * ((1 - r2') / (1 - r1))^((x - h1) / (h2 - h1))
--     with r2' = max(r1, r2) (a curve never falls), so F(h1) = r1 and
--     F(h2) = r2'; it goes on with the last hazard beyond the last point.  Then
--         p = sum_{k=0}^{d-1} (F(k+1) - F(k)) * S0(d - k - 1/2)
--     (admissions during day k are taken at its middle; S0 is the patient's
--     stay survival from the start of an ICU stay); p = 0 for d = 0.
--   * patients not yet in hospital at t (admitted later) who reach the ICU,
--     directly or through a ward: from the ICU episodes begun in the
--     arrival window (the W = capacity_policy.arrival_window_days days up to
--     t), each with its delay x = ICU start - hospital admission in days,
--     and assuming hospital admissions keep arriving as in the window
--     (uniformly in time), the expected number entering the ICU during
--     forecast day k (k = 0..13) is
--         e_k = f / W * sum_episodes clamp(k + 1 - x, 0, 1),
--     since an admission at t + u with delay x enters during day k for
--     u in [k - x, k + 1 - x) intersected with [0, k + 1): length 1 for
--     x <= k, k + 1 - x for k < x < k + 1, 0 beyond.  (In day buckets:
--     e_k = sum_{j<k} g(j) + the part of g(k) that fits, g(j) the daily
--     rate of ICU starts j days after admission.)  f is the trend factor:
--     1, or with capacity_policy.arrival_trend_days = n > 0 the hospital
--     admissions per day in the last n days over those in the whole window,
--     kept within [1/arrival_trend_cap, arrival_trend_cap].  Entries are
--     placed at the middle of their day and stay with Sbar, the mean stay
--     survival curve S0 of the patients in hospital at t; the number of
--     them in the ICU on day d is Poisson with mean
--         sum_{k=0}^{d-1} e_k * Sbar(d - k - 1/2).
--
-- The bed count is the Poisson-binomial over the patients (bed_demand
-- aggregate) convolved with the Poisson arrivals (bed_demand_add_poisson).
-- Unit assignment: an ICU patient counts in the ICU unit where they lie at t.
-- Ward patients and new arrivals are spread over the ICU units in proportion
-- to their staffed beds on the reference day (each unit gets p * w_u, which
-- gives the right per-unit distribution when the patient goes to unit u with
-- probability w_u); with no staffed beds known, equally.  The total row
-- (is_total, unit 'All ICU units') uses every patient's unsplit p and so is
-- the distribution of the hospital-wide count, not a sum of unit quantiles.
--
-- Calibration from the log (capacity_policy.calibration; docs/views.md,
-- "Calibration from the log").  Per unit and horizon day d >= 1, the
-- forecasts of record of the same kind (live or replay) whose moment lies in
-- the last calibration_window_days days (default 112) are graded against the
-- census they met (icu_census): with m and v the mean and variance of each
-- as computed (the sums of its components, before its own calibration),
-- z^2 = (y - m)^2 / v, held at 100.  With n of them, spanning s reference
-- days, n_eff = min(n, s / d + 1) independent errors, the factor is
-- bed_demand_calibration_factor(mean z^2, n_eff) and the distribution is
-- bed_demand_widen(demand, factor), before quantiles, P(demand > staffed),
-- P(demand > surge) and the action are read.  Fewer than
-- calibration_min_forecasts graded forecasts (default 14): cold start,
-- factor 1.  Day 0 (the census now) is never changed.
--
-- Recommended action per unit (capacity_policy, see capacity_settings()),
-- the same on each of the unit's rows, from the next L =
-- action_lookahead_days days (day 0 is the census now):
--   'scale up'   when P(demand > staffed beds) >= scale_up_probability on
--                any of days 1..L; with action_hysteresis it stays while
--                that probability is at least half the threshold;
--   'scale down' when the P95 leaves >= scale_down_spare_beds staffed beds
--                free on every day 0..L; it stays while one bed fewer is;
--   'hold'       otherwise; 'no capacity data' when icu_capacity has no row
--                for the unit on any of those days.
-- The previous action is the unit's latest earlier forecast in forecast_log
-- (within two days, live and replay apart), so the action does not flip on
-- every refresh.

CREATE MATERIALIZED VIEW @extschema@.capacity_forecast AS
WITH ref AS (
    SELECT @extschema@.reference_time() AS t,
           pg_catalog.timezone(@extschema@.day_zone(), @extschema@.reference_time())::date AS ref_date,
           @extschema@.capacity_settings() AS pol
), horizon AS (
    SELECT h AS d FROM pg_catalog.generate_series(0, 14) AS h
), today AS (
    -- today's row of every current admission
    SELECT ps.admission_id, ps.ward, ps.unit_kind, ps.as_of,
           coalesce(ps.forecast_risk, ps.risk) AS risk,
           ps.stay_model, ps.stay_version, ps.stay_location_days,
           -- the points of the ICU-admission curve: (h1, r1) and, when the
           -- status risk and the forecast risk have different horizons,
           -- (h2, r2) with h1 < h2
           CASE WHEN two.ok AND two.status_first THEN ps.risk
                ELSE coalesce(ps.forecast_risk, ps.risk) END AS r1,
           (CASE WHEN two.ok AND two.status_first THEN ps.risk_horizon_hours
                 WHEN ps.forecast_risk IS NOT NULL THEN ps.forecast_risk_horizon_hours
                 ELSE ps.risk_horizon_hours END / 24.0)::float8 AS h1,
           CASE WHEN two.ok THEN CASE WHEN two.status_first THEN ps.forecast_risk ELSE ps.risk END
                END AS r2,
           (CASE WHEN two.ok THEN greatest(ps.risk_horizon_hours, ps.forecast_risk_horizon_hours)
                 END / 24.0)::float8 AS h2
      FROM @extschema@.patient_status ps
      CROSS JOIN ref
      CROSS JOIN LATERAL (
            SELECT ps.risk IS NOT NULL AND ps.forecast_risk IS NOT NULL
                   AND ps.risk_horizon_hours IS DISTINCT FROM ps.forecast_risk_horizon_hours AS ok,
                   ps.risk_horizon_hours < ps.forecast_risk_horizon_hours AS status_first) two
     WHERE ps.day_date = ref.ref_date
), episodes_recent AS MATERIALIZED (
    -- ICU episodes begun in the longest look-back any part uses (arrival
    -- window, the 14 days of the growth fit, the routing window), read once
    SELECT ep.admission_id, ep.first_unit, ep.started_at
      FROM ref
      JOIN @extschema@.icu_episode ep
        ON ep.started_at <= ref.t
       AND ep.started_at > ref.t - pg_catalog.make_interval(
               days => greatest((ref.pol).arrival_window_days, 14, (ref.pol).routing_window_days))
), cap AS (
    -- capacity per unit and horizon day (latest valid_from <= that day)
    SELECT c.unit, h.d, c.staffed_beds, c.surge_beds
      FROM horizon h, ref,
           LATERAL (SELECT DISTINCT ON (ic.unit) ic.unit, ic.staffed_beds, ic.surge_beds
                      FROM @extschema@.icu_capacity ic
                     WHERE ic.valid_from <= ref.ref_date + h.d
                     ORDER BY ic.unit, ic.valid_from DESC) c
), units AS (
    SELECT DISTINCT c.unit FROM cap c
    UNION
    SELECT DISTINCT t.ward FROM today t WHERE t.unit_kind = 'icu'
), beds_w AS (
    -- staffed-bed share of each unit on day 0 (equal shares without data):
    -- the routing of last resort
    SELECT u.unit,
           CASE WHEN pg_catalog.sum(coalesce(c.staffed_beds, 0)) OVER () > 0
                THEN coalesce(c.staffed_beds, 0)::float8
                     / pg_catalog.sum(coalesce(c.staffed_beds, 0)) OVER ()
                ELSE 1.0 / pg_catalog.count(*) OVER () END AS w
      FROM units u
      LEFT JOIN cap c ON c.unit = u.unit AND c.d = 0
), routing_hist AS (
    -- where recent ICU patients went: the first ICU unit of every episode
    -- begun in the routing window, with the non-ICU unit the patient came
    -- from (the latest location stay begun before the episode)
    SELECT e.first_unit AS unit,
           (SELECT s.unit FROM @extschema@.location_stay s
             WHERE s.admission_id = e.admission_id
               AND s.unit_kind IS DISTINCT FROM 'icu'
               AND s.started_at < e.started_at
             ORDER BY s.started_at DESC LIMIT 1) AS from_unit
      FROM episodes_recent e
      CROSS JOIN ref
     WHERE e.started_at > ref.t - pg_catalog.make_interval(days => (ref.pol).routing_window_days)
       AND e.first_unit IN (SELECT u.unit FROM units u)
), weights AS (
    -- hospital-wide routing (new arrivals, and ward patients of a unit
    -- without history): episodes per first unit, smoothed towards the
    -- staffed-bed shares with the weight of 5 episodes,
    --     w_u = (n_u + 5 b_u) / (n + 5)
    -- so no history gives the staffed-bed shares and a long history the
    -- observed ones
    SELECT b.unit,
           ((coalesce(h.n, 0) + 5.0 * b.w) / (tot.n + 5.0))::float8 AS w
      FROM beds_w b
      LEFT JOIN (SELECT r.unit, pg_catalog.count(*) AS n FROM routing_hist r GROUP BY r.unit) h
        ON h.unit = b.unit
      CROSS JOIN (SELECT pg_catalog.count(*) AS n FROM routing_hist) tot
), ward_weights AS (
    -- routing of patients on one non-ICU unit: that unit's episodes per
    -- first ICU unit, smoothed towards the hospital-wide routing with the
    -- weight of 5 episodes
    SELECT f.from_unit, w.unit,
           ((coalesce(h.n, 0) + 5.0 * w.w) / (f.n + 5.0))::float8 AS w
      FROM (SELECT r.from_unit, pg_catalog.count(*) AS n
              FROM routing_hist r WHERE r.from_unit IS NOT NULL GROUP BY r.from_unit) f
      CROSS JOIN weights w
      LEFT JOIN (SELECT r.from_unit, r.unit, pg_catalog.count(*) AS n
                   FROM routing_hist r GROUP BY r.from_unit, r.unit) h
        ON h.from_unit = f.from_unit AND h.unit = w.unit
), icu_start AS MATERIALIZED (
    -- patients in an ICU: the start of the current ICU episode and, with
    -- capacity_policy.stay_at_episode_start, the stay model's location as of
    -- that start (the panel of the labs resulted by then, the hours since
    -- hospital admission then: the inputs the model was trained on), so that
    -- S(s + d) / S(s) conditions one stay distribution on the s days spent;
    -- else, or without an episode start, today's location
    SELECT t.admission_id, e.started_at,
           CASE WHEN (ref.pol).stay_at_episode_start AND e.started_at IS NOT NULL
                     AND t.stay_model IS NOT NULL
                THEN coalesce((@extschema@.length_of_stay(
                         (SELECT @extschema@.lab_panel(c.admission_id, c.feature, c.value, c.resulted_at,
                                                       e.started_at)
                            FROM @extschema@.lab_canonical c
                           WHERE c.admission_id = t.admission_id AND c.resulted_at <= e.started_at),
                         a.age_years::float8, a.sex::text,
                         (pg_catalog.date_part('epoch', e.started_at - a.admitted_at) / 3600.0)::float8,
                         'icu', t.stay_model, t.stay_version)).location_days,
                     t.stay_location_days)
                ELSE t.stay_location_days END AS stay_location_days
      FROM today t
      CROSS JOIN ref
      JOIN @extschema@.admission a ON a.admission_id = t.admission_id
      LEFT JOIN LATERAL (
            SELECT ep.started_at FROM @extschema@.icu_episode ep
             WHERE ep.admission_id = t.admission_id
               AND ep.started_at <= ref.t
             ORDER BY ep.started_at DESC LIMIT 1) e ON true
     WHERE t.unit_kind = 'icu'
), icu_now AS (
    SELECT t.admission_id, t.ward AS unit, t.stay_model, t.stay_version, st.stay_location_days,
           coalesce(pg_catalog.date_part('epoch', ref.t - st.started_at) / 86400.0, 0) AS spent
      FROM today t
      CROSS JOIN ref
      JOIN icu_start st ON st.admission_id = t.admission_id
), icu_p AS (
    -- remaining-stay probabilities S(s + d) / S(s)
    SELECT i.admission_id, i.unit, h.d,
           CASE WHEN h.d = 0 THEN 1.0::float8
                WHEN curve.s[1] IS NULL THEN NULL
                WHEN curve.s[1] <= 0 THEN 0.0::float8
                ELSE least(1.0, curve.s[h.d + 1] / curve.s[1]) END AS p
      FROM icu_now i
      CROSS JOIN ref
      CROSS JOIN LATERAL (
            SELECT CASE WHEN i.stay_model IS NOT NULL THEN
                   @extschema@.stay_survival_curve(i.stay_location_days,
                       ARRAY(SELECT i.spent + g FROM pg_catalog.generate_series(0, 14) g ORDER BY g),
                       i.stay_model, i.stay_version) END AS s) curve
      CROSS JOIN horizon h
), s0 AS (
    -- stay survival from the start of an ICU stay, at x = 0.5, 1.5, ..., 13.5
    -- (a patient in an ICU now with the location as of the episode start,
    -- as in icu_now: the curve enters the mean curve Sbar of the arrivals)
    SELECT t.admission_id, t.ward, t.unit_kind, t.risk, t.r1, t.h1, t.r2, t.h2,
           CASE WHEN t.stay_model IS NOT NULL THEN
                @extschema@.stay_survival_curve(coalesce(st.stay_location_days, t.stay_location_days),
                    ARRAY(SELECT (g + 0.5)::float8 FROM pg_catalog.generate_series(0, 13) g ORDER BY g),
                    t.stay_model, t.stay_version) END AS s
      FROM today t
      LEFT JOIN icu_start st ON st.admission_id = t.admission_id
), ward_p AS (
    -- nf.u[x + 1] = P(no ICU admission by day x), x = 0..14
    SELECT w.admission_id, w.ward, h.d,
           (SELECT coalesce(pg_catalog.sum((nf.u[k + 1] - nf.u[k + 2]) * w.s[h.d - k]), 0)
              FROM pg_catalog.generate_series(0, h.d - 1) k)::float8 AS p
      FROM s0 w
      CROSS JOIN LATERAL (
            SELECT ARRAY(SELECT CASE WHEN w.r2 IS NULL OR x <= w.h1
                                         THEN (1 - w.r1) ^ (x / w.h1)
                                     WHEN w.r1 >= 1 THEN 0.0::float8
                                     ELSE (1 - w.r1)
                                          * ((1 - greatest(w.r1, w.r2)) / (1 - w.r1))
                                            ^ ((x - w.h1) / (w.h2 - w.h1)) END
                           FROM pg_catalog.generate_series(0, 14) x ORDER BY x) AS u) nf
      CROSS JOIN horizon h
     WHERE w.unit_kind IS DISTINCT FROM 'icu'
       AND w.risk IS NOT NULL
), arrival_history AS (
    -- ICU episodes begun in the arrival window, with their delay from
    -- hospital admission in days
    SELECT greatest(0, pg_catalog.date_part('epoch', ep.started_at - a.admitted_at) / 86400.0) AS delay
      FROM ref
      JOIN episodes_recent ep
        ON ep.started_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_window_days)
      JOIN @extschema@.admission a ON a.admission_id = ep.admission_id
), trend AS (
    -- hospital admissions per day, last arrival_trend_days vs the window
    SELECT CASE WHEN (ref.pol).arrival_trend_days = 0 OR adm.in_window = 0 THEN 1.0::float8
                ELSE least((ref.pol).arrival_trend_cap,
                           greatest(1.0 / (ref.pol).arrival_trend_cap,
                                    (adm.recent::float8 / (ref.pol).arrival_trend_days)
                                    / (adm.in_window::float8 / (ref.pol).arrival_window_days)))
                END AS f
      FROM ref
      CROSS JOIN LATERAL (
            SELECT pg_catalog.count(*) FILTER (
                       WHERE a.admitted_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_trend_days))
                       AS recent,
                   pg_catalog.count(*) AS in_window
              FROM @extschema@.admission a
             WHERE a.admitted_at <= ref.t
               AND a.admitted_at > ref.t - pg_catalog.make_interval(days => (ref.pol).arrival_window_days)) adm
), growth AS (
    -- growth of the ICU inflow: Poisson log-linear fit to the ICU-episode
    -- starts of the last 14 days (whole weeks: the weekday cycle cancels),
    -- shrunk toward no growth by its own uncertainty,
    --     r_s = r * max(0, 1 - se^2 / r^2)
    -- (no growth at all when |r| <= se); the shrunk slope has sd f * se.
    SELECT g.rate, g.rate_se,
           CASE WHEN NOT (ref.pol).inflow_trend OR g.rate_se IS NULL OR g.rate = 0 THEN 0.0::float8
                ELSE greatest(0.0, 1.0 - (g.rate_se / g.rate) ^ 2) END AS shrink,
           (SELECT pg_catalog.count(*) FROM arrival_history)::float8 AS n_window
      FROM ref
      CROSS JOIN LATERAL @extschema@.inflow_growth(ARRAY(
            SELECT pg_catalog.count(e.started_at)::float8
              FROM pg_catalog.generate_series(13, 0, -1) AS j
              LEFT JOIN episodes_recent e
                ON e.started_at > ref.t - pg_catalog.make_interval(days => j + 1)
               AND e.started_at <= ref.t - pg_catalog.make_interval(days => j)
             GROUP BY j ORDER BY j DESC)) g
), growth_s AS (
    SELECT g.*, g.rate * g.shrink AS rate_s, g.rate_se * g.shrink AS rate_s_sd FROM growth g
), entries AS (
    -- expected ICU entries during forecast day k of patients admitted after
    -- t: an episode of the window with delay x from hospital admission
    -- stands for admissions at t + u entering during day k, u in
    -- [max(0, k - x), max(0, k + 1 - x)); under growth each counts with the
    -- damped, capped multiplier m(u) at the middle of that interval,
    --     m(u) = exp(r_s * (W/2 + tau * (1 - exp(-u / tau))))
    -- within [1/cap, cap]: W/2 moves the window's mean rate to t, tau
    -- (inflow_trend_damping_days) lets the growth fade.
    SELECT k,
           (trend.f
            * coalesce((SELECT pg_catalog.sum(
                            least(1.0, greatest(0.0, k + 1 - ah.delay))
                            * least((ref.pol).arrival_trend_cap,
                                    greatest(1.0 / (ref.pol).arrival_trend_cap,
                                             pg_catalog.exp(gs.rate_s
                                                 * ((ref.pol).arrival_window_days / 2.0
                                                    + (ref.pol).inflow_trend_damping_days
                                                      * (1.0 - pg_catalog.exp(
                                                            -((greatest(0.0, k - ah.delay)
                                                               + greatest(0.0, k + 1 - ah.delay)) / 2.0)
                                                            / (ref.pol).inflow_trend_damping_days)))))))
                          FROM arrival_history ah), 0)
            / (ref.pol).arrival_window_days)::float8 AS e
      FROM pg_catalog.generate_series(0, 13) AS k, trend, ref, growth_s gs
), sbar AS (
    SELECT x.i, pg_catalog.avg(x.v) AS v
      FROM s0, LATERAL pg_catalog.unnest(s0.s) WITH ORDINALITY AS x(v, i)
     GROUP BY x.i
), arrivals_d AS (
    -- mean of the Poisson count of those patients in the ICU at t + d, and
    -- their expected ICU entries during the day before t + d
    SELECT h.d,
           coalesce((SELECT pg_catalog.sum(en.e * sb.v)
                       FROM entries en JOIN sbar sb ON sb.i = h.d - en.k
                      WHERE en.k < h.d), 0)::float8 AS m,
           coalesce((SELECT en.e FROM entries en WHERE en.k = h.d - 1), 0)::float8 AS per_day,
           -- gamma shape of the rate multiplier shared by all arrivals: the
           -- relative variance of the estimated rate, from the window's count
           -- (1/N) and the slope's sd at the mean entry time d/2,
           --     v_d = 1/N + (f se (W/2 + tau (1 - exp(-d / (2 tau)))))^2
           CASE WHEN (ref.pol).inflow_overdispersion AND gs.n_window > 0 THEN
                (1.0 / (1.0 / gs.n_window
                        + (coalesce(gs.rate_s_sd, 0)
                           * ((ref.pol).arrival_window_days / 2.0
                              + (ref.pol).inflow_trend_damping_days
                                * (1.0 - pg_catalog.exp(-h.d / (2.0 * (ref.pol).inflow_trend_damping_days))))) ^ 2))
                END::float8 AS shape
      FROM horizon h, ref, growth_s gs
), contrib AS (
    -- (unit, d, p) for every patient and unit; src: in the ICU now or not
    SELECT 'icu'::text AS src, ip.unit, ip.d, ip.p FROM icu_p ip
    UNION ALL
    SELECT 'ward'::text, wt.unit, wp.d, wp.p * coalesce(ww.w, wt.w)
      FROM ward_p wp
      CROSS JOIN weights wt
      LEFT JOIN ward_weights ww ON ww.from_unit = wp.ward AND ww.unit = wt.unit
), per_unit AS (
    SELECT u.unit, h.d, false AS is_total,
           @extschema@.bed_demand_add_arrivals(
               coalesce((SELECT @extschema@.bed_demand(c.p) FROM contrib c
                          WHERE c.unit = u.unit AND c.d = h.d),
                        @extschema@.bed_demand_poisson(0)),
               coalesce(ad.m * wt.w, 0), ad.shape) AS demand,
           (SELECT pg_catalog.count(*) FROM icu_now i WHERE i.unit = u.unit)::integer AS occupied_now,
           c.staffed_beds, c.surge_beds, ad.per_day AS arrivals_per_day,
           cm.icu_mean, cm.icu_var, cm.ward_mean, cm.ward_var,
           coalesce(ad.m * wt.w, 0) AS arrivals_mean,
           coalesce(ad.m * wt.w + CASE WHEN ad.shape IS NULL THEN 0 ELSE (ad.m * wt.w) ^ 2 / ad.shape END, 0)
               AS arrivals_var,
           ad.shape AS arrivals_shape
      FROM units u
      CROSS JOIN horizon h
      JOIN arrivals_d ad ON ad.d = h.d
      LEFT JOIN weights wt ON wt.unit = u.unit
      LEFT JOIN cap c ON c.unit = u.unit AND c.d = h.d
      CROSS JOIN LATERAL (
            SELECT coalesce(pg_catalog.sum(c2.p) FILTER (WHERE c2.src = 'icu'), 0)::float8 AS icu_mean,
                   coalesce(pg_catalog.sum(c2.p * (1 - c2.p)) FILTER (WHERE c2.src = 'icu'), 0)::float8 AS icu_var,
                   coalesce(pg_catalog.sum(c2.p) FILTER (WHERE c2.src = 'ward'), 0)::float8 AS ward_mean,
                   coalesce(pg_catalog.sum(c2.p * (1 - c2.p)) FILTER (WHERE c2.src = 'ward'), 0)::float8 AS ward_var
              FROM contrib c2 WHERE c2.unit = u.unit AND c2.d = h.d) cm
), total AS (
    SELECT 'All ICU units'::text AS unit, h.d, true AS is_total,
           @extschema@.bed_demand_add_arrivals(
               coalesce((SELECT @extschema@.bed_demand(x.p)
                           FROM (SELECT ip.p FROM icu_p ip WHERE ip.d = h.d
                                 UNION ALL
                                 SELECT wp.p FROM ward_p wp WHERE wp.d = h.d) x),
                        @extschema@.bed_demand_poisson(0)),
               ad.m, ad.shape) AS demand,
           (SELECT pg_catalog.count(*) FROM icu_now)::integer AS occupied_now,
           (SELECT pg_catalog.sum(c.staffed_beds) FROM cap c WHERE c.d = h.d)::integer AS staffed_beds,
           (SELECT pg_catalog.sum(c.surge_beds) FROM cap c WHERE c.d = h.d)::integer AS surge_beds,
           ad.per_day AS arrivals_per_day,
           cm.icu_mean, cm.icu_var, cm.ward_mean, cm.ward_var,
           ad.m AS arrivals_mean,
           ad.m + CASE WHEN ad.shape IS NULL THEN 0 ELSE ad.m ^ 2 / ad.shape END AS arrivals_var,
           ad.shape AS arrivals_shape
      FROM horizon h
      JOIN arrivals_d ad ON ad.d = h.d
      CROSS JOIN LATERAL (
            SELECT coalesce(pg_catalog.sum(x.p) FILTER (WHERE x.src = 'icu'), 0)::float8 AS icu_mean,
                   coalesce(pg_catalog.sum(x.p * (1 - x.p)) FILTER (WHERE x.src = 'icu'), 0)::float8 AS icu_var,
                   coalesce(pg_catalog.sum(x.p) FILTER (WHERE x.src = 'ward'), 0)::float8 AS ward_mean,
                   coalesce(pg_catalog.sum(x.p * (1 - x.p)) FILTER (WHERE x.src = 'ward'), 0)::float8 AS ward_var
              FROM (SELECT 'icu'::text AS src, ip.p FROM icu_p ip WHERE ip.d = h.d
                    UNION ALL
                    SELECT 'ward', wp.p FROM ward_p wp WHERE wp.d = h.d) x) cm
), uncalibrated AS (
    SELECT * FROM per_unit UNION ALL SELECT * FROM total
), calib_hist AS MATERIALIZED (
    -- the graded past of the calibration (capacity_policy.calibration): the
    -- forecasts of record of the same kind (live, or replay) whose moment
    -- lies in the window, with the mean and variance of the forecast as it
    -- was computed, before its calibration (the sums of its components)
    SELECT f.unit, f.is_total, f.horizon_day, f.reference_date, f.forecast_at,
           f.icu_mean + f.ward_mean + f.arrivals_mean AS m,
           f.icu_var + f.ward_var + f.arrivals_var AS v
      FROM ref
      JOIN @extschema@.forecast_log f
        ON (ref.pol).calibration
       AND f.of_record
       AND f.horizon_day >= 1
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
       AND f.forecast_at <= ref.t
       AND f.forecast_at > ref.t - pg_catalog.make_interval(days => (ref.pol).calibration_window_days)
), calib_census AS MATERIALIZED (
    -- the census those forecasts met (the grading rule, icu_census)
    SELECT c.at, c.unit, c.patients
      FROM @extschema@.icu_census(ARRAY(SELECT DISTINCT h.forecast_at FROM calib_hist h)) c
), calib AS (
    -- per unit and horizon: n graded forecasts, the mean of their squared
    -- standardised errors z^2 = (y - m)^2 / v (each held at 100, so one
    -- wild day cannot set the factor alone), and the number of independent
    -- errors: daily h-day forecasts overlap, so about one per h days of
    -- reference days spanned, n_eff = min(n, span / h + 1)
    SELECT h.unit, h.horizon_day,
           pg_catalog.count(*)::integer AS n,
           least(pg_catalog.count(*)::float8,
                 (pg_catalog.max(h.reference_date) - pg_catalog.min(h.reference_date))::float8
                     / h.horizon_day + 1) AS n_eff,
           pg_catalog.avg(least(100.0::float8,
                                (CASE WHEN h.is_total THEN ct.patients ELSE coalesce(c.patients, 0) END
                                 - h.m) ^ 2 / h.v)) AS mean_sq_z
      FROM calib_hist h
      LEFT JOIN calib_census c ON c.at = h.forecast_at AND c.unit = h.unit AND NOT h.is_total
      LEFT JOIN (SELECT cc.at, pg_catalog.sum(cc.patients)::integer AS patients
                   FROM calib_census cc GROUP BY cc.at) ct
        ON ct.at = h.forecast_at AND h.is_total
     WHERE h.v > 0
     GROUP BY h.unit, h.horizon_day
), calib_rule AS (
    -- the factor of every row: off; day 0 (the census now, not a forecast);
    -- cold start (fewer than calibration_min_forecasts graded forecasts:
    -- factor 1, uncalibrated); else bed_demand_calibration_factor
    SELECT r.unit, r.d,
           CASE WHEN NOT (ref.pol).calibration THEN 'off'
                WHEN r.d = 0 THEN 'census now'
                WHEN coalesce(k.n, 0) < (ref.pol).calibration_min_forecasts THEN 'cold start'
                ELSE 'calibrated' END AS status,
           k.n, k.n_eff, k.mean_sq_z,
           -- the learnt factor within [calibration_min_factor, 5], and at
           -- most calibration_max_factor_long from 7 days on
           greatest((ref.pol).calibration_min_factor,
                    least(CASE WHEN r.d >= 7 THEN (ref.pol).calibration_max_factor_long ELSE 5 END,
                          @extschema@.bed_demand_calibration_factor(k.mean_sq_z, k.n_eff)))::float8 AS factor
      FROM uncalibrated r
      CROSS JOIN ref
      LEFT JOIN calib k ON k.unit = r.unit AND k.horizon_day = r.d
), all_rows AS (
    -- the forecast as published: every distribution recalibrated before
    -- anything is read from it
    SELECT r.unit, r.d, r.is_total,
           CASE WHEN cr.status = 'calibrated'
                THEN @extschema@.bed_demand_widen(r.demand, cr.factor)
                ELSE r.demand END AS demand,
           r.occupied_now, r.staffed_beds, r.surge_beds, r.arrivals_per_day,
           r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
           r.arrivals_mean, r.arrivals_var, r.arrivals_shape,
           CASE WHEN cr.status = 'off' THEN NULL
                WHEN cr.status = 'calibrated' THEN cr.factor
                ELSE 1.0::float8 END AS calibration_factor,
           CASE WHEN cr.status <> 'off' THEN coalesce(cr.n, 0) END AS calibration_forecasts,
           CASE WHEN cr.status <> 'off' THEN coalesce(cr.n_eff, 0) END AS calibration_effective_forecasts,
           cr.status AS calibration_status
      FROM uncalibrated r
      JOIN calib_rule cr ON cr.unit = r.unit AND cr.d = r.d
), scored AS (
    SELECT r.unit, r.d, r.staffed_beds,
           CASE WHEN r.staffed_beds IS NOT NULL THEN
                @extschema@.bed_demand_prob_exceeds(r.demand, r.staffed_beds) END AS p_over,
           @extschema@.bed_demand_quantile(r.demand, 0.95) AS q95
      FROM all_rows r
), unit_rule AS (
    -- the action rule reads the next action_lookahead_days days of a unit:
    -- the highest P(demand > staffed) on days 1..L and the fewest spare
    -- staffed beds at the P95 on days 0..L (day 0 is the census now)
    SELECT s.unit,
           pg_catalog.bool_and(s.staffed_beds IS NULL) AS no_capacity,
           pg_catalog.max(s.p_over) FILTER (WHERE s.d >= 1) AS p_up,
           pg_catalog.min(s.d) FILTER (WHERE s.d >= 1 AND s.p_over >= (ref.pol).scale_up_probability) AS d_up,
           pg_catalog.min(s.staffed_beds - s.q95) AS spare
      FROM scored s, ref
     WHERE s.d <= (ref.pol).action_lookahead_days
     GROUP BY s.unit
), prev AS (
    -- the action of the unit's latest earlier forecast (the log; live and
    -- replay apart), if made within the last two days
    SELECT DISTINCT ON (f.unit) f.unit, f.recommended_action AS action
      FROM ref
      JOIN @extschema@.forecast_log f
        ON f.horizon_day = 0
       AND f.reference_time < ref.t
       AND f.reference_time >= ref.t - pg_catalog.make_interval(days => 2)
       AND f.is_replay = (ref.t IS DISTINCT FROM pg_catalog.now())
     ORDER BY f.unit, f.reference_time DESC, f.run_id DESC
), unit_action AS (
    -- enter 'scale up' at P >= scale_up_probability, stay until it falls
    -- below half of that; enter 'scale down' with scale_down_spare_beds
    -- spare on every day, stay while one bed fewer is spare
    SELECT u.unit,
           CASE WHEN u.no_capacity THEN 'no capacity data'
                WHEN u.p_up >= (ref.pol).scale_up_probability THEN 'scale up'
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale up'
                     AND u.p_up >= (ref.pol).scale_up_probability / 2 THEN 'scale up'
                WHEN u.spare >= (ref.pol).scale_down_spare_beds THEN 'scale down'
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale down'
                     AND u.spare >= (ref.pol).scale_down_spare_beds - 1 THEN 'scale down'
                ELSE 'hold' END AS action,
           CASE WHEN u.no_capacity THEN 'no staffed beds known for the next days'
                WHEN u.p_up >= (ref.pol).scale_up_probability THEN
                     pg_catalog.format('P(demand > staffed beds) reaches the threshold %s on day %s (highest %s within %s days)',
                                       (ref.pol).scale_up_probability, u.d_up,
                                       pg_catalog.round(u.p_up::numeric, 2), (ref.pol).action_lookahead_days)
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale up'
                     AND u.p_up >= (ref.pol).scale_up_probability / 2 THEN
                     pg_catalog.format('still scaled up: P(demand > staffed beds) %s within %s days, above half the threshold',
                                       pg_catalog.round(u.p_up::numeric, 2), (ref.pol).action_lookahead_days)
                WHEN u.spare >= (ref.pol).scale_down_spare_beds THEN
                     pg_catalog.format('at least %s staffed beds spare at the P95 on each of the next %s days',
                                       u.spare, (ref.pol).action_lookahead_days)
                WHEN (ref.pol).action_hysteresis AND p.action = 'scale down'
                     AND u.spare >= (ref.pol).scale_down_spare_beds - 1 THEN
                     pg_catalog.format('still scaled down: %s staffed beds spare at the P95', u.spare)
                ELSE pg_catalog.format('P(demand > staffed beds) at most %s within %s days; fewer than %s beds spare',
                                       pg_catalog.round(coalesce(u.p_up, 0)::numeric, 2),
                                       (ref.pol).action_lookahead_days, (ref.pol).scale_down_spare_beds)
                END AS reason
      FROM unit_rule u
      CROSS JOIN ref
      LEFT JOIN prev p ON p.unit = u.unit
)
SELECT r.unit,
       r.d AS horizon_day,
       ref.ref_date + r.d AS forecast_date,
       ref.t + pg_catalog.make_interval(days => r.d) AS forecast_at,
       r.is_total,
       r.occupied_now,
       @extschema@.bed_demand_mean(r.demand) AS expected_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.10) AS p10_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.50) AS p50_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.90) AS p90_beds,
       @extschema@.bed_demand_quantile(r.demand, 0.95) AS p95_beds,
       r.staffed_beds,
       r.surge_beds,
       CASE WHEN r.staffed_beds IS NULL THEN NULL
            ELSE @extschema@.bed_demand_prob_exceeds(r.demand, r.staffed_beds) END AS prob_over_staffed,
       CASE WHEN r.surge_beds IS NULL THEN NULL
            ELSE @extschema@.bed_demand_prob_exceeds(r.demand, r.surge_beds) END AS prob_over_surge,
       coalesce(ua.action, 'no capacity data') AS recommended_action,
       ua.reason AS action_reason,
       r.arrivals_per_day,
       r.icu_mean, r.icu_var, r.ward_mean, r.ward_var,
       r.arrivals_mean, r.arrivals_var, r.arrivals_shape,
       (SELECT gs.rate_s FROM growth_s gs) AS inflow_growth_per_day,
       r.demand,
       ref.t AS reference_time,
       pg_catalog.now() AS refreshed_at,
       r.calibration_factor,
       r.calibration_forecasts,
       r.calibration_effective_forecasts,
       r.calibration_status
  FROM all_rows r
  CROSS JOIN ref
  LEFT JOIN unit_action ua ON ua.unit = r.unit
WITH NO DATA;

CREATE UNIQUE INDEX capacity_forecast_key ON @extschema@.capacity_forecast (unit, horizon_day);

COMMENT ON MATERIALIZED VIEW @extschema@.capacity_forecast IS
    'ICU occupancy now and the forecast ICU bed demand per ICU unit (and all units together) for horizon days 0 to 14 from the reference time, with its distribution, staffed and surge beds, the probability of running out, and a recommended action. Populated by CALL icu_predict.refresh(); read it through icu_bi.capacity_forecast. Method: see docs/views.md.';
COMMENT ON COLUMN @extschema@.capacity_forecast.unit IS 'ICU unit, or ''All ICU units'' for the hospital-wide row.';
COMMENT ON COLUMN @extschema@.capacity_forecast.horizon_day IS 'Days ahead of the reference time, 0 to 14 (0 = now).';
COMMENT ON COLUMN @extschema@.capacity_forecast.forecast_date IS 'Calendar day of the forecast moment (reference day + horizon_day).';
COMMENT ON COLUMN @extschema@.capacity_forecast.forecast_at IS 'The forecast moment: reference time + horizon_day days.';
COMMENT ON COLUMN @extschema@.capacity_forecast.is_total IS 'True for the hospital-wide row over all ICU units.';
COMMENT ON COLUMN @extschema@.capacity_forecast.occupied_now IS 'Patients in the unit at the reference time (today''s actual occupancy).';
COMMENT ON COLUMN @extschema@.capacity_forecast.expected_beds IS 'Expected number of occupied beds at forecast_at.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p10_beds IS '10th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p50_beds IS 'Median of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p90_beds IS '90th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.p95_beds IS '95th percentile of occupied beds.';
COMMENT ON COLUMN @extschema@.capacity_forecast.staffed_beds IS 'Staffed beds on forecast_date (icu_capacity); NULL when unknown.';
COMMENT ON COLUMN @extschema@.capacity_forecast.surge_beds IS 'Surge (maximum) beds on forecast_date (icu_capacity); NULL when unknown.';
COMMENT ON COLUMN @extschema@.capacity_forecast.prob_over_staffed IS 'P(demand > staffed beds).';
COMMENT ON COLUMN @extschema@.capacity_forecast.prob_over_surge IS 'P(demand > surge beds).';
COMMENT ON COLUMN @extschema@.capacity_forecast.recommended_action IS 'The unit''s recommended action, the same on every horizon row: ''scale up'' when P(demand > staffed beds) reaches capacity_policy.scale_up_probability on any of the next action_lookahead_days days (kept until it falls below half of that, with action_hysteresis), ''scale down'' when at least scale_down_spare_beds staffed beds are spare at the P95 on each of days 0 .. action_lookahead_days (kept while one bed fewer is spare), else ''hold''; ''no capacity data'' without staffed beds. The previous action comes from forecast_log (the unit''s latest earlier forecast within two days).';
COMMENT ON COLUMN @extschema@.capacity_forecast.action_reason IS 'Why: the figures the recommended action rests on, in words.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_per_day IS 'Expected ICU admissions, hospital-wide, during the day before forecast_at of patients not yet in hospital at the reference time (admitted later, reaching the ICU directly or through a ward); 0 on horizon day 0.';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_mean IS 'Component: expected beds at forecast_at of the patients in this ICU unit at the reference time (sum of their remaining-stay probabilities).';
COMMENT ON COLUMN @extschema@.capacity_forecast.icu_var IS 'Component: variance of that count (sum of p (1 - p)). The components describe the forecast as computed, before its calibration: their variances add up to the variance of demand only when calibration_factor is 1 or NULL.';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_mean IS 'Component: expected beds at forecast_at of the patients in hospital but not in an ICU at the reference time (their ICU-admission curve through their stay survival, routed to this unit).';
COMMENT ON COLUMN @extschema@.capacity_forecast.ward_var IS 'Component: variance of that count (sum of p (1 - p)).';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_mean IS 'Component: expected beds at forecast_at of patients not yet in hospital at the reference time.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_var IS 'Component: variance of that count: the mean for a Poisson inflow, mean + mean^2 / arrivals_shape for the negative binomial.';
COMMENT ON COLUMN @extschema@.capacity_forecast.arrivals_shape IS 'Gamma shape of the inflow rate''s uncertainty (negative-binomial inflow, capacity_policy.inflow_overdispersion); NULL: Poisson inflow.';
COMMENT ON COLUMN @extschema@.capacity_forecast.inflow_growth_per_day IS 'Growth of the ICU inflow used, per day on the log scale (the 14-day fit after shrinkage; 0 without capacity_policy.inflow_trend).';
COMMENT ON COLUMN @extschema@.capacity_forecast.demand IS 'The full bed-count distribution (bed_demand; use bed_demand_pmf(demand) for plots), after the calibration when capacity_policy.calibration is on; the quantiles, expected beds and probabilities are read from it.';
COMMENT ON COLUMN @extschema@.capacity_forecast.reference_time IS 'The reference time ("now") of the forecast.';
COMMENT ON COLUMN @extschema@.capacity_forecast.refreshed_at IS 'When the view was last refreshed.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_factor IS 'Factor by which the distribution was widened (> 1) or narrowed (< 1) around its mean, learnt from the graded forecasts of record of this unit and horizon (bed_demand_calibration_factor); 1 at day 0 and in the cold start; NULL when capacity_policy.calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_forecasts IS 'Graded past forecasts of record (this unit and horizon, in capacity_policy.calibration_window_days) the factor rests on; NULL when calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_effective_forecasts IS 'How many independent errors those are: daily h-day forecasts overlap, so min(forecasts, days spanned / h + 1); NULL when calibration is off.';
COMMENT ON COLUMN @extschema@.capacity_forecast.calibration_status IS '''calibrated''; ''cold start'' (fewer graded forecasts than capacity_policy.calibration_min_forecasts: factor 1, the forecast as computed); ''census now'' (day 0); ''off'' (capacity_policy.calibration false).';

-- ==== extension/sql/46_access.sql
-- Access: who may see and do what.
--
--   ward_access            database role -> wards it may see in icu_bi.
--   roles icu_bi_reader (Power BI, read-only) and icu_refresher (may run
--   refresh()).  Roles are cluster-wide: they are created when missing and
--   are left in place by DROP EXTENSION.
--
-- The grants follow the objects they open: refresh() in 48_refresh.sql, the
-- icu_bi views in 50_bi.sql.

-- ---------------------------------------------------------------------------
-- ward_access: which wards a database role sees in icu_bi
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.ward_access (
    role_name text NOT NULL,
    ward      text NOT NULL,
    CONSTRAINT ward_access_pkey PRIMARY KEY (role_name, ward),
    CONSTRAINT ward_access_role_name_not_empty CHECK (role_name <> ''),
    CONSTRAINT ward_access_ward_not_empty CHECK (ward <> '')
);
COMMENT ON TABLE @extschema@.ward_access IS
    'Ward-level filter of the icu_bi patient views: a user sees the patients on the wards mapped to any role it is a member of (directly or through other roles). Ward ''*'' means every ward. Users mapped to nothing see no patients; aggregate capacity views are not filtered.';
COMMENT ON COLUMN @extschema@.ward_access.role_name IS 'Database role name (a login role or a group role such as a ward team). A name that is no database role (e.g. a Power BI user principal name) filters nothing in the database; icu_bi.ward_access passes it on for Power BI''s own row-level security.';
COMMENT ON COLUMN @extschema@.ward_access.ward IS 'Ward or unit name as in location_stay.unit, or ''*'' for all wards.';

-- ---------------------------------------------------------------------------
-- roles
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'icu_bi_reader') THEN
        CREATE ROLE icu_bi_reader NOLOGIN;
        COMMENT ON ROLE icu_bi_reader IS
            'icu_predict: read-only access to the Power BI schema icu_bi, nothing else. Grant it to login roles and map them to wards in icu_predict.ward_access.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'icu_refresher') THEN
        CREATE ROLE icu_refresher NOLOGIN;
        COMMENT ON ROLE icu_refresher IS
            'icu_predict: may run CALL icu_predict.refresh() (e.g. from a pg_cron job); no access to patient tables.';
    END IF;
END
$$;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ward_access', '');

-- ---------------------------------------------------------------------------
-- The ward filter: SECURITY DEFINER set-returning functions
-- ---------------------------------------------------------------------------
-- The icu_bi patient views read through these functions, never the
-- materialized view itself.  A security_barrier view (or row-level
-- security) still lets the planner push leakproof comparisons (int8eq,
-- float8gt, texteq ...) below the ward filter, and EXPLAIN ANALYZE then
-- prints how many hidden rows matched: a login mapped to one ward could
-- bisect another ward's risks.  A SECURITY DEFINER function is never
-- inlined, so every qual of the caller is evaluated on the function's
-- output, after the filter; EXPLAIN shows a Function Scan with a constant
-- row estimate (ROWS) and the rows the caller may see.  Inside, CURRENT_USER
-- is the owner, so the filter reads SESSION_USER (the login, which SET ROLE
-- does not change) and its role memberships.
CREATE FUNCTION @extschema@.ward_patient_rows()
RETURNS SETOF @extschema@.patient_status
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 1000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ps.*
      FROM @extschema@.patient_status ps
     WHERE EXISTS (
            SELECT 1
              FROM @extschema@.ward_access a
              JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name
             WHERE (a.ward = ps.ward OR a.ward = '*')
               AND pg_catalog.pg_has_role(SESSION_USER, r.oid, 'MEMBER'));
END;
COMMENT ON FUNCTION @extschema@.ward_patient_rows() IS
    'The patient_status rows the session''s login may see: wards mapped in ward_access to the login or to a role it is a member of (''*'' = every ward). SECURITY DEFINER and never inlined, so no qual of the caller reaches the hidden rows; filters on SESSION_USER. EXECUTE for icu_bi_reader (the icu_bi views call it).';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_rows() FROM PUBLIC;

CREATE FUNCTION @extschema@.ward_patient_labs()
RETURNS TABLE (admission_id bigint, patient_id text, day_date date, is_today boolean,
               as_of timestamptz, ward text, feature text, display_name text, unit text,
               last_value float8, trend_per_day float8, last_at timestamptz, n_results integer,
               reference_low float8, reference_high float8, out_of_range boolean,
               key_lab_slot integer)
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 10000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ps.admission_id, ps.patient_id, ps.day_date, ps.is_today, ps.as_of, ps.ward,
           v.feature, fl.display_name, fl.display_unit, v.last_value, v.trend_per_day,
           v.last_at, v.n_results, r.reference_low, r.reference_high,
           CASE WHEN v.last_value IS NULL OR (r.reference_low IS NULL AND r.reference_high IS NULL)
                THEN NULL
                ELSE v.last_value < coalesce(r.reference_low, '-Infinity'::float8)
                     OR v.last_value > coalesce(r.reference_high, 'Infinity'::float8) END,
           r.key_lab_slot
      FROM @extschema@.ward_patient_rows() ps
     CROSS JOIN LATERAL pg_catalog.unnest(@extschema@.lab_features(ps.panel)) AS f(feature)
     CROSS JOIN LATERAL (
            SELECT f.feature,
                   @extschema@.lab_value(ps.panel, f.feature, 'last') AS last_value,
                   @extschema@.lab_value(ps.panel, f.feature, 'trend') AS trend_per_day,
                   @extschema@.lab_last_at(ps.panel, f.feature) AS last_at,
                   @extschema@.lab_value(ps.panel, f.feature, 'count')::integer AS n_results) v
      LEFT JOIN @extschema@.feature_label fl ON fl.feature = v.feature
      LEFT JOIN @extschema@.ward_lab_list() r ON r.feature = v.feature;
END;
COMMENT ON FUNCTION @extschema@.ward_patient_labs() IS
    'Every feature of every lab panel of ward_patient_rows() (the rows the login may see): one row per admission, day and feature with display name and unit (feature_label), last value, trend, time of last, count, the reference range of ward_lab_list() and whether the last value lies outside it. Backs icu_bi.patient_labs.';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_labs() FROM PUBLIC;

CREATE FUNCTION @extschema@.ward_patient_reasons()
RETURNS TABLE (admission_id bigint, patient_id text, day_date date, is_today boolean,
               ward text, rank integer, input text, input_kind text, feature text, stat text,
               display_name text, value float8, unit text, trend_per_day float8,
               contribution float8, direction text, reason text, shown_in_reasons boolean,
               risk_model_version text, risk_model_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 10000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ps.admission_id, ps.patient_id, ps.day_date, ps.is_today, ps.ward,
           x.rank, x.input, x.input_kind, x.feature, x.stat, x.display_name, x.value, x.unit,
           x.trend_per_day, x.contribution, x.direction, x.reason, x.shown_in_reasons,
           ps.risk_model_version, ps.risk_model_id
      FROM @extschema@.ward_patient_rows() ps
     CROSS JOIN LATERAL @extschema@.risk_reasons(ps.panel,
                            @extschema@.admission_covariates(ps.admission_id, ps.as_of),
                            ps.hours_since_admission, ps.unit_kind, ps.risk_model, ps.risk_version, 10) x
     WHERE ps.patient_state IN ('pre_icu', 'ed');
END;
COMMENT ON FUNCTION @extschema@.ward_patient_reasons() IS
    'The top ten inputs behind the risk of every scored row (pre_icu, ed) of ward_patient_rows(), structured and in words (risk_reasons() with admission_covariates() as of the row, as patient_status scored it). Backs icu_bi.patient_reasons.';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_reasons() FROM PUBLIC;

-- The ward mapping for Power BI's own row-level security (a published
-- dataset reading through one gateway credential): one row per user and
-- ward.  Database roles in ward_access are expanded to the login roles that
-- are members of them; a role_name that is no database role (e.g. a Power
-- BI user principal name, jan.jansen@hospital.example) is passed on as it
-- is.  '*' is expanded to every unit of location_stay.  A login mapped to
-- '*' (the gateway's) sees every row; any other login only its own.
CREATE FUNCTION @extschema@.ward_access_map()
RETURNS TABLE (user_name text, is_database_login boolean, ward text, all_wards boolean,
               granted_through text)
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 100
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH grants AS (
        SELECT l.rolname::text AS user_name, true AS is_database_login, a.ward, a.role_name
          FROM @extschema@.ward_access a
          JOIN pg_catalog.pg_roles g ON g.rolname = a.role_name
          JOIN pg_catalog.pg_roles l ON l.rolcanlogin AND NOT l.rolsuper
                                    AND pg_catalog.pg_has_role(l.oid, g.oid, 'MEMBER')
        UNION
        SELECT a.role_name, false, a.ward, a.role_name
          FROM @extschema@.ward_access a
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles g WHERE g.rolname = a.role_name)
    ), units AS (
        SELECT DISTINCT s.unit FROM @extschema@.location_stay s
    ), expanded AS (
        SELECT g.user_name, g.is_database_login, g.ward, false AS all_wards, g.role_name
          FROM grants g WHERE g.ward <> '*'
        UNION
        SELECT g.user_name, g.is_database_login, u.unit, true, g.role_name
          FROM grants g CROSS JOIN units u WHERE g.ward = '*'
    ), me AS (
        SELECT EXISTS (SELECT 1 FROM grants g
                        WHERE g.is_database_login AND g.ward = '*'
                          AND g.user_name = SESSION_USER::text) AS sees_all
    )
    SELECT e.user_name, e.is_database_login, e.ward, e.all_wards, e.role_name
      FROM expanded e, me
     WHERE me.sees_all OR (e.is_database_login AND e.user_name = SESSION_USER::text)
     ORDER BY e.user_name, e.ward, e.role_name;
END;
COMMENT ON FUNCTION @extschema@.ward_access_map() IS
    'ward_access expanded for Power BI row-level security: one row per user (login role member of a mapped role, or a non-role name such as a user principal name) and ward, ''*'' expanded to every unit of location_stay. A login mapped to ''*'' sees every row, any other login only its own. Backs icu_bi.ward_access.';
REVOKE ALL ON FUNCTION @extschema@.ward_access_map() FROM PUBLIC;

-- ==== extension/sql/48_refresh.sql
-- refresh(): the one way to bring patient_status and capacity_forecast up
-- to date, for the owner, for a granted role (icu_refresher) and for pg_cron.
--
-- On PostgreSQL 15 only a materialized view's owner may refresh it, so the
-- procedure is SECURITY DEFINER (it runs as the extension's owner) with a
-- pinned search_path; every name in it is schema-qualified.  It refreshes in
-- dependency order (capacity_forecast reads patient_status), each view
-- plainly when it is not populated (after CREATE EXTENSION or pg_restore) and
-- CONCURRENTLY otherwise, so readers are never blocked once data exists.
-- Each run is logged to refresh_log, and its forecast to forecast_log
-- (44_forecast_log.sql: one row per unit and horizon day, with the forecast
-- of record decided and live rows past the retention deleted).  A failing
-- run leaves both views and forecast_log as they were (the refresh runs in a
-- subtransaction), logs the error and raises it as a WARNING, so that the log
-- row survives; check refresh_log (or icu_bi.refresh_status) for
-- succeeded = false.
--
-- The reference time is the wall clock.  A replay (icu_predict.reference_time
-- set) is the extension owner's policy decision: refresh() refuses it
-- (42501) for anyone else, so a granted role cannot rewind the dashboards,
-- and logs it with is_replay = true (icu_bi.refresh_status shows it).
-- run_by is the session user, which SET ROLE cannot change.  Open
-- admissions quarantined by the admission rule (22_integrity.sql) are
-- skipped by patient_status and counted here by reason.

-- ---------------------------------------------------------------------------
-- refresh_log
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.refresh_log (
    run_id             bigint      GENERATED BY DEFAULT AS IDENTITY,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz NOT NULL,
    succeeded          boolean     NOT NULL,
    reference_time     timestamptz,
    mode               text        NOT NULL,
    patient_status_rows    bigint,
    capacity_forecast_rows bigint,
    model_versions     text,
    error              text,
    run_by             text        NOT NULL,
    newest_data_at     timestamptz,
    newest_lab_at      timestamptz,
    data_lag_warning   text,
    is_replay          boolean     NOT NULL DEFAULT false,
    quarantined_admissions integer,
    quarantine         text,
    CONSTRAINT refresh_log_pkey PRIMARY KEY (run_id),
    CONSTRAINT refresh_log_mode_known_value CHECK (mode IN ('plain', 'concurrently')),
    CONSTRAINT refresh_log_error_iff_failed CHECK (succeeded = (error IS NULL))
);
CREATE INDEX refresh_log_started_idx ON @extschema@.refresh_log (started_at);
COMMENT ON TABLE @extschema@.refresh_log IS
    'One row per run of icu_predict.refresh(): when, as of which reference time, how (plain or concurrently), rows produced, the model versions used, and the error if it failed.';
COMMENT ON COLUMN @extschema@.refresh_log.run_id IS 'Run number.';
COMMENT ON COLUMN @extschema@.refresh_log.started_at IS 'Wall-clock start of the run.';
COMMENT ON COLUMN @extschema@.refresh_log.finished_at IS 'Wall-clock end of the run.';
COMMENT ON COLUMN @extschema@.refresh_log.succeeded IS 'True when every view was refreshed; false when the run failed and the views kept their previous contents.';
COMMENT ON COLUMN @extschema@.refresh_log.reference_time IS 'The reference time ("now") the views were computed for.';
COMMENT ON COLUMN @extschema@.refresh_log.mode IS '''plain'' when a view was empty (first run, or after pg_restore) and populated plainly, ''concurrently'' when readers were not blocked.';
COMMENT ON COLUMN @extschema@.refresh_log.patient_status_rows IS 'Rows in patient_status after the run.';
COMMENT ON COLUMN @extschema@.refresh_log.capacity_forecast_rows IS 'Rows in capacity_forecast after the run.';
COMMENT ON COLUMN @extschema@.refresh_log.model_versions IS 'The model versions that produced the rows (name version, separated by ''; '').';
COMMENT ON COLUMN @extschema@.refresh_log.error IS 'SQLSTATE and message of the failure; NULL on success.';
COMMENT ON COLUMN @extschema@.refresh_log.run_by IS 'Who ran the refresh: the session user (the login, or the pg_cron job''s user); SET ROLE does not change it.';
COMMENT ON COLUMN @extschema@.refresh_log.newest_data_at IS 'Newest data time at or before reference_time: the latest lab result, admission or location stay start (NULL without data).';
COMMENT ON COLUMN @extschema@.refresh_log.newest_lab_at IS 'Newest lab result time (lab_result.resulted_at) at or before reference_time.';
COMMENT ON COLUMN @extschema@.refresh_log.data_lag_warning IS 'Set when the data lags the reference time: no lab result in ward_policy.data_lag_lab_hours hours before it, or the newest data more than data_lag_max_hours older than it (default 24 each); NULL when current. The run still succeeds; icu_bi.refresh_status shows it.';
COMMENT ON COLUMN @extschema@.refresh_log.is_replay IS 'True when the run was a replay: its reference time (icu_predict.reference_time, which only the extension owner may set for a refresh) was not the time of the run.';
COMMENT ON COLUMN @extschema@.refresh_log.quarantined_admissions IS 'Open admissions the run skipped because their admission time is not usable (view admission_quarantine); 0 when none.';
COMMENT ON COLUMN @extschema@.refresh_log.quarantine IS 'The skipped admissions by reason (''reason: count'', separated by ''; ''); NULL when none.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_log_run_id_seq', '');

-- ---------------------------------------------------------------------------
-- refresh()
-- ---------------------------------------------------------------------------
CREATE PROCEDURE @extschema@.refresh()
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_started   timestamptz := pg_catalog.clock_timestamp();
    v_ref       timestamptz;
    v_mode      text := 'concurrently';
    v_view      text;
    v_ps_rows   bigint;
    v_cf_rows   bigint;
    v_models    text;
    v_state     text;
    v_msg       text;
    -- the caller: the session user (SET ROLE cannot change it)
    v_by        text := SESSION_USER::text;
    v_quarantined integer;
    v_quarantine  text;
    -- the run's number, taken first so that forecast_log rows can carry it
    v_run       bigint := pg_catalog.nextval('@extschema@.refresh_log_run_id_seq'::regclass);
    v_pol       @extschema@.capacity_policy;
    v_replay    boolean;
    v_risk_models text;
    v_stay_models text;
    v_wp        @extschema@.ward_policy;
    v_lab_at    timestamptz;
    v_data_at   timestamptz;
    v_lag       text;
BEGIN
    -- a reference time other than the wall clock (a replay) is the owner's
    -- decision only
    IF coalesce(pg_catalog.current_setting('icu_predict.reference_time', true), '') <> ''
       AND NOT pg_catalog.pg_has_role(SESSION_USER,
            (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'icu_predict'),
            'MEMBER') THEN
        RAISE EXCEPTION 'only the owner of icu_predict may refresh as of another time (icu_predict.reference_time = %)',
                pg_catalog.current_setting('icu_predict.reference_time', true)
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'RESET icu_predict.reference_time to refresh as of now; a replay is run by the extension owner and logged with is_replay = true.';
    END IF;
    BEGIN
        v_ref := @extschema@.reference_time();
        v_replay := v_ref IS DISTINCT FROM pg_catalog.now();
        FOREACH v_view IN ARRAY ARRAY['patient_status', 'capacity_forecast'] LOOP
            IF (SELECT c.relispopulated FROM pg_catalog.pg_class c
                 WHERE c.oid = pg_catalog.format('%I.%I', '@extschema@', v_view)::regclass) THEN
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I.%I',
                                          '@extschema@', v_view);
            ELSE
                v_mode := 'plain';
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %I.%I', '@extschema@', v_view);
            END IF;
        END LOOP;
        SELECT pg_catalog.count(*) INTO v_ps_rows FROM @extschema@.patient_status;
        SELECT pg_catalog.count(*) INTO v_cf_rows FROM @extschema@.capacity_forecast;
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version),
                               (ps.stay_model_version)) AS x(v)
         WHERE v IS NOT NULL;

        -- how current the data is: the newest lab result, and the newest
        -- data of any kind, at or before the reference time
        v_wp := @extschema@.ward_settings();
        SELECT pg_catalog.max(r.resulted_at) INTO v_lab_at
          FROM @extschema@.lab_result r WHERE r.resulted_at <= v_ref;
        SELECT pg_catalog.max(x.t) INTO v_data_at
          FROM (SELECT v_lab_at AS t
                UNION ALL
                SELECT pg_catalog.max(a.admitted_at) FROM @extschema@.admission a
                 WHERE a.admitted_at <= v_ref
                UNION ALL
                SELECT pg_catalog.max(s.started_at) FROM @extschema@.location_stay s
                 WHERE s.started_at <= v_ref) x;
        SELECT pg_catalog.string_agg(w, '; ') INTO v_lag
          FROM (VALUES
                (CASE WHEN v_lab_at IS NULL
                           OR v_lab_at < v_ref - pg_catalog.make_interval(secs => (v_wp).data_lag_lab_hours * 3600)
                      THEN pg_catalog.format('no lab result in the %s hours before the reference time %s (newest: %s)',
                               (v_wp).data_lag_lab_hours, v_ref, coalesce(v_lab_at::text, 'none')) END),
                (CASE WHEN v_data_at IS NULL
                           OR v_data_at < v_ref - pg_catalog.make_interval(secs => (v_wp).data_lag_max_hours * 3600)
                      THEN pg_catalog.format('the newest data (%s) is more than %s hours older than the reference time %s',
                               coalesce(v_data_at::text, 'none'), (v_wp).data_lag_max_hours, v_ref) END)) AS y(w)
         WHERE w IS NOT NULL;

        -- the forecast log: what this run forecast, per unit and horizon day
        v_pol := @extschema@.capacity_settings();
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_risk_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version)) AS x(v)
         WHERE ps.is_today AND v IS NOT NULL;
        SELECT pg_catalog.string_agg(DISTINCT ps.stay_model_version, '; ' ORDER BY ps.stay_model_version)
          INTO v_stay_models
          FROM @extschema@.patient_status ps
         WHERE ps.is_today AND ps.stay_model_version IS NOT NULL;
        INSERT INTO @extschema@.forecast_log
               (run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
                horizon_day, demand, expected_beds, variance_beds,
                p05_beds, p10_beds, p50_beds, p90_beds, p95_beds,
                occupied_now, census_now, census_mean_7d,
                staffed_beds, surge_beds, prob_over_staffed, prob_over_surge, recommended_action,
                arrivals_per_day, icu_mean, icu_var, ward_mean, ward_var, arrivals_mean, arrivals_var,
                policy, risk_model_version, stay_model_version,
                is_replay, of_record, logged_at,
                calibration_factor, calibration_forecasts, calibration_effective_forecasts,
                calibration_status)
        WITH census AS (
            -- the census at the reference time and at 1..7 days before it
            SELECT c.at, c.unit, c.patients
              FROM @extschema@.icu_census(ARRAY(
                       SELECT v_ref - pg_catalog.make_interval(days => j)
                         FROM pg_catalog.generate_series(0, 7) AS j)) c
        ), per_unit AS (
            SELECT c.unit,
                   pg_catalog.sum(c.patients) FILTER (WHERE c.at = v_ref)::integer AS now,
                   pg_catalog.avg(c.patients) FILTER (WHERE c.at < v_ref)::float8 AS mean_7d
              FROM census c GROUP BY c.unit
        ), total AS (
            SELECT pg_catalog.sum(c.patients) FILTER (WHERE c.at = v_ref)::integer AS now,
                   (pg_catalog.sum(c.patients) FILTER (WHERE c.at < v_ref) / 7.0)::float8 AS mean_7d
              FROM census c
        ), fc AS (
            SELECT cf.*, cf.forecast_date - cf.horizon_day AS reference_date,
                   CASE WHEN cf.is_total THEN t.now ELSE coalesce(pu.now, 0) END AS census_now,
                   CASE WHEN cf.is_total THEN t.mean_7d ELSE coalesce(pu.mean_7d, 0) END AS census_mean_7d
              FROM @extschema@.capacity_forecast cf
              CROSS JOIN total t
              LEFT JOIN per_unit pu ON pu.unit = cf.unit AND NOT cf.is_total
        )
        SELECT v_run, r.reference_time, r.reference_date, r.forecast_at, r.forecast_date, r.unit,
               r.is_total, r.horizon_day, r.demand, r.expected_beds,
               @extschema@.bed_demand_variance(r.demand),
               @extschema@.bed_demand_quantile(r.demand, 0.05),
               r.p10_beds, r.p50_beds, r.p90_beds, r.p95_beds,
               r.occupied_now, r.census_now, r.census_mean_7d,
               r.staffed_beds, r.surge_beds, r.prob_over_staffed, r.prob_over_surge,
               r.recommended_action, r.arrivals_per_day,
               r.icu_mean, r.icu_var, r.ward_mean, r.ward_var, r.arrivals_mean, r.arrivals_var,
               pg_catalog.to_jsonb(v_pol), v_risk_models, v_stay_models, v_replay,
               -- of record: the first run of the reference day at or after
               -- the policy's time of day, per unit and horizon (live and
               -- replay apart)
               pg_catalog.timezone(@extschema@.day_zone(), v_ref)::time >= (v_pol).forecast_of_record_after
               AND NOT EXISTS (
                    SELECT 1 FROM @extschema@.forecast_log f
                     WHERE f.of_record
                       AND f.unit = r.unit
                       AND f.reference_date = r.reference_date
                       AND f.horizon_day = r.horizon_day
                       AND f.is_replay = v_replay),
               pg_catalog.clock_timestamp(),
               r.calibration_factor, r.calibration_forecasts, r.calibration_effective_forecasts,
               r.calibration_status
          FROM fc r;

        -- retention of live rows (replay rows are kept)
        IF (v_pol).forecast_log_retention_days > 0 THEN
            DELETE FROM @extschema@.forecast_log f
             WHERE NOT f.is_replay
               AND f.reference_time < pg_catalog.now()
                                      - pg_catalog.make_interval(days => (v_pol).forecast_log_retention_days);
        END IF;

        -- the open admissions patient_status skipped, by reason
        SELECT pg_catalog.sum(q.n)::integer,
               pg_catalog.string_agg(q.reason || ': ' || q.n, '; ' ORDER BY q.reason)
          INTO v_quarantined, v_quarantine
          FROM (SELECT aq.reason, pg_catalog.count(*) AS n
                  FROM @extschema@.admission_quarantine aq GROUP BY aq.reason) q;
        v_quarantined := coalesce(v_quarantined, 0);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
        INSERT INTO @extschema@.refresh_log
               (run_id, started_at, finished_at, succeeded, reference_time, mode, error, run_by,
                is_replay)
        VALUES (v_run, v_started, pg_catalog.clock_timestamp(), false, v_ref, v_mode,
                v_state || ': ' || v_msg, v_by, coalesce(v_replay, true));
        RAISE WARNING 'icu_predict.refresh() failed, the views keep their previous contents: %', v_msg
            USING ERRCODE = v_state,
                  HINT = 'The failure is logged in icu_predict.refresh_log.';
        RETURN;
    END;
    INSERT INTO @extschema@.refresh_log
           (run_id, started_at, finished_at, succeeded, reference_time, mode,
            patient_status_rows, capacity_forecast_rows, model_versions, run_by,
            newest_data_at, newest_lab_at, data_lag_warning,
            is_replay, quarantined_admissions, quarantine)
    VALUES (v_run, v_started, pg_catalog.clock_timestamp(), true, v_ref, v_mode,
            v_ps_rows, v_cf_rows, v_models, v_by, v_data_at, v_lab_at, v_lag,
            v_replay, v_quarantined, v_quarantine);
    IF v_lag IS NOT NULL THEN
        -- in the server log (the run itself succeeded; refresh_log and
        -- icu_bi.refresh_status carry the warning for the dashboards)
        RAISE LOG 'icu_predict.refresh(): data lags: %', v_lag;
    END IF;
    IF v_quarantined > 0 THEN
        RAISE WARNING 'icu_predict.refresh() skipped % open admissions whose admission time is not usable (%)',
                v_quarantined, v_quarantine
            USING HINT = 'SELECT * FROM icu_predict.admission_quarantine lists them; correct admitted_at.';
    END IF;
END
$$;
COMMENT ON PROCEDURE @extschema@.refresh() IS
    'Refreshes patient_status then capacity_forecast as of icu_predict.reference_time() (default now; another time only for the extension owner, logged as a replay), skipping the open admissions of admission_quarantine (counted in refresh_log): plainly when a view is empty (first run, after pg_restore), CONCURRENTLY otherwise. Logs every run to refresh_log (with the newest data time and a data-lag warning, ward_policy) and its forecast to forecast_log (deleting live rows past capacity_policy.forecast_log_retention_days); on failure the views and forecast_log keep their contents and a WARNING is raised. Runs as the extension owner; EXECUTE is granted to icu_refresher.';

REVOKE ALL ON PROCEDURE @extschema@.refresh() FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.refresh() TO icu_refresher;
GRANT USAGE ON SCHEMA @extschema@ TO icu_refresher;

-- ==== extension/sql/49_guard.sql
-- The drop guard: DROP EXTENSION does not take the clinical data by surprise.
--
-- The clinical tables (admission, location_stay, lab_result, icu_capacity),
-- the registry, the mappings and the logs belong to the extension, so that
-- ALTER EXTENSION UPDATE can change them and pg_dump keeps their rows
-- (pg_extension_config_dump).  Belonging to it, they would go with a plain
-- DROP EXTENSION icu_predict, with every row.  The event trigger below
-- refuses that (SQLSTATE 55000) while any table pg_dump keeps for the
-- extension holds a row it would dump, unless the session sets
-- icu_predict.allow_drop_data = on.  It reads the statement before anything
-- is dropped (C: extension/src/common/integrity.c), and covers every
-- command that drops the extension by name: DROP EXTENSION icu_predict,
-- DROP EXTENSION <one icu_predict requires> CASCADE, DROP SCHEMA <its
-- schema> CASCADE and DROP OWNED BY <its owner>.  pg_restore --clean issues
-- DROP EXTENSION, so it needs the setting too (docs/integrity.md).

CREATE FUNCTION @extschema@.drop_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'icu_drop_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.drop_guard() IS
    'Event trigger function: refuses DROP EXTENSION icu_predict (and DROP SCHEMA of its schema CASCADE, DROP OWNED BY its owner, DROP EXTENSION ... CASCADE of an extension it requires) while its dumped tables hold rows, unless icu_predict.allow_drop_data is on (SQLSTATE 55000).';

CREATE EVENT TRIGGER icu_predict_drop_guard ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION @extschema@.drop_guard();
COMMENT ON EVENT TRIGGER icu_predict_drop_guard IS
    'Keeps DROP EXTENSION icu_predict (and the other commands that would drop it) from dropping tables that hold clinical data, unless icu_predict.allow_drop_data = on; see @extschema@.drop_guard().';

-- ==== extension/sql/50_bi.sql
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
           cf.calibration_status::text    AS calibration_status
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

-- ==== extension/sql/52_bi_patient_risk.sql
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

-- ==== extension/sql/60_omop.sql
-- OMOP CDM v5.4 adapter: a CDM schema on this server onto the canonical tables.
--
--   omop_location_map  which visit concepts are admissions, and which care
--                      sites / place-of-service / visit concepts are ICUs,
--                      wards, EDs (shipped rows plus the user's own)
--   omop_row           the key of every CDM row loaded: (cdm_table, cdm_id)
--                      -> the canonical row, with a hash of what was loaded
--   omop_load()        reads PERSON, VISIT_OCCURRENCE, VISIT_DETAIL,
--                      MEASUREMENT, CONDITION_OCCURRENCE, DEATH, CARE_SITE and
--                      CONCEPT of a schema; returns a report in which every
--                      source row is loaded, unchanged, skipped or rejected,
--                      with its reason
--   omop_apply()       internal: writes one staged CDM table
--
-- Mapping (docs/bring-your-own-data.md, "OMOP CDM v5.4"):
--   VISIT_OCCURRENCE (visit concept with an omop_location_map row) -> admission
--       (admission_id = visit_occurrence_id; PERSON gives sex and age; DEATH
--       or discharged_to_concept_id 4216643 'Patient died' gives died_in_hospital)
--   VISIT_DETAIL -> location_stay (unit: the care site's name; unit_kind by
--       omop_location_map: care_site_id, then place_of_service_concept_id of
--       the care site, then visit_detail_concept_id); a visit without
--       VISIT_DETAIL is one stay of the visit's own kind
--   MEASUREMENT -> lab_result (local_code: the LOINC code of a LOINC concept,
--       else vocabulary:code, else 'source:' || measurement_source_value;
--       unit: the UCUM code of unit_concept_id, else unit_source_value;
--       operator_concept_id < <= > >= -> a censored value_text such as '<5')
--       so that lab_row_status and lab_load_quality diagnose every row
--   CONDITION_OCCURRENCE with an ICD-10 code -> diagnosis (comorbidities)
--
-- Incremental: re-running loads only new or changed rows (by omop_row's hash)
-- and never duplicates; rows rejected before are tried again.
-- Table access is SQL; no C.

-- ---------------------------------------------------------------------------
-- omop_location_map
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.omop_location_map (
    match_on    text    NOT NULL,
    match_value bigint  NOT NULL,
    unit_kind   text    NOT NULL,
    note        text,
    builtin     boolean NOT NULL DEFAULT false,
    CONSTRAINT omop_location_map_pkey PRIMARY KEY (match_on, match_value),
    CONSTRAINT omop_location_map_match_on_known_value
        CHECK (match_on IN ('care_site_id', 'place_of_service_concept_id', 'visit_concept_id')),
    CONSTRAINT omop_location_map_unit_kind_known_value
        CHECK (unit_kind IN ('ward', 'icu', 'mc', 'ed', 'or', 'other'))
);
COMMENT ON TABLE @extschema@.omop_location_map IS
    'How omop_load() reads OMOP locations: a VISIT_OCCURRENCE is an admission when its visit_concept_id has a row here (match_on visit_concept_id); a VISIT_DETAIL''s unit_kind is that of its care_site_id, else of its care site''s place_of_service_concept_id, else of its visit_detail_concept_id, else other. Shipped rows (builtin) hold the standard Visit concepts; add a row per ICU care site (match_on care_site_id). Editing a shipped row makes it the user''s (builtin false), which pg_dump keeps.';
COMMENT ON COLUMN @extschema@.omop_location_map.match_on IS 'care_site_id, place_of_service_concept_id (of CARE_SITE) or visit_concept_id (VISIT_OCCURRENCE.visit_concept_id and VISIT_DETAIL.visit_detail_concept_id).';
COMMENT ON COLUMN @extschema@.omop_location_map.match_value IS 'The id or concept id matched.';
COMMENT ON COLUMN @extschema@.omop_location_map.unit_kind IS 'location_stay.unit_kind given to stays matched: ward, icu, mc, ed, or, other.';
COMMENT ON COLUMN @extschema@.omop_location_map.note IS 'Free text: what the row is (the concept name).';
COMMENT ON COLUMN @extschema@.omop_location_map.builtin IS 'True for a shipped row as shipped; pg_dump keeps the rows with builtin = false.';

INSERT INTO @extschema@.omop_location_map (match_on, match_value, unit_kind, note, builtin) VALUES
    ('visit_concept_id', 9201, 'ward', 'Inpatient Visit', true),
    ('visit_concept_id', 262, 'ward', 'Emergency Room and Inpatient Visit', true),
    ('visit_concept_id', 9203, 'ed', 'Emergency Room Visit', true),
    ('visit_concept_id', 32037, 'icu', 'Intensive Care', true),
    ('visit_concept_id', 581379, 'icu', 'Inpatient Critical Care Facility', true),
    ('visit_concept_id', 8717, 'ward', 'Inpatient Hospital', true),
    ('visit_concept_id', 8870, 'ed', 'Emergency Room - Hospital', true),
    ('place_of_service_concept_id', 32037, 'icu', 'Intensive Care', true),
    ('place_of_service_concept_id', 581379, 'icu', 'Inpatient Critical Care Facility', true),
    ('place_of_service_concept_id', 8870, 'ed', 'Emergency Room - Hospital', true),
    ('place_of_service_concept_id', 8717, 'ward', 'Inpatient Hospital', true);

-- A changed shipped row becomes the user's; a dumped row restored over the
-- shipped one (CREATE EXTENSION re-created it) takes its place.
CREATE FUNCTION @extschema@.omop_location_map_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.builtin THEN
            RAISE EXCEPTION 'omop_location_map (%, %): builtin rows are shipped by CREATE EXTENSION only',
                    NEW.match_on, NEW.match_value
                USING ERRCODE = 'insufficient_privilege', HINT = 'Leave builtin false for your own rows.';
        END IF;
        IF EXISTS (SELECT 1 FROM @extschema@.omop_location_map m
                    WHERE m.match_on = NEW.match_on AND m.match_value = NEW.match_value AND m.builtin) THEN
            UPDATE @extschema@.omop_location_map m
               SET unit_kind = NEW.unit_kind, note = NEW.note, builtin = false
             WHERE m.match_on = NEW.match_on AND m.match_value = NEW.match_value;
            RETURN NULL;
        END IF;
    ELSIF NEW.builtin AND NOT OLD.builtin THEN
        RAISE EXCEPTION 'omop_location_map (%, %): builtin rows are shipped by CREATE EXTENSION only',
                NEW.match_on, NEW.match_value
            USING ERRCODE = 'insufficient_privilege';
    ELSIF OLD.builtin AND NEW IS DISTINCT FROM OLD THEN
        NEW.builtin := false;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.omop_location_map_write() IS
    'Trigger: a changed shipped omop_location_map row becomes the user''s (builtin false, dumped); inserting a row with a shipped row''s key replaces that row (pg_restore); users cannot write builtin rows (42501).';
CREATE TRIGGER omop_location_map_write
    BEFORE INSERT OR UPDATE ON @extschema@.omop_location_map
    FOR EACH ROW EXECUTE FUNCTION @extschema@.omop_location_map_write();

-- ---------------------------------------------------------------------------
-- omop_row: how loaded CDM rows are keyed
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.omop_row (
    cdm_table  text        NOT NULL,
    cdm_id     bigint      NOT NULL,
    cdm_schema name        NOT NULL,
    target_id  bigint      NOT NULL,
    row_hash   text        NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT omop_row_pkey PRIMARY KEY (cdm_table, cdm_id),
    CONSTRAINT omop_row_cdm_table_known_value
        CHECK (cdm_table IN ('visit_occurrence', 'visit_detail', 'visit_occurrence_stay',
                             'measurement', 'condition_occurrence'))
);
CREATE INDEX omop_row_target_idx ON @extschema@.omop_row (cdm_table, target_id);
COMMENT ON TABLE @extschema@.omop_row IS
    'One row per CDM row omop_load() loaded: its table and id, the canonical row it became (admission_id for visit_occurrence, stay_id for visit_detail and visit_occurrence_stay (the one stay of a visit without VISIT_DETAIL), lab_result_id for measurement, diagnosis_id for condition_occurrence) and an md5 hash of the values loaded. A re-run inserts rows without a key, updates rows whose hash changed and leaves the others. Deleting a canonical row makes its key stale: the next run loads it again.';
COMMENT ON COLUMN @extschema@.omop_row.cdm_table IS 'visit_occurrence, visit_detail, visit_occurrence_stay, measurement or condition_occurrence.';
COMMENT ON COLUMN @extschema@.omop_row.cdm_id IS 'The CDM row''s id (visit_occurrence_id, visit_detail_id, measurement_id, condition_occurrence_id).';
COMMENT ON COLUMN @extschema@.omop_row.cdm_schema IS 'The schema it was last loaded from.';
COMMENT ON COLUMN @extschema@.omop_row.target_id IS 'The key of the canonical row.';
COMMENT ON COLUMN @extschema@.omop_row.row_hash IS 'md5 of the canonical values loaded; a change in the CDM row changes it.';
COMMENT ON COLUMN @extschema@.omop_row.loaded_at IS 'When it was last inserted or updated.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.omop_location_map', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.omop_row', '');

-- ---------------------------------------------------------------------------
-- omop_apply(): write one staged table
-- ---------------------------------------------------------------------------
-- stage: a temporary table with columns cdm_id, target_id, row_hash, action
-- ('insert', 'update', 'unchanged', 'skip'), reason (NULL = loadable).
-- ins and upd are statements with one %s where a row filter goes
-- ('AND s.cdm_id = $1'); they read the stage as s.  One statement for all
-- rows first; when a constraint refuses one, row by row, and each refused
-- row gets the constraint's message as its reason.
CREATE FUNCTION @extschema@.omop_apply(stage text, cdm_table text, cdm_schema name, ins text, upd text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    msg text;
    con text;
BEGIN
    BEGIN
        EXECUTE format(ins, '');
        EXECUTE format(upd, '');
    EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
        FOR r IN EXECUTE format('SELECT cdm_id, action FROM %I WHERE reason IS NULL AND action IN (''insert'', ''update'') ORDER BY cdm_id', stage) LOOP
            BEGIN
                IF r.action = 'insert' THEN
                    EXECUTE format(ins, 'AND s.cdm_id = $1') USING r.cdm_id;
                ELSE
                    EXECUTE format(upd, 'AND s.cdm_id = $1') USING r.cdm_id;
                END IF;
            EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
                GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, con = CONSTRAINT_NAME;
                EXECUTE format('UPDATE %I SET reason = $1 WHERE cdm_id = $2', stage)
                    USING coalesce(nullif(con, '') || ': ', '') || msg, r.cdm_id;
            END;
        END LOOP;
    END;
    EXECUTE format($q$
        INSERT INTO @extschema@.omop_row AS k (cdm_table, cdm_id, cdm_schema, target_id, row_hash)
        SELECT $1, s.cdm_id, $2, s.target_id, s.row_hash FROM %I s
         WHERE s.reason IS NULL AND s.action IN ('insert', 'update')
        ON CONFLICT (cdm_table, cdm_id) DO UPDATE
           SET cdm_schema = excluded.cdm_schema, target_id = excluded.target_id,
               row_hash = excluded.row_hash, loaded_at = pg_catalog.now()$q$, stage)
        USING cdm_table, cdm_schema;
    EXECUTE format($q$
        INSERT INTO pg_temp.omop_report (cdm_table, status, reason, n_rows)
        SELECT $1, CASE WHEN s.reason IS NOT NULL AND s.action <> 'skip' THEN 'rejected'
                        WHEN s.action = 'skip' THEN 'skipped'
                        WHEN s.action = 'insert' THEN 'inserted'
                        WHEN s.action = 'update' THEN 'updated' ELSE 'unchanged' END,
               s.reason, pg_catalog.count(*)
          FROM %I s GROUP BY 2, 3$q$, stage)
        USING cdm_table;
END
$$;
COMMENT ON FUNCTION @extschema@.omop_apply(text, text, name, text, text) IS
    'Internal to omop_load(): inserts and updates the staged rows of one CDM table (row by row when a constraint refuses one, which is then rejected with the constraint''s message), records their keys in omop_row and counts them in the report.';

-- ---------------------------------------------------------------------------
-- omop_load()
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.omop_load(
    cdm_schema    name,
    since         timestamptz DEFAULT NULL,
    time_zone     text        DEFAULT 'UTC',
    widen_visits  boolean     DEFAULT true,
    check_version boolean     DEFAULT true)
RETURNS TABLE (cdm_table text, status text, reason text, n_rows bigint)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    s name := omop_load.cdm_schema;
    missing text;
    ver text;
    tz text := omop_load.time_zone;
    stay_kind text;
BEGIN
    IF s IS NULL OR NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = s) THEN
        RAISE EXCEPTION 'CDM schema "%" does not exist', s
            USING ERRCODE = 'undefined_object',
                  HINT = 'Name the schema that holds the OMOP CDM v5.4 tables (person, visit_occurrence, ...).';
    END IF;
    SELECT string_agg(t, ', ' ORDER BY t) INTO missing
      FROM unnest(ARRAY['person', 'visit_occurrence', 'visit_detail', 'measurement', 'condition_occurrence',
                        'death', 'care_site', 'concept', 'cdm_source']) AS t
     WHERE to_regclass(format('%I.%I', s, t)) IS NULL;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'CDM schema "%" has no table %', s, missing
            USING ERRCODE = 'undefined_object',
                  HINT = 'omop_load() reads person, visit_occurrence, visit_detail, measurement, condition_occurrence, death, care_site, concept and cdm_source; create missing ones from the OHDSI v5.4 DDL (they may be empty).';
    END IF;
    IF tz IS NULL OR NOT EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = tz)
                     AND NOT EXISTS (SELECT 1 FROM pg_timezone_abbrevs z WHERE z.abbrev = tz) THEN
        RAISE EXCEPTION 'time_zone "%" is not a time zone', tz
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The zone the CDM''s timestamps are in, e.g. ''UTC'' or ''Europe/Amsterdam''.';
    END IF;
    EXECUTE format('SELECT string_agg(DISTINCT cdm_version, '', '') FROM %I.cdm_source', s) INTO ver;
    IF check_version AND (ver IS NULL OR ver !~ '^[vV]?5\.4([^0-9]|$)') THEN
        RAISE EXCEPTION 'CDM schema "%" is CDM version %, not 5.4', s, coalesce(ver, 'unknown (cdm_source is empty)')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'omop_load() reads OMOP CDM v5.4 (cdm_source.cdm_version ''5.4''); migrate the CDM, or pass check_version => false if its tables have the v5.4 columns.';
    END IF;

    IF pg_my_temp_schema() <> 0 THEN        -- what an earlier call in this session left
        DROP TABLE IF EXISTS pg_temp.omop_report, pg_temp.omop_detail_span, pg_temp.omop_visit,
            pg_temp.omop_stay, pg_temp.omop_stay_part, pg_temp.omop_meas, pg_temp.omop_cond;
    END IF;
    CREATE TEMP TABLE omop_report (cdm_table text, status text, reason text, n_rows bigint);

    -- keys whose canonical row is gone are stale: such rows load again
    DELETE FROM @extschema@.omop_row k WHERE k.cdm_table = 'visit_occurrence'
       AND NOT EXISTS (SELECT 1 FROM @extschema@.admission a WHERE a.admission_id = k.target_id);
    DELETE FROM @extschema@.omop_row k WHERE k.cdm_table IN ('visit_detail', 'visit_occurrence_stay')
       AND NOT EXISTS (SELECT 1 FROM @extschema@.location_stay x WHERE x.stay_id = k.target_id);
    DELETE FROM @extschema@.omop_row k WHERE k.cdm_table = 'measurement'
       AND NOT EXISTS (SELECT 1 FROM @extschema@.lab_result x WHERE x.lab_result_id = k.target_id);
    DELETE FROM @extschema@.omop_row k WHERE k.cdm_table = 'condition_occurrence'
       AND NOT EXISTS (SELECT 1 FROM @extschema@.diagnosis x WHERE x.diagnosis_id = k.target_id);

    -- the span of each visit's details (visits are widened to cover them)
    EXECUTE format($q$
        CREATE TEMP TABLE omop_detail_span AS
        SELECT d.visit_occurrence_id AS visit_id,
               min(coalesce(d.visit_detail_start_datetime, d.visit_detail_start_date::timestamp)) AS first_in,
               max(coalesce(d.visit_detail_end_datetime,
                            d.visit_detail_end_date::timestamp + interval '1 day' - interval '1 second')) AS last_out,
               bool_or(d.visit_detail_end_date IS NULL) AS open_detail
          FROM %I.visit_detail d GROUP BY 1$q$, s);

    -- VISIT_OCCURRENCE -> admission
    EXECUTE format($q$
        CREATE TEMP TABLE omop_visit AS
        WITH v AS (
            SELECT v.visit_occurrence_id AS cdm_id, v.person_id, v.visit_concept_id,
                   coalesce(v.visit_start_datetime, v.visit_start_date::timestamp) AS start_ts,
                   coalesce(v.visit_end_datetime,
                            v.visit_end_date::timestamp + interval '1 day' - interval '1 second') AS end_ts,
                   v.admitted_from_concept_id, v.discharged_to_concept_id,
                   p.person_id IS NOT NULL AS has_person, p.gender_concept_id,
                   coalesce(p.birth_datetime,
                            CASE WHEN p.year_of_birth BETWEEN 1 AND 9999 THEN
                                make_date(p.year_of_birth,
                                          CASE WHEN p.month_of_birth BETWEEN 1 AND 12 THEN p.month_of_birth ELSE 1 END, 1)
                                + (CASE WHEN p.month_of_birth BETWEEN 1 AND 12 AND p.day_of_birth BETWEEN 1 AND 31
                                        THEN p.day_of_birth - 1 ELSE 0 END) END) AS birth_ts,
                   (SELECT bool_or(d.death_date BETWEEN v.visit_start_date AND v.visit_end_date)
                      FROM %1$I.death d WHERE d.person_id = v.person_id) AS death_in_visit,
                   m.unit_kind IS NOT NULL AS is_admission,
                   (SELECT c.concept_name FROM %1$I.concept c WHERE c.concept_id = v.visit_concept_id) AS visit_name,
                   ds.first_in, ds.last_out, ds.open_detail
              FROM %1$I.visit_occurrence v
              LEFT JOIN %1$I.person p ON p.person_id = v.person_id
              LEFT JOIN @extschema@.omop_location_map m
                ON m.match_on = 'visit_concept_id' AND m.match_value = v.visit_concept_id
              LEFT JOIN omop_detail_span ds ON ds.visit_id = v.visit_occurrence_id
        )
        SELECT v.*,
               v.cdm_id AS target_id,
               (CASE WHEN $1 THEN least(v.start_ts, v.first_in) ELSE v.start_ts END) AT TIME ZONE $2 AS admitted_at,
               (CASE WHEN v.open_detail AND $1 THEN NULL
                     WHEN $1 THEN greatest(v.end_ts, v.last_out) ELSE v.end_ts END) AT TIME ZONE $2 AS discharged_at,
               date_part('year', age(v.start_ts, v.birth_ts))::integer AS age_raw,
               CASE v.gender_concept_id WHEN 8507 THEN 'male' WHEN 8532 THEN 'female'
                    WHEN 8521 THEN 'other' ELSE 'unknown' END AS sex,
               CASE WHEN v.visit_concept_id IN (262, 9203, 8870) OR v.admitted_from_concept_id = 8870 THEN 'emergency'
                    WHEN v.admitted_from_concept_id = 8717 THEN 'transfer'
                    ELSE 'unknown' END AS admission_source,
               NULL::text AS row_hash, NULL::text AS action,
               CASE WHEN NOT v.is_admission
                        THEN 'visit_concept_id ' || v.visit_concept_id || coalesce(' (' || v.visit_name || ')', '')
                             || ' is no admission: omop_location_map has no visit_concept_id row for it'
                    WHEN NOT v.has_person THEN 'person_id ' || v.person_id || ' has no PERSON row'
                    WHEN v.end_ts < v.start_ts THEN 'the visit ends (' || v.end_ts || ') before it starts (' || v.start_ts || ')'
               END AS reason
          FROM v
         WHERE $3::timestamptz IS NULL OR v.end_ts IS NULL OR v.end_ts AT TIME ZONE $2 >= $3$q$, s)
        USING widen_visits, tz, since;
    ALTER TABLE omop_visit ADD COLUMN age_years integer, ADD COLUMN died_in_hospital boolean;
    UPDATE omop_visit SET
        age_years = CASE WHEN age_raw BETWEEN 0 AND 125 THEN age_raw END,
        died_in_hospital = CASE WHEN discharged_at IS NULL THEN NULL
                                WHEN discharged_to_concept_id = 4216643 THEN true
                                WHEN coalesce(discharged_to_concept_id, 0) <> 0 THEN false
                                ELSE coalesce(death_in_visit, false) END,
        action = CASE WHEN NOT is_admission THEN 'skip' END;
    UPDATE omop_visit v SET reason = 'admission_id ' || v.cdm_id || ' already holds an admission that was not loaded from a CDM'
     WHERE v.reason IS NULL
       AND EXISTS (SELECT 1 FROM @extschema@.admission a WHERE a.admission_id = v.cdm_id)
       AND NOT EXISTS (SELECT 1 FROM @extschema@.omop_row k WHERE k.cdm_table = 'visit_occurrence' AND k.cdm_id = v.cdm_id);
    UPDATE omop_visit v SET row_hash = md5(ROW(v.person_id, v.admitted_at, v.discharged_at, v.age_years, v.sex,
                                               v.admission_source, v.died_in_hospital)::text);
    UPDATE omop_visit v SET action = CASE WHEN k.cdm_id IS NULL THEN 'insert'
                                          WHEN k.row_hash = v.row_hash THEN 'unchanged' ELSE 'update' END
      FROM (SELECT v2.cdm_id AS id FROM omop_visit v2) x
      LEFT JOIN @extschema@.omop_row k ON k.cdm_table = 'visit_occurrence' AND k.cdm_id = x.id
     WHERE x.id = v.cdm_id AND v.action IS NULL;
    PERFORM @extschema@.omop_apply('omop_visit', 'visit_occurrence', s,
        $q$INSERT INTO @extschema@.admission (admission_id, patient_id, admitted_at, discharged_at, age_years, sex,
                                              admission_source, died_in_hospital)
           SELECT s.target_id, s.person_id::text, s.admitted_at, s.discharged_at, s.age_years, s.sex,
                  s.admission_source, s.died_in_hospital
             FROM pg_temp.omop_visit s WHERE s.action = 'insert' AND s.reason IS NULL %s$q$,
        $q$UPDATE @extschema@.admission a
              SET patient_id = s.person_id::text, admitted_at = s.admitted_at, discharged_at = s.discharged_at,
                  age_years = s.age_years, sex = s.sex, admission_source = s.admission_source,
                  died_in_hospital = s.died_in_hospital
             FROM pg_temp.omop_visit s
            WHERE a.admission_id = s.target_id AND s.action = 'update' AND s.reason IS NULL %s$q$);
    INSERT INTO omop_report
    SELECT 'visit_occurrence', 'note', 'widened to cover its visit details', count(*)
      FROM omop_visit v
     WHERE v.reason IS NULL AND v.action IN ('insert', 'update')
       AND (v.first_in < v.start_ts OR v.last_out > v.end_ts OR v.open_detail)
    HAVING count(*) > 0;
    INSERT INTO omop_report
    SELECT 'visit_occurrence', 'note', 'age above 125 years at admission: recorded unknown', count(*)
      FROM omop_visit v
     WHERE v.reason IS NULL AND v.action IN ('insert', 'update') AND v.age_raw > 125
    HAVING count(*) > 0;

    -- VISIT_DETAIL -> location_stay; a visit without details -> one stay
    EXECUTE format($q$
        CREATE TEMP TABLE omop_stay AS
        WITH d AS (
            SELECT 'visit_detail'::text AS kind, d.visit_detail_id AS cdm_id, d.visit_occurrence_id AS visit_id,
                   d.visit_detail_concept_id AS visit_concept_id, d.care_site_id,
                   coalesce(d.visit_detail_start_datetime, d.visit_detail_start_date::timestamp) AS start_ts,
                   coalesce(d.visit_detail_end_datetime,
                            d.visit_detail_end_date::timestamp + interval '1 day' - interval '1 second') AS end_ts
              FROM %1$I.visit_detail d
            UNION ALL
            SELECT 'visit_occurrence_stay', v.cdm_id, v.cdm_id, v.visit_concept_id, o.care_site_id,
                   v.start_ts, v.end_ts
              FROM omop_visit v JOIN %1$I.visit_occurrence o ON o.visit_occurrence_id = v.cdm_id
             WHERE v.first_in IS NULL AND v.action <> 'skip'
        )
        SELECT d.*,
               coalesce(nullif(cs.care_site_name, ''), nullif(cs.care_site_source_value, ''),
                        'care_site ' || d.care_site_id,
                        (SELECT c.concept_name FROM %1$I.concept c WHERE c.concept_id = d.visit_concept_id),
                        'visit concept ' || d.visit_concept_id) AS unit,
               coalesce(mc.unit_kind, mp.unit_kind, mv.unit_kind, 'other') AS unit_kind,
               d.start_ts AT TIME ZONE $1 AS started_at,
               d.end_ts AT TIME ZONE $1 AS ended_at,
               k.target_id AS known_id, k.row_hash AS known_hash,
               v.cdm_id IS NOT NULL AS visit_staged, v.action AS visit_action, v.reason AS visit_reason,
               EXISTS (SELECT 1 FROM @extschema@.omop_row kv
                        WHERE kv.cdm_table = 'visit_occurrence' AND kv.cdm_id = d.visit_id) AS visit_loaded
          FROM d
          LEFT JOIN %1$I.care_site cs ON cs.care_site_id = d.care_site_id
          LEFT JOIN @extschema@.omop_location_map mc ON mc.match_on = 'care_site_id' AND mc.match_value = d.care_site_id
          LEFT JOIN @extschema@.omop_location_map mp
            ON mp.match_on = 'place_of_service_concept_id' AND mp.match_value = cs.place_of_service_concept_id
          LEFT JOIN @extschema@.omop_location_map mv ON mv.match_on = 'visit_concept_id' AND mv.match_value = d.visit_concept_id
          LEFT JOIN omop_visit v ON v.cdm_id = d.visit_id
          LEFT JOIN @extschema@.omop_row k ON k.cdm_table = d.kind AND k.cdm_id = d.cdm_id
         WHERE $2::timestamptz IS NULL OR d.end_ts IS NULL OR d.end_ts AT TIME ZONE $1 >= $2$q$, s)
        USING tz, since;
    ALTER TABLE omop_stay ADD COLUMN target_id bigint, ADD COLUMN row_hash text,
        ADD COLUMN action text, ADD COLUMN reason text;
    UPDATE omop_stay x SET
        action = CASE WHEN x.visit_action = 'skip' THEN 'skip' END,
        reason = CASE WHEN x.visit_action = 'skip' THEN 'its visit is no admission (see visit_occurrence)'
                      WHEN NOT x.visit_loaded AND x.visit_reason IS NOT NULL THEN 'its visit was rejected: ' || x.visit_reason
                      WHEN NOT x.visit_loaded THEN 'its visit_occurrence ' || x.visit_id || ' is not loaded'
                      WHEN x.end_ts < x.start_ts THEN 'the stay ends (' || x.end_ts || ') before it starts (' || x.start_ts || ')'
                 END,
        row_hash = md5(ROW(x.visit_id, x.unit, x.unit_kind, x.started_at, x.ended_at)::text);
    -- the key of a visit's own stay is per visit; one that got details gives way to them
    UPDATE omop_stay x SET
        action = coalesce(x.action, CASE WHEN x.known_id IS NULL THEN 'insert'
                                         WHEN x.known_hash = x.row_hash THEN 'unchanged' ELSE 'update' END),
        target_id = coalesce(x.known_id, CASE WHEN x.reason IS NULL THEN nextval(pg_get_serial_sequence('@extschema@.location_stay', 'stay_id')) END);
    DELETE FROM @extschema@.location_stay l
     USING @extschema@.omop_row k
     WHERE k.cdm_table = 'visit_occurrence_stay' AND l.stay_id = k.target_id
       AND EXISTS (SELECT 1 FROM omop_stay x WHERE x.kind = 'visit_detail' AND x.visit_id = k.cdm_id AND x.reason IS NULL);
    DELETE FROM @extschema@.omop_row k
     WHERE k.cdm_table = 'visit_occurrence_stay'
       AND EXISTS (SELECT 1 FROM omop_stay x WHERE x.kind = 'visit_detail' AND x.visit_id = k.cdm_id AND x.reason IS NULL);
    -- write the details first, then the visits' own stays, each keyed in its own table
    FOREACH stay_kind IN ARRAY ARRAY['visit_detail', 'visit_occurrence_stay'] LOOP
        EXECUTE format('CREATE TEMP TABLE omop_stay_part AS SELECT * FROM omop_stay x WHERE x.kind = %L', stay_kind);
        PERFORM @extschema@.omop_apply('omop_stay_part', stay_kind, s,
            $q$INSERT INTO @extschema@.location_stay (stay_id, admission_id, unit, unit_kind, isolation, started_at, ended_at)
               SELECT s.target_id, s.visit_id, s.unit, s.unit_kind, 'unknown', s.started_at, s.ended_at
                 FROM pg_temp.omop_stay_part s WHERE s.action = 'insert' AND s.reason IS NULL %s$q$,
            $q$UPDATE @extschema@.location_stay l
                  SET admission_id = s.visit_id, unit = s.unit, unit_kind = s.unit_kind,
                      started_at = s.started_at, ended_at = s.ended_at
                 FROM pg_temp.omop_stay_part s
                WHERE l.stay_id = s.target_id AND s.action = 'update' AND s.reason IS NULL %s$q$);
        DROP TABLE omop_stay_part;
    END LOOP;
    UPDATE omop_report r SET cdm_table = 'visit_occurrence (one stay for a visit without visit_detail)'
     WHERE r.cdm_table = 'visit_occurrence_stay';
    INSERT INTO omop_report
    SELECT 'visit_detail', 'note', 'unit_kind ' || x.unit_kind || ' (' || x.kind || ')', count(*)
      FROM omop_stay x WHERE x.reason IS NULL GROUP BY x.unit_kind, x.kind;

    -- MEASUREMENT -> lab_result
    EXECUTE format($q$
        CREATE TEMP TABLE omop_meas AS
        WITH m AS (
            SELECT m.measurement_id AS cdm_id, m.visit_occurrence_id AS visit_id,
                   CASE WHEN c.vocabulary_id = 'LOINC' THEN c.concept_code
                        WHEN coalesce(m.measurement_concept_id, 0) <> 0 AND c.concept_id IS NOT NULL
                            THEN c.vocabulary_id || ':' || c.concept_code
                        WHEN nullif(m.measurement_source_value, '') IS NOT NULL
                            THEN 'source:' || m.measurement_source_value
                        ELSE 'concept:' || coalesce(m.measurement_concept_id, 0) END AS local_code,
                   CASE WHEN u.vocabulary_id = 'UCUM' THEN u.concept_code
                        ELSE nullif(btrim(m.unit_source_value), '') END AS unit,
                   m.value_as_number,
                   CASE m.operator_concept_id WHEN 4171756 THEN '<' WHEN 4171754 THEN '<='
                        WHEN 4172704 THEN '>' WHEN 4171755 THEN '>=' END AS op,
                   nullif(m.value_source_value, '') AS value_source_value,
                   vc.concept_name AS value_concept_name,
                   coalesce(m.measurement_datetime,
                            m.measurement_date::timestamp + interval '1 day' - interval '1 second') AS at_ts
              FROM %1$I.measurement m
              LEFT JOIN %1$I.concept c ON c.concept_id = m.measurement_concept_id
              LEFT JOIN %1$I.concept u ON u.concept_id = m.unit_concept_id AND m.unit_concept_id <> 0
              LEFT JOIN %1$I.concept vc ON vc.concept_id = m.value_as_concept_id AND m.value_as_concept_id <> 0
        )
        SELECT m.cdm_id, m.visit_id, m.local_code, m.unit,
               CASE WHEN abs(m.value_as_number) <= 1e300 THEN m.value_as_number::float8 END AS value,
               CASE WHEN m.op IS NOT NULL AND m.value_as_number IS NOT NULL THEN m.op || m.value_as_number::text
                    ELSE coalesce(m.value_source_value, m.value_concept_name) END AS value_text,
               m.at_ts AT TIME ZONE $1 AS resulted_at,
               m.value_as_number, m.at_ts,
               v.action AS visit_action, v.reason AS visit_reason,
               EXISTS (SELECT 1 FROM @extschema@.omop_row kv
                        WHERE kv.cdm_table = 'visit_occurrence' AND kv.cdm_id = m.visit_id) AS visit_loaded,
               k.target_id AS known_id, k.row_hash AS known_hash
          FROM m
          LEFT JOIN omop_visit v ON v.cdm_id = m.visit_id
          LEFT JOIN @extschema@.omop_row k ON k.cdm_table = 'measurement' AND k.cdm_id = m.cdm_id
         WHERE $2::timestamptz IS NULL OR m.at_ts AT TIME ZONE $1 >= $2$q$, s)
        USING tz, since;
    ALTER TABLE omop_meas ADD COLUMN target_id bigint, ADD COLUMN row_hash text,
        ADD COLUMN action text, ADD COLUMN reason text;
    UPDATE omop_meas x SET
        action = CASE WHEN x.visit_id IS NULL OR x.visit_action = 'skip' THEN 'skip' END,
        reason = CASE WHEN x.visit_id IS NULL THEN 'no visit_occurrence_id (not measured during a visit)'
                      WHEN x.visit_action = 'skip' THEN 'its visit is no admission (see visit_occurrence)'
                      WHEN NOT x.visit_loaded AND x.visit_reason IS NOT NULL THEN 'its visit was rejected'
                      WHEN NOT x.visit_loaded THEN 'its visit_occurrence is not loaded'
                      WHEN x.value_as_number IS NOT NULL AND x.value IS NULL
                          THEN 'value_as_number ' || x.value_as_number || ' is outside +-1e300'
                      WHEN x.value IS NULL AND x.value_text IS NULL
                          THEN 'no value (value_as_number, value_as_concept_id and value_source_value are empty)'
                 END,
        row_hash = md5(ROW(x.visit_id, x.local_code, x.unit, x.value, x.value_text, x.resulted_at)::text);
    UPDATE omop_meas x SET
        action = coalesce(x.action, CASE WHEN x.known_id IS NULL THEN 'insert'
                                         WHEN x.known_hash = x.row_hash THEN 'unchanged' ELSE 'update' END),
        target_id = coalesce(x.known_id, CASE WHEN x.reason IS NULL THEN nextval(pg_get_serial_sequence('@extschema@.lab_result', 'lab_result_id')) END);
    PERFORM @extschema@.omop_apply('omop_meas', 'measurement', s,
        $q$INSERT INTO @extschema@.lab_result (lab_result_id, admission_id, local_code, value, value_text, unit, resulted_at)
           SELECT s.target_id, s.visit_id, s.local_code, s.value, s.value_text, s.unit, s.resulted_at
             FROM pg_temp.omop_meas s WHERE s.action = 'insert' AND s.reason IS NULL %s$q$,
        $q$UPDATE @extschema@.lab_result l
              SET admission_id = s.visit_id, local_code = s.local_code, value = s.value, value_text = s.value_text,
                  unit = s.unit, resulted_at = s.resulted_at
             FROM pg_temp.omop_meas s
            WHERE l.lab_result_id = s.target_id AND s.action = 'update' AND s.reason IS NULL %s$q$);
    -- how the extension reads the measurements loaded (the one list of reasons)
    INSERT INTO omop_report
    SELECT 'measurement', 'lab ' || coalesce(ls.rejection, 'used'), NULL, count(*)
      FROM omop_meas x JOIN @extschema@.lab_row_status ls ON ls.lab_result_id = x.target_id
     WHERE x.reason IS NULL
     GROUP BY ls.rejection;

    -- CONDITION_OCCURRENCE -> diagnosis (ICD-10 codes)
    EXECUTE format($q$
        CREATE TEMP TABLE omop_cond AS
        SELECT o.condition_occurrence_id AS cdm_id, o.visit_occurrence_id AS visit_id,
               sc.vocabulary_id AS source_vocabulary, cc.vocabulary_id AS concept_vocabulary,
               CASE WHEN sc.vocabulary_id ~ '^ICD10' THEN sc.concept_code
                    WHEN cc.vocabulary_id ~ '^ICD10' THEN cc.concept_code
                    WHEN coalesce(o.condition_source_concept_id, 0) = 0
                         AND o.condition_source_value ~ '^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$'
                         AND coalesce(cc.vocabulary_id, '') NOT IN ('ICD9CM', 'ICD9Proc')
                        THEN o.condition_source_value
               END AS icd10_code,
               coalesce(o.condition_start_datetime, o.condition_start_date::timestamp) AT TIME ZONE $1 AS start_at,
               v.action AS visit_action, v.reason AS visit_reason,
               EXISTS (SELECT 1 FROM @extschema@.omop_row kv
                        WHERE kv.cdm_table = 'visit_occurrence' AND kv.cdm_id = o.visit_occurrence_id) AS visit_loaded,
               k.target_id AS known_id, k.row_hash AS known_hash
          FROM %1$I.condition_occurrence o
          LEFT JOIN %1$I.concept sc ON sc.concept_id = o.condition_source_concept_id AND o.condition_source_concept_id <> 0
          LEFT JOIN %1$I.concept cc ON cc.concept_id = o.condition_concept_id AND o.condition_concept_id <> 0
          LEFT JOIN omop_visit v ON v.cdm_id = o.visit_occurrence_id
          LEFT JOIN @extschema@.omop_row k ON k.cdm_table = 'condition_occurrence' AND k.cdm_id = o.condition_occurrence_id
         WHERE $2::timestamptz IS NULL
            OR coalesce(o.condition_start_datetime, o.condition_start_date::timestamp) AT TIME ZONE $1 >= $2$q$, s)
        USING tz, since;
    ALTER TABLE omop_cond ADD COLUMN target_id bigint, ADD COLUMN row_hash text, ADD COLUMN diagnosed_at timestamptz,
        ADD COLUMN action text, ADD COLUMN reason text;
    UPDATE omop_cond x SET
        diagnosed_at = CASE WHEN x.start_at > a.admitted_at THEN x.start_at END
      FROM @extschema@.admission a WHERE a.admission_id = x.visit_id;
    UPDATE omop_cond x SET
        action = CASE WHEN x.icd10_code IS NULL OR x.visit_id IS NULL OR x.visit_action = 'skip' THEN 'skip' END,
        reason = CASE WHEN x.icd10_code IS NULL
                          THEN 'no ICD-10 code (source vocabulary ' || coalesce(x.source_vocabulary, 'none')
                               || ', condition vocabulary ' || coalesce(x.concept_vocabulary, 'none') || ')'
                      WHEN x.visit_id IS NULL THEN 'no visit_occurrence_id'
                      WHEN x.visit_action = 'skip' THEN 'its visit is no admission (see visit_occurrence)'
                      WHEN NOT x.visit_loaded AND x.visit_reason IS NOT NULL THEN 'its visit was rejected'
                      WHEN NOT x.visit_loaded THEN 'its visit_occurrence is not loaded'
                 END,
        row_hash = md5(ROW(x.visit_id, x.icd10_code, x.diagnosed_at)::text);
    UPDATE omop_cond x SET
        action = coalesce(x.action, CASE WHEN x.known_id IS NULL THEN 'insert'
                                         WHEN x.known_hash = x.row_hash THEN 'unchanged' ELSE 'update' END),
        target_id = coalesce(x.known_id, CASE WHEN x.reason IS NULL THEN nextval(pg_get_serial_sequence('@extschema@.diagnosis', 'diagnosis_id')) END);
    PERFORM @extschema@.omop_apply('omop_cond', 'condition_occurrence', s,
        $q$INSERT INTO @extschema@.diagnosis (diagnosis_id, admission_id, icd10_code, diagnosed_at)
           SELECT s.target_id, s.visit_id, s.icd10_code, s.diagnosed_at
             FROM pg_temp.omop_cond s WHERE s.action = 'insert' AND s.reason IS NULL %s$q$,
        $q$UPDATE @extschema@.diagnosis d
              SET admission_id = s.visit_id, icd10_code = s.icd10_code, diagnosed_at = s.diagnosed_at
             FROM pg_temp.omop_cond s
            WHERE d.diagnosis_id = s.target_id AND s.action = 'update' AND s.reason IS NULL %s$q$);

    -- PERSON and DEATH: read into the admissions; counted here
    EXECUTE format($q$
        INSERT INTO omop_report
        SELECT 'person', CASE WHEN l THEN 'used' ELSE 'skipped' END,
               CASE WHEN NOT l THEN 'no admission loaded (no inpatient or emergency visit, or all rejected)' END,
               count(*)
          FROM (SELECT EXISTS (SELECT 1 FROM @extschema@.omop_row k
                                 JOIN @extschema@.admission a ON a.admission_id = k.target_id
                                WHERE k.cdm_table = 'visit_occurrence' AND a.patient_id = p.person_id::text) AS l
                  FROM %1$I.person p) x
         GROUP BY l$q$, s);
    EXECUTE format($q$
        INSERT INTO omop_report
        SELECT 'death', CASE WHEN l THEN 'used' ELSE 'skipped' END,
               CASE WHEN l THEN 'died_in_hospital of the admission it falls in'
                    ELSE 'the death falls in no loaded admission (died_in_hospital stays false)' END,
               count(*)
          FROM (SELECT EXISTS (SELECT 1 FROM @extschema@.omop_row k
                                 JOIN @extschema@.admission a ON a.admission_id = k.target_id
                                WHERE k.cdm_table = 'visit_occurrence' AND a.patient_id = d.person_id::text
                                  AND a.died_in_hospital) AS l
                  FROM %1$I.death d) x
         GROUP BY l$q$, s);

    RETURN QUERY
        SELECT r.cdm_table, r.status, r.reason, sum(r.n_rows)::bigint
          FROM omop_report r
         GROUP BY r.cdm_table, r.status, r.reason
         ORDER BY CASE r.cdm_table WHEN 'person' THEN 1 WHEN 'visit_occurrence' THEN 2 WHEN 'visit_detail' THEN 3
                                   WHEN 'measurement' THEN 5 WHEN 'condition_occurrence' THEN 6 WHEN 'death' THEN 7
                                   ELSE 4 END,
                  r.cdm_table, r.status, r.reason NULLS FIRST;
    DROP TABLE omop_report, omop_detail_span, omop_visit, omop_stay, omop_meas, omop_cond;
END
$$;
COMMENT ON FUNCTION @extschema@.omop_load(name, timestamptz, text, boolean, boolean) IS
    'Loads an OMOP CDM v5.4 schema on this server into the canonical tables (docs/bring-your-own-data.md): inpatient and emergency visits (omop_location_map) -> admission, VISIT_DETAIL -> location_stay (ICU by care site), MEASUREMENT -> lab_result (LOINC code and UCUM unit; lab_row_status diagnoses them), ICD-10 conditions -> diagnosis, PERSON and DEATH -> age, sex, died_in_hospital. Returns every source row counted: inserted, updated, unchanged, skipped or rejected, with the reason; lab rows also by lab status. Re-running loads only new or changed rows (omop_row); since limits the rows read to those ending or measured from then on. time_zone: the zone of the CDM''s timestamps. widen_visits: an admission spans its visit details. 42704 for a missing schema or table, 55000 for a CDM that is not v5.4, 22023 for a bad time zone.';

-- ==== extension/sql/61_fhir.sql
-- FHIR R4: a Bundle of Patient, Encounter, Observation, Condition (and
-- Location) resources onto the canonical schema, in one call.
--
--   fhir_ingest(bundle)    reads a Bundle (transaction, batch, collection or
--                          searchset) and returns one report row per entry:
--                          loaded, updated, unchanged, stale, skipped or
--                          error, with the SQLSTATE and the reason
--   fhir_resource          every resource read: type + id -> version, content
--                          hash, the canonical rows it wrote (the admission_id
--                          of an Encounter, the lab_result and diagnosis rows
--                          of an Observation or Condition)
--   fhir_location_kind     which location is an ICU, a ward, the ED ...: the
--                          user's mapping by Location reference or name, ahead
--                          of Location.type (v3 RoleCode ICU, ER, ...)
--   fhir_ingest_log        the report of every call, kept
--
-- What lands where:
--   Patient      demographics (birthDate, gender, deceased[x]) read by the
--                admissions of its encounters (age at admission, sex, death)
--   Encounter    of an inpatient class (IMP, ACUTE, NONAC, EMER, OBSENC, SS)
--                -> admission; its location history -> location_stay
--   Observation  (category laboratory, vital-signs or none) -> lab_result:
--                the LOINC coding as local_code (the catalogue's loinc and
--                other_loinc map it without lab_map rows), valueQuantity in
--                its UCUM code, comparators as censored text (<5), valueString
--                as text, one row per component with a value
--   Condition    ICD-10 codings -> diagnosis
--
-- Every entry runs in its own subtransaction: a bad resource is reported
-- (resource type, id, reason, SQLSTATE) and leaves nothing behind, and the
-- other resources of the bundle load.  Re-ingest is keyed by resource type,
-- id and meta.versionId: the same version again changes nothing, a newer one
-- replaces the rows the older one wrote, an older one is not applied.
-- lab_row_status and lab_load_quality then diagnose the labs like any load.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.fhir_resource (
    resource_type  text        NOT NULL,
    resource_id    text        NOT NULL,
    version_id     text,
    last_updated   timestamptz,
    content_hash   text        NOT NULL,
    outcome        text        NOT NULL,
    detail         text,
    subject        text,
    admission_id   bigint,
    lab_result_ids bigint[]    NOT NULL DEFAULT '{}',
    diagnosis_ids  bigint[]    NOT NULL DEFAULT '{}',
    resource       jsonb,
    ingested_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT fhir_resource_pkey PRIMARY KEY (resource_type, resource_id),
    CONSTRAINT fhir_resource_type_read
        CHECK (resource_type IN ('Patient', 'Encounter', 'Observation', 'Condition', 'Location')),
    CONSTRAINT fhir_resource_outcome_known_value CHECK (outcome IN ('loaded', 'skipped'))
);
CREATE UNIQUE INDEX fhir_resource_admission_idx ON @extschema@.fhir_resource (admission_id)
    WHERE resource_type = 'Encounter';
CREATE INDEX fhir_resource_subject_idx ON @extschema@.fhir_resource (subject, resource_type);
COMMENT ON TABLE @extschema@.fhir_resource IS
    'Every FHIR resource fhir_ingest() has read, by type and id (the FHIR string ids mapped to the canonical keys): its version, content hash and the canonical rows it wrote. A later ingest of the same resource compares versions here.';
COMMENT ON COLUMN @extschema@.fhir_resource.resource_type IS 'Patient, Encounter, Observation, Condition or Location.';
COMMENT ON COLUMN @extschema@.fhir_resource.resource_id IS 'The resource''s logical id (Resource.id; for an entry without one, the uuid of its urn:uuid fullUrl).';
COMMENT ON COLUMN @extschema@.fhir_resource.version_id IS 'meta.versionId of the version read; NULL when the resource has none.';
COMMENT ON COLUMN @extschema@.fhir_resource.last_updated IS 'meta.lastUpdated of the version read.';
COMMENT ON COLUMN @extschema@.fhir_resource.content_hash IS 'md5 of the resource as read: the same content again is unchanged whatever its meta says.';
COMMENT ON COLUMN @extschema@.fhir_resource.outcome IS 'loaded (its rows are in the canonical tables) or skipped (read, nothing to load; detail says why).';
COMMENT ON COLUMN @extschema@.fhir_resource.detail IS 'Why the resource was skipped, or what it loaded.';
COMMENT ON COLUMN @extschema@.fhir_resource.subject IS 'Patient/<id> of an Encounter, Observation or Condition.';
COMMENT ON COLUMN @extschema@.fhir_resource.admission_id IS 'Encounter: its admission (admission.admission_id, kept across versions). Observation, Condition: the admission its rows went to.';
COMMENT ON COLUMN @extschema@.fhir_resource.lab_result_ids IS 'Observation: the lab_result rows it wrote (a newer version deletes them first).';
COMMENT ON COLUMN @extschema@.fhir_resource.diagnosis_ids IS 'Condition: the diagnosis rows it wrote.';
COMMENT ON COLUMN @extschema@.fhir_resource.resource IS 'The resource as read, kept for Patient, Encounter and Location (later resources and versions read it); NULL for Observation and Condition.';
COMMENT ON COLUMN @extschema@.fhir_resource.ingested_at IS 'When this version was read.';

CREATE SEQUENCE @extschema@.fhir_admission_key_seq START WITH 1000000000000;
COMMENT ON SEQUENCE @extschema@.fhir_admission_key_seq IS
    'admission_id of FHIR encounters: from 10^12 up, skipping numbers other loads already use.';

CREATE TABLE @extschema@.fhir_location_kind (
    location  text NOT NULL,
    unit_kind text NOT NULL,
    note      text,
    CONSTRAINT fhir_location_kind_pkey PRIMARY KEY (location),
    CONSTRAINT fhir_location_kind_not_empty CHECK (location <> ''),
    CONSTRAINT fhir_location_kind_unit_kind_known_value
        CHECK (unit_kind IN ('ward', 'icu', 'mc', 'ed', 'or', 'other'))
);
COMMENT ON TABLE @extschema@.fhir_location_kind IS
    'Which FHIR location is which kind of unit (location_stay.unit_kind), by Location reference (''Location/ic-1'') or by name (Location.name, or the display of the encounter''s location). It comes before Location.type: v3 RoleCode ICU, PEDICU, PEDNICU, CCU are icu, ER and ETU ed; any other location is a ward. Edit it and ingest the encounters again (a new version, or delete their fhir_resource rows) to re-classify.';
COMMENT ON COLUMN @extschema@.fhir_location_kind.location IS 'Location/<id> as referenced, or the location''s name.';
COMMENT ON COLUMN @extschema@.fhir_location_kind.unit_kind IS 'ward, icu, mc, ed, or or other (location_stay.unit_kind).';
COMMENT ON COLUMN @extschema@.fhir_location_kind.note IS 'Free text.';

CREATE SEQUENCE @extschema@.fhir_ingest_id_seq;
COMMENT ON SEQUENCE @extschema@.fhir_ingest_id_seq IS 'ingest_id of fhir_ingest_log.';

CREATE TABLE @extschema@.fhir_ingest_log (
    ingest_id     bigint      NOT NULL,
    entry         integer     NOT NULL,
    resource_type text,
    resource_id   text,
    version_id    text,
    outcome       text        NOT NULL,
    rows_written  integer     NOT NULL DEFAULT 0,
    sqlstate      text,
    reason        text,
    ingested_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT fhir_ingest_log_pkey PRIMARY KEY (ingest_id, entry),
    CONSTRAINT fhir_ingest_log_outcome_known_value
        CHECK (outcome IN ('loaded', 'updated', 'unchanged', 'stale', 'skipped', 'error'))
);
COMMENT ON TABLE @extschema@.fhir_ingest_log IS
    'The report of every fhir_ingest() call, one row per bundle entry (what the call returned), kept for audit.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.ingest_id IS 'One per call (fhir_ingest_id_seq).';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.entry IS 'Position of the entry in Bundle.entry, from 1.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.resource_type IS 'resourceType of the entry''s resource.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.resource_id IS 'Its id.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.version_id IS 'Its meta.versionId.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.outcome IS 'loaded (new), updated (a newer version replaced the older one''s rows), unchanged (this version was read before), stale (an older version than the one loaded: not applied), skipped (nothing to load, reason says why), error (nothing written; sqlstate and reason say why).';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.rows_written IS 'Canonical rows inserted, updated or deleted (admission, location_stay, lab_result, diagnosis).';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.sqlstate IS 'The SQLSTATE of an error (docs/errors.md); NULL otherwise.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.reason IS 'What was loaded or skipped, or the error message.';
COMMENT ON COLUMN @extschema@.fhir_ingest_log.ingested_at IS 'When the call ran.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.fhir_resource', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.fhir_location_kind', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.fhir_ingest_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.fhir_admission_key_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.fhir_ingest_id_seq', '');

-- ---------------------------------------------------------------------------
-- Reading FHIR values
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.fhir_datetime(value text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF value !~ '^[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$' THEN
        RAISE EXCEPTION 'invalid FHIR date or dateTime: "%"', value
            USING ERRCODE = 'invalid_text_representation',
                  HINT = 'FHIR writes 2020-04-01, 2020-04 or 2020-04-01T08:00:00+02:00.';
    END IF;
    RETURN CASE length(value)
               WHEN 4 THEN (value || '-01-01')::timestamptz
               WHEN 7 THEN (value || '-01')::timestamptz
               ELSE value::timestamptz END;
END
$$;
COMMENT ON FUNCTION @extschema@.fhir_datetime(text) IS
    'A FHIR date, dateTime or instant as timestamptz: a date (or a time without offset) in the session TimeZone, a year or year-month at its first day. NULL for NULL; 22P02 for text that is none of these.';

CREATE FUNCTION @extschema@.fhir_code(concept jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(
    (SELECT c.value ->> 'code'
       FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(concept -> 'coding') = 'array'
                                                 THEN concept -> 'coding' ELSE '[]'::jsonb END)
            WITH ORDINALITY AS c(value, n)
      WHERE c.value ->> 'system' = 'http://loinc.org' AND coalesce(c.value ->> 'code', '') <> ''
      ORDER BY c.n LIMIT 1),
    (SELECT c.value ->> 'code'
       FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(concept -> 'coding') = 'array'
                                                 THEN concept -> 'coding' ELSE '[]'::jsonb END)
            WITH ORDINALITY AS c(value, n)
      WHERE coalesce(c.value ->> 'code', '') <> ''
      ORDER BY c.n LIMIT 1));
COMMENT ON FUNCTION @extschema@.fhir_code(jsonb) IS
    'The code a CodeableConcept is loaded under: its LOINC coding (system http://loinc.org), else its first coding''s code; NULL when it has no coded coding.';

CREATE FUNCTION @extschema@.fhir_codes(concept jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY(
    SELECT c.value ->> 'system' || '|' || coalesce(c.value ->> 'code', '')
      FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(concept -> 'coding') = 'array'
                                                THEN concept -> 'coding' ELSE '[]'::jsonb END)
           WITH ORDINALITY AS c(value, n)
     ORDER BY c.n);
COMMENT ON FUNCTION @extschema@.fhir_codes(jsonb) IS
    'The codings of a CodeableConcept as system|code, for messages.';

CREATE FUNCTION @extschema@.fhir_reference(reference text, full_urls jsonb DEFAULT '{}')
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN reference IS NULL THEN NULL
    WHEN full_urls ? reference THEN full_urls ->> reference
    ELSE pg_catalog.substring(pg_catalog.regexp_replace(reference, '/_history/[^/]*$', ''),
                              '([A-Z][A-Za-z]+/[A-Za-z0-9.-]{1,64})$')
END;
COMMENT ON FUNCTION @extschema@.fhir_reference(text, jsonb) IS
    'A FHIR reference as Type/id: the resource of a fullUrl of the bundle (full_urls: fullUrl -> Type/id), else the Type/id at the end of a relative or absolute reference (a /_history/ version dropped). NULL when it is neither (an unknown urn:uuid, a contained #id).';

CREATE FUNCTION @extschema@.fhir_version_order(new_version text, new_updated timestamptz, new_hash text,
                                               old_version text, old_updated timestamptz, old_hash text)
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN new_hash = old_hash THEN 0
    WHEN new_version = old_version THEN 0
    WHEN new_version ~ '^[0-9]{1,18}$' AND old_version ~ '^[0-9]{1,18}$'
        THEN pg_catalog.sign(new_version::bigint - old_version::bigint)::integer
    WHEN new_updated IS NOT NULL AND old_updated IS NOT NULL AND new_updated <> old_updated
        THEN CASE WHEN new_updated > old_updated THEN 1 ELSE -1 END
    ELSE 1
END;
COMMENT ON FUNCTION @extschema@.fhir_version_order(text, timestamptz, text, text, timestamptz, text) IS
    'How a version read compares with the one loaded: 0 the same (same content, or same meta.versionId), 1 newer, -1 older. Numeric versionIds compare as numbers, others by meta.lastUpdated; without either, a different content is taken as newer (the later ingest wins).';

CREATE FUNCTION @extschema@.fhir_unit_kind(reference text, name text, location jsonb)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(
    (SELECT k.unit_kind FROM @extschema@.fhir_location_kind k WHERE k.location = reference),
    (SELECT k.unit_kind FROM @extschema@.fhir_location_kind k WHERE k.location = name),
    (SELECT CASE WHEN pg_catalog.bool_or(c.value ->> 'code' IN ('ICU', 'PEDICU', 'PEDNICU', 'CCU')) THEN 'icu'
                 WHEN pg_catalog.bool_or(c.value ->> 'code' IN ('ER', 'ETU')) THEN 'ed' END
       FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(location -> 'type') = 'array'
                                                 THEN location -> 'type' ELSE '[]'::jsonb END) AS t(value),
            pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(t.value -> 'coding') = 'array'
                                                 THEN t.value -> 'coding' ELSE '[]'::jsonb END) AS c(value)
      WHERE coalesce(c.value ->> 'system', 'http://terminology.hl7.org/CodeSystem/v3-RoleCode')
            IN ('http://terminology.hl7.org/CodeSystem/v3-RoleCode', 'urn:oid:2.16.840.1.113883.5.111')),
    'ward');
COMMENT ON FUNCTION @extschema@.fhir_unit_kind(text, text, jsonb) IS
    'The unit_kind of an encounter location: fhir_location_kind by reference, then by name; else the Location''s type (v3 RoleCode ICU, PEDICU, PEDNICU, CCU: icu; ER, ETU: ed); else ward.';

-- ---------------------------------------------------------------------------
-- The admission of an Encounter, from the Encounter and its Patient
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.fhir_admission_values(encounter jsonb, patient jsonb,
    OUT admitted_at timestamptz, OUT discharged_at timestamptz, OUT age_years integer,
    OUT sex text, OUT admission_source text, OUT died_in_hospital boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    birth      timestamptz;
    died_at    timestamptz;
    source     text;
    disp       text;
BEGIN
    admitted_at := @extschema@.fhir_datetime(encounter #>> '{period,start}');
    IF admitted_at IS NULL THEN
        RAISE EXCEPTION 'Encounter/% has no period.start: an admission needs its admission time', encounter ->> 'id'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    discharged_at := @extschema@.fhir_datetime(encounter #>> '{period,end}');
    sex := coalesce(patient ->> 'gender', 'unknown');
    IF sex NOT IN ('female', 'male', 'other', 'unknown') THEN
        RAISE EXCEPTION 'Patient/%: gender "%" is not a FHIR administrative gender', patient ->> 'id', sex
            USING ERRCODE = 'invalid_parameter_value', HINT = 'FHIR R4 gender is male, female, other or unknown.';
    END IF;
    birth := @extschema@.fhir_datetime(patient ->> 'birthDate');
    IF birth IS NOT NULL THEN
        age_years := pg_catalog.date_part('year', pg_catalog.age(admitted_at::date, birth::date))::integer;
    END IF;
    source := coalesce(encounter #>> '{hospitalization,admitSource,coding,0,code}', '');
    admission_source := CASE
        WHEN source = 'hosp-trans' THEN 'transfer'
        WHEN source = 'emd' THEN 'emergency'
        WHEN source = 'outp' THEN 'outpatient'
        WHEN source IN ('born', 'gp', 'mp', 'nursing', 'psych', 'rehab', 'other') THEN 'other'
        WHEN encounter #>> '{priority,coding,0,code}' = 'EL' THEN 'elective'
        WHEN coalesce(encounter #>> '{class,code}', encounter #>> '{class,0,code}') = 'EMER'
             OR encounter #>> '{priority,coding,0,code}' = 'EM' THEN 'emergency'
        ELSE 'unknown' END;
    disp := encounter #>> '{hospitalization,dischargeDisposition,coding,0,code}';
    died_at := @extschema@.fhir_datetime(patient ->> 'deceasedDateTime');
    died_in_hospital := CASE
        WHEN discharged_at IS NULL THEN NULL
        WHEN disp = 'exp' THEN true
        WHEN died_at IS NOT NULL AND died_at >= admitted_at AND died_at <= discharged_at THEN true
        WHEN disp IS NOT NULL THEN false
        END;
END
$$;
COMMENT ON FUNCTION @extschema@.fhir_admission_values(jsonb, jsonb) IS
    'The admission columns of an inpatient Encounter: period.start and period.end, age at admission from Patient.birthDate, sex from Patient.gender, the admission source from hospitalization.admitSource (emd, hosp-trans, outp, ...), priority EL/EM or class EMER, and death in hospital from dischargeDisposition exp or a deceasedDateTime within the stay (NULL when unknown or still admitted).';

-- ---------------------------------------------------------------------------
-- The value of an Observation (or of one of its components)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.fhir_observation_value(part jsonb, value_key text,
    OUT value float8, OUT value_text text, OUT unit text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    q   jsonb := part -> value_key;
    cmp text;
BEGIN
    IF value_key = 'valueQuantity' THEN
        cmp := q ->> 'comparator';
        IF cmp IS NOT NULL AND cmp NOT IN ('<', '<=', '>=', '>') THEN
            RAISE EXCEPTION 'valueQuantity.comparator "%" is not one of <, <=, >=, >', cmp
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF pg_catalog.jsonb_typeof(q -> 'value') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'valueQuantity.value % is no number', coalesce((q -> 'value')::text, 'missing')
                USING ERRCODE = 'invalid_text_representation';
        END IF;
        value := (q ->> 'value')::float8;
        IF cmp IS NOT NULL THEN
            value_text := cmp || (q ->> 'value');
        END IF;
        unit := CASE WHEN q ->> 'system' = 'http://unitsofmeasure.org' AND q ->> 'code' IS NOT NULL
                     THEN q ->> 'code'
                     ELSE coalesce(q ->> 'unit', q ->> 'code') END;
    ELSIF value_key = 'valueInteger' THEN
        IF pg_catalog.jsonb_typeof(q) IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'valueInteger % is no number', q::text USING ERRCODE = 'invalid_text_representation';
        END IF;
        value := (part ->> value_key)::float8;
    ELSIF value_key = 'valueString' THEN
        value_text := part ->> value_key;
    ELSIF value_key = 'valueBoolean' THEN
        value_text := part ->> value_key;
    ELSIF value_key = 'valueCodeableConcept' THEN
        value_text := coalesce(q ->> 'text', q #>> '{coding,0,display}', q #>> '{coding,0,code}');
    ELSE
        RAISE EXCEPTION '% is not read (valueQuantity, valueString, valueInteger, valueBoolean and valueCodeableConcept are)',
                value_key
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF value IS NULL AND coalesce(value_text, '') = '' THEN
        RAISE EXCEPTION '% holds no value', value_key USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.fhir_observation_value(jsonb, text) IS
    'The lab_result value, value_text and unit of an Observation''s (or component''s) value[x]: valueQuantity as its number in its UCUM code (else its unit), a comparator as censored text (<5, >=1000) beside the number; valueInteger as the number; valueString, valueBoolean and valueCodeableConcept (text, display or code) as value_text, which lab_row_status reads like any text result. 22023 for other value types and unknown comparators, 22P02 for a value that is no number.';

-- ---------------------------------------------------------------------------
-- One resource
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.fhir_ingest_entry(item jsonb, full_urls jsonb,
    OUT outcome text, OUT rows_written integer, OUT reason text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    res        jsonb := item -> 'resource';
    rtype      text;
    rid        text;
    vid        text;
    lu         timestamptz;
    hash       text;
    old        record;
    cmp        integer;
    status     text;
    cls        text;
    subj       text;
    pat        jsonb;
    enc_ref    text;
    enc        record;
    adm        bigint;
    a          record;
    l          record;
    loc_ref    text;
    loc        jsonb;
    loc_name   text;
    st_start   timestamptz;
    st_end     timestamptz;
    sampled    timestamptz;
    resulted   timestamptz;
    at_time    timestamptz;
    ids        bigint[] := '{}';
    v          record;
    n          integer := 0;
    d          integer := 0;
    kept_res   jsonb;
    skip_why   text;
    cats       text[];
    codes      text[];
    val        record;
    row_id     bigint;
BEGIN
    rows_written := 0;
    IF res IS NULL OR pg_catalog.jsonb_typeof(res) <> 'object' THEN
        IF item #>> '{request,method}' = 'DELETE' THEN
            outcome := 'skipped';
            reason := 'DELETE ' || coalesce(item #>> '{request,url}', '') || ': delete requests are not applied; delete the rows, or send the resource with status entered-in-error';
            RETURN;
        END IF;
        RAISE EXCEPTION 'bundle entry has no resource object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    rtype := res ->> 'resourceType';
    IF rtype IS NULL THEN
        RAISE EXCEPTION 'resource has no resourceType' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    rid := coalesce(res ->> 'id', pg_catalog.substring(item ->> 'fullUrl', '^urn:uuid:(.+)$'));
    IF rtype NOT IN ('Patient', 'Encounter', 'Observation', 'Condition', 'Location') THEN
        outcome := 'skipped';
        reason := 'resource type ' || rtype || ' is not read (Patient, Encounter, Observation, Condition and Location are)';
        RETURN;
    END IF;
    IF rid IS NULL OR rid = '' THEN
        RAISE EXCEPTION '% has no id (and its fullUrl is no urn:uuid)', rtype
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    vid := res #>> '{meta,versionId}';
    lu := @extschema@.fhir_datetime(res #>> '{meta,lastUpdated}');
    hash := pg_catalog.md5(res::text);

    SELECT * INTO old FROM @extschema@.fhir_resource r
     WHERE r.resource_type = rtype AND r.resource_id = rid FOR UPDATE;
    IF FOUND THEN
        cmp := @extschema@.fhir_version_order(vid, lu, hash, old.version_id, old.last_updated, old.content_hash);
        IF cmp = 0 THEN
            outcome := 'unchanged';
            reason := 'this version was read before (' || old.outcome || ')';
            RETURN;
        ELSIF cmp < 0 THEN
            outcome := 'stale';
            reason := 'version ' || coalesce(vid, 'without versionId') || ' is older than version '
                      || coalesce(old.version_id, '?') || ', which is loaded: not applied';
            RETURN;
        END IF;
    END IF;

    status := res ->> 'status';

    -- ---------------------------------------------------------------- Location, Patient
    IF rtype IN ('Location', 'Patient') THEN
        IF rtype = 'Patient' THEN
            IF coalesce(res ->> 'gender', 'unknown') NOT IN ('female', 'male', 'other', 'unknown') THEN
                RAISE EXCEPTION 'Patient/%: gender "%" is not a FHIR administrative gender', rid, res ->> 'gender'
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'FHIR R4 gender is male, female, other or unknown.';
            END IF;
            PERFORM @extschema@.fhir_datetime(res ->> 'birthDate'), @extschema@.fhir_datetime(res ->> 'deceasedDateTime');
        END IF;
        kept_res := res;
        reason := CASE rtype WHEN 'Patient' THEN 'patient (read by the admissions of its encounters)'
                             ELSE 'location ' || coalesce(res ->> 'name', rid) END;
        INSERT INTO @extschema@.fhir_resource AS r (resource_type, resource_id, version_id, last_updated,
                    content_hash, outcome, detail, resource)
        VALUES (rtype, rid, vid, lu, hash, 'loaded', reason, kept_res)
        ON CONFLICT (resource_type, resource_id) DO UPDATE
           SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
               content_hash = EXCLUDED.content_hash, outcome = 'loaded', detail = EXCLUDED.detail,
               resource = EXCLUDED.resource, ingested_at = pg_catalog.now();
        IF rtype = 'Patient' AND old.resource_id IS NOT NULL THEN
            -- a newer version: the admissions of its encounters read it again
            FOR enc IN SELECT r.admission_id, r.resource FROM @extschema@.fhir_resource r
                        WHERE r.resource_type = 'Encounter' AND r.subject = 'Patient/' || rid
                          AND r.outcome = 'loaded' LOOP
                SELECT * INTO a FROM @extschema@.fhir_admission_values(enc.resource, res);
                UPDATE @extschema@.admission t
                   SET age_years = a.age_years, sex = a.sex, died_in_hospital = a.died_in_hospital
                 WHERE t.admission_id = enc.admission_id;
                n := n + 1;
            END LOOP;
            reason := reason || '; ' || n || ' admission(s) updated';
        END IF;
        outcome := CASE WHEN old.resource_id IS NULL THEN 'loaded' ELSE 'updated' END;
        rows_written := n;
        RETURN;
    END IF;

    -- ---------------------------------------------------------------- the subject
    subj := @extschema@.fhir_reference(res #>> '{subject,reference}', full_urls);
    IF rtype = 'Encounter' THEN
        cls := coalesce(res #>> '{class,code}', res #>> '{class,0,code}');
        IF status IN ('planned', 'cancelled', 'entered-in-error') THEN
            skip_why := 'status ' || status || ': not an admission';
        ELSIF cls IS NULL OR cls NOT IN ('IMP', 'ACUTE', 'NONAC', 'EMER', 'OBSENC', 'SS') THEN
            skip_why := 'class ' || coalesce(cls, 'missing') || ' is not an inpatient class (IMP, ACUTE, NONAC, EMER, OBSENC, SS)';
        END IF;
    ELSIF rtype = 'Observation' THEN
        IF status IN ('entered-in-error', 'cancelled', 'registered') THEN
            skip_why := 'status ' || status || ': no result to load';
        ELSE
            cats := ARRAY(SELECT c.value ->> 'code'
                            FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(res -> 'category') = 'array'
                                                                      THEN res -> 'category' ELSE '[]'::jsonb END) AS t(value),
                                 pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(t.value -> 'coding') = 'array'
                                                                      THEN t.value -> 'coding' ELSE '[]'::jsonb END) AS c(value));
            IF pg_catalog.cardinality(cats) > 0
               AND NOT (cats && ARRAY['laboratory', 'vital-signs']) THEN
                skip_why := 'category ' || pg_catalog.array_to_string(cats, ', ')
                            || ' is not read (laboratory and vital-signs are)';
            END IF;
        END IF;
    ELSE  -- Condition
        IF res #>> '{verificationStatus,coding,0,code}' IN ('entered-in-error', 'refuted') THEN
            skip_why := 'verificationStatus ' || (res #>> '{verificationStatus,coding,0,code}') || ': not a diagnosis';
        ELSE
            codes := ARRAY(SELECT DISTINCT pg_catalog.upper(pg_catalog.btrim(c.value ->> 'code'))
                             FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(res #> '{code,coding}') = 'array'
                                                                       THEN res #> '{code,coding}' ELSE '[]'::jsonb END) AS c(value)
                            WHERE (c.value ->> 'system' ~* 'icd-?10'
                                   OR c.value ->> 'system' IN ('urn:oid:2.16.840.1.113883.6.3',
                                                               'urn:oid:2.16.840.1.113883.6.90'))
                              AND coalesce(c.value ->> 'code', '') <> '');
            IF pg_catalog.cardinality(codes) = 0 THEN
                skip_why := 'no ICD-10 coding (codes: '
                            || coalesce(pg_catalog.array_to_string(@extschema@.fhir_codes(res -> 'code'), ', '), '') || ')';
            END IF;
        END IF;
    END IF;

    IF skip_why IS NULL THEN
        IF subj IS NULL OR pg_catalog.split_part(subj, '/', 1) <> 'Patient' THEN
            RAISE EXCEPTION '%/%: subject % is no Patient reference', rtype, rid,
                    coalesce(pg_catalog.quote_literal(res #>> '{subject,reference}'), 'missing')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT r.resource INTO pat FROM @extschema@.fhir_resource r
         WHERE r.resource_type = 'Patient' AND r.resource_id = pg_catalog.split_part(subj, '/', 2)
           AND r.outcome = 'loaded';
        IF NOT FOUND THEN
            RAISE EXCEPTION '%/%: subject % is not loaded (it is in neither this bundle nor an earlier ingest, or its entry failed)', rtype, rid, subj
                USING ERRCODE = 'foreign_key_violation',
                      HINT = 'Send the Patient in the same bundle or an earlier one.';
        END IF;
    END IF;

    -- ---------------------------------------------------------------- Encounter
    IF rtype = 'Encounter' THEN
        adm := old.admission_id;
        IF skip_why IS NOT NULL THEN
            IF adm IS NOT NULL THEN
                DELETE FROM @extschema@.admission t WHERE t.admission_id = adm;
                GET DIAGNOSTICS n = ROW_COUNT;
                -- the resources whose rows went with it load again when sent again
                DELETE FROM @extschema@.fhir_resource r
                 WHERE r.resource_type IN ('Observation', 'Condition') AND r.admission_id = adm;
                GET DIAGNOSTICS d = ROW_COUNT;
                skip_why := skip_why || '; the admission of the earlier version is deleted (with its stays, labs and diagnoses; '
                            || d || ' Observation/Condition resource(s) of it are forgotten and load again when sent)';
            END IF;
            adm := NULL;
        ELSE
            SELECT * INTO a FROM @extschema@.fhir_admission_values(res, pat);
            IF adm IS NULL THEN
                LOOP
                    adm := pg_catalog.nextval('@extschema@.fhir_admission_key_seq');
                    EXIT WHEN NOT EXISTS (SELECT 1 FROM @extschema@.admission t WHERE t.admission_id = adm);
                END LOOP;
            END IF;
            DELETE FROM @extschema@.location_stay t WHERE t.admission_id = adm;
            GET DIAGNOSTICS d = ROW_COUNT;
            INSERT INTO @extschema@.admission AS t (admission_id, patient_id, admitted_at, discharged_at, age_years,
                        sex, admission_source, died_in_hospital)
            VALUES (adm, pg_catalog.split_part(subj, '/', 2), a.admitted_at, a.discharged_at, a.age_years,
                    a.sex, a.admission_source, a.died_in_hospital)
            ON CONFLICT (admission_id) DO UPDATE
               SET patient_id = EXCLUDED.patient_id, admitted_at = EXCLUDED.admitted_at,
                   discharged_at = EXCLUDED.discharged_at, age_years = EXCLUDED.age_years,
                   sex = EXCLUDED.sex, admission_source = EXCLUDED.admission_source,
                   died_in_hospital = EXCLUDED.died_in_hospital;
            n := 1 + d;
            FOR l IN SELECT e.value, e.n
                       FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(res -> 'location') = 'array'
                                                                 THEN res -> 'location' ELSE '[]'::jsonb END)
                            WITH ORDINALITY AS e(value, n)
                      ORDER BY e.n LOOP
                CONTINUE WHEN coalesce(l.value ->> 'status', 'active') IN ('planned', 'reserved');
                loc := NULL;
                loc_ref := l.value #>> '{location,reference}';
                IF loc_ref LIKE '#%' THEN
                    SELECT c.value INTO loc
                      FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(res -> 'contained') = 'array'
                                                                THEN res -> 'contained' ELSE '[]'::jsonb END) AS c(value)
                     WHERE c.value ->> 'id' = pg_catalog.substr(loc_ref, 2) LIMIT 1;
                    loc_ref := NULL;
                ELSE
                    loc_ref := @extschema@.fhir_reference(loc_ref, full_urls);
                    SELECT r.resource INTO loc FROM @extschema@.fhir_resource r
                     WHERE r.resource_type = 'Location' AND 'Location/' || r.resource_id = loc_ref;
                END IF;
                loc_name := coalesce(loc ->> 'name', l.value #>> '{location,display}', loc_ref);
                IF loc_name IS NULL OR loc_name = '' THEN
                    RAISE EXCEPTION 'Encounter/%: location % has neither a Location with a name nor a display',
                            rid, l.n
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                st_start := @extschema@.fhir_datetime(l.value #>> '{period,start}');
                IF st_start IS NULL THEN
                    RAISE EXCEPTION 'Encounter/%: location % (%) has no period.start', rid, l.n, loc_name
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                st_end := coalesce(@extschema@.fhir_datetime(l.value #>> '{period,end}'), a.discharged_at);
                INSERT INTO @extschema@.location_stay (admission_id, unit, unit_kind, started_at, ended_at)
                VALUES (adm, loc_name, @extschema@.fhir_unit_kind(loc_ref, loc_name, loc), st_start, st_end);
                n := n + 1;
            END LOOP;
            reason := 'admission ' || adm || ' with ' || (n - 1 - d) || ' location stay(s)';
        END IF;
        INSERT INTO @extschema@.fhir_resource AS r (resource_type, resource_id, version_id, last_updated,
                    content_hash, outcome, detail, subject, admission_id, resource)
        VALUES (rtype, rid, vid, lu, hash, CASE WHEN skip_why IS NULL THEN 'loaded' ELSE 'skipped' END,
                coalesce(skip_why, reason), subj, adm, res)
        ON CONFLICT (resource_type, resource_id) DO UPDATE
           SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
               content_hash = EXCLUDED.content_hash, outcome = EXCLUDED.outcome, detail = EXCLUDED.detail,
               subject = EXCLUDED.subject, admission_id = EXCLUDED.admission_id,
               resource = EXCLUDED.resource, ingested_at = pg_catalog.now();
        outcome := CASE WHEN skip_why IS NOT NULL THEN 'skipped'
                        WHEN old.resource_id IS NULL THEN 'loaded' ELSE 'updated' END;
        reason := coalesce(skip_why, reason);
        rows_written := n;
        RETURN;
    END IF;

    -- ---------------------------------------------------------------- Observation, Condition
    -- the rows the older version wrote go first
    IF old.resource_id IS NOT NULL THEN
        DELETE FROM @extschema@.lab_result t WHERE t.lab_result_id = ANY (old.lab_result_ids);
        GET DIAGNOSTICS d = ROW_COUNT;
        n := d;
        DELETE FROM @extschema@.diagnosis t WHERE t.diagnosis_id = ANY (old.diagnosis_ids);
        GET DIAGNOSTICS d = ROW_COUNT;
        n := n + d;
    END IF;

    IF skip_why IS NULL THEN
        IF rtype = 'Observation' THEN
            sampled := coalesce(@extschema@.fhir_datetime(res ->> 'effectiveDateTime'),
                                @extschema@.fhir_datetime(res #>> '{effectivePeriod,start}'),
                                @extschema@.fhir_datetime(res ->> 'effectiveInstant'));
            resulted := coalesce(@extschema@.fhir_datetime(res ->> 'issued'), sampled);
            IF resulted IS NULL THEN
                RAISE EXCEPTION 'Observation/% has neither effective[x] nor issued: a result needs a time', rid
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            at_time := coalesce(sampled, resulted);
        ELSE
            at_time := coalesce(@extschema@.fhir_datetime(res ->> 'recordedDate'),
                                @extschema@.fhir_datetime(res ->> 'onsetDateTime'));
        END IF;
        -- the admission: the encounter referenced, else the subject's admission at the time
        enc_ref := @extschema@.fhir_reference(res #>> '{encounter,reference}', full_urls);
        IF res #>> '{encounter,reference}' IS NOT NULL THEN
            SELECT r.outcome, r.detail, r.admission_id, r.subject INTO enc FROM @extschema@.fhir_resource r
             WHERE r.resource_type = 'Encounter' AND 'Encounter/' || r.resource_id = enc_ref;
            IF NOT FOUND THEN
                RAISE EXCEPTION '%/%: encounter % is not loaded (it is in neither this bundle nor an earlier ingest, or its entry failed)', rtype, rid,
                        coalesce(enc_ref, res #>> '{encounter,reference}')
                    USING ERRCODE = 'foreign_key_violation',
                          HINT = 'Send the Encounter in the same bundle or an earlier one.';
            END IF;
            IF enc.outcome = 'skipped' THEN
                skip_why := 'its encounter ' || enc_ref || ' is no admission (' || enc.detail || ')';
            ELSIF enc.subject IS DISTINCT FROM subj THEN
                RAISE EXCEPTION '%/%: subject % is not the subject % of its encounter %', rtype, rid, subj,
                        enc.subject, enc_ref
                    USING ERRCODE = 'foreign_key_violation';
            ELSE
                adm := enc.admission_id;
            END IF;
        ELSE
            SELECT t.admission_id INTO adm
              FROM @extschema@.fhir_resource r
              JOIN @extschema@.admission t ON t.admission_id = r.admission_id
             WHERE r.resource_type = 'Encounter' AND r.subject = subj AND r.outcome = 'loaded'
               AND at_time >= t.admitted_at AND (t.discharged_at IS NULL OR at_time <= t.discharged_at)
             ORDER BY t.admitted_at DESC LIMIT 1;
            IF adm IS NULL THEN
                RAISE EXCEPTION '%/% has no encounter, and no admission of % covers %', rtype, rid, subj,
                        coalesce(at_time::text, 'an unknown time')
                    USING ERRCODE = 'foreign_key_violation',
                          HINT = 'Give the resource its encounter, or send the inpatient Encounter of that time.';
            END IF;
        END IF;
    END IF;

    IF skip_why IS NULL AND rtype = 'Observation' THEN
        FOR v IN
            WITH parts AS (
                SELECT 0::bigint AS n, res AS part, @extschema@.fhir_code(res -> 'code') AS code
                UNION ALL
                SELECT c.n, c.value, @extschema@.fhir_code(c.value -> 'code')
                  FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(res -> 'component') = 'array'
                                                            THEN res -> 'component' ELSE '[]'::jsonb END)
                       WITH ORDINALITY AS c(value, n)
            )
            SELECT p.n, p.code, p.part,
                   (SELECT k.key FROM pg_catalog.jsonb_object_keys(p.part) AS k(key)
                     WHERE k.key ~ '^value[A-Z]' ORDER BY k.key LIMIT 1) AS value_key
              FROM parts p ORDER BY p.n
        LOOP
            CONTINUE WHEN v.value_key IS NULL;
            IF v.code IS NULL THEN
                RAISE EXCEPTION 'Observation/%: % has no coded code', rid,
                        CASE WHEN v.n = 0 THEN 'the observation' ELSE 'component ' || v.n END
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            SELECT * INTO val FROM @extschema@.fhir_observation_value(v.part, v.value_key) AS x;
            INSERT INTO @extschema@.lab_result AS t (admission_id, local_code, value, value_text, unit,
                        sampled_at, resulted_at)
            VALUES (adm, v.code, val.value, val.value_text, val.unit, sampled, resulted)
            RETURNING t.lab_result_id INTO row_id;
            ids := ids || row_id;
        END LOOP;
        IF pg_catalog.cardinality(ids) = 0 THEN
            skip_why := 'no value to load'
                        || coalesce(' (dataAbsentReason ' || coalesce(res #>> '{dataAbsentReason,coding,0,code}',
                                                                      res #>> '{dataAbsentReason,text}') || ')', '');
        ELSE
            reason := pg_catalog.cardinality(ids) || ' lab_result row(s) of admission ' || adm;
        END IF;
    ELSIF skip_why IS NULL THEN   -- Condition
        SELECT t.admitted_at INTO st_start FROM @extschema@.admission t WHERE t.admission_id = adm;
        FOR v IN SELECT c.code FROM pg_catalog.unnest(codes) AS c(code) ORDER BY 1 LOOP
            INSERT INTO @extschema@.diagnosis AS t (admission_id, icd10_code, diagnosed_at)
            VALUES (adm, v.code, CASE WHEN at_time > st_start THEN at_time END)
            RETURNING t.diagnosis_id INTO row_id;
            ids := ids || row_id;
        END LOOP;
        reason := pg_catalog.array_to_string(codes, ', ') || ' of admission ' || adm;
    END IF;

    INSERT INTO @extschema@.fhir_resource AS r (resource_type, resource_id, version_id, last_updated,
                content_hash, outcome, detail, subject, admission_id, lab_result_ids, diagnosis_ids)
    VALUES (rtype, rid, vid, lu, hash, CASE WHEN skip_why IS NULL THEN 'loaded' ELSE 'skipped' END,
            coalesce(skip_why, reason), subj, CASE WHEN skip_why IS NULL THEN adm END,
            CASE WHEN rtype = 'Observation' AND skip_why IS NULL THEN ids ELSE '{}' END,
            CASE WHEN rtype = 'Condition' AND skip_why IS NULL THEN ids ELSE '{}' END)
    ON CONFLICT (resource_type, resource_id) DO UPDATE
       SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
           content_hash = EXCLUDED.content_hash, outcome = EXCLUDED.outcome, detail = EXCLUDED.detail,
           subject = EXCLUDED.subject, admission_id = EXCLUDED.admission_id,
           lab_result_ids = EXCLUDED.lab_result_ids, diagnosis_ids = EXCLUDED.diagnosis_ids,
           resource = NULL, ingested_at = pg_catalog.now();
    outcome := CASE WHEN skip_why IS NOT NULL THEN 'skipped'
                    WHEN old.resource_id IS NULL THEN 'loaded' ELSE 'updated' END;
    IF skip_why IS NOT NULL AND n > 0 THEN
        skip_why := skip_why || '; the ' || n || ' row(s) of the earlier version are deleted';
    END IF;
    reason := coalesce(skip_why, reason);
    rows_written := n + CASE WHEN skip_why IS NULL THEN pg_catalog.cardinality(ids) ELSE 0 END;
END
$$;
COMMENT ON FUNCTION @extschema@.fhir_ingest_entry(jsonb, jsonb) IS
    'Loads one Bundle entry (fhir_ingest() calls it in a subtransaction per entry): outcome loaded, updated, unchanged, stale or skipped, the canonical rows written and the reason. Raises on a bad resource (22P02 malformed value, 22023 missing or invalid element, 23503 unresolved reference, 23xxx a canonical constraint).';

-- ---------------------------------------------------------------------------
-- The bundle
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.fhir_ingest(bundle jsonb)
RETURNS TABLE (entry integer, resource_type text, resource_id text, version_id text,
               outcome text, rows_written integer, sqlstate text, reason text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    run       bigint;
    urls      jsonb;
    e         record;
    r         record;
    st        text;
    msg       text;
    det       text;
BEGIN
    IF bundle IS NULL OR pg_catalog.jsonb_typeof(bundle) <> 'object' THEN
        RAISE EXCEPTION 'fhir_ingest: the argument is no JSON object but %',
                coalesce(pg_catalog.jsonb_typeof(bundle), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a FHIR R4 Bundle: {"resourceType": "Bundle", "type": "collection", "entry": [...]}.';
    END IF;
    IF (bundle ->> 'resourceType') IS DISTINCT FROM 'Bundle' THEN
        RAISE EXCEPTION 'fhir_ingest: resourceType is %, not Bundle',
                coalesce(pg_catalog.quote_literal(bundle ->> 'resourceType'), 'missing')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Wrap single resources in a Bundle of type collection.';
    END IF;
    IF (bundle ->> 'type') IS NULL OR (bundle ->> 'type') NOT IN ('transaction', 'batch', 'collection', 'searchset') THEN
        RAISE EXCEPTION 'fhir_ingest: Bundle.type % is not read',
                coalesce(pg_catalog.quote_literal(bundle ->> 'type'), 'missing')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Bundles of type transaction, batch, collection and searchset are read.';
    END IF;
    IF bundle ? 'entry' AND pg_catalog.jsonb_typeof(bundle -> 'entry') <> 'array' THEN
        RAISE EXCEPTION 'fhir_ingest: Bundle.entry is no array'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    run := pg_catalog.nextval('@extschema@.fhir_ingest_id_seq');
    -- fullUrl -> Type/id, so references between entries resolve (urn:uuid too)
    SELECT coalesce(pg_catalog.jsonb_object_agg(x.value ->> 'fullUrl',
                        (x.value #>> '{resource,resourceType}') || '/'
                        || coalesce(x.value #>> '{resource,id}',
                                    pg_catalog.substring(x.value ->> 'fullUrl', '^urn:uuid:(.+)$'))), '{}')
      INTO urls
      FROM pg_catalog.jsonb_array_elements(coalesce(bundle -> 'entry', '[]')) AS x(value)
     WHERE x.value ->> 'fullUrl' IS NOT NULL AND x.value #>> '{resource,resourceType}' IS NOT NULL
       AND coalesce(x.value #>> '{resource,id}', pg_catalog.substring(x.value ->> 'fullUrl', '^urn:uuid:(.+)$')) IS NOT NULL;

    -- locations and patients first, then encounters, then what refers to them
    FOR e IN SELECT x.n::integer AS n, x.value AS item
               FROM pg_catalog.jsonb_array_elements(coalesce(bundle -> 'entry', '[]')) WITH ORDINALITY AS x(value, n)
              ORDER BY CASE x.value #>> '{resource,resourceType}'
                           WHEN 'Location' THEN 0 WHEN 'Patient' THEN 1 WHEN 'Encounter' THEN 2 ELSE 3 END,
                       x.n
    LOOP
        st := NULL;
        BEGIN
            SELECT * INTO r FROM @extschema@.fhir_ingest_entry(e.item, urls) AS f;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
        END;
        INSERT INTO @extschema@.fhir_ingest_log AS l (ingest_id, entry, resource_type, resource_id, version_id,
                    outcome, rows_written, sqlstate, reason)
        VALUES (run, e.n, e.item #>> '{resource,resourceType}',
                coalesce(e.item #>> '{resource,id}', pg_catalog.substring(e.item ->> 'fullUrl', '^urn:uuid:(.+)$')),
                e.item #>> '{resource,meta,versionId}',
                CASE WHEN st IS NULL THEN r.outcome ELSE 'error' END,
                CASE WHEN st IS NULL THEN r.rows_written ELSE 0 END,
                st,
                CASE WHEN st IS NULL THEN r.reason ELSE msg || coalesce(' (' || nullif(det, '') || ')', '') END);
    END LOOP;

    RETURN QUERY
        SELECT l.entry, l.resource_type, l.resource_id, l.version_id, l.outcome, l.rows_written,
               l.sqlstate, l.reason
          FROM @extschema@.fhir_ingest_log l
         WHERE l.ingest_id = run
         ORDER BY l.entry;
END
$$;
COMMENT ON FUNCTION @extschema@.fhir_ingest(jsonb) IS
    'Ingests a FHIR R4 Bundle (transaction, batch, collection or searchset) of Patient, Encounter, Observation, Condition and Location resources into admission, location_stay, lab_result and diagnosis, and returns one row per entry: outcome (loaded, updated, unchanged, stale, skipped, error), canonical rows written, SQLSTATE and reason. Each entry is loaded in its own subtransaction, so a bad resource leaves nothing behind and the others load; a transaction bundle is not all-or-nothing. Re-ingest is keyed by type, id and meta.versionId. 22023 when the argument is no Bundle of a type read. The report is kept in fhir_ingest_log.';
