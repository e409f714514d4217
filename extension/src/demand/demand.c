/*
 * demand.c — the bed-demand distribution: how many of N independent patients
 * need a bed, as an exact probability mass function (Poisson-binomial).
 *
 * SQL objects backed here (see extension/sql/30_demand.sql):
 *   type      bed_demand              in/out (JSON-like text), send/recv
 *   aggregate bed_demand(float8)      one Bernoulli(p) per row, convolved in
 *   aggregate bed_demand_sum(bed_demand)  convolution of distributions
 *   bed_demand_add(a, b), operator +  convolution of two distributions
 *   bed_demand_poisson(lambda), bed_demand_add_poisson(d, lambda)
 *   mean, variance, quantile, prob_exceeds, pmf, trimmed_mass
 *
 * Representation.  A distribution is the pmf over the counts
 * offset .. offset+n-1 (probabilities of lower and higher counts are taken as
 * zero), plus "trimmed": the total probability mass dropped so far.
 *
 * Trimming.  Working aggregate states drop leading entries while their
 * summed mass stays below ICU_DEMAND_WORK_TRIM (1e-15), and likewise trailing
 * entries, but only once at least 32 entries can go at a time (each cut loses
 * up to the threshold, so batching keeps the total loss small).  A finished
 * value (final function, plain functions) is cut once more to 1e-12 per tail.
 * The offset moves with the left end, so the width stays near mean +/- 7 sd
 * instead of growing to N: a sum over 100k admissions with small p stays a
 * few hundred entries wide.  Every mass dropped is added to "trimmed", so
 * every pmf entry, CDF value and exceedance probability is within
 * trimmed_mass() of the exact value.  The pmf is not renormalised.
 *
 * Aggregate state (internal, in the aggregate memory context): one growing
 * float8 buffer; a Bernoulli step is an in-place convolution from the top
 * down, O(width).  The live window is buf[start .. start+len); left trimming
 * only advances start, and the window is moved back to the front when the
 * buffer's end is reached.  Combine convolves two states, O(width1*width2).
 * Serialize/deserialize and send/recv use one network-order byte format;
 * every count is checked against the bytes present before anything is
 * allocated, and every probability is checked to be finite and in [0, 1].
 *
 * Float semantics: plain IEEE double sums; parallel plans convolve the same
 * factors in another order (and trim at other points), so parallel and
 * serial results agree to rounding plus trimming, not bit for bit.
 */
#include "icu_predict.h"
#include "icu_common.h"

#include <float.h>
#include <math.h>

#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

/* Largest tail mass dropped from either end of a finished distribution. */
#define ICU_DEMAND_TRIM		1e-12

/* Largest tail mass dropped from either end of a working (aggregate) state. */
#define ICU_DEMAND_WORK_TRIM	1e-15

/* Working states cut a tail only when this many entries can go at once. */
#define ICU_DEMAND_TRIM_BATCH	32

/* Sum of the pmf read from text or bytes must be 1 - trimmed within this. */
#define ICU_DEMAND_SUM_TOL	1e-6

/* Largest count (index) a distribution may reach. */
#define ICU_DEMAND_MAX_COUNT	PG_INT32_MAX

/* On-disk type: varlena, double-aligned. */
typedef struct IcuBedDemand
{
	int32		vl_len_;		/* varlena header (do not touch directly) */
	int32		offset;			/* count of pmf[0] */
	int32		n;				/* number of pmf entries, >= 1 */
	int32		reserved;		/* zero; keeps pmf 8-byte aligned */
	float8		trimmed;		/* probability mass dropped so far */
	float8		pmf[FLEXIBLE_ARRAY_MEMBER];
} IcuBedDemand;

#define ICU_DEMAND_HDRSZ	offsetof(IcuBedDemand, pmf)
#define ICU_DEMAND_MAX_N	((int32) ((MaxAllocSize - ICU_DEMAND_HDRSZ) / sizeof(float8)))

#define DatumGetBedDemandP(X)	((IcuBedDemand *) PG_DETOAST_DATUM(X))
#define PG_GETARG_BED_DEMAND_P(n)	DatumGetBedDemandP(PG_GETARG_DATUM(n))

/* Aggregate state: the live window is buf[start .. start+len). */
typedef struct IcuDemandState
{
	int64		offset;			/* count of buf[start] */
	int32		start;
	int32		len;
	int32		cap;
	float8		trimmed;
	float8	   *buf;
} IcuDemandState;

