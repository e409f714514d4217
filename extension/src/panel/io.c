/*
 * io.c — lab_panel text input/output (JSON), binary send/recv, and the cast
 * to jsonb (icu_lab_panel_in, _out, _send, _recv, _jsonb).
 *
 * Text is read through the common JSON reader (icu_json.h) and must not
 * hold unknown keys; numbers are written shortest round-trip, so text
 * round trips are exact (-0 is stored as 0: JSON has no negative zero).
 * Binary input checks every length against the bytes present.  Both end in
 * panel_build, so a malformed value is 22P02 from text and 22P03 from
 * binary, with the same messages.
 */
#include "panel_int.h"
#include "icu_json.h"

#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"

static void
append_ts(StringInfo buf, TimestampTz t)
{
	char		tmp[MAXDATELEN + 1];

	JsonEncodeDateTime(tmp, TimestampTzGetDatum(t), TIMESTAMPTZOID, NULL);
	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, tmp);
	appendStringInfoChar(buf, '"');
}

static char *
panel_to_cstring(const LabPanel *p)
{
	StringInfoData buf;
	const char *names = PANEL_NAMES(p);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"admission_id\": ");
	if (p->flags & PH_HAS_ADMISSION)
		appendStringInfo(&buf, INT64_FORMAT, p->admission_id);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"as_of\": ");
	append_ts(&buf, p->as_of);
	appendStringInfoString(&buf, ", \"trend_window_hours\": ");
	icu_append_double(&buf, p->window_hours);
	appendStringInfoString(&buf, ", \"features\": {");
	for (int i = 0; i < p->nfeat; i++)
	{
		const PanelFeat *f = &p->feat[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "\"%.*s\": {\"count\": %d, \"rejected\": %d",
						 (int) f->name_len, names + f->name_off, f->count, f->rejected);
		if (f->count > 0)
		{
			appendStringInfoString(&buf, ", \"last\": ");
			icu_append_double(&buf, f->last);
			appendStringInfoString(&buf, ", \"last_at\": ");
			append_ts(&buf, f->last_at);
			appendStringInfoString(&buf, ", \"prev\": ");
			if (f->flags & PF_HAS_PREV)
				icu_append_double(&buf, f->prev);
			else
				appendStringInfoString(&buf, "null");
			appendStringInfoString(&buf, ", \"first\": ");
			icu_append_double(&buf, f->first);
			appendStringInfoString(&buf, ", \"min\": ");
			icu_append_double(&buf, f->min);
			appendStringInfoString(&buf, ", \"max\": ");
			icu_append_double(&buf, f->max);
			appendStringInfoString(&buf, ", \"mean\": ");
			icu_append_double(&buf, f->mean);
			appendStringInfoString(&buf, ", \"trend\": ");
			if (f->flags & PF_HAS_TREND)
				icu_append_double(&buf, f->trend);
			else
				appendStringInfoString(&buf, "null");
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "}}");
	return buf.data;
}

PG_FUNCTION_INFO_V1(icu_lab_panel_out);
Datum
icu_lab_panel_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(panel_to_cstring(panel_fetch(PG_GETARG_DATUM(0))));
}

#define BAD_TEXT(...) icu_invalid_input(ICU_INPUT_TEXT, "lab_panel", __VA_ARGS__)
#define BAD_BINARY(...) icu_invalid_input(ICU_INPUT_BINARY, "lab_panel", __VA_ARGS__)

static bool
is_stat_key(const char *key)
{
	return icu_panel_stat_from_name(key) >= 0;
}

