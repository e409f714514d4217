"""The data file of the shipped default models (model/deploy.py,
extension/icu_predict_default_models.json): its format as the loader in
extension/sql/25_default_model.sql reads it, and the fixed model ids that
keep a deployment of a shipped model valid across retrains and restores."""
import json
import pathlib

from model import deploy

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / "extension" / "icu_predict_default_models.json"


def _model(name, kind="icu_admission", horizon=48, coef=0.5):
    spec = {"format": "linear", "intercept": -2.0, "inputs": [{"covariate": "age_years"}], "coefficients": [coef]}
    return {"name": name, "version": "synthetic-42-20000", "kind": kind, "spec": spec,
            "training": {"horizon_hours": horizon} if kind == "icu_admission" else {}, "metrics": {"auroc": 0.7}}


def test_tracked_file_is_what_the_loader_reads():
    doc = json.loads(DATA.read_text())
    assert doc["format"] == deploy.DEFAULT_MODELS_FORMAT == "icu_predict default models 1"
    ids = [m["model_id"] for m in doc["models"]]
    assert len(ids) == len(set(ids)), "every shipped model has a model_id of its own"
    # the models 0.1.0 shipped keep the ids 0.1.0 gave them (deployments point at them)
    assert {(m["name"], m["model_id"]) for m in doc["models"] if m["version"] == "synthetic-42-20000"} == {
        ("default_risk_48h_xgb", 1), ("default_risk_7d_xgb", 2), ("default_stay_xgb", 3)}
    for m in doc["models"]:
        assert set(m) == set(deploy._MODEL_KEYS)
        assert m["format"] == m["spec"]["format"]
        assert (m["horizon_hours"] is not None) == (m["kind"] == "icu_admission")
        assert m["training"]["synthetic"] is True
    DATA.read_text(encoding="ascii")   # any database encoding can read it


def test_first_file_numbers_from_one_and_a_retrain_keeps_ids():
    first = json.loads(deploy.default_models_data([_model("a_risk"), _model("a_stay", "icu_stay")], "cmd"))
    assert [(m["name"], m["model_id"]) for m in first["models"]] == [("a_risk", 1), ("a_stay", 2)]
    # same name, version and spec: same id, whatever the metrics say now
    again = _model("a_risk")
    again["metrics"] = {"auroc": 0.8}
    second = json.loads(deploy.default_models_data([_model("a_stay", "icu_stay"), again], "cmd", first))
    assert {(m["name"], m["version"], m["model_id"]) for m in second["models"]} == {
        ("a_risk", "synthetic-42-20000", 1), ("a_stay", "synthetic-42-20000", 2)}


def test_a_changed_model_gets_a_new_version_and_an_id_no_sequence_gives():
    first = json.loads(deploy.default_models_data([_model("a_risk"), _model("a_stay", "icu_stay")], "cmd"))
    changed = json.loads(deploy.default_models_data([_model("a_risk", coef=0.6), _model("a_stay", "icu_stay")],
                                                    "cmd", first))
    risk = [m for m in changed["models"] if m["name"] == "a_risk"][0]
    assert risk["version"].startswith("synthetic-42-20000-") and len(risk["version"]) == len("synthetic-42-20000-") + 8
    assert risk["model_id"] == -1
    # the model it replaces stays, unchanged, under its id, after the new ones
    assert [(m["name"], m["version"], m["model_id"]) for m in changed["models"]] == [
        ("a_risk", risk["version"], -1), ("a_stay", "synthetic-42-20000", 2),
        ("a_risk", "synthetic-42-20000", 1)]
    assert changed["models"][2] == first["models"][0]
    # and a third file keeps that one, the next new model going further down
    third = json.loads(deploy.default_models_data(
        [_model("a_risk", coef=0.6), _model("b_risk", horizon=168)], "cmd", changed))
    assert [(m["name"], m["model_id"]) for m in third["models"]] == [
        ("a_risk", -1), ("b_risk", -2), ("a_stay", 2), ("a_risk", 1)]