/* ------------------------------------------------------------------------
 * State helpers
 * ------------------------------------------------------------------------ */

static IcuDemandState *
demand_state_new(MemoryContext cxt, int64 offset, int32 cap)
{
	IcuDemandState *st = MemoryContextAllocZero(cxt, sizeof(IcuDemandState));

	if (cap < 16)
		cap = 16;
	st->buf = MemoryContextAlloc(cxt, sizeof(float8) * cap);
	st->cap = cap;
	st->offset = offset;
	st->start = 0;
	st->len = 0;
	st->trimmed = 0.0;
	return st;
}

/* The point mass at 0: the distribution of an empty set of patients. */
static IcuDemandState *
demand_state_unit(MemoryContext cxt)
{
	IcuDemandState *st = demand_state_new(cxt, 0, 64);

	st->buf[0] = 1.0;
	st->len = 1;
	return st;
}

static void
demand_check_count(int64 top)
{
	if (top > ICU_DEMAND_MAX_COUNT)
		ereport(ERROR,
				(errcode(ICU_ERR_RANGE),
				 errmsg("bed demand count out of range"),
				 errdetail("The distribution would reach count " INT64_FORMAT ", above %d.",
						   top, ICU_DEMAND_MAX_COUNT)));
}

/* Make room for one more entry after the live window. */
static void
demand_state_make_room(IcuDemandState *st, MemoryContext cxt)
{
	if (st->start + st->len < st->cap)
		return;
	if (st->start > 0)
	{
		memmove(st->buf, st->buf + st->start, sizeof(float8) * st->len);
		st->start = 0;
		if (st->len < st->cap)
			return;
	}
	if (st->cap >= ICU_DEMAND_MAX_N / 2)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("bed demand distribution too wide")));
	st->cap *= 2;
	st->buf = repalloc(st->buf, sizeof(float8) * st->cap);
}

/*
 * Drop leading and trailing entries whose summed mass stays below the trim
 * threshold (at least one entry always stays), and account for it.  A tail
 * is cut only when at least `batch` entries can go: each cut loses up to
 * 1e-12, so cutting in batches loses about 1/batch of what cutting one entry
 * per step would, at the price of a slightly wider window.
 */
static void
demand_trim(float8 *pmf, int32 *start, int32 *len, int64 *offset,
			float8 *trimmed, float8 threshold, int32 batch)
{
	float8		cut;
	int32		c;

	cut = 0.0;
	c = 0;
	while (c < *len - 1 && cut + pmf[*start + c] < threshold)
		cut += pmf[*start + c++];
	if (c >= batch)
	{
		*start += c;
		*len -= c;
		*offset += c;
		*trimmed += cut;
	}

	cut = 0.0;
	c = 0;
	while (c < *len - 1 && cut + pmf[*start + *len - 1 - c] < threshold)
		cut += pmf[*start + *len - 1 - c++];
	if (c >= batch)
	{
		*len -= c;
		*trimmed += cut;
	}
}

