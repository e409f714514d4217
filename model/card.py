"""Model cards: a TRIPOD-style Markdown report with PNG plots.

write_card(folder, card) writes
  folder/README.md           the card
  folder/roc.png             ROC curves of every candidate (validation rows)
  folder/calibration.png     calibration curves (deciles, Wilson 95% bars)
  folder/decision_curve.png  net benefit vs treat-all / treat-none
  folder/stay_calibration.png observed (Kaplan-Meier) vs predicted median stay
  folder/metrics.json        every number on the card (stored with the model row)

``card`` is a plain dict built by model.train:
  title, synthetic (bool), created, model {name, version, kind, task,
  proposed, features}, data {...}, split {...}, tasks {...},
  risk: {task: {candidate: {"y", "p", "metrics", "net_benefit", "bins"}}},
  oracle: {task: {"auroc", ...}} (synthetic cohorts only),
  stay: {candidate: {"time", "event", "median", "p10", "p90", "metrics"}},
  gate: {...}, notes: [str]
Arrays are only used for the plots; metrics.json holds numbers only.
"""
from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import spec as S  # noqa: E402

SYNTHETIC_WARNING = (
    "**Trained on synthetic data: this model must be retrained on local data "
    "before any clinical use.**"
)


def _fmt(x, nd=3):
    if x is None:
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, float) and not np.isfinite(x):
        return "–"
    return f"{x:.{nd}f}"


def _roc_points(y, p):
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps) != 0), ps.size - 1]
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    return np.r_[0, fp / max(1, (1 - y).sum())], np.r_[0, tp / max(1, y.sum())]


