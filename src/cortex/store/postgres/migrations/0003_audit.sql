-- The tamper-evident audit log: one append-only Merkle log per tenant (RFC 9162 leaves).
-- A leaf is written in the same transaction as the change it records; appends to one
-- tenant's log are serialised by a transaction-scoped advisory lock (audit.py).
CREATE TABLE audit_log (
    tenant    text   NOT NULL,
    idx       bigint NOT NULL,   -- leaf index, 0.. per tenant, no gaps
    leaf_hash bytea  NOT NULL,   -- SHA-256(0x00 || event)
    event     text   NOT NULL,   -- canonical JSON: the exact leaf bytes
    memory_id text,
    PRIMARY KEY (tenant, idx)
);
CREATE INDEX audit_log_by_memory ON audit_log (tenant, memory_id) WHERE memory_id IS NOT NULL;

-- Signed tree heads (C2SP tlog-checkpoint notes), newest per tenant by size.
CREATE TABLE audit_checkpoints (
    tenant     text   NOT NULL,
    size       bigint NOT NULL,
    root       bytea  NOT NULL,
    note       text   NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (tenant, size)
);
