"""Load the MIMIC-III Clinical Database Demo (v1.4) into icu_predict's canonical schema.

Contains information from the MIMIC-III Clinical Database Demo (v1.4), made
available under the ODbL.

Usage (from the repository root):

    python3 -m model mimic [--data DIR] [--dsn DSN] [--replace] [--dry-run]
                           [--json FILE] [--verbose]

(``python3 -m model.mimic`` is the same command.)

This is the worked example of an EHR loader (docs/mimic.md has the full
mapping).  In short:

* ADMISSIONS (+ PATIENTS)  -> admission
* TRANSFERS                -> location_stay (discharge events are not stays)
* LABEVENTS                -> lab_result (itemid as local_code, unit as sent,
                              specimen from the item's fluid)
* D_LABITEMS               -> lab_map rows for items whose LOINC code is in the
                              catalogue (feature.loinc, other_loinc), and blood
                              items matched by label; UCUM converts (no factor)
* ICUSTAYS                 -> not loaded; the report checks the derived ICU
                              episodes (icu_predict.icu_episode) against it.

Every file is COPYed into a staging table.  Rows the mapping cannot read (a
missing id, an unparseable time) get a reason there; the others are inserted
into the canonical tables in one statement, and when that fails, row by row
so that each row the schema's constraints reject is named with the
constraint's message.  Nothing is dropped or altered without a line in the
report.  Everything happens in one transaction.
"""
import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import psycopg2

from . import options
from .errors import LoadError, UserError
from .units import unit_key

ATTRIBUTION = ("Contains information from the MIMIC-III Clinical Database Demo "
               "(v1.4), made available under the ODbL.")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "mimic3-demo"

FILES = ("PATIENTS", "ADMISSIONS", "TRANSFERS", "ICUSTAYS", "D_LABITEMS", "LABEVENTS")

# Age: MIMIC-III shifts the date of birth of patients older than 89 at their
# first admission to about 300 years before it.  An age of AGE_SHIFTED_FROM
# years or more is such a shifted age; it is recorded as AGE_OVER_89.
AGE_SHIFTED_FROM = 150
AGE_OVER_89 = 90

SEX = {"F": "female", "M": "male"}
ADMISSION_SOURCE = {"EMERGENCY": "emergency", "URGENT": "emergency",
                    "ELECTIVE": "elective", "NEWBORN": "other"}
# Care units that are not intensive care (MIMIC's newborn nursery).
NON_ICU_CAREUNITS = {"NWARD"}

# Lab values: a plain decimal is taken as is; a censored value ("<0.1",
# ">=5", "LESS THAN 10", "GREATER THAN 500") is taken at its bound; any other
# text (NEG, 1+, 0-2, HEMOLYZED, ...) has no numeric value.  value_text always
# keeps the raw text.
NUMBER_RE = r'^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*$'
CENSORED_RE = (r'^\s*(<=|>=|<|>|less than|greater than)\s*'
               r'([-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+))\s*$')

# MIMIC D_LABITEMS.fluid (case-insensitive) -> lab_result.specimen.  Every
# other fluid (Other Body Fluid, Joint Fluid, Bone Marrow, Stool) is 'other'.
FLUID_SPECIMEN = {"blood": "blood", "urine": "urine", "cerebrospinal fluid (csf)": "cerebrospinal fluid",
                  "csf": "cerebrospinal fluid", "pleural": "pleural fluid", "ascites": "ascites"}

# Items are matched by the catalogue first: an item whose LOINC code is a
# feature's loinc or other_loinc maps to that feature, when the feature is
# measured in the item's specimen class (blood, urine).  FEATURE_MATCH holds
# what the catalogue cannot know, for blood items only: extra LOINC codes that
# measure a feature in another quantity, and label patterns
# (D_LABITEMS.label, case-insensitive, whole label) for items without a
# catalogue code or whose unit does not convert into their catalogue
# feature's unit (item 51244 'Lymphocytes' in %, coded with the absolute
# count's LOINC 731-0).
FEATURE_MATCH = {
    "crp": ([], r"c-reactive protein"),
    "ldh": ([], r"lactate dehydrogenase( \(ld\))?"),
    "d_dimer": ([], r"d-dimer"),
    "ferritin": ([], r"ferritin"),
    "lymphocytes": ([], r"absolute lymphocyte count"),
    "lymphocytes_pct": ([], r"lymphocytes(, percent)?"),
    "neutrophils": ([], r"absolute neutrophil count"),
    "platelets": ([], r"platelet count"),
    "creatinine": ([], r"creatinine"),
    # urea nitrogen (BUN), LOINC 3094-0, is no unit of urea: see FACTORS
    "urea": (["3094-0"], r"urea nitrogen"),
    "procalcitonin": ([], r"procalcitonin"),
    "troponin_t": ([], r"troponin t"),
    "il6": ([], r"interleukin[- ]?6"),
    "albumin": ([], r"albumin"),
    "bilirubin": ([], r"bilirubin, total"),
    "lactate": ([], r"lactate"),
    "pao2": ([], r"po2"),
    "pf_ratio": ([], r"pao2/fio2( ratio)?"),
    "leukocytes": ([], r"white blood cells|wbc count"),
}

