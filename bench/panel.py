"""Lab panel benchmark: side-by-side timings on a database that holds a cohort.

    python3 bench/panel.py [--dsn DSN] [--runs 3] [--as-of TIMESTAMPTZ]

Times, each the median of --runs runs, in one session with work_mem = 1GB
(so every variant may hash all admissions in memory):
  (a) lab_panel as of a time for every admission (default parallel plan)
  (b) the same statistics in pure SQL (window functions + GROUP BY)
  (c) the floor: count(*) GROUP BY admission_id over the same rows -- the
      same view lab_canonical (lab_result joined to lab_map, unit_key()
      evaluated per row) and the same WHERE, so the join cost is in both
  (d) the daily series for every admission (lab_panel_daily_all)
  (e) (a) with max_parallel_workers_per_gather = 0
and prints the four ratios of the issue: (b)/(a), (a)/(c), (d)/(a), (e)/(a).
The runs are interleaved (run 1 of every variant, then run 2, ...), so a
change in machine load during the benchmark affects every variant alike; the
load average is printed before and after.  The plans of (a) and (c) are
printed (aggregate strategy and workers).
A benchmark, not a test: it measures and reports.
"""
import argparse
import os
import statistics
import time

import psycopg2

A = """SELECT count(s.*) FROM (
  SELECT admission_id, icu_predict.lab_panel(admission_id, feature, value, resulted_at, %(as_of)s) AS p
    FROM icu_predict.lab_canonical WHERE resulted_at <= %(as_of)s
   GROUP BY admission_id) s"""

B = """SELECT count(s.*) FROM (
  SELECT admission_id, feature,
         count(*) FILTER (WHERE ok) AS n,
         count(*) FILTER (WHERE NOT ok) AS rejected,
         max(value) FILTER (WHERE ok AND rn = 1) AS last,
         max(resulted_at) FILTER (WHERE ok AND rn = 1) AS last_at,
         max(value) FILTER (WHERE ok AND rn = 2) AS prev,
         max(first_v) FILTER (WHERE ok) AS first,
         min(value) FILTER (WHERE ok) AS min,
         max(value) FILTER (WHERE ok) AS max,
         avg(value) FILTER (WHERE ok) AS mean,
         regr_slope(value, extract(epoch FROM resulted_at - %(as_of)s) / 86400)
             FILTER (WHERE ok AND resulted_at >= %(as_of)s - interval '72 hours') AS trend
    FROM (SELECT r.*,
                 row_number() OVER w AS rn,
                 last_value(value) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_v
            FROM (SELECT admission_id, feature, value, resulted_at,
                         value BETWEEN plausible_min AND plausible_max AS ok
                    FROM icu_predict.lab_canonical WHERE resulted_at <= %(as_of)s) r
          WINDOW w AS (PARTITION BY admission_id, feature, ok ORDER BY resulted_at DESC, value DESC)) o
   GROUP BY admission_id, feature) s"""

C = """SELECT count(s.*) FROM (
  SELECT admission_id, count(*) FROM icu_predict.lab_canonical WHERE resulted_at <= %(as_of)s
   GROUP BY admission_id) s"""

D = """SELECT count(d.panel) FROM icu_predict.lab_panel_daily_all(%(as_of)s) d"""


def run_once(cur, sql, args, workers):
    cur.execute(f"SET max_parallel_workers_per_gather = {workers}")
    t0 = time.perf_counter()
    cur.execute(sql, args)
    cur.fetchall()
    return time.perf_counter() - t0


def plan_summary(cur, sql, args, workers):
    cur.execute(f"SET max_parallel_workers_per_gather = {workers}")
    cur.execute("EXPLAIN (COSTS OFF) " + sql, args)
    keep = ("Aggregate", "Gather", "Workers", "Join", "Scan on lab_result")
    return [r[0].strip().lstrip("-> ").strip() for r in cur.fetchall()
            if any(k in r[0] for k in keep)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default="", help="libpq connection string (default: PG* environment)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--as-of", default=None, help="as-of time (default: now())")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()

    conn = psycopg2.connect(a.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET work_mem = '1GB'")
    cur.execute("SELECT coalesce(%s::timestamptz, now())", (a.as_of,))
    as_of = cur.fetchone()[0]
    args = {"as_of": as_of}
    cur.execute("SELECT (SELECT count(*) FROM icu_predict.admission), "
                "(SELECT count(*) FROM icu_predict.lab_result), "
                "(SELECT count(*) FROM icu_predict.lab_canonical)")
    n_adm, n_lab, n_can = cur.fetchone()
    print(f"cohort: {n_adm} admissions, {n_lab} lab_result rows, {n_can} canonical rows; "
          f"as_of {as_of}; median of {a.runs} runs; {a.workers} parallel workers")
    cur.execute("SELECT avg(pg_column_size(p)), max(pg_column_size(p)) FROM ("
                "SELECT icu_predict.lab_panel(admission_id, feature, value, resulted_at, %(as_of)s) p "
                "FROM icu_predict.lab_canonical WHERE admission_id IN "
                "(SELECT admission_id FROM icu_predict.admission ORDER BY admission_id LIMIT 1000) "
                "GROUP BY admission_id) s", args)
    avg_sz, max_sz = cur.fetchone()
    print(f"panel size: mean {float(avg_sz or 0):.0f} bytes, max {max_sz} bytes (first 1000 admissions)")

    cur.execute("SHOW jit")
    print(f"jit = {cur.fetchone()[0]}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for key, sql, w in (("a", A, a.workers), ("c", C, a.workers)):
        print(f"plan ({key}): " + " | ".join(plan_summary(cur, sql, args, w)))

    variants = (("c", C, a.workers), ("a", A, a.workers), ("b", B, a.workers),
                ("d", D, a.workers), ("e", A, 0))
    times = {k: [] for k, _, _ in variants}
    for _ in range(a.runs):
        for key, sql, w in variants:
            times[key].append(run_once(cur, sql, args, w))
    res = {k: (statistics.median(ts), ts) for k, ts in times.items()}
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    names = {"a": "(a) lab_panel aggregate, as of", "b": "(b) pure SQL, same statistics",
             "c": "(c) floor: count(*) GROUP BY, same rows", "d": "(d) daily series, all admissions",
             "e": "(e) (a) without parallel workers"}
    for k in "abcde":
        med, ts = res[k]
        print(f"{names[k]:<44} {med:8.3f} s   runs: {', '.join(f'{t:.3f}' for t in ts)}")
    ra = res["a"][0]
    rows = [
        ("SQL / panel (target >= 3)", res["b"][0] / ra, res["b"][0] / ra >= 3),
        ("panel / floor (target <= 1.5)", ra / res["c"][0], ra / res["c"][0] <= 1.5),
        ("daily / as-of panel (target <= 2)", res["d"][0] / ra, res["d"][0] / ra <= 2),
        (f"0 workers / {a.workers} workers (target >= 1.6)", res["e"][0] / ra, res["e"][0] / ra >= 1.6),
    ]
    for label, r, ok in rows:
        print(f"ratio {label:<40} {r:6.2f}  {'meets target' if ok else 'MISSES target'}")


if __name__ == "__main__":
    main()
