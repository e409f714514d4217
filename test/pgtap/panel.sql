-- lab_panel contracts: bad input raises the right SQLSTATE; text and binary round trips.
BEGIN;
SELECT plan(57);
SET LOCAL search_path = icu_predict, public;
SET LOCAL TimeZone = 'UTC';

SELECT has_type('icu_predict', 'lab_panel', 'type lab_panel exists');
SELECT has_view('icu_predict', 'lab_canonical', 'view lab_canonical exists');
SELECT has_view('icu_predict', 'lab_unmapped', 'view lab_unmapped exists');
SELECT ok(p.proparallel = 's', 'aggregate ' || p.oid::regprocedure::text || ' is PARALLEL SAFE')
  FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
 WHERE p.proname = 'lab_panel' AND p.pronargs = 5 AND p.proargtypes[0] = 'int8'::regtype;
SELECT ok(a.aggcombinefn <> 0 AND a.aggserialfn <> 0 AND a.aggdeserialfn <> 0,
          'lab_panel has combine, serialize and deserialize functions')
  FROM pg_aggregate a JOIN pg_proc p ON a.aggfnoid = p.oid
 WHERE p.proname = 'lab_panel' AND p.pronargs = 5 AND p.proargtypes[0] = 'int8'::regtype;

-- bad values
SELECT throws_ok($$SELECT lab_panel(1, 'crp', 'NaN'::float8, '2020-01-01', '2020-01-02')$$,
                 '22023', NULL, 'NaN value: 22023');
SELECT throws_like($$SELECT lab_panel(42, 'crp', 'Infinity'::float8, '2020-01-01', '2020-01-02')$$,
                   '%feature "crp" of admission 42%', 'Infinity: error names feature and admission');
SELECT throws_ok($$SELECT lab_panel(1, 'ldh', '-Infinity'::float8, '2020-01-01', '2020-01-02')$$,
                 '22023', NULL, '-Infinity value: 22023');
SELECT throws_ok($$SELECT lab_panel_series(1, 'crp', 'NaN'::float8, '2020-01-01', '2020-01-01', '2020-01-02')$$,
                 '22023', NULL, 'NaN in the daily series: 22023');
SELECT throws_ok($$SELECT lab_panel(1, 'no_such_lab', 1, '2020-01-01', '2020-01-02')$$,
                 '42704', NULL, 'unknown feature in the aggregate: 42704');
SELECT throws_ok($$SELECT lab_panel(1, 'crp', 1, '2020-01-01', '2020-01-02', interval '5 years')$$,
                 '22023', 'trend window must be at most 4 years (35064 hours), got 43200 hours',
                 'trend window over 4 years: 22023');
SELECT throws_ok($$SELECT lab_panel_series(1, 'crp', 1, '2020-01-01', '2020-01-01', '2020-01-02', interval '5 years')$$,
                 '22023', NULL, 'trend window over 4 years in the daily series: 22023');
SELECT is((SELECT ARRAY[lab_value(p, 'ldh', 'count'), lab_value(p, 'ldh', 'rejected')]
             FROM (SELECT lab_panel(1, 'crp', 5, '2020-01-01', '2020-01-02') AS p) x), ARRAY[0, 0]::float8[],
          'count and rejected of a feature the panel lacks are 0');
SELECT ok(NOT p.proisstrict, 'lab_value is not STRICT: a NULL panel has count 0')
  FROM pg_proc p WHERE p.oid = 'icu_predict.lab_value(icu_predict.lab_panel, text, text)'::regprocedure;
SELECT is((SELECT lab_panel(1, 'crp', NULL, '2020-01-01', '2020-01-02')::text),
          '{"admission_id": 1, "as_of": "2020-01-02T00:00:00+00:00", "trend_window_hours": 72, "features": {}}',
          'NULL value is skipped');
SELECT is((SELECT lab_value(lab_panel(1, 'crp', 2000, '2020-01-01', '2020-01-02'), 'crp', 'rejected')),
          1::float8, 'implausible value is counted as rejected');