/* Convolve one Bernoulli(p) into the state, in place. */
static void
demand_state_add_bernoulli(IcuDemandState *st, float8 p, MemoryContext cxt)
{
	float8	   *a;
	float8		q = 1.0 - p;
	int32		k;

	if (p == 0.0)
		return;
	demand_check_count(st->offset + st->len);
	demand_state_make_room(st, cxt);
	a = st->buf + st->start;
	a[st->len] = p * a[st->len - 1];
	for (k = st->len - 1; k > 0; k--)
		a[k] = q * a[k] + p * a[k - 1];
	a[0] = q * a[0];
	st->len++;
	demand_trim(st->buf, &st->start, &st->len, &st->offset, &st->trimmed, ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
}

/*
 * Convolve pmf b (nb entries starting at count boff, trimmed mass btrim) into
 * the state.  The result replaces the state's buffer.
 */
static void
demand_state_convolve(IcuDemandState *st, const float8 *b, int32 nb,
					  int64 boff, float8 btrim, MemoryContext cxt)
{
	const float8 *a = st->buf + st->start;
	int32		na = st->len;
	int32		nr;
	int32		cap;
	float8	   *r;
	int32		i,
				j;
	int32		rstart = 0;

	demand_check_count(st->offset + boff + (int64) na + nb - 2);
	nr = na + nb - 1;
	cap = Max(nr + nr / 2, 16);
	if (cap > ICU_DEMAND_MAX_N)
		cap = nr;
	r = MemoryContextAllocZero(cxt, sizeof(float8) * cap);
	for (i = 0; i < na; i++)
	{
		float8		ai = a[i];

		/* O(na * nb): two wide distributions take long; stay cancellable */
		CHECK_FOR_INTERRUPTS();
		if (ai == 0.0)
			continue;
		for (j = 0; j < nb; j++)
			r[i + j] += ai * b[j];
	}
	pfree(st->buf);
	st->buf = r;
	st->cap = cap;
	st->start = 0;
	st->len = nr;
	st->offset += boff;

	/*
	 * Mass trimmed before on either side is an upper bound for the error each
	 * side contributes to every entry of the convolution.
	 */
	st->trimmed += btrim;
	demand_trim(st->buf, &rstart, &st->len, &st->offset, &st->trimmed, ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
	st->start = rstart;
}

static IcuDemandState *
demand_state_copy(const IcuDemandState *src, MemoryContext cxt)
{
	IcuDemandState *st = demand_state_new(cxt, src->offset, src->len + 16);

	memcpy(st->buf, src->buf + src->start, sizeof(float8) * src->len);
	st->len = src->len;
	st->trimmed = src->trimmed;
	return st;
}

static IcuBedDemand *
demand_from_pmf(const float8 *pmf, int32 n, int64 offset, float8 trimmed)
{
	Size		sz = ICU_DEMAND_HDRSZ + sizeof(float8) * (Size) n;
	IcuBedDemand *d = palloc0(sz);

	SET_VARSIZE(d, sz);
	d->offset = (int32) offset;
	d->n = n;
	d->trimmed = trimmed;
	memcpy(d->pmf, pmf, sizeof(float8) * n);
	return d;
}

/* The value of a state, with its tails cut to the threshold (state unchanged). */
static IcuBedDemand *
demand_from_state(const IcuDemandState *st)
{
	int32		start = st->start;
	int32		len = st->len;
	int64		offset = st->offset;
	float8		trimmed = st->trimmed;

	demand_trim(st->buf, &start, &len, &offset, &trimmed, ICU_DEMAND_TRIM, 1);
	return demand_from_pmf(st->buf + start, len, offset, trimmed);
}

static IcuDemandState *
demand_state_from_value(const IcuBedDemand *d, MemoryContext cxt)
{
	IcuDemandState *st = demand_state_new(cxt, d->offset, d->n + 16);

	memcpy(st->buf, d->pmf, sizeof(float8) * d->n);
	st->len = d->n;
	st->trimmed = d->trimmed;
	return st;
}

/* ------------------------------------------------------------------------
 * Validation shared by text input, recv and deserialize
 * ------------------------------------------------------------------------ */

/*
 * Check a decoded distribution; on failure report errcode with a message
 * naming what is wrong.
 */
static void
demand_validate(int64 offset, const float8 *pmf, int32 n, float8 trimmed,
				int sqlstate, const char *what)
{
	float8		sum = 0.0;
	int32		i;

	if (n < 1)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: the pmf must have at least one entry", what)));
	if (offset < 0 || offset + (int64) n - 1 > ICU_DEMAND_MAX_COUNT)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: offset " INT64_FORMAT " out of range", what, offset)));
	if (isnan(trimmed) || trimmed < 0.0 || trimmed > 1.0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: trimmed mass %g is not in [0, 1]", what, trimmed)));
	for (i = 0; i < n; i++)
	{
		if (isnan(pmf[i]) || pmf[i] < 0.0 || pmf[i] > 1.0)
			ereport(ERROR,
					(errcode(sqlstate),
					 errmsg("invalid %s: probability %g at position %d is not in [0, 1]",
							what, pmf[i], i + 1)));
		sum += pmf[i];
	}
	if (fabs(sum + trimmed - 1.0) > ICU_DEMAND_SUM_TOL)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: probabilities sum to %.17g", what, sum),
				 errdetail("The pmf plus the trimmed mass must sum to 1 (within %g).",
						   ICU_DEMAND_SUM_TOL)));
}

/* ------------------------------------------------------------------------
 * Text I/O:  {"offset": 2, "trimmed": 0, "pmf": [0.25, 0.5, 0.25]}
 * ------------------------------------------------------------------------ */

typedef struct DemandParser
{
	const char *s;				/* whole input, for messages */
	const char *p;				/* cursor */
} DemandParser;

ICU_NORETURN static void
demand_syntax_error(DemandParser *ps, const char *expected)
{
	ereport(ERROR,
			(errcode(ICU_ERR_TEXT),
			 errmsg("invalid input syntax for type bed_demand: \"%s\"", ps->s),
			 errdetail("Expected %s at character %d.", expected,
					   (int) (ps->p - ps->s) + 1),
			 errhint("Write it as {\"offset\": 0, \"pmf\": [0.25, 0.5, 0.25]}; \"trimmed\" is optional.")));
}

static void
demand_skip_ws(DemandParser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static void
demand_expect(DemandParser *ps, char c, const char *expected)
{
	demand_skip_ws(ps);
	if (*ps->p != c)
		demand_syntax_error(ps, expected);
	ps->p++;
}

/* A JSON number: -?digits[.digits][(e|E)[+-]digits]; no NaN or Infinity. */
static float8
demand_parse_number(DemandParser *ps)
{
	const char *q;
	char	   *end;
	float8		v;

	demand_skip_ws(ps);
	q = ps->p;
	if (*q == '-')
		q++;
	if (!isdigit((unsigned char) *q))
		demand_syntax_error(ps, "a number");
	while (isdigit((unsigned char) *q))
		q++;
	if (*q == '.')
	{
		q++;
		if (!isdigit((unsigned char) *q))
			demand_syntax_error(ps, "a number");
		while (isdigit((unsigned char) *q))
			q++;
	}
	if (*q == 'e' || *q == 'E')
	{
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char) *q))
			demand_syntax_error(ps, "a number");
		while (isdigit((unsigned char) *q))
			q++;
	}
	errno = 0;
	v = strtod(ps->p, &end);
	if (end != q || isinf(v))
		demand_syntax_error(ps, "a finite number");
	ps->p = q;
	return v;
}

