"""refresh() under concurrency, after pg_dump/pg_restore, and from pg_cron.

These need a server (tools/run-tests.sh runs pytest inside pg_virtualenv,
with pg_cron preloaded and cron.database_name = postgres).
"""
import os
import subprocess
import threading
import time
import uuid

import psycopg2
import pytest

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
    target = "icu_restore_" + uuid.uuid4().hex[:8]
    admin = _connect(os.environ.get("PGDATABASE", "postgres"))
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{target}"')
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
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        admin.close()


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
