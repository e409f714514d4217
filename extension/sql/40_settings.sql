-- Settings, policy, access mapping and the refresh log of the daily views
-- (patient_status, capacity_forecast) and of the Power BI schema icu_bi.
--
--   reference_time()       the "now" of both views: icu_predict.reference_time,
--                          or the current time when that setting is empty.
--   capacity_policy        the thresholds of the capacity forecast (one row,
--                          optional; capacity_settings() fills in defaults).
--   ward_access            database role -> wards it may see in icu_bi.
--   refresh_log            one row per run of icu_predict.refresh().
--   roles icu_bi_reader (Power BI, read-only) and icu_refresher (may run
--   refresh()).  Roles are cluster-wide: they are created when missing and
--   are left in place by DROP EXTENSION.

-- ---------------------------------------------------------------------------
-- reference_time()
-- ---------------------------------------------------------------------------
CREATE FUNCTION @extschema@.reference_time()
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN coalesce(pg_catalog.current_setting('icu_predict.reference_time', true), '') = ''
        THEN pg_catalog.now()
    ELSE pg_catalog.current_setting('icu_predict.reference_time', true)::timestamptz
END;
COMMENT ON FUNCTION @extschema@.reference_time() IS
    'The reference time ("now") of patient_status and capacity_forecast: the setting icu_predict.reference_time as a timestamptz, or now() when the setting is empty (the default). SET icu_predict.reference_time = ''2020-04-01 08:00+02'' before CALL icu_predict.refresh() replays that moment.';

