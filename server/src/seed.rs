//! The demo organisation, seeded into an empty database on first start (unless PLATFORM_DEMO=false).

use app::core::{Caller, Services};
use app::error::AppError;
use app::types::{MembershipChange, NewTeam, NewUser, Role};

pub const DEMO_PASSWORD: &str = "demo-password";

/// (username, display name, role in team `payments`; None for the Platform Admin).
pub const DEMO_USERS: [(&str, &str, Option<Role>); 5] = [
    ("viewer", "Vera Viewer", Some(Role::Viewer)),
    ("junior", "Jun Junior", Some(Role::JuniorDeveloper)),
    ("senior", "Sam Senior", Some(Role::SeniorDeveloper)),
    ("lead", "Lee Lead", Some(Role::TeamLead)),
    ("admin", "Ada Admin", None),
];

const DEMO_TEAMS: [(&str, &str, &str); 3] = [
    ("payments", "Payments", "Card payments, refunds and payouts."),
    ("checkout", "Checkout", "Basket, checkout flow and order confirmation."),
    ("platform", "Platform", "The platform team: templates, policies and this portal."),
];

/// Seeds the demo catalog and its docs (see `demo_catalog`) if the catalog is empty. Returns the
/// catalog's apply report.
pub async fn seed_demo_catalog(services: &Services) -> Result<Option<app::types::ApplyReport>, AppError> {
    let empty = app::core::store::CatalogFilter { limit: 1, ..Default::default() };
    if services.store.catalog_count(&empty).await.map_err(AppError::internal)? > 0 {
        return Ok(None);
    }
    let yaml = crate::demo_catalog::demo_catalog();
    let report = services.apply_catalog(app::core::catalog::Applier::System, &yaml, "seed").await?;
    for (entity, path, title, markdown) in crate::demo_catalog::demo_docs() {
        services.put_doc_as_system(entity.as_deref(), &path, &title, &markdown, "seed").await?;
    }
    Ok(Some(report))
}

/// Seeds the demo organisation if the database has no users yet. Returns whether it did.
pub async fn seed_demo(services: &Services) -> Result<bool, AppError> {
    if services.store.user_count().await.map_err(AppError::internal)? > 0 {
        return Ok(false);
    }
    for (slug, name, description) in DEMO_TEAMS {
        let audit = Caller::system_audit("seed", "team.create", format!("team:{slug}")).team(slug);
        let new = NewTeam { slug: slug.into(), display_name: name.into(), description: description.into() };
        services.insert_team(audit, new).await?;
    }
    for (username, name, _) in DEMO_USERS {
        let audit = Caller::system_audit("seed", "user.create", format!("user:{username}"));
        let new = NewUser {
            username: username.into(),
            display_name: name.into(),
            email: format!("{username}@example.com"),
            password: DEMO_PASSWORD.into(),
            is_admin: username == "admin",
        };
        services.insert_user(audit, new).await?;
    }
    // Memberships are granted by the admin, as they would be in real life, so the audit trail
    // shows a realistic history.
    let admin = services.store.user_by_username("admin").await.map_err(AppError::internal)?.ok_or(AppError::Unauthenticated)?;
    let memberships = services.store.memberships_of(&admin.id).await.map_err(AppError::internal)?;
    let admin_caller = Caller {
        principal: Some(app::core::Principal { user: admin, memberships, token_id: None }),
        request_id: "seed".into(),
        session_hash: None,
    };
    let mut grants: Vec<(&str, &str, Role)> = DEMO_USERS.iter().filter_map(|(u, _, r)| r.map(|r| ("payments", *u, r))).collect();
    grants.extend([("checkout", "senior", Role::JuniorDeveloper), ("checkout", "viewer", Role::Viewer), ("platform", "admin", Role::TeamLead)]);
    for (team, username, role) in grants {
        services.change_membership(&admin_caller, team, MembershipChange { username: username.into(), role: Some(role) }).await?;
    }
    Ok(true)
}

