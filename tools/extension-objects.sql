-- The icu_predict extension as the catalogs see it: one sorted line per fact,
-- so that two databases can be compared with diff (a fresh install against an
-- updated one, or before and after a reorganisation of the install parts).
--
--   psql -X -d fresh -f tools/extension-objects.sql > fresh.txt
--   psql -X -d updated -f tools/extension-objects.sql > updated.txt
--   diff fresh.txt updated.txt
--
-- Lists every member of the extension (pg_depend deptype 'e'), and for each:
-- the full definition of functions, procedures and aggregates (volatility,
-- strictness, parallel safety, cost, rows, SET, SECURITY, body, C symbol),
-- relation kind, options and ACL, view and materialized view queries,
-- columns (type, default, identity, generated, collation), indexes,
-- constraints, triggers, types, operators, casts, schemas, every comment
-- (objects and columns), initial privileges (pg_init_privs), the tables
-- registered with pg_extension_config_dump and their conditions, the
-- comments of the roles the extension creates, and the shipped rows of
-- feature and model (builtin; rows users add are data, not the extension).
-- OIDs and creation order are left out on purpose.
\pset format unaligned
\pset tuples_only on
\pset pager off
SET search_path = pg_catalog;
SET TimeZone = 'UTC';
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'icu_predict'),
members AS (
    SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS what
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
facts AS (
    SELECT 'member' AS k, what AS obj, '' AS detail FROM members
    UNION ALL
    -- functions, procedures, aggregates: full definition (volatility, strictness,
    -- parallel safety, SET, SECURITY, body)
    SELECT 'function', m.what,
           CASE WHEN p.prokind = 'a' THEN
                pg_get_function_arguments(p.oid) || ' -> ' || pg_get_function_result(p.oid)
                || ' sfunc=' || a.aggtransfn::text || ' stype=' || a.aggtranstype::regtype::text
                || ' final=' || a.aggfinalfn::text || ' combine=' || a.aggcombinefn::text
                || ' serial=' || a.aggserialfn::text || ' deserial=' || a.aggdeserialfn::text
                || ' sspace=' || a.aggtransspace || ' parallel=' || p.proparallel::text
                || ' minit=' || coalesce(a.agginitval, '')
           ELSE pg_get_functiondef(p.oid) END
      FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
      LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
    UNION ALL
    SELECT 'function-flags', m.what,
           concat_ws(' ', 'vol=' || p.provolatile::text, 'strict=' || p.proisstrict, 'par=' || p.proparallel::text,
                     'secdef=' || p.prosecdef, 'leak=' || p.proleakproof, 'rows=' || p.prorows,
                     'cost=' || p.procost, 'lang=' || l.lanname, 'src=' || p.prosrc, 'bin=' || coalesce(p.probin, ''),
                     'args=' || coalesce(pg_get_function_identity_arguments(p.oid), ''),
                     'defaults=' || coalesce(pg_get_expr(p.proargdefaults, 0), ''))
      FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
      JOIN pg_language l ON l.oid = p.prolang
    UNION ALL
    SELECT 'acl', m.what, coalesce(p.proacl::text, '')
      FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    -- relations: kind, options, ACL; views: definition
    SELECT 'relation', m.what,
           concat_ws(' ', 'kind=' || c.relkind::text, 'persist=' || c.relpersistence::text,
                     'opts=' || coalesce(c.reloptions::text, ''), 'acl=' || coalesce(c.relacl::text, ''),
                     'rls=' || c.relrowsecurity, 'am=' || coalesce(am.amname, ''))
      FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
      LEFT JOIN pg_am am ON am.oid = c.relam
    UNION ALL
    SELECT 'view-def', m.what, pg_get_viewdef(c.oid, true)
      FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
     WHERE c.relkind IN ('v', 'm')
    UNION ALL
    SELECT 'column', m.what || ' . ' || a.attname,
           concat_ws(' ', format_type(a.atttypid, a.atttypmod), 'notnull=' || a.attnotnull,
                     'default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''),
                     'ident=' || a.attidentity::text, 'gen=' || a.attgenerated::text, 'num=' || a.attnum,
                     'coll=' || a.attcollation::regcollation::text)
      FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
      FROM members m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid
    UNION ALL
    SELECT 'constraint', co.conrelid::regclass::text || ' . ' || co.conname, pg_get_constraintdef(co.oid)
      FROM members m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
    UNION ALL
    SELECT 'trigger', t.tgrelid::regclass::text || ' . ' || t.tgname, pg_get_triggerdef(t.oid)
      FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid
     WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 'type', m.what,
           concat_ws(' ', 'typtype=' || t.typtype::text, 'len=' || t.typlen, 'align=' || t.typalign::text,
                     'storage=' || t.typstorage::text, 'in=' || t.typinput, 'out=' || t.typoutput,
                     'recv=' || t.typreceive, 'send=' || t.typsend, 'cat=' || t.typcategory::text,
                     'acl=' || coalesce(t.typacl::text, ''))
      FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT 'operator', m.what,
           concat_ws(' ', o.oprcode::text, 'com=' || o.oprcom::regoperator::text, 'neg=' || o.oprnegate::regoperator::text,
                     'res=' || o.oprresult::regtype::text)
      FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
    UNION ALL
    SELECT 'cast', m.what, concat_ws(' ', c.castfunc::regprocedure::text, c.castcontext::text, c.castmethod::text)
      FROM members m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND c.oid = m.objid
    UNION ALL
    SELECT 'schema', m.what, concat_ws(' ', 'acl=' || coalesce(n.nspacl::text, ''), 'owner=' || n.nspowner::regrole::text)
      FROM members m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
    UNION ALL
    SELECT 'schema', n.nspname, concat_ws(' ', 'acl=' || coalesce(n.nspacl::text, ''))
      FROM pg_namespace n WHERE n.nspname = 'icu_predict'
    UNION ALL
    -- every comment on a member or one of its columns
    SELECT 'comment', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
      FROM pg_description d JOIN members m ON m.classid = d.classoid AND m.objid = d.objoid
    UNION ALL
    SELECT 'comment', 'schema icu_predict', obj_description(n.oid, 'pg_namespace')
      FROM pg_namespace n WHERE n.nspname = 'icu_predict'
    UNION ALL
    SELECT 'role-comment', r.rolname, coalesce(shobj_description(r.oid, 'pg_authid'), '')
      FROM pg_roles r WHERE r.rolname IN ('icu_bi_reader', 'icu_refresher')
    UNION ALL
    SELECT 'init-privs', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
           ip.privtype::text || ' ' || ip.initprivs::text
      FROM pg_init_privs ip JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
    UNION ALL
    SELECT 'config-dump', x.rel::regclass::text, x.cond
      FROM pg_extension e, ext,
           LATERAL unnest(e.extconfig, e.extcondition) AS x(rel, cond)
     WHERE e.oid = ext.oid
    UNION ALL
    SELECT 'extension', e.extname, concat_ws(' ', e.extversion, 'reloc=' || e.extrelocatable,
                                             'schema=' || e.extnamespace::regnamespace::text)
      FROM pg_extension e, ext WHERE e.oid = ext.oid
    UNION ALL
    SELECT 'depends-on-extension', pg_describe_object(d.classid, d.objid, 0), ''
      FROM pg_depend d WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'x'
    UNION ALL
    -- the shipped rows (the user's own rows are data, compared by the upgrade test)
    SELECT 'row-feature', f.name, row(f.*)::text FROM icu_predict.feature f WHERE f.builtin
    UNION ALL
    SELECT 'row-model', m.name || ' ' || m.version,
           concat_ws(' ', m.kind, m.format, m.horizon_hours, m.builtin, m.content_hash, md5(m.training::text), md5(m.metrics::text), md5(m.features::text))
      FROM icu_predict.model m WHERE m.builtin
)
SELECT k || ' | ' || obj || ' | ' || replace(detail, E'\n', E'\n    ') FROM facts ORDER BY k, obj, detail;
