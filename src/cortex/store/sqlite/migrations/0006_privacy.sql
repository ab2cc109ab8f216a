-- The privacy shield (issue 5): the person a memory is about, sealed text and metadata,
-- a blind index for metadata filters, the vault of tokenized values, and a contentless
-- full-text index (terms only: the text itself is no longer kept in the clear).
ALTER TABLE memories ADD COLUMN subject TEXT;
CREATE INDEX memories_by_subject ON memories (tenant, subject) WHERE subject IS NOT NULL;
CREATE INDEX memories_by_kind_age ON memories (kind, created_at);

-- One HMAC token per metadata path=value and per present path (cortex.privacy.sealing).
CREATE TABLE memory_meta (
    tenant TEXT    NOT NULL,
    token  BLOB    NOT NULL,
    seq    INTEGER NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, token, seq)
) WITHOUT ROWID;
CREATE INDEX memory_meta_by_seq ON memory_meta (seq);

-- Originals of tokenized spans, sealed under the memory's (subject's) data key.
CREATE TABLE vault (
    tenant      TEXT    NOT NULL,
    memory_id   TEXT    NOT NULL,
    placeholder TEXT    NOT NULL,
    entity      TEXT    NOT NULL,
    subject     TEXT,
    sealed      BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, memory_id, placeholder)
) WITHOUT ROWID;
CREATE INDEX vault_by_subject ON vault (tenant, subject) WHERE subject IS NOT NULL;

-- A contentless FTS5 table keeps terms, not text. Deleting a row needs the values it was
-- indexed with, so they are kept sealed beside it (fts_source). Rows are re-derived by the
-- store after this migration (existing plaintext rows are sealed at the same time).
DROP TABLE memories_fts;
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    body, prev1, prev2, scope,
    content = '',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE fts_source (
    seq    INTEGER PRIMARY KEY REFERENCES memories (seq) ON DELETE CASCADE,
    sealed BLOB    NOT NULL
);
