/*
 * helpers.c — the shared helpers declared in icu_common.h: the error for
 * malformed input (text 22P02, binary 22P03), the aggregate memory context,
 * the bounded reader and writer of serialized bytes and the shortest-double
 * writer.
 * No SQL objects of their own; every stage calls these instead of keeping a
 * copy (docs/errors.md describes the policy they implement).
 */
#include "icu_common.h"

#include <math.h>

#include "common/shortest_dec.h"

void
icu_invalid_input(IcuInputForm form, const char *what, const char *detail_fmt,...)
{
	char		detail[512];
	va_list		ap;

	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(form == ICU_INPUT_TEXT ? ICU_ERR_TEXT :
					 form == ICU_INPUT_BINARY ? ICU_ERR_BINARY : ICU_ERR_ARGUMENT),
			 errmsg("invalid %s: %s", what, detail)));
	pg_unreachable();
}

MemoryContext
icu_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext ctx;

	if (!AggCheckCallContext(fcinfo, &ctx))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return ctx;
}

const char *
icu_nonfinite_name(double v)
{
	return isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity");
}

void
icu_reader_init(IcuReader *r, const char *data, Size len, IcuInputForm form, const char *what)
{
	r->pos = data;
	r->left = len;
	r->form = form;
	r->what = what;
}

void
icu_read_bytes(IcuReader *r, void *dst, Size n)
{
	if (r->left < n)
		icu_invalid_input(r->form, r->what, "truncated");
	memcpy(dst, r->pos, n);
	r->pos += n;
	r->left -= n;
}

void
icu_writer_init(IcuWriter *w, Size payload)
{
	w->out = (bytea *) palloc(VARHDRSZ + payload);
	SET_VARSIZE(w->out, VARHDRSZ + payload);
	w->pos = VARDATA(w->out);
	w->left = payload;
}

void
icu_write_bytes(IcuWriter *w, const void *src, Size n)
{
	if (w->left < n)
		elog(ERROR, "serialized state: writing %zu bytes with %zu left", n, w->left);
	if (n > 0)
		memcpy(w->pos, src, n);
	w->pos += n;
	w->left -= n;
}

bytea *
icu_writer_finish(IcuWriter *w)
{
	if (w->left != 0)
		elog(ERROR, "serialized state: %zu bytes left unwritten", w->left);
	return w->out;
}

void
icu_append_double(StringInfo buf, double v)
{
	char		tmp[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(v, tmp);
	appendStringInfoString(buf, tmp);
}
