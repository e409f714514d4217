"""The OMOP CDM v5.4 adapter (icu_predict.omop_load, extension/sql/60_omop.sql).

Three cohorts:

* a hand-made CDM (written here): every mapping rule, the row accounting,
  the errors and their SQLSTATEs, incremental re-runs;
* the MIMIC-III demo, loaded directly (model/mimic.py) into one database and
  converted by the project's own script (model/omop.py) into a CDM in a second
  one and loaded through the adapter: admissions, ICU episodes, panels and
  scores compared, every difference counted and explained (docs/omop.md);
* OHDSI's published Eunomia Synthea27Nj dataset (CDM v5.4, test/data/
  eunomia_synthea27nj), with the counts of its own files and CDM_SOURCE.

Contains information from the MIMIC-III Clinical Database Demo (v1.4), made
available under the ODbL.
"""
import csv
import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import psycopg2
import pytest

import scratch_db
from model import mimic, omop

HERE = Path(__file__).resolve().parent
EUNOMIA = HERE.parent / "data" / "eunomia_synthea27nj" / "synthea27nj_5.4.tar.xz"
# the statuses of omop_load() that count source rows (the others are notes and lab statuses)
ROW_STATUSES = {"inserted", "updated", "unchanged", "skipped", "rejected", "used"}


def _load(conn, schema, **kw):
    return omop.omop_load(conn, schema, **kw)


def _by_table(report):
    out = Counter()
    for r in report:
        if r["status"] in ROW_STATUSES:
            out[r["cdm_table"]] += r["n_rows"]
    return out


def _count(report, table, status, reason=None):
    return sum(r["n_rows"] for r in report if r["cdm_table"] == table and r["status"] == status
               and (reason is None or (r["reason"] or "").startswith(reason)))


