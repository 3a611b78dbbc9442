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

/// Opens the database and assembles the application state.
pub async fn state(config: config::Config) -> Result<web::AppState, store::ConnectError> {
    let store = store::connect(&config.database_url).await?;
    let auth = AuthConfig { secure_cookies: config.secure_cookies(), ..AuthConfig::default() };
    let mut services = Services::new(store, auth);
    services.engine = Arc::new(app::core::engine::Engine::new(config.workflow_lease));
    Ok(web::AppState { leptos_options: config.leptos.clone(), services, config: Arc::new(config) })
}
