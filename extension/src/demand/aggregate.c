/*
 * aggregate.c — the two Poisson-binomial aggregates over rows.
 *
 * SQL objects backed here (extension/sql/30_demand.sql):
 *   aggregate bed_demand(p float8)          one Bernoulli(p) per row
 *   aggregate bed_demand_sum(d bed_demand)  convolution of distributions
 *   support: bed_demand_accum, bed_demand_merge_accum, bed_demand_combine,
 *            bed_demand_serialize, bed_demand_deserialize, bed_demand_final
 *
 * State: an IcuDemandState (demand.h) in the aggregate memory context; a
 * Bernoulli step is an in-place convolution from the top down, O(width);
 * combine convolves two states, O(width1 * width2).  NULL inputs are
 * skipped, combine handles NULL on either side, the final function returns
 * NULL for no input.  Serialize/deserialize use the binary format of the
 * type (type.c), so deserialize validates every length, count and
 * probability before it trusts the bytes.
 */
#include "demand.h"

#include "libpq/pqformat.h"

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
		st = icu_demand_state_unit(aggcxt);
	icu_demand_state_add_bernoulli(st, p, aggcxt);
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
		st = icu_demand_state_from_value(d, aggcxt);
	else
		icu_demand_state_convolve(st, d->pmf, d->n, d->offset, d->trimmed, aggcxt);
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
		PG_RETURN_POINTER(icu_demand_state_copy(s2, aggcxt));
	icu_demand_state_convolve(s1, s2->buf + s2->start, s2->len, s2->offset,
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
	icu_demand_send_pmf(&buf, st->buf + st->start, st->len, st->offset, st->trimmed);
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
	pmf = icu_demand_recv_pmf(&buf, &n, &offset, &trimmed,
						  ICU_ERR_BINARY,
						  "serialized bed_demand state");
	st = icu_demand_state_new(aggcxt, offset, n + 16);
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
	PG_RETURN_POINTER(icu_demand_from_state(st));
}

