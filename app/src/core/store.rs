//! The storage interface. One trait, two implementations in the `server` crate (SQLite and
//! PostgreSQL) that run the same SQL; every mutating method writes its audit entry in the same
//! transaction as the change, so a change without its audit entry cannot exist.

use crate::types::{EntityLink, Environment, Location, Membership, Role, TeamMember};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule or an optimistic-concurrency check failed.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// Anything else (connection lost, bad SQL): logged, never shown.
    #[error("database error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TeamRecord {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    pub description: String,
    pub created_at: String,
    pub member_count: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie value; the value itself is never stored.
    pub id_hash: String,
    pub user_id: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TokenRecord {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    /// SHA-256 of the secret.
    pub secret_hash: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// An audit entry before it is chained: the store assigns `seq`, `prev_hash` and `hash`.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditDraft {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub team: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub decision: String,
    pub reason: String,
    pub request_id: String,
}

/// An audit row exactly as stored (JSON as text), which is what the hash covers.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub draft: AuditDraft,
    pub prev_hash: String,
    pub hash: String,
}

/// A catalog entity as stored: the descriptor (`body`, JSON) and the columns lists filter on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogRecord {
    /// Lower-case `kind:namespace/name`.
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    /// Lower-case references.
    pub owner_ref: Option<String>,
    pub system_ref: Option<String>,
    pub tags: Vec<String>,
    /// The descriptor as JSON text (empty in list results, which do not load it).
    pub body: String,
    /// SHA-256 of `body`: an unchanged document is recognised without comparing bodies.
    pub etag: String,
    pub version: i64,
    pub source: String,
    pub orphan: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A relation as its entity declared it (`relation target_ref`, the reference lower-case); the
/// other end's view is derived when read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RelationRow {
    pub relation: String,
    pub target_ref: String,
}

/// A relation as seen from its source, with what is known of the target.
#[derive(Clone, Debug, PartialEq)]
pub struct RelationTarget {
    pub relation: String,
    pub target_ref: String,
    pub target_title: Option<String>,
    pub target_exists: bool,
}

/// Exact-match filters of the catalog list (references lower-case), and the page to return.
#[derive(Clone, Debug, Default)]
pub struct CatalogFilter {
    pub kind: Option<String>,
    pub spec_type: Option<String>,
    pub owner_ref: Option<String>,
    pub lifecycle: Option<String>,
    pub tag: Option<String>,
    pub system_ref: Option<String>,
    pub namespace: Option<String>,
    pub sort: CatalogSort,
    /// Where the page starts counting: after this sort key (an anchor from
    /// `catalog_anchors`), else at the first entity. Only `catalog_page` reads it.
    pub after: Option<SortKey>,
    pub offset: i64,
    pub limit: i64,
}

/// The values of a list's sort columns for one entity (see [`CatalogSort::columns`]).
pub type SortKey = Vec<String>;

/// The order of a catalog list; each is served by an index, so deep pages stay cheap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CatalogSort {
    /// Kind, then name and namespace.
    #[default]
    Kind,
    /// Name, then namespace and kind.
    Name,
    /// Last changed first.
    Updated,
}

impl CatalogSort {
    /// The columns this sort orders by, together unique (so a sort key marks one place in the
    /// list), and whether it is descending.
    pub fn columns(self) -> (&'static [&'static str], bool) {
        match self {
            CatalogSort::Kind => (&["kind", "name", "namespace"], false),
            CatalogSort::Name => (&["name", "namespace", "entity_ref"], false),
            CatalogSort::Updated => (&["updated_at", "entity_ref"], true),
        }
    }

    pub const CHOICES: [(&'static str, CatalogSort); 3] =
        [("kind", CatalogSort::Kind), ("name", CatalogSort::Name), ("updated", CatalogSort::Updated)];
}

/// The columns the catalog list counts values of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    Kind,
    SpecType,
    Owner,
    Lifecycle,
    Tag,
    System,
    Namespace,
}

impl Facet {
    pub const ALL: [Facet; 7] =
        [Facet::Kind, Facet::SpecType, Facet::Owner, Facet::Lifecycle, Facet::Tag, Facet::System, Facet::Namespace];
}

/// One entity write of a batch: the record, the relations its descriptor declares, its search
/// entry and its audit entry.
#[derive(Clone, Debug)]
pub struct CatalogWrite {
    pub rec: CatalogRecord,
    pub relations: Vec<RelationRow>,
    pub search: SearchDoc,
    pub audit: AuditDraft,
}

