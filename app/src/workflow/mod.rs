//! Workflows: definitions (steps with their actions, retries, timeouts and triggers), runs and
//! their steps as stored and shown, and the pure pieces of the engine — the state machine that
//! decides what a run does next (`machine`, server only) and the `{{ … }}` templates of step
//! inputs. The engine that carries the decisions out is `core::engine`.

#[cfg(feature = "ssr")]
pub mod machine;
pub mod template;

use crate::types::Role;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// A workflow as its author writes it (YAML or JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkflowDef {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub inputs: Vec<InputDef>,
    pub steps: Vec<StepDef>,
    #[serde(default)]
    pub on: Triggers,
    /// What happens when a step fails for good: undo the completed steps (the default) or stop
    /// and leave the run for a person to roll back or retry.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// The role needed in the run's team to start it (default: Junior Developer).
    #[serde(default = "default_start_role")]
    pub start_role: Role,
}

fn default_start_role() -> Role {
    Role::JuniorDeveloper
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    #[default]
    Rollback,
    Stop,
}

/// A value the person starting a run fills in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InputDef {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub help: String,
    #[serde(default, rename = "type")]
    pub kind: InputKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<Value>,
    /// Choices of a `choice` input.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Shown as •••• in run pages and API answers.
    #[serde(default)]
    pub secret: bool,
    /// Shown under "More options" (progressive disclosure).
    #[serde(default)]
    pub advanced: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    #[default]
    Text,
    Number,
    Boolean,
    Choice,
}

/// One step: an action of a known type with its input, and how often and how long to try.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The action's input; strings may hold `{{ inputs.x }}`, `{{ steps.id.output.y }}`, `{{ run.id }}`.
    #[serde(default, rename = "with")]
    pub input: Value,
    /// Steps that must succeed first (a dependency graph; run in an order that respects it).
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Seconds one attempt may take before it counts as failed.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Fault injection: the first N attempts fail as if the action had failed, to try a
    /// workflow's retries and rollback without breaking anything real.
    #[serde(default)]
    pub inject_failures: u32,
}

fn default_timeout() -> u64 {
    60
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each further one, with ±25 % jitter.
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, backoff_ms: 1_000, max_backoff_ms: 60_000 }
    }
}

/// What starts a run besides a person: events by kind (`entity.changed`, `run.finished`,
/// `webhook.<source>`, or any kind an `emit` step sends; `prefix.*` matches a family) and a
/// cron schedule (five fields, UTC).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub schedule: Option<String>,
    /// The team that owns runs started by events and schedules.
    #[serde(default)]
    pub team: Option<String>,
}

impl Triggers {
    pub fn matches(&self, kind: &str) -> bool {
        self.events.iter().any(|e| match e.strip_suffix('*') {
            Some(prefix) => kind.starts_with(prefix),
            None => e == kind,
        })
    }
}

/// The step types the engine knows, with what each one does and undoes.
pub const STEP_TYPES: [(&str, &str); 7] = [
    ("noop", "Does nothing (a placeholder or a benchmark)."),
    ("sleep", "Waits `seconds` without holding a worker."),
    ("approval", "Waits until someone with `role` in the run's team approves, or rejects at `deadline_minutes`."),
    ("emit", "Sends an event of `kind` with `payload`; undone by `<kind>.reverted`."),
    ("http", "Calls `url` (`method`, `body`), signed with HMAC-SHA256 by the secret of webhook source `sign_with`; undone by `undo`."),
    ("git", "Creates tag or branch `name` in the git repository `repo` on this machine; undone by deleting it."),
    ("check", "Fails when `ok` is false (after templates), e.g. a gate on an input."),
];

