"""Training rows for any outcome and any prediction schedule (model/config.py).

The rows follow the rules of the ICU task in model/tasks.py, with the
outcome and the prediction times as parameters:

* Prediction times per admission: the end of every calendar day (``daily``
  at 00:00, the panel from ``lab_panel_series`` as in tasks.risk_sql), a
  clock time every day (``daily`` at HH:MM, in icu_predict.day_zone()), every
  N hours from admission (``every``), fixed hours after admission
  (``landmarks``), or at each new result (``results``: every distinct
  result time of a usable lab row of the admission, lab_canonical, in
  (admission, end of the row span), the first ``max_per_admission`` of
  them; a result time shared by several labs is one prediction time).  The panel at a time t holds the labs resulted by t
  (``lab_panel`` aggregate as of t); covariates are the extension's
  (covariate_value), so hours_since_admission is t - admitted_at.
* Outcome time per admission, as known at the data end: the first ICU
  episode's start (``icu_admission``), the discharge of an admission that
  ended in death (``death``: admission.died_in_hospital), or the earliest
  time of a user table's event rows for the admission (``event``).
* A time t is a row while the patient is in hospital and the outcome has not
  happened yet: admitted_at < t < min(outcome, discharge, data end).
* Label 1: the outcome falls in (t, t + H].  Label 0 only when that is
  known: the patient left hospital by t + H without the outcome (for death:
  discharged alive), or t + H lies before the data end.  Rows whose outcome
  is unknown are left out, not counted as 0.

Python computes no feature: the SELECT list is tasks._select_inputs, the
same accessor calls as the ICU task.
"""
from __future__ import annotations

from . import tasks as T

EXT = T.EXT


def _quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def _table(name):
    return ".".join(_quote_ident(p) for p in name.split("."))


def outcome_at_sql(outcome):
    """SQL of the outcome time of admission ``a`` known by ``prm.data_end``."""
    kind = outcome["kind"]
    if kind == "icu_admission":
        return (f"(SELECT pg_catalog.min(e.started_at) FROM {EXT}.icu_episode e "
                f"WHERE e.admission_id = a.admission_id AND e.started_at <= prm.data_end)")
    if kind == "death":
        return ("CASE WHEN a.died_in_hospital AND a.discharged_at <= prm.data_end "
                "THEN a.discharged_at END")
    if kind == "event":
        return (f"(SELECT pg_catalog.min(ev.{_quote_ident(outcome['time_column'])}) "
                f"FROM {_table(outcome['table'])} ev "
                f"WHERE ev.{_quote_ident(outcome['admission_column'])} = a.admission_id "
                f"AND ev.{_quote_ident(outcome['time_column'])} > a.admitted_at "
                f"AND ev.{_quote_ident(outcome['time_column'])} <= prm.data_end)")
    raise ValueError(kind)


def _times_sql(schedule):
    """SQL (CTE body) of the prediction times: columns admission_id, as_of, panel."""
    k = schedule["kind"]
    if k == "daily" and schedule["at"] == "00:00":
        return f"""
    SELECT x.admission_id, u.panel, {EXT}.lab_as_of(u.panel) AS as_of
      FROM (SELECT s.admission_id,
                   {EXT}.lab_panel_series(s.admission_id, c.feature, c.value, c.resulted_at,
                                          s.admitted_at, s.until) AS panels
              FROM span s
              LEFT JOIN {EXT}.lab_canonical c
                ON c.admission_id = s.admission_id AND c.resulted_at <= s.until
             WHERE s.until > s.admitted_at
             GROUP BY s.admission_id, s.admitted_at, s.until) x
     CROSS JOIN LATERAL pg_catalog.unnest(x.panels) AS u(panel)""", []
    if k == "daily":
        gen = f"""
    SELECT s.admission_id, pg_catalog.timezone({EXT}.day_zone(), d::date + %s::time) AS as_of
      FROM span s
     CROSS JOIN LATERAL pg_catalog.generate_series(
            pg_catalog.timezone({EXT}.day_zone(), s.admitted_at)::date::timestamp,
            pg_catalog.timezone({EXT}.day_zone(), s.until)::date::timestamp,
            interval '1 day') AS d"""
        params = [schedule["at"]]
    elif k == "every":
        gen = """
    SELECT s.admission_id, t AS as_of
      FROM span s
     CROSS JOIN LATERAL pg_catalog.generate_series(
            s.admitted_at + pg_catalog.make_interval(secs => %s * 3600.0), s.until,
            pg_catalog.make_interval(secs => %s * 3600.0)) AS t"""
        params = [float(schedule["every_hours"])] * 2
    elif k == "results":
        # each distinct result time inside the span, the first N of them
        gen = f"""
    SELECT r.admission_id, r.as_of
      FROM (SELECT t.admission_id, t.as_of,
                   pg_catalog.row_number() OVER (PARTITION BY t.admission_id ORDER BY t.as_of) AS k
              FROM (SELECT DISTINCT c.admission_id, c.resulted_at AS as_of
                      FROM span s
                      JOIN {EXT}.lab_canonical c ON c.admission_id = s.admission_id
                     WHERE c.resulted_at > s.admitted_at AND c.resulted_at < s.until) t) r
     WHERE r.k <= %s"""
        params = [int(schedule.get("max_per_admission", 48))]
    else:
        gen = """
    SELECT s.admission_id, s.admitted_at + pg_catalog.make_interval(secs => h * 3600.0) AS as_of
      FROM span s
     CROSS JOIN LATERAL pg_catalog.unnest(%s::float8[]) AS h"""
        params = [[float(h) for h in schedule["landmarks_hours"]]]
    return f"""
    SELECT g.admission_id, p.panel, g.as_of
      FROM ({gen}) g
      JOIN span s ON s.admission_id = g.admission_id
     CROSS JOIN LATERAL (
            SELECT {EXT}.lab_panel(c.admission_id, c.feature, c.value, c.resulted_at, g.as_of) AS panel
              FROM {EXT}.lab_canonical c
             WHERE c.admission_id = g.admission_id AND c.resulted_at <= g.as_of) p
     WHERE g.as_of > s.admitted_at AND g.as_of < s.until""", params


