"""Prediction schedules and outcomes of model/outcomes.py on the hand-made
cohort of test_train_tasks.py: landmark times, a daily clock time, death
labels, and the generic rows equal to the classic ICU rows (needs a server)."""
import pytest

from model import config as C
from model import outcomes as O
from model import tasks as T
from test_train_tasks import COHORT, DATA_END, INPUTS, UTC


@pytest.fixture(scope="module")
def cohort(dbname):
    import psycopg2
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute(COHORT)
        # admission 2 ended in death on 03-04 08:00
        cur.execute("UPDATE icu_predict.admission SET died_in_hospital = (admission_id = 2) "
                    "WHERE discharged_at IS NOT NULL")
    yield c
    c.close()


def _labels(df):
    return {(int(a), t.astimezone(UTC).strftime("%m-%d %H:%M")): int(y)
            for a, t, y in zip(df.admission_id, df.as_of, df.label)}


ICU48 = {"kind": "icu_admission", "horizon_hours": 48, "outcome": "icu_admission"}
DEATH48 = {"kind": "death", "horizon_hours": 48, "outcome": "death"}
LANDMARKS = {"kind": "landmarks", "at": "00:00", "every_hours": 24, "landmarks_hours": [2, 24, 72]}


def test_landmarks_icu(cohort):
    df = O.rows(cohort, ICU48, LANDMARKS, INPUTS, DATA_END)
    assert _labels(df) == {
        (1, "03-01 12:00"): 1, (1, "03-02 10:00"): 1,     # ICU 03-03 06:00; 72 h is in the ICU
        (2, "03-01 10:00"): 0, (2, "03-02 08:00"): 0,     # 72 h = discharge: not in hospital
        (3, "03-09 10:00"): 0,                            # 24 h: horizon past the data end
        (4, "03-10 02:00"): 1,                            # ICU 10 h later; 24 h is in the ICU
    }
    r = df.set_index(["admission_id"]).sort_values("as_of")
    first1 = df[(df.admission_id == 1)].sort_values("as_of").iloc[0]
    assert first1["crp:last"] == pytest.approx(50)            # resulted at 12:00, the landmark itself
    assert first1["hours_since_admission"] == pytest.approx(2)
    assert first1["creatinine:last"] != first1["creatinine:last"]   # 13:00: not known yet (NaN)
    assert len(r) == 6


def test_landmarks_death_includes_icu_time(cohort):
    df = O.rows(cohort, DEATH48, LANDMARKS, INPUTS, DATA_END)
    assert _labels(df) == {
        (1, "03-01 12:00"): 0, (1, "03-02 10:00"): 0, (1, "03-04 10:00"): 0,   # 72 h: in the ICU
        (2, "03-01 10:00"): 0,                            # death 70 h later
        (2, "03-02 08:00"): 1,                            # death exactly 48 h later
        (3, "03-09 10:00"): 0,
        # admission 4: still admitted, every horizon past the data end
    }


def test_daily_at_a_clock_time(cohort):
    sch = dict(LANDMARKS, kind="daily", at="08:00")
    df = O.rows(cohort, ICU48, sch, INPUTS, DATA_END)
    assert _labels(df) == {
        (1, "03-02 08:00"): 1,
        (2, "03-02 08:00"): 0, (2, "03-03 08:00"): 0,
        (4, "03-10 08:00"): 1,
    }


def test_every_n_hours(cohort):
    sch = dict(LANDMARKS, kind="every", every_hours=12)
    df = O.rows(cohort, DEATH48, sch, INPUTS, DATA_END)
    got = _labels(df)
    adm2 = {k: v for k, v in got.items() if k[0] == 2}
    # admitted 03-01 08:00, died 03-04 08:00: every 12 h until the death (excluded)
    assert adm2 == {(2, "03-01 20:00"): 0, (2, "03-02 08:00"): 1, (2, "03-02 20:00"): 1,
                    (2, "03-03 08:00"): 1, (2, "03-03 20:00"): 1}


