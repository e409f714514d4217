/*
 * mixture.c — mixtures of bed-demand distributions, for uncertainty that is
 * common to every patient (a shift of all risks on the logit scale, of all
 * stays on the log scale): given the shift the counts are exact
 * convolutions; over the shift they are a weighted mixture.
 *
 * SQL objects backed here (extension/sql/31_demand_inflow.sql):
 *   aggregate bed_demand_mixture(d bed_demand, weight float8)
 *     support: bed_demand_mixture_accum, bed_demand_mixture_combine,
 *              bed_demand_mixture_serialize, bed_demand_mixture_deserialize,
 *              bed_demand_mixture_final
 *   bed_demand_normal_nodes(n integer) -> TABLE(z, weight)
 *   bed_demand_shift_logit(p float8, shift float8) -> float8
 *   bed_demand_shift_logit_offset(p float8, sd float8, nodes integer) -> float8
 *
 * Mixture.  Result pmf = sum_i w_i pmf_i / sum_i w_i over the union of the
 * inputs' supports; trimmed mass = sum_i w_i trimmed_i / sum_i w_i.  Nothing
 * more is trimmed: the inputs are finished values with their tails already
 * cut, and the mixture's ends are theirs.  So the result depends on the row
 * order only through rounding, and a mixture of one distribution with
 * weight 1 is that distribution, bit for bit.  Rows with a NULL distribution or a NULL weight are skipped;
 * weights must be finite and >= 0 (22023); no non-NULL row gives NULL; rows
 * whose weights sum to 0 raise 22023 at the final function.
 *
 * State (IcuMixtureState) lives in the aggregate memory context: the
 * weighted sums per count over offset .. offset+len-1, the weight sum, the
 * weighted trimmed mass and the number of rows.  Serialized as
 *   int64 rows, float8 weight, float8 trimmed, int32 offset, int32 n,
 *   n x float8 sums                                      (network order)
 * and deserialize checks every count against the bytes present and every
 * value (finite, >= 0, sums consistent with the weight) before trusting it.
 * The final function does not modify the state (it may be called again in
 * window use).
 *
 * Normal nodes.  Gauss-Hermite rule for the standard normal: the nodes are
 * the eigenvalues of the Jacobi matrix of the orthonormal probabilists'
 * Hermite polynomials (zero diagonal, off-diagonal sqrt(j)), found one by
 * one by bisection on the Sturm count of that tridiagonal matrix and
 * polished by Newton steps on h_n; weight_i = 1 / sum_{j<n} h_j(z_i)^2
 * (Christoffel numbers), symmetrised and scaled to sum to 1.  Exact for
 * polynomials of degree <= 2n - 1.
 *
 * Logit shift.  expit(logit(p) + shift), the probability p moved by a common
 * shift on the log-odds scale, computed as p e^s / (1 - p + p e^s) (or its
 * mirror for s < 0), which neither overflows nor loses a small p to
 * cancellation; p = 0 and p = 1 stay put (they have no logit).  p outside
 * [0, 1] or NaN, or a non-finite shift, raise 22023.
 *
 * Mean-preserving offset.  The c with
 *     sum_k w_k expit(logit(p) + c + sd z_k) = p
 * over the Gauss-Hermite rule of `nodes` nodes (z_k, w_k as
 * bed_demand_normal_nodes gives them), so that a mixture over the shifts
 * c + sd z_k keeps every patient's probability as its mean: a logit-normal
 * shift alone pulls p toward 1/2.  The mean is increasing in c, so c is
 * found by a bracketed Newton iteration on log(mean) - log(p) (bisection
 * when a step leaves the bracket); for p > 1/2 from the mirror,
 * c(p) = -c(1 - p) (the rule is symmetric); c = 0 for p = 0, p = 1/2,
 * p = 1 or sd = 0.  p outside [0, 1] or NaN, sd negative or not finite, or nodes
 * outside 1..64 raise 22023.  The last rule used is kept per backend.
 */
#include "demand.h"

#include <float.h>
#include <math.h>

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

/* Largest number of Gauss-Hermite nodes bed_demand_normal_nodes gives. */
#define ICU_DEMAND_MAX_NODES	64

typedef struct IcuMixtureState
{
	int64		rows;			/* non-NULL rows seen, weight 0 included */
	float8		weight;			/* sum of weights */
	float8		trimmed;		/* sum of weight * trimmed mass */
	int64		offset;			/* count of buf[0] */
	int32		len;			/* 0 until a row with weight > 0 */
	int32		cap;
	float8	   *buf;			/* sum of weight * probability, per count */
} IcuMixtureState;

