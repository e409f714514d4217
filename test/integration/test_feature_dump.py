"""User edits of the feature catalogue survive a real pg_dump / pg_restore:
a range edit of a shipped feature, a rename (with lab_map rows under the new
name), a delete, and an added feature; the shipped rows nobody touched come
back as shipped, and lab rows map the same way after the restore."""
import os
import shutil
import subprocess

import psycopg2
import pytest

import scratch_db


def _bin(name):
    pg_config = os.environ.get("PG_CONFIG")
    if pg_config:
        d = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    found = shutil.which(name)
    assert found, f"{name} not found"
    return found


def _catalogue(cur):
    cur.execute("SELECT name, unit, plausible_min, plausible_max, builtin, replaces FROM icu_predict.feature ORDER BY name")
    return cur.fetchall()


@pytest.fixture(scope="module")
def restored(tmp_path_factory):
    src = scratch_db.create("icu_dump_src_")
    dst = scratch_db.create("icu_dump_dst_", extension=False)
    try:
        conn = psycopg2.connect(dbname=src)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("""
                UPDATE icu_predict.feature SET plausible_max = 2500 WHERE name = 'crp';
                UPDATE icu_predict.feature SET name = 'sodium_serum', display_name = 'Na (serum)' WHERE name = 'sodium';
                DELETE FROM icu_predict.feature WHERE name = 'esr';
                INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max)
                VALUES ('news2', 'NEWS2 early warning score', '{score}', 0, 20);
                INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                VALUES (1, 'p1', '2020-01-01', 50);
                INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES
                    ('NA', 'mmol/L', 'sodium_serum'), ('CRP', 'mg/L', 'crp'), ('NEWS', '', 'news2');
                INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
                    (1, 'NA', 140, 'mmol/L', '2020-01-02'), (1, 'CRP', 2200, 'mg/L', '2020-01-02'),
                    (1, 'CRP', 3, 'mg/dL', '2020-01-02'), (1, 'NEWS', 7, NULL, '2020-01-02'),
                    (1, '4537-7', 30, 'mm/h', '2020-01-02');
            """)
            before = _catalogue(cur)
            cur.execute("SELECT lab_result_id, feature, value, rejection FROM icu_predict.lab_row_status ORDER BY 1")
            status_before = cur.fetchall()
        conn.close()
        dump = tmp_path_factory.mktemp("dump") / "icu.dump"
        subprocess.run([_bin("pg_dump"), "-Fc", "-f", str(dump), src], check=True, capture_output=True)
        r = subprocess.run([_bin("pg_restore"), "--exit-on-error", "-d", dst, str(dump)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        conn = psycopg2.connect(dbname=dst)
        conn.autocommit = True
        with conn.cursor() as cur:
            after = _catalogue(cur)
            cur.execute("SELECT lab_result_id, feature, value, rejection FROM icu_predict.lab_row_status ORDER BY 1")
            status_after = cur.fetchall()
            cur.execute("SELECT local_code, unit, feature FROM icu_predict.lab_map ORDER BY 1")
            lab_map = cur.fetchall()
            cur.execute("SELECT name FROM icu_predict.feature_removed ORDER BY 1")
            removed = [r[0] for r in cur.fetchall()]
        conn.close()
        yield dict(before=before, after=after, status_before=status_before, status_after=status_after,
                   lab_map=lab_map, removed=removed)
    finally:
        scratch_db.drop(src)
        scratch_db.drop(dst)


def test_catalogue_is_the_same_after_restore(restored):
    assert restored["after"] == restored["before"]


def test_each_edit_survives(restored):
    cat = {r[0]: r for r in restored["after"]}
    assert cat["crp"][3] == 2500 and cat["crp"][4] is False and cat["crp"][5] == "crp"
    assert "sodium" not in cat and cat["sodium_serum"][5] == "sodium"
    assert "esr" not in cat and restored["removed"] == ["esr"]
    assert cat["news2"][4] is False and cat["news2"][5] is None
    assert cat["ldh"][4] is True          # untouched shipped rows come back as shipped


def test_mappings_and_lab_rows_survive(restored):
    assert restored["lab_map"] == [("CRP", "mg/L", "crp"), ("NA", "mmol/L", "sodium_serum"), ("NEWS", "", "news2")]
    assert restored["status_after"] == restored["status_before"]
    by_id = {r[0]: r for r in restored["status_after"]}
    assert [by_id[i][1:] for i in sorted(by_id)] == [
        ("sodium_serum", 140.0, None), ("crp", 2200.0, None), ("crp", 30.0, None),
        ("news2", 7.0, None), (None, None, "code_unknown")]   # the deleted esr's LOINC code no longer maps
