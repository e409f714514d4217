"""The default models shipped with the extension.

    python3 -m model.default_model [--admissions 20000] [--seed 42]

Reproducible: generates the synthetic cohort (model/synth.py, fixed seed and
end date) into a scratch database, trains exactly as ``python3 -m model
train`` does, ships the proposed risk models of BOTH horizons (48 h and 7
days) and the stay model, writes the model card to docs/default-model/ and
the data file extension/icu_predict_default_models.json (the builtin
registry rows that CREATE EXTENSION and ALTER EXTENSION UPDATE load, see
extension/sql/25_default_model.sql), then drops the scratch database.  A
model keeps the model_id it had in the file it replaces; no other tracked
file changes.  Needs a server in the PG* environment with icu_predict
installed and a role that may create databases.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import uuid

from . import options
from .errors import UserError

DEFAULT_ADMISSIONS = 20000
DEFAULT_SEED = 42
END_DATE = dt.date(2020, 7, 1)       # fixed, so the rows (and the model) are reproducible


HELP = "train the shipped default models on the synthetic cohort and write their data file"


def add_arguments(p):
    options.cohort(p, admissions=DEFAULT_ADMISSIONS, seed=DEFAULT_SEED, end_date=False)
    p.add_argument("--data", default="extension/icu_predict_default_models.json",
                   help="the data file to write (default: %(default)s)")
    p.add_argument("--card", default="docs/default-model", help="folder for the model card (default: %(default)s)")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")


def command(a):
    """``python3 -m model default-model``: errors follow the policy of model/cli.py."""
    import psycopg2

    from . import deploy, load, synth, train
    name = "icu_default_model_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    except psycopg2.Error as e:
        admin.close()
        raise UserError(f"cannot create the scratch database: {str(e).strip()}") from None
    try:
        conn = psycopg2.connect(dbname=name)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION icu_predict CASCADE")
            # the models shipped now would collide with the retrained ones
            cur.execute("UPDATE icu_predict.model SET builtin = false WHERE builtin")
            cur.execute("DELETE FROM icu_predict.model WHERE NOT builtin")
        train.progress(f"generating the synthetic cohort: {a.admissions} admissions, seed {a.seed}, "
                       f"end {END_DATE}")
        c = synth.generate(a.admissions, a.seed, END_DATE)
        load.load(c, conn, log=lambda m: train.progress("  " + m))
        conn.autocommit = False
        version = f"synthetic-{a.seed}-{a.admissions}"
        train.run(conn, a.card, version=version, synthetic=True, name_prefix="default",
                  deploy_horizon=("48h", "7d"))
        with open(os.path.join(a.card, "models.json")) as f:
            models = json.load(f)
        cmd = (f"python3 -m model.default_model --admissions {a.admissions} --seed {a.seed}"
               "   (or: make default-model)")
        for m in models:          # the card path of the scratch run means nothing later
            m["training"]["card"] = "docs/default-model/README.md"
        deploy.write_default_models(a.data, models, cmd)
        os.remove(os.path.join(a.card, "models.json"))
        card_registry_rows(a.card, a.data, models)
        train.progress(f"wrote {a.data} ({os.path.getsize(a.data) // 1024} KiB) and {a.card}/README.md")
        conn.close()
    finally:
        if not a.keep_db:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


REGISTRY_HEADING = "## In the registry"


def card_registry_rows(card, data, models):
    """Append to the card (README.md in ``card``) the registry rows the data
    file gives the models of this run (``models``: name and spec of each):
    model_id, name and version as active_model, patient_status and icu_bi
    show them (the data file may suffix a version with its spec's hash), so a
    reader of a score's model_version finds its card.  A model is the file's
    row of the same name and spec (else the newest row of its name).  Replaces
    an earlier such section."""
    with open(data) as f:
        shipped = json.load(f)["models"]
    rows = []
    for m in models:
        named = [r for r in shipped if r["name"] == m["name"]]
        same = [r for r in named if r["spec"] == m.get("spec")]
        # else the newest row of that name (negative ids are newer, -2 newer than -1)
        rows.append(same[0] if same else min(named, key=lambda r: r["model_id"]))
    path = os.path.join(card, "README.md")
    with open(path) as f:
        text = f.read()
    text = text.split("\n" + REGISTRY_HEADING + "\n")[0].rstrip("\n") + "\n"
    lines = ["", REGISTRY_HEADING, "",
             "The rows `CREATE EXTENSION` and `ALTER EXTENSION icu_predict UPDATE` load from "
             "`icu_predict_default_models.json` (the `model_version` of a score is name and version):", "",
             "| model_id | name | version | kind | horizon (h) |", "|---|---|---|---|---|"]
    for r in rows:
        hz = "" if r.get("horizon_hours") is None else r["horizon_hours"]
        lines.append(f"| {r['model_id']} | {r['name']} | {r['version']} | {r['kind']} | {hz} |")
    with open(path, "w") as f:
        f.write(text + "\n".join(lines) + "\n")


def main(argv=None):
    """``python3 -m model.default_model``: the same as ``python3 -m model default-model``."""
    from .cli import main as cli_main
    return cli_main(argv, command="default-model")


if __name__ == "__main__":
    sys.exit(main())
