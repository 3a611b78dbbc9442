//! The workflow engine through the REST API, on SQLite and PostgreSQL: retries, approvals,
//! automatic and requested rollbacks, a compensation that keeps failing, cancel, events,
//! webhooks with signatures and replays, schedules fired once, two replicas executing each step
//! once, bad input, and who may do what.

mod common;

use app::core::engine::{StepAction, StepCx};
use app::workflow::machine::Failure;
use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Puts a workflow as the admin and checks it was accepted.
async fn put_workflow(app: &TestApp, admin: &Auth, def: Value) {
    let name = def["name"].as_str().unwrap().to_string();
    let res = app.call_text("PUT", &format!("/api/v1/workflows/{name}"), admin, &def.to_string()).await;
    assert_eq!(res.status, StatusCode::OK, "[{}] put workflow {name}: {}", app.db, res.text);
}

async fn start(app: &TestApp, who: &Auth, workflow: &str, inputs: Value) -> String {
    let res = app.call("POST", &format!("/api/v1/workflows/{workflow}/runs"), who, Some(json!({"team": "payments", "inputs": inputs}))).await;
    assert_eq!(res.status, StatusCode::CREATED, "[{}] start {workflow}: {}", app.db, res.text);
    res.json["run"]["id"].as_str().unwrap().to_string()
}

