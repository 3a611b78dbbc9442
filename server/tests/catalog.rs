//! The catalog through the REST API, on SQLite and PostgreSQL: applying YAML document by
//! document, listing with facets, relations in both directions, deleting, exporting.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;

const PAYMENTS: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  title: Payments API service
  tags: [rust, payments]
spec:
  type: service
  lifecycle: production
  owner: payments
  system: money
  providesApis: [payments-rest]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-rest
  description: Pay and refund. 💳
spec:
  type: openapi
  lifecycle: production
  owner: group:payments
  definition: |
    openapi: 3.0.0
    info: {title: Payments, version: "1"}
    paths: {}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: -not-a-valid-name
spec:
  type: service
  lifecycle: production
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: basket
spec:
  type: service
  lifecycle: experimental
  owner: checkout
---
this is: [not, a, valid
"#;

async fn apply(app: &TestApp, auth: &Auth, yaml: &str) -> Response {
    let req = auth
        .apply(Request::post("/api/v1/catalog/apply").header(header::HOST, HOST).header(header::ORIGIN, ORIGIN))
        .header(header::CONTENT_TYPE, "application/yaml")
        .body(Body::from(yaml.to_string()))
        .unwrap();
    app.send(req).await
}

#[tokio::test]
async fn apply_list_relate_delete_and_export() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let lead = app.login("lead").await;
        let res = apply(&app, &lead, PAYMENTS).await;
        assert_eq!(res.status, StatusCode::OK, "[{}] {}", app.db, res.text);
        let outcomes: Vec<&str> = res.json["documents"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["created", "created", "error", "error", "error"], "[{}] {}", app.db, res.text);
        let docs = &res.json["documents"];
        assert!(docs[2]["errors"]["metadata.name"].is_array(), "the bad name is reported by its field: {}", docs[2]);
        assert!(docs[3]["errors"]["spec.owner"][0].as_str().unwrap().contains("owning team"), "a lead of payments cannot create for checkout");
        assert_eq!(docs[4]["index"], 4);
        assert!(docs[4]["line"].as_u64().unwrap() >= 45, "syntax errors say where: {}", docs[4]);
        let warnings = docs[0]["warnings"].as_array().unwrap();
        assert!(warnings.iter().any(|w| w.as_str().unwrap().starts_with("system:default/money ")), "unknown references are warned about: {warnings:?}");
        assert_eq!((res.json["created"].as_u64(), res.json["failed"].as_u64()), (Some(2), Some(3)));

        // Applying again changes nothing; a changed document is an update.
        let again = apply(&app, &lead, PAYMENTS).await;
        assert_eq!(again.json["unchanged"], 2);
        let changed = apply(&app, &lead, &PAYMENTS.replace("Payments API service", "Payments API")).await;
        assert_eq!(changed.json["documents"][0]["outcome"], "updated");

        // Relations in both directions, with case-insensitive references.
        let api = app.call("GET", "/api/v1/catalog/entities/API/Default/Payments-REST", &lead, None).await;
        assert_eq!(api.status, StatusCode::OK, "{}", api.text);
        let rels: Vec<(String, String)> = api.json["relations"].as_array().unwrap().iter()
            .map(|r| (r["relation"].as_str().unwrap().to_string(), r["target"].as_str().unwrap().to_string())).collect();
        assert!(rels.contains(&("apiProvidedBy".into(), "component:default/payments-api".into())), "{rels:?}");
        assert!(rels.contains(&("ownedBy".into(), "group:default/payments".into())), "{rels:?}");
        assert_eq!(api.json["descriptor"]["metadata"]["description"], "Pay and refund. 💳");

        // Everyone signed in reads; lists filter and count.
        let viewer = app.login("viewer").await;
        let list = app.call("GET", "/api/v1/catalog/entities?kind=Component&owner=group:default/payments", &viewer, None).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        let names: Vec<&str> = list.json["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"payments-api") && list.json["total"].as_i64().unwrap() >= 1);
        assert!(list.json["facets"]["kind"].as_array().unwrap().iter().any(|f| f["value"] == "API"), "facets ignore their own filter");
        let by_tag = app.call("GET", "/api/v1/catalog/entities?tag=payments", &viewer, None).await;
        assert!(by_tag.json["items"].as_array().unwrap().iter().all(|i| i["tags"].as_array().unwrap().iter().any(|t| t == "payments")));
        let bad_page = app.call("GET", "/api/v1/catalog/entities?page=0&page_size=9999", &viewer, None).await;
        assert_eq!(bad_page.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Sorted by kind (the default), by name, or newest change first; an unknown order is refused.
        let order = |sort: &'static str| {
            let app = &app;
            let viewer = &viewer;
            async move {
                let list = app.call("GET", &format!("/api/v1/catalog/entities?sort={sort}"), viewer, None).await;
                assert_eq!(list.status, StatusCode::OK, "{}", list.text);
                let names: Vec<String> = list.json["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
                names.into_iter().filter(|n| n.starts_with("payments-")).collect::<Vec<_>>()
            }
        };
        assert_eq!(order("kind").await, ["payments-rest", "payments-api"], "[{}] API before Component", app.db);
        assert_eq!(order("name").await, ["payments-api", "payments-rest"], "[{}]", app.db);
        assert_eq!(order("updated").await, ["payments-api", "payments-rest"], "[{}] the one changed last first", app.db);
        let bad_sort = app.call("GET", "/api/v1/catalog/entities?sort=size", &viewer, None).await;
        assert_eq!(bad_sort.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad_sort.text.contains("Sort by kind, name or updated"), "{}", bad_sort.text);

        // Export applies back to an empty catalog as the same entities.
        let export = app.call("GET", "/api/v1/catalog/export?owner=group:default/payments", &viewer, None).await;
        assert_eq!(export.status, StatusCode::OK);
        assert!(export.text.contains("name: payments-rest"), "{}", export.text);
        let fresh_db = databases().await.into_iter().find(|d| d.label == db.label).unwrap();
        let fresh = TestApp::new(&fresh_db).await;
        let reapplied = apply(&fresh, &fresh.login("admin").await, &export.text).await;
        assert_eq!(reapplied.json["failed"], 0, "{}", reapplied.text);
        let before = app.call("GET", "/api/v1/catalog/entities/api/default/payments-rest", &viewer, None).await;
        let after = fresh.call("GET", "/api/v1/catalog/entities/api/default/payments-rest", &fresh.login("viewer").await, None).await;
        assert_eq!(before.json["descriptor"], after.json["descriptor"], "export round-trips");

        // Deleting: not a viewer's job; a stale version is a conflict; then it is gone.
        let path = "/api/v1/catalog/entities/component/default/payments-api";
        let version = app.call("GET", path, &viewer, None).await.json["version"].as_i64().unwrap();
        assert_eq!(app.call("DELETE", &format!("{path}?version={version}"), &viewer, None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.call("DELETE", &format!("{path}?version={}", version - 1), &lead, None).await.status, StatusCode::CONFLICT);
        assert_eq!(app.call("DELETE", &format!("{path}?version={version}"), &lead, None).await.status, StatusCode::NO_CONTENT);
        // What the deleted entity declared is gone from the other end too; the API's own stay.
        let api = app.call("GET", "/api/v1/catalog/entities/api/default/payments-rest", &viewer, None).await;
        let rels: Vec<&str> = api.json["relations"].as_array().unwrap().iter().map(|r| r["relation"].as_str().unwrap()).collect();
        assert!(!rels.contains(&"apiProvidedBy") && rels.contains(&"ownedBy"), "[{}] {rels:?}", app.db);
        // Its tags are gone from the counts (only it had them).
        let all = app.call("GET", "/api/v1/catalog/entities", &viewer, None).await;
        assert!(!all.json["facets"]["tag"].as_array().unwrap().iter().any(|t| t["value"] == "rust"), "[{}] {}", app.db, all.json["facets"]["tag"]);
        assert_eq!(app.call("GET", path, &viewer, None).await.status, StatusCode::NOT_FOUND);
        let api = app.call("GET", "/api/v1/catalog/entities/api/default/payments-rest", &viewer, None).await;
        assert!(!api.text.contains("apiProvidedBy"), "relations declared by a deleted entity go with it");

        // The trail has it.
        let admin = app.login("admin").await;
        let trail = app.call("GET", "/api/v1/audit?action=catalog.&limit=500", &admin, None).await;
        let actions: Vec<&str> = trail.json.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"catalog.create") && actions.contains(&"catalog.update") && actions.contains(&"catalog.delete"), "{actions:?}");
    }
}

