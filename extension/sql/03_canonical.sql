-- Canonical labs: local lab codes and units become canonical features, once.
--
--   feature              the canonical feature catalogue (one UCUM unit each,
--                        plausible range, display name and unit, molar mass,
--                        specimen); shipped rows plus the user's own, kept
--                        apart for pg_dump (builtin, replaces, feature_removed)
--   unit_key()           the normalisation of unit spellings lab_map keys on (C)
--   unit_ucum(), unit_factor(), unit_offset(), unit_convert(),
--   unit_conversion_problem(), unit_spellings()
--                        UCUM parsing and conversion (C, canonical/ucum.c)
--   lab_text_value(), lab_text_censoring(), canonical_value()
--                        the number of a result and its conversion (C)
--   lab_map              local code (+ specimen, + unit) -> feature; the factor
--                        is an override, UCUM converts otherwise
--   lab_rejection_reason the one list of reasons a lab row is not used
--   lab_row_status       every lab_result row: feature, canonical value, and
--                        its rejection reason (NULL when used)
--   lab_canonical        the rows the panels read (used + implausible)
--   lab_unmapped         rejected rows (other than implausible) by code and reason
--   lab_load_quality     every row counted by feature, code, unit, specimen and status
--
-- Rows in lab_result = rows used + the rows of each rejection reason
-- (lab_row_status has exactly one row per lab_result row).

