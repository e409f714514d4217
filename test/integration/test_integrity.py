"""Integrity (issue 17): one bad row never stops the refresh, scores are never
non-finite, the registry's features cannot be pulled away, builtin rows and
replays are the owner's, the catalogue limit is checked at insert.

Each test reproduces a failure of 0.2.0 before these guards (named in its
docstring) and asserts the guarded behaviour.
"""
import os
import uuid

import psycopg2
import psycopg2.errors
import pytest

REF = "2020-04-03 08:00+00"

COHORT = """
SET timezone = 'UTC';
INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years) VALUES
    (1, 'p1', '2020-04-01 10:00+00', 70),
    (2, 'p2', '2020-04-02 10:00+00', 60);
INSERT INTO icu_predict.location_stay (admission_id, unit, unit_kind, started_at) VALUES
    (1, 'IC', 'icu', '2020-04-01 10:00+00'),
    (2, 'W1', 'ward', '2020-04-02 10:00+00');
INSERT INTO icu_predict.icu_capacity VALUES ('IC', '2020-01-01', 4, 6);
"""

LINEAR = """{"format":"linear","link":"logit","intercept":0,
  "inputs":[{"feature":"crp","stat":"last","impute":10,"coef":%s},
            {"covariate":"age_years","impute":60,"coef":%s}]}"""


def _xgb(leaf, trees=2):
    tree = ('{"tree_param":{"num_nodes":"3"},"left_children":[1,-1,-1],"right_children":[2,-1,-1],'
            '"split_indices":[0,0,0],"split_conditions":[50,%s,%s],"default_left":[1,0,0],'
            '"split_type":[0,0,0],"sum_hessian":[10,6,4]}' % (leaf, leaf))
    return ('{"format":"xgboost","inputs":[{"feature":"crp","stat":"last"}],'
            '"model":{"learner":{"learner_model_param":{"base_score":"5E-1","num_feature":"1","num_class":"0","num_target":"1"},'
            '"objective":{"name":"binary:logistic"},'
            '"gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"%d"},'
            '"trees":[%s]}}}}}' % (trees, ",".join([tree] * trees)))


def _connect(dbname, **kw):
    c = psycopg2.connect(dbname=dbname, **kw)
    c.autocommit = True
    return c


@pytest.fixture
def db(conn):
    """The module's database with the small cohort, emptied again afterwards."""
    with conn.cursor() as cur:
        cur.execute(COHORT)
    yield conn
    with conn.cursor() as cur:
        cur.execute("RESET icu_predict.reference_time")
        cur.execute("DELETE FROM icu_predict.model_deployment")
        cur.execute("DELETE FROM icu_predict.model WHERE NOT builtin")
        cur.execute("DELETE FROM icu_predict.admission")
        cur.execute("DELETE FROM icu_predict.icu_capacity")
        cur.execute("DELETE FROM icu_predict.feature WHERE NOT builtin")


def _refresh(cur, ref=REF):
    cur.execute("SET icu_predict.reference_time = %s", (ref,))
    cur.execute("CALL icu_predict.refresh()")
    cur.execute("""SELECT succeeded, error, patient_status_rows, quarantined_admissions, quarantine
                     FROM icu_predict.refresh_log ORDER BY run_id DESC LIMIT 1""")
    return cur.fetchone()


# --- admission quarantine ---------------------------------------------------

