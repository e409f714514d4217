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
--     deployment log; the data file keeps every model an earlier version
--     shipped (model/deploy.py), so a deployment or an edit of one, in place
--     or in a dump, finds its row; a shipped row the file no longer holds
--     stays, as a model of the user's (builtin = false, dumped from then on).

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
