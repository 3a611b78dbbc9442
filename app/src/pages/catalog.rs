//! Catalog pages: the filterable list, one entity with its relations, and applying YAML.
//! Filters live in the URL, so a link shares the view and every filter works without JavaScript.

use crate::api::{encode, entity_docs, ApplyCatalog, DeleteEntity, catalog_entity, catalog_list};
use crate::error::AppError;
use crate::authz::{decide, Action};
use crate::components::*;
use crate::types::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The page of an entity, from its reference (`kind:namespace/name`).
pub fn entity_href(entity_ref: &str) -> String {
    let (kind, rest) = entity_ref.split_once(':').unwrap_or(("component", entity_ref));
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!("/catalog/{}/{}/{}", encode(kind), encode(namespace), encode(name))
}

/// The query string of a catalog view (filters and page).
fn query_string(q: &CatalogQuery) -> String {
    let pairs = [
        ("kind", &q.kind),
        ("type", &q.spec_type),
        ("owner", &q.owner),
        ("lifecycle", &q.lifecycle),
        ("tag", &q.tag),
        ("system", &q.system),
        ("namespace", &q.namespace),
        ("sort", &q.sort),
    ];
    let mut parts: Vec<String> = pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v)))).collect();
    if let Some(p) = q.page.filter(|p| *p > 1) {
        parts.push(format!("page={p}"));
    }
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

fn query_from_url(get: impl Fn(&str) -> Option<String>) -> CatalogQuery {
    CatalogQuery {
        kind: get("kind"),
        spec_type: get("type"),
        owner: get("owner"),
        lifecycle: get("lifecycle"),
        tag: get("tag"),
        system: get("system"),
        namespace: get("namespace"),
        page: get("page").and_then(|p| p.parse().ok()),
        page_size: Some(25),
        sort: get("sort"),
    }
}

/// Short form of a reference for display: `group:default/payments` → `payments`.
fn short_ref(r: &str) -> String {
    r.split_once('/').map(|(_, n)| n.to_string()).unwrap_or_else(|| r.to_string())
}