@pytest.mark.parametrize("admitted_at, reason", [
    # 0.2.0: refresh failed, 22023 lab_panel_series: from and until must be finite
    ("-infinity", "non-finite time"),
    # 0.2.0: refresh failed, 54000 lab_panel_series: 2458905 days is too long a stay
    ("4713-01-02 00:00+00 BC", "implausible: admitted before 1900"),
    # 0.2.0: 73,057 patient_status rows for one admission
    ("1820-04-01 00:00+00", "implausible: admitted before 1900"),
    # 0.2.0: 5,482 rows for one admission
    ("2005-04-01 00:00+00", "implausible: open for more than 3650 days"),
])
def test_implausible_open_admission_is_quarantined(db, admitted_at, reason):
    with db.cursor() as cur:
        assert _refresh(cur)[:4] == (True, None, 5, 0)
        cur.execute("""INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                       VALUES (3, 'p3', %s, 50)""", (admitted_at,))
        succeeded, error, rows, quarantined, quarantine = _refresh(cur)
        assert (succeeded, error) == (True, None)
        assert rows == 5                      # everyone else, as before; nothing of admission 3
        assert (quarantined, quarantine) == (1, f"{reason}: 1")
        cur.execute("SELECT count(*) FROM icu_predict.patient_status WHERE admission_id = 3")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT admission_id, reason FROM icu_predict.admission_quarantine")
        assert cur.fetchall() == [(3, reason)]
        cur.execute("SELECT quarantined_admissions, data_is_replay, last_run_failed FROM icu_bi.refresh_status")
        assert cur.fetchone() == (1, True, False)
        # corrected, the admission is used again
        cur.execute("UPDATE icu_predict.admission SET admitted_at = '2020-04-02 12:00+00' WHERE admission_id = 3")
        succeeded, _, rows, quarantined, quarantine = _refresh(cur)
        assert (succeeded, rows, quarantined, quarantine) == (True, 7, 0, None)


def test_plausible_long_stay_is_kept(db):
    """The rule's edge: open for 3650 days exactly is still used (3651 days of rows)."""
    with db.cursor() as cur:
        cur.execute("""INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years)
                       VALUES (3, 'p3', '2010-04-06 08:00+00', 50)""")
        succeeded, _, rows, quarantined, _ = _refresh(cur)
        assert (succeeded, quarantined) == (True, 0)
        cur.execute("SELECT count(*) FROM icu_predict.patient_status WHERE admission_id = 3")
        assert cur.fetchone()[0] == 3651
        cur.execute("""SELECT icu_predict.admission_quarantine_reason('2010-04-06 07:59+00', %s)""", (REF,))
        assert cur.fetchone()[0] == "implausible: open for more than 3650 days"


# --- non-finite scores ------------------------------------------------------

def test_linear_model_whose_margin_can_overflow_is_refused(db):
    """0.2.0 accepted finite coefficients of 1e308: NaN risk, band 'high', then
    refresh() failed in bed_demand."""
    spec = LINEAR % ("1e308", "-1e308")
    with db.cursor() as cur:
        with pytest.raises(psycopg2.errors.InvalidParameterValue) as e:
            cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                           VALUES ('overflow', '1', 'icu_admission', 'linear', 48, %s)""", (spec,))
        assert "beyond the float8 range" in str(e.value)
        # model_spec_check says the same as the insert
        with pytest.raises(psycopg2.errors.InvalidParameterValue) as e2:
            cur.execute("SELECT * FROM icu_predict.model_spec_check('icu_admission', 'linear', %s)", (spec,))
        assert e2.value.pgerror.splitlines()[0] == e.value.pgerror.splitlines()[0]
        # the same model with its inputs clipped has a finite bound: accepted
        clipped = spec.replace('"coef":1e308', '"clip":[0,1000],"coef":1e300') \
                      .replace('"coef":-1e308', '"clip":[0,125],"coef":-1e300')
        cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                       VALUES ('clipped', '1', 'icu_admission', 'linear', 48, %s)""", (clipped,))


