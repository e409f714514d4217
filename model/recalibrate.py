"""Recalibration of an active risk model as a new model version.

    python3 -m model recalibrate --slot icu_admission:48 [--since 2021-01-01] [--deploy [--force]]

Calibration drifts with case mix and practice while the ranking of
patients often holds (the model cards show calibration-in-the-large away
from 0).  This refits the intercept and slope of the active model of a slot
on recent labelled data from the database (logistic recalibration: the new
log-odds are a + b x the model's log-odds), checks the result with the same
quality gate as a training run, and deploys it as a new version of the
same model through icu_predict.deploy().  rollback() then returns the slot to
the parent.

* The slot is kind:horizon_hours (icu_admission:48, death:168).  Its active
  model (view active_model) is the parent, shipped defaults included.
* Rows: the parent's own prediction schedule (training->'schedule', daily at
  midnight when it has none) and outcome rules (model/outcomes.py), for the
  admissions admitted from ``since`` (default: the parent's training data
  end, so no labelled row it was fitted on) up to the data end.  The
  parent's margin at each row is computed by the database
  (icu_predict.model_margin), the function the runtime scores with.
* a and b are fitted on all these rows (unpenalised maximum likelihood).
  Everything the gate reads is measured out of fold: five folds grouped by
  patient, a and b refitted without the fold and applied to it, so a
  recalibration is never judged on the rows it was fitted on while every
  recent event counts (recent windows are small).
* The new spec folds a and b into the model: linear, intercept' = a + b x
  intercept and every coefficient x b; xgboost, every leaf x b and
  base_score' = sigmoid(a + b x logit(base_score)).  The ranking is that of
  the parent (b > 0), so AUROC is unchanged; b <= 0 is refused.
* The new row's training names its parent (model_id, name, version), the
  data window, a and b; metrics hold the before/after figures and the gate.
* The ranking is the parent's.  A parent trained on synthetic data (a
  shipped default above all) keeps ``synthetic`` true in the new row's
  training, and a shipped default's recalibration carries
  ``shipped_default``: active_model, patient_status and icu_bi still flag
  its values synthetic_default, even when a and b come from local data
  (``recalibration.data_synthetic`` says which data refitted them).
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import math
import sys

import numpy as np

from . import metrics as M
from . import options
from . import tasks as T
from .errors import TrainingError, UserError

HELP = "refit intercept and slope of an active risk model on recent data; deploy as a new version"
#: fewest events among the fitting rows (the gate asks its own minimum of the evaluation rows)
MIN_FIT_EVENTS = 5
#: cross-validation folds (grouped by patient) of the figures the gate reads
FOLDS = 5
RISK_KINDS = ("icu_admission", "death")


class RecalibrationError(UserError):
    """A recalibration that cannot be done (no parent, no rows, b <= 0 ...)."""


def parse_slot(text):
    """'icu_admission:48' -> ('icu_admission', 48)."""
    parts = str(text).split(":")
    if len(parts) != 2 or parts[0] not in RISK_KINDS:
        raise RecalibrationError(f"--slot {text!r}: expected KIND:HOURS with KIND one of "
                                 f"{', '.join(RISK_KINDS)}, e.g. icu_admission:48")
    try:
        h = int(parts[1])
    except ValueError:
        raise RecalibrationError(f"--slot {text!r}: the horizon must be whole hours") from None
    if not 1 <= h <= 8760:
        raise RecalibrationError(f"--slot {text!r}: the horizon must lie between 1 and 8760 hours")
    return parts[0], h


def parent_model(conn, kind, hours):
    with conn.cursor() as cur:
        cur.execute("""
            SELECT m.model_id, m.name, m.version, m.kind, m.outcome, m.horizon_hours, m.format, m.spec,
                   m.training, a.source, a.synthetic_default
              FROM icu_predict.active_model a JOIN icu_predict.model m ON m.model_id = a.model_id
             WHERE a.kind = %s AND a.horizon_hours = %s AND a.outcome = %s""", (kind, hours, kind))
        r = cur.fetchone()
    conn.rollback()
    if r is None:
        raise RecalibrationError(f"slot {kind}:{hours} has no active model to recalibrate "
                                 "(SELECT * FROM icu_predict.active_model lists the slots)")
    keys = ("model_id", "name", "version", "kind", "outcome", "horizon_hours", "format", "spec", "training",
            "source", "synthetic_default")
    return dict(zip(keys, r))


def margins(conn, name, version, X):
    """The model's margin for each row of raw inputs X (NaN = missing), by the database."""
    payload = json.dumps([[None if not np.isfinite(v) else float(v) for v in row] for row in X])
    with conn.cursor() as cur:
        cur.execute("""
            SELECT icu_predict.model_margin(%s, %s,
                     ARRAY(SELECT CASE WHEN pg_catalog.jsonb_typeof(e) = 'null' THEN NULL
                                       ELSE (e #>> '{}')::float8 END
                             FROM pg_catalog.jsonb_array_elements(t.r) WITH ORDINALITY AS q(e, k)
                            ORDER BY q.k))
              FROM pg_catalog.jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS t(r, ord)
             ORDER BY t.ord""", (name, version, payload))
        out = np.array([r[0] for r in cur.fetchall()], dtype=float)
    conn.rollback()
    return out


