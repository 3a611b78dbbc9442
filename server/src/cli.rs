//! The command-line client: `platform catalog apply|get|export`, `platform search`,
//! `platform workflow …` and `platform run …`, talking
//! to a running portal's REST API with an API token (`PLATFORM_TOKEN`, from the Account page).
//! Exit status: 0 done, 1 the portal refused or a document failed, 2 a usage or connection
//! problem.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{header, Method, Request, StatusCode};
use std::process::ExitCode;

pub const USAGE: &str = "\
  platform catalog apply -f FILE  apply catalog YAML (FILE, or - for standard input); one line
                                  per document: created, updated, unchanged or its errors
  platform catalog get REF        print an entity's descriptor as YAML (REF: kind:namespace/name
                                  or kind:name)
  platform catalog export [--kind K] [--owner REF] [--type T] [--lifecycle L] [--tag T]
                                  [--system REF] [--namespace N]
                                  print the (filtered) catalog as YAML that applies back
  platform search TEXT… [--kind K]
                                  search entities and docs; prints rank, kind, title, address
  platform workflow list          the workflows: name, title, what starts them
  platform workflow apply -f FILE create or replace a workflow from YAML (Platform Admins)
  platform run start WORKFLOW [--team T] [--input NAME=VALUE]… [--watch]
                                  start a run; prints its id (with --watch, follows it)
  platform run list [--workflow W] [--status S] [--started-by USER] [--team T]
  platform run get ID             a run's status and steps
  platform run watch ID           follow a run's log live until it ends (exit 1 unless it
                                  succeeded)
  platform run cancel|rollback|retry ID
  platform run approve|reject ID [--comment TEXT]
  Client settings: PLATFORM_URL (default http://127.0.0.1:3000) and PLATFORM_TOKEN (an API
  token from the Account page, plt_…). Only http:// addresses are supported by this client.
";

/// What went wrong, and the exit status it gives.
#[derive(Debug)]
pub enum CliError {
    /// Wrong arguments or settings, or the portal could not be reached: exit 2.
    Usage(String),
    /// The portal answered with an error, or some documents failed: exit 1.
    Refused(String),
}

impl CliError {
    pub fn exit(self) -> ExitCode {
        match self {
            CliError::Usage(m) => {
                eprintln!("platform: {m}");
                ExitCode::from(2)
            }
            CliError::Refused(m) => {
                eprintln!("platform: {m}");
                ExitCode::from(1)
            }
        }
    }
}

/// Where the portal is and who is asking.
pub struct Client {
    base: hyper::Uri,
    token: String,
}