SELECT throws_ok($$SELECT lab_panel(a, 'crp', 1, '2020-01-01', '2020-01-02') FROM (VALUES (1), (2)) v(a)$$,
                 '22023', NULL, 'rows of two admissions in one group: 22023');

-- accessors
SELECT throws_ok($$SELECT lab_value(lab_panel(1, 'crp', 1, '2020-01-01', '2020-01-02'), 'no_such_lab', 'last')$$,
                 '42704', NULL, 'lab_value with unknown feature: 42704');
SELECT throws_like($$SELECT lab_value(lab_panel(1, 'crp', 1, '2020-01-01', '2020-01-02'), 'nope', 'last')$$,
                   'unknown lab feature%', 'the 42704 error names the feature');
SELECT throws_ok($$SELECT lab_value(lab_panel(1, 'crp', 1, '2020-01-01', '2020-01-02'), 'crp', 'median')$$,
                 '22023', NULL, 'lab_value with unknown stat: 22023');
SELECT is(lab_value(lab_panel(1, 'crp', 1, '2020-01-01', '2020-01-02'), 'ferritin', 'last'), NULL,
          'known feature without values gives NULL');

-- malformed text
SELECT throws_ok($$SELECT 'not json'::lab_panel$$, '22P02', NULL, 'not JSON: 22P02');
SELECT throws_ok($$SELECT '{}'::lab_panel$$, '22P02', NULL, 'empty object: 22P02');
SELECT throws_ok($$SELECT '{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {"Bad-Name": {"count": 0, "rejected": 0}}}'::lab_panel$$,
                 '22P02', NULL, 'bad feature name: 22P02');
SELECT throws_ok($$SELECT '{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {"crp": {"count": -1, "rejected": 0}}}'::lab_panel$$,
                 '22P02', NULL, 'negative count: 22P02');
SELECT throws_ok($$SELECT '{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {"crp": {"count": 1, "rejected": 0, "last": 5, "last_at": "2020-01-01", "first": 5, "min": 6, "max": 4, "mean": 5}}}'::lab_panel$$,
                 '22P02', NULL, 'min > max: 22P02');
SELECT throws_ok($$SELECT '{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {"crp": {"count": 1, "rejected": 0, "last": 5, "last_at": "2020-02-01", "first": 5, "min": 5, "max": 5, "mean": 5}}}'::lab_panel$$,
                 '22P02', NULL, 'last_at after as_of: 22P02');
SELECT throws_ok($$SELECT '{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {}, "extra": 1}'::lab_panel$$,
                 '22P02', NULL, 'unknown key: 22P02');

-- round trips on a real panel
CREATE TEMP TABLE panel_rt AS
SELECT lab_panel(1, f, v, t, '2020-01-05 00:00+00') AS p
  FROM (VALUES ('crp', 12.5, '2020-01-01 10:00+00'::timestamptz), ('crp', 1e-7, '2020-01-03 10:00+00'),
               ('crp', 0.1, '2020-01-04 10:00+00'), ('ldh', 321.123456789, '2020-01-02 10:00+00'),
               ('d_dimer', 500, '2020-01-02 10:00+00')) v(f, v, t);
SELECT is((SELECT p::text::lab_panel::text FROM panel_rt), (SELECT p::text FROM panel_rt),
          'text -> panel -> text is the identity');
SELECT is((SELECT lab_panel_send(p::text::lab_panel) FROM panel_rt), (SELECT lab_panel_send(p) FROM panel_rt),
          'text round trip keeps every bit');

-- binary: send -> recv through COPY (FORMAT binary); bytea's binary form is the raw bytes
CREATE TEMP TABLE panel_bin (b bytea);
CREATE TEMP TABLE panel_back (p lab_panel);
CREATE FUNCTION pg_temp.recv(bytes bytea) RETURNS lab_panel LANGUAGE plpgsql AS $$
DECLARE f text := '/tmp/icu_panel_tap_' || pg_backend_pid() || '.bin'; r lab_panel;
BEGIN
    DELETE FROM panel_bin; DELETE FROM panel_back;
    INSERT INTO panel_bin VALUES (bytes);
    EXECUTE format('COPY panel_bin TO %L (FORMAT binary)', f);
    EXECUTE format('COPY panel_back FROM %L (FORMAT binary)', f);
    SELECT p INTO r FROM panel_back;
    RETURN r;
