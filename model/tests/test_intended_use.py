"""The intended-use statement of every card (model/intended_use.py): built
from the configuration and the run's validation, and printed by the card."""
from model import card as C
from model import config as CF
from model import intended_use as IU

SPLIT = {"split_at": "2020-05-01 00:00:00+00:00", "train_admissions": 700, "validation_admissions": 290}


def _cfg(**over):
    cfg = CF.default()
    for k, v in over.items():
        cfg = CF.apply_set(cfg, f"{k}={v}")
    return CF.validate(cfg)


def test_every_heading_and_the_configuration_in_it():
    cfg = _cfg(**{"schedule.kind": "landmarks", "schedule.landmarks_hours": "[2]"})
    s = IU.statement(cfg, False, True, "2020-07-01", SPLIT,
                     {"icu_48h": (290, 31, 0.7512, 0.70, 0.80)}, {"passed": False, "forced": True})
    assert list(s) == ["population", "setting", "outcome and horizon", "prediction times", "inputs",
                       "must not be used for", "validation it rests on"]
    assert "no ICU stay so far" in s["population"] and "arriving in the ICU" in s["population"]
    assert "icu_48h: first ICU admission within 48 hours" in s["outcome and horizon"]
    assert "icu_7d: first ICU admission within 7 days" in s["outcome and horizon"]
    assert "at 2 h after admission" in s["prediction times"]
    assert "limitation-of-care" in s["must not be used for"]
    assert "synthetic" not in s["must not be used for"] and "up to 2020-07-01" in s["setting"]
    v = s["validation it rests on"]
    assert "700 admissions before 2020-05-01" in v and "290 later admissions" in v
    assert "AUROC 0.751 (95% CI 0.700–0.800)" in v and "FAILED (deployed with --force)" in v


def test_death_outcome_synthetic_no_stay():
    cfg = CF.default()
    cfg["outcomes"] = [{"kind": "death", "horizon_hours": 168}]
    cfg["deploy"]["outcomes"] = []
    cfg = CF.validate(cfg)
    s = IU.statement(cfg, True, False, "2020-07-01", SPLIT, {}, {"passed": True})
    assert "ICU days included" in s["population"] and "ICU" not in s["population"].split("ICU days")[0]
    assert "death_7d: in-hospital death" in s["outcome and horizon"]
    assert "length of stay" not in s["outcome and horizon"]
    assert s["must not be used for"].startswith("any clinical use: it was trained on synthetic data")
    assert s["setting"].startswith("None: the model was trained on the synthetic cohort")
    assert s["validation it rests on"].endswith("quality gate passed. No external or prospective validation.")


def test_card_prints_the_statement_as_a_table(tmp_path):
    cfg = _cfg()
    s = IU.statement(cfg, False, True, "2020-07-01", SPLIT, {}, None)
    C.write_card(tmp_path, {"title": "t", "intended_use": s})
    text = (tmp_path / "README.md").read_text()
    section = text.split("## Intended use", 1)[1].split("\n## ", 1)[0]
    for k, v in s.items():
        assert f"| {k} | {v} |" in section
