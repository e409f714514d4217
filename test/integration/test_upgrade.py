"""ALTER EXTENSION icu_predict UPDATE from every released version (0.1.0,
0.2.0, ...) with a hospital's data in it, and a pg_dump taken on the old
version restored into the current one.

The server runs the library just built; the released install scripts
(extension/icu_predict--X.Y.Z.sql, kept as shipped) are installed beside the
current one, so ``CREATE EXTENSION icu_predict VERSION '0.1.0'`` gives what
hospitals have, served by the new library, as after a package upgrade.

Per released version the module builds one database with a cohort, a user
feature and lab mappings, user models with deployments and a rollback, an
edit of a shipped model's metrics, ward access, a policy row and a refresh
history (from 0.2.0 on also diagnoses, BMI, the ward policy and an edit of a
shipped feature), with the default models that version shipped (a release
whose install script loads icu_predict_default_models.json gets the file as
tagged, vX.Y.Z, in the server's share directory while its database is
created; the new files everywhere else), takes a pg_dump of it, and snapshots every user row (each
table and sequence the old extension registers with pg_extension_config_dump,
with its dump condition and its old columns) and the scores.  The tests then update it
in place and restore the dump, by the commands of README.md's "Upgrading"
section, read from the README and run as written, and compare.  The counts
compared are printed.

The update ships newer default models: a slot a deployment pinned keeps
its model and scores; the slot on the builtin fallback (7-day risk here)
moves to the newest shipped model, the old shipped rows staying as they were.
"""
import contextlib
import json
import os
import pathlib
import re
import shutil
import subprocess

import psycopg2
import pytest

import scratch_db

REPO = pathlib.Path(__file__).resolve().parents[2]
CURRENT = re.search(r"^default_version\s*=\s*'([^']+)'", (REPO / "icu_predict.control").read_text(),
                    re.M).group(1)


def _vkey(v):
    return tuple(int(x) for x in v.split("."))


# every install script kept as shipped: the versions hospitals may run
RELEASED = sorted((m.group(1) for f in (REPO / "extension").glob("icu_predict--*.sql")
                   if (m := re.fullmatch(r"icu_predict--(\d+\.\d+\.\d+)\.sql", f.name))
                   and m.group(1) != CURRENT), key=_vkey)
assert RELEASED and RELEASED[0] == "0.1.0"
SHIPPED = json.loads((REPO / "extension" / "icu_predict_default_models.json").read_text())["models"]


def _newest_shipped(kind, horizon):
    """The shipped model the builtin fallback of active_model picks for a
    slot: negative ids are newer than positive ones, and lower ones newer."""
    slot = [m for m in SHIPPED if m["kind"] == kind and m["horizon_hours"] == horizon]
    m = max(slot, key=lambda m: (m["model_id"] < 0, -(m["model_id"] + 1) if m["model_id"] < 0 else m["model_id"]))
    return m["name"], m["version"]


# the slot no deployment of DATA_010 pins
UNPINNED = ("icu_admission", 168)
REF = "2020-04-03 08:00+00"
REFS = ["2020-04-02 08:00+00", "2020-04-02 20:00+00", REF]