def rows_sql(outcome, schedule, inputs):
    """SQL and parameters (data_end, horizon hours, schedule..., inputs...)."""
    cols, iparams = T._select_inputs(inputs, "d.panel", "d.as_of")
    times, tparams = _times_sql(schedule)
    sql = f"""
WITH prm AS (
    SELECT %s::timestamptz AS data_end, pg_catalog.make_interval(hours => %s) AS horizon
), known AS (
    SELECT a.admission_id, a.patient_id, a.admitted_at,
           {outcome_at_sql(outcome)} AS outcome_at,
           CASE WHEN a.discharged_at <= prm.data_end THEN a.discharged_at END AS left_at
      FROM {EXT}.admission a CROSS JOIN prm
     WHERE a.admitted_at <= prm.data_end
), span AS (
    SELECT k.*, LEAST(k.outcome_at, k.left_at, prm.data_end) AS until
      FROM known k CROSS JOIN prm
), days AS ({times}
)
SELECT k.admission_id, k.patient_id, k.admitted_at, d.as_of,
       (k.outcome_at IS NOT NULL AND k.outcome_at <= d.as_of + prm.horizon)::int AS label,
       {cols}
  FROM days d
  JOIN span k ON k.admission_id = d.admission_id
  JOIN {EXT}.admission a ON a.admission_id = d.admission_id
 CROSS JOIN prm
 WHERE d.as_of > k.admitted_at
   AND d.as_of < k.until
   AND (   k.outcome_at <= d.as_of + prm.horizon
        OR k.left_at <= d.as_of + prm.horizon
        OR d.as_of + prm.horizon <= prm.data_end)
 ORDER BY k.admitted_at, k.admission_id, d.as_of"""
    return sql, tparams + iparams


def rows(conn, outcome, schedule, inputs, end):
    """DataFrame of the rows (admission_id, patient_id, admitted_at, as_of,
    label, one column per input named by tasks.input_name)."""
    sql, params = rows_sql(outcome, schedule, inputs)
    return T._fetch(conn, sql, [end, int(outcome["horizon_hours"])] + params, inputs)


def event_rows_outside(conn, outcome, end):
    """(rows in the user's event table, rows that name no admission or fall
    outside (admitted_at, data end]): reported on the card, never silent."""
    if outcome["kind"] != "event":
        return None
    adm, tcol = _quote_ident(outcome["admission_column"]), _quote_ident(outcome["time_column"])
    with conn.cursor() as cur:
        cur.execute(f"""
            SELECT pg_catalog.count(*),
                   pg_catalog.count(*) FILTER (WHERE a.admission_id IS NULL
                                                 OR ev.{tcol} IS NULL
                                                 OR ev.{tcol} <= a.admitted_at
                                                 OR ev.{tcol} > %s::timestamptz)
              FROM {_table(outcome['table'])} ev
              LEFT JOIN {EXT}.admission a ON a.admission_id = ev.{adm}""", (end,))
        r = cur.fetchone()
    conn.rollback()
    return int(r[0]), int(r[1])
