-- Contracts of the negative-binomial inflow, the mixture aggregate and the
-- normal nodes: brute force against the Poisson-gamma integral, moments,
-- the Poisson limit, hand-computed mixtures, SQLSTATEs, objects.
BEGIN;
SELECT plan(54);

-- ------------------------------------------------------------ brute force
-- ln Gamma(x): Stirling's series for x >= 15 (truncation error < 1e-16),
-- shifted up by the recurrence below 15.
CREATE FUNCTION pg_temp.lngamma_big(x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  SELECT (x - 0.5) * ln(x) - x + 0.5 * ln(2 * pi())
         + 1 / (12 * x) - 1 / (360 * x ^ 3) + 1 / (1260 * x ^ 5) - 1 / (1680 * x ^ 7) + 1 / (1188 * x ^ 9) $$;
CREATE FUNCTION pg_temp.lngamma(x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN x < 15
              THEN pg_temp.lngamma_big(x + 15) - (SELECT sum(ln(x + i)) FROM generate_series(0, 14) i)
              ELSE pg_temp.lngamma_big(x) END $$;

-- P(N = n) for N | G ~ Poisson(m G), G ~ Gamma(shape k, rate k), as the
-- integral of Poisson(n; m g) times the gamma density over t = ln g:
--   exp(n ln m - lnG(n+1) + k ln k - lnG(k) + (n+k) t - (m+k) e^t) dt,
-- by the trapezoid rule around the peak t0 = ln((n+k)/(m+k)).  The
-- integrand is entire and decays on both sides, so with a step of half its
-- width 1/sqrt(n+k) the rule's error is below e^-70; the range covers
-- 10 widths plus the slow left decay e^{(n+k) t} of small n + k.
CREATE FUNCTION pg_temp.nb_integral(n int, m float8, k float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
  WITH p AS (SELECT (n + k) AS a, ln((n + k) / (m + k)) AS t0,
                    n * ln(m) - pg_temp.lngamma(n + 1) + k * ln(k) - pg_temp.lngamma(k) AS c),
       g AS (SELECT a, t0, c, least(0.1, 0.5 / sqrt(a)) AS h,
                    sqrt(100 / a) + 60 / a AS left_w, sqrt(100 / a) + ln(1 + 60 / a) AS right_w FROM p)
  SELECT sum(CASE WHEN e > -700 THEN exp(e) ELSE 0 END) * h
  FROM g, LATERAL (SELECT c + a * (t0 + j * h) - (m + k) * exp(t0 + j * h) AS e
                   FROM generate_series(-ceil(left_w / h)::int, ceil(right_w / h)::int) j) s
  GROUP BY h $$;

SELECT ok(abs(pg_temp.lngamma(0.5) - 0.5 * ln(pi())) < 1e-13
          AND abs(pg_temp.lngamma(11) - ln(3628800)) < 1e-13
          AND abs(pg_temp.lngamma(101) - ln(factorial(100)::float8)) < 1e-12,
          'brute-force ln Gamma matches Gamma(1/2) = sqrt(pi), 10! and 100!');

-- six (mean, shape) cases, small shape 0.5 and mean 500 included; every
-- count for the small ones, a sample of the 25 000 counts for the wide ones
CREATE TEMP TABLE nb_case (m float8, k float8, every int) ON COMMIT DROP;
INSERT INTO nb_case VALUES (0.3, 0.5, 1), (4, 2.5, 1), (12, 1, 1), (37.5, 10, 1),
                           (500, 0.5, 97), (500, 50, 3);
CREATE TEMP TABLE nb_bf ON COMMIT DROP AS
SELECT c.m, c.k, b.beds, b.probability, pg_temp.nb_integral(b.beds, c.m, c.k) AS exact
FROM nb_case c, icu_predict.bed_demand_pmf(icu_predict.bed_demand_negbinomial(c.m, c.k)) b
WHERE b.beds < 50 OR b.beds % c.every = 0;

SELECT is((SELECT count(*)::int FROM nb_case c
           WHERE c.every = 1
             AND abs((SELECT sum(exact) FROM nb_bf b WHERE b.m = c.m AND b.k = c.k) - 1) < 1e-11),
          4, 'the brute-force integral sums to 1 over the kept counts (4 fully enumerated cases)');
SELECT is((SELECT count(DISTINCT (m, k))::int FROM nb_bf), 6, 'six (mean, shape) cases compared');
SELECT cmp_ok((SELECT max(abs(probability - exact)) FROM nb_bf), '<=', 1e-9::float8,
              'every pmf entry of NB(mean, shape) matches the Poisson-gamma integral within 1e-9');
SELECT cmp_ok((SELECT max(abs(probability / exact - 1)) FROM nb_bf WHERE exact > 1e-12), '<=', 1e-9::float8,
              'and within 1e-9 relative wherever the probability exceeds 1e-12');
SELECT cmp_ok((SELECT max(abs(probability - exact)) FROM nb_bf WHERE k = 0.5 AND m = 500), '<=', 1e-9::float8,
              'small shape 0.5 with large mean 500 matches too');

-- ---------------------------------------------------- moments and limits
CREATE TEMP TABLE nb_mom ON COMMIT DROP AS
SELECT m, k, icu_predict.bed_demand_mean(d) AS mean, icu_predict.bed_demand_variance(d) AS var,
       icu_predict.bed_demand_trimmed_mass(d) AS trimmed,
       (SELECT sum(probability) FROM icu_predict.bed_demand_pmf(d)) AS total
FROM (VALUES (0.3::float8, 0.5::float8), (4, 2.5), (37.5, 10), (500, 0.5), (500, 50),
             (1e5, 1e3), (2, 1e15), (1e-3, 0.01)) v(m, k),
     LATERAL (SELECT icu_predict.bed_demand_negbinomial(m, k) d) s;
SELECT is((SELECT count(*)::int FROM nb_mom WHERE abs(mean / m - 1) < 1e-8), 8,
          'mean of NB(mean, shape) is the mean (8 cases)');
SELECT is((SELECT count(*)::int FROM nb_mom WHERE abs(var / (m + m * m / k) - 1) < 1e-7), 8,
          'variance of NB(mean, shape) is mean + mean^2/shape (8 cases)');
SELECT is((SELECT count(*)::int FROM nb_mom WHERE trimmed <= 2.1e-12 AND abs(total + trimmed - 1) < 1e-13), 8,
          'each tail trimmed below 1e-12, pmf plus trimmed mass sums to 1');

SELECT is((SELECT count(*)::int
           FROM (VALUES (0.5::float8), (3.5), (50), (1000)) v(m)
           WHERE (SELECT max(abs(coalesce(a.probability, 0) - coalesce(b.probability, 0)))
                  FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_negbinomial(m, 1e15)) a
                  FULL JOIN icu_predict.bed_demand_pmf(icu_predict.bed_demand_poisson(m)) b USING (beds)) <= 1e-12),
          4, 'shape 1e15 gives the Poisson limit within 1e-12 (4 means)');
SELECT ok((SELECT max(abs(coalesce(a.probability, 0) - coalesce(b.probability, 0)))
           FROM icu_predict.bed_demand_pmf(icu_predict.bed_demand_negbinomial(20, 1e300)) a
           FULL JOIN icu_predict.bed_demand_pmf(icu_predict.bed_demand_poisson(20)) b USING (beds)) <= 1e-12,
          'shape 1e300 too');
SELECT ok((SELECT icu_predict.bed_demand_quantile(icu_predict.bed_demand_negbinomial(10, 2), 0.9)
                  > icu_predict.bed_demand_quantile(icu_predict.bed_demand_poisson(10), 0.9)),
          'the rate''s uncertainty widens the range: NB P90 above Poisson P90');

-- adding arrivals: means and variances add
SELECT ok((SELECT abs(icu_predict.bed_demand_mean(x) - 14.5) < 1e-9
                  AND abs(icu_predict.bed_demand_variance(x) - (0.25 * 2 + 12.5 + 12.5 ^ 2 / 3)) < 1e-7
           FROM (SELECT icu_predict.bed_demand_add_negbinomial('{"offset": 1, "pmf": [0.25, 0.5, 0.25]}', 12.5, 3) x) s),
          'bed_demand_add_negbinomial adds mean and variance to the input''s');

-- ------------------------------------------------------------- mixtures
-- three distributions, weights 0.2, 0.5, 1.3: entry by entry against the
-- weighted mean computed here
CREATE TEMP TABLE mx_in (d icu_predict.bed_demand, w float8) ON COMMIT DROP;
INSERT INTO mx_in VALUES (icu_predict.bed_demand_negbinomial(3, 2), 0.2),
                         (icu_predict.bed_demand_poisson(7), 0.5),
                         ('{"offset": 2, "trimmed": 0.001, "pmf": [0.5, 0.499]}', 1.3);
SELECT ok((SELECT max(abs(coalesce(m.probability, 0) - h.p))
           FROM (SELECT b.beds, sum(i.w * b.probability) / 2.0 AS p
                 FROM mx_in i, icu_predict.bed_demand_pmf(i.d) b GROUP BY b.beds) h
           FULL JOIN icu_predict.bed_demand_pmf((SELECT icu_predict.bed_demand_mixture(d, w) FROM mx_in)) m USING (beds))
          <= 1e-16, 'mixture pmf is the weighted mean of the pmfs, entry by entry');
SELECT ok((SELECT abs(icu_predict.bed_demand_trimmed_mass(icu_predict.bed_demand_mixture(d, w))
                      - (SELECT sum(w * icu_predict.bed_demand_trimmed_mass(d)) / 2.0 FROM mx_in)) < 1e-17
           FROM mx_in), 'mixture trimmed mass is the weighted mean of the trimmed masses');
-- (sum of beds * probability: mean() counts the trimmed mass at the offset,
-- and the inputs' offsets differ)
SELECT ok((SELECT abs(icu_predict.bed_demand_mean(icu_predict.bed_demand_mixture(d, w))
                      - (SELECT sum(i.w * b.beds * b.probability) / 2.0 FROM mx_in i, icu_predict.bed_demand_pmf(i.d) b)) < 1e-12
           FROM mx_in), 'mixture mean is the weighted mean of the means');
SELECT ok((SELECT max(abs(coalesce(a.probability, 0) - coalesce(b.probability, 0)))
           FROM icu_predict.bed_demand_pmf((SELECT icu_predict.bed_demand_mixture(d, w ORDER BY w) FROM mx_in)) a
           FULL JOIN icu_predict.bed_demand_pmf((SELECT icu_predict.bed_demand_mixture(d, w ORDER BY w DESC) FROM mx_in)) b
           USING (beds)) <= 1e-16, 'row order changes the mixture only by rounding');
-- a rate that is 2 or 6 with equal odds: 0.5 Poisson(2) + 0.5 Poisson(6) has
-- mean 4 and variance E rate + Var rate = 4 + 4
SELECT ok((SELECT abs(icu_predict.bed_demand_mean(d) - 4) < 1e-10 AND abs(icu_predict.bed_demand_variance(d) - 8) < 1e-9
           FROM (SELECT icu_predict.bed_demand_mixture(d, 0.5) d
                 FROM (VALUES (icu_predict.bed_demand_poisson(2)), (icu_predict.bed_demand_poisson(6))) v(d)) s),
          'a two-point rate mixture of Poissons has variance mean + var(rate)');

-- ---------------------------------------------------------- normal nodes
SELECT is((SELECT count(*)::int FROM (
             SELECT n FROM generate_series(3, 64) n, icu_predict.bed_demand_normal_nodes(n)
             GROUP BY n
             HAVING abs(sum(weight) - 1) <= 1e-12 AND abs(sum(weight * z ^ 2) - 1) <= 1e-12
                AND abs(sum(weight * z ^ 4) - 3) <= 1e-12) s),
          62, 'for n = 3..64 the nodes integrate 1, E z^2 = 1 and E z^4 = 3 to 1e-12');
SELECT ok((SELECT bool_and(abs(abs(z) - CASE WHEN abs(z) < 1.5 THEN sqrt(3 - sqrt(6)) ELSE sqrt(3 + sqrt(6)) END) < 1e-14)
                  AND abs(sum(weight) - 1) < 1e-15 AND count(*) = 4
           FROM icu_predict.bed_demand_normal_nodes(4)),
          'n = 4: nodes are +-sqrt(3 +- sqrt 6), the roots of z^4 - 6 z^2 + 3');
SELECT ok((SELECT abs(sum(weight * exp(0.7 * z)) - exp(0.245)) < 1e-14
           FROM icu_predict.bed_demand_normal_nodes(20)),
          'n = 20 integrates E exp(0.7 Z) = exp(0.245) to 1e-14');

-- ----------------------------------------------------------- SQLSTATEs
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(-1, 2)$$, '22023',
                 'negative-binomial mean -1 is outside [0, 1e8]', 'negative mean raises 22023 naming the value');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(1.5e8, 2)$$, '22023', NULL, 'mean above 1e8 raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial('NaN', 2)$$, '22023', NULL, 'NaN mean raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial('Infinity', 2)$$, '22023', NULL, 'infinite mean raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(2, 0)$$, '22023',
                 'negative-binomial shape 0 is not a finite number above 0', 'shape 0 raises 22023 naming the value');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(2, -1)$$, '22023', NULL, 'negative shape raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(2, 'NaN')$$, '22023', NULL, 'NaN shape raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(2, 'Infinity')$$, '22023', NULL,
                 'infinite shape raises 22023 (the Poisson limit is bed_demand_poisson)');