# The 0.1.0 objects only: everything here must load into the released script.
DATA_010 = """
SET timezone = 'UTC';
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, discharged_at, age_years, sex) VALUES
    (1, 'p1', '2020-03-30 10:00+00', NULL, 70, 'male'),
    (2, 'p2', '2020-03-31 10:00+00', NULL, 60, 'female'),
    (3, 'p3', '2020-04-01 11:00+00', NULL, 50, 'female'),
    (4, 'p4', '2020-04-01 12:00+00', NULL, 81, 'male'),
    (5, 'p5', '2020-03-20 09:00+00', '2020-03-28 09:00+00', 45, 'male'),
    (6, 'p6', '2020-04-02 09:00+00', NULL, 38, 'unknown');
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, isolation, started_at, ended_at) VALUES
    (1, 'W1', 'ward', 'droplet', '2020-03-30 10:00+00', '2020-04-01 12:00+00'),
    (1, 'IC', 'icu', 'strict', '2020-04-01 12:00+00', NULL),
    (2, 'W1', 'ward', 'none', '2020-03-31 10:00+00', NULL),
    (3, 'W2', 'ward', 'contact', '2020-04-01 11:00+00', NULL),
    (4, 'W2', 'ward', 'droplet', '2020-04-01 12:00+00', NULL),
    (5, 'W1', 'ward', 'none', '2020-03-20 09:00+00', '2020-03-22 09:00+00'),
    (5, 'IC', 'icu', 'none', '2020-03-22 09:00+00', '2020-03-27 09:00+00'),
    (5, 'W1', 'ward', 'none', '2020-03-27 09:00+00', '2020-03-28 09:00+00'),
    (6, 'ED', 'ed', 'unknown', '2020-04-02 09:00+00', NULL);
INSERT INTO icu_predict.icu_capacity VALUES ('IC', '2020-01-01', 4, 6), ('IC', '2020-04-01', 5, 8);

-- a feature of the hospital's own and its mappings (one with unit conversion)
INSERT INTO icu_predict.feature (name, loinc, description, unit, plausible_min, plausible_max)
VALUES ('esr_local', '4537-7', 'Erythrocyte sedimentation rate', 'mm/h', 0, 200);
INSERT INTO icu_predict.lab_map (local_code, unit, feature, factor, note) VALUES
    ('CRP', 'mg/L', 'crp', 1, 'lab system code'),
    ('CRP', 'mg/dL', 'crp', 10, 'old analyser'),
    ('LD', 'U/L', 'ldh', 1, NULL),
    ('BSE', 'mm/h', 'esr_local', 1, 'local feature');
INSERT INTO icu_predict.lab_result (admission_id, local_code, value, unit, sampled_at, resulted_at) VALUES
    (1, 'CRP', 120, 'mg/L', '2020-03-31 06:00+00', '2020-03-31 07:00+00'),
    (1, 'CRP', 21, 'mg/dL', '2020-04-01 06:00+00', '2020-04-01 07:00+00'),
    (1, 'LD', 480, 'U/L', '2020-04-01 06:00+00', '2020-04-01 07:30+00'),
    (2, 'CRP', 40, 'mg/L', '2020-04-01 06:00+00', '2020-04-01 07:00+00'),
    (2, 'CRP', 85, 'mg/L', '2020-04-02 06:00+00', '2020-04-02 07:00+00'),
    (2, 'BSE', 35, 'mm/h', '2020-04-02 06:00+00', '2020-04-02 08:00+00'),
    (3, 'CRP', 8, 'mg/L', '2020-04-02 06:00+00', '2020-04-02 07:00+00'),
    (4, 'CRP', 15, 'mg/dL', '2020-04-02 06:00+00', '2020-04-02 07:00+00'),
    (4, 'LD', 700, 'U/L', '2020-04-02 06:00+00', '2020-04-02 07:00+00'),
    (4, 'XYZ', 1, 'g', '2020-04-02 06:00+00', '2020-04-02 07:00+00');

-- the hospital's models: two versions of a risk model (the second rolled back)
-- and a stay model, all deployed
INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec, training, metrics) VALUES
  ('hosp_risk', '1', 'icu_admission', 'linear', 48,
   '{"format": "linear", "link": "logit", "intercept": -3,
     "inputs": [{"feature": "crp", "stat": "last", "impute": 0, "coef": 0.012},
                {"feature": "esr_local", "stat": "last", "impute": 10, "coef": 0.01},
                {"covariate": "age_years", "impute": 60, "coef": 0.02}]}',
   '{"rows": 1200}', '{"auroc": 0.74}'),
  ('hosp_risk', '2', 'icu_admission', 'linear', 48,
   '{"format": "linear", "link": "logit", "intercept": -2.5,
     "inputs": [{"feature": "crp", "stat": "max", "impute": 0, "coef": 0.01}]}', '{}', '{}'),
  ('hosp_stay', '1', 'icu_stay', 'linear', NULL,
   '{"format": "linear", "link": "log", "intercept": 2.1,
     "stay": {"distribution": "extreme", "sigma": 0.8},
     "inputs": [{"covariate": "age_years", "impute": 60, "coef": 0.004}]}', '{}', '{}');
SELECT icu_predict.deploy('hosp_risk', '1');
SELECT icu_predict.deploy('hosp_stay', '1');
SELECT icu_predict.deploy('hosp_risk', '2');
SELECT icu_predict.rollback('icu_admission');

-- the local validation of a shipped model, written into its row
UPDATE icu_predict.model SET metrics = metrics || '{"local_validation": {"auroc": 0.69, "n": 412}}'
 WHERE builtin AND name = 'default_risk_7d_xgb';

INSERT INTO icu_predict.ward_access (role_name, ward) VALUES
    ('icu_bi_reader', '*'), ('ward_w1_team', 'W1'), ('ward_w2_team', 'W2');
INSERT INTO icu_predict.capacity_policy (id, scale_up_probability, scale_down_spare_beds, risk_band_high)
VALUES (true, 0.2, 1, 0.4);
"""

