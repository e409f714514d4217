#!/usr/bin/env bash
# Build the panel scoring entry points (extension/src/model/score_panel.c;
# extension/model_panel.c before the stage layout) of another commit as a small loadable library for the
# side-by-side mode of bench/model_bench.py (--alt-lib):
#   bench/build_alt_panel.sh COMMIT OUT.so
# The library holds that commit's file plus a PG_MODULE_MAGIC block;
# everything else it calls resolves to the installed icu_predict.so.
set -euo pipefail
commit=$1 out=$2
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git archive "$commit" extension | tar -x -C "$dir"
printf '#include "postgres.h"\n#include "fmgr.h"\nPG_MODULE_MAGIC;\n' > "$dir/magic.c"
if [ -f "$dir/extension/src/model/score_panel.c" ]; then
  src=extension/src/model/score_panel.c
  inc="-I$dir/extension/include -I$dir/extension/src/model"
else
  src=extension/model_panel.c
  inc="-I$dir/extension"
fi
inc="$inc -I$($PG_CONFIG --includedir-server)"
cflags="$($PG_CONFIG --cflags) $($PG_CONFIG --cflags_sl)"
cc $cflags $inc -c "$dir/$src" -o "$dir/model_panel.o"
cc $cflags $inc -c "$dir/magic.c" -o "$dir/magic.o"
cc -shared -o "$out" "$dir/model_panel.o" "$dir/magic.o"
echo "built $out from $commit:$src"
