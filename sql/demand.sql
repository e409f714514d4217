-- bed_demand: exact small cases, accessors, text I/O, bad input.
SET extra_float_digits = 0;

-- Two fair coins: 1/4, 1/2, 1/4; NULL rows skipped.
SELECT icu_predict.bed_demand(p) FROM (VALUES (0.5::float8), (NULL), (0.5)) v(p);

-- Hand-computed: p = 0.1, 0.7, 0.3
--   P0 = .9*.3*.7 = .189  P1 = .543  P2 = .247  P3 = .1*.7*.3 = .021
SELECT b.beds, round(b.probability::numeric, 12) AS probability
FROM (SELECT icu_predict.bed_demand(p) d FROM (VALUES (0.1::float8), (0.7), (0.3)) v(p)) s,
     icu_predict.bed_demand_pmf(s.d) b;

SELECT round(icu_predict.bed_demand_mean(d)::numeric, 12)      AS mean,      -- 1.1
       round(icu_predict.bed_demand_variance(d)::numeric, 12)  AS variance,  -- .09+.21+.21 = .51
       icu_predict.bed_demand_quantile(d, 0)                   AS q0,
       icu_predict.bed_demand_quantile(d, 0.189)               AS q_189,     -- CDF(0) = .189 exactly
       icu_predict.bed_demand_quantile(d, 0.19)                AS q_19,
       icu_predict.bed_demand_quantile(d, 0.5)                 AS q50,
       icu_predict.bed_demand_quantile(d, 0.95)                AS q95,       -- CDF(2) = .979
       icu_predict.bed_demand_quantile(d, 1)                   AS q100,
       round(icu_predict.bed_demand_prob_exceeds(d, -1)::numeric, 12) AS gt_m1,
       round(icu_predict.bed_demand_prob_exceeds(d, 1)::numeric, 12)  AS gt_1,  -- .268
       icu_predict.bed_demand_prob_exceeds(d, 3)                       AS gt_3
FROM (SELECT icu_predict.bed_demand(p) d FROM (VALUES (0.1::float8), (0.7), (0.3)) v(p)) s;

-- p = 0 and p = 1 are certain: offset moves, width does not grow.
SELECT icu_predict.bed_demand(p) FROM (VALUES (1::float8), (0), (1), (0.5), (0)) v(p);

-- Empty input and all-NULL input give NULL.
SELECT icu_predict.bed_demand(p) IS NULL AS empty_is_null
FROM (SELECT 0.5::float8 p WHERE false) v;
SELECT icu_predict.bed_demand(p) IS NULL AS all_null_is_null
FROM (VALUES (NULL::float8), (NULL)) v(p);
SELECT icu_predict.bed_demand_sum(d) IS NULL AS empty_sum_is_null
FROM (SELECT NULL::icu_predict.bed_demand d) v;

-- Grouped: one distribution per unit, then the hospital as their sum.
CREATE TEMP TABLE demand_pt (unit text, p float8);
INSERT INTO demand_pt VALUES ('a', 0.5), ('a', 0.5), ('b', 0.2), ('b', NULL), ('c', NULL);
CREATE TEMP TABLE demand_unit AS
SELECT unit, icu_predict.bed_demand(p) AS d FROM demand_pt GROUP BY unit;
SELECT unit, d FROM demand_unit ORDER BY unit;
-- (1/4, 1/2, 1/4) * (0.8, 0.2) = 0.2, 0.45, 0.3, 0.05
SELECT icu_predict.bed_demand_sum(d) FROM demand_unit;
-- equals the aggregate over all patients, and the + operator
SELECT icu_predict.bed_demand(p)::text = (SELECT icu_predict.bed_demand_sum(d)::text FROM demand_unit) AS sum_matches
FROM demand_pt;
SELECT (SELECT d FROM demand_unit WHERE unit = 'a')
       OPERATOR(icu_predict.+) (SELECT d FROM demand_unit WHERE unit = 'b') AS plus;
DROP TABLE demand_unit, demand_pt;

-- As a window aggregate: running demand as patients are added.
SELECT i, icu_predict.bed_demand(p) OVER (ORDER BY i) AS running
FROM (VALUES (1, 0.5::float8), (2, 0.5), (3, NULL), (4, 1)) v(i, p) ORDER BY i;

-- Poisson arrivals: mean and variance lambda; added to a distribution.
SELECT round(icu_predict.bed_demand_mean(d)::numeric, 9) AS mean,
       round(icu_predict.bed_demand_variance(d)::numeric, 8) AS variance,
       icu_predict.bed_demand_trimmed_mass(d) < 1e-11 AS trimmed_small,
       icu_predict.bed_demand_quantile(d, 0.5) AS median
FROM (SELECT icu_predict.bed_demand_poisson(4) d) s;
SELECT round(icu_predict.bed_demand_mean(d)::numeric, 9) AS mean,
       round(icu_predict.bed_demand_variance(d)::numeric, 8) AS variance
FROM (SELECT icu_predict.bed_demand_add_poisson('{"offset": 3, "pmf": [0.5, 0.5]}', 2.5) d) s;
SELECT icu_predict.bed_demand_poisson(0) AS zero_rate,
       icu_predict.bed_demand_add_poisson('{"offset": 1, "pmf": [1]}', 0) AS unchanged;

-- Text round trip is exact; whitespace and key order are free.
SELECT d::text::icu_predict.bed_demand::text = d::text AS text_round_trip
FROM (SELECT icu_predict.bed_demand(1.0 / g) d FROM generate_series(1, 40) g) s;
SELECT ' { "pmf" : [ 0.25 , 0.75 ] , "trimmed":0, "offset" : 7 } '::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [1e-1, 9E-1]}'::icu_predict.bed_demand;

-- Bad input.
SELECT icu_predict.bed_demand(p) FROM (VALUES (0.5::float8), (1.5)) v(p);
SELECT icu_predict.bed_demand(p) FROM (VALUES (-0.25::float8)) v(p);
SELECT icu_predict.bed_demand(p) FROM (VALUES ('NaN'::float8)) v(p);
SELECT icu_predict.bed_demand(p) FROM (VALUES ('Infinity'::float8)) v(p);
SELECT icu_predict.bed_demand_quantile('{"offset": 0, "pmf": [1]}', 1.5);
SELECT icu_predict.bed_demand_quantile('{"offset": 0, "pmf": [1]}', 'NaN');
SELECT icu_predict.bed_demand_poisson(-1);
SELECT icu_predict.bed_demand_poisson('NaN');
SELECT 'garbage'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [0.5, 0.5}'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [0.5, 0.4]}'::icu_predict.bed_demand;
SELECT '{"offset": -1, "pmf": [1]}'::icu_predict.bed_demand;
SELECT '{"offset": 1.5, "pmf": [1]}'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": []}'::icu_predict.bed_demand;
SELECT '{"offset": 0}'::icu_predict.bed_demand;
SELECT '{"offset": 0, "offset": 0, "pmf": [1]}'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [NaN]}'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [1.5, -0.5]}'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [1]} extra'::icu_predict.bed_demand;
SELECT '{"offset": 0, "pmf": [1e999]}'::icu_predict.bed_demand;
SELECT '{"offset": 2147483647, "pmf": [0.5, 0.5]}'::icu_predict.bed_demand;
