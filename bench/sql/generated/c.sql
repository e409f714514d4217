CREATE UNLOGGED TABLE icu_bench.out_c AS WITH panel AS (
  SELECT l.admission_id,
         icu_predict.lab_panel(l.admission_id, l.feature, l.value, l.resulted_at, '2020-06-01 00:00:00+00'::timestamptz) AS p
    FROM icu_predict.lab_canonical l
   WHERE l.resulted_at <= '2020-06-01 00:00:00+00'::timestamptz AND l.admission_id IN (SELECT a.admission_id FROM icu_predict.admission a WHERE a.admitted_at <= '2020-06-01 00:00:00+00'::timestamptz AND (a.discharged_at IS NULL OR a.discharged_at > '2020-06-01 00:00:00+00'::timestamptz))
   GROUP BY l.admission_id
), scored AS MATERIALIZED (
  SELECT c.admission_id, c.is_current, c.in_icu, c.spent_days,
         icu_predict.risk(p.p, c.age_years, c.sex, c.hours_since_admission, c.unit_kind, 'bench_risk', '1') AS risk,
         icu_predict.length_of_stay(p.p, c.age_years, c.sex, c.hours_since_admission, c.unit_kind, 'bench_stay', '1') AS los,
         CASE WHEN NOT c.is_current THEN NULL
              WHEN c.in_icu THEN ARRAY(SELECT icu_predict.stay_survival(p.p, c.spent_days + g, c.age_years, c.sex, c.hours_since_admission, c.unit_kind, 'bench_stay', '1')
                                         FROM pg_catalog.generate_series(0, 14) g ORDER BY g)
              ELSE ARRAY(SELECT icu_predict.stay_survival(p.p, g + 0.5, c.age_years, c.sex, c.hours_since_admission, c.unit_kind, 'bench_stay', '1')
                           FROM pg_catalog.generate_series(0, 13) g ORDER BY g) END AS s
    FROM (SELECT a.admission_id,
              a.admitted_at <= '2020-06-01 00:00:00+00'::timestamptz AND (a.discharged_at IS NULL OR a.discharged_at > '2020-06-01 00:00:00+00'::timestamptz) AS is_current,
              a.age_years::float8 AS age_years, a.sex,
              CASE a.sex WHEN 'male' THEN 1.0 WHEN 'female' THEN 0.0 WHEN 'other' THEN 0.0 END::float8 AS sex_male,
              pg_catalog.date_part('epoch', '2020-06-01 00:00:00+00'::timestamptz - a.admitted_at) / 3600.0 AS hours_since_admission,
              ls.unit_kind,
              coalesce(ls.unit_kind = 'icu', false) AS in_icu,
              CASE WHEN ls.unit_kind = 'icu'
                   THEN pg_catalog.date_part('epoch', '2020-06-01 00:00:00+00'::timestamptz - ls.started_at) / 86400.0 END AS spent_days
         FROM icu_predict.admission a
         LEFT JOIN LATERAL (
              SELECT s.unit_kind, s.started_at FROM icu_predict.location_stay s
               WHERE s.admission_id = a.admission_id AND s.started_at <= '2020-06-01 00:00:00+00'::timestamptz
                 AND (s.ended_at IS NULL OR s.ended_at > '2020-06-01 00:00:00+00'::timestamptz)
               ORDER BY s.started_at DESC LIMIT 1) ls ON true
        WHERE a.admitted_at <= '2020-06-01 00:00:00+00'::timestamptz AND (a.discharged_at IS NULL OR a.discharged_at > '2020-06-01 00:00:00+00'::timestamptz)) c
    LEFT JOIN panel p ON p.admission_id = c.admission_id
)
SELECT admission_id, is_current, in_icu, spent_days, risk,
       ln((los).location_days) AS mu, (los).expected_days, (los).p10_days, (los).p90_days, s
  FROM scored;

WITH x AS MATERIALIZED (
  SELECT h.d,
         CASE WHEN o.in_icu THEN CASE WHEN o.s[1] > 0 THEN least(1.0, o.s[h.d + 1] / o.s[1]) ELSE 0.0 END
              ELSE (SELECT coalesce(pg_catalog.sum(((1.0 - o.risk) ^ (k / 7.0)
                                                    - (1.0 - o.risk) ^ ((k + 1) / 7.0))
                                                   * o.s[h.d - k]), 0)
                      FROM pg_catalog.generate_series(0, h.d - 1) k) END AS p
    FROM icu_bench.out_c o, pg_catalog.generate_series(1, 14) h(d)
   WHERE o.is_current
)
SELECT d AS horizon_day, icu_predict.mean(bd) AS expected_beds,
       icu_predict.quantile(bd, 0.5) AS p50_beds, icu_predict.quantile(bd, 0.9) AS p90_beds,
       icu_predict.quantile(bd, 0.95) AS p95_beds
  FROM (SELECT d, icu_predict.bed_demand(p) AS bd
          FROM x GROUP BY d) y
 ORDER BY d;