/* Returns the key's index in keys[], or errors. */
static int
demand_parse_key(DemandParser *ps)
{
	static const char *const keys[] = {"offset", "trimmed", "pmf"};
	int			i;

	demand_expect(ps, '"', "a quoted key (\"offset\", \"trimmed\" or \"pmf\")");
	for (i = 0; i < 3; i++)
	{
		size_t		l = strlen(keys[i]);

		if (strncmp(ps->p, keys[i], l) == 0 && ps->p[l] == '"')
		{
			ps->p += l + 1;
			return i;
		}
	}
	ps->p--;
	demand_syntax_error(ps, "\"offset\", \"trimmed\" or \"pmf\"");
}

PG_FUNCTION_INFO_V1(icu_bed_demand_in);
Datum
icu_bed_demand_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	DemandParser ps = {str, str};
	bool		seen[3] = {false, false, false};
	float8		offset_v = 0.0;
	float8		trimmed = 0.0;
	float8	   *pmf = NULL;
	int32		n = 0;
	int32		cap = 0;

	demand_expect(&ps, '{', "\"{\"");
	for (;;)
	{
		int			key = demand_parse_key(&ps);

		if (seen[key])
			demand_syntax_error(&ps, "each key only once");
		seen[key] = true;
		demand_expect(&ps, ':', "\":\"");
		if (key == 0)
		{
			offset_v = demand_parse_number(&ps);
			if (offset_v != floor(offset_v) || offset_v < 0 ||
				offset_v > ICU_DEMAND_MAX_COUNT)
				ereport(ERROR,
						(errcode(ICU_ERR_TEXT),
						 errmsg("invalid input syntax for type bed_demand: \"%s\"", str),
						 errdetail("The offset must be a whole number from 0 to %d, not %g.",
								   ICU_DEMAND_MAX_COUNT, offset_v)));
		}
		else if (key == 1)
			trimmed = demand_parse_number(&ps);
		else
		{
			demand_expect(&ps, '[', "\"[\"");
			cap = 16;
			pmf = palloc(sizeof(float8) * cap);
			for (;;)
			{
				if (n == cap)
				{
					if (cap >= ICU_DEMAND_MAX_N / 2)
						demand_syntax_error(&ps, "a shorter pmf");
					cap *= 2;
					pmf = repalloc(pmf, sizeof(float8) * cap);
				}
				pmf[n++] = demand_parse_number(&ps);
				demand_skip_ws(&ps);
				if (*ps.p == ',')
				{
					ps.p++;
					continue;
				}
				demand_expect(&ps, ']', "\",\" or \"]\"");
				break;
			}
		}
		demand_skip_ws(&ps);
		if (*ps.p == ',')
		{
			ps.p++;
			continue;
		}
		demand_expect(&ps, '}', "\",\" or \"}\"");
		break;
	}
	demand_skip_ws(&ps);
	if (*ps.p != '\0')
		demand_syntax_error(&ps, "end of input");
	if (!seen[0] || !seen[2])
		demand_syntax_error(&ps, "both \"offset\" and \"pmf\" keys");

	demand_validate((int64) offset_v, pmf, n, trimmed,
					ICU_ERR_TEXT, "bed_demand input");
	PG_RETURN_POINTER(demand_from_pmf(pmf, n, (int64) offset_v, trimmed));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_out);