# What 0.2.0 added for users to fill or edit, loaded on top from 0.2.0 on.
DATA_020 = """
SET timezone = 'UTC';
INSERT INTO icu_predict.diagnosis (admission_id, icd10_code, diagnosed_at) VALUES
    (1, 'I50.9', '2020-03-30 11:00+00'), (1, 'E11.9', NULL), (4, 'C78.0', '2020-04-01 13:00+00');
INSERT INTO icu_predict.admission_bmi (admission_id, bmi, measured_at) VALUES
    (1, 31.2, '2020-03-30 10:30+00'), (4, 22.5, NULL);
INSERT INTO icu_predict.ward_policy (id, stale_lab_hours) VALUES (true, 36);
-- the hospital narrows a shipped feature's plausible range
UPDATE icu_predict.feature SET plausible_max = 600 WHERE name = 'crp';
"""

# The catalog lines of the shipped rows the hospital edited (the model's
# metrics; from 0.2.0 on also the crp range): they differ from a fresh install.
EDITED = ("row-model | default_risk_7d_xgb synthetic-42-20000 |", "row-feature | crp |")

# Tables a refresh appends to, by key: rows of the old version are those with
# a key at most the old maximum.
APPENDED = {"icu_predict.refresh_log": "run_id", "icu_predict.forecast_log": "run_id"}

# Sections of the upgrade script that migrate user rows on purpose name the
# table here with what they change; its rows are then compared by count only.
MIGRATED = {}


def _connect(dbname):
    c = psycopg2.connect(dbname=dbname)
    c.autocommit = True
    return c


def _run(sql, db):
    c = _connect(db)
    try:
        with c.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        c.close()


def _version(db):
    return _run("SELECT extversion FROM pg_extension WHERE extname = 'icu_predict'", db)[0][0]


def _config_relations(db):
    """The 0.1.0 user data: each relation registered with pg_extension_config_dump,
    its dump condition, and its columns (in order)."""
    return _run("""
        SELECT x.rel::regclass::text, c.relkind::text, x.cond,
               (SELECT array_agg(quote_ident(a.attname) ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = x.rel AND a.attnum > 0 AND NOT a.attisdropped)
          FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(rel, cond)
          JOIN pg_class c ON c.oid = x.rel
         WHERE e.extname = 'icu_predict' ORDER BY 1""", db)


def _snapshot(db, relations):
    """Per relation: (rows, md5 of the rows' text over its 0.1.0 columns); a
    sequence: its state."""
    c = _connect(db)
    out = {}
    try:
        with c.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute("SET extra_float_digits = 3")
            for rel, kind, cond, cols in relations:
                if kind == "S":
                    cur.execute(f"SELECT last_value, is_called FROM {rel}")
                    out[rel] = cur.fetchone()
                    continue
                cur.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                            f"  FROM (SELECT {', '.join(cols)} FROM ONLY {rel} {cond or ''}) t")
                out[rel] = cur.fetchone()
    finally:
        c.close()
    return out


