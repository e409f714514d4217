-- bed_demand contracts: brute-force enumeration for n <= 12, errors with
-- their SQLSTATEs, objects and parallel-safety markings.
BEGIN;
SELECT plan(35);

-- Probability sets: n = 1 .. 12, deterministic pseudo-random p in (0, 1),
-- plus one set with certain outcomes (p = 0 and p = 1) mixed in.
CREATE TEMP TABLE bd_p (set_id int, i int, p float8) ON COMMIT DROP;
INSERT INTO bd_p
SELECT n, i, ((i * 7919 + n * 104729) % 1000 + 0.5) / 1000.0
FROM generate_series(1, 12) n, generate_series(1, n) i;
INSERT INTO bd_p VALUES (13, 1, 0.3), (13, 2, 1), (13, 3, 0), (13, 4, 0.85), (13, 5, 1), (13, 6, 0.01);
-- tiny probabilities: most of the upper tail is trimmed
INSERT INTO bd_p SELECT 14, i, 0.001 * i FROM generate_series(1, 12) i;

-- Brute force: every one of the 2^n outcomes, its probability a product.
CREATE TEMP TABLE bd_exact ON COMMIT DROP AS
WITH RECURSIVE outcome(set_id, i, beds, prob) AS (
    SELECT DISTINCT set_id, 0, 0, 1.0::float8 FROM bd_p
  UNION ALL
    SELECT o.set_id, o.i + 1, o.beds + x.hit, o.prob * CASE WHEN x.hit = 1 THEN p.p ELSE 1 - p.p END
    FROM outcome o
    JOIN bd_p p ON p.set_id = o.set_id AND p.i = o.i + 1
    CROSS JOIN (VALUES (0), (1)) x(hit)
)
SELECT o.set_id, o.beds, sum(o.prob) AS prob, count(*) AS outcomes
FROM outcome o
WHERE o.i = (SELECT max(i) FROM bd_p q WHERE q.set_id = o.set_id)
GROUP BY o.set_id, o.beds;

CREATE TEMP TABLE bd_agg ON COMMIT DROP AS
SELECT set_id, icu_predict.bed_demand(p ORDER BY i) AS d FROM bd_p GROUP BY set_id;

SELECT is((SELECT sum(outcomes)::bigint FROM bd_exact WHERE set_id = 12), 4096::bigint,
          'brute force enumerates all 2^12 outcomes');

SELECT is((SELECT count(*)::int FROM bd_agg a
           WHERE (SELECT max(abs(coalesce(e.prob, 0) - coalesce(m.probability, 0)))
                  FROM (SELECT beds, prob FROM bd_exact x WHERE x.set_id = a.set_id) e
                  FULL JOIN icu_predict.bed_demand_pmf(a.d) m USING (beds))
                 <= icu_predict.bed_demand_trimmed_mass(a.d) + 1e-14), 14,
          'every pmf entry of all 14 sets matches brute force within the trimmed mass');

SELECT cmp_ok((SELECT max(icu_predict.bed_demand_trimmed_mass(d)) FROM bd_agg), '<=', 4e-12::float8,
              'trimmed mass stays below 2e-12 per tail');

SELECT is((SELECT count(*)::int FROM bd_agg a
           WHERE abs(icu_predict.bed_demand_mean(a.d) - (SELECT sum(beds * prob) FROM bd_exact e WHERE e.set_id = a.set_id)) < 1e-10),
          14, 'mean matches brute force');

SELECT is((SELECT count(*)::int FROM bd_agg a
           WHERE abs(icu_predict.bed_demand_variance(a.d) - (SELECT sum(p * (1 - p)) FROM bd_p q WHERE q.set_id = a.set_id)) < 1e-10),
          14, 'variance is the sum of p(1-p)');

