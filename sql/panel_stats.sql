-- One definition of each statistic (issue 13, item 6):
--   * mean and trend are the same bits in any input order: serial over many
--     shuffles (ordered aggregates), parallel over tables in shuffled physical
--     order, and the daily series;
--   * the trend needs its values in the window to span at least 6 hours;
--   * count and rejected are 0 for an absent feature, in lab_value as in risk().
SET TimeZone = 'UTC';
SET extra_float_digits = 3;
SET search_path = icu_predict, public;

-- 40 ferritin values with two decimals (not binary fractions), at odd times
-- within the 72-hour trend window before 2020-04-04 00:00
CREATE TABLE st_v AS
SELECT i AS id,
       round((600 + 150 * sin(i * 1.7) + (i * 37 % 100) / 100.0)::numeric, 2)::float8 AS v,
       '2020-04-04 00:00+00'::timestamptz - i * interval '1 hour 37 minutes 13 seconds' AS t
  FROM generate_series(1, 40) AS i;

-- the data is order-sensitive for a naive sum: plain float8 sum() and
-- regr_slope() give different bits over the same shuffles
SELECT count(DISTINCT float8send(s)) > 1 AS naive_sum_depends_on_order,
       count(DISTINCT float8send(r)) > 1 AS naive_slope_depends_on_order
  FROM (SELECT k, sum(v ORDER BY md5(k || ':' || id)) AS s,
               regr_slope(v, extract(epoch FROM t) ORDER BY md5(k || ':' || id)) AS r
          FROM st_v, generate_series(1, 300) AS k GROUP BY k) x;

-- 300 shuffles, serial: one mean and one trend, to the bit
CREATE TABLE st_perm AS
SELECT k, lab_panel(1, 'ferritin', v, t, '2020-04-04 00:00+00' ORDER BY md5(k || ':' || id)) AS p
  FROM st_v, generate_series(1, 300) AS k GROUP BY k;
SELECT count(*) AS shuffles,
       count(DISTINCT float8send(lab_value(p, 'ferritin', 'mean'))) AS mean_bit_patterns,
       count(DISTINCT float8send(lab_value(p, 'ferritin', 'trend'))) AS trend_bit_patterns,
       count(DISTINCT p::text) AS panel_texts
  FROM st_perm;
-- ascending and descending value order, as text with all digits
SELECT lab_value(a.p, 'ferritin', 'mean') AS mean_asc, lab_value(d.p, 'ferritin', 'mean') AS mean_desc,
       lab_value(a.p, 'ferritin', 'trend')::text = lab_value(d.p, 'ferritin', 'trend')::text AS trend_same
  FROM (SELECT lab_panel(1, 'ferritin', v, t, '2020-04-04 00:00+00' ORDER BY v) AS p FROM st_v) a,
       (SELECT lab_panel(1, 'ferritin', v, t, '2020-04-04 00:00+00' ORDER BY v DESC) AS p FROM st_v) d;
-- and they are the exact values, rounded: mean within half an ulp of the
-- exact numeric mean, slope within 1e-14 relative of the exact numeric slope
SELECT abs(lab_value(p, 'ferritin', 'mean') - e.mean) <= 0.5 * 1.2e-13 AS mean_exact,
       abs(lab_value(p, 'ferritin', 'trend') - e.slope) <= 1e-14 * abs(e.slope) AS trend_exact
  FROM (SELECT p FROM st_perm WHERE k = 1) x,
       (SELECT sum(v::numeric) / count(*) AS mean,
               (count(*) * sum(xd * v::numeric) - sum(xd) * sum(v::numeric))
                 / (count(*) * sum(xd * xd) - sum(xd) * sum(xd)) AS slope
          FROM (SELECT v, extract(epoch FROM t - '2020-04-04 00:00+00') / 86400 AS xd FROM st_v) y) e;

-- parallel: 400 admissions x 40 values, in three shuffled physical orders;
-- every partial aggregate gets a different share of each admission's rows
CREATE TABLE st_serial AS
SELECT a AS admission_id, lab_panel(a, 'ferritin', v * (1 + a / 1000.0), t + a * interval '1 second',
                                    '2020-04-04 00:00+00') AS p
  FROM st_v, generate_series(1, 400) AS a GROUP BY a;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
CREATE TABLE st_par AS SELECT 0 AS seed, NULL::bigint AS admission_id, NULL::lab_panel AS p LIMIT 0;
DO $$
BEGIN
    FOR s IN 1..3 LOOP
        DROP TABLE IF EXISTS st_rows;
        CREATE TABLE st_rows AS
        SELECT a AS admission_id, v * (1 + a / 1000.0) AS v, t + a * interval '1 second' AS t
          FROM st_v, generate_series(1, 400) AS a
         ORDER BY md5(s || ':' || a || ':' || id);
        ANALYZE st_rows;
        INSERT INTO st_par
        SELECT s, admission_id, lab_panel(admission_id, 'ferritin', v, t, '2020-04-04 00:00+00')
          FROM st_rows GROUP BY admission_id;
    END LOOP;
END
$$;
EXPLAIN (COSTS OFF)
SELECT admission_id, lab_panel(admission_id, 'ferritin', v, t, '2020-04-04 00:00+00')
  FROM st_rows GROUP BY admission_id;
