//! The run state machine: pure functions from a run, its steps and the time to the next thing
//! the engine must do, and the transitions that record what happened. No I/O and no clock: the
//! engine passes `now` and a jitter value, so every transition is unit-tested here.
//!
//! Going forward, steps run in their (dependency) order; a failed attempt is retried after an
//! exponential backoff until the step's attempts are used up; a step that failed for good starts
//! the rollback (or stops the run, if the workflow says so). Rolling back undoes the succeeded
//! steps in reverse order, each with its own retries; a compensation that fails for good stops
//! the rollback with `rollback_failed`, which a person sees and can retry.

use super::{OnFailure, RetryPolicy, Run, RunStatus, Step, StepStatus, UndoStatus};
use serde_json::Value;

/// What the engine must do next for a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Run the action of step `idx` (an attempt).
    Execute(usize),
    /// Run the compensation of step `idx`.
    Undo(usize),
    /// Nothing before this time (a retry's backoff, a sleep, an approval's deadline).
    WaitUntil(String),
    /// The run is over (its status says how).
    Finished,
}

/// Why an attempt failed, and whether trying again may help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub retryable: bool,
}

impl Failure {
    pub fn retryable(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), retryable: true }
    }
    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), retryable: false }
    }
}

/// `t` plus `ms` milliseconds, as a stored timestamp.
pub fn later(t: &str, ms: u64) -> String {
    let base = crate::core::parse_timestamp(t).unwrap_or_else(chrono::Utc::now);
    crate::core::timestamp(base + chrono::Duration::milliseconds(ms.min(i64::MAX as u64) as i64))
}

/// The wait before attempt `attempt + 1`: `backoff_ms · 2^(attempt-1)`, capped, times
/// `1 + jitter/4` (`jitter` in -1..=1), so retries of many runs do not arrive together.
pub fn backoff_ms(policy: &RetryPolicy, attempt: i64, jitter: f64) -> u64 {
    let exp = (attempt.max(1) - 1).min(30) as u32;
    let base = policy.backoff_ms.saturating_mul(1u64 << exp).min(policy.max_backoff_ms.max(policy.backoff_ms));
    (base as f64 * (1.0 + jitter.clamp(-1.0, 1.0) / 4.0)).round() as u64
}

/// Compensations get at least three attempts, whatever the step's own policy.
fn undo_policy(p: &RetryPolicy) -> RetryPolicy {
    RetryPolicy { max_attempts: p.max_attempts.max(3), ..*p }
}

fn policy_of(run: &Run, step: &Step) -> RetryPolicy {
    run.definition.steps.get(step.idx as usize).map(|d| d.retry).unwrap_or_default()
}

/// Decides what happens next, applying on the way the transitions that need no action:
/// a requested cancellation starts the rollback, an elapsed sleep succeeds, an approval past
/// its deadline fails, a step failed for good starts the rollback (or stops the run), and a
/// run with nothing left finishes.
pub fn plan(run: &mut Run, steps: &mut [Step], now: &str) -> Next {
    loop {
        match run.status {
            s if s.is_final() => {
                run.wake_at = None;
                return Next::Finished;
            }
            RunStatus::Running | RunStatus::Waiting => {
                if run.cancel_requested {
                    begin_rollback(run, steps, "Cancelled".into(), now);
                    continue;
                }
                match forward(run, steps, now) {
                    Some(next) => return next,
                    None => continue,
                }
            }
            RunStatus::RollingBack => return backward(run, steps, now),
            _ => unreachable!("final statuses are handled above"),
        }
    }
}

