"""Metric functions against values computed by hand (no server needed)."""
import math

import numpy as np
import pytest

from model import metrics as M


Y4 = [0, 0, 1, 1]
P4 = [0.1, 0.4, 0.35, 0.8]


def test_auroc_hand_example():
    # positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered right
    assert M.auroc(Y4, P4) == pytest.approx(0.75)


def test_auroc_ties_count_half():
    assert M.auroc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert M.auroc([0, 0, 1], [0.2, 0.5, 0.5]) == pytest.approx(0.75)


def test_auroc_needs_both_classes():
    with pytest.raises(M.MetricError):
        M.auroc([1, 1], [0.2, 0.3])


def test_delong_se_and_ci_by_hand():
    # V10 = (0.5, 1.0), V01 = (1.0, 0.5): var 0.125 each; se^2 = .125/2+.125/2
    se = M.auroc_se(Y4, P4)
    assert se == pytest.approx(math.sqrt(0.125))
    auc, lo, hi = M.auroc_ci(Y4, P4)
    z = 1.959963984540054
    se_logit = math.sqrt(0.125) / (0.75 * 0.25)
    lg = math.log(3.0)
    assert auc == pytest.approx(0.75)
    assert lo == pytest.approx(1 / (1 + math.exp(-(lg - z * se_logit))))
    assert hi == pytest.approx(1 / (1 + math.exp(-(lg + z * se_logit))))
    assert 0 < lo < auc < hi < 1


def test_delong_matches_bootstrap_roughly():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 600)
    p = 1 / (1 + np.exp(-(y * 1.0 + rng.normal(size=600))))
    auc, lo, hi = M.auroc_ci(y, p)
    _, blo, bhi = M.auroc_bootstrap(y, p, n_boot=400, seed=7)
    assert abs((hi - lo) - (bhi - blo)) < 0.02
    # seeded: same numbers twice
    assert M.auroc_bootstrap(y, p, n_boot=50, seed=3) == M.auroc_bootstrap(y, p, n_boot=50, seed=3)


def test_bootstrap_by_group_keeps_groups():
    y = [0, 0, 1, 1, 0, 1]
    p = [0.1, 0.2, 0.8, 0.7, 0.3, 0.9]
    g = [1, 1, 2, 2, 3, 3]
    auc, lo, hi = M.auroc_bootstrap(y, p, n_boot=200, seed=1, groups=g)
    assert auc == pytest.approx(1.0)
    assert lo <= hi <= 1.0


def test_auprc_hand_example():
    # ranks: .8(+) .4(-) .35(+) .1(-): AP = .5*1 + .5*(2/3)
    assert M.auprc(Y4, P4) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_auprc_ties_taken_together():
    # one threshold for the tied pair: P = 1/2 at R = 1
    assert M.auprc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)


def test_brier():
    assert M.brier([0, 1], [0.2, 0.6]) == pytest.approx(0.1)


def _mle_fit():
    rng = np.random.default_rng(5)
    x = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(0.5 + 1.3 * x)))).astype(float)
    beta = M._logistic_fit(np.c_[np.ones(x.size), x], y)
    return y, beta[0] + beta[1] * x


def test_calibration_of_mle_fit_is_perfect_on_its_own_data():
    # The score equations of an ML logistic fit make slope 1 and
    # calibration-in-the-large 0 exactly on the training data.
    y, lp = _mle_fit()
    a, b = M.calibration_intercept_slope(y, 1 / (1 + np.exp(-lp)))
    assert a == pytest.approx(0.0, abs=1e-7)
    assert b == pytest.approx(1.0, abs=1e-7)


def test_calibration_slope_of_doubled_logit_is_half():
    y, lp = _mle_fit()
    _, b = M.calibration_intercept_slope(y, 1 / (1 + np.exp(-2 * lp)))
    assert b == pytest.approx(0.5, abs=1e-6)


def test_calibration_intercept_detects_shift():
    y, lp = _mle_fit()
    a, _ = M.calibration_intercept_slope(y, 1 / (1 + np.exp(-(lp - 1.0))))
    assert a > 0.8        # risks underestimated: intercept positive


def test_calibration_bins():
    y = [0, 0, 1, 0, 1, 1]
    p = [0.1, 0.1, 0.2, 0.6, 0.7, 0.9]
    bins = M.calibration_bins(y, p, n_bins=2)
    assert [b["n"] for b in bins] == [3, 3]
    assert bins[0]["mean_predicted"] == pytest.approx(0.4 / 3)
    assert bins[0]["observed"] == pytest.approx(1 / 3)
    assert bins[1]["observed"] == pytest.approx(2 / 3)
    assert bins[1]["observed_lo"] < 2 / 3 < bins[1]["observed_hi"]
    ub = M.calibration_bins(y, p, n_bins=2, strategy="uniform")
    assert [b["n"] for b in ub] == [3, 3]


def test_net_benefit_by_hand():
    y = [1, 1, 0, 0, 0]
    p = [0.9, 0.3, 0.6, 0.1, 0.2]
    nb = {r["threshold"]: r for r in M.net_benefit(y, p, [0.25, 0.5])}
    assert nb[0.5]["net_benefit"] == pytest.approx(1 / 5 - 1 / 5 * 1.0)
    assert nb[0.25]["net_benefit"] == pytest.approx(2 / 5 - 1 / 5 / 3)
    assert nb[0.25]["treat_all"] == pytest.approx(0.4 - 0.6 / 3)
    assert nb[0.25]["treat_none"] == 0.0


