-- lab_panel: hand-made cohort, values computed by hand; as-of rule; parallel triple.
SET TimeZone = 'UTC';
SET icu_predict.day_timezone = 'Europe/Amsterdam';
SET search_path = icu_predict, public;

INSERT INTO admission (admission_id, patient_id, admitted_at, discharged_at, age_years) VALUES
    (9001, 'pan-1', '2020-04-01 08:00+00', NULL, 64),
    (9002, 'pan-2', '2020-04-01 08:00+00', '2020-04-02 20:00+00', 51),
    (9003, 'pan-3', '2020-04-02 08:00+00', NULL, 70);
INSERT INTO lab_map (local_code, unit, feature, factor, note) VALUES
    ('PAN-CRP', 'mg/L',  'crp', 1,  'test'),
    ('PAN-CRP', 'mg/dL', 'crp', 10, 'test: 1 mg/dL = 10 mg/L'),
    ('PAN-CREA', 'umol/L', 'creatinine', 1 / 88.4, 'test'),
    ('PAN-LDH', 'U/L',   'ldh', 1,  'test');
-- as_of used below: 2020-04-04 00:00 UTC
INSERT INTO lab_result (admission_id, local_code, value, value_text, unit, resulted_at) VALUES
    (9001, 'PAN-CRP', 10,   NULL, 'mg/L',  '2020-04-02 00:00+00'),  -- day -2
    (9001, 'PAN-CRP', 2,    NULL, 'MG/DL', '2020-04-03 00:00+00'),  -- 20 mg/L, day -1
    (9001, 'PAN-CRP', 40,   NULL, 'mg/L',  '2020-04-04 00:00+00'),  -- day 0 = as_of: counts
    (9001, 'PAN-CRP', 99,   NULL, 'mg/L',  '2020-04-04 00:00:01+00'), -- one second late: not in
    (9001, 'PAN-CRP', 5,    NULL, 'mg/L',  '2020-03-31 12:00+00'),  -- outside trend window
    (9001, 'PAN-CRP', 1500, NULL, 'mg/L',  '2020-04-03 06:00+00'),  -- implausible: rejected
    (9001, 'PAN-CRP', NULL, 'HEMOLYZED', 'mg/L', '2020-04-03 07:00+00'),  -- text only, no number
    (9001, 'PAN-CREA', 88.4, NULL, 'umol/L', '2020-04-02 09:00+00'),
    (9001, 'PAN-XYZ', 3,    NULL, 'mmol/L','2020-04-02 09:00+00'),  -- unmapped
    (9002, 'PAN-LDH', 300,  NULL, 'U/L',   '2020-04-01 10:00+00'),
    (9002, 'PAN-LDH', 300,  NULL, 'U/L',   '2020-04-01 10:00+00'),  -- duplicate
    (9002, 'PAN-LDH', 5,    NULL, 'U/L',   '2020-04-01 11:00+00');  -- below 10: rejected

-- canonical rows: unit spelling folded, mg/dL converted, text/unmapped left out
SELECT admission_id, feature, round(value::numeric, 6) AS value, resulted_at
  FROM lab_canonical WHERE admission_id IN (9001, 9002, 9003)
 ORDER BY admission_id, feature, resulted_at, value;
SELECT local_code, unit_key, reason, mapped_feature, n_rows, n_text_only
  FROM lab_unmapped WHERE local_code LIKE 'PAN-%' ORDER BY 1, 2, 3;

CREATE TABLE panel_t AS
SELECT a.admission_id,
       lab_panel(a.admission_id, c.feature, c.value, c.resulted_at, '2020-04-04 00:00+00') AS p
  FROM admission a LEFT JOIN lab_canonical c ON c.admission_id = a.admission_id
 WHERE a.admission_id IN (9001, 9002, 9003)
 GROUP BY a.admission_id;

-- the whole panel, as text
SELECT admission_id, p FROM panel_t ORDER BY 1;

-- CRP of 9001 by hand: accepted values 5 (03-31 12:00), 10, 20, 40; 1500 rejected;
-- 99 resulted one second after as_of is not there.
-- trend over [as_of - 72 h, as_of]: points (-2, 10), (-1, 20), (0, 40):
-- slope = sum((x - mean x)(y - mean y)) / sum((x - mean x)^2) = 30 / 2 = 15 per day.
SELECT s, lab_value(p, 'crp', s) AS got,
       CASE s WHEN 'last' THEN 40 WHEN 'prev' THEN 20 WHEN 'first' THEN 5
              WHEN 'min' THEN 5 WHEN 'max' THEN 40 WHEN 'mean' THEN (5 + 10 + 20 + 40) / 4.0
              WHEN 'count' THEN 4 WHEN 'rejected' THEN 1 WHEN 'trend' THEN 30 / 2.0
              WHEN 'hours_since_last' THEN 0 END AS by_hand
  FROM panel_t, unnest(ARRAY['last','prev','first','min','max','mean','count',
                             'rejected','trend','hours_since_last']) AS s
 WHERE admission_id = 9001;
