/*
 * ucum.h — UCUM unit parsing and conversion (canonical/ucum.c), shared by
 * the SQL wrappers in canonical/ucum_sql.c.
 */
#ifndef ICU_UCUM_H
#define ICU_UCUM_H

#include "postgres.h"

/* Base dimensions: metre, gram, second, mole, kelvin, international unit,
 * arbitrary unit, pH. */
#define UCUM_NDIM 8
enum
{
	UCUM_M, UCUM_G, UCUM_S, UCUM_MOL, UCUM_K, UCUM_IU, UCUM_ARB, UCUM_PH
};

typedef struct UcumUnit
{
	double		scale;			/* size in base units */
	int8		dim[UCUM_NDIM];
	int			special;		/* 0, or UCUM_CEL / UCUM_DEGF: an affine unit */
	char		annot[40];		/* first annotation ("" if none) */
	char		spelling[96];	/* the UCUM spelling that was parsed */
} UcumUnit;

#define UCUM_CEL	1
#define UCUM_DEGF	2

/*
 * Parse a unit as a lab system sends it: the accepted spellings table
 * first, then UCUM as written, then case-insensitive UCUM.  NULL or "" is
 * the unity "1".  On failure returns false and writes why.
 */
extern bool ucum_parse_unit(const char *text, UcumUnit *u, char *why, size_t whylen);

/*
 * The conversion from one unit into another: canonical = value * factor +
 * offset.  molar_mass (g/mol) is used when one side is a mass and the other
 * an amount of substance; has_molar_mass false means none is known.  On
 * failure returns false and writes why (not parsable, not commensurable,
 * a molar mass needed, annotations that differ).
 */
extern bool ucum_conversion(const char *from, const char *to, bool has_molar_mass,
							double molar_mass, double *factor, double *offset,
							char *why, size_t whylen);

/* The accepted spellings: entry i (0-based) or false past the end. */
extern bool ucum_spelling_entry(int i, const char **spelling, const char **ucum);

#endif
