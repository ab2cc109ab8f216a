-- Memories, their vectors and their full-text vectors; every key starts with the tenant.
-- Times are integer microseconds since the Unix epoch (UTC), as in the SQLite file, so
-- one set of conversions (rows.py) serves both dialects.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS btree_gin;  -- (tenant, search) in one GIN index

CREATE TABLE memories (
    seq           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            text    NOT NULL UNIQUE,            -- ULID
    tenant        text    NOT NULL,
    namespace     text    NOT NULL,
    kind          text    NOT NULL,
    text          text    NOT NULL,
    metadata      jsonb   NOT NULL DEFAULT '{}',
    tags          jsonb   NOT NULL DEFAULT '[]',
    source        jsonb   NOT NULL DEFAULT '{}',
    importance    double precision NOT NULL,
    created_at    bigint  NOT NULL,
    occurred_at   bigint,
    valid_from    bigint  NOT NULL,
    valid_to      bigint,
    expires_at    bigint,
    content_hash  text    NOT NULL,
    session       text,                               -- source.session, for turn context
    supersedes    text,
    superseded_by text,
    bytes         bigint  NOT NULL,
    -- What text search ranks: weight A the memory's index text (text, speaker, date),
    -- weight B the two turns before it in its session. Written by the store from the
    -- values it is given (never GENERATED from `text`): the text may be stored sealed.
    search        tsvector NOT NULL
);
CREATE INDEX memories_by_tenant ON memories (tenant, id);
CREATE INDEX memories_by_namespace ON memories (tenant, namespace, id);
CREATE INDEX memories_by_hash ON memories (tenant, namespace, content_hash);
CREATE INDEX memories_by_session ON memories (tenant, namespace, session, seq)
    WHERE session IS NOT NULL;
CREATE INDEX memories_by_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;
-- Text search walks only this tenant's postings: GIN intersects the tenant's entry with
-- the words' entries.
CREATE INDEX memories_search ON memories USING gin (tenant, search);

CREATE TABLE memory_tags (
    tenant text   NOT NULL,
    tag    text   NOT NULL,
    seq    bigint NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, tag, seq)
);
CREATE INDEX memory_tags_by_seq ON memory_tags (seq);

-- One vector per memory. The column has no fixed dimension so embedders of any size fit;
-- the store keeps one HNSW index per dimension on (embedding::vector(dim)), created on
-- first use (derived data, like the SQLite backend's graph files).
CREATE TABLE vectors (
    seq       bigint  PRIMARY KEY REFERENCES memories (seq) ON DELETE CASCADE,
    tenant    text    NOT NULL,
    model     text    NOT NULL,
    dim       integer NOT NULL,
    embedding vector  NOT NULL,  -- L2-normalised
    CHECK (vector_dims(embedding) = dim)
);
CREATE INDEX vectors_by_tenant ON vectors (tenant, dim);

CREATE TABLE tenant_settings (
    tenant         text PRIMARY KEY,
    fusion_weights text NOT NULL
);
