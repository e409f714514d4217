#!/usr/bin/env bash
# The demo command (`make demo`): install missing packages, build and install
# icu_predict, start a local PostgreSQL cluster that keeps running afterwards
# (unless PGHOST/PGPORT name a server), create database icu_demo with the
# extension, load the synthetic cohort and print the result sections.
#
# Settings (environment):
#   PGHOST/PGPORT/PGUSER     use this server instead of a local demo cluster
#                            (needs a role that may CREATE DATABASE and CREATE EXTENSION)
#   ICU_DEMO_PORT            port of the local demo cluster (default 5439)
#   ICU_DEMO_DB              database name (default icu_demo; dropped and re-created)
#   ICU_DEMO_ADMISSIONS      cohort size (default 1000)
#   ICU_DEMO_SEED            cohort seed (default 42)
#   ICU_DEMO_END_DATE        YYYY-MM-DD end of the data (default: today, UTC)
#
# Rerunning is safe: the cluster is reused, the database re-created.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
DB=${ICU_DEMO_DB:-icu_demo}
PORT=${ICU_DEMO_PORT:-5439}
ADMISSIONS=${ICU_DEMO_ADMISSIONS:-1000}
SEED=${ICU_DEMO_SEED:-42}
END_DATE=${ICU_DEMO_END_DATE:-$(date -u +%F)}
SUDO=
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo

say() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------------------
# setup steps
# ---------------------------------------------------------------------------
step_packages() {
  tools/install-deps.sh
}

step_build() {
  say "build and install icu_predict"
  make -s PG_CONFIG="$PG_CONFIG"
  # The same lock as tools/with-cluster.sh, so that the install does not
  # overwrite files under a running test; held only for the install (the
  # lock's file descriptor must not leak into the long-lived server below).
  local lock=/tmp/icu_predict.install.lock
  if { : >>"$lock"; } 2>/dev/null; then
    ( flock 9; install_files ) 9>>"$lock"
  else
    install_files
  fi
}

install_files() {
  if [ -w "$($PG_CONFIG --pkglibdir)" ]; then
    make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  else
    $SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
  fi
}

# A cluster that outlives the demo: as root a Debian cluster "15/icu_demo"
# (pg_createcluster, runs as postgres, with a superuser role for the caller);
# otherwise initdb in /tmp/icu_demo_pg-$USER.
step_cluster() {
  if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
    say "using the server in PGHOST/PGPORT (${PGHOST:-local socket}:${PGPORT:-5432})"
    return
  fi
  local preload=(-c shared_preload_libraries=pg_cron -c cron.database_name="$DB")
  if [ "$(id -u)" -eq 0 ]; then
    if ! pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "icu_demo"' | grep -q .; then
      say "create PostgreSQL cluster 15/icu_demo on port $PORT"
      pg_createcluster 15 icu_demo -p "$PORT" \
        -o shared_preload_libraries=pg_cron -o cron.database_name="$DB" >/dev/null
    fi
    PORT=$(pg_lsclusters -h | awk '$1 == "15" && $2 == "icu_demo" {print $3}')
    pg_lsclusters -h | awk '$1 == "15" && $2 == "icu_demo" {print $4}' | grep -q online \
      || pg_ctlcluster 15 icu_demo start
    runuser -u postgres -- psql -X -q -p "$PORT" -d postgres -v ON_ERROR_STOP=1 -c \
      "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; END\$\$" >/dev/null
    export PGHOST=/var/run/postgresql PGPORT=$PORT PGUSER=root
    CONNECT="psql -h /var/run/postgresql -p $PORT -d $DB    (as root; or: sudo -u postgres psql -p $PORT -d $DB)"
  else
    local dir=/tmp/icu_demo_pg-$(id -un) bin
    bin=$($PG_CONFIG --bindir)
    if [ ! -f "$dir/PG_VERSION" ]; then
      say "create PostgreSQL cluster in $dir on port $PORT"
      "$bin/initdb" -D "$dir" -A trust -U "$(id -un)" >/dev/null
    fi
    if ! "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $PORT -k $dir -c listen_addresses='' ${preload[*]}" start >/dev/null
    fi
    export PGHOST=$dir PGPORT=$PORT PGUSER=$(id -un)
    CONNECT="psql -h $dir -p $PORT -d $DB    (stop: $bin/pg_ctl -D $dir stop)"
  fi
}