#[tokio::test]
async fn viewers_cannot_write_and_strangers_cannot_take_over() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let doc = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: ledger}\nspec: {type: service, lifecycle: production, owner: payments}\n";
        let viewer = apply(&app, &app.login("viewer").await, doc).await;
        assert_eq!(viewer.json["documents"][0]["outcome"], "error", "[{}] {}", app.db, viewer.text);
        let junior = apply(&app, &app.login("junior").await, doc).await;
        assert_eq!(junior.json["documents"][0]["outcome"], "created");
        // A Senior of checkout (and Senior of payments) cannot move it to a team they are not in.
        let moved = doc.replace("owner: payments", "owner: platform");
        let senior = apply(&app, &app.login("senior").await, &moved).await;
        assert_eq!(senior.json["documents"][0]["outcome"], "error", "{}", senior.text);
        let admin = apply(&app, &app.login("admin").await, &moved).await;
        assert_eq!(admin.json["documents"][0]["outcome"], "updated");
        let not_yaml = apply(&app, &app.login("admin").await, "").await;
        assert_eq!(not_yaml.json["documents"].as_array().unwrap().len(), 0, "an empty text applies nothing");
    }
}

#[tokio::test]
async fn the_demo_catalog_seeds_completely_and_once() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let report = server::seed::seed_demo_catalog(&app.state.services).await.unwrap().expect("an empty catalog is seeded");
        assert_eq!(report.failed, 0, "[{}] refused: {:?}", app.db, report.documents.iter().filter(|d| d.outcome == "error").collect::<Vec<_>>());
        assert!(report.created >= 250, "{} entities", report.created);
        assert!(report.documents.iter().all(|d| d.warnings.is_empty()), "every reference of the demo catalog resolves");
        assert!(server::seed::seed_demo_catalog(&app.state.services).await.unwrap().is_none(), "only into an empty catalog");
        let viewer = app.login("viewer").await;
        let owned = app.call("GET", "/api/v1/catalog/entities?owner=group:default/payments", &viewer, None).await;
        assert!(owned.json["total"].as_i64().unwrap() >= 20, "the payments team owns a good share");
        let group = app.call("GET", "/api/v1/catalog/entities/group/default/payments", &viewer, None).await;
        let members: Vec<&str> = group.json["relations"].as_array().unwrap().iter()
            .filter(|r| r["relation"] == "hasMember").map(|r| r["target"].as_str().unwrap()).collect();
        assert!(members.contains(&"user:default/lead") && members.contains(&"user:default/junior"), "{members:?}");

        // The team's page and its members' home page list what the team owns.
        for path in ["/teams/payments", "/"] {
            let page = app
                .send(viewer.apply(Request::get(path).header(header::HOST, HOST).header(header::ACCEPT, "text/html")).body(Body::empty()).unwrap())
                .await;
            assert_eq!(page.status, StatusCode::OK);
            assert!(page.text.contains("/catalog?owner=group%3Adefault%2Fpayments"), "[{}] {path} links to the team's entities", app.db);
            let listed = ["api", "component", "resource", "system"].iter().any(|k| page.text.contains(&format!("href=\"/catalog/{k}/default/")));
            assert!(listed, "[{}] {path} lists owned entities", app.db);
        }
    }
}

