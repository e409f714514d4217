"""Without a server: the stat names and the feature-name limit of model/spec.py
are the ones written in the C sources (extension/include, extension/src).

Every C table of stat names (a brace list of string literals holding
"hours_since_last") and every name-limit #define (an identifier with both
NAME and MAX in it) must agree with Python; test/integration/test_rules_agree.py
checks the same against the installed extension's SQL functions."""
import glob
import os
import re

from model import spec

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = sorted(glob.glob(os.path.join(REPO, "extension", "include", "*.h"))
                 + glob.glob(os.path.join(REPO, "extension", "src", "**", "*.[ch]"), recursive=True))


def _text(path):
    with open(path) as f:
        # comments out, so a commented-out table or define does not count
        return re.sub(r"/\*.*?\*/|//[^\n]*", " ", f.read(), flags=re.S)


def test_sources_are_there():
    assert SOURCES, "no C sources under extension/"


def test_every_c_stat_table_is_spec_stats():
    tables = {}
    for path in SOURCES:
        for m in re.finditer(r"\{([^{}]*\"hours_since_last\"[^{}]*)\}", _text(path)):
            tables[f"{os.path.relpath(path, REPO)}@{m.start()}"] = tuple(re.findall(r'"([^"]*)"', m.group(1)))
    assert tables, "no C table of stat names found"
    assert {where: t for where, t in tables.items() if t != spec.STATS} == {}


def test_every_c_name_limit_is_feature_name_max():
    limits = {}
    for path in SOURCES:
        for m in re.finditer(r"^\s*#\s*define\s+(\w*NAME\w*MAX\w*|\w*MAX\w*NAME\w*)\s+\(?(\d+)\)?\s*$",
                             _text(path), flags=re.M):
            limits[f"{os.path.relpath(path, REPO)}:{m.group(1)}"] = int(m.group(2))
    assert limits, "no #define of the feature-name limit found"
    assert {k: v for k, v in limits.items() if v != spec.FEATURE_NAME_MAX} == {}
