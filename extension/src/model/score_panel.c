/*
 * score_panel.c — the model runtime on lab panels and admission covariates.
 *
 *   risk(panel, age_years, sex, hours_since_admission, unit_kind, model_name, model_version)
 *   length_of_stay(panel, ...covariates, model_name, model_version) -> stay_estimate
 *   stay_survival(panel, t_days, ...covariates, model_name, model_version)
 *   explain(panel, ...covariates, model_name, model_version, kind, top)
 *
 * Each input of the spec is a panel statistic or a covariate.  The model's
 * distinct lab features are listed once per model (PanelPlan, in fn_extra).
 * Where each of them sits in a panel depends only on the panel's feature-name
 * list, whose hash the panel header carries (icu_panel_layout_id): the
 * resolution (icu_panel_find, a binary search with string compares) is done
 * once per layout and kept in a direct-mapped cache of LAYOUT_SLOTS entries
 * keyed by layout id (confirmed by the feature count), so a row whose layout
 * was seen costs no string compare.  Every statistic the model reads is then
 * taken with icu_panel_value.  A feature absent from the panel, or a
 * statistic the panel cannot give, is missing (the spec's imputation or the
 * tree's default direction) — except count and rejected, which are 0.
 * A NULL panel is a panel without labs.  NaN or infinite covariates are an
 * error (22023); unknown sex values count as missing; unit kinds must be
 * those of location_stay.
 */
#include "model.h"

#include <math.h>

#include "funcapi.h"
#include "utils/builtins.h"

#define LAYOUT_SLOTS 256		/* power of two */

typedef struct PanelPlan
{
	IcuModel   *model;			/* the plan is for this parsed model */
	int			nfeat;			/* distinct lab features */
	char	  **feat;
	int		   *slot;			/* per input: feature slot, -1 for covariates */
	int		   *index;			/* per slot: index in the current panel, -1 if absent */
	/* layout cache: entry j resolves layout lid[j] (0 = empty) */
	uint32		lid[LAYOUT_SLOTS];
	int			lnfeat[LAYOUT_SLOTS];	/* the panel's feature count, as a check */
	int		   *lindex;			/* LAYOUT_SLOTS x nfeat panel indexes */
} PanelPlan;

static PanelPlan *
get_plan(FunctionCallInfo fcinfo, IcuModelCall *mc)
{
	PanelPlan  *pl = (PanelPlan *) mc->extra;
	IcuModel   *m = mc->model;
	MemoryContext old;

	if (pl != NULL && pl->model == m)
		return pl;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	pl = palloc0(sizeof(PanelPlan));
	pl->model = m;
	pl->feat = palloc(sizeof(char *) * m->ninputs);
	pl->slot = palloc(sizeof(int) * m->ninputs);
	pl->index = palloc(sizeof(int) * m->ninputs);
	pl->lindex = palloc(sizeof(int) * LAYOUT_SLOTS * Max(m->ninputs, 1));
	for (int i = 0; i < m->ninputs; i++)
	{
		pl->slot[i] = -1;
		if (m->inputs[i].is_covariate)
			continue;
		for (int k = 0; k < pl->nfeat; k++)
			if (strcmp(pl->feat[k], m->inputs[i].feature) == 0)
				pl->slot[i] = k;
		if (pl->slot[i] < 0)
		{
			pl->feat[pl->nfeat] = m->inputs[i].feature;
			pl->slot[i] = pl->nfeat++;
		}
	}
	MemoryContextSwitchTo(old);
	mc->extra = pl;
	return pl;
}

typedef struct Covariates
{
	double		v[ICU_COV_NUM];
	bool		missing[ICU_COV_NUM];
} Covariates;

static const char *const unit_kinds[] = {"ward", "icu", "mc", "ed", "or", "other"};

