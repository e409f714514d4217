"""A scenario cohort loaded into a server: the truth tables of the oracle
(icu_synth.scenario, oracle_course, scenario_admissions, scenario_intensity,
scenario_icu_start_lag) hold what the generator computed, agree with each
other and with the loaded clinical tables, and a second load replaces them.
"""
import datetime as dt
import json

import psycopg2
import pytest

from model import intensity, load, scenario, synth

END = dt.date(2024, 3, 1)


def _load(dbname, c, replace=False):
    conn = psycopg2.connect(dbname=dbname)
    try:
        return load.load(c, conn, replace=replace, bulk="off")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def loaded(dbname):
    c = synth.generate(3000, 42, END, scenario.get("small_two_waves"))
    return c, _load(dbname, c)


def q(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def test_scenario_row_names_the_cohort(loaded, conn):
    c, res = loaded
    name, params, seed, n, end, sha, tsha = q(conn, "SELECT * FROM icu_synth.scenario")
    assert (name, seed, n, end) == ("small_two_waves", 42, 3000, END)
    assert params == json.loads(synth.scenario_json(c))
    assert sha == res["checksum"] and tsha == res["truth_checksum"] == intensity.truth_checksum_only(c)
    assert q(conn, "SELECT count(*) FROM icu_synth.scenario")[0] == 1


def test_capacity_is_the_scenarios(loaded, conn):
    assert q(conn, "SELECT array_agg(DISTINCT unit ORDER BY unit) FROM icu_predict.icu_capacity")[0] == ["IC-1", "IC-2"]
    assert q(conn, "SELECT sum(staffed_beds) FROM icu_predict.icu_capacity WHERE valid_from = %s",
             END - dt.timedelta(days=180))[0] == 20


def test_course_agrees_with_the_loaded_stays(loaded, conn):
    # the realised time to ICU and the ICU unit are those of the loaded ICU stays (minutes)
    bad, n = q(conn, """
        SELECT count(*) FILTER (WHERE abs(extract(epoch FROM s.started_at - a.admitted_at) / 86400
                                          - oc.time_to_icu_days) > 1e-5 OR s.unit <> oc.icu_unit),
               count(*)
          FROM icu_predict.location_stay s
          JOIN icu_predict.admission a USING (admission_id)
          JOIN icu_synth.oracle_course oc USING (admission_id)
         WHERE s.unit_kind = 'icu'""")
    assert n > 50 and bad == 0
    assert q(conn, """SELECT count(*) FROM icu_synth.oracle o JOIN icu_synth.oracle_course oc USING (admission_id)
                       WHERE o.icu <> (oc.time_to_icu_days IS NOT NULL)""")[0] == 0


def test_intensity_tables_add_up(loaded, conn):
    c, _ = loaded
    days, units = q(conn, "SELECT count(DISTINCT day), count(DISTINCT unit) FROM icu_synth.scenario_intensity")
    assert (days, units) == (180, 2)
    # the lag split sums to the intensity, per day and unit
    assert q(conn, """
        SELECT max(abs(i.expected_icu_starts - l.s))
          FROM icu_synth.scenario_intensity i
          JOIN (SELECT day, unit, sum(expected_icu_starts_covid + expected_icu_starts_background) s
                  FROM icu_synth.scenario_icu_start_lag GROUP BY 1, 2) l USING (day, unit)""")[0] < 1e-9
    exp, real = q(conn, """
        SELECT (SELECT sum(expected_icu_starts) FROM icu_synth.scenario_intensity),
               (SELECT count(*) FROM icu_predict.location_stay WHERE unit_kind = 'icu')""")
    assert abs(real - exp) < 4 * exp ** 0.5, (real, exp)
    assert abs(q(conn, "SELECT sum(expected_admissions) FROM icu_synth.scenario_admissions")[0] - 3000) < 1e-6


def test_second_load_replaces_the_truth(loaded, dbname, conn):
    c = synth.generate(800, 1, END, scenario.get("steady"))
    _load(dbname, c, replace=True)
    assert q(conn, "SELECT name, admissions FROM icu_synth.scenario") == ("steady", 800)
    assert q(conn, "SELECT count(*) FROM icu_synth.oracle_course")[0] == 800
    # steady sizes its beds from its own peak, in all three units; no stale rows
    assert q(conn, "SELECT count(DISTINCT unit) FROM icu_predict.icu_capacity")[0] == 3
    assert q(conn, "SELECT count(DISTINCT unit) FROM icu_synth.scenario_intensity")[0] == 3
