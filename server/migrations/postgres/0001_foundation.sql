-- Identity, teams, environments, sessions, API tokens and the audit trail (PostgreSQL dialect).
-- Timestamps are fixed-width RFC 3339 text in UTC, so text order is time order.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,               -- argon2id PHC string
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE, -- Platform Admin, organisation-wide
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins BIGINT NOT NULL DEFAULT 0,  -- failed sign-ins in a row
    locked_until  TEXT,                        -- sign-in refused until then
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    version       BIGINT NOT NULL             -- optimistic concurrency
);

CREATE TABLE teams (
    id           TEXT PRIMARY KEY,
    slug         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);

-- A person's role in a team. Platform Admin is not a team role (users.is_admin).
CREATE TABLE memberships (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('viewer', 'junior_developer', 'senior_developer', 'team_lead')),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE environments (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    tier         TEXT NOT NULL CHECK (tier IN ('development', 'staging', 'production')),
    position     BIGINT NOT NULL
);
INSERT INTO environments (name, display_name, tier, position) VALUES
    ('development', 'Development', 'development', 1),
    ('staging', 'Staging', 'staging', 2),
    ('production', 'Production', 'production', 3);

-- Sessions live in the database so that every replica sees them. Only a digest of the cookie is kept.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

-- Append-only and hash-chained: each hash covers the row and the previous row's hash.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    team        TEXT,
    before_json TEXT,
    after_json  TEXT,
    decision    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_by_team ON audit_log(team, seq);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
