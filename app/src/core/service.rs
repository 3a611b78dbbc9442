//! Domain services: the one place where a request is authorized, validated, carried out and
//! audited. Server functions and REST handlers only find the caller, call a method here and map
//! the error.

use super::secrets::{self, sha256_hex};
use super::store::*;
use super::{new_id, now, parse_timestamp, timestamp};
use crate::authz::{decide, Action, Decision, Subject};
use crate::error::{AppError, WRONG_CREDENTIALS};
use crate::types::*;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "platform_session";

#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub session_ttl: chrono::Duration,
    /// Failed sign-ins in a row after which the account is locked for a while.
    pub lockout_after: i64,
    /// Add `Secure` to cookies (on when the portal is served over HTTPS).
    pub secure_cookies: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { session_ttl: chrono::Duration::hours(12), lockout_after: 5, secure_cookies: false }
    }
}

#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub config: Arc<AuthConfig>,
    /// Catalog list totals and facet counts, per filter and catalog generation.
    pub counts: Arc<super::catalog::CountCache>,
    /// This replica's workflow engine: its lease name and step types.
    pub engine: Arc<super::engine::Engine>,
    /// Logged searches, written in the background.
    pub search_log: Arc<super::search::SearchLog>,
}

/// A signed-in user, as found from a session cookie or an API token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: UserRecord,
    pub memberships: Vec<Membership>,
    /// Set when the request came with an API token rather than a session.
    pub token_id: Option<String>,
}

impl Principal {
    pub fn subject(&self) -> Subject<'_> {
        Subject { is_admin: self.user.is_admin, memberships: &self.memberships }
    }
}

/// Who is calling and how: put into every request's extensions by the server's auth layer.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub request_id: String,
    /// SHA-256 of the session cookie, when the request carried a valid one.
    pub session_hash: Option<String>,
}

impl Caller {
    pub fn require(&self) -> Result<&Principal, AppError> {
        self.principal.as_ref().ok_or(AppError::Unauthenticated)
    }

    fn actor(&self) -> String {
        self.principal.as_ref().map(|p| p.user.username.clone()).unwrap_or_else(|| "anonymous".into())
    }

    /// A fresh audit entry by this caller.
    pub fn audit(&self, action: &str, target: impl Into<String>) -> AuditDraft {
        AuditDraft {
            at: now(),
            actor: self.actor(),
            action: action.into(),
            target: target.into(),
            team: None,
            before: None,
            after: None,
            decision: "allow".into(),
            reason: String::new(),
            request_id: self.request_id.clone(),
        }
    }

    /// An audit entry for work done by the platform itself (seeding, the command line).
    pub fn system_audit(request_id: &str, action: &str, target: impl Into<String>) -> AuditDraft {
        Caller { principal: None, request_id: request_id.into(), session_hash: None }.audit(action, target).actor("system")
    }
}

impl AuditDraft {
    pub fn team(mut self, team: &str) -> Self {
        self.team = Some(team.into());
        self
    }
    /// Files the entry under the team owning a catalog entity (`group:default/<team>`), so that
    /// Team Leads read changes to their team's entities and docs.
    pub fn owned_by(self, owner_ref: Option<&str>) -> Self {
        match crate::catalog::owner_team(owner_ref) {
            Some(team) => self.team(&team),
            None => self,
        }
    }
    pub fn before<T: Serialize>(mut self, v: &T) -> Self {
        self.before = serde_json::to_string(v).ok();
        self
    }
    pub fn after<T: Serialize>(mut self, v: &T) -> Self {
        self.after = serde_json::to_string(v).ok();
        self
    }
    pub fn deny(mut self, reason: &str) -> Self {
        self.decision = "deny".into();
        self.reason = reason.into();
        self
    }
    pub fn actor(mut self, actor: &str) -> Self {
        self.actor = actor.into();
        self
    }
}

