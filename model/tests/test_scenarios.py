"""Scenarios of the synthetic cohort (model/scenario.py) and the oracle's
intensity series (model/intensity.py), without a server.

Each test states its tolerance.  Counts are compared with expectations in
units of their Poisson standard deviation: the realised count of a window
is a sum of (nearly) independent Bernoulli draws with a fixed total number
of admissions, so its variance is at most its mean, and 4 SD is a bound
that a correct generator exceeds with probability below 1e-4.
"""
import datetime as dt
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from model import intensity, scenario, synth
from model.errors import ScenarioError

END = dt.date(2024, 3, 1)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
W = scenario.WINDOW_DAYS


def _gen(name, seed=42, n=None, **over):
    sc = scenario.get(name) if not over else scenario.Scenario(dict(scenario.PRESETS[name], name=name, **over))
    return synth.generate(n or sc.admissions or 1000, seed, END, sc)


def _daily_admissions(c, covid=None):
    A = c.adm
    m = np.ones(c.n, bool) if covid is None else (A["covid"] == covid)
    return np.bincount((np.floor(A["admitted"][m] / synth.MIN_PER_DAY).astype(int) + W), minlength=W)


def _icu_starts(c):
    S = c.stays
    m = np.isin(S["unit"], (8, 9, 10))
    return np.bincount(np.floor(S["started"][m] / synth.MIN_PER_DAY).astype(int) + W, minlength=W)


def _smooth(x, k=14):
    return np.convolve(x, np.ones(k) / k, mode="same")


def _peaks(x, min_gap=30, depth=0.6):
    """Local maxima at least min_gap days apart with a trough between each two
    of them below depth x the smaller one."""
    order = np.argsort(-x)
    chosen = []
    for i in order:
        if x[i] <= 0:
            break
        if all(abs(i - j) >= min_gap for j in chosen):
            chosen.append(int(i))
    chosen = sorted(chosen)
    out = [chosen[0]]
    for j in chosen[1:]:
        a = out[-1]
        if x[a:j + 1].min() < depth * min(x[a], x[j]):
            out.append(j)
        elif x[j] > x[a]:
            out[-1] = j
    return out


# --------------------------------------------------------------------------
# determinism and today's cohort
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(scenario.PRESETS))
def test_every_preset_is_deterministic(name):
    sc = scenario.get(name)
    n = min(sc.admissions or 1000, 2500)
    a = synth.generate(n, 11, END, scenario.get(name))
    b = synth.generate(n, 11, END, scenario.get(name))
    c = synth.generate(n, 12, END, scenario.get(name))
    ha, hb, hc = (synth.checksum_only(x)[0] for x in (a, b, c))
    assert ha == hb != hc
    assert intensity.truth_checksum_only(a) == intensity.truth_checksum_only(b)


def test_presets_differ_from_each_other():
    hs = {name: synth.checksum_only(_gen(name, n=1500))[0] for name in scenario.PRESETS}
    assert len(set(hs.values())) == len(hs), hs


# sha256 of today's generator (before scenarios existed) for these inputs.
# Renewed when the labs moved to local unit spellings and lab_map to UCUM
# (no factors): admissions, stays, capacity and the oracle's true risks are
# byte for byte those of before; only the unit text of lab rows and lab_map
# changed.
TODAY = {(1000, 42): "5d7702e8ccddb34a194600e2cb76b972958034f7f0fee3bdfa19b6167cdebed8",
         (300, 7): "27d227219cca2d0f9298638242b7ec1caf116371035d53f84069846fe84f1b00"}


@pytest.mark.parametrize("n,seed", list(TODAY))
def test_default_preset_is_todays_cohort(n, seed):
    assert synth.checksum_only(synth.generate(n, seed, END))[0] == TODAY[(n, seed)]
    assert synth.checksum_only(synth.generate(n, seed, END, scenario.get("large_wave")))[0] == TODAY[(n, seed)]


