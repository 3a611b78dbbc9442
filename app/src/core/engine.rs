//! The workflow engine: each replica runs one loop that claims due runs (a lease on the run row,
//! taken by compare-and-set), carries each forward with the state machine in
//! `workflow::machine` until it waits or ends, and writes every transition with its log lines
//! in one transaction fenced by the lease. A replica that dies leaves its lease to expire; the
//! next claimant finds the interrupted step `running` and tries it again with the same
//! idempotency key, so actions that honour the key act once. See docs/adr/004.

use super::store::*;
use super::{now, Services};
use crate::workflow::machine::{self, Failure, Next};
use crate::workflow::{template, Run, RunStatus, Step, StepStatus, UndoStatus};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What a step type does, and how it is undone.
#[async_trait]
pub trait StepAction: Send + Sync {
    async fn run(&self, cx: &StepCx) -> Result<Value, Failure>;
    /// Undoes a successful `run` (given its output). The default: nothing to undo.
    async fn undo(&self, _cx: &StepCx, _output: &Value) -> Result<(), Failure> {
        Ok(())
    }
    /// Whether the action touches the world outside the step's own transaction. Such steps
    /// have their attempt recorded before they act, so an interrupted attempt is known.
    fn external(&self) -> bool {
        true
    }
}

/// What an action gets: the run, the step, its rendered input and its idempotency key.
pub struct StepCx {
    pub services: Services,
    pub run: Run,
    pub step: Step,
    pub input: Value,
    /// `<run id>:<step id>` (`…:undo` for the compensation): the same on every attempt.
    pub key: String,
    events: Mutex<Vec<EventRecord>>,
}

impl StepCx {
    /// Writes a line to the run's log now (it streams to anyone watching).
    pub async fn log(&self, message: impl Into<String>) {
        let line = NewLog { run_id: self.run.id.clone(), step_idx: Some(self.step.idx), at: now(), level: "info", message: message.into() };
        if let Err(e) = self.services.store.run_log(&[line]).await {
            tracing::warn!(error = %e, run = %self.run.id, "cannot write a run log line");
        }
    }

    /// An event to send when the step's result is recorded (in the same transaction, so it is
    /// sent exactly when the step succeeds).
    pub fn emit(&self, kind: &str, payload: Value, dedup_key: String) {
        let source = format!("run:{}", self.run.id);
        self.events.lock().expect("not poisoned").push(EventRecord {
            id: super::new_id(),
            kind: kind.into(),
            payload,
            source,
            dedup_key: Some(dedup_key),
            created_at: now(),
        });
    }
}

/// Settings and step types of this replica's engine.
pub struct Engine {
    /// This replica's name in leases.
    pub owner: String,
    /// How long a lease lasts without renewal; a dead replica's runs wait this long.
    pub lease: Duration,
    /// Runs carried forward at the same time by this replica.
    pub concurrency: usize,
    actions: RwLock<HashMap<String, Arc<dyn StepAction>>>,
}

/// How long a replica holds a run without renewing it, unless configured otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

impl Default for Engine {
    fn default() -> Self {
        Engine::new(DEFAULT_LEASE)
    }
}

impl Engine {
    /// An engine with the built-in step types that need nothing from outside (`noop`, `check`,
    /// `emit`); the server registers `http` and `git`.
    pub fn new(lease: Duration) -> Engine {
        let engine = Engine {
            owner: format!("{}-{}", std::process::id(), &super::new_id()[..8]),
            lease,
            concurrency: 32,
            actions: RwLock::default(),
        };
        engine.register("noop", Arc::new(Noop));
        engine.register("check", Arc::new(Check));
        engine.register("emit", Arc::new(Emit));
        engine
    }

    /// Adds (or replaces) the action of a step type.
    pub fn register(&self, kind: &str, action: Arc<dyn StepAction>) {
        self.actions.write().expect("not poisoned").insert(kind.into(), action);
    }

    fn action(&self, kind: &str) -> Option<Arc<dyn StepAction>> {
        self.actions.read().expect("not poisoned").get(kind).cloned()
    }
}

struct Noop;

#[async_trait]
impl StepAction for Noop {
    async fn run(&self, _: &StepCx) -> Result<Value, Failure> {
        Ok(json!({}))
    }
    fn external(&self) -> bool {
        false
    }
}

/// `check`: fails (for good) when `ok` is false.
struct Check;