-- ---------------------------------------------------------------------------
-- UCUM units and lab values (C)
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.unit_ucum(unit text)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_unit_ucum'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_ucum(text) IS
    'The UCUM spelling a unit as sent is read as (through unit_spellings(): IU/L is U/L, 10^9/L is 10*9/L, mmHg is mm[Hg] ...); NULL or '''' is the unity 1; NULL when the unit is not understood.';

CREATE FUNCTION @extschema@.unit_factor(from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_unit_factor'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_factor(text, text, float8) IS
    'The multiplier from from_unit into to_unit (value_to = value_from * factor + unit_offset()); mass and amount of substance convert through molar_mass (g/mol). NULL when the units are not convertible (unit_conversion_problem() says why). A NULL or empty from_unit is the unity 1.';

CREATE FUNCTION @extschema@.unit_offset(from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_unit_offset'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_offset(text, text, float8) IS
    'The additive term of the conversion from from_unit into to_unit: 0 except between temperature scales (Cel, [degF], K). NULL when not convertible.';

CREATE FUNCTION @extschema@.unit_conversion_problem(from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_unit_conversion_problem'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_conversion_problem(text, text, float8) IS
    'Why from_unit does not convert into to_unit (not a UCUM unit, not commensurable, a molar mass needed, annotations such as {FEU} and {DDU} that differ); NULL when it does.';

CREATE FUNCTION @extschema@.unit_convert(value float8, from_unit text, to_unit text, molar_mass float8 DEFAULT NULL)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_unit_convert'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_convert(float8, text, text, float8) IS
    'value in from_unit expressed in to_unit (UCUM; mass <-> substance through molar_mass). ERROR 22023 when the units are not convertible (the detail says why) or value is not finite, 22003 when the result is out of range; NULL for NULL value or to_unit.';

CREATE FUNCTION @extschema@.unit_spellings(OUT spelling text, OUT ucum text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'icu_unit_spellings'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 60;
COMMENT ON FUNCTION @extschema@.unit_spellings() IS
    'The accepted spellings that are not UCUM as written, and the UCUM unit each is read as. G/L and T/L match as written (case matters); the others match the unit_key() form (case and spaces ignored). Besides these: 10^9, 10E9 and x10^9 are read as 10*9, the micro sign and mu as u, mc as micro, and UCUM written in another case (MG/DL).';

CREATE FUNCTION @extschema@.lab_text_value(value_text text)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_lab_text_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_text_value(text) IS
    'The number in a result text: a decimal (a comma as the decimal separator is accepted when there is no point), or the bound of a censored result (<5, > 1000, <=0.1, less than 10, greater than 500). NULL when the text is no number (NEG, 1+, HEMOLYZED, NaN).';

CREATE FUNCTION @extschema@.lab_text_censoring(value_text text)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_lab_text_censoring'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lab_text_censoring(text) IS
    '<, <=, > or >= when the result text is a censored number (its bound is lab_text_value()), NULL otherwise.';

CREATE FUNCTION @extschema@.canonical_value(value float8, factor float8, "offset" float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'icu_canonical_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.canonical_value(float8, float8, float8) IS
    'value * factor + offset, or NULL when that overflows, is not finite, or underflows to 0 from a non-zero product; lab_row_status counts such rows as out_of_range instead of failing.';

CREATE FUNCTION @extschema@.feature_catalogue_max()
RETURNS integer
AS 'MODULE_PATHNAME', 'icu_feature_catalogue_max'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.feature_catalogue_max() IS
    'The most features the catalogue (and so a lab panel) may hold: 1000. Inserting beyond it fails with 54000.';

-- ---------------------------------------------------------------------------
-- feature: the canonical feature catalogue
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.feature (
    name          text   NOT NULL,
    loinc         text,
    description   text   NOT NULL,
    unit          text   NOT NULL,
    plausible_min float8 NOT NULL,
    plausible_max float8 NOT NULL,
    builtin       boolean NOT NULL DEFAULT false,
    display_name  text   NOT NULL,
    display_unit  text   NOT NULL,
    molar_mass    float8,
    other_loinc   text[] NOT NULL DEFAULT '{}',
    specimen      text,
    replaces      text,
    CONSTRAINT feature_pkey PRIMARY KEY (name),
    CONSTRAINT feature_name_format CHECK (@extschema@.feature_name_ok(name)),
    CONSTRAINT feature_loinc_format CHECK (loinc IS NULL OR loinc ~ '^[0-9]{1,7}-[0-9]$'),
    CONSTRAINT feature_range_ordered CHECK (plausible_min < plausible_max),
    CONSTRAINT feature_range_finite
        CHECK (plausible_min > '-Infinity'::float8 AND plausible_max < 'Infinity'::float8),
    CONSTRAINT feature_molar_mass_usable
        CHECK (molar_mass IS NULL OR (molar_mass > 0 AND molar_mass < 1e7)),
    CONSTRAINT feature_other_loinc_format
        CHECK (pg_catalog.array_to_string(other_loinc, ' ') ~ '^([0-9]{1,7}-[0-9]( |$))*$'),
    CONSTRAINT feature_specimen_known_value CHECK (specimen IN ('blood', 'urine', 'other')),
    CONSTRAINT feature_builtin_not_replacing CHECK (NOT (builtin AND replaces IS NOT NULL))
);
COMMENT ON TABLE @extschema@.feature IS
    'The canonical feature catalogue: one row per lab feature or vital sign the panel and the models know, in one canonical UCUM unit. Values outside [plausible_min, plausible_max] are counted as rejected (implausible), not used. At most feature_catalogue_max() rows. Shipped rows have builtin = true; editing, renaming or deleting one is recorded (builtin false and replaces, or a row in feature_removed), so pg_dump keeps the change.';
COMMENT ON COLUMN @extschema@.feature.name IS 'Short name used in panels and model specs (lower case, e.g. crp).';
COMMENT ON COLUMN @extschema@.feature.loinc IS 'LOINC code of the canonical measurement, where one exists. Lab rows sent under this code (or other_loinc) need no lab_map row.';
COMMENT ON COLUMN @extschema@.feature.description IS 'What is measured, in words.';
COMMENT ON COLUMN @extschema@.feature.unit IS 'Canonical unit, in UCUM (unit_ucum() must understand it); every local unit is converted into it.';
COMMENT ON COLUMN @extschema@.feature.plausible_min IS 'Lowest physiologically plausible value in the canonical unit.';
COMMENT ON COLUMN @extschema@.feature.plausible_max IS 'Highest physiologically plausible value in the canonical unit.';
COMMENT ON COLUMN @extschema@.feature.builtin IS 'True for a shipped row as shipped; false for rows users added or changed. pg_dump keeps the rows with builtin = false.';
COMMENT ON COLUMN @extschema@.feature.display_name IS 'Name for people (dashboards, explanations), e.g. ''CRP'', ''hs-Troponin I''; defaults to description.';
COMMENT ON COLUMN @extschema@.feature.display_unit IS 'Unit for people, e.g. ''10^9/L'', ''mmHg'' (ASCII); defaults to unit.';
COMMENT ON COLUMN @extschema@.feature.molar_mass IS 'Molar mass in g/mol where mass and substance concentrations convert (creatinine 113.12); NULL otherwise, and then mg/dL <-> mmol/L is refused.';
COMMENT ON COLUMN @extschema@.feature.other_loinc IS 'Further LOINC codes measuring the same thing (other units or methods); lab rows sent under them map like loinc.';
COMMENT ON COLUMN @extschema@.feature.specimen IS 'The specimen class the feature is measured in: blood, urine or other; NULL for vital signs and ventilator settings. A lab row whose specimen is of another class is rejected (specimen_mismatch).';
COMMENT ON COLUMN @extschema@.feature.replaces IS 'For a changed shipped row: the name it was shipped under (set automatically). A dumped row with replaces takes the place of that shipped row on restore.';

-- The shipped catalogue.  LOINC codes as in the LOINC table (check them
-- against your release); where none is given, no code is asserted.  Each
-- plausible range is wide: it excludes values no living patient has (unit and
-- specimen mix-ups), not abnormal ones.  Its basis is in the comment above the
-- row: the adult reference interval, then the extremes seen in critical
-- illness as reported in the clinical chemistry literature.
INSERT INTO @extschema@.feature (name, loinc, description, unit, plausible_min, plausible_max, builtin,
                                 display_name, display_unit, molar_mass, other_loinc, specimen) VALUES
    -- crp: ref < 5; severe sepsis/COVID-19 rarely > 500
    ('crp', '1988-5', 'C-reactive protein', 'mg/L', 0, 1000, true, 'CRP', 'mg/L', NULL, '{}', 'blood'),
    -- ldh: ref 120-250; haemolysis and shock reach several thousand
    ('ldh', '2532-0', 'Lactate dehydrogenase', 'U/L', 10, 20000, true, 'LDH', 'U/L', NULL, '{14804-9}', 'blood'),
    -- d_dimer: ref < 0.5; assays report up to about 100
    ('d_dimer', '48065-7', 'D-dimer (fibrinogen equivalent units)', 'mg/L{FEU}', 0, 200, true, 'D-dimer (FEU)', 'mg/L FEU', NULL, '{}', 'blood'),
    -- ferritin: ref 20-300; haemophagocytic syndromes exceed 100000
    ('ferritin', '2276-4', 'Ferritin', 'ug/L', 0, 200000, true, 'Ferritin', 'ug/L', NULL, '{}', 'blood'),
    -- lymphocytes: ref 1-4; chronic lymphocytic leukaemia reaches several hundred
    ('lymphocytes', '731-0', 'Lymphocytes, absolute count', '10*9/L', 0, 200, true, 'Lymphocytes', '10^9/L', NULL, '{26474-7}', 'blood'),
    -- lymphocytes_pct: a percentage
    ('lymphocytes_pct', '736-9', 'Lymphocytes, percentage of leukocytes', '%', 0, 100, true, 'Lymphocytes %', '%', NULL, '{26478-8}', 'blood'),
    -- neutrophils: ref 2-7.5; leukaemoid reactions below 100
    ('neutrophils', '751-8', 'Neutrophils, absolute count', '10*9/L', 0, 200, true, 'Neutrophils', '10^9/L', NULL, '{26499-4}', 'blood'),
    -- platelets: ref 150-400; essential thrombocythaemia up to about 2000
    ('platelets', '777-3', 'Platelets', '10*9/L', 1, 3000, true, 'Platelets', '10^9/L', NULL, '{26515-7}', 'blood'),
    -- creatinine: ref 0.6-1.2; end-stage renal failure rarely above 25
    ('creatinine', '2160-0', 'Creatinine', 'mg/dL', 0.05, 40, true, 'Creatinine', 'mg/dL', 113.12, '{14682-9,38483-4}', 'blood'),
    -- urea: ref 2.5-7.5; uraemia above 100 is rare. Urea nitrogen (BUN, 3094-0) is not urea: map it with factor 0.357 (mg/dL BUN to mmol/L urea)
    ('urea', '22664-7', 'Urea', 'mmol/L', 0.1, 150, true, 'Urea', 'mmol/L', 60.06, '{}', 'blood'),
    -- procalcitonin: ref < 0.05; septic shock reaches several hundred
    ('procalcitonin', '33959-8', 'Procalcitonin', 'ug/L', 0, 1000, true, 'Procalcitonin', 'ug/L', NULL, '{}', 'blood'),
    -- troponin_t: 99th percentile 14; large infarcts reach tens of thousands
    ('troponin_t', '6598-7', 'Troponin T, cardiac', 'ng/L', 0, 100000, true, 'Troponin T', 'ng/L', NULL, '{67151-1}', 'blood'),
    -- il6: ref < 7; cytokine storm reaches tens of thousands
    ('il6', '26881-3', 'Interleukin 6', 'pg/mL', 0, 100000, true, 'IL-6', 'pg/mL', NULL, '{}', 'blood'),
    -- albumin: ref 35-50
    ('albumin', '1751-7', 'Albumin', 'g/L', 5, 70, true, 'Albumin', 'g/L', NULL, '{}', 'blood'),
    -- bilirubin: ref < 21; fulminant liver failure up to about 800
    ('bilirubin', '1975-2', 'Bilirubin, total', 'umol/L', 0, 1000, true, 'Bilirubin', 'umol/L', 584.66, '{14631-6}', 'blood'),
    -- lactate: ref 0.5-2.2; survivable values above 30 are case reports
    ('lactate', '2524-7', 'Lactate', 'mmol/L', 0.1, 40, true, 'Lactate', 'mmol/L', 89.07, '{32693-4}', 'blood'),
    -- pao2: ref 10-13.3; breathing pure oxygen at sea level below 90
    ('pao2', '2703-7', 'Oxygen partial pressure, arterial', 'kPa', 1, 80, true, 'PaO2', 'kPa', NULL, '{11556-8}', 'blood'),
    -- pf_ratio: PaO2 (mmHg) / FiO2; ARDS below 300
    ('pf_ratio', '50984-4', 'PaO2/FiO2 ratio', 'mm[Hg]', 20, 700, true, 'P/F ratio', 'mmHg', NULL, '{}', 'blood'),
    -- leukocytes: ref 4-10; hyperleukocytosis in leukaemia up to several hundred
    ('leukocytes', '6690-2', 'Leukocytes', '10*9/L', 0.05, 500, true, 'Leukocytes (blood)', '10^9/L', NULL, '{26464-8,804-5}', 'blood'),
    -- sodium: ref 135-145; survived extremes reported near 99 and 200
    ('sodium', '2951-2', 'Sodium', 'mmol/L', 90, 200, true, 'Sodium', 'mmol/L', 22.99, '{2947-0}', 'blood'),
    -- potassium: ref 3.5-5.0; cardiac arrest beyond about 10
    ('potassium', '2823-3', 'Potassium', 'mmol/L', 1, 12, true, 'Potassium', 'mmol/L', 39.098, '{6298-4}', 'blood'),
    -- chloride: ref 98-107
    ('chloride', '2075-0', 'Chloride', 'mmol/L', 50, 160, true, 'Chloride', 'mmol/L', 35.45, '{}', 'blood'),
    -- bicarbonate: ref 22-29; severe acidosis below 5
    ('bicarbonate', '1963-8', 'Bicarbonate', 'mmol/L', 2, 60, true, 'Bicarbonate', 'mmol/L', 61.017, '{}', 'blood'),
    -- glucose: ref 3.9-7.8; hyperosmolar states above 60
    ('glucose', '14749-6', 'Glucose', 'mmol/L', 0.5, 100, true, 'Glucose', 'mmol/L', 180.156, '{2345-7,2339-0,15074-8}', 'blood'),
    -- calcium: ref 2.15-2.6
    ('calcium', '2000-8', 'Calcium, total', 'mmol/L', 0.5, 5, true, 'Calcium', 'mmol/L', 40.078, '{17861-6}', 'blood'),
    -- magnesium: ref 1.7-2.2 mg/dL
    ('magnesium', '19123-9', 'Magnesium', 'mg/dL', 0.3, 10, true, 'Magnesium', 'mg/dL', 24.305, '{}', 'blood'),
    -- phosphate: ref 2.5-4.5 mg/dL; molar mass of phosphorus, as reported
    ('phosphate', '2777-1', 'Phosphate (as phosphorus)', 'mg/dL', 0.3, 20, true, 'Phosphate', 'mg/dL', 30.974, '{}', 'blood'),
    -- total_protein: ref 60-80; myeloma up to about 130
    ('total_protein', '2885-2', 'Protein, total', 'g/L', 10, 150, true, 'Total protein', 'g/L', NULL, '{}', 'blood'),
    -- osmolality: ref 275-295
    ('osmolality', '2692-2', 'Osmolality', 'mosm/kg', 200, 450, true, 'Osmolality', 'mOsm/kg', NULL, '{}', 'blood'),
    -- anion_gap: ref 8-16; negative values occur with paraproteins
    ('anion_gap', '33037-3', 'Anion gap', 'mmol/L', -10, 70, true, 'Anion gap', 'mmol/L', NULL, '{}', 'blood'),
    -- egfr: ref > 90
    ('egfr', '62238-1', 'Glomerular filtration rate, estimated (creatinine, CKD-EPI)', 'mL/min/{1.73_m2}', 0, 200, true, 'eGFR', 'mL/min/1.73m2', NULL, '{33914-3,98979-8}', 'blood'),
    -- cystatin_c: ref 0.6-1.0
    ('cystatin_c', '33863-2', 'Cystatin C', 'mg/L', 0.1, 10, true, 'Cystatin C', 'mg/L', NULL, '{}', 'blood'),
    -- ast: ref < 40; ischaemic hepatitis reaches tens of thousands
    ('ast', '1920-8', 'Aspartate aminotransferase (AST)', 'U/L', 1, 50000, true, 'AST', 'U/L', NULL, '{}', 'blood'),
    -- alt: ref < 45; ischaemic or toxic hepatitis reaches tens of thousands
    ('alt', '1742-6', 'Alanine aminotransferase (ALT)', 'U/L', 1, 50000, true, 'ALT', 'U/L', NULL, '{}', 'blood'),
    -- alp: ref 40-130
    ('alp', '6768-6', 'Alkaline phosphatase', 'U/L', 5, 5000, true, 'Alkaline phosphatase', 'U/L', NULL, '{}', 'blood'),
    -- ggt: ref < 60
    ('ggt', '2324-2', 'Gamma-glutamyltransferase (GGT)', 'U/L', 1, 5000, true, 'GGT', 'U/L', NULL, '{}', 'blood'),
    -- bilirubin_direct: ref < 5
    ('bilirubin_direct', '1968-7', 'Bilirubin, direct (conjugated)', 'umol/L', 0, 800, true, 'Bilirubin, direct', 'umol/L', 584.66, '{}', 'blood'),
    -- ammonia: ref 10-50; hepatic coma above 200
    ('ammonia', '16362-6', 'Ammonia', 'umol/L', 1, 1500, true, 'Ammonia', 'umol/L', 17.031, '{}', 'blood'),
    -- haemoglobin: ref 120-175 g/L; molar mass of the haem monomer, so mmol/L (x 16.1145 = g/L) converts as Dutch labs report it
    ('haemoglobin', '718-7', 'Haemoglobin', 'g/L', 20, 250, true, 'Haemoglobin', 'g/L', 16114.5, '{20509-6}', 'blood'),
    -- haematocrit: ref 36-50 %
    ('haematocrit', '4544-3', 'Haematocrit', '%', 5, 80, true, 'Haematocrit', '%', NULL, '{20570-8}', 'blood'),
    -- erythrocytes: ref 4-6
    ('erythrocytes', '789-8', 'Erythrocytes', '10*12/L', 0.5, 10, true, 'Red cells', '10^12/L', NULL, '{26453-1}', 'blood'),
    -- mcv: ref 80-100
    ('mcv', '787-2', 'Mean corpuscular volume', 'fL', 50, 150, true, 'MCV', 'fL', NULL, '{}', 'blood'),
    -- rdw: ref 11.5-14.5
    ('rdw', '788-0', 'Red cell distribution width', '%', 5, 40, true, 'RDW', '%', NULL, '{}', 'blood'),
    -- monocytes: ref 0.2-1.0
    ('monocytes', '742-7', 'Monocytes, absolute count', '10*9/L', 0, 100, true, 'Monocytes', '10^9/L', NULL, '{26484-6}', 'blood'),
    -- eosinophils: ref 0-0.5
    ('eosinophils', '711-2', 'Eosinophils, absolute count', '10*9/L', 0, 50, true, 'Eosinophils', '10^9/L', NULL, '{26449-9}', 'blood'),
    -- basophils: ref 0-0.1
    ('basophils', '704-7', 'Basophils, absolute count', '10*9/L', 0, 20, true, 'Basophils', '10^9/L', NULL, '{26444-0}', 'blood'),
    -- neutrophils_pct: a percentage
    ('neutrophils_pct', '770-8', 'Neutrophils, percentage of leukocytes', '%', 0, 100, true, 'Neutrophils %', '%', NULL, '{26511-6}', 'blood'),
    -- esr: ref < 20; the Westergren tube reads at most about 150-200
    ('esr', '4537-7', 'Erythrocyte sedimentation rate (Westergren)', 'mm/h', 0, 200, true, 'ESR', 'mm/h', NULL, '{30341-2}', 'blood'),
    -- pt: ref 11-13.5 s
    ('pt', '5902-2', 'Prothrombin time', 's', 5, 200, true, 'Prothrombin time', 's', NULL, '{}', 'blood'),
    -- inr: ref 0.8-1.2; over-anticoagulation rarely above 10
    ('inr', '6301-6', 'INR (prothrombin time ratio)', '1', 0.5, 20, true, 'INR', '', NULL, '{34714-6}', 'blood'),
    -- aptt: ref 25-35 s
    ('aptt', '3173-2', 'Activated partial thromboplastin time', 's', 10, 250, true, 'aPTT', 's', NULL, '{14979-9}', 'blood'),
    -- fibrinogen: ref 2-4
    ('fibrinogen', '3255-7', 'Fibrinogen', 'g/L', 0.1, 15, true, 'Fibrinogen', 'g/L', NULL, '{}', 'blood'),
    -- d_dimer_ddu: about half the FEU value; not converted into FEU
    ('d_dimer_ddu', '48066-5', 'D-dimer (D-dimer units)', 'mg/L{DDU}', 0, 100, true, 'D-dimer (DDU)', 'mg/L DDU', NULL, '{}', 'blood'),
    -- ph: ref 7.35-7.45; survival outside 6.8-7.8 is rare
    ('ph', '2744-1', 'pH, arterial', '[pH]', 6.5, 8, true, 'pH', '', NULL, '{11558-4}', 'blood'),
    -- paco2: ref 4.7-6.0 kPa
    ('paco2', '2019-8', 'Carbon dioxide partial pressure, arterial', 'kPa', 1, 30, true, 'PaCO2', 'kPa', NULL, '{11557-6}', 'blood'),
    -- base_excess: ref -2 to +2
    ('base_excess', '1925-7', 'Base excess, arterial', 'mmol/L', -40, 40, true, 'Base excess', 'mmol/L', NULL, '{11555-0}', 'blood'),
    -- sao2: a percentage
    ('sao2', '2708-6', 'Oxygen saturation, arterial (blood gas)', '%', 20, 100, true, 'SaO2', '%', NULL, '{}', 'blood'),
    -- fio2: room air 21 %; a fraction (0.21-1) sent with unit 1 converts to %
    ('fio2', '3150-0', 'Inhaled oxygen fraction', '%', 21, 100, true, 'FiO2', '%', NULL, '{19996-8}', NULL),
    -- troponin_i: 99th percentile about 26; large infarcts reach tens of thousands
    ('troponin_i', '89579-7', 'Troponin I, cardiac (high-sensitivity)', 'ng/L', 0, 100000, true, 'hs-Troponin I', 'ng/L', NULL, '{10839-9,42757-5}', 'blood'),
    -- nt_probnp: ref < 125; severe heart failure above 30000
    ('nt_probnp', '33762-6', 'NT-proBNP', 'pg/mL', 0, 100000, true, 'NT-proBNP', 'pg/mL', NULL, '{}', 'blood'),
    -- bnp: ref < 100
    ('bnp', '30934-4', 'B-type natriuretic peptide', 'pg/mL', 0, 50000, true, 'BNP', 'pg/mL', NULL, '{}', 'blood'),
    -- ck: ref < 200; rhabdomyolysis above 100000
    ('ck', '2157-6', 'Creatine kinase', 'U/L', 1, 500000, true, 'CK', 'U/L', NULL, '{}', 'blood'),
    -- ck_mb: ref < 5
    ('ck_mb', '13969-1', 'Creatine kinase MB (mass)', 'ug/L', 0, 1000, true, 'CK-MB', 'ug/L', NULL, '{}', 'blood'),
    -- il2r: ref 220-710 U/mL; haemophagocytic syndromes above 10000.  No LOINC code is
    -- asserted: the soluble IL-2 receptor is reported in U/mL by the immunoassays that
    -- hospitals run (Siemens Immulite), while the LOINC code laboratories give it,
    -- 76039-7, is the mass concentration reported in pg/mL by multiplex bead assays.
    -- pg/mL does not convert into U/mL (the assay's units are calibrated, not a mass),
    -- so rows sent under 76039-7 would be unit_not_convertible here; map them to a
    -- feature of your own in pg/mL (docs/bring-your-own-data.md, "Add your own feature").
    ('il2r', NULL, 'Interleukin 2 receptor, soluble (sIL-2R)', 'U/mL', 0, 100000, true, 'sIL-2R', 'U/mL', NULL, '{}', 'blood'),
    -- il8: ref < 62; LOINC 33211-4 "Interleukin 8 [Mass/volume] in Serum or Plasma"
    ('il8', '33211-4', 'Interleukin 8', 'pg/mL', 0, 100000, true, 'IL-8', 'pg/mL', NULL, '{}', 'blood'),
    -- il10: ref < 9; LOINC 26848-2 "Interleukin 10 [Mass/volume] in Serum or Plasma"
    ('il10', '26848-2', 'Interleukin 10', 'pg/mL', 0, 100000, true, 'IL-10', 'pg/mL', NULL, '{}', 'blood'),
    -- tnf_alpha: ref < 8; LOINC 3074-2 "Tumor necrosis factor.alpha [Mass/volume] in Serum or Plasma"
    ('tnf_alpha', '3074-2', 'Tumour necrosis factor alpha', 'pg/mL', 0, 100000, true, 'TNF-alpha', 'pg/mL', NULL, '{}', 'blood'),
    -- heart_rate: adult rest 60-100; the fastest recorded rhythms stay below 300
    ('heart_rate', '8867-4', 'Heart rate', '/min', 10, 300, true, 'Heart rate', 'beats/min', NULL, '{}', NULL),
    -- resp_rate: adult 12-20
    ('resp_rate', '9279-1', 'Respiratory rate', '/min', 2, 80, true, 'Respiratory rate', 'breaths/min', NULL, '{}', NULL),
    -- spo2: oximeters are not calibrated below about 70 %
    ('spo2', '59408-5', 'Oxygen saturation, pulse oximetry', '%', 30, 100, true, 'SpO2', '%', NULL, '{2710-2}', NULL),
    -- temperature: normal 36.1-37.8; survived hypothermia below 20 is extraordinary
    ('temperature', '8310-5', 'Body temperature', 'Cel', 25, 45, true, 'Temperature', 'deg C', NULL, '{8331-1,8332-9}', NULL),
    -- sbp: normal 90-140
    ('sbp', '8480-6', 'Systolic blood pressure', 'mm[Hg]', 30, 300, true, 'Systolic BP', 'mmHg', NULL, '{}', NULL),
    -- dbp: normal 60-90
    ('dbp', '8462-4', 'Diastolic blood pressure', 'mm[Hg]', 10, 200, true, 'Diastolic BP', 'mmHg', NULL, '{}', NULL),
    -- map: normal 70-105
    ('map', '8478-0', 'Mean arterial pressure', 'mm[Hg]', 20, 250, true, 'Mean arterial pressure', 'mmHg', NULL, '{}', NULL),
    -- gcs: the scale runs 3-15
    ('gcs', '9269-2', 'Glasgow coma score, total', '{score}', 3, 15, true, 'GCS', 'points', NULL, '{}', NULL),
    -- urine_leukocytes: normal < 5 per HPF; a urine value, never a blood count
    ('urine_leukocytes', '5821-4', 'Leukocytes in urine sediment (per high power field)', '/[HPF]', 0, 1000, true, 'Leukocytes (urine)', '/HPF', NULL, '{}', 'urine');

-- ---------------------------------------------------------------------------
-- Shipped rows kept apart from the user's changes
-- ---------------------------------------------------------------------------
-- A shipped row that is changed (range, name, anything) becomes builtin =
-- false with replaces = its shipped name, so pg_dump (WHERE NOT builtin) keeps
-- it; on restore CREATE EXTENSION brings the shipped row back and inserting
-- the dumped row puts the changed row in its place.  A deleted shipped row
-- leaves its name in feature_removed (dumped), whose rows delete the shipped
-- row again on restore.  pg_dump restores extension tables in foreign-key
-- order, so feature comes before lab_map.
CREATE TABLE @extschema@.feature_removed (
    name       text        NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT feature_removed_pkey PRIMARY KEY (name)
);
COMMENT ON TABLE @extschema@.feature_removed IS
    'Shipped features the user deleted (filled by a trigger on feature). pg_dump keeps these rows; restoring one deletes the shipped row CREATE EXTENSION re-created.';
COMMENT ON COLUMN @extschema@.feature_removed.name IS 'The shipped name of the deleted feature.';
COMMENT ON COLUMN @extschema@.feature_removed.removed_at IS 'When it was deleted.';

CREATE FUNCTION @extschema@.feature_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    m record;
BEGIN
    NEW.display_name := coalesce(NEW.display_name, NEW.description);
    NEW.display_unit := coalesce(NEW.display_unit, NEW.unit);
    IF TG_OP = 'INSERT' THEN
        IF NEW.builtin THEN
            RAISE EXCEPTION 'feature "%": builtin rows are shipped by CREATE EXTENSION only', NEW.name
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Leave builtin false for your own features.';
        END IF;
        IF NEW.replaces IS NULL
           AND EXISTS (SELECT 1 FROM @extschema@.feature_removed r WHERE r.name = NEW.name) THEN
            NEW.replaces := NEW.name;      -- the user's own row under a deleted shipped name
        END IF;
        IF NEW.replaces IS NOT NULL
           AND EXISTS (SELECT 1 FROM @extschema@.feature f WHERE f.name = NEW.replaces AND f.builtin) THEN
            -- a changed shipped row (pg_restore): it takes the shipped row's place
            UPDATE @extschema@.feature f
               SET name = NEW.name, loinc = NEW.loinc, description = NEW.description, unit = NEW.unit,
                   plausible_min = NEW.plausible_min, plausible_max = NEW.plausible_max,
                   display_name = NEW.display_name, display_unit = NEW.display_unit,
                   molar_mass = NEW.molar_mass, other_loinc = NEW.other_loinc,
                   specimen = NEW.specimen, builtin = false, replaces = NEW.replaces
             WHERE f.name = NEW.replaces;
            RETURN NULL;
        END IF;
        SELECT pg_catalog.count(*) INTO n FROM @extschema@.feature;
        IF n >= @extschema@.feature_catalogue_max() THEN
            RAISE EXCEPTION 'feature "%": the catalogue already holds % features, the most a lab panel can hold',
                    NEW.name, n
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Delete features no model or mapping uses; see docs/bring-your-own-data.md.';
        END IF;
    ELSE
        IF NEW.builtin AND NOT OLD.builtin THEN
            RAISE EXCEPTION 'feature "%": builtin rows are shipped by CREATE EXTENSION only', NEW.name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.builtin AND NEW IS DISTINCT FROM OLD THEN
            NEW.builtin := false;
            NEW.replaces := coalesce(NEW.replaces, OLD.name);
        END IF;
        -- a mapping converted by UCUM must stay convertible
        IF NEW.unit IS DISTINCT FROM OLD.unit OR NEW.molar_mass IS DISTINCT FROM OLD.molar_mass THEN
            SELECT l.local_code, l.unit,
                   @extschema@.unit_conversion_problem(l.unit, NEW.unit, NEW.molar_mass) AS why
              INTO m
              FROM @extschema@.lab_map l
             WHERE l.feature = OLD.name AND l.factor IS NULL
               AND @extschema@.unit_factor(l.unit, NEW.unit, NEW.molar_mass) IS NULL
             LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'feature "%": lab_map row (%, %) would no longer convert: %',
                        NEW.name, m.local_code, m.unit, m.why
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give that lab_map row a factor, or change its unit first.';
            END IF;
        END IF;
    END IF;
    IF @extschema@.unit_ucum(NEW.unit) IS NULL THEN
        RAISE EXCEPTION 'feature "%": unit "%" is not a UCUM unit known here', NEW.name, NEW.unit
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = @extschema@.unit_conversion_problem(NEW.unit, NEW.unit),
                  HINT = 'Write the canonical unit in UCUM (mg/L, 10*9/L, mm[Hg], {score}); SELECT * FROM icu_predict.unit_spellings() lists accepted spellings.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_write() IS
    'Trigger: fills display_name/display_unit, checks the unit (22023) and the catalogue limit (54000), marks a changed shipped row (builtin false, replaces), puts a restored changed row in the shipped row''s place, refuses builtin rows from users (42501) and a unit or molar mass change that leaves a UCUM-converted lab_map row unconvertible (22023).';

CREATE TRIGGER feature_write
    BEFORE INSERT OR UPDATE ON @extschema@.feature
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_write();

CREATE FUNCTION @extschema@.feature_deleted()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.builtin OR OLD.replaces IS NOT NULL THEN
        INSERT INTO @extschema@.feature_removed (name)
        VALUES (coalesce(OLD.replaces, OLD.name)) ON CONFLICT (name) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_deleted() IS
    'Trigger: a deleted shipped feature leaves its shipped name in feature_removed, so pg_dump keeps the deletion.';

CREATE TRIGGER feature_deleted
    AFTER DELETE ON @extschema@.feature
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_deleted();

CREATE FUNCTION @extschema@.feature_removed_apply()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.feature f WHERE f.name = NEW.name AND f.builtin;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.feature_removed_apply() IS
    'Trigger: a row in feature_removed (from pg_restore) deletes the shipped feature of that name, if CREATE EXTENSION re-created it.';

CREATE TRIGGER feature_removed_apply
    AFTER INSERT ON @extschema@.feature_removed
    FOR EACH ROW EXECUTE FUNCTION @extschema@.feature_removed_apply();

-- ---------------------------------------------------------------------------
-- lab_map: local code (and specimen, and unit) -> canonical feature
-- ---------------------------------------------------------------------------
-- unit_key() is the normalisation of unit spellings lab_map rows match by:
-- ASCII case folded, spaces removed, micro sign and mu as u, so 'mg/L',
-- 'mg/l' and 'MG / L' match alike.  In C (canonical/unit_key.c).
CREATE FUNCTION @extschema@.unit_key(unit text)
RETURNS text
AS 'MODULE_PATHNAME', 'icu_unit_key'
LANGUAGE C IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.unit_key(text) IS
    'Normalised spelling of a unit: ASCII letters lower-cased, spaces removed, micro sign and Greek mu as u; NULL becomes the empty string. lab_map matches units by this key.';

CREATE TABLE @extschema@.lab_map (
    local_code text   NOT NULL,
    unit       text   NOT NULL DEFAULT '',
    unit_key   text   GENERATED ALWAYS AS (@extschema@.unit_key(unit)) STORED,
    feature    text   NOT NULL,
    factor     float8,
    "offset"   float8 NOT NULL DEFAULT 0,
    note       text,
    specimen   text   NOT NULL DEFAULT '*',
    CONSTRAINT lab_map_pkey PRIMARY KEY (local_code, unit_key, specimen),
    CONSTRAINT lab_map_feature_fkey FOREIGN KEY (feature)
        REFERENCES @extschema@.feature (name) ON UPDATE CASCADE,
    CONSTRAINT lab_map_factor_usable
        CHECK (factor <> 0 AND factor BETWEEN '-1e12'::float8 AND '1e12'::float8),
    CONSTRAINT lab_map_offset_finite
        CHECK ("offset" BETWEEN '-1e12'::float8 AND '1e12'::float8),
    CONSTRAINT lab_map_offset_needs_factor CHECK (factor IS NOT NULL OR "offset" = 0),
    CONSTRAINT lab_map_specimen_known_value
        CHECK (specimen = '*' OR @extschema@.specimen_known(specimen))
);
CREATE INDEX lab_map_feature_idx ON @extschema@.lab_map (feature);
COMMENT ON TABLE @extschema@.lab_map IS
    'Maps a local lab code (for a specimen, or ''*'' for any) to a canonical feature. The value is converted from the unit sent into the feature''s unit by UCUM (unit_factor()), or by factor and offset when factor is given (an override for units UCUM does not know). A row whose unit has no lab_map row of its own is converted from its own unit, when all lab_map rows of its code name one feature. Units match by unit_key(); use unit '''' for results sent without a unit.';