def _scores(db):
    """The analyst's scores of every admission at REF, and the daily views'
    scores after a refresh at REF."""
    c = _connect(db)
    try:
        with c.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            cur.execute("SET icu_predict.reference_time = %s", (REF,))
            cur.execute("CALL icu_predict.refresh()")
            cur.execute("""SELECT a.admission_id, p.risk, p.expected_stay_days, p.stay_p10_days, p.stay_p90_days,
                                  p.risk_model_version, p.stay_model_version
                             FROM icu_predict.admission a, icu_predict.predict(a.admission_id, %s) p
                            ORDER BY 1""", (REF,))
            predict = cur.fetchall()
            cur.execute("""SELECT admission_id, day_date, risk, forecast_risk, risk_model_version
                             FROM icu_predict.patient_status WHERE unit_kind = 'ward' ORDER BY 1, 2""")
            status = cur.fetchall()
            cur.execute("""SELECT kind, horizon_hours, name, version, source FROM icu_predict.active_model
                            ORDER BY 1, 2""")
            active = cur.fetchall()
    finally:
        c.close()
    return {"predict": predict, "patient_status": status, "active_model": active}


def _scores_after_update(db, before):
    """The scores on db after the update against ``before`` (the old
    version's): every value of the pinned slots (48 h risk, stay) as it was;
    the unpinned slot's from the newest shipped model, through the builtin
    fallback.  Returns the scores."""
    after = _scores(db)
    assert after["predict"] == before["predict"]
    assert [r[:3] + r[4:] for r in after["patient_status"]] == [r[:3] + r[4:] for r in before["patient_status"]]
    assert [r[3] is None for r in after["patient_status"]] == [r[3] is None for r in before["patient_status"]]
    assert after["active_model"] == [(*UNPINNED, *_newest_shipped(*UNPINNED), "builtin")
                                     if r[:2] == UNPINNED else r for r in before["active_model"]]
    assert _run("SELECT DISTINCT forecast_risk_model_version FROM icu_predict.patient_status "
                "WHERE forecast_risk IS NOT NULL", db) == [(" ".join(_newest_shipped(*UNPINNED)),)]
    return after


def _readme_blocks():
    """The sh blocks of README.md's "Upgrading" section, as written."""
    text = (REPO / "README.md").read_text()
    m = re.search(r"^## Upgrading\n(.*?)^## ", text, re.S | re.M)
    assert m, 'README.md has an "## Upgrading" section'
    blocks = re.findall(r"^```sh\n(.*?)^```", m.group(1), re.S | re.M)
    assert len(blocks) == 2, "README Upgrading: the in-place block and the pg_dump block"
    return blocks


def _sh(block, cwd, **env):
    e = dict(os.environ, **env)
    # the data's "now": refreshes in the README's commands run as of REF
    e["PGOPTIONS"] = (e.get("PGOPTIONS", "") + f" -c icu_predict.reference_time={REF.replace(' ', 'T')}"
                      " -c client_min_messages=warning")
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=cwd, env=e,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"README command block failed:\n{block}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def _same_catalog(a, b):
    import difflib
    diff = list(difflib.unified_diff(b, a, "fresh", "updated", lineterm="", n=1))
    assert not diff, "the extension's objects differ from a fresh install:\n" + "\n".join(diff[:60])


def _catalog(db):
    p = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", db, "-f",
                        str(REPO / "tools" / "extension-objects.sql")],
                       capture_output=True, text=True, check=True)
    return p.stdout.splitlines()


def _released_models_file(version):
    """The default models file release ``version`` shipped. The current file
    keeps every model an earlier release shipped (positive ids; the current
    defaults have negative ones), so that file is the current header with the
    rows of positive id. The one release that loads the file, 0.2.0, shipped
    ids 1-3. Where the release tag is in the clone (a CI checkout may have no
    tags), the rebuilt file must parse to the tagged one."""
    cur = json.loads((REPO / "extension" / "icu_predict_default_models.json").read_text())
    ids = {"0.2.0": {1, 2, 3}}[version]
    rows = [m for m in cur["models"] if m["model_id"] in ids]
    assert {m["model_id"] for m in rows} == ids, f"the data file lost a model {version} shipped"
    rebuilt = dict(cur, models=rows)
    tagged = subprocess.run(["git", "show", f"v{version}:extension/icu_predict_default_models.json"],
                            cwd=REPO, capture_output=True)
    if tagged.returncode == 0:
        assert json.loads(tagged.stdout) == rebuilt, f"rebuilt {version} models file differs from tag v{version}"
    return json.dumps(rebuilt).encode()


