"""Backtest of the ICU occupancy forecast on a loaded (synthetic) cohort.

    python3 eval/backtest.py [--dsn DSN] --start 2020-03-01 --end 2020-05-24
                             [--step 1] [--horizons 1,3,7]
                             [--variant default] [--variant t3:arrival_trend_days=3]
                             [--verify-view DAY] [--check-asof DAY]
                             [--json FILE] [--plot FILE.png] [--scenario NAME]

    make backtest    (a throwaway cluster, a synthetic cohort loaded, then this)

For every day D from --start to --end (every --step days) the forecast is made
as of the end of D (reference time = D + 1 at 00:00 in --timezone, default
UTC) and, for each horizon h, compared with the true ICU census at the
forecast moment, i.e. icu_occupancy() of day D + h (patients in an ICU
episode at the midnight that ends D + h), per ICU unit and hospital-wide.

Reported per variant, unit and horizon:
  * coverage of the P10-P90 and P5-P95 intervals (truth inside, bounds
    included; the bed count is discrete, so an inclusive interval of a
    discrete distribution holds at least its nominal mass);
  * MAE of the expected beds, and MAE of persistence (the census at D, i.e.
    "tomorrow = today"), and the skill 1 - MAE / MAE_persistence;
  * mean error (forecast - truth), to show bias.

How the forecast is computed.  CALL icu_predict.refresh() builds every day of
every current admission's stay (patient_status) and is slow for a day-by-day
replay, so by default the script evaluates the views' own definitions
(pg_get_viewdef) with one change each: patient_status keeps only today's row
of each admission (the only row capacity_forecast reads), and
capacity_forecast reads that instead of the materialized view.  --verify-view
DAY runs the real CALL icu_predict.refresh() for DAY and checks that both
paths give the same capacity_forecast rows.  Variants set the capacity_policy
row inside the day's transaction, which is rolled back: the database is left
as it was.

--check-asof DAY tests that the forecast as of DAY uses only what was known
then: it computes the forecast, then (in a transaction that is rolled back)
deletes every lab resulted, stay begun and admission started after the
reference time, reopens stays and admissions that ended after it, computes
the forecast again and compares.

--scenario NAME names the synthetic scenario (model/scenario.py) the loaded
cohort must come from: the script does not generate the cohort, it checks
icu_synth.scenario (written by `python3 -m model cohort --scenario NAME`)
and stops if another scenario is loaded; the scenario row goes into the
JSON report.  Without it the report records whatever scenario row exists.

A benchmark, not a test: it measures and reports.
"""
import argparse
import datetime as dt
import json
import math
import sys
import time

import psycopg2

PS_CUT = "CROSS JOIN LATERAL unnest(sr.s) WITH ORDINALITY u(panel, n))"
CF_SOURCE = "icu_predict.patient_status ps"
LOG_SOURCE = "icu_predict.forecast_log "
TOTAL = "All ICU units"


def view_sql(cur):
    """The two view definitions, rewritten for the fast path."""
    cur.execute("SELECT pg_get_viewdef('icu_predict.patient_status'::regclass)")
    ps = cur.fetchone()[0].rstrip().rstrip(";")
    cur.execute("SELECT pg_get_viewdef('icu_predict.capacity_forecast'::regclass)")
    cf = cur.fetchone()[0].rstrip().rstrip(";")
    if ps.count(PS_CUT) != 1 or cf.count(CF_SOURCE) != 1:
        raise SystemExit("backtest: the view definitions changed; update PS_CUT / CF_SOURCE "
                         "(or use --refresh to run CALL icu_predict.refresh() per day)")
    if cf.count(LOG_SOURCE) < 1:
        raise SystemExit("backtest: capacity_forecast no longer reads forecast_log; update LOG_SOURCE")
    ps = ps.replace(PS_CUT, PS_CUT + "\n WHERE u.n = pg_catalog.cardinality(sr.s)")
    cf = cf.replace(CF_SOURCE, "pg_temp.bt_ps_today ps")
    return ps, cf


# The replay's own forecast log, one per variant: the columns capacity_forecast
# reads from forecast_log (the calibration's graded past, the previous action
# of the hysteresis).  Each replayed day appends its forecast, as refresh()
# does, so that every origin is calibrated on the earlier origins only.
LOG_COLUMNS = """run_id bigint, reference_time timestamptz, reference_date date,
    forecast_at timestamptz, unit text, is_total boolean, horizon_day integer,
    is_replay boolean, of_record boolean, recommended_action text,
    icu_mean float8, icu_var float8, ward_mean float8, ward_var float8,
    arrivals_mean float8, arrivals_var float8"""


def log_table(i):
    return f"bt_log_{i}"


def create_logs(conn, n):
    """Empty replay logs bt_log_0 .. bt_log_{n-1} (session temp tables,
    committed, so that they outlive each day's rolled-back transaction)."""
    with conn.cursor() as cur:
        for i in range(n):
            cur.execute(f"DROP TABLE IF EXISTS pg_temp.{log_table(i)}")
            cur.execute(f"CREATE TEMP TABLE {log_table(i)} ({LOG_COLUMNS})")
            cur.execute(f"CREATE INDEX ON pg_temp.{log_table(i)} (forecast_at)")
    conn.commit()