-- quantiles: smallest k with brute-force CDF >= q, at levels away from CDF steps
CREATE TEMP TABLE bd_cdf ON COMMIT DROP AS
SELECT set_id, beds, sum(prob) OVER (PARTITION BY set_id ORDER BY beds) AS cdf FROM bd_exact;
SELECT is((SELECT count(*)::int FROM bd_agg a, (VALUES (0.05), (0.1), (0.5), (0.9), (0.95)) l(q)
           WHERE icu_predict.bed_demand_quantile(a.d, l.q) =
                 (SELECT min(beds) FROM bd_cdf c WHERE c.set_id = a.set_id AND c.cdf >= l.q)),
          70, 'quantile(q) is the smallest k with CDF >= q for 5 levels x 14 sets');

SELECT is((SELECT count(*)::int FROM bd_agg a, generate_series(-1, 12) k
           WHERE abs(icu_predict.bed_demand_prob_exceeds(a.d, k) -
                     coalesce((SELECT sum(prob) FROM bd_exact e WHERE e.set_id = a.set_id AND e.beds > k), 0))
                 <= icu_predict.bed_demand_trimmed_mass(a.d) + 1e-14),
          14 * 14, 'prob_exceeds(k) matches brute force for k = -1..12');

-- order of rows does not matter beyond rounding
SELECT ok((SELECT bool_and(abs(icu_predict.bed_demand_mean(a.d) - icu_predict.bed_demand_mean(b.d)) < 1e-12)
           FROM bd_agg a
           JOIN (SELECT set_id, icu_predict.bed_demand(p ORDER BY i DESC) d FROM bd_p GROUP BY set_id) b USING (set_id)),
          'row order does not change the result');

-- bed_demand_sum of per-set distributions = aggregate over all rows
SELECT ok((SELECT abs(icu_predict.bed_demand_mean((SELECT icu_predict.bed_demand_sum(d) FROM bd_agg)) -
                      (SELECT sum(p) FROM bd_p)) < 1e-9),
          'bed_demand_sum adds the means');

-- Poisson: against the closed form
SELECT ok((SELECT bool_and(abs(m.probability - exp(-3.5) * 3.5 ^ m.beds / factorial(m.beds)::float8) < 1e-14)
           FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_poisson(3.5)) m),
          'bed_demand_poisson(3.5) matches exp(-l) l^k / k!');
SELECT ok((SELECT abs(icu_predict.bed_demand_mean(d) - 1e5) < 1e-6 AND abs(icu_predict.bed_demand_variance(d) / 1e5 - 1) < 1e-9
                  AND icu_predict.bed_demand_trimmed_mass(d) < 4e-12
           FROM (SELECT icu_predict.bed_demand_poisson(1e5) d) s),
          'bed_demand_poisson(1e5) has mean and variance 1e5');

-- Errors
SELECT throws_ok($$SELECT icu_predict.bed_demand(p) FROM (VALUES (0.2::float8), (1.25)) v(p)$$,
                 '22023', 'bed_demand probability 1.25 is outside [0, 1]', 'p > 1 raises 22023 naming the value');
SELECT throws_ok($$SELECT icu_predict.bed_demand(-0.5::float8)$$,
                 '22023', 'bed_demand probability -0.5 is outside [0, 1]', 'p < 0 raises 22023 naming the value');
SELECT throws_ok($$SELECT icu_predict.bed_demand('NaN'::float8)$$,
                 '22023', 'bed_demand probability NaN is outside [0, 1]', 'p = NaN raises 22023 naming the value');
SELECT throws_ok($$SELECT icu_predict.bed_demand('-Infinity'::float8)$$,
                 '22023', 'bed_demand probability -Infinity is outside [0, 1]', 'p = -Infinity raises 22023 naming the value');
SELECT throws_ok($$SELECT 'nonsense'::icu_predict.bed_demand$$, '22P02', NULL, 'malformed text raises 22P02');
SELECT throws_ok($$SELECT '{"offset": 0, "pmf": [0.5, 0.5'::icu_predict.bed_demand$$, '22P02', NULL, 'truncated text raises 22P02');
SELECT throws_ok($$SELECT '{"offset": 0, "pmf": [0.7, 0.7]}'::icu_predict.bed_demand$$, '22P02', NULL, 'pmf not summing to 1 raises 22P02');
SELECT throws_ok($$SELECT icu_predict.bed_demand_quantile('{"offset": 0, "pmf": [1]}', 2)$$, '22023', 'quantile level 2 is outside [0, 1]', 'quantile level above 1 raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_poisson(-1)$$, '22023', 'Poisson arrival rate -1 is outside [0, 1e8]', 'negative arrival rate raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_poisson('NaN')$$, '22023', NULL, 'NaN arrival rate raises 22023');