COMMENT ON COLUMN @extschema@.lab_map.local_code IS 'The laboratory''s own test code, as in lab_result.local_code.';
COMMENT ON COLUMN @extschema@.lab_map.unit IS 'Unit as sent (any spelling; '''' for no unit).';
COMMENT ON COLUMN @extschema@.lab_map.unit_key IS 'Normalised unit (generated from unit by unit_key()).';
COMMENT ON COLUMN @extschema@.lab_map.feature IS 'Canonical feature (feature.name).';
COMMENT ON COLUMN @extschema@.lab_map.factor IS 'Override: multiplier into the canonical unit (e.g. 0.357 for BUN mg/dL to urea mmol/L). NULL (the default): UCUM converts unit into the feature''s unit, and the row is refused (22023) when it cannot.';
COMMENT ON COLUMN @extschema@.lab_map."offset" IS 'With factor: added after it; must be 0 without a factor (UCUM gives temperature offsets itself).';
COMMENT ON COLUMN @extschema@.lab_map.note IS 'Free text: where the mapping comes from.';
COMMENT ON COLUMN @extschema@.lab_map.specimen IS '''*'' (the default): any specimen, and results sent without one. Otherwise a specimen (as lab_result.specimen): the row applies to results of that specimen and wins over a ''*'' row.';

