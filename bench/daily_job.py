"""Daily-job benchmark: icu_predict (C) against pure SQL and PL/Python + scikit-learn.

    make bench                      # all scales (10k, 100k, 300k admissions)
    make bench BENCH_ARGS=--quick   # 10k only
    pg_virtualenv -v 15 /usr/bin/python3 -m bench.daily_job [--quick] [--scales 10000,100000]
                  [--runs 3] [--workers 2] [--scope current|all] [--out bench/out]

A benchmark, not a test: it measures and reports (docs/benchmark.md).

For each scale it loads the synthetic cohort (python3 -m model cohort --seed 42
--end-date 2020-06-01) into database icu_bench of the server in the PG*
environment, and times, as of the reference time T = 2020-06-01 00:00 UTC
(the end of the data), the daily job

  1. features as of T for every admission in hospital at T (--scope current;
     --scope all: every admission admitted by T);
  2. ICU-admission risk by the logistic model bench_risk/1;
  3. ICU length of stay (log-logistic linear model bench_stay/1);
  4. the 14-day ICU bed-demand forecast of the patients in hospital at T
     (ward patients: risk spread over 7 days by a constant hazard, then their
     stay survival; ICU patients: remaining-stay probability S(s+d)/S(s));

three ways:
  c       icu_predict: lab_panel aggregate, risk(), length_of_stay(),
          stay_survival(), bed_demand aggregate (exact Poisson-binomial);
  sql     pure SQL: features by GROUP BY + window function, the logistic model
          and the stay distribution as SQL expressions, and (PostgreSQL has no
          Poisson-binomial) the normal approximation of the bed count;
  plpy    PL/Python: features by the SQL of `sql`, scikit-learn predict_proba /
          predict in batches, exact Poisson-binomial by NumPy/SciPy convolution;
plus the floor (count(*) GROUP BY admission over the same lab rows) and `c`
with 0 parallel workers.  Every way writes its per-admission results into a
table, then computes the forecast from it.  The risks of the three ways must
agree to 1e-6 (else that cell is marked void).  Median / min / max of --runs
runs after one warm-up run per cell (warm cache).

The models are fitted (scikit-learn) once per invocation on the first scale's
data: features as of T, label = the simulated ICU outcome (icu_synth.oracle).
They are benchmark models, not clinical ones.
"""
import argparse
import datetime as dt
import json
import math
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import psycopg2

from model import spec as S

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AS_OF = "2020-06-01 00:00:00+00"
END_DATE = "2020-06-01"
DB = "icu_bench"
RISK_HORIZON_DAYS = 7.0
TREND_HOURS = 72

# Model inputs: (feature, stat, prep).  The pure-SQL feature query computes
# exactly these statistics; the C runtime reads them from the lab panel.
PANEL_INPUTS = [
    ("crp", "last", dict(impute=10.0, clip=[0.1, 1000.0], transform="log", missing_indicator=True)),
    ("crp", "max", dict(impute=10.0, clip=[0.1, 1000.0], transform="log")),
    ("crp", "trend", dict(impute=0.0, clip=[-300.0, 300.0])),
    ("ldh", "last", dict(impute=250.0, clip=[10.0, 20000.0], transform="log", missing_indicator=True)),
    ("d_dimer", "last", dict(impute=0.5, clip=[0.01, 200.0], transform="log", missing_indicator=True)),
    ("lymphocytes", "last", dict(impute=1.2, clip=[0.01, 200.0], transform="log")),
    ("creatinine", "last", dict(impute=1.0, clip=[0.05, 40.0], transform="log")),
    ("urea", "last", dict(impute=6.0, clip=[0.1, 150.0], transform="log")),
    ("albumin", "last", dict(impute=35.0, clip=[5.0, 70.0])),
    ("lactate", "max", dict(impute=1.2, clip=[0.1, 40.0], transform="log")),
    ("pao2", "count", dict(impute=0.0, clip=[0.0, 1000.0], transform="log1p")),
]
COV_INPUTS = [
    ("age_years", dict(impute=65.0)),
    ("sex_male", dict(impute=0.5)),
    ("hours_since_admission", dict(impute=24.0, clip=[0.0, 1e5], transform="log1p")),
]


