"""Shared pytest fixtures: a fresh database with icu_predict per test module.

The server comes from the PG* environment (tools/run-tests.sh runs pytest
inside pg_virtualenv).  Tests that need no server do not use these fixtures.
"""
import os
import uuid

import psycopg2
import pytest


def _admin():
    conn = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def dbname():
    """Name of a new database with the icu_predict extension, dropped afterwards."""
    name = "icu_test_" + uuid.uuid4().hex[:10]
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn = psycopg2.connect(dbname=name)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION icu_predict CASCADE")
    conn.close()
    yield name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def conn(dbname):
    """A connection to the module's database (autocommit)."""
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    yield c
    c.close()
