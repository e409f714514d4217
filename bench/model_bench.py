"""Model runtime benchmark (not a test): per-row scoring cost on stored panels.

Run on a throwaway cluster:
    tools/with-cluster.sh /usr/bin/python3 -m bench.model_bench [ROWS] [--alt-lib PATH] [--runs N]
(ROWS default 1,000,000.)  With --alt-lib, PATH is a small library holding
another build of the panel scoring entry points (bench/build_alt_panel.sh makes one from any
commit) and risk() of both builds runs side by side, alternated, in N rounds
(default 3) in one session; the installed extension files are not touched.

Builds ROWS lab panels (10 features each, from the panel's text input form)
in a table, stores a 20-input logistic model (10 features x last/max) and a
200-tree depth-6 xgboost model on the same inputs, then times, serially
(no parallel workers), the best of 3 runs of
    baseline:  SELECT sum(age) FROM bench_panel WHERE p IS NOT NULL
    scoring :  SELECT sum(icu_predict.risk(p, age, 'male', 10, 'ward', model, '1')) FROM bench_panel
and reports (scoring - baseline) / ROWS, plus the cache counters showing
that each model was parsed once in the backend.  With --alt-lib it reports
the median over the rounds for both builds, of the wall time and of the
backend's CPU time (from /proc/PID/stat, 10 ms ticks), the latter being
robust against other work on a shared machine.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import psycopg2
import xgboost as xgb

from model import spec as S

_ap = argparse.ArgumentParser()
_ap.add_argument("rows", nargs="?", type=int, default=1_000_000)
_ap.add_argument("--alt-lib", default=None)
_ap.add_argument("--runs", type=int, default=3)
ARGS = _ap.parse_args()
ROWS = ARGS.rows
FEATS = ["crp", "ldh", "d_dimer", "ferritin", "lymphocytes", "neutrophils",
         "platelets", "creatinine", "urea", "albumin"]


def backend_cpu(cur):
    """CPU seconds (user + system) the connection's backend has used so far,
    from /proc: unlike wall time it does not count waiting for a busy CPU."""
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_cpu(cur, sql, runs=1):
    """Best of runs: (wall seconds, backend CPU seconds)."""
    best = (float("inf"), float("inf"))
    for _ in range(runs):
        c0 = backend_cpu(cur)
        t = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        w = time.perf_counter() - t
        best = min(best, (w, backend_cpu(cur) - c0), key=lambda x: x[1])
    return best


def timed(cur, sql, runs=3):
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        cur.execute(sql)
        cur.fetchall()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DROP DATABASE IF EXISTS icu_bench")
    cur.execute("CREATE DATABASE icu_bench")
    conn.close()
    conn = psycopg2.connect(dbname="icu_bench")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION icu_predict CASCADE")
    cur.execute("SET max_parallel_workers_per_gather = 0")

    # panels: all 10 features present, stats vary per row
    arr = "ARRAY[" + ", ".join(f"'{f}'" for f in sorted(FEATS)) + "]"
    t = time.perf_counter()
    cur.execute(f"""
        CREATE TABLE bench_panel AS
        SELECT g AS id, (20 + g % 70)::float8 AS age,
               format('{{"admission_id": %s, "as_of": "2020-04-02T08:00:00+00:00", "trend_window_hours": 72, "features": {{%s}}}}',
                      g, (SELECT string_agg(format('"%s": {{"count": 2, "rejected": 0, "last": %s, "last_at": "2020-04-01T08:00:00+00:00", "prev": 5, "first": 5, "min": 1, "max": %s, "mean": 9, "trend": 1.5}}',
                                                   f, 10 + (g * (k + 7)) % 97, 110 + (g * (k + 3)) % 89), ', ' ORDER BY k)
                            FROM unnest({arr}) WITH ORDINALITY u(f, k)))::icu_predict.lab_panel AS p
          FROM generate_series(1, {ROWS}) g""")
    cur.execute("VACUUM ANALYZE bench_panel")
    cur.execute("SELECT pg_size_pretty(pg_total_relation_size('bench_panel')), avg(pg_column_size(p))::int FROM bench_panel")
    size, psize = cur.fetchone()
    print(f"built {ROWS} panels in {time.perf_counter() - t:.1f} s; table {size}, {psize} bytes per panel")

    inputs_lin = []
    for f in FEATS:
        inputs_lin.append(S.panel_input(f, "last", impute=20.0, clip=[0.1, 1e4], transform="log"))
        inputs_lin.append(S.panel_input(f, "max", impute=40.0))
    rng = np.random.default_rng(7)
    X = rng.lognormal(3, 0.5, size=(5000, 20))
    y = (rng.random(5000) < 1 / (1 + np.exp(-(np.log(X[:, 0]) - 3)))).astype(int)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    pipe = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression(max_iter=1000))])
    pipe.fit(S.preprocess(inputs_lin, X), y)
    S.insert_model(conn, "bench_lr", "1", "icu_admission", S.linear_spec(inputs_lin, pipe),
                   training={"horizon_hours": 48})
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 1,
                     "min_child_weight": 0, "lambda": 0.1}, xgb.DMatrix(X, label=y), num_boost_round=200)
    xs = S.xgboost_spec(bst, [{"feature": i["feature"], "stat": i["stat"]} for i in inputs_lin])
    trees = xs["model"]["learner"]["gradient_booster"]["model"]["trees"]
    nodes = sum(int(t["tree_param"]["num_nodes"]) for t in trees)
    S.insert_model(conn, "bench_xgb", "1", "icu_admission", xs, training={"horizon_hours": 48})
    print(f"models: bench_lr (20 inputs), bench_xgb ({len(trees)} trees, {nodes} nodes, "
          f"spec {len(json.dumps(xs)) // 1024} KiB)")

    cur.execute("SELECT * FROM icu_predict.model_cache_stats()")
    print("cache before:", dict(zip(["parses", "lookups", "hits", "cached"], cur.fetchone())))
    base = timed(cur, "SELECT sum(age) FROM bench_panel WHERE p IS NOT NULL")
    print(f"baseline scan: {base:.3f} s")
    for model in ("bench_lr", "bench_xgb"):
        s = timed(cur, f"SELECT sum(icu_predict.risk(p, age, 'male', 10, 'ward', '{model}', '1')) FROM bench_panel")
        print(f"{model}: {s:.3f} s total, {(s - base) / ROWS * 1e6:.3f} us per row (scoring minus scan)")
    cur.execute("SELECT * FROM icu_predict.model_cache_stats()")
    print("cache after:", dict(zip(["parses", "lookups", "hits", "cached"], cur.fetchone())),
          "-- 6 scoring queries over", ROWS, "rows each")
    conn.close()
    if ARGS.alt_lib:
        side_by_side(ARGS.alt_lib, ARGS.runs)
    conn = psycopg2.connect(dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute("DROP DATABASE icu_bench")


def side_by_side(alt_lib, runs):
    """Median per-row cost of risk() and of alt_lib's risk(), alternated in one session.

    alt_lib is a small shared library with PG_MODULE_MAGIC and ANOTHER build of
    score_panel.c (e.g. of an older commit); its icu_model_risk is bound as
    bench_risk_alt() in the bench database.  Its calls into the rest of the
    runtime resolve to the installed icu_predict.so, which is loaded first
    (PostgreSQL loads modules RTLD_GLOBAL).  The installed files are never
    touched.
    """
    c = psycopg2.connect(dbname="icu_bench")
    c.autocommit = True
    cur = c.cursor()
    cur.execute("SET max_parallel_workers_per_gather = 0")
    cur.execute("SELECT * FROM icu_predict.model_cache_stats()")     # loads icu_predict.so first
    cur.execute(f"""CREATE FUNCTION bench_risk_alt(icu_predict.lab_panel, float8, text, float8, text, text, text)
                    RETURNS float8 AS '{os.path.abspath(alt_lib)}', 'icu_model_risk' LANGUAGE C STABLE""")
    fns = {"installed": "icu_predict.risk", "alt": "bench_risk_alt"}
    models = ("bench_lr", "bench_xgb")
    wall = {(k, m): [] for k in fns for m in models}
    cpu = {(k, m): [] for k in fns for m in models}
    for r in range(runs):
        bw, bc = timed_cpu(cur, "SELECT sum(age) FROM bench_panel WHERE p IS NOT NULL", runs=2)
        for model in models:
            order = list(fns.items()) if r % 2 == 0 else list(fns.items())[::-1]
            for k, fn in order:
                w, u = timed_cpu(cur, f"SELECT sum({fn}(p, age, 'male', 10, 'ward', '{model}', '1')) "
                                      "FROM bench_panel")
                wall[(k, model)].append((w - bw) / ROWS * 1e6)
                cpu[(k, model)].append((u - bc) / ROWS * 1e6)
        print(f"round {r + 1} (baseline wall {bw:.3f} s, cpu {bc:.2f} s): " + ", ".join(
            f"{m} {k} wall {wall[(k, m)][-1]:.3f} / cpu {cpu[(k, m)][-1]:.3f} us"
            for m in models for k in fns), flush=True)
    c.close()
    med = statistics.median
    for model in models:
        print(f"{model}: median per row over {runs} rounds: "
              f"installed wall {med(wall[('installed', model)]):.3f} us, cpu {med(cpu[('installed', model)]):.3f} us; "
              f"alt wall {med(wall[('alt', model)]):.3f} us, cpu {med(cpu[('alt', model)]):.3f} us")


if __name__ == "__main__":
    main()
