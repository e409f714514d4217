-- icu_predict 0.2.0 -> 0.3.0 upgrade script (ALTER EXTENSION icu_predict UPDATE).
--
-- Carries every schema change between the released 0.2.0 install script
-- (extension/icu_predict--0.2.0.sql, kept as shipped) and the 0.3.0 install
-- parts (extension/sql/), so that an updated database holds the same objects
-- as a fresh 0.3.0 install (tools/check-upgrade.sh proves it for every
-- released version).  Each change adds its own section.  See CHANGELOG.md.

\echo Use "ALTER EXTENSION icu_predict UPDATE TO '0.3.0'" to load this file. \quit

-- ===========================================================================
-- 1. issue 15: the default models retrained with the 0.3.0 training (first-
--    window-safe inputs, landmark validation, the quality gate): the data
--    file icu_predict_default_models.json ships new rows for the 48 h, 7 day
--    and stay slots (new model_ids below the old ones, versions suffixed with
--    their spec's hash) and keeps the rows 0.1.0 and 0.2.0 shipped (ids 1-3)
--    as they were.  Loading it adds the new rows and leaves every deployment
--    alone: a slot a deployment pinned keeps its model; a slot on the builtin
--    fallback moves to the newest shipped model (active_model).  No object
--    changes (load_default_models() is the 0.2.0 function).
-- ===========================================================================
SELECT pg_catalog.count(*) FROM @extschema@.load_default_models();
