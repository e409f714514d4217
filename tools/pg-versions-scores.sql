-- Every score of the daily views, one line per value, for
-- tools/pg-versions.sh, which compares the lines of PostgreSQL 17 and 18
-- with 15's.  Run with psql -v reference_time='...' on a database holding
-- the extension and a loaded cohort.
--
-- Output: key <tab> column <tab> value, for each row of patient_status and
-- capacity_forecast and each of their columns, except the time stamps of
-- the refresh itself.  The key is the view's unique index (the one
-- REFRESH ... CONCURRENTLY uses), read from the catalog, so the listing
-- follows the views when columns are added.  Values go through jsonb, whose
-- float8 text is the shortest string that reads back as the same double.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT pg_catalog.set_config('icu_predict.reference_time', :'reference_time', false) \g /dev/null
INSERT INTO icu_predict.ward_access (role_name, ward) VALUES (current_user, '*') ON CONFLICT DO NOTHING;
CALL icu_predict.refresh();

\pset format unaligned
\pset fieldsep '\t'
\pset tuples_only on
\pset null ''

SELECT pg_catalog.format(
         $q$SELECT %1$L || ':' || concat_ws('|', %2$s) AS key, j.key AS name, j.value
              FROM icu_predict.%1$I m,
                   jsonb_each_text(to_jsonb(m) - %3$L::text[]) j
             ORDER BY 1, 2$q$,
         c.relname,
         (SELECT pg_catalog.string_agg(pg_catalog.format('m.%I', a.attname), ', ' ORDER BY k.ord)
            FROM pg_catalog.unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum),
         (SELECT coalesce(pg_catalog.array_agg(a.attname::text), '{}')
            FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             AND a.atttypid = 'timestamptz'::regtype
             AND a.attname ~ '(refreshed|computed|generated|created)'))
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisunique
 WHERE c.relnamespace = 'icu_predict'::regnamespace
   AND c.relkind = 'm'
   AND c.relname IN ('patient_status', 'capacity_forecast')
 ORDER BY c.relname
\gexec
