"""Command line: /usr/bin/python3 -m model <command> ...

Commands:
  cohort         generate the synthetic cohort and load it (COPY) and/or write CSV files
  train, deploy, default-model   see model/cli_train.py

Each command is a function taking the parsed arguments; add new ones to
COMMANDS (with a function that declares its arguments) or, like
cli_train, through an add_subcommands(sub) hook that sets func.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time


def _cohort_args(p):
    p.add_argument("--admissions", type=int, default=1000, help="number of admissions (default 1000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                   help="YYYY-MM-DD; the data end at 00:00 UTC of this day (default: today, UTC)")
    p.add_argument("--dsn", default=None,
                   help="libpq connection string; default: the PG* environment")
    p.add_argument("--out", metavar="DIR", help="write CSV files (with headers) into DIR")
    p.add_argument("--no-load", action="store_true", help="do not load into a database")
    p.add_argument("--replace", action="store_true",
                   help="truncate admission, location_stay and lab_result (CASCADE) before loading")
    p.add_argument("--bulk", choices=("auto", "on", "off"), default="auto",
                   help="re-create lab_result keys/indexes after COPY (auto: for large cohorts)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _cohort(a):
    import psycopg2

    from . import load, synth
    t0 = time.time()
    c = synth.generate(a.admissions, a.seed, a.end_date)
    res = {}
    if not a.no_load:
        try:
            conn = psycopg2.connect(a.dsn or "")
        except psycopg2.Error as e:
            print(f"error: cannot connect: {str(e).strip()}", file=sys.stderr)
            return 1
        try:
            res = load.load(c, conn, replace=a.replace, bulk=a.bulk,
                            log=lambda m: print(f"  {time.time() - t0:7.1f}s  {m}", file=sys.stderr))
        except (load.CohortLoadError, psycopg2.Error) as e:
            print(f"error: {str(e).strip()}", file=sys.stderr)
            return 1
        finally:
            conn.close()
    if a.out:
        r = load.write_csv(c, a.out)
        if res and r["checksum"] != res["checksum"]:
            print("error: CSV and loaded data differ (checksum)", file=sys.stderr)
            return 1
        res.setdefault("checksum", r["checksum"])
        res.setdefault("encoder", r["encoder"])
    if not res:
        res["checksum"], res["encoder"] = synth.checksum_only(c)
    wall = time.time() - t0
    s = synth.summary(c, res["encoder"])
    s.update(seed=a.seed, end_date=c.end_date.isoformat(), sha256=res["checksum"], wall_time_s=round(wall, 2))
    if "loaded" in res:
        s.update(loaded=res["loaded"], bulk_mode=res["bulk"],
                 timing={k: round(v, 2) for k, v in res["timing"].items()})
    if a.json:
        print(json.dumps(s, indent=1))
    else:
        print(f"synthetic cohort  seed {a.seed}, end {s['end_date']} 00:00 UTC")
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
        print(f"  sha256          {s['sha256']}")
        print(f"  wall time       {s['wall_time_s']:.1f} s")
    return 0


COMMANDS = {
    "cohort": (_cohort_args, _cohort, "generate and load the synthetic cohort"),
}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m model", description="icu_predict model tools")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, (args_fn, fn, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        args_fn(p)
        p.set_defaults(func=fn)
    from . import cli_train            # train, deploy, default-model
    cli_train.add_subcommands(sub)
    a = ap.parse_args(argv)
    return a.func(a) or 0


if __name__ == "__main__":
    sys.exit(main())