CREATE FUNCTION @extschema@.lab_map_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f record;
BEGIN
    SELECT x.unit, x.molar_mass, x.specimen INTO f FROM @extschema@.feature x WHERE x.name = NEW.feature;
    IF NOT FOUND THEN
        RETURN NEW;             -- the foreign key reports this case
    END IF;
    IF NEW.factor IS NULL AND @extschema@.unit_factor(NEW.unit, f.unit, f.molar_mass) IS NULL THEN
        RAISE EXCEPTION 'lab_map row (%, %): unit "%" does not convert into "%", the unit of feature "%"',
                NEW.local_code, NEW.unit, NEW.unit, f.unit, NEW.feature
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = @extschema@.unit_conversion_problem(NEW.unit, f.unit, f.molar_mass) || '.',
                  HINT = 'Give the factor (and offset) into the canonical unit, or write the unit in UCUM; SELECT * FROM icu_predict.unit_spellings() lists accepted spellings.';
    END IF;
    IF NEW.specimen <> '*' AND f.specimen IS NOT NULL AND @extschema@.specimen_known(NEW.specimen)
       AND @extschema@.specimen_class(NEW.specimen) <> f.specimen THEN
        RAISE EXCEPTION 'lab_map row (%, %): specimen "%" is not a % specimen, as feature "%" needs',
                NEW.local_code, NEW.unit, NEW.specimen, f.specimen, NEW.feature
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Map results of this specimen to a feature measured in it (urine_leukocytes, not leukocytes).';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.lab_map_check() IS
    'Trigger: a lab_map row without factor must convert by UCUM into its feature''s unit, and a row for a specimen must match the feature''s specimen class (22023 with the reason otherwise).';

