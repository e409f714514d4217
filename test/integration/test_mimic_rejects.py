"""The MIMIC loader reports every row it cannot load, with a reason, and drops none.

Works on a copy of the demo with a few broken rows added (in a temporary
folder); each load runs as a dry run, so the database stays empty.

Contains information from the MIMIC-III Clinical Database Demo (v1.4), made
available under the ODbL.
"""
import csv
import shutil
import subprocess
import sys

import psycopg2
import pytest

from model import mimic


def _append(path, row):
    with open(path, "a", newline="") as f:
        csv.writer(f, lineterminator="\n").writerow(row)


def _lines(path):
    with open(path) as f:
        return sum(1 for _ in f)


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    d = tmp_path_factory.mktemp("mimic-broken")
    for name in mimic.FILES:
        shutil.copy(mimic.DEFAULT_DATA / f"{name}.csv", d / f"{name}.csv")
    # ADMISSIONS: a time that is no time, and a subject without PATIENTS row.
    _append(d / "ADMISSIONS.csv", [1, 10006, 900001, "2164-13-45 10:00:00", "2164-11-01 17:15:00", "",
                                   "EMERGENCY", "", "", "", "", "", "", "", "", "", "", 0, 1])
    _append(d / "ADMISSIONS.csv", [2, 99999999, 900002, "2164-10-23 21:09:00", "2164-11-01 17:15:00", "",
                                   "EMERGENCY", "", "", "", "", "", "", "", "", "", "", 0, 1])
    # TRANSFERS: a stay overlapping the first stay of admission 142345, a stay
    # of the rejected admission 900001 and one that ends before it starts.
    _append(d / "TRANSFERS.csv", [900010, 10006, 142345, "", "carevue", "transfer", "", "", "", 45,
                                  "2164-10-24 00:00:00", "2164-10-24 06:00:00", 6])
    _append(d / "TRANSFERS.csv", [900011, 10006, 900001, "", "carevue", "admit", "", "", "", 45,
                                  "2164-10-24 00:00:00", "2164-10-24 06:00:00", 6])
    _append(d / "TRANSFERS.csv", [900012, 10006, 142345, "", "carevue", "transfer", "", "", "", 45,
                                  "2164-11-01 17:14:27", "2164-11-01 17:00:00", 0])
    # LABEVENTS: an unknown admission, an empty result, a bad time.
    _append(d / "LABEVENTS.csv", [10006, 900003, 50912, "2164-10-24 06:00:00", "1.1", "1.1", "mg/dL", ""])
    _append(d / "LABEVENTS.csv", [10006, 142345, 50912, "2164-10-24 06:00:00", "", "", "mg/dL", ""])
    _append(d / "LABEVENTS.csv", [10006, 142345, 50912, "yesterday", "1.1", "1.1", "mg/dL", ""])
    return d


@pytest.fixture(scope="module")
def report(dbname, broken):
    conn = psycopg2.connect(dbname=dbname)
    try:
        return mimic.load(conn, broken, commit=False)
    finally:
        conn.close()


def _reasons(report, file):
    return {r["line"]: r["reason"] for r in report["rejected"] if r["file"] == file}


def test_every_table_adds_up(report, broken, conn):
    for t in report["tables"][:3]:
        n = _lines(broken / t["file"]) - 1
        assert t["rows_in_file"] == n
        assert t["loaded"] + t["rejected"] + t["skipped"] == n, t
    with conn.cursor() as cur:          # a dry run leaves nothing behind
        cur.execute("SELECT (SELECT count(*) FROM icu_predict.admission) + (SELECT count(*) FROM icu_predict.lab_map)")
        assert cur.fetchone()[0] == 0


def test_admission_rejections(report, broken):
    r = _reasons(report, "ADMISSIONS.csv")
    last = _lines(broken / "ADMISSIONS.csv")
    assert set(r) == {last - 1, last}
    assert r[last - 1].startswith("admittime is missing or not a time: 2164-13-45")
    assert "has no PATIENTS row" in r[last]


def test_transfer_rejections_name_the_constraint(report, broken):
    r = _reasons(report, "TRANSFERS.csv")
    last = _lines(broken / "TRANSFERS.csv")
    assert set(r) == {last - 2, last - 1, last}
    assert r[last - 2].startswith("location_stay_no_overlap: ")
    assert r[last - 1].startswith("location_stay_admission_fkey: ")
    assert r[last].startswith("location_stay_end_after_start: ")


def test_lab_rejections(report, broken):
    r = _reasons(report, "LABEVENTS.csv")
    last = _lines(broken / "LABEVENTS.csv")
    assert set(r) == {last - 2, last - 1, last}
    assert r[last - 2].startswith("lab_result_admission_fkey: ")
    assert r[last - 1].startswith("lab_result_has_value: ")
    assert r[last].startswith("charttime is missing or not a time: yesterday")


def test_the_rest_still_loads(report):
    t = {x["table"]: x for x in report["tables"]}
    assert t["admission"]["loaded"] == 129
    assert t["lab_result"]["loaded"] == 61812
    assert report["icu_episodes"]["matched"] == report["icu_episodes"]["icustays_rows"]


def test_without_reconciliation_stays_outside_admissions_are_rejected(dbname):
    conn = psycopg2.connect(dbname=dbname)
    try:
        rep = mimic.load(conn, mimic.DEFAULT_DATA, reconcile=False, commit=False)
    finally:
        conn.close()
    assert rep["admissions_widened"] == []
    stays = [r for r in rep["rejected"] if r["file"] == "TRANSFERS.csv"]
    assert stays and all(r["reason"].startswith("location_stay_within_admission: ") for r in stays)
    t = rep["tables"][1]
    assert t["loaded"] + t["rejected"] + t["skipped"] == t["rows_in_file"]
    # the ground-truth check then fails: this is why the loader reconciles by default
    assert rep["icu_episodes"]["matched"] < rep["icu_episodes"]["icustays_rows"]


def test_cli_exit_code_and_listing(dbname, broken):
    p = subprocess.run([sys.executable, "-m", "model.mimic", "--dsn", f"dbname={dbname}", "--data", str(broken),
                        "--dry-run"], capture_output=True, text=True, cwd=mimic.REPO_ROOT, timeout=300)
    assert p.returncode == 1, p.stderr
    assert "rejected rows: 8" in p.stdout
    assert "TRANSFERS.csv line" in p.stdout and "location_stay_no_overlap" in p.stdout
    assert mimic.ATTRIBUTION in p.stdout


def test_missing_data_folder_is_a_clear_error(dbname, tmp_path):
    p = subprocess.run([sys.executable, "-m", "model.mimic", "--dsn", f"dbname={dbname}", "--data",
                        str(tmp_path)], capture_output=True, text=True, cwd=mimic.REPO_ROOT, timeout=60)
    assert p.returncode == 2
    assert "not found" in p.stderr
