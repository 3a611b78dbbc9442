-- Leaner catalog writes (issue 4's ingest figures):
-- * a relation is stored once, in the direction its entity declared it; the reverse direction
--   (ownerOf for ownedBy, …) is derived when read, through the index on the target;
-- * relations and tags are clustered by their key (WITHOUT ROWID: one b-tree, not two), and
--   carry no foreign key (a lookup per row): deleting an entity deletes them in the same
--   transaction (catalog_delete);
-- * one narrow index holds every filter column, so counts and facet counts read it instead of
--   the wide entity rows; the lifecycle and type indexes it replaces are gone.

CREATE TABLE catalog_relations_new (
    origin_ref TEXT NOT NULL,      -- the entity that declared it
    relation   TEXT NOT NULL,      -- as declared by origin_ref (dependsOn, ownedBy, …)
    target_ref TEXT NOT NULL,
    PRIMARY KEY (origin_ref, relation, target_ref)
) WITHOUT ROWID;
INSERT OR IGNORE INTO catalog_relations_new (origin_ref, relation, target_ref)
    SELECT origin_ref, relation, target_ref FROM catalog_relations WHERE source_ref = origin_ref;
DROP TABLE catalog_relations;
ALTER TABLE catalog_relations_new RENAME TO catalog_relations;
CREATE INDEX catalog_relations_by_target ON catalog_relations(target_ref);

CREATE TABLE catalog_tags_new (
    entity_ref TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (entity_ref, tag)
) WITHOUT ROWID;
INSERT INTO catalog_tags_new (entity_ref, tag) SELECT entity_ref, tag FROM catalog_tags;
DROP TABLE catalog_tags;
ALTER TABLE catalog_tags_new RENAME TO catalog_tags;
CREATE INDEX catalog_tags_by_tag ON catalog_tags(tag);

DROP INDEX catalog_by_lifecycle;
DROP INDEX catalog_by_type;
CREATE INDEX catalog_filters ON catalog_entities(kind, lifecycle, spec_type, owner_ref, system_ref, namespace);
