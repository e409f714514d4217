"""The oracle forecaster of a synthetic cohort, for the backtest's sharpness
and steady-state comparisons (issue 12: "the generator's true risks, stays
and arrival intensity").

At a reference time t it forecasts the hospital-wide ICU census at t + h
days from what the generator knows and a forecaster could not:

  * a patient in an ICU episode at t, s days into it, is still there at
    t + h with S(s + h) / S(s), S the survival of the patient's true ICU
    stay law: lognormal(icu_los_median_days, icu_los_sigma) clipped to
    [0.3, 120] days (icu_synth.oracle_course; the median carries the
    scenario's drift);
  * a patient in hospital at t who has had no ICU episode: the true
    probability p_icu (icu_synth.oracle) updated by the time e already spent
    without ICU, q = p S_T / (p S_T + (1 - p) S_W), S_T the survival of the
    true time to ICU after the ED (lognormal, clipped to [0.15, 60]), S_W
    that of the first ward stay of an admission without ICU (the same
    clipping; the medium-care and later stays of such admissions are left
    out, so q is slightly low for long stayers); the ICU entry time is the
    time to ICU given that it exceeds e (grid of 0.05 days), and from entry
    the patient stays with the true ICU stay law;
  * a patient whose ICU episode has ended counts 0 (the generator has no
    ICU readmission within an admission);
  * admissions after t: the expected ICU starts per day and admission day
    (icu_synth.scenario_icu_start_lag) of admissions from t on, each placed
    at the middle of its start day and staying with the ICU stay law of its
    class (median of its admission day, icu_synth.scenario_admissions);
    their number is Poisson with that mean.

The distribution is the Poisson-binomial of the patients convolved with the
Poisson of the arrivals, computed by the extension's own bed_demand
functions.  Days are UTC days (the scenario tables' days); the backtest's
reference times are UTC midnights by default.  Only the hospital-wide row
is forecast: the routing of arrivals to units is not part of the law.
"""
import numpy as np
from scipy.special import ndtr

GRID = 0.05          # days, the ward patients' entry-time grid


def sf_clipped_lognormal(x, median, sigma, lo, hi):
    """P(clip(L, lo, hi) > x) for L lognormal(median, sigma)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(np.maximum(x, 1e-300)) - np.log(median)) / sigma
    s = 1.0 - ndtr(z)
    s = np.where(x < lo, 1.0, s)
    return np.where(x >= hi, 0.0, s)


def available(cur):
    cur.execute("SELECT to_regclass('icu_synth.oracle_course') IS NOT NULL "
                "AND to_regclass('icu_synth.scenario_icu_start_lag') IS NOT NULL")
    return cur.fetchone()[0]


def los_sigmas(cur):
    """{covid: ICU stay sigma} of the loaded cohort's generator."""
    cur.execute("SELECT o.covid, min(c.icu_los_sigma), max(c.icu_los_sigma) FROM icu_synth.oracle o "
                "JOIN icu_synth.oracle_course c USING (admission_id) GROUP BY o.covid")
    out = {}
    for covid, lo, hi in cur.fetchall():
        if abs(lo - hi) > 1e-12:
            raise SystemExit("oracle: the ICU stay sigma is not one per class")
        out[bool(covid)] = float(lo)
    return out


def patient_probabilities(cur, t, horizons):
    """(n_patients, len(horizons)) probabilities of being in an ICU at t + h."""
    cur.execute("""
        SELECT extract(epoch FROM %(t)s - a.admitted_at) / 86400.0 AS elapsed,
               o.p_icu, c.ed_days, c.time_to_icu_median_days, c.time_to_icu_sigma,
               c.ward_los_median_days, c.ward_los_sigma, c.icu_los_median_days, c.icu_los_sigma,
               e.started_at IS NOT NULL AS had_icu,
               e.started_at IS NOT NULL AND (e.ended_at IS NULL OR e.ended_at > %(t)s) AS in_icu,
               coalesce(extract(epoch FROM %(t)s - e.started_at) / 86400.0, 0) AS spent
          FROM icu_predict.admission a
          JOIN icu_synth.oracle o USING (admission_id)
          JOIN icu_synth.oracle_course c USING (admission_id)
          LEFT JOIN LATERAL (SELECT ep.started_at, ep.ended_at FROM icu_predict.icu_episode ep
                              WHERE ep.admission_id = a.admission_id AND ep.started_at <= %(t)s
                              ORDER BY ep.started_at DESC LIMIT 1) e ON true
         WHERE a.admitted_at <= %(t)s AND (a.discharged_at IS NULL OR a.discharged_at > %(t)s)""",
                {"t": t})
    rows = cur.fetchall()
    hs = np.asarray(horizons, dtype=np.float64)
    if not rows:
        return np.zeros((0, len(hs)))
    a = np.array([[float(x) if x is not None else np.nan for x in r[:9]] for r in rows])
    had_icu = np.array([r[9] for r in rows])
    in_icu = np.array([r[10] for r in rows])
    spent = np.array([float(r[11]) for r in rows])
    e, p, ed, tt_m, tt_s, wl_m, wl_s, il_m, il_s = a.T
    out = np.zeros((len(rows), len(hs)))

    # in an ICU now: S(s + h) / S(s)
    i = np.flatnonzero(in_icu)
    if len(i):
        s0 = sf_clipped_lognormal(spent[i], il_m[i], il_s[i], 0.3, 120)
        sh = sf_clipped_lognormal(spent[i, None] + hs[None, :], il_m[i, None], il_s[i, None], 0.3, 120)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[i] = np.where(s0[:, None] > 0, sh / s0[:, None], 0.0)

    # not yet in an ICU: q, then the entry time given no entry by e
    w = np.flatnonzero(~had_icu)
    if len(w):
        x0 = np.maximum(e[w] - ed[w], 0.0)          # time spent after the ED
        st = sf_clipped_lognormal(x0, tt_m[w], tt_s[w], 0.15, 60)
        sw = sf_clipped_lognormal(x0, wl_m[w], wl_s[w], 0.15, 60)
        den = p[w] * st + (1 - p[w]) * sw
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(den > 0, p[w] * st / den, 0.0)
        # entry u days after t (grid cell (u - GRID, u]); for a patient still
        # in the ED at t the ward stay starts ed - e days later
        lead = np.maximum(ed[w] - e[w], 0.0)
        us = np.arange(GRID, hs.max() + GRID / 2, GRID)
        xs = x0[:, None] + np.maximum(us[None, :] - lead[:, None], 0.0)
        xs_prev = x0[:, None] + np.maximum(us[None, :] - GRID - lead[:, None], 0.0)
        s_now = sf_clipped_lognormal(xs, tt_m[w, None], tt_s[w, None], 0.15, 60)
        s_prev = sf_clipped_lognormal(xs_prev, tt_m[w, None], tt_s[w, None], 0.15, 60)
        with np.errstate(divide="ignore", invalid="ignore"):
            dens = np.where(st[:, None] > 0, (s_prev - s_now) / st[:, None], 0.0)
        for k, h in enumerate(hs):
            m = us <= h + 1e-9
            stay = sf_clipped_lognormal(h - (us[m] - GRID / 2), il_m[w, None], il_s[w, None], 0.3, 120)
            out[w, k] = q * (dens[:, m] * stay).sum(axis=1)
    return np.clip(out, 0.0, 1.0)


