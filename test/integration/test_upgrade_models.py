"""The default models as data (extension/sql/25_default_model.sql): what
load_default_models() does at CREATE EXTENSION and at ALTER EXTENSION UPDATE,
and how shipped rows stay apart from the user's through pg_dump/pg_restore.

An update to a version that ships other default models is simulated by
changing the shipped rows the way an older version would have left them and
running the loader, as the next upgrade script will.  Outside an extension
script every guard of shipped rows refuses (installing_extension(), which is
PostgreSQL's creating_extension: no session setting switches it), so these
simulations replace installing_extension() in their scratch database by one
that reads a test-only setting (SIMULATE_SCRIPT; SCRIPT_ON / SCRIPT_OFF)."""
import contextlib
import json
import pathlib
import subprocess

import psycopg2
import pytest

import scratch_db

SIMULATE_SCRIPT = """CREATE OR REPLACE FUNCTION icu_predict.installing_extension() RETURNS boolean
    LANGUAGE sql STABLE AS $$SELECT coalesce(current_setting('icu_test.in_script', true), '') = 'on'$$"""
SCRIPT_ON = "SELECT set_config('icu_test.in_script', 'on', false)"
SCRIPT_OFF = "SELECT set_config('icu_test.in_script', '', false)"

REPO = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = json.loads((REPO / "extension" / "icu_predict_default_models.json").read_text())["models"]
# below every shipped id: where a future version's models go
NEXT_ID = min(m["model_id"] for m in SHIPPED) - 1


def _newest(kind, horizon):
    """The shipped model the builtin fallback picks for a slot (negative ids
    newer than positive ones, lower ones newer)."""
    slot = [m for m in SHIPPED if m["kind"] == kind and m["horizon_hours"] == horizon]
    return max(slot, key=lambda m: (m["model_id"] < 0, -(m["model_id"] + 1) if m["model_id"] < 0 else m["model_id"]))

USER_RISK = """INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) VALUES
  ('u_risk', '1', 'icu_admission', 'linear', 48,
   '{"format": "linear", "link": "logit", "intercept": -2,
     "inputs": [{"feature": "crp", "stat": "last", "impute": 0, "coef": 0.01}]}')"""


@pytest.fixture
def db():
    name = scratch_db.create("icu_dm_")
    yield name
    scratch_db.drop(name)


@contextlib.contextmanager
def _cursor(db):
    c = psycopg2.connect(dbname=db)
    c.autocommit = True
    try:
        with c.cursor() as cur:
            yield cur
    finally:
        c.close()


def _all(cur, sql, args=None):
    cur.execute(sql, args)
    return cur.fetchall()


def test_create_extension_loads_the_data_file_under_its_fixed_ids(db):
    with _cursor(db) as cur:
        rows = _all(cur, "SELECT model_id, name, version, builtin, spec FROM icu_predict.model ORDER BY model_id")
        assert [(r[0], r[1], r[2], r[3]) for r in rows] == \
            [(m["model_id"], m["name"], m["version"], True) for m in sorted(SHIPPED, key=lambda m: m["model_id"])]
        assert all(r[4] == m["spec"] for r, m in zip(rows, sorted(SHIPPED, key=lambda m: m["model_id"])))
        # user models continue after the shipped ids
        cur.execute(USER_RISK + " RETURNING model_id")
        assert cur.fetchone()[0] == max(m["model_id"] for m in SHIPPED) + 1
        # a second load changes nothing
        assert sorted(r[1] for r in _all(cur, "SELECT * FROM icu_predict.load_default_models()")) == \
            sorted(m["name"] for m in SHIPPED)
        assert {r[0] for r in _all(cur, "SELECT action FROM icu_predict.load_default_models()")} == {"kept"}