CREATE TRIGGER lab_map_check
    BEFORE INSERT OR UPDATE ON @extschema@.lab_map
    FOR EACH ROW EXECUTE FUNCTION @extschema@.lab_map_check();

-- ---------------------------------------------------------------------------
-- The one list of rejection reasons
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.lab_rejection_reason (
    reason      text    NOT NULL,
    sort_order  integer NOT NULL,
    description text    NOT NULL,
    remedy      text    NOT NULL,
    CONSTRAINT lab_rejection_reason_pkey PRIMARY KEY (reason),
    CONSTRAINT lab_rejection_reason_sort_order_key UNIQUE (sort_order)
);
COMMENT ON TABLE @extschema@.lab_rejection_reason IS
    'Why a lab row is not used: the one list that lab_row_status, lab_unmapped, lab_load_quality and the loaders use. A row gets the first reason that applies, in sort_order. Shipped with the extension.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.reason IS 'The reason code, as in lab_row_status.rejection.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.sort_order IS 'Order of the checks: a row gets the first reason that applies.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.description IS 'What it means.';
COMMENT ON COLUMN @extschema@.lab_rejection_reason.remedy IS 'What to do about it.';

INSERT INTO @extschema@.lab_rejection_reason (reason, sort_order, description, remedy) VALUES
    ('non_finite_time', 1, 'resulted_at or sampled_at is infinity or -infinity.',
     'Correct the time in the export: a result is used as of its result time.'),
    ('code_unknown', 2, 'No lab_map row has the local code, and no feature has it as its LOINC code.',
     'Add a lab_map row (local_code, unit, feature) if the code measures a feature; otherwise nothing.'),
    ('specimen_mismatch', 3, 'The row''s specimen is not of the feature''s specimen class (a urine leukocyte count for blood leukocytes), or lab_map maps the code only for other specimens (a row without specimen matches only ''*'' rows).',
     'Map the code for this specimen to a feature measured in it, or correct the specimen.'),
    ('unit_not_convertible', 4, 'The code is mapped, but the unit sent does not convert into the feature''s unit (the detail names the unit expected and the units lab_map has for the code).',
     'Send the unit in UCUM, or add a lab_map row for this unit with a factor.'),
    ('not_numeric', 5, 'No value, and value_text is neither a number nor a censored number (<5, >1000).',
     'Nothing if the text is a remark (NEG, HEMOLYZED); otherwise derive value in the loader.'),
    ('out_of_range', 6, 'The converted value overflows or underflows float8 (value * factor).',
     'Check the value and the lab_map factor.'),
    ('implausible', 7, 'The converted value is outside the feature''s [plausible_min, plausible_max]; the panel counts it as rejected.',
     'Check the unit (a value on another scale) and the specimen; widen the range only for a real patient.');

