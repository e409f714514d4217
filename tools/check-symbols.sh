#!/usr/bin/env bash
# Every C symbol that an install or upgrade script names must be defined in
# the built library: hospitals run older versions whose SQL objects point at
# symbols by name, and a package upgrade installs the new library before
# ALTER EXTENSION UPDATE runs, so a symbol dropped from the library breaks
# their scheduled refreshes in between.  Checks every
# extension/icu_predict--*.sql against icu_predict.so; run after `make`.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=icu_predict.so
[ -f "$lib" ] || { echo "check-symbols: build first ($lib missing)" >&2; exit 2; }
defined=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u)
status=0
n=0
for f in extension/icu_predict--*.sql; do
  for s in $(grep -o "'MODULE_PATHNAME', *'[A-Za-z0-9_]*'" "$f" | sed "s/.*, *'\(.*\)'/\1/" | sort -u); do
    n=$((n + 1))
    if ! grep -qx "$s" <<<"$defined"; then
      echo "check-symbols: $f names $s, which $lib does not define" >&2
      status=1
    fi
  done
done
echo "check-symbols: $n symbol references in $(ls extension/icu_predict--*.sql | wc -l) scripts, all defined: $([ $status -eq 0 ] && echo yes || echo NO)"
exit $status