impl Client {
    pub fn from_env() -> Result<Client, CliError> {
        let url = std::env::var("PLATFORM_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
        let base: hyper::Uri = url.trim_end_matches('/').parse().map_err(|_| CliError::Usage(format!("PLATFORM_URL is not an address: {url}")))?;
        if base.scheme_str() != Some("http") || base.host().is_none() {
            return Err(CliError::Usage(format!(
                "PLATFORM_URL must be an http:// address (got {url}); for an https portal use the REST API with curl, as described in docs/cli.md"
            )));
        }
        let token = std::env::var("PLATFORM_TOKEN").unwrap_or_default();
        if token.trim().is_empty() {
            return Err(CliError::Usage(
                "set PLATFORM_TOKEN to an API token: create one on the Account page of the portal (it starts with plt_)".into(),
            ));
        }
        Ok(Client { base, token: token.trim().to_string() })
    }

    /// One request; the answer with its body still to be read.
    async fn request(&self, method: Method, path_and_query: &str, body: Option<(&str, Vec<u8>)>) -> Result<hyper::Response<hyper::body::Incoming>, CliError> {
        let host = self.base.host().unwrap_or("127.0.0.1").to_string();
        let port = self.base.port_u16().unwrap_or(80);
        let prefix = self.base.path().trim_end_matches('/');
        let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| self.unreachable(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| self.unreachable(&e))?;
        tokio::spawn(conn);
        let authority = self.base.authority().map(|a| a.to_string()).unwrap_or(host);
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{prefix}{path_and_query}"))
            .header(header::HOST, authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::USER_AGENT, "platform-cli");
        let bytes = match body {
            Some((content_type, b)) => {
                req = req.header(header::CONTENT_TYPE, content_type);
                b
            }
            None => Vec::new(),
        };
        let req = req.body(Full::new(Bytes::from(bytes))).map_err(|e| CliError::Usage(e.to_string()))?;
        sender.send_request(req).await.map_err(|e| self.unreachable(&e))
    }

    fn unreachable(&self, e: &dyn std::fmt::Display) -> CliError {
        CliError::Usage(format!("cannot reach the portal at {}: {e} (is it running? check PLATFORM_URL)", self.base))
    }

    /// One request; the answer's status and body.
    async fn send(&self, method: Method, path_and_query: &str, body: Option<(&str, Vec<u8>)>) -> Result<(StatusCode, Bytes), CliError> {
        let res = self.request(method, path_and_query, body).await?;
        let status = res.status();
        let body = res.into_body().collect().await.map_err(|e| self.unreachable(&e))?.to_bytes();
        Ok((status, body))
    }

    /// A successful answer's body, read as it arrives (an event stream).
    async fn open(&self, path_and_query: &str) -> Result<hyper::body::Incoming, CliError> {
        let res = self.request(Method::GET, path_and_query, None).await?;
        if !res.status().is_success() {
            let status = res.status();
            let body = res.into_body().collect().await.map_err(|e| self.unreachable(&e))?.to_bytes();
            return Err(CliError::Refused(error_text(status, &body)));
        }
        Ok(res.into_body())
    }

    /// The body of a successful answer; an error answer becomes its message (and fields).
    async fn expect_ok(&self, method: Method, path_and_query: &str, body: Option<(&str, Vec<u8>)>) -> Result<Bytes, CliError> {
        let (status, bytes) = self.send(method, path_and_query, body).await?;
        if status.is_success() {
            return Ok(bytes);
        }
        Err(CliError::Refused(error_text(status, &bytes)))
    }
}

/// The API's error body as one readable text: the message, then each field's problems.
fn error_text(status: StatusCode, body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let message = v["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| format!("the portal answered {status}"));
    let mut out = format!("{message} ({})", status.as_u16());
    if let Some(fields) = v["error"]["fields"].as_object() {
        for (field, problems) in fields {
            for p in problems.as_array().into_iter().flatten() {
                out.push_str(&format!("\n  {field}: {}", p.as_str().unwrap_or_default()));
            }
        }
    }
    if status == StatusCode::UNAUTHORIZED {
        out.push_str("\n  (check PLATFORM_TOKEN: it may be expired or revoked; create a new one on the Account page)");
    }
    out
}

fn encode(s: &str) -> String {
    app::api::encode(s)
}

/// Runs `platform catalog …` or `platform search …`; `args` start after the binary name.
pub async fn run(args: &[&str]) -> ExitCode {
    match dispatch(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.exit(),
    }
}

async fn dispatch(args: &[&str]) -> Result<(), CliError> {
    match args {
        ["catalog", "apply", "-f" | "--file", file] => apply(file).await,
        ["catalog", "get", reference] => get(reference).await,
        ["catalog", "export", rest @ ..] => export(rest).await,
        ["search", rest @ ..] if !rest.is_empty() => search(rest).await,
        ["workflow", "list"] => workflow_list().await,
        ["workflow", "apply", "-f" | "--file", file] => workflow_apply(file).await,
        ["run", "start", workflow, rest @ ..] => run_start(workflow, rest).await,
        ["run", "list", rest @ ..] => run_list(rest).await,
        ["run", "get", id] => run_get(id).await,
        ["run", "watch", id] => run_watch(id).await,
        ["run", verb @ ("cancel" | "rollback" | "retry"), id] => run_action(verb, id).await,
        ["run", verb @ ("approve" | "reject"), id, rest @ ..] => run_decide(verb == &"approve", id, rest).await,
        _ => Err(CliError::Usage(format!("unknown or incomplete command; usage:\n{USAGE}"))),
    }
}

async fn apply(file: &str) -> Result<(), CliError> {
    let yaml = if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("cannot read {file}: {e}")))?
    };
    let client = Client::from_env()?;
    let body = client.expect_ok(Method::POST, "/api/v1/catalog/apply", Some(("application/yaml", yaml.into_bytes()))).await?;
    let report: app::types::ApplyReport = serde_json::from_slice(&body).map_err(|e| CliError::Refused(format!("unexpected answer: {e}")))?;
    for d in &report.documents {
        let what = d.entity_ref.clone().unwrap_or_else(|| "(unreadable)".into());
        let line = d.line.map(|l| format!(" line {l}")).unwrap_or_default();
        println!("document {}{line}: {what} {}", d.index + 1, d.outcome);
        for (field, problems) in &d.errors {
            for p in problems {
                println!("  {field}: {p}");
            }
        }
        for w in &d.warnings {
            println!("  warning: {w}");
        }
    }
    println!("{} created, {} updated, {} unchanged, {} with errors", report.created, report.updated, report.unchanged, report.failed);
    if report.failed > 0 {
        return Err(CliError::Refused(format!("{} document(s) were not applied (see above)", report.failed)));
    }
    Ok(())
}