#[async_trait]
impl StepAction for Check {
    async fn run(&self, cx: &StepCx) -> Result<Value, Failure> {
        match cx.input.get("ok") {
            Some(Value::Bool(true)) => Ok(json!({"ok": true})),
            Some(Value::Bool(false)) => Err(Failure::permanent(
                cx.input.get("message").and_then(Value::as_str).unwrap_or("The check did not pass.").to_string(),
            )),
            other => Err(Failure::permanent(format!("`ok` must be true or false, got {}", other.cloned().unwrap_or(Value::Null)))),
        }
    }
    fn external(&self) -> bool {
        false
    }
}

/// `emit`: sends an event (once, keyed by the step) when the step succeeds.
struct Emit;

#[async_trait]
impl StepAction for Emit {
    async fn run(&self, cx: &StepCx) -> Result<Value, Failure> {
        let kind = cx.input.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty());
        let Some(kind) = kind else {
            return Err(Failure::permanent("`kind` (the event's kind) is required"));
        };
        let payload = cx.input.get("payload").cloned().unwrap_or(json!({}));
        cx.emit(kind, payload, cx.key.clone());
        Ok(json!({"kind": kind}))
    }
    async fn undo(&self, cx: &StepCx, output: &Value) -> Result<(), Failure> {
        let kind = output.get("kind").and_then(Value::as_str).unwrap_or("event");
        cx.emit(&format!("{kind}.reverted"), json!({"run_id": cx.run.id}), cx.key.clone());
        Ok(())
    }
    fn external(&self) -> bool {
        false
    }
}

/// Text for the log about what changed between two states of a run.
fn describe(before: &Run, run: &Run, old: &[Step], steps: &[Step], now: &str) -> Vec<(Option<i64>, &'static str, String)> {
    let mut out = Vec::new();
    let when = |at: &Option<String>| in_words(now, at.as_deref().unwrap_or(now));
    if before.status != RunStatus::RollingBack && run.status == RunStatus::RollingBack {
        out.push((None, "warn", format!("Rolling back: {}", run.rollback_reason.clone().unwrap_or_default())));
    }
    for (a, b) in old.iter().zip(steps) {
        let at = Some(b.idx);
        if a.status != b.status || a.attempts != b.attempts {
            match b.status {
                StepStatus::Running => out.push((at, "info", format!("Step '{}' started (attempt {})", b.title, b.attempts))),
                StepStatus::Succeeded => out.push((at, "info", format!("Step '{}' succeeded", b.title))),
                StepStatus::Pending if b.attempts > 0 => out.push((
                    at,
                    "warn",
                    format!("Step '{}' attempt {} failed: {}; retrying {}", b.title, b.attempts, b.error.clone().unwrap_or_default(), when(&b.next_at)),
                )),
                StepStatus::Failed => out.push((at, "error", format!("Step '{}' failed: {}", b.title, b.error.clone().unwrap_or_default()))),
                StepStatus::Waiting if b.kind == "approval" => out.push((
                    at,
                    "info",
                    format!("Step '{}' waits for approval (rejected if nobody decides {})", b.title, when(&b.next_at)),
                )),
                StepStatus::Waiting => out.push((at, "info", format!("Step '{}' sleeps, waking {}", b.title, when(&b.next_at)))),
                StepStatus::Skipped => out.push((at, "info", format!("Step '{}' skipped", b.title))),
                StepStatus::Pending => {}
            }
        }
        if a.undo != b.undo || a.undo_attempts != b.undo_attempts {
            match b.undo {
                UndoStatus::Running => out.push((at, "info", format!("Undoing '{}' (attempt {})", b.title, b.undo_attempts))),
                UndoStatus::Done => out.push((at, "info", format!("Undid '{}'", b.title))),
                UndoStatus::Pending if b.undo_attempts > 0 => out.push((
                    at,
                    "warn",
                    format!("Undoing '{}' failed: {}; retrying {}", b.title, b.undo_error.clone().unwrap_or_default(), when(&b.next_at)),
                )),
                UndoStatus::Failed => out.push((at, "error", format!("Undoing '{}' failed for good: {}", b.title, b.undo_error.clone().unwrap_or_default()))),
                _ => {}
            }
        }
    }
    if before.status != run.status && run.status.is_final() {
        let level = if run.status == RunStatus::Succeeded { "info" } else { "warn" };
        let why = run.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        out.push((None, level, format!("Run {}{why}", run.status.label().to_lowercase())));
    }
    out
}