def _finish(fig, ax, path, xlabel, ylabel, title, legend="best"):
    """Label the axes, add the legend, and write the figure to ``path`` (PNG, 100 dpi)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc=legend, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_roc(path, curves):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for label, (y, p, auc) in curves.items():
        fpr, tpr = _roc_points(y, p)
        ax.plot(fpr, tpr, label=f"{label} (AUROC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    _finish(fig, ax, path, "1 - specificity (false positive rate)", "sensitivity (true positive rate)",
            "ROC, temporal validation", legend="lower right")


def plot_calibration(path, curves):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.05
    for label, (bins, slope) in curves.items():
        x = np.array([b["mean_predicted"] for b in bins])
        yv = np.array([b["observed"] for b in bins])
        lo = np.array([b["observed_lo"] for b in bins])
        hi = np.array([b["observed_hi"] for b in bins])
        ax.errorbar(x, yv, yerr=[np.maximum(yv - lo, 0), np.maximum(hi - yv, 0)], marker="o", capsize=2,
                    label=f"{label} (slope {slope:.2f})")
        top = max(top, float(np.max(hi)), float(np.max(x)))
    top = min(1.0, top * 1.1)
    ax.plot([0, top], [0, top], ":", color="grey", label="ideal")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    _finish(fig, ax, path, "mean predicted probability (decile)", "observed proportion (95% CI)",
            "Calibration, temporal validation", legend="upper left")


def plot_decision_curve(path, curves):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ymax = 0.01
    first = None
    for label, nb in curves.items():
        t = [r["threshold"] for r in nb]
        ax.plot(t, [r["net_benefit"] for r in nb], label=label)
        ymax = max(ymax, max(r["net_benefit"] for r in nb))
        first = nb
    if first:
        t = [r["threshold"] for r in first]
        ax.plot(t, [r["treat_all"] for r in first], "--", color="grey", label="treat all")
        ax.plot(t, [0.0] * len(t), ":", color="black", label="treat none")
    ax.set_ylim(-0.05 * ymax - 0.001, ymax * 1.15)
    _finish(fig, ax, path, "threshold probability", "net benefit", "Decision curve, temporal validation")


def plot_stay(path, curves):
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 1.0
    for label, rows in curves.items():
        x = [r["predicted_median"] for r in rows if r["observed_median"] is not None]
        y = [r["observed_median"] for r in rows if r["observed_median"] is not None]
        if x:
            ax.plot(x, y, "o-", label=label)
            top = max(top, max(x), max(y))
    ax.plot([0, top * 1.05], [0, top * 1.05], ":", color="grey", label="ideal")
    _finish(fig, ax, path, "predicted median ICU stay, days (decile median)",
            "observed median ICU stay, days (Kaplan-Meier)", "ICU length of stay, temporal validation")


def _numbers_only(card):
    """The card without arrays: what goes to metrics.json / the model row."""
    out = {k: v for k, v in card.items() if k not in ("risk", "stay", "landmarks")}
    out["landmarks"] = {
        task: {name: {k: ({kk: vv for kk, vv in v.items() if kk not in ("net_benefit",)}
                          if isinstance(v, dict) else v) for k, v in d.items()}
               for name, d in lms.items()}
        for task, lms in card.get("landmarks", {}).items()}
    out["risk"] = {
        task: {c: {k: v for k, v in d.items() if k in ("metrics", "bins", "proposed")}
               for c, d in cands.items()}
        for task, cands in card.get("risk", {}).items()}
    out["stay"] = {c: {k: v for k, v in d.items() if k in ("metrics", "proposed")}
                   for c, d in card.get("stay", {}).items()}
    return out


def write_card(folder, card) -> dict:
    """Write the card and its plots into ``folder``; returns the numbers."""
    os.makedirs(folder, exist_ok=True)
    lines = []
    if card.get("synthetic"):
        lines.append(SYNTHETIC_WARNING)
        lines.append("")
    lines.append(f"# Model card: {card.get('title', 'icu_predict model')}")
    lines.append("")
    m = card.get("model", {})
    lines += ["## Model", "",
              "| | |", "|---|---|"]
    for k in ("name", "version", "kind", "task", "proposed", "created"):
        if k in m or k in card:
            lines.append(f"| {k} | {m.get(k, card.get(k))} |")
    if m.get("features"):
        lines.append(f"| inputs | {', '.join(m['features'])} |")
    lines.append("")
    iu = card.get("intended_use")
    if isinstance(iu, dict):
        lines += ["## Intended use", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in iu.items()]
        lines.append("")
    else:
        lines += ["## Intended use", "",
                  iu or ("Estimates, for an adult patient on a ward, the probability of ICU "
                         "admission within the horizon, as of the end of each day of stay, from "
                         "the labs resulted by then and the admission covariates; and, for a "
                         "patient admitted to the ICU, the distribution of the ICU length of "
                         "stay. It supports capacity planning and attention, not individual "
                         "treatment decisions."), ""]
    if card.get("configuration"):
        lines += ["## Training configuration", "", "| | |", "|---|---|"]
        for k, v in card["configuration"].items():
            lines.append(f"| {k} | {v} |")
        lines.append("")
    if card.get("failed"):
        lines += ["## Tasks that failed (skipped; no model proposed)", ""]
        for k, v in card["failed"].items():
            lines.append(f"- **{k}**: {v}")
        lines.append("")
    if card.get("tasks"):
        lines += ["## Outcomes (task definitions)", ""]
        for name, text in card["tasks"].items():
            lines.append(f"- **{name}**: {text}")
        lines.append("")
    if card.get("data") or card.get("split"):
        lines += ["## Data and temporal validation", "", "| | |", "|---|---|"]
        for k, v in {**card.get("data", {}), **card.get("split", {})}.items():
            lines.append(f"| {k} | {v} |")
        lines.append("")

    lm_cal = {}
    if card.get("landmarks"):
        lines += ["## Validation per admission at landmarks (headline)", "",
                  "One row per admission: its first prediction, and its first prediction at or after "
                  "24 h and 72 h after admission (within the next 24 h). Each patient counts once, "
                  "so later days of patients who never have the outcome do not lift the figures. "
                  "Proposed model; 95% CIs: AUROC by DeLong, the others by bootstrap over admissions.", "",
                  "| outcome | landmark | admissions | events | AUROC (95% CI) | true risk AUROC, same rows "
                  "| Brier (95% CI) | cal. intercept (95% CI) | cal. slope (95% CI) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for task, lms in card["landmarks"].items():
            for name, d in lms.items():
                r, o = d.get("model"), d.get("oracle")
                if not r:
                    lines.append(f"| {task} | {name} | {d['n']} | {d['events']} | – | – | – | – | – |")
                    continue
                lines.append(
                    f"| {task} | {name} | {r['n']} | {r['events']} | {_fmt(r['auroc'])} "
                    f"({_fmt(r['auroc_lo'])}–{_fmt(r['auroc_hi'])}) | {_fmt(o['auroc']) if o else '–'} | "
                    f"{_fmt(r['brier'], 4)} ({_fmt(r['brier_boot_lo'], 4)}–{_fmt(r['brier_boot_hi'], 4)}) | "
                    f"{_fmt(r['calibration_intercept'])} ({_fmt(r['calibration_intercept_boot_lo'])}–"
                    f"{_fmt(r['calibration_intercept_boot_hi'])}) | {_fmt(r['calibration_slope'])} "
                    f"({_fmt(r['calibration_slope_boot_lo'])}–{_fmt(r['calibration_slope_boot_hi'])}) |")
                if "bins" in r:
                    lm_cal[f"{task} {name}"] = (r["bins"], r["calibration_slope"])
        lines.append("")
        if lm_cal:
            plot_calibration(os.path.join(folder, "landmark_calibration.png"), lm_cal)
            lines += ["![Calibration at the landmarks](landmark_calibration.png)", ""]
    if card.get("oracle_comparison"):
        from .validate import GATE
        lines += ["## Against the true risk (synthetic cohort: the same rows)", "",
                  "The true risk is the generator's probability of the outcome within the horizon at each "
                  "prediction time given its hidden state (model/oracle.py). It knows what no input shows: "
                  "the latent severity that the labs measure with noise, exactly; the admission source and "
                  "COVID status that set each admission's risk; the laws of the course. A first blood draw "
                  "(or none yet, when the first prediction comes before any result) shows the severity "
                  "least well, so the gap is widest at the first prediction and narrows as draws accumulate "
                  "(docs/model-card.md). The quality gate reads this table: the model at most "
                  f"{GATE['oracle_margin']} below the true risk on all validation rows, and above it "
                  f"nowhere by more than {GATE['oracle_noise_z']:g} standard errors of the difference "
                  "(paired DeLong).", "",
                  "| outcome | rows | n | events | model AUROC | true risk AUROC | gap (true − model) | SE of the gap |",
                  "|---|---|---|---|---|---|---|---|"]
        for task, oc in card["oracle_comparison"].items():
            for name, d in oc.items():
                lines.append(f"| {task} | {name} | {d['n']} | {d['events']} | {_fmt(d['model_auroc'])} | "
                             f"{_fmt(d['oracle_auroc'])} | {_fmt(d['gap'])} | {_fmt(d['gap_se'])} |")
        lines.append("")
    if card.get("baseline"):
        lines += ["Baseline on the same split: a plain logistic regression on the three inputs with the "
                  "strongest univariate AUROC in the training rows, scored on every validation row:", "",
                  "| outcome | baseline inputs | AUROC (95% CI) | Brier | cal. slope |", "|---|---|---|---|---|"]
        for task, b in card["baseline"].items():
            if b:
                lines.append(f"| {task} | {', '.join(b['inputs'])} | {_fmt(b['auroc'])} "
                             f"({_fmt(b['auroc_lo'])}–{_fmt(b['auroc_hi'])}) | {_fmt(b['brier'], 4)} | "
                             f"{_fmt(b['calibration_slope'])} |")
        lines.append("")
    if card.get("reference_scores"):
        lines += ["## Reference scores (published clinical scores at the same rows)", "",
                  "NEWS2 (Royal College of Physicians, 2017) and the ISARIC 4C Mortality Score (Knight et al., "
                  "BMJ 2020;370:m3339), computed from the same panel values as the model at each landmark of "
                  "the validation admissions (model/reference_scores.py). Score AUROC with DeLong 95% CI; "
                  "difference = model AUROC − score AUROC on the same rows, bootstrap 95% CI; \"model better\" "
                  "only when the whole interval is above 0.", "",
                  "| outcome | landmark | score | admissions | events | score AUROC (95% CI) | model AUROC | "
                  "difference (95% CI) | verdict |", "|---|---|---|---|---|---|---|---|---|"]
        notes = {}
        for task, lms in card["reference_scores"].items():
            for lname, scores in lms.items():
                for sname, r in scores.items():
                    notes.setdefault(sname, (r["missing"], r["treatment"]))
                    if "auroc" not in r:
                        lines.append(f"| {task} | {lname} | {sname} | {r['n']} | {r['events']} | "
                                     f"{r.get('note', '–')} | – | – | – |")
                        continue
                    lines.append(f"| {task} | {lname} | {sname} | {r['n']} | {r['events']} | {_fmt(r['auroc'])} "
                                 f"({_fmt(r['auroc_lo'])}–{_fmt(r['auroc_hi'])}) | {_fmt(r['model_auroc'])} | "
                                 f"{_fmt(r['difference'])} ({_fmt(r['difference_lo'])}–{_fmt(r['difference_hi'])}) | "
                                 f"{r['verdict']} |")
        lines.append("")
        for sname, (missing, treatment) in notes.items():
            parts = [f"{w} {100 * m['missing_share']:.0f}%" + (" (not in the data)" if m["absent"] else "")
                     for w, m in missing.items()]
            lines.append(f"- **{sname}** inputs missing (share of rows, first landmark): {', '.join(parts)}. "
                         f"Treated: {treatment}.")
        lines.append("")
    if card.get("subgroups"):
        lines += ["Subgroups at the first prediction of each admission (groups under 30 admissions or "
                  "with one class get no figures):", "",
                  "| outcome | by | group | admissions | events | AUROC (95% CI) | mean predicted | observed | "
                  "cal. slope |", "|---|---|---|---|---|---|---|---|---|"]
        for task, rows in card["subgroups"].items():
            for r in rows:
                if "auroc" in r:
                    lines.append(f"| {task} | {r['by']} | {r['group']} | {r['n']} | {r['events']} | "
                                 f"{_fmt(r['auroc'])} ({_fmt(r['auroc_lo'])}–{_fmt(r['auroc_hi'])}) | "
                                 f"{_fmt(r['mean_predicted'])} | {_fmt(r['prevalence'])} | "
                                 f"{_fmt(r['calibration_slope'])} |")
                else:
                    lines.append(f"| {task} | {r['by']} | {r['group']} | {r['n']} | {r['events']} | – | – | – | – |")
        lines.append("")

    gate = card.get("gate")
    if gate:
        lines += ["## Quality gate", "",
                  ("Passed." if gate.get("passed") else
                   "**Failed**" + (": deployed anyway with --force (recorded in the models' training and "
                                   "metrics)." if gate.get("forced") else ": nothing may be deployed without --force.")),
                  "", "| | value | target | |", "|---|---|---|---|"]
        for row in gate.get("rows", []):
            lines.append(f"| {row['what']} | {_fmt(row['value'])} | {row['target']} | "
                         f"{'pass' if row['ok'] else 'FAIL'} |")
        lines.append("")

    roc_curves, cal_curves, dc_curves = {}, {}, {}
    for task, cands in card.get("risk", {}).items():
        lines += [f"## All prediction rows (patient-days with the daily schedule; not the headline): {task}", "",
                  "| model | n rows | events | AUROC (95% CI) | AUPRC | Brier | "
                  "cal. intercept | cal. slope |",
                  "|---|---|---|---|---|---|---|---|"]
        orc = (card.get("oracle") or {}).get(task)
        for cname, d in cands.items():
            r = d["metrics"]
            mark = " (proposed)" if d.get("proposed") else ""
            lines.append(
                f"| {cname}{mark} | {r['n']} | {r['events']} | {_fmt(r['auroc'])} "
                f"({_fmt(r['auroc_lo'])}–{_fmt(r['auroc_hi'])}) | {_fmt(r['auprc'])} | "
                f"{_fmt(r['brier'], 4)} | {_fmt(r['calibration_intercept'])} | "
                f"{_fmt(r['calibration_slope'])} |")
            if "y" in d:
                roc_curves[f"{task} {cname}"] = (d["y"], d["p"], r["auroc"])
                cal_curves[f"{task} {cname}"] = (d["bins"], r["calibration_slope"])
                dc_curves[f"{task} {cname}"] = d["net_benefit"]
        if orc:
            lines.append(
                f"| oracle (true risk) | {orc['n']} | {orc['events']} | "
                f"{_fmt(orc['auroc'])} ({_fmt(orc['auroc_lo'])}–{_fmt(orc['auroc_hi'])}) | "
                f"{_fmt(orc['auprc'])} | {_fmt(orc['brier'], 4)} | – | – |")
        oad = (card.get("oracle_admission") or {}).get(task)
        if oad:
            lines.append(
                f"| admission oracle (p_icu, knows no timing) | {oad['n']} | {oad['events']} | "
                f"{_fmt(oad['auroc'])} ({_fmt(oad['auroc_lo'])}–{_fmt(oad['auroc_hi'])}) | "
                f"{_fmt(oad['auprc'])} | {_fmt(oad['brier'], 4)} | – | – |")
        lines.append("")
    if roc_curves:
        plot_roc(os.path.join(folder, "roc.png"), roc_curves)
        plot_calibration(os.path.join(folder, "calibration.png"), cal_curves)
        plot_decision_curve(os.path.join(folder, "decision_curve.png"), dc_curves)
        lines += ["![ROC](roc.png) ![Calibration](calibration.png)", "",
                  "![Decision curve](decision_curve.png)", ""]

    stay_curves = {}
    if card.get("stay"):
        lines += ["## ICU length of stay", "",
                  "| model | ICU stays | ended | Harrell C | observed median (KM) | "
                  "P10–P90 coverage (IPCW) | coverage bounds |",
                  "|---|---|---|---|---|---|---|"]
        for cname, d in card["stay"].items():
            s = d["metrics"]
            mark = " (proposed)" if d.get("proposed") else ""
            lines.append(
                f"| {cname}{mark} | {s['n']} | {s['ended']} | {_fmt(s['concordance'])} | "
                f"{_fmt(s['observed_median_km'], 1)} d | "
                f"{_fmt(s['p10_p90_coverage_ipcw'])} | "
                f"{_fmt(s['p10_p90_coverage_lower_bound'])}–"
                f"{_fmt(s['p10_p90_coverage_upper_bound'])} |")
            stay_curves[cname] = s["by_decile"]
        lines.append("")
        lines += ["Observed vs predicted median by decile of the predicted median:", "",
                  "| model | decile | n | predicted median (d) | observed median, KM (d) |",
                  "|---|---|---|---|---|"]
        for cname, rows in stay_curves.items():
            for r in rows:
                lines.append(f"| {cname} | {r['group'] + 1} | {r['n']} | "
                             f"{_fmt(r['predicted_median'], 1)} | "
                             f"{_fmt(r['observed_median'], 1)} |")
        lines.append("")
        plot_stay(os.path.join(folder, "stay_calibration.png"), stay_curves)
        lines += ["![Stay calibration](stay_calibration.png)", ""]

    lines += ["## How the numbers were obtained", "",
              "All numbers are on the temporal validation rows only (admissions after "
              "the split date; no patient appears on both sides). The headline is per "
              "admission at fixed landmarks; the tables over all prediction rows are "
              "labelled as such. On synthetic cohorts the true risk at each row comes "
              "from the generator's hidden state (model/oracle.py). AUROC 95% CI by "
              "DeLong on the logit scale; calibration intercept (in the large) and "
              "slope by logistic recalibration on the logit of the prediction; "
              "calibration curve by deciles of the prediction with Wilson intervals; "
              "net benefit = TP/n − FP/n · t/(1−t). Length of stay: Harrell's C with "
              "right-censoring (patients still in the ICU), Kaplan-Meier medians, "
              "P10–P90 coverage weighted by the inverse probability of censoring, "
              "with the bounds that count undetermined stays as misses / hits.", ""]
    lim = list(card.get("notes", []))
    lim += ["Patient-days of one patient are correlated; the CIs treat rows as "
            "independent and are therefore somewhat too narrow.",
            "Performance can drift with case mix, testing practice and treatment; "
            "re-validate on recent local data before and during use."]
    lines += ["## Limitations", ""] + [f"- {x}" for x in lim] + [""]

    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("\n".join(lines))
    numbers = _numbers_only(card)
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump(numbers, f, indent=1, default=S.json_default)
    return json.loads(json.dumps(numbers, default=S.json_default))
