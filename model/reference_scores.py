"""Published clinical scores as reference rows on every model card.

Clinicians know these numbers; a model that does not discriminate better
than them at the same rows should say so.  The scores are defined once, in
SQL (extension/sql/26_reference_scores.sql): NEWS2 (Royal College of
Physicians 2017, chart 1, SpO2 scale 1) by icu_predict.news2_points() and
the ISARIC 4C Mortality Score (Knight et al., BMJ 2020;370:m3339) by
icu_predict.isaric4c_points(); the point tables and the one rule for
missing inputs (a missing component scores 0 points, as a blank field on a
bedside chart would be read) are documented there.  This module passes them
the numbers of the training rows (the panel's ``last`` value of each
feature as of the prediction time, read with icu_predict.lab_value; age and
sex through covariate_value; the comorbidity groups through
admission_covariates() as of the same time), the same numbers
icu_predict.news2(admission_id, at) and icu_predict.isaric4c(admission_id,
at) read, and compares the scores with the model.  The card lists, per
component, the share of rows where it was missing, and a component that no
row has is named as absent.  A score is reported only when at least one of
its measured components (vitals, labs) is present in some row; otherwise it
is "not computable" on this data.
"""
from __future__ import annotations

import numpy as np

from . import metrics as M

N_BOOT = 200
SEED = 20200401


#: score -> its components: (row column, what it is, measured at the bedside / lab?)
COMPONENTS = {
    "NEWS2": [("resp_rate:last", "respiratory rate", True), ("spo2:last", "SpO2", True),
              ("sbp:last", "systolic BP", True), ("heart_rate:last", "heart rate", True),
              ("temperature:last", "temperature", True), ("gcs:last", "GCS (consciousness)", True)],
    "ISARIC 4C Mortality": [("age_years", "age", False), ("sex_male", "sex", False),
                            ("comorbidity_count", "comorbidity count", False),
                            ("resp_rate:last", "respiratory rate", True), ("spo2:last", "SpO2", True),
                            ("gcs:last", "GCS", True), ("urea:last", "urea", True),
                            ("crp:last", "CRP", True)],
}
TREATMENT = {
    "NEWS2": "a missing component scores 0 (normal); supplemental oxygen is not recorded and scores 0 "
             "(air); consciousness from GCS (15 alert, < 15: 3 points)",
    "ISARIC 4C Mortality": "a missing component scores 0 (normal); comorbidity count = comorbidity groups "
                           "from the diagnoses known by then (none recorded: 0)",
}


def comorbidity_count(conn, admission_ids, as_ofs):
    """Number of comorbidity groups of each admission as of each time
    (admission_covariates()); NaN when no diagnosis is known by then."""
    import pandas as pd
    ts = [pd.Timestamp(t).to_pydatetime() for t in pd.to_datetime(pd.Series(as_ofs), utc=True)]
    with conn.cursor() as cur:
        cur.execute("""
            SELECT pg_catalog.cardinality((icu_predict.admission_covariates(v.a, v.t)).comorbidities)
              FROM ROWS FROM (pg_catalog.unnest(%s::bigint[]), pg_catalog.unnest(%s::timestamptz[]))
                   WITH ORDINALITY AS v(a, t, k)
             ORDER BY v.k""", ([int(x) for x in admission_ids], ts))
        out = [np.nan if r[0] is None else float(r[0]) for r in cur.fetchall()]
    conn.rollback()
    return np.array(out, dtype=float)


def _col(frame, name):
    return frame[name].to_numpy(float) if name in frame else np.full(len(frame), np.nan)


def _finite(v):
    return [float(x) if np.isfinite(x) else None for x in v]


