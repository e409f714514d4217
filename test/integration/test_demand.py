"""bed_demand against independent numpy computations, binary round trips
through COPY (send/recv), and malformed binary input.

Needs a server (tools/run-tests.sh runs pytest inside pg_virtualenv).
"""
import io
import struct
import time

import numpy as np
import psycopg2
import pytest


def poisson_binomial(p):
    """Exact pmf over 0..n by the textbook dynamic programme (no trimming)."""
    pmf = np.zeros(len(p) + 1)
    pmf[0] = 1.0
    for k, pk in enumerate(p, start=1):
        pmf[1:k + 1] = pmf[1:k + 1] * (1 - pk) + pmf[0:k] * pk
        pmf[0] *= 1 - pk
    return pmf


def fetch_pmf(cur, sql, args=None):
    cur.execute(f"SELECT beds, probability FROM icu_predict.bed_demand_pmf(({sql}))", args)
    rows = cur.fetchall()
    return {b: pr for b, pr in rows}


def demand_of(cur, probs):
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS dp (i int, p float8)")
    cur.execute("TRUNCATE dp")
    buf = io.StringIO("".join(f"{i}\t{p!r}\n" for i, p in enumerate(probs)))
    cur.copy_expert("COPY dp FROM STDIN", buf)


@pytest.fixture
def cur(conn):
    with conn.cursor() as c:
        yield c


def test_large_n_matches_numpy(cur):
    rng = np.random.default_rng(20200401)
    p = rng.beta(0.6, 3.0, size=2000)  # skewed, like ICU risks
    demand_of(cur, p)
    got = fetch_pmf(cur, "SELECT icu_predict.bed_demand(p ORDER BY i) FROM dp")
    ref = poisson_binomial(p)
    cur.execute("SELECT icu_predict.bed_demand_trimmed_mass(d), icu_predict.bed_demand_mean(d), icu_predict.bed_demand_variance(d),"
                " icu_predict.bed_demand_quantile(d, 0.1), icu_predict.bed_demand_quantile(d, 0.9),"
                " icu_predict.bed_demand_prob_exceeds(d, %s)"
                " FROM (SELECT icu_predict.bed_demand(p ORDER BY i) d FROM dp) s",
                (int(round(p.sum())),))
    trimmed, mean, var, q10, q90, exceeds = cur.fetchone()
    assert trimmed < 1e-11
    # every kept entry is the exact one within the trimmed mass
    err = max(abs(got.get(k, 0.0) - ref[k]) for k in range(len(ref)))
    assert err <= trimmed + 1e-13
    # the trimmed entries are only the far tails
    kept = sorted(got)
    assert ref[:kept[0]].sum() < 1e-12 and ref[kept[-1] + 1:].sum() < 1e-12
    assert mean == pytest.approx(p.sum(), rel=1e-12)
    assert var == pytest.approx((p * (1 - p)).sum(), rel=1e-9)
    cdf = np.cumsum(ref)
    assert q10 == int(np.argmax(cdf >= 0.1))
    assert q90 == int(np.argmax(cdf >= 0.9))
    assert exceeds == pytest.approx(ref[int(round(p.sum())) + 1:].sum(), abs=trimmed + 1e-13)


def test_merge_matches_numpy_convolution(cur):
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.3, size=600)
    demand_of(cur, p)
    got = fetch_pmf(cur, "SELECT icu_predict.bed_demand_sum(d) FROM"
                         " (SELECT icu_predict.bed_demand(p) d FROM dp GROUP BY i % 5) u")
    ref = np.array([1.0])
    for g in range(5):
        ref = np.convolve(ref, poisson_binomial(p[np.arange(len(p)) % 5 == g]))
    assert max(abs(got.get(k, 0.0) - ref[k]) for k in range(len(ref))) < 1e-11


def test_add_poisson_matches_numpy(cur):
    from scipy.stats import poisson
    p = [0.2, 0.9, 0.5]
    demand_of(cur, p)
    got = fetch_pmf(cur, "SELECT icu_predict.bed_demand_add_poisson(icu_predict.bed_demand(p), 6.5) FROM dp")
    ref = np.convolve(poisson_binomial(p), poisson.pmf(np.arange(80), 6.5))
    assert max(abs(got.get(k, 0.0) - ref[k]) for k in range(len(ref))) < 1e-12
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-11)


