//! Router-level tests: every REST endpoint and the server functions, per role, on SQLite and
//! PostgreSQL, through the same middleware stack a real request passes.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use serde_json::json;

/// Runs `f` once per database.
macro_rules! each_db {
    (|$app:ident| $body:block) => {
        for db in databases().await {
            let $app = TestApp::new(&db).await;
            $body
        }
    };
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    each_db!(|app| {
        let get = |p: &str| Request::get(p).header(header::HOST, HOST).body(Body::empty()).unwrap();
        assert_eq!(app.send(get("/healthz")).await.status, StatusCode::OK);
        let ready = app.send(get("/readyz")).await;
        assert_eq!(ready.status, StatusCode::OK, "[{}] {}", app.db, ready.text);
        let metrics = app.send(get("/metrics")).await;
        assert_eq!(metrics.status, StatusCode::OK);
        assert!(metrics.text.contains("http_requests_total"), "metrics: {}", metrics.text);
        let with_id = app.send(get("/healthz")).await;
        assert!(with_id.headers.contains_key("x-request-id"), "every answer carries a request id");
    });
}

#[tokio::test]
async fn every_documented_endpoint_requires_authentication() {
    each_db!(|app| {
        let doc = app.call("GET", "/api/v1/openapi.json", &Auth::None, None).await;
        assert_eq!(doc.status, StatusCode::OK);
        let paths = doc.json["paths"].as_object().expect("paths");
        assert!(paths.len() >= 14, "documented paths: {}", paths.len());
        let mut checked = 0;
        for (path, ops) in paths {
            for method in ops.as_object().unwrap().keys() {
                // Signing in needs no session; inbound webhooks are authenticated by their
                // signature (tested in tests/workflows.rs).
                if path.starts_with("/api/v1/auth/") || path.starts_with("/api/v1/hooks/") {
                    continue;
                }
                let concrete = path.replace("{username}", "viewer").replace("{slug}", "payments").replace("{id}", "x");
                let body = (method != "get" && method != "delete").then(|| json!({}));
                let res = app.call(&method.to_uppercase(), &concrete, &Auth::None, body).await;
                assert_eq!(res.status, StatusCode::UNAUTHORIZED, "[{}] {method} {path} unauthenticated: {}", app.db, res.text);
                assert_eq!(res.error_code(), "unauthenticated");
                checked += 1;
            }
        }
        assert!(checked >= 17, "checked {checked} operations");
    });
}

#[tokio::test]
async fn sign_in_session_and_sign_out() {
    each_db!(|app| {
        let wrong = app.call("POST", "/api/v1/auth/login", &Auth::None, Some(json!({"username": "junior", "password": "nope-nope-nope"}))).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json["error"]["message"], "Wrong username or password.");
        let unknown = app.call("POST", "/api/v1/auth/login", &Auth::None, Some(json!({"username": "ghost", "password": "whatever-123"}))).await;
        assert_eq!(unknown.json["error"]["message"], wrong.json["error"]["message"], "unknown users get the same answer");

        let res = app.call("POST", "/api/v1/auth/login", &Auth::None, Some(json!({"username": "Junior ", "password": "demo-password"}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json["username"], "junior");
        let set_cookie = res.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(set_cookie.contains(attr), "cookie lacks {attr}: {set_cookie}");
        }
        let session = Auth::Cookie(set_cookie.split(';').next().unwrap().to_string());
        let me = app.call("GET", "/api/v1/me", &session, None).await;
        assert_eq!(me.json["memberships"][0]["role"], "junior_developer");

        let out = app.call("POST", "/api/v1/auth/logout", &session, None).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT);
        assert!(out.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
        let after = app.call("GET", "/api/v1/me", &session, None).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED, "the old cookie no longer works");

        let audit = app.call("GET", "/api/v1/audit?action=auth.", &app.login("admin").await, None).await;
        let actions: Vec<(String, String)> = audit.json.as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap().to_string(), e["decision"].as_str().unwrap().to_string())).collect();
        assert!(actions.contains(&("auth.logout".into(), "allow".into())));
        assert!(actions.contains(&("auth.login".into(), "deny".into())), "failed sign-ins are audited: {actions:?}");
    });
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    each_db!(|app| {
        for _ in 0..5 {
            let r = app.call("POST", "/api/v1/auth/login", &Auth::None, Some(json!({"username": "senior", "password": "guess-guess"}))).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let locked = app.call("POST", "/api/v1/auth/login", &Auth::None, Some(json!({"username": "senior", "password": "demo-password"}))).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "[{}] even the right password waits: {}", app.db, locked.text);
        assert!(locked.json["error"]["message"].as_str().unwrap().contains("locked"));
        // Other accounts are unaffected.
        app.login("junior").await;
    });
}

