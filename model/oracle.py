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

Death (``death_within``, ``landmark_death``).  The generator draws death
once per admission, with probability d_icu for an ICU course and d_ward for
a ward course (synth.death_probability: COVID or background, severity,
age); a patient who dies does so at the end of the stay: at the end of the
ICU stay L (clipped lognormal, icu_los_median_days / icu_los_sigma of
icu_synth.oracle_course, clipped to [0.3, 120] days) for an ICU course, at
the end of the first ward stay for a ward course; ICU survivors never die
in hospital.  At τ, by where the patient is (what any model sees):

* before the ICU (ED or first ward, s = τ − ed_days):
      [p · d_icu · P(s < T, T + L ≤ s + H) + (1 − p) · d_ward · (F_w(s + H) − F_w(s))]
      / (p · S_t(s) + (1 − p) · S_w(s)),
  the first term a convolution of the time to ICU T and L, summed on a grid
  of T (``GRID`` steps over (s, s + H], midpoints; the clip masses of T are
  jumps of its CDF and fall in one step);
* in the ICU since e days: d_icu · (F_L(e + H) − F_L(e)) / S_L(e);
* after the ICU: 0.

Other outcomes have no oracle: landmark() returns None for them.
"""
from __future__ import annotations

import numpy as np

CLIP_DAYS = (0.15, 60.0)        # model/synth.py: np.clip(ward1, 0.15, 60)


GRID = 400                      # steps of the time-to-ICU grid of death_within
CHUNK = 4096                    # rows per call of death_within in landmark_death


def _cdf(x, median, sigma, clip=CLIP_DAYS):
    """CDF of a lognormal(median, sigma) clipped to ``clip`` (days), at x days."""
    from scipy.stats import norm
    x = np.asarray(x, dtype=float)
    lo, hi = clip
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


def death_within(tau_days, horizon_days, p, ed_days, t_median, t_sigma, w_median, w_sigma,
                 l_median, l_sigma, d_icu, d_ward, icu_since_days=np.nan, after_icu=False):
    """True P(death within H) at τ (the module docstring), vectorised.
    ``icu_since_days``: days in the ICU at τ (NaN before the ICU);
    ``after_icu``: τ lies after the ICU stay."""
    from .synth import ICU_LOS_CLIP_DAYS as LC
    b = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in
                              (tau_days, horizon_days, p, ed_days, t_median, t_sigma, w_median, w_sigma,
                               l_median, l_sigma, d_icu, d_ward, icu_since_days)],
                            np.asarray(after_icu, dtype=bool))
    tau, h, p, ed, tm, ts, wm, ws, lm, ls, di, dw, e, after = [np.array(x) for x in b]
    s = tau - ed
    # before the ICU
    Ft_s = _cdf(s, tm, ts)
    den = p * (1.0 - Ft_s) + (1.0 - p) * (1.0 - _cdf(s, wm, ws))
    k = np.arange(GRID + 1) / GRID
    grid = s[..., None] + h[..., None] * k                                   # (..., GRID + 1)
    Ft = _cdf(grid, tm[..., None], ts[..., None])
    mid = 0.5 * (grid[..., 1:] + grid[..., :-1])
    FL = _cdf((s + h)[..., None] - mid, lm[..., None], ls[..., None], LC)
    conv = np.sum(np.diff(Ft, axis=-1) * FL, axis=-1)
    ward_death = _cdf(s + h, wm, ws) - _cdf(s, wm, ws)
    with np.errstate(divide="ignore", invalid="ignore"):
        before = np.where(den > 0, (p * di * conv + (1.0 - p) * dw * ward_death) / den, np.nan)
        # in the ICU
        SL = 1.0 - _cdf(e, lm, ls, LC)
        in_icu = np.where(SL > 0, di * (_cdf(e + h, lm, ls, LC) - _cdf(e, lm, ls, LC)) / SL, np.nan)
    q = np.where(after, 0.0, np.where(np.isfinite(e), in_icu, before))
    return np.clip(q, 0.0, 1.0)


def landmark_death(conn, rows, horizon_hours):
    """The true probability of death within the horizon at each row (columns
    admission_id, admitted_at, as_of); None without generator truth."""
    if not available(conn):
        return None
    from . import synth
    ids = [int(x) for x in np.unique(rows["admission_id"].to_numpy())]
    with conn.cursor() as cur:
        cur.execute("""
            SELECT o.admission_id, o.p_icu, c.ed_days, c.time_to_icu_median_days, c.time_to_icu_sigma,
                   c.ward_los_median_days, c.ward_los_sigma, c.icu_los_median_days, c.icu_los_sigma,
                   c.time_to_icu_days, o.icu_los_days, o.severity, o.covid::int, a.age_years
              FROM icu_synth.oracle o JOIN icu_synth.oracle_course c USING (admission_id)
              JOIN icu_predict.admission a USING (admission_id)
             WHERE o.admission_id = ANY(%s)""", (ids,))
        m = {int(r[0]): [np.nan if v is None else float(v) for v in r[1:]] for r in cur.fetchall()}
    conn.rollback()
    par = np.array([m.get(int(a), [np.nan] * 13) for a in rows["admission_id"]], dtype=float)
    import pandas as pd
    tau = ((pd.to_datetime(rows["as_of"], utc=True) - pd.to_datetime(rows["admitted_at"], utc=True))
           .dt.total_seconds().to_numpy() / 86400.0)
    t_icu, icu_los = par[:, 8], par[:, 9]
    covid, sev, age = par[:, 11] == 1, par[:, 10], par[:, 12]
    in_icu = np.isfinite(t_icu) & (tau >= t_icu) & (tau < t_icu + icu_los)
    after = np.isfinite(t_icu) & (tau >= t_icu + icu_los)
    d_icu = synth.death_probability(covid, sev, age, True)
    d_ward = synth.death_probability(covid, sev, age, False)
    since = np.where(in_icu, tau - t_icu, np.nan)
    q = np.empty(len(tau))
    for lo in range(0, len(tau), CHUNK):        # the grid is rows x GRID: bounded memory
        j = slice(lo, lo + CHUNK)
        q[j] = death_within(tau[j], horizon_hours / 24.0, *[par[j, c] for c in range(8)],
                            d_icu[j], d_ward[j], since[j], after[j])
    return np.where(np.isfinite(par[:, 0]), q, np.nan)


def landmark(conn, rows, horizon_hours, outcome_kind="icu_admission"):
    """The true risk of the outcome within the horizon at each row: ICU
    admission (landmark_icu) or death (landmark_death); None for other
    outcomes or without generator truth."""
    if outcome_kind == "death":
        return landmark_death(conn, rows, horizon_hours)
    return landmark_icu(conn, rows, horizon_hours, outcome_kind)
