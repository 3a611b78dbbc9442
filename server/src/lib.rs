//! The `platform` server: configuration, the two stores, the HTTP surface (pages, server
//! functions, REST API, health, metrics), demo seeding and the command line.

// The router's nested service and view types need more room than the default to lay out.
#![recursion_limit = "256"]

pub mod cli;
pub mod config;
pub mod demo_catalog;
pub mod rest;
pub mod runs_api;
pub mod seed;
pub mod steps;
pub mod store;
pub mod web;

use app::core::service::AuthConfig;
use app::core::Services;
use std::sync::Arc;

/// Keeps freed memory from staying resident (glibc's allocator; elsewhere nothing changes). By
/// default glibc gives threads memory arenas of their own, up to eight per core, and keeps what
/// they free; and it raises its threshold for returning large blocks to the system each time
/// one is freed, so an import's transient buffers end up kept for good. Two arenas and a fixed
/// 1 MiB threshold: after a 10k-entity import the process holds 122 MiB instead of 268 MiB,
/// at the same speed. Small blocks freed in the middle of the heap still stay: a thread looks
/// every few seconds and gives them back when more than 32 MiB are free (after a 250k-entity
/// import on SQLite, 323 MiB resident become 105 MiB). Call first thing in `main`.
pub fn keep_memory_lean() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
        static TRIMMER: std::sync::Once = std::sync::Once::new();
        TRIMMER.call_once(|| {
            let spawned = std::thread::Builder::new().name("memory-trim".into()).spawn(|| loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                // SAFETY: both only read and release the allocator's own free lists.
                unsafe {
                    if libc::mallinfo2().fordblks > 32 << 20 {
                        libc::malloc_trim(0);
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no memory trimming thread; freed memory stays with the process");
            }
        });
    }
}

/// Opens the database and assembles the application state.
pub async fn state(config: config::Config) -> Result<web::AppState, store::ConnectError> {
    let store = store::connect(&config.database_url).await?;
    let auth = AuthConfig { secure_cookies: config.secure_cookies(), ..AuthConfig::default() };
    let mut services = Services::new(store, auth);
    services.engine = Arc::new(app::core::engine::Engine::new(config.workflow_lease));
    Ok(web::AppState { leptos_options: config.leptos.clone(), services, config: Arc::new(config) })
}
