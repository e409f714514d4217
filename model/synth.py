"""Synthetic COVID-19 cohort: a seeded, deterministic generator.

The generative model is documented in docs/synthetic-cohort.md (with every
parameter value below).  In short: admissions arrive over the scenario's
epidemic curve plus a background of other admissions (model/scenario.py:
waves, a curve file, background changes, weekday pattern, ICU units and
beds; the default preset large_wave is today's single wave, byte for byte);
each patient has a latent severity
that, with age and sex, sets the true probability of ICU admission (the
oracle) and drives lab trajectories over time; location stays follow
ED -> ward -> [ICU -> (MC) -> ward] paths; everything is cut at the end
instant (end date 00:00 UTC), so patients still admitted then have open
admissions and stays.

Determinism: all randomness comes from numpy Generators seeded from the
seed.  Admission-level draws use one generator for the whole cohort; lab
rows are drawn per block of BLOCK admissions with a generator seeded by
(seed, block number).  BLOCK is part of the model, not a tuning knob, so the
same seed gives byte-identical data however the output is streamed.

Times are kept as integer minutes relative to the end instant (negative =
past), quantised once, so stays and admissions share exact boundaries.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import hashlib
import math
import struct
from dataclasses import dataclass, field

import numpy as np

from . import scenario as _scenario
from .units import unit_key

BLOCK = 2000                     # admissions per lab block (part of the model)
WINDOW_DAYS = _scenario.WINDOW_DAYS  # 180 days of history behind the end instant
MIN_PER_DAY = 1440
EPOCH_2000 = _dt.date(2000, 1, 1)

# --------------------------------------------------------------------------
# Parameters of the generative model (documented in docs/synthetic-cohort.md)
# --------------------------------------------------------------------------
# When admissions arrive (the epidemic curve, the background rate, weekday
# pattern, hospital size) and where ICU patients go is the scenario's
# (model/scenario.py); what happens to a patient is the same everywhere:
P = dict(
    readmission_share=0.05,      # admissions that reuse an earlier patient id
    # admission source (emergency, elective, transfer, outpatient, other, unknown)
    source_covid=[.85, 0, .12, 0, .03, 0],
    source_background=[.55, .33, .05, .05, .015, .005],
    # age ~ N(mean, sd), rounded, clipped to [min, 100]; sex (female, male, other, unknown)
    age_covid=(66, 14, 18),
    age_background=(58, 21, 0),
    sex_covid=[.395, .6, .0025, .0025],
    sex_background=[.495, .5, .0025, .0025],
    hour_nonelective=(15, 5),    # arrival hour ~ N(15, 5) mod 24; elective uniform 7-11 h
    hour_elective=(7, 11),
    # ICU admission: logit = b0 + b_sev*s + b_age*z + b_age2*z^2 + b_male*male (+ b_elective)
    icu_covid=dict(b0=-1.95, b_sev=1.55, b_age=0.45, b_age2=-0.35, b_male=0.35),
    icu_background=dict(b0=-3.4, b_sev=1.0, b_age=0.3, b_age2=0.0, b_male=0.1, b_elective=0.9),
    # lognormal (median days, sigma)
    ward_los_covid=(6.0, 0.6),
    ward_los_background=(3.5, 0.8),
    time_to_icu_covid=(1.6, 0.8),
    time_to_icu_background=(1.0, 0.9),
    icu_los_covid=(13.0, 0.7),
    icu_los_background=(2.5, 0.9),
    mc_los=(1.5, 0.5),
    post_icu_ward_covid=(7.0, 0.6),
    post_icu_ward_background=(3.0, 0.7),
    mc_after_icu=0.30,
    ed_hours=(2.0, 6.0),         # uniform, emergency admissions only
    # death: logit = d0 + d_sev*s + d_age*z
    death_icu_covid=dict(d0=-1.2, d_sev=0.6, d_age=0.7),
    death_ward_covid=dict(d0=-3.6, d_sev=0.5, d_age=1.0),
    death_icu_background=dict(d0=-2.2, d_sev=0.5, d_age=0.5),
    death_ward_background=dict(d0=-4.5, d_sev=0.4, d_age=1.0),
    lab_rate=1.25,               # multiplier on every draw probability (capped at 1)
    implausible_rate=3e-4,       # share of numeric results replaced by an impossible value
    hemolysed_rate=0.005,        # LDH results sent as text 'hemolysed' (value NULL)
)

# Lab features: canonical unit median (mu), effects on the log scale of the
# latent severity (a), of the COVID inflammation curve (b), of being in the
# ICU (c), of age (per 15 y, age_eff); patient random effect sd (u) and
# measurement noise sd (e).  Draw probabilities per event kind:
#   adm_c / adm_b  admission draw (COVID / background)
#   ward_c/ward_b  morning draw on a ward (COVID / background)
#   icu            morning draw in the ICU
#   gas            6-hourly blood gas in the ICU
LABS = [
    # name            mu     a      b      c     age   u     e    adm_c adm_b ward_c ward_b icu  gas
    ("crp",           6.0,  0.45,  2.3,  0.3,  0.0, 0.50, 0.25, .98, .80, .80, .45, .95, 0),
    ("ldh",         210.0,  0.18,  0.55, 0.15, 0.0, 0.20, 0.10, .90, .30, .50, .06, .80, 0),
    ("d_dimer",       0.5,  0.45,  0.8,  0.5,  0.1, 0.60, 0.25, .85, .12, .40, .03, .70, 0),
    ("ferritin",    180.0,  0.45,  1.3,  0.3,  0.0, 0.60, 0.15, .80, .10, .40, .03, .60, 0),
    ("lymphocytes",   1.6, -0.22, -0.55, -0.2, -0.05, 0.30, 0.15, .95, .50, .65, .18, .90, 0),
    ("lymphocytes_pct", 22.0, -0.25, -0.6, -0.2, -0.05, 0.30, 0.12, .95, .50, .65, .18, .90, 0),
    ("neutrophils",   4.5,  0.18,  0.3,  0.25, 0.0, 0.30, 0.15, .95, .60, .65, .22, .90, 0),
    ("platelets",   240.0, -0.05, -0.1, -0.15, -0.05, 0.30, 0.08, .97, .90, .75, .55, .95, 0),
    ("creatinine",    0.95, 0.12,  0.05, 0.3,  0.12, 0.30, 0.08, .98, .95, .75, .60, .95, 0),
    ("urea",          6.0,  0.18,  0.1,  0.35, 0.15, 0.35, 0.10, .90, .60, .55, .28, .90, 0),
    ("procalcitonin", 0.07, 0.50,  0.7,  0.8,  0.0, 0.80, 0.30, .60, .10, .22, .03, .60, 0),
    ("troponin_t",    9.0,  0.35,  0.3,  0.5,  0.35, 0.70, 0.15, .60, .25, .18, .05, .50, 0),
    ("il6",           5.0,  0.60,  2.0,  0.6,  0.0, 0.60, 0.35, .40, .02, .15, .00, .40, 0),
    ("albumin",      38.0, -0.06, -0.12, -0.12, -0.03, 0.08, 0.04, .60, .30, .28, .08, .60, 0),
    ("bilirubin",     9.0,  0.05,  0.05, 0.25, 0.0, 0.40, 0.10, .70, .40, .28, .10, .70, 0),
    ("lactate",       1.2,  0.12,  0.1,  0.3,  0.0, 0.25, 0.20, .50, .15, .12, .02, .90, .80),
    ("pao2",         10.5, -0.08, -0.15, 0.05, -0.03, 0.12, 0.12, .60, .10, .28, .02, .95, .95),
    ("pf_ratio",    400.0, -0.22, -0.55, -0.3, -0.03, 0.15, 0.12, .55, .08, .28, .02, .95, .95),
    ("leukocytes",    7.5,  0.12,  0.15, 0.2,  0.0, 0.30, 0.12, .97, .90, .75, .55, .95, 0),
]
LAB_NAMES = [r[0] for r in LABS]
_LABP = np.array([r[1:] for r in LABS], dtype=np.float64)
(_MU, _A, _B, _C, _AGE, _U, _E,
 _ADM_C, _ADM_B, _WARD_C, _WARD_B, _ICU, _GAS) = (_LABP[:, i] for i in range(13))

# Plausible range (canonical unit) as in the extension's feature catalogue;
# used only to make deliberately implausible values.
PLAUSIBLE_MAX = dict(crp=1000, ldh=20000, d_dimer=200, ferritin=200000, lymphocytes=200,
                     lymphocytes_pct=100, neutrophils=200, platelets=3000, creatinine=40,
                     urea=150, procalcitonin=1000, troponin_t=100000, il6=100000, albumin=70,
                     bilirubin=1000, lactate=40, pao2=80, pf_ratio=700, leukocytes=500)

# How each lab is sent: (local code, unit as sent, factor into the canonical
# unit, share, decimals, lower detection limit, upper limit) in the LOCAL unit.
# The units are spelled as laboratories write them, SI and conventional
# (creatinine in umol/L and mg/dL, CRP in mg/L and mg/dL, counts in 10^9/L,
# G/L and 10*3/uL, IU/L for U/L); lab_map gives no factor for them, so the
# extension's UCUM conversion turns them into the feature's unit.  The factor
# here only makes the local value from the canonical one: it is the clinical
# conversion a laboratory reports with (creatinine 88.4 umol/L per mg/dL,
# bilirubin 17.1), which UCUM's molar-mass conversion reproduces to 2e-5
# (docs/synthetic-cohort.md, "Units").  Spelling variants of one unit
# ('mg/L', 'mg/l', 'MG/L') share a lab_map row.
VARIANTS = {
    "crp": [("KCCRP", "mg/L", 1, .60, 0, 1, None), ("KCCRP", "mg/l", 1, .06, 0, 1, None),
            ("KCCRP", "MG/L", 1, .04, 0, 1, None), ("POCCRP", "mg/dL", 10, .30, 1, None, None)],
    "ldh": [("KCLD", "U/L", 1, .85, 0, None, None), ("KCLD", "IU/L", 1, .15, 0, None, None)],
    "d_dimer": [("DDIM", "mg/L FEU", 1, .70, 2, None, None), ("DDIMD", "mg/L DDU", 2, .30, 2, None, None)],
    "ferritin": [("FERR", "ug/L", 1, .75, 0, None, None), ("FERR", "µg/L", 1, .10, 0, None, None),
                 ("FERR", "ng/mL", 1, .15, 0, None, None)],
    "lymphocytes": [("LYMA", "10^9/L", 1, .85, 2, None, None), ("LYMA", "G/L", 1, .15, 2, None, None)],
    "lymphocytes_pct": [("LYMP", "%", 1, 1.0, 1, None, None)],
    "neutrophils": [("NEUA", "x10E9/L", 1, 1.0, 2, None, None)],
    "platelets": [("TROM", "10*3/uL", 1, 1.0, 0, None, None)],
    "creatinine": [("KREA", "umol/L", 1 / 88.4, .70, 0, None, None), ("KREA", "µmol/L", 1 / 88.4, .08, 0, None, None),
                   ("KREA", "mg/dL", 1, .22, 2, None, None)],
    "urea": [("UREU", "mmol/L", 1, .80, 1, None, None), ("BUN", "mg/dL", 0.357, .20, 0, None, None)],
    "procalcitonin": [("PCT", "ug/L", 1, .70, 2, 0.1, None), ("PCT", "ng/mL", 1, .30, 2, 0.1, None)],
    "troponin_t": [("TNTHS", "ng/L", 1, .85, 0, 3, None), ("TNTHS", "ug/L", 1000, .15, 3, None, None)],
    "il6": [("IL6", "pg/mL", 1, .85, 1, None, 5000), ("IL6", "ng/L", 1, .15, 1, None, 5000)],
    "albumin": [("ALB", "g/L", 1, .75, 0, None, None), ("ALBD", "g/dL", 10, .25, 1, None, None)],
    "bilirubin": [("BILI", "umol/L", 1, .80, 0, None, None), ("BILD", "mg/dL", 17.1, .20, 2, None, None)],
    "lactate": [("LACT", "mmol/L", 1, 1.0, 1, None, None)],
    "pao2": [("BGPO2", "kPa", 1, .80, 1, None, None), ("BGPO2", "mmHg", 0.133322, .20, 0, None, None)],
    "pf_ratio": [("PFRAT", "mmHg", 1, .70, 0, None, None), ("PFRAT", "kPa", 7.50062, .30, 1, None, None)],
    "leukocytes": [("LEUK", "10^9/L", 1, .90, 1, None, None), ("LEUK", "G/L", 1, .10, 1, None, None)],
}
# The two mappings that are no unit conversion keep a factor in lab_map (an
# override): urea nitrogen is not urea, and D-dimer units (DDU) are about half
# the fibrinogen-equivalent units (FEU) of the feature d_dimer.
LAB_MAP_OVERRIDES = {
    ("BUN", "mg/dL"): "urea nitrogen mg/dL -> urea mmol/L (not a unit conversion)",
    ("DDIMD", "mg/L DDU"): "D-dimer DDU -> FEU about x2 (not a unit conversion)",
}
TEXT_ONLY_CODES = ("SARS2PCR",)   # deliberately unmapped (not a feature)

COVID_WARDS = (["COVID-A3", "COVID-B3", "PULM-5N"], [0.45, 0.35, 0.20])
OTHER_WARDS = (["INT-4N", "SURG-6Z", "CARD-7N", "NEURO-8Z", "GER-2N"], [0.30, 0.25, 0.20, 0.10, 0.15])
ICU_UNITS = list(_scenario.ICU_UNITS)
UNITS = (COVID_WARDS[0] + OTHER_WARDS[0] + ICU_UNITS + ["MC-1", "SEH"])
UNIT_KIND = {u: "ward" for u in COVID_WARDS[0] + OTHER_WARDS[0]}
UNIT_KIND.update({u: "icu" for u in ICU_UNITS}, **{"MC-1": "mc", "SEH": "ed"})
ISOLATIONS = ["none", "droplet", "contact", "airborne", "strict", "unknown"]
SEXES = ["female", "male", "other", "unknown"]
SOURCES = ["emergency", "elective", "transfer", "outpatient", "other", "unknown"]


def lab_map_rows():
    """(local_code, unit, feature, factor, offset, note), one per (code, unit_key).

    factor is None (UCUM converts, offset 0) except for LAB_MAP_OVERRIDES."""
    rows, seen = [], set()
    for feat, vs in VARIANTS.items():
        for code, unit, factor, *_ in vs:
            k = (code, unit_key(unit))
            if k in seen:
                continue
            seen.add(k)
            why = LAB_MAP_OVERRIDES.get((code, unit))
            if why is None:
                rows.append((code, unit, feat, None, 0.0, "synthetic cohort"))
            else:
                rows.append((code, unit, feat, float(factor), 0.0, "synthetic cohort: " + why))
    return rows


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def death_probability(covid, severity, age, in_icu):
    """The generator's true probability that an admission ends in death, given
    its hidden state: logit = d0 + d_sev * severity + d_age * (age - 65) / 15
    with the COVID or background parameters of an ICU or a ward course (P,
    death_*).  The same law generate() draws death from (u_death below); for
    the death oracle (model/oracle.py), which mixes the two courses."""
    covid = np.asarray(covid, bool)
    sev = np.asarray(severity, float)
    zage = (np.asarray(age, float) - 65.0) / 15.0
    if in_icu:
        c, b = P["death_icu_covid"], P["death_icu_background"]
    else:
        c, b = P["death_ward_covid"], P["death_ward_background"]
    return np.where(covid, _logistic(c["d0"] + c["d_sev"] * sev + c["d_age"] * zage),
                    _logistic(b["d0"] + b["d_sev"] * sev + b["d_age"] * zage))


ICU_LOS_CLIP_DAYS = (0.3, 120.0)     # generate(): np.clip(icu_los, 0.3, 120)


def _lognormal(rng, median_sigma, n):
    med, sig = median_sigma
    return med * np.exp(sig * rng.standard_normal(n))


def _minutes(days):
    return np.rint(np.asarray(days) * MIN_PER_DAY).astype(np.int64)


@dataclass
class Cohort:
    seed: int
    n: int
    end_date: _dt.date
    end_min2000: int                       # end instant, minutes since 2000-01-01 UTC
    adm: dict                              # admission columns (numpy arrays)
    stays: dict                            # location_stay columns
    oracle: dict
    capacity: list
    lab_map: list = field(default_factory=lab_map_rows)
    lab_stats: dict = field(default_factory=dict)
    scenario: _scenario.Scenario | None = None
    course: dict = field(default_factory=dict)     # true course distributions (oracle_course)

    # ---------------- admissions and stays -----------------------------
    def ts_strings(self, minutes):
        """ISO strings (UTC) for minute offsets; '' where minutes is the NULL marker."""
        m = np.asarray(minutes, dtype=np.int64)
        dt = np.datetime64("2000-01-01T00:00", "m") + (m + self.end_min2000).astype("timedelta64[m]")
        s = np.char.add(np.datetime_as_string(dt, unit="m"), "+00")
        return np.where(m == NULLMIN, "", s)


NULLMIN = np.iinfo(np.int64).min


def generate(n: int, seed: int, end_date: _dt.date | None = None,
             scenario: _scenario.Scenario | None = None) -> Cohort:
    """Admissions, stays, oracle and capacity; lab rows come from lab_blocks().

    ``scenario`` (model/scenario.py; default: the large_wave preset) sets when
    admissions arrive and where ICU patients go; ``n`` is the number of
    admissions (the caller resolves a preset's size)."""
    if n < 1:
        raise ValueError("need at least one admission")
    if end_date is None:
        end_date = _dt.datetime.now(_dt.timezone.utc).date()
    sc = scenario if scenario is not None else _scenario.get("large_wave")
    rng = np.random.default_rng([seed, 1])
    end_min2000 = (end_date - EPOCH_2000).days * MIN_PER_DAY

    covid = rng.random(n) < sc.covid_share
    nc = int(covid.sum())
    # -- arrival day: COVID over the scenario's curve, background over its rate
    t = np.empty(n)
    if sc.legacy_sampler():
        # one wave and a flat background: the continuous draws of the original
        # generator (exact daily densities: scenario.legacy_pdfs)
        w = sc.waves[0]
        left = rng.random(nc) < w["rise_sd"] / (w["rise_sd"] + w["decline_sd"])
        z = np.abs(rng.standard_normal(nc))
        tc = w["peak_day"] + np.where(left, -w["rise_sd"], w["decline_sd"]) * z
        bad = (tc < -WINDOW_DAYS) | (tc >= -0.01)
        tc[bad] = rng.uniform(-WINDOW_DAYS, -0.01, int(bad.sum()))   # tails: uniform
        t[covid] = tc
        t[~covid] = rng.uniform(-WINDOW_DAYS, -0.01, n - nc)
    else:
        pdf_c, pdf_b = sc.daily_pdfs(end_date)
        t[covid] = _draw_days(rng, pdf_c, nc)
        t[~covid] = _draw_days(rng, pdf_b, n - nc)
    day = np.floor(t)
    # -- source and time of day
    src = np.where(covid,
                   rng.choice(6, n, p=P["source_covid"]),
                   rng.choice(6, n, p=P["source_background"]))
    hour = np.where(src == 1, rng.uniform(*P["hour_elective"], n),
                    (rng.normal(*P["hour_nonelective"], n)) % 24)
    t = day + hour / 24.0
    # elective admissions move off weekends to the Thursday/Friday before
    dow = (np.floor(t).astype(np.int64) + end_date.weekday()) % 7      # Monday = 0
    t = np.where((src == 1) & (dow >= 5), t - 2.0, t)
    t = np.clip(t, -WINDOW_DAYS, -0.01)
    # -- demographics
    (ma_c, sa_c, lo_c), (ma_b, sa_b, lo_b) = P["age_covid"], P["age_background"]
    age = np.where(covid, rng.normal(ma_c, sa_c, n), rng.normal(ma_b, sa_b, n))
    age = np.clip(np.rint(age), np.where(covid, lo_c, lo_b), 100).astype(np.int64)
    sex = np.where(covid, rng.choice(4, n, p=P["sex_covid"]),
                   rng.choice(4, n, p=P["sex_background"]))
    male = sex == 1
    zage = (age - 65.0) / 15.0
    sev = rng.standard_normal(n)
    # -- oracle: true probability of ICU admission during the stay
    ic, ib = P["icu_covid"], P["icu_background"]
    eta = np.where(covid,
                   ic["b0"] + ic["b_sev"] * sev + ic["b_age"] * zage + ic["b_age2"] * zage ** 2 + ic["b_male"] * male,
                   ib["b0"] + ib["b_sev"] * sev + ib["b_age"] * zage + ib["b_male"] * male + ib["b_elective"] * (src == 1))
    p_icu = _logistic(eta)
    icu = rng.random(n) < p_icu
    # -- durations (days)
    ed = np.where(src == 0, rng.uniform(*P["ed_hours"], n) / 24.0, 0.0)
    ward1 = np.where(icu,
                     np.where(covid, _lognormal(rng, P["time_to_icu_covid"], n),
                              _lognormal(rng, P["time_to_icu_background"], n)),
                     np.where(covid, _lognormal(rng, P["ward_los_covid"], n),
                              _lognormal(rng, P["ward_los_background"], n)))
    ward1 = np.clip(ward1, 0.15, 60)
    icu_los = np.where(covid, _lognormal(rng, P["icu_los_covid"], n), _lognormal(rng, P["icu_los_background"], n))
    los_fac = sc.los_factor(t, covid)                # the scenario's drift of the ICU stay (1 without)
    if sc.icu_los_drift is not None:
        icu_los = icu_los * los_fac
    icu_los = np.where(icu, np.clip(icu_los, 0.3, 120), 0.0)

    def death_p(par):
        return _logistic(par["d0"] + par["d_sev"] * sev + par["d_age"] * zage)
    u_death = rng.random(n)
    dies_icu = icu & (u_death < np.where(covid, death_p(P["death_icu_covid"]), death_p(P["death_icu_background"])))
    dies_ward = ~icu & (u_death < np.where(covid, death_p(P["death_ward_covid"]), death_p(P["death_ward_background"])))
    mc = icu & ~dies_icu & (rng.random(n) < P["mc_after_icu"])
    mc_los = np.where(mc, np.clip(_lognormal(rng, P["mc_los"], n), 0.2, 20), 0.0)
    ward2 = np.where(icu & ~dies_icu,
                     np.where(covid, _lognormal(rng, P["post_icu_ward_covid"], n),
                              _lognormal(rng, P["post_icu_ward_background"], n)), 0.0)
    ward2 = np.where(ward2 > 0, np.clip(ward2, 0.2, 60), 0.0)
    # -- units and isolation
    w1 = np.where(covid, rng.choice(3, n, p=COVID_WARDS[1]), 3 + rng.choice(5, n, p=OTHER_WARDS[1]))
    w2 = np.where(covid, rng.choice(3, n, p=COVID_WARDS[1]), 3 + rng.choice(5, n, p=OTHER_WARDS[1]))
    u_route_c = rng.random(n)
    u_route_b = rng.random(n)
    iu = np.where(covid, _route(u_route_c, sc.icu_routing["covid"]), _route(u_route_b, sc.icu_routing["background"]))
    iso_bg = rng.choice(6, n, p=[.925, 0, .06, .01, 0, .005])
    iso_w1 = np.where(covid, np.where(rng.random(n) < 0.25, 4, 1), iso_bg)
    iso_w2 = np.where(covid, np.where(rng.random(n) < 0.7, 1, 0), iso_bg)

    # -- order by admission time; ids
    order = np.argsort(t, kind="stable")

    def o(x):
        return x[order]
    (t, covid, src, age, sex, sev, p_icu, icu, ed, ward1, icu_los, dies_icu, dies_ward, mc, mc_los, ward2,
     w1, w2, iu, iso_w1, iso_w2, zage, los_fac) = map(o, (t, covid, src, age, sex, sev, p_icu, icu, ed, ward1,
                                                          icu_los, dies_icu, dies_ward, mc, mc_los, ward2, w1, w2,
                                                          iu, iso_w1, iso_w2, zage, los_fac))
    adm_id = 1_000_001 + np.arange(n, dtype=np.int64)
    # -- segment boundaries (days) then minutes: ED, ward1, ICU, MC, ward2
    durs = np.stack([ed, ward1, icu_los, mc_los, ward2], axis=1)
    bounds_d = t[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(durs, axis=1)], axis=1)
    bounds = _minutes(bounds_d)                     # n x 6
    admit_m = bounds[:, 0]
    disc_m = bounds[:, 5]
    died = dies_icu | dies_ward
    # -- patient ids, with readmissions of earlier (closed) admissions
    pid_num = rng.permutation(np.arange(1_000_000, 1_000_000 + n))
    readm = np.flatnonzero(rng.random(n) < P["readmission_share"])
    by_key = {}
    disc_order = np.argsort(disc_m, kind="stable")
    for j in disc_order:
        if not died[j]:
            by_key.setdefault((int(sex[j]), int(age[j])), ([], []))
            by_key[(int(sex[j]), int(age[j]))][0].append(int(disc_m[j]))
            by_key[(int(sex[j]), int(age[j]))][1].append(int(j))
    used = set()
    pick_u = rng.random(len(readm))
    for k, i in enumerate(readm):
        lst = by_key.get((int(sex[i]), int(age[i])))
        if not lst:
            continue
        hi = bisect.bisect_left(lst[0], int(admit_m[i]) - MIN_PER_DAY)
        if hi == 0:
            continue
        j = lst[1][int(pick_u[k] * hi)]
        if j in used or j == i:
            continue
        used.add(j)
        pid_num[i] = pid_num[j]
    # -- stays table (truncated at the end instant, minute 0)
    seg_unit = np.stack([np.full(n, 12), w1, iu, np.full(n, 11), w2], axis=1)
    seg_iso = np.stack([np.where(covid, 1, 0), iso_w1, np.where(covid, 4, 0), np.where(covid, 1, 0), iso_w2], axis=1)
    present = durs > 0
    s_start = bounds[:, :5]
    s_end = bounds[:, 1:]
    keep = present & (s_start < 0)
    ai, si = np.nonzero(keep)                           # row-major: admission, then segment
    st_end = s_end[ai, si]
    st_end = np.where(st_end > 0, NULLMIN, st_end)
    stays = dict(
        stay_id=np.arange(1, len(ai) + 1, dtype=np.int64),
        adm_idx=ai, seg=si,
        admission_id=adm_id[ai],
        unit=seg_unit[ai, si], isolation=seg_iso[ai, si],
        started=s_start[ai, si], ended=st_end)
    open_adm = disc_m > 0
    adm = dict(
        admission_id=adm_id, patient_num=pid_num, admitted=admit_m,
        discharged=np.where(open_adm, NULLMIN, disc_m), discharged_true=disc_m,
        age=age, sex=sex, source=src, died=died, open=open_adm, covid=covid, sev=sev, zage=zage,
        icu=icu, icu_start=bounds[:, 2], icu_end=bounds[:, 3],
        onset=rng.uniform(3, 10, n))
    oracle = dict(admission_id=adm_id, p_icu=p_icu, severity=sev, covid=covid, icu=icu,
                  icu_los_days=np.where(icu, (bounds[:, 3] - bounds[:, 2]) / MIN_PER_DAY, np.nan), died=died)
    # -- the course's true distributions (for an oracle forecaster; docs/synthetic-cohort.md)
    wl = np.array([P["ward_los_covid"], P["ward_los_background"]])[np.where(covid, 0, 1)]
    tt = np.array([P["time_to_icu_covid"], P["time_to_icu_background"]])[np.where(covid, 0, 1)]
    il = np.array([P["icu_los_covid"], P["icu_los_background"]])[np.where(covid, 0, 1)]
    course = dict(
        admission_id=adm_id,
        ed_days=(bounds[:, 1] - bounds[:, 0]) / MIN_PER_DAY,
        time_to_icu_days=np.where(icu, (bounds[:, 2] - bounds[:, 0]) / MIN_PER_DAY, np.nan),
        icu_unit=np.array(UNITS)[iu],
        ward_los_median_days=wl[:, 0], ward_los_sigma=wl[:, 1],
        time_to_icu_median_days=tt[:, 0], time_to_icu_sigma=tt[:, 1],
        icu_los_median_days=il[:, 0] * los_fac, icu_los_sigma=il[:, 1])
    cohort = Cohort(seed=seed, n=n, end_date=end_date, end_min2000=end_min2000,
                    adm=adm, stays=stays, oracle=oracle, capacity=[], scenario=sc, course=course)
    cohort.capacity = _capacity(cohort) if sc.icu_beds == "auto" else _capacity_rows(cohort)
    return cohort