@contextlib.contextmanager
def _released_default_models(version):
    """While the block runs, the server's share directory holds the default
    models file as release ``version`` shipped it, when that release's install
    script loads the file; the current file again afterwards."""
    script = (REPO / "extension" / f"icu_predict--{version}.sql").read_text()
    if "load_default_models()" not in script:
        yield
        return
    shipped = _released_models_file(version)
    share = _run("SELECT setting FROM pg_catalog.pg_config WHERE name = 'SHAREDIR'", "postgres")[0][0]
    path = pathlib.Path(share) / "extension" / "icu_predict_default_models.json"
    keep = path.with_name(path.name + ".current")
    if keep.exists():            # left by a run that was killed inside this block: the current file
        os.replace(keep, path)
    shutil.copy2(path, keep)
    try:
        path.write_bytes(shipped)
        yield
    finally:
        os.replace(keep, path)


def _make_old_db(old):
    """A database at the released version old, with the default models that
    version shipped, with the data, and the scores and user rows taken on it."""
    db = scratch_db.create("icu_upg_", extension=False)
    try:
        with _released_default_models(old):
            _run(f"CREATE EXTENSION icu_predict VERSION '{old}' CASCADE", db)
        _run(DATA_010, db)
        if _vkey(old) >= (0, 2, 0):
            _run(DATA_020, db)
        c = _connect(db)
        with c.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            for ref in REFS[:-1]:
                cur.execute("SET icu_predict.reference_time = %s", (ref,))
                cur.execute("CALL icu_predict.refresh()")
        c.close()
        scores = _scores(db)              # the last refresh of the history, at REF
        relations = _config_relations(db)
        rows = _snapshot(db, relations)
        last = {rel: _run(f"SELECT coalesce(max({key}), 0) FROM {rel}", db)[0][0]
                for rel, key in APPENDED.items() if rel in rows}
        return {"db": db, "version": old, "relations": relations, "rows": rows, "scores": scores, "last": last}
    except Exception:
        scratch_db.drop(db)
        raise


@pytest.fixture(scope="module", params=RELEASED)
def version(request):
    return request.param


@pytest.fixture(scope="module")
def old(version):
    state = _make_old_db(version)
    yield state
    scratch_db.drop(state["db"])


@pytest.fixture(scope="module")
def fresh():
    db = scratch_db.create("icu_upg_fresh_")
    yield db
    scratch_db.drop(db)


def _report(capsys, what, rows, old):
    counted = [(r, v) for r, v in rows.items() if len(v) == 2 and isinstance(v[0], int) and not isinstance(v[1], bool)]
    n_rows = sum(v[0] for _, v in counted)
    with capsys.disabled():
        print(f"\n{what}: {len(counted)} tables ({n_rows} user rows) and "
              f"{len(rows) - len(counted)} sequences compared with {old}, every {old} row kept as it was: "
              + ", ".join(f"{r.split('.')[-1]} {v[0]}" for r, v in counted))


def _kept(db, old, after):
    """Every user row of the old database is in db as it was: tables a refresh
    appends to keep their old rows, the others are equal."""
    for rel, before in old["rows"].items():
        if rel in MIGRATED:
            assert after[rel][0] == before[0], f"{rel}: rows kept ({MIGRATED[rel]})"
        elif rel in APPENDED:
            # the README's refresh after the update appends one run; the old runs are kept as they were
            assert after[rel][0] > before[0] or rel != "icu_predict.refresh_log"
            assert _snapshot_where(db, old, rel, f"{APPENDED[rel]} <= {old['last'][rel]}") == before, rel
        elif rel == "icu_predict.refresh_log_run_id_seq":
            assert after[rel][0] == before[0] + 1
        else:
            assert after[rel] == before, f"{rel}: user rows changed"


