-- bed_demand: negative-binomial inflow, mixtures, normal nodes.
-- Exact small cases, hand-computed values and the parallel triple for
-- bed_demand_mixture.  (Brute force against the Poisson-gamma integral and
-- the SQLSTATEs: test/pgtap/demand_inflow.sql.)
SET extra_float_digits = 0;

-- Shape 1 is the geometric distribution: NB(2, 1) = (1/3) (2/3)^n.
SELECT b.beds, round(b.probability::numeric, 12) AS probability,
       round((1.0 / 3 * (2.0 / 3) ^ b.beds)::numeric, 12) AS by_hand
FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_negbinomial(2, 1)) b
WHERE b.beds < 6;

-- NB(1.5, 2): p(n) = (n+1) (2/3.5)^2 (1.5/3.5)^n
--   p0 = 16/49 = .326530612245, p1 = 2 * 16/49 * 3/7 = .279883381924
SELECT b.beds, round(b.probability::numeric, 12) AS probability,
       round(((b.beds + 1) * (2 / 3.5) ^ 2 * (1.5 / 3.5) ^ b.beds)::numeric, 12) AS by_hand
FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_negbinomial(1.5, 2)) b
WHERE b.beds < 4;

-- mean and variance: mean, and mean + mean^2/k (here 1.5 + 2.25/2 = 2.625)
SELECT round(icu_predict.bed_demand_mean(d)::numeric, 9)     AS mean,
       round(icu_predict.bed_demand_variance(d)::numeric, 6) AS variance,
       icu_predict.bed_demand_quantile(d, 0.5)               AS p50,
       icu_predict.bed_demand_quantile(d, 0.9)               AS p90,
       icu_predict.bed_demand_trimmed_mass(d) < 1e-11        AS trimmed_small
FROM (SELECT icu_predict.bed_demand_negbinomial(1.5, 2) d) s;

-- mean 0 is no arrivals; adding none returns the input
SELECT icu_predict.bed_demand_negbinomial(0, 3) AS none;
SELECT icu_predict.bed_demand_add_negbinomial('{"offset": 4, "pmf": [0.5, 0.5]}', 0, 3) AS unchanged;

-- adding arrivals is the convolution with the negative binomial (the
-- finished NB is cut to 1e-12 per tail, the one convolved in only to 1e-15,
-- so they agree within the trimmed mass)
SELECT (SELECT max(abs(coalesce(x.probability, 0) - coalesce(y.probability, 0)))
        FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_add_negbinomial(d, 2.5, 4)) x
        FULL JOIN icu_predict.bed_demand_pmf(d OPERATOR(icu_predict.+) icu_predict.bed_demand_negbinomial(2.5, 4)) y
        USING (beds)) <= 2e-12 AS add_is_convolution,
       round(icu_predict.bed_demand_mean(icu_predict.bed_demand_add_negbinomial(d, 2.5, 4))::numeric, 9) AS mean
FROM (SELECT '{"offset": 3, "pmf": [0.25, 0.5, 0.25]}'::icu_predict.bed_demand d) s;

-- a huge shape is the Poisson limit
SELECT max(abs(coalesce(a.probability, 0) - coalesce(b.probability, 0))) < 1e-12 AS poisson_limit
FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_negbinomial(3.5, 1e15)) a
FULL JOIN icu_predict.bed_demand_pmf(icu_predict.bed_demand_poisson(3.5)) b USING (beds);

-- Two units sharing one rate multiplier (shape 2): the total is NB(3 + 5, 2),
-- variance 8 + 64/2 = 40; convolving per-unit NBs treats the multipliers as
-- independent and gives only 3 + 9/2 + 5 + 25/2 = 25.
SELECT round(icu_predict.bed_demand_variance(icu_predict.bed_demand_negbinomial(8, 2))::numeric, 6) AS shared_multiplier,
       round(icu_predict.bed_demand_variance(icu_predict.bed_demand_negbinomial(3, 2)
             OPERATOR(icu_predict.+) icu_predict.bed_demand_negbinomial(5, 2))::numeric, 6) AS independent_units;

-- Mixtures, by hand:
--   1 x {.5, .5 at 0, 1} + 3 x {1 at 2}  ->  {.125, .125, .75}
SELECT icu_predict.bed_demand_mixture(d, w)
FROM (VALUES ('{"offset": 0, "pmf": [0.5, 0.5]}'::icu_predict.bed_demand, 1.0::float8),
             ('{"offset": 2, "pmf": [1]}', 3)) v(d, w);
