//! Global search, search analytics and the documentation hub through the REST API, on SQLite and
//! PostgreSQL, over the demo catalog and its docs (a fixed corpus).

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use serde_json::{json, Value};

async fn seeded(db: &TestDb) -> TestApp {
    let app = TestApp::new(db).await;
    server::seed::seed_demo_catalog(&app.state.services).await.expect("seed the demo catalog");
    app
}

fn title(hit: &Value) -> String {
    hit["title"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()).collect()
}

fn keys(res: &Response) -> Vec<String> {
    res.json["items"].as_array().unwrap().iter().map(|h| h["key"].as_str().unwrap().to_string()).collect()
}

async fn search(app: &TestApp, auth: &Auth, q: &str) -> Response {
    let res = app.call("GET", &format!("/api/v1/search?q={}", app::api::encode(q)), auth, None).await;
    assert_eq!(res.status, StatusCode::OK, "[{}] search {q}: {}", app.db, res.text);
    res
}

#[tokio::test]
async fn search_ranks_names_first_tolerates_typos_and_finds_docs() {
    for db in databases().await {
        let app = seeded(&db).await;
        let viewer = app.token("viewer").await;

        // An exact name comes first, then names that start with it.
        let res = search(&app, &viewer, "payment").await;
        let k = keys(&res);
        assert_eq!(k[0], "entity:component:default/payment", "[{}] {k:?}", app.db);
        assert!(k.contains(&"entity:api:default/payment-api".to_string()), "[{}] {k:?}", app.db);
        assert!(res.json["total"].as_i64().unwrap() > 5);
        assert_eq!(res.json["fuzzy"], false);
        // The match is highlighted.
        let first = &res.json["items"][0];
        assert!(first["title"].as_array().unwrap().iter().any(|p| p["hit"] == true && p["text"].as_str().unwrap().eq_ignore_ascii_case("payment")), "{first}");

        // Part of a word, and several words in any order.
        assert_eq!(keys(&search(&app, &viewer, "card-vau").await)[0], "entity:component:default/card-vault", "[{}]", app.db);
        assert!(keys(&search(&app, &viewer, "vault card").await).contains(&"entity:component:default/card-vault".to_string()));

        // A small typo still finds it, and says so.
        let res = search(&app, &viewer, "paymnet").await;
        assert_eq!(res.json["fuzzy"], true, "[{}] {}", app.db, res.text);
        assert!(keys(&res).iter().any(|k| k.contains("payment")), "[{}] {:?}", app.db, keys(&res));

        // Documents are found by their text, and kinds narrow the results.
        let res = search(&app, &viewer, "runbook dashboard").await;
        let kinds: Vec<&str> = res.json["kinds"].as_array().unwrap().iter().map(|k| k["value"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"Doc"), "[{}] {kinds:?}", app.db);
        let res = app.call("GET", "/api/v1/search?q=on%20call&kind=Doc", &viewer, None).await;
        assert!(res.json["items"].as_array().unwrap().iter().all(|h| h["kind"] == "Doc"), "{}", res.text);
        assert!(res.json["items"].as_array().unwrap().iter().any(|h| title(h) == "Being on call"), "[{}] {}", app.db, res.text);

        // Nothing found is an answer, not an error; odd input is refused clearly.
        assert_eq!(search(&app, &viewer, "zzqxj").await.json["total"], 0);
        for (q, field) in [("", "q"), ("%20%20", "q")] {
            let res = app.call("GET", &format!("/api/v1/search?q={q}"), &viewer, None).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {}", res.text);
            assert!(res.json["error"]["fields"][field].is_array(), "{}", res.text);
        }
        let long = "a".repeat(201);
        assert_eq!(app.call("GET", &format!("/api/v1/search?q={long}"), &viewer, None).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.call("GET", "/api/v1/search", &viewer, None).await.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.call("GET", "/api/v1/search?q=payment", &Auth::None, None).await.status, StatusCode::UNAUTHORIZED);
        // Quotes and FTS syntax are plain text.
        assert_eq!(search(&app, &viewer, "\"pay* OR NEAR(").await.status, StatusCode::OK);

        // The index follows the catalog: a renamed title is found, a deleted entity is not.
        let lead = app.token("lead").await;
        let yaml = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: refunds\n  title: Money Back Machine\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n";
        let req = lead
            .apply(Request::post("/api/v1/catalog/apply").header(header::HOST, HOST).header(header::ORIGIN, ORIGIN))
            .body(Body::from(yaml))
            .unwrap();
        assert_eq!(app.send(req).await.json["updated"], 1);
        assert_eq!(keys(&search(&app, &viewer, "money back machine").await)[0], "entity:component:default/refunds", "[{}]", app.db);
        let detail = app.call("GET", "/api/v1/catalog/entities/component/default/refunds", &lead, None).await;
        let version = detail.json["version"].as_i64().unwrap();
        let del = app.call("DELETE", &format!("/api/v1/catalog/entities/component/default/refunds?version={version}"), &lead, None).await;
        assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
        let res = search(&app, &viewer, "money back machine").await;
        assert!(!keys(&res).iter().any(|k| k.contains("component:default/refunds")), "[{}] {:?}", app.db, keys(&res));
        // Its docs went with it.
        assert!(!keys(&search(&app, &viewer, "refunds overview").await).iter().any(|k| k == "doc:component:default/refunds/index"));
    }
}