/// What an apply needs to know of an entity already stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogStamp {
    pub entity_ref: String,
    pub etag: String,
    pub version: i64,
    pub owner_ref: Option<String>,
    pub created_at: String,
    pub source: String,
    pub orphan: bool,
}

/// One searchable thing (an entity or a document) as the search index keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchDoc {
    /// `entity:<ref>` or `doc:<id>`.
    pub doc_key: String,
    /// The entity's kind, or `Doc`.
    pub kind: String,
    pub entity_ref: Option<String>,
    /// Lower-case.
    pub name: String,
    pub title: String,
    pub summary: String,
    pub owner_ref: Option<String>,
    /// The text searched besides name and title.
    pub body: String,
    pub url: String,
}

/// A search as the store runs it: lower-case terms (each found as a substring), or with `fuzzy`
/// the terms' trigrams, any of which may match.
#[derive(Clone, Debug, Default)]
pub struct SearchSpec {
    pub terms: Vec<String>,
    pub fuzzy: bool,
    pub kind: Option<String>,
    pub limit: i64,
}

/// Searches count at most this many matches (beyond it, "more than"). Counting reads each
/// match's row, so a common word costs this many row reads at most; only the best 200 can be
/// paged through anyway.
pub const SEARCH_COUNT_CAP: i64 = 500;

/// A markdown document: a standalone guide (`entity_ref` None) or one of an entity's docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DocRecord {
    pub id: String,
    pub entity_ref: Option<String>,
    pub path: String,
    pub title: String,
    pub markdown: String,
    pub source: String,
    pub version: i64,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One search a person ran, as recorded for search analytics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchLogRecord {
    pub id: String,
    pub at: String,
    pub user_id: Option<String>,
    pub query: String,
    pub origin: String,
    pub result_count: i64,
    pub took_us: i64,
    pub opened_key: Option<String>,
    pub opened_rank: Option<i64>,
    pub opened_ms: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action_prefix: Option<String>,
    pub actor: Option<String>,
    /// Only entries of these teams (None: no team restriction).
    pub teams: Option<Vec<String>>,
    pub before: Option<i64>,
    pub limit: i64,
}