#define ICU_MIXTURE_WHAT	"serialized bed_demand_mixture state"

/* ------------------------------------------------------------------------
 * State helpers
 * ------------------------------------------------------------------------ */

static IcuMixtureState *
mixture_state_new(MemoryContext cxt)
{
	return MemoryContextAllocZero(cxt, sizeof(IcuMixtureState));
}

/* Add factor * pmf (n entries from count off) to the weighted sums. */
static void
mixture_add_sums(IcuMixtureState *st, float8 factor, const float8 *pmf,
				 int32 n, int64 off, MemoryContext cxt)
{
	int64		lo,
				hi;
	int32		base;
	int32		j;

	if (n == 0 || factor == 0.0)
		return;
	if (st->len == 0)
	{
		lo = off;
		hi = off + n;
	}
	else
	{
		lo = Min(st->offset, off);
		hi = Max(st->offset + st->len, off + n);
	}
	if (hi - lo > ICU_DEMAND_MAX_N)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("bed_demand_mixture distribution too wide"),
				 errdetail("The inputs span counts " INT64_FORMAT " to " INT64_FORMAT ".",
						   lo, hi - 1)));

	if (st->len == 0 || lo < st->offset || hi - st->offset > st->cap)
	{
		/* a new buffer over lo .. hi, with room to grow on the right */
		int64		want = (hi - lo) + (hi - lo) / 4 + 16;
		int32		cap = (int32) Min(want, (int64) ICU_DEMAND_MAX_N);
		float8	   *nbuf = MemoryContextAllocZero(cxt, sizeof(float8) * cap);

		if (st->len > 0)
		{
			memcpy(nbuf + (st->offset - lo), st->buf, sizeof(float8) * st->len);
			pfree(st->buf);
		}
		st->buf = nbuf;
		st->cap = cap;
		st->offset = lo;
		st->len = (int32) (hi - lo);
	}
	else if (hi - st->offset > st->len)
	{
		/* grow to the right within the buffer: new entries start at 0 */
		memset(st->buf + st->len, 0, sizeof(float8) * (hi - st->offset - st->len));
		st->len = (int32) (hi - st->offset);
	}

	base = (int32) (off - st->offset);
	for (j = 0; j < n; j++)
		st->buf[base + j] += factor * pmf[j];
}

static void
mixture_add_weight(IcuMixtureState *st, float8 weight, float8 wtrimmed)
{
	st->weight += weight;
	st->trimmed += wtrimmed;
	if (isinf(st->weight))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_mixture weights sum beyond the float8 range"),
				 errhint("Weights are relative: divide them by a common factor.")));
}

