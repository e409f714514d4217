"""The default models shipped in the install script (25_default_model.sql):
CREATE EXTENSION alone gives an active, scoring model of each kind."""
import os


def test_default_models_are_active_after_create_extension(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT name, version, kind, training, metrics FROM icu_predict.model "
                    "WHERE active ORDER BY kind")
        rows = cur.fetchall()
    assert [r[2] for r in rows] == ["icu_admission", "icu_stay"]
    for name, version, kind, training, metrics in rows:
        assert name.startswith("default_") and version.startswith("synthetic-")
        assert training["synthetic"] is True
        assert "validation" in metrics
    risk = rows[0][4]
    # the quality gate's numbers travel with the row
    assert risk["gate"]["passed"] is True
    assert abs(risk["gate"]["oracle_auroc"] - risk["gate"]["model_auroc"]) <= 0.03 \
        or risk["gate"]["model_auroc"] > risk["gate"]["oracle_auroc"]
    assert 0.9 <= risk["gate"]["calibration_slope"] <= 1.1


def test_default_models_score(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT name, version, jsonb_array_length(spec->'inputs') FROM icu_predict.model "
                    "WHERE active AND kind = 'icu_admission'")
        name, version, n = cur.fetchone()
        # all inputs missing: the model still gives a probability
        cur.execute("SELECT icu_predict.model_predict(%s, %s, array_fill(NULL::float8, ARRAY[%s]))",
                    (name, version, n))
        p = cur.fetchone()[0]
    assert 0.0 < p < 1.0


def test_default_card_says_synthetic_first():
    card = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "default-model", "README.md")
    with open(card) as f:
        first = f.readline()
    assert "synthetic data" in first and "retrained on local data" in first
