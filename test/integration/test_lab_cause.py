"""Training names the real cause when an input is missing in every row: no
lab row maps to the feature, or every row of it was rejected (by reason)."""
import numpy as np
import psycopg2
import pytest

from model import train as TR
from model.errors import TrainingError


@pytest.fixture
def cur(conn):
    with conn.cursor() as c:
        c.execute("""
            INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
            VALUES (1, 'p1', '2020-01-01', 50);
            INSERT INTO icu_predict.lab_map (local_code, unit, feature) VALUES ('CRP', 'mg/L', 'crp');
            INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at)
            SELECT 1, 'CRP', 5000 + i, 'mg/L', '2020-01-02'::timestamptz + i * interval '1 hour'
              FROM generate_series(1, 49) i;
            INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at)
            VALUES (1, 'CRP', 3, 'mmol/L', '2020-01-03');
        """)
        yield c
        c.execute("DELETE FROM icu_predict.admission; DELETE FROM icu_predict.lab_map;")


def test_all_rows_rejected_names_the_reasons(cur, conn):
    msg = TR.lab_cause(conn, "crp")
    assert msg.startswith("all 50 lab rows of feature crp were rejected (49 implausible, 1 unit_not_convertible)")
    assert "outside [0, 1000]" in msg


def test_no_rows_names_lab_unmapped(cur, conn):
    assert "no lab row maps to feature ldh" in TR.lab_cause(conn, "ldh")


def test_the_training_error_carries_the_cause(cur, conn):
    err = TrainingError("input crp:last is missing in every training row; remove it or load the labs it needs (see lab_map)")
    err.feature = "crp"
    out = TR._with_lab_cause(conn, err)
    assert "missing in every training row" in str(out) and "49 implausible" in str(out)


def test_choose_linear_inputs_says_which_feature():
    X = np.full((10, 1), np.nan)
    with pytest.raises(TrainingError) as e:
        TR.choose_linear_inputs(X, [{"feature": "crp", "stat": "last"}])
    assert e.value.feature == "crp"
