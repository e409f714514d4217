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
#include "spec_json.h"

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

/* ---- inputs -------------------------------------------------------------- */

static void
parse_input(SpecCtx *c, JsonbContainer *obj, IcuModelInput *in, bool linear)
{
	char		buf[ICU_MODEL_NAME_BUF];
	bool		has_feature = spec_get_key(obj, "feature") != NULL;
	bool		has_cov = spec_get_key(obj, "covariate") != NULL;

	memset(in, 0, sizeof(*in));
	if (has_feature == has_cov)
		spec_error(c, "an input needs exactly one of \"feature\" (with \"stat\") or \"covariate\"");
	if (has_cov)
	{
		int			old = spec_path_key(c, "covariate");
		JsonbValue *v = spec_get_key(obj, "covariate");

		spec_as_string(c, v, buf, sizeof(buf));
		in->is_covariate = true;
		in->covariate = icu_model_covariate_from_name(buf);
		if (in->covariate < 0)
			spec_error(c, "unknown covariate \"%s\"", buf);
		spec_path_pop(c, old);
		snprintf(in->label, sizeof(in->label), "%s", buf);
	}
	else
	{
		int			old = spec_path_key(c, "feature");
		JsonbValue *v = spec_get_key(obj, "feature");

		spec_as_string(c, v, in->feature, sizeof(in->feature));
		if (in->feature[0] == '\0')
			spec_error(c, "feature name is empty");
		if (!icu_feature_name_ok(in->feature, strlen(in->feature)))
			spec_error(c, "\"%s\" is not a valid feature name (a lower-case letter, then letters, digits or _, at most %d)",
					   in->feature, ICU_FEATURE_NAME_MAX);
		spec_path_pop(c, old);
		spec_key_string(c, obj, "stat", true, buf, sizeof(buf));
		in->stat = icu_panel_stat_from_name(buf);
		if (in->stat < 0)
		{
			old = spec_path_key(c, "stat");
			spec_error(c, "unknown panel statistic \"%s\" (one of: %s)", buf, icu_panel_stat_list());
		}
		snprintf(in->label, sizeof(in->label), "%s.%s", in->feature, buf);
	}
	if (!linear)
		return;

	in->impute = spec_key_number(c, obj, "impute", true, 0, false);
	in->coef = spec_key_number(c, obj, "coef", true, 0, false);
	in->mean = spec_key_number(c, obj, "mean", false, 0, false);
	in->scale = spec_key_number(c, obj, "scale", false, 1, false);
	in->missing_coef = spec_key_number(c, obj, "missing_coef", false, 0, false);
	if (!(in->scale > 0))
	{
		spec_path_key(c, "scale");
		spec_error(c, "scale must be > 0");
	}
	{
		JsonbValue *v = spec_get_key(obj, "clip");

		if (v != NULL)
		{
			int			old = spec_path_key(c, "clip");
			double		lohi[2];

			spec_path_pop(c, old);
			spec_key_number_array(c, obj, "clip", 2, lohi);
			spec_path_key(c, "clip");
			if (lohi[0] > lohi[1])
				spec_error(c, "clip needs lo <= hi");
			spec_path_pop(c, old);
			in->has_clip = true;
			in->clip_lo = lohi[0];
			in->clip_hi = lohi[1];
		}
	}
	in->transform = ICU_TF_NONE;
	if (spec_key_string(c, obj, "transform", false, buf, sizeof(buf)))
	{
		int			old = spec_path_key(c, "transform");

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
		spec_path_pop(c, old);
	}
}

