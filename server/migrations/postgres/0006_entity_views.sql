-- Who looked at which entity and when, for "recently viewed" and "popular with your teams" on
-- the home page. One row per person and entity.
CREATE TABLE entity_views (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    entity_ref TEXT NOT NULL,
    viewed_at  TEXT NOT NULL,
    views      BIGINT NOT NULL,
    PRIMARY KEY (user_id, entity_ref)
);
CREATE INDEX entity_views_recent ON entity_views(user_id, viewed_at);
CREATE INDEX entity_views_by_entity ON entity_views(entity_ref, viewed_at);