static LabPanel *
panel_from_cstring(const char *str)
{
	static const char *const top_keys[] = {"admission_id", "as_of", "trend_window_hours", "features"};
	static const char *const feature_keys[] = {"last_at"};
	Jsonb	   *jb;
	JsonbContainer *root;
	JsonbValue	v;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbContainer *feats;
	FeatIn	   *f;
	int			n = 0,
				cap;
	bool		has_adm = false;
	int64		adm = 0;
	TimestampTz as_of;
	double		window;

	jb = icu_json_object_in(str, "lab_panel");
	root = &jb->root;
	/* no unknown keys: a typo should not pass silently */
	icu_json_check_keys(root, top_keys, lengthof(top_keys), NULL, "lab_panel", NULL);
	if (icu_json_get(root, "admission_id", &v))
	{
		Datum		num;

		if (v.type != jbvNumeric)
			BAD_TEXT("the panel needs a number \"admission_id\"");
		/*
		 * Exact for every bigint (the aggregate and binary input take any):
		 * numeric_int8 rounds and raises 22003 out of range; a round trip
		 * through int8 tells whole numbers from fractions.
		 */
		num = NumericGetDatum(v.val.numeric);
		adm = DatumGetInt64(DirectFunctionCall1(numeric_int8, num));
		if (!DatumGetBool(DirectFunctionCall2(numeric_eq, num,
											  DirectFunctionCall1(int8_numeric, Int64GetDatum(adm)))))
			BAD_TEXT("admission_id must be a whole number");
		has_adm = true;
	}
	as_of = icu_json_time(root, "as_of", "lab_panel", "the panel");
	window = icu_json_number(root, "trend_window_hours", "lab_panel", "the panel");
	if (!icu_json_get(root, "features", &v) || v.type != jbvBinary ||
		!JsonContainerIsObject(v.val.binary.data))
		BAD_TEXT("expected an object \"features\"");
	feats = v.val.binary.data;

	cap = Max(JsonContainerSize(feats), 1);
	if (cap > ICU_PANEL_MAX_FEATURES)
		BAD_TEXT("too many features");
	f = palloc0(sizeof(FeatIn) * cap);
	it = JsonbIteratorInit(feats);
	tok = JsonbIteratorNext(&it, &v, true);	/* WJB_BEGIN_OBJECT */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		FeatIn	   *x;
		JsonbContainer *c;
		JsonbValue	fv;
		const char *what;
		JsonbValue	kv;

		if (tok != WJB_KEY)
			continue;
		if (n >= cap)
			BAD_TEXT("too many features");
		x = &f[n++];
		if (v.val.string.len > ICU_FEATURE_NAME_MAX ||
			!icu_feature_name_ok(v.val.string.val, v.val.string.len))
			BAD_TEXT("\"%.*s\" is not a valid feature name",
					  Min(v.val.string.len, 64), v.val.string.val);
		memcpy(x->name, v.val.string.val, v.val.string.len);
		x->name[v.val.string.len] = '\0';
		what = psprintf("feature \"%s\"", x->name);
		tok = JsonbIteratorNext(&it, &fv, true);
		if (tok != WJB_VALUE || fv.type != jbvBinary || !JsonContainerIsObject(fv.val.binary.data))
			BAD_TEXT("%s must be an object", what);
		c = fv.val.binary.data;
		icu_json_check_keys(c, feature_keys, lengthof(feature_keys), is_stat_key, "lab_panel", what);
		x->count = icu_json_count(c, "count", "lab_panel", what);
		x->rejected = icu_json_count(c, "rejected", "lab_panel", what);
		if (x->count > 0)
		{
			x->last = icu_json_number(c, "last", "lab_panel", what);
			x->last_at = icu_json_time(c, "last_at", "lab_panel", what);
			x->first = icu_json_number(c, "first", "lab_panel", what);
			x->min = icu_json_number(c, "min", "lab_panel", what);
			x->max = icu_json_number(c, "max", "lab_panel", what);
			x->mean = icu_json_number(c, "mean", "lab_panel", what);
			if (icu_json_get(c, "prev", &kv))
			{
				x->has_prev = true;
				x->prev = icu_json_number(c, "prev", "lab_panel", what);
			}
			if (icu_json_get(c, "trend", &kv))
			{
				x->has_trend = true;
				x->trend = icu_json_number(c, "trend", "lab_panel", what);
			}
		}
		else
		{
			const char *const vals[] = {"last", "last_at", "first", "min", "max", "mean", "prev", "trend"};

			for (int i = 0; i < (int) lengthof(vals); i++)
				if (icu_json_get(c, vals[i], &kv))
					BAD_TEXT("%s has count 0 but a \"%s\"", what, vals[i]);
		}
	}
	return panel_build(ICU_INPUT_TEXT, has_adm, adm, as_of, window, f, n);
}

PG_FUNCTION_INFO_V1(icu_lab_panel_in);
Datum
icu_lab_panel_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(panel_from_cstring(PG_GETARG_CSTRING(0)));
}

