"""Load a synthetic cohort into the icu_predict tables with COPY, or write CSV files.

Loading happens in one transaction: either every row goes in or none does
(a rejected row aborts the COPY with the constraint's error).

lab_result is streamed as binary COPY from a producer thread that
generates and encodes the next block while the server digests the previous
one.  For large loads ("bulk" mode, automatic above BULK_THRESHOLD lab
rows) the table's indexes and its primary/foreign keys are dropped inside
the transaction and re-created after the COPY: indexes are built once
instead of row by row, and the foreign key to admission is added NOT VALID
and then checked set-based by ALTER TABLE ... VALIDATE CONSTRAINT.  When the
transaction commits every constraint is back in place and validated; no
row is dropped or changed.

The oracle (the generator's true ICU probability per admission) goes into
icu_synth.oracle, outside the extension's clinical tables; beside it the
scenario's truth for an oracle forecaster (icu_synth.scenario,
oracle_course, scenario_admissions, scenario_intensity,
scenario_icu_start_lag; docs/synthetic-cohort.md).
"""
from __future__ import annotations

import io
import os
import queue
import threading
import time

import numpy as np

from . import intensity, synth
from .errors import CohortLoadError

BULK_THRESHOLD = 500_000          # expected lab rows above which bulk mode is used
COPY_READ_SIZE = 8 << 20

ORACLE_DDL = """
CREATE SCHEMA IF NOT EXISTS icu_synth;
COMMENT ON SCHEMA icu_synth IS 'Ground truth of the synthetic cohort (outside the clinical tables).';
CREATE TABLE IF NOT EXISTS icu_synth.oracle (
    admission_id bigint PRIMARY KEY,
    p_icu        float8 NOT NULL,
    severity     float8 NOT NULL,
    covid        boolean NOT NULL,
    icu          boolean NOT NULL,
    icu_los_days float8,
    died         boolean NOT NULL
);
COMMENT ON TABLE icu_synth.oracle IS
    'Synthetic cohort truth per admission: the generator''s probability of ICU admission, latent severity and realised outcomes (also those after the end date).';
COMMENT ON COLUMN icu_synth.oracle.p_icu IS 'True probability that the admission includes an ICU stay.';
COMMENT ON COLUMN icu_synth.oracle.severity IS 'Latent severity (standard normal) that drives labs and outcomes.';
COMMENT ON COLUMN icu_synth.oracle.covid IS 'COVID-19 admission (true) or background admission.';
COMMENT ON COLUMN icu_synth.oracle.icu IS 'Whether the simulated admission reaches the ICU (even if after the end date).';
COMMENT ON COLUMN icu_synth.oracle.icu_los_days IS 'Full simulated ICU length of stay in days (NULL without ICU), uncensored.';
COMMENT ON COLUMN icu_synth.oracle.died IS 'Whether the simulated admission ends in death (even if after the end date).';
CREATE TABLE IF NOT EXISTS icu_synth.scenario (
    name        text PRIMARY KEY,
    parameters  jsonb NOT NULL,
    seed        bigint NOT NULL,
    admissions  integer NOT NULL,
    end_date    date NOT NULL,
    sha256      text NOT NULL,
    truth_sha256 text NOT NULL
);
COMMENT ON TABLE icu_synth.scenario IS
    'The scenario the loaded synthetic cohort was generated from (one row; docs/synthetic-cohort.md).';
CREATE TABLE IF NOT EXISTS icu_synth.oracle_course (
    admission_id            bigint PRIMARY KEY,
    ed_days                 float8 NOT NULL,
    time_to_icu_days        float8,
    icu_unit                text,
    ward_los_median_days    float8 NOT NULL,
    ward_los_sigma          float8 NOT NULL,
    time_to_icu_median_days float8 NOT NULL,
    time_to_icu_sigma       float8 NOT NULL,
    icu_los_median_days     float8 NOT NULL,
    icu_los_sigma           float8 NOT NULL
);
COMMENT ON TABLE icu_synth.oracle_course IS
    'Synthetic cohort truth per admission: the realised time to ICU and the lognormal laws of ward stay, time to ICU and ICU stay it was drawn from.';
COMMENT ON COLUMN icu_synth.oracle_course.ed_days IS 'Emergency department stay in days (0 for admissions not through the ED).';
COMMENT ON COLUMN icu_synth.oracle_course.time_to_icu_days IS 'Days from admission to the ICU start (ED + first ward stay), uncensored; NULL without ICU.';
COMMENT ON COLUMN icu_synth.oracle_course.icu_unit IS 'ICU unit of the ICU stay (NULL without ICU).';
COMMENT ON COLUMN icu_synth.oracle_course.ward_los_median_days IS 'Median of the lognormal first ward stay of an admission that never reaches the ICU (clipped 0.15-60 d).';
COMMENT ON COLUMN icu_synth.oracle_course.time_to_icu_median_days IS 'Median of the lognormal first ward stay before the ICU (clipped 0.15-60 d); the ED stay comes on top.';
COMMENT ON COLUMN icu_synth.oracle_course.icu_los_median_days IS 'Median of the lognormal ICU stay (clipped 0.3-120 d), with the scenario''s drift applied.';
CREATE TABLE IF NOT EXISTS icu_synth.scenario_admissions (
    day                            date PRIMARY KEY,
    expected_admissions            float8 NOT NULL,
    expected_covid_admissions      float8 NOT NULL,
    icu_los_median_covid_days      float8 NOT NULL,
    icu_los_median_background_days float8 NOT NULL
);
COMMENT ON TABLE icu_synth.scenario_admissions IS
    'Expected admissions per day under the generative model (the intensity, not the realised count), and the median ICU stay of an admission at the day''s midpoint.';
CREATE TABLE IF NOT EXISTS icu_synth.scenario_intensity (
    day                       date NOT NULL,
    unit                      text NOT NULL,
    expected_icu_starts       float8 NOT NULL,
    expected_icu_starts_covid float8 NOT NULL,
    PRIMARY KEY (day, unit)
);
COMMENT ON TABLE icu_synth.scenario_intensity IS
    'Expected number of ICU episodes starting per day (UTC) and ICU unit under the generative model, from admissions within the window: the true arrival intensity, not the realised count.';
CREATE TABLE IF NOT EXISTS icu_synth.scenario_icu_start_lag (
    day                            date NOT NULL,
    unit                           text NOT NULL,
    lag_days                       integer NOT NULL,
    expected_icu_starts_covid      float8 NOT NULL,
    expected_icu_starts_background float8 NOT NULL,
    PRIMARY KEY (day, unit, lag_days)
);
COMMENT ON TABLE icu_synth.scenario_icu_start_lag IS
    'scenario_intensity split by the admission day: expected ICU episodes starting on day in unit from admissions on day - lag_days, per class. Summed over lag_days it gives scenario_intensity.';
"""
TRUTH_TABLES = (
    ("oracle_course", synth.COURSE_COLUMNS),
    ("scenario_admissions", intensity.ADMISSIONS_COLUMNS),
    ("scenario_intensity", intensity.INTENSITY_COLUMNS),
    ("scenario_icu_start_lag", intensity.LAG_COLUMNS),
)


