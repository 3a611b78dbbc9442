//! Test support: a fresh database of each kind, and the router driven with `oneshot`.
//!
//! Every test that touches storage runs once per database in `databases()`: SQLite always, and
//! PostgreSQL when `PLATFORM_TEST_PG_URL` names a server (scripts/test.sh starts a private one).
//! Without it the PostgreSQL run is skipped with a printed reason, or fails when
//! `PLATFORM_REQUIRE_PG=1` (as in CI).

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use leptos::config::LeptosOptions;
use server::config::Config;
use server::web::AppState;
use tower::ServiceExt;

pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// One empty database per available kind.
pub async fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = TestDb {
        label: "sqlite",
        url: format!("sqlite://{}", dir.path().join("test.db").display()),
        _dir: Some(dir),
    };
    let mut dbs = vec![sqlite];
    match std::env::var("PLATFORM_TEST_PG_URL").ok().filter(|u| !u.is_empty()) {
        Some(admin_url) => dbs.push(fresh_postgres(&admin_url).await),
        None if std::env::var("PLATFORM_REQUIRE_PG").as_deref() == Ok("1") => {
            panic!("PLATFORM_REQUIRE_PG=1 but PLATFORM_TEST_PG_URL is not set: cannot run the PostgreSQL half")
        }
        None => eprintln!("note: skipping the PostgreSQL run of this test: PLATFORM_TEST_PG_URL is not set (scripts/test.sh sets it)"),
    }
    dbs
}

/// Creates a uniquely named database on the server and returns its URL.
async fn fresh_postgres(admin_url: &str) -> TestDb {
    use sqlx::Executor;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(admin_url).await.expect("connect to PLATFORM_TEST_PG_URL");
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create test database");
    admin.close().await;
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    TestDb { label: "postgres", url: format!("{base}/{name}"), _dir: None }
}

pub fn config(url: &str) -> Config {
    Config {
        database_url: url.to_string(),
        addr: "127.0.0.1:0".parse().unwrap(),
        seed_demo: true,
        public_url: None,
        max_body_bytes: 64 * 1024,
        workflow_lease: app::core::engine::DEFAULT_LEASE,
        json_logs: false,
        leptos: LeptosOptions::builder().output_name("platform").build(),
    }
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: &'static str,
}

pub const HOST: &str = "portal.test";
pub const ORIGIN: &str = "http://portal.test";

impl TestApp {
    /// The portal on `db`, with the demo organisation seeded.
    pub async fn new(db: &TestDb) -> TestApp {
        let state = server::state(config(&db.url)).await.expect("open test database");
        server::seed::seed_demo(&state.services).await.expect("seed demo");
        TestApp { router: server::web::router(state.clone()), state, db: db.label }
    }

    /// Sends `req` and reads the whole answer; an answer that does not end within a minute fails
    /// the test (a hanging streamed page would otherwise hang the suite).
    pub async fn send(&self, req: Request<Body>) -> Response {
        let what = format!("{} {}", req.method(), req.uri());
        let answer = async {
            let res = self.router.clone().oneshot(req).await.expect("router answers");
            let (parts, body) = res.into_parts();
            (parts, body.collect().await.expect("body").to_bytes())
        };
        let (parts, bytes) = tokio::time::timeout(std::time::Duration::from_secs(60), answer)
            .await
            .unwrap_or_else(|_| panic!("[{}] {what}: no whole answer within 60 s", self.db));
        let res = axum::http::Response::from_parts(parts, ());
        let status = res.status();
        let headers = res.headers().clone();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Response { status, headers, text, json }
    }

    /// A JSON API call as `auth` (None: anonymous), from the portal's own origin.
    pub async fn call(&self, method: &str, path: &str, auth: &Auth, body: Option<serde_json::Value>) -> Response {
        let mut b = Request::builder().method(method).uri(path).header(header::HOST, HOST);
        if method != "GET" {
            b = b.header(header::ORIGIN, ORIGIN);
        }
        b = auth.apply(b);
        let req = match body {
            Some(v) => b.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// A call with a text body (YAML or JSON sent as text).
    pub async fn call_text(&self, method: &str, path: &str, auth: &Auth, body: &str) -> Response {
        let b = Request::builder().method(method).uri(path).header(header::HOST, HOST).header(header::ORIGIN, ORIGIN);
        let req = auth.apply(b).header(header::CONTENT_TYPE, "application/yaml").body(Body::from(body.to_string())).unwrap();
        self.send(req).await
    }

    /// Signs in through the REST API and returns the session cookie.
    pub async fn login(&self, username: &str) -> Auth {
        let res = self
            .call("POST", "/api/v1/auth/login", &Auth::None, Some(serde_json::json!({"username": username, "password": "demo-password"})))
            .await;
        assert_eq!(res.status, StatusCode::OK, "[{}] login as {username}: {}", self.db, res.text);
        let cookie = res.headers.get(header::SET_COOKIE).expect("session cookie").to_str().unwrap();
        Auth::Cookie(cookie.split(';').next().unwrap().to_string())
    }

    /// Creates an API token for `username` and returns it as a bearer credential.
    pub async fn token(&self, username: &str) -> Auth {
        let session = self.login(username).await;
        let res = self.call("POST", "/api/v1/tokens", &session, Some(serde_json::json!({"name": "test"}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        Auth::Bearer(res.json["secret"].as_str().unwrap().to_string())
    }
}

#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Cookie(String),
    Bearer(String),
}

impl Auth {
    pub fn apply(&self, b: axum::http::request::Builder) -> axum::http::request::Builder {
        match self {
            Auth::None => b,
            Auth::Cookie(c) => b.header(header::COOKIE, c),
            Auth::Bearer(t) => b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    pub json: serde_json::Value,
}

impl Response {
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

pub const ROLES: [&str; 5] = ["viewer", "junior", "senior", "lead", "admin"];