PG_FUNCTION_INFO_V1(icu_lab_panel_send);
Datum
icu_lab_panel_send(PG_FUNCTION_ARGS)
{
	LabPanel   *p = panel_fetch(PG_GETARG_DATUM(0));
	const char *names = PANEL_NAMES(p);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, PANEL_WIRE_VERSION);
	pq_sendbyte(&buf, (p->flags & PH_HAS_ADMISSION) ? 1 : 0);
	pq_sendint64(&buf, p->admission_id);
	pq_sendint64(&buf, p->as_of);
	pq_sendfloat8(&buf, p->window_hours);
	pq_sendint16(&buf, p->nfeat);
	for (int i = 0; i < p->nfeat; i++)
	{
		const PanelFeat *f = &p->feat[i];

		pq_sendbyte(&buf, f->name_len);
		pq_sendbytes(&buf, names + f->name_off, f->name_len);
		pq_sendbyte(&buf, f->flags);
		pq_sendint32(&buf, f->count);
		pq_sendint32(&buf, f->rejected);
		pq_sendfloat8(&buf, f->last);
		pq_sendint64(&buf, f->last_at);
		pq_sendfloat8(&buf, f->prev);
		pq_sendfloat8(&buf, f->first);
		pq_sendfloat8(&buf, f->min);
		pq_sendfloat8(&buf, f->max);
		pq_sendfloat8(&buf, f->mean);
		pq_sendfloat8(&buf, f->trend);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

static void
recv_need_bytes(StringInfo buf, int n)
{
	if (n < 0 || buf->len - buf->cursor < n)
		BAD_BINARY("binary value is truncated");
}

PG_FUNCTION_INFO_V1(icu_lab_panel_recv);
Datum
icu_lab_panel_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version,
				has_adm,
				n;
	int64		adm;
	TimestampTz as_of;
	double		window;
	FeatIn	   *f;

	recv_need_bytes(buf, 2 + 8 + 8 + 8 + 2);
	version = pq_getmsgbyte(buf);
	has_adm = pq_getmsgbyte(buf);
	if (version != PANEL_WIRE_VERSION || has_adm > 1)
		BAD_BINARY("unknown binary version %d", version);
	adm = pq_getmsgint64(buf);
	as_of = pq_getmsgint64(buf);
	window = pq_getmsgfloat8(buf);
	n = pq_getmsgint(buf, 2);
	if (n > ICU_PANEL_MAX_FEATURES)
		BAD_BINARY("%d features (at most %d allowed)", n, ICU_PANEL_MAX_FEATURES);
	f = palloc0(sizeof(FeatIn) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		FeatIn	   *x = &f[i];
		int			len,
					flags;

		recv_need_bytes(buf, 1);
		len = pq_getmsgbyte(buf);
		if (len < 1 || len > ICU_FEATURE_NAME_MAX)
			BAD_BINARY("bad feature name length %d", len);
		recv_need_bytes(buf, len + 1 + 4 + 4 + 8 * 8);
		pq_copymsgbytes(buf, x->name, len);
		x->name[len] = '\0';
		flags = pq_getmsgbyte(buf);
		if (flags & ~(PF_HAS_PREV | PF_HAS_TREND))
			BAD_BINARY("bad feature flags");
		x->has_prev = (flags & PF_HAS_PREV) != 0;
		x->has_trend = (flags & PF_HAS_TREND) != 0;
		x->count = (int32) pq_getmsgint(buf, 4);
		x->rejected = (int32) pq_getmsgint(buf, 4);
		x->last = pq_getmsgfloat8(buf);
		x->last_at = pq_getmsgint64(buf);
		x->prev = pq_getmsgfloat8(buf);
		x->first = pq_getmsgfloat8(buf);
		x->min = pq_getmsgfloat8(buf);
		x->max = pq_getmsgfloat8(buf);
		x->mean = pq_getmsgfloat8(buf);
		x->trend = pq_getmsgfloat8(buf);
		if (x->count == 0 && (x->last != 0 || x->last_at != 0 || x->prev != 0 ||
							  x->first != 0 || x->min != 0 || x->max != 0 ||
							  x->mean != 0 || x->trend != 0))
			BAD_BINARY("feature \"%s\" has count 0 but statistics", x->name);
		if (!x->has_prev && x->prev != 0)
			BAD_BINARY("feature \"%s\" has a prev value without its flag", x->name);
		if (!x->has_trend && x->trend != 0)
			BAD_BINARY("feature \"%s\" has a trend value without its flag", x->name);
	}
	if (buf->cursor != buf->len)
		BAD_BINARY("trailing bytes in binary value");
	PG_RETURN_POINTER(panel_build(ICU_INPUT_BINARY, has_adm == 1, has_adm ? adm : 0, as_of, window, f, n));
}

PG_FUNCTION_INFO_V1(icu_lab_panel_jsonb);
Datum
icu_lab_panel_jsonb(PG_FUNCTION_ARGS)
{
	char	   *s = panel_to_cstring(panel_fetch(PG_GETARG_DATUM(0)));

	return DirectFunctionCall1(jsonb_in, CStringGetDatum(s));
}

