/*
 * score_panel.c — the model runtime on lab panels and admission covariates.
 *
 *   risk(panel, age_years, sex, hours_since_admission, unit_kind, model_name, model_version)
 *   risk(panel, admission_covariates, hours_since_admission, unit_kind, model_name, model_version)
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
 *
 * Covariates come positionally (age_years, sex, hours_since_admission,
 * unit_kind: BMI and comorbidities then missing) or as an
 * admission_covariates value (the _row entry points: age, sex, BMI, the
 * comorbidity group names; a NULL array is unknown, an empty one none), then
 * hours and unit kind.  The missing indicators (age_missing, sex_missing,
 * bmi_missing) are 0/1 and never missing; the comorbidity flags and the
 * Charlson index and van Walraven score use the groups, weights and
 * hierarchies of comorbidity.c.
 */
#include "model.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
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
	if (pl != NULL)
	{
		/* the call site moved to another model: the old plan goes (feat points into the model) */
		pfree(pl->feat);
		pfree(pl->slot);
		pfree(pl->index);
		pfree(pl->lindex);
		pfree(pl);
		mc->extra = NULL;
	}
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
cov_set(Covariates *cv, int k, double v)
{
	cv->v[k] = v;
	cv->missing[k] = false;
}

static void
cov_number(Covariates *cv, int k, bool isnull, double v)
{
	if (isnull)
		return;
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("covariate %s is %g; it must be finite or NULL", icu_model_covariate_name(k), v)));
	cov_set(cv, k, v);
}

static void
cov_sex(Covariates *cv, const text *t)
{
	int			len;
	const char *s;

	if (t == NULL)
		return;
	len = VARSIZE_ANY_EXHDR(t);
	s = VARDATA_ANY(t);
	if (len == 4 && memcmp(s, "male", 4) == 0)
		cov_set(cv, ICU_COV_SEX_MALE, 1);
	else if ((len == 6 && memcmp(s, "female", 6) == 0) || (len == 5 && memcmp(s, "other", 5) == 0))
		cov_set(cv, ICU_COV_SEX_MALE, 0);
}

static void
cov_unit(Covariates *cv, text *t)
{
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
		cov_set(cv, ICU_COV_UNIT_WARD + k, k == found ? 1 : 0);
}

/*
 * The comorbidity groups of an admission (text[] of group names, Charlson
 * and Elixhauser): each group 1 or 0, the Charlson index and the van
 * Walraven score (hierarchies of comorbidity.c).  A NULL array is unknown
 * (every comorbidity covariate missing); an empty one is "none".
 */
static void
cov_comorbidities(Covariates *cv, ArrayType *arr)
{
	Datum	   *d;
	bool	   *nulls;
	int			n;
	bool		has[ICU_COMORBIDITY_NUM] = {false};
	double		index = 0;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		text	   *t;
		int			k;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("comorbidities must not contain NULL")));
		t = DatumGetTextPP(d[i]);
		k = icu_comorbidity_from_name(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		if (k < 0)
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("unknown comorbidity group \"%s\"", text_to_cstring(t)),
					 errhint("SELECT name FROM icu_predict.comorbidity_groups() lists the groups.")));
		has[k] = true;
	}
	for (int k = 0; k < ICU_CHARLSON_NUM; k++)
	{
		int			sup = icu_comorbidity_superseded_by(k);

		cov_set(cv, ICU_COV_COMORBIDITY + k, has[k] ? 1 : 0);
		if (has[k] && !(sup >= 0 && has[sup]))
			index += icu_comorbidity_weight(k);
	}
	cov_set(cv, ICU_COV_CHARLSON, index);
	/* Elixhauser: a superseded group is not flagged; the score sums the flags */
	index = 0;
	for (int k = ICU_CHARLSON_NUM; k < ICU_COMORBIDITY_NUM; k++)
	{
		int			sup = icu_comorbidity_superseded_by(k);
		bool		flag = has[k] && !(sup >= 0 && has[sup]);

		cov_set(cv, ICU_COV_COMORBIDITY + k, flag ? 1 : 0);
		if (flag)
			index += icu_comorbidity_weight(k);
	}
	cov_set(cv, ICU_COV_VAN_WALRAVEN, index);
}

static void
cov_init(Covariates *cv)
{
	for (int i = 0; i < ICU_COV_NUM; i++)
	{
		cv->v[i] = 0;
		cv->missing[i] = true;
	}
}