-- found by bench/fuzz_inputs.py: the convolution of two wide distributions
-- (O(n^2)) did not check for interrupts, so it could not be cancelled; now
-- statement_timeout stops it at once.  Here 32,768 entries each: 2^30 steps,
-- the most one convolution may take.
CREATE TEMP TABLE bd_wide ON COMMIT DROP AS
SELECT ('{"offset": 0, "pmf": [' || string_agg('3.0517578125e-05', ', ') || ']}')::icu_predict.bed_demand AS d
FROM generate_series(1, 32768);
CREATE FUNCTION pg_temp.cancel_seconds() RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM icu_predict.bed_demand_mean(icu_predict.bed_demand_add(d, d)) FROM bd_wide;
    RETURN -1;          -- finished before the timeout: not cancellable
EXCEPTION WHEN query_canceled THEN
    RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
SET LOCAL statement_timeout = '100ms';
SELECT ok((SELECT pg_temp.cancel_seconds() BETWEEN 0 AND 5),
          'statement_timeout cancels a wide convolution within seconds');
SET LOCAL statement_timeout = 0;
-- wider than that (two 200,000-entry values: 4e10 steps, minutes of one
-- backend on a shared server) is refused at once, 54000
CREATE TEMP TABLE bd_wider ON COMMIT DROP AS
SELECT ('{"offset": 0, "pmf": [' || string_agg('5e-6', ', ') || ']}')::icu_predict.bed_demand AS d
FROM generate_series(1, 200000);
SELECT throws_ok($$SELECT icu_predict.bed_demand_add(d, d) FROM bd_wider$$, '54000',
                 'bed demand distributions of 200000 and 200000 entries are too wide to add',
                 'adding two 200,000-entry distributions raises 54000');
SELECT throws_ok($$SELECT icu_predict.bed_demand_sum(x) FROM bd_wider, LATERAL (VALUES (d), (d)) v(x)$$, '54000', NULL,
                 'the bed_demand_sum aggregate over them raises 54000');

-- Objects
SELECT has_type('icu_predict', 'bed_demand', 'type bed_demand exists');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
           WHERE n.nspname = 'icu_predict' AND p.proparallel <> 's'
             AND (p.proname LIKE 'bed_demand%' OR p.proname IN ('mean', 'variance', 'quantile', 'prob_exceeds', 'pmf', 'trimmed_mass'))),
          0, 'every bed-demand function and aggregate is PARALLEL SAFE');
SELECT is((SELECT count(*)::int FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
           WHERE p.pronamespace = 'icu_predict'::regnamespace AND p.proname IN ('bed_demand', 'bed_demand_sum')
             AND a.aggcombinefn <> 0 AND a.aggserialfn <> 0 AND a.aggdeserialfn <> 0),
          2, 'both aggregates have combine, serialize and deserialize functions');
SELECT is((SELECT count(*)::int FROM pg_proc p
           WHERE p.pronamespace = 'icu_predict'::regnamespace
             AND (p.proname LIKE 'bed_demand%' OR p.proname IN ('mean', 'variance', 'quantile', 'prob_exceeds', 'pmf', 'trimmed_mass'))
             AND obj_description(p.oid, 'pg_proc') IS NULL),
          0, 'every bed-demand function has a comment');

