/*
 * comorbidity.c — the comorbidity groups, defined once: their names, their
 * weights and the hierarchy between them, for two schemes.
 *
 *   Charlson    17 groups, backing icu_predict.comorbidity_groups() and the
 *               covariates comorbidity_<group> and charlson_index.  Weights of
 *               Charlson et al. (J Chronic Dis 1987;40:373-83), groups of the
 *               ICD-10 coding algorithm of Quan et al. (Med Care
 *               2005;43:1130-9).  In the index a group is not counted when the
 *               group that supersedes it is present: mild liver disease under
 *               moderate or severe liver disease, diabetes without under
 *               diabetes with chronic complications, any malignancy under
 *               metastatic solid tumour.  The 0/1 flags are as coded.
 *   Elixhauser  31 groups (Elixhauser et al., Med Care 1998;36:8-27, with
 *               hypertension split into uncomplicated and complicated as in
 *               Quan et al. 2005, whose ICD-10 code lists the data holds),
 *               backing icu_predict.elixhauser_groups() and the covariates
 *               elixhauser_<group> (the group names carry the prefix) and
 *               elixhauser_van_walraven.  As in Elixhauser's method, a group
 *               superseded by a present one is not flagged (0): diabetes
 *               uncomplicated under complicated, hypertension uncomplicated
 *               under complicated, solid tumour under metastatic cancer.  The
 *               van Walraven score (van Walraven et al., Med Care
 *               2009;47:626-33) is the sum of the weights of the flagged
 *               groups (from -19 to 85).
 *
 * The table comorbidity_code checks its group names against these (through
 * comorbidity_group_ok()), so the ICD-10 code lists, which are data, can only
 * name groups that exist here.  score_panel.c turns an admission's group
 * names into the covariates.
 */
#include "model.h"

#include "funcapi.h"
#include "utils/builtins.h"

typedef struct Comorbidity
{
	const char *name;
	const char *label;
	int			weight;
	int			superseded_by;	/* index, or -1 */
} Comorbidity;

static const Comorbidity groups[ICU_COMORBIDITY_NUM] = {
	/* Charlson: weight in the Charlson index */
	{"myocardial_infarction", "Myocardial infarction", 1, -1},
	{"heart_failure", "Congestive heart failure", 1, -1},
	{"peripheral_vascular", "Peripheral vascular disease", 1, -1},
	{"cerebrovascular", "Cerebrovascular disease", 1, -1},
	{"dementia", "Dementia", 1, -1},
	{"chronic_pulmonary", "Chronic pulmonary disease", 1, -1},
	{"rheumatic", "Rheumatic disease", 1, -1},
	{"peptic_ulcer", "Peptic ulcer disease", 1, -1},
	{"mild_liver", "Mild liver disease", 1, 14},
	{"diabetes", "Diabetes without chronic complication", 1, 10},
	{"diabetes_complicated", "Diabetes with chronic complication", 2, -1},
	{"hemiplegia", "Hemiplegia or paraplegia", 2, -1},
	{"renal", "Renal disease", 2, -1},
	{"malignancy", "Any malignancy, including lymphoma and leukaemia, except malignant neoplasm of skin", 2, 15},
	{"severe_liver", "Moderate or severe liver disease", 3, -1},
	{"metastatic_tumour", "Metastatic solid tumour", 6, -1},
	{"hiv_aids", "AIDS/HIV", 6, -1},
	/* Elixhauser (index 17 on): van Walraven weight */
	{"elixhauser_heart_failure", "Congestive heart failure", 7, -1},
	{"elixhauser_arrhythmia", "Cardiac arrhythmias", 5, -1},
	{"elixhauser_valvular", "Valvular disease", -1, -1},
	{"elixhauser_pulmonary_circulation", "Pulmonary circulation disorders", 4, -1},
	{"elixhauser_peripheral_vascular", "Peripheral vascular disorders", 2, -1},
	{"elixhauser_hypertension", "Hypertension, uncomplicated", 0, 23},
	{"elixhauser_hypertension_complicated", "Hypertension, complicated", 0, -1},
	{"elixhauser_paralysis", "Paralysis", 7, -1},
	{"elixhauser_neurological", "Other neurological disorders", 6, -1},
	{"elixhauser_chronic_pulmonary", "Chronic pulmonary disease", 3, -1},
	{"elixhauser_diabetes", "Diabetes, uncomplicated", 0, 28},
	{"elixhauser_diabetes_complicated", "Diabetes, complicated", 0, -1},
	{"elixhauser_hypothyroidism", "Hypothyroidism", 0, -1},
	{"elixhauser_renal_failure", "Renal failure", 5, -1},
	{"elixhauser_liver", "Liver disease", 11, -1},
	{"elixhauser_peptic_ulcer", "Peptic ulcer disease excluding bleeding", 0, -1},
	{"elixhauser_hiv_aids", "AIDS/HIV", 0, -1},
	{"elixhauser_lymphoma", "Lymphoma", 9, -1},
	{"elixhauser_metastatic_cancer", "Metastatic cancer", 12, -1},
	{"elixhauser_solid_tumour", "Solid tumour without metastasis", 4, 35},
	{"elixhauser_rheumatic", "Rheumatoid arthritis/collagen vascular diseases", 0, -1},
	{"elixhauser_coagulopathy", "Coagulopathy", 3, -1},
	{"elixhauser_obesity", "Obesity", -4, -1},
	{"elixhauser_weight_loss", "Weight loss", 6, -1},
	{"elixhauser_fluid_electrolyte", "Fluid and electrolyte disorders", 5, -1},
	{"elixhauser_blood_loss_anaemia", "Blood loss anaemia", -2, -1},
	{"elixhauser_deficiency_anaemia", "Deficiency anaemia", -2, -1},
	{"elixhauser_alcohol", "Alcohol abuse", 0, -1},
	{"elixhauser_drugs", "Drug abuse", -7, -1},
	{"elixhauser_psychoses", "Psychoses", 0, -1},
	{"elixhauser_depression", "Depression", -3, -1},
};

