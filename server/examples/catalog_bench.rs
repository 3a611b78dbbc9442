//! Catalog benchmark (issue 4, "Benchmark"): a program that prints figures, not a test.
//!
//!   cargo run --release -p server --example catalog_bench -- --entities 10000 [--database URL]
//!
//! Generates N entities with `demo_catalog::generated_catalog(N, 42)`, opens a fresh database
//! (an SQLite file in a temp dir, or a new `bench_<random>` database on the PostgreSQL server that
//! `--database postgres://…` names, dropped again at the end unless `--keep`), seeds the demo
//! organisation (users and teams, not the demo catalog) and then measures, server-side, through
//! the same `Services` methods the REST handlers and server functions call:
//!
//! - ingest: the YAML applied with `apply_catalog(Applier::System, …)` in chunks of `--chunk`
//!   documents (10,000 by default: a location refresh applies a whole repository at once; one
//!   REST request carries up to 1 MiB, about 1,400 documents), as entities/s (every document
//!   must be created). The generated YAML waits in a temporary file and each chunk is read from
//!   it just before it is applied, as a request body would arrive;
//! - the work an import leaves in the background (on PostgreSQL: fresh planner statistics, then a
//!   VACUUM once the catalog has been quiet for a second): how long after the import it is done,
//!   and the first list page's latency, called again and again until then;
//! - then latency over `--requests` calls each (as the demo `viewer`): the first list page, a two-facet
//!   filter (kind=Component, lifecycle=production), a deep page (the middle page at 50 per page)
//!   and get-by-reference on random existing references; p50/p90/p99/max;
//! - throughput with 16 concurrent tasks for the first page and the filter, `--seconds` each;
//! - where a list call's time goes (each store query of one first-page call, timed alone), where
//!   a search's goes (its three store queries alone, and the three words whose search was slowest,
//!   which is where a p99 comes from) and how much of ingest is parsing and validation (measured
//!   on the first chunks, without storage);
//! - resident memory (VmRSS, and the peak VmHWM) of this process at each stage; the peak is reset
//!   just before the ingest, so the peak during ingest is the server's own.
//!
//! Every phase is bounded: a latency series stops early (and says so) after `--budget` seconds.
//! All traffic stays in this process or goes to the database on 127.0.0.1.

use app::catalog::{derive_relations, parse_documents, validate};
use app::core::catalog::Applier;
use app::core::store::{CatalogFilter, Facet};
use app::core::{Caller, Principal, Services};
use app::core::search::Origin;
use app::types::{CatalogQuery, SearchQuery};
use server::demo_catalog::generated_catalog;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Args {
    entities: usize,
    database: Option<String>,
    requests: usize,
    chunk: usize,
    seconds: f64,
    budget: f64,
    concurrency: usize,
    keep: bool,
    ingest_only: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: catalog_bench [--entities N] [--database sqlite|postgres://…] [--requests N] [--chunk DOCS]\n\
         \x20                    [--seconds S] [--budget S] [--concurrency N] [--keep]\n\
         \x20 --entities     entities to generate and ingest (default 10000)\n\
         \x20 --database     'sqlite' (default: a file in a temp dir) or a postgres:// URL of a server on which\n\
         \x20                a fresh database bench_<random> is created (and dropped afterwards unless --keep)\n\
         \x20 --requests     calls per latency series (default 1000)\n\
         \x20 --chunk        documents per apply_catalog call during ingest (default 10000)\n\
         \x20 --seconds      duration of each throughput run (default 5)\n\
         \x20 --budget       time limit of each latency series in seconds (default 90); a series that hits it\n\
         \x20                is reported with the calls it made\n\
         \x20 --concurrency  concurrent tasks in the throughput runs (default 16)\n\
         \x20 --keep         keep the database (the SQLite path or the postgres database name is printed)\n\
         \x20 --ingest-only  stop after the ingest (for profiling it with perf or strace)"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        entities: 10_000,
        database: None,
        requests: 1000,
        chunk: 10_000,
        seconds: 5.0,
        budget: 90.0,
        concurrency: 16,
        keep: false,
        ingest_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--entities" | "-n" => a.entities = value().replace('_', "").parse().unwrap_or_else(|_| usage()),
            "--database" => a.database = Some(value()),
            "--requests" => a.requests = value().parse().unwrap_or_else(|_| usage()),
            "--chunk" => a.chunk = value().parse().unwrap_or_else(|_| usage()),
            "--seconds" => a.seconds = value().parse().unwrap_or_else(|_| usage()),
            "--budget" => a.budget = value().parse().unwrap_or_else(|_| usage()),
            "--concurrency" => a.concurrency = value().parse().unwrap_or_else(|_| usage()),
            "--keep" => a.keep = true,
            "--ingest-only" => a.ingest_only = true,
            "--help" | "-h" => usage(),
            _ => usage(),
        }
    }
    if a.entities == 0 || a.chunk == 0 || a.requests == 0 || a.concurrency == 0 {
        usage()
    }
    a
}

