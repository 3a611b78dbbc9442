//! The versioned REST API under `/api/v1`, described by the OpenAPI document at
//! `/api/v1/openapi.json`. Handlers authenticate (the auth layer did), call one domain service and
//! map the error; they hold no rules of their own.

use crate::web::{error_response, AppState};
use app::core::{Caller, Services};
use app::error::AppError;
use app::types::*;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::OpenApi;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/me/password", put(change_password))
        .route("/users", get(list_users).post(create_user))
        .route("/users/{username}", get(get_user).patch(update_user))
        .route("/teams", get(list_teams).post(create_team))
        .route("/teams/{slug}", get(get_team).delete(delete_team))
        .route("/teams/{slug}/members", put(set_member))
        .route("/environments", get(list_environments))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/catalog/entities", get(catalog_list))
        .route("/catalog/entities/{kind}/{namespace}/{name}", get(catalog_get).put(catalog_put).delete(catalog_delete))
        .route("/catalog/apply", post(catalog_apply))
        .route("/catalog/export", get(catalog_export))
        .route("/catalog/locations", get(list_locations).post(add_location))
        .route("/catalog/locations/{id}", axum::routing::delete(delete_location))
        .route("/catalog/locations/{id}/refresh", post(refresh_location))
        .route("/search", get(search))
        .route("/search/analytics", get(search_analytics))
        .route("/docs", get(list_docs).put(save_doc))
        .route("/docs/{*id}", get(get_doc).delete(delete_doc))
        .route("/audit", get(list_audit))
        .route("/audit/verify", get(verify_audit))
        .route("/audit/export", get(export_audit))
        .merge(crate::runs_api::routes())
        .fallback(|| async { error_response(&AppError::NotFound("There is no API endpoint at this address; see /api/v1/openapi.json.".into())) })
}

/// The caller, who must be signed in: rejects with 401 before the body is read, so an anonymous
/// request is told to authenticate rather than how to fix its body.
pub struct Authed(pub Caller);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(c) if c.principal.is_some() => Ok(Authed(c.clone())),
            _ => Err(error_response(&AppError::Unauthenticated)),
        }
    }
}

/// Either the value as JSON, or the error as the API's error body with its status.
pub struct ApiResult<T>(Result<T, AppError>);

impl<T: Serialize> IntoResponse for ApiResult<T> {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(v) => Json(v).into_response(),
            Err(e) => error_response(&e),
        }
    }
}

impl<T> From<Result<T, AppError>> for ApiResult<T> {
    fn from(r: Result<T, AppError>) -> Self {
        ApiResult(r)
    }
}

/// A JSON body whose problems are reported like form errors: the field path and what was wrong.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                let body = serde_json::json!({ "error": { "code": "payload_too_large", "message": "The request body is too large.", "fields": null } });
                return Err((StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response());
            }
            Err(e) => return Err(error_response(&AppError::BadRequest(e.body_text()))),
        };
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(Body(v)),
            Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(error_response(&AppError::BadRequest(format!(
                "The request body is not valid JSON: {}",
                e.inner()
            )))),
            Err(e) => {
                let path = e.path().to_string();
                let field = if path == "." { "body".to_string() } else { path };
                // serde says "missing field `x`" at the parent: name the field itself.
                let message = e.inner().to_string();
                let field = match message.strip_prefix("missing field `").and_then(|m| m.split('`').next()) {
                    Some(missing) if field == "body" => missing.to_string(),
                    Some(missing) => format!("{field}.{missing}"),
                    None => field,
                };
                let message = message.split(" at line ").next().unwrap_or(&message).to_string();
                Err(error_response(&AppError::field(&field, message)))
            }
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// unauthenticated, invalid_credentials, forbidden, not_found, conflict, validation,
    /// too_many_requests, bad_request, payload_too_large or internal.
    pub code: String,
    /// What happened and what to do next, for a person.
    pub message: String,
    /// For `validation`: field path → messages.
    #[schema(value_type = Object)]
    pub fields: Option<serde_json::Value>,
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; the session cookie is set", body = Me),
              (status = 401, description = "Wrong username or password", body = ErrorBody),
              (status = 429, description = "Locked after repeated failures", body = ErrorBody)))]
