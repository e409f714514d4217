-- The lab panel (C: extension/src/panel/).
--
--   lab_canonical        lab_result -> canonical feature, value converted once
--   lab_unmapped         rows that reach no feature (no lab_map row, or text only)
--   type lab_panel       per-feature last/prev/first/min/max/mean/count/rejected/trend
--                        of one admission as of a time; JSON-like text I/O,
--                        binary I/O, cast to jsonb
--   aggregate lab_panel(admission_id, feature, value, resulted_at, as_of [, trend_window])
--   aggregate lab_panel_series(admission_id, feature, value, resulted_at, from, until [, trend_window])
--   lab_panel_at(), lab_panel_daily(), lab_panel_daily_all()
--   accessors lab_value(), lab_last_at(), lab_as_of(), lab_admission(), lab_features(),
--             lab_layout_id()
--
-- The aggregates read the feature catalogue (names, plausible ranges) once per
-- query; values outside [plausible_min, plausible_max] are counted as rejected.

-- ---------------------------------------------------------------------------
-- Canonical lab rows and what does not map
-- ---------------------------------------------------------------------------
-- feature is joined with LEFT JOIN on its primary key: lab_map's foreign key
-- guarantees the row exists, and the planner drops the join when a query does
-- not use plausible_min/plausible_max/canonical_unit.
CREATE VIEW @extschema@.lab_canonical AS
SELECT r.lab_result_id,
       r.admission_id,
       m.feature,
       r.value * m.factor + m."offset" AS value,
       r.resulted_at,
       r.sampled_at,
       r.local_code,
       r.unit AS local_unit,
       f.unit AS canonical_unit,
       f.plausible_min,
       f.plausible_max
  FROM @extschema@.lab_result r
  JOIN @extschema@.lab_map m
    ON m.local_code = r.local_code
   AND m.unit_key = @extschema@.unit_key(r.unit)
  LEFT JOIN @extschema@.feature f ON f.name = m.feature
 WHERE r.value IS NOT NULL;
COMMENT ON VIEW @extschema@.lab_canonical IS
    'Lab results converted to canonical features: lab_result joined to lab_map on (local_code, unit_key(unit)), value = value * factor + offset in the feature''s canonical unit. Text-only results (value NULL) and unmapped codes are left out here and listed in lab_unmapped. Implausible values are kept here; lab_panel counts them as rejected.';
COMMENT ON COLUMN @extschema@.lab_canonical.lab_result_id IS 'The source row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_canonical.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.lab_canonical.feature IS 'Canonical feature name (feature.name).';
COMMENT ON COLUMN @extschema@.lab_canonical.value IS 'Value in the canonical unit of the feature.';
COMMENT ON COLUMN @extschema@.lab_canonical.resulted_at IS 'Time the result became available (the as-of time rule uses this).';
COMMENT ON COLUMN @extschema@.lab_canonical.sampled_at IS 'Time the sample was taken, when known.';
COMMENT ON COLUMN @extschema@.lab_canonical.local_code IS 'The laboratory''s own code, as sent.';
COMMENT ON COLUMN @extschema@.lab_canonical.local_unit IS 'The unit as sent.';
COMMENT ON COLUMN @extschema@.lab_canonical.canonical_unit IS 'The canonical unit of the feature (feature.unit).';
COMMENT ON COLUMN @extschema@.lab_canonical.plausible_min IS 'Lowest plausible value of the feature; lower values are rejected by lab_panel.';
COMMENT ON COLUMN @extschema@.lab_canonical.plausible_max IS 'Highest plausible value of the feature; higher values are rejected by lab_panel.';

CREATE VIEW @extschema@.lab_unmapped AS
SELECT r.local_code,
       @extschema@.unit_key(r.unit) AS unit_key,
       pg_catalog.min(coalesce(r.unit, '')) AS unit_example,
       CASE WHEN m.local_code IS NULL THEN 'no lab_map row'
            ELSE 'text only (no numeric value)' END AS reason,
       m.feature AS mapped_feature,
       pg_catalog.count(*) AS n_rows,
       pg_catalog.count(*) FILTER (WHERE r.value IS NULL) AS n_text_only,
       pg_catalog.count(DISTINCT r.admission_id) AS n_admissions,
       pg_catalog.min(r.resulted_at) AS first_resulted_at,
       pg_catalog.max(r.resulted_at) AS last_resulted_at
  FROM @extschema@.lab_result r
  LEFT JOIN @extschema@.lab_map m
    ON m.local_code = r.local_code
   AND m.unit_key = @extschema@.unit_key(r.unit)
 WHERE m.local_code IS NULL OR r.value IS NULL
 GROUP BY r.local_code, @extschema@.unit_key(r.unit), m.local_code, m.feature;
