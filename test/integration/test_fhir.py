"""FHIR R4 bundles through icu_predict.fhir_ingest().

test/data/fhir/ward-bundle.json is hand-made: 29 entries, good and bad, each
bad one for one reason.  test/data/fhir/hl7-r4/ holds HL7's own R4 example
resources (CC0; see test/data/fhir/README.md), loaded through the same
function with the outcomes read off the resources themselves.
"""
import collections
import copy
import json
import os
import pathlib

import psycopg2
import pytest

import scratch_db

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "fhir"
WARD = json.loads((DATA / "ward-bundle.json").read_text(encoding="utf-8"))
REF = "2020-04-02 18:00+02"

# (resource type, id) -> SQLSTATE of the entries of ward-bundle.json that must fail
WARD_ERRORS = {
    ("Patient", "p3"): "22023",        # gender "M"
    ("Encounter", "e4"): "23503",      # subject Patient/nobody
    ("Encounter", "e5"): "23P01",      # its two location stays overlap
    ("Observation", "o6"): "23503",    # encounter Encounter/e99
    ("Observation", "o9"): "22P02",    # valueQuantity.value "48" (a string)
    ("Observation", "o10"): "22P02",   # effectiveDateTime "2020-04-01 09:00"
    ("Condition", "c4"): "23514",      # ICD-10 code "XYZ"
    ("Observation", "o14"): "23503",   # its encounter e5 failed
}
WARD_SKIPPED = {
    ("Encounter", "e3"): "class AMB is not an inpatient class",
    ("Observation", "o5"): "status entered-in-error",
    ("Observation", "o8"): "category social-history is not read",
    ("Condition", "c3"): "no ICD-10 coding",
    ("Practitioner", "dr1"): "resource type Practitioner is not read",
    ("Observation", "o12"): "its encounter Encounter/e3 is no admission",
}

# the canonical tables FHIR writes, each as one checksum over its rows
CHECKSUM = """
SELECT (SELECT count(*) FROM icu_predict.admission),
       (SELECT md5(string_agg(a::text, '|' ORDER BY admission_id)) FROM icu_predict.admission a),
       (SELECT count(*) FROM icu_predict.location_stay),
       (SELECT md5(string_agg(s::text, '|' ORDER BY stay_id)) FROM icu_predict.location_stay s),
       (SELECT count(*) FROM icu_predict.lab_result),
       (SELECT md5(string_agg(l::text, '|' ORDER BY lab_result_id)) FROM icu_predict.lab_result l),
       (SELECT count(*) FROM icu_predict.diagnosis),
       (SELECT md5(string_agg(d::text, '|' ORDER BY diagnosis_id)) FROM icu_predict.diagnosis d)
"""


def ingest(cur, bundle):
    cur.execute("SELECT entry, resource_type, resource_id, version_id, outcome, rows_written, sqlstate, reason"
                " FROM icu_predict.fhir_ingest(%s::jsonb)", (json.dumps(bundle),))
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def by_key(report):
    return {(r["resource_type"], r["resource_id"]): r for r in report}


def one(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchone()[0]


def collection(resources):
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources]}


def ward_resource(rtype, rid):
    for e in WARD["entry"]:
        if e["resource"]["resourceType"] == rtype and e["resource"]["id"] == rid:
            return copy.deepcopy(e["resource"])
    raise KeyError((rtype, rid))


@pytest.fixture(scope="module")
def ward(dbname):
    """The module's database with ward-bundle.json ingested once; the report."""
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO icu_predict.fhir_location_kind (location, unit_kind, note)"
                    " VALUES ('SEH', 'ed', 'Spoedeisende hulp')")
        report = ingest(cur, WARD)
    conn.close()
    return report


@pytest.fixture
def fresh():
    """A database of its own (for tests that change what was loaded)."""
    name = scratch_db.create()
    conn = psycopg2.connect(dbname=name)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO icu_predict.fhir_location_kind (location, unit_kind) VALUES ('SEH', 'ed')")
        ingest(cur, WARD)
    yield conn
    conn.close()
    scratch_db.drop(name)