Datum
icu_bed_demand_out(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	StringInfoData buf;
	int32		i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"offset\": %d, \"trimmed\": ", d->offset);
	icu_append_double(&buf, d->trimmed);
	appendStringInfoString(&buf, ", \"pmf\": [");
	for (i = 0; i < d->n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		icu_append_double(&buf, d->pmf[i]);
	}
	appendStringInfoString(&buf, "]}");
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------------------
 * Binary format (send/recv and the aggregate's serialize/deserialize):
 *   int32 offset, int32 n, float8 trimmed, n x float8 pmf   (network order)
 * ------------------------------------------------------------------------ */

static void
demand_send_pmf(StringInfo buf, const float8 *pmf, int32 n, int64 offset, float8 trimmed)
{
	int32		i;

	pq_sendint32(buf, (int32) offset);
	pq_sendint32(buf, n);
	pq_sendfloat8(buf, trimmed);
	for (i = 0; i < n; i++)
		pq_sendfloat8(buf, pmf[i]);
}

/*
 * Read the binary format from buf; returns the pmf (palloc'd in the current
 * context) after checking the count against the bytes left and validating
 * every value.
 */
static float8 *
demand_recv_pmf(StringInfo buf, int32 *n_out, int64 *offset_out,
				float8 *trimmed_out, int sqlstate, const char *what)
{
	int32		offset;
	int32		n;
	float8		trimmed;
	float8	   *pmf;
	int32		i;

	if (buf->len - buf->cursor < (int) (2 * sizeof(int32) + sizeof(float8)))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: %d bytes is too short for the header", what,
						buf->len - buf->cursor)));
	offset = pq_getmsgint(buf, 4);
	n = pq_getmsgint(buf, 4);
	trimmed = pq_getmsgfloat8(buf);
	if (n < 1 || (int64) n * (int64) sizeof(float8) != (int64) (buf->len - buf->cursor))
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: pmf length %d does not match the %d bytes left",
						what, n, buf->len - buf->cursor)));
	pmf = palloc(sizeof(float8) * n);
	for (i = 0; i < n; i++)
		pmf[i] = pq_getmsgfloat8(buf);
	demand_validate(offset, pmf, n, trimmed, sqlstate, what);
	*n_out = n;
	*offset_out = offset;
	*trimmed_out = trimmed;
	return pmf;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_send);
Datum
icu_bed_demand_send(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	demand_send_pmf(&buf, d->pmf, d->n, d->offset, d->trimmed);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_recv);
Datum
icu_bed_demand_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int32		n;
	int64		offset;
	float8		trimmed;
	float8	   *pmf;

	pmf = demand_recv_pmf(buf, &n, &offset, &trimmed,
						  ICU_ERR_BINARY, "binary bed_demand");
	PG_RETURN_POINTER(demand_from_pmf(pmf, n, offset, trimmed));
}

/* ------------------------------------------------------------------------
 * Aggregates
 * ------------------------------------------------------------------------ */

/* bed_demand(p float8): transition. */
PG_FUNCTION_INFO_V1(icu_bed_demand_accum);
Datum
icu_bed_demand_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_accum");
	IcuDemandState *st = PG_ARGISNULL(0) ? NULL : (IcuDemandState *) PG_GETARG_POINTER(0);
	float8		p;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	p = PG_GETARG_FLOAT8(1);
	if (!(p >= 0.0 && p <= 1.0))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("bed_demand probability %g is outside [0, 1]", p),
				 errhint("Pass one admission's probability of needing a bed; NULL rows are skipped.")));
	if (st == NULL)
		st = demand_state_unit(aggcxt);
	demand_state_add_bernoulli(st, p, aggcxt);
	PG_RETURN_POINTER(st);
}

