"""Option groups that several commands of ``python3 -m model`` share, declared once.

A command module (cohort, mimic, train, deploy, default_model) declares its
own options in ``add_arguments(parser)`` and calls these for the shared
ones, so an option means the same and is spelled the same in every command.
"""
from __future__ import annotations

import datetime as dt

from .errors import UserError


def connection(p):
    """--dsn and --dbname: which database to work in (default: the PG* environment)."""
    g = p.add_argument_group("database connection")
    g.add_argument("--dsn", default="",
                   help="libpq connection string (default: the PG* environment)")
    g.add_argument("--dbname", default=None,
                   help="database name (default: $PGDATABASE); wins over a dbname in --dsn")


def connect(a):
    """A psycopg2 connection for the --dsn / --dbname of ``a``; UserError when it fails."""
    import psycopg2
    kw = {"dbname": a.dbname} if a.dbname else {}
    try:
        return psycopg2.connect(a.dsn or "", **kw)
    except psycopg2.OperationalError as e:
        raise UserError(f"cannot connect to the database: {str(e).strip()}") from None


def cohort(p, admissions, seed, end_date=True, scenarios=False):
    """--admissions, --seed (and --end-date; with scenarios=True --scenario,
    --scenario-file, --curve-file) of the synthetic cohort (model/synth.py,
    model/scenario.py).  With scenarios, --admissions defaults to None: the
    scenario's own size, else ``admissions``; see scenario_and_size()."""
    g = p.add_argument_group("synthetic cohort")
    if scenarios:
        from .scenario import PRESETS
        g.add_argument("--admissions", type=int, default=None,
                       help=f"number of admissions (default: the scenario's size, else {admissions}; "
                            "when given it wins over the scenario's size)")
        g.add_argument("--scenario", default="large_wave", choices=list(PRESETS),
                       help="named scenario preset (default: large_wave, today's cohort)")
        g.add_argument("--scenario-file", metavar="JSON", default=None,
                       help="JSON object whose keys override the preset's parameters")
        g.add_argument("--curve-file", metavar="CSV", default=None,
                       help="CSV 'date,admissions': the COVID-19 arrival curve replaces the scenario's")
        p.set_defaults(default_admissions=admissions)
    else:
        g.add_argument("--admissions", type=int, default=admissions,
                       help=f"number of admissions (default {admissions})")
    g.add_argument("--seed", type=int, default=seed, help=f"random seed (default {seed})")
    if end_date:
        g.add_argument("--end-date", type=dt.date.fromisoformat, default=None,
                       help="YYYY-MM-DD; the data end at 00:00 UTC of this day (default: today, UTC)")


def json_summary(p):
    """--json: print the command's summary as JSON on stdout instead of text."""
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def activate(p, needs=None):
    """--activate: make the inserted models the active ones of their slots."""
    p.add_argument("--activate", action="store_true",
                   help="make the inserted models the active ones" + (f" (needs {needs})" if needs else ""))


def scenario_and_size(a):
    """(Scenario, admissions) for the options of cohort(..., scenarios=True):
    --admissions wins; else the scenario's own size; else the command's default."""
    from . import scenario
    sc = scenario.get(a.scenario, a.scenario_file, a.curve_file)
    n = a.admissions if a.admissions is not None else (sc.admissions or a.default_admissions)
    if n < 1:
        raise UserError(f"--admissions must be at least 1, got {n}")
    return sc, n
