"""Tables and plots of the preset ablation (eval/backtest_presets.sh).

    python3 eval/summarise.py [--out docs/backtest] eval/out/small_two_waves.json ...

Reads the JSON reports of eval/backtest.py (one or more per preset: reports
of the same scenario from several cohort seeds are pooled, each seed's
origins a series of its own in the block bootstrap; horizons 1-14, one or
more variants) and writes into --out:

  tables.md            markdown: the ablation per preset (CRPS and MAE skill
                       against persistence at 1, 3, 7, 14 days), coverage by
                       randomised PIT with block-bootstrap intervals at 1, 3, 7
                       days beside the inclusive-interval coverage and the
                       P10-P90 width, bias, the units with a mean census of at
                       least 10, and the issue's acceptance checks;
  pit_<preset>.png     non-randomised PIT histograms (Czado et al.) at 1, 3, 7
                       days, all ICU units, of the default and the best variant;
  coverage_by_horizon.png   randomised-PIT coverage of P10-P90 and P5-P95 by
                       horizon 1..14 per preset and variant, with the default's
                       bootstrap interval.

The best variant of a preset is the one with the lowest mean CRPS over all
horizons, all ICU units.  The scenario's name comes from the report
(icu_synth.scenario), else from the file name.
"""
import argparse
import json
import os
import sys

TOTAL = "All ICU units"
EPIDEMIC = ("small_two_waves", "fast_surge", "large_wave")
ORDER = ("small_two_waves", "steady", "fast_surge", "large_wave")


def load(path):
    with open(path) as f:
        rep = json.load(f)
    name = (rep.get("scenario") or {}).get("name") or os.path.splitext(os.path.basename(path))[0]
    table = {(r["variant"], r["unit"], int(r["h"])): r for r in rep["table"]}
    variants = [v["name"] for v in rep.get("variants", [])] or sorted({k[0] for k in table})
    return {"name": name, "rep": rep, "table": table, "variants": variants}


