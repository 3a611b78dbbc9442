//! The workflow service: definitions, starting and operating runs (each authorized and audited),
//! events and schedules that start runs, and inbound webhooks with HMAC signatures.

use super::service::db;
use super::store::*;
use super::{new_id, now, Caller, Services};
use crate::authz::{decide, Action};
use crate::error::AppError;
use crate::types::Role;
use crate::workflow::machine;
use crate::workflow::*;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// Runs shown per page.
pub const RUN_PAGE_SIZE: i64 = 25;
/// The largest webhook body accepted.
pub const WEBHOOK_MAX_BYTES: usize = 256 * 1024;

/// HMAC-SHA256 of `body` with `secret`, as `sha256=<hex>` (the form GitHub and most CI tools use).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a `sha256=<hex>` signature in constant time.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(bytes) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&bytes).is_ok()
}

/// The next time a five-field cron expression fires after `after` (UTC).
pub fn next_fire(schedule: &str, after: chrono::DateTime<chrono::Utc>) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let fields = schedule.split_whitespace().count();
    if fields != 5 {
        return Err(format!("Use five fields (minute hour day-of-month month day-of-week), got {fields}."));
    }
    let cron = croner::Cron::new(schedule).parse().map_err(|e| format!("Not a cron schedule: {e}"))?;
    cron.find_next_occurrence(&after, false).map_err(|e| format!("The schedule never fires: {e}"))
}

fn problems(list: Vec<(String, String)>) -> AppError {
    let mut map = crate::error::FieldErrors::new();
    for (path, message) in list {
        map.entry(path).or_default().push(message);
    }
    AppError::Validation(map)
}

/// The runs that event `e` starts among `workflows` (see [`Services::runs_for_event`]).
fn runs_for(workflows: &[WorkflowRecord], e: &EventRecord, except: Option<&str>) -> Vec<NewRun> {
    let mut out = Vec::new();
    for def in workflows.iter().map(|w| &w.definition) {
        if !def.on.matches(&e.kind) || Some(def.name.as_str()) == except {
            continue;
        }
        // Inputs the event carries and the workflow declares; defaults for the rest.
        let given: serde_json::Map<String, Value> = e
            .payload
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| def.inputs.iter().any(|i| &i.name == *k)).map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        match def.resolve_inputs(&given) {
            Ok(mut inputs) => {
                if let Value::Object(m) = &mut inputs {
                    m.insert("event".into(), json!({"kind": e.kind, "payload": e.payload, "source": e.source}));
                }
                out.push(new_run(def, inputs, def.on.team.clone(), &e.source, format!("event:{}", e.kind)));
            }
            Err(p) => tracing::warn!(workflow = %def.name, event = %e.kind, problems = ?p, "event does not carry the workflow's required inputs; no run started"),
        }
    }
    out
}

/// A new run of `def` with all its steps pending, due now.
pub fn new_run(def: &WorkflowDef, inputs: Value, team: Option<String>, started_by: &str, trigger: String) -> NewRun {
    let t = now();
    let run = Run {
        id: new_id(),
        workflow: def.name.clone(),
        title: def.title.clone(),
        team,
        status: RunStatus::Running,
        inputs,
        started_by: started_by.into(),
        trigger,
        created_at: t.clone(),
        updated_at: t.clone(),
        finished_at: None,
        wake_at: Some(t),
        error: None,
        cancel_requested: false,
        rollback_reason: None,
        version: 1,
        definition: def.clone(),
    };
    let steps = def.steps.iter().enumerate().map(|(i, d)| Step::new(i, d)).collect();
    (run, steps)
}

/// An audit entry about a run, filed under the run's team (so its Team Leads read it).
fn run_audit(caller: &Caller, action: &str, run: &Run) -> AuditDraft {
    let audit = caller.audit(action, format!("run:{}", run.id));
    match &run.team {
        Some(t) => audit.team(t),
        None => audit,
    }
}

impl Services {
    fn allowed(&self, caller: &Caller, action: Action) -> bool {
        caller.principal.as_ref().is_some_and(|p| decide(&p.subject(), action).allowed())
    }