/* the missing indicators, once the covariates are read */
static void
cov_indicators(Covariates *cv)
{
	cov_set(cv, ICU_COV_AGE_MISSING, cv->missing[ICU_COV_AGE] ? 1 : 0);
	cov_set(cv, ICU_COV_SEX_MISSING, cv->missing[ICU_COV_SEX_MALE] ? 1 : 0);
	cov_set(cv, ICU_COV_BMI_MISSING, cv->missing[ICU_COV_BMI] ? 1 : 0);
}

/*
 * Covariates from the positional arguments at base: age_years, sex,
 * hours_since_admission, unit_kind.  BMI and comorbidities are not known
 * there (missing).
 */
static void
read_covariates(FunctionCallInfo fcinfo, int base, Covariates *cv)
{
	cov_init(cv);
	cov_number(cv, ICU_COV_AGE, PG_ARGISNULL(base), PG_ARGISNULL(base) ? 0 : PG_GETARG_FLOAT8(base));
	cov_number(cv, ICU_COV_HOURS_SINCE_ADMISSION, PG_ARGISNULL(base + 2),
			   PG_ARGISNULL(base + 2) ? 0 : PG_GETARG_FLOAT8(base + 2));
	cov_sex(cv, PG_ARGISNULL(base + 1) ? NULL : PG_GETARG_TEXT_PP(base + 1));
	if (!PG_ARGISNULL(base + 3))
		cov_unit(cv, PG_GETARG_TEXT_PP(base + 3));
	cov_indicators(cv);
}

/*
 * Covariates from an admission_covariates value at base (age_years float8,
 * sex text, bmi float8, comorbidities text[]), then hours_since_admission
 * and unit_kind.  A NULL value: everything of the admission is missing.
 */
static void
read_covariates_row(FunctionCallInfo fcinfo, int base, Covariates *cv)
{
	cov_init(cv);
	if (!PG_ARGISNULL(base))
	{
		HeapTupleHeader row = ICU_GETARG_ROW(base);
		bool		isnull;
		Datum		d;

		d = GetAttributeByNum(row, 1, &isnull);
		cov_number(cv, ICU_COV_AGE, isnull, isnull ? 0 : DatumGetFloat8(d));
		d = GetAttributeByNum(row, 2, &isnull);
		cov_sex(cv, isnull ? NULL : DatumGetTextPP(d));
		d = GetAttributeByNum(row, 3, &isnull);
		cov_number(cv, ICU_COV_BMI, isnull, isnull ? 0 : DatumGetFloat8(d));
		d = GetAttributeByNum(row, 4, &isnull);
		if (!isnull)
			cov_comorbidities(cv, DatumGetArrayTypeP(d));
	}
	cov_number(cv, ICU_COV_HOURS_SINCE_ADMISSION, PG_ARGISNULL(base + 1),
			   PG_ARGISNULL(base + 1) ? 0 : PG_GETARG_FLOAT8(base + 1));
	if (!PG_ARGISNULL(base + 2))
		cov_unit(cv, PG_GETARG_TEXT_PP(base + 2));
	cov_indicators(cv);
}

