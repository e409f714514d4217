"""The rules Python repeats (model/spec.py) are the extension's: the stat names,
in order, and the longest feature name.

icu_predict.lab_stats() and icu_predict.feature_name_max_length() are the
definitions (C, extension/src/common/rules.c).  The feature
catalogue's own limit is checked directly: a name of FEATURE_NAME_MAX
characters is taken, one character more is refused.  The covariates, which
Python writes as SQL because the extension has no function that returns
them encoded, are compared with the values the C runtime reads."""
import json

import psycopg2
import pytest

from model import spec
from model import tasks as T


def _exists(conn, signature):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_catalog.to_regprocedure(%s) IS NOT NULL", (signature,))
        return cur.fetchone()[0]


def _needs(conn, signature):
    assert _exists(conn, signature), f"{signature} is missing from the installed extension"


def test_stat_names_are_the_extensions(conn):
    _needs(conn, "icu_predict.lab_stats()")
    with conn.cursor() as cur:
        cur.execute("SELECT s FROM icu_predict.lab_stats() WITH ORDINALITY AS t(s, i) ORDER BY i")
        assert tuple(r[0] for r in cur.fetchall()) == spec.STATS


def test_feature_name_limit_is_the_extensions(conn):
    _needs(conn, "icu_predict.feature_name_max_length()")
    with conn.cursor() as cur:
        cur.execute("SELECT icu_predict.feature_name_max_length()")
        assert cur.fetchone()[0] == spec.FEATURE_NAME_MAX


def test_catalogue_takes_names_up_to_the_limit(conn):
    ok = "f" * spec.FEATURE_NAME_MAX
    too_long = ok + "x"
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO icu_predict.feature (name, description, unit, plausible_min, plausible_max) "
                        "VALUES (%s, 'limit test', 'U', 0, 1)", (ok,))
            cur.execute("SELECT icu_predict.lab_value(icu_predict.lab_panel(1::bigint, %s, 0.5::float8, "
                        "'2020-01-01 00:00+00'::timestamptz, '2020-01-02 00:00+00'::timestamptz), %s, 'last')",
                        (ok, ok))
            assert cur.fetchone()[0] == 0.5
            cur.execute("SAVEPOINT longer")
            with pytest.raises(psycopg2.errors.CheckViolation):
                cur.execute("INSERT INTO icu_predict.feature (name, description, unit, plausible_min, "
                            "plausible_max) VALUES (%s, 'limit test', 'U', 0, 1)", (too_long,))
            cur.execute("ROLLBACK TO SAVEPOINT longer")
    finally:
        conn.rollback()
        conn.autocommit = True


COVARIATE_MODEL = {"format": "linear", "link": "logit", "intercept": -2.0, "inputs": [
    {"covariate": "age_years", "impute": 60, "coef": 0.02},
    {"covariate": "sex_male", "impute": 0.5, "coef": 0.8},
    {"covariate": "hours_since_admission", "impute": 24, "coef": 0.01}]}


def test_covariates_of_the_tasks_are_the_runtimes(conn):
    """model/tasks.py writes the covariates as SQL (the extension offers no
    function that returns them encoded); the model runtime encodes them in C
    (score_panel.c) from predict()'s raw admission values.  Both must give
    the same numbers: compared through explain() (the value C read) and
    through predict() (the risk of a covariate-only model)."""
    as_of = "2020-04-03 08:00+00"
    inputs = [{"covariate": c} for c in T.RISK_COVARIATES]
    assert [i["covariate"] for i in COVARIATE_MODEL["inputs"]] == list(T.RISK_COVARIATES)
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("""
                INSERT INTO icu_predict.admission (admission_id, patient_id, admitted_at, age_years, sex) VALUES
                    (901, 'r1', '2020-04-01 10:00+00', 71, 'male'),
                    (902, 'r2', '2020-04-02 23:30+00', 44, 'female'),
                    (903, 'r3', '2020-03-20 06:15+00', 0, 'other'),
                    (904, 'r4', '2020-04-03 08:00+00', 125, 'unknown')""")
            cur.execute("INSERT INTO icu_predict.model (name, version, kind, format, horizon_hours, spec) "
                        "VALUES ('rules_cov', '1', 'icu_admission', 'linear', 48, %s)",
                        (json.dumps(COVARIATE_MODEL),))
            cur.execute("SELECT icu_predict.deploy('rules_cov', '1')")
            cols = ", ".join(T._input_sql(i, panel="NULL", as_of="p.as_of") for i in inputs)
            cur.execute(f"SELECT a.admission_id, a.age_years, a.sex, {cols} FROM icu_predict.admission a "
                        "CROSS JOIN (SELECT %s::timestamptz AS as_of) p "
                        "WHERE a.admission_id BETWEEN 901 AND 904 ORDER BY 1", (as_of,))
            rows = cur.fetchall()
            assert len({r[4] for r in rows}) == 3, "male, female/other and unknown encode differently"
            for aid, age, sex, *python in rows:
                cur.execute("SELECT input, value FROM icu_predict.explain(NULL::icu_predict.lab_panel, %s, %s, "
                            "%s, NULL, 'rules_cov', '1', top => 3)", (float(age), sex, python[2]))
                c_values = dict(cur.fetchall())
                assert [c_values[i["covariate"]] for i in inputs] == python, (aid, sex)
                cur.execute("SELECT risk FROM icu_predict.predict(%s, %s)", (aid, as_of))
                extension_risk = cur.fetchone()[0]
                cur.execute("SELECT icu_predict.model_predict('rules_cov', '1', %s::float8[])", (python,))
                assert abs(cur.fetchone()[0] - extension_risk) <= 1e-12, (aid, sex)
    finally:
        conn.rollback()
        conn.autocommit = True


def test_covariate_names_are_the_extensions(conn):
    """model/spec.py's covariate and comorbidity-group names are those of the
    C runtime (model_covariates(), comorbidity_groups(), elixhauser_groups())."""
    _needs(conn, "icu_predict.model_covariates()")
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM icu_predict.model_covariates()")
        assert tuple(r[0] for r in cur.fetchall()) == spec.COVARIATES
        cur.execute("SELECT name FROM icu_predict.comorbidity_groups()")
        assert tuple(r[0] for r in cur.fetchall()) == spec.COMORBIDITY_GROUPS
        cur.execute("SELECT name FROM icu_predict.elixhauser_groups()")
        assert tuple(r[0] for r in cur.fetchall()) == spec.ELIXHAUSER_GROUPS
