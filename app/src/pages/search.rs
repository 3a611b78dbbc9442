//! Global search: the box in the top bar (suggestions as you type, `/` or Ctrl+K to focus), the
//! results page with kinds to narrow by and highlighted matches, and search analytics for admins.
//! Result links go through `/search/go`, which records what was opened and works without
//! JavaScript.

use crate::api::{encode, load_search_analytics, search, search_suggest};
use crate::components::*;
use crate::types::*;
use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A highlighted text: matches in `<mark>`.
fn marked(parts: Vec<TextPart>) -> impl IntoView {
    parts
        .into_iter()
        .map(|p| if p.hit { view! { <mark>{p.text}</mark> }.into_any() } else { p.text.into_any() })
        .collect_view()
}

/// The address that records the opening of a result, then goes to it (a server route: links to
/// it carry `rel="external"` so the client-side router lets the browser follow them).
fn go_href(hit: &SearchHit, origin: &str) -> String {
    format!("/search/go?{origin}&key={}&rank={}&to={}", encode(&hit.key), hit.rank, encode(&hit.url))
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// The search box of the top bar, with suggestions as you type (a combobox: arrow keys move
/// through them, Enter opens one, Escape closes them). Without JavaScript it is a plain form
/// that opens the results page.
#[component]
pub fn SearchBox() -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let text = RwSignal::new(String::new());
    let suggestions = RwSignal::new(None::<SearchResults>);
    let active = RwSignal::new(None::<usize>);
    let typing_since = StoredValue::new(None::<f64>);
    let sequence = StoredValue::new(0_u64);

    // `/` (outside other fields) or Ctrl/Cmd+K focuses the box from anywhere.
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::keydown, move |e| {
            let in_field = event_target::<web_sys::Element>(&e)
                .closest("input, textarea, select, [contenteditable]")
                .ok()
                .flatten()
                .is_some();
            let shortcut = (e.key() == "/" && !in_field) || ((e.ctrl_key() || e.meta_key()) && e.key().eq_ignore_ascii_case("k"));
            if shortcut {
                if let Some(i) = input.get() {
                    e.prevent_default();
                    let _ = i.focus();
                    i.select();
                }
            }
        });
        on_cleanup(move || handle.remove());
    });

    let open = move |hit: &SearchHit, results: &SearchResults| {
        let ms = typing_since.get_value().map(|t| (now_ms() - t).max(0.0) as i64).unwrap_or(0);
        let origin = format!("q={}&n={}&ms={ms}", encode(&results.query), results.total);
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_href(&go_href(hit, &origin));
        }
    };

    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        active.set(None);
        if value.trim().is_empty() {
            suggestions.set(None);
            typing_since.set_value(None);
            return;
        }
        if typing_since.get_value().is_none() {
            typing_since.set_value(Some(now_ms()));
        }
        sequence.update_value(|s| *s += 1);
        let mine = sequence.get_value();
        // Wait for a pause in typing, then ask; answers to older text are dropped.
        set_timeout(
            move || {
                if sequence.get_value() != mine {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let answer = search_suggest(value.clone()).await.ok();
                    if sequence.get_value() == mine {
                        suggestions.set(answer);
                    }
                });
            },
            std::time::Duration::from_millis(120),
        );
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let count = suggestions.with(|s| s.as_ref().map_or(0, |r| r.items.len()));
        match ev.key().as_str() {
            "ArrowDown" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(0, |i| (i + 1) % count)));
            }
            "ArrowUp" if count > 0 => {
                ev.prevent_default();
                active.update(|a| *a = Some(a.map_or(count - 1, |i| (i + count - 1) % count)));
            }
            "Escape" => {
                suggestions.set(None);
                active.set(None);
            }
            "Enter" => {
                if let Some(i) = active.get_untracked() {
                    ev.prevent_default();
                    suggestions.with_untracked(|s| {
                        if let Some(r) = s {
                            if let Some(hit) = r.items.get(i) {
                                open(hit, r);
                            }
                        }
                    });
                }
            }
            _ => {}
        }
    };

    let expanded = move || suggestions.with(|s| s.as_ref().is_some_and(|r| !r.items.is_empty() || !r.query.is_empty()));
    view! {
        <form class="searchbox" role="search" action="/search" method="get">
            <label for="global-search" class="visually-hidden">"Search the catalog and docs"</label>
            <input
                id="global-search"
                node_ref=input
                type="search"
                name="q"
                placeholder="Search…  /"
                autocomplete="off"
                role="combobox"
                aria-autocomplete="list"
                aria-controls="search-suggestions"
                aria-expanded=move || expanded().to_string()
                aria-activedescendant=move || active.get().map(|i| format!("suggestion-{i}"))
                prop:value=move || text.get()
                on:input=on_input
                on:keydown=on_keydown
                on:blur=move |_| {
                    // Let a click on a suggestion land before the list closes.
                    set_timeout(move || suggestions.set(None), std::time::Duration::from_millis(200));
                }
            />
            <ul id="search-suggestions" role="listbox" class="suggestions" aria-label="Suggestions" hidden=move || !expanded()>
                {move || suggestions.get().map(|r| {
                    if r.items.is_empty() {
                        return view! { <li class="muted" role="presentation">"No matches. Press Enter to search everything."</li> }.into_any();
                    }
                    let all = format!("/search?q={}", encode(&r.query));
                    let total = r.total;
                    let rows = r.items.iter().enumerate().map(|(i, hit)| {
                        let href = go_href(hit, &format!("q={}&n={}&ms=0", encode(&r.query), r.total));
                        let (hit_c, r_c) = (hit.clone(), r.clone());
                        view! {
                            <li role="option" id=format!("suggestion-{i}") aria-selected=move || (active.get() == Some(i)).to_string()
                                class:active=move || active.get() == Some(i)>
                                <a href=href rel="external" tabindex="-1" on:click=move |ev| { ev.prevent_default(); open(&hit_c, &r_c); }>
                                    <span class="kind">{hit.kind.clone()}</span>
                                    <span>{marked(hit.title.clone())}</span>
                                </a>
                            </li>
                        }
                    }).collect_view();
                    view! {
                        {rows}
                        <li role="presentation" class="all"><a href=all tabindex="-1">{format!("All {total} results →")}</a></li>
                    }.into_any()
                })}
            </ul>
        </form>
        <a class="search-icon" href="/search" aria-label="Search">
            <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><circle cx="10.5" cy="10.5" r="6.5" fill="none" stroke="currentColor" stroke-width="2"/><path d="M15.5 15.5 21 21" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>
        </a>
    }
}