def test_input_beyond_the_domain_is_an_error_not_a_probability(db):
    """A margin that overflows anyway (inputs beyond +-1e300) is an error (22003),
    never a probability of 1 or NaN (0.2.0: NaN)."""
    with db.cursor() as cur:
        cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                       VALUES ('plain', '1', 'icu_admission', 'linear', 48, %s)""", (LINEAR % ("1", "-1"),))
        cur.execute("SELECT icu_predict.model_predict('plain', '1', ARRAY[1e300, 60]::float8[])")
        assert cur.fetchone()[0] == 1.0
        with pytest.raises(psycopg2.errors.NumericValueOutOfRange) as e:
            cur.execute("SELECT icu_predict.model_predict('plain', '1', ARRAY[1e308, -1e308]::float8[])")
        assert 'model "plain" version "1"' in str(e.value)


def test_xgboost_leaves_that_overflow_float32_are_refused(db):
    """0.2.0 accepted leaves of 3e38 in two trees: the float32 sum was Infinity
    and the probability exactly 1.0."""
    with db.cursor() as cur:
        with pytest.raises(psycopg2.errors.InvalidParameterValue) as e:
            cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                           VALUES ('huge', '1', 'icu_admission', 'xgboost', 48, %s)""", (_xgb("3e38"),))
        assert "float32" in str(e.value)
        cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                       VALUES ('fine', '1', 'icu_admission', 'xgboost', 48, %s)""", (_xgb("0.5"),))
        cur.execute("SELECT icu_predict.model_predict('fine', '1', ARRAY[10]::float8[])")
        assert abs(cur.fetchone()[0] - 1 / (1 + 2.718281828459045 ** -1.0)) < 1e-6


# --- the registry's features ------------------------------------------------

def test_feature_a_model_reads_cannot_be_renamed_or_deleted(db):
    """0.2.0: renaming 'ferritin' turned a deployed model's input into 'missing'
    (risk 0.00884 -> 0.01766, no error), and model_spec_check accepted the
    stored spec that re-insertion rejected."""
    spec = """{"format":"linear","link":"logit","intercept":-2,
      "inputs":[{"feature":"tap_marker","stat":"last","impute":300,"clip":[1,5000],"transform":"log","mean":6,"scale":1,"coef":0.5}]}"""
    with db.cursor() as cur:
        cur.execute("""INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max)
                       VALUES ('tap_marker', 'a marker', 'ug/L', 0, 200000)""")
        cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                       VALUES ('ferr', '1', 'icu_admission', 'linear', 48, %s)""", (spec,))
        cur.execute("SELECT icu_predict.deploy('ferr', '1')")
        with pytest.raises(psycopg2.errors.ForeignKeyViolation) as e:
            cur.execute("UPDATE icu_predict.feature SET name = 'tap_marker_x' WHERE name = 'tap_marker'")
        assert 'feature "tap_marker" is read by model "ferr" version "1" (active)' in str(e.value)
        assert e.value.diag.message_hint
        with pytest.raises(psycopg2.errors.ForeignKeyViolation):
            cur.execute("DELETE FROM icu_predict.feature WHERE name = 'tap_marker'")
        # a range edit is no rename: allowed
        cur.execute("UPDATE icu_predict.feature SET plausible_max = 150000 WHERE name = 'tap_marker'")
        # the stored spec still validates as at insert
        cur.execute("""SELECT count(*) FROM icu_predict.model m,
                              icu_predict.model_spec_check(m.kind, m.format, m.spec) c
                        WHERE m.name = 'ferr' AND c.feature IN (SELECT name FROM icu_predict.feature)""")
        assert cur.fetchone()[0] == 1
        # a feature no model reads can be renamed and deleted
        cur.execute("""INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max)
                       VALUES ('tap_unused', 'unused', 'mg/L', 0, 10)""")
        cur.execute("UPDATE icu_predict.feature SET name = 'tap_unused2' WHERE name = 'tap_unused'")
        cur.execute("DELETE FROM icu_predict.feature WHERE name = 'tap_unused2'")


def test_catalogue_limit_is_refused_at_insert(db):
    """0.2.0 accepted feature 1,001 and then every panel failed (54000)."""
    with db.cursor() as cur:
        cur.execute("SELECT icu_predict.feature_catalogue_max(), count(*) FROM icu_predict.feature")
        limit, have = cur.fetchone()
        assert limit == 1000
        cur.execute("""INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max)
                       SELECT 'tap_f' || i, 'filler', 'mg/L', 0, 1 FROM generate_series(1, %s) i""",
                    (limit - have,))
        with pytest.raises(psycopg2.errors.ProgramLimitExceeded) as e:
            cur.execute("""INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max)
                           VALUES ('tap_one_more', 'filler', 'mg/L', 0, 1)""")
        assert "the most a lab panel can hold" in str(e.value)
        # the full catalogue still gives panels
        cur.execute("SELECT icu_predict.lab_panel(1::bigint, 'crp', 5::float8, now(), now()) IS NOT NULL")
        assert cur.fetchone()[0] is True


