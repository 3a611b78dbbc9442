-- A counter bumped by every catalog change, so list totals and facet counts can be cached until
-- the catalog changes (on any replica), and an index that serves the list's order by itself, so
-- a deep page skips index entries instead of table rows.
CREATE TABLE catalog_meta (
    id         INTEGER PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO catalog_meta (id, generation) VALUES (1, 0);

DROP INDEX catalog_by_kind;
CREATE INDEX catalog_order ON catalog_entities(kind, name, namespace, entity_ref);
CREATE INDEX catalog_order_all ON catalog_entities(name, namespace, entity_ref);
