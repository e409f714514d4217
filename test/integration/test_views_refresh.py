"""refresh() under concurrency, after pg_dump/pg_restore, and from pg_cron.

These need a server (tools/run-tests.sh runs pytest inside pg_virtualenv,
with pg_cron preloaded and cron.database_name = postgres).
"""
import subprocess
import threading
import time

import psycopg2
import pytest

import scratch_db

REF = "2020-04-03 08:00+00"

COHORT = """
SET timezone = 'UTC';
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (1, 'p1', '2020-04-01 10:00+00', 70),
    (2, 'p2', '2020-04-02 10:00+00', 60),
    (3, 'p3', '2020-04-02 11:00+00', 50);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (1, 'W1', 'ward', 'droplet', '2020-04-01 10:00+00', '2020-04-02 12:00+00'),
    (1, 'IC', 'icu', 'strict', '2020-04-02 12:00+00', NULL),
    (2, 'W1', 'ward', 'none', '2020-04-02 10:00+00', NULL),
    (3, 'W2', 'ward', 'contact', '2020-04-02 11:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('IC', '2020-01-01', 4, 6);
INSERT INTO icu_predict.ward_access VALUES ('icu_bi_reader', '*');
"""


def _connect(dbname, **kw):
    c = psycopg2.connect(dbname=dbname, **kw)
    c.autocommit = True
    return c


@pytest.fixture(scope="module")
def cohort_db(dbname):
    c = _connect(dbname)
    with c.cursor() as cur:
        cur.execute(COHORT)
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("CALL icu_predict.refresh()")
    c.close()
    return dbname


def _lock_waits(conn, pid):
    with conn.cursor() as cur:
        cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,))
        row = cur.fetchone()
        return row[0] if row else None


def test_reader_not_blocked_during_concurrent_refresh(cohort_db):
    """A refresh holding its locks (transaction left open) does not block BI reads."""
    refresher = _connect(cohort_db)
    refresher.autocommit = False
    reader = _connect(cohort_db)
    with refresher.cursor() as cur:
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("CALL icu_predict.refresh()")       # concurrently: populated already
        cur.execute("SELECT mode FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1")
        assert cur.fetchone()[0] == "concurrently"
        # the refresh's locks are held until this transaction ends
        cur.execute("""SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                        WHERE l.pid = pg_backend_pid() AND c.relname = 'patient_status'
                          AND l.mode = 'ExclusiveLock'""")
        assert cur.fetchone()[0] == 1
        result = {}

        def read():
            with reader.cursor() as rc:
                rc.execute("SET statement_timeout = '10s'")
                rc.execute("SELECT count(*) FROM icu_bi.patient_status")
                result["ps"] = rc.fetchone()[0]
                rc.execute("SELECT count(*) FROM icu_bi.capacity_forecast")
                result["cf"] = rc.fetchone()[0]

        t = threading.Thread(target=read)
        t.start()
        t.join(15)
        assert not t.is_alive(), "reader blocked by a concurrent refresh"
        assert result == {"ps": 7, "cf": 30}
    refresher.commit()
    refresher.close()
    reader.close()


def test_plain_refresh_would_block_readers(cohort_db):
    """Control: the lock a plain REFRESH takes does block readers, so the test above can fail."""
    owner = _connect(cohort_db)
    owner.autocommit = False
    reader = _connect(cohort_db)
    with owner.cursor() as cur:
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("REFRESH MATERIALIZED VIEW icu_predict.patient_status")
        with reader.cursor() as rc:
            rc.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg2.errors.LockNotAvailable):
                rc.execute("SELECT count(*) FROM icu_bi.patient_status")
    owner.rollback()
    owner.close()
    reader.close()


def test_failed_refresh_is_logged_and_keeps_views(cohort_db):
    c = _connect(cohort_db)
    with c.cursor() as cur:
        cur.execute("SELECT count(*) FROM icu_predict.patient_status")
        before = cur.fetchone()[0]
        cur.execute("SET icu_predict.reference_time = 'not a time'")
        cur.execute("CALL icu_predict.refresh()")         # WARNING, not ERROR
        cur.execute("""SELECT succeeded, error FROM icu_predict.refresh_log
                        ORDER BY run_id DESC LIMIT 1""")
        ok, err = cur.fetchone()
        assert ok is False and err.startswith("22007")
        cur.execute("RESET icu_predict.reference_time")
        cur.execute("SELECT count(*) FROM icu_predict.patient_status")
        assert cur.fetchone()[0] == before
        cur.execute("SELECT last_run_failed FROM icu_bi.refresh_status")
        assert cur.fetchone()[0] is True
    c.close()


