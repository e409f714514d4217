"""The synthetic cohort's true arrival intensity: for every day of the window,
the expected number of admissions and of new ICU episodes per ICU unit under
the generative model (model/synth.py with its scenario, model/scenario.py).

These are expectations, not realised counts: what an oracle forecaster that
knew the generator would predict before any patient arrived.  They depend on
the scenario, the number of admissions n and the end date, not on the seed.

How it is computed (docs/synthetic-cohort.md, "Oracle quantities"):

  * expected admissions on day d, per class (COVID-19, background) and
    source group (emergency, elective, other): n x class share x the
    scenario's daily density (scenario.daily_pdfs, or legacy_pdfs for
    today's sampler) x the source shares; elective admissions drawn on a
    Saturday or Sunday move to the Thursday or Friday before, as in the
    generator;
  * the mean true ICU probability per class and source group: the logistic
    ICU model averaged over severity (Gauss-Hermite, 40 nodes), the discrete
    age distribution (rounded, clipped normal) and sex;
  * the lag kernel: P(ICU start day - admission day = k) for arrival hour
    (elective uniform 7-11 h, others N(15 h, 5 h) mod 24), the ED stay
    (emergency: uniform 2-6 h) and the time to ICU (lognormal, clipped to
    0.15-60 days), integrated on a one-minute grid;
  * expected ICU starts on day d in unit u = sum over lags k and groups of
    admissions(d - k) x mean ICU probability x kernel(k) x routing share(u).

Ignored, because they move far less than one admission in a cohort of any
size: the clip of arrival times at 0.01 day before the end instant, the
minute rounding of times, and elective admissions shifted before the first
window day (they are counted on day -180, as the generator clips them).
"""
from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from . import scenario as _scenario
from . import synth

MAX_LAG = 62          # days: arrival hour + ED (< 1.25 d) + time to ICU (<= 60 d)
GH_NODES = 40


def _phi(x):
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, dtype=np.float64) / math.sqrt(2.0)))


def _age_pmf(mean, sd, lo):
    """P(age = k), k = lo..100, for clip(rint(N(mean, sd)), lo, 100)."""
    ks = np.arange(lo, 101, dtype=np.float64)
    upper = _phi((ks + 0.5 - mean) / sd)
    lower = _phi((ks - 0.5 - mean) / sd)
    upper[-1] = 1.0
    lower[0] = 0.0
    return ks, upper - lower


def mean_p_icu(covid: bool, elective: bool) -> float:
    """E[p_icu] over severity, age and sex for one class and source group."""
    par = synth.P["icu_covid"] if covid else synth.P["icu_background"]
    mean, sd, lo = synth.P["age_covid"] if covid else synth.P["age_background"]
    sexp = synth.P["sex_covid"] if covid else synth.P["sex_background"]
    ages, pa = _age_pmf(mean, sd, lo)
    z = (ages - 65.0) / 15.0
    s, ws = np.polynomial.hermite_e.hermegauss(GH_NODES)
    ws = ws / ws.sum()
    total = 0.0
    for male, pm in ((1.0, sexp[1]), (0.0, 1.0 - sexp[1])):
        eta = par["b0"] + par["b_age"] * z + par["b_age2"] * z ** 2 + par["b_male"] * male
        if not covid:
            eta = eta + par["b_elective"] * float(elective)
        eta = eta[:, None] + par["b_sev"] * s[None, :]
        p = 1.0 / (1.0 + np.exp(-eta))
        total += pm * float(pa @ (p @ ws))
    return total


def _hour_pmf(elective: bool):
    """Arrival minute of the day (0..1439) probabilities."""
    m = np.arange(1441, dtype=np.float64) / 60.0          # bin edges in hours
    if elective:
        a, b = synth.P["hour_elective"]
        cdf = np.clip((m - a) / (b - a), 0.0, 1.0)
    else:
        mu, sd = synth.P["hour_nonelective"]
        cdf = sum(_phi((m + 24.0 * k - mu) / sd) - _phi((24.0 * k - mu) / sd) for k in range(-3, 4))
    return np.diff(cdf)


def lag_kernel(covid: bool, group: str) -> np.ndarray:
    """P(ICU start day - admission day = k), k = 0..MAX_LAG, for an ICU-bound admission."""
    pm = _hour_pmf(group == "elective")
    if group == "emergency":
        lo, hi = synth.P["ed_hours"]
        ed = np.zeros(int(hi * 60))
        ed[int(lo * 60):] = 1.0
        ed /= ed.sum()
        pm = np.convolve(pm, ed)
        x = (np.arange(len(pm)) + 1.0) / synth.MIN_PER_DAY      # two half-minute midpoints
    else:
        x = (np.arange(len(pm)) + 0.5) / synth.MIN_PER_DAY
    med, sig = synth.P["time_to_icu_covid"] if covid else synth.P["time_to_icu_background"]

    def cdf(y):
        y = np.asarray(y, dtype=np.float64)
        with np.errstate(divide="ignore"):
            f = _phi((np.log(np.maximum(y, 1e-300)) - math.log(med)) / sig)
        return np.where(y < 0.15, 0.0, np.where(y >= 60.0, 1.0, f))
    k = np.arange(MAX_LAG + 1, dtype=np.float64)
    kern = np.array([float(pm @ (cdf(kk + 1.0 - x) - cdf(kk - x))) for kk in k])
    return kern


def _dow(end_date):
    return (np.arange(-_scenario.WINDOW_DAYS, 0) + end_date.weekday()) % 7


