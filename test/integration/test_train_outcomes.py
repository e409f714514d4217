"""Training for the hospital's own question, against a server, on the 1k
synthetic cohort: a first-window configuration, a death outcome end to end
(training, registry, risk(), patient_risk and icu_bi, parity with Python),
a deployment of both ICU horizons, the synthetic-default flag, rollback and
retire in a new slot, a failing stay task, the quality gate and --force, and
the landmark oracle."""
import datetime as dt
import json

import numpy as np
import psycopg2
import pytest

import scratch_db
from model import config as C
from model import load, synth
from model import metrics as M
from model import oracle as OR
from model import outcomes as O
from model import tasks as T
from model import train as TR
from model import validate as V
from model.errors import MetricError, TrainingError

REF = "2020-06-20 12:00:00+00"      # inside the 1k cohort (end date 2020-07-01)


@pytest.fixture(scope="module")
def db():
    name = scratch_db.create("icu_outc_")
    c = psycopg2.connect(dbname=name)
    load.load(synth.generate(1000, 42, dt.date(2020, 7, 1)), c)
    c.close()
    yield name
    scratch_db.drop(name)


def _cfg(**over):
    cfg = C.default()
    cfg["candidates"] = {"risk": ["logistic"], "stay": []}
    for sec, val in over.items():
        if isinstance(val, dict):
            cfg[sec].update(val)
        else:
            cfg[sec] = val
    return cfg


def _sql_predict(conn, name, version, X):
    payload = json.dumps([[None if np.isnan(v) else float(v) for v in row] for row in X])
    with conn.cursor() as cur:
        cur.execute("""
            SELECT icu_predict.model_predict(%s, %s,
                     ARRAY(SELECT CASE WHEN pg_catalog.jsonb_typeof(e) = 'null' THEN NULL
                                       ELSE (e #>> '{}')::float8 END
                             FROM pg_catalog.jsonb_array_elements(t.r) WITH ORDINALITY AS q(e, k)
                            ORDER BY q.k))
              FROM pg_catalog.jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS t(r, ord)
             ORDER BY t.ord""", (name, version, payload))
        return np.array([r[0] for r in cur.fetchall()], dtype=float)


def _inputs(conn):
    return [{"feature": f, "stat": s} for f in T.mapped_features(conn) for s in T.RISK_STATS] + \
           [{"covariate": c} for c in T.RISK_COVARIATES]


def test_first_window_configuration_trains_where_the_default_inputs_refuse(db, tmp_path):
    conn = psycopg2.connect(dbname=db)
    try:
        first2h = {"kind": "landmarks", "landmarks_hours": [2]}
        icu48 = [{"name": "icu_48h", "kind": "icu_admission", "horizon_hours": 48}]
        # the default inputs (last, max, trend) at 2 h: no lab has a trend yet
        with pytest.raises(TrainingError, match=r"input \S+:trend is missing in every training row"):
            TR.run(conn, str(tmp_path / "refused"), config=_cfg(schedule=first2h, outcomes=icu48,
                                                                deploy={"outcomes": ["icu_48h"]}))
        res = TR.run(conn, str(tmp_path / "ed"), config=_cfg(
            schedule=first2h, outcomes=icu48, inputs={"stats": ["last"]}, deploy={"outcomes": ["icu_48h"]}))
    finally:
        conn.close()
    m = res["risk"]["icu_48h"]["logistic"]
    assert m["n"] > 200 and m["events"] >= 10
    assert m["auroc"] > 0.6
    text = (tmp_path / "ed" / "README.md").read_text()
    assert "at 2 h after admission" in text and "first ICU admission within 48 h" in text