async fn login(State(s): State<Services>, Extension(caller): Extension<Caller>, Body(req): Body<LoginRequest>) -> Response {
    match s.login(&caller, &req.username, &req.password).await {
        Ok((secret, principal)) => {
            let me = Caller { principal: Some(principal), ..caller };
            let mut res = ApiResult(s.me(&me)).into_response();
            if let Ok(v) = HeaderValue::from_str(&s.session_cookie(&secret)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "Signed out")))]
async fn logout(State(s): State<Services>, Extension(caller): Extension<Caller>) -> Response {
    match s.logout(&caller).await {
        Ok(()) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            if let Ok(v) = HeaderValue::from_str(&s.clear_session_cookie()) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Me> {
    s.me(&c).into()
}

#[utoipa::path(put, path = "/api/v1/me/password", tag = "me", request_body = PasswordChange,
    responses((status = 204, description = "Changed"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(State(s): State<Services>, Authed(c): Authed, Body(b): Body<PasswordChange>) -> Response {
    match s.change_password(&c, b).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody)))]
async fn list_users(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<User>> {
    s.list_users(&c).await.into()
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(State(s): State<Services>, Authed(c): Authed, Body(b): Body<NewUser>) -> ApiResult<User> {
    s.create_user(&c, b).await.into()
}

#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "users", params(("username" = String, Path)),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_user(State(s): State<Services>, Authed(c): Authed, Path(username): Path<String>) -> ApiResult<User> {
    s.get_user(&c, &username).await.into()
}

#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "users", params(("username" = String, Path)), request_body = UserUpdate,
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 409, description = "Changed by someone else since `version`", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_user(State(s): State<Services>, Authed(c): Authed, Path(username): Path<String>, Body(b): Body<UserUpdate>) -> ApiResult<User> {
    s.update_user(&c, &username, b).await.into()
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", responses((status = 200, body = Vec<Team>), (status = 401, body = ErrorBody)))]
async fn list_teams(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<Team>> {
    s.list_teams(&c).await.into()
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = NewTeam,
    responses((status = 200, body = Team), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_team(State(s): State<Services>, Authed(c): Authed, Body(b): Body<NewTeam>) -> ApiResult<Team> {
    s.create_team(&c, b).await.into()
}

#[utoipa::path(get, path = "/api/v1/teams/{slug}", tag = "teams", params(("slug" = String, Path)),
    responses((status = 200, body = TeamDetail), (status = 404, body = ErrorBody)))]
async fn get_team(State(s): State<Services>, Authed(c): Authed, Path(slug): Path<String>) -> ApiResult<TeamDetail> {
    s.get_team(&c, &slug).await.into()
}

#[utoipa::path(delete, path = "/api/v1/teams/{slug}", tag = "teams", params(("slug" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_team(State(s): State<Services>, Authed(c): Authed, Path(slug): Path<String>) -> Response {
    match s.delete_team(&c, &slug).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(put, path = "/api/v1/teams/{slug}/members", tag = "teams", params(("slug" = String, Path)), request_body = MembershipChange,
    responses((status = 200, body = TeamDetail), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_member(State(s): State<Services>, Authed(c): Authed, Path(slug): Path<String>, Body(b): Body<MembershipChange>) -> ApiResult<TeamDetail> {
    s.change_membership(&c, &slug, b).await.into()
}

#[utoipa::path(get, path = "/api/v1/environments", tag = "environments", responses((status = 200, body = Vec<Environment>), (status = 401, body = ErrorBody)))]
async fn list_environments(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<Environment>> {
    s.list_environments(&c).await.into()
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", responses((status = 200, body = Vec<ApiToken>), (status = 401, body = ErrorBody)))]
async fn list_tokens(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<ApiToken>> {
    s.list_tokens(&c).await.into()
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 200, description = "The secret is in this answer only", body = CreatedToken), (status = 422, body = ErrorBody)))]
async fn create_token(State(s): State<Services>, Authed(c): Authed, Body(b): Body<NewToken>) -> ApiResult<CreatedToken> {
    s.create_token(&c, b).await.into()
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)))]
async fn revoke_token(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>) -> Response {
    match s.revoke_token(&c, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(
        ("action" = Option<String>, Query, description = "Action prefix, e.g. `auth.`"),
        ("actor" = Option<String>, Query), ("before" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ErrorBody)))]
async fn list_audit(State(s): State<Services>, Authed(c): Authed, q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<Vec<AuditEntry>> {
    match q {
        Ok(Query(q)) => s.audit(&c, q).await.into(),
        Err(e) => ApiResult(Err(AppError::BadRequest(e.body_text()))),
    }
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", responses((status = 200, body = ChainReport), (status = 403, body = ErrorBody)))]
async fn verify_audit(State(s): State<Services>, Authed(c): Authed) -> ApiResult<ChainReport> {
    s.verify_audit(Some(&c)).await.into()
}

/// The whole trail as JSON Lines, oldest first.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit",
    responses((status = 200, description = "One AuditEntry per line", content_type = "application/x-ndjson"), (status = 403, body = ErrorBody)))]
async fn export_audit(State(s): State<Services>, Authed(c): Authed) -> Response {
    let mut out = String::new();
    let mut after = 0;
    loop {
        let page = match s.export_audit(&c, after, 1000).await {
            Ok(p) => p,
            Err(e) => return error_response(&e),
        };
        let Some(last) = page.last() else { break };
        after = last.seq;
        for e in &page {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
    }
    ([(header::CONTENT_TYPE, "application/x-ndjson"), (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.jsonl\"")], out).into_response()
}

#[utoipa::path(get, path = "/api/v1/catalog/entities", tag = "catalog", params(
        ("kind" = Option<String>, Query), ("type" = Option<String>, Query), ("owner" = Option<String>, Query, description = "e.g. group:default/payments"),
        ("lifecycle" = Option<String>, Query), ("tag" = Option<String>, Query), ("system" = Option<String>, Query), ("namespace" = Option<String>, Query),
        ("page" = Option<i64>, Query, description = "from 1"), ("page_size" = Option<i64>, Query, description = "1 to 500, default 50"),
        ("sort" = Option<String>, Query, description = "kind (default: kind, then name), name (A to Z) or updated (newest first)")),
    responses((status = 200, body = CatalogPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn catalog_list(State(s): State<Services>, Authed(c): Authed, q: Result<Query<CatalogQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<CatalogPage> {
    match q {
        Ok(Query(q)) => s.catalog_list(&c, &q, true).await.into(),
        Err(e) => ApiResult(Err(AppError::BadRequest(e.body_text()))),
    }
}

#[utoipa::path(get, path = "/api/v1/catalog/entities/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = EntityDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn catalog_get(State(s): State<Services>, Authed(c): Authed, Path((kind, namespace, name)): Path<(String, String, String)>) -> ApiResult<EntityDetail> {
    s.catalog_entity(&c, &format!("{kind}:{namespace}/{name}")).await.into()
}

#[derive(serde::Deserialize)]
struct VersionQuery {
    version: i64,
}

#[utoipa::path(delete, path = "/api/v1/catalog/entities/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path), ("version" = i64, Query, description = "the version you are deleting")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn catalog_delete(
    State(s): State<Services>,
    Authed(c): Authed,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    q: Result<Query<VersionQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error_response(&AppError::field("version", "Give the version you are deleting (?version=N), as the entity showed it."));
    };
    match s.delete_entity(&c, &format!("{kind}:{namespace}/{name}"), q.version).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

/// Replaces one entity's descriptor (YAML body) if it is still at `version`: a stale version
/// gets 409, so concurrent edits are never lost.
#[utoipa::path(put, path = "/api/v1/catalog/entities/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path), ("version" = i64, Query, description = "the version you edited")),
    request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, body = EntityDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn catalog_put(
    State(s): State<Services>,
    Authed(c): Authed,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    q: Result<Query<VersionQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<String, axum::extract::rejection::StringRejection>,
) -> ApiResult<EntityDetail> {
    let Ok(Query(q)) = q else {
        return ApiResult(Err(AppError::field("version", "Give the version you edited (?version=N), as the entity showed it.")));
    };
    match body {
        Ok(text) => s.edit_entity(&c, &format!("{kind}:{namespace}/{name}"), &text, q.version).await.into(),
        Err(e) => ApiResult(Err(AppError::BadRequest(format!("The body must be UTF-8 YAML text: {}", e.body_text())))),
    }
}

/// Applies a YAML text of one or more Backstage descriptors (`---` between documents).
#[utoipa::path(post, path = "/api/v1/catalog/apply", tag = "catalog", request_body(content = String, content_type = "application/yaml"),
    responses((status = 200, description = "One outcome per document: created, updated, unchanged or error", body = ApplyReport),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn catalog_apply(State(s): State<Services>, Authed(c): Authed, body: Result<String, axum::extract::rejection::StringRejection>) -> ApiResult<ApplyReport> {
    match body {
        Ok(text) => s.apply_catalog(app::core::catalog::Applier::Person(&c), &text, "api").await.into(),
        Err(e) => ApiResult(Err(AppError::BadRequest(format!("The body must be UTF-8 YAML text: {}", e.body_text())))),
    }
}

#[utoipa::path(get, path = "/api/v1/catalog/export", tag = "catalog", params(
        ("kind" = Option<String>, Query), ("type" = Option<String>, Query), ("owner" = Option<String>, Query),
        ("lifecycle" = Option<String>, Query), ("tag" = Option<String>, Query), ("system" = Option<String>, Query), ("namespace" = Option<String>, Query)),
    responses((status = 200, description = "Multi-document YAML that applies back to the same catalog", content_type = "application/yaml"), (status = 401, body = ErrorBody)))]
async fn catalog_export(State(s): State<Services>, Authed(c): Authed, q: Result<Query<CatalogQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return error_response(&AppError::BadRequest(e.body_text())),
    };
    match s.export_catalog(&c, &q).await {
        Ok(yaml) => ([(header::CONTENT_TYPE, "application/yaml"), (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog.yaml\"")], yaml).into_response(),
        Err(e) => error_response(&e),
    }
}

/// Searches entities and documents: exact names first, then substring matches, then (when
/// nothing matches exactly) names alike the query, tolerating small typos. The search is logged
/// for search analytics.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(
        ("q" = String, Query, description = "what to look for"), ("kind" = Option<String>, Query, description = "Component, API, …, or Doc"),
        ("page" = Option<i64>, Query, description = "from 1"), ("page_size" = Option<i64>, Query, description = "1 to 50, default 20")),
    responses((status = 200, body = SearchResults), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn search(State(s): State<Services>, Authed(c): Authed, q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>) -> ApiResult<SearchResults> {
    match q {
        Ok(Query(q)) => s.search(&c, &q, app::core::search::Origin::Api).await.into(),
        Err(e) => ApiResult(Err(AppError::BadRequest(format!("{} (give the text to look for as ?q=…)", e.body_text())))),
    }
}

#[derive(serde::Deserialize)]
struct DaysQuery {
    days: Option<i64>,
}

/// Search success rate, time to find, zero-result queries (Platform Admins).
#[utoipa::path(get, path = "/api/v1/search/analytics", tag = "search", params(("days" = Option<i64>, Query, description = "1 to 90, default 30")),
    responses((status = 200, body = SearchAnalytics), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn search_analytics(State(s): State<Services>, Authed(c): Authed, Query(q): Query<DaysQuery>) -> ApiResult<SearchAnalytics> {
    s.search_analytics(&c, q.days.unwrap_or(30)).await.into()
}

#[utoipa::path(get, path = "/api/v1/docs", tag = "docs", responses((status = 200, body = Vec<DocSummary>), (status = 401, body = ErrorBody)))]
async fn list_docs(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<DocSummary>> {
    s.docs_index(&c).await.into()
}

#[utoipa::path(get, path = "/api/v1/docs/{id}", tag = "docs", params(("id" = String, Path, description = "guides/<path> or <entity ref>/<path>")),
    responses((status = 200, body = DocPage), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_doc(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>) -> ApiResult<DocPage> {
    s.doc_page(&c, &id).await.into()
}

/// Creates a document (no `id`) or changes one (`id` and the `version` you edited: a stale
/// version gets 409).
#[utoipa::path(put, path = "/api/v1/docs", tag = "docs", request_body = DocInput,
    responses((status = 200, body = DocSummary), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_doc(State(s): State<Services>, Authed(c): Authed, Body(input): Body<DocInput>) -> ApiResult<DocSummary> {
    s.save_doc(&c, &input).await.into()
}

#[utoipa::path(delete, path = "/api/v1/docs/{id}", tag = "docs", params(("id" = String, Path), ("version" = i64, Query)),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_doc(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>, q: Result<Query<VersionQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let Ok(Query(q)) = q else {
        return error_response(&AppError::field("version", "Give the version you are deleting (?version=N)."));
    };
    match s.delete_doc(&c, &id, q.version).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

/// Registered catalog locations with their last refresh (Platform Admins).
#[utoipa::path(get, path = "/api/v1/catalog/locations", tag = "catalog",
    responses((status = 200, body = Vec<Location>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_locations(State(s): State<Services>, Authed(c): Authed) -> ApiResult<Vec<Location>> {
    s.locations(&c).await.into()
}

/// Registers a `catalog-info.yaml` file or a folder in a git repository on the portal's machine,
/// and reads it at once (Platform Admins).
#[utoipa::path(post, path = "/api/v1/catalog/locations", tag = "catalog", request_body = NewLocation,
    responses((status = 200, body = RefreshReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_location(State(s): State<Services>, Authed(c): Authed, Body(new): Body<NewLocation>) -> ApiResult<RefreshReport> {
    s.add_location(&c, &new).await.into()
}

#[utoipa::path(post, path = "/api/v1/catalog/locations/{id}/refresh", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = RefreshReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn refresh_location(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>) -> ApiResult<RefreshReport> {
    s.refresh_location(&c, &id).await.into()
}

/// Removes a location; the entities it provided stay, marked orphaned.
#[utoipa::path(delete, path = "/api/v1/catalog/locations/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_location(State(s): State<Services>, Authed(c): Authed, Path(id): Path<String>) -> Response {
    match s.delete_location(&c, &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An API token (plt_…) from the Account page")).build()),
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(app::core::service::SESSION_COOKIE))));
        openapi.security = Some(vec![SecurityRequirement::new("token", Vec::<String>::new()), SecurityRequirement::new("session", Vec::<String>::new())]);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Platform API", version = "1", description = "Self-service developer platform. Authenticate with `Authorization: Bearer <API token>` or the session cookie. Errors are `{\"error\": {\"code\", \"message\", \"fields\"}}`."),
    paths(login, logout, me, change_password, list_users, create_user, get_user, update_user, list_teams, create_team, get_team,
          delete_team, set_member, list_environments, list_tokens, create_token, revoke_token, list_audit, verify_audit, export_audit,
          catalog_list, catalog_get, catalog_put, catalog_delete, catalog_apply, catalog_export, search, search_analytics, list_docs, get_doc, save_doc, delete_doc, list_locations, add_location, refresh_location, delete_location),
    components(schemas(ErrorBody, ErrorDetail, Role, Tier)),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// The whole API's OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::runs_api::RunsApiDoc::openapi());
    doc
}
