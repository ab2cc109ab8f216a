-- Applied constitutions, one row per version: the whole deployment's (no tenant column).
-- Version 1 is the operator's pinned root of trust; each later version was verified
-- against the one before it when applied.
CREATE TABLE constitutions (
    version    integer PRIMARY KEY,
    envelope   text    NOT NULL,   -- the signed envelope exactly as applied (JSON)
    applied_at bigint  NOT NULL
);

-- A tenant's own Cedar policies (forbid-only: the signed constitution stays the ceiling).
CREATE TABLE tenant_policies (
    tenant     text   PRIMARY KEY,
    policies   text   NOT NULL,
    updated_at bigint NOT NULL
);
