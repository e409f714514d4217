/*
 * pmf.c — the arithmetic of bed-demand distributions that every other file
 * of the stage builds on: the working state of the aggregates, tail
 * trimming, one Bernoulli step, convolution, and the conversions between a
 * working state and a finished bed_demand value.  No SQL objects of its own
 * (the functions here back every bed_demand object through the other files).
 *
 * Trimming.  Working states drop leading entries while their summed mass
 * stays below ICU_DEMAND_WORK_TRIM (1e-15), and likewise trailing entries,
 * but only once at least 32 entries can go at a time (each cut loses up to
 * the threshold, so batching keeps the total loss small).  A finished value
 * (final functions, plain functions) is cut once more to ICU_DEMAND_TRIM
 * (1e-12) per tail.  The offset moves with the left end, so the width stays
 * near mean +/- 7 sd instead of growing to N: a sum over 100k admissions with
 * small p stays a few hundred entries wide.  Every mass dropped is added to
 * "trimmed", so every pmf entry, CDF value and exceedance probability is
 * within trimmed_mass() of the exact value.  The pmf is not renormalised.
 *
 * Memory.  The live window is buf[start .. start+len); left trimming only
 * advances start, and the window is moved back to the front when the
 * buffer's end is reached.  A state lives in the context it was made in (the
 * aggregate context for aggregates, CurrentMemoryContext for plain
 * functions); convolution replaces the buffer in the context passed.
 *
 * Float semantics: plain IEEE double sums; convolving the same factors in
 * another order (parallel plans) agrees to rounding plus trimming, not bit
 * for bit.
 */
#include "demand.h"

#include <math.h>

#include "miscadmin.h"

/* ------------------------------------------------------------------------
 * State helpers
 * ------------------------------------------------------------------------ */

IcuDemandState *
icu_demand_state_new(MemoryContext cxt, int64 offset, int32 cap)
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
IcuDemandState *
icu_demand_state_unit(MemoryContext cxt)
{
	IcuDemandState *st = icu_demand_state_new(cxt, 0, 64);

	st->buf[0] = 1.0;
	st->len = 1;
	return st;
}

void
icu_demand_check_count(int64 top)
{
	if (top > ICU_DEMAND_MAX_COUNT)
		ereport(ERROR,
				(errcode(ICU_ERR_RANGE),
				 errmsg("bed demand count out of range"),
				 errdetail("The distribution would reach count " INT64_FORMAT ", above %d.",
						   top, ICU_DEMAND_MAX_COUNT)));
}

/* Make room for one more entry after the live window. */
void
icu_demand_state_make_room(IcuDemandState *st, MemoryContext cxt)
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
void
icu_demand_trim(float8 *pmf, int32 *start, int32 *len, int64 *offset,
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
void
icu_demand_state_add_bernoulli(IcuDemandState *st, float8 p, MemoryContext cxt)
{
	float8	   *a;
	float8		q = 1.0 - p;
	int32		k;

	if (p == 0.0)
		return;
	icu_demand_check_count(st->offset + st->len);
	icu_demand_state_make_room(st, cxt);
	a = st->buf + st->start;
	a[st->len] = p * a[st->len - 1];
	for (k = st->len - 1; k > 0; k--)
		a[k] = q * a[k] + p * a[k - 1];
	a[0] = q * a[0];
	st->len++;
	icu_demand_trim(st->buf, &st->start, &st->len, &st->offset, &st->trimmed, ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
}

/*
 * Convolve pmf b (nb entries starting at count boff, trimmed mass btrim) into
 * the state.  The result replaces the state's buffer.
 */
void
icu_demand_state_convolve(IcuDemandState *st, const float8 *b, int32 nb,
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

	icu_demand_check_count(st->offset + boff + (int64) na + nb - 2);
	if ((int64) na * (int64) nb > ICU_DEMAND_MAX_CONVOLVE_STEPS)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("bed demand distributions of %d and %d entries are too wide to add", na, nb),
				 errdetail("Adding them would take " INT64_FORMAT " steps, above the limit of " INT64_FORMAT ".",
						   (int64) na * (int64) nb, ICU_DEMAND_MAX_CONVOLVE_STEPS),
				 errhint("A bed demand distribution is normally a few hundred entries wide; check where these values came from.")));
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
	icu_demand_trim(st->buf, &rstart, &st->len, &st->offset, &st->trimmed, ICU_DEMAND_WORK_TRIM, ICU_DEMAND_TRIM_BATCH);
	st->start = rstart;
}

IcuDemandState *
icu_demand_state_copy(const IcuDemandState *src, MemoryContext cxt)
{
	IcuDemandState *st = icu_demand_state_new(cxt, src->offset, src->len + 16);

	memcpy(st->buf, src->buf + src->start, sizeof(float8) * src->len);
	st->len = src->len;
	st->trimmed = src->trimmed;
	return st;
}

IcuBedDemand *
icu_demand_from_pmf(const float8 *pmf, int32 n, int64 offset, float8 trimmed)
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
IcuBedDemand *
icu_demand_from_state(const IcuDemandState *st)
{
	int32		start = st->start;
	int32		len = st->len;
	int64		offset = st->offset;
	float8		trimmed = st->trimmed;

	icu_demand_trim(st->buf, &start, &len, &offset, &trimmed, ICU_DEMAND_TRIM, 1);
	return icu_demand_from_pmf(st->buf + start, len, offset, trimmed);
}

IcuDemandState *
icu_demand_state_from_value(const IcuBedDemand *d, MemoryContext cxt)
{
	IcuDemandState *st = icu_demand_state_new(cxt, d->offset, d->n + 16);

	memcpy(st->buf, d->pmf, sizeof(float8) * d->n);
	st->len = d->n;
	st->trimmed = d->trimmed;
	return st;
}

