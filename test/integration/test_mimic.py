"""The MIMIC-III demo loaded into the canonical schema, checked against its own ground truth.

Contains information from the MIMIC-III Clinical Database Demo (v1.4), made
available under the ODbL.

The data lives in <repo>/../shared/data/mimic3-demo (CI has it there).  The
expected numbers are computed here from the CSV files with the csv module,
independently of the loader's SQL.
"""
import csv
import datetime as dt
import re
import subprocess
import sys
from collections import Counter, defaultdict

import psycopg2
import pytest

from model import mimic

DATA = mimic.DEFAULT_DATA
UTC = dt.timezone.utc


def rows(name):
    with open(DATA / f"{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


def ts(text):
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def report(dbname):
    conn = psycopg2.connect(dbname=dbname)
    try:
        return mimic.load(conn, DATA)
    finally:
        conn.close()


@pytest.fixture
def cur(report, conn):
    with conn.cursor() as c:
        c.execute("SET TimeZone = 'UTC'")
        c.execute("SET icu_predict.day_timezone = 'UTC'")
        yield c


def test_data_present():
    for name in mimic.FILES:
        assert (DATA / f"{name}.csv").is_file(), f"{name}.csv missing in {DATA}"


def test_loads_without_rejections(report):
    assert report["rejected"] == [], report["rejected"][:5]
    assert report["attribution"] == mimic.ATTRIBUTION


def test_report_adds_up(report, cur):
    in_file = {"admission": len(rows("ADMISSIONS")), "location_stay": len(rows("TRANSFERS")),
               "lab_result": len(rows("LABEVENTS"))}
    discharges = sum(1 for r in rows("TRANSFERS") if r["eventtype"] == "discharge")
    by_table = {t["table"]: t for t in report["tables"]}
    for table, n in in_file.items():
        t = by_table[table]
        assert t["rows_in_file"] == n
        assert t["loaded"] + t["rejected"] + t["skipped"] == n, t
        cur.execute(f"SELECT count(*) FROM icu_predict.{table}")
        assert cur.fetchone()[0] == t["loaded"]
    assert by_table["location_stay"]["skipped"] == discharges
    assert by_table["admission"]["skipped"] == by_table["lab_result"]["skipped"] == 0
    m = by_table["lab_map"]
    assert m["loaded"] + m["rejected"] == m["candidates"]
    cur.execute("SELECT count(*) FROM icu_predict.lab_map")
    assert cur.fetchone()[0] == m["loaded"]
    # mapped + unmapped lab rows = lab rows loaded
    assert (sum(x["rows"] for x in report["labs_mapped"]) + sum(x["rows"] for x in report["labs_unmapped"])
            == by_table["lab_result"]["loaded"])


def test_admission_mapping(cur):
    patients = {r["subject_id"]: r for r in rows("PATIENTS")}
    cur.execute("SELECT admission_id, patient_id, age_years, sex, admission_source, died_in_hospital,"
                " admitted_at, discharged_at FROM icu_predict.admission")
    got = {r[0]: r for r in cur.fetchall()}
    adm = rows("ADMISSIONS")
    assert len(got) == len(adm)
    over89 = 0
    for a in adm:
        g = got[int(a["hadm_id"])]
        p = patients[a["subject_id"]]
        admit, dob = ts(a["admittime"]), ts(p["dob"])
        age = admit.year - dob.year - ((admit.month, admit.day) < (dob.month, dob.day))
        if age >= 150:
            over89 += 1
            age = 90
        assert g[1] == a["subject_id"]
        assert g[2] == age, a["hadm_id"]
        assert g[3] == {"F": "female", "M": "male"}[p["gender"]]
        assert g[4] == {"EMERGENCY": "emergency", "URGENT": "emergency", "ELECTIVE": "elective"}[a["admission_type"]]
        assert g[5] == (a["hospital_expire_flag"] == "1")
        # widened only to cover the transfers, never narrowed
        assert g[6] <= admit and g[7] >= ts(a["dischtime"])
    assert over89 > 0


def test_admission_span_is_the_transfers_span_when_wider(report, cur):
    first, last = {}, {}
    for t in rows("TRANSFERS"):
        h = int(t["hadm_id"])
        times = [ts(t["intime"])] + ([ts(t["outtime"])] if t["outtime"] else [])
        first[h] = min([first.get(h, times[0])] + times)
        last[h] = max([last.get(h, times[0])] + times)
    cur.execute("SELECT admission_id, admitted_at, discharged_at FROM icu_predict.admission")
    widened = 0
    for h, a0, a1 in cur.fetchall():
        orig = next(a for a in rows("ADMISSIONS") if int(a["hadm_id"]) == h)
        assert a0 == min(ts(orig["admittime"]), first[h])
        assert a1 == max(ts(orig["dischtime"]), last[h])
        widened += (a0, a1) != (ts(orig["admittime"]), ts(orig["dischtime"]))
    assert widened == len(report["admissions_widened"])


def test_transfers_mapping(cur):
    cur.execute("SELECT stay_id, admission_id, unit, unit_kind, isolation, started_at, ended_at"
                " FROM icu_predict.location_stay")
    got = {r[0]: r for r in cur.fetchall()}
    stays = [t for t in rows("TRANSFERS") if t["eventtype"] != "discharge"]
    assert len(got) == len(stays)
    for t in stays:
        g = got[int(t["row_id"])]
        icu = t["curr_careunit"] != ""
        assert g[1] == int(t["hadm_id"])
        assert g[2] == (t["curr_careunit"] if icu else "ward " + t["curr_wardid"])
        assert g[3] == ("icu" if icu else "ward")
        assert g[4] == "unknown"
        assert g[5] == ts(t["intime"])
        assert g[6] == (ts(t["outtime"]) if t["outtime"] else None)


def test_icu_los_equals_icustays(cur):
    """Every ICUSTAYS row is one episode with the same LOS (within a minute)."""
    cur.execute("SELECT admission_id, started_at, ended_at, los_days, still_in_icu FROM icu_predict.icu_episode")
    episodes = {(r[0], r[1]): r for r in cur.fetchall()}
    truth = rows("ICUSTAYS")
    assert len(episodes) == len(truth)
    for s in truth:
        key = (int(s["hadm_id"]), ts(s["intime"]))
        assert key in episodes, f"no episode for ICUSTAYS icustay_id {s['icustay_id']}"
        e = episodes[key]
        assert abs(e[3] - float(s["los"])) * 1440 <= 1.0, (s["icustay_id"], e[3], s["los"])
        assert e[2] == ts(s["outtime"])
        assert e[4] is False


def _census_from_icustays():
    """ICU census at midnight UTC ending each day, per unit, from ICUSTAYS.csv.

    A stay counts from intime up to (not including) outtime.  Its unit is
    first_careunit when it never changes unit; otherwise the care unit of
    its latest TRANSFERS row (same icustay_id) that began by the census.
    """
    moves = defaultdict(list)
    for t in rows("TRANSFERS"):
        if t["icustay_id"] and t["curr_careunit"]:
            moves[t["icustay_id"]].append((ts(t["intime"]), t["curr_careunit"]))
    census, total = Counter(), Counter()
    for s in rows("ICUSTAYS"):
        t0, t1 = ts(s["intime"]), ts(s["outtime"])
        day = t0.date() - dt.timedelta(days=1)
        while True:
            at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), UTC)
            if at >= t1:
                break
            if at >= t0:
                unit = s["first_careunit"]
                if s["first_careunit"] != s["last_careunit"]:
                    unit = max(m for m in moves[s["icustay_id"]] if m[0] <= at)[1]
                census[(unit, day)] += 1
                total[day] += 1
            day += dt.timedelta(days=1)
    return census, total


