-- refresh(): the one way to bring patient_status and capacity_forecast up
-- to date, for the owner, for a granted role (icu_refresher) and for pg_cron.
--
-- On PostgreSQL 15 only a materialized view's owner may refresh it, so the
-- procedure is SECURITY DEFINER (it runs as the extension's owner) with a
-- pinned search_path; every name in it is schema-qualified.  It refreshes in
-- dependency order (capacity_forecast reads patient_status), each view
-- plainly when it is not populated (after CREATE EXTENSION or pg_restore) and
-- CONCURRENTLY otherwise, so readers are never blocked once data exists.
-- Each run is logged to refresh_log.  A failing run leaves both views as they
-- were (the refresh runs in a subtransaction), logs the error and raises it as
-- a WARNING, so that the log row survives; check refresh_log (or
-- icu_bi.refresh_status) for succeeded = false.

CREATE PROCEDURE @extschema@.refresh()
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_started   timestamptz := pg_catalog.clock_timestamp();
    v_ref       timestamptz;
    v_mode      text := 'concurrently';
    v_view      text;
    v_ps_rows   bigint;
    v_cf_rows   bigint;
    v_models    text;
    v_state     text;
    v_msg       text;
    -- the caller: the role set with SET ROLE, else the session user
    v_by        text := coalesce(nullif(pg_catalog.current_setting('role'), 'none'),
                                 SESSION_USER::text);
BEGIN
    BEGIN
        v_ref := @extschema@.reference_time();
        FOREACH v_view IN ARRAY ARRAY['patient_status', 'capacity_forecast'] LOOP
            IF (SELECT c.relispopulated FROM pg_catalog.pg_class c
                 WHERE c.oid = pg_catalog.format('%I.%I', '@extschema@', v_view)::regclass) THEN
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %I.%I',
                                          '@extschema@', v_view);
            ELSE
                v_mode := 'plain';
                EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %I.%I', '@extschema@', v_view);
            END IF;
        END LOOP;
        SELECT pg_catalog.count(*) INTO v_ps_rows FROM @extschema@.patient_status;
        SELECT pg_catalog.count(*) INTO v_cf_rows FROM @extschema@.capacity_forecast;
        SELECT pg_catalog.string_agg(DISTINCT v, '; ' ORDER BY v) INTO v_models
          FROM @extschema@.patient_status ps,
               LATERAL (VALUES (ps.risk_model_version), (ps.forecast_risk_model_version),
                               (ps.stay_model_version)) AS x(v)
         WHERE v IS NOT NULL;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
        INSERT INTO @extschema@.refresh_log
               (started_at, finished_at, succeeded, reference_time, mode, error, run_by)
        VALUES (v_started, pg_catalog.clock_timestamp(), false, v_ref, v_mode,
                v_state || ': ' || v_msg, v_by);
        RAISE WARNING 'icu_predict.refresh() failed, the views keep their previous contents: %', v_msg
            USING ERRCODE = v_state,
                  HINT = 'The failure is logged in icu_predict.refresh_log.';
        RETURN;
    END;
    INSERT INTO @extschema@.refresh_log
           (started_at, finished_at, succeeded, reference_time, mode,
            patient_status_rows, capacity_forecast_rows, model_versions, run_by)
    VALUES (v_started, pg_catalog.clock_timestamp(), true, v_ref, v_mode,
            v_ps_rows, v_cf_rows, v_models, v_by);
END
$$;
COMMENT ON PROCEDURE @extschema@.refresh() IS
    'Refreshes patient_status then capacity_forecast as of icu_predict.reference_time() (default now): plainly when a view is empty (first run, after pg_restore), CONCURRENTLY otherwise. Logs every run to refresh_log; on failure the views keep their contents and a WARNING is raised. Runs as the extension owner; EXECUTE is granted to icu_refresher.';

REVOKE ALL ON PROCEDURE @extschema@.refresh() FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.refresh() TO icu_refresher;
GRANT USAGE ON SCHEMA @extschema@ TO icu_refresher;
