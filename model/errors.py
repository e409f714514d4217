"""The errors of icu_predict's Python side that a user must act on, in one module.

Every module raises these and imports them from here, so no module imports
another just for its exception class (tasks.py and train.py both raise
TrainingError and neither imports the other for it).

The command line (model/cli.py) ends a command that raises a UserError with
exit status 2 and one line ``error: <message>`` on stderr, never a
traceback; so does a database error or a file that cannot be read or
written.  Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the input, the data or the database that the user must fix."""


class TrainingError(UserError):
    """The training data or the database cannot give a model (too few rows or
    events, an input missing everywhere, no extension, an empty cohort)."""


class TaskError(UserError):
    """A prediction task was asked for something it does not offer (an
    unknown covariate or horizon)."""


class MetricError(UserError, ValueError):
    """A metric is undefined for the data given (one outcome only, no rows,
    non-finite predictions)."""


class DeployError(UserError):
    """A deployment request that cannot be carried out (nothing to deploy,
    a missing models file)."""


class CohortLoadError(UserError):
    """The synthetic cohort cannot be loaded (no extension, tables not empty)."""


class LoadError(UserError):
    """An EHR export (the MIMIC-III demo) cannot be loaded: a file is missing
    or has an unexpected header, or the extension is not installed."""


class ScenarioError(UserError):
    """A scenario of the synthetic cohort is malformed: an unknown preset or
    parameter, a value out of range, an unreadable curve file."""
