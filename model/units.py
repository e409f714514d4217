"""Unit spellings: the Python definition of icu_predict.unit_key().

The rule is the extension's (extension/src/canonical/unit_key.c), to the
character: ASCII letters A-Z are lower-cased, spaces (U+0020 only) are
removed, the micro sign U+00B5 and Greek mu U+03BC and U+039C become 'u',
and every other character is kept as it is (no case folding beyond ASCII,
so 'Ä' stays 'Ä').  None becomes ''.  This is the rule of a UTF-8 database;
in other encodings the C function folds ASCII only.

The loaders use it to build lab_map rows with the same key that the
generated column lab_map.unit_key and lab_canonical compute in the server;
test/integration/test_unit_key.py compares the two on non-ASCII spellings.
"""

_TABLE = {ord(c): ord(c) + 32 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_TABLE.update({ord(" "): None, 0x00B5: "u", 0x03BC: "u", 0x039C: "u"})


def unit_key(unit):
    """Normalised spelling of a unit, as icu_predict.unit_key(unit) gives it."""
    return (unit or "").translate(_TABLE)