/// One look at the forward path; `None` when the run's status changed and `plan` must look again.
fn forward(run: &mut Run, steps: &mut [Step], now: &str) -> Option<Next> {
    for i in 0..steps.len() {
        let step = &mut steps[i];
        match step.status {
            StepStatus::Succeeded | StepStatus::Skipped => continue,
            StepStatus::Pending => {
                if let Some(at) = step.next_at.clone().filter(|at| at.as_str() > now) {
                    return Some(wait(run, at));
                }
                run.status = RunStatus::Running;
                run.wake_at = Some(now.to_string());
                return Some(Next::Execute(i));
            }
            // An attempt that was under way when its worker stopped: try again with the same key.
            StepStatus::Running => {
                run.status = RunStatus::Running;
                run.wake_at = Some(now.to_string());
                return Some(Next::Execute(i));
            }
            StepStatus::Waiting => {
                let until = step.next_at.clone().unwrap_or_else(|| now.to_string());
                if until.as_str() > now {
                    return Some(wait(run, until));
                }
                if step.kind == "approval" {
                    step.status = StepStatus::Failed;
                    step.error = Some("No decision before the deadline: rejected.".into());
                } else {
                    step.status = StepStatus::Succeeded;
                    step.output = Some(Value::Object(Default::default()));
                }
                step.finished_at = Some(now.to_string());
                step.next_at = None;
                return None;
            }
            StepStatus::Failed => {
                let message = format!("Step '{}' failed: {}", step.title, step.error.clone().unwrap_or_default());
                match run.definition.on_failure {
                    OnFailure::Rollback => begin_rollback(run, steps, message, now),
                    OnFailure::Stop => {
                        run.status = RunStatus::Failed;
                        run.error = Some(message);
                        run.finished_at = Some(now.to_string());
                        run.wake_at = None;
                    }
                }
                return None;
            }
        }
    }
    run.status = RunStatus::Succeeded;
    run.error = None;
    run.finished_at = Some(now.to_string());
    run.wake_at = None;
    Some(Next::Finished)
}

fn wait(run: &mut Run, until: String) -> Next {
    run.status = RunStatus::Waiting;
    run.wake_at = Some(until.clone());
    Next::WaitUntil(until)
}

fn backward(run: &mut Run, steps: &mut [Step], now: &str) -> Next {
    for i in (0..steps.len()).rev() {
        let step = &steps[i];
        match step.undo {
            UndoStatus::Pending => {
                if let Some(at) = step.next_at.clone().filter(|at| at.as_str() > now) {
                    run.wake_at = Some(at.clone());
                    return Next::WaitUntil(at);
                }
                run.wake_at = Some(now.to_string());
                return Next::Undo(i);
            }
            UndoStatus::Running => {
                run.wake_at = Some(now.to_string());
                return Next::Undo(i);
            }
            UndoStatus::Failed => {
                run.status = RunStatus::RollbackFailed;
                run.error = Some(format!(
                    "Undoing step '{}' failed: {}. Fix the cause, then roll back again.",
                    step.title,
                    step.undo_error.clone().unwrap_or_default()
                ));
                run.finished_at = Some(now.to_string());
                run.wake_at = None;
                return Next::Finished;
            }
            UndoStatus::None | UndoStatus::Done => continue,
        }
    }
    run.status = if run.cancel_requested { RunStatus::Cancelled } else { RunStatus::RolledBack };
    run.finished_at = Some(now.to_string());
    run.wake_at = None;
    Next::Finished
}

/// Starts undoing: every step whose action succeeded (or may have, when it was interrupted)
/// gets its compensation queued; steps that never ran are skipped. Compensations that failed
/// before are tried again (a person asked to roll back again).
pub fn begin_rollback(run: &mut Run, steps: &mut [Step], reason: String, now: &str) {
    for step in steps.iter_mut() {
        match step.status {
            StepStatus::Succeeded | StepStatus::Running => {
                if step.status == StepStatus::Running {
                    step.status = StepStatus::Failed;
                    step.error = Some("Interrupted by the rollback.".into());
                    step.finished_at = Some(now.to_string());
                }
                if matches!(step.undo, UndoStatus::None | UndoStatus::Failed) {
                    step.undo = UndoStatus::Pending;
                    step.undo_attempts = 0;
                    step.undo_error = None;
                    step.next_at = None;
                }
            }
            StepStatus::Pending | StepStatus::Waiting => {
                step.status = StepStatus::Skipped;
                step.next_at = None;
            }
            StepStatus::Failed if step.undo == UndoStatus::Failed => {
                step.undo = UndoStatus::Pending;
                step.undo_attempts = 0;
                step.undo_error = None;
            }
            StepStatus::Failed | StepStatus::Skipped => {}
        }
    }
    run.status = RunStatus::RollingBack;
    run.rollback_reason = Some(reason);
    run.finished_at = None;
    run.wake_at = Some(now.to_string());
}

/// An attempt of step `i` begins.
pub fn start_attempt(run: &mut Run, step: &mut Step, now: &str) {
    step.status = StepStatus::Running;
    step.attempts += 1;
    step.started_at.get_or_insert_with(|| now.to_string());
    step.next_at = None;
    run.status = RunStatus::Running;
}