/// The query string of a search view.
fn search_href(q: &str, kind: Option<&str>, page: i64) -> String {
    let mut s = format!("/search?q={}", encode(q));
    if let Some(k) = kind {
        s.push_str(&format!("&kind={}", encode(k)));
    }
    if page > 1 {
        s.push_str(&format!("&page={page}"));
    }
    s
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let url = use_query_map();
    let query = move || {
        url.with(|m| SearchQuery {
            q: m.get("q").unwrap_or_default(),
            kind: m.get("kind").filter(|k| !k.is_empty()),
            page: m.get("page").and_then(|p| p.parse().ok()),
            page_size: None,
        })
    };
    let results = Resource::new(query, |q| async move { if q.q.trim().is_empty() { None } else { Some(search(q).await) } });
    view! {
        <Title text="Search"/>
        <h1>"Search"</h1>
        <form class="search-page-form" role="search" action="/search" method="get">
            <label for="search-q" class="visually-hidden">"Search for"</label>
            <input id="search-q" type="search" name="q" value=move || query().q autocomplete="off"
                placeholder="A service, API, team, document…" autofocus=true/>
            <button type="submit" class="button-primary">"Search"</button>
        </form>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let q = query();
                match results.await {
                    None => view! { <p class="muted">"Search by name, title, description, tag or document text. Part of a word is enough, and small typos are forgiven."</p> }.into_any(),
                    Some(Err(e)) => view! { <ErrorPanel error=e/> }.into_any(),
                    Some(Ok(r)) => view! { <SearchResultsView q r/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SearchResultsView(q: SearchQuery, r: SearchResults) -> impl IntoView {
    let all_count: i64 = r.kinds.iter().map(|k| k.count).sum();
    let kinds = r
        .kinds
        .iter()
        .map(|k| {
            let active = q.kind.as_deref() == Some(k.value.as_str());
            let href = if active { search_href(&r.query, None, 1) } else { search_href(&r.query, Some(&k.value), 1) };
            view! {
                <li><a href=href class:active=active aria-current=active.then_some("true")>
                    <span>{k.value.clone()}</span><span class="count">{k.count}</span>
                </a></li>
            }
        })
        .collect_view();
    let origin = r.query_id.as_ref().map(|id| format!("id={}", encode(id))).unwrap_or_default();
    let pages = (r.ranked + r.page_size - 1) / r.page_size;
    let prev = (r.page > 1).then(|| search_href(&r.query, q.kind.as_deref(), r.page - 1));
    let next = (r.page < pages).then(|| search_href(&r.query, q.kind.as_deref(), r.page + 1));
    let status = if r.total == 0 {
        format!("Nothing found for “{}”.", r.query)
    } else if r.fuzzy {
        format!("No exact match for “{}”; {} similar result{} ({:.0} ms).", r.query, r.total, if r.total == 1 { "" } else { "s" }, r.took_ms)
    } else {
        let plus = if r.more { "+" } else { "" };
        format!("{}{plus} result{} for “{}” ({:.0} ms).", r.total, if r.total == 1 { "" } else { "s" }, r.query, r.took_ms)
    };
    let items = r
        .items
        .iter()
        .map(|hit| {
            let owner = hit.owner.clone().map(|o| o.split_once('/').map(|(_, n)| n.to_string()).unwrap_or(o));
            view! {
                <li class="hit">
                    <a class="hit-title" href=go_href(hit, &origin) rel="external">{marked(hit.title.clone())}</a>
                    <span class="badge">{hit.kind.clone()}</span>
                    {owner.map(|o| view! { <span class="muted small">{format!(" · {o}")}</span> })}
                    <p class="snippet">{marked(hit.snippet.clone())}</p>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="catalog">
            <details class="filters-panel">
                <summary>"Kinds"</summary>
                <div class="facets">
                    <section class="facet" aria-label="Narrow by kind">
                        <h2>"Kind"</h2>
                        <ul>
                            <li><a href=search_href(&r.query, None, 1) class:active=q.kind.is_none()><span>"Everything"</span><span class="count">{all_count}</span></a></li>
                            {kinds}
                        </ul>
                    </section>
                </div>
            </details>
            <div class="results">
                <p class="muted" role="status">{status}</p>
                {(r.total == 0).then(|| view! {
                    <p>"Try fewer or shorter words, or "<a href="/catalog">"browse the catalog"</a>" and "<a href="/docs">"the docs"</a>"."</p>
                })}
                <ol class="hits">{items}</ol>
                {(pages > 1).then(|| view! {
                    <nav class="pager" aria-label="Pages">
                        {prev.map(|h| view! { <a href=h rel="prev">"← Previous"</a> })}
                        <span>{format!("Page {} of {}", r.page, pages)}</span>
                        {next.map(|h| view! { <a href=h rel="next">"Next →"</a> })}
                    </nav>
                })}
            </div>
        </div>
    }
}

fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// Search analytics (Platform Admins): how often a search leads somewhere and how fast.
#[component]
pub fn SearchAnalyticsPage() -> impl IntoView {
    let url = use_query_map();
    let days = move || url.with(|m| m.get("days").and_then(|d| d.parse::<i64>().ok()).unwrap_or(30));
    let data = Resource::new(days, load_search_analytics);
    view! {
        <Title text="Search analytics"/>
        <div class="page-head">
            <h1>"Search analytics"</h1>
            <nav class="toolbar" aria-label="Period">
                {[7_i64, 30, 90].into_iter().map(|d| view! {
                    <a href=format!("/admin/search?days={d}") class:active=move || days() == d aria-current=move || (days() == d).then_some("true")>{format!("{d} days")}</a>
                }).collect_view()}
            </nav>
        </div>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    Ok(a) => view! { <AnalyticsView a/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A day (`2026-11-27`) as a chart labels it: `27 Nov`.
fn short_day(day: &str) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut parts = day.splitn(3, '-').skip(1);
    match (parts.next().and_then(|m| m.parse::<usize>().ok()), parts.next().and_then(|d| d.parse::<u32>().ok())) {
        (Some(m @ 1..=12), Some(d)) => format!("{d} {}", MONTHS[m - 1]),
        _ => day.to_string(),
    }
}

#[component]
fn AnalyticsView(a: SearchAnalytics) -> impl IntoView {
    let ms = |v: Option<i64>| v.map(|v| if v >= 10_000 { format!("{:.0} s", v as f64 / 1000.0) } else { format!("{:.1} s", v as f64 / 1000.0) }).unwrap_or_else(|| "—".into());
    let figures = vec![
        ("Searches", a.searches.to_string()),
        ("Search success rate", percent(a.success_rate)),
        ("Time to find (median)", ms(a.time_to_find_p50_ms)),
        ("Time to find (90th percentile)", ms(a.time_to_find_p90_ms)),
        ("No results", percent(a.zero_result_rate)),
        ("Opened result's position (mean)", a.mean_opened_rank.map(|r| format!("{r:.1}")).unwrap_or_else(|| "—".into())),
        ("Search time (median)", a.search_p50_ms.map(|m| format!("{m:.1} ms")).unwrap_or_else(|| "—".into())),
    ];
    let max = a.per_day.iter().map(|d| d.searches).max().unwrap_or(1).max(1) as f64;
    let n = a.per_day.len();
    // Every day is labelled up to two weeks (with its count above the bar); longer periods
    // label five days, each label starting at its bar, so that they fit a phone's width.
    let dense = n > 14;
    let every = if dense { n.div_ceil(5) } else { 1 };
    let bars = a
        .per_day
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let all = d.searches as f64 / max * 100.0;
            let found = if d.searches > 0 { d.successful as f64 / d.searches as f64 * 100.0 } else { 0.0 };
            let label = (i % every == 0).then(|| short_day(&d.day));
            view! {
                <div class="bar-col" title=format!("{}: {} searches, {} found what they wanted", d.day, d.searches, d.successful)>
                    <span class="bar-value">{(!dense && d.searches > 0).then(|| d.searches.to_string())}</span>
                    <div class="bar-area">
                        <div class="bar-all" style=format!("height: {all:.1}%")>
                            <div class="bar-ok" style=format!("height: {found:.1}%")></div>
                        </div>
                    </div>
                    <span class="bar-day">{label}</span>
                </div>
            }
        })
        .collect_view();
    let busiest = a.per_day.iter().filter(|d| d.searches > 0).max_by_key(|d| d.searches).map(|d| format!(" · busiest day {}: {} searches", short_day(&d.day), d.searches));
    let table = |rows: Vec<QueryStat>, caption: &'static str| {
        view! {
            <div class="table-wrap">
                <table>
                    <caption>{caption}</caption>
                    <thead><tr><th scope="col">"Query"</th><th scope="col">"Searches"</th><th scope="col">"Opened"</th><th scope="col">"Results"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|q| view! {
                            <tr><td><a href=format!("/search?q={}", encode(&q.query))>{q.query.clone()}</a></td><td>{q.searches}</td><td>{q.successful}</td><td>{q.results}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
    };
    let first = a.per_day.first().map(|d| d.day.clone()).unwrap_or_default();
    let last = a.per_day.last().map(|d| d.day.clone()).unwrap_or_default();
    view! {
        <p class="lede">{format!("The last {} days. A search succeeds when a result is opened from it; time to find runs from the search (or the first keystroke, for suggestions) to that opening.", a.days)}</p>
        <dl class="figures">
            {figures.into_iter().map(|(k, v)| view! { <div><dt>{k}</dt><dd>{v}</dd></div> }).collect_view()}
        </dl>
        <section class="card" aria-labelledby="per-day-h">
            <h2 id="per-day-h">"Searches per day"</h2>
            {if a.searches == 0 {
                view! { <p class="muted">"No searches in this period yet."</p> }.into_any()
            } else {
                view! {
                    <div class="bar-chart" class:dense=dense role="img" aria-label=format!("Searches per day from {first} to {last}; the darker part of each bar found what they wanted{}", busiest.clone().unwrap_or_default())>
                        {bars}
                    </div>
                    <p class="muted small legend"><span class="key-all"></span>" all searches  "<span class="key-ok"></span>" a result was opened · "{format!("{first} – {last}")}{busiest}</p>
                }.into_any()
            }}
        </section>
        {table(a.top_queries.clone(), "Most frequent queries")}
        {(!a.zero_result_queries.is_empty()).then(|| table(a.zero_result_queries.clone(), "Queries that found nothing (worth a doc, a tag or a title)"))}
    }
}