# lab_map factors, only where unit_factor() cannot convert: (feature, unit as
# unit_key(), MIMIC LOINC code or None for any) -> (factor, note).  Every
# other lab_map row has no factor, and UCUM (with the feature's molar mass)
# converts.
FACTORS = {
    ("urea", "mg/dl", "3094-0"): (0.357, "urea nitrogen (BUN) mg/dL -> urea mmol/L: 1 mmol of urea holds "
                                         "28 mg of nitrogen (10/28.0 = 0.357), not a unit conversion"),
    ("ph", "units", None): (1.0, "MIMIC sends pH with the unit 'units'; pH is dimensionless ([pH])"),
    ("pt", "seconds", None): (1.0, "MIMIC spells seconds 'SECONDS', which UCUM does not know (s)"),
}


# ---------------------------------------------------------------------------
# staging
# ---------------------------------------------------------------------------
_HELPERS = r"""
CREATE FUNCTION pg_temp.try_ts(t text) RETURNS timestamp
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- Only a calendar time: PostgreSQL would also read 'now' or 'yesterday'.
    IF t IS NULL OR t !~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?\s*$' THEN
        RETURN NULL;
    END IF;
    RETURN t::timestamp;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END $$;

CREATE FUNCTION pg_temp.try_float(t text) RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::float8;
EXCEPTION WHEN data_exception THEN
    RETURN NULL;
END $$;

CREATE FUNCTION pg_temp.try_int(t text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t ~ '^\s*[0-9]{1,18}\s*$' THEN t::bigint END
$$;

-- Inserts the rows of a candidate table whose reason is NULL into target, one
-- by one; a row that a constraint rejects gets the constraint's message.
CREATE FUNCTION pg_temp.insert_rows(cand text, target text, cols text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
    msg text;
    con text;
BEGIN
    FOR r IN EXECUTE format('SELECT line FROM %I WHERE reason IS NULL ORDER BY line', cand) LOOP
        BEGIN
            EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %I WHERE line = $1',
                           target, cols, cols, cand) USING r.line;
            n := n + 1;
        EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, con = CONSTRAINT_NAME;
            EXECUTE format('UPDATE %I SET reason = $1 WHERE line = $2', cand)
                USING coalesce(nullif(con, '') || ': ', '') || msg, r.line;
        END;
    END LOOP;
    RETURN n;
END $$;
"""


def _read_header(path):
    with open(path, newline="") as f:
        return next(csv.reader(f))


def _stage(cur, name, path):
    """COPY a CSV file into TEMP table stg_<name> (all text, plus its line number)."""
    cols = [c.strip().lower() for c in _read_header(path)]
    if not all(re.fullmatch(r"[a-z_][a-z0-9_]*", c) for c in cols):
        raise LoadError(f"{path}: unexpected header {cols}")
    table = f"stg_{name.lower()}"
    coldefs = ", ".join(f"{c} text" for c in cols)
    # line = line number in the file (the header is line 1).
    cur.execute(f"CREATE TEMP TABLE {table} (n bigint GENERATED ALWAYS AS IDENTITY, {coldefs},"
                f" line bigint GENERATED ALWAYS AS (n + 1) STORED) ON COMMIT DROP")
    with open(path, newline="") as f:
        cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, HEADER true)", f)
    cur.execute(f"SELECT count(*) FROM {table}")
    return cur.fetchone()[0]


def _insert_checked(cur, cand, target, cols):
    """Insert the rows of cand with reason IS NULL into target; failures get a reason.

    Tries one INSERT ... SELECT; if any row violates a constraint, rolls that
    back and inserts row by row, recording each rejected row's reason.
    Returns the number of rows inserted.
    """
    cur.execute("SAVEPOINT bulk")
    try:
        cur.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {cand} WHERE reason IS NULL")
        n = cur.rowcount
        cur.execute("RELEASE SAVEPOINT bulk")
        return n
    except (psycopg2.IntegrityError, psycopg2.DataError):
        cur.execute("ROLLBACK TO SAVEPOINT bulk")
        cur.execute("RELEASE SAVEPOINT bulk")
    cur.execute(f"CREATE INDEX ON {cand} (line)")
    cur.execute("SELECT pg_temp.insert_rows(%s, %s, %s)", (cand, target, cols))
    return cur.fetchone()[0]


def _rejections(cur, cand, file, key_col):
    cur.execute(f"SELECT line, {key_col}::text, reason FROM {cand} WHERE reason IS NOT NULL ORDER BY line")
    return [{"file": file, "line": line, "key": key, "reason": reason}
            for line, key, reason in cur.fetchall()]


