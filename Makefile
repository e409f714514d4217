# icu_predict — PGXS build.
#
# C sources:   extension/src/<stage>/*.c -> icu_predict.so (stages: common,
#              canonical, panel, model, demand; shared headers in extension/include)
# SQL parts:   extension/sql/NN_*.sql -> extension/icu_predict--$(EXTVERSION).sql
#              (concatenated in name order; one part per concept keeps the
#              install script readable and the parts reviewable on their own)
# Tests:       sql/*.sql + expected/*.out (pg_regress, `make installcheck`),
#              test/pgtap/*.sql (pgTAP, `make prove`), pytest: model/tests
#              (server-free) and test/integration (against a server).
# One command: `make test` (everything, on a throwaway cluster) and
#              `make demo` (synthetic cohort, printed results).

EXTENSION  = icu_predict
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" icu_predict.control)

MODULE_big = icu_predict
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard extension/src/*/*.c)))

SQL_PARTS  = $(sort $(wildcard extension/sql/*.sql))
DATA_built = extension/icu_predict--$(EXTVERSION).sql
# Released install scripts (kept as shipped) and the upgrade scripts.
DATA       = $(filter-out $(DATA_built),$(wildcard extension/icu_predict--*.sql))

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=btree_gist --load-extension=icu_predict

PG_CPPFLAGS = -I$(srcdir)/extension/include
PG_CFLAGS   = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(if $(WERROR),-Werror)

EXTRA_CLEAN = $(DATA_built) results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(SQL_PARTS) icu_predict.control
	@{ echo '-- icu_predict $(EXTVERSION) install script.'; \
	   echo '-- Built from extension/sql/*.sql by make; edit the parts, not this file.'; \
	   echo; \
	   printf '%s\n' '\echo Use "CREATE EXTENSION icu_predict CASCADE" to load this file. \quit'; \
	   for f in $(SQL_PARTS); do echo; echo "-- ==== $$f"; cat $$f; done; } > $@

all: $(DATA_built)

# Every C file includes the shared headers; a stage may have a private one.
$(OBJS): $(wildcard extension/include/*.h extension/src/*/*.h)

.PHONY: test demo prove deps
deps:
	tools/install-deps.sh

# Everything, on a throwaway cluster: build with -Werror, install, pg_regress, pgTAP, pytest.
test:
	tools/run-tests.sh

# pgTAP (test/pgtap/) against the installed extension and the server in the
# PG* environment: a new database PROVE_DB with pgtap and icu_predict, every
# file through pg_prove, then the database dropped (also when a test fails).
PROVE_DB ?= icu_predict_tap
prove:
	psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $(PROVE_DB)" -c "CREATE DATABASE $(PROVE_DB)" >/dev/null
	psql -q -X -d $(PROVE_DB) -v ON_ERROR_STOP=1 \
	  -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION icu_predict CASCADE" >/dev/null
	pg_prove -d $(PROVE_DB) test/pgtap/*.sql; rc=$$?; \
	  psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $(PROVE_DB)" >/dev/null; exit $$rc

demo:
	tools/demo.sh

# The default models shipped in the install script: train on the synthetic
# cohort (fixed seed and end date) on a throwaway cluster and regenerate
# extension/sql/25_default_model.sql and docs/default-model/.
.PHONY: default-model
default-model:
	tools/with-cluster.sh /usr/bin/python3 -m model.default_model

# Train, validate and write a model card against the server in the PG*
# environment (PGDATABASE = the database with a loaded cohort); pass e.g.
# TRAIN_ARGS="--deploy --activate".  See docs/training.md.
.PHONY: train
train:
	/usr/bin/python3 -m model.train --out cards/latest $(TRAIN_ARGS)

# Side-by-side benchmark of the daily job (icu_predict C vs pure SQL vs
# PL/Python + scikit-learn, plus the count(*) floor) on a throwaway cluster;
# BENCH_ARGS=--quick for the 10k scale only.  Writes bench/out/daily_job.{json,md,png}.
# See docs/benchmark.md.  The install lock is held only for `make install`.
.PHONY: bench
bench:
	flock /tmp/icu_predict.install.lock $(MAKE) -s install PG_CONFIG=$(PG_CONFIG) >/dev/null
	pg_virtualenv -t -v 15 -o shared_buffers=2GB -o max_worker_processes=16 -o max_parallel_workers=8 \
	  /usr/bin/python3 -m bench.daily_job $(BENCH_ARGS)

# Backtest of the ICU occupancy forecast (eval/backtest.py) on a throwaway
# cluster: the synthetic cohort (BACKTEST_SCENARIO, default large_wave with
# BACKTEST_ADMISSIONS = 20000; other presets use their own size unless
# BACKTEST_ADMISSIONS is set; seed 42, end 2020-06-01) is loaded, the wave
# replayed and graded; writes eval/out/backtest.{json,png}.
# See docs/backtest.md.  The install lock is held only for `make install`.
BACKTEST_SCENARIO ?= large_wave
ifeq ($(BACKTEST_SCENARIO),large_wave)
BACKTEST_ADMISSIONS ?= 20000
endif
BACKTEST_ARGS ?= --start 2020-03-01 --end 2020-05-24 --step 4 --burn-in 0
.PHONY: backtest
backtest:
	flock /tmp/icu_predict.install.lock $(MAKE) -s install PG_CONFIG=$(PG_CONFIG) >/dev/null
	mkdir -p eval/out
	pg_virtualenv -t -v 15 sh -ec 'createdb icu_backtest; \
	  psql -X -q -d icu_backtest -c "CREATE EXTENSION icu_predict CASCADE"; \
	  /usr/bin/python3 -m model cohort --dsn dbname=icu_backtest --scenario $(BACKTEST_SCENARIO) \
	    $(if $(BACKTEST_ADMISSIONS),--admissions $(BACKTEST_ADMISSIONS)) --seed 42 --end-date 2020-06-01 >/dev/null; \
	  /usr/bin/python3 eval/backtest.py --dsn dbname=icu_backtest --scenario $(BACKTEST_SCENARIO) \
	    --json eval/out/backtest.json --plot eval/out/backtest.png $(BACKTEST_ARGS)'

# Ablation on the scenario presets (eval/backtest_presets.sh): small_two_waves,
# steady, fast_surge, large_wave (20000), daily origins, horizons 1-14, the
# inflow variants default / nb / trend / trend_nb; on the server named by the
# PG* environment (icu_predict installed there; databases btp_<preset>,
# re-created and dropped), writes eval/out/<preset>.json and the tables and
# plots of docs/backtest/.  Not part of CI.  PRESETS, BT_ARGS, BT_LARGE_ARGS,
# BT_DB_PREFIX, BT_KEEP override.
.PHONY: backtest-presets
backtest-presets:
	sh eval/backtest_presets.sh

# Memory checking (not CI): pg_regress and the fuzzer's cases against a server
# under valgrind with PostgreSQL's suppressions (VALGRIND_SUPP = PostgreSQL 15
# src/tools/valgrind.supp); reports the errors with a frame in icu_predict.so.
# See docs/fuzzing.md.
.PHONY: valgrind
valgrind:
	test/valgrind/run.sh