-- ---------------------------------------------------------------------------
-- Every lab row, its feature, canonical value and rejection reason
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.lab_code_feature AS
SELECT m.local_code, m.specimen, pg_catalog.min(m.feature) AS feature, 'lab_map'::text AS source
  FROM @extschema@.lab_map m
 GROUP BY m.local_code, m.specimen
HAVING pg_catalog.count(DISTINCT m.feature) = 1
UNION ALL
SELECT c.code, '*', pg_catalog.min(f.name), 'loinc'
  FROM @extschema@.feature f
 CROSS JOIN LATERAL pg_catalog.unnest(f.other_loinc || f.loinc) AS c(code)
 WHERE c.code IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM @extschema@.lab_map m WHERE m.local_code = c.code)
 GROUP BY c.code
HAVING pg_catalog.count(*) = 1;
COMMENT ON VIEW @extschema@.lab_code_feature IS
    'The feature a local code maps to, per specimen (''*'': any), for results whose unit has no lab_map row of its own: codes whose lab_map rows name one feature, and the catalogue''s LOINC codes (loinc, other_loinc) that lab_map does not use. Such results are converted from the unit sent by UCUM.';
COMMENT ON COLUMN @extschema@.lab_code_feature.local_code IS 'Local code (or LOINC code) as sent.';
COMMENT ON COLUMN @extschema@.lab_code_feature.specimen IS 'Specimen the mapping applies to; ''*'' for any.';
COMMENT ON COLUMN @extschema@.lab_code_feature.feature IS 'The feature.';
COMMENT ON COLUMN @extschema@.lab_code_feature.source IS 'lab_map or loinc (the catalogue''s own codes).';

-- The lookups over lab_map, kept in two small tables so that lab_row_status
-- stays a plain join (the planner pushes an admission's qualification down to
-- lab_result and probes these by key).  Rebuilt from lab_map and feature by
-- statement triggers on both (also while pg_restore loads them).
CREATE TABLE @extschema@.lab_code_lookup (
    local_code text NOT NULL,
    specimen   text NOT NULL,
    feature    text NOT NULL,
    CONSTRAINT lab_code_lookup_pkey PRIMARY KEY (local_code, specimen)
);
COMMENT ON TABLE @extschema@.lab_code_lookup IS
    'Derived from lab_code_feature (kept by triggers on lab_map and feature; not dumped): the one feature of a code per specimen.';
COMMENT ON COLUMN @extschema@.lab_code_lookup.local_code IS 'Local code (or LOINC code) as sent.';
COMMENT ON COLUMN @extschema@.lab_code_lookup.specimen IS 'Specimen, or ''*'' for any.';
COMMENT ON COLUMN @extschema@.lab_code_lookup.feature IS 'The feature.';

CREATE TABLE @extschema@.lab_map_code (
    local_code   text    NOT NULL,
    any_specimen boolean NOT NULL,
    specimens    text[]  NOT NULL,
    units        text    NOT NULL,
    CONSTRAINT lab_map_code_pkey PRIMARY KEY (local_code)
);
COMMENT ON TABLE @extschema@.lab_map_code IS
    'Derived from lab_map (kept by triggers; not dumped): per local code, the specimens and units it is mapped under, for the rejection reasons and their details.';
COMMENT ON COLUMN @extschema@.lab_map_code.local_code IS 'Local code.';
COMMENT ON COLUMN @extschema@.lab_map_code.any_specimen IS 'Whether a lab_map row of the code is for any specimen (''*'').';
COMMENT ON COLUMN @extschema@.lab_map_code.specimens IS 'The specimens of its lab_map rows.';
COMMENT ON COLUMN @extschema@.lab_map_code.units IS 'The units of its lab_map rows, comma-separated.';

CREATE FUNCTION @extschema@.lab_lookup_rebuild()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM @extschema@.lab_code_lookup;
    INSERT INTO @extschema@.lab_code_lookup (local_code, specimen, feature)
    SELECT x.local_code, x.specimen, x.feature FROM @extschema@.lab_code_feature x;
    DELETE FROM @extschema@.lab_map_code;
    INSERT INTO @extschema@.lab_map_code (local_code, any_specimen, specimens, units)
    SELECT l.local_code, pg_catalog.bool_or(l.specimen = '*'),
           pg_catalog.array_agg(DISTINCT l.specimen ORDER BY l.specimen),
           pg_catalog.string_agg(DISTINCT l.unit, ', ' ORDER BY l.unit)
      FROM @extschema@.lab_map l GROUP BY l.local_code;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lab_lookup_rebuild() IS
    'Trigger: rebuilds lab_code_lookup and lab_map_code after a change of lab_map or feature.';

CREATE TRIGGER lab_lookup_rebuild
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.lab_map
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lab_lookup_rebuild();
CREATE TRIGGER lab_lookup_rebuild
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.feature
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.lab_lookup_rebuild();
INSERT INTO @extschema@.lab_code_lookup (local_code, specimen, feature)
SELECT x.local_code, x.specimen, x.feature FROM @extschema@.lab_code_feature x;
INSERT INTO @extschema@.lab_map_code (local_code, any_specimen, specimens, units)
SELECT l.local_code, pg_catalog.bool_or(l.specimen = '*'),
       pg_catalog.array_agg(DISTINCT l.specimen ORDER BY l.specimen),
       pg_catalog.string_agg(DISTINCT l.unit, ', ' ORDER BY l.unit)
  FROM @extschema@.lab_map l GROUP BY l.local_code;

