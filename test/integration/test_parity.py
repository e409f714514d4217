"""Parity: models trained in Python and scored in SQL give the same numbers.

Trains small models on synthetic rows (sklearn logistic regression with the
spec's preprocessing, xgboost binary:logistic, xgboost survival:aft with each
distribution, a linear log-stay model), stores them through model.spec, and
scores 10,000 rows in SQL (icu_predict.model_predict / model_stay on the raw
input vectors) and in Python.  Requires |dp| <= 1e-6 for probabilities and a
relative difference <= 1e-6 for stay predictions; also checks explanations
(exact linear contributions, TreeSHAP against xgboost's pred_contribs).
"""
import io
import json
import math

import numpy as np
import pytest
import xgboost as xgb
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from model import spec as S

N = 10_000
FEATURES = ["crp", "ldh", "d_dimer", "ferritin", "lymphocytes", "neutrophils",
            "platelets", "creatinine", "urea", "procalcitonin", "troponin_t",
            "il6", "albumin", "bilirubin", "lactate", "pf_ratio"]


def _raw(rng, n):
    """n rows of 20 raw inputs (16 lab stats + 4 covariates), ~15 % missing labs."""
    labs = rng.lognormal(mean=2.0, sigma=1.0, size=(n, len(FEATURES)))
    labs[rng.random(labs.shape) < 0.15] = np.nan
    age = rng.integers(18, 95, size=n).astype(float)
    sex = rng.integers(0, 2, size=n).astype(float)
    sex[rng.random(n) < 0.05] = np.nan
    hours = rng.uniform(0, 400, size=n)
    ward = (rng.random(n) < 0.8).astype(float)
    return np.column_stack([labs, age, sex, hours, ward])


def _inputs_linear():
    ins = [S.panel_input(f, "last", impute=7.0, clip=[0.01, 1e4], transform="log",
                         missing_indicator=(k % 3 == 0)) for k, f in enumerate(FEATURES)]
    ins += [S.covariate_input("age_years", impute=65.0),
            S.covariate_input("sex_male", impute=0.5, missing_indicator=True),
            S.covariate_input("hours_since_admission", impute=0.0, clip=[0, 1000], transform="log1p"),
            S.covariate_input("unit_kind_ward", impute=1.0)]
    return ins


def _inputs_trees():
    return ([S.panel_input(f, "max") for f in FEATURES]
            + [S.covariate_input(c) for c in ("age_years", "sex_male", "hours_since_admission", "unit_kind_ward")])


def _outcome(rng, raw):
    z = (np.nan_to_num(np.log(raw[:, 0]), nan=1.5) * 0.9 + np.nan_to_num(np.log(raw[:, 1]), nan=2) * 0.4
         + (raw[:, 16] - 60) / 20 - 3.0)
    y = (rng.random(raw.shape[0]) < 1 / (1 + np.exp(-z))).astype(int)
    logstay = 2.2 + 0.3 * np.nan_to_num(np.log(raw[:, 0]), nan=1.5) + (raw[:, 16] - 60) / 80 + rng.normal(0, 0.5, raw.shape[0])
    return y, logstay


def _store_vectors(conn, raw):
    """Temp table rows(i, x float8[]) with the raw vectors (NULL = missing)."""
    buf = io.StringIO()
    for i, row in enumerate(raw):
        vals = ",".join("NULL" if math.isnan(v) else repr(float(v)) for v in row)
        buf.write(f"{i}\t{{{vals}}}\n")
    buf.seek(0)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS parity_rows")
        cur.execute("CREATE TABLE parity_rows (i int PRIMARY KEY, x float8[])")
        cur.copy_from(buf, "parity_rows", columns=("i", "x"))


def _sql_column(conn, expr):
    with conn.cursor() as cur:
        cur.execute(f"SELECT {expr} FROM parity_rows ORDER BY i")
        return np.array([r[0] for r in cur.fetchall()], dtype=float)


@pytest.fixture(scope="module")
def data(dbname):
    import psycopg2
    rng = np.random.default_rng(20260401)
    raw_train = _raw(rng, 3000)
    y, logstay = _outcome(rng, raw_train)
    raw = _raw(rng, N)
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    _store_vectors(conn, raw)
    yield conn, raw_train, y, logstay, raw
    conn.close()


