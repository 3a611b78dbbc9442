//! Browsing the catalog by domain and system, and by kind and type: every link opens the
//! catalog list filtered accordingly.

use crate::api::{encode, load_browse};
use crate::components::*;
use crate::pages::catalog::entity_href;
use crate::types::*;
use leptos::prelude::*;
use leptos_meta::Title;

fn system_list(systems: Vec<BrowseSystem>) -> impl IntoView {
    view! {
        <ul class="plain">
            {systems.into_iter().map(|s| {
                let list = format!("/catalog?system={}", encode(&s.entity_ref));
                view! {
                    <li>
                        <a href=entity_href(&s.entity_ref)>{s.title.clone()}</a>
                        " "<a class="muted small" href=list>{format!("{} entit{}", s.entities, if s.entities == 1 { "y" } else { "ies" })}</a>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn BrowsePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_browse());
    view! {
        <Title text="Browse"/>
        <h1>"Browse the catalog"</h1>
        <p class="lede">"By business domain and system, or by what kind of thing it is."</p>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(b) => view! {
                        <h2>"Domains and systems"</h2>
                        <ul class="cards">
                            {b.domains.into_iter().map(|d| view! {
                                <li class="card">
                                    <h3><a href=entity_href(&d.entity_ref)>{d.title.clone()}</a></h3>
                                    <p class="muted small">{d.description.clone().unwrap_or_default()}</p>
                                    {system_list(d.systems)}
                                </li>
                            }).collect_view()}
                            {(!b.other_systems.is_empty()).then(|| view! {
                                <li class="card">
                                    <h3>"In no domain"</h3>
                                    {system_list(b.other_systems.clone())}
                                </li>
                            })}
                        </ul>
                        <h2>"Kinds and types"</h2>
                        <ul class="cards">
                            {b.types.into_iter().map(|(kind, counts)| {
                                let all = format!("/catalog?kind={}", encode(&kind));
                                view! {
                                    <li class="card">
                                        <h3><a href=all>{kind.clone()}</a></h3>
                                        <ul class="plain">
                                            {counts.into_iter().map(|c| view! {
                                                <li><a href=format!("/catalog?kind={}&type={}", encode(&kind), encode(&c.value))>{c.value.clone()}</a>
                                                    <span class="muted small">{format!(" {}", c.count)}</span></li>
                                            }).collect_view()}
                                        </ul>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
