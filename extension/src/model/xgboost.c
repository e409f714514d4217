/*
 * xgboost.c — XGBoost tree ensembles: prediction and TreeSHAP.
 *
 * Prediction follows xgboost 1.x's CPU predictor exactly: the input vector
 * is float32, a node sends x to the left child when x < split_condition
 * (float32), a missing x (NaN) goes to default_left, and the leaf values are
 * added in float32 in tree order to the base margin.
 *
 * Explanations are TreeSHAP (Lundberg, Erion & Lee 2018, algorithm 2) over
 * the node covers (sum_hessian), as xgboost's predict(pred_contribs=True):
 * phi[i] per input plus a bias (base margin + every tree's cover-weighted
 * mean value) that together sum to the margin.  Computed in float8.
 */
#include "model.h"

#include <math.h>

#include "miscadmin.h"

float
icu_xgb_margin(const IcuModel *m, const float *x)
{
	float		sum = m->base_margin;

	for (int t = 0; t < m->ntrees; t++)
	{
		const IcuTreeNode *nodes = m->trees[t].nodes;
		int			i = 0;

		while (nodes[i].left >= 0)
		{
			const IcuTreeNode *nd = &nodes[i];
			float		f = x[nd->split];

			if (isnan(f))
				i = nd->default_left ? nd->left : nd->right;
			else
				i = f < nd->value ? nd->left : nd->right;
		}
		sum += nodes[i].value;
	}
	return sum;
}

/* ---- TreeSHAP ------------------------------------------------------------ */

typedef struct PathElem
{
	int			feature;
	double		zero_fraction;
	double		one_fraction;
	double		pweight;
} PathElem;

static void
extend_path(PathElem *path, int depth, double zero_fraction, double one_fraction, int feature)
{
	path[depth].feature = feature;
	path[depth].zero_fraction = zero_fraction;
	path[depth].one_fraction = one_fraction;
	path[depth].pweight = depth == 0 ? 1.0 : 0.0;
	for (int i = depth - 1; i >= 0; i--)
	{
		path[i + 1].pweight += one_fraction * path[i].pweight * (i + 1) / (double) (depth + 1);
		path[i].pweight = zero_fraction * path[i].pweight * (depth - i) / (double) (depth + 1);
	}
}

static void
unwind_path(PathElem *path, int depth, int index)
{
	double		one_fraction = path[index].one_fraction;
	double		zero_fraction = path[index].zero_fraction;
	double		next_one = path[depth].pweight;

	for (int i = depth - 1; i >= 0; i--)
	{
		if (one_fraction != 0)
		{
			double		tmp = path[i].pweight;

			path[i].pweight = next_one * (depth + 1) / ((i + 1) * one_fraction);
			next_one = tmp - path[i].pweight * zero_fraction * (depth - i) / (double) (depth + 1);
		}
		else
			path[i].pweight = path[i].pweight * (depth + 1) / (zero_fraction * (depth - i));
	}
	for (int i = index; i < depth; i++)
	{
		path[i].feature = path[i + 1].feature;
		path[i].zero_fraction = path[i + 1].zero_fraction;
		path[i].one_fraction = path[i + 1].one_fraction;
	}
}

static double
unwound_path_sum(const PathElem *path, int depth, int index)
{
	double		one_fraction = path[index].one_fraction;
	double		zero_fraction = path[index].zero_fraction;
	double		next_one = path[depth].pweight;
	double		total = 0;

	for (int i = depth - 1; i >= 0; i--)
	{
		if (one_fraction != 0)
		{
			double		tmp = next_one * (depth + 1) / ((i + 1) * one_fraction);

			total += tmp;
			next_one = path[i].pweight - tmp * zero_fraction * (depth - i) / (double) (depth + 1);
		}
		else if (zero_fraction != 0)
			total += (path[i].pweight / zero_fraction) / ((depth - i) / (double) (depth + 1));
	}
	return total;
}

static void
tree_shap(const IcuTree *tree, const float *x, double *phi, int node,
		  PathElem *parent_path, int depth,
		  double parent_zero, double parent_one, int parent_feature)
{
	const IcuTreeNode *nd = &tree->nodes[node];
	PathElem   *path = parent_path + depth;	/* this level's copy */

	check_stack_depth();
	if (depth > 0)
		memcpy(path, parent_path, sizeof(PathElem) * depth);
	extend_path(path, depth, parent_zero, parent_one, parent_feature);

	if (nd->left < 0)
	{
		for (int i = 1; i <= depth; i++)
		{
			double		w = unwound_path_sum(path, depth, i);

			phi[path[i].feature] += w * (path[i].one_fraction - path[i].zero_fraction) * nd->value;
		}
	}
	else
	{
		float		f = x[nd->split];
		int			hot = isnan(f) ? (nd->default_left ? nd->left : nd->right)
			: (f < nd->value ? nd->left : nd->right);
		int			cold = hot == nd->left ? nd->right : nd->left;
		double		w = tree->cover[node];
		double		hot_zero = w > 0 ? tree->cover[hot] / w : 0;
		double		cold_zero = w > 0 ? tree->cover[cold] / w : 0;
		double		in_zero = 1,
					in_one = 1;
		int			k;

		for (k = 0; k <= depth; k++)
			if (path[k].feature == nd->split)
				break;
		if (k != depth + 1)
		{
			in_zero = path[k].zero_fraction;
			in_one = path[k].one_fraction;
			unwind_path(path, depth, k);
			depth--;
		}
		tree_shap(tree, x, phi, hot, path, depth + 1, hot_zero * in_zero, in_one, nd->split);
		tree_shap(tree, x, phi, cold, path, depth + 1, cold_zero * in_zero, 0, nd->split);
	}
}

void
icu_xgb_shap(const IcuModel *m, const float *x, double *phi, double *bias)
{
	int			maxd = m->max_depth + 2;
	PathElem   *buf = palloc(sizeof(PathElem) * ((maxd * (maxd + 1)) / 2 + maxd + 1));

	memset(phi, 0, sizeof(double) * m->ninputs);
	*bias = m->base_margin;
	for (int t = 0; t < m->ntrees; t++)
	{
		const IcuTree *tree = &m->trees[t];

		*bias += tree->mean_value[0];
		if (tree->nodes[0].left >= 0)
			tree_shap(tree, x, phi, 0, buf, 0, 1, 1, -1);
	}
	pfree(buf);
}
