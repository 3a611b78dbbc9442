//! The portal's pages. Each reads through server functions and changes through forms that post
//! to server functions, so every page works before the WASM bundle has loaded.

pub mod browse;
pub mod catalog;
pub mod docs;
pub mod edit;
pub mod graph;
pub mod locations;
pub mod search;
pub mod workflows;

pub use browse::BrowsePage;
pub use catalog::{CatalogImportPage, CatalogListPage, EntityPage, OwnedEntities};
pub use docs::{DocEditorPage, DocViewPage, DocsPage};
pub use edit::EntityEditPage;
pub use locations::LocationsPage;
pub use search::{SearchAnalyticsPage, SearchPage};
pub use workflows::{RunPage, WebhooksPage, WorkflowsPage};

use crate::api::*;
use crate::authz::{decide, Action, Decision};
use crate::components::*;
use crate::error::{AppError, WRONG_CREDENTIALS};
use crate::types::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_params_map, use_query_map};

/// A refusal shown in place of a page's content (and a 403 status when rendered on the server).
fn forbidden(why: &str) -> AnyView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::FORBIDDEN);
    }
    view! { <ErrorPanel error=AppError::Forbidden(why.to_string())/> }.into_any()
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main id="main" class="content narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. Check the link, or go to the "<a href="/">"home page"</a>"."</p>
        </main>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let (typed_name, next, redirected_error) = query.with_untracked(|q| {
        (q.get("username").unwrap_or_default(), q.get("next").unwrap_or_default(), q.get("error"))
    });
    // Without JavaScript a failed sign-in comes back here with `?error=`; with it, the action's value says.
    let redirected_error = redirected_error.map(|code| match code.as_str() {
        "locked" => "Too many failed sign-ins: this account is locked for a few minutes. Wait, or ask a Platform Admin.".to_string(),
        _ => WRONG_CREDENTIALS.to_string(),
    });
    let error = move || match login.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        Some(Ok(())) => None,
        None => redirected_error.clone(),
    };
    view! {
        <Title text="Sign in"/>
        <main id="main" class="login">
            <div class="card login-card">
                <p class="brand"><span class="brand-mark" aria-hidden="true">"◆"</span>" Platform"</p>
                <h1>"Sign in"</h1>
                <ActionForm action=login attr:class="stack">
                    <input type="hidden" name="next" value=next/>
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required autocapitalize="none" value=typed_name/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required/>
                    {move || error().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
                    <button type="submit" class="button-primary" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let signed_in = me_resource();
    // Every resource of the page is created here, above the Suspense that reads it: one created
    // inside a Suspense can leave the server's response hanging (leptos issue 4866).
    let envs = Resource::new(|| (), |_| list_environments());
    let picks = Resource::new(|| (), |_| crate::api::load_home_picks());
    view! {
        <Title text="Home"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let me = match require_me(signed_in).await {
                    Ok(me) => me,
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                };
                let envs = envs.await.unwrap_or_default();
                let picks = picks.await;
                view! {
                    <h1>{format!("Welcome, {}", me.display_name)}</h1>
                    <p class="lede">
                        "This is your team's self-service platform. You are signed in as "
                        <strong>{me.username.clone()}</strong>
                        {if me.is_admin { " (Platform Admin)." } else { "." }}
                    </p>
                    <form class="search-page-form" role="search" action="/search" method="get">
                        <label for="home-q" class="visually-hidden">"Search the catalog and docs"</label>
                        <input id="home-q" type="search" name="q" placeholder="Find a service, API or doc…" autocomplete="off"/>
                        <button type="submit" class="button-primary">"Search"</button>
                    </form>
                    <HomePicksView picks=picks.clone()/>
                    <section aria-labelledby="teams-h" class="card">
                        <h2 id="teams-h">"Your teams"</h2>
                        {if me.memberships.is_empty() {
                            view! { <p>"You are not in a team yet. Ask a Team Lead to add you on the "<a href="/teams">"Teams"</a>" page."</p> }.into_any()
                        } else {
                            view! {
                                <ul class="plain">
                                    {me.memberships.iter().map(|m| view! {
                                        <li><a href=format!("/teams/{}", m.team)>{m.team_name.clone()}</a>" — "{m.role.label()}</li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                    {me.memberships.iter().map(|m| {
                        let owned = picks.as_ref().map_err(Clone::clone).and_then(|p| {
                            p.owned.iter().find(|o| o.team == m.team).map(|o| o.page.clone()).ok_or_else(|| AppError::NotFound(format!("{} joined the list of your teams just now: reload the page to see what it owns.", m.team_name)))
                        });
                        view! { <OwnedEntities team=m.team.clone() heading=format!("{} in the catalog", m.team_name) owned/> }
                    }).collect_view()}
                    <AccessSummary me=me.clone() envs/>
                    <section aria-labelledby="next-h" class="card">
                        <h2 id="next-h">"Next steps"</h2>
                        <ul class="plain">
                            <li><a href="/account">"Create an API token"</a>" for scripts and CI (the REST API is at "<code>"/api/v1"</code>", described at "<a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a>")."</li>
                            <li><a href="/teams">"See who is in which team"</a>"."</li>
                        </ul>
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

/// Recently viewed entities and those popular with the person's teams.
#[component]
fn HomePicksView(picks: Result<HomePicks, AppError>) -> impl IntoView {
    let list = |items: Vec<EntityLink>, popular: bool| {
        items
            .into_iter()
            .map(|e| {
                let note = if popular {
                    format!(" {} · {} viewer{}", e.kind, e.viewers, if e.viewers == 1 { "" } else { "s" })
                } else {
                    format!(" {}", e.kind)
                };
                view! { <li><a href=crate::pages::catalog::entity_href(&e.entity_ref)>{e.title}</a><span class="muted small">{note}</span></li> }
            })
            .collect_view()
    };
    let card = |id: &'static str, heading: &'static str, empty: &'static str, items: Vec<EntityLink>, popular: bool| {
        view! {
            <section class="card" aria-labelledby=id>
                <h2 id=id>{heading}</h2>
                {if items.is_empty() {
                    view! { <p class="muted">{empty}</p> }.into_any()
                } else {
                    view! { <ul class="plain">{list(items, popular)}</ul> }.into_any()
                }}
            </section>
        }
    };
    let p = picks.unwrap_or_default();
    view! {
        <div class="two-up">
            {card("recent-h", "Recently viewed", "What you open in the catalog shows up here.", p.recent, false)}
            {card("popular-h", "Popular with your teams", "What your teammates open most in the last 30 days shows up here.", p.popular, true)}
        </div>
    }
}

/// What the signed-in person may do in each environment, per team: the same decision function
/// that the server enforces.
#[component]
fn AccessSummary(me: Me, envs: Vec<Environment>) -> impl IntoView {
    let subject = subject(&me);
    let mut teams: Vec<(String, String)> = me.memberships.iter().map(|m| (m.team.clone(), m.team_name.clone())).collect();
    teams.dedup();
    if teams.is_empty() {
        return ().into_any();
    }
    let mark = |d: Decision| match d {
        Decision::Allow => view! { <span class="yes">"Yes"</span> }.into_any(),
        Decision::AllowAudited(_) => view! { <span class="audited">"Yes, audited"</span> }.into_any(),
        Decision::Deny(why) => view! { <span class="no" title=why>"No"</span> }.into_any(),
    };
    let rows = teams
        .iter()
        .flat_map(|(slug, name)| {
            envs.iter().map(|env| {
                let team = slug.as_str();
                view! {
                    <tr>
                        <td>{name.clone()}</td>
                        <td>{env.display_name.clone()}</td>
                        <td>{mark(decide(&subject, Action::Deploy { team, tier: env.tier }))}</td>
                        <td>{mark(decide(&subject, Action::ReadLogs { team, tier: env.tier }))}</td>
                        <td>{mark(decide(&subject, Action::EmergencyAccess { team, tier: env.tier }))}</td>
                    </tr>
                }
            }).collect::<Vec<_>>()
        })
        .collect_view();
    view! {
        <section aria-labelledby="access-h" class="card">
            <h2 id="access-h">"Your access"</h2>
            <p class="muted">"What your roles allow in each environment. Emergency access is always recorded in the audit log."</p>
            <div class="table-wrap">
                <table>
                    <thead><tr><th scope="col">"Team"</th><th scope="col">"Environment"</th><th scope="col">"Deploy"</th><th scope="col">"Read logs"</th><th scope="col">"Emergency access"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }.into_any()
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    let signed_in = me_resource();
    let create = ServerAction::<CreateTeam>::new();
    let teams = Resource::new(move || create.version().get(), |_| list_teams());
    view! {
        <Title text="Teams"/>
        <h1>"Teams"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let me = require_me(signed_in).await;
                match teams.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(teams) => view! {
                        {teams.is_empty().then(|| view! { <p>"There are no teams yet."</p> })}
                        <ul class="cards">
                            {teams.into_iter().map(|t| view! {
                                <li class="card">
                                    <h2><A href=format!("/teams/{}", t.slug)>{t.display_name.clone()}</A></h2>
                                    <p class="muted">{t.description.clone()}</p>
                                    <p>{format!("{} member{}", t.member_count, if t.member_count == 1 { "" } else { "s" })}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                        {me.ok().filter(|m| m.is_admin).map(|_| view! { <NewTeamForm create/> })}
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NewTeamForm(create: ServerAction<CreateTeam>) -> impl IntoView {
    let value = create.value();
    view! {
        <section aria-labelledby="new-team-h" class="card">
            <h2 id="new-team-h">"Create a team"</h2>
            <ActionForm action=create attr:class="stack">
                <label for="team-slug">"Short name"</label>
                <input id="team-slug" name="slug" required placeholder="payments" aria-describedby="slug-error"/>
                {field_errors(value, "slug")}
                <label for="team-display">"Display name"</label>
                <input id="team-display" name="display_name" required placeholder="Payments" aria-describedby="display_name-error"/>
                {field_errors(value, "display_name")}
                <label for="team-description">"Description"</label>
                <textarea id="team-description" name="description" rows="2"></textarea>
                {form_status(value, "Team created.")}
                <button type="submit" class="button-primary">"Create team"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn TeamPage() -> impl IntoView {
    let signed_in = me_resource();
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let set = ServerAction::<SetMember>::new();
    let delete = ServerAction::<DeleteTeam>::new();
    let team = Resource::new(move || (slug(), set.version().get()), |(s, _)| get_team(s));
    let owned = Resource::new(slug, |s| crate::api::catalog_owned(s, 8));
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let me = match require_me(signed_in).await {
                    Ok(me) => me,
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                };
                let detail = match team.await {
                    Ok(d) => d,
                    Err(e) => return view! { <Title text="Team"/><h1>"Team"</h1><ErrorPanel error=e/> }.into_any(),
                };
                let owned = owned.await;
                let sub = subject(&me);
                let manages = sub.leads(&detail.team.slug);
                let slug = detail.team.slug.clone();
                let grantable: Vec<Role> = Role::TEAM_ROLES.into_iter().filter(|r| me.is_admin || *r < Role::TeamLead).collect();
                let rows = detail.members.clone().into_iter().map(|m| {
                    let editable = manages && (me.is_admin || m.role < Role::TeamLead);
                    let grantable = grantable.clone();
                    let slug = slug.clone();
                    view! {
                        <tr>
                            <td>{m.display_name.clone()}<br/><span class="muted">{m.username.clone()}</span></td>
                            <td>{if editable {
                                let select_id = format!("role-{}", m.username);
                                let (team1, team2) = (slug.clone(), slug.clone());
                                let (user1, user2) = (m.username.clone(), m.username.clone());
                                let role_label = format!("Role of {}", m.display_name);
                                let remove_label = format!("Remove {} from the team", m.display_name);
                                let current = m.role;
                                view! {
                                    <ActionForm action=set attr:class="inline">
                                        <input type="hidden" name="team" value=team1/>
                                        <input type="hidden" name="username" value=user1/>
                                        <label for=select_id.clone() class="visually-hidden">{role_label}</label>
                                        <select id=select_id name="role">
                                            {grantable.iter().map(|r| view! { <option value=r.as_str() selected=*r == current>{r.label()}</option> }).collect_view()}
                                        </select>
                                        <button type="submit" class="button-quiet">"Save"</button>
                                    </ActionForm>
                                    <ActionForm action=set attr:class="inline">
                                        <input type="hidden" name="team" value=team2/>
                                        <input type="hidden" name="username" value=user2/>
                                        <input type="hidden" name="role" value="remove"/>
                                        <button type="submit" class="button-danger" aria-label=remove_label>"Remove"</button>
                                    </ActionForm>
                                }.into_any()
                            } else {
                                view! { {m.role.label()} }.into_any()
                            }}</td>
                        </tr>
                    }
                }).collect_view();
                let value = set.value();
                let (delete_slug, delete_label) = (slug.clone(), format!("Delete team {}", detail.team.display_name));
                view! {
                    <Title text=detail.team.display_name.clone()/>
                    <p class="crumbs"><A href="/teams">"Teams"</A>" / "</p>
                    <h1>{detail.team.display_name.clone()}</h1>
                    <p class="lede">{detail.team.description.clone()}</p>
                    {form_status(value, "Saved.")}
                    <section aria-labelledby="members-h" class="card">
                        <h2 id="members-h">{format!("Members ({})", detail.members.len())}</h2>
                        <div class="table-wrap">
                            <table>
                                <thead><tr><th scope="col">"Person"</th><th scope="col">"Role"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                    </section>
                    <OwnedEntities team=slug.clone() heading="Owned in the catalog" owned/>
                    {manages.then(|| view! {
                        <section aria-labelledby="add-h" class="card">
                            <h2 id="add-h">"Add a member"</h2>
                            <ActionForm action=set attr:class="stack">
                                <input type="hidden" name="team" value=slug.clone()/>
                                <label for="member-username">"Username"</label>
                                <input id="member-username" name="username" required autocapitalize="none" aria-describedby="username-error"/>
                                {field_errors(value, "username")}
                                <label for="member-role">"Role"</label>
                                <select id="member-role" name="role">
                                    {grantable.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                                </select>
                                <button type="submit" class="button-primary">"Add member"</button>
                            </ActionForm>
                        </section>
                    })}
                    {me.is_admin.then(|| view! {
                        <section aria-labelledby="delete-h" class="card">
                            <h2 id="delete-h">"Delete this team"</h2>
                            <p class="muted">"Members lose their roles in it. The audit log keeps the team's history."</p>
                            <ActionForm action=delete attr:class="inline">
                                <input type="hidden" name="slug" value=delete_slug/>
                                <button type="submit" class="button-danger">{delete_label}</button>
                            </ActionForm>
                            {form_status(delete.value(), "")}
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let signed_in = me_resource();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let password = ServerAction::<ChangePassword>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let created = create.value();
    view! {
        <Title text="Account"/>
        <h1>"Your account"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                require_me(signed_in).await.map(|me| view! {
                    <section aria-labelledby="profile-h" class="card">
                        <h2 id="profile-h">"Profile"</h2>
                        <dl class="facts">
                            <dt>"Name"</dt><dd>{me.display_name.clone()}</dd>
                            <dt>"Username"</dt><dd>{me.username.clone()}</dd>
                            <dt>"Email"</dt><dd>{me.email.clone()}</dd>
                            <dt>"Roles"</dt>
                            <dd>
                                {me.is_admin.then_some("Platform Admin. ")}
                                {me.memberships.iter().map(|m| format!("{} in {}", m.role.label(), m.team_name)).collect::<Vec<_>>().join(", ")}
                            </dd>
                        </dl>
                    </section>
                }.into_any()).unwrap_or_else(|e| view! { <ErrorPanel error=e/> }.into_any())
            })}
        </Suspense>
        <section aria-labelledby="tokens-h" class="card">
            <h2 id="tokens-h">"API tokens"</h2>
            <p class="muted">"Tokens let scripts, the CLI and CI call the REST API as you: send "<code>"Authorization: Bearer <token>"</code>". A token is shown once; keep it in a secret store."</p>
            <ActionForm action=create attr:class="stack">
                <label for="token-name">"Token name"</label>
                <input id="token-name" name="name" required placeholder="ci-deploy" aria-describedby="name-error"/>
                {field_errors(created, "name")}
                <label for="token-expiry">"Expires after"</label>
                <select id="token-expiry" name="expires_in_days">
                    <option value="30">"30 days"</option>
                    <option value="90" selected=true>"90 days"</option>
                    <option value="365">"1 year"</option>
                </select>
                <button type="submit" class="button-primary">"Create token"</button>
            </ActionForm>
            {move || created.get().and_then(Result::ok).map(|c| view! {
                <div class="notice" role="status">
                    <p>"Copy your new token now — it will not be shown again:"</p>
                    <code class="secret" data-testid="new-token">{c.secret}</code>
                </div>
            })}
            {form_status(revoke.value(), "Token revoked.")}
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    tokens.await.map(|list| {
                        if list.is_empty() {
                            return view! { <p>"You have no tokens."</p> }.into_any();
                        }
                        view! {
                            <div class="table-wrap">
                                <table>
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Token"</th><th scope="col">"Created"</th><th scope="col">"Expires"</th><th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|t| view! {
                                            <tr>
                                                <td>{t.name.clone()}</td>
                                                <td><code>{format!("{}…", t.prefix)}</code></td>
                                                <td>{short_time(&t.created_at)}</td>
                                                <td>{short_time(&t.expires_at)}</td>
                                                <td>{t.last_used_at.as_deref().map(short_time).unwrap_or_else(|| "never".into())}</td>
                                                <td>{match t.revoked_at {
                                                    Some(_) => view! { <span class="muted">"revoked"</span> }.into_any(),
                                                    None => view! {
                                                        <ActionForm action=revoke attr:class="inline">
                                                            <input type="hidden" name="id" value=t.id.clone()/>
                                                            <button type="submit" class="button-danger" aria-label=format!("Revoke token {}", t.name)>"Revoke"</button>
                                                        </ActionForm>
                                                    }.into_any(),
                                                }}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }.into_any()).unwrap_or_else(|e| view! { <ErrorPanel error=e/> }.into_any())
                })}
            </Suspense>
        </section>
        <section aria-labelledby="password-h" class="card">
            <h2 id="password-h">"Change password"</h2>
            <ActionForm action=password attr:class="stack">
                <label for="current-password">"Current password"</label>
                <input id="current-password" name="current_password" type="password" autocomplete="current-password" required aria-describedby="current_password-error"/>
                {field_errors(password.value(), "current_password")}
                <label for="new-password">"New password (at least 10 characters)"</label>
                <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="10" aria-describedby="new_password-error"/>
                {field_errors(password.value(), "new_password")}
                {form_status(password.value(), "Password changed.")}
                <button type="submit" class="button-primary">"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let signed_in = me_resource();
    let signed_in_form = me_resource();
    let create = ServerAction::<CreateUser>::new();
    let flag = ServerAction::<SetUserFlag>::new();
    let users = Resource::new(move || (create.version().get(), flag.version().get()), |_| list_users());
    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        {form_status(flag.value(), "Saved.")}
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match require_me(signed_in).await {
                    Ok(me) if me.is_admin => {}
                    Ok(_) => return forbidden("Only Platform Admins manage user accounts. Ask one if someone needs an account."),
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                }
                users.await.map(|list| view! {
                    <div class="table-wrap">
                        <table>
                            <thead><tr><th scope="col">"Person"</th><th scope="col">"Teams"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|u| {
                                    let teams = u.memberships.iter().map(|m| format!("{} ({})", m.team_name, m.role.label())).collect::<Vec<_>>().join(", ");
                                    let status = match (u.disabled, u.is_admin) {
                                        (true, _) => "Disabled",
                                        (false, true) => "Platform Admin",
                                        (false, false) => "Active",
                                    };
                                                    view! {
                                        <tr>
                                            <td>{u.display_name.clone()}<br/><span class="muted">{format!("{} · {}", u.username, u.email)}</span></td>
                                            <td>{teams}</td>
                                            <td>{status}</td>
                                            <td class="actions">
                                                {flag_button(flag, &u, "disabled", !u.disabled, if u.disabled { format!("Enable {}", u.username) } else { format!("Disable {}", u.username) })}
                                                {flag_button(flag, &u, "is_admin", !u.is_admin, if u.is_admin { format!("Remove admin from {}", u.username) } else { format!("Make {} admin", u.username) })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()).unwrap_or_else(|e| view! { <ErrorPanel error=e/> }.into_any())
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                require_me(signed_in_form).await.ok().filter(|me| me.is_admin).map(|_| view! { <NewUserForm create/> })
            })}
        </Suspense>
    }
}

#[component]
fn NewUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let value = create.value();
    view! {
        <section aria-labelledby="new-user-h" class="card">
            <h2 id="new-user-h">"Create a user"</h2>
            <ActionForm action=create attr:class="stack">
                <label for="new-username">"Username"</label>
                <input id="new-username" name="username" required autocapitalize="none" aria-describedby="username-error"/>
                {field_errors(value, "username")}
                <label for="new-display">"Full name"</label>
                <input id="new-display" name="display_name" required aria-describedby="display_name-error"/>
                {field_errors(value, "display_name")}
                <label for="new-email">"Email"</label>
                <input id="new-email" name="email" type="email" required aria-describedby="email-error"/>
                {field_errors(value, "email")}
                <label for="new-password">"Initial password (at least 10 characters)"</label>
                <input id="new-password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-error"/>
                {field_errors(value, "password")}
                <label class="check"><input type="checkbox" name="is_admin" value="on"/>" Platform Admin"</label>
                {form_status(value, "User created.")}
                <button type="submit" class="button-primary">"Create user"</button>
            </ActionForm>
        </section>
    }
}

/// One button that switches a user's flag, carrying the version it was shown at.
fn flag_button(flag: ServerAction<SetUserFlag>, u: &User, field: &'static str, value: bool, label: String) -> impl IntoView + use<> {
    let (username, version) = (u.username.clone(), u.version);
    view! {
        <ActionForm action=flag attr:class="inline">
            <input type="hidden" name="username" value=username/>
            <input type="hidden" name="version" value=version/>
            <input type="hidden" name="field" value=field/>
            <input type="hidden" name="value" value=value.to_string()/>
            <button type="submit" class="button-quiet">{label}</button>
        </ActionForm>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let signed_in = me_resource();
    let query = use_query_map();
    let params = move || {
        query.with(|q| AuditQuery {
            action: q.get("action"),
            actor: q.get("actor"),
            before: q.get("before").and_then(|b| b.parse().ok()),
            limit: Some(50),
        })
    };
    let entries = Resource::new(params, audit_entries);
    let verify = ServerAction::<VerifyAudit>::new();
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <p class="lede">"Every change and every refused attempt, newest first. Entries are hash-chained: any later edit is detectable."</p>
        <Form method="GET" action="" attr:class="filters">
            <label for="f-action">"Action starts with"</label>
            <input id="f-action" name="action" placeholder="auth." value=move || query.with(|q| q.get("action").unwrap_or_default())/>
            <label for="f-actor">"Who"</label>
            <input id="f-actor" name="actor" placeholder="username" value=move || query.with(|q| q.get("actor").unwrap_or_default())/>
            <button type="submit" class="button-quiet">"Filter"</button>
        </Form>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let admin = require_me(signed_in).await.map(|m| m.is_admin).unwrap_or(false);
                let list = match entries.await {
                    Ok(l) => l,
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                };
                let older = (list.len() == 50).then(|| list.last().map(|e| e.seq)).flatten();
                view! {
                    {admin.then(|| view! {
                        <div class="toolbar">
                            <ActionForm action=verify attr:class="inline">
                                <button type="submit" class="button-quiet">"Verify the chain"</button>
                            </ActionForm>
                            <a href="/api/v1/audit/export" download="audit.jsonl">"Export (JSON Lines)"</a>
                        </div>
                    })}
                    {move || verify.value().get().map(|r| match r {
                        Ok(r) => view! { <p class=if r.ok { "notice" } else { "alert" } role="status">{r.message}</p> }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    })}
                    {list.is_empty().then(|| view! { <p>"No entries match."</p> })}
                    <div class="table-wrap">
                        <table class="audit">
                            <thead><tr><th scope="col">"#"</th><th scope="col">"When (UTC)"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"Decision"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| {
                                    let change = (e.before.is_some() || e.after.is_some()).then(|| {
                                        let show = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "—".into());
                                        view! {
                                            <details>
                                                <summary>"Change"</summary>
                                                <p class="mono">"before: "{show(&e.before)}</p>
                                                <p class="mono">"after: "{show(&e.after)}</p>
                                            </details>
                                        }
                                    });
                                    view! {
                                        <tr class=if e.decision == "deny" { "denied" } else { "" }>
                                            <td data-label="#">{e.seq}</td>
                                            <td data-label="When">{short_time(&e.at)}</td>
                                            <td data-label="Who">{e.actor.clone()}</td>
                                            <td data-label="Action"><code>{e.action.clone()}</code></td>
                                            <td data-label="Target">{e.target.clone()}{e.team.clone().map(|t| format!(" (team {t})"))}{change}</td>
                                            <td data-label="Decision">{e.decision.clone()}{(!e.reason.is_empty()).then(|| format!(": {}", e.reason))}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {older.map(|seq| view! {
                        <p><a href=move || {
                            let mut url = format!("/audit?before={seq}");
                            query.with(|q| {
                                if let Some(a) = q.get("action") { url.push_str(&format!("&action={}", encode(&a))); }
                                if let Some(a) = q.get("actor") { url.push_str(&format!("&actor={}", encode(&a))); }
                            });
                            url
                        }>"Older entries"</a></p>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