def arrivals_mean(cur, t_day, horizons, sigmas):
    """Expected ICU census at t + h of admissions from day t_day (the UTC day
    that starts at the reference time) on, per horizon."""
    cur.execute("""
        SELECT (l.day - %(d)s)::int AS j, l.lag_days,
               sum(l.expected_icu_starts_covid), sum(l.expected_icu_starts_background),
               min(s.icu_los_median_covid_days), min(s.icu_los_median_background_days)
          FROM icu_synth.scenario_icu_start_lag l
          JOIN icu_synth.scenario_admissions s ON s.day = l.day - l.lag_days
         WHERE l.day >= %(d)s AND l.day < %(d)s + %(hmax)s AND l.day - l.lag_days >= %(d)s
         GROUP BY 1, 2""", {"d": t_day, "hmax": max(horizons)})
    rows = cur.fetchall()
    out = []
    for h in horizons:
        m = 0.0
        for j, _lag, cov, bg, med_c, med_b in rows:
            if j >= h:
                continue
            x = h - j - 0.5                      # from the middle of start day j to t + h
            m += float(cov) * float(sf_clipped_lognormal(x, med_c, sigmas[True], 0.3, 120))
            m += float(bg) * float(sf_clipped_lognormal(x, med_b, sigmas[False], 0.3, 120))
        out.append(m)
    return out


def forecast(cur, t, t_day, horizons, sigmas, truth_y, truth_u):
    """The oracle's total rows: per horizon the expected beds, quantiles, CRPS
    and randomised PIT (truth_y, truth_u: {h: y}, {h: u}); computed by the
    extension's bed_demand functions."""
    probs = patient_probabilities(cur, t, horizons)
    lam = arrivals_mean(cur, t_day, horizons, sigmas)
    rows = []
    for k, h in enumerate(horizons):
        if h not in truth_y:
            continue
        ps = [float(x) for x in probs[:, k] if x > 0]
        cur.execute("""
            WITH d AS (SELECT icu_predict.bed_demand_add_poisson(
                                  coalesce((SELECT icu_predict.bed_demand(p) FROM unnest(%(ps)s::float8[]) p),
                                           icu_predict.bed_demand_poisson(0)), %(lam)s) AS d)
            SELECT icu_predict.bed_demand_mean(d), icu_predict.bed_demand_quantile(d, 0.05),
                   icu_predict.bed_demand_quantile(d, 0.10), icu_predict.bed_demand_quantile(d, 0.50),
                   icu_predict.bed_demand_quantile(d, 0.90), icu_predict.bed_demand_quantile(d, 0.95),
                   icu_predict.bed_demand_crps(d, %(y)s), icu_predict.bed_demand_pit(d, %(y)s, %(u)s),
                   ARRAY(SELECT icu_predict.bed_demand_pit_cdf(d, %(y)s, z / 10.0) FROM generate_series(1, 9) z)
              FROM d""", {"ps": ps, "lam": lam[k], "y": truth_y[h], "u": truth_u[h]})
        mean, p05, p10, p50, p90, p95, crps, pit, pitc = cur.fetchone()
        rows.append({"h": h, "expected": mean, "p05": p05, "p10": p10, "p50": p50, "p90": p90,
                     "p95": p95, "crps": crps, "pit": pit, "pitc": list(pitc), "arrivals_mean": lam[k],
                     "patients_mean": float(probs[:, k].sum())})
    return rows
