"""Every icu_bi view read through Debian's psqlODBC (the generic ODBC route
Power BI also offers; its native connector, Npgsql, cannot be installed
here): the column types the driver reports, and the values it returns.

With the connection settings docs/power-bi.md gives (BoolsAsChar=0, the
login's TimeZone UTC), every column must arrive as the ODBC type of its
PostgreSQL type (float8 -> SQL_DOUBLE, integer -> SQL_INTEGER, bigint ->
SQL_BIGINT, boolean -> SQL_BIT, date -> SQL_TYPE_DATE, timestamptz ->
SQL_TYPE_TIMESTAMP, text -> a character type long enough for every value),
and every value must equal what libpq (psycopg2) reads: no float rounded,
no text cut at the driver's length limit, no timestamp shifted.  The
driver's defaults misread two of them, which the test shows as well:
booleans arrive as text (BoolsAsChar=1), and a timestamptz arrives without
its zone, as wall-clock time in the session's TimeZone.
"""
import datetime
import os

import psycopg2
import pytest

import pyodbc  # Debian python3-pyodbc, tools/install-deps.sh

SQL_TYPES = {
    "double precision": {pyodbc.SQL_DOUBLE, pyodbc.SQL_FLOAT},
    "integer": {pyodbc.SQL_INTEGER},
    "bigint": {pyodbc.SQL_BIGINT},
    "boolean": {pyodbc.SQL_BIT},
    "date": {pyodbc.SQL_TYPE_DATE},
    "timestamp with time zone": {pyodbc.SQL_TYPE_TIMESTAMP},
    "text": {pyodbc.SQL_LONGVARCHAR, pyodbc.SQL_WLONGVARCHAR, pyodbc.SQL_VARCHAR, pyodbc.SQL_WVARCHAR},
}
PASSWORD = "odbc-test-secret"

HOSPITAL = """
SET icu_predict.reference_time = '2020-04-03 08:00+00';
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('O-CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
    (1, 'o1', '2020-04-01 10:00+00', 70, 'male'),
    (2, 'o2', '2020-04-02 10:00+00', 60, 'female');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (1, 'W1', 'ward', 'droplet', '2020-04-01 10:00+00', '2020-04-02 12:00+00'),
    (1, 'IC-1', 'icu', 'strict', '2020-04-02 12:00+00', NULL),
    (2, 'W1', 'ward', 'none', '2020-04-02 10:00+00', NULL);
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (1, 'O-CRP', 100, 'mg/L', '2020-04-01 12:00+00'),
    (2, 'O-CRP', 182.123456789, 'mg/L', '2020-04-02 12:00+00');
INSERT INTO icu_predict.icu_capacity VALUES ('IC-1', '2020-01-01', 2, 3);
CALL icu_predict.refresh();
"""


@pytest.fixture(scope="module")
def bi_db(dbname):
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    role = "odbc_bi_" + dbname[-10:]
    with c.cursor() as cur:
        cur.execute(HOSPITAL)
        cur.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}' IN ROLE icu_bi_reader")
        cur.execute("INSERT INTO icu_predict.ward_access VALUES (%s, '*')", (role,))
        # the BI login's "now" is the hospital's reference time, so that
        # views computed at read time agree between the two drivers
        cur.execute(f"ALTER ROLE {role} SET icu_predict.reference_time = '2020-04-03 08:00+00'")
        cur.execute("SELECT table_name FROM information_schema.views WHERE table_schema = 'icu_bi' ORDER BY 1")
        views = [r[0] for r in cur.fetchall()]
    yield dbname, role, views, c
    with c.cursor() as cur:
        cur.execute(f"DROP OWNED BY {role}")
        cur.execute(f"DROP ROLE {role}")
    c.close()


def odbc(dbname, role, **options):
    host = os.environ.get("PGHOST") or "localhost"
    parts = {
        "DRIVER": "{PostgreSQL Unicode}",
        "Servername": host,
        "Port": os.environ.get("PGPORT", "5432"),
        "Database": dbname,
        "UID": role,
        "PWD": PASSWORD,
    }
    parts.update(options)
    return pyodbc.connect(";".join(f"{k}={v}" for k, v in parts.items()), autocommit=True)