    fn info(&self, caller: &Caller, w: WorkflowRecord) -> WorkflowInfo {
        let startable_in = caller
            .principal
            .as_ref()
            .map(|p| {
                let mut teams: Vec<String> = p.memberships.iter().map(|m| m.team.clone()).collect();
                if p.user.is_admin {
                    teams.extend(w.definition.on.team.clone());
                }
                teams.sort();
                teams.dedup();
                teams
                    .into_iter()
                    .filter(|t| decide(&p.subject(), Action::StartWorkflow { team: t, role: w.definition.start_role }).allowed())
                    .collect()
            })
            .unwrap_or_default();
        WorkflowInfo { definition: w.definition, version: w.version, updated_at: w.updated_at, next_fire_at: w.next_fire_at, startable_in }
    }

    pub async fn workflows_list(&self, caller: &Caller) -> Result<Vec<WorkflowInfo>, AppError> {
        caller.require()?;
        Ok(self.store.workflows().await.map_err(db)?.into_iter().map(|w| self.info(caller, w)).collect())
    }

    pub async fn workflow_get(&self, caller: &Caller, name: &str) -> Result<WorkflowInfo, AppError> {
        caller.require()?;
        let w = self.store.workflow(name).await.map_err(db)?;
        w.map(|w| self.info(caller, w)).ok_or_else(|| AppError::NotFound(format!("There is no workflow '{name}'.")))
    }

    /// Parses a definition from YAML or JSON text, with a field path for every problem.
    pub fn parse_workflow(text: &str) -> Result<WorkflowDef, AppError> {
        let def: WorkflowDef = yaml_serde::from_str(text).map_err(|e| {
            let at = e.location().map(|l| format!(" (line {}, column {})", l.line(), l.column())).unwrap_or_default();
            AppError::field("definition", format!("Not a workflow definition{at}: {e}"))
        })?;
        let def = def.validate().map_err(problems)?;
        if let Some(s) = &def.on.schedule {
            next_fire(s, chrono::Utc::now()).map_err(|m| AppError::field("on.schedule", m))?;
        }
        Ok(def)
    }

    /// Creates or replaces a workflow (Platform Admins). `expected_version` guards against
    /// overwriting someone else's change; the definition must carry the `name` it is stored under.
    pub async fn workflow_put(&self, caller: &Caller, name: &str, text: &str, expected_version: Option<i64>) -> Result<WorkflowInfo, AppError> {
        let target = format!("workflow:{name}");
        self.authorize(caller, Action::ManageWorkflows, caller.audit("workflow.put", target.clone())).await?;
        let def = Self::parse_workflow(text)?;
        if def.name != name {
            return Err(AppError::field("name", format!("The definition is named '{}' but was sent to '{name}'.", def.name)));
        }
        let audit = caller.audit("workflow.put", target).after(&def);
        self.put_workflow(def, expected_version, Some(audit)).await?;
        self.workflow_get(caller, name).await
    }

    /// Writes a validated definition (also used by seeding), computing its next fire time.
    pub async fn put_workflow(&self, def: WorkflowDef, expected_version: Option<i64>, audit: Option<AuditDraft>) -> Result<i64, AppError> {
        let next_fire_at = match &def.on.schedule {
            Some(s) => Some(super::timestamp(next_fire(s, chrono::Utc::now()).map_err(|m| AppError::field("on.schedule", m))?)),
            None => None,
        };
        let record = WorkflowRecord { definition: def, version: 0, updated_at: now(), next_fire_at };
        self.store.workflow_put(&record, expected_version, audit).await.map_err(db)
    }

    pub async fn workflow_delete(&self, caller: &Caller, name: &str) -> Result<(), AppError> {
        let audit = caller.audit("workflow.delete", format!("workflow:{name}"));
        self.authorize(caller, Action::ManageWorkflows, audit.clone()).await?;
        self.store.workflow_delete(name, audit).await.map_err(db)
    }

    /// Starts a run for a person.
    pub async fn run_start(&self, caller: &Caller, workflow: &str, start: StartRun) -> Result<RunDetail, AppError> {
        let p = caller.require()?;
        let w = self.store.workflow(workflow).await.map_err(db)?.ok_or_else(|| AppError::NotFound(format!("There is no workflow '{workflow}'.")))?;
        let def = w.definition;
        let team = match start.team.filter(|t| !t.is_empty()) {
            Some(t) => t,
            None => p
                .memberships
                .iter()
                .map(|m| m.team.clone())
                .find(|t| decide(&p.subject(), Action::StartWorkflow { team: t, role: def.start_role }).allowed())
                .ok_or_else(|| AppError::field("team", "Choose the team this run is for."))?,
        };
        let audit = caller.audit("run.start", format!("workflow:{workflow}")).team(&team);
        self.authorize(caller, Action::StartWorkflow { team: &team, role: def.start_role }, audit.clone()).await?;
        let inputs = def.resolve_inputs(&start.inputs).map_err(problems)?;
        let (run, steps) = new_run(&def, inputs, Some(team), &p.user.username, "user".into());
        let id = run.id.clone();
        let audit = audit.after(&json!({"run": id, "inputs": mask(&run.inputs, &def.secret_inputs())}));
        self.store.runs_start(&[(run, steps)], None, None, vec![audit]).await.map_err(db)?;
        self.run_detail(caller, &id).await
    }