def test_concordance_by_hand():
    # comparable: (0,1) (0,2) (0,3) conc; (1,2) disc, (1,3) conc -> 4/5
    assert M.concordance([2, 4, 6, 8], [1, 1, 0, 1], [1, 3, 2, 5]) == pytest.approx(0.8)


def test_concordance_ties():
    # (0,1): same time, 1 censored -> comparable, tied prediction -> 0.5
    # (0,2): 0 shorter, predicted longer -> 0
    assert M.concordance([2, 2, 3], [1, 0, 1], [1, 1, 0]) == pytest.approx(0.25)
    with pytest.raises(M.MetricError):
        M.concordance([2, 2], [1, 1], [1, 2])


def _brute_c(t, e, s):
    num = den = 0.0
    for i in range(len(t)):
        if not e[i]:
            continue
        for j in range(len(t)):
            if t[i] < t[j] or (t[i] == t[j] and not e[j] and i != j):
                den += 1
                num += 1.0 if s[j] > s[i] else (0.5 if s[j] == s[i] else 0.0)
    return num / den


def test_concordance_matches_brute_force():
    rng = np.random.default_rng(3)
    t = rng.integers(1, 15, 300).astype(float)
    e = rng.random(300) < 0.7
    s = np.round(t + rng.normal(scale=4, size=300))
    assert M.concordance(t, e, s) == pytest.approx(_brute_c(t, e, s))


def test_km_median():
    assert M.km_median([1, 2, 3, 4, 5], [1, 1, 1, 1, 1]) == 3
    # S: t1 .8, t2 .8*3/4 = .6, t3 .6*1/2 = .3
    assert M.km_median([1, 2, 2, 3, 4], [1, 0, 1, 1, 0]) == 3
    assert M.km_median([1, 5, 6], [1, 0, 0]) is None


def test_stay_by_decile():
    t = np.arange(1, 21, dtype=float)
    rows = M.stay_by_decile(t, np.ones(20), t, n_groups=4)
    assert [r["n"] for r in rows] == [5, 5, 5, 5]
    assert rows[0]["observed_median"] == 3
    assert rows[0]["predicted_median"] == 3


def test_interval_coverage_with_censoring():
    #       hit      miss      miss(cens>upper) undetermined  miss(early)
    t = [5, 10, 12, 4, 2]
    e = [1, 1, 0, 0, 1]
    lo = [3] * 5
    hi = [8] * 5
    c = M.interval_coverage(t, e, lo, hi)
    assert c["determined"] == 4
    assert c["covered"] == pytest.approx(1 / 4)
    assert c["lower_bound"] == pytest.approx(1 / 5)
    assert c["upper_bound"] == pytest.approx(2 / 5)
    # censoring KM: G(4)=3/4; rows decided at d=5,8,8 weigh 4/3, d=2 weighs 1
    assert c["ipcw"] == pytest.approx((4 / 3) / (1 + 3 * 4 / 3))
    assert c["events_only"] == pytest.approx(1 / 3)


def test_interval_coverage_calibrated_intervals():
    rng = np.random.default_rng(11)
    n = 4000
    mu = rng.normal(2, 0.3, n)
    t = np.exp(mu + rng.normal(0, 0.5, n))
    cens = rng.exponential(20, n)
    obs = np.minimum(t, cens)
    ev = t <= cens
    lo = np.exp(mu - 1.2815515655446004 * 0.5)
    hi = np.exp(mu + 1.2815515655446004 * 0.5)
    c = M.interval_coverage(obs, ev, lo, hi)
    assert c["ipcw"] == pytest.approx(0.8, abs=0.03)
    assert c["lower_bound"] <= c["ipcw"] <= c["upper_bound"]


def test_reports_have_all_numbers():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 200), 0.01, 0.99)
    r = M.risk_report(y, p)
    for k in ("auroc", "auroc_lo", "auroc_hi", "auprc", "brier",
              "calibration_intercept", "calibration_slope"):
        assert np.isfinite(r[k])
    s = M.stay_report([1, 2, 3, 4], [1, 1, 0, 1], [1, 2, 3, 4], [0.5, 1, 2, 3], [2, 3, 4, 5])
    assert s["concordance"] == pytest.approx(1.0)


def test_paired_auroc_difference_se():
    # Y4 with P4 against a second score: positives 0.9, 0.2 vs negatives 0.1, 0.3.
    # V10: P4 (0.5, 1.0), Q (1.0, 0.5); V01: P4 (1.0, 0.5), Q (1.0, 0.5)
    # differences: V10 (-0.5, 0.5) var 0.5; V01 (0, 0) var 0  ->  se^2 = 0.5 / 2
    q4 = [0.1, 0.3, 0.9, 0.2]
    assert M.auroc_diff_se(Y4, P4, q4) == pytest.approx(math.sqrt(0.25))
    assert M.auroc_diff_se(Y4, P4, P4) == 0.0
    # paired: two correlated scores differ far less than two independent SEs say
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    a = y * 1.0 + rng.normal(size=2000)
    b = a + 0.3 * rng.normal(size=2000)
    se = M.auroc_diff_se(y, a, b)
    assert se < 0.5 * math.hypot(M.auroc_se(y, a), M.auroc_se(y, b))
    # and agrees with a bootstrap of the difference
    diffs = []
    for _ in range(300):
        i = rng.integers(0, 2000, 2000)
        diffs.append(M.auroc(y[i], a[i]) - M.auroc(y[i], b[i]))
    assert se == pytest.approx(np.std(diffs), rel=0.2)