def test_dump_restore_then_refresh_restores_views(cohort_db, tmp_path):
    dump = tmp_path / "icu.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), cohort_db], check=True)
    target = scratch_db.create("icu_restore_", extension=False)
    try:
        subprocess.run(["pg_restore", "--exit-on-error", "-d", target, str(dump)], check=True)
        r = _connect(target)
        with r.cursor() as cur:
            cur.execute("""SELECT relname, relispopulated FROM pg_class
                            WHERE relname IN ('patient_status', 'capacity_forecast')
                              AND relnamespace = 'icu_predict'::regnamespace ORDER BY 1""")
            assert cur.fetchall() == [("capacity_forecast", False), ("patient_status", False)]
            cur.execute("SELECT count(*) FROM icu_predict.ward_access")
            assert cur.fetchone()[0] == 1, "ward mapping survives the dump"
            cur.execute("SELECT count(*) FROM icu_predict.refresh_log")
            assert cur.fetchone()[0] >= 1, "refresh log survives the dump"
            cur.execute("SET icu_predict.reference_time = %s", (REF,))
            cur.execute("CALL icu_predict.refresh()")
            cur.execute("SELECT mode, succeeded FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1")
            assert cur.fetchone() == ("plain", True)
            cur.execute("SELECT count(*) FROM icu_predict.patient_status")
            ps = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM icu_predict.capacity_forecast")
            cf = cur.fetchone()[0]
        r.close()
        o = _connect(cohort_db)
        with o.cursor() as cur:
            cur.execute("SET icu_predict.reference_time = %s", (REF,))
            cur.execute("CALL icu_predict.refresh()")
            cur.execute("SELECT count(*) FROM icu_predict.patient_status")
            assert cur.fetchone()[0] == ps == 7
            cur.execute("SELECT count(*) FROM icu_predict.capacity_forecast")
            assert cur.fetchone()[0] == cf == 30
        o.close()
    finally:
        scratch_db.drop(target)


def test_pg_cron_schedules_refresh(cohort_db):
    """pg_cron (preloaded, cron.database_name = postgres) runs refresh() in our database."""
    admin = _connect("postgres")
    with admin.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")
        if cur.fetchone()[0] == 0:
            cur.execute("CREATE EXTENSION pg_cron")
        cur.execute("""SELECT cron.schedule_in_database('icu_test_refresh', '* * * * *',
                                                       'CALL icu_predict.refresh()', %s)""",
                    (cohort_db,))
        jobid = cur.fetchone()[0]
        try:
            cur.execute("SELECT schedule, command, database, active FROM cron.job WHERE jobid = %s",
                        (jobid,))
            assert cur.fetchone() == ("* * * * *", "CALL icu_predict.refresh()", cohort_db, True)
            # Run the job's command as the job would: in its database, as its user.
            cur.execute("SELECT command, database, username FROM cron.job WHERE jobid = %s", (jobid,))
            command, database, username = cur.fetchone()
            c = _connect(database, user=username)
            with c.cursor() as jc:
                jc.execute("SELECT coalesce(max(run_id), 0) FROM icu_predict.refresh_log")
                last = jc.fetchone()[0]
                jc.execute(command)
                jc.execute("SELECT succeeded FROM icu_predict.refresh_log WHERE run_id > %s", (last,))
                assert jc.fetchall() == [(True,)]
            c.close()
        finally:
            cur.execute("SELECT cron.unschedule(%s)", (jobid,))
    admin.close()


# --- dump/restore of the model registry -------------------------------------

MODEL_COHORT = COHORT + """
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('T-CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (1, 'T-CRP', 80, 'mg/L', '2020-04-01 12:00+00'),
    (1, 'T-CRP', 190, 'mg/L', '2020-04-02 12:00+00'),
    (3, 'T-CRP', 30, 'mg/L', '2020-04-02 13:00+00');
"""


def _user_model_sql(name, version, kind, coef, horizon=None):
    stay = ', "stay": {"distribution": "normal", "sigma": 0.7}' if kind == "icu_stay" else ""
    link = "log" if kind == "icu_stay" else "logit"
    hz = "NULL" if horizon is None else str(horizon)
    return (f"INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES "
            f"('{name}', '{version}', '{kind}', 'linear', {hz}, "
            f"'{{\"format\": \"linear\", \"link\": \"{link}\", \"intercept\": -1.5{stay}, "
            f"\"inputs\": [{{\"feature\": \"crp\", \"stat\": \"last\", \"impute\": 10, \"coef\": {coef}}}, "
            f"{{\"covariate\": \"age_years\", \"impute\": 60, \"coef\": 0.01}}]}}');")


def _new_db():
    name = scratch_db.create("icu_mdl_")
    c = _connect(name)
    with c.cursor() as cur:
        cur.execute(MODEL_COHORT)
    c.close()
    return name


def _state(dbname):
    """Active models and every score of patient_status after a refresh at REF."""
    c = _connect(dbname)
    with c.cursor() as cur:
        cur.execute("SELECT kind, horizon_hours, name, version, source FROM icu_predict.active_model "
                    "ORDER BY kind, horizon_hours")
        active = cur.fetchall()
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("CALL icu_predict.refresh()")
        cur.execute("SELECT succeeded, error FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1")
        assert cur.fetchone() == (True, None)
        cur.execute("""SELECT admission_id, day_date, risk, risk_horizon_hours, forecast_risk,
                              forecast_risk_horizon_hours, stay_expected_days, top_reasons,
                              risk_model_version, forecast_risk_model_version, stay_model_version,
                              patient_state
                         FROM icu_predict.patient_status ORDER BY admission_id, day_date""")
        scores = cur.fetchall()
        cur.execute("SELECT unit, horizon_day, expected_beds FROM icu_predict.capacity_forecast "
                    "ORDER BY unit, horizon_day")
        forecast = cur.fetchall()
        cur.execute("SELECT count(*) FROM icu_predict.model")
        nmodels = cur.fetchone()[0]
    c.close()
    return active, scores, forecast, nmodels