#[tokio::test]
async fn search_analytics_count_searches_and_openings_for_admins_only() {
    for db in databases().await {
        let app = seeded(&db).await;
        let viewer = app.login("viewer").await;
        // Searches from the search page go through the server function (the REST API's are
        // counted apart: nobody opens their results in a browser).
        let page_search = |q: &str| {
            use leptos::server_fn::ServerFn;
            viewer
                .apply(Request::post(app::api::Search::PATH).header(header::HOST, HOST).header(header::ORIGIN, ORIGIN))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("query[q]={q}")))
                .unwrap()
        };
        let res = app.send(page_search("ledger")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let id = res.json["query_id"].as_str().unwrap().to_string();
        let hit = &res.json["items"][0];
        app.send(page_search("qqqzzzx")).await;
        search(&app, &viewer, "from-a-script").await;
        // Opening a result goes through /search/go, which records it and redirects locally only.
        let go = format!(
            "/search/go?id={id}&key={}&rank=1&to={}",
            app::api::encode(hit["key"].as_str().unwrap()),
            app::api::encode(hit["url"].as_str().unwrap())
        );
        let res = app.call("GET", &go, &viewer, None).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.text);
        assert_eq!(res.headers[header::LOCATION], hit["url"].as_str().unwrap());
        let evil = app.call("GET", "/search/go?q=x&key=k&rank=1&to=https://evil.example/", &viewer, None).await;
        assert_eq!(evil.headers[header::LOCATION], "/");

        let admin = app.token("admin").await;
        let a = app.call("GET", "/api/v1/search/analytics?days=7", &admin, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.json["searches"], 4, "[{}] two page searches, one API search, one suggestion opened: {}", app.db, a.text);
        assert!((a.json["success_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{}", a.text);
        assert!(a.json["zero_result_queries"].as_array().unwrap().iter().any(|q| q["query"] == "qqqzzzx"));
        assert!(a.json["time_to_find_p50_ms"].as_i64().is_some());
        for role in ["viewer", "junior", "senior", "lead"] {
            let t = app.token(role).await;
            assert_eq!(app.call("GET", "/api/v1/search/analytics", &t, None).await.status, StatusCode::FORBIDDEN, "{role}");
        }
    }
}

