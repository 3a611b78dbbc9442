//! The portal's user interface and everything shared by the server and the browser: wire types,
//! the error type, the authorization decision, the catalog descriptor model, server functions,
//! pages. With the `ssr` feature it also holds the server-only domain core (`core`), which never
//! imports sqlx.

// Pages are deeply nested view types; the release WASM build needs more room to lay them out.
#![recursion_limit = "256"]

pub mod api;
pub mod authz;
pub mod catalog;
pub mod components;
pub mod docs;
pub mod error;
pub mod pages;
pub mod search;
pub mod types;
pub mod workflow;

#[cfg(feature = "ssr")]
pub mod core;

use components::Layout;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};
use pages::*;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme_from_cookie()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The theme the person chose (a cookie set by `POST /theme`), or None to follow the system.
fn theme_from_cookie() -> Option<&'static str> {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>()?;
        let cookies = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        cookies.split(';').map(str::trim).find_map(|c| match c {
            "theme=dark" => Some("dark"),
            "theme=light" => Some("light"),
            _ => None,
        })
    }
    #[cfg(not(feature = "ssr"))]
    None
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/platform.css"/>
        <Title formatter=|t: String| if t.is_empty() { "Platform".to_string() } else { format!("{t} · Platform") }/>
        // Every page is rendered completely on the server before it is sent (SsrMode::Async), so
        // that it works before, or without, the WASM bundle.
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("catalog") view=CatalogListPage ssr=SsrMode::Async/>
                    <Route path=path!("browse") view=BrowsePage ssr=SsrMode::Async/>
                    <Route path=path!("catalog/import") view=CatalogImportPage ssr=SsrMode::Async/>
                    <Route path=path!("catalog/locations") view=LocationsPage ssr=SsrMode::Async/>
                    <Route path=path!("catalog/:kind/:namespace/:name") view=EntityPage ssr=SsrMode::Async/>
                    <Route path=path!("catalog/:kind/:namespace/:name/edit") view=EntityEditPage ssr=SsrMode::Async/>
                    <Route path=path!("search") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("docs") view=DocsPage ssr=SsrMode::Async/>
                    <Route path=path!("docs/*id") view=DocViewPage ssr=SsrMode::Async/>
                    <Route path=path!("doc-editor") view=DocEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("workflows") view=WorkflowsPage ssr=SsrMode::Async/>
                    <Route path=path!("workflows/webhooks") view=WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("runs/:id") view=RunPage ssr=SsrMode::Async/>
                    <Route path=path!("teams") view=TeamsPage ssr=SsrMode::Async/>
                    <Route path=path!("teams/:slug") view=TeamPage ssr=SsrMode::Async/>
                    <Route path=path!("account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("admin/users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("admin/search") view=SearchAnalyticsPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
