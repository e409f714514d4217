"""Read auditing with pgaudit (docs/audit.md): what is logged when Power BI
reads icu_bi.patient_status and when the refresher runs refresh().

pgaudit must be in shared_preload_libraries, so this test starts a server of
its own: initdb (as postgres when run as root) in a temporary directory, on
a free loopback port, from the binaries of PG_CONFIG (the server the other
tests use, where icu_predict is installed), with pgaudit preloaded by its
path (Debian's postgresql-15-pgaudit, tools/install-deps.sh).
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import psycopg2
import psycopg2.errors
import pytest

PG_CONFIG = os.environ.get("PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")


def _pg_config(flag):
    return subprocess.run([PG_CONFIG, flag], check=True, capture_output=True, text=True).stdout.strip()


def _pgaudit_library():
    for d in (_pg_config("--pkglibdir"), "/usr/lib/postgresql/15/lib"):
        if os.path.exists(os.path.join(d, "pgaudit.so")):
            return os.path.join(d, "pgaudit")
    raise AssertionError("pgaudit.so not found: install postgresql-15-pgaudit (tools/install-deps.sh)")


def _as_postgres(args):
    if os.geteuid() == 0:
        return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]
    return args


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def audit_server():
    bindir = _pg_config("--bindir")
    root = tempfile.mkdtemp(prefix="icu-audit-")
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    port = _free_port()
    opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            f"-c shared_preload_libraries={_pgaudit_library()} "
            "-c pgaudit.log_relation=on -c pgaudit.log_parameter=on "
            "-c pgaudit.log_catalog=off "
            "-c log_line_prefix=%m_user=%u_db=%d_app=%a_")
    subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", log, "-w", "-o", opts, "start"]),
                   check=True, capture_output=True)
    try:
        yield {"host": "127.0.0.1", "port": port, "log": log}
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _connect(server, dbname="postgres", user="postgres", **kw):
    c = psycopg2.connect(host=server["host"], port=server["port"], dbname=dbname, user=user, **kw)
    c.autocommit = True
    return c


def _log_since(server, offset):
    with open(server["log"], encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        return f.read()


def _log_size(server):
    time.sleep(0.2)
    return os.path.getsize(server["log"])


@pytest.fixture(scope="module")
def audited_db(audit_server):
    admin = _connect(audit_server)
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE icu_audit")
        for role in ("pbi_ward_w1", "cron_refresher"):
            cur.execute(f"DROP ROLE IF EXISTS {role}")
    admin.close()
    c = _connect(audit_server, "icu_audit")
    with c.cursor() as cur:
        cur.execute("CREATE EXTENSION icu_predict CASCADE")
        cur.execute("""
            SET timezone = 'UTC';
            INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
                (1, 'p1', now() - interval '2 days', 70), (2, 'p2', now() - interval '1 day', 60);
            INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, started_at) VALUES
                (1, 'IC', 'icu', now() - interval '2 days'), (2, 'W1', 'ward', now() - interval '1 day');
            INSERT INTO icu_predict.icu_capacity VALUES ('IC', '2020-01-01', 4, 6);
            CALL icu_predict.refresh();
            -- the Power BI login of ward W1, and the login of the refresh job
            CREATE ROLE pbi_ward_w1 LOGIN IN ROLE icu_bi_reader;
            INSERT INTO icu_predict.ward_access VALUES ('pbi_ward_w1', 'W1');
            CREATE ROLE cron_refresher LOGIN IN ROLE icu_refresher;
            -- docs/audit.md: session read logging per login, set by a superuser
            ALTER ROLE pbi_ward_w1 SET pgaudit.log = 'read';
            ALTER ROLE cron_refresher SET pgaudit.log = 'misc, ddl';
        """)
    c.close()
    yield audit_server


def test_power_bi_read_of_patient_status_is_logged(audited_db):
    server = audited_db
    start = _log_size(server)
    c = _connect(server, "icu_audit", user="pbi_ward_w1", application_name="PowerBI")
    with c.cursor() as cur:
        cur.execute("SELECT admission_id, ward, day_date FROM icu_bi.patient_status WHERE admission_id = %s AND is_today", (2,))
        rows = cur.fetchall()
        assert [r[:2] for r in rows] == [(2, "W1")]
        # the login cannot switch its own audit logging off (pgaudit.log is superuser-only)
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SET pgaudit.log = 'none'")
    c.close()
    log = _log_since(server, start)
    lines = [l for l in log.splitlines() if "AUDIT: SESSION" in l]
    # who (login, database, application), what class and command, which relation,
    # the statement text with the patient asked for, and its parameters
    reads = [l for l in lines if "user=pbi_ward_w1_db=icu_audit_app=PowerBI" in l]
    assert reads, log
    bi = [l for l in reads if ",READ,SELECT,VIEW,icu_bi.patient_status," in l]
    assert bi and "WHERE admission_id = 2" in bi[0], reads
    # the materialized view is read by the SECURITY DEFINER ward filter as
    # the owner, so the icu_bi view is the one access record of the login
    assert not any(",READ,SELECT,MATERIALIZED VIEW,icu_predict.patient_status," in l for l in reads), reads


def test_superuser_reads_are_not_logged_by_the_role_setting(audited_db):
    """The setting is per login: the same read by a login without it leaves no AUDIT line."""
    server = audited_db
    start = _log_size(server)
    c = _connect(server, "icu_audit")
    with c.cursor() as cur:
        cur.execute("SELECT count(*) FROM icu_bi.patient_status")
    c.close()
    assert "AUDIT:" not in _log_since(server, start)


def test_refresher_run_is_logged(audited_db):
    server = audited_db
    start = _log_size(server)
    c = _connect(server, "icu_audit", user="cron_refresher")
    with c.cursor() as cur:
        cur.execute("CALL icu_predict.refresh()")
    c.close()
    log = _log_since(server, start)
    mine = [l for l in log.splitlines() if "AUDIT: SESSION" in l and "user=cron_refresher" in l]
    # the run itself (MISC: CALL) and the view refreshes it makes as the
    # extension owner (DDL: REFRESH MATERIALIZED VIEW), under the login that called it
    assert any(",MISC,CALL,,,CALL icu_predict.refresh()" in l for l in mine), log
    refreshed = [l for l in mine if ",DDL,REFRESH MATERIALIZED VIEW," in l]
    assert any("icu_predict.patient_status" in l for l in refreshed), mine
    assert any("icu_predict.capacity_forecast" in l for l in refreshed), mine