# ---------------------------------------------------------------------------
# a hand-made CDM
# ---------------------------------------------------------------------------
SMALL = """
INSERT INTO {s}.cdm_source (cdm_source_name, cdm_source_abbreviation, cdm_holder, source_release_date,
                            cdm_release_date, cdm_version, cdm_version_concept_id, vocabulary_version)
VALUES ('test', 'test', 'icu_predict tests', '2020-01-01', '2020-01-01', '5.4', 756265, 'test');
-- the vocabulary subset: LOINC CRP and creatinine, UCUM units, visits, an ICD-10-CM code;
-- ids of local concepts (the ICD-10-CM and the unknown LOINC) above 2,000,000,000
INSERT INTO {s}.concept VALUES
 (3020460, 'C reactive protein [Mass/volume] in Serum or Plasma', 'Measurement', 'LOINC', 'Lab Test', 'S', '1988-5', '1970-01-01', '2099-12-31', NULL),
 (3016723, 'Creatinine [Mass/volume] in Serum or Plasma', 'Measurement', 'LOINC', 'Lab Test', 'S', '2160-0', '1970-01-01', '2099-12-31', NULL),
 (2000000101, 'a LOINC code the catalogue lacks', 'Measurement', 'LOINC', 'Lab Test', NULL, '99999-9', '1970-01-01', '2099-12-31', NULL),
 (8840, 'milligram per deciliter', 'Unit', 'UCUM', 'Unit', 'S', 'mg/dL', '1970-01-01', '2099-12-31', NULL),
 (8751, 'milligram per liter', 'Unit', 'UCUM', 'Unit', 'S', 'mg/L', '1970-01-01', '2099-12-31', NULL),
 (8749, 'micromole per liter', 'Unit', 'UCUM', 'Unit', 'S', 'umol/L', '1970-01-01', '2099-12-31', NULL),
 (9201, 'Inpatient Visit', 'Visit', 'Visit', 'Visit', 'S', 'IP', '1970-01-01', '2099-12-31', NULL),
 (9202, 'Outpatient Visit', 'Visit', 'Visit', 'Visit', 'S', 'OP', '1970-01-01', '2099-12-31', NULL),
 (2000000201, 'Heart failure, unspecified', 'Condition', 'ICD10CM', 'Billable Code', NULL, 'I50.9', '1970-01-01', '2099-12-31', NULL);
INSERT INTO {s}.person (person_id, gender_concept_id, year_of_birth, month_of_birth, day_of_birth,
                        race_concept_id, ethnicity_concept_id) VALUES
 (1, 8532, 1950, 6, 1, 0, 0), (2, 8507, 1960, 1, 1, 0, 0), (3, 0, 1970, NULL, NULL, 0, 0);
INSERT INTO {s}.care_site (care_site_id, care_site_name, place_of_service_concept_id) VALUES
 (10, 'IC-1', NULL), (20, 'Longafdeling 4N', 8717);
INSERT INTO {s}.visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, visit_start_date,
        visit_start_datetime, visit_end_date, visit_end_datetime, visit_type_concept_id, discharged_to_concept_id) VALUES
 (100, 1, 9201, '2020-04-01', '2020-04-01 08:00', '2020-04-10', '2020-04-10 12:00', 32817, 0),
 (200, 2, 9201, '2020-04-02', '2020-04-02 09:00', '2020-04-05', '2020-04-05 18:00', 32817, 4216643),
 (300, 3, 9202, '2020-04-03', '2020-04-03 10:00', '2020-04-03', '2020-04-03 11:00', 32817, 0),
 (400, 9, 9201, '2020-04-03', '2020-04-03 10:00', '2020-04-04', '2020-04-04 11:00', 32817, 0);
INSERT INTO {s}.visit_detail (visit_detail_id, person_id, visit_detail_concept_id, visit_detail_start_date,
        visit_detail_start_datetime, visit_detail_end_date, visit_detail_end_datetime,
        visit_detail_type_concept_id, care_site_id, visit_occurrence_id) VALUES
 (1001, 1, 9201, '2020-04-01', '2020-04-01 08:00', '2020-04-03', '2020-04-03 08:00', 32817, 20, 100),
 (1002, 1, 9201, '2020-04-03', '2020-04-03 08:00', '2020-04-08', '2020-04-08 08:00', 32817, 10, 100),
 (1003, 1, 9201, '2020-04-08', '2020-04-08 08:00', '2020-04-10', '2020-04-10 12:00', 32817, 20, 100),
 -- overlaps 1002: refused by location_stay_no_overlap
 (1004, 1, 9201, '2020-04-05', '2020-04-05 08:00', '2020-04-06', '2020-04-06 08:00', 32817, 20, 100),
 (3001, 3, 9202, '2020-04-03', '2020-04-03 10:00', '2020-04-03', '2020-04-03 11:00', 32817, NULL, 300);
INSERT INTO {s}.measurement (measurement_id, person_id, measurement_concept_id, measurement_date,
        measurement_datetime, measurement_type_concept_id, operator_concept_id, value_as_number,
        unit_concept_id, visit_occurrence_id, measurement_source_value, unit_source_value, value_source_value) VALUES
 (1, 1, 3020460, '2020-04-01', '2020-04-01 10:00', 32817, NULL, 4.8, 8840, 100, 'KCCRP', 'mg/dl', '4.8'),
 (2, 1, 3020460, '2020-04-02', '2020-04-02 10:00', 32817, 4171756, 5, 8751, 100, 'KCCRP', 'mg/l', '<5'),
 (3, 1, 3016723, '2020-04-02', '2020-04-02 10:00', 32817, NULL, 88.4, 8749, 100, 'KREA', 'umol/l', '88.4'),
 (4, 1, 2000000101, '2020-04-02', '2020-04-02 10:00', 32817, NULL, 1, 0, 100, 'XYZ', 'U', '1'),
 (5, 1, 0, '2020-04-02', NULL, 32817, NULL, NULL, 0, 100, 'LOCAL7', NULL, 'NEG'),
 (6, 1, 3020460, '2020-04-02', '2020-04-02 10:00', 32817, NULL, NULL, 0, 100, 'KCCRP', NULL, NULL),
 (7, 2, 3020460, '2020-04-02', '2020-04-02 12:00', 32817, NULL, 12, 0, 200, 'KCCRP', 'mg/L', '12'),
 (8, 3, 3020460, '2020-04-03', '2020-04-03 10:30', 32817, NULL, 3, 8751, 300, 'KCCRP', 'mg/L', '3'),
 (9, 1, 3020460, '2019-01-01', '2019-01-01 10:00', 32817, NULL, 3, 8751, NULL, 'KCCRP', 'mg/L', '3');
INSERT INTO {s}.condition_occurrence (condition_occurrence_id, person_id, condition_concept_id, condition_start_date,
        condition_type_concept_id, visit_occurrence_id, condition_source_value, condition_source_concept_id) VALUES
 (1, 1, 316139, '2020-04-01', 32817, 100, 'I50.9', 2000000201),
 (2, 1, 316139, '2020-04-01', 32817, 100, '84114007', 0),
 (3, 2, 316139, '2020-04-02', 32817, 200, 'J44.9', 0);
INSERT INTO {s}.death (person_id, death_date) VALUES (2, '2020-04-05'), (3, '2021-01-01');
"""


