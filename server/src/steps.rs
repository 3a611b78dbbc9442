//! Step types that reach outside the database: `http` (a signed HTTP call) and `git` (a tag or
//! a branch in a repository on this machine). Both honour the step's idempotency key: the HTTP
//! call sends it as `Idempotency-Key` and `X-Platform-Delivery` (the portal's own webhooks
//! ignore a replayed delivery), and the git step finds its own earlier work and does not redo it.

use app::core::engine::{StepAction, StepCx};
use app::workflow::machine::Failure;
use async_trait::async_trait;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{header, Method, Request};
use serde_json::{json, Value};
use std::sync::Arc;

/// Registers the step types of this module with the engine. `self_url` is where this portal
/// listens, for HTTP steps whose `url` starts with `/` (the portal's own API).
pub fn register(services: &app::core::Services, self_url: &str) {
    services.engine.register("http", Arc::new(Http { self_url: self_url.trim_end_matches('/').to_string() }));
    services.engine.register("git", Arc::new(Git));
}

/// One HTTP/1.1 request with a body; the status and the first 64 KiB of the answer.
pub async fn http_call(url: &str, method: &str, headers: &[(String, String)], body: Vec<u8>) -> Result<(u16, String), Failure> {
    let uri: hyper::Uri = url.parse().map_err(|_| Failure::permanent(format!("`url` is not an address: {url}")))?;
    if uri.scheme_str() == Some("https") {
        return Err(Failure::permanent(
            "https:// is not supported by this build's HTTP step (no TLS library); call an http:// endpoint, e.g. through a local TLS proxy",
        ));
    }
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(Failure::permanent(format!("`url` must be an http:// address, got {url}")));
    }
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| Failure::permanent(format!("unknown method {method}")))?;
    let host = uri.host().unwrap_or_default().to_string();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| Failure::retryable(format!("cannot connect to {host}:{port}: {e}")))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| Failure::retryable(format!("HTTP handshake with {host}:{port} failed: {e}")))?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(header::HOST, uri.authority().map(|a| a.as_str()).unwrap_or(&host))
        .header(header::USER_AGENT, "platform-workflow")
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| Failure::permanent(format!("bad request: {e}")))?;
    let res = sender.send_request(req).await.map_err(|e| Failure::retryable(format!("{url}: {e}")))?;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.map_err(|e| Failure::retryable(format!("{url}: reading the answer: {e}")))?.to_bytes();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]).into_owned();
    Ok((status, text))
}

/// `http`: `url` (http://, or `/path` on this portal), `method` (POST), `body` (JSON),
/// `headers`, `sign_with` (a webhook source whose secret signs the body), `undo` (`url`,
/// `method`, `body` of the compensating call). 2xx succeeds; 408, 429, 5xx and network errors
/// are retried; other answers fail for good.
struct Http {
    self_url: String,
}

impl Http {
    async fn call(&self, cx: &StepCx, spec: &Value, key: &str) -> Result<Value, Failure> {
        let url = spec.get("url").and_then(Value::as_str).ok_or_else(|| Failure::permanent("`url` is required"))?;
        let url = if url.starts_with('/') { format!("{}{url}", self.self_url) } else { url.to_string() };
        let method = spec.get("method").and_then(Value::as_str).unwrap_or("POST");
        let body = serde_json::to_vec(spec.get("body").unwrap_or(&json!({}))).map_err(|e| Failure::permanent(e.to_string()))?;
        let mut headers: Vec<(String, String)> = vec![("Idempotency-Key".into(), key.into()), ("X-Platform-Delivery".into(), key.into())];
        if let Some(extra) = spec.get("headers").and_then(Value::as_object) {
            headers.extend(extra.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))));
        }
        if let Some(source) = cx.input.get("sign_with").and_then(Value::as_str) {
            let found = cx.services.store.webhook_source(source).await.map_err(|e| Failure::retryable(e.to_string()))?;
            let (_, secret) = found.ok_or_else(|| Failure::permanent(format!("`sign_with`: there is no webhook source '{source}'")))?;
            headers.push(("X-Platform-Signature".into(), app::core::workflows::sign(&secret, &body)));
        }
        cx.log(format!("{method} {url}")).await;
        let (status, text) = http_call(&url, method, &headers, body).await?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text.chars().take(2000).collect()));
        cx.log(format!("{url} answered {status}")).await;
        match status {
            200..=299 => Ok(json!({"status": status, "body": answer})),
            408 | 429 | 500..=599 => Err(Failure::retryable(format!("{url} answered {status}"))),
            _ => Err(Failure::permanent(format!("{url} answered {status}: {}", answer.to_string().chars().take(300).collect::<String>()))),
        }
    }
}

