"""Readers during refresh: 8 BI readers while refresh() runs again and again
and lab results keep arriving.  A measurement, not a test (docs/benchmark.md).

    /usr/bin/python3 -m bench.concurrency [--admissions 2000] [--seconds 60]
        [--readers 8] [--json bench/out/concurrency.json]

On the server in the PG* environment (icu_predict installed): a database
icu_bench_conc (re-created) gets the synthetic cohort (seed 42, end
2020-06-01) and a first refresh as of the end of the data; then, for
--seconds, at the same time:
  * --readers connections as a Power BI login (member of icu_bi_reader,
    ward '*') each read icu_bi.patient_status (today's rows), then
    icu_bi.capacity_forecast, then icu_bi.refresh_status, in a loop;
  * one connection runs CALL icu_predict.refresh() in a loop (as the owner,
    as of the end of the data: a replay);
  * one connection inserts a lab result for a current admission every 10 ms.
It reports reads, read errors, read latency (median, 95th percentile, max),
refresh runs (succeeded, failed, median and max duration) and inserts.
"""
import argparse
import json
import os
import statistics
import subprocess
import threading
import time

import psycopg2

DB = "icu_bench_conc"
REF = "2020-06-01 00:00+00"
READER = "icu_bench_reader"


def _connect(dbname=DB, **kw):
    c = psycopg2.connect(dbname=dbname, **kw)
    c.autocommit = True
    return c


def setup(admissions):
    admin = _connect(os.environ.get("PGDATABASE", "postgres"))
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,))
        if not cur.fetchone():
            cur.execute(f"CREATE ROLE {READER} LOGIN PASSWORD %s", (os.environ.get("PGPASSWORD", "bench"),))
    admin.close()
    c = _connect()
    with c.cursor() as cur:
        cur.execute("CREATE EXTENSION icu_predict CASCADE")
    c.close()
    subprocess.run(["/usr/bin/python3", "-m", "model", "cohort", "--dsn", f"dbname={DB}",
                    "--admissions", str(admissions), "--seed", "42", "--end-date", "2020-06-01"],
                   check=True, stdout=subprocess.DEVNULL)
    c = _connect()
    with c.cursor() as cur:
        cur.execute(f"GRANT icu_bi_reader TO {READER}")
        cur.execute("INSERT INTO icu_predict.ward_access VALUES (%s, '*') ON CONFLICT DO NOTHING", (READER,))
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("CALL icu_predict.refresh()")
        cur.execute("SELECT count(*) FROM icu_predict.patient_status WHERE is_today")
        current = cur.fetchone()[0]
    c.close()
    return current


def run(seconds, readers):
    stop = threading.Event()
    lat, errors, refreshes, inserts = [], [], [], [0]
    lock = threading.Lock()

    def reader():
        c = _connect(user=READER, password=os.environ.get("PGPASSWORD", "bench"))
        cur = c.cursor()
        while not stop.is_set():
            for q in ("SELECT count(*), avg(days_in_hospital) FROM icu_bi.patient_status WHERE is_today",
                      "SELECT count(*), sum(expected_beds) FROM icu_bi.capacity_forecast",
                      "SELECT * FROM icu_bi.refresh_status"):
                t0 = time.perf_counter()
                try:
                    cur.execute(q)
                    cur.fetchall()
                    with lock:
                        lat.append(time.perf_counter() - t0)
                except psycopg2.Error as e:
                    with lock:
                        errors.append(f"{e.pgcode}: {e.pgerror}")
        c.close()

    def refresher():
        c = _connect()
        cur = c.cursor()
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("SET client_min_messages = error")
        while not stop.is_set():
            t0 = time.perf_counter()
            cur.execute("CALL icu_predict.refresh()")
            cur.execute("SELECT succeeded FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1")
            refreshes.append((cur.fetchone()[0], time.perf_counter() - t0))
        c.close()

    def inserter():
        c = _connect()
        cur = c.cursor()
        cur.execute("""SELECT a.admission_id, m.local_code, m.unit
                         FROM icu_predict.admission a, icu_predict.lab_map m
                        WHERE a.admitted_at <= %s AND (a.discharged_at IS NULL OR a.discharged_at > %s)
                          AND m.feature = 'crp' LIMIT 1""", (REF, REF))
        adm, code, unit = cur.fetchone()
        while not stop.is_set():
            cur.execute("""INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, resulted_at)
                           VALUES (%s, %s, 50, %s, timestamptz %s - interval '1 minute')""", (adm, code, unit, REF))
            inserts[0] += 1
            time.sleep(0.01)
        c.close()

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    threads += [threading.Thread(target=refresher), threading.Thread(target=inserter)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    lat.sort()
    durations = sorted(d for _, d in refreshes)
    return {
        "seconds": seconds, "readers": readers,
        "reads": len(lat), "read_errors": len(errors), "error_examples": errors[:5],
        "read_ms_median": round(1000 * statistics.median(lat), 1) if lat else None,
        "read_ms_p95": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        "read_ms_max": round(1000 * lat[-1], 1) if lat else None,
        "refreshes": len(refreshes), "refreshes_failed": sum(1 for ok, _ in refreshes if not ok),
        "refresh_s_median": round(statistics.median(durations), 2) if durations else None,
        "refresh_s_max": round(durations[-1], 2) if durations else None,
        "lab_inserts": inserts[0],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--admissions", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    a = ap.parse_args()
    current = setup(a.admissions)
    out = run(a.seconds, a.readers)
    out.update(admissions=a.admissions, current_admissions=current)
    print(json.dumps(out, indent=2))
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    if not a.keep:
        admin = _connect(os.environ.get("PGDATABASE", "postgres"))
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.close()


if __name__ == "__main__":
    main()
