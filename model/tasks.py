"""The prediction tasks, defined in one place, and the SQL that builds their rows.

Every number a model sees is computed by the extension: lab statistics come
from the lab panel (the C aggregate / daily series, read with
icu_predict.lab_value), covariates follow the definitions of the model
runtime (docs/model-spec.md), ICU episodes come from the view
icu_predict.icu_episode.  Python only reads the result.

Tasks
-----
ICU admission within a horizon (``icu_48h``: 48 hours, ``icu_7d``: 7 days)
    One row per ward patient-day: for each admission and each calendar day
    of its stay, a prediction as of the end of that day (midnight in
    icu_predict.day_timezone), using only labs resulted by then.
    * Included: the patient is in hospital at that moment (admitted at or
      before it, not discharged before it) and has not been in an ICU during
      this admission so far (no ICU episode started at or before it).
      Patient-days after an ICU episode are left out: the task is the first
      ICU admission, and after an ICU stay the risk is of another kind
      (readmission to the ICU), which this model does not claim to predict.
    * Label 1: the admission's first ICU episode starts after the as-of time
      and at most the horizon after it.  Label 0: it does not, and the
      outcome is known: the patient left the hospital (discharge or death)
      before the horizon ended without ICU, or the whole horizon lies before
      the data end.  Death on the ward counts as 0 (a competing event: no
      ICU bed was needed).
    * Rows whose outcome is not yet known (patient still admitted, horizon
      reaching past the data end) are left out rather than counted as 0.
ICU length of stay (``icu_stay``)
    One row per ICU episode (icu_predict.icu_episode: consecutive ICU
    location stays, returns within 24 h merged).  Features as of the
    episode's start.  Time = ended_at - started_at in days; event = the
    episode ended (discharge from the ICU, transfer out, or death: the bed
    became free).  Episodes still open at the data end are right-censored at
    the data end.

Data end: outcomes are known up to the latest event in the data (latest
admission, discharge, location or lab time), or the time given with
--data-end.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import TaskError, TrainingError
from .spec import COMORBIDITY_GROUPS, ELIXHAUSER_GROUPS

HORIZONS = {"48h": 48, "7d": 168}

DESCRIPTIONS = {
    "icu_48h": "first ICU admission within 48 h after the end of a ward day "
               "(patient-days of ward patients with no ICU stay so far in the admission; "
               "outcome-unknown days left out)",
    "icu_7d": "first ICU admission within 7 days after the end of a ward day (same rows)",
    "icu_stay": "length of each ICU episode in days (icu_episode; returns within 24 h "
                "merged), right-censored at the data end for patients still in the ICU; "
                "features as of ICU arrival",
}

#: Panel statistics offered to the risk models for every lab feature with data.
RISK_STATS = ("last", "max", "trend")
#: Covariates offered to the risk models (names as in docs/model-spec.md).
RISK_COVARIATES = ("age_years", "sex_male", "hours_since_admission")
STAY_STATS = ("last",)
STAY_COVARIATES = ("age_years", "sex_male", "hours_since_admission")
# covariates the training rows can give (no unit kind: rows come from ward days)
TRAINABLE_COVARIATES = ("age_years", "sex_male", "hours_since_admission")
# ... and those of the admission the runtime reads from admission_covariates()
# (BMI, Charlson and Elixhauser groups, Charlson index, van Walraven score,
# missing indicators)
ADMISSION_COVARIATES = ("age_missing", "sex_missing", "bmi_missing", "bmi", "charlson_index",
                        "elixhauser_van_walraven") + tuple(
    "comorbidity_" + g for g in COMORBIDITY_GROUPS) + ELIXHAUSER_GROUPS

EXT = "icu_predict"


def input_name(inp):
    if "covariate" in inp:
        return inp["covariate"]
    return f"{inp['feature']}:{inp['stat']}"


# ---------------------------------------------------------------------------
# Database checks
# ---------------------------------------------------------------------------
def check_extension(conn):
    """The installed icu_predict version; TrainingError when the extension is not there."""
    with conn.cursor() as cur:
        cur.execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'icu_predict'")
        r = cur.fetchone()
    conn.rollback()
    if r is None:
        raise TrainingError(
            "the database has no icu_predict extension; run CREATE EXTENSION icu_predict CASCADE "
            "and load a cohort (e.g. python3 -m model cohort) first")
    return r[0]


def has_oracle(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_catalog.to_regclass('icu_synth.oracle') IS NOT NULL")
        r = cur.fetchone()[0]
    conn.rollback()
    return bool(r)


def data_end(conn):
    with conn.cursor() as cur:
        cur.execute(f"""
            SELECT GREATEST(
                (SELECT pg_catalog.max(admitted_at) FROM {EXT}.admission),
                (SELECT pg_catalog.max(discharged_at) FROM {EXT}.admission),
                (SELECT pg_catalog.max(GREATEST(started_at, ended_at))
                   FROM {EXT}.location_stay),
                (SELECT pg_catalog.max(resulted_at) FROM {EXT}.lab_result))""")
        r = cur.fetchone()[0]
    conn.rollback()
    if r is None:
        raise TrainingError("the cohort is empty: icu_predict.admission has no rows")
    return r


def mapped_features(conn):
    """Features that lab_map maps some local code to, in catalogue order."""
    with conn.cursor() as cur:
        cur.execute(f"""
            SELECT f.name FROM {EXT}.feature f
             WHERE EXISTS (SELECT 1 FROM {EXT}.lab_map m WHERE m.feature = f.name)
             ORDER BY f.name""")
        r = [x[0] for x in cur.fetchall()]
    conn.rollback()
    return r


def risk_inputs(conn, features=None):
    feats = features or mapped_features(conn)
    ins = [{"feature": f, "stat": s} for f in feats for s in RISK_STATS]
    ins += [{"covariate": c} for c in RISK_COVARIATES]
    return ins


def stay_inputs(conn, features=None):
    feats = features or mapped_features(conn)
    ins = [{"feature": f, "stat": s} for f in feats for s in STAY_STATS]
    ins += [{"covariate": c} for c in STAY_COVARIATES]
    return ins


# ---------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------
def _input_sql(inp, panel="p.panel", as_of="p.as_of"):
    """SQL expression of one input; panel statistics through the C accessor."""
    if "covariate" in inp:
        c = inp["covariate"]
        hours = f"pg_catalog.date_part('epoch', {as_of} - a.admitted_at) / 3600.0"
        if c in ADMISSION_COVARIATES:
            # the admission's covariates as of the row's time, as predict() reads them
            return (f"{EXT}.covariate_value('{c}', {EXT}.admission_covariates(a.admission_id, {as_of}), "
                    f"{hours}, NULL)")
        if c not in TRAINABLE_COVARIATES:
            raise TaskError(f"covariate {c} is not offered for training")
        # the extension's own encoding (covariate_value, the scorer's code)
        return (f"{EXT}.covariate_value('{c}', a.age_years::float8, a.sex::text, "
                f"{hours}, NULL)")
    return f"{EXT}.lab_value({panel}, %s, %s)"


def _select_inputs(inputs, panel, as_of):
    cols, params = [], []
    for k, inp in enumerate(inputs):
        cols.append(f"{_input_sql(inp, panel, as_of)} AS x{k}")
        if "feature" in inp:
            params += [inp["feature"], inp["stat"]]
    return ",\n       ".join(cols), params


def risk_sql(inputs):
    """SQL for ward patient-day rows; parameters: data_end, horizon_hours, *inputs."""
    cols, params = _select_inputs(inputs, "d.panel", "d.as_of")
    sql = f"""
