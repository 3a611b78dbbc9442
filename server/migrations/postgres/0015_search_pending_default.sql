-- The trigram indexes go back to GIN's default pending list (4 MB; migration 0013 raised it to
-- 64 MB). With 64 MB, a 10,000-entity import left all its index entries pending: searches read
-- the whole pending list until the VACUUM after the import merged it, and that merge took one of
-- the two cores while the portal served pages. Measured with the catalog benchmark at 10k, six
-- runs each, alternating: the import takes 1.11–1.24 s instead of 0.95–1.14 s, and the work left
-- in the background 1.08–1.15 s instead of 1.34–1.43 s (docs/catalog.md, tenth round).
ALTER INDEX search_trigrams RESET (gin_pending_list_limit);
ALTER INDEX search_names_trgm RESET (gin_pending_list_limit);
