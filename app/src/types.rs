//! Types that cross the wire between the server, the browser and REST clients.
//! They are the contract: serde-only, changed on purpose.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// A person's role. Team roles (Viewer … Team Lead) are granted per team; Platform Admin is
/// organisation-wide. The order is the order of privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    JuniorDeveloper,
    SeniorDeveloper,
    TeamLead,
    PlatformAdmin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::JuniorDeveloper,
        Role::SeniorDeveloper,
        Role::TeamLead,
        Role::PlatformAdmin,
    ];
    /// Roles that can be held in a team (Platform Admin is organisation-wide).
    pub const TEAM_ROLES: [Role; 4] =
        [Role::Viewer, Role::JuniorDeveloper, Role::SeniorDeveloper, Role::TeamLead];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::JuniorDeveloper => "junior_developer",
            Role::SeniorDeveloper => "senior_developer",
            Role::TeamLead => "team_lead",
            Role::PlatformAdmin => "platform_admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::JuniorDeveloper => "Junior Developer",
            Role::SeniorDeveloper => "Senior Developer",
            Role::TeamLead => "Team Lead",
            Role::PlatformAdmin => "Platform Admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The kind of an environment, which is what access rules are written against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Development,
    Staging,
    Production,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Development => "development",
            Tier::Staging => "staging",
            Tier::Production => "production",
        }
    }
    pub fn parse(s: &str) -> Option<Tier> {
        [Tier::Development, Tier::Staging, Tier::Production].into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Environment {
    pub name: String,
    pub display_name: String,
    pub tier: Tier,
}

/// One team a user belongs to, with the role they hold there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Membership {
    pub team: String,
    pub team_name: String,
    pub role: Role,
}

/// The signed-in user as the browser and `GET /api/v1/me` see them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub is_admin: bool,
    pub memberships: Vec<Membership>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub created_at: String,
    /// Optimistic-concurrency version: send it back with an update.
    pub version: i64,
    pub memberships: Vec<Membership>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub is_admin: bool,
}

/// A partial update of a user; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub disabled: Option<bool>,
    pub is_admin: Option<bool>,
    /// The version the change was based on; a stale version gets 409 Conflict.
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Team {
    pub slug: String,
    pub display_name: String,
    pub description: String,
    pub member_count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TeamMember {
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TeamDetail {
    pub team: Team,
    pub members: Vec<TeamMember>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NewTeam {
    pub slug: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
}

/// Grant `role` in a team to `username`, or remove them from it when `role` is absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MembershipChange {
    pub username: String,
    pub role: Option<Role>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it; the rest is never stored.
    pub prefix: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NewToken {
    pub name: String,
    /// Days until the token expires (1 to 365); 90 when absent.
    pub expires_in_days: Option<i64>,
}

/// The answer to creating a token: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// One row of the append-only, hash-chained audit trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    /// Username of who acted, or `anonymous` / `system`.
    pub actor: String,
    pub action: String,
    /// What was acted on, e.g. `user:alice`.
    pub target: String,
    /// The team the change concerns, if any (Team Leads see their teams' entries).
    pub team: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub after: Option<serde_json::Value>,
    /// `allow` or `deny`.
    pub decision: String,
    pub reason: String,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AuditQuery {
    /// Only entries whose action starts with this, e.g. `auth.` or `team.`.
    pub action: Option<String>,
    pub actor: Option<String>,
    /// Only entries with a sequence number below this (for paging backwards).
    pub before: Option<i64>,
    /// At most this many entries (1 to 500; 50 when absent).
    pub limit: Option<i64>,
}

/// The result of checking the audit hash chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ChainReport {
    pub ok: bool,
    pub checked: i64,
    /// The first entry whose hash does not match, when the chain is broken.
    pub first_bad_seq: Option<i64>,
    pub message: String,
}

// ---- service catalog ---------------------------------------------------------------------------

/// One catalog entity as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EntitySummary {
    /// `kind:namespace/name`, lower-case: the key every API call uses.
    pub entity_ref: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `spec.type` (service, website, openapi, database…).
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub owner: Option<String>,
    pub system: Option<String>,
    pub tags: Vec<String>,
    /// The entity's registered source no longer contains it.
    pub orphan: bool,
}

/// A relation as seen from one entity: `ownedBy group:default/payments`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RelationView {
    pub relation: String,
    pub target: String,
    /// The target's title or name, when the target is in the catalog.
    pub target_title: Option<String>,
    pub target_exists: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EntityDetail {
    pub summary: EntitySummary,
    /// The descriptor as stored (Backstage format, as JSON).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub descriptor: serde_json::Value,
    pub relations: Vec<RelationView>,
    /// Where it came from: `api`, `ui`, `seed`, or a location.
    pub source: String,
    /// Send it back when deleting: a stale version gets 409 Conflict.
    pub version: i64,
    pub updated_at: String,
    /// For API entities, their `spec.definition` summarised on the server (operations, servers),
    /// so the browser shows it without parsing YAML; `None` for other kinds.
    pub api: Option<crate::catalog::apidoc::ApiView>,
}

/// Filters of the catalog list; every one narrows the result (all are exact matches).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CatalogQuery {
    pub kind: Option<String>,
    #[serde(rename = "type")]
    pub spec_type: Option<String>,
    /// An entity reference, e.g. `group:default/payments`.
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
    pub tag: Option<String>,
    /// An entity reference, e.g. `system:default/storefront`.
    pub system: Option<String>,
    pub namespace: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Entities per page, 1 to 500 (default 50).
    pub page_size: Option<i64>,
    /// `kind` (kind, then name; the default), `name` (A to Z) or `updated` (newest first).
    pub sort: Option<String>,
}