def test_saved_scenario_json_reproduces_the_cohort(tmp_path):
    c = _gen("small_two_waves", n=2000)
    f = tmp_path / "s.json"
    f.write_text(synth.scenario_json(c))
    again = synth.generate(2000, 42, END, scenario.get("large_wave", str(f)))
    assert synth.checksum_only(again)[0] == synth.checksum_only(c)[0]


# --------------------------------------------------------------------------
# what each preset promises
# --------------------------------------------------------------------------
def test_small_two_waves_has_20_to_40_staffed_beds_and_two_peaks():
    c = _gen("small_two_waves")
    for i in range(W):
        day = END - dt.timedelta(days=W - i)
        assert 20 <= synth.staffed_beds_on(c, day) <= 40, day
    assert {r[0] for r in c.capacity} == {"IC-1", "IC-2"}
    peaks = _peaks(_smooth(_daily_admissions(c, covid=True).astype(float)))
    assert len(peaks) == 2, peaks
    census = synth.icu_census(c, (8,)).astype(float)     # IC-1, the COVID unit
    assert len(_peaks(_smooth(census))) == 2
    # the non-COVID background falls in the first wave (factor 0.6 on days -150..-110)
    bg = _daily_admissions(c, covid=False)
    during, before = bg[W - 145:W - 115].sum(), bg[W - 180:W - 158].sum() * 30 / 22
    assert during < 0.75 * before, (during, before)


def test_steady_has_no_trend():
    c = _gen("steady")
    a = _daily_admissions(c)
    first, last = a[:30].sum(), a[-30:].sum()
    assert abs(first - last) < 4 * np.sqrt(first + last), (first, last)
    # and a constant expected rate: whole weeks have equal expected admissions
    # (the elective weekend shift moves admissions two days earlier, so the
    # first and the last week of the window differ)
    s = intensity.series(c)
    wk = s["admissions"][W % 7 + 7:W - 7].reshape(-1, 7).sum(axis=1)
    assert np.ptp(wk) < 1e-9 * wk.max()
    # the epidemic preset does trend, by the same measure
    w = _daily_admissions(_gen("large_wave", n=6000))
    assert abs(w[:30].sum() - w[-30:].sum()) > 4 * np.sqrt(w[:30].sum() + w[-30:].sum())


def _weekday_means(c):
    a = _daily_admissions(c)
    dow = (np.arange(-W, 0) + END.weekday()) % 7
    return np.array([a[dow == k].mean() for k in range(7)])


def test_weekday_shows_its_pattern():
    sc = scenario.get("weekday")
    c = synth.generate(sc.admissions, 42, END, sc)
    m = _weekday_means(c)
    # Monday x1.35, Saturday x0.6 (and no elective admissions on Saturday)
    assert m[0] / m[5] > 1.8, m
    expected = np.array(sc.weekday) / np.mean(sc.weekday)
    assert np.corrcoef(m / m.mean(), expected)[0, 1] > 0.9
    # without a pattern only the elective weekend shift remains, far weaker
    flat = _weekday_means(_gen("weekday", weekday=None))
    assert flat[0] / flat[5] < 1.6, flat


def test_los_drift_changes_the_median_icu_stay():
    c = _gen("los_drift")
    A, O = c.adm, c.oracle
    t = A["admitted"] / synth.MIN_PER_DAY
    cov_icu = A["covid"] & A["icu"]
    early = np.median(O["icu_los_days"][cov_icu & (t < -130)])
    late = np.median(O["icu_los_days"][cov_icu & (t >= -70)])
    assert 0.45 < late / early < 0.75, (early, late)      # the drift is x 0.6
    flat = _gen("los_drift", icu_los_drift=None)
    A, O = flat.adm, flat.oracle
    t = A["admitted"] / synth.MIN_PER_DAY
    cov_icu = A["covid"] & A["icu"]
    r = np.median(O["icu_los_days"][cov_icu & (t >= -70)]) / np.median(O["icu_los_days"][cov_icu & (t < -130)])
    assert 0.8 < r < 1.25, r
    # the oracle's law carries the drift
    assert np.allclose(c.course["icu_los_median_days"][c.adm["covid"] & (t >= -70)], 13.0 * 0.6)


