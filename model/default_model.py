"""The default models shipped inside the extension.

    python3 -m model.default_model [--admissions 20000] [--seed 42]

Reproducible: generates the synthetic cohort (model/synth.py, fixed seed and
end date) into a scratch database, trains exactly as ``python3 -m model
train`` does, ships the proposed risk models of BOTH horizons (48 h and 7
days) and the stay model, writes the model card to docs/default-model/ and
the install script part extension/sql/25_default_model.sql (INSERT of the
builtin registry rows), then drops the scratch database.  Needs a server in
the PG* environment and a role that may create databases; the installed
icu_predict must already contain everything except this part.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import uuid

DEFAULT_ADMISSIONS = 20000
DEFAULT_SEED = 42
END_DATE = dt.date(2020, 7, 1)       # fixed, so the rows (and the model) are reproducible


def build_parser(p=None):
    p = p or argparse.ArgumentParser(prog="python3 -m model.default_model", description=__doc__.split("\n")[1])
    p.add_argument("--admissions", type=int, default=DEFAULT_ADMISSIONS)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--sql", default="extension/sql/25_default_model.sql")
    p.add_argument("--card", default="docs/default-model")
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    return p


def main_args(a):
    import psycopg2

    from . import deploy, load, synth, train
    name = "icu_default_model_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    except psycopg2.Error as e:
        print(f"error: cannot create the scratch database: {str(e).strip()}", file=sys.stderr)
        return 2
    try:
        conn = psycopg2.connect(dbname=name)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION icu_predict CASCADE")
        train.progress(f"generating the synthetic cohort: {a.admissions} admissions, seed {a.seed}, "
                       f"end {END_DATE}")
        c = synth.generate(a.admissions, a.seed, END_DATE)
        load.load(c, conn, log=lambda m: train.progress("  " + m))
        conn.autocommit = False
        version = f"synthetic-{a.seed}-{a.admissions}"
        try:
            train.run(conn, a.card, version=version, synthetic=True, name_prefix="default",
                      deploy_horizon=("48h", "7d"))
        except (train.TrainingError, Exception) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        with open(os.path.join(a.card, "models.json")) as f:
            models = json.load(f)
        cmd = (f"python3 -m model.default_model --admissions {a.admissions} --seed {a.seed}"
               "   (or: make default-model)")
        for m in models:          # the card path of the scratch run means nothing later
            m["training"]["card"] = "docs/default-model/README.md"
        with open(a.sql, "w") as f:
            f.write(deploy.default_model_sql(models, cmd))
        os.remove(os.path.join(a.card, "models.json"))
        train.progress(f"wrote {a.sql} ({os.path.getsize(a.sql) // 1024} KiB) and {a.card}/README.md")
        conn.close()
    finally:
        if not a.keep_db:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


def main(argv=None):
    return main_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