/// Polls the run until `done` says so (or fails after `secs`).
async fn wait_run(app: &TestApp, who: &Auth, id: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        let res = app.call("GET", &format!("/api/v1/runs/{id}"), who, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        if done(&res.json) {
            return res.json;
        }
        assert!(Instant::now() < until, "[{}] run {id} did not get there in {secs} s; it is: {:#}", app.db, res.json);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn status(v: &Value) -> &str {
    v["run"]["status"].as_str().unwrap_or_default()
}

async fn logs(app: &TestApp, who: &Auth, id: &str) -> String {
    let res = app.call("GET", &format!("/api/v1/runs/{id}/logs"), who, None).await;
    res.json.as_array().unwrap().iter().map(|l| l["message"].as_str().unwrap().to_string()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn retries_approval_and_rollback_on_request() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let engine = app.state.services.start_engine();
        let (admin, junior, senior, lead, viewer) =
            (app.login("admin").await, app.login("junior").await, app.login("senior").await, app.login("lead").await, app.login("viewer").await);
        put_workflow(&app, &admin, json!({
            "name": "ship", "title": "Ship it",
            "inputs": [{"name": "service", "required": true}, {"name": "password", "secret": true, "default": "hunter2"}],
            "steps": [
                {"id": "prepare", "type": "noop"},
                {"id": "flaky", "type": "noop", "inject_failures": 2, "retry": {"max_attempts": 3, "backoff_ms": 50}},
                {"id": "announce", "type": "emit", "with": {"kind": "test.shipped", "payload": {"service": "{{ inputs.service }}"}}},
                {"id": "ok", "type": "approval", "with": {"role": "team_lead", "deadline_minutes": 5}},
                {"id": "finish", "type": "noop"}
            ]
        })).await;
        put_workflow(&app, &admin, json!({
            "name": "listener", "title": "Listens", "on": {"events": ["test.*"], "team": "payments"},
            "inputs": [{"name": "service", "default": "?"}],
            "steps": [{"id": "note", "type": "noop"}]
        })).await;

        let id = start(&app, &junior, "ship", json!({"service": "payments-api"})).await;
        let run = wait_run(&app, &junior, &id, 20, |r| status(r) == "waiting" && r["steps"][3]["status"] == "waiting").await;
        assert_eq!(run["steps"][1]["attempts"], 3, "two injected failures, then success");
        assert_eq!(run["run"]["inputs"]["password"], app::workflow::MASK, "secret inputs are masked");
        let log = logs(&app, &junior, &id).await;
        assert!(log.contains("attempt 1 failed") && log.contains("attempt 2 failed"), "{log}");
        assert!(log.contains("waits for approval"), "{log}");
        // The emitted event started the listener, once.
        let listened = app.call("GET", "/api/v1/runs?workflow=listener", &viewer, None).await;
        assert_eq!(listened.json["total"], 1, "[{}] {}", app.db, listened.text);
        assert_eq!(listened.json["runs"][0]["inputs"]["service"], "payments-api");

        // Who may decide: not the viewer, not a senior (the step asks for a Team Lead), not the
        // starter; the lead may.
        assert_eq!(run["can"]["approve"], false);
        for who in [&viewer, &senior, &junior] {
            let res = app.call("POST", &format!("/api/v1/runs/{id}/decision"), who, Some(json!({"approve": true}))).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "[{}] {}", app.db, res.text);
        }
        let res = app.call("POST", &format!("/api/v1/runs/{id}/decision"), &lead, Some(json!({"approve": true, "comment": "go"}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let run = wait_run(&app, &junior, &id, 10, |r| status(r) == "succeeded").await;
        assert_eq!(run["steps"][3]["decided_by"], "lead");
        assert_eq!(run["can"]["rollback"], false, "a junior may not roll back");

        // Roll back: a junior may not; a senior may; completed steps are undone in reverse order.
        let res = app.call("POST", &format!("/api/v1/runs/{id}/rollback"), &junior, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.call("POST", &format!("/api/v1/runs/{id}/rollback"), &senior, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let run = wait_run(&app, &junior, &id, 10, |r| status(r) == "rolled_back").await;
        for i in [0, 1, 2, 3, 4] {
            assert_eq!(run["steps"][i]["undo"], "done", "step {i}: {:#}", run["steps"][i]);
        }
        assert_eq!(run["run"]["rollback_reason"], "Rolled back by senior");
        let log = logs(&app, &junior, &id).await;
        let undo_order: Vec<&str> = log.lines().filter(|l| l.starts_with("Undid")).collect();
        assert_eq!(undo_order, ["Undid 'finish'", "Undid 'ok'", "Undid 'announce'", "Undid 'flaky'", "Undid 'prepare'"], "{log}");
        // Undoing the emit step sent `test.shipped.reverted`, which the listener also hears.
        let listened = app.call("GET", "/api/v1/runs?workflow=listener", &viewer, None).await;
        assert_eq!(listened.json["total"], 2, "{}", listened.text);

        // Retry starts a new run with the same inputs.
        let res = app.call("POST", &format!("/api/v1/runs/{id}/retry"), &junior, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_ne!(res.json["run"]["id"], id.as_str());
        assert_eq!(res.json["run"]["trigger"], format!("retry:{id}"));
        // The audit trail has the start, the decision and the rollback.
        let audit = app.call("GET", "/api/v1/audit?action=run.", &admin, None).await;
        for action in ["run.start", "run.approve", "run.rollback", "run.retry"] {
            assert!(audit.text.contains(action), "{action} not audited: {}", audit.text);
        }
        engine.abort();
    }
}

/// A test HTTP service that records every call by idempotency key and answers 500 to undo
/// calls while `fail_undo` is set.
#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    fail_undo: Arc<Mutex<bool>>,
}

impl Receiver {
    async fn serve(&self) -> String {
        let me = self.clone();
        // `/slow` answers after 1.5 s, for calls that outlive their step's timeout.
        let slow = axum::routing::post(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            "{}"
        });
        let router = axum::Router::new().route("/slow", slow).route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let undo = body["undo"] == true;
                    me.calls.lock().unwrap().push((key, body));
                    if undo && *me.fail_undo.lock().unwrap() {
                        (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance")
                    } else {
                        (StatusCode::OK, "{\"ok\": true}")
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        url
    }
}

#[tokio::test]
async fn a_failing_step_rolls_back_and_a_failing_compensation_is_surfaced_then_retried() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        server::steps::register(&app.state.services, "http://127.0.0.1:9");
        let engine = app.state.services.start_engine();
        let (admin, junior, senior) = (app.login("admin").await, app.login("junior").await, app.login("senior").await);
        let receiver = Receiver::default();
        let url = receiver.serve().await;
        *receiver.fail_undo.lock().unwrap() = true;
        put_workflow(&app, &admin, json!({
            "name": "deploy", "title": "Deploy",
            "inputs": [{"name": "healthy", "type": "boolean", "default": true}],
            "steps": [
                {"id": "call", "type": "http", "retry": {"max_attempts": 3, "backoff_ms": 20},
                 "with": {"url": url, "body": {"do": true}, "undo": {"url": url, "body": {"undo": true}}}},
                {"id": "gate", "type": "check", "with": {"ok": "{{ inputs.healthy }}", "message": "health check failed"}}
            ]
        })).await;
        let id = start(&app, &junior, "deploy", json!({"healthy": false})).await;
        let run = wait_run(&app, &junior, &id, 20, |r| status(r) == "rollback_failed").await;
        // The check failed for good (no retries for a permanent failure), the HTTP call's undo
        // was tried three times and the failure is shown, not dropped.
        assert_eq!(run["steps"][1]["status"], "failed");
        assert_eq!(run["steps"][1]["attempts"], 1);
        assert_eq!(run["steps"][0]["undo"], "failed");
        assert_eq!(run["steps"][0]["undo_attempts"], 3);
        let error = run["run"]["error"].as_str().unwrap();
        assert!(error.contains("Undoing step 'call' failed") && error.contains("500"), "{error}");
        let calls = receiver.calls.lock().unwrap().clone();
        let key = format!("{id}:call");
        assert_eq!(calls.iter().filter(|(k, b)| k == &key && b["do"] == true).count(), 1, "the action ran once: {calls:?}");
        assert_eq!(calls.iter().filter(|(k, _)| k == &format!("{key}:undo")).count(), 3);

        // Fixed: rolling back again finishes the job.
        *receiver.fail_undo.lock().unwrap() = false;
        let res = app.call("POST", &format!("/api/v1/runs/{id}/rollback"), &senior, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let run = wait_run(&app, &junior, &id, 10, |r| status(r) == "rolled_back").await;
        assert_eq!(run["steps"][0]["undo"], "done");
        engine.abort();
    }
}

#[tokio::test]
async fn cancel_stops_a_waiting_run_and_undoes_what_ran() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let engine = app.state.services.start_engine();
        let (admin, junior, viewer) = (app.login("admin").await, app.login("junior").await, app.login("viewer").await);
        put_workflow(&app, &admin, json!({
            "name": "slow", "title": "Slow",
            "steps": [{"id": "a", "type": "noop"}, {"id": "nap", "type": "sleep", "with": {"seconds": 600}}, {"id": "c", "type": "noop"}]
        })).await;
        let id = start(&app, &junior, "slow", json!({})).await;
        wait_run(&app, &junior, &id, 10, |r| r["steps"][1]["status"] == "waiting").await;
        let res = app.call("POST", &format!("/api/v1/runs/{id}/cancel"), &viewer, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.call("POST", &format!("/api/v1/runs/{id}/cancel"), &junior, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let run = wait_run(&app, &junior, &id, 10, |r| status(r) == "cancelled").await;
        assert_eq!(run["steps"][0]["undo"], "done");
        assert_eq!(run["steps"][1]["status"], "skipped");
        assert_eq!(run["steps"][2]["status"], "skipped");
        let res = app.call("POST", &format!("/api/v1/runs/{id}/cancel"), &junior, None).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "a finished run cannot be cancelled: {}", res.text);
        engine.abort();
    }
}

#[tokio::test]
async fn an_approval_past_its_deadline_is_rejected_and_rolled_back() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let engine = app.state.services.start_engine();
        let (admin, junior) = (app.login("admin").await, app.login("junior").await);
        put_workflow(&app, &admin, json!({
            "name": "gate", "title": "Gate",
            "steps": [{"id": "a", "type": "noop"}, {"id": "ok", "type": "approval", "with": {"role": "team_lead", "deadline_minutes": 0.01}}]
        })).await;
        let id = start(&app, &junior, "gate", json!({})).await;
        let run = wait_run(&app, &junior, &id, 15, |r| status(r) == "rolled_back").await;
        assert!(run["steps"][1]["error"].as_str().unwrap().contains("deadline"), "{run:#}");
        assert_eq!(run["steps"][0]["undo"], "done");
        engine.abort();
    }
}

#[tokio::test]
async fn webhooks_are_verified_deduplicated_and_logged() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (admin, lead) = (app.login("admin").await, app.login("lead").await);
        put_workflow(&app, &admin, json!({
            "name": "on-ci", "title": "On CI", "on": {"events": ["webhook.ci"], "team": "payments"},
            "inputs": [{"name": "commit", "required": true}],
            "steps": [{"id": "a", "type": "noop"}]
        })).await;
        let res = app.call("PUT", "/api/v1/webhooks/ci", &lead, Some(json!({"description": "CI"}))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "only admins manage webhook sources");
        let res = app.call("PUT", "/api/v1/webhooks/ci", &admin, Some(json!({"description": "CI"}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let secret = res.json["secret"].as_str().unwrap().to_string();
        let listed = app.call("GET", "/api/v1/webhooks", &admin, None).await;
        assert!(listed.text.contains("\"ci\"") && !listed.text.contains(&secret), "the secret is shown once: {}", listed.text);

        let hook = |body: &str, sig: Option<String>, delivery: Option<&str>| {
            let mut b = axum::http::Request::builder().method("POST").uri("/api/v1/hooks/ci").header("host", HOST).header("content-type", "application/json");
            if let Some(s) = sig {
                b = b.header("x-hub-signature-256", s);
            }
            if let Some(d) = delivery {
                b = b.header("x-github-delivery", d);
            }
            b.body(axum::body::Body::from(body.to_string())).unwrap()
        };
        let body = r#"{"commit": "abc123", "branch": "main"}"#;
        let sig = app::core::workflows::sign(&secret, body.as_bytes());
        let res = app.send(hook(body, Some(sig.clone()), Some("d-1"))).await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text);
        assert_eq!(res.json["runs"].as_array().unwrap().len(), 1);
        let run_id = res.json["runs"][0].as_str().unwrap().to_string();
        let run = app.call("GET", &format!("/api/v1/runs/{run_id}"), &lead, None).await;
        assert_eq!(run.json["run"]["inputs"]["commit"], "abc123");
        assert_eq!(run.json["run"]["trigger"], "event:webhook.ci");

        // A replay of the same delivery is ignored.
        let res = app.send(hook(body, Some(sig.clone()), Some("d-1"))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json["outcome"], "duplicate");
        let runs = app.call("GET", "/api/v1/runs?workflow=on-ci", &lead, None).await;
        assert_eq!(runs.json["total"], 1);

        // Bad signature, none, a body changed after signing, not JSON, unknown source.
        let res = app.send(hook(body, Some("sha256=00".into()), Some("d-2"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert!(res.json["error"]["message"].as_str().unwrap().contains("signature"), "{}", res.text);
        let res = app.send(hook(body, None, Some("d-3"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.send(hook(r#"{"commit": "evil"}"#, Some(sig.clone()), Some("d-4"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.send(hook("not json", Some(app::core::workflows::sign(&secret, b"not json")), Some("d-5"))).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert!(res.json["error"]["message"].as_str().unwrap().contains("not JSON"), "{}", res.text);
        // A signed event without the workflow's required input starts nothing, and says so.
        let other = r#"{"branch": "main"}"#;
        let res = app.send(hook(other, Some(app::core::workflows::sign(&secret, other.as_bytes())), Some("d-6"))).await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        assert_eq!(res.json["runs"].as_array().unwrap().len(), 0);
        let mut unknown = hook(body, Some(sig), Some("d-7"));
        *unknown.uri_mut() = "/api/v1/hooks/nope".parse().unwrap();
        assert_eq!(app.send(unknown).await.status, StatusCode::NOT_FOUND);

        // Every delivery is logged, for admins only.
        let res = app.call("GET", "/api/v1/webhooks/deliveries?source=ci", &lead, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.call("GET", "/api/v1/webhooks/deliveries?source=ci", &admin, None).await;
        let outcomes: Vec<&str> = res.json.as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
        let count = |o: &str| outcomes.iter().filter(|x| **x == o).count();
        assert_eq!((count("accepted"), count("duplicate"), count("bad_signature"), count("bad_payload")), (2, 1, 3, 1), "{outcomes:?}");
    }
}

#[tokio::test]
async fn a_schedule_fires_once_across_replicas() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let second = server::state(config(&db.url)).await.unwrap();
        let admin = app.login("admin").await;
        put_workflow(&app, &admin, json!({
            "name": "tick", "title": "Tick", "on": {"schedule": "*/5 * * * *", "team": "platform"},
            "steps": [{"id": "a", "type": "noop"}]
        })).await;
        // Make it due now, then let both replicas try at the same time, a few times.
        let mut w = app.state.services.store.workflow("tick").await.unwrap().unwrap();
        assert!(w.next_fire_at.is_some(), "the schedule's next time is computed");
        w.next_fire_at = Some("2020-01-01T00:00:00.000Z".into());
        app.state.services.store.workflow_put(&w, None, None).await.unwrap();
        for _ in 0..3 {
            let (a, b) = tokio::join!(app.state.services.fire_schedules(), second.services.fire_schedules());
            let _ = (a.unwrap(), b.unwrap());
        }
        let runs = app.call("GET", "/api/v1/runs?workflow=tick", &admin, None).await;
        assert_eq!(runs.json["total"], 1, "[{}] {}", app.db, runs.text);
        assert_eq!(runs.json["runs"][0]["trigger"], "schedule");
        let w = app.state.services.store.workflow("tick").await.unwrap().unwrap();
        assert!(w.next_fire_at.unwrap().as_str() > app::core::now().as_str(), "moved to the next slot");
    }
}

/// Counts executions per idempotency key, standing in for the `noop` step type.
struct Counting(Arc<Mutex<HashMap<String, u32>>>);

#[async_trait::async_trait]
impl StepAction for Counting {
    async fn run(&self, cx: &StepCx) -> Result<Value, Failure> {
        *self.0.lock().unwrap().entry(cx.key.clone()).or_default() += 1;
        Ok(json!({}))
    }
}

#[tokio::test]
async fn two_replicas_execute_every_step_exactly_once() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let second = server::state(config(&db.url)).await.unwrap();
        let counts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        for s in [&app.state.services, &second.services] {
            s.engine.register("noop", Arc::new(Counting(counts.clone())));
        }
        let admin = app.login("admin").await;
        put_workflow(&app, &admin, json!({
            "name": "many", "title": "Many",
            "steps": [{"id": "a", "type": "noop"}, {"id": "b", "type": "noop"}, {"id": "c", "type": "noop"}]
        })).await;
        let def = app.state.services.store.workflow("many").await.unwrap().unwrap().definition;
        let runs: Vec<_> = (0..300).map(|_| app::core::workflows::new_run(&def, json!({}), Some("payments".into()), "test", "user".into())).collect();
        for chunk in runs.chunks(50) {
            app.state.services.store.runs_start(chunk, None, None, Vec::new()).await.unwrap();
        }
        let (e1, e2) = (app.state.services.start_engine(), second.services.start_engine());
        let until = Instant::now() + Duration::from_secs(90);
        loop {
            let done = app.call("GET", "/api/v1/runs?workflow=many&status=succeeded", &admin, None).await;
            if done.json["total"] == 300 {
                break;
            }
            assert!(Instant::now() < until, "[{}] not all runs finished: {}", app.db, done.json["total"]);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let counts = counts.lock().unwrap();
        assert_eq!(counts.len(), 900, "[{}] every step ran", app.db);
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "[{}] steps that ran more than once: {twice:?}", app.db);
        e1.abort();
        e2.abort();
    }
}

#[tokio::test]
async fn bad_definitions_and_inputs_get_clear_errors() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (admin, junior, lead) = (app.login("admin").await, app.login("junior").await, app.login("lead").await);
        let put = |text: &'static str| app.call_text("PUT", "/api/v1/workflows/w", &admin, text);
        let res = put("name: w\ntitle: [unclosed").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.json["error"]["fields"]["definition"][0].as_str().unwrap().contains("line"), "{}", res.text);
        let res = put("name: w\ntitle: W\nsteps:\n  - {id: a, type: teleport}\n  - {id: b, type: noop, needs: [c]}\n").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.json["error"]["fields"]["steps[0].type"].is_array() && res.json["error"]["fields"]["steps[1].needs[0]"].is_array(), "{}", res.text);
        let res = put("name: w\ntitle: W\non: {schedule: 'every day'}\nsteps: [{id: a, type: noop}]\n").await;
        assert!(res.json["error"]["fields"]["on.schedule"].is_array(), "{}", res.text);
        let res = put("name: w\ntitle: W\nstepz: []\n").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused: {}", res.text);
        let res = app.call_text("PUT", "/api/v1/workflows/other", &admin, "name: w\ntitle: W\nsteps: [{id: a, type: noop}]\n").await;
        assert!(res.json["error"]["fields"]["name"].is_array(), "{}", res.text);
        let res = app.call_text("PUT", "/api/v1/workflows/w", &lead, "name: w\ntitle: W\nsteps: [{id: a, type: noop}]\n").await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = put("name: w\ntitle: W\ninputs: [{name: n, type: number, required: true}]\nsteps: [{id: a, type: noop}]\n").await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json["version"], 1);
        // A stale edit is a conflict.
        let res = app.call_text("PUT", "/api/v1/workflows/w?version=7", &admin, "name: w\ntitle: W2\nsteps: [{id: a, type: noop}]\n").await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);

        let res = app.call("POST", "/api/v1/workflows/w/runs", &junior, Some(json!({"team": "payments", "inputs": {"n": "many", "x": 1}}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.json["error"]["fields"]["inputs.n"].is_array() && res.json["error"]["fields"]["inputs.x"].is_array(), "{}", res.text);
        let res = app.call("POST", "/api/v1/workflows/w/runs", &junior, Some(json!({"team": "payments", "inputs": {"n": [1]}}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        let res = app.call("POST", "/api/v1/workflows/w/runs", &junior, Some(json!({"team": 5}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
        assert!(res.json["error"]["fields"]["team"].is_array(), "{}", res.text);
        let res = app.call("POST", "/api/v1/workflows/w/runs", &junior, Some(json!({"team": "checkout", "inputs": {"n": 1}}))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "junior is not in checkout: {}", res.text);
        let res = app.call("POST", "/api/v1/workflows/nope/runs", &junior, Some(json!({}))).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.call("GET", "/api/v1/runs/nope", &junior, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.call("GET", "/api/v1/runs?status=exploded", &junior, None).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Deciding a run that waits for nothing is a conflict.
        let id = start(&app, &junior, "w", json!({"n": 3})).await;
        let res = app.call("POST", &format!("/api/v1/runs/{id}/decision"), &lead, Some(json!({"approve": true}))).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        let res = app.call("POST", &format!("/api/v1/runs/{id}/decision"), &lead, Some(json!({"approve": "yes"}))).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.text);
    }
}

#[tokio::test]
async fn every_workflow_endpoint_needs_a_signed_in_caller() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        for (method, path) in [
            ("GET", "/api/v1/workflows"),
            ("GET", "/api/v1/workflows/x"),
            ("PUT", "/api/v1/workflows/x"),
            ("DELETE", "/api/v1/workflows/x"),
            ("POST", "/api/v1/workflows/x/runs"),
            ("GET", "/api/v1/runs"),
            ("GET", "/api/v1/runs/x"),
            ("GET", "/api/v1/runs/x/logs"),
            ("GET", "/api/v1/runs/x/events"),
            ("POST", "/api/v1/runs/x/cancel"),
            ("POST", "/api/v1/runs/x/rollback"),
            ("POST", "/api/v1/runs/x/retry"),
            ("POST", "/api/v1/runs/x/decision"),
            ("GET", "/api/v1/webhooks"),
            ("PUT", "/api/v1/webhooks/x"),
            ("DELETE", "/api/v1/webhooks/x"),
            ("GET", "/api/v1/webhooks/deliveries"),
        ] {
            let res = app.call(method, path, &Auth::None, None).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "[{}] {method} {path}: {}", app.db, res.text);
        }
        // The OpenAPI document describes them.
        let doc = app.call("GET", "/api/v1/openapi.json", &Auth::None, None).await;
        for path in ["/api/v1/workflows/{name}/runs", "/api/v1/runs/{id}/events", "/api/v1/hooks/{source}", "/api/v1/runs/{id}/decision"] {
            assert!(doc.json["paths"][path].is_object(), "{path} missing from the OpenAPI document");
        }
    }
}

#[tokio::test]
async fn the_event_stream_sends_the_run_its_log_and_the_end() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let engine = app.state.services.start_engine();
        let (admin, junior) = (app.login("admin").await, app.login("junior").await);
        put_workflow(&app, &admin, json!({
            "name": "short", "title": "Short",
            "steps": [{"id": "a", "type": "noop"}, {"id": "nap", "type": "sleep", "with": {"seconds": 0.3}}, {"id": "c", "type": "noop"}]
        })).await;
        let id = start(&app, &junior, "short", json!({})).await;
        let req = junior.apply(axum::http::Request::builder().uri(format!("/api/v1/runs/{id}/events")).header("host", HOST)).body(axum::body::Body::empty()).unwrap();
        use tower::ServiceExt;
        let res = app.router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let body = tokio::time::timeout(Duration::from_secs(20), http_body_util::BodyExt::collect(res.into_body())).await.expect("the stream ends with the run").unwrap();
        let text = String::from_utf8_lossy(&body.to_bytes()).to_string();
        assert!(text.contains("event: run") && text.contains("event: log") && text.contains("event: end\ndata: succeeded"), "{text}");
        assert!(text.contains("Step 'nap' sleeps, waking in") && text.contains("Run succeeded"), "{text}");
        engine.abort();
    }
}

#[tokio::test]
async fn catalog_changes_start_workflows_that_listen() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let (admin, lead) = (app.login("admin").await, app.login("lead").await);
        put_workflow(&app, &admin, json!({
            "name": "on-change", "title": "On change", "on": {"events": ["entity.changed"], "team": "payments"},
            "inputs": [{"name": "entity_ref", "required": true}, {"name": "change", "required": true}],
            "steps": [{"id": "a", "type": "noop"}]
        })).await;
        let yaml = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: watched\nspec: {type: service, lifecycle: production, owner: payments}\n";
        let res = app.call_text("POST", "/api/v1/catalog/apply", &lead, yaml).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let runs = app.call("GET", "/api/v1/runs?workflow=on-change", &lead, None).await;
        assert_eq!(runs.json["total"], 1, "[{}] {}", app.db, runs.text);
        assert_eq!(runs.json["runs"][0]["inputs"]["entity_ref"], "component:default/watched");
        assert_eq!(runs.json["runs"][0]["inputs"]["change"], "created");
        // Applying the same text again changes nothing and starts nothing.
        app.call_text("POST", "/api/v1/catalog/apply", &lead, yaml).await;
        let runs = app.call("GET", "/api/v1/runs?workflow=on-change", &lead, None).await;
        assert_eq!(runs.json["total"], 1);
    }
}

/// Runs the `platform` binary off the async threads.
async fn cli(base: &str, token: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_platform"));
    c.args(args).env("PLATFORM_URL", base).env("PLATFORM_TOKEN", token);
    let out = tokio::task::spawn_blocking(move || c.output().expect("run platform")).await.unwrap();
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn the_command_line_starts_watches_and_operates_runs() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let engine = app.state.services.start_engine();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app.router.clone();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let Auth::Bearer(admin) = app.token("admin").await else { unreachable!() };
        let Auth::Bearer(junior) = app.token("junior").await else { unreachable!() };

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wf.yaml");
        std::fs::write(&file, "name: cli-wf\ntitle: From the shell\ninputs: [{name: n, type: number, required: true}]\nsteps:\n  - {id: a, type: noop}\n  - {id: nap, type: sleep, with: {seconds: 0.2}}\n").unwrap();
        let (code, out) = cli(&base, &junior, &["workflow", "apply", "-f", file.to_str().unwrap()]).await;
        assert_eq!(code, Some(1), "only admins define workflows: {out}");
        assert!(out.contains("(403)"), "{out}");
        let (code, out) = cli(&base, &admin, &["workflow", "apply", "-f", file.to_str().unwrap()]).await;
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("workflow cli-wf is at version 1"), "{out}");
        let (_, out) = cli(&base, &junior, &["workflow", "list"]).await;
        assert!(out.contains("cli-wf") && out.contains("From the shell"), "{out}");

        let (code, out) = cli(&base, &junior, &["run", "start", "cli-wf", "--team", "payments", "--input", "n=many"]).await;
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("inputs.n: Expected a number."), "{out}");
        let (code, out) = cli(&base, &junior, &["run", "start", "cli-wf", "--team", "payments", "--input", "n=3", "--watch"]).await;
        assert_eq!(code, Some(0), "[{}] {out}", app.db);
        assert!(out.contains("started run ") && out.contains("Step 'nap' sleeps, waking in") && out.contains("Run succeeded"), "{out}");
        let id = out.split_whitespace().nth(2).unwrap().to_string();

        let (code, out) = cli(&base, &junior, &["run", "get", &id]).await;
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("Succeeded") && out.contains("2. nap"), "{out}");
        let (_, out) = cli(&base, &junior, &["run", "list", "--workflow", "cli-wf", "--status", "succeeded"]).await;
        assert!(out.contains(&id) && out.contains("1 of 1 run(s)"), "{out}");
        let (code, out) = cli(&base, &junior, &["run", "approve", &id]).await;
        assert_eq!(code, Some(1));
        assert!(out.contains("not waiting for an approval") && out.contains("(409)"), "{out}");
        let (code, out) = cli(&base, &junior, &["run", "rollback", &id]).await;
        assert_eq!(code, Some(1));
        assert!(out.contains("Senior Developer"), "{out}");
        let (code, out) = cli(&base, &junior, &["run", "retry", &id]).await;
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains(&format!("(a retry of {id})")), "{out}");
        let (code, out) = cli(&base, &junior, &["run", "frobnicate", &id]).await;
        assert_eq!(code, Some(2), "{out}");
        server.abort();
        engine.abort();
    }
}

