"""The training configuration: what to train for, read from a file the
hospital keeps in its own repository, with command-line overrides.

    python3 -m model.train --config training.toml [--set schedule.kind=landmarks ...]

A file is TOML (``*.toml``, read with the standard library's tomllib) or
JSON (anything else).  Every key is optional; what is left out keeps the
default, and the defaults reproduce the training of earlier releases:
``last``, ``max`` and ``trend`` of every mapped lab feature plus three
covariates, one prediction at the end of every calendar day, ICU admission
within 48 hours and within 7 days, the temporal 70/30 split, both
candidates of each task, and the 48-hour model deployed.

    [inputs]
    features   = []                       # lab features; [] = every feature lab_map maps
    stats      = ["last", "max", "trend"]
    covariates = ["age_years", "sex_male", "hours_since_admission"]
    [inputs.transforms]                   # linear candidate, per input: auto, none, log, log1p
    "crp:last" = "log"

    [schedule]
    kind            = "daily"             # daily | every | landmarks | results
    at              = "00:00"             # daily: clock time in icu_predict.day_timezone
    every_hours     = 6                   # every: every N hours from admission
    landmarks_hours = [2, 6, 12, 24, 72]  # landmarks: these hours after admission
    max_per_admission = 48                # results: at each new result time, the first N

    [[outcomes]]                          # one risk task each
    name          = "icu_48h"
    kind          = "icu_admission"       # icu_admission | death | event
    horizon_hours = 48
    # kind = "event": event = "ventilation", table = "public.ventilation",
    #                 admission_column = "admission_id", time_column = "started_at"

    [split]
    method         = "temporal"           # the only method: time, grouped by patient
    train_fraction = 0.7

    [candidates]
    risk = ["logistic", "xgboost"]
    stay = ["lognormal_aft", "xgboost_aft"]   # [] = no length-of-stay task

    [deploy]
    outcomes = ["icu_48h"]                # names of the outcomes whose models --deploy inserts

``--set KEY=VALUE`` overrides one key (dotted path; the value is read as
JSON when it parses, else as text): ``--set schedule.kind=landmarks``,
``--set 'schedule.landmarks_hours=[2]'``, ``--set 'inputs.stats=["last"]'``.
Every problem raises ConfigError naming the key.
"""
from __future__ import annotations

import copy
import json
import re

from .errors import UserError


class ConfigError(UserError):
    """A training configuration that cannot be used (the message names the key)."""


RISK_STATS = ("last", "max", "trend")
COVARIATES = ("age_years", "sex_male", "hours_since_admission")
STATS = ("last", "prev", "first", "min", "max", "mean", "count", "rejected",
         "trend", "hours_since_last")
TRANSFORMS = ("auto", "none", "log", "log1p")
SCHEDULES = ("daily", "every", "landmarks", "results")
#: Most prediction times per admission the "results" schedule may ask for.
MAX_RESULT_TIMES = 1000
OUTCOME_KINDS = ("icu_admission", "death", "event")
RISK_CANDIDATES = ("logistic", "xgboost")
STAY_CANDIDATES = ("lognormal_aft", "xgboost_aft")
MAX_HORIZON_HOURS = 8760
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

DEFAULTS = {
    "inputs": {"features": [], "stats": list(RISK_STATS), "covariates": list(COVARIATES),
               "transforms": {}},
    "schedule": {"kind": "daily", "at": "00:00", "every_hours": 24,
                 "landmarks_hours": [2, 6, 12, 24, 72], "max_per_admission": 48},
    "outcomes": [
        {"name": "icu_48h", "kind": "icu_admission", "horizon_hours": 48},
        {"name": "icu_7d", "kind": "icu_admission", "horizon_hours": 168},
    ],
    "split": {"method": "temporal", "train_fraction": 0.7},
    "candidates": {"risk": list(RISK_CANDIDATES), "stay": list(STAY_CANDIDATES)},
    "deploy": {"outcomes": ["icu_48h"]},
}


def default():
    """The default configuration (a fresh copy): the inputs the tasks offer
    (model/tasks.py RISK_STATS, RISK_COVARIATES) at the time of the call."""
    from . import tasks as T
    cfg = copy.deepcopy(DEFAULTS)
    cfg["inputs"]["stats"] = list(T.RISK_STATS)
    cfg["inputs"]["covariates"] = list(T.RISK_COVARIATES)
    return cfg