# ---------------------------------------------------------------------------
# the tables
# ---------------------------------------------------------------------------
def _load_admissions(cur, reconcile):
    cur.execute("""
        CREATE TEMP TABLE span ON COMMIT DROP AS
        SELECT pg_temp.try_int(hadm_id) AS hadm,
               min(pg_temp.try_ts(intime)) AS first_in,
               max(greatest(pg_temp.try_ts(intime), pg_temp.try_ts(outtime))) AS last_out
          FROM stg_transfers GROUP BY 1""")
    cur.execute(f"""
        CREATE TEMP TABLE cand_admission ON COMMIT DROP AS
        WITH a AS (
            SELECT a.line, a.hadm_id AS src_key,
                   pg_temp.try_int(a.hadm_id) AS admission_id,
                   a.subject_id AS patient_id,
                   pg_temp.try_ts(a.admittime) AS admittime,
                   pg_temp.try_ts(a.dischtime) AS dischtime,
                   a.admittime AS admittime_raw, a.dischtime AS dischtime_raw,
                   a.admission_type, a.hospital_expire_flag,
                   p.gender, pg_temp.try_ts(p.dob) AS dob, p.line AS patient_line
              FROM stg_admissions a
              LEFT JOIN stg_patients p ON p.subject_id = a.subject_id
        )
        SELECT a.*,
               CASE WHEN {'true' if reconcile else 'false'} AND a.admittime IS NOT NULL
                    THEN least(a.admittime, s.first_in) ELSE a.admittime END AS admitted_ts,
               CASE WHEN {'true' if reconcile else 'false'} AND a.dischtime IS NOT NULL
                    THEN greatest(a.dischtime, s.last_out) ELSE a.dischtime END AS discharged_ts,
               CASE WHEN a.admission_id IS NULL THEN 'hadm_id is not an integer'
                    WHEN a.admittime IS NULL THEN 'admittime is missing or not a time: ' || coalesce(a.admittime_raw, '')
                    WHEN a.dischtime IS NULL AND coalesce(a.dischtime_raw, '') <> ''
                        THEN 'dischtime is not a time: ' || a.dischtime_raw
                    WHEN a.patient_line IS NULL THEN 'subject_id ' || coalesce(a.patient_id, '') || ' has no PATIENTS row (date of birth unknown)'
                    WHEN a.dob IS NULL THEN 'PATIENTS.dob of subject ' || a.patient_id || ' is not a time'
                    WHEN a.hospital_expire_flag NOT IN ('0', '1') THEN 'hospital_expire_flag is neither 0 nor 1'
               END AS reason
          FROM a LEFT JOIN span s ON s.hadm = a.admission_id""")
    cur.execute("""
        ALTER TABLE cand_admission
            ADD COLUMN admitted_at timestamptz, ADD COLUMN discharged_at timestamptz,
            ADD COLUMN age_years integer, ADD COLUMN sex text,
            ADD COLUMN admission_source text, ADD COLUMN died_in_hospital boolean""")
    cur.execute(f"""
        UPDATE cand_admission SET
            admitted_at = admitted_ts AT TIME ZONE 'UTC',
            discharged_at = discharged_ts AT TIME ZONE 'UTC',
            age_years = CASE WHEN date_part('year', age(admittime, dob)) >= {AGE_SHIFTED_FROM}
                             THEN {AGE_OVER_89}
                             ELSE date_part('year', age(admittime, dob))::integer END,
            sex = CASE gender {' '.join(f"WHEN '{k}' THEN '{v}'" for k, v in SEX.items())} ELSE 'unknown' END,
            admission_source = CASE admission_type
                {' '.join(f"WHEN '{k}' THEN '{v}'" for k, v in ADMISSION_SOURCE.items())} ELSE 'unknown' END,
            died_in_hospital = (hospital_expire_flag = '1')
         WHERE reason IS NULL""")
    cols = "admission_id, patient_id, admitted_at, discharged_at, age_years, sex, admission_source, died_in_hospital"
    n = _insert_checked(cur, "cand_admission", "icu_predict.admission", cols)
    cur.execute("""
        SELECT admission_id, admittime, dischtime, admitted_ts, discharged_ts
          FROM cand_admission
         WHERE reason IS NULL AND (admitted_ts <> admittime OR discharged_ts IS DISTINCT FROM dischtime)
         ORDER BY admission_id""")
    widened = [{"admission_id": r[0], "admittime": str(r[1]), "dischtime": str(r[2]),
                "admitted_at": str(r[3]), "discharged_at": str(r[4]),
                "earlier_h": round((r[1] - r[3]).total_seconds() / 3600, 2),
                "later_h": round((r[4] - r[2]).total_seconds() / 3600, 2) if r[2] else None}
               for r in cur.fetchall()]
    cur.execute("SELECT count(*) FILTER (WHERE age_years = %s AND date_part('year', age(admittime, dob)) >= %s)"
                " FROM cand_admission WHERE reason IS NULL", (AGE_OVER_89, AGE_SHIFTED_FROM))
    over89 = cur.fetchone()[0]
    return n, widened, over89


