-- Tenant isolation enforced by the database as well as by every query of the store.
--
-- cortex_app: the role the store acts as in every transaction (SET ROLE, see
-- connection.py). It owns nothing, has no BYPASSRLS, and sees a tenant's rows only
-- when the transaction set cortex.tenant to that tenant (set_config(..., true)).
-- Without the setting it sees no tenant row at all.
--
-- cortex_cross_tenant: owns the few SECURITY DEFINER functions below, the only
-- cross-tenant reads the protocol needs (login by key id, listing tenants, usage
-- metrics, the expiry sweep). Explicit SELECT-only policies let this role, and only it,
-- read across tenants; cortex_app may call the functions but cannot become the role.
-- Tables keep FORCE ROW LEVEL SECURITY, so even the owner is bound by the policies
-- (unless it is a superuser).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cortex_app') THEN
        CREATE ROLE cortex_app NOLOGIN NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cortex_cross_tenant') THEN
        CREATE ROLE cortex_cross_tenant NOLOGIN NOBYPASSRLS;
    END IF;
    -- The owner may SET ROLE to both (to act as the app; to hand functions over) but
    -- inherits neither: a policy for cortex_cross_tenant must not apply to the owner.
    IF NOT pg_has_role(current_user, 'cortex_app', 'MEMBER') THEN
        EXECUTE format('GRANT cortex_app TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
    IF NOT pg_has_role(current_user, 'cortex_cross_tenant', 'MEMBER') THEN
        EXECUTE format('GRANT cortex_cross_tenant TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE
    ON memories, memory_tags, vectors, tenant_settings, api_keys, session_messages, tenant_policies
    TO cortex_app;
GRANT SELECT ON tenant_usage, schema_migrations TO cortex_app;   -- usage is kept by a trigger
GRANT SELECT, INSERT ON audit_log, audit_checkpoints, constitutions TO cortex_app;  -- append-only
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO cortex_app;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['memories', 'memory_tags', 'vectors', 'tenant_settings', 'api_keys',
                             'tenant_usage', 'session_messages', 'audit_log', 'audit_checkpoints',
                             'tenant_policies'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                       ' USING (tenant = current_setting(''cortex.tenant'', true))'
                       ' WITH CHECK (tenant = current_setting(''cortex.tenant'', true))', t);
    END LOOP;
END $$;

GRANT SELECT ON memories, api_keys, tenant_usage, audit_log TO cortex_cross_tenant;
CREATE POLICY cross_tenant_read ON memories FOR SELECT TO cortex_cross_tenant USING (true);
CREATE POLICY cross_tenant_read ON api_keys FOR SELECT TO cortex_cross_tenant USING (true);
CREATE POLICY cross_tenant_read ON tenant_usage FOR SELECT TO cortex_cross_tenant USING (true);
CREATE POLICY cross_tenant_read ON audit_log FOR SELECT TO cortex_cross_tenant USING (true);

-- Login: a key by its public id, whatever its tenant (the secret hash is then checked).
CREATE FUNCTION cortex_key_with_secret(key_id text) RETURNS SETOF api_keys
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT * FROM api_keys WHERE id = key_id $$;

CREATE FUNCTION cortex_count_keys() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT count(*) FROM api_keys $$;

-- Distinct tenants by walking the index (one probe per tenant, not a scan of every row).
CREATE FUNCTION cortex_tenants() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH RECURSIVE t (tenant) AS (
        SELECT min(tenant) FROM memories
        UNION ALL
        SELECT (SELECT min(m.tenant) FROM memories m WHERE m.tenant > t.tenant)
        FROM t WHERE t.tenant IS NOT NULL)
    SELECT tenant FROM t WHERE tenant IS NOT NULL
$$;

CREATE FUNCTION cortex_audit_tenants() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH RECURSIVE t (tenant) AS (
        SELECT min(tenant) FROM audit_log
        UNION ALL
        SELECT (SELECT min(a.tenant) FROM audit_log a WHERE a.tenant > t.tenant)
        FROM t WHERE t.tenant IS NOT NULL)
    SELECT tenant FROM t WHERE tenant IS NOT NULL
$$;

CREATE FUNCTION cortex_usage_by_tenant() RETURNS SETOF tenant_usage
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT * FROM tenant_usage ORDER BY tenant $$;

-- The expiry sweep learns which tenants have memories due; it then deletes them in one
-- ordinary tenant-scoped transaction per tenant (with their audit leaves).
CREATE FUNCTION cortex_due_tenants(at bigint) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT DISTINCT tenant FROM memories WHERE expires_at <= at ORDER BY tenant $$;

GRANT CREATE ON SCHEMA public TO cortex_cross_tenant;  -- needed to take ownership, then revoked
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['cortex_key_with_secret(text)', 'cortex_count_keys()', 'cortex_tenants()',
                             'cortex_audit_tenants()', 'cortex_usage_by_tenant()',
                             'cortex_due_tenants(bigint)'] LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO cortex_cross_tenant', f);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO cortex_app', f);
    END LOOP;
END $$;
REVOKE CREATE ON SCHEMA public FROM cortex_cross_tenant;
REVOKE ALL ON FUNCTION cortex_track_usage() FROM PUBLIC;
