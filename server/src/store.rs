//! The two implementations of `app::core::Store`: SQLite (embedded default) and PostgreSQL
//! (scale-out). Both run the same SQL, generated from one macro; the few dialect differences
//! (how concurrent writers are serialised) are branches on `SQLITE`.

use app::core::audit;
use app::core::store::*;
use app::types::{EntityLink, Environment, Location, Membership, Role, TeamMember, Tier};
use async_trait::async_trait;
use sqlx::Row;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub mod workflow;

/// Why the database could not be opened, worded for the person who set `DATABASE_URL`.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL must start with sqlite:// or postgres:// (got '{0}')")]
    Scheme(String),
    #[error("DATABASE_URL is not a valid database address: {0}")]
    Invalid(String),
    #[error("cannot reach the database named by DATABASE_URL: {0}")]
    Unreachable(String),
    #[error("cannot update the database schema (migrations): {0}")]
    Migrate(String),
}

/// Opens the database named by `url`, creating an SQLite file (and its folder) when needed, and
/// runs the embedded migrations of its dialect.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, ConnectError> {
    if url.starts_with("sqlite:") {
        sqlite_without_memory_statistics();
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| ConnectError::Invalid(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let file = opts.get_filename().to_path_buf();
        let in_memory = file.as_os_str() == ":memory:" || url.contains("mode=memory");
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty() && !in_memory) {
            std::fs::create_dir_all(dir)
                .map_err(|e| ConnectError::Unreachable(format!("cannot create folder {}: {e}", dir.display())))?;
        }
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.clone())
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| ConnectError::Migrate(e.to_string()))?;
        if in_memory {
            // One database per connection pool here: the writes must use the same pool.
            return Ok(Arc::new(SqliteStore::new(pool.clone(), pool)));
        }
        // SQLite has one writer at a time, so transactions that write share one connection with
        // a larger page cache (a large import re-reads its index pages from it instead of the
        // OS) and leave checkpoints (copying the write-ahead log into the database file, with an
        // fsync) to a background task on another connection: on two cores, writing goes on
        // meanwhile. The connection's own automatic checkpoint stays as a backstop at 32 MiB.
        // A bulk statement's statement journal (what undoes it alone) goes to a temporary file,
        // as by default: kept in memory, it doubled SQLite's own peak during a 250k import
        // (145 MiB instead of 71) at the same speed.
        let writes = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.pragma("cache_size", "-32768").pragma("wal_autocheckpoint", "8192"))
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        checkpoints(pool.clone());
        Ok(Arc::new(SqliteStore::new(pool, writes)))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        // Typo-tolerant search asks for words at least this alike (pg_trgm's default is 0.6,
        // which misses two swapped letters in a seven-letter word). Random reads cost about what
        // sequential ones do (SSD or cache; the default of 4 is for spinning disks): without it,
        // a deep page right after an import is sorted from a full scan (19 ms) instead of read
        // from the ordering index (4 ms, 10k entities).
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|e| ConnectError::Invalid(e.to_string()))?
            .options([("pg_trgm.word_similarity_threshold", "0.3"), ("random_page_cost", "1.1")]);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| ConnectError::Migrate(e.to_string()))?;
        let store = PgStore::new(pool.clone(), pool.clone());
        workflow::listen(pool, store.notices.clone());
        Ok(Arc::new(store))
    } else {
        let shown: String = url.chars().take(30).collect();
        Err(ConnectError::Scheme(shown))
    }
}

/// SQLite keeps memory statistics under one process-wide mutex, taken on every allocation, so
/// connections working at once (a search's three queries, readers during an import) queue on it.
/// Nothing here reads those statistics: they are switched off, once, before SQLite starts (if it
/// has started already, the call is refused and nothing changes).
fn sqlite_without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config with SQLITE_CONFIG_MEMSTATUS takes one int; SQLite refuses it
        // (SQLITE_MISUSE) once initialised instead of changing anything under running connections.
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics stay on (SQLite had started already)");
        }
    });
}

/// Copies what the write-ahead log gained into the database file, every 200 ms, without waiting
/// for or blocking anyone (PASSIVE), until the pool closes.
fn checkpoints(pool: sqlx::SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                if !pool.is_closed() {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
                }
            }
        }
    });
}

fn err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_string()),
        sqlx::Error::RowNotFound => StoreError::NotFound,
        _ => StoreError::Other(e.to_string()),
    }
}

const USER_COLUMNS: &str = "id, username, display_name, email, password_hash, is_admin, disabled, failed_logins, \
                            locked_until, created_at, updated_at, version";
const TOKEN_COLUMNS: &str = "id, user_id, name, prefix, secret_hash, created_at, expires_at, last_used_at, revoked_at";
const AUDIT_COLUMNS: &str = "seq, at, actor, action, target, team, before_json, after_json, decision, reason, \
                             request_id, prev_hash, hash";
/// The columns of an entity that a write sets (all but `entity_ref` and `created_at`).
const ENTITY_FIELDS: &str = "kind, namespace, name, title, description, spec_type, lifecycle, owner_ref, system_ref, body, etag, \
                             version, source, orphan, updated_at";
const CATALOG_COLUMNS: &str = "entity_ref, kind, namespace, name, title, description, spec_type, lifecycle, owner_ref, \
                               system_ref, body, etag, version, source, orphan, created_at, updated_at";

/// The WHERE clause of a catalog filter (every condition but `skip`'s) and its bind values, which
/// are numbered from `$1`. Built from fixed fragments; every value is a bind parameter.
fn catalog_where(f: &CatalogFilter, skip: Option<Facet>) -> (String, Vec<String>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut binds = Vec::new();
    let conditions = [
        (Facet::Kind, &f.kind, "e.kind = "),
        (Facet::SpecType, &f.spec_type, "e.spec_type = "),
        (Facet::Owner, &f.owner_ref, "e.owner_ref = "),
        (Facet::Lifecycle, &f.lifecycle, "e.lifecycle = "),
        (Facet::System, &f.system_ref, "e.system_ref = "),
        (Facet::Namespace, &f.namespace, "e.namespace = "),
    ];
    for (facet, value, fragment) in conditions {
        if let (Some(v), true) = (value, skip != Some(facet)) {
            binds.push(v.clone());
            sql.push_str(&format!(" AND {fragment}${}", binds.len()));
        }
    }
    if let (Some(tag), true) = (&f.tag, skip != Some(Facet::Tag)) {
        binds.push(tag.clone());
        sql.push_str(&format!(" AND e.id IN (SELECT entity_id FROM catalog_tags WHERE tag = ${})", binds.len()));
    }
    (sql, binds)
}

/// ORDER BY of a catalog list (every sort is served by an index).
fn sort_order(sort: CatalogSort) -> String {
    let (keys, descending) = sort.columns();
    keys.iter().map(|c| if descending { format!("e.{c} DESC") } else { format!("e.{c}") }).collect::<Vec<_>>().join(", ")
}

/// `$start, $start+1, …` (`n` placeholders), for short lists: SQLite looks each one up by name in
/// a list, so binding costs grow with the square of their number (long lists of references are
/// bound as one JSON text instead, [`json_list`]).
fn marks(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The rows of a JSON array of arrays bound as `$1`, each row as `value` (`value->>0` is its
/// first cell, as text or NULL). A bulk write binds its rows as one JSON text this way: one
/// statement per table and batch, instead of multi-row statements of at most ~200 placeholders.
/// On SQLite that is also one statement journal, and one flush of the full-text index instead
/// of one per statement (FTS5 flushes at every statement, leaving small segments to merge).
fn json_rows(sqlite: bool) -> &'static str {
    if sqlite { "jsonb_each($1)" } else { "jsonb_array_elements($1::jsonb) AS j(value)" }
}

/// A statement and its rows, bound as one JSON text (what [`json_rows`] reads). Bulk writes are
/// prepared before their transaction begins: serialising thousands of rows takes milliseconds,
/// and SQLite's one writer would wait for it with the write lock held.
struct Bulk {
    sql: String,
    rows: String,
}

impl Bulk {
    /// `rows` are arrays of [`Cell`]s (`cells![…]`), written into one JSON text as they are.
    fn new<R: serde::Serialize>(sql: String, rows: &[R]) -> Self {
        Bulk { sql, rows: serde_json::to_string(rows).expect("cells serialise") }
    }
}

/// One cell of a [`Bulk`] row: text (or NULL), a number or a flag, borrowed from what is written
/// (no copy into a JSON value first: an import writes hundreds of thousands of cells).
#[derive(Clone, Copy, serde::Serialize)]
#[serde(untagged)]
enum Cell<'a> {
    Text(Option<&'a str>),
    Number(i64),
    Flag(bool),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(t: &'a str) -> Self {
        Cell::Text(Some(t))
    }
}

impl<'a> From<&'a String> for Cell<'a> {
    fn from(t: &'a String) -> Self {
        Cell::Text(Some(t))
    }
}

