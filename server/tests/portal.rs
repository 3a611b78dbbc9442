//! The portal's newer server functions and endpoints, on SQLite and PostgreSQL: editing an
//! entity with optimistic concurrency, recently viewed and popular entities on the home page,
//! and the role rules of the search, docs and location server functions.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use leptos::server_fn::ServerFn;

fn form(path: &str, auth: &Auth, body: &str) -> Request<Body> {
    auth.apply(Request::post(path).header(header::HOST, HOST).header(header::ORIGIN, ORIGIN))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn yaml_put(path: &str, auth: &Auth, yaml: &str) -> Request<Body> {
    auth.apply(Request::put(path).header(header::HOST, HOST).header(header::ORIGIN, ORIGIN))
        .header(header::CONTENT_TYPE, "application/yaml")
        .body(Body::from(yaml.to_string()))
        .unwrap()
}

const REFUNDS: &str = "/api/v1/catalog/entities/component/default/refunds";

fn refunds(title: &str, owner: &str) -> String {
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: refunds\n  title: {title}\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n")
}

#[tokio::test]
async fn editing_an_entity_refuses_stale_versions_and_bad_descriptors() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        server::seed::seed_demo_catalog(&app.state.services).await.unwrap();
        let junior = app.token("junior").await;
        let version = app.call("GET", REFUNDS, &junior, None).await.json["version"].as_i64().unwrap();

        let res = app.send(yaml_put(&format!("{REFUNDS}?version={version}"), &junior, &refunds("Refunds, edited", "payments"))).await;
        assert_eq!(res.status, StatusCode::OK, "[{}] {}", app.db, res.text);
        assert_eq!(res.json["version"], version + 1);
        assert_eq!(res.json["summary"]["title"], "Refunds, edited");
        // The same version again is stale: a conflict, and the first edit stays.
        let res = app.send(yaml_put(&format!("{REFUNDS}?version={version}"), &junior, &refunds("Lost update", "payments"))).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text);
        assert_eq!(app.call("GET", REFUNDS, &junior, None).await.json["summary"]["title"], "Refunds, edited");

        let v = version + 1;
        for (yaml, field) in [
            (refunds("x", "payments").replace("name: refunds", "name: other"), "metadata.name"),
            (refunds("x", "payments").replace("  lifecycle: production\n", ""), "spec.lifecycle"),
            ("kind: [unclosed".to_string(), "document"),
            (format!("{}---\n{}", refunds("a", "payments"), refunds("b", "payments")), "yaml"),
        ] {
            let res = app.send(yaml_put(&format!("{REFUNDS}?version={v}"), &junior, &yaml)).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {field}: {}", app.db, res.text);
            assert!(res.json["error"]["fields"][field].is_array(), "{field}: {}", res.text);
        }
        // Handing it to another team, or editing as a viewer, is refused.
        let res = app.send(yaml_put(&format!("{REFUNDS}?version={v}"), &junior, &refunds("x", "checkout"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
        let viewer = app.token("viewer").await;
        let res = app.send(yaml_put(&format!("{REFUNDS}?version={v}"), &viewer, &refunds("x", "payments"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        let res = app.send(yaml_put(REFUNDS, &junior, &refunds("x", "payments"))).await;
        assert!(res.json["error"]["fields"]["version"].is_array(), "{}", res.text);
        let res = app.send(yaml_put("/api/v1/catalog/entities/component/default/nope?version=1", &junior, &refunds("x", "payments"))).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        // The server function the editor uses follows the same rules.
        let res = app.send(form(app::api::EditEntity::PATH, &app.login("viewer").await, &format!("reference=component:refunds&version={v}&yaml=x"))).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    }
}

#[tokio::test]
async fn home_page_shows_recently_viewed_and_popular_with_the_team() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        server::seed::seed_demo_catalog(&app.state.services).await.unwrap();
        let lead = app.login("lead").await;
        let junior = app.login("junior").await;
        for (who, entity) in [(&lead, "component:default/ledger"), (&junior, "component:default/ledger"), (&junior, "component:default/payouts"), (&lead, "component:default/cart")] {
            let res = app.send(form(app::api::CatalogEntity::PATH, who, &format!("reference={entity}"))).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        }
        let senior = app.login("senior").await;
        let picks = app.send(form(app::api::LoadHomePicks::PATH, &senior, "")).await;
        assert_eq!(picks.status, StatusCode::OK, "{}", picks.text);
        let popular: Vec<&str> = picks.json["popular"].as_array().unwrap().iter().map(|e| e["entity_ref"].as_str().unwrap()).collect();
        assert_eq!(popular.first(), Some(&"component:default/ledger"), "[{}] two of the payments team opened it: {}", app.db, picks.text);
        assert_eq!(picks.json["popular"][0]["viewers"], 2);
        assert!(picks.json["recent"].as_array().unwrap().is_empty(), "senior opened nothing yet");
        let mine = app.send(form(app::api::LoadHomePicks::PATH, &junior, "")).await;
        let recent: Vec<&str> = mine.json["recent"].as_array().unwrap().iter().map(|e| e["entity_ref"].as_str().unwrap()).collect();
        assert_eq!(recent, ["component:default/payouts", "component:default/ledger"], "[{}] newest first", app.db);
        let anonymous = app.send(form(app::api::LoadHomePicks::PATH, &Auth::None, "")).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn search_docs_and_location_server_functions_enforce_roles() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        for role in ROLES {
            let auth = app.login(role).await;
            let res = app.send(form(app::api::Search::PATH, &auth, "query[q]=payments")).await;
            assert_eq!(res.status, StatusCode::OK, "[{}] {role} search: {}", app.db, res.text);
            let res = app.send(form(app::api::LoadSearchAnalytics::PATH, &auth, "days=7")).await;
            assert_eq!(res.status.is_success(), role == "admin", "[{}] {role} analytics: {}", app.db, res.text);
            let res = app.send(form(app::api::ListLocations::PATH, &auth, "")).await;
            assert_eq!(res.status.is_success(), role == "admin", "[{}] {role} locations: {}", app.db, res.text);
            let res = app.send(form(app::api::SaveDoc::PATH, &auth, &format!("input[path]=guide-{role}&input[title]=T&input[markdown]=x&input[version]=0&input[entity_ref]="))).await;
            assert_eq!(res.status.is_success(), role == "lead" || role == "admin", "[{}] {role} guide: {}", app.db, res.text);
            if !res.status.is_success() {
                assert_eq!(res.status, StatusCode::FORBIDDEN);
            }
        }
        for f in [app::api::Search::PATH, app::api::DocsIndex::PATH, app::api::ListLocations::PATH] {
            let res = app.send(form(f, &Auth::None, "query[q]=x")).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{f}: {}", res.text);
        }
    }
}

#[tokio::test]
async fn browsing_by_domain_system_and_type() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        server::seed::seed_demo_catalog(&app.state.services).await.unwrap();
        let viewer = app.login("viewer").await;
        let res = app.send(form(app::api::LoadBrowse::PATH, &viewer, "")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let finance = res.json["domains"].as_array().unwrap().iter().find(|d| d["entity_ref"] == "domain:default/finance").expect("finance domain");
        let payments = finance["systems"].as_array().unwrap().iter().find(|s| s["entity_ref"] == "system:default/payments").expect("payments system in finance");
        assert!(payments["entities"].as_i64().unwrap() >= 8, "[{}] {payments}", app.db);
        let components = res.json["types"].as_array().unwrap().iter().find(|t| t[0] == "Component").expect("component types");
        assert!(components[1].as_array().unwrap().iter().any(|c| c["value"] == "service"), "{components}");
        assert_eq!(app.send(form(app::api::LoadBrowse::PATH, &Auth::None, "")).await.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn search_and_view_history_older_than_the_horizon_is_pruned() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let store = &app.state.services.store;
        let viewer = store.user_by_username("viewer").await.unwrap().unwrap();
        let log = |id: &str, at: &str| app::core::store::SearchLogRecord {
            id: id.into(),
            at: at.into(),
            user_id: Some(viewer.id.clone()),
            query: "q".into(),
            origin: "page".into(),
            ..Default::default()
        };
        store.search_log(&log("old", "2026-01-01T00:00:00.000Z")).await.unwrap();
        store.search_log(&log("new", "2026-11-20T00:00:00.000Z")).await.unwrap();
        store.record_view(&viewer.id, "component:default/x", "2026-01-01T00:00:00.000Z").await.unwrap();
        store.record_view(&viewer.id, "component:default/y", "2026-11-20T00:00:00.000Z").await.unwrap();
        assert_eq!(store.prune_activity("2026-08-28T00:00:00.000Z").await.unwrap(), 2, "[{}]", app.db);
        assert!(store.search_log_get("old").await.unwrap().is_none());
        assert!(store.search_log_get("new").await.unwrap().is_some());
    }
}