class _QueueReader:
    """File-like object for copy_expert that reads byte pieces from a queue."""

    def __init__(self, q):
        self.q = q
        self.buf = memoryview(b"")
        self.done = False

    def read(self, n=-1):
        while len(self.buf) == 0 and not self.done:
            item = self.q.get()
            if item is None:
                self.done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self.buf = memoryview(item)
        if len(self.buf) == 0:
            return b""
        if n is None or n < 0 or n >= len(self.buf):
            out, self.buf = self.buf, memoryview(b"")
        else:
            out, self.buf = self.buf[:n], self.buf[n:]
        return out.tobytes()


def _stream(gen, q, stop):
    try:
        for piece in gen:
            while not stop.is_set():
                try:
                    q.put(piece, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        q.put(None)
    except BaseException as e:       # forwarded to the reader
        q.put(e)


def _schema(cur):
    cur.execute("SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension WHERE extname = 'icu_predict'")
    row = cur.fetchone()
    if row is None:
        raise CohortLoadError("the database has no icu_predict extension; run CREATE EXTENSION icu_predict CASCADE first")
    return row[0]


def _drop_lab_keys(cur, s):
    """Drop lab_result's indexes and key constraints; return how to re-create them."""
    rel = f"{s}.lab_result"
    cur.execute("""
        SELECT conname, contype, pg_catalog.pg_get_constraintdef(oid)
          FROM pg_catalog.pg_constraint
         WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f', 'x')
         ORDER BY contype = 'f' DESC, conname""", (rel,))
    cons = cur.fetchall()
    cur.execute("""
        SELECT i.indexrelid::regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid)
          FROM pg_catalog.pg_index i
         WHERE i.indrelid = %s::regclass
           AND i.indexrelid NOT IN (SELECT conindid FROM pg_catalog.pg_constraint
                                     WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'x'))
         ORDER BY 1""", (rel, rel))
    idx = cur.fetchall()
    for name, _, _ in cons:
        cur.execute(f'ALTER TABLE {rel} DROP CONSTRAINT "{name}"')
    for name, _ in idx:
        cur.execute(f"DROP INDEX {name}")
    return cons, idx


def _restore_lab_keys(cur, s, cons, idx):
    rel = f"{s}.lab_result"
    cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for name, ctype, definition in cons:
        if ctype != "f":
            cur.execute(f'ALTER TABLE {rel} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in idx:
        cur.execute(definition)
    for name, ctype, definition in cons:
        if ctype == "f":
            cur.execute(f'ALTER TABLE {rel} ADD CONSTRAINT "{name}" {definition} NOT VALID')
            cur.execute(f'ALTER TABLE {rel} VALIDATE CONSTRAINT "{name}"')


def expected_lab_rows(n: int) -> int:
    return 100 * n


def load(cohort: synth.Cohort, conn, replace: bool = False, bulk: str = "auto", log=None) -> dict:
    """Load the cohort through COPY in one transaction.  Returns timings and counts."""
    log = log or (lambda *a: None)
    p = synth.Payloads(cohort)
    timing = {}
    use_bulk = bulk == "on" or (bulk == "auto" and expected_lab_rows(cohort.n) > BULK_THRESHOLD)
    conn.autocommit = False
    cur = conn.cursor()
    try:
        s = _schema(cur)
        t0 = time.time()
        if replace:
            cur.execute(f"TRUNCATE {s}.admission, {s}.location_stay, {s}.lab_result CASCADE")
        else:
            cur.execute(f"SELECT EXISTS (SELECT 1 FROM {s}.admission) OR EXISTS (SELECT 1 FROM {s}.lab_result)"
                        f" OR EXISTS (SELECT 1 FROM {s}.location_stay)")
            if cur.fetchone()[0]:
                raise CohortLoadError(f"{s}.admission, location_stay or lab_result already hold rows; "
                                      "load into an empty database or pass --replace")
        cur.copy_expert(f"COPY {s}.admission ({synth.ADMISSION_COLUMNS}) FROM STDIN (FORMAT csv)",
                        io.BytesIO(p.admission()))
        cur.copy_expert(f"COPY {s}.location_stay ({synth.STAY_COLUMNS}) FROM STDIN (FORMAT csv)",
                        io.BytesIO(p.location_stay()))
        timing["admissions_and_stays_s"] = time.time() - t0
        log("admissions and stays loaded")

        t0 = time.time()
        saved = _drop_lab_keys(cur, s) if use_bulk else None
        q = queue.Queue(maxsize=4)
        stop = threading.Event()
        th = threading.Thread(target=_stream, args=(p.lab_binary(), q, stop), daemon=True)
        th.start()
        try:
            cur.copy_expert(f"COPY {s}.lab_result ({synth.LAB_BIN_COLUMNS}) FROM STDIN (FORMAT binary)",
                            _QueueReader(q), size=COPY_READ_SIZE)
        finally:
            stop.set()
            th.join()
        cur.copy_expert(f"COPY {s}.lab_result ({synth.LAB_TEXT_COLUMNS}) FROM STDIN (FORMAT csv)",
                        io.BytesIO(p.lab_text()))
        timing["lab_copy_s"] = time.time() - t0
        log("lab results copied")
        if saved is not None:
            t0 = time.time()
            _restore_lab_keys(cur, s, *saved)
            timing["lab_keys_rebuild_s"] = time.time() - t0
            log("lab_result keys and indexes re-created and validated")
        for tbl, col in (("lab_result", "lab_result_id"), ("location_stay", "stay_id")):
            cur.execute(f"SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('{s}.{tbl}', '{col}'),"
                        f" greatest(coalesce((SELECT max({col}) FROM {s}.{tbl}), 0), 1))")

        codes = sorted({r[0] for r in cohort.lab_map})
        cur.execute(f"DELETE FROM {s}.lab_map WHERE local_code = ANY(%s)", (codes,))
        cur.copy_expert(f"COPY {s}.lab_map (local_code, unit, feature, factor, \"offset\", note) FROM STDIN (FORMAT csv)",
                        io.BytesIO(p.lab_map()))
        # every synthetic ICU unit: a scenario that uses fewer units leaves none of a previous load behind
        units = sorted(set(synth.ICU_UNITS) | {r[0] for r in cohort.capacity})
        cur.execute(f"DELETE FROM {s}.icu_capacity WHERE unit = ANY(%s)", (units,))
        cur.copy_expert(f"COPY {s}.icu_capacity (unit, valid_from, staffed_beds, surge_beds) FROM STDIN (FORMAT csv)",
                        io.BytesIO(p.capacity()))
        cur.execute(ORACLE_DDL)
        cur.execute("TRUNCATE icu_synth.oracle")
        cur.copy_expert(f"COPY icu_synth.oracle ({synth.ORACLE_COLUMNS}) FROM STDIN (FORMAT csv)",
                        io.BytesIO(p.oracle()))
        truth = p.truth(intensity.payloads(cohort))
        cur.execute("TRUNCATE icu_synth.scenario, " + ", ".join(f"icu_synth.{t}" for t, _ in TRUTH_TABLES))
        for tbl, cols in TRUTH_TABLES:
            cur.copy_expert(f"COPY icu_synth.{tbl} ({cols}) FROM STDIN (FORMAT csv)", io.BytesIO(truth[tbl]))
        cur.execute("INSERT INTO icu_synth.scenario VALUES (%s, %s::jsonb, %s, %s, %s, %s, %s)",
                    (cohort.scenario.name, synth.scenario_json(cohort), cohort.seed, cohort.n, cohort.end_date,
                     p.checksum(), p.truth_checksum()))
        t0 = time.time()
        conn.commit()
        timing["commit_s"] = time.time() - t0
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True
    t0 = time.time()
    cur.execute(f"ANALYZE {s}.admission, {s}.location_stay, {s}.lab_result, {s}.lab_map, "
                f"{s}.icu_capacity, icu_synth.oracle, "
                + ", ".join(f"icu_synth.{t}" for t, _ in TRUTH_TABLES))
    timing["analyze_s"] = time.time() - t0
    counts = {}
    for tbl in ("admission", "location_stay", "lab_result"):
        cur.execute(f"SELECT count(*) FROM {s}.{tbl}")
        counts[tbl] = cur.fetchone()[0]
    cur.close()
    return dict(checksum=p.checksum(), truth_checksum=p.truth_checksum(), encoder=p.enc, timing=timing,
                loaded=counts, bulk=use_bulk)


# --------------------------------------------------------------------------
# CSV files
# --------------------------------------------------------------------------
def write_csv(cohort: synth.Cohort, outdir: str) -> dict:
    """Write every table as CSV with a header; returns the checksum of the payloads."""
    os.makedirs(outdir, exist_ok=True)
    p = synth.Payloads(cohort)

    def w(name, header, data):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write((header.replace(" ", "") + "\n").encode())
            f.write(data)
    w("admission.csv", synth.ADMISSION_COLUMNS, p.admission())
    w("location_stay.csv", synth.STAY_COLUMNS, p.location_stay())
    base = np.datetime64("2000-01-01T00:00", "m")
    with open(os.path.join(outdir, "lab_result.csv"), "wb") as f:
        f.write((synth.LAB_TEXT_COLUMNS.replace(" ", "") + "\n").encode())
        enc = p.enc
        for groups in synth.lab_blocks(cohort):
            first = enc.next_id
            ntext = len(enc.text_lines)
            p._h("lab_block", enc.encode_block(groups))
            ids = first
            for code, unit, _, _, g in groups:
                m = len(g["admission_id"])
                num = g["text"] == 0
                if num.any():
                    idcol = (ids + np.flatnonzero(num)).astype(str).astype(object)
                    ts = [np.char.add(np.datetime_as_string(
                        base + (g[k][num] + cohort.end_min2000).astype("timedelta64[m]"), unit="m"), "+00")
                        .astype(object) for k in ("sampled", "resulted")]
                    line = (idcol + "," + g["admission_id"][num].astype(str).astype(object) + f",{code},"
                            + g["value"][num].astype(str).astype(object) + f",,{unit}," + ts[0] + "," + ts[1])
                    f.write(("\n".join(line.tolist()) + "\n").encode("utf-8"))
                ids += m
            f.write("".join(enc.text_lines[ntext:]).encode("utf-8"))
        p._h("lab_text", enc.text_payload())
    w("lab_map.csv", "local_code, unit, feature, factor, offset, note", p.lab_map())
    w("icu_capacity.csv", "unit, valid_from, staffed_beds, surge_beds", p.capacity())
    w("oracle.csv", synth.ORACLE_COLUMNS, p.oracle())
    truth = p.truth(intensity.payloads(cohort))
    for tbl, cols in TRUTH_TABLES:
        w(f"{tbl}.csv", cols, truth[tbl])
    with open(os.path.join(outdir, "scenario.json"), "w") as f:
        f.write(synth.scenario_json(cohort) + "\n")
    return dict(checksum=p.checksum(), truth_checksum=p.truth_checksum(), encoder=p.enc)
