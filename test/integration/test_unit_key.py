"""The Python unit_key (model/units.py) gives what icu_predict.unit_key() gives,
in a UTF-8 database, on ASCII and non-ASCII spellings: the loaders build
lab_map rows with it, and the server matches lab rows by its own key."""
import datetime as dt

import psycopg2
import pytest

import scratch_db
from model import load, synth
from model.units import unit_key

SPELLINGS = [
    "mg/L", "MG / L", "mg/dL", " mmol / l ", "10^9/L", "10*9/L", "%", "U/L", "IU/mL", "ng/mL FEU",
    "\u00b5g/L", "\u03bcg/L", "\u039cG/L", "\u00b5\u03bc\u039c",       # micro sign, small and capital mu
    "\u00c4U/L", "\u00e9", "\u00df", "\u0130U", "\u03a3", "\u0416",     # other letters: case kept
    "mg\t/dL", "\u00a0mg", "\u3000mg", "\uff4d\uff47/\uff2c",           # other spaces, full-width
    "\u00b0C", "\u2030", "mmHg\u00b2", "\U0001f9ea/L", "",
]


@pytest.fixture(scope="module")
def utf8_conn():
    name = scratch_db.create("icu_unit_", utf8=True)
    c = psycopg2.connect(dbname=name)
    c.set_client_encoding("UTF8")
    c.autocommit = True
    yield c
    c.close()
    scratch_db.drop(name)


def test_python_unit_key_is_the_servers(utf8_conn):
    with utf8_conn.cursor() as cur:
        cur.execute("SHOW server_encoding")
        assert cur.fetchone()[0] == "UTF8"
        cur.execute("SELECT u, icu_predict.unit_key(u) FROM unnest(%s::text[]) WITH ORDINALITY AS t(u, i) "
                    "ORDER BY i", (SPELLINGS,))
        server = cur.fetchall()
        cur.execute("SELECT icu_predict.unit_key(NULL)")
        null_key = cur.fetchone()[0]
    assert [u for u, _ in server] == SPELLINGS
    assert {u: unit_key(u) for u in SPELLINGS} == dict(server)
    assert unit_key(None) == null_key == ""


def test_synthetic_cohort_spellings_have_the_servers_key(utf8_conn):
    """Every unit the generator sends (variants such as 'MG/L' and 'µg/L'
    included) gets the same key in Python as in lab_map and lab_canonical."""
    load.load(synth.generate(200, 7, dt.date(2024, 3, 1)), utf8_conn)
    with utf8_conn.cursor() as cur:
        cur.execute("SELECT DISTINCT unit, icu_predict.unit_key(unit) FROM icu_predict.lab_result ORDER BY 1")
        sent = cur.fetchall()
        cur.execute("SELECT unit, unit_key FROM icu_predict.lab_map ORDER BY 1")
        mapped = cur.fetchall()
    assert any(u != u.lower() for u, _ in sent) and any("\u00b5" in u for u, _ in sent)
    assert all(unit_key(u) == k for u, k in sent + mapped), [(u, k) for u, k in sent + mapped if unit_key(u) != k]