def test_counts_loaded_and_rejected_with_reasons(ward):
    assert len(ward) == len(WARD["entry"]) == 29
    assert [r["entry"] for r in ward] == list(range(1, 30))
    assert collections.Counter(r["outcome"] for r in ward) == {"loaded": 15, "skipped": 6, "error": 8}
    got = by_key(ward)
    assert {k: r["sqlstate"] for k, r in got.items() if r["outcome"] == "error"} == WARD_ERRORS
    for key, why in WARD_SKIPPED.items():
        assert got[key]["outcome"] == "skipped" and why in got[key]["reason"], got[key]
        assert got[key]["sqlstate"] is None
    assert "subject Patient/nobody is not loaded" in got[("Encounter", "e4")]["reason"]
    assert "encounter Encounter/e5 is not loaded" in got[("Observation", "o14")]["reason"]
    assert "location_stay_no_overlap" in got[("Encounter", "e5")]["reason"]
    assert "diagnosis_icd10_code_format" in got[("Condition", "c4")]["reason"]
    assert got[("Observation", "o9")]["reason"] == 'valueQuantity.value "48" is no number'
    # rows written: the admission and its 3 stays; the blood-pressure panel's 2 components
    assert got[("Encounter", "e1")]["rows_written"] == 4
    assert got[("Observation", "o3")]["rows_written"] == 2
    assert all(r["rows_written"] == 0 for r in ward if r["outcome"] != "loaded")


