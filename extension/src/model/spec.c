/*
 * spec.c — parse and validate a model spec (jsonb) into an IcuModel.
 *
 * Backs icu_predict.model_spec_check(kind, format, spec), which the registry
 * trigger calls at INSERT/UPDATE, and the model cache (cache.c), which
 * parses a row once per backend.  Both use the same code, so a spec that was
 * accepted at insert is one the scorers can run.
 *
 * Every error names the JSON path ($.model.learner....trees[3].left_children[5]).
 * Hostile input is bounded: counts and depths are checked against the limits
 * in model.h before anything is allocated from them, every node index is
 * range-checked, and a walk from each root rejects nodes reached twice
 * (cycles, shared subtrees) or unreachable ones.  Numbers must be finite.
 *
 * The IcuModel is allocated in CurrentMemoryContext (the cache makes that a
 * context of its own).  Features and thresholds of trees are float32, as in
 * xgboost; everything linear is float8.
 */
#include "model.h"

#include <float.h>
#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

static const char *const covariate_names[ICU_COV_COMORBIDITY] = {
	"age_years", "sex_male", "hours_since_admission",
	"unit_kind_ward", "unit_kind_icu", "unit_kind_mc", "unit_kind_ed",
	"unit_kind_or", "unit_kind_other",
	"age_missing", "sex_missing", "bmi_missing", "bmi", "charlson_index",
	"elixhauser_van_walraven"
};
StaticAssertDecl(lengthof(covariate_names) == ICU_COV_COMORBIDITY, "one name per covariate");

/*
 * comorbidity_<group> for the Charlson groups of comorbidity.c, prefixed
 * once; the Elixhauser groups' names carry their prefix (elixhauser_...) and
 * are their covariates' names.
 */
#define COMORBIDITY_PREFIX "comorbidity_"
static const char *comorbidity_covariates[ICU_COMORBIDITY_NUM];

int
icu_model_covariate_from_name(const char *name)
{
	int			k;

	for (int i = 0; i < ICU_COV_COMORBIDITY; i++)
		if (strcmp(name, covariate_names[i]) == 0)
			return i;
	if (strncmp(name, COMORBIDITY_PREFIX, strlen(COMORBIDITY_PREFIX)) == 0)
	{
		const char *g = name + strlen(COMORBIDITY_PREFIX);

		k = icu_comorbidity_from_name(g, strlen(g));
		if (k >= 0 && k < ICU_CHARLSON_NUM)
			return ICU_COV_COMORBIDITY + k;
		return -1;
	}
	k = icu_comorbidity_from_name(name, strlen(name));
	if (k >= ICU_CHARLSON_NUM)
		return ICU_COV_COMORBIDITY + k;
	return -1;
}

const char *
icu_model_covariate_name(int covariate)
{
	if (covariate >= 0 && covariate < ICU_COV_COMORBIDITY)
		return covariate_names[covariate];
	if (covariate >= ICU_COV_COMORBIDITY && covariate < ICU_COV_NUM)
	{
		int			k = covariate - ICU_COV_COMORBIDITY;

		if (k >= ICU_CHARLSON_NUM)
			return icu_comorbidity_name(k);
		if (comorbidity_covariates[k] == NULL)
			comorbidity_covariates[k] = MemoryContextStrdup(TopMemoryContext,
															psprintf(COMORBIDITY_PREFIX "%s", icu_comorbidity_name(k)));
		return comorbidity_covariates[k];
	}
	return NULL;
}

static const char *const kind_names[] = {"icu_admission", "icu_stay"};

typedef struct SpecCtx
{
	char		path[1024];
	int			len;
} SpecCtx;

int
icu_model_kind_from_name(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

const char *
icu_model_kind_name(IcuModelKind kind)
{
	return kind_names[kind];
}

/* ---- JSON path bookkeeping ---------------------------------------------- */

static int
path_key(SpecCtx *c, const char *key)
{
	int			old = c->len;
	int			n = snprintf(c->path + c->len, sizeof(c->path) - c->len, ".%s", key);

	if (n > 0)
		c->len = Min(c->len + n, (int) sizeof(c->path) - 1);
	return old;
}

static int
path_index(SpecCtx *c, int i)
{
	int			old = c->len;
	int			n = snprintf(c->path + c->len, sizeof(c->path) - c->len, "[%d]", i);

	if (n > 0)
		c->len = Min(c->len + n, (int) sizeof(c->path) - 1);
	return old;
}

static void
path_pop(SpecCtx *c, int old)
{
	c->len = old;
	c->path[old] = '\0';
}

ICU_NORETURN static void spec_error(SpecCtx *c, const char *fmt,...) pg_attribute_printf(2, 3);

static void
spec_error(SpecCtx *c, const char *fmt,...)
{
	char		buf[512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ICU_ERR_ARGUMENT),
			 errmsg("model spec: %s: %s", c->path, buf),
			 errhint("See docs/model-spec.md for the spec format.")));
}