#[tokio::test]
async fn api_tokens_work_until_revoked() {
    each_db!(|app| {
        let session = app.login("viewer").await;
        let created = app.call("POST", "/api/v1/tokens", &session, Some(json!({"name": "ci", "expires_in_days": 30}))).await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        let secret = created.json["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("plt_"));
        let bearer = Auth::Bearer(secret.clone());
        let me = app.call("GET", "/api/v1/me", &bearer, None).await;
        assert_eq!(me.json["username"], "viewer");
        let list = app.call("GET", "/api/v1/tokens", &bearer, None).await;
        assert!(!list.text.contains(&secret[4..]), "the secret is never listed");
        let id = created.json["token"]["id"].as_str().unwrap();
        let revoked = app.call("DELETE", &format!("/api/v1/tokens/{id}"), &session, None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let refused = app.call("GET", "/api/v1/me", &bearer, None).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.json["error"]["message"].as_str().unwrap().contains("revoked"));
        let bad = app.call("POST", "/api/v1/tokens", &session, Some(json!({"name": " ", "expires_in_days": 999}))).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.json["error"]["fields"]["name"].is_array() && bad.json["error"]["fields"]["expires_in_days"].is_array());
        // Someone else's token cannot be revoked.
        let other = app.login("junior").await;
        assert_eq!(app.call("DELETE", &format!("/api/v1/tokens/{id}"), &other, None).await.status, StatusCode::NOT_FOUND);
    });
}

