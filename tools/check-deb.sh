#!/usr/bin/env bash
# The Debian package, end to end: build postgresql-15-icu-predict from a copy
# of this tree with Debian's PostgreSQL tooling (debian/, pg_buildext,
# dpkg-buildpackage), install the .deb on this machine, CREATE EXTENSION and
# a query in a fresh cluster (pg_virtualenv on the system's PostgreSQL 15),
# then remove the package and put back the icu_predict files that were there
# before (removing a .deb deletes the files it was installed over, e.g. those
# of `make install`), so the machine is left as it was.
#
# Needs root (dpkg -i).  Touches the system's PostgreSQL directories, so it
# holds /tmp/icu_predict.install.lock throughout and runs last in CI
# (.ci/run, after `make test`), not in tools/run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "check-deb: needs root (dpkg -i)" >&2; exit 2; }
tools/install-deps.sh

pkg=postgresql-15-icu-predict
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
# the install script make builds for the current version (not tracked)
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" icu_predict.control)
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
  echo "check-deb: $pkg is installed on this machine already; remove it first" >&2
  exit 2
fi

exec 9>/tmp/icu_predict.install.lock
flock 9

tmp=$(mktemp -d /tmp/icu-deb.XXXXXX)
lib=/usr/lib/postgresql/15/lib
share=/usr/share/postgresql/15/extension
installed=
# what `make install` (or anyone) left in the system directories
files() { ls -d "$lib"/icu_predict.so "$lib"/bitcode/icu_predict "$lib"/bitcode/icu_predict.index.bc \
                "$share"/icu_predict* 2>/dev/null || true; }
before=$(files)
[ -z "$before" ] || tar -C / -cf "$tmp/before.tar" $(sed 's|^/||' <<<"$before")
restore() {
  rc=$?
  if [ -n "$installed" ]; then
    dpkg -P "$pkg" >/dev/null || rc=1
  fi
  [ ! -f "$tmp/before.tar" ] || tar -C / -xf "$tmp/before.tar" || rc=1
  if [ "$(files)" != "$before" ]; then
    echo "check-deb: the icu_predict files in the system directories differ from before" >&2
    rc=1
  fi
  rm -rf "$tmp"
  exit $rc
}
trap restore EXIT

# the tree as it is (tracked and new files, not build products or ignored ones)
src=$tmp/icu-predict-${version%-*}
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$src" -xf -
( cd "$src" && dpkg-buildpackage -b -us -uc ) > "$tmp/build.log" 2>&1 || {
  tail -n 40 "$tmp/build.log" >&2; echo "check-deb: dpkg-buildpackage failed" >&2; exit 1; }
deb=$(ls "$tmp"/${pkg}_"$version"_*.deb)
echo "check-deb: built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

# every script of the update chain, the library and the default models are in it
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for f in "$lib"/icu_predict.so "$share"/icu_predict.control "$share"/icu_predict_default_models.json \
         $(cd extension && ls icu_predict--*.sql | sed "s|^|$share/|") "$share"/icu_predict--"$current".sql; do
  grep -qx ".$f" <<<"$contents" || { echo "check-deb: $(basename "$deb") lacks $f" >&2; exit 1; }
done

for i in $(seq 1 30); do     # another apt or dpkg run may hold the dpkg lock
  if dpkg -i "$deb" > "$tmp/dpkg.log" 2>&1; then installed=1; break; fi
  grep -q 'lock' "$tmp/dpkg.log" || { cat "$tmp/dpkg.log" >&2; exit 1; }
  sleep 10
done
[ -n "$installed" ] || { cat "$tmp/dpkg.log" >&2; exit 1; }
echo "check-deb: installed $pkg $version"

# a fresh cluster on the system's PostgreSQL 15: CREATE EXTENSION and a query
# that needs the library, the install script and the default models
out=$(pg_virtualenv -t -v 15 sh -ec '
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
       -c "CREATE EXTENSION icu_predict CASCADE"
  psql -X -At -v ON_ERROR_STOP=1 -d postgres -c "
    SELECT e.extversion, count(a.*), round(icu_predict.bed_demand_mean(icu_predict.bed_demand_poisson(2.5))::numeric, 3)
      FROM pg_extension e, icu_predict.active_model a
     WHERE e.extname = '\''icu_predict'\'' GROUP BY 1"' 2>&1) || { echo "$out" >&2; exit 1; }
result=$(grep -E '^[0-9][^ ]*[|]' <<<"$out" | tail -n 1 || true)   # pg_virtualenv talks too
expected="${version%-*}|3|2.500"
if [ "$result" != "$expected" ]; then
  echo "check-deb: in a fresh cluster the package gave '$result', expected '$expected' (version, active default models, a bed-demand mean)" >&2
  echo "$out" >&2
  exit 1
fi
echo "check-deb: CREATE EXTENSION icu_predict in a fresh cluster, then version|active default models|bed_demand_mean: $result"

dpkg -P "$pkg" >/dev/null
installed=
echo "check-deb: removed $pkg; the icu_predict files that were installed before are back ($(wc -w <<<"$before") paths)"