SELECT lab_last_at(p, 'crp') AS crp_last_at,
       round(lab_value(p, 'creatinine', 'last')::numeric, 12) AS crea_mg_dl,  -- 88.4 umol/L = 1 mg/dL
       lab_value(p, 'creatinine', 'hours_since_last') AS crea_hours,          -- 04-02 09:00 -> 04-04 00:00
       lab_value(p, 'creatinine', 'prev') IS NULL AS crea_no_prev,
       lab_value(p, 'creatinine', 'trend') IS NULL AS crea_no_trend,
       lab_value(p, 'ferritin', 'last') IS NULL AS ferritin_known_but_absent,
       lab_features(p), lab_admission(p), lab_as_of(p)
  FROM panel_t WHERE admission_id = 9001;
-- ties: two LDH 300 at the same time; prev is the other one; 5 U/L rejected
SELECT lab_value(p, 'ldh', 'count') AS n, lab_value(p, 'ldh', 'prev') AS prev,
       lab_value(p, 'ldh', 'rejected') AS rejected, lab_value(p, 'ldh', 'trend') AS trend
  FROM panel_t WHERE admission_id = 9002;
-- no labs: an empty panel, not NULL
SELECT p, lab_value(p, 'crp', 'count') AS n FROM panel_t WHERE admission_id = 9003;

-- as-of: moving as_of one second later lets the 99 in
SELECT lab_value(lab_panel_at(9001, '2020-04-04 00:00:01+00'), 'crp', 'last') AS last_1s_later,
       lab_value(lab_panel_at(9001, '2020-04-04 00:00:00+00'), 'crp', 'last') AS last_at_as_of;

-- panels are compact (no TOAST): 32 + 80 per feature + names
SELECT admission_id, pg_column_size(p) FROM panel_t ORDER BY 1;
-- text and jsonb round trip
SELECT admission_id, p::text::lab_panel::text = p::text AS text_round_trip,
       (p::jsonb)::text::lab_panel::text = p::text AS jsonb_round_trip
  FROM panel_t ORDER BY 1;

-- daily series: days end at midnight Europe/Amsterdam (22:00 UTC in April);
-- the last day as of discharge (9002) or as of the given time (9001).
SELECT admission_id, day, as_of, lab_value(panel, 'crp', 'last') AS crp_last,
       lab_value(panel, 'crp', 'count') AS crp_n, lab_value(panel, 'ldh', 'count') AS ldh_n
  FROM lab_panel_daily_all('2020-04-04 00:00+00')
 WHERE admission_id IN (9001, 9002, 9003) ORDER BY 1, 2;
-- each daily panel equals the as-of aggregate at its as_of
SELECT d.day, d.panel::text = lab_panel_at(9001, d.as_of)::text AS same_as_aggregate
  FROM lab_panel_daily(9001, '2020-04-04 00:00+00') d ORDER BY d.day;

-- ---------------------------------------------------------------------------
-- Parallel triple
-- ---------------------------------------------------------------------------
CREATE TABLE panel_par (admission_id bigint, feature text, value float8, resulted_at timestamptz);
INSERT INTO panel_par
SELECT 1 + i % 40,
       (ARRAY['crp','ldh','d_dimer','creatinine','platelets'])[1 + (i / 40) % 5],
       ((i * 7919) % 1000) / 7.0 + 1,
       '2020-04-01 00:00+00'::timestamptz + (i % 9973) * interval '1 minute'
  FROM generate_series(1, 60000) AS i;
ANALYZE panel_par;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT lab_panel(feature, value, resulted_at, '2020-04-06 00:00+00') FROM panel_par WHERE admission_id = 7;
CREATE TABLE panel_par_p AS
SELECT admission_id, lab_panel(admission_id, feature, value, resulted_at, '2020-04-06 00:00+00') AS p
  FROM panel_par GROUP BY admission_id;
