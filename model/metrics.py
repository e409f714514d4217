"""Validation metrics for the ICU risk and ICU length-of-stay models.

Everything here is plain numpy/scipy on arrays, so it can be tested against
hand-computed values without a database.  The set follows TRIPOD and the
living review of COVID-19 prediction models (Wynants et al.): discrimination
*and* calibration, plus clinical usefulness (decision curve).

Risk (binary outcome y in {0,1}, predicted probability p in [0,1]):
  auroc            Mann-Whitney estimate (ties count one half)
  auroc_ci         AUROC with DeLong's variance, 95% CI on the logit scale
                   (stays inside [0,1]); deterministic, no resampling
  auroc_bootstrap  percentile bootstrap CI, seeded (for comparison / groups)
  auprc            average precision (step-wise area, no interpolation)
  brier            mean squared error of p
  calibration_intercept_slope
                   logistic recalibration on the logit: slope = b in
                   logit P(y) = a + b*logit(p); intercept = calibration in
                   the large, a in logit P(y) = a + 1*logit(p) (offset)
  calibration_bins mean predicted vs observed per bin, Wilson 95% interval
  net_benefit      decision curve: NB(t) = TP/n - FP/n * t/(1-t), with the
                   treat-all and treat-none references

Length of stay (time > 0, event = 1 when the stay ended, 0 when censored,
i.e. the patient was still in the ICU when the data were taken):
  concordance      Harrell's C for censored data, O(n log n)
  km_median        Kaplan-Meier median (None when the curve never drops to 0.5)
  stay_by_decile   observed (Kaplan-Meier) vs predicted median per decile
                   of the predicted median
  interval_coverage
                   coverage of a [P10, P90] interval with censoring handled
                   honestly: bounds (undetermined rows counted as miss / as
                   hit) and an inverse-probability-of-censoring weighted
                   estimate (each row's coverage is known once the stay ended
                   or passed its P90)
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .errors import MetricError

__all__ = [
    "auroc", "auroc_ci", "auroc_bootstrap", "auprc", "brier",
    "calibration_intercept_slope", "calibration_bins", "net_benefit",
    "concordance", "km_median", "km_curve", "stay_by_decile",
    "interval_coverage", "risk_report", "stay_report", "MetricError",
]

_EPS = 1e-12


def _binary(y, p):
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise MetricError(f"y has {y.size} values but p has {p.size}")
    if y.size == 0:
        raise MetricError("no rows")
    if not np.all((y == 0) | (y == 1)):
        raise MetricError("outcome must be 0 or 1")
    if not np.all(np.isfinite(p)):
        raise MetricError("predictions must be finite")
    return y, p


def _both_classes(y):
    n1 = int(y.sum())
    if n1 == 0 or n1 == y.size:
        raise MetricError("AUROC needs both outcomes present "
                          f"({n1} events among {y.size} rows)")


# ---------------------------------------------------------------------------
# Discrimination
# ---------------------------------------------------------------------------
def auroc(y, p) -> float:
    """Area under the ROC curve = P(p_event > p_nonevent) + 0.5 P(tie)."""
    y, p = _binary(y, p)
    _both_classes(y)
    r = stats.rankdata(p)               # mid-ranks handle ties
    n1 = y.sum()
    n0 = y.size - n1
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _delong_components(y, p):
    pos = p[y == 1]
    neg = p[y == 0]
    m, n = pos.size, neg.size
    allr = stats.rankdata(np.concatenate([pos, neg]))
    rpos = stats.rankdata(pos)
    rneg = stats.rankdata(neg)
    # V10_i: share of negatives below positive i (+ half ties); V01_j similar.
    v10 = (allr[:m] - rpos) / n
    v01 = 1.0 - (allr[m:] - rneg) / m
    return v10, v01


def auroc_ci(y, p, level: float = 0.95) -> tuple[float, float, float]:
    """AUROC with DeLong's standard error; CI computed on the logit scale.

    Returns (auc, lower, upper).  With AUROC exactly 0 or 1 the interval
    collapses to that value (the variance is zero).
    """
    y, p = _binary(y, p)
    _both_classes(y)
    v10, v01 = _delong_components(y, p)
    auc = float(v10.mean())
    m, n = v10.size, v01.size
    s10 = v10.var(ddof=1) if m > 1 else 0.0
    s01 = v01.var(ddof=1) if n > 1 else 0.0
    var = s10 / m + s01 / n
    if var <= 0 or auc <= 0 or auc >= 1:
        return auc, auc, auc
    z = stats.norm.ppf(0.5 + level / 2)
    lg = math.log(auc / (1 - auc))
    se = math.sqrt(var) / (auc * (1 - auc))     # delta method
    lo, hi = lg - z * se, lg + z * se
    return auc, 1 / (1 + math.exp(-lo)), 1 / (1 + math.exp(-hi))


def auroc_se(y, p) -> float:
    """DeLong standard error of the AUROC (natural scale)."""
    y, p = _binary(y, p)
    _both_classes(y)
    v10, v01 = _delong_components(y, p)
    return float(math.sqrt(v10.var(ddof=1) / v10.size + v01.var(ddof=1) / v01.size))


def auroc_diff_se(y, p1, p2) -> float:
    """DeLong standard error of AUROC(p1) − AUROC(p2), two scores of the same
    rows (paired: the covariance of the two AUROCs is taken into account)."""
    y, p1 = _binary(y, p1)
    _, p2 = _binary(y, p2)
    _both_classes(y)
    a10, a01 = _delong_components(y, p1)
    b10, b01 = _delong_components(y, p2)
    d10, d01 = a10 - b10, a01 - b01
    return float(math.sqrt(d10.var(ddof=1) / d10.size + d01.var(ddof=1) / d01.size))


def auroc_bootstrap(y, p, n_boot: int = 1000, seed: int = 20200401,
                    groups=None, level: float = 0.95) -> tuple[float, float, float]:
    """AUROC with a percentile bootstrap CI (seeded, reproducible).

    With ``groups`` (e.g. patient ids) whole groups are resampled, so the
    several patient-days of one patient stay together.
    """
    y, p = _binary(y, p)
    auc = auroc(y, p)
    rng = np.random.default_rng(seed)
    if groups is None:
        idx_by_group = [np.array([i]) for i in range(y.size)]
    else:
        g = np.asarray(groups).ravel()
        _, inv = np.unique(g, return_inverse=True)
        order = np.argsort(inv, kind="stable")
        bounds = np.flatnonzero(np.diff(inv[order])) + 1
        idx_by_group = np.split(order, bounds)
    k = len(idx_by_group)
    vals = []
    for _ in range(n_boot):
        pick = rng.integers(0, k, size=k)
        idx = np.concatenate([idx_by_group[i] for i in pick])
        yb = y[idx]
        if yb.min() == yb.max():
            continue
        vals.append(auroc(yb, p[idx]))
    if not vals:
        raise MetricError("no bootstrap sample had both outcomes")
    a = (1 - level) / 2
    return auc, float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def auprc(y, p) -> float:
    """Average precision: sum over thresholds of (R_k - R_{k-1}) * P_k."""
    y, p = _binary(y, p)
    n1 = y.sum()
    if n1 == 0:
        raise MetricError("AUPRC needs at least one event")
    order = np.argsort(-p, kind="mergesort")
    ps, ys = p[order], y[order]
    # one threshold per distinct score (ties are taken together)
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), ps.size - 1]
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n1
    drecall = np.diff(np.r_[0.0, recall])
    return float(np.sum(drecall * precision))


def brier(y, p) -> float:
    y, p = _binary(y, p)
    return float(np.mean((p - y) ** 2))


# ---------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------
def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-10, 1 - 1e-10)
    return np.log(p / (1 - p))


def _logistic_fit(X, y, offset=None, max_iter: int = 100, tol: float = 1e-10):
    """Unpenalised logistic regression by Newton-Raphson (IRLS)."""
    X = np.asarray(X, dtype=float)
    off = np.zeros(y.size) if offset is None else offset
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        eta = X @ beta + off
        mu = 1 / (1 + np.exp(-eta))
        w = np.maximum(mu * (1 - mu), 1e-12)
        grad = X.T @ (y - mu)
        hess = (X * w[:, None]).T @ X
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError as e:
            raise MetricError("calibration fit is singular "
                              "(all predictions equal?)") from e
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    return beta


def calibration_intercept_slope(y, p) -> tuple[float, float]:
    """(intercept, slope) of logistic recalibration; ideal (0, 1).

    slope < 1: predictions too extreme (overfitting); slope > 1: too modest.
    intercept > 0: risks underestimated on average; < 0: overestimated.
    """
    y, p = _binary(y, p)
    _both_classes(y)
    lp = _logit(p)
    if np.ptp(lp) < 1e-12:
        raise MetricError("calibration slope needs predictions that vary")
    slope = _logistic_fit(np.c_[np.ones(y.size), lp], y)[1]
    intercept = _logistic_fit(np.ones((y.size, 1)), y, offset=lp)[0]
    return float(intercept), float(slope)


def _wilson(k, n, z=1.959963984540054):
    if n == 0:
        return (math.nan, math.nan)
    ph = k / n
    d = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / d
    h = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def calibration_bins(y, p, n_bins: int = 10, strategy: str = "quantile"):
    """Calibration curve points: list of dicts, one per non-empty bin.

    strategy 'quantile' puts equally many rows in each bin (ties kept
    together); 'uniform' uses equal-width bins on [0, 1].
    """
    y, p = _binary(y, p)
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
        b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n_bins - 1)
    elif strategy == "quantile":
        order = np.argsort(p, kind="mergesort")
        ranks = np.empty(p.size, dtype=int)
        ranks[order] = np.arange(p.size)
        b = (ranks * n_bins) // p.size
        # rows with the same prediction go to the same (lowest) bin
        for v in np.unique(p):
            sel = p == v
            if sel.sum() > 1:
                b[sel] = b[sel].min()
    else:
        raise ValueError("strategy must be 'quantile' or 'uniform'")
    out = []
    for k in range(n_bins):
        sel = b == k
        n = int(sel.sum())
        if n == 0:
            continue
        events = int(y[sel].sum())
        lo, hi = _wilson(events, n)
        out.append({"bin": k, "n": n, "events": events,
                    "mean_predicted": float(p[sel].mean()),
                    "observed": events / n, "observed_lo": lo, "observed_hi": hi})
    return out


# ---------------------------------------------------------------------------
# Decision curve
# ---------------------------------------------------------------------------
def net_benefit(y, p, thresholds=None):
    """Decision-curve analysis (Vickers & Elkin 2006).

    For each threshold t in (0, 1): treat when p >= t.
    NB_model = TP/n - FP/n * t/(1-t); NB_all = prev - (1-prev) t/(1-t);
    NB_none = 0.  Returns a list of dicts.
    """
    y, p = _binary(y, p)
    if thresholds is None:
        thresholds = np.round(np.arange(0.01, 0.81, 0.01), 2)
    n = y.size
    prev = y.mean()
    out = []
    for t in np.asarray(thresholds, dtype=float):
        if not 0 < t < 1:
            raise MetricError(f"threshold {t} must lie strictly between 0 and 1")
        w = t / (1 - t)
        treat = p >= t
        tp = float(np.sum(treat & (y == 1)))
        fp = float(np.sum(treat & (y == 0)))
        out.append({"threshold": float(t),
                    "net_benefit": tp / n - fp / n * w,
                    "treat_all": prev - (1 - prev) * w,
                    "treat_none": 0.0})
    return out


# ---------------------------------------------------------------------------
# Length of stay (right-censored)
# ---------------------------------------------------------------------------
def _survival(time, event):
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=float).ravel()
    if t.shape != e.shape:
        raise MetricError("time and event differ in length")
    if t.size == 0:
        raise MetricError("no rows")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise MetricError("times must be finite and non-negative")
    if not np.all((e == 0) | (e == 1)):
        raise MetricError("event must be 0 (censored) or 1 (stay ended)")
    return t, e.astype(bool)


def concordance(time, event, predicted) -> float:
    """Harrell's C: among comparable pairs, the share where the longer
    predicted stay belongs to the longer observed stay (ties in prediction
    count one half).

    A pair (i, j) is comparable when i's stay ended (event) and either
    t_i < t_j, or t_i == t_j and j is censored (j was still in the ICU, so
    its stay is at least as long).  Two events at the same time are not
    comparable.  Computed with a Fenwick tree in O(n log n).
    """
    t, e = _survival(time, event)
    s = np.asarray(predicted, dtype=float).ravel()
    if s.shape != t.shape:
        raise MetricError("predicted differs in length from time")
    if not np.all(np.isfinite(s)):
        raise MetricError("predictions must be finite")
    ranks = stats.rankdata(s, method="dense").astype(int)
    m = int(ranks.max())
    tree = np.zeros(m + 1, dtype=np.int64)   # counts by prediction rank

    def add(i):
        while i <= m:
            tree[i] += 1
            i += i & -i

    def prefix(i):              # number inserted with rank <= i
        total = 0
        while i > 0:
            total += tree[i]
            i -= i & -i
        return int(total)

    # Walk from the longest time down; at each distinct time first insert
    # the censored rows (they count as longer than events at that time),
    # then score that time's events against everything inserted so far,
    # then insert the events.
    order = np.lexsort((e, -t))         # time descending, censored first
    conc = 0.0
    comparable = 0
    inserted = 0
    i = 0
    n = t.size
    while i < n:
        j = i
        while j < n and t[order[j]] == t[order[i]]:
            j += 1
        block = order[i:j]
        cens = block[~e[block]]
        evs = block[e[block]]
        for k in cens:
            add(ranks[k])
            inserted += 1
        for k in evs:
            r = ranks[k]
            below = prefix(r - 1)
            tie = prefix(r) - below
            above = inserted - below - tie
            conc += above + 0.5 * tie
            comparable += inserted
        for k in evs:
            add(ranks[k])
            inserted += 1
        i = j
    if comparable == 0:
        raise MetricError("no comparable pairs (no ended stays before a longer one)")
    return float(conc / comparable)


def km_curve(time, event):
    """Kaplan-Meier estimate: (distinct event times, survival just after)."""
    t, e = _survival(time, event)
    times = np.unique(t[e])
    surv = []
    s = 1.0
    for u in times:
        at_risk = np.sum(t >= u)
        d = np.sum((t == u) & e)
        s *= 1 - d / at_risk
        surv.append(s)
    return times, np.asarray(surv)


def km_median(time, event):
    """Kaplan-Meier median: first time at which S(t) <= 0.5 (None if never)."""
    times, surv = km_curve(time, event)
    hit = np.flatnonzero(surv <= 0.5 + 1e-12)
    if hit.size == 0:
        return None
    return float(times[hit[0]])


def stay_by_decile(time, event, predicted_median, n_groups: int = 10):
    """Observed (Kaplan-Meier) vs predicted median stay per group of the
    predicted median (deciles by default)."""
    t, e = _survival(time, event)
    pm = np.asarray(predicted_median, dtype=float).ravel()
    if pm.shape != t.shape:
        raise MetricError("predicted_median differs in length from time")
    order = np.argsort(pm, kind="mergesort")
    groups = np.array_split(order, min(n_groups, t.size))
    out = []
    for k, idx in enumerate(groups):
        if idx.size == 0:
            continue
        out.append({"group": k, "n": int(idx.size), "events": int(e[idx].sum()),
                    "predicted_median": float(np.median(pm[idx])),
                    "observed_median": km_median(t[idx], e[idx])})
    return out


def _km_left(times, surv, at):
    """S(at-) from a KM curve (survival strictly before 'at')."""
    k = np.searchsorted(times, at, side="left")   # events strictly before 'at'
    return np.where(k > 0, surv[np.maximum(k - 1, 0)], 1.0)


def interval_coverage(time, event, lower, upper):
    """Coverage of the interval [lower, upper] (e.g. P10-P90) with censoring.

    A row's coverage is determined once its stay ended (event) or once it was
    still in the ICU beyond ``upper`` (then it is surely a miss).  A row
    censored at or before ``upper`` is undetermined.  Returned:
      n, determined, covered (among determined),
      lower_bound   undetermined counted as misses,
      upper_bound   undetermined counted as hits,
      ipcw          determined rows weighted by 1/G(d-), G the Kaplan-Meier
                    curve of the censoring time, d = min(time, upper): an
                    unbiased estimate when censoring is independent.
      events_only   naive share among ended stays (biased; for reference).
    """
    t, e = _survival(time, event)
    lo = np.asarray(lower, dtype=float).ravel()
    hi = np.asarray(upper, dtype=float).ravel()
    if lo.shape != t.shape or hi.shape != t.shape:
        raise MetricError("interval bounds differ in length from time")
    if np.any(lo > hi):
        raise MetricError("an interval has lower > upper")
    hit = e & (t >= lo) & (t <= hi)
    miss = (e & ((t < lo) | (t > hi))) | (~e & (t > hi))
    det = hit | miss
    n = t.size
    # censoring distribution: censoring is the "event", stays that ended are
    # censored for it
    if np.any(~e):
        ctimes, csurv = km_curve(t, ~e)
    else:
        ctimes, csurv = np.array([]), np.array([])
    d = np.minimum(t, hi)
    g = _km_left(ctimes, csurv, d) if ctimes.size else np.ones(n)
    g = np.maximum(g, _EPS)
    ipcw_num = np.sum(hit / g)
    ipcw_den = np.sum(det / g)
    return {
        "n": int(n),
        "determined": int(det.sum()),
        "covered": float(hit.sum() / det.sum()) if det.any() else None,
        "lower_bound": float(hit.sum() / n),
        "upper_bound": float((hit.sum() + (~det).sum()) / n),
        "ipcw": float(ipcw_num / ipcw_den) if ipcw_den > 0 else None,
        "events_only": float(hit[e].mean()) if e.any() else None,
    }


# ---------------------------------------------------------------------------
# Reports: the whole set at once, as plain dicts (stored with the model row)
# ---------------------------------------------------------------------------
def risk_report(y, p, groups=None):
    y, p = _binary(y, p)
    auc, lo, hi = auroc_ci(y, p)
    cal_a, cal_b = calibration_intercept_slope(y, p)
    return {
        "n": int(y.size), "events": int(y.sum()), "prevalence": float(y.mean()),
        "auroc": auc, "auroc_lo": lo, "auroc_hi": hi,
        "auprc": auprc(y, p), "brier": brier(y, p),
        "calibration_intercept": cal_a, "calibration_slope": cal_b,
        "mean_predicted": float(p.mean()),
    }


def stay_report(time, event, predicted_median, p10, p90):
    t, e = _survival(time, event)
    cov = interval_coverage(t, e, p10, p90)
    return {
        "n": int(t.size), "ended": int(e.sum()),
        "concordance": concordance(t, e, predicted_median),
        "observed_median_km": km_median(t, e),
        "predicted_median_median": float(np.median(predicted_median)),
        "p10_p90_coverage_ipcw": cov["ipcw"],
        "p10_p90_coverage_lower_bound": cov["lower_bound"],
        "p10_p90_coverage_upper_bound": cov["upper_bound"],
        "p10_p90_coverage_events_only": cov["events_only"],
        "by_decile": stay_by_decile(t, e, predicted_median),
    }
