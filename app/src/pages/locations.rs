//! Catalog locations (Platform Admins): register a file or folder in a git repository, refresh
//! it now, see what each refresh found, remove it.

use crate::api::{list_locations, AddLocation, RefreshLocation, RemoveLocation};
use crate::components::*;
use crate::types::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// One line about a refresh: what it applied and what it orphaned.
fn refresh_summary(r: &RefreshReport) -> String {
    format!(
        "Read {} file{}: {} created, {} updated, {} unchanged, {} with errors; {} doc{} written; {} orphaned.",
        r.files.len(),
        if r.files.len() == 1 { "" } else { "s" },
        r.apply.created,
        r.apply.updated,
        r.apply.unchanged,
        r.apply.failed,
        r.docs_written,
        if r.docs_written == 1 { "" } else { "s" },
        r.orphaned.len()
    )
}

#[component]
pub fn LocationsPage() -> impl IntoView {
    let add = ServerAction::<AddLocation>::new();
    let refresh = ServerAction::<RefreshLocation>::new();
    let remove = ServerAction::<RemoveLocation>::new();
    // The list follows every change made here.
    let list = Resource::new(
        move || (add.version().get(), refresh.version().get(), remove.version().get()),
        |_| list_locations(),
    );
    // The outcome of whichever read finished last (registering reads too).
    let last = RwSignal::new(None::<RefreshReport>);
    Effect::new(move |_| {
        if let Some(Ok(r)) = add.value().get() {
            last.set(Some(r));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(r)) = refresh.value().get() {
            last.set(Some(r));
        }
    });
    view! {
        <Title text="Catalog locations"/>
        <p class="crumbs"><A href="/catalog">"Catalog"</A>" /"</p>
        <h1>"Catalog locations"</h1>
        <p class="lede">"Git repositories on this machine that the catalog reads: a catalog-info.yaml file, or a folder searched for them. Each is refreshed on its schedule; entities that disappear from it are marked orphaned, not deleted."</p>
        <section class="card" aria-labelledby="add-h">
            <h2 id="add-h">"Register a location"</h2>
            <ActionForm action=add attr:class="stack">
                <label for="loc-target">"File or folder (absolute path)"</label>
                <input id="loc-target" name="new[target]" required placeholder="/srv/git/payments/catalog-info.yaml" spellcheck="false"
                    aria-describedby="target-error"/>
                {field_errors(add.value(), "target")}
                <label for="loc-minutes">"Refresh every (minutes)"</label>
                <input id="loc-minutes" name="new[refresh_minutes]" type="number" min="1" max="1440" value="30" aria-describedby="refresh_minutes-error"/>
                {field_errors(add.value(), "refresh_minutes")}
                <button type="submit" class="button-primary" disabled=move || add.pending().get()>
                    {move || if add.pending().get() { "Reading…" } else { "Register and read" }}
                </button>
            </ActionForm>
            {form_status(add.value(), "")}
        </section>
        {move || last.get().map(|r| view! { <p class="notice" role="status">{format!("{}: {}", r.location.target, refresh_summary(&r))}</p> })}
        {form_status(refresh.value(), "")}
        {form_status(remove.value(), "Removed. Its entities stay in the catalog, marked orphaned.")}
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(ls) if ls.is_empty() => view! { <p class="muted">"No locations yet."</p> }.into_any(),
                    Ok(ls) => view! {
                        <ul class="cards">
                            {ls.into_iter().map(|l| {
                                let status_class = format!("badge {}", if l.status == "error" { "warn" } else { "" });
                                let (id_refresh, id_remove) = (l.id.clone(), l.id.clone());
                                view! {
                                    <li class="card location">
                                        <h2 class="small mono location-target">{l.target.clone()}</h2>
                                        <p>
                                            <span class=status_class>{l.status.clone()}</span>
                                            {format!(" {} entit{} · {} orphaned · every {} min", l.entities, if l.entities == 1 { "y" } else { "ies" }, l.orphans, l.refresh_minutes)}
                                        </p>
                                        <p class="muted small">{l.last_refresh_at.as_deref().map(|t| format!("Last read {}", short_time(t))).unwrap_or_else(|| "Not read yet".into())}</p>
                                        {l.last_error.clone().map(|e| view! { <pre class="code small location-error">{e}</pre> })}
                                        <div class="toolbar">
                                            <ActionForm action=refresh attr:class="inline">
                                                <input type="hidden" name="id" value=id_refresh/>
                                                <button type="submit" class="button-quiet">"Refresh now"</button>
                                            </ActionForm>
                                            <ActionForm action=remove attr:class="inline">
                                                <input type="hidden" name="id" value=id_remove/>
                                                <button type="submit" class="button-danger" aria-label=format!("Remove {}", l.target)>"Remove"</button>
                                            </ActionForm>
                                        </div>
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
