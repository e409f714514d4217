-- Canonical labs: local lab codes and units become canonical features, once.
--
--   feature          the canonical feature catalogue (one canonical unit each,
--                    plausible range); built-in rows plus the user's own
--   unit_key()       the one normalisation of unit spellings (C)
--   lab_map          local code and unit -> feature, factor and offset
--   lab_canonical    lab_result -> canonical feature, value converted
--   lab_unmapped     rows that reach no feature (no lab_map row, or text only)
--
-- Rows in lab_result = rows in lab_canonical + rows counted in lab_unmapped.

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
    CONSTRAINT feature_pkey PRIMARY KEY (name),
    CONSTRAINT feature_name_format CHECK (@extschema@.feature_name_ok(name)),
    CONSTRAINT feature_loinc_format CHECK (loinc IS NULL OR loinc ~ '^[0-9]{1,7}-[0-9]$'),
    CONSTRAINT feature_range_ordered CHECK (plausible_min < plausible_max),
    CONSTRAINT feature_range_finite
        CHECK (plausible_min > '-Infinity'::float8 AND plausible_max < 'Infinity'::float8)
);
COMMENT ON TABLE @extschema@.feature IS
    'The canonical feature catalogue: one row per lab feature the panel and the models know, in one canonical unit. Values outside [plausible_min, plausible_max] are counted as rejected, not used.';
COMMENT ON COLUMN @extschema@.feature.name IS 'Short name used in panels and model specs (lower case, e.g. crp).';
COMMENT ON COLUMN @extschema@.feature.loinc IS 'LOINC code of the canonical measurement, where one exists.';
COMMENT ON COLUMN @extschema@.feature.description IS 'What is measured, in words.';
COMMENT ON COLUMN @extschema@.feature.unit IS 'Canonical unit; lab_map converts every local unit into it.';
COMMENT ON COLUMN @extschema@.feature.plausible_min IS 'Lowest physiologically plausible value in the canonical unit.';
COMMENT ON COLUMN @extschema@.feature.plausible_max IS 'Highest physiologically plausible value in the canonical unit.';
COMMENT ON COLUMN @extschema@.feature.builtin IS 'True for the rows installed with the extension; pg_dump keeps only the rows users added (builtin = false).';

INSERT INTO @extschema@.feature (name, loinc, description, unit, plausible_min, plausible_max, builtin) VALUES
    ('crp',            '1988-5',  'C-reactive protein',                          'mg/L',     0,     1000, true),
    ('ldh',            '2532-0',  'Lactate dehydrogenase',                       'U/L',      10,    20000, true),
    ('d_dimer',        '48065-7', 'D-dimer (fibrinogen equivalent units)',       'mg/L FEU', 0,     200, true),
    ('ferritin',       '2276-4',  'Ferritin',                                    'ug/L',     0,     200000, true),
    ('lymphocytes',    '731-0',   'Lymphocytes, absolute count',                 '10^9/L',   0,     200, true),
    ('lymphocytes_pct','736-9',   'Lymphocytes, percentage of leukocytes',       '%',        0,     100, true),
    ('neutrophils',    '751-8',   'Neutrophils, absolute count',                 '10^9/L',   0,     200, true),
    ('platelets',      '777-3',   'Platelets',                                   '10^9/L',   1,     3000, true),
    ('creatinine',     '2160-0',  'Creatinine',                                  'mg/dL',    0.05,  40, true),
    ('urea',           '22664-7', 'Urea',                                        'mmol/L',   0.1,   150, true),
    ('procalcitonin',  '33959-8', 'Procalcitonin',                               'ug/L',     0,     1000, true),
    ('troponin_t',     '6598-7',  'Troponin T, cardiac',                         'ng/L',     0,     100000, true),
    ('il6',            '26881-3', 'Interleukin 6',                               'pg/mL',    0,     100000, true),
    ('albumin',        '1751-7',  'Albumin',                                     'g/L',      5,     70, true),
    ('bilirubin',      '1975-2',  'Bilirubin, total',                            'umol/L',   0,     1000, true),
    ('lactate',        '2524-7',  'Lactate',                                     'mmol/L',   0.1,   40, true),
    ('pao2',           '2703-7',  'Oxygen partial pressure, arterial',           'kPa',      1,     80, true),
    ('pf_ratio',       '50984-4', 'PaO2/FiO2 ratio',                             'mmHg',     20,    700, true),
    ('leukocytes',     '6690-2',  'Leukocytes',                                  '10^9/L',   0.05,  500, true);

