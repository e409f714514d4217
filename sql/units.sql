-- UCUM conversion: known conversions with their published values, spellings,
-- and the refusals with their reasons.
SET search_path = icu_predict, public;
SET extra_float_digits = 0;

-- Each row: a conversion and the value a published reference gives for it.
-- Sources: the SI conversion factors of clinical chemistry (as tabulated in
-- the AMA Manual of Style, SI units chapter, and in the Tietz reference
-- tables; molar masses from the feature catalogue), the UCUM definitions
-- (ucum.org: U = umol/min, mm[Hg] = 133.322 Pa, [degF], Cel), and the domain
-- facts of the product brief (CRP, albumin, bilirubin, creatinine, urea).
-- agrees: within 0.3 % of the published value (the published factors carry
-- 3 to 4 significant digits).
CREATE TEMP TABLE known (n int, class text, what text, v float8, from_unit text, to_unit text,
                         molar_mass float8, published float8);
INSERT INTO known VALUES
 -- prefixes
 ( 1, 'prefix', 'CRP mg/dL -> mg/L',            1,    'mg/dL',  'mg/L',    NULL, 10),
 ( 2, 'prefix', 'g/L -> mg/dL',                 1,    'g/L',    'mg/dL',   NULL, 100),
 ( 3, 'prefix', 'mg/L -> g/L',                  250,  'mg/L',   'g/L',     NULL, 0.25),
 ( 4, 'prefix', 'albumin g/dL -> g/L',          3.5,  'g/dL',   'g/L',     NULL, 35),
 ( 5, 'prefix', 'ferritin ng/mL -> ug/L',       300,  'ng/mL',  'ug/L',    NULL, 300),
 ( 6, 'prefix', 'troponin ug/L -> ng/L',        0.05, 'ug/L',   'ng/L',    NULL, 50),
 ( 7, 'prefix', 'IL-6 pg/mL -> ng/L',           7,    'pg/mL',  'ng/L',    NULL, 7),
 ( 8, 'prefix', 'D-dimer ng/mL FEU -> mg/L FEU', 500, 'ng/mL{FEU}', 'mg/L{FEU}', NULL, 0.5),
 ( 9, 'prefix', 'mmol/L -> umol/L',             1.2,  'mmol/L', 'umol/L',  NULL, 1200),
 (10, 'prefix', 'procalcitonin mcg/L -> ng/mL', 0.5,  'mcg/L',  'ng/mL',   NULL, 0.5),
 (11, 'prefix', 'micro sign: µg/L -> ng/mL',    12,   'µg/L',   'ng/mL',   NULL, 12),
 (12, 'prefix', 'upper case: MG/DL -> mg/L',    2,    'MG/DL',  'mg/L',    NULL, 20),
 -- mass <-> substance
 (13, 'mass-substance', 'creatinine mg/dL -> umol/L (113.12)', 1,  'mg/dL', 'umol/L', 113.12, 88.4),
 (14, 'mass-substance', 'creatinine umol/L -> mg/dL (113.12)', 88.4, 'umol/L', 'mg/dL', 113.12, 1.0),
 (15, 'mass-substance', 'bilirubin mg/dL -> umol/L (584.66)', 1,  'mg/dL', 'umol/L', 584.66, 17.1),
 (16, 'mass-substance', 'glucose mg/dL -> mmol/L (180.16)', 100,  'mg/dL', 'mmol/L', 180.156, 5.55),
 (17, 'mass-substance', 'glucose mmol/L -> mg/dL (180.16)', 5.5,  'mmol/L', 'mg/dL', 180.156, 99.1),
 (18, 'mass-substance', 'urea mg/dL -> mmol/L (60.06)',  60.06,   'mg/dL', 'mmol/L', 60.06, 10),
 (19, 'mass-substance', 'urea nitrogen mg/dL -> urea mmol/L (N2 28.014)', 1, 'mg/dL', 'mmol/L', 28.014, 0.357),
 (20, 'mass-substance', 'calcium mg/dL -> mmol/L (40.08)', 10,  'mg/dL', 'mmol/L', 40.078, 2.495),
 (21, 'mass-substance', 'magnesium mmol/L -> mg/dL (24.305)', 1, 'mmol/L', 'mg/dL', 24.305, 2.43),
 (22, 'mass-substance', 'phosphate mg/dL -> mmol/L (30.97)', 1, 'mg/dL', 'mmol/L', 30.974, 0.3229),
 (23, 'mass-substance', 'lactate mmol/L -> mg/dL (89.07)', 1, 'mmol/L', 'mg/dL', 89.07, 8.907),
 (24, 'mass-substance', 'haemoglobin g/dL -> mmol/L (16114.5)', 10, 'g/dL', 'mmol/L', 16114.5, 6.206),
 (25, 'mass-substance', 'ammonia ug/dL -> umol/L (17.03)', 100, 'ug/dL', 'umol/L', 17.031, 58.7),
 (26, 'mass-substance', 'sodium mEq/L -> mmol/L',       140, 'mEq/L', 'mmol/L', NULL, 140),
 -- counts
 (27, 'count', '10*9/L -> 10*3/uL',      7.5,  '10*9/L',  '10*3/uL', NULL, 7.5),
 (28, 'count', '10^9/L -> /nL',          7.5,  '10^9/L',  '/nL',     NULL, 7.5),
 (29, 'count', 'G/L -> 10*9/L',          250,  'G/L',     '10*9/L',  NULL, 250),
 (30, 'count', 'K/uL -> 10*9/L',         250,  'K/uL',    '10*9/L',  NULL, 250),
 (31, 'count', '#/uL -> 10*9/L',         1500, '#/uL',    '10*9/L',  NULL, 1.5),
 (32, 'count', '{cells}/uL -> 10*9/L',   800,  '{cells}/uL', '10*9/L', NULL, 0.8),
 (33, 'count', 'red cells 10*6/uL -> 10*12/L', 4.5, '10*6/uL', '10*12/L', NULL, 4.5),
 (34, 'count', 'x10E9/L -> 10*9/L',      3.2,  'x10E9/L', '10*9/L',  NULL, 3.2),
 -- catalytic activity
 (35, 'catalytic', 'U/L -> ukat/L (60 U/L = 1 ukat/L)', 60, 'U/L', 'ukat/L', NULL, 1),
 (36, 'catalytic', 'ukat/L -> U/L',      0.5,  'ukat/L',  'U/L',     NULL, 30),
 (37, 'catalytic', 'IU/L -> U/L',        42,   'IU/L',    'U/L',     NULL, 42),
 (38, 'catalytic', 'nkat/L -> U/L',      1000, 'nkat/L',  'U/L',     NULL, 60),
 -- percent and fractions
 (39, 'fraction', 'FiO2 fraction -> %',  0.21, '1',       '%',       NULL, 21),
 (40, 'fraction', 'haematocrit % -> 1',  45,   '%',       '1',       NULL, 0.45),
 (41, 'fraction', 'no unit -> %',        0.4,  '',        '%',       NULL, 40),
 (42, 'fraction', '% -> [ppth]',         1,    '%',       '[ppth]',  NULL, 10),
 -- pressure
 (43, 'pressure', 'kPa -> mmHg',         1,    'kPa',     'mm[Hg]',  NULL, 7.50062),
 (44, 'pressure', 'PaO2 mmHg -> kPa',    100,  'mmHg',    'kPa',     NULL, 13.3322),
 (45, 'pressure', 'cmH2O -> kPa',        10,   'cmH2O',   'kPa',     NULL, 0.980665),
 -- temperature
 (46, 'temperature', '[degF] -> Cel',    98.6, '[degF]',  'Cel',     NULL, 37),
 (47, 'temperature', 'Cel -> K',         37,   'Cel',     'K',       NULL, 310.15),
 (48, 'temperature', 'Cel -> [degF]',    0,    'Cel',     '[degF]',  NULL, 32),
 -- rates and other spellings
 (49, 'rate', 'beats per hour -> /min',  3600, '/h',      '/min',    NULL, 60),
 (50, 'rate', 'eGFR spelling',           65,   'mL/min/1.73m2', 'mL/min/{1.73_m2}', NULL, 65),
 (51, 'rate', 'ESR mm/hr -> mm/h',       20,   'mm/hr',   'mm/h',    NULL, 20);