def test_occupancy_equals_icustays(cur):
    census, total = _census_from_icustays()
    first = min(ts(s["intime"]).date() for s in rows("ICUSTAYS")) - dt.timedelta(days=1)
    last = max(ts(s["outtime"]).date() for s in rows("ICUSTAYS")) + dt.timedelta(days=1)
    cur.execute("SELECT unit, day, patients FROM icu_predict.icu_occupancy(%s, %s)", (first, last))
    got = cur.fetchall()
    units = {s["first_careunit"] for s in rows("ICUSTAYS")} | {s["last_careunit"] for s in rows("ICUSTAYS")}
    # every unit, every day, zeros included
    assert len(got) == len(units) * ((last - first).days + 1)
    assert {u for u, _, _ in got} == units
    sql = {(u, d): n for u, d, n in got if n}
    assert sql == dict(census)
    sql_total = Counter()
    for u, d, n in got:
        sql_total[d] += n
    assert +sql_total == +total
    assert sum(total.values()) > 300          # the comparison covered real ICU days


def test_lab_values(cur):
    labs = rows("LABEVENTS")
    number = re.compile(mimic.NUMBER_RE)
    censored = re.compile(mimic.CENSORED_RE, re.I)
    expect_numeric = sum(1 for r in labs if number.match(r["value"]) or censored.match(r["value"]))
    cur.execute("SELECT count(value), count(value_text), count(sampled_at), count(*) FROM icu_predict.lab_result")
    n_value, n_text, n_sampled, n = cur.fetchone()
    assert n == len(labs)
    assert n_value == expect_numeric
    assert n_text == n                    # every row keeps its raw text
    assert n_sampled == 0                 # MIMIC has one time: it is resulted_at
    cur.execute("""SELECT value_text, value FROM icu_predict.lab_result
                    WHERE value_text IN ('<0.01', 'GREATER THAN 30', 'LESS THAN 10', '>50', 'NEG')
                    GROUP BY 1, 2 ORDER BY 1""")
    assert cur.fetchall() == [("<0.01", 0.01), (">50", 50.0), ("GREATER THAN 30", 30.0),
                              ("LESS THAN 10", 10.0), ("NEG", None)]
    # a plain number is kept exactly, with its unit as sent and charttime as resulted_at
    r = next(r for r in labs if r["itemid"] == "50912" and number.match(r["value"]))
    cur.execute("SELECT value, unit, resulted_at FROM icu_predict.lab_result"
                " WHERE admission_id = %s AND local_code = '50912' AND resulted_at = %s",
                (int(r["hadm_id"]), ts(r["charttime"])))
    assert cur.fetchone() == (float(r["value"]), r["valueuom"], ts(r["charttime"]))