SELECT throws_ok($$SELECT icu_predict.bed_demand_add_negbinomial('{"offset": 0, "pmf": [1]}', 2, 'NaN')$$, '22023', NULL,
                 'bed_demand_add_negbinomial checks its arguments too');
SELECT throws_ok($$SELECT icu_predict.bed_demand_negbinomial(1e8, 0.01)$$, '54000', NULL,
                 'a distribution wider than 2^24 counts raises 54000');
SELECT throws_ok($$SELECT icu_predict.bed_demand_mixture(d, w) FROM (VALUES ('{"offset": 0, "pmf": [1]}'::icu_predict.bed_demand, -1::float8)) v(d, w)$$,
                 '22023', 'bed_demand_mixture weight -1 is not a finite number >= 0', 'negative weight raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_mixture('{"offset": 0, "pmf": [1]}', 'NaN')$$, '22023', NULL, 'NaN weight raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_mixture('{"offset": 0, "pmf": [1]}', 'Infinity')$$, '22023', NULL, 'infinite weight raises 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_mixture(d, w) FROM (VALUES ('{"offset": 0, "pmf": [1]}'::icu_predict.bed_demand, 0::float8), ('{"offset": 3, "pmf": [1]}', 0)) v(d, w)$$,
                 '22023', 'bed_demand_mixture weights sum to 0 over 2 rows', 'weights summing to 0 raise 22023');