END $$;
SELECT is((SELECT lab_panel_send(pg_temp.recv(lab_panel_send(p))) FROM panel_rt),
          (SELECT lab_panel_send(p) FROM panel_rt), 'send -> recv is the identity');
SELECT throws_ok($$SELECT pg_temp.recv(substr(lab_panel_send(p), 1, length(lab_panel_send(p)) - 3)) FROM panel_rt$$,
                 '22P03', NULL, 'truncated binary: 22P03');
SELECT throws_ok($$SELECT pg_temp.recv(lab_panel_send(p) || '\x00'::bytea) FROM panel_rt$$,
                 '22P03', NULL, 'trailing bytes: 22P03');
-- feature count (bytes 27-28) says 1000 features
SELECT throws_ok($$SELECT pg_temp.recv(overlay(lab_panel_send(p) placing '\x03e8'::bytea from 27 for 2)) FROM panel_rt$$,
                 '22P03', NULL, 'feature count larger than the data: 22P03');
-- found by bench/fuzz_inputs.py: binary input took any int64 as a time, storing
-- values that text output (and so pg_dump) could not print
SELECT throws_ok($$SELECT pg_temp.recv(overlay(lab_panel_send(p) placing int8send(9223371331200000000) from 11 for 8)) FROM panel_rt$$,
                 '22P03', NULL, 'binary as_of at the end of the timestamptz range: 22P03');
SELECT throws_ok($$SELECT pg_temp.recv(overlay(lab_panel_send(p) placing int8send(-9223372036854775807) from 11 for 8)) FROM panel_rt$$,
                 '22P03', NULL, 'binary as_of below the timestamptz range: 22P03');
-- hours_since_last over the widest valid span (more than int64 microseconds)
SELECT cmp_ok(lab_value('{"as_of": "294276-12-31 00:00+00", "trend_window_hours": 72, "features": {"crp": {"count": 1, "rejected": 0, "last": 5, "last_at": "4713-01-01 00:00+00 BC", "first": 5, "min": 5, "max": 5, "mean": 5}}}'::lab_panel,
                        'crp', 'hours_since_last'), '>', 2.6e9::float8,
              'hours_since_last over the widest span is positive (no int64 overflow)');
-- -0.0 (from the aggregate or binary input) is stored as 0: JSON text has no
-- negative zero, so the text round trip would lose the sign bit
SELECT is((SELECT lab_panel(1, 'crp', '-0'::float8, '2020-01-01', '2020-01-02')::text::lab_panel::text),
          (SELECT lab_panel(1, 'crp', '-0'::float8, '2020-01-01', '2020-01-02')::text),
          'a -0 lab value survives the text round trip');
SELECT is((SELECT lab_panel_send(pg_temp.recv(lab_panel_send(lab_panel(1, 'crp', '-0'::float8, '2020-01-01', '2020-01-02'))))),
          (SELECT lab_panel_send(lab_panel(1, 'crp', '-0'::float8, '2020-01-01', '2020-01-02')::text::lab_panel)),
          'binary and text input agree on a -0 value');
-- admission ids beyond 2^53 (any bigint): text output read back (pg_dump)
SELECT is((SELECT lab_admission(lab_panel(9223372036854775807, 'crp', 1, '2020-01-01', '2020-01-02')::text::lab_panel)),
          9223372036854775807::bigint, 'the largest bigint admission id survives the text round trip');
SELECT throws_ok($$SELECT '{"admission_id": 1.5, "as_of": "2020-01-01", "trend_window_hours": 72, "features": {}}'::lab_panel$$,
                 '22P02', NULL, 'fractional admission id: 22P02');
SELECT throws_ok($$SELECT '{"admission_id": 9223372036854775808, "as_of": "2020-01-01", "trend_window_hours": 72, "features": {}}'::lab_panel$$,
                 '22003', NULL, 'admission id beyond bigint: 22003');