def test_logistic_parity(data):
    conn, raw_train, y, _, raw = data
    inputs = _inputs_linear()
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=0.5, max_iter=2000))])
    pipe.fit(S.preprocess(inputs, raw_train), y)
    spec = S.linear_spec(inputs, pipe, kind="icu_admission")
    S.insert_model(conn, "parity_lr", "1", "icu_admission", spec, training={"horizon_hours": 48})
    expected = pipe.predict_proba(S.preprocess(inputs, raw))[:, 1]
    got = _sql_column(conn, "icu_predict.model_predict('parity_lr', '1', x)")
    assert got.shape == (N,)
    assert np.max(np.abs(got - expected)) <= 1e-6
    # the spread is real: a constant model would not pass this
    assert expected.std() > 0.05
    # exact contributions: bias + sum = margin, each equals coef * z (+ indicator)
    with conn.cursor() as cur:
        cur.execute("SELECT i, sum(c.contribution), icu_predict.model_margin('parity_lr', '1', x)"
                    " FROM parity_rows, icu_predict.model_contributions('parity_lr', '1', x) c"
                    " WHERE i < 200 GROUP BY i, x ORDER BY i")
        rows = cur.fetchall()
    margins = np.array([r[2] for r in rows])
    assert np.max(np.abs(np.array([r[1] for r in rows]) - margins)) < 1e-9
    assert np.max(np.abs(margins - S.linear_margin(spec, raw[:200]))) < 1e-9


def test_xgboost_logistic_parity(data):
    conn, raw_train, y, _, raw = data
    inputs = _inputs_trees()
    dtrain = xgb.DMatrix(raw_train, label=y, missing=np.nan)
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 5, "eta": 0.3,
                     "seed": 1, "nthread": 1}, dtrain, num_boost_round=40)
    S.insert_model(conn, "parity_xgb", "1", "icu_admission", S.xgboost_spec(bst, inputs),
                   training={"horizon_hours": 48})
    dtest = xgb.DMatrix(raw, missing=np.nan)
    expected = bst.predict(dtest).astype(float)
    got = _sql_column(conn, "icu_predict.model_predict('parity_xgb', '1', x)")
    assert np.max(np.abs(got - expected)) <= 1e-6
    assert expected.std() > 0.05

    # TreeSHAP equals xgboost's pred_contribs (float32 there) and sums to the margin
    m = 300
    contribs = bst.predict(xgb.DMatrix(raw[:m], missing=np.nan), pred_contribs=True)
    margin = bst.predict(xgb.DMatrix(raw[:m], missing=np.nan), output_margin=True)
    with conn.cursor() as cur:
        cur.execute("SELECT i, array_agg(c.contribution ORDER BY ord)"
                    " FROM parity_rows, icu_predict.model_contributions('parity_xgb', '1', x)"
                    "   WITH ORDINALITY AS c(input, contribution, ord)"
                    " WHERE i < %s GROUP BY i ORDER BY i", (m,))
        rows = cur.fetchall()
    sql = np.array([r[1] for r in rows])          # (bias), f0, f1, ...
    sql_phi, sql_bias = sql[:, 1:], sql[:, 0]
    assert np.max(np.abs(sql_phi - contribs[:, :-1])) < 1e-4
    assert np.max(np.abs(sql_bias - contribs[:, -1])) < 1e-4
    assert np.max(np.abs(sql.sum(axis=1) - margin)) < 1e-4
    assert np.abs(contribs[:, :-1]).max() > 0.1