def read(path):
    """The configuration in ``path`` (TOML or JSON) merged over the defaults."""
    with open(path, "rb") as f:
        raw = f.read()
    if str(path).endswith(".toml"):
        import tomllib
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    else:
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise ConfigError(f"{path}: not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a table (object) of sections")
    return merge(default(), data, where=str(path))


def merge(base, over, where="configuration"):
    """``over`` merged into ``base`` section by section (lists replace)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k not in DEFAULTS:
            raise ConfigError(f"{where}: unknown section {k!r} (sections: {', '.join(DEFAULTS)})")
        if isinstance(DEFAULTS[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"{where}: {k} must be a table")
            for kk, vv in v.items():
                if kk not in DEFAULTS[k]:
                    raise ConfigError(f"{where}: unknown key {k}.{kk} "
                                      f"(keys: {', '.join(DEFAULTS[k])})")
                out[k][kk] = copy.deepcopy(vv)
        else:
            out[k] = copy.deepcopy(v)
    return out


def apply_set(cfg, assignment):
    """One ``--set KEY=VALUE`` override."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. schedule.kind=landmarks")
    key, text = assignment.split("=", 1)
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    parts = key.strip().split(".")
    if len(parts) == 1:
        return merge(cfg, {parts[0]: value}, where="--set")
    if len(parts) == 2:
        return merge(cfg, {parts[0]: {parts[1]: value}}, where="--set")
    if len(parts) == 3 and parts[:2] == ["inputs", "transforms"]:
        out = copy.deepcopy(cfg)
        out["inputs"]["transforms"][parts[2]] = value
        return out
    raise ConfigError(f"--set {key}: keys are SECTION.KEY (or inputs.transforms.INPUT)")


def _list_of(cfg, sec, key, allowed=None, kind=str):
    v = cfg[sec][key]
    if not isinstance(v, list) or not all(isinstance(x, kind) and not isinstance(x, bool) for x in v):
        raise ConfigError(f"{sec}.{key} must be a list of {kind.__name__}")
    if allowed is not None:
        for x in v:
            if x not in allowed:
                raise ConfigError(f"{sec}.{key}: unknown value {x!r} (allowed: {', '.join(allowed)})")
    return v


def _hours(v, key, lo=1, hi=MAX_HORIZON_HOURS):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or not lo <= v <= hi:
        raise ConfigError(f"{key} must be a number of hours between {lo} and {hi}, got {v!r}")
    return v


