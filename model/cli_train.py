"""Subcommands of ``python3 -m model`` for training and deployment.

model/__main__.py can wire them in with::

    from . import cli_train
    cli_train.add_subcommands(sub)      # sub = ap.add_subparsers(...)

and dispatch with ``a.func(a)``.  The same commands also run stand-alone:
``python3 -m model.train``, ``python3 -m model.deploy``.

  train          train, validate, write the model card; --deploy [--activate]
  deploy         insert models.json of a run; --activate; or --rollback KIND
  default-model  generate the synthetic cohort in a scratch database, train,
                 and write extension/sql/25_default_model.sql
"""
from __future__ import annotations


def _train(a):
    from . import train
    return train.main_args(a)


def _deploy(a):
    from . import deploy
    argv = []
    if a.dbname:
        argv += ["--dbname", a.dbname]
    if a.models:
        argv += ["--models", a.models]
    if a.activate:
        argv += ["--activate"]
    if a.rollback:
        argv += ["--rollback", a.rollback]
    return deploy.main(argv)


def _default(a):
    from . import default_model
    return default_model.main_args(a)


def add_subcommands(sub):
    """Add train, deploy and default-model to an argparse subparsers object."""
    from . import default_model, train
    p = sub.add_parser("train", help="train, validate and optionally deploy the ICU models",
                       description="Train, validate and optionally deploy the ICU models.")
    train.build_parser(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("deploy", help="deploy a trained run or roll back",
                       description="Insert the models of a training run (models.json) or roll back.")
    p.add_argument("--dbname")
    p.add_argument("--models")
    p.add_argument("--activate", action="store_true")
    p.add_argument("--rollback", metavar="KIND")
    p.set_defaults(func=_deploy)

    p = sub.add_parser("default-model", help="train the shipped default model on the synthetic cohort",
                       description="Train on the synthetic cohort and write the default-model SQL part.")
    default_model.build_parser(p)
    p.set_defaults(func=_default)
    return sub
