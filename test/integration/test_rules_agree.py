"""The rules Python repeats (model/spec.py) are the extension's: the stat names,
in order, and the longest feature name.

icu_predict.lab_stats() and icu_predict.feature_name_max_length() are the
definitions.  While they are not yet in the installed extension the two
comparisons skip, saying so; once they are, they always run.  The feature
catalogue's own limit is checked directly: a name of FEATURE_NAME_MAX
characters is taken, one character more is refused."""
import psycopg2
import pytest

from model import spec


def _exists(conn, signature):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_catalog.to_regprocedure(%s) IS NOT NULL", (signature,))
        return cur.fetchone()[0]


def _needs(conn, signature):
    if not _exists(conn, signature):
        pytest.skip(f"{signature} is not in the installed extension yet (the C side of issue 11 adds it)")


def test_stat_names_are_the_extensions(conn):
    _needs(conn, "icu_predict.lab_stats()")
    with conn.cursor() as cur:
        cur.execute("SELECT s FROM icu_predict.lab_stats() WITH ORDINALITY AS t(s, i) ORDER BY i")
        assert tuple(r[0] for r in cur.fetchall()) == spec.STATS


def test_feature_name_limit_is_the_extensions(conn):
    _needs(conn, "icu_predict.feature_name_max_length()")
    with conn.cursor() as cur:
        cur.execute("SELECT icu_predict.feature_name_max_length()")
        assert cur.fetchone()[0] == spec.FEATURE_NAME_MAX


def test_catalogue_takes_names_up_to_the_limit(conn):
    ok = "f" * spec.FEATURE_NAME_MAX
    too_long = ok + "x"
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max) "
                        "VALUES (%s, 'limit test', 'U', 0, 1)", (ok,))
            cur.execute("SELECT icu_predict.lab_value(icu_predict.lab_panel(1::bigint, %s, 0.5::float8, "
                        "'2020-01-01 00:00+00'::timestamptz, '2020-01-02 00:00+00'::timestamptz), %s, 'last')",
                        (ok, ok))
            assert cur.fetchone()[0] == 0.5
            cur.execute("SAVEPOINT longer")
            with pytest.raises(psycopg2.errors.CheckViolation):
                cur.execute("INSERT INTO icu_predict.feature (name, description, unit, plausible_min, "
                            "plausible_max) VALUES (%s, 'limit test', 'U', 0, 1)", (too_long,))
            cur.execute("ROLLBACK TO SAVEPOINT longer")
    finally:
        conn.rollback()
        conn.autocommit = True
