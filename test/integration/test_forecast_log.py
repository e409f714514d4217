"""The forecast log survives pg_dump/pg_restore: the same rows, value for
value (distribution included), and a refresh after the restore appends to
it with run ids that do not collide.

Needs a server (tools/run-tests.sh runs pytest inside pg_virtualenv).
"""
import subprocess

import psycopg2

import scratch_db

COHORT = """
SET timezone = 'UTC';
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (1, 'p1', '2020-04-01 10:00+00', 70),
    (2, 'p2', '2020-04-02 10:00+00', 60);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (1, 'W1', 'ward', 'none', '2020-04-01 10:00+00', '2020-04-02 12:00+00'),
    (1, 'IC', 'icu', 'strict', '2020-04-02 12:00+00', NULL),
    (2, 'IC', 'icu', 'none', '2020-04-02 10:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('IC', '2020-01-01', 4, 6);
"""

LOG = """SELECT run_id, reference_time, reference_date, forecast_at, forecast_date, unit, is_total,
                horizon_day, demand::text, expected_beds, variance_beds, p05_beds, p10_beds, p50_beds,
                p90_beds, p95_beds, occupied_now, census_now, census_mean_7d, staffed_beds, surge_beds,
                prob_over_staffed, prob_over_surge, recommended_action, arrivals_per_day,
                policy::text, risk_model_version, stay_model_version, is_replay, of_record, logged_at
           FROM icu_predict.forecast_log ORDER BY run_id, unit, horizon_day"""


def _connect(dbname):
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    return c


def _log(dbname):
    c = _connect(dbname)
    with c.cursor() as cur:
        cur.execute(LOG)
        rows = cur.fetchall()
    c.close()
    return rows


def test_dump_restore_keeps_the_forecast_log(tmp_path):
    src = scratch_db.create("icu_flog_")
    dst = None
    try:
        c = _connect(src)
        with c.cursor() as cur:
            cur.execute(COHORT)
            for ref in ("2020-04-02 08:00+00", "2020-04-02 14:00+00", "2020-04-03 08:00+00"):
                cur.execute("SET icu_predict.reference_time = %s", (ref,))
                cur.execute("CALL icu_predict.refresh()")
            cur.execute("SELECT count(*) FROM icu_predict.refresh_log WHERE succeeded")
            assert cur.fetchone()[0] == 3
        c.close()
        before = _log(src)
        assert len(before) == 3 * 15 * 2, "3 runs x 15 days x (unit + total)"
        assert sum(1 for r in before if r[-2]) == 2 * 15 * 2, "two runs of record (one per day)"

        dump = tmp_path / "flog.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), src], check=True)
        dst = scratch_db.create("icu_flog_rst_", extension=False)
        subprocess.run(["pg_restore", "--exit-on-error", "-d", dst, str(dump)], check=True)

        after = _log(dst)
        assert len(after) == len(before)
        assert after == before, "every logged value, the distribution included, survives"

        # the restored log goes on: a new run gets a new run id, and the
        # of-record rule sees the restored rows (04-03 has one already)
        c = _connect(dst)
        with c.cursor() as cur:
            cur.execute("SET timezone = 'UTC'")
            cur.execute("SET icu_predict.reference_time = '2020-04-03 09:00+00'")
            cur.execute("CALL icu_predict.refresh()")
            cur.execute("SELECT succeeded, error FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1")
            assert cur.fetchone() == (True, None)
            cur.execute("SELECT count(DISTINCT run_id), max(run_id), "
                        "count(*) FILTER (WHERE of_record AND reference_date = '2020-04-03') "
                        "FROM icu_predict.forecast_log")
            runs, last, of_record = cur.fetchone()
            assert runs == 4 and last > max(r[0] for r in before)
            assert of_record == 30, "the run after the restore is not a second forecast of record"
            # and grading still reads the restored rows
            cur.execute("SET icu_predict.reference_time = '2020-04-04 08:00+00'")
            cur.execute("SELECT count(*) FROM icu_predict.forecast_grade")
            assert cur.fetchone()[0] > 0
        c.close()
    finally:
        scratch_db.drop(src)
        if dst:
            scratch_db.drop(dst)