async fn get(reference: &str) -> Result<(), CliError> {
    let r = app::catalog::EntityRef::parse(reference, None, app::catalog::DEFAULT_NAMESPACE)
        .map_err(|e| CliError::Usage(format!("{reference} is not an entity reference ({e}); write kind:namespace/name, e.g. component:default/payments-api")))?;
    let client = Client::from_env()?;
    let key = r.key();
    let (kind, rest) = key.split_once(':').unwrap_or(("", &key));
    let (ns, name) = rest.split_once('/').unwrap_or(("default", rest));
    let body = client.expect_ok(Method::GET, &format!("/api/v1/catalog/entities/{}/{}/{}", encode(kind), encode(ns), encode(name)), None).await?;
    let detail: serde_json::Value = serde_json::from_slice(&body).map_err(|e| CliError::Refused(format!("unexpected answer: {e}")))?;
    let yaml = yaml_serde::to_string(&detail["descriptor"]).map_err(|e| CliError::Refused(e.to_string()))?;
    print!("{yaml}");
    Ok(())
}

/// `--name value` pairs into a query string, refusing unknown names.
fn query(pairs: &[&str], known: &[&str]) -> Result<String, CliError> {
    let mut out = Vec::new();
    let mut it = pairs.iter();
    while let Some(flag) = it.next() {
        let name = flag.strip_prefix("--").filter(|n| known.contains(n)).ok_or_else(|| {
            CliError::Usage(format!("unknown option {flag}; expected one of {}", known.iter().map(|k| format!("--{k}")).collect::<Vec<_>>().join(", ")))
        })?;
        let value = it.next().ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))?;
        out.push(format!("{name}={}", encode(value)));
    }
    Ok(if out.is_empty() { String::new() } else { format!("?{}", out.join("&")) })
}

async fn export(rest: &[&str]) -> Result<(), CliError> {
    let q = query(rest, &["kind", "owner", "type", "lifecycle", "tag", "system", "namespace"])?;
    let client = Client::from_env()?;
    let body = client.expect_ok(Method::GET, &format!("/api/v1/catalog/export{q}"), None).await?;
    print!("{}", String::from_utf8_lossy(&body));
    Ok(())
}

async fn search(rest: &[&str]) -> Result<(), CliError> {
    let mut words = Vec::new();
    let mut options = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a.starts_with("--") {
            options.push(*a);
            options.push(it.next().copied().unwrap_or(""));
        } else {
            words.push(*a);
        }
    }
    let mut q = query(&options, &["kind"])?;
    q = if q.is_empty() { format!("?q={}", encode(&words.join(" "))) } else { format!("{q}&q={}", encode(&words.join(" "))) };
    let client = Client::from_env()?;
    let body = client.expect_ok(Method::GET, &format!("/api/v1/search{q}"), None).await?;
    let r: app::types::SearchResults = serde_json::from_slice(&body).map_err(|e| CliError::Refused(format!("unexpected answer: {e}")))?;
    if r.items.is_empty() {
        println!("nothing found for “{}”", r.query);
        return Ok(());
    }
    if r.fuzzy {
        println!("no exact match; similar results:");
    }
    for hit in &r.items {
        let title: String = hit.title.iter().map(|p| p.text.as_str()).collect();
        println!("{:>3}  {:<10} {:<40} {}", hit.rank, hit.kind, title, hit.url);
    }
    if r.total > r.items.len() as i64 {
        println!("… {}{} results in all; narrow with --kind or more words", r.total, if r.more { "+" } else { "" });
    }
    Ok(())
}