def inputs():
    out = []
    for f, st, prep in PANEL_INPUTS:
        out.append(dict(S.panel_input(f, st, **prep), column=f"{f}_{st}"))
    for c, prep in COV_INPUTS:
        out.append(dict(S.covariate_input(c, **prep), column=c))
    return out


def columns():
    return [i["column"] for i in inputs()]


# ---------------------------------------------------------------------------
# SQL text.  :T is the as-of time (a literal, or $1 inside PL/Python).
# ---------------------------------------------------------------------------
def scope_where(scope, a="a"):
    if scope == "current":
        return f"{a}.admitted_at <= :T AND ({a}.discharged_at IS NULL OR {a}.discharged_at > :T)"
    return f"{a}.admitted_at <= :T"


def cur_sql(scope):
    """The admissions of the job with their covariates and location at T."""
    return f"""SELECT a.admission_id,
              a.admitted_at <= :T AND (a.discharged_at IS NULL OR a.discharged_at > :T) AS is_current,
              a.age_years::float8 AS age_years, a.sex,
              CASE a.sex WHEN 'male' THEN 1.0 WHEN 'female' THEN 0.0 WHEN 'other' THEN 0.0 END::float8 AS sex_male,
              pg_catalog.date_part('epoch', :T - a.admitted_at) / 3600.0 AS hours_since_admission,
              ls.unit_kind,
              coalesce(ls.unit_kind = 'icu', false) AS in_icu,
              CASE WHEN ls.unit_kind = 'icu'
                   THEN pg_catalog.date_part('epoch', :T - ls.started_at) / 86400.0 END AS spent_days
         FROM icu_predict.admission a
         LEFT JOIN LATERAL (
              SELECT s.unit_kind, s.started_at FROM icu_predict.location_stay s
               WHERE s.admission_id = a.admission_id AND s.started_at <= :T
                 AND (s.ended_at IS NULL OR s.ended_at > :T)
               ORDER BY s.started_at DESC LIMIT 1) ls ON true
        WHERE {scope_where(scope)}"""


def lab_filter(scope):
    return (f"l.resulted_at <= :T AND l.admission_id IN "
            f"(SELECT a.admission_id FROM icu_predict.admission a WHERE {scope_where(scope)})")


def floor_sql(scope):
    return f"""SELECT l.admission_id, pg_catalog.count(*) AS n
  FROM icu_predict.lab_canonical l
 WHERE {lab_filter(scope)}
 GROUP BY l.admission_id"""


def features_sql(scope):
    """Pure SQL features: one window function for 'last', FILTERed aggregates."""
    feats = sorted({f for f, _, _ in PANEL_INPUTS})
    aggs = []
    for f, st, _ in PANEL_INPUTS:
        col = f"{f}_{st}"
        if st == "last":
            aggs.append(f"pg_catalog.max(value) FILTER (WHERE feature = '{f}' AND rn = 1) AS {col}")
        elif st == "max":
            aggs.append(f"pg_catalog.max(value) FILTER (WHERE feature = '{f}') AS {col}")
        elif st == "min":
            aggs.append(f"pg_catalog.min(value) FILTER (WHERE feature = '{f}') AS {col}")
        elif st == "count":
            aggs.append(f"pg_catalog.count(*) FILTER (WHERE feature = '{f}')::float8 AS {col}")
        elif st == "trend":
            aggs.append(f"pg_catalog.regr_slope(value, x_days) FILTER (WHERE feature = '{f}' "
                        f"AND resulted_at >= :T - interval '{TREND_HOURS} hours') AS {col}")
        else:
            raise ValueError(st)
    agg_txt = ",\n         ".join(aggs)
    feat_list = ", ".join(f"'{f}'" for f in feats)
    counts = {f"{f}_{st}" for f, st, _ in PANEL_INPUTS if st == "count"}
    sel = ", ".join(f"coalesce(f.{c}, 0) AS {c}" if c in counts else f"f.{c}"
                    for c in (f"{f}_{st}" for f, st, _ in PANEL_INPUTS))
    return f"""WITH lab AS (
  SELECT l.admission_id, l.feature, l.value, l.resulted_at,
         pg_catalog.date_part('epoch', l.resulted_at - :T) / 86400.0 AS x_days,
         pg_catalog.row_number() OVER (PARTITION BY l.admission_id, l.feature
                                       ORDER BY l.resulted_at DESC, l.value DESC) AS rn
    FROM icu_predict.lab_canonical l
   WHERE {lab_filter(scope)}
     AND l.feature IN ({feat_list})
     AND l.value BETWEEN l.plausible_min AND l.plausible_max      -- implausible: rejected
), feat AS (
  SELECT admission_id,
         {agg_txt}
    FROM lab
   GROUP BY admission_id
)
SELECT c.admission_id, c.is_current, c.in_icu, c.spent_days,
       c.age_years, c.sex_male, c.hours_since_admission,
       {sel}
  FROM ({cur_sql(scope)}) c
  LEFT JOIN feat f ON f.admission_id = c.admission_id"""


