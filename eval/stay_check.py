"""Departures from the ICU: predicted by the stay model against observed, by elapsed stay.

    python3 eval/stay_check.py --dsn dbname=DB --start 2020-03-10 --origins 10 --step 7

For each origin D (reference time D + 1 at 00:00 UTC) and each patient in an
ICU then, s days into the current ICU episode, the probability of leaving
the ICU within the next day and the next three days, 1 - S(s + d) / S(s),
under the two readings of the stay model that capacity_forecast offers
(capacity_policy.stay_at_episode_start):

  start   the stay model's location as of the episode's start (the labs
          resulted by then, the hours since hospital admission then: the
          inputs the model is trained on; the default);
  today   the location of today's patient_status row (today's panel and
          today's hours since admission);

against what happened (the episode ended within d days) and, on a synthetic
cohort, against the generator's own log-normal stay law (icu_synth.
oracle_course).  Summed over patients it is the expected number of
departures per origin.  Second table: the mean stay curve Sbar that the
forecast gives to ICU entries of patients not yet admitted (the mean of S0
over today's patients, as in the view), against the share of the episodes
begun in the 14 days after D still in an ICU x days after their start.

Reads the views' own definitions (the fast path of eval/backtest.py) in
transactions that are rolled back: nothing is written.
"""
import argparse
import collections
import datetime as dt
import math
import os
import statistics
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backtest as B  # noqa: E402

BINS = [0, 1, 2, 3, 5, 8, 14, math.inf]

PATIENTS = """
WITH t AS (
    SELECT ps.admission_id, ps.stay_location_days AS loc_today, ps.stay_model AS m, ps.stay_version AS v,
           a.age_years, a.sex::text AS sex, a.admitted_at,
           (SELECT ep.started_at FROM icu_predict.icu_episode ep
             WHERE ep.admission_id = ps.admission_id AND ep.started_at <= %(r)s
             ORDER BY ep.started_at DESC LIMIT 1) AS st
      FROM pg_temp.bt_ps_today ps JOIN icu_predict.admission a USING (admission_id)
     WHERE ps.unit_kind = 'icu' AND ps.day_date = %(d)s AND ps.stay_model IS NOT NULL
), l AS (
    SELECT t.*, extract(epoch FROM %(r)s - t.st) / 86400 AS s,
           (icu_predict.length_of_stay(
                (SELECT icu_predict.lab_panel(c.admission_id, c.feature, c.value, c.resulted_at, t.st)
                   FROM icu_predict.lab_canonical c
                  WHERE c.admission_id = t.admission_id AND c.resulted_at <= t.st),
                t.age_years::float8, t.sex, (extract(epoch FROM t.st - t.admitted_at) / 3600)::float8,
                'icu', t.m, t.v)).location_days AS loc_start
      FROM t WHERE t.st IS NOT NULL
)
SELECT l.s,
       icu_predict.stay_survival_curve(l.loc_start, ARRAY[l.s, l.s + 1, l.s + 3]::float8[], l.m, l.v),
       icu_predict.stay_survival_curve(l.loc_today, ARRAY[l.s, l.s + 1, l.s + 3]::float8[], l.m, l.v),
       extract(epoch FROM ep.ended_at - %(r)s) / 86400 AS remaining,
       {oracle}
  FROM l JOIN icu_predict.icu_episode ep ON ep.admission_id = l.admission_id AND ep.started_at = l.st
  {oracle_join}"""


def leave_prob(curve, j):
    return 1.0 - (curve[j] / curve[0] if curve[0] > 0 else 0.0)


