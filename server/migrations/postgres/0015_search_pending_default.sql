-- The trigram indexes go back to GIN's default pending list (4 MB; migration 0013 raised it to
-- 64 MB). With 64 MB, a 10,000-entity import left all its index entries pending: searches read
-- the whole pending list until the VACUUM after the import merged it, and that merge took one of
-- the two cores while the portal served pages. Measured with the catalog benchmark at 10k,
-- three alternating runs each: the import takes 1.14–1.24 s instead of 1.00–1.14 s, the work left
-- in the background 1.08–1.10 s instead of 1.39–1.43 s, and the first page's p99 meanwhile is
-- 4.05–4.80 ms instead of 4.71–5.69 ms. At 250k the pending list made no difference to ingest.
ALTER INDEX search_trigrams RESET (gin_pending_list_limit);
ALTER INDEX search_names_trgm RESET (gin_pending_list_limit);
