-- Leaner catalog writes (issue 4's ingest figures):
-- * a relation is stored once, in the direction its entity declared it; the reverse direction
--   (ownerOf for ownedBy, …) is derived when read, through the index on the target;
-- * relations and tags carry no foreign key (a check per row): deleting an entity deletes them
--   in the same transaction (catalog_delete);
-- * one narrow index holds every filter column, so counts and facet counts can be answered
--   from it (index-only scans) instead of the wide entity rows; the lifecycle and type indexes
--   it replaces are gone.

ALTER TABLE catalog_tags DROP CONSTRAINT catalog_tags_entity_ref_fkey;
ALTER TABLE catalog_relations DROP CONSTRAINT catalog_relations_origin_ref_fkey;
DELETE FROM catalog_relations WHERE source_ref <> origin_ref;
ALTER TABLE catalog_relations DROP CONSTRAINT catalog_relations_pkey;
DROP INDEX catalog_relations_by_source;
ALTER TABLE catalog_relations DROP COLUMN source_ref;
DELETE FROM catalog_relations a USING catalog_relations b
    WHERE a.ctid < b.ctid AND a.origin_ref = b.origin_ref AND a.relation = b.relation AND a.target_ref = b.target_ref;
ALTER TABLE catalog_relations ADD PRIMARY KEY (origin_ref, relation, target_ref);
CREATE INDEX catalog_relations_by_target ON catalog_relations(target_ref);

DROP INDEX catalog_by_lifecycle;
DROP INDEX catalog_by_type;
CREATE INDEX catalog_filters ON catalog_entities(kind, lifecycle, spec_type, owner_ref, system_ref, namespace);