def test_new_library_serves_the_released_version(old):
    """Before ALTER EXTENSION UPDATE: the old version's SQL objects on the new
    library refresh (the three CALL refresh() of the history) and score."""
    db = old["db"]
    assert _version(db) == old["version"]
    assert _run("SELECT count(*), bool_and(succeeded) FROM icu_predict.refresh_log", db) == [(len(REFS), True)]
    assert _run("SELECT count(DISTINCT reference_time) FROM icu_predict.refresh_log", db) == [(len(REFS),)]
    assert _run("SELECT probin FROM pg_proc WHERE proname = 'model_predict' "
                "AND pronamespace = 'icu_predict'::regnamespace", db) == [("$libdir/icu_predict",)]
    s = old["scores"]
    assert len(s["predict"]) == 6 and all(r[1] is not None and 0 < r[1] < 1 for r in s["predict"])
    # the user's deployments hold in the old version: hosp_risk 1 (2 was rolled back), hosp_stay 1
    assert ("icu_admission", 48, "hosp_risk", "1", "deployed") in s["active_model"]
    assert ("icu_stay", None, "hosp_stay", "1", "deployed") in s["active_model"]
    # the 7-day slot on the model that version shipped
    assert (*UNPINNED, "default_risk_7d_xgb", "synthetic-42-20000", "builtin") in s["active_model"]
    assert len(s["patient_status"]) > 0


def test_update_in_place_keeps_every_user_row_and_score(old, fresh, capsys, tmp_path):
    db = old["db"]
    # README "Upgrading", step 2, as written
    out = _sh(_readme_blocks()[0], tmp_path, DB=db)
    version = _version(db)
    assert version == CURRENT and version in out.split()
    assert _run("SELECT succeeded FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1", db) == [(True,)]

    # every user row kept
    _kept(db, old, _snapshot(db, old["relations"]))
    assert old["rows"]["icu_predict.lab_result"][0] == 10 and old["rows"]["icu_predict.model"][0] == 3
    if _vkey(old["version"]) >= (0, 2, 0):
        assert old["rows"]["icu_predict.diagnosis"][0] == 3 and old["rows"]["icu_predict.admission_bmi"][0] == 2
        assert old["rows"]["icu_predict.feature"][0] == 2      # esr_local and the edited shipped crp
    _report(capsys, f"update in place from {old['version']}", old["rows"], old["version"])

    # the edit of the shipped model is kept and now recorded, so pg_dump keeps it
    assert _run("SELECT name, metrics->'local_validation'->>'n' FROM icu_predict.shipped_model_edit", db) == [
        ("default_risk_7d_xgb", "412")]
    assert _run("SELECT metrics->'local_validation'->>'n' FROM icu_predict.model "
                "WHERE name = 'default_risk_7d_xgb' ORDER BY model_id", db) == [(None,), ("412",)]
    # the models the old version shipped are still shipped rows, under their ids
    assert _run("SELECT model_id, name, version, builtin FROM icu_predict.model WHERE model_id > 0 AND builtin "
                "ORDER BY model_id", db) == [
        (1, "default_risk_48h_xgb", "synthetic-42-20000", True), (2, "default_risk_7d_xgb", "synthetic-42-20000", True),
        (3, "default_stay_xgb", "synthetic-42-20000", True)]

    # scores identical in the pinned slots, the unpinned one on the new default; the views refresh
    _scores_after_update(db, old["scores"])
    assert _run("SELECT count(*) > 0 FROM icu_predict.capacity_forecast", db) == [(True,)]
    assert _run("SELECT count(*) > 0 FROM icu_bi.capacity_forecast", db) == [(True,)]

    # the extension's objects, with their signatures, equal a fresh install; the
    # shipped rows too, except the one the hospital edited
    a = [x for x in _catalog(db) if not x.startswith(EDITED)]
    b = [x for x in _catalog(fresh) if not x.startswith(EDITED)]
    _same_catalog(a, b)
    with capsys.disabled():
        print(f"update in place from {old['version']}: {len(a)} catalog lines equal a fresh {version} install")


def _snapshot_where(db, old, rel, where):
    (r,) = [x for x in old["relations"] if x[0] == rel]
    c = _connect(db)
    try:
        with c.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute("SET extra_float_digits = 3")
            cur.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                        f"  FROM (SELECT {', '.join(r[3])} FROM ONLY {rel} WHERE {where}) t")
            return cur.fetchone()
    finally:
        c.close()