def scores(conn, frame):
    """{score name: points per row} of a frame with the component columns,
    by icu_predict.news2_points() and icu_predict.isaric4c_points()."""
    c = {k: _col(frame, k) for k in {n for parts in COMPONENTS.values() for n, _, _ in parts}}
    male = [None if not np.isfinite(x) else bool(x == 1) for x in c["sex_male"]]
    com = [None if not np.isfinite(x) else int(x) for x in c["comorbidity_count"]]
    with conn.cursor() as cur:
        cur.execute("""
            SELECT (icu_predict.news2_points(v.rr, v.spo2, v.sbp, v.hr, v.temp, v.gcs)).score,
                   (icu_predict.isaric4c_points(v.age, v.male, v.com, v.rr, v.spo2, v.gcs, v.urea, v.crp)).score
              FROM ROWS FROM (pg_catalog.unnest(%s::float8[]), pg_catalog.unnest(%s::float8[]),
                              pg_catalog.unnest(%s::float8[]), pg_catalog.unnest(%s::float8[]),
                              pg_catalog.unnest(%s::float8[]), pg_catalog.unnest(%s::float8[]),
                              pg_catalog.unnest(%s::float8[]), pg_catalog.unnest(%s::boolean[]),
                              pg_catalog.unnest(%s::integer[]), pg_catalog.unnest(%s::float8[]),
                              pg_catalog.unnest(%s::float8[]))
                   WITH ORDINALITY AS v(rr, spo2, sbp, hr, temp, gcs, age, male, com, urea, crp, k)
             ORDER BY v.k""",
                    (_finite(c["resp_rate:last"]), _finite(c["spo2:last"]), _finite(c["sbp:last"]),
                     _finite(c["heart_rate:last"]), _finite(c["temperature:last"]), _finite(c["gcs:last"]),
                     _finite(c["age_years"]), male, com, _finite(c["urea:last"]), _finite(c["crp:last"])))
        got = cur.fetchall()
    conn.rollback()
    return {"NEWS2": np.array([r[0] for r in got], dtype=float).reshape(-1),
            "ISARIC 4C Mortality": np.array([r[1] for r in got], dtype=float).reshape(-1)}


def _paired_diff_ci(y, p, s, n_boot=N_BOOT, seed=SEED):
    """Bootstrap 95% CI of AUROC(p) - AUROC(s) on the same rows (one row per admission)."""
    rng = np.random.default_rng(seed)
    d = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        d.append(M.auroc(y[i], p[i]) - M.auroc(y[i], s[i]))
    if len(d) < 20:
        return np.nan, np.nan
    return float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))


def verdict(lo, hi):
    if not np.isfinite(lo):
        return "not decidable"
    if lo > 0:
        return "model better"
    if hi < 0:
        return "model WORSE"
    return "no clear difference"


def evaluate(frame, y, p, points):
    """Reference rows at one landmark: ``frame`` holds the component columns
    of the landmark's rows, ``y`` the outcome, ``p`` the model's risk and
    ``points`` the scores of the same rows ({score name: points}, from
    scores()).
    Returns {score: {...}} with the AUROC (DeLong CI), the model's AUROC on
    the same rows, the paired difference (bootstrap CI), the verdict and the
    missing share of every component."""
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    out = {}
    for name, parts in COMPONENTS.items():
        missing = {}
        measured_any = False
        for col, what, measured in parts:
            v = _col(frame, col)
            share = float(np.mean(~np.isfinite(v))) if v.size else 1.0
            missing[what] = {"column": col, "missing_share": share, "absent": col not in frame}
            measured_any |= measured and share < 1.0
        row = {"missing": missing, "treatment": TREATMENT[name], "n": int(y.size), "events": int(y.sum())}
        if not measured_any:
            row["note"] = "not computable: none of its measured inputs is in the data"
        elif y.size < 10 or y.min() == y.max():
            row["note"] = "too few rows or one class"
        else:
            s = np.asarray(points[name], float)
            auc, lo, hi = M.auroc_ci(y, s)
            mauc = M.auroc(y, p)
            dlo, dhi = _paired_diff_ci(y, p, s)
            row.update({"auroc": auc, "auroc_lo": lo, "auroc_hi": hi, "model_auroc": mauc,
                        "difference": mauc - auc, "difference_lo": dlo, "difference_hi": dhi,
                        "verdict": verdict(dlo, dhi), "mean_points": float(np.mean(s))})
        out[name] = row
    return out