impl<'a> From<&'a Option<String>> for Cell<'a> {
    fn from(t: &'a Option<String>) -> Self {
        Cell::Text(t.as_deref())
    }
}

impl From<i64> for Cell<'_> {
    fn from(n: i64) -> Self {
        Cell::Number(n)
    }
}

impl From<bool> for Cell<'_> {
    fn from(b: bool) -> Self {
        Cell::Flag(b)
    }
}

/// A [`Bulk`] row: `cells![a, b, …]` is `[Cell::from(a), Cell::from(b), …]`.
macro_rules! cells {
    ($($cell:expr),* $(,)?) => { [$(Cell::from($cell)),*] };
}

/// Entities as [`Bulk`] rows: the reference and the creation time, then [`ENTITY_FIELDS`].
fn entity_rows<'a>(records: &[&'a CatalogRecord]) -> Vec<[Cell<'a>; 17]> {
    records
        .iter()
        .map(|e| {
            cells![
                &e.entity_ref, &e.created_at, &e.kind, &e.namespace, &e.name, &e.title, &e.description, &e.spec_type, &e.lifecycle,
                &e.owner_ref, &e.system_ref, &e.body, &e.etag, e.version, &e.source, e.orphan, &e.updated_at
            ]
        })
        .collect()
}

/// Texts as [`json_rows`] rows of one cell each: a list of references bound as one parameter,
/// however long (an import looks up tens of thousands at once).
fn json_list(texts: &[String]) -> String {
    let rows: Vec<[Cell; 1]> = texts.iter().map(|t| cells![t]).collect();
    serde_json::to_string(&rows).expect("cells serialise")
}

/// Cell `i` of a [`json_rows`] row, cast where its column is not text (`n` for BIGINT, `b` for
/// BOOLEAN, `t` for text).
fn json_cell(i: usize, t: char) -> String {
    match t {
        'n' => format!("CAST(value->>{i} AS BIGINT)"),
        'b' => format!("CAST(value->>{i} AS BOOLEAN)"),
        _ => format!("value->>{i}"),
    }
}

/// `SELECT value->>0, value->>1, … FROM <json_rows>`: every cell of the rows, typed by `types`
/// (one letter per cell, as [`json_cell`]).
fn json_select(types: &str, sqlite: bool) -> String {
    let cells: Vec<String> = types.chars().enumerate().map(|(i, t)| json_cell(i, t)).collect();
    format!("SELECT {} FROM {}", cells.join(", "), json_rows(sqlite))
}

/// `CASE relation WHEN 'ownedBy' THEN 'ownerOf' … END`: a stored relation seen from its target.
fn reverse_relation_sql() -> String {
    let arms: String = app::catalog::RelationType::ALL
        .iter()
        .map(|r| format!(" WHEN '{}' THEN '{}'", r.as_str(), r.reverse().as_str()))
        .collect();
    format!("CASE relation{arms} ELSE relation END")
}

const SEARCH_COLUMNS: &str = "doc_key, kind, entity_ref, name, title, summary, owner_ref, body, url";
/// A search result's columns, its body cut to what ranking and snippets read.
const DOC_COLUMNS: &str = "d.doc_key, d.kind, d.entity_ref, d.name, d.title, d.summary, d.owner_ref, substr(d.body, 1, 2000) AS body, d.url";

/// Escapes a LIKE pattern's wildcards (the queries say `ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// What PostgreSQL's trigram index reads for a search entry (migration 0010): the words of its
/// name, title and text in lower case, then each word that has punctuation between letters or
/// digits once more, spelled as one word: every ASCII punctuation mark written as `Q`
/// (`cart-bucket-36` → `cartQbucketQ36`). `pg_trgm` breaks words at punctuation, so without it
/// part of a hyphenated name (`cart-b`) would be looked up as two words, one of them a single
/// letter. The upper-case `Q` never matches a (lower-case) search; `pg_trgm` folds case, so its
/// index reads it as a letter.
///
/// A search term has no white space, so it is found in the text exactly when it is found in one
/// of its words: each word is written once (and a `Q` spelling contained in another is left
/// out). That finds the same entries with a shorter text (about a fifth shorter for a typical
/// entity), and `pg_trgm` reads every character of it on each write. A query word whose only
/// punctuation is at an end (`cart-`) is looked up as typed alone.
fn haystack(d: &SearchDoc) -> String {
    let text = format!("{} {} {}", d.name, d.title, d.body).to_lowercase();
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut seen = std::collections::HashSet::new();
    let mut spelt: Vec<String> = Vec::new();
    for word in text.split_whitespace().filter(|w| seen.insert(*w)) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        spelt.extend(joined(word).filter(|j| !spelt.contains(j)));
    }
    for (i, word) in spelt.iter().enumerate() {
        if !spelt.iter().enumerate().any(|(k, other)| k != i && other.len() > word.len() && other.contains(word.as_str())) {
            out.push(' ');
            out.push_str(word);
        }
    }
    out
}

/// A word with ASCII punctuation between letters or digits, spelled as [`haystack`] spells it:
/// punctuation at either end left off, and each mark within written as `Q`. None for other words
/// (a search term's own punctuation at an end adds nothing to look up as one word).
fn joined(word: &str) -> Option<String> {
    let inner = word.trim_matches(|c: char| c.is_ascii_punctuation());
    inner.contains(|c: char| c.is_ascii_punctuation()).then(|| inner.chars().map(|c| if c.is_ascii_punctuation() { 'Q' } else { c }).collect())
}

/// An FTS5 query: each term as a quoted string, all required; with `fuzzy`, every trigram of
/// every term, any of them (bm25 then ranks documents sharing more trigrams first).
fn fts_query(spec: &SearchSpec) -> String {
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    if spec.fuzzy {
        let mut grams: Vec<String> = spec.terms.iter().flat_map(|t| app::search::trigrams(t)).collect();
        grams.sort();
        grams.dedup();
        grams.iter().map(|g| quote(g)).collect::<Vec<_>>().join(" OR ")
    } else {
        spec.terms.iter().map(|t| quote(t)).collect::<Vec<_>>().join(" AND ")
    }
}

/// Entities per write transaction of an apply on SQLite. Its one writer goes through the chunks
/// in turn, and a large transaction writes each index page to the write-ahead log once rather
/// than once per few hundred entities (10k entities: 500 per transaction wrote 175 MB to the log
/// for a 42 MB database).
const SQLITE_APPLY_BATCH: usize = 5000;

/// Entities per write transaction of an apply on PostgreSQL. Two chunks are written at once, each
/// by a server process of its own, while the next one is checked: smaller chunks keep both busy
/// until the end of a text (the last chunk is written alone). Measured with the catalog
/// benchmark against 5,000 (docs/catalog.md, sixth round): 10k entities in 1.70–2.00 s instead
/// of 2.08–2.22 s; at 250k the difference is within the machine's spread.
const POSTGRES_APPLY_BATCH: usize = 1000;

/// Key of the PostgreSQL advisory lock that keeps the audit chain linear across replicas.
const AUDIT_LOCK: i64 = 0x0061_7564_6974; // "audit" in ASCII

/// One running background task, counted in a store's `maintenance` until it is dropped (also
/// when the task fails or panics).
struct Running(Arc<tokio::sync::watch::Sender<usize>>);

