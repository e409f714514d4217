"""Scratch databases for the server tests: created with a unique name on the
server of the PG* environment (tools/test-inner.sh runs pytest inside
pg_virtualenv), dropped with FORCE when the test is done."""
import os
import uuid

import psycopg2


def _admin():
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    return conn


def create(prefix="icu_test_", extension=True, utf8=False):
    """Create a database and return its name; with ``extension``, CREATE
    EXTENSION icu_predict CASCADE in it.  ``utf8``: encoding UTF8 from
    template0 whatever the cluster's default (for tests of non-ASCII text)."""
    name = prefix + uuid.uuid4().hex[:10]
    admin = _admin()
    try:
        with admin.cursor() as cur:
            if utf8:
                cur.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'")
            else:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    if extension:
        conn = psycopg2.connect(dbname=name)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE EXTENSION icu_predict CASCADE")
        finally:
            conn.close()
    return name


def drop(name):
    admin = _admin()
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()
