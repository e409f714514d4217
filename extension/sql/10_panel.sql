-- The lab panel (C: extension/src/panel/).
--
--   type lab_panel       per-feature last/prev/first/min/max/mean/count/rejected/trend
--                        of one admission as of a time; JSON-like text I/O,
--                        binary I/O, cast to jsonb
--   aggregate lab_panel(admission_id, feature, value, resulted_at, as_of [, trend_window])
--   aggregate lab_panel_series(admission_id, feature, value, resulted_at, from, until [, trend_window])
--   lab_panel_at(), lab_panel_daily(), lab_panel_daily_all()
--   accessors lab_value(), lab_last_at(), lab_as_of(), lab_admission(), lab_features(),
--             lab_layout_id()
--
-- The panels read canonical lab rows (lab_canonical, 03_canonical.sql).  The
-- aggregates read the feature catalogue (names, plausible ranges) once per
-- query; values outside [plausible_min, plausible_max] are counted as rejected.
-- Days end in day_zone() (00_clock.sql).

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
COMMENT ON FUNCTION @extschema@.lab_panel_recv(internal) IS 'Binary input of lab_panel; validates every length and count (SQLSTATE 22P03).';
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
    LANGUAGE C STABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_value(@extschema@.lab_panel, text, text) IS
    'One statistic of one feature: stat is last, prev, first, min, max, mean, count, rejected, trend (slope per day; needs values spanning at least 6 hours in the trend window) or hours_since_last. count and rejected are 0 for a known feature the panel lacks and for a NULL panel (a panel without labs), as risk() reads them; other stats are NULL when the feature is known but has no such value; NULL feature or stat give NULL; ERROR 42704 for an unknown feature, 22023 for an unknown stat.';

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
    'The lab panel of one admission as of a time: aggregate its canonical lab rows (lab_canonical) grouped by admission_id. Rows resulted after as_of are ignored; NULL rows skipped; implausible values counted as rejected; trend window 72 hours. NaN/Infinity: ERROR 22023; unknown feature: ERROR 42704. NULL when there are no rows.';
COMMENT ON AGGREGATE @extschema@.lab_panel(bigint, text, float8, timestamptz, timestamptz, interval) IS
    'lab_panel with an explicit trend window (the least-squares slope uses accepted results in [as_of - trend_window, as_of]; at most 4 years; no trend when those results span less than 6 hours).';
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