def _draw_days(rng, pdf, k):
    """k arrival days (-WINDOW_DAYS .. -1) drawn from daily probabilities pdf."""
    cdf = np.cumsum(pdf)
    cdf /= cdf[-1]
    idx = np.minimum(np.searchsorted(cdf, rng.random(k), side="right"), len(pdf) - 1)
    return (idx - WINDOW_DAYS).astype(np.float64)


def _route(u, shares):
    """ICU unit index (into UNITS) per uniform draw u, by the cumulative shares (in order)."""
    names = list(shares)
    cum = np.cumsum([shares[k] for k in names])
    cum[-1] = np.inf
    idx = np.searchsorted(cum, u, side="right")
    return np.array([UNITS.index(k) for k in names])[idx]


def _capacity_rows(c: Cohort):
    """The scenario's own staffed/surge beds: rows [from_day, staffed, surge] per unit."""
    rows = []
    for unit in ICU_UNITS:
        for fd, staffed, surge in c.scenario.icu_beds.get(unit, []):
            rows.append((unit, c.end_date + _dt.timedelta(days=fd), staffed, surge))
    return rows


def _capacity(c: Cohort):
    """Staffed/surge beds per ICU unit, sized from the cohort's own peak occupancy."""
    st = c.stays
    rows = []
    start_date = c.end_date - _dt.timedelta(days=WINDOW_DAYS)
    for ui, unit in zip((8, 9, 10), ICU_UNITS):
        m = st["unit"] == ui
        s = st["started"][m]
        e = np.where(st["ended"][m] == NULLMIN, 0, st["ended"][m])
        ev_t = np.concatenate([s, e])
        ev_d = np.concatenate([np.ones(len(s), np.int64), -np.ones(len(e), np.int64)])
        o = np.lexsort((ev_d, ev_t))
        occ = np.cumsum(ev_d[o])
        peak = int(occ.max()) if len(occ) else 0
        peak_t = int(ev_t[o][int(np.argmax(occ))]) if len(occ) else 0
        peak_date = c.end_date + _dt.timedelta(days=math.floor(peak_t / MIN_PER_DAY))
        scale_up = max(start_date + _dt.timedelta(days=1), peak_date - _dt.timedelta(days=21))
        s0 = max(1, round(0.55 * peak))
        rows.append((unit, start_date, s0, max(s0 + 1, round(0.8 * peak))))
        s1 = max(2, round(0.8 * peak))
        rows.append((unit, scale_up, s1, max(s1 + 1, math.ceil(1.1 * peak))))
    return rows


