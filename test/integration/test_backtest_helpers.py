"""The backtest's own arithmetic (eval/backtest.py): horizon ranges, the
moving-block bootstrap's indices, and the summary's scores on a hand-made
set of records.  No server is needed; it sits beside the server tests
because eval/ has no test folder of its own."""
import datetime as dt
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "eval"))
import backtest  # noqa: E402


def test_parse_horizons():
    assert backtest.parse_horizons("1,3,7") == [1, 3, 7]
    assert backtest.parse_horizons("1-14") == list(range(1, 15))
    assert backtest.parse_horizons("7,1-3,3") == [1, 2, 3, 7]
    for bad in ("0", "3-1", "1-15", ""):
        with pytest.raises(SystemExit):
            backtest.parse_horizons(bad)


def test_block_bootstrap_index():
    rng = np.random.default_rng(1)
    idx = backtest.block_bootstrap_index(30, 14, 200, rng)
    assert idx.shape == (200, 30)
    assert idx.min() >= 0 and idx.max() <= 29
    # blocks of 14 consecutive origins: positions 0..13, 14..27 and 28..29 (cut)
    for row in idx:
        for a, b in ((0, 14), (14, 28), (28, 30)):
            assert list(np.diff(row[a:b])) == [1] * (b - a - 1)
    # a series shorter than a block is resampled as one block: itself
    assert (backtest.block_bootstrap_index(5, 14, 3, rng) == np.arange(5)).all()


def test_summarise_scores():
    day0 = dt.date(2020, 3, 1)
    recs = []
    # four origins: truth, persistence, expected, quantiles, crps, randomised PIT, PIT CDF at 0.1..0.9
    for i, (y, pers, e, crps, pit) in enumerate([(10, 8, 9.0, 1.0, 0.50), (12, 10, 11.0, 1.5, 0.97),
                                                 (9, 12, 10.0, 0.5, 0.07), (11, 11, 11.0, 0.4, 0.30)]):
        pitc = [min(1.0, max(0.0, (z - (pit - 0.05)) / 0.1)) for z in backtest.PIT_EDGES]
        recs.append({"variant": "v", "unit": backtest.TOTAL, "h": 1, "day": day0 + dt.timedelta(days=i),
                     "truth": y, "persistence": pers, "expected": e, "p05": 8, "p10": 9, "p90": 11,
                     "p95": 12, "crps": crps, "pit": pit, "pitc": pitc})
    (row,) = backtest.summarise(recs, [1], block_days=2, reps=50, seed=3)
    assert row["n"] == 4
    assert row["cov80"] == pytest.approx(3 / 4)          # 12 lies above P90 = 11
    assert row["pit_cov80"] == pytest.approx(2 / 4)      # 0.50 and 0.30 in [0.1, 0.9]
    assert row["pit_cov90"] == pytest.approx(3 / 4)      # 0.97 > 0.95 is out; 0.07 is in
    assert row["mae"] == pytest.approx((1 + 1 + 1 + 0) / 4)
    assert row["mae_persistence"] == pytest.approx((2 + 2 + 3 + 0) / 4)
    assert row["crps_persistence"] == row["mae_persistence"]
    assert row["crps_skill"] == pytest.approx(1 - (3.4 / 4) / (7 / 4))
    assert row["bias"] == pytest.approx((-1 - 1 + 1 + 0) / 4)
    assert row["width80"] == 2 and row["width90"] == 4
    assert sum(row["pit_hist"]) == pytest.approx(1.0)
    assert len(row["pit_hist"]) == 10
    lo, hi, half = row["boot"]["pit_cov80"]
    assert 0 <= lo <= row["pit_cov80"] <= hi <= 1 and half == pytest.approx((hi - lo) / 2)