#[tokio::test]
async fn a_large_text_is_written_in_overlapping_chunks_and_later_documents_win() {
    use app::core::catalog::Applier;
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let services = &app.state.services;
        // Three chunks (two of the database's batch, then the rest), written two at a time; the
        // last document changes an entity of the first chunk, so that one is finished before
        // the last chunk is checked.
        let n = 2 * services.store.apply_batch() + 10;
        let doc = |i: usize, lifecycle: &str| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: bulk-{i:05}\nspec:\n  type: service\n  lifecycle: {lifecycle}\n  owner: payments\n"
            )
        };
        let mut docs: Vec<String> = (0..n).map(|i| doc(i, "experimental")).collect();
        docs.push(doc(7, "production"));
        let report = services.apply_catalog(Applier::System, &docs.join("---\n"), "test").await.unwrap();
        assert_eq!((report.created, report.updated, report.failed), (n, 1, 0), "[{}]", app.db);
        assert_eq!(report.documents.len(), n + 1, "[{}] one outcome per document", app.db);
        assert!(report.documents.windows(2).all(|w| w[0].index < w[1].index), "[{}] outcomes in document order", app.db);
        let seventh = services.store.catalog_get("component:default/bulk-00007").await.unwrap().unwrap();
        assert!(seventh.body.contains("production") && seventh.version == 2, "[{}] the later document won: {}", app.db, seventh.body);
        let last = services.store.catalog_get(&format!("component:default/bulk-{:05}", n - 1)).await.unwrap();
        assert!(last.is_some(), "[{}] the last chunk was written", app.db);
        // Every write has its audit entry, and the chain holds.
        let chain = services.verify_audit(None).await.unwrap();
        assert!(chain.ok && chain.checked >= (n + 1) as i64, "[{}] {chain:?}", app.db);
    }
}

