-- Contracts of fhir_ingest(): objects, pg_dump registration, the SQLSTATEs of
-- docs/errors.md, one subtransaction per entry.
BEGIN;
SELECT plan(17);
SET search_path = icu_predict, public;

SELECT has_function('icu_predict', 'fhir_ingest', ARRAY['jsonb'], 'fhir_ingest(jsonb) exists');
SELECT has_table('icu_predict', 'fhir_resource', 'table fhir_resource exists');
SELECT col_is_pk('icu_predict', 'fhir_resource', ARRAY['resource_type', 'resource_id'],
                 'fhir_resource is keyed by resource type and id');
SELECT has_table('icu_predict', 'fhir_location_kind', 'table fhir_location_kind exists');
SELECT set_has(
    $$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) AS t(oid)
        JOIN pg_class c ON c.oid = t.oid WHERE e.extname = 'icu_predict'$$,
    $$VALUES ('fhir_resource'), ('fhir_location_kind'), ('fhir_ingest_log'),
             ('fhir_admission_key_seq'), ('fhir_ingest_id_seq')$$,
    'the FHIR tables and sequences are registered with pg_extension_config_dump');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'icu_predict'::regnamespace AND p.proname LIKE 'fhir%'
              AND (obj_description(p.oid, 'pg_proc') IS NULL
                   OR NOT coalesce(p.proconfig, '{}') && ARRAY['search_path=pg_catalog, pg_temp']
                      AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'sql'))),
          0, 'every fhir function has a COMMENT, and every plpgsql one a fixed search_path');

-- the argument is no Bundle: 22023 for the whole call
SELECT throws_ok($$SELECT * FROM fhir_ingest('[1]')$$, '22023', NULL, 'an array is no Bundle');
SELECT throws_ok($$SELECT * FROM fhir_ingest('{"resourceType": "Patient", "id": "p"}')$$, '22023',
                 'fhir_ingest: resourceType is ''Patient'', not Bundle', 'a Patient is no Bundle');
SELECT throws_ok($$SELECT * FROM fhir_ingest('{"resourceType": "Bundle", "type": "history"}')$$, '22023',
                 'fhir_ingest: Bundle.type ''history'' is not read', 'a history Bundle is not read');
SELECT throws_ok($$SELECT * FROM fhir_ingest(NULL)$$, '22023', NULL, 'NULL is no Bundle');
SELECT is((SELECT count(*)::int FROM fhir_ingest('{"resourceType": "Bundle", "type": "batch"}')), 0,
          'a Bundle without entries reports nothing');

-- FHIR values
SELECT throws_ok($$SELECT fhir_datetime('2020-04-01 08:00')$$, '22P02', NULL, 'a date with a space is 22P02');
SELECT is(fhir_datetime('2020-04-01T08:00:00+02:00'), '2020-04-01 06:00+00'::timestamptz, 'a dateTime with offset');
SELECT is(fhir_reference('urn:uuid:1', '{"urn:uuid:1": "Patient/p1"}'), 'Patient/p1', 'a fullUrl of the bundle');
SELECT is(fhir_reference('https://x.org/fhir/Encounter/e1/_history/3'), 'Encounter/e1', 'an absolute versioned reference');

-- one entry fails, the other loads; nothing of the failed one stays
SELECT results_eq(
    $$SELECT outcome, sqlstate FROM fhir_ingest('{"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "t1", "gender": "female"}},
        {"resource": {"resourceType": "Encounter", "id": "te", "status": "finished",
                      "class": {"code": "IMP"}, "subject": {"reference": "Patient/t1"},
                      "period": {"start": "2020-01-01T08:00:00Z", "end": "2020-01-05T08:00:00Z"},
                      "location": [{"location": {"display": "A"}, "period": {"start": "2020-01-01T08:00:00Z"}},
                                   {"location": {"display": "B"}, "period": {"start": "2020-01-02T08:00:00Z"}}]}}]}')
       ORDER BY entry$$,
    $$VALUES ('loaded', NULL::text), ('error', '23P01')$$,
    'overlapping stays fail their Encounter (23P01), the Patient loads');
SELECT is((SELECT count(*)::int FROM admission WHERE patient_id = 't1'), 0,
          'the failed Encounter left no admission behind');

SELECT * FROM finish();
ROLLBACK;
