"""Scenarios of the synthetic cohort: how many admissions arrive when, and
what the hospital looks like.  The named presets live in PRESETS below and
are documented, with every value, in docs/synthetic-cohort.md.

A scenario sets what changes between hospitals and epidemics; the clinical
model (risks, stays, labs: synth.P, synth.LABS) is the same in all of them.

  covid_share           share of the window's admissions that are COVID-19
  waves                 epidemic waves of COVID-19 arrivals, each a two-sided
                        half-normal bump: peak_day (days before the end
                        instant, negative), rise_sd, decline_sd (days),
                        weight (share of the wave part)
  covid_endemic_weight  weight of a constant COVID-19 arrival rate
  curve_file            CSV ``date,admissions`` of daily COVID-19 admissions
                        whose shape the arrivals follow; curve_weight is its
                        weight, curve_align "end" (the file's last date lands
                        on the day before the end date) or "dates" (as dated)
  wave_tails            "uniform": wave mass outside the window is spread
                        evenly over the window (today's cohort); "truncate":
                        it is dropped and the curve renormalised
  background_changes    factors on the non-COVID admission rate: from_day,
                        to_day, factor, ramp_days (linear ramps outside)
  weekday               seven multipliers (Monday..Sunday) on every
                        admission's arrival day, or None
  icu_los_drift         ICU length of stay median x factor: 1 until from_day,
                        linear to factor at to_day, factor after (by the
                        admission time); applies_to "covid" or "all"
  admissions            the hospital's admissions over the window (None: the
                        command's default); --admissions on the command
                        line wins
  icu_routing           per class (covid, background) the share of ICU
                        patients that go to each ICU unit
  icu_beds              "auto" (staffed/surge beds sized from the cohort's
                        own peak, synth._capacity) or, per unit, rows
                        [from_day, staffed, surge]

Days are counted from the end instant E (end date 00:00 UTC): day -1 is the
last day of the window, day -180 the first.  Arrival curves are daily
densities over those 180 days (daily_pdfs); the generator draws arrival days
from them and the intensity series (model/intensity.py) is computed from the
same densities, so the two agree by construction.

The one exception keeps today's cohort byte-identical: a scenario with a
single wave and nothing else (no endemic part, no file, uniform tails, a
flat background, no weekday pattern) is drawn with the continuous sampler
the generator has always used (synth.generate); legacy_pdfs gives its exact
daily densities.
"""
from __future__ import annotations

import copy
import csv
import datetime as _dt
import json
import math
import os

import numpy as np

from .errors import ScenarioError

WINDOW_DAYS = 180
ICU_UNITS = ("IC-1", "IC-2", "IC-3")
SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")
LEGACY_HI = -0.01          # today's sampler draws arrival times in [-180, -0.01)

_DEFAULTS = dict(
    name="large_wave",
    description="",
    admissions=None,
    covid_share=0.45,
    waves=[],
    covid_endemic_weight=0.0,
    curve_file=None,
    curve_weight=1.0,
    curve_align="end",
    wave_tails="truncate",
    background_changes=[],
    weekday=None,
    icu_los_drift=None,
    icu_routing=dict(covid={"IC-1": 0.65, "IC-2": 0.35}, background={"IC-3": 0.8, "IC-2": 0.2}),
    icu_beds="auto",
)

