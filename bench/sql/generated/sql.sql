CREATE UNLOGGED TABLE icu_bench.out_sql AS WITH feat AS (
WITH lab AS (
  SELECT l.admission_id, l.feature, l.value, l.resulted_at,
         pg_catalog.date_part('epoch', l.resulted_at - '2020-06-01 00:00:00+00'::timestamptz) / 86400.0 AS x_days,
         pg_catalog.row_number() OVER (PARTITION BY l.admission_id, l.feature
                                       ORDER BY l.resulted_at DESC, l.value DESC) AS rn
    FROM icu_predict.lab_canonical l
   WHERE l.resulted_at <= '2020-06-01 00:00:00+00'::timestamptz AND l.admission_id IN (SELECT a.admission_id FROM icu_predict.admission a WHERE a.admitted_at <= '2020-06-01 00:00:00+00'::timestamptz AND (a.discharged_at IS NULL OR a.discharged_at > '2020-06-01 00:00:00+00'::timestamptz))
     AND l.feature IN ('albumin', 'creatinine', 'crp', 'd_dimer', 'lactate', 'ldh', 'lymphocytes', 'pao2', 'urea')
     AND l.value BETWEEN l.plausible_min AND l.plausible_max      -- implausible: rejected
), feat AS (
  SELECT admission_id,
         pg_catalog.max(value) FILTER (WHERE feature = 'crp' AND rn = 1) AS crp_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'crp') AS crp_max,
         pg_catalog.regr_slope(value, x_days) FILTER (WHERE feature = 'crp' AND resulted_at >= '2020-06-01 00:00:00+00'::timestamptz - interval '72 hours') AS crp_trend,
         pg_catalog.max(value) FILTER (WHERE feature = 'ldh' AND rn = 1) AS ldh_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'd_dimer' AND rn = 1) AS d_dimer_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'lymphocytes' AND rn = 1) AS lymphocytes_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'creatinine' AND rn = 1) AS creatinine_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'urea' AND rn = 1) AS urea_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'albumin' AND rn = 1) AS albumin_last,
         pg_catalog.max(value) FILTER (WHERE feature = 'lactate') AS lactate_max,
         pg_catalog.count(*) FILTER (WHERE feature = 'pao2')::float8 AS pao2_count
    FROM lab
   GROUP BY admission_id
)
SELECT c.admission_id, c.is_current, c.in_icu, c.spent_days,
       c.age_years, c.sex_male, c.hours_since_admission,
       f.crp_last, f.crp_max, f.crp_trend, f.ldh_last, f.d_dimer_last, f.lymphocytes_last, f.creatinine_last, f.urea_last, f.albumin_last, f.lactate_max, coalesce(f.pao2_count, 0) AS pao2_count
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
  LEFT JOIN feat f ON f.admission_id = c.admission_id
), lin AS (
  SELECT feat.*,
       -7.02684928368211
       + 1.0679779250933632 * ((ln(least(greatest(coalesce(crp_last, 10.0), 0.1), 1000.0)) - 2.3979899927908352) / 1.16611705614643) + 3.8516195282712102 * (crp_last IS NULL)::int
       + -3.0473009812796814 * ((ln(least(greatest(coalesce(crp_max, 10.0), 0.1), 1000.0)) - 3.021525580226531) / 1.4905706675234893)
       + -0.1600916774612333 * ((least(greatest(coalesce(crp_trend, 0.0), -300.0), 300.0) - -0.28093295142034735) / 8.77790528099308)
       + 0.004842007209524224 * ((ln(least(greatest(coalesce(ldh_last, 250.0), 10.0), 20000.0)) - 5.543137503253541) / 0.33146479926820643) + -0.7578031329481221 * (ldh_last IS NULL)::int
       + 0.5258316489028102 * ((ln(least(greatest(coalesce(d_dimer_last, 0.5), 0.01), 200.0)) - -0.44661938386376987) / 0.7477348062451851) + 2.659825261366111 * (d_dimer_last IS NULL)::int
       + 0.026820939063885267 * ((ln(least(greatest(coalesce(lymphocytes_last, 1.2), 0.01), 200.0)) - 0.29949309210079017) / 0.4486160079347965)
       + 0.5013368540336709 * ((ln(least(greatest(coalesce(creatinine_last, 1.0), 0.05), 40.0)) - -0.0516240308258896) / 0.3742351257807469)
       + 0.39064537240950603 * ((ln(least(greatest(coalesce(urea_last, 6.0), 0.1), 150.0)) - 1.8057795257780607) / 0.44663747139236337)
       + -0.3073481331950756 * ((least(greatest(coalesce(albumin_last, 35.0), 5.0), 70.0) - 36.1641) / 4.27782318358309)
       + 1.7389029172657962 * ((ln(least(greatest(coalesce(lactate_max, 1.2), 0.1), 40.0)) - 0.33387548688007856) / 0.3737608503175952)
       + 6.089518855502589 * ((ln(1.0 + least(greatest(coalesce(pao2_count, 0.0), 0.0), 1000.0)) - 1.0201699149227674) / 1.242816501877768)
       + -0.30859438265714795 * ((coalesce(age_years, 65.0) - 61.443) / 18.3666750120973)
       + -0.0337079043443406 * ((coalesce(sex_male, 0.5) - 0.54855) / 0.49695864767602704)
       + -0.619542090989545 * ((ln(1.0 + least(greatest(coalesce(hours_since_admission, 24.0), 0.0), 100000.0)) - 7.087825404225872) / 0.9511748557855937) AS eta,
       2.058066929498659
       + 0.07279653521207533 * ((ln(least(greatest(coalesce(crp_last, 10.0), 0.1), 1000.0)) - 2.6415287978618665) / 1.1449095951406432)
       + -0.024619314008517572 * ((ln(least(greatest(coalesce(crp_max, 10.0), 0.1), 1000.0)) - 4.585179791580935) / 1.638145543627702)
       + -0.00841955177545181 * ((least(greatest(coalesce(crp_trend, 0.0), -300.0), 300.0) - -2.1284005451102974) / 20.98569336582945)
       + 0.004551792460876275 * ((ln(least(greatest(coalesce(ldh_last, 250.0), 10.0), 20000.0)) - 5.674637929848268) / 0.3577862611347201)
       + 0.02797941931923721 * ((ln(least(greatest(coalesce(d_dimer_last, 0.5), 0.01), 200.0)) - 0.08257370593543167) / 0.922290535434328)
       + -0.00326392961198786 * ((ln(least(greatest(coalesce(lymphocytes_last, 1.2), 0.01), 200.0)) - 0.09571252354894941) / 0.4769710586069243)
       + 0.0017564145608348631 * ((ln(least(greatest(coalesce(creatinine_last, 1.0), 0.05), 40.0)) - 0.1891723595057905) / 0.3915179496844534)
       + 6.238475756244698e-05 * ((ln(least(greatest(coalesce(urea_last, 6.0), 0.1), 150.0)) - 2.1210110515667995) / 0.471938899784554)
       + 0.002476197092557449 * ((least(greatest(coalesce(albumin_last, 35.0), 5.0), 70.0) - 33.23861852433281) / 4.717403228998223)
       + -0.07068494386583075 * ((ln(least(greatest(coalesce(lactate_max, 1.2), 0.1), 40.0)) - 1.0388521181174752) / 0.33016573591207204)
       + 1.0182098628167386 * ((ln(1.0 + least(greatest(coalesce(pao2_count, 0.0), 0.0), 1000.0)) - 3.6354269424671775) / 1.0122168983270814)
       + -0.006041604588088701 * ((coalesce(age_years, 65.0) - 66.67268445839875) / 14.774774564687112)
       + 0.01806571840231807 * ((coalesce(sex_male, 0.5) - 0.5824175824175825) / 0.491965393166942)
       + -0.31261723226325616 * ((ln(1.0 + least(greatest(coalesce(hours_since_admission, 24.0), 0.0), 100000.0)) - 6.923157430169571) / 0.9118163551732349) AS mu
    FROM feat
)
SELECT admission_id, is_current, in_icu, spent_days,
       1.0 / (1.0 + exp(-eta)) AS risk,
       mu,
       exp(mu) * 1.0868007174629255 AS expected_days,
       exp(mu + -0.49014248492529716) AS p10_days,
       exp(mu + 0.4901424849252973) AS p90_days,
       CASE WHEN NOT is_current THEN NULL
            WHEN in_icu THEN ARRAY(SELECT CASE WHEN x <= 0 THEN 1.0 ELSE 1.0 / (1.0 + exp((ln(x) - mu) / 0.22307345820767943)) END
                                     FROM (SELECT spent_days + g AS x FROM pg_catalog.generate_series(0, 14) g) s)
            ELSE ARRAY(SELECT 1.0 / (1.0 + exp((ln(x) - mu) / 0.22307345820767943))
                         FROM (SELECT g + 0.5 AS x FROM pg_catalog.generate_series(0, 13) g) s) END AS s
  FROM lin;

WITH x AS MATERIALIZED (
  SELECT h.d,
         CASE WHEN o.in_icu THEN CASE WHEN o.s[1] > 0 THEN least(1.0, o.s[h.d + 1] / o.s[1]) ELSE 0.0 END
              ELSE (SELECT coalesce(pg_catalog.sum(((1.0 - o.risk) ^ (k / 7.0)
                                                    - (1.0 - o.risk) ^ ((k + 1) / 7.0))
                                                   * o.s[h.d - k]), 0)
                      FROM pg_catalog.generate_series(0, h.d - 1) k) END AS p
    FROM icu_bench.out_sql o, pg_catalog.generate_series(1, 14) h(d)
   WHERE o.is_current
)
SELECT d AS horizon_day, m AS expected_beds,
       greatest(0, ceil(m - 0.5))::int AS p50_beds,
       greatest(0, ceil(m + 1.2815515655446004 * sqrt(v) - 0.5))::int AS p90_beds,
       greatest(0, ceil(m + 1.6448536269514722 * sqrt(v) - 0.5))::int AS p95_beds
  FROM (SELECT d, pg_catalog.sum(p) AS m, pg_catalog.sum(p * (1.0 - p)) AS v
          FROM x GROUP BY d) y
 ORDER BY d;
