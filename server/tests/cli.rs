//! The `platform` binary's commands: bad settings, creating the first admin, verifying the audit
//! trail (exit status 1 when it is broken).

use std::process::{Command, Stdio};
use std::io::Write;

fn platform(db_url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_platform"));
    c.args(args).env("DATABASE_URL", db_url).env("PLATFORM_LOG_FORMAT", "text").env("RUST_LOG", "warn");
    c
}

#[test]
fn bad_database_url_is_one_clear_line() {
    let out = platform("mysql://nope", &["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL must start with sqlite:// or postgres://"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let out = platform("postgres://nobody@127.0.0.1:1/none", &["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the database named by DATABASE_URL"));

    let out = platform("sqlite://x.db", &[]).env("PLATFORM_ADDR", "not-an-address").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("PLATFORM_ADDR"), "the setting is named");
    let out = platform("sqlite://x.db", &[]).env("PLATFORM_WORKFLOW_LEASE_SECS", "soon").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PLATFORM_WORKFLOW_LEASE_SECS"), "the setting is named");
}

#[test]
fn first_admin_and_audit_verification() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());

    let mut child = platform(&url, &["create-admin", "root", "--name", "Root Admin"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"a-long-password\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created Platform Admin 'root'"));

    let weak = platform(&url, &["create-admin", "second"]).env("PLATFORM_ADMIN_PASSWORD", "short").output().unwrap();
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let ok = platform(&url, &["audit", "verify"]).output().unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 1 entries"));

    let export = platform(&url, &["audit", "export"]).output().unwrap();
    let line: serde_json::Value = serde_json::from_slice(export.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!((line["actor"].as_str(), line["action"].as_str()), (Some("system"), Some("user.create")));

    // Tamper with the file directly, as an attacker with disk access would.
    let path = dir.path().join("cli.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_update").execute(&pool).await.unwrap();
        sqlx::query("UPDATE audit_log SET after_json = '{\"is_admin\":false}' WHERE seq = 1").execute(&pool).await.unwrap();
        pool.close().await;
    });
    let broken = platform(&url, &["audit", "verify"]).output().unwrap();
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("entry 1 was changed"));
}
