#!/usr/bin/env bash
# The test command (`make test`): install missing packages, build with
# -Werror, install, then run pg_regress, pgTAP and pytest.
#
# Without PGPORT/PGHOST in the environment the tests run on a throwaway
# cluster made by pg_virtualenv (works as root).  With them, they run against
# that server, which needs a superuser role (CREATE EXTENSION, CREATE DATABASE).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
# One install at a time on this machine: the suites run against the files that
# `make install` put in the server's directories, so a second checkout (another
# developer, a git worktree) waits here until this run has finished.
if [ -z "${ICU_PREDICT_LOCKED:-}" ]; then
  export ICU_PREDICT_LOCKED=1
  exec flock /tmp/icu_predict.install.lock "$PWD/tools/run-tests.sh" "$@"
fi
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
make -s clean >/dev/null
make -s WERROR=1 PG_CONFIG="$PG_CONFIG"
tools/check-symbols.sh
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

if [ -n "${PGPORT:-}${PGHOST:-}" ]; then
  exec tools/test-inner.sh
fi
# pg_cron must be preloaded for the scheduling tests.
exec pg_virtualenv -t -v 15 \
  -o "shared_preload_libraries=pg_cron" -o "cron.database_name=postgres" \
  -o "max_worker_processes=16" \
  tools/test-inner.sh
