"""icu_predict's Python side: synthetic cohort, loaders, training, validation, deployment.

Command line: ``/usr/bin/python3 -m model <command>`` (model/cli.py); errors a
user must act on are in model/errors.py.
"""
