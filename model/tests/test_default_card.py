"""The model card of the default models (docs/default-model/) warns first that
they were trained on synthetic data."""
import os


def test_default_card_says_synthetic_first():
    card = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "default-model", "README.md")
    with open(card) as f:
        first = f.readline()
    assert "synthetic data" in first and "retrained on local data" in first
