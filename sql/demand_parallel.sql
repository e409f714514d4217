-- bed_demand: the parallel triple.  A parallel plan (Partial Aggregate in
-- workers: serialize, deserialize, combine) gives the serial result to 1e-12.
CREATE TABLE demand_par AS
SELECT g AS id, 'unit ' || (g % 200) AS unit,
       CASE WHEN g % 97 = 0 THEN NULL
            ELSE ((g * 7919) % 1000 + 0.5) / 4000.0 END AS p
FROM generate_series(1, 30000) g;
ANALYZE demand_par;

-- serial
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE demand_serial AS
SELECT icu_predict.bed_demand(p) AS d FROM demand_par;
CREATE TEMP TABLE demand_serial_units AS
SELECT unit, icu_predict.bed_demand(p) AS d FROM demand_par GROUP BY unit;
CREATE TEMP TABLE demand_serial_sum AS
SELECT icu_predict.bed_demand_sum(d) AS d FROM demand_serial_units;

-- parallel
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT icu_predict.bed_demand(p) FROM demand_par;
CREATE TEMP TABLE demand_parallel AS
SELECT icu_predict.bed_demand(p) AS d FROM demand_par;

-- bed_demand_sum in parallel over a table of distributions
CREATE TABLE demand_par_units AS SELECT * FROM demand_serial_units;
ANALYZE demand_par_units;
SET parallel_leader_participation = on;
EXPLAIN (COSTS OFF) SELECT icu_predict.bed_demand_sum(d) FROM demand_par_units;
CREATE TEMP TABLE demand_parallel_sum AS
SELECT icu_predict.bed_demand_sum(d) AS d FROM demand_par_units;
RESET ALL;

-- compare: every pmf entry, mean, variance, quantiles
CREATE FUNCTION pg_temp.demand_diff(a icu_predict.bed_demand, b icu_predict.bed_demand)
RETURNS float8 LANGUAGE sql AS $$
  SELECT max(abs(coalesce(x.probability, 0) - coalesce(y.probability, 0)))
  FROM icu_predict.bed_demand_pmf(a) x FULL JOIN icu_predict.bed_demand_pmf(b) y USING (beds) $$;

SELECT pg_temp.demand_diff(s.d, p.d) <= 1e-12 AS pmf_equal,
       abs(icu_predict.bed_demand_mean(s.d) - icu_predict.bed_demand_mean(p.d)) <= 1e-12 * icu_predict.bed_demand_mean(s.d) AS mean_equal,
       abs(icu_predict.bed_demand_variance(s.d) - icu_predict.bed_demand_variance(p.d)) <= 1e-10 * icu_predict.bed_demand_variance(s.d) AS var_equal,
       icu_predict.bed_demand_quantile(s.d, 0.9) = icu_predict.bed_demand_quantile(p.d, 0.9) AS p90_equal,
       round(icu_predict.bed_demand_mean(s.d)) AS mean_beds,
       icu_predict.bed_demand_trimmed_mass(s.d) < 1e-9 AS serial_trim_small
FROM demand_serial s, demand_parallel p;

-- bed_demand_sum: parallel equals serial; and 200 units, each trimmed to
-- 1e-12 on its own, add up to the ungrouped aggregate within their trimmed mass
SELECT pg_temp.demand_diff(u.d, pu.d) <= 1e-12 AS parallel_sum_equal,
       abs(icu_predict.bed_demand_mean(u.d) - icu_predict.bed_demand_mean(pu.d)) <= 1e-12 * icu_predict.bed_demand_mean(u.d) AS parallel_sum_mean_equal,
       pg_temp.demand_diff(s.d, u.d) <= icu_predict.bed_demand_trimmed_mass(u.d) AS units_add_up,
       icu_predict.bed_demand_trimmed_mass(u.d) < 1e-9 AS units_trim_small,
       icu_predict.bed_demand_quantile(s.d, 0.95) = icu_predict.bed_demand_quantile(u.d, 0.95) AS p95_equal
FROM demand_serial s, demand_serial_sum u, demand_parallel_sum pu;

-- the mean is the sum of the p's, the variance the sum of p(1 - p)
SELECT abs(icu_predict.bed_demand_mean(d) / (SELECT sum(p) FROM demand_par) - 1) < 1e-11 AS mean_is_sum_p,
       abs(icu_predict.bed_demand_variance(d) / (SELECT sum(p * (1 - p)) FROM demand_par) - 1) < 1e-9 AS variance_is_sum_pq
FROM demand_serial;

DROP TABLE demand_par, demand_par_units;