fn form(path: &str, auth: &Auth, body: &str) -> axum::http::Request<axum::body::Body> {
    auth.apply(axum::http::Request::post(path).header("host", HOST).header("origin", ORIGIN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn workflow_server_functions_enforce_roles() {
    use leptos::server_fn::ServerFn;
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let admin = app.login("admin").await;
        put_workflow(&app, &admin, json!({
            "name": "gated", "title": "Gated",
            "steps": [{"id": "a", "type": "noop"}, {"id": "ok", "type": "approval", "with": {"role": "team_lead"}}]
        })).await;
        let anonymous = app.send(form(app::api::LoadWorkflows::PATH, &Auth::None, "")).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        // Start: junior and up in the team; the viewer is refused.
        let mut runs = HashMap::new();
        for role in ["viewer", "junior", "senior", "lead", "admin"] {
            let auth = app.login(role).await;
            let res = app.send(form(app::api::LoadWorkflows::PATH, &auth, "")).await;
            assert_eq!(res.status, StatusCode::OK, "[{}] {role} reads workflows", app.db);
            let res = app.send(form(app::api::DoStartRun::PATH, &auth, "workflow=gated&team=payments")).await;
            assert_eq!(res.status.is_success(), role != "viewer", "[{}] {role} start: {}", app.db, res.text);
            if res.status.is_success() {
                runs.insert(role, res.json["run"]["id"].as_str().unwrap().to_string());
            } else {
                assert_eq!(res.status, StatusCode::FORBIDDEN);
            }
        }
        let engine = app.state.services.start_engine();
        for id in runs.values() {
            wait_run(&app, &admin, id, 10, |r| status(r) == "waiting").await;
        }
        // Decide: the lead on someone else's run; never the starter (admins excepted).
        let junior_run = &runs["junior"];
        for (role, ok) in [("viewer", false), ("junior", false), ("senior", false), ("lead", true)] {
            let auth = app.login(role).await;
            let res = app.send(form(app::api::DoDecideRun::PATH, &auth, &format!("id={junior_run}&decision=approve"))).await;
            assert_eq!(res.status.is_success(), ok, "[{}] {role} approve: {}", app.db, res.text);
        }
        let lead = app.login("lead").await;
        let res = app.send(form(app::api::DoDecideRun::PATH, &lead, &format!("id={}&decision=approve", runs["lead"]))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "the lead started this one: {}", res.text);
        // Cancel: junior and up; roll back: senior and up.
        let viewer = app.login("viewer").await;
        let res = app.send(form(app::api::DoCancelRun::PATH, &viewer, &format!("id={}", runs["senior"]))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.send(form(app::api::DoRollbackRun::PATH, &app.login("junior").await, &format!("id={}", runs["senior"]))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.send(form(app::api::DoRollbackRun::PATH, &app.login("senior").await, &format!("id={}", runs["senior"]))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        // Webhook sources: admins only.
        for role in ["viewer", "junior", "senior", "lead", "admin"] {
            let auth = app.login(role).await;
            let res = app.send(form(app::api::LoadWebhookSources::PATH, &auth, "")).await;
            assert_eq!(res.status.is_success(), role == "admin", "[{}] {role} webhook sources", app.db);
            let res = app.send(form(app::api::DoPutWebhookSource::PATH, &auth, &format!("name=src-{role}"))).await;
            assert_eq!(res.status.is_success(), role == "admin", "[{}] {role} create source", app.db);
        }
        engine.abort();
    }
}

#[tokio::test]
async fn an_attempt_that_takes_too_long_times_out_and_is_retried() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        server::steps::register(&app.state.services, "http://127.0.0.1:9");
        let engine = app.state.services.start_engine();
        let (admin, junior) = (app.login("admin").await, app.login("junior").await);
        let slow = Receiver::default().serve().await.replace("/hook", "/slow");
        put_workflow(&app, &admin, json!({
            "name": "slow-call", "title": "Slow call",
            "steps": [{"id": "a", "type": "noop"},
                      {"id": "call", "type": "http", "timeout_secs": 1, "retry": {"max_attempts": 2, "backoff_ms": 50}, "with": {"url": slow}}]
        })).await;
        let id = start(&app, &junior, "slow-call", json!({})).await;
        let run = wait_run(&app, &junior, &id, 20, |r| status(r) == "rolled_back").await;
        assert_eq!(run["steps"][1]["attempts"], 2, "{run:#}");
        assert_eq!(run["steps"][1]["error"], "Timed out after 1 s");
        assert_eq!(run["steps"][0]["undo"], "done");
        engine.abort();
    }
}

#[tokio::test]
async fn a_run_is_watched_live_from_another_replica() {
    for db in databases().await {
        if db.label != "postgres" {
            // Replicas share one database only on PostgreSQL; SQLite runs in one process.
            eprintln!("note: cross-replica event streams are a PostgreSQL feature; nothing to check on {}", db.label);
            continue;
        }
        let app = TestApp::new(&db).await;
        let engine = app.state.services.start_engine();
        // Replica B serves the event stream; only replica A runs the engine.
        let b = server::state(config(&db.url)).await.unwrap();
        let b_router = server::web::router(b.clone());
        let (admin, junior) = (app.login("admin").await, app.login("junior").await);
        put_workflow(&app, &admin, json!({
            "name": "paced", "title": "Paced",
            "steps": [{"id": "a", "type": "sleep", "with": {"seconds": 0.5}}, {"id": "b", "type": "sleep", "with": {"seconds": 0.5}}]
        })).await;
        let id = start(&app, &junior, "paced", json!({})).await;
        let req = junior.apply(axum::http::Request::builder().uri(format!("/api/v1/runs/{id}/events")).header("host", HOST)).body(axum::body::Body::empty()).unwrap();
        use tower::ServiceExt;
        let started = Instant::now();
        let res = b_router.oneshot(req).await.unwrap();
        let body = tokio::time::timeout(Duration::from_secs(20), http_body_util::BodyExt::collect(res.into_body())).await.expect("the stream ends").unwrap();
        let text = String::from_utf8_lossy(&body.to_bytes()).to_string();
        assert!(text.contains("event: end\ndata: succeeded"), "{text}");
        // Without notices from replica A, replica B would only look every 10 s.
        assert!(started.elapsed() < Duration::from_secs(5), "the stream followed the run through NOTIFY: {:?}", started.elapsed());
        engine.abort();
    }
}