def fit(y, margin):
    """(a, b) of logit(p_new) = a + b * margin, unpenalised maximum likelihood."""
    y = np.asarray(y, float)
    beta = M._logistic_fit(np.c_[np.ones(y.size), np.asarray(margin, float)], y)
    return float(beta[0]), float(beta[1])


def patient_folds(patients, k=FOLDS, seed=20200401):
    """Fold number of each row: patients shuffled (fixed seed) and dealt into k folds."""
    uniq, inv = np.unique(np.asarray(patients).astype(str), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = np.empty(len(uniq), int)
    fold_of[order] = np.arange(len(uniq)) % k
    return fold_of[inv]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, float)))


def recalibrated_spec(spec, a, b):
    """The spec whose margin is a + b x the margin of ``spec``."""
    if b <= 0 or not (math.isfinite(a) and math.isfinite(b)):
        raise RecalibrationError(f"recalibration slope {b:.3f} is not positive: on the recent rows the "
                                 "model ranks patients no better than chance; retrain instead")
    s = copy.deepcopy(spec)
    if s["format"] == "linear":
        s["intercept"] = a + b * s["intercept"]
        for inp in s["inputs"]:
            for k in ("coef", "missing_coef"):
                if k in inp:
                    inp[k] = b * inp[k]
        return s
    if s["format"] != "xgboost":
        raise RecalibrationError(f"model format {s['format']!r} cannot be recalibrated")
    learner = s["model"]["learner"]
    if learner["objective"]["name"] != "binary:logistic":
        raise RecalibrationError("only binary:logistic xgboost models can be recalibrated")
    mp = learner["learner_model_param"]
    base = float(mp["base_score"])
    mp["base_score"] = repr(float(_sigmoid(a + b * math.log(base / (1.0 - base)))))
    for tree in learner["gradient_booster"]["model"]["trees"]:
        left = tree["left_children"]
        sc = tree["split_conditions"]
        for k, child in enumerate(left):
            if child == -1:                     # a leaf: its value is in split_conditions
                sc[k] = float(np.float32(b * sc[k]))
    return s


def _input_key(inp):
    return {k: inp[k] for k in ("feature", "stat", "covariate") if k in inp}


