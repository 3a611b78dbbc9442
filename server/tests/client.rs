//! The command-line client against a real portal on a loopback port, on SQLite and PostgreSQL:
//! `platform catalog apply|get|export` and `platform search`, with an API token.

mod common;

use common::*;
use std::process::Output;

/// Runs the binary off the async threads (the portal it talks to runs on them).
async fn run(base: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_platform"));
    c.args(args).env("PLATFORM_URL", base).env_remove("PLATFORM_TOKEN");
    if let Some(t) = token {
        c.env("PLATFORM_TOKEN", t);
    }
    tokio::task::spawn_blocking(move || c.output().expect("run platform")).await.unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test]
async fn catalog_and_search_from_the_command_line() {
    for db in databases().await {
        let app = TestApp::new(&db).await;
        server::seed::seed_demo_catalog(&app.state.services).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app.router.clone();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let Auth::Bearer(token) = app.token("lead").await else { unreachable!() };
        let token = Some(token.as_str());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog-info.yaml");
        std::fs::write(
            &file,
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cli-made\n  title: Made From The Shell\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not Valid\nspec: {type: service, lifecycle: production, owner: payments}",
        )
        .unwrap();
        let out = run(&base, token, &["catalog", "apply", "-f", file.to_str().unwrap()]).await;
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "[{}] a failed document fails the command: {t}", app.db);
        assert!(t.contains("component:default/cli-made created") && t.contains("metadata.name:"), "{t}");
        assert!(t.contains("1 created, 0 updated, 0 unchanged, 1 with errors"), "{t}");

        let out = run(&base, token, &["catalog", "get", "component:cli-made"]).await;
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("title: Made From The Shell"), "{}", text(&out));
        let out = run(&base, token, &["catalog", "get", "component:nope"]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("not in the catalog") && text(&out).contains("(404)"), "{}", text(&out));

        let out = run(&base, token, &["catalog", "export", "--kind", "Domain"]).await;
        let yaml = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && yaml.contains("kind: Domain") && !yaml.contains("kind: Component"), "{yaml}");
        // What export prints applies back unchanged.
        std::fs::write(&file, &yaml).unwrap();
        let out = run(&base, token, &["catalog", "apply", "-f", file.to_str().unwrap()]).await;
        assert!(out.status.success() && text(&out).contains("0 created, 0 updated"), "{}", text(&out));

        let out = run(&base, token, &["search", "made", "from", "the", "shell"]).await;
        assert!(out.status.success() && text(&out).contains("/catalog/component/default/cli-made"), "{}", text(&out));
        let out = run(&base, token, &["search", "card", "vault", "--kind", "API"]).await;
        assert!(text(&out).contains("Card Vault API") && !text(&out).contains("Component "), "{}", text(&out));

        // Settings and credentials problems say what to do.
        let out = run(&base, None, &["search", "x"]).await;
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out).contains("Account page"), "{}", text(&out));
        let out = run(&base, Some("plt_not-a-token"), &["search", "card"]).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("(401)") && text(&out).contains("PLATFORM_TOKEN"), "{}", text(&out));
        let out = run("http://127.0.0.1:1", token, &["search", "x"]).await;
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out).contains("cannot reach the portal"), "{}", text(&out));
        let out = run(&base, token, &["catalog", "export", "--colour", "red"]).await;
        assert_eq!(out.status.code(), Some(2));
        server.abort();
    }
}