SELECT n, class, what,
       round(unit_convert(v, from_unit, to_unit, molar_mass)::numeric, 6) AS got,
       published,
       abs(unit_convert(v, from_unit, to_unit, molar_mass) - published) <= 0.003 * abs(published) AS agrees
  FROM known ORDER BY n;
SELECT count(*) AS conversions, count(*) FILTER (WHERE abs(unit_convert(v, from_unit, to_unit, molar_mass) - published)
                                                      <= 0.003 * abs(published)) AS agreeing,
       count(DISTINCT class) AS classes
  FROM known;

-- the factor and offset lab_row_status uses, and unit_ucum()'s reading
SELECT unit_factor('[degF]', 'Cel') AS f, round(unit_offset('[degF]', 'Cel')::numeric, 6) AS o,
       unit_factor('mg/dL', 'mg/L') AS crp, unit_offset('mg/dL', 'mg/L') AS crp_o;
SELECT u, unit_ucum(u) FROM unnest(ARRAY['IU/L', '10^9/l', 'x10^9/L', 'G/L', 'g/L', 'K/uL', 'mmHg',
                                         'MG/DL', 'mg/L FEU', '°C', '', NULL, 'furlong']) WITH ORDINALITY t(u, i)
 ORDER BY i;
SELECT count(*) > 40 AS spellings_listed, count(*) FILTER (WHERE unit_ucum(ucum) IS NULL) AS unreadable
  FROM unit_spellings();

-- refusals: NULL from unit_factor, the reason from unit_conversion_problem,
-- an error that says why from unit_convert
SELECT from_unit, to_unit, molar_mass, unit_factor(from_unit, to_unit, molar_mass) AS factor,
       unit_conversion_problem(from_unit, to_unit, molar_mass) AS why
  FROM (VALUES ('mg/dL', 'mmol/L', NULL::float8), ('mg/L{DDU}', 'mg/L{FEU}', NULL), ('mg/dL', '%', NULL),
               ('furlong', 'm', NULL), ('Cel.m', 'K', NULL), ('[IU]/L', 'U/L', NULL),
               ('mg/dL', 'mmol/L', 0), ('K/uL', 'K', NULL)) v(from_unit, to_unit, molar_mass);
\set VERBOSITY default
SELECT unit_convert(1, 'mg/dL', 'mmol/L');
SELECT unit_convert(1, 'mg/dL', 'mmol/L', 113.12) AS with_molar_mass;
SELECT unit_convert('NaN', 'mg/dL', 'mg/L');
SELECT unit_convert(1e300, 'g/L', 'fg/L');
SELECT unit_convert(NULL, 'mg/dL', 'mg/L') IS NULL AS null_value, unit_convert(1, 'mg/dL', NULL) IS NULL AS null_unit;