@pytest.mark.parametrize("dist,sigma", [("normal", 0.6), ("logistic", 0.8), ("extreme", 0.8)])
def test_xgboost_aft_parity(data, dist, sigma):
    conn, raw_train, _, logstay, raw = data
    inputs = _inputs_trees()
    stay = np.exp(logstay)
    dtrain = xgb.DMatrix(raw_train, missing=np.nan)
    dtrain.set_float_info("label_lower_bound", stay)
    dtrain.set_float_info("label_upper_bound", stay)
    bst = xgb.train({"objective": "survival:aft", "aft_loss_distribution": dist,
                     "aft_loss_distribution_scale": sigma, "max_depth": 4, "eta": 0.1,
                     "seed": 1, "nthread": 1}, dtrain, num_boost_round=60)
    spec = S.xgboost_spec(bst, inputs)
    name = f"parity_aft_{dist}"
    S.insert_model(conn, name, "1", "icu_stay", spec)
    expected = bst.predict(xgb.DMatrix(raw, missing=np.nan)).astype(float)
    with conn.cursor() as cur:
        cur.execute("SELECT (s).location_days, (s).expected_days, (s).median_days, (s).p10_days,"
                    " (s).p90_days, icu_predict.model_stay_survival(%s, '1', x, 10)"
                    " FROM (SELECT i, x, icu_predict.model_stay(%s, '1', x) AS s FROM parity_rows) q"
                    " ORDER BY i", (name, name))
        got = np.array(cur.fetchall(), dtype=float)
    assert np.max(np.abs(got[:, 0] / expected - 1)) <= 1e-6
    assert expected.std() > 0.5
    d, s = S.stay_params(spec)
    assert d == dist and abs(s - sigma) < 1e-6
    ref = S.stay_summary(np.log(got[:, 0]), d, s, t=10.0)
    for k, key in enumerate(["expected", "median", "p10", "p90"], start=1):
        assert np.max(np.abs(got[:, k] / ref[key] - 1)) <= 1e-6, key
    assert np.max(np.abs(got[:, 5] - ref["survival"])) <= 1e-9
    assert np.all(got[:, 3] < got[:, 2]) and np.all(got[:, 2] < got[:, 4])


def test_linear_stay_parity(data):
    conn, raw_train, _, logstay, raw = data
    inputs = _inputs_linear()
    pipe = Pipeline([("scale", StandardScaler()), ("lm", LinearRegression())])
    pipe.fit(S.preprocess(inputs, raw_train), logstay)
    resid = logstay - pipe.predict(S.preprocess(inputs, raw_train))
    spec = S.linear_spec(inputs, pipe, kind="icu_stay",
                         stay={"distribution": "normal", "sigma": float(resid.std())})
    S.insert_model(conn, "parity_stay_lm", "1", "icu_stay", spec)
    mu = pipe.predict(S.preprocess(inputs, raw))
    ref = S.stay_summary(mu, "normal", float(resid.std()))
    with conn.cursor() as cur:
        cur.execute("SELECT (s).location_days, (s).expected_days, (s).median_days, (s).p10_days, (s).p90_days"
                    " FROM (SELECT i, icu_predict.model_stay('parity_stay_lm', '1', x) AS s"
                    "       FROM parity_rows) q ORDER BY i")
        got = np.array(cur.fetchall(), dtype=float)
    for k, key in enumerate(["location", "expected", "median", "p10", "p90"]):
        assert np.max(np.abs(got[:, k] / ref[key] - 1)) <= 1e-6, key


def test_model_parsed_once_per_backend(data):
    conn, *_ = data
    with conn.cursor() as cur:
        cur.execute("SELECT parses FROM icu_predict.model_cache_stats()")
        before = cur.fetchone()[0]
        cur.execute("SELECT sum(icu_predict.model_predict('parity_xgb', '1', x)) FROM parity_rows")
        cur.execute("SELECT sum(icu_predict.model_predict('parity_xgb', '1', x)) FROM parity_rows")
        cur.execute("SELECT parses, hits FROM icu_predict.model_cache_stats()")
        after, hits = cur.fetchone()
    assert after - before <= 1      # 20,000 rows, at most one parse in this backend
    assert hits >= 1