/* ---- typed access -------------------------------------------------------- */

static const char *
jtype_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "value";
	}
}

/* Look up key in object container; NULL when absent. */
static JsonbValue *
get_key(JsonbContainer *obj, const char *key)
{
	JsonbValue *res = palloc(sizeof(JsonbValue));

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), res) == NULL)
	{
		pfree(res);
		return NULL;
	}
	return res;
}

static JsonbValue *
need_key(SpecCtx *c, JsonbContainer *obj, const char *key)
{
	JsonbValue *v = get_key(obj, key);

	if (v == NULL)
		spec_error(c, "missing required key \"%s\"", key);
	return v;
}

static JsonbContainer *
as_object(SpecCtx *c, JsonbValue *v)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		spec_error(c, "expected an object, found %s", jtype_name(v));
	return v->val.binary.data;
}

static JsonbContainer *
as_array(SpecCtx *c, JsonbValue *v)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		spec_error(c, "expected an array, found %s", jtype_name(v));
	return v->val.binary.data;
}

static double
numeric_to_double(Numeric n)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(n)));
}

/* A finite number; xgboost writes some numbers as strings ("5E-1"), so
 * strings holding a number are accepted where allow_string. */
static double
as_number(SpecCtx *c, JsonbValue *v, bool allow_string)
{
	double		d;

	if (v->type == jbvNumeric)
		d = numeric_to_double(v->val.numeric);
	else if (v->type == jbvString && allow_string)
	{
		char		buf[64];
		char	   *end;

		if (v->val.string.len <= 0 || v->val.string.len >= (int) sizeof(buf))
			spec_error(c, "expected a number in a string");
		memcpy(buf, v->val.string.val, v->val.string.len);
		buf[v->val.string.len] = '\0';
		errno = 0;
		d = strtod(buf, &end);
		if (*end != '\0' || end == buf || errno == ERANGE)
			spec_error(c, "expected a number, found \"%s\"", buf);
	}
	else
		spec_error(c, "expected a number, found %s", jtype_name(v));
	if (!isfinite(d))
		spec_error(c, "number must be finite");
	return d;
}

static double
key_number(SpecCtx *c, JsonbContainer *obj, const char *key, bool required, double dflt, bool allow_string)
{
	JsonbValue *v = required ? need_key(c, obj, key) : get_key(obj, key);
	int			old;
	double		d;

	if (v == NULL)
		return dflt;
	old = path_key(c, key);
	d = as_number(c, v, allow_string);
	path_pop(c, old);
	return d;
}

static int64
key_integer(SpecCtx *c, JsonbContainer *obj, const char *key, int64 lo, int64 hi)
{
	JsonbValue *v = need_key(c, obj, key);
	int			old = path_key(c, key);
	double		d = as_number(c, v, true);

	if (d != floor(d) || d < (double) lo || d > (double) hi)
		spec_error(c, "expected an integer in [" INT64_FORMAT ", " INT64_FORMAT "], found %g", lo, hi, d);
	path_pop(c, old);
	return (int64) d;
}

/* string value into buf (NUL-terminated); errors when too long */
static void
as_string(SpecCtx *c, JsonbValue *v, char *buf, int buflen)
{
	if (v->type != jbvString)
		spec_error(c, "expected a string, found %s", jtype_name(v));
	if (v->val.string.len >= buflen)
		spec_error(c, "string too long (at most %d bytes)", buflen - 1);
	memcpy(buf, v->val.string.val, v->val.string.len);
	buf[v->val.string.len] = '\0';
}

static bool
key_string(SpecCtx *c, JsonbContainer *obj, const char *key, bool required, char *buf, int buflen)
{
	JsonbValue *v = required ? need_key(c, obj, key) : get_key(obj, key);
	int			old;

	if (v == NULL)
		return false;
	old = path_key(c, key);
	as_string(c, v, buf, buflen);
	path_pop(c, old);
	return true;
}

/*
 * Read the array obj[key] of exactly n numbers into out (as double) with an
 * iterator (O(n)).  Integer arrays are range-checked by the caller.
 */