def _load_transfers(cur):
    cur.execute("""
        CREATE TEMP TABLE cand_stay ON COMMIT DROP AS
        SELECT t.line, t.row_id AS src_key,
               pg_temp.try_int(t.row_id) AS stay_id,
               pg_temp.try_int(t.hadm_id) AS admission_id,
               coalesce(nullif(t.curr_careunit, ''), 'ward ' || nullif(t.curr_wardid, ''), '') AS unit,
               CASE WHEN coalesce(t.curr_careunit, '') = '' OR t.curr_careunit = ANY (%s)
                    THEN 'ward' ELSE 'icu' END AS unit_kind,
               'unknown'::text AS isolation,
               pg_temp.try_ts(t.intime) AS intime,
               pg_temp.try_ts(t.outtime) AS outtime,
               pg_temp.try_ts(t.intime) AT TIME ZONE 'UTC' AS started_at,
               pg_temp.try_ts(t.outtime) AT TIME ZONE 'UTC' AS ended_at,
               CASE WHEN pg_temp.try_int(t.row_id) IS NULL THEN 'row_id is not an integer'
                    WHEN pg_temp.try_int(t.hadm_id) IS NULL THEN 'hadm_id is missing or not an integer'
                    WHEN pg_temp.try_ts(t.intime) IS NULL THEN 'intime is missing or not a time: ' || coalesce(t.intime, '')
                    WHEN coalesce(t.outtime, '') <> '' AND pg_temp.try_ts(t.outtime) IS NULL
                        THEN 'outtime is not a time: ' || t.outtime
               END AS reason
          FROM stg_transfers t
         WHERE t.eventtype IS DISTINCT FROM 'discharge'""", (sorted(NON_ICU_CAREUNITS),))
    cur.execute("SELECT count(*) FROM stg_transfers WHERE eventtype = 'discharge'")
    skipped = cur.fetchone()[0]
    cols = "stay_id, admission_id, unit, unit_kind, isolation, started_at, ended_at"
    n = _insert_checked(cur, "cand_stay", "icu_predict.location_stay", cols)
    # Ids came from the file: move the sequence past them for later inserts.
    cur.execute("""
        SELECT setval(pg_get_serial_sequence('icu_predict.location_stay', 'stay_id'),
                      greatest((SELECT max(stay_id) FROM icu_predict.location_stay),
                               (SELECT last_value FROM icu_predict.location_stay_stay_id_seq)))""")
    return n, skipped


def _load_labs(cur):
    cur.execute(f"""
        CREATE TEMP TABLE cand_lab ON COMMIT DROP AS
        SELECT l.line, l.hadm_id || '/' || l.itemid || '@' || l.charttime AS src_key,
               pg_temp.try_int(l.hadm_id) AS admission_id,
               l.itemid AS local_code,
               CASE WHEN l.value ~ '{NUMBER_RE}' THEN pg_temp.try_float(l.value)
                    WHEN l.value ~* '{CENSORED_RE}'
                        THEN pg_temp.try_float((regexp_match(l.value, '{CENSORED_RE}', 'i'))[2])
               END AS value,
               nullif(l.value, '') AS value_text,
               nullif(l.valueuom, '') AS unit,
               CASE WHEN coalesce(trim(d.fluid), '') = '' THEN NULL
                    ELSE CASE lower(trim(d.fluid))
                         {' '.join(f"WHEN '{k}' THEN '{v}'" for k, v in FLUID_SPECIMEN.items())}
                         ELSE 'other' END
               END AS specimen,
               NULL::timestamptz AS sampled_at,
               pg_temp.try_ts(l.charttime) AT TIME ZONE 'UTC' AS resulted_at,
               CASE WHEN pg_temp.try_int(l.hadm_id) IS NULL THEN 'hadm_id is missing or not an integer'
                    WHEN coalesce(l.itemid, '') = '' THEN 'itemid is missing'
                    WHEN pg_temp.try_ts(l.charttime) IS NULL
                        THEN 'charttime is missing or not a time: ' || coalesce(l.charttime, '')
               END AS reason
          FROM stg_labevents l
          LEFT JOIN (SELECT DISTINCT ON (itemid) itemid, fluid FROM stg_d_labitems ORDER BY itemid, line) d
                 ON d.itemid = l.itemid""")
    cols = "admission_id, local_code, value, value_text, unit, specimen, sampled_at, resulted_at"
    n = _insert_checked(cur, "cand_lab", "icu_predict.lab_result", cols)
    cur.execute("""
        SELECT count(*) FILTER (WHERE c.value_text IS NOT NULL AND c.value IS NULL),
               count(*) FILTER (WHERE c.value IS NOT NULL AND c.value_text !~ %s),
               count(*) FILTER (WHERE c.resulted_at < a.admitted_at OR c.resulted_at > a.discharged_at)
          FROM cand_lab c JOIN icu_predict.admission a USING (admission_id)
         WHERE c.reason IS NULL""", (NUMBER_RE,))
    text_only, censored, outside = cur.fetchone()
    return n, {"text_only": text_only, "censored_at_bound": censored, "outside_admission": outside}


def specimen_of(fluid):
    """lab_result.specimen of a D_LABITEMS fluid (None when the fluid is empty)."""
    fluid = (fluid or "").strip().lower()
    return FLUID_SPECIMEN.get(fluid, "other") if fluid else None


