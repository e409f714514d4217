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

import argparse
import json
import os
import sys

from . import spec as S


class DeployError(Exception):
    pass


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


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m model.deploy",
                                description="Deploy trained models, roll back, or write the default-model SQL.")
    p.add_argument("--dbname", default=os.environ.get("PGDATABASE"))
    p.add_argument("--models", help="models.json written by the training run")
    p.add_argument("--activate", action="store_true", help="make the inserted models active")
    p.add_argument("--rollback", metavar="KIND", help="icu_admission or icu_stay")
    p.add_argument("--default-sql", metavar="PATH", help="write the default-model SQL part instead of deploying")
    p.add_argument("--command", default="make default-model", help="command recorded in the SQL header")
    a = p.parse_args(argv)
    try:
        if a.default_sql:
            if not a.models:
                raise DeployError("--default-sql needs --models")
            with open(a.models) as f:
                models = json.load(f)
            with open(a.default_sql, "w") as f:
                f.write(default_model_sql(models, a.command))
            print(f"wrote {a.default_sql}")
            return 0
        import psycopg2
        conn = psycopg2.connect(dbname=a.dbname) if a.dbname else psycopg2.connect()
        try:
            if a.rollback:
                print(f"active {a.rollback} model is now {rollback(conn, a.rollback)}")
            elif a.models:
                with open(a.models) as f:
                    models = json.load(f)
                ids = deploy_models(conn, models, a.activate)
                for m, i in zip(models, ids):
                    print(f"model {m['name']} {m['version']} inserted as model_id {i}"
                          + (" and activated" if a.activate else ""))
            else:
                raise DeployError("nothing to do: give --models or --rollback")
        finally:
            conn.close()
    except (DeployError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:          # psycopg2.Error and friends
        print(f"error: database: {str(e).strip()}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
