"""unit_key(): the rules of extension/src/canonical/unit_key.c, without a server
(test/integration/test_unit_key.py compares with the server's function)."""
import pytest

from model import mimic, synth
from model.units import unit_key


@pytest.mark.parametrize("unit,key", [
    ("mg/L", "mg/l"),
    ("MG / L", "mg/l"),
    ("10^9/L", "10^9/l"),
    ("\u00b5mol/L", "umol/l"),        # micro sign
    ("\u03bcmol/L", "umol/l"),        # Greek small mu
    ("\u039cMOL/L", "umol/l"),        # Greek capital mu
    ("\u00c4U/L", "\u00c4u/l"),       # non-ASCII letters keep their case
    ("\u0130U", "\u0130u"),           # Python's lower() would give 'i̇u'
    ("mg\t/dL", "mg\t/dl"),           # only U+0020 is removed
    ("\u00a0mg", "\u00a0mg"),         # no-break space is kept
    ("", ""),
    (None, ""),
])
def test_rules_of_the_c_function(unit, key):
    assert unit_key(unit) == key


def test_loaders_use_the_one_definition():
    assert mimic.unit_key is unit_key
    assert synth.unit_key is unit_key