#[tokio::test]
async fn relation_targets_are_warned_about_only_when_missing_once_the_whole_text_is_in() {
    use app::core::catalog::Applier;
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let services = &app.state.services;
        let component = |name: &str, extra: &str| {
            format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n{extra}")
        };
        let team = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: payments\nspec:\n  type: team\n  children: []\n";
        services.apply_catalog(Applier::System, &format!("{team}---\n{}", component("stored", "")), "test").await.unwrap();
        // `front` depends on: a document after a whole batch of others (written in a later
        // chunk), one stored before whose document here is broken, one only here and broken,
        // and one nowhere.
        let depends = "  dependsOn: [component:later, component:stored, component:broken, component:nowhere]\n";
        let mut docs = vec![component("front", depends)];
        docs.extend((0..services.store.apply_batch()).map(|i| component(&format!("filler-{i:05}"), "")));
        docs.push(component("later", ""));
        docs.push(component("stored", "  system: [not, a, reference]\n"));
        docs.push(component("broken", "  system: [not, a, reference]\n"));
        let report = services.apply_catalog(Applier::System, &docs.join("---\n"), "test").await.unwrap();
        assert_eq!((report.created, report.failed), (docs.len() - 2, 2), "[{}]", app.db);
        let warned: Vec<&str> = report.documents[0].warnings.iter().map(|w| w.split(' ').next().unwrap()).collect();
        assert_eq!(warned, ["component:default/broken", "component:default/nowhere"], "[{}] {:?}", app.db, report.documents[0].warnings);
        assert!(report.documents[0].warnings[0].ends_with("is not in the catalog (yet); the relation is kept."));
        assert!(report.documents[1..].iter().all(|d| d.warnings.is_empty()), "[{}]", app.db);
    }
}
