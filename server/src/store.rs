//! The two implementations of `app::core::Store`: SQLite (embedded default) and PostgreSQL
//! (scale-out). Both run the same SQL, generated from one macro; the few dialect differences
//! (how concurrent writers are serialised) are branches on `SQLITE`.

use app::core::audit;
use app::core::store::*;
use app::types::{Environment, Membership, Role, TeamMember, Tier};
use async_trait::async_trait;
use sqlx::Row;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .map_err(|e| ConnectError::Invalid(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let file = opts.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty() && file.as_os_str() != ":memory:") {
            std::fs::create_dir_all(dir)
                .map_err(|e| ConnectError::Unreachable(format!("cannot create folder {}: {e}", dir.display())))?;
        }
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| ConnectError::Migrate(e.to_string()))?;
        Ok(Arc::new(SqliteStore::new(pool)))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let opts = sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| ConnectError::Invalid(e.to_string()))?;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| ConnectError::Migrate(e.to_string()))?;
        Ok(Arc::new(PgStore::new(pool)))
    } else {
        let shown: String = url.chars().take(30).collect();
        Err(ConnectError::Scheme(shown))
    }
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
        sql.push_str(&format!(" AND e.entity_ref IN (SELECT entity_ref FROM catalog_tags WHERE tag = ${})", binds.len()));
    }
    (sql, binds)
}

/// Key of the PostgreSQL advisory lock that keeps the audit chain linear across replicas.
const AUDIT_LOCK: i64 = 0x0061_7564_6974; // "audit" in ASCII