/// One value of a facet and how many entities have it under the other filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Facets {
    pub kind: Vec<FacetCount>,
    #[serde(rename = "type")]
    pub spec_type: Vec<FacetCount>,
    pub owner: Vec<FacetCount>,
    pub lifecycle: Vec<FacetCount>,
    pub tag: Vec<FacetCount>,
    pub system: Vec<FacetCount>,
    pub namespace: Vec<FacetCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CatalogPage {
    pub items: Vec<EntitySummary>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub facets: Facets,
}

/// What happened to one document of an applied YAML text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DocumentOutcome {
    /// Position of the document in the text, from 0 (empty documents are not counted).
    pub index: usize,
    /// The line the document (or its problem) starts at, from 1, when known.
    pub line: Option<usize>,
    pub entity_ref: Option<String>,
    /// `created`, `updated`, `unchanged` or `error`.
    pub outcome: String,
    /// For `error`: field path → messages.
    pub errors: crate::error::FieldErrors,
    /// References to entities that are not (yet) in the catalog.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ApplyReport {
    pub documents: Vec<DocumentOutcome>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

// ---- global search ---------------------------------------------------------------------------

/// A piece of a highlighted text; `hit` pieces matched the query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TextPart {
    pub text: String,
    pub hit: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SearchQuery {
    /// What to look for (at most 200 characters).
    pub q: String,
    /// Only results of this kind (Component, API, …, or Doc).
    pub kind: Option<String>,
    /// 1-based page number (20 results per page).
    pub page: Option<i64>,
    /// Results per page, 1 to 50 (default 20).
    pub page_size: Option<i64>,
}

/// One result: an entity or a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SearchHit {
    /// `entity:<ref>` or `doc:<id>`.
    pub key: String,
    pub kind: String,
    pub url: String,
    pub title: Vec<TextPart>,
    pub snippet: Vec<TextPart>,
    pub owner: Option<String>,
    /// The entity, or the entity a document belongs to.
    pub entity_ref: Option<String>,
    /// Position in the whole result list, from 1.
    pub rank: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SearchResults {
    pub query: String,
    /// Matches in the whole catalog (of the chosen kind); with `more`, at least this many.
    pub total: i64,
    /// There are more matches than were counted (1,000).
    pub more: bool,
    /// How many of them can be paged through (the best 200).
    pub ranked: i64,
    pub page: i64,
    pub page_size: i64,
    pub items: Vec<SearchHit>,
    /// Matches per kind, ignoring the kind filter.
    pub kinds: Vec<FacetCount>,
    /// No exact match: these results are alike (small typos tolerated).
    pub fuzzy: bool,
    pub took_ms: f64,
    /// The logged search (pass it on when a result is opened), when the search was logged.
    pub query_id: Option<String>,
}

/// Searches per day for the analytics chart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SearchDay {
    pub day: String,
    pub searches: i64,
    pub successful: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct QueryStat {
    pub query: String,
    pub searches: i64,
    pub successful: i64,
    pub results: i64,
}