fn read_file(file: &str) -> Result<String, CliError> {
    if file == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("cannot read {file}: {e}")))
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CliError> {
    serde_json::from_slice(body).map_err(|e| CliError::Refused(format!("unexpected answer: {e}")))
}

async fn workflow_list() -> Result<(), CliError> {
    let client = Client::from_env()?;
    let list: Vec<app::workflow::WorkflowInfo> = parse(&client.expect_ok(Method::GET, "/api/v1/workflows", None).await?)?;
    for w in list {
        let d = &w.definition;
        let mut starts = vec!["people".to_string()];
        starts.extend(d.on.events.iter().map(|e| format!("event {e}")));
        starts.extend(d.on.schedule.iter().map(|s| format!("schedule '{s}'")));
        println!("{:<24} {:<40} {}", d.name, d.title, starts.join(", "));
    }
    Ok(())
}

async fn workflow_apply(file: &str) -> Result<(), CliError> {
    let text = read_file(file)?;
    let name = yaml_serde::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["name"].as_str().map(str::to_string))
        .ok_or_else(|| CliError::Usage(format!("{file} is not a workflow definition with a `name`")))?;
    let client = Client::from_env()?;
    let path = format!("/api/v1/workflows/{}", encode(&name));
    let w: app::workflow::WorkflowInfo = parse(&client.expect_ok(Method::PUT, &path, Some(("application/yaml", text.into_bytes()))).await?)?;
    println!("workflow {} is at version {}", w.definition.name, w.version);
    Ok(())
}

fn print_run(d: &app::workflow::RunDetail) {
    let r = &d.run;
    println!("run {}  {}  {}", r.id, r.title, r.status.label());
    println!("  team {}, started by {} ({}) at {}", r.team.as_deref().unwrap_or("-"), r.started_by, r.trigger, r.created_at);
    if let Some(e) = r.error.as_ref().or(r.rollback_reason.as_ref()) {
        println!("  {e}");
    }
    for s in &d.steps {
        let undo = if s.undo == app::workflow::UndoStatus::None { String::new() } else { format!(", undo {}", s.undo.as_str()) };
        let error = s.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        println!("  {:>2}. {:<32} {:<9} attempts {}{undo}{error}", s.idx + 1, s.title, s.status.as_str(), s.attempts);
    }
}

async fn run_start(workflow: &str, rest: &[&str]) -> Result<(), CliError> {
    let mut start = app::workflow::StartRun::default();
    let mut watch = false;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        match *flag {
            "--watch" => watch = true,
            "--team" => start.team = Some(it.next().ok_or_else(|| CliError::Usage("--team needs a value".into()))?.to_string()),
            "--input" => {
                let pair = it.next().ok_or_else(|| CliError::Usage("--input needs NAME=VALUE".into()))?;
                let (k, v) = pair.split_once('=').ok_or_else(|| CliError::Usage(format!("--input {pair}: write NAME=VALUE")))?;
                start.inputs.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
            other => return Err(CliError::Usage(format!("unknown option {other}; expected --team, --input NAME=VALUE or --watch"))),
        }
    }
    let client = Client::from_env()?;
    let body = serde_json::to_vec(&start).expect("serialisable");
    let path = format!("/api/v1/workflows/{}/runs", encode(workflow));
    let d: app::workflow::RunDetail = parse(&client.expect_ok(Method::POST, &path, Some(("application/json", body))).await?)?;
    println!("started run {} of {} for team {}", d.run.id, d.run.workflow, d.run.team.as_deref().unwrap_or("-"));
    if watch {
        return follow(&client, &d.run.id).await;
    }
    Ok(())
}

async fn run_list(rest: &[&str]) -> Result<(), CliError> {
    let q = query(rest, &["workflow", "status", "started-by", "team", "page"])?.replace("started-by=", "started_by=");
    let client = Client::from_env()?;
    let page: app::workflow::RunPage = parse(&client.expect_ok(Method::GET, &format!("/api/v1/runs{q}"), None).await?)?;
    for r in &page.runs {
        println!("{}  {:<16} {:<24} {:<10} {}", r.id, r.status.as_str(), r.workflow, r.started_by, r.created_at);
    }
    println!("{} of {} run(s), page {}", page.runs.len(), page.total, page.page);
    Ok(())
}

