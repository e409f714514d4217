-- Access: who may see and do what.
--
--   ward_access            database role -> wards it may see in icu_bi.
--   roles icu_bi_reader (Power BI, read-only) and icu_refresher (may run
--   refresh()).  Roles are cluster-wide: they are created when missing and
--   are left in place by DROP EXTENSION.
--
-- The grants follow the objects they open: refresh() in 48_refresh.sql, the
-- icu_bi views in 50_bi.sql.

-- ---------------------------------------------------------------------------
-- ward_access: which wards a database role sees in icu_bi
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.ward_access (
    role_name text NOT NULL,
    ward      text NOT NULL,
    CONSTRAINT ward_access_pkey PRIMARY KEY (role_name, ward),
    CONSTRAINT ward_access_role_name_not_empty CHECK (role_name <> ''),
    CONSTRAINT ward_access_ward_not_empty CHECK (ward <> '')
);
COMMENT ON TABLE @extschema@.ward_access IS
    'Ward-level filter of the icu_bi patient views: a user sees the patients on the wards mapped to any role it is a member of (directly or through other roles). Ward ''*'' means every ward. Users mapped to nothing see no patients; aggregate capacity views are not filtered.';
COMMENT ON COLUMN @extschema@.ward_access.role_name IS 'Database role name (a login role or a group role such as a ward team). A name that is no database role (e.g. a Power BI user principal name) filters nothing in the database; icu_bi.ward_access passes it on for Power BI''s own row-level security.';
COMMENT ON COLUMN @extschema@.ward_access.ward IS 'Ward or unit name as in location_stay.unit, or ''*'' for all wards.';

-- ---------------------------------------------------------------------------
-- roles
-- ---------------------------------------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'icu_bi_reader') THEN
        CREATE ROLE icu_bi_reader NOLOGIN;
        COMMENT ON ROLE icu_bi_reader IS
            'icu_predict: read-only access to the Power BI schema icu_bi, nothing else. Grant it to login roles and map them to wards in icu_predict.ward_access.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'icu_refresher') THEN
        CREATE ROLE icu_refresher NOLOGIN;
        COMMENT ON ROLE icu_refresher IS
            'icu_predict: may run CALL icu_predict.refresh() (e.g. from a pg_cron job); no access to patient tables.';
    END IF;
END
$$;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.ward_access', '');

-- ---------------------------------------------------------------------------
-- The ward filter: SECURITY DEFINER set-returning functions
-- ---------------------------------------------------------------------------
-- The icu_bi patient views read through these functions, never the
-- materialized view itself.  A security_barrier view (or row-level
-- security) still lets the planner push leakproof comparisons (int8eq,
-- float8gt, texteq ...) below the ward filter, and EXPLAIN ANALYZE then
-- prints how many hidden rows matched: a login mapped to one ward could
-- bisect another ward's risks.  A SECURITY DEFINER function is never
-- inlined, so every qual of the caller is evaluated on the function's
-- output, after the filter; EXPLAIN shows a Function Scan with a constant
-- row estimate (ROWS) and the rows the caller may see.  Inside, CURRENT_USER
-- is the owner, so the filter reads SESSION_USER (the login, which SET ROLE
-- does not change) and its role memberships.
CREATE FUNCTION @extschema@.ward_patient_rows()
RETURNS SETOF @extschema@.patient_status
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 1000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ps.*
      FROM @extschema@.patient_status ps
     WHERE EXISTS (
            SELECT 1
              FROM @extschema@.ward_access a
              JOIN pg_catalog.pg_roles r ON r.rolname = a.role_name
             WHERE (a.ward = ps.ward OR a.ward = '*')
               AND pg_catalog.pg_has_role(SESSION_USER, r.oid, 'MEMBER'));
END;
COMMENT ON FUNCTION @extschema@.ward_patient_rows() IS
    'The patient_status rows the session''s login may see: wards mapped in ward_access to the login or to a role it is a member of (''*'' = every ward). SECURITY DEFINER and never inlined, so no qual of the caller reaches the hidden rows; filters on SESSION_USER. EXECUTE for icu_bi_reader (the icu_bi views call it).';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_rows() FROM PUBLIC;

CREATE FUNCTION @extschema@.ward_patient_labs()
RETURNS TABLE (admission_id bigint, patient_id text, day_date date, is_today boolean,
               as_of timestamptz, ward text, feature text, display_name text, unit text,
               last_value float8, trend_per_day float8, last_at timestamptz, n_results integer,
               reference_low float8, reference_high float8, out_of_range boolean,
               key_lab_slot integer)
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 10000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ps.admission_id, ps.patient_id, ps.day_date, ps.is_today, ps.as_of, ps.ward,
           v.feature, fl.display_name, fl.display_unit, v.last_value, v.trend_per_day,
           v.last_at, v.n_results, r.reference_low, r.reference_high,
           CASE WHEN v.last_value IS NULL OR (r.reference_low IS NULL AND r.reference_high IS NULL)
                THEN NULL
                ELSE v.last_value < coalesce(r.reference_low, '-Infinity'::float8)
                     OR v.last_value > coalesce(r.reference_high, 'Infinity'::float8) END,
           r.key_lab_slot
      FROM @extschema@.ward_patient_rows() ps
     CROSS JOIN LATERAL pg_catalog.unnest(@extschema@.lab_features(ps.panel)) AS f(feature)
     CROSS JOIN LATERAL (
            SELECT f.feature,
                   @extschema@.lab_value(ps.panel, f.feature, 'last') AS last_value,
                   @extschema@.lab_value(ps.panel, f.feature, 'trend') AS trend_per_day,
                   @extschema@.lab_last_at(ps.panel, f.feature) AS last_at,
                   @extschema@.lab_value(ps.panel, f.feature, 'count')::integer AS n_results) v
      LEFT JOIN @extschema@.feature_label fl ON fl.feature = v.feature
      LEFT JOIN @extschema@.ward_lab_list() r ON r.feature = v.feature;
