"""The CSV loader on a long-format lab export (test/data/csv/lab_long.csv: one line per
result, with code, value, unit and specimen columns; codes mapped in [labs.codes])."""
from pathlib import Path

import psycopg2
import pytest

from model import csvload

DATA = Path(__file__).resolve().parents[2] / "test" / "data" / "csv"
MAPPING = DATA / "long.toml"


def _load(dbname, commit):
    conn = psycopg2.connect(dbname=dbname)
    try:
        return csvload.load(conn, MAPPING, commit=commit)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def loads(dbname):
    return _load(dbname, False), _load(dbname, True)


@pytest.fixture
def cur(loads, conn):
    with conn.cursor() as c:
        c.execute("SET TimeZone = 'UTC'")
        yield c


def _labs(rep):
    return next(f for f in rep["files"] if f["section"] == "labs")


def test_dry_run_and_load_agree(loads):
    dry, real = loads
    assert csvload.totals(dry) == csvload.totals(real)
    assert _labs(dry)["status"] == _labs(real)["status"]
    assert _labs(dry)["rejections"] == _labs(real)["rejections"]


def test_every_result_is_counted(loads, cur):
    _, real = loads
    lab = _labs(real)
    assert (lab["lines"], lab["cells"], lab["loaded"], lab["rejected"]) == (13, 13, 11, 2)
    assert lab["rejected_by_reason"] == {"value missing": 1, "specimen not in the value map": 1}
    assert [r["key"] for r in lab["rejections"]] == ["CRP line 8", "NA line 14"]
    cur.execute("SELECT status, sum(n_rows) FROM icu_predict.lab_load_quality GROUP BY 1")
    assert {k: int(v) for k, v in cur.fetchall()} == lab["status_totals"] == \
        {"used": 8, "code_unknown": 2, "specimen_mismatch": 1}


def test_codes_units_specimens_and_factors(loads, cur):
    cur.execute("""SELECT local_code, specimen, feature, value, rejection FROM icu_predict.lab_row_status
                    WHERE local_code IN ('BUN', 'LEUK', 'PCT') ORDER BY local_code, resulted_at""")
    rows = cur.fetchall()
    assert [r[:3] + (r[4],) for r in rows] == [
        ("BUN", "serum", "urea", None),                       # through the factor of [labs.codes]
        ("LEUK", "blood", "leukocytes", None),                # bloed -> blood (values.specimen)
        ("LEUK", "urine", "leukocytes", "specimen_mismatch"),
        ("PCT", "plasma", "procalcitonin", None)]
    assert rows[0][3] == pytest.approx(20 * 0.357)
    assert rows[1][3] == pytest.approx(14.2)
    assert rows[3][3] == pytest.approx(0.8)                   # ng/mL = ug/L
    cur.execute("""SELECT value, censored FROM icu_predict.lab_row_status
                    WHERE local_code = 'CRP' ORDER BY resulted_at""")
    assert cur.fetchall() == [(48.0, None), (5.0, "<"), (120.0, None)]        # 12 mg/dl = 120 mg/L
    cur.execute("SELECT specimen FROM icu_predict.lab_result WHERE local_code = 'NA'")
    assert cur.fetchall() == [(None,)]                                        # empty specimen: not given
    cur.execute("SELECT value, value_text FROM icu_predict.lab_result WHERE local_code = 'KWEEK'")
    assert cur.fetchall() == [(None, "geen groei")]


def test_columns_left_out_are_reported(loads):
    _, real = loads
    adm = next(f for f in real["files"] if f["section"] == "admissions")
    assert [u["column"] for u in adm["unused_columns"]] == ["Herkomst", "Overleden"]