CREATE TABLE panel_par_d AS
SELECT admission_id, lab_panel_series(admission_id, feature, value, resulted_at,
                                      '2020-04-01 00:00+00', '2020-04-08 12:00+00') AS s
  FROM panel_par GROUP BY admission_id;
SELECT lab_panel(feature, value, resulted_at, '2020-04-06 00:00+00')::text AS p1
  FROM panel_par WHERE admission_id = 7 \gset
RESET parallel_leader_participation;
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF)
SELECT lab_panel(feature, value, resulted_at, '2020-04-06 00:00+00') FROM panel_par WHERE admission_id = 7;
CREATE TABLE panel_par_s AS
SELECT admission_id, lab_panel(admission_id, feature, value, resulted_at, '2020-04-06 00:00+00') AS p
  FROM panel_par GROUP BY admission_id;
CREATE TABLE panel_par_ds AS
SELECT admission_id, lab_panel_series(admission_id, feature, value, resulted_at,
                                      '2020-04-01 00:00+00', '2020-04-08 12:00+00') AS s
  FROM panel_par GROUP BY admission_id;

-- parallel = serial to the bit for every statistic (mean and trend from exact sums)
SELECT count(*) AS compared,
       count(*) FILTER (WHERE float8send(lab_value(s.p, f, st)) IS DISTINCT FROM
                              float8send(lab_value(p.p, f, st))) AS bits_differ,
       count(*) FILTER (WHERE st IN ('mean', 'trend') AND lab_value(s.p, f, st) IS NOT NULL) AS sums_compared,
       count(*) FILTER (WHERE lab_value(s.p, f, st) IS NULL) AS nulls
  FROM panel_par_s s JOIN panel_par_p p USING (admission_id),
       unnest(ARRAY['crp','ldh','d_dimer','creatinine','platelets']) AS f,
       unnest(ARRAY['last','prev','first','min','max','mean','count','rejected',
                    'trend','hours_since_last']) AS st;
SELECT count(*) AS admissions FROM panel_par_s s JOIN panel_par_p p USING (admission_id);
SELECT count(*) AS compared,
       count(*) FILTER (WHERE lab_value(s.p, f, st) IS DISTINCT FROM lab_value(:'p1'::lab_panel, f, st)) AS exact_differ
  FROM (SELECT lab_panel(feature, value, resulted_at, '2020-04-06 00:00+00') AS p
          FROM panel_par WHERE admission_id = 7) s,
       unnest(ARRAY['crp','ldh','d_dimer','creatinine','platelets']) AS f,
       unnest(ARRAY['last','prev','first','min','max','count','rejected','hours_since_last']) AS st;
-- daily series: parallel = serial, and each day equals the as-of panel, to the bit
SELECT count(*) AS compared,
       count(*) FILTER (WHERE float8send(lab_value(a.p, f, st)) IS DISTINCT FROM
                              float8send(lab_value(b.p, f, st))) AS bits_differ
  FROM panel_par_ds x JOIN panel_par_d y USING (admission_id),
       unnest(x.s, y.s) AS u(ap, bp), LATERAL (SELECT u.ap AS p) a, LATERAL (SELECT u.bp AS p) b,
       unnest(ARRAY['crp','ldh','d_dimer']) AS f,
       unnest(ARRAY['last','mean','count','trend']) AS st;
SELECT count(*) AS day_panels,
       count(*) FILTER (WHERE float8send(lab_value(u.p, f, st)) IS DISTINCT FROM
                              float8send(lab_value(q.p, f, st))) AS bits_differ,
       count(*) FILTER (WHERE st IN ('mean', 'trend') AND lab_value(q.p, f, st) IS NOT NULL) AS sums_compared
  FROM panel_par_ds x, unnest(x.s) AS u(p),
       LATERAL (SELECT lab_panel(r.admission_id, r.feature, r.value, r.resulted_at, lab_as_of(u.p)) AS p
                  FROM panel_par r WHERE r.admission_id = x.admission_id) q,
       unnest(ARRAY['crp','d_dimer']) AS f,
       unnest(ARRAY['last','prev','first','min','max','mean','count','rejected','trend']) AS st
 WHERE x.admission_id <= 5;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

DROP TABLE panel_t, panel_par, panel_par_p, panel_par_s, panel_par_d, panel_par_ds;
DELETE FROM lab_result WHERE admission_id IN (9001, 9002, 9003);
DELETE FROM lab_map WHERE local_code LIKE 'PAN-%';
DELETE FROM admission WHERE admission_id IN (9001, 9002, 9003);
RESET icu_predict.day_timezone;
RESET search_path;
