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