/// The demo workflows: a release that shows retries, a signed webhook call, a sleep, an
/// approval, a git tag and (on request) an automatic rollback; a workflow started by that
/// webhook; and an hourly self-check on a schedule.
pub fn demo_workflows(repo: &std::path::Path) -> Vec<String> {
    let repo = repo.display().to_string().replace('"', "");
    vec![
        format!(
            r#"name: demo-release
title: Release a service (demo)
description: >-
  Announces a release, runs preflight checks that fail twice before they pass (to show retries),
  tells CI through a signed webhook, bakes for two seconds, waits for the Team Lead's approval,
  tags the repository and runs smoke tests. Untick "Smoke tests pass" to watch it roll back by
  itself, or roll it back by hand when it is done.
inputs:
  - name: service
    title: Service
    help: The service to release.
    required: true
    default: payments-api
  - name: version
    title: Version
    required: true
    default: "1.4.0"
  - name: smoke_test_passes
    title: Smoke tests pass
    type: boolean
    default: true
    advanced: true
    help: Untick to make the last step fail and see the automatic rollback.
steps:
  - id: announce
    title: Announce the release
    type: emit
    with:
      kind: release.started
      payload: {{ service: "{{{{ inputs.service }}}}", version: "{{{{ inputs.version }}}}" }}
  - id: preflight
    title: Preflight checks
    type: noop
    inject_failures: 2
    retry: {{ max_attempts: 4, backoff_ms: 1000 }}
  - id: notify-ci
    title: Notify CI (signed webhook)
    type: http
    with:
      url: /api/v1/hooks/demo
      sign_with: demo
      body: {{ event: release, service: "{{{{ inputs.service }}}}", version: "{{{{ inputs.version }}}}", run: "{{{{ run.id }}}}" }}
      undo:
        url: /api/v1/hooks/demo
        body: {{ event: release-reverted, service: "{{{{ inputs.service }}}}", version: "{{{{ inputs.version }}}}", run: "{{{{ run.id }}}}" }}
  - id: bake
    title: Bake for a moment
    type: sleep
    with: {{ seconds: 2 }}
  - id: approve
    title: Team Lead approval
    type: approval
    with: {{ role: team_lead, deadline_minutes: 60 }}
  - id: tag
    title: Tag the release
    type: git
    with:
      repo: "{repo}"
      tag: "{{{{ inputs.service }}}}-v{{{{ inputs.version }}}}-{{{{ run.id }}}}"
      message: "Release {{{{ inputs.service }}}} {{{{ inputs.version }}}}"
  - id: smoke-test
    title: Smoke tests
    type: check
    retry: {{ max_attempts: 1 }}
    with:
      ok: "{{{{ inputs.smoke_test_passes }}}}"
      message: Smoke tests failed after the release.
"#
        ),
        r#"name: ci-notification
title: Record a CI notification
description: Started by every delivery to the `demo` webhook source; records the release it reports as an event.
on:
  events: [webhook.demo]
  team: platform
inputs:
  - name: service
    title: Service
    default: unknown
  - name: version
    title: Version
    default: unknown
  - name: event
    title: What happened
    help: release or release-reverted, as CI reports it.
    default: release
steps:
  - id: record
    title: Record the notification
    type: emit
    with:
      kind: ci.notified
      payload: { service: "{{ inputs.service }}", version: "{{ inputs.version }}", event: "{{ inputs.event }}" }
"#
        .to_string(),
        r#"name: portal-self-check
title: Portal self-check (hourly)
description: Calls the portal's own readiness check every hour, so a broken database connection shows up as a failed run.
on:
  schedule: "0 * * * *"
  team: platform
steps:
  - id: ready
    title: Readiness check
    type: http
    retry: { max_attempts: 3, backoff_ms: 2000 }
    with: { url: /readyz, method: GET }
"#
        .to_string(),
    ]
}

/// Seeds the demo workflows, the `demo` webhook source and a git repository for the release
/// workflow to tag, when there are no workflows yet.
pub async fn seed_demo_workflows(services: &Services, repo: &std::path::Path) -> Result<bool, AppError> {
    if !services.store.workflows().await.map_err(AppError::internal)?.is_empty() {
        return Ok(false);
    }
    if let Err(e) = init_demo_repo(repo) {
        tracing::warn!(error = %e, "the demo release workflow's git repository could not be created; its tag step will fail");
    }
    for text in demo_workflows(repo) {
        let def = Services::parse_workflow(&text)?;
        let audit = Caller::system_audit("seed", "workflow.put", format!("workflow:{}", def.name));
        services.put_workflow(def, None, Some(audit)).await?;
    }
    let source = app::workflow::WebhookSource {
        name: "demo".into(),
        description: "CI notifications sent by the demo release workflow.".into(),
        created_by: "system".into(),
        created_at: app::core::now(),
        secret: None,
    };
    let secret = format!("whs_{}", app::core::secrets::new_session_id());
    let audit = Caller::system_audit("seed", "webhook.put", "webhook:demo");
    services.store.webhook_source_put(&source, &secret, audit).await.map_err(AppError::internal)?;
    Ok(true)
}

fn init_demo_repo(dir: &std::path::Path) -> Result<(), String> {
    if dir.join(".git").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(dir.join("README.md"), "# payments-api\n\nA demo repository that the demo release workflow tags.\n").map_err(|e| e.to_string())?;
    let repo = dir.display().to_string();
    for args in [&["init", "-q"][..], &["add", "README.md"], &["commit", "-q", "-m", "Initial commit"]] {
        crate::steps::git(&repo, args).map_err(|f| f.message)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_workflows_are_valid() {
        let texts = super::demo_workflows(std::path::Path::new("/tmp/repo"));
        for text in &texts {
            let def = app::core::Services::parse_workflow(text).unwrap_or_else(|e| panic!("{e:?} in\n{text}"));
            assert!(!def.title.is_empty());
        }
        let release = app::core::Services::parse_workflow(&texts[0]).unwrap();
        let kinds: Vec<&str> = release.steps.iter().map(|s| s.kind.as_str()).collect();
        assert_eq!(kinds, ["emit", "noop", "http", "sleep", "approval", "git", "check"], "retries, a signed call, an approval, a tag, a gate");
        assert_eq!(release.steps[1].inject_failures, 2);
    }
}