-- ---------------------------------------------------------------------------
-- lab_map: local code and unit -> canonical feature
-- ---------------------------------------------------------------------------
-- unit_key() is the one normalisation of unit spellings: ASCII case folded,
-- spaces removed, micro sign and mu as u, so 'mg/L', 'mg/l' and 'MG / L' map
-- alike.  In C (canonical/unit_key.c): lab_canonical evaluates it for every lab row.
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
    factor     float8 NOT NULL DEFAULT 1,
    "offset"   float8 NOT NULL DEFAULT 0,
    note       text,
    CONSTRAINT lab_map_pkey PRIMARY KEY (local_code, unit_key),
    CONSTRAINT lab_map_feature_fkey FOREIGN KEY (feature)
        REFERENCES @extschema@.feature (name) ON UPDATE CASCADE,
    CONSTRAINT lab_map_factor_usable
        CHECK (factor <> 0 AND factor BETWEEN '-1e12'::float8 AND '1e12'::float8),
    CONSTRAINT lab_map_offset_finite
        CHECK ("offset" BETWEEN '-1e12'::float8 AND '1e12'::float8)
);
CREATE INDEX lab_map_feature_idx ON @extschema@.lab_map (feature);
COMMENT ON TABLE @extschema@.lab_map IS
    'Maps a local lab code with the unit as sent to a canonical feature: canonical value = value * factor + offset. Units match by unit_key(), so spelling variants need no row each. Use unit '''' for results sent without a unit.';
COMMENT ON COLUMN @extschema@.lab_map.local_code IS 'The laboratory''s own test code, as in lab_result.local_code.';
COMMENT ON COLUMN @extschema@.lab_map.unit IS 'Unit as sent (any spelling; '''' for no unit).';
COMMENT ON COLUMN @extschema@.lab_map.unit_key IS 'Normalised unit (generated from unit by unit_key()).';
COMMENT ON COLUMN @extschema@.lab_map.feature IS 'Canonical feature (feature.name).';
COMMENT ON COLUMN @extschema@.lab_map.factor IS 'Multiplier into the canonical unit (e.g. 10 for CRP mg/dL to mg/L).';
COMMENT ON COLUMN @extschema@.lab_map."offset" IS 'Added after the factor (e.g. for temperature scales); usually 0.';
COMMENT ON COLUMN @extschema@.lab_map.note IS 'Free text: where the mapping comes from.';

-- ---------------------------------------------------------------------------
-- Canonical lab rows and what does not map
-- ---------------------------------------------------------------------------
-- feature is joined with LEFT JOIN on its primary key: lab_map's foreign key
-- guarantees the row exists, and the planner drops the join when a query does
-- not use plausible_min/plausible_max/canonical_unit.
CREATE VIEW @extschema@.lab_canonical AS
SELECT r.lab_result_id,
       r.admission_id,
       m.feature,
       r.value * m.factor + m."offset" AS value,
       r.resulted_at,
       r.sampled_at,
       r.local_code,
       r.unit AS local_unit,
       f.unit AS canonical_unit,
       f.plausible_min,
       f.plausible_max
  FROM @extschema@.lab_result r
  JOIN @extschema@.lab_map m
    ON m.local_code = r.local_code
   AND m.unit_key = @extschema@.unit_key(r.unit)
  LEFT JOIN @extschema@.feature f ON f.name = m.feature
 WHERE r.value IS NOT NULL;
COMMENT ON VIEW @extschema@.lab_canonical IS
    'Lab results converted to canonical features: lab_result joined to lab_map on (local_code, unit_key(unit)), value = value * factor + offset in the feature''s canonical unit. Text-only results (value NULL) and unmapped codes are left out here and listed in lab_unmapped. Implausible values are kept here; lab_panel counts them as rejected.';
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

CREATE VIEW @extschema@.lab_unmapped AS
SELECT r.local_code,
       @extschema@.unit_key(r.unit) AS unit_key,
       pg_catalog.min(coalesce(r.unit, '')) AS unit_example,
       CASE WHEN m.local_code IS NULL THEN 'no lab_map row'
            ELSE 'text only (no numeric value)' END AS reason,
       m.feature AS mapped_feature,
       pg_catalog.count(*) AS n_rows,
       pg_catalog.count(*) FILTER (WHERE r.value IS NULL) AS n_text_only,
       pg_catalog.count(DISTINCT r.admission_id) AS n_admissions,
       pg_catalog.min(r.resulted_at) AS first_resulted_at,
       pg_catalog.max(r.resulted_at) AS last_resulted_at
  FROM @extschema@.lab_result r
  LEFT JOIN @extschema@.lab_map m
    ON m.local_code = r.local_code
   AND m.unit_key = @extschema@.unit_key(r.unit)
 WHERE m.local_code IS NULL OR r.value IS NULL
 GROUP BY r.local_code, @extschema@.unit_key(r.unit), m.local_code, m.feature;
COMMENT ON VIEW @extschema@.lab_unmapped IS
    'Lab rows that reach no canonical feature, with row counts: codes/units without a lab_map row (add one to use them), and mapped codes whose results are text only (value NULL; the loader could not derive a number). Nothing is dropped silently: lab_canonical rows + these rows = lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.local_code IS 'Local lab code as sent.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_key IS 'Normalised unit (unit_key()); lab_map matches on it.';
COMMENT ON COLUMN @extschema@.lab_unmapped.unit_example IS 'One spelling of the unit as sent ('''' when none).';
COMMENT ON COLUMN @extschema@.lab_unmapped.reason IS '''no lab_map row'' or ''text only (no numeric value)''.';
COMMENT ON COLUMN @extschema@.lab_unmapped.mapped_feature IS 'The feature the code maps to, for text-only rows; NULL when unmapped.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_rows IS 'Number of lab_result rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_text_only IS 'Of these, rows with only a text result.';
COMMENT ON COLUMN @extschema@.lab_unmapped.n_admissions IS 'Number of admissions with such rows.';
COMMENT ON COLUMN @extschema@.lab_unmapped.first_resulted_at IS 'Earliest result time.';
COMMENT ON COLUMN @extschema@.lab_unmapped.last_resulted_at IS 'Latest result time.';

-- ---------------------------------------------------------------------------
-- pg_dump keeps the rows users load.  The feature catalogue's built-in rows
-- come back with CREATE EXTENSION, so only rows users added are dumped.
-- ---------------------------------------------------------------------------
SELECT pg_catalog.pg_extension_config_dump('@extschema@.feature', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lab_map', '');