/// Who may do what, endpoint by endpoint, with tokens for each demo role.
#[tokio::test]
async fn endpoints_enforce_roles() {
    each_db!(|app| {
        let mut tokens = Vec::new();
        for role in ROLES {
            tokens.push((role, app.token(role).await));
        }
        let expect = |allowed: &[&str], role: &str| if allowed.contains(&role) { "allowed" } else { "forbidden" };
        for (i, (role, auth)) in tokens.iter().enumerate() {
            let outcome = |s: StatusCode| if s.is_success() { "allowed" } else if s == StatusCode::FORBIDDEN { "forbidden" } else { "other" };
            let cases: Vec<(&str, String, Option<serde_json::Value>, &[&str])> = vec![
                ("GET", "/api/v1/users".into(), None, &ROLES),
                ("GET", "/api/v1/teams/payments".into(), None, &ROLES),
                ("GET", "/api/v1/environments".into(), None, &ROLES),
                ("POST", "/api/v1/users".into(), Some(json!({"username": format!("new{i}"), "display_name": "New", "email": "n@example.com", "password": "long-enough-1"})), &["admin"]),
                ("PATCH", "/api/v1/users/junior".into(), Some(json!({"display_name": format!("Jun {i}"), "version": 0})), &["admin"]),
                ("POST", "/api/v1/teams".into(), Some(json!({"slug": format!("team{i}"), "display_name": "T"})), &["admin"]),
                ("PUT", "/api/v1/teams/payments/members".into(), Some(json!({"username": "viewer", "role": "viewer"})), &["lead", "admin"]),
                ("PUT", "/api/v1/teams/payments/members".into(), Some(json!({"username": "senior", "role": "team_lead"})), &["admin"]),
                ("PUT", "/api/v1/teams/checkout/members".into(), Some(json!({"username": "junior", "role": "viewer"})), &["admin"]),
                ("GET", "/api/v1/audit".into(), None, &["lead", "admin"]),
                ("GET", "/api/v1/audit/verify".into(), None, &["admin"]),
                ("GET", "/api/v1/audit/export".into(), None, &["admin"]),
            ];
            for (method, path, body, allowed) in cases {
                // PATCH needs the current version to succeed for an admin.
                let body = match (method, body) {
                    ("PATCH", Some(mut b)) => {
                        let cur = app.call("GET", "/api/v1/users/junior", auth, None).await;
                        b["version"] = cur.json["version"].clone();
                        Some(b)
                    }
                    (_, b) => b,
                };
                let res = app.call(method, &path, auth, body).await;
                assert_eq!(outcome(res.status), expect(allowed, role), "[{}] {role}: {method} {path} -> {} {}", app.db, res.status, res.text);
                if res.status == StatusCode::FORBIDDEN {
                    assert!(!res.json["error"]["message"].as_str().unwrap().is_empty(), "a refusal says why");
                }
            }
        }
        // Demoting the senior we promoted, then removing the team: an admin's job.
        let admin = &tokens[4].1;
        assert_eq!(app.call("DELETE", "/api/v1/teams/checkout", admin, None).await.status, StatusCode::NO_CONTENT);
        // Team Leads read only their team's audit entries.
        let lead_view = app.call("GET", "/api/v1/audit?limit=500", &tokens[3].1, None).await;
        let teams: Vec<&str> = lead_view.json.as_array().unwrap().iter().map(|e| e["team"].as_str().unwrap_or("-")).collect();
        assert!(!teams.is_empty() && teams.iter().all(|t| *t == "payments"), "lead sees: {teams:?}");
        // Refusals are in the trail.
        let denied = app.call("GET", "/api/v1/audit?action=user.create&limit=500", admin, None).await;
        assert!(denied.json.as_array().unwrap().iter().any(|e| e["decision"] == "deny" && e["actor"] == "viewer"));
    });
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    each_db!(|app| {
        let admin = app.login("admin").await;
        let post = |body: &str| {
            Request::post("/api/v1/users")
                .header(header::HOST, HOST)
                .header(header::ORIGIN, ORIGIN)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::COOKIE, match &admin { Auth::Cookie(c) => c.clone(), _ => unreachable!() })
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let malformed = app.send(post("{\"username\": ")).await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
        assert!(malformed.json["error"]["message"].as_str().unwrap().contains("not valid JSON"));

        let wrong_type = app.send(post(r#"{"username": 5, "display_name": "x", "email": "x@y.z", "password": "long-enough-1"}"#)).await;
        assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong_type.text);
        assert!(wrong_type.json["error"]["fields"]["username"][0].as_str().unwrap().contains("invalid type"));

        let missing = app.send(post(r#"{"username": "x1", "email": "x@y.z", "password": "long-enough-1"}"#)).await;
        assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(missing.json["error"]["fields"]["display_name"].is_array(), "{}", missing.text);

        let invalid = app.call("POST", "/api/v1/users", &admin, Some(json!({"username": "Bad Name", "display_name": "", "email": "nope", "password": "short"}))).await;
        assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
        for f in ["username", "display_name", "email", "password"] {
            assert!(invalid.json["error"]["fields"][f].is_array(), "{f}: {}", invalid.text);
        }

        let dup = app.call("POST", "/api/v1/users", &admin, Some(json!({"username": "junior", "display_name": "J", "email": "j@x.io", "password": "long-enough-1"}))).await;
        assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(dup.json["error"]["fields"]["username"][0], "That username is taken.");

        let huge = format!(r#"{{"username": "big", "display_name": "{}", "email": "b@x.io", "password": "long-enough-1"}}"#, "x".repeat(100_000));
        let too_big = app.send(post(&huge)).await;
        assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(too_big.error_code(), "payload_too_large");

        let unknown_team = app.call("GET", "/api/v1/teams/nope", &admin, None).await;
        assert_eq!(unknown_team.status, StatusCode::NOT_FOUND);
        let unknown_member = app.call("PUT", "/api/v1/teams/payments/members", &admin, Some(json!({"username": "ghost", "role": "viewer"}))).await;
        assert_eq!(unknown_member.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unknown_member.json["error"]["fields"]["username"].is_array());
        let bad_role = app.call("PUT", "/api/v1/teams/payments/members", &admin, Some(json!({"username": "viewer", "role": "overlord"}))).await;
        assert_eq!(bad_role.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_role.text);
        assert!(bad_role.json["error"]["fields"]["role"].is_array());

        // A stale edit is a conflict, not a lost update; the earlier edit survives.
        let cur = app.call("GET", "/api/v1/users/viewer", &admin, None).await;
        let v = cur.json["version"].as_i64().unwrap();
        let first = app.call("PATCH", "/api/v1/users/viewer", &admin, Some(json!({"display_name": "First", "version": v}))).await;
        assert_eq!(first.status, StatusCode::OK);
        let second = app.call("PATCH", "/api/v1/users/viewer", &admin, Some(json!({"display_name": "Second", "version": v}))).await;
        assert_eq!(second.status, StatusCode::CONFLICT);
        assert!(second.json["error"]["message"].as_str().unwrap().contains("Reload"));
        assert_eq!(app.call("GET", "/api/v1/users/viewer", &admin, None).await.json["display_name"], "First");

        let me_admin = app.call("GET", "/api/v1/users/admin", &admin, None).await;
        let lockout = app.call("PATCH", "/api/v1/users/admin", &admin, Some(json!({"is_admin": false, "version": me_admin.json["version"]}))).await;
        assert_eq!(lockout.status, StatusCode::UNPROCESSABLE_ENTITY, "an admin cannot demote themself");
        assert_eq!(app.call("GET", "/api/v1/nope", &admin, None).await.status, StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn cross_site_requests_are_refused() {
    each_db!(|app| {
        let Auth::Cookie(cookie) = app.login("admin").await else { unreachable!() };
        let body = json!({"name": "x"}).to_string();
        let req = |origin: Option<&str>| {
            let mut b = Request::post("/api/v1/tokens").header(header::HOST, HOST).header(header::COOKIE, &cookie).header(header::CONTENT_TYPE, "application/json");
            if let Some(o) = origin {
                b = b.header(header::ORIGIN, o);
            }
            b.body(Body::from(body.clone())).unwrap()
        };
        let foreign = app.send(req(Some("https://evil.example"))).await;
        assert_eq!(foreign.status, StatusCode::FORBIDDEN);
        assert!(foreign.json["error"]["message"].as_str().unwrap().contains("another site"));
        assert_eq!(app.send(req(None)).await.status, StatusCode::FORBIDDEN, "cookie without Origin");
        assert_eq!(app.send(req(Some(ORIGIN))).await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn pages_redirect_and_render() {
    each_db!(|app| {
        let page = |path: &str, auth: &Auth| auth.apply(Request::get(path).header(header::HOST, HOST).header(header::ACCEPT, "text/html")).body(Body::empty()).unwrap();
        let home = app.send(page("/", &Auth::None)).await;
        assert_eq!(home.status, StatusCode::SEE_OTHER);
        assert_eq!(home.headers[header::LOCATION], "/login");
        let deep = app.send(page("/teams/payments", &Auth::None)).await;
        assert_eq!(deep.headers[header::LOCATION], "/login?next=%2Fteams%2Fpayments");

        let login = app.send(page("/login", &Auth::None)).await;
        assert_eq!(login.status, StatusCode::OK);
        for needle in [r#"<label for="username">Username</label>"#, r#"name="password""#, "Sign in", r#"<meta name="viewport""#] {
            assert!(login.text.contains(needle), "login page lacks {needle}");
        }

        let admin = app.login("admin").await;
        let home = app.send(page("/", &admin)).await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.text.contains("Welcome, Ada Admin"), "{}", &home.text[..home.text.len().min(2000)]);
        assert!(home.text.contains(r#"aria-label="Main""#));
        let users = app.send(page("/admin/users", &admin)).await;
        assert!(users.text.contains("Create a user") && users.text.contains("Vera Viewer"));
        let missing = app.send(page("/no/such/page", &admin)).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.text.contains("Page not found"));
        assert_eq!(app.send(page("/login", &admin)).await.status, StatusCode::SEE_OTHER, "signed in: away from the sign-in page");

        // The viewer's navigation has no audit or user administration.
        let viewer = app.login("viewer").await;
        let home = app.send(page("/", &viewer)).await;
        assert!(home.text.contains(r#"href="/teams""#) && !home.text.contains(r#"href="/audit""#) && !home.text.contains(r#"href="/admin/users""#));
        // The page itself is rendered, but its data is refused on the server.
        let users = app.send(page("/admin/users", &viewer)).await;
        assert_eq!(users.status, StatusCode::FORBIDDEN);
        assert!(users.text.contains("Only Platform Admins manage user accounts") && !users.text.contains("Create a user"));
    });
}

/// Server functions are endpoints too: the same rules hold there.
#[tokio::test]
async fn server_functions_enforce_roles() {
    use leptos::server_fn::ServerFn;
    each_db!(|app| {
        let form = |path: &str, auth: &Auth, body: &str| {
            auth.apply(Request::post(path).header(header::HOST, HOST).header(header::ORIGIN, ORIGIN))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        for role in ROLES {
            let auth = app.login(role).await;
            let res = app.send(form(app::api::CreateUser::PATH, &auth, &format!("username=fn-{role}&display_name=F&email=f%40x.io&password=long-enough-1"))).await;
            assert_eq!(res.status.is_success(), role == "admin", "[{}] {role} create_user: {} {}", app.db, res.status, res.text);
            let res = app.send(form(app::api::SetMember::PATH, &auth, "team=payments&username=viewer&role=junior_developer")).await;
            assert_eq!(res.status.is_success(), role == "lead" || role == "admin", "[{}] {role} set_member: {}", app.db, res.text);
            if !res.status.is_success() {
                assert_eq!(res.status, StatusCode::FORBIDDEN, "a refusal has its real status");
                assert!(res.text.contains("forbidden"), "{}", res.text);
            }
            let res = app.send(form(app::api::VerifyAudit::PATH, &auth, "")).await;
            assert_eq!(res.status.is_success(), role == "admin", "[{}] {role} verify_audit: {}", app.db, res.text);
        }
        let anonymous = app.send(form(app::api::ListUsers::PATH, &Auth::None, "")).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{}", anonymous.text);
        assert!(anonymous.text.contains("unauthenticated"), "{}", anonymous.text);
        // A plain form post (no JavaScript) of a wrong password returns to the form with what was typed.
        let res = app
            .send(Request::post(app::api::Login::PATH).header(header::HOST, HOST).header(header::ORIGIN, ORIGIN)
                .header(header::ACCEPT, "text/html").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("username=lead&password=wrong-one&next=")).unwrap())
            .await;
        assert_eq!(res.status, StatusCode::FOUND);
        assert_eq!(res.headers[header::LOCATION], "/login?error=invalid&username=lead");
    });
}