def test_panel_risk_matches_vectors(data):
    """risk(panel, covariates) reads the same inputs as the raw vectors:
    panels built from the panel's text form, 2,000 rows, both models."""
    conn, raw_train, y, _, raw = data
    n = 2000
    rng = np.random.default_rng(5)
    prev = rng.lognormal(2.0, 1.0, size=(n, len(FEATURES)))
    rows = []
    for i in range(n):
        feats = {}
        for k, f in enumerate(FEATURES):
            b = raw[i, k]
            if math.isnan(b):
                continue
            a = float(prev[i, k])
            feats[f] = {"count": 2, "rejected": 0, "last": float(b), "last_at": "2020-04-01T20:00:00+00:00",
                        "prev": a, "first": a, "min": min(a, b), "max": max(a, b), "mean": (a + b) / 2,
                        "trend": (b - a) / 0.5}
        panel = {"admission_id": i + 1, "as_of": "2020-04-02T08:00:00+00:00", "trend_window_hours": 72,
                 "features": dict(sorted(feats.items()))}
        sex = None if math.isnan(raw[i, 17]) else ("male" if raw[i, 17] == 1 else "female")
        unit = "ward" if raw[i, 19] == 1 else "icu"
        rows.append((i, json.dumps(panel), float(raw[i, 16]), sex, float(raw[i, 18]), unit))
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS parity_panels")
        cur.execute("CREATE TABLE parity_panels (i int PRIMARY KEY, p icu_predict.lab_panel, age float8,"
                    " sex text, hours float8, unit text)")
        cur.executemany("INSERT INTO parity_panels VALUES (%s, %s::icu_predict.lab_panel, %s, %s, %s, %s)", rows)
        cur.execute("SELECT icu_predict.risk(p, age, sex, hours, unit, 'parity_xgb', '1'),"
                    "       icu_predict.risk(p, age, sex, hours, unit, 'parity_lr', '1')"
                    "  FROM parity_panels ORDER BY i")
        got = np.array(cur.fetchall(), dtype=float)
        # the same rows as vectors: max for the tree model, last for the linear one
        mx = np.where(np.isnan(raw[:n, :16]), np.nan, np.fmax(raw[:n, :16], prev))
        vec_x = np.column_stack([mx, raw[:n, 16:]])
        cur.execute("SELECT icu_predict.model_predict('parity_xgb', '1', %s::float8[]),"
                    "       icu_predict.model_predict('parity_lr', '1', %s::float8[])",
                    ([None if math.isnan(v) else float(v) for v in vec_x[0]],
                     [None if math.isnan(v) else float(v) for v in raw[0]]))
        first = cur.fetchone()
        # many panel layouts (feature sets), each seen repeatedly: the runtime's
        # per-layout index cache is both filled and hit, and must stay exact
        cur.execute("SELECT count(DISTINCT icu_predict.lab_layout_id(p)) FROM parity_panels")
        layouts = cur.fetchone()[0]
    assert 10 <= layouts < n, layouts
    inputs = _inputs_linear()
    dtrain = xgb.DMatrix(raw_train, label=y, missing=np.nan)
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 5, "eta": 0.3,
                     "seed": 1, "nthread": 1}, dtrain, num_boost_round=40)
    assert np.max(np.abs(got[:, 0] - bst.predict(xgb.DMatrix(vec_x, missing=np.nan)))) <= 1e-6
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=0.5, max_iter=2000))])
    pipe.fit(S.preprocess(inputs, raw_train), y)
    assert np.max(np.abs(got[:, 1] - pipe.predict_proba(S.preprocess(inputs, raw[:n]))[:, 1])) <= 1e-6
    assert abs(first[0] - got[0, 0]) < 1e-12 and abs(first[1] - got[0, 1]) < 1e-12


