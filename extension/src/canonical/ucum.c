/*
 * ucum.c — parsing and conversion of UCUM units (the Unified Code for Units
 * of Measure, ucum.org), the part lab results need.
 *
 * Backs unit_ucum(), unit_factor(), unit_offset(), unit_convert(),
 * unit_conversion_problem() and unit_spellings() (SQL wrappers in
 * ucum_sql.c), which lab_row_status, lab_canonical and the lab_map check
 * call.  No table access.
 *
 * Grammar (UCUM's, without its rarely used parts):
 *   term      := ['/'] component (('.' | '/') component)*
 *   component := '(' term ')' [exponent] | annotation | factor
 *              | [prefix] atom [exponent] [annotation]
 *   factor    := digits, or 10* / 10^ followed by a signed exponent (10*9)
 * Atoms: g, m, s, L (l), mol, eq and osm (as mol), kat, U (umol/min), Pa,
 * bar, m[Hg], m[H2O], K, Cel, [degF], min, h, d, wk, %, [ppm], [ppth],
 * [IU] and [iU], [arb'U], [HPF], [LPF], [pH].  Prefixes Y ... y, plus "mc"
 * for micro (a common lab spelling); the micro sign and Greek mu are read as
 * "u".  Annotations ({cells}, {FEU}) are unity, as UCUM defines them, with
 * one exception: two units whose annotations differ ({FEU} and {DDU}) are
 * not converted into each other.
 *
 * Reading order of a unit as sent: (1) the accepted-spellings table,
 * case-sensitive entries (G/L, T/L), (2) "10^9", "10E9", "x10^9" rewritten
 * as "10*9", (3) the accepted-spellings table on the unit_key() form (lower
 * case, no spaces: IU/L, K/uL, mmHg, mg/L FEU ...; before UCUM, so K/uL is
 * thousands per microlitre and not kelvin), (4) UCUM as written, (5) UCUM
 * case-insensitively (MG/DL, MMOL/L).
 *
 * Units are scale * base dimensions (metre, gram, second, mole, kelvin,
 * and three dimensions of their own: international units, arbitrary units,
 * pH).  Cel and [degF] are affine: they convert only alone, into each other
 * or into K, with an offset.  Mass <-> amount of substance converts through
 * a molar mass given by the caller (the feature's), never guessed.
 *
 * Float semantics: factors are products and quotients of finite scales;
 * nothing here can overflow for the atoms and prefixes above (the largest
 * prefix is 1e24; exponents are limited to |e| <= 24).
 */
#include "ucum.h"

#include <math.h>
#include <ctype.h>

#include "mb/pg_wchar.h"

typedef struct UcumAtom
{
	const char *code;
	double		scale;
	int8		dim[UCUM_NDIM];	/* m g s mol K IU ARB pH */
	bool		metric;			/* takes a prefix */
	int			special;
} UcumAtom;

#define PA_SCALE 1000.0			/* 1 Pa = 1 kg m-1 s-2 = 1000 g m-1 s-2 */

