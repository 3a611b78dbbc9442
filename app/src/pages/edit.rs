//! Editing one entity's descriptor in the browser. The editor remembers the version it loaded;
//! if someone changed the entity meanwhile the save is refused with a conflict and the text stays
//! in the editor, so nothing typed is lost.

use crate::api::{entity_source, EditEntity};
use crate::components::*;
use crate::pages::catalog::entity_href;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

#[component]
pub fn EntityEditPage() -> impl IntoView {
    let params = use_params_map();
    let reference = move || {
        params.with(|p| format!("{}:{}/{}", p.get("kind").unwrap_or_default(), p.get("namespace").unwrap_or_default(), p.get("name").unwrap_or_default()))
    };
    let source = Resource::new(reference, entity_source);
    view! {
        <Title text="Edit entity"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match source.await {
                    Err(e) => view! { <p class="crumbs"><A href="/catalog">"Catalog"</A>" /"</p><ErrorPanel error=e/> }.into_any(),
                    Ok((yaml, version, key)) => view! { <EntityEditor yaml version key/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EntityEditor(yaml: String, version: i64, key: String) -> impl IntoView {
    let edit = ServerAction::<EditEntity>::new();
    let value = edit.value();
    let navigate = use_navigate();
    let back = entity_href(&key);
    let target = back.clone();
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            navigate(&target, Default::default());
        }
    });
    // Every problem of the descriptor, by its field path.
    let problems = move || {
        value.with(|v| match v {
            Some(Err(crate::error::AppError::Validation(fields))) => fields
                .iter()
                .map(|(path, msgs)| view! { <li><code>{path.clone()}</code>": "{msgs.join(" ")}</li> })
                .collect_view()
                .into_any(),
            _ => ().into_any(),
        })
    };
    view! {
        <p class="crumbs"><A href="/catalog">"Catalog"</A>" / "<a href=back.clone()>{key.clone()}</a>" /"</p>
        <h1>{format!("Edit {key}")}</h1>
        <p class="lede">"The descriptor in Backstage's format. Saving checks it like an import does; if someone else saved in the meantime you are told, and your text stays here."</p>
        <ActionForm action=edit attr:class="stack wide">
            <input type="hidden" name="reference" value=key.clone()/>
            <input type="hidden" name="version" value=version/>
            <label for="entity-yaml">"Descriptor (YAML)"</label>
            <textarea id="entity-yaml" name="yaml" rows="24" class="mono" spellcheck="false" required aria-describedby="entity-problems">{yaml}</textarea>
            <ul id="entity-problems" class="field-error plain">{problems}</ul>
            <div class="toolbar">
                <button type="submit" class="button-primary" disabled=move || edit.pending().get()>
                    {move || if edit.pending().get() { "Saving…" } else { "Save" }}
                </button>
                <a href=back>"Cancel"</a>
            </div>
        </ActionForm>
        {form_status(value, "Saved.")}
    }
}
