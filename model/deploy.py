"""Deployment: trained models into the registry table icu_predict.model.

    python3 -m model.deploy --models cards/run1/models.json [--activate]
    python3 -m model.deploy --rollback icu_admission
    python3 -m model.deploy --default-sql extension/sql/25_default_model.sql \
                            --models cards/default/models.json

* deploy_models inserts every model of a training run as a new version in ONE
  transaction (a spec the database rejects leaves no row behind) and calls
  icu_predict.deploy(name, version) for each only when activate is true.
* rollback(kind) calls icu_predict.rollback(kind).
* default_model_sql writes the install-script part that ships the default
  models inside the extension: INSERT of the registry rows with builtin =
  true.  They are active through the builtin fallback of active_model (no
  deployment is logged), and pg_dump leaves builtin rows out, so a restore
  neither duplicates nor re-activates them.
"""
from __future__ import annotations

import json
import sys

from . import options
from . import spec as S
from .errors import DeployError


def deploy_models(conn, models, activate=False):
    """Insert ``models`` (list of dicts: name, version, kind, spec, training,
    metrics) in one transaction; activate each when asked.  Returns ids."""
    old = conn.autocommit
    conn.autocommit = False
    ids = []
    try:
        for m in models:
            ids.append(S.insert_model(conn, m["name"], m["version"], m["kind"], m["spec"],
                                      m.get("training"), m.get("metrics"), deploy=activate))
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.autocommit = old
    return ids


def rollback(conn, kind):
    with conn.cursor() as cur:
        cur.execute("SELECT icu_predict.rollback(%s)", (kind,))
        r = cur.fetchone()
    conn.commit()
    return r[0] if r else None


def _dollar(text, tag="m"):
    t = f"${tag}$"
    while t in text:
        tag += "x"
        t = f"${tag}$"
    return f"{t}{text}{t}"


def default_model_sql(models, command):
    """The SQL part that installs ``models`` as builtin rows at CREATE EXTENSION."""
    out = [
        "-- The default models, shipped so that CREATE EXTENSION alone can score.",
        "--",
        "-- TRAINED ON SYNTHETIC DATA: retrain on local data before clinical use",
        "-- (docs/training.md).  Generated, do not edit; reproduce with:",
        f"--   {command}",
        "--",
        "-- builtin = true: active through the builtin fallback of active_model while",
        "-- no deployment of their slot stands, and left out of pg_dump (CREATE",
        "-- EXTENSION re-creates them), so dump/restore keeps the user's choice.",
        "",
        "SELECT pg_catalog.set_config('icu_predict_install.builtin', 'on', true);",
    ]
    for m in models:
        hz = m.get("horizon_hours")
        if hz is None and m["kind"] == "icu_admission":
            hz = (m.get("training") or {}).get("horizon_hours")
        out.append(
            "INSERT INTO @extschema@.model (name, version, kind, format, horizon_hours, builtin, spec, training, metrics)\n"
            f"VALUES ({_lit(m['name'])}, {_lit(m['version'])}, {_lit(m['kind'])}, "
            f"{_lit(m['spec']['format'])}, {'NULL' if hz is None else int(hz)}, true,\n"
            f"        {_dollar(json.dumps(m['spec'], separators=(',', ':')))}::jsonb,\n"
            f"        {_dollar(json.dumps(m.get('training') or {}, separators=(',', ':'), default=str))}::jsonb,\n"
            f"        {_dollar(json.dumps(m.get('metrics') or {}, separators=(',', ':'), default=str))}::jsonb);")
    out.append("SELECT pg_catalog.set_config('icu_predict_install.builtin', '', true);")
    return "\n".join(out) + "\n"


def _lit(s):
    return "'" + str(s).replace("'", "''") + "'"


HELP = "deploy the models of a training run, roll back, or write the default-model SQL part"


def add_arguments(p):
    options.connection(p)
    p.add_argument("--models", help="models.json written by the training run")
    options.activate(p)
    p.add_argument("--rollback", metavar="KIND", help="icu_admission or icu_stay")
    p.add_argument("--default-sql", metavar="PATH", help="write the default-model SQL part instead of deploying")
    p.add_argument("--command", default="make default-model", help="command recorded in the SQL header")


def _read_models(path):
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise DeployError(f"{path} is not a models.json of a training run: {e}") from None


def command(a):
    """``python3 -m model deploy``: errors follow the policy of model/cli.py."""
    if a.default_sql:
        if not a.models:
            raise DeployError("--default-sql needs --models")
        models = _read_models(a.models)
        with open(a.default_sql, "w") as f:
            f.write(default_model_sql(models, a.command))
        print(f"wrote {a.default_sql}")
        return 0
    if not (a.rollback or a.models):
        raise DeployError("nothing to do: give --models or --rollback")
    models = _read_models(a.models) if a.models and not a.rollback else None
    conn = options.connect(a)
    try:
        if a.rollback:
            print(f"active {a.rollback} model is now {rollback(conn, a.rollback)}")
        else:
            ids = deploy_models(conn, models, a.activate)
            for m, i in zip(models, ids):
                print(f"model {m['name']} {m['version']} inserted as model_id {i}"
                      + (" and activated" if a.activate else ""))
    finally:
        conn.close()
    return 0


def main(argv=None):
    """``python3 -m model.deploy``: the same as ``python3 -m model deploy``."""
    from .cli import main as cli_main
    return cli_main(argv, command="deploy")


if __name__ == "__main__":
    sys.exit(main())