CREATE VIEW @extschema@.lab_row_status AS
SELECT r.lab_result_id,
       r.admission_id,
       r.local_code,
       r.unit AS local_unit,
       r.specimen,
       r.value AS value_sent,
       r.value_text,
       r.resulted_at,
       r.sampled_at,
       f.name AS feature,
       f.unit AS canonical_unit,
       f.plausible_min,
       f.plausible_max,
       k.factor,
       k."offset",
       c.value,
       CASE WHEN r.value_text IS NOT NULL THEN @extschema@.lab_text_censoring(r.value_text) END AS censored,
       s.rejection,
       CASE s.rejection
           WHEN 'non_finite_time' THEN
               'resulted_at ' || r.resulted_at || coalesce(', sampled_at ' || r.sampled_at, '')
           WHEN 'code_unknown' THEN
               'no lab_map row for code ' || r.local_code || ', and no feature has it as LOINC code'
           WHEN 'specimen_mismatch' THEN
               CASE WHEN f.name IS NULL
                    THEN 'lab_map maps code ' || r.local_code || ' only for specimen '
                         || pg_catalog.array_to_string(mc.specimens, ', ') || '; this row''s specimen is '
                         || coalesce(r.specimen, 'not given')
                    ELSE 'specimen ' || r.specimen || ' is not ' || f.specimen
                         || ', the specimen of feature ' || f.name END
           WHEN 'unit_not_convertible' THEN
               CASE WHEN f.name IS NULL
                    THEN 'unit "' || coalesce(r.unit, '') || '" is none of the units lab_map has for code '
                         || r.local_code || ' (' || mc.units || '), which name several features'
                    ELSE 'expected a unit convertible to ' || f.unit || ' (feature ' || f.name || '): '
                         || coalesce(@extschema@.unit_conversion_problem(r.unit, f.unit, f.molar_mass), '')
                         || coalesce('; lab_map has code ' || r.local_code || ' under ' || mc.units, '') END
           WHEN 'not_numeric' THEN
               'result text ' || pg_catalog.quote_literal(r.value_text) || ' is no number'
           WHEN 'out_of_range' THEN
               v.raw || ' * ' || k.factor || ' + ' || k."offset" || ' is outside the float8 range'
           WHEN 'implausible' THEN
               c.value || ' ' || f.unit || ' is outside [' || f.plausible_min || ', ' || f.plausible_max
               || '] of feature ' || f.name
       END AS detail
  FROM @extschema@.lab_result r
  LEFT JOIN @extschema@.lab_map ms
    ON ms.local_code = r.local_code AND ms.unit_key = @extschema@.unit_key(r.unit) AND ms.specimen = r.specimen
  LEFT JOIN @extschema@.lab_map ma
    ON ma.local_code = r.local_code AND ma.unit_key = @extschema@.unit_key(r.unit) AND ma.specimen = '*'
  LEFT JOIN @extschema@.lab_code_lookup cs
    ON cs.local_code = r.local_code AND cs.specimen = r.specimen
  LEFT JOIN @extschema@.lab_code_lookup ca
    ON ca.local_code = r.local_code AND ca.specimen = '*'
  LEFT JOIN @extschema@.feature f
    ON f.name = coalesce(ms.feature, ma.feature, cs.feature, ca.feature)
  LEFT JOIN @extschema@.lab_map_code mc
    ON mc.local_code = r.local_code
 CROSS JOIN LATERAL (
       SELECT CASE WHEN ms.local_code IS NOT NULL THEN ms.unit
                   WHEN ma.local_code IS NOT NULL THEN ma.unit
                   ELSE r.unit END AS from_unit,
              CASE WHEN ms.local_code IS NOT NULL THEN ms.factor ELSE ma.factor END AS factor,
              CASE WHEN ms.local_code IS NOT NULL THEN ms."offset" ELSE ma."offset" END AS "offset") m
 CROSS JOIN LATERAL (
       SELECT CASE WHEN m.factor IS NOT NULL THEN m.factor
                   ELSE @extschema@.unit_factor(m.from_unit, f.unit, f.molar_mass) END AS factor,
              CASE WHEN m.factor IS NOT NULL THEN m."offset"
                   ELSE @extschema@.unit_offset(m.from_unit, f.unit, f.molar_mass) END AS "offset") k
 CROSS JOIN LATERAL (
       SELECT coalesce(r.value, @extschema@.lab_text_value(r.value_text)) AS raw) v
 CROSS JOIN LATERAL (
       SELECT @extschema@.canonical_value(v.raw, k.factor, k."offset") AS value) c
 CROSS JOIN LATERAL (
       SELECT CASE
                WHEN NOT pg_catalog.isfinite(r.resulted_at)
                     OR NOT pg_catalog.isfinite(coalesce(r.sampled_at, r.resulted_at))
                     THEN 'non_finite_time'
                WHEN f.name IS NULL AND mc.local_code IS NULL THEN 'code_unknown'
                WHEN f.name IS NULL AND (mc.any_specimen OR r.specimen = ANY (mc.specimens))
                     THEN 'unit_not_convertible'
                WHEN f.name IS NULL THEN 'specimen_mismatch'
                WHEN r.specimen IS NOT NULL AND f.specimen IS NOT NULL
                     AND @extschema@.specimen_class(r.specimen) <> f.specimen THEN 'specimen_mismatch'
                WHEN k.factor IS NULL THEN 'unit_not_convertible'
                WHEN v.raw IS NULL THEN 'not_numeric'
                WHEN c.value IS NULL THEN 'out_of_range'
                WHEN c.value < f.plausible_min OR c.value > f.plausible_max THEN 'implausible'
              END AS rejection) s;
COMMENT ON VIEW @extschema@.lab_row_status IS
    'Every lab_result row (exactly one row each) with the feature it maps to, its value in the canonical unit and its rejection reason (lab_rejection_reason; NULL when the row is used). Mapping: the lab_map row of the code and unit for the row''s specimen, else for ''*''; else the code''s one feature (lab_code_feature), converted from the unit sent. The value is value, or the number in value_text (censored results at their bound, flagged in censored).';
COMMENT ON COLUMN @extschema@.lab_row_status.lab_result_id IS 'The source row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_row_status.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.lab_row_status.local_code IS 'The laboratory''s own code, as sent.';
COMMENT ON COLUMN @extschema@.lab_row_status.local_unit IS 'The unit as sent.';
COMMENT ON COLUMN @extschema@.lab_row_status.specimen IS 'The specimen as sent (NULL: not given).';
COMMENT ON COLUMN @extschema@.lab_row_status.value_sent IS 'lab_result.value.';
COMMENT ON COLUMN @extschema@.lab_row_status.value_text IS 'lab_result.value_text.';
COMMENT ON COLUMN @extschema@.lab_row_status.resulted_at IS 'Time the result became available.';
COMMENT ON COLUMN @extschema@.lab_row_status.sampled_at IS 'Time the sample was taken, when known.';
COMMENT ON COLUMN @extschema@.lab_row_status.feature IS 'The canonical feature, when the code maps to one.';
COMMENT ON COLUMN @extschema@.lab_row_status.canonical_unit IS 'The feature''s unit.';
COMMENT ON COLUMN @extschema@.lab_row_status.plausible_min IS 'The feature''s lowest plausible value.';
COMMENT ON COLUMN @extschema@.lab_row_status.plausible_max IS 'The feature''s highest plausible value.';
COMMENT ON COLUMN @extschema@.lab_row_status.factor IS 'The multiplier into the canonical unit (lab_map override or UCUM); NULL when the unit does not convert.';
COMMENT ON COLUMN @extschema@.lab_row_status."offset" IS 'The additive term (temperatures, or the lab_map override).';
COMMENT ON COLUMN @extschema@.lab_row_status.value IS 'The value in the canonical unit; NULL when there is none (not numeric, not convertible, out of range).';
COMMENT ON COLUMN @extschema@.lab_row_status.censored IS '<, <=, > or >= when value_text is a censored result; the value is then the bound.';
COMMENT ON COLUMN @extschema@.lab_row_status.rejection IS 'NULL when the row is used; else the first reason of lab_rejection_reason that applies.';
COMMENT ON COLUMN @extschema@.lab_row_status.detail IS 'The rejection in words: the unit expected and the units lab_map has for the code, the specimen, the range.';

