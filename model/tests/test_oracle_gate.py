"""The model against the true risk (model/validate.py oracle_comparison) and
the gate's two oracle rules, on hand-made rows (no server needed): the card's
table and the gate's rows are the same numbers at the same rows."""
import numpy as np
import pandas as pd
import pytest

from model import metrics as M
from model import validate as V


def _rows(n_adm=400, days=4, seed=5):
    """n_adm admissions with one row per day; a latent severity s drives the
    outcome; the 'true risk' knows s, the 'model' sees s with noise that
    shrinks with the day (one draw on day 1, more later)."""
    rng = np.random.default_rng(seed)
    adm = np.repeat(np.arange(n_adm), days)
    day = np.tile(np.arange(days), n_adm)
    t0 = pd.Timestamp("2020-03-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 30, n_adm), unit="D")
    admitted = t0[adm]
    as_of = admitted + pd.to_timedelta(6 + 24 * day, unit="h")
    s = rng.normal(size=n_adm)[adm]
    q = 1 / (1 + np.exp(-(-2.0 + 1.5 * s)))
    y = (rng.random(adm.size) < q).astype(float)
    p = 1 / (1 + np.exp(-(-2.0 + 1.5 * (s + rng.normal(size=adm.size) / (1 + day)))))
    rows = pd.DataFrame({"admission_id": adm, "admitted_at": admitted, "as_of": as_of})
    return rows, y, p, q


def test_comparison_at_each_landmark_and_all_rows():
    rows, y, p, q = _rows()
    mask = np.ones(len(rows), bool)
    oc = V.oracle_comparison(rows, y, p, q, mask)
    assert list(oc) == ["first prediction", "24 h", "72 h", V.ALL_ROWS]
    idx = V.landmark_index(rows, mask)
    for name, d in oc.items():
        i = np.arange(len(rows)) if name == V.ALL_ROWS else idx[name]
        assert d["n"] == i.size and d["events"] == int(y[i].sum())
        assert d["model_auroc"] == pytest.approx(M.auroc(y[i], p[i]))
        assert d["oracle_auroc"] == pytest.approx(M.auroc(y[i], q[i]))
        assert d["gap"] == pytest.approx(d["oracle_auroc"] - d["model_auroc"])
        assert d["gap_se"] == pytest.approx(M.auroc_diff_se(y[i], q[i], p[i]))
    # the noisier first day is furthest from the true risk
    assert oc["first prediction"]["gap"] > oc["72 h"]["gap"]
    assert V.oracle_comparison(rows, y, p, None, mask) is None
    qn = q.copy()
    qn[0] = np.nan
    assert V.oracle_comparison(rows, y, p, qn, mask) is None


def _gate(oc):
    return V.gate([{"task": "t", "events": 100, "slope": 1.0, "auroc": oc[V.ALL_ROWS]["model_auroc"],
                    "baseline_auroc": None, "baseline_inputs": [], "oracle": oc}])


def test_gate_rows_are_the_comparison_numbers():
    rows, y, p, q = _rows()
    oc = V.oracle_comparison(rows, y, p, q, np.ones(len(rows), bool))
    g = _gate(oc)
    by = {r["what"]: r for r in g["rows"]}
    margin = by[f"t: true risk AUROC − model AUROC, {V.ALL_ROWS}"]
    assert margin["value"] == oc[V.ALL_ROWS]["gap"]
    assert margin["ok"] == (oc[V.ALL_ROWS]["gap"] <= V.GATE["oracle_margin"])
    for name, d in oc.items():
        r = by[f"t: model AUROC − true risk AUROC, {name} (not above beyond noise)"]
        assert r["value"] == -d["gap"] and r["ok"] is True


def test_gate_refuses_a_model_above_the_true_risk_and_one_far_below():
    rows, y, p, q = _rows()
    mask = np.ones(len(rows), bool)
    # a "model" that saw the outcome (leakage) beats the true risk beyond the noise
    leak = np.clip(0.7 * y + 0.3 * p, 0, 1)
    g = _gate(V.oracle_comparison(rows, y, leak, q, mask))
    failed = [r["what"] for r in g["rows"] if not r["ok"]]
    assert not g["passed"] and any("not above beyond noise" in w for w in failed)
    # a model that knows almost nothing: far below on all rows
    rng = np.random.default_rng(9)
    weak = 0.5 * p + 0.5 * rng.random(len(p))
    g = _gate(V.oracle_comparison(rows, y, weak, q, mask))
    assert not g["passed"]
    assert [r["what"] for r in g["rows"] if not r["ok"]] == [f"t: true risk AUROC − model AUROC, {V.ALL_ROWS}"]


def test_a_row_set_without_a_standard_error_is_left_out():
    rows, y, p, q = _rows()
    mask = np.ones(len(rows), bool)
    idx = V.landmark_index(rows, mask)["72 h"]
    y = y.copy()
    y[idx] = 0
    y[idx[0]] = 1               # one event at 72 h: DeLong has no variance
    oc = V.oracle_comparison(rows, y, p, q, mask)
    assert "72 h" not in oc and "24 h" in oc
    assert all(np.isfinite(r["value"]) for r in _gate(oc)["rows"])