/* ------------------------------------------------------------------------
 * The aggregate bed_demand_mixture(d bed_demand, weight float8)
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(icu_bed_demand_mixture_accum);
Datum
icu_bed_demand_mixture_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_mixture_accum");
	IcuMixtureState *st = PG_ARGISNULL(0) ? NULL : (IcuMixtureState *) PG_GETARG_POINTER(0);
	IcuBedDemand *d;
	float8		w;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	w = PG_GETARG_FLOAT8(2);
	if (!(w >= 0.0) || isinf(w))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_mixture weight %g is not a finite number >= 0", w),
				 errhint("Pass each distribution's relative weight, e.g. a quadrature weight from bed_demand_normal_nodes(); NULL rows are skipped.")));
	d = PG_GETARG_BED_DEMAND_P(1);
	if (st == NULL)
		st = mixture_state_new(aggcxt);
	st->rows++;
	if (w > 0.0)
	{
		mixture_add_sums(st, w, d->pmf, d->n, d->offset, aggcxt);
		mixture_add_weight(st, w, w * d->trimmed);
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_mixture_combine);
Datum
icu_bed_demand_mixture_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_mixture_combine");
	IcuMixtureState *s1 = PG_ARGISNULL(0) ? NULL : (IcuMixtureState *) PG_GETARG_POINTER(0);
	IcuMixtureState *s2 = PG_ARGISNULL(1) ? NULL : (IcuMixtureState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
		s1 = mixture_state_new(aggcxt);
	s1->rows += s2->rows;
	mixture_add_sums(s1, 1.0, s2->buf, s2->len, s2->offset, aggcxt);
	mixture_add_weight(s1, s2->weight, s2->trimmed);
	PG_RETURN_POINTER(s1);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_mixture_serialize);
Datum
icu_bed_demand_mixture_serialize(PG_FUNCTION_ARGS)
{
	IcuMixtureState *st;
	StringInfoData buf;
	int32		i;

	(void) icu_agg_context(fcinfo, "icu_bed_demand_mixture_serialize");
	st = (IcuMixtureState *) PG_GETARG_POINTER(0);
	pq_begintypsend(&buf);
	pq_sendint64(&buf, st->rows);
	pq_sendfloat8(&buf, st->weight);
	pq_sendfloat8(&buf, st->trimmed);
	pq_sendint32(&buf, (int32) st->offset);
	pq_sendint32(&buf, st->len);
	for (i = 0; i < st->len; i++)
		pq_sendfloat8(&buf, st->buf[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_mixture_deserialize);
Datum
icu_bed_demand_mixture_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_mixture_deserialize");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	IcuMixtureState *st;
	int64		rows;
	float8		weight,
				trimmed,
				sum = 0.0;
	int32		offset,
				n,
				i;
	const int	header = (int) (sizeof(int64) + 2 * sizeof(float8) + 2 * sizeof(int32));

	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (buf.len < header)
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "%d bytes is too short for the header", buf.len);
	rows = pq_getmsgint64(&buf);
	weight = pq_getmsgfloat8(&buf);
	trimmed = pq_getmsgfloat8(&buf);
	offset = pq_getmsgint(&buf, 4);
	n = pq_getmsgint(&buf, 4);

	if (rows < 1)
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "row count " INT64_FORMAT " is below 1", rows);
	if (!(weight >= 0.0) || isinf(weight))
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "weight sum %g is not a finite number >= 0", weight);
	if (!(trimmed >= 0.0 && trimmed <= weight * (1.0 + ICU_DEMAND_SUM_TOL)))
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "weighted trimmed mass %g is not in [0, weight sum]", trimmed);
	if (n < 0 || (int64) n * (int64) sizeof(float8) != (int64) (buf.len - buf.cursor))
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "length %d does not match the %d bytes left", n, buf.len - buf.cursor);
	if ((n == 0) != (weight == 0.0))
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "%d sums for weight sum %g", n, weight);
	if (offset < 0 || (int64) offset + n - 1 > ICU_DEMAND_MAX_COUNT)
		icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
						  "offset %d out of range", offset);

	st = mixture_state_new(aggcxt);
	st->rows = rows;
	st->weight = weight;
	st->trimmed = trimmed;
	st->offset = offset;
	if (n > 0)
	{
		st->buf = MemoryContextAlloc(aggcxt, sizeof(float8) * n);
		st->cap = n;
		st->len = n;
		for (i = 0; i < n; i++)
		{
			float8		v = pq_getmsgfloat8(&buf);

			if (!(v >= 0.0) || isinf(v))
				icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
								  "weighted probability %g at position %d is not a finite number >= 0",
								  v, i + 1);
			st->buf[i] = v;
			sum += v;
		}
		if (fabs(sum + trimmed - weight) > ICU_DEMAND_SUM_TOL * weight)
			icu_invalid_input(ICU_INPUT_BINARY, ICU_MIXTURE_WHAT,
							  "weighted probabilities sum to %.17g for weight sum %.17g",
							  sum + trimmed, weight);
	}
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_mixture_final);
Datum
icu_bed_demand_mixture_final(PG_FUNCTION_ARGS)
{
	IcuMixtureState *st;
	float8	   *pmf;
	int32		i;

	(void) icu_agg_context(fcinfo, "icu_bed_demand_mixture_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (IcuMixtureState *) PG_GETARG_POINTER(0);
	if (st->weight == 0.0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_mixture weights sum to 0 over " INT64_FORMAT " rows", st->rows),
				 errhint("Give at least one distribution a positive weight.")));

	/*
	 * The state stays unchanged: divide into a copy.  No new trimming: the
	 * inputs are finished values, already cut, and the mixture's ends are
	 * their ends, so the trimmed mass is exactly the weighted mean of theirs.
	 */
	pmf = palloc(sizeof(float8) * st->len);
	for (i = 0; i < st->len; i++)
		pmf[i] = Min(1.0, st->buf[i] / st->weight);
	PG_RETURN_POINTER(icu_demand_from_pmf(pmf, st->len, st->offset,
										  Min(1.0, st->trimmed / st->weight)));
}

/* ------------------------------------------------------------------------
 * Gauss-Hermite nodes for the standard normal
 * ------------------------------------------------------------------------ */

