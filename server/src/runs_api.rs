//! The workflow part of the REST API: workflows, runs (start, list, inspect, cancel, roll back,
//! retry, approve), a run's live events as server-sent events, webhook sources and the inbound
//! webhook endpoint. Handlers only call `Services` methods; the rules are there.

use crate::rest::{ApiResult, Authed, Body, ErrorBody};
use crate::web::{error_response, AppState};
use app::core::{Caller, Services};
use app::error::AppError;
use app::workflow::*;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::VecDeque;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/workflows", get(list_workflows))
        .route("/workflows/{name}", get(get_workflow).put(put_workflow).delete(delete_workflow))
        .route("/workflows/{name}/runs", post(start_run))
        .route("/runs", get(list_runs))
        .route("/runs/{id}", get(get_run))
        .route("/runs/{id}/logs", get(run_logs))
        .route("/runs/{id}/events", get(run_events))
        .route("/runs/{id}/cancel", post(cancel_run))
        .route("/runs/{id}/rollback", post(rollback_run))
        .route("/runs/{id}/retry", post(retry_run))
        .route("/runs/{id}/decision", post(decide_run))
        .route("/webhooks", get(list_webhooks))
        .route("/webhooks/deliveries", get(list_deliveries))
        .route("/webhooks/{name}", axum::routing::put(put_webhook).delete(delete_webhook))
        .route("/hooks/{source}", post(receive_webhook))
}