WITH prm AS (
    SELECT %s::timestamptz AS data_end, pg_catalog.make_interval(hours => %s) AS horizon
), known AS (
    -- what is known at the data end: the first ICU arrival, the discharge
    SELECT a.admission_id, a.patient_id, a.admitted_at,
           (SELECT pg_catalog.min(e.started_at) FROM {EXT}.icu_episode e
             WHERE e.admission_id = a.admission_id
               AND e.started_at <= prm.data_end) AS icu_at,
           CASE WHEN a.discharged_at <= prm.data_end THEN a.discharged_at END AS left_at
      FROM {EXT}.admission a CROSS JOIN prm
     WHERE a.admitted_at <= prm.data_end

), span AS (
    -- ward time to cover: admission until the first ICU arrival, the
    -- discharge or the data end, whichever comes first
    SELECT k.*, LEAST(k.icu_at, k.left_at, prm.data_end) AS until
      FROM known k CROSS JOIN prm
), series AS (
    -- one pass per admission: lab_panel_series gives the panel as of the end
    -- of each calendar day (plus one as of `until`, dropped below)
    SELECT s.admission_id,
           {EXT}.lab_panel_series(s.admission_id, c.feature, c.value, c.resulted_at,
                                  s.admitted_at, s.until) AS panels
      FROM span s
      LEFT JOIN {EXT}.lab_canonical c
        ON c.admission_id = s.admission_id AND c.resulted_at <= s.until
     WHERE s.until > s.admitted_at
     GROUP BY s.admission_id, s.admitted_at, s.until
), days AS (
    SELECT s.admission_id, u.panel, {EXT}.lab_as_of(u.panel) AS as_of
      FROM series s CROSS JOIN LATERAL pg_catalog.unnest(s.panels) AS u(panel)
)
SELECT k.admission_id, k.patient_id, k.admitted_at, d.as_of,
       (k.icu_at IS NOT NULL AND k.icu_at <= d.as_of + prm.horizon)::int AS label,
       {cols}
  FROM days d
  JOIN span k ON k.admission_id = d.admission_id
  JOIN {EXT}.admission a ON a.admission_id = d.admission_id
 CROSS JOIN prm
 WHERE d.as_of > k.admitted_at
   AND d.as_of < k.until
   AND (   k.icu_at <= d.as_of + prm.horizon
        OR k.left_at <= d.as_of + prm.horizon
        OR d.as_of + prm.horizon <= prm.data_end)
 ORDER BY k.admitted_at, k.admission_id, d.as_of"""
    return sql, params


def stay_sql(inputs):
    cols, params = _select_inputs(inputs, "p.panel", "e.started_at")
    sql = f"""
