CREATE UNLOGGED TABLE icu_bench.out_floor AS SELECT l.admission_id, pg_catalog.count(*) AS n
  FROM icu_predict.lab_canonical l
 WHERE l.resulted_at <= '2020-06-01 00:00:00+00'::timestamptz AND l.admission_id IN (SELECT a.admission_id FROM icu_predict.admission a WHERE a.admitted_at <= '2020-06-01 00:00:00+00'::timestamptz AND (a.discharged_at IS NULL OR a.discharged_at > '2020-06-01 00:00:00+00'::timestamptz))
 GROUP BY l.admission_id;
