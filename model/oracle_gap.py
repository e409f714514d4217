"""Where the model stands against the true risk, and why (synthetic cohorts).

    python3 -m model oracle-gap [--horizon 48] [--candidates logistic,xgboost]

On a database holding a synthetic cohort (``python3 -m model cohort``), reads
the rows of ICU admission within the horizon (the daily schedule of the
default configuration), trains as ``train`` does on the same temporal split,
and prints as JSON, for the proposed model:

* the model and the true risk (model/oracle.py) at the same rows -- each
  landmark and all validation rows -- with the gap and its paired SE
  (validate.oracle_comparison, what the card and the gate read);
* at the first prediction: how long after admission it comes, the share of
  admissions with no lab resulted by then and the gap with and without one,
  the gap among COVID and among other admissions;
* what the true risk knows that the inputs do not show: a second stage on
  the model's log-odds (logistic, fitted on the training rows) given one
  hidden or unread quantity at a time -- COVID status (the synthetic PCR is
  text, unmapped), elective admission (admission.admission_source, which no
  model input reads) and the latent severity -- and its AUROC at each row
  set, beside the correlation of the model's log-odds with the severity.

Nothing is written to the database.  docs/model-card.md quotes a run.
"""
from __future__ import annotations

import json
import sys

import numpy as np

from . import options

HELP = "the model against the true risk at the same rows, and what the true risk knows (synthetic cohorts)"


def add_arguments(p):
    options.connection(p)
    p.add_argument("--horizon", type=int, default=48, help="hours (default: %(default)s)")
    p.add_argument("--candidates", default="logistic,xgboost",
                   help="risk candidates, comma-separated (default: %(default)s)")


def _auroc_by_set(M, y, s, sets):
    return {k: round(M.auroc(y[i], s[i]), 3) for k, i in sets.items()}


def report(conn, horizon=48, candidates=("logistic", "xgboost")):
    """The figures above as a dict (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    from . import metrics as M
    from . import oracle as OR
    from . import tasks as T
    from . import train as TR
    from . import validate as V
    from .errors import UserError
    if not T.has_oracle(conn):
        raise UserError("the database holds no synthetic cohort (icu_synth.oracle): load one with "
                        "python3 -m model cohort")
    inputs = T.risk_inputs(conn)
    rows = T.risk_rows(conn, horizon, inputs, T.data_end(conn))
    tr, va, _ = TR.temporal_split(rows, 0.7)
    cands, best = TR.train_risk(rows, inputs, (tr, va), candidates=list(candidates))
    X = rows[[T.input_name(i) for i in inputs]].to_numpy(float)
    spec = cands[best]["spec"]
    if spec["format"] == "linear":
        p = TR.predict_linear_risk(spec, X)
    else:
        import xgboost as xgb
        bst = xgb.Booster()
        bst.load_model(bytearray(json.dumps(spec["model"]).encode()))
        p = TR.predict_xgb(bst, X)
    p = np.clip(p, 1e-9, 1 - 1e-9)
    y = rows["label"].to_numpy(float)
    q = OR.landmark_icu(conn, rows, horizon)
    ids = [int(x) for x in np.unique(rows["admission_id"])]
    with conn.cursor() as cur:
        cur.execute("""SELECT o.admission_id, o.severity, o.covid::int, (a.admission_source = 'elective')::int
                         FROM icu_synth.oracle o JOIN icu_predict.admission a USING (admission_id)
                        WHERE o.admission_id = ANY(%s)""", (ids,))
        hidden = {r[0]: r[1:] for r in cur.fetchall()}
    conn.rollback()
    sev, covid, elective = np.array([hidden[int(a)] for a in rows["admission_id"]], float).T
    out = {"rows": int(len(rows)), "validation rows": int(va.sum()), "proposed": best,
           "against the true risk": {k: {kk: (round(vv, 3) if isinstance(vv, float) else vv)
                                         for kk, vv in d.items()}
                                     for k, d in V.oracle_comparison(rows, y, p, q, va).items()}}
    sets = dict(V.landmark_index(rows, va))
    sets[V.ALL_ROWS] = np.flatnonzero(va)
    f = sets["first prediction"]
    h = V.hours_since_admission(rows)
    labs = np.isfinite(rows[[T.input_name(i) for i in inputs if "feature" in i]].to_numpy(float)).sum(1)

    def gap(i):
        return {"n": int(i.size), "events": int(y[i].sum()), "model": round(M.auroc(y[i], p[i]), 3),
                "true risk": round(M.auroc(y[i], q[i]), 3),
                "gap": round(M.auroc(y[i], q[i]) - M.auroc(y[i], p[i]), 3)}
    out["first prediction"] = {
        "hours after admission (10/25/50/75/90 %)": [round(float(x), 1) for x in
                                                     np.quantile(h[f], [.1, .25, .5, .75, .9])],
        "share with no lab resulted": round(float((labs[f] == 0).mean()), 3),
        "no lab resulted": gap(f[labs[f] == 0]), "some lab resulted": gap(f[labs[f] > 0]),
        "COVID": gap(f[covid[f] == 1]), "other admissions": gap(f[covid[f] == 0])}
    lg = np.log(p / (1 - p))
    out["correlation of the model's log-odds with the latent severity"] = {
        k: round(float(np.corrcoef(lg[i], sev[i])[0, 1]), 3) for k, i in sets.items()}
    stages = {}
    for tag, extra in [("model only", []), ("+ COVID status", [covid]), ("+ elective admission", [elective]),
                       ("+ COVID status + elective admission", [covid, elective]),
                       ("+ latent severity", [sev]),
                       ("+ COVID status + elective admission + latent severity", [covid, elective, sev])]:
        Z = np.column_stack([lg] + extra)
        pz = LogisticRegression(C=10.0, max_iter=2000).fit(Z[tr], y[tr]).predict_proba(Z)[:, 1]
        stages[tag] = _auroc_by_set(M, y, pz, sets)
    stages["true risk"] = _auroc_by_set(M, y, q, sets)
    out["second stage on the model's log-odds: AUROC"] = stages
    return out


def command(a):
    conn = options.connect(a)
    try:
        out = report(conn, a.horizon, [c.strip() for c in a.candidates.split(",") if c.strip()])
    finally:
        conn.close()
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def main(argv=None):
    """``python3 -m model.oracle_gap``: the same as ``python3 -m model oracle-gap``."""
    from .cli import main as cli_main
    return cli_main(argv, command="oracle-gap")


if __name__ == "__main__":
    sys.exit(main())