static void
key_number_array(SpecCtx *c, JsonbContainer *obj, const char *key, int n, double *out)
{
	JsonbValue *v = need_key(c, obj, key);
	int			old = path_key(c, key);
	JsonbContainer *arr = as_array(c, v);
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			i = 0;

	if ((int) JsonContainerSize(arr) != n)
		spec_error(c, "expected %d elements, found %d", n, (int) JsonContainerSize(arr));
	it = JsonbIteratorInit(arr);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (i >= n)
			spec_error(c, "too many elements");
		{
			int			o2 = path_index(c, i);

			out[i] = as_number(c, &elem, false);
			path_pop(c, o2);
		}
		i++;
	}
	path_pop(c, old);
}

/* ---- inputs -------------------------------------------------------------- */

static void
parse_input(SpecCtx *c, JsonbContainer *obj, IcuModelInput *in, bool linear)
{
	char		buf[ICU_MODEL_NAME_BUF];
	bool		has_feature = get_key(obj, "feature") != NULL;
	bool		has_cov = get_key(obj, "covariate") != NULL;

	memset(in, 0, sizeof(*in));
	if (has_feature == has_cov)
		spec_error(c, "an input needs exactly one of \"feature\" (with \"stat\") or \"covariate\"");
	if (has_cov)
	{
		int			old = path_key(c, "covariate");
		JsonbValue *v = get_key(obj, "covariate");

		as_string(c, v, buf, sizeof(buf));
		in->is_covariate = true;
		in->covariate = icu_model_covariate_from_name(buf);
		if (in->covariate < 0)
			spec_error(c, "unknown covariate \"%s\"", buf);
		path_pop(c, old);
		snprintf(in->label, sizeof(in->label), "%s", buf);
	}
	else
	{
		int			old = path_key(c, "feature");
		JsonbValue *v = get_key(obj, "feature");

		as_string(c, v, in->feature, sizeof(in->feature));
		if (in->feature[0] == '\0')
			spec_error(c, "feature name is empty");
		if (!icu_feature_name_ok(in->feature, strlen(in->feature)))
			spec_error(c, "\"%s\" is not a valid feature name (a lower-case letter, then letters, digits or _, at most %d)",
					   in->feature, ICU_FEATURE_NAME_MAX);
		path_pop(c, old);
		key_string(c, obj, "stat", true, buf, sizeof(buf));
		in->stat = icu_panel_stat_from_name(buf);
		if (in->stat < 0)
		{
			old = path_key(c, "stat");
			spec_error(c, "unknown panel statistic \"%s\" (one of: %s)", buf, icu_panel_stat_list());
		}
		snprintf(in->label, sizeof(in->label), "%s.%s", in->feature, buf);
	}
	if (!linear)
		return;

	in->impute = key_number(c, obj, "impute", true, 0, false);
	in->coef = key_number(c, obj, "coef", true, 0, false);
	in->mean = key_number(c, obj, "mean", false, 0, false);
	in->scale = key_number(c, obj, "scale", false, 1, false);
	in->missing_coef = key_number(c, obj, "missing_coef", false, 0, false);
	if (!(in->scale > 0))
	{
		path_key(c, "scale");
		spec_error(c, "scale must be > 0");
	}
	{
		JsonbValue *v = get_key(obj, "clip");

		if (v != NULL)
		{
			int			old = path_key(c, "clip");
			double		lohi[2];

			path_pop(c, old);
			key_number_array(c, obj, "clip", 2, lohi);
			path_key(c, "clip");
			if (lohi[0] > lohi[1])
				spec_error(c, "clip needs lo <= hi");
			path_pop(c, old);
			in->has_clip = true;
			in->clip_lo = lohi[0];
			in->clip_hi = lohi[1];
		}
	}
	in->transform = ICU_TF_NONE;
	if (key_string(c, obj, "transform", false, buf, sizeof(buf)))
	{
		int			old = path_key(c, "transform");

		if (strcmp(buf, "none") == 0)
			in->transform = ICU_TF_NONE;
		else if (strcmp(buf, "log") == 0)
		{
			in->transform = ICU_TF_LOG;
			if (!in->has_clip || !(in->clip_lo > 0))
				spec_error(c, "\"log\" needs \"clip\" with lo > 0");
		}
		else if (strcmp(buf, "log1p") == 0)
		{
			in->transform = ICU_TF_LOG1P;
			if (!in->has_clip || !(in->clip_lo > -1))
				spec_error(c, "\"log1p\" needs \"clip\" with lo > -1");
		}
		else
			spec_error(c, "unknown transform \"%s\" (none, log, log1p)", buf);
		path_pop(c, old);
	}
}