#[async_trait]
impl StepAction for Http {
    async fn run(&self, cx: &StepCx) -> Result<Value, Failure> {
        self.call(cx, &cx.input, &cx.key).await
    }

    async fn undo(&self, cx: &StepCx, _output: &Value) -> Result<(), Failure> {
        match cx.input.get("undo") {
            Some(spec) if spec.is_object() => self.call(cx, spec, &cx.key).await.map(|_| ()),
            _ => Ok(()),
        }
    }
}

/// `git`: `repo` (a folder on this machine), `tag` or `branch` (the name), `message`.
/// Creating what already exists at the same commit succeeds (the step ran before); undone by
/// deleting the tag or branch.
struct Git;

/// Runs `git -C repo args…` as the platform's identity; its output, or stderr as the failure.
pub fn git(repo: &str, args: &[&str]) -> Result<String, Failure> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "user.name=Platform workflow", "-c", "user.email=workflow@platform.local"])
        .args(args)
        .output()
        .map_err(|e| Failure::permanent(format!("cannot run git: {e} (is git installed?)")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(Failure::permanent(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())))
    }
}

fn git_target(input: &Value) -> Result<(String, &'static str, String), Failure> {
    let repo = input.get("repo").and_then(Value::as_str).ok_or_else(|| Failure::permanent("`repo` (a folder on this machine) is required"))?;
    let (kind, name) = match (input.get("tag").and_then(Value::as_str), input.get("branch").and_then(Value::as_str)) {
        (Some(t), None) => ("tag", t),
        (None, Some(b)) => ("branch", b),
        _ => return Err(Failure::permanent("give either `tag` or `branch`")),
    };
    if name.is_empty() || name.starts_with('-') || name.contains("..") || name.chars().any(|c| c.is_whitespace() || "~^:?*[\\".contains(c)) {
        return Err(Failure::permanent(format!("'{name}' is not a valid git {kind} name")));
    }
    Ok((repo.to_string(), kind, name.to_string()))
}

#[async_trait]
impl StepAction for Git {
    async fn run(&self, cx: &StepCx) -> Result<Value, Failure> {
        let (repo, kind, name) = git_target(&cx.input)?;
        let message = cx.input.get("message").and_then(Value::as_str).unwrap_or("Created by a platform workflow").to_string();
        let key = cx.key.clone();
        let (r, k, n) = (repo.clone(), kind, name.clone());
        let result = tokio::task::spawn_blocking(move || -> Result<(String, bool), Failure> {
            let head = git(&r, &["rev-parse", "HEAD"])?;
            let reference = if k == "tag" { format!("refs/tags/{n}") } else { format!("refs/heads/{n}") };
            if let Ok(existing) = git(&r, &["rev-parse", &format!("{reference}^{{commit}}")]) {
                return if existing == head {
                    Ok((head, false))
                } else {
                    Err(Failure::permanent(format!("{k} '{n}' already exists at another commit ({existing})")))
                };
            }
            if k == "tag" {
                git(&r, &["tag", "-a", &n, "-m", &format!("{message}\n\nPlatform-Step: {key}")])?;
            } else {
                git(&r, &["branch", &n])?;
            }
            Ok((head, true))
        })
        .await
        .map_err(|e| Failure::retryable(e.to_string()))??;
        let (commit, created) = result;
        cx.log(if created { format!("Created {kind} '{name}' at {commit} in {repo}") } else { format!("{kind} '{name}' was already there (an earlier attempt made it)") })
            .await;
        Ok(json!({"repo": repo, kind: name, "commit": commit}))
    }

    async fn undo(&self, cx: &StepCx, _output: &Value) -> Result<(), Failure> {
        let (repo, kind, name) = git_target(&cx.input)?;
        let (r, n) = (repo.clone(), name.clone());
        let deleted = tokio::task::spawn_blocking(move || -> Result<bool, Failure> {
            let reference = if kind == "tag" { format!("refs/tags/{n}") } else { format!("refs/heads/{n}") };
            if git(&r, &["rev-parse", "--verify", "--quiet", &reference]).is_err() {
                return Ok(false);
            }
            if kind == "tag" {
                git(&r, &["tag", "-d", &n])?;
            } else {
                git(&r, &["branch", "-D", &n])?;
            }
            Ok(true)
        })
        .await
        .map_err(|e| Failure::retryable(e.to_string()))??;
        cx.log(if deleted { format!("Deleted {kind} '{name}' in {repo}") } else { format!("{kind} '{name}' was already gone") }).await;
        Ok(())
    }
}