def _num(x):
    return repr(float(x))


def linear_sql(spec):
    """A linear spec as one SQL expression over the feature columns (model-spec.md steps)."""
    terms = [_num(spec["intercept"])]
    for inp in spec["inputs"]:
        col = inp["column"]
        v = f"coalesce({col}, {_num(inp['impute'])})"
        if inp.get("clip"):
            v = f"least(greatest({v}, {_num(inp['clip'][0])}), {_num(inp['clip'][1])})"
        if inp.get("transform") == "log":
            v = f"ln({v})"
        elif inp.get("transform") == "log1p":
            v = f"ln(1.0 + {v})"
        t = f"{_num(inp['coef'])} * (({v} - {_num(inp.get('mean', 0.0))}) / {_num(inp.get('scale', 1.0))})"
        if inp.get("missing_coef"):
            t += f" + {_num(inp['missing_coef'])} * ({col} IS NULL)::int"
        terms.append(t)
    return "\n       + ".join(terms)


def sql_scores_sql(scope, risk_spec, stay_spec):
    sigma = stay_spec["stay"]["sigma"]
    mean_factor = math.pi * sigma / math.sin(math.pi * sigma)
    q10, q90 = sigma * math.log(0.1 / 0.9), sigma * math.log(0.9 / 0.1)
    surv = ("1.0 / (1.0 + exp((ln(x) - mu) / " + _num(sigma) + "))")
    return f"""WITH feat AS (
{features_sql(scope)}
), lin AS (
  SELECT feat.*,
       {linear_sql(risk_spec)} AS eta,
       {linear_sql(stay_spec)} AS mu
    FROM feat
)
SELECT admission_id, is_current, in_icu, spent_days,
       1.0 / (1.0 + exp(-eta)) AS risk,
       mu,
       exp(mu) * {_num(mean_factor)} AS expected_days,
       exp(mu + {_num(q10)}) AS p10_days,
       exp(mu + {_num(q90)}) AS p90_days,
       CASE WHEN NOT is_current THEN NULL
            WHEN in_icu THEN ARRAY(SELECT CASE WHEN x <= 0 THEN 1.0 ELSE {surv} END
                                     FROM (SELECT spent_days + g AS x FROM pg_catalog.generate_series(0, 14) g) s)
            ELSE ARRAY(SELECT {surv}
                         FROM (SELECT g + 0.5 AS x FROM pg_catalog.generate_series(0, 13) g) s) END AS s
  FROM lin"""


def c_scores_sql(scope):
    cov = "c.age_years, c.sex, c.hours_since_admission, c.unit_kind"
    return f"""WITH panel AS (
  SELECT l.admission_id,
         icu_predict.lab_panel(l.admission_id, l.feature, l.value, l.resulted_at, :T) AS p
    FROM icu_predict.lab_canonical l
   WHERE {lab_filter(scope)}
   GROUP BY l.admission_id
), scored AS MATERIALIZED (
  SELECT c.admission_id, c.is_current, c.in_icu, c.spent_days,
         icu_predict.risk(p.p, {cov}, 'bench_risk', '1') AS risk,
         icu_predict.length_of_stay(p.p, {cov}, 'bench_stay', '1') AS los,
         CASE WHEN NOT c.is_current THEN NULL
              WHEN c.in_icu THEN ARRAY(SELECT icu_predict.stay_survival(p.p, c.spent_days + g, {cov}, 'bench_stay', '1')
                                         FROM pg_catalog.generate_series(0, 14) g ORDER BY g)
              ELSE ARRAY(SELECT icu_predict.stay_survival(p.p, g + 0.5, {cov}, 'bench_stay', '1')
                           FROM pg_catalog.generate_series(0, 13) g ORDER BY g) END AS s
    FROM ({cur_sql(scope)}) c
    LEFT JOIN panel p ON p.admission_id = c.admission_id
)
SELECT admission_id, is_current, in_icu, spent_days, risk,
       ln((los).location_days) AS mu, (los).expected_days, (los).p10_days, (los).p90_days, s
  FROM scored"""