def _lab_map_rows(cur, data_dir):
    """The lab_map rows for D_LABITEMS (list of dicts) and the matched-but-unconvertible units."""
    cur.execute("SELECT name, loinc, other_loinc, specimen FROM icu_predict.feature ORDER BY name")
    features = cur.fetchall()
    cur.execute("SELECT itemid, coalesce(valueuom, ''), count(*) FROM stg_labevents GROUP BY 1, 2 ORDER BY 1, 2")
    seen = defaultdict(dict)
    for itemid, unit, n in cur.fetchall():
        seen[itemid][unit] = n
    ucum = {}

    def converts(unit, feature):
        if (unit, feature) not in ucum:
            cur.execute("SELECT icu_predict.unit_factor(%s, f.unit, f.molar_mass) IS NOT NULL "
                        "FROM icu_predict.feature f WHERE f.name = %s", (unit, feature))
            ucum[unit, feature] = cur.fetchone()[0]
        return ucum[unit, feature]

    cur.execute("SELECT line, itemid, label, fluid, coalesce(loinc_code, '') FROM stg_d_labitems ORDER BY line")
    rows, unconvertible = [], []
    for line, itemid, label, fluid, loinc in cur.fetchall():
        specimen = specimen_of(fluid)
        if specimen is None:
            continue          # no fluid: no specimen class to match (none in the demo)
        cur.execute("SELECT icu_predict.specimen_class(%s)", (specimen,))
        cls = cur.fetchone()[0]
        lab = (label or "").strip().lower()
        # (feature, how): the catalogue's codes first, then (blood only) the
        # loader's extra codes and labels
        candidates = [(name, f"catalogue LOINC {loinc}") for name, f_loinc, other, f_spec in features
                      if loinc and f_spec == cls and loinc in [f_loinc] + list(other or [])]
        if cls == "blood":
            for name, (extra, pattern) in FEATURE_MATCH.items():
                if any(c[0] == name for c in candidates):
                    continue
                if loinc and loinc in extra:
                    candidates.append((name, f"LOINC {loinc} (not in the catalogue)"))
                elif pattern and re.fullmatch(pattern, lab):
                    candidates.append((name, "label"))
        if not candidates:
            continue
        note = f"MIMIC-III demo D_LABITEMS {itemid} '{label}' ({fluid}, LOINC {loinc or 'none'})"
        done = set()
        for u, n in seen.get(itemid, {}).items():
            uk = unit_key(u)
            if uk in done:
                continue      # another spelling of a unit mapped already ('MM HG', 'mm Hg')
            done.add(uk)
            for name, how in candidates:
                fixed = FACTORS.get((name, uk, loinc)) or FACTORS.get((name, uk, None))
                if fixed:
                    rows.append({"line": line, "local_code": itemid, "unit": u, "feature": name,
                                 "specimen": specimen, "factor": fixed[0],
                                 "note": f"{note}, matched by {how}; factor: {fixed[1]}"})
                    break
                if converts(u, name):
                    rows.append({"line": line, "local_code": itemid, "unit": u, "feature": name,
                                 "specimen": specimen, "factor": None,
                                 "note": f"{note}, matched by {how}, UCUM conversion"})
                    break
            else:
                n = sum(k for v, k in seen[itemid].items() if unit_key(v) == uk)
                unconvertible.append({"local_code": itemid, "label": label, "unit": u, "rows": n,
                                      "features": [c[0] for c in candidates]})
        if not any(r["local_code"] == itemid for r in rows) and unconvertible \
                and unconvertible[-1]["local_code"] == itemid:
            # only units that do not convert: a row in the feature's own unit
            # makes the code known, so its rows are counted as
            # unit_not_convertible (naming the unit expected), not code_unknown
            name, how = candidates[0]
            cur.execute("SELECT unit FROM icu_predict.feature WHERE name = %s", (name,))
            rows.append({"line": line, "local_code": itemid, "unit": cur.fetchone()[0], "feature": name,
                         "specimen": specimen, "factor": None,
                         "note": f"{note}, matched by {how}; the feature's unit (the item's own units do not convert)"})
    return rows, unconvertible


def _load_lab_map(cur, data_dir):
    rows, unconvertible = _lab_map_rows(cur, data_dir)
    cur.execute("""CREATE TEMP TABLE cand_map (line bigint, src_key text, local_code text, unit text,
                   feature text, specimen text, factor float8, note text, reason text) ON COMMIT DROP""")
    for i, r in enumerate(rows, 1):
        # line numbers of cand_map are its own (one D_LABITEMS line may give several rows).
        cur.execute("INSERT INTO cand_map VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL)",
                    (i, f"{r['local_code']} [{r['unit']}] line {r['line']}", r["local_code"], r["unit"],
                     r["feature"], r["specimen"], r["factor"], r["note"]))
    n = _insert_checked(cur, "cand_map", "icu_predict.lab_map", "local_code, unit, feature, specimen, factor, note")
    return n, len(rows), unconvertible


