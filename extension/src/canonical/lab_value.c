/*
 * lab_value.c — the value of a lab row, as lab_row_status derives it:
 *
 *   lab_text_value(text)       the number in a result text: "7.2", "7,2",
 *                              or the bound of a censored result ("<5",
 *                              "> 1000", "<=0.1", "≥ 3", "less than 10",
 *                              "greater than 500"); NULL when the text is no
 *                              number (NEG, 1+, 0-2, HEMOLYZED, NaN, inf)
 *   lab_text_censoring(text)   '<', '<=', '>' or '>=' for a censored
 *                              result, NULL otherwise
 *   canonical_value(v, f, o)   v * f + o, or NULL when that is not a finite
 *                              double or underflows to zero from a non-zero
 *                              product (so one absurd row is a counted
 *                              rejection, never an error for everyone)
 *   feature_catalogue_max()    ICU_PANEL_MAX_FEATURES, the catalogue limit
 *                              the feature table's trigger enforces
 *
 * One parser serves both text functions, so value and flag always agree.
 * A comma is read as the decimal separator when the text has no point
 * ("5,2"); thousands separators are not accepted (they are ambiguous).
 */
#include "icu_predict.h"
#include "icu_common.h"

#include <math.h>
#include <ctype.h>

#include "utils/builtins.h"

typedef enum Censor
{
	CENSOR_NONE, CENSOR_LT, CENSOR_LE, CENSOR_GT, CENSOR_GE
} Censor;

static const char *const censor_names[] = {NULL, "<", "<=", ">", ">="};

static bool
parse_lab_text(const char *s, double *value, Censor *censor)
{
	char		buf[64];
	int			n = 0;
	const char *p = s;
	char	   *end;
	double		v;
	bool		point = false;
	int			commas = 0;

	*censor = CENSOR_NONE;
	while (*p == ' ' || *p == '\t')
		p++;
	if (pg_strncasecmp(p, "less than", 9) == 0)
	{
		*censor = CENSOR_LT;
		p += 9;
	}
	else if (pg_strncasecmp(p, "greater than", 12) == 0)
	{
		*censor = CENSOR_GT;
		p += 12;
	}
	else if (p[0] == '<' || p[0] == '>')
	{
		bool		eq = p[1] == '=';

		*censor = p[0] == '<' ? (eq ? CENSOR_LE : CENSOR_LT) : (eq ? CENSOR_GE : CENSOR_GT);
		p += eq ? 2 : 1;
	}
	else if ((unsigned char) p[0] == 0xE2 && (unsigned char) p[1] == 0x89 &&
			 ((unsigned char) p[2] == 0xA4 || (unsigned char) p[2] == 0xA5))
	{
		*censor = (unsigned char) p[2] == 0xA4 ? CENSOR_LE : CENSOR_GE;	/* ≤ ≥ */
		p += 3;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	/* a plain decimal only: sign, digits, one separator, digits, exponent */
	for (const char *q = p; *q && *q != ' ' && *q != '\t'; q++)
	{
		if (n >= (int) sizeof(buf) - 1)
			return false;
		if (*q == '.')
			point = true;
		if (*q == ',')
			commas++;
		if (!(isdigit((unsigned char) *q) || *q == '.' || *q == ',' || *q == '+' || *q == '-' ||
			  *q == 'e' || *q == 'E'))
			return false;
		buf[n++] = *q;
	}
	buf[n] = '\0';
	for (const char *q = p + n; *q; q++)
		if (*q != ' ' && *q != '\t')
			return false;
	if (n == 0 || (commas > 0 && (point || commas > 1)))
		return false;
	for (int i = 0; i < n; i++)
		if (buf[i] == ',')
			buf[i] = '.';
	if (!isdigit((unsigned char) buf[0]) && !(buf[0] == '.' || buf[0] == '-' || buf[0] == '+'))
		return false;
	errno = 0;
	v = strtod(buf, &end);
	if (*end != '\0' || end == buf || errno != 0 || !isfinite(v))
		return false;
	*value = v;
	return true;
}

PG_FUNCTION_INFO_V1(icu_lab_text_value);
Datum
icu_lab_text_value(PG_FUNCTION_ARGS)
{
	double		v;
	Censor		c;

	if (!parse_lab_text(text_to_cstring(PG_GETARG_TEXT_PP(0)), &v, &c))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}

PG_FUNCTION_INFO_V1(icu_lab_text_censoring);
Datum
icu_lab_text_censoring(PG_FUNCTION_ARGS)
{
	double		v;
	Censor		c;

	if (!parse_lab_text(text_to_cstring(PG_GETARG_TEXT_PP(0)), &v, &c) || c == CENSOR_NONE)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(censor_names[c]));
}

PG_FUNCTION_INFO_V1(icu_canonical_value);
Datum
icu_canonical_value(PG_FUNCTION_ARGS)
{
	double		v = PG_GETARG_FLOAT8(0);
	double		f = PG_GETARG_FLOAT8(1);
	double		o = PG_GETARG_FLOAT8(2);
	double		p = v * f;
	double		r = p + o;

	if (!isfinite(r) || (p == 0 && v != 0 && f != 0 && o == 0))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

PG_FUNCTION_INFO_V1(icu_feature_catalogue_max);
Datum
icu_feature_catalogue_max(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ICU_PANEL_MAX_FEATURES);
}
