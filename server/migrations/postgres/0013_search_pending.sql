-- The trigram indexes take new entries into their pending list (GIN's fast update) until it
-- holds 64 MB instead of 4 MB: a 10,000-entity import then merges them into the index once,
-- after it returns (the VACUUM that follows a large import, or autovacuum), instead of about
-- fifteen times while the portal waits for it (10k ingest 1.10–1.29 s → 0.96–1.14 s on two
-- cores). A search reads the pending list too: about 9 ms instead of 0.5 ms while it holds a
-- whole 10,000-entity import, until that merge (280 ms of one core) has run.
ALTER INDEX search_trigrams SET (gin_pending_list_limit = 65536);
ALTER INDEX search_names_trgm SET (gin_pending_list_limit = 65536);