COMMENT ON VIEW @extschema@.lab_unmapped IS
    'Lab rows that reach no canonical feature, with row counts: codes/units without a lab_map row (add one to use them), and mapped codes whose results are text only (value NULL; the loader could not derive a number). Nothing is dropped silently: lab_canonical rows + these rows = lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.local_code IS 'Local lab code as sent.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_key IS 'Normalised unit (unit_key()); lab_map matches on it.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_example IS 'One spelling of the unit as sent ('''' when none).';
COMMENT ON COLUMN @extschema@.lab_unmapped.reason IS '''no lab_map row'' or ''text only (no numeric value)''.';
COMMENT ON COLUMN @extschema@.lab_unmapped.mapped_feature IS 'The feature the code maps to, for text-only rows; NULL when unmapped.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_rows IS 'Number of lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_text_only IS 'Of these, rows with only a text result.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_admissions IS 'Number of admissions with such rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.first_resulted_at IS 'Earliest result time.';
COMMENT ON COLUMN @extschema@.lab_unmapped.last_resulted_at IS 'Latest result time.';

-- ---------------------------------------------------------------------------
-- The lab_panel type
-- ---------------------------------------------------------------------------
CREATE TYPE @extschema@.lab_panel;

CREATE FUNCTION @extschema@.lab_panel_in(cstring) RETURNS @extschema@.lab_panel
    AS 'MODULE_PATHNAME', 'icu_lab_panel_in'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_out(@extschema@.lab_panel) RETURNS cstring
    AS 'MODULE_PATHNAME', 'icu_lab_panel_out'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_recv(internal) RETURNS @extschema@.lab_panel
    AS 'MODULE_PATHNAME', 'icu_lab_panel_recv'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_send(@extschema@.lab_panel) RETURNS bytea
    AS 'MODULE_PATHNAME', 'icu_lab_panel_send'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.lab_panel (
    INPUT = @extschema@.lab_panel_in,
    OUTPUT = @extschema@.lab_panel_out,
    RECEIVE = @extschema@.lab_panel_recv,
    SEND = @extschema@.lab_panel_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = main
);
COMMENT ON TYPE @extschema@.lab_panel IS
    'Lab statistics of one admission as of a time, per canonical feature: last (and its time), prev, first, min, max, mean, count, rejected, trend (slope per day over the trend window). Text form is JSON; cast to jsonb for JSON tools; read values with lab_value().';
COMMENT ON FUNCTION @extschema@.lab_panel_in(cstring) IS 'Text input of lab_panel (the JSON form written by lab_panel_out); validates every field (SQLSTATE 22P02).';
COMMENT ON FUNCTION @extschema@.lab_panel_out(@extschema@.lab_panel) IS 'Text output of lab_panel as JSON; times in ISO 8601 in the session TimeZone, numbers exact (shortest round-trip form).';
COMMENT ON FUNCTION @extschema@.lab_panel_recv(internal) IS 'Binary input of lab_panel; validates every length and count (SQLSTATE 22P02).';
COMMENT ON FUNCTION @extschema@.lab_panel_send(@extschema@.lab_panel) IS 'Binary output of lab_panel.';

CREATE FUNCTION @extschema@.lab_panel_jsonb(@extschema@.lab_panel) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'icu_lab_panel_jsonb'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_panel_jsonb(@extschema@.lab_panel) IS
    'The panel as jsonb (same structure as its text form); also available as a cast: panel::jsonb.';
CREATE CAST (@extschema@.lab_panel AS jsonb)
    WITH FUNCTION @extschema@.lab_panel_jsonb(@extschema@.lab_panel);

-- ---------------------------------------------------------------------------
-- Accessors
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_value(panel @extschema@.lab_panel, feature text, stat text)
RETURNS float8
    AS 'MODULE_PATHNAME', 'icu_lab_value'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_value(@extschema@.lab_panel, text, text) IS
    'One statistic of one feature: stat is last, prev, first, min, max, mean, count, rejected, trend (slope per day) or hours_since_last. NULL when the feature is known but has no such value; ERROR 42704 for an unknown feature, 22023 for an unknown stat.';

CREATE FUNCTION @extschema@.lab_last_at(panel @extschema@.lab_panel, feature text)
RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'icu_lab_last_at'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_last_at(@extschema@.lab_panel, text) IS
    'Result time of the last accepted value of the feature; NULL when there is none; ERROR 42704 for an unknown feature.';

CREATE FUNCTION @extschema@.lab_as_of(panel @extschema@.lab_panel)
RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'icu_lab_as_of'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_as_of(@extschema@.lab_panel) IS
    'The time the panel describes: only results with resulted_at <= this time are in it.';

CREATE FUNCTION @extschema@.lab_admission(panel @extschema@.lab_panel)
RETURNS bigint
    AS 'MODULE_PATHNAME', 'icu_lab_admission'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_admission(@extschema@.lab_panel) IS
    'The admission the panel belongs to (NULL for panels built without admission_id).';

CREATE FUNCTION @extschema@.lab_features(panel @extschema@.lab_panel)
RETURNS text[]
    AS 'MODULE_PATHNAME', 'icu_lab_features'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_features(@extschema@.lab_panel) IS
    'Names of the features the panel holds (accepted or rejected values), sorted.';

CREATE FUNCTION @extschema@.lab_layout_id(panel @extschema@.lab_panel)
RETURNS bigint
    AS 'MODULE_PATHNAME', 'icu_lab_layout_id'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_layout_id(@extschema@.lab_panel) IS
    'Identity of the panel''s feature list: a hash (1 to 4294967295) of its sorted feature names, equal for panels holding the same features; lets code cache feature positions per layout.';

-- ---------------------------------------------------------------------------
-- The as-of aggregate
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz, interval)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans_noadm'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz, interval)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_trans_noadm'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'icu_lab_panel_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_final(internal)
RETURNS @extschema@.lab_panel AS 'MODULE_PATHNAME', 'icu_lab_panel_final'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz) IS 'Transition function of lab_panel (reads the feature catalogue once per query).';
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, bigint, text, float8, timestamptz, timestamptz, interval) IS 'Transition function of lab_panel with a trend window.';
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz) IS 'Transition function of lab_panel without admission_id.';
COMMENT ON FUNCTION @extschema@.lab_panel_trans(internal, text, float8, timestamptz, timestamptz, interval) IS 'Transition function of lab_panel without admission_id, with a trend window.';
COMMENT ON FUNCTION @extschema@.lab_panel_combine(internal, internal) IS 'Combine function of lab_panel (parallel aggregation).';
COMMENT ON FUNCTION @extschema@.lab_panel_serialize(internal) IS 'Serialize function of lab_panel (parallel aggregation).';
COMMENT ON FUNCTION @extschema@.lab_panel_deserialize(bytea, internal) IS 'Deserialize function of lab_panel; validates every length and count.';
COMMENT ON FUNCTION @extschema@.lab_panel_final(internal) IS 'Final function of lab_panel.';