# --------------------------------------------------------------------------
# lab rows, per block of BLOCK admissions
# --------------------------------------------------------------------------
def lab_blocks(c: Cohort):
    """Yield, per block, a list of groups (variant, columns) in output order."""
    for b0 in range(0, c.n, BLOCK):
        yield _lab_block(c, b0, min(c.n, b0 + BLOCK))


def _lab_block(c: Cohort, lo: int, hi: int):
    rng = np.random.default_rng([c.seed, 2, lo // BLOCK])
    A = c.adm
    nb = hi - lo
    a = A["admitted"][lo:hi] / MIN_PER_DAY                # days
    d_true = A["discharged_true"][lo:hi] / MIN_PER_DAY
    covid = A["covid"][lo:hi]
    icu = A["icu"][lo:hi]
    i0 = A["icu_start"][lo:hi] / MIN_PER_DAY
    i1 = A["icu_end"][lo:hi] / MIN_PER_DAY
    stop = np.minimum(d_true, 0.0)                        # no draws after the end instant
    # admission draw, 1-4 h after arrival
    e_adm = np.arange(nb)
    t_adm = a + rng.uniform(1, 4, nb) / 24.0
    # morning draws at 06:00 UTC from 7 h after arrival until discharge
    fa = np.floor(a)
    k0 = np.ceil(a + 0.3 - fa - 0.25)
    kl = np.floor(stop - fa - 0.25 - 1e-9)
    cnt = np.maximum(0, kl - k0 + 1).astype(np.int64)
    e_mor = np.repeat(np.arange(nb), cnt)
    off = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    t_mor = fa[e_mor] + k0[e_mor] + off + 0.25 + rng.normal(0, 20, len(e_mor)) / MIN_PER_DAY
    mor_icu = icu[e_mor] & (t_mor >= i0[e_mor]) & (t_mor < i1[e_mor])
    # blood gases every 6 h in the ICU
    gstop = np.minimum(i1, stop)
    gcnt = np.where(icu, np.maximum(0, np.ceil((gstop - i0 - 0.05) / 0.25)), 0).astype(np.int64)
    e_gas = np.repeat(np.arange(nb), gcnt)
    goff = np.arange(gcnt.sum()) - np.repeat(np.cumsum(gcnt) - gcnt, gcnt)
    t_gas = i0[e_gas] + 0.05 + 0.25 * goff
    # events: admission index, time, kind (0 adm, 1 ward morning, 2 icu morning, 3 gas)
    ev_a = np.concatenate([e_adm, e_mor, e_gas])
    ev_t = np.concatenate([t_adm, t_mor, t_gas])
    ev_k = np.concatenate([np.zeros(nb, np.int8), np.where(mor_icu, 2, 1).astype(np.int8),
                           np.full(len(e_gas), 3, np.int8)])
    ok = (ev_t < stop[ev_a]) & (ev_t >= a[ev_a])
    ev_a, ev_t, ev_k = ev_a[ok], ev_t[ok], ev_k[ok]
    o = np.lexsort((ev_t, ev_a))
    ev_a, ev_t, ev_k = ev_a[o], ev_t[o], ev_k[o]
    ev_samp = _minutes(ev_t)
    ev_cov = covid[ev_a]
    ev_icu = (ev_k >= 2)
    ev_sev = A["sev"][lo:hi][ev_a]
    ev_z = A["zage"][lo:hi][ev_a]
    illness = A["onset"][lo:hi][ev_a] + (ev_t - a[ev_a])
    g = np.exp(-0.5 * ((illness - 10.0) / 4.5) ** 2) * np.clip(1 + 0.35 * ev_sev, 0.3, None) * ev_cov
    sev_w = np.where(ev_cov, 1.0, 0.6) * ev_sev
    adm_ids = A["admission_id"][lo:hi]
    rate = P["lab_rate"]
    groups = []
    n_events = len(ev_a)
    for li, name in enumerate(LAB_NAMES):
        p = np.select([ev_k == 0, ev_k == 1, ev_k == 2],
                      [np.where(ev_cov, _ADM_C[li], _ADM_B[li]),
                       np.where(ev_cov, _WARD_C[li], _WARD_B[li]),
                       np.full(n_events, _ICU[li])], _GAS[li]) * rate
        p = np.minimum(p, 1.0)
        u_pat = rng.normal(0, _U[li], nb)
        sel = np.flatnonzero(rng.random(n_events) < p)
        m = len(sel)
        logv = (np.log(_MU[li]) + _A[li] * sev_w[sel] + _B[li] * g[sel] + _C[li] * ev_icu[sel]
                + _AGE[li] * ev_z[sel] + u_pat[ev_a[sel]] + rng.normal(0, _E[li], m))
        val = np.exp(logv)
        if name == "lymphocytes_pct":
            val = np.minimum(val, 95.0)
        if name == "pf_ratio":
            val = np.minimum(val, 650.0)
        # deliberately implausible values (unit errors, sign errors)
        bad = rng.random(m) < P["implausible_rate"]
        hi_bad = rng.random(m) < 0.5
        val = np.where(bad, np.where(hi_bad, PLAUSIBLE_MAX[name] * rng.uniform(1.5, 10, m),
                                     -_MU[li] * rng.uniform(0.1, 2, m)), val)
        delay = np.where(ev_k[sel] == 3, 0.5 + rng.exponential(0.2, m),
                         np.clip(1.5 * np.exp(0.6 * rng.standard_normal(m)), 0.5, 6.0))
        res = ev_samp[sel] + np.rint(np.minimum(delay, 6.0) * 60).astype(np.int64)
        variants = VARIANTS[name]
        vi = rng.choice(len(variants), m, p=[v[3] for v in variants])
        hemo = (rng.random(m) < P["hemolysed_rate"]) if name == "ldh" else np.zeros(m, bool)
        keep = res <= 0
        for k, (code, unit, factor, _, dec, lod, uod) in enumerate(variants):
            r = np.flatnonzero((vi == k) & keep)
            if len(r) == 0:
                continue
            local = np.round(val[r] / factor, dec)
            text = np.zeros(len(r), np.int8)          # 0 numeric, 1 '<lod', 2 '>uod', 3 hemolysed
            if lod is not None:
                text[(local < lod) & ~bad[r]] = 1
            if uod is not None:
                text[(local > uod) & ~bad[r]] = 2
            text[hemo[r]] = 3
            groups.append((code, unit, lod, uod, dict(
                admission_id=adm_ids[ev_a[sel[r]]], value=local, text=text,
                sampled=ev_samp[sel[r]], resulted=res[r], bad=bad[r])))
    # SARS-CoV-2 PCR at the admission draw: text only, unmapped on purpose
    adm_ev = np.flatnonzero(ev_k == 0)
    tested = ev_cov[adm_ev] | (rng.random(len(adm_ev)) < 0.3)
    r = adm_ev[tested]
    res = ev_samp[r] + rng.integers(180, 360, len(r))
    kp = res <= 0
    r, res = r[kp], res[kp]
    groups.append(("SARS2PCR", None, None, None, dict(
        admission_id=adm_ids[ev_a[r]], value=np.full(len(r), np.nan),
        text=np.where(ev_cov[r], 4, 5).astype(np.int8),
        sampled=ev_samp[r], resulted=res, bad=np.zeros(len(r), bool))))
    return groups


# --------------------------------------------------------------------------
# encoders: PostgreSQL COPY payloads (binary for numeric labs, CSV otherwise)
# --------------------------------------------------------------------------
BIN_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
BIN_TRAILER = struct.pack(">h", -1)
LAB_BIN_COLUMNS = "lab_result_id, admission_id, local_code, value, unit, sampled_at, resulted_at"
LAB_TEXT_COLUMNS = "lab_result_id, admission_id, local_code, value, value_text, unit, sampled_at, resulted_at"
TEXT_WORDS = {4: "positive", 5: "negative", 3: "hemolysed"}


def _fmt_num(x):
    return repr(float(x))


class LabEncoder:
    """Turns lab blocks into binary COPY bytes (numeric rows) and CSV lines (rows with text)."""

    def __init__(self, cohort: Cohort):
        self.c = cohort
        self.next_id = 1
        self.text_lines = []
        self.n_numeric = 0
        self.n_text = 0
        self.n_implausible = 0
        self.n_unmapped_text = 0
        self.per_adm = np.zeros(cohort.n, np.int64)

    def encode_block(self, groups) -> bytes:
        out = []
        us = np.int64(60_000_000)
        base = np.int64(self.c.end_min2000)
        for code, unit, lod, uod, g in groups:
            m = len(g["admission_id"])
            ids = self.next_id + np.arange(m, dtype=np.int64)
            self.next_id += m
            np.add.at(self.per_adm, g["admission_id"] - 1_000_001, 1)
            num = g["text"] == 0
            self.n_implausible += int(g["bad"].sum())
            nn = int(num.sum())
            if nn:
                cb = code.encode()
                ub = unit.encode("utf-8")
                dt = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"), ("adm", ">i8"),
                               ("l3", ">i4"), ("code", f"S{len(cb)}"), ("l4", ">i4"), ("val", ">f8"),
                               ("l5", ">i4"), ("unit", f"S{len(ub)}"), ("l6", ">i4"), ("samp", ">i8"),
                               ("l7", ">i4"), ("res", ">i8")])
                rec = np.empty(nn, dtype=dt)
                rec["nf"] = 7
                rec["l1"] = 8
                rec["id"] = ids[num]
                rec["l2"] = 8
                rec["adm"] = g["admission_id"][num]
                rec["l3"] = len(cb)
                rec["code"] = cb
                rec["l4"] = 8
                rec["val"] = g["value"][num]
                rec["l5"] = len(ub)
                rec["unit"] = ub
                rec["l6"] = 8
                rec["samp"] = (g["sampled"][num] + base) * us
                rec["l7"] = 8
                rec["res"] = (g["resulted"][num] + base) * us
                out.append(rec.tobytes())
                self.n_numeric += nn
            tx = np.flatnonzero(~num)
            if len(tx):
                self.n_text += len(tx)
                samp = self.c.ts_strings(g["sampled"][tx])
                res = self.c.ts_strings(g["resulted"][tx])
                for j, k in enumerate(tx):
                    kind = int(g["text"][k])
                    if kind == 1:
                        vt, v = f"<{lod:g}", _fmt_num(lod)
                    elif kind == 2:
                        vt, v = f">{uod:g}", _fmt_num(uod)
                    else:
                        vt, v = TEXT_WORDS[kind], ""
                    if code in TEXT_ONLY_CODES:
                        self.n_unmapped_text += 1
                    self.text_lines.append(
                        f"{ids[k]},{g['admission_id'][k]},{code},{v},{vt},{unit or ''},{samp[j]},{res[j]}\n")
        return b"".join(out)

    def text_payload(self) -> bytes:
        return "".join(self.text_lines).encode("utf-8")