def test_from_file_follows_the_files_curve():
    sc = scenario.get("from_file")
    c = synth.generate(sc.admissions, 42, END, sc)
    dates, vals = sc.curve()
    assert len(dates) == W and dates[-1] != END - dt.timedelta(days=1)   # aligned, not as dated
    # the file is the curve of COVID-19 admissions (the background comes on top)
    covid = _daily_admissions(c, covid=True)
    assert np.corrcoef(covid, vals)[0, 1] > 0.9
    assert np.corrcoef(covid[W % 7:].reshape(-1, 7).sum(1), vals[W % 7:].reshape(-1, 7).sum(1))[0, 1] > 0.97


def test_curve_file_option_replaces_the_curve(tmp_path):
    f = tmp_path / "c.csv"
    days = [END - dt.timedelta(days=k) for k in range(1, 61)]
    f.write_text("date,admissions\n" + "".join(f"{d},{10 if d >= END - dt.timedelta(days=20) else 0}\n"
                                               for d in days))
    sc = scenario.get("large_wave", curve_file=str(f))
    assert sc.waves == [] and not sc.legacy_sampler()
    c = synth.generate(2000, 1, END, sc)
    covid = _daily_admissions(c, covid=True)
    assert covid[:W - 20].sum() == 0 and covid[W - 20:].min() > 0


# --------------------------------------------------------------------------
# the intensity series
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(scenario.PRESETS))
def test_intensity_sums_to_the_realised_icu_starts(name):
    c = _gen(name, n=None)
    s = intensity.series(c)
    exp = sum(v["covid"] + v["background"] for v in s["starts"].values())
    real = _icu_starts(c)
    assert abs(real.sum() - exp.sum()) < 4 * np.sqrt(exp.sum()), (real.sum(), exp.sum())
    assert abs(s["admissions"].sum() - c.n) < 1e-6 * c.n
    # weekly totals follow the intensity (chi-square-like: mean squared z near 1)
    wk = slice(W % 7, W)
    r = real[wk].reshape(-1, 7).sum(axis=1)
    e = exp[wk].reshape(-1, 7).sum(axis=1)
    z2 = (r - e) ** 2 / np.maximum(e, 1.0)
    assert z2.mean() < 2.5, z2.mean()
    # per unit, the lag table adds up to the unit's series
    for u, v in s["starts"].items():
        lag = (s["routing"]["covid"].get(u, 0) * s["lag"]["covid"]
               + s["routing"]["background"].get(u, 0) * s["lag"]["background"]).sum(axis=1)
        assert np.allclose(lag, v["covid"] + v["background"])


def test_intensity_agrees_with_a_large_cohort():
    """At 200,000 admissions the realised starts per class are within 4 SD of
    the intensity (about 2 % here), and the daily admissions track it."""
    sc = scenario.get("small_two_waves")
    c = synth.generate(200_000, 3, END, sc)
    s = intensity.series(c)
    S = c.stays
    m = np.isin(S["unit"], (8, 9, 10))
    cov = c.adm["covid"][S["adm_idx"][m]]
    for cls, sel in (("covid", cov), ("background", ~cov)):
        e = sum(v[cls].sum() for v in s["starts"].values())
        assert abs(sel.sum() - e) < 4 * np.sqrt(e), (cls, sel.sum(), e)
    assert np.corrcoef(_daily_admissions(c), s["admissions"])[0, 1] > 0.98
    assert abs(c.oracle["p_icu"][c.adm["covid"]].mean() - intensity.mean_p_icu(True, False)) < 0.003


