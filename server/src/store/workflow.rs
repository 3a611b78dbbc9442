//! The workflow engine's storage (`app::core::store::WorkflowStore`) for both databases, from one
//! macro like the rest of the store. Leases and schedules are compare-and-set updates, which give
//! one winner on PostgreSQL (row locks under READ COMMITTED) and on SQLite (one writer).
//! Notices go out with PostgreSQL's NOTIFY inside the transaction (delivered at commit, to every
//! replica) and through the process's broadcast channel on SQLite.

use super::{err, marks, PgStore, SqliteStore};
use app::core::store::*;
use app::workflow::*;
use async_trait::async_trait;
use sqlx::Row;

const RUN_COLUMNS: &str = "id, workflow, title, team, status, inputs, started_by, trigger_kind, created_at, updated_at, \
                           finished_at, wake_at, error, cancel_requested, rollback_reason, version, definition";
const STEP_COLUMNS: &str = "run_id, idx, step_id, title, kind, status, attempts, input, output, error, started_at, \
                            finished_at, next_at, undo, undo_attempts, undo_error, decided_by";
/// The PostgreSQL channel of notices.
pub const CHANNEL: &str = "platform_workflow";

fn json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("stored JSON unreadable: {e}")))
}

fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

macro_rules! workflow_store {
    ($Store:ident, $Db:ty, $sqlite:literal) => {
        impl $Store {
            fn wf_run(r: &<$Db as sqlx::Database>::Row) -> StoreResult<Run> {
                let status: String = r.try_get("status").map_err(err)?;
                Ok(Run {
                    id: r.try_get("id").map_err(err)?,
                    workflow: r.try_get("workflow").map_err(err)?,
                    title: r.try_get("title").map_err(err)?,
                    team: r.try_get("team").map_err(err)?,
                    status: RunStatus::parse(&status).ok_or_else(|| StoreError::Other(format!("unknown run status {status}")))?,
                    inputs: json(&r.try_get::<String, _>("inputs").map_err(err)?)?,
                    started_by: r.try_get("started_by").map_err(err)?,
                    trigger: r.try_get("trigger_kind").map_err(err)?,
                    created_at: r.try_get("created_at").map_err(err)?,
                    updated_at: r.try_get("updated_at").map_err(err)?,
                    finished_at: r.try_get("finished_at").map_err(err)?,
                    wake_at: r.try_get("wake_at").map_err(err)?,
                    error: r.try_get("error").map_err(err)?,
                    cancel_requested: r.try_get("cancel_requested").map_err(err)?,
                    rollback_reason: r.try_get("rollback_reason").map_err(err)?,
                    version: r.try_get("version").map_err(err)?,
                    definition: json(&r.try_get::<String, _>("definition").map_err(err)?)?,
                })
            }

            fn wf_step(r: &<$Db as sqlx::Database>::Row) -> StoreResult<Step> {
                let status: String = r.try_get("status").map_err(err)?;
                let undo: String = r.try_get("undo").map_err(err)?;
                let output: Option<String> = r.try_get("output").map_err(err)?;
                Ok(Step {
                    idx: r.try_get("idx").map_err(err)?,
                    step_id: r.try_get("step_id").map_err(err)?,
                    title: r.try_get("title").map_err(err)?,
                    kind: r.try_get("kind").map_err(err)?,
                    status: StepStatus::parse(&status).ok_or_else(|| StoreError::Other(format!("unknown step status {status}")))?,
                    attempts: r.try_get("attempts").map_err(err)?,
                    input: json(&r.try_get::<String, _>("input").map_err(err)?)?,
                    output: output.as_deref().map(json).transpose()?,
                    error: r.try_get("error").map_err(err)?,
                    started_at: r.try_get("started_at").map_err(err)?,
                    finished_at: r.try_get("finished_at").map_err(err)?,
                    next_at: r.try_get("next_at").map_err(err)?,
                    undo: UndoStatus::parse(&undo).ok_or_else(|| StoreError::Other(format!("unknown undo status {undo}")))?,
                    undo_attempts: r.try_get("undo_attempts").map_err(err)?,
                    undo_error: r.try_get("undo_error").map_err(err)?,
                    decided_by: r.try_get("decided_by").map_err(err)?,
                })
            }

            fn wf_record(r: &<$Db as sqlx::Database>::Row) -> StoreResult<WorkflowRecord> {
                Ok(WorkflowRecord {
                    definition: json(&r.try_get::<String, _>("definition").map_err(err)?)?,
                    version: r.try_get("version").map_err(err)?,
                    updated_at: r.try_get("updated_at").map_err(err)?,
                    next_fire_at: r.try_get("next_fire_at").map_err(err)?,
                })
            }

            fn wf_delivery(r: &<$Db as sqlx::Database>::Row) -> StoreResult<WebhookDelivery> {
                Ok(WebhookDelivery {
                    id: r.try_get("id").map_err(err)?,
                    source: r.try_get("source").map_err(err)?,
                    delivery_id: r.try_get("delivery_id").map_err(err)?,
                    received_at: r.try_get("received_at").map_err(err)?,
                    outcome: r.try_get("outcome").map_err(err)?,
                    detail: r.try_get("detail").map_err(err)?,
                    runs: json(&r.try_get::<String, _>("runs").map_err(err)?)?,
                })
            }

            /// Inserts steps or overwrites them (same run and index).
            async fn wf_put_steps(tx: &mut sqlx::Transaction<'static, $Db>, run_id: &str, steps: &[Step]) -> StoreResult<()> {
                const COLS: usize = 17;
                for chunk in steps.chunks(12) {
                    let rows: Vec<String> = (0..chunk.len()).map(|i| format!("({})", marks(1 + i * COLS, COLS))).collect();
                    let sql = format!(
                        "INSERT INTO workflow_steps ({STEP_COLUMNS}) VALUES {} ON CONFLICT (run_id, idx) DO UPDATE SET \
                         status = excluded.status, attempts = excluded.attempts, input = excluded.input, output = excluded.output, \
                         error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at, \
                         next_at = excluded.next_at, undo = excluded.undo, undo_attempts = excluded.undo_attempts, \
                         undo_error = excluded.undo_error, decided_by = excluded.decided_by",
                        rows.join(", ")
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for s in chunk {
                        q = q
                            .bind(run_id)
                            .bind(s.idx)
                            .bind(&s.step_id)
                            .bind(&s.title)
                            .bind(&s.kind)
                            .bind(s.status.as_str())
                            .bind(s.attempts)
                            .bind(text(&s.input))
                            .bind(s.output.as_ref().map(text))
                            .bind(&s.error)
                            .bind(&s.started_at)
                            .bind(&s.finished_at)
                            .bind(&s.next_at)
                            .bind(s.undo.as_str())
                            .bind(s.undo_attempts)
                            .bind(&s.undo_error)
                            .bind(&s.decided_by);
                    }
                    q.execute(&mut **tx).await.map_err(err)?;
                }
                Ok(())
            }

            async fn wf_insert_runs(tx: &mut sqlx::Transaction<'static, $Db>, runs: &[NewRun]) -> StoreResult<()> {
                for (run, steps) in runs {
                    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO workflow_runs ({RUN_COLUMNS}) VALUES ({})", marks(1, 17))))
                        .bind(&run.id)
                        .bind(&run.workflow)
                        .bind(&run.title)
                        .bind(&run.team)
                        .bind(run.status.as_str())
                        .bind(text(&run.inputs))
                        .bind(&run.started_by)
                        .bind(&run.trigger)
                        .bind(&run.created_at)
                        .bind(&run.updated_at)
                        .bind(&run.finished_at)
                        .bind(&run.wake_at)
                        .bind(&run.error)
                        .bind(run.cancel_requested)
                        .bind(&run.rollback_reason)
                        .bind(run.version)
                        .bind(text(&run.definition))
                        .execute(&mut **tx)
                        .await
                        .map_err(err)?;
                    Self::wf_put_steps(tx, &run.id, steps).await?;
                }
                Ok(())
            }

            async fn wf_insert_logs(tx: &mut sqlx::Transaction<'static, $Db>, logs: &[NewLog]) -> StoreResult<()> {
                for chunk in logs.chunks(40) {
                    let rows: Vec<String> = (0..chunk.len()).map(|i| format!("({})", marks(1 + i * 5, 5))).collect();
                    let sql = format!("INSERT INTO workflow_logs (run_id, step_idx, at, level, message) VALUES {}", rows.join(", "));
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for l in chunk {
                        q = q.bind(&l.run_id).bind(l.step_idx).bind(&l.at).bind(l.level).bind(&l.message);
                    }
                    q.execute(&mut **tx).await.map_err(err)?;
                }
                Ok(())
            }

            async fn wf_insert_delivery(tx: &mut sqlx::Transaction<'static, $Db>, d: &WebhookDelivery) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (id, source, delivery_id, received_at, outcome, detail, runs) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&d.id)
                .bind(&d.source)
                .bind(&d.delivery_id)
                .bind(&d.received_at)
                .bind(&d.outcome)
                .bind(&d.detail)
                .bind(text(&d.runs))
                .execute(&mut **tx)
                .await
                .map_err(err)?;
                Ok(())
            }

            /// Inserts an event unless its dedup key was seen; then the runs it starts.
            async fn wf_insert_event(tx: &mut sqlx::Transaction<'static, $Db>, e: &EventRecord, runs: &[NewRun]) -> StoreResult<bool> {
                let ids: Vec<&str> = runs.iter().map(|(r, _)| r.id.as_str()).collect();
                let done = sqlx::query(
                    "INSERT INTO workflow_events (id, kind, payload, source, dedup_key, created_at, runs) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(&e.id)
                .bind(&e.kind)
                .bind(text(&e.payload))
                .bind(&e.source)
                .bind(&e.dedup_key)
                .bind(&e.created_at)
                .bind(text(&ids))
                .execute(&mut **tx)
                .await
                .map_err(err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::wf_insert_runs(tx, runs).await?;
                Ok(true)
            }

            /// On PostgreSQL, NOTIFY inside the transaction (sent at commit to every listener).
            async fn wf_notify_tx(tx: &mut sqlx::Transaction<'static, $Db>, ids: &[&str]) -> StoreResult<()> {
                if !$sqlite {
                    for chunk in ids.chunks(100) {
                        let payload: Vec<String> = chunk.iter().map(|id| format!("run:{id}")).collect();
                        sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(CHANNEL)
                            .bind(payload.join(","))
                            .execute(&mut **tx)
                            .await
                            .map_err(err)?;
                    }
                }
                Ok(())
            }

            /// On SQLite, tell this process's listeners after the commit.
            fn wf_notify_local(&self, ids: &[&str]) {
                if $sqlite {
                    for id in ids {
                        let _ = self.notices.send(format!("run:{id}"));
                    }
                }
            }
        }

        #[async_trait]
        impl WorkflowStore for $Store {
            async fn workflow_put(&self, w: &WorkflowRecord, expected: Option<i64>, audit: Option<AuditDraft>) -> StoreResult<i64> {
                let (_g, mut tx) = self.writer().await?;
                let current: Option<i64> = sqlx::query_scalar("SELECT version FROM workflows WHERE name = $1")
                    .bind(&w.definition.name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(err)?;
                if let (Some(want), got) = (expected, current) {
                    if got != Some(want) {
                        return Err(StoreError::Conflict(format!("workflow {} is at version {got:?}, not {want}", w.definition.name)));
                    }
                }
                let version = current.unwrap_or(0) + 1;
                sqlx::query(
                    "INSERT INTO workflows (name, title, definition, version, updated_at, next_fire_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (name) DO UPDATE SET title = excluded.title, definition = excluded.definition, \
                     version = excluded.version, updated_at = excluded.updated_at, next_fire_at = excluded.next_fire_at",
                )
                .bind(&w.definition.name)
                .bind(&w.definition.title)
                .bind(text(&w.definition))
                .bind(version)
                .bind(&w.updated_at)
                .bind(&w.next_fire_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                if let Some(a) = audit {
                    Self::append(&mut tx, a).await?;
                }
                tx.commit().await.map_err(err)?;
                Ok(version)
            }

            async fn workflows(&self) -> StoreResult<Vec<WorkflowRecord>> {
                let rows = sqlx::query("SELECT definition, version, updated_at, next_fire_at FROM workflows ORDER BY title")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?;
                rows.iter().map(Self::wf_record).collect()
            }

            async fn workflow(&self, name: &str) -> StoreResult<Option<WorkflowRecord>> {
                let row = sqlx::query("SELECT definition, version, updated_at, next_fire_at FROM workflows WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(err)?;
                row.as_ref().map(Self::wf_record).transpose()
            }

            async fn workflow_delete(&self, name: &str, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM workflows WHERE name = $1").bind(name).execute(&mut *tx).await.map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn runs_start(&self, runs: &[NewRun], event: Option<&EventRecord>, fire: Option<Fire<'_>>, audit: Vec<AuditDraft>) -> StoreResult<bool> {
                let (_g, mut tx) = self.writer().await?;
                if let Some(f) = fire {
                    let moved = sqlx::query("UPDATE workflows SET next_fire_at = $1 WHERE name = $2 AND next_fire_at = $3")
                        .bind(f.to)
                        .bind(f.workflow)
                        .bind(f.from)
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    if moved.rows_affected() == 0 {
                        return Ok(false);
                    }
                }
                match event {
                    Some(e) => {
                        if !Self::wf_insert_event(&mut tx, e, runs).await? {
                            return Ok(false);
                        }
                    }
                    None => Self::wf_insert_runs(&mut tx, runs).await?,
                }
                Self::append_all(&mut tx, audit).await?;
                let ids: Vec<&str> = runs.iter().map(|(r, _)| r.id.as_str()).collect();
                Self::wf_notify_tx(&mut tx, &ids).await?;
                tx.commit().await.map_err(err)?;
                self.wf_notify_local(&ids);
                Ok(true)
            }

            async fn run_get(&self, id: &str) -> StoreResult<Option<NewRun>> {
                let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM workflow_runs WHERE id = $1")))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(err)?
                else {
                    return Ok(None);
                };
                let run = Self::wf_run(&row)?;
                let steps = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {STEP_COLUMNS} FROM workflow_steps WHERE run_id = $1 ORDER BY idx")))
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?;
                Ok(Some((run, steps.iter().map(Self::wf_step).collect::<StoreResult<_>>()?)))
            }

            async fn runs_list(&self, f: &RunFilter, limit: i64, offset: i64) -> StoreResult<(Vec<Run>, i64)> {
                // Built from fixed fragments; every value is a bind parameter.
                let mut cond = String::from(" WHERE 1 = 1");
                let mut binds: Vec<&str> = Vec::new();
                for (value, column) in [(&f.workflow, "workflow"), (&f.status, "status"), (&f.started_by, "started_by"), (&f.team, "team")] {
                    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                        binds.push(v);
                        cond.push_str(&format!(" AND {column} = ${}", binds.len()));
                    }
                }
                let mut count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM workflow_runs{cond}")));
                for b in &binds {
                    count = count.bind(*b);
                }
                let total = count.fetch_one(&self.pool).await.map_err(err)?;
                let sql = format!(
                    "SELECT {RUN_COLUMNS} FROM workflow_runs{cond} ORDER BY created_at DESC, id LIMIT ${} OFFSET ${}",
                    binds.len() + 1,
                    binds.len() + 2
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    q = q.bind(*b);
                }
                let rows = q.bind(limit).bind(offset).fetch_all(&self.pool).await.map_err(err)?;
                Ok((rows.iter().map(Self::wf_run).collect::<StoreResult<_>>()?, total))
            }

            async fn runs_due(&self, now: &str, limit: i64) -> StoreResult<Vec<String>> {
                sqlx::query_scalar(
                    "SELECT id FROM workflow_runs WHERE wake_at <= $1 AND (lease_owner IS NULL OR lease_until < $1) \
                     ORDER BY wake_at LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(err)
            }

            async fn next_wake(&self) -> StoreResult<Option<String>> {
                sqlx::query_scalar(
                    "SELECT MIN(CASE WHEN lease_owner IS NULL OR lease_until < wake_at THEN wake_at ELSE lease_until END) \
                     FROM workflow_runs WHERE wake_at IS NOT NULL",
                )
                .fetch_one(&self.pool)
                .await
                .map_err(err)
            }

            async fn run_claim(&self, id: &str, owner: &str, now: &str, until: &str) -> StoreResult<bool> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query(
                    "UPDATE workflow_runs SET lease_owner = $1, lease_until = $2, version = version + 1 \
                     WHERE id = $3 AND wake_at <= $4 AND (lease_owner IS NULL OR lease_until < $4)",
                )
                .bind(owner)
                .bind(until)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn run_renew(&self, id: &str, owner: &str, until: &str) -> StoreResult<bool> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("UPDATE workflow_runs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3")
                    .bind(until)
                    .bind(id)
                    .bind(owner)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                tx.commit().await.map_err(err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn run_save(&self, s: RunSave<'_>) -> StoreResult<Option<bool>> {
                let (_g, mut tx) = self.writer().await?;
                let run = s.run;
                // A cancel that arrived while the run was being worked on wakes it at once.
                let head = "UPDATE workflow_runs SET status = $1, updated_at = $2, finished_at = $3, \
                            wake_at = CASE WHEN cancel_requested AND $1 IN ('running', 'waiting') THEN $2 ELSE $4 END, \
                            error = $5, rollback_reason = $6, version = version + 1, \
                            lease_owner = CASE WHEN $7 THEN NULL ELSE lease_owner END, \
                            lease_until = CASE WHEN $7 THEN NULL ELSE lease_until END WHERE id = $8";
                let sql = match s.fence {
                    Fence::Lease(_) => format!("{head} AND lease_owner = $9 RETURNING cancel_requested"),
                    Fence::Version(_) => format!("{head} AND version = $9 AND (lease_owner IS NULL OR lease_until < $2) RETURNING cancel_requested"),
                };
                let q = sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(sql))
                    .bind(run.status.as_str())
                    .bind(s.now)
                    .bind(&run.finished_at)
                    .bind(&run.wake_at)
                    .bind(&run.error)
                    .bind(&run.rollback_reason)
                    .bind(s.release)
                    .bind(&run.id);
                let cancel = match s.fence {
                    Fence::Lease(owner) => q.bind(owner),
                    Fence::Version(v) => q.bind(v),
                }
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
                let Some(cancel) = cancel else {
                    return Ok(None);
                };
                Self::wf_put_steps(&mut tx, &run.id, s.steps).await?;
                Self::wf_insert_logs(&mut tx, s.logs).await?;
                let mut ids: Vec<&str> = vec![run.id.as_str()];
                for (event, runs) in s.events {
                    if Self::wf_insert_event(&mut tx, event, runs).await? {
                        ids.extend(runs.iter().map(|(r, _)| r.id.as_str()));
                    }
                }
                Self::append_all(&mut tx, s.audit).await?;
                Self::wf_notify_tx(&mut tx, &ids).await?;
                tx.commit().await.map_err(err)?;
                self.wf_notify_local(&ids);
                Ok(Some(cancel))
            }

            async fn run_request_cancel(&self, id: &str, audit: AuditDraft) -> StoreResult<bool> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query(
                    "UPDATE workflow_runs SET cancel_requested = TRUE, wake_at = $2, version = version + 1 \
                     WHERE id = $1 AND status IN ('running', 'waiting') AND NOT cancel_requested",
                )
                .bind(id)
                .bind(&audit.at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::append(&mut tx, audit).await?;
                Self::wf_notify_tx(&mut tx, &[id]).await?;
                tx.commit().await.map_err(err)?;
                self.wf_notify_local(&[id]);
                Ok(true)
            }

            async fn run_log(&self, lines: &[NewLog]) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                Self::wf_insert_logs(&mut tx, lines).await?;
                let mut ids: Vec<&str> = lines.iter().map(|l| l.run_id.as_str()).collect();
                ids.dedup();
                Self::wf_notify_tx(&mut tx, &ids).await?;
                tx.commit().await.map_err(err)?;
                self.wf_notify_local(&ids);
                Ok(())
            }

            async fn run_logs(&self, run_id: &str, after: i64, limit: i64) -> StoreResult<Vec<LogLine>> {
                let rows = sqlx::query(
                    "SELECT seq, run_id, step_idx, at, level, message FROM workflow_logs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(run_id)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        Ok(LogLine {
                            seq: r.try_get("seq").map_err(err)?,
                            run_id: r.try_get("run_id").map_err(err)?,
                            step_idx: r.try_get("step_idx").map_err(err)?,
                            at: r.try_get("at").map_err(err)?,
                            level: r.try_get("level").map_err(err)?,
                            message: r.try_get("message").map_err(err)?,
                        })
                    })
                    .collect()
            }

            async fn schedules_due(&self, now: &str) -> StoreResult<Vec<WorkflowRecord>> {
                let rows = sqlx::query("SELECT definition, version, updated_at, next_fire_at FROM workflows WHERE next_fire_at <= $1")
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?;
                rows.iter().map(Self::wf_record).collect()
            }

            async fn webhook_source_put(&self, s: &WebhookSource, secret: &str, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                sqlx::query(
                    "INSERT INTO webhook_sources (name, description, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (name) DO UPDATE SET description = excluded.description, secret = excluded.secret",
                )
                .bind(&s.name)
                .bind(&s.description)
                .bind(secret)
                .bind(&s.created_by)
                .bind(&s.created_at)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn webhook_sources(&self) -> StoreResult<Vec<WebhookSource>> {
                let rows = sqlx::query("SELECT name, description, created_by, created_at FROM webhook_sources ORDER BY name")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(err)?;
                rows.iter()
                    .map(|r| {
                        Ok(WebhookSource {
                            name: r.try_get("name").map_err(err)?,
                            description: r.try_get("description").map_err(err)?,
                            created_by: r.try_get("created_by").map_err(err)?,
                            created_at: r.try_get("created_at").map_err(err)?,
                            secret: None,
                        })
                    })
                    .collect()
            }

            async fn webhook_source(&self, name: &str) -> StoreResult<Option<(WebhookSource, String)>> {
                let row = sqlx::query("SELECT name, description, secret, created_by, created_at FROM webhook_sources WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(err)?;
                row.map(|r| {
                    Ok((
                        WebhookSource {
                            name: r.try_get("name").map_err(err)?,
                            description: r.try_get("description").map_err(err)?,
                            created_by: r.try_get("created_by").map_err(err)?,
                            created_at: r.try_get("created_at").map_err(err)?,
                            secret: None,
                        },
                        r.try_get("secret").map_err(err)?,
                    ))
                })
                .transpose()
            }

            async fn webhook_source_delete(&self, name: &str, audit: AuditDraft) -> StoreResult<()> {
                let (_g, mut tx) = self.writer().await?;
                let done = sqlx::query("DELETE FROM webhook_sources WHERE name = $1").bind(name).execute(&mut *tx).await.map_err(err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::append(&mut tx, audit).await?;
                tx.commit().await.map_err(err)
            }

            async fn webhook_delivery(&self, d: &WebhookDelivery, event: Option<(&EventRecord, &[NewRun])>) -> StoreResult<bool> {
                let (_g, mut tx) = self.writer().await?;
                match Self::wf_insert_delivery(&mut tx, d).await {
                    Ok(()) => {}
                    // An accepted delivery with this id exists: record the replay instead.
                    Err(StoreError::Conflict(_)) => {
                        tx.rollback().await.map_err(err)?;
                        let mut tx = self.writes.begin().await.map_err(err)?;
                        Self::wf_insert_delivery(&mut tx, &d.clone().into_duplicate()).await?;
                        tx.commit().await.map_err(err)?;
                        return Ok(false);
                    }
                    Err(e) => return Err(e),
                }
                let mut ids: Vec<&str> = Vec::new();
                if let Some((e, runs)) = event {
                    Self::wf_insert_event(&mut tx, e, runs).await?;
                    ids = runs.iter().map(|(r, _)| r.id.as_str()).collect();
                }
                Self::wf_notify_tx(&mut tx, &ids).await?;
                tx.commit().await.map_err(err)?;
                self.wf_notify_local(&ids);
                Ok(true)
            }

            async fn webhook_deliveries(&self, source: Option<&str>, limit: i64) -> StoreResult<Vec<WebhookDelivery>> {
                let rows = sqlx::query(
                    "SELECT id, source, delivery_id, received_at, outcome, detail, runs FROM webhook_deliveries \
                     WHERE ($1 IS NULL OR source = $1) ORDER BY received_at DESC LIMIT $2",
                )
                .bind(source)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
                rows.iter().map(Self::wf_delivery).collect()
            }

            fn notices(&self) -> tokio::sync::broadcast::Receiver<String> {
                self.notices.subscribe()
            }
        }
    };
}

workflow_store!(SqliteStore, sqlx::Sqlite, true);
workflow_store!(PgStore, sqlx::Postgres, false);

/// Forwards PostgreSQL notices (from every replica, this one included) to the local channel,
/// reconnecting when the connection drops.
pub fn listen(pool: sqlx::PgPool, tx: tokio::sync::broadcast::Sender<String>) {
    tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "cannot LISTEN for workflow notices; retrying");
                    } else {
                        // A reconnect may have missed notices: wake everyone up once.
                        let _ = tx.send("wake".into());
                        loop {
                            match listener.recv().await {
                                Ok(n) => {
                                    for part in n.payload().split(',') {
                                        let _ = tx.send(part.to_string());
                                    }
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "workflow notices connection lost; reconnecting");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot connect for workflow notices; retrying"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}