/* Fill mc->x / mc->missing from panel argument 0 and covariates at cov_base. */
static void
fill_from_panel(FunctionCallInfo fcinfo, IcuModelCall *mc, int cov_base, bool row)
{
	const IcuModel *m = mc->model;
	PanelPlan  *pl = get_plan(fcinfo, mc);
	LabPanel   *p = PG_ARGISNULL(0) ? NULL : DatumGetLabPanelP(PG_GETARG_DATUM(0));
	Covariates	cv;
	const int  *index = pl->index;

	if (row)
		read_covariates_row(fcinfo, cov_base, &cv);
	else
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

/*
 * The entry points come in two forms: positional covariates
 *   f(panel, age_years, sex, hours_since_admission, unit_kind, model_name, model_version)
 * and an admission_covariates value (age, sex, BMI, comorbidities)
 *   f(panel, covariates, hours_since_admission, unit_kind, model_name, model_version)
 * (the _row functions).
 */
static Datum
risk_common(FunctionCallInfo fcinfo, bool row)
{
	int			na = row ? 4 : 5;
	IcuModelCall *mc = icu_model_call(fcinfo, na, na + 1, ICU_KIND_ADMISSION, false);

	fill_from_panel(fcinfo, mc, 1, row);
	PG_RETURN_FLOAT8(icu_model_prediction(mc->model, icu_model_call_margin(mc, false, NULL)));
}

PG_FUNCTION_INFO_V1(icu_model_risk);
Datum
icu_model_risk(PG_FUNCTION_ARGS)
{
	return risk_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(icu_model_risk_row);
Datum
icu_model_risk_row(PG_FUNCTION_ARGS)
{
	return risk_common(fcinfo, true);
}

static Datum
los_common(FunctionCallInfo fcinfo, bool row)
{
	int			na = row ? 4 : 5;
	IcuModelCall *mc = icu_model_call(fcinfo, na, na + 1, ICU_KIND_STAY, false);

	fill_from_panel(fcinfo, mc, 1, row);
	PG_RETURN_DATUM(icu_stay_datum(mc, fcinfo, icu_model_call_margin(mc, false, NULL)));
}

PG_FUNCTION_INFO_V1(icu_model_length_of_stay);
Datum
icu_model_length_of_stay(PG_FUNCTION_ARGS)
{
	return los_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(icu_model_length_of_stay_row);
Datum
icu_model_length_of_stay_row(PG_FUNCTION_ARGS)
{
	return los_common(fcinfo, true);
}

/* stay_survival(panel, t_days, <covariates>, model_name, model_version) */
static Datum
survival_common(FunctionCallInfo fcinfo, bool row)
{
	IcuModelCall *mc;
	int			na = row ? 5 : 6;
	double		t;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	t = PG_GETARG_FLOAT8(1);
	if (isnan(t))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("t_days must not be NaN")));
	mc = icu_model_call(fcinfo, na, na + 1, ICU_KIND_STAY, false);
	fill_from_panel(fcinfo, mc, 2, row);
	PG_RETURN_FLOAT8(icu_stay_survival(mc->model->dist, mc->model->sigma,
									   icu_model_call_margin(mc, false, NULL), t));
}

PG_FUNCTION_INFO_V1(icu_model_stay_survival);
Datum
icu_model_stay_survival(PG_FUNCTION_ARGS)
{
	return survival_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(icu_model_stay_survival_row);
Datum
icu_model_stay_survival_row(PG_FUNCTION_ARGS)
{
	return survival_common(fcinfo, true);
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
static Datum
explain_common(FunctionCallInfo fcinfo, bool row)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IcuModelCall *mc;
	int			na = row ? 4 : 5;	/* model_name; then version, kind, top */
	int			kind = ICU_KIND_ADMISSION;
	int			top = PG_ARGISNULL(na + 3) ? 5 : PG_GETARG_INT32(na + 3);
	int		   *order;
	int			n;

	if (!PG_ARGISNULL(na + 2))
	{
		char	   *k = text_to_cstring(PG_GETARG_TEXT_PP(na + 2));

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
	mc = icu_model_call(fcinfo, na, na + 1, kind, !PG_ARGISNULL(na));
	fill_from_panel(fcinfo, mc, 1, row);
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

PG_FUNCTION_INFO_V1(icu_model_explain);
Datum
icu_model_explain(PG_FUNCTION_ARGS)
{
	return explain_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(icu_model_explain_row);
Datum
icu_model_explain_row(PG_FUNCTION_ARGS)
{
	return explain_common(fcinfo, true);
}

/*
 * covariate_value(covariate, age_years, sex, hours_since_admission,
 * unit_kind) and covariate_value(covariate, covariates, hours_since_admission,
 * unit_kind): the value a model input of that covariate reads, by the same
 * encoding as the scoring functions (read_covariates / read_covariates_row),
 * so training code builds its inputs with the runtime's definition.  NULL
 * when missing.
 */
static Datum
covariate_value_common(FunctionCallInfo fcinfo, bool row)
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
	if (row)
		read_covariates_row(fcinfo, 1, &cv);
	else
		read_covariates(fcinfo, 1, &cv);
	if (cv.missing[k])
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(cv.v[k]);
}

PG_FUNCTION_INFO_V1(icu_covariate_value);
Datum
icu_covariate_value(PG_FUNCTION_ARGS)
{
	return covariate_value_common(fcinfo, false);
}

PG_FUNCTION_INFO_V1(icu_covariate_value_row);
Datum
icu_covariate_value_row(PG_FUNCTION_ARGS)
{
	return covariate_value_common(fcinfo, true);
}

/* model_covariates(): the covariate names a spec accepts, in order */
PG_FUNCTION_INFO_V1(icu_model_covariates);
Datum
icu_model_covariates(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int k = 0; k < ICU_COV_NUM; k++)
	{
		Datum		v[1];
		bool		nl[1] = {false};

		v[0] = CStringGetTextDatum(icu_model_covariate_name(k));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
	}
	PG_RETURN_NULL();
}
