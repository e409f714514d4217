/*
 * stay.c — ICU length of stay as a distribution.
 *
 * Both stay formats (a linear model on log-stay with a residual distribution,
 * and xgboost survival:aft) state log(stay_days) = mu + sigma * Z with Z
 * normal, logistic or extreme (Gumbel-min: F(z) = 1 - exp(-e^z), the stay is
 * then Weibull).  This file gives the expected value, quantiles and the
 * survival function S(t) = P(stay > t days), in float8, using erfc / expm1
 * forms that stay accurate in the tails.  See docs/model-spec.md (c).
 */
#include "model.h"

#include <math.h>

/* Inverse of the standard normal CDF: Acklam's approximation refined by one
 * Halley step on erfc (relative error near machine precision). */
static double
probit(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
	1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
	6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
	-2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
	3.754408661907416e+00};
	double		q,
				r,
				x,
				e,
				u;

	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	if (p < 0.02425)
	{
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	else if (p <= 1 - 0.02425)
	{
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
			(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	}
	else
	{
		q = sqrt(-2 * log1p(-p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	e = 0.5 * erfc(-x / M_SQRT2) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	x = x - u / (1 + x * u / 2);
	return x;
}

/* z-quantile of Z */
static double
z_quantile(IcuStayDist dist, double p)
{
	switch (dist)
	{
		case ICU_DIST_NORMAL:
			return probit(p);
		case ICU_DIST_LOGISTIC:
			return log(p / (1 - p));
		case ICU_DIST_EXTREME:
			return log(-log1p(-p));
	}
	return NAN;
}

double
icu_stay_quantile(IcuStayDist dist, double sigma, double mu, double p)
{
	return exp(mu + sigma * z_quantile(dist, p));
}

double
icu_stay_survival(IcuStayDist dist, double sigma, double mu, double t_days)
{
	double		z;

	if (t_days <= 0)
		return 1.0;
	if (isinf(t_days))
		return 0.0;
	z = (log(t_days) - mu) / sigma;
	switch (dist)
	{
		case ICU_DIST_NORMAL:
			return 0.5 * erfc(z / M_SQRT2);
		case ICU_DIST_LOGISTIC:
			return 1.0 / (1.0 + exp(z));
		case ICU_DIST_EXTREME:
			return exp(-exp(z));
	}
	return NAN;
}

void
icu_stay_summary(IcuStayDist dist, double sigma, double mu, IcuStay *out)
{
	double		loc = exp(mu);
	double		factor = NAN;

	switch (dist)
	{
		case ICU_DIST_NORMAL:
			factor = exp(sigma * sigma / 2);
			break;
		case ICU_DIST_LOGISTIC:
			factor = sigma < 1 ? M_PI * sigma / sin(M_PI * sigma) : INFINITY;
			break;
		case ICU_DIST_EXTREME:
			factor = tgamma(1 + sigma);
			break;
	}
	out->location = loc;
	out->expected = loc * factor;
	out->median = icu_stay_quantile(dist, sigma, mu, 0.5);
	out->p10 = icu_stay_quantile(dist, sigma, mu, 0.1);
	out->p90 = icu_stay_quantile(dist, sigma, mu, 0.9);
}