RESET parallel_leader_participation;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT count(*) AS compared,
       count(*) FILTER (WHERE float8send(lab_value(s.p, 'ferritin', st)) IS DISTINCT FROM
                              float8send(lab_value(p.p, 'ferritin', st))) AS bits_differ,
       count(*) FILTER (WHERE lab_value(s.p, 'ferritin', st) IS NULL) AS nulls
  FROM st_serial s JOIN st_par p USING (admission_id),
       unnest(ARRAY['mean', 'trend', 'last', 'count']) AS st;
-- the daily series gives the same bits as the as-of aggregate on its last day
SELECT count(*) AS compared,
       count(*) FILTER (WHERE float8send(lab_value(d.s[array_upper(d.s, 1)], 'ferritin', st)) IS DISTINCT FROM
                              float8send(lab_value(s.p, 'ferritin', st))) AS bits_differ
  FROM (SELECT admission_id, lab_panel_series(admission_id, 'ferritin', v, t,
                                              '2020-03-31 00:00+00', '2020-04-04 00:00+00') AS s
          FROM st_rows GROUP BY admission_id) d
  JOIN st_serial s USING (admission_id),
       unnest(ARRAY['mean', 'trend']) AS st;

-- minimum span of the trend: 6 hours between first and last value in the window
SELECT span, lab_value(lab_panel(1, 'crp', v, t, '2020-04-04 00:00+00'), 'crp', 'trend') AS trend
  FROM (VALUES (interval '1 minute'), (interval '5 hours 59 minutes'), (interval '6 hours'),
               (interval '12 hours')) AS sp(span),
       LATERAL (VALUES (10::float8, '2020-04-03 12:00+00'::timestamptz),
                       (20::float8, '2020-04-03 12:00+00'::timestamptz + sp.span)) AS r(v, t)
 GROUP BY span ORDER BY span;
-- 61 values a minute apart (one hour) give no trend; moving the last one 6 hours later does
SELECT lab_value(lab_panel(1, 'crp', 10 + i, '2020-04-03 12:00+00'::timestamptz + i * interval '1 minute',
                           '2020-04-04 00:00+00'), 'crp', 'trend') AS within_one_hour,
       round(lab_value(lab_panel(1, 'crp', 10 + i,
                                 '2020-04-03 12:00+00'::timestamptz + i * interval '1 minute'
                                   + CASE WHEN i = 60 THEN interval '6 hours' ELSE interval '0' END,
                                 '2020-04-04 00:00+00'), 'crp', 'trend')::numeric, 6) AS with_one_more
  FROM generate_series(0, 60) AS i;
-- the daily series applies the same rule
SELECT lab_value(s[1], 'crp', 'trend') AS one_minute_apart
  FROM (SELECT lab_panel_series(1, 'crp', v, t, '2020-04-03 00:00+00', '2020-04-03 23:00+00') AS s
          FROM (VALUES (10::float8, '2020-04-03 10:00+00'::timestamptz),
                       (20, '2020-04-03 10:01+00')) r(v, t)) x;

-- count and rejected of an absent feature: 0, also for a NULL panel
SELECT lab_value(p, 'ldh', 'count') AS ldh_count, lab_value(p, 'ldh', 'rejected') AS ldh_rejected,
       lab_value(p, 'ldh', 'last') AS ldh_last,
       lab_value(NULL::lab_panel, 'crp', 'count') AS null_panel_count,
       lab_value(NULL::lab_panel, 'crp', 'rejected') AS null_panel_rejected,
       lab_value(NULL::lab_panel, 'crp', 'mean') AS null_panel_mean,
       lab_value(p, 'crp', NULL) AS null_stat, lab_value(p, NULL, 'count') AS null_feature
  FROM (SELECT lab_panel(1, 'crp', 10, '2020-04-03 12:00+00', '2020-04-04 00:00+00') AS p) x;
-- ... and a NULL panel still checks the names
SELECT lab_value(NULL::lab_panel, 'no_such_feature', 'count');
SELECT lab_value(NULL::lab_panel, 'crp', 'median');

-- count consistency: risk() reads count and rejected as lab_value does, for a
-- panel with the feature, a panel without it and a NULL panel
BEGIN;
INSERT INTO model (name, version, kind, format, horizon_hours, spec) VALUES
('st_count', '1', 'icu_admission', 'linear', 48,
 '{"format":"linear","link":"logit","intercept":-1,
   "inputs":[{"feature":"crp","stat":"count","impute":5,"coef":0.3,"missing_coef":2},
             {"feature":"crp","stat":"rejected","impute":5,"coef":0.7,"missing_coef":2}]}');
SELECT label, lab_value(p, 'crp', 'count') AS crp_count, lab_value(p, 'crp', 'rejected') AS crp_rejected,
       abs(risk(p, model_name => 'st_count', model_version => '1')
           - 1 / (1 + exp(-(-1 + 0.3 * lab_value(p, 'crp', 'count') + 0.7 * lab_value(p, 'crp', 'rejected')))))
         < 1e-15 AS risk_reads_lab_value
  FROM (VALUES ('with crp', (SELECT lab_panel(1, f, v, '2020-04-03 12:00+00', '2020-04-04 00:00+00')
                               FROM (VALUES ('crp', 10::float8), ('crp', 2000), ('crp', 30)) r(f, v))),
               ('without crp', (SELECT lab_panel(1, 'ldh', 300, '2020-04-03 12:00+00', '2020-04-04 00:00+00'))),
               ('NULL panel', NULL::lab_panel)) AS c(label, p)
 ORDER BY label;
ROLLBACK;

DROP TABLE st_v, st_perm, st_serial, st_par, st_rows;
RESET search_path;
