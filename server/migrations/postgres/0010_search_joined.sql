-- pg_trgm reads punctuation as a word break, so a search for part of a hyphenated name
-- (`cart-b`) is looked up as "a word ending in cart" and "a word starting with b": at 250,000
-- entities that is 20,000 candidates to recheck for 300 matches (90 ms). The haystack now also
-- carries each word that contains punctuation once more, with its punctuation written as `Q`
-- (`cart-bucket-36` → `cartQbucketQ36`), so such a term can be looked up as one word too
-- (`cartQb`: 1,200 candidates). Searches and stored text are lower-case, so the upper-case `Q`
-- never matches what someone typed; pg_trgm folds case, so the index sees it as a letter.
DROP INDEX search_trigrams;
ALTER TABLE search_documents DROP COLUMN haystack;
ALTER TABLE search_documents ADD COLUMN haystack TEXT GENERATED ALWAYS AS (
    lower(name || ' ' || title || ' ' || body) || ' ' || translate(
        regexp_replace(lower(name || ' ' || title || ' ' || body), '(?<![^[:space:]])[[:alnum:]]+(?![^[:space:]])', '', 'g'),
        '!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~',
        'QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'
    )
) STORED;
CREATE INDEX search_trigrams ON search_documents USING gin (haystack gin_trgm_ops);