# Per patient and horizon day d = 1..14: probability of lying in the ICU at T + d days.
P_DAY_SQL = f"""SELECT h.d,
         CASE WHEN o.in_icu THEN CASE WHEN o.s[1] > 0 THEN least(1.0, o.s[h.d + 1] / o.s[1]) ELSE 0.0 END
              ELSE (SELECT coalesce(pg_catalog.sum(((1.0 - o.risk) ^ (k / {RISK_HORIZON_DAYS})
                                                    - (1.0 - o.risk) ^ ((k + 1) / {RISK_HORIZON_DAYS}))
                                                   * o.s[h.d - k]), 0)
                      FROM pg_catalog.generate_series(0, h.d - 1) k) END AS p
    FROM OUT_TABLE o, pg_catalog.generate_series(1, 14) h(d)
   WHERE o.is_current"""

C_FORECAST_SQL = f"""WITH x AS MATERIALIZED (
  {P_DAY_SQL.replace('OUT_TABLE', 'icu_bench.out_c')}
)
SELECT d AS horizon_day, icu_predict.bed_demand_mean(bd) AS expected_beds,
       icu_predict.bed_demand_quantile(bd, 0.5) AS p50_beds, icu_predict.bed_demand_quantile(bd, 0.9) AS p90_beds,
       icu_predict.bed_demand_quantile(bd, 0.95) AS p95_beds
  FROM (SELECT d, icu_predict.bed_demand(p) AS bd
          FROM x GROUP BY d) y
 ORDER BY d"""

# Normal approximation with continuity correction: the k with
# Phi((k + 1/2 - mean) / sd) >= q, i.e. ceil(mean + z_q sd - 1/2).
SQL_FORECAST_SQL = f"""WITH x AS MATERIALIZED (
  {P_DAY_SQL.replace('OUT_TABLE', 'icu_bench.out_sql')}
)
SELECT d AS horizon_day, m AS expected_beds,
       greatest(0, ceil(m - 0.5))::int AS p50_beds,
       greatest(0, ceil(m + 1.2815515655446004 * sqrt(v) - 0.5))::int AS p90_beds,
       greatest(0, ceil(m + 1.6448536269514722 * sqrt(v) - 0.5))::int AS p95_beds
  FROM (SELECT d, pg_catalog.sum(p) AS m, pg_catalog.sum(p * (1.0 - p)) AS v
          FROM x GROUP BY d) y
 ORDER BY d"""

PLPY_FORECAST_SQL = f"SELECT * FROM icu_bench.plpy_forecast({RISK_HORIZON_DAYS}) ORDER BY horizon_day"


def lit(sql):
    return sql.replace(":T", f"'{AS_OF}'::timestamptz")


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------
def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def connect(dbname):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    return conn


def setup_db():
    c = connect("postgres")
    cur = c.cursor()
    cur.execute("DROP DATABASE IF EXISTS " + DB)
    cur.execute("CREATE DATABASE " + DB)
    c.close()
    conn = connect(DB)
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION icu_predict CASCADE")
    cur.execute("CREATE EXTENSION plpython3u")
    with open(os.path.join(ROOT, "bench", "sql", "plpython.sql")) as f:
        cur.execute(f.read())
    return conn


def load_cohort(n):
    env = dict(os.environ, PGDATABASE=DB)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "model", "cohort", "--admissions", str(n), "--seed", "42",
                    "--end-date", END_DATE, "--replace", "--json"],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    conn = connect(DB)
    conn.cursor().execute("VACUUM ANALYZE")
    conn.close()
    return time.perf_counter() - t


