#!/usr/bin/env bash
# The update path leaves the same extension as a fresh install: install the
# released 0.1.0 script, ALTER EXTENSION icu_predict UPDATE, and compare the
# catalog listing (tools/extension-objects.sql: every member, definition,
# column, constraint, privilege, comment, config-dump registration and
# shipped row) with a fresh install of the current version.  Runs against
# the server in the PG* environment (make test calls it); needs CREATEDB.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
fresh=icu_predict_upgrade_fresh
updated=icu_predict_upgrade_updated
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; psql -qX -d postgres -c "DROP DATABASE IF EXISTS $fresh" -c "DROP DATABASE IF EXISTS $updated" >/dev/null 2>&1 || true' EXIT
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $fresh" -c "DROP DATABASE IF EXISTS $updated" \
     -c "CREATE DATABASE $fresh" -c "CREATE DATABASE $updated" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d $fresh -c "SET client_min_messages = warning" \
     -c "CREATE EXTENSION icu_predict CASCADE" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d $updated -c "SET client_min_messages = warning" \
     -c "CREATE EXTENSION icu_predict VERSION '0.1.0' CASCADE" \
     -c "ALTER EXTENSION icu_predict UPDATE" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d $fresh -f tools/extension-objects.sql > "$tmp/fresh.txt"
psql -X -v ON_ERROR_STOP=1 -d $updated -f tools/extension-objects.sql > "$tmp/updated.txt"
version=$(psql -qXAt -d $updated -c "SELECT extversion FROM pg_extension WHERE extname = 'icu_predict'")
if diff -u "$tmp/fresh.txt" "$tmp/updated.txt" > "$tmp/diff"; then
  echo "check-upgrade: 0.1.0 updated to $version equals a fresh install ($(wc -l < "$tmp/fresh.txt") catalog lines compared)"
else
  echo "check-upgrade: 0.1.0 updated to $version differs from a fresh install:" >&2
  head -n 60 "$tmp/diff" >&2
  exit 1
fi
