-- The rules SQL, C and Python share, each defined once in C
-- (extension/src/common/rules.c): the lab panel statistic names and the
-- feature-name rule.

CREATE FUNCTION @extschema@.lab_stats()
RETURNS SETOF text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10
AS 'MODULE_PATHNAME', 'icu_lab_stats';
COMMENT ON FUNCTION @extschema@.lab_stats() IS
    'The statistics a lab panel holds per feature, in order: the names lab_value(panel, feature, stat) and model specs accept.';

CREATE FUNCTION @extschema@.feature_name_max_length()
RETURNS integer
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_feature_name_max_length';
COMMENT ON FUNCTION @extschema@.feature_name_max_length() IS
    'The longest feature name allowed, in bytes (31).';

CREATE FUNCTION @extschema@.feature_name_ok(name text)
RETURNS boolean
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'icu_feature_name_ok_sql';
COMMENT ON FUNCTION @extschema@.feature_name_ok(text) IS
    'Whether name is a valid feature name: a lower-case ASCII letter, then lower-case letters, digits or _, at most feature_name_max_length() bytes. The same rule as the lab panel and the model spec check.';