def admission_csv(c: Cohort) -> bytes:
    A = c.adm
    cols = [A["admission_id"].astype(str),
            np.char.add("P", A["patient_num"].astype(str)),
            c.ts_strings(A["admitted"]), c.ts_strings(A["discharged"]),
            A["age"].astype(str),
            np.array(SEXES)[A["sex"]], np.array(SOURCES)[A["source"]],
            np.where(A["open"], "", np.where(A["died"], "t", "f"))]
    return _join_csv(cols)


ADMISSION_COLUMNS = ("admission_id, patient_id, admitted_at, discharged_at, age_years, sex, "
                     "admission_source, died_in_hospital")
STAY_COLUMNS = "stay_id, admission_id, unit, unit_kind, isolation, started_at, ended_at"


def stays_csv(c: Cohort) -> bytes:
    S = c.stays
    units = np.array(UNITS)
    kinds = np.array([UNIT_KIND[u] for u in UNITS])
    cols = [S["stay_id"].astype(str), S["admission_id"].astype(str), units[S["unit"]], kinds[S["unit"]],
            np.array(ISOLATIONS)[S["isolation"]], c.ts_strings(S["started"]), c.ts_strings(S["ended"])]
    return _join_csv(cols)


def lab_map_csv(c: Cohort) -> bytes:
    def num(x):
        return "" if x is None else _fmt_num(x)      # empty: NULL in COPY (FORMAT csv)
    return "".join(f"{a},{b},{f},{num(x)},{num(y)},{n}\n" for a, b, f, x, y, n in c.lab_map).encode()


