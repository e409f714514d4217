-- icu_predict 0.2.0 -> 0.3.0 upgrade script (ALTER EXTENSION icu_predict UPDATE).
--
-- Carries every schema change between the released 0.2.0 install script
-- (extension/icu_predict--0.2.0.sql, kept as shipped) and the 0.3.0 install
-- parts (extension/sql/), so that an updated database holds the same objects
-- as a fresh 0.3.0 install (tools/check-upgrade.sh proves it for every
-- released version).  Each change adds its own section.  See CHANGELOG.md.

\echo Use "ALTER EXTENSION icu_predict UPDATE TO '0.3.0'" to load this file. \quit
