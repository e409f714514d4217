-- The PL/Python way of the daily-job benchmark (bench/daily_job.py).
--
-- What a data scientist would put in the database: the fitted scikit-learn
-- estimators pickled into a table, and PL/Python functions that read the
-- features with the same SQL as the pure-SQL way (stored next to the model),
-- preprocess them with NumPy (impute, clip, log, missing indicators: the steps
-- of docs/model-spec.md), call predict_proba / predict in batches, and compute
-- the 14-day bed-demand distribution exactly (Poisson-binomial by convolution).
--
-- Lives in schema icu_bench of the benchmark database only; not part of the
-- extension.

CREATE SCHEMA IF NOT EXISTS icu_bench;

CREATE TABLE IF NOT EXISTS icu_bench.sk_model (
    name          text  NOT NULL,
    version       text  NOT NULL,
    risk_pickle   bytea NOT NULL,   -- sklearn Pipeline(StandardScaler, LogisticRegression)
    stay_pickle   bytea NOT NULL,   -- sklearn Pipeline(StandardScaler, LinearRegression) on log(days)
    risk_inputs   jsonb NOT NULL,   -- model.spec input list (impute, clip, transform, missing_indicator)
    stay_inputs   jsonb NOT NULL,
    stay_sigma    float8 NOT NULL,  -- log-logistic scale of the stay distribution
    columns       jsonb NOT NULL,   -- feature-query column of each input, in input order
    features_sql  text  NOT NULL,   -- the pure-SQL feature query; $1 = as-of time
    PRIMARY KEY (name, version)
);

-- Per-admission scores: risk, stay location mu (log days), expected / P10 / P90 days.
CREATE OR REPLACE FUNCTION icu_bench.plpy_scores(as_of timestamptz, batch integer DEFAULT 50000)
RETURNS TABLE (admission_id bigint, is_current boolean, in_icu boolean, spent_days float8,
               risk float8, mu float8, expected_days float8, p10_days float8, p90_days float8)
LANGUAGE plpython3u VOLATILE AS $$
import math
import pickle
import numpy as np

m = GD.get("icu_bench_model")
if m is None:
    row = plpy.execute("SELECT * FROM icu_bench.sk_model WHERE name = 'bench' AND version = '1'")[0]
    import json
    m = dict(risk=pickle.loads(row["risk_pickle"]), stay=pickle.loads(row["stay_pickle"]),
             risk_inputs=json.loads(row["risk_inputs"]), stay_inputs=json.loads(row["stay_inputs"]),
             sigma=row["stay_sigma"], columns=json.loads(row["columns"]),
             plan=plpy.prepare(row["features_sql"], ["timestamptz"]))
    GD["icu_bench_model"] = m

def design(inputs, cols, raw):
    out, ind = [], []
    for inp in inputs:
        v = raw[:, cols.index(inp["column"])].copy()
        miss = np.isnan(v)
        v[miss] = inp["impute"]
        if inp.get("clip") is not None:
            v = np.minimum(np.maximum(v, inp["clip"][0]), inp["clip"][1])
        if inp.get("transform") == "log":
            v = np.log(v)
        elif inp.get("transform") == "log1p":
            v = np.log1p(v)
        out.append(v)
        if inp.get("missing_indicator"):
            ind.append(miss.astype(float))
    return np.column_stack(out + ind)

rows = plpy.execute(m["plan"], [as_of])
cols = m["columns"]
sigma = m["sigma"]
mean_factor = math.pi * sigma / math.sin(math.pi * sigma)
q10, q90 = sigma * math.log(0.1 / 0.9), sigma * math.log(0.9 / 0.1)
result = []
n = rows.nrows()
for lo in range(0, n, batch):
    chunk = [rows[i] for i in range(lo, min(n, lo + batch))]
    raw = np.array([[np.nan if r[c] is None else r[c] for c in cols] for r in chunk], dtype=float)
    risk = m["risk"].predict_proba(design(m["risk_inputs"], cols, raw))[:, 1]
    mu = m["stay"].predict(design(m["stay_inputs"], cols, raw))
    loc = np.exp(mu)
    for r, p, u, l in zip(chunk, risk.tolist(), mu.tolist(), loc.tolist()):
        result.append((r["admission_id"], r["is_current"], r["in_icu"], r["spent_days"],
                       p, u, l * mean_factor, math.exp(u + q10), math.exp(u + q90)))
return result
$$;

-- The 14-day forecast from the stored scores (icu_bench.out_py): for each
-- horizon day the exact distribution of the number of current patients in
-- the ICU, by convolution (divide and conquer, scipy.signal.convolve picks
-- direct or FFT), tails below 1e-12 cut as the C aggregate does.
CREATE OR REPLACE FUNCTION icu_bench.plpy_forecast(horizon_days float8)
RETURNS TABLE (horizon_day integer, expected_beds float8, p50_beds integer, p90_beds integer, p95_beds integer)
LANGUAGE plpython3u VOLATILE AS $$
import numpy as np
from scipy import signal

m = GD["icu_bench_model"]
sigma = m["sigma"]
rows = plpy.execute("SELECT risk, mu, in_icu, spent_days FROM icu_bench.out_py WHERE is_current")
risk = np.array([r["risk"] for r in rows], dtype=float)
mu = np.array([r["mu"] for r in rows], dtype=float)
icu = np.array([bool(r["in_icu"]) for r in rows])
spent = np.array([r["spent_days"] or 0.0 for r in rows], dtype=float)

def surv(x, mu):
    # log-logistic: S(x) = 1 / (1 + exp((ln x - mu) / sigma)), 1 for x <= 0
    with np.errstate(divide="ignore", over="ignore"):
        s = 1.0 / (1.0 + np.exp((np.log(np.maximum(x, 1e-300)) - mu) / sigma))
    return np.where(x <= 0, 1.0, s)

def poisson_binomial(p):
    parts = [np.array([1.0 - x, x]) for x in p]
    if not parts:
        return np.array([1.0])
    while len(parts) > 1:
        nxt = [signal.convolve(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return np.clip(parts[0], 0.0, 1.0)

def quantile(pmf, q):
    return int(np.searchsorted(np.cumsum(pmf), q - 1e-12))

g = np.arange(15.0)
u = surv(spent[icu, None] + g[None, :], mu[icu, None])            # S(s + d), d = 0..14
s0 = surv(g[None, :14] + 0.5, mu[~icu, None])                     # S(j + 1/2), j = 0..13
r = risk[~icu, None]
H = horizon_days
k = np.arange(14.0)
dF = (1 - r) ** (k / H) - (1 - r) ** ((k + 1) / H)                 # P(ICU admission on day k)
out = []
for d in range(1, 15):
    p_icu = np.where(u[:, 0] > 0, np.minimum(1.0, u[:, d] / np.where(u[:, 0] > 0, u[:, 0], 1)), 0.0)
    p_ward = (dF[:, :d] * s0[:, d - 1::-1][:, :d]).sum(axis=1)
    p = np.concatenate([p_icu, p_ward])
    pmf = poisson_binomial(p)
    out.append((d, float(p.sum()), quantile(pmf, 0.5), quantile(pmf, 0.9), quantile(pmf, 0.95)))
return out
$$;