SELECT throws_ok($$SELECT icu_predict.bed_demand_mixture(d, w) FROM (VALUES ('{"offset": 0, "pmf": [1]}'::icu_predict.bed_demand, 1e308::float8), ('{"offset": 3, "pmf": [1]}', 1e308)) v(d, w)$$,
                 '22023', NULL, 'weights summing beyond float8 raise 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.bed_demand_normal_nodes(0)$$, '22023', 'number of normal nodes 0 is outside [1, 64]', 'n = 0 raises 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.bed_demand_normal_nodes(65)$$, '22023', NULL, 'n = 65 raises 22023');

-- --------------------------------------------------------------- objects
SELECT has_function('icu_predict', 'bed_demand_negbinomial', ARRAY['double precision', 'double precision'], 'bed_demand_negbinomial(mean, shape)');
SELECT has_function('icu_predict', 'bed_demand_add_negbinomial', ARRAY['icu_predict.bed_demand', 'double precision', 'double precision'], 'bed_demand_add_negbinomial(d, mean, shape)');
SELECT has_function('icu_predict', 'bed_demand_mixture', ARRAY['icu_predict.bed_demand', 'double precision'], 'bed_demand_mixture(d, weight)');
SELECT is((SELECT count(*)::int FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
           WHERE p.oid = 'icu_predict.bed_demand_mixture(icu_predict.bed_demand, float8)'::regprocedure
             AND a.aggcombinefn <> 0 AND a.aggserialfn <> 0 AND a.aggdeserialfn <> 0 AND p.proparallel = 's'),
          1, 'bed_demand_mixture is PARALLEL SAFE with combine, serialize and deserialize');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
           WHERE p.pronamespace = 'icu_predict'::regnamespace
             AND p.proname IN ('bed_demand_negbinomial', 'bed_demand_add_negbinomial', 'bed_demand_normal_nodes')
             AND p.provolatile = 'i' AND p.proisstrict AND p.proparallel = 's'),
          ARRAY['bed_demand_add_negbinomial', 'bed_demand_negbinomial', 'bed_demand_normal_nodes'],
          'the plain functions are IMMUTABLE STRICT PARALLEL SAFE');
