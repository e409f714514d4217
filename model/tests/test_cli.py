"""The command line (model/cli.py) without a server: one parser per command,
options declared once, and the error policy (a user error gives exit status
2 and one line on stderr, never a traceback)."""
import ast
import os
import subprocess
import sys

import pytest

from model import cli, errors, options
from model import tasks as T
from model import train as TR

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(REPO, "model")


def _options(parser):
    return sorted(s for a in parser._actions for s in a.option_strings)


def _subparser(name):
    ap = cli.build_parser()
    sub = next(a for a in ap._actions if a.dest == "command")
    return sub.choices[name]


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_module_entry_point_has_the_options_of_the_command(command):
    assert _options(cli.build_parser(command)) == _options(_subparser(command))


def test_deploy_command_offers_every_option_of_deploy():
    # python3 -m model deploy once re-declared deploy's options and lost two
    opts = _options(_subparser("deploy"))
    for o in ("--models", "--activate", "--rollback", "--default-data", "--command", "--dbname", "--dsn"):
        assert o in opts


def test_shared_options_mean_the_same_everywhere():
    helps = {}
    for name in cli.COMMANDS:
        for a in _subparser(name)._actions:
            for s in a.option_strings:
                if s in ("--dsn", "--dbname", "--admissions", "--seed"):
                    helps.setdefault(s, set()).add(a.help.split(" (default")[0])
    assert set(helps) == {"--dsn", "--dbname", "--admissions", "--seed"}
    assert all(len(h) == 1 for h in helps.values()), helps


class _Conn:
    closed = False

    def close(self):
        self.closed = True


def test_task_error_gives_exit_2_and_one_line(monkeypatch, capsys):
    conn = _Conn()
    monkeypatch.setattr(options, "connect", lambda a: conn)
    # the training run reaches the task SQL with a covariate the task does not offer
    monkeypatch.setattr(TR, "run", lambda *a, **k: T.risk_sql([{"covariate": "unit_kind_icu"}]))
    rc = cli.main(["train", "--out", "unused"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == "error: covariate unit_kind_icu is not offered for training\n"
    assert conn.closed


@pytest.mark.parametrize("exc", [errors.TrainingError, errors.TaskError, errors.MetricError,
                                 errors.DeployError, errors.CohortLoadError, errors.LoadError])
def test_every_user_error_gives_exit_2_and_one_line(exc, capsys):
    def boom(a):
        raise exc("first line\n  DETAIL: second line")
    assert cli.run(boom, None) == 2
    assert capsys.readouterr().err == "error: first line DETAIL: second line\n"


def test_a_bug_keeps_its_traceback():
    def bug(a):
        return 1 / 0
    with pytest.raises(ZeroDivisionError):
        cli.run(bug, None)


@pytest.mark.parametrize("argv", [
    ["-m", "model.deploy", "--models", "/nonexistent/models.json", "--default-data", "/nonexistent/x.json"],
    ["-m", "model", "deploy"],
    ["-m", "model.train", "--activate"],
    ["-m", "model", "train", "--train-fraction", "0.99"],
    ["-m", "model", "recalibrate", "--slot", "icu_stay:48"],
    ["-m", "model.recalibrate", "--slot", "icu_admission:48", "--force"],
])
def test_entry_points_exit_2_without_traceback(argv):
    p = subprocess.run([sys.executable, *argv], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: ") and p.stderr.count("\n") == 1, p.stderr
    assert "Traceback" not in p.stderr


def test_cannot_connect_is_one_line(tmp_path):
    env = dict(os.environ, PGHOST=str(tmp_path), PGPORT="1")
    p = subprocess.run([sys.executable, "-m", "model.train", "--out", str(tmp_path / "c")],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.startswith("error: cannot connect to the database: ") and p.stderr.count("\n") == 1


def _relative_imports(path):
    """Modules of the package that ``path`` imports, at any level (also inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_package_imports_have_no_cycle():
    graph = {f[:-3]: _relative_imports(os.path.join(MODEL, f))
             for f in os.listdir(MODEL) if f.endswith(".py")}
    state = {}

    def visit(m, path):
        if state.get(m) == "done":
            return
        assert state.get(m) != "open", "import cycle: " + " -> ".join(path + [m])
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            visit(n, path + [m])
        state[m] = "done"

    for m in sorted(graph):
        visit(m, [])
    assert "train" not in graph["tasks"] and "errors" in graph["tasks"]
