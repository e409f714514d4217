/*
 * model.h — the parsed model shared by the model runtime's C files
 * (spec.c parses and validates, cache.c keeps parsed models per
 * backend, linear.c / xgboost.c score, stay.c turns a
 * location into a length-of-stay distribution, sql.c / score_panel.c
 * are the SQL entry points).  Spec format: docs/model-spec.md.
 */
#ifndef ICU_MODEL_H
#define ICU_MODEL_H

#include "icu_predict.h"
#include "icu_common.h"
#include "access/tupdesc.h"
#include "utils/jsonb.h"

#define ICU_MODEL_MAX_INPUTS		1000
#define ICU_MODEL_MAX_TREES			10000
#define ICU_MODEL_MAX_TREE_NODES	1000000
#define ICU_MODEL_MAX_TOTAL_NODES	4000000
#define ICU_MODEL_MAX_DEPTH			64
/* unclipped inputs range over +-this for the margin bound (spec.c) */
#define ICU_MODEL_INPUT_BOUND		1e300
#define ICU_MODEL_NAME_BUF			64	/* covariate and stat names in a spec */

typedef enum IcuModelFormat { ICU_FORMAT_LINEAR, ICU_FORMAT_XGBOOST } IcuModelFormat;
typedef enum IcuModelKind { ICU_KIND_ADMISSION, ICU_KIND_STAY } IcuModelKind;
typedef enum IcuLink { ICU_LINK_LOGIT, ICU_LINK_LOG } IcuLink;
typedef enum IcuStayDist { ICU_DIST_NORMAL, ICU_DIST_LOGISTIC, ICU_DIST_EXTREME } IcuStayDist;
typedef enum IcuTransform { ICU_TF_NONE, ICU_TF_LOG, ICU_TF_LOG1P } IcuTransform;

typedef enum IcuCovariate
{
	ICU_COV_AGE, ICU_COV_SEX_MALE, ICU_COV_HOURS_SINCE_ADMISSION,
	ICU_COV_UNIT_WARD, ICU_COV_UNIT_ICU, ICU_COV_UNIT_MC, ICU_COV_UNIT_ED,
	ICU_COV_UNIT_OR, ICU_COV_UNIT_OTHER,
	/* missing indicators: 1 when the covariate is unknown, never missing */
	ICU_COV_AGE_MISSING, ICU_COV_SEX_MISSING, ICU_COV_BMI_MISSING,
	ICU_COV_BMI,
	ICU_COV_CHARLSON,			/* Charlson comorbidity index (weights, hierarchy) */
	ICU_COV_VAN_WALRAVEN,		/* Elixhauser score, van Walraven weights */
	ICU_COV_COMORBIDITY			/* first of ICU_COMORBIDITY_NUM 0/1 flags */
} IcuCovariate;
/* the groups: Charlson's first (0 .. ICU_CHARLSON_NUM - 1), then Elixhauser's */
#define ICU_CHARLSON_NUM 17
#define ICU_ELIXHAUSER_NUM 31
#define ICU_COMORBIDITY_NUM (ICU_CHARLSON_NUM + ICU_ELIXHAUSER_NUM)
#define ICU_COV_NUM (ICU_COV_COMORBIDITY + ICU_COMORBIDITY_NUM)

/*
 * comorbidity.c: the Charlson and Elixhauser groups (names, weights,
 * hierarchy), defined once.  A group k < ICU_CHARLSON_NUM is Charlson's
 * (weight: Charlson's), the others Elixhauser's (weight: van Walraven's).
 */
extern const char *icu_comorbidity_name(int k);			/* NULL if out of range */
extern int	icu_comorbidity_from_name(const char *name, int len);	/* -1 if unknown */
extern int	icu_comorbidity_weight(int k);
extern int	icu_comorbidity_superseded_by(int k);	/* group that replaces k in its score, or -1 */

typedef struct IcuModelInput
{
	bool		is_covariate;
	int			covariate;		/* IcuCovariate when is_covariate */
	char		feature[ICU_MODEL_NAME_BUF];	/* else: panel feature ... */
	int			stat;			/* ... and IcuPanelStat (same numbering) */
	char		label[ICU_MODEL_NAME_BUF + 24];	/* "crp.last" / "age_years" */
	/* linear preprocessing (unused for xgboost) */
	double		impute;
	bool		has_clip;
	double		clip_lo, clip_hi;
	int			transform;		/* IcuTransform */
	double		mean, scale, coef, missing_coef;
} IcuModelInput;