pub(super) fn db(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::Conflict(m),
        StoreError::NotFound => AppError::NotFound("That no longer exists.".into()),
        StoreError::Other(m) => AppError::internal(m),
    }
}

/// Runs CPU-heavy work (password hashing) off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(AppError::internal)
}

/// A hash to verify against when the username is unknown, so that the answer takes as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| secrets::hash_password(&secrets::new_session_id()).unwrap_or_default())
}


// ---- validation -------------------------------------------------------------------------------

/// Lower-case letters, digits, and `-`, `.` or `_` inside; 2 to 64 characters.
pub fn valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=64).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-._".contains(c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

#[derive(Default)]
struct Problems(crate::error::FieldErrors);

impl Problems {
    fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.0.entry(field.into()).or_default().push(message.into());
        }
    }
    fn text(&mut self, value: &str, field: &str, max: usize) {
        self.check(!value.trim().is_empty(), field, "This field is required.");
        self.check(value.chars().count() <= max, field, &format!("Use at most {max} characters."));
    }
    fn email(&mut self, value: &str) {
        let ok = value.len() <= 254 && value.split_once('@').is_some_and(|(a, d)| !a.is_empty() && d.contains('.'));
        self.check(ok, "email", "Enter an email address like name@example.com.");
    }
    fn done(self) -> Result<(), AppError> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Validation(self.0)) }
    }
}

// ---- views ------------------------------------------------------------------------------------

fn user_view(u: &UserRecord, memberships: Vec<Membership>) -> User {
    User {
        id: u.id.clone(),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        is_admin: u.is_admin,
        disabled: u.disabled,
        created_at: u.created_at.clone(),
        version: u.version,
        memberships,
    }
}

fn team_view(t: &TeamRecord) -> Team {
    Team {
        slug: t.slug.clone(),
        display_name: t.display_name.clone(),
        description: t.description.clone(),
        member_count: t.member_count,
    }
}

fn token_view(t: &TokenRecord) -> ApiToken {
    ApiToken {
        id: t.id.clone(),
        name: t.name.clone(),
        prefix: t.prefix.clone(),
        created_at: t.created_at.clone(),
        expires_at: t.expires_at.clone(),
        last_used_at: t.last_used_at.clone(),
        revoked_at: t.revoked_at.clone(),
    }
}

/// What the audit trail records about a user: never the password hash.
#[derive(Serialize)]
struct UserAudit<'a> {
    username: &'a str,
    display_name: &'a str,
    email: &'a str,
    is_admin: bool,
    disabled: bool,
}

fn user_audit(u: &UserRecord) -> UserAudit<'_> {
    UserAudit {
        username: &u.username,
        display_name: &u.display_name,
        email: &u.email,
        is_admin: u.is_admin,
        disabled: u.disabled,
    }
}

impl Services {
    pub fn new(store: Arc<dyn Store>, config: AuthConfig) -> Self {
        Services { store, config: Arc::new(config), counts: Arc::default(), engine: Arc::default(), search_log: Arc::default() }
    }

    /// Allows, or records the refusal in the audit trail and answers 403 with the reason.
    pub(crate) async fn authorize(&self, caller: &Caller, action: Action<'_>, audit: AuditDraft) -> Result<(), AppError> {
        let p = caller.require()?;
        match decide(&p.subject(), action) {
            Decision::Allow | Decision::AllowAudited(_) => Ok(()),
            Decision::Deny(why) => {
                self.store.append_audit(audit.deny(&why)).await.map_err(db)?;
                Err(AppError::Forbidden(why))
            }
        }
    }

    async fn principal_for(&self, user: UserRecord, token_id: Option<String>) -> Result<Option<Principal>, AppError> {
        if user.disabled {
            return Ok(None);
        }
        let memberships = self.store.memberships_of(&user.id).await.map_err(db)?;
        Ok(Some(Principal { user, memberships, token_id }))
    }

    // ---- authentication ---------------------------------------------------------------------