/// "in 1.2 s", "in 5 min", "in 2 h" (at 14:05 UTC): when `at` comes, seen from `now`.
fn in_words(now: &str, at: &str) -> String {
    let (Some(a), Some(b)) = (super::parse_timestamp(now), super::parse_timestamp(at)) else {
        return format!("at {at}");
    };
    let ms = (b - a).num_milliseconds().max(0);
    let span = match ms {
        0..=59_999 => format!("in {:.1} s", ms as f64 / 1000.0),
        60_000..=5_399_999 => format!("in {} min", (ms + 30_000) / 60_000),
        _ => format!("in {} h", (ms + 1_800_000) / 3_600_000),
    };
    if ms >= 60_000 { format!("{span} (at {} UTC)", b.format("%H:%M")) } else { span }
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    (u16::from_le_bytes(b) as f64 / u16::MAX as f64) * 2.0 - 1.0
}

/// A run in memory with what was last written, so that a save carries only what changed.
struct Working {
    run: Run,
    steps: Vec<Step>,
    saved_run: Run,
    saved_steps: Vec<Step>,
}

impl Working {
    fn new(run: Run, steps: Vec<Step>) -> Self {
        Working { saved_run: run.clone(), saved_steps: steps.clone(), run, steps }
    }
}

impl Services {
    /// Starts this replica's engine loop (and cron schedules) in the background.
    pub fn start_engine(&self) -> tokio::task::JoinHandle<()> {
        let services = self.clone();
        tokio::spawn(async move { services.engine_loop().await })
    }

