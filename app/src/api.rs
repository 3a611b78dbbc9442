//! Server functions: the browser's calls into the server. Each one finds the caller, calls one
//! domain service and returns its result; authorization happens in the service.

use crate::error::AppError;
use crate::types::*;
use crate::workflow::*;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
mod ssr {
    use crate::core::{Caller, Services};
    use crate::error::AppError;
    use leptos::prelude::*;

    /// The services and the caller that the server's auth layer attached to this request.
    pub fn context() -> Result<(Services, Caller), AppError> {
        let services = use_context::<Services>().ok_or_else(|| AppError::internal("Services not in context"))?;
        let parts = use_context::<http::request::Parts>().ok_or_else(|| AppError::internal("request not in context"))?;
        let caller = parts.extensions.get::<Caller>().cloned().unwrap_or_default();
        Ok((services, caller))
    }

    /// Whether the request is a plain HTML form post (JavaScript off) rather than a fetch.
    pub fn is_plain_form_post() -> bool {
        use_context::<http::request::Parts>()
            .and_then(|p| p.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
            .unwrap_or(false)
    }

    /// Gives a failed server function its real HTTP status (401, 403, 422…) instead of 500, except
    /// for plain form posts, which must stay redirects back to the form.
    pub fn status<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let (Err(e), false, Some(res)) =
            (&result, is_plain_form_post(), use_context::<leptos_axum::ResponseOptions>())
        {
            res.set_status(http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
        }
        result
    }

    pub fn set_cookie(value: &str) {
        if let (Some(res), Ok(v)) = (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(value)) {
            res.append_header(http::header::SET_COOKIE, v);
        }
    }
}

/// A local path to go to after signing in; anything else (other sites, `//host`) becomes `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.starts_with("/login") => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The signed-in user, or None when signed out.
#[server(prefix = "/fn")]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    let (s, caller) = ssr::context()?;
    caller.principal.as_ref().map(|_| s.me(&caller)).transpose()
}

#[server(prefix = "/fn")]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    match s.login(&caller, &username, &password).await {
        Ok((secret, _)) => {
            ssr::set_cookie(&s.session_cookie(&secret));
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        Err(e) => {
            if ssr::is_plain_form_post() {
                // Without JavaScript the browser reloads the page: carry the message and what was typed.
                let code = if matches!(e, AppError::TooManyRequests(_)) { "locked" } else { "invalid" };
                let mut to = format!("/login?error={code}&username={}", encode(username.trim()));
                if let Some(n) = next.filter(|n| !n.is_empty()) {
                    to.push_str(&format!("&next={}", encode(&n)));
                }
                leptos_axum::redirect(&to);
            }
            ssr::status(Err(e))
        }
    }
}

#[server(prefix = "/fn")]
pub async fn logout() -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    s.logout(&caller).await?;
    ssr::set_cookie(&s.clear_session_cookie());
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn list_environments() -> Result<Vec<Environment>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.list_environments(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn list_teams() -> Result<Vec<Team>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.list_teams(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn get_team(slug: String) -> Result<TeamDetail, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.get_team(&caller, &slug).await)
}

#[server(prefix = "/fn")]
pub async fn create_team(slug: String, display_name: String, description: String) -> Result<Team, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.create_team(&caller, NewTeam { slug, display_name, description }).await)
}

#[server(prefix = "/fn")]
pub async fn delete_team(slug: String) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.delete_team(&caller, &slug).await)?;
    leptos_axum::redirect("/teams");
    Ok(())
}

/// Sets a member's role; an empty role removes them from the team.
#[server(prefix = "/fn")]
pub async fn set_member(team: String, username: String, role: String) -> Result<TeamDetail, AppError> {
    let (s, caller) = ssr::context()?;
    let role = match role.as_str() {
        "" | "remove" => None,
        r => Some(Role::parse(r).ok_or_else(|| AppError::field("role", "Choose one of the roles in the list."))?),
    };
    ssr::status(s.change_membership(&caller, &team, MembershipChange { username, role }).await)
}

#[server(prefix = "/fn")]
pub async fn list_users() -> Result<Vec<User>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.list_users(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn create_user(
    username: String,
    display_name: String,
    email: String,
    password: String,
    is_admin: Option<String>,
) -> Result<User, AppError> {
    let (s, caller) = ssr::context()?;
    let new = NewUser { username, display_name, email, password, is_admin: is_admin.is_some() };
    ssr::status(s.create_user(&caller, new).await)
}

/// Switches one flag of a user: `field` is `disabled` or `is_admin`.
#[server(prefix = "/fn")]
pub async fn set_user_flag(username: String, version: i64, field: String, value: bool) -> Result<User, AppError> {
    let (s, caller) = ssr::context()?;
    let mut change = UserUpdate { version, ..Default::default() };
    match field.as_str() {
        "disabled" => change.disabled = Some(value),
        "is_admin" => change.is_admin = Some(value),
        _ => return Err(AppError::field("field", "Unknown setting.")),
    }
    ssr::status(s.update_user(&caller, &username, change).await)
}

#[server(prefix = "/fn")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.change_password(&caller, PasswordChange { current_password, new_password }).await)
}