static const UcumAtom atoms[] = {
	/* longest codes first where one is a prefix-sum of another */
	{"[arb'U]", 1, {0, 0, 0, 0, 0, 0, 1, 0}, false, 0},
	{"[degF]", 5.0 / 9.0, {0, 0, 0, 0, 1, 0, 0, 0}, false, UCUM_DEGF},
	{"m[H2O]", 9806.65 * PA_SCALE, {-1, 1, -2, 0, 0, 0, 0, 0}, true, 0},
	{"m[Hg]", 133322.387415 * PA_SCALE, {-1, 1, -2, 0, 0, 0, 0, 0}, true, 0},
	{"[ppth]", 1e-3, {0}, false, 0},
	{"[ppm]", 1e-6, {0}, false, 0},
	{"[HPF]", 1, {0}, false, 0},
	{"[LPF]", 1, {0}, false, 0},
	{"[IU]", 1, {0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
	{"[iU]", 1, {0, 0, 0, 0, 0, 1, 0, 0}, true, 0},
	{"[pH]", 1, {0}, false, 0},	/* dimensionless: pH is sent without a unit */
	{"mol", 1, {0, 0, 0, 1, 0, 0, 0, 0}, true, 0},
	{"osm", 1, {0, 0, 0, 1, 0, 0, 0, 0}, true, 0},
	{"kat", 1, {0, 0, -1, 1, 0, 0, 0, 0}, true, 0},
	{"bar", 1e5 * PA_SCALE, {-1, 1, -2, 0, 0, 0, 0, 0}, true, 0},
	{"Cel", 1, {0, 0, 0, 0, 1, 0, 0, 0}, true, UCUM_CEL},
	{"min", 60, {0, 0, 1, 0, 0, 0, 0, 0}, false, 0},
	{"eq", 1, {0, 0, 0, 1, 0, 0, 0, 0}, true, 0},
	{"Pa", PA_SCALE, {-1, 1, -2, 0, 0, 0, 0, 0}, true, 0},
	{"wk", 604800, {0, 0, 1, 0, 0, 0, 0, 0}, false, 0},
	{"g", 1, {0, 1, 0, 0, 0, 0, 0, 0}, true, 0},
	{"m", 1, {1, 0, 0, 0, 0, 0, 0, 0}, true, 0},
	{"s", 1, {0, 0, 1, 0, 0, 0, 0, 0}, true, 0},
	{"L", 1e-3, {3, 0, 0, 0, 0, 0, 0, 0}, true, 0},
	{"l", 1e-3, {3, 0, 0, 0, 0, 0, 0, 0}, true, 0},
	{"U", 1e-6 / 60.0, {0, 0, -1, 1, 0, 0, 0, 0}, true, 0},
	{"K", 1, {0, 0, 0, 0, 1, 0, 0, 0}, true, 0},
	{"h", 3600, {0, 0, 1, 0, 0, 0, 0, 0}, false, 0},
	{"d", 86400, {0, 0, 1, 0, 0, 0, 0, 0}, false, 0},
	{"%", 1e-2, {0}, false, 0},
};

typedef struct UcumPrefix
{
	const char *code;
	double		scale;
} UcumPrefix;

static const UcumPrefix prefixes[] = {
	{"da", 1e1}, {"mc", 1e-6},
	{"Y", 1e24}, {"Z", 1e21}, {"E", 1e18}, {"P", 1e15}, {"T", 1e12}, {"G", 1e9},
	{"M", 1e6}, {"k", 1e3}, {"h", 1e2}, {"d", 1e-1}, {"c", 1e-2}, {"m", 1e-3},
	{"u", 1e-6}, {"n", 1e-9}, {"p", 1e-12}, {"f", 1e-15}, {"a", 1e-18},
	{"z", 1e-21}, {"y", 1e-24},
};

/*
 * Accepted spellings.  Entries marked exact match the unit as sent
 * (case matters: "G/L" is giga per litre, "g/L" grams per litre); the others
 * match its unit_key() form (ASCII lower case, spaces removed, micro sign
 * and mu as u).
 */
typedef struct UcumSpelling
{
	const char *spelling;
	const char *ucum;
	bool		exact;
} UcumSpelling;

static const UcumSpelling spellings[] = {
	{"G/L", "10*9/L", true},
	{"T/L", "10*12/L", true},
	{"iu/l", "U/L", false},
	{"iu/ml", "U/mL", false},
	{"miu/l", "mU/L", false},
	{"miu/ml", "mU/mL", false},
	{"u/l", "U/L", false},
	{"k/ul", "10*3/uL", false},
	{"k/mm3", "10*3/mm3", false},
	{"m/ul", "10*6/uL", false},
	{"#/ul", "/uL", false},
	{"#/nl", "/nL", false},
	{"cells/ul", "{cells}/uL", false},
	{"#/hpf", "/[HPF]", false},
	{"/hpf", "/[HPF]", false},
	{"mmhg", "mm[Hg]", false},
	{"mm[hg]", "mm[Hg]", false},
	{"cmh2o", "cm[H2O]", false},
	{"degc", "Cel", false},
	{"\xc2\xb0" "c", "Cel", false},		/* the degree sign */
	{"celsius", "Cel", false},
	{"degf", "[degF]", false},
	{"\xc2\xb0" "f", "[degF]", false},
	{"mg/lfeu", "mg/L{FEU}", false},
	{"ug/mlfeu", "ug/mL{FEU}", false},
	{"ng/mlfeu", "ng/mL{FEU}", false},
	{"ug/lfeu", "ug/L{FEU}", false},
	{"mgfeu/l", "mg/L{FEU}", false},
	{"mg/lddu", "mg/L{DDU}", false},
	{"ug/mlddu", "ug/mL{DDU}", false},
	{"ng/mlddu", "ng/mL{DDU}", false},
	{"ug/lddu", "ug/L{DDU}", false},
	{"bpm", "/min", false},
	{"beats/min", "{beats}/min", false},
	{"breaths/min", "{breaths}/min", false},
	{"ml/min/1.73m2", "mL/min/{1.73_m2}", false},
	{"ml/min/1.73m^2", "mL/min/{1.73_m2}", false},
	{"ml/min/1.73m\xc2\xb2", "mL/min/{1.73_m2}", false},
	{"mm/hr", "mm/h", false},
	{"mg%", "mg/dL", false},
	{"gm/dl", "g/dL", false},
	{"sec", "s", false},
	{"ratio", "{ratio}", false},
	{"inr", "{INR}", false},
	{"score", "{score}", false},
	{"points", "{score}", false},
	{"ph", "[pH]", false},
	{"fraction", "1", false},
	{"mosmol/kg", "mosm/kg", false},
	{"#", "1", false},
};

#define N_ATOMS (sizeof(atoms) / sizeof(atoms[0]))
#define N_PREFIXES (sizeof(prefixes) / sizeof(prefixes[0]))
#define N_SPELLINGS (sizeof(spellings) / sizeof(spellings[0]))

bool
ucum_spelling_entry(int i, const char **spelling, const char **ucum)
{
	if (i < 0 || i >= (int) N_SPELLINGS)
		return false;
	*spelling = spellings[i].spelling;
	*ucum = spellings[i].ucum;
	return true;
}

/* ------------------------------------------------------------------------
 * The parser
 * ------------------------------------------------------------------------ */
typedef struct Parser
{
	const char *s;
	int			pos;
	bool		ci;				/* case-insensitive pass */
	int			ncomp;			/* components read */
	bool		had_special;
	char	   *why;
	size_t		whylen;
} Parser;

typedef struct Val
{
	double		scale;
	int			dim[UCUM_NDIM];
	int			special;
} Val;

static void
val_unity(Val *v)
{
	memset(v, 0, sizeof(*v));
	v->scale = 1;
}

static bool parse_term(Parser *p, Val *out, char *annot, size_t annotlen);

static bool
fail(Parser *p, const char *msg)
{
	snprintf(p->why, p->whylen, "%s at position %d of \"%s\"", msg, p->pos + 1, p->s);
	return false;
}

static bool
read_exponent(Parser *p, int *e, bool required)
{
	int			sign = 1;
	int			n = 0;
	int			start = p->pos;

	if (p->s[p->pos] == '+' || p->s[p->pos] == '-')
	{
		sign = p->s[p->pos] == '-' ? -1 : 1;
		p->pos++;
	}
	if (!isdigit((unsigned char) p->s[p->pos]))
	{
		p->pos = start;
		if (required)
			return fail(p, "an exponent expected");
		*e = 1;
		return true;
	}
	while (isdigit((unsigned char) p->s[p->pos]))
	{
		n = n * 10 + (p->s[p->pos] - '0');
		if (n > 24)
			return fail(p, "exponent too large (at most 24)");
		p->pos++;
	}
	*e = sign * n;
	return true;
}

static bool
read_annotation(Parser *p, char *annot, size_t annotlen)
{
	int			start = ++p->pos;	/* after '{' */

	while (p->s[p->pos] != '\0' && p->s[p->pos] != '}')
	{
		if (p->s[p->pos] == '{')
			return fail(p, "nested annotation");
		p->pos++;
	}
	if (p->s[p->pos] != '}')
		return fail(p, "unterminated annotation");
	if (annot[0] == '\0')
	{
		/* whole characters only: the annotation is shown in messages */
		int			len = pg_mbcliplen(p->s + start, p->pos - start, (int) annotlen - 1);

		memcpy(annot, p->s + start, len);
		annot[len] = '\0';
	}
	p->pos++;
	return true;
}

static bool
str_eq(const char *a, int alen, const char *b, bool ci)
{
	if ((int) strlen(b) != alen)
		return false;
	return ci ? pg_strncasecmp(a, b, alen) == 0 : strncmp(a, b, alen) == 0;
}

static const UcumAtom *
find_atom(const char *s, int len, bool ci)
{
	for (int i = 0; i < (int) N_ATOMS; i++)
		if (str_eq(s, len, atoms[i].code, ci))
			return &atoms[i];
	return NULL;
}

/* A symbol: an atom, or a prefix and a metric atom. */
static bool
resolve_symbol(Parser *p, const char *s, int len, Val *v)
{
	const UcumAtom *a = find_atom(s, len, false);
	double		pscale = 1;

	if (a == NULL && p->ci)
		a = find_atom(s, len, true);
	if (a == NULL)
	{
		for (int i = 0; i < (int) N_PREFIXES && a == NULL; i++)
		{
			int			pl = strlen(prefixes[i].code);
			const UcumAtom *b;

			if (pl >= len)
				continue;
			/* case-sensitive also in the case-insensitive pass, which reads
			 * the lower-cased unit: there only the lower-case prefixes match */
			if (strncmp(s, prefixes[i].code, pl) != 0)
				continue;
			b = find_atom(s + pl, len - pl, false);
			if (b == NULL && p->ci)
				b = find_atom(s + pl, len - pl, true);
			if (b != NULL && b->metric)
			{
				a = b;
				pscale = prefixes[i].scale;
			}
		}
	}
	if (a == NULL)
	{
		char		buf[64];

		snprintf(buf, sizeof(buf), "unknown unit symbol \"%.*s\"", pg_mbcliplen(s, len, 40), s);
		p->pos = (int) (s - p->s);
		return fail(p, buf);
	}
	v->scale = pscale * a->scale;
	for (int d = 0; d < UCUM_NDIM; d++)
		v->dim[d] = a->dim[d];
	v->special = a->special;
	if (a->special)
		p->had_special = true;
	return true;
}

static bool
parse_component(Parser *p, Val *v, char *annot, size_t annotlen)
{
	const char *s = p->s;
	int			e = 1;

	val_unity(v);
	p->ncomp++;
	if (s[p->pos] == '(')
	{
		p->pos++;
		if (!parse_term(p, v, annot, annotlen))
			return false;
		if (s[p->pos] != ')')
			return fail(p, "')' expected");
		p->pos++;
		if (!read_exponent(p, &e, false))
			return false;
		goto power;
	}
	if (s[p->pos] == '{')
		return read_annotation(p, annot, annotlen);
	if (isdigit((unsigned char) s[p->pos]))
	{
		double		n = 0;

		while (isdigit((unsigned char) s[p->pos]))
		{
			n = n * 10 + (s[p->pos] - '0');
			if (n > 1e15)
				return fail(p, "number too large");
			p->pos++;
		}
		if (n == 10 && (s[p->pos] == '*' || s[p->pos] == '^'))
		{
			p->pos++;
			if (!read_exponent(p, &e, true))
				return false;
			v->scale = pow(10.0, e);
		}
		else
			v->scale = n;
		if (v->scale == 0)
			return fail(p, "a factor of zero");
		if (s[p->pos] == '{' && !read_annotation(p, annot, annotlen))
			return false;
		return true;
	}
	else
	{
		int			start = p->pos;

		while (s[p->pos] != '\0')
		{
			char		c = s[p->pos];

			if (c == '[')
			{
				while (s[p->pos] != '\0' && s[p->pos] != ']')
					p->pos++;
				if (s[p->pos] != ']')
					return fail(p, "unterminated '['");
				p->pos++;
				continue;
			}
			if (c == '.' || c == '/' || c == '(' || c == ')' || c == '{' || c == '}' ||
				c == '+' || c == '-' || isdigit((unsigned char) c))
				break;
			p->pos++;
		}
		if (p->pos == start)
			return fail(p, "a unit symbol expected");
		if (!resolve_symbol(p, s + start, p->pos - start, v))
			return false;
		if (!read_exponent(p, &e, false))
			return false;
		if (s[p->pos] == '{' && !read_annotation(p, annot, annotlen))
			return false;
	}
power:
	if (e != 1)
	{
		if (v->special)
			return fail(p, "a temperature scale cannot take an exponent");
		v->scale = pow(v->scale, e);
		for (int d = 0; d < UCUM_NDIM; d++)
			v->dim[d] *= e;
	}
	return true;
}

static void
val_mul(Val *a, const Val *b, int sign)
{
	a->scale = sign > 0 ? a->scale * b->scale : a->scale / b->scale;
	for (int d = 0; d < UCUM_NDIM; d++)
		a->dim[d] += sign * b->dim[d];
	if (b->special)
		a->special = b->special;
}

static bool
parse_term(Parser *p, Val *out, char *annot, size_t annotlen)
{
	Val			c;
	int			sign = 1;

	val_unity(out);
	if (p->s[p->pos] == '/')
	{
		sign = -1;
		p->pos++;
	}
	for (;;)
	{
		if (!parse_component(p, &c, annot, annotlen))
			return false;
		val_mul(out, &c, sign);
		if (p->s[p->pos] == '.')
			sign = 1;
		else if (p->s[p->pos] == '/')
			sign = -1;
		else
			return true;
		p->pos++;
	}
}

static bool
parse_ucum(const char *s, bool ci, UcumUnit *u, char *why, size_t whylen)
{
	Parser		p = {s, 0, ci, 0, false, why, whylen};
	Val			v;

	u->annot[0] = '\0';
	if (!parse_term(&p, &v, u->annot, sizeof(u->annot)))
		return false;
	if (s[p.pos] != '\0')
		return fail(&p, "unexpected character");
	if (p.had_special && (p.ncomp != 1 || v.special == 0))
	{
		p.pos = 0;
		return fail(&p, "a temperature scale (Cel, [degF]) stands alone");
	}
	for (int d = 0; d < UCUM_NDIM; d++)
	{
		if (v.dim[d] < -100 || v.dim[d] > 100)
			return fail(&p, "exponents too large");
		u->dim[d] = (int8) v.dim[d];
	}
	if (!isfinite(v.scale) || v.scale == 0)
		return fail(&p, "the unit's size is out of range");
	u->scale = v.scale;
	u->special = v.special;
	strlcpy(u->spelling, s, sizeof(u->spelling));
	return true;
}

/* unit_key() form: ASCII lower case, spaces removed, micro sign and mu as u. */
static void
key_form(const char *s, char *out, size_t outlen)
{
	size_t		n = 0;

	for (const unsigned char *c = (const unsigned char *) s; *c && n + 1 < outlen; c++)
	{
		if (*c == ' ')
			continue;
		if ((c[0] == 0xC2 && c[1] == 0xB5) || (c[0] == 0xCE && (c[1] == 0xBC || c[1] == 0x9C)))
		{
			out[n++] = 'u';
			c++;
			continue;
		}
		out[n++] = (*c >= 'A' && *c <= 'Z') ? (char) (*c + 32) : (char) *c;
	}
	out[n] = '\0';
}

/* Spaces removed, micro sign and mu as u, 10^9 / 10E9 / x10^9 as 10*9. */
static void
rewrite(const char *s, char *out, size_t outlen)
{
	size_t		n = 0;
	const unsigned char *c = (const unsigned char *) s;

	while (*c && n + 1 < outlen)
	{
		if (*c == ' ')
		{
			c++;
			continue;
		}
		if ((c[0] == 0xC2 && c[1] == 0xB5) || (c[0] == 0xCE && (c[1] == 0xBC || c[1] == 0x9C)))
		{
			out[n++] = 'u';
			c += 2;
			continue;
		}
		/* a multiplication sign or x before 10 at the start: dropped */
		if (n == 0 && (c[0] == 'x' || c[0] == 'X' || c[0] == '*') && c[1] == '1' && c[2] == '0')
		{
			c++;
			continue;
		}
		if (n == 0 && c[0] == 0xC3 && c[1] == 0x97 && c[2] == '1' && c[3] == '0')
		{
			c += 2;
			continue;
		}
		if (c[0] == '1' && c[1] == '0' && (n == 0 || !isdigit((unsigned char) out[n - 1])))
		{
			const unsigned char *q = c + 2;

			if (q[0] == '*' && q[1] == '*')
				q += 2;
			else if (q[0] == '^' || q[0] == 'e' || q[0] == 'E' || q[0] == '*')
				q += 1;
			else
				q = NULL;
			if (q != NULL && (isdigit(q[0]) || ((q[0] == '-' || q[0] == '+') && isdigit(q[1]))) &&
				n + 3 < outlen)
			{
				out[n++] = '1';
				out[n++] = '0';
				out[n++] = '*';
				c = q;
				continue;
			}
		}
		out[n++] = (char) *c++;
	}
	out[n] = '\0';
}

/*
 * A reason cut at its buffer's end may end inside a multibyte character
 * (units in UTF-8 are quoted in it): drop the partial character, so the text
 * SQL sees is valid in the database encoding.
 */
static void
clip_partial_char(char *why)
{
	int			len = strlen(why);

	why[pg_mbcliplen(why, len, len)] = '\0';
}

static bool parse_unit_raw(const char *text, UcumUnit *u, char *why, size_t whylen);

bool
ucum_parse_unit(const char *text, UcumUnit *u, char *why, size_t whylen)
{
	if (parse_unit_raw(text, u, why, whylen))
		return true;
	clip_partial_char(why);
	return false;
}

static bool
parse_unit_raw(const char *text, UcumUnit *u, char *why, size_t whylen)
{
	char		buf[96];
	char		key[96];
	char		dummy[160];

	if (text == NULL || text[0] == '\0')
		text = "1";
	if (strlen(text) >= sizeof(buf) - 1)
	{
		snprintf(why, whylen, "unit \"%.*s...\" is too long (at most %d bytes)",
				 pg_mbcliplen(text, strlen(text), 40), text, (int) sizeof(buf) - 2);
		return false;
	}
	for (int i = 0; i < (int) N_SPELLINGS; i++)
		if (spellings[i].exact && strcmp(text, spellings[i].spelling) == 0)
			return parse_ucum(spellings[i].ucum, false, u, why, whylen);
	rewrite(text, buf, sizeof(buf));
	if (buf[0] == '\0')
		strlcpy(buf, "1", sizeof(buf));
	/* the table before UCUM as written: K/uL is thousands per uL, not kelvin */
	key_form(buf, key, sizeof(key));
	for (int i = 0; i < (int) N_SPELLINGS; i++)
		if (!spellings[i].exact && strcmp(key, spellings[i].spelling) == 0)
			return parse_ucum(spellings[i].ucum, false, u, why, whylen);
	if (parse_ucum(buf, false, u, why, whylen))
		return true;
	/* case-insensitively, on the lower-cased form; the first pass's message
	 * is the useful one */
	if (parse_ucum(key, true, u, dummy, sizeof(dummy)))
		return true;
	{
		char		first[160];

		strlcpy(first, why, sizeof(first));
		snprintf(why, whylen, "unit \"%s\" is not a UCUM unit known here: %s", text, first);
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Conversion
 * ------------------------------------------------------------------------ */
static const char *const dim_names[UCUM_NDIM] = {"m", "g", "s", "mol", "K", "[IU]", "[arb'U]", "[pH]"};

static void
describe_dims(const UcumUnit *u, char *out, size_t outlen)
{
	size_t		n = 0;
	bool		any = false;

	out[0] = '\0';
	for (int d = 0; d < UCUM_NDIM; d++)
	{
		if (u->dim[d] == 0)
			continue;
		n += snprintf(out + n, n < outlen ? outlen - n : 0, "%s%s%s", any ? "." : "",
					  dim_names[d], "");
		if (u->dim[d] != 1 && n < outlen)
			n += snprintf(out + n, outlen - n, "%d", u->dim[d]);
		any = true;
		if (n >= outlen)
			break;
	}
	if (!any)
		strlcpy(out, "dimensionless", outlen);
}

static const char *
kind_of(const UcumUnit *u)
{
	static const struct
	{
		int8		dim[UCUM_NDIM];
		const char *name;
	}			kinds[] = {
		{{-3, 1, 0, 0, 0, 0, 0, 0}, "mass concentration"},
		{{-3, 0, 0, 1, 0, 0, 0, 0}, "substance concentration"},
		{{-3, 0, -1, 1, 0, 0, 0, 0}, "catalytic activity concentration"},
		{{-3, 0, 0, 0, 0, 0, 0, 0}, "number concentration"},
		{{-1, 1, -2, 0, 0, 0, 0, 0}, "pressure"},
		{{0, 0, -1, 0, 0, 0, 0, 0}, "rate"},
		{{0, 0, 1, 0, 0, 0, 0, 0}, "time"},
		{{0, 0, 0, 0, 1, 0, 0, 0}, "temperature"},
		{{0, 0, 0, 0, 0, 0, 0, 0}, "dimensionless"},
		{{0, -1, 0, 1, 0, 0, 0, 0}, "molality"},
		{{3, 0, -1, 0, 0, 0, 0, 0}, "volume rate"},
		{{-3, 0, 0, 0, 0, 1, 0, 0}, "arbitrary (IU) concentration"},
		{{3, 0, 0, 0, 0, 0, 0, 0}, "volume"},
		{{1, 0, -1, 0, 0, 0, 0, 0}, "velocity"},
		{{0, 0, 0, 0, 0, 0, 0, 1}, "pH"},
	};

	for (int i = 0; i < (int) lengthof(kinds); i++)
		if (memcmp(kinds[i].dim, u->dim, UCUM_NDIM) == 0)
			return kinds[i].name;
	return NULL;
}

static void
describe(const UcumUnit *u, char *out, size_t outlen)
{
	const char *k = kind_of(u);
	char		d[64];

	describe_dims(u, d, sizeof(d));
	if (k && strcmp(k, d) == 0)
		strlcpy(out, k, outlen);
	else if (k)
		snprintf(out, outlen, "%s, %s", k, d);
	else
		strlcpy(out, d, outlen);
}

/* affine map into kelvin: K = a * v + b */
static void
to_kelvin(const UcumUnit *u, double *a, double *b)
{
	if (u->special == UCUM_CEL)
	{
		*a = u->scale;
		*b = 273.15;
	}
	else if (u->special == UCUM_DEGF)
	{
		*a = u->scale;
		*b = 459.67 * 5.0 / 9.0;
	}
	else
	{
		*a = u->scale;
		*b = 0;
	}
}

/*
 * A conversion whose factor is not a normal double (infinite, 0 or denormal:
 * mass into substance with a molar mass of 5e-324 g/mol) or whose offset is
 * not finite cannot be used: refused with a reason, so unit_factor() is
 * never Infinity, 0 or a denormal.
 */
static bool
conversion_in_range(const char *from, const char *to, double factor, double offset,
					char *why, size_t whylen)
{
	if (isnormal(factor) && isfinite(offset))
		return true;
	snprintf(why, whylen, "the factor from \"%s\" to \"%s\" (%g) is outside the range of a double",
			 from && from[0] ? from : "1", to, factor);
	return false;
}

static bool ucum_conversion_raw(const char *from, const char *to, bool has_molar_mass, double molar_mass,
								double *factor, double *offset, char *why, size_t whylen);

bool
ucum_conversion(const char *from, const char *to, bool has_molar_mass, double molar_mass,
				double *factor, double *offset, char *why, size_t whylen)
{
	if (ucum_conversion_raw(from, to, has_molar_mass, molar_mass, factor, offset, why, whylen)
		&& conversion_in_range(from, to, *factor, *offset, why, whylen))
		return true;
	clip_partial_char(why);
	return false;
}

static bool
ucum_conversion_raw(const char *from, const char *to, bool has_molar_mass, double molar_mass,
					double *factor, double *offset, char *why, size_t whylen)
{
	UcumUnit	a,
				b;
	int			diff[UCUM_NDIM];
	bool		same = true;

	if (!ucum_parse_unit(from, &a, why, whylen) || !ucum_parse_unit(to, &b, why, whylen))
		return false;
	if (a.annot[0] && b.annot[0] && pg_strcasecmp(a.annot, b.annot) != 0)
	{
		snprintf(why, whylen, "\"%s\" is in {%s} and \"%s\" in {%s}: values counted differently are not converted",
				 from ? from : "", a.annot, to, b.annot);
		return false;
	}
	for (int d = 0; d < UCUM_NDIM; d++)
	{
		diff[d] = a.dim[d] - b.dim[d];
		if (diff[d] != 0)
			same = false;
	}
	*offset = 0;
	if (same && (a.special || b.special))
	{
		double		a1,
					b1,
					a2,
					b2;

		to_kelvin(&a, &a1, &b1);
		to_kelvin(&b, &a2, &b2);
		*factor = a1 / a2;
		*offset = (b1 - b2) / a2;
		return true;
	}
	if (same)
	{
		*factor = a.scale / b.scale;
		return true;
	}
	if (!a.special && !b.special)
	{
		bool		mass_to_amount = true,
					amount_to_mass = true;

		for (int d = 0; d < UCUM_NDIM; d++)
		{
			int			m2a = (d == UCUM_G) ? 1 : (d == UCUM_MOL) ? -1 : 0;

			if (diff[d] != m2a)
				mass_to_amount = false;
			if (diff[d] != -m2a)
				amount_to_mass = false;
		}
		if (mass_to_amount || amount_to_mass)
		{
			if (!has_molar_mass)
			{
				snprintf(why, whylen, "converting \"%s\" (%s) to \"%s\" (%s) needs the molar mass of the substance, and none is known",
						 from && from[0] ? from : "1", mass_to_amount ? "mass" : "amount of substance",
						 to, mass_to_amount ? "amount of substance" : "mass");
				return false;
			}
			if (!isfinite(molar_mass) || molar_mass <= 0)
			{
				snprintf(why, whylen, "molar mass %g g/mol is not a positive finite number", molar_mass);
				return false;
			}
			*factor = mass_to_amount ? a.scale / (molar_mass * b.scale)
				: a.scale * molar_mass / b.scale;
			return true;
		}
	}
	{
		char		da[96],
					db[96];

		describe(&a, da, sizeof(da));
		describe(&b, db, sizeof(db));
		snprintf(why, whylen, "\"%s\" (%s) cannot be converted to \"%s\" (%s)",
				 from && from[0] ? from : "1", da, to, db);
	}
	return false;
}
