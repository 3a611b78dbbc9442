-- Workflows and their durable runs (issue 3). A run keeps the definition it started with; its
-- state is these rows, so any replica (or the same one after a restart) carries it on.
CREATE TABLE workflows (
    name         TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    definition   TEXT NOT NULL,          -- JSON of the validated definition
    version      BIGINT NOT NULL,
    updated_at   TEXT NOT NULL,
    -- The next time the schedule fires; moved forward by compare-and-set, so one replica fires it.
    next_fire_at TEXT
);
CREATE INDEX workflows_due ON workflows (next_fire_at) WHERE next_fire_at IS NOT NULL;

CREATE TABLE workflow_runs (
    id               TEXT PRIMARY KEY,
    workflow         TEXT NOT NULL,
    title            TEXT NOT NULL,
    team             TEXT,
    status           TEXT NOT NULL,
    inputs           TEXT NOT NULL,
    started_by       TEXT NOT NULL,
    trigger_kind     TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    -- When the engine must look at the run next; NULL: nothing until a person acts.
    wake_at          TEXT,
    error            TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    rollback_reason  TEXT,
    version          BIGINT NOT NULL,
    definition       TEXT NOT NULL,
    -- The replica working on the run and until when (a lease, renewed while a step runs).
    lease_owner      TEXT,
    lease_until      TEXT
);
CREATE INDEX workflow_runs_due ON workflow_runs (wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX workflow_runs_recent ON workflow_runs (created_at);
CREATE INDEX workflow_runs_by_workflow ON workflow_runs (workflow, created_at);

CREATE TABLE workflow_steps (
    run_id        TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
    idx           BIGINT NOT NULL,
    step_id       TEXT NOT NULL,
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    input         TEXT NOT NULL,
    output        TEXT,
    error         TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    next_at       TEXT,
    undo          TEXT NOT NULL,
    undo_attempts BIGINT NOT NULL,
    undo_error    TEXT,
    decided_by    TEXT,
    PRIMARY KEY (run_id, idx)
);

CREATE TABLE workflow_logs (
    seq      BIGSERIAL PRIMARY KEY,
    run_id   TEXT NOT NULL,
    step_idx BIGINT,
    at       TEXT NOT NULL,
    level    TEXT NOT NULL,
    message  TEXT NOT NULL
);
CREATE INDEX workflow_logs_by_run ON workflow_logs (run_id, seq);

-- Events that can start runs; `dedup_key` makes an emit step's event happen once.
CREATE TABLE workflow_events (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    source     TEXT NOT NULL,
    dedup_key  TEXT UNIQUE,
    created_at TEXT NOT NULL,
    runs       TEXT NOT NULL            -- JSON list of the run ids it started
);
CREATE INDEX workflow_events_recent ON workflow_events (created_at);

-- Inbound webhooks: the shared secret must be kept to verify signatures (HMAC), unlike
-- passwords and tokens, which are stored as digests.
CREATE TABLE webhook_sources (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Every delivery, good or bad; a delivery id is accepted once per source (replays are ignored).
CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    delivery_id TEXT,
    received_at TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    runs        TEXT NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (source, delivery_id) WHERE outcome = 'accepted';
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (source, received_at);