def run(conn, slot, since=None, until=None, version=None, deploy=False, force=False, out_dir=None):
    """Recalibrate the active model of ``slot`` ((kind, hours)); returns a summary.
    With ``deploy`` the new version is inserted and deployed unless the gate
    fails (then GateError, unless ``force``)."""
    from . import outcomes as O
    from . import oracle as OR
    from . import train as TR
    from . import validate as V
    from .config import DEFAULTS
    kind, hours = slot
    T.check_extension(conn)
    par = parent_model(conn, kind, hours)
    training = par["training"] or {}
    schedule = training.get("schedule") or copy.deepcopy(DEFAULTS["schedule"])
    end = until or T.data_end(conn)
    if since is None:
        since = training.get("data_end")
        if since is None:
            raise RecalibrationError(f"model {par['name']} {par['version']} records no training data end: "
                                     "give --since")
    inputs = [_input_key(i) for i in par["spec"]["inputs"]]
    names = [T.input_name(i) for i in inputs]
    offer = [{"feature": f, "stat": "last"} for f in T.mapped_features(conn)] + \
            [{"covariate": c} for c in T.TRAINABLE_COVARIATES]
    fetch = inputs + [i for i in offer if T.input_name(i) not in set(names)]
    outcome = {"kind": kind, "outcome": kind, "horizon_hours": hours}
    TR.progress(f"recalibrating {par['name']} {par['version']} ({par['source']}) on rows admitted from "
                f"{since} to {end}")
    rows = O.rows(conn, outcome, schedule, fetch, end) if not (
        kind == "icu_admission" and schedule["kind"] == "daily" and schedule["at"] == "00:00") \
        else T.risk_rows(conn, hours, fetch, end)
    import pandas as pd
    start = pd.Timestamp(since)
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    rows = rows[pd.to_datetime(rows["admitted_at"], utc=True) >= start]
    rows = rows.reset_index(drop=True)
    if len(rows) == 0:
        raise RecalibrationError(f"no labelled rows admitted from {since} to {end}")
    y = rows["label"].to_numpy(float)
    if y.sum() < MIN_FIT_EVENTS or y.sum() == len(y):
        raise TrainingError(f"recalibration rows: only {int(y.sum())} events among {len(y)} rows admitted "
                            f"from {since} (at least {MIN_FIT_EVENTS}); give an earlier --since")
    X = rows[names].to_numpy(float)
    mg = margins(conn, par["name"], par["version"], X)
    folds = patient_folds(rows["patient_id"].to_numpy(), FOLDS)
    p_before = _sigmoid(mg)
    p_after = np.full(len(rows), np.nan)
    for k in range(FOLDS):
        tr = folds != k
        if y[tr].min() == y[tr].max():
            raise TrainingError(f"recalibration rows: a fold without events ({int(y.sum())} events in all); "
                                "give an earlier --since")
        ak, bk = fit(y[tr], mg[tr])
        p_after[~tr] = _sigmoid(ak + bk * mg[~tr])
    a, b = fit(y, mg)
    spec = recalibrated_spec(par["spec"], a, b)
    ev_m = np.ones(len(rows), bool)
    ye = y
    before, after = M.risk_report(ye, p_before), M.risk_report(ye, p_after)
    p_all = p_after
    synthetic = T.has_oracle(conn)
    q = OR.landmark(conn, rows, hours, kind) if synthetic else None
    lms = V.landmark_reports(rows, y, p_all, ev_m, q)
    Xoff = rows[[T.input_name(i) for i in fetch]].to_numpy(float)
    pb = np.full(len(rows), np.nan)
    bnames = []
    for k in range(FOLDS):
        tr = folds != k
        pk, bnames = V.baseline(Xoff[tr], y[tr], Xoff[~tr], [T.input_name(i) for i in fetch])
        if pk is None:
            break
        pb[~tr] = pk
    base = {"inputs": bnames, **M.risk_report(ye, pb)} if np.isfinite(pb).all() else None
    task = f"{kind}_{hours}h"
    oracle = M.risk_report(ye, q[ev_m]) if q is not None and np.isfinite(q[ev_m]).all() else None
    gate = V.gate([{"task": task, "events": after["events"], "slope": after["calibration_slope"],
                    "auroc": after["auroc"], "baseline_auroc": base["auroc"] if base else None,
                    "baseline_inputs": base["inputs"] if base else [],
                    "oracle": V.oracle_comparison(rows, y, p_all, q, ev_m)}])
    gate["forced"] = bool(force and not gate["passed"])
    for r in gate["rows"]:
        TR.progress(f"quality gate: {r['what']} = {r['value']:.3f} (target {r['target']}): "
                    + ("pass" if r["ok"] else "FAIL"))
    version = version or ("recal-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d.%H%M%S"))
    window = {"since": str(since), "until": str(end), "rows": int(len(rows)), "events": int(y.sum()),
              "admissions": int(rows["admission_id"].nunique()), "folds": FOLDS}
    failed = [r["what"] for r in gate["rows"] if not r["ok"]]
    # The ranking is the parent's: a parent learned on synthetic data gives a
    # recalibration whose ranking is synthetic too, whatever data refitted a and
    # b; a shipped default stays flagged as one (active_model.synthetic_default
    # reads training->>'shipped_default' and training->>'synthetic').
    ranking_synthetic = bool(par["synthetic_default"]) or training.get("synthetic") is True
    model = {
        "name": par["name"], "version": version, "kind": kind, "outcome": kind, "horizon_hours": hours,
        "spec": spec,
        "training": {"task": training.get("task", task), "outcome": kind, "horizon_hours": hours,
                     "algorithm": training.get("algorithm", par["format"]), "schedule": schedule,
                     "data_end": str(end), "synthetic": bool(synthetic) or ranking_synthetic,
                     "forced": gate["forced"],
                     "recalibration": {"parent": {"model_id": par["model_id"], "name": par["name"],
                                                  "version": par["version"], "source": par["source"],
                                                  "synthetic_default": bool(par["synthetic_default"])},
                                       "window": window, "intercept": a, "slope": b,
                                       "data_synthetic": bool(synthetic)}},
        "metrics": {"validation": after, "before_recalibration": before, "oracle": oracle,
                    "baseline": base, "gate": {"passed": gate["passed"], "forced": gate["forced"],
                                               "failed": failed},
                    "landmarks": {k: {"n": v["n"], "events": v["events"],
                                      "model": {kk: vv for kk, vv in (v["model"] or {}).items()
                                                if kk not in ("bins", "net_benefit")} if v["model"] else None,
                                      "oracle": v["oracle"]} for k, v in lms.items()}}}
    if par["synthetic_default"]:
        model["training"]["shipped_default"] = True
        TR.progress(f"the parent {par['name']} {par['version']} is a shipped default trained on synthetic data: "
                    "the recalibrated version keeps its ranking and stays flagged synthetic_default")
    TR.progress(f"a = {a:.3f}, b = {b:.3f}; out of fold: calibration intercept {before['calibration_intercept']:.3f}"
                f" -> {after['calibration_intercept']:.3f}, slope {before['calibration_slope']:.2f} -> "
                f"{after['calibration_slope']:.2f}, AUROC {before['auroc']:.3f} -> {after['auroc']:.3f}")
    if out_dir:
        _card(out_dir, par, model, before, after, lms, gate, base, synthetic)
    summary = {"parent": model["training"]["recalibration"]["parent"], "name": par["name"], "version": version,
               "intercept": a, "slope": b, "window": window, "before": before, "after": after,
               "gate": {"passed": gate["passed"], "forced": gate["forced"], "failed": failed},
               "deployed": False}
    if deploy and not gate["passed"] and not force:
        raise TR.GateError("quality gate failed (" + "; ".join(failed) + "): recalibration not deployed; "
                           "--force deploys anyway (recorded with the model)")
    if deploy:
        from . import deploy as D
        summary["model_id"] = D.deploy_models(conn, [model], activate=True)[0]
        summary["deployed"] = True
        TR.progress(f"deployed {par['name']} {version} (model_id {summary['model_id']}); "
                    f"SELECT icu_predict.rollback('{kind}') returns to {par['version']}")
    summary["model"] = model
    return summary


