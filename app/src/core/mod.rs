//! Server-only domain core: the storage interface, the services that every server function and
//! REST handler call, and the pure pieces they use (password and token handling, the audit hash
//! chain). Compiled only with the `ssr` feature; it never imports sqlx — the `server` crate
//! implements [`store::Store`] for SQLite and PostgreSQL.

pub mod audit;
pub mod catalog;
pub mod docs;
pub mod engine;
pub mod locations;
pub mod search;
pub mod secrets;
pub mod service;
pub mod store;
pub mod workflows;

pub use service::{Caller, Principal, Services};
pub use store::{Store, StoreError};

/// Current time as the fixed-width RFC 3339 text stored in every timestamp column
/// (`2026-11-26T19:40:00.123Z`), so that text order is time order on both databases.
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_timestamp(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