macro_rules! sql_store {
    ($Store:ident, $Db:ty, $dialect:literal, $sqlite:literal) => {
        pub struct $Store {
            pool: sqlx::Pool<$Db>,
            /// SQLite allows one writer at a time: writers in this process queue here instead of
            /// failing with "database is locked". PostgreSQL does not need it.
            write_lock: tokio::sync::Mutex<()>,
        }

        impl $Store {
            pub fn new(pool: sqlx::Pool<$Db>) -> Self {
                $Store { pool, write_lock: tokio::sync::Mutex::new(()) }
            }

            pub fn pool(&self) -> &sqlx::Pool<$Db> {
                &self.pool
            }

            async fn writer(&self) -> StoreResult<(Option<tokio::sync::MutexGuard<'_, ()>>, sqlx::Transaction<'static, $Db>)> {
                let guard = if $sqlite { Some(self.write_lock.lock().await) } else { None };
                let tx = self.pool.begin().await.map_err(err)?;
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
                let sql = format!("SELECT entity_ref, tag FROM catalog_tags WHERE entity_ref IN ({}) ORDER BY tag", marks.join(", "));
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

            /// Chains and inserts an audit entry inside the caller's transaction.
            async fn append(tx: &mut sqlx::Transaction<'static, $Db>, draft: AuditDraft) -> StoreResult<AuditRow> {
                if !$sqlite {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut **tx).await.map_err(err)?;
                }
                let last: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(err)?;
                let row = audit::chain(draft, last);
                let d = &row.draft;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                )))
                .bind(row.seq)
                .bind(&d.at)
                .bind(&d.actor)
                .bind(&d.action)
                .bind(&d.target)
                .bind(&d.team)
                .bind(&d.before)
                .bind(&d.after)
                .bind(&d.decision)
                .bind(&d.reason)
                .bind(&d.request_id)
                .bind(&row.prev_hash)
                .bind(&row.hash)
                .execute(&mut **tx)
                .await
                .map_err(err)?;
                Ok(row)
            }
        }

        #[async_trait]
        impl Store for $Store {
            fn dialect(&self) -> &'static str {
                $dialect
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

            async fn catalog_put(&self, e: &CatalogRecord, relations: &[RelationRow], audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                if e.version == 1 {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO catalog_entities ({CATALOG_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                    )))
                    .bind(&e.entity_ref)
                    .bind(&e.kind)
                    .bind(&e.namespace)
                    .bind(&e.name)
                    .bind(&e.title)
                    .bind(&e.description)
                    .bind(&e.spec_type)
                    .bind(&e.lifecycle)
                    .bind(&e.owner_ref)
                    .bind(&e.system_ref)
                    .bind(&e.body)
                    .bind(&e.etag)
                    .bind(e.version)
                    .bind(&e.source)
                    .bind(e.orphan)
                    .bind(&e.created_at)
                    .bind(&e.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                } else {
                    let done = sqlx::query(
                        "UPDATE catalog_entities SET kind = $1, namespace = $2, name = $3, title = $4, description = $5, \
                         spec_type = $6, lifecycle = $7, owner_ref = $8, system_ref = $9, body = $10, etag = $11, \
                         version = $12, source = $13, orphan = $14, updated_at = $15 WHERE entity_ref = $16 AND version = $17",
                    )
                    .bind(&e.kind)
                    .bind(&e.namespace)
                    .bind(&e.name)
                    .bind(&e.title)
                    .bind(&e.description)
                    .bind(&e.spec_type)
                    .bind(&e.lifecycle)
                    .bind(&e.owner_ref)
                    .bind(&e.system_ref)
                    .bind(&e.body)
                    .bind(&e.etag)
                    .bind(e.version)
                    .bind(&e.source)
                    .bind(e.orphan)
                    .bind(&e.updated_at)
                    .bind(&e.entity_ref)
                    .bind(e.version - 1)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::Conflict(format!("{} was changed concurrently", e.entity_ref)));
                    }
                    sqlx::query("DELETE FROM catalog_tags WHERE entity_ref = $1").bind(&e.entity_ref).execute(&mut *tx).await.map_err(err)?;
                    sqlx::query("DELETE FROM catalog_relations WHERE origin_ref = $1").bind(&e.entity_ref).execute(&mut *tx).await.map_err(err)?;
                }
                let mut tags = e.tags.clone();
                tags.sort();
                tags.dedup();
                for tag in &tags {
                    sqlx::query("INSERT INTO catalog_tags (entity_ref, tag) VALUES ($1, $2)")
                        .bind(&e.entity_ref)
                        .bind(tag)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
                let unique: std::collections::HashSet<&RelationRow> = relations.iter().collect();
                for r in unique {
                    sqlx::query("INSERT INTO catalog_relations (origin_ref, source_ref, relation, target_ref) VALUES ($1, $2, $3, $4)")
                        .bind(&e.entity_ref)
                        .bind(&r.source_ref)
                        .bind(&r.relation)
                        .bind(&r.target_ref)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn catalog_delete(&self, entity_ref: &str, version: i64, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM catalog_entities WHERE entity_ref = $1 AND version = $2")
                    .bind(entity_ref)
                    .bind(version)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                if done.rows_affected() == 0 {
                    let exists: Option<(i64,)> = sqlx::query_as("SELECT version FROM catalog_entities WHERE entity_ref = $1")
                        .bind(entity_ref)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(err)?;
                    return Err(match exists {
                        Some(_) => StoreError::Conflict(format!("{entity_ref} was changed concurrently")),
                        None => StoreError::NotFound,
                    });
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn catalog_list(&self, f: &CatalogFilter) -> StoreResult<(Vec<CatalogRecord>, i64)> {
                let (clause, binds) = catalog_where(f, None);
                let mut count = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM catalog_entities e{clause}")));
                for b in &binds {
                    count = count.bind(b.clone());
                }
                let (total,) = count.fetch_one(&self.pool).await.map_err(err)?;
                let columns = CATALOG_COLUMNS.replace("body, ", "");
                let n = binds.len();
                let sql = format!(
                    "SELECT {columns} FROM catalog_entities e{clause} ORDER BY e.kind, e.name, e.namespace LIMIT ${} OFFSET ${}",
                    n + 1,
                    n + 2
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(b.clone());
                }
                let rows = q.bind(f.limit).bind(f.offset).fetch_all(&self.pool).await.map_err(err)?;
                let records = rows.iter().map(|r| Self::catalog(r, false)).collect::<StoreResult<Vec<_>>>()?;
                Ok((self.with_tags(records).await?, total))
            }

            async fn catalog_facet(&self, facet: Facet, f: &CatalogFilter) -> StoreResult<Vec<(String, i64)>> {
                let (clause, binds) = catalog_where(f, Some(facet));
                let sql = match facet {
                    Facet::Tag => format!(
                        "SELECT t.tag AS value, COUNT(*) AS n FROM catalog_tags t JOIN catalog_entities e ON e.entity_ref = t.entity_ref{clause} \
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
                let rows = sqlx::query(
                    "SELECT DISTINCT r.relation, r.target_ref, COALESCE(e.title, e.name) AS target_title, \
                     e.entity_ref IS NOT NULL AS target_exists \
                     FROM catalog_relations r LEFT JOIN catalog_entities e ON e.entity_ref = r.target_ref \
                     WHERE r.source_ref = $1 ORDER BY r.relation, r.target_ref",
                )
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

            async fn catalog_existing(&self, refs: &[String]) -> StoreResult<Vec<String>> {
                let mut found = Vec::new();
                for chunk in refs.chunks(500) {
                    let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                    let sql = format!("SELECT entity_ref FROM catalog_entities WHERE entity_ref IN ({})", marks.join(", "));
                    let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
                    for r in chunk {
                        q = q.bind(r.clone());
                    }
                    found.extend(q.fetch_all(&self.pool).await.map_err(err)?.into_iter().map(|(r,)| r));
                }
                Ok(found)
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
