"""OMOP CDM v5.4 on the server: create a CDM schema, fill it from CSV files, and
convert the MIMIC-III Clinical Database Demo (v1.4) into it.

Contains information from the MIMIC-III Clinical Database Demo (v1.4), made
available under the ODbL (when converting the demo).

Usage (from the repository root):

    python3 -m model omop-from-mimic [--data DIR] [--schema cdm] [--replace]
                                     [--load] [--dsn DSN]

writes the demo into the CDM schema (created from the published v5.4 DDL,
test/data/omop/cdm54_ddl.sql, when it does not exist); with --load it then
calls ``icu_predict.omop_load(schema)`` and prints its report.  The adapter
itself is SQL (extension/sql/60_omop.sql); docs/bring-your-own-data.md has the
mapping both ways.

The conversion (MIMIC-III -> CDM):

* PATIENTS   -> person (person_id = subject_id; date of birth as recorded,
                also the shifted one of patients over 89) and death (the
                admission's deathtime, else dod)
* ADMISSIONS -> visit_occurrence (visit_occurrence_id = hadm_id; EMERGENCY
                and URGENT: 262 Emergency Room and Inpatient Visit, else 9201
                Inpatient Visit; hospital_expire_flag 1: discharged_to
                4216643 Patient died)
* TRANSFERS  -> care_site (one per care unit or ward; ICU units have place of
                service 32037 Intensive Care, wards 8717 Inpatient Hospital)
                and visit_detail (discharge events are no stays)
* LABEVENTS  -> measurement (the item's LOINC code from D_LABITEMS as the
                concept, else concept 0 with the itemid as source value; the
                unit as a UCUM concept where one is known, else only as
                unit_source_value; censored text such as '<0.1' as operator
                and bound)

Concepts: the standard ids of the visit, gender, operator, place-of-service
and type concepts used; LOINC and UCUM concepts from the vocabulary subset
test/data/omop/vocabulary.csv (rows of OHDSI's vocabulary as published in the
Eunomia Synthea27Nj dataset); codes it lacks get local concept ids from
2,000,000,001 on (OMOP reserves ids above 2,000,000,000 for local concepts).
The adapter reads LOINC and UCUM concepts by vocabulary and code, not by id.
"""
import csv
import datetime as dt
import io
import re
import sys
from pathlib import Path

from . import options
from .errors import LoadError, UserError
from .mimic import ATTRIBUTION, CENSORED_RE, DEFAULT_DATA, NON_ICU_CAREUNITS, NUMBER_RE

REPO_ROOT = Path(__file__).resolve().parents[1]
DDL = REPO_ROOT / "test" / "data" / "omop" / "cdm54_ddl.sql"
VOCABULARY = REPO_ROOT / "test" / "data" / "omop" / "vocabulary.csv"
CDM_TABLES = ("person", "visit_occurrence", "visit_detail", "condition_occurrence", "measurement",
              "death", "care_site", "cdm_source", "concept")

LOCAL_CONCEPT_FROM = 2_000_000_001
EHR = 32817                      # Type Concept: EHR
# (concept_id, name, domain, vocabulary, class, code) of the standard concepts used.
# Where the vocabulary's concept_code is not asserted here, the code column
# holds the concept id; the adapter reads these concepts by id.
STANDARD = [
    (8507, "MALE", "Gender", "Gender", "Gender", "M"),
    (8532, "FEMALE", "Gender", "Gender", "Gender", "F"),
    (9201, "Inpatient Visit", "Visit", "Visit", "Visit", "IP"),
    (262, "Emergency Room and Inpatient Visit", "Visit", "Visit", "Visit", "ERIP"),
    (32037, "Intensive Care", "Visit", "Visit", "Visit", "32037"),
    (8717, "Inpatient Hospital", "Visit", "CMS Place of Service", "Visit", "21"),
    (8870, "Emergency Room - Hospital", "Visit", "CMS Place of Service", "Visit", "23"),
    (4216643, "Patient died", "Observation", "SNOMED", "Clinical Finding", "4216643"),
    (EHR, "EHR", "Type Concept", "Type Concept", "Type Concept", "32817"),
    (756265, "OMOP CDM Version 5.4.0", "Metadata", "CDM", "CDM", "756265"),
    (4171756, "<", "Meas Value Operator", "SNOMED", "Qualifier Value", "4171756"),
    (4171754, "<=", "Meas Value Operator", "SNOMED", "Qualifier Value", "4171754"),
    (4172704, ">", "Meas Value Operator", "SNOMED", "Qualifier Value", "4172704"),
    (4171755, ">=", "Meas Value Operator", "SNOMED", "Qualifier Value", "4171755"),
]
GENDER = {"M": 8507, "F": 8532}
OPERATOR = {"<": 4171756, "<=": 4171754, ">": 4172704, ">=": 4171755,
            "less than": 4171756, "greater than": 4172704}
