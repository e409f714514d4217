/*
 * unit_key.c — unit_key(): the one normalisation of unit spellings.
 *
 * Backs the SQL function icu_predict.unit_key(text), which lab_map stores as a
 * generated column and lab_canonical evaluates for every lab row it joins, so
 * it runs millions of times per panel query: one pass over the bytes, one
 * palloc, no collation machinery.
 *
 * Rules: ASCII letters are lower-cased; spaces are removed; the micro sign
 * (U+00B5), Greek small mu (U+03BC) and Greek capital mu (U+039C) become 'u'
 * (in UTF-8 databases; other encodings fold ASCII only); every other byte is
 * kept as it is.  NULL becomes the empty string, so results sent without a
 * unit match a lab_map row with unit ''.  Non-ASCII letters other than mu are
 * not case-folded: unit spellings do not need it, and the function must be
 * IMMUTABLE (independent of the database's collation).
 */
#include "icu_predict.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(icu_unit_key);
Datum
icu_unit_key(PG_FUNCTION_ARGS)
{
	text	   *in;
	const unsigned char *s;
	int			len;
	char	   *out;
	int			n = 0;
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);

	if (PG_ARGISNULL(0))
		PG_RETURN_TEXT_P(cstring_to_text(""));

	in = PG_GETARG_TEXT_PP(0);
	s = (const unsigned char *) VARDATA_ANY(in);
	len = VARSIZE_ANY_EXHDR(in);
	out = palloc(len + 1);

	for (int i = 0; i < len; i++)
	{
		unsigned char c = s[i];

		if (c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
		{
			out[n++] = (char) (c - 'A' + 'a');
			continue;
		}
		if (utf8 && i + 1 < len &&
			((c == 0xC2 && s[i + 1] == 0xB5) ||	/* U+00B5 micro sign */
			 (c == 0xCE && s[i + 1] == 0xBC) ||	/* U+03BC small mu */
			 (c == 0xCE && s[i + 1] == 0x9C)))	/* U+039C capital mu */
		{
			out[n++] = 'u';
			i++;
			continue;
		}
		out[n++] = (char) c;
	}
	out[n] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out, n));
}