PRESETS = {
    "large_wave": dict(
        description="One large hospital, one epidemic wave peaking 50 days before the end "
                    "(today's default cohort, byte-identical).",
        covid_share=0.45,
        waves=[dict(peak_day=-50.0, rise_sd=14.0, decline_sd=30.0, weight=1.0)],
        wave_tails="uniform",
    ),
    "small_two_waves": dict(
        description="One general hospital with 20-28 staffed ICU beds and two waves; the "
                    "non-COVID admissions (and so the non-COVID ICU background) fall to 60 % "
                    "during the first wave, when elective care stopped.",
        admissions=9000,
        covid_share=0.05,
        waves=[dict(peak_day=-135.0, rise_sd=9.0, decline_sd=16.0, weight=0.45),
               dict(peak_day=-55.0, rise_sd=14.0, decline_sd=24.0, weight=0.55)],
        background_changes=[dict(from_day=-150.0, to_day=-110.0, factor=0.6, ramp_days=7.0)],
        icu_routing=dict(covid={"IC-1": 0.8, "IC-2": 0.2}, background={"IC-2": 1.0}),
        icu_beds={"IC-1": [[-180, 8, 10], [-150, 16, 20], [-105, 8, 10], [-75, 16, 20]],
                  "IC-2": [[-180, 12, 15]]},
    ),
    "steady": dict(
        description="No epidemic wave: COVID-19 admissions at a constant endemic rate, a flat "
                    "background, nothing changes over the window.",
        admissions=6000,
        covid_share=0.25,
        covid_endemic_weight=1.0,
    ),
    "fast_surge": dict(
        description="A sudden surge: COVID-19 arrivals rise with SD 5 days to a peak 25 days "
                    "before the end and fall with SD 12 days.",
        admissions=6000,
        covid_share=0.25,
        waves=[dict(peak_day=-25.0, rise_sd=5.0, decline_sd=12.0, weight=1.0)],
    ),
    "weekday": dict(
        description="The large_wave curve with a strong weekday pattern of admissions "
                    "(Monday busiest, weekends quiet).",
        admissions=6000,
        covid_share=0.45,
        waves=[dict(peak_day=-50.0, rise_sd=14.0, decline_sd=30.0, weight=1.0)],
        weekday=[1.35, 1.15, 1.05, 1.0, 0.95, 0.6, 0.7],
    ),
    "los_drift": dict(
        description="A long wave during which the median COVID-19 ICU stay falls from 13 to "
                    "7.8 days (x 0.6) between 130 and 70 days before the end.",
        admissions=6000,
        covid_share=0.45,
        waves=[dict(peak_day=-90.0, rise_sd=25.0, decline_sd=40.0, weight=1.0)],
        icu_los_drift=dict(from_day=-130.0, to_day=-70.0, factor=0.6, applies_to="covid"),
    ),
    "from_file": dict(
        description="COVID-19 arrivals follow a daily curve read from a CSV file (the shipped "
                    "example: model/scenarios/two_waves.csv, a made-up two-wave shape).",
        admissions=6000,
        covid_share=0.3,
        curve_file="two_waves.csv",
        curve_align="end",
    ),
}


class Scenario:
    """A validated scenario; attributes are the keys of _DEFAULTS."""

    def __init__(self, spec: dict, base_dir: str = SCENARIO_DIR):
        unknown = set(spec) - set(_DEFAULTS)
        if unknown:
            raise ScenarioError(f"unknown scenario parameter(s): {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(sorted(_DEFAULTS))}")
        full = copy.deepcopy(_DEFAULTS)
        full.update(copy.deepcopy(spec))
        self.spec = full
        self.base_dir = base_dir
        for k, v in full.items():
            setattr(self, k, v)
        self._curve = None
        _validate(self)

    def as_dict(self) -> dict:
        """The parameters, as a JSON-ready dict (curve_file as given)."""
        return copy.deepcopy(self.spec)

    # -- which sampler ------------------------------------------------------
    def legacy_sampler(self) -> bool:
        return (len(self.waves) == 1 and self.covid_endemic_weight == 0 and self.curve_file is None
                and self.wave_tails == "uniform" and not self.background_changes and self.weekday is None)

    # -- curve file -----------------------------------------------------------
    def curve(self):
        """(dates, values) of the curve file, or None."""
        if self.curve_file is None:
            return None
        if self._curve is None:
            path = self.curve_file if os.path.isabs(self.curve_file) else os.path.join(self.base_dir, self.curve_file)
            self._curve = read_curve(path)
        return self._curve

    # -- densities --------------------------------------------------------------
    def daily_pdfs(self, end_date: _dt.date):
        """(covid, background): arrays of WINDOW_DAYS daily probabilities (index 0 = day -180)."""
        if self.legacy_sampler():
            return legacy_pdfs(self.waves[0])
        days = np.arange(-WINDOW_DAYS, 0, dtype=np.float64)
        wk = weekday_factor(self.weekday, end_date)
        parts = np.zeros(WINDOW_DAYS)
        for w in self.waves:
            m = _wave_mass(w, days, days + 1.0)
            if self.wave_tails == "uniform":
                m = m + (1.0 - m.sum()) / WINDOW_DAYS
            parts += w["weight"] * m
        if self.covid_endemic_weight > 0:
            parts += self.covid_endemic_weight / WINDOW_DAYS
        if self.curve_file is not None:
            cv = self._curve_in_window(end_date)
            parts += self.curve_weight * cv / cv.sum()
        covid = parts * wk
        bg = background_factor(self.background_changes) * wk
        if self.covid_share > 0 and covid.sum() <= 0:
            raise ScenarioError(f"scenario {self.name}: the COVID-19 arrival curve has no mass inside the window")
        return _norm(covid), _norm(bg)

    def _curve_in_window(self, end_date):
        dates, vals = self.curve()
        first = end_date - _dt.timedelta(days=WINDOW_DAYS)
        if self.curve_align == "end":
            shift = (end_date - _dt.timedelta(days=1)) - dates[-1]
        else:
            shift = _dt.timedelta(0)
        out = np.zeros(WINDOW_DAYS)
        for d, v in zip(dates, vals):
            i = (d + shift - first).days
            if 0 <= i < WINDOW_DAYS:
                out[i] += v
        if out.sum() <= 0:
            raise ScenarioError(f"curve file {self.curve_file}: no admissions inside the window "
                                f"{first} .. {end_date - _dt.timedelta(days=1)} (curve_align {self.curve_align!r})")
        return out

    def los_factor(self, t_days, covid):
        """ICU length-of-stay multiplier for admissions at t_days (array), per class."""
        t = np.asarray(t_days, dtype=np.float64)
        d = self.icu_los_drift
        if d is None:
            return np.ones_like(t)
        a, b, f = d["from_day"], d["to_day"], d["factor"]
        frac = np.clip((t - a) / (b - a), 0.0, 1.0)
        fac = 1.0 + (f - 1.0) * frac
        if d.get("applies_to", "covid") == "covid":
            fac = np.where(covid, fac, 1.0)
        return fac


