/*
 * comorbidity.c — the Charlson comorbidity groups, defined once: their
 * names, their weights in the Charlson index and the hierarchy between
 * them.  Backs icu_predict.comorbidity_groups() (the table
 * comorbidity_code checks its group names against it, so the ICD-10 code
 * lists, which are data, can only name groups that exist here) and the
 * covariates comorbidity_<group> and charlson_index of the model runtime
 * (score_panel.c).
 *
 * Weights are those of Charlson et al. (J Chronic Dis 1987;40:373-83), the
 * groups those of the ICD-10 coding algorithm of Quan et al. (Med Care
 * 2005;43:1130-9).  In the index a group is not counted when the group that
 * supersedes it is present: mild liver disease under moderate or severe
 * liver disease, diabetes without under diabetes with chronic
 * complications, any malignancy under metastatic solid tumour.
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

/*
 * comorbidity_groups() RETURNS TABLE (name text, description text,
 * charlson_weight integer, superseded_by text), in index order.
 */
PG_FUNCTION_INFO_V1(icu_comorbidity_groups);
Datum
icu_comorbidity_groups(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int k = 0; k < ICU_COMORBIDITY_NUM; k++)
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
	PG_RETURN_NULL();
}
