"""The default models shipped with the extension (icu_predict_default_models.json, loaded by 25_default_model.sql):
CREATE EXTENSION alone gives active, scoring builtin models: ICU-admission
risk within 48 hours and within 7 days, and ICU length of stay.  Their model
card is checked without a server in model/tests/test_default_card.py."""
import pytest

from model import validate as V


def test_default_models_are_active_after_create_extension(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT m.name, m.version, m.kind, m.horizon_hours, m.builtin, a.source, "
                    "       m.training, m.metrics "
                    "  FROM icu_predict.active_model a JOIN icu_predict.model m USING (model_id) "
                    " ORDER BY m.kind, m.horizon_hours")
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM icu_predict.model_deployment")
        deployments = cur.fetchone()[0]
    assert [(r[2], r[3]) for r in rows] == [("icu_admission", 48), ("icu_admission", 168), ("icu_stay", None)]
    assert deployments == 0, "the defaults are active through the builtin fallback, not the log"
    for name, version, kind, horizon, builtin, source, training, metrics in rows:
        assert name.startswith("default_") and version.startswith("synthetic-")
        assert builtin is True and source == "builtin"
        assert training["synthetic"] is True
        assert "validation" in metrics
        if kind == "icu_admission":
            assert training["horizon_hours"] == horizon
            assert training["task"] == {48: "icu_48h", 168: "icu_7d"}[horizon]
    # the run's quality gate travels with every row: passed, nothing forced
    for *_, training, metrics in rows:
        assert metrics["gate"] == {"passed": True, "forced": False, "failed": []}
        assert training["forced"] is False
    # and the figures it read (model/validate.py GATE) with the risk rows
    for *_, kind, horizon, builtin, source, training, metrics in rows:
        if kind != "icu_admission":
            continue
        v = metrics["validation"]
        assert v["events"] >= V.GATE["min_validation_events"]
        assert V.GATE["calibration_slope"][0] <= v["calibration_slope"] <= V.GATE["calibration_slope"][1]
        assert v["auroc"] - metrics["baseline"]["auroc"] >= -V.GATE["baseline_margin"]
        assert metrics["oracle"]["n"] == v["n"]                       # the same rows
        oc = metrics["oracle_comparison"]
        assert set(oc) == {"first prediction", "24 h", "72 h", V.ALL_ROWS}
        assert oc[V.ALL_ROWS]["n"] == v["n"]
        assert oc[V.ALL_ROWS]["model_auroc"] == pytest.approx(v["auroc"], abs=1e-12)
        assert oc[V.ALL_ROWS]["oracle_auroc"] == pytest.approx(metrics["oracle"]["auroc"], abs=1e-12)
        assert oc["first prediction"]["model_auroc"] == pytest.approx(
            metrics["landmarks"]["first prediction"]["model"]["auroc"], abs=1e-12)
        assert oc[V.ALL_ROWS]["gap"] <= V.GATE["oracle_margin"]
        for d in oc.values():
            assert -d["gap"] <= V.GATE["oracle_noise_z"] * d["gap_se"]


def test_default_models_score(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT a.horizon_hours, m.name, m.version, jsonb_array_length(m.spec->'inputs') "
                    "  FROM icu_predict.active_model a JOIN icu_predict.model m USING (model_id) "
                    " WHERE a.kind = 'icu_admission' ORDER BY a.horizon_hours")
        ps = {}
        for horizon, name, version, n in cur.fetchall():
            # all inputs missing: the model still gives a probability
            cur.execute("SELECT icu_predict.model_predict(%s, %s, array_fill(NULL::float8, ARRAY[%s]))",
                        (name, version, n))
            ps[horizon] = cur.fetchone()[0]
        # risk() without a model name uses the 48 h model
        cur.execute("SELECT icu_predict.risk(NULL::icu_predict.lab_panel), "
                    "       (icu_predict.active_risk_model(48)).name")
        r, name48 = cur.fetchone()
    assert set(ps) == {48, 168}
    assert all(0.0 < p < 1.0 for p in ps.values())
    assert name48.startswith("default_risk_48h")
    assert r is not None and 0.0 < r < 1.0