# --- builtin rows, replays, run_by ------------------------------------------

def test_builtin_guard_ignores_the_settable_setting(db):
    """0.2.0: any session could SET icu_predict_install.builtin = on and insert
    builtin rows (left out of pg_dump)."""
    with db.cursor() as cur:
        cur.execute("SET icu_predict_install.builtin = 'on'")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec, builtin)
                           VALUES ('fake', '1', 'icu_admission', 'linear', 48, %s, true)""", (LINEAR % ("1", "1"),))
        cur.execute("RESET icu_predict_install.builtin")
        cur.execute("SELECT icu_predict.installing_extension()")
        assert cur.fetchone()[0] is False


def test_the_setting_does_not_unlock_shipped_rows(db):
    """0.2.0: the guards of shipped model rows (shipped_model_guard,
    shipped_model_edit_record) and model_validate read the settable
    icu_predict_install.builtin: after SET ... = on a session could rename or
    delete a shipped model, and its edits of training or metrics were not
    recorded (so pg_dump lost them)."""
    with db.cursor() as cur:
        cur.execute("BEGIN")
        try:
            cur.execute("SET LOCAL icu_predict_install.builtin = 'on'")
            cur.execute("""INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec)
                           VALUES ('mine', '1', 'icu_admission', 'linear', 48, %s)""", (LINEAR % ("1", "1"),))
            for sql in ("UPDATE icu_predict.model SET version = 'mine' WHERE model_id = 1",
                        "UPDATE icu_predict.model SET name = 'mine' WHERE model_id = 1",
                        "UPDATE icu_predict.model SET spec = spec || '{\"base_score\": 0.9}' WHERE model_id = 1",
                        "UPDATE icu_predict.model SET horizon_hours = 24 WHERE model_id = 1",
                        "DELETE FROM icu_predict.model WHERE model_id = 1",
                        "UPDATE icu_predict.model SET builtin = true WHERE NOT builtin"):
                cur.execute("SAVEPOINT s")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege) as e:
                    cur.execute(sql)
                cur.execute("ROLLBACK TO SAVEPOINT s")
                assert "shipped" in str(e.value), sql
            cur.execute("SELECT name, version FROM icu_predict.model WHERE model_id = 1")
            assert cur.fetchone() == ("default_risk_48h_xgb", "synthetic-42-20000")
            # an edit of its metrics is recorded for pg_dump, setting or not
            cur.execute("UPDATE icu_predict.model SET metrics = metrics || '{\"local\": 1}' WHERE model_id = 1")
            cur.execute("SELECT model_id, metrics->>'local' FROM icu_predict.shipped_model_edit")
            assert cur.fetchall() == [(1, "1")]
        finally:
            cur.execute("ROLLBACK")


@pytest.fixture
def refresher_login(dbname):
    name = "integ_refresher_" + uuid.uuid4().hex[:8]
    password = os.environ.get("PGPASSWORD", "integ")
    admin = _connect(dbname)
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {name} LOGIN PASSWORD %s IN ROLE icu_refresher", (password,))
    yield name, password
    with admin.cursor() as cur:
        cur.execute(f"DROP ROLE {name}")
    admin.close()


def test_refresher_cannot_rewind_the_dashboards(db, dbname, refresher_login):
    """0.2.0: icu_refresher could SET icu_predict.reference_time and refresh(),
    and BI showed it as a fresh successful run; SET ROLE changed run_by."""
    name, password = refresher_login
    with db.cursor() as cur:
        cur.execute("SELECT current_user")
        owner = cur.fetchone()[0]
    c = _connect(dbname, user=name, password=password)
    try:
        with c.cursor() as cur:
            cur.execute("SET icu_predict.reference_time = '2019-01-01 00:00+00'")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege) as e:
                cur.execute("CALL icu_predict.refresh()")
            assert "only the owner of icu_predict" in str(e.value)
            cur.execute("RESET icu_predict.reference_time")
            cur.execute("CALL icu_predict.refresh()")
    finally:
        c.close()
    with db.cursor() as cur:
        cur.execute("""SELECT succeeded, is_replay, run_by FROM icu_predict.refresh_log
                        ORDER BY run_id DESC LIMIT 1""")
        assert cur.fetchone() == (True, False, name)
        # the owner may replay; it is marked as one, and run_by is the session user
        cur.execute("SET ROLE icu_refresher")
        cur.execute("SET icu_predict.reference_time = %s", (REF,))
        cur.execute("CALL icu_predict.refresh()")
        cur.execute("RESET ROLE")
        cur.execute("""SELECT succeeded, is_replay, run_by FROM icu_predict.refresh_log
                        ORDER BY run_id DESC LIMIT 1""")
        assert cur.fetchone() == (True, True, owner)
        cur.execute("SELECT data_is_replay FROM icu_bi.refresh_status")
        assert cur.fetchone()[0] is True


# --- found by the input fuzzer (test/fuzz/fuzz_inputs.py, target units) -----

@pytest.mark.parametrize("from_unit, to_unit, molar_mass", [
    ("mg/L", "mmol/L", 5e-324),          # a denormal molar mass: factor 1/(5e-324 * ...) = Infinity
    ("", "mosm/kg", 5e-324),
    ("mmol/L", "mg/L", 1e-320),           # a denormal factor: every value underflows
])
def test_a_conversion_factor_outside_double_is_refused(db, from_unit, to_unit, molar_mass):
    """0.2.0: unit_factor() returned Infinity (or a denormal) with no conversion
    problem reported, so a lab_map factor could be infinite."""
    with db.cursor() as cur:
        cur.execute("SELECT icu_predict.unit_factor(%s, %s, %s), icu_predict.unit_conversion_problem(%s, %s, %s)",
                    (from_unit, to_unit, molar_mass, from_unit, to_unit, molar_mass))
        factor, problem = cur.fetchone()
        assert factor is None
        assert "outside the range of a double" in problem
        with pytest.raises(psycopg2.errors.InvalidParameterValue) as e:
            cur.execute("SELECT icu_predict.unit_convert(1, %s, %s, %s)", (from_unit, to_unit, molar_mass))
        assert "outside the range of a double" in str(e.value)
        # an ordinary molar mass still converts
        cur.execute("SELECT round(icu_predict.unit_factor('mg/L', 'mmol/L', 113.12)::numeric, 8)")
        assert float(cur.fetchone()[0]) == pytest.approx(0.00884017)


@pytest.mark.parametrize("unit", [
    "m" + "\U0001F600" * 10,                # unknown symbol, cut at 40 bytes
    "mg/L{" + "\U0001F600" * 23 + "}",      # annotation cut at 39 bytes
    "\u00e9" * 60,                          # too long, quoted to 40 bytes
    "10*3/" + "\u20ac" * 28 + "{x}",        # reason cut at its buffer's end
])
def test_unit_reasons_are_valid_text(db, unit):
    """0.2.0: the reasons of unit_conversion_problem() (and the detail of
    unit_convert's error) were cut at a byte count, inside a multibyte
    character of the unit quoted in them: the server sent text that is not
    valid UTF-8 and the client could not decode it (UnicodeDecodeError)."""
    with db.cursor() as cur:
        for sql, args in (("SELECT icu_predict.unit_conversion_problem(%s, 'mg/L')", (unit,)),
                          ("SELECT icu_predict.unit_conversion_problem('mg/L', %s)", (unit,)),
                          ("SELECT icu_predict.unit_conversion_problem(%s, %s)", (unit, unit[::-1]))):
            cur.execute(sql, args)
            why = cur.fetchone()[0]
            assert why and why.startswith("unit \""), (sql, why)
            cur.execute("SELECT convert_from(convert_to(%s, 'UTF8'), 'UTF8') = %s", (why, why))
            assert cur.fetchone()[0] is True
        with pytest.raises(psycopg2.errors.InvalidParameterValue) as e:
            cur.execute("SELECT icu_predict.unit_convert(1, %s, 'mg/L')", (unit,))
        assert e.value.diag.message_detail.startswith("unit \"")