def test_update_keeps_deployments_and_retires_models_no_longer_shipped(db):
    with _cursor(db) as cur:
        cur.execute(SIMULATE_SCRIPT)
        cur.execute("SET client_min_messages = warning")
        cur.execute(USER_RISK)
        cur.execute("SELECT icu_predict.deploy('u_risk', '1')")
        # as an older version would have left it: a shipped model this version
        # no longer ships, deployed by the hospital, and a shipped model missing
        cur.execute(SCRIPT_ON)
        cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, builtin, spec)
                       SELECT 'default_stay_old', 'synthetic-1', kind, format, horizon_hours, true, spec
                         FROM icu_predict.model WHERE model_id = 3 RETURNING model_id""")
        retired = cur.fetchone()[0]
        cur.execute("DELETE FROM icu_predict.model WHERE model_id = 2")
        cur.execute(SCRIPT_OFF)
        # deployed by the hospital (the first deploy makes the builtin fallback's pick explicit)
        cur.execute("SELECT icu_predict.deploy('default_stay_xgb', 'synthetic-42-20000')")
        cur.execute("SELECT icu_predict.deploy('default_stay_old', 'synthetic-1')")
        log = _all(cur, "SELECT * FROM icu_predict.model_deployment ORDER BY deployment_id")
        deployed = "SELECT * FROM icu_predict.active_model WHERE source = 'deployed' ORDER BY kind, horizon_hours"
        active = _all(cur, deployed)

        cur.execute(SCRIPT_ON)
        actions = {(r[1], r[3]) for r in _all(cur, "SELECT * FROM icu_predict.load_default_models()")}
        cur.execute(SCRIPT_OFF)
        assert ("default_risk_7d_xgb", "installed") in actions
        assert ("default_stay_old", "no longer shipped: kept as a user model") in actions
        assert _all(cur, "SELECT builtin FROM icu_predict.model WHERE model_id = %s", (retired,)) == [(False,)]
        assert _all(cur, "SELECT model_id, builtin FROM icu_predict.model WHERE name = 'default_risk_7d_xgb' "
                         "AND version = 'synthetic-42-20000'") == [(2, True)]
        # the log and what it made active are untouched
        assert _all(cur, "SELECT * FROM icu_predict.model_deployment ORDER BY deployment_id") == log
        assert _all(cur, deployed) == active
        assert ("icu_stay", None, retired, "default_stay_old", "synthetic-1") in [r[:5] for r in active]


def _ship(cur, model_id, like_id, version):
    """A model a future version ships under model_id, for the slot of model like_id."""
    cur.execute(SCRIPT_ON)
    cur.execute("""INSERT INTO icu_predict.model (model_id, name, version, kind, format, horizon_hours, builtin, spec)
                   SELECT %s, name, %s, kind, format, horizon_hours, true, spec
                     FROM icu_predict.model WHERE model_id = %s""", (model_id, version, like_id))
    cur.execute(SCRIPT_OFF)


def _active(cur, kind, horizon):
    return _all(cur, "SELECT model_id, source FROM icu_predict.active_model "
                     "WHERE kind = %s AND horizon_hours IS NOT DISTINCT FROM %s", (kind, horizon))


def test_the_builtin_fallback_is_the_newest_shipped_model(db):
    """0.2.0: the fallback took the highest model_id, but shipped ids after
    the 0.1.0 models (1, 2, 3) are -1, -2, ...: a newer shipped model of a
    slot lost to the older one.  The data file ships the 0.1.0 models and
    newer ones (negative ids) for every slot."""
    with _cursor(db) as cur:
        cur.execute(SIMULATE_SCRIPT)
        newest = _newest("icu_admission", 48)["model_id"]
        assert newest < 0 and any(m["model_id"] == 1 for m in SHIPPED)
        assert _active(cur, "icu_admission", 48) == [(newest, "builtin")]
        _ship(cur, NEXT_ID, 1, "next-1")
        assert _active(cur, "icu_admission", 48) == [(NEXT_ID, "builtin")]
        _ship(cur, NEXT_ID - 1, 1, "next-2")
        assert _active(cur, "icu_admission", 48) == [(NEXT_ID - 1, "builtin")]
        # a positive id is from the 0.1.0 range: older than any negative one
        _ship(cur, max(m["model_id"] for m in SHIPPED) + 1, 1, "old-4")
        assert _active(cur, "icu_admission", 48) == [(NEXT_ID - 1, "builtin")]
        # other slots keep theirs
        assert _active(cur, "icu_admission", 168) == [(_newest("icu_admission", 168)["model_id"], "builtin")]
        assert _active(cur, "icu_stay", None) == [(_newest("icu_stay", None)["model_id"], "builtin")]


def test_deploying_the_builtin_fallback_pins_the_slot(db):
    """0.2.0: deploy() of the builtin model a slot fell back to was a no-op
    with no log row, so an update shipping a newer builtin model for the slot
    changed the hospital's active model without anyone deploying it."""
    with _cursor(db) as cur:
        cur.execute(SIMULATE_SCRIPT)
        m48, m168 = _newest("icu_admission", 48), _newest("icu_admission", 168)
        cur.execute("SELECT model_id FROM icu_predict.deploy(%s, %s)", (m48["name"], m48["version"]))
        assert cur.fetchall() == [(m48["model_id"],)]
        log = _all(cur, "SELECT kind, model_id, rolled_back_at FROM icu_predict.model_deployment")
        assert log == [("icu_admission", m48["model_id"], None)]
        assert _active(cur, "icu_admission", 48) == [(m48["model_id"], "deployed")]
        # deploying it again, now that it is deployed, logs nothing more
        cur.execute("SELECT icu_predict.deploy(%s, %s)", (m48["name"], m48["version"]))
        assert _all(cur, "SELECT count(*) FROM icu_predict.model_deployment") == [(1,)]
        # an update ships a newer model for both risk slots: the pinned one stays
        _ship(cur, NEXT_ID, m48["model_id"], "next-1")
        _ship(cur, NEXT_ID - 1, m168["model_id"], "next-1")
        assert _active(cur, "icu_admission", 48) == [(m48["model_id"], "deployed")]
        assert _active(cur, "icu_admission", 168) == [(NEXT_ID - 1, "builtin")]
        # rolling the pin back hands the slot to the newest shipped model
        cur.execute("SELECT model_id FROM icu_predict.rollback('icu_admission')")
        assert cur.fetchall() == [(NEXT_ID,)]


