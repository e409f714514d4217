"""Training: temporal split, logistic regression and xgboost, validation,
model card, and (optionally) deployment into the model registry.

    python3 -m model.train --dbname icu --out cards/run1 [--horizon 48h]
                           [--deploy [--activate]] [--version V]

Steps (each prints a progress line to stderr):
  1. read the training rows from the database through the extension's panel
     functions (model.tasks; no feature is computed in Python);
  2. split in time, grouped by patient: admissions before the split time
     train, patients first seen after it validate;
  3. fit, for ICU admission risk, a logistic regression with exactly the
     preprocessing the C runtime applies (impute, clip, log, standardise,
     missing indicators) and an xgboost binary:logistic model; for ICU
     length of stay a log-normal AFT linear model (censored maximum
     likelihood) and an xgboost survival:aft model;
  4. evaluate all candidates on the validation rows (model.metrics) and
     propose the better one: lowest log loss for risk (a proper score that
     rewards discrimination and calibration together), highest Harrell C
     for stay;
  5. write the model card (model.card) and, with --deploy, insert the
     proposed models as new versions in one transaction (model.deploy),
     activating them only with --activate.

Bad input raises TrainingError (model/errors.py); the command line ends
then with one line on stderr and exit status 2, and nothing is written to
the database.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
import time

import numpy as np
import psycopg2

from . import metrics as M
from . import options
from . import spec as S
from . import tasks as T
from .errors import MetricError, TrainingError, UserError

MIN_ROWS = 50          # fewer training rows than this: refuse
MIN_EVENTS = 10        # fewer ICU events (train or validation): refuse
SEED = 20200401


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------
def temporal_split(rows, train_fraction=0.7):
    """Split rows (DataFrame with patient_id, admission_id, admitted_at) in time.

    The split time is the ``train_fraction`` quantile of admission times.
    Train: admissions before it.  Validation: admissions at or after it whose
    patient has no admission before it (grouped by patient: no patient is on
    both sides).  Returns (train_mask, valid_mask, info).
    """
    adm = rows[["admission_id", "patient_id", "admitted_at"]].drop_duplicates("admission_id")
    if adm.empty:
        raise TrainingError("no rows to split")
    times = adm["admitted_at"].sort_values().reset_index(drop=True)
    split_at = times.iloc[min(len(times) - 1, int(len(times) * train_fraction))]
    train_adm = set(adm.loc[adm["admitted_at"] < split_at, "admission_id"])
    train_pat = set(adm.loc[adm["admitted_at"] < split_at, "patient_id"])
    late = adm[adm["admitted_at"] >= split_at]
    valid_adm = set(late.loc[~late["patient_id"].isin(train_pat), "admission_id"])
    dropped = len(late) - len(valid_adm)
    tr = rows["admission_id"].isin(train_adm).to_numpy()
    va = rows["admission_id"].isin(valid_adm).to_numpy()
    info = {"split_at": str(split_at), "train_admissions": len(train_adm),
            "validation_admissions": len(valid_adm),
            "validation_admissions_dropped_patient_seen_in_training": int(dropped)}
    return tr, va, info


# ---------------------------------------------------------------------------
# Inputs: what the models read (all through the C runtime's input kinds)
# ---------------------------------------------------------------------------
def choose_linear_inputs(X, inputs, transforms=None):
    """Preprocessing for the linear spec, learned on the training rows only.

    Lab statistics that are positive and skewed get log with clip at the
    0.5th/99.5th percentiles; others are clipped there too.  Missing values
    are imputed with the training median and get a missing indicator when
    any are missing.  An input missing in every row is an error.
    ``transforms`` (configuration inputs.transforms) names the transform of
    an input instead: none, log (clip floor above 0) or log1p; auto = the rule.
    """
    transforms = transforms or {}
    out = []
    for j, inp in enumerate(inputs):
        v = X[:, j]
        ok = v[np.isfinite(v)]
        name = T.input_name(inp)
        if ok.size == 0:
            err = TrainingError(f"input {name} is missing in every training row; "
                                "remove it or load the labs it needs (see lab_map)")
            err.feature = inp.get("feature")
            raise err
        lo, hi = np.quantile(ok, [0.005, 0.995])
        if hi <= lo:
            hi = lo + 1.0
        d = dict(inp)
        d["impute"] = float(np.median(ok))
        stat = inp.get("stat")
        forced = transforms.get(name, "auto")
        if forced == "log":
            pos = ok[ok > 0]
            if pos.size == 0:
                raise TrainingError(f"input {name}: transform log needs positive values, "
                                    "the training rows have none")
            floor = max(float(lo), float(np.quantile(pos, 0.005)))
            d["clip"] = [floor, float(max(hi, floor * 1.0001))]
            d["transform"] = "log"
        elif forced == "log1p":
            if lo < 0:
                raise TrainingError(f"input {name}: transform log1p needs values >= 0")
            d["clip"] = [float(lo), float(hi)]
            d["transform"] = "log1p"
        elif forced == "none":
            d["clip"] = [float(lo), float(hi)]
        elif stat in ("last", "prev", "first", "min", "max", "mean") and lo >= 0 \
                and np.median(ok) > 0 and hi / max(np.median(ok), 1e-9) > 3:
            floor = max(float(lo), float(np.quantile(ok[ok > 0], 0.005)) if (ok > 0).any() else 1e-3)
            d["clip"] = [floor, float(max(hi, floor * 1.0001))]
            d["transform"] = "log"
        elif stat == "count" or stat == "rejected":
            d["clip"] = [0.0, float(max(hi, 1.0))]
            d["transform"] = "log1p"
        else:
            d["clip"] = [float(lo), float(hi)]
        d["missing_indicator"] = bool(np.isnan(v).any()) and "feature" in inp
        out.append(d)
    return out


# ---------------------------------------------------------------------------
# Risk models
# ---------------------------------------------------------------------------
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
RIDGE_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def fit_logistic(Xtr, ytr, inputs, order_key, transforms=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    lin_inputs = choose_linear_inputs(Xtr, inputs, transforms)
    D = S.preprocess(lin_inputs, Xtr)
    # The L2 penalty is chosen on an inner temporal split of the training
    # rows (the latest 20% in time), by log loss: too little penalty
    # overfits (calibration slope < 1 on new patients), too much flattens.
    a, b = _time_order_inner_split(order_key)
    best_c, best_ll = None, math.inf
    if len(np.unique(ytr[a])) == 2 and len(np.unique(ytr[b])) == 2:
        for c in C_GRID:
            pipe = Pipeline([("scale", StandardScaler()),
                             ("lr", LogisticRegression(C=c, max_iter=2000))])
            pipe.fit(D[a], ytr[a])
            ll = log_loss(ytr[b], pipe.predict_proba(D[b])[:, 1])
            if ll < best_ll:
                best_c, best_ll = c, ll
    best_c = best_c or 1.0
    pipe = Pipeline([("scale", StandardScaler()),
                     ("lr", LogisticRegression(C=best_c, max_iter=2000))])
    pipe.fit(D, ytr)
    spec = S.linear_spec(lin_inputs, pipe, kind="icu_admission")
    spec_c = best_c
    return spec, spec_c


def predict_linear_risk(spec, X):
    eta = S.linear_margin(spec, X)
    return 1 / (1 + np.exp(-eta))


def _time_order_inner_split(order_key, frac=0.8):
    """Inner split of the training rows for early stopping: the last
    (1-frac) share in time, never the validation rows."""
    idx = np.argsort(order_key, kind="mergesort")
    cut = int(len(idx) * frac)
    return idx[:cut], idx[cut:]


def fit_xgb_risk(Xtr, ytr, inputs, order_key):
    import xgboost as xgb
    a, b = _time_order_inner_split(order_key)
    params = {"objective": "binary:logistic", "eval_metric": "logloss",
              "max_depth": 3, "eta": 0.05, "min_child_weight": 5,
              "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 1.0,
              "tree_method": "hist", "seed": SEED, "nthread": 2}
    dA = xgb.DMatrix(Xtr[a], label=ytr[a], missing=np.nan)
    dB = xgb.DMatrix(Xtr[b], label=ytr[b], missing=np.nan)
    bst = xgb.train(params, dA, num_boost_round=600, evals=[(dB, "inner")],
                    early_stopping_rounds=40, verbose_eval=False)
    rounds = bst.best_iteration + 1
    # refit on all training rows with the chosen number of rounds
    dall = xgb.DMatrix(Xtr, label=ytr, missing=np.nan)
    bst = xgb.train(params, dall, num_boost_round=rounds)
    return bst, S.xgboost_spec(bst, inputs), rounds


def predict_xgb(bst, X):
    import xgboost as xgb
    return bst.predict(xgb.DMatrix(X, missing=np.nan))


def log_loss(y, p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


# ---------------------------------------------------------------------------
# Stay models (right-censored)
# ---------------------------------------------------------------------------
def fit_lognormal_aft(D, t, e, ridge=1e-4):
    """Censored log-normal regression: log T = b0 + D b + sigma Z, Z ~ N(0,1).

    Maximum likelihood with scipy (BFGS on (b, log sigma)); D is already
    standardised.  Returns (intercept, coef, sigma).
    """
    from scipy import optimize, stats
    y = np.log(np.maximum(t, 1e-3))
    X = np.c_[np.ones(len(y)), D]
    ev = e.astype(bool)
    beta0 = np.linalg.lstsq(X[ev], y[ev], rcond=None)[0] if ev.sum() > X.shape[1] else np.r_[y.mean(), np.zeros(D.shape[1])]
    s0 = float(np.std(y[ev] - X[ev] @ beta0)) if ev.sum() > 2 else 1.0
    theta0 = np.r_[beta0, math.log(max(s0, 0.05))]

    def nll(theta):
        b, ls = theta[:-1], theta[-1]
        s = math.exp(ls)
        z = (y - X @ b) / s
        ll = np.where(ev, stats.norm.logpdf(z) - ls, stats.norm.logsf(z))
        return -ll.sum() + ridge * np.sum(b[1:] ** 2)

    def grad(theta):
        # d ll/d b = X' w / s with w = z (ended) or the inverse Mills ratio
        # phi(z)/S(z) (censored); d ll/d log s = z^2 - 1 (ended) or h z
        b, ls = theta[:-1], theta[-1]
        s = math.exp(ls)
        z = (y - X @ b) / s
        h = np.exp(stats.norm.logpdf(z) - stats.norm.logsf(z))
        w = np.where(ev, z, h)
        gb = -(X.T @ w) / s
        gb[1:] += 2 * ridge * b[1:]
        gls = -np.sum(np.where(ev, z * z - 1, h * z))
        return np.r_[gb, gls]

    res = optimize.minimize(nll, theta0, jac=grad, method="L-BFGS-B")
    b, ls = res.x[:-1], res.x[-1]
    return float(b[0]), b[1:], float(math.exp(ls))


def _aft_nll(D, t, e, b0, coef, sigma):
    from scipy import stats
    y = np.log(np.maximum(t, 1e-3))
    z = (y - b0 - D @ coef) / sigma
    ev = e.astype(bool)
    return float(-np.mean(np.where(ev, stats.norm.logpdf(z) - math.log(sigma), stats.norm.logsf(z))))


def fit_linear_stay(Xtr, t, e, inputs, order_key):
    from sklearn.preprocessing import StandardScaler
    lin_inputs = choose_linear_inputs(Xtr, inputs)
    D = S.preprocess(lin_inputs, Xtr)
    sc = StandardScaler().fit(D)
    Z = sc.transform(D)
    # ridge chosen on an inner temporal split by censored log-likelihood
    a, b = _time_order_inner_split(order_key)
    best_r, best_nll = RIDGE_GRID[-1], math.inf
    if e[b].sum() >= 3:
        for r in RIDGE_GRID:
            fit = fit_lognormal_aft(Z[a], t[a], e[a], ridge=r)
            nll = _aft_nll(Z[b], t[b], e[b], *fit)
            if nll < best_nll:
                best_r, best_nll = r, nll
    b0, coef, sigma = fit_lognormal_aft(Z, t, e, ridge=best_r)

    class _Fitted:          # the shape linear_spec expects
        coef_ = coef
        intercept_ = np.array([b0])

    class _Pipe:
        steps = [("scale", sc), ("aft", _Fitted())]

    return S.linear_spec(lin_inputs, _Pipe(), kind="icu_stay",
                         stay={"distribution": "normal", "sigma": sigma})


def fit_xgb_stay(Xtr, t, e, inputs, order_key, sigma):
    import xgboost as xgb
    lower = np.maximum(t, 1e-3)
    upper = np.where(e.astype(bool), lower, np.inf)
    params = {"objective": "survival:aft", "eval_metric": "aft-nloglik",
              "aft_loss_distribution": "normal",
              "aft_loss_distribution_scale": float(sigma),
              "max_depth": 3, "eta": 0.05, "min_child_weight": 5,
              "subsample": 0.8, "colsample_bytree": 0.8,
              "tree_method": "hist", "seed": SEED, "nthread": 2}

    def dm(idx):
        d = xgb.DMatrix(Xtr[idx], missing=np.nan)
        d.set_float_info("label_lower_bound", lower[idx])
        d.set_float_info("label_upper_bound", upper[idx])
        return d

    a, b = _time_order_inner_split(order_key)
    bst = xgb.train(params, dm(a), num_boost_round=600, evals=[(dm(b), "inner")],
                    early_stopping_rounds=40, verbose_eval=False)
    rounds = bst.best_iteration + 1
    bst = xgb.train(params, dm(np.arange(len(t))), num_boost_round=rounds)
    return bst, S.xgboost_spec(bst, inputs), rounds


def stay_predictions(spec, X, bst=None):
    dist, sigma = S.stay_params(spec)
    if spec["format"] == "linear":
        mu = S.linear_margin(spec, X)
    else:
        mu = np.log(predict_xgb(bst, X))
    return S.stay_summary(mu, dist, sigma)


# ---------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------
def _check_rows(name, y_or_e, n_min=MIN_ROWS, ev_min=MIN_EVENTS, what="ICU admissions"):
    n = len(y_or_e)
    k = int(np.sum(y_or_e))
    if n < n_min:
        raise TrainingError(f"{name}: only {n} rows (need at least {n_min}); "
                            "is the cohort loaded (admission, location_stay, lab_result)?")
    if k < ev_min:
        raise TrainingError(f"{name}: only {k} {what} among {n} rows (need at least "
                            f"{ev_min}); the cohort is too small or has no ICU events")


def _epoch(col):
    import pandas as pd
    return pd.to_datetime(col, utc=True).astype("int64").to_numpy()


def train_risk(rows, inputs, split_masks, label="label", candidates=("logistic", "xgboost"),
               transforms=None, what="ICU admissions"):
    tr, va = split_masks
    X = rows[[T.input_name(i) for i in inputs]].to_numpy(dtype=float)
    y = rows[label].to_numpy(dtype=float)
    _check_rows("training rows", y[tr], what=what)
    _check_rows("validation rows", y[va], n_min=MIN_ROWS // 2, what=what)
    order = _epoch(rows["as_of"])
    fitted = []
    if "logistic" in candidates:
        progress(f"  logistic regression on {tr.sum()} rows, {len(inputs)} inputs")
        lr_spec, lr_c = fit_logistic(X[tr], y[tr], inputs, order[tr], transforms)
        progress(f"    L2 penalty C = {lr_c} (inner temporal split)")
        fitted.append(("logistic", lr_spec, predict_linear_risk(lr_spec, X[va])))
    if "xgboost" in candidates:
        progress(f"  xgboost binary:logistic on {tr.sum()} rows")
        bst, xgb_spec, rounds = fit_xgb_risk(X[tr], y[tr], inputs, order[tr])
        fitted.append(("xgboost", xgb_spec, predict_xgb(bst, X[va])))
    yv = y[va]
    cands = {}
    for cname, spec_, p in fitted:
        cands[cname] = {
            "spec": spec_, "y": yv, "p": p, "metrics": M.risk_report(yv, p),
            "bins": M.calibration_bins(yv, p), "net_benefit": M.net_benefit(yv, p),
            "log_loss": log_loss(yv, p)}
        cands[cname]["metrics"]["log_loss"] = cands[cname]["log_loss"]
    if "xgboost" in cands:
        cands["xgboost"]["rounds"] = rounds
    if "logistic" in cands:
        cands["logistic"]["C"] = lr_c
    best = min(cands, key=lambda c: cands[c]["log_loss"])
    cands[best]["proposed"] = True
    return cands, best


def train_stay(rows, inputs, split_masks, candidates=("lognormal_aft", "xgboost_aft")):
    tr, va = split_masks
    X = rows[[T.input_name(i) for i in inputs]].to_numpy(dtype=float)
    t = rows["stay_days"].to_numpy(dtype=float)
    e = rows["ended"].to_numpy(dtype=float)
    _check_rows("ICU stays (training)", e[tr], n_min=20, ev_min=10, what="ended stays")
    _check_rows("ICU stays (validation)", e[va], n_min=10, ev_min=5, what="ended stays")
    progress(f"  log-normal AFT (linear) on {tr.sum()} ICU stays")
    order = _epoch(rows["icu_start"])
    lin = fit_linear_stay(X[tr], t[tr], e[tr], inputs, order[tr])
    sigma = lin["stay"]["sigma"]
    fitted = []
    if "lognormal_aft" in candidates:
        fitted.append(("lognormal_aft", lin, None))
    if "xgboost_aft" in candidates:
        progress(f"  xgboost survival:aft on {tr.sum()} ICU stays")
        bst, xspec, rounds = fit_xgb_stay(X[tr], t[tr], e[tr], inputs, order[tr], sigma)
        fitted.append(("xgboost_aft", xspec, bst))
    cands = {}
    for cname, spec_, b in fitted:
        pr = stay_predictions(spec_, X[va], b)
        cands[cname] = {"spec": spec_, "time": t[va], "event": e[va],
                        "metrics": M.stay_report(t[va], e[va], pr["median"], pr["p10"], pr["p90"])}
    if "xgboost_aft" in cands:
        cands["xgboost_aft"]["rounds"] = rounds
    best = max(cands, key=lambda c: cands[c]["metrics"]["concordance"])
    cands[best]["proposed"] = True
    return cands, best


def quality_gate(risk_metrics, oracle_metrics, auroc_margin=0.03, slope=(0.9, 1.1)):
    """Rows for the card: model AUROC within ``auroc_margin`` of the oracle's
    (or above it), calibration slope within ``slope``."""
    gap = oracle_metrics["auroc"] - risk_metrics["auroc"]
    s = risk_metrics["calibration_slope"]
    rows = [
        {"what": "oracle AUROC (true risk)", "value": oracle_metrics["auroc"],
         "target": "reference", "ok": True},
        {"what": "model AUROC", "value": risk_metrics["auroc"], "target": "reference", "ok": True},
        {"what": "oracle AUROC − model AUROC", "value": gap,
         "target": f"≤ {auroc_margin}", "ok": gap <= auroc_margin},
        {"what": "calibration slope", "value": s,
         "target": f"{slope[0]}–{slope[1]}", "ok": slope[0] <= s <= slope[1]},
    ]
    return {"rows": rows, "passed": all(r["ok"] for r in rows),
            "auroc_gap": gap, "calibration_slope": s,
            "oracle_auroc": oracle_metrics["auroc"], "model_auroc": risk_metrics["auroc"]}


def legacy_config(horizons=("48h", "7d"), deploy_horizon="48h", train_fraction=0.7):
    """The configuration of the earlier call style (ICU horizons, deploy horizon)."""
    from . import config as CF
    cfg = CF.default()
    cfg["outcomes"] = [{"name": f"icu_{h}", "kind": "icu_admission", "horizon_hours": T.HORIZONS[h]}
                       for h in horizons]
    dh = [deploy_horizon] if isinstance(deploy_horizon, str) else list(deploy_horizon)
    cfg["deploy"]["outcomes"] = [f"icu_{h}" for h in dh]
    cfg["split"]["train_fraction"] = train_fraction
    return cfg


WHAT = {"icu_admission": "ICU admissions", "death": "deaths"}
MODEL_KIND = {"icu_admission": "icu_admission", "death": "death", "event": "event"}


def _outcome_words(o):
    h = o["horizon_hours"]
    span = f"{h // 24} days" if h % 24 == 0 and h >= 72 else f"{h} h"
    if o["kind"] == "icu_admission":
        return f"first ICU admission within {span}"
    if o["kind"] == "death":
        return f"in-hospital death within {span}"
    return f"first {o['event']} event (table {o['table']}) within {span}"


def _risk_model_name(prefix, o, algo):
    a = "lr" if algo == "logistic" else "xgb"
    if o["kind"] == "icu_admission" and o["horizon_hours"] in (48, 168):
        return f"{prefix}_risk_{'48h' if o['horizon_hours'] == 48 else '7d'}_{a}"
    return f"{prefix}_{o['name']}_{a}"[:63]


def _risk_rows(conn, o, schedule, inputs, end):
    from . import outcomes as O
    if o["kind"] == "icu_admission" and schedule["kind"] == "daily" and schedule["at"] == "00:00":
        return T.risk_rows(conn, o["horizon_hours"], inputs, end)
    return O.rows(conn, o, schedule, inputs, end)


def lab_cause(conn, feature):
    """Why no training row has a value of feature, from the extension's load
    diagnostics (lab_load_quality): no lab row maps to it, or rows map but are
    rejected (counted by reason), or values are there but none in time."""
    with conn.cursor() as cur:
        cur.execute("SELECT status, sum(n_rows)::bigint, min(detail) FROM icu_predict.lab_load_quality "
                    "WHERE feature = %s GROUP BY status ORDER BY 2 DESC, 1", (feature,))
        by_status = cur.fetchall()
    if not by_status:
        return (f"no lab row maps to feature {feature}: lab_unmapped lists the codes that reach no "
                "feature (add a lab_map row for the local code)")
    used = sum(n for st, n, _ in by_status if st == "used")
    rejected = [(st, n, d) for st, n, d in by_status if st != "used"]
    total = used + sum(n for _, n, _ in rejected)
    if used == 0:
        parts = ", ".join(f"{n} {st}" for st, n, _ in rejected)
        st, n, d = rejected[0]
        return (f"all {total} lab rows of feature {feature} were rejected ({parts}); "
                f"for example: {d} (SELECT * FROM icu_predict.lab_load_quality WHERE feature = '{feature}')")
    return (f"{used} of {total} lab rows of feature {feature} are used, but none falls in a training "
            "row's window (result times before the prediction times?)")


def _with_lab_cause(conn, err):
    feature = getattr(err, "feature", None)
    if not feature:
        return err
    try:
        cause = lab_cause(conn, feature)
    except psycopg2.Error:
        conn.rollback()
        return err
    return TrainingError(f"{err}: {cause}")


def run(conn, out_dir, horizons=("48h", "7d"), deploy_horizon="48h", train_fraction=0.7,
        data_end=None, synthetic=None, version=None, deploy=False, activate=False,
        name_prefix="icu", config=None, deploy_all=False, force=False):
    """Train, validate, write the card; deploy when asked.  Returns a summary dict.

    ``config`` (model/config.py) says what to train; without it the ICU
    horizons, deploy horizon and train fraction of the arguments are used.
    Every task runs on its own: one that fails is reported (card, summary
    ``failed``) and skipped; only when every task fails does the run raise.
    The quality gate (model/validate.py) runs on every run; with ``deploy``
    a failed gate raises GateError after the card is written, unless
    ``force`` (then recorded in the models' training and metrics).
    """
    from . import oracle as OR
    from . import validate as V
    from . import config as CF
    t0 = time.time()
    cfg = CF.validate(config if config is not None
                      else legacy_config(horizons, deploy_horizon, train_fraction))
    train_fraction = cfg["split"]["train_fraction"]
    schedule = cfg["schedule"]
    T.check_extension(conn)
    if synthetic is None:
        synthetic = T.has_oracle(conn)
    data_end = data_end or T.data_end(conn)
    progress(f"data end (labels censored after it): {data_end}")
    feats = cfg["inputs"]["features"] or T.mapped_features(conn)
    risk_inputs = [{"feature": f, "stat": s} for f in feats for s in cfg["inputs"]["stats"]]
    risk_inputs += [{"covariate": c} for c in cfg["inputs"]["covariates"]]
    # the baseline picks its three inputs from the last value of every mapped
    # lab and the covariates, whatever the configuration gives the model
    offer = [{"feature": f, "stat": "last"} for f in T.mapped_features(conn)] + \
            [{"covariate": c} for c in T.TRAINABLE_COVARIATES]
    names_in = {T.input_name(i) for i in risk_inputs}
    fetch_inputs = risk_inputs + [i for i in offer if T.input_name(i) not in names_in]
    stay_inputs = T.stay_inputs(conn, cfg["inputs"]["features"] or None)
    version = version or dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d.%H%M%S")
    transforms = cfg["inputs"]["transforms"]
    stay_wanted = bool(cfg["candidates"]["stay"])

    kinds = sorted({o["kind"] for o in cfg["outcomes"]})
    card = {"title": f"{', '.join(o['name'] for o in cfg['outcomes'])}"
                     + (" and ICU length of stay" if stay_wanted else "") + f", version {version}",
            "synthetic": bool(synthetic), "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "tasks": {}, "data": {}, "split": {}, "risk": {}, "oracle": {},
            "stay": {}, "notes": [], "failed": {},
            "configuration": {"schedule": CF.describe_schedule(schedule),
                              "inputs": f"{len(feats)} lab features x {', '.join(cfg['inputs']['stats']) or 'no stats'}; "
                                        f"covariates {', '.join(cfg['inputs']['covariates']) or 'none'}",
                              "transforms": ", ".join(f"{k}: {v}" for k, v in transforms.items()) or "auto",
                              "candidates": f"risk {', '.join(cfg['candidates']['risk'])}; "
                                            f"stay {', '.join(cfg['candidates']['stay']) or 'not trained'}",
                              "split": f"temporal, grouped by patient, train fraction {train_fraction}"}}
    for o in cfg["outcomes"]:
        desc = T.DESCRIPTIONS.get(o["name"]) if o["kind"] == "icu_admission" and \
            schedule["kind"] == "daily" and schedule["at"] == "00:00" else None
        card["tasks"][o["name"]] = desc or (
            f"{_outcome_words(o)} after each prediction time ({CF.describe_schedule(schedule)}); "
            "rows while the patient is in hospital and before the outcome; outcome-unknown rows left out")
    if stay_wanted:
        card["tasks"]["icu_stay"] = T.DESCRIPTIONS["icu_stay"]
    if synthetic:
        card["notes"].append("Trained and validated on the synthetic cohort of model/synth.py; "
                             "its numbers say nothing about performance on real patients.")
    results = {"version": version, "risk": {}, "stay": None, "failed": {}}
    risk_sets = {}
    first_error = None
    for o in cfg["outcomes"]:
        task = o["name"]
        try:
            progress(f"reading rows for {task}: {_outcome_words(o)} ({CF.describe_schedule(schedule)}, through lab_panel)")
            if o["kind"] == "event":
                from . import outcomes as O
                n_ev, n_out = O.event_rows_outside(conn, o, data_end)
                card["data"][f"{task}: rows in {o['table']} (not matching an admission or outside "
                             f"admission..data end)"] = f"{n_ev} ({n_out})"
            rows = _risk_rows(conn, o, schedule, fetch_inputs, data_end)
            if len(rows) == 0:
                raise TrainingError("no prediction rows found: the cohort is empty "
                                    "(load admission, location_stay and lab_result first)"
                                    if schedule["kind"] == "daily" and o["kind"] == "icu_admission"
                                    else f"{task}: no prediction rows (no admission in hospital at "
                                         f"the prediction times before the outcome)")
            progress(f"  {len(rows)} rows, {int(rows['label'].sum())} with the outcome, "
                     f"{rows['admission_id'].nunique()} admissions")
            tr, va, info = temporal_split(rows, train_fraction)
            card["split"] = {k: v for k, v in info.items()}
            progress(f"training {task}")
            cands, best = train_risk(rows, risk_inputs, (tr, va), candidates=cfg["candidates"]["risk"],
                                     transforms=transforms,
                                     what=WHAT.get(o["kind"], f"{o.get('event')} events"))
        except (TrainingError, MetricError) as e:
            if isinstance(e, TrainingError):
                e = _with_lab_cause(conn, e)
            if first_error is None:
                first_error = e
            card["failed"][task] = str(e)
            results["failed"][task] = str(e)
            progress(f"  {task} FAILED, skipped: {e}")
            continue
        card["risk"][task] = {c: {k: v for k, v in d.items() if k != "spec"} for c, d in cands.items()}
        # validation a clinician can read: per admission at landmarks, with
        # the true risk at the same rows (synthetic), baseline, subgroups
        y_all = rows["label"].to_numpy(float)
        q = OR.landmark(conn, rows, o["horizon_hours"], o["kind"]) if synthetic else None
        p_all = np.full(len(rows), np.nan)
        p_all[va] = cands[best]["p"]
        lms = V.landmark_reports(rows, y_all, p_all, va, q)
        card.setdefault("landmarks", {})[task] = lms
        results.setdefault("landmarks", {})[task] = {
            k: {"n": v["n"], "events": v["events"],
                "model": {kk: vv for kk, vv in (v["model"] or {}).items() if kk not in ("bins", "net_benefit")}
                if v["model"] else None, "oracle": v["oracle"]} for k, v in lms.items()}
        rowrep = V.report(y_all[va], cands[best]["p"], groups=rows["admission_id"].to_numpy()[va])
        card.setdefault("row_reports", {})[task] = {kk: vv for kk, vv in rowrep.items()
                                                    if kk not in ("bins", "net_benefit")}
        Xoff = rows[[T.input_name(i) for i in fetch_inputs]].to_numpy(float)
        pb, bnames = V.baseline(Xoff[tr], y_all[tr], Xoff[va], [T.input_name(i) for i in fetch_inputs])
        base = None
        if pb is not None:
            base = {"inputs": bnames, **M.risk_report(y_all[va], pb)}
        card.setdefault("baseline", {})[task] = base
        first_idx = V.landmark_index(rows, va)["first prediction"]
        labels = {}
        if "age_years" in rows:
            labels["age band"] = V.age_band(rows["age_years"].to_numpy(float)[first_idx])
        if "sex_male" in rows:
            sm = rows["sex_male"].to_numpy(float)[first_idx]
            labels["sex"] = np.where(np.isnan(sm), "sex unknown", np.where(sm == 1, "male", "female or other"))
        labels["ward"] = ward_at(conn, rows["admission_id"].to_numpy()[first_idx],
                                 rows["as_of"].to_numpy()[first_idx])
        card.setdefault("subgroups", {})[task] = V.subgroups(labels, y_all[first_idx], p_all[first_idx])
        card.setdefault("reference_scores", {})[task] = reference_rows(conn, rows, y_all, p_all, va)
        results.setdefault("reference_scores", {})[task] = card["reference_scores"][task]
        card["data"][f"{task} rows (train / validation)"] = f"{int(tr.sum())} / {int(va.sum())}"
        card["data"][f"{task} events (train / validation)"] = \
            f"{int(rows['label'][tr].sum())} / {int(rows['label'][va].sum())}"
        if q is not None and np.isfinite(q[va]).all():
            card["oracle"][task] = M.risk_report(y_all[va], q[va])
        oc = V.oracle_comparison(rows, y_all, p_all, q, va)
        if oc:
            card.setdefault("oracle_comparison", {})[task] = oc
            results.setdefault("oracle_comparison", {})[task] = oc
        if synthetic and o["kind"] == "icu_admission" and T.has_oracle(conn):
            orc = T.oracle_scores(conn, rows.loc[va, "admission_id"])
            if orc is not None and not np.isnan(orc).any():
                card.setdefault("oracle_admission", {})[task] = M.risk_report(y_all[va], orc)
        risk_sets[task] = (cands, best, rows, va, o)
        results["risk"][task] = {c: d["metrics"] for c, d in cands.items()}
        results["risk"][task]["proposed"] = best
        for c, d in cands.items():
            m = d["metrics"]
            progress(f"  {task} {c}: AUROC {m['auroc']:.3f} ({m['auroc_lo']:.3f}-{m['auroc_hi']:.3f}), "
                     f"slope {m['calibration_slope']:.2f}, Brier {m['brier']:.4f}"
                     + ("  <- proposed" if c == best else ""))

    scands = sbest = None
    if stay_wanted:
        try:
            progress("reading ICU stays (through lab_panel as of ICU admission)")
            srows = T.stay_rows(conn, stay_inputs, data_end)
            progress(f"  {len(srows)} ICU stays, {int(srows['ended'].sum())} ended, "
                     f"{int(len(srows) - srows['ended'].sum())} still in ICU (censored)")
            if len(srows) == 0:
                raise TrainingError("no ICU stays in the cohort: cannot train the length-of-stay model")
            str_, sva, sinfo = temporal_split(srows, train_fraction)
            progress("training ICU length of stay")
            scands, sbest = train_stay(srows, stay_inputs, (str_, sva), cfg["candidates"]["stay"])
        except (TrainingError, MetricError) as e:
            if isinstance(e, TrainingError):
                e = _with_lab_cause(conn, e)
            if first_error is None:
                first_error = e
            card["failed"]["icu_stay"] = str(e)
            results["failed"]["icu_stay"] = str(e)
            progress(f"  icu_stay FAILED, skipped: {e}")
            scands = None
    if not risk_sets and scands is None:
        raise first_error
    if scands is not None:
        card["stay"] = {c: {k: v for k, v in d.items() if k != "spec"} for c, d in scands.items()}
        card["data"]["ICU stays (train / validation)"] = f"{int(str_.sum())} / {int(sva.sum())}"
        results["stay"] = {c: {k: v for k, v in d["metrics"].items() if k != "by_decile"}
                           for c, d in scands.items()}
        results["stay"]["proposed"] = sbest
        for c, d in scands.items():
            m = d["metrics"]
            progress(f"  stay {c}: C {m['concordance']:.3f}, P10-P90 coverage (IPCW) "
                     f"{m['p10_p90_coverage_ipcw']:.3f}" + ("  <- proposed" if c == sbest else ""))

    # the models that go to the registry: the proposed one of each deployed outcome
    want = [o["name"] for o in cfg["outcomes"]] if deploy_all else list(cfg["deploy"]["outcomes"])
    deploy_tasks = [t for t in want if t in risk_sets]
    for t in want:
        if t not in risk_sets:
            progress(f"  {t} is not deployed: its task failed ({card['failed'].get(t)})")
    checks = []
    for t in deploy_tasks:
        cands, best, rows, va, _ = risk_sets[t]
        m = cands[best]["metrics"]
        b = card["baseline"].get(t)
        checks.append({"task": t, "events": m["events"], "slope": m["calibration_slope"], "auroc": m["auroc"],
                       "baseline_auroc": b["auroc"] if b else None,
                       "baseline_inputs": b["inputs"] if b else [],
                       "oracle": card.get("oracle_comparison", {}).get(t)})
    stay_c = scands[sbest]["metrics"]["concordance"] if scands is not None else None
    gate = V.gate(checks, stay_c)
    gate["forced"] = bool(force and not gate["passed"])
    card["gate"] = gate
    results["gate"] = {"passed": gate["passed"], "forced": gate["forced"],
                       "failed": [r["what"] for r in gate["rows"] if not r["ok"]]}
    for r in gate["rows"]:
        progress(f"quality gate: {r['what']} = {r['value']:.3f} (target {r['target']}): "
                 + ("pass" if r["ok"] else "FAIL"))
    from . import intended_use as IU
    headline = {}
    for t, lms in card.get("landmarks", {}).items():
        r = (lms.get("first prediction") or {}).get("model")
        if r:
            headline[t] = (r["n"], r["events"], r["auroc"], r["auroc_lo"], r["auroc_hi"])
    card["intended_use"] = IU.statement(cfg, bool(synthetic), scands is not None, data_end,
                                        card.get("split"), headline, gate)
    risk_names = [_risk_model_name(name_prefix, risk_sets[t][4], risk_sets[t][1]) for t in deploy_tasks]
    stay_name = (f"{name_prefix}_stay_{'aft' if sbest == 'lognormal_aft' else 'xgb'}"
                 if scands is not None else None)
    card["model"] = {"name": " + ".join(risk_names + ([stay_name] if stay_name else [])), "version": version,
                     "kind": " + ".join([MODEL_KIND[k] for k in kinds] + (["icu_stay"] if stay_name else [])),
                     "task": ", ".join(deploy_tasks),
                     "proposed": "; ".join(f"risk {t}: {risk_sets[t][1]}" for t in deploy_tasks)
                                 + (f"; stay: {sbest}" if stay_name else ""),
                     "features": [T.input_name(i) for i in risk_inputs]}
    progress(f"writing model card to {out_dir}")
    from . import card as C
    numbers = C.write_card(out_dir, card)
    training = {"data_end": str(data_end), "synthetic": bool(synthetic), "seed": SEED,
                "schedule": schedule, **card["split"], "card": os.path.abspath(out_dir),
                "forced": gate["forced"]}
    models = []
    for t in deploy_tasks:
        hc, hb, _, _, o = risk_sets[t]
        models.append(
            {"name": _risk_model_name(name_prefix, o, hb), "version": version,
             "kind": MODEL_KIND[o["kind"]], "outcome": o["outcome"], "horizon_hours": o["horizon_hours"],
             "spec": hc[hb]["spec"],
             "training": {**training, "task": t, "outcome": o["outcome"],
                          "horizon_hours": o["horizon_hours"], "algorithm": hb,
                          "rows_train_validation": card["data"][f"{t} rows (train / validation)"]},
             "metrics": {"validation": hc[hb]["metrics"],
                         "oracle": card["oracle"].get(t),
                         "oracle_comparison": card.get("oracle_comparison", {}).get(t),
                         "gate": {"passed": gate["passed"], "forced": gate["forced"],
                                  "failed": results["gate"]["failed"]},
                         "landmarks": results["landmarks"].get(t),
                         "baseline": card["baseline"].get(t),
                         "reference_scores": card.get("reference_scores", {}).get(t),
                         "candidates": {c: d["metrics"] for c, d in hc.items()}}})
    if stay_name:
        models.append(
            {"name": stay_name, "version": version, "kind": "icu_stay",
             "spec": scands[sbest]["spec"],
             "training": {**training, "task": "icu_stay", "algorithm": sbest},
             "metrics": {"validation": numbers["stay"][sbest]["metrics"],
                         "gate": {"passed": gate["passed"], "forced": gate["forced"],
                                  "failed": results["gate"]["failed"]},
                         "candidates": {c: numbers["stay"][c]["metrics"] for c in scands}}})
    results["models"] = [{k: m[k] for k in ("name", "version", "kind") if k in m}
                         | ({"outcome": m["outcome"], "horizon_hours": m["horizon_hours"]}
                            if "outcome" in m else {}) for m in models]
    with open(os.path.join(out_dir, "models.json"), "w") as f:
        json.dump(models, f, default=S.json_default)
    if deploy and not gate["passed"] and not force:
        raise GateError("quality gate failed (" + "; ".join(results["gate"]["failed"])
                        + f"): nothing deployed; the card in {out_dir} says why; --force deploys anyway "
                        "(recorded with the models)")
    if deploy:
        from . import deploy as D
        progress("deploying (one transaction)" + (" and activating" if activate else ""))
        ids = D.deploy_models(conn, models, activate=activate)
        results["model_ids"] = ids
        results["slots"] = active_slots(conn)
    progress(f"done in {time.time() - t0:.0f} s")
    return results


class GateError(UserError):
    """The quality gate failed and --force was not given: nothing deployed."""


def reference_rows(conn, rows, y, p, mask):
    """NEWS2 and ISARIC 4C (icu_predict.news2_points / isaric4c_points, via
    model/reference_scores.py) beside the model at
    each landmark of the rows of ``mask``: {landmark: {score: {...}}}."""
    from . import reference_scores as RS
    from . import validate as V
    lms = V.landmark_index(rows, mask)
    every = np.unique(np.concatenate([np.asarray(i, int) for i in lms.values()]))
    cols = [c for parts in RS.COMPONENTS.values() for c, _, _ in parts if c in rows]
    frame = rows.iloc[every][list(dict.fromkeys(cols))].reset_index(drop=True)
    frame["comorbidity_count"] = RS.comorbidity_count(conn, rows["admission_id"].to_numpy()[every],
                                                      rows["as_of"].to_numpy()[every])
    pts = RS.scores(conn, frame)
    where = {int(k): j for j, k in enumerate(every)}
    out = {}
    for name, idx in lms.items():
        at = [where[int(k)] for k in idx]
        sub = frame.iloc[at].reset_index(drop=True)
        out[name] = RS.evaluate(sub, y[idx], p[idx], {k: v[at] for k, v in pts.items()})
    return out


def ward_at(conn, admission_ids, as_ofs):
    """The ward (location_stay.unit) of each admission at each time; 'ward unknown' without one."""
    import pandas as pd
    ts = [pd.Timestamp(t).to_pydatetime() for t in pd.to_datetime(pd.Series(as_ofs), utc=True)]
    with conn.cursor() as cur:
        cur.execute("""
            SELECT (SELECT s.unit FROM icu_predict.location_stay s
                     WHERE s.admission_id = v.a AND s.started_at <= v.t
                     ORDER BY s.started_at DESC, s.stay_id DESC LIMIT 1)
              FROM ROWS FROM (pg_catalog.unnest(%s::bigint[]), pg_catalog.unnest(%s::timestamptz[])) WITH ORDINALITY AS v(a, t, k)
             ORDER BY v.k""", ([int(x) for x in admission_ids], ts))
        out = [r[0] or "ward unknown" for r in cur.fetchall()]
    conn.rollback()
    return np.array(out, dtype=object)


def active_slots(conn):
    """Every slot of active_model with the model it holds (after a deployment:
    which slots the run changed, which keep an earlier or a shipped model)."""
    with conn.cursor() as cur:
        cur.execute("SELECT kind, outcome, horizon_hours, name, version, source, synthetic_default "
                    "FROM icu_predict.active_model ORDER BY kind, outcome, horizon_hours")
        cols = [d[0] for d in cur.description]
        out = [dict(zip(cols, r)) for r in cur.fetchall()]
    conn.rollback()
    return out


HELP = "train, validate and (optionally) deploy the ICU models"


def add_arguments(p):
    options.connection(p)
    p.add_argument("--out", default="cards/latest", help="folder for the model card (default: cards/latest)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="training configuration, TOML (*.toml) or JSON (docs/training.md); "
                        "default: ICU within 48 h and 7 days, daily, every mapped lab")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override one key of the configuration, e.g. schedule.kind=landmarks "
                        "or 'inputs.stats=[\"last\"]' (repeatable)")
    p.add_argument("--horizon", choices=sorted(T.HORIZONS), default=None,
                   help="deploy the ICU risk model of this horizon (default 48h; the configuration's "
                        "deploy.outcomes when it has them)")
    p.add_argument("--deploy-all", action="store_true",
                   help="with --deploy: insert the proposed model of every trained outcome")
    p.add_argument("--train-fraction", type=float, default=None,
                   help="share of admissions (earliest first) used for training (default 0.7)")
    p.add_argument("--data-end", default=None,
                   help="timestamp up to which outcomes are known (default: latest event in the data)")
    p.add_argument("--version", default=None, help="version text for the registry rows (default: UTC time)")
    p.add_argument("--deploy", action="store_true", help="insert the proposed models into icu_predict.model")
    p.add_argument("--force", action="store_true",
                   help="with --deploy: deploy even when the quality gate fails (recorded with the models)")
    options.activate(p, needs="--deploy")
    options.json_summary(p)


def build_config(args):
    """The configuration of a command line: --config, then --set, then the
    classic options (--horizon, --train-fraction)."""
    from . import config as CF
    cfg = CF.read(args.config) if args.config else CF.default()
    for a in args.overrides:
        cfg = CF.apply_set(cfg, a)
    if args.horizon is not None:
        name = f"icu_{args.horizon}"
        if name not in [o.get("name") or CF.default_name(o) for o in cfg["outcomes"]
                        if isinstance(o, dict) and "horizon_hours" in o]:
            raise CF.ConfigError(f"--horizon {args.horizon}: the configuration has no outcome {name}")
        cfg["deploy"]["outcomes"] = [name]
    if args.train_fraction is not None:
        if not 0.2 <= args.train_fraction <= 0.9:
            raise UserError("--train-fraction must lie between 0.2 and 0.9")
        cfg["split"]["train_fraction"] = args.train_fraction
    return CF.validate(cfg)


def command(args):
    """``python3 -m model train``: errors follow the policy of model/cli.py.
    Exit status 1 when the run finished but a task failed (reported, skipped)."""
    if args.activate and not args.deploy:
        raise UserError("--activate needs --deploy")
    if args.force and not args.deploy:
        raise UserError("--force needs --deploy")
    if args.deploy_all and not args.deploy:
        raise UserError("--deploy-all needs --deploy")
    cfg = build_config(args)
    conn = options.connect(args)
    try:
        res = run(conn, args.out, data_end=args.data_end, version=args.version,
                  deploy=args.deploy, activate=args.activate, config=cfg, deploy_all=args.deploy_all,
                  force=args.force)
    finally:
        conn.close()
    if args.json:
        print(json.dumps(res, indent=1, default=S.json_default))
    else:
        print(f"model card: {os.path.join(args.out, 'README.md')}")
        for m in res["models"]:
            print(f"model {m['name']} version {m['version']} ({m['kind']}"
                  + (f", {m['outcome']} within {m['horizon_hours']} h" if "outcome" in m else "") + ")"
                  + (" deployed" if args.deploy else " (not deployed; use --deploy)")
                  + (" and active" if args.activate else ""))
        for t, msg in res["failed"].items():
            print(f"task {t} failed and was skipped: {msg}")
        g = res["gate"]
        print("quality gate: " + ("pass" if g["passed"] else "FAIL (" + "; ".join(g["failed"]) + ")")
              + (", deployed anyway (--force)" if g["forced"] and args.deploy else ""))
        if args.activate:
            mine = {(m["name"], m["version"]) for m in res["models"]}
            for sl in res.get("slots", []):
                if (sl["name"], sl["version"]) in mine:
                    continue
                hz = f" {sl['horizon_hours']} h" if sl["horizon_hours"] is not None else ""
                print(f"slot {sl['kind']} {sl['outcome']}{hz} keeps {sl['name']} {sl['version']} "
                      f"({sl['source']}" + (", shipped default trained on synthetic data" if sl["synthetic_default"] else "")
                      + ")")
    return 1 if res["failed"] else 0


def main(argv=None):
    """``python3 -m model.train``: the same as ``python3 -m model train``."""
    from .cli import main as cli_main
    return cli_main(argv, command="train")


if __name__ == "__main__":
    sys.exit(main())
