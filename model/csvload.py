"""Load a hospital's CSV export into icu_predict's canonical schema through a mapping file.

Usage (from the repository root):

    python3 -m model load-csv --mapping mapping.toml [--data DIR] [--dsn DSN]
                              [--dry-run] [--replace] [--json FILE] [--verbose]

The mapping file (TOML, docs/csv-mapping-example.toml and the "CSV export"
section of docs/bring-your-own-data.md) names, per canonical table, the file
and which column gives which field:

* ``[admissions]``      -> admission
* ``[location_stays]``  -> location_stay
* ``[diagnoses]``       -> diagnosis
* ``[bmi]``             -> admission_bmi
* ``[[labs]]``          -> lab_result (and lab_map rows for columns or codes
                           mapped to a feature); ``format = "wide"``: one row
                           per draw, one column per lab; ``format = "long"``:
                           one row per result with code, value and unit columns.

``[source]`` says how the files are written: the time zone of timestamps
without an offset, the date/time formats, the delimiter and encoding, and a
decimal comma.  ``values`` tables translate codes (sex ``M``/``V``, unit names
to ``unit_kind``).

How a load runs: the mapping is checked first (an unknown field, a column the
file lacks, a unit the server does not read, an unknown feature: an error that
names the line of the mapping file, exit status 2, nothing done).  Then every
line of every file is read in Python into candidate rows; a line the mapping
cannot read (no admission id, a time in none of the formats, a local time that
does not exist on the day clocks go forward) gets a reason.  The candidate rows
are COPYed into temporary tables and inserted into the canonical tables with
the MIMIC loader's helpers (model/mimic.py): one INSERT, and when a constraint
refuses a row, row by row, so that each refused row is named with the
constraint's message.  The lab rows that went in are then counted per column
(or code), unit and status by the extension's own ``lab_row_status``, so the
verdicts (used, or a reason of ``lab_rejection_reason``) are the server's.

Everything happens in one transaction.  ``--dry-run`` runs exactly the same
and rolls back: its report is the report of the load, row for row, and
nothing is written.  For every file: lines in = loaded + rejected (by reason);
for lab files: cells in = loaded + rejected, and loaded = used + the rows of
each rejection reason.

Re-running: when an admission of ``[admissions]`` is already in the database
the load is refused (exit 2) unless ``--replace`` is given, which first deletes
those admissions with everything that hangs off them (stays, labs, diagnoses,
BMI) and loads them again: the same export loaded twice with ``--replace``
gives the same tables.  Lab rows already in ``lab_result`` (same admission,
code, result time and value) are refused the same way.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import options
from .errors import LoadError, UserError
from .mimic import _HELPERS, _insert_checked, _rejections

HELP = "load a CSV export into icu_predict's canonical schema through a mapping file (TOML), with a dry run"

# field kinds: id (bigint), text, time, int, num, bool
TABLES = {
    "admissions": {
        "table": "admission",
        "fields": {"admission_id": "id", "patient_id": "text", "admitted_at": "time",
                   "discharged_at": "time", "age_years": "int", "sex": "text",
                   "admission_source": "text", "died_in_hospital": "bool"},
        "required": ("admission_id", "patient_id", "admitted_at"),
        "key": "admission_id",
    },
    "location_stays": {
        "table": "location_stay",
        "fields": {"admission_id": "id", "unit": "text", "unit_kind": "text", "isolation": "text",
                   "started_at": "time", "ended_at": "time"},
        "required": ("admission_id", "unit", "unit_kind", "started_at"),
        "key": "admission_id",
    },
    "diagnoses": {
        "table": "diagnosis",
        "fields": {"admission_id": "id", "icd10_code": "text", "diagnosed_at": "time"},
        "required": ("admission_id", "icd10_code"),
        "key": "admission_id",
        "value_field": "icd10_code",
    },
    "bmi": {
        "table": "admission_bmi",
        "fields": {"admission_id": "id", "bmi": "num", "measured_at": "time"},
        "required": ("admission_id", "bmi"),
        "key": "admission_id",
        "value_field": "bmi",
    },
}
LAB_FIELDS = {"admission_id": "id", "resulted_at": "time", "sampled_at": "time", "specimen": "text"}
LONG_FIELDS = dict(LAB_FIELDS, code="text", value="text", unit="text")
LAB_COLS = "lab_result_id, admission_id, local_code, value, value_text, unit, sampled_at, resulted_at, specimen"
# an empty cell of these fields is the column's default, as in the table
DEFAULTS = {"sex": "unknown", "admission_source": "unknown", "isolation": "unknown"}
BOOL_TEXT = {"1": True, "true": True, "0": False, "false": False}

SOURCE_KEYS = {"time_zone", "datetime_formats", "delimiter", "encoding", "decimal_comma", "ambiguous_times"}
SECTION_KEYS = {"file", "columns", "values", "ignore_columns"} | (SOURCE_KEYS - {"time_zone", "ambiguous_times"})
LAB_KEYS = SECTION_KEYS | {"format", "wide", "codes", "text_codes"}
WIDE_KEYS = {"code", "feature", "unit", "unit_column", "specimen", "text", "factor"}
CODE_KEYS = {"feature", "unit", "factor"}
AMBIGUOUS = ("reject", "earlier", "later")

# a plain decimal, with a point (or with decimal_comma, a comma)
NUMBER_POINT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
NUMBER_COMMA = re.compile(r"[-+]?([0-9]+(,[0-9]*)?|,[0-9]+)")


# ---------------------------------------------------------------------------
# the mapping file
# ---------------------------------------------------------------------------
def _key_pattern(comp):
    """A line that names key ``comp``: a table header ([a.comp], [[comp]]), a key (comp = , a.comp = ,
    "comp" = ) or a key of an inline table ({ comp = )."""
    k = r'(?:"' + re.escape(comp) + r'"|' + re.escape(comp) + r'(?![\w-]))'
    return re.compile(r'^\s*\[+\s*(?:[^\]]*\.)?' + k + r'\s*[.\]]'
                      r'|^\s*(?:[\w"-]+\.)*' + k + r'\s*[.=]'
                      r'|[{,]\s*' + k + r'\s*=')


class Mapping:
    """A parsed mapping file; ``error(path, msg)`` raises a LoadError naming its line."""

    def __init__(self, path, data_dir=None):
        self.path = Path(path)
        try:
            raw = self.path.read_bytes()
        except OSError as e:
            raise LoadError(f"mapping file {path}: {e.strerror}") from None
        self.lines = raw.decode("utf-8", errors="replace").splitlines()
        try:
            self.doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise LoadError(f"{self.path}: the mapping file is not UTF-8") from None
        except tomllib.TOMLDecodeError as e:
            raise LoadError(f"{self.path}: not valid TOML: {e}") from None
        self.base = Path(data_dir) if data_dir else self.path.parent
        self._check_top()

    # -- where a key is -----------------------------------------------------
    def line_of(self, path):
        """The line (1-based) of the key ``path`` (a tuple of keys and array indexes), as near as can be told."""
        pos = 0
        for comp in path:
            if isinstance(comp, int):
                continue
            pat = _key_pattern(comp)
            for i in range(pos, len(self.lines)):
                if pat.search(self.lines[i]):
                    pos = i
                    break
        # arrays of tables: the n-th [[labs]]
        if len(path) > 1 and isinstance(path[1], int):
            seen = -1
            for i, line in enumerate(self.lines):
                if re.match(r"^\s*\[\[\s*" + re.escape(path[0]) + r"\s*\]\]", line):
                    seen += 1
                    if seen == path[1]:
                        start = i
                        break
            else:
                return pos + 1
            sub = path[2:]
            pos2 = start
            for comp in sub:
                if isinstance(comp, int):
                    continue
                pat = _key_pattern(comp)
                for i in range(pos2, len(self.lines)):
                    if pat.search(self.lines[i]):
                        pos2 = i
                        break
            return pos2 + 1
        return pos + 1

    def error(self, path, msg):
        key = ".".join(str(c) if not isinstance(c, int) else f"[{c}]" for c in path).replace(".[", "[")
        raise LoadError(f"{self.path} line {self.line_of(path)}: {key}: {msg}")

    # -- checks that need no file and no server ---------------------------
    def _check_top(self):
        known = {"source", "labs"} | set(TABLES)
        for k in self.doc:
            if k not in known:
                self.error((k,), f"unknown section (known: {', '.join(sorted(known))})")
        src = self.doc.get("source", {})
        if not isinstance(src, dict):
            self.error(("source",), "must be a table")
        for k in src:
            if k not in SOURCE_KEYS:
                self.error(("source", k), f"unknown key (known: {', '.join(sorted(SOURCE_KEYS))})")
        if "time_zone" not in src:
            self.error(("source",), "time_zone is missing: the time zone of timestamps written without "
                                    "an offset, e.g. time_zone = \"Europe/Amsterdam\" (or \"UTC\")")
        try:
            self.zone = ZoneInfo(str(src["time_zone"]))
        except (ZoneInfoNotFoundError, ValueError):
            self.error(("source", "time_zone"), f"unknown time zone {src['time_zone']!r} "
                                                "(an IANA name such as Europe/Amsterdam)")
        self.ambiguous = src.get("ambiguous_times", "reject")
        if self.ambiguous not in AMBIGUOUS:
            self.error(("source", "ambiguous_times"), f"must be one of {', '.join(AMBIGUOUS)}")
        self.sections = []        # (name, path, dict)
        for name in TABLES:
            if name in self.doc:
                sec = self.doc[name]
                if not isinstance(sec, dict):
                    self.error((name,), "must be a table ([" + name + "])")
                self.sections.append((name, (name,), sec))
        labs = self.doc.get("labs", [])
        if isinstance(labs, dict):
            labs = [labs]
            self._labs_path = lambda i: ("labs",)
        else:
            self._labs_path = lambda i: ("labs", i)
        for i, sec in enumerate(labs):
            if not isinstance(sec, dict):
                self.error(("labs",), "must be tables ([[labs]])")
            self.sections.append(("labs", self._labs_path(i), sec))
        if not self.sections:
            self.error(("source",), "the mapping names no file: add [admissions], [location_stays], "
                                    "[diagnoses], [bmi] or [[labs]]")
        for name, path, sec in self.sections:
            keys = LAB_KEYS if name == "labs" else SECTION_KEYS
            for k in sec:
                if k not in keys:
                    self.error(path + (k,), f"unknown key (known: {', '.join(sorted(keys))})")
            if "file" not in sec:
                self.error(path, "file is missing (the CSV file, relative to the mapping file)")
            if name == "labs":
                fmt = sec.get("format", "wide")
                if fmt not in ("wide", "long"):
                    self.error(path + ("format",), "must be \"wide\" (one row per draw, one column per "
                                                   "lab) or \"long\" (code, value and unit columns)")
                fields = LAB_FIELDS if fmt == "wide" else LONG_FIELDS
                required = ("admission_id", "resulted_at") + (("code", "value") if fmt == "long" else ())
                if fmt == "wide" and not sec.get("wide"):
                    self.error(path, "a wide lab file needs a [labs.wide] table: column -> code or feature")
                if fmt == "long" and "wide" in sec:
                    self.error(path + ("wide",), "only for format = \"wide\"")
                if fmt == "wide" and ("codes" in sec or "text_codes" in sec):
                    self.error(path + ("codes" if "codes" in sec else "text_codes",),
                               "only for format = \"long\"")
            else:
                fields, required = TABLES[name]["fields"], TABLES[name]["required"]
            cols = sec.get("columns", {})
            if not isinstance(cols, dict):
                self.error(path + ("columns",), "must be a table: field = \"column\"")
            for f, spec in cols.items():
                if f not in fields:
                    self.error(path + ("columns", f), f"unknown field (known: {', '.join(fields)})")
                if not (isinstance(spec, str) or (isinstance(spec, dict) and set(spec) == {"value"})):
                    self.error(path + ("columns", f), "must be a column name, or { value = ... } for a constant")
            for f in required:
                if f not in cols:
                    self.error(path + ("columns",), f"field {f} is missing (required: {', '.join(required)})")
            vals = sec.get("values", {})
            if not isinstance(vals, dict):
                self.error(path + ("values",), "must be a table of tables: [.values.FIELD] code = value")
            for f, m in vals.items():
                if f not in fields:
                    self.error(path + ("values", f), f"unknown field (known: {', '.join(fields)})")
                if f not in cols:
                    self.error(path + ("values", f), "a value map for a field that columns does not map")
                if not isinstance(m, dict):
                    self.error(path + ("values", f), "must be a table: \"code in the file\" = value")
            ign = sec.get("ignore_columns", [])
            if not (isinstance(ign, list) and all(isinstance(x, str) for x in ign)):
                self.error(path + ("ignore_columns",), "must be a list of column names")
            if name == "labs":
                for col, spec in sec.get("wide", {}).items():
                    p = path + ("wide", col)
                    if isinstance(spec, str):
                        spec = {"code": spec}
                        sec["wide"][col] = spec
                    if not isinstance(spec, dict):
                        self.error(p, "must be a code (\"KREA\") or a table { code, feature, unit, ... }")
                    for k in spec:
                        if k not in WIDE_KEYS:
                            self.error(p + (k,), f"unknown key (known: {', '.join(sorted(WIDE_KEYS))})")
                    if "unit" in spec and "unit_column" in spec:
                        self.error(p, "unit and unit_column: give one")
                    if "factor" in spec and "feature" not in spec:
                        self.error(p + ("factor",), "a factor needs a feature")
                for code, spec in sec.get("codes", {}).items():
                    p = path + ("codes", code)
                    if isinstance(spec, str):
                        spec = {"feature": spec}
                        sec["codes"][code] = spec
                    if not isinstance(spec, dict) or "feature" not in spec:
                        self.error(p, "must be a feature name, or { feature, unit, factor }")
                    for k in spec:
                        if k not in CODE_KEYS:
                            self.error(p + (k,), f"unknown key (known: {', '.join(sorted(CODE_KEYS))})")

    def option(self, sec, key, default):
        return sec.get(key, self.doc.get("source", {}).get(key, default))


# ---------------------------------------------------------------------------
# reading cells
# ---------------------------------------------------------------------------
class Reader:
    """Turns the text of a cell into a value of its field, or a reason."""

    def __init__(self, m: Mapping, sec):
        self.zone = m.zone
        self.ambiguous = m.ambiguous
        self.formats = m.option(sec, "datetime_formats", ["iso"])
        if isinstance(self.formats, str):
            self.formats = [self.formats]
        self.decimal_comma = bool(m.option(sec, "decimal_comma", False))
        self.stats = Counter()           # ambiguous times taken earlier / later
        self.examples = defaultdict(list)

    def time(self, text):
        """(UTC text, None) or (None, reason)."""
        t = text.strip()
        value = None
        for fmt in self.formats:
            try:
                value = dt.datetime.fromisoformat(t) if fmt == "iso" else dt.datetime.strptime(t, fmt)
                break
            except ValueError:
                continue
        if value is None:
            return None, ("not a time", f"{t!r} matches none of the formats {', '.join(self.formats)}")
        if value.tzinfo is None:
            a = value.replace(tzinfo=self.zone, fold=0)
            b = value.replace(tzinfo=self.zone, fold=1)
            back = a.astimezone(dt.timezone.utc).astimezone(self.zone).replace(tzinfo=None)
            if back != value:
                return None, ("local time does not exist",
                              f"{t!r} does not exist in {self.zone.key} (the clocks went forward)")
            if a.utcoffset() != b.utcoffset():
                if self.ambiguous == "reject":
                    return None, ("local time is ambiguous",
                                  f"{t!r} happened twice in {self.zone.key} (the clocks went back); "
                                  "set [source] ambiguous_times = \"earlier\" or \"later\"")
                value = a if self.ambiguous == "earlier" else b
                self.stats[self.ambiguous] += 1
                if len(self.examples[self.ambiguous]) < 3:
                    self.examples[self.ambiguous].append(f"{t} -> {value.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
            else:
                value = a
        u = value.astimezone(dt.timezone.utc)
        if not 1 <= u.year <= 9999:
            return None, ("not a time", f"{t!r} is out of range")
        return u.strftime("%Y-%m-%d %H:%M:%S.%f+00"), None

    def number(self, text):
        """A plain decimal (a comma with decimal_comma), as float, or None."""
        t = text.strip()
        if NUMBER_POINT.fullmatch(t):
            v = float(t)
        elif self.decimal_comma and NUMBER_COMMA.fullmatch(t):
            v = float(t.replace(",", "."))
        else:
            return None
        return v if math.isfinite(v) else None


def _field(kind, text, rd: Reader, name):
    """Value of a field of kind ``kind`` from its (mapped) text; returns (value, reason)."""
    if kind == "time":
        return rd.time(text)
    if kind in ("id", "int"):
        t = text.strip()
        if re.fullmatch(r"[-+]?[0-9]{1,18}", t):
            return int(t), None
        return None, ("not an integer", f"{text!r}")
    if kind == "num":
        v = rd.number(text)
        return (v, None) if v is not None else (None, ("not a number", f"{text!r}"))
    return text, None


# ---------------------------------------------------------------------------
# the files
# ---------------------------------------------------------------------------
def _open_csv(m: Mapping, path, sec):
    """(header, iterator of (line number, fields)) of a section's file."""
    file = m.base / sec["file"]
    enc = m.option(sec, "encoding", "utf-8")
    if enc.lower().replace("_", "-") in ("utf-8", "utf8"):
        enc = "utf-8-sig"
    delim = m.option(sec, "delimiter", ",")
    if not (isinstance(delim, str) and len(delim) == 1):
        m.error(path + ("delimiter",), "must be one character")
    try:
        f = open(file, newline="", encoding=enc)
    except LookupError:
        m.error(path + ("encoding",), f"unknown encoding {enc!r}")
    except OSError as e:
        m.error(path + ("file",), f"{file}: {e.strerror}")
    try:
        r = csv.reader(f, delimiter=delim)
        header = next(r, None)
        if header is None:
            m.error(path + ("file",), f"{file} is empty (no header line)")
        header = [h.strip() for h in header]
        dup = [h for h, n in Counter(header).items() if n > 1 and h]
        if dup:
            raise LoadError(f"{file}: the header has column {dup[0]!r} twice")
        rows = []
        for fields in r:
            rows.append((r.line_num, fields))
    except UnicodeDecodeError as e:
        raise LoadError(f"{file}: not readable as {m.option(sec, 'encoding', 'utf-8')} ({e.reason} at byte "
                        f"{e.start}); set encoding = \"cp1252\" (or the file's encoding) in [source]") from None
    except csv.Error as e:
        raise LoadError(f"{file}: not readable as CSV: {e}") from None
    finally:
        f.close()
    return file, header, rows


def _column_index(m, path, header, file, col):
    if col not in header:
        close = [h for h in header if h.lower() == col.lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else f" (columns: {', '.join(header)})"
        m.error(path, f"{file.name} has no column {col!r}{hint}")
    return header.index(col)


class Section:
    """The field getters of one section: field -> function(fields) -> (text or None)."""

    def __init__(self, m, path, sec, header, file, fields):
        self.getters = {}
        self.used = set()
        vals = sec.get("values", {})
        for f, spec in sec.get("columns", {}).items():
            if isinstance(spec, dict):
                const = spec["value"]
                self.getters[f] = (lambda c: lambda row: (str(c) if not isinstance(c, bool) else
                                                          ("true" if c else "false"), None))(const)
                continue
            i = _column_index(m, path + ("columns", f), header, file, spec)
            self.used.add(spec)
            vmap = vals.get(f)
            self.getters[f] = self._getter(i, f, vmap, path)

    @staticmethod
    def _getter(i, f, vmap, path):
        table = ".".join(str(c) for c in path if not isinstance(c, int))

        def get(row):
            text = row[i].strip() if i < len(row) else ""
            if vmap is None or text == "":
                return (text or None), None
            if text in vmap:
                v = vmap[text]
            elif "*" in vmap:
                v = vmap["*"]
            else:
                return None, ("not in the value map", f"{f} {text!r} is not in [{table}.values.{f}]")
            if isinstance(v, bool):
                return ("true" if v else "false"), None
            return (str(v) if v is not None else None), None
        return get


def _read_row(sect, kinds, required, rd, fields):
    """(values dict, reason) for one line."""
    out = {}
    for f, get in sect.getters.items():
        text, why = get(fields)
        if why:
            return None, (f"{f} {why[0]}", why[1])
        if text is None:
            if f in DEFAULTS:
                out[f] = DEFAULTS[f]
                continue
            if f in required:
                return None, (f"{f} missing", f"{f} is empty")
            out[f] = None
            continue
        kind = kinds[f]
        if kind == "bool":
            b = BOOL_TEXT.get(text.strip().lower())
            if b is None:
                return None, (f"{f} not a boolean", f"{text!r} is none of 1, 0, true, false "
                              f"(map the file's codes in a values table)")
            out[f] = b
            continue
        v, why = _field(kind, text, rd, f)
        if why:
            return None, (f"{f} {why[0]}", why[1])
        out[f] = v
    return out, None


# ---------------------------------------------------------------------------
# COPY into candidate tables
# ---------------------------------------------------------------------------
def _cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _copy_candidates(cur, table, coldefs, rows):
    """CREATE TEMP TABLE table (line, src_line, src_key, reason, coldefs...) and COPY rows into it."""
    names = [c.split()[0] for c in coldefs]
    cur.execute(f"CREATE TEMP TABLE {table} (line bigint PRIMARY KEY, src_line bigint, src_key text, "
                f"src_column text, reason text, {', '.join(coldefs)}) ON COMMIT DROP")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i, r in enumerate(rows, 1):
        w.writerow([i, r["src_line"], r.get("src_key") or "", r.get("src_column") or "",
                    r["reason"] or ""] + [_cell(r.get(n)) for n in names])
    buf.seek(0)
    # empty fields are NULL; an empty text value never reaches here (it is None)
    cur.copy_expert(f"COPY {table} (line, src_line, src_key, src_column, reason, {', '.join(names)}) "
                    f"FROM STDIN (FORMAT csv)", buf)


def _reason_text(why):
    return f"{why[0]}: {why[1]}"


# ---------------------------------------------------------------------------
# one table
# ---------------------------------------------------------------------------
def _plain_section(cur, m, name, path, sec):
    spec = TABLES[name]
    file, header, rows = _open_csv(m, path, sec)
    sect = Section(m, path, sec, header, file, spec["fields"])
    rd = Reader(m, sec)
    cands = []
    empty_lines = no_value = 0
    for line, fields in rows:
        if not any(x.strip() for x in fields):
            empty_lines += 1
            continue
        if len(fields) != len(header):
            cands.append({"src_line": line, "reason": f"field count: the line has {len(fields)} fields, "
                                                      f"the header {len(header)}"})
            continue
        vf = spec.get("value_field")
        if vf and vf in sect.getters and sect.getters[vf](fields) == (None, None):
            no_value += 1           # e.g. an admission without BMI in a shared file: nothing to load
            continue
        out, why = _read_row(sect, spec["fields"], spec["required"], rd, fields)
        r = {"src_line": line, "reason": _reason_text(why) if why else None}
        if out:
            r.update(out)
            r["src_key"] = str(out.get(spec["key"]))
        cands.append(r)
    cols = [f for f in spec["fields"] if f in sect.getters]
    types = {"id": "bigint", "text": "text", "time": "timestamptz", "int": "integer", "num": "float8",
             "bool": "boolean"}
    cand = f"cand_{spec['table']}"
    _copy_candidates(cur, cand, [f"{c} {types[spec['fields'][c]]}" for c in cols], cands)
    loaded = _insert_checked(cur, cand, f"icu_predict.{spec['table']}", ", ".join(cols))
    rep = _file_report(cur, cand, name, file, len(rows), loaded)
    rep["empty_lines"] = empty_lines
    rep["no_value"] = no_value
    rep["_columns"] = (file, _unused(header, sect.used, sec, rows), sect.used)
    rep["ambiguous_times"] = dict(rd.stats)
    rep["ambiguous_examples"] = {k: v for k, v in rd.examples.items()}
    return rep


def _unused(header, used, sec, rows):
    """Columns of the file the mapping neither uses nor ignores, with their non-empty cells."""
    ign = set(sec.get("ignore_columns", []))
    out = []
    for i, h in enumerate(header):
        if h in used or h in ign:
            continue
        vals = [f[i].strip() for _, f in rows if i < len(f) and f[i].strip()]
        out.append({"column": h, "non_empty": len(vals), "examples": sorted(set(vals))[:3]})
    return out


def _file_report(cur, cand, name, file, lines, loaded):
    cur.execute(f"SELECT split_part(reason, ': ', 1), count(*) FROM {cand} WHERE reason IS NOT NULL "
                "GROUP BY 1 ORDER BY 2 DESC, 1")
    by_reason = {k: n for k, n in cur.fetchall()}
    rejected = _rejections(cur, cand, file.name, "coalesce(src_column || ' ', '') || 'line ' || src_line")
    cur.execute(f"SELECT line, src_line FROM {cand}")
    src = dict(cur.fetchall())
    for r in rejected:
        r["line"] = src[r["line"]]
    return {"section": name, "file": file.name, "lines": lines, "loaded": loaded,
            "rejected": sum(by_reason.values()), "rejected_by_reason": by_reason, "rejections": rejected}


# ---------------------------------------------------------------------------
# labs
# ---------------------------------------------------------------------------
def _check_units_and_features(cur, m, path, sec):
    """Mapping errors the server decides: units it does not read, features it does not have."""
    specs = [(path + ("wide", col), s) for col, s in sec.get("wide", {}).items()]
    specs += [(path + ("codes", c), s) for c, s in sec.get("codes", {}).items()]
    for p, s in specs:
        if "unit" in s:
            if not isinstance(s["unit"], str):
                m.error(p + ("unit",), "must be text")
            cur.execute("SELECT icu_predict.unit_ucum(%s)", (s["unit"],))
            if cur.fetchone()[0] is None:
                m.error(p + ("unit",), f"unit {s['unit']!r} is not a unit icu_predict reads (UCUM, or a "
                                       "spelling of SELECT * FROM icu_predict.unit_spellings())")
        if "feature" in s:
            cur.execute("SELECT unit, molar_mass FROM icu_predict.feature WHERE name = %s", (s["feature"],))
            f = cur.fetchone()
            if f is None:
                m.error(p + ("feature",), f"unknown feature {s['feature']!r} (SELECT name FROM icu_predict.feature)")
            if "factor" in s:
                if not isinstance(s["factor"], (int, float)) or isinstance(s["factor"], bool) or s["factor"] == 0:
                    m.error(p + ("factor",), "must be a non-zero number")
                if "unit" not in s:
                    m.error(p + ("factor",), "a factor needs the unit it converts from (unit = ...)")
            # a unit that is read but does not convert into the feature's unit is no mapping error:
            # its rows load and lab_row_status counts them unit_not_convertible, with the reason


def _lab_map_rows(cur, m, path, sec, file):
    """lab_map rows for columns / codes mapped to a feature; returns the rows added."""
    wanted = []       # (key path, code, feature, unit, factor, note)
    for col, s in sec.get("wide", {}).items():
        if "feature" in s:
            wanted.append((path + ("wide", col), s.get("code", col), s["feature"], s.get("unit"), s.get("factor"),
                           f"CSV mapping {m.path.name}: column {col!r} of {file.name}"))
    for code, s in sec.get("codes", {}).items():
        wanted.append((path + ("codes", code), code, s["feature"], s.get("unit"), s.get("factor"),
                       f"CSV mapping {m.path.name}: code {code!r} of {file.name}"))
    added = []
    for p, code, feature, unit, factor, note in wanted:
        cur.execute("SELECT DISTINCT feature FROM icu_predict.lab_map WHERE local_code = %s", (code,))
        have = {r[0] for r in cur.fetchall()}
        if have - {feature}:
            m.error(p, f"code {code!r} is mapped to {', '.join(sorted(have - {feature}))} in icu_predict.lab_map, "
                       f"not to {feature}; give the column another code or change lab_map")
        if factor is None:
            # the code's one feature: every unit sent converts by UCUM (lab_row_status rule 2)
            cur.execute("SELECT unit FROM icu_predict.feature WHERE name = %s", (feature,))
            unit = cur.fetchone()[0]
        cur.execute("""INSERT INTO icu_predict.lab_map (local_code, unit, feature, factor, note)
                       VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING local_code""",
                    (code, unit, feature, factor, note))
        if cur.fetchone():
            added.append({"local_code": code, "unit": unit, "feature": feature, "factor": factor})
    return added


def _lab_value(rd, text, is_text):
    """(value, value_text) of a lab cell: a plain number is the value; anything else is text for
    the server (lab_text_value reads censored results and decimal commas)."""
    if is_text:
        return None, text
    v = rd.number(text)
    if v is None:
        return None, text
    return v, (text if not NUMBER_POINT.fullmatch(text) else None)


def _lab_section(cur, m, path, sec):
    fmt = sec.get("format", "wide")
    file, header, rows = _open_csv(m, path, sec)
    _check_units_and_features(cur, m, path, sec)
    fields = LAB_FIELDS if fmt == "wide" else LONG_FIELDS
    required = ("admission_id", "resulted_at") + (("code",) if fmt == "long" else ())
    sect = Section(m, path, sec, header, file, fields)
    rd = Reader(m, sec)
    wide = []
    for col, s in sec.get("wide", {}).items():
        i = _column_index(m, path + ("wide", col), header, file, col)
        ui = None
        if "unit_column" in s:
            ui = _column_index(m, path + ("wide", col, "unit_column"), header, file, s["unit_column"])
            sect.used.add(s["unit_column"])
        sect.used.add(col)
        wide.append((col, i, s.get("code", col), s.get("unit"), ui, s.get("specimen"), bool(s.get("text"))))
    text_codes = set(sec.get("text_codes", []))
    cands, lines_rejected, empty, empty_lines = [], [], 0, 0
    lines_ok = 0
    for line, flds in rows:
        if not any(x.strip() for x in flds):
            empty_lines += 1
            continue
        if len(flds) != len(header):
            lines_rejected.append({"line": line, "reason": f"field count: the line has {len(flds)} fields, "
                                                           f"the header {len(header)}"})
            continue
        lines_ok += 1
        base, why = _read_row(sect, fields, required, rd, flds)
        base = base or {}
        if fmt == "long":
            text = (base.get("value") or "")
            r = {"src_line": line, "src_column": None, "reason": _reason_text(why) if why else None}
            if not why and base.get("value") is None:
                r["reason"] = "value missing: the value cell is empty"
            if not r["reason"]:
                v, vt = _lab_value(rd, text.strip(), base["code"] in text_codes)
                r.update(admission_id=base["admission_id"], local_code=base["code"], value=v, value_text=vt,
                         unit=base.get("unit"), sampled_at=base.get("sampled_at"),
                         resulted_at=base["resulted_at"], specimen=base.get("specimen"))
            code_text = sect.getters["code"](flds)[0]
            r["src_key"] = code_text or "?"
            r["src_column"] = code_text
            cands.append(r)
            continue
        for col, i, code, unit, ui, specimen, is_text in wide:
            text = flds[i].strip()
            if not text:
                empty += 1
                continue
            r = {"src_line": line, "src_column": col, "src_key": code,
                 "reason": _reason_text(why) if why else None}
            if not why:
                v, vt = _lab_value(rd, text, is_text)
                u = flds[ui].strip() if ui is not None else unit
                r.update(admission_id=base["admission_id"], local_code=code, value=v, value_text=vt,
                         unit=u or None, sampled_at=base.get("sampled_at"), resulted_at=base["resulted_at"],
                         specimen=specimen if specimen is not None else base.get("specimen"))
            cands.append(r)
    added = _lab_map_rows(cur, m, path, sec, file)
    coldefs = ["lab_result_id bigint", "admission_id bigint", "local_code text", "value float8",
               "value_text text", "unit text", "sampled_at timestamptz", "resulted_at timestamptz",
               "specimen text"]
    cand = f"cand_lab_{len(_lab_section.done)}"
    _lab_section.done.append(cand)
    _copy_candidates(cur, cand, coldefs, cands)
    cur.execute(f"UPDATE {cand} SET lab_result_id = nextval(pg_get_serial_sequence('icu_predict.lab_result', "
                f"'lab_result_id')) WHERE reason IS NULL")
    # an export loaded before: refuse rather than load its rows twice
    cur.execute(f"""SELECT count(*), min(c.src_column || ' line ' || c.src_line) FROM {cand} c
                     WHERE c.reason IS NULL AND EXISTS (
                           SELECT 1 FROM icu_predict.lab_result r
                            WHERE r.admission_id = c.admission_id AND r.local_code = c.local_code
                              AND r.resulted_at = c.resulted_at
                              AND r.value IS NOT DISTINCT FROM c.value
                              AND r.value_text IS NOT DISTINCT FROM c.value_text)""")
    dup, example = cur.fetchone()
    if dup:
        raise LoadError(f"{file.name}: {dup} lab results are already in icu_predict.lab_result (same admission, "
                        f"code, result time and value; e.g. {example}): this export was loaded before. Load it "
                        "again with --replace together with its [admissions] file, or leave those rows out")
    loaded = _insert_checked(cur, cand, "icu_predict.lab_result", LAB_COLS)
    rep = _file_report(cur, cand, "labs", file, len(rows), loaded)
    rep.update(format=fmt, lines_rejected=lines_rejected, cells=len(cands), empty_cells=empty,
               lines_read=lines_ok, lab_map_added=added, empty_lines=empty_lines,
               _columns=(file, _unused(header, sect.used, sec, rows), sect.used),
               ambiguous_times=dict(rd.stats), ambiguous_examples={k: v for k, v in rd.examples.items()})
    rep["rejected"] = sum(rep["rejected_by_reason"].values())
    cur.execute(f"""
        SELECT coalesce(c.src_column, s.local_code), s.local_code, coalesce(s.local_unit, ''), s.feature,
               coalesce(s.rejection, 'used'), count(*), count(*) FILTER (WHERE s.censored IS NOT NULL),
               min(coalesce(s.value_text, s.value_sent::text)), min(s.detail)
          FROM {cand} c JOIN icu_predict.lab_row_status s ON s.lab_result_id = c.lab_result_id
         WHERE c.reason IS NULL
         GROUP BY 1, 2, 3, 4, 5
         ORDER BY 1, 3, 5""")
    rep["status"] = [{"column": col, "local_code": code, "unit": unit, "feature": feat, "status": st,
                      "rows": n, "censored": nc, "example": ex, "detail": det}
                     for col, code, unit, feat, st, n, nc, ex, det in cur.fetchall()]
    tot = Counter()
    for s in rep["status"]:
        tot[s["status"]] += s["rows"]
    rep["status_totals"] = dict(sorted(tot.items()))
    return rep


_lab_section.done = []


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------
def _admission_ids(m):
    """The admission ids of the [admissions] file (for --replace and the re-run check)."""
    for name, path, sec in m.sections:
        if name == "admissions":
            file, header, rows = _open_csv(m, path, sec)
            spec = sec["columns"]["admission_id"]
            if isinstance(spec, dict):
                return set()
            i = _column_index(m, path + ("columns", "admission_id"), header, file, spec)
            return {int(f[i].strip()) for _, f in rows
                    if i < len(f) and re.fullmatch(r"[-+]?[0-9]{1,18}", f[i].strip())}
    return None


def load(conn, mapping_path, data_dir=None, replace=False, commit=True):
    """Load the files of a mapping through conn (psycopg2) in one transaction; returns the report dict.

    commit=False is the dry run: the same work, rolled back.
    """
    m = Mapping(mapping_path, data_dir)
    _lab_section.done = []
    conn.autocommit = False
    cur = conn.cursor()
    try:
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'icu_predict'")
        if cur.fetchone() is None:
            raise LoadError("the database has no icu_predict extension (CREATE EXTENSION icu_predict CASCADE)")
        cur.execute("SET LOCAL TimeZone = 'UTC'")
        cur.execute(_HELPERS)
        ids = _admission_ids(m)
        replaced = 0
        if ids:
            cur.execute("SELECT count(*), min(admission_id) FROM icu_predict.admission WHERE admission_id = ANY(%s)",
                        (sorted(ids),))
            n, first = cur.fetchone()
            if n and not replace:
                raise LoadError(f"{n} admissions of the [admissions] file are already loaded (e.g. {first}); "
                                "pass --replace to delete them with their stays, labs, diagnoses and BMI and "
                                "load them again")
            if n:
                cur.execute("DELETE FROM icu_predict.admission WHERE admission_id = ANY(%s)", (sorted(ids),))
                replaced = cur.rowcount
        files = []
        order = ["admissions", "location_stays", "diagnoses", "bmi", "labs"]
        for name, path, sec in sorted(m.sections, key=lambda s: order.index(s[0])):
            if name == "labs":
                files.append(_lab_section(cur, m, path, sec))
            else:
                files.append(_plain_section(cur, m, name, path, sec))
        # a column is unused when no section reading its file uses it
        used = defaultdict(set)
        for f in files:
            used[f["_columns"][0]] |= f["_columns"][2]
        for f in files:
            file, cands_, _ = f.pop("_columns")
            f["unused_columns"] = [u for u in cands_ if u["column"] not in used[file]]
        report = {"mapping": str(m.path), "time_zone": m.zone.key, "dry_run": not commit,
                  "replaced_admissions": replaced, "files": files}
        if commit:
            conn.commit()
        else:
            conn.rollback()
        return report
    except BaseException:
        conn.rollback()
        raise
    finally:
        cur.close()


def totals(rep):
    """Per file: lines (cells for labs) in, loaded, rejected; the figures a dry run and a load share."""
    out = {}
    for f in rep["files"]:
        key = f"{f['section']}:{f['file']}"
        if f["section"] == "labs":
            out[key] = {"lines": f["lines"], "lines_rejected": len(f["lines_rejected"]), "cells": f["cells"],
                        "empty_lines": f["empty_lines"],
                        "empty_cells": f["empty_cells"], "loaded": f["loaded"], "rejected": f["rejected"],
                        **{f"rejected:{k}": v for k, v in f["rejected_by_reason"].items()},
                        **{f"status:{k}": v for k, v in f["status_totals"].items()}}
        else:
            out[key] = {"lines": f["lines"], "loaded": f["loaded"], "rejected": f["rejected"],
                        "no_value": f["no_value"], "empty_lines": f["empty_lines"],
                        **{f"rejected:{k}": v for k, v in f["rejected_by_reason"].items()}}
    return out


def format_report(rep, verbose=False):
    out = [f"CSV export -> icu_predict ({'dry run: nothing written' if rep['dry_run'] else 'loaded'})",
           f"mapping: {rep['mapping']}; naive times read in {rep['time_zone']}"]
    if rep["replaced_admissions"]:
        out.append(f"replaced: {rep['replaced_admissions']} admissions deleted first (--replace)")
    shown = None if verbose else 5
    for f in rep["files"]:
        out.append("")
        if f["section"] == "labs":
            out.append(f"[labs] {f['file']} ({f['format']}): {f['lines']} lines"
                       + (f", {len(f['lines_rejected'])} unreadable" if f["lines_rejected"] else "")
                       + f"; {f['cells']} results" + (f" ({f['empty_cells']} empty cells)" if f["format"] == "wide" else "")
                       + f": {f['loaded']} loaded, {f['rejected']} rejected")
            for r in f["lines_rejected"][:shown]:
                out.append(f"  line {r['line']}: {r['reason']}")
        else:
            out.append(f"[{f['section']}] {f['file']}: {f['lines']} lines: {f['loaded']} loaded, "
                       f"{f['rejected']} rejected"
                       + (f", {f['no_value']} without a value ({TABLES[f['section']]['value_field']} empty)"
                          if f["no_value"] else ""))
        if f["empty_lines"]:
            out.append(f"  {f['empty_lines']} empty lines")
        for k, n in f["rejected_by_reason"].items():
            out.append(f"  rejected {n:>6}  {k}")
        for r in f["rejections"][:shown]:
            out.append(f"    {r['key']}: {r['reason']}")
        if shown is not None and len(f["rejections"]) > shown:
            out.append(f"    ... {len(f['rejections']) - shown} more (--verbose or --json lists all)")
        for k, n in f.get("ambiguous_times", {}).items():
            out.append(f"  {n} ambiguous local times (clocks went back) taken as the {k} one: "
                       + "; ".join(f["ambiguous_examples"].get(k, [])))
        for u in f["unused_columns"]:
            out.append(f"  column not in the mapping (not loaded): {u['column']!r}, {u['non_empty']} non-empty"
                       + (f", e.g. {', '.join(map(repr, u['examples']))}" if u["examples"] else ""))
        if f["section"] == "labs":
            for a in f["lab_map_added"]:
                out.append(f"  lab_map row added: {a['local_code']} [{a['unit']}] -> {a['feature']}"
                           + (f" (factor {a['factor']})" if a["factor"] is not None else ""))
            out.append("  loaded results by status (icu_predict.lab_row_status): "
                       + ", ".join(f"{k} {v}" for k, v in f["status_totals"].items()))
            out.append(f"  {'column / code':<24} {'unit':<10} {'feature':<14} {'status':<21} {'rows':>6}  example / detail")
            for s in f["status"]:
                if s["status"] == "used" and not verbose:
                    continue
                out.append(f"  {s['column'][:24]:<24} {s['unit'][:10]:<10} {(s['feature'] or '-')[:14]:<14} "
                           f"{s['status']:<21} {s['rows']:>6}  {s['example']!s}"
                           + (f" / {s['detail']}" if s["detail"] else ""))
            used = [s for s in f["status"] if s["status"] == "used"]
            if used and not verbose:
                out.append(f"  ... and {sum(s['rows'] for s in used)} results used in {len(used)} "
                           "column/unit groups (--verbose lists them)")
    return "\n".join(out)


def add_arguments(p):
    p.add_argument("--mapping", required=True, metavar="TOML", help="the mapping file (docs/csv-mapping-example.toml)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder of the CSV files (default: the mapping file's folder)")
    options.connection(p)
    p.add_argument("--dry-run", action="store_true",
                   help="do the whole load in a transaction and roll it back: report what would be loaded, "
                        "unmapped, unconvertible or rejected, and write nothing")
    p.add_argument("--replace", action="store_true",
                   help="first delete the admissions of the [admissions] file that are loaded already "
                        "(with their stays, labs, diagnoses and BMI)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.add_argument("--verbose", action="store_true", help="list every rejected row and every used column")


def command(args):
    """Exit 0 when every line loaded, 1 when some were rejected or columns are not in the
    mapping (listed in the report); errors follow model/cli.py (exit 2)."""
    Mapping(args.mapping, args.data)            # mapping errors before connecting
    conn = options.connect(args)
    try:
        rep = load(conn, args.mapping, args.data, replace=args.replace, commit=not args.dry_run)
    finally:
        conn.close()
    print(format_report(rep, verbose=args.verbose))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=1, default=str)
    bad = any(f["rejected"] or f["unused_columns"] or f.get("lines_rejected") for f in rep["files"])
    return 1 if bad else 0


def main(argv=None):
    """``python3 -m model.csvload``: the same as ``python3 -m model load-csv``."""
    from .cli import main as cli_main
    return cli_main(argv, command="load-csv")


if __name__ == "__main__":
    sys.exit(main())