async fn run_get(id: &str) -> Result<(), CliError> {
    let client = Client::from_env()?;
    let d: app::workflow::RunDetail = parse(&client.expect_ok(Method::GET, &format!("/api/v1/runs/{}", encode(id)), None).await?)?;
    print_run(&d);
    Ok(())
}

async fn run_action(verb: &str, id: &str) -> Result<(), CliError> {
    let client = Client::from_env()?;
    let d: app::workflow::RunDetail = parse(&client.expect_ok(Method::POST, &format!("/api/v1/runs/{}/{verb}", encode(id)), None).await?)?;
    if verb == "retry" {
        println!("started run {} (a retry of {id})", d.run.id);
    } else {
        print_run(&d);
    }
    Ok(())
}

async fn run_decide(approve: bool, id: &str, rest: &[&str]) -> Result<(), CliError> {
    let comment = match rest {
        [] => String::new(),
        ["--comment", text] => text.to_string(),
        _ => return Err(CliError::Usage("expected --comment TEXT (or nothing)".into())),
    };
    let client = Client::from_env()?;
    let body = serde_json::to_vec(&app::workflow::Decision { approve, comment }).expect("serialisable");
    let d: app::workflow::RunDetail =
        parse(&client.expect_ok(Method::POST, &format!("/api/v1/runs/{}/decision", encode(id)), Some(("application/json", body))).await?)?;
    print_run(&d);
    Ok(())
}

async fn run_watch(id: &str) -> Result<(), CliError> {
    let client = Client::from_env()?;
    follow(&client, id).await
}

/// Prints a run's log lines as they come (server-sent events) until the run ends.
async fn follow(client: &Client, id: &str) -> Result<(), CliError> {
    let mut res = client.open(&format!("/api/v1/runs/{}/events", encode(id))).await?;
    let mut buffer = String::new();
    let mut last: Option<app::workflow::RunDetail> = None;
    while let Some(frame) = res.frame().await {
        let frame = frame.map_err(|e| CliError::Usage(format!("the event stream broke: {e}")))?;
        let Some(bytes) = frame.data_ref() else { continue };
        buffer.push_str(&String::from_utf8_lossy(bytes));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let kind = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("message");
            let data: String = event.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
            match kind {
                "log" => {
                    if let Ok(l) = serde_json::from_str::<app::workflow::LogLine>(&data) {
                        println!("{} {:<5} {}", l.at.get(11..19).unwrap_or(&l.at), l.level, l.message);
                    }
                }
                "run" => last = serde_json::from_str(&data).ok(),
                "end" => {
                    return match &last {
                        Some(d) if d.run.status == app::workflow::RunStatus::Succeeded => Ok(()),
                        Some(d) => Err(CliError::Refused(format!("run {id} ended {}", d.run.status.label().to_lowercase()))),
                        None => Err(CliError::Refused(format!("run {id} ended {data}"))),
                    };
                }
                "error" => return Err(CliError::Refused(data)),
                _ => {}
            }
        }
    }
    Err(CliError::Usage("the portal closed the event stream before the run ended; run `platform run watch` again".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_a_query_string() {
        assert_eq!(query(&["--kind", "API", "--owner", "group:default/payments"], &["kind", "owner"]).unwrap(), "?kind=API&owner=group%3Adefault%2Fpayments");
        assert_eq!(query(&[], &["kind"]).unwrap(), "");
        assert!(matches!(query(&["--colour", "red"], &["kind"]), Err(CliError::Usage(_))));
        assert!(matches!(query(&["--kind"], &["kind"]), Err(CliError::Usage(_))));
    }

    #[test]
    fn errors_read_as_sentences_with_fields() {
        let body = br#"{"error":{"code":"validation","message":"Please correct the marked fields.","fields":{"q":["Type a word."]}}}"#;
        assert_eq!(error_text(StatusCode::UNPROCESSABLE_ENTITY, body), "Please correct the marked fields. (422)\n  q: Type a word.");
        assert!(error_text(StatusCode::UNAUTHORIZED, b"").contains("PLATFORM_TOKEN"));
    }
}
