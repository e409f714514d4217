-- Bed demand as a distribution (C: extension/src/demand/).
--
-- bed_demand holds the exact pmf of how many of N independent patients need
-- a bed (Poisson-binomial), with tails below 1e-12 trimmed per step and the
-- trimmed mass recorded.  The aggregate bed_demand(p) builds it from
-- per-patient probabilities; bed_demand_sum(d) and bed_demand_add(a, b) / +
-- convolve distributions so units and hospitals add up.  Every function on a
-- bed_demand is named bed_demand_*: bed_demand_mean, bed_demand_variance,
-- bed_demand_quantile, bed_demand_prob_exceeds, bed_demand_trimmed_mass,
-- bed_demand_pmf (the 0.1.0 names remain as deprecated aliases, below).

-- ---------------------------------------------------------------------------
-- type bed_demand
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.bed_demand;

CREATE FUNCTION @extschema@.bed_demand_in(cstring)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_out(@extschema@.bed_demand)
RETURNS cstring
AS 'MODULE_PATHNAME', 'icu_bed_demand_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_recv(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_send(@extschema@.bed_demand)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.bed_demand (
    INPUT     = @extschema@.bed_demand_in,
    OUTPUT    = @extschema@.bed_demand_out,
    RECEIVE   = @extschema@.bed_demand_recv,
    SEND      = @extschema@.bed_demand_send,
    ALIGNMENT = double,
    STORAGE   = extended
);

COMMENT ON TYPE @extschema@.bed_demand IS
    'Distribution of a bed count: pmf over offset..offset+n-1. Text form {"offset": k, "trimmed": m, "pmf": [p_k, p_k+1, ...]}; "trimmed" is the probability mass dropped from the tails (each tail below 1e-12 per convolution step), an upper bound on the error of every probability read from it.';
COMMENT ON FUNCTION @extschema@.bed_demand_in(cstring) IS 'Text input of bed_demand: {"offset": k, "trimmed": m, "pmf": [...]}; trimmed is optional; the pmf plus trimmed must sum to 1 within 1e-6.';
COMMENT ON FUNCTION @extschema@.bed_demand_out(@extschema@.bed_demand) IS 'Text output of bed_demand (shortest exact decimals, so text round trips are exact).';
COMMENT ON FUNCTION @extschema@.bed_demand_recv(internal) IS 'Binary input of bed_demand (validated).';
COMMENT ON FUNCTION @extschema@.bed_demand_send(@extschema@.bed_demand) IS 'Binary output of bed_demand.';

