/*
 * ucum_sql.c — the SQL face of the UCUM converter (canonical/ucum.c):
 *
 *   unit_ucum(unit)                          accepted UCUM spelling, or NULL
 *   unit_factor(from, to [, molar_mass])     multiplier, NULL when not convertible
 *   unit_offset(from, to)                    additive term (temperatures), NULL likewise
 *   unit_conversion_problem(from, to [, molar_mass])   why not, or NULL
 *   unit_convert(value, from, to [, molar_mass])       value in `to`; 22023 when not convertible
 *   unit_spellings()                          the accepted-spellings table
 *
 * lab_row_status calls unit_factor() and unit_offset() for lab rows, so the
 * result of the last few (from, to, molar mass) triples is cached in
 * fn_extra (fn_mcxt): rows of one code come with a handful of units.  A NULL
 * or empty `from` is the unity "1" (a result sent without a unit); a NULL
 * `to` gives NULL.  All functions are IMMUTABLE: the tables are compiled in.
 */
#include "icu_predict.h"
#include "icu_common.h"
#include "ucum.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#define CACHE_N 16
#define UNIT_MAX 96

typedef struct ConvEntry
{
	bool		used;
	char		from[UNIT_MAX];
	char		to[UNIT_MAX];
	bool		has_mm;
	double		mm;
	bool		ok;
	double		factor;
	double		offset;
	char		why[256];
} ConvEntry;

typedef struct ConvCache
{
	int			next;
	ConvEntry	e[CACHE_N];
} ConvCache;

static const ConvEntry *
lookup(FunctionCallInfo fcinfo, int from_arg, int to_arg, int mm_arg)
{
	ConvCache  *c = (ConvCache *) fcinfo->flinfo->fn_extra;
	char	   *from = PG_ARGISNULL(from_arg) ? pstrdup("") : text_to_cstring(PG_GETARG_TEXT_PP(from_arg));
	char	   *to = text_to_cstring(PG_GETARG_TEXT_PP(to_arg));
	bool		has_mm = mm_arg >= 0 && mm_arg < PG_NARGS() && !PG_ARGISNULL(mm_arg);
	double		mm = has_mm ? PG_GETARG_FLOAT8(mm_arg) : 0;
	ConvEntry  *e;
	static ConvEntry scratch;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ConvCache));
		fcinfo->flinfo->fn_extra = c;
	}
	if (strlen(from) < UNIT_MAX && strlen(to) < UNIT_MAX)
	{
		for (int i = 0; i < CACHE_N; i++)
		{
			e = &c->e[i];
			if (e->used && e->has_mm == has_mm && (!has_mm || e->mm == mm) &&
				strcmp(e->from, from) == 0 && strcmp(e->to, to) == 0)
				return e;
		}
		e = &c->e[c->next];
		c->next = (c->next + 1) % CACHE_N;
	}
	else
		e = &scratch;			/* too long to cache: fails in the parser anyway */
	memset(e, 0, sizeof(*e));
	strlcpy(e->from, from, UNIT_MAX);
	strlcpy(e->to, to, UNIT_MAX);
	e->has_mm = has_mm;
	e->mm = mm;
	e->ok = ucum_conversion(from, to, has_mm, mm, &e->factor, &e->offset, e->why, sizeof(e->why));
	e->used = (e != &scratch);
	return e;
}

PG_FUNCTION_INFO_V1(icu_unit_ucum);
Datum
icu_unit_ucum(PG_FUNCTION_ARGS)
{
	UcumUnit	u;
	char		why[256];
	char	   *s = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!ucum_parse_unit(s, &u, why, sizeof(why)))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(u.spelling));
}

PG_FUNCTION_INFO_V1(icu_unit_factor);
Datum
icu_unit_factor(PG_FUNCTION_ARGS)
{
	const ConvEntry *e;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	e = lookup(fcinfo, 0, 1, 2);
	if (!e->ok)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(e->factor);
}

PG_FUNCTION_INFO_V1(icu_unit_offset);
Datum
icu_unit_offset(PG_FUNCTION_ARGS)
{
	const ConvEntry *e;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	e = lookup(fcinfo, 0, 1, 2);
	if (!e->ok)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(e->offset);
}

PG_FUNCTION_INFO_V1(icu_unit_conversion_problem);
Datum
icu_unit_conversion_problem(PG_FUNCTION_ARGS)
{
	const ConvEntry *e;

	if (PG_ARGISNULL(1))
		PG_RETURN_TEXT_P(cstring_to_text("no unit to convert into"));
	e = lookup(fcinfo, 0, 1, 2);
	if (e->ok)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(e->why));
}

PG_FUNCTION_INFO_V1(icu_unit_convert);
Datum
icu_unit_convert(PG_FUNCTION_ARGS)
{
	const ConvEntry *e;
	double		v,
				r;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	v = PG_GETARG_FLOAT8(0);
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("value %s is not a finite number", icu_nonfinite_name(v))));
	e = lookup(fcinfo, 1, 2, 3);
	if (!e->ok)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("cannot convert from unit \"%s\" to \"%s\"", e->from, e->to),
				 errdetail("%s.", e->why),
				 errhint("SELECT * FROM icu_predict.unit_spellings() lists the accepted spellings; mass and substance convert only with a molar mass (feature.molar_mass).")));
	r = v * e->factor + e->offset;
	if (!isfinite(r) || (r == 0 && v != 0 && e->offset == 0))
		ereport(ERROR,
				(errcode(ICU_ERR_RANGE),
				 errmsg("value %g in \"%s\" is out of range in \"%s\"", v, e->from, e->to)));
	PG_RETURN_FLOAT8(r);
}

PG_FUNCTION_INFO_V1(icu_unit_spellings);
Datum
icu_unit_spellings(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *sp,
			   *uc;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; ucum_spelling_entry(i, &sp, &uc); i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(sp);
		values[1] = CStringGetTextDatum(uc);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