impl Running {
    fn start(count: &Arc<tokio::sync::watch::Sender<usize>>) -> Running {
        count.send_modify(|n| *n += 1);
        Running(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

macro_rules! sql_store {
    ($Store:ident, $Db:ty, $dialect:literal, $sqlite:literal) => {
        pub struct $Store {
            pool: sqlx::Pool<$Db>,
            /// Where write transactions run: on SQLite one connection of its own, on PostgreSQL
            /// the same pool.
            writes: sqlx::Pool<$Db>,
            /// SQLite allows one writer at a time: writers in this process queue here instead of
            /// failing with "database is locked". PostgreSQL does not need it.
            write_lock: tokio::sync::Mutex<()>,
            /// Workflow notices (`run:<id>`) for this process's engine and live views.
            notices: tokio::sync::broadcast::Sender<String>,
            /// A VACUUM after a large import is running (PostgreSQL).
            vacuuming: Arc<std::sync::atomic::AtomicBool>,
            /// How many of `catalog_analyze`'s background tasks are still running.
            maintenance: Arc<tokio::sync::watch::Sender<usize>>,
        }

        impl $Store {
            pub fn new(pool: sqlx::Pool<$Db>, writes: sqlx::Pool<$Db>) -> Self {
                let (notices, _) = tokio::sync::broadcast::channel(4096);
                $Store { pool, writes, write_lock: tokio::sync::Mutex::new(()), notices, vacuuming: Arc::default(), maintenance: Arc::new(tokio::sync::watch::Sender::new(0)) }
            }

            pub fn pool(&self) -> &sqlx::Pool<$Db> {
                &self.pool
            }

            async fn writer(&self) -> StoreResult<(Option<tokio::sync::MutexGuard<'_, ()>>, sqlx::Transaction<'static, $Db>)> {
                let guard = if $sqlite { Some(self.write_lock.lock().await) } else { None };
                let tx = self.writes.begin().await.map_err(err)?;
                Ok((guard, tx))
            }

            fn user(r: &<$Db as sqlx::Database>::Row) -> StoreResult<UserRecord> {
                Ok(UserRecord {
                    id: r.try_get("id").map_err(err)?,
                    username: r.try_get("username").map_err(err)?,
                    display_name: r.try_get("display_name").map_err(err)?,
                    email: r.try_get("email").map_err(err)?,
                    password_hash: r.try_get("password_hash").map_err(err)?,
                    is_admin: r.try_get("is_admin").map_err(err)?,
                    disabled: r.try_get("disabled").map_err(err)?,
                    failed_logins: r.try_get("failed_logins").map_err(err)?,
                    locked_until: r.try_get("locked_until").map_err(err)?,
                    created_at: r.try_get("created_at").map_err(err)?,
                    updated_at: r.try_get("updated_at").map_err(err)?,
                    version: r.try_get("version").map_err(err)?,
                })
            }

            fn token(r: &<$Db as sqlx::Database>::Row) -> StoreResult<TokenRecord> {
                Ok(TokenRecord {
                    id: r.try_get("id").map_err(err)?,
                    user_id: r.try_get("user_id").map_err(err)?,
                    name: r.try_get("name").map_err(err)?,
                    prefix: r.try_get("prefix").map_err(err)?,
                    secret_hash: r.try_get("secret_hash").map_err(err)?,
                    created_at: r.try_get("created_at").map_err(err)?,
                    expires_at: r.try_get("expires_at").map_err(err)?,
                    last_used_at: r.try_get("last_used_at").map_err(err)?,
                    revoked_at: r.try_get("revoked_at").map_err(err)?,
                })
            }

            fn audit_row(r: &<$Db as sqlx::Database>::Row) -> StoreResult<AuditRow> {
                Ok(AuditRow {
                    seq: r.try_get("seq").map_err(err)?,
                    draft: AuditDraft {
                        at: r.try_get("at").map_err(err)?,
                        actor: r.try_get("actor").map_err(err)?,
                        action: r.try_get("action").map_err(err)?,
                        target: r.try_get("target").map_err(err)?,
                        team: r.try_get("team").map_err(err)?,
                        before: r.try_get("before_json").map_err(err)?,
                        after: r.try_get("after_json").map_err(err)?,
                        decision: r.try_get("decision").map_err(err)?,
                        reason: r.try_get("reason").map_err(err)?,
                        request_id: r.try_get("request_id").map_err(err)?,
                    },
                    prev_hash: r.try_get("prev_hash").map_err(err)?,
                    hash: r.try_get("hash").map_err(err)?,
                })
            }

            fn catalog(r: &<$Db as sqlx::Database>::Row, with_body: bool) -> StoreResult<CatalogRecord> {
                Ok(CatalogRecord {
                    entity_ref: r.try_get("entity_ref").map_err(err)?,
                    kind: r.try_get("kind").map_err(err)?,
                    namespace: r.try_get("namespace").map_err(err)?,
                    name: r.try_get("name").map_err(err)?,
                    title: r.try_get("title").map_err(err)?,
                    description: r.try_get("description").map_err(err)?,
                    spec_type: r.try_get("spec_type").map_err(err)?,
                    lifecycle: r.try_get("lifecycle").map_err(err)?,
                    owner_ref: r.try_get("owner_ref").map_err(err)?,
                    system_ref: r.try_get("system_ref").map_err(err)?,
                    tags: Vec::new(),
                    body: if with_body { r.try_get("body").map_err(err)? } else { String::new() },
                    etag: r.try_get("etag").map_err(err)?,
                    version: r.try_get("version").map_err(err)?,
                    source: r.try_get("source").map_err(err)?,
                    orphan: r.try_get("orphan").map_err(err)?,
                    created_at: r.try_get("created_at").map_err(err)?,
                    updated_at: r.try_get("updated_at").map_err(err)?,
                })
            }

            /// Fills in the tags of `records` with one query.
            async fn with_tags(&self, mut records: Vec<CatalogRecord>) -> StoreResult<Vec<CatalogRecord>> {
                if records.is_empty() {
                    return Ok(records);
                }
                let marks: Vec<String> = (1..=records.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT e.entity_ref, t.tag FROM catalog_entities e JOIN catalog_tags t ON t.entity_id = e.id \
                     WHERE e.entity_ref IN ({}) ORDER BY t.tag",
                    marks.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in &records {
                    q = q.bind(r.entity_ref.clone());
                }
                let mut tags: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
                for row in q.fetch_all(&self.pool).await.map_err(err)? {
                    let entity: String = row.try_get("entity_ref").map_err(err)?;
                    tags.entry(entity).or_default().push(row.try_get("tag").map_err(err)?);
                }
                for r in &mut records {
                    r.tags = tags.remove(&r.entity_ref).unwrap_or_default();
                }
                Ok(records)
            }

            fn team(r: &<$Db as sqlx::Database>::Row) -> StoreResult<TeamRecord> {
                Ok(TeamRecord {
                    id: r.try_get("id").map_err(err)?,
                    slug: r.try_get("slug").map_err(err)?,
                    display_name: r.try_get("display_name").map_err(err)?,
                    description: r.try_get("description").map_err(err)?,
                    created_at: r.try_get("created_at").map_err(err)?,
                    member_count: r.try_get("member_count").map_err(err)?,
                })
            }

            fn search_doc(r: &<$Db as sqlx::Database>::Row) -> StoreResult<SearchDoc> {
                Ok(SearchDoc {
                    doc_key: r.try_get("doc_key").map_err(err)?,
                    kind: r.try_get("kind").map_err(err)?,
                    entity_ref: r.try_get("entity_ref").map_err(err)?,
                    name: r.try_get("name").map_err(err)?,
                    title: r.try_get("title").map_err(err)?,
                    summary: r.try_get("summary").map_err(err)?,
                    owner_ref: r.try_get("owner_ref").map_err(err)?,
                    body: r.try_get("body").map_err(err)?,
                    url: r.try_get("url").map_err(err)?,
                })
            }

            /// Where matches of `spec` come from: FROM and WHERE (kind and limit left out), the
            /// values to bind in order from $1, and the ORDER BY that ranks alike ones (exact ones
            /// come in the index's own order: the caller ranks them, names first, and scoring
            /// would read every match). With `kinds_only`, only `d.id` and `d.kind` are read (on
            /// SQLite from a small index instead of each match's whole row).
            fn matching(spec: &SearchSpec, kinds_only: bool) -> (String, Vec<String>, &'static str) {
                if $sqlite {
                    let hint = if kinds_only { " INDEXED BY search_kinds" } else { "" };
                    // bm25 ranks documents sharing more of the query's trigrams first.
                    let order = if spec.fuzzy { " ORDER BY bm25(search_fts, 10.0, 5.0, 1.0)" } else { "" };
                    let from = format!("FROM search_fts JOIN search_documents d{hint} ON d.id = search_fts.rowid WHERE search_fts MATCH $1");
                    (from, vec![fts_query(spec)], order)
                } else if spec.fuzzy {
                    // Names and titles only, as only those count as alike; written as migration
                    // 0011's index expression, so that the index serves both.
                    let from = "FROM search_documents d WHERE $1 <% lower(d.name || ' ' || d.title)".to_string();
                    (from, vec![spec.terms.join(" ")], " ORDER BY word_similarity($1, lower(d.name || ' ' || d.title)) DESC")
                } else {
                    let mut conds = Vec::new();
                    let mut binds = Vec::new();
                    for t in &spec.terms {
                        binds.push(format!("%{}%", like_escape(t)));
                        conds.push(format!("d.haystack LIKE ${} ESCAPE '\\'", binds.len()));
                        // Also as one word (migration 0010): the index then finds far fewer
                        // candidates for part of a hyphenated name.
                        if let Some(joined) = joined(t) {
                            binds.push(format!("%{joined}%"));
                            conds.push(format!("d.haystack LIKE ${}", binds.len()));
                        }
                    }
                    (format!("FROM search_documents d WHERE {}", conds.join(" AND ")), binds, "")
                }
            }

            fn doc(r: &<$Db as sqlx::Database>::Row) -> StoreResult<DocRecord> {
                Ok(DocRecord {
                    id: r.try_get("id").map_err(err)?,
                    entity_ref: r.try_get("entity_ref").map_err(err)?,
                    path: r.try_get("path").map_err(err)?,
                    title: r.try_get("title").map_err(err)?,
                    markdown: r.try_get("markdown").map_err(err)?,
                    source: r.try_get("source").map_err(err)?,
                    version: r.try_get("version").map_err(err)?,
                    updated_by: r.try_get("updated_by").map_err(err)?,
                    created_at: r.try_get("created_at").map_err(err)?,
                    updated_at: r.try_get("updated_at").map_err(err)?,
                })
            }

            fn search_log_row(r: &<$Db as sqlx::Database>::Row) -> StoreResult<SearchLogRecord> {
                Ok(SearchLogRecord {
                    id: r.try_get("id").map_err(err)?,
                    at: r.try_get("at").map_err(err)?,
                    user_id: r.try_get("user_id").map_err(err)?,
                    query: r.try_get("query").map_err(err)?,
                    origin: r.try_get("origin").map_err(err)?,
                    result_count: r.try_get("result_count").map_err(err)?,
                    took_us: r.try_get("took_us").map_err(err)?,
                    opened_key: r.try_get("opened_key").map_err(err)?,
                    opened_rank: r.try_get("opened_rank").map_err(err)?,
                    opened_ms: r.try_get("opened_ms").map_err(err)?,
                })
            }

            /// Runs a [`Bulk`] statement inside `tx`; the rows it changed.
            async fn run(tx: &mut sqlx::Transaction<'static, $Db>, b: &Bulk) -> StoreResult<u64> {
                let done = sqlx::query(sqlx::AssertSqlSafe(b.sql.as_str())).bind(b.rows.as_str()).execute(&mut **tx).await.map_err(err)?;
                Ok(done.rows_affected())
            }

            /// The statement that writes (inserts or replaces) search entries; none for none.
            /// On PostgreSQL each row also carries its [`haystack`].
            fn index(docs: &[&SearchDoc]) -> Option<Bulk> {
                if docs.is_empty() {
                    return None;
                }
                let haystacks: Vec<String> = if $sqlite { Vec::new() } else { docs.iter().map(|d| haystack(d)).collect() };
                let rows: Vec<Vec<Cell>> = docs
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let mut row = cells![&d.doc_key, &d.kind, &d.entity_ref, &d.name, &d.title, &d.summary, &d.owner_ref, &d.body, &d.url].to_vec();
                        row.extend(haystacks.get(i).map(Cell::from));
                        row
                    })
                    .collect();
                let (columns, cells, set_haystack) = if $sqlite {
                    (SEARCH_COLUMNS.to_string(), "ttttttttt", "")
                } else {
                    (format!("{SEARCH_COLUMNS}, haystack"), "tttttttttt", ", haystack = excluded.haystack")
                };
                // `WHERE true`: SQLite reads `ON CONFLICT` after a bare `FROM` as a join constraint.
                let sql = format!(
                    "INSERT INTO search_documents ({columns}) {} WHERE true ON CONFLICT (doc_key) DO UPDATE SET \
                     kind = excluded.kind, entity_ref = excluded.entity_ref, name = excluded.name, title = excluded.title, \
                     summary = excluded.summary, owner_ref = excluded.owner_ref, body = excluded.body, url = excluded.url{set_haystack}",
                    json_select(cells, $sqlite)
                );
                Some(Bulk::new(sql, &rows))
            }

            /// Chains and inserts audit entries, in order, inside the caller's transaction (on
            /// PostgreSQL under an advisory lock, so the chain stays linear across replicas).
            async fn append_all(tx: &mut sqlx::Transaction<'static, $Db>, drafts: Vec<AuditDraft>) -> StoreResult<Vec<AuditRow>> {
                if drafts.is_empty() {
                    return Ok(Vec::new());
                }
                if !$sqlite {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut **tx).await.map_err(err)?;
                }
                let mut last: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(err)?;
                let mut rows = Vec::with_capacity(drafts.len());
                for draft in drafts {
                    let row = audit::chain(draft, last.take());
                    last = Some((row.seq, row.hash.clone()));
                    rows.push(row);
                }
                let cells: Vec<[Cell; 13]> = rows
                    .iter()
                    .map(|row| {
                        let d = &row.draft;
                        cells![
                            row.seq, &d.at, &d.actor, &d.action, &d.target, &d.team, &d.before, &d.after, &d.decision, &d.reason,
                            &d.request_id, &row.prev_hash, &row.hash
                        ]
                    })
                    .collect();
                let sql = format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) {}", json_select("ntttttttttttt", $sqlite));
                Self::run(tx, &Bulk::new(sql, &cells)).await?;
                Ok(rows)
            }

            /// Chains and inserts an audit entry inside the caller's transaction.
            async fn append(tx: &mut sqlx::Transaction<'static, $Db>, draft: AuditDraft) -> StoreResult<AuditRow> {
                Self::append_all(tx, vec![draft]).await?.pop().ok_or_else(|| StoreError::Other("no audit row".into()))
            }
        }

        #[async_trait]
        impl Store for $Store {
            fn dialect(&self) -> &'static str {
                $dialect
            }

            fn apply_batch(&self) -> usize {
                if $sqlite { SQLITE_APPLY_BATCH } else { POSTGRES_APPLY_BATCH }
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(err)?;
                Ok(())
            }

            async fn user_count(&self) -> StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await.map_err(err)?;
                Ok(n)
            }