def test_lab_map(cur):
    cur.execute("SELECT local_code, unit_key, feature, factor, specimen FROM icu_predict.lab_map")
    got = cur.fetchall()
    m = {(c, u): (f, k) for c, u, f, k, _ in got}
    # a factor only where unit_factor() cannot convert: BUN (urea nitrogen, not
    # a unit of urea) and two spellings UCUM does not know
    assert {k: v for k, v in m.items() if v[1] is not None} == {
        ("51006", "mg/dl"): ("urea", 0.357), ("50820", "units"): ("ph", 1.0), ("51274", "seconds"): ("pt", 1.0)}
    assert m[("50821", "mmhg")] == ("pao2", None)              # pO2 mm Hg -> kPa by UCUM
    assert m[("50885", "mg/dl")] == ("bilirubin", None)         # through the molar mass
    assert m[("50889", "mg/dl")] == ("crp", None)
    assert m[("51133", "#/ul")] == ("lymphocytes", None)
    # MIMIC codes blood 'Lymphocytes' in % with LOINC 731-0 (the absolute
    # count): the unit decides, so it maps to the percentage.
    assert m[("51244", "%")] == ("lymphocytes_pct", None)
    # other fluids where the catalogue has a feature of their specimen class:
    # urine WBC (LOINC 5821-4) -> urine_leukocytes, for the specimen urine
    assert ("51516", "#/hpf", "urine_leukocytes", None, "urine") in got
    # ascites albumin and urine creatinine have no feature
    assert not any(c in ("50835", "51082") for c, _ in m)
    # the specimen of every row is that of the item's fluid
    items = {r["itemid"]: r for r in rows("D_LABITEMS")}
    assert all(s == mimic.specimen_of(items[c]["fluid"]) for c, _, _, _, s in got)
    # every item with a catalogue LOINC code of its specimen class that has
    # rows in a convertible unit maps to that feature (51244: by its unit)
    cur.execute("SELECT name, loinc, other_loinc, specimen FROM icu_predict.feature")
    catalogue = {(code, spec): name for name, lo, other, spec in cur.fetchall() for code in [lo] + other if code}
    for item in items.values():
        cls = {"blood": "blood", "urine": "urine"}.get(mimic.specimen_of(item["fluid"]))
        f = catalogue.get((item["loinc_code"], cls))
        mapped = {v[0] for (c, _), v in m.items() if c == item["itemid"]}
        if f and mapped and item["itemid"] != "51244":
            assert mapped == {f}, item
    # the one D-dimer row set without a unit stays unmapped
    cur.execute("SELECT count(*) FROM icu_predict.lab_map WHERE local_code = '51196' AND unit_key = ''")
    assert cur.fetchone()[0] == 0


def test_lab_specimens(cur):
    """lab_result.specimen is the specimen of the item's D_LABITEMS fluid."""
    fluid = {r["itemid"]: r["fluid"] for r in rows("D_LABITEMS")}
    expect = Counter(mimic.specimen_of(fluid.get(r["itemid"])) for r in rows("LABEVENTS"))
    cur.execute("SELECT specimen, count(*) FROM icu_predict.lab_result GROUP BY 1")
    assert Counter(dict(cur.fetchall())) == expect
    assert expect["urine"] > 1000 and expect["blood"] > 40000