def _dump_restore(src, tmp_path):
    dump = tmp_path / f"{src}.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), src], check=True)
    target = scratch_db.create("icu_rst_", extension=False)
    subprocess.run(["pg_restore", "--exit-on-error", "-d", target, str(dump)], check=True)
    return target


def test_dump_restore_keeps_the_users_active_models(tmp_path):
    src = _new_db()
    dst = None
    try:
        c = _connect(src)
        with c.cursor() as cur:
            cur.execute(_user_model_sql("u_risk", "1", "icu_admission", 0.02, 48))
            cur.execute(_user_model_sql("u_risk", "2", "icu_admission", 0.05, 48))
            cur.execute(_user_model_sql("u_risk7", "1", "icu_admission", 0.03, 168))
            cur.execute(_user_model_sql("u_stay", "1", "icu_stay", 0.004))
            for n, v in [("u_risk", "1"), ("u_risk", "2"), ("u_risk7", "1"), ("u_stay", "1")]:
                cur.execute("SELECT icu_predict.deploy(%s, %s)", (n, v))
            cur.execute("SELECT name, version FROM icu_predict.rollback('icu_admission')")
            # the latest deployment of the kind was u_risk7: back to the builtin 7-day model
            back = cur.fetchone()
            cur.execute("SELECT icu_predict.deploy('u_risk7', '1')")
            cur.execute("SELECT name, version FROM icu_predict.active_model "
                        "WHERE kind = 'icu_admission' AND horizon_hours = 48")
            assert cur.fetchone() == ("u_risk", "2")
            # a builtin model deployed explicitly over a user's model: the log
            # row points at a builtin row, which the restore re-creates
            cur.execute("SELECT name, version FROM icu_predict.model WHERE builtin AND kind = 'icu_stay'")
            default_stay = cur.fetchone()
            cur.execute("SELECT icu_predict.deploy(%s, %s)", default_stay)
        c.close()
        before = _state(src)
        active = {(k, h): (n, v, s) for k, h, n, v, s in before[0]}
        assert active[("icu_admission", 48)] == ("u_risk", "2", "deployed")
        assert active[("icu_admission", 168)] == ("u_risk7", "1", "deployed")
        assert active[("icu_stay", None)] == (*default_stay, "deployed")
        assert back[0].startswith("default_risk_7d"), back
        # no ICU-admission risk in the ICU; every other row scored by the active models
        assert all(r[8] == "u_risk 2" and r[9] == "u_risk7 1" and r[10] == " ".join(default_stay)
                   for r in before[1] if r[11] != "in_icu")
        assert all(r[2] is None and r[8] is None and r[10] == " ".join(default_stay)
                   for r in before[1] if r[11] == "in_icu")
        assert any(r[11] == "in_icu" for r in before[1])
        assert any(r[2] is not None and r[2] != r[4] for r in before[1])

        dst = _dump_restore(src, tmp_path)
        after = _state(dst)
        assert after[0] == before[0], "the same models are active after the restore"
        assert after[3] == before[3], "no model lost or duplicated"
        assert after[1] == before[1], "identical scores"
        assert after[2] == before[2], "identical forecast"

        # rollback still works on the restored log: u_risk 1 is active again
        r = _connect(dst)
        with r.cursor() as cur:
            cur.execute("SELECT icu_predict.rollback('icu_admission')")   # undoes u_risk7 (latest)
            cur.execute("SELECT icu_predict.rollback('icu_admission')")   # undoes u_risk 2
            cur.execute("SELECT name, version FROM icu_predict.active_model "
                        "WHERE kind = 'icu_admission' AND horizon_hours = 48")
            assert cur.fetchone() == ("u_risk", "1")
            cur.execute("SELECT name, version FROM icu_predict.rollback('icu_stay')")
            assert cur.fetchone() == ("u_stay", "1")
        r.close()
    finally:
        for n in (src, dst):
            if n:
                scratch_db.drop(n)


def test_dump_restore_with_only_the_default_models(tmp_path):
    src = _new_db()
    dst = None
    try:
        before = _state(src)
        assert {(k, h) for k, h, *_ in before[0]} == {("icu_admission", 48), ("icu_admission", 168),
                                                     ("icu_stay", None)}
        assert all(s == "builtin" for *_, s in before[0])
        assert all(r[3] == 48 and r[5] == 168 for r in before[1] if r[11] != "in_icu")
        assert all(r[3] is None and r[5] is None for r in before[1] if r[11] == "in_icu")
        dst = _dump_restore(src, tmp_path)
        after = _state(dst)
        assert after == before
    finally:
        for n in (src, dst):
            if n:
                scratch_db.drop(n)
