-- pg_trgm reads punctuation as a word break, so a search for part of a hyphenated name
-- (`cart-b`) was looked up as "a word ending in cart" and "a word starting with b": at 250,000
-- entities 20,000 candidates to recheck for 300 matches (90 ms). The haystack is now written by
-- the portal (`haystack` in server/src/store.rs): the lower-case text, then each word that
-- contains punctuation once more with its punctuation written as `Q` (`cart-bucket-36` →
-- `cartQbucketQ36`), so such a term is also looked up as one word (`cartQb`: 1,200 candidates).
-- (As a generated column, the same spelling cost PostgreSQL about 45 µs a row to compute.)
-- Existing rows are rewritten here once, with the same spelling.
DROP INDEX search_trigrams;
ALTER TABLE search_documents DROP COLUMN haystack;
ALTER TABLE search_documents ADD COLUMN haystack TEXT NOT NULL DEFAULT '';
UPDATE search_documents SET haystack = lower(name || ' ' || title || ' ' || body) || ' ' || regexp_replace(
    regexp_replace(lower(name || ' ' || title || ' ' || body), '(?<![^[:space:]])[^[:space:]!-/:-@[-`{-~]+(?![^[:space:]])', '', 'g'),
    '[!-/:-@[-`{-~]', 'Q', 'g'
);
ALTER TABLE search_documents ALTER COLUMN haystack DROP DEFAULT;
CREATE INDEX search_trigrams ON search_documents USING gin (haystack gin_trgm_ops);