def _card(out_dir, par, model, before, after, lms, gate, base, synthetic):
    from . import card as C
    rc = model["training"]["recalibration"]
    w = rc["window"]
    card = {"title": f"recalibration of {par['name']} {par['version']} as {model['version']}",
            "synthetic": bool(synthetic),
            "model": {"name": par["name"], "version": model["version"], "kind": par["kind"],
                      "task": model["training"]["task"], "proposed": f"recalibrated {par['format']} model"},
            "intended_use": "That of the parent model (its card), unchanged: recalibration changes the level and "
                            "spread of the risks, not the ranking, the population or the outcome.",
            "configuration": {"parent": f"{par['name']} {par['version']} (model_id {par['model_id']}, "
                                        f"{par['source']})",
                              "data window": f"admissions from {w['since']} to {w['until']}",
                              "rows": f"{w['rows']} rows of {w['admissions']} admissions, {w['events']} events; "
                                      f"figures out of fold ({w['folds']}-fold, grouped by patient)",
                              "new log-odds": f"{rc['intercept']:.4f} + {rc['slope']:.4f} × parent log-odds",
                              "before → after (out of fold)": (
                                  f"calibration intercept {before['calibration_intercept']:.3f} → "
                                  f"{after['calibration_intercept']:.3f}; slope {before['calibration_slope']:.2f} → "
                                  f"{after['calibration_slope']:.2f}; Brier {before['brier']:.4f} → "
                                  f"{after['brier']:.4f}; AUROC {before['auroc']:.3f} → {after['auroc']:.3f}")},
            "landmarks": {model["training"]["task"]: lms}, "gate": gate,
            "baseline": {model["training"]["task"]: base} if base else {},
            "notes": ["Rollback: SELECT icu_predict.rollback('" + par["kind"] + "') makes the parent active again."]
                     + (["The parent is a shipped default trained on synthetic data: this version keeps its ranking "
                         "and stays flagged synthetic_default in active_model, patient_status and icu_bi; only a "
                         "model trained on local data removes the flag."] if par["synthetic_default"] else [])}
    C.write_card(out_dir, card)


