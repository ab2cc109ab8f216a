-- The service: API keys and per-tenant usage for quotas and metrics.

-- A key is shown once as ctx_<id>_<secret>; only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id            text   PRIMARY KEY,             -- public lookup prefix
    tenant        text   NOT NULL,
    role          text   NOT NULL CHECK (role IN ('admin', 'writer', 'reader')),
    namespaces    jsonb,                          -- list, NULL = every namespace
    name          text,
    secret_sha256 text   NOT NULL,
    created_at    bigint NOT NULL,
    expires_at    bigint,
    revoked_at    bigint
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_at);

-- Current memories and their bytes per tenant, kept by a trigger in the writing
-- transaction so a quota check is one row read, not a scan.
CREATE TABLE tenant_usage (
    tenant   text   PRIMARY KEY,
    memories bigint NOT NULL,
    bytes    bigint NOT NULL
);

-- SECURITY DEFINER: the serving role may read its usage but not write it.
CREATE FUNCTION cortex_track_usage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.valid_to IS NULL THEN
        INSERT INTO tenant_usage AS u (tenant, memories, bytes) VALUES (NEW.tenant, 1, NEW.bytes)
        ON CONFLICT (tenant) DO UPDATE SET memories = u.memories + 1, bytes = u.bytes + NEW.bytes;
    ELSIF TG_OP = 'UPDATE' AND OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL THEN
        UPDATE tenant_usage SET memories = memories - 1, bytes = bytes - OLD.bytes
        WHERE tenant = OLD.tenant;
    ELSIF TG_OP = 'DELETE' AND OLD.valid_to IS NULL THEN
        UPDATE tenant_usage SET memories = memories - 1, bytes = bytes - OLD.bytes
        WHERE tenant = OLD.tenant;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER memories_usage AFTER INSERT OR UPDATE OF valid_to OR DELETE ON memories
    FOR EACH ROW EXECUTE FUNCTION cortex_track_usage();

-- Working memory shared by every API node (the same shape as the SQLite table).
CREATE TABLE session_messages (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant  text   NOT NULL,
    session text   NOT NULL,
    id      text   NOT NULL,
    role    text   NOT NULL,
    text    text   NOT NULL,
    speaker text,
    at      bigint NOT NULL,
    tokens  integer NOT NULL
);
CREATE INDEX session_messages_by_session ON session_messages (tenant, session, seq);