/* bed_demand_sum(d bed_demand): transition. */
PG_FUNCTION_INFO_V1(icu_bed_demand_merge_accum);
Datum
icu_bed_demand_merge_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_merge_accum");
	IcuDemandState *st = PG_ARGISNULL(0) ? NULL : (IcuDemandState *) PG_GETARG_POINTER(0);
	IcuBedDemand *d;

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	d = PG_GETARG_BED_DEMAND_P(1);
	if (st == NULL)
		st = demand_state_from_value(d, aggcxt);
	else
		demand_state_convolve(st, d->pmf, d->n, d->offset, d->trimmed, aggcxt);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_combine);
Datum
icu_bed_demand_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_combine");
	IcuDemandState *s1 = PG_ARGISNULL(0) ? NULL : (IcuDemandState *) PG_GETARG_POINTER(0);
	IcuDemandState *s2 = PG_ARGISNULL(1) ? NULL : (IcuDemandState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
		PG_RETURN_POINTER(demand_state_copy(s2, aggcxt));
	demand_state_convolve(s1, s2->buf + s2->start, s2->len, s2->offset,
						  s2->trimmed, aggcxt);
	PG_RETURN_POINTER(s1);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_serialize);
Datum
icu_bed_demand_serialize(PG_FUNCTION_ARGS)
{
	IcuDemandState *st;
	StringInfoData buf;

	(void) icu_agg_context(fcinfo, "icu_bed_demand_serialize");
	st = (IcuDemandState *) PG_GETARG_POINTER(0);
	pq_begintypsend(&buf);
	demand_send_pmf(&buf, st->buf + st->start, st->len, st->offset, st->trimmed);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_deserialize);
Datum
icu_bed_demand_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = icu_agg_context(fcinfo, "icu_bed_demand_deserialize");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	IcuDemandState *st;
	int32		n;
	int64		offset;
	float8		trimmed;
	float8	   *pmf;

	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	pmf = demand_recv_pmf(&buf, &n, &offset, &trimmed,
						  ICU_ERR_BINARY,
						  "serialized bed_demand state");
	st = demand_state_new(aggcxt, offset, n + 16);
	memcpy(st->buf, pmf, sizeof(float8) * n);
	st->len = n;
	st->trimmed = trimmed;
	pfree(pmf);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_final);