def test_models_no_longer_trained_stay_in_the_file_as_they_were(tmp_path):
    """A database that deployed or edited a shipped model, or a dump that
    holds a deployment of it, must find its row after an update or a restore
    into a later version's files: a retrain adds models, it never removes
    one.  The row is copied byte for byte."""
    path = tmp_path / "models.json"
    deploy.write_default_models(str(path), [_model("a_risk"), _model("a_stay", "icu_stay")], "cmd")
    first_lines = path.read_text().splitlines()
    deploy.write_default_models(str(path), [_model("a_risk", coef=0.7), _model("a_stay", "icu_stay", coef=0.9)],
                                "cmd")
    lines = path.read_text().splitlines()
    doc = json.loads(path.read_text())
    assert [m["model_id"] for m in doc["models"]] == [-1, -2, 1, 2]
    assert lines[4 + 2:4 + 4] == first_lines[4:6]
    # writing the same models again changes nothing
    deploy.write_default_models(str(path), [_model("a_risk", coef=0.7), _model("a_stay", "icu_stay", coef=0.9)],
                                "cmd")
    assert path.read_text().splitlines() == lines


def test_write_keeps_the_ids_of_the_file_there(tmp_path):
    path = tmp_path / "models.json"
    deploy.write_default_models(str(path), [_model("a_risk"), _model("a_stay", "icu_stay")], "cmd")
    deploy.write_default_models(str(path), [_model("a_stay", "icu_stay"), _model("a_risk")], "cmd")
    doc = json.loads(path.read_text())
    assert [(m["name"], m["model_id"]) for m in doc["models"]] == [("a_stay", 2), ("a_risk", 1)]
    # one model per line: a retrain's diff names the models that changed
    assert len(path.read_text().splitlines()) == 4 + 2 + 1


def test_card_names_the_registry_rows(tmp_path):
    """The card lists the rows the data file ships for this run's models: the row of the
    same name and spec (a retrain's suffixed version, not the earlier shipped one, and not a
    newer id whose spec differs), replacing an earlier such section."""
    from model import default_model
    first = [_model("r48"), _model("stay", kind="icu_stay")]
    retrain = [_model("r48", coef=0.9), _model("stay", kind="icu_stay")]
    doc = json.loads(deploy.default_models_data(retrain, "cmd",
                                                json.loads(deploy.default_models_data(first, "cmd"))))
    doc["models"] += [m for m in json.loads(deploy.default_models_data(first, "cmd"))["models"]
                      if m["name"] == "r48"]                    # the earlier row kept
    data = tmp_path / "models.json"
    data.write_text(json.dumps(doc))
    card = tmp_path / "card"
    card.mkdir()
    (card / "README.md").write_text("# Model card\n\nbody\n")
    for _ in range(2):
        default_model.card_registry_rows(str(card), str(data), retrain)
    text = (card / "README.md").read_text()
    assert text.count(default_model.REGISTRY_HEADING) == 1 and text.startswith("# Model card\n\nbody\n")
    new48 = next(m for m in doc["models"] if m["name"] == "r48" and m["model_id"] < 0)
    assert f"| {new48['model_id']} | r48 | {new48['version']} | icu_admission | 48 |" in text
    assert "| 2 | stay | synthetic-42-20000 | icu_stay |  |" in text
    assert "| 1 | r48 |" not in text
    # a run that reproduces the first spec names the first row, although a newer id exists
    default_model.card_registry_rows(str(card), str(data), first)
    assert "| 1 | r48 | synthetic-42-20000 | icu_admission | 48 |" in (card / "README.md").read_text()
    # a spec the file does not hold: the newest row of the name
    default_model.card_registry_rows(str(card), str(data), [_model("r48", coef=0.1)])
    assert f"| {new48['model_id']} | r48 |" in (card / "README.md").read_text()