def test_canonical_values_by_ucum(cur):
    """pO2 and bilirubin are converted exactly (UCUM, molar mass), BUN by its factor."""
    def canon(code):
        cur.execute("""SELECT r.value, c.value FROM icu_predict.lab_result r
                         JOIN icu_predict.lab_canonical c USING (lab_result_id)
                        WHERE r.local_code = %s""", (code,))
        out = cur.fetchall()
        assert len(out) > 100
        return out
    mmhg_kpa = 13.5951 * 9.80665 / 1000            # conventional mm Hg: 13.5951 g/cm3 of mercury x g_n
    assert all(c == pytest.approx(v * mmhg_kpa, rel=1e-12) for v, c in canon("50821"))
    assert all(c == pytest.approx(v * 10 / 584.66 * 1000, rel=1e-12) for v, c in canon("50885"))
    assert all(c == pytest.approx(v * 0.357, rel=1e-12) for v, c in canon("51006"))


def test_labs_mapped_by_feature(report):
    labs = rows("LABEVENTS")
    per_item = Counter(r["itemid"] for r in labs)
    mapped = {x["feature"]: x["rows"] for x in report["labs_mapped"]}
    used = {x["feature"]: x["numeric"] for x in report["labs_mapped"]}
    assert mapped["albumin"] == per_item["50862"]
    assert mapped["urea"] == per_item["51006"]
    assert mapped["pao2"] == per_item["50821"]
    assert mapped["creatinine"] == per_item["50912"]
    unmapped = {x["local_code"]: x["rows"] for x in report["labs_unmapped"]}
    # catalogue features, also by their other_loinc codes (blood gas items)
    assert mapped["potassium"] == per_item["50971"] + per_item["50822"]
    assert mapped["sodium"] == per_item["50983"] + per_item["50824"]
    assert mapped["glucose"] == per_item["50931"] + per_item["50809"]
    assert mapped["haematocrit"] == per_item["51221"] + per_item["50810"]
    for feature, item in (("ph", "50820"), ("paco2", "50818"), ("base_excess", "50802"),
                          ("urine_leukocytes", "51516")):
        assert mapped[feature] == per_item[item], feature
    assert all(used[f] == mapped[f] for f in ("ph", "paco2", "base_excess", "glucose", "potassium"))
    assert "50971" not in unmapped and "51516" not in unmapped
    # percentages coded with the absolute count's LOINC and no percentage
    # feature (basophils 51146): the code is known, its rows are rejected as
    # unit_not_convertible, not taken as counts
    assert mapped["basophils"] == per_item["51146"] and used.get("basophils", 0) == 0
    # the D-dimer remarks without a unit reach d_dimer's code, and are counted
    # there as rejected (the unit does not convert), not as an unknown code
    assert "51196" not in unmapped
    d = next(x for x in report["labs_mapped"] if x["feature"] == "d_dimer")
    assert d["rows"] - d["numeric"] >= 3


def test_episode_self_check_in_report(report):
    e = report["icu_episodes"]
    n = len(rows("ICUSTAYS"))
    assert e == {"icustays_rows": n, "episodes": n, "matched": n,
                 "max_los_diff_minutes": e["max_los_diff_minutes"]}
    assert e["max_los_diff_minutes"] <= 1.0


