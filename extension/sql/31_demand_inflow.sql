-- Bed demand: the uncertainty that is common to all patients
-- (C: extension/src/demand/inflow.c, mixture.c; docs/demand.md).
--
-- bed_demand_negbinomial(mean, shape) is the Poisson-gamma count of new
-- arrivals when the arrival rate itself is uncertain: one gamma multiplier
-- (mean 1, shape k) shared by every day of the horizon, variance
-- mean + mean^2/k.  bed_demand_mixture(d, weight) mixes distributions
-- computed under different values of a common shift (of all risks, of all
-- stays); bed_demand_normal_nodes(n) gives the Gauss-Hermite nodes and
-- weights for a normally distributed shift.

-- ---------------------------------------------------------------------------
-- negative-binomial inflow
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_negbinomial(mean float8, shape float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_negbinomial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_negbinomial(float8, float8) IS
    'Negative-binomial (Poisson-gamma) count with the given mean and gamma shape k: Poisson(mean * G) with G ~ Gamma(k, rate k), so variance = mean + mean^2/k; k -> infinity is Poisson. New arrivals whose rate is uncertain. Tails below 1e-12 trimmed. mean in [0, 1e8]; shape finite and > 0, else 22023.';

CREATE FUNCTION @extschema@.bed_demand_add_negbinomial(demand @extschema@.bed_demand, mean float8, shape float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_add_negbinomial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_add_negbinomial(@extschema@.bed_demand, float8, float8) IS
    'Adds an independent negative-binomial (mean, shape) number of new arrivals to a bed count (convolution); mean = 0 returns the input. For units that share one rate multiplier, add one negative binomial with the summed mean to their total, not one per unit.';

-- ---------------------------------------------------------------------------
-- mixture aggregate (internal state)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_mixture_accum(internal, @extschema@.bed_demand, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bed_demand_mixture_final(internal)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_mixture_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.bed_demand_mixture_accum(internal, @extschema@.bed_demand, float8) IS 'Transition function of bed_demand_mixture: adds weight * pmf to the weighted sums; NULL rows skipped, a negative or non-finite weight raises 22023.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_combine(internal, internal) IS 'Combine function of bed_demand_mixture (adds two partial weighted sums).';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_serialize(internal) IS 'Serialize function of bed_demand_mixture.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_deserialize(bytea, internal) IS 'Deserialize function of bed_demand_mixture; validates every length, count, weight and probability.';
COMMENT ON FUNCTION @extschema@.bed_demand_mixture_final(internal) IS 'Final function of bed_demand_mixture: divides by the total weight (22023 when it is 0); NULL when no non-NULL row was seen.';

CREATE AGGREGATE @extschema@.bed_demand_mixture(@extschema@.bed_demand, float8) (
    SFUNC        = @extschema@.bed_demand_mixture_accum,
    STYPE        = internal,
    FINALFUNC    = @extschema@.bed_demand_mixture_final,
    COMBINEFUNC  = @extschema@.bed_demand_mixture_combine,
    SERIALFUNC   = @extschema@.bed_demand_mixture_serialize,
    DESERIALFUNC = @extschema@.bed_demand_mixture_deserialize,
    PARALLEL     = SAFE
);
COMMENT ON AGGREGATE @extschema@.bed_demand_mixture(@extschema@.bed_demand, float8) IS
    'Mixture of bed-count distributions: sum of weight * pmf divided by the sum of weights, e.g. over the values of a common shift of all risks. Trimmed mass is the weighted mean of the inputs'' (nothing more is trimmed). Rows with a NULL distribution or weight are skipped; no such row gives NULL; weights must be finite and >= 0 and sum to more than 0 (22023).';

-- ---------------------------------------------------------------------------
-- Gauss-Hermite nodes for a standard normal shift
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_normal_nodes(n integer)
RETURNS TABLE (z float8, weight float8)
AS 'MODULE_PATHNAME', 'icu_bed_demand_normal_nodes'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION @extschema@.bed_demand_normal_nodes(integer) IS
    'Gauss-Hermite rule for a standard normal Z: n nodes z (ascending) and weights summing to 1, so that sum(weight * f(z)) = E f(Z) exactly for polynomials of degree <= 2n - 1. n in 1..64, else 22023. Use with bed_demand_mixture to mix over a normal shift of all risks.';

-- ---------------------------------------------------------------------------
-- bed_demand_shift_logit(p, shift): a probability moved on the logit scale
-- (the common shift of capacity_forecast's mixture, capacity_policy.common_shift)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_shift_logit(p float8, shift float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_shift_logit'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_shift_logit(float8, float8) IS
    'expit(logit(p) + shift): the probability p with its log-odds moved by shift, computed without overflow or cancellation; p = 0 and p = 1 are returned as they are. p in [0, 1] and shift finite, else 22023. capacity_forecast applies it per node of a normal shift before bed_demand_mixture (capacity_policy.common_shift).';

-- ---------------------------------------------------------------------------
-- bed_demand_shift_logit_offset(p, sd, nodes): the offset c that keeps p as
-- the mean of expit(logit(p) + c + sd Z) over the Gauss-Hermite rule
-- (capacity_forecast's mean-preserving common shift)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_shift_logit_offset(p float8, sd float8, nodes integer)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_shift_logit_offset'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_shift_logit_offset(float8, float8, integer) IS
    'The log-odds offset c with sum(weight * bed_demand_shift_logit(p, c + sd * z)) = p over bed_demand_normal_nodes(nodes): shifting p by c + sd z at every node keeps p as the mixture''s mean (a logit-normal shift alone pulls p toward 1/2). c <= 0 for p <= 1/2, c(1 - p) = -c(p); 0 for p = 0, p = 1 or sd = 0. p in [0, 1], sd finite, >= 0 and at most 10000, nodes in 1..64, else 22023.';

-- ---------------------------------------------------------------------------
-- inflow_growth(daily_counts): the growth rate of ICU-episode starts
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.inflow_growth(daily_counts float8[],
                                          OUT rate float8, OUT rate_se float8,
                                          OUT level float8, OUT total float8)
RETURNS record
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_inflow_growth';
COMMENT ON FUNCTION @extschema@.inflow_growth(float8[]) IS
    'Poisson log-linear fit to daily counts (oldest first): rate = growth per day of the log count, rate_se its standard error (NULL when there are no events), level = fitted count per day at the middle of the window, total = sum of the counts. capacity_forecast passes the ICU-episode starts of the last 14 days (two whole weeks, so the weekday cycle cancels). |rate| is held at 1 per day when all events fall on the first or on the last day (no finite maximum).';

-- ---------------------------------------------------------------------------
-- bed_demand_add_arrivals(d, mean, shape): Poisson or negative-binomial inflow
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.bed_demand_add_arrivals(demand @extschema@.bed_demand,
                                                    mean float8, shape float8)
RETURNS @extschema@.bed_demand
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN demand IS NULL OR mean IS NULL THEN NULL
            WHEN shape IS NULL THEN @extschema@.bed_demand_add_poisson(demand, mean)
            ELSE @extschema@.bed_demand_add_negbinomial(demand, mean, shape) END;
COMMENT ON FUNCTION @extschema@.bed_demand_add_arrivals(@extschema@.bed_demand, float8, float8) IS
    'demand plus the arrivals of the capacity forecast: Poisson(mean) when shape is NULL, else the negative binomial of that mean and gamma shape.';
