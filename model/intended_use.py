"""The intended-use statement of a model card, generated from the training
configuration and the run's own validation (TRIPOD item 3c/5: population,
setting, outcome, horizon, what the score must not be used for, and the
validation it rests on).

``statement(cfg, ...)`` returns an ordered dict {heading: text}; the card
(model/card.py) prints it as a table right after the model's identity, so
a reader sees what the score is for before any figure.
"""
from __future__ import annotations

from . import config as CF

POPULATION = {
    "icu_admission": "patients in hospital with no ICU stay so far in this admission (ward and "
                     "emergency department time before the first ICU arrival)",
    "death": "patients in hospital, ICU days included",
    "event": "patients in hospital before the admission's first {event} event",
}


def _span(h):
    return f"{h // 24} days" if h % 24 == 0 and h >= 72 else f"{h} hours"


def _outcome(o):
    if o["kind"] == "icu_admission":
        return f"{o['name']}: first ICU admission within {_span(o['horizon_hours'])} after the prediction time"
    if o["kind"] == "death":
        return (f"{o['name']}: in-hospital death (admission.died_in_hospital, at discharge) within "
                f"{_span(o['horizon_hours'])} after the prediction time")
    return (f"{o['name']}: first {o['event']} event (rows of {o['table']}) within "
            f"{_span(o['horizon_hours'])} after the prediction time")


def statement(cfg, synthetic, stay_trained, data_end, split=None, headline=None, gate=None):
    """{heading: text} of the intended use.

    ``cfg``: the validated configuration; ``split``: temporal_split's info;
    ``headline``: {outcome: (admissions, events, auroc, lo, hi)} at the first
    prediction of each validation admission; ``gate``: the gate dict."""
    outs = cfg["outcomes"]
    pops = []
    for o in outs:
        text = POPULATION[o["kind"]].format(event=o.get("event"))
        if text not in pops:
            pops.append(text)
    out = {}
    out["population"] = ("Adults admitted to the hospital whose data trained the model: "
                         + "; ".join(pops) + (" (by outcome)." if len(pops) > 1 else ".")
                         + (" For the length of stay: patients arriving in the ICU." if stay_trained else ""))
    out["setting"] = (("None: the model was trained on the synthetic cohort of model/synth.py, not on "
                       "patients of any hospital. " if synthetic else
                       "The wards, emergency department and ICUs of the hospital whose database trained it, "
                       f"with its case mix and testing practice up to {data_end}. ")
                      + "Scored inside PostgreSQL (icu_predict.outcome_risk, patient_status, patient_risk) "
                        "from the lab results resulted by the prediction time and the admission covariates.")
    out["outcome and horizon"] = "; ".join(_outcome(o) for o in outs) + (
        "; and the ICU length of stay (a distribution) from ICU arrival" if stay_trained else "") + "."
    out["prediction times"] = CF.describe_schedule(cfg["schedule"]) + (
        "; the figures below hold for these times only")
    out["inputs"] = (f"{', '.join(cfg['inputs']['stats']) or 'no'} statistics of "
                     + (", ".join(cfg["inputs"]["features"]) if cfg["inputs"]["features"]
                        else "every mapped lab feature")
                     + f"; covariates {', '.join(cfg['inputs']['covariates']) or 'none'}")
    must_not = ["individual treatment, triage, admission-refusal or limitation-of-care decisions on "
                "its own (it supports attention and capacity planning; a clinician decides)",
                "patients outside the population above (children; patients already in the ICU for "
                "an ICU-admission model; other hospitals)",
                "prediction times other than those above, or horizons other than its own",
                "use before it has been re-validated on recent local data"]
    if synthetic:
        must_not.insert(0, "any clinical use: it was trained on synthetic data")
    out["must not be used for"] = "; ".join(must_not) + "."
    if split:
        val = (f"Temporal validation grouped by patient: trained on the {split.get('train_admissions')} "
               f"admissions before {split.get('split_at')}, validated on the "
               f"{split.get('validation_admissions')} later admissions of patients not seen in training")
    else:
        val = "No validation split (no task finished)"
    for name, (n, ev, auc, lo, hi) in (headline or {}).items():
        val += (f"; {name} at the first prediction of each admission: {n} admissions, {ev} events, "
                f"AUROC {auc:.3f} (95% CI {lo:.3f}–{hi:.3f})")
    if gate is not None:
        val += "; quality gate " + ("passed" if gate.get("passed") else
                                    "FAILED" + (" (deployed with --force)" if gate.get("forced") else ""))
    out["validation it rests on"] = val + ". No external or prospective validation."
    return out