def _lab_summary(cur):
    """Lab rows of this load by feature (rows, rows that reach lab_canonical,
    implausible ones) and the rows that reach no feature, by local code: the
    extension's own lab_row_status, so loader and database count alike."""
    cur.execute("""
        CREATE TEMP TABLE loaded_lab ON COMMIT DROP AS
        SELECT s.local_code, s.local_unit AS unit, s.value, s.feature, s.rejection
          FROM icu_predict.lab_row_status s
          JOIN cand_admission c ON c.admission_id = s.admission_id AND c.reason IS NULL""")
    cur.execute("""
        SELECT l.feature, count(*),
               count(*) FILTER (WHERE l.rejection IS NULL OR l.rejection = 'implausible'),
               count(*) FILTER (WHERE l.rejection = 'implausible')
          FROM loaded_lab l WHERE l.feature IS NOT NULL
         GROUP BY l.feature ORDER BY l.feature""")
    mapped = [{"feature": f, "rows": n, "numeric": k, "implausible": bad} for f, n, k, bad in cur.fetchall()]
    cur.execute("""
        SELECT l.local_code, coalesce(d.label, '?'), count(*)
          FROM loaded_lab l LEFT JOIN stg_d_labitems d ON d.itemid = l.local_code
         WHERE l.feature IS NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1""")
    unmapped = [{"local_code": c, "label": lbl, "rows": n} for c, lbl, n in cur.fetchall()]
    # The extension's own view of what reaches no feature (whole database).
    view = None
    cur.execute("SELECT to_regclass('icu_predict.lab_unmapped') IS NOT NULL")
    if cur.fetchone()[0]:
        cur.execute("""SELECT reason, mapped_feature IS NOT NULL, count(*), sum(n_rows)
                         FROM icu_predict.lab_unmapped GROUP BY 1, 2 ORDER BY 1, 2""")
        view = [{"reason": r, "mapped": m, "codes": c, "rows": int(n)} for r, m, c, n in cur.fetchall()]
    return mapped, unmapped, view


def _episode_check(cur):
    """Derived ICU episodes against ICUSTAYS (matched on admission and start time)."""
    cur.execute("""
        WITH truth AS (
            SELECT pg_temp.try_int(hadm_id) AS admission_id,
                   pg_temp.try_ts(intime) AT TIME ZONE 'UTC' AS started_at,
                   los::float8 AS los_days
              FROM stg_icustays)
        SELECT (SELECT count(*) FROM truth),
               (SELECT count(*) FROM icu_predict.icu_episode e
                  JOIN cand_admission c ON c.admission_id = e.admission_id AND c.reason IS NULL),
               count(e.admission_id),
               max(abs(e.los_days - t.los_days)) * 1440
          FROM truth t
          LEFT JOIN icu_predict.icu_episode e USING (admission_id, started_at)""")
    icustays, episodes, matched, max_diff_min = cur.fetchone()
    return {"icustays_rows": icustays, "episodes": episodes, "matched": matched,
            "max_los_diff_minutes": None if max_diff_min is None else round(max_diff_min, 3)}