def test_the_report_is_kept(conn, ward):
    with conn.cursor() as cur:
        cur.execute("SELECT outcome, count(*) FROM icu_predict.fhir_ingest_log"
                    " WHERE ingest_id = (SELECT min(ingest_id) FROM icu_predict.fhir_ingest_log)"
                    " GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [("error", 8), ("loaded", 15), ("skipped", 6)]


def test_canonical_rows_and_nothing_half_loaded(conn, ward):
    with conn.cursor() as cur:
        cur.execute("SELECT patient_id, age_years, sex, admission_source, discharged_at IS NULL"
                    " FROM icu_predict.admission ORDER BY patient_id")
        assert cur.fetchall() == [("p1", 66, "male", "emergency", True), ("p2", 59, "female", "unknown", True)]
        cur.execute("SELECT a.patient_id, s.unit, s.unit_kind, s.ended_at IS NULL FROM icu_predict.location_stay s"
                    " JOIN icu_predict.admission a USING (admission_id) ORDER BY a.patient_id, s.started_at")
        assert cur.fetchall() == [("p1", "SEH", "ed", False), ("p1", "Longafdeling 4N", "ward", False),
                                  ("p1", "IC-1", "icu", True), ("p2", "Longafdeling 4N", "ward", True)]
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result") == 8
        cur.execute("SELECT icd10_code FROM icu_predict.diagnosis ORDER BY 1")
        assert cur.fetchall() == [("E11.9",), ("J12.8",)]
        # e5 failed on its second stay: neither its admission nor its first stay is there
        assert one(cur, "SELECT count(*) FROM icu_predict.admission WHERE admitted_at < '2020-03-10'") == 0
        assert one(cur, "SELECT count(*) FROM icu_predict.location_stay WHERE started_at < '2020-03-10'") == 0
        # no errored resource is registered; every loaded or skipped one is
        cur.execute("SELECT resource_type, resource_id FROM icu_predict.fhir_resource")
        registered = set(cur.fetchall())
        assert not registered & set(WARD_ERRORS)
        assert registered == {k for k, r in by_key(ward).items()
                              if r["outcome"] in ("loaded", "skipped") and k[0] != "Practitioner"}
        # the ICD-10 codes give the comorbidity covariates
        cur.execute("SELECT (icu_predict.admission_covariates(admission_id)).comorbidities"
                    " FROM icu_predict.admission WHERE patient_id = 'p2'")
        # E11.9: Charlson's and Elixhauser's uncomplicated diabetes
        assert cur.fetchone()[0] == ["diabetes", "elixhauser_diabetes"]


def test_labs_are_diagnosed_like_any_load(conn, ward):
    with conn.cursor() as cur:
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_map") == 0       # LOINC alone maps
        cur.execute("SELECT local_code, feature, value, censored, rejection FROM icu_predict.lab_row_status"
                    " ORDER BY local_code")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
        assert rows["1988-5"] == ("crp", 48.0, None, None)
        assert rows["14682-9"][0] == "creatinine" and rows["14682-9"][2] == "<"   # comparator < -> censored
        assert abs(rows["14682-9"][1] - 20 / 88.4) < 1e-3                        # umol/L -> mg/dL
        assert rows["8480-6"] == ("sbp", 118.0, None, None)
        assert rows["8462-4"] == ("dbp", 76.0, None, None)
        assert rows["59408-5"] == ("spo2", 94.0, None, None)
        assert rows["2524-7"] == ("lactate", 3.1, None, None)
        assert rows["99999-9"][3] == "code_unknown"
        assert rows["2532-0"][0] == "ldh" and rows["2532-0"][3] is not None       # the text HEMOLYZED: rejected
        # every FHIR lab row is counted once in lab_load_quality
        assert one(cur, "SELECT sum(n_rows) FROM icu_predict.lab_load_quality") == 8
        cur.execute("SELECT sampled_at = '2020-04-01 09:10+02', resulted_at = '2020-04-01 10:02+02'"
                    " FROM icu_predict.lab_result WHERE local_code = '1988-5'")
        assert cur.fetchone() == (True, True)
        cur.execute("SELECT sampled_at IS NULL, resulted_at = '2020-04-01 09:10+02'"
                    " FROM icu_predict.lab_result WHERE local_code = '8480-6'")
        assert cur.fetchone() == (False, True)                                   # no issued: resulted = effective


def test_reingest_is_idempotent(conn, ward):
    with conn.cursor() as cur:
        cur.execute(CHECKSUM)
        before = cur.fetchone()
        cur.execute("SELECT count(*), max(ingested_at) FROM icu_predict.fhir_resource")
        registered = cur.fetchone()
        again = ingest(cur, WARD)
        assert collections.Counter(r["outcome"] for r in again) == {"unchanged": 20, "skipped": 1, "error": 8}
        assert {(r["resource_type"], r["resource_id"]): r["sqlstate"] for r in again
                if r["outcome"] == "error"} == WARD_ERRORS
        assert all(r["rows_written"] == 0 for r in again)
        cur.execute(CHECKSUM)
        assert cur.fetchone() == before
        cur.execute("SELECT count(*), max(ingested_at) FROM icu_predict.fhir_resource")
        assert cur.fetchone() == registered


def test_references_resolve_against_earlier_ingests(conn, ward):
    with conn.cursor() as cur:
        obs = ward_resource("Observation", "o1")
        obs.update(id="later-1", encounter={"reference": "https://ehr.example.org/fhir/Encounter/e1/_history/1"},
                   valueQuantity={"value": 52, "unit": "mg/L", "system": "http://unitsofmeasure.org", "code": "mg/L"})
        orphan = ward_resource("Observation", "o1")
        orphan.update(id="later-2", subject={"reference": "Patient/p9"})
        del orphan["encounter"]
        report = by_key(ingest(cur, collection([obs, orphan])))
        assert report[("Observation", "later-1")]["outcome"] == "loaded"
        assert report[("Observation", "later-2")]["outcome"] == "error"
        assert report[("Observation", "later-2")]["sqlstate"] == "23503"
        cur.execute("SELECT a.patient_id FROM icu_predict.lab_result l JOIN icu_predict.admission a USING (admission_id)"
                    " WHERE l.value = 52")
        assert cur.fetchall() == [("p1",)]


def test_newer_version_replaces_older_does_not(fresh):
    with fresh.cursor() as cur:
        cur.execute("SELECT lab_result_ids[1] FROM icu_predict.fhir_resource WHERE resource_id = 'o1'")
        first_row = cur.fetchone()[0]
        n_labs = one(cur, "SELECT count(*) FROM icu_predict.lab_result")
        v2 = ward_resource("Observation", "o1")
        v2["meta"] = {"versionId": "2"}
        v2["valueQuantity"]["value"] = 60
        assert ingest(cur, collection([v2]))[0]["outcome"] == "updated"
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result") == n_labs
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result WHERE lab_result_id = %s", (first_row,)) == 0
        assert one(cur, "SELECT value FROM icu_predict.lab_result WHERE local_code = '1988-5'") == 60
        v1 = ward_resource("Observation", "o1")
        v1["meta"] = {"versionId": "1"}
        r = ingest(cur, collection([v1]))[0]
        assert r["outcome"] == "stale" and "older than version 2" in r["reason"]
        assert one(cur, "SELECT value FROM icu_predict.lab_result WHERE local_code = '1988-5'") == 60
        assert ingest(cur, collection([v2]))[0]["outcome"] == "unchanged"

        # a newer Patient: the admissions of its encounters read it again
        p2 = ward_resource("Patient", "p2")
        p2["meta"] = {"versionId": "2"}
        p2["birthDate"] = "1950-01-20"
        assert ingest(cur, collection([p2]))[0]["outcome"] == "updated"
        assert one(cur, "SELECT age_years FROM icu_predict.admission WHERE patient_id = 'p2'") == 70

        # a newer Encounter: discharged; its stays are replaced, its labs stay with it
        labs_p1 = one(cur, "SELECT count(*) FROM icu_predict.lab_result l JOIN icu_predict.admission a"
                           " USING (admission_id) WHERE a.patient_id = 'p1'")
        e1 = ward_resource("Encounter", "e1")
        e1["meta"] = {"versionId": "2"}
        e1["status"] = "finished"
        e1["period"]["end"] = "2020-04-05T10:00:00+02:00"
        e1["hospitalization"]["dischargeDisposition"] = {"coding": [{"code": "home"}]}
        assert ingest(cur, collection([e1]))[0]["outcome"] == "updated"
        cur.execute("SELECT discharged_at = '2020-04-05 10:00+02', died_in_hospital FROM icu_predict.admission"
                    " WHERE patient_id = 'p1'")
        assert cur.fetchone() == (True, False)
        cur.execute("SELECT unit, ended_at = '2020-04-05 10:00+02' FROM icu_predict.location_stay s"
                    " JOIN icu_predict.admission a USING (admission_id) WHERE a.patient_id = 'p1'"
                    " ORDER BY s.started_at DESC LIMIT 1")
        assert cur.fetchone() == ("IC-1", True)
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result l JOIN icu_predict.admission a"
                        " USING (admission_id) WHERE a.patient_id = 'p1'") == labs_p1

        # entered-in-error in a newer version removes what the older one loaded
        gone = ward_resource("Observation", "o7")
        gone["meta"] = {"versionId": "2"}
        gone["status"] = "entered-in-error"
        r = ingest(cur, collection([gone]))[0]
        assert r["outcome"] == "skipped" and r["rows_written"] == 1 and "deleted" in r["reason"]
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result WHERE local_code = '2524-7'") == 0

        # a newer Encounter entered-in-error deletes its admission; its Observations and
        # Conditions are forgotten, so they load again once the encounter is back
        e2 = ward_resource("Encounter", "e2")
        e2["meta"] = {"versionId": "2"}
        e2["status"] = "entered-in-error"
        r = ingest(cur, collection([e2]))[0]
        assert r["outcome"] == "skipped" and "2 Observation/Condition resource(s)" in r["reason"], r
        assert one(cur, "SELECT count(*) FROM icu_predict.admission WHERE patient_id = 'p2'") == 0
        assert one(cur, "SELECT count(*) FROM icu_predict.fhir_resource WHERE resource_id IN ('o13', 'c2')") == 0
        e2["meta"] = {"versionId": "3"}
        e2["status"] = "in-progress"
        e2["subject"] = {"reference": "Patient/p2"}     # the urn:uuid of the first bundle is of that bundle only
        o13 = ward_resource("Observation", "o13")
        o13.update(subject={"reference": "Patient/p2"}, encounter={"reference": "Encounter/e2"})
        again = by_key(ingest(cur, collection([e2, o13, ward_resource("Condition", "c2")])))
        assert [again[k]["outcome"] for k in (("Encounter", "e2"), ("Observation", "o13"), ("Condition", "c2"))] \
            == ["updated", "loaded", "loaded"]
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result l JOIN icu_predict.admission a"
                        " USING (admission_id) WHERE a.patient_id = 'p2'") == 1