/// What a run is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    /// Waiting for an approval, a sleep or a retry's backoff.
    Waiting,
    Succeeded,
    /// A step failed for good and the workflow says `on_failure: stop`.
    Failed,
    RollingBack,
    RolledBack,
    /// A compensation failed for good: a person must look (and may retry the rollback).
    RollbackFailed,
    /// Cancelled by a person; its completed steps were undone.
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 8] = [
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::RollingBack,
        RunStatus::RolledBack,
        RunStatus::RollbackFailed,
        RunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::RollingBack => "rolling_back",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::RollbackFailed => "rollback_failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "Running",
            RunStatus::Waiting => "Waiting",
            RunStatus::Succeeded => "Succeeded",
            RunStatus::Failed => "Failed",
            RunStatus::RollingBack => "Rolling back",
            RunStatus::RolledBack => "Rolled back",
            RunStatus::RollbackFailed => "Rollback failed",
            RunStatus::Cancelled => "Cancelled",
        }
    }

    /// Nothing more happens unless a person acts.
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed | RunStatus::RolledBack | RunStatus::RollbackFailed | RunStatus::Cancelled)
    }
}

/// Where a step is, going forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    /// An approval or a sleep.
    Waiting,
    Succeeded,
    Failed,
    /// Never ran: the run was cancelled or failed before it.
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Waiting => "waiting",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        [Self::Pending, Self::Running, Self::Waiting, Self::Succeeded, Self::Failed, Self::Skipped]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Where a step's compensation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UndoStatus {
    /// Not asked for (yet).
    None,
    Pending,
    Running,
    Done,
    Failed,
}

impl UndoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UndoStatus::None => "none",
            UndoStatus::Pending => "pending",
            UndoStatus::Running => "running",
            UndoStatus::Done => "done",
            UndoStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<UndoStatus> {
        [Self::None, Self::Pending, Self::Running, Self::Done, Self::Failed].into_iter().find(|r| r.as_str() == s)
    }
}

/// A run: one execution of a workflow, with the definition as it was when the run started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Run {
    pub id: String,
    pub workflow: String,
    pub title: String,
    /// The team the run acts for (whose roles decide who may operate it).
    pub team: Option<String>,
    pub status: RunStatus,
    pub inputs: Value,
    pub started_by: String,
    /// `user`, `schedule`, `event:<kind>`, `retry:<run id>`.
    pub trigger: String,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
    /// When the engine should look at the run next (None: nothing to do until someone acts).
    pub wake_at: Option<String>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// Set when the run is being rolled back because a person asked (cancel or roll back),
    /// rather than because a step failed.
    pub rollback_reason: Option<String>,
    pub version: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub definition: WorkflowDef,
}

/// A step of a run, forward and backward.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Step {
    pub idx: i64,
    pub step_id: String,
    pub title: String,
    pub kind: String,
    pub status: StepStatus,
    pub attempts: i64,
    /// The input after templates, as the action received it.
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Next retry, end of a sleep, or an approval's deadline.
    pub next_at: Option<String>,
    pub undo: UndoStatus,
    pub undo_attempts: i64,
    pub undo_error: Option<String>,
    /// Who approved or rejected (approval steps).
    pub decided_by: Option<String>,
}

impl Step {
    pub fn new(idx: usize, def: &StepDef) -> Step {
        Step {
            idx: idx as i64,
            step_id: def.id.clone(),
            title: if def.title.is_empty() { def.id.clone() } else { def.title.clone() },
            kind: def.kind.clone(),
            status: StepStatus::Pending,
            attempts: 0,
            input: Value::Null,
            output: None,
            error: None,
            started_at: None,
            finished_at: None,
            next_at: None,
            undo: UndoStatus::None,
            undo_attempts: 0,
            undo_error: None,
            decided_by: None,
        }
    }
}

/// A line of a run's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct LogLine {
    /// Increasing within the database (a cursor for "lines after").
    pub seq: i64,
    pub run_id: String,
    pub step_idx: Option<i64>,
    pub at: String,
    /// `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

/// A run with its steps, as the run page and `GET /api/v1/runs/{id}` show it (secrets masked).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RunDetail {
    pub run: Run,
    pub steps: Vec<Step>,
    /// What the caller may do to it now (the server checks again when they do).
    pub can: RunPermissions,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RunPermissions {
    pub cancel: bool,
    pub rollback: bool,
    pub retry: bool,
    /// The caller may decide the approval that the run waits for.
    pub approve: bool,
}

/// A workflow as listed, with what is needed to start it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WorkflowInfo {
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub definition: WorkflowDef,
    pub version: i64,
    pub updated_at: String,
    /// The next time its schedule fires.
    pub next_fire_at: Option<String>,
    /// Teams in which the caller may start it.
    pub startable_in: Vec<String>,
}