def validate(cfg):
    """Check every key; returns ``cfg`` with the outcomes completed
    (population, SQL identifiers of a user event table)."""
    _list_of(cfg, "inputs", "features")
    _list_of(cfg, "inputs", "stats", STATS)
    from . import tasks as T
    for c in _list_of(cfg, "inputs", "covariates"):
        if c not in T.TRAINABLE_COVARIATES:
            raise ConfigError(f"covariate {c} is not offered for training")
    if not cfg["inputs"]["stats"] and not cfg["inputs"]["covariates"]:
        raise ConfigError("inputs: no stats and no covariates: the models would have no input")
    tr = cfg["inputs"]["transforms"]
    if not isinstance(tr, dict):
        raise ConfigError("inputs.transforms must be a table of INPUT = TRANSFORM")
    for k, v in tr.items():
        if v not in TRANSFORMS:
            raise ConfigError(f"inputs.transforms.{k}: unknown transform {v!r} "
                              f"(allowed: {', '.join(TRANSFORMS)})")
    sch = cfg["schedule"]
    if sch["kind"] not in SCHEDULES:
        raise ConfigError(f"schedule.kind: unknown schedule {sch['kind']!r} (allowed: {', '.join(SCHEDULES)})")
    if not isinstance(sch["at"], str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", sch["at"]):
        raise ConfigError(f"schedule.at must be a clock time HH:MM, got {sch['at']!r}")
    _hours(sch["every_hours"], "schedule.every_hours")
    lm = sch["landmarks_hours"]
    if not isinstance(lm, list) or not lm:
        raise ConfigError("schedule.landmarks_hours must be a non-empty list of hours")
    for h in lm:
        _hours(h, "schedule.landmarks_hours", lo=0.01)
    if len(set(lm)) != len(lm):
        raise ConfigError("schedule.landmarks_hours has a landmark twice")
    cap = sch.get("max_per_admission", DEFAULTS["schedule"]["max_per_admission"])
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_RESULT_TIMES:
        raise ConfigError(f"schedule.max_per_admission must be a whole number between 1 and "
                          f"{MAX_RESULT_TIMES}, got {cap!r}")
    outs = cfg["outcomes"]
    if not isinstance(outs, list) or not outs:
        raise ConfigError("outcomes must be a non-empty list of [[outcomes]] tables")
    seen = set()
    done = []
    for i, o in enumerate(outs):
        where = f"outcomes[{i}]"
        if not isinstance(o, dict):
            raise ConfigError(f"{where} must be a table")
        o = dict(o)
        # "outcome" is what validate() itself adds: a validated configuration validates again
        extra = set(o) - {"name", "kind", "horizon_hours", "event", "table",
                          "admission_column", "time_column", "outcome"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        kind = o.get("kind", "icu_admission")
        if kind not in OUTCOME_KINDS:
            raise ConfigError(f"{where}.kind: unknown outcome {kind!r} (allowed: {', '.join(OUTCOME_KINDS)})")
        o["kind"] = kind
        if "horizon_hours" not in o:
            raise ConfigError(f"{where}: horizon_hours is required")
        h = _hours(o["horizon_hours"], f"{where}.horizon_hours")
        if h != int(h):
            raise ConfigError(f"{where}.horizon_hours must be whole hours, got {h!r}")
        o["horizon_hours"] = int(h)
        if kind == "event":
            ev = o.get("event")
            if not isinstance(ev, str) or not _NAME.match(ev) or ev in ("icu_admission", "death", "icu_stay"):
                raise ConfigError(f"{where}.event: the event's name must be lower case letters, digits "
                                  "and _ (and not icu_admission, death or icu_stay)")
            tab = o.get("table")
            if not isinstance(tab, str) or not all(_IDENT.match(p) for p in tab.split(".")) \
                    or len(tab.split(".")) > 2:
                raise ConfigError(f"{where}.table must name a table as NAME or SCHEMA.NAME")
            for col, dflt in (("admission_column", "admission_id"), ("time_column", "event_at")):
                o.setdefault(col, dflt)
                if not isinstance(o[col], str) or not _IDENT.match(o[col]):
                    raise ConfigError(f"{where}.{col} must be a column name")
            o["outcome"] = ev
        else:
            for k in ("event", "table", "admission_column", "time_column"):
                if k in o:
                    raise ConfigError(f"{where}.{k} is only for kind = \"event\"")
            o["outcome"] = kind
        o.setdefault("name", default_name(o))
        if not isinstance(o["name"], str) or not _NAME.match(o["name"]):
            raise ConfigError(f"{where}.name must be lower case letters, digits and _")
        if o["name"] in seen:
            raise ConfigError(f"{where}.name: outcome {o['name']} is named twice")
        seen.add(o["name"])
        done.append(o)
    sp = cfg["split"]
    if sp["method"] != "temporal":
        raise ConfigError(f"split.method: only \"temporal\" (grouped by patient) is offered, got {sp['method']!r}")
    f = sp["train_fraction"]
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0.2 <= f <= 0.9:
        raise ConfigError("split.train_fraction must lie between 0.2 and 0.9")
    if not _list_of(cfg, "candidates", "risk", RISK_CANDIDATES):
        raise ConfigError("candidates.risk must name at least one of: " + ", ".join(RISK_CANDIDATES))
    _list_of(cfg, "candidates", "stay", STAY_CANDIDATES)
    dep = _list_of(cfg, "deploy", "outcomes")
    for d in dep:
        if d not in seen:
            raise ConfigError(f"deploy.outcomes: {d!r} is not one of the outcomes ({', '.join(sorted(seen))})")
    out = copy.deepcopy(cfg)
    out["outcomes"] = done
    return out


def default_name(o):
    """icu_48h, icu_7d, death_720h, ventilation_24h ..."""
    h = int(o["horizon_hours"])
    span = f"{h // 24}d" if h % 24 == 0 and h >= 168 else f"{h}h"
    base = {"icu_admission": "icu", "death": "death"}.get(o["kind"]) or o.get("event") or "event"
    return f"{base}_{span}"


def describe_schedule(sch):
    if sch["kind"] == "daily":
        return f"daily at {sch['at']} (icu_predict.day_timezone)"
    if sch["kind"] == "every":
        return f"every {sch['every_hours']} h from admission"
    if sch["kind"] == "results":
        return (f"at each new lab result time (the first {sch.get('max_per_admission', 48)} "
                "distinct result times of each admission)")
    return "at " + ", ".join(f"{h:g} h" for h in sch["landmarks_hours"]) + " after admission"
