"""Published clinical scores as reference rows on every model card.

Clinicians know these numbers; a model that does not discriminate better
than them at the same rows should say so.  Both scores are computed from
what the extension gives the training rows (the panel's ``last`` value of
each feature as of the prediction time, read with icu_predict.lab_value;
age and sex through covariate_value; the comorbidity groups through
admission_covariates() as of the same time), never from raw lab rows.

NEWS2 -- Royal College of Physicians, National Early Warning Score (NEWS) 2,
December 2017, chart 1 (SpO2 scale 1).  Points per parameter:
    respiration rate /min   <=8: 3   9-11: 1   12-20: 0   21-24: 2   >=25: 3
    SpO2 %                  <=91: 3  92-93: 2  94-95: 1   >=96: 0
    air or oxygen           oxygen: 2, air: 0
    systolic BP mmHg        <=90: 3  91-100: 2 101-110: 1 111-219: 0 >=220: 3
    pulse /min              <=40: 3  41-50: 1  51-90: 0   91-110: 1  111-130: 2  >=131: 3
    consciousness           alert: 0, new confusion / V / P / U: 3
    temperature degC        <=35.0: 3  35.1-36.0: 1  36.1-38.0: 0  38.1-39.0: 1  >=39.1: 2
Here: supplemental oxygen is not in the data and scores 0 (air); the
consciousness level is read from the GCS total (15: alert, below 15: 3
points).  Values between the chart's whole-number bands take the band of
the lower bound they exceed (respiration 20.5 scores as 21-24).

ISARIC 4C Mortality Score -- Knight SR et al., BMJ 2020;370:m3339, table 2:
    age years        <50: 0  50-59: 2  60-69: 4  70-79: 6  >=80: 7
    sex at birth     female: 0, male: 1
    comorbidities    0: 0  1: 1  >=2: 2
    respiratory rate <20: 0  20-29: 1  >=30: 2
    SpO2 on room air >=92: 0  <92: 2
    GCS              15: 0  <15: 2
    urea mmol/L      <7: 0  7-14: 1  >14: 3
    CRP mg/L         <50: 0  50-99: 1  >=100: 2
Here: the comorbidity count is the number of comorbidity groups of the
admission (icu_predict.comorbidity_groups(), Charlson groups from the
diagnosis codes known by the prediction time), a proxy for the 4C list.

Missing inputs.  A component whose value is missing at a row scores 0
points (taken as normal, as a bedside chart with a blank field would be
read); the card lists, per component, the share of rows where it was
missing, and a component that no row has is named as absent.  A score is
reported only when at least one of its measured components (vitals, labs)
is present in some row; otherwise it is "not computable" on this data.
"""
from __future__ import annotations

import numpy as np

from . import metrics as M

N_BOOT = 200
SEED = 20200401


def _bands(x, edges, points):
    """Points of value x: points[k] for edges[k-1] < x <= edges[k] (upper
    edges inclusive; the last band open); 0 for NaN."""
    x = np.asarray(x, float)
    out = np.full(x.shape, 0.0)
    ok = np.isfinite(x)
    k = np.searchsorted(np.asarray(edges, float), x[ok], side="left")
    out[ok] = np.asarray(points, float)[k]
    return out


# NEWS2 chart 1: band upper edges (inclusive) and points
NEWS2_PARTS = {
    "resp_rate": ((8, 11, 20, 24), (3, 1, 0, 2, 3)),
    "spo2": ((91, 93, 95), (3, 2, 1, 0)),
    "sbp": ((90, 100, 110, 219), (3, 2, 1, 0, 3)),
    "heart_rate": ((40, 50, 90, 110, 130), (3, 1, 0, 1, 2, 3)),
    "temperature": ((35.0, 36.0, 38.0, 39.0), (3, 1, 0, 1, 2)),
}


def news2(resp_rate, spo2, sbp, heart_rate, temperature, gcs):
    """NEWS2 per row (oxygen taken as air); missing components score 0."""
    vals = {"resp_rate": resp_rate, "spo2": spo2, "sbp": sbp, "heart_rate": heart_rate,
            "temperature": temperature}
    s = sum(_bands(vals[k], *NEWS2_PARTS[k]) for k in NEWS2_PARTS)
    g = np.asarray(gcs, float)
    return s + np.where(np.isfinite(g) & (g < 15), 3.0, 0.0)


def isaric_4c(age, male, comorbidities, resp_rate, spo2, gcs, urea, crp):
    """ISARIC 4C Mortality Score per row; missing components score 0."""
    age = np.asarray(age, float)
    pts = _bands(np.where(np.isfinite(age), np.floor(age), np.nan), (49, 59, 69, 79), (0, 2, 4, 6, 7))
    m = np.asarray(male, float)
    pts += np.where(m == 1, 1.0, 0.0)
    c = np.asarray(comorbidities, float)
    pts += np.where(np.isfinite(c), np.minimum(np.maximum(c, 0), 2), 0.0)
    rr = np.asarray(resp_rate, float)
    pts += np.where(np.isfinite(rr), np.where(rr >= 30, 2.0, np.where(rr >= 20, 1.0, 0.0)), 0.0)
    sp = np.asarray(spo2, float)
    pts += np.where(np.isfinite(sp) & (sp < 92), 2.0, 0.0)
    g = np.asarray(gcs, float)
    pts += np.where(np.isfinite(g) & (g < 15), 2.0, 0.0)
    u = np.asarray(urea, float)
    pts += np.where(np.isfinite(u), np.where(u > 14, 3.0, np.where(u >= 7, 1.0, 0.0)), 0.0)
    cr = np.asarray(crp, float)
    pts += np.where(np.isfinite(cr), np.where(cr >= 100, 2.0, np.where(cr >= 50, 1.0, 0.0)), 0.0)
    return pts


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


def scores(frame):
    """{score name: points per row} of a frame with the component columns."""
    c = {k: _col(frame, k) for k in {n for parts in COMPONENTS.values() for n, _, _ in parts}}
    return {
        "NEWS2": news2(c["resp_rate:last"], c["spo2:last"], c["sbp:last"], c["heart_rate:last"],
                       c["temperature:last"], c["gcs:last"]),
        "ISARIC 4C Mortality": isaric_4c(c["age_years"], c["sex_male"], c["comorbidity_count"],
                                         c["resp_rate:last"], c["spo2:last"], c["gcs:last"],
                                         c["urea:last"], c["crp:last"]),
    }


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


def evaluate(frame, y, p):
    """Reference rows at one landmark: ``frame`` holds the component columns
    of the landmark's rows, ``y`` the outcome, ``p`` the model's risk.
    Returns {score: {...}} with the AUROC (DeLong CI), the model's AUROC on
    the same rows, the paired difference (bootstrap CI), the verdict and the
    missing share of every component."""
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    out = {}
    pts = scores(frame)
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
            s = pts[name]
            auc, lo, hi = M.auroc_ci(y, s)
            mauc = M.auroc(y, p)
            dlo, dhi = _paired_diff_ci(y, p, s)
            row.update({"auroc": auc, "auroc_lo": lo, "auroc_hi": hi, "model_auroc": mauc,
                        "difference": mauc - auc, "difference_lo": dlo, "difference_hi": dhi,
                        "verdict": verdict(dlo, dhi), "mean_points": float(np.mean(s))})
        out[name] = row
    return out