def test_death_end_to_end(db, tmp_path):
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    death = [{"name": "death_7d", "kind": "death", "horizon_hours": 168}]
    try:
        res = TR.run(conn, str(tmp_path / "death"), version="d1", deploy=True, activate=True,
                     config=_cfg(outcomes=death, deploy={"outcomes": ["death_7d"]}), force=True)
        (mod,) = [m for m in res["models"] if m["kind"] == "death"]
        with conn.cursor() as cur:
            cur.execute("SELECT kind, outcome, horizon_hours, spec FROM icu_predict.model "
                        "WHERE name = %s AND version = 'd1'", (mod["name"],))
            kind, outcome, hz, spec = cur.fetchone()
        assert (kind, outcome, hz) == ("death", "death", 168)
        # parity: the database scores the validation rows as Python does
        inputs = _inputs(conn)
        (o,) = C.validate(_cfg(outcomes=death, deploy={"outcomes": ["death_7d"]}))["outcomes"]
        rows = O.rows(conn, o, C.default()["schedule"], inputs, T.data_end(conn))
        _, va, _ = TR.temporal_split(rows, 0.7)
        X = rows[[T.input_name(i) for i in inputs]].to_numpy(float)[va]
        y = rows["label"].to_numpy(float)[va]
        p_py = TR.predict_linear_risk(spec, X)
        p_sql = _sql_predict(conn, mod["name"], "d1", X)
        assert np.max(np.abs(p_py - p_sql)) <= 1e-6
        assert M.auroc(y, p_sql) == pytest.approx(res["risk"]["death_7d"]["logistic"]["auroc"], abs=1e-6)
        assert y.sum() >= 10
        # the views: patient_risk has the death rows, scored like Python
        with conn.cursor() as cur:
            cur.execute("SET icu_predict.reference_time = %s", (REF,))
            cur.execute("CALL icu_predict.refresh()")
            cur.execute("SELECT admission_id, as_of, risk, synthetic_default, model_version "
                        "FROM icu_predict.patient_risk WHERE outcome = 'death' AND horizon_hours = 168 "
                        "ORDER BY admission_id, as_of")
            vrows = cur.fetchall()
            assert len(vrows) > 20
            assert all(r[3] is False and r[4] == "d1" for r in vrows)
            cols, params = T._select_inputs(inputs, "p.panel", "v.as_of")
            cur.execute(f"""
                SELECT {cols}
                  FROM ROWS FROM (pg_catalog.unnest(%s::bigint[]), pg_catalog.unnest(%s::timestamptz[])) AS v(admission_id, as_of)
                  JOIN icu_predict.admission a ON a.admission_id = v.admission_id
                 CROSS JOIN LATERAL (SELECT icu_predict.lab_panel_at(v.admission_id, v.as_of) AS panel) p
                 ORDER BY v.admission_id, v.as_of""",
                        params + [[r[0] for r in vrows], [r[1] for r in vrows]])
            Xv = np.array([[np.nan if v is None else float(v) for v in r] for r in cur.fetchall()])
            assert np.max(np.abs(TR.predict_linear_risk(spec, Xv) - np.array([r[2] for r in vrows]))) <= 1e-6
            # outcome_risk() gives the same number
            cur.execute("""
                SELECT pr.risk, icu_predict.outcome_risk(icu_predict.lab_panel_at(pr.admission_id, pr.as_of),
                           'death', 168, a.age_years::float8, a.sex,
                           pg_catalog.date_part('epoch', pr.as_of - a.admitted_at) / 3600.0, pr.unit_kind)
                  FROM icu_predict.patient_risk pr JOIN icu_predict.admission a USING (admission_id)
                 WHERE pr.outcome = 'death' LIMIT 20""")
            for a, b in cur.fetchall():
                assert a == pytest.approx(b, abs=1e-12)
            # the ICU row of the status horizon is patient_status.risk; it comes from the
            # shipped default model, flagged as such
            cur.execute("""
                SELECT pg_catalog.count(*), pg_catalog.max(pg_catalog.abs(pr.risk - ps.risk)),
                       pg_catalog.bool_and(pr.synthetic_default)
                  FROM icu_predict.patient_risk pr
                  JOIN icu_predict.patient_status ps USING (admission_id, day_date)
                 WHERE pr.outcome = 'icu_admission' AND pr.horizon_hours = 48""")
            n, diff, synth_flag = cur.fetchone()
            assert n == len(vrows) and diff <= 1e-12 and synth_flag is True
            # icu_bi: same rows for a user who sees every ward
            cur.execute("INSERT INTO icu_predict.ward_access VALUES (CURRENT_USER, '*') ON CONFLICT DO NOTHING")
            cur.execute("SELECT pg_catalog.count(*) FROM icu_bi.patient_risk WHERE outcome = 'death'")
            assert cur.fetchone()[0] == len(vrows)
            cur.execute("DELETE FROM icu_predict.ward_access WHERE role_name = CURRENT_USER")
    finally:
        conn.close()