static void
parse_inputs(SpecCtx *c, JsonbContainer *root, IcuModel *m, bool linear)
{
	JsonbValue *v = need_key(c, root, "inputs");
	int			old = path_key(c, "inputs");
	JsonbContainer *arr = as_array(c, v);
	int			n = JsonContainerSize(arr);

	if (n < 1 || n > ICU_MODEL_MAX_INPUTS)
		spec_error(c, "expected 1 to %d inputs, found %d", ICU_MODEL_MAX_INPUTS, n);
	m->ninputs = n;
	m->inputs = palloc0(sizeof(IcuModelInput) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		int			o2 = path_index(c, i);

		parse_input(c, as_object(c, e), &m->inputs[i], linear);
		path_pop(c, o2);
	}
	path_pop(c, old);
}

static void
parse_stay_dist(SpecCtx *c, const char *name, IcuModel *m)
{
	if (strcmp(name, "normal") == 0)
		m->dist = ICU_DIST_NORMAL;
	else if (strcmp(name, "logistic") == 0)
		m->dist = ICU_DIST_LOGISTIC;
	else if (strcmp(name, "extreme") == 0)
		m->dist = ICU_DIST_EXTREME;
	else
		spec_error(c, "unknown distribution \"%s\" (normal, logistic, extreme)", name);
}

static void
check_sigma(SpecCtx *c, double s)
{
	if (!(s > 0 && s <= 100))
		spec_error(c, "sigma must be in (0, 100], found %g", s);
}

/* ---- linear -------------------------------------------------------------- */

static void
parse_linear(SpecCtx *c, JsonbContainer *root, IcuModel *m)
{
	char		buf[64];

	key_string(c, root, "link", true, buf, sizeof(buf));
	{
		int			old = path_key(c, "link");

		if (strcmp(buf, "logit") == 0)
			m->link = ICU_LINK_LOGIT;
		else if (strcmp(buf, "log") == 0)
			m->link = ICU_LINK_LOG;
		else
			spec_error(c, "unknown link \"%s\" (logit, log)", buf);
		if (m->kind == ICU_KIND_ADMISSION && m->link != ICU_LINK_LOGIT)
			spec_error(c, "a model of kind icu_admission needs link \"logit\"");
		if (m->kind == ICU_KIND_STAY && m->link != ICU_LINK_LOG)
			spec_error(c, "a model of kind icu_stay needs link \"log\"");
		path_pop(c, old);
	}
	m->intercept = key_number(c, root, "intercept", true, 0, false);
	parse_inputs(c, root, m, true);
	if (m->kind == ICU_KIND_STAY)
	{
		JsonbValue *v = need_key(c, root, "stay");
		int			old = path_key(c, "stay");
		JsonbContainer *st = as_object(c, v);

		key_string(c, st, "distribution", true, buf, sizeof(buf));
		{
			int			o2 = path_key(c, "distribution");

			parse_stay_dist(c, buf, m);
			path_pop(c, o2);
		}
		m->sigma = key_number(c, st, "sigma", true, 0, false);
		path_key(c, "sigma");
		check_sigma(c, m->sigma);
		path_pop(c, old);
	}
}

/* ---- xgboost ------------------------------------------------------------- */

