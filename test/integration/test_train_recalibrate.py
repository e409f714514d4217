"""Recalibration as a model version (model/recalibrate.py) on the 1k synthetic
cohort: a drifted model (its intercept shifted) is recalibrated on recent
data, deployed through deploy() as a new version that names its parent, and
rollback() returns to the parent; the gate refuses a recalibration on too
few events, and --force records itself (needs a server)."""
import datetime as dt
import json

import numpy as np
import psycopg2
import pytest

import scratch_db
from model import config as CF
from model import load, synth
from model import recalibrate as R
from model import train as TR
from model.errors import TrainingError

SHIFT = 1.5       # the drift: the parent's log-odds are too high by this much


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    name = scratch_db.create("icu_recal_")
    c = psycopg2.connect(dbname=name)
    load.load(synth.generate(1000, 42, dt.date(2020, 6, 30)), c)
    cfg = CF.default()
    cfg["outcomes"] = [{"name": "icu_48h", "kind": "icu_admission", "horizon_hours": 48}]
    cfg["candidates"] = {"risk": ["logistic"], "stay": []}
    TR.run(c, str(tmp_path_factory.mktemp("card")), config=cfg, version="fitted")
    with open(tmp_path_factory.getbasetemp() / "card0" / "models.json") as f:
        (m,) = json.load(f)
    spec = dict(m["spec"], intercept=m["spec"]["intercept"] + SHIFT)
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute("INSERT INTO icu_predict.model (name, version, kind, format, spec, training, metrics) "
                    "VALUES (%s, 'drifted', 'icu_admission', 'linear', %s, %s, '{}')",
                    (m["name"], json.dumps(spec), json.dumps(m["training"])))
        cur.execute("SELECT icu_predict.deploy(%s, 'drifted')", (m["name"],))
    c.autocommit = False
    yield c, m["name"]
    c.close()
    scratch_db.drop(name)


def _active(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT m.name, m.version, m.training FROM icu_predict.active_model a "
                    "JOIN icu_predict.model m USING (model_id) "
                    "WHERE a.kind = 'icu_admission' AND a.horizon_hours = 48")
        r = cur.fetchone()
    conn.rollback()
    return r


def _split_at(conn, name):
    with conn.cursor() as cur:
        cur.execute("SELECT training->>'split_at' FROM icu_predict.model WHERE name = %s AND version = 'drifted'",
                    (name,))
        r = cur.fetchone()[0]
    conn.rollback()
    return r


def test_the_default_window_after_the_training_data_is_empty_here(drifted):
    conn, _ = drifted
    # the parent was trained up to the cohort's data end: nothing recent to recalibrate on
    with pytest.raises(R.RecalibrationError, match="no labelled rows admitted from"):
        R.run(conn, ("icu_admission", 48))


def test_slot_syntax():
    assert R.parse_slot("death:168") == ("death", 168)
    for bad in ("icu_stay:48", "icu_admission", "icu_admission:2d", "death:0"):
        with pytest.raises(R.RecalibrationError, match="--slot"):
            R.parse_slot(bad)


def test_recalibration_removes_the_drift_and_rolls_back(drifted, tmp_path):
    conn, name = drifted
    # recent data = the admissions after the parent's training split (rows it was not fitted on):
    # about 1,400 rows with 60 events, judged out of fold; the standard error of a
    # calibration intercept on 60 events is about 0.15, so "about 0" is |.| < 0.4
    since = _split_at(conn, name)
    res = R.run(conn, ("icu_admission", 48), since=since, version="recal-1",
                deploy=True, force=True, out_dir=str(tmp_path))
    before, after = res["before"], res["after"]
    # the drifted model overestimates: calibration-in-the-large about -SHIFT; after: about 0
    assert before["calibration_intercept"] == pytest.approx(-SHIFT, abs=0.5)
    assert abs(after["calibration_intercept"]) < 0.4
    assert abs(after["calibration_intercept"]) < abs(before["calibration_intercept"]) / 3
    assert res["intercept"] < -0.5 and 0.5 < res["slope"] < 2
    # the ranking is kept: the new margin is increasing in the parent's (checked in the database
    # below); out of fold each fold has its own a and b, so the pooled AUROC moves a little only
    assert after["auroc"] == pytest.approx(before["auroc"], abs=0.01)
    assert after["brier"] < before["brier"]
    # deployed through deploy(): the new version is active and names its parent and window
    nm, ver, training = _active(conn)
    assert (nm, ver) == (name, "recal-1")
    rc = training["recalibration"]
    assert rc["parent"]["version"] == "drifted" and rc["window"]["since"] == str(since)
    assert rc["window"]["events"] == after["events"] and rc["window"]["folds"] == R.FOLDS
    assert (tmp_path / "README.md").read_text().count("recalibration of") == 1
    # the database scores the folded spec as a + b x the parent's margin
    rng = np.random.default_rng(3)
    X = rng.normal(0, 1, (20, len(res["model"]["spec"]["inputs"]))) + 3
    X[rng.random(X.shape) < 0.2] = np.nan
    m_parent = R.margins(conn, name, "drifted", X)
    m_new = R.margins(conn, name, "recal-1", X)
    np.testing.assert_allclose(m_new, res["intercept"] + res["slope"] * m_parent, rtol=0, atol=1e-9)
    # rollback() returns the slot to the parent
    with conn.cursor() as cur:
        cur.execute("SELECT icu_predict.rollback('icu_admission')")
    conn.commit()
    assert _active(conn)[:2] == (name, "drifted")