@pytest.fixture(scope="module")
def small(dbname):
    conn = psycopg2.connect(dbname=dbname)
    with conn, conn.cursor() as cur:
        omop.create_schema(cur, "cdm")
        cur.execute(SMALL.format(s="cdm"))
        cur.execute("INSERT INTO icu_predict.omop_location_map (match_on, match_value, unit_kind, note)"
                    " VALUES ('care_site_id', 10, 'icu', 'IC-1')")
    first = _load(conn, "cdm")
    yield conn, first
    conn.close()


def test_every_source_row_counted(small):
    conn, rep = small
    with conn.cursor() as cur:
        for table in ("person", "visit_occurrence", "visit_detail", "measurement", "condition_occurrence", "death"):
            cur.execute(f"SELECT count(*) FROM cdm.{table}")
            assert _by_table(rep)[table] == cur.fetchone()[0], (table, rep)


def test_visits(small):
    conn, rep = small
    assert _count(rep, "visit_occurrence", "inserted") == 2
    assert _count(rep, "visit_occurrence", "skipped", "visit_concept_id 9202 (Outpatient Visit) is no admission") == 1
    assert _count(rep, "visit_occurrence", "rejected", "person_id 9 has no PERSON row") == 1
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute("SELECT admission_id, patient_id, admitted_at::text, discharged_at::text, age_years, sex,"
                    " died_in_hospital FROM icu_predict.admission ORDER BY 1")
        assert cur.fetchall() == [
            (100, "1", "2020-04-01 08:00:00+00", "2020-04-10 12:00:00+00", 69, "female", False),
            (200, "2", "2020-04-02 09:00:00+00", "2020-04-05 18:00:00+00", 60, "male", True)]


def test_stays_and_icu_by_care_site(small):
    conn, rep = small
    assert _count(rep, "visit_detail", "inserted") == 3
    assert _count(rep, "visit_detail", "rejected", "location_stay_no_overlap") == 1
    assert _count(rep, "visit_detail", "skipped", "its visit is no admission") == 1
    # visit 200 has no VISIT_DETAIL: one stay of its own kind (Inpatient Visit: ward)
    assert _count(rep, "visit_occurrence (one stay for a visit without visit_detail)", "inserted") == 1
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute("SELECT admission_id, unit, unit_kind FROM icu_predict.location_stay ORDER BY admission_id, started_at")
        assert cur.fetchall() == [(100, "Longafdeling 4N", "ward"), (100, "IC-1", "icu"),
                                  (100, "Longafdeling 4N", "ward"), (200, "Inpatient Visit", "ward")]
        cur.execute("SELECT admission_id, started_at::text, ended_at::text FROM icu_predict.icu_episode")
        assert cur.fetchall() == [(100, "2020-04-03 08:00:00+00", "2020-04-08 08:00:00+00")]


def test_measurements_through_lab_row_status(small):
    conn, rep = small
    assert _count(rep, "measurement", "inserted") == 6
    assert _count(rep, "measurement", "rejected", "no value") == 1
    assert _count(rep, "measurement", "skipped", "its visit is no admission") == 1
    assert _count(rep, "measurement", "skipped", "no visit_occurrence_id") == 1
    with conn.cursor() as cur:
        cur.execute("""SELECT r.local_code, r.unit, s.feature, s.value, s.censored, s.rejection
                         FROM icu_predict.omop_row k
                         JOIN icu_predict.lab_result r ON r.lab_result_id = k.target_id
                         JOIN icu_predict.lab_row_status s ON s.lab_result_id = r.lab_result_id
                        WHERE k.cdm_table = 'measurement' ORDER BY k.cdm_id""")
        got = cur.fetchall()
    assert got[0] == ("1988-5", "mg/dL", "crp", pytest.approx(48.0), None, None)        # 4.8 mg/dL = 48 mg/L
    assert got[1] == ("1988-5", "mg/L", "crp", pytest.approx(5.0), "<", None)           # operator < -> censored
    assert got[2][:3] == ("2160-0", "umol/L", "creatinine") and got[2][3] == pytest.approx(1.0, rel=1e-3)
    assert got[3][0] == "99999-9" and got[3][5] == "code_unknown"                      # a LOINC the catalogue lacks
    assert got[4][0] == "source:LOCAL7" and got[4][5] == "code_unknown"                # no concept: the source value
    assert got[5] == ("1988-5", "mg/L", "crp", pytest.approx(12.0), None, None)        # unit_source_value
    lab = {r["status"]: r["n_rows"] for r in rep if r["status"].startswith("lab ")}
    assert lab == {"lab used": 4, "lab code_unknown": 2}


