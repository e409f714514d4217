"""The training configuration (model/config.py): defaults that reproduce the
classic run, files in TOML and JSON, --set overrides, and clear errors."""
import json

import pytest

from model import config as C
from model import tasks as T
from model import train as TR


def test_defaults_are_the_classic_run():
    cfg = C.validate(C.default())
    assert [(o["name"], o["kind"], o["horizon_hours"]) for o in cfg["outcomes"]] == \
        [("icu_48h", "icu_admission", 48), ("icu_7d", "icu_admission", 168)]
    assert cfg["inputs"]["stats"] == list(T.RISK_STATS)
    assert cfg["inputs"]["covariates"] == list(T.RISK_COVARIATES)
    assert cfg["schedule"]["kind"] == "daily" and cfg["schedule"]["at"] == "00:00"
    assert cfg["deploy"]["outcomes"] == ["icu_48h"]
    assert cfg["split"]["train_fraction"] == 0.7
    # the classic call style gives the same configuration
    assert C.validate(TR.legacy_config()) == cfg


def test_toml_file_with_overrides(tmp_path):
    p = tmp_path / "training.toml"
    p.write_text("""
[inputs]
stats = ["last"]
[schedule]
kind = "landmarks"
landmarks_hours = [2]
[[outcomes]]
kind = "death"
horizon_hours = 720
[deploy]
outcomes = ["death_30d"]
""")
    cfg = C.read(str(p))
    cfg = C.apply_set(cfg, "schedule.landmarks_hours=[2, 6]")
    cfg = C.apply_set(cfg, "inputs.transforms.crp:last=log")
    cfg = C.validate(cfg)
    assert cfg["schedule"]["landmarks_hours"] == [2, 6]
    assert cfg["inputs"]["stats"] == ["last"]
    assert cfg["inputs"]["transforms"] == {"crp:last": "log"}
    (o,) = cfg["outcomes"]
    assert (o["name"], o["outcome"], o["horizon_hours"]) == ("death_30d", "death", 720)
    assert C.describe_schedule(cfg["schedule"]) == "at 2 h, 6 h after admission"


def test_json_file_and_event_outcome(tmp_path):
    p = tmp_path / "training.json"
    p.write_text(json.dumps({"outcomes": [{"kind": "event", "event": "ventilation",
                                           "table": "local.vent", "time_column": "started_at",
                                           "horizon_hours": 24}],
                             "deploy": {"outcomes": ["ventilation_24h"]}}))
    (o,) = C.validate(C.read(str(p)))["outcomes"]
    assert o["outcome"] == "ventilation" and o["admission_column"] == "admission_id"
    assert o["time_column"] == "started_at" and o["name"] == "ventilation_24h"


@pytest.mark.parametrize("over, message", [
    ({"schedule": {"kind": "hourly"}}, "schedule.kind: unknown schedule 'hourly'"),
    ({"schedule": {"at": "25:00"}}, "schedule.at must be a clock time"),
    ({"schedule": {"landmarks_hours": [2, 2]}}, "landmark twice"),
    ({"inputs": {"stats": ["median"]}}, "inputs.stats: unknown value 'median'"),
    ({"inputs": {"covariates": ["bmi"]}}, "covariate bmi is not offered for training"),
    ({"inputs": {"transforms": {"crp:last": "sqrt"}}}, "unknown transform 'sqrt'"),
    ({"outcomes": [{"kind": "sepsis", "horizon_hours": 48}]}, "unknown outcome 'sepsis'"),
    ({"outcomes": [{"kind": "death"}]}, "horizon_hours is required"),
    ({"outcomes": [{"kind": "death", "horizon_hours": 9000}]}, "between 1 and 8760"),
    ({"outcomes": [{"kind": "event", "event": "vent", "table": "x; drop table y",
                    "horizon_hours": 24}]}, "must name a table"),
    ({"split": {"train_fraction": 0.95}}, "between 0.2 and 0.9"),
    ({"candidates": {"risk": []}}, "at least one"),
    ({"deploy": {"outcomes": ["death_7d"]}}, "'death_7d' is not one of the outcomes"),
    ({"shedule": {}}, "unknown section 'shedule'"),
    ({"schedule": {"evry_hours": 4}}, "unknown key schedule.evry_hours"),
])
def test_bad_configurations_name_the_key(over, message):
    with pytest.raises(C.ConfigError) as e:
        C.validate(C.merge(C.default(), over))
    assert message in str(e.value)


def test_bad_files(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[schedule\nkind = 1")
    with pytest.raises(C.ConfigError, match="not valid TOML"):
        C.read(str(p))
    q = tmp_path / "bad.json"
    q.write_text("[1, 2]")
    with pytest.raises(C.ConfigError, match="must be a table"):
        C.read(str(q))
    with pytest.raises(C.ConfigError, match="expected KEY=VALUE"):
        C.apply_set(C.default(), "schedule.kind")


def test_transform_override_in_the_linear_preprocessing():
    import numpy as np
    X = np.c_[np.geomspace(1, 1000, 200), np.linspace(-5, 5, 200)]
    inputs = [{"feature": "crp", "stat": "last"}, {"feature": "crp", "stat": "trend"}]
    auto = TR.choose_linear_inputs(X, inputs)
    assert auto[0]["transform"] == "log" and "transform" not in auto[1]
    forced = TR.choose_linear_inputs(X, inputs, {"crp:last": "none"})
    assert "transform" not in forced[0]
    with pytest.raises(TR.TrainingError, match="log1p needs values >= 0"):
        TR.choose_linear_inputs(X, inputs, {"crp:trend": "log1p"})


def test_a_validated_configuration_validates_again():
    cfg = C.validate(C.default())
    assert C.validate(cfg) == cfg


def test_the_worked_configurations_in_the_docs_are_valid():
    import pathlib
    folder = pathlib.Path(__file__).resolve().parents[2] / "docs" / "training-examples"
    files = sorted(folder.glob("*.toml"))
    assert len(files) >= 2
    for f in files:
        cfg = C.validate(C.read(str(f)))
        assert cfg["deploy"]["outcomes"], f


def test_results_schedule_is_offered_with_a_cap():
    cfg = C.apply_set(C.default(), "schedule.kind=results")
    cfg = C.apply_set(cfg, "schedule.max_per_admission=10")
    v = C.validate(cfg)
    assert v["schedule"]["kind"] == "results" and v["schedule"]["max_per_admission"] == 10
    assert "each new lab result" in C.describe_schedule(v["schedule"])
    assert "first 10" in C.describe_schedule(v["schedule"])
    for bad in (0, 1001, 2.5, True, "many"):
        c2 = C.apply_set(C.default(), f"schedule.max_per_admission={json.dumps(bad)}")
        with pytest.raises(C.ConfigError, match="schedule.max_per_admission"):
            C.validate(c2)
