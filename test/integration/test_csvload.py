"""The CSV loader (model/csvload.py) on the wide-format test export of test/data/csv/.

The export is Dutch: ';' as delimiter, decimal commas, dd-mm-yyyy times in
Europe/Amsterdam across both DST changes of 2023, a censored '<5', a text
column, a column the mapping does not name, a unit that does not convert.
The dry run and the load must agree row for row; the database's own
lab_load_quality must count what the report says.
"""
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from model import csvload

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "test" / "data" / "csv"
MAPPING = DATA / "mapping.toml"
EXAMPLE = REPO / "docs" / "csv-mapping-example.toml"
UTC = dt.timezone.utc


def _load(dbname, mapping=MAPPING, **kw):
    conn = psycopg2.connect(dbname=dbname)
    try:
        return csvload.load(conn, mapping, **kw)
    finally:
        conn.close()


def _cli(dbname, *args):
    return subprocess.run([sys.executable, "-m", "model", "load-csv", "--dbname", dbname, *args],
                          cwd=REPO, capture_output=True, text=True, env=dict(os.environ))


def _snapshot(cur):
    """The loaded tables without their surrogate keys (to compare loads)."""
    out = {}
    for table, cols in (("admission", "admission_id, patient_id, admitted_at, discharged_at, age_years, sex, "
                                      "admission_source, died_in_hospital"),
                        ("location_stay", "admission_id, unit, unit_kind, isolation, started_at, ended_at"),
                        ("diagnosis", "admission_id, icd10_code, diagnosed_at"),
                        ("admission_bmi", "admission_id, bmi, measured_at"),
                        ("lab_result", "admission_id, local_code, value, value_text, unit, sampled_at, "
                                       "resulted_at, specimen")):
        cur.execute(f"SELECT {cols} FROM icu_predict.{table} ORDER BY {cols}")
        out[table] = cur.fetchall()
    return out


@pytest.fixture(scope="module")
def loads(dbname):
    """The dry run, the database right after it, then the load."""
    dry = _load(dbname, commit=False)
    conn = psycopg2.connect(dbname=dbname)
    with conn.cursor() as cur:
        after_dry = _snapshot(cur)
        cur.execute("SELECT count(*) FROM icu_predict.lab_map WHERE note LIKE 'CSV mapping %'")
        map_after_dry = cur.fetchone()[0]
    conn.close()
    real = _load(dbname)
    return dry, real, after_dry, map_after_dry


@pytest.fixture
def cur(loads, conn):
    with conn.cursor() as c:
        c.execute("SET TimeZone = 'UTC'")
        yield c


def _files(rep):
    return {f["section"] + ":" + f["file"]: f for f in rep["files"]}


def test_dry_run_writes_nothing(loads):
    dry, _, after_dry, map_after_dry = loads
    assert dry["dry_run"] is True
    assert all(rows == [] for rows in after_dry.values()), after_dry
    assert map_after_dry == 0


def test_dry_run_and_load_agree_row_for_row(loads):
    dry, real, _, _ = loads
    assert csvload.totals(dry) == csvload.totals(real)
    for d, r in zip(dry["files"], real["files"]):
        assert d["rejections"] == r["rejections"]
        assert d.get("status") == r.get("status")
        assert d["unused_columns"] == r["unused_columns"]
        assert d.get("lab_map_added") == r.get("lab_map_added")


def test_every_line_and_cell_is_counted(loads):
    _, real, _, _ = loads
    for f in real["files"]:
        if f["section"] == "labs":
            assert f["lines"] == f["lines_read"] + len(f["lines_rejected"]) + f["empty_lines"]
            assert f["cells"] == f["loaded"] + f["rejected"]
            assert f["loaded"] == sum(f["status_totals"].values())
        else:
            assert f["lines"] == f["loaded"] + f["rejected"] + f["no_value"] + f["empty_lines"]
        assert f["rejected"] == sum(f["rejected_by_reason"].values()) == len(f["rejections"])


def test_the_database_counts_what_the_report_says(loads, cur):
    _, real, _, _ = loads
    f = _files(real)
    for key, table in (("admissions:opnames.csv", "admission"), ("location_stays:verblijven.csv", "location_stay"),
                       ("diagnoses:diagnoses.csv", "diagnosis"), ("bmi:opnames.csv", "admission_bmi"),
                       ("labs:lab.csv", "lab_result")):
        cur.execute(f"SELECT count(*) FROM icu_predict.{table}")
        assert cur.fetchone()[0] == f[key]["loaded"], table
    cur.execute("SELECT status, sum(n_rows) FROM icu_predict.lab_load_quality GROUP BY 1")
    assert dict((k, int(v)) for k, v in cur.fetchall()) == f["labs:lab.csv"]["status_totals"]