def pg_columns(conn, view):
    with conn.cursor() as cur:
        cur.execute("""SELECT column_name, data_type FROM information_schema.columns
                        WHERE table_schema = 'icu_bi' AND table_name = %s ORDER BY ordinal_position""",
                    (view,))
        return cur.fetchall()


def test_every_icu_bi_column_arrives_as_its_type(bi_db):
    dbname, role, views, pg = bi_db
    assert {"patient_status", "patient_labs", "patient_reasons", "ward_access", "capacity_forecast",
            "refresh_status", "forecast_quality"} <= set(views)
    with pg.cursor() as cur:
        cur.execute(f"ALTER ROLE {role} SET TimeZone = 'UTC'")
    o = odbc(dbname, role, BoolsAsChar=0)
    listing = []
    bad = []
    for view in views:
        reported = {r.column_name: r for r in o.cursor().columns(table=view, schema="icu_bi")}
        for name, pg_type in pg_columns(pg, view):
            col = reported[name]
            listing.append(f"icu_bi.{view}.{name}: {pg_type} -> ODBC {col.type_name} "
                           f"(SQL type {col.data_type}, size {col.column_size})")
            if col.data_type not in SQL_TYPES[pg_type]:
                bad.append(listing[-1])
            if pg_type == "text":
                # long enough for every value the view holds
                with pg.cursor() as cur:
                    cur.execute(f'SELECT max(length("{name}")) FROM icu_bi."{view}"')
                    longest = cur.fetchone()[0] or 0
                if col.column_size is not None and 0 < col.column_size < longest:
                    bad.append(listing[-1] + f" shorter than its longest value ({longest})")
    print("\n".join(listing))
    assert not bad, "\n".join(bad)
    o.close()


def test_values_read_through_odbc_equal_libpq(bi_db):
    dbname, role, views, pg = bi_db
    with pg.cursor() as cur:
        cur.execute(f"ALTER ROLE {role} SET TimeZone = 'UTC'")
    o = odbc(dbname, role, BoolsAsChar=0)
    # the BI login reads the same rows through libpq
    host = os.environ.get("PGHOST")
    lib = psycopg2.connect(dbname=dbname, user=role, password=PASSWORD, host=host,
                           port=os.environ.get("PGPORT"))
    lib.autocommit = True
    checked = 0
    for view in views:
        cols = pg_columns(pg, view)
        order = ", ".join(str(i + 1) for i in range(len(cols)))
        q = f'SELECT * FROM icu_bi."{view}" ORDER BY {order}'
        with lib.cursor() as cur:
            cur.execute(q)
            want = cur.fetchall()
        got = o.cursor().execute(q).fetchall()
        assert len(got) == len(want), view
        for grow, wrow in zip(got, want):
            for (name, pg_type), g, w in zip(cols, grow, wrow):
                if pg_type == "timestamp with time zone" and w is not None:
                    # ODBC has no zone: under TimeZone UTC the wall clock is the UTC instant
                    w = w.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                if name == "hours_since_success":
                    # now() minus the last refresh: read a moment apart
                    assert abs(g - w) < 0.01, f"icu_bi.{view}.{name}"
                    checked += 1
                    continue
                assert g == w, f"icu_bi.{view}.{name}: ODBC {g!r} != libpq {w!r}"
                checked += 1
    assert checked > 100
    lib.close()
    o.close()


def test_driver_defaults_misread_booleans_and_zones(bi_db):
    """Why docs/power-bi.md asks for BoolsAsChar=0 and a UTC login: with the
    driver's defaults a boolean arrives as text and a timestamptz as the wall
    clock of the session's zone."""
    dbname, role, views, pg = bi_db
    with pg.cursor() as cur:
        cur.execute(f"ALTER ROLE {role} SET TimeZone = 'Europe/Amsterdam'")
    o = odbc(dbname, role)
    col = {r.column_name: r for r in o.cursor().columns(table="patient_status", schema="icu_bi")}
    assert col["is_today"].data_type != pyodbc.SQL_BIT
    as_of = o.cursor().execute(
        "SELECT as_of FROM icu_bi.patient_status WHERE admission_id = 2 AND is_today").fetchone()[0]
    # 08:00 UTC is 10:00 in Amsterdam (summer time): the offset is lost
    assert as_of == datetime.datetime(2020, 4, 3, 10, 0)
    o.close()
    with pg.cursor() as cur:
        cur.execute(f"ALTER ROLE {role} RESET TimeZone")