#[async_trait]
pub trait Store: WorkflowStore + Send + Sync + 'static {
    /// Which database this is, for logs and readiness ("sqlite" or "postgres").
    fn dialect(&self) -> &'static str;
    /// Entities written per transaction when applying a long text (`Services::apply_entities`):
    /// what suits this database's writers.
    fn apply_batch(&self) -> usize;
    async fn ping(&self) -> StoreResult<()>;

    async fn user_count(&self) -> StoreResult<i64>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    async fn list_users(&self) -> StoreResult<Vec<UserRecord>>;
    async fn insert_user(&self, user: &UserRecord, audit: AuditDraft) -> StoreResult<()>;
    /// Writes `user` if the stored version is still `user.version - 1`; Conflict otherwise.
    async fn update_user(&self, user: &UserRecord, audit: Option<AuditDraft>) -> StoreResult<()>;
    /// Records a sign-in outcome (failure counter and lock) without touching the version.
    async fn set_login_state(&self, user_id: &str, failed_logins: i64, locked_until: Option<&str>) -> StoreResult<()>;

    async fn list_teams(&self) -> StoreResult<Vec<TeamRecord>>;
    async fn team_by_slug(&self, slug: &str) -> StoreResult<Option<TeamRecord>>;
    async fn insert_team(&self, team: &TeamRecord, audit: AuditDraft) -> StoreResult<()>;
    async fn delete_team(&self, team_id: &str, audit: AuditDraft) -> StoreResult<()>;

    async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>>;
    async fn members_of(&self, team_id: &str) -> StoreResult<Vec<TeamMember>>;
    /// Sets (or with None removes) a user's role in a team.
    async fn set_membership(&self, team_id: &str, user_id: &str, role: Option<Role>, audit: AuditDraft) -> StoreResult<()>;

    async fn list_environments(&self) -> StoreResult<Vec<Environment>>;
    async fn insert_environment(&self, env: &Environment) -> StoreResult<()>;

    async fn insert_session(&self, session: &SessionRecord, audit: AuditDraft) -> StoreResult<()>;
    async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    async fn delete_session(&self, id_hash: &str, audit: Option<AuditDraft>) -> StoreResult<()>;
    async fn delete_sessions_of(&self, user_id: &str) -> StoreResult<()>;
    async fn delete_expired_sessions(&self, now: &str) -> StoreResult<u64>;

    async fn insert_token(&self, token: &TokenRecord, audit: AuditDraft) -> StoreResult<()>;
    async fn tokens_of(&self, user_id: &str) -> StoreResult<Vec<TokenRecord>>;
    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<TokenRecord>>;
    async fn revoke_token(&self, token_id: &str, at: &str, audit: AuditDraft) -> StoreResult<()>;
    async fn touch_token(&self, token_id: &str, at: &str) -> StoreResult<()>;

    async fn catalog_get(&self, entity_ref: &str) -> StoreResult<Option<CatalogRecord>>;
    /// The stored version and etag of those of `refs` that exist.
    async fn catalog_stamps(&self, refs: &[String]) -> StoreResult<Vec<CatalogStamp>>;
    /// Those of `refs` that are in the catalog (read from the references' index alone: an
    /// import's relation targets, tens of thousands at a time).
    async fn catalog_existing(&self, refs: &[String]) -> StoreResult<Vec<String>>;
    /// Writes entities in one transaction, each with its tags, search entry, audit entry and the
    /// relations its descriptor declares (in their declared direction, replacing what it declared
    /// before; tags and relations keyed by the entity's id).
    /// Version 1 inserts (Conflict if the reference exists); version n updates only if the
    /// stored version is n - 1. Any conflict writes nothing of the batch. The writes are dropped
    /// once the statements are prepared, before waiting for the database: a large import does
    /// not hold a batch twice (as values and as statements) while it queues.
    async fn catalog_write(&self, writes: Vec<CatalogWrite>) -> StoreResult<()>;
    /// Marks entities of a source orphaned (or no longer orphaned), with an audit entry each.
    async fn catalog_set_orphan(&self, refs: &[String], orphan: bool, audits: Vec<AuditDraft>) -> StoreResult<()>;
    /// Refreshes the query planner's statistics after a large change: PRAGMA optimize on SQLite
    /// before it returns; ANALYZE on PostgreSQL in the background (it does not block writes),
    /// then VACUUM once the catalog has been quiet for a second.
    async fn catalog_analyze(&self) -> StoreResult<()>;
    /// Waits until the background work `catalog_analyze` started has finished (at once when
    /// there is none, as always on SQLite).
    async fn catalog_settled(&self);
    /// References of the entities whose `source` is `source`.
    async fn catalog_refs_from(&self, source: &str) -> StoreResult<Vec<String>>;
    /// Deletes an entity if its stored version is `version` (Conflict otherwise, NotFound if gone).
    async fn catalog_delete(&self, entity_ref: &str, version: i64, audit: AuditDraft) -> StoreResult<()>;
    /// One page of entities (without bodies) in the filter's sort, counted from after
    /// `filter.after` when it is set.
    async fn catalog_page(&self, filter: &CatalogFilter) -> StoreResult<Vec<CatalogRecord>>;
    /// The sort keys of entities number `step`, 2·`step`, … (counting from 1) in the filter's
    /// order (its page ignored): where deep pages start instead of skipping from the first.
    async fn catalog_anchors(&self, filter: &CatalogFilter, step: i64) -> StoreResult<Vec<SortKey>>;
    /// How many entities match the filter (its page ignored).
    async fn catalog_count(&self, filter: &CatalogFilter) -> StoreResult<i64>;
    /// A number that changes with every catalog change (on any replica): cached counts are
    /// valid while it stays the same.
    async fn catalog_generation(&self) -> StoreResult<i64>;
    /// Counts per value of `facet` under every filter but its own, most frequent first (at most 50).
    async fn catalog_facet(&self, facet: Facet, filter: &CatalogFilter) -> StoreResult<Vec<(String, i64)>>;
    /// Relations whose source is `entity_ref`, declared by it or by others.
    async fn catalog_relations(&self, entity_ref: &str) -> StoreResult<Vec<RelationTarget>>;
    /// Descriptors (JSON text) of every entity matching the filter, ignoring the page, sorted.
    async fn catalog_bodies(&self, filter: &CatalogFilter) -> StoreResult<Vec<String>>;

    /// Candidate matches, best first by the database's own measure (at most `limit`).
    async fn search(&self, spec: &SearchSpec) -> StoreResult<Vec<SearchDoc>>;
    /// Entries whose lower-case name starts with `prefix` (at most `limit`).
    async fn search_by_name(&self, prefix: &str, kind: Option<&str>, limit: i64) -> StoreResult<Vec<SearchDoc>>;
    /// How many entries match `spec` (ignoring its kind and limit), per kind, counting at most
    /// [`SEARCH_COUNT_CAP`] matches in all.
    async fn search_counts(&self, spec: &SearchSpec) -> StoreResult<Vec<(String, i64)>>;
    async fn search_log(&self, entry: &SearchLogRecord) -> StoreResult<()>;
    /// Records which result of a logged search was opened (only the first opening counts).
    async fn search_log_open(&self, id: &str, key: &str, rank: i64, opened_ms: i64) -> StoreResult<()>;
    async fn search_log_get(&self, id: &str) -> StoreResult<Option<SearchLogRecord>>;
    /// Forgets logged searches and entity views older than `before` (analytics keep 90 days).
    async fn prune_activity(&self, before: &str) -> StoreResult<u64>;
    /// Logged searches since `since`, oldest first.
    async fn search_logs_since(&self, since: &str) -> StoreResult<Vec<SearchLogRecord>>;

    async fn doc_get(&self, id: &str) -> StoreResult<Option<DocRecord>>;
    /// Documents of an entity (or with None the standalone guides), by path; without markdown.
    async fn docs_of(&self, entity_ref: Option<&str>) -> StoreResult<Vec<DocRecord>>;
    /// Every document's id, title and entity (without markdown), for the docs hub.
    async fn docs_all(&self) -> StoreResult<Vec<DocRecord>>;
    /// Writes a document and its search entry; version rules as `catalog_write`.
    async fn doc_put(&self, doc: &DocRecord, search: &SearchDoc, audit: AuditDraft) -> StoreResult<()>;
    async fn doc_delete(&self, id: &str, version: i64, audit: AuditDraft) -> StoreResult<()>;

    /// Remembers that a person opened an entity's page.
    async fn record_view(&self, user_id: &str, entity_ref: &str, at: &str) -> StoreResult<()>;
    /// The entities a person opened last, newest first (those still in the catalog).
    async fn recent_views(&self, user_id: &str, limit: i64) -> StoreResult<Vec<EntityLink>>;
    /// The entities opened by the most members of these teams (slugs) since `since`.
    async fn popular_in_teams(&self, teams: &[String], since: &str, limit: i64) -> StoreResult<Vec<EntityLink>>;

    /// Every location with the counts of entities it provides and of its orphans.
    async fn locations(&self) -> StoreResult<Vec<Location>>;
    async fn location_insert(&self, l: &Location, audit: AuditDraft) -> StoreResult<()>;
    /// Takes the right to refresh a location (a lease): false when another replica took it
    /// after `stale_before`.
    async fn location_claim(&self, id: &str, at: &str, stale_before: &str) -> StoreResult<bool>;
    /// Records a refresh's outcome and releases the lease.
    async fn location_finish(&self, id: &str, status: &str, error: Option<&str>, at: &str) -> StoreResult<()>;
    async fn location_delete(&self, id: &str, audit: AuditDraft) -> StoreResult<()>;

    /// Appends one entry on its own (for events that change nothing else, like a denied request).
    async fn append_audit(&self, audit: AuditDraft) -> StoreResult<AuditRow>;
    /// Newest first.
    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditRow>>;
    /// Oldest first, entries with seq > `after`, for verification and export.
    async fn audit_chain(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>>;
}