#[server(prefix = "/fn")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.list_tokens(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn create_token(name: String, expires_in_days: i64) -> Result<CreatedToken, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.create_token(&caller, NewToken { name, expires_in_days: Some(expires_in_days) }).await)
}

#[server(prefix = "/fn")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.revoke_token(&caller, &id).await)
}

#[server(prefix = "/fn")]
pub async fn audit_entries(query: AuditQuery) -> Result<Vec<AuditEntry>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.audit(&caller, query).await)
}

#[server(prefix = "/fn")]
pub async fn verify_audit() -> Result<ChainReport, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.verify_audit(Some(&caller)).await)
}

#[server(prefix = "/fn")]
pub async fn catalog_list(query: CatalogQuery) -> Result<CatalogPage, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.catalog_list(&caller, &query, true).await)
}

/// The first entities a team owns (no facet counts).
#[server(prefix = "/fn")]
pub async fn catalog_owned(team: String, limit: i64) -> Result<CatalogPage, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.team_owned(&caller, &team, limit).await)
}

/// One entity, for its page: the view is remembered (recently viewed, popular with the team).
#[server(prefix = "/fn")]
pub async fn catalog_entity(reference: String) -> Result<EntityDetail, AppError> {
    let (s, caller) = ssr::context()?;
    let detail = ssr::status(s.catalog_entity(&caller, &reference).await)?;
    if let Err(e) = s.record_entity_view(&caller, &detail.summary.entity_ref).await {
        tracing::warn!(error = %e, "could not record an entity view");
    }
    Ok(detail)
}

/// An entity's descriptor as YAML and its version, for the editor.
#[server(prefix = "/fn")]
pub async fn entity_source(reference: String) -> Result<(String, i64, String), AppError> {
    let (s, caller) = ssr::context()?;
    let detail = ssr::status(s.catalog_entity(&caller, &reference).await)?;
    let yaml = crate::core::Services::descriptor_yaml(&detail)?;
    Ok((yaml, detail.version, detail.summary.entity_ref))
}

#[server(prefix = "/fn")]
pub async fn edit_entity(reference: String, yaml: String, version: i64) -> Result<EntityDetail, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.edit_entity(&caller, &reference, &yaml, version).await)
}

#[server(prefix = "/fn")]
pub async fn load_browse() -> Result<BrowseView, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.browse(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn load_home_picks() -> Result<HomePicks, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.home_picks(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn apply_catalog(yaml: String) -> Result<ApplyReport, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.apply_catalog(crate::core::catalog::Applier::Person(&caller), &yaml, "ui").await)
}

#[server(prefix = "/fn")]
pub async fn delete_entity(reference: String, version: i64) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.delete_entity(&caller, &reference, version).await)?;
    leptos_axum::redirect("/catalog");
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn search(query: SearchQuery) -> Result<SearchResults, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.search(&caller, &query, crate::core::search::Origin::Page).await)
}

/// Suggestions as someone types: the first few results, not logged.
#[server(prefix = "/fn")]
pub async fn search_suggest(q: String) -> Result<SearchResults, AppError> {
    let (s, caller) = ssr::context()?;
    let query = SearchQuery { q, page_size: Some(6), ..Default::default() };
    ssr::status(s.search(&caller, &query, crate::core::search::Origin::Unlogged).await)
}

#[server(prefix = "/fn")]
pub async fn load_search_analytics(days: i64) -> Result<SearchAnalytics, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.search_analytics(&caller, days).await)
}

#[server(prefix = "/fn")]
pub async fn docs_index() -> Result<Vec<DocSummary>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.docs_index(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn entity_docs(reference: String) -> Result<Vec<DocSummary>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.entity_docs(&caller, &reference).await)
}

#[server(prefix = "/fn")]
pub async fn load_doc(id: String) -> Result<DocPage, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.doc_page(&caller, &id).await)
}

#[server(prefix = "/fn")]
pub async fn save_doc(input: DocInput) -> Result<DocSummary, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.save_doc(&caller, &input).await)
}

#[server(prefix = "/fn")]
pub async fn delete_doc(id: String, version: i64) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.delete_doc(&caller, &id, version).await)?;
    leptos_axum::redirect("/docs");
    Ok(())
}

#[server(prefix = "/fn")]
pub async fn list_locations() -> Result<Vec<Location>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.locations(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn add_location(new: NewLocation) -> Result<RefreshReport, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.add_location(&caller, &new).await)
}

#[server(prefix = "/fn")]
pub async fn refresh_location(id: String) -> Result<RefreshReport, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.refresh_location(&caller, &id).await)
}

#[server(prefix = "/fn")]
pub async fn remove_location(id: String) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.delete_location(&caller, &id).await)
}

// ---- workflows ---------------------------------------------------------------------------

#[server(prefix = "/fn")]
pub async fn load_workflows() -> Result<Vec<WorkflowInfo>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.workflows_list(&caller).await)
}

#[server(prefix = "/fn")]
pub async fn load_runs(filter: RunFilter) -> Result<RunPage, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.runs_list(&caller, filter).await)
}