def fit_models(conn, scope):
    """Fit the logistic risk and log-logistic stay models on this database's cohort."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    cur = conn.cursor()
    cols = columns()
    cur.execute(f"SELECT f.*, o.icu, o.icu_los_days FROM ({lit(features_sql('all'))}) f "
                f"JOIN icu_synth.oracle o USING (admission_id) ORDER BY f.admission_id")
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    raw = np.array([[np.nan if r[names.index(c)] is None else r[names.index(c)] for c in cols] for r in rows],
                   dtype=float)
    y = np.array([bool(r[names.index("icu")]) for r in rows])
    los = np.array([np.nan if r[names.index("icu_los_days")] is None else r[names.index("icu_los_days")]
                    for r in rows], dtype=float)
    inp = inputs()
    risk = Pipeline([("s", StandardScaler()), ("lr", LogisticRegression(max_iter=2000, C=1.0))])
    risk.fit(S.preprocess(inp, raw), y)
    risk_spec = S.linear_spec(inp, risk)
    sel = y & np.isfinite(los) & (los > 0)
    stay_inp = [dict(i, missing_indicator=False) for i in inp]
    stay = Pipeline([("s", StandardScaler()), ("lr", LinearRegression())])
    xs = S.preprocess(stay_inp, raw[sel])
    ly = np.log(los[sel])
    stay.fit(xs, ly)
    resid_sd = float(np.std(ly - stay.predict(xs)))
    sigma = min(0.9, resid_sd * math.sqrt(3) / math.pi)     # logistic scale with that sd
    stay_spec = S.linear_spec(stay_inp, stay, kind="icu_stay", stay={"distribution": "logistic", "sigma": sigma})
    # the column each input reads (for the SQL expression), kept apart from the registry spec
    for spec in (risk_spec, stay_spec):
        for i, s in zip(inp, spec["inputs"]):
            s["column"] = i["column"]
    info = {"rows": len(rows), "icu_events": int(y.sum()), "stay_rows": int(sel.sum()),
            "stay_sigma": sigma}
    return dict(risk=risk, stay=stay, risk_spec=risk_spec, stay_spec=stay_spec, inputs=inp,
                stay_inputs=stay_inp, sigma=sigma, info=info)


def register_models(conn, m, scope):
    cur = conn.cursor()
    cur.execute("DELETE FROM icu_predict.model WHERE name IN ('bench_risk', 'bench_stay')")
    strip = lambda spec: dict(spec, inputs=[{k: v for k, v in i.items() if k != "column"}  # noqa: E731
                                            for i in spec["inputs"]])
    training = {"note": "benchmark model (bench/daily_job.py), not a clinical one",
                "horizon_hours": int(RISK_HORIZON_DAYS * 24)}
    S.insert_model(conn, "bench_risk", "1", "icu_admission", strip(m["risk_spec"]), training=training)
    S.insert_model(conn, "bench_stay", "1", "icu_stay", strip(m["stay_spec"]), training=training)
    cur.execute("DELETE FROM icu_bench.sk_model")
    cur.execute("INSERT INTO icu_bench.sk_model VALUES ('bench', '1', %s, %s, %s, %s, %s, %s, %s)",
                (psycopg2.Binary(pickle.dumps(m["risk"])), psycopg2.Binary(pickle.dumps(m["stay"])),
                 json.dumps(m["inputs"]), json.dumps(m["stay_inputs"]), m["sigma"],
                 json.dumps(["admission_id"] + columns()), features_sql(scope).replace(":T", "$1")))


def ways(scope, m):
    """name -> list of (step, sql) run in order; the job's time is their sum."""
    return {
        "floor": [("scores", "CREATE UNLOGGED TABLE icu_bench.out_floor AS " + lit(floor_sql(scope)))],
        "c": [("scores", "CREATE UNLOGGED TABLE icu_bench.out_c AS " + lit(c_scores_sql(scope))),
              ("forecast", C_FORECAST_SQL)],
        "sql": [("scores", "CREATE UNLOGGED TABLE icu_bench.out_sql AS "
                 + lit(sql_scores_sql(scope, m["risk_spec"], m["stay_spec"]))),
                ("forecast", SQL_FORECAST_SQL)],
        "plpy": [("scores", f"CREATE UNLOGGED TABLE icu_bench.out_py AS SELECT * FROM icu_bench.plpy_scores('{AS_OF}')"),
                 ("forecast", PLPY_FORECAST_SQL)],
    }


OUT_TABLE = {"floor": "out_floor", "c": "out_c", "sql": "out_sql", "plpy": "out_py", "c0": "out_c"}


