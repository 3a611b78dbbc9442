-- The catalog list sorted by last change (newest first) reads this index; by name, the existing
-- catalog_order_all (name, namespace, entity_ref).
CREATE INDEX catalog_by_updated ON catalog_entities(updated_at, entity_ref);