def test_cli_prints_report_and_attribution(dbname):
    p = subprocess.run([sys.executable, "-m", "model.mimic", "--dsn", f"dbname={dbname}", "--dry-run",
                        "--replace"], capture_output=True, text=True, cwd=mimic.REPO_ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert mimic.ATTRIBUTION in out
    assert re.search(r"^admission\s+ADMISSIONS\.csv\s+129\s+129\s+0\s+0$", out, re.M), out
    assert re.search(r"^lab_result\s+LABEVENTS\.csv\s+61812\s+61812\s+0\s+0$", out, re.M), out
    assert "rejected rows: 0" in out
    assert "(dry run: rolled back)" in out


def test_panel_at_icu_transfer_uses_only_earlier_labs(cur):
    """Ward-first admissions: the panel as of ICU arrival holds exactly the labs resulted by then."""
    first = {}
    for t in rows("TRANSFERS"):
        if t["eventtype"] != "discharge":
            h = int(t["hadm_id"])
            if h not in first or ts(t["intime"]) < first[h][0]:
                first[h] = (ts(t["intime"]), t["curr_careunit"])
    ward_first = {h for h, (_, unit) in first.items() if unit == ""}
    assert len(ward_first) == 43                     # as the demo's README says
    cur.execute("""
        WITH t AS (
            SELECT e.admission_id, e.started_at AS t
              FROM icu_predict.icu_episode e
             WHERE e.episode = 1
               AND (SELECT s.unit_kind FROM icu_predict.location_stay s
                     WHERE s.admission_id = e.admission_id
                     ORDER BY s.started_at LIMIT 1) = 'ward'
        ), p AS (
            SELECT t.admission_id, t.t,
                   -- the aggregate sees every lab of the admission, later ones too
                   (SELECT icu_predict.lab_panel(c.admission_id, c.feature, c.value, c.resulted_at, t.t)
                      FROM icu_predict.lab_canonical c WHERE c.admission_id = t.admission_id) AS agg,
                   icu_predict.lab_panel_at(t.admission_id, t.t) AS at
              FROM t
        )
        SELECT p.admission_id, p.t, f.name,
               coalesce(icu_predict.lab_value(p.agg, f.name, 'count'), 0)
                 + coalesce(icu_predict.lab_value(p.agg, f.name, 'rejected'), 0),
               coalesce(icu_predict.lab_value(p.at, f.name, 'count'), 0)
                 + coalesce(icu_predict.lab_value(p.at, f.name, 'rejected'), 0),
               icu_predict.lab_last_at(p.agg, f.name),
               icu_predict.lab_as_of(p.agg),
               (SELECT count(*) FROM icu_predict.lab_canonical c
                 WHERE c.admission_id = p.admission_id AND c.feature = f.name AND c.resulted_at <= p.t),
               (SELECT count(*) FROM icu_predict.lab_canonical c
                 WHERE c.admission_id = p.admission_id AND c.feature = f.name AND c.resulted_at > p.t)
          FROM p CROSS JOIN icu_predict.feature f""")
    got = cur.fetchall()
    assert {r[0] for r in got} == ward_first
    before = after = 0
    for adm, t, feature, n_agg, n_at, last_at, as_of, n_before, n_after in got:
        assert as_of == t
        assert n_agg == n_before, (adm, feature, n_agg, n_before)
        assert n_at == n_before, (adm, feature, n_at, n_before)
        assert last_at is None or last_at <= t
        before += n_before
        after += n_after
    # both sides of the transfer time hold labs, so the cut was really tested
    assert before > 100 and after > 1000


def test_report_agrees_with_lab_unmapped_view(report, cur):
    """The loader's counts equal the extension's lab_unmapped rows: those of codes that reach
    no feature, and the rejected rows of mapped codes (text, unit, ...; not implausible)."""
    view = report["lab_unmapped_view"]
    assert sum(v["rows"] for v in view if not v["mapped"]) == sum(x["rows"] for x in report["labs_unmapped"])
    rejected_mapped = sum(x["rows"] - x["numeric"] for x in report["labs_mapped"])
    assert sum(v["rows"] for v in view if v["mapped"]) == rejected_mapped
    cur.execute("SELECT count(*) FROM icu_predict.lab_canonical")
    assert cur.fetchone()[0] == sum(x["numeric"] for x in report["labs_mapped"])


@pytest.mark.parametrize("at", ["2144-07-18 12:00:00+00", "2198-06-29 06:00:00+00"])
def test_views_refresh_and_replay_shows_true_census(report, dbname, at):
    """patient_status and capacity_forecast refresh on the demo; the replay
    pairs each forecast day with the true census (shown, not judged: 100
    patients are too few)."""
    conn = psycopg2.connect(dbname=dbname)
    try:
        got = mimic.replay(conn, at, horizon_days=7)
        with conn.cursor() as c:
            c.execute("SELECT count(*) FROM icu_predict.patient_status")
            assert c.fetchone()[0] > 0
    finally:
        conn.close()
    assert [r["horizon_day"] for r in got] == list(range(8))
    stays = [(ts(s["intime"]), ts(s["outtime"])) for s in rows("ICUSTAYS")]
    for r in got:
        assert r["true_census"] == sum(1 for t0, t1 in stays if t0 <= r["forecast_at"] < t1)
        assert r["p50_beds"] is None or r["p50_beds"] >= 0
    assert got[0]["true_census"] > 0
    print(mimic.format_replay(at, got))