def test_conditions_and_comorbidities(small):
    conn, rep = small
    assert _count(rep, "condition_occurrence", "inserted") == 2          # ICD10CM concept, ICD-10 source value
    assert _count(rep, "condition_occurrence", "skipped", "no ICD-10 code") == 1   # a SNOMED code
    with conn.cursor() as cur:
        cur.execute("SELECT admission_id, comorbidity FROM icu_predict.admission_comorbidity ORDER BY 1, 2")
        # each code in its Charlson and its Elixhauser group
        assert cur.fetchall() == [(100, "elixhauser_heart_failure"), (100, "heart_failure"),
                                  (200, "chronic_pulmonary"), (200, "elixhauser_chronic_pulmonary")]


def test_deaths(small):
    conn, rep = small
    assert _count(rep, "death", "used") == 1
    assert _count(rep, "death", "skipped", "the death falls in no loaded admission") == 1


def test_rerun_is_incremental(small):
    conn, _ = small
    with conn.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM icu_predict.admission), (SELECT count(*) FROM icu_predict.location_stay),"
                    " (SELECT count(*) FROM icu_predict.lab_result), (SELECT count(*) FROM icu_predict.diagnosis)")
        before = cur.fetchone()
    again = _load(conn, "cdm")
    assert _count(again, "measurement", "inserted") == 0 and _count(again, "measurement", "updated") == 0
    assert _count(again, "measurement", "unchanged") == 6
    assert _count(again, "visit_occurrence", "unchanged") == 2
    assert _count(again, "visit_detail", "unchanged") == 3
    # the rejected rows are tried again, and rejected again
    assert _count(again, "visit_detail", "rejected") == 1
    with conn.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM icu_predict.admission), (SELECT count(*) FROM icu_predict.location_stay),"
                    " (SELECT count(*) FROM icu_predict.lab_result), (SELECT count(*) FROM icu_predict.diagnosis)")
        assert cur.fetchone() == before
        # one value corrected, one new measurement
        cur.execute("UPDATE cdm.measurement SET value_as_number = 6.1, value_source_value = '6.1' WHERE measurement_id = 1")
        cur.execute("INSERT INTO cdm.measurement (measurement_id, person_id, measurement_concept_id, measurement_date,"
                    " measurement_datetime, measurement_type_concept_id, value_as_number, unit_concept_id,"
                    " visit_occurrence_id) VALUES (10, 1, 3020460, '2020-04-04', '2020-04-04 10:00', 32817, 30, 8751, 100)")
    conn.commit()
    third = _load(conn, "cdm", since="2020-04-01")
    assert _count(third, "measurement", "updated") == 1
    assert _count(third, "measurement", "inserted") == 1
    assert _count(third, "measurement", "unchanged") == 5
    with conn.cursor() as cur:
        cur.execute("SELECT s.value FROM icu_predict.omop_row k JOIN icu_predict.lab_row_status s"
                    " ON s.lab_result_id = k.target_id WHERE k.cdm_table = 'measurement' AND k.cdm_id = 1")
        assert cur.fetchone()[0] == pytest.approx(61.0)
        cur.execute("SELECT count(*) FROM icu_predict.lab_result")
        assert cur.fetchone()[0] == before[2] + 1


def test_errors(small):
    conn, _ = small
    conn.rollback()
    conn.autocommit = True
    with conn.cursor() as cur:
        cases = [("SELECT * FROM icu_predict.omop_load('no_such_schema')", "42704"),
                 ("SELECT * FROM icu_predict.omop_load('cdm', time_zone => 'Nowhere/Atlantis')", "22023")]
        cur.execute("CREATE SCHEMA half; CREATE TABLE half.person (person_id integer)")
        cases.append(("SELECT * FROM icu_predict.omop_load('half')", "42704"))
        omop.create_schema(cur, "v53_cdm")
        cur.execute(SMALL.format(s="v53_cdm").replace("'5.4', 756265", "'v5.3.1', 756265"))
        cases.append(("SELECT * FROM icu_predict.omop_load('v53_cdm')", "55000"))
        for sql, state in cases:
            with pytest.raises(psycopg2.Error) as e:
                cur.execute(sql)
            assert e.value.pgcode == state, (sql, e.value.pgerror)
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("SELECT * FROM icu_predict.omop_load('half')")
        assert "has no table" in e.value.pgerror and "visit_occurrence" in e.value.pgerror
        # check_version => false reads it anyway
        cur.execute("SELECT count(*) FROM icu_predict.omop_load('v53_cdm', check_version => false)")
        assert cur.fetchone()[0] > 0
    conn.autocommit = False


