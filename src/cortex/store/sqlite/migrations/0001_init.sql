-- Memories, their vectors and full-text rows; every key starts with the tenant.
-- Times are integer microseconds since the Unix epoch (UTC).
CREATE TABLE memories (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the vector index keys on it
    id            TEXT    NOT NULL UNIQUE,            -- ULID
    tenant        TEXT    NOT NULL,
    namespace     TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    metadata      TEXT    NOT NULL DEFAULT '{}',
    tags          TEXT    NOT NULL DEFAULT '[]',
    source        TEXT    NOT NULL DEFAULT '{}',
    importance    REAL    NOT NULL,
    created_at    INTEGER NOT NULL,
    occurred_at   INTEGER,
    valid_from    INTEGER NOT NULL,
    valid_to      INTEGER,
    expires_at    INTEGER,
    content_hash  TEXT    NOT NULL,
    session       TEXT,                               -- source.session, for turn context
    supersedes    TEXT,
    superseded_by TEXT,
    bytes         INTEGER NOT NULL
);
CREATE INDEX memories_by_namespace ON memories (tenant, namespace, id);
CREATE INDEX memories_by_namespace_size ON memories (tenant, namespace, valid_to, bytes);
CREATE INDEX memories_by_hash ON memories (tenant, namespace, content_hash);
CREATE INDEX memories_by_session ON memories (tenant, namespace, session, seq)
    WHERE session IS NOT NULL;
CREATE INDEX memories_by_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE memory_tags (
    tenant TEXT    NOT NULL,
    tag    TEXT    NOT NULL,
    seq    INTEGER NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, tag, seq)
) WITHOUT ROWID;
CREATE INDEX memory_tags_by_seq ON memory_tags (seq);

CREATE TABLE vectors (
    seq    INTEGER PRIMARY KEY REFERENCES memories (seq) ON DELETE CASCADE,
    model  TEXT    NOT NULL,
    dim    INTEGER NOT NULL,
    vector BLOB    NOT NULL  -- float32 little-endian, L2-normalised
);

-- body: the text as ranked (text plus speaker and date); prev1, prev2: the two turns
-- before it in the same session (a reply like "Yes, last May!" is found through the
-- question it answers); scope: tenant and namespace tokens so a MATCH only walks this
-- tenant's postings. All derived from memories: `cortex reindex` rebuilds it.
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    body, prev1, prev2, scope,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Every change to a tenant's memories, in order: the vector index catches up from it,
-- also when another process wrote to the same file.
CREATE TABLE changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT    NOT NULL,
    memory INTEGER NOT NULL,
    op     TEXT    NOT NULL CHECK (op IN ('put', 'del'))
);
CREATE INDEX changes_by_tenant ON changes (tenant, seq);

CREATE TABLE tenant_settings (
    tenant         TEXT PRIMARY KEY,
    fusion_weights TEXT NOT NULL
);