WITH prm AS (SELECT %s::timestamptz AS data_end)
SELECT a.admission_id, a.patient_id, a.admitted_at, e.episode, e.started_at AS icu_start,
       (e.ended_at IS NOT NULL AND e.ended_at <= prm.data_end)::int AS ended,
       pg_catalog.date_part('epoch',
           CASE WHEN e.ended_at IS NOT NULL AND e.ended_at <= prm.data_end
                THEN e.ended_at ELSE prm.data_end END - e.started_at) / 86400.0 AS stay_days,
       {cols}
  FROM {EXT}.icu_episode e
  JOIN {EXT}.admission a ON a.admission_id = e.admission_id
 CROSS JOIN prm
 CROSS JOIN LATERAL (
        SELECT {EXT}.lab_panel(e.admission_id, c.feature, c.value, c.resulted_at,
                               e.started_at) AS panel
          FROM {EXT}.lab_canonical c
         WHERE c.admission_id = e.admission_id AND c.resulted_at <= e.started_at) p
 WHERE e.started_at < prm.data_end
 ORDER BY e.started_at, e.admission_id, e.episode"""
    return sql, params


def _fetch(conn, sql, params, inputs):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        data = cur.fetchall()
    conn.rollback()
    df = pd.DataFrame(data, columns=names)
    ren = {f"x{k}": input_name(inp) for k, inp in enumerate(inputs)}
    df = df.rename(columns=ren)
    for c in ren.values():
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def risk_rows(conn, horizon_hours, inputs, end):
    sql, params = risk_sql(inputs)
    return _fetch(conn, sql, [end, int(horizon_hours)] + params, inputs)


def stay_rows(conn, inputs, end):
    sql, params = stay_sql(inputs)
    df = _fetch(conn, sql, [end] + params, inputs)
    return df.rename(columns={"icu_start": "icu_start"})


def oracle_scores(conn, admission_ids):
    """The generator's true ICU probability per admission (synthetic cohorts)."""
    ids = [int(x) for x in pd.unique(pd.Series(admission_ids))]
    with conn.cursor() as cur:
        cur.execute("SELECT admission_id, p_icu FROM icu_synth.oracle WHERE admission_id = ANY(%s)",
                    (ids,))
        m = dict(cur.fetchall())
    conn.rollback()
    return np.array([m.get(int(a), np.nan) for a in admission_ids], dtype=float)
