"""Deployment: trained models into the registry table icu_predict.model.

    python3 -m model.deploy --models cards/run1/models.json [--activate]
    python3 -m model.deploy --rollback icu_admission
    python3 -m model.deploy --default-data extension/icu_predict_default_models.json \
                            --models cards/default/models.json

* deploy_models inserts every model of a training run as a new version in ONE
  transaction (a spec the database rejects leaves no row behind) and calls
  icu_predict.deploy(name, version) for each only when activate is true.
* rollback(kind) calls icu_predict.rollback(kind).
* default_models_data writes the data file of the default models shipped
  with the extension (installed beside icu_predict.control and loaded as
  registry rows with builtin = true by CREATE EXTENSION and ALTER EXTENSION
  UPDATE, see extension/sql/25_default_model.sql); the models earlier files
  shipped stay in it under their ids.  They are active through
  the builtin fallback of active_model (no deployment is logged), and
  pg_dump leaves builtin rows out, so a restore neither duplicates nor
  re-activates them.
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


DEFAULT_MODELS_FORMAT = "icu_predict default models 1"
DEFAULT_MODELS_NOTE = ("TRAINED ON SYNTHETIC DATA: retrain on local data before clinical use "
                       "(docs/training.md). Generated, do not edit.")
_MODEL_KEYS = ("model_id", "name", "version", "kind", "format", "horizon_hours", "spec", "training", "metrics")


def default_models_data(models, command, previous=None):
    """The data file of the shipped default models (icu_predict_default_models.json).

    Every model gets a fixed ``model_id``: the one it had in ``previous`` (the
    parsed file this one replaces) when name, version and spec are the same,
    else a new id below every id used so far (negative, so it can never meet an
    id the registry's sequence hands out).  A model whose name and version were
    shipped before with another spec gets a version suffix from its spec's
    hash: one version label never names two models.

    Every model of ``previous`` that this run does not ship again stays in the
    file, unchanged, after the new ones: a database that deployed it, edited
    it (shipped_model_edit) or dumped a deployment of it finds the row under
    its id after an update or a restore into a new version's files, and the
    builtin fallback of active_model picks the newest shipped id of each slot
    (negative ids newer), so unpinned slots move to the new models.  One
    model per line, so a retrain's diff shows which models changed."""
    import hashlib
    prev = {(p["name"], p["version"]): p for p in (previous or {}).get("models", [])}
    used = [p["model_id"] for p in prev.values()]
    low = min([0] + used)
    out_models = []
    for m in models:
        hz = m.get("horizon_hours")
        if hz is None and m["kind"] == "icu_admission":
            hz = (m.get("training") or {}).get("horizon_hours")
        row = {"name": m["name"], "version": m["version"], "kind": m["kind"], "format": m["spec"]["format"],
               "horizon_hours": None if hz is None else int(hz), "spec": m["spec"],
               "training": m.get("training") or {}, "metrics": m.get("metrics") or {}}
        digest = hashlib.md5(json.dumps(row["spec"], sort_keys=True).encode()).hexdigest()[:8]
        suffixed = (row["name"], f"{row['version']}-{digest}")
        old = prev.get((row["name"], row["version"]))
        if suffixed in prev:
            row["version"], old = suffixed[1], prev[suffixed]
        elif old is not None and old["spec"] != row["spec"]:
            row["version"], old = suffixed[1], None
        if old is not None:
            row["model_id"] = old["model_id"]
        elif not prev and not used:
            row["model_id"] = len(out_models) + 1      # the first file: ids 1, 2, ... as 0.1.0 had them
        else:
            low -= 1
            row["model_id"] = low
        out_models.append(row)
    taken = {r["model_id"] for r in out_models}
    for p in (previous or {}).get("models", []):
        if p["model_id"] not in taken:
            out_models.append(p)
    lines = ["{" + f'"format": {json.dumps(DEFAULT_MODELS_FORMAT)},',
             f' "note": {json.dumps(DEFAULT_MODELS_NOTE)},',
             f' "command": {json.dumps(command)},',
             ' "models": [']
    for i, r in enumerate(out_models):
        text = json.dumps({k: r[k] for k in _MODEL_KEYS}, separators=(",", ":"), default=str)
        lines.append(text + ("," if i + 1 < len(out_models) else ""))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def write_default_models(path, models, command):
    """Write the data file at ``path``, keeping the model ids of the file there."""
    import os
    previous = None
    if os.path.exists(path):
        with open(path) as f:
            try:
                previous = json.load(f)
            except ValueError as e:
                raise DeployError(f"{path} is not a default-models data file: {e}") from None
        if previous.get("format") != DEFAULT_MODELS_FORMAT:
            raise DeployError(f"{path} is not in the format {DEFAULT_MODELS_FORMAT!r}")
    text = default_models_data(models, command, previous)
    with open(path, "w") as f:
        f.write(text)


HELP = "deploy the models of a training run, roll back, or write the default-models data file"


def add_arguments(p):
    options.connection(p)
    p.add_argument("--models", help="models.json written by the training run")
    options.activate(p)
    p.add_argument("--rollback", metavar="KIND", help="icu_admission or icu_stay")
    p.add_argument("--default-data", metavar="PATH",
                   help="write the default-models data file instead of deploying (ids kept from the file there)")
    p.add_argument("--command", default="make default-model", help="command recorded in the data file")


def _read_models(path):
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise DeployError(f"{path} is not a models.json of a training run: {e}") from None


def command(a):
    """``python3 -m model deploy``: errors follow the policy of model/cli.py."""
    if a.default_data:
        if not a.models:
            raise DeployError("--default-data needs --models")
        models = _read_models(a.models)
        write_default_models(a.default_data, models, a.command)
        print(f"wrote {a.default_data}")
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