CREATE AGGREGATE @extschema@.lab_panel(admission_id bigint, feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel(admission_id bigint, feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz,
                                       trend_window interval) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel(feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel(feature text, value float8,
                                       resulted_at timestamptz, as_of timestamptz,
                                       trend_window interval) (
    SFUNC = @extschema@.lab_panel_trans, STYPE = internal, SSPACE = 3200,
    FINALFUNC = @extschema@.lab_panel_final,
    COMBINEFUNC = @extschema@.lab_panel_combine,
    SERIALFUNC = @extschema@.lab_panel_serialize,
    DESERIALFUNC = @extschema@.lab_panel_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.lab_panel(bigint, text, float8, timestamptz, timestamptz) IS
    'The lab panel of one admission as of a time: aggregate its canonical lab rows (lab_canonical) grouped by admission_id. Rows resulted after as_of are ignored; NULL rows skipped; implausible values counted as rejected; trend window 72 hours. NaN/Infinity: ERROR 22000; unknown feature: ERROR 42704. NULL when there are no rows.';
COMMENT ON AGGREGATE @extschema@.lab_panel(bigint, text, float8, timestamptz, timestamptz, interval) IS
    'lab_panel with an explicit trend window (the least-squares slope uses accepted results in [as_of - trend_window, as_of]).';
COMMENT ON AGGREGATE @extschema@.lab_panel(text, float8, timestamptz, timestamptz) IS
    'lab_panel without admission_id (the panel then names no admission, and a missing GROUP BY is not detected); prefer the form with admission_id.';
COMMENT ON AGGREGATE @extschema@.lab_panel(text, float8, timestamptz, timestamptz, interval) IS
    'lab_panel without admission_id, with an explicit trend window.';

-- ---------------------------------------------------------------------------
-- The daily series aggregate
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz, interval)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_trans'
    LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_combine'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'icu_lab_panel_series_serialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'icu_lab_panel_series_deserialize'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.lab_panel_series_final(internal)
RETURNS @extschema@.lab_panel[] AS 'MODULE_PATHNAME', 'icu_lab_panel_series_final'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz) IS 'Transition function of lab_panel_series.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_trans(internal, bigint, text, float8, timestamptz, timestamptz, timestamptz, interval) IS 'Transition function of lab_panel_series with a trend window.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_combine(internal, internal) IS 'Combine function of lab_panel_series.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_serialize(internal) IS 'Serialize function of lab_panel_series.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_deserialize(bytea, internal) IS 'Deserialize function of lab_panel_series; validates every length and count.';
COMMENT ON FUNCTION @extschema@.lab_panel_series_final(internal) IS 'Final function of lab_panel_series: one sort and one sweep per admission; reads icu_predict.day_timezone.';

CREATE AGGREGATE @extschema@.lab_panel_series(admission_id bigint, feature text, value float8,
                                              resulted_at timestamptz, from_time timestamptz,
                                              until timestamptz) (
    SFUNC = @extschema@.lab_panel_series_trans, STYPE = internal, SSPACE = 2400,
    FINALFUNC = @extschema@.lab_panel_series_final,
    COMBINEFUNC = @extschema@.lab_panel_series_combine,
    SERIALFUNC = @extschema@.lab_panel_series_serialize,
    DESERIALFUNC = @extschema@.lab_panel_series_deserialize,
    PARALLEL = SAFE);
CREATE AGGREGATE @extschema@.lab_panel_series(admission_id bigint, feature text, value float8,
                                              resulted_at timestamptz, from_time timestamptz,
                                              until timestamptz, trend_window interval) (
    SFUNC = @extschema@.lab_panel_series_trans, STYPE = internal, SSPACE = 2400,
    FINALFUNC = @extschema@.lab_panel_series_final,
    COMBINEFUNC = @extschema@.lab_panel_series_combine,
    SERIALFUNC = @extschema@.lab_panel_series_serialize,
    DESERIALFUNC = @extschema@.lab_panel_series_deserialize,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE @extschema@.lab_panel_series(bigint, text, float8, timestamptz, timestamptz, timestamptz) IS
    'Daily panels of one admission in one pass: element k is the panel as of the end of calendar day k of [from_time, until] (midnight in icu_predict.day_timezone, or the session TimeZone when that is empty), the last one as of until. Same statistics as lab_panel as of that time.';
COMMENT ON AGGREGATE @extschema@.lab_panel_series(bigint, text, float8, timestamptz, timestamptz, timestamptz, interval) IS
    'lab_panel_series with an explicit trend window.';

-- ---------------------------------------------------------------------------
-- Convenience functions for analysts and the model
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.day_zone()
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(NULLIF(pg_catalog.current_setting('icu_predict.day_timezone', true), ''),
                pg_catalog.current_setting('TimeZone'));
COMMENT ON FUNCTION @extschema@.day_zone() IS
    'The time zone in which a calendar day of stay ends: icu_predict.day_timezone, or the session TimeZone when that setting is empty.';

CREATE FUNCTION @extschema@.lab_panel_at(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.lab_panel
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT @extschema@.lab_panel(a.admission_id, c.feature, c.value, c.resulted_at, lab_panel_at.as_of)
      FROM @extschema@.admission a
      LEFT JOIN @extschema@.lab_canonical c
        ON c.admission_id = a.admission_id AND c.resulted_at <= lab_panel_at.as_of
     WHERE a.admission_id = lab_panel_at.admission_id;
END;
COMMENT ON FUNCTION @extschema@.lab_panel_at(bigint, timestamptz) IS
    'The lab panel of one admission as of a time (default now). An admission without labs gives an empty panel; an unknown admission gives NULL.';

CREATE FUNCTION @extschema@.lab_panel_daily(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (day date, as_of timestamptz, panel @extschema@.lab_panel)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (g.admitted_at AT TIME ZONE @extschema@.day_zone())::date + (u.n - 1)::integer,
           @extschema@.lab_as_of(u.panel),
           u.panel
      FROM (SELECT a.admitted_at,
                   @extschema@.lab_panel_series(a.admission_id, c.feature, c.value, c.resulted_at,
                        a.admitted_at,
                        LEAST(coalesce(a.discharged_at, lab_panel_daily.as_of), lab_panel_daily.as_of)) AS s
              FROM @extschema@.admission a
              LEFT JOIN @extschema@.lab_canonical c
                ON c.admission_id = a.admission_id AND c.resulted_at <= lab_panel_daily.as_of
             WHERE a.admission_id = lab_panel_daily.admission_id
             GROUP BY a.admission_id, a.admitted_at, a.discharged_at) g
     CROSS JOIN LATERAL pg_catalog.unnest(g.s) WITH ORDINALITY AS u(panel, n)
     ORDER BY u.n;
END;
COMMENT ON FUNCTION @extschema@.lab_panel_daily(bigint, timestamptz) IS
    'The prognostic course of one admission: one lab panel per calendar day of the stay, as of the end of that day (icu_predict.day_timezone), the last day as of discharge or as_of (default now), whichever is first.';

CREATE FUNCTION @extschema@.lab_panel_daily_all(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (admission_id bigint, day date, as_of timestamptz, panel @extschema@.lab_panel)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    -- The series are aggregated over lab rows joined to their admission (an
    -- inner join lets the lab rows be the parallel probe side, the admissions
    -- the small hashed side); admissions without canonical labs get their
    -- series of empty panels from the correlated subquery, run only for them.
    SELECT a.admission_id,
           (a.admitted_at AT TIME ZONE @extschema@.day_zone())::date + (u.n - 1)::integer,
           @extschema@.lab_as_of(u.panel),
           u.panel
      FROM @extschema@.admission a
      LEFT JOIN (SELECT c.admission_id,
                        @extschema@.lab_panel_series(c.admission_id, c.feature, c.value, c.resulted_at,
                            b.admitted_at,
                            LEAST(coalesce(b.discharged_at, lab_panel_daily_all.as_of), lab_panel_daily_all.as_of)) AS s
                   FROM @extschema@.lab_canonical c
                   JOIN @extschema@.admission b ON b.admission_id = c.admission_id
                  WHERE c.resulted_at <= lab_panel_daily_all.as_of
                    AND b.admitted_at <= lab_panel_daily_all.as_of
                  GROUP BY c.admission_id) g ON g.admission_id = a.admission_id
     CROSS JOIN LATERAL pg_catalog.unnest(coalesce(g.s,
            (SELECT @extschema@.lab_panel_series(e.id, NULL::text, NULL::float8, NULL::timestamptz, e.f, e.u)
               FROM (VALUES (a.admission_id, a.admitted_at,
                             LEAST(coalesce(a.discharged_at, lab_panel_daily_all.as_of), lab_panel_daily_all.as_of))) e(id, f, u))))
            WITH ORDINALITY AS u(panel, n)
     WHERE a.admitted_at <= lab_panel_daily_all.as_of;
END;
COMMENT ON FUNCTION @extschema@.lab_panel_daily_all(timestamptz) IS
    'lab_panel_daily for every admission admitted by as_of (default now): one row per admission and calendar day of stay.';