-- layout identity: a hash of the sorted feature names, recomputed on input
SELECT is((SELECT lab_layout_id(p::text::lab_panel) FROM panel_rt), (SELECT lab_layout_id(p) FROM panel_rt),
          'text round trip keeps the layout id');
SELECT is((SELECT lab_layout_id(pg_temp.recv(lab_panel_send(p))) FROM panel_rt), (SELECT lab_layout_id(p) FROM panel_rt),
          'send -> recv keeps the layout id');
SELECT is((SELECT lab_layout_id(lab_panel(7, f, v, t, '2021-06-01 00:00+00'))
             FROM (VALUES ('ldh', 250.0, '2021-05-01 10:00+00'::timestamptz), ('d_dimer', 900, '2021-05-02 10:00+00'),
                          ('crp', 3, '2021-05-03 10:00+00')) v(f, v, t)),
          (SELECT lab_layout_id(p) FROM panel_rt),
          'same features (other values, admission, order of input): same layout id');
SELECT isnt((SELECT lab_layout_id(lab_panel(1, f, v, t, '2020-01-05 00:00+00'))
               FROM (VALUES ('crp', 12.5, '2020-01-01 10:00+00'::timestamptz), ('ldh', 321, '2020-01-02 10:00+00')) v(f, v, t)),
            (SELECT lab_layout_id(p) FROM panel_rt),
            'a feature less: another layout id');
SELECT ok((SELECT lab_layout_id('{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {}}'::lab_panel)) BETWEEN 1 AND 4294967295,
          'layout id of the empty panel is a non-zero uint32');

-- the shared rules, defined once in C
SELECT is(ARRAY(SELECT lab_stats()),
          ARRAY['last','prev','first','min','max','mean','count','rejected','trend','hours_since_last'],
          'lab_stats() lists the ten statistics in order');
SELECT is(feature_name_max_length(), 31, 'feature names have at most 31 bytes');
SELECT is(ARRAY(SELECT n FROM unnest(ARRAY['crp', 'd_dimer', 'a' || repeat('b', 30), 'a' || repeat('b', 31),
                                           'Crp', '1crp', 'crp-x', '', 'crp ']) n WHERE feature_name_ok(n)),
          ARRAY['crp', 'd_dimer', 'a' || repeat('b', 30)], 'feature_name_ok: lower-case letter first, [a-z0-9_], at most 31');
SELECT is((SELECT count(*)::int FROM unnest(ARRAY['crp', 'd_dimer', 'a' || repeat('b', 30), 'a' || repeat('b', 31),
                                                   'Crp', '1crp', 'crp-x', 'crp ', 'x_1']) n
            WHERE feature_name_ok(n) <> (n ~ '^[a-z][a-z0-9_]{0,30}$')), 0,
          'feature_name_ok agrees with the feature table''s name CHECK');
SELECT throws_ok($$SELECT lab_value(p, 'crp', 'median') FROM panel_rt$$, '22023',
                 'unknown lab panel statistic "median"', 'unknown statistic: 22023');
-- settings are checked when set (the library is loaded in this session)
SELECT throws_ok($$SET LOCAL icu_predict.day_timezone = 'Nowhere/Atlantis'$$, '22023',
                 'icu_predict.day_timezone "Nowhere/Atlantis" is not a known time zone',
                 'a bad icu_predict.day_timezone fails at SET');
SELECT throws_ok($$SET LOCAL icu_predict.reference_time = 'not a time'$$, '22023',
                 'icu_predict.reference_time "not a time" is not a finite time stamp',
                 'a bad icu_predict.reference_time fails at SET');
SELECT throws_ok($$SET LOCAL icu_predict.reference_time = 'infinity'$$, '22023', NULL,
                 'an infinite icu_predict.reference_time fails at SET');
SELECT lives_ok($$SET LOCAL icu_predict.reference_time = '2020-04-01 08:00+02'$$, 'a timestamptz is accepted');
SELECT lives_ok($$SET LOCAL icu_predict.day_timezone = 'Europe/Amsterdam'$$, 'a known zone is accepted');
RESET icu_predict.reference_time;
RESET icu_predict.day_timezone;

SELECT * FROM finish();
ROLLBACK;