/*
 * Number of eigenvalues below x of the n x n Jacobi matrix with zero
 * diagonal and off-diagonal sqrt(1), ..., sqrt(n-1): the negative pivots of
 * the LDL' factorisation of J - xI (Sturm count).
 */
static int
hermite_count_below(int n, float8 x)
{
	float8		q = -x;
	int			count = (q < 0.0);
	int			j;

	for (j = 1; j < n; j++)
	{
		if (q == 0.0)
			q = DBL_EPSILON * (1.0 + fabs(x));	/* step around an exact zero pivot */
		q = -x - (float8) j / q;
		count += (q < 0.0);
	}
	return count;
}

/*
 * Orthonormal probabilists' Hermite polynomials at x: *hn = h_n(x),
 * *hn1 = h_{n-1}(x), and the sum of h_j(x)^2 for j < n.
 *   h_0 = 1, h_1 = x, h_{j+1} = (x h_j - sqrt(j) h_{j-1}) / sqrt(j+1).
 */
static void
hermite_eval(int n, float8 x, float8 *hn, float8 *hn1, float8 *sumsq)
{
	float8		prev = 0.0;
	float8		cur = 1.0;
	float8		s = 0.0;
	int			j;

	for (j = 0; j < n; j++)
	{
		float8		next = (x * cur - sqrt((float8) j) * prev) / sqrt((float8) j + 1.0);

		s += cur * cur;
		prev = cur;
		cur = next;
	}
	*hn = cur;
	*hn1 = prev;
	*sumsq = s;
}

/* The n nodes (ascending) and weights (summing to 1). */
static void
hermite_nodes(int n, float8 *z, float8 *w)
{
	float8		bound = 2.0 * sqrt((float8) n) + 1.0;	/* Gershgorin, with margin */
	float8		total = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		float8		lo = -bound,
					hi = bound,
					x;
		int			step;

		/* bisection: the i-th eigenvalue is where the count passes i */
		for (step = 0; step < 2000; step++)
		{
			float8		mid = 0.5 * (lo + hi);

			if (mid <= lo || mid >= hi)
				break;
			if (hermite_count_below(n, mid) > i)
				hi = mid;
			else
				lo = mid;
		}
		x = 0.5 * (lo + hi);

		/* polish: Newton on h_n, with h_n' = sqrt(n) h_{n-1}; small steps only */
		for (step = 0; step < 3; step++)
		{
			float8		hn,
						hn1,
						s,
						dx;

			hermite_eval(n, x, &hn, &hn1, &s);
			if (hn1 == 0.0)
				break;
			dx = hn / (sqrt((float8) n) * hn1);
			if (!(fabs(dx) <= 1e-6 * (1.0 + fabs(x))))
				break;
			x -= dx;
		}
		z[i] = x;
	}

	/* exact symmetry: z_i = -z_{n-1-i}, and 0 in the middle of an odd rule */
	for (i = 0; i < n / 2; i++)
	{
		float8		a = 0.5 * (z[n - 1 - i] - z[i]);

		z[i] = -a;
		z[n - 1 - i] = a;
	}
	if (n % 2 == 1)
		z[n / 2] = 0.0;

	for (i = 0; i < n; i++)
	{
		float8		hn,
					hn1,
					s;

		hermite_eval(n, z[i], &hn, &hn1, &s);
		w[i] = 1.0 / s;
	}
	for (i = 0; i < n / 2; i++)
		w[i] = w[n - 1 - i] = 0.5 * (w[i] + w[n - 1 - i]);
	for (i = 0; i < n; i++)
		total += w[i];
	for (i = 0; i < n; i++)
		w[i] /= total;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_normal_nodes);