ADMITTED_FROM = {"EMERGENCY ROOM ADMIT": 8870, "TRANSFER FROM HOSP/EXTRAM": 8717}
# MIMIC-III unit spellings -> UCUM code (case-insensitive); others have no UCUM concept
UCUM = {"mg/dl": "mg/dL", "meq/l": "meq/L", "%": "%", "k/ul": "10*3/uL", "mm hg": "mm[Hg]",
        "iu/l": "U/L", "sec": "s", "seconds": "s", "g/dl": "g/dL", "pg": "pg", "fl": "fL",
        "m/ul": "10*6/uL", "mmol/l": "mmol/L", "ng/ml": "ng/mL", "ug/ml": "ug/mL", "ug/dl": "ug/dL",
        "#/ul": "/uL", "mosm/kg": "mosm/kg", "umol/l": "umol/L", "pg/ml": "pg/mL", "l/min": "L/min",
        "ng/dl": "ng/dL", "miu/ml": "m[IU]/mL", "uiu/ml": "u[IU]/mL", "mg/l": "mg/L", "ml": "mL",
        "mm/hr": "mm/h", "u/ml": "U/mL"}
VALUE_LEN = 50                   # measurement.value_source_value is varchar(50)


def _copy(cur, schema, table, header, rows):
    """COPY rows (sequences, None = NULL) into schema.table (columns header)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(["\\N" if v is None else v for v in r])
    buf.seek(0)
    cols = ", ".join(header)
    cur.copy_expert(f'COPY "{schema}".{table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL \'\\N\')', buf)


def create_schema(cur, schema, ddl=DDL, replace=False):
    """Create the CDM schema with the published v5.4 DDL (the tables the adapter reads)."""
    if replace:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if cur.fetchone():
        raise LoadError(f'schema "{schema}" exists already (use --replace to drop and re-create it)')
    cur.execute(f'CREATE SCHEMA "{schema}"')
    cur.execute(Path(ddl).read_text().replace("@cdmDatabaseSchema", f'"{schema}"'))


def load_csv_files(cur, schema, files):
    """COPY CDM tables from CSV files with a header row: {table: path or file object}.

    Empty fields are NULL.  Returns {table: rows}."""
    counts = {}
    for table, src in files.items():
        f = open(src, newline="") if isinstance(src, (str, Path)) else src
        try:
            header = f.readline().strip()
            cols = [c.strip().lower() for c in header.split(",")]
            if not all(re.fullmatch(r"[a-z_][a-z0-9_]*", c) for c in cols):
                raise LoadError(f"{table}: unexpected header {header!r}")
            cur.copy_expert(f'COPY "{schema}".{table} ({", ".join(cols)}) FROM STDIN WITH (FORMAT csv)', f)
            counts[table] = cur.rowcount
        finally:
            if f is not src:
                f.close()
    return counts


def _rows(data_dir, name):
    with open(Path(data_dir) / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


def _ts(text):
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S") if text else None


class _Vocabulary:
    """The concept rows the conversion writes: standard ones, the published
    subset for LOINC and UCUM codes, local ids for the rest."""

    def __init__(self, path=VOCABULARY):
        self.rows = {}
        self.by_code = {}
        for cid, name, domain, vocab, cls, code in STANDARD:
            self._add(cid, name, domain, vocab, cls, "S", code)
        self.published = {}
        if path and Path(path).is_file():
            with open(path, newline="") as f:
                for r in csv.DictReader(f):
                    self.published[(r["vocabulary_id"], r["concept_code"])] = r
        self.next_local = LOCAL_CONCEPT_FROM
        self.local = 0

    def _add(self, cid, name, domain, vocab, cls, standard, code):
        self.rows[cid] = (cid, name[:255], domain, vocab, cls, standard, code, "1970-01-01", "2099-12-31", None)
        self.by_code[(vocab, code)] = cid
        return cid

    def concept(self, vocab, code, name, domain, cls):
        if (vocab, code) in self.by_code:
            return self.by_code[(vocab, code)]
        p = self.published.get((vocab, code))
        if p:
            return self._add(int(p["concept_id"]), p["concept_name"], p["domain_id"], vocab,
                             p["concept_class_id"], p["standard_concept"] or None, code)
        cid = self.next_local
        self.next_local += 1
        self.local += 1
        return self._add(cid, name, domain, vocab, cls, None, code)


def from_mimic(conn, data_dir=DEFAULT_DATA, schema="cdm", replace=False, vocabulary=VOCABULARY, commit=True):
    """Write the MIMIC-III demo into a new CDM v5.4 schema; returns a report dict."""
    data_dir = Path(data_dir)
    for name in ("PATIENTS", "ADMISSIONS", "TRANSFERS", "D_LABITEMS", "LABEVENTS"):
        if not (data_dir / f"{name}.csv").is_file():
            raise LoadError(f"{data_dir / (name + '.csv')} not found (use --data DIR)")
    voc = _Vocabulary(vocabulary)
    patients = _rows(data_dir, "PATIENTS")
    admissions = _rows(data_dir, "ADMISSIONS")
    transfers = _rows(data_dir, "TRANSFERS")
    items = {r["itemid"]: r for r in _rows(data_dir, "D_LABITEMS")}
    notes = {}

    person = []
    for p in patients:
        dob = _ts(p["dob"])
        person.append((int(p["subject_id"]), GENDER.get(p["gender"], 0), dob.year, dob.month, dob.day,
                       dob, 0, 0, p["subject_id"], p["gender"]))
    death_at = {}
    for a in admissions:
        if a["hospital_expire_flag"] == "1" and a["deathtime"]:
            death_at[a["subject_id"]] = _ts(a["deathtime"])
    death = []
    for p in patients:
        when = death_at.get(p["subject_id"]) or _ts(p["dod"])
        if when:
            death.append((int(p["subject_id"]), when.date(), when, EHR))

    visit = []
    for a in admissions:
        start, end = _ts(a["admittime"]), _ts(a["dischtime"])
        concept = 262 if a["admission_type"] in ("EMERGENCY", "URGENT") else 9201
        died = a["hospital_expire_flag"] == "1"
        visit.append((int(a["hadm_id"]), int(a["subject_id"]), concept, start.date(), start, end.date(), end, EHR,
                      a["hadm_id"], ADMITTED_FROM.get(a["admission_location"], 0), a["admission_location"],
                      4216643 if died else 0, a["discharge_location"]))

    sites, detail, skipped_discharge = {}, [], 0
    for t in transfers:
        if t["eventtype"] == "discharge":
            skipped_discharge += 1
            continue
        unit = t["curr_careunit"] or (f"ward {t['curr_wardid']}" if t["curr_wardid"] else "")
        icu = bool(t["curr_careunit"]) and t["curr_careunit"] not in NON_ICU_CAREUNITS
        if unit not in sites:
            sites[unit] = (len(sites) + 1, unit, 32037 if icu else 8717, unit, "ICU" if icu else "ward")
        start, end = _ts(t["intime"]), _ts(t["outtime"])
        detail.append((int(t["row_id"]), int(t["subject_id"]), 32037 if icu else 9201, start.date(), start,
                       (end or start).date(), end, EHR, sites[unit][0], t["row_id"], int(t["hadm_id"])))

    meas, censored, text_only, truncated = [], 0, 0, 0
    num_re, cen_re = re.compile(NUMBER_RE), re.compile(CENSORED_RE, re.I)
    with open(data_dir / "LABEVENTS.csv", newline="") as f:
        for i, r in enumerate(csv.DictReader(f), 1):
            item = items.get(r["itemid"], {})
            loinc = (item.get("loinc_code") or "").strip()
            concept = voc.concept("LOINC", loinc, item.get("label", loinc), "Measurement", "Lab Test") if loinc else 0
            value = r["value"]
            op, number = None, None
            if num_re.match(value):
                number = value.strip()
            else:
                m = cen_re.match(value)
                if m:
                    op, number = OPERATOR[m.group(1).lower()], m.group(2)
                    censored += 1
                elif value:
                    text_only += 1
            uom = r["valueuom"]
            code = UCUM.get(uom.strip().lower())
            unit = voc.concept("UCUM", code, code, "Unit", "Unit") if code else 0
            if len(value) > VALUE_LEN:
                truncated += 1
            at = _ts(r["charttime"])
            meas.append((i, int(r["subject_id"]), concept, at.date(), at, EHR, op, number, unit,
                         int(r["hadm_id"]) if r["hadm_id"] else None, r["itemid"],
                         uom if uom != "" else None, value[:VALUE_LEN] if value != "" else None))
    notes["measurement values longer than 50 characters, cut in value_source_value"] = truncated

    conn.autocommit = False
    cur = conn.cursor()
    try:
        create_schema(cur, schema, replace=replace)
        today = dt.date.today()
        _copy(cur, schema, "cdm_source", ["cdm_source_name", "cdm_source_abbreviation", "cdm_holder",
                                          "source_description", "source_release_date", "cdm_release_date",
                                          "cdm_version", "cdm_version_concept_id", "vocabulary_version"],
              [("MIMIC-III Clinical Database Demo v1.4", "mimic3demo", "icu_predict",
                "Converted by python3 -m model omop-from-mimic. " + ATTRIBUTION, "2019-04-17", today,
                "5.4", 756265, "icu_predict subset")])
        _copy(cur, schema, "person", ["person_id", "gender_concept_id", "year_of_birth", "month_of_birth",
                                      "day_of_birth", "birth_datetime", "race_concept_id", "ethnicity_concept_id",
                                      "person_source_value", "gender_source_value"], person)
        _copy(cur, schema, "death", ["person_id", "death_date", "death_datetime", "death_type_concept_id"], death)
        _copy(cur, schema, "visit_occurrence",
              ["visit_occurrence_id", "person_id", "visit_concept_id", "visit_start_date", "visit_start_datetime",
               "visit_end_date", "visit_end_datetime", "visit_type_concept_id", "visit_source_value",
               "admitted_from_concept_id", "admitted_from_source_value", "discharged_to_concept_id",
               "discharged_to_source_value"], visit)
        _copy(cur, schema, "care_site", ["care_site_id", "care_site_name", "place_of_service_concept_id",
                                         "care_site_source_value", "place_of_service_source_value"],
              sites.values())
        _copy(cur, schema, "visit_detail",
              ["visit_detail_id", "person_id", "visit_detail_concept_id", "visit_detail_start_date",
               "visit_detail_start_datetime", "visit_detail_end_date", "visit_detail_end_datetime",
               "visit_detail_type_concept_id", "care_site_id", "visit_detail_source_value",
               "visit_occurrence_id"], detail)
        _copy(cur, schema, "measurement",
              ["measurement_id", "person_id", "measurement_concept_id", "measurement_date", "measurement_datetime",
               "measurement_type_concept_id", "operator_concept_id", "value_as_number", "unit_concept_id",
               "visit_occurrence_id", "measurement_source_value", "unit_source_value", "value_source_value"], meas)
        _copy(cur, schema, "concept", ["concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                                       "standard_concept", "concept_code", "valid_start_date", "valid_end_date",
                                       "invalid_reason"], voc.rows.values())
        report = {
            "schema": schema,
            "rows": {"person": len(person), "death": len(death), "visit_occurrence": len(visit),
                     "care_site": len(sites), "visit_detail": len(detail), "measurement": len(meas),
                     "concept": len(voc.rows), "condition_occurrence": 0},
            "transfers_not_stays": skipped_discharge,
            "measurements_censored": censored,
            "measurements_text_only": text_only,
            "local_concepts": voc.local,
            "notes": notes,
            "attribution": ATTRIBUTION,
        }
        if commit:
            conn.commit()
        else:
            conn.rollback()
        return report
    except BaseException:
        conn.rollback()
        raise
    finally:
        cur.close()


def omop_load(conn, schema, **kw):
    """icu_predict.omop_load(schema, ...), committed: the report rows as dicts."""
    if conn.autocommit:
        conn.autocommit = False
    with conn.cursor() as cur:
        args = ", ".join(f"{k} => %({k})s" for k in kw)
        cur.execute(f"SELECT * FROM icu_predict.omop_load(%(schema)s{', ' + args if args else ''})",
                    dict(kw, schema=schema))
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r)) for r in cur.fetchall()]
    conn.commit()
    return out


def format_report(rep, load_rows=None):
    out = [f"MIMIC-III demo -> OMOP CDM v5.4 schema {rep['schema']}"]
    for t, n in rep["rows"].items():
        out.append(f"  {t:<22} {n:>8}")
    out.append(f"  TRANSFERS discharge events (no stay): {rep['transfers_not_stays']}; censored lab values: "
               f"{rep['measurements_censored']}; text-only lab values: {rep['measurements_text_only']}; "
               f"local concept ids: {rep['local_concepts']}")
    for k, v in rep["notes"].items():
        out.append(f"  {k}: {v}")
    if load_rows is not None:
        out.append("")
        out.append("icu_predict.omop_load():")
        for r in load_rows:
            out.append(f"  {r['cdm_table']:<24} {r['status']:<24} {r['n_rows']:>8}  {r['reason'] or ''}")
    out.append("")
    out.append(rep["attribution"])
    return "\n".join(out)


HELP = "convert the MIMIC-III Clinical Database Demo (v1.4) into an OMOP CDM v5.4 schema"


def add_arguments(p):
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with the demo's CSV files (default: %(default)s)")
    p.add_argument("--schema", default="cdm", help="the CDM schema to create (default: %(default)s)")
    p.add_argument("--vocabulary", default=str(VOCABULARY),
                   help="CONCEPT rows (CSV) for LOINC and UCUM codes (default: %(default)s)")
    options.connection(p)
    p.add_argument("--replace", action="store_true", help="drop the schema first if it exists")
    p.add_argument("--load", action="store_true",
                   help="then load the schema into icu_predict (icu_predict.omop_load) and print its report")


def command(args):
    """``python3 -m model omop-from-mimic``: exit 0, or 1 when --load rejected rows."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.schema):
        raise UserError(f"--schema {args.schema!r}: use a lower-case name (letters, digits, _)")
    conn = options.connect(args)
    try:
        rep = from_mimic(conn, args.data, args.schema, replace=args.replace, vocabulary=args.vocabulary)
        rows = omop_load(conn, args.schema) if args.load else None
    finally:
        conn.close()
    print(format_report(rep, rows))
    return 1 if rows and any(r["status"] == "rejected" for r in rows) else 0


def main(argv=None):
    from .cli import main as cli_main
    return cli_main(argv, command="omop-from-mimic")


if __name__ == "__main__":
    sys.exit(main())