SELECT is((SELECT count(*)::int FROM pg_proc p
           WHERE p.pronamespace = 'icu_predict'::regnamespace
             AND (p.proname LIKE 'bed_demand_mixture%' OR p.proname IN ('bed_demand_negbinomial', 'bed_demand_add_negbinomial', 'bed_demand_normal_nodes'))
             AND (obj_description(p.oid, 'pg_proc') IS NULL OR p.proparallel <> 's')),
          0, 'every new function and aggregate has a comment and is PARALLEL SAFE');

-- inflow_growth: two days have the closed form r = ln(b/a), level = sqrt(ab),
-- se^2 = 1/a + 1/b; a flat series has no growth; bad counts are 22023
SELECT ok((SELECT abs(rate - ln(12.0 / 3.0)) < 1e-12 AND abs(level - 6.0) < 1e-12
                  AND abs(rate_se - sqrt(1.0 / 3 + 1.0 / 12)) < 1e-12 AND total = 15
             FROM icu_predict.inflow_growth(ARRAY[3, 12]::float8[])),
          'inflow_growth on two days: rate ln(b/a), level sqrt(ab), se sqrt(1/a + 1/b)');
SELECT ok((SELECT abs(rate) < 1e-12 AND abs(level - 5) < 1e-12 FROM icu_predict.inflow_growth(array_fill(5::float8, ARRAY[14]))),
          'inflow_growth of a flat series: no growth, level the mean');