def run_once(cur, way, steps, workers):
    cur.execute(f"SET max_parallel_workers_per_gather = {workers}")
    cur.execute(f"DROP TABLE IF EXISTS icu_bench.{OUT_TABLE[way]}")
    times, result = {}, None
    for step, sql in steps:
        t = time.perf_counter()
        cur.execute(sql)
        if cur.description:
            result = cur.fetchall()
        times[step] = time.perf_counter() - t
    return sum(times.values()), times, result


def plan_has_gather(cur, sql, workers):
    cur.execute(f"SET max_parallel_workers_per_gather = {workers}")
    cur.execute("EXPLAIN " + sql)
    return any("Gather" in r[0] for r in cur.fetchall())


def bench_scale(conn, n, scope, m, runs, workers, jit):
    cur = conn.cursor()
    cur.execute("SET work_mem = '1GB'")
    cur.execute(f"SET jit = {'on' if jit else 'off'}")
    cur.execute("SELECT (SELECT count(*) FROM icu_predict.admission), (SELECT count(*) FROM icu_predict.lab_result),"
                f" (SELECT count(*) FROM icu_predict.admission a WHERE {lit(scope_where(scope))}),"
                f" (SELECT count(*) FROM icu_predict.admission a WHERE {lit(scope_where('current'))}),"
                f" (SELECT count(*) FROM icu_predict.lab_canonical l WHERE {lit(lab_filter(scope))})")
    n_adm, n_lab, n_job, n_cur, n_rows = cur.fetchone()
    info = dict(admissions=n_adm, lab_rows=n_lab, job_admissions=n_job, current_admissions=n_cur,
                job_lab_rows=n_rows, load_average_before=os.getloadavg()[0])
    log(f"scale {n}: {info}")
    w = ways(scope, m)
    cells = [("floor", w["floor"], workers), ("c", w["c"], workers), ("c0", w["c"], 0),
             ("sql", w["sql"], workers), ("plpy", w["plpy"], workers)]
    res, parallel = {}, {}
    for name, steps, nw in cells:
        parallel[name] = plan_has_gather(cur, steps[0][1].split(" AS ", 1)[1] if name != "plpy"
                                         else lit(features_sql(scope)), nw)
        run_once(cur, name, steps, nw)                                         # warm-up
        ts, parts, fc = [], [], None
        for _ in range(runs):
            tot, p, fc = run_once(cur, name, steps, nw)
            ts.append(tot)
            parts.append(p)
        res[name] = dict(median_s=statistics.median(ts), min_s=min(ts), max_s=max(ts), runs_s=ts,
                         steps_median_s={k: statistics.median(p[k] for p in parts) for k in parts[0]},
                         workers=nw, parallel_plan=parallel[name],
                         forecast=[list(map(lambda x: float(x) if x is not None else None, r)) for r in fc]
                         if fc else None)
        log(f"  {name:<5} median {res[name]['median_s']:.3f} s  runs {', '.join(f'{t:.3f}' for t in ts)}"
            f"  (parallel plan: {parallel[name]})")
    # result checks (the last run of every way left its table)
    cur.execute("""SELECT count(*), count(s.admission_id), count(p.admission_id),
                          max(abs(c.risk - s.risk)), max(abs(c.risk - p.risk)), max(abs(s.risk - p.risk)),
                          max(abs(c.expected_days - s.expected_days) / c.expected_days),
                          max(abs(c.expected_days - p.expected_days) / c.expected_days),
                          (SELECT count(*) FROM icu_bench.out_sql), (SELECT count(*) FROM icu_bench.out_py),
                          avg(c.risk)
                     FROM icu_bench.out_c c
                     LEFT JOIN icu_bench.out_sql s USING (admission_id)
                     LEFT JOIN icu_bench.out_py p USING (admission_id)""")
    (nc, ns, np_, d_cs, d_cp, d_sp, e_cs, e_cp, ns_all, np_all, mean_risk) = cur.fetchone()
    same_rows = nc == ns == np_ == ns_all == np_all
    check = dict(rows=nc, same_admissions=same_rows, max_abs_risk_diff_c_sql=d_cs, max_abs_risk_diff_c_plpy=d_cp,
                 max_abs_risk_diff_sql_plpy=d_sp, max_rel_expected_stay_diff_c_sql=e_cs,
                 max_rel_expected_stay_diff_c_plpy=e_cp, mean_risk=mean_risk)
    ok = same_rows and max(d_cs or 0, d_cp or 0) <= 1e-6
    check["risks_agree_1e-6"] = ok
    fc_c, fc_s, fc_p = res["c"]["forecast"], res["sql"]["forecast"], res["plpy"]["forecast"]
    check["forecast_max_rel_mean_diff_c_plpy"] = max(abs(a[1] - b[1]) / max(a[1], 1e-9) for a, b in zip(fc_c, fc_p))
    check["forecast_max_rel_mean_diff_c_sql"] = max(abs(a[1] - b[1]) / max(a[1], 1e-9) for a, b in zip(fc_c, fc_s))
    check["forecast_quantiles_equal_c_plpy"] = all(a[2:] == b[2:] for a, b in zip(fc_c, fc_p))
    check["forecast_max_quantile_diff_c_sql"] = max(abs(x - y) for a, b in zip(fc_c, fc_s)
                                                    for x, y in zip(a[2:], b[2:]))
    for k in ("sql", "plpy"):
        res[k]["void"] = not ok
    log(f"  check: {check}")
    for t in OUT_TABLE.values():
        cur.execute(f"DROP TABLE IF EXISTS icu_bench.{t}")
    info["load_average_after"] = os.getloadavg()[0]
    return dict(scale=n, data=info, cells=res, check=check)


