//! The documentation hub: every guide and entity doc, one document rendered with its table of
//! contents, and the editor (a stale edit is refused with the typed text kept on the page).

use crate::api::{encode, docs_index, load_doc, DeleteDoc, SaveDoc};
use crate::error::AppError;
use crate::components::*;
use crate::pages::catalog::entity_href;
use crate::types::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

fn doc_href(id: &str) -> String {
    format!("/docs/{}", id.split('/').map(encode).collect::<Vec<_>>().join("/"))
}

#[component]
pub fn DocsPage() -> impl IntoView {
    let docs = Resource::new(|| (), |_| docs_index());
    view! {
        <Title text="Docs"/>
        <div class="page-head">
            <h1>"Docs"</h1>
            <div class="toolbar"><a href="/doc-editor" class="button-link">"Write a guide"</a></div>
        </div>
        <p class="lede">"Guides for everyone, and the documentation of each service, API and system. Everything here is also found by the search box."</p>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match docs.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(all) => {
                        let guides: Vec<DocSummary> = all.iter().filter(|d| d.entity_ref.is_none()).cloned().collect();
                        let mut by_entity: Vec<(String, Vec<DocSummary>)> = Vec::new();
                        for d in all.into_iter().filter(|d| d.entity_ref.is_some()) {
                            let e = d.entity_ref.clone().unwrap_or_default();
                            match by_entity.last_mut() {
                                Some((k, v)) if *k == e => v.push(d),
                                _ => by_entity.push((e, vec![d])),
                            }
                        }
                        view! {
                            <section class="card" aria-labelledby="guides-h">
                                <h2 id="guides-h">"Guides"</h2>
                                {if guides.is_empty() {
                                    view! { <p class="muted">"No guides yet."</p> }.into_any()
                                } else {
                                    view! { <ul class="plain doc-list">{guides.into_iter().map(|d| view! { <li><a href=doc_href(&d.id)>{d.title}</a></li> }).collect_view()}</ul> }.into_any()
                                }}
                            </section>
                            <section class="card" aria-labelledby="entity-docs-h">
                                <h2 id="entity-docs-h">"Service and API docs"</h2>
                                {if by_entity.is_empty() {
                                    view! { <p class="muted">"No entity has docs yet. Write them from an entity's page, or point its "<code>"backstage.io/techdocs-ref"</code>" annotation at a folder of Markdown files in a registered location."</p> }.into_any()
                                } else {
                                    view! {
                                        <dl class="facts doc-groups">
                                            {by_entity.into_iter().map(|(e, docs)| view! {
                                                <dt><a href=entity_href(&e)>{e.clone()}</a></dt>
                                                <dd><ul class="plain">{docs.into_iter().map(|d| view! { <li><a href=doc_href(&d.id)>{d.title}</a></li> }).collect_view()}</ul></dd>
                                            }).collect_view()}
                                        </dl>
                                    }.into_any()
                                }}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn DocViewPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let doc = Resource::new(id, load_doc);
    let delete = ServerAction::<DeleteDoc>::new();
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match doc.await {
                    Err(e) => view! { <Title text="Docs"/><p class="crumbs"><A href="/docs">"Docs"</A>" /"</p><ErrorPanel error=e/> }.into_any(),
                    Ok(d) => view! { <DocView d delete/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DocView(d: DocPage, delete: ServerAction<DeleteDoc>) -> impl IntoView {
    let s = d.summary.clone();
    let crumbs = match &s.entity_ref {
        Some(e) => view! { <A href="/docs">"Docs"</A>" / "<a href=entity_href(e)>{e.clone()}</a>" /" }.into_any(),
        None => view! { <A href="/docs">"Docs"</A>" / Guides /" }.into_any(),
    };
    let toc = d
        .toc
        .iter()
        .map(|t| view! { <li class=format!("toc-{}", t.level)><a href=format!("#{}", t.anchor)>{t.text.clone()}</a></li> })
        .collect_view();
    let siblings = d
        .siblings
        .iter()
        .filter(|x| x.id != s.id)
        .map(|x| view! { <li><a href=doc_href(&x.id)>{x.title.clone()}</a></li> })
        .collect_view();
    let edit = format!("/doc-editor?id={}", encode(&s.id));
    view! {
        <Title text=s.title.clone()/>
        <p class="crumbs">{crumbs}</p>
        <div class="doc-layout">
            <article class="doc card" aria-label=s.title.clone()>
                <div class="doc-body" inner_html=d.html.clone()></div>
                <p class="muted small">{format!("Version {} · updated {} by {} · source {}", d.version, short_time(&s.updated_at), d.updated_by, s.source)}</p>
            </article>
            <aside class="doc-side">
                {(!d.toc.is_empty()).then(|| view! {
                    <nav class="card toc" aria-label="On this page">
                        <h2>"On this page"</h2>
                        <ul class="plain">{toc}</ul>
                    </nav>
                })}
                {(d.siblings.len() > 1).then(|| view! {
                    <nav class="card" aria-label="Related documents">
                        <h2>{if s.entity_ref.is_some() { "More docs of this entity" } else { "Other guides" }}</h2>
                        <ul class="plain">{siblings}</ul>
                    </nav>
                })}
                {d.editable.then(|| view! {
                    <div class="card">
                        <p><a href=edit class="button-link">"Edit this page"</a></p>
                        <ActionForm action=delete attr:class="inline">
                            <input type="hidden" name="id" value=s.id.clone()/>
                            <input type="hidden" name="version" value=d.version/>
                            <button type="submit" class="button-danger">"Delete"</button>
                        </ActionForm>
                        {form_status(delete.value(), "")}
                    </div>
                })}
            </aside>
        </div>
    }
}

/// Writes a new document (`?entity=REF` for an entity's, none for a guide) or edits one (`?id=ID`).
#[component]
pub fn DocEditorPage() -> impl IntoView {
    let url = use_query_map();
    let id = move || url.with(|m| m.get("id").filter(|v| !v.is_empty()));
    let entity = move || url.with(|m| m.get("entity").filter(|v| !v.is_empty()));
    let existing = Resource::new(id, |id| async move {
        match id {
            Some(id) => load_doc(id).await.map(Some),
            None => Ok(None),
        }
    });
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match existing.await {
                    Err(e) => view! { <Title text="Edit"/><ErrorPanel error=e/> }.into_any(),
                    Ok(doc) => view! { <DocEditor doc entity=entity()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DocEditor(doc: Option<DocPage>, entity: Option<String>) -> impl IntoView {
    let save = ServerAction::<SaveDoc>::new();
    let value = save.value();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(saved)) = value.get() {
            navigate(&doc_href(&saved.id), Default::default());
        }
    });
    let heading = match (&doc, &entity) {
        (Some(d), _) => format!("Edit “{}”", d.summary.title),
        (None, Some(e)) => format!("New document for {e}"),
        (None, None) => "New guide".to_string(),
    };
    let is_new = doc.is_none();
    let (id, version, title, markdown) = match &doc {
        Some(d) => (Some(d.summary.id.clone()), d.version, d.summary.title.clone(), d.markdown.clone()),
        None => (None, 0, String::new(), "# Title\n\nWrite in Markdown. Headings of level 2 to 4 make the table of contents.\n".to_string()),
    };
    view! {
        <Title text=heading.clone()/>
        <p class="crumbs"><A href="/docs">"Docs"</A>" /"</p>
        <h1>{heading}</h1>
        <ActionForm action=save attr:class="stack wide">
            {id.map(|id| view! { <input type="hidden" name="input[id]" value=id/> })}
            <input type="hidden" name="input[version]" value=version/>
            <input type="hidden" name="input[entity_ref]" value=entity.clone().unwrap_or_default()/>
            <label for="doc-title">"Title"</label>
            <input id="doc-title" name="input[title]" required maxlength="200" value=title
                aria-describedby="title-error"/>
            {field_errors(value, "title")}
            {is_new.then(|| view! {
                <label for="doc-path">"Path"</label>
                <input id="doc-path" name="input[path]" required placeholder="runbook" pattern="[A-Za-z0-9_/-]+"
                    aria-describedby="doc-path-help path-error"/>
                <p id="doc-path-help" class="muted small">"Part of the address: letters, digits, '-', '_' and '/' (for example runbook or setup/local)."</p>
            })}
            {(!is_new).then(|| view! { <input type="hidden" name="input[path]" value=""/> })}
            {field_errors(value, "path")}
            {field_errors(value, "entity_ref")}
            <label for="doc-markdown">"Text (Markdown)"</label>
            <textarea id="doc-markdown" name="input[markdown]" rows="20" class="mono" spellcheck="true" aria-describedby="markdown-error">{markdown}</textarea>
            {field_errors(value, "markdown")}
            <button type="submit" class="button-primary" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "Saving…" } else { "Save" }}
            </button>
        </ActionForm>
        {form_status(value, "Saved.")}
    }
}

/// An entity's documents, on its page (which loads them with the entity).
#[component]
pub fn EntityDocs(entity_ref: String, docs: Result<Vec<DocSummary>, AppError>, editable: bool) -> impl IntoView {
    let new_href = format!("/doc-editor?entity={}", encode(&entity_ref));
    let list = match docs {
        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
        Ok(list) if list.is_empty() => view! { <p class="muted">"No docs yet."</p> }.into_any(),
        Ok(list) => view! {
            <ul class="plain">{list.into_iter().map(|d| view! { <li><a href=doc_href(&d.id)>{d.title}</a></li> }).collect_view()}</ul>
        }.into_any(),
    };
    view! {
        <section class="card" aria-labelledby="docs-h">
            <h2 id="docs-h">"Docs"</h2>
            {list}
            {editable.then(|| view! { <p><a href=new_href>"Write a document"</a></p> })}
        </section>
    }
}
