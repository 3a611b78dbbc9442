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