def test_dump_restored_into_the_old_version_and_updated(version, fresh, capsys, tmp_path):
    """README "Upgrading", the pg_dump block as written: the dump taken on the
    old version restored into the old version on the new files, then updated.
    The edit of a shipped row is not in a 0.1.0 dump (README says to update
    before dumping to keep it); from 0.2.0 on it is."""
    src = _make_old_db(version)
    new = "icu_upg_new_" + os.urandom(4).hex()
    old = src
    try:
        _sh(_readme_blocks()[1], tmp_path, OLD_DB=src["db"], NEW_DB=new)
        assert _version(src["db"]) == version, "the old database is left as it was"
        assert _version(new) == CURRENT
        _kept(new, old, _snapshot(new, old["relations"]))
        _report(capsys, f"pg_dump on {version}, restored and updated", old["rows"], version)
        # 0.1.0 never dumped shipped rows, so its dump cannot hold the edit of one (README)
        assert _run("SELECT metrics ? 'local_validation' FROM icu_predict.model "
                    "WHERE name = 'default_risk_7d_xgb' AND version = 'synthetic-42-20000'", new) == [
            (version != "0.1.0",)]
        _scores_after_update(new, old["scores"])
        _same_catalog([x for x in _catalog(new) if not x.startswith(EDITED)],
                      [x for x in _catalog(fresh) if not x.startswith(EDITED)])
    finally:
        scratch_db.drop(new)
        scratch_db.drop(src["db"])


def test_plain_restore_of_an_old_dump_into_the_current_version(version, fresh, capsys, tmp_path):
    """README: a plain pg_restore of an old version's dump into an empty
    database creates the extension at the current version and keeps every old
    row (the edit of a shipped row is not in a 0.1.0 dump)."""
    src = _make_old_db(version)
    dump = tmp_path / "icu_010.dump"
    target = scratch_db.create("icu_upg_plain_", extension=False)
    try:
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), src["db"]], check=True)
        subprocess.run(["pg_restore", "--exit-on-error", "-d", target, str(dump)], check=True,
                       capture_output=True)
        assert _version(target) == CURRENT
        after = _snapshot(target, src["relations"])
        for rel, before in src["rows"].items():
            assert after[rel][0] == before[0] if rel in MIGRATED else after[rel] == before, rel
        _report(capsys, f"plain pg_restore of the {version} dump", src["rows"], version)
        assert _run("SELECT metrics ? 'local_validation' FROM icu_predict.model "
                    "WHERE name = 'default_risk_7d_xgb' AND version = 'synthetic-42-20000'", target) == [
            (version != "0.1.0",)]
        _scores_after_update(target, src["scores"])
    finally:
        scratch_db.drop(target)
        scratch_db.drop(src["db"])


def test_dump_of_the_updated_database_keeps_shipped_model_edits(old, tmp_path):
    """After the update, a dump and a plain restore (CREATE EXTENSION at the
    current version) keep the user's rows and the edit of the shipped row."""
    db = old["db"]
    if _version(db) != CURRENT:
        _run("ALTER EXTENSION icu_predict UPDATE", db)
    dump = tmp_path / "icu_new.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), db], check=True)
    target = scratch_db.create("icu_upg_rst_", extension=False)
    try:
        subprocess.run(["pg_restore", "--exit-on-error", "-d", target, str(dump)], check=True,
                       capture_output=True)
        assert _snapshot(target, old["relations"]) == _snapshot(db, old["relations"])
        assert _run("SELECT model_id, metrics->'local_validation'->>'n', builtin FROM icu_predict.model "
                    "WHERE name = 'default_risk_7d_xgb' AND version = 'synthetic-42-20000'", target) == [
            (2, "412", True)]
        assert _run("SELECT count(*) FROM icu_predict.shipped_model_edit", target) == [(1,)]
        assert _scores(target)["active_model"] == _scores(db)["active_model"]
    finally:
        scratch_db.drop(target)


