#!/usr/bin/python3
"""Add one variant of an earlier backtest report to a later one of the same
replay, so that eval/summarise.py can pair them.

Pairing is only sound when both reports replayed the same cohort with the
same code for the variants they share: the variant named by --check must
have the same records (unit, horizon, origin, truth, expected beds,
quantiles, CRPS; floats to 1e-9 relative) in both, else nothing is written
(exit 1).

    /usr/bin/python3 eval/merge_variant.py --into eval/out/mix2/steady.json \\
        --from eval/out/mix/steady.json --variant mix --check default \\
        --out eval/out/mix2m/steady.json
"""
import argparse
import json
import os
import sys

KEYS = ("unit", "h", "day", "target", "truth", "expected", "p05", "p10", "p50", "p90", "p95", "crps")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--into", required=True, help="the later report")
    ap.add_argument("--from", dest="src", required=True, help="the earlier report")
    ap.add_argument("--variant", required=True, help="the earlier report's variant to add")
    ap.add_argument("--check", required=True, help="a variant both hold, whose records must agree")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with open(args.into) as f:
        into = json.load(f)
    with open(args.src) as f:
        src = json.load(f)
    if args.variant in [v["name"] for v in into["variants"]]:
        raise SystemExit(f"merge_variant: {args.into} already has a variant {args.variant!r}")

    def sig(rep):
        return sorted((tuple(r.get(k) for k in KEYS) for r in rep["records"] if r["variant"] == args.check),
                      key=lambda t: tuple(str(x) for x in t[:4]))

    def same(x, y):
        # floats to 1e-9 relative: a parallel aggregate's row order moves the last bits
        if isinstance(x, float) or isinstance(y, float):
            return x is not None and y is not None and abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))
        return x == y
    a, b = sig(into), sig(src)
    if not a or len(a) != len(b) or not all(same(x, y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)):
        print(f"merge_variant: the {args.check!r} records differ ({len(a)} against {len(b)}); "
              f"not the same replay, nothing written", file=sys.stderr)
        return 1
    into["variants"].append(next(v for v in src["variants"] if v["name"] == args.variant))
    for part in ("records", "table", "actions"):
        into[part] = into[part] + [r for r in src.get(part, []) if r.get("variant") == args.variant]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(into, f)
    print(f"merge_variant: {args.out}: {args.variant!r} added; {len(a)} {args.check!r} records agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