const char *
icu_comorbidity_name(int k)
{
	return k >= 0 && k < ICU_COMORBIDITY_NUM ? groups[k].name : NULL;
}

int
icu_comorbidity_from_name(const char *name, int len)
{
	for (int k = 0; k < ICU_COMORBIDITY_NUM; k++)
		if ((int) strlen(groups[k].name) == len && memcmp(groups[k].name, name, len) == 0)
			return k;
	return -1;
}

int
icu_comorbidity_weight(int k)
{
	return groups[k].weight;
}

int
icu_comorbidity_superseded_by(int k)
{
	return groups[k].superseded_by;
}

/* the rows of groups [from, to): name, description, weight, superseded_by */
static void
groups_srf(FunctionCallInfo fcinfo, int from, int to)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int k = from; k < to; k++)
	{
		Datum		v[4];
		bool		nl[4] = {false, false, false, false};

		v[0] = CStringGetTextDatum(groups[k].name);
		v[1] = CStringGetTextDatum(groups[k].label);
		v[2] = Int32GetDatum(groups[k].weight);
		if (groups[k].superseded_by >= 0)
			v[3] = CStringGetTextDatum(groups[groups[k].superseded_by].name);
		else
			nl[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
	}
}

/*
 * comorbidity_groups() RETURNS TABLE (name text, description text,
 * charlson_weight integer, superseded_by text): the Charlson groups, in
 * index order.
 */
PG_FUNCTION_INFO_V1(icu_comorbidity_groups);
Datum
icu_comorbidity_groups(PG_FUNCTION_ARGS)
{
	groups_srf(fcinfo, 0, ICU_CHARLSON_NUM);
	PG_RETURN_NULL();
}

/*
 * elixhauser_groups() RETURNS TABLE (name text, description text,
 * van_walraven_weight integer, superseded_by text): the Elixhauser groups,
 * in index order.
 */
PG_FUNCTION_INFO_V1(icu_elixhauser_groups);
Datum
icu_elixhauser_groups(PG_FUNCTION_ARGS)
{
	groups_srf(fcinfo, ICU_CHARLSON_NUM, ICU_COMORBIDITY_NUM);
	PG_RETURN_NULL();
}
