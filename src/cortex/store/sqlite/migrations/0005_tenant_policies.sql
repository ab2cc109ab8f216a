-- A tenant's own Cedar policies (forbid-only: the signed constitution stays the ceiling),
-- added to the policies generated from the constitution for that tenant's requests.
CREATE TABLE tenant_policies (
    tenant     TEXT    PRIMARY KEY,
    policies   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
