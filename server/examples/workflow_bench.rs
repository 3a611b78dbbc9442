//! Workflow engine benchmark (issue 3, "Benchmark"): a program that prints figures, not a test.
//!
//!   cargo run --release -p server --example workflow_bench -- [--database sqlite|postgres://…]
//!       [--replicas 1|2] [--runs 500] [--steps 10] [--events 300]
//!
//! On a fresh database (an SQLite file in a temp dir, or a new `wfbench_<random>` database on the
//! PostgreSQL server named, dropped afterwards) with `--replicas` engines (each its own
//! connection pool and lease name, as separate replicas would be):
//!
//! - throughput: `--runs` runs of a workflow of `--steps` no-op steps are inserted at once, the
//!   engines started, and the time until every run has succeeded gives steps/s and runs/s;
//! - event-to-step delay: `--events` events are sent 10 ms apart through replica 1, each starting
//!   a one-step workflow; the delay from the event to the start of its step (both stored
//!   timestamps, milliseconds) as p50/p90/p99/max;
//! - resident memory (VmRSS) of this process (all replicas) at the end.

use app::core::workflows::new_run;
use app::core::Services;
use app::workflow::{RunFilter, WorkflowDef};
use serde_json::json;
use std::time::{Duration, Instant};

struct Args {
    database: Option<String>,
    replicas: usize,
    runs: usize,
    steps: usize,
    events: usize,
}

fn args() -> Args {
    let mut a = Args { database: None, replicas: 1, runs: 500, steps: 10, events: 300 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let value = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--database" => a.database = Some(value).filter(|v| v != "sqlite"),
            "--replicas" => a.replicas = value.parse().expect("--replicas N"),
            "--runs" => a.runs = value.parse().expect("--runs N"),
            "--steps" => a.steps = value.parse().expect("--steps N"),
            "--events" => a.events = value.parse().expect("--events N"),
            other => {
                eprintln!("unknown argument {other}; see the header of server/examples/workflow_bench.rs");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn open(url: &str) -> Services {
    let mut config = server::config::Config::from_env().expect("settings");
    config.database_url = url.to_string();
    server::state(config).await.expect("open the database").services
}

async fn succeeded(s: &Services, workflow: &str) -> i64 {
    let f = RunFilter { workflow: Some(workflow.into()), status: Some("succeeded".into()), ..Default::default() };
    s.store.runs_list(&f, 1, 0).await.expect("count").1
}

#[tokio::main]
async fn main() {
    server::keep_memory_lean();
    let a = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, drop_pg) = match &a.database {
        None => (format!("sqlite://{}", dir.path().join("bench.db").display()), None),
        Some(admin) => {
            use sqlx::Executor;
            let name = format!("wfbench_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let pool = sqlx::PgPool::connect(admin).await.expect("connect to the PostgreSQL server");
            pool.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create the bench database");
            let (base, _) = admin.rsplit_once('/').expect("a database URL with a path");
            (format!("{base}/{name}"), Some((pool, name)))
        }
    };
    let label = if a.database.is_some() { "postgres" } else { "sqlite" };
    let mut replicas = Vec::new();
    for _ in 0..a.replicas {
        replicas.push(open(&url).await);
    }
    let first = replicas[0].clone();

    // Throughput: no-op steps.
    let steps: Vec<_> = (0..a.steps).map(|i| json!({"id": format!("s{i}"), "type": "noop"})).collect();
    let def: WorkflowDef = serde_json::from_value(json!({"name": "bench-noop", "title": "No-op", "steps": steps})).unwrap();
    first.put_workflow(def.clone().validate().unwrap(), None, None).await.unwrap();
    let runs: Vec<_> = (0..a.runs).map(|_| new_run(&def, json!({}), Some("bench".into()), "bench", "user".into())).collect();
    for chunk in runs.chunks(100) {
        first.store.runs_start(chunk, None, None, Vec::new()).await.unwrap();
    }
    let started = Instant::now();
    let engines: Vec<_> = replicas.iter().map(|s| s.start_engine()).collect();
    loop {
        if succeeded(&first, "bench-noop").await >= a.runs as i64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            eprintln!("throughput: not finished after 600 s");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let total_steps = (a.runs * a.steps) as f64;
    println!(
        "{label} replicas={} throughput: {} runs x {} no-op steps in {secs:.2} s = {:.0} steps/s, {:.0} runs/s",
        a.replicas,
        a.runs,
        a.steps,
        total_steps / secs,
        a.runs as f64 / secs
    );

    // Event to step delay.
    let ping: WorkflowDef = serde_json::from_value(json!({
        "name": "bench-ping", "title": "Ping", "on": {"events": ["bench.ping"], "team": "bench"},
        "steps": [{"id": "pong", "type": "noop"}]
    }))
    .unwrap();
    first.put_workflow(ping.validate().unwrap(), None, None).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..a.events {
        let started = first.emit_event("bench.ping", json!({"i": i}), "bench", None).await.unwrap();
        ids.extend(started);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let until = Instant::now() + Duration::from_secs(120);
    while succeeded(&first, "bench-ping").await < ids.len() as i64 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut delays = Vec::new();
    for id in &ids {
        if let Some((run, steps)) = first.store.run_get(id).await.unwrap() {
            let (Some(created), Some(step)) = (app::core::parse_timestamp(&run.created_at), steps[0].started_at.as_deref().and_then(app::core::parse_timestamp)) else {
                continue;
            };
            delays.push((step - created).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    delays.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{label} replicas={} event-to-step delay over {} events: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        a.replicas,
        delays.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.9),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(f64::NAN)
    );
    println!("{label} replicas={} memory: VmRSS {:.0} MiB (this process, all replicas)", a.replicas, rss_mib());
    for e in engines {
        e.abort();
    }
    drop(replicas);
    drop(first);
    if let Some((pool, name)) = drop_pg {
        use sqlx::Executor;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = pool.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).await;
    }
}
