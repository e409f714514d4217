"""The command line of icu_predict's Python side: ``/usr/bin/python3 -m model <command>``.

  cohort         generate the synthetic cohort, load it and/or write CSV files
  mimic          load the MIMIC-III Clinical Database Demo (docs/mimic.md)
  omop-from-mimic  convert the demo into an OMOP CDM v5.4 schema (--load: and
                 load it through icu_predict.omop_load; docs/bring-your-own-data.md)
  train          train, validate, write the model card; --deploy [--activate]
  deploy         insert the models.json of a run; --activate; --rollback KIND;
                 or write the default-models data file (--default-data)
  recalibrate    refit intercept and slope of an active risk model; --deploy
  default-model  train on the synthetic cohort in a scratch database and write
                 extension/icu_predict_default_models.json and the card
  load-csv       load a CSV export through a mapping file (docs/bring-your-own-data.md)
  oracle-gap     the model against the true risk at the same rows, and what the
                 true risk knows that the inputs do not show (synthetic cohorts)

Each command is a module with ``add_arguments(parser)`` (its options,
declared once; the shared ones come from model/options.py) and
``command(args)``.  The module entry points ``python3 -m model.train``,
``model.deploy``, ``model.mimic`` and ``model.default_model`` are the same
commands: their ``main(argv)`` calls ``main(argv, command=...)`` here.

Error policy (the one promised in docs/training.md and docs/mimic.md): a
UserError (model/errors.py), a database error, or a file that cannot be read
or written ends the command with exit status 2 and a single line
``error: ...`` on stderr, never a traceback.  Exit status 1 is left to a
command that ran but has something to report (mimic: rejected rows).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError

# name -> module (under model/) that implements it
COMMANDS = {
    "cohort": "cohort",
    "mimic": "mimic",
    "omop-from-mimic": "omop",
    "train": "train",
    "deploy": "deploy",
    "recalibrate": "recalibrate",
    "default-model": "default_model",
    "load-csv": "csvload",
    "oracle-gap": "oracle_gap",
}


def _module(name):
    return importlib.import_module(f"{__package__}.{COMMANDS[name]}")


def _add_command(sub, name):
    mod = _module(name)
    p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
    mod.add_arguments(p)
    p.set_defaults(func=mod.command)


def build_parser(command=None):
    """The parser of all commands, or (``command``) of one as its module entry point."""
    if command is not None:
        mod = _module(command)
        p = argparse.ArgumentParser(prog=f"python3 -m model.{COMMANDS[command]}", description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(func=mod.command)
        return p
    ap = argparse.ArgumentParser(prog="python3 -m model", description="icu_predict model tools")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        _add_command(sub, name)
    return ap


def one_line(text):
    """``text`` on one line: its non-empty lines, stripped, joined by a space."""
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def fail(message):
    print(f"error: {one_line(message)}", file=sys.stderr)
    return 2


def run(func, args):
    """Run a command function under the error policy; returns the exit status."""
    import psycopg2
    try:
        return func(args) or 0
    except UserError as e:
        return fail(e)
    except psycopg2.Error as e:
        return fail(f"database: {e}")
    except OSError as e:
        return fail(e)


def main(argv=None, command=None):
    a = build_parser(command).parse_args(argv)
    return run(a.func, a)
