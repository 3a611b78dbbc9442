-- no-transaction
-- Tags and relations are keyed by their entity's integer id instead of its reference (issue 4's
-- 250k ingest). New entities get ascending ids, so a batch of them appends its tags and
-- relations at the end of those tables and of the tag index, instead of changing pages all over
-- them; the index on relation targets, still keyed by text, holds an id instead of a second
-- reference and is about a third smaller. An import changes, and copies into the write-ahead
-- log, that many fewer pages.
--
-- The entity table is rebuilt to have its id as its rowid (a stable one: VACUUM renumbers
-- implicit rowids). Foreign keys are off while it is (the way SQLite documents): dropping the
-- old table with them on would delete every entity's docs through their ON DELETE CASCADE.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE catalog_entities_new (
    id          INTEGER PRIMARY KEY,
    entity_ref  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    title       TEXT,
    description TEXT,
    spec_type   TEXT,
    lifecycle   TEXT,
    owner_ref   TEXT,
    system_ref  TEXT,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    source      TEXT NOT NULL,
    orphan      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
INSERT INTO catalog_entities_new (id, entity_ref, kind, namespace, name, title, description, spec_type, lifecycle,
                                  owner_ref, system_ref, body, etag, version, source, orphan, created_at, updated_at)
    SELECT rowid, entity_ref, kind, namespace, name, title, description, spec_type, lifecycle,
           owner_ref, system_ref, body, etag, version, source, orphan, created_at, updated_at
    FROM catalog_entities;

CREATE TABLE catalog_tags_new (
    entity_id INTEGER NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (entity_id, tag)
) WITHOUT ROWID;
INSERT INTO catalog_tags_new (entity_id, tag)
    SELECT e.id, t.tag FROM catalog_tags t JOIN catalog_entities_new e ON e.entity_ref = t.entity_ref;

CREATE TABLE catalog_relations_new (
    origin_id  INTEGER NOT NULL,   -- the entity that declared it
    relation   TEXT NOT NULL,      -- as declared (dependsOn, ownedBy, …)
    target_ref TEXT NOT NULL,      -- need not be in the catalog (yet)
    PRIMARY KEY (origin_id, relation, target_ref)
) WITHOUT ROWID;
INSERT INTO catalog_relations_new (origin_id, relation, target_ref)
    SELECT e.id, r.relation, r.target_ref FROM catalog_relations r JOIN catalog_entities_new e ON e.entity_ref = r.origin_ref;

DROP TABLE catalog_relations;
DROP TABLE catalog_tags;
DROP TABLE catalog_entities;
ALTER TABLE catalog_entities_new RENAME TO catalog_entities;
ALTER TABLE catalog_tags_new RENAME TO catalog_tags;
ALTER TABLE catalog_relations_new RENAME TO catalog_relations;

CREATE INDEX catalog_by_owner ON catalog_entities(owner_ref);
CREATE INDEX catalog_by_system ON catalog_entities(system_ref);
CREATE INDEX catalog_order ON catalog_entities(kind, name, namespace, entity_ref);
CREATE INDEX catalog_order_all ON catalog_entities(name, namespace, entity_ref);
CREATE INDEX catalog_by_source ON catalog_entities(source);
CREATE INDEX catalog_filters ON catalog_entities(kind, lifecycle, spec_type, owner_ref, system_ref, namespace);
CREATE INDEX catalog_by_updated ON catalog_entities(updated_at, entity_ref);
CREATE INDEX catalog_tags_by_tag ON catalog_tags(tag);
CREATE INDEX catalog_relations_by_target ON catalog_relations(target_ref);

COMMIT;
PRAGMA foreign_keys = ON;