/// A stored workflow definition.
#[derive(Clone, Debug)]
pub struct WorkflowRecord {
    pub definition: crate::workflow::WorkflowDef,
    pub version: i64,
    pub updated_at: String,
    pub next_fire_at: Option<String>,
}

/// An event that may start runs.
#[derive(Clone, Debug)]
pub struct EventRecord {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Who or what sent it (`user:alice`, `run:<id>`, `webhook:ci`, `catalog`).
    pub source: String,
    /// Events with the same key happen once (an emit step's idempotency key).
    pub dedup_key: Option<String>,
    pub created_at: String,
}

/// A run and its steps, as inserted.
pub type NewRun = (crate::workflow::Run, Vec<crate::workflow::Step>);

/// A log line to append.
#[derive(Clone, Debug)]
pub struct NewLog {
    pub run_id: String,
    pub step_idx: Option<i64>,
    pub at: String,
    pub level: &'static str,
    pub message: String,
}

/// Who may write a run: the replica holding its lease, or a person's action on a run nobody
/// holds, checked against the version they read.
#[derive(Clone, Copy, Debug)]
pub enum Fence<'a> {
    Lease(&'a str),
    Version(i64),
}

/// One transaction of the engine or of a person's action on a run: the run (its version bumped),
/// the steps that changed, log lines, and events with the runs they start.
pub struct RunSave<'a> {
    pub run: &'a crate::workflow::Run,
    pub steps: &'a [crate::workflow::Step],
    pub logs: &'a [NewLog],
    pub fence: Fence<'a>,
    /// Give up the lease (the run waits, ended, or the worker is done with it for now).
    pub release: bool,
    pub events: &'a [(EventRecord, Vec<NewRun>)],
    pub audit: Vec<AuditDraft>,
    /// The time of the save, written as `updated_at` and used to check an expired lease.
    pub now: &'a str,
}

