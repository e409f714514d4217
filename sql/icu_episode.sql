-- ICU episodes and ICU occupancy on a hand-made cohort.
-- Everything runs in one transaction that is rolled back.
SET TimeZone = 'UTC';
SET icu_predict.day_timezone = 'UTC';
SET extra_float_digits = 0;
BEGIN;
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, discharged_at, age_years) VALUES
    (9001, 'p1', '2030-01-01 00:00+00', '2030-01-10 00:00+00', 60),
    (9002, 'p2', '2030-01-01 00:00+00', '2030-01-10 00:00+00', 61),
    (9003, 'p3', '2030-01-01 00:00+00', NULL,                   62),
    (9004, 'p4', '2030-01-01 00:00+00', '2030-01-10 00:00+00', 63),
    (9005, 'p5', '2030-01-01 00:00+00', '2030-01-10 00:00+00', 64);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES
    -- 9001: ward, ICU-A, 12 h on the ward, ICU-B, ward: one episode of 3 2/3 days
    (9001, 'W1',    'ward', '2030-01-03 08:00+00', '2030-01-03 20:00+00'),
    (9001, 'ICU-A', 'icu',  '2030-01-03 20:00+00', '2030-01-05 06:00+00'),
    (9001, 'W1',    'ward', '2030-01-05 06:00+00', '2030-01-05 18:00+00'),
    (9001, 'ICU-B', 'icu',  '2030-01-05 18:00+00', '2030-01-07 12:00+00'),
    (9001, 'W1',    'ward', '2030-01-07 12:00+00', '2030-01-09 00:00+00'),
    -- 9002: ICU-A, 48 h on a ward, ICU-A again: two episodes (1 and 0.5 days)
    (9002, 'ICU-A', 'icu',  '2030-01-01 10:00+00', '2030-01-02 10:00+00'),
    (9002, 'W2',    'ward', '2030-01-02 10:00+00', '2030-01-04 10:00+00'),
    (9002, 'ICU-A', 'icu',  '2030-01-04 10:00+00', '2030-01-04 22:00+00'),
    -- 9003: medium care, then ICU-B -> ICU-A (adjacent), still in the ICU
    (9003, 'MC-1',  'mc',   '2030-01-02 12:00+00', '2030-01-02 23:30+00'),
    (9003, 'ICU-B', 'icu',  '2030-01-02 23:30+00', '2030-01-03 23:30+00'),
    (9003, 'ICU-A', 'icu',  '2030-01-03 23:30+00', NULL),
    -- 9004: ICU-A, exactly 24 h on a ward, ICU-A: one episode of 1.75 days
    (9004, 'ICU-A', 'icu',  '2030-01-01 00:00+00', '2030-01-01 12:00+00'),
    (9004, 'W2',    'ward', '2030-01-01 12:00+00', '2030-01-02 12:00+00'),
    (9004, 'ICU-A', 'icu',  '2030-01-02 12:00+00', '2030-01-02 18:00+00'),
    -- 9005: never in the ICU
    (9005, 'W1',    'ward', '2030-01-01 00:00+00', '2030-01-09 00:00+00');
INSERT INTO icu_predict.icu_capacity (unit, valid_from, staffed_beds, surge_beds) VALUES
    ('ICU-C', '2030-01-01', 4, 6);

-- Episodes with the 24 h rule; the open one's length is as of the reference time.
SET icu_predict.reference_time = '2030-01-05 23:30+00';
SELECT admission_id, episode, first_unit, last_unit, started_at, ended_at,
       round(los_days::numeric, 6) AS los_days, still_in_icu, location_stays
  FROM icu_predict.icu_episode ORDER BY admission_id, episode;

-- A stricter gap splits 9004; NULL merges only stays that touch (9001 splits, 9003 not).
SELECT admission_id, episode, started_at, ended_at, round(los_days::numeric, 6) AS los_days
  FROM icu_predict.icu_episodes('23 hours') WHERE admission_id = 9004;
SELECT admission_id, pg_catalog.count(*) AS episodes
  FROM icu_predict.icu_episodes(NULL) GROUP BY admission_id ORDER BY admission_id;

-- Census at the end of each day (midnight UTC), every ICU unit, zeros included.
SELECT unit, day, patients FROM icu_predict.icu_occupancy('2030-01-01', '2030-01-08');

-- The day ends in icu_predict.day_timezone: in Amsterdam (UTC+1) the census
-- of 2 January is at 23:00 UTC, before 9003 arrived in ICU-B at 23:30.
SET icu_predict.day_timezone = 'Europe/Amsterdam';
SELECT unit, day, patients FROM icu_predict.icu_occupancy('2030-01-02', '2030-01-03')
 WHERE unit <> 'ICU-C';

-- Empty and NULL ranges give no rows; an unknown zone is an error when it is set.
SELECT pg_catalog.count(*) FROM icu_predict.icu_occupancy('2030-01-05', '2030-01-04');
SELECT pg_catalog.count(*) FROM icu_predict.icu_occupancy(NULL, '2030-01-04');
SET icu_predict.day_timezone = 'Mars/Olympus_Mons';
SELECT * FROM icu_predict.icu_occupancy('2030-01-01', '2030-01-01');
ROLLBACK;
RESET icu_predict.day_timezone;
RESET icu_predict.reference_time;