def test_the_test_export_gives_the_expected_figures(loads):
    _, real, _, _ = loads
    f = _files(real)
    a = f["admissions:opnames.csv"]
    assert (a["lines"], a["loaded"]) == (6, 4)
    assert a["rejected_by_reason"] == {"admission_discharge_after_admission": 1, "admitted_at not a time": 1}
    s = f["location_stays:verblijven.csv"]
    assert s["rejected_by_reason"] == {"unit_kind not in the value map": 1, "location_stay_within_admission": 1,
                                       "location_stay_admission_fkey": 1}
    b = f["bmi:opnames.csv"]
    assert (b["loaded"], b["no_value"]) == (2, 2)
    assert b["rejected_by_reason"] == {"admission_bmi_plausible": 1, "admission_bmi_admission_fkey": 1}
    lab = f["labs:lab.csv"]
    # the line of 26-03-2023 02:30 (no such time in Amsterdam) is refused, cell by cell
    assert lab["rejected_by_reason"]["sampled_at local time does not exist"] == 7
    assert lab["rejected_by_reason"]["lab_result_admission_fkey"] == 4
    assert lab["rejected_by_reason"]["lab_result_resulted_after_sampled"] == 2
    assert lab["ambiguous_times"] == {"earlier": 2}
    assert [u["column"] for u in lab["unused_columns"]] == ["Procalcitonine (ng/mL)"]
    st = {(s["column"], s["unit"], s["status"]): s["rows"] for s in lab["status"]}
    assert st[("Ferritine (pmol/L)", "pmol/L", "unit_not_convertible")] == 1
    assert st[("Kreatinine", "mg/24h", "unit_not_convertible")] == 1
    assert st[("Natrium (mmol/L)", "mmol/L", "not_numeric")] == 1
    assert st[("Kalium (mmol/L)", "mmol/L", "implausible")] == 1
    assert st[("Lactaat", "mmol/L", "code_unknown")] == 1
    assert st[("Bloedgroep", "", "code_unknown")] == 2


def test_times_are_read_in_the_local_zone_across_dst(loads, cur):
    cur.execute("""SELECT resulted_at FROM icu_predict.lab_result WHERE admission_id = 1002 AND local_code = 'KCCRP'
                   ORDER BY resulted_at""")
    got = [r[0] for r in cur.fetchall()]
    assert got == [dt.datetime(2023, 10, 28, 23, 20, tzinfo=UTC),   # 01:20 CEST
                   dt.datetime(2023, 10, 29, 0, 30, tzinfo=UTC),    # 02:30, the first (CEST) of two
                   dt.datetime(2023, 10, 29, 6, 0, tzinfo=UTC)]     # 07:00 CET
    cur.execute("SELECT admitted_at FROM icu_predict.admission WHERE admission_id = 1001")
    assert cur.fetchone()[0] == dt.datetime(2023, 3, 25, 21, 10, tzinfo=UTC)   # 22:10 CET


def test_values_decimal_commas_censored_and_codes(loads, cur):
    cur.execute("SELECT sex, admission_source, died_in_hospital FROM icu_predict.admission ORDER BY admission_id")
    assert cur.fetchall() == [("male", "emergency", False), ("female", "elective", None),
                              ("female", "emergency", True), ("other", "transfer", None)]
    cur.execute("SELECT unit_kind, isolation FROM icu_predict.location_stay WHERE admission_id = 1001 "
                "ORDER BY started_at")
    assert cur.fetchall() == [("ward", "unknown"), ("icu", "droplet"), ("ward", "droplet")]
    cur.execute("SELECT bmi FROM icu_predict.admission_bmi WHERE admission_id = 1001")
    assert cur.fetchone()[0] == pytest.approx(27.4)
    cur.execute("""SELECT s.value, s.censored FROM icu_predict.lab_row_status s
                    WHERE s.admission_id = 1001 AND s.local_code = 'KCCRP' AND s.value_text = '<5'""")
    assert cur.fetchall() == [(5.0, "<")]
    cur.execute("""SELECT value, value_text FROM icu_predict.lab_result
                    WHERE admission_id = 1001 AND local_code = 'LEUK' ORDER BY resulted_at""")
    assert cur.fetchall() == [(14.2, "14,2"), (9.9, "9,9")]
    cur.execute("""SELECT s.feature, s.value FROM icu_predict.lab_row_status s
                    WHERE s.admission_id = 1003 AND s.local_code = 'KREA' AND s.local_unit = 'µmol/L'""")
    feature, value = cur.fetchone()
    assert feature == "creatinine" and value == pytest.approx(201 / 88.4, rel=1e-3)