def test_refresh_shows_the_fhir_patients(fresh):
    with fresh.cursor() as cur:
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("CALL icu_predict.refresh()")
        cur.execute("SELECT patient_id, ward, unit_kind, patient_state, age_years FROM icu_predict.patient_status"
                    " WHERE is_today ORDER BY patient_id")
        assert cur.fetchall() == [("p1", "IC-1", "icu", "in_icu", 66),
                                  ("p2", "Longafdeling 4N", "ward", "pre_icu", 59)]
        cur.execute("SELECT count(*) FROM icu_predict.patient_status WHERE is_today AND risk IS NOT NULL"
                    " AND patient_id = 'p2'")
        assert cur.fetchone()[0] == 1


@pytest.mark.parametrize("arg, fragment", [
    ("[]", "no JSON object but array"),
    ('{"resourceType": "Patient", "id": "x"}', "resourceType is 'Patient', not Bundle"),
    ('{"resourceType": "Bundle", "type": "document", "entry": []}', "Bundle.type 'document' is not read"),
    ('{"resourceType": "Bundle", "entry": []}', "Bundle.type missing is not read"),
    ('{"resourceType": "Bundle", "type": "batch", "entry": {}}', "Bundle.entry is no array"),
])
def test_not_a_bundle_is_an_error(conn, arg, fragment):
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.Error) as err:
            cur.execute("SELECT * FROM icu_predict.fhir_ingest(%s::jsonb)", (arg,))
        assert err.value.pgcode == "22023"
        assert fragment in err.value.pgerror