/// A schedule to fire: moves `next_fire_at` from `from` to `to` (compare-and-set).
#[derive(Clone, Copy, Debug)]
pub struct Fire<'a> {
    pub workflow: &'a str,
    pub from: &'a str,
    pub to: &'a str,
}

/// The workflow engine's storage: definitions, runs with leases, logs, events, webhooks, and
/// notices (a run changed or work is due) that reach every replica.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Inserts or replaces a definition; `expected_version` (when given) must match (Conflict).
    async fn workflow_put(&self, w: &WorkflowRecord, expected_version: Option<i64>, audit: Option<AuditDraft>) -> StoreResult<i64>;
    async fn workflows(&self) -> StoreResult<Vec<WorkflowRecord>>;
    async fn workflow(&self, name: &str) -> StoreResult<Option<WorkflowRecord>>;
    async fn workflow_delete(&self, name: &str, audit: AuditDraft) -> StoreResult<()>;

    /// Starts runs in one transaction: with the event that caused them (nothing is written, and
    /// false returned, if an event with its dedup key exists) or a schedule firing (nothing
    /// written, false, if another replica moved the schedule first).
    async fn runs_start(&self, runs: &[NewRun], event: Option<&EventRecord>, fire: Option<Fire<'_>>, audit: Vec<AuditDraft>) -> StoreResult<bool>;
    async fn run_get(&self, id: &str) -> StoreResult<Option<NewRun>>;
    /// Newest first, and the total that matches.
    async fn runs_list(&self, f: &crate::workflow::RunFilter, limit: i64, offset: i64) -> StoreResult<(Vec<crate::workflow::Run>, i64)>;
    /// Runs whose wake time has come and that nobody holds (or whose holder's lease ran out).
    async fn runs_due(&self, now: &str, limit: i64) -> StoreResult<Vec<String>>;
    /// The earliest wake time of any run (to sleep until then).
    async fn next_wake(&self) -> StoreResult<Option<String>>;
    /// Takes the lease of a due run (compare-and-set): false when someone else holds it.
    async fn run_claim(&self, id: &str, owner: &str, now: &str, until: &str) -> StoreResult<bool>;
    /// Extends a held lease: false when it was lost.
    async fn run_renew(&self, id: &str, owner: &str, until: &str) -> StoreResult<bool>;
    /// Writes a save; `Ok(None)` when the fence failed (the lease was lost or the run changed),
    /// else `Some(cancel_requested)` as stored.
    async fn run_save(&self, save: RunSave<'_>) -> StoreResult<Option<bool>>;
    /// Asks a running run to stop and roll back.
    async fn run_request_cancel(&self, id: &str, audit: AuditDraft) -> StoreResult<bool>;
    async fn run_log(&self, lines: &[NewLog]) -> StoreResult<()>;
    /// Log lines with `seq > after`, oldest first.
    async fn run_logs(&self, run_id: &str, after: i64, limit: i64) -> StoreResult<Vec<crate::workflow::LogLine>>;
    async fn schedules_due(&self, now: &str) -> StoreResult<Vec<WorkflowRecord>>;

    async fn webhook_source_put(&self, s: &crate::workflow::WebhookSource, secret: &str, audit: AuditDraft) -> StoreResult<()>;
    async fn webhook_sources(&self) -> StoreResult<Vec<crate::workflow::WebhookSource>>;
    /// The source and its secret.
    async fn webhook_source(&self, name: &str) -> StoreResult<Option<(crate::workflow::WebhookSource, String)>>;
    async fn webhook_source_delete(&self, name: &str, audit: AuditDraft) -> StoreResult<()>;
    /// Records a delivery; an accepted one also inserts its event and runs, in one transaction.
    /// False when the same delivery id was accepted before (recorded as `duplicate`).
    async fn webhook_delivery(&self, d: &crate::workflow::WebhookDelivery, event: Option<(&EventRecord, &[NewRun])>) -> StoreResult<bool>;
    async fn webhook_deliveries(&self, source: Option<&str>, limit: i64) -> StoreResult<Vec<crate::workflow::WebhookDelivery>>;

    /// Notices of this and every other replica: `run:<id>` after a run's change is committed.
    fn notices(&self) -> tokio::sync::broadcast::Receiver<String>;
}