def test_location_map_shipped_rows_edited_are_dumped(small):
    conn, _ = small
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("UPDATE icu_predict.omop_location_map SET unit_kind = 'mc'"
                    " WHERE match_on = 'visit_concept_id' AND match_value = 9201 RETURNING builtin")
        assert cur.fetchone() == (False,)
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("INSERT INTO icu_predict.omop_location_map VALUES ('care_site_id', 99, 'icu', NULL, true)")
        assert e.value.pgcode == "42501"
    conn.rollback()


# ---------------------------------------------------------------------------
# MIMIC-III demo: direct loader against MIMIC -> OMOP -> adapter
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mimic_pair():
    direct, via = scratch_db.create(), scratch_db.create()
    try:
        c1, c2 = psycopg2.connect(dbname=direct), psycopg2.connect(dbname=via)
        mimic.load(c1, mimic.DEFAULT_DATA)
        conversion = omop.from_mimic(c2, mimic.DEFAULT_DATA, "cdm")
        report = omop.omop_load(c2, "cdm")
        c1.autocommit = c2.autocommit = True
        for c in (c1, c2):
            with c.cursor() as cur:
                cur.execute("SET TimeZone = 'UTC'")
        yield c1, c2, conversion, report
        c1.close()
        c2.close()
    finally:
        scratch_db.drop(direct)
        scratch_db.drop(via)


