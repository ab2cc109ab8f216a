-- Applied constitutions, one row per version. Version 1 is the operator's pinned root of
-- trust; each later version was verified against the one before it when applied.
CREATE TABLE constitutions (
    version    INTEGER PRIMARY KEY,
    envelope   TEXT    NOT NULL,   -- the signed envelope exactly as applied (JSON)
    applied_at INTEGER NOT NULL
);
