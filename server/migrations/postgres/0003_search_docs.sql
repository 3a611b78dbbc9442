-- Documentation, global search and search analytics.

-- Markdown documents: standalone guides (entity_ref NULL) and an entity's docs, written in the UI
-- or read from a location's `backstage.io/techdocs-ref: dir:` folder.
CREATE TABLE docs (
    id         TEXT PRIMARY KEY,   -- guides/<slug>, or <entity ref>/<path without .md>
    entity_ref TEXT REFERENCES catalog_entities(entity_ref) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    title      TEXT NOT NULL,
    markdown   TEXT NOT NULL,
    source     TEXT NOT NULL,      -- ui, seed or location:<target>
    version    BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX docs_by_entity ON docs(entity_ref, path);

-- One row per searchable thing (entity or doc), written in the same transaction as the thing.
-- `name` is lower-case; byte order ("C" here, BINARY on SQLite) makes prefix ranges work.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE search_documents (
    id         BIGSERIAL PRIMARY KEY,
    doc_key    TEXT NOT NULL UNIQUE,   -- entity:<ref> or doc:<id>
    kind       TEXT NOT NULL,          -- the entity's kind, or Doc
    entity_ref TEXT,                   -- the entity, or the entity a doc belongs to
    name       TEXT COLLATE "C" NOT NULL,
    title      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    owner_ref  TEXT,
    body       TEXT NOT NULL,
    url        TEXT NOT NULL,
    haystack   TEXT GENERATED ALWAYS AS (lower(name || ' ' || title || ' ' || body)) STORED
);
CREATE INDEX search_by_name ON search_documents(name);
CREATE INDEX search_by_entity ON search_documents(entity_ref);
-- A trigram index (substring, prefix and typo-tolerant matching), as SQLite's FTS5 trigram table.
CREATE INDEX search_trigrams ON search_documents USING gin (haystack gin_trgm_ops);

-- Every search a person ran, and what they opened: search success rate and time to find.
CREATE TABLE search_queries (
    id           TEXT PRIMARY KEY,
    at           TEXT NOT NULL,
    user_id      TEXT,
    query        TEXT NOT NULL,
    origin       TEXT NOT NULL,    -- page or suggest
    result_count BIGINT NOT NULL,
    took_us      BIGINT NOT NULL,
    opened_key   TEXT,
    opened_rank  BIGINT,
    opened_ms    BIGINT            -- from the search to opening a result
);
CREATE INDEX search_queries_by_at ON search_queries(at);
