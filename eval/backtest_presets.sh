#!/bin/sh
# Ablation backtest on the scenario presets (docs/backtest.md, "Ablation on
# the scenario presets").  For each preset: a database on the server named by
# the PG* environment (icu_predict must be installable there), the cohort
# (seed 42, or each of SEEDS; end 2020-06-01; large_wave with 20000 admissions), a daily replay
# with horizons 1-14 and the variants (VARIANTS), $BT_OUT/<preset>.json and
# $BT_OUT/<preset>.log; then eval/summarise.py writes the tables and plots
# into docs/backtest/.
#
#   PRESETS       presets to run (default: small_two_waves steady fast_surge large_wave)
#   BT_DB_PREFIX  database name prefix (default btp_); each database is dropped
#                 and re-created, and dropped again at the end unless BT_KEEP=1
#   BT_ARGS       extra eval/backtest.py arguments (e.g. --step 2)
#   BT_LARGE_ARGS extra arguments for large_wave only (e.g. --step 2)
#   SEEDS         cohort seeds (default 42); seed 42 writes eval/out/<preset>.json,
#                 another seed S eval/out/<preset>_sS.json; summarise.py pools them
#   VARIANTS      the variants compared, NAME[:policy_column=value,...] each
#                 (default: today's defaults, + recalibration from the replay's
#                 log with the 112-day window, and with a 28-day window); the
#                 first is the reference of the paired CRPS changes
#   BT_DOCS       where summarise.py writes the tables and plots (default docs/backtest)
#   BT_OUT        where the JSON reports and logs go (default eval/out)
#   BT_LOAD_ONLY  1: only create the databases and load the cohorts (kept)
#   BT_REUSE      1: replay the databases as loaded before (no drop, no load),
#                 e.g. to load with one installed model file and replay later
set -eu
cd "$(dirname "$0")/.."
PRESETS=${PRESETS:-"small_two_waves steady fast_surge large_wave"}
BT_DB_PREFIX=${BT_DB_PREFIX:-btp_}
BT_ARGS=${BT_ARGS:-}
BT_LARGE_ARGS=${BT_LARGE_ARGS:-}
PY=/usr/bin/python3
BT_OUT=${BT_OUT:-eval/out}
mkdir -p "$BT_OUT"
SEEDS=${SEEDS:-42}
VARIANTS=${VARIANTS:-"default cal:calibration=true cal28:calibration=true,calibration_window_days=28"}
vargs=""
for v in $VARIANTS; do vargs="$vargs --variant $v"; done
for p in $PRESETS; do
 for seed in $SEEDS; do
  db="${BT_DB_PREFIX}${p}"
  out=$p; [ "$seed" = 42 ] || out="${p}_s${seed}"
  start=2020-02-10 size="" extra=$BT_ARGS
  if [ "$p" = large_wave ]; then
    start=2020-03-01 size="--admissions 20000" extra="$BT_ARGS $BT_LARGE_ARGS"
  fi
  if [ "${BT_REUSE:-0}" != 1 ]; then
    dropdb --if-exists "$db"
    createdb "$db"
    psql -X -q -d "$db" -c "SET client_min_messages = warning; CREATE EXTENSION icu_predict CASCADE"
    $PY -m model cohort --dbname "$db" --scenario "$p" $size --seed "$seed" --end-date 2020-06-01 >"$BT_OUT/$out.load.log"
  fi
  [ "${BT_LOAD_ONLY:-0}" = 1 ] && continue
  t0=$(date +%s)
  # shellcheck disable=SC2086
  $PY eval/backtest.py --dsn "dbname=$db" --scenario "$p" --start "$start" --end 2020-05-24 \
      --horizons 1-14 --burn-in 28 --seed 42 \
      $vargs \
      --json "$BT_OUT/$out.json" --title "$p, cohort seed $seed" $extra >"$BT_OUT/$out.log"
  echo "$p seed $seed: replay $(( $(date +%s) - t0 )) s -> $BT_OUT/$out.json"
  [ "${BT_KEEP:-0}" = 1 ] || dropdb "$db"
 done
done
[ "${BT_LOAD_ONLY:-0}" = 1 ] && exit 0
$PY eval/summarise.py --out "${BT_DOCS:-docs/backtest}" "$BT_OUT"/*.json
