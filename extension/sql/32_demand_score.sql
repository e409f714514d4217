-- Bed demand: grading a count forecast against what happened
-- (C: extension/src/demand/score.c; docs/demand.md, docs/views.md).
--
-- The CDF, the CRPS and the PIT of a bed_demand read the distribution as
-- pmf / sum(pmf): F is 0 below the kept counts and 1 from the largest on
-- (the trimmed mass, at most about 1e-12 per tail, is spread over the kept
-- counts).  forecast_grade and forecast_skill (44_forecast_log.sql) grade
-- the forecast log with them.

CREATE FUNCTION @extschema@.bed_demand_cdf(demand @extschema@.bed_demand, k integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_cdf(@extschema@.bed_demand, integer) IS
    'P(count <= k) of the distribution read as pmf / sum(pmf): 0 below the smallest kept count, 1 from the largest on.';

CREATE FUNCTION @extschema@.bed_demand_crps(demand @extschema@.bed_demand, y integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_crps'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_crps(@extschema@.bed_demand, integer) IS
    'Continuous ranked probability score of the count forecast for the observed count y: the sum over all integers k of (F(k) - [y <= k])^2, exact (a finite sum over the kept counts, plus 1 for every count between y and them when y lies outside). In beds; lower is better; a point mass at x scores |y - x|.';

CREATE FUNCTION @extschema@.bed_demand_pit(demand @extschema@.bed_demand, y integer, u float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_pit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_pit(@extschema@.bed_demand, integer, float8) IS
    'Randomised probability integral transform of the observed count y: F(y - 1) + u (F(y) - F(y - 1)). With u uniform on [0, 1] it is uniform for a calibrated count forecast. u in [0, 1], else 22023.';

CREATE FUNCTION @extschema@.bed_demand_pit_cdf(demand @extschema@.bed_demand, y integer, z float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_pit_cdf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_pit_cdf(@extschema@.bed_demand, integer, float8) IS
    'Non-randomised PIT of a count (Czado, Gneiting & Held 2009): the CDF at z of the PIT given the observed count y, 0 for z <= F(y - 1), 1 for z >= F(y), linear in between. The mean of pit_cdf(b) - pit_cdf(a) over many forecasts is the PIT histogram''s bar [a, b). z in [0, 1], else 22023.';
