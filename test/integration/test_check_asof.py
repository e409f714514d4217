"""The forecast as of a past moment uses only what was known then, with the
forecast log in place.

A replay (`icu_predict.reference_time` set) must give the forecast a bed
manager would have seen at that moment.  Two kinds of later knowledge could
leak into it:

* the hospital's data (labs resulted, stays and admissions begun or ended
  after the reference time): eval/backtest.py's check_asof() deletes and
  reopens them in a rolled-back transaction and compares the forecasts;
* the forecast log itself: the calibration reads graded forecasts of record,
  the action's hysteresis the previous action.  Rows logged by refreshes *after*
  the reference time must change nothing.

The forecast log here is the real one, filled by CALL icu_predict.refresh()
at daily reference times before and after the checked moment, with the
calibration on (and a cold start of one forecast, so that it is applied), the
common shift, the inflow trend and the stay read at the episode's start, so
that every part of the forecast that reads data or the log takes part.

Needs a server (tools/run-tests.sh runs pytest inside pg_virtualenv).
"""
import datetime as dt
import os
import subprocess
import sys

import psycopg2
import pytest

import scratch_db

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "eval"))
import backtest  # noqa: E402

UTC = dt.timezone.utc
CHECKED = dt.datetime(2020, 4, 11, tzinfo=UTC)            # the end of 10 April
LOGGED = [CHECKED - dt.timedelta(days=k) for k in (3, 2, 1)] + [CHECKED] \
    + [CHECKED + dt.timedelta(days=2)]                    # and one after it
POLICY = {"calibration": True, "calibration_min_forecasts": 1, "common_shift": True,
          "inflow_trend": True, "stay_at_episode_start": True}


@pytest.fixture(scope="module")
def db():
    name = scratch_db.create("icu_asof_")
    try:
        subprocess.run([sys.executable, "-m", "model", "cohort", "--dbname", name, "--admissions", "600",
                        "--seed", "7", "--end-date", "2020-05-01"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        c = psycopg2.connect(dbname=name)
        c.autocommit = True
        with c.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            cur.execute("SET TimeZone = 'UTC'")
            backtest.set_policy(cur, POLICY)
            for ref in LOGGED:
                cur.execute("SET icu_predict.reference_time = %s", (ref.isoformat(),))
                cur.execute("CALL icu_predict.refresh()")
            cur.execute("RESET icu_predict.reference_time")
            cur.execute("SELECT count(*) FILTER (WHERE succeeded), count(*) FROM icu_predict.refresh_log")
            ok, n = cur.fetchone()
            assert ok == n == len(LOGGED)
        c.close()
        yield name
    finally:
        scratch_db.drop(name)


def _fast_path(conn):
    """The backtest's fast path, reading the real forecast log (the replay
    log of variant 0 is a view of it)."""
    with conn.cursor() as cur:
        ps_sql, cf_sql = backtest.view_sql(cur)
        cur.execute(f"CREATE TEMP VIEW {backtest.log_table(0)} AS SELECT "
                    + ", ".join(line.split()[0] for line in backtest.LOG_COLUMNS.split(","))
                    + " FROM icu_predict.forecast_log")
    conn.commit()
    return ps_sql, cf_sql


def test_the_log_is_read_and_later_rows_change_nothing(db):
    conn = psycopg2.connect(dbname=db)
    try:
        ps_sql, cf_sql = _fast_path(conn)
        variant = ("asof", POLICY)
        with conn.cursor() as cur:
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            backtest.set_reference(cur, CHECKED)
            # the checked moment's own run and the later one: neither may be read
            cur.execute("SELECT count(*) FROM icu_predict.forecast_log WHERE reference_time >= %s", (CHECKED,))
            later = cur.fetchone()[0]
            assert later > 0, "the log holds no forecast made at or after the checked moment"
            full, _, _ = backtest.fast_forecast(cur, ps_sql, cf_sql, [variant])
            cur.execute("DELETE FROM icu_predict.forecast_log WHERE reference_time >= %s", (CHECKED,))
            assert cur.rowcount == later
            cut, _, _ = backtest.fast_forecast(cur, ps_sql, cf_sql, [variant])
            conn.rollback()
        rows = full["asof"]
        # the log is really read: calibrated rows resting on earlier forecasts
        with conn.cursor() as cur:
            cur.execute("SET LOCAL TimeZone = 'UTC'")
            backtest.set_reference(cur, CHECKED)
            backtest.set_policy(cur, POLICY)
            cur.execute("CREATE TEMP TABLE bt_ps_today AS " + ps_sql)
            cur.execute(f"SELECT calibration_status, calibration_forecasts, shift_status "
                        f"FROM ({backtest.with_log(cf_sql, 0)}) f")
            status = cur.fetchall()
            n_cal = sum(1 for s, _, _ in status if s == "calibrated")
            most = max(n or 0 for _, n, _ in status)
            n_mixed = sum(1 for _, _, m in status if m == "mixed")
            conn.rollback()
        assert n_cal > 0 and most >= 1, status
        assert n_mixed > 0, "no forecast row was mixed over the common shift"
        assert len(rows) == len(cut["asof"]) > 0
        for a, b in zip(rows, cut["asof"]):
            assert backtest.same_row(a, b), (a, b)
    finally:
        conn.close()


def test_the_data_cut_at_the_reference_time_changes_nothing(db):
    conn = psycopg2.connect(dbname=db)
    try:
        ps_sql, cf_sql = _fast_path(conn)
        counts, diffs, n = backtest.check_asof(conn, ps_sql, cf_sql, CHECKED, "UTC", ("asof", POLICY))
        # the cut really removed later data, and the forecast did not move
        assert counts["labs resulted after"] > 0
        assert counts["admissions begun after"] > 0
        assert counts["admissions reopened"] > 0
        assert counts["stays reopened"] > 0
        assert n > 0
        assert diffs == {}
    finally:
        conn.close()


def test_variant_policy_starts_from_the_defaults(db):
    """A capacity_policy row already in the database (a manual refresh's, a
    hospital's own) is not the base of a replay variant: set_policy gives the
    defaults with the variant's settings over them."""
    conn = psycopg2.connect(dbname=db)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO icu_predict.capacity_policy (arrival_window_days, action_hysteresis) "
                        "VALUES (3, false) ON CONFLICT (id) DO UPDATE "
                        "SET arrival_window_days = 3, action_hysteresis = false")
            backtest.set_policy(cur, {"calibration": True})
            cur.execute("SELECT (p).arrival_window_days, (p).action_hysteresis, (p).calibration "
                        "FROM (SELECT icu_predict.capacity_settings() AS p) s")
            assert cur.fetchone() == (7, True, True)
            backtest.set_policy(cur, {})
            cur.execute("SELECT count(*) FROM icu_predict.capacity_policy")
            assert cur.fetchone()[0] == 0
    finally:
        conn.rollback()
        conn.close()
