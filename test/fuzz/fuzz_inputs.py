"""Fuzz the input paths a user can reach with hostile bytes; report crashes.

A robustness tool, not a CI test.  It mutates valid values (truncation, bit
flips, random bytes, duplicated keys, huge counts, NaN/Infinity, extreme
times, deep nesting, wrong JSON types) a few thousand times per target and
checks that every attempt either succeeds or fails with a clean SQL error.
After every error it runs ``SELECT 1`` on the same connection; a lost
connection, or "terminated by signal" in the server log, is a crash.

Targets
  panel_text   '...'::icu_predict.lab_panel (JSON text input)
  panel_bin    lab_panel binary receive (COPY ... FROM STDIN (FORMAT binary))
  demand_text  '...'::icu_predict.bed_demand
  demand_bin   bed_demand binary receive
  model_spec   INSERT INTO icu_predict.model (the spec trigger), and when a
               mutant is accepted, scoring it (model_predict, model_margin,
               model_contributions, model_stay, model_stay_survival)
  args         extreme arguments: lab_value, quantile, prob_exceeds,
               bed_demand_poisson/add_poisson, the bed_demand and lab_panel
               aggregates, risk/explain/length_of_stay/stay_survival(_curve)
  units        mutated unit strings through the UCUM functions: unit_ucum,
               unit_factor, unit_offset, unit_conversion_problem, unit_convert
               (with extreme values and molar masses)
  lab_text     mutated result texts (censored "<5", "> 1000", decimal
               commas, exponents, 400 digits) through lab_text_value and
               lab_text_censoring
  covariates   admission_covariates values (extreme age and BMI, NaN,
               unknown, NULL, duplicated or multi-dimensional comorbidity
               arrays) through risk/length_of_stay/stay_survival/explain/
               covariate_value with a model that reads them; diagnosis and
               comorbidity_code rows with mutated codes, then
               admission_covariates() and admission_comorbidity
  calibration  bed_demand_calibration_factor, bed_demand_widen and the
               forecast scores (bed_demand_cdf, _crps, _pit, _pit_cdf) with
               extreme arguments, on the demand bases and wide values

Every value a mutant is accepted as is also exercised (text output, send,
accessors), so a value that gets in but breaks a reader is found too.

Expected error classes are 22 (data exception), 42 (syntax/undefined
object), 23 (integrity constraint), 54 (a documented program limit);
anything else (XX000 "cannot happen",
54 program limit, 57014 timeout = a hang) is listed as unexpected.

Run (on a throwaway cluster; takes about as long as --seconds):

    tools/with-cluster.sh /usr/bin/python3 test/fuzz/fuzz_inputs.py --seconds 900
    tools/with-cluster.sh /usr/bin/python3 test/fuzz/fuzz_inputs.py --seconds 60 --targets panel_bin --seed 7

Options: --seconds total budget split evenly over the targets, --seed,
--targets (comma list), --log PATH (server log; found under pg_virtualenv's
work directory by default), --json PATH (write the summary).  Exit status 1
when a crash was seen.
"""
import argparse
import collections
import copy
import glob
import io
import json
import math
import os
import random
import struct
import sys
import time
import uuid

import psycopg2
import psycopg2.extensions

# 54 = program limit exceeded (a deliberate, documented bound, e.g. a too-long daily series)
ALLOWED_CLASSES = ("22", "42", "23", "54")
TARGETS = ("panel_text", "panel_bin", "demand_text", "demand_bin", "model_spec", "args",
           "units", "lab_text", "covariates", "calibration")

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63
# PostgreSQL's valid timestamp range in microseconds since 2000-01-01
TS_MIN = -211813488000000000
TS_END = 9223371331200000000
INTERESTING_I64 = [0, 1, -1, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                   TS_MIN, TS_MIN - 1, TS_END, TS_END - 1, TS_END + 1, 2 ** 31, -2 ** 31]
INTERESTING_I32 = [0, 1, -1, 2 ** 31 - 1, -2 ** 31, 2 ** 31 - 2, 1000, 65535, 65536]
INTERESTING_I16 = [0, 1, 0x7fff, 0x8000, 0xffff, 1000, 1001, 2]
INTERESTING_F64 = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324, 2.2250738585072014e-308,
                   1.7976931348623157e308, -1.7976931348623157e308, 1e-300, 1e300, 1.0, -1.0, 0.5,
                   1.0000000000000002, 0.9999999999999999, 1e-16, 3.4028235e38, 3.5e38]
JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "0",
                "1e308", "1.7976931348623157e308", "5e-324", "99999999999999999999999999",
                "-99999999999999999999999999", "9223372036854775807", "9223372036854775808",
                "-9223372036854775809", "2147483647", "2147483648", "-1", "0.5", "1e38", "3.5e38",
                "1" + "0" * 400, "0." + "0" * 400 + "1", "1e-7", "1.5"]
JSON_JUNK = ['"NaN"', '"Infinity"', '"-Infinity"', '"1e400"', '"abc"', '""', "null", "true", "false",
             "[]", "{}", "[1,2]", '{"a":1}', '"5E-1"', '"  1"', '"0x10"', '"1e38"', '"3.5e38"']
TIMESTAMPS = ["infinity", "-infinity", "4713-01-01 BC", "4714-11-24 00:00:00+00 BC",
              "294276-12-31 23:59:59+00", "294277-01-01", "2020-01-01", "2020-02-30", "epoch",
              "now", "allballs", "", "2020-01-01T00:00:00+99:00", "2020-01-01 00:00:00.9999999",
              "10000-01-01", "0001-01-01 BC"]
STRINGS = ["", "a", "crp", "CRP", "no_such_lab", "x" * 31, "x" * 32, "x" * 64, "x" * 10000,
           "é", "\u00e9crp", "crp\t", "a-b", "a b", "1abc", "_x", "\\", "'", '"', "last", "hours_since_last",
           "trend", "count", "rejected", "icu_admission", "icu_stay", "linear", "xgboost", "%s%n%d"]


# --------------------------------------------------------------------------
# Generic mutators
# --------------------------------------------------------------------------

def mutate_bytes(rng, b):
    """One to three random byte-level mutations."""
    b = bytearray(b)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        n = len(b)
        if op == 0 and n:                          # truncate
            b = b[:rng.randrange(n)]
        elif op == 1 and n:                        # flip a bit
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        elif op == 2 and n:                        # replace a byte
            b[rng.randrange(n)] = rng.randrange(256)
        elif op == 3:                              # insert random bytes
            i = rng.randrange(n + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 4 and n:                        # delete a range
            i = rng.randrange(n)
            del b[i:i + rng.randint(1, 16)]
        elif op == 5 and n:                        # duplicate a range
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 64))
            b[j:j] = b[i:j] * rng.randint(1, 4)
        elif op == 6 and n:                        # interesting 8 bytes
            i = rng.randrange(n)
            if rng.random() < 0.5:
                v = struct.pack("!q", rng.choice(INTERESTING_I64))
            else:
                v = struct.pack("!d", rng.choice(INTERESTING_F64))
            b[i:i + 8] = v
        elif op == 7 and n:                        # interesting 4 / 2 bytes
            i = rng.randrange(n)
            if rng.random() < 0.5:
                b[i:i + 4] = struct.pack("!I", rng.choice(INTERESTING_I32) & 0xffffffff)
            else:
                b[i:i + 2] = struct.pack("!H", rng.choice(INTERESTING_I16) & 0xffff)
        elif op == 8:                              # append junk
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return bytes(b)