static void
read_covariates(FunctionCallInfo fcinfo, int base, Covariates *cv)
{
	for (int i = 0; i < ICU_COV_NUM; i++)
	{
		cv->v[i] = 0;
		cv->missing[i] = true;
	}
	/* age_years, hours_since_admission */
	for (int k = 0; k < 2; k++)
	{
		int			argno = base + (k == 0 ? 0 : 2);
		int			cov = k == 0 ? ICU_COV_AGE : ICU_COV_HOURS_SINCE_ADMISSION;

		if (PG_ARGISNULL(argno))
			continue;
		cv->v[cov] = PG_GETARG_FLOAT8(argno);
		if (!isfinite(cv->v[cov]))
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("covariate %s is %g; it must be finite or NULL",
							k == 0 ? "age_years" : "hours_since_admission", cv->v[cov])));
		cv->missing[cov] = false;
	}
	if (!PG_ARGISNULL(base + 1))
	{
		text	   *t = PG_GETARG_TEXT_PP(base + 1);
		int			len = VARSIZE_ANY_EXHDR(t);
		const char *s = VARDATA_ANY(t);

		if (len == 4 && memcmp(s, "male", 4) == 0)
		{
			cv->v[ICU_COV_SEX_MALE] = 1;
			cv->missing[ICU_COV_SEX_MALE] = false;
		}
		else if ((len == 6 && memcmp(s, "female", 6) == 0) || (len == 5 && memcmp(s, "other", 5) == 0))
		{
			cv->v[ICU_COV_SEX_MALE] = 0;
			cv->missing[ICU_COV_SEX_MALE] = false;
		}
	}
	if (!PG_ARGISNULL(base + 3))
	{
		text	   *t = PG_GETARG_TEXT_PP(base + 3);
		int			len = VARSIZE_ANY_EXHDR(t);
		const char *s = VARDATA_ANY(t);
		int			found = -1;

		for (int k = 0; k < 6; k++)
			if ((int) strlen(unit_kinds[k]) == len && memcmp(s, unit_kinds[k], len) == 0)
				found = k;
		if (found < 0)
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("unknown unit_kind \"%s\"", text_to_cstring(t)),
					 errhint("Unit kinds are ward, icu, mc, ed, or, other (or NULL).")));
		for (int k = 0; k < 6; k++)
		{
			cv->v[ICU_COV_UNIT_WARD + k] = k == found ? 1 : 0;
			cv->missing[ICU_COV_UNIT_WARD + k] = false;
		}
	}
}

/* Fill mc->x / mc->missing from panel argument 0 and covariates at cov_base. */
static void
fill_from_panel(FunctionCallInfo fcinfo, IcuModelCall *mc, int cov_base)
{
	const IcuModel *m = mc->model;
	PanelPlan  *pl = get_plan(fcinfo, mc);
	LabPanel   *p = PG_ARGISNULL(0) ? NULL : DatumGetLabPanelP(PG_GETARG_DATUM(0));
	Covariates	cv;
	const int  *index = pl->index;

	read_covariates(fcinfo, cov_base, &cv);
	if (p == NULL)
	{
		for (int k = 0; k < pl->nfeat; k++)
			pl->index[k] = -1;
	}
	else
	{
		uint32		lid = icu_panel_layout_id(p);
		int			pn = icu_panel_nfeatures(p);
		int			j = (int) (lid & (LAYOUT_SLOTS - 1));
		int		   *cached = pl->lindex + (Size) j * pl->nfeat;

		if (lid != 0 && pl->lid[j] == lid && pl->lnfeat[j] == pn)
			index = cached;		/* seen layout: no string compares */
		else
		{
			for (int k = 0; k < pl->nfeat; k++)
				pl->index[k] = icu_panel_find(p, pl->feat[k]);
			if (lid != 0)
			{
				memcpy(cached, pl->index, sizeof(int) * pl->nfeat);
				pl->lid[j] = lid;
				pl->lnfeat[j] = pn;
			}
		}
	}
	for (int i = 0; i < m->ninputs; i++)
	{
		const IcuModelInput *in = &m->inputs[i];

		if (in->is_covariate)
		{
			mc->x[i] = cv.v[in->covariate];
			mc->missing[i] = cv.missing[in->covariate];
		}
		else
		{
			int			idx = index[pl->slot[i]];
			double		v;

			if (idx >= 0 && icu_panel_value(p, idx, (IcuPanelStat) in->stat, &v) && isfinite(v))
			{
				mc->x[i] = v;
				mc->missing[i] = false;
			}
			else if (in->stat == ICU_STAT_COUNT || in->stat == ICU_STAT_REJECTED)
			{
				mc->x[i] = 0;
				mc->missing[i] = false;
			}
			else
			{
				mc->x[i] = 0;
				mc->missing[i] = true;
			}
		}
	}
}

/* risk(panel, age_years, sex, hours_since_admission, unit_kind, model_name, model_version) */
PG_FUNCTION_INFO_V1(icu_model_risk);
Datum
icu_model_risk(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc = icu_model_call(fcinfo, 5, 6, ICU_KIND_ADMISSION, false);

	fill_from_panel(fcinfo, mc, 1);
	PG_RETURN_FLOAT8(icu_model_prediction(mc->model, icu_model_call_margin(mc, false, NULL)));
}