-- The 0.1.0 names (deprecated, removed in 0.3.0) still work and equal the new ones
CREATE TEMP TABLE bd_all ON COMMIT DROP AS
SELECT set_id, d FROM bd_agg
UNION ALL SELECT 100, icu_predict.bed_demand_poisson(3.5)
UNION ALL SELECT 101, '{"offset": 4, "trimmed": 0.25, "pmf": [0.25, 0.5]}'::icu_predict.bed_demand;
SELECT is((SELECT count(*)::int FROM bd_all
           WHERE icu_predict.mean(d) IS DISTINCT FROM icu_predict.bed_demand_mean(d)
              OR icu_predict.variance(d) IS DISTINCT FROM icu_predict.bed_demand_variance(d)
              OR icu_predict.trimmed_mass(d) IS DISTINCT FROM icu_predict.bed_demand_trimmed_mass(d)),
          0, 'deprecated mean, variance, trimmed_mass equal bed_demand_mean, _variance, _trimmed_mass on 16 distributions');
SELECT is((SELECT count(*)::int FROM bd_all, unnest(ARRAY[0, 0.1, 0.5, 0.9, 0.95, 1]::float8[]) q,
                  generate_series(-1, 12) k
           WHERE icu_predict.quantile(d, q) IS DISTINCT FROM icu_predict.bed_demand_quantile(d, q)
              OR icu_predict.prob_exceeds(d, k) IS DISTINCT FROM icu_predict.bed_demand_prob_exceeds(d, k)),
          0, 'deprecated quantile and prob_exceeds equal bed_demand_quantile and _prob_exceeds (6 levels, k = -1..12)');
SELECT is((SELECT count(*)::int FROM bd_all a,
                  LATERAL ((SELECT * FROM icu_predict.pmf(a.d) EXCEPT ALL SELECT * FROM icu_predict.bed_demand_pmf(a.d))
                           UNION ALL
                           (SELECT * FROM icu_predict.bed_demand_pmf(a.d) EXCEPT ALL SELECT * FROM icu_predict.pmf(a.d))) x),
          0, 'deprecated pmf gives the rows of bed_demand_pmf');
SELECT ok(icu_predict.mean(NULL) IS NULL AND icu_predict.quantile(NULL, 0.5) IS NULL
          AND NOT EXISTS (SELECT 1 FROM icu_predict.pmf(NULL)),
          'deprecated names are strict: NULL in, NULL (no rows) out');
SELECT throws_ok($$SELECT icu_predict.quantile('{"offset": 0, "pmf": [1]}', 2)$$, '22023', 'quantile level 2 is outside [0, 1]',
                 'deprecated quantile raises the error of bed_demand_quantile');
SELECT is((SELECT count(*)::int
             FROM unnest(ARRAY['mean', 'variance', 'quantile', 'prob_exceeds', 'pmf', 'trimmed_mass']) AS o(name)
             JOIN pg_proc old ON old.pronamespace = 'icu_predict'::regnamespace AND old.proname = o.name
             JOIN pg_proc new ON new.pronamespace = 'icu_predict'::regnamespace AND new.proname = 'bed_demand_' || o.name
              AND new.proargtypes = old.proargtypes
             JOIN pg_language l ON l.oid = old.prolang AND l.lanname = 'sql'
            WHERE old.provolatile = new.provolatile AND old.proisstrict = new.proisstrict
              AND old.proparallel = new.proparallel AND old.proretset = new.proretset
              AND old.prorettype = new.prorettype
              AND EXISTS (SELECT 1 FROM pg_depend d
                           WHERE d.classid = 'pg_proc'::regclass AND d.objid = old.oid
                             AND d.refclassid = 'pg_proc'::regclass AND d.refobjid = new.oid)),
          6, 'each deprecated name is an SQL function calling bed_demand_<name>, same volatility, strictness, parallel safety and result');
SELECT is((SELECT count(*)::int
             FROM unnest(ARRAY['mean', 'variance', 'quantile', 'prob_exceeds', 'pmf', 'trimmed_mass']) AS o(name)
             JOIN pg_proc p ON p.pronamespace = 'icu_predict'::regnamespace AND p.proname = o.name
            WHERE starts_with(obj_description(p.oid, 'pg_proc'), 'Deprecated: use bed_demand_' || o.name || '; removed in 0.3.0.')),
          6, 'each deprecated name says so in its comment, with its replacement and the release that removes it');

SELECT * FROM finish();
ROLLBACK;
