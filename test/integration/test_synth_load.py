"""Synthetic cohort loaded into a server: every row loaded, and its documented statistics.

The ranges asserted here are the ones documented in docs/synthetic-cohort.md
("Expected statistics of the 1,000-admission cohort"); the statistics are
computed in SQL from the loaded tables, not from the generator's own
summary, so they test what a user of the database sees.  Determinism and the
CSV files are tested without a server in model/tests/test_synth.py.
"""
import datetime as dt

import psycopg2
import pytest

from model import load, synth

END = dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def loaded(dbname):
    c = synth.generate(1000, 42, END)
    conn = psycopg2.connect(dbname=dbname)
    try:
        res = load.load(c, conn, bulk="on")
    finally:
        conn.close()
    return c, res


def q(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def test_loads_every_generated_row(loaded, conn):
    c, res = loaded
    assert res["bulk"] is True
    assert res["loaded"]["admission"] == 1000
    assert res["loaded"]["location_stay"] == len(c.stays["stay_id"])
    assert res["loaded"]["lab_result"] == res["encoder"].n_numeric + res["encoder"].n_text
    assert q(conn, "SELECT count(*) FROM icu_synth.oracle") == 1000
    assert q(conn, "SELECT count(*) FROM icu_predict.icu_capacity") == 6
    # the sequences continue after the loaded ids
    assert q(conn, "SELECT nextval(pg_get_serial_sequence('icu_predict.lab_result', 'lab_result_id'))") \
        > res["loaded"]["lab_result"]


def test_bulk_mode_restores_validated_keys(loaded, conn):
    rows = dict(_rows(conn, """SELECT conname, convalidated FROM pg_constraint
                               WHERE conrelid = 'icu_predict.lab_result'::regclass AND contype IN ('p', 'f')"""))
    assert rows == {"lab_result_pkey": True, "lab_result_admission_fkey": True}
    idx = {r[0] for r in _rows(conn, "SELECT indexrelid::regclass::text FROM pg_index "
                                     "WHERE indrelid = 'icu_predict.lab_result'::regclass")}
    assert {"icu_predict.lab_result_pkey", "icu_predict.lab_result_admission_time_idx"} <= idx


def _rows(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_icu_fraction_among_covid(loaded, conn):
    f = q(conn, """SELECT avg((EXISTS (SELECT 1 FROM icu_predict.location_stay s
                                       WHERE s.admission_id = o.admission_id AND s.unit_kind = 'icu'))::int)
                   FROM icu_synth.oracle o WHERE o.covid""")
    assert 0.15 <= f <= 0.25


def test_icu_los_median_covid(loaded, conn):
    m = q(conn, """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at) / 86400)
                   FROM icu_predict.location_stay s JOIN icu_synth.oracle o USING (admission_id)
                   WHERE o.covid AND s.unit_kind = 'icu' AND s.ended_at IS NOT NULL""")
    assert 8.5 <= m <= 15.5


def test_labs_per_patient_day(loaded, conn):
    v = q(conn, """SELECT (SELECT count(*) FROM icu_predict.lab_result)
                        / (SELECT sum(extract(epoch FROM coalesce(discharged_at, %s::timestamptz) - admitted_at))
                                  / 86400 FROM icu_predict.admission)""", f"{END} 00:00+00")
    assert 11.0 <= v <= 16.0


def test_unit_mix(loaded, conn):
    mix = dict(_rows(conn, """SELECT unit_kind, count(*)::float8 / sum(count(*)) OVER ()
                              FROM icu_predict.location_stay GROUP BY unit_kind"""))
    assert set(mix) == {"ed", "ward", "icu", "mc"}
    assert 0.45 <= mix["ward"] <= 0.70
    assert 0.25 <= mix["ed"] <= 0.45
    assert 0.04 <= mix["icu"] <= 0.12
    assert 0.002 <= mix["mc"] <= 0.03
    # COVID wards carry droplet or strict isolation, others mostly none
    iso = dict(_rows(conn, """SELECT isolation, count(*) FROM icu_predict.location_stay s
                              JOIN icu_synth.oracle o USING (admission_id)
                              WHERE o.covid AND s.unit LIKE 'COVID-%%' AND s.started_at = (
                                  SELECT min(started_at) FROM icu_predict.location_stay t
                                  WHERE t.admission_id = s.admission_id AND t.unit_kind = 'ward')
                              GROUP BY isolation"""))
    assert set(iso) <= {"droplet", "strict"} and iso.get("strict", 0) > 0 and iso.get("droplet", 0) > 0


def test_open_admissions_at_end(loaded, conn):
    share = q(conn, "SELECT avg((discharged_at IS NULL)::int) FROM icu_predict.admission")
    assert 0.02 <= share <= 0.08
    # every open admission has exactly one open stay, closed ones none; nothing after the end
    bad = q(conn, """SELECT count(*) FROM icu_predict.admission a
                     WHERE (SELECT count(*) FROM icu_predict.location_stay s
                            WHERE s.admission_id = a.admission_id AND s.ended_at IS NULL)
                           <> (a.discharged_at IS NULL)::int""")
    assert bad == 0
    end = f"{END} 00:00+00"
    assert q(conn, "SELECT max(resulted_at) <= %s::timestamptz FROM icu_predict.lab_result", end)
    assert q(conn, "SELECT max(started_at) < %s::timestamptz FROM icu_predict.location_stay", end)
    assert q(conn, "SELECT max(admitted_at) > %s::timestamptz - interval '2 days' FROM icu_predict.admission", end)


def test_every_lab_row_maps(loaded, conn):
    unmapped = _rows(conn, """SELECT r.local_code, count(*) FROM icu_predict.lab_result r
                              LEFT JOIN icu_predict.lab_map m
                                ON m.local_code = r.local_code AND m.unit_key = icu_predict.unit_key(r.unit)
                              WHERE m.local_code IS NULL GROUP BY 1""")
    assert {code for code, _ in unmapped} == set(synth.TEXT_ONLY_CODES)
    assert q(conn, "SELECT count(*) FROM icu_predict.lab_result WHERE local_code = 'SARS2PCR' AND value IS NOT NULL") == 0
    # spelling variants are folded by unit_key(), not mapped row by row
    assert q(conn, "SELECT count(DISTINCT unit) > count(DISTINCT icu_predict.unit_key(unit)) FROM icu_predict.lab_result")


def test_unit_conversions_agree(loaded, conn):
    """Per feature, the canonical median of every (code, unit) is close to the feature's median."""
    rows = _rows(conn, """
        WITH c AS (SELECT s.feature, s.local_code, icu_predict.unit_key(s.local_unit) AS unit_key, s.value AS v
                   FROM icu_predict.lab_row_status s
                   WHERE s.value_sent IS NOT NULL AND s.value_text IS NULL AND s.value_sent > 0
                     AND s.feature IS NOT NULL),
             f AS (SELECT feature, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med FROM c GROUP BY 1)
        SELECT c.feature, c.local_code, c.unit_key, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) / f.med, count(*)
        FROM c JOIN f USING (feature) GROUP BY c.feature, c.local_code, c.unit_key, f.med""")
    assert len({r[0] for r in rows}) == 19
    for feature, code, unit, ratio, n in rows:
        if n >= 50:
            assert 0.7 <= ratio <= 1.4, (feature, code, unit, ratio)


# The (code, unit) whose UCUM conversion is not the generator's factor, with
# the relative difference of the two: UCUM converts creatinine and bilirubin
# through their molar masses (113.12 and 584.66 g/mol: 88.402 and 17.104
# where laboratories write 88.4 and 17.1) and mm[Hg] as 133.322387415 Pa.
UCUM_VS_GENERATOR = {
    ("KREA", "umol/l"): -1.92e-5,                 # umol/L and µmol/L: one unit_key
    ("BILD", "mg/dl"): 2.3145e-4,
    ("BGPO2", "mmhg"): 2.906e-6,
    ("PFRAT", "kpa"): -5.655e-7,
}


def test_lab_map_gives_units_not_factors(loaded, conn):
    """The synthetic lab_map rows carry no factor except the two that are no
    unit conversion (urea nitrogen, D-dimer DDU); UCUM converts the rest."""
    rows = _rows(conn, "SELECT local_code, unit, factor FROM icu_predict.lab_map ORDER BY 1, 2")
    assert {(code, unit) for code, unit, f in rows if f is not None} == set(synth.LAB_MAP_OVERRIDES)
    assert len(rows) == len(synth.lab_map_rows())


def test_canonical_values_are_the_generators(loaded, conn):
    """Every used row's canonical value is the value sent times the generator's
    factor: to 1e-12 relative, or, for the units in UCUM_VS_GENERATOR, by
    exactly the stated difference between UCUM and the laboratory's factor."""
    factor = {(code, synth.unit_key(unit)): f for vs in synth.VARIANTS.values() for code, unit, f, *_ in vs}
    rows = _rows(conn, """SELECT local_code, icu_predict.unit_key(local_unit), value_sent, value
                          FROM icu_predict.lab_row_status
                          WHERE value_sent IS NOT NULL AND value_sent <> 0 AND value IS NOT NULL""")
    assert len(rows) > 50000
    worst = {}
    for code, uk, sent, value in rows:
        rel = value / (sent * factor[(code, uk)]) - 1
        key = (code, uk)
        worst[key] = max(worst.get(key, 0.0), abs(rel - UCUM_VS_GENERATOR.get(key, 0.0)))
    off = {k: w for k, w in worst.items() if w > (1e-3 * abs(UCUM_VS_GENERATOR[k]) if k in UCUM_VS_GENERATOR else 1e-12)}
    assert off == {}
    assert set(UCUM_VS_GENERATOR) <= set(worst)


def test_every_row_counted_per_code_and_feature(loaded, conn):
    """Nothing of the load is dropped silently: per local code and per feature,
    rows in lab_result = rows used + the rows of each rejection reason
    (lab_load_quality), and every status is a reason of the one list."""
    per_code = _rows(conn, """
        SELECT r.local_code, r.n, coalesce(q.n, 0)
          FROM (SELECT local_code, count(*) AS n FROM icu_predict.lab_result GROUP BY 1) r
          LEFT JOIN (SELECT local_code, sum(n_rows) AS n FROM icu_predict.lab_load_quality GROUP BY 1) q
            USING (local_code)""")
    assert len(per_code) == len({r[0] for r in synth.lab_map_rows()}) + len(synth.TEXT_ONLY_CODES)
    assert [r for r in per_code if r[1] != r[2]] == []
    per_feature = _rows(conn, """
        SELECT s.feature, count(*), (SELECT sum(n_rows) FROM icu_predict.lab_load_quality q
                                      WHERE q.feature IS NOT DISTINCT FROM s.feature)
          FROM icu_predict.lab_row_status s GROUP BY 1""")
    assert [r for r in per_feature if r[1] != r[2]] == []
    statuses = {r[0] for r in _rows(conn, "SELECT DISTINCT status FROM icu_predict.lab_load_quality")}
    reasons = {r[0] for r in _rows(conn, "SELECT reason FROM icu_predict.lab_rejection_reason")}
    assert statuses - {"used"} <= reasons and {"used", "implausible", "not_numeric", "code_unknown"} <= statuses


def test_text_results_and_implausible_values(loaded, conn):
    # '<0.1'-style results keep the text and carry the limit as value
    assert q(conn, "SELECT count(*) FROM icu_predict.lab_result WHERE value_text = '<0.1' AND value = 0.1") > 0
    assert q(conn, "SELECT count(*) FROM icu_predict.lab_result WHERE value_text = 'hemolysed' AND value IS NULL") > 0
    assert q(conn, "SELECT count(*) FROM icu_predict.lab_result WHERE value_text IS NOT NULL AND value IS NOT NULL"
                   " AND value_text NOT LIKE '<%%' AND value_text NOT LIKE '>%%'") == 0
    out = q(conn, """SELECT avg((value NOT BETWEEN plausible_min AND plausible_max)::int)
                     FROM icu_predict.lab_row_status WHERE value_sent IS NOT NULL""")
    assert 0 < out < 0.002


def test_result_delays(loaded, conn):
    lo, hi = _rows(conn, """SELECT min(resulted_at - sampled_at), max(resulted_at - sampled_at)
                            FROM icu_predict.lab_result""")[0]
    assert lo >= dt.timedelta(minutes=30) and hi <= dt.timedelta(hours=6)


def test_admission_labs_carry_signal_and_oracle_auroc(loaded, conn):
    """Labs resulted before any ICU transfer separate ICU from non-ICU COVID admissions."""
    crp = dict(_rows(conn, """
        WITH first_crp AS (
            SELECT DISTINCT ON (s.admission_id) s.admission_id, s.value AS crp
            FROM icu_predict.lab_row_status s
            WHERE s.feature = 'crp' AND s.value_text IS NULL
            ORDER BY s.admission_id, s.resulted_at)
        SELECT o.icu, percentile_cont(0.5) WITHIN GROUP (ORDER BY crp)
        FROM first_crp JOIN icu_synth.oracle o USING (admission_id) WHERE o.covid GROUP BY o.icu"""))
    assert crp[True] > 1.3 * crp[False]
    # AUROC of the oracle probability among completed COVID admissions (Mann-Whitney)
    auc = q(conn, """
        WITH d AS (SELECT o.p_icu, EXISTS (SELECT 1 FROM icu_predict.location_stay s
                                            WHERE s.admission_id = o.admission_id AND s.unit_kind = 'icu') AS y
                   FROM icu_synth.oracle o JOIN icu_predict.admission a USING (admission_id)
                   WHERE o.covid AND a.discharged_at IS NOT NULL),
             r AS (SELECT y, rank() OVER (ORDER BY p_icu) AS rk FROM d)
        SELECT (sum(rk) FILTER (WHERE y) - count(*) FILTER (WHERE y) * (count(*) FILTER (WHERE y) + 1) / 2.0)
               / (count(*) FILTER (WHERE y) * count(*) FILTER (WHERE NOT y))
        FROM r""")
    assert 0.75 <= float(auc) <= 0.92


def test_icu_capacity_strained_at_peak(loaded, conn):
    rows = _rows(conn, """
        WITH ev AS (SELECT unit, started_at AS t FROM icu_predict.location_stay WHERE unit_kind = 'icu'),
             occ AS (SELECT ev.unit, ev.t, (SELECT count(*) FROM icu_predict.location_stay s
                                            WHERE s.unit = ev.unit AND s.started_at <= ev.t
                                              AND (s.ended_at IS NULL OR s.ended_at > ev.t)) AS n
                     FROM ev),
             peak AS (SELECT DISTINCT ON (unit) unit, t, n FROM occ ORDER BY unit, n DESC, t)
        SELECT p.unit, p.n, c.staffed_beds, c.surge_beds
        FROM peak p JOIN LATERAL (SELECT * FROM icu_predict.icu_capacity c WHERE c.unit = p.unit
                                  AND c.valid_from <= p.t::date ORDER BY valid_from DESC LIMIT 1) c ON true""")
    assert {r[0] for r in rows} == {"IC-1", "IC-2", "IC-3"}
    for unit, peak, staffed, surge in rows:
        assert staffed < peak <= surge, (unit, peak, staffed, surge)


def test_refuses_non_empty_database_then_replaces(loaded, dbname, conn):
    c, res = loaded
    c2 = synth.generate(1000, 42, END)
    other = psycopg2.connect(dbname=dbname)
    try:
        with pytest.raises(load.CohortLoadError):
            load.load(c2, other)
        r2 = load.load(c2, other, replace=True, bulk="off")
    finally:
        other.close()
    assert r2["checksum"] == res["checksum"]
    assert r2["loaded"] == res["loaded"]
    assert q(conn, "SELECT count(*) FROM icu_predict.lab_map") == len(synth.lab_map_rows())
