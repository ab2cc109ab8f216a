-- The privacy shield (issue 5) on PostgreSQL: the person a memory is about, text and
-- metadata sealed (AES-GCM, cortex.privacy.sealing: the same bytes as in the SQLite file),
-- a blind index for metadata filters and the vault of tokenized values.
--
-- `text` and `metadata` become bytea under the same names. Rows written before this
-- migration hold their plaintext (UTF-8) after the type change; the store seals them in
-- the same transaction, right after this file (postgres/privacy.py, seal_legacy_rows),
-- so a committed migration never leaves a plaintext row behind. The search vector
-- (`search`) is unchanged: it keeps terms and positions, as SQLite's contentless FTS5 does.
ALTER TABLE memories ADD COLUMN subject text;
ALTER TABLE memories ALTER COLUMN text TYPE bytea USING convert_to(text, 'UTF8');
ALTER TABLE memories ALTER COLUMN metadata DROP DEFAULT;
ALTER TABLE memories ALTER COLUMN metadata TYPE bytea USING convert_to(metadata::text, 'UTF8');
CREATE INDEX memories_by_subject ON memories (tenant, subject) WHERE subject IS NOT NULL;
CREATE INDEX memories_by_kind_age ON memories (tenant, kind, created_at);  -- retention

-- One HMAC token per metadata path=value and per present path (cortex.privacy.sealing).
CREATE TABLE memory_meta (
    tenant text   NOT NULL,
    token  bytea  NOT NULL,
    seq    bigint NOT NULL REFERENCES memories (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, token, seq)
);
CREATE INDEX memory_meta_by_seq ON memory_meta (seq);

-- Originals of tokenized spans, sealed under the memory's (subject's) data key; they go
-- with their memory version (ON DELETE CASCADE), and with their subject on erasure.
CREATE TABLE vault (
    tenant      text   NOT NULL,
    memory_id   text   NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    placeholder text   NOT NULL,
    entity      text   NOT NULL,
    subject     text,
    sealed      bytea  NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (tenant, memory_id, placeholder)
);
CREATE INDEX vault_by_memory ON vault (memory_id);
CREATE INDEX vault_by_subject ON vault (tenant, subject) WHERE subject IS NOT NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON memory_meta, vault TO cortex_app;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['memory_meta', 'vault'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                       ' USING (tenant = current_setting(''cortex.tenant'', true))'
                       ' WITH CHECK (tenant = current_setting(''cortex.tenant'', true))', t);
    END LOOP;
END $$;
