//! Authorization: one pure decision function, called by every server function and REST handler.
//! The browser calls it too, but only to hide what would be refused; the server decides.
//!
//! The rules follow the roles in PRODUCT.md:
//! - everyone signed in reads the directory (users, teams, environments) and manages their own tokens;
//! - Junior Developers deploy to development and staging and read logs everywhere, production included;
//! - Senior Developers also create services from templates and get audited emergency production access;
//! - members of a team (Junior Developer and up) edit the catalog entities their team owns;
//! - Team Leads deploy to production for their team, manage their team's members (granting roles
//!   below Team Lead), approve budget changes, see cost analytics and read their team's audit trail;
//! - Platform Admins may do everything, and only they manage users, teams, Team Leads and admins.

use crate::types::{Membership, Role, Tier};

/// Who is asking: their organisation-wide admin flag and their team memberships.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub is_admin: bool,
    pub memberships: &'a [Membership],
}

/// What they want to do. Team- and environment-scoped actions carry their scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    ReadDirectory,
    ManageOwnAccount,
    ManageUsers,
    ManageTeams,
    /// Grant `to` (or remove, when `to` is None) in `team` to someone who now holds `from`.
    ChangeMembership { team: &'a str, from: Option<Role>, to: Option<Role> },
    /// Read audit entries of one team, or organisation-wide entries when `team` is None.
    ReadAudit { team: Option<&'a str> },
    VerifyAudit,
    Deploy { team: &'a str, tier: Tier },
    ReadLogs { team: &'a str, tier: Tier },
    EmergencyAccess { team: &'a str, tier: Tier },
    CreateFromTemplate { team: &'a str },
    ApproveBudget { team: &'a str },
    /// Create, change or delete a catalog entity owned by `team` (None: owned by no team).
    EditEntity { team: Option<&'a str> },
    ReadCostAnalytics { team: &'a str },
    /// Register, refresh and remove catalog locations.
    ManageLocations,
    /// Read search analytics (every query people ran).
    ReadSearchAnalytics,
    /// Write and delete standalone guides in the documentation hub.
    WriteGuides,
    /// Start a run of a workflow for `team`; the workflow names the role it needs.
    StartWorkflow { team: &'a str, role: Role },
    /// Cancel or retry a run of `team` (None: a run that no team owns).
    OperateRun { team: Option<&'a str> },
    /// Roll back a run of `team`.
    RollbackRun { team: Option<&'a str> },
    /// Approve or reject an approval step that asks for `role` in `team`.
    ApproveRun { team: Option<&'a str>, role: Role },
    /// Define workflows and webhook sources, read webhook deliveries.
    ManageWorkflows,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed, and the use must be recorded in the audit trail with extra attention.
    AllowAudited(&'static str),
    Deny(String),
}

impl Decision {
    pub fn allowed(&self) -> bool {
        !matches!(self, Decision::Deny(_))
    }
}

impl Subject<'_> {
    /// The role held in `team`, Platform Admin counting everywhere.
    pub fn role_in(&self, team: &str) -> Option<Role> {
        if self.is_admin {
            return Some(Role::PlatformAdmin);
        }
        self.memberships.iter().filter(|m| m.team == team).map(|m| m.role).max()
    }

    /// The highest role held anywhere.
    pub fn highest_role(&self) -> Role {
        if self.is_admin {
            return Role::PlatformAdmin;
        }
        self.memberships.iter().map(|m| m.role).max().unwrap_or(Role::Viewer)
    }

    pub fn leads(&self, team: &str) -> bool {
        self.role_in(team).is_some_and(|r| r >= Role::TeamLead)
    }
}

/// Decides whether `subject` may perform `action`. Pure: no I/O, no clock.
pub fn decide(subject: &Subject, action: Action) -> Decision {
    use Action::*;
    if subject.is_admin {
        return match action {
            EmergencyAccess { .. } => Decision::AllowAudited("emergency access by a Platform Admin"),
            _ => Decision::Allow,
        };
    }
    let at_least = |team: &str, role: Role| subject.role_in(team).is_some_and(|r| r >= role);
    let deny = |why: &str| Decision::Deny(why.to_string());
    match action {
        ReadDirectory | ManageOwnAccount => Decision::Allow,
        ManageUsers => deny("Only Platform Admins manage user accounts."),
        ManageTeams => deny("Only Platform Admins create and delete teams."),
        VerifyAudit => deny("Only Platform Admins verify and export the audit trail."),
        ManageLocations => deny("Only Platform Admins register and remove catalog locations."),
        ReadSearchAnalytics => deny("Only Platform Admins read search analytics."),
        WriteGuides if subject.memberships.iter().any(|m| m.role >= Role::TeamLead) => Decision::Allow,
        WriteGuides => deny("Team Leads and Platform Admins write the documentation hub's guides; entity docs are written by the owning team."),
        ChangeMembership { team, from, to } => {
            if !subject.leads(team) {
                return deny("Only the team's Team Leads and Platform Admins manage its members.");
            }
            if from.is_some_and(|r| r >= Role::TeamLead) || to.is_some_and(|r| r >= Role::TeamLead) {
                return deny("Only Platform Admins grant or change the Team Lead role.");
            }
            Decision::Allow
        }
        ReadAudit { team: Some(team) } if subject.leads(team) => Decision::Allow,
        ReadAudit { .. } => deny("Team Leads read their own teams' audit entries; the rest is for Platform Admins."),
        Deploy { team, tier } => match tier {
            Tier::Development | Tier::Staging if at_least(team, Role::JuniorDeveloper) => Decision::Allow,
            Tier::Production if at_least(team, Role::TeamLead) => Decision::Allow,
            Tier::Production => deny("Deploying to production needs the team's Team Lead (or emergency access)."),
            _ => deny("Deploying needs at least the Junior Developer role in the owning team."),
        },
        ReadLogs { team, .. } if at_least(team, Role::JuniorDeveloper) => Decision::Allow,
        ReadLogs { .. } => deny("Reading logs needs at least the Junior Developer role in the owning team."),
        EmergencyAccess { team, tier: Tier::Production } if at_least(team, Role::SeniorDeveloper) => {
            Decision::AllowAudited("emergency production access")
        }
        EmergencyAccess { .. } => deny("Emergency production access needs the Senior Developer role in the owning team."),
        CreateFromTemplate { team } if at_least(team, Role::SeniorDeveloper) => Decision::Allow,
        CreateFromTemplate { .. } => deny("Creating services from templates needs the Senior Developer role in the owning team."),
        EditEntity { team: Some(team) } if at_least(team, Role::JuniorDeveloper) => Decision::Allow,
        EditEntity { .. } => deny("Only members of the owning team (Junior Developer and up) and Platform Admins change this entity."),
        ApproveBudget { team } | ReadCostAnalytics { team } if subject.leads(team) => Decision::Allow,
        ApproveBudget { .. } | ReadCostAnalytics { .. } => deny("Budgets and cost analytics are for the team's Team Leads."),
        StartWorkflow { team, role } if at_least(team, role.max(Role::JuniorDeveloper)) => Decision::Allow,
        StartWorkflow { role, .. } => Decision::Deny(format!(
            "Starting this workflow needs the {} role (or higher) in the team it runs for.",
            role.max(Role::JuniorDeveloper).label()
        )),
        OperateRun { team: Some(team) } if at_least(team, Role::JuniorDeveloper) => Decision::Allow,
        OperateRun { .. } => deny("Cancelling or retrying a run needs at least the Junior Developer role in its team."),
        RollbackRun { team: Some(team) } if at_least(team, Role::SeniorDeveloper) => Decision::Allow,
        RollbackRun { .. } => deny("Rolling back a run needs the Senior Developer role (or higher) in its team."),
        ApproveRun { team: Some(team), role } if at_least(team, role) => Decision::Allow,
        ApproveRun { role, .. } => Decision::Deny(format!("This approval needs the {} role (or higher) in the run's team.", role.label())),
        ManageWorkflows => deny("Only Platform Admins define workflows and webhook sources."),
    }
}

/// Whether the navigation shows the audit trail: Team Leads (of any team) and admins read it.
pub fn can_read_some_audit(subject: &Subject) -> bool {
    subject.is_admin || subject.memberships.iter().any(|m| m.role >= Role::TeamLead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(team: &str, role: Role) -> Membership {
        Membership { team: team.into(), team_name: team.into(), role }
    }

    /// The demo personas: one per role, all in team `payments`.
    fn persona(role: Role) -> (bool, Vec<Membership>) {
        match role {
            Role::PlatformAdmin => (true, vec![]),
            r => (false, vec![member("payments", r)]),
        }
    }

    fn check(role: Role, action: Action) -> bool {
        let (is_admin, memberships) = persona(role);
        decide(&Subject { is_admin, memberships: &memberships }, action).allowed()
    }

    use Role::*;
    const V: Role = Viewer;
    const J: Role = JuniorDeveloper;
    const S: Role = SeniorDeveloper;
    const L: Role = TeamLead;
    const A: Role = PlatformAdmin;

    /// The whole matrix: each action with the roles (in team `payments`) that may do it.
    #[test]
    fn role_matrix() {
        let p = "payments";
        let cases: Vec<(Action, Vec<Role>)> = vec![
            (Action::ReadDirectory, vec![V, J, S, L, A]),
            (Action::ManageOwnAccount, vec![V, J, S, L, A]),
            (Action::ManageUsers, vec![A]),
            (Action::ManageTeams, vec![A]),
            (Action::VerifyAudit, vec![A]),
            (Action::ChangeMembership { team: p, from: None, to: Some(S) }, vec![L, A]),
            (Action::ChangeMembership { team: p, from: Some(J), to: None }, vec![L, A]),
            (Action::ChangeMembership { team: p, from: None, to: Some(L) }, vec![A]),
            (Action::ChangeMembership { team: p, from: Some(L), to: Some(J) }, vec![A]),
            (Action::ChangeMembership { team: "checkout", from: None, to: Some(V) }, vec![A]),
            (Action::ReadAudit { team: Some(p) }, vec![L, A]),
            (Action::ReadAudit { team: Some("checkout") }, vec![A]),
            (Action::ReadAudit { team: None }, vec![A]),
            (Action::Deploy { team: p, tier: Tier::Development }, vec![J, S, L, A]),
            (Action::Deploy { team: p, tier: Tier::Staging }, vec![J, S, L, A]),
            (Action::Deploy { team: p, tier: Tier::Production }, vec![L, A]),
            (Action::Deploy { team: "checkout", tier: Tier::Development }, vec![A]),
            (Action::ReadLogs { team: p, tier: Tier::Production }, vec![J, S, L, A]),
            (Action::EmergencyAccess { team: p, tier: Tier::Production }, vec![S, L, A]),
            (Action::EmergencyAccess { team: p, tier: Tier::Staging }, vec![A]),
            (Action::CreateFromTemplate { team: p }, vec![S, L, A]),
            (Action::ApproveBudget { team: p }, vec![L, A]),
            (Action::ReadCostAnalytics { team: p }, vec![L, A]),
            (Action::ReadCostAnalytics { team: "checkout" }, vec![A]),
            (Action::EditEntity { team: Some(p) }, vec![J, S, L, A]),
            (Action::StartWorkflow { team: p, role: V }, vec![J, S, L, A]),
            (Action::StartWorkflow { team: p, role: S }, vec![S, L, A]),
            (Action::StartWorkflow { team: "checkout", role: J }, vec![A]),
            (Action::OperateRun { team: Some(p) }, vec![J, S, L, A]),
            (Action::OperateRun { team: None }, vec![A]),
            (Action::RollbackRun { team: Some(p) }, vec![S, L, A]),
            (Action::RollbackRun { team: Some("checkout") }, vec![A]),
            (Action::ApproveRun { team: Some(p), role: L }, vec![L, A]),
            (Action::ApproveRun { team: Some(p), role: S }, vec![S, L, A]),
            (Action::ApproveRun { team: None, role: L }, vec![A]),
            (Action::ManageWorkflows, vec![A]),
            (Action::EditEntity { team: Some("checkout") }, vec![A]),
            (Action::EditEntity { team: None }, vec![A]),
            (Action::ManageLocations, vec![A]),
            (Action::ReadSearchAnalytics, vec![A]),
            (Action::WriteGuides, vec![L, A]),
        ];
        for (action, allowed) in cases {
            for role in Role::ALL {
                assert_eq!(
                    check(role, action),
                    allowed.contains(&role),
                    "{role:?} on {action:?}: expected {}",
                    if allowed.contains(&role) { "allow" } else { "deny" }
                );
            }
        }
    }

    #[test]
    fn emergency_access_is_marked_for_audit() {
        let m = [member("payments", SeniorDeveloper)];
        let d = decide(
            &Subject { is_admin: false, memberships: &m },
            Action::EmergencyAccess { team: "payments", tier: Tier::Production },
        );
        assert!(matches!(d, Decision::AllowAudited(_)));
    }

    #[test]
    fn denial_says_why() {
        let m = [member("payments", Viewer)];
        let d = decide(&Subject { is_admin: false, memberships: &m }, Action::ManageUsers);
        assert!(matches!(d, Decision::Deny(ref why) if why.contains("Platform Admins")));
    }

    #[test]
    fn the_highest_role_counts_in_a_team_and_leads_see_audit() {
        let m = [member("payments", Viewer), member("payments", TeamLead), member("checkout", JuniorDeveloper)];
        let s = Subject { is_admin: false, memberships: &m };
        assert_eq!(s.role_in("payments"), Some(TeamLead));
        assert_eq!(s.role_in("checkout"), Some(JuniorDeveloper));
        assert_eq!(s.role_in("search"), None);
        assert_eq!(s.highest_role(), TeamLead);
        assert!(can_read_some_audit(&s));
        let junior = [member("payments", JuniorDeveloper)];
        assert!(!can_read_some_audit(&Subject { is_admin: false, memberships: &junior }));
    }
}