step_database() {
  say "database $DB (re-created) with CREATE EXTENSION icu_predict CASCADE"
  PGOPTIONS='-c client_min_messages=warning' psql -X -q -d postgres -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\"" >/dev/null
  psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION icu_predict CASCADE" 2>&1 | grep -v NOTICE || true
  psql -X -q -d "$DB" -tAc "SELECT 1 FROM pg_extension WHERE extname = 'icu_predict'" | grep -q 1
}

step_cohort() {
  say "synthetic cohort: $ADMISSIONS admissions, seed $SEED, data up to $END_DATE 00:00 UTC"
  PGDATABASE=$DB $PY -m model cohort --admissions "$ADMISSIONS" --seed "$SEED" --end-date "$END_DATE"
}

# Two hand-made admissions beside the cohort, so that the dashboard shows
# every patient state and a stale patient even on a day the cohort has none:
# DEMO-ED arrived in the emergency department three hours before the end of
# the data, with a CRP an hour later; DEMO-STALE lies on a ward since six
# days before it and has had no lab for the last four (the lab feed of that
# ward "stopped").  They use the cohort's own ward, ED unit and CRP code.
step_examples() {
  say "two hand-made admissions: DEMO-ED (in the ED now) and DEMO-STALE (no lab for 4 days)"
  psql -X -q -d "$DB" -v ON_ERROR_STOP=1 -v end="$END_DATE 00:00+00" <<'SQL'
WITH ids AS (SELECT coalesce(max(admission_id), 0) AS m FROM icu_predict.admission)
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex)
SELECT m + 1, 'DEMO-ED', :'end'::timestamptz - interval '3 hours', 67, 'male' FROM ids
UNION ALL
SELECT m + 2, 'DEMO-STALE', :'end'::timestamptz - interval '6 days', 74, 'female' FROM ids;
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at)
SELECT a.admission_id,
       CASE a.patient_id WHEN 'DEMO-ED' THEN coalesce((SELECT min(unit) FROM icu_predict.location_stay WHERE unit_kind = 'ed'), 'SEH')
                         ELSE (SELECT min(unit) FROM icu_predict.location_stay WHERE unit_kind = 'ward') END,
       CASE a.patient_id WHEN 'DEMO-ED' THEN 'ed' ELSE 'ward' END,
       'droplet', a.admitted_at
  FROM icu_predict.admission a WHERE a.patient_id IN ('DEMO-ED', 'DEMO-STALE');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at)
SELECT a.admission_id, m.local_code, v.value, m.unit, a.admitted_at + v.after
  FROM icu_predict.admission a
  CROSS JOIN LATERAL (SELECT local_code, unit FROM icu_predict.lab_map
                       WHERE feature = 'crp' ORDER BY factor = 1 DESC, local_code LIMIT 1) m
  JOIN (VALUES ('DEMO-ED', 95::float8, interval '1 hour'),
               ('DEMO-STALE', 60, interval '4 hours'),
               ('DEMO-STALE', 140, interval '2 days')) v(patient, value, after)
    ON v.patient = a.patient_id;
SQL
}

# ---------------------------------------------------------------------------
# output sections: each prints one result table.  Add new ones to SECTIONS.
# ---------------------------------------------------------------------------
q() { psql -X -d "$DB" -v ON_ERROR_STOP=1 -P pager=off -P footer=off "$@"; }

