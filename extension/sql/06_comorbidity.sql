-- Comorbidities: the Charlson and Elixhauser groups (defined once, in C:
-- model/comorbidity.c), the ICD-10 codes that place an admission in a group
-- (data: the coding algorithms of Quan et al., Med Care 2005;43:1130-9,
-- shipped; hospitals may add their own rows), and the admission covariates the
-- scoring functions read.
--
--   comorbidity_groups()        the Charlson groups, their weights and hierarchy
--   elixhauser_groups()         the Elixhauser groups, van Walraven weights, hierarchy
--   comorbidity_code            ICD-10 code prefix -> group (289 Charlson and
--                               399 Elixhauser shipped prefixes)
--   admission_comorbidity       the groups of each admission, from diagnosis
--   type admission_covariates   age, sex, BMI and comorbidity groups of an admission
--   admission_covariates(admission_id, as_of)

CREATE FUNCTION @extschema@.comorbidity_groups()
RETURNS TABLE (name text, description text, charlson_weight integer, superseded_by text)
AS 'MODULE_PATHNAME', 'icu_comorbidity_groups'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 17;
COMMENT ON FUNCTION @extschema@.comorbidity_groups() IS
    'The Charlson comorbidity groups (Quan et al. 2005 ICD-10 groups, Charlson 1987 weights): name (model inputs read it as covariate comorbidity_<name>), description, weight in charlson_index, and the group that supersedes it in the index (mild under severe liver disease, diabetes under diabetes with complications, malignancy under metastatic tumour).';

CREATE FUNCTION @extschema@.elixhauser_groups()
RETURNS TABLE (name text, description text, van_walraven_weight integer, superseded_by text)
AS 'MODULE_PATHNAME', 'icu_elixhauser_groups'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 31;
COMMENT ON FUNCTION @extschema@.elixhauser_groups() IS
    'The Elixhauser comorbidity groups (Elixhauser 1998, hypertension split as in Quan et al. 2005, whose ICD-10 code lists comorbidity_code holds): name (model inputs read it as covariate of that name, e.g. elixhauser_heart_failure), description, weight in the van Walraven score (van Walraven et al. 2009; covariate elixhauser_van_walraven), and the group that supersedes it (not flagged when that group is present: diabetes and hypertension uncomplicated under complicated, solid tumour under metastatic cancer).';