def test_training_reads_count_as_the_scorer(data):
    """Training reads panel statistics through lab_value (model/tasks.py);
    count and rejected of a feature the panel lacks, and of a NULL panel (an
    admission without labs), are 0 there exactly as risk() reads them, so a
    model trained on them scores in SQL what Python computed (one definition)."""
    from model import tasks as T
    conn = data[0]
    inputs = [S.panel_input("crp", "count", impute=3.0),
              S.panel_input("crp", "rejected", impute=3.0),
              S.panel_input("ldh", "count", impute=3.0),
              S.panel_input("ldh", "last", impute=250.0)]
    spec = {"format": "linear", "link": "logit", "intercept": -1.0,
            "inputs": [dict(inp, coef=c, missing_coef=2.0)
                       for inp, c in zip(inputs, (0.3, 0.7, 0.2, 0.001))]}
    S.insert_model(conn, "parity_count", "1", "icu_admission", spec, training={"horizon_hours": 48})
    cols, params = T._select_inputs(inputs, "p.panel", "p.as_of")
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS parity_count_panels")
        cur.execute(
            "CREATE TABLE parity_count_panels AS"
            " SELECT 1 AS i, icu_predict.lab_panel(1, f, v, '2020-04-03 12:00+00', '2020-04-04 00:00+00') AS panel"
            "   FROM (VALUES ('crp', 10::float8), ('crp', 2000), ('crp', 30), ('ldh', 300)) r(f, v)"
            " UNION ALL SELECT 2, icu_predict.lab_panel(2, 'ldh', 400, '2020-04-03 12:00+00', '2020-04-04 00:00+00')"
            " UNION ALL SELECT 3, icu_predict.lab_panel(3, 'crp', 5, '2020-04-03 12:00+00', '2020-04-04 00:00+00')"
            " UNION ALL SELECT 4, NULL::icu_predict.lab_panel")
        cur.execute(f"SELECT {cols} FROM parity_count_panels p ORDER BY p.i", params)
        x = np.array([[np.nan if v is None else v for v in r] for r in cur.fetchall()], dtype=float)
        cur.execute("SELECT icu_predict.risk(p.panel, model_name => 'parity_count', model_version => '1')"
                    "  FROM parity_count_panels p ORDER BY p.i")
        got = np.array([r[0] for r in cur.fetchall()], dtype=float)
    # what training sees: counts are numbers, never missing
    assert x[:, 0].tolist() == [2, 0, 1, 0] and x[:, 1].tolist() == [1, 0, 0, 0]
    assert x[:, 2].tolist() == [1, 1, 0, 0]
    assert np.isnan(x[2:, 3]).all()
    expected = 1 / (1 + np.exp(-S.linear_margin(spec, x)))
    assert np.max(np.abs(got - expected)) <= 1e-12