/// Filter and page of the runs list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, utoipa::IntoParams))]
pub struct RunFilter {
    pub workflow: Option<String>,
    pub status: Option<String>,
    pub started_by: Option<String>,
    pub team: Option<String>,
    pub page: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RunPage {
    pub runs: Vec<Run>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// What starts a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The team the run acts for; defaults to the caller's first team where they may start it.
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub inputs: serde_json::Map<String, Value>,
}

/// Approve or reject the approval a run waits for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub approve: bool,
    #[serde(default)]
    pub comment: String,
}

/// A webhook source: deliveries to `/api/v1/hooks/{name}` signed with its secret become events
/// of kind `webhook.{name}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookSource {
    pub name: String,
    pub description: String,
    pub created_by: String,
    pub created_at: String,
    /// Only in the answer that created it (or rotated it).
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookDelivery {
    pub id: String,
    pub source: String,
    pub delivery_id: Option<String>,
    pub received_at: String,
    /// `accepted`, `duplicate`, `bad_signature`, `bad_payload`, `unknown_source`.
    pub outcome: String,
    pub detail: String,
    /// Runs that the event started.
    pub runs: Vec<String>,
}

impl WebhookDelivery {
    /// The same delivery recorded as a replay of one accepted before (it starts nothing).
    pub fn into_duplicate(self) -> WebhookDelivery {
        WebhookDelivery {
            outcome: "duplicate".into(),
            detail: "This delivery id was accepted before; the replay was ignored.".into(),
            runs: Vec::new(),
            ..self
        }
    }
}

/// Values whose names look secret (and inputs declared `secret`) are shown as this.
pub const MASK: &str = "••••";