def test_a_pinned_shipped_model_survives_newer_defaults(version, tmp_path):
    """A hospital that deployed a shipped default model (a pin) keeps it when
    a later version ships newer defaults, in place and through the README's
    pg_dump block: the data file keeps every model an earlier version shipped,
    so the dump's deployment finds its row (without it the restore failed on
    model_deployment_model_fkey), and the unpinned slots move to the newest
    shipped models.  0.1.0's deploy() of the model a slot already fell back
    to logged nothing, so there is no pin to keep: that slot moves too
    (CHANGELOG: deploy() it again after the update to keep it)."""
    src = scratch_db.create("icu_upg_pin_", extension=False)
    new = "icu_upg_pin_new_" + os.urandom(4).hex()
    try:
        with _released_default_models(version):
            _run(f"CREATE EXTENSION icu_predict VERSION '{version}' CASCADE", src)
        _run("SELECT icu_predict.deploy('default_risk_48h_xgb', 'synthetic-42-20000')", src)
        pinned = _run("SELECT model_id FROM icu_predict.model WHERE name = 'default_risk_48h_xgb' "
                      "AND version = 'synthetic-42-20000'", src)
        logged = _run("SELECT count(*) FROM icu_predict.model_deployment", src)[0][0]
        assert logged == (0 if version == "0.1.0" else 1)
        slot48 = (("icu_admission", 48, "default_risk_48h_xgb", "synthetic-42-20000", "deployed") if logged
                  else ("icu_admission", 48, *_newest_shipped("icu_admission", 48), "builtin"))
        _sh(_readme_blocks()[1], tmp_path, OLD_DB=src, NEW_DB=new)
        _run("ALTER EXTENSION icu_predict UPDATE", src)
        for db in (src, new):
            assert _version(db) == CURRENT
            active = _run("SELECT kind, horizon_hours, model_id, name, version, source FROM icu_predict.active_model "
                          "ORDER BY kind, horizon_hours", db)
            assert [r[:2] + r[3:] for r in active] == [
                slot48,
                ("icu_admission", 168, *_newest_shipped("icu_admission", 168), "builtin"),
                ("icu_stay", None, *_newest_shipped("icu_stay", None), "builtin")], (db, active)
            assert (active[0][2] == pinned[0][0]) == bool(logged)
            assert _run("SELECT builtin FROM icu_predict.model WHERE model_id = %d" % pinned[0][0], db) == [(True,)]
            # the views flag the synthetic default as such, pinned or not
            assert _run("SELECT synthetic_default FROM icu_predict.active_model WHERE horizon_hours = 48", db) == [
                (True,)]
    finally:
        scratch_db.drop(new)
        scratch_db.drop(src)


def test_update_notices_a_user_feature_named_like_a_shipped_one():
    """A 0.1.0 hospital with its own feature "esr" (a name 0.2.0 ships): the
    update keeps that row and its mapping, does not install the shipped one,
    and says so in a message that names the feature and how to adopt the
    shipped definition (a WARNING: PostgreSQL raises client_min_messages to
    warning while it runs an extension script, so a NOTICE would not reach
    the DBA).  Features without such a clash get no message."""
    db = scratch_db.create("icu_upg_esr_", extension=False)
    try:
        _run("CREATE EXTENSION icu_predict VERSION '0.1.0' CASCADE", db)
        _run("""INSERT INTO icu_predict.feature (name, loinc, description, unit, plausible_min, plausible_max)
                VALUES ('esr', NULL, 'BSE (local method)', 'mm/h', 0, 150);
                INSERT INTO icu_predict.lab_map (local_code, unit, feature, factor) VALUES ('BSE', 'mm/h', 'esr', 1)""", db)
        c = _connect(db)
        try:
            with c.cursor() as cur:
                cur.execute("ALTER EXTENSION icu_predict UPDATE")
            notices = [n for n in c.notices if "shipped feature" in n]
        finally:
            c.close()
        assert len(notices) == 1, c.notices
        assert notices[0].startswith("WARNING:") and 'feature "esr"' in notices[0] and "is kept" in notices[0]
        assert "HINT:" in notices[0] and "SET name = 'esr_local' WHERE name = 'esr'" in notices[0]
        assert _run("""SELECT description, plausible_max, loinc, builtin, replaces
                         FROM icu_predict.feature WHERE name = 'esr'""", db) == [
            ("BSE (local method)", 150.0, None, False, None)]
        assert _run("SELECT feature, factor FROM icu_predict.lab_map WHERE local_code = 'BSE'", db) == [("esr", 1.0)]
        # the other new features are installed as shipped, with the LOINC codes of 0.2.0
        assert _run("""SELECT count(*), bool_and(builtin) FROM icu_predict.feature
                        WHERE name IN ('sodium', 'il8', 'il10', 'tnf_alpha')""", db) == [(4, True)]
        assert _run("SELECT loinc FROM icu_predict.feature WHERE name = 'tnf_alpha'", db) == [("3074-2",)]
    finally:
        scratch_db.drop(db)