END;
COMMENT ON FUNCTION @extschema@.ward_patient_labs() IS
    'Every feature of every lab panel of ward_patient_rows() (the rows the login may see): one row per admission, day and feature with display name and unit (feature_label), last value, trend, time of last, count, the reference range of ward_lab_list() and whether the last value lies outside it. Backs icu_bi.patient_labs.';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_labs() FROM PUBLIC;

CREATE FUNCTION @extschema@.ward_patient_reasons()
RETURNS TABLE (admission_id bigint, patient_id text, day_date date, is_today boolean,
               ward text, rank integer, input text, input_kind text, feature text, stat text,
               display_name text, value float8, unit text, trend_per_day float8,
               contribution float8, direction text, reason text, shown_in_reasons boolean,
               risk_model_version text, risk_model_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 10000
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT ps.admission_id, ps.patient_id, ps.day_date, ps.is_today, ps.ward,
           x.rank, x.input, x.input_kind, x.feature, x.stat, x.display_name, x.value, x.unit,
           x.trend_per_day, x.contribution, x.direction, x.reason, x.shown_in_reasons,
           ps.risk_model_version, ps.risk_model_id
      FROM @extschema@.ward_patient_rows() ps
     CROSS JOIN LATERAL @extschema@.risk_reasons(ps.panel,
                            @extschema@.admission_covariates(ps.admission_id, ps.as_of),
                            ps.hours_since_admission, ps.unit_kind, ps.risk_model, ps.risk_version, 10) x
     WHERE ps.patient_state IN ('pre_icu', 'ed');
END;
COMMENT ON FUNCTION @extschema@.ward_patient_reasons() IS
    'The top ten inputs behind the risk of every scored row (pre_icu, ed) of ward_patient_rows(), structured and in words (risk_reasons() with admission_covariates() as of the row, as patient_status scored it). Backs icu_bi.patient_reasons.';
REVOKE ALL ON FUNCTION @extschema@.ward_patient_reasons() FROM PUBLIC;

-- The ward mapping for Power BI's own row-level security (a published
-- dataset reading through one gateway credential): one row per user and
-- ward.  Database roles in ward_access are expanded to the login roles that
-- are members of them; a role_name that is no database role (e.g. a Power
-- BI user principal name, jan.jansen@hospital.example) is passed on as it
-- is.  '*' is expanded to every unit of location_stay.  A login mapped to
-- '*' (the gateway's) sees every row; any other login only its own.
CREATE FUNCTION @extschema@.ward_access_map()
RETURNS TABLE (user_name text, is_database_login boolean, ward text, all_wards boolean,
               granted_through text)
LANGUAGE sql STABLE SECURITY DEFINER PARALLEL RESTRICTED ROWS 100
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH grants AS (
        SELECT l.rolname::text AS user_name, true AS is_database_login, a.ward, a.role_name
          FROM @extschema@.ward_access a
          JOIN pg_catalog.pg_roles g ON g.rolname = a.role_name
          JOIN pg_catalog.pg_roles l ON l.rolcanlogin AND NOT l.rolsuper
                                    AND pg_catalog.pg_has_role(l.oid, g.oid, 'MEMBER')
        UNION
        SELECT a.role_name, false, a.ward, a.role_name
          FROM @extschema@.ward_access a
         WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles g WHERE g.rolname = a.role_name)
    ), units AS (
        SELECT DISTINCT s.unit FROM @extschema@.location_stay s
    ), expanded AS (
        SELECT g.user_name, g.is_database_login, g.ward, false AS all_wards, g.role_name
          FROM grants g WHERE g.ward <> '*'
        UNION
        SELECT g.user_name, g.is_database_login, u.unit, true, g.role_name
          FROM grants g CROSS JOIN units u WHERE g.ward = '*'
    ), me AS (
        SELECT EXISTS (SELECT 1 FROM grants g
                        WHERE g.is_database_login AND g.ward = '*'
                          AND g.user_name = SESSION_USER::text) AS sees_all
    )
    SELECT e.user_name, e.is_database_login, e.ward, e.all_wards, e.role_name
      FROM expanded e, me
     WHERE me.sees_all OR (e.is_database_login AND e.user_name = SESSION_USER::text)
     ORDER BY e.user_name, e.ward, e.role_name;
END;
COMMENT ON FUNCTION @extschema@.ward_access_map() IS
    'ward_access expanded for Power BI row-level security: one row per user (login role member of a mapped role, or a non-role name such as a user principal name) and ward, ''*'' expanded to every unit of location_stay. A login mapped to ''*'' sees every row, any other login only its own. Backs icu_bi.ward_access.';
REVOKE ALL ON FUNCTION @extschema@.ward_access_map() FROM PUBLIC;