def test_rerun_is_refused_and_changes_nothing(loads, cur, dbname):
    before = _snapshot(cur)
    p = _cli(dbname, "--mapping", str(MAPPING))
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.startswith("error: 4 admissions of the [admissions] file are already loaded")
    assert "Traceback" not in p.stderr
    assert _snapshot(cur) == before


def test_rerun_with_replace_gives_the_same_tables(loads, cur, dbname):
    before = _snapshot(cur)
    p = _cli(dbname, "--mapping", str(MAPPING), "--replace")
    assert p.returncode == 1, p.stdout + p.stderr       # 1: the report lists rejected rows
    assert "replaced: 4 admissions deleted first" in p.stdout
    assert _snapshot(cur) == before


def test_labs_of_a_loaded_export_are_not_loaded_twice(loads, cur, dbname, tmp_path):
    # a mapping with the lab file only: its rows are in lab_result already
    text = MAPPING.read_text(encoding="utf-8")
    labs_only = text[:text.index("[admissions]")] + text[text.index("[[labs]]"):]
    m = tmp_path / "labs.toml"
    m.write_text(labs_only, encoding="utf-8")
    before = _snapshot(cur)
    p = _cli(dbname, "--mapping", str(m), "--data", str(DATA))
    assert p.returncode == 2
    assert "lab results are already in icu_predict.lab_result" in p.stderr
    assert _snapshot(cur) == before


def test_refresh_works_after_the_load(loads, cur):
    cur.execute("SELECT clock_timestamp()")
    started = cur.fetchone()[0]
    # as of a day in the export, when 1002 and 1006 are admitted
    cur.execute("SELECT set_config('icu_predict.reference_time', '2023-11-07 12:00+00', false)")
    cur.execute("CALL icu_predict.refresh()")
    cur.execute("SELECT succeeded, error FROM icu_predict.refresh_log WHERE started_at >= %s "
                "ORDER BY started_at DESC LIMIT 1", (started,))
    assert cur.fetchone() == (True, None)
    cur.execute("SELECT count(DISTINCT admission_id) FROM icu_predict.patient_status WHERE admission_id IN (1002, 1006)")
    assert cur.fetchone()[0] == 2          # the two open admissions are on the ward list


def test_documented_example_mapping_loads_the_test_export(loads, dbname):
    # docs/csv-mapping-example.toml is the test mapping with comments: the same figures
    dry = _load(dbname, EXAMPLE, data_dir=DATA, replace=True, commit=False)
    _, real, _, _ = loads
    want = csvload.totals(real)
    assert csvload.totals(dry) == want


def test_dry_run_from_the_command_line(loads, dbname):
    p = _cli(dbname, "--mapping", str(EXAMPLE), "--data", str(DATA), "--dry-run", "--replace")
    assert p.returncode == 1, p.stderr
    assert "dry run: nothing written" in p.stdout
    assert "column not in the mapping (not loaded): 'Procalcitonine (ng/mL)'" in p.stdout
    assert "unit_not_convertible" in p.stdout


@pytest.mark.parametrize("unit, message", [
    ("mg/LL", "unit 'mg/LL' is not a unit icu_predict reads"),
])
def test_unknown_unit_is_a_mapping_error_naming_its_line(dbname, tmp_path, unit, message):
    text = MAPPING.read_text(encoding="utf-8").replace('feature = "crp", unit = "mg/L"',
                                                       f'feature = "crp", unit = "{unit}"')
    m = tmp_path / "m.toml"
    m.write_text(text, encoding="utf-8")
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith('"CRP (mg/L)"'))
    p = _cli(dbname, "--mapping", str(m), "--data", str(DATA), "--dry-run", "--replace")
    assert p.returncode == 2
    assert p.stderr == f"error: {m} line {line}: labs[0].wide.CRP (mg/L).unit: {message} (UCUM, or a spelling " \
                       "of SELECT * FROM icu_predict.unit_spellings())\n"


def test_unknown_feature_is_a_mapping_error(dbname, tmp_path):
    text = MAPPING.read_text(encoding="utf-8").replace('feature = "sodium"', 'feature = "natrium"')
    m = tmp_path / "m.toml"
    m.write_text(text, encoding="utf-8")
    p = _cli(dbname, "--mapping", str(m), "--data", str(DATA), "--dry-run", "--replace")
    assert p.returncode == 2
    assert "unknown feature 'natrium'" in p.stderr and "labs[0].wide.Natrium (mmol/L).feature" in p.stderr
