#!/usr/bin/env bash
# Install the Debian packages icu_predict builds, tests and trains with,
# when they are missing.  Needs root (or sudo) only when something is missing.
set -euo pipefail

PKGS=(
  make gcc
  postgresql-15 postgresql-server-dev-15 postgresql-contrib
  postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
  postgresql-15-cron postgresql-plpython3-15 postgresql-15-pgaudit
  python3-numpy python3-pandas python3-scipy python3-sklearn python3-xgboost
  python3-matplotlib python3-psycopg2 python3-pytest
  odbc-postgresql unixodbc python3-pyodbc
  debhelper postgresql-server-dev-all   # the Debian package (debian/, tools/check-deb.sh)
)
# tools/pg-versions.sh (PostgreSQL 17 and 18, run by CI) fetches their server
# binaries with npm; a nodejs that brings its own npm (NodeSource) is enough.
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "icu_predict: installing missing packages: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "icu_predict: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