#[server(prefix = "/fn")]
pub async fn load_run(id: String) -> Result<RunDetail, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.run_detail(&caller, &id).await)
}

#[server(prefix = "/fn")]
pub async fn load_run_logs(id: String, after_seq: i64) -> Result<Vec<LogLine>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.run_logs(&caller, &id, after_seq).await)
}

/// Starts a run from the form on the workflows page. Form fields are text: `inputs[name]`
/// for each input, and `booleans` names the checkboxes shown, because an unticked checkbox
/// sends nothing and would otherwise take the input's default.
#[server(prefix = "/fn")]
pub async fn do_start_run(
    workflow: String,
    team: Option<String>,
    #[server(default)] inputs: std::collections::BTreeMap<String, String>,
    #[server(default)] booleans: String,
) -> Result<RunDetail, AppError> {
    let (s, caller) = ssr::context()?;
    let mut given: serde_json::Map<String, serde_json::Value> =
        inputs.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    for name in booleans.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        given.entry(name.to_string()).or_insert_with(|| serde_json::Value::String("false".into()));
    }
    let result = s.run_start(&caller, &workflow, StartRun { team: team.clone(), inputs: given }).await;
    if ssr::is_plain_form_post() {
        match &result {
            Ok(d) => leptos_axum::redirect(&format!("/runs/{}", encode(&d.run.id))),
            // Without JavaScript the browser reloads the page: carry the error and what was typed
            // (never the values of secret inputs).
            Err(e) => {
                let secret: Vec<String> = match s.workflow_get(&caller, &workflow).await {
                    Ok(w) => w.definition.inputs.iter().filter(|i| i.secret).map(|i| i.name.clone()).collect(),
                    Err(_) => Vec::new(),
                };
                let mut to = format!("/workflows?wf={}", encode(&workflow));
                if let Some(t) = team.filter(|t| !t.is_empty()) {
                    to.push_str(&format!("&team={}", encode(&t)));
                }
                for (k, v) in inputs.iter().filter(|(k, _)| !secret.contains(k)) {
                    to.push_str(&format!("&in.{}={}", encode(k), encode(v)));
                }
                for name in booleans.split(',').map(str::trim).filter(|n| !n.is_empty() && !inputs.contains_key(*n)) {
                    to.push_str(&format!("&in.{}=false", encode(name)));
                }
                let error = leptos::server_fn::error::ServerFnUrlError::new(<DoStartRun as leptos::server_fn::ServerFn>::PATH, e.clone());
                if let Ok(url) = error.to_url(&format!("http://localhost{to}")) {
                    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
                    leptos_axum::redirect(&format!("{}{query}", url.path()));
                }
            }
        }
    }
    ssr::status(result)
}

#[server(prefix = "/fn")]
pub async fn do_cancel_run(id: String) -> Result<RunDetail, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.run_cancel(&caller, &id).await)
}

#[server(prefix = "/fn")]
pub async fn do_rollback_run(id: String) -> Result<RunDetail, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.run_rollback(&caller, &id).await)
}

/// Starts the run's workflow again with the same inputs; the answer is the new run.
#[server(prefix = "/fn")]
pub async fn do_retry_run(id: String) -> Result<RunDetail, AppError> {
    let (s, caller) = ssr::context()?;
    let result = ssr::status(s.run_retry(&caller, &id).await);
    if let (Ok(d), true) = (&result, ssr::is_plain_form_post()) {
        leptos_axum::redirect(&format!("/runs/{}", encode(&d.run.id)));
    }
    result
}

/// Approves or rejects: `decision` is the value of the button pressed (`approve` or `reject`).
#[server(prefix = "/fn")]
pub async fn do_decide_run(id: String, decision: String, #[server(default)] comment: String) -> Result<RunDetail, AppError> {
    let (s, caller) = ssr::context()?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::field("decision", "Choose Approve or Reject.")),
    };
    ssr::status(s.run_decide(&caller, &id, Decision { approve, comment }).await)
}

#[server(prefix = "/fn")]
pub async fn load_webhook_sources() -> Result<Vec<WebhookSource>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.webhook_sources(&caller).await)
}

/// Creates a webhook source (or gives an existing one a new secret); the answer holds the secret.
#[server(prefix = "/fn")]
pub async fn do_put_webhook_source(name: String, #[server(default)] description: String) -> Result<WebhookSource, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.webhook_source_put(&caller, name.trim(), description.trim()).await)
}

#[server(prefix = "/fn")]
pub async fn do_delete_webhook_source(name: String) -> Result<(), AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.webhook_source_delete(&caller, &name).await)
}

#[server(prefix = "/fn")]
pub async fn load_webhook_deliveries(source: Option<String>) -> Result<Vec<WebhookDelivery>, AppError> {
    let (s, caller) = ssr::context()?;
    ssr::status(s.webhook_deliveries(&caller, source.as_deref().filter(|s| !s.is_empty())).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_always_local() {
        assert_eq!(safe_next(Some("/teams/payments")), "/teams/payments");
        for bad in ["https://evil.example", "//evil.example", "/\\evil", "", "/login?x"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(encode("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }
}