/// VmRSS and VmHWM of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// xorshift64*: enough randomness to pick references, without another dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Default)]
struct Series {
    name: String,
    calls: usize,
    errors: usize,
    truncated: bool,
    sorted: Vec<Duration>,
}

/// Calls `f(i)` up to `n` times (stopping after `budget`), timing each call.
async fn series<F, Fut>(name: &str, n: usize, budget: Duration, mut f: F) -> Series
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // A few warm-up calls (statement caches, page cache) that are not counted.
    for i in 0..5.min(n) {
        f(i).await;
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(n);
    let mut errors = 0;
    let mut truncated = false;
    for i in 0..n {
        if start.elapsed() > budget {
            truncated = true;
            break;
        }
        let t = Instant::now();
        if !f(i).await {
            errors += 1;
        }
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    let s = Series { name: name.into(), calls: samples.len(), errors, truncated, sorted: samples };
    println!(
        "    {:<34} n={:<5} p50 {:>8.2} ms  p99 {:>8.2} ms{}",
        s.name,
        s.calls,
        ms(pct(&s.sorted, 50.0)),
        ms(pct(&s.sorted, 99.0)),
        if s.truncated { "  (stopped at the time budget)" } else { "" }
    );
    s
}

/// Requests/s of `query` under `tasks` concurrent tasks for `seconds`.
async fn throughput(
    services: &Arc<Services>,
    caller: &Arc<Caller>,
    query: CatalogQuery,
    tasks: usize,
    seconds: f64,
) -> (f64, u64, Duration) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let query = Arc::new(query);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (services, caller, query, done, errors) =
            (services.clone(), caller.clone(), query.clone(), done.clone(), errors.clone());
        handles.push(tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            while Instant::now() < deadline {
                let t = Instant::now();
                match services.catalog_list(&caller, &query, true).await {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
                worst = worst.max(t.elapsed());
            }
            worst
        }));
    }
    let mut worst = Duration::ZERO;
    for h in handles {
        worst = worst.max(h.await.unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    (n as f64 / elapsed, errors.load(Ordering::Relaxed), worst)
}

/// Byte offsets where the generator's documents start (each begins with `---\n`).
fn document_starts(yaml: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    if yaml.starts_with("---\n") {
        starts.push(0);
    }
    starts.extend(yaml.match_indices("\n---\n").map(|(i, _)| i + 1));
    starts
}

/// A fresh database: (url, what to print, what to clean up).
enum Db {
    Sqlite { _dir: tempfile::TempDir, path: std::path::PathBuf },
    Postgres { admin_url: String, name: String },
}

async fn fresh_database(arg: Option<&str>) -> Result<(String, Db), String> {
    match arg {
        None | Some("sqlite") => {
            let dir = tempfile::Builder::new().prefix("catalog-bench.").tempdir().map_err(|e| e.to_string())?;
            let path = dir.path().join("bench.db");
            Ok((format!("sqlite://{}", path.display()), Db::Sqlite { _dir: dir, path }))
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            use sqlx::Executor;
            let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(url).await.map_err(|e| format!("cannot connect to {url}: {e}"))?;
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
            admin.close().await;
            let (base, _) = url.rsplit_once('/').ok_or("the postgres URL has no database path")?;
            Ok((format!("{base}/{name}"), Db::Postgres { admin_url: url.to_string(), name }))
        }
        Some(other) => Err(format!("--database must be 'sqlite' or a postgres:// URL, not '{other}'")),
    }
}

fn sqlite_bytes(path: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::main]
async fn main() {
    server::keep_memory_lean();
    let args = parse_args();
    if let Err(e) = run(args).await {
        eprintln!("catalog_bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let n = args.entities;
    let budget = Duration::from_secs_f64(args.budget);
    let (rss_start, _) = memory();

    // ---- database ----
    let (url, db) = fresh_database(args.database.as_deref()).await?;
    let kind = match db {
        Db::Sqlite { .. } => "sqlite",
        Db::Postgres { .. } => "postgres",
    };
    let shown = match &db {
        Db::Sqlite { path, .. } => path.display().to_string(),
        Db::Postgres { name, .. } => format!("database {name}"),
    };
    println!(
        "==> catalog benchmark: {n} entities on {kind} ({shown}); {} cores",
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    let store = server::store::connect(&url).await.map_err(|e| e.to_string())?;
    let services = Arc::new(Services::new(store, app::core::service::AuthConfig::default()));
    let t = Instant::now();
    server::seed::seed_demo(&services).await.map_err(|e| format!("seed_demo: {e:?}"))?;
    println!(
        "    demo organisation seeded in {:.1} s (users and teams; the demo catalog is not loaded)",
        t.elapsed().as_secs_f64()
    );
    // Seeding hashes five passwords with argon2id (19 MiB each, on blocking threads whose malloc
    // arenas keep the memory), so this is the baseline the catalog adds to.
    let (rss_seeded, _) = memory();

    // ---- generate ----
    let t = Instant::now();
    let yaml = generated_catalog(n, 42);
    let generate_s = t.elapsed().as_secs_f64();
    let mut starts = document_starts(&yaml);
    if starts.len() != n {
        return Err(format!("the generator wrote {} documents, expected {n}", starts.len()));
    }
    let (rss_generated, _) = memory();
    println!(
        "==> generated {n} documents ({:.1} MB of YAML) in {generate_s:.2} s; RSS {rss_generated:.0} MiB",
        yaml.len() as f64 / 1e6
    );
    starts.push(yaml.len());
    // The YAML waits in a file and is read a chunk at a time, as request bodies would arrive: the
    // memory measured from here on is the server's own (plus the chunk being applied).
    let yaml_file = tempfile::tempfile().map_err(|e| format!("temporary file for the YAML: {e}"))?;
    std::os::unix::fs::FileExt::write_all_at(&yaml_file, yaml.as_bytes(), 0).map_err(|e| format!("writing the YAML: {e}"))?;
    drop(yaml);
    let ranges: Vec<(usize, usize)> =
        (0..n).step_by(args.chunk).map(|i| (starts[i], starts[(i + args.chunk).min(n)])).collect();
    let read_chunk = |(from, to): (usize, usize)| -> Result<String, String> {
        let mut bytes = vec![0; to - from];
        std::os::unix::fs::FileExt::read_exact_at(&yaml_file, &mut bytes, from as u64).map_err(|e| format!("reading the YAML: {e}"))?;
        String::from_utf8(bytes).map_err(|e| e.to_string())
    };

    // ---- CPU share of ingest: parse + validate + relations + JSON body, no storage ----
    let samples = ranges.iter().take(5).map(|r| read_chunk(*r)).collect::<Result<Vec<String>, String>>()?;
    let t = Instant::now();
    let mut sampled = 0usize;
    for chunk in &samples {
        for entity in parse_documents(chunk).into_iter().flatten() {
            let problems = validate(&entity);
            let relations = derive_relations(&entity);
            let body = serde_json::to_string(&entity).unwrap_or_default();
            std::hint::black_box((problems, relations, body));
            sampled += 1;
        }
    }
    let cpu_per_entity_us = t.elapsed().as_secs_f64() * 1e6 / sampled.max(1) as f64;
    drop(samples);
    // The peak (VmHWM) from here on is the ingest's alone.
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        println!("    (the peak RSS cannot be reset here, {e}: it includes the generator's)");
    }
    let (rss_before_ingest, _) = memory();

    // ---- ingest ----
    println!("==> ingest: apply_catalog(System) in {} chunks of up to {} documents", ranges.len(), args.chunk);
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut sample_refs: Vec<String> = Vec::new();
    let (mut created, mut failed, mut warnings) = (0usize, 0usize, 0usize);
    let mut first_error: Option<String> = None;
    let t_ingest = Instant::now();
    let mut last_print = Instant::now();
    for (ci, range) in ranges.iter().enumerate() {
        let chunk = read_chunk(*range)?;
        let report = services
            .apply_catalog(Applier::System, &chunk, "bench")
            .await
            .map_err(|e| format!("apply_catalog chunk {ci}: {e:?}"))?;
        created += report.created;
        failed += report.failed + report.updated + report.unchanged;
        for d in &report.documents {
            warnings += d.warnings.len();
            if d.outcome == "error" && first_error.is_none() {
                first_error = Some(format!("{:?}: {:?}", d.entity_ref, d.errors));
            }
            // Reservoir of up to 4096 references for get-by-reference.
            if let Some(r) = &d.entity_ref {
                if sample_refs.len() < 4096 {
                    sample_refs.push(r.clone());
                } else {
                    let j = rng.below(created.max(1));
                    if j < 4096 {
                        sample_refs[j] = r.clone();
                    }
                }
            }
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            let done = (ci + 1) * args.chunk;
            let s = t_ingest.elapsed().as_secs_f64();
            println!(
                "    {:>8} documents in {s:>6.1} s ({:.0} entities/s so far)",
                done.min(n),
                done.min(n) as f64 / s
            );
            last_print = Instant::now();
        }
    }
    let ingest_s = t_ingest.elapsed().as_secs_f64();
    let ingest_rate = created as f64 / ingest_s;
    drop(yaml_file);
    let (rss_ingest, hwm_ingest) = memory();
    println!(
        "    {created} created, {failed} not created, {warnings} warnings in {ingest_s:.2} s = {ingest_rate:.0} entities/s \
         (parse+validate alone: {cpu_per_entity_us:.0} µs/entity = {:.0} entities/s on one core)",
        1e6 / cpu_per_entity_us
    );
    println!(
        "    memory (RSS): {rss_before_ingest:.0} MiB before the ingest, {hwm_ingest:.0} MiB at its peak, {rss_ingest:.0} MiB after it"
    );
    if failed != 0 {
        return Err(format!("{failed} documents were not created; first error: {}", first_error.unwrap_or_default()));
    }
    if args.ingest_only {
        drop(services);
        return clean_up(db, args.keep).await;
    }

    // ---- caller: the demo viewer, built like seed.rs builds the admin caller ----
    let viewer =
        services.store.user_by_username("viewer").await.map_err(|e| format!("{e:?}"))?.ok_or("no viewer user")?;
    let memberships = services.store.memberships_of(&viewer.id).await.map_err(|e| format!("{e:?}"))?;
    let caller = Arc::new(Caller {
        principal: Some(Principal { user: viewer, memberships, token_id: None }),
        request_id: "bench".into(),
        session_hash: None,
    });

    let first_page = CatalogQuery::default();
    let filter =
        CatalogQuery { kind: Some("Component".into()), lifecycle: Some("production".into()), ..Default::default() };

    // ---- right after the import: the first page, while the work it left in the background
    // (PostgreSQL: statistics, then a VACUUM once the catalog is quiet for a second) runs ----
    let mut during = Series { name: "first list page, while maintenance runs".into(), ..Series::default() };
    {
        let settled = services.store.catalog_settled();
        tokio::pin!(settled);
        let mut done = false;
        while !done && during.calls < 100 * args.requests {
            done = futures_util::FutureExt::now_or_never(&mut settled).is_some();
            if !done {
                let t = Instant::now();
                if services.catalog_list(&caller, &first_page, true).await.is_err() {
                    during.errors += 1;
                }
                during.sorted.push(t.elapsed());
                during.calls += 1;
            }
        }
        if !done {
            settled.await;
        }
    }
    let settle = (during.calls > 0).then(|| format!("{:.2} s", t_ingest.elapsed().as_secs_f64() - ingest_s));
    during.sorted.sort_unstable();
    if let Some(settle) = &settle {
        println!(
            "==> background work after the import done {settle} after it; meanwhile {} first-page calls: p50 {:.2} ms, p99 {:.2} ms",
            during.calls,
            ms(pct(&during.sorted, 50.0)),
            ms(pct(&during.sorted, 99.0))
        );
    } else {
        println!("==> nothing ran in the background after the import");
    }
    let probe = services.catalog_list(&caller, &first_page, true).await.map_err(|e| format!("catalog_list: {e:?}"))?;
    let filtered = services.catalog_list(&caller, &filter, true).await.map_err(|e| format!("catalog_list: {e:?}"))?;
    let last_page = (probe.total + 49) / 50;
    let deep = CatalogQuery { page: Some((last_page / 2).max(1)), page_size: Some(50), ..Default::default() };
    println!(
        "==> latency, server-side, {} calls each as 'viewer' (catalog total {}, filter matches {}, deep page {} of {last_page})",
        args.requests,
        probe.total,
        filtered.total,
        (last_page / 2).max(1)
    );

    // Part of a real name (its first six characters), as someone types it.
    let search_words: Arc<Vec<String>> =
        Arc::new(sample_refs.iter().map(|r| r.rsplit('/').next().unwrap_or(r).chars().take(6).collect()).collect());
    let mut all = Vec::new();
    {
        let (s, c, q) = (services.clone(), caller.clone(), first_page.clone());
        all.push(
            series("first list page", args.requests, budget, |_| {
                let (s, c, q) = (s.clone(), c.clone(), q.clone());
                async move { s.catalog_list(&c, &q, true).await.is_ok() }
            })
            .await,
        );
    }
    {
        let (s, c, q) = (services.clone(), caller.clone(), filter.clone());
        all.push(
            series("kind=Component & lifecycle=production", args.requests, budget, |_| {
                let (s, c, q) = (s.clone(), c.clone(), q.clone());
                async move { s.catalog_list(&c, &q, true).await.is_ok() }
            })
            .await,
        );
    }
    {
        let (s, c, q) = (services.clone(), caller.clone(), deep.clone());
        all.push(
            series("deep page (middle, 50 per page)", args.requests, budget, |_| {
                let (s, c, q) = (s.clone(), c.clone(), q.clone());
                async move { s.catalog_list(&c, &q, true).await.is_ok() }
            })
            .await,
        );
    }
    {
        let (s, c, q) = (services.clone(), caller.clone(), first_page.clone());
        all.push(
            series("first list page, counts not cached", args.requests, budget, |_| {
                let (s, c, q) = (s.clone(), c.clone(), q.clone());
                async move {
                    s.counts.clear();
                    s.catalog_list(&c, &q, true).await.is_ok()
                }
            })
            .await,
        );
    }
    {
        // Logged like a search from the search page.
        let (s, c) = (services.clone(), caller.clone());
        let words = search_words.clone();
        let mut pick = Rng(0x5ea7_c4ed_0042_0002);
        let order: Vec<usize> = (0..args.requests + 5).map(|_| pick.below(words.len())).collect();
        all.push(
            series("search (part of a name)", args.requests, budget, |i| {
                let (s, c) = (s.clone(), c.clone());
                let q = SearchQuery { q: words[order[i]].clone(), ..Default::default() };
                async move { s.search(&c, &q, Origin::Page).await.is_ok() }
            })
            .await,
        );
    }
    {
        let (s, c) = (services.clone(), caller.clone());
        let refs = Arc::new(sample_refs);
        let mut pick = Rng(0x0bad_cafe_0042_0001);
        let order: Vec<usize> = (0..args.requests + 5).map(|_| pick.below(refs.len())).collect();
        all.push(
            series("get by reference (random)", args.requests, budget, |i| {
                let (s, c, r) = (s.clone(), c.clone(), refs[order[i]].clone());
                async move { s.catalog_entity(&c, &r).await.is_ok() }
            })
            .await,
        );
    }
    let (rss_latency, _) = memory();

    // ---- where one first-page call goes: each store query alone ----
    let store = services.store.clone();
    let reps = 50usize;
    let mut breakdown: Vec<(String, f64)> = Vec::new();
    for (label, q) in [("first page", &first_page), ("filter", &filter)] {
        let f = CatalogFilter {
            kind: q.kind.clone(),
            lifecycle: q.lifecycle.clone(),
            offset: 0,
            limit: 50,
            ..Default::default()
        };
        let time = |d: &mut Vec<Duration>| {
            d.sort_unstable();
            ms(pct(d, 50.0))
        };
        let mut d = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            let _ = store.catalog_count(&f).await;
            let _ = store.catalog_page(&f).await;
            d.push(t.elapsed());
            if t.elapsed() > budget / 20 {
                break;
            }
        }
        breakdown.push((format!("{label}: count + page + tags"), time(&mut d)));
        for facet in Facet::ALL {
            let mut d = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                let _ = store.catalog_facet(facet, &f).await;
                d.push(t.elapsed());
                if t.elapsed() > budget / 20 {
                    break;
                }
            }
            breakdown.push((format!("{label}: facet {facet:?}"), time(&mut d)));
        }
    }
    // ---- where one search goes: each store query alone, and the search not logged ----
    {
        use app::core::store::SearchSpec;
        let mut times: [Vec<Duration>; 4] = Default::default();
        for (i, w) in search_words.iter().take(200).enumerate() {
            let spec = SearchSpec { terms: vec![w.clone()], fuzzy: false, kind: None, limit: 200 };
            let t = Instant::now();
            let _ = store.search_by_name(w, None, 20).await;
            times[0].push(t.elapsed());
            let t = Instant::now();
            let _ = store.search(&spec).await;
            times[1].push(t.elapsed());
            let t = Instant::now();
            let _ = store.search_counts(&spec).await;
            times[2].push(t.elapsed());
            let t = Instant::now();
            let q = SearchQuery { q: w.clone(), ..Default::default() };
            let _ = services.search(&caller, &q, Origin::Unlogged).await;
            let took = t.elapsed();
            times[3].push(took);
            if i > 0 && took > budget / 20 {
                break;
            }
        }
        // Which words make the tail: the slowest whole searches (times[3] follows search_words).
        let mut slowest: Vec<(Duration, &String)> = times[3].iter().copied().zip(search_words.iter()).collect();
        slowest.sort_unstable_by(|a, b| b.cmp(a));
        // A word drawn twice is named once, at its slowest.
        let mut named = std::collections::HashSet::new();
        slowest.retain(|(_, w)| named.insert(*w));
        for (label, mut d) in ["search: names by prefix (20)", "search: substring matches (200)", "search: counts per kind", "search: whole search, not logged"]
            .into_iter()
            .zip(times)
        {
            d.sort_unstable();
            breakdown.push((label.to_string(), ms(pct(&d, 50.0))));
        }
        for (took, w) in slowest.iter().take(3) {
            breakdown.push((format!("search: slowest word '{w}' (one call)"), ms(*took)));
        }
    }

    // ---- throughput ----
    println!("==> throughput: {} concurrent tasks, {:.0} s each", args.concurrency, args.seconds);
    let (tp_first, err_first, worst_first) =
        throughput(&services, &caller, first_page.clone(), args.concurrency, args.seconds).await;
    println!(
        "    first list page  {tp_first:>8.1} requests/s  (errors {err_first}, slowest {:.1} ms)",
        ms(worst_first)
    );
    let (tp_filter, err_filter, worst_filter) =
        throughput(&services, &caller, filter.clone(), args.concurrency, args.seconds).await;
    println!(
        "    two-facet filter {tp_filter:>8.1} requests/s  (errors {err_filter}, slowest {:.1} ms)",
        ms(worst_filter)
    );
    let (rss_end, hwm_end) = memory();

    let size = match &db {
        Db::Sqlite { path, .. } => format!("{:.0} MB on disk", sqlite_bytes(path) as f64 / 1e6),
        Db::Postgres { .. } => {
            let pool = sqlx::PgPool::connect(&url).await.map_err(|e| e.to_string())?;
            let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                .fetch_one(&pool)
                .await
                .map_err(|e| e.to_string())?;
            pool.close().await;
            format!("{:.0} MB on disk", bytes as f64 / 1e6)
        }
    };

    // ---- report ----
    println!();
    println!("==> results: {kind}, N = {n} ({size}; {} latency calls per row, as 'viewer')", args.requests);
    println!("    {:<40} {:>12}", "ingest (apply_catalog, System)", format!("{ingest_rate:.0} ent/s"));
    println!("    {:<40} {:>12}", "ingest wall time", format!("{ingest_s:.2} s"));
    println!(
        "    {:<40} {:>12}",
        "  of which parse+validate (est.)",
        format!("{:.2} s", cpu_per_entity_us * n as f64 / 1e6)
    );
    println!("    {:<40} {:>12}", "then background work (ANALYZE, VACUUM)", settle.as_deref().unwrap_or("none"));
    println!(
        "    {:<40} {:>7} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "latency (ms)", "n", "p50", "p90", "p99", "max", "errors"
    );
    let window = (during.calls > 0).then_some(&during);
    for s in window.into_iter().chain(&all) {
        println!(
            "    {:<40} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>6}{}",
            s.name,
            s.calls,
            ms(pct(&s.sorted, 50.0)),
            ms(pct(&s.sorted, 90.0)),
            ms(pct(&s.sorted, 99.0)),
            ms(pct(&s.sorted, 100.0)),
            s.errors,
            if s.truncated { "  (time budget hit)" } else { "" }
        );
    }
    println!(
        "    {:<40} {:>12}",
        format!("throughput, first page ({} tasks)", args.concurrency),
        format!("{tp_first:.1} req/s")
    );
    println!(
        "    {:<40} {:>12}",
        format!("throughput, filter ({} tasks)", args.concurrency),
        format!("{tp_filter:.1} req/s")
    );
    println!("    {:<40} {:>12}", "RSS at start", format!("{rss_start:.0} MiB"));
    println!("    {:<40} {:>12}", "RSS after connect + seed (argon2)", format!("{rss_seeded:.0} MiB"));
    println!("    {:<40} {:>12}", "RSS with the YAML generated", format!("{rss_generated:.0} MiB"));
    println!("    {:<40} {:>12}", "RSS before ingest (YAML in a file)", format!("{rss_before_ingest:.0} MiB"));
    println!("    {:<40} {:>12}", "peak RSS (VmHWM) during ingest", format!("{hwm_ingest:.0} MiB"));
    println!("    {:<40} {:>12}", "RSS after ingest", format!("{rss_ingest:.0} MiB"));
    println!("    {:<40} {:>12}", "RSS after the latency runs", format!("{rss_latency:.0} MiB"));
    println!("    {:<40} {:>12}", "RSS after throughput (peak)", format!("{rss_end:.0} MiB ({hwm_end:.0})"));
    println!("    median of each store query of one list call or search, and the slowest search words (ms):");
    for (label, v) in &breakdown {
        println!("      {label:<42} {v:>9.2}");
    }
    let sum = |prefix: &str| breakdown.iter().filter(|(l, _)| l.starts_with(prefix)).map(|(_, v)| v).sum::<f64>();
    println!("      {:<42} {:>9.2}", "sum, first page (10 queries)", sum("first page"));
    println!("      {:<42} {:>9.2}", "sum, filter (10 queries)", sum("filter"));

    drop(services);
    clean_up(db, args.keep).await
}

/// Removes the benchmark's database, or says where it is with `--keep`.
async fn clean_up(db: Db, keep: bool) -> Result<(), String> {
    match db {
        Db::Sqlite { _dir, path } => {
            if keep {
                let kept = _dir.keep();
                println!("    kept {} (in {})", path.display(), kept.display());
            }
        }
        Db::Postgres { admin_url, name } => {
            if keep {
                println!("    kept postgres database {name}");
            } else {
                use sqlx::Executor;
                let admin = sqlx::PgPool::connect(&admin_url).await.map_err(|e| e.to_string())?;
                if let Err(e) =
                    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await
                {
                    eprintln!("    warning: could not drop {name}: {e}");
                }
                admin.close().await;
            }
        }
    }
    Ok(())
}
