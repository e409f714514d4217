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