CREATE FUNCTION @extschema@.comorbidity_group_ok(name text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN EXISTS (SELECT 1 FROM @extschema@.comorbidity_groups() g WHERE g.name = comorbidity_group_ok.name)
    OR EXISTS (SELECT 1 FROM @extschema@.elixhauser_groups() g WHERE g.name = comorbidity_group_ok.name);
COMMENT ON FUNCTION @extschema@.comorbidity_group_ok(text) IS
    'True when name is one of comorbidity_groups() or elixhauser_groups() (the CHECK of comorbidity_code).';

CREATE TABLE @extschema@.comorbidity_code (
    icd10_prefix text    NOT NULL,
    comorbidity  text    NOT NULL,
    builtin      boolean NOT NULL DEFAULT false,
    CONSTRAINT comorbidity_code_pkey PRIMARY KEY (icd10_prefix, comorbidity),
    CONSTRAINT comorbidity_code_prefix_format CHECK (icd10_prefix ~ '^[A-Z][0-9][0-9A-Z]{0,5}$'),
    CONSTRAINT comorbidity_code_group_known CHECK (@extschema@.comorbidity_group_ok(comorbidity))
);
COMMENT ON TABLE @extschema@.comorbidity_code IS
    'ICD-10 code prefixes of each comorbidity group: a diagnosis code (upper case, without the dot) that starts with icd10_prefix places the admission in the group. Shipped rows (builtin) follow Quan et al. 2005, for the Charlson groups and the Elixhauser groups (elixhauser_...); add your own rows for local codes.';
COMMENT ON COLUMN @extschema@.comorbidity_code.icd10_prefix IS 'Code prefix, upper case, without the dot (I21 covers I21.0 to I21.9; I252 is I25.2).';
COMMENT ON COLUMN @extschema@.comorbidity_code.comorbidity IS 'Group name (comorbidity_groups()).';
COMMENT ON COLUMN @extschema@.comorbidity_code.builtin IS 'True for the rows installed with the extension; pg_dump keeps only the rows users added.';

INSERT INTO @extschema@.comorbidity_code (comorbidity, icd10_prefix, builtin)
SELECT v.g, p.prefix, true
  FROM (VALUES
    ('myocardial_infarction', ARRAY['I21','I22','I252']),
    ('heart_failure', ARRAY['I099','I110','I130','I132','I255','I420','I425','I426','I427','I428',
           'I429','I43','I50','P290']),
    ('peripheral_vascular', ARRAY['I70','I71','I731','I738','I739','I771','I790','I792','K551','K558',
           'K559','Z958','Z959']),
    ('cerebrovascular', ARRAY['G45','G46','H340','I60','I61','I62','I63','I64','I65','I66','I67',
           'I68','I69']),
    ('dementia', ARRAY['F00','F01','F02','F03','F051','G30','G311']),
    ('chronic_pulmonary', ARRAY['I278','I279','J40','J41','J42','J43','J44','J45','J46','J47','J60',
           'J61','J62','J63','J64','J65','J66','J67','J684','J701','J703']),
    ('rheumatic', ARRAY['M05','M06','M315','M32','M33','M34','M351','M353','M360']),
    ('peptic_ulcer', ARRAY['K25','K26','K27','K28']),
    ('mild_liver', ARRAY['B18','K700','K701','K702','K703','K709','K713','K714','K715','K717',
           'K73','K74','K760','K762','K763','K764','K768','K769','Z944']),
    ('diabetes', ARRAY['E100','E101','E106','E108','E109','E110','E111','E116','E118','E119',
           'E120','E121','E126','E128','E129','E130','E131','E136','E138','E139',
           'E140','E141','E146','E148','E149']),
    ('diabetes_complicated', ARRAY['E102','E103','E104','E105','E107','E112','E113','E114','E115','E117',
           'E122','E123','E124','E125','E127','E132','E133','E134','E135','E137',
           'E142','E143','E144','E145','E147']),
    ('hemiplegia', ARRAY['G041','G114','G801','G802','G81','G82','G830','G831','G832','G833',
           'G834','G839']),
    ('renal', ARRAY['I120','I131','N032','N033','N034','N035','N036','N037','N052','N053',
           'N054','N055','N056','N057','N18','N19','N250','Z490','Z491','Z492',
           'Z940','Z992']),
    ('malignancy', ARRAY['C00','C01','C02','C03','C04','C05','C06','C07','C08','C09','C10','C11',
           'C12','C13','C14','C15','C16','C17','C18','C19','C20','C21','C22','C23',
           'C24','C25','C26','C30','C31','C32','C33','C34','C37','C38','C39','C40',
           'C41','C43','C45','C46','C47','C48','C49','C50','C51','C52','C53','C54',
           'C55','C56','C57','C58','C60','C61','C62','C63','C64','C65','C66','C67',
           'C68','C69','C70','C71','C72','C73','C74','C75','C76','C81','C82','C83',
           'C84','C85','C88','C90','C91','C92','C93','C94','C95','C96','C97']),
    ('severe_liver', ARRAY['I850','I859','I864','I982','K704','K711','K721','K729','K765','K766',
           'K767']),
    ('metastatic_tumour', ARRAY['C77','C78','C79','C80']),
    ('hiv_aids', ARRAY['B20','B21','B22','B24'])
       ) AS v(g, prefixes),
       LATERAL unnest(v.prefixes) AS p(prefix);
-- The Elixhauser groups: the ICD-10 lists of Quan et al. 2005 (table 2),
-- ranges written out (I42.5-I42.9 is I425 ... I429).
INSERT INTO @extschema@.comorbidity_code (comorbidity, icd10_prefix, builtin)
SELECT v.g, p.prefix, true
  FROM (VALUES
    ('elixhauser_heart_failure', ARRAY['I099','I110','I130','I132','I255','I420','I425','I426','I427','I428','I429','I43','I50',
           'P290']),
    ('elixhauser_arrhythmia', ARRAY['I441','I442','I443','I456','I459','I47','I48','I49','R000','R001','R008','T821','Z450',
           'Z950']),
    ('elixhauser_valvular', ARRAY['A520','I05','I06','I07','I08','I091','I098','I34','I35','I36','I37','I38','I39','Q230',
           'Q231','Q232','Q233','Z952','Z953','Z954']),
    ('elixhauser_pulmonary_circulation', ARRAY['I26','I27','I280','I288','I289']),
    ('elixhauser_peripheral_vascular', ARRAY['I70','I71','I731','I738','I739','I771','I790','I792','K551','K558','K559','Z958','Z959']),
    ('elixhauser_hypertension', ARRAY['I10']),
    ('elixhauser_hypertension_complicated', ARRAY['I11','I12','I13','I15']),
    ('elixhauser_paralysis', ARRAY['G041','G114','G801','G802','G81','G82','G830','G831','G832','G833','G834','G839']),
    ('elixhauser_neurological', ARRAY['G10','G11','G12','G13','G20','G21','G22','G254','G255','G312','G318','G319','G32','G35',
           'G36','G37','G40','G41','G931','G934','R470','R56']),
    ('elixhauser_chronic_pulmonary', ARRAY['I278','I279','J40','J41','J42','J43','J44','J45','J46','J47','J60','J61','J62','J63',
           'J64','J65','J66','J67','J684','J701','J703']),
    ('elixhauser_diabetes', ARRAY['E100','E101','E109','E110','E111','E119','E120','E121','E129','E130','E131','E139',
           'E140','E141','E149']),
    ('elixhauser_diabetes_complicated', ARRAY['E102','E103','E104','E105','E106','E107','E108','E112','E113','E114','E115','E116',
           'E117','E118','E122','E123','E124','E125','E126','E127','E128','E132','E133','E134',
           'E135','E136','E137','E138','E142','E143','E144','E145','E146','E147','E148']),
    ('elixhauser_hypothyroidism', ARRAY['E00','E01','E02','E03','E890']),
    ('elixhauser_renal_failure', ARRAY['I120','I131','N18','N19','N250','Z490','Z491','Z492','Z940','Z992']),
    ('elixhauser_liver', ARRAY['B18','I85','I864','I982','K70','K711','K713','K714','K715','K717','K72','K73','K74',
           'K760','K762','K763','K764','K765','K766','K767','K768','K769','Z944']),
    ('elixhauser_peptic_ulcer', ARRAY['K257','K259','K267','K269','K277','K279','K287','K289']),
    ('elixhauser_hiv_aids', ARRAY['B20','B21','B22','B24']),
    ('elixhauser_lymphoma', ARRAY['C81','C82','C83','C84','C85','C88','C96','C900','C902']),
    ('elixhauser_metastatic_cancer', ARRAY['C77','C78','C79','C80']),
    ('elixhauser_solid_tumour', ARRAY['C00','C01','C02','C03','C04','C05','C06','C07','C08','C09','C10','C11','C12','C13',
           'C14','C15','C16','C17','C18','C19','C20','C21','C22','C23','C24','C25','C26','C30',
           'C31','C32','C33','C34','C37','C38','C39','C40','C41','C43','C45','C46','C47','C48',
           'C49','C50','C51','C52','C53','C54','C55','C56','C57','C58','C60','C61','C62','C63',
           'C64','C65','C66','C67','C68','C69','C70','C71','C72','C73','C74','C75','C76','C97']),
    ('elixhauser_rheumatic', ARRAY['L940','L941','L943','M05','M06','M08','M120','M123','M30','M310','M311','M312','M313',
           'M32','M33','M34','M35','M45','M461','M468','M469']),
    ('elixhauser_coagulopathy', ARRAY['D65','D66','D67','D68','D691','D693','D694','D695','D696']),
    ('elixhauser_obesity', ARRAY['E66']),
    ('elixhauser_weight_loss', ARRAY['E40','E41','E42','E43','E44','E45','E46','R634','R64']),
    ('elixhauser_fluid_electrolyte', ARRAY['E222','E86','E87']),
    ('elixhauser_blood_loss_anaemia', ARRAY['D500']),
    ('elixhauser_deficiency_anaemia', ARRAY['D508','D509','D51','D52','D53']),
    ('elixhauser_alcohol', ARRAY['F10','E52','G621','I426','K292','K700','K703','K709','T51','Z502','Z714','Z721']),
    ('elixhauser_drugs', ARRAY['F11','F12','F13','F14','F15','F16','F18','F19','Z715','Z722']),
    ('elixhauser_psychoses', ARRAY['F20','F22','F23','F24','F25','F28','F29','F302','F312','F315']),
    ('elixhauser_depression', ARRAY['F204','F313','F314','F315','F32','F33','F341','F412','F432'])

       ) AS v(g, prefixes),
       LATERAL unnest(v.prefixes) AS p(prefix);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.comorbidity_code', 'WHERE NOT builtin');

CREATE VIEW @extschema@.admission_comorbidity AS
SELECT DISTINCT d.admission_id, c.comorbidity
  FROM @extschema@.diagnosis d
  JOIN @extschema@.comorbidity_code c
    ON pg_catalog.starts_with(pg_catalog.upper(pg_catalog.replace(d.icd10_code, '.', '')), c.icd10_prefix);
COMMENT ON VIEW @extschema@.admission_comorbidity IS
    'The comorbidity groups of each admission, from all its diagnosis codes (whatever diagnosed_at). admission_covariates() gives them as of a time.';

CREATE TYPE @extschema@.admission_covariates AS (
    age_years     float8,
    sex           text,
    bmi           float8,
    comorbidities text[]
);
COMMENT ON TYPE @extschema@.admission_covariates IS
    'What the models read of an admission besides labs, location and time: age (NULL = unknown), sex, BMI (NULL = unknown), comorbidity group names (NULL = no diagnosis recorded: unknown; empty = none of the groups). Built by admission_covariates(); read by risk(), length_of_stay(), stay_survival(), explain() and covariate_value().';

CREATE FUNCTION @extschema@.admission_covariates(admission_id bigint, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.admission_covariates
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT ROW(a.age_years::float8, a.sex,
               (SELECT b.bmi FROM @extschema@.admission_bmi b
                 WHERE b.admission_id = a.admission_id
                   AND (b.measured_at IS NULL OR b.measured_at <= admission_covariates.as_of)),
               CASE WHEN EXISTS (SELECT 1 FROM @extschema@.diagnosis d
                                  WHERE d.admission_id = a.admission_id
                                    AND (d.diagnosed_at IS NULL OR d.diagnosed_at <= admission_covariates.as_of))
                    THEN ARRAY(SELECT DISTINCT c.comorbidity
                                 FROM @extschema@.diagnosis d
                                 JOIN @extschema@.comorbidity_code c
                                   ON pg_catalog.starts_with(pg_catalog.upper(pg_catalog.replace(d.icd10_code, '.', '')),
                                                             c.icd10_prefix)
                                WHERE d.admission_id = a.admission_id
                                  AND (d.diagnosed_at IS NULL OR d.diagnosed_at <= admission_covariates.as_of)
                                ORDER BY 1)
               END)::@extschema@.admission_covariates
      FROM @extschema@.admission a
     WHERE a.admission_id = admission_covariates.admission_id;
END;
COMMENT ON FUNCTION @extschema@.admission_covariates(bigint, timestamptz) IS
    'The admission''s covariates as of a time (default now): age and sex, BMI (admission_bmi, if measured by then), and its comorbidity groups from the diagnoses known by then (diagnosed_at NULL or <= as_of); comorbidities NULL when the admission has no diagnosis known by then. NULL for an unknown admission.';