/// Records an attempt's result: success, a retry after the backoff, or a failure for good.
pub fn finish_attempt(run: &Run, step: &mut Step, result: Result<Value, Failure>, now: &str, jitter: f64) {
    match result {
        Ok(output) => {
            step.status = StepStatus::Succeeded;
            step.output = Some(output);
            step.error = None;
            step.finished_at = Some(now.to_string());
        }
        Err(f) => {
            let policy = policy_of(run, step);
            step.error = Some(f.message);
            if f.retryable && step.attempts < policy.max_attempts as i64 {
                step.status = StepStatus::Pending;
                step.next_at = Some(later(now, backoff_ms(&policy, step.attempts, jitter)));
            } else {
                step.status = StepStatus::Failed;
                step.finished_at = Some(now.to_string());
            }
        }
    }
}

/// A sleep or an approval begins waiting until `until`.
pub fn start_waiting(run: &mut Run, step: &mut Step, until: String, now: &str) {
    step.status = StepStatus::Waiting;
    step.attempts += 1;
    step.started_at.get_or_insert_with(|| now.to_string());
    step.next_at = Some(until.clone());
    run.status = RunStatus::Waiting;
    run.wake_at = Some(until);
}

/// Someone decided the approval that step `step` waits for.
pub fn decide(run: &mut Run, step: &mut Step, approve: bool, who: &str, comment: &str, now: &str) {
    step.decided_by = Some(who.to_string());
    step.finished_at = Some(now.to_string());
    step.next_at = None;
    let note = if comment.trim().is_empty() { String::new() } else { format!(": {}", comment.trim()) };
    if approve {
        step.status = StepStatus::Succeeded;
        step.output = Some(serde_json::json!({"approved_by": who, "comment": comment.trim()}));
    } else {
        step.status = StepStatus::Failed;
        step.error = Some(format!("Rejected by {who}{note}"));
    }
    run.status = RunStatus::Running;
    run.wake_at = Some(now.to_string());
}

pub fn start_undo(step: &mut Step) {
    step.undo = UndoStatus::Running;
    step.undo_attempts += 1;
}

/// Records a compensation attempt's result, retrying with backoff until its attempts are used up.
pub fn finish_undo(run: &Run, step: &mut Step, result: Result<(), Failure>, now: &str, jitter: f64) {
    match result {
        Ok(()) => {
            step.undo = UndoStatus::Done;
            step.undo_error = None;
            step.next_at = None;
        }
        Err(f) => {
            let policy = undo_policy(&policy_of(run, step));
            step.undo_error = Some(f.message);
            if f.retryable && step.undo_attempts < policy.max_attempts as i64 {
                step.undo = UndoStatus::Pending;
                step.next_at = Some(later(now, backoff_ms(&policy, step.undo_attempts, jitter)));
            } else {
                step.undo = UndoStatus::Failed;
                step.next_at = None;
            }
        }
    }
}

