-- Bed demand: recalibration from the forecast log
-- (C: extension/src/demand/calibrate.c; docs/demand.md, docs/views.md).
--
-- bed_demand_calibration_factor(mean_sq_z, effective_forecasts) is the
-- widening factor learnt from the standardised squared errors of past
-- forecasts, shrunk toward 1; bed_demand_widen(demand, factor) scales a
-- distribution around its mean by it.  capacity_forecast
-- (45_capacity_forecast.sql) applies both per unit and horizon before it
-- reads quantiles, P(demand > staffed beds) and the recommended action.

CREATE FUNCTION @extschema@.bed_demand_calibration_factor(mean_sq_z float8, effective_forecasts float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_bed_demand_calibration_factor'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_calibration_factor(float8, float8) IS
    'Widening factor k of a forecast from its graded past: mean_sq_z is the mean of (realised - mean)^2 / variance over past forecasts (1 for a calibrated forecast), effective_forecasts the number of independent errors it rests on; k^2 = (n_eff * mean_sq_z + 4) / (n_eff + 4) (shrunk toward 1 with the weight of 4 forecasts), kept within [0.5, 5]. Both arguments finite and >= 0, else 22023.';

CREATE FUNCTION @extschema@.bed_demand_widen(demand @extschema@.bed_demand, factor float8)
RETURNS @extschema@.bed_demand
AS 'MODULE_PATHNAME', 'icu_bed_demand_widen'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bed_demand_widen(@extschema@.bed_demand, float8) IS
    'The distribution of m + factor (X - m), m the mean of X: each count''s mass moves to m + factor (x - m) and is split linearly between the two integers around it, so the mean is kept and the variance becomes factor^2 times it plus at most 1/4; mass that would fall below 0 goes to 0. factor = 1 returns the input. factor in (0, 100], else 22023.';