/* length_of_stay(panel, age_years, sex, hours, unit_kind, model_name, model_version) */
PG_FUNCTION_INFO_V1(icu_model_length_of_stay);
Datum
icu_model_length_of_stay(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc = icu_model_call(fcinfo, 5, 6, ICU_KIND_STAY, false);

	fill_from_panel(fcinfo, mc, 1);
	PG_RETURN_DATUM(icu_stay_datum(mc, fcinfo, icu_model_call_margin(mc, false, NULL)));
}

/* stay_survival(panel, t_days, age_years, sex, hours, unit_kind, model_name, model_version) */
PG_FUNCTION_INFO_V1(icu_model_stay_survival);
Datum
icu_model_stay_survival(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc;
	double		t;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	t = PG_GETARG_FLOAT8(1);
	if (isnan(t))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("t_days must not be NaN")));
	mc = icu_model_call(fcinfo, 6, 7, ICU_KIND_STAY, false);
	fill_from_panel(fcinfo, mc, 2);
	PG_RETURN_FLOAT8(icu_stay_survival(mc->model->dist, mc->model->sigma,
									   icu_model_call_margin(mc, false, NULL), t));
}

static int	cmp_abs_desc(const void *a, const void *b, void *arg);

static int
cmp_abs_desc(const void *a, const void *b, void *arg)
{
	const double *c = (const double *) arg;
	double		x = fabs(c[*(const int *) a]);
	double		y = fabs(c[*(const int *) b]);

	if (x != y)
		return x > y ? -1 : 1;
	return *(const int *) a - *(const int *) b;
}

/*
 * explain(panel, age_years, sex, hours, unit_kind, model_name, model_version, kind, top)
 *   RETURNS TABLE (rank int, input text, value float8, contribution float8, model_version text)
 */
PG_FUNCTION_INFO_V1(icu_model_explain);
Datum
icu_model_explain(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IcuModelCall *mc;
	int			kind = ICU_KIND_ADMISSION;
	int			top = PG_ARGISNULL(8) ? 5 : PG_GETARG_INT32(8);
	int		   *order;
	int			n;

	if (!PG_ARGISNULL(7))
	{
		char	   *k = text_to_cstring(PG_GETARG_TEXT_PP(7));

		kind = icu_model_kind_from_name(k);
		if (kind < 0)
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("unknown model kind \"%s\"", k),
					 errhint("Kinds are icu_admission and icu_stay.")));
	}
	if (top < 0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("top must be >= 0")));
	mc = icu_model_call(fcinfo, 5, 6, kind, !PG_ARGISNULL(5));
	fill_from_panel(fcinfo, mc, 1);
	icu_model_call_margin(mc, true, NULL);

	n = mc->model->ninputs;
	order = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
		order[i] = i;
	qsort_arg(order, n, sizeof(int), cmp_abs_desc, mc->contrib);

	InitMaterializedSRF(fcinfo, 0);
	for (int r = 0; r < Min(top, n); r++)
	{
		int			i = order[r];
		Datum		v[5];
		bool		nl[5] = {false, false, false, false, false};

		v[0] = Int32GetDatum(r + 1);
		v[1] = CStringGetTextDatum(mc->model->inputs[i].label);
		v[2] = Float8GetDatum(mc->x[i]);
		nl[2] = mc->missing[i];
		v[3] = Float8GetDatum(mc->contrib[i]);
		v[4] = CStringGetTextDatum(mc->model->version);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
	}
	PG_RETURN_NULL();
}

/*
 * covariate_value(covariate, age_years, sex, hours_since_admission,
 * unit_kind): the value a model input of that covariate reads, by the same
 * encoding as the scoring functions (read_covariates), so training code
 * builds its inputs with the runtime's definition.  NULL when missing.
 */
PG_FUNCTION_INFO_V1(icu_covariate_value);
Datum
icu_covariate_value(PG_FUNCTION_ARGS)
{
	Covariates	cv;
	char	   *name;
	int			k;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	k = icu_model_covariate_from_name(name);
	if (k < 0)
	{
		StringInfoData names;

		initStringInfo(&names);
		for (int i = 0; i < ICU_COV_NUM; i++)
			appendStringInfo(&names, "%s%s", i ? ", " : "", icu_model_covariate_name(i));
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("unknown covariate \"%s\"", name),
				 errhint("Covariates are %s.", names.data)));
	}
	read_covariates(fcinfo, 1, &cv);
	if (cv.missing[k])
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cv.v[k]);
}
