#!/usr/bin/python3
"""The common shift's sizes a backtest learnt (docs/backtest.md, "The common
shift per horizon band").

For each report of eval/backtest.py and each variant with the shift on:
per horizon band (days 1-2, 3-6, 7-14), over the scored origins of the
hospital-wide row, the median and range of icu_shift_sd and ward_shift_sd,
the share of origins without a shift in the band (both sizes 0: its cold
start, or both estimated 0; the medians are over the others) and the range
of shift_forecasts.  The
sizes are the same on every horizon of a band, so the band's first horizon
stands for it.

    /usr/bin/python3 eval/shift_sizes.py eval/out/mix2/*.json
"""
import argparse
import json
import statistics
import sys

BANDS = ((1, 2), (3, 6), (7, 14))


def fmt(values):
    if not values:
        return "–"
    return f"{statistics.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"


def sizes(report):
    """(variant, band, icu summary, ward summary, cold share, forecasts range) rows"""
    rows = []
    for v in report["variants"]:
        name = v["name"]
        recs = [r for r in report["records"]
                if r["variant"] == name and r["scored"] and r["unit"] == "All ICU units"
                and r.get("icu_shift_sd") is not None]
        if not recs:
            continue
        for lo, hi in BANDS:
            band = [r for r in recs if r["h"] == lo]
            if not band:
                continue
            mixed = [r for r in band if r["icu_shift_sd"] > 0 or r["ward_shift_sd"] > 0]
            cold = 1 - len(mixed) / len(band)
            n = [r["shift_forecasts"] for r in band if r["shift_forecasts"] is not None]
            rows.append((name, f"{lo}–{hi}", fmt([r["icu_shift_sd"] for r in mixed]),
                         fmt([r["ward_shift_sd"] for r in mixed]), cold,
                         f"{min(n)}–{max(n)}" if n else "–"))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+", help="JSON reports of eval/backtest.py")
    args = ap.parse_args(argv)
    print("| preset | variant | days | σ ICU | σ ward | origins without a shift | graded forecasts |")
    print("|---|---|---|---|---|---|---|")
    for path in args.reports:
        with open(path) as fh:
            report = json.load(fh)
        for name, band, icu, ward, cold, n in sizes(report):
            print(f"| {report['scenario']['name']} | {name} | {band} | {icu} | {ward} | "
                  f"{100 * cold:.0f} % | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