            async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
                let q = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(username).fetch_optional(&self.pool).await.map_err(err)?;
                row.as_ref().map(Self::user).transpose()
            }

            async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
                let q = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(id).fetch_optional(&self.pool).await.map_err(err)?;
                row.as_ref().map(Self::user).transpose()
            }

            async fn list_users(&self) -> StoreResult<Vec<UserRecord>> {
                let q = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
                sqlx::query(sqlx::AssertSqlSafe(q)).fetch_all(&self.pool).await.map_err(err)?.iter().map(Self::user).collect()
            }

            async fn insert_user(&self, u: &UserRecord, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                )))
                .bind(&u.id)
                .bind(&u.username)
                .bind(&u.display_name)
                .bind(&u.email)
                .bind(&u.password_hash)
                .bind(u.is_admin)
                .bind(u.disabled)
                .bind(u.failed_logins)
                .bind(&u.locked_until)
                .bind(&u.created_at)
                .bind(&u.updated_at)
                .bind(u.version)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn update_user(&self, u: &UserRecord, audit: Option<AuditDraft>) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query(
                    "UPDATE users SET display_name = $1, email = $2, password_hash = $3, is_admin = $4, disabled = $5, \
                     updated_at = $6, version = $7 WHERE id = $8 AND version = $9",
                )
                .bind(&u.display_name)
                .bind(&u.email)
                .bind(&u.password_hash)
                .bind(u.is_admin)
                .bind(u.disabled)
                .bind(&u.updated_at)
                .bind(u.version)
                .bind(&u.id)
                .bind(u.version - 1)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict(format!("user {} was changed concurrently", u.username)));
                }
                if let Some(a) = audit {
                    Self::append(&mut tx, a).await?;
                }
                tx.commit().await.map_err(err)
            }

            async fn set_login_state(&self, user_id: &str, failed: i64, locked_until: Option<&str>) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
                    .bind(failed)
                    .bind(locked_until)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn list_teams(&self) -> StoreResult<Vec<TeamRecord>> {
                sqlx::query(
                    "SELECT t.id, t.slug, t.display_name, t.description, t.created_at, \
                     (SELECT COUNT(*) FROM memberships m WHERE m.team_id = t.id) AS member_count \
                     FROM teams t ORDER BY t.display_name",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(err)?
                .iter()
                .map(Self::team)
                .collect()
            }

            async fn team_by_slug(&self, slug: &str) -> StoreResult<Option<TeamRecord>> {
                let row = sqlx::query(
                    "SELECT t.id, t.slug, t.display_name, t.description, t.created_at, \
                     (SELECT COUNT(*) FROM memberships m WHERE m.team_id = t.id) AS member_count \
                     FROM teams t WHERE t.slug = $1",
                )
                .bind(slug)
                .fetch_optional(&self.pool)
                .await
                .map_err(err)?;
                row.as_ref().map(Self::team).transpose()
            }

            async fn insert_team(&self, t: &TeamRecord, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("INSERT INTO teams (id, slug, display_name, description, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&t.id)
                    .bind(&t.slug)
                    .bind(&t.display_name)
                    .bind(&t.description)
                    .bind(&t.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn delete_team(&self, team_id: &str, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM teams WHERE id = $1").bind(team_id).execute(&mut *tx).await.map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn memberships_of(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
                let rows = sqlx::query(
                    "SELECT t.slug, t.display_name, m.role FROM memberships m JOIN teams t ON t.id = m.team_id \
                     WHERE m.user_id = $1 ORDER BY t.display_name",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        let role: String = r.try_get("role").map_err(err)?;
                        Ok(Membership {
                            team: r.try_get("slug").map_err(err)?,
                            team_name: r.try_get("display_name").map_err(err)?,
                            role: Role::parse(&role).ok_or_else(|| StoreError::Other(format!("unknown role {role}")))?,
                        })
                    })
                    .collect()
            }

            async fn members_of(&self, team_id: &str) -> StoreResult<Vec<TeamMember>> {
                let rows = sqlx::query(
                    "SELECT u.username, u.display_name, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
                     WHERE m.team_id = $1 ORDER BY u.display_name",
                )
                .bind(team_id)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        let role: String = r.try_get("role").map_err(err)?;
                        Ok(TeamMember {
                            username: r.try_get("username").map_err(err)?,
                            display_name: r.try_get("display_name").map_err(err)?,
                            role: Role::parse(&role).ok_or_else(|| StoreError::Other(format!("unknown role {role}")))?,
                        })
                    })
                    .collect()
            }

            async fn set_membership(&self, team_id: &str, user_id: &str, role: Option<Role>, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                match role {
                    Some(role) => sqlx::query(
                        "INSERT INTO memberships (team_id, user_id, role) VALUES ($1, $2, $3) \
                         ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(team_id)
                    .bind(user_id)
                    .bind(role.as_str()),
                    None => sqlx::query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2").bind(team_id).bind(user_id),
                }
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn list_environments(&self) -> StoreResult<Vec<Environment>> {
                let rows = sqlx::query("SELECT name, display_name, tier FROM environments ORDER BY position, name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        let tier: String = r.try_get("tier").map_err(err)?;
                        Ok(Environment {
                            name: r.try_get("name").map_err(err)?,
                            display_name: r.try_get("display_name").map_err(err)?,
                            tier: Tier::parse(&tier).ok_or_else(|| StoreError::Other(format!("unknown tier {tier}")))?,
                        })
                    })
                    .collect()
            }

            async fn insert_environment(&self, env: &Environment) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query(
                    "INSERT INTO environments (name, display_name, tier, position) \
                     VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM environments))",
                )
                .bind(&env.name)
                .bind(&env.display_name)
                .bind(env.tier.as_str())
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn insert_session(&self, s: &SessionRecord, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(&s.id_hash)
                    .bind(&s.user_id)
                    .bind(&s.created_at)
                    .bind(&s.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
                let row = sqlx::query("SELECT id_hash, user_id, created_at, expires_at FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(err)?;
                row.map(|r| {
                    Ok(SessionRecord {
                        id_hash: r.try_get("id_hash").map_err(err)?,
                        user_id: r.try_get("user_id").map_err(err)?,
                        created_at: r.try_get("created_at").map_err(err)?,
                        expires_at: r.try_get("expires_at").map_err(err)?,
                    })
                })
                .transpose()
            }

            async fn delete_session(&self, id_hash: &str, audit: Option<AuditDraft>) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&mut *tx).await.map_err(err)?;
                if let Some(a) = audit {
                    Self::append(&mut tx, a).await?;
                }
                tx.commit().await.map_err(err)
            }

            async fn delete_sessions_of(&self, user_id: &str) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn delete_expired_sessions(&self, now: &str) -> StoreResult<u64> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(done.rows_affected())
            }

            async fn insert_token(&self, t: &TokenRecord, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")))
                    .bind(&t.id)
                    .bind(&t.user_id)
                    .bind(&t.name)
                    .bind(&t.prefix)
                    .bind(&t.secret_hash)
                    .bind(&t.created_at)
                    .bind(&t.expires_at)
                    .bind(&t.last_used_at)
                    .bind(&t.revoked_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn tokens_of(&self, user_id: &str) -> StoreResult<Vec<TokenRecord>> {
                let q = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC");
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(user_id).fetch_all(&self.pool).await.map_err(err)?.iter().map(Self::token).collect()
            }

            async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<TokenRecord>> {
                let q = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(secret_hash).fetch_optional(&self.pool).await.map_err(err)?;
                row.as_ref().map(Self::token).transpose()
            }

            async fn revoke_token(&self, token_id: &str, at: &str, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(at)
                    .bind(token_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn touch_token(&self, token_id: &str, at: &str) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(token_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn catalog_get(&self, entity_ref: &str) -> StoreResult<Option<CatalogRecord>> {
                let q = format!("SELECT {CATALOG_COLUMNS} FROM catalog_entities e WHERE entity_ref = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(q)).bind(entity_ref).fetch_optional(&self.pool).await.map_err(err)?;
                let Some(rec) = row.as_ref().map(|r| Self::catalog(r, true)).transpose()? else { return Ok(None) };
                Ok(self.with_tags(vec![rec]).await?.pop())
            }

            async fn catalog_stamps(&self, refs: &[String]) -> StoreResult<Vec<CatalogStamp>> {
                if refs.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT entity_ref, etag, version, owner_ref, created_at, source, orphan FROM catalog_entities \
                     WHERE entity_ref IN ({})",
                    json_select("t", $sqlite)
                );
                let mut found = Vec::new();
                for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json_list(refs)).fetch_all(&self.pool).await.map_err(err)? {
                    found.push(CatalogStamp {
                        entity_ref: r.try_get("entity_ref").map_err(err)?,
                        etag: r.try_get("etag").map_err(err)?,
                        version: r.try_get("version").map_err(err)?,
                        owner_ref: r.try_get("owner_ref").map_err(err)?,
                        created_at: r.try_get("created_at").map_err(err)?,
                        source: r.try_get("source").map_err(err)?,
                        orphan: r.try_get("orphan").map_err(err)?,
                    });
                }
                Ok(found)
            }

            async fn catalog_existing(&self, refs: &[String]) -> StoreResult<Vec<String>> {
                if refs.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!("SELECT entity_ref FROM catalog_entities WHERE entity_ref IN ({})", json_select("t", $sqlite));
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(json_list(refs)).fetch_all(&self.pool).await.map_err(err)
            }

            async fn catalog_write(&self, writes: Vec<CatalogWrite>) -> StoreResult<()> {
                if writes.is_empty() {
                    return Ok(());
                }
                // Each table is written with one statement whose rows are a JSON array (json_rows),
                // all prepared before the transaction begins.
                const ENTITY_CELLS: &str = "tttttttttttttntbt";
                let (inserts, updates): (Vec<&CatalogRecord>, Vec<&CatalogRecord>) = writes.iter().map(|w| &w.rec).partition(|r| r.version == 1);
                // The update, whose row count is checked, and then the rest in order.
                let mut update = None;
                let mut statements = Vec::new();
                if !inserts.is_empty() {
                    let sql = format!(
                        "INSERT INTO catalog_entities (entity_ref, created_at, {ENTITY_FIELDS}) {}",
                        json_select(ENTITY_CELLS, $sqlite)
                    );
                    statements.push(Bulk::new(sql, &entity_rows(&inserts)));
                }
                if !updates.is_empty() {
                    // Each row only from the version its writer read: fewer rows changed than sent
                    // means someone else changed one of them meanwhile.
                    // Cells 0 and 1 are the reference and the creation time; the fields follow.
                    let sets: Vec<String> = ENTITY_FIELDS
                        .split(", ")
                        .zip(ENTITY_CELLS.chars().enumerate().skip(2))
                        .map(|(f, (i, t))| format!("{f} = {}", json_cell(i, t)))
                        .collect();
                    let sql = format!(
                        "UPDATE catalog_entities SET {} FROM {} WHERE entity_ref = {} AND catalog_entities.version = {} - 1",
                        sets.join(", "),
                        json_rows($sqlite),
                        json_cell(0, 't'),
                        json_cell(13, 'n')
                    );
                    update = Some(Bulk::new(sql, &entity_rows(&updates)));
                    // What they declared before goes; what they declare now is inserted below.
                    let refs: Vec<[Cell; 1]> = updates.iter().map(|e| cells![&e.entity_ref]).collect();
                    for (table, key) in [("catalog_tags", "entity_id"), ("catalog_relations", "origin_id")] {
                        let sql = format!(
                            "DELETE FROM {table} WHERE {key} IN (SELECT id FROM catalog_entities WHERE entity_ref IN ({}))",
                            json_select("t", $sqlite)
                        );
                        statements.push(Bulk::new(sql, &refs));
                    }
                }
                let mut tags = Vec::new();
                let mut relations = Vec::new();
                for w in &writes {
                    let mut own: Vec<&str> = w.rec.tags.iter().map(String::as_str).collect();
                    own.sort();
                    own.dedup();
                    tags.extend(own.into_iter().map(|t| cells![&w.rec.entity_ref, t]));
                    let mut seen = std::collections::HashSet::new();
                    relations.extend(
                        w.relations.iter().filter(|r| seen.insert(*r)).map(|r| cells![&w.rec.entity_ref, &r.relation, &r.target_ref]),
                    );
                }
                // Tags and relations are keyed by their entity's id, looked up by its reference
                // (just written, so its index pages are in the cache).
                if !tags.is_empty() {
                    let sql = format!(
                        "INSERT INTO catalog_tags (entity_id, tag) SELECT e.id, {} FROM {} JOIN catalog_entities e ON e.entity_ref = {}",
                        json_cell(1, 't'),
                        json_rows($sqlite),
                        json_cell(0, 't')
                    );
                    statements.push(Bulk::new(sql, &tags));
                }
                if !relations.is_empty() {
                    let sql = format!(
                        "INSERT INTO catalog_relations (origin_id, relation, target_ref) SELECT e.id, {}, {} FROM {} \
                         JOIN catalog_entities e ON e.entity_ref = {} WHERE true ON CONFLICT DO NOTHING",
                        json_cell(1, 't'),
                        json_cell(2, 't'),
                        json_rows($sqlite),
                        json_cell(0, 't')
                    );
                    statements.push(Bulk::new(sql, &relations));
                }
                let docs: Vec<&SearchDoc> = writes.iter().map(|w| &w.search).collect();
                statements.extend(Self::index(&docs));
                let expected = updates.len() as u64;
                let audits: Vec<AuditDraft> = writes.into_iter().map(|w| w.audit).collect();

                let (_g, mut tx) = self.writer().await?;
                if let Some(b) = &update {
                    if Self::run(&mut tx, b).await? != expected {
                        return Err(StoreError::Conflict("an entity was changed concurrently".into()));
                    }
                }
                for b in &statements {
                    Self::run(&mut tx, b).await?;
                }
                // Last, as they lock one row (and the audit chain): on PostgreSQL, transactions
                // writing other entities meanwhile wait for each other only here.
                sqlx::query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await.map_err(err)?;
                Self::append_all(&mut tx, audits).await?;
                tx.commit().await.map_err(err)
            }

            async fn catalog_set_orphan(&self, refs: &[String], orphan: bool, audits: Vec<AuditDraft>) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                if !refs.is_empty() {
                    let sql = format!("UPDATE catalog_entities SET orphan = $2 WHERE entity_ref IN ({})", json_select("t", $sqlite));
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json_list(refs)).bind(orphan).execute(&mut *tx).await.map_err(err)?;
                }
                sqlx::query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await.map_err(err)?;
                Self::append_all(&mut tx, audits).await?;
                tx.commit().await.map_err(err)
            }

            async fn catalog_analyze(&self) -> StoreResult<()> {
                if $sqlite {
                    sqlx::query("PRAGMA optimize").execute(&self.pool).await.map_err(err)?;
                    return Ok(());
                }
                // In the background, so that an import returns as soon as its entities are in
                // (about 140 ms at 10,000 entities); PostgreSQL's ANALYZE does not block writes.
                let (pool, running) = (self.pool.clone(), Running::start(&self.maintenance));
                tokio::spawn(async move {
                    let _running = running;
                    let sql = "ANALYZE catalog_entities, catalog_tags, catalog_relations, search_documents";
                    if let Err(e) = sqlx::query(sql).execute(&pool).await {
                        tracing::warn!(error = %e, "refreshing planner statistics failed");
                    }
                });
                if !self.vacuuming.swap(true, std::sync::atomic::Ordering::AcqRel) {
                    // Marks the new rows visible to all in the visibility map, so that lists are
                    // answered from the indexes alone (a deep page otherwise visits a table row
                    // per skipped entry); in the background, one at a time.
                    let (pool, flag, running) = (self.pool.clone(), self.vacuuming.clone(), Running::start(&self.maintenance));
                    tokio::spawn(async move {
                        let _running = running;
                        // After the import settles (no catalog change for a second), so that it
                        // covers the whole import and does not slow it down.
                        let generation = || sqlx::query_as::<_, (i64,)>("SELECT generation FROM catalog_meta WHERE id = 1").fetch_one(&pool);
                        let mut seen = generation().await.map(|g| g.0).unwrap_or(0);
                        loop {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            match generation().await {
                                Ok((g,)) if g != seen => seen = g,
                                _ => break,
                            }
                        }
                        if let Err(e) = sqlx::query("VACUUM catalog_entities, catalog_tags, catalog_relations, search_documents").execute(&pool).await {
                            tracing::warn!(error = %e, "VACUUM after a large import failed");
                        }
                        flag.store(false, std::sync::atomic::Ordering::Release);
                    });
                }
                Ok(())
            }

            async fn catalog_settled(&self) {
                let mut running = self.maintenance.subscribe();
                let _ = running.wait_for(|n| *n == 0).await;
            }

            async fn catalog_refs_from(&self, source: &str) -> StoreResult<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as("SELECT entity_ref FROM catalog_entities WHERE source = $1 ORDER BY entity_ref")
                    .bind(source)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?;
                Ok(rows.into_iter().map(|(r,)| r).collect())
            }

            async fn catalog_delete(&self, entity_ref: &str, version: i64, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let deleted: Option<i64> = sqlx::query_scalar("DELETE FROM catalog_entities WHERE entity_ref = $1 AND version = $2 RETURNING id")
                    .bind(entity_ref)
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                let Some(id) = deleted else {
                    let exists: Option<(i64,)> = sqlx::query_as("SELECT version FROM catalog_entities WHERE entity_ref = $1")
                        .bind(entity_ref)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?;
                    return Err(match exists {
                        Some(_) => StoreError::Conflict(format!("{entity_ref} was changed concurrently")),
                        None => StoreError::NotFound,
                    });
                };
                // Its tags and relations have no foreign key (for ingest speed): they go here.
                sqlx::query("DELETE FROM search_documents WHERE entity_ref = $1").bind(entity_ref).execute(&mut *tx).await.map_err(err)?;
                for sql in ["DELETE FROM catalog_tags WHERE entity_id = $1", "DELETE FROM catalog_relations WHERE origin_id = $1"] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(err)?;
                }
                sqlx::query("UPDATE catalog_meta SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await.map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn catalog_page(&self, f: &CatalogFilter) -> StoreResult<Vec<CatalogRecord>> {
                let (mut clause, mut binds) = catalog_where(f, None);
                let columns = CATALOG_COLUMNS.replace("body, ", "").replace(", ", ", e.");
                let (keys, descending) = f.sort.columns();
                if let Some(after) = &f.after {
                    // A row comparison: the ordering index is entered at the anchor.
                    let start = binds.len() + 1;
                    let cols: Vec<String> = keys.iter().map(|c| format!("e.{c}")).collect();
                    clause.push_str(&format!(" AND ({}) {} ({})", cols.join(", "), if descending { "<" } else { ">" }, marks(start, after.len())));
                    binds.extend(after.iter().cloned());
                }
                let order = sort_order(f.sort);
                let n = binds.len();
                // The page is chosen from the ordering index alone, then its rows are read: a deep
                // page skips index entries, not table rows.
                let sql = format!(
                    "SELECT e.{columns} FROM catalog_entities e JOIN (SELECT e.entity_ref FROM catalog_entities e{clause} \
                     ORDER BY {order} LIMIT ${} OFFSET ${}) p ON p.entity_ref = e.entity_ref ORDER BY {order}",
                    n + 1,
                    n + 2
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b.clone());
                }
                let rows = q.bind(f.limit).bind(f.offset).fetch_all(&self.pool).await.map_err(err)?;
                let records = rows.iter().map(|r| Self::catalog(r, false)).collect::<StoreResult<Vec<_>>>()?;
                self.with_tags(records).await
            }

            async fn catalog_anchors(&self, f: &CatalogFilter, step: i64) -> StoreResult<Vec<SortKey>> {
                let (clause, binds) = catalog_where(f, None);
                let (keys, _) = f.sort.columns();
                let inner: Vec<String> = keys.iter().map(|c| format!("e.{c}")).collect();
                let sql = format!(
                    "SELECT {} FROM (SELECT {}, ROW_NUMBER() OVER (ORDER BY {}) AS n FROM catalog_entities e{clause}) a \
                     WHERE n % {step} = 0 ORDER BY n",
                    keys.join(", "),
                    inner.join(", "),
                    sort_order(f.sort)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b.clone());
                }
                let rows = q.fetch_all(&self.pool).await.map_err(err)?;
                rows.iter().map(|r| (0..keys.len()).map(|i| r.try_get::<String, _>(i).map_err(err)).collect()).collect()
            }

            async fn catalog_count(&self, f: &CatalogFilter) -> StoreResult<i64> {
                let (clause, binds) = catalog_where(f, None);
                let mut count = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM catalog_entities e{clause}")));
                for b in &binds {
                    count = count.bind(b.clone());
                }
                Ok(count.fetch_one(&self.pool).await.map_err(err)?.0)
            }

            async fn catalog_generation(&self) -> StoreResult<i64> {
                let (g,): (i64,) = sqlx::query_as("SELECT generation FROM catalog_meta WHERE id = 1").fetch_one(&self.pool).await.map_err(err)?;
                Ok(g)
            }

            async fn catalog_facet(&self, facet: Facet, f: &CatalogFilter) -> StoreResult<Vec<(String, i64)>> {
                let (clause, binds) = catalog_where(f, Some(facet));
                let sql = match facet {
                    // Every entity counts: the tags alone answer.
                    Facet::Tag if binds.is_empty() => {
                        "SELECT tag AS value, COUNT(*) AS n FROM catalog_tags GROUP BY tag ORDER BY n DESC, value LIMIT 50".to_string()
                    }
                    Facet::Tag => format!(
                        "SELECT t.tag AS value, COUNT(*) AS n FROM catalog_tags t JOIN catalog_entities e ON e.id = t.entity_id{clause} \
                         GROUP BY t.tag ORDER BY n DESC, value LIMIT 50"
                    ),
                    other => {
                        let column = match other {
                            Facet::Kind => "e.kind",
                            Facet::SpecType => "e.spec_type",
                            Facet::Owner => "e.owner_ref",
                            Facet::Lifecycle => "e.lifecycle",
                            Facet::System => "e.system_ref",
                            _ => "e.namespace",
                        };
                        format!(
                            "SELECT {column} AS value, COUNT(*) AS n FROM catalog_entities e{clause} AND {column} IS NOT NULL \
                             GROUP BY {column} ORDER BY n DESC, value LIMIT 50"
                        )
                    }
                };
                let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b.clone());
                }
                q.fetch_all(&self.pool).await.map_err(err)
            }

            async fn catalog_relations(&self, entity_ref: &str) -> StoreResult<Vec<RelationTarget>> {
                // As declared by the entity, and declared by others about it (seen from its end).
                let sql = format!(
                    "SELECT DISTINCT r.relation, r.target_ref, COALESCE(e.title, e.name) AS target_title, \
                     e.entity_ref IS NOT NULL AS target_exists \
                     FROM (SELECT r.relation, r.target_ref FROM catalog_entities o JOIN catalog_relations r ON r.origin_id = o.id \
                           WHERE o.entity_ref = $1 \
                           UNION ALL SELECT {}, o.entity_ref FROM catalog_relations r JOIN catalog_entities o ON o.id = r.origin_id \
                           WHERE r.target_ref = $1) r \
                     LEFT JOIN catalog_entities e ON e.entity_ref = r.target_ref ORDER BY r.relation, r.target_ref",
                    reverse_relation_sql()
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(entity_ref)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        Ok(RelationTarget {
                            relation: r.try_get("relation").map_err(err)?,
                            target_ref: r.try_get("target_ref").map_err(err)?,
                            target_title: r.try_get("target_title").map_err(err)?,
                            target_exists: r.try_get("target_exists").map_err(err)?,
                        })
                    })
                    .collect()
            }

            async fn catalog_bodies(&self, f: &CatalogFilter) -> StoreResult<Vec<String>> {
                let (clause, binds) = catalog_where(f, None);
                let sql = format!("SELECT e.body FROM catalog_entities e{clause} ORDER BY e.kind, e.name, e.namespace");
                let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b.clone());
                }
                Ok(q.fetch_all(&self.pool).await.map_err(err)?.into_iter().map(|(b,)| b).collect())
            }

            async fn search(&self, spec: &SearchSpec) -> StoreResult<Vec<SearchDoc>> {
                if spec.terms.is_empty() {
                    return Ok(Vec::new());
                }
                let (from, binds, order) = Self::matching(spec, false);
                let n = binds.len();
                let kind = if spec.kind.is_some() { format!(" AND d.kind = ${}", n + 2) } else { String::new() };
                let sql = format!("SELECT {DOC_COLUMNS} {from}{kind}{order} LIMIT ${}", n + 1);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in binds {
                    q = q.bind(b);
                }
                q = q.bind(spec.limit);
                if let Some(k) = &spec.kind {
                    q = q.bind(k);
                }
                q.fetch_all(&self.pool).await.map_err(err)?.iter().map(Self::search_doc).collect()
            }

            async fn search_by_name(&self, prefix: &str, kind: Option<&str>, limit: i64) -> StoreResult<Vec<SearchDoc>> {
                let kind_clause = if kind.is_some() { " AND kind = $4" } else { "" };
                let sql = format!(
                    "SELECT {SEARCH_COLUMNS} FROM search_documents WHERE name >= $1 AND name < $2{kind_clause} ORDER BY name LIMIT $3"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(prefix).bind(format!("{prefix}\u{10FFFF}")).bind(limit);
                if let Some(k) = kind {
                    q = q.bind(k);
                }
                q.fetch_all(&self.pool).await.map_err(err)?.iter().map(Self::search_doc).collect()
            }

            async fn search_counts(&self, spec: &SearchSpec) -> StoreResult<Vec<(String, i64)>> {
                if spec.terms.is_empty() {
                    return Ok(Vec::new());
                }
                // Counted over the first SEARCH_COUNT_CAP matches: beyond that a person is told "more".
                let (from, binds, _) = Self::matching(spec, true);
                let sql = format!(
                    "SELECT kind, COUNT(*) FROM (SELECT d.kind AS kind {from} LIMIT {SEARCH_COUNT_CAP}) m GROUP BY kind ORDER BY COUNT(*) DESC, kind"
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
                for b in binds {
                    q = q.bind(b);
                }
                q.fetch_all(&self.pool).await.map_err(err)
            }

            async fn search_log(&self, e: &SearchLogRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO search_queries (id, at, user_id, query, origin, result_count, took_us, opened_key, opened_rank, opened_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&e.id)
                .bind(&e.at)
                .bind(&e.user_id)
                .bind(&e.query)
                .bind(&e.origin)
                .bind(e.result_count)
                .bind(e.took_us)
                .bind(&e.opened_key)
                .bind(e.opened_rank)
                .bind(e.opened_ms)
                .execute(&self.pool)
                .await
                .map_err(err)?;
                Ok(())
            }

            async fn search_log_open(&self, id: &str, key: &str, rank: i64, opened_ms: i64) -> StoreResult<()> {
                sqlx::query("UPDATE search_queries SET opened_key = $1, opened_rank = $2, opened_ms = $3 WHERE id = $4 AND opened_key IS NULL")
                    .bind(key)
                    .bind(rank)
                    .bind(opened_ms)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(err)?;
                Ok(())
            }

            async fn search_log_get(&self, id: &str) -> StoreResult<Option<SearchLogRecord>> {
                sqlx::query("SELECT * FROM search_queries WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(err)?
                    .as_ref()
                    .map(Self::search_log_row)
                    .transpose()
            }

            async fn prune_activity(&self, before: &str) -> StoreResult<u64> {
                let (_g, mut tx) = self.writer().await?;
                let searches = sqlx::query("DELETE FROM search_queries WHERE at < $1").bind(before).execute(&mut *tx).await.map_err(err)?;
                let views = sqlx::query("DELETE FROM entity_views WHERE viewed_at < $1").bind(before).execute(&mut *tx).await.map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(searches.rows_affected() + views.rows_affected())
            }

            async fn search_logs_since(&self, since: &str) -> StoreResult<Vec<SearchLogRecord>> {
                sqlx::query("SELECT * FROM search_queries WHERE at >= $1 ORDER BY at")
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?
                    .iter()
                    .map(Self::search_log_row)
                    .collect()
            }

            async fn doc_get(&self, id: &str) -> StoreResult<Option<DocRecord>> {
                sqlx::query("SELECT * FROM docs WHERE id = $1").bind(id).fetch_optional(&self.pool).await.map_err(err)?.as_ref().map(Self::doc).transpose()
            }

            async fn docs_of(&self, entity_ref: Option<&str>) -> StoreResult<Vec<DocRecord>> {
                let sql = "SELECT id, entity_ref, path, title, '' AS markdown, source, version, updated_by, created_at, updated_at FROM docs";
                let rows = match entity_ref {
                    Some(e) => sqlx::query(sqlx::AssertSqlSafe(format!("{sql} WHERE entity_ref = $1 ORDER BY path"))).bind(e).fetch_all(&self.pool).await,
                    None => sqlx::query(sqlx::AssertSqlSafe(format!("{sql} WHERE entity_ref IS NULL ORDER BY title"))).fetch_all(&self.pool).await,
                };
                rows.map_err(err)?.iter().map(Self::doc).collect()
            }

            async fn docs_all(&self) -> StoreResult<Vec<DocRecord>> {
                sqlx::query(
                    "SELECT id, entity_ref, path, title, '' AS markdown, source, version, updated_by, created_at, updated_at \
                     FROM docs ORDER BY entity_ref IS NOT NULL, entity_ref, path",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(err)?
                .iter()
                .map(Self::doc)
                .collect()
            }

            async fn doc_put(&self, d: &DocRecord, search: &SearchDoc, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                if d.version == 1 {
                    sqlx::query(
                        "INSERT INTO docs (id, entity_ref, path, title, markdown, source, version, updated_by, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&d.id)
                    .bind(&d.entity_ref)
                    .bind(&d.path)
                    .bind(&d.title)
                    .bind(&d.markdown)
                    .bind(&d.source)
                    .bind(d.version)
                    .bind(&d.updated_by)
                    .bind(&d.created_at)
                    .bind(&d.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                } else {
                    let done = sqlx::query(
                        "UPDATE docs SET title = $1, markdown = $2, source = $3, version = $4, updated_by = $5, updated_at = $6 \
                         WHERE id = $7 AND version = $8",
                    )
                    .bind(&d.title)
                    .bind(&d.markdown)
                    .bind(&d.source)
                    .bind(d.version)
                    .bind(&d.updated_by)
                    .bind(&d.updated_at)
                    .bind(&d.id)
                    .bind(d.version - 1)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict(format!("{} was changed concurrently", d.id)));
                    }
                }
                if let Some(b) = Self::index(&[search]) {
                    Self::run(&mut tx, &b).await?;
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn doc_delete(&self, id: &str, version: i64, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM docs WHERE id = $1 AND version = $2").bind(id).bind(version).execute(&mut *tx).await.map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict(format!("{id} was changed or deleted concurrently")));
                }
                sqlx::query("DELETE FROM search_documents WHERE doc_key = $1").bind(format!("doc:{id}")).execute(&mut *tx).await.map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn record_view(&self, user_id: &str, entity_ref: &str, at: &str) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query(
                    "INSERT INTO entity_views (user_id, entity_ref, viewed_at, views) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (user_id, entity_ref) DO UPDATE SET viewed_at = excluded.viewed_at, views = entity_views.views + 1",
                )
                .bind(user_id)
                .bind(entity_ref)
                .bind(at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn recent_views(&self, user_id: &str, limit: i64) -> StoreResult<Vec<EntityLink>> {
                let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT e.entity_ref, COALESCE(e.title, e.name), e.kind, v.views FROM entity_views v \
                     JOIN catalog_entities e ON e.entity_ref = v.entity_ref WHERE v.user_id = $1 ORDER BY v.viewed_at DESC LIMIT $2",
                )
                .bind(user_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                Ok(rows.into_iter().map(|(entity_ref, title, kind, viewers)| EntityLink { entity_ref, title, kind, viewers }).collect())
            }

            async fn popular_in_teams(&self, teams: &[String], since: &str, limit: i64) -> StoreResult<Vec<EntityLink>> {
                if teams.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT e.entity_ref, COALESCE(e.title, e.name), e.kind, COUNT(DISTINCT v.user_id) AS viewers FROM entity_views v \
                     JOIN memberships m ON m.user_id = v.user_id JOIN teams t ON t.id = m.team_id \
                     JOIN catalog_entities e ON e.entity_ref = v.entity_ref \
                     WHERE v.viewed_at >= $1 AND t.slug IN ({}) \
                     GROUP BY e.entity_ref, e.title, e.name, e.kind ORDER BY viewers DESC, e.entity_ref LIMIT $2",
                    marks(3, teams.len())
                );
                let mut q = sqlx::query_as::<_, (String, String, String, i64)>(sqlx::AssertSqlSafe(sql)).bind(since).bind(limit);
                for t in teams {
                    q = q.bind(t);
                }
                let rows = q.fetch_all(&self.pool).await.map_err(err)?;
                Ok(rows.into_iter().map(|(entity_ref, title, kind, viewers)| EntityLink { entity_ref, title, kind, viewers }).collect())
            }

            async fn locations(&self) -> StoreResult<Vec<Location>> {
                let rows = sqlx::query(
                    "SELECT l.id, l.target, l.refresh_minutes, l.status, l.last_refresh_at, l.last_error, l.created_by, l.created_at, \
                     (SELECT COUNT(*) FROM catalog_entities e WHERE e.source = 'location:' || l.id) AS entities, \
                     (SELECT COUNT(*) FROM catalog_entities e WHERE e.source = 'location:' || l.id AND e.orphan) AS orphans \
                     FROM catalog_locations l ORDER BY l.target",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        Ok(Location {
                            id: r.try_get("id").map_err(err)?,
                            target: r.try_get("target").map_err(err)?,
                            refresh_minutes: r.try_get("refresh_minutes").map_err(err)?,
                            status: r.try_get("status").map_err(err)?,
                            last_refresh_at: r.try_get("last_refresh_at").map_err(err)?,
                            last_error: r.try_get("last_error").map_err(err)?,
                            entities: r.try_get("entities").map_err(err)?,
                            orphans: r.try_get("orphans").map_err(err)?,
                            created_by: r.try_get("created_by").map_err(err)?,
                            created_at: r.try_get("created_at").map_err(err)?,
                        })
                    })
                    .collect()
            }

            async fn location_insert(&self, l: &Location, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query(
                    "INSERT INTO catalog_locations (id, target, refresh_minutes, status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&l.id)
                .bind(&l.target)
                .bind(l.refresh_minutes)
                .bind(&l.status)
                .bind(&l.created_by)
                .bind(&l.created_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn location_claim(&self, id: &str, at: &str, stale_before: &str) -> StoreResult<bool> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("UPDATE catalog_locations SET claimed_at = $1 WHERE id = $2 AND (claimed_at IS NULL OR claimed_at < $3)")
                    .bind(at)
                    .bind(id)
                    .bind(stale_before)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn location_finish(&self, id: &str, status: &str, error: Option<&str>, at: &str) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query("UPDATE catalog_locations SET status = $1, last_error = $2, last_refresh_at = $3, claimed_at = NULL WHERE id = $4")
                    .bind(status)
                    .bind(error)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)
            }

            async fn location_delete(&self, id: &str, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM catalog_locations WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn append_audit(&self, audit: AuditDraft) -> StoreResult<AuditRow> {
                let (_g, mut tx) = self.writer().await?;
                let row = Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)?;
                Ok(row)
            }

            async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditRow>> {
                // Built from fixed fragments; every value is a bind parameter.
                let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1");
                let mut binds: Vec<String> = Vec::new();
                if let Some(p) = &f.action_prefix {
                    binds.push(format!("{}%", p.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
                    sql.push_str(&format!(" AND action LIKE ${} ESCAPE '\\'", binds.len()));
                }
                if let Some(a) = &f.actor {
                    binds.push(a.clone());
                    sql.push_str(&format!(" AND actor = ${}", binds.len()));
                }
                if let Some(teams) = &f.teams {
                    if teams.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut marks = Vec::new();
                    for t in teams {
                        binds.push(t.clone());
                        marks.push(format!("${}", binds.len()));
                    }
                    sql.push_str(&format!(" AND team IN ({})", marks.join(", ")));
                }
                let mut q_before = None;
                if let Some(b) = f.before {
                    q_before = Some(b);
                    sql.push_str(&format!(" AND seq < ${}", binds.len() + 1));
                }
                let limit_ix = binds.len() + 1 + usize::from(q_before.is_some());
                sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${limit_ix}"));
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b);
                }
                if let Some(b) = q_before {
                    q = q.bind(b);
                }
                q.bind(f.limit).fetch_all(&self.pool).await.map_err(err)?.iter().map(Self::audit_row).collect()
            }

            async fn audit_chain(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditRow>> {
                let q = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
                sqlx::query(sqlx::AssertSqlSafe(q)).bind(after).bind(limit).fetch_all(&self.pool).await.map_err(err)?.iter().map(Self::audit_row).collect()
            }
        }
    };
}

sql_store!(SqliteStore, sqlx::Sqlite, "sqlite", true);
sql_store!(PgStore, sqlx::Postgres, "postgres", false);

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, title: &str, body: &str) -> SearchDoc {
        SearchDoc { name: name.into(), title: title.into(), body: body.into(), ..Default::default() }
    }

    #[test]
    fn the_haystack_writes_each_word_once_and_spells_inner_punctuation_as_one_word() {
        let d = doc(
            "cart-bucket-36",
            "Cart Bucket",
            "Cart Bucket stores carts.\tOwned by\n group:default/team-pay; see team-pay (v2.1) and .net, c# cart",
        );
        assert_eq!(
            haystack(&d),
            "cart-bucket-36 cart bucket stores carts. owned by group:default/team-pay; see team-pay (v2.1) and .net, c# \
             cartQbucketQ36 groupQdefaultQteamQpay v2Q1"
        );
    }

    /// Every part of every word is found in the haystack exactly when it is found in the text
    /// as it was written before (migration 0010's spelling), and so is its one-word spelling.
    #[test]
    fn every_term_is_found_in_the_shorter_haystack_as_in_the_whole_text() {
        let d = doc("pay@ment-x", "Pay-ment Hub", "Hub hub: s3-bucket/eu_west (v2.1), ISO-8601; a?b=c&d {x} \"it's\" 100% +10 <a> pay@ment-x!");
        let text = format!("{} {} {}", d.name, d.title, d.body).to_lowercase();
        let hay = haystack(&d);
        let mut tried = 0;
        for word in text.split_whitespace() {
            for i in (0..word.len()).filter(|&i| word.is_char_boundary(i)) {
                for j in (i + 1..=word.len()).filter(|&j| word.is_char_boundary(j)) {
                    let term = &word[i..j];
                    assert!(hay.contains(term), "{term:?} is in the text but not in {hay:?}");
                    if let Some(spelt) = joined(term) {
                        assert!(hay.contains(&spelt), "{term:?} as {spelt:?} is not in {hay:?}");
                    }
                    tried += 1;
                }
            }
        }
        assert!(tried > 400, "{tried} terms");
        for absent in ["hub:s3", "ment-xx", "2.1)x", "eu_west)"] {
            assert!(!hay.contains(absent), "{absent:?} is not in the text but is in {hay:?}");
        }
    }
}
