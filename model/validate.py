"""Validation a clinician can read, and the quality gate of every run.

* Landmarks (``landmark_index``): one row per admission at fixed times of
  the stay: the first prediction of the admission, and the first prediction
  at or after 24 h and 72 h (within the following 24 h).  Metrics on these
  rows are per admission -- each patient counts once -- and are the card's
  headline.  Metrics over every prediction row (patient-days with the daily
  schedule) are kept and labelled as such: later days of patients who never
  have the outcome are easy zeros and lift them.
* ``report``: AUROC (DeLong CI), Brier, calibration intercept and slope,
  each with a percentile bootstrap CI over admissions (rows of one admission
  resampled together), the calibration curve and the decision curve.
* ``subgroups``: the same by ward, age band and sex at the landmark rows.
* ``baseline``: a plain logistic regression on the three inputs with the
  strongest univariate AUROC on the training rows (median imputation,
  standardised), fitted on the same split: what the model must not be worse
  than.
* ``oracle_comparison`` (synthetic cohorts): the model against the true risk
  at the same rows -- each landmark and all validation rows -- with the gap
  and its paired DeLong standard error.  The card's table and the gate's
  oracle rows are both read from it, so they name the same rows and show the
  same numbers.
* ``gate``: the rules of every run (real data included), each row with its
  value, target and pass/fail; see GATE.
"""
from __future__ import annotations

import numpy as np

from . import metrics as M

LANDMARKS = (("first prediction", None), ("24 h", 24.0), ("72 h", 72.0))
N_BOOT = 200
SEED = 20200401

#: The quality gate: stated once, printed on every card.
GATE = {
    "min_validation_events": 20,        # events among the validation rows of a risk task
    "calibration_slope": (0.8, 1.25),   # on every validation prediction row
    "baseline_margin": 0.02,            # model AUROC >= baseline AUROC - margin
    "oracle_margin": 0.03,              # synthetic: model AUROC >= oracle AUROC - margin, all validation rows
    "oracle_noise_z": 2.0,              # synthetic: model AUROC <= oracle AUROC + z SE, every row set
    "min_stay_concordance": 0.6,        # Harrell's C of the stay model
}


def hours_since_admission(rows):
    import pandas as pd
    return ((pd.to_datetime(rows["as_of"], utc=True) - pd.to_datetime(rows["admitted_at"], utc=True))
            .dt.total_seconds().to_numpy() / 3600.0)


def landmark_index(rows, mask=None):
    """{landmark name: positional indices}: one row per admission (see module doc)."""
    h = hours_since_admission(rows)
    adm = rows["admission_id"].to_numpy()
    base = np.arange(len(rows)) if mask is None else np.flatnonzero(mask)
    out = {}
    for name, at in LANDMARKS:
        sel = base if at is None else base[(h[base] >= at) & (h[base] < at + 24.0)]
        # earliest row of each admission (rows of an admission in time order)
        order = sel[np.lexsort((h[sel], adm[sel]))]
        first = np.r_[True, adm[order][1:] != adm[order][:-1]] if order.size else np.array([], bool)
        out[name] = order[first]
    return out


def _cluster_bootstrap(groups, n_boot=N_BOOT, seed=SEED):
    """Index arrays of bootstrap samples that resample whole groups."""
    rng = np.random.default_rng(seed)
    g = np.asarray(groups)
    uniq, inv = np.unique(g, return_inverse=True)
    members = [np.flatnonzero(inv == k) for k in range(len(uniq))] if len(uniq) < len(g) else None
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        yield np.arange(len(g))[pick] if members is None else np.concatenate([members[k] for k in pick])


