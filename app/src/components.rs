//! The app frame (header, navigation) and small pieces every page uses.

use crate::api::{get_me, Logout};
use crate::authz::{can_read_some_audit, Subject};
use crate::error::AppError;
use crate::types::Me;
use leptos::form::ActionForm;
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

/// The signed-in person, loaded for one `Suspense`: a page creates one per `Suspense` that needs
/// it, before the `Suspense` (one resource read by two `Suspense` boundaries, as the top bar's
/// and a page's, sometimes leaves the server's response hanging: leptos issue 4851).
pub fn me_resource() -> Resource<Result<Option<Me>, AppError>> {
    Resource::new(|| (), |_| get_me())
}

/// Awaits the signed-in user; signed out is an error the page shows with a sign-in link.
pub async fn require_me(me: Resource<Result<Option<Me>, AppError>>) -> Result<Me, AppError> {
    me.await?.ok_or(AppError::Unauthenticated)
}

pub fn subject(me: &Me) -> Subject<'_> {
    Subject { is_admin: me.is_admin, memberships: &me.memberships }
}

#[component]
pub fn Layout() -> impl IntoView {
    let me = me_resource();
    let logout = ServerAction::<Logout>::new();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " Platform"
            </A>
            <crate::pages::search::SearchBox/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => view! {
                            <div class="who">
                                <span class="who-name" title=me.username.clone()>{me.display_name.clone()}</span>
                                <ActionForm action=logout>
                                    <button type="submit" class="button-quiet">"Sign out"</button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                        Err(_) => ().into_any(),
                    }
                })}
            </Suspense>
        </header>
        <div class="frame">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    me.await.ok().flatten().map(|me| view! { <Navigation me/> })
                })}
            </Suspense>
            <main id="main" class="content" tabindex="-1">
                <Outlet/>
            </main>
        </div>
    }
}

/// The links a person may use: the same list in the desktop sidebar and in the phone menu.
fn nav_links(me: &Me) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![("/", "Home"), ("/catalog", "Catalog"), ("/browse", "Browse"), ("/docs", "Docs"), ("/workflows", "Workflows"), ("/teams", "Teams"), ("/account", "Account")];
    if can_read_some_audit(&subject(me)) {
        links.push(("/audit", "Audit log"));
    }
    if me.is_admin {
        links.push(("/admin/users", "Users"));
        links.push(("/catalog/locations", "Locations"));
        links.push(("/admin/search", "Search analytics"));
    }
    links
}

#[component]
fn NavList(me: Me, place: &'static str) -> impl IntoView {
    let theme_label = format!("theme-label-{place}");
    let location = use_location();
    let links = nav_links(&me);
    let hrefs = StoredValue::new(links.iter().map(|l| l.0).collect::<Vec<&'static str>>());
    // The most specific link is the current one (Locations, not Catalog, on /catalog/locations).
    let here = move |href: &'static str| {
        let path = location.pathname.get();
        // A run's page belongs to Workflows.
        let matches = |h: &str| match h {
            "/" => path == "/",
            "/workflows" if path.starts_with("/runs/") => true,
            _ => path == h || path.starts_with(&format!("{h}/")),
        };
        matches(href) && !hrefs.with_value(|hs| hs.iter().any(|h| h.len() > href.len() && matches(h)))
    };
    view! {
        <nav aria-label="Main" class="nav">
            <ul>
                {links
                    .into_iter()
                    .map(|(href, label)| {
                        view! {
                            <li>
                                <a href=href class:active=move || here(href) aria-current=move || here(href).then_some("page")>
                                    {label}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <form method="post" action="/theme" class="theme-switch">
                <span id=theme_label.clone()>"Theme"</span>
                <div role="group" aria-labelledby=theme_label>
                    <button type="submit" name="theme" value="light" class="button-quiet">"Light"</button>
                    <button type="submit" name="theme" value="dark" class="button-quiet">"Dark"</button>
                    <button type="submit" name="theme" value="system" class="button-quiet">"System"</button>
                </div>
            </form>
        </nav>
    }
}

#[component]
fn Navigation(me: Me) -> impl IntoView {
    let menu = NodeRef::<html::Details>::new();
    // Close the phone menu after a link is followed (client-side navigation keeps the page).
    let close = move |ev: leptos::ev::MouseEvent| {
        let is_link = event_target::<web_sys::Element>(&ev).closest("a").ok().flatten().is_some();
        if let (true, Some(d)) = (is_link, menu.get()) {
            let _ = d.remove_attribute("open");
        }
    };
    view! {
        <aside class="sidebar">
            <NavList me=me.clone() place="sidebar"/>
        </aside>
        <details class="nav-menu" node_ref=menu on:click=close>
            <summary aria-label="Menu">
                <span aria-hidden="true">"☰"</span>
                " Menu"
            </summary>
            <NavList me place="menu"/>
        </details>
    }
}

/// An error as a person should see it: what happened and what to do next.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let signin = matches!(error, AppError::Unauthenticated);
    view! {
        <div class="alert" role="alert">
            <p>{error.to_string()}</p>
            {signin.then(|| view! { <p><a href="/login">"Sign in"</a></p> })}
        </div>
    }
}

/// Messages for one form field from an action's last result.
pub fn field_errors<T, W>(value: W, field: &'static str) -> impl IntoView
where
    T: 'static,
    W: With<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    move || {
        let messages = value.with(|v| match v {
            Some(Err(e)) => e.field_messages(field),
            _ => Vec::new(),
        });
        (!messages.is_empty()).then(|| {
            view! { <p class="field-error" id=format!("{field}-error")>{messages.join(" ")}</p> }
        })
    }
}

/// The outcome of a form: an error (not field-specific ones, which sit by their fields) or a
/// confirmation.
pub fn form_status<T, W>(value: W, success: &'static str) -> impl IntoView
where
    T: 'static,
    W: With<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
{
    move || {
        value.with(|v| match v {
            Some(Err(AppError::Validation(_))) => {
                Some(view! { <p class="alert" role="alert">"Please correct the marked fields."</p> }.into_any())
            }
            Some(Err(e)) => Some(view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any()),
            Some(Ok(_)) if !success.is_empty() => Some(view! { <p class="notice" role="status">{success}</p> }.into_any()),
            _ => None,
        })
    }
}

pub fn loading() -> impl IntoView {
    view! { <p class="muted" role="status">"Loading…"</p> }
}

/// Short, readable form of a stored timestamp ("2026-11-26 19:40").
pub fn short_time(ts: &str) -> String {
    ts.get(..16).map(|s| s.replace('T', " ")).unwrap_or_else(|| ts.to_string())
}