SELECT ok((SELECT rate = 0 AND rate_se IS NULL AND level = 0 FROM icu_predict.inflow_growth(array_fill(0::float8, ARRAY[14]))),
          'inflow_growth without events: rate 0, rate_se NULL');
SELECT ok((SELECT abs(rate - 0.05) < 1e-9 FROM icu_predict.inflow_growth(ARRAY(SELECT 40 * exp(0.05 * g) FROM generate_series(0, 13) g))),
          'inflow_growth recovers an exact exponential');
SELECT throws_ok($$SELECT * FROM icu_predict.inflow_growth(ARRAY[1, -1]::float8[])$$, '22023', NULL, 'a negative count is 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.inflow_growth(ARRAY[1, 'NaN']::float8[])$$, '22023', NULL, 'a NaN count is 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.inflow_growth(ARRAY[1]::float8[])$$, '22023', NULL, 'one day is 22023');
SELECT throws_ok($$SELECT * FROM icu_predict.inflow_growth(ARRAY[1, NULL]::float8[])$$, '22023', NULL, 'a NULL count is 22023');
-- bed_demand_add_arrivals: Poisson without a shape, negative binomial with one
SELECT is(icu_predict.bed_demand_add_arrivals(icu_predict.bed_demand_poisson(0), 2.5, NULL)::text, icu_predict.bed_demand_poisson(2.5)::text,
          'add_arrivals without a shape is the Poisson');
SELECT is(icu_predict.bed_demand_add_arrivals(icu_predict.bed_demand_poisson(0), 2.5, 3)::text, icu_predict.bed_demand_negbinomial(2.5, 3)::text,
          'add_arrivals with a shape is the negative binomial');

SELECT * FROM finish();
ROLLBACK;
