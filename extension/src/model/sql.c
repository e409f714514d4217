/*
 * sql.c — SQL entry points of the model runtime on plain input vectors.
 *
 *   model_predict(model_name, model_version, inputs float8[])  -> float8
 *   model_margin(model_name, model_version, inputs float8[])   -> float8
 *   model_contributions(model_name, model_version, inputs float8[])
 *       -> TABLE (input text, contribution float8)
 *   model_stay(model_name, model_version, inputs float8[])     -> stay_estimate
 *   model_stay_survival(model_name, model_version, inputs float8[], t_days) -> float8
 *   stay_survival_curve(location_days, t_days float8[], model_name, model_version) -> float8[]
 *
 * inputs[k] is the raw value of the spec's k-th input (NULL = missing), so
 * Python and SQL can be compared on identical vectors (the parity test).
 * The panel entry points (score_panel.c) fill the same vectors from a
 * lab_panel and covariates and share the code below.
 *
 * Per call site, the resolved model and the scratch buffers live in fn_extra
 * under fn_mcxt: the registry is consulted once per query, the spec parsed
 * once per backend (cache.c).
 */
#include "model.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

static void
arg_cstring(FunctionCallInfo fcinfo, int argno, bool *has, char *buf, int buflen)
{
	*has = argno >= 0 && !PG_ARGISNULL(argno);
	buf[0] = '\0';
	if (*has)
	{
		text	   *t = PG_GETARG_TEXT_PP(argno);
		int			len = VARSIZE_ANY_EXHDR(t);

		if (len >= buflen)
			ereport(ERROR,
					(errcode(ICU_ERR_UNDEFINED),
					 errmsg("model name or version too long")));
		memcpy(buf, VARDATA_ANY(t), len);
		buf[len] = '\0';
	}
}

IcuModelCall *
icu_model_call(FunctionCallInfo fcinfo, int name_arg, int version_arg, IcuModelKind kind, bool any_kind)
{
	IcuModelCall *mc = (IcuModelCall *) fcinfo->flinfo->fn_extra;
	bool		has_name,
				has_version;
	char		name[NAMEDATALEN * 2];
	char		version[NAMEDATALEN * 2];
	IcuModel   *m;
	MemoryContext old;

	/*
	 * The model named by this row's arguments: the one resolved before when
	 * they name it again.  Always compared, never taken as constant: a
	 * PL/pgSQL expression keeps its call site (and fn_extra) across calls
	 * whose Params name other models.
	 */
	arg_cstring(fcinfo, name_arg, &has_name, name, sizeof(name));
	arg_cstring(fcinfo, version_arg, &has_version, version, sizeof(version));
	if (mc != NULL && mc->model != NULL &&
		mc->kind == kind && mc->any_kind == any_kind &&
		mc->has_name == has_name && mc->has_version == has_version &&
		strcmp(mc->name, name) == 0 && strcmp(mc->version, version) == 0)
		return mc;

	m = icu_model_get(has_name ? name : NULL, has_version ? version : NULL, kind, any_kind);
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (mc == NULL)
	{
		mc = palloc0(sizeof(IcuModelCall));
		fcinfo->flinfo->fn_extra = mc;
	}
	if (mc->model == NULL || mc->model->ninputs != m->ninputs)
	{
		/* buffers of the model this call site held before, if any */
		if (mc->x)
		{
			pfree(mc->x);
			pfree(mc->missing);
			pfree(mc->xf);
			pfree(mc->contrib);
		}
		mc->x = palloc0(sizeof(double) * m->ninputs);
		mc->missing = palloc0(sizeof(bool) * m->ninputs);
		mc->xf = palloc0(sizeof(float) * m->ninputs);
		mc->contrib = palloc0(sizeof(double) * m->ninputs);
	}
	MemoryContextSwitchTo(old);
	mc->model = m;
	mc->kind = kind;
	mc->any_kind = any_kind;
	mc->has_name = has_name;
	mc->has_version = has_version;
	strcpy(mc->name, name);
	strcpy(mc->version, version);
	return mc;
}