def test_admission_covariates_parity(data):
    """Models on admission covariates (unknown age, BMI, comorbidity groups
    from ICD-10 diagnoses, Charlson index, van Walraven score, missing indicators): training
    reads them through model/tasks.py (covariate_value of
    admission_covariates()), predict-time scoring through risk() with
    admission_covariates(); logistic and xgboost agree to 1e-7."""
    from model import tasks as T
    conn = data[0]
    rng = np.random.default_rng(13)
    n = 600
    codes = ["I21.4", "I50.9", "E11.2", "E11.9", "K70.3", "K72.1", "C34.1", "C78.0", "J44.1",
             "N18.4", "F03", "J18.9"]
    with conn.cursor() as cur:
        cur.execute("DELETE FROM icu_predict.admission WHERE admission_id BETWEEN 700000 AND 700999")
        for k in range(n):
            age = None if rng.random() < 0.1 else int(rng.integers(18, 95))
            bmi = None if rng.random() < 0.3 else float(np.round(rng.uniform(16, 45), 1))
            sex = ["male", "female", "unknown"][int(rng.integers(0, 3))]
            cur.execute("INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex)"
                        " VALUES (%s, %s, '2020-04-01 08:00+00', %s, %s)", (700000 + k, f"par-{k}", age, sex))
            if bmi is not None:
                cur.execute("INSERT INTO icu_predict.admission_bmi (admission_id, bmi) VALUES (%s, %s)",
                            (700000 + k, bmi))
            if rng.random() < 0.8:      # the rest have no diagnosis recorded: comorbidities unknown
                for c in rng.choice(codes, size=int(rng.integers(1, 5)), replace=False):
                    cur.execute("INSERT INTO icu_predict.diagnosis (admission_id, icd10_code) VALUES (%s, %s)",
                                (700000 + k, str(c)))
    names = ["age_years", "age_missing", "sex_male", "bmi", "bmi_missing", "charlson_index",
             "comorbidity_heart_failure", "comorbidity_myocardial_infarction", "comorbidity_diabetes",
             "elixhauser_van_walraven", "elixhauser_diabetes_complicated"]
    inputs = [S.covariate_input(c) for c in names]
    cols, params = T._select_inputs(inputs, "NULL", "p.as_of")
    with conn.cursor() as cur:
        cur.execute(f"SELECT {cols} FROM icu_predict.admission a"
                    " CROSS JOIN (SELECT '2020-04-02 08:00+00'::timestamptz AS as_of) p"
                    " WHERE a.admission_id BETWEEN 700000 AND 700999 ORDER BY a.admission_id", params)
        x = np.array([[np.nan if v is None else v for v in r] for r in cur.fetchall()], dtype=float)
    assert x.shape == (n, len(names))
    # unknown age is missing (never 0), and its indicator says so
    assert np.array_equal(np.isnan(x[:, 0]), x[:, 1] == 1) and np.isnan(x[:, 0]).any()
    assert np.array_equal(np.isnan(x[:, 3]), x[:, 4] == 1)
    assert np.isnan(x[:, 5]).sum() > 50 and np.nanmax(x[:, 5]) >= 6   # unknown, and a real spread
    y = (rng.random(n) < 1 / (1 + np.exp(-(np.nan_to_num(x[:, 5], nan=1) * 0.5
                                          + np.nan_to_num(x[:, 0], nan=60) / 30 - 3)))).astype(int)
    lin_inputs = [S.covariate_input("age_years", impute=60.0, missing_indicator=True),
                  S.covariate_input("age_missing", impute=0.0),
                  S.covariate_input("sex_male", impute=0.5, missing_indicator=True),
                  S.covariate_input("bmi", impute=27.0, clip=[10, 60], transform="log", missing_indicator=True),
                  S.covariate_input("bmi_missing", impute=0.0),
                  S.covariate_input("charlson_index", impute=1.0, missing_indicator=True),
                  S.covariate_input("comorbidity_heart_failure", impute=0.0, missing_indicator=True),
                  S.covariate_input("comorbidity_myocardial_infarction", impute=0.0),
                  S.covariate_input("comorbidity_diabetes", impute=0.0),
                  S.covariate_input("elixhauser_van_walraven", impute=0.0, missing_indicator=True),
                  S.covariate_input("elixhauser_diabetes_complicated", impute=0.0)]
    pipe = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=0.5, max_iter=2000))])
    pipe.fit(S.preprocess(lin_inputs, x), y)
    S.insert_model(conn, "parity_cov_lr", "1", "icu_admission", S.linear_spec(lin_inputs, pipe),
                   training={"horizon_hours": 48})
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 1, "nthread": 1},
                    xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=30)
    S.insert_model(conn, "parity_cov_xgb", "1", "icu_admission", S.xgboost_spec(bst, inputs),
                   training={"horizon_hours": 48})
    with conn.cursor() as cur:
        cur.execute("SELECT icu_predict.risk(NULL, icu_predict.admission_covariates(a.admission_id, p.as_of),"
                    "         pg_catalog.date_part('epoch', p.as_of - a.admitted_at) / 3600.0, NULL,"
                    "         'parity_cov_lr', '1'),"
                    "       icu_predict.risk(NULL, icu_predict.admission_covariates(a.admission_id, p.as_of),"
                    "         NULL, NULL, 'parity_cov_xgb', '1')"
                    "  FROM icu_predict.admission a"
                    " CROSS JOIN (SELECT '2020-04-02 08:00+00'::timestamptz AS as_of) p"
                    " WHERE a.admission_id BETWEEN 700000 AND 700999 ORDER BY a.admission_id")
        got = np.array(cur.fetchall(), dtype=float)
    expected_lr = pipe.predict_proba(S.preprocess(lin_inputs, x))[:, 1]
    expected_xgb = bst.predict(xgb.DMatrix(x, missing=np.nan))
    assert expected_lr.std() > 0.02 and expected_xgb.std() > 0.02
    assert np.max(np.abs(got[:, 0] - expected_lr)) <= 1e-7
    assert np.max(np.abs(got[:, 1] - expected_xgb)) <= 1e-7