-- ---------------------------------------------------------------------------
-- capacity_policy: the configurable thresholds of the forecast
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.capacity_policy (
    id                      boolean NOT NULL DEFAULT true,
    scale_up_probability    float8  NOT NULL DEFAULT 0.10,
    scale_down_spare_beds   integer NOT NULL DEFAULT 2,
    status_risk_horizon_hours   integer NOT NULL DEFAULT 48,
    forecast_risk_horizon_hours integer NOT NULL DEFAULT 168,
    arrival_window_days     integer NOT NULL DEFAULT 7,
    course_stable_band      float8  NOT NULL DEFAULT 0.05,
    risk_band_medium        float8  NOT NULL DEFAULT 0.10,
    risk_band_high          float8  NOT NULL DEFAULT 0.30,
    arrival_trend_days      integer NOT NULL DEFAULT 0,
    arrival_trend_cap       float8  NOT NULL DEFAULT 2,
    CONSTRAINT capacity_policy_pkey PRIMARY KEY (id),
    CONSTRAINT capacity_policy_one_row CHECK (id),
    CONSTRAINT capacity_policy_scale_up_probability_range
        CHECK (scale_up_probability > 0 AND scale_up_probability <= 1),
    CONSTRAINT capacity_policy_scale_down_spare_beds_nonnegative
        CHECK (scale_down_spare_beds >= 0),
    CONSTRAINT capacity_policy_status_risk_horizon_hours_range
        CHECK (status_risk_horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT capacity_policy_forecast_risk_horizon_hours_range
        CHECK (forecast_risk_horizon_hours BETWEEN 1 AND 8760),
    CONSTRAINT capacity_policy_arrival_window_days_range
        CHECK (arrival_window_days BETWEEN 1 AND 365),
    CONSTRAINT capacity_policy_course_stable_band_range
        CHECK (course_stable_band >= 0 AND course_stable_band < 1),
    CONSTRAINT capacity_policy_risk_bands_ordered
        CHECK (0 < risk_band_medium AND risk_band_medium <= risk_band_high AND risk_band_high <= 1),
    CONSTRAINT capacity_policy_arrival_trend_days_range
        CHECK (arrival_trend_days >= 0 AND arrival_trend_days <= arrival_window_days),
    CONSTRAINT capacity_policy_arrival_trend_cap_range
        CHECK (arrival_trend_cap >= 1 AND arrival_trend_cap <= 100)
);
COMMENT ON TABLE @extschema@.capacity_policy IS
    'Optional single row of thresholds for patient_status and capacity_forecast. Without a row the defaults hold (see capacity_settings()). Change with INSERT ... ON CONFLICT (id) DO UPDATE; takes effect at the next refresh.';
COMMENT ON COLUMN @extschema@.capacity_policy.id IS 'Always true: the table holds at most one row.';
COMMENT ON COLUMN @extschema@.capacity_policy.scale_up_probability IS 'Recommend "scale up" when P(demand > staffed beds) is at least this (default 0.10).';
COMMENT ON COLUMN @extschema@.capacity_policy.scale_down_spare_beds IS 'Recommend "scale down" when the P95 of demand leaves at least this many staffed beds free (default 2), and "scale up" does not apply.';
COMMENT ON COLUMN @extschema@.capacity_policy.status_risk_horizon_hours IS 'Horizon of the risk shown in patient_status.risk (bands, course, reasons): the active icu_admission model of this horizon, else the one nearest to it (default 48). When its horizon differs from the forecast risk''s, the capacity forecast uses it as a second point of the ward patients'' ICU-admission curve.';
COMMENT ON COLUMN @extschema@.capacity_policy.forecast_risk_horizon_hours IS 'Horizon of the risk the capacity forecast uses (patient_status.forecast_risk): the active icu_admission model of this horizon, else the one nearest to it (default 168 = 7 days). The forecast reads that model''s probability over the model''s own horizon_hours.';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_window_days IS 'Days back over which the ICU inflow of patients not yet in hospital is estimated: ICU episodes begun in this window, by their time since hospital admission (default 7).';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_days IS 'Trend of the inflow of patients not yet in hospital: hospital admissions per day in the last this many days divided by those in the whole arrival window scale the inflow (capped by arrival_trend_cap); 0 = no trend (default 0).';
COMMENT ON COLUMN @extschema@.capacity_policy.arrival_trend_cap IS 'The trend factor is kept between 1 / this and this (default 2).';
COMMENT ON COLUMN @extschema@.capacity_policy.course_stable_band IS 'Risk change against the day before within +/- this is "stable"; above is "worsening", below "improving" (default 0.05).';
COMMENT ON COLUMN @extschema@.capacity_policy.risk_band_medium IS 'Risk from this value on is band "medium" (default 0.10).';
COMMENT ON COLUMN @extschema@.capacity_policy.risk_band_high IS 'Risk from this value on is band "high" (default 0.30).';

CREATE FUNCTION @extschema@.capacity_settings()
RETURNS @extschema@.capacity_policy
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce(
        (SELECT p FROM @extschema@.capacity_policy p WHERE p.id),
        ROW(true, 0.10::float8, 2, 48, 168, 7, 0.05::float8,
            0.10::float8, 0.30::float8, 0, 2::float8)::@extschema@.capacity_policy);
END;
COMMENT ON FUNCTION @extschema@.capacity_settings() IS
    'The thresholds in force: the row of capacity_policy, or the defaults when the table is empty.';

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
-- refresh_log
-- ---------------------------------------------------------------------------
CREATE TABLE @extschema@.refresh_log (
    run_id             bigint      GENERATED BY DEFAULT AS IDENTITY,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz NOT NULL,
    succeeded          boolean     NOT NULL,
    reference_time     timestamptz,
    mode               text        NOT NULL,
    patient_status_rows    bigint,
    capacity_forecast_rows bigint,
    model_versions     text,
    error              text,
    run_by             text        NOT NULL,
    CONSTRAINT refresh_log_pkey PRIMARY KEY (run_id),
    CONSTRAINT refresh_log_mode_known_value CHECK (mode IN ('plain', 'concurrently')),
    CONSTRAINT refresh_log_error_iff_failed CHECK (succeeded = (error IS NULL))
);
CREATE INDEX refresh_log_started_idx ON @extschema@.refresh_log (started_at);
COMMENT ON TABLE @extschema@.refresh_log IS
    'One row per run of icu_predict.refresh(): when, as of which reference time, how (plain or concurrently), rows produced, the model versions used, and the error if it failed.';
COMMENT ON COLUMN @extschema@.refresh_log.run_id IS 'Run number.';
COMMENT ON COLUMN @extschema@.refresh_log.started_at IS 'Wall-clock start of the run.';
COMMENT ON COLUMN @extschema@.refresh_log.finished_at IS 'Wall-clock end of the run.';
COMMENT ON COLUMN @extschema@.refresh_log.succeeded IS 'True when every view was refreshed; false when the run failed and the views kept their previous contents.';
COMMENT ON COLUMN @extschema@.refresh_log.reference_time IS 'The reference time ("now") the views were computed for.';
COMMENT ON COLUMN @extschema@.refresh_log.mode IS '''plain'' when a view was empty (first run, or after pg_restore) and populated plainly, ''concurrently'' when readers were not blocked.';
COMMENT ON COLUMN @extschema@.refresh_log.patient_status_rows IS 'Rows in patient_status after the run.';
COMMENT ON COLUMN @extschema@.refresh_log.capacity_forecast_rows IS 'Rows in capacity_forecast after the run.';
COMMENT ON COLUMN @extschema@.refresh_log.model_versions IS 'The model versions that produced the rows (name version, separated by ''; '').';
COMMENT ON COLUMN @extschema@.refresh_log.error IS 'SQLSTATE and message of the failure; NULL on success.';
COMMENT ON COLUMN @extschema@.refresh_log.run_by IS 'Who ran the refresh: the role set with SET ROLE, else the session user (e.g. the pg_cron job''s user).';

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

SELECT pg_catalog.pg_extension_config_dump('@extschema@.capacity_policy', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ward_access', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_log_run_id_seq', '');
