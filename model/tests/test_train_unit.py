"""Training logic without a server: split, fits, proposal, bad input."""
import numpy as np
import pandas as pd
import pytest

from model import spec as S
from model import train as TR


def _fake_rows(n_adm=600, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2020-03-01", tz="UTC")
    for a in range(n_adm):
        sev = rng.normal()
        adm_at = t0 + pd.Timedelta(hours=float(a) * 3)
        pid = f"p{a if a % 10 else max(0, a - 7)}"     # some readmissions
        for d in range(int(rng.integers(1, 6))):
            crp = float(np.exp(3 + sev + rng.normal(0, 0.5))) if rng.random() < 0.9 else np.nan
            lp = -2.5 + 1.2 * sev
            y = int(rng.random() < 1 / (1 + np.exp(-lp)))
            rows.append({"admission_id": a, "patient_id": pid, "admitted_at": adm_at,
                         "as_of": adm_at + pd.Timedelta(days=d + 1), "label": y,
                         "crp:last": crp, "age_years": float(rng.integers(20, 90))})
    return pd.DataFrame(rows)


INPUTS = [{"feature": "crp", "stat": "last"}, {"covariate": "age_years"}]


def test_temporal_split_is_in_time_and_by_patient():
    df = _fake_rows()
    tr, va, info = TR.temporal_split(df, 0.7)
    assert not (tr & va).any()
    split = pd.Timestamp(info["split_at"])
    assert (df.admitted_at[tr] < split).all() and (df.admitted_at[va] >= split).all()
    assert not set(df.patient_id[tr]) & set(df.patient_id[va])


def test_train_risk_calibrated_and_proposes_one():
    df = _fake_rows(1500)
    tr, va, _ = TR.temporal_split(df, 0.7)
    cands, best = TR.train_risk(df, INPUTS, (tr, va))
    assert best in ("logistic", "xgboost") and cands[best].get("proposed")
    lr = cands["logistic"]["metrics"]
    assert lr["auroc"] > 0.65
    assert 0.7 < lr["calibration_slope"] < 1.3
    # the exported spec scores exactly as the design matrix it was trained on
    spec = cands["logistic"]["spec"]
    assert spec["format"] == "linear" and spec["inputs"][0]["transform"] == "log"
    assert "missing_coef" in spec["inputs"][0]
    X = df[["crp:last", "age_years"]].to_numpy(float)[va]
    assert np.allclose(TR.predict_linear_risk(spec, X), cands["logistic"]["p"])
    assert cands["xgboost"]["spec"]["format"] == "xgboost"


def test_feature_missing_everywhere_is_an_error():
    df = _fake_rows(300)
    df["crp:last"] = np.nan
    tr, va, _ = TR.temporal_split(df, 0.7)
    with pytest.raises(TR.TrainingError, match="crp:last is missing in every training row"):
        TR.train_risk(df, INPUTS, (tr, va))


def test_no_events_and_tiny_cohort_are_errors():
    df = _fake_rows(300)
    df["label"] = 0
    tr, va, _ = TR.temporal_split(df, 0.7)
    with pytest.raises(TR.TrainingError, match="no ICU events"):
        TR.train_risk(df, INPUTS, (tr, va))
    small = _fake_rows(8)
    tr, va, _ = TR.temporal_split(small, 0.7)
    with pytest.raises(TR.TrainingError, match="only .* rows"):
        TR.train_risk(small, INPUTS, (tr, va))


def test_stay_models_censoring():
    rng = np.random.default_rng(4)
    n = 800
    sev = rng.normal(size=n)
    t_true = np.exp(1.5 + 0.4 * sev + 0.6 * rng.normal(size=n))
    cens = rng.exponential(25, n)
    df = pd.DataFrame({
        "admission_id": np.arange(n), "patient_id": [f"p{i}" for i in range(n)],
        "admitted_at": pd.Timestamp("2020-03-01", tz="UTC") + pd.to_timedelta(np.arange(n) * 2, "h"),
        "stay_days": np.minimum(t_true, cens), "ended": (t_true <= cens).astype(int),
        "crp:last": np.exp(3 + sev), "age_years": rng.integers(20, 90, n).astype(float)})
    df["icu_start"] = df["admitted_at"]
    tr, va, _ = TR.temporal_split(df, 0.7)
    cands, best = TR.train_stay(df, INPUTS, (tr, va))
    lin = cands["lognormal_aft"]
    assert lin["spec"]["stay"]["sigma"] == pytest.approx(0.6, abs=0.08)
    m = lin["metrics"]
    assert m["concordance"] > 0.65
    assert m["p10_p90_coverage_ipcw"] == pytest.approx(0.8, abs=0.07)
    assert cands[best].get("proposed")


def test_quality_gate_rows():
    g = TR.quality_gate({"auroc": 0.80, "calibration_slope": 1.05}, {"auroc": 0.82})
    assert g["passed"]
    g = TR.quality_gate({"auroc": 0.75, "calibration_slope": 1.05}, {"auroc": 0.82})
    assert not g["passed"]
    g = TR.quality_gate({"auroc": 0.85, "calibration_slope": 0.8}, {"auroc": 0.82})
    assert not g["passed"]
