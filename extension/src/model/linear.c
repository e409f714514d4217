/*
 * linear.c — logistic / linear models with their preprocessing.
 *
 * Backs the "linear" spec format (docs/model-spec.md (a)).  Per input, in
 * float8 and in this order: impute a missing value (raw units), clip,
 * transform (log, log1p), standardise, multiply by the coefficient, add the
 * missing indicator's coefficient.  The per-input contributions are the
 * exact explanation of the margin: intercept + sum(contributions) = margin.
 * Validation (spec.c) guarantees clip lo > 0 for log and > -1 for
 * log1p, so the transforms are always defined.
 */
#include "model.h"

#include <math.h>

double
icu_linear_margin(const IcuModel *m, const double *x, const bool *missing, double *contrib)
{
	double		eta = m->intercept;

	for (int i = 0; i < m->ninputs; i++)
	{
		const IcuModelInput *in = &m->inputs[i];
		double		v = missing[i] ? in->impute : x[i];
		double		c;

		if (in->has_clip)
		{
			if (v < in->clip_lo)
				v = in->clip_lo;
			if (v > in->clip_hi)
				v = in->clip_hi;
		}
		if (in->transform == ICU_TF_LOG)
			v = log(v);
		else if (in->transform == ICU_TF_LOG1P)
			v = log1p(v);
		c = in->coef * ((v - in->mean) / in->scale);
		if (missing[i])
			c += in->missing_coef;
		eta += c;
		if (contrib)
			contrib[i] = c;
	}
	return eta;
}