-- ---------------------------------------------------------------------------
-- aggregate support (internal state)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_accum(internal, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_merge_accum(internal, @extschema@.bed_demand)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_merge_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_final(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.bed_demand_accum(internal, float8) IS 'Transition function of bed_demand(float8): convolves one Bernoulli(p) in place.';
COMMENT ON FUNCTION @extschema@.bed_demand_merge_accum(internal, @extschema@.bed_demand) IS 'Transition function of bed_demand_sum(bed_demand): convolves one distribution in.';
COMMENT ON FUNCTION @extschema@.bed_demand_combine(internal, internal) IS 'Combine function of the bed-demand aggregates (convolution of two partial states).';
COMMENT ON FUNCTION @extschema@.bed_demand_serialize(internal) IS 'Serialize function of the bed-demand aggregates.';
COMMENT ON FUNCTION @extschema@.bed_demand_deserialize(bytea, internal) IS 'Deserialize function of the bed-demand aggregates; validates every length, count and probability.';
COMMENT ON FUNCTION @extschema@.bed_demand_final(internal) IS 'Final function of the bed-demand aggregates; NULL when no non-NULL input was seen.';

CREATE AGGREGATE @extschema@.bed_demand(float8) (
    SFUNC        = @extschema@.bed_demand_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_final,
    COMBINEFUNC  = @extschema@.bed_demand_combine,
    SERIALFUNC   = @extschema@.bed_demand_serialize,
    DESERIALFUNC = @extschema@.bed_demand_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand(float8) IS
    'Distribution of how many of the rows'' events happen, each row an independent event with probability p (Poisson-binomial, exact by convolution, tails below 1e-12 trimmed). NULL p is skipped; no non-NULL p gives NULL. p outside [0, 1] (or NaN) raises 22023.';

CREATE AGGREGATE @extschema@.bed_demand_sum(@extschema@.bed_demand) (
    SFUNC        = @extschema@.bed_demand_merge_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_final,
    COMBINEFUNC  = @extschema@.bed_demand_combine,
    SERIALFUNC   = @extschema@.bed_demand_serialize,
    DESERIALFUNC = @extschema@.bed_demand_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand_sum(@extschema@.bed_demand) IS
    'Distribution of the sum of independent bed counts (convolution), e.g. hospital demand from unit demands. NULLs are skipped; no non-NULL input gives NULL.';

-- ---------------------------------------------------------------------------
-- functions over values
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_add(@extschema@.bed_demand, @extschema@.bed_demand)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add(@extschema@.bed_demand, @extschema@.bed_demand) IS
    'Distribution of the sum of two independent bed counts (convolution).';

CREATE OPERATOR @extschema@.+ (
    LEFTARG    = @extschema@.bed_demand,
    RIGHTARG   = @extschema@.bed_demand,
    FUNCTION   = @extschema@.bed_demand_add,
    COMMUTATOR = OPERATOR(@extschema@.+)
);
COMMENT ON OPERATOR @extschema@.+ (@extschema@.bed_demand, @extschema@.bed_demand) IS
    'Sum of two independent bed counts (convolution of their distributions).';

CREATE FUNCTION @extschema@.bed_demand_poisson(lambda float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_poisson'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_poisson(float8) IS
    'Poisson(lambda) count distribution, tails below 1e-12 trimmed: new arrivals at rate lambda. lambda must be in [0, 1e8].';

CREATE FUNCTION @extschema@.bed_demand_add_poisson(demand @extschema@.bed_demand, lambda float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add_poisson'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add_poisson(@extschema@.bed_demand, float8) IS
    'Adds a Poisson(lambda) number of independent new arrivals to a bed count (convolution); lambda = 0 returns the input.';

CREATE FUNCTION @extschema@.bed_demand_mean(@extschema@.bed_demand)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_mean'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_mean(@extschema@.bed_demand) IS 'Expected bed count.';

CREATE FUNCTION @extschema@.bed_demand_variance(@extschema@.bed_demand)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_variance'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_variance(@extschema@.bed_demand) IS 'Variance of the bed count.';

CREATE FUNCTION @extschema@.bed_demand_quantile(@extschema@.bed_demand, q float8)
RETURNS integer
AS 'MODULE_PATHNAME', 'icu_bed_demand_quantile'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_quantile(@extschema@.bed_demand, float8) IS
    'Smallest bed count k with P(count <= k) >= q (within 1e-12); q in [0, 1], q = 0 gives the smallest count with positive probability.';

CREATE FUNCTION @extschema@.bed_demand_prob_exceeds(@extschema@.bed_demand, k integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_prob_exceeds'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_prob_exceeds(@extschema@.bed_demand, integer) IS
    'P(count > k), e.g. the probability that demand exceeds k staffed beds.';

CREATE FUNCTION @extschema@.bed_demand_trimmed_mass(@extschema@.bed_demand)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_trimmed_mass'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_trimmed_mass(@extschema@.bed_demand) IS
    'Probability mass dropped from the tails while building the distribution: a bound on the error of every probability read from it.';

CREATE FUNCTION @extschema@.bed_demand_pmf(@extschema@.bed_demand, OUT beds integer, OUT probability float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'icu_bed_demand_pmf'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 50;
COMMENT ON FUNCTION @extschema@.bed_demand_pmf(@extschema@.bed_demand) IS
    'The distribution as rows (beds, probability), one per kept count in increasing order, for plots.';

-- ---------------------------------------------------------------------------
-- Deprecated names (0.1.0), kept for one release: removed in 0.3.0
-- ---------------------------------------------------------------------------
-- 0.1.0 named the readers of a bed_demand with generic words (mean,
-- quantile, pmf, ...), which collide with other extensions' functions in a
-- shared schema.  The old names call the new ones with the same volatility,
-- strictness and parallel safety (and the C functions' cost); SQL-standard
-- bodies are bound when created and inlined by the planner.
CREATE FUNCTION @extschema@.mean(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_mean($1);
COMMENT ON FUNCTION @extschema@.mean(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_mean; removed in 0.3.0. Expected bed count.';

CREATE FUNCTION @extschema@.variance(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_variance($1);
COMMENT ON FUNCTION @extschema@.variance(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_variance; removed in 0.3.0. Variance of the bed count.';

CREATE FUNCTION @extschema@.quantile(@extschema@.bed_demand, q float8)
RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_quantile($1, q);
COMMENT ON FUNCTION @extschema@.quantile(@extschema@.bed_demand, float8) IS
    'Deprecated: use bed_demand_quantile; removed in 0.3.0. Smallest bed count k with P(count <= k) >= q.';

CREATE FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, k integer)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_prob_exceeds($1, k);
COMMENT ON FUNCTION @extschema@.prob_exceeds(@extschema@.bed_demand, integer) IS
    'Deprecated: use bed_demand_prob_exceeds; removed in 0.3.0. P(count > k).';

CREATE FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1
RETURN @extschema@.bed_demand_trimmed_mass($1);
COMMENT ON FUNCTION @extschema@.trimmed_mass(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_trimmed_mass; removed in 0.3.0. Probability mass dropped from the tails.';

CREATE FUNCTION @extschema@.pmf(@extschema@.bed_demand, OUT beds integer, OUT probability float8)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1 ROWS 50
BEGIN ATOMIC
    SELECT b.beds, b.probability FROM @extschema@.bed_demand_pmf($1) b;
END;
COMMENT ON FUNCTION @extschema@.pmf(@extschema@.bed_demand) IS
    'Deprecated: use bed_demand_pmf; removed in 0.3.0. The distribution as rows (beds, probability).';
