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


LOS = (5.0, 0.7)            # ICU stay median, sigma (days)
D_ICU, D_WARD = 0.4, 0.05


def _course(rng, n, p, tm, ts, wm, ws):
    icu = rng.random(n) < p
    ward1 = np.clip(np.where(icu, _lognormal(rng, tm, ts, n), _lognormal(rng, wm, ws, n)), 0.15, 60)
    los = np.clip(_lognormal(rng, *LOS, n), 0.3, 120)
    u = rng.random(n)
    dies = np.where(icu, u < D_ICU, u < D_WARD)
    return icu, ward1, los, dies


@pytest.mark.parametrize("tau, horizon", [(0.5, 2.0), (1.0, 7.0), (3.0, 7.0), (0.05, 30.0), (2.0, 1.0)])
def test_death_oracle_before_the_icu_matches_simulated_frequency(tau, horizon):
    """Still in the ED or on the first ward at τ: the share dead within H."""
    rng = np.random.default_rng(11)
    n = 400_000
    p, ed = 0.3, 0.1
    tm, ts, wm, ws = 1.6, 0.8, 6.0, 0.6
    icu, ward1, los, dies = _course(rng, n, p, tm, ts, wm, ws)
    death_at = ed + ward1 + np.where(icu, los, 0.0)
    at_risk = ed + ward1 > tau                       # not yet in the ICU, not yet discharged
    hit = dies & (death_at <= tau + horizon)
    freq = hit[at_risk].mean()
    se = np.sqrt(freq * (1 - freq) / at_risk.sum())
    q = float(O.death_within(tau, horizon, p, ed, tm, ts, wm, ws, *LOS, D_ICU, D_WARD))
    assert abs(q - freq) < 4 * se + 2e-4, (q, freq, se)


@pytest.mark.parametrize("e, horizon", [(0.0, 2.0), (1.0, 2.0), (6.0, 7.0)])
def test_death_oracle_in_the_icu_matches_simulated_frequency(e, horizon):
    """In the ICU for e days at τ: only an ICU death can come, at the end of the stay."""
    rng = np.random.default_rng(12)
    n = 400_000
    los = np.clip(_lognormal(rng, *LOS, n), 0.3, 120)
    dies = rng.random(n) < D_ICU
    at_risk = los > e
    hit = dies & (los <= e + horizon)
    freq = hit[at_risk].mean()
    se = np.sqrt(freq * (1 - freq) / at_risk.sum())
    tau = 2.0 + e
    q = float(O.death_within(tau, horizon, 0.3, 0.1, 1.6, 0.8, 6.0, 0.6, *LOS, D_ICU, D_WARD,
                             icu_since_days=e))
    assert abs(q - freq) < 4 * se + 1e-4, (q, freq, se)


def test_death_oracle_limits():
    args = (0.3, 0.1, 1.6, 0.8, 6.0, 0.6, *LOS)
    assert O.death_within(1.0, 2.0, *args, 0.0, 0.0) == 0.0                       # nobody dies
    assert O.death_within(1.0, 2.0, *args, D_ICU, D_WARD, after_icu=True) == 0.0  # ICU survivors
    # a horizon past every clip: the whole death probability of the course still possible
    q = O.death_within(1.0, 400.0, *args, D_ICU, D_WARD)
    from model.oracle import _cdf
    st, sw = 1 - _cdf(0.9, 1.6, 0.8), 1 - _cdf(0.9, 6.0, 0.6)
    assert q == pytest.approx((0.3 * st * D_ICU + 0.7 * sw * D_WARD) / (0.3 * st + 0.7 * sw), abs=1e-9)


def test_death_probability_is_the_generators():
    """synth.death_probability gives the death share the generator draws, per course."""
    from model import synth
    c = synth.generate(20_000, 5, __import__("datetime").date(2020, 7, 1))
    icu, died = c.oracle["icu"], c.oracle["died"]
    for course in (True, False):
        sel = icu == course
        d = synth.death_probability(c.oracle["covid"][sel], c.oracle["severity"][sel], c.adm["age"][sel], course)
        se = np.sqrt(np.sum(d * (1 - d))) / sel.sum()
        assert abs(died[sel].mean() - d.mean()) < 4 * se, (course, died[sel].mean(), d.mean(), se)