# ---------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------
def load(conn, data_dir=DEFAULT_DATA, replace=False, reconcile=True, commit=True):
    """Load the demo through conn (psycopg2) in one transaction; returns the report dict."""
    data_dir = Path(data_dir)
    for name in FILES:
        if not (data_dir / f"{name}.csv").is_file():
            raise LoadError(f"{data_dir / (name + '.csv')} not found (use --data DIR)")
    conn.autocommit = False
    cur = conn.cursor()
    try:
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'icu_predict'")
        if cur.fetchone() is None:
            raise LoadError("the database has no icu_predict extension (CREATE EXTENSION icu_predict CASCADE)")
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        cur.execute(_HELPERS)
        source_rows = {name: _stage(cur, name, data_dir / f"{name}.csv") for name in FILES}

        if replace:
            cur.execute("""DELETE FROM icu_predict.admission
                            WHERE admission_id IN (SELECT pg_temp.try_int(hadm_id) FROM stg_admissions)""")
            cur.execute("DELETE FROM icu_predict.lab_map WHERE note LIKE 'MIMIC-III demo D_LABITEMS %'")

        n_adm, widened, over89 = _load_admissions(cur, reconcile)
        n_stay, skipped = _load_transfers(cur)
        n_lab, lab_values = _load_labs(cur)
        n_map, map_candidates, unconvertible = _load_lab_map(cur, data_dir)

        rejected = (_rejections(cur, "cand_admission", "ADMISSIONS.csv", "src_key")
                    + _rejections(cur, "cand_stay", "TRANSFERS.csv", "src_key")
                    + _rejections(cur, "cand_lab", "LABEVENTS.csv", "src_key")
                    + _rejections(cur, "cand_map", "lab_map (from D_LABITEMS.csv)", "src_key"))
        count = defaultdict(int)
        for r in rejected:
            count[r["file"]] += 1
        mapped, unmapped, unmapped_view = _lab_summary(cur)
        report = {
            "data_dir": str(data_dir),
            "tables": [
                {"table": "admission", "file": "ADMISSIONS.csv", "rows_in_file": source_rows["ADMISSIONS"],
                 "loaded": n_adm, "rejected": count["ADMISSIONS.csv"], "skipped": 0},
                {"table": "location_stay", "file": "TRANSFERS.csv", "rows_in_file": source_rows["TRANSFERS"],
                 "loaded": n_stay, "rejected": count["TRANSFERS.csv"], "skipped": skipped,
                 "skipped_why": "discharge events (not a stay)"},
                {"table": "lab_result", "file": "LABEVENTS.csv", "rows_in_file": source_rows["LABEVENTS"],
                 "loaded": n_lab, "rejected": count["LABEVENTS.csv"], "skipped": 0},
                {"table": "lab_map", "file": "D_LABITEMS.csv", "rows_in_file": source_rows["D_LABITEMS"],
                 "candidates": map_candidates, "loaded": n_map,
                 "rejected": count["lab_map (from D_LABITEMS.csv)"]},
            ],
            "source_rows": source_rows,
            "rejected": rejected,
            "admissions_widened": widened,
            "ages_over_89": over89,
            "lab_values": lab_values,
            "labs_mapped": mapped,
            "labs_unmapped": unmapped,
            "lab_unmapped_view": unmapped_view,
            "lab_units_not_convertible": unconvertible,
            "icu_episodes": _episode_check(cur),
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


def replay(conn, at, horizon_days=7):
    """Refresh patient_status and capacity_forecast as of ``at`` and pair the
    hospital-wide forecast with the true ICU census at each forecast moment.

    The true census counts ICU episodes with started_at <= moment < ended_at,
    the rule of icu_occupancy().  Returns a list of dicts, one per horizon day.
    This shows the forecast; with 100 patients spread over a century of
    shifted dates it is no test of its accuracy.
    """
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('icu_predict.reference_time', %s, false)", (str(at),))
        cur.execute("SELECT clock_timestamp()")
        started = cur.fetchone()[0]
        cur.execute("CALL icu_predict.refresh()")
        cur.execute("""SELECT succeeded, error FROM icu_predict.refresh_log
                        WHERE started_at >= %s ORDER BY started_at DESC LIMIT 1""", (started,))
        row = cur.fetchone()
        if row is None or not row[0]:
            raise LoadError(f"icu_predict.refresh() as of {at} failed: {row[1] if row else 'no log row'}")
        cur.execute("""
            SELECT f.horizon_day, f.forecast_date, f.forecast_at, f.occupied_now, f.expected_beds,
                   f.p50_beds, f.p90_beds, f.p95_beds,
                   (SELECT count(*) FROM icu_predict.icu_episode e
                     WHERE e.started_at <= f.forecast_at
                       AND (e.ended_at IS NULL OR e.ended_at > f.forecast_at)) AS true_census
              FROM icu_predict.capacity_forecast f
             WHERE f.is_total AND f.horizon_day <= %s
             ORDER BY f.horizon_day""", (horizon_days,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def format_replay(at, rows):
    out = [f"replay as of {at}: forecast ICU beds (all units) next to the true ICU census",
           f"  {'day':>3} {'date':<10} {'expected':>8} {'P50':>4} {'P90':>4} {'P95':>4} {'true':>5}"]
    for r in rows:
        exp = "" if r["expected_beds"] is None else f"{r['expected_beds']:.2f}"
        out.append(f"  {r['horizon_day']:>3} {str(r['forecast_date']):<10} {exp:>8} "
                   f"{'' if r['p50_beds'] is None else r['p50_beds']:>4} "
                   f"{'' if r['p90_beds'] is None else r['p90_beds']:>4} "
                   f"{'' if r['p95_beds'] is None else r['p95_beds']:>4} {r['true_census']:>5}")
    return "\n".join(out)


def format_report(rep, verbose=False):
    out = ["MIMIC-III demo -> icu_predict", f"data: {rep['data_dir']}", ""]
    out.append(f"{'table':<14} {'file':<15} {'in file':>8} {'loaded':>8} {'rejected':>9} {'skipped':>8}")
    for t in rep["tables"]:
        if t["table"] == "lab_map":
            continue
        out.append(f"{t['table']:<14} {t['file']:<15} {t['rows_in_file']:>8} {t['loaded']:>8} "
                   f"{t['rejected']:>9} {t['skipped']:>8}" + (f"  ({t['skipped_why']})" if t["skipped"] else ""))
    m = rep["tables"][-1]
    out.append(f"lab_map: {m['loaded']} rows loaded, {m['rejected']} rejected, from {m['candidates']} "
               f"(item, unit) pairs of {m['rows_in_file']} D_LABITEMS items matched to a feature")
    out.append(f"PATIENTS.csv: {rep['source_rows']['PATIENTS']} patients read for sex and age "
               f"({rep['ages_over_89']} admissions of patients over 89 recorded as age {AGE_OVER_89})")
    out.append("")
    out.append(f"rejected rows: {len(rep['rejected'])}")
    for r in rep["rejected"]:
        out.append(f"  {r['file']} line {r['line']} ({r['key']}): {r['reason']}")
    w = rep["admissions_widened"]
    out.append("")
    out.append(f"admissions widened to cover their transfers: {len(w)} "
               f"(start moved earlier: {sum(1 for x in w if x['earlier_h'] > 0)}, "
               f"end moved later: {sum(1 for x in w if x['later_h'] and x['later_h'] > 0)})")
    shown = w if verbose else sorted(w, key=lambda x: -max(x["earlier_h"], x["later_h"] or 0))[:5]
    for x in shown:
        out.append(f"  admission {x['admission_id']}: {x['admittime']} .. {x['dischtime']} -> "
                   f"{x['admitted_at']} .. {x['discharged_at']} (earlier {x['earlier_h']} h, later {x['later_h']} h)")
    if not verbose and len(w) > len(shown):
        out.append(f"  ... {len(w) - len(shown)} more (--verbose lists all)")
    lv = rep["lab_values"]
    out.append("")
    out.append(f"lab values: {lv['text_only']} text only (value NULL), {lv['censored_at_bound']} censored "
               f"values taken at their bound, {lv['outside_admission']} resulted outside the admission (kept)")
    total_mapped = sum(x["rows"] for x in rep["labs_mapped"])
    total_unmapped = sum(x["rows"] for x in rep["labs_unmapped"])
    out.append(f"lab rows mapped to a feature: {total_mapped}; unmapped: {total_unmapped} "
               f"({len(rep['labs_unmapped'])} local codes)")
    out.append(f"  {'feature':<16} {'rows':>7} {'used':>8} {'implausible':>12}")
    for x in rep["labs_mapped"]:
        out.append(f"  {x['feature']:<16} {x['rows']:>7} {x['numeric']:>8} {x['implausible']:>12}")
    for u in rep["lab_units_not_convertible"]:
        out.append(f"  not mapped: item {u['local_code']} '{u['label']}' unit '{u['unit']}' "
                   f"({u['rows']} rows; matches {', '.join(u['features'])} but the unit has no conversion)")
    top = rep["labs_unmapped"] if verbose else rep["labs_unmapped"][:10]
    out.append("  most frequent unmapped local codes:" if not verbose else "  unmapped local codes:")
    for u in top:
        out.append(f"    {u['local_code']:>6} {u['label']:<40} {u['rows']:>6}")
    if rep["lab_unmapped_view"] is not None:
        out.append("  icu_predict.lab_unmapped (whole database): " + "; ".join(
            f"{v['reason']}{' (mapped code)' if v['mapped'] else ''}: {v['rows']} rows, {v['codes']} code/unit pairs"
            for v in rep["lab_unmapped_view"]))
    e = rep["icu_episodes"]
    out.append("")
    out.append(f"ICU episodes (icu_predict.icu_episode): {e['episodes']}; ICUSTAYS rows: {e['icustays_rows']}; "
               f"matched on admission and start: {e['matched']}; "
               f"largest |LOS - ICUSTAYS.los|: {e['max_los_diff_minutes']} min")
    out.append("")
    out.append(rep["attribution"])
    return "\n".join(out)


HELP = "load the MIMIC-III Clinical Database Demo (v1.4) into icu_predict's canonical schema"


def add_arguments(p):
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with the demo's CSV files (default: %(default)s)")
    options.connection(p)
    p.add_argument("--replace", action="store_true",
                   help="first delete the admissions in ADMISSIONS.csv (with their stays and labs) and the lab_map rows this loader made")
    p.add_argument("--no-reconcile", action="store_true",
                   help="do not widen admissions to cover their transfers (such transfers are then rejected)")
    p.add_argument("--dry-run", action="store_true", help="roll back at the end")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.add_argument("--verbose", action="store_true", help="list every widened admission and unmapped code")
    p.add_argument("--replay", metavar="TIME", action="append", default=[],
                   help="after loading, refresh the views as of TIME (e.g. '2145-12-10 12:00+00') and print the "
                        "forecast next to the true ICU census; may be repeated")


def command(args):
    """``python3 -m model mimic``: exit 0 when every row loaded, 1 when some
    were rejected (listed in the report); errors follow model/cli.py (exit 2)."""
    if args.replay and args.dry_run:
        raise UserError("--replay needs the data committed; leave out --dry-run")
    conn = options.connect(args)
    try:
        rep = load(conn, args.data, replace=args.replace, reconcile=not args.no_reconcile,
                   commit=not args.dry_run)
        print(format_report(rep, verbose=args.verbose))
        for at in args.replay:
            print()
            print(format_replay(at, replay(conn, at)))
    finally:
        conn.close()
    if args.dry_run:
        print("(dry run: rolled back)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=1, default=str)
    return 1 if rep["rejected"] else 0


def main(argv=None):
    """``python3 -m model.mimic``: the same as ``python3 -m model mimic``."""
    from .cli import main as cli_main
    return cli_main(argv, command="mimic")


if __name__ == "__main__":
    sys.exit(main())
