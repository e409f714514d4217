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