    pub async fn runs_list(&self, caller: &Caller, filter: RunFilter) -> Result<RunPage, AppError> {
        caller.require()?;
        if let Some(s) = filter.status.as_deref().filter(|s| !s.is_empty()) {
            if RunStatus::parse(s).is_none() {
                let known: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
                return Err(AppError::field("status", format!("Unknown status '{s}'; use one of {}.", known.join(", "))));
            }
        }
        let page = filter.page.unwrap_or(1).max(1);
        let (mut runs, total) = self.store.runs_list(&filter, RUN_PAGE_SIZE, (page - 1) * RUN_PAGE_SIZE).await.map_err(db)?;
        for r in &mut runs {
            r.inputs = mask(&r.inputs, &r.definition.secret_inputs());
        }
        Ok(RunPage { runs, total, page, page_size: RUN_PAGE_SIZE })
    }

    async fn load_run(&self, id: &str) -> Result<NewRun, AppError> {
        self.store.run_get(id).await.map_err(db)?.ok_or_else(|| AppError::NotFound(format!("There is no run '{id}'.")))
    }

    fn approval_role(run: &Run, steps: &[Step]) -> Option<Role> {
        machine::pending_approval(steps).map(|i| {
            let role = steps[i].input.get("role").cloned().unwrap_or_else(|| run.definition.steps[i].input.get("role").cloned().unwrap_or(Value::Null));
            serde_json::from_value(role).unwrap_or(Role::TeamLead)
        })
    }

    /// A run with its steps, secrets masked, and what the caller may do to it.
    pub async fn run_detail(&self, caller: &Caller, id: &str) -> Result<RunDetail, AppError> {
        let p = caller.require()?;
        let (mut run, mut steps) = self.load_run(id).await?;
        let team = run.team.as_deref();
        let status = run.status;
        let can = RunPermissions {
            cancel: matches!(status, RunStatus::Running | RunStatus::Waiting) && !run.cancel_requested && self.allowed(caller, Action::OperateRun { team }),
            rollback: matches!(status, RunStatus::Succeeded | RunStatus::Failed | RunStatus::RollbackFailed | RunStatus::Waiting)
                && self.allowed(caller, Action::RollbackRun { team }),
            retry: status.is_final() && self.allowed(caller, Action::OperateRun { team }),
            approve: Self::approval_role(&run, &steps).is_some_and(|role| {
                self.allowed(caller, Action::ApproveRun { team, role }) && (p.user.is_admin || p.user.username != run.started_by)
            }),
        };
        let secret = run.definition.secret_inputs().into_iter().map(String::from).collect::<Vec<_>>();
        let secret: Vec<&str> = secret.iter().map(String::as_str).collect();
        run.inputs = mask(&run.inputs, &secret);
        for s in &mut steps {
            s.input = mask(&s.input, &secret);
            s.output = s.output.as_ref().map(|o| mask(o, &secret));
        }
        Ok(RunDetail { run, steps, can })
    }

    pub async fn run_logs(&self, caller: &Caller, id: &str, after: i64) -> Result<Vec<LogLine>, AppError> {
        caller.require()?;
        self.store.run_logs(id, after, 1000).await.map_err(db)
    }

    /// Writes a person's change to a run nobody holds, checked against the version read.
    async fn save_action(&self, run: &Run, before: &[Step], steps: &[Step], audit: AuditDraft, log: String) -> Result<(), AppError> {
        let t = now();
        let changed: Vec<Step> = steps.iter().zip(before).filter(|(a, b)| a != b).map(|(a, _)| a.clone()).collect();
        let logs = [NewLog { run_id: run.id.clone(), step_idx: None, at: t.clone(), level: "info", message: log }];
        let saved = self
            .store
            .run_save(RunSave {
                run,
                steps: &changed,
                logs: &logs,
                fence: Fence::Version(run.version),
                release: true,
                events: &[],
                audit: vec![audit],
                now: &t,
            })
            .await
            .map_err(db)?;
        match saved {
            Some(_) => Ok(()),
            None => Err(AppError::Conflict("The run moved on while you were deciding. Look at it again, then retry.".into())),
        }
    }