#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    responses((status = 200, body = Vec<WorkflowInfo>), (status = 401, body = ErrorBody)))]
async fn list_workflows(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<WorkflowInfo>> {
    s.workflows_list(&c).await.into()
}

#[utoipa::path(get, path = "/api/v1/workflows/{name}", tag = "workflows", params(("name" = String, Path)),
    responses((status = 200, body = WorkflowInfo), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_workflow(State(s): State<Services>, Authed(c): Authed, Path(name): Path<String>) -> ApiResult<WorkflowInfo> {
    s.workflow_get(&c, &name).await.into()
}

#[derive(Deserialize, utoipa::IntoParams)]
struct VersionParam {
    /// The version you edited; omit to create (or to overwrite without the check).
    version: Option<i64>,
}

#[utoipa::path(put, path = "/api/v1/workflows/{name}", tag = "workflows", params(("name" = String, Path), VersionParam),
    request_body(content = String, description = "The definition as YAML or JSON", content_type = "application/yaml"),
    responses((status = 200, body = WorkflowInfo), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_workflow(
    State(s): State<Services>,
    Authed(c): Authed,
    Path(name): Path<String>,
    q: Result<Query<VersionParam>, axum::extract::rejection::QueryRejection>,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> ApiResult<WorkflowInfo> {
    let Ok(Query(q)) = q else {
        return ApiResult::from(Err(AppError::field("version", "The version must be a whole number.")));
    };
    let text = match body {
        Ok(t) => t,
        Err(e) => return ApiResult::from(Err(AppError::BadRequest(format!("The body must be UTF-8 YAML or JSON text: {}", e.body_text())))),
    };
    s.workflow_put(&c, &name, &text, q.version).await.into()
}

#[utoipa::path(delete, path = "/api/v1/workflows/{name}", tag = "workflows", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted; its runs stay"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_workflow(State(s): State<Services>, Authed(c): Authed, Path(name): Path<String>) -> Response {
    match s.workflow_delete(&c, &name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(post, path = "/api/v1/workflows/{name}/runs", tag = "runs", params(("name" = String, Path)), request_body = StartRun,
    responses((status = 201, body = RunDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_run(State(s): State<Services>, Authed(c): Authed, Path(name): Path<String>, Body(b): Body<StartRun>) -> Response {
    match s.run_start(&c, &name, b).await {
        Ok(d) => (StatusCode::CREATED, Json(d)).into_response(),
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(RunFilter),
    responses((status = 200, body = RunPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_runs(State(s): State<Services>, Authed(c): Authed, q: Result<Query<RunFilter>, axum::extract::rejection::QueryRejection>) -> ApiResult<RunPage> {
    match q {
        Ok(Query(f)) => s.runs_list(&c, f).await.into(),
        Err(e) => ApiResult::from(Err(AppError::BadRequest(format!("Bad filter: {}", e.body_text())))),
    }
}

#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, body = RunDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_run(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>) -> ApiResult<RunDetail> {
    s.run_detail(&c, &id).await.into()
}

#[derive(Deserialize, utoipa::IntoParams)]
struct AfterParam {
    /// Only lines after this sequence number.
    after: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/runs/{id}/logs", tag = "runs", params(("id" = String, Path), AfterParam),
    responses((status = 200, body = Vec<LogLine>), (status = 401, body = ErrorBody)))]
async fn run_logs(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>, Query(q): Query<AfterParam>) -> ApiResult<Vec<LogLine>> {
    s.run_logs(&c, &id, q.after.unwrap_or(0)).await.into()
}

macro_rules! run_action {
    ($name:ident, $method:ident, $path:literal, $what:literal) => {
        #[utoipa::path(post, path = $path, tag = "runs", params(("id" = String, Path)), description = $what,
            responses((status = 200, body = RunDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
        async fn $name(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>) -> ApiResult<RunDetail> {
            s.$method(&c, &id).await.into()
        }
    };
}

run_action!(cancel_run, run_cancel, "/api/v1/runs/{id}/cancel", "Stops a running or waiting run and undoes its completed steps.");
run_action!(rollback_run, run_rollback, "/api/v1/runs/{id}/rollback", "Undoes a finished, failed or waiting run's completed steps in reverse order.");
run_action!(retry_run, run_retry, "/api/v1/runs/{id}/retry", "Starts the workflow again with the same inputs; answers the new run.");

#[utoipa::path(post, path = "/api/v1/runs/{id}/decision", tag = "runs", params(("id" = String, Path)), request_body = Decision,
    responses((status = 200, body = RunDetail), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn decide_run(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>, Body(d): Body<Decision>) -> ApiResult<RunDetail> {
    s.run_decide(&c, &id, d).await.into()
}

/// What the event stream still has to send, and where it is.
struct Feed {
    services: Services,
    caller: Caller,
    id: String,
    notices: tokio::sync::broadcast::Receiver<String>,
    last_seq: i64,
    queue: VecDeque<Event>,
    started: bool,
    done: bool,
}

impl Feed {
    /// Reads what changed: the run (as the caller may see it) and new log lines.
    async fn refresh(&mut self) {
        match self.services.run_logs(&self.caller, &self.id, self.last_seq).await {
            Ok(lines) => {
                for l in lines {
                    self.last_seq = l.seq;
                    if let Ok(ev) = Event::default().event("log").id(l.seq.to_string()).json_data(&l) {
                        self.queue.push_back(ev);
                    }
                }
            }
            Err(e) => tracing::warn!(run = %self.id, error = %e, "event stream cannot read logs"),
        }
        match self.services.run_detail(&self.caller, &self.id).await {
            Ok(d) => {
                let finished = d.run.status.is_final();
                if let Ok(ev) = Event::default().event("run").json_data(&d) {
                    self.queue.push_back(ev);
                }
                if finished {
                    self.queue.push_back(Event::default().event("end").data(d.run.status.as_str()));
                    self.done = true;
                }
            }
            Err(e) => {
                self.queue.push_back(Event::default().event("error").data(e.to_string()));
                self.done = true;
            }
        }
    }

    async fn next(mut self) -> Option<(Result<Event, std::convert::Infallible>, Feed)> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some((Ok(ev), self));
            }
            if self.done {
                return None;
            }
            if self.started {
                // Wait for a notice about this run (or look anyway every 10 s).
                let mine = format!("run:{}", self.id);
                let deadline = tokio::time::sleep(Duration::from_secs(10));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        n = self.notices.recv() => match n {
                            Ok(n) if n == mine || n == "wake" => break,
                            Ok(_) => continue,
                            // Missed some: look now.
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                        },
                        _ = &mut deadline => break,
                    }
                }
                // Let a burst of changes land, then send them together.
                tokio::time::sleep(Duration::from_millis(20)).await;
                while self.notices.try_recv().is_ok() {}
            }
            self.started = true;
            self.refresh().await;
        }
    }
}

#[utoipa::path(get, path = "/api/v1/runs/{id}/events", tag = "runs", params(("id" = String, Path)),
    description = "Server-sent events: `run` (the run with its steps, JSON), `log` (one log line, JSON; its id is the line's sequence number, so a reconnect with Last-Event-ID resumes), and `end` when the run has finished.",
    responses((status = 200, description = "text/event-stream"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn run_events(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(e) = s.run_detail(&c, &id).await {
        return error_response(&e);
    }
    let last_seq = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let notices = s.store.notices();
    let feed = Feed { services: s, caller: c, id, notices, last_seq, queue: VecDeque::new(), started: false, done: false };
    let stream = futures_util::stream::unfold(feed, Feed::next);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookSource>), (status = 403, body = ErrorBody)))]
async fn list_webhooks(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<WebhookSource>> {
    s.webhook_sources(&c).await.into()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookSourceBody {
    #[serde(default)]
    description: String,
}

#[utoipa::path(put, path = "/api/v1/webhooks/{name}", tag = "webhooks", params(("name" = String, Path)), request_body = WebhookSourceBody,
    description = "Creates the source, or gives it a new secret. The secret is in this answer only.",
    responses((status = 200, body = WebhookSource), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_webhook(State(s): State<Services>, Authed(c): Authed, Path(name): Path<String>, Body(b): Body<WebhookSourceBody>) -> ApiResult<WebhookSource> {
    s.webhook_source_put(&c, &name, &b.description).await.into()
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{name}", tag = "webhooks", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_webhook(State(s): State<Services>, Authed(c): Authed, Path(name): Path<String>) -> Response {
    match s.webhook_source_delete(&c, &name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
struct SourceParam {
    source: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "webhooks", params(SourceParam),
    responses((status = 200, body = Vec<WebhookDelivery>), (status = 403, body = ErrorBody)))]
async fn list_deliveries(State(s): State<Services>, Authed(c): Authed, Query(q): Query<SourceParam>) -> ApiResult<Vec<WebhookDelivery>> {
    s.webhook_deliveries(&c, q.source.as_deref()).await.into()
}

#[utoipa::path(post, path = "/api/v1/hooks/{source}", tag = "webhooks", params(("source" = String, Path)),
    description = "An inbound webhook. Sign the exact body with HMAC-SHA256 and the source's secret: `X-Platform-Signature: sha256=<hex>` (or GitHub's `X-Hub-Signature-256`). Give each delivery a unique `X-Platform-Delivery` (or `X-GitHub-Delivery`) id: a replayed id is ignored. The JSON object body becomes an event `webhook.<source>`.",
    security(()),
    responses((status = 202, body = WebhookDelivery, description = "Accepted"), (status = 200, body = WebhookDelivery, description = "A replay, ignored"),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn receive_webhook(State(s): State<Services>, Path(source): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let header = |names: &[&str]| names.iter().find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()).map(str::to_string));
    if body.len() > app::core::workflows::WEBHOOK_MAX_BYTES {
        let e = serde_json::json!({"error": {"code": "payload_too_large", "message": format!("Webhook bodies are limited to {} KiB.", app::core::workflows::WEBHOOK_MAX_BYTES / 1024), "fields": null}});
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(e)).into_response();
    }
    let signature = header(&["x-platform-signature", "x-hub-signature-256"]);
    let delivery = header(&["x-platform-delivery", "x-github-delivery", "idempotency-key"]);
    match s.webhook_receive(&source, signature.as_deref(), delivery.as_deref(), &body).await {
        Ok(d) if d.outcome == "accepted" => (StatusCode::ACCEPTED, Json(d)).into_response(),
        Ok(d) => (StatusCode::OK, Json(d)).into_response(),
        Err(e) => error_response(&e),
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_workflows, get_workflow, put_workflow, delete_workflow, start_run, list_runs, get_run, run_logs, run_events, cancel_run,
          rollback_run, retry_run, decide_run, list_webhooks, put_webhook, delete_webhook, list_deliveries, receive_webhook),
    components(schemas(WebhookSourceBody)),
)]
pub struct RunsApiDoc;
