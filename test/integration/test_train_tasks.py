"""Task construction on a hand-made cohort: labels, exclusions, censoring and
as-of features exactly as model/tasks.py defines them (needs a server)."""
import datetime as dt

import pytest

from model import tasks as T

UTC = dt.timezone.utc


def ts(s):
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC)


COHORT = """
SET icu_predict.day_timezone = 'UTC';
SET TimeZone = 'UTC';
INSERT INTO icu_predict.lab_map (local_code, unit, feature, factor) VALUES
    ('CRP', 'mg/L', 'crp', 1), ('KREA', 'umol/L', 'creatinine', 0.011312217194570135);
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, discharged_at, age_years, sex) VALUES
    (1, 'A', '2020-03-01 10:00+00', '2020-03-08 12:00+00', 70, 'male'),
    (2, 'B', '2020-03-01 08:00+00', '2020-03-04 08:00+00', 50, 'female'),
    (3, 'C', '2020-03-09 08:00+00', NULL, 60, 'unknown'),
    (4, 'D', '2020-03-10 00:00+00', NULL, 80, 'male');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, started_at, ended_at) VALUES
    (1, 'W1', 'ward', '2020-03-01 10:00+00', '2020-03-03 06:00+00'),
    (1, 'IC', 'icu',  '2020-03-03 06:00+00', '2020-03-06 12:00+00'),
    (1, 'W1', 'ward', '2020-03-06 12:00+00', '2020-03-08 12:00+00'),
    (2, 'W2', 'ward', '2020-03-01 08:00+00', '2020-03-04 08:00+00'),
    (3, 'W2', 'ward', '2020-03-09 08:00+00', NULL),
    (4, 'W1', 'ward', '2020-03-10 00:00+00', '2020-03-10 12:00+00'),
    (4, 'IC', 'icu',  '2020-03-10 12:00+00', NULL);
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) VALUES
    (1, 'CRP', 50,  'mg/L',   '2020-03-01 12:00+00'),
    (1, 'CRP', 100, 'mg/L',   '2020-03-02 00:00:01+00'),   -- one second after day 1 ends
    (1, 'KREA', 88.4, 'umol/L', '2020-03-01 13:00+00'),
    (1, 'CRP', 300, 'mg/L',   '2020-03-03 07:00+00'),      -- in the ICU
    (2, 'CRP', 5,   'mg/L',   '2020-03-01 09:00+00'),
    (4, 'CRP', 200, 'mg/L',   '2020-03-10 06:00+00'),
    (4, 'CRP', 250, 'mg/L',   '2020-03-10 13:00+00');      -- after ICU arrival
"""
DATA_END = ts("2020-03-12 00:00:00")


@pytest.fixture(scope="module")
def cohort(dbname):
    import psycopg2
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute(COHORT)
    yield c
    c.close()


INPUTS = [{"feature": "crp", "stat": "last"}, {"feature": "crp", "stat": "max"},
          {"feature": "creatinine", "stat": "last"}, {"covariate": "age_years"},
          {"covariate": "sex_male"}, {"covariate": "hours_since_admission"}]


def _rows(df):
    return {(int(r.admission_id), r.as_of.astimezone(UTC).isoformat()): r for r in df.itertuples(index=False)}


def test_icu_48h_rows_labels_and_asof(cohort):
    df = T.risk_rows(cohort, 48, INPUTS, DATA_END)
    got = {(int(a), t.astimezone(UTC).strftime("%m-%d %H:%M")): int(y)
           for a, t, y in zip(df.admission_id, df.as_of, df.label)}
    assert got == {
        # admission 1: ICU at 03-03 06:00, 30 h and 6 h after the two ward day ends;
        # later days are after the ICU arrival and left out
        (1, "03-02 00:00"): 1, (1, "03-03 00:00"): 1,
        # admission 2: discharged 03-04 08:00 without ICU: outcome known, 0
        (2, "03-02 00:00"): 0, (2, "03-03 00:00"): 0, (2, "03-04 00:00"): 0,
        # admission 3: still admitted; only the day whose 48 h end by the data end
        (3, "03-10 00:00"): 0,
        # admission 4: in the ICU before its first day ended: no ward rows
    }
    # the CRP resulted one second after the first day ended is not in its panel
    row1 = df[(df.admission_id == 1)].sort_values("as_of").iloc[0]
    row2 = df[(df.admission_id == 1)].sort_values("as_of").iloc[1]
    assert row1["crp:last"] == pytest.approx(50)
    assert row1["crp:max"] == pytest.approx(50)
    assert row2["crp:last"] == pytest.approx(100)
    # creatinine converted from umol/L by lab_map
    assert row1["creatinine:last"] == pytest.approx(1.0)
    assert row1["age_years"] == 70 and row1["sex_male"] == 1
    assert row1["hours_since_admission"] == pytest.approx(14.0)
    c3 = df[df.admission_id == 3].iloc[0]
    assert c3["sex_male"] != c3["sex_male"]          # unknown sex is missing (NaN)
    assert c3["crp:last"] != c3["crp:last"]          # no labs: missing


def test_icu_7d_rows_need_the_whole_horizon_known(cohort):
    df = T.risk_rows(cohort, 168, INPUTS, DATA_END)
    got = {(int(a), t.astimezone(UTC).strftime("%m-%d")): int(y)
           for a, t, y in zip(df.admission_id, df.as_of, df.label)}
    # admission 3 is open and its 7 days reach past the data end: no row
    assert got == {(1, "03-02"): 1, (1, "03-03"): 1,
                   (2, "03-02"): 0, (2, "03-03"): 0, (2, "03-04"): 0}


def test_data_end_earlier_hides_later_outcomes(cohort):
    # data ending 03-02 12:00: neither the ICU arrival of admission 1 nor the
    # discharge of admission 2 is known yet, so no 48 h outcome is known ...
    end = ts("2020-03-02 12:00:00")
    assert len(T.risk_rows(cohort, 48, INPUTS, end)) == 0
    # ... but a 6 h horizon from 03-02 00:00 lies before the end: label 0
    df = T.risk_rows(cohort, 6, INPUTS, end)
    got = sorted((int(a), int(y)) for a, y in zip(df.admission_id, df.label))
    assert got == [(1, 0), (2, 0)]


def test_stay_rows_censoring_and_asof(cohort):
    df = T.stay_rows(cohort, INPUTS, DATA_END).sort_values("admission_id")
    assert list(df.admission_id) == [1, 4]
    a1, a4 = df.iloc[0], df.iloc[1]
    assert a1["ended"] == 1 and a1["stay_days"] == pytest.approx(3.25)
    # still in the ICU at the data end: censored there
    assert a4["ended"] == 0 and a4["stay_days"] == pytest.approx(1.5)
    # features as of ICU arrival: later labs are not seen
    assert a1["crp:last"] == pytest.approx(100) and a1["crp:max"] == pytest.approx(100)
    assert a4["crp:last"] == pytest.approx(200)
    assert a1["hours_since_admission"] == pytest.approx(44.0)


def test_inputs_offered_are_the_mapped_features(cohort):
    assert T.mapped_features(cohort) == ["creatinine", "crp"]
    names = [T.input_name(i) for i in T.risk_inputs(cohort)]
    assert "crp:last" in names and "creatinine:trend" in names and "age_years" in names
    assert not any(n.startswith("ldh") for n in names)