def with_log(cf_sql, i):
    return cf_sql.replace(LOG_SOURCE, f"pg_temp.{log_table(i)} ")


def append_log(conn, i, run_id, ref, rows):
    """The day's forecast rows of variant i into its replay log (as refresh()
    writes forecast_log: replay rows, of record, one run per origin)."""
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO pg_temp.{log_table(i)} SELECT %s, %s::timestamptz, "
            f"(%s::timestamptz)::date, %s::timestamptz + make_interval(days => h), u, u = %s, h, "
            f"true, true, a, im, iv, wm, wv, am, av "
            f"FROM unnest(%s::text[], %s::int[], %s::text[], %s::float8[], %s::float8[], "
            f"%s::float8[], %s::float8[], %s::float8[], %s::float8[]) AS x(u, h, a, im, iv, wm, wv, am, av)",
            (run_id, ref, ref, ref, TOTAL,
             [r["unit"] for r in rows], [r["horizon_day"] for r in rows],
             [r["recommended_action"] for r in rows],
             [r["icu_mean"] for r in rows], [r["icu_var"] for r in rows],
             [r["ward_mean"] for r in rows], [r["ward_var"] for r in rows],
             [r["arrivals_mean"] for r in rows], [r["arrivals_var"] for r in rows]))
    conn.commit()


FORECAST_COLS = """unit, horizon_day, occupied_now, expected_beds,
       icu_predict.bed_demand_quantile(demand, 0.05) AS p05_beds, p10_beds, p50_beds, p90_beds, p95_beds,
       arrivals_per_day"""


def set_reference(cur, ref):
    cur.execute("SELECT set_config('icu_predict.reference_time', %s, true)", (ref.isoformat(),))


def set_policy(cur, settings):
    """Make capacity_policy the defaults with `settings` over them: any row
    already in the database (a manual refresh's, a hospital's own) is removed
    first, inside the caller's savepoint, so every variant is exactly what it
    names.  (An upsert over the row in place would build each variant on top
    of whatever that row held.)"""
    cur.execute("DELETE FROM icu_predict.capacity_policy")
    if not settings:
        return
    cols = ", ".join(settings)
    vals = ", ".join(["%s"] * len(settings))
    cur.execute(f"INSERT INTO icu_predict.capacity_policy ({cols}) VALUES ({vals})",
                list(settings.values()))


# capacity_policy columns that change today's patient rows (the risk models
# chosen, bands, course); variants that differ only in other columns share
# one build of those rows.
PS_KEYS = ("status_risk_horizon_hours", "forecast_risk_horizon_hours",
           "risk_band_medium", "risk_band_high", "course_stable_band")


# z of the non-randomised PIT histogram (Czado et al.): pit_cdf at the inner
# bin edges 0.1 .. 0.9; the bars are the differences (with 0 at z = 0 and 1 at
# z = 1).
PIT_EDGES = [round(0.1 * i, 1) for i in range(1, 10)]


def scored_sql(cf_sql):
    """The forecast joined to this origin's truth (unit, horizon_day, y, u
    passed as arrays) with the proper scores of the distribution itself."""
    cols = ("f.unit, f.horizon_day, f.occupied_now, f.expected_beds, "
            "icu_predict.bed_demand_quantile(f.demand, 0.05) AS p05_beds, "
            "f.p10_beds, f.p50_beds, f.p90_beds, f.p95_beds, f.arrivals_per_day, "
            "f.icu_mean, f.ward_mean, f.arrivals_mean, f.icu_var, f.ward_var, f.arrivals_var, "
            "f.recommended_action, f.staffed_beds, f.prob_over_staffed, "
            "f.calibration_factor, f.calibration_forecasts, f.calibration_status, "
            "f.icu_shift_sd, f.ward_shift_sd, f.shift_forecasts")
    pitc = ", ".join(f"icu_predict.bed_demand_pit_cdf(f.demand, t.y, {z}) AS pitc_{int(round(z * 10))}"
                     for z in PIT_EDGES)
    return (f"WITH t AS (SELECT * FROM unnest(%(units)s::text[], %(hs)s::int[], %(ys)s::int[], "
            f"%(us)s::float8[]) AS t(unit, h, y, u)) "
            f"SELECT {cols}, t.y, t.u, icu_predict.bed_demand_crps(f.demand, t.y) AS crps, "
            f"icu_predict.bed_demand_pit(f.demand, t.y, t.u) AS pit, {pitc} "
            # the view's own text may hold % (format() patterns): escape it for the parameters
            f"FROM ({cf_sql.replace('%', '%%')}) f LEFT JOIN t ON t.unit = f.unit AND t.h = f.horizon_day "
            f"ORDER BY f.unit, f.horizon_day")