/// How well search serves people over the last `days` days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SearchAnalytics {
    pub days: i64,
    pub searches: i64,
    /// Searches after which a result was opened, as a share of all (0 to 1).
    pub success_rate: f64,
    /// Searches that found nothing, as a share of all (0 to 1).
    pub zero_result_rate: f64,
    /// From the search (or the first keystroke, for suggestions) to opening a result.
    pub time_to_find_p50_ms: Option<i64>,
    pub time_to_find_p90_ms: Option<i64>,
    pub search_p50_ms: Option<f64>,
    /// Mean position of the opened result (1 is the top).
    pub mean_opened_rank: Option<f64>,
    pub per_day: Vec<SearchDay>,
    pub top_queries: Vec<QueryStat>,
    pub zero_result_queries: Vec<QueryStat>,
}

// ---- documentation -----------------------------------------------------------------------------

/// A document as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DocSummary {
    /// `guides/<slug>` or `<entity ref>/<path>`.
    pub id: String,
    pub title: String,
    pub entity_ref: Option<String>,
    pub path: String,
    pub source: String,
    pub updated_at: String,
}

/// A document rendered for reading (safe HTML), with its source for editing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DocPage {
    pub summary: DocSummary,
    pub markdown: String,
    /// Sanitised HTML: no scripts, event handlers or unsafe links.
    pub html: String,
    pub toc: Vec<crate::docs::TocEntry>,
    pub version: i64,
    pub updated_by: String,
    /// Other documents of the same entity (or the other guides).
    pub siblings: Vec<DocSummary>,
    /// Whether the caller may edit it.
    pub editable: bool,
}

/// A document to write: a new one (no id) or a change to `id` at `version`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DocInput {
    /// The document being changed (None for a new one).
    pub id: Option<String>,
    /// For a new document: the entity it belongs to (None: a standalone guide).
    pub entity_ref: Option<String>,
    /// For a new document: its path (`index`, `runbook`, `guides/setup`…); letters, digits, `-`, `_`, `/`.
    pub path: String,
    pub title: String,
    pub markdown: String,
    /// The version edited (0 for a new document).
    pub version: i64,
}

// ---- catalog locations -------------------------------------------------------------------------

/// A registered source of catalog files: a `catalog-info.yaml` file, or a folder searched for
/// them, in a git repository on the portal's machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Location {
    pub id: String,
    /// Absolute path of the file or folder.
    pub target: String,
    /// Minutes between scheduled refreshes.
    pub refresh_minutes: i64,
    /// `pending` (never read), `ok` or `error`.
    pub status: String,
    pub last_refresh_at: Option<String>,
    /// What went wrong at the last refresh (unreadable files, invalid documents), readable.
    pub last_error: Option<String>,
    /// Entities it provides, and how many of them vanished from it (orphans).
    pub entities: i64,
    pub orphans: i64,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct NewLocation {
    /// Absolute path of a `catalog-info.yaml` file or of a folder, inside a git repository.
    pub target: String,
    /// Minutes between scheduled refreshes, 1 to 1440 (default 30).
    pub refresh_minutes: Option<i64>,
}

/// What one refresh of a location did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RefreshReport {
    pub location: Location,
    /// The catalog files read (relative to the repository).
    pub files: Vec<String>,
    pub apply: ApplyReport,
    /// Documents written or changed from `techdocs-ref: dir:` folders.
    pub docs_written: usize,
    /// Entities no longer found in the location, now marked orphaned.
    pub orphaned: Vec<String>,
}

// ---- home page -------------------------------------------------------------------------------

/// An entity as a short link, with how many people viewed it (for popular ones).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EntityLink {
    pub entity_ref: String,
    pub title: String,
    pub kind: String,
    pub viewers: i64,
}

/// What the home page suggests: what the person opened lately and what their teams open most.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct HomePicks {
    pub recent: Vec<EntityLink>,
    /// Most viewed by members of the person's teams over the last 30 days.
    pub popular: Vec<EntityLink>,
    /// The first entities each of the person's teams owns.
    pub owned: Vec<TeamOwned>,
}

/// The first entities a team owns, and how many it owns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TeamOwned {
    /// The team's slug.
    pub team: String,
    pub page: CatalogPage,
}

// ---- browsing ----------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BrowseSystem {
    pub entity_ref: String,
    pub title: String,
    /// Entities that are part of the system.
    pub entities: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BrowseDomain {
    pub entity_ref: String,
    pub title: String,
    pub description: Option<String>,
    pub systems: Vec<BrowseSystem>,
}

/// The catalog by domain and system, and by kind and type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BrowseView {
    pub domains: Vec<BrowseDomain>,
    /// Systems in no domain.
    pub other_systems: Vec<BrowseSystem>,
    /// (kind, counts per `spec.type`) for the kinds that have types.
    pub types: Vec<(String, Vec<FacetCount>)>,
}
