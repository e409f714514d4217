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

echo "== upgrade paths (every released version -> current equals a fresh install)"
if tools/check-upgrade.sh; then
  summary+=("upgrade: ok")
else
  status=1; summary+=("upgrade: FAILED")
fi

# pytest twice, so the summary shows each room: the server-free Python tests
# (model/tests) and the server tests of the extension (test/integration).
for dir in model/tests test/integration; do
  echo "== pytest ($dir)"
  out=$(mktemp)
  $PY -m pytest -q -p no:cacheprovider "$dir" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  counts=$(grep -E '^[0-9]+ (passed|failed|error)|^=+ .*(passed|failed|error)' "$out" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')
  rm -f "$out"
  if [ $rc -eq 0 ]; then summary+=("pytest $dir: ok ($counts)")
  else status=1; summary+=("pytest $dir: FAILED (exit $rc; $counts)"); fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
