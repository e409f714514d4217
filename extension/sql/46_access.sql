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
COMMENT ON COLUMN @extschema@.ward_access.role_name IS 'Database role name (a login role or a group role such as a ward team).';
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
