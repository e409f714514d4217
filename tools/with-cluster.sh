#!/usr/bin/env bash
# Development helper: build and install icu_predict, then run CMD against a
# throwaway cluster (pg_virtualenv), holding a lock so that two developers on
# one machine do not install over each other's test run.
#   tools/with-cluster.sh make installcheck REGRESS=panel
#   tools/with-cluster.sh pg_prove -d postgres test/pgtap/schema.sql
set -euo pipefail
cd "$(dirname "$0")/.."
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
exec 9>/tmp/icu_predict.install.lock
flock 9
make -s WERROR=1 PG_CONFIG="$PG_CONFIG"
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
pg_virtualenv -t -v 15 \
  -o "shared_preload_libraries=pg_cron" -o "cron.database_name=postgres" \
  -o "max_worker_processes=16" "$@"
