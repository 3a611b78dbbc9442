//! `platform`: the portal's one binary.

use server::config::Config;
use server::seed;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

const USAGE_TEMPLATE: &str = "\
platform — self-service developer platform

USAGE:
  platform [serve]              start the portal (default)
  platform create-admin USER    create a Platform Admin; reads the password from
                                PLATFORM_ADMIN_PASSWORD or the first line of standard input
                                options: --name \"Full Name\" --email user@example.com
  platform audit verify         check the audit trail's hash chain; exit 1 when broken
  platform audit export         print the audit trail as JSON Lines
{CLIENT}  platform help

SETTINGS (environment):
  DATABASE_URL            sqlite://data/platform.db (default) or postgres://user@host/db
  PLATFORM_ADDR           listen address (default from Leptos.toml: 127.0.0.1:3000)
  PLATFORM_DEMO           seed the demo organisation into an empty database (default true)
  PLATFORM_PUBLIC_URL     public address; https://… turns on Secure cookies
  PLATFORM_MAX_BODY_BYTES largest request body (default 1048576)
  PLATFORM_LOG_FORMAT     json or text; RUST_LOG sets the level (default info)
";

fn usage() -> String {
    USAGE_TEMPLATE.replace("{CLIENT}", server::cli::USAGE)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("platform: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    server::keep_memory_lean();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The client commands talk to a running portal; the server's settings do not concern them.
    if matches!(args.first().map(String::as_str), Some("catalog" | "search" | "workflow" | "run")) {
        return server::cli::run(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    init_logs(config.json_logs);
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["serve"] => serve(config).await,
        ["create-admin", user, rest @ ..] => create_admin(config, user, rest).await,
        ["audit", "verify"] => audit_verify(config).await,
        ["audit", "export"] => audit_export(config).await,
        ["help" | "--help" | "-h"] => {
            print!("{}", usage());
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{}", usage());
            fail("unknown command; see the usage above")
        }
    }
}

fn init_logs(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.compact().init();
    }
}

async fn serve(config: Config) -> ExitCode {
    let addr = config.addr;
    let seed_demo = config.seed_demo;
    let database = config.database_url.split('?').next().unwrap_or_default().to_string();
    let state = match server::state(config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if seed_demo {
        match seed::seed_demo(&state.services).await {
            Ok(true) => tracing::info!("seeded the demo organisation"),
            Ok(false) => {}
            Err(e) => return fail(format!("seeding the demo organisation failed: {e}")),
        }
        match seed::seed_demo_catalog(&state.services).await {
            Ok(Some(r)) if r.failed == 0 => tracing::info!(entities = r.created, "seeded the demo catalog"),
            Ok(Some(r)) => tracing::warn!(created = r.created, refused = r.failed, "seeded the demo catalog, some documents were refused"),
            Ok(None) => {}
            Err(e) => return fail(format!("seeding the demo catalog failed: {e}")),
        }
        match seed::seed_demo_workflows(&state.services, &demo_repo_dir(&database)).await {
            Ok(true) => tracing::info!("seeded the demo workflows"),
            Ok(false) => {}
            Err(e) => return fail(format!("seeding the demo workflows failed: {e}")),
        }
    }
    // The workflow engine: HTTP steps whose url starts with '/' call this portal.
    let self_host = if addr.ip().is_unspecified() { std::net::SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    server::steps::register(&state.services, &format!("http://{self_host}"));
    state.services.start_engine();
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return fail(format!("PLATFORM_ADDR: cannot listen on {addr}: {e}")),
    };
    let cleanup = state.services.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match cleanup.store.delete_expired_sessions(&app::core::now()).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "removing expired sessions failed"),
            }
            // Search analytics and "recently viewed" look back at most 90 days.
            let horizon = app::core::timestamp(chrono::Utc::now() - chrono::Duration::days(90));
            match cleanup.store.prune_activity(&horizon).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, "search and view history older than 90 days removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "removing old search and view history failed"),
            }
        }
    });
    // Registered catalog locations are refreshed on their schedule (a lease per location keeps
    // replicas from reading the same one at once).
    let locations = state.services.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            tick.tick().await;
            locations.refresh_due_locations().await;
        }
    });
    let app = server::web::router(state);
    println!("\nPlatform is running at http://{addr}  (database: {database})");
    if seed_demo {
        println!("Demo accounts (password '{}'):", seed::DEMO_PASSWORD);
        for (user, name, role) in seed::DEMO_USERS {
            let role = role.map(|r| format!("{} in team Payments", r.label())).unwrap_or_else(|| "Platform Admin".into());
            println!("  {user:<8} {name:<12} {role}");
        }
    }
    println!("Stop with Ctrl+C.\n");
    let _ = std::io::stdout().flush();
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await;
    match served {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("the server stopped: {e}")),
    }
}

/// Where the demo release workflow's git repository lives: beside the SQLite file, or in the
/// temporary folder when the database is PostgreSQL.
fn demo_repo_dir(database: &str) -> std::path::PathBuf {
    match database.strip_prefix("sqlite://").or_else(|| database.strip_prefix("sqlite:")) {
        Some(file) => std::path::Path::new(file).parent().unwrap_or(std::path::Path::new(".")).join("demo-repo"),
        None => std::env::temp_dir().join("platform-demo-repo"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn create_admin(config: Config, username: &str, rest: &[&str]) -> ExitCode {
    let mut name = username.to_string();
    let mut email = format!("{username}@localhost.localdomain");
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        match (*flag, it.next()) {
            ("--name", Some(v)) => name = v.to_string(),
            ("--email", Some(v)) => email = v.to_string(),
            _ => return fail(format!("unknown or incomplete option '{flag}'; see 'platform help'")),
        }
    }
    let password = match std::env::var("PLATFORM_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            eprintln!("Password for {username} (at least 10 characters), then Enter:");
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).is_err() {
                return fail("could not read the password from standard input");
            }
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let state = match server::state(config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let audit = app::core::Caller::system_audit("cli", "user.create", format!("user:{username}"));
    let new = app::types::NewUser { username: username.into(), display_name: name, email, password, is_admin: true };
    match state.services.insert_user(audit, new).await {
        Ok(u) => {
            println!("Created Platform Admin '{}'. Sign in at the portal with this username.", u.username);
            ExitCode::SUCCESS
        }
        Err(app::error::AppError::Validation(fields)) => {
            for (field, messages) in fields {
                eprintln!("platform: {field}: {}", messages.join(" "));
            }
            ExitCode::from(2)
        }
        Err(e) => fail(e),
    }
}

async fn audit_verify(config: Config) -> ExitCode {
    let state = match server::state(config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match state.services.verify_audit(None).await {
        Ok(r) if r.ok => {
            println!("{}", r.message);
            ExitCode::SUCCESS
        }
        Ok(r) => {
            eprintln!("{}", r.message);
            ExitCode::from(1)
        }
        Err(e) => fail(e),
    }
}

async fn audit_export(config: Config) -> ExitCode {
    let state = match server::state(config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut out = std::io::stdout().lock();
    let mut after = 0;
    loop {
        let page = match state.services.store.audit_chain(after, 1000).await {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            if writeln!(out, "{}", serde_json::to_string(&row.to_entry()).unwrap_or_default()).is_err() {
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}
