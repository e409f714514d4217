-- ICU episodes and ICU occupancy, derived from location_stay.
--
-- An ICU episode is what MIMIC calls an ICU stay (ICUSTAYS) and what a bed
-- manager counts: one admission's time in intensive care, from the first
-- arrival in an ICU unit to the last departure, where
--   * consecutive ICU location stays are merged even when the unit changes
--     (an ICU-to-ICU transfer continues the episode), and
--   * a return to an ICU within max_gap (24 hours in the view icu_episode)
--     of leaving one continues the episode too; the time off the unit
--     (e.g. on a ward, in theatre) counts towards the episode's length.
-- This is the rule MIMIC-III applies when it groups TRANSFERS into ICUSTAYS;
-- on the MIMIC-III demo every ICUSTAYS row equals one episode.
--
-- Functions use SQL-standard bodies (BEGIN ATOMIC), so every name and
-- operator is resolved when the extension is created, not through the
-- caller's search_path.  "Now" and the end of a day come from the clock
-- (00_clock.sql): reference_time() and day_zone().

-- ---------------------------------------------------------------------------
-- icu_episodes(max_gap) and the view icu_episode
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.icu_episodes(max_gap interval DEFAULT '24 hours')
RETURNS TABLE (
    admission_id   bigint,
    episode        integer,
    first_unit     text,
    last_unit      text,
    started_at     timestamptz,
    ended_at       timestamptz,
    los_days       float8,
    still_in_icu   boolean,
    location_stays integer
)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH icu AS (
        SELECT s.stay_id, s.admission_id, s.unit, s.started_at, s.ended_at,
               pg_catalog.max(COALESCE(s.ended_at, 'infinity'::timestamptz)) OVER (
                   PARTITION BY s.admission_id ORDER BY s.started_at, s.stay_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_end
          FROM @extschema@.location_stay s
         WHERE s.unit_kind = 'icu'
    ), numbered AS (
        SELECT icu.*,
               pg_catalog.sum(CASE
                       WHEN icu.prior_end IS NULL THEN 1
                       WHEN icu.started_at
                            > icu.prior_end + COALESCE(icu_episodes.max_gap, '0'::interval) THEN 1
                       ELSE 0 END)
                   OVER (PARTITION BY icu.admission_id
                         ORDER BY icu.started_at, icu.stay_id) AS episode
          FROM icu
    ), grouped AS (
        SELECT n.admission_id,
               n.episode::integer AS episode,
               (pg_catalog.array_agg(n.unit ORDER BY n.started_at, n.stay_id))[1] AS first_unit,
               (pg_catalog.array_agg(n.unit ORDER BY n.started_at DESC, n.stay_id DESC))[1] AS last_unit,
               pg_catalog.min(n.started_at) AS started_at,
               CASE WHEN pg_catalog.bool_or(n.ended_at IS NULL) THEN NULL
                    ELSE pg_catalog.max(n.ended_at) END AS ended_at,
               pg_catalog.bool_or(n.ended_at IS NULL) AS still_in_icu,
               pg_catalog.count(*)::integer AS location_stays
          FROM numbered n
         GROUP BY n.admission_id, n.episode
    )
    SELECT g.admission_id, g.episode, g.first_unit, g.last_unit,
           g.started_at, g.ended_at,
           pg_catalog.date_part('epoch',
               COALESCE(g.ended_at, @extschema@.reference_time()) - g.started_at) / 86400.0 AS los_days,
           g.still_in_icu, g.location_stays
      FROM grouped g
     ORDER BY g.admission_id, g.episode;
END;

COMMENT ON FUNCTION @extschema@.icu_episodes(interval) IS
    'ICU episodes derived from location_stay (unit_kind = ''icu''): ICU stays of one admission are merged into one episode when the next one starts at most max_gap after the latest end so far (ICU-to-ICU transfers have gap 0). NULL max_gap merges only stays that touch. The view icu_episode uses 24 hours, the MIMIC-III ICUSTAYS rule.';

CREATE VIEW @extschema@.icu_episode AS
    SELECT e.admission_id, e.episode, e.first_unit, e.last_unit,
           e.started_at, e.ended_at, e.los_days, e.still_in_icu, e.location_stays
      FROM @extschema@.icu_episodes('24 hours'::interval) e;

COMMENT ON VIEW @extschema@.icu_episode IS
    'One row per ICU episode: consecutive ICU location stays of an admission, merged when the patient returns to an ICU within 24 hours (the MIMIC-III ICUSTAYS rule). ICU admissions and ICU length of stay derive from here.';
COMMENT ON COLUMN @extschema@.icu_episode.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.icu_episode.episode IS 'Episode number within the admission, 1 for the first ICU episode, in time order.';
COMMENT ON COLUMN @extschema@.icu_episode.first_unit IS 'The ICU unit the episode started in.';
COMMENT ON COLUMN @extschema@.icu_episode.last_unit IS 'The ICU unit of the episode''s latest ICU location stay.';
COMMENT ON COLUMN @extschema@.icu_episode.started_at IS 'Arrival in the first ICU unit.';
COMMENT ON COLUMN @extschema@.icu_episode.ended_at IS 'Departure from the last ICU unit; NULL while the patient is in the ICU.';
COMMENT ON COLUMN @extschema@.icu_episode.los_days IS 'ICU length of stay in days (ended_at - started_at, including short excursions off the ICU); for an open episode the time so far, up to icu_predict.reference_time or now.';
COMMENT ON COLUMN @extschema@.icu_episode.still_in_icu IS 'True while the episode is open (its latest ICU location stay has no ended_at).';
COMMENT ON COLUMN @extschema@.icu_episode.location_stays IS 'Number of ICU location stays merged into the episode.';

-- ---------------------------------------------------------------------------
-- icu_occupancy(from_day, to_day)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.icu_occupancy(from_day date, to_day date)
RETURNS TABLE (unit text, day date, patients integer)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    WITH zone AS (
        SELECT @extschema@.day_zone() AS tz
    ), days AS (
        SELECT d::date AS day,
               pg_catalog.timezone(zone.tz, (d::date + 1)::timestamp) AS census_at
          FROM pg_catalog.generate_series(icu_occupancy.from_day::timestamp,
                                          icu_occupancy.to_day::timestamp,
                                          '1 day'::interval) AS d,
               zone
    ), units AS (
        SELECT s.unit FROM @extschema@.location_stay s WHERE s.unit_kind = 'icu'
        UNION
        SELECT c.unit FROM @extschema@.icu_capacity c
    ), present AS (
        SELECT d.day,
               (SELECT s.unit
                  FROM @extschema@.location_stay s
                 WHERE s.admission_id = e.admission_id
                   AND s.unit_kind = 'icu'
                   AND s.started_at >= e.started_at
                   AND s.started_at <= d.census_at
                 ORDER BY s.started_at DESC, s.stay_id DESC
                 LIMIT 1) AS unit
          FROM days d
          JOIN @extschema@.icu_episode e
            ON e.started_at <= d.census_at
           AND (e.ended_at IS NULL OR e.ended_at > d.census_at)
    )
    SELECT u.unit, d.day, pg_catalog.count(p.unit)::integer AS patients
      FROM units u
     CROSS JOIN days d
      LEFT JOIN present p ON p.unit = u.unit AND p.day = d.day
     GROUP BY u.unit, d.day
     ORDER BY u.unit, d.day;
END;

COMMENT ON FUNCTION @extschema@.icu_occupancy(date, date) IS
    'ICU census per unit and day from from_day to to_day: the number of patients in an ICU episode at the end of the day (midnight at which the day ends in icu_predict.day_timezone, or the session TimeZone when that is empty), i.e. started_at <= midnight < ended_at. A patient counts in the unit of the latest ICU location stay begun by then, also during a short excursion off the ICU that the episode rule (icu_episode) merges. Every ICU unit known from location_stay or icu_capacity gets a row for every day, 0 when empty.';