section_current_admissions() {
  say "current admissions (patients in hospital at the end of the data)"
  q -c "
    SELECT a.patient_id                          AS patient,
           s.unit                                AS ward,
           s.unit_kind                           AS kind,
           s.isolation,
           to_char(a.admitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS admitted_utc,
           round((extract(epoch FROM now() - a.admitted_at) / 86400)::numeric, 1) AS days_in_hospital,
           round(crp.value::numeric, 0)          AS latest_crp_mg_l,
           to_char(crp.resulted_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI') AS crp_resulted_utc
      FROM icu_predict.admission a
      JOIN icu_predict.location_stay s
        ON s.admission_id = a.admission_id AND s.ended_at IS NULL
      LEFT JOIN LATERAL (
            SELECT r.value * m.factor + m.\"offset\" AS value, r.resulted_at
              FROM icu_predict.lab_result r
              JOIN icu_predict.lab_map m
                ON m.local_code = r.local_code AND m.unit_key = icu_predict.unit_key(r.unit)
             WHERE r.admission_id = a.admission_id AND m.feature = 'crp' AND r.value IS NOT NULL
             ORDER BY r.resulted_at DESC LIMIT 1) crp ON true
     WHERE a.discharged_at IS NULL
     ORDER BY s.unit_kind = 'icu' DESC, s.unit, a.admitted_at"
  q -c "
    SELECT s.unit, s.unit_kind AS kind, count(*) AS patients,
           c.staffed_beds, c.surge_beds
      FROM icu_predict.location_stay s
      LEFT JOIN LATERAL (SELECT staffed_beds, surge_beds FROM icu_predict.icu_capacity c
                          WHERE c.unit = s.unit ORDER BY valid_from DESC LIMIT 1) c ON true
     WHERE s.ended_at IS NULL
     GROUP BY s.unit, s.unit_kind, c.staffed_beds, c.surge_beds
     ORDER BY s.unit_kind = 'icu' DESC, s.unit"
}

# The views need a refresh (CREATE EXTENSION leaves them empty); the demo user
# is mapped to every ward so that icu_bi.patient_status shows all patients
# (a Power BI login would be mapped to its own wards instead).
section_refresh() {
  say "CALL icu_predict.refresh()   (patient_status, then capacity_forecast; logged in refresh_log)"
  q -q -c "INSERT INTO icu_predict.ward_access (role_name, ward) VALUES (current_user, '*')
           ON CONFLICT DO NOTHING" -c "CALL icu_predict.refresh()"
  q -c "
    SELECT run_id,
           to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started_utc,
           round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds,
           succeeded, mode,
           to_char(reference_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS as_of_utc,
           patient_status_rows AS status_rows,
           capacity_forecast_rows AS forecast_rows,
           model_versions, coalesce(error, '') AS error
      FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1"
}

section_patient_status() {
  say "today's patient status: ward patients with the highest ICU risk (icu_bi.patient_status)"
  q -P null=- -c "
    SELECT patient_id AS patient, ward, isolation,
           round(days_in_hospital::numeric, 1)  AS days,
           round(key_lab_1_last::numeric)       AS crp,
           round(key_lab_2_last::numeric)       AS ldh,
           round(key_lab_3_last::numeric, 1)    AS ddimer,
           round(key_lab_5_last::numeric, 2)    AS lymph,
           round((100 * icu_risk)::numeric, 1)  AS \"risk 48h %\",
           round((100 * icu_risk_forecast)::numeric, 1) AS \"risk 7d %\",
           risk_band AS band,
           course || coalesce(' (' || to_char(100 * risk_change, 'FMSG990.0') || ')', '') AS \"course vs yesterday\",
           round(icu_stay_expected_days::numeric, 1) AS \"ICU stay d\",
           round(icu_stay_p10_days::numeric, 1) || '-' || round(icu_stay_p90_days::numeric, 1) AS \"P10-P90 d\"
      FROM icu_bi.patient_status
     WHERE is_today AND patient_state IN ('pre_icu', 'ed')
     ORDER BY icu_risk DESC NULLS LAST, admission_id
     LIMIT 12"
  say "why: the top reasons of the same patients, and the models behind the numbers"
  q -P null=- -c "
    SELECT patient_id AS patient, round((100 * icu_risk)::numeric, 1) AS \"risk 48h %\",
           top_reasons, risk_model_version AS model
      FROM icu_bi.patient_status
     WHERE is_today AND patient_state IN ('pre_icu', 'ed')
     ORDER BY icu_risk DESC NULLS LAST, admission_id
     LIMIT 12"
  q -c "
    SELECT count(*) FILTER (WHERE is_today) AS patients_today,
           count(*) FILTER (WHERE is_today AND unit_kind = 'icu') AS in_icu,
           count(*) FILTER (WHERE is_today AND risk_band = 'high') AS high_risk,
           count(*) FILTER (WHERE is_today AND course = 'worsening') AS worsening,
           count(*) FILTER (WHERE is_today AND labs_stale) AS stale_today,
           count(*) AS rows_all_days
      FROM icu_bi.patient_status"
}

section_patient_states() {
  say "what each patient state shows: today, per state (icu_bi.patient_status.patient_state)"
  q -P null=- -c "
    SELECT patient_state, count(*) AS patients,
           round(avg(icu_risk)::numeric, 3) AS mean_icu_risk,
           round(avg(icu_remaining_expected_days)::numeric, 1) AS mean_remaining_icu_days,
           min(state_note) AS note
      FROM icu_bi.patient_status WHERE is_today GROUP BY patient_state ORDER BY patient_state"
  say "one patient of each state today: risk before the ICU, remaining stay in it, neither after"
  q -P null=- -c "
    SELECT DISTINCT ON (patient_state) patient_state, patient_id AS patient, ward,
           round((100 * icu_risk)::numeric, 1) AS \"risk 48h %\", risk_band AS band,
           round(icu_days_so_far::numeric, 1) AS \"ICU days\",
           round(icu_remaining_median_days::numeric, 1) || ' (' || round(icu_remaining_p10_days::numeric, 1)
               || '-' || round(icu_remaining_p90_days::numeric, 1) || ')' AS \"remaining d (P10-P90)\",
           round((100 * p_still_in_icu_1d)::numeric) || '/' || round((100 * p_still_in_icu_3d)::numeric)
               || '/' || round((100 * p_still_in_icu_7d)::numeric) AS \"P(in ICU) 1/3/7 d %\"
      FROM icu_bi.patient_status WHERE is_today
     ORDER BY patient_state, icu_risk DESC NULLS LAST, icu_days_so_far DESC NULLS LAST, admission_id"
  say "stale labs: patient-days whose newest lab is older than ward_policy.stale_lab_hours (48 h)"
  q -P null=- -c "
    SELECT patient_id AS patient, day_date, ward, patient_state,
           round(hours_since_last_lab::numeric) AS \"hours since lab\",
           round((100 * icu_risk)::numeric, 1) AS \"risk 48h %\", course
      FROM icu_bi.patient_status WHERE labs_stale
     ORDER BY is_today DESC, hours_since_last_lab DESC NULLS FIRST, admission_id, day_date
     LIMIT 5"
  q -P null=- -c "
    SELECT reference_time, data_as_of, coalesce(data_lag_warning, '(data current)') AS data_lag_warning
      FROM icu_bi.refresh_status"
}

section_capacity_forecast() {
  say "ICU capacity: occupancy now and the 7-day forecast per unit (icu_bi.capacity_forecast)"
  q -c "
    SELECT unit, horizon_day AS d, forecast_date AS date, occupied_now AS now,
           round(expected_beds::numeric, 1) AS expected,
           p10_beds || '-' || p90_beds AS \"P10-P90\", p95_beds AS p95,
           staffed_beds || '/' || surge_beds AS \"staffed/surge\",
           round((100 * prob_over_staffed)::numeric, 1) AS \"P(>staffed) %\",
           recommended_action AS action
      FROM icu_bi.capacity_forecast
     WHERE horizon_day <= 7
     ORDER BY is_total, unit, horizon_day"
}

section_predict() {
  say "for an analyst: icu_predict.predict(admission_id) on the highest-risk ward patient"
  local id
  id=$(q -tA -c "SELECT admission_id FROM icu_predict.patient_status
                  WHERE is_today AND patient_state IN ('pre_icu', 'ed')
                  ORDER BY risk DESC NULLS LAST, admission_id LIMIT 1")
  if [ -z "$id" ]; then echo "  (no ward patient today)"; return; fi
  echo "  SELECT * FROM icu_predict.predict($id);"
  q -x -c "SELECT * FROM icu_predict.predict($id)"
}

section_connect() {
  say "connect"
  echo "  $CONNECT"
  echo "  e.g.  SELECT * FROM icu_bi.patient_status WHERE is_today ORDER BY icu_risk DESC LIMIT 20;"
  echo "        SELECT * FROM icu_bi.capacity_forecast WHERE is_total;"
  echo "  stop the demo cluster: pg_ctlcluster 15 icu_demo stop   (as root)"
}

SECTIONS=(
  section_current_admissions
  section_refresh
  section_patient_status
  section_patient_states
  section_capacity_forecast
  section_predict
  section_connect
)

# ---------------------------------------------------------------------------
CONNECT="psql -d $DB    (with your PGHOST/PGPORT)"
step_packages
step_build
step_cluster
step_database
step_cohort
step_examples
for s in "${SECTIONS[@]}"; do "$s"; done