    /// Cancels a running or waiting run: it stops before its next step and undoes what ran.
    pub async fn run_cancel(&self, caller: &Caller, id: &str) -> Result<RunDetail, AppError> {
        let (run, _) = self.load_run(id).await?;
        let audit = run_audit(caller, "run.cancel", &run);
        self.authorize(caller, Action::OperateRun { team: run.team.as_deref() }, audit.clone()).await?;
        if !matches!(run.status, RunStatus::Running | RunStatus::Waiting) {
            return Err(AppError::Conflict(format!("The run is {}; only running or waiting runs can be cancelled.", run.status.label().to_lowercase())));
        }
        if !self.store.run_request_cancel(id, audit).await.map_err(db)? {
            return Err(AppError::Conflict("The run was already cancelled or has finished.".into()));
        }
        self.run_detail(caller, id).await
    }

    /// Rolls back a finished, failed or stuck run: its succeeded steps are undone in reverse order.
    pub async fn run_rollback(&self, caller: &Caller, id: &str) -> Result<RunDetail, AppError> {
        let (mut run, mut steps) = self.load_run(id).await?;
        let p = caller.require()?;
        let audit = run_audit(caller, "run.rollback", &run);
        self.authorize(caller, Action::RollbackRun { team: run.team.as_deref() }, audit.clone()).await?;
        match run.status {
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::RollbackFailed | RunStatus::Waiting => {}
            RunStatus::Running => {
                return Err(AppError::Conflict("The run is running: cancel it instead (that stops it and undoes what ran).".into()))
            }
            s => return Err(AppError::Conflict(format!("The run is {}; there is nothing to roll back.", s.label().to_lowercase()))),
        }
        let before = steps.clone();
        let reason = format!("Rolled back by {}", p.user.username);
        machine::begin_rollback(&mut run, &mut steps, reason.clone(), &now());
        self.save_action(&run, &before, &steps, audit, reason).await?;
        self.run_detail(caller, id).await
    }

    /// Starts the same workflow again with the same inputs (a new run).
    pub async fn run_retry(&self, caller: &Caller, id: &str) -> Result<RunDetail, AppError> {
        let (old, _) = self.load_run(id).await?;
        let p = caller.require()?;
        let audit = run_audit(caller, "run.retry", &old);
        self.authorize(caller, Action::OperateRun { team: old.team.as_deref() }, audit.clone()).await?;
        if !old.status.is_final() {
            return Err(AppError::Conflict("The run has not finished; cancel it first or wait.".into()));
        }
        let (run, steps) = new_run(&old.definition, old.inputs.clone(), old.team.clone(), &p.user.username, format!("retry:{id}"));
        let new_id = run.id.clone();
        self.store.runs_start(&[(run, steps)], None, None, vec![audit.after(&json!({"run": new_id}))]).await.map_err(db)?;
        self.run_detail(caller, &new_id).await
    }

    /// Approves or rejects the approval a run waits for. The person who started the run cannot
    /// approve it (four eyes), except a Platform Admin.
    pub async fn run_decide(&self, caller: &Caller, id: &str, d: Decision) -> Result<RunDetail, AppError> {
        let (mut run, mut steps) = self.load_run(id).await?;
        let p = caller.require()?;
        let verb = if d.approve { "run.approve" } else { "run.reject" };
        let audit = run_audit(caller, verb, &run).after(&json!({"comment": d.comment}));
        let Some(i) = machine::pending_approval(&steps) else {
            return Err(AppError::Conflict("The run is not waiting for an approval.".into()));
        };
        let role = Self::approval_role(&run, &steps).unwrap_or(Role::TeamLead);
        self.authorize(caller, Action::ApproveRun { team: run.team.as_deref(), role }, audit.clone()).await?;
        if p.user.username == run.started_by && !p.user.is_admin {
            let why = "You started this run; someone else must approve it.";
            self.store.append_audit(audit.deny(why)).await.map_err(db)?;
            return Err(AppError::Forbidden(why.into()));
        }
        let before = steps.clone();
        let t = now();
        machine::decide(&mut run, &mut steps[i], d.approve, &p.user.username, &d.comment, &t);
        let verb = if d.approve { "Approved" } else { "Rejected" };
        let note = if d.comment.trim().is_empty() { String::new() } else { format!(": {}", d.comment.trim()) };
        self.save_action(&run, &before, &steps, audit, format!("{verb} by {}{note}", p.user.username)).await?;
        self.run_detail(caller, id).await
    }

