#!/usr/bin/env bash
# Runs every test suite against the server in the PG* environment; called by
# tools/run-tests.sh.  Runs all suites even when one fails, prints each
# runner's summary and exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PY=/usr/bin/python3
status=0
summary=()

echo "== pg_regress (sql/, expected/)"
if make -s installcheck PG_CONFIG="$PG_CONFIG"; then
  summary+=("pg_regress: ok")
else
  status=1; summary+=("pg_regress: FAILED")
  [ -f regression.diffs ] && head -n 300 regression.diffs
fi

echo "== pgTAP (test/pgtap/)"
if make -s prove PG_CONFIG="$PG_CONFIG"; then
  summary+=("pgTAP: ok")
else
  status=1; summary+=("pgTAP: FAILED")
fi

echo "== pytest (model/tests)"
$PY -m pytest -q -p no:cacheprovider model/tests
rc=$?
if [ $rc -eq 0 ]; then summary+=("pytest: ok")
else status=1; summary+=("pytest: FAILED (exit $rc)"); fi

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