/*
 * The margin bound of spec.c keeps every accepted model's margin finite for
 * inputs within the documented domain; an input beyond it (an unclipped
 * value past +-1e300) could still overflow.  That score is an error naming
 * the model, never a probability of exactly 0 or 1 or NaN.
 */
static double
check_finite_margin(const IcuModel *m, double margin)
{
	if (!isfinite(margin))
		ereport(ERROR,
				(errcode(ICU_ERR_RANGE),
				 errmsg("margin of model \"%s\" version \"%s\" is %g for these inputs",
						m->name, m->version, margin),
				 errdetail("An unclipped input beyond +-%g can overflow the margin; no risk is given for it.",
						   ICU_MODEL_INPUT_BOUND),
				 errhint("Clip the model's inputs (\"clip\": [lo, hi]) or correct the input value.")));
	return margin;
}

double
icu_model_call_margin(IcuModelCall *mc, bool want_contrib, double *bias)
{
	const IcuModel *m = mc->model;

	if (m->format == ICU_FORMAT_LINEAR)
	{
		if (bias)
			*bias = m->intercept;
		return check_finite_margin(m, icu_linear_margin(m, mc->x, mc->missing,
														 want_contrib ? mc->contrib : NULL));
	}
	for (int i = 0; i < m->ninputs; i++)
		mc->xf[i] = mc->missing[i] ? NAN : (float) mc->x[i];
	if (want_contrib)
	{
		double		b;

		icu_xgb_shap(m, mc->xf, mc->contrib, &b);
		if (bias)
			*bias = b;
	}
	return check_finite_margin(m, (double) icu_xgb_margin(m, mc->xf));
}

/* probability (icu_admission) or location in days (icu_stay), like Python's predict */
double
icu_model_prediction(const IcuModel *m, double margin)
{
	if (m->kind == ICU_KIND_ADMISSION)
		return 1.0 / (1.0 + exp(-margin));
	return exp(margin);
}

/* stay_estimate (model_id, model_version, location_days, expected_days, median_days, p10_days, p90_days) */
Datum
icu_stay_datum(IcuModelCall *mc, FunctionCallInfo fcinfo, double mu)
{
	IcuStay		st;
	Datum		v[7];
	bool		n[7] = {false, false, false, false, false, false, false};

	if (mc->tupdesc == NULL)
	{
		TupleDesc	td;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		mc->tupdesc = BlessTupleDesc(CreateTupleDescCopy(td));
		MemoryContextSwitchTo(old);
	}
	icu_stay_summary(mc->model->dist, mc->model->sigma, mu, &st);
	v[0] = Int64GetDatum(mc->model->model_id);
	v[1] = CStringGetTextDatum(mc->model->version);
	v[2] = Float8GetDatum(st.location);
	v[3] = Float8GetDatum(st.expected);
	n[3] = !isfinite(st.expected);
	v[4] = Float8GetDatum(st.median);
	v[5] = Float8GetDatum(st.p10);
	v[6] = Float8GetDatum(st.p90);
	return HeapTupleGetDatum(heap_form_tuple(mc->tupdesc, v, n));
}

/* Fill mc->x / mc->missing from a float8[] (argument argno). */
static void
fill_from_array(IcuModelCall *mc, ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("inputs must be a one-dimensional float8 array")));
	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	if (n != mc->model->ninputs)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("model \"%s\" version \"%s\" has %d inputs, %d values given",
						mc->model->name, mc->model->version, mc->model->ninputs, n)));
	for (int i = 0; i < n; i++)
	{
		mc->missing[i] = nulls[i];
		mc->x[i] = nulls[i] ? 0 : DatumGetFloat8(elems[i]);
		if (!nulls[i] && !isfinite(mc->x[i]))
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("input %d (%s) is %g; inputs must be finite or NULL",
							i + 1, mc->model->inputs[i].label, mc->x[i])));
	}
	pfree(elems);
	pfree(nulls);
}

