-- The tamper-evident audit log: one append-only Merkle log per tenant (RFC 9162 leaves).
-- A leaf is written in the same transaction as the change it records.
CREATE TABLE audit_log (
    tenant    TEXT    NOT NULL,
    idx       INTEGER NOT NULL,   -- leaf index, 0.. per tenant, no gaps
    leaf_hash BLOB    NOT NULL,   -- SHA-256(0x00 || event)
    event     TEXT    NOT NULL,   -- canonical JSON: the exact leaf bytes
    memory_id TEXT,
    PRIMARY KEY (tenant, idx)
) WITHOUT ROWID;
CREATE INDEX audit_log_by_memory ON audit_log (tenant, memory_id) WHERE memory_id IS NOT NULL;

-- Signed tree heads (C2SP tlog-checkpoint notes), newest per tenant by size.
CREATE TABLE audit_checkpoints (
    tenant     TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    root       BLOB    NOT NULL,
    note       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, size)
) WITHOUT ROWID;
