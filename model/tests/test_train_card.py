"""The model card: first line, tables, plots and metrics.json (no server)."""
import json
import os

import numpy as np

from model import card as C
from model import metrics as M


def _fake_card(synthetic=True):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.2 + 0.5 * y + rng.normal(0, 0.2, 300), 0.01, 0.99)
    t = rng.exponential(10, 120) + 0.5
    e = (rng.random(120) < 0.8).astype(int)
    med = t * np.exp(rng.normal(0, 0.3, 120))
    return {
        "title": "test", "synthetic": synthetic,
        "model": {"name": "icu_risk_48h", "version": 1, "kind": "logistic",
                  "features": ["crp:last", "age_years"]},
        "tasks": {"icu_48h": "ICU within 48 h"},
        "data": {"admissions": 100}, "split": {"split_at": "2020-04-01"},
        "risk": {"icu_48h": {"logistic": {
            "y": y, "p": p, "metrics": M.risk_report(y, p), "proposed": True,
            "bins": M.calibration_bins(y, p), "net_benefit": M.net_benefit(y, p)}}},
        "oracle": {"icu_48h": M.risk_report(y, p)},
        "stay": {"aft": {"metrics": M.stay_report(t, e, med, med / 2, med * 2)}},
        "gate": {"rows": [{"what": "AUROC gap", "value": 0.01, "target": "<= 0.03", "ok": True}]},
    }


def test_card_files_and_first_line(tmp_path):
    nums = C.write_card(tmp_path, _fake_card())
    text = (tmp_path / "README.md").read_text()
    first = text.splitlines()[0]
    assert "synthetic data" in first and "retrained on local data" in first
    for png in ("roc.png", "calibration.png", "decision_curve.png", "stay_calibration.png"):
        path = tmp_path / png
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(path) > 5000
    assert "AUROC (95% CI)" in text and "Harrell C" in text and "pass" in text
    stored = json.loads((tmp_path / "metrics.json").read_text())
    assert stored == nums
    assert "y" not in stored["risk"]["icu_48h"]["logistic"]
    assert 0.5 < stored["risk"]["icu_48h"]["logistic"]["metrics"]["auroc"] <= 1


def test_card_for_local_data_has_no_synthetic_warning(tmp_path):
    C.write_card(tmp_path, _fake_card(synthetic=False))
    assert not (tmp_path / "README.md").read_text().startswith(C.SYNTHETIC_WARNING)