def lognormal_s(t, median, sigma):
    if t <= 0:
        return 1.0
    return 1.0 - statistics.NormalDist().cdf((math.log(t) - math.log(median)) / sigma)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsn", default="")
    ap.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first origin D")
    ap.add_argument("--origins", type=int, default=10)
    ap.add_argument("--step", type=int, default=7, help="days between origins (default 7)")
    a = ap.parse_args(argv)
    conn = psycopg2.connect(a.dsn)
    cur = conn.cursor()
    ps, cf = B.view_sql(cur)
    cur.execute("SELECT to_regclass('icu_synth.oracle_course') IS NOT NULL")
    has_oracle = cur.fetchone()[0]
    conn.rollback()
    q = PATIENTS.format(
        oracle="oc.icu_los_median_days, oc.icu_los_sigma" if has_oracle else "NULL, NULL",
        oracle_join=("LEFT JOIN icu_synth.oracle_course oc ON oc.admission_id = l.admission_id"
                     if has_oracle else ""))
    sbar_sql = cf[:cf.index("), arrivals_d AS (")] + ") SELECT v FROM sbar ORDER BY i"
    agg = collections.defaultdict(lambda: collections.defaultdict(float))
    curves = collections.defaultdict(list)
    for k in range(a.origins):
        day = a.start + dt.timedelta(days=k * a.step)
        ref = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=dt.timezone.utc)
        B.set_reference(cur, ref)
        cur.execute("CREATE TEMP TABLE bt_ps_today AS " + ps)
        cur.execute(q, {"r": ref, "d": ref.date()})
        for s, c_start, c_today, rem, med, sg in cur.fetchall():
            b = max(j for j in range(len(BINS) - 1) if s >= BINS[j])
            g = agg[b]
            g["n"] += 1
            for j, h in ((1, 1), (2, 3)):
                g[f"start{h}"] += leave_prob(c_start, j)
                g[f"today{h}"] += leave_prob(c_today, j)
                g[f"obs{h}"] += rem is not None and rem <= h
                if med:
                    s0 = lognormal_s(s, med, sg)
                    g[f"oracle{h}"] += 1 - (lognormal_s(s + h, med, sg) / s0 if s0 > 0 else 0)
        for mode in (True, False):
            cur.execute("SAVEPOINT m")
            B.set_policy(cur, {"stay_at_episode_start": mode})
            cur.execute(sbar_sql)
            curves[mode].append([float(r[0]) for r in cur.fetchall()])
            cur.execute("ROLLBACK TO SAVEPOINT m")
        cur.execute("""SELECT x, avg((coalesce(ep.ended_at, 'infinity')
                                      > ep.started_at + make_interval(secs => (x + 0.5) * 86400))::int)::float8
                         FROM generate_series(0, 13) x, icu_predict.icu_episode ep
                        WHERE ep.started_at > %(r)s AND ep.started_at <= %(r)s + interval '14 days'
                        GROUP BY x ORDER BY x""", {"r": ref})
        curves["observed"].append([r[1] for r in cur.fetchall()])
        conn.rollback()
    print(f"{a.origins} origins from {a.start} every {a.step} d; patients in an ICU at the origin, "
          "by days spent in the current episode")
    print("probability of leaving within 1 day (3 days), summed per bin and divided by its patients")
    print(f"{'elapsed':>10} {'patients':>8} {'start':>13} {'today':>13} {'observed':>13} {'oracle':>13}")
    tot = collections.defaultdict(float)
    for b in sorted(agg):
        g = agg[b]
        for key, v in g.items():
            tot[key] += v
        hi = "inf" if BINS[b + 1] == math.inf else f"{BINS[b + 1]:g}"
        row = [f"{g[f'{m}1'] / g['n']:.3f} ({g[f'{m}3'] / g['n']:.3f})" for m in ("start", "today", "obs", "oracle")]
        print(f"{f'[{BINS[b]:g}, {hi})':>10} {int(g['n']):8d} " + " ".join(f"{x:>13}" for x in row))
    print("departures per origin within 1 day (3 days): "
          + ", ".join(f"{m} {tot[f'{m}1'] / a.origins:.2f} ({tot[f'{m}3'] / a.origins:.2f})"
                      for m in ("start", "today", "obs", "oracle")))
    print("\nstay curve of ICU entries of patients not yet admitted (Sbar) against the episodes begun "
          "in the 14 days after each origin")
    print(f"{'x (days)':>8} {'Sbar start':>10} {'Sbar today':>10} {'observed':>9}")
    for i in range(14):
        vals = [statistics.mean(c[i] for c in curves[m]) for m in (True, False, "observed")]
        print(f"{i + 0.5:8.1f} {vals[0]:10.3f} {vals[1]:10.3f} {vals[2]:9.3f}")
    print("mean stay within 14 days (sum of the curve): "
          + ", ".join(f"{n} {sum(statistics.mean(c[i] for c in curves[m]) for i in range(14)):.2f}"
                      for n, m in (("Sbar start", True), ("Sbar today", False), ("observed", "observed"))))


if __name__ == "__main__":
    main()
