"""The package description (model/pyproject.toml) agrees with the code and
the extension: its version is the extension's, and every third-party module
the package imports is a declared dependency."""
import ast
import importlib
import os
import re
import sys
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "model")
# import name -> distribution name, where they differ
DISTRIBUTION = {"sklearn": "scikit-learn"}


def _project():
    with open(os.path.join(MODEL, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_version_is_the_extensions():
    with open(os.path.join(REPO, "icu_predict.control")) as f:
        control = re.search(r"^default_version\s*=\s*'([^']+)'", f.read(), re.M).group(1)
    assert _project()["project"]["version"] == control


def test_package_is_this_folder():
    tool = _project()["tool"]["setuptools"]
    assert tool["package-dir"] == {"model": "."}
    assert tool["packages"] == ["model"]


def test_every_imported_distribution_is_declared():
    imported = set()
    for f in os.listdir(MODEL):
        if not f.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(open(os.path.join(MODEL, f)).read())):
            if isinstance(node, ast.Import):
                imported.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = {DISTRIBUTION.get(m, m) for m in imported - set(sys.stdlib_module_names) - {"model"}}
    declared = set(_project()["project"]["dependencies"])
    assert third_party, "the package imports numpy, pandas, ... somewhere"
    assert third_party <= declared, third_party - declared


def test_console_script_is_the_command_line():
    target = _project()["project"]["scripts"]["icu-predict-model"]
    module, func = target.split(":")
    from model import cli
    assert importlib.import_module(module) is cli and getattr(cli, func) is cli.main
