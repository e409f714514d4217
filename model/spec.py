"""Export fitted models into icu_predict model-registry rows.

The format is documented in docs/model-spec.md.  This module holds:

* ``INPUT_*`` helpers and ``preprocess`` - the linear spec's preprocessing
  (impute, clip, transform, missing indicators) in NumPy, so that training
  sees exactly the design matrix the C runtime computes;
* ``linear_spec`` - a fitted sklearn LogisticRegression / LinearRegression,
  optionally behind a StandardScaler in a Pipeline, as a linear spec;
* ``xgboost_spec`` - a trained xgboost Booster as an xgboost spec;
* ``reference_score`` / ``stay_summary`` - NumPy reference of what SQL returns;
* ``insert_model`` - INSERT the row (psycopg2 connection).
"""
import json
import math

import numpy as np

# The extension's rules, repeated here because a spec is written before it
# reaches the server; icu_predict.lab_stats() and feature_name_max_length()
# are the definitions, and test/integration/test_rules_agree.py (and, without
# a server, model/tests/test_rules_agree_c.py against the C sources) keeps
# these equal to them.
#: Panel statistics, in the panel's stat order.
STATS = ("last", "prev", "first", "min", "max", "mean", "count", "rejected",
         "trend", "hours_since_last")
#: Longest feature name (characters) the catalogue and the lab panel take.
FEATURE_NAME_MAX = 31
#: Comorbidity groups (icu_predict.comorbidity_groups()), read as comorbidity_<group>.
COMORBIDITY_GROUPS = ("myocardial_infarction", "heart_failure", "peripheral_vascular",
                      "cerebrovascular", "dementia", "chronic_pulmonary", "rheumatic",
                      "peptic_ulcer", "mild_liver", "diabetes", "diabetes_complicated",
                      "hemiplegia", "renal", "malignancy", "severe_liver",
                      "metastatic_tumour", "hiv_aids")
#: Elixhauser groups (icu_predict.elixhauser_groups()), read under their own names.
ELIXHAUSER_GROUPS = ("elixhauser_heart_failure", "elixhauser_arrhythmia", "elixhauser_valvular",
                     "elixhauser_pulmonary_circulation", "elixhauser_peripheral_vascular",
                     "elixhauser_hypertension", "elixhauser_hypertension_complicated",
                     "elixhauser_paralysis", "elixhauser_neurological", "elixhauser_chronic_pulmonary",
                     "elixhauser_diabetes", "elixhauser_diabetes_complicated",
                     "elixhauser_hypothyroidism", "elixhauser_renal_failure", "elixhauser_liver",
                     "elixhauser_peptic_ulcer", "elixhauser_hiv_aids", "elixhauser_lymphoma",
                     "elixhauser_metastatic_cancer", "elixhauser_solid_tumour", "elixhauser_rheumatic",
                     "elixhauser_coagulopathy", "elixhauser_obesity", "elixhauser_weight_loss",
                     "elixhauser_fluid_electrolyte", "elixhauser_blood_loss_anaemia",
                     "elixhauser_deficiency_anaemia", "elixhauser_alcohol", "elixhauser_drugs",
                     "elixhauser_psychoses", "elixhauser_depression")
#: Covariate names, in the order of icu_predict.model_covariates().
COVARIATES = ("age_years", "sex_male", "hours_since_admission",
              "unit_kind_ward", "unit_kind_icu", "unit_kind_mc", "unit_kind_ed",
              "unit_kind_or", "unit_kind_other",
              "age_missing", "sex_missing", "bmi_missing", "bmi", "charlson_index",
              "elixhauser_van_walraven") + tuple(
                  "comorbidity_" + g for g in COMORBIDITY_GROUPS) + ELIXHAUSER_GROUPS
DISTRIBUTIONS = ("normal", "logistic", "extreme")


