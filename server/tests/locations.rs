//! Catalog locations on SQLite and PostgreSQL: a git repository on disk registered as a
//! location, read with its Location targets and techdocs folders, refreshed after edits (orphans
//! marked and restored), a broken file orphaning nothing, admins only.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use std::path::Path;

fn component(name: &str, docs: bool) -> String {
    let annotations = if docs { "  annotations:\n    backstage.io/techdocs-ref: dir:.\n" } else { "" };
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{annotations}spec:\n  type: service\n  lifecycle: production\n  owner: payments\n")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A repository with a root Location pointing at two services' files (one outside the repo,
/// which must not be read), and docs for the first service.
fn repository(root: &Path) {
    assert!(std::process::Command::new("git").arg("init").arg("-q").arg(root).status().unwrap().success());
    write(
        &root.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets:\n    - ./services/loc-a/catalog-info.yaml\n    - ./services/loc-b/catalog-info.yaml\n    - ../../../etc/passwd\n",
    );
    write(&root.join("services/loc-a/catalog-info.yaml"), &component("loc-a", true));
    write(&root.join("services/loc-a/docs/index.md"), "# Loc A\n\n## Runbook\n\nRestart it.");
    write(&root.join("services/loc-a/docs/how-to/deploy.md"), "# Deploying loc-a\n\nPress the button.");
    write(&root.join("services/loc-b/catalog-info.yaml"), &format!("{}---\n{}", component("loc-b", false), component("loc-c", false)));
}

#[tokio::test]
async fn locations_read_refresh_orphan_and_restore() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        let admin = app.token("admin").await;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        repository(&root);

        let res = app.call("POST", "/api/v1/catalog/locations", &admin, Some(json!({"target": root.display().to_string(), "refresh_minutes": 5}))).await;
        assert_eq!(res.status, StatusCode::OK, "[{}] {}", app.db, res.text);
        assert_eq!(res.json["apply"]["created"], 4, "[{}] location + 3 components: {}", app.db, res.text);
        assert_eq!(res.json["docs_written"], 2, "{}", res.text);
        assert_eq!(res.json["location"]["status"], "error", "the target outside the repository is reported: {}", res.text);
        assert!(res.json["location"]["last_error"].as_str().unwrap().contains("outside the repository"), "{}", res.text);
        let id = res.json["location"]["id"].as_str().unwrap().to_string();
        let entity = app.call("GET", "/api/v1/catalog/entities/component/default/loc-b", &admin, None).await;
        assert_eq!(entity.json["source"], format!("location:{id}"));
        let doc = app.call("GET", "/api/v1/docs/component:default/loc-a/how-to/deploy", &admin, None).await;
        assert_eq!(doc.json["summary"]["title"], "Deploying loc-a", "{}", doc.text);

        // Fix the root file; drop loc-c from its file: it is orphaned, not deleted.
        write(&root.join("catalog-info.yaml"), "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: all\nspec:\n  targets: [./services/loc-a/catalog-info.yaml, ./services/loc-b/catalog-info.yaml]\n");
        write(&root.join("services/loc-b/catalog-info.yaml"), &component("loc-b", false));
        let res = app.call("POST", &format!("/api/v1/catalog/locations/{id}/refresh"), &admin, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.json["location"]["status"], "ok", "{}", res.text);
        assert_eq!(res.json["orphaned"], json!(["component:default/loc-c"]), "[{}] {}", app.db, res.text);
        let c = app.call("GET", "/api/v1/catalog/entities/component/default/loc-c", &admin, None).await;
        assert_eq!(c.json["summary"]["orphan"], true);
        let list = app.call("GET", "/api/v1/catalog/locations", &admin, None).await;
        assert_eq!((list.json[0]["entities"].as_i64(), list.json[0]["orphans"].as_i64()), (Some(4), Some(1)), "{}", list.text);

        // A broken file orphans nothing, and says which file.
        write(&root.join("services/loc-b/catalog-info.yaml"), "kind: [unclosed");
        write(&root.join("services/loc-a/catalog-info.yaml"), &component("loc-a", true));
        let res = app.call("POST", &format!("/api/v1/catalog/locations/{id}/refresh"), &admin, None).await;
        assert_eq!(res.json["location"]["status"], "error");
        assert!(res.json["location"]["last_error"].as_str().unwrap().contains("services/loc-b/catalog-info.yaml"), "{}", res.text);
        assert_eq!(res.json["orphaned"], json!([]));
        let b = app.call("GET", "/api/v1/catalog/entities/component/default/loc-b", &admin, None).await;
        assert_eq!(b.json["summary"]["orphan"], false, "loc-b was not orphaned by a broken read");

        // Back in its file: no longer an orphan.
        write(&root.join("services/loc-b/catalog-info.yaml"), &format!("{}---\n{}", component("loc-b", false), component("loc-c", false)));
        let res = app.call("POST", &format!("/api/v1/catalog/locations/{id}/refresh"), &admin, None).await;
        assert_eq!(res.json["location"]["status"], "ok", "{}", res.text);
        let c = app.call("GET", "/api/v1/catalog/entities/component/default/loc-c", &admin, None).await;
        assert_eq!(c.json["summary"]["orphan"], false, "{}", c.text);

        // Bad registrations are refused by field.
        for (target, why) in [
            ("relative/path", "absolute"),
            ("/no/such/place", "does not exist"),
            (dir.path().to_str().unwrap(), "not inside a git repository"),
            (root.to_str().unwrap(), "already registered"),
        ] {
            let r = app.call("POST", "/api/v1/catalog/locations", &admin, Some(json!({"target": target}))).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{target}: {}", r.text);
            assert!(r.json["error"]["fields"]["target"][0].as_str().unwrap().contains(why), "{target}: {}", r.text);
        }
        let r = app.call("POST", "/api/v1/catalog/locations", &admin, Some(json!({"target": 7}))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

        // Only admins manage locations.
        for role in ["viewer", "junior", "senior", "lead"] {
            let t = app.token(role).await;
            assert_eq!(app.call("GET", "/api/v1/catalog/locations", &t, None).await.status, StatusCode::FORBIDDEN, "{role}");
            assert_eq!(app.call("POST", &format!("/api/v1/catalog/locations/{id}/refresh"), &t, None).await.status, StatusCode::FORBIDDEN, "{role}");
            assert_eq!(app.call("DELETE", &format!("/api/v1/catalog/locations/{id}"), &t, None).await.status, StatusCode::FORBIDDEN, "{role}");
            let r = app.call("POST", "/api/v1/catalog/locations", &t, Some(json!({"target": root.display().to_string()}))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
        }

        // The scheduler reads locations that were never read; removing one orphans its entities.
        let pending = app::types::Location {
            id: "scheduled".into(),
            target: root.join("services/loc-a/catalog-info.yaml").canonicalize().unwrap().display().to_string(),
            refresh_minutes: 30,
            status: "pending".into(),
            last_refresh_at: None,
            last_error: None,
            entities: 0,
            orphans: 0,
            created_by: "admin".into(),
            created_at: app::core::now(),
        };
        app.state.services.store.location_insert(&pending, app::core::Caller::system_audit("test", "location.create", "location:scheduled")).await.unwrap();
        assert_eq!(app.state.services.refresh_due_locations().await, 1, "only the pending one is due");
        assert_eq!(app.state.services.refresh_due_locations().await, 0, "and then nothing");
        let del = app.call("DELETE", &format!("/api/v1/catalog/locations/{id}"), &admin, None).await;
        assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
        let b = app.call("GET", "/api/v1/catalog/entities/component/default/loc-b", &admin, None).await;
        assert_eq!(b.json["summary"]["orphan"], true);
        assert_eq!(app.call("DELETE", &format!("/api/v1/catalog/locations/{id}"), &admin, None).await.status, StatusCode::NOT_FOUND);
    }
}