#[component]
pub fn CatalogListPage() -> impl IntoView {
    let url = use_query_map();
    let query = move || url.with(|m| query_from_url(|k| m.get(k).filter(|v| !v.is_empty())));
    let page = Resource::new(query, |q| async move { catalog_list(q).await });
    view! {
        <Title text="Catalog"/>
        <div class="page-head">
            <h1>"Catalog"</h1>
            <div class="toolbar">
                <a href="/catalog/import" class="button-link">"Import YAML"</a>
                <a href=move || format!("/api/v1/catalog/export{}", query_string(&query())) download="catalog.yaml">"Export these (YAML)"</a>
            </div>
        </div>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let q = query();
                match page.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(p) => view! { <CatalogResults q p/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CatalogResults(q: CatalogQuery, p: CatalogPage) -> impl IntoView {
    let facet_groups: Vec<(&'static str, &'static str, Vec<FacetCount>, Option<String>)> = vec![
        ("Kind", "kind", p.facets.kind.clone(), q.kind.clone()),
        ("Type", "type", p.facets.spec_type.clone(), q.spec_type.clone()),
        ("Owner", "owner", p.facets.owner.clone(), q.owner.clone()),
        ("Lifecycle", "lifecycle", p.facets.lifecycle.clone(), q.lifecycle.clone()),
        ("System", "system", p.facets.system.clone(), q.system.clone()),
        ("Tag", "tag", p.facets.tag.clone(), q.tag.clone()),
        ("Namespace", "namespace", p.facets.namespace.clone(), q.namespace.clone()),
    ];
    let with = |key: &str, value: Option<String>| {
        let mut next = q.clone();
        next.page = None;
        match key {
            "kind" => next.kind = value,
            "type" => next.spec_type = value,
            "owner" => next.owner = value,
            "lifecycle" => next.lifecycle = value,
            "system" => next.system = value,
            "tag" => next.tag = value,
            _ => next.namespace = value,
        }
        format!("/catalog{}", query_string(&next))
    };
    let facets = facet_groups
        .into_iter()
        .filter(|(_, _, counts, selected)| !counts.is_empty() || selected.is_some())
        .map(|(label, key, counts, selected)| {
            let items = counts
                .into_iter()
                .take(12)
                .map(|c| {
                    let active = selected.as_deref() == Some(c.value.as_str());
                    let href = if active { with(key, None) } else { with(key, Some(c.value.clone())) };
                    let shown = if key == "owner" || key == "system" { short_ref(&c.value) } else { c.value.clone() };
                    view! {
                        <li>
                            <a href=href class:active=active aria-current=active.then_some("true")>
                                <span>{shown}</span>
                                <span class="count">{c.count}</span>
                            </a>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="facet" aria-label=format!("Filter by {}", label.to_lowercase())>
                    <h2>{label}</h2>
                    <ul>{items}</ul>
                </section>
            }
        })
        .collect_view();
    let active: Vec<(String, String)> = [
        ("kind", &q.kind),
        ("type", &q.spec_type),
        ("owner", &q.owner),
        ("lifecycle", &q.lifecycle),
        ("system", &q.system),
        ("tag", &q.tag),
        ("namespace", &q.namespace),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
    .collect();
    let pages = (p.total + p.page_size - 1) / p.page_size;
    let prev = (p.page > 1).then(|| format!("/catalog{}", query_string(&CatalogQuery { page: Some(p.page - 1), ..q.clone() })));
    let next = (p.page < pages).then(|| format!("/catalog{}", query_string(&CatalogQuery { page: Some(p.page + 1), ..q.clone() })));
    let rows = p
        .items
        .iter()
        .map(|e| {
            view! {
                <tr>
                    <td>
                        <a href=entity_href(&e.entity_ref)>{e.title.clone().unwrap_or_else(|| e.name.clone())}</a>
                        {e.orphan.then(|| view! { <span class="badge warn">"orphan"</span> })}
                        <br/>
                        <span class="muted small">{e.description.clone().unwrap_or_default()}</span>
                    </td>
                    <td>{e.kind.clone()}</td>
                    <td>{e.spec_type.clone().unwrap_or_default()}</td>
                    <td>{e.owner.as_deref().map(|o| view! { <a href=entity_href(o)>{short_ref(o)}</a> })}</td>
                    <td>{e.lifecycle.clone().unwrap_or_default()}</td>
                    <td>{e.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="catalog">
            <details class="filters-panel">
                <summary>"Filters"</summary>
                <div class="facets">{facets}</div>
            </details>
            <div class="results">
                <p class="muted" role="status">
                    {format!("{} entit{}", p.total, if p.total == 1 { "y" } else { "ies" })}
                    {(!active.is_empty()).then(|| view! {
                        " matching "
                        {active.iter().map(|(k, v)| view! { <span class="tag">{format!("{k}: {v}")}</span> }).collect_view()}
                        " · "
                        <a href="/catalog">"Clear filters"</a>
                    })}
                </p>
                <nav class="sort" aria-label="Sort">
                    <span class="muted">"Sort by"</span>
                    {[("kind", "Kind"), ("name", "Name"), ("updated", "Recently updated")]
                        .into_iter()
                        .map(|(key, label)| {
                            let current = q.sort.as_deref().unwrap_or("kind") == key;
                            let sorted = CatalogQuery { sort: (key != "kind").then(|| key.to_string()), page: None, ..q.clone() };
                            let href = format!("/catalog{}", query_string(&sorted));
                            view! { <a href=href class:active=current aria-current=current.then_some("true")>{label}</a> }
                        })
                        .collect_view()}
                </nav>
                {(p.total == 0).then(|| view! {
                    <p>"Nothing here yet. "<a href="/catalog/import">"Import catalog-info.yaml files"</a>" or clear the filters."</p>
                })}
                <div class="table-wrap">
                    <table class="catalog-table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Kind"</th><th scope="col">"Type"</th><th scope="col">"Owner"</th><th scope="col">"Lifecycle"</th><th scope="col">"Tags"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
                {(pages > 1).then(|| view! {
                    <nav class="pager" aria-label="Pages">
                        {prev.map(|h| view! { <a href=h rel="prev">"← Previous"</a> })}
                        <span>{format!("Page {} of {}", p.page, pages)}</span>
                        {next.map(|h| view! { <a href=h rel="next">"Next →"</a> })}
                    </nav>
                })}
            </div>
        </div>
    }
}

#[component]
pub fn EntityPage() -> impl IntoView {
    let signed_in = me_resource();
    let params = use_params_map();
    let reference = move || {
        params.with(|p| format!("{}:{}/{}", p.get("kind").unwrap_or_default(), p.get("namespace").unwrap_or_default(), p.get("name").unwrap_or_default()))
    };
    let delete = ServerAction::<DeleteEntity>::new();
    let entity = Resource::new(reference, catalog_entity);
    let docs = Resource::new(reference, entity_docs);
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let me = require_me(signed_in).await.ok();
                let docs = docs.await;
                match entity.await {
                    Err(e) => view! { <Title text="Entity"/><p class="crumbs"><A href="/catalog">"Catalog"</A>" /"</p><ErrorPanel error=e/> }.into_any(),
                    Ok(d) => {
                        let team = crate::catalog::owner_team(d.summary.owner.as_deref());
                        let may_delete = me.as_ref().is_some_and(|m| decide(&subject(m), Action::EditEntity { team: team.as_deref() }).allowed());
                        view! { <EntityView d docs may_delete delete/> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn EntityView(d: EntityDetail, docs: Result<Vec<DocSummary>, AppError>, may_delete: bool, delete: ServerAction<DeleteEntity>) -> impl IntoView {
    let s = d.summary.clone();
    let title = s.title.clone().unwrap_or_else(|| s.name.clone());
    let meta = &d.descriptor["metadata"];
    let links: Vec<(String, String)> = meta["links"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| {
                    let url = x["url"].as_str()?;
                    // Only web links become clickable (the validator already refuses script URLs).
                    (url.starts_with("https://") || url.starts_with("http://"))
                        .then(|| (url.to_string(), x["title"].as_str().unwrap_or(url).to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let annotations: Vec<(String, String)> = meta["annotations"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    let definition = d.descriptor["spec"]["definition"].as_str().map(str::to_string);
    let descriptor = serde_json::to_string_pretty(&d.descriptor).unwrap_or_default();
    let mut groups: Vec<(String, Vec<RelationView>)> = Vec::new();
    for r in d.relations.iter().cloned() {
        match groups.iter_mut().find(|(k, _)| *k == r.relation) {
            Some((_, v)) => v.push(r),
            None => groups.push((r.relation.clone(), vec![r])),
        }
    }
    let relation_list = groups
        .into_iter()
        .map(|(relation, targets)| {
            view! {
                <dt>{relation}</dt>
                <dd>
                    <ul class="plain">
                        {targets.into_iter().map(|t| {
                            let label = t.target_title.clone().unwrap_or_else(|| t.target.clone());
                            if t.target_exists {
                                view! { <li><a href=entity_href(&t.target)>{label}</a>" "<span class="muted small">{t.target.clone()}</span></li> }.into_any()
                            } else {
                                view! { <li>{t.target.clone()}" "<span class="badge warn">"not in the catalog"</span></li> }.into_any()
                            }
                        }).collect_view()}
                    </ul>
                </dd>
            }
        })
        .collect_view();
    let reference = s.entity_ref.clone();
    let graph_center = title.clone();
    // Teams and people own things: a link to the catalog filtered by this owner.
    let owns = (s.kind.eq_ignore_ascii_case("group") || s.kind.eq_ignore_ascii_case("user"))
        .then(|| format!("/catalog?owner={}", encode(&s.entity_ref)));
    let edit_href = format!("{}/edit", entity_href(&s.entity_ref));
    view! {
        <Title text=title.clone()/>
        <p class="crumbs"><A href="/catalog">"Catalog"</A>" / "{s.kind.clone()}</p>
        <h1>{title}</h1>
        <p class="lede">{s.description.clone().unwrap_or_default()}</p>
        <section class="card" aria-labelledby="about-h">
            <h2 id="about-h">"About"</h2>
            <dl class="facts">
                <dt>"Reference"</dt><dd><code>{s.entity_ref.clone()}</code></dd>
                <dt>"Kind"</dt><dd>{s.kind.clone()}{s.spec_type.clone().map(|t| format!(" · {t}"))}</dd>
                {s.owner.clone().map(|o| view! { <dt>"Owner"</dt><dd><a href=entity_href(&o)>{short_ref(&o)}</a></dd> })}
                {s.system.clone().map(|o| view! { <dt>"System"</dt><dd><a href=entity_href(&o)>{short_ref(&o)}</a></dd> })}
                {s.lifecycle.clone().map(|l| view! { <dt>"Lifecycle"</dt><dd>{l}</dd> })}
                {(!s.tags.is_empty()).then(|| view! { <dt>"Tags"</dt><dd>{s.tags.iter().map(|t| view! { <a class="tag" href=format!("/catalog?tag={}", encode(t))>{t.clone()}</a> }).collect_view()}</dd> })}
                {owns.map(|href| view! { <dt>"Owns"</dt><dd><a href=href>"Everything it owns in the catalog"</a></dd> })}
                <dt>"Source"</dt><dd>{format!("{} · version {} · updated {}", d.source, d.version, short_time(&d.updated_at))}</dd>
            </dl>
        </section>
        {(!links.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="links-h">
                <h2 id="links-h">"Links"</h2>
                <ul class="plain">{links.into_iter().map(|(url, title)| view! { <li><a href=url rel="noopener noreferrer">{title}</a></li> }).collect_view()}</ul>
            </section>
        })}
        <section class="card" aria-labelledby="rel-h">
            <h2 id="rel-h">"Relations"</h2>
            {if d.relations.is_empty() {
                view! { <p class="muted">"No relations."</p> }.into_any()
            } else {
                view! {
                    <crate::pages::graph::RelationGraph center=graph_center center_ref=s.entity_ref.clone() relations=d.relations.clone()/>
                    <dl class="facts relations">{relation_list}</dl>
                }.into_any()
            }}
        </section>
        <crate::pages::docs::EntityDocs entity_ref=s.entity_ref.clone() docs editable=may_delete/>
        {definition.map(|def| view! {
            <section class="card" aria-labelledby="def-h">
                <h2 id="def-h">"API definition"</h2>
                {d.api.clone().map(|api| view! { <ApiSummary api/> })}
                <details class="api-source">
                    <summary>"Definition source"</summary>
                    <pre class="code"><code>{def}</code></pre>
                </details>
            </section>
        })}
        {(!annotations.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="ann-h">
                <h2 id="ann-h">"Annotations"</h2>
                <dl class="facts">{annotations.into_iter().map(|(k, v)| view! { <dt><code>{k}</code></dt><dd>{v}</dd> }).collect_view()}</dl>
            </section>
        })}
        <details class="card">
            <summary>"Descriptor"</summary>
            <pre class="code"><code>{descriptor}</code></pre>
        </details>
        {may_delete.then(|| view! {
            <section class="card" aria-labelledby="del-h">
                <h2 id="del-h">"Change or delete"</h2>
                <p><a href=edit_href class="button-link">"Edit the descriptor"</a></p>
                <p class="muted">"Removes it from the catalog; the audit log keeps its last descriptor. If a registered file still declares it, it comes back on the next refresh."</p>
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="reference" value=reference/>
                    <input type="hidden" name="version" value=d.version/>
                    <button type="submit" class="button-danger">{format!("Delete {}", s.name)}</button>
                </ActionForm>
                {form_status(delete.value(), "")}
            </section>
        })}
    }
}

/// An API's definition as the server read it: title, servers and a table of its operations.
/// The source stays below it, folded, for what the summary leaves out (schemas, messages).
#[component]
fn ApiSummary(api: crate::catalog::apidoc::ApiView) -> impl IntoView {
    let (method_head, path_head) = match api.kind.as_str() {
        "asyncapi" => ("Action", "Channel"),
        "graphql" => ("Type", "Field"),
        _ => ("Method", "Path"),
    };
    let kind = api.kind_label();
    let count = api.operations.len();
    let rows = api
        .operations
        .into_iter()
        .map(|op| {
            let class = format!("method method-{}", op.method.to_ascii_lowercase());
            view! {
                <tr>
                    <td><span class=class>{op.method}</span></td>
                    <td><code>{op.path}</code></td>
                    <td class="summary">
                        {op.summary.unwrap_or_default()}
                        {op.tags.into_iter().map(|t| view! { " " <span class="tag">{t}</span> }).collect_view()}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="api-head">
            {match (api.title, api.kind.as_str()) {
                (Some(title), _) => view! { <strong>{title}</strong><span class="muted small">{kind}</span> }.into_any(),
                (None, "other") => ().into_any(),
                (None, _) => view! { <strong>{format!("{kind} definition")}</strong> }.into_any(),
            }}
            {api.version.map(|v| view! { <span class="badge">{format!("version {v}")}</span> })}
        </p>
        {api.description.map(|d| view! { <p class="muted">{d}</p> })}
        {(!api.servers.is_empty()).then(|| view! {
            <p class="api-servers">
                <span class="muted">{if api.servers.len() == 1 { "Server: " } else { "Servers: " }}</span>
                {api.servers.into_iter().map(|s| view! { <code>{s}</code>" " }).collect_view()}
            </p>
        })}
        {api.problem.map(|p| view! { <p class="api-note" role="note">{p}</p> })}
        {(count > 0).then(|| view! {
            <div class="table-wrap">
                <table class="api-ops">
                    <caption class="visually-hidden">{format!("{count} operation{} of this API", if count == 1 { "" } else { "s" })}</caption>
                    <thead><tr><th scope="col">{method_head}</th><th scope="col">{path_head}</th><th scope="col">"Summary"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        })}
    }
}

#[component]
pub fn CatalogImportPage() -> impl IntoView {
    let apply = ServerAction::<ApplyCatalog>::new();
    let report = apply.value();
    let text = NodeRef::<leptos::html::Textarea>::new();
    // A chosen file is read in the browser into the text box (nothing is sent until Apply).
    let load_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input = event_target::<web_sys::HtmlInputElement>(&ev);
            let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
            leptos::task::spawn_local(async move {
                if let Ok(content) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                    if let (Some(area), Some(content)) = (text.get_untracked(), content.as_string()) {
                        area.set_value(&content);
                    }
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <Title text="Import YAML"/>
        <p class="crumbs"><A href="/catalog">"Catalog"</A>" /"</p>
        <h1>"Import catalog YAML"</h1>
        <p class="lede">"Paste one or more Backstage descriptors (catalog-info.yaml), separated by "<code>"---"</code>". Each document is created, updated or reported on its own; one bad document never stops the others."</p>
        <ActionForm action=apply attr:class="stack wide">
            <label for="catalog-file">"Upload a file"</label>
            <input id="catalog-file" type="file" accept=".yaml,.yml,text/yaml,application/yaml" on:change=load_file aria-describedby="catalog-file-help"/>
            <p id="catalog-file-help" class="muted small">"Its text goes into the box below, where you can check it before applying."</p>
            <label for="catalog-yaml">"Catalog YAML"</label>
            <textarea id="catalog-yaml" node_ref=text name="yaml" rows="16" required spellcheck="false" class="mono"
                placeholder="apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: my-service\nspec:\n  type: service\n  lifecycle: production\n  owner: my-team"></textarea>
            <button type="submit" class="button-primary" disabled=move || apply.pending().get()>
                {move || if apply.pending().get() { "Applying…" } else { "Apply" }}
            </button>
        </ActionForm>
        {form_status(report, "")}
        {move || report.get().and_then(Result::ok).map(|r| view! {
            <section class="card" aria-labelledby="result-h">
                <h2 id="result-h">"Result"</h2>
                <p role="status">{format!("{} created, {} updated, {} unchanged, {} with errors.", r.created, r.updated, r.unchanged, r.failed)}</p>
                <ol class="outcomes">
                    {r.documents.into_iter().map(|d| {
                        let place = d.line.map(|l| format!(" (line {l})")).unwrap_or_default();
                        view! {
                            <li class=format!("outcome {}", d.outcome)>
                                <strong>{format!("Document {}{place}: {}", d.index + 1, d.outcome)}</strong>
                                {d.entity_ref.clone().map(|r| view! { " " {if d.outcome == "error" { view! { <code>{r}</code> }.into_any() } else { view! { <a href=entity_href(&r)>{r.clone()}</a> }.into_any() }} })}
                                {(!d.errors.is_empty()).then(|| view! {
                                    <ul>{d.errors.into_iter().map(|(path, msgs)| view! { <li><code>{path}</code>": "{msgs.join(" ")}</li> }).collect_view()}</ul>
                                })}
                                {(!d.warnings.is_empty()).then(|| view! {
                                    <ul class="muted">{d.warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </section>
        })}
    }
}

/// What a team owns in the catalog: the first entities and a link to all of them. The page
/// loads `owned` with its own data (a resource created inside a `Suspense` can leave the server's
/// response hanging, leptos issue 4866).
#[component]
pub fn OwnedEntities(team: String, #[prop(into)] heading: String, owned: Result<CatalogPage, AppError>) -> impl IntoView {
    let owner = format!("group:default/{team}");
    let (heading_id, labelled_by) = (format!("owned-{team}"), format!("owned-{team}"));
    let all = format!("/catalog?owner={}", encode(&owner));
    let body = match owned {
        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
        Ok(p) if p.total == 0 => view! { <p class="muted">"Nothing in the catalog is owned by this team yet. "<a href="/catalog/import">"Import its catalog-info.yaml"</a>"."</p> }.into_any(),
        Ok(p) => view! {
            <ul class="plain">
                {p.items.into_iter().map(|e| view! {
                    <li>
                        <a href=entity_href(&e.entity_ref)>{e.title.clone().unwrap_or_else(|| e.name.clone())}</a>
                        <span class="muted small">{format!(" {}{}", e.kind, e.spec_type.map(|t| format!(" · {t}")).unwrap_or_default())}</span>
                    </li>
                }).collect_view()}
            </ul>
            <p><a href=all>{format!("All {} in the catalog", p.total)}</a></p>
        }.into_any(),
    };
    view! {
        <section class="card" aria-labelledby=labelled_by>
            <h2 id=heading_id>{heading}</h2>
            {body}
        </section>
    }
}