def json_default(o):
    """``json.dump(..., default=json_default)``: NumPy numbers and arrays as
    JSON numbers and lists, anything else (timestamps) as its text."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def panel_input(feature, stat="last", **prep):
    """An input reading a panel statistic; ``prep`` = impute/clip/transform/missing_indicator."""
    if stat not in STATS:
        raise ValueError(f"unknown stat {stat!r}")
    if not 1 <= len(feature) <= FEATURE_NAME_MAX:
        raise ValueError(f"feature name {feature!r} must have 1 to {FEATURE_NAME_MAX} characters")
    return dict(feature=feature, stat=stat, **prep)


def covariate_input(name, **prep):
    """An input reading an admission covariate."""
    if name not in COVARIATES:
        raise ValueError(f"unknown covariate {name!r}")
    return dict(covariate=name, **prep)


def _source(inp):
    if "covariate" in inp:
        return {"covariate": inp["covariate"]}
    return {"feature": inp["feature"], "stat": inp["stat"]}


def preprocess(inputs, raw):
    """Design matrix of a linear spec for raw values (n x len(inputs), NaN = missing).

    Columns: the transformed (not yet standardised) value of every input, then
    one 0/1 missing-indicator column for each input with
    ``missing_indicator=True``, in input order.  Same steps and order as the C
    runtime: impute (raw units), clip, transform.
    """
    raw = np.asarray(raw, dtype=float)
    if raw.ndim != 2 or raw.shape[1] != len(inputs):
        raise ValueError("raw must have one column per input")
    cols, inds = [], []
    for j, inp in enumerate(inputs):
        v = raw[:, j].copy()
        miss = np.isnan(v)
        if "impute" not in inp:
            raise ValueError(f"input {j} needs an impute value")
        v[miss] = float(inp["impute"])
        clip = inp.get("clip")
        if clip is not None:
            v = np.minimum(np.maximum(v, clip[0]), clip[1])
        t = inp.get("transform", "none")
        if t == "log":
            if clip is None or clip[0] <= 0:
                raise ValueError(f"input {j}: log needs clip with lo > 0")
            v = np.log(v)
        elif t == "log1p":
            if clip is None or clip[0] <= -1:
                raise ValueError(f"input {j}: log1p needs clip with lo > -1")
            v = np.log1p(v)
        elif t != "none":
            raise ValueError(f"input {j}: unknown transform {t!r}")
        cols.append(v)
        if inp.get("missing_indicator"):
            inds.append(miss.astype(float))
    return np.column_stack(cols + inds)


def _unwrap(estimator):
    """(scaler or None, final linear estimator) from an estimator or Pipeline."""
    scaler = None
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        if len(steps) == 2:
            scaler = steps[0][1]
        elif len(steps) != 1:
            raise ValueError("pipeline must be [StandardScaler,] estimator")
        estimator = steps[-1][1]
    return scaler, estimator


def linear_spec(inputs, estimator, kind="icu_admission", stay=None):
    """Linear spec for an estimator fitted on ``preprocess(inputs, raw)``.

    ``estimator``: LogisticRegression (binary) for kind icu_admission, or a
    linear regression on log(stay days) for kind icu_stay, which also needs
    ``stay={"distribution": ..., "sigma": ...}`` (the residual distribution).
    A StandardScaler before it becomes the inputs' mean/scale; for missing
    indicators the scaling is folded into missing_coef and the intercept.
    """
    scaler, est = _unwrap(estimator)
    coef = np.asarray(est.coef_, dtype=float).reshape(-1)
    intercept = float(np.asarray(est.intercept_, dtype=float).reshape(-1)[0])
    nind = sum(1 for i in inputs if i.get("missing_indicator"))
    if coef.shape[0] != len(inputs) + nind:
        raise ValueError("estimator has %d coefficients, expected %d"
                         % (coef.shape[0], len(inputs) + nind))
    if scaler is not None:
        mean = np.asarray(scaler.mean_, dtype=float) if scaler.with_mean else np.zeros(coef.shape[0])
        scale = np.asarray(scaler.scale_, dtype=float) if scaler.with_std else np.ones(coef.shape[0])
    else:
        mean, scale = np.zeros(coef.shape[0]), np.ones(coef.shape[0])
    out = []
    k = len(inputs)
    for j, inp in enumerate(inputs):
        o = _source(inp)
        o["impute"] = float(inp["impute"])
        if inp.get("clip") is not None:
            o["clip"] = [float(inp["clip"][0]), float(inp["clip"][1])]
        if inp.get("transform", "none") != "none":
            o["transform"] = inp["transform"]
        o["mean"] = float(mean[j])
        o["scale"] = float(scale[j])
        o["coef"] = float(coef[j])
        if inp.get("missing_indicator"):
            c = coef[k] / scale[k]
            o["missing_coef"] = float(c)
            intercept -= c * mean[k]
            k += 1
        out.append(o)
    spec = {"format": "linear", "link": "logit" if kind == "icu_admission" else "log",
            "intercept": float(intercept), "inputs": out}
    if kind == "icu_stay":
        if not stay or stay.get("distribution") not in DISTRIBUTIONS:
            raise ValueError("kind icu_stay needs stay={'distribution','sigma'}")
        spec["stay"] = {"distribution": stay["distribution"], "sigma": float(stay["sigma"])}
    return spec


def xgboost_spec(booster, inputs):
    """Spec for a trained xgboost Booster; ``inputs[k]`` feeds feature f<k>."""
    model = json.loads(bytes(booster.save_raw("json")).decode())
    nfeat = int(model["learner"]["learner_model_param"]["num_feature"])
    if nfeat != len(inputs):
        raise ValueError(f"booster has {nfeat} features, {len(inputs)} inputs given")
    return {"format": "xgboost", "inputs": [_source(i) for i in inputs], "model": model}


def stay_params(spec):
    """(distribution, sigma) of a stay spec."""
    if spec["format"] == "linear":
        return spec["stay"]["distribution"], float(spec["stay"]["sigma"])
    p = spec["model"]["learner"]["objective"]["aft_loss_param"]
    return p["aft_loss_distribution"], float(p["aft_loss_distribution_scale"])


def linear_margin(spec, raw):
    """η of a linear spec for raw values (n x inputs, NaN = missing), in float64."""
    inputs = spec["inputs"]
    x = preprocess([dict(i, missing_indicator=False) for i in inputs], raw)
    eta = np.full(x.shape[0], float(spec["intercept"]))
    miss = np.isnan(np.asarray(raw, dtype=float))
    for j, inp in enumerate(inputs):
        z = (x[:, j] - inp.get("mean", 0.0)) / inp.get("scale", 1.0)
        eta += inp["coef"] * z + inp.get("missing_coef", 0.0) * miss[:, j]
    return eta


def stay_summary(mu, distribution, sigma, t=None):
    """location, expected, median, p10, p90 (and S(t)) for log T = mu + sigma Z."""
    from scipy import special, stats
    mu = np.asarray(mu, dtype=float)
    if distribution == "normal":
        q = stats.norm.ppf
        mean_factor = math.exp(sigma * sigma / 2)
        cdf = stats.norm.cdf
    elif distribution == "logistic":
        q = lambda p: np.log(p / (1 - p))  # noqa: E731
        mean_factor = math.pi * sigma / math.sin(math.pi * sigma) if sigma < 1 else math.inf
        cdf = special.expit
    elif distribution == "extreme":
        q = lambda p: np.log(-np.log1p(-p))  # noqa: E731
        mean_factor = math.gamma(1 + sigma)
        cdf = lambda z: -np.expm1(-np.exp(z))  # noqa: E731
    else:
        raise ValueError(distribution)
    out = {"location": np.exp(mu), "expected": np.exp(mu) * mean_factor}
    for name, p in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
        out[name] = np.exp(mu + sigma * q(p))
    if t is not None:
        out["survival"] = 1 - cdf((math.log(t) - mu) / sigma) if t > 0 else np.ones_like(mu)
    return out


def insert_model(conn, name, version, kind, spec, training=None, metrics=None, deploy=False):
    """INSERT the model row (validated by the database); returns model_id."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO icu_predict.model (name, version, kind, format, spec, training, metrics)"
            " VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb) RETURNING model_id",
            (name, version, kind, spec["format"], json.dumps(spec),
             json.dumps(training or {}), json.dumps(metrics or {})))
        model_id = cur.fetchone()[0]
        if deploy:
            cur.execute("SELECT icu_predict.deploy(%s, %s)", (name, version))
    return model_id
