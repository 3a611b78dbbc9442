//! A run survives `kill -9`: the `platform` binary is killed while an HTTP step waits for its
//! answer, started again, and the run completes. The receiver saw each step's idempotency key
//! once, except the interrupted call, which came again with the same key — so a receiver that
//! honours the key acts exactly once per step. On SQLite and on PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls seen per idempotency key.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<HashMap<String, u32>>>,
}

impl Receiver {
    async fn serve(&self) -> String {
        let me = self.clone();
        let router = axum::Router::new().route(
            "/slow",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let me = me.clone();
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                    *me.seen.lock().unwrap().entry(key.clone()).or_default() += 1;
                    // Slow enough to be killed in the middle.
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    "{\"ok\": true}"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        url
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Portal {
    child: std::process::Child,
    base: String,
}

impl Portal {
    async fn start(db: &str, port: u16, log: &std::path::Path) -> Portal {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_platform"))
            .arg("serve")
            .env("DATABASE_URL", db)
            .env("PLATFORM_ADDR", format!("127.0.0.1:{port}"))
            .env("PLATFORM_DEMO", "false")
            .env("PLATFORM_WORKFLOW_LEASE_SECS", "2")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start platform");
        let base = format!("http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(30);
        while server::steps::http_call(&format!("{base}/healthz"), "GET", &[], Vec::new()).await.is_err() {
            assert!(Instant::now() < until, "the portal did not start: {}", std::fs::read_to_string(log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Portal { child, base }
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let headers = [("Authorization".to_string(), format!("Bearer {token}"))];
        let (status, text) = server::steps::http_call(&format!("{}{path}", self.base), method, &headers, body.to_string().into_bytes())
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {}", e.message));
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn kill(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_run_completes_after_kill_9_and_no_step_acts_twice() {
    for db in databases().await {
        // The demo organisation and an admin token, written in-process; then the real binary.
        let token = {
            let app = TestApp::new(&db).await;
            let Auth::Bearer(t) = app.token("admin").await else { unreachable!() };
            t
        };
        let receiver = Receiver::default();
        let url = receiver.serve().await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("portal.log");
        let port = free_port();
        let portal = Portal::start(&db.url, port, &log).await;
        let steps: Vec<Value> = (1..=4)
            .map(|i| json!({"id": format!("call-{i}"), "type": "http", "retry": {"max_attempts": 5, "backoff_ms": 100}, "with": {"url": url, "body": {"step": i}}}))
            .collect();
        let def = json!({"name": "durable", "title": "Durable", "steps": steps});
        let (status, body) = portal.call("PUT", "/api/v1/workflows/durable", &token, def).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = portal.call("POST", "/api/v1/workflows/durable/runs", &token, json!({"team": "payments"})).await;
        assert_eq!(status, 201, "{body}");
        let id = body["run"]["id"].as_str().unwrap().to_string();

        // Kill the portal while the second call waits for its answer.
        let second = format!("{id}:call-2");
        let until = Instant::now() + Duration::from_secs(30);
        while !receiver.seen.lock().unwrap().contains_key(&second) {
            assert!(Instant::now() < until, "[{}] the second step never started: {}", db.label, std::fs::read_to_string(&log).unwrap_or_default());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        portal.kill();

        let portal = Portal::start(&db.url, port, &log).await;
        let until = Instant::now() + Duration::from_secs(60);
        let run = loop {
            let (_, run) = portal.call("GET", &format!("/api/v1/runs/{id}"), &token, Value::Null).await;
            if run["run"]["status"] == "succeeded" {
                break run;
            }
            assert!(Instant::now() < until, "[{}] the run did not finish after the restart: {run:#}", db.label);
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        portal.kill();

        let seen = receiver.seen.lock().unwrap().clone();
        let expected: HashMap<String, u32> = (1..=4).map(|i| (format!("{id}:call-{i}"), if i == 2 { 2 } else { 1 })).collect();
        assert_eq!(seen, expected, "[{}] every step called with its own key, only the interrupted one again", db.label);
        assert_eq!(run["steps"][1]["attempts"], 2, "[{}] the interrupted attempt counts: {run:#}", db.label);
    }
}
