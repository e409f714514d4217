/*
 * catalog.c — the feature catalogue as the panel aggregates see it: names
 * in byte order (catalogue order is panel order, so states keyed by
 * catalogue index emit features sorted), plausible ranges, an open-address
 * name hash, and a fingerprint of the name list that serialized states
 * carry.
 *
 * Reads table @extschema@.feature once per query through SPI (one of the
 * two places where C reads a table; see docs/architecture.md) and caches the
 * result in fn_extra under fn_mcxt, so a catalogue change is seen by the
 * next query.  At most ICU_PANEL_MAX_FEATURES features (54000 beyond).
 */
#include "panel_int.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

static inline uint32
name_hash(const char *s, int len)
{
	uint32		h = 2166136261u;

	for (int i = 0; i < len; i++)
		h = (h ^ (uint8) s[i]) * 16777619u;
	return h;
}

PanelCatalog *
panel_catalog(FmgrInfo *flinfo)
{
	PanelCatalog *cat = (PanelCatalog *) flinfo->fn_extra;
	MemoryContext old;
	char	   *nsp;
	char	   *query;
	int			rc;
	int			hsize;

	if (cat != NULL)
		return cat;

	nsp = get_namespace_name(get_func_namespace(flinfo->fn_oid));
	if (nsp == NULL)
		elog(ERROR, "lab panel catalogue: cannot find the schema of function %u", flinfo->fn_oid);
	cat = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(PanelCatalog));
	cat->schema = MemoryContextStrdup(flinfo->fn_mcxt, quote_identifier(nsp));
	/* in byte order of the names: catalogue order is panel order */
	query = psprintf("SELECT name, plausible_min, plausible_max FROM %s.feature ORDER BY name COLLATE \"C\"",
					 cat->schema);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "lab panel catalogue: SPI_connect failed");
	rc = SPI_execute(query, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lab panel catalogue: reading the feature catalogue failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed > ICU_PANEL_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ICU_ERR_LIMIT),
				 errmsg("the feature catalogue has %llu features; a lab panel holds at most %d",
						(unsigned long long) SPI_processed, ICU_PANEL_MAX_FEATURES)));

	old = MemoryContextSwitchTo(flinfo->fn_mcxt);
	cat->n = (int) SPI_processed;
	cat->names = palloc0(sizeof(*cat->names) * Max(cat->n, 1));
	cat->lens = palloc0(Max(cat->n, 1));
	cat->lo = palloc0(sizeof(double) * Max(cat->n, 1));
	cat->hi = palloc0(sizeof(double) * Max(cat->n, 1));
	for (hsize = 16; hsize < 2 * cat->n; hsize *= 2)
		;
	cat->hmask = hsize - 1;
	cat->hash = palloc0(sizeof(int16) * hsize);
	cat->fingerprint = 2166136261u ^ (uint32) cat->n;
	for (int i = 0; i < cat->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *name = TextDatumGetCString(SPI_getbinval(tup, td, 1, &isnull));
		int			len = strlen(name);
		uint32		h;

		if (!icu_feature_name_ok(name, len))
			elog(ERROR, "lab panel catalogue: feature catalogue holds invalid name \"%s\"", name);
		strcpy(cat->names[i], name);
		cat->lens[i] = (uint8) len;
		cat->lo[i] = DatumGetFloat8(SPI_getbinval(tup, td, 2, &isnull));
		cat->hi[i] = DatumGetFloat8(SPI_getbinval(tup, td, 3, &isnull));
		cat->fingerprint = (cat->fingerprint ^ name_hash(name, len)) * 16777619u;
		h = name_hash(name, len) & cat->hmask;
		while (cat->hash[h] != 0)
			h = (h + 1) & cat->hmask;
		cat->hash[h] = (int16) (i + 1);
	}
	MemoryContextSwitchTo(old);
	SPI_finish();

	flinfo->fn_extra = cat;
	return cat;
}

int
panel_catalog_find(const PanelCatalog *cat, const char *s, int len)
{
	uint32		h = name_hash(s, len) & cat->hmask;

	for (;;)
	{
		int			k = cat->hash[h];

		if (k == 0)
			return -1;
		k--;
		if (cat->lens[k] == len && memcmp(cat->names[k], s, len) == 0)
			return k;
		h = (h + 1) & cat->hmask;
	}
}

void
panel_unknown_feature(const PanelCatalog *cat, const char *s, int len)
{
	ereport(ERROR,
			(errcode(ICU_ERR_UNDEFINED),
			 errmsg("unknown lab feature \"%.*s\"", len, s),
			 errhint("SELECT name FROM %s.feature lists the valid feature names.",
					 cat->schema)));
}