def add_arguments(p):
    options.connection(p)
    p.add_argument("--slot", required=True, metavar="KIND:HOURS",
                   help="the slot whose active model is recalibrated, e.g. icu_admission:48 or death:168")
    p.add_argument("--since", default=None,
                   help="recalibrate on admissions admitted from this time (default: the model's training data end)")
    p.add_argument("--data-end", default=None, help="outcomes after this time count as unknown (default: latest event)")
    p.add_argument("--version", default=None, help="version of the new row (default: recal-UTC time)")
    p.add_argument("--out", default=None, help="folder for the recalibration card (README.md, metrics.json)")
    p.add_argument("--deploy", action="store_true", help="insert the new version and deploy() it")
    p.add_argument("--force", action="store_true", help="with --deploy: deploy although the quality gate failed")
    options.json_summary(p)


def command(a):
    """``python3 -m model recalibrate``: errors follow the policy of model/cli.py."""
    if a.force and not a.deploy:
        raise UserError("--force needs --deploy")
    slot = parse_slot(a.slot)
    conn = options.connect(a)
    try:
        res = run(conn, slot, since=a.since, until=a.data_end, version=a.version, deploy=a.deploy,
                  force=a.force, out_dir=a.out)
    finally:
        conn.close()
    res.pop("model", None)
    if a.json:
        from . import spec as S
        print(json.dumps(res, indent=1, default=S.json_default))
    else:
        b, f = res["before"], res["after"]
        print(f"{res['name']} {res['parent']['version']} -> {res['version']}: log-odds {res['intercept']:.3f} + "
              f"{res['slope']:.3f} x; calibration intercept {b['calibration_intercept']:.3f} -> "
              f"{f['calibration_intercept']:.3f}, slope {b['calibration_slope']:.2f} -> {f['calibration_slope']:.2f}, "
              f"AUROC {f['auroc']:.3f}")
        g = res["gate"]
        print("quality gate: " + ("pass" if g["passed"] else "FAIL (" + "; ".join(g["failed"]) + ")")
              + (", deployed anyway (--force)" if g["forced"] and res["deployed"] else ""))
        print(("deployed as model_id " + str(res["model_id"])) if res["deployed"] else "not deployed (use --deploy)")
    return 0


def main(argv=None):
    from .cli import main as cli_main
    return cli_main(argv, command="recalibrate")


if __name__ == "__main__":
    sys.exit(main())