def test_generic_rows_reproduce_the_classic_icu_rows(cohort):
    daily = C.default()["schedule"]
    a = O.rows(cohort, ICU48, daily, INPUTS, DATA_END)
    b = T.risk_rows(cohort, 48, INPUTS, DATA_END)
    assert a.shape == b.shape
    assert a.fillna(-1).equals(b.fillna(-1))


def test_event_outcome_from_a_user_table(cohort):
    with cohort.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS public.vent (admission_id bigint, started_at timestamptz)")
        cur.execute("TRUNCATE public.vent")
        cur.execute("INSERT INTO public.vent VALUES (2, '2020-03-02 12:00+00'), (2, '2020-03-03 12:00+00'), "
                    "(99, '2020-03-02 12:00+00')")
    cfg = C.default()
    cfg["outcomes"] = [{"kind": "event", "event": "ventilation", "table": "public.vent",
                        "time_column": "started_at", "horizon_hours": 24}]
    cfg["deploy"]["outcomes"] = []
    (o,) = C.validate(cfg)["outcomes"]
    df = O.rows(cohort, o, LANDMARKS, INPUTS, DATA_END)
    adm2 = {k: v for k, v in _labels(df).items() if k[0] == 2}
    # first ventilation 03-02 12:00: 2 h landmark (03-01 10:00) is 26 h before it, 24 h is 4 h before
    assert adm2 == {(2, "03-01 10:00"): 0, (2, "03-02 08:00"): 1}
    assert O.event_rows_outside(cohort, o, DATA_END) == (3, 1)   # admission 99 does not exist


RESULTS = dict(LANDMARKS, kind="results", max_per_admission=48)


def test_at_each_new_result(cohort):
    df = O.rows(cohort, ICU48, RESULTS, INPUTS, DATA_END)
    assert _labels(df) == {
        # admission 1: results 03-01 12:00 (CRP), 13:00 (creatinine), 03-02 00:00:01 (CRP);
        # the CRP of 03-03 07:00 is after ICU arrival (06:00): no row
        (1, "03-01 12:00"): 1, (1, "03-01 13:00"): 1, (1, "03-02 00:00"): 1,
        (2, "03-01 09:00"): 0,                            # discharged 03-04 08:00 without ICU
        (4, "03-10 06:00"): 1,                            # the 13:00 result is in the ICU
    }                                                     # admission 3 has no result: no row
    a1 = df[df.admission_id == 1].sort_values("as_of")
    # the panel at a result time holds that result
    assert list(a1["crp:last"]) == pytest.approx([50, 50, 100])
    assert a1["creatinine:last"].iloc[0] != a1["creatinine:last"].iloc[0]     # NaN at 12:00
    assert a1["creatinine:last"].iloc[1] == pytest.approx(1.0)
    assert list(a1["hours_since_admission"]) == pytest.approx([2, 3, 14 + 1 / 3600])


def test_at_each_new_result_capped_and_deduplicated(dbname, cohort):
    import psycopg2
    c = psycopg2.connect(dbname=dbname)     # not autocommit: the rows below are rolled back
    try:
        with c.cursor() as cur:
            # two labs of admission 3 at one time: one prediction time; a third later
            cur.execute("INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at) "
                        "VALUES (3, 'CRP', 20, 'mg/L', '2020-03-09 10:00+00'), "
                        "(3, 'KREA', 100, 'umol/L', '2020-03-09 10:00+00'), "
                        "(3, 'CRP', 40, 'mg/L', '2020-03-09 16:00+00')")
        df = O.rows(c, ICU48, dict(RESULTS, max_per_admission=2), INPUTS, DATA_END)
    finally:
        c.rollback()
        c.close()
    got = _labels(df)
    assert {k: v for k, v in got.items() if k[0] == 3} == {(3, "03-09 10:00"): 0, (3, "03-09 16:00"): 0}
    # admission 1 keeps its first two result times of three
    assert {k for k in got if k[0] == 1} == {(1, "03-01 12:00"), (1, "03-01 13:00")}
    a3 = df[df.admission_id == 3].sort_values("as_of")
    assert list(a3["crp:last"]) == pytest.approx([20, 40])