    pub async fn authenticate_session(&self, cookie_value: &str) -> Result<Option<(Principal, String)>, AppError> {
        let hash = sha256_hex(cookie_value);
        let Some(s) = self.store.session(&hash).await.map_err(db)? else { return Ok(None) };
        if s.expires_at <= now() {
            return Ok(None);
        }
        let Some(user) = self.store.user_by_id(&s.user_id).await.map_err(db)? else { return Ok(None) };
        Ok(self.principal_for(user, None).await?.map(|p| (p, hash)))
    }

    pub async fn authenticate_token(&self, secret: &str) -> Result<Option<Principal>, AppError> {
        if !secret.starts_with(secrets::TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = sha256_hex(secret);
        let Some(t) = self.store.token_by_hash(&hash).await.map_err(db)? else { return Ok(None) };
        let at = now();
        if t.revoked_at.is_some() || t.expires_at <= at || !secrets::constant_time_eq(&t.secret_hash, &hash) {
            return Ok(None);
        }
        // Record use at most once a minute, so automation does not turn every read into a write.
        let stale = t.last_used_at.as_deref().and_then(parse_timestamp).is_none_or(|last| {
            chrono::Utc::now() - last > chrono::Duration::minutes(1)
        });
        if stale {
            self.store.touch_token(&t.id, &at).await.map_err(db)?;
        }
        let Some(user) = self.store.user_by_id(&t.user_id).await.map_err(db)? else { return Ok(None) };
        self.principal_for(user, Some(t.id)).await
    }

    /// Checks the credentials and opens a session. Returns the cookie value (shown to no one else).
    pub async fn login(&self, caller: &Caller, username: &str, password: &str) -> Result<(String, Principal), AppError> {
        let username = username.trim().to_lowercase();
        let audit = caller.audit("auth.login", format!("user:{username}")).actor(&username);
        let password_owned = password.to_string();
        let Some(user) = self.store.user_by_username(&username).await.map_err(db)? else {
            blocking(move || secrets::verify_password(&password_owned, dummy_hash())).await?;
            self.store.append_audit(audit.actor("anonymous").deny("unknown username")).await.map_err(db)?;
            return Err(AppError::InvalidCredentials(WRONG_CREDENTIALS.into()));
        };
        let now_t = chrono::Utc::now();
        if let Some(until) = user.locked_until.as_deref().and_then(parse_timestamp).filter(|u| *u > now_t) {
            let minutes = ((until - now_t).num_seconds() + 59) / 60;
            self.store.append_audit(audit.deny("account locked after repeated failed sign-ins")).await.map_err(db)?;
            return Err(AppError::TooManyRequests(format!(
                "Too many failed sign-ins: this account is locked for {minutes} more minute(s). \
                 Wait, or ask a Platform Admin to help."
            )));
        }
        let phc = user.password_hash.clone();
        let ok = blocking(move || secrets::verify_password(&password_owned, &phc)).await?;
        if !ok {
            let failed = user.failed_logins + 1;
            let locked_until = (failed >= self.config.lockout_after).then(|| {
                let minutes = 1i64 << (failed - self.config.lockout_after).min(4);
                timestamp(now_t + chrono::Duration::minutes(minutes))
            });
            self.store.set_login_state(&user.id, failed, locked_until.as_deref()).await.map_err(db)?;
            self.store.append_audit(audit.deny("wrong password")).await.map_err(db)?;
            return Err(AppError::InvalidCredentials(WRONG_CREDENTIALS.into()));
        }
        if user.disabled {
            self.store.append_audit(audit.deny("account disabled")).await.map_err(db)?;
            return Err(AppError::Forbidden("This account is disabled. Ask a Platform Admin to enable it.".into()));
        }
        if user.failed_logins > 0 || user.locked_until.is_some() {
            self.store.set_login_state(&user.id, 0, None).await.map_err(db)?;
        }
        let secret = secrets::new_session_id();
        let session = SessionRecord {
            id_hash: sha256_hex(&secret),
            user_id: user.id.clone(),
            created_at: timestamp(now_t),
            expires_at: timestamp(now_t + self.config.session_ttl),
        };
        self.store.insert_session(&session, audit).await.map_err(db)?;
        let principal = self.principal_for(user, None).await?.ok_or(AppError::Unauthenticated)?;
        Ok((secret, principal))
    }

    pub async fn logout(&self, caller: &Caller) -> Result<(), AppError> {
        if let (Some(hash), Some(p)) = (&caller.session_hash, &caller.principal) {
            let audit = caller.audit("auth.logout", format!("user:{}", p.user.username));
            self.store.delete_session(hash, Some(audit)).await.map_err(db)?;
        }
        Ok(())
    }

    /// The `Set-Cookie` value for a new session.
    pub fn session_cookie(&self, secret: &str) -> String {
        let secure = if self.config.secure_cookies { "; Secure" } else { "" };
        let age = self.config.session_ttl.num_seconds();
        format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}")
    }