def test_hospital_wide_100k_is_fast_and_narrow(cur):
    rng = np.random.default_rng(1)
    p = rng.exponential(0.01, size=100_000).clip(0, 1)  # mostly tiny
    demand_of(cur, p)
    t0 = time.perf_counter()
    cur.execute("SELECT icu_predict.bed_demand_mean(d), icu_predict.bed_demand_variance(d), icu_predict.bed_demand_trimmed_mass(d),"
                " (SELECT count(*) FROM icu_predict.bed_demand_pmf(d)), icu_predict.bed_demand_quantile(d, 0.5)"
                " FROM (SELECT icu_predict.bed_demand(p) d FROM dp) s")
    mean, var, trimmed, width, median = cur.fetchone()
    elapsed = time.perf_counter() - t0
    print(f"bed_demand over 100k rows: {elapsed * 1000:.0f} ms, width {width}")
    assert mean == pytest.approx(p.sum(), rel=1e-11)
    assert var == pytest.approx((p * (1 - p)).sum(), rel=1e-9)
    sd = var ** 0.5
    assert width < 16 * sd            # ~ mean +/- 7 sd, not 100k
    assert abs(median - mean) < 1     # nearly symmetric at this size
    assert trimmed < 1e-10
    assert elapsed < 5.0


# --- binary I/O -------------------------------------------------------------

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)


def copy_binary_one(payload):
    return COPY_HEADER + struct.pack("!hi", 1, len(payload)) + payload + COPY_TRAILER


def test_binary_round_trip(cur):
    cur.execute("CREATE TEMP TABLE bd_src (d icu_predict.bed_demand)")
    cur.execute("INSERT INTO bd_src SELECT icu_predict.bed_demand(1.0 / g) FROM generate_series(2, 50) g")
    cur.execute("INSERT INTO bd_src VALUES ('{\"offset\": 7, \"trimmed\": 1e-13, \"pmf\": [0.25, 0.75]}')")
    out = io.BytesIO()
    cur.copy_expert("COPY bd_src TO STDOUT (FORMAT binary)", out)
    # the payload of the hand-written value: offset, n, trimmed, pmf
    assert struct.pack("!iid", 7, 2, 1e-13) + struct.pack("!dd", 0.25, 0.75) in out.getvalue()
    cur.execute("CREATE TEMP TABLE bd_dst (d icu_predict.bed_demand)")
    cur.copy_expert("COPY bd_dst FROM STDIN (FORMAT binary)", io.BytesIO(out.getvalue()))
    cur.execute("SELECT (SELECT array_agg(d::text ORDER BY d::text) FROM bd_src)"
                " = (SELECT array_agg(d::text ORDER BY d::text) FROM bd_dst)")
    assert cur.fetchone()[0] is True


@pytest.mark.parametrize("payload", [
    b"",                                                     # no header
    struct.pack("!ii", 0, 1),                                # header cut short
    struct.pack("!iid", 0, 2, 0.0) + struct.pack("!d", 1.0),  # n says 2, one value
    struct.pack("!iid", 0, 1, 0.0) + struct.pack("!dd", 1.0, 0.0),  # trailing bytes
    struct.pack("!iid", 0, 0x7FFFFFFF, 0.0),                 # huge n, no data
    struct.pack("!iid", 0, -3, 0.0),                         # negative n
    struct.pack("!iid", -1, 1, 0.0) + struct.pack("!d", 1.0),  # negative offset
    struct.pack("!iid", 0, 1, 0.0) + struct.pack("!d", float("nan")),
    struct.pack("!iid", 0, 2, 0.0) + struct.pack("!dd", 0.9, 0.9),  # sum 1.8
    struct.pack("!iid", 0, 1, -0.5) + struct.pack("!d", 1.0),  # negative trimmed
])
def test_malformed_binary_is_rejected(cur, payload):
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS bd_bad (d icu_predict.bed_demand)")
    with pytest.raises(psycopg2.Error) as exc:
        cur.copy_expert("COPY bd_bad FROM STDIN (FORMAT binary)", io.BytesIO(copy_binary_one(payload)))
    assert exc.value.pgcode == "22P03"