def test_hl7_r4_examples(fresh):
    """HL7's R4 examples, as published, in one collection bundle.

    What reading them says: patients example (born 1974-12-25), f001 and f201
    (born 1960-03-13) load.  Encounter emerg is inpatient (IMP, from
    2017-02-01T07:15+10:00) with 5 locations of which one is 'reserved' (the
    patient on leave): 4 stays.  Encounter f203 is inpatient from 2013-03-11
    to 2013-03-20 without locations.  Encounter example is IMP without a
    period (error); f001, f201, f202 are AMB and home is HH (skipped).
    Observations f202 (entered-in-error) and blood-pressure-cancel
    (cancelled) are skipped; the others have no encounter and no inpatient
    stay of their patient covers their time (error 23503).  Both Conditions
    are SNOMED-coded only (skipped).
    """
    hl7 = DATA / "hl7-r4"
    resources = [json.loads(p.read_text(encoding="utf-8"))
                 for p in sorted(hl7.glob("*.json")) if p.name != "bundle-example.json"]
    assert len(resources) == 19
    with fresh.cursor() as cur:
        cur.execute("DELETE FROM icu_predict.admission")
        cur.execute("DELETE FROM icu_predict.fhir_resource")
        report = ingest(cur, collection(resources))
        got = {(r["resource_type"], r["resource_id"]): (r["outcome"], r["sqlstate"]) for r in report}
        assert got == {
            ("Patient", "example"): ("loaded", None), ("Patient", "f001"): ("loaded", None),
            ("Patient", "f201"): ("loaded", None),
            ("Encounter", "emerg"): ("loaded", None), ("Encounter", "f203"): ("loaded", None),
            ("Encounter", "example"): ("error", "22023"),
            ("Encounter", "f001"): ("skipped", None), ("Encounter", "f201"): ("skipped", None),
            ("Encounter", "f202"): ("skipped", None), ("Encounter", "home"): ("skipped", None),
            ("Observation", "f202"): ("skipped", None), ("Observation", "blood-pressure-cancel"): ("skipped", None),
            ("Observation", "f001"): ("error", "23503"), ("Observation", "f203"): ("error", "23503"),
            ("Observation", "f204"): ("error", "23503"), ("Observation", "f205"): ("error", "23503"),
            ("Observation", "heart-rate"): ("error", "23503"),
            ("Condition", "f201"): ("skipped", None), ("Condition", "f203"): ("skipped", None),
        }
        cur.execute("SELECT patient_id, admitted_at = '2017-02-01T07:15:00+10:00', discharged_at, age_years, sex,"
                    " admission_source FROM icu_predict.admission ORDER BY patient_id")
        rows = cur.fetchall()
        assert rows[0] == ("example", True, None, 42, "male", "emergency")
        assert rows[1][0] == "f201" and rows[1][3:] == (52, "male", "unknown")
        cur.execute("SELECT unit, count(*) FROM icu_predict.location_stay GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == [("Emergency", 1), ("Emergency Waiting Room", 1), ("Ward 1, Room 42, Bed 1", 2)]
        assert one(cur, "SELECT count(*) FROM icu_predict.lab_result") == 0

        # HL7's searchset example (a MedicationRequest and its Medication): read, nothing to load
        searchset = json.loads((hl7 / "bundle-example.json").read_text(encoding="utf-8"))
        assert [(r["resource_type"], r["outcome"]) for r in ingest(cur, searchset)] == \
            [("MedicationRequest", "skipped"), ("Medication", "skipped")]