def test_rollback_and_retire_in_a_new_slot(db):
    """The death slot has no shipped default: rollback says how to leave it
    empty, retire() does."""
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM icu_predict.active_model WHERE kind = 'death'")
            assert cur.fetchone()[0] == 1            # deployed by test_death_end_to_end
            with pytest.raises(psycopg2.Error) as e:
                cur.execute("SELECT * FROM icu_predict.rollback('death')")
            assert e.value.pgcode == "55000"
            assert "retire('death', 'death', 168)" in e.value.diag.message_hint
            cur.execute("SELECT * FROM icu_predict.retire('death', 'death', 168)")
            assert cur.fetchall() == []
            cur.execute("SELECT count(*) FROM icu_predict.active_model WHERE kind = 'death'")
            assert cur.fetchone()[0] == 0
            with pytest.raises(psycopg2.Error) as e:
                cur.execute("SELECT * FROM icu_predict.retire('death', 'death', 168)")
            assert e.value.pgcode == "42704"
    finally:
        conn.close()


def test_deploy_both_horizons_and_the_synthetic_default_flag(db, tmp_path):
    conn = psycopg2.connect(dbname=db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT horizon_hours, synthetic_default FROM icu_predict.active_model "
                        "WHERE kind = 'icu_admission' ORDER BY 1")
            assert cur.fetchall() == [(48, True), (168, True)]     # shipped defaults
        conn.rollback()
        res = TR.run(conn, str(tmp_path / "both"), version="b1", deploy=True, activate=True,
                     deploy_all=True, config=_cfg(), force=True)
        with conn.cursor() as cur:
            cur.execute("SELECT horizon_hours, version, source, synthetic_default FROM icu_predict.active_model "
                        "WHERE kind = 'icu_admission' ORDER BY 1")
            assert cur.fetchall() == [(48, "b1", "deployed", False), (168, "b1", "deployed", False)]
        conn.rollback()
        slots = {(s["kind"], s["horizon_hours"]): s for s in res["slots"]}
        assert slots[("icu_stay", None)]["synthetic_default"] is True     # not trained: kept
        # rollback of the 7-day slot brings its shipped default back, flagged
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM icu_predict.rollback('icu_admission')")
            cur.execute("SELECT horizon_hours, synthetic_default FROM icu_predict.active_model "
                        "WHERE kind = 'icu_admission' ORDER BY 1")
            got = cur.fetchall()
        conn.commit()
        assert sorted(x[1] for x in got) == [False, True]
    finally:
        conn.close()


