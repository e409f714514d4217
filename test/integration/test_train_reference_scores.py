"""The reference scores of the model cards are defined once, in SQL
(extension/sql/26_reference_scores.sql).  Parity of the SQL point tables with
the independent numpy oracle (model/tests/reference_oracle.py) on random rows
and every band edge, and parity of the two ways the extension scores an
admission: the training rows (model/reference_scores.scores(), what a card
shows) and news2(admission_id, at) / isaric4c(admission_id, at), on a
hand-made cohort with vitals (the MIMIC-III demo loader brings no vitals).
Needs a server."""
import datetime as dt
import pathlib
import sys

import numpy as np
import pandas as pd
import pytest

from model import outcomes as OUT
from model import reference_scores as R
from model import train as TR

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "model" / "tests"))
import reference_oracle as O  # noqa: E402

UTC = dt.timezone.utc
COLS = ["resp_rate:last", "spo2:last", "sbp:last", "heart_rate:last", "temperature:last", "gcs:last",
        "urea:last", "crp:last", "age_years", "sex_male", "comorbidity_count"]
# every band edge of both tables, and a value either side of it
EDGES = {"resp_rate:last": [8, 9, 11, 12, 20, 21, 24, 25, 29, 30], "spo2:last": [91, 92, 93, 94, 95, 96],
         "sbp:last": [90, 91, 100, 101, 110, 111, 219, 220], "heart_rate:last": [40, 41, 50, 51, 90, 91, 110, 111, 130, 131],
         "temperature:last": [35.0, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1], "gcs:last": [3, 14, 15],
         "urea:last": [6.9, 7, 14, 14.1], "crp:last": [49.9, 50, 99.9, 100], "age_years": [49.9, 50, 59.9, 60, 69.9, 70, 79.9, 80],
         "sex_male": [0, 1], "comorbidity_count": [0, 1, 2, 5]}


def _random_frame(n, seed):
    rng = np.random.default_rng(seed)
    lo_hi = {"resp_rate:last": (4, 40), "spo2:last": (75, 100), "sbp:last": (60, 240), "heart_rate:last": (30, 160),
             "temperature:last": (33, 41), "gcs:last": (3, 15), "urea:last": (1, 40), "crp:last": (0, 300),
             "age_years": (18, 100)}
    f = {}
    for c in COLS:
        if c in lo_hi:
            lo, hi = lo_hi[c]
            v = lo + (hi - lo) * rng.random(n)
            if c == "gcs:last":
                v = np.round(v)
            # a third of the rows on a band edge exactly
            edge = rng.random(n) < 1 / 3
            v[edge] = rng.choice(EDGES[c], edge.sum())
        elif c == "sex_male":
            v = rng.integers(0, 2, n).astype(float)
        else:
            v = rng.integers(0, 6, n).astype(float)
        v[rng.random(n) < 0.15] = np.nan                      # missing: 0 points in both
        f[c] = v
    return pd.DataFrame(f)


def test_sql_point_tables_match_the_oracle(conn):
    frame = _random_frame(3000, 7)
    got = R.scores(conn, frame)
    want = O.scores(frame)
    for name in ("NEWS2", "ISARIC 4C Mortality"):
        assert got[name].shape == (3000,)
        assert np.array_equal(got[name], want[name]), name
    assert got["NEWS2"].max() >= 12 and got["ISARIC 4C Mortality"].max() >= 15   # the tables' upper bands are reached
    # an absent column is missing in every row, as in the oracle
    part = frame.drop(columns=["spo2:last", "comorbidity_count"])
    assert np.array_equal(R.scores(conn, part)["ISARIC 4C Mortality"], O.scores(part)["ISARIC 4C Mortality"])
    assert R.scores(conn, frame.iloc[:0])["NEWS2"].shape == (0,)