    /// The runs an event starts: one per workflow whose triggers match (never the workflow
    /// named in `except`, so a workflow cannot start itself in a loop).
    pub async fn runs_for_event(&self, e: &EventRecord, except: Option<&str>) -> Result<Vec<NewRun>, AppError> {
        Ok(runs_for(&self.store.workflows().await.map_err(db)?, e, except))
    }

    /// Sends an event from inside the platform (catalog changes and the like). Returns the
    /// ids of the runs it started; nothing is stored when no workflow listens.
    pub async fn emit_event(&self, kind: &str, payload: Value, source: &str, dedup_key: Option<String>) -> Result<Vec<String>, AppError> {
        let e = EventRecord { id: new_id(), kind: kind.into(), payload, source: source.into(), dedup_key, created_at: now() };
        let runs = self.runs_for_event(&e, None).await?;
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let ids = runs.iter().map(|(r, _)| r.id.clone()).collect();
        self.store.runs_start(&runs, Some(&e), None, Vec::new()).await.map_err(db)?;
        Ok(ids)
    }

    /// Sends `entity.changed` for catalog changes (`created`, `updated`, `deleted`), when some
    /// workflow listens. Sent after the catalog's own commit: a failure here is logged and does
    /// not undo the change.
    pub async fn entities_changed(&self, changes: &[(String, &str)]) {
        let workflows = match self.store.workflows().await {
            Ok(ws) => ws,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for workflows listening to entity changes");
                return;
            }
        };
        if !workflows.iter().any(|w| w.definition.on.matches("entity.changed")) {
            return;
        }
        for (entity_ref, change) in changes {
            let e = EventRecord {
                id: new_id(),
                kind: "entity.changed".into(),
                payload: json!({"entity_ref": entity_ref, "change": change}),
                source: "catalog".into(),
                dedup_key: None,
                created_at: now(),
            };
            let runs = runs_for(&workflows, &e, None);
            if runs.is_empty() {
                continue;
            }
            if let Err(err) = self.store.runs_start(&runs, Some(&e), None, Vec::new()).await {
                tracing::warn!(error = %err, entity = %entity_ref, "entity.changed not sent");
            }
        }
    }

    /// Fires every schedule that is due, once across replicas (compare-and-set on its time).
    pub async fn fire_schedules(&self) -> Result<usize, AppError> {
        let t = chrono::Utc::now();
        let mut fired = 0;
        for w in self.store.schedules_due(&super::timestamp(t)).await.map_err(db)? {
            let (Some(schedule), Some(from)) = (w.definition.on.schedule.clone(), w.next_fire_at.clone()) else {
                continue;
            };
            let to = match next_fire(&schedule, t) {
                Ok(n) => super::timestamp(n),
                Err(e) => {
                    tracing::warn!(workflow = %w.definition.name, error = %e, "schedule cannot fire");
                    continue;
                }
            };
            let inputs = w.definition.resolve_inputs(&Default::default()).unwrap_or(json!({}));
            let run = new_run(&w.definition, inputs, w.definition.on.team.clone(), "schedule", "schedule".into());
            let fire = Fire { workflow: &w.definition.name, from: &from, to: &to };
            if self.store.runs_start(&[run], None, Some(fire), Vec::new()).await.map_err(db)? {
                fired += 1;
            }
        }
        Ok(fired)
    }

    // ---- webhooks --------------------------------------------------------------------------

    pub async fn webhook_sources(&self, caller: &Caller) -> Result<Vec<WebhookSource>, AppError> {
        self.authorize(caller, Action::ManageWorkflows, caller.audit("webhook.list", "webhooks")).await?;
        self.store.webhook_sources().await.map_err(db)
    }

    /// Creates a source, or gives an existing one a new secret. The secret is in this answer only.
    pub async fn webhook_source_put(&self, caller: &Caller, name: &str, description: &str) -> Result<WebhookSource, AppError> {
        let audit = caller.audit("webhook.put", format!("webhook:{name}"));
        self.authorize(caller, Action::ManageWorkflows, audit.clone()).await?;
        if !super::service::valid_name(name) {
            return Err(AppError::field("name", "Use 2-64 lower-case letters, digits, '-', '.' or '_'."));
        }
        if description.chars().count() > 500 {
            return Err(AppError::field("description", "Use at most 500 characters."));
        }
        let secret = format!("whs_{}", super::secrets::new_session_id());
        let p = caller.require()?;
        let source = WebhookSource { name: name.into(), description: description.into(), created_by: p.user.username.clone(), created_at: now(), secret: None };
        self.store.webhook_source_put(&source, &secret, audit.after(&source)).await.map_err(db)?;
        Ok(WebhookSource { secret: Some(secret), ..source })
    }

    pub async fn webhook_source_delete(&self, caller: &Caller, name: &str) -> Result<(), AppError> {
        let audit = caller.audit("webhook.delete", format!("webhook:{name}"));
        self.authorize(caller, Action::ManageWorkflows, audit.clone()).await?;
        self.store.webhook_source_delete(name, audit).await.map_err(db)
    }

    pub async fn webhook_deliveries(&self, caller: &Caller, source: Option<&str>) -> Result<Vec<WebhookDelivery>, AppError> {
        self.authorize(caller, Action::ManageWorkflows, caller.audit("webhook.deliveries", "webhooks")).await?;
        self.store.webhook_deliveries(source, 200).await.map_err(db)
    }

    /// Receives a delivery: checks the source, the signature and the payload, ignores a replayed
    /// delivery id, and turns the rest into a `webhook.<source>` event. Every delivery is logged.
    pub async fn webhook_receive(&self, source: &str, signature: Option<&str>, delivery_id: Option<&str>, body: &[u8]) -> Result<WebhookDelivery, AppError> {
        let mut d = WebhookDelivery {
            id: new_id(),
            source: source.into(),
            delivery_id: delivery_id.map(|s| s.chars().take(200).collect()),
            received_at: now(),
            outcome: String::new(),
            detail: String::new(),
            runs: Vec::new(),
        };
        let secret = match self.store.webhook_source(source).await.map_err(db)? {
            Some((_, secret)) => secret,
            None => {
                // Unknown sources are not logged (anyone could fill the table); they get a 404.
                return Err(AppError::NotFound(format!("There is no webhook source '{source}'. A Platform Admin creates it under Workflows.")));
            }
        };
        // What is wrong with the delivery: (outcome, detail), or the payload.
        let checked: Result<Value, (&str, String)> = match signature {
            None => Err(("bad_signature", "No X-Platform-Signature (or X-Hub-Signature-256) header: sign the body with HMAC-SHA256 and the source's secret.".into())),
            Some(sig) if !verify(&secret, body, sig) => {
                Err(("bad_signature", "The signature does not match the body: check the secret, and sign the exact bytes sent (sha256=<hex>).".into()))
            }
            Some(_) => match serde_json::from_slice::<Value>(body) {
                Ok(v) if v.is_object() => Ok(v),
                Ok(_) => Err(("bad_payload", "The body must be a JSON object.".into())),
                Err(e) => Err(("bad_payload", format!("The body is not JSON: {e}"))),
            },
        };
        let payload = match checked {
            Ok(payload) => payload,
            Err((outcome, detail)) => {
                d.outcome = outcome.into();
                d.detail = detail.clone();
                self.store.webhook_delivery(&d, None).await.map_err(db)?;
                return Err(if outcome == "bad_signature" { AppError::Forbidden(detail) } else { AppError::BadRequest(detail) });
            }
        };
        let kind = format!("webhook.{source}");
        let e = EventRecord {
            id: new_id(),
            kind: kind.clone(),
            payload,
            source: format!("webhook:{source}"),
            dedup_key: d.delivery_id.as_ref().map(|id| format!("webhook:{source}:{id}")),
            created_at: d.received_at.clone(),
        };
        let runs = self.runs_for_event(&e, None).await?;
        d.runs = runs.iter().map(|(r, _)| r.id.clone()).collect();
        d.outcome = "accepted".into();
        d.detail = format!("Event {kind} started {} run(s).", d.runs.len());
        if !self.store.webhook_delivery(&d, Some((&e, &runs))).await.map_err(db)? {
            d = d.into_duplicate();
        }
        Ok(d)
    }
}