def pool(group):
    """One preset from the reports of several cohorts (seeds) of it: the
    scored records of all, each seed a series of its own, summarised again
    with the first report's bootstrap settings (blocks drawn within each
    seed's origins)."""
    if len(group) == 1:
        group[0]["seeds"] = [(group[0]["rep"].get("scenario") or {}).get("seed")]
        return group[0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import backtest
    first = group[0]
    a = first["rep"]["args"]
    seeds, records, wall = [], [], 0.0
    for g in group:
        seed = (g["rep"].get("scenario") or {}).get("seed")
        if g["variants"] != first["variants"] or g["rep"]["args"]["start"] != a["start"] \
                or g["rep"]["args"]["end"] != a["end"]:
            raise SystemExit(f"summarise: the reports of {first['name']} differ in variants or days")
        seeds.append(seed)
        wall += g["rep"]["timing_s"].get("replay_wall", 0.0)
        for r in g["rep"]["records"]:
            if r["scored"]:
                records.append(dict(r, series=seed))
    hs = sorted({r["h"] for r in records})
    table = backtest.summarise(records, hs, int(a["block_days"]), int(a["step"]),
                               int(a["replicates"]), int(a["seed"]))
    # the oracle is pooled over the same seeds, or left out when a report lacks it
    oracle = []
    if all(g["rep"].get("oracle_records") for g in group):
        orecs = [dict(r, series=(g["rep"].get("scenario") or {}).get("seed"))
                 for g in group for r in g["rep"]["oracle_records"] if r["scored"]]
        oracle = backtest.summarise(orecs, hs, int(a["block_days"]), int(a["step"]),
                                    int(a["replicates"]), int(a["seed"]))
    rep = dict(first["rep"], records=records, table=table, oracle=oracle,
               timing_s=dict(first["rep"]["timing_s"], replay_wall=wall))
    return {"name": first["name"], "rep": rep, "variants": first["variants"], "seeds": seeds,
            "table": {(r["variant"], r["unit"], int(r["h"])): r for r in table}}


def paired_change(p, base, v, h, args, unit=TOTAL):
    """(relative CRPS change of v against base, bootstrap 2.5 %, 97.5 %) at
    horizon h over the origins both have; blocks within each cohort seed."""
    import numpy as np
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import backtest
    key = lambda r: (str(r.get("series", "")), r["day"])  # noqa: E731
    a = {key(r): r["crps"] for r in p["rep"]["records"]
         if r["scored"] and r["variant"] == base and r["unit"] == unit and r["h"] == h}
    b = {key(r): r["crps"] for r in p["rep"]["records"]
         if r["scored"] and r["variant"] == v and r["unit"] == unit and r["h"] == h}
    ks = sorted(set(a) & set(b))
    if not ks:
        return None
    x, y = np.array([a[k] for k in ks]), np.array([b[k] for k in ks])
    rng = np.random.default_rng(int(args["seed"]))
    block = max(1, -(-int(args["block_days"]) // int(args["step"])))
    idx, at = [], 0
    for s in sorted({k[0] for k in ks}):
        n = sum(1 for k in ks if k[0] == s)
        idx.append(at + backtest.block_bootstrap_index(n, block, int(args["replicates"]), rng))
        at += n
    idx = np.concatenate(idx, axis=1)
    ratio = y[idx].sum(axis=1) / x[idx].sum(axis=1) - 1
    lo, hi = np.percentile(ratio, [2.5, 97.5])
    return float(y.sum() / x.sum() - 1), float(lo), float(hi)


def best_variant(p):
    def mean_crps(v):
        xs = [r["crps"] for (vv, u, h), r in p["table"].items() if vv == v and u == TOTAL and "crps" in r]
        return sum(xs) / len(xs) if xs else float("inf")
    return min(p["variants"], key=mean_crps)


def pct(x, digits=0):
    return "–" if x is None or x != x else f"{100 * x:.{digits}f}"


def cov_cell(row, key):
    if row is None or key not in row:
        return "–"
    b = (row.get("boot") or {}).get(key)
    if not b:
        return pct(row[key])
    return f"{pct(row[key])} [{pct(b[0])}, {pct(b[1])}] ±{100 * b[2]:.1f}"


def header(cols):
    return ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]


def pair_table(presets, pairs):
    """Paired CRPS change of each named pair (variant, base), all ICU units."""
    out = ["### CRPS change of named pairs (all ICU units), in %", "",
           "As the table above, with the base named in the pair instead of the first variant.", ""]
    hs = (1, 3, 7, 14)
    out += header(["preset", "variant vs base"] + [f"{h} d" for h in hs]
                  + ["worse beyond noise (interval above 0) at", "better beyond noise at"])
    for p in presets:
        for v, base in pairs:
            if v not in p["variants"] or base not in p["variants"]:
                continue
            cells, worse, better = [], [], []
            for h in range(1, 15):
                c = paired_change(p, base, v, h, p["rep"]["args"])
                if c is None:
                    continue
                if c[1] > 0:
                    worse.append((h, c[0]))
                if c[2] < 0:
                    better.append((h, c[0]))
                if h in hs:
                    cells.append(f"{100 * c[0]:+.1f} [{100 * c[1]:+.1f}, {100 * c[2]:+.1f}]")
            fmt = lambda xs, f: (", ".join(str(h) for h, _ in xs)  # noqa: E731
                                 + f" d ({'at most' if f is max else 'to'} {100 * f(c for _, c in xs):+.1f} %)"
                                 if xs else "none")
            out.append("| " + " | ".join([p["name"], f"{v} vs {base}"] + cells
                                          + [fmt(worse, max), fmt(better, min)]) + " |")
    out.append("")
    return out


def tables(presets, pairs=()):
    out = []
    first = presets[0]["rep"]
    out.append("<!-- written by eval/summarise.py; do not edit by hand -->")
    out.append("")
    for p in presets:
        rep = p["rep"]
        seeds = ", ".join(str(x) for x in p.get("seeds", []))
        out.append(f"- **{p['name']}** (cohort seed{'s' if len(p.get('seeds', [])) > 1 else ''} {seeds}): "
                   f"origins {rep['args']['start']} .. {rep['args']['end']} every "
                   f"{rep['args']['step']} d ({rep.get('origins')} origins per cohort), scored from "
                   f"{rep.get('scored_from')} (burn-in {rep['args']['burn_in']} d), census known to "
                   f"{rep.get('truth_end')}; replay {rep['timing_s'].get('replay_wall', float('nan')):.0f} s "
                   f"for {len(p['variants'])} variants; best variant by mean CRPS: **{best_variant(p)}**")
    out.append("")
    out.append(f"Bootstrap: moving blocks of {first['args']['block_days']} days of origins, "
               f"{first['args']['replicates']} replicates, seed {first['args']['seed']}; "
               "95 % percentile interval and its half-width (±).")
    out.append("")

    out.append("### Skill against persistence (all ICU units), in %")
    out.append("")
    out.append("CRPS skill = 1 − mean CRPS / mean |y − census at D| (persistence is a point mass); "
               "MAE skill = 1 − MAE / MAE of persistence. Positive is better than persistence.")
    out.append("")
    hs = (1, 3, 7, 14)
    out += header(["preset", "variant"] + [f"CRPS {h} d" for h in hs] + [f"MAE {h} d" for h in hs]
                  + ["CRPS 7 d [95 % CI]"])
    for p in presets:
        for v in p["variants"]:
            rs = [p["table"].get((v, TOTAL, h)) for h in hs]
            r7 = p["table"].get((v, TOTAL, 7))
            b = (r7 or {}).get("boot", {}).get("crps_skill")
            out.append("| " + " | ".join(
                [p["name"], v] + [pct(r and r.get("crps_skill")) for r in rs]
                + [pct(r and r.get("skill")) for r in rs]
                + [f"{pct(r7['crps_skill'])} [{pct(b[0])}, {pct(b[1])}]" if b else "–"]) + " |")
    out.append("")

    out.append("### CRPS change of each component against the first variant (all ICU units), in %")
    out.append("")
    out.append("sum of the variant's CRPS / sum of the first variant's − 1 over the same origins "
               "(paired: same days, same cohort, same u), with its block-bootstrap 95 % interval; "
               "negative is better. The issue's rule: a component is on by default only if it "
               "worsens CRPS on no preset beyond noise.")
    out.append("")
    hs = (1, 3, 7, 14)
    out += header(["preset", "variant"] + [f"{h} d" for h in hs]
                  + ["worse beyond noise (interval above 0) at"])
    for p in presets:
        base = p["variants"][0]
        for v in p["variants"][1:]:
            cells, worse = [], []
            for h in range(1, 15):
                c = paired_change(p, base, v, h, p["rep"]["args"])
                if c is None:
                    continue
                if c[1] > 0:
                    worse.append((h, c[0]))
                if h in hs:
                    cells.append(f"{100 * c[0]:+.1f} [{100 * c[1]:+.1f}, {100 * c[2]:+.1f}]")
            out.append("| " + " | ".join([p["name"], v] + cells
                                          + [", ".join(str(h) for h, _ in worse)
                                             + f" d (at most {100 * max(c for _, c in worse):+.3f} %)"
                                             if worse else "none"]) + " |")
    out.append("")

    if pairs:
        out += pair_table(presets, pairs)
    out.append("### Coverage (all ICU units), in %")
    out.append("")
    out.append("rPIT: share of randomised PIT values in [0.1, 0.9] (nominal 80) and [0.05, 0.95] "
               "(nominal 90), with the bootstrap interval; incl.: truth inside the inclusive "
               "P10–P90 interval; width: mean P90 − P10 in beds.")
    out.append("")
    hs = (1, 3, 7)
    out += header(["preset", "variant"] + [f"rPIT80 {h} d" for h in hs] + [f"rPIT90 {h} d" for h in hs]
                  + [f"incl.80 {h} d" for h in hs] + [f"width {h} d" for h in hs])
    for p in presets:
        for v in p["variants"]:
            rs = [p["table"].get((v, TOTAL, h)) for h in hs]
            out.append("| " + " | ".join(
                [p["name"], v] + [cov_cell(r, "pit_cov80") for r in rs]
                + [cov_cell(r, "pit_cov90") for r in rs]
                + [pct(r and r["cov80"]) for r in rs]
                + ["–" if r is None else f"{r['width80']:.1f}" for r in rs]) + " |")
    out.append("")

    out.append("### Bias and error (all ICU units), in beds")
    out.append("")
    hs = (1, 3, 7, 14)
    out += header(["preset", "mean census", "variant"] + [f"bias {h} d" for h in hs]
                  + [f"CRPS {h} d" for h in hs] + [f"MAE pers. {h} d" for h in hs])
    for p in presets:
        for v in p["variants"]:
            rs = [p["table"].get((v, TOTAL, h)) for h in hs]
            mean = rs[0]["mean_truth"] if rs[0] else float("nan")
            out.append("| " + " | ".join(
                [p["name"], f"{mean:.1f}", v] + ["–" if r is None else f"{r['bias']:+.2f}" for r in rs]
                + ["–" if r is None else f"{r['crps']:.2f}" for r in rs]
                + ["–" if r is None else f"{r['mae_persistence']:.2f}" for r in rs]) + " |")
    out.append("")

    comp = [p for p in presets if any("icu_mean" in r for r in p["rep"]["records"][:1])]
    if comp:
        out.append("### Where the expected beds come from (first variant, all ICU units), in beds")
        out.append("")
        out.append("Mean over the scored origins of the forecast's components: patients in an ICU at D "
                   "still there at D + h, ward patients at D who reach an ICU and are there at D + h, "
                   "patients not yet admitted; beside the mean true census at D + h and at D.")
        out.append("")
        out += header(["preset", "h", "in ICU at D", "ward at D", "not yet admitted", "expected",
                       "true census D + h", "census at D"])
        for p in comp:
            v = p["variants"][0]
            for h in (1, 3, 7, 14):
                rs = [r for r in p["rep"]["records"] if r["scored"] and r["variant"] == v
                      and r["unit"] == TOTAL and r["h"] == h]
                if not rs:
                    continue
                m = {k: sum(r[k] for r in rs) / len(rs)
                     for k in ("icu_mean", "ward_mean", "arrivals_mean", "expected", "truth", "persistence")}
                out.append("| " + " | ".join([p["name"], str(h)] + [f"{m[k]:.2f}" for k in
                           ("icu_mean", "ward_mean", "arrivals_mean", "expected", "truth", "persistence")])
                           + " |")
        out.append("")

    out.append("### Units with a mean census of at least 10 (default and best variant)")
    out.append("")
    hs = (1, 3, 7)
    out += header(["preset", "unit", "mean census", "variant"] + [f"rPIT80 {h} d" for h in hs]
                  + [f"incl.80 {h} d" for h in hs] + [f"CRPS skill {h} d" for h in hs]
                  + [f"bias {h} d" for h in hs])
    for p in presets:
        units = sorted({u for (_, u, _) in p["table"] if u != TOTAL})
        for u in units:
            r1 = p["table"].get((p["variants"][0], u, 1))
            if r1 is None or r1["mean_truth"] < 10:
                continue
            for v in dict.fromkeys([p["variants"][0], best_variant(p)]):
                rs = [p["table"].get((v, u, h)) for h in hs]
                out.append("| " + " | ".join(
                    [p["name"], u, f"{r1['mean_truth']:.1f}", v] + [cov_cell(r, "pit_cov80") for r in rs]
                    + [pct(r and r["cov80"]) for r in rs]
                    + [pct(r and r.get("crps_skill")) for r in rs]
                    + ["–" if r is None else f"{r['bias']:+.2f}" for r in rs]) + " |")
    out.append("")

    if any(p["rep"].get("oracle") for p in presets):
        out.append("### Sharpness and the oracle forecaster (all ICU units)")
        out.append("")
        out.append("The oracle knows the generator's true ICU probabilities, stay and time-to-ICU laws "
                   "and arrival intensity (eval/oracle.py). width: mean P90 − P10 in beds; ratio: the "
                   "variant's width over the oracle's (target ≤ 1.5); MAE ratio: the variant's MAE over "
                   "the oracle's (steady-state target ≤ 1.1).")
        out.append("")
        hs = (1, 3, 7, 14)
        out += header(["preset", "forecaster"] + [f"width {h} d" for h in hs] + [f"ratio {h} d" for h in hs]
                      + [f"MAE {h} d" for h in hs] + [f"MAE ratio {h} d" for h in hs]
                      + [f"rPIT80 {h} d" for h in (1, 3, 7)] + [f"bias {h} d" for h in (1, 7)])
        for p in presets:
            orc = {int(r["h"]): r for r in (p["rep"].get("oracle") or []) if r["unit"] == TOTAL}
            if not orc:
                continue
            for v in ["oracle"] + p["variants"]:
                rs = {h: (orc.get(h) if v == "oracle" else p["table"].get((v, TOTAL, h))) for h in hs}
                out.append("| " + " | ".join(
                    [p["name"], v]
                    + ["–" if rs[h] is None else f"{rs[h]['width80']:.1f}" for h in hs]
                    + ["–" if rs[h] is None or orc.get(h) is None or not orc[h]["width80"]
                       else f"{rs[h]['width80'] / orc[h]['width80']:.2f}" for h in hs]
                    + ["–" if rs[h] is None else f"{rs[h]['mae']:.2f}" for h in hs]
                    + ["–" if rs[h] is None or orc.get(h) is None or not orc[h]["mae"]
                       else f"{rs[h]['mae'] / orc[h]['mae']:.2f}" for h in hs]
                    + [cov_cell(rs.get(h) or (orc.get(h) if v == "oracle" else None), "pit_cov80")
                       if h in rs else "–" for h in (1, 3, 7)]
                    + ["–" if rs.get(h) is None else f"{rs[h]['bias']:+.2f}" for h in (1, 7)]) + " |")
        out.append("")

    if any(p["rep"].get("actions") for p in presets):
        out.append("### The recommended action (scored origins)")
        out.append("")
        out.append("flips/week: changes of a unit's action between consecutive daily origins, per week; "
                   "over staffed: census days on which the census exceeded the staffed beds; unwarned: "
                   "of those, days without a 'scale up' at any of the origins of the "
                   "action_lookahead_days (3) days before; scale up: share of origins with 'scale up'.")
        out.append("")
        out += header(["preset", "variant", "unit", "origins", "flips/week", "scale up",
                       "over staffed", "unwarned"])
        for p in presets:
            if len(p.get("seeds") or [None]) > 1:
                continue
            for a in p["rep"].get("actions") or []:
                out.append("| " + " | ".join([
                    p["name"], a["variant"], a["unit"], str(a["origins"]), f"{a['flips_per_week']:.2f}",
                    f"{100 * a['scale_up_share']:.0f} %", str(a["days_over_staffed"]), str(a["unwarned"])]) + " |")
        out.append("")

    out.append("### Acceptance checks of issue 12 (all ICU units)")
    out.append("")
    out.append("cov: the bootstrap interval of rPIT80 contains 80 and that of rPIT90 contains 90, "
               "at 1, 3 and 7 d; ±≤5: every such half-width at most 5 points; MAE −20 %: MAE skill "
               "≥ 20 % at 3 and 7 d (epidemic presets); CRPS < pers.: CRPS skill > 0 at every "
               "horizon 1..14 (epidemic presets); steady: MAE no worse than persistence at every "
               "horizon. The oracle comparisons (sharpness, steady-state MAE) are in the table above, where the "
               "report has them.")
    out.append("")
    out += header(["preset", "variant", "cov", "±≤5", "MAE −20 % (3, 7 d)", "CRPS < pers. (1..14)",
                   "steady: MAE ≤ pers."])
    for p in presets:
        for v in p["variants"]:
            rows = {h: p["table"].get((v, TOTAL, h)) for h in range(1, 15)}
            short = [rows[h] for h in (1, 3, 7) if rows[h]]
            cov_ok = all(r["boot"]["pit_cov80"][0] <= 0.8 <= r["boot"]["pit_cov80"][1]
                         and r["boot"]["pit_cov90"][0] <= 0.9 <= r["boot"]["pit_cov90"][1] for r in short)
            hw_ok = all(r["boot"]["pit_cov80"][2] <= 0.05 and r["boot"]["pit_cov90"][2] <= 0.05 for r in short)
            epi = p["name"] in EPIDEMIC
            mae_ok = all(rows[h] and rows[h]["skill"] >= 0.2 for h in (3, 7))
            crps_bad = [h for h in range(1, 15) if rows[h] and not rows[h]["crps_skill"] > 0]
            steady_bad = [h for h in range(1, 15) if rows[h] and rows[h]["skill"] < 0]
            out.append("| " + " | ".join([
                p["name"], v, "yes" if cov_ok else "no", "yes" if hw_ok else "no",
                ("yes" if mae_ok else "no") if epi else "n/a",
                ("yes" if not crps_bad else "no (" + ", ".join(map(str, crps_bad)) + " d)") if epi else "n/a",
                "n/a" if epi else ("yes" if not steady_bad else "no (" + ", ".join(map(str, steady_bad)) + " d)"),
            ]) + " |")
    out.append("")
    return "\n".join(out)


def plot_pit(p, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    hs = (1, 3, 7)
    vs = list(dict.fromkeys([p["variants"][0], best_variant(p)]))
    fig, axes = plt.subplots(1, len(hs), figsize=(11, 3.2), sharey=True)
    edges = [i / 10 for i in range(11)]
    for ax, h in zip(axes, hs):
        for k, v in enumerate(vs):
            r = p["table"].get((v, TOTAL, h))
            if not r or "pit_hist" not in r:
                continue
            w = 0.09 / len(vs)
            ax.bar([e + 0.005 + k * w for e in edges[:-1]], [10 * x for x in r["pit_hist"]], width=w,
                   align="edge", label=f"{v} (rPIT80 {100 * r['pit_cov80']:.0f} %)",
                   color=("tab:blue", "tab:orange")[k], alpha=0.85)
        ax.axhline(1.0, color="black", lw=1, ls="--")
        ax.set_title(f"{h} d ahead (n = {r['n'] if r else 0})")
        ax.set_xlabel("PIT")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=7, loc="upper center")
    axes[0].set_ylabel("density (uniform = 1)")
    fig.suptitle(f"{p['name']}: non-randomised PIT histogram (Czado et al.), all ICU units", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_coverage(presets, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(presets), figsize=(3.4 * len(presets), 6), sharex=True, sharey="row",
                             squeeze=False)
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
    for j, p in enumerate(presets):
        for i, (key, nominal) in enumerate((("pit_cov80", 0.8), ("pit_cov90", 0.9))):
            ax = axes[i, j]
            for k, v in enumerate(p["variants"]):
                hs = [h for h in range(1, 15) if (v, TOTAL, h) in p["table"]]
                ys = [100 * p["table"][(v, TOTAL, h)][key] for h in hs]
                ax.plot(hs, ys, marker="o", ms=3, lw=1.2, color=colours[k % len(colours)], label=v)
                if k == 0:
                    lo = [100 * p["table"][(v, TOTAL, h)]["boot"][key][0] for h in hs]
                    hi = [100 * p["table"][(v, TOTAL, h)]["boot"][key][1] for h in hs]
                    ax.fill_between(hs, lo, hi, color=colours[0], alpha=0.15, lw=0)
            ax.axhline(100 * nominal, color="black", lw=1, ls="--")
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(p["name"], fontsize=10)
            if j == 0:
                ax.set_ylabel(f"{'P10–P90' if nominal == 0.8 else 'P5–P95'} coverage, rPIT (%)")
            if i == 1:
                ax.set_xlabel("horizon (days)")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Randomised-PIT coverage by horizon, all ICU units (band: bootstrap 95 % "
                 "interval of the first variant)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+", help="JSON reports of eval/backtest.py")
    ap.add_argument("--out", default="docs/backtest")
    ap.add_argument("--pair", action="append", default=[], metavar="VARIANT:BASE",
                    help="also tabulate the paired CRPS change of VARIANT against BASE (repeatable)")
    args = ap.parse_args(argv)
    pairs = []
    for x in args.pair:
        v, sep, base = x.partition(":")
        if not sep or not v or not base:
            raise SystemExit(f"summarise: --pair {x!r} is not VARIANT:BASE")
        pairs.append((v, base))
    loaded = [load(f) for f in args.reports]
    loaded = [p for p in loaded if any("crps" in r for r in p["rep"]["table"])]
    if not loaded:
        raise SystemExit("summarise: no report with scores (run eval/backtest.py of this version)")
    groups = {}
    for p in loaded:
        groups.setdefault(p["name"], []).append(p)
    presets = [pool(g) for g in groups.values()]
    presets.sort(key=lambda p: (ORDER.index(p["name"]) if p["name"] in ORDER else len(ORDER), p["name"]))
    os.makedirs(args.out, exist_ok=True)
    text = tables(presets, pairs)
    with open(os.path.join(args.out, "tables.md"), "w") as f:
        f.write(text)
    for p in presets:
        plot_pit(p, os.path.join(args.out, f"pit_{p['name']}.png"))
    plot_coverage(presets, os.path.join(args.out, "coverage_by_horizon.png"))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
