"""The names the docs use are the names the views have: the column tables of
docs/power-bi.md (icu_bi.patient_status) and docs/views.md
(icu_predict.patient_status) list every column of the view, and nothing
else; every icu_bi view is named in docs/power-bi.md and carries a comment on
each column."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def table_after(doc, heading):
    """Column names in the first column of the markdown table after heading."""
    text = (ROOT / doc).read_text()
    start = text.index(heading)
    names = []
    in_table = False
    for line in text[start:].splitlines()[1:]:
        if line.startswith("| column |"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            if line.startswith("|---"):
                continue
            cell = line.split("|")[1]
            for tok in re.split(r",|…", cell):
                tok = tok.strip().strip("`")
                if tok:
                    names.append(tok)
    assert names, f"no column table after {heading!r} in {doc}"
    return names


def expand(names):
    """key_lab_N_x (N = 1…6) and key_lab_6_* stand for the six slots."""
    out = set()
    for n in names:
        m = re.fullmatch(r"key_lab_(N|\d)_(\*|\w+)", n)
        if m and m.group(2) == "*":
            continue            # "… key_lab_6_*": the same fields as slot 1
        if m:
            for k in range(1, 7):
                out.add(f"key_lab_{k}_{m.group(2)}")
        else:
            out.add(n)
    # a slot written out for 1 holds for all six
    for n in list(out):
        m = re.fullmatch(r"key_lab_1_(\w+)", n)
        if m:
            out |= {f"key_lab_{k}_{m.group(1)}" for k in range(2, 7)}
    return out


def columns(conn, schema, rel):
    with conn.cursor() as cur:
        cur.execute("""SELECT a.attname FROM pg_attribute a
                        WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
                        ORDER BY a.attnum""", (f"{schema}.{rel}",))
        return [r[0] for r in cur.fetchall()]


def test_power_bi_guide_names_every_column_of_icu_bi_patient_status(conn):
    documented = expand(table_after("docs/power-bi.md", "### The columns of `icu_bi.patient_status`"))
    actual = set(columns(conn, "icu_bi", "patient_status"))
    assert documented - actual == set(), "documented but not in icu_bi.patient_status"
    assert actual - documented == set(), "in icu_bi.patient_status but not documented"


def test_views_doc_names_every_column_of_the_materialized_view(conn):
    documented = expand(table_after("docs/views.md", "### Columns"))
    actual = set(columns(conn, "icu_predict", "patient_status"))
    assert documented - actual == set(), "documented but not in icu_predict.patient_status"
    assert actual - documented == set(), "in icu_predict.patient_status but not documented"


def test_every_icu_bi_view_is_in_the_power_bi_guide(conn):
    guide = (ROOT / "docs/power-bi.md").read_text()
    with conn.cursor() as cur:
        cur.execute("SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'icu_bi'::regnamespace "
                    "AND c.relkind = 'v' ORDER BY 1")
        views = [r[0] for r in cur.fetchall()]
    assert len(views) >= 7
    missing = [v for v in views if f"`icu_bi.{v}`" not in guide]
    assert not missing
