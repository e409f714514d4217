#!/usr/bin/env bash
# The update path leaves the same extension as a fresh install: for every
# released version (each install script kept as shipped,
# extension/icu_predict--X.Y.Z.sql other than the current version's, which
# make builds from the parts), install it, ALTER EXTENSION icu_predict UPDATE
# along the chain of upgrade scripts, and compare the catalog listing
# (tools/extension-objects.sql: every member, definition, column, constraint,
# privilege, comment, config-dump registration and shipped row) with a fresh
# install of the current version.  Runs against the server in the PG*
# environment (make test calls it); needs CREATEDB.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" icu_predict.control)
released=$(ls extension/icu_predict--*.sql | sed -n 's|^extension/icu_predict--\([0-9][0-9.]*\)\.sql$|\1|p' \
           | grep -vx "$current" | sort -V)
[ -n "$released" ] || { echo "check-upgrade: no released install script found" >&2; exit 2; }
fresh=icu_predict_upgrade_fresh
updated=icu_predict_upgrade_updated
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; psql -qX -d postgres -c "DROP DATABASE IF EXISTS $fresh" -c "DROP DATABASE IF EXISTS $updated" >/dev/null 2>&1 || true' EXIT
psql -qX -d postgres -c "DROP DATABASE IF EXISTS $fresh" -c "CREATE DATABASE $fresh" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d $fresh -c "SET client_min_messages = warning" \
     -c "CREATE EXTENSION icu_predict CASCADE" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d $fresh -f tools/extension-objects.sql > "$tmp/fresh.txt"
status=0
for old in $released; do
  psql -qX -d postgres -c "DROP DATABASE IF EXISTS $updated" -c "CREATE DATABASE $updated" >/dev/null
  psql -qX -v ON_ERROR_STOP=1 -d $updated -c "SET client_min_messages = warning" \
       -c "CREATE EXTENSION icu_predict VERSION '$old' CASCADE" \
       -c "ALTER EXTENSION icu_predict UPDATE" >/dev/null
  psql -X -v ON_ERROR_STOP=1 -d $updated -f tools/extension-objects.sql > "$tmp/updated.txt"
  version=$(psql -qXAt -d $updated -c "SELECT extversion FROM pg_extension WHERE extname = 'icu_predict'")
  path=$(psql -qXAt -d $updated -c "SELECT path FROM pg_extension_update_paths('icu_predict') WHERE source = '$old' AND target = '$current'")
  if [ "$version" = "$current" ] && diff -u "$tmp/fresh.txt" "$tmp/updated.txt" > "$tmp/diff"; then
    echo "check-upgrade: $old updated to $version ($path) equals a fresh install ($(wc -l < "$tmp/fresh.txt") catalog lines compared)"
  else
    echo "check-upgrade: $old updated to $version ($path) differs from a fresh $current install:" >&2
    head -n 60 "$tmp/diff" >&2
    status=1
  fi
done
exit $status
