"""The true risk at each prediction time, on synthetic cohorts (model/synth.py).

The generator draws, per admission, whether the patient will need the ICU
(probability ``p_icu``, stored in icu_synth.oracle) and then the time on the
first ward: the time to ICU for an ICU patient, the whole ward stay for the
others, each lognormal (median, sigma in icu_synth.oracle_course) and
clipped to [0.15, 60] days, after the ED stay (``ed_days``).  Before the ICU
or discharge the patient is on the ward, so at a prediction time τ days
after admission, for a patient still in hospital with no ICU stay yet, the
true probability of ICU admission within H is

    q(τ) = p · [F_t(s + H) − F_t(s)] / (p · S_t(s) + (1 − p) · S_w(s)),
    s = τ − ed_days,

with F_t, S_t the distribution and survival function of the (clipped) time
to ICU and S_w the survival function of the (clipped) ward stay.  That is
the best any model can do at that row, given the generator's hidden state;
the per-admission ``p_icu`` knows nothing of timing, so a model that sees
how long the patient has been on the ward can beat it, but not q.

This is exact for the generator's law (the minute rounding of times aside).
Outcomes other than ICU admission have no oracle here (the death time of the
generator depends on the ICU course): landmark_icu returns None for them.
"""
from __future__ import annotations

import numpy as np

CLIP_DAYS = (0.15, 60.0)        # model/synth.py: np.clip(ward1, 0.15, 60)


def _cdf(x, median, sigma):
    """CDF of a lognormal(median, sigma) clipped to CLIP_DAYS, at x days."""
    from scipy.stats import norm
    x = np.asarray(x, dtype=float)
    lo, hi = CLIP_DAYS
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.maximum(x, 1e-300)) - np.log(median)) / sigma
    f = norm.cdf(z)
    return np.where(x < lo, 0.0, np.where(x >= hi, 1.0, f))


def icu_within(tau_days, horizon_days, p, ed_days, t_median, t_sigma, w_median, w_sigma):
    """q(τ) above, vectorised."""
    s = np.asarray(tau_days, dtype=float) - np.asarray(ed_days, dtype=float)
    Ft_s, Ft_sh = _cdf(s, t_median, t_sigma), _cdf(s + horizon_days, t_median, t_sigma)
    St, Sw = 1.0 - Ft_s, 1.0 - _cdf(s, w_median, w_sigma)
    den = p * St + (1.0 - p) * Sw
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(den > 0, p * (Ft_sh - Ft_s) / den, np.nan)
    return np.clip(q, 0.0, 1.0)


def available(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_catalog.to_regclass('icu_synth.oracle') IS NOT NULL "
                    "AND pg_catalog.to_regclass('icu_synth.oracle_course') IS NOT NULL")
        r = bool(cur.fetchone()[0])
    conn.rollback()
    return r


def landmark_icu(conn, rows, horizon_hours, outcome_kind="icu_admission"):
    """The true probability of ICU admission within the horizon at each row
    (columns admission_id, admitted_at, as_of); None when the cohort has no
    generator truth or the outcome is not ICU admission."""
    if outcome_kind != "icu_admission" or not available(conn):
        return None
    ids = [int(x) for x in np.unique(rows["admission_id"].to_numpy())]
    with conn.cursor() as cur:
        cur.execute("""
            SELECT o.admission_id, o.p_icu, c.ed_days, c.time_to_icu_median_days, c.time_to_icu_sigma,
                   c.ward_los_median_days, c.ward_los_sigma
              FROM icu_synth.oracle o JOIN icu_synth.oracle_course c USING (admission_id)
             WHERE o.admission_id = ANY(%s)""", (ids,))
        m = {int(r[0]): r[1:] for r in cur.fetchall()}
    conn.rollback()
    par = np.array([m.get(int(a), (np.nan,) * 6) for a in rows["admission_id"]], dtype=float)
    import pandas as pd
    tau = ((pd.to_datetime(rows["as_of"], utc=True) - pd.to_datetime(rows["admitted_at"], utc=True))
           .dt.total_seconds().to_numpy() / 86400.0)
    return icu_within(tau, horizon_hours / 24.0, par[:, 0], par[:, 1], par[:, 2], par[:, 3],
                      par[:, 4], par[:, 5])
