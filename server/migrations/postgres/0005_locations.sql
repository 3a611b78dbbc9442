-- Registered catalog locations: a catalog-info.yaml file, or a folder searched for them, in a
-- git repository on the portal's machine. Entities read from one carry `location:<id>` as their
-- source; those that vanish from it are marked orphaned, not deleted.
CREATE TABLE catalog_locations (
    id              TEXT PRIMARY KEY,
    target          TEXT NOT NULL UNIQUE,
    refresh_minutes BIGINT NOT NULL,
    status          TEXT NOT NULL,      -- pending, ok or error
    last_refresh_at TEXT,
    last_error      TEXT,
    -- When a replica started its refresh: others skip it until this is old (a lease).
    claimed_at      TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX catalog_by_source ON catalog_entities(source);