Datum
icu_bed_demand_normal_nodes(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	float8		z[ICU_DEMAND_MAX_NODES];
	float8		w[ICU_DEMAND_MAX_NODES];
	int32		i;

	if (n < 1 || n > ICU_DEMAND_MAX_NODES)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("number of normal nodes %d is outside [1, %d]", n, ICU_DEMAND_MAX_NODES),
				 errhint("Between 5 and 20 nodes integrate a smooth function of a normal shift to many digits.")));
	hermite_nodes(n, z, w);

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Float8GetDatum(z[i]);
		values[1] = Float8GetDatum(w[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* expit(logit(p) + s) for p in [0, 1] and a finite s (see the header) */
static float8
shift_logit(float8 p, float8 s)
{
	float8		e,
				r;

	if (p == 0.0 || p == 1.0 || s == 0.0)
		return p;
	if (s > 0.0)
	{
		/* odds times e^s: p / (p + (1 - p) e^-s) */
		e = exp(-s);
		r = p / (p + (1.0 - p) * e);
	}
	else
	{
		/* the mirror: p e^s / (p e^s + 1 - p) */
		e = exp(s);
		r = p * e / (p * e + (1.0 - p));
	}
	if (r < 0.0)
		r = 0.0;
	if (r > 1.0)
		r = 1.0;
	return r;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_shift_logit);
Datum
icu_bed_demand_shift_logit(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(0);
	float8		s = PG_GETARG_FLOAT8(1);

	icu_demand_check_unit_interval(p, "bed_demand_shift_logit probability");
	if (!isfinite(s))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_shift_logit shift %g is not a finite number", s)));
	PG_RETURN_FLOAT8(shift_logit(p, s));
}

/* the rule bed_demand_shift_logit_offset used last (per backend) */
static int	offset_rule_n = 0;
static float8 offset_rule_z[ICU_DEMAND_MAX_NODES];
static float8 offset_rule_w[ICU_DEMAND_MAX_NODES];

/*
 * log(sum_k w_k expit(logit(p) + c + sd z_k)) - log(p), and its derivative
 * in c, sum_k w_k q_k (1 - q_k) / sum_k w_k q_k
 */
static float8
offset_gap(float8 p, float8 sd, float8 c, float8 *slope)
{
	float8		m = 0.0,
				dm = 0.0;
	int			k;

	for (k = 0; k < offset_rule_n; k++)
	{
		float8		q = shift_logit(p, c + sd * offset_rule_z[k]);

		m += offset_rule_w[k] * q;
		dm += offset_rule_w[k] * q * (1.0 - q);
	}
	if (!(m > 0.0))
	{
		*slope = 1.0;
		return -INFINITY;
	}
	*slope = dm / m;
	return log(m) - log(p);
}

/* the offset for 0 < p <= 1/2 and sd > 0: c <= 0 */
static float8
offset_below_half(float8 p, float8 sd)
{
	float8		lo = -1.0,
				hi = 0.0,
				c,
				slope,
				g;
	int			step;

	/* bracket: the mean at c = 0 is at least p (pulled toward 1/2) */
	while (offset_gap(p, sd, lo, &slope) > 0.0 && lo > -1e6)
	{
		hi = lo;
		lo *= 2.0;
	}
	c = 0.5 * (lo + hi);
	for (step = 0; step < 200; step++)
	{
		float8		next;

		g = offset_gap(p, sd, c, &slope);
		if (g == 0.0)
			break;
		if (g > 0.0)
			hi = c;
		else
			lo = c;
		next = (slope > 0.0 && isfinite(g)) ? c - g / slope : 0.5 * (lo + hi);
		if (!(next > lo && next < hi))
			next = 0.5 * (lo + hi);
		if (fabs(next - c) <= 1e-14 * (1.0 + fabs(c)) || hi - lo <= 1e-14 * (1.0 + fabs(c)))
		{
			c = next;
			break;
		}
		c = next;
	}
	return c;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_shift_logit_offset);
Datum
icu_bed_demand_shift_logit_offset(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(0);
	float8		sd = PG_GETARG_FLOAT8(1);
	int32		n = PG_GETARG_INT32(2);

	icu_demand_check_unit_interval(p, "bed_demand_shift_logit_offset probability");
	if (!isfinite(sd) || sd < 0.0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_shift_logit_offset standard deviation %g is not a finite number >= 0", sd)));
	/* the bracket of offset_below_half reaches -1e6: enough for |c| <= sd z_max + |logit p| */
	if (sd > 10000.0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_shift_logit_offset standard deviation %g is above 10000", sd),
				 errhint("The standard deviation is of a shift on the logit scale; capacity_forecast uses at most 2.")));
	if (n < 1 || n > ICU_DEMAND_MAX_NODES)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand_shift_logit_offset nodes %d is outside 1..%d", n, ICU_DEMAND_MAX_NODES)));
	if (p == 0.0 || p == 1.0 || p == 0.5 || sd == 0.0)
		PG_RETURN_FLOAT8(0.0);	/* p = 1/2: 0 by the symmetry */
	if (offset_rule_n != n)
	{
		hermite_nodes(n, offset_rule_z, offset_rule_w);
		offset_rule_n = n;
	}
	if (p > 0.5)
		PG_RETURN_FLOAT8(-offset_below_half(1.0 - p, sd));
	PG_RETURN_FLOAT8(offset_below_half(p, sd));
}
