/*
 * type.c — the bed_demand type: validation of a decoded distribution, the
 * JSON-like text form and the binary form.
 *
 * SQL objects backed here (extension/sql/30_demand.sql):
 *   type bed_demand: bed_demand_in, bed_demand_out (text),
 *                    bed_demand_recv, bed_demand_send (binary)
 *
 * Text:   {"offset": 2, "trimmed": 0, "pmf": [0.25, 0.5, 0.25]}; any
 *         whitespace and key order, "trimmed" optional, JSON numbers only
 *         (no NaN or Infinity); errors are 22P02 with the character position.
 *         Output writes the shortest decimal that reads back to the same
 *         double, so d::text::bed_demand is exact.
 * Binary: int32 offset, int32 n, float8 trimmed, n x float8 pmf in network
 *         order; the same format serializes the bed_demand and
 *         bed_demand_sum aggregate states (aggregate.c).  The count is checked
 *         against the bytes present before anything is allocated, and every
 *         value is validated as for text; errors are 22P03.
 */
#include "demand.h"

#include <ctype.h>
#include <math.h>

#include "libpq/pqformat.h"

/* ------------------------------------------------------------------------
 * Validation shared by text input, recv and deserialize
 * ------------------------------------------------------------------------ */

/*
 * Check a decoded distribution; on failure report errcode with a message
 * naming what is wrong.
 */
void
icu_demand_validate(int64 offset, const float8 *pmf, int32 n, float8 trimmed,
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

	icu_demand_validate((int64) offset_v, pmf, n, trimmed,
					ICU_ERR_TEXT, "bed_demand input");
	PG_RETURN_POINTER(icu_demand_from_pmf(pmf, n, (int64) offset_v, trimmed));
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

void
icu_demand_send_pmf(StringInfo buf, const float8 *pmf, int32 n, int64 offset, float8 trimmed)
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
float8 *
icu_demand_recv_pmf(StringInfo buf, int32 *n_out, int64 *offset_out,
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
	icu_demand_validate(offset, pmf, n, trimmed, sqlstate, what);
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
	icu_demand_send_pmf(&buf, d->pmf, d->n, d->offset, d->trimmed);
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

	pmf = icu_demand_recv_pmf(buf, &n, &offset, &trimmed,
						  ICU_ERR_BINARY, "binary bed_demand");
	PG_RETURN_POINTER(icu_demand_from_pmf(pmf, n, offset, trimmed));
}