#[tokio::test]
async fn docs_are_written_by_owners_rendered_safely_and_protected_from_stale_edits() {
    for db in databases().await {
        let app = seeded(&db).await;
        let viewer = app.token("viewer").await;
        let junior = app.token("junior").await;
        let lead = app.token("lead").await;

        let all = app.call("GET", "/api/v1/docs", &viewer, None).await;
        assert!(all.json.as_array().unwrap().len() > 20, "[{}] demo docs are seeded", app.db);
        let page = app.call("GET", "/api/v1/docs/component:default/payment/index", &viewer, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert!(page.json["toc"].as_array().unwrap().iter().any(|t| t["text"] == "Runbook"));
        assert_eq!(page.json["editable"], false, "viewers read only");

        // An owner writes a doc; it renders without scripts and is found by search.
        let new = json!({"entity_ref": "component:default/payment", "path": "xss-test", "title": "Payment gotchas",
            "markdown": "# Gotchas\n\n## Retries\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) idempotency keys", "version": 0});
        assert_eq!(app.call("PUT", "/api/v1/docs", &viewer, Some(new.clone())).await.status, StatusCode::FORBIDDEN);
        let res = app.call("PUT", "/api/v1/docs", &junior, Some(new.clone())).await;
        assert_eq!(res.status, StatusCode::OK, "[{}] {}", app.db, res.text);
        let id = res.json["id"].as_str().unwrap().to_string();
        assert_eq!(id, "component:default/payment/xss-test");
        let page = app.call("GET", &format!("/api/v1/docs/{id}"), &viewer, None).await;
        let html = page.json["html"].as_str().unwrap();
        assert!(!html.contains("<script") && !html.contains("onerror") && !html.contains("href=\"javascript"), "{html}");
        assert!(keys(&search(&app, &viewer, "idempotency").await).contains(&format!("doc:{id}")), "[{}]", app.db);
        // The same path again is refused by its field.
        let again = app.call("PUT", "/api/v1/docs", &junior, Some(new)).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.text);
        assert!(again.json["error"]["fields"]["path"].is_array());

        // Two people edit version 1: the second is told, not silently overwritten.
        let edit = |text: &str, version: i64| json!({"id": id, "path": "", "title": "Payment gotchas", "markdown": text, "version": version});
        assert_eq!(app.call("PUT", "/api/v1/docs", &junior, Some(edit("first", 1))).await.status, StatusCode::OK);
        let stale = app.call("PUT", "/api/v1/docs", &lead, Some(edit("second", 1))).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
        let kept = app.call("GET", &format!("/api/v1/docs/{id}"), &viewer, None).await;
        assert_eq!(kept.json["markdown"], "first");

        // Bad input: unknown entity, bad path, empty title, another team's entity, guides.
        let bad = |entity: &str, path: &str, title: &str| json!({"entity_ref": entity, "path": path, "title": title, "markdown": "x", "version": 0});
        let r = app.call("PUT", "/api/v1/docs", &junior, Some(bad("component:default/nope", "a", "T"))).await;
        assert!(r.json["error"]["fields"]["entity_ref"].is_array(), "{}", r.text);
        let r = app.call("PUT", "/api/v1/docs", &junior, Some(bad("component:default/payment", "../x", ""))).await;
        assert!(r.json["error"]["fields"]["path"].is_array() && r.json["error"]["fields"]["title"].is_array(), "{}", r.text);
        let r = app.call("PUT", "/api/v1/docs", &junior, Some(bad("component:default/cart", "notes", "T"))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "checkout owns the cart: {}", r.text);
        let r = app.call("PUT", "/api/v1/docs", &junior, Some(bad("", "style-guide", "Style guide"))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "guides are for Team Leads");
        let r = app.call("PUT", "/api/v1/docs", &lead, Some(bad("", "style-guide", "Style guide"))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["id"], "guides/style-guide");
        let r = app.call("PUT", "/api/v1/docs", &lead, Some(json!({"title": 5}))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "wrong types name the field: {}", r.text);

        // Delete needs the current version.
        assert_eq!(app.call("DELETE", &format!("/api/v1/docs/{id}?version=1"), &junior, None).await.status, StatusCode::CONFLICT);
        assert_eq!(app.call("DELETE", &format!("/api/v1/docs/{id}?version=2"), &viewer, None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.call("DELETE", &format!("/api/v1/docs/{id}?version=2"), &junior, None).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.call("GET", &format!("/api/v1/docs/{id}"), &viewer, None).await.status, StatusCode::NOT_FOUND);
        assert!(!keys(&search(&app, &viewer, "idempotency").await).contains(&format!("doc:{id}")));
    }
}