static IcuModelCall *
vector_call(FunctionCallInfo fcinfo, bool stay_only)
{
	IcuModelCall *mc = icu_model_call(fcinfo, 0, 1, ICU_KIND_STAY, !stay_only);

	fill_from_array(mc, PG_GETARG_ARRAYTYPE_P(2));
	return mc;
}

PG_FUNCTION_INFO_V1(icu_model_predict_vec);
Datum
icu_model_predict_vec(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc = vector_call(fcinfo, false);

	PG_RETURN_FLOAT8(icu_model_prediction(mc->model, icu_model_call_margin(mc, false, NULL)));
}

PG_FUNCTION_INFO_V1(icu_model_margin_vec);
Datum
icu_model_margin_vec(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc = vector_call(fcinfo, false);

	PG_RETURN_FLOAT8(icu_model_call_margin(mc, false, NULL));
}

PG_FUNCTION_INFO_V1(icu_model_contributions_vec);
Datum
icu_model_contributions_vec(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	IcuModelCall *mc = vector_call(fcinfo, false);
	double		bias;
	Datum		v[2];
	bool		n[2] = {false, false};

	icu_model_call_margin(mc, true, &bias);
	InitMaterializedSRF(fcinfo, 0);
	v[0] = CStringGetTextDatum("(bias)");
	v[1] = Float8GetDatum(bias);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	for (int i = 0; i < mc->model->ninputs; i++)
	{
		v[0] = CStringGetTextDatum(mc->model->inputs[i].label);
		v[1] = Float8GetDatum(mc->contrib[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(icu_model_stay_vec);
Datum
icu_model_stay_vec(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc = vector_call(fcinfo, true);

	PG_RETURN_DATUM(icu_stay_datum(mc, fcinfo, icu_model_call_margin(mc, false, NULL)));
}

PG_FUNCTION_INFO_V1(icu_model_stay_survival_vec);
Datum
icu_model_stay_survival_vec(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc = vector_call(fcinfo, true);
	double		t = PG_GETARG_FLOAT8(3);

	if (isnan(t))
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("t_days must not be NaN")));
	PG_RETURN_FLOAT8(icu_stay_survival(mc->model->dist, mc->model->sigma,
									   icu_model_call_margin(mc, false, NULL), t));
}

/*
 * stay_survival_curve(location_days, t_days float8[], model_name, model_version)
 *   -> float8[]: S(t) for every t of t_days, of the icu_stay model's
 * distribution around location_days (= exp(mu), the location_days of a
 * stay_estimate that the same model made).  The capacity forecast evaluates
 * the curve of every patient from the stay estimate stored in patient_status
 * instead of re-deriving model inputs.
 */
PG_FUNCTION_INFO_V1(icu_stay_survival_curve);
Datum
icu_stay_survival_curve(PG_FUNCTION_ARGS)
{
	IcuModelCall *mc;
	double		loc;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	double		mu;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	loc = PG_GETARG_FLOAT8(0);
	arr = PG_GETARG_ARRAYTYPE_P(1);

	if (!isfinite(loc) || loc <= 0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("location_days is %g; it must be finite and > 0", loc)));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("t_days must be a one-dimensional float8 array")));
	mc = icu_model_call(fcinfo, 2, 3, ICU_KIND_STAY, false);
	mu = log(loc);
	if (ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(FLOAT8OID));
	deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		double		t;

		if (nulls[i])
			continue;
		t = DatumGetFloat8(elems[i]);
		if (isnan(t))
			ereport(ERROR,
					(errcode(ICU_ERR_ARGUMENT),
					 errmsg("t_days must not be NaN")));
		elems[i] = Float8GetDatum(icu_stay_survival(mc->model->dist, mc->model->sigma, mu, t));
	}
	{
		int			dims[1] = {n};
		int			lbs[1] = {1};

		PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, nulls, 1, dims, lbs, FLOAT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
}