    async fn engine_loop(self) {
        let mut notices = self.store.notices();
        let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut last_schedule = std::time::Instant::now() - Duration::from_secs(5);
        loop {
            if last_schedule.elapsed() >= Duration::from_secs(1) {
                last_schedule = std::time::Instant::now();
                if let Err(e) = self.fire_schedules().await {
                    tracing::warn!(error = %e, "workflow schedules not fired this time");
                }
            }
            let free = self.engine.concurrency.saturating_sub(busy.lock().expect("not poisoned").len());
            if free > 0 {
                match self.store.runs_due(&now(), (free * 2) as i64).await {
                    Ok(ids) => {
                        for id in ids {
                            if busy.lock().expect("not poisoned").len() >= self.engine.concurrency
                                || !busy.lock().expect("not poisoned").insert(id.clone())
                            {
                                continue;
                            }
                            let t = chrono::Utc::now();
                            let until = super::timestamp(t + chrono::Duration::from_std(self.engine.lease).unwrap_or_default());
                            match self.store.run_claim(&id, &self.engine.owner, &super::timestamp(t), &until).await {
                                Ok(true) => {
                                    let (services, busy) = (self.clone(), busy.clone());
                                    tokio::spawn(async move {
                                        if let Err(e) = services.advance(&id).await {
                                            tracing::warn!(run = %id, error = %e, "run not carried forward; it is tried again when its lease expires");
                                        }
                                        busy.lock().expect("not poisoned").remove(&id);
                                    });
                                }
                                Ok(false) => {
                                    busy.lock().expect("not poisoned").remove(&id);
                                }
                                Err(e) => {
                                    busy.lock().expect("not poisoned").remove(&id);
                                    tracing::warn!(error = %e, "cannot claim a run");
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot look for due runs"),
                }
            }
            // Sleep until a notice, the next wake time, or a second (whichever is first).
            let wait = match self.store.next_wake().await {
                Ok(Some(at)) => super::parse_timestamp(&at)
                    .map(|t| (t - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(Duration::from_secs(1))
                    .clamp(Duration::from_millis(5), Duration::from_secs(1)),
                _ => Duration::from_secs(1),
            };
            tokio::select! {
                r = notices.recv() => {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = r {
                        tokio::time::sleep(wait).await;
                    }
                    // Take whatever else arrived meanwhile: one look serves them all.
                    while notices.try_recv().is_ok() {}
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Writes what changed since the last save, fenced by this replica's lease. False when the
    /// lease was lost (someone else carries the run on).
    async fn save(&self, w: &mut Working, release: bool, events: Vec<(EventRecord, Vec<NewRun>)>) -> Result<bool, StoreError> {
        let t = now();
        let logs: Vec<NewLog> = describe(&w.saved_run, &w.run, &w.saved_steps, &w.steps, &t)
            .into_iter()
            .map(|(step_idx, level, message)| NewLog { run_id: w.run.id.clone(), step_idx, at: t.clone(), level, message })
            .collect();
        let changed: Vec<Step> = w.steps.iter().zip(&w.saved_steps).filter(|(a, b)| a != b).map(|(a, _)| a.clone()).collect();
        let mut events = events;
        if w.run.status.is_final() && w.run.status != w.saved_run.status {
            let e = EventRecord {
                id: super::new_id(),
                kind: "run.finished".into(),
                payload: json!({"run_id": w.run.id, "workflow": w.run.workflow, "status": w.run.status.as_str(), "team": w.run.team}),
                source: format!("run:{}", w.run.id),
                dedup_key: Some(format!("run.finished:{}:{}", w.run.id, w.run.finished_at.clone().unwrap_or_default())),
                created_at: t.clone(),
            };
            let runs = self.runs_for_event(&e, Some(&w.run.workflow)).await.map_err(|e| StoreError::Other(e.to_string()))?;
            events.push((e, runs));
        }
        let saved = self
            .store
            .run_save(RunSave {
                run: &w.run,
                steps: &changed,
                logs: &logs,
                fence: Fence::Lease(&self.engine.owner),
                release,
                events: &events,
                audit: Vec::new(),
                now: &t,
            })
            .await?;
        match saved {
            None => Ok(false),
            Some(cancel) => {
                w.run.cancel_requested |= cancel;
                w.saved_run = w.run.clone();
                w.saved_steps = w.steps.clone();
                Ok(true)
            }
        }
    }

    /// Carries a claimed run forward until it waits or ends.
    async fn advance(&self, id: &str) -> Result<(), StoreError> {
        let Some((run, steps)) = self.store.run_get(id).await? else {
            return Ok(());
        };
        let mut w = Working::new(run, steps);
        loop {
            let t = now();
            match machine::plan(&mut w.run, &mut w.steps, &t) {
                Next::WaitUntil(_) | Next::Finished => {
                    self.save(&mut w, true, Vec::new()).await?;
                    return Ok(());
                }
                Next::Execute(i) => {
                    if !self.execute(&mut w, i).await? {
                        return Ok(());
                    }
                }
                Next::Undo(i) => {
                    if !self.compensate(&mut w, i).await? {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn scope(run: &Run, steps: &[Step]) -> Value {
        let outputs: serde_json::Map<String, Value> = steps
            .iter()
            .filter(|s| s.status == StepStatus::Succeeded)
            .map(|s| (s.step_id.clone(), json!({"output": s.output.clone().unwrap_or(Value::Null)})))
            .collect();
        json!({
            "inputs": run.inputs,
            "steps": outputs,
            "run": {"id": run.id, "team": run.team, "started_by": run.started_by, "workflow": run.workflow},
        })
    }

    /// One attempt of step `i`. False when the lease was lost.
    async fn execute(&self, w: &mut Working, i: usize) -> Result<bool, StoreError> {
        let def = w.run.definition.steps[i].clone();
        let t = now();
        // A step that cannot even start (a template refers to nothing, an unknown type) fails
        // for good in its first attempt.
        let fail = |w: &mut Working, message: String| {
            machine::start_attempt(&mut w.run, &mut w.steps[i], &t);
            machine::finish_attempt(&w.run, &mut w.steps[i], Err(Failure::permanent(message)), &t, 0.0);
        };
        let input = match template::render(&def.input, &Self::scope(&w.run, &w.steps)) {
            Ok(v) => v,
            Err(e) => {
                fail(w, e);
                return self.save(w, false, Vec::new()).await;
            }
        };
        w.steps[i].input = input.clone();
        let number = |key: &str, default: f64| input.get(key).and_then(Value::as_f64).unwrap_or(default).max(0.0);
        let wait_ms = match def.kind.as_str() {
            "sleep" => Some(number("seconds", 1.0) * 1000.0),
            "approval" => Some(number("deadline_minutes", 24.0 * 60.0) * 60_000.0),
            _ => None,
        };
        if let Some(ms) = wait_ms {
            machine::start_waiting(&mut w.run, &mut w.steps[i], machine::later(&t, ms as u64), &t);
            return Ok(true);
        }
        let Some(action) = self.engine.action(&def.kind) else {
            fail(w, format!("This server has no action for step type '{}'.", def.kind));
            return self.save(w, false, Vec::new()).await;
        };
        machine::start_attempt(&mut w.run, &mut w.steps[i], &t);
        // Record the attempt before acting on the outside world.
        if action.external() && !self.save(w, false, Vec::new()).await? {
            return Ok(false);
        }
        let attempt = w.steps[i].attempts;
        let cx = self.step_cx(w, i, input, format!("{}:{}", w.run.id, def.id));
        let result = if attempt <= def.inject_failures as i64 {
            Err(Failure::retryable(format!("Injected failure {attempt} of {} (inject_failures)", def.inject_failures)))
        } else {
            match self.with_lease(&w.run.id, def.timeout_secs, action.run(&cx)).await {
                Some(r) => r,
                None => return Ok(false),
            }
        };
        let events = self.events_of(&cx).await?;
        machine::finish_attempt(&w.run, &mut w.steps[i], result, &now(), jitter());
        self.save(w, false, events).await
    }

    /// One attempt at undoing step `i` (step types without an action have nothing to undo).
    /// False when the lease was lost.
    async fn compensate(&self, w: &mut Working, i: usize) -> Result<bool, StoreError> {
        let def = w.run.definition.steps[i].clone();
        machine::start_undo(&mut w.steps[i]);
        let (result, events) = match self.engine.action(&def.kind) {
            None => (Ok(()), Vec::new()),
            Some(action) => {
                if action.external() && !self.save(w, false, Vec::new()).await? {
                    return Ok(false);
                }
                let output = w.steps[i].output.clone().unwrap_or(Value::Null);
                let cx = self.step_cx(w, i, w.steps[i].input.clone(), format!("{}:{}:undo", w.run.id, def.id));
                match self.with_lease(&w.run.id, def.timeout_secs, action.undo(&cx, &output)).await {
                    Some(r) => (r, self.events_of(&cx).await?),
                    None => return Ok(false),
                }
            }
        };
        machine::finish_undo(&w.run, &mut w.steps[i], result, &now(), jitter());
        self.save(w, false, events).await
    }

    fn step_cx(&self, w: &Working, i: usize, input: Value, key: String) -> StepCx {
        StepCx { services: self.clone(), run: w.run.clone(), step: w.steps[i].clone(), input, key, events: Mutex::default() }
    }

    async fn events_of(&self, cx: &StepCx) -> Result<Vec<(EventRecord, Vec<NewRun>)>, StoreError> {
        let events = std::mem::take(&mut *cx.events.lock().expect("not poisoned"));
        let mut out = Vec::new();
        for e in events {
            let runs = self.runs_for_event(&e, None).await.map_err(|e| StoreError::Other(e.to_string()))?;
            out.push((e, runs));
        }
        Ok(out)
    }

    /// Runs an action within its timeout, renewing the lease meanwhile. None when the lease
    /// was lost (the action is dropped: another replica owns the run now).
    async fn with_lease<T>(
        &self,
        run_id: &str,
        timeout_secs: u64,
        action: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Option<Result<T, Failure>> {
        let timed = tokio::time::timeout(Duration::from_secs(timeout_secs), action);
        tokio::pin!(timed);
        let mut renew = tokio::time::interval(self.engine.lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                r = &mut timed => {
                    return Some(r.unwrap_or_else(|_| Err(Failure::retryable(format!("Timed out after {timeout_secs} s")))));
                }
                _ = renew.tick() => {
                    let until = super::timestamp(chrono::Utc::now() + chrono::Duration::from_std(self.engine.lease).unwrap_or_default());
                    match self.store.run_renew(run_id, &self.engine.owner, &until).await {
                        Ok(true) => {}
                        Ok(false) => return None,
                        Err(e) => tracing::warn!(run = %run_id, error = %e, "cannot renew a run's lease"),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_read_as_words() {
        let now = "2026-11-27T10:00:00.000Z";
        assert_eq!(super::in_words(now, "2026-11-27T10:00:01.250Z"), "in 1.2 s");
        assert_eq!(super::in_words(now, "2026-11-27T10:05:00.000Z"), "in 5 min (at 10:05 UTC)");
        assert_eq!(super::in_words(now, "2026-11-28T10:00:00.000Z"), "in 24 h (at 10:00 UTC)");
    }
}