# --------------------------------------------------------------------------
# densities
# --------------------------------------------------------------------------
def _phi_cdf(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _halfnormal_cdf(c):
    """P(|Z| <= c) for c >= 0 (0 below)."""
    c = np.maximum(np.asarray(c, dtype=np.float64), 0.0)
    return 2.0 * _phi_cdf(c) - 1.0


def _wave_mass(w, a, b):
    """Mass of the two-sided half-normal wave in [a, b) (arrays)."""
    p, r, s = w["peak_day"], w["rise_sd"], w["decline_sd"]
    pl = r / (r + s)
    # left half: x = p - r z, z >= 0; right half: x = p + s z
    left = _halfnormal_cdf((p - a) / r) - _halfnormal_cdf((p - b) / r)
    right = _halfnormal_cdf((b - p) / s) - _halfnormal_cdf((a - p) / s)
    return pl * left + (1.0 - pl) * right


def legacy_pdfs(wave):
    """Exact daily probabilities of today's sampler: COVID-19 from one wave with
    draws outside [-180, -0.01) redrawn uniformly there; background uniform."""
    lo = np.arange(-WINDOW_DAYS, 0, dtype=np.float64)
    hi = np.minimum(lo + 1.0, LEGACY_HI)
    width = (hi - lo) / (LEGACY_HI + WINDOW_DAYS)
    inside = _wave_mass(wave, lo, hi)
    covid = inside + (1.0 - inside.sum()) * width
    return covid, width.copy()


def weekday_factor(weekday, end_date):
    """Per window day, the weekday multiplier (1 everywhere without a pattern)."""
    if weekday is None:
        return np.ones(WINDOW_DAYS)
    d = np.arange(-WINDOW_DAYS, 0)
    dow = (d + end_date.weekday()) % 7              # Monday = 0, as synth.generate
    return np.asarray(weekday, dtype=np.float64)[dow]


def background_factor(changes):
    """Per window day, the product of the background rate factors (at the day's midpoint)."""
    x = np.arange(-WINDOW_DAYS, 0, dtype=np.float64) + 0.5
    out = np.ones(WINDOW_DAYS)
    for c in changes:
        a, b, f, r = c["from_day"], c["to_day"], c["factor"], c.get("ramp_days", 0.0)
        w = np.where((x >= a) & (x <= b), 1.0, 0.0)
        if r > 0:
            w = np.maximum(w, np.clip((x - (a - r)) / r, 0, 1) * (x < a))
            w = np.maximum(w, np.clip(((b + r) - x) / r, 0, 1) * (x > b))
        out *= 1.0 + (f - 1.0) * w
    return out


def _norm(x):
    s = x.sum()
    return x / s if s > 0 else x


# --------------------------------------------------------------------------
# reading and validating
# --------------------------------------------------------------------------
def read_curve(path):
    """A CSV ``date,admissions`` (header required): sorted dates and values."""
    try:
        f = open(path, newline="")
    except OSError as e:
        raise ScenarioError(f"curve file {path}: {e.strerror}") from None
    with f:
        rows = list(csv.reader(f))
    if not rows or [c.strip().lower() for c in rows[0]] != ["date", "admissions"]:
        raise ScenarioError(f"curve file {path}: the first line must be the header 'date,admissions'")
    out = {}
    for ln, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2:
            raise ScenarioError(f"curve file {path}, line {ln}: expected 2 fields, got {len(row)}")
        try:
            d = _dt.date.fromisoformat(row[0].strip())
        except ValueError:
            raise ScenarioError(f"curve file {path}, line {ln}: {row[0]!r} is not a date YYYY-MM-DD") from None
        try:
            v = float(row[1])
        except ValueError:
            raise ScenarioError(f"curve file {path}, line {ln}: {row[1]!r} is not a number") from None
        if not math.isfinite(v) or v < 0:
            raise ScenarioError(f"curve file {path}, line {ln}: admissions must be finite and >= 0, got {row[1]!r}")
        if d in out:
            raise ScenarioError(f"curve file {path}, line {ln}: date {d} appears twice")
        out[d] = v
    if not out:
        raise ScenarioError(f"curve file {path}: no rows")
    dates = sorted(out)
    return dates, np.array([out[d] for d in dates])


def _num(sc, key, value, lo=None, hi=None, lo_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(f"scenario {sc.name}: {key} must be a finite number, got {value!r}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ScenarioError(f"scenario {sc.name}: {key} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ScenarioError(f"scenario {sc.name}: {key} must be <= {hi}, got {value!r}")


def _validate(sc):
    _num(sc, "covid_share", sc.covid_share, 0, 1)
    if sc.admissions is not None:
        if isinstance(sc.admissions, bool) or not isinstance(sc.admissions, int) or sc.admissions < 1:
            raise ScenarioError(f"scenario {sc.name}: admissions must be a positive integer or null")
    if not isinstance(sc.waves, list):
        raise ScenarioError(f"scenario {sc.name}: waves must be a list")
    for i, w in enumerate(sc.waves):
        miss = {"peak_day", "rise_sd", "decline_sd", "weight"} ^ set(w)
        if miss:
            raise ScenarioError(f"scenario {sc.name}: waves[{i}] needs exactly peak_day, rise_sd, decline_sd, weight")
        _num(sc, f"waves[{i}].peak_day", w["peak_day"])
        _num(sc, f"waves[{i}].rise_sd", w["rise_sd"], 0, lo_open=True)
        _num(sc, f"waves[{i}].decline_sd", w["decline_sd"], 0, lo_open=True)
        _num(sc, f"waves[{i}].weight", w["weight"], 0)
    _num(sc, "covid_endemic_weight", sc.covid_endemic_weight, 0)
    _num(sc, "curve_weight", sc.curve_weight, 0)
    if sc.curve_align not in ("end", "dates"):
        raise ScenarioError(f"scenario {sc.name}: curve_align must be 'end' or 'dates'")
    if sc.wave_tails not in ("uniform", "truncate"):
        raise ScenarioError(f"scenario {sc.name}: wave_tails must be 'uniform' or 'truncate'")
    total = sum(w["weight"] for w in sc.waves) + sc.covid_endemic_weight \
        + (sc.curve_weight if sc.curve_file is not None else 0)
    if sc.covid_share > 0 and total <= 0:
        raise ScenarioError(f"scenario {sc.name}: covid_share > 0 but no wave, endemic weight or curve file")
    for i, c in enumerate(sc.background_changes):
        if not {"from_day", "to_day", "factor"} <= set(c) <= {"from_day", "to_day", "factor", "ramp_days"}:
            raise ScenarioError(f"scenario {sc.name}: background_changes[{i}] needs from_day, to_day, factor "
                                "(and optionally ramp_days)")
        _num(sc, f"background_changes[{i}].from_day", c["from_day"])
        _num(sc, f"background_changes[{i}].to_day", c["to_day"], c["from_day"])
        _num(sc, f"background_changes[{i}].factor", c["factor"], 0, lo_open=True)
        _num(sc, f"background_changes[{i}].ramp_days", c.get("ramp_days", 0.0), 0)
    if sc.weekday is not None:
        if not isinstance(sc.weekday, list) or len(sc.weekday) != 7:
            raise ScenarioError(f"scenario {sc.name}: weekday must be 7 multipliers, Monday..Sunday")
        for i, v in enumerate(sc.weekday):
            _num(sc, f"weekday[{i}]", v, 0, lo_open=True)
    d = sc.icu_los_drift
    if d is not None:
        if not {"from_day", "to_day", "factor"} <= set(d) <= {"from_day", "to_day", "factor", "applies_to"}:
            raise ScenarioError(f"scenario {sc.name}: icu_los_drift needs from_day, to_day, factor "
                                "(and optionally applies_to)")
        _num(sc, "icu_los_drift.from_day", d["from_day"])
        _num(sc, "icu_los_drift.to_day", d["to_day"], d["from_day"], lo_open=True)
        _num(sc, "icu_los_drift.factor", d["factor"], 0, lo_open=True)
        if d.get("applies_to", "covid") not in ("covid", "all"):
            raise ScenarioError(f"scenario {sc.name}: icu_los_drift.applies_to must be 'covid' or 'all'")
    r = sc.icu_routing
    if not isinstance(r, dict) or set(r) != {"covid", "background"}:
        raise ScenarioError(f"scenario {sc.name}: icu_routing needs 'covid' and 'background'")
    for cls, shares in r.items():
        if not shares or set(shares) - set(ICU_UNITS):
            raise ScenarioError(f"scenario {sc.name}: icu_routing.{cls} must name ICU units among "
                                f"{', '.join(ICU_UNITS)}")
        for u, v in shares.items():
            _num(sc, f"icu_routing.{cls}.{u}", v, 0)
        if abs(sum(shares.values()) - 1.0) > 1e-9:
            raise ScenarioError(f"scenario {sc.name}: icu_routing.{cls} shares must sum to 1")
    if sc.icu_beds != "auto":
        if not isinstance(sc.icu_beds, dict) or not sc.icu_beds or set(sc.icu_beds) - set(ICU_UNITS):
            raise ScenarioError(f"scenario {sc.name}: icu_beds must be 'auto' or rows per ICU unit among "
                                f"{', '.join(ICU_UNITS)}")
        routed = {u for s in r.values() for u, v in s.items() if v > 0}
        if routed - set(sc.icu_beds):
            raise ScenarioError(f"scenario {sc.name}: icu_beds has no rows for {', '.join(sorted(routed - set(sc.icu_beds)))}"
                                ", which icu_routing sends patients to")
        for u, rows in sc.icu_beds.items():
            prev = None
            for j, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != 3 or not all(
                        isinstance(x, int) and not isinstance(x, bool) for x in row):
                    raise ScenarioError(f"scenario {sc.name}: icu_beds.{u}[{j}] must be [from_day, staffed, surge] "
                                        "(integers)")
                fd, st, su = row
                if j == 0 and fd != -WINDOW_DAYS:
                    raise ScenarioError(f"scenario {sc.name}: icu_beds.{u} must start at day {-WINDOW_DAYS}")
                if not (-WINDOW_DAYS <= fd <= -1) or (prev is not None and fd <= prev):
                    raise ScenarioError(f"scenario {sc.name}: icu_beds.{u}[{j}] from_day must increase "
                                        f"within {-WINDOW_DAYS}..-1")
                if st < 0 or su < st:
                    raise ScenarioError(f"scenario {sc.name}: icu_beds.{u}[{j}] needs 0 <= staffed <= surge")
                prev = fd


def get(name: str = "large_wave", file: str | None = None, curve_file: str | None = None) -> Scenario:
    """The preset NAME, overridden by the JSON object in FILE, with CURVE_FILE
    (a CSV path) as its COVID-19 arrival curve if given.

    A scenario file's keys replace the preset's; its curve_file is relative
    to the file's folder.  --curve-file replaces the COVID-19 arrival curve:
    the scenario's waves and endemic part are dropped, the file's shape is
    the curve (curve_align as the scenario says; "end" by default)."""
    if name not in PRESETS:
        raise ScenarioError(f"unknown scenario {name!r}; presets: {', '.join(PRESETS)}")
    spec = dict(PRESETS[name], name=name)
    base_dir = SCENARIO_DIR
    if file is not None:
        try:
            with open(file) as f:
                over = json.load(f)
        except OSError as e:
            raise ScenarioError(f"scenario file {file}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise ScenarioError(f"scenario file {file}: not JSON ({e})") from None
        if not isinstance(over, dict):
            raise ScenarioError(f"scenario file {file}: must hold one JSON object")
        spec.update(over)
        if "name" not in over:
            spec["name"] = f"{name}+{os.path.basename(file)}"
        if "curve_file" in over:
            base_dir = os.path.dirname(os.path.abspath(file))
    if curve_file is not None:
        spec.update(curve_file=os.path.abspath(curve_file), waves=[], covid_endemic_weight=0.0)
        spec.setdefault("curve_weight", 1.0)
        spec["name"] = spec["name"] + f"+curve:{os.path.basename(curve_file)}"
    sc = Scenario(spec, base_dir)
    sc.curve()                      # read (and check) the file now, not mid-generation
    return sc