static void
parse_tree(SpecCtx *c, JsonbContainer *t, IcuTree *tree, int ninputs, int64 *total_nodes)
{
	JsonbContainer *tp;
	int			n;
	double	   *buf;
	int		   *stack;
	int		   *depth;
	bool	   *seen;
	int			sp = 0;

	{
		JsonbValue *v = need_key(c, t, "tree_param");
		int			old = path_key(c, "tree_param");

		tp = as_object(c, v);
		n = (int) key_integer(c, tp, "num_nodes", 1, ICU_MODEL_MAX_TREE_NODES);
		path_pop(c, old);
	}
	*total_nodes += n;
	if (*total_nodes > ICU_MODEL_MAX_TOTAL_NODES)
		spec_error(c, "more than %d nodes in all trees", ICU_MODEL_MAX_TOTAL_NODES);

	tree->nnodes = n;
	tree->nodes = palloc0(sizeof(IcuTreeNode) * n);
	tree->cover = palloc(sizeof(double) * n);
	tree->mean_value = palloc(sizeof(double) * n);
	buf = palloc(sizeof(double) * n);

	/* split_type: numerical only */
	if (get_key(t, "split_type") != NULL)
	{
		key_number_array(c, t, "split_type", n, buf);
		for (int i = 0; i < n; i++)
			if (buf[i] != 0)
			{
				path_key(c, "split_type");
				path_index(c, i);
				spec_error(c, "categorical splits are not supported");
			}
	}
	key_number_array(c, t, "left_children", n, buf);
	for (int i = 0; i < n; i++)
		tree->nodes[i].left = (buf[i] == -1) ? -1 : (buf[i] >= 1 && buf[i] < n && buf[i] == floor(buf[i])) ? (int32) buf[i] : -2;
	for (int i = 0; i < n; i++)
		if (tree->nodes[i].left == -2)
		{
			path_key(c, "left_children");
			path_index(c, i);
			spec_error(c, "child index %g out of range [1, %d] (or -1 for a leaf)", buf[i], n - 1);
		}
	key_number_array(c, t, "right_children", n, buf);
	for (int i = 0; i < n; i++)
	{
		bool		leaf = tree->nodes[i].left == -1;
		bool		ok = leaf ? buf[i] == -1 : (buf[i] >= 1 && buf[i] < n && buf[i] == floor(buf[i]));

		if (!ok)
		{
			path_key(c, "right_children");
			path_index(c, i);
			if (leaf)
				spec_error(c, "a leaf (left child -1) needs right child -1, found %g", buf[i]);
			spec_error(c, "child index %g out of range [1, %d]", buf[i], n - 1);
		}
		tree->nodes[i].right = (int32) buf[i];
	}
	key_number_array(c, t, "split_indices", n, buf);
	for (int i = 0; i < n; i++)
	{
		if (tree->nodes[i].left >= 0 &&
			!(buf[i] >= 0 && buf[i] < ninputs && buf[i] == floor(buf[i])))
		{
			path_key(c, "split_indices");
			path_index(c, i);
			spec_error(c, "feature index %g out of range [0, %d]", buf[i], ninputs - 1);
		}
		tree->nodes[i].split = tree->nodes[i].left >= 0 ? (int32) buf[i] : 0;
	}
	key_number_array(c, t, "split_conditions", n, buf);
	for (int i = 0; i < n; i++)
	{
		float		f = (float) buf[i];

		if (!isfinite(f))
		{
			path_key(c, "split_conditions");
			path_index(c, i);
			spec_error(c, "value %g does not fit in float32", buf[i]);
		}
		tree->nodes[i].value = f;
	}
	key_number_array(c, t, "default_left", n, buf);
	for (int i = 0; i < n; i++)
	{
		if (buf[i] != 0 && buf[i] != 1)
		{
			path_key(c, "default_left");
			path_index(c, i);
			spec_error(c, "expected 0 or 1, found %g", buf[i]);
		}
		tree->nodes[i].default_left = buf[i] != 0;
	}
	key_number_array(c, t, "sum_hessian", n, tree->cover);
	for (int i = 0; i < n; i++)
		if (!(tree->cover[i] >= 0))
		{
			path_key(c, "sum_hessian");
			path_index(c, i);
			spec_error(c, "cover must be >= 0");
		}

	/* walk from the root: every node reached exactly once, depth bounded */
	seen = palloc0(sizeof(bool) * n);
	stack = palloc(sizeof(int) * (n + 1));
	depth = palloc(sizeof(int) * (n + 1));
	stack[sp] = 0;
	depth[sp++] = 0;
	seen[0] = true;
	tree->depth = 0;
	while (sp > 0)
	{
		int			i = stack[--sp];
		int			d = depth[sp];

		tree->depth = Max(tree->depth, d);
		if (d > ICU_MODEL_MAX_DEPTH)
			spec_error(c, "tree deeper than %d", ICU_MODEL_MAX_DEPTH);
		if (tree->nodes[i].left < 0)
			continue;
		for (int k = 0; k < 2; k++)
		{
			int			ch = k == 0 ? tree->nodes[i].left : tree->nodes[i].right;

			if (seen[ch])
			{
				path_key(c, k == 0 ? "left_children" : "right_children");
				path_index(c, i);
				spec_error(c, "node %d is reached twice (cycle or shared child)", ch);
			}
			seen[ch] = true;
			stack[sp] = ch;
			depth[sp++] = d + 1;
		}
	}
	for (int i = 0; i < n; i++)
		if (!seen[i])
		{
			path_key(c, "left_children");
			spec_error(c, "node %d is not reachable from the root", i);
		}

	/*
	 * Cover-weighted mean value of each subtree (TreeSHAP's expected value).
	 * Children have no fixed order relative to parents, so go bottom-up over
	 * a pre-order list.
	 */
	sp = 0;
	{
		int		   *order = palloc(sizeof(int) * n);
		int			no = 0;

		stack[sp++] = 0;
		while (sp > 0)
		{
			int			i = stack[--sp];

			order[no++] = i;
			if (tree->nodes[i].left >= 0)
			{
				stack[sp++] = tree->nodes[i].left;
				stack[sp++] = tree->nodes[i].right;
			}
		}
		for (int k = no - 1; k >= 0; k--)
		{
			int			i = order[k];
			IcuTreeNode *nd = &tree->nodes[i];

			if (nd->left < 0)
				tree->mean_value[i] = nd->value;
			else
			{
				double		cl = tree->cover[nd->left],
							cr = tree->cover[nd->right];

				tree->mean_value[i] = (cl + cr) > 0 ?
					(tree->mean_value[nd->left] * cl + tree->mean_value[nd->right] * cr) / (cl + cr) : 0;
			}
		}
		pfree(order);
	}
	pfree(seen);
	pfree(stack);
	pfree(depth);
	pfree(buf);
}

