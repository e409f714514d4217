#!/usr/bin/env bash
# Development helper: a private PostgreSQL 15 installation and server for one
# checkout, so that several checkouts (git worktrees) on one machine can build,
# install and test at the same time without the shared install lock.
#
#   eval "$(tools/dev-server.sh NAME PORT)"    # copy PG 15, initdb, start
#   tools/run-tests.sh                          # uses the private server
#   tools/dev-server.sh NAME PORT stop
#
# The copy lives in /tmp/icu-dev-NAME (about 70 MB): the server's lib, share and
# include directories, copied from the system's PostgreSQL 15 (so pgTAP, pg_cron and
# plpython3 are there when tools/install-deps.sh has run); PostgreSQL's
# binaries find their directories relative to themselves, and `pg_config`
# from the copy points `make install` at it.  The printed exports set
# PG_CONFIG, PGHOST, PGPORT, PGUSER and ICU_PREDICT_LOCKED (which makes
# tools/run-tests.sh skip the shared lock and pg_virtualenv).
set -euo pipefail
name=${1:?usage: tools/dev-server.sh NAME PORT [stop]}
port=${2:?usage: tools/dev-server.sh NAME PORT [stop]}
root=/tmp/icu-dev-$name
bin=$root/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

if [ "${3:-}" = stop ]; then
  as_pg "$bin/pg_ctl -D $root/data -m fast stop" >&2 || true
  exit 0
fi

if [ ! -x "$bin/postgres" ]; then
  mkdir -p "$root/lib/postgresql" "$root/share/postgresql"
  cp -a /usr/lib/postgresql/15 "$root/lib/postgresql/"
  cp -a /usr/share/postgresql/15 "$root/share/postgresql/"
  mkdir -p "$root/include"
  cp -a /usr/include/postgresql "$root/include/"
  mkdir -p "$root/sock"
  chown -R postgres:postgres "$root" 2>/dev/null || true
  # make install as root writes here; the server (postgres) only reads.
  chmod -R a+rX "$root"
fi
if [ ! -f "$root/data/PG_VERSION" ]; then
  as_pg "$bin/initdb -D $root/data -A trust -U postgres" >/dev/null
fi
if ! as_pg "$bin/pg_ctl -D $root/data status" >/dev/null 2>&1; then
  as_pg "$bin/pg_ctl -D $root/data -l $root/server.log -w start \
    -o \"-p $port -k $root/sock -c listen_addresses=127.0.0.1 \
    -c shared_preload_libraries=pg_cron -c cron.database_name=postgres \
    -c max_worker_processes=16\"" >&2
fi
cat <<EOF
export PG_CONFIG=$bin/pg_config PGHOST=$root/sock PGPORT=$port PGUSER=postgres PGDATABASE=postgres ICU_PREDICT_LOCKED=1
export PATH=$bin:\$PATH
EOF