--   trimmed mass is the weighted mean: (.25 + 0) / 2
SELECT icu_predict.bed_demand_mixture(d, w)
FROM (VALUES ('{"offset": 0, "trimmed": 0.25, "pmf": [0.75]}'::icu_predict.bed_demand, 2.0::float8),
             ('{"offset": 1, "pmf": [1]}', 2)) v(d, w);
--   NULL distributions and NULL weights are skipped, weight 0 counts nothing,
--   disjoint supports leave a zero in between
SELECT icu_predict.bed_demand_mixture(d, w)
FROM (VALUES ('{"offset": 5, "pmf": [1]}'::icu_predict.bed_demand, 1.0::float8),
             (NULL, 5), ('{"offset": 0, "pmf": [1]}', NULL),
             ('{"offset": 9, "pmf": [1]}', 0),
             ('{"offset": 7, "pmf": [1]}', 1)) v(d, w);
--   weights are relative; one distribution mixes to itself
SELECT (SELECT icu_predict.bed_demand_mixture(d, 1) FROM (SELECT d) s)::text = d::text AS single_is_itself,
       (SELECT max(abs(x.probability - y.probability))
        FROM icu_predict.bed_demand_pmf((SELECT icu_predict.bed_demand_mixture(d, 7.5) FROM (SELECT d) s)) x
        JOIN icu_predict.bed_demand_pmf(d) y USING (beds)) < 1e-16 AS any_weight
FROM (SELECT icu_predict.bed_demand_negbinomial(4, 3) d) s;
SELECT icu_predict.bed_demand_mixture(d, w * 1e6)::text = icu_predict.bed_demand_mixture(d, w)::text AS scale_free
FROM (VALUES ('{"offset": 0, "pmf": [0.5, 0.5]}'::icu_predict.bed_demand, 0.25::float8),
             ('{"offset": 1, "pmf": [0.5, 0.5]}', 0.5)) v(d, w);
--   no rows, or only NULL rows: NULL
SELECT icu_predict.bed_demand_mixture(d, w) IS NULL AS empty_is_null
FROM (SELECT NULL::icu_predict.bed_demand d, 1.0::float8 w WHERE false) v;
SELECT icu_predict.bed_demand_mixture(d, w) IS NULL AS all_null_is_null
FROM (VALUES (NULL::icu_predict.bed_demand, 1.0::float8), ('{"offset": 0, "pmf": [1]}', NULL)) v(d, w);

-- Normal nodes: n = 1, 2, 3 by hand (0; +-1; +-sqrt 3 with 1/6, 0 with 2/3)
SELECT n, round(z::numeric, 12) AS z, round(weight::numeric, 12) AS weight
FROM generate_series(1, 3) n, icu_predict.bed_demand_normal_nodes(n);
-- every rule integrates 1, z^2 (n >= 2), z^4 (n >= 3), z^6 (n >= 4), z^8 (n >= 5)
SELECT count(*) FILTER (WHERE abs(s0 - 1) <= 1e-12)                AS weights_sum_1,
       count(*) FILTER (WHERE n >= 3 AND abs(s2 - 1) <= 1e-12
                              AND abs(s4 - 3) <= 1e-12)            AS z2_z4_exact,
       count(*) FILTER (WHERE n >= 5 AND abs(s6 - 15) <= 1e-12
                              AND abs(s8 - 105) <= 1e-11)          AS z6_z8_exact,
       count(*) FILTER (WHERE abs(s1) <= 1e-15 AND abs(s3) <= 1e-14) AS odd_moments_0,
       count(*) FILTER (WHERE ordered)                             AS ascending
FROM (SELECT n, sum(weight) s0, sum(weight * z) s1, sum(weight * z ^ 2) s2, sum(weight * z ^ 3) s3,
             sum(weight * z ^ 4) s4, sum(weight * z ^ 6) s6, sum(weight * z ^ 8) s8,
             bool_and(weight > 0) AND array_agg(z ORDER BY z) = array_agg(z) AS ordered
      FROM generate_series(1, 64) n, icu_predict.bed_demand_normal_nodes(n)
      GROUP BY n) m;

