"""Performance measurements of icu_predict (not tests: they measure and report).

Run the scripts that use the model package as modules from the repository
root, e.g. ``/usr/bin/python3 -m bench.daily_job`` (``make bench``) or
``/usr/bin/python3 -m bench.model_bench``; see docs/benchmark.md and
docs/model-runtime.md.
"""