def _q(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_mimic_conversion_rows(mimic_pair):
    _, _, conv, rep = mimic_pair
    assert conv["rows"]["person"] == 100 and conv["rows"]["visit_occurrence"] == 129
    assert conv["rows"]["visit_detail"] == 524 - conv["transfers_not_stays"] == 395
    assert conv["rows"]["measurement"] == 61812
    assert not [r for r in rep if r["status"] == "rejected"]
    assert _count(rep, "visit_occurrence", "inserted") == 129
    assert _count(rep, "visit_detail", "inserted") == 395
    assert _count(rep, "measurement", "inserted") == 61812


def test_mimic_admissions_agree(mimic_pair):
    """Same admissions; the differences: ages over 89 and elective admissions."""
    c1, c2, _, _ = mimic_pair
    sql = ("SELECT admission_id, patient_id, admitted_at, discharged_at, age_years, sex, admission_source,"
           " died_in_hospital FROM icu_predict.admission ORDER BY 1")
    a, b = {r[0]: r for r in _q(c1, sql)}, {r[0]: r for r in _q(c2, sql)}
    assert set(a) == set(b) and len(a) == 129
    diff = Counter()
    for k in a:
        for i, name in enumerate(("admission_id", "patient_id", "admitted_at", "discharged_at", "age_years",
                                  "sex", "admission_source", "died_in_hospital")):
            if a[k][i] != b[k][i]:
                diff[(name, a[k][i], b[k][i])] += 1
    # MIMIC shifts the birth dates of patients over 89 by about 300 years: the
    # direct loader records 90, the CDM keeps the birth date and the adapter
    # records an age above 125 as unknown.  ELECTIVE has no OMOP visit concept
    # of its own (Inpatient Visit; the adapter knows emergency and transfer only).
    assert diff == Counter({("age_years", 90, None): 9, ("admission_source", "elective", "unknown"): 8})


def test_mimic_icu_episodes_identical(mimic_pair):
    c1, c2, _, _ = mimic_pair
    sql = "SELECT admission_id, episode, first_unit, last_unit, started_at, ended_at FROM icu_predict.icu_episode ORDER BY 1, 2"
    assert _q(c1, sql) == _q(c2, sql)
    assert len(_q(c1, sql)) == 136           # = ICUSTAYS rows of the demo
    sql = "SELECT admission_id, unit, unit_kind, started_at, ended_at FROM icu_predict.location_stay ORDER BY 1, 4"
    assert _q(c1, sql) == _q(c2, sql)


LAB_SQL = """
SELECT r.admission_id, r.resulted_at, {code} AS itemid, coalesce(r.value_text, '') AS value_text,
       s.feature, s.value, s.rejection
  FROM icu_predict.lab_result r JOIN icu_predict.lab_row_status s USING (lab_result_id)
  {join}"""


def _lab_rows(c1, c2):
    direct = _q(c1, LAB_SQL.format(code="r.local_code", join=""))
    via = _q(c2, LAB_SQL.format(
        code="m.measurement_source_value",
        join="JOIN icu_predict.omop_row k ON k.cdm_table = 'measurement' AND k.target_id = r.lab_result_id"
             " JOIN cdm.measurement m ON m.measurement_id = k.cdm_id"))
    return direct, via


def test_mimic_lab_rows_differences_explained(mimic_pair):
    """Row by row (admission, result time, item): the feature each side maps
    the row to, and the canonical value.  Both map an item's LOINC code through
    the catalogue (feature.loinc, other_loinc) and convert by UCUM; the direct
    loader also matches labels and codes the catalogue lacks (model/mimic.py
    FEATURE_MATCH, FACTORS).  Every difference falls in one of a few classes."""
    c1, c2, _, _ = mimic_pair
    direct, via = _lab_rows(c1, c2)
    assert len(direct) == len(via) == 61812
    d, v = {}, {}
    for rows, out in ((direct, d), (via, v)):
        for r in rows:
            out.setdefault((r[0], r[1], r[2]), []).append(r)
    assert d.keys() == v.keys()
    items = {r["itemid"]: r for r in csv.DictReader(open(mimic.DEFAULT_DATA / "D_LABITEMS.csv"))}
    catalogue = {}
    for name, loinc, other in _q(c2, "SELECT name, loinc, other_loinc FROM icu_predict.feature"):
        for code in [loinc] + list(other):
            if code:
                catalogue[code] = name
    why, values, same = Counter(), Counter(), 0
    for k in d:
        fd = sorted(str(r[4]) for r in d[k])
        fv = sorted(str(r[4]) for r in v[k])
        loinc = items[k[2]]["loinc_code"]
        if fd == fv:
            for rd, rv in zip(sorted(d[k], key=lambda r: (r[5] is None, r[5] or 0)),
                              sorted(v[k], key=lambda r: (r[5] is None, r[5] or 0))):
                if rd[5] is None and rv[5] is None:
                    continue
                same += 1
                if rd[5] is None:
                    values[f"used by the adapter only ({rd[4]}, item {k[2]}: {rd[6]} directly)"] += 1
                elif rv[5] is None:
                    values[f"used by the direct loader only ({rd[4]}, item {k[2]}: {rv[6]} by the adapter)"] += 1
                elif abs(rd[5] - rv[5]) > 1e-9 * max(1.0, abs(rd[5])):
                    rel = abs(rv[5] / rd[5] - 1)
                    values[f"{rd[4]}: rounded factor of the direct loader, relative difference "
                           f"{'< 1e-5' if rel < 1e-5 else '< 3e-4' if rel < 3e-4 else rel}"] += 1
            continue
        n = len(d[k])
        feature_d, feature_v = d[k][0][4], v[k][0][4]
        if feature_v is None:
            # mapped by label or by a LOINC code the catalogue does not hold (BUN 3094-0 -> urea)
            assert catalogue.get(loinc) is None, k
            why[f"direct only ({feature_d}: label or extra LOINC)"] += n
        elif feature_d is None:
            # a catalogue LOINC code (often an other_loinc) of an item the direct loader does not match
            assert catalogue[loinc] == feature_v, k
            why[f"adapter only ({feature_v}: catalogue LOINC)"] += n
        else:
            # D_LABITEMS gives item 51244 'Lymphocytes' (a percentage) the LOINC code of the absolute count
            assert catalogue[loinc] == feature_v and k[2] == "51244", k
            why[f"LOINC contradicts the label ({feature_d} by label, {feature_v} by LOINC)"] += n
    # the rows both map to the same feature: the same canonical value (both
    # convert by UCUM), except pH sent with the unit 'UNITS', which the direct
    # loader's lab_map takes with factor 1 and the adapter does not convert
    assert values == Counter({
        "used by the direct loader only (ph, item 50820: unit_not_convertible by the adapter)": 1215,
    }), values
    assert same > 30000
    # the catalogue's LOINC codes map alike both ways; the direct loader also
    # maps BUN (3094-0, urea nitrogen: not in the catalogue, a non-unit factor)
    # and D-dimer 50915 (no LOINC code) by label, and item 51244 by its unit
    assert why == Counter({
        "direct only (urea: label or extra LOINC)": 1704,
        "direct only (d_dimer: label or extra LOINC)": 5,
        "LOINC contradicts the label (lymphocytes_pct by label, lymphocytes by LOINC)": 395,
    }), why
    print(f"lab rows with the same feature both ways: {same}; value differences: {dict(values)};"
          f" feature differences: {dict(why)}")


# the features of the difference classes of test_mimic_lab_rows_differences_explained
DIFFERING = ["urea", "d_dimer", "lymphocytes_pct", "lymphocytes", "ph"]


def _flat(panel_json):
    """A panel's JSON as {path: value}, numbers as floats, other values as text."""
    out = {}

    def walk(prefix, x):
        if isinstance(x, dict):
            for k, y in x.items():
                walk(f"{prefix}.{k}", y)
        elif isinstance(x, list):
            for i, y in enumerate(x):
                walk(f"{prefix}[{i}]", y)
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            out[prefix] = float(x)
        else:
            out[prefix + "=" + str(x)] = 0.0
    walk("", json.loads(panel_json))
    return out


def test_mimic_panels_and_scores(mimic_pair):
    """Panels and the default model's ICU risk 24 hours after admission.

    Whole panels differ by the lab differences above.  Panels of the other
    features are equal for every admission, and so are the scores on them,
    except where the age differs (patients over 89)."""
    c1, c2, _, _ = mimic_pair
    sql = """SELECT a.admission_id, a.age_years, icu_predict.lab_panel_jsonb(p)::text,
                    icu_predict.lab_panel_jsonb(q)::text, icu_predict.risk(q, a.age_years, a.sex, 24, 'ward')
               FROM icu_predict.admission a,
                    LATERAL icu_predict.lab_panel_at(a.admission_id, a.admitted_at + interval '24 hours') p,
                    LATERAL (SELECT icu_predict.lab_panel(a.admission_id, c.feature, c.value, c.resulted_at,
                                                          a.admitted_at + interval '24 hours')
                               FROM icu_predict.lab_canonical c
                              WHERE c.admission_id = a.admission_id
                                AND c.resulted_at <= a.admitted_at + interval '24 hours'
                                AND c.feature <> ALL (%s)) AS r(q)
              ORDER BY 1"""
    with c1.cursor() as x:
        x.execute(sql, (DIFFERING,))
        s1 = x.fetchall()
    with c2.cursor() as x:
        x.execute(sql, (DIFFERING,))
        s2 = x.fetchall()
    assert [r[0] for r in s1] == [r[0] for r in s2] and len(s1) == 129
    kinds = Counter()
    for (k, age1, p1, q1, r1), (_, age2, p2, q2, r2) in zip(s1, s2):
        # the panel of the features mapped alike: equal up to the last bit of a
        # unit factor (albumin g/dL x 10 in lab_map against UCUM)
        assert _flat(q1) == pytest.approx(_flat(q2), rel=1e-12), k
        assert r1 is not None and r2 is not None, k
        kinds["whole panel differs"] += p1 != p2
        if age1 == age2:
            assert r1 == pytest.approx(r2, rel=1e-9), k
            kinds["same score"] += 1
        else:
            kinds["age differs"] += 1
            kinds["age differs, score differs"] += abs(r1 - r2) > 1e-12
    assert kinds["same score"] == 120 and kinds["age differs"] == 9
    print("admissions 24 h after admission:", dict(kinds))


# ---------------------------------------------------------------------------
# Eunomia Synthea27Nj (OHDSI, CDM v5.4)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def eunomia():
    name = scratch_db.create()
    try:
        conn = psycopg2.connect(dbname=name)
        files = {}
        with tarfile.open(EUNOMIA) as tar:
            for m in tar.getmembers():
                files[m.name[:-4].lower()] = io.StringIO(tar.extractfile(m).read().decode("utf-8"))
        src = {t: list(csv.DictReader(io.StringIO(f.getvalue()))) for t, f in files.items()}
        with conn, conn.cursor() as cur:
            omop.create_schema(cur, "eunomia")
            counts = omop.load_csv_files(cur, "eunomia", files)
        report = omop.omop_load(conn, "eunomia")
        yield conn, src, counts, report
        conn.close()
    finally:
        scratch_db.drop(name)


def test_eunomia_files_as_published(eunomia):
    conn, src, counts, _ = eunomia
    # the dataset's own CDM_SOURCE: Synthea (ETL-Synthea), CDM 5.4
    assert src["cdm_source"][0]["cdm_version"] == "5.4"
    assert src["cdm_source"][0]["cdm_etl_reference"] == "https://github.com/OHDSI/ETL-Synthea"
    assert {t: counts[t] for t in ("person", "visit_occurrence", "visit_detail", "measurement",
                                   "condition_occurrence", "death", "care_site")} == {
        "person": 28, "visit_occurrence": 1791, "visit_detail": 1791, "measurement": 10040,
        "condition_occurrence": 470, "death": 3, "care_site": 0}


def test_eunomia_every_row_counted(eunomia):
    conn, src, counts, rep = eunomia
    by = _by_table(rep)
    for t in ("person", "visit_occurrence", "visit_detail", "measurement", "condition_occurrence", "death"):
        assert by[t] == counts[t], (t, rep)
    # the only rows refused: measurements without any value (test_eunomia_measurements)
    assert {(r["cdm_table"], r["reason"][:8]) for r in rep if r["status"] == "rejected"} == {("measurement", "no value")}


def test_eunomia_visits(eunomia):
    conn, src, _, rep = eunomia
    kinds = Counter(r["visit_concept_id"] for r in src["visit_occurrence"])
    assert kinds == Counter({"9202": 1722, "9203": 56, "9201": 13})
    assert _count(rep, "visit_occurrence", "inserted") == 13 + 56
    assert _count(rep, "visit_occurrence", "skipped", "visit_concept_id 9202") == 1722
    # no care sites and no ICU: every visit detail of an admission is a ward or ED stay
    assert _q(conn, "SELECT unit_kind, count(*) FROM icu_predict.location_stay GROUP BY 1 ORDER BY 1") == [
        ("ed", 56), ("ward", 13)]
    assert _q(conn, "SELECT count(*) FROM icu_predict.icu_episode") == [(0,)]
    persons = {r["person_id"] for r in src["visit_occurrence"] if r["visit_concept_id"] in ("9201", "9203")}
    assert _q(conn, "SELECT count(DISTINCT patient_id) FROM icu_predict.admission") == [(len(persons),)]
    sex = Counter({"8507": "male", "8532": "female"}[r["gender_concept_id"]] for r in src["person"]
                  if r["person_id"] in persons)
    assert dict(_q(conn, "SELECT sex, count(DISTINCT patient_id) FROM icu_predict.admission GROUP BY 1")) == sex


def test_eunomia_measurements(eunomia):
    conn, src, _, rep = eunomia
    admitted = {r["visit_occurrence_id"] for r in src["visit_occurrence"] if r["visit_concept_id"] in ("9201", "9203")}
    expect_in = sum(1 for r in src["measurement"] if r["visit_occurrence_id"] in admitted)
    measured = [r for r in src["measurement"] if r["visit_occurrence_id"] in admitted]
    no_value = sum(1 for r in measured if not r["value_as_number"] and r["value_as_concept_id"] in ("", "0")
                   and not r["value_source_value"])
    assert _count(rep, "measurement", "inserted") == expect_in - no_value
    assert _count(rep, "measurement", "rejected") == no_value
    assert _count(rep, "measurement", "skipped") == len(src["measurement"]) - expect_in
    lab = {r["status"][4:]: r["n_rows"] for r in rep if r["status"].startswith("lab ")}
    assert sum(lab.values()) == expect_in - no_value
    assert lab.get("used", 0) > 0
    # the database's own view counts the same rows
    assert dict(_q(conn, "SELECT status, sum(n_rows)::bigint FROM icu_predict.lab_load_quality GROUP BY 1")) == lab


def test_eunomia_conditions_and_deaths(eunomia):
    conn, src, _, rep = eunomia
    # Synthea codes conditions in SNOMED (source and standard): no ICD-10 code
    assert _count(rep, "condition_occurrence", "skipped", "no ICD-10 code") == 470
    assert _count(rep, "death", "used") + _count(rep, "death", "skipped") == 3
    died = _q(conn, "SELECT count(*) FROM icu_predict.admission WHERE died_in_hospital")[0][0]
    assert died == _count(rep, "death", "used")