static void
parse_xgboost(SpecCtx *c, JsonbContainer *root, IcuModel *m)
{
	JsonbContainer *model,
			   *learner,
			   *lmp,
			   *obj,
			   *gb,
			   *gbm,
			   *trees;
	char		buf[64];
	int			old,
				o2,
				o3;
	int64		total_nodes = 0;
	double		base_score;

	parse_inputs(c, root, m, false);

	old = path_key(c, "model");
	model = as_object(c, need_key(c, root, "model"));
	o2 = path_key(c, "learner");
	learner = as_object(c, need_key(c, model, "learner"));

	o3 = path_key(c, "learner_model_param");
	lmp = as_object(c, need_key(c, learner, "learner_model_param"));
	if (key_integer(c, lmp, "num_feature", 0, INT_MAX) != m->ninputs)
	{
		path_key(c, "num_feature");
		spec_error(c, "num_feature differs from the number of inputs (%d)", m->ninputs);
	}
	if (get_key(lmp, "num_class") && key_integer(c, lmp, "num_class", 0, INT_MAX) > 1)
	{
		path_key(c, "num_class");
		spec_error(c, "multi-class models are not supported");
	}
	if (get_key(lmp, "num_target") && key_integer(c, lmp, "num_target", 0, INT_MAX) > 1)
	{
		path_key(c, "num_target");
		spec_error(c, "multi-target models are not supported");
	}
	base_score = key_number(c, lmp, "base_score", true, 0, true);
	path_pop(c, o3);

	o3 = path_key(c, "objective");
	obj = as_object(c, need_key(c, learner, "objective"));
	key_string(c, obj, "name", true, buf, sizeof(buf));
	if (strcmp(buf, "binary:logistic") == 0)
	{
		float		bs = (float) base_score;

		if (m->kind != ICU_KIND_ADMISSION)
		{
			path_key(c, "name");
			spec_error(c, "objective binary:logistic needs kind icu_admission");
		}
		if (!(bs > 0 && bs < 1))
		{
			path_pop(c, o3);
			path_key(c, "learner_model_param");
			path_key(c, "base_score");
			spec_error(c, "base_score must be in (0, 1) for binary:logistic");
		}
		/* xgboost 1.x: ProbToMargin in float */
		m->base_margin = -logf(1.0f / bs - 1.0f);
	}
	else if (strcmp(buf, "survival:aft") == 0)
	{
		JsonbContainer *ap;
		float		bs = (float) base_score;

		if (m->kind != ICU_KIND_STAY)
		{
			path_key(c, "name");
			spec_error(c, "objective survival:aft needs kind icu_stay");
		}
		if (!(bs > 0) || !isfinite(bs))
		{
			path_pop(c, o3);
			path_key(c, "learner_model_param");
			path_key(c, "base_score");
			spec_error(c, "base_score must be > 0 and fit in float32 for survival:aft");
		}
		m->base_margin = logf(bs);
		{
			int			o4 = path_key(c, "aft_loss_param");

			ap = as_object(c, need_key(c, obj, "aft_loss_param"));
			key_string(c, ap, "aft_loss_distribution", true, buf, sizeof(buf));
			{
				int			o5 = path_key(c, "aft_loss_distribution");

				parse_stay_dist(c, buf, m);
				path_pop(c, o5);
			}
			m->sigma = key_number(c, ap, "aft_loss_distribution_scale", true, 0, true);
			path_key(c, "aft_loss_distribution_scale");
			check_sigma(c, m->sigma);
			path_pop(c, o4);
		}
	}
	else
	{
		path_key(c, "name");
		spec_error(c, "unsupported objective \"%s\" (binary:logistic, survival:aft)", buf);
	}
	path_pop(c, o3);

	o3 = path_key(c, "gradient_booster");
	gb = as_object(c, need_key(c, learner, "gradient_booster"));
	if (key_string(c, gb, "name", false, buf, sizeof(buf)) && strcmp(buf, "gbtree") != 0)
	{
		path_key(c, "name");
		spec_error(c, "unsupported booster \"%s\" (gbtree)", buf);
	}
	{
		int			o4 = path_key(c, "model");
		JsonbContainer *gp;
		JsonbValue *tv;

		gbm = as_object(c, need_key(c, gb, "model"));
		if ((tv = get_key(gbm, "gbtree_model_param")) != NULL)
		{
			int			o5 = path_key(c, "gbtree_model_param");

			gp = as_object(c, tv);
			if (get_key(gp, "num_parallel_tree") &&
				key_integer(c, gp, "num_parallel_tree", 0, INT_MAX) > 1)
			{
				path_key(c, "num_parallel_tree");
				spec_error(c, "num_parallel_tree > 1 is not supported");
			}
			path_pop(c, o5);
		}
		{
			int			o5 = path_key(c, "trees");
			int			nt;

			trees = as_array(c, need_key(c, gbm, "trees"));
			nt = JsonContainerSize(trees);
			if (nt < 1 || nt > ICU_MODEL_MAX_TREES)
				spec_error(c, "expected 1 to %d trees, found %d", ICU_MODEL_MAX_TREES, nt);
			m->ntrees = nt;
			m->trees = palloc0(sizeof(IcuTree) * nt);
			m->max_depth = 0;
			for (int i = 0; i < nt; i++)
			{
				int			o6 = path_index(c, i);

				parse_tree(c, as_object(c, getIthJsonbValueFromContainer(trees, i)),
						   &m->trees[i], m->ninputs, &total_nodes);
				m->max_depth = Max(m->max_depth, m->trees[i].depth);
				path_pop(c, o6);
			}
			path_pop(c, o5);
		}
		path_pop(c, o4);
	}
	path_pop(c, o3);
	path_pop(c, o2);
	path_pop(c, old);
}