def test_a_failing_stay_task_does_not_stop_the_risk_task(db, tmp_path, monkeypatch, capsys):
    def no_pairs(*a, **k):
        raise MetricError("no comparable pairs (no ended stays before a longer one)")
    monkeypatch.setattr(TR, "train_stay", no_pairs)
    rc = TR.main(["--dbname", db, "--out", str(tmp_path / "c"), "--set", 'candidates.risk=["logistic"]',
                  "--set", 'candidates.stay=["lognormal_aft"]', "--horizon", "48h"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "task icu_stay failed and was skipped: no comparable pairs" in out
    models = json.loads((tmp_path / "c" / "models.json").read_text())
    assert [m["kind"] for m in models] == ["icu_admission"]
    text = (tmp_path / "c" / "README.md").read_text()
    assert "## Tasks that failed" in text and "no comparable pairs" in text


def test_gate_refuses_and_force_deploys(db, tmp_path, capsys):
    conn = psycopg2.connect(dbname=db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM icu_predict.model")
            n0 = cur.fetchone()[0]
        conn.rollback()
        # only the age covariate: worse than the baseline on the three strongest inputs
        args = ["--dbname", db, "--set", 'candidates.risk=["logistic"]', "--set", "candidates.stay=[]",
                "--set", "inputs.stats=[]", "--set", 'inputs.covariates=["age_years"]', "--horizon", "48h",
                "--deploy", "--activate", "--version", "g1"]
        rc = TR.main(args + ["--out", str(tmp_path / "refused")])
        err = capsys.readouterr().err
        assert rc == 2 and "quality gate failed" in err and "--force" in err
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM icu_predict.model")
            assert cur.fetchone()[0] == n0
        conn.rollback()
        text = (tmp_path / "refused" / "README.md").read_text()
        assert "FAIL" in text and "baseline" in text
        rc = TR.main(args + ["--out", str(tmp_path / "forced"), "--force"])
        assert rc == 0
        with conn.cursor() as cur:
            cur.execute("SELECT metrics->'gate'->>'passed', metrics->'gate'->>'forced', training->>'forced' "
                        "FROM icu_predict.model WHERE version = 'g1'")
            assert cur.fetchone() == ("false", "true", "true")
            cur.execute("SELECT * FROM icu_predict.retire('icu_admission', 'icu_admission', 48)")
        conn.commit()
    finally:
        conn.close()


def test_landmark_oracle(db, tmp_path):
    """The model against the true risk at the same rows, as the card's table
    and the gate read it (model/validate.py oracle_comparison): on all
    validation rows at most 0.03 below it (widened by two standard errors of
    the paired difference on this 1k cohort), and at no landmark above it by
    more than the noise.  At the first prediction of each admission the gap
    is wider (0.058 on the shipped 20k models, docs/model-card.md): the true
    risk knows the latent severity that the first blood draw shows with noise.
    Given that severity, a second stage on the model's log-odds comes within
    0.03 (+ noise) of the true risk there as well: the gap is that knowledge,
    not rows, times or horizons that differ."""
    from sklearn.linear_model import LogisticRegression
    conn = psycopg2.connect(dbname=db)
    try:
        res = TR.run(conn, str(tmp_path / "lm"), config=_cfg(outcomes=[
            {"name": "icu_48h", "kind": "icu_admission", "horizon_hours": 48}]))
        inputs = _inputs(conn)
        rows = T.risk_rows(conn, 48, inputs, T.data_end(conn))
        q = OR.landmark_icu(conn, rows, 48)
        with conn.cursor() as cur:
            cur.execute("SELECT admission_id, severity FROM icu_synth.oracle")
            sev_of = dict(cur.fetchall())
        conn.rollback()
    finally:
        conn.close()
    assert q is not None and np.isfinite(q).all() and (q >= 0).all() and (q <= 1).all()
    tr, va, _ = TR.temporal_split(rows, 0.7)
    y = rows["label"].to_numpy(float)
    oc = res["oracle_comparison"]["icu_48h"]
    lms = res["landmarks"]["icu_48h"]
    idx = V.landmark_index(rows, va)
    # the same rows and numbers as the landmark table and the all-rows table
    assert oc[V.ALL_ROWS]["n"] == int(va.sum())
    assert oc[V.ALL_ROWS]["model_auroc"] == pytest.approx(res["risk"]["icu_48h"]["logistic"]["auroc"])
    assert oc[V.ALL_ROWS]["oracle_auroc"] == pytest.approx(M.auroc(y[va], q[va]))
    for name in ("first prediction", "24 h"):
        assert oc[name]["n"] == lms[name]["model"]["n"] == lms[name]["oracle"]["n"] == len(idx[name])
        assert oc[name]["model_auroc"] == pytest.approx(lms[name]["model"]["auroc"])
        assert oc[name]["oracle_auroc"] == pytest.approx(lms[name]["oracle"]["auroc"])
    print("row set: model, true risk, gap, se:",
          {k: (round(d["model_auroc"], 3), round(d["oracle_auroc"], 3), round(d["gap"], 3), round(d["gap_se"], 3))
           for k, d in oc.items()})
    a = oc[V.ALL_ROWS]
    assert a["gap"] <= 0.03 + 2 * a["gap_se"], a
    for name, d in oc.items():
        assert -d["gap"] <= 2 * d["gap_se"], (name, d)
    # what the gap at the first prediction is made of: the latent severity
    cands, _ = TR.train_risk(rows, inputs, (tr, va), candidates=["logistic"])
    X = rows[[T.input_name(i) for i in inputs]].to_numpy(float)
    p = np.clip(TR.predict_linear_risk(cands["logistic"]["spec"], X), 1e-9, 1 - 1e-9)
    sev = np.array([sev_of[int(i)] for i in rows["admission_id"]], float)
    Z = np.column_stack([np.log(p / (1 - p)), sev])
    pz = LogisticRegression(C=10.0, max_iter=2000).fit(Z[tr], y[tr]).predict_proba(Z)[:, 1]
    f = idx["first prediction"]
    gap_sev = M.auroc(y[f], q[f]) - M.auroc(y[f], pz[f])
    print("first prediction: gap of the model", round(oc["first prediction"]["gap"], 3),
          "; with the latent severity", round(gap_sev, 3))
    assert gap_sev <= 0.03 + 2 * M.auroc_diff_se(y[f], q[f], pz[f])
    assert gap_sev < oc["first prediction"]["gap"]


def test_landmark_death_oracle(db, tmp_path):
    """The true P(death within 7 days) at each row (model/oracle.py, from the
    generator's hidden state and where the patient is): calibrated on the
    realised labels, and the death model's AUROC at most 0.03 below it (widened
    by two standard errors on this 1k cohort, with few deaths) and never above
    it by more than the noise, on all validation rows and at the first
    prediction."""
    conn = psycopg2.connect(dbname=db)
    death = {"name": "death_7d", "kind": "death", "horizon_hours": 168}
    try:
        res = TR.run(conn, str(tmp_path / "dlm"), config=_cfg(outcomes=[death],
                                                               deploy={"outcomes": ["death_7d"]}))
        (o,) = C.validate(_cfg(outcomes=[death], deploy={"outcomes": ["death_7d"]}))["outcomes"]
        inputs = _inputs(conn)
        rows = O.rows(conn, o, C.default()["schedule"], inputs, T.data_end(conn))
        q = OR.landmark(conn, rows, 168, "death")
    finally:
        conn.close()
    assert q is not None and np.isfinite(q).all() and (q >= 0).all() and (q <= 1).all()
    _, va, _ = TR.temporal_split(rows, 0.7)
    y = rows["label"].to_numpy(float)
    # the oracle's own calibration on every row: mean risk = death share, within the noise
    se_mean = np.sqrt(np.sum(q * (1 - q))) / len(q)
    assert abs(q.mean() - y.mean()) < 4 * se_mean, (q.mean(), y.mean(), se_mean)
    row_oracle = M.auroc(y[va], q[va])
    pairs = [(res["risk"]["death_7d"]["logistic"]["auroc"], row_oracle, M.auroc_se(y[va], q[va]))]
    idx = V.landmark_index(rows, va)
    lm = res["landmarks"]["death_7d"]["first prediction"]
    assert lm["oracle"]["n"] == lm["model"]["n"] == len(idx["first prediction"])
    pairs.append((lm["model"]["auroc"], lm["oracle"]["auroc"], M.auroc_se(y[idx["first prediction"]],
                                                                         q[idx["first prediction"]])))
    print("model, oracle, se:", pairs)
    for model_auc, oracle_auc, se in pairs:
        assert oracle_auc - model_auc <= 0.03 + 2 * se, (model_auc, oracle_auc, se)
        assert model_auc - oracle_auc <= 2 * se, (model_auc, oracle_auc, se)