def fast_forecast(cur, ps_sql, cf_sql, variants, truth_arrays=None):
    """Forecast rows per variant for the reference time set in this
    transaction.  Each variant's capacity_policy row is set before today's
    patient rows are built (the policy chooses the forecast's risk model
    there) and rolled back after; variants that agree on PS_KEYS share one
    build of today's rows.  With truth_arrays (dict of the arrays units, hs,
    ys, us: the realised census y and the PIT's u per unit and horizon) each
    row also carries y, u, crps, pit and pitc_1 .. pitc_9, computed from the
    forecast distribution in the same transaction.  Returns ({variant: [row
    dicts]}, seconds for today's patient rows and for the forecast, each per
    variant)."""
    out, t_ps, t_cf = {}, [], []
    groups = {}
    for i, (name, settings) in enumerate(variants):
        key = tuple(sorted((k, v) for k, v in settings.items() if k in PS_KEYS))
        groups.setdefault(key, []).append((i, name, settings))
    for group in groups.values():
        cur.execute("SAVEPOINT g")
        set_policy(cur, group[0][2])
        t0 = time.monotonic()
        cur.execute("CREATE TEMP TABLE bt_ps_today AS " + ps_sql)
        t_build = time.monotonic() - t0
        for i, name, settings in group:
            cur.execute("SAVEPOINT v")
            set_policy(cur, settings)
            t1 = time.monotonic()
            sql = with_log(cf_sql, i)
            if truth_arrays is None:
                cur.execute(f"SELECT {FORECAST_COLS} FROM ({sql}) f ORDER BY unit, horizon_day")
            else:
                cur.execute(scored_sql(sql), truth_arrays)
            names = [d[0] for d in cur.description]
            out[name] = [dict(zip(names, r)) for r in cur.fetchall()]
            t_ps.append(t_build)
            t_cf.append(time.monotonic() - t1)
            cur.execute("ROLLBACK TO SAVEPOINT v")
        cur.execute("ROLLBACK TO SAVEPOINT g")
    return out, sum(t_ps) / len(t_ps), sum(t_cf) / len(t_cf)


def truth_table(cur, first, last):
    """{(unit, day): census}, with TOTAL summed over the units."""
    cur.execute("SELECT unit, day, patients FROM icu_predict.icu_occupancy(%s, %s)", (first, last))
    truth = {}
    for unit, day, n in cur.fetchall():
        truth[(unit, day)] = n
        truth[(TOTAL, day)] = truth.get((TOTAL, day), 0) + n
    return truth


def parse_horizons(text):
    """'1,3,7', '1-14' or a mix ('1-7,10,14'): sorted distinct days >= 1."""
    hs = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        a, sep, b = part.partition("-")
        lo, hi = int(a), int(b) if sep else int(a)
        if lo < 1 or hi < lo or hi > 14:
            raise SystemExit(f"backtest: bad horizon {part!r} (days 1..14, a-b with a <= b)")
        hs.update(range(lo, hi + 1))
    if not hs:
        raise SystemExit("backtest: --horizons is empty")
    return sorted(hs)


def block_bootstrap_index(n, block, reps, rng):
    """(reps, n) indices of a moving-block bootstrap of a series of n
    consecutive origins: ceil(n / block) blocks of `block` consecutive
    origins, starts uniform over the n - block + 1 possible ones,
    concatenated and cut to n."""
    import numpy as np
    block = max(1, min(block, n))
    nb = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(reps, nb))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(reps, nb * block)
    return idx[:, :n]


def _series_sizes(rs):
    """{series: number of records}, records sorted by series."""
    sizes = {}
    for r in rs:
        k = str(r.get("series", ""))
        sizes[k] = sizes.get(k, 0) + 1
    return sizes


def ci(values):
    """95 % percentile interval and its half-width."""
    import numpy as np
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi), float((hi - lo) / 2)]