def test_summarise_pools_series():
    """Two series (two cohorts) of the same key: the bootstrap draws blocks
    within each, so a statistic that is constant within each series but
    differs between them keeps the pooled mean in every replicate."""
    day0 = dt.date(2020, 3, 1)
    recs = []
    for series, pit in (("a", 0.5), ("b", 0.99)):
        for i in range(20):
            recs.append({"variant": "v", "unit": backtest.TOTAL, "h": 1, "series": series,
                         "day": day0 + dt.timedelta(days=i), "truth": 10, "persistence": 9,
                         "expected": 10.0, "p05": 8, "p10": 9, "p90": 11, "p95": 12,
                         "crps": 0.5, "pit": pit, "pitc": [0.0] * 9})
    (row,) = backtest.summarise(recs, [1], block_days=7, reps=100, seed=5)
    assert row["n"] == 40 and row["series"] == 2
    assert row["pit_cov80"] == pytest.approx(0.5)
    lo, hi, half = row["boot"]["pit_cov80"]
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5) and half == pytest.approx(0.0)


def test_action_summary():
    """Flips and the census days over the staffed beds without an earlier
    'scale up', on a hand-made week of one unit (lookahead 2 days)."""
    d = [dt.date(2020, 3, 1) + dt.timedelta(days=k) for k in range(8)]
    seq = ["hold", "scale up", "scale up", "hold", "hold", "hold", "scale down", "hold"]
    actions = {("v", "IC", day): a for day, a in zip(d, seq)}
    # census over the 10 staffed beds on d[3] (scale up at d[1] and d[2]:
    # warned) and on d[6] (d[4], d[5] hold: unwarned); d[7] has no capacity
    truth = {("IC", day): 8 for day in d}
    truth[("IC", d[3])] = 11
    truth[("IC", d[6])] = 12
    truth[("IC", d[7])] = 30
    staffed = {("IC", day): 10 for day in d[:7]}
    (row,) = backtest.action_summary(actions, truth, staffed, 2, d[0], d[7])
    # hold>up, up>hold, hold>down, down>hold: 4 flips over 7 days
    assert row["origins"] == 8 and row["flips"] == 4
    assert row["flips_per_week"] == pytest.approx(4.0)
    assert row["days_over_staffed"] == 2
    assert row["unwarned"] == 1 and row["unwarned_days"] == [str(d[6])]
    assert row["scale_up_share"] == pytest.approx(2 / 8)
    # with a lookahead of 3, d[6] is still unwarned (d[3..5] hold), d[3] warned
    (row3,) = backtest.action_summary(actions, truth, staffed, 3, d[0], d[7])
    assert row3["unwarned"] == 1
    # origins before `first` do not count
    (late,) = backtest.action_summary(actions, truth, staffed, 2, d[4], d[7])
    assert late["origins"] == 4 and late["flips"] == 2 and late["days_over_staffed"] == 1


def test_stay_check_arithmetic():
    """eval/stay_check.py: the probability of leaving within d days from a
    survival curve [S(s), S(s + 1), S(s + 3)], and the generator's log-normal
    stay law."""
    import stay_check
    curve = [0.5, 0.25, 0.125]
    assert stay_check.leave_prob(curve, 1) == pytest.approx(0.5)
    assert stay_check.leave_prob(curve, 2) == pytest.approx(0.75)
    assert stay_check.leave_prob([0.0, 0.0, 0.0], 1) == 1.0      # S(s) = 0: certainly gone
    assert stay_check.lognormal_s(0, 4.0, 0.8) == 1.0
    assert stay_check.lognormal_s(4.0, 4.0, 0.8) == pytest.approx(0.5)
    # one sigma above the median on the log scale: 1 - Phi(1)
    assert stay_check.lognormal_s(4.0 * np.exp(0.8), 4.0, 0.8) == pytest.approx(0.158655, abs=1e-6)
    # elapsed-stay bins: every s falls in exactly one
    assert stay_check.BINS[0] == 0 and stay_check.BINS[-1] == float("inf")