/// Whether the run waits for an approval now, and which step it is.
pub fn pending_approval(steps: &[Step]) -> Option<usize> {
    steps.iter().position(|s| s.kind == "approval" && s.status == StepStatus::Waiting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{StepDef, WorkflowDef};
    use serde_json::json;

    const T0: &str = "2026-11-27T10:00:00.000Z";
    const T1: &str = "2026-11-27T10:00:01.000Z";
    const T9: &str = "2026-11-27T11:00:00.000Z";

    fn run_of(steps: &[(&str, &str)], on_failure: &str) -> (Run, Vec<Step>) {
        let def: WorkflowDef = serde_json::from_value(json!({
            "name": "w", "title": "W", "on_failure": on_failure,
            "steps": steps.iter().map(|(id, kind)| json!({"id": id, "type": kind, "retry": {"max_attempts": 2, "backoff_ms": 1000}})).collect::<Vec<_>>(),
        }))
        .unwrap();
        let steps: Vec<Step> = def.steps.iter().enumerate().map(|(i, d): (usize, &StepDef)| Step::new(i, d)).collect();
        let run = Run {
            id: "r".into(),
            workflow: "w".into(),
            title: "W".into(),
            team: None,
            status: RunStatus::Running,
            inputs: json!({}),
            started_by: "junior".into(),
            trigger: "user".into(),
            created_at: T0.into(),
            updated_at: T0.into(),
            finished_at: None,
            wake_at: Some(T0.into()),
            error: None,
            cancel_requested: false,
            rollback_reason: None,
            version: 1,
            definition: def,
        };
        (run, steps)
    }

    /// Runs every planned action with `outcome(step index, undo?)` until the run waits or ends.
    fn drive(run: &mut Run, steps: &mut [Step], now: &str, outcome: impl Fn(usize, bool) -> Result<(), Failure>) -> Next {
        for _ in 0..100 {
            match plan(run, steps, now) {
                Next::Execute(i) => {
                    start_attempt(run, &mut steps[i], now);
                    finish_attempt(run, &mut steps[i], outcome(i, false).map(|_| json!({"i": i})), now, 0.0);
                }
                Next::Undo(i) => {
                    start_undo(&mut steps[i]);
                    let r = outcome(i, true);
                    finish_undo(run, &mut steps[i], r, now, 0.0);
                }
                other => return other,
            }
        }
        panic!("did not settle");
    }

    #[test]
    fn all_steps_succeed_in_order() {
        let (mut run, mut steps) = run_of(&[("a", "noop"), ("b", "noop")], "rollback");
        assert_eq!(drive(&mut run, &mut steps, T0, |_, _| Ok(())), Next::Finished);
        assert_eq!(run.status, RunStatus::Succeeded);
        assert!(steps.iter().all(|s| s.status == StepStatus::Succeeded && s.attempts == 1));
        assert_eq!(run.finished_at.as_deref(), Some(T0));
        assert_eq!(run.wake_at, None);
    }

    #[test]
    fn a_failed_attempt_waits_for_its_backoff_then_retries() {
        let (mut run, mut steps) = run_of(&[("a", "noop")], "rollback");
        let next = drive(&mut run, &mut steps, T0, |_, _| Err(Failure::retryable("503")));
        assert_eq!(next, Next::WaitUntil("2026-11-27T10:00:01.000Z".into()));
        assert_eq!((run.status, steps[0].status, steps[0].attempts), (RunStatus::Waiting, StepStatus::Pending, 1));
        assert_eq!(run.wake_at.as_deref(), Some(T1));
        // Before the time nothing happens; after it the second (last) attempt succeeds.
        assert!(matches!(plan(&mut run, &mut steps, T0), Next::WaitUntil(_)));
        assert_eq!(drive(&mut run, &mut steps, T1, |_, _| Ok(())), Next::Finished);
        assert_eq!((run.status, steps[0].attempts), (RunStatus::Succeeded, 2));
    }

    #[test]
    fn a_step_failing_for_good_undoes_the_completed_steps_in_reverse_order() {
        let (mut run, mut steps) = run_of(&[("a", "noop"), ("b", "noop"), ("c", "noop")], "rollback");
        let undone = std::cell::RefCell::new(Vec::new());
        let next = drive(&mut run, &mut steps, T0, |i, undo| {
            if undo {
                undone.borrow_mut().push(i);
                Ok(())
            } else if i == 2 {
                Err(Failure::permanent("quota exceeded"))
            } else {
                Ok(())
            }
        });
        assert_eq!(next, Next::Finished);
        assert_eq!(run.status, RunStatus::RolledBack);
        assert_eq!(*undone.borrow(), vec![1, 0]);
        assert_eq!(steps[2].status, StepStatus::Failed);
        assert_eq!(steps[2].undo, UndoStatus::None, "a step that failed is not undone");
        assert!(run.rollback_reason.as_deref().unwrap().contains("quota exceeded"));
    }

    #[test]
    fn stop_on_failure_leaves_the_run_failed_until_someone_rolls_it_back() {
        let (mut run, mut steps) = run_of(&[("a", "noop"), ("b", "noop")], "stop");
        drive(&mut run, &mut steps, T0, |i, _| if i == 1 { Err(Failure::permanent("no")) } else { Ok(()) });
        assert_eq!(run.status, RunStatus::Failed);
        begin_rollback(&mut run, &mut steps, "Rolled back by lead".into(), T1);
        assert_eq!(drive(&mut run, &mut steps, T1, |_, _| Ok(())), Next::Finished);
        assert_eq!(run.status, RunStatus::RolledBack);
        assert_eq!(steps[0].undo, UndoStatus::Done);
    }

    #[test]
    fn a_compensation_that_keeps_failing_is_retried_then_surfaced_and_can_be_retried() {
        let (mut run, mut steps) = run_of(&[("a", "noop"), ("b", "noop")], "rollback");
        // Step b fails for good; undoing `a` fails too: retried (three attempts at least) with
        // backoff, then surfaced.
        let mut next = drive(&mut run, &mut steps, T0, |i, undo| {
            if undo {
                Err(Failure::retryable("api down"))
            } else if i == 1 {
                Err(Failure::permanent("boom"))
            } else {
                Ok(())
            }
        });
        let mut tries = 0;
        while let Next::WaitUntil(at) = next {
            tries += 1;
            next = drive(&mut run, &mut steps, &at, |_, _| Err(Failure::retryable("api down")));
        }
        assert_eq!(next, Next::Finished);
        assert_eq!(tries, 2);
        assert_eq!(steps[0].undo_attempts, 3);
        assert_eq!(run.status, RunStatus::RollbackFailed);
        assert!(run.error.as_deref().unwrap().contains("api down"), "{:?}", run.error);
        // Rolling back again retries the failed compensation.
        begin_rollback(&mut run, &mut steps, "again".into(), T9);
        assert_eq!(drive(&mut run, &mut steps, T9, |_, _| Ok(())), Next::Finished);
        assert_eq!((run.status, steps[0].undo), (RunStatus::RolledBack, UndoStatus::Done));
    }

    #[test]
    fn approvals_wait_until_decided_or_rejected_at_the_deadline() {
        let (mut run, mut steps) = run_of(&[("a", "noop"), ("ok", "approval"), ("c", "noop")], "rollback");
        assert_eq!(plan(&mut run, &mut steps, T0), Next::Execute(0));
        start_attempt(&mut run, &mut steps[0], T0);
        finish_attempt(&run, &mut steps[0], Ok(json!({})), T0, 0.0);
        assert_eq!(plan(&mut run, &mut steps, T0), Next::Execute(1));
        start_waiting(&mut run, &mut steps[1], T9.into(), T0);
        assert_eq!(plan(&mut run, &mut steps, T1), Next::WaitUntil(T9.into()));
        assert_eq!(pending_approval(&steps), Some(1));

        // Approved: the run goes on.
        let (mut r2, mut s2) = (run.clone(), steps.clone());
        decide(&mut r2, &mut s2[1], true, "lead", "", T1);
        assert_eq!(drive(&mut r2, &mut s2, T1, |_, _| Ok(())), Next::Finished);
        assert_eq!(r2.status, RunStatus::Succeeded);

        // Nobody decided by the deadline: rejected, and `a` is undone.
        assert_eq!(drive(&mut run, &mut steps, T9, |_, _| Ok(())), Next::Finished);
        assert_eq!(run.status, RunStatus::RolledBack);
        assert!(steps[1].error.as_deref().unwrap().contains("deadline"));
        assert_eq!((steps[0].undo, steps[2].status), (UndoStatus::Done, StepStatus::Skipped));
    }

    #[test]
    fn cancelling_undoes_what_ran_and_skips_the_rest() {
        let (mut run, mut steps) = run_of(&[("a", "noop"), ("s", "sleep"), ("c", "noop")], "rollback");
        plan(&mut run, &mut steps, T0);
        start_attempt(&mut run, &mut steps[0], T0);
        finish_attempt(&run, &mut steps[0], Ok(json!({})), T0, 0.0);
        start_waiting(&mut run, &mut steps[1], T9.into(), T0);
        run.cancel_requested = true;
        assert_eq!(drive(&mut run, &mut steps, T1, |_, _| Ok(())), Next::Finished);
        assert_eq!(run.status, RunStatus::Cancelled);
        assert_eq!(steps[0].undo, UndoStatus::Done);
        assert_eq!((steps[1].status, steps[2].status), (StepStatus::Skipped, StepStatus::Skipped));
    }

    #[test]
    fn an_interrupted_attempt_is_tried_again_and_counts() {
        let (mut run, mut steps) = run_of(&[("a", "noop")], "rollback");
        plan(&mut run, &mut steps, T0);
        start_attempt(&mut run, &mut steps[0], T0);
        // The worker died; the next one finds the step running and tries it again.
        assert_eq!(plan(&mut run, &mut steps, T1), Next::Execute(0));
    }

    #[test]
    fn a_sleep_ends_by_itself() {
        let (mut run, mut steps) = run_of(&[("s", "sleep")], "rollback");
        plan(&mut run, &mut steps, T0);
        start_waiting(&mut run, &mut steps[0], T1.into(), T0);
        assert_eq!(plan(&mut run, &mut steps, T0), Next::WaitUntil(T1.into()));
        assert_eq!(plan(&mut run, &mut steps, T1), Next::Finished);
        assert_eq!(run.status, RunStatus::Succeeded);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = RetryPolicy { max_attempts: 10, backoff_ms: 100, max_backoff_ms: 1000 };
        assert_eq!([1, 2, 3, 4, 5].map(|a| backoff_ms(&p, a, 0.0)), [100, 200, 400, 800, 1000]);
        assert_eq!(backoff_ms(&p, 1, 1.0), 125);
        assert_eq!(backoff_ms(&p, 1, -1.0), 75);
    }
}