def capacity_csv(c: Cohort) -> bytes:
    return "".join(f"{u},{d.isoformat()},{s},{g}\n" for u, d, s, g in c.capacity).encode()


ORACLE_COLUMNS = "admission_id, p_icu, severity, covid, icu, icu_los_days, died"


def oracle_csv(c: Cohort) -> bytes:
    O = c.oracle
    los = np.where(np.isnan(O["icu_los_days"]), "", np.char.mod("%.6f", np.nan_to_num(O["icu_los_days"])))
    cols = [O["admission_id"].astype(str), np.char.mod("%.9f", O["p_icu"]), np.char.mod("%.9f", O["severity"]),
            np.where(O["covid"], "t", "f"), np.where(O["icu"], "t", "f"), los, np.where(O["died"], "t", "f")]
    return _join_csv(cols)


COURSE_COLUMNS = ("admission_id, ed_days, time_to_icu_days, icu_unit, ward_los_median_days, ward_los_sigma, "
                  "time_to_icu_median_days, time_to_icu_sigma, icu_los_median_days, icu_los_sigma")


def course_csv(c: Cohort) -> bytes:
    """The true course per admission: realised ED stay and time to ICU, the ICU
    unit it goes to (if it does), and the lognormal laws it was drawn from."""
    C = c.course

    def f(x, fmt="%.6f"):
        return np.where(np.isnan(x), "", np.char.mod(fmt, np.nan_to_num(x)))
    cols = [C["admission_id"].astype(str), f(C["ed_days"]), f(C["time_to_icu_days"]),
            np.where(c.oracle["icu"], C["icu_unit"], ""),
            f(C["ward_los_median_days"]), f(C["ward_los_sigma"]),
            f(C["time_to_icu_median_days"]), f(C["time_to_icu_sigma"]),
            f(C["icu_los_median_days"], "%.9f"), f(C["icu_los_sigma"])]
    return _join_csv(cols)