COHORT = """
SET TimeZone = 'UTC';
SET icu_predict.day_timezone = 'UTC';
INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES
    ('RR', '/min', 'resp_rate'), ('SPO2', '%', 'spo2'), ('SBP', 'mm[Hg]', 'sbp'),
    ('HR', '/min', 'heart_rate'), ('T', 'Cel', 'temperature'), ('GCS', '{score}', 'gcs'),
    ('UREA', 'mmol/L', 'urea'), ('CRP', 'mg/L', 'crp');
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, discharged_at, age_years, sex) VALUES
    (1, 'A', '2020-03-01 10:00+00', '2020-03-08 12:00+00', 72, 'male'),
    (2, 'B', '2020-03-01 08:00+00', '2020-03-06 08:00+00', 55, 'female'),
    (3, 'C', '2020-03-02 06:00+00', '2020-03-09 06:00+00', NULL, 'unknown');
INSERT INTO icu_predict.diagnosis (admission_id, icd10_code, diagnosed_at) VALUES
    (1, 'I21.4', NULL), (1, 'E11.2', '2020-03-02 00:00+00'), (2, 'J18.9', NULL);
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (1, 'RR', 18, '/min', '2020-03-01 11:00+00'), (1, 'SPO2', 95, '%', '2020-03-01 11:00+00'),
    (1, 'HR', 96, '/min', '2020-03-01 11:00+00'), (1, 'T', 38.4, 'Cel', '2020-03-01 11:00+00'),
    (1, 'UREA', 8.2, 'mmol/L', '2020-03-01 11:30+00'),
    (1, 'RR', 26, '/min', '2020-03-02 09:00+00'), (1, 'SPO2', 90, '%', '2020-03-02 09:00+00'),
    (1, 'SBP', 95, 'mm[Hg]', '2020-03-02 09:00+00'), (1, 'GCS', 14, '{score}', '2020-03-02 09:00+00'),
    (1, 'CRP', 120, 'mg/L', '2020-03-02 10:00+00'),
    (2, 'RR', 22, '/min', '2020-03-01 09:00+00'), (2, 'SBP', 225, 'mm[Hg]', '2020-03-01 09:00+00'),
    (2, 'T', 35.0, 'Cel', '2020-03-02 07:00+00'), (2, 'CRP', 60, 'mg/L', '2020-03-01 09:00+00'),
    (3, 'HR', 135, '/min', '2020-03-02 07:00+00'), (3, 'UREA', 15, 'mmol/L', '2020-03-02 07:00+00');
"""


@pytest.fixture(scope="module")
def cohort(dbname):
    import psycopg2
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute(COHORT)
    yield c
    c.close()


def test_training_rows_score_as_news2_and_isaric4c_of_the_admission(cohort):
    inputs = [{"feature": f, "stat": "last"} for f in
              ("resp_rate", "spo2", "sbp", "heart_rate", "temperature", "gcs", "urea", "crp")]
    inputs += [{"covariate": "age_years"}, {"covariate": "sex_male"}]
    schedule = {"kind": "landmarks", "at": "00:00", "every_hours": 24, "landmarks_hours": [2, 24, 72]}
    rows = OUT.rows(cohort, {"kind": "icu_admission", "horizon_hours": 48, "outcome": "icu_admission"},
                    schedule, inputs, dt.datetime(2020, 3, 12, tzinfo=UTC))
    assert len(rows) >= 6
    frame = rows[[c for c in COLS if c in rows]].reset_index(drop=True)
    from model import reference_scores as RS
    frame["comorbidity_count"] = RS.comorbidity_count(cohort, rows["admission_id"].to_numpy(), rows["as_of"].to_numpy())
    got = R.scores(cohort, frame)
    with cohort.cursor() as cur:
        cur.execute("""SELECT (icu_predict.news2(v.a, v.t)).score, (icu_predict.isaric4c(v.a, v.t)).score
                         FROM ROWS FROM (unnest(%s::bigint[]), unnest(%s::timestamptz[])) WITH ORDINALITY v(a, t, k)
                        ORDER BY v.k""",
                    ([int(a) for a in rows["admission_id"]],
                     [pd.Timestamp(t).to_pydatetime() for t in pd.to_datetime(rows["as_of"], utc=True)]))
        sql = np.array(cur.fetchall(), dtype=float)
    assert np.array_equal(got["NEWS2"], sql[:, 0])
    assert np.array_equal(got["ISARIC 4C Mortality"], sql[:, 1])
    by = {(int(a), pd.Timestamp(t).tz_convert("UTC").strftime("%m-%d %H:%M")): (n, c)
          for a, t, n, c in zip(rows["admission_id"], rows["as_of"], sql[:, 0], sql[:, 1])}
    # by hand: admission 1 at 2 h (03-01 12:00): NEWS2 rr 18: 0, SpO2 95: 1, HR 96: 1, T 38.4: 1 = 3;
    #   4C age 72: 6, male 1, one group 1, urea 8.2: 1 = 9
    assert by[(1, "03-01 12:00")] == (3, 9)
    # at 24 h (03-02 10:00): NEWS2 rr 26: 3, SpO2 90: 3, SBP 95: 2, HR 1, T 1, GCS 14: 3 = 13;
    #   4C 6 + 1 + two groups 2 + rr 1 + SpO2 2 + GCS 2 + urea 1 + CRP 120: 2 = 17
    assert by[(1, "03-02 10:00")] == (13, 17)
    # admission 2 at 2 h (03-01 10:00): NEWS2 rr 22: 2, SBP 225: 3 = 5; 4C age 55: 2, J18.9 is no group: 0,
    #   rr 22: 1, CRP 60: 1 = 4
    assert by[(2, "03-01 10:00")] == (5, 4)
    # and the card's reference rows score with the same numbers (reference_rows of model/train.py)
    y = np.array([i % 2 for i in range(len(rows))], float)
    ref = TR.reference_rows(cohort, rows, y, np.linspace(0.1, 0.9, len(rows)), np.ones(len(rows), bool))
    first = ref["first prediction"]["NEWS2"]
    assert first["missing"]["respiratory rate"]["absent"] is False