def mutate_text(rng, s):
    """Byte-level mutation of a text value, kept valid UTF-8 without NUL."""
    b = mutate_bytes(rng, s.encode())
    return b.replace(b"\x00", b"").decode("utf-8", errors="replace")


def text_tokens_mutation(rng, s):
    """Replace a number-looking token or a quoted string by an interesting one."""
    import re
    toks = list(re.finditer(r'-?\d+(\.\d+)?([eE][+-]?\d+)?|"[^"]*"', s))
    if not toks:
        return s
    m = rng.choice(toks)
    repl = rng.choice(JSON_NUMBERS + JSON_JUNK + ['"' + rng.choice(TIMESTAMPS) + '"'])
    return s[:m.start()] + repl + s[m.end():]


def json_paths(doc, path=()):
    yield path
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from json_paths(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from json_paths(v, path + (i,))


def json_get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def random_json_value(rng, depth=0):
    r = rng.randrange(10)
    if r == 0 and depth < 3:
        return [random_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if r == 1 and depth < 3:
        return {rng.choice(STRINGS): random_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    if r == 2:
        return rng.choice(STRINGS)
    if r == 3:
        return rng.choice([None, True, False])
    if r == 4:
        return rng.choice(TIMESTAMPS)
    return RawNumber(rng.choice(JSON_NUMBERS))


class RawNumber:
    """A JSON number token written verbatim (NaN, 1e400, 400-digit integers)."""

    def __init__(self, tok):
        self.tok = tok


class Nested:
    """A value wrapped depth times in arrays or objects (opaque to the mutator)."""

    def __init__(self, value, depth, arrays):
        self.value, self.depth, self.arrays = value, depth, arrays


def dump_json(doc):
    """json.dumps that writes RawNumber tokens as they are."""
    if isinstance(doc, RawNumber):
        return doc.tok
    if isinstance(doc, Nested):
        o, c = ("[", "]") if doc.arrays else ('{"k": ', "}")
        return o * doc.depth + dump_json(doc.value) + c * doc.depth
    if isinstance(doc, dict):
        return "{" + ", ".join(json.dumps(str(k)) + ": " + dump_json(v) for k, v in doc.items()) + "}"
    if isinstance(doc, list):
        return "[" + ", ".join(dump_json(v) for v in doc) + "]"
    if isinstance(doc, float):
        if math.isnan(doc):
            return "NaN"
        if math.isinf(doc):
            return "Infinity" if doc > 0 else "-Infinity"
        return repr(doc)
    return json.dumps(doc)


def mutate_json(rng, doc):
    """Structural mutations of a JSON document; returns text (may be invalid JSON)."""
    doc = copy.deepcopy(doc)
    dup_key = None
    for _ in range(rng.randint(1, 3)):
        paths = list(json_paths(doc))
        path = rng.choice(paths)
        op = rng.randrange(11)
        if not path:
            if op < 3:
                doc = random_json_value(rng)
            continue
        parent = json_get(doc, path[:-1])
        key = path[-1]
        if op == 0:                                # delete
            del parent[key]
        elif op == 1:                              # replace with random value
            parent[key] = random_json_value(rng)
        elif op == 2:                              # replace with interesting number
            parent[key] = RawNumber(rng.choice(JSON_NUMBERS))
        elif op == 3:                              # wrong type: wrap in array / object / string
            v = parent[key]
            parent[key] = rng.choice([[v], {"x": v}, dump_json(v), None])
        elif op == 4 and isinstance(parent, list):  # huge list / duplicate element
            parent.extend([parent[key]] * rng.choice([1, 2, 10, 1000]))
        elif op == 5 and isinstance(parent, dict):  # duplicate key (raw text below)
            dup_key = (key, random_json_value(rng))
        elif op == 6:                              # deep nesting
            parent[key] = Nested(parent[key], rng.choice([10, 100, 2000, 7000]), rng.random() < 0.5)
        elif op == 7 and isinstance(parent, dict):  # rename key
            v = parent.pop(key)
            parent[rng.choice(STRINGS + [key.upper(), key + " ", key[:-1]])] = v
        elif op == 8 and isinstance(parent, dict):  # extra key
            parent[rng.choice(STRINGS)] = random_json_value(rng)
        elif op == 9:                              # numeric nudge
            v = parent[key]
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                parent[key] = rng.choice([v + 1, v - 1, -v, v * 1e10, v * 1e300, v / 3, int(v) if v == v else 0])
            elif isinstance(v, str):
                parent[key] = v + rng.choice(["0", "x", " ", "e400", "\u00e9"])
        elif op == 10 and isinstance(parent, list) and parent:
            rng.shuffle(parent)
    s = dump_json(doc)
    if dup_key is not None and s.startswith("{") and len(s) > 2:
        s = "{" + json.dumps(str(dup_key[0])) + ": " + dump_json(dup_key[1]) + ", " + s[1:]
    if rng.random() < 0.15:
        s = mutate_text(rng, s)
    if rng.random() < 0.15:
        s = text_tokens_mutation(rng, s)
    return s


# --------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------

class Anomaly(Exception):
    """A value got in but does not read back (text round trip fails or differs)."""


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.dbname = "fuzz_" + uuid.uuid4().hex[:8]
        self.stats = collections.defaultdict(collections.Counter)   # target -> outcome -> n
        self.unexpected = collections.defaultdict(list)             # target -> [(code, msg, input)]
        self.crashes = []
        self.statement_timeout = args.statement_timeout
        self.backend_pids = set()
        self.log_path = args.log or self.find_log()
        self.log_offset = os.path.getsize(self.log_path) if self.log_path and os.path.exists(self.log_path) else 0
        admin = psycopg2.connect(dbname=os.environ.get("PGDATABASE", "postgres"))
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{self.dbname}"')
        admin.close()
        self.connect()
        self.cur.execute("CREATE EXTENSION IF NOT EXISTS icu_predict CASCADE")
        self.setup()

    @staticmethod
    def find_log():
        conf = os.environ.get("PGSYSCONFDIR") or os.environ.get("PG_CLUSTER_CONF_ROOT")
        cands = []
        if conf:
            cands += glob.glob(os.path.join(os.path.dirname(conf.rstrip("/")), "log", "*.log"))
        cands += glob.glob("/var/log/postgresql/postgresql-15-regress.log")
        return cands[0] if cands else None

    def connect(self):
        for _ in range(60):
            try:
                self.conn = psycopg2.connect(dbname=self.dbname)
                break
            except psycopg2.OperationalError:
                time.sleep(1)
        else:
            raise SystemExit("cannot reconnect to the server")
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.cur.execute("SET statement_timeout = %s", (self.statement_timeout,))
        self.cur.execute("SET TimeZone = 'UTC'")
        self.cur.execute("SET search_path = icu_predict, public")
        self.cur.execute("SET client_min_messages = error")
        self.cur.execute("SELECT pg_backend_pid()")
        self.backend_pids.add(self.cur.fetchone()[0])

    def setup(self):
        c = self.cur
        c.execute("CREATE TEMP TABLE fz_panel (p lab_panel)")
        c.execute("CREATE TEMP TABLE fz_demand (d bed_demand)")

    def alive(self):
        try:
            self.cur.execute("ROLLBACK")    # a failed attempt may leave a transaction open
            self.cur.execute("SELECT 1")
            return self.cur.fetchone()[0] == 1
        except psycopg2.Error:
            return False

    def log_crash_lines(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return []
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            data = f.read().decode("utf-8", "replace")
            self.log_offset = f.tell()
        # the log may be shared with other throwaway clusters: only our backends count
        return [ln for ln in data.splitlines()
                if ("terminated by signal" in ln or "TRAP:" in ln or "was terminated" in ln)
                and any(f"(PID {pid})" in ln or f"[{pid}]" in ln for pid in self.backend_pids)]

    def attempt(self, target, fn, desc):
        """Run fn(cur); classify the outcome; detect crashes."""
        try:
            fn(self.cur)
            outcome = "ok"
        except (ValueError, OverflowError) as e:   # a result Python cannot represent
            outcome = "ok (client: %s)" % type(e).__name__
        except Anomaly as e:
            outcome = "ANOMALY"
            self.unexpected[target].append(("anomaly", str(e)[:300], desc[:300]))
            self.alive()
        except psycopg2.Error as e:
            code = e.pgcode
            if code is None:
                outcome = "connection lost"
            else:
                outcome = code
                if not code.startswith(ALLOWED_CLASSES):
                    msg = (e.pgerror or "").strip().splitlines()[0] if e.pgerror else str(e)
                    self.unexpected[target].append((code, msg, desc[:300]))
            if self.conn.status != psycopg2.extensions.STATUS_READY:
                try:
                    self.conn.rollback()
                except psycopg2.Error:
                    pass
            if not self.alive():
                outcome = "CRASH"
        self.stats[target][outcome] += 1
        lines = self.log_crash_lines() if outcome in ("CRASH", "connection lost") else []
        if outcome in ("CRASH", "connection lost"):
            self.crashes.append({"target": target, "input": desc[:2000], "log": lines})
            print(f"!!! CRASH in {target}: {desc[:300]!r}\n    {lines}", flush=True)
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
            time.sleep(2)
            self.connect()
            self.setup()
        return outcome

    # ---- helpers ------------------------------------------------------------

    def copy_binary(self, cur, table, payload):
        data = COPY_HEADER + struct.pack("!hi", 1, len(payload)) + payload + COPY_TRAILER
        cur.execute(f"TRUNCATE {table}")
        cur.copy_expert(f"COPY {table} FROM STDIN (FORMAT binary)", io.BytesIO(data))

    def accepted(self, cur, exercise, expr):
        """The input was accepted: every reader must work on the stored value."""
        try:
            exercise(cur, expr)
        except psycopg2.Error as e:
            if e.pgcode is None:
                raise
            raise Anomaly(f"accepted, then reading it failed: {e.pgcode} {e.pgerror.strip().splitlines()[0]}")

    def exercise_panel(self, cur, expr):
        """Read a panel every way there is."""
        cur.execute(f"SELECT p::text, lab_panel_send(p), p::jsonb, lab_features(p), lab_as_of(p)::text,"
                    f" lab_admission(p), lab_layout_id(p), p::text::lab_panel::text = p::text FROM ({expr}) s(p)")
        rows = cur.fetchall()
        for row in rows:
            if row[7] is not True:
                raise Anomaly("text round trip differs: " + row[0][:200])
            feats = row[3] or []
            for f in feats[:5]:
                cur.execute(f"SELECT lab_last_at(p, %s)::text, array_agg(lab_value(p, %s, st))"
                            f" FROM ({expr}) s(p), unnest(%s::text[]) st GROUP BY 1",
                            (f, f, ["last", "prev", "first", "min", "max", "mean", "count",
                                    "rejected", "trend", "hours_since_last"]))
                cur.fetchall()
            if self.rng.random() < 0.3:
                self.derived(cur, "panel:scoring",
                             f"SELECT risk(p, 70), length_of_stay(p, 70)::text FROM ({expr}) s(p)")
                self.derived(cur, "panel:scoring", f"SELECT count(*) FROM ({expr}) s(p), explain(p, 70)")

    def exercise_demand(self, cur, expr):
        q = self.rng.choice([0.0, 0.5, 0.95, 1.0, 1e-300, 0.9999999999999999])
        k = self.rng.choice([-2 ** 31, -1, 0, 1, 10, 2 ** 31 - 1])
        cur.execute(f"SELECT d::text, bed_demand_send(d), bed_demand_mean(d), bed_demand_variance(d), bed_demand_quantile(d, %s),"
                    f" bed_demand_prob_exceeds(d, %s), bed_demand_trimmed_mass(d), (SELECT count(*) FROM bed_demand_pmf(d)),"
                    f" d::text::bed_demand::text = d::text FROM ({expr}) s(d)", (q, k))
        for row in cur.fetchall():
            if row[8] is not True:
                raise Anomaly("text round trip differs: " + row[0][:200])
        if self.rng.random() < 0.3:
            self.derived(cur, "demand:derived",
                         f"SELECT (d + d)::text, bed_demand_add_poisson(d, 3.5)::text,"
                         f" (SELECT bed_demand_sum(x)::text FROM (VALUES (d), (d), (NULL::bed_demand)) v(x))"
                         f" FROM ({expr}) s(d)")

    def derived(self, cur, key, sql):
        """A computation on an accepted value: may fail cleanly (e.g. count out of range)."""
        try:
            cur.execute(sql)
            cur.fetchall()
            self.stats[key]["ok"] += 1
        except psycopg2.Error as e:
            if e.pgcode is None:
                raise
            self.stats[key][e.pgcode] += 1
            if not e.pgcode.startswith(ALLOWED_CLASSES):
                self.unexpected[key].append((e.pgcode, e.pgerror.strip().splitlines()[0], sql[:300]))

    # ---- bases --------------------------------------------------------------

    def panel_bases(self):
        c = self.cur
        c.execute("""
            SELECT lab_panel(1, f, v, t, '2020-01-05 00:00+00')::text
              FROM (VALUES ('crp', 12.5, '2020-01-01 10:00+00'::timestamptz), ('crp', 1e-7, '2020-01-03 10:00+00'),
                           ('crp', 0.1, '2020-01-04 10:00+00'), ('ldh', 321.123456789, '2020-01-02 10:00+00'),
                           ('d_dimer', 500, '2020-01-02 10:00+00'), ('ferritin', 2000, '2020-01-04 23:00+00')) v(f, v, t)
            UNION ALL
            SELECT lab_panel(f, v, t, '2021-06-01 00:00+00', '1 day')::text
              FROM (VALUES ('ldh', 250.0, '2021-05-31 10:00+00'::timestamptz), ('ldh', 260, '2021-05-31 12:00+00')) v(f, v, t)
            UNION ALL
            SELECT '{"as_of": "2020-01-01", "trend_window_hours": 72, "features": {}}'::lab_panel::text
        """)
        return [r[0] for r in c.fetchall()]

    def demand_bases(self):
        c = self.cur
        c.execute("""
            SELECT bed_demand(p)::text FROM (VALUES (0.1), (0.5), (0.9), (0.3)) v(p)
            UNION ALL SELECT bed_demand_poisson(4.2)::text
            UNION ALL SELECT '{"offset": 3, "pmf": [1]}'::bed_demand::text
            UNION ALL SELECT '{"offset": 0, "trimmed": 0.25, "pmf": [0.25, 0.5]}'::bed_demand::text
        """)
        return [r[0] for r in c.fetchall()]

    def text_mutant(self, bases, docs, extra=()):
        """A mutant of a text input: one of ``extra`` (5 %, when given), a JSON
        mutation of a parsed base (50 %), a token-level (25 %) or a byte-level
        (20 %) mutation of a base text."""
        r = self.rng.random()
        if extra and r < 0.05:
            return self.rng.choice(extra)
        if r < 0.55:
            return mutate_json(self.rng, self.rng.choice(docs))
        if r < 0.8:
            return text_tokens_mutation(self.rng, self.rng.choice(bases))
        return mutate_text(self.rng, self.rng.choice(bases))

    # ---- targets ------------------------------------------------------------

    def run_panel_text(self, deadline):
        bases = self.panel_bases()
        docs = [json.loads(b) for b in bases]
        while time.time() < deadline:
            s = self.text_mutant(bases, docs)

            def fn(cur, s=s):
                cur.execute("TRUNCATE fz_panel")
                cur.execute("INSERT INTO fz_panel VALUES (%s::lab_panel)", (s,))
                self.accepted(cur, self.exercise_panel, "SELECT p FROM fz_panel")
            self.attempt("panel_text", fn, s)

    def run_panel_bin(self, deadline):
        c = self.cur
        c.execute("SELECT lab_panel_send(x::lab_panel) FROM unnest(%s::text[]) x", (self.panel_bases(),))
        bases = [bytes(r[0]) for r in c.fetchall()]
        while time.time() < deadline:
            b = self.rng.choice(bases)
            if self.rng.random() < 0.5:
                b = self.panel_field_mutation(b)
            if self.rng.random() < 0.7:
                b = mutate_bytes(self.rng, b)

            def fn(cur, b=b):
                self.copy_binary(cur, "fz_panel", b)
                self.accepted(cur, self.exercise_panel, "SELECT p FROM fz_panel")
            self.attempt("panel_bin", fn, b.hex())

    def panel_field_mutation(self, b):
        """Set one field of the panel wire format to an interesting value."""
        b = bytearray(b)
        fields = [(0, "B"), (1, "B"), (2, "q"), (10, "q"), (18, "d"), (26, "H")]
        pos = 28
        nfeat = struct.unpack_from("!H", b, 26)[0]
        for _ in range(nfeat):
            ln = b[pos]
            fields.append((pos, "B"))
            pos += 1 + ln
            fields += [(pos, "B"), (pos + 1, "i"), (pos + 5, "i"), (pos + 9, "d"), (pos + 17, "q")]
            fields += [(pos + 25 + 8 * i, "d") for i in range(6)]
            pos += 1 + 4 + 4 + 8 * 8
        off, fmt = self.rng.choice(fields)
        val = {"B": lambda: self.rng.choice([0, 1, 2, 3, 4, 31, 32, 255]),
               "H": lambda: self.rng.choice(INTERESTING_I16) & 0xffff,
               "i": lambda: self.rng.choice(INTERESTING_I32),
               "q": lambda: self.rng.choice(INTERESTING_I64),
               "d": lambda: self.rng.choice(INTERESTING_F64)}[fmt]()
        if fmt == "i":
            val = ((val + 2 ** 31) % 2 ** 32) - 2 ** 31
        struct.pack_into("!" + fmt, b, off, val)
        return bytes(b)

    def run_demand_text(self, deadline):
        bases = self.demand_bases()
        docs = [json.loads(b) for b in bases]
        extra = ['{"offset": 0, "pmf": [' + ", ".join(["1e-5"] * 100000) + ']}',
                 '{"offset": 2147483647, "pmf": [1]}', '{"offset": 2147483646, "pmf": [0.5, 0.5]}',
                 '{"offset": 0, "trimmed": 1, "pmf": [0]}', '{"offset": 0, "pmf": [1e-400, 1]}']
        while time.time() < deadline:
            s = self.text_mutant(bases, docs, extra)

            def fn(cur, s=s):
                cur.execute("TRUNCATE fz_demand")
                cur.execute("INSERT INTO fz_demand VALUES (%s::bed_demand)", (s,))
                self.accepted(cur, self.exercise_demand, "SELECT d FROM fz_demand")
            self.attempt("demand_text", fn, s[:400])

    def run_demand_bin(self, deadline):
        c = self.cur
        c.execute("SELECT bed_demand_send(x::bed_demand) FROM unnest(%s::text[]) x", (self.demand_bases(),))
        bases = [bytes(r[0]) for r in c.fetchall()]
        while time.time() < deadline:
            b = bytearray(self.rng.choice(bases))
            if self.rng.random() < 0.4:
                off, fmt = self.rng.choice([(0, "i"), (4, "i"), (8, "d")] +
                                           [(16 + 8 * i, "d") for i in range((len(b) - 16) // 8)])
                v = self.rng.choice(INTERESTING_I32) if fmt == "i" else self.rng.choice(INTERESTING_F64)
                if fmt == "i":
                    v = ((v + 2 ** 31) % 2 ** 32) - 2 ** 31
                struct.pack_into("!" + fmt, b, off, v)
            b = bytes(b)
            if self.rng.random() < 0.7:
                b = mutate_bytes(self.rng, b)

            def fn(cur, b=b):
                self.copy_binary(cur, "fz_demand", b)
                self.accepted(cur, self.exercise_demand, "SELECT d FROM fz_demand")
            self.attempt("demand_bin", fn, b.hex())

    def run_model_spec(self, deadline):
        c = self.cur
        c.execute("SELECT kind, format, spec::text FROM model ORDER BY model_id")
        bases = [(k, f, json.loads(s)) for k, f, s in c.fetchall()]
        bases.append(("icu_admission", "linear", json.loads("""
            {"format":"linear","link":"logit","intercept":-1,
             "inputs":[{"feature":"crp","stat":"last","impute":10,"clip":[0.1,500],"transform":"log",
                        "mean":2,"scale":1.5,"coef":0.8,"missing_coef":0.3},
                       {"covariate":"age_years","impute":60,"mean":60,"scale":15,"coef":0.5}]}""")))
        bases.append(("icu_stay", "linear", json.loads("""
            {"format":"linear","link":"log","intercept":2.3,"stay":{"distribution":"logistic","sigma":0.6},
             "inputs":[{"feature":"ldh","stat":"max","impute":250,"clip":[1,5000],"transform":"log1p","coef":0.2},
                       {"covariate":"hours_since_admission","impute":0,"coef":0.01}]}""")))
        bases.append(("icu_admission", "xgboost", json.loads("""
            {"format":"xgboost","inputs":[{"feature":"crp","stat":"last"},{"covariate":"age_years"}],
             "model":{"learner":{"learner_model_param":{"base_score":"5E-1","num_feature":"2","num_class":"0","num_target":"1"},
              "objective":{"name":"binary:logistic"},
              "gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1"},
                "trees":[{"tree_param":{"num_nodes":"5"},"left_children":[1,-1,3,-1,-1],"right_children":[2,-1,4,-1,-1],
                          "split_indices":[0,0,1,0,0],"split_conditions":[50,-0.5,65,0.25,0.75],"default_left":[1,0,0,0,0],
                          "split_type":[0,0,0,0,0],"sum_hessian":[10,6,4,1,3]}]}}}}}""")))
        n = 0
        while time.time() < deadline:
            kind, fmt, doc = self.rng.choice(bases)
            if self.rng.random() < 0.1:
                kind = self.rng.choice(["icu_admission", "icu_stay"])
            if self.rng.random() < 0.05:
                fmt = self.rng.choice(["linear", "xgboost"])
            s = mutate_json(self.rng, doc)
            n += 1
            version = f"fz{n}"
            ninputs = len(doc.get("inputs", [])) if isinstance(doc, dict) else 1

            def fn(cur, s=s, kind=kind, fmt=fmt, version=version, ninputs=ninputs):
                cur.execute("BEGIN")
                cur.execute("INSERT INTO model (name, version, kind, format, horizon_hours, spec)"
                            " VALUES ('fuzz', %s, %s, %s, CASE WHEN %s = 'icu_admission' THEN 48 END, %s::jsonb)",
                            (version, kind, fmt, kind, s))
                for _ in range(3):
                    vals = [self.rng.choice([None, 0.0, 1.0, -1.0, 50.0, 1e300, -1e300, 5e-324, 3.5e38,
                                             float("nan"), float("inf"), float("-inf")])
                            for _ in range(self.rng.choice([ninputs, ninputs, 0, ninputs + 1, 1000]))]
                    fnname = self.rng.choice(["model_predict", "model_margin"])
                    cur.execute("SAVEPOINT s")
                    try:
                        cur.execute(f"SELECT {fnname}('fuzz', %s, %s::float8[])", (version, vals))
                        cur.fetchall()
                        cur.execute("SELECT count(*) FROM model_contributions('fuzz', %s, %s::float8[])", (version, vals))
                        cur.fetchall()
                        if kind == "icu_stay":
                            cur.execute("SELECT model_stay('fuzz', %s, %s::float8[]),"
                                        " model_stay_survival('fuzz', %s, %s::float8[], %s)",
                                        (version, vals, version, vals,
                                         self.rng.choice([0.0, 1.0, 1e300, -1.0, float("nan"), float("inf")])))
                            cur.fetchall()
                        cur.execute("RELEASE SAVEPOINT s")
                        self.stats["model_spec:scoring"]["ok"] += 1
                    except psycopg2.Error as e:
                        if e.pgcode is None:
                            raise
                        self.stats["model_spec:scoring"][e.pgcode] += 1
                        if not e.pgcode.startswith(ALLOWED_CLASSES):
                            self.unexpected["model_spec"].append((e.pgcode, e.pgerror.strip().splitlines()[0],
                                                                  "scoring " + s[:250]))
                        cur.execute("ROLLBACK TO SAVEPOINT s")
                cur.execute("ROLLBACK")
            self.attempt("model_spec", fn, s)

    def run_args(self, deadline):
        c = self.cur
        c.execute("TRUNCATE fz_panel")
        c.execute("INSERT INTO fz_panel SELECT x::lab_panel FROM unnest(%s::text[]) x", (self.panel_bases(),))
        c.execute("TRUNCATE fz_demand")
        c.execute("INSERT INTO fz_demand SELECT x::bed_demand FROM unnest(%s::text[]) x", (self.demand_bases(),))
        floats = INTERESTING_F64 + [None, 2.0, -0.5, 1e8, 1e8 + 1, 7e7, 2 ** 31 + 0.5]
        ints = INTERESTING_I32 + [None]
        intervals = ["1 hour", "0", "-1 hour", "178000000 years", "-178000000 years", "1 microsecond",
                     "2147483647 days", "2147483647 months", "1 day -25 hours", None]
        rng = self.rng
        cases = [
            ("lab_value", lambda: ("SELECT lab_value(p, %s, %s) FROM fz_panel",
                                   (rng.choice(STRINGS), rng.choice(STRINGS)))),
            ("lab_last_at", lambda: ("SELECT lab_last_at(p, %s) FROM fz_panel", (rng.choice(STRINGS),))),
            ("quantile", lambda: ("SELECT bed_demand_quantile(d, %s) FROM fz_demand", (rng.choice(floats),))),
            ("prob_exceeds", lambda: ("SELECT bed_demand_prob_exceeds(d, %s) FROM fz_demand", (rng.choice(ints),))),
            ("poisson", lambda: ("SELECT bed_demand_poisson(%s)::text", (rng.choice(floats),))),
            ("add_poisson", lambda: ("SELECT bed_demand_add_poisson(d, %s)::text FROM fz_demand",
                                     (rng.choice(floats),))),
            ("bed_demand_agg", lambda: ("SELECT bed_demand(p)::text FROM unnest(%s::float8[]) p",
                                        ([rng.choice(floats) for _ in range(rng.randint(1, 6))],))),
            ("bed_demand_agg_big", lambda: ("SELECT bed_demand_quantile(bed_demand(%s::float8), 0.5) FROM generate_series(1, %s)",
                                            (rng.choice([1.0, 0.5, 1e-9, 0.999999]),
                                             rng.choice([1000, 100000, 300000])))),
            ("lab_panel_agg", lambda: (
                "SELECT lab_panel(%s::bigint, %s, %s::float8, %s::timestamptz, %s::timestamptz, %s::interval)::text",
                (rng.choice([None, 0, -1, INT64_MAX, INT64_MIN]), rng.choice(STRINGS[:6]), rng.choice(floats),
                 rng.choice(TIMESTAMPS[:10] + [None]), rng.choice(TIMESTAMPS[:10] + [None]),
                 rng.choice(intervals)))),
            ("lab_panel_agg_rows", lambda: (
                "SELECT lab_panel(1, f, v, t, %s::timestamptz, %s::interval)::text"
                " FROM unnest(%s::text[], %s::float8[], %s::timestamptz[]) u(f, v, t)",
                (rng.choice(["2020-01-05", "294276-12-31", "4713-01-01 BC"]), rng.choice(intervals),
                 ["crp", "ldh", "crp", "crp"], [rng.choice([1.0, 2.0, 1e300, -1e300, 5e-324, 0.0]) for _ in range(4)],
                 [rng.choice(["2020-01-04", "2020-01-01", "4713-01-01 BC", "294276-12-31", "2020-01-04"]) for _ in range(4)]))),
            ("lab_panel_series", lambda: (
                "SELECT lab_panel_series(1, 'crp', %s::float8, %s::timestamptz, %s::timestamptz, %s::timestamptz)::text",
                (rng.choice(floats), rng.choice(TIMESTAMPS[:10]), rng.choice(TIMESTAMPS[:10]),
                 rng.choice(TIMESTAMPS[:10])))),
            ("risk", lambda: ("SELECT risk(p, %s, %s, %s, %s) FROM fz_panel",
                              (rng.choice(floats), rng.choice(["male", "female", "other", "unknown", "x", None]),
                               rng.choice(floats), rng.choice(["ward", "icu", "mc", "ed", "or", "other", "x", None])))),
            ("length_of_stay", lambda: ("SELECT length_of_stay(p, %s, %s, %s)::text FROM fz_panel",
                                        (rng.choice(floats), rng.choice(["male", None]), rng.choice(floats)))),
            ("stay_survival", lambda: ("SELECT stay_survival(p, %s, %s) FROM fz_panel",
                                       (rng.choice(floats), rng.choice(floats)))),
            ("stay_survival_curve", lambda: ("SELECT stay_survival_curve(%s, %s::float8[])",
                                             (rng.choice(floats), [rng.choice(floats) for _ in range(3)]))),
            ("explain", lambda: ("SELECT count(*) FROM fz_panel, explain(p, %s, top => %s, kind => %s)",
                                 (rng.choice(floats), rng.choice(ints),
                                  rng.choice(["icu_admission", "icu_stay", "x"])))),
        ]
        while time.time() < deadline:
            name, mk = rng.choice(cases)
            sql, params = mk()

            def fn(cur, sql=sql, params=params):
                cur.execute(sql, params)
                cur.fetchall()
            self.attempt("args", fn, name + " " + repr(params)[:300])
            self.stats["args:" + name]["n"] += 1


    # ---- new input types: units, censored text, covariates, calibration ----

    UNITS = ["mg/dL", "mg/L", "g/L", "g/dL", "mmol/L", "umol/L", "nmol/L", "10*9/L", "10^9/L", "10*12/L",
             "U/L", "IU/L", "Cel", "[degF]", "K", "%", "mm[Hg]", "mmHg", "kPa", "fL", "pg", "ng/mL",
             "ug/mL{FEU}", "mg/L{FEU}", "ug/L{DDU}", "mL/min/{1.73_m2}", "kg/m2", "1", "", "/uL", "s",
             "meq/L", "mosm/kg", "ug/dL", "10*3/uL", "[pH]"]

    def unit_mutant(self):
        rng = self.rng
        r = rng.random()
        u = rng.choice(self.UNITS)
        if r < 0.35:
            return mutate_text(rng, u)
        if r < 0.5:
            return rng.choice(["10*", "10^", "m", "u", "/", "{", "[", "(", "."]) * rng.choice([1, 2, 50, 5000]) + u
        if r < 0.6:
            return u + rng.choice(["2", "-1", "999999999", "2147483648", "-2147483649", "0", "99999999999999999999"])
        if r < 0.7:
            return "10*" + rng.choice(["308", "309", "-324", "400", "-400", "2147483647", "99"]) + "/" + rng.choice(self.UNITS)
        if r < 0.8:
            return "(" * rng.choice([10, 1000, 20000]) + u + ")" * rng.choice([0, 10, 1000, 20000])
        if r < 0.9:
            return rng.choice(STRINGS)
        return "/".join(rng.choice(self.UNITS) for _ in range(rng.randint(2, 6)))

    def run_units(self, deadline):
        rng = self.rng
        floats = INTERESTING_F64 + [None, 113.12, 88.4, 180.16, 1e-300, 0.0, -1.0]
        while time.time() < deadline:
            a, b = self.unit_mutant(), rng.choice([self.unit_mutant(), rng.choice(self.UNITS)])
            if rng.random() < 0.5:
                a, b = b, a
            mm = rng.choice(floats)
            v = rng.choice(floats)

            def fn(cur, a=a, b=b, mm=mm, v=v):
                cur.execute("SELECT unit_ucum(%s), unit_ucum(%s), unit_factor(%s, %s, %s), unit_offset(%s, %s, %s),"
                            " unit_conversion_problem(%s, %s, %s)", (a, b, a, b, mm, a, b, mm, a, b, mm))
                ua, ub, factor, offset, problem = cur.fetchone()
                if (factor is None) != (problem is not None):
                    raise Anomaly(f"unit_factor {factor!r} but unit_conversion_problem {problem!r}")
                if factor is not None and not math.isfinite(factor):
                    raise Anomaly(f"unit_factor {factor!r} is not finite")
                self.derived(cur, "units:convert", cur.mogrify("SELECT unit_convert(%s, %s, %s, %s)",
                                                               (v, a, b, mm)).decode())
            self.attempt("units", fn, repr((a[:200], b[:200], mm, v)))

    LAB_TEXTS = ["5", "<5", "< 5", ">1000", "> 1000", "<=0.1", ">=7", "≤0.1", "≥7", "5,2", "1.5e3", "  12 ",
                 "neg", "positive", "1/40", "++", "NaN", "Infinity", "-Infinity", "inf", "-0", "1e400",
                 "1e-400", "0x10", "1_000", "1 000", "12.", ".5", "-.5", "+5", "<-5", "<<5", "<>5", "=5",
                 "5 mg/L", "5-10", "~5", "ca. 5", "", " ", "<", ">", "1" * 400, "0." + "0" * 400 + "1"]

    def run_lab_text(self, deadline):
        rng = self.rng
        while time.time() < deadline:
            r = rng.random()
            t = rng.choice(self.LAB_TEXTS)
            if r < 0.5:
                t = mutate_text(rng, t)
            elif r < 0.6:
                t = rng.choice(["<", ">", "<=", ">=", "≤", "≥", " "]) * rng.choice([1, 2, 100, 10000]) + t
            elif r < 0.7:
                t = text_tokens_mutation(rng, t) if any(c.isdigit() for c in t) else t + rng.choice(JSON_NUMBERS)
            elif r < 0.75:
                t = None

            def fn(cur, t=t):
                cur.execute("SELECT lab_text_value(%s), lab_text_censoring(%s)", (t, t))
                v, c = cur.fetchone()
                if v is not None and not math.isfinite(v):
                    raise Anomaly(f"lab_text_value gave {v!r}")
                if c is not None and v is None:
                    raise Anomaly(f"censoring {c!r} without a value")
            self.attempt("lab_text", fn, repr(t)[:300])

    COV_SPEC = ('{"format":"linear","link":"logit","intercept":-1,"inputs":['
                '{"feature":"crp","stat":"last","impute":10,"coef":0.01},'
                '{"covariate":"age_years","impute":60,"coef":0.02},{"covariate":"sex_male","impute":0,"coef":0.1},'
                '{"covariate":"bmi","impute":25,"coef":0.1},{"covariate":"bmi_missing","impute":0,"coef":0.2},'
                '{"covariate":"comorbidity_diabetes","impute":0,"coef":0.3},'
                '{"covariate":"comorbidity_metastatic_tumour","impute":0,"coef":0.4},'
                '{"covariate":"charlson_index","impute":0,"coef":0.2}]}')
    GROUPS = ["diabetes", "diabetes_complicated", "renal", "malignancy", "metastatic_tumour", "mild_liver",
              "severe_liver", "hiv_aids", "dementia"]

    def run_covariates(self, deadline):
        c = self.cur
        rng = self.rng
        c.execute("TRUNCATE fz_panel")
        c.execute("INSERT INTO fz_panel SELECT x::lab_panel FROM unnest(%s::text[]) x", (self.panel_bases()[:1],))
        c.execute("DELETE FROM model WHERE name = 'fz_cov'")
        c.execute("INSERT INTO model (name, version, kind, format, horizon_hours, spec)"
                  " VALUES ('fz_cov', '1', 'icu_admission', 'linear', 48, %s)", (self.COV_SPEC,))
        c.execute("DELETE FROM admission WHERE admission_id BETWEEN 1 AND 20")
        c.execute("INSERT INTO admission (admission_id, patient_id, admitted_at, age_years, sex)"
                  " SELECT g, 'fz' || g, '2020-01-01', 60, 'male' FROM generate_series(1, 20) g")
        floats = INTERESTING_F64 + [None, 25.0, 150.0, 5.0, -1.0, 1e8, 200.0]
        sexes = ["male", "female", "other", "unknown", None, "x", "MALE", ""]
        codes = ["E11", "E11.9", "E119", "C78.1", "C80", "I21.0", "N18", "Z99.2", "K70.4", "e11", "B20"]
        while time.time() < deadline:
            r = rng.random()
            if r < 0.6:
                groups = rng.choice([None, [], [rng.choice(self.GROUPS) for _ in range(rng.randint(1, 6))],
                                     [rng.choice(self.GROUPS + STRINGS + [None]) for _ in range(rng.randint(1, 4))],
                                     self.GROUPS * rng.choice([1, 100])])
                arr = rng.random()
                age, sex, bmi = rng.choice(floats), rng.choice(sexes), rng.choice(floats)
                fname = rng.choice(["risk", "length_of_stay", "stay_survival", "explain", "covariate_value"])
                if groups is not None and arr < 0.1 and len(groups) >= 2 and len(groups) % 2 == 0:
                    # a two-dimensional array (what a hand-written ROW may hold)
                    half = len(groups) // 2
                    lit = "ARRAY[%s, %s]::text[]"
                    gparam = [groups[:half], groups[half:]]
                    cov = "ROW(%s::float8, %s::text, %s::float8, " + lit + ")::admission_covariates"
                    params = [age, sex, bmi] + gparam
                elif groups is not None and arr < 0.2:
                    cov = "ROW(%s::float8, %s::text, %s::float8, %s::text[])::admission_covariates"
                    # an array with odd bounds, as array text: '[7:9]={a,b,c}'
                    lo = rng.choice([-5, 0, 7, 2147483000])
                    elems = ",".join('"%s"' % g.replace('"', '').replace("\\", "") if g is not None else "NULL"
                                     for g in groups)
                    params = [age, sex, bmi, "[%d:%d]={%s}" % (lo, lo + len(groups) - 1, elems) if groups else "{}"]
                else:
                    cov = "ROW(%s::float8, %s::text, %s::float8, %s::text[])::admission_covariates"
                    params = [age, sex, bmi, groups]
                if rng.random() < 0.05:
                    cov, params = "NULL::admission_covariates", []
                hours = rng.choice(floats)
                if fname == "risk":
                    sql = f"SELECT risk(p, {cov}, %s, model_name => 'fz_cov', model_version => '1') FROM fz_panel"
                elif fname == "length_of_stay":
                    sql = f"SELECT length_of_stay(p, {cov}, %s)::text FROM fz_panel"
                elif fname == "stay_survival":
                    sql = f"SELECT stay_survival(p, 2.5, {cov}, %s) FROM fz_panel"
                elif fname == "explain":
                    sql = f"SELECT count(*) FROM fz_panel, explain(p, {cov}, %s, model_name => 'fz_cov', model_version => '1')"
                else:
                    sql = (f"SELECT covariate_value(%s, {cov}, %s, 'ward')")
                    params = [rng.choice(["charlson_index", "bmi", "bmi_missing", "comorbidity_diabetes",
                                          "comorbidity_x", "age_years", "sex_male", "x", ""])] + params
                params = params + [hours]

                def fn(cur, sql=sql, params=params):
                    cur.execute(sql, params)
                    for row in cur.fetchall():
                        v = row[0]
                        if isinstance(v, float) and not math.isfinite(v):
                            raise Anomaly(f"non-finite result {v!r}")
                self.attempt("covariates", fn, fname + " " + repr(params)[:300])
            else:
                code = rng.choice([mutate_text(rng, rng.choice(codes)), rng.choice(codes), rng.choice(STRINGS)])
                prefix = rng.choice([mutate_text(rng, rng.choice(codes)).replace(".", "").upper(), "E11", "A0", "Z"])
                group = rng.choice(self.GROUPS + STRINGS[:6])
                adm = rng.randint(1, 20)
                as_of = rng.choice(TIMESTAMPS[:10] + [None])
                when = rng.choice(TIMESTAMPS[:10] + [None])

                def fn(cur, code=code, prefix=prefix, group=group, adm=adm, as_of=as_of, when=when):
                    cur.execute("BEGIN")
                    try:
                        for sql, params in (
                                ("INSERT INTO comorbidity_code (icd10_prefix, comorbidity) VALUES (%s, %s)", (prefix, group)),
                                ("INSERT INTO diagnosis (admission_id, icd10_code, diagnosed_at) VALUES (%s, %s, %s)",
                                 (adm, code, when))):
                            cur.execute("SAVEPOINT s")
                            try:
                                cur.execute(sql, params)
                                cur.execute("RELEASE SAVEPOINT s")
                            except psycopg2.Error as e:
                                if e.pgcode is None:
                                    raise
                                self.stats["covariates:rows"][e.pgcode] += 1
                                if not e.pgcode.startswith(ALLOWED_CLASSES):
                                    self.unexpected["covariates"].append((e.pgcode, e.pgerror.strip().splitlines()[0],
                                                                          repr(params)[:300]))
                                cur.execute("ROLLBACK TO SAVEPOINT s")
                        cur.execute("SELECT (admission_covariates(%s, %s)).*", (adm, as_of or "2021-01-01"))
                        cur.fetchall()
                        cur.execute("SELECT count(*) FROM admission_comorbidity WHERE admission_id = %s", (adm,))
                        cur.fetchall()
                        cur.execute("SELECT risk(p, admission_covariates(%s, %s), 1, 'ward', 'fz_cov', '1') FROM fz_panel",
                                    (adm, as_of or "2021-01-01"))
                        cur.fetchall()
                    finally:
                        cur.execute("ROLLBACK")
                self.attempt("covariates", fn, "rows " + repr((code, prefix, group, adm, as_of, when))[:300])

    def run_calibration(self, deadline):
        c = self.cur
        rng = self.rng
        c.execute("TRUNCATE fz_demand")
        c.execute("INSERT INTO fz_demand SELECT x::bed_demand FROM unnest(%s::text[]) x", (self.demand_bases(),))
        c.execute("INSERT INTO fz_demand SELECT bed_demand_poisson(%s)", (rng.choice([1e4, 1e6]),))
        c.execute("INSERT INTO fz_demand VALUES ('{\"offset\": 2147483000, \"pmf\": [0.5, 0.5]}')")
        floats = INTERESTING_F64 + [None, 0.5, 2.0, 5.0, 100.0, 100.00000000000001, 1e-9, 40.0, -1.0]
        ints = INTERESTING_I32 + [None, 3, 5, 2147483000]
        cases = [
            ("calibration_factor", lambda: ("SELECT bed_demand_calibration_factor(%s, %s)",
                                            (rng.choice(floats), rng.choice(floats)))),
            ("widen", lambda: ("SELECT bed_demand_widen(d, %s)::text FROM fz_demand", (rng.choice(floats),))),
            ("widen_read", lambda: ("SELECT bed_demand_mean(w), bed_demand_quantile(w, 0.95), w::text::bed_demand::text"
                                    " = w::text FROM (SELECT bed_demand_widen(d, %s) w FROM fz_demand) s",
                                    (rng.choice(floats),))),
            ("widen_factor", lambda: ("SELECT bed_demand_widen(d, bed_demand_calibration_factor(%s, %s))::text"
                                      " FROM fz_demand", (rng.choice(floats), rng.choice(floats)))),
            ("cdf", lambda: ("SELECT bed_demand_cdf(d, %s) FROM fz_demand", (rng.choice(ints),))),
            ("crps", lambda: ("SELECT bed_demand_crps(d, %s) FROM fz_demand", (rng.choice(ints),))),
            ("pit", lambda: ("SELECT bed_demand_pit(d, %s, %s) FROM fz_demand", (rng.choice(ints), rng.choice(floats)))),
            ("pit_cdf", lambda: ("SELECT bed_demand_pit_cdf(d, %s, %s) FROM fz_demand",
                                 (rng.choice(ints), rng.choice(floats)))),
        ]
        while time.time() < deadline:
            name, mk = rng.choice(cases)
            sql, params = mk()

            def fn(cur, sql=sql, params=params, name=name):
                cur.execute(sql, params)
                for row in cur.fetchall():
                    if name == "widen_read" and row[0] is not None and row[2] is not True:
                        raise Anomaly("widened value does not survive its text round trip")
                    v = row[0]
                    if isinstance(v, float) and not math.isfinite(v):
                        raise Anomaly(f"{name} gave {v!r}")
            self.attempt("calibration", fn, name + " " + repr(params)[:300])
            self.stats["calibration:" + name]["n"] += 1

    def run(self):
        targets = self.args.targets.split(",")
        per = self.args.seconds / len(targets)
        for t in targets:
            start = time.time()
            getattr(self, "run_" + t)(start + per)
            print(f"{t}: {sum(self.stats[t].values())} attempts in {time.time() - start:.0f} s: "
                  f"{dict(self.stats[t].most_common())}", flush=True)
        late = self.log_crash_lines()
        if late:
            self.crashes.append({"target": "(log)", "input": "", "log": late})

    def report(self):
        out = {"seed": self.args.seed, "log": self.log_path,
               "targets": {t: dict(self.stats[t]) for t in self.stats if not t.startswith(("args:", "calibration:"))},
               "attempts": {t: sum(self.stats[t].values()) for t in TARGETS if t in self.stats},
               "args_cases": {t[5:]: self.stats[t]["n"] for t in self.stats if t.startswith("args:")},
               "calibration_cases": {t[12:]: self.stats[t]["n"] for t in self.stats if t.startswith("calibration:")},
               "crashes": self.crashes,
               "unexpected": {t: collections.Counter(f"{c} {m}" for c, m, _ in v).most_common(20)
                              for t, v in self.unexpected.items()},
               "unexpected_examples": {t: v[:5] for t, v in self.unexpected.items()}}
        print(json.dumps(out, indent=1, default=str))
        if self.args.json:
            with open(self.args.json, "w") as f:
                json.dump(out, f, indent=1, default=str)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=900)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--statement-timeout", default="10s",
                    help="per statement; a statement over it counts as a hang (make valgrind raises it)")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--log")
    ap.add_argument("--json")
    args = ap.parse_args()
    fz = Fuzzer(args)
    fz.run()
    out = fz.report()
    sys.exit(1 if out["crashes"] else 0)


if __name__ == "__main__":
    main()