def summarise(records, horizons, block_days=14, step=1, reps=1000, seed=42):
    """Per variant, unit and horizon.  records: dicts with variant, unit, h,
    day, truth, persistence, expected, p05..p95 and, when scored, crps, pit
    (randomised) and pitc (non-randomised PIT CDF at PIT_EDGES).  Bootstrap
    intervals: moving blocks of block_days of origins (block_days / step
    origins), reps replicates, numpy RNG seeded with seed.  Records may carry
    a "series" (e.g. the cohort's seed when replays of several cohorts are
    pooled): blocks are then drawn within each series, which keeps its own
    length, and the replicates concatenate the series."""
    import numpy as np
    groups = {}
    for r in records:
        groups.setdefault((r["variant"], r["unit"], r["h"]), []).append(r)
    rng = np.random.default_rng(seed)
    block = max(1, -(-block_days // step))
    rows = []
    for (v, u, h) in sorted(groups, key=lambda k: (k[0], k[1] != TOTAL, k[1], k[2])):
        rs = sorted(groups[(v, u, h)], key=lambda r: (str(r.get("series", "")), r["day"]))
        n = len(rs)
        y = np.array([r["truth"] for r in rs], float)
        e = np.array([r["expected"] for r in rs], float)
        pers = np.array([r["persistence"] for r in rs], float)
        p05, p10, p90, p95 = (np.array([r[k] for r in rs], float) for k in ("p05", "p10", "p90", "p95"))
        ae, ae_p = np.abs(e - y), np.abs(pers - y)
        mae, mae_p = ae.mean(), ae_p.mean()
        row = {
            "variant": v, "unit": u, "h": h, "n": n,
            "cov80": float(np.mean((p10 <= y) & (y <= p90))),
            "cov90": float(np.mean((p05 <= y) & (y <= p95))),
            "below_p10": float(np.mean(y < p10)), "above_p90": float(np.mean(y > p90)),
            "width80": float(np.mean(p90 - p10)), "width90": float(np.mean(p95 - p05)),
            "mae": float(mae), "mae_persistence": float(mae_p),
            "skill": float(1 - mae / mae_p) if mae_p > 0 else float("nan"),
            "bias": float(np.mean(e - y)), "mean_truth": float(y.mean()),
        }
        if all(r.get("crps") is not None for r in rs):
            crps = np.array([r["crps"] for r in rs], float)
            pit = np.array([r["pit"] for r in rs], float)
            pitc = np.array([[0.0] + list(r["pitc"]) + [1.0] for r in rs], float)
            in80, in90 = (pit >= 0.1) & (pit <= 0.9), (pit >= 0.05) & (pit <= 0.95)
            # persistence is a point mass at the census at D: its CRPS is |y - census_D|
            row.update({
                "pit_cov80": float(in80.mean()), "pit_cov90": float(in90.mean()),
                "crps": float(crps.mean()), "crps_persistence": float(mae_p),
                "crps_skill": float(1 - crps.mean() / mae_p) if mae_p > 0 else float("nan"),
                "pit_hist": [float(x) for x in np.diff(pitc, axis=1).mean(axis=0)],
                "pit_hist_randomised": [float(x) for x in
                                        np.histogram(pit, bins=np.linspace(0, 1, 11))[0] / n],
            })
            idx, at = [], 0
            for _, size in sorted(_series_sizes(rs).items()):
                idx.append(at + block_bootstrap_index(size, block, reps, rng))
                at += size
            idx = np.concatenate(idx, axis=1)
            row["series"] = len(_series_sizes(rs))
            row["boot"] = {"block_origins": block, "replicates": reps,
                           "pit_cov80": ci(in80[idx].mean(axis=1)),
                           "pit_cov90": ci(in90[idx].mean(axis=1))}
            den = ae_p[idx].sum(axis=1)
            ok = den > 0
            if ok.any():
                row["boot"]["crps_skill"] = ci(1 - crps[idx].sum(axis=1)[ok] / den[ok])
                row["boot"]["mae_skill"] = ci(1 - ae[idx].sum(axis=1)[ok] / den[ok])
        rows.append(row)
    return rows


def action_summary(actions, truth, staffed, lookahead, first, last):
    """How the recommended action behaved, per variant and unit.
    actions: {(variant, unit, origin day): action}; truth: {(unit, census
    day): census}; staffed: {(unit, census day): staffed beds}.  Origins from
    first to last count; an origin D's lookahead covers the census days
    D + 1 .. D + lookahead.  Per variant and unit: origins, flips (changes of
    action between consecutive origins), flips per week, the census days in
    D + 1 .. last whose census exceeded the staffed beds, and those of them
    without a "scale up" at any origin D in T - lookahead .. T - 1
    ("unwarned")."""
    out = []
    keys = sorted({(v, u) for v, u, _ in actions}, key=lambda k: (k[0], k[1] != TOTAL, k[1]))
    for v, u in keys:
        days = sorted(d for vv, uu, d in actions if vv == v and uu == u and first <= d <= last)
        if not days:
            continue
        seq = [actions[(v, u, d)] for d in days]
        flips = sum(1 for a, b in zip(seq, seq[1:]) if a != b)
        span = (days[-1] - days[0]).days
        over, unwarned = [], []
        for t in (days[0] + dt.timedelta(days=k) for k in range(1, span + 2)):
            y, cap = truth.get((u, t)), staffed.get((u, t))
            if y is None or cap is None or y <= cap:
                continue
            over.append(t)
            if not any(actions.get((v, u, t - dt.timedelta(days=j))) == "scale up"
                       for j in range(1, lookahead + 1)):
                unwarned.append(t)
        out.append({"variant": v, "unit": u, "origins": len(days), "flips": flips,
                    "flips_per_week": 7.0 * flips / span if span > 0 else 0.0,
                    "days_over_staffed": len(over), "unwarned": len(unwarned),
                    "unwarned_days": [str(t) for t in unwarned],
                    "scale_up_share": sum(1 for a in seq if a == "scale up") / len(seq)})
    return out


def format_table(rows):
    out = [f"{'variant':<10} {'unit':<14} {'h':>2} {'n':>4} {'P10-P90':>8} {'P5-P95':>7} "
           f"{'rPIT80':>6} {'[95% CI]':>13} {'rPIT90':>6} {'width':>6} "
           f"{'MAE':>7} {'MAE pers':>8} {'skill':>6} {'CRPS':>7} {'CRPSsk':>6} {'bias':>7} {'mean':>7}"]
    for r in rows:
        b = r.get("boot", {})
        c80 = b.get("pit_cov80")
        out.append(f"{r['variant']:<10} {r['unit']:<14} {r['h']:>2} {r['n']:>4} "
                   f"{100 * r['cov80']:>7.0f}% {100 * r['cov90']:>6.0f}% "
                   + (f"{100 * r['pit_cov80']:>5.0f}% [{100 * c80[0]:>4.0f},{100 * c80[1]:>4.0f}]% "
                      f"{100 * r['pit_cov90']:>5.0f}% " if c80 else f"{'':>6} {'':>13} {'':>6} ")
                   + f"{r['width80']:>6.1f} "
                   f"{r['mae']:>7.2f} {r['mae_persistence']:>8.2f} {100 * r['skill']:>5.0f}% "
                   + (f"{r['crps']:>7.2f} {100 * r['crps_skill']:>5.0f}% " if "crps" in r else f"{'':>7} {'':>6} ")
                   + f"{r['bias']:>+7.2f} {r['mean_truth']:>7.1f}")
    return "\n".join(out)


def plot(records, variant, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    hs = [h for h in (3, 7) if any(r["h"] == h for r in records)]
    fig, axes = plt.subplots(len(hs), 1, figsize=(9, 3.6 * len(hs)), sharex=True, squeeze=False)
    for ax, h in zip(axes[:, 0], hs):
        rs = sorted((r for r in records if r["variant"] == variant and r["unit"] == TOTAL and r["h"] == h),
                    key=lambda r: r["target"])
        x = [r["target"] for r in rs]
        ax.fill_between(x, [r["p10"] for r in rs], [r["p90"] for r in rs], step=None,
                        alpha=0.3, color="tab:blue", label="forecast P10-P90")
        ax.plot(x, [r["p50"] for r in rs], color="tab:blue", lw=1.5, label="forecast median")
        ax.plot(x, [r["truth"] for r in rs], color="black", lw=1.5, label="true ICU census")
        ax.plot(x, [r["persistence"] for r in rs], color="grey", lw=1, ls="--",
                label=f"persistence (census {h} d earlier)")
        ax.set_title(f"{h} days ahead, all ICU units")
        ax.set_ylabel("occupied ICU beds")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    axes[-1, 0].set_xlabel("forecast date (census at the end of the day)")
    fig.suptitle(title, fontsize=10)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def check_asof(conn, ps_sql, cf_sql, ref, tz, variant=("default", {})):
    """Forecast as of ref on the full data vs on the data cut at ref, with
    the first variant's policy and its replay log as filled so far (the log
    is not cut: rows made after ref are ignored by the forecast's rules)."""
    with conn.cursor() as cur:
        cur.execute("SET LOCAL TimeZone = %s", (tz,))
        set_reference(cur, ref)
        full, _, _ = fast_forecast(cur, ps_sql, cf_sql, [variant])
        cut_counts = {}
        for label, sql in [
            ("labs resulted after", "DELETE FROM icu_predict.lab_result WHERE resulted_at > %(t)s"),
            ("stays begun after", "DELETE FROM icu_predict.location_stay WHERE started_at > %(t)s"),
            ("admissions begun after", "DELETE FROM icu_predict.admission WHERE admitted_at > %(t)s"),
            ("admissions reopened", "UPDATE icu_predict.admission SET discharged_at = NULL, "
                                    "died_in_hospital = NULL WHERE discharged_at > %(t)s"),
            ("stays reopened", "UPDATE icu_predict.location_stay SET ended_at = NULL WHERE ended_at > %(t)s"),
        ]:
            cur.execute(sql, {"t": ref})
            cut_counts[label] = cur.rowcount
        cut, _, _ = fast_forecast(cur, ps_sql, cf_sql, [variant])
        cur.execute("ROLLBACK")
    a = {(r["unit"], r["horizon_day"]): r for r in full[variant[0]]}
    b = {(r["unit"], r["horizon_day"]): r for r in cut[variant[0]]}
    diffs = {}
    for k in set(a) | set(b):
        if k not in a or k not in b:
            diffs[k] = "row missing"
            continue
        for c in a[k]:
            x, y = a[k][c], b[k][c]
            if isinstance(x, float) and isinstance(y, float):
                if abs(x - y) > 1e-9 * max(1.0, abs(x)):
                    diffs.setdefault(k, []).append((c, x, y))
            elif x != y:
                diffs.setdefault(k, []).append((c, x, y))
    return cut_counts, diffs, len(a)


def verify_view(conn, ps_sql, cf_sql, ref, tz):
    """Real refresh() vs the fast path; returns (seconds, rows, mismatches)."""
    with conn.cursor() as cur:
        conn.autocommit = True
        cur.execute("SET TimeZone = %s", (tz,))
        cur.execute("SELECT set_config('icu_predict.reference_time', %s, false)", (ref.isoformat(),))
        t0 = time.monotonic()
        cur.execute("CALL icu_predict.refresh()")
        secs = time.monotonic() - t0
        cur.execute("SELECT succeeded, error, patient_status_rows, capacity_forecast_rows "
                    "FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1")
        ok, err, ps_rows, cf_rows = cur.fetchone()
        if not ok:
            raise SystemExit(f"backtest: refresh failed: {err}")
        cur.execute(f"SELECT {FORECAST_COLS} FROM icu_predict.capacity_forecast ORDER BY unit, horizon_day")
        names = [d[0] for d in cur.description]
        view = [dict(zip(names, r)) for r in cur.fetchall()]
        conn.autocommit = False
        cur.execute("SET LOCAL TimeZone = %s", (tz,))
        set_reference(cur, ref)
        fast, _, _ = fast_forecast(cur, ps_sql, cf_sql, [("default", {})])
        cur.execute("ROLLBACK")
        cur.execute("SELECT set_config('icu_predict.reference_time', '', false)")
    mism = sum(1 for x, y in zip(view, fast["default"]) if not same_row(x, y)) \
        + abs(len(view) - len(fast["default"]))
    return secs, ps_rows, cf_rows, mism


def log_rows(conn, i, ref):
    """Rows of variant i's replay log made before ref."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM pg_temp.{log_table(i)} WHERE reference_time < %s", (ref,))
        n = cur.fetchone()[0]
    conn.commit()
    return n


def same_row(x, y):
    """Equal forecast rows: integers and text exactly, floats to 1e-9
    relative (the bed_demand aggregate may add in another order, e.g. in a
    parallel plan, which changes the last bits of the mean)."""
    if x.keys() != y.keys():
        return False
    for k in x:
        a, b = x[k], y[k]
        if isinstance(a, float) and isinstance(b, float):
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif a != b:
            return False
    return True


def loaded_scenario(conn, expected):
    """The icu_synth.scenario row of the loaded cohort (None without one);
    stops when it is not the expected scenario."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('icu_synth.scenario') IS NOT NULL")
        row = None
        if cur.fetchone()[0]:
            cur.execute("SELECT name, parameters, seed, admissions, end_date, sha256 FROM icu_synth.scenario")
            row = cur.fetchone()
    conn.commit()
    if expected is not None and (row is None or row[0] != expected):
        raise SystemExit(f"backtest: --scenario {expected}, but the loaded cohort is "
                         f"{'not a scenario cohort' if row is None else row[0]}; load it with "
                         f"python3 -m model cohort --scenario {expected}")
    if row is None:
        return None
    return dict(zip(("name", "parameters", "seed", "admissions", "end_date", "sha256"), row))


def parse_variant(s):
    name, _, rest = s.partition(":")
    settings = {}
    for kv in filter(None, rest.split(",")):
        k, _, v = kv.partition("=")
        v = v.strip()
        if v.lower() in ("true", "false"):      # boolean policy columns
            settings[k.strip()] = v.lower() == "true"
        else:
            settings[k.strip()] = float(v)
    return name, settings


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsn", default="")
    ap.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first day D")
    ap.add_argument("--end", type=dt.date.fromisoformat, required=True, help="last day D")
    ap.add_argument("--step", type=int, default=1, help="days between replayed days (default 1)")
    ap.add_argument("--horizons", default="1,3,7",
                    help="days ahead: a list and/or ranges, e.g. 1,3,7 or 1-14 (default 1,3,7)")
    ap.add_argument("--burn-in", type=int, default=28,
                    help="the origins of the first this many days from --start are replayed "
                         "but not scored (default 28)")
    ap.add_argument("--truth-end", type=dt.date.fromisoformat, default=None,
                    help="last day whose census is known (default: the scenario's end date - 1, "
                         "else the last day with an admission, stay or lab)")
    ap.add_argument("--seed", type=int, default=42,
                    help="seed of the randomised PIT's u and of the bootstrap (default 42)")
    ap.add_argument("--block-days", type=int, default=14,
                    help="moving-block bootstrap: block length in days of origins (default 14)")
    ap.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (default 1000)")
    ap.add_argument("--timezone", default="UTC", help="day boundaries (default UTC)")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME[:policy_column=value,...]; default: one variant 'default'")
    ap.add_argument("--verify-view", type=dt.date.fromisoformat, action="append", default=[],
                    help="compare CALL icu_predict.refresh() with the fast path at the end of this day")
    ap.add_argument("--check-asof", type=dt.date.fromisoformat, action="append", default=[],
                    help="check that the forecast at the end of this day ignores later data")
    ap.add_argument("--json", help="write the records and the table as JSON")
    ap.add_argument("--plot", help="PNG: hospital-wide truth vs forecast for h = 3 and 7")
    ap.add_argument("--plot-variant", default=None, help="variant to plot (default: the first)")
    ap.add_argument("--title", default="ICU occupancy backtest")
    ap.add_argument("--oracle", action="store_true",
                    help="also score the oracle forecaster of a synthetic cohort (eval/oracle.py: the "
                         "generator's true risks, stays and arrival intensity; all ICU units only)")
    ap.add_argument("--scenario", default=None,
                    help="the synthetic scenario the loaded cohort must come from (icu_synth.scenario)")
    args = ap.parse_args(argv)

    horizons = parse_horizons(args.horizons)
    variants = [parse_variant(v) for v in args.variant] or [("default", {})]
    conn = psycopg2.connect(args.dsn)
    with conn.cursor() as cur:
        ps_sql, cf_sql = view_sql(cur)
        cur.execute("SELECT count(*) FROM icu_predict.capacity_policy")
        if cur.fetchone()[0]:
            print("backtest: the database has a capacity_policy row; every variant is replayed "
                  "from the defaults instead (the row is left as it is)", file=sys.stderr)
    conn.commit()
    create_logs(conn, len(variants))

    def ref_of(day):
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=None)

    def ref_tz(day):
        # reference time as text with the zone, resolved by the server
        with conn.cursor() as cur:
            cur.execute("SELECT (%s::timestamp AT TIME ZONE %s)", (ref_of(day), args.timezone))
            r = cur.fetchone()[0]
        conn.commit()
        return r

    report = {"args": {k: str(v) for k, v in vars(args).items()}, "checks": [],
              "scenario": loaded_scenario(conn, args.scenario)}

    for day in args.verify_view:
        secs, ps_rows, cf_rows, mism = verify_view(conn, ps_sql, cf_sql, ref_tz(day), args.timezone)
        line = (f"verify-view {day}: CALL icu_predict.refresh() {secs:.1f} s "
                f"(patient_status {ps_rows} rows, capacity_forecast {cf_rows} rows); "
                f"fast path vs view: {mism} differing forecast rows (floats to 1e-9 relative)")
        print(line, flush=True)
        report["checks"].append(line)

    def run_check_asof():
        for day in args.check_asof:
            counts, diffs, n = check_asof(conn, ps_sql, cf_sql, ref_tz(day), args.timezone, variants[0])
            line = (f"check-asof {day}: data cut at the reference time ("
                    + ", ".join(f"{k}: {v}" for k, v in counts.items())
                    + f"); variant {variants[0][0]}, replay log rows before: "
                    + f"{log_rows(conn, 0, ref_tz(day))}; forecast rows compared: {n}, "
                    + f"differing: {len(diffs)}")
            print(line, flush=True)
            for k, v in sorted(diffs.items(), key=str)[:10]:
                print(f"   {k}: {v}")
            report["checks"].append(line)
            report.setdefault("asof_diffs", {})[str(day)] = {str(k): str(v) for k, v in diffs.items()}

    days = []
    d = args.start
    while d <= args.end:
        days.append(d)
        d += dt.timedelta(days=args.step)
    if not days:
        run_check_asof()
        conn.close()
        return 0
    truth_end = args.truth_end
    if truth_end is None and report["scenario"] and report["scenario"].get("end_date"):
        truth_end = report["scenario"]["end_date"] - dt.timedelta(days=1)
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = %s", (args.timezone,))
        if truth_end is None:
            cur.execute("SELECT greatest((SELECT max(admitted_at) FROM icu_predict.admission), "
                        "(SELECT max(started_at) FROM icu_predict.location_stay))::date - 1")
            truth_end = cur.fetchone()[0]
        last = min(days[-1] + dt.timedelta(days=max(horizons)), truth_end)
        truth = truth_table(cur, days[0], max(last, days[0]))
    conn.commit()
    units = sorted({u for u, _ in truth})
    scored_from = args.start + dt.timedelta(days=args.burn_in)

    import numpy as np
    rng = np.random.default_rng(args.seed)
    records, timings = [], []
    actions, staffed = {}, {}
    oracle_records, sigmas = [], None
    if args.oracle:
        import oracle
        with conn.cursor() as cur:
            if not oracle.available(cur):
                raise SystemExit("backtest: --oracle needs a synthetic cohort with its truth tables "
                                 "(icu_synth.oracle_course, scenario_icu_start_lag)")
            sigmas = oracle.los_sigmas(cur)
        conn.commit()
        if args.timezone != "UTC":
            raise SystemExit("backtest: --oracle works on UTC days (the scenario tables' days)")
    t_replay = time.monotonic()
    for day in days:
        ref = ref_tz(day)
        # the truth of this origin and the randomised PIT's u (one per unit and
        # horizon, shared by the variants, so they are compared on the same draws)
        keys = [(u, h) for h in horizons for u in units
                if day + dt.timedelta(days=h) <= truth_end and (u, day + dt.timedelta(days=h)) in truth]
        us = rng.random(len(keys))
        ta = {"units": [u for u, _ in keys], "hs": [h for _, h in keys],
              "ys": [truth[(u, day + dt.timedelta(days=h))] for u, h in keys],
              "us": [float(x) for x in us]}
        with conn.cursor() as cur:
            cur.execute("SET LOCAL TimeZone = %s", (args.timezone,))
            set_reference(cur, ref)
            fc, t_ps, t_cf = fast_forecast(cur, ps_sql, cf_sql, variants, ta)
        conn.rollback()
        for i, (vname, _) in enumerate(variants):
            append_log(conn, i, len(timings) + 1, ref, fc[vname])
        if args.oracle and (TOTAL, day) in truth:
            ty = {h: y for (u, h), y in zip(keys, ta["ys"]) if u == TOTAL}
            tu = {h: x for (u, h), x in zip(keys, ta["us"]) if u == TOTAL}
            with conn.cursor() as cur:
                orows = oracle.forecast(cur, ref, day + dt.timedelta(days=1), horizons, sigmas, ty, tu)
            conn.commit()
            for o in orows:
                oracle_records.append(dict(o, variant="oracle", unit=TOTAL, day=day,
                                           target=day + dt.timedelta(days=o["h"]), truth=ty[o["h"]],
                                           u=tu[o["h"]], scored=day >= scored_from,
                                           persistence=truth[(TOTAL, day)]))
        timings.append((t_ps, t_cf))
        for vname, rows in fc.items():
            for r in rows:
                target = day + dt.timedelta(days=r["horizon_day"])
                if r["horizon_day"] == 0:
                    actions[(vname, r["unit"], day)] = r["recommended_action"]
                if r["staffed_beds"] is not None:
                    staffed.setdefault((r["unit"], target), r["staffed_beds"])
                persistence = truth.get((r["unit"], day))
                if r["horizon_day"] == 0 and persistence is not None and r["occupied_now"] != persistence:
                    print(f"  note: {day} {r['unit']}: occupied_now {r['occupied_now']} "
                          f"!= icu_occupancy {persistence}", file=sys.stderr)
                if r["horizon_day"] not in horizons or r["y"] is None or persistence is None:
                    continue
                records.append({"variant": vname, "unit": r["unit"], "h": r["horizon_day"],
                                "day": day, "target": target, "truth": r["y"],
                                "scored": day >= scored_from,
                                "persistence": persistence, "expected": r["expected_beds"],
                                "p05": r["p05_beds"], "p10": r["p10_beds"], "p50": r["p50_beds"],
                                "p90": r["p90_beds"], "p95": r["p95_beds"],
                                "arrivals_per_day": r["arrivals_per_day"],
                                # the expected beds' components: patients in an ICU
                                # at D, ward patients at D, patients not yet admitted
                                "icu_mean": r["icu_mean"], "ward_mean": r["ward_mean"],
                                "arrivals_mean": r["arrivals_mean"],
                                "action": r["recommended_action"], "staffed": r["staffed_beds"],
                                "prob_over_staffed": r["prob_over_staffed"],
                                "calibration_factor": r["calibration_factor"],
                                "calibration_forecasts": r["calibration_forecasts"],
                                # the common shift's sizes (capacity_policy.common_shift)
                                "icu_shift_sd": r["icu_shift_sd"], "ward_shift_sd": r["ward_shift_sd"],
                                "shift_forecasts": r["shift_forecasts"],
                                "crps": r["crps"], "pit": r["pit"], "u": r["u"],
                                "pitc": [r[f"pitc_{k}"] for k in range(1, 10)]})
        print(f"{day}: today's rows {t_ps:.1f} s, forecast {t_cf:.2f} s (per variant)", flush=True)

    t_replay = time.monotonic() - t_replay
    run_check_asof()
    t_sum = time.monotonic()
    table = summarise([r for r in records if r["scored"]], horizons, args.block_days,
                      args.step, args.replicates, args.seed)
    t_sum = time.monotonic() - t_sum
    print()
    print(f"days {days[0]} .. {days[-1]} every {args.step} d ({len(days)} days); "
          f"reference time = end of day D ({args.timezone}); truth = icu_occupancy(D + h) "
          f"up to {truth_end}; scored origins from {scored_from} (burn-in {args.burn_in} d); "
          f"bootstrap: blocks of {args.block_days} d, {args.replicates} replicates, seed {args.seed} "
          f"({t_sum:.1f} s)")
    print(f"time per replayed day: today's patient rows {sum(t for t, _ in timings) / len(timings):.1f} s, "
          f"forecast {sum(c for _, c in timings) / len(timings):.2f} s (per variant)")
    for name, settings in variants:
        print(f"variant {name}: {settings or 'capacity_policy defaults'}")
    print(format_table(table))
    oracle_table = []
    if args.oracle:
        oracle_table = summarise([r for r in oracle_records if r["scored"]], horizons, args.block_days,
                                 args.step, args.replicates, args.seed)
        print()
        print("oracle forecaster (the generator's true risks, stays and arrival intensity; all ICU units):")
        print(format_table(oracle_table))
    lookahead = {name: int(st.get("action_lookahead_days", 3)) for name, st in variants}
    act = []
    for name, _ in variants:
        act += action_summary({k: a for k, a in actions.items() if k[0] == name}, truth, staffed,
                              lookahead[name], scored_from, truth_end)
    print()
    print("recommended action (scored origins): flips between consecutive origins, census days over the "
          "staffed beds, of them without a 'scale up' in the days before (lookahead)")
    for a in act:
        print(f"  {a['variant']:<10} {a['unit']:<14} origins {a['origins']:>3}  flips {a['flips']:>3} "
              f"({a['flips_per_week']:.2f}/week)  scale up {100 * a['scale_up_share']:.0f}%  "
              f"over staffed {a['days_over_staffed']:>3}  unwarned {a['unwarned']:>3}")
    if args.json:
        report.update({"table": table, "records": records, "horizons": horizons, "actions": act,
                       "oracle": oracle_table, "oracle_records": oracle_records,
                       "truth_end": truth_end, "scored_from": scored_from,
                       "variants": [{"name": n, "settings": st} for n, st in variants],
                       "origins": len(days),
                       "timing_s": {"replay_wall": t_replay, "summary_wall": t_sum,
                                    "today_rows_mean": sum(t for t, _ in timings) / len(timings),
                                    "forecast_mean": sum(c for _, c in timings) / len(timings)}})
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    if args.plot:
        plot(records, args.plot_variant or variants[0][0], args.plot, args.title)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
