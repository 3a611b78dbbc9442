-- The service catalog: entities in Backstage's descriptor format, their tags and relations.
-- References are stored lower-case (`kind:namespace/name`), as Backstage compares them.

CREATE TABLE catalog_entities (
    entity_ref  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,      -- as written (Component, API…)
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,      -- as written
    title       TEXT,
    description TEXT,
    spec_type   TEXT,
    lifecycle   TEXT,
    owner_ref   TEXT,
    system_ref  TEXT,
    body        TEXT NOT NULL,      -- the descriptor as JSON
    etag        TEXT NOT NULL,      -- SHA-256 of body
    version     BIGINT NOT NULL,    -- optimistic concurrency
    source      TEXT NOT NULL,      -- api, ui, seed or a location
    orphan      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX catalog_by_kind ON catalog_entities(kind, name);
CREATE INDEX catalog_by_owner ON catalog_entities(owner_ref);
CREATE INDEX catalog_by_system ON catalog_entities(system_ref);
CREATE INDEX catalog_by_lifecycle ON catalog_entities(lifecycle);
CREATE INDEX catalog_by_type ON catalog_entities(spec_type);

CREATE TABLE catalog_tags (
    entity_ref TEXT NOT NULL REFERENCES catalog_entities(entity_ref) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (entity_ref, tag)
);
CREATE INDEX catalog_tags_by_tag ON catalog_tags(tag);

-- Both directions of every relation, each row remembering which entity's descriptor declared it
-- (origin_ref), so that re-applying or deleting an entity replaces exactly its own relations.
CREATE TABLE catalog_relations (
    origin_ref TEXT NOT NULL REFERENCES catalog_entities(entity_ref) ON DELETE CASCADE,
    source_ref TEXT NOT NULL,
    relation   TEXT NOT NULL,
    target_ref TEXT NOT NULL,
    PRIMARY KEY (origin_ref, source_ref, relation, target_ref)
);
CREATE INDEX catalog_relations_by_source ON catalog_relations(source_ref);
