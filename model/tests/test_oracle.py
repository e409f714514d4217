"""The landmark oracle (model/oracle.py) against a simulation of the
generator's law: for patients still on the ward at τ, the share admitted to
the ICU within H equals q(τ) within the binomial noise."""
import numpy as np
import pytest

from model import oracle as O


def _lognormal(rng, median, sigma, n):
    return np.exp(np.log(median) + sigma * rng.standard_normal(n))


@pytest.mark.parametrize("tau, horizon", [(0.5, 2.0), (1.0, 2.0), (3.0, 7.0), (0.05, 2.0)])
def test_oracle_matches_simulated_frequency(tau, horizon):
    rng = np.random.default_rng(7)
    n = 400_000
    p, ed = 0.3, 0.1
    tm, ts, wm, ws = 1.6, 0.8, 6.0, 0.6
    icu = rng.random(n) < p
    ward1 = np.where(icu, _lognormal(rng, tm, ts, n), _lognormal(rng, wm, ws, n))
    ward1 = np.clip(ward1, 0.15, 60)
    end_ward = ed + ward1
    at_risk = end_ward > tau
    hit = icu & (end_ward <= tau + horizon)
    freq = hit[at_risk].mean()
    se = np.sqrt(freq * (1 - freq) / at_risk.sum())
    q = float(O.icu_within(tau, horizon, p, ed, tm, ts, wm, ws))
    assert abs(q - freq) < 4 * se + 1e-4, (q, freq, se)


def test_oracle_limits():
    # p = 0: no ICU; p = 1 and a horizon past the clip (60 d): certain
    assert O.icu_within(1.0, 2.0, 0.0, 0.0, 1.6, 0.8, 6.0, 0.6) == 0.0
    assert O.icu_within(1.0, 100.0, 1.0, 0.0, 1.6, 0.8, 6.0, 0.6) == pytest.approx(1.0)
    # still in the ED (s < 0): the whole time to ICU lies ahead
    q = O.icu_within(0.05, 2.0, 0.5, 0.1, 1.6, 0.8, 6.0, 0.6)
    assert 0 < q < 0.5