/* ---- the margin bound ---------------------------------------------------- */

/*
 * A model is refused when its margin can leave the range its arithmetic
 * holds: a margin of +-Infinity (or Infinity - Infinity = NaN) would give a
 * probability of exactly 1 or 0, or NaN, that says nothing about the
 * patient.  The bound is taken over the input domain of docs/model-spec.md:
 * a clipped input lies in its clip range, an unclipped one within
 * +-ICU_MODEL_INPUT_BOUND (the bound lab_result.value has); the missing
 * indicator's coefficient is added in full.  Linear models are summed in
 * float8, so the bound must stay below DBL_MAX; xgboost sums its leaves in
 * float32 (as xgboost does), so |base margin| + the largest |leaf| of every
 * tree must stay below FLT_MAX.  The bound is computed in long double, which
 * holds every product of two float8 values.  At scoring, a margin that is
 * not finite anyway (an unclipped input beyond the bound) is an error
 * (sql.c: icu_model_call_margin), never a probability.
 */
static void
check_margin_bound(SpecCtx *c, const IcuModel *m)
{
	long double bound;
	int			worst = -1;
	long double worst_term = 0;

	if (m->format == ICU_FORMAT_LINEAR)
	{
		bound = fabsl((long double) m->intercept);
		for (int i = 0; i < m->ninputs; i++)
		{
			const IcuModelInput *in = &m->inputs[i];
			long double lo,
						hi,
						term;

			if (in->has_clip)
			{
				lo = in->clip_lo;
				hi = in->clip_hi;
			}
			else
			{
				lo = -ICU_MODEL_INPUT_BOUND;
				hi = ICU_MODEL_INPUT_BOUND;
				if (fabs(in->impute) > ICU_MODEL_INPUT_BOUND)
				{
					lo = -fabs(in->impute);
					hi = fabs(in->impute);
				}
			}
			if (in->transform == ICU_TF_LOG)
			{
				lo = logl(lo);
				hi = logl(hi);
			}
			else if (in->transform == ICU_TF_LOG1P)
			{
				lo = log1pl(lo);
				hi = log1pl(hi);
			}
			/* |coef * (v - mean) / scale| is largest at an end of the range */
			term = fabsl((long double) in->coef / in->scale)
				* Max(fabsl(lo - in->mean), fabsl(hi - in->mean))
				+ fabsl((long double) in->missing_coef);
			if (term > worst_term)
			{
				worst_term = term;
				worst = i;
			}
			bound += term;
		}
		if (!(bound <= DBL_MAX))
		{
			if (worst >= 0)
			{
				path_key(c, "inputs");
				path_index(c, worst);
			}
			spec_error(c, "the margin can reach about 1e%d, beyond the float8 range, so the model could score Infinity or NaN "
					   "(input %s: |coef / scale| times its range is about 1e%d; an unclipped input ranges over +-%g)",
					   (int) log10l(bound), worst >= 0 ? m->inputs[worst].label : "-",
					   (int) log10l(worst_term), ICU_MODEL_INPUT_BOUND);
		}
	}
	else
	{
		bound = fabsl((long double) m->base_margin);
		for (int t = 0; t < m->ntrees; t++)
		{
			const IcuTree *tree = &m->trees[t];
			long double top = 0;

			for (int k = 0; k < tree->nnodes; k++)
				if (tree->nodes[k].left < 0 && fabsl((long double) tree->nodes[k].value) > top)
					top = fabsl((long double) tree->nodes[k].value);
			if (top > worst_term)
			{
				worst_term = top;
				worst = t;
			}
			bound += top;
		}
		if (!(bound <= FLT_MAX))
			spec_error(c, "the margin (base margin plus the largest |leaf| of every tree) can reach %g, beyond the float32 range "
					   "xgboost sums leaves in, so the model could score Infinity or NaN (largest |leaf| %g, in tree %d)",
					   (double) bound, (double) worst_term, worst);
	}
}