/// Masks secrets in `value`: every key named in `secret_names`, and any key that contains
/// `secret`, `password`, `token` or `apikey`/`api_key`.
pub fn mask(value: &Value, secret_names: &[&str]) -> Value {
    fn looks_secret(key: &str) -> bool {
        let k = key.to_ascii_lowercase();
        ["secret", "password", "token", "apikey", "api_key", "private_key"].iter().any(|s| k.contains(s))
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let hidden = secret_names.contains(&k.as_str()) || looks_secret(k);
                    (k.clone(), if hidden && !v.is_null() { Value::String(MASK.into()) } else { mask(v, secret_names) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask(v, secret_names)).collect()),
        other => other.clone(),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && s.as_bytes()[0].is_ascii_alphanumeric()
}

impl WorkflowDef {
    /// Checks the definition and orders its steps so that every step comes after the steps it
    /// needs (declaration order otherwise). Each problem is `(field path, message)`.
    pub fn validate(mut self) -> Result<WorkflowDef, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut bad = |path: String, msg: String| problems.push((path, msg));
        if !valid_name(&self.name) {
            bad("name".into(), "Use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit.".into());
        }
        if self.title.trim().is_empty() {
            bad("title".into(), "A title is required.".into());
        }
        if self.steps.is_empty() {
            bad("steps".into(), "A workflow needs at least one step.".into());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, input) in self.inputs.iter().enumerate() {
            if !valid_name(&input.name) {
                bad(format!("inputs[{i}].name"), "Use lower-case letters, digits, '-' or '_'.".into());
            }
            if !seen.insert(input.name.clone()) {
                bad(format!("inputs[{i}].name"), format!("'{}' is declared twice.", input.name));
            }
            if input.kind == InputKind::Choice && input.choices.is_empty() {
                bad(format!("inputs[{i}].choices"), "A choice input needs its choices.".into());
            }
        }
        let ids: Vec<&str> = self.steps.iter().map(|s| s.id.as_str()).collect();
        for (i, step) in self.steps.iter().enumerate() {
            if !valid_name(&step.id) {
                bad(format!("steps[{i}].id"), "Use 1-63 lower-case letters, digits, '-' or '_'.".into());
            }
            if ids[..i].contains(&step.id.as_str()) {
                bad(format!("steps[{i}].id"), format!("Step id '{}' is used twice.", step.id));
            }
            if !STEP_TYPES.iter().any(|(t, _)| *t == step.kind) {
                let known: Vec<&str> = STEP_TYPES.iter().map(|(t, _)| *t).collect();
                bad(format!("steps[{i}].type"), format!("Unknown step type '{}'; known: {}.", step.kind, known.join(", ")));
            }
            if !(step.input.is_null() || step.input.is_object()) {
                bad(format!("steps[{i}].with"), "Step input must be a mapping of names to values.".into());
            }
            for (j, need) in step.needs.iter().enumerate() {
                if !ids.contains(&need.as_str()) || need == &step.id {
                    bad(format!("steps[{i}].needs[{j}]"), format!("'{need}' is not another step of this workflow."));
                }
            }
            if step.retry.max_attempts == 0 || step.retry.max_attempts > 100 {
                bad(format!("steps[{i}].retry.max_attempts"), "Between 1 and 100 attempts.".into());
            }
            if let (true, Some(role)) = (step.kind == "approval", step.input.get("role")) {
                if serde_json::from_value::<Role>(role.clone()).is_err() {
                    bad(format!("steps[{i}].with.role"), "Use one of viewer, junior_developer, senior_developer, team_lead, platform_admin.".into());
                }
            }
            if step.timeout_secs == 0 || step.timeout_secs > 86_400 {
                bad(format!("steps[{i}].timeout_secs"), "Between 1 second and a day.".into());
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // Kahn's algorithm, taking the earliest-declared ready step each time.
        let mut order: Vec<usize> = Vec::with_capacity(self.steps.len());
        let mut done = vec![false; self.steps.len()];
        while order.len() < self.steps.len() {
            let ready = (0..self.steps.len()).find(|&i| {
                !done[i] && self.steps[i].needs.iter().all(|n| order.iter().any(|&o| &self.steps[o].id == n))
            });
            match ready {
                Some(i) => {
                    done[i] = true;
                    order.push(i);
                }
                None => {
                    let stuck: Vec<&str> = (0..self.steps.len()).filter(|&i| !done[i]).map(|i| self.steps[i].id.as_str()).collect();
                    return Err(vec![("steps".into(), format!("The steps' needs form a cycle: {}.", stuck.join(", ")))]);
                }
            }
        }
        let steps = std::mem::take(&mut self.steps);
        let mut slots: Vec<Option<StepDef>> = steps.into_iter().map(Some).collect();
        self.steps = order.into_iter().map(|i| slots[i].take().expect("each index once")).collect();
        Ok(self)
    }

    /// The run's inputs: the given values checked against the declared inputs, defaults filled in.
    pub fn resolve_inputs(&self, given: &serde_json::Map<String, Value>) -> Result<Value, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut out = serde_json::Map::new();
        for key in given.keys() {
            if !self.inputs.iter().any(|i| &i.name == key) {
                problems.push((format!("inputs.{key}"), format!("This workflow has no input '{key}'.")));
            }
        }
        for input in &self.inputs {
            let path = format!("inputs.{}", input.name);
            let value = match given.get(&input.name).filter(|v| !v.is_null() && v.as_str() != Some("")) {
                Some(v) => v.clone(),
                None => match &input.default {
                    Some(d) => d.clone(),
                    None if input.required => {
                        problems.push((path, "Required.".into()));
                        continue;
                    }
                    None => continue,
                },
            };
            // Forms send text; accept "true"/"3" for booleans and numbers.
            let typed = match (input.kind, &value) {
                (InputKind::Boolean, Value::Bool(_)) | (InputKind::Number, Value::Number(_)) => Some(value.clone()),
                (InputKind::Boolean, Value::String(s)) => match s.as_str() {
                    "true" | "on" | "yes" => Some(Value::Bool(true)),
                    "false" | "off" | "no" => Some(Value::Bool(false)),
                    _ => None,
                },
                (InputKind::Number, Value::String(s)) => s.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number),
                (InputKind::Text, Value::String(_)) => Some(value.clone()),
                (InputKind::Choice, Value::String(s)) if input.choices.contains(s) => Some(value.clone()),
                (InputKind::Choice, Value::String(_)) => {
                    problems.push((path, format!("Choose one of: {}.", input.choices.join(", "))));
                    continue;
                }
                _ => None,
            };
            match typed {
                Some(v) => {
                    out.insert(input.name.clone(), v);
                }
                None => problems.push((path, format!("Expected {}.", match input.kind {
                    InputKind::Boolean => "true or false",
                    InputKind::Number => "a number",
                    InputKind::Text | InputKind::Choice => "text",
                }))),
            }
        }
        if problems.is_empty() { Ok(Value::Object(out)) } else { Err(problems) }
    }

    pub fn secret_inputs(&self) -> Vec<&str> {
        self.inputs.iter().filter(|i| i.secret).map(|i| i.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(steps: Value) -> WorkflowDef {
        serde_json::from_value(json!({"name": "w", "title": "W", "steps": steps})).unwrap()
    }

    #[test]
    fn steps_are_ordered_by_their_needs() {
        let d = def(json!([
            {"id": "c", "type": "noop", "needs": ["a", "b"]},
            {"id": "a", "type": "noop"},
            {"id": "b", "type": "noop", "needs": ["a"]},
        ]))
        .validate()
        .unwrap();
        let ids: Vec<_> = d.steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn problems_name_their_field() {
        let err = def(json!([
            {"id": "a", "type": "teleport"},
            {"id": "a", "type": "noop", "needs": ["zzz"]},
            {"id": "B!", "type": "noop", "retry": {"max_attempts": 0}},
            {"id": "ok", "type": "approval", "with": {"role": "boss"}},
        ]))
        .validate()
        .unwrap_err();
        let paths: Vec<_> = err.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"steps[0].type"), "{err:?}");
        assert!(paths.contains(&"steps[1].id"), "{err:?}");
        assert!(paths.contains(&"steps[1].needs[0]"), "{err:?}");
        assert!(paths.contains(&"steps[2].id"), "{err:?}");
        assert!(paths.contains(&"steps[2].retry.max_attempts"), "{err:?}");
        assert!(paths.contains(&"steps[3].with.role"), "{err:?}");
    }

    #[test]
    fn cycles_are_refused() {
        let err = def(json!([
            {"id": "a", "type": "noop", "needs": ["b"]},
            {"id": "b", "type": "noop", "needs": ["a"]},
        ]))
        .validate()
        .unwrap_err();
        assert!(err[0].1.contains("cycle"), "{err:?}");
    }

    #[test]
    fn inputs_are_typed_defaulted_and_checked() {
        let d: WorkflowDef = serde_json::from_value(json!({
            "name": "w", "title": "W", "steps": [{"id": "a", "type": "noop"}],
            "inputs": [
                {"name": "service", "required": true},
                {"name": "replicas", "type": "number", "default": 2},
                {"name": "fail", "type": "boolean"},
                {"name": "tier", "type": "choice", "choices": ["staging", "production"]},
            ]
        }))
        .unwrap();
        let given = |v: Value| v.as_object().unwrap().clone();
        let ok = d.resolve_inputs(&given(json!({"service": "pay", "fail": "true", "tier": "staging"}))).unwrap();
        assert_eq!(ok, json!({"service": "pay", "replicas": 2, "fail": true, "tier": "staging"}));
        let err = d.resolve_inputs(&given(json!({"replicas": "many", "tier": "moon", "extra": 1}))).unwrap_err();
        let paths: Vec<_> = err.iter().map(|(p, _)| p.as_str()).collect();
        for p in ["inputs.service", "inputs.replicas", "inputs.tier", "inputs.extra"] {
            assert!(paths.contains(&p), "{p} missing in {err:?}");
        }
    }

    #[test]
    fn secrets_are_masked_at_any_depth() {
        let v = json!({"password": "x", "db": {"api_key": "k", "host": "h"}, "list": [{"token": "t"}], "pin": "1"});
        assert_eq!(
            mask(&v, &["pin"]),
            json!({"password": MASK, "db": {"api_key": MASK, "host": "h"}, "list": [{"token": MASK}], "pin": MASK})
        );
    }

    #[test]
    fn event_patterns() {
        let t = Triggers { events: vec!["webhook.*".into(), "run.finished".into()], ..Default::default() };
        assert!(t.matches("webhook.ci"));
        assert!(t.matches("run.finished"));
        assert!(!t.matches("entity.changed"));
    }
}