def report(y, p, groups=None, n_boot=N_BOOT):
    """risk_report plus bootstrap CIs (over ``groups``, default rows) of the
    Brier score and the calibration intercept and slope, the calibration
    curve and the decision curve."""
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    r = M.risk_report(y, p)
    r["bins"] = M.calibration_bins(y, p)
    r["net_benefit"] = M.net_benefit(y, p)
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    bs = {"brier": [], "calibration_intercept": [], "calibration_slope": [], "auroc": []}
    for idx in _cluster_bootstrap(groups, n_boot):
        yy, pp = y[idx], p[idx]
        if yy.min() == yy.max():
            continue
        try:
            a, b = M.calibration_intercept_slope(yy, pp)
        except M.MetricError:
            continue
        bs["calibration_intercept"].append(a)
        bs["calibration_slope"].append(b)
        bs["brier"].append(M.brier(yy, pp))
        bs["auroc"].append(M.auroc(yy, pp))
    for k, v in bs.items():
        v = np.asarray(v, float)
        v = v[np.isfinite(v)]
        r[f"{k}_boot_lo"], r[f"{k}_boot_hi"] = (
            (float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))) if v.size >= 20 else (np.nan, np.nan))
    r["bootstrap_samples"] = int(len(bs["brier"]))
    return r


def landmark_reports(rows, y, p, mask, oracle=None):
    """{landmark: {"model": report, "oracle": report or None}} on the rows of
    ``mask`` (validation); landmarks without both classes are left out."""
    out = {}
    for name, idx in landmark_index(rows, mask).items():
        yy = y[idx]
        if idx.size < 10 or yy.min() == yy.max():
            out[name] = {"n": int(idx.size), "events": int(yy.sum()) if idx.size else 0,
                         "model": None, "oracle": None,
                         "note": "too few rows or only one class at this landmark"}
            continue
        o = None
        if oracle is not None and np.isfinite(oracle[idx]).all():
            o = M.risk_report(yy, oracle[idx])
        out[name] = {"n": int(idx.size), "events": int(yy.sum()), "model": report(yy, p[idx]), "oracle": o}
    return out


ALL_ROWS = "all validation rows"


def oracle_comparison(rows, y, p, q, mask):
    """The model against the true risk q at the same rows (synthetic cohorts):
    {row set: {"n", "events", "model_auroc", "oracle_auroc", "gap", "gap_se"}}
    for each landmark (one row per admission) and for all rows of ``mask``;
    ``gap`` = oracle AUROC − model AUROC, ``gap_se`` its paired DeLong
    standard error.  A row set with under 10 rows or under 2 rows of either
    class (no standard error) is left out; None when q is None or not finite
    on the rows of ``mask``."""
    if q is None:
        return None
    idx_all = np.flatnonzero(mask)
    if not np.isfinite(q[idx_all]).all():
        return None
    sets = dict(landmark_index(rows, mask))
    sets[ALL_ROWS] = idx_all
    out = {}
    for name, idx in sets.items():
        yy = y[idx]
        if idx.size < 10 or min(yy.sum(), idx.size - yy.sum()) < 2:
            continue
        a_m, a_q = M.auroc(yy, p[idx]), M.auroc(yy, q[idx])
        out[name] = {"n": int(idx.size), "events": int(yy.sum()), "model_auroc": a_m, "oracle_auroc": a_q,
                     "gap": a_q - a_m, "gap_se": M.auroc_diff_se(yy, q[idx], p[idx])}
    return out


def age_band(age):
    a = np.asarray(age, float)
    return np.where(np.isnan(a), "age unknown",
                    np.where(a < 50, "age < 50", np.where(a < 65, "age 50-64",
                             np.where(a < 80, "age 65-79", "age >= 80"))))


def subgroups(labels, y, p, min_rows=30):
    """{(kind, group): risk_report} for every group with both classes and at
    least ``min_rows`` rows; groups too small are listed with their size."""
    out = []
    for kind, lab in labels.items():
        lab = np.asarray(lab, dtype=object)
        for g in sorted({str(x) for x in lab}):
            m = np.array([str(x) == g for x in lab])
            yy = y[m]
            row = {"by": kind, "group": g, "n": int(m.sum()), "events": int(yy.sum())}
            if m.sum() >= min_rows and 0 < yy.sum() < m.sum():
                rr = M.risk_report(yy, p[m])
                row.update({k: rr[k] for k in ("auroc", "auroc_lo", "auroc_hi", "brier",
                                               "calibration_intercept", "calibration_slope",
                                               "mean_predicted", "prevalence")})
            out.append(row)
    return out