def scenario_json(c: Cohort) -> str:
    import json
    return json.dumps(c.scenario.as_dict())     # key order kept: icu_routing order sets the draws


def _join_csv(cols) -> bytes:
    if len(cols[0]) == 0:
        return b""
    line = cols[0].astype(object)
    for col in cols[1:]:
        line = line + "," + col.astype(object)
    return ("\n".join(line.tolist()) + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# summary statistics (from the generated data, as loaded)
# --------------------------------------------------------------------------
def icu_census(c: Cohort, units=(8, 9, 10)) -> np.ndarray:
    """Patients in an ICU stay of these units at each midnight of the window
    (index i: the midnight that starts window day i, i = 0..WINDOW_DAYS-1)."""
    S = c.stays
    m = np.isin(S["unit"], units)
    start = S["started"][m]
    end = np.where(S["ended"][m] == NULLMIN, np.iinfo(np.int64).max, S["ended"][m])
    t = (np.arange(WINDOW_DAYS) - WINDOW_DAYS) * MIN_PER_DAY
    return ((start[None, :] <= t[:, None]) & (end[None, :] > t[:, None])).sum(axis=1)


def icu_census_peak(c: Cohort) -> int:
    return int(icu_census(c).max()) if c.n else 0


def staffed_beds_on(c: Cohort, day: _dt.date) -> int:
    """Total staffed ICU beds on day (the latest capacity row per unit on or before it)."""
    total = 0
    for unit in ICU_UNITS:
        rows = [r for r in c.capacity if r[0] == unit and r[1] <= day]
        if rows:
            total += max(rows, key=lambda r: r[1])[2]
    return total


def summary(c: Cohort, enc: LabEncoder | None = None) -> dict:
    from .metrics import MetricError, auroc
    A, S = c.adm, c.stays
    covid = A["covid"]
    # observed ICU stays (as loaded)
    icu_stay = np.isin(S["unit"], (8, 9, 10))
    icu_adm = np.zeros(c.n, bool)
    icu_adm[S["adm_idx"][icu_stay]] = True
    done = icu_stay & (S["ended"] != NULLMIN)
    los = (S["ended"][done] - S["started"][done]) / MIN_PER_DAY
    cov_done = covid[S["adm_idx"][done]]
    kinds = np.array([UNIT_KIND[u] for u in UNITS])[S["unit"]]
    mix = {k: float(np.mean(kinds == k)) for k in ("ed", "ward", "icu", "mc")}
    end = np.where(A["open"], 0, A["discharged_true"])
    patient_days = float(np.sum(end - A["admitted"]) / MIN_PER_DAY)
    closed = covid & ~A["open"]           # COVID admissions whose outcome is known
    try:
        oracle_auroc = auroc(A["icu"][closed], c.oracle["p_icu"][closed])
    except MetricError:                   # one outcome only (a tiny cohort): undefined
        oracle_auroc = float("nan")
    out = dict(
        admissions=c.n, covid_admissions=int(covid.sum()), open_admissions=int(A["open"].sum()),
        open_share=float(A["open"].mean()), patients=int(len(np.unique(A["patient_num"]))),
        location_stays=len(S["stay_id"]), deaths=int((A["died"] & ~A["open"]).sum()),
        icu_fraction_covid=float(icu_adm[covid].mean()) if covid.any() else float("nan"),
        icu_fraction_background=float(icu_adm[~covid].mean()) if (~covid).any() else float("nan"),
        icu_los_median_covid_days=float(np.median(los[cov_done])) if cov_done.any() else float("nan"),
        unit_mix=mix, patient_days=patient_days,
        oracle_auroc_covid_closed=oracle_auroc,
        icu_starts=int(icu_stay.sum()),
        icu_census_peak=icu_census_peak(c),
        staffed_icu_beds_at_end=staffed_beds_on(c, c.end_date - _dt.timedelta(days=1)),
    )
    if enc is not None:
        n_lab = enc.n_numeric + enc.n_text
        out.update(lab_results=n_lab, lab_results_text=enc.n_text, lab_results_implausible=enc.n_implausible,
                   lab_results_unmapped_text=enc.n_unmapped_text,
                   labs_per_patient_day=n_lab / patient_days if patient_days else float("nan"),
                   labs_per_admission=n_lab / c.n)
    return out


# --------------------------------------------------------------------------
# one pass over every payload, in the fixed order used for the checksum
# --------------------------------------------------------------------------
class Payloads:
    """Iterates the cohort's COPY payloads once and keeps a sha256 of them.

    Order: admission, location_stay, lab_result (binary blocks, then text
    rows), lab_map, icu_capacity, oracle.  Consumers call the methods in
    this order; the checksum therefore covers exactly the bytes loaded.
    """

    def __init__(self, cohort: Cohort):
        self.c = cohort
        self.h = hashlib.sha256()
        self.ht = hashlib.sha256()
        self._ser = None
        self.enc = LabEncoder(cohort)

    def _h(self, name, data: bytes) -> bytes:
        self.h.update(name.encode() + b"\0" + len(data).to_bytes(8, "big"))
        self.h.update(data)
        return data

    def admission(self):
        return self._h("admission", admission_csv(self.c))

    def location_stay(self):
        return self._h("location_stay", stays_csv(self.c))

    def lab_binary(self):
        """Generator of bytes: header, one piece per block, trailer."""
        yield BIN_HEADER
        for groups in lab_blocks(self.c):
            data = self.enc.encode_block(groups)
            self._h("lab_block", data)
            yield data
        yield BIN_TRAILER

    def lab_text(self):
        return self._h("lab_text", self.enc.text_payload())

    def lab_map(self):
        return self._h("lab_map", lab_map_csv(self.c))

    def capacity(self):
        return self._h("icu_capacity", capacity_csv(self.c))

    def oracle(self):
        return self._h("oracle", oracle_csv(self.c))

    def checksum(self):
        return self.h.hexdigest()

    # -- the scenario's truth (icu_synth.oracle_course, scenario_*): kept out
    # of checksum() so that a cohort's checksum is what it was before scenarios;
    # truth_checksum() covers these payloads, in this order
    def _t(self, name, data: bytes) -> bytes:
        self.ht.update(name.encode() + b"\0" + len(data).to_bytes(8, "big"))
        self.ht.update(data)
        return data

    def course(self):
        return self._t("oracle_course", course_csv(self.c))

    def truth(self, scenario_payloads: dict) -> dict:
        """The truth payloads in order: oracle_course, then the scenario's
        series (intensity.payloads: scenario_admissions, scenario_intensity,
        scenario_icu_start_lag).  Returns {table: bytes}."""
        out = {"oracle_course": self.course()}
        for name, data in scenario_payloads.items():
            out[name] = self._t(name, data)
        return out

    def truth_checksum(self):
        return self.ht.hexdigest()


def checksum_only(cohort: Cohort):
    """Generate every payload without a database; returns (sha256, encoder)."""
    p = Payloads(cohort)
    p.admission()
    p.location_stay()
    for _ in p.lab_binary():
        pass
    p.lab_text()
    p.lab_map()
    p.capacity()
    p.oracle()
    return p.checksum(), p.enc
