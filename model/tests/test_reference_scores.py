"""The reference-score oracle (reference_oracle.py, the numpy point tables
that test the SQL definitions) against rows scored by hand from the
published tables, and the card's comparison (model/reference_scores.py
evaluate()).  The SQL functions themselves: sql/reference_scores.sql and
test/integration/test_train_reference_scores.py."""
import numpy as np
import pandas as pd
import pytest

from model import reference_scores as R
import reference_oracle as O

NAN = float("nan")


def test_news2_by_hand():
    # columns: resp rate, SpO2, SBP, pulse, temperature, GCS -> points
    rows = [
        ((16, 97, 120, 70, 37.0, 15), 0),             # all normal
        ((8, 91, 90, 40, 35.0, 14), 3 * 6),           # the lowest band of each, not alert: 18
        ((25, 92, 220, 131, 39.1, 15), 3 + 2 + 3 + 3 + 2),          # 13
        ((21, 94, 101, 111, 38.1, 15), 2 + 1 + 1 + 2 + 1),          # 7
        ((9, 95, 100, 41, 36.0, 15), 1 + 1 + 2 + 1 + 1),            # 6
        ((20.5, 93, 110, 91, 38.0, 15), 2 + 2 + 1 + 1 + 0),         # 20.5 lies in 21-24: 6
        ((NAN, NAN, NAN, 135, NAN, NAN), 3),          # missing components score 0
    ]
    x = np.array([r[0] for r in rows], float)
    got = O.news2(*x.T)
    assert got.tolist() == [r[1] for r in rows]


def test_isaric_4c_by_hand():
    # age, male, comorbidities, resp rate, SpO2, GCS, urea, CRP -> points
    rows = [
        ((45, 0, 0, 18, 96, 15, 5.0, 20), 0),
        ((50, 1, 1, 20, 91.9, 14, 7.0, 50), 2 + 1 + 1 + 1 + 2 + 2 + 1 + 1),    # 11
        ((79.9, 1, 5, 30, 92, 15, 14.0, 99.9), 6 + 1 + 2 + 2 + 0 + 0 + 1 + 1),  # 13
        ((80, 0, 2, 29, 85, 3, 14.1, 100), 7 + 0 + 2 + 1 + 2 + 2 + 3 + 2),      # 19
        ((65, 0, NAN, NAN, NAN, NAN, 20.0, NAN), 4 + 3),                        # missing -> 0
    ]
    x = np.array([r[0] for r in rows], float)
    got = O.isaric_4c(*x.T)
    assert got.tolist() == [r[1] for r in rows]
    # the maximum of the published table is 21
    assert O.isaric_4c([90], [1], [3], [35], [80], [8], [30], [200]).tolist() == [21]


def test_evaluate_names_missing_inputs_and_compares_with_the_model():
    rng = np.random.default_rng(1)
    n = 400
    y = (rng.random(n) < 0.25).astype(float)
    frame = pd.DataFrame({"age_years": 40 + 45 * rng.random(n), "sex_male": rng.integers(0, 2, n),
                          "urea:last": np.where(y == 1, 12, 5) + rng.normal(0, 4, n),
                          "crp:last": np.where(rng.random(n) < 0.3, np.nan, 60 + rng.normal(0, 40, n))})
    p = 1 / (1 + np.exp(-(3 * y - 1.5 + rng.normal(0, 1, n))))        # a model that sees y
    out = R.evaluate(frame, y, p, O.scores(frame))
    news, c4 = out["NEWS2"], out["ISARIC 4C Mortality"]
    assert news["note"].startswith("not computable") and "auroc" not in news
    assert news["missing"]["respiratory rate"] == {"column": "resp_rate:last", "missing_share": 1.0,
                                                   "absent": True}
    assert c4["missing"]["CRP"]["missing_share"] == pytest.approx(np.isnan(frame["crp:last"]).mean())
    assert c4["missing"]["comorbidity count"]["absent"]
    assert 0.5 < c4["auroc_lo"] < c4["auroc"] < c4["auroc_hi"] < 1
    assert c4["model_auroc"] > c4["auroc"] and c4["verdict"] == "model better"
    assert c4["difference_lo"] > 0
    # the model is the score itself: no difference
    pts = O.scores(frame)
    same = R.evaluate(frame, y, pts["ISARIC 4C Mortality"], pts)["ISARIC 4C Mortality"]
    assert same["difference"] == 0 and same["verdict"] == "no clear difference"


def test_verdict():
    assert R.verdict(0.01, 0.05) == "model better"
    assert R.verdict(-0.05, -0.01) == "model WORSE"
    assert R.verdict(-0.01, 0.02) == "no clear difference"
    assert R.verdict(NAN, NAN) == "not decidable"
