//! Runtime configuration: environment variables for the deployment, `Leptos.toml` for the site.
//! A bad value stops the start with one line naming the setting.

use leptos::config::LeptosOptions;
use std::net::SocketAddr;

#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://path` (default `sqlite://data/platform.db`) or `postgres://…`.
    pub database_url: String,
    /// `PLATFORM_ADDR`: where to listen (default: Leptos.toml's `site-addr`, 127.0.0.1:3000).
    pub addr: SocketAddr,
    /// `PLATFORM_DEMO`: seed the demo organisation into an empty database (default true).
    pub seed_demo: bool,
    /// `PLATFORM_PUBLIC_URL`: the address people use; `https://…` turns on Secure cookies and is
    /// accepted as a request origin.
    pub public_url: Option<String>,
    /// `PLATFORM_MAX_BODY_BYTES`: largest request body accepted (default 1 MiB).
    pub max_body_bytes: usize,
    /// `PLATFORM_WORKFLOW_LEASE_SECS`: how long a replica holds a workflow run without renewing
    /// it (default 15); a dead replica's runs are picked up after this.
    pub workflow_lease: std::time::Duration,
    /// `PLATFORM_LOG_FORMAT`: `json` or `text` (default: json unless stdout is a terminal).
    pub json_logs: bool,
    pub leptos: LeptosOptions,
}

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

fn bad(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { setting, message: message.into() }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(setting: &'static str, default: bool) -> Result<bool, ConfigError> {
    match var(setting).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(bad(setting, format!("expected true or false, got '{other}'"))),
    }
}

/// The repository's Leptos.toml, built in: the defaults when the binary runs away from the checkout.
const BUILT_IN_LEPTOS_TOML: &str = include_str!("../../Leptos.toml");

/// Site options: Leptos.toml in the working directory (or the file named by
/// `PLATFORM_LEPTOS_TOML`), else the copy built into the binary; `LEPTOS_*` variables on top.
pub fn leptos_options() -> Result<LeptosOptions, ConfigError> {
    let path = var("PLATFORM_LEPTOS_TOML").unwrap_or_else(|| "Leptos.toml".into());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if var("PLATFORM_LEPTOS_TOML").is_some() => return Err(bad("PLATFORM_LEPTOS_TOML", format!("cannot read {path}"))),
        Err(_) => BUILT_IN_LEPTOS_TOML.to_string(),
    };
    leptos::config::get_config_from_str(&text).map_err(|e| bad("Leptos.toml", e.to_string()))
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        use std::io::IsTerminal;
        let leptos = leptos_options()?;
        let addr = match var("PLATFORM_ADDR") {
            Some(a) => a.parse().map_err(|_| bad("PLATFORM_ADDR", format!("expected host:port like 127.0.0.1:3000, got '{a}'")))?,
            None => leptos.site_addr,
        };
        let max_body_bytes = match var("PLATFORM_MAX_BODY_BYTES") {
            Some(v) => v.parse().map_err(|_| bad("PLATFORM_MAX_BODY_BYTES", format!("expected a number of bytes, got '{v}'")))?,
            None => 1 << 20,
        };
        let workflow_lease = match var("PLATFORM_WORKFLOW_LEASE_SECS") {
            Some(v) => match v.parse::<u64>() {
                Ok(secs @ 1..=3600) => std::time::Duration::from_secs(secs),
                _ => return Err(bad("PLATFORM_WORKFLOW_LEASE_SECS", format!("expected whole seconds between 1 and 3600, got '{v}'"))),
            },
            None => app::core::engine::DEFAULT_LEASE,
        };
        let public_url = var("PLATFORM_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = public_url.as_ref().filter(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return Err(bad("PLATFORM_PUBLIC_URL", format!("expected http://… or https://…, got '{u}'")));
        }
        let json_logs = match var("PLATFORM_LOG_FORMAT").as_deref() {
            None => !std::io::stdout().is_terminal(),
            Some("json") => true,
            Some("text") => false,
            Some(other) => return Err(bad("PLATFORM_LOG_FORMAT", format!("expected json or text, got '{other}'"))),
        };
        Ok(Config {
            database_url: var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/platform.db".into()),
            addr,
            seed_demo: flag("PLATFORM_DEMO", true)?,
            public_url,
            max_body_bytes,
            workflow_lease,
            json_logs,
            leptos,
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}