Datum
icu_bed_demand_final(PG_FUNCTION_ARGS)
{
	IcuDemandState *st;

	(void) icu_agg_context(fcinfo, "icu_bed_demand_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (IcuDemandState *) PG_GETARG_POINTER(0);
	PG_RETURN_POINTER(demand_from_state(st));
}

/* ------------------------------------------------------------------------
 * Plain functions over values
 * ------------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(icu_bed_demand_add);
Datum
icu_bed_demand_add(PG_FUNCTION_ARGS)
{
	IcuBedDemand *a = PG_GETARG_BED_DEMAND_P(0);
	IcuBedDemand *b = PG_GETARG_BED_DEMAND_P(1);
	IcuDemandState *st = demand_state_from_value(a, CurrentMemoryContext);

	demand_state_convolve(st, b->pmf, b->n, b->offset, b->trimmed, CurrentMemoryContext);
	PG_RETURN_POINTER(demand_from_state(st));
}

static void
demand_check_lambda(float8 lambda)
{
	if (!(lambda >= 0.0 && lambda <= 1e8))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("Poisson arrival rate %g is outside [0, 1e8]", lambda)));
}

/*
 * The Poisson(lambda) pmf from its mode outwards, in log space (no
 * underflow for large lambda), stopping where each tail's remaining mass is
 * below the trim threshold.  Returns a state.
 */
static IcuDemandState *
demand_poisson_state(float8 lambda, MemoryContext cxt)
{
	int64		mode;
	int64		lo,
				hi;
	float8		loglam;
	IcuDemandState *st;
	int32		k;
	float8		total = 0.0;

	if (lambda == 0.0)
		return demand_state_unit(cxt);

	mode = (int64) floor(lambda);
	loglam = log(lambda);

	/* walk out from the mode while entries are at least 1e-15 */
	lo = mode;
	while (lo > 0 &&
		   exp((lo - 1) * loglam - lambda - lgamma((float8) lo)) >= ICU_DEMAND_TRIM * 1e-3)
		lo--;
	hi = mode;
	while (exp((hi + 1) * loglam - lambda - lgamma((float8) hi + 2.0)) >= ICU_DEMAND_TRIM * 1e-3)
		hi++;
	demand_check_count(hi);

	st = demand_state_new(cxt, lo, (int32) (hi - lo + 1));
	for (k = 0; k <= hi - lo; k++)
	{
		int64		c = lo + k;

		st->buf[k] = exp(c * loglam - lambda - lgamma((float8) c + 1.0));
		total += st->buf[k];
	}
	st->len = (int32) (hi - lo + 1);
	/* the tails beyond lo and hi (each entry < 1e-15) count as trimmed */
	st->trimmed = Max(0.0, 1.0 - total);
	demand_trim(st->buf, &st->start, &st->len, &st->offset, &st->trimmed, ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
	return st;
}

PG_FUNCTION_INFO_V1(icu_bed_demand_poisson);
Datum
icu_bed_demand_poisson(PG_FUNCTION_ARGS)
{
	float8		lambda = PG_GETARG_FLOAT8(0);

	demand_check_lambda(lambda);
	PG_RETURN_POINTER(demand_from_state(demand_poisson_state(lambda, CurrentMemoryContext)));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_add_poisson);
Datum
icu_bed_demand_add_poisson(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		lambda = PG_GETARG_FLOAT8(1);
	IcuDemandState *pois;
	IcuDemandState *st;

	demand_check_lambda(lambda);
	if (lambda == 0.0)
		PG_RETURN_POINTER(d);
	pois = demand_poisson_state(lambda, CurrentMemoryContext);
	st = demand_state_from_value(d, CurrentMemoryContext);
	demand_state_convolve(st, pois->buf + pois->start, pois->len, pois->offset,
						  pois->trimmed, CurrentMemoryContext);
	PG_RETURN_POINTER(demand_from_state(st));
}

PG_FUNCTION_INFO_V1(icu_bed_demand_mean);
Datum
icu_bed_demand_mean(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		m = 0.0;
	int32		i;

	/* relative to the offset, then shifted: keeps the sum small and exact */
	for (i = 0; i < d->n; i++)
		m += (float8) i * d->pmf[i];
	PG_RETURN_FLOAT8((float8) d->offset + m);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_variance);
Datum
icu_bed_demand_variance(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		m = 0.0;
	float8		v = 0.0;
	int32		i;

	for (i = 0; i < d->n; i++)
		m += (float8) i * d->pmf[i];
	for (i = 0; i < d->n; i++)
	{
		float8		dev = (float8) i - m;

		v += dev * dev * d->pmf[i];
	}
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_quantile);
Datum
icu_bed_demand_quantile(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	float8		q = PG_GETARG_FLOAT8(1);
	float8		cum = 0.0;
	float8		target;
	int32		i;

	if (!(q >= 0.0 && q <= 1.0))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("quantile level %g is outside [0, 1]", q)));

	/*
	 * Smallest k with CDF(k) >= q, allowing 1e-12 for rounding and trimming;
	 * if rounding keeps the CDF below q, the largest kept count.
	 */
	target = q - ICU_DEMAND_TRIM;
	for (i = 0; i < d->n; i++)
	{
		cum += d->pmf[i];
		if (cum >= target && (q > 0.0 || d->pmf[i] > 0.0))
			PG_RETURN_INT32(d->offset + i);
	}
	PG_RETURN_INT32(d->offset + d->n - 1);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_prob_exceeds);
Datum
icu_bed_demand_prob_exceeds(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	int64		k = PG_GETARG_INT32(1);
	float8		s = 0.0;
	int32		i;

	/* summed from the top, so small tail probabilities keep their precision */
	for (i = d->n - 1; i >= 0 && (int64) d->offset + i > k; i--)
		s += d->pmf[i];
	PG_RETURN_FLOAT8(s);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_trimmed_mass);
Datum
icu_bed_demand_trimmed_mass(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);

	PG_RETURN_FLOAT8(d->trimmed);
}

PG_FUNCTION_INFO_V1(icu_bed_demand_pmf);
Datum
icu_bed_demand_pmf(PG_FUNCTION_ARGS)
{
	IcuBedDemand *d = PG_GETARG_BED_DEMAND_P(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < d->n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = Int32GetDatum(d->offset + i);
		values[1] = Float8GetDatum(d->pmf[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
