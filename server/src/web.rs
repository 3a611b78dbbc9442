//! The HTTP surface: the router (pages, server functions, REST API, health and metrics) and the
//! layers every request passes through (request id, logging, metrics, body limit, origin check,
//! authentication, sign-in redirect).

use crate::config::Config;
use crate::rest;
use app::core::service::SESSION_COOKIE;
use app::core::{Caller, Services};
use app::error::AppError;
use axum::extract::{FromRef, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub config: Arc<Config>,
}

/// The JSON body of every REST error: `{"error": {"code", "message", "fields"}}`.
pub fn error_response(e: &AppError) -> Response {
    let fields = match e {
        AppError::Validation(f) => serde_json::to_value(f).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({ "error": { "code": e.code(), "message": e.to_string(), "fields": fields } });
    (status, Json(body)).into_response()
}

/// Installs the Prometheus recorder once per process (tests build many routers).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5])
                .expect("fixed buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests); then this handle still renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let services = state.services.clone();
    let options = state.leptos_options.clone();
    let max_body = state.config.max_body_bytes;
    // Install the recorder before the first request, so that every request is counted.
    let metrics = metrics_handle();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(move || async move { metrics.render() }))
        .route("/theme", post(set_theme))
        .route("/search/go", get(search_go))
        .nest("/api/v1", rest::routes())
        .leptos_routes_with_context(&state, routes, move || provide_context(services.clone()), move || app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(middleware::from_fn(sign_in_redirect))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), body_limit))
        .layer(middleware::from_fn(record_metrics))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn readyz(State(services): State<Services>) -> Response {
    match services.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the database is not reachable").into_response()
        }
    }
}

/// A search result being opened: `id` names a logged search (the search page), or `q`, `n`
/// (results) and `ms` (since the first keystroke) describe a suggestion.
#[derive(serde::Deserialize)]
struct SearchGo {
    id: Option<String>,
    q: Option<String>,
    n: Option<i64>,
    ms: Option<i64>,
    key: String,
    rank: i64,
    to: String,
}

/// Records which search result was opened (search analytics), then goes there. Links point
/// here, so it works without JavaScript; only local addresses are followed.
async fn search_go(State(services): State<Services>, Extension(caller): Extension<Caller>, Query(go): Query<SearchGo>) -> Response {
    let recorded = match (&go.id, &go.q) {
        (Some(id), _) => services.search_opened(&caller, id, &go.key, go.rank).await,
        (None, Some(q)) => services.suggestion_opened(&caller, q, go.n.unwrap_or(0), &go.key, go.rank, go.ms.unwrap_or(0)).await,
        (None, None) => Ok(()),
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "could not record an opened search result");
    }
    Redirect::to(&app::api::safe_next(Some(&go.to))).into_response()
}

#[derive(serde::Deserialize)]
struct ThemeForm {
    theme: String,
}

/// Remembers the chosen theme in a cookie and goes back to the page (works without JavaScript).
async fn set_theme(State(config): State<Arc<Config>>, headers: HeaderMap, Form(form): Form<ThemeForm>) -> Response {
    let secure = if config.secure_cookies() { "; Secure" } else { "" };
    let cookie = match form.theme.as_str() {
        "light" | "dark" => format!("theme={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", form.theme),
        _ => format!("theme=; Path=/; Max-Age=0; SameSite=Lax{secure}"),
    };
    let back = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())))
        .unwrap_or_else(|| "/".into());
    let mut res = Redirect::to(&app::api::safe_next(Some(&back))).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// Paths that need no signed-in user and no database lookup.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/healthz" | "/readyz" | "/metrics" | "/favicon.svg" | "/favicon.ico")
}

/// Finds the caller from an API token (`Authorization: Bearer plt_…`) or the session cookie and
/// puts a [`Caller`] into the request for handlers and server functions.
async fn authenticate(State(services): State<Services>, mut req: Request, next: Next) -> Response {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut caller = Caller { request_id, ..Default::default() };
    if !is_static(req.uri().path()) {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .map(str::to_string);
        if let Some(secret) = bearer {
            match services.authenticate_token(&secret).await {
                Ok(Some(p)) => caller.principal = Some(p),
                Ok(None) => {
                    return unauthenticated(
                        "This API token is not valid: it is unknown, expired or revoked. Create a new one on your Account page.",
                    );
                }
                Err(e) => return error_response(&e),
            }
        } else if let Some(value) = cookie(req.headers(), SESSION_COOKIE).map(str::to_string) {
            match services.authenticate_session(&value).await {
                Ok(Some((p, hash))) => {
                    caller.principal = Some(p);
                    caller.session_hash = Some(hash);
                }
                Ok(None) => {}
                Err(e) => return error_response(&e),
            }
        }
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// A 401 that says what to fix (the generic Unauthenticated text would not).
fn unauthenticated(message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": "unauthenticated", "message": message, "fields": null } });
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// Sends people who are not signed in to the sign-in page, and signed-in people away from it.
async fn sign_in_redirect(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_page = req.method() == Method::GET
        && !is_static(path)
        && !path.starts_with("/api/")
        && !path.starts_with("/fn/")
        && !path.contains('.');
    if is_page {
        let signed_in = req.extensions().get::<Caller>().is_some_and(|c| c.principal.is_some());
        if path == "/login" && signed_in {
            return Redirect::to("/").into_response();
        }
        if path != "/login" && !signed_in {
            let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let to = if next == "/" { "/login".to_string() } else { format!("/login?next={}", app::api::encode(next)) };
            return Redirect::to(&to).into_response();
        }
    }
    next.run(req).await
}

/// Refuses state-changing requests sent by another site (CSRF). Browsers send `Origin` with every
/// POST; it must name this server. A request without `Origin` is accepted only when it carries no
/// session cookie (scripts with API tokens, curl), since only a cookie makes forgery possible.
async fn same_origin(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let headers = req.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            Some(origin) => {
                let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
                let allowed = origin_host == host || config.public_url.as_deref() == Some(origin);
                if !allowed {
                    tracing::warn!(origin, host, "cross-site request refused");
                    return error_response(&AppError::Forbidden(
                        "This request came from another site and was refused. Use the portal's own pages, or an API token.".into(),
                    ));
                }
            }
            None if cookie(headers, SESSION_COOKIE).is_some() && headers.get(header::AUTHORIZATION).is_none() => {
                return error_response(&AppError::Forbidden(
                    "A signed-in browser request must carry an Origin header. Scripts should use an API token instead of a session cookie.".into(),
                ));
            }
            None => {}
        }
    }
    next.run(req).await
}

/// Answers 413 before reading a body that is declared too large.
async fn body_limit(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > config.max_body_bytes) {
        let message = format!("The request body is larger than the {} KiB this server accepts.", config.max_body_bytes / 1024);
        let body = serde_json::json!({ "error": { "code": "payload_too_large", "message": message, "fields": null } });
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response();
    }
    next.run(req).await
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let kind = if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/fn/") {
        "server_fn"
    } else if is_static(path) {
        "static"
    } else {
        "page"
    };
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "kind" => kind, "method" => method, "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "kind" => kind).record(start.elapsed().as_secs_f64());
    res
}