def series(cohort_or_sc, n: int | None = None, end_date: _dt.date | None = None) -> dict:
    """The expected daily series of a cohort (or of a scenario, n and end date).

    Returns dict with: days (dates), admissions, covid_admissions (arrays per
    day), starts {unit: {"covid": array, "background": array}}, lag
    {"covid": (days x MAX_LAG+1), "background": ...} (expected ICU starts on
    day d from admissions on day d - k, all units), routing, and the median
    ICU stay per class at each day's midpoint (los_median)."""
    if isinstance(cohort_or_sc, synth.Cohort):
        c = cohort_or_sc
        sc, n, end_date = c.scenario, c.n, c.end_date
    else:
        sc = cohort_or_sc
    W = _scenario.WINDOW_DAYS
    pdf_c, pdf_b = sc.daily_pdfs(end_date)
    dow = _dow(end_date)
    out_lag = {}
    adm_total = np.zeros(W)
    adm_covid = np.zeros(W)
    for cls, pdf, share in (("covid", pdf_c, sc.covid_share), ("background", pdf_b, 1.0 - sc.covid_share)):
        src = synth.P["source_covid"] if cls == "covid" else synth.P["source_background"]
        base = n * share * pdf
        groups = {"emergency": src[0] * base, "elective": src[1] * base,
                  "other": (1.0 - src[0] - src[1]) * base}
        el = groups["elective"].copy()
        moved = np.zeros(W)
        for i in np.flatnonzero(dow >= 5):               # Saturday, Sunday -> two days earlier
            moved[max(i - 2, 0)] += el[i]
            el[i] = 0.0
        groups["elective"] = el + moved
        lag = np.zeros((W, MAX_LAG + 1))
        for g, a in groups.items():
            if not a.any():
                continue
            p = mean_p_icu(cls == "covid", g == "elective")
            kern = lag_kernel(cls == "covid", g)
            for k in range(MAX_LAG + 1):
                lag[k:, k] += a[:W - k] * p * kern[k]
            adm_total += a
            if cls == "covid":
                adm_covid += a
        out_lag[cls] = lag
    starts = {}
    for u in _scenario.ICU_UNITS:
        sh_c = sc.icu_routing["covid"].get(u, 0.0)
        sh_b = sc.icu_routing["background"].get(u, 0.0)
        if sh_c == 0 and sh_b == 0:
            continue
        starts[u] = {"covid": sh_c * out_lag["covid"].sum(axis=1),
                     "background": sh_b * out_lag["background"].sum(axis=1)}
    mid = np.arange(-W, 0, dtype=np.float64) + 0.5
    first = end_date - _dt.timedelta(days=W)
    return dict(
        days=[first + _dt.timedelta(days=i) for i in range(W)],
        admissions=adm_total, covid_admissions=adm_covid, starts=starts, lag=out_lag,
        routing=sc.icu_routing,
        los_median={"covid": synth.P["icu_los_covid"][0] * sc.los_factor(mid, True),
                    "background": synth.P["icu_los_background"][0] * sc.los_factor(mid, False)})


# --------------------------------------------------------------------------
# CSV payloads (icu_synth.scenario_admissions, scenario_intensity, scenario_icu_start_lag)
# --------------------------------------------------------------------------
ADMISSIONS_COLUMNS = ("day, expected_admissions, expected_covid_admissions, "
                      "icu_los_median_covid_days, icu_los_median_background_days")
INTENSITY_COLUMNS = "day, unit, expected_icu_starts, expected_icu_starts_covid"
LAG_COLUMNS = "day, unit, lag_days, expected_icu_starts_covid, expected_icu_starts_background"


def _f(x):
    return repr(float(x))


def admissions_csv(s) -> bytes:
    lines = [f"{d.isoformat()},{_f(a)},{_f(c)},{_f(lc)},{_f(lb)}\n"
             for d, a, c, lc, lb in zip(s["days"], s["admissions"], s["covid_admissions"],
                                        s["los_median"]["covid"], s["los_median"]["background"])]
    return "".join(lines).encode()


def intensity_csv(s) -> bytes:
    lines = []
    for i, d in enumerate(s["days"]):
        for u, v in s["starts"].items():
            lines.append(f"{d.isoformat()},{u},{_f(v['covid'][i] + v['background'][i])},{_f(v['covid'][i])}\n")
    return "".join(lines).encode()


def lag_csv(s, tol=1e-12) -> bytes:
    lines = []
    lc, lb = s["lag"]["covid"], s["lag"]["background"]
    for u in s["starts"]:
        sh_c = s["routing"]["covid"].get(u, 0.0)
        sh_b = s["routing"]["background"].get(u, 0.0)
        for i, d in enumerate(s["days"]):
            for k in range(MAX_LAG + 1):
                c, b = sh_c * lc[i, k], sh_b * lb[i, k]
                if c > tol or b > tol:
                    lines.append(f"{d.isoformat()},{u},{k},{_f(c)},{_f(b)}\n")
    return "".join(lines).encode()


def payloads(cohort) -> dict:
    """The scenario tables' CSV payloads, in load order."""
    s = series(cohort)
    return {"scenario_admissions": admissions_csv(s), "scenario_intensity": intensity_csv(s),
            "scenario_icu_start_lag": lag_csv(s)}


def expected_icu_starts(cohort) -> float:
    """Sum of the expected ICU starts over the window, all units."""
    s = series(cohort)
    return float(sum(v["covid"].sum() + v["background"].sum() for v in s["starts"].values()))


def truth_checksum_only(cohort) -> str:
    """sha256 of the truth payloads (oracle_course, scenario_*) without a database."""
    p = synth.Payloads(cohort)
    p.truth(payloads(cohort))
    return p.truth_checksum()