-- A common shift of all risks on the logit scale, sd 0.5, by 9 nodes: the
-- mixture's mean is the quadrature of the summed shifted risks, and the
-- shift widens the distribution beyond the Poisson-binomial's.
CREATE TEMP TABLE demand_risk (p float8);
INSERT INTO demand_risk VALUES (0.1), (0.3), (0.6), (0.05), (0.8);
CREATE TEMP TABLE demand_shifted AS
SELECT nd.z, nd.weight,
       icu_predict.bed_demand(1 / (1 + exp(-(ln(r.p / (1 - r.p)) + 0.5 * nd.z)))) AS d
FROM icu_predict.bed_demand_normal_nodes(9) nd, demand_risk r
GROUP BY nd.z, nd.weight;
SELECT abs(icu_predict.bed_demand_mean(m.d) - q.mean) < 1e-12 AS mean_is_quadrature,
       round(icu_predict.bed_demand_mean(m.d)::numeric, 6) AS mean,
       icu_predict.bed_demand_variance(m.d) > icu_predict.bed_demand_variance(b.d) AS wider_than_no_shift
FROM (SELECT icu_predict.bed_demand_mixture(d, weight) d FROM demand_shifted) m,
     (SELECT sum(nd.weight / (1 + exp(-(ln(r.p / (1 - r.p)) + 0.5 * nd.z)))) AS mean
      FROM icu_predict.bed_demand_normal_nodes(9) nd, demand_risk r) q,
     (SELECT icu_predict.bed_demand(p) d FROM demand_risk) b;
DROP TABLE demand_shifted, demand_risk;

-- Errors (SQLSTATEs in test/pgtap/demand_inflow.sql)
SELECT icu_predict.bed_demand_negbinomial(-1, 2);
SELECT icu_predict.bed_demand_negbinomial(2, 0);
SELECT icu_predict.bed_demand_negbinomial(2, 'Infinity');
SELECT icu_predict.bed_demand_mixture(d, w)
FROM (VALUES ('{"offset": 0, "pmf": [1]}'::icu_predict.bed_demand, -0.5::float8)) v(d, w);
SELECT icu_predict.bed_demand_mixture(d, w)
FROM (VALUES ('{"offset": 0, "pmf": [1]}'::icu_predict.bed_demand, 0::float8)) v(d, w);
SELECT * FROM icu_predict.bed_demand_normal_nodes(65);

-- The parallel triple for bed_demand_mixture: a forced parallel plan
-- (Partial Aggregate: serialize, deserialize, combine) gives the serial
-- result to 1e-12.
CREATE TABLE demand_mix_par AS
SELECT g AS id,
       CASE WHEN g % 53 = 0 THEN NULL
            ELSE icu_predict.bed_demand_negbinomial((g % 40) / 2.0, 0.5 + g % 5) END AS d,
       CASE WHEN g % 61 = 0 THEN NULL ELSE ((g * 7919) % 100) / 10.0 END AS w
FROM generate_series(1, 3000) g;
ANALYZE demand_mix_par;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE demand_mix_serial AS
SELECT icu_predict.bed_demand_mixture(d, w) AS d FROM demand_mix_par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT icu_predict.bed_demand_mixture(d, w) FROM demand_mix_par;
CREATE TEMP TABLE demand_mix_parallel AS
SELECT icu_predict.bed_demand_mixture(d, w) AS d FROM demand_mix_par;
RESET ALL;
SET extra_float_digits = 0;
SELECT (SELECT max(abs(coalesce(x.probability, 0) - coalesce(y.probability, 0)))
        FROM icu_predict.bed_demand_pmf(s.d) x FULL JOIN icu_predict.bed_demand_pmf(p.d) y USING (beds)) <= 1e-12 AS pmf_equal,
       abs(icu_predict.bed_demand_mean(s.d) - icu_predict.bed_demand_mean(p.d)) <= 1e-12 * icu_predict.bed_demand_mean(s.d) AS mean_equal,
       icu_predict.bed_demand_quantile(s.d, 0.9) = icu_predict.bed_demand_quantile(p.d, 0.9) AS p90_equal,
       abs(icu_predict.bed_demand_mean(s.d) - (SELECT sum(w * icu_predict.bed_demand_mean(d)) / sum(w) FROM demand_mix_par
                                    WHERE d IS NOT NULL AND w IS NOT NULL)) < 1e-9 AS mean_is_weighted_mean,
       icu_predict.bed_demand_trimmed_mass(s.d) < 1e-11 AS trimmed_small
FROM demand_mix_serial s, demand_mix_parallel p;
DROP TABLE demand_mix_par;
