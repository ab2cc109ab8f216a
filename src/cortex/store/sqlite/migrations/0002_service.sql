-- The service: API keys, per-tenant usage for quotas and metrics, and working memory
-- shared by every API worker process.

-- A key is shown once as ctx_<id>_<secret>; only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id            TEXT    PRIMARY KEY,             -- public lookup prefix
    tenant        TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'writer', 'reader')),
    namespaces    TEXT,                            -- JSON list, NULL = every namespace
    name          TEXT,
    secret_sha256 TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant, created_at);

-- Current memories and their bytes per tenant, kept by triggers in the writing
-- transaction so a quota check is one row read, not a scan.
CREATE TABLE tenant_usage (
    tenant   TEXT    PRIMARY KEY,
    memories INTEGER NOT NULL,
    bytes    INTEGER NOT NULL
);
INSERT INTO tenant_usage (tenant, memories, bytes)
    SELECT tenant, count(*), coalesce(sum(bytes), 0) FROM memories
    WHERE valid_to IS NULL GROUP BY tenant;

CREATE TRIGGER usage_on_insert AFTER INSERT ON memories WHEN NEW.valid_to IS NULL
BEGIN
    INSERT INTO tenant_usage (tenant, memories, bytes) VALUES (NEW.tenant, 1, NEW.bytes)
    ON CONFLICT (tenant) DO UPDATE SET memories = memories + 1, bytes = bytes + NEW.bytes;
END;

CREATE TRIGGER usage_on_supersede AFTER UPDATE OF valid_to ON memories
    WHEN OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL
BEGIN
    UPDATE tenant_usage SET memories = memories - 1, bytes = bytes - OLD.bytes
    WHERE tenant = OLD.tenant;
END;

CREATE TRIGGER usage_on_delete AFTER DELETE ON memories WHEN OLD.valid_to IS NULL
BEGIN
    UPDATE tenant_usage SET memories = memories - 1, bytes = bytes - OLD.bytes
    WHERE tenant = OLD.tenant;
END;

CREATE TABLE session_messages (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant  TEXT    NOT NULL,
    session TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    speaker TEXT,
    at      INTEGER NOT NULL,
    tokens  INTEGER NOT NULL
);
CREATE INDEX session_messages_by_session ON session_messages (tenant, session, seq);
