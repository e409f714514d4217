"""The CSV loader on data no one here generated: the MIMIC-III demo's LABEVENTS,
pivoted wide (one line per admission and chart time, a value and a unit column
per item), loaded through a mapping file and compared with the direct MIMIC
loader (model/mimic.py) in another database.

Contains information from the MIMIC-III Clinical Database Demo (v1.4), made
available under the ODbL.
"""
import csv
from collections import Counter, defaultdict

import psycopg2
import pytest

import scratch_db
from model import csvload, mimic

DATA = mimic.DEFAULT_DATA


def _pivot(out):
    """LABEVENTS wide: one line per (hadm_id, charttime) and occurrence, columns '<itemid>' and
    '<itemid> unit'. An item measured twice at one chart time goes on a second line. Returns the
    number of LABEVENTS rows, of those without a value, and the item ids."""
    groups = defaultdict(lambda: defaultdict(list))
    n = empty = 0
    with open(DATA / "LABEVENTS.csv", newline="") as f:
        for r in csv.DictReader(f):
            n += 1
            if not r["value"].strip():
                empty += 1
            groups[(r["hadm_id"], r["charttime"])][r["itemid"]].append((r["value"], r["valueuom"]))
    items = sorted({i for g in groups.values() for i in g}, key=int)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["hadm_id", "charttime"] + [c for i in items for c in (i, f"{i} unit")])
        for (hadm, t), g in groups.items():
            for k in range(max(len(v) for v in g.values())):
                line = [hadm, t]
                for i in items:
                    v, u = g[i][k] if k < len(g.get(i, ())) else ("", "")
                    line += [v, u]
                w.writerow(line)
    return n, empty, items


@pytest.fixture(scope="module")
def both(tmp_path_factory, dbname):
    d = tmp_path_factory.mktemp("mimic_wide")
    n, empty, items = _pivot(d / "labs_wide.csv")
    wide = "\n".join(f'"{i}" = {{ unit_column = "{i} unit" }}' for i in items)
    (d / "mapping.toml").write_text(f'''
[source]
time_zone = "UTC"
datetime_formats = ["%Y-%m-%d %H:%M:%S"]

[admissions]
file = "{DATA / 'ADMISSIONS.csv'}"
columns = {{ admission_id = "hadm_id", patient_id = "subject_id", admitted_at = "admittime", discharged_at = "dischtime" }}

[[labs]]
file = "labs_wide.csv"
columns = {{ admission_id = "hadm_id", resulted_at = "charttime" }}
[labs.wide]
{wide}
''', encoding="utf-8")
    conn = psycopg2.connect(dbname=dbname)
    try:
        rep = csvload.load(conn, d / "mapping.toml")
    finally:
        conn.close()
    direct_db = scratch_db.create()
    conn = psycopg2.connect(dbname=direct_db)
    try:
        direct = mimic.load(conn, DATA)
    finally:
        conn.close()
    yield rep, direct, direct_db, n, empty
    scratch_db.drop(direct_db)


# units compared by unit_key(): the CSV loader strips the blanks around a cell, so MIMIC's unit ' '
# (specific gravity, item 51498) is loaded as no unit; the same unit_key ''
LABS = """SELECT admission_id, local_code, icu_predict.unit_key(unit), resulted_at,
                 coalesce(value, icu_predict.lab_text_value(value_text)) AS num,
                 CASE WHEN coalesce(value, icu_predict.lab_text_value(value_text)) IS NULL THEN value_text END
            FROM icu_predict.lab_result"""


def _rows(dbname):
    conn = psycopg2.connect(dbname=dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(LABS)
            return Counter(cur.fetchall())
    finally:
        conn.close()


def test_every_labevents_row_is_accounted_for(both):
    rep, direct, _, n, empty = both
    lab = next(f for f in rep["files"] if f["section"] == "labs")
    d = next(t for t in direct["tables"] if t["table"] == "lab_result")
    assert d["rows_in_file"] == n
    # a LABEVENTS row without a value is an empty cell of the wide file, not a result
    assert lab["cells"] == n - empty
    assert lab["loaded"] + lab["rejected"] == n - empty
    # the same rows load: what the direct loader rejects is the rows without an admission
    # (rejected here too) and the rows without a value (the empty cells)
    assert lab["loaded"] == d["loaded"]
    assert set(lab["rejected_by_reason"]) <= {"admission_id missing"}
    assert d["rejected"] == lab["rejected"] + empty
    assert lab["unused_columns"] == []


def test_the_loaded_results_are_the_direct_loaders(both, dbname):
    _, _, direct_db, _, _ = both
    mine, theirs = _rows(dbname), _rows(direct_db)
    assert sum(mine.values()) == sum(theirs.values())
    assert mine == theirs


def test_the_only_unit_difference_is_blank_units(both, dbname):
    _, _, direct_db, _, _ = both
    q = "SELECT unit, count(*) FROM icu_predict.lab_result WHERE unit IS NULL OR unit !~ '\\S' GROUP BY 1"
    got = {}
    for db in (dbname, direct_db):
        conn = psycopg2.connect(dbname=db)
        with conn.cursor() as cur:
            cur.execute(q)
            got[db] = dict(cur.fetchall())
        conn.close()
    with open(DATA / "LABEVENTS.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["hadm_id"] and r["value"].strip()]
    blank = sum(1 for r in rows if r["valueuom"] and not r["valueuom"].strip())
    none = sum(1 for r in rows if not r["valueuom"])
    assert blank > 0
    assert got[direct_db] == {" ": blank, None: none}
    assert got[dbname] == {None: blank + none}


def test_admissions_match(both, dbname):
    rep, direct, _, _, _ = both
    a = next(f for f in rep["files"] if f["section"] == "admissions")
    assert a["rejected"] == 0
    assert a["loaded"] == next(t for t in direct["tables"] if t["table"] == "admission")["loaded"]
