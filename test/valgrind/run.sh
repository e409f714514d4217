#!/usr/bin/env bash
# make valgrind: the pg_regress suite and the input fuzzer's cases against a
# PostgreSQL server running under valgrind (memcheck), then a count of the
# errors, and of those with a stack frame in icu_predict.so.  Too slow for CI
# (docs/fuzzing.md gives today's count and how long it takes).
#
#   make valgrind VALGRIND_SUPP=/path/to/postgresql-15/src/tools/valgrind.supp
#   [FUZZ_SECONDS=120] [FUZZ_TARGETS=demand_text,args] [VALGRIND_KEEP=1]
#   [VALGRIND_SKIP_REGRESS=1 (fuzzer only)]
#
# VALGRIND_SUPP: PostgreSQL's suppression file, from the PostgreSQL 15
# source tree (src/tools/valgrind.supp; e.g. `apt-get source postgresql-15`).
# The server comes from PG_CONFIG (the private server's copy with
# tools/dev-server.sh, where `make install` put icu_predict), started on a
# free port in a temporary directory (as postgres when run as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
supp=${VALGRIND_SUPP:?set VALGRIND_SUPP to PostgreSQL 15 src/tools/valgrind.supp}
fuzz_seconds=${FUZZ_SECONDS:-120}
bindir=$($PG_CONFIG --bindir)
root=$(mktemp -d /tmp/icu-valgrind-XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp "$supp" "$root/valgrind.supp"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$root"
stop() {
  as_pg "$bindir/pg_ctl -D $root/data -m fast -t 600 stop" >/dev/null 2>&1 || true
  [ -n "${VALGRIND_KEEP:-}" ] || rm -rf "$root/data"
}
trap stop EXIT
as_pg "$bindir/initdb -D $root/data -A trust -U postgres" >/dev/null
# valgrind wraps the postmaster and, through --trace-children, every backend
cat > "$root/postgres-vg" <<EOS
#!/bin/sh
exec valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=no \
  --num-callers=40 --error-limit=no --leak-check=no \
  --suppressions=$root/valgrind.supp --log-file=$root/vg.%p.log \
  $bindir/postgres "\$@"
EOS
chmod a+rx "$root/postgres-vg"
as_pg "$bindir/pg_ctl -D $root/data -l $root/server.log -w -t 600 -p $root/postgres-vg \
  -o \"-p $port -k $root -c listen_addresses='' -c max_worker_processes=16\" start" >/dev/null
export PGHOST=$root PGPORT=$port PGUSER=postgres PGDATABASE=postgres
started=$(date +%s)
if [ -z "${VALGRIND_SKIP_REGRESS:-}" ]; then
echo "== pg_regress under valgrind"
# pg_regress as `make installcheck` runs it, its output in the run's directory
tests=$(ls sql/*.sql | xargs -n1 basename | sed 's/\.sql$//' | sort)
mkdir -p "$root/regress"
"$($PG_CONFIG --pkglibdir)/pgxs/src/test/regress/pg_regress" --inputdir=. --outputdir="$root/regress" \
  --bindir="$bindir" --load-extension=btree_gist --load-extension=icu_predict \
  --dbname=icu_valgrind_regress $tests \
  || echo "(pg_regress reported differences: see $root/regress/regression.diffs)"
fi
echo "== fuzzer (${fuzz_seconds}s) under valgrind"
# statements run 20 to 100 times slower under valgrind: a long statement timeout
/usr/bin/python3 test/fuzz/fuzz_inputs.py --seconds "$fuzz_seconds" --seed 17 --json "$root/fuzz.json" \
  ${FUZZ_TARGETS:+--targets "$FUZZ_TARGETS"} --log "$root/server.log" \
  --statement-timeout 900s || echo "(the fuzzer failed or saw a crash: see $root/fuzz.json)"
as_pg "$bindir/pg_ctl -D $root/data -m fast -t 600 stop" >/dev/null
echo "== valgrind: $(( $(date +%s) - started )) s"
/usr/bin/python3 - "$root" <<'EOS'
import glob, re, sys
root = sys.argv[1]
total = ext = 0
examples = []
for path in sorted(glob.glob(f"{root}/vg.*.log")):
    block = []
    for line in open(path, errors="replace").read().splitlines() + ["==0== "]:
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip() == "":
            if block and not block[0].startswith(("HEAP SUMMARY", "LEAK SUMMARY", "For lists", "ERROR SUMMARY", "Memcheck", "Copyright", "Using Valgrind", "Command:", "Parent PID")):
                if any(b.lstrip().startswith(("at ", "by ")) for b in block):
                    total += 1
                    if any("icu_predict.so" in b for b in block):
                        ext += 1
                        if len(examples) < 5:
                            examples.append("\n".join(block))
            block = []
        else:
            block.append(body)
print(f"valgrind errors: {total} in all, {ext} with a frame in icu_predict.so "
      f"({len(glob.glob(root + '/vg.*.log'))} processes)")
for e in examples:
    print("----\n" + e)
sys.exit(1 if ext else 0)
EOS