def baseline(Xtr, ytr, Xva, names, k=3):
    """Plain logistic regression on the ``k`` inputs with the strongest
    univariate training AUROC (|AUROC - 0.5|, inputs present in at least half
    the training rows).  Returns (validation predictions, chosen names)."""
    from sklearn.linear_model import LogisticRegression
    strength = []
    for j, n in enumerate(names):
        v = Xtr[:, j]
        ok = np.isfinite(v)
        if ok.mean() < 0.5 or np.unique(v[ok]).size < 2 or ytr[ok].min() == ytr[ok].max():
            continue
        strength.append((abs(M.auroc(ytr[ok], v[ok]) - 0.5), j))
    strength.sort(reverse=True)
    cols = [j for _, j in strength[:k]]
    if not cols:
        return None, []
    med = np.array([np.nanmedian(Xtr[:, j]) for j in cols])

    def design(X):
        D = X[:, cols].copy()
        for c in range(D.shape[1]):
            D[np.isnan(D[:, c]), c] = med[c]
        return D
    Dtr = design(Xtr)
    mu, sd = Dtr.mean(0), Dtr.std(0)
    sd[sd == 0] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=2000).fit((Dtr - mu) / sd, ytr)
    return lr.predict_proba((design(Xva) - mu) / sd)[:, 1], [names[j] for j in cols]


def gate(task_checks, stay_check=None, rules=GATE):
    """The gate's rows: every deployed risk task, and the stay model.

    ``task_checks``: list of dicts (task, events, slope, auroc, baseline_auroc,
    baseline_inputs, oracle: an oracle_comparison() or None).  The true risk
    (synthetic cohorts) gives two rules: on all validation rows the model is
    at most ``oracle_margin`` below it; on every row set (each landmark and
    all rows) it is not above it by more than ``oracle_noise_z`` standard
    errors of the difference (more would mean it sees something it should
    not: leakage).  Returns {"rows", "passed"}."""
    rows = []
    lo, hi = rules["calibration_slope"]
    for t in task_checks:
        name = t["task"]
        rows.append({"what": f"{name}: validation events", "value": t["events"],
                     "target": f">= {rules['min_validation_events']}",
                     "ok": t["events"] >= rules["min_validation_events"]})
        rows.append({"what": f"{name}: calibration slope", "value": t["slope"],
                     "target": f"{lo}–{hi}", "ok": bool(lo <= t["slope"] <= hi)})
        if t.get("baseline_auroc") is not None:
            rows.append({"what": f"{name}: AUROC − baseline AUROC (logistic on "
                                 f"{', '.join(t['baseline_inputs'])})",
                         "value": t["auroc"] - t["baseline_auroc"],
                         "target": f">= −{rules['baseline_margin']}",
                         "ok": t["auroc"] - t["baseline_auroc"] >= -rules["baseline_margin"]})
        orc = t.get("oracle") or {}
        if ALL_ROWS in orc:
            g = orc[ALL_ROWS]["gap"]
            rows.append({"what": f"{name}: true risk AUROC − model AUROC, {ALL_ROWS}",
                         "value": g, "target": f"<= {rules['oracle_margin']}",
                         "ok": bool(g <= rules["oracle_margin"])})
        for rset, d in orc.items():
            z = rules["oracle_noise_z"]
            rows.append({"what": f"{name}: model AUROC − true risk AUROC, {rset} (not above beyond noise)",
                         "value": -d["gap"], "target": f"<= {z:g} SE = {z * d['gap_se']:.3f}",
                         "ok": bool(-d["gap"] <= z * d["gap_se"])})
    if stay_check is not None:
        rows.append({"what": "icu_stay: Harrell's C", "value": stay_check,
                     "target": f">= {rules['min_stay_concordance']}",
                     "ok": stay_check >= rules["min_stay_concordance"]})
    return {"rows": rows, "passed": all(r["ok"] for r in rows), "rules": dict(rules)}
