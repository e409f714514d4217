"""DROP EXTENSION does not take the clinical data by surprise (docs/integrity.md).

0.2.0 before the guard: a plain DROP EXTENSION icu_predict (no CASCADE)
dropped admission, lab_result and every other table with all their rows.
"""
import os
import subprocess
import uuid

import psycopg2
import psycopg2.errors
import pytest

import scratch_db


def _connect(dbname, **kw):
    c = psycopg2.connect(dbname=dbname, **kw)
    c.autocommit = True
    return c


@pytest.fixture
def loaded_db():
    name = scratch_db.create("icu_drop_")
    c = _connect(name)
    with c.cursor() as cur:
        cur.execute("""INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                       VALUES (1, 'p1', '2020-04-01 10:00+00', 70)""")
    yield name, c
    c.close()
    scratch_db.drop(name)


def _count(cur):
    cur.execute("SELECT count(*) FROM icu_predict.admission")
    return cur.fetchone()[0]


@pytest.mark.parametrize("command", [
    "DROP EXTENSION icu_predict",
    "DROP EXTENSION IF EXISTS icu_predict CASCADE",
    "DROP SCHEMA icu_predict CASCADE",
    "DROP EXTENSION btree_gist CASCADE",     # icu_predict requires it: the cascade would take it
])
def test_drop_is_refused_while_tables_hold_rows(loaded_db, command):
    _, c = loaded_db
    with c.cursor() as cur:
        with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState) as e:
            cur.execute(command)
        assert "icu_predict.admission" in str(e.value)
        assert "allow_drop_data" in e.value.diag.message_hint
        assert _count(cur) == 1


def test_drop_with_the_setting_drops(loaded_db):
    _, c = loaded_db
    with c.cursor() as cur:
        cur.execute("SET icu_predict.allow_drop_data = on")
        cur.execute("DROP EXTENSION icu_predict")
        cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'icu_predict'")
        assert cur.fetchone()[0] == 0


def test_drop_of_an_empty_install_needs_no_setting():
    name = scratch_db.create("icu_drop_")
    try:
        c = _connect(name)
        with c.cursor() as cur:
            cur.execute("DROP EXTENSION icu_predict")
            cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'icu_predict'")
            assert cur.fetchone()[0] == 0
        c.close()
    finally:
        scratch_db.drop(name)


def test_drop_owned_by_the_owner_is_refused():
    owner = "icu_owner_" + uuid.uuid4().hex[:8]
    password = os.environ.get("PGPASSWORD", "owner")
    admin = _connect(os.environ.get("PGDATABASE", "postgres"))
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {owner} LOGIN SUPERUSER PASSWORD %s", (password,))
    name = scratch_db.create("icu_drop_", extension=False)
    try:
        c = _connect(name, user=owner, password=password)
        with c.cursor() as cur:
            cur.execute("CREATE EXTENSION icu_predict CASCADE")
            cur.execute("""INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                           VALUES (1, 'p1', '2020-04-01 10:00+00', 70)""")
            with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState):
                cur.execute(f"DROP OWNED BY {owner}")
            assert _count(cur) == 1
        c.close()
    finally:
        scratch_db.drop(name)
        with admin.cursor() as cur:
            cur.execute(f"DROP ROLE {owner}")
        admin.close()


def test_pg_restore_clean_needs_the_setting(loaded_db, tmp_path):
    """pg_restore --clean issues DROP EXTENSION icu_predict: refused without the
    setting (the data stays), done with PGOPTIONS='-c icu_predict.allow_drop_data=on'."""
    name, c = loaded_db
    dump = tmp_path / "icu.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), name], check=True)
    with c.cursor() as cur:
        cur.execute("""INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                       VALUES (2, 'p2', '2020-04-02 10:00+00', 60)""")
    r = subprocess.run(["pg_restore", "--clean", "--if-exists", "--exit-on-error", "-d", name, str(dump)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "allow_drop_data" in r.stderr
    with c.cursor() as cur:
        assert _count(cur) == 2
    env = dict(os.environ, PGOPTIONS=os.environ.get("PGOPTIONS", "") + " -c icu_predict.allow_drop_data=on")
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--exit-on-error", "-d", name, str(dump)],
                   check=True, env=env)
    c2 = _connect(name)
    with c2.cursor() as cur:
        cur.execute("SELECT admission_id FROM icu_predict.admission ORDER BY 1")
        assert cur.fetchall() == [(1,)]
    c2.close()