def test_lag_kernel_is_a_distribution_and_later_for_covid():
    for covid in (True, False):
        for g in ("emergency", "elective", "other"):
            k = intensity.lag_kernel(covid, g)
            assert abs(k.sum() - 1) < 1e-6 and (k >= 0).all()
    mean = {cv: (np.arange(intensity.MAX_LAG + 1) * intensity.lag_kernel(cv, "emergency")).sum()
            for cv in (True, False)}
    assert mean[True] > mean[False]


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------
@pytest.mark.parametrize("over,msg", [
    (dict(covid_share=1.5), "covid_share"),
    (dict(weekday=[1, 1, 1]), "weekday"),
    (dict(waves=[dict(peak_day=-10, rise_sd=0, decline_sd=3, weight=1)]), "rise_sd"),
    (dict(icu_routing=dict(covid={"IC-9": 1.0}, background={"IC-2": 1.0})), "icu_routing"),
    (dict(icu_routing=dict(covid={"IC-1": 0.5}, background={"IC-2": 1.0})), "sum to 1"),
    (dict(icu_beds={"IC-1": [[-100, 5, 6]], "IC-2": [[-180, 5, 6]]}), "start at day"),
    (dict(icu_beds={"IC-2": [[-180, 5, 6]]}), "IC-1"),
    (dict(colour="blue"), "unknown scenario parameter"),
])
def test_bad_scenarios_are_refused(over, msg):
    spec = dict(scenario.PRESETS["small_two_waves"], name="x")
    spec.update(over)
    with pytest.raises(ScenarioError, match=msg):
        scenario.Scenario(spec)


def test_bad_curve_files_are_refused(tmp_path):
    for text, msg in [("day,n\n2024-01-01,3\n", "header"), ("date,admissions\n2024-13-01,3\n", "not a date"),
                      ("date,admissions\n2024-01-01,-3\n", ">= 0"), ("date,admissions\n", "no rows"),
                      ("date,admissions\n2024-01-01,1\n2024-01-01,2\n", "twice")]:
        f = tmp_path / "c.csv"
        f.write_text(text)
        with pytest.raises(ScenarioError, match=msg):
            scenario.get("from_file", curve_file=str(f))
    f.write_text("date,admissions\n2019-01-01,5\n")
    sc = scenario.Scenario(dict(scenario.PRESETS["from_file"], name="x", curve_file=str(f), curve_align="dates"))
    with pytest.raises(ScenarioError, match="no admissions inside the window"):
        sc.daily_pdfs(END)


# --------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------
def _cli(*args):
    cmd = [sys.executable, "-m", "model", "cohort", "--seed", "5", "--end-date", END.isoformat(), "--no-load",
           "--json", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)


def test_cli_scenario_size_and_admissions_wins():
    r = _cli("--scenario", "steady")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["admissions"] == scenario.PRESETS["steady"]["admissions"] and out["scenario"] == "steady"
    assert out["sha256"] == synth.checksum_only(synth.generate(out["admissions"], 5, END, scenario.get("steady")))[0]
    out = json.loads(_cli("--scenario", "steady", "--admissions", "500").stdout)
    assert out["admissions"] == 500
    out = json.loads(_cli().stdout)                                  # large_wave: no size of its own
    assert out["admissions"] == 1000 and out["scenario"] == "large_wave"


def test_cli_scenario_file_and_errors(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"covid_share": 0.1, "admissions": 400}))
    out = json.loads(_cli("--scenario", "steady", "--scenario-file", str(f)).stdout)
    assert out["admissions"] == 400 and out["covid_admissions"] < 80
    f.write_text(json.dumps({"covid_share": 2}))
    r = _cli("--scenario-file", str(f))
    assert r.returncode == 2 and r.stderr.startswith("error: scenario") and "covid_share" in r.stderr
    r = _cli("--curve-file", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
