/*
 * cache.c — the per-backend cache of parsed models.
 *
 * The one place where C reads a table: icu_predict.model, by SPI, once per
 * query and function call site (the SQL entry points keep the resolved
 * IcuModel in fn_extra for the rest of the query).  Each lookup reads the
 * row's model_id and content_hash (md5 of the spec, kept by the registry
 * trigger); the spec is fetched and parsed only when this backend has no
 * parsed model with that id and hash.  So a million rows parse once, and an
 * UPDATE of the spec is seen by the next query.
 *
 * Parsed models live in their own memory context under TopMemoryContext.  A
 * replaced model's context is moved under TopTransactionContext rather than
 * freed, so that a pointer still held in fn_extra by a running query stays
 * valid until the transaction ends.
 *
 * SQL: icu_predict.model_cache_stats() shows the counters (parses, lookups,
 * hits, cached) — the proof that a model is parsed once per backend.
 */
#include "model.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define CACHE_SLOTS 32

typedef struct CacheEntry
{
	int64		model_id;
	char		hash[64];
	MemoryContext cxt;
	IcuModel   *model;
} CacheEntry;

static CacheEntry cache[CACHE_SLOTS];
static int	ncached = 0;
static int64 n_parses = 0,
			n_lookups = 0,
			n_hits = 0;

static void
retire(CacheEntry *e)
{
	if (e->cxt)
		MemoryContextSetParent(e->cxt, TopTransactionContext);
	e->cxt = NULL;
	e->model = NULL;
	e->model_id = 0;
}

/*
 * The model by name and version; name NULL = the active model of kind
 * (view active_model; for icu_admission the active model whose horizon is
 * nearest 48 h); version NULL = the active version of name.  ERROR 42704 when there is none.
 * Unless any_kind, the model must be of the given kind (else 22023).
 * The registry's risk kinds (icu_admission, death, event) are one runtime
 * family, a probability: they are read as ICU_KIND_ADMISSION.
 */