-- ---------------------------------------------------------------------------
-- Canonical lab rows and what is not used
-- ---------------------------------------------------------------------------
CREATE VIEW @extschema@.lab_canonical AS
SELECT s.lab_result_id,
       s.admission_id,
       s.feature,
       s.value,
       s.resulted_at,
       s.sampled_at,
       s.local_code,
       s.local_unit,
       s.canonical_unit,
       s.plausible_min,
       s.plausible_max,
       s.specimen,
       s.censored
  FROM @extschema@.lab_row_status s
 WHERE s.rejection IS NULL OR s.rejection = 'implausible';
COMMENT ON VIEW @extschema@.lab_canonical IS
    'Lab results in canonical features, the rows the panels read: the rows of lab_row_status that are used, plus the implausible ones (lab_panel counts those as rejected). Every other row is listed, with its reason, in lab_unmapped.';
COMMENT ON COLUMN @extschema@.lab_canonical.lab_result_id IS 'The source row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_canonical.admission_id IS 'The admission.';
COMMENT ON COLUMN @extschema@.lab_canonical.feature IS 'Canonical feature name (feature.name).';
COMMENT ON COLUMN @extschema@.lab_canonical.value IS 'Value in the canonical unit of the feature.';
COMMENT ON COLUMN @extschema@.lab_canonical.resulted_at IS 'Time the result became available (the as-of time rule uses this).';
COMMENT ON COLUMN @extschema@.lab_canonical.sampled_at IS 'Time the sample was taken, when known.';
COMMENT ON COLUMN @extschema@.lab_canonical.local_code IS 'The laboratory''s own code, as sent.';
COMMENT ON COLUMN @extschema@.lab_canonical.local_unit IS 'The unit as sent.';
COMMENT ON COLUMN @extschema@.lab_canonical.canonical_unit IS 'The canonical unit of the feature (feature.unit).';
COMMENT ON COLUMN @extschema@.lab_canonical.plausible_min IS 'Lowest plausible value of the feature; lower values are rejected by lab_panel.';
COMMENT ON COLUMN @extschema@.lab_canonical.plausible_max IS 'Highest plausible value of the feature; higher values are rejected by lab_panel.';
COMMENT ON COLUMN @extschema@.lab_canonical.specimen IS 'The specimen as sent (NULL: not given).';
COMMENT ON COLUMN @extschema@.lab_canonical.censored IS '<, <=, > or >= for a censored result (the value is its bound); NULL otherwise.';

CREATE VIEW @extschema@.lab_unmapped AS
SELECT s.local_code,
       @extschema@.unit_key(s.local_unit) AS unit_key,
       pg_catalog.min(coalesce(s.local_unit, '')) AS unit_example,
       s.rejection AS reason,
       s.feature AS mapped_feature,
       pg_catalog.count(*) AS n_rows,
       pg_catalog.count(*) FILTER (WHERE s.value_sent IS NULL) AS n_text_only,
       pg_catalog.count(DISTINCT s.admission_id) AS n_admissions,
       pg_catalog.min(s.resulted_at) AS first_resulted_at,
       pg_catalog.max(s.resulted_at) AS last_resulted_at,
       s.specimen,
       pg_catalog.min(s.canonical_unit) AS expected_unit,
       pg_catalog.min(s.lab_result_id) AS example_lab_result_id,
       pg_catalog.min(coalesce(s.value_text, s.value_sent::text)) AS example_value,
       pg_catalog.min(s.detail) AS detail
  FROM @extschema@.lab_row_status s
 WHERE s.rejection IS NOT NULL AND s.rejection <> 'implausible'
 GROUP BY s.local_code, @extschema@.unit_key(s.local_unit), s.rejection, s.feature, s.specimen;
COMMENT ON VIEW @extschema@.lab_unmapped IS
    'Lab rows that are not used for a reason other than implausibility, counted per code, unit, reason, feature and specimen, with an example and the reason in words. Implausible rows are in lab_canonical (the panel counts them); lab_load_quality counts every row.';
COMMENT ON COLUMN @extschema@.lab_unmapped.local_code IS 'Local lab code as sent.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_key IS 'Normalised unit (unit_key()); lab_map matches on it.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_example IS 'One spelling of the unit as sent ('''' when none).';
COMMENT ON COLUMN @extschema@.lab_unmapped.reason IS 'The rejection reason (lab_rejection_reason.reason).';
COMMENT ON COLUMN @extschema@.lab_unmapped.mapped_feature IS 'The feature the code maps to, when it maps to one.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_rows IS 'Number of lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_text_only IS 'Of these, rows with only a text result.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_admissions IS 'Number of admissions with such rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.first_resulted_at IS 'Earliest result time.';
COMMENT ON COLUMN @extschema@.lab_unmapped.last_resulted_at IS 'Latest result time.';
COMMENT ON COLUMN @extschema@.lab_unmapped.specimen IS 'The specimen as sent.';
COMMENT ON COLUMN @extschema@.lab_unmapped.expected_unit IS 'The unit of the feature the code maps to (what a convertible unit must convert into).';
COMMENT ON COLUMN @extschema@.lab_unmapped.example_lab_result_id IS 'One such row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_unmapped.example_value IS 'One value as sent (text, or the number).';
COMMENT ON COLUMN @extschema@.lab_unmapped.detail IS 'The reason in words, for one such row.';

CREATE VIEW @extschema@.lab_load_quality AS
SELECT s.feature,
       s.local_code,
       @extschema@.unit_key(s.local_unit) AS unit_key,
       pg_catalog.min(coalesce(s.local_unit, '')) AS unit_example,
       s.specimen,
       coalesce(s.rejection, 'used') AS status,
       pg_catalog.count(*) AS n_rows,
       pg_catalog.count(*) FILTER (WHERE s.censored IS NOT NULL) AS n_censored,
       pg_catalog.count(DISTINCT s.admission_id) AS n_admissions,
       pg_catalog.min(s.lab_result_id) AS example_lab_result_id,
       pg_catalog.min(coalesce(s.value_text, s.value_sent::text)) AS example_value,
       pg_catalog.min(s.detail) AS detail,
       pg_catalog.min(s.resulted_at) AS first_resulted_at,
       pg_catalog.max(s.resulted_at) AS last_resulted_at
  FROM @extschema@.lab_row_status s
 GROUP BY s.feature, s.local_code, @extschema@.unit_key(s.local_unit), s.specimen,
          coalesce(s.rejection, 'used');
COMMENT ON VIEW @extschema@.lab_load_quality IS
    'Every lab row counted by feature, local code, unit, specimen and status (used, or a rejection reason), with an example: what a load could and could not use. For each feature and each code, n_rows of status used plus the rows of every reason equals its rows in lab_result.';
COMMENT ON COLUMN @extschema@.lab_load_quality.feature IS 'The feature (NULL for codes that map to none).';
COMMENT ON COLUMN @extschema@.lab_load_quality.local_code IS 'Local lab code as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.unit_key IS 'Normalised unit.';
COMMENT ON COLUMN @extschema@.lab_load_quality.unit_example IS 'One spelling of the unit as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.specimen IS 'The specimen as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.status IS 'used, or the rejection reason (lab_rejection_reason.reason).';
COMMENT ON COLUMN @extschema@.lab_load_quality.n_rows IS 'Number of lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_load_quality.n_censored IS 'Of these, censored results (<5, >1000).';
COMMENT ON COLUMN @extschema@.lab_load_quality.n_admissions IS 'Number of admissions with such rows.';
COMMENT ON COLUMN @extschema@.lab_load_quality.example_lab_result_id IS 'One such row in lab_result.';
COMMENT ON COLUMN @extschema@.lab_load_quality.example_value IS 'One value as sent.';
COMMENT ON COLUMN @extschema@.lab_load_quality.detail IS 'The reason in words, for one such row (NULL when used).';
COMMENT ON COLUMN @extschema@.lab_load_quality.first_resulted_at IS 'Earliest result time.';
COMMENT ON COLUMN @extschema@.lab_load_quality.last_resulted_at IS 'Latest result time.';

-- ---------------------------------------------------------------------------
-- pg_dump keeps the rows users load.  The shipped catalogue rows come back
-- with CREATE EXTENSION, so only rows users added or changed are dumped, and
-- the shipped names they deleted.
-- ---------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature_removed', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lab_map', '');