def ratios(scale):
    c = scale["cells"]
    m = lambda k: c[k]["median_s"]  # noqa: E731
    return {"sql_over_c": m("sql") / m("c"), "plpy_over_c": m("plpy") / m("c"),
            "c_over_floor": m("c") / m("floor"), "c0_over_c": m("c0") / m("c")}


def doubling(scales, key):
    out = []
    for a, b in zip(scales, scales[1:]):
        ra = b["data"]["job_lab_rows"] / a["data"]["job_lab_rows"]
        rt = b["cells"][key]["median_s"] / a["cells"][key]["median_s"]
        out.append(rt ** (math.log(2) / math.log(ra)) if ra > 1 else None)
    return out


TARGETS = [("sql_over_c", ">=", 3.0, "pure SQL / icu_predict"), ("plpy_over_c", ">=", 10.0, "PL/Python / icu_predict"),
           ("c_over_floor", "<=", 1.5, "icu_predict / floor"), ("c0_over_c", ">=", 1.6, "0 workers / 2 workers")]


def markdown(result):
    sc = result["scales"]
    L = []
    L.append(f"Daily job as of {AS_OF} (scope: {result['scope']}); median of {result['runs']} runs after a warm-up "
             f"(warm cache), [min–max] in seconds; {result['workers']} parallel workers unless stated; "
             f"work_mem 1GB, JIT {'on' if result['jit'] else 'off'}.\n")
    hdr = "| | " + " | ".join(f"{s['scale']:,} admissions" for s in sc) + " |"
    L.append(hdr)
    L.append("|---" * (len(sc) + 1) + "|")
    L.append("| lab rows (all / read by the job) | " + " | ".join(
        f"{s['data']['lab_rows']:,} / {s['data']['job_lab_rows']:,}" for s in sc) + " |")
    L.append("| admissions scored / in hospital at T | " + " | ".join(
        f"{s['data']['job_admissions']:,} / {s['data']['current_admissions']:,}" for s in sc) + " |")
    names = [("c", "icu_predict (C)"), ("c0", "icu_predict, 0 workers"), ("sql", "pure SQL"),
             ("plpy", "PL/Python + scikit-learn"), ("floor", "floor: count(*) GROUP BY")]
    for k, label in names:
        cells = []
        for s in sc:
            c = s["cells"][k]
            v = " (void)" if c.get("void") else ""
            cells.append(f"{c['median_s']:.3f} [{c['min_s']:.3f}–{c['max_s']:.3f}]{v}")
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    L.append("| machine load average (1 min) before / after | " + " | ".join(
        f"{s['data']['load_average_before']:.1f} / {s['data']['load_average_after']:.1f}" for s in sc) + " |")
    for key, op, tgt, label in TARGETS:
        vals = []
        for s in sc:
            r = ratios(s)[key]
            ok = r >= tgt if op == ">=" else r <= tgt
            vals.append(f"{r:.2f}{'' if ok else ' ✗'}")
        L.append(f"| {label} (target {op} {tgt:g}) | " + " | ".join(vals) + " |")
    L.append("| max \\|Δ risk\\| C vs SQL / C vs PL/Python | " + " | ".join(
        f"{s['check']['max_abs_risk_diff_c_sql']:.1e} / {s['check']['max_abs_risk_diff_c_plpy']:.1e}" for s in sc) + " |")
    if len(sc) > 1:
        for k, label in (("c", "icu_predict"), ("floor", "floor")):
            d = doubling(sc, k)
            L.append(f"| time per doubling of lab rows, {label} (target ≤ 2.2) | – | "
                     + " | ".join(f"{x:.2f}{'' if x <= 2.2 else ' ✗'}" for x in d) + " |")
    return "\n".join(L) + "\n"


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sc = result["scales"]
    x = [s["data"]["lab_rows"] for s in sc]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, label, style in (("c", "icu_predict (C, 2 workers)", "o-"), ("c0", "icu_predict (C, 0 workers)", "o--"),
                            ("sql", "pure SQL", "s-"), ("plpy", "PL/Python + scikit-learn", "^-"),
                            ("floor", "floor: count(*) per admission", "k:")):
        ax.plot(x, [s["cells"][k]["median_s"] for s in sc], style, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lab_result rows in the database")
    ax.set_ylabel("daily job, median seconds")
    ax.set_title(f"icu_predict daily job (scope: {result['scope']}), as of {AS_OF[:10]}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 admissions only")
    ap.add_argument("--scales", default="10000,100000,300000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scope", choices=("current", "all"), default="current")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    ap.add_argument("--jit", action="store_true", help="leave JIT compilation on (default: SET jit = off)")
    ap.add_argument("--keep-db", action="store_true", help=f"keep database {DB} at the end")
    a = ap.parse_args()
    scales = [10000] if a.quick else [int(s) for s in a.scales.split(",")]
    os.makedirs(os.path.join(a.out, "sql"), exist_ok=True)
    t0 = time.perf_counter()
    conn = setup_db()
    cur = conn.cursor()
    cur.execute("SELECT version(), current_setting('shared_buffers'), current_setting('max_worker_processes'),"
                " (SELECT extversion FROM pg_extension WHERE extname = 'icu_predict')")
    version, sb, mwp, ext = cur.fetchone()
    result = dict(command=" ".join(["python3 -m bench.daily_job"] + sys.argv[1:]), as_of=AS_OF, scope=a.scope, runs=a.runs,
                  workers=a.workers, server=version, shared_buffers=sb, work_mem="1GB", jit=a.jit, extension_version=ext,
                  cache="warm (one untimed warm-up run of each cell first; data fits in RAM)",
                  machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
                  started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), scales=[])
    try:
        result["git"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip()
    except OSError:
        pass
    m = None
    for n in scales:
        log(f"loading {n} admissions")
        load_s = load_cohort(n)
        if m is None:
            m = fit_models(conn, a.scope)
            result["models"] = dict(m["info"], risk_spec=m["risk_spec"], stay_spec=m["stay_spec"],
                                    fitted_on_admissions=n)
            register_models(conn, m, a.scope)
            for way, steps in ways(a.scope, m).items():
                with open(os.path.join(a.out, "sql", f"{way}.sql"), "w") as f:
                    f.write(";\n\n".join(s for _, s in steps) + ";\n")
        s = bench_scale(conn, n, a.scope, m, a.runs, a.workers, a.jit)
        s["load_s"] = load_s
        s["ratios"] = ratios(s)
        result["scales"].append(s)
        with open(os.path.join(a.out, "daily_job.json"), "w") as f:
            json.dump(result, f, indent=1, default=str)
    result["doubling"] = {k: doubling(result["scales"], k) for k in ("c", "c0", "sql", "plpy", "floor")}
    result["wall_s"] = time.perf_counter() - t0
    with open(os.path.join(a.out, "daily_job.json"), "w") as f:
        json.dump(result, f, indent=1, default=str)
    md = markdown(result)
    with open(os.path.join(a.out, "daily_job.md"), "w") as f:
        f.write(md)
    plot(result, os.path.join(a.out, "daily_job.png"))
    print(md)
    print(f"wall time {result['wall_s']:.0f} s; outputs in {a.out}/daily_job.{{json,md,png}} and {a.out}/sql/")
    conn.close()
    if not a.keep_db:
        c = connect("postgres")
        c.cursor().execute("DROP DATABASE " + DB)


if __name__ == "__main__":
    main()