IcuModel *
icu_model_get(const char *name, const char *version, IcuModelKind kind, bool any_kind)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	const char *sql;
	int			nargs;
	int			rc;
	int64		model_id;
	char		hash[64];
	char		rname[NAMEDATALEN * 2];
	char		rversion[NAMEDATALEN * 2];
	int			rkind;
	int			rformat;
	CacheEntry *e = NULL;
	IcuModel   *m;

	n_lookups++;
	if (name == NULL)
	{
		/* risk: the active model nearest the 48 h horizon (the shorter on a tie) */
		sql = "SELECT m.model_id, m.content_hash, m.name, m.version, CASE m.kind WHEN 'icu_stay' THEN 'icu_stay' ELSE 'icu_admission' END, m.format "
			"FROM icu_predict.active_model a JOIN icu_predict.model m ON m.model_id = a.model_id "
			"WHERE a.kind = $1 "
			"ORDER BY pg_catalog.abs(coalesce(a.horizon_hours, 48) - 48), a.horizon_hours LIMIT 1";
		args[0] = CStringGetTextDatum(icu_model_kind_name(kind));
		nargs = 1;
	}
	else if (version == NULL)
	{
		sql = "SELECT m.model_id, m.content_hash, m.name, m.version, CASE m.kind WHEN 'icu_stay' THEN 'icu_stay' ELSE 'icu_admission' END, m.format "
			"FROM icu_predict.active_model a JOIN icu_predict.model m ON m.model_id = a.model_id "
			"WHERE m.name = $1 "
			"ORDER BY pg_catalog.abs(coalesce(a.horizon_hours, 48) - 48), a.horizon_hours LIMIT 1";
		args[0] = CStringGetTextDatum(name);
		nargs = 1;
	}
	else
	{
		sql = "SELECT m.model_id, m.content_hash, m.name, m.version, CASE m.kind WHEN 'icu_stay' THEN 'icu_stay' ELSE 'icu_admission' END, m.format "
			"FROM icu_predict.model m WHERE m.name = $1 AND m.version = $2";
		args[0] = CStringGetTextDatum(name);
		args[1] = CStringGetTextDatum(version);
		nargs = 2;
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "model cache: SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "model cache: model lookup failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
	{
		if (name == NULL)
			ereport(ERROR,
					(errcode(ICU_ERR_UNDEFINED),
					 errmsg("no active model of kind %s", icu_model_kind_name(kind)),
					 errhint("Deploy one with icu_predict.deploy(name, version).")));
		else if (version == NULL)
			ereport(ERROR,
					(errcode(ICU_ERR_UNDEFINED),
					 errmsg("model \"%s\" has no active version", name),
					 errhint("Give the version, or deploy one with icu_predict.deploy(name, version).")));
		else
			ereport(ERROR,
					(errcode(ICU_ERR_UNDEFINED),
					 errmsg("model \"%s\" version \"%s\" does not exist", name, version)));
	}
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *s;

		model_id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		s = SPI_getvalue(tup, td, 2);
		strlcpy(hash, s ? s : "", sizeof(hash));
		strlcpy(rname, SPI_getvalue(tup, td, 3), sizeof(rname));
		strlcpy(rversion, SPI_getvalue(tup, td, 4), sizeof(rversion));
		rkind = icu_model_kind_from_name(SPI_getvalue(tup, td, 5));
		rformat = strcmp(SPI_getvalue(tup, td, 6), "xgboost") == 0 ? ICU_FORMAT_XGBOOST : ICU_FORMAT_LINEAR;
	}
	if (rkind < 0)
		elog(ERROR, "model cache: model %s %s has an unknown kind", rname, rversion);
	if (!any_kind && rkind != (int) kind)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("model \"%s\" version \"%s\" is of kind %s, not %s",
						rname, rversion, icu_model_kind_name(rkind), icu_model_kind_name(kind))));

	for (int i = 0; i < ncached; i++)
		if (cache[i].model_id == model_id)
			e = &cache[i];
	if (e && strcmp(e->hash, hash) == 0)
	{
		n_hits++;
		SPI_finish();
		return e->model;
	}
	if (e)
		retire(e);

	/* fetch and parse the spec */
	{
		Oid			t8 = INT8OID;
		Datum		a = Int64GetDatum(model_id);
		bool		isnull;
		Datum		d;
		MemoryContext cxt,
					old;

		rc = SPI_execute_with_args("SELECT spec FROM icu_predict.model WHERE model_id = $1",
								   1, &t8, &a, NULL, true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "model cache: model %lld vanished", (long long) model_id);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			elog(ERROR, "model cache: model %lld has no spec", (long long) model_id);
		/* parse under the transaction first, keep only on success */
		cxt = AllocSetContextCreate(CurTransactionContext, "icu_predict model", ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(cxt);
		m = icu_model_parse(rkind, rformat, DatumGetJsonbP(d));
		MemoryContextSwitchTo(old);
		MemoryContextSetParent(cxt, TopMemoryContext);
		n_parses++;
		m->model_id = model_id;
		strlcpy(m->name, rname, sizeof(m->name));
		strlcpy(m->version, rversion, sizeof(m->version));

		if (e == NULL)
		{
			if (ncached < CACHE_SLOTS)
				e = &cache[ncached++];
			else
			{
				e = &cache[n_parses % CACHE_SLOTS];
				retire(e);
			}
		}
		e->model_id = model_id;
		strlcpy(e->hash, hash, sizeof(e->hash));
		e->cxt = cxt;
		e->model = m;
	}
	SPI_finish();
	return m;
}

/* model_cache_stats() RETURNS TABLE (parses bigint, lookups bigint, hits bigint, cached integer) */
PG_FUNCTION_INFO_V1(icu_model_cache_stats);
Datum
icu_model_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Datum		v[4];
	bool		n[4] = {false, false, false, false};
	int			live = 0;

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	for (int i = 0; i < ncached; i++)
		if (cache[i].model)
			live++;
	v[0] = Int64GetDatum(n_parses);
	v[1] = Int64GetDatum(n_lookups);
	v[2] = Int64GetDatum(n_hits);
	v[3] = Int32GetDatum(live);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(td), v, n)));
}