def test_gate_refuses_a_recalibration_on_too_few_events(drifted):
    conn, name = drifted
    with conn.cursor() as cur:
        cur.execute("SELECT admitted_at FROM icu_predict.admission ORDER BY admitted_at")
        times = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT count(*) FROM icu_predict.model")
        n_models = cur.fetchone()[0]
    conn.rollback()
    refused = None
    for frac in (0.95, 0.93, 0.91, 0.89, 0.87, 0.85):
        since = times[int(frac * len(times))]
        try:
            R.run(conn, ("icu_admission", 48), since=since, version=f"late-{frac}", deploy=True)
        except TrainingError:
            continue                    # too few events even to fit: try an earlier window
        except TR.GateError as e:
            refused = (since, str(e))
            break
    assert refused is not None, "no window with enough events to fit and too few to pass"
    assert "validation events" in refused[1] and "not deployed" in refused[1]
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM icu_predict.model")
        assert cur.fetchone()[0] == n_models                      # nothing inserted
    conn.rollback()
    # --force deploys it anyway, recorded with the model
    res = R.run(conn, ("icu_admission", 48), since=refused[0], version="forced", deploy=True, force=True)
    assert res["deployed"] and res["gate"]["forced"] and not res["gate"]["passed"]
    nm, ver, training = _active(conn)
    assert ver == "forced" and training["forced"] is True
    with conn.cursor() as cur:
        cur.execute("SELECT metrics->'gate' FROM icu_predict.model WHERE name = %s AND version = 'forced'", (name,))
        g = cur.fetchone()[0]
    conn.rollback()
    assert g["forced"] and any("validation events" in f for f in g["failed"])


def test_xgboost_spec_folds_a_and_b_into_leaves_and_base_score(drifted):
    """The shipped default (xgboost) recalibrated: the database's margin of the
    new spec is a + b x the parent's (leaves and base_score are float32)."""
    from model import spec as S
    conn, _ = drifted
    with conn.cursor() as cur:
        cur.execute("SELECT name, version, spec FROM icu_predict.model WHERE builtin AND kind = 'icu_admission' "
                    "AND horizon_hours = 48")
        name, version, spec = cur.fetchone()
    conn.rollback()
    a, b = -0.7, 0.8
    new = R.recalibrated_spec(spec, a, b)
    assert spec["model"]["learner"]["learner_model_param"]["base_score"] != \
        new["model"]["learner"]["learner_model_param"]["base_score"]
    S.insert_model(conn, name, "xgb-recal-test", "icu_admission", new,
                   {"horizon_hours": 48, "outcome": "icu_admission"}, {})
    conn.commit()
    rng = np.random.default_rng(5)
    X = np.abs(rng.normal(0, 1, (30, len(spec["inputs"])))) * 20
    X[rng.random(X.shape) < 0.3] = np.nan
    m_old = R.margins(conn, name, version, X)
    m_new = R.margins(conn, name, "xgb-recal-test", X)
    np.testing.assert_allclose(m_new, a + b * m_old, rtol=0, atol=1e-4)
    with pytest.raises(R.RecalibrationError, match="not positive"):
        R.recalibrated_spec(spec, 0.0, -0.1)


def test_a_recalibrated_shipped_default_stays_flagged_synthetic(drifted, monkeypatch):
    """A shipped default recalibrated on local data keeps the ranking it learned
    on synthetic data: the new version is still synthetic_default in
    active_model.  "Local data" here: the cohort taken as one without an oracle."""
    conn, name = drifted
    since = _split_at(conn, name)
    with conn.cursor() as cur:
        cur.execute("SELECT name, version FROM icu_predict.model WHERE builtin AND kind = 'icu_admission' "
                    "AND horizon_hours = 48 ORDER BY model_id < 0 DESC, abs(model_id) DESC LIMIT 1")
        dname, dversion = cur.fetchone()
        cur.execute("SELECT icu_predict.deploy(%s, %s)", (dname, dversion))
    conn.commit()
    par = R.parent_model(conn, "icu_admission", 48)
    assert (par["name"], par["version"], par["synthetic_default"]) == (dname, dversion, True)
    monkeypatch.setattr(R.T, "has_oracle", lambda c: False)
    res = R.run(conn, ("icu_admission", 48), since=since, version="recal-default", deploy=True, force=True)
    training = res["model"]["training"]
    assert training["shipped_default"] is True and training["synthetic"] is True
    assert training["recalibration"]["data_synthetic"] is False
    assert training["recalibration"]["parent"]["synthetic_default"] is True
    with conn.cursor() as cur:
        cur.execute("SELECT name, version, synthetic_default FROM icu_predict.active_model "
                    "WHERE kind = 'icu_admission' AND horizon_hours = 48")
        assert cur.fetchone() == (dname, "recal-default", True)
    conn.rollback()
    # the same step from a model of the hospital's own (not shipped, trained on local data): not flagged
    with conn.cursor() as cur:
        cur.execute("INSERT INTO icu_predict.model (name, version, kind, format, spec, training, metrics) "
                    "SELECT name, 'local', kind, format, spec, training || '{\"synthetic\": false}', '{}' "
                    "FROM icu_predict.model WHERE name = %s AND version = 'drifted'", (name,))
        cur.execute("SELECT icu_predict.deploy(%s, 'local')", (name,))
    conn.commit()
    res = R.run(conn, ("icu_admission", 48), since=since, version="recal-local", deploy=True, force=True)
    training = res["model"]["training"]
    assert "shipped_default" not in training and training["synthetic"] is False
    with conn.cursor() as cur:
        cur.execute("SELECT version, synthetic_default FROM icu_predict.active_model "
                    "WHERE kind = 'icu_admission' AND horizon_hours = 48")
        assert cur.fetchone() == ("recal-local", False)
    conn.rollback()