    pub fn clear_session_cookie(&self) -> String {
        let secure = if self.config.secure_cookies { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }

    // ---- the signed-in user -----------------------------------------------------------------

    pub fn me(&self, caller: &Caller) -> Result<Me, AppError> {
        let p = caller.require()?;
        Ok(Me {
            id: p.user.id.clone(),
            username: p.user.username.clone(),
            display_name: p.user.display_name.clone(),
            email: p.user.email.clone(),
            is_admin: p.user.is_admin,
            memberships: p.memberships.clone(),
        })
    }

    pub async fn change_password(&self, caller: &Caller, change: PasswordChange) -> Result<(), AppError> {
        let p = caller.require()?;
        let mut problems = Problems::default();
        if let Some(why) = secrets::password_problem(&change.new_password) {
            problems.check(false, "new_password", &why);
        }
        problems.done()?;
        let phc = p.user.password_hash.clone();
        let current = change.current_password.clone();
        if !blocking(move || secrets::verify_password(&current, &phc)).await? {
            return Err(AppError::field("current_password", "This is not your current password."));
        }
        let new = change.new_password.clone();
        let hash = blocking(move || secrets::hash_password(&new)).await?.map_err(AppError::internal)?;
        let mut user = p.user.clone();
        user.password_hash = hash;
        user.version += 1;
        user.updated_at = now();
        let audit = caller.audit("user.password_changed", format!("user:{}", user.username));
        self.store.update_user(&user, Some(audit)).await.map_err(db)
    }

    // ---- users ------------------------------------------------------------------------------

    pub async fn list_users(&self, caller: &Caller) -> Result<Vec<User>, AppError> {
        caller.require()?;
        let users = self.store.list_users().await.map_err(db)?;
        let mut out = Vec::with_capacity(users.len());
        for u in &users {
            out.push(user_view(u, self.store.memberships_of(&u.id).await.map_err(db)?));
        }
        Ok(out)
    }

    /// One user with their memberships (two indexed lookups, not the whole directory).
    pub async fn get_user(&self, caller: &Caller, username: &str) -> Result<User, AppError> {
        caller.require()?;
        let user = self
            .store
            .user_by_username(&username.trim().to_lowercase())
            .await
            .map_err(db)?
            .ok_or_else(|| AppError::NotFound(format!("There is no user named {username}.")))?;
        let memberships = self.store.memberships_of(&user.id).await.map_err(db)?;
        Ok(user_view(&user, memberships))
    }

    pub async fn create_user(&self, caller: &Caller, new: NewUser) -> Result<User, AppError> {
        let username = new.username.trim().to_lowercase();
        let audit = caller.audit("user.create", format!("user:{username}"));
        self.authorize(caller, Action::ManageUsers, audit.clone()).await?;
        self.insert_user(audit, new).await
    }

    /// Creates a user with no caller check: for `create_user` above, seeding and the command line.
    pub async fn insert_user(&self, audit: AuditDraft, new: NewUser) -> Result<User, AppError> {
        let username = new.username.trim().to_lowercase();
        let mut problems = Problems::default();
        problems.check(valid_name(&username), "username", "Use 2-64 lower-case letters, digits, '-', '.' or '_', starting and ending with a letter or digit.");
        problems.text(&new.display_name, "display_name", 100);
        problems.email(new.email.trim());
        if let Some(why) = secrets::password_problem(&new.password) {
            problems.check(false, "password", &why);
        }
        problems.done()?;
        let password = new.password.clone();
        let hash = blocking(move || secrets::hash_password(&password)).await?.map_err(AppError::internal)?;
        let at = now();
        let user = UserRecord {
            id: new_id(),
            username,
            display_name: new.display_name.trim().into(),
            email: new.email.trim().into(),
            password_hash: hash,
            is_admin: new.is_admin,
            disabled: false,
            failed_logins: 0,
            locked_until: None,
            created_at: at.clone(),
            updated_at: at,
            version: 1,
        };
        let audit = audit.after(&user_audit(&user));
        match self.store.insert_user(&user, audit).await {
            Err(StoreError::Conflict(_)) => Err(AppError::field("username", "That username is taken.")),
            other => other.map_err(db),
        }?;
        Ok(user_view(&user, vec![]))
    }

    pub async fn update_user(&self, caller: &Caller, username: &str, change: UserUpdate) -> Result<User, AppError> {
        let audit = caller.audit("user.update", format!("user:{username}"));
        self.authorize(caller, Action::ManageUsers, audit.clone()).await?;
        let me = caller.require()?;
        let Some(before) = self.store.user_by_username(username).await.map_err(db)? else {
            return Err(AppError::NotFound(format!("There is no user named {username}.")));
        };
        if before.version != change.version {
            return Err(AppError::Conflict(format!(
                "{username} was changed by someone else since you loaded it. Reload to see their change, then try again."
            )));
        }
        let mut user = before.clone();
        let mut problems = Problems::default();
        if let Some(name) = &change.display_name {
            problems.text(name, "display_name", 100);
            user.display_name = name.trim().into();
        }
        if let Some(email) = &change.email {
            problems.email(email.trim());
            user.email = email.trim().into();
        }
        if let Some(disabled) = change.disabled {
            problems.check(!(disabled && before.id == me.user.id), "disabled", "You cannot disable your own account.");
            user.disabled = disabled;
        }
        if let Some(is_admin) = change.is_admin {
            problems.check(is_admin || before.id != me.user.id, "is_admin", "You cannot remove your own Platform Admin role.");
            user.is_admin = is_admin;
        }
        problems.done()?;
        user.version += 1;
        user.updated_at = now();
        let audit = audit.before(&user_audit(&before)).after(&user_audit(&user));
        self.store.update_user(&user, Some(audit)).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict(format!(
                "{username} was changed by someone else at the same time. Reload and try again."
            )),
            e => db(e),
        })?;
        if user.disabled && !before.disabled {
            self.store.delete_sessions_of(&user.id).await.map_err(db)?;
        }
        let memberships = self.store.memberships_of(&user.id).await.map_err(db)?;
        Ok(user_view(&user, memberships))
    }

    // ---- teams ------------------------------------------------------------------------------

    pub async fn list_teams(&self, caller: &Caller) -> Result<Vec<Team>, AppError> {
        caller.require()?;
        Ok(self.store.list_teams().await.map_err(db)?.iter().map(team_view).collect())
    }

    async fn team(&self, slug: &str) -> Result<TeamRecord, AppError> {
        self.store
            .team_by_slug(slug)
            .await
            .map_err(db)?
            .ok_or_else(|| AppError::NotFound(format!("There is no team named {slug}.")))
    }

    pub async fn get_team(&self, caller: &Caller, slug: &str) -> Result<TeamDetail, AppError> {
        caller.require()?;
        let team = self.team(slug).await?;
        let members = self.store.members_of(&team.id).await.map_err(db)?;
        Ok(TeamDetail { team: team_view(&team), members })
    }

    pub async fn create_team(&self, caller: &Caller, new: NewTeam) -> Result<Team, AppError> {
        let slug = new.slug.trim().to_lowercase();
        let audit = caller.audit("team.create", format!("team:{slug}")).team(&slug);
        self.authorize(caller, Action::ManageTeams, audit.clone()).await?;
        self.insert_team(audit, new).await
    }

    pub async fn insert_team(&self, audit: AuditDraft, new: NewTeam) -> Result<Team, AppError> {
        let slug = new.slug.trim().to_lowercase();
        let mut problems = Problems::default();
        problems.check(valid_name(&slug), "slug", "Use 2-64 lower-case letters, digits, '-', '.' or '_', starting and ending with a letter or digit.");
        problems.text(&new.display_name, "display_name", 100);
        problems.check(new.description.chars().count() <= 1000, "description", "Use at most 1000 characters.");
        problems.done()?;
        let team = TeamRecord {
            id: new_id(),
            slug,
            display_name: new.display_name.trim().into(),
            description: new.description.trim().into(),
            created_at: now(),
            member_count: 0,
        };
        let audit = audit.after(&team_view(&team));
        match self.store.insert_team(&team, audit).await {
            Err(StoreError::Conflict(_)) => Err(AppError::field("slug", "A team with this name exists.")),
            other => other.map_err(db),
        }?;
        Ok(team_view(&team))
    }

    pub async fn delete_team(&self, caller: &Caller, slug: &str) -> Result<(), AppError> {
        let audit = caller.audit("team.delete", format!("team:{slug}")).team(slug);
        self.authorize(caller, Action::ManageTeams, audit.clone()).await?;
        let team = self.team(slug).await?;
        let members = self.store.members_of(&team.id).await.map_err(db)?;
        let audit = audit.before(&TeamDetail { team: team_view(&team), members });
        self.store.delete_team(&team.id, audit).await.map_err(db)
    }

    pub async fn change_membership(&self, caller: &Caller, slug: &str, change: MembershipChange) -> Result<TeamDetail, AppError> {
        caller.require()?;
        let team = self.team(slug).await?;
        let username = change.username.trim().to_lowercase();
        let Some(user) = self.store.user_by_username(&username).await.map_err(db)? else {
            return Err(AppError::field("username", format!("There is no user named {username}.")));
        };
        if change.role == Some(Role::PlatformAdmin) {
            return Err(AppError::field("role", "Platform Admin is granted on the user, not in a team."));
        }
        let from = self.store.memberships_of(&user.id).await.map_err(db)?.into_iter().find(|m| m.team == team.slug).map(|m| m.role);
        let audit = caller
            .audit(if change.role.is_some() { "team.member.set" } else { "team.member.remove" }, format!("user:{username}"))
            .team(&team.slug)
            .before(&from)
            .after(&change.role);
        self.authorize(caller, Action::ChangeMembership { team: &team.slug, from, to: change.role }, audit.clone()).await?;
        if from != change.role {
            self.store.set_membership(&team.id, &user.id, change.role, audit).await.map_err(db)?;
        }
        self.get_team(caller, slug).await
    }

    pub async fn list_environments(&self, caller: &Caller) -> Result<Vec<Environment>, AppError> {
        caller.require()?;
        self.store.list_environments().await.map_err(db)
    }

    // ---- API tokens ---------------------------------------------------------------------------

    pub async fn list_tokens(&self, caller: &Caller) -> Result<Vec<ApiToken>, AppError> {
        let p = caller.require()?;
        Ok(self.store.tokens_of(&p.user.id).await.map_err(db)?.iter().map(token_view).collect())
    }

    pub async fn create_token(&self, caller: &Caller, new: NewToken) -> Result<CreatedToken, AppError> {
        let p = caller.require()?;
        let days = new.expires_in_days.unwrap_or(90);
        let mut problems = Problems::default();
        problems.text(&new.name, "name", 64);
        problems.check((1..=365).contains(&days), "expires_in_days", "Choose between 1 and 365 days.");
        problems.done()?;
        let secret = secrets::new_token_secret();
        let t = chrono::Utc::now();
        let token = TokenRecord {
            id: new_id(),
            user_id: p.user.id.clone(),
            name: new.name.trim().into(),
            prefix: secrets::token_display_prefix(&secret),
            secret_hash: sha256_hex(&secret),
            created_at: timestamp(t),
            expires_at: timestamp(t + chrono::Duration::days(days)),
            last_used_at: None,
            revoked_at: None,
        };
        let view = token_view(&token);
        let audit = caller.audit("token.create", format!("token:{}", token.prefix)).after(&view);
        self.store.insert_token(&token, audit).await.map_err(db)?;
        Ok(CreatedToken { token: view, secret })
    }

    pub async fn revoke_token(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        let p = caller.require()?;
        let Some(token) = self.store.tokens_of(&p.user.id).await.map_err(db)?.into_iter().find(|t| t.id == id) else {
            return Err(AppError::NotFound("You have no token with this id.".into()));
        };
        if token.revoked_at.is_some() {
            return Ok(());
        }
        let before = token_view(&token);
        let mut after = before.clone();
        let at = now();
        after.revoked_at = Some(at.clone());
        let audit = caller.audit("token.revoke", format!("token:{}", token.prefix)).before(&before).after(&after);
        self.store.revoke_token(&token.id, &at, audit).await.map_err(db)
    }

    // ---- audit trail ------------------------------------------------------------------------

    pub async fn audit(&self, caller: &Caller, q: AuditQuery) -> Result<Vec<AuditEntry>, AppError> {
        let p = caller.require()?;
        let s = p.subject();
        let teams = if decide(&s, Action::ReadAudit { team: None }).allowed() {
            None
        } else {
            let led: Vec<String> = p.memberships.iter().filter(|m| s.leads(&m.team)).map(|m| m.team.clone()).collect();
            if led.is_empty() {
                return Err(AppError::Forbidden(
                    "The audit trail is for Team Leads (their teams' entries) and Platform Admins.".into(),
                ));
            }
            Some(led)
        };
        let limit = q.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(AppError::field("limit", "Choose a limit between 1 and 500."));
        }
        let filter = AuditFilter {
            action_prefix: q.action.filter(|a| !a.trim().is_empty()).map(|a| a.trim().to_string()),
            actor: q.actor.filter(|a| !a.trim().is_empty()).map(|a| a.trim().to_lowercase()),
            teams,
            before: q.before,
            limit,
        };
        Ok(self.store.list_audit(&filter).await.map_err(db)?.iter().map(AuditRow::to_entry).collect())
    }

    /// Checks the whole chain. `caller` None is the command line (whoever can read the database).
    pub async fn verify_audit(&self, caller: Option<&Caller>) -> Result<ChainReport, AppError> {
        if let Some(c) = caller {
            self.authorize(c, Action::VerifyAudit, c.audit("audit.verify", "audit")).await?;
        }
        let mut v = super::audit::Verifier::default();
        let mut after = 0;
        loop {
            let page = self.store.audit_chain(after, 1000).await.map_err(db)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            if !page.iter().all(|r| v.feed(r)) {
                break;
            }
        }
        Ok(v.report())
    }

    /// The whole trail, oldest first, for export (admins only).
    pub async fn export_audit(&self, caller: &Caller, after: i64, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
        self.authorize(caller, Action::VerifyAudit, caller.audit("audit.export", "audit")).await?;
        Ok(self.store.audit_chain(after, limit).await.map_err(db)?.iter().map(AuditRow::to_entry).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names() {
        for ok in ["ab", "alice", "team-payments", "a.b_c", "x1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["a", "Alice", "-a", "a-", "a b", "ä1", &"a".repeat(65), ""] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