/* One tree node, packed for traversal.  Leaf: left < 0, value = leaf value. */
typedef struct IcuTreeNode
{
	int32		left;
	int32		right;
	int32		split;			/* input index */
	float		value;			/* split condition, or leaf value */
	bool		default_left;
} IcuTreeNode;

typedef struct IcuTree
{
	int			nnodes;
	int			depth;			/* edges on the longest root-leaf path */
	IcuTreeNode *nodes;
	double	   *cover;			/* sum_hessian per node (TreeSHAP) */
	double	   *mean_value;		/* cover-weighted mean leaf value below node */
} IcuTree;

typedef struct IcuModel
{
	int64		model_id;
	char		name[NAMEDATALEN * 2];
	char		version[NAMEDATALEN * 2];
	IcuModelKind kind;
	IcuModelFormat format;
	int			ninputs;
	IcuModelInput *inputs;
	/* linear */
	IcuLink		link;
	double		intercept;
	/* stay distribution (kind == ICU_KIND_STAY) */
	IcuStayDist dist;
	double		sigma;
	/* xgboost */
	float		base_margin;
	int			ntrees;
	IcuTree    *trees;
	int			max_depth;
} IcuModel;

/* spec.c */
extern int	icu_model_kind_from_name(const char *name);	/* -1 if unknown */
extern const char *icu_model_kind_name(IcuModelKind kind);
extern int	icu_model_covariate_from_name(const char *name);	/* -1 if unknown */
extern const char *icu_model_covariate_name(int covariate);
extern IcuModel *icu_model_parse(IcuModelKind kind, IcuModelFormat format, Jsonb *spec);

/* cache.c */
extern IcuModel *icu_model_get(const char *name, const char *version, IcuModelKind kind, bool any_kind);

/* linear.c: margin; contrib (may be NULL) gets one value per input */
extern double icu_linear_margin(const IcuModel *m, const double *x, const bool *missing, double *contrib);

/* xgboost.c: x[i] NaN = missing */
extern float icu_xgb_margin(const IcuModel *m, const float *x);
extern void icu_xgb_shap(const IcuModel *m, const float *x, double *phi, double *bias);

/* stay.c */
typedef struct IcuStay
{
	double		location, expected, median, p10, p90;
} IcuStay;
extern void icu_stay_summary(IcuStayDist dist, double sigma, double mu, IcuStay *out);
extern double icu_stay_survival(IcuStayDist dist, double sigma, double mu, double t_days);
extern double icu_stay_quantile(IcuStayDist dist, double sigma, double mu, double p);

/*
 * sql.c: per call site state (fn_extra) shared by the SQL entry points.
 * icu_model_call() resolves the model once per query (re-resolves only when
 * the name/version arguments change) and sizes the input buffers.
 */
typedef struct IcuModelCall
{
	IcuModelKind kind;			/* the key of the resolved model: kind, any_kind, */
	bool		any_kind;		/* name and version as given */
	bool		has_name, has_version;
	char		name[NAMEDATALEN * 2];
	char		version[NAMEDATALEN * 2];
	IcuModel   *model;
	double	   *x;				/* raw input values */
	bool	   *missing;
	float	   *xf;				/* xgboost: float32 inputs, NaN = missing */
	double	   *contrib;
	TupleDesc	tupdesc;		/* for composite results */
	void	   *extra;			/* for the panel entry points (score_panel.c) */
} IcuModelCall;

extern IcuModelCall *icu_model_call(FunctionCallInfo fcinfo, int name_arg, int version_arg,
									IcuModelKind kind, bool any_kind);
/* margin for mc->x / mc->missing; contributions into mc->contrib when wanted */
extern double icu_model_call_margin(IcuModelCall *mc, bool want_contrib, double *bias);
extern double icu_model_prediction(const IcuModel *m, double margin);
extern Datum icu_stay_datum(IcuModelCall *mc, FunctionCallInfo fcinfo, double mu);

#endif							/* ICU_MODEL_H */