/* ---- entry points -------------------------------------------------------- */

IcuModel *
icu_model_parse(IcuModelKind kind, IcuModelFormat format, Jsonb *spec)
{
	SpecCtx		c;
	IcuModel   *m = palloc0(sizeof(IcuModel));
	JsonbValue	rootv;
	JsonbContainer *root;
	char		buf[32];

	strcpy(c.path, "$");
	c.len = 1;
	m->kind = kind;
	m->format = format;
	rootv.type = jbvBinary;
	rootv.val.binary.data = &spec->root;
	rootv.val.binary.len = VARSIZE(spec) - VARHDRSZ;
	if (JB_ROOT_IS_SCALAR(spec))
		spec_error(&c, "expected an object, found a scalar");
	root = as_object(&c, &rootv);
	key_string(&c, root, "format", true, buf, sizeof(buf));
	if (strcmp(buf, format == ICU_FORMAT_LINEAR ? "linear" : "xgboost") != 0)
	{
		path_key(&c, "format");
		spec_error(&c, "format \"%s\" differs from the row's format \"%s\"", buf,
				   format == ICU_FORMAT_LINEAR ? "linear" : "xgboost");
	}
	if (format == ICU_FORMAT_LINEAR)
		parse_linear(&c, root, m);
	else
		parse_xgboost(&c, root, m);
	check_margin_bound(&c, m);
	return m;
}

/*
 * model_spec_check(kind text, format text, spec jsonb)
 *   RETURNS TABLE (path text, feature text, stat text)
 * Validates the spec (ERROR naming the JSON path) and lists the lab features
 * it reads, so that the registry trigger can check them against the catalogue.
 */
PG_FUNCTION_INFO_V1(icu_model_spec_check);
Datum
icu_model_spec_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *format = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Jsonb	   *spec = PG_GETARG_JSONB_P(2);
	int			k = icu_model_kind_from_name(kind);
	int			f;
	IcuModel   *m;
	MemoryContext tmp,
				old;

	if (k < 0)
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("unknown model kind \"%s\"", kind),
				 errhint("Kinds are icu_admission and icu_stay.")));
	if (strcmp(format, "linear") == 0)
		f = ICU_FORMAT_LINEAR;
	else if (strcmp(format, "xgboost") == 0)
		f = ICU_FORMAT_XGBOOST;
	else
		ereport(ERROR,
				(errcode(ICU_ERR_ARGUMENT),
				 errmsg("unknown model format \"%s\"", format),
				 errhint("Formats are linear and xgboost.")));

	InitMaterializedSRF(fcinfo, 0);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "icu_predict spec check", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(tmp);
	m = icu_model_parse(k, f, spec);
	MemoryContextSwitchTo(old);
	for (int i = 0; i < m->ninputs; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		char		p[64];

		if (m->inputs[i].is_covariate)
			continue;
		snprintf(p, sizeof(p), "$.inputs[%d].feature", i);
		values[0] = CStringGetTextDatum(p);
		values[1] = CStringGetTextDatum(m->inputs[i].feature);
		values[2] = CStringGetTextDatum(icu_panel_stat_name((IcuPanelStat) m->inputs[i].stat));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(tmp);
	PG_RETURN_NULL();
}
