"""Fixtures of the server tests: a fresh database with icu_predict per test module.

The server comes from the PG* environment (tools/test-inner.sh runs pytest
inside pg_virtualenv).  Python tests that need no server live in model/tests.
"""
import psycopg2
import pytest

import scratch_db


@pytest.fixture(scope="module")
def dbname():
    """Name of a new database with the icu_predict extension, dropped afterwards."""
    name = scratch_db.create()
    yield name
    scratch_db.drop(name)


@pytest.fixture
def conn(dbname):
    """A connection to the module's database (autocommit)."""
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    yield c
    c.close()