def test_a_changed_shipped_row_is_not_overwritten(db):
    with _cursor(db) as cur:
        cur.execute(SIMULATE_SCRIPT)
        cur.execute(SCRIPT_ON)
        cur.execute("UPDATE icu_predict.model SET version = 'edited' WHERE model_id = 1")
        cur.execute(SCRIPT_OFF)
        cur.execute("SET client_min_messages = error")
        cur.execute(SCRIPT_ON)
        rows = {r[0]: r[3] for r in _all(cur, "SELECT * FROM icu_predict.load_default_models()")}
        cur.execute(SCRIPT_OFF)
        assert rows[1] == "skipped: model_id taken"
        # the changed row is the user's now, and dumped with the user's models
        assert _all(cur, "SELECT name, version, builtin FROM icu_predict.model WHERE model_id = 1") == \
            [("default_risk_48h_xgb", "edited", False)]


def test_shipped_rows_keep_their_identity(db):
    with _cursor(db) as cur:
        for sql in ("DELETE FROM icu_predict.model WHERE model_id = 1",
                    "UPDATE icu_predict.model SET version = 'mine' WHERE model_id = 1",
                    "UPDATE icu_predict.model SET spec = spec || '{\"base_score\": 0.9}' WHERE model_id = 1"):
            with pytest.raises(psycopg2.Error) as e:
                cur.execute(sql)
            assert e.value.pgcode == "42501", sql
        # training and metrics can be edited, and the edit is recorded
        cur.execute("UPDATE icu_predict.model SET metrics = metrics || '{\"local\": 1}' WHERE model_id = 1")
        assert _all(cur, "SELECT model_id, name, metrics->>'local' FROM icu_predict.shipped_model_edit") == \
            [(1, "default_risk_48h_xgb", "1")]
        # a user's own rows are not guarded
        cur.execute(USER_RISK)
        cur.execute("DELETE FROM icu_predict.model WHERE name = 'u_risk'")
        # the loader is superuser-only: it reads a server file
        assert _all(cur, "SELECT has_function_privilege('public', 'icu_predict.load_default_models(boolean)', "
                         "'EXECUTE')") == [(False,)]


def test_edits_of_shipped_rows_survive_dump_and_restore(db, tmp_path):
    with _cursor(db) as cur:
        cur.execute("UPDATE icu_predict.model SET metrics = metrics || '{\"local\": {\"auroc\": 0.71}}', "
                    "training = training || '{\"note\": \"validated on 2021\"}' WHERE model_id = 3")
        cur.execute("UPDATE icu_predict.model SET metrics = metrics || '{\"local\": {\"auroc\": 0.72}}' "
                    "WHERE model_id = 3")
        cur.execute(USER_RISK)
        before = _all(cur, "SELECT model_id, name, version, builtin, training, metrics FROM icu_predict.model "
                           "ORDER BY model_id")
    dump = tmp_path / "m.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), db], check=True)
    target = scratch_db.create("icu_dm_rst_", extension=False)
    try:
        subprocess.run(["pg_restore", "--exit-on-error", "-d", target, str(dump)], check=True, capture_output=True)
        with _cursor(target) as cur:
            after = _all(cur, "SELECT model_id, name, version, builtin, training, metrics FROM icu_predict.model "
                              "ORDER BY model_id")
            assert after == before
            (edited,) = [r for r in after if r[0] == 3]
            assert edited[5]["local"] == {"auroc": 0.72} and edited[4]["note"] == "validated on 2021"
            assert _all(cur, "SELECT count(*) FROM icu_predict.shipped_model_edit") == [(1,)]
    finally:
        scratch_db.drop(target)
