-- Tags and relations are keyed by their entity's integer id instead of its reference (issue 4's
-- ingest figures): new entities get ascending ids, so a batch of them adds its tags and
-- relations at the end of those tables' indexes instead of all over them, and the index on
-- relation targets holds an id instead of a second reference.
ALTER TABLE catalog_entities ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX catalog_entities_id ON catalog_entities(id);

CREATE TABLE catalog_tags_new (
    entity_id BIGINT NOT NULL,
    tag       TEXT NOT NULL,
    PRIMARY KEY (entity_id, tag)
);
INSERT INTO catalog_tags_new (entity_id, tag)
    SELECT e.id, t.tag FROM catalog_tags t JOIN catalog_entities e ON e.entity_ref = t.entity_ref;
DROP TABLE catalog_tags;
ALTER TABLE catalog_tags_new RENAME TO catalog_tags;
ALTER INDEX catalog_tags_new_pkey RENAME TO catalog_tags_pkey;
CREATE INDEX catalog_tags_by_tag ON catalog_tags(tag, entity_id);

CREATE TABLE catalog_relations_new (
    origin_id  BIGINT NOT NULL,    -- the entity that declared it
    relation   TEXT NOT NULL,      -- as declared (dependsOn, ownedBy, …)
    target_ref TEXT NOT NULL,      -- need not be in the catalog (yet)
    PRIMARY KEY (origin_id, relation, target_ref)
);
INSERT INTO catalog_relations_new (origin_id, relation, target_ref)
    SELECT e.id, r.relation, r.target_ref FROM catalog_relations r JOIN catalog_entities e ON e.entity_ref = r.origin_ref;
DROP TABLE catalog_relations;
ALTER TABLE catalog_relations_new RENAME TO catalog_relations;
ALTER INDEX catalog_relations_new_pkey RENAME TO catalog_relations_pkey;
CREATE INDEX catalog_relations_by_target ON catalog_relations(target_ref);