static void
parse_inputs(SpecCtx *c, JsonbContainer *root, IcuModel *m, bool linear)
{
	JsonbValue *v = spec_need_key(c, root, "inputs");
	int			old = spec_path_key(c, "inputs");
	JsonbContainer *arr = spec_as_array(c, v);
	int			n = JsonContainerSize(arr);

	if (n < 1 || n > ICU_MODEL_MAX_INPUTS)
		spec_error(c, "expected 1 to %d inputs, found %d", ICU_MODEL_MAX_INPUTS, n);
	m->ninputs = n;
	m->inputs = palloc0(sizeof(IcuModelInput) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		int			o2 = spec_path_index(c, i);

		parse_input(c, spec_as_object(c, e), &m->inputs[i], linear);
		spec_path_pop(c, o2);
	}
	spec_path_pop(c, old);
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

	spec_key_string(c, root, "link", true, buf, sizeof(buf));
	{
		int			old = spec_path_key(c, "link");

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
		spec_path_pop(c, old);
	}
	m->intercept = spec_key_number(c, root, "intercept", true, 0, false);
	parse_inputs(c, root, m, true);
	if (m->kind == ICU_KIND_STAY)
	{
		JsonbValue *v = spec_need_key(c, root, "stay");
		int			old = spec_path_key(c, "stay");
		JsonbContainer *st = spec_as_object(c, v);

		spec_key_string(c, st, "distribution", true, buf, sizeof(buf));
		{
			int			o2 = spec_path_key(c, "distribution");

			parse_stay_dist(c, buf, m);
			spec_path_pop(c, o2);
		}
		m->sigma = spec_key_number(c, st, "sigma", true, 0, false);
		spec_path_key(c, "sigma");
		check_sigma(c, m->sigma);
		spec_path_pop(c, old);
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
		JsonbValue *v = spec_need_key(c, t, "tree_param");
		int			old = spec_path_key(c, "tree_param");

		tp = spec_as_object(c, v);
		n = (int) spec_key_integer(c, tp, "num_nodes", 1, ICU_MODEL_MAX_TREE_NODES);
		spec_path_pop(c, old);
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
	if (spec_get_key(t, "split_type") != NULL)
	{
		spec_key_number_array(c, t, "split_type", n, buf);
		for (int i = 0; i < n; i++)
			if (buf[i] != 0)
			{
				spec_path_key(c, "split_type");
				spec_path_index(c, i);
				spec_error(c, "categorical splits are not supported");
			}
	}
	spec_key_number_array(c, t, "left_children", n, buf);
	for (int i = 0; i < n; i++)
		tree->nodes[i].left = (buf[i] == -1) ? -1 : (buf[i] >= 1 && buf[i] < n && buf[i] == floor(buf[i])) ? (int32) buf[i] : -2;
	for (int i = 0; i < n; i++)
		if (tree->nodes[i].left == -2)
		{
			spec_path_key(c, "left_children");
			spec_path_index(c, i);
			spec_error(c, "child index %g out of range [1, %d] (or -1 for a leaf)", buf[i], n - 1);
		}
	spec_key_number_array(c, t, "right_children", n, buf);
	for (int i = 0; i < n; i++)
	{
		bool		leaf = tree->nodes[i].left == -1;
		bool		ok = leaf ? buf[i] == -1 : (buf[i] >= 1 && buf[i] < n && buf[i] == floor(buf[i]));

		if (!ok)
		{
			spec_path_key(c, "right_children");
			spec_path_index(c, i);
			if (leaf)
				spec_error(c, "a leaf (left child -1) needs right child -1, found %g", buf[i]);
			spec_error(c, "child index %g out of range [1, %d]", buf[i], n - 1);
		}
		tree->nodes[i].right = (int32) buf[i];
	}
	spec_key_number_array(c, t, "split_indices", n, buf);
	for (int i = 0; i < n; i++)
	{
		if (tree->nodes[i].left >= 0 &&
			!(buf[i] >= 0 && buf[i] < ninputs && buf[i] == floor(buf[i])))
		{
			spec_path_key(c, "split_indices");
			spec_path_index(c, i);
			spec_error(c, "feature index %g out of range [0, %d]", buf[i], ninputs - 1);
		}
		tree->nodes[i].split = tree->nodes[i].left >= 0 ? (int32) buf[i] : 0;
	}
	spec_key_number_array(c, t, "split_conditions", n, buf);
	for (int i = 0; i < n; i++)
	{
		float		f = (float) buf[i];

		if (!isfinite(f))
		{
			spec_path_key(c, "split_conditions");
			spec_path_index(c, i);
			spec_error(c, "value %g does not fit in float32", buf[i]);
		}
		tree->nodes[i].value = f;
	}
	spec_key_number_array(c, t, "default_left", n, buf);
	for (int i = 0; i < n; i++)
	{
		if (buf[i] != 0 && buf[i] != 1)
		{
			spec_path_key(c, "default_left");
			spec_path_index(c, i);
			spec_error(c, "expected 0 or 1, found %g", buf[i]);
		}
		tree->nodes[i].default_left = buf[i] != 0;
	}
	spec_key_number_array(c, t, "sum_hessian", n, tree->cover);
	for (int i = 0; i < n; i++)
		if (!(tree->cover[i] >= 0))
		{
			spec_path_key(c, "sum_hessian");
			spec_path_index(c, i);
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
				spec_path_key(c, k == 0 ? "left_children" : "right_children");
				spec_path_index(c, i);
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
			spec_path_key(c, "left_children");
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

	old = spec_path_key(c, "model");
	model = spec_as_object(c, spec_need_key(c, root, "model"));
	o2 = spec_path_key(c, "learner");
	learner = spec_as_object(c, spec_need_key(c, model, "learner"));

	o3 = spec_path_key(c, "learner_model_param");
	lmp = spec_as_object(c, spec_need_key(c, learner, "learner_model_param"));
	if (spec_key_integer(c, lmp, "num_feature", 0, INT_MAX) != m->ninputs)
	{
		spec_path_key(c, "num_feature");
		spec_error(c, "num_feature differs from the number of inputs (%d)", m->ninputs);
	}
	if (spec_get_key(lmp, "num_class") && spec_key_integer(c, lmp, "num_class", 0, INT_MAX) > 1)
	{
		spec_path_key(c, "num_class");
		spec_error(c, "multi-class models are not supported");
	}
	if (spec_get_key(lmp, "num_target") && spec_key_integer(c, lmp, "num_target", 0, INT_MAX) > 1)
	{
		spec_path_key(c, "num_target");
		spec_error(c, "multi-target models are not supported");
	}
	base_score = spec_key_number(c, lmp, "base_score", true, 0, true);
	spec_path_pop(c, o3);

	o3 = spec_path_key(c, "objective");
	obj = spec_as_object(c, spec_need_key(c, learner, "objective"));
	spec_key_string(c, obj, "name", true, buf, sizeof(buf));
	if (strcmp(buf, "binary:logistic") == 0)
	{
		float		bs = (float) base_score;

		if (m->kind != ICU_KIND_ADMISSION)
		{
			spec_path_key(c, "name");
			spec_error(c, "objective binary:logistic needs kind icu_admission");
		}
		if (!(bs > 0 && bs < 1))
		{
			spec_path_pop(c, o3);
			spec_path_key(c, "learner_model_param");
			spec_path_key(c, "base_score");
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
			spec_path_key(c, "name");
			spec_error(c, "objective survival:aft needs kind icu_stay");
		}
		if (!(bs > 0) || !isfinite(bs))
		{
			spec_path_pop(c, o3);
			spec_path_key(c, "learner_model_param");
			spec_path_key(c, "base_score");
			spec_error(c, "base_score must be > 0 and fit in float32 for survival:aft");
		}
		m->base_margin = logf(bs);
		{
			int			o4 = spec_path_key(c, "aft_loss_param");

			ap = spec_as_object(c, spec_need_key(c, obj, "aft_loss_param"));
			spec_key_string(c, ap, "aft_loss_distribution", true, buf, sizeof(buf));
			{
				int			o5 = spec_path_key(c, "aft_loss_distribution");

				parse_stay_dist(c, buf, m);
				spec_path_pop(c, o5);
			}
			m->sigma = spec_key_number(c, ap, "aft_loss_distribution_scale", true, 0, true);
			spec_path_key(c, "aft_loss_distribution_scale");
			check_sigma(c, m->sigma);
			spec_path_pop(c, o4);
		}
	}
	else
	{
		spec_path_key(c, "name");
		spec_error(c, "unsupported objective \"%s\" (binary:logistic, survival:aft)", buf);
	}
	spec_path_pop(c, o3);

	o3 = spec_path_key(c, "gradient_booster");
	gb = spec_as_object(c, spec_need_key(c, learner, "gradient_booster"));
	if (spec_key_string(c, gb, "name", false, buf, sizeof(buf)) && strcmp(buf, "gbtree") != 0)
	{
		spec_path_key(c, "name");
		spec_error(c, "unsupported booster \"%s\" (gbtree)", buf);
	}
	{
		int			o4 = spec_path_key(c, "model");
		JsonbContainer *gp;
		JsonbValue *tv;

		gbm = spec_as_object(c, spec_need_key(c, gb, "model"));
		if ((tv = spec_get_key(gbm, "gbtree_model_param")) != NULL)
		{
			int			o5 = spec_path_key(c, "gbtree_model_param");

			gp = spec_as_object(c, tv);
			if (spec_get_key(gp, "num_parallel_tree") &&
				spec_key_integer(c, gp, "num_parallel_tree", 0, INT_MAX) > 1)
			{
				spec_path_key(c, "num_parallel_tree");
				spec_error(c, "num_parallel_tree > 1 is not supported");
			}
			spec_path_pop(c, o5);
		}
		{
			int			o5 = spec_path_key(c, "trees");
			int			nt;

			trees = spec_as_array(c, spec_need_key(c, gbm, "trees"));
			nt = JsonContainerSize(trees);
			if (nt < 1 || nt > ICU_MODEL_MAX_TREES)
				spec_error(c, "expected 1 to %d trees, found %d", ICU_MODEL_MAX_TREES, nt);
			m->ntrees = nt;
			m->trees = palloc0(sizeof(IcuTree) * nt);
			m->max_depth = 0;
			for (int i = 0; i < nt; i++)
			{
				int			o6 = spec_path_index(c, i);

				parse_tree(c, spec_as_object(c, getIthJsonbValueFromContainer(trees, i)),
						   &m->trees[i], m->ninputs, &total_nodes);
				m->max_depth = Max(m->max_depth, m->trees[i].depth);
				spec_path_pop(c, o6);
			}
			spec_path_pop(c, o5);
		}
		spec_path_pop(c, o4);
	}
	spec_path_pop(c, o3);
	spec_path_pop(c, o2);
	spec_path_pop(c, old);
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
				spec_path_key(c, "inputs");
				spec_path_index(c, worst);
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
	root = spec_as_object(&c, &rootv);
	spec_key_string(&c, root, "format", true, buf, sizeof(buf));
	if (strcmp(buf, format == ICU_FORMAT_LINEAR ? "linear" : "xgboost") != 0)
	{
		spec_path_key(&c, "format");
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
