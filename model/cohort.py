"""``python3 -m model cohort``: generate the synthetic cohort (model/synth.py),
load it with COPY (model/load.py) and/or write it as CSV files, and print its
summary (docs/synthetic-cohort.md)."""
from __future__ import annotations

import json
import sys
import time

from . import options
from .errors import UserError

HELP = "generate the synthetic cohort and load it (COPY) and/or write CSV files"


def add_arguments(p):
    options.cohort(p, admissions=1000, seed=42, scenarios=True)
    options.connection(p)
    p.add_argument("--out", metavar="DIR", help="write CSV files (with headers) into DIR")
    p.add_argument("--no-load", action="store_true", help="do not load into a database")
    p.add_argument("--replace", action="store_true",
                   help="truncate admission, location_stay and lab_result (CASCADE) before loading")
    p.add_argument("--bulk", choices=("auto", "on", "off"), default="auto",
                   help="re-create lab_result keys/indexes after COPY (auto: for large cohorts)")
    options.json_summary(p)


def command(a):
    from . import intensity, load, synth
    t0 = time.time()
    sc, n = options.scenario_and_size(a)
    c = synth.generate(n, a.seed, a.end_date, sc)
    res = {}
    if not a.no_load:
        conn = options.connect(a)
        try:
            res = load.load(c, conn, replace=a.replace, bulk=a.bulk,
                            log=lambda m: print(f"  {time.time() - t0:7.1f}s  {m}", file=sys.stderr))
        finally:
            conn.close()
    if a.out:
        r = load.write_csv(c, a.out)
        if res and r["checksum"] != res["checksum"]:
            raise UserError("CSV and loaded data differ (checksum)")
        res.setdefault("checksum", r["checksum"])
        res.setdefault("encoder", r["encoder"])
        res.setdefault("truth_checksum", r["truth_checksum"])
    if not res:
        res["checksum"], res["encoder"] = synth.checksum_only(c)
        res["truth_checksum"] = intensity.truth_checksum_only(c)
    wall = time.time() - t0
    s = synth.summary(c, res["encoder"])
    s["expected_icu_starts"] = intensity.expected_icu_starts(c)
    s.update(seed=a.seed, end_date=c.end_date.isoformat(), scenario=sc.name, sha256=res["checksum"],
             truth_sha256=res["truth_checksum"], wall_time_s=round(wall, 2))
    if "loaded" in res:
        s.update(loaded=res["loaded"], bulk_mode=res["bulk"],
                 timing={k: round(v, 2) for k, v in res["timing"].items()})
    if a.json:
        print(json.dumps(s, indent=1))
    else:
        print(f"synthetic cohort  scenario {sc.name}, seed {a.seed}, end {s['end_date']} 00:00 UTC")
        print(f"  admissions      {s['admissions']:>10,}  (COVID {s['covid_admissions']:,}, open {s['open_admissions']:,}"
              f" = {100 * s['open_share']:.1f}%, patients {s['patients']:,}, deaths {s['deaths']:,})")
        print(f"  location stays  {s['location_stays']:>10,}  (ed {s['unit_mix']['ed']:.0%}, ward {s['unit_mix']['ward']:.0%},"
              f" icu {s['unit_mix']['icu']:.0%}, mc {s['unit_mix']['mc']:.0%})")
        print(f"  lab results     {s['lab_results']:>10,}  ({s['labs_per_patient_day']:.1f} per patient-day;"
              f" text {s['lab_results_text']:,}, implausible {s['lab_results_implausible']:,})")
        print(f"  ICU fraction    {s['icu_fraction_covid']:.3f} of COVID admissions"
              f" ({s['icu_fraction_background']:.3f} of others); oracle AUROC {s['oracle_auroc_covid_closed']:.3f}")
        print(f"  ICU LOS median  {s['icu_los_median_covid_days']:.1f} days (COVID, completed ICU stays)")
        if "loaded" in s:
            print(f"  loaded          {s['loaded']}  bulk mode: {s['bulk_mode']}  {s['timing']}")
        print(f"  ICU starts      {s['icu_starts']:>10,}  (expected {s['expected_icu_starts']:,.1f} from the"
              f" scenario's intensity; ICU beds staffed now {s['staffed_icu_beds_at_end']})")
        print(f"  sha256          {s['sha256']}")
        print(f"  truth sha256    {s['truth_sha256']}  (oracle_course, scenario_*)")
        print(f"  wall time       {s['wall_time_s']:.1f} s")
    return 0
