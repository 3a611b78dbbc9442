//! Workflows: the list, each with a form that starts a run, and the runs below it (filters in
//! the URL); a run's page with its steps and its log, which follow the run live once the page
//! has hydrated (server-sent events) and are complete without JavaScript; and webhook sources
//! for Platform Admins.

use crate::api::{
    DoCancelRun, DoDecideRun, DoDeleteWebhookSource, DoPutWebhookSource, DoRetryRun, DoRollbackRun, DoStartRun, encode,
    load_run, load_run_logs, load_runs, load_webhook_deliveries, load_webhook_sources, load_workflows,
};
use crate::components::*;
use crate::error::AppError;
use crate::types::Role;
use crate::workflow::*;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;
use std::collections::HashMap;

pub fn run_href(id: &str) -> String {
    format!("/runs/{}", encode(id))
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The time part of a stored timestamp ("19:40:07").
fn clock(ts: &str) -> String {
    ts.get(11..19).unwrap_or(ts).to_string()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn run_icon(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "▶",
        RunStatus::Waiting => "◷",
        RunStatus::Succeeded => "✓",
        RunStatus::Failed => "✗",
        RunStatus::RollingBack => "↺",
        RunStatus::RolledBack => "↺",
        RunStatus::RollbackFailed => "⚠",
        RunStatus::Cancelled => "■",
    }
}

/// A run's status as a badge: an icon for the eye and the word for everyone.
fn status_badge(s: RunStatus) -> impl IntoView {
    view! {
        <span class=format!("badge status status-{}", s.as_str())>
            <span aria-hidden="true">{run_icon(s)}" "</span>{s.label()}
        </span>
    }
}

/// How a step is doing, as an icon and a phrase.
fn step_state(s: &Step) -> (&'static str, String) {
    match s.status {
        StepStatus::Pending if s.attempts > 0 => ("↻", format!("Will retry (attempt {} failed)", s.attempts)),
        StepStatus::Pending => ("○", "Pending".into()),
        StepStatus::Running => ("◐", "Running".into()),
        StepStatus::Waiting if s.kind == "approval" => ("◷", "Waiting for approval".into()),
        StepStatus::Waiting => ("◷", "Waiting".into()),
        StepStatus::Succeeded => ("✓", "Succeeded".into()),
        StepStatus::Failed => ("✗", "Failed".into()),
        StepStatus::Skipped => ("–", "Skipped".into()),
    }
}

fn undo_label(u: UndoStatus) -> Option<&'static str> {
    match u {
        UndoStatus::None => None,
        UndoStatus::Pending => Some("Undo pending"),
        UndoStatus::Running => Some("Undoing"),
        UndoStatus::Done => Some("Undone"),
        UndoStatus::Failed => Some("Undo failed"),
    }
}

/// What started a run, in words.
fn trigger_view(trigger: &str) -> AnyView {
    match trigger.split_once(':') {
        None if trigger == "user" => "By hand".into_any(),
        None if trigger == "schedule" => "Schedule".into_any(),
        Some(("event", kind)) => view! { "Event "<code>{kind.to_string()}</code> }.into_any(),
        Some(("retry", id)) => {
            view! { "Retry of "<a href=run_href(id)>{format!("run {}", short_id(id))}</a> }.into_any()
        }
        _ => trigger.to_string().into_any(),
    }
}

fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// Messages for a field whose name is only known at run time (`inputs.service`).
fn errors_for<T>(value: Signal<Option<Result<T, AppError>>>, key: String, id: String) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    move || {
        let messages = value.with(|v| match v {
            Some(Err(e)) => e.field_messages(&key),
            _ => Vec::new(),
        });
        (!messages.is_empty()).then(|| view! { <p class="field-error" id=id.clone()>{messages.join(" ")}</p> })
    }
}

/// What someone typed into a start form, carried back in the URL after a failed submit
/// without JavaScript (`?wf=NAME&team=T&in.INPUT=VALUE`).
#[derive(Clone, Default)]
struct Kept {
    team: Option<String>,
    values: HashMap<String, String>,
}

fn kept_from_url(m: &leptos_router::params::ParamsMap) -> Option<(String, Kept)> {
    let wf = m.get("wf")?;
    let values =
        m.into_iter().filter_map(|(k, v)| k.strip_prefix("in.").map(|k| (k.to_string(), v.to_string()))).collect();
    Some((wf, Kept { team: m.get("team"), values }))
}

fn filter_from_url(m: &leptos_router::params::ParamsMap) -> RunFilter {
    let get = |k: &str| m.get(k).filter(|v| !v.trim().is_empty());
    RunFilter {
        workflow: get("workflow"),
        status: get("status"),
        started_by: get("started_by").map(|s| s.trim().to_string()),
        team: get("team"),
        page: get("page").and_then(|p| p.parse().ok()),
    }
}

fn runs_href(f: &RunFilter) -> String {
    let pairs = [("workflow", &f.workflow), ("status", &f.status), ("started_by", &f.started_by), ("team", &f.team)];
    let mut parts: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v)))).collect();
    if let Some(p) = f.page.filter(|p| *p > 1) {
        parts.push(format!("page={p}"));
    }
    if parts.is_empty() { "/workflows#runs-h".to_string() } else { format!("/workflows?{}#runs-h", parts.join("&")) }
}

#[component]
pub fn WorkflowsPage() -> impl IntoView {
    let signed_in = me_resource();
    let url = use_query_map();
    let filter = move || url.with(filter_from_url);
    let kept = url.with_untracked(kept_from_url);
    let workflows = Resource::new(|| (), |_| load_workflows());
    let runs = Resource::new(filter, load_runs);
    view! {
        <Title text="Workflows"/>
        <div class="page-head">
            <h1>"Workflows"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    require_me(signed_in).await.ok().filter(|m| m.is_admin).map(|_| view! {
                        <div class="toolbar"><a href="/workflows/webhooks">"Webhook sources"</a></div>
                    })
                })}
            </Suspense>
        </div>
        <p class="lede">"Start a workflow for one of your teams, then follow its run step by step. Failed steps are retried; when a step fails for good, what already ran is undone."</p>
        <Suspense fallback=loading>
            {move || {
                let kept = kept.clone();
                Suspend::new(async move {
                    match workflows.await {
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No workflows are defined yet. Platform Admins add them through the REST API ("<code>"PUT /api/v1/workflows/{name}"</code>")."</p> }.into_any(),
                        Ok(mut list) => {
                            // Those made to be started by hand first, then by title.
                            list.sort_by_key(|w| (!w.definition.on.events.is_empty() || w.definition.on.schedule.is_some(), w.definition.title.to_lowercase()));
                            view! {
                            <ul class="workflow-list">
                                {list.into_iter().map(|w| {
                                    let mine = kept.as_ref().filter(|(wf, _)| *wf == w.definition.name).map(|(_, k)| k.clone());
                                    let other_failed = kept.is_some() && mine.is_none();
                                    view! { <WorkflowCard w kept=mine other_failed/> }
                                }).collect_view()}
                            </ul>
                            }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
        <section class="runs" aria-labelledby="runs-h">
            <h2 id="runs-h">"Runs"</h2>
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    let names: Vec<(String, String)> = workflows
                        .await
                        .map(|l| l.into_iter().map(|w| (w.definition.name, w.definition.title)).collect())
                        .unwrap_or_default();
                    let f = filter();
                    match runs.await {
                        Err(e) => view! { <RunFilters f names/><ErrorPanel error=e/> }.into_any(),
                        Ok(page) => view! { <RunFilters f=f.clone() names/><RunList f page/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One workflow: what it does, what starts it, and a form to start it by hand.
#[component]
fn WorkflowCard(w: WorkflowInfo, kept: Option<Kept>, other_failed: bool) -> impl IntoView {
    let start = ServerAction::<DoStartRun>::new();
    // Without JavaScript a failed start comes back with the error in the URL, which every start
    // form on the page would read: only the form that was sent shows it.
    if other_failed {
        start.value().set(None);
    }
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(d)) = start.value().get() {
            navigate(&run_href(&d.run.id), Default::default());
        }
    });
    let value: Signal<Option<Result<RunDetail, AppError>>> = Signal::derive(move || start.value().get());
    let def = w.definition.clone();
    let name = def.name.clone();
    let heading_id = format!("wf-{name}-h");
    let kept = kept.unwrap_or_default();

    let mut triggers: Vec<AnyView> = Vec::new();
    triggers.push(
        view! { <li>{format!("By hand, by a {} or higher in the run's team", def.start_role.label())}</li> }.into_any(),
    );
    if !def.on.events.is_empty() {
        let kinds = def.on.events.iter().map(|e| view! { <code>{e.clone()}</code>" " }).collect_view();
        triggers.push(view! { <li>"On events: "{kinds}</li> }.into_any());
    }
    if let Some(s) = def.on.schedule.clone() {
        let next = w.next_fire_at.as_deref().map(|t| format!(" · next {} UTC", short_time(t))).unwrap_or_default();
        triggers.push(view! { <li>"On a schedule: "<code>{s}</code>" (UTC)"{next}</li> }.into_any());
    }
    if let (Some(t), true) = (def.on.team.clone(), !def.on.events.is_empty() || def.on.schedule.is_some()) {
        triggers.push(view! { <li>{format!("Runs it starts by itself belong to team {t}")}</li> }.into_any());
    }

    let form = if w.startable_in.is_empty() {
        view! {
            <p class="muted start-none">
                {format!("You cannot start this workflow: it needs the {} role (or higher) in a team. A Team Lead can give you a role on the ", def.start_role.label())}
                <a href="/teams">"Teams"</a>" page."
            </p>
        }
        .into_any()
    } else {
        let prefix = format!("wf-{name}");
        let booleans = def
            .inputs
            .iter()
            .filter(|i| i.kind == InputKind::Boolean)
            .map(|i| i.name.clone())
            .collect::<Vec<_>>()
            .join(",");
        let (basic, advanced): (Vec<InputDef>, Vec<InputDef>) = def.inputs.iter().cloned().partition(|i| !i.advanced);
        let advanced_names: Vec<String> = advanced.iter().map(|i| format!("inputs.{}", i.name)).collect();
        let advanced_error = move || {
            start.value().with(|v| match v {
                Some(Err(e)) => advanced_names.iter().any(|n| !e.field_messages(n).is_empty()),
                _ => false,
            })
        };
        let open_at_start = advanced_error();
        let details = NodeRef::<leptos::html::Details>::new();
        // A problem in a field under "More options" opens it, so that the message is seen.
        Effect::new(move |_| {
            if advanced_error()
                && let Some(d) = details.get()
            {
                d.set_open(true);
            }
        });
        let field = |i: InputDef| {
            let kept = kept.values.get(&i.name).cloned();
            view! { <InputField i prefix=prefix.clone() kept value/> }
        };
        let basic = basic.into_iter().map(field).collect_view();
        let advanced_view = (!advanced.is_empty()).then(|| {
            let fields = advanced.into_iter().map(field).collect_view();
            view! {
                <details class="more-options" node_ref=details open=open_at_start>
                    <summary>"More options"</summary>
                    <div class="stack">{fields}</div>
                </details>
            }
        });
        let team_id = format!("{prefix}-team");
        let chosen_team = kept.team.clone();
        let teams = w
            .startable_in
            .iter()
            .map(|t| view! { <option value=t.clone() selected=chosen_team.as_deref() == Some(t.as_str())>{t.clone()}</option> })
            .collect_view();
        let workflow = name.clone();
        view! {
            <ActionForm action=start attr:class="stack start-form" attr:aria-label=format!("Start {}", def.title)>
                <input type="hidden" name="workflow" value=workflow/>
                <input type="hidden" name="booleans" value=booleans/>
                <label for=team_id.clone()>"Team"</label>
                <select id=team_id.clone() name="team" aria-describedby=format!("{team_id}-error")>{teams}</select>
                {errors_for(value, "team".into(), format!("{team_id}-error"))}
                {basic}
                {advanced_view}
                {form_status(start.value(), "")}
                <button type="submit" class="button-primary" disabled=move || start.pending().get()>
                    {move || if start.pending().get() { "Starting…" } else { "Start run" }}
                </button>
            </ActionForm>
        }
        .into_any()
    };

    view! {
        <li class="card workflow" aria-labelledby=heading_id.clone()>
            <div class="workflow-head">
                <h2 id=heading_id.clone()>{def.title.clone()}</h2>
                <a class="small" href=runs_href(&RunFilter { workflow: Some(name.clone()), ..Default::default() })>"Its runs"</a>
            </div>
            <p class="muted small"><code>{name.clone()}</code>{format!(" · {} · version {}", plural(def.steps.len() as i64, "step", "steps"), w.version)}</p>
            {(!def.description.is_empty()).then(|| view! { <p>{def.description.clone()}</p> })}
            <ul class="plain small triggers" aria-label="What starts it">{triggers}</ul>
            {form}
        </li>
    }
}

/// The text of a default or kept value, as a form field holds it.
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One input of a start form: a text, number, checkbox or choice, with its help and its errors.
#[component]
fn InputField(
    i: InputDef,
    prefix: String,
    kept: Option<String>,
    value: Signal<Option<Result<RunDetail, AppError>>>,
) -> impl IntoView {
    let id = format!("{prefix}-{}", i.name);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let described = if i.help.is_empty() { error_id.clone() } else { format!("{help_id} {error_id}") };
    let label = if i.title.is_empty() { i.name.clone() } else { i.title.clone() };
    let name = format!("inputs[{}]", i.name);
    let initial = kept.unwrap_or_else(|| i.default.as_ref().map(as_text).unwrap_or_default());
    let required = i.required && i.default.is_none();
    let help =
        (!i.help.is_empty()).then(|| view! { <p class="muted small help" id=help_id.clone()>{i.help.clone()}</p> });
    let errors = errors_for(value, format!("inputs.{}", i.name), error_id);
    let control = match i.kind {
        InputKind::Boolean => view! {
            <label class="check">
                <input type="checkbox" id=id.clone() name=name value="true" checked=initial == "true" aria-describedby=described/>
                " "{label}
            </label>
        }
        .into_any(),
        InputKind::Choice => {
            let options = i
                .choices
                .iter()
                .map(|c| view! { <option value=c.clone() selected=*c == initial>{c.clone()}</option> })
                .collect_view();
            view! {
                <label for=id.clone()>{label}</label>
                <select id=id.clone() name=name required=required aria-describedby=described>
                    {(!required).then(|| view! { <option value="">"—"</option> })}
                    {options}
                </select>
            }
            .into_any()
        }
        InputKind::Number => view! {
            <label for=id.clone()>{label}</label>
            <input type="number" step="any" id=id.clone() name=name value=initial required=required aria-describedby=described/>
        }
        .into_any(),
        InputKind::Text => view! {
            <label for=id.clone()>{label}</label>
            <input type=if i.secret { "password" } else { "text" } id=id.clone() name=name value=initial required=required
                autocomplete="off" spellcheck="false" aria-describedby=described/>
        }
        .into_any(),
    };
    view! { {control}{help}{errors} }
}

/// The filters of the runs list: a plain GET form, so that they live in the URL.
#[component]
fn RunFilters(f: RunFilter, names: Vec<(String, String)>) -> impl IntoView {
    let any = f.workflow.is_some() || f.status.is_some() || f.started_by.is_some() || f.team.is_some();
    let workflow_options = names
        .into_iter()
        .map(|(n, t)| {
            let selected = f.workflow.as_deref() == Some(n.as_str());
            view! { <option value=n.clone() selected=selected>{t}</option> }
        })
        .collect_view();
    let status_options = RunStatus::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected=f.status.as_deref() == Some(s.as_str())>{s.label()}</option> })
        .collect_view();
    view! {
        <Form method="GET" action="/workflows" attr:class="filters run-filters" attr:aria-label="Filter runs">
            <label for="rf-workflow">"Workflow"</label>
            <select id="rf-workflow" name="workflow">
                <option value="">"All workflows"</option>
                {workflow_options}
            </select>
            <label for="rf-status">"Status"</label>
            <select id="rf-status" name="status">
                <option value="">"Any status"</option>
                {status_options}
            </select>
            <label for="rf-started-by">"Started by"</label>
            <input id="rf-started-by" name="started_by" placeholder="username" autocapitalize="none" value=f.started_by.clone().unwrap_or_default()/>
            {f.team.clone().map(|t| view! { <input type="hidden" name="team" value=t/> })}
            <button type="submit" class="button-quiet">"Filter"</button>
            {any.then(|| view! { <a href="/workflows#runs-h">"Clear filters"</a> })}
        </Form>
    }
}

#[component]
fn RunList(f: RunFilter, page: RunPage) -> impl IntoView {
    let pages = ((page.total + page.page_size - 1) / page.page_size).max(1);
    let prev = (page.page > 1).then(|| runs_href(&RunFilter { page: Some(page.page - 1), ..f.clone() }));
    let next = (page.page < pages).then(|| runs_href(&RunFilter { page: Some(page.page + 1), ..f.clone() }));
    if page.runs.is_empty() {
        let filtered = f.workflow.is_some() || f.status.is_some() || f.started_by.is_some() || f.team.is_some();
        let text = if filtered { "No runs match." } else { "No runs yet: start one above." };
        return view! { <p class="muted" role="status">{text}</p> }.into_any();
    }
    let rows = page
        .runs
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td data-label="Run">
                        <a href=run_href(&r.id)>{r.title.clone()}</a>" "
                        <span class="muted small mono">{short_id(&r.id)}</span>
                    </td>
                    <td data-label="Status">{status_badge(r.status)}</td>
                    <td data-label="Team">{r.team.clone().unwrap_or_else(|| "—".into())}</td>
                    <td data-label="Started by">{r.started_by.clone()}</td>
                    <td data-label="Trigger">{trigger_view(&r.trigger)}</td>
                    <td data-label="Started">{short_time(&r.created_at)}</td>
                    <td data-label="Finished">{r.finished_at.as_deref().map(short_time).unwrap_or_else(|| "—".into())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="muted" role="status">{plural(page.total, "run", "runs")}</p>
        <div class="table-wrap">
            <table class="runs-table">
                <thead><tr>
                    <th scope="col">"Run"</th><th scope="col">"Status"</th><th scope="col">"Team"</th><th scope="col">"Started by"</th>
                    <th scope="col">"Trigger"</th><th scope="col">"Started (UTC)"</th><th scope="col">"Finished (UTC)"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {(pages > 1).then(|| view! {
            <nav class="pager" aria-label="Pages of runs">
                {prev.map(|h| view! { <a href=h rel="prev">"← Newer"</a> })}
                <span>{format!("Page {} of {}", page.page, pages)}</span>
                {next.map(|h| view! { <a href=h rel="next">"Older →"</a> })}
            </nav>
        })}
    }
    .into_any()
}

// ---- one run ------------------------------------------------------------------------------

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, |id| async move {
        let detail = load_run(id.clone()).await?;
        let logs = load_run_logs(id, 0).await.unwrap_or_default();
        Ok::<_, AppError>((detail, logs))
    });
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! {
                        <Title text="Run"/>
                        <p class="crumbs"><A href="/workflows">"Workflows"</A>" /"</p>
                        <h1>"Run"</h1>
                        <ErrorPanel error=e/>
                    }.into_any(),
                    Ok((detail, logs)) => view! { <RunView detail logs/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Whether the page follows the run as it happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Live {
    /// Not following: no JavaScript yet, or the run had already finished.
    Off,
    Connecting,
    On,
    /// The server said the run is final.
    Ended,
    /// The connection failed and the browser gave up (reload to try again).
    Lost,
}

/// Takes a newer state of the run (from the live stream or an action's answer); an older one
/// that arrives late is ignored.
fn apply(state: RwSignal<RunDetail>, d: RunDetail) {
    let newer = state.with_untracked(|s| s.run.id == d.run.id && d.run.version >= s.run.version);
    if newer {
        state.set(d);
    }
}

/// Appends log lines not seen yet (by sequence number).
fn append_logs(lines: RwSignal<Vec<LogLine>>, new: Vec<LogLine>) {
    let last = lines.with_untracked(|l| l.last().map(|x| x.seq).unwrap_or(0));
    let fresh: Vec<LogLine> = new.into_iter().filter(|l| l.seq > last).collect();
    if !fresh.is_empty() {
        lines.update(|l| l.extend(fresh));
    }
}

#[component]
fn RunView(detail: RunDetail, logs: Vec<LogLine>) -> impl IntoView {
    let run_id = detail.run.id.clone();
    let title = detail.run.title.clone();
    let step_count = detail.steps.len();
    let state = RwSignal::new(detail);
    let lines = RwSignal::new(logs);
    let live = RwSignal::new(Live::Off);
    let status = Memo::new(move |_| state.with(|d| d.run.status));
    let can = Memo::new(move |_| state.with(|d| d.can.clone()));

    let cancel = ServerAction::<DoCancelRun>::new();
    let rollback = ServerAction::<DoRollbackRun>::new();
    let retry = ServerAction::<DoRetryRun>::new();
    let decide = ServerAction::<DoDecideRun>::new();

    // An action's answer is the run's new state; the live stream brings what follows. The log
    // lines the action wrote are fetched at once too, in case the stream is not connected.
    let refresh_logs = {
        let id = run_id.clone();
        move || {
            let id = id.clone();
            let after = lines.with_untracked(|l| l.last().map(|x| x.seq).unwrap_or(0));
            leptos::task::spawn_local(async move {
                if let Ok(new) = load_run_logs(id, after).await {
                    append_logs(lines, new);
                }
            });
        }
    };
    for value in [cancel.value(), rollback.value(), decide.value()] {
        let refresh_logs = refresh_logs.clone();
        Effect::new(move |_| {
            if let Some(Ok(d)) = value.get() {
                apply(state, d);
                refresh_logs();
            }
        });
    }
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(d)) = retry.value().get() {
            navigate(&run_href(&d.run.id), Default::default());
        }
    });

    #[cfg(feature = "hydrate")]
    live::follow(run_id.clone(), state, lines, live, status);

    let facts = move || {
        state.with(|d| {
            let r = &d.run;
            view! {
                <dl class="facts run-facts">
                    <dt>"Workflow"</dt>
                    <dd><a href=runs_href(&RunFilter { workflow: Some(r.workflow.clone()), ..Default::default() })>{r.workflow.clone()}</a></dd>
                    <dt>"Team"</dt><dd>{r.team.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Started by"</dt><dd>{r.started_by.clone()}</dd>
                    <dt>"Trigger"</dt><dd>{trigger_view(&r.trigger)}</dd>
                    <dt>"Started"</dt><dd>{format!("{} UTC", short_time(&r.created_at))}</dd>
                    <dt>{if r.finished_at.is_some() { "Finished" } else { "Last change" }}</dt>
                    <dd>{format!("{} UTC", short_time(r.finished_at.as_deref().unwrap_or(&r.updated_at)))}</dd>
                    <dt>"Run id"</dt><dd><code>{r.id.clone()}</code></dd>
                </dl>
            }
        })
    };
    let notes = move || {
        state.with(|d| {
            let r = &d.run;
            let approval = d.steps.iter().find(|s| s.kind == "approval" && s.status == StepStatus::Waiting).map(|s| {
                let role = s
                    .input
                    .get("role")
                    .cloned()
                    .and_then(|v| serde_json::from_value::<Role>(v).ok())
                    .unwrap_or(Role::TeamLead);
                let team = r.team.clone().unwrap_or_else(|| "the run's team".into());
                let until = s.next_at.as_deref().map(|t| format!(" until {} UTC", short_time(t))).unwrap_or_default();
                format!(
                    "Waiting for approval of “{}” by a {} (or higher) of {team}{until}. The person who started the run cannot approve it.",
                    s.title,
                    role.label()
                )
            });
            view! {
                {r.error.clone().map(|e| view! { <div class="alert run-error"><p><strong>"Error: "</strong>{e}</p></div> })}
                {r.rollback_reason.clone().map(|why| view! { <p class="rollback-reason"><strong>"Rollback: "</strong>{why}</p> })}
                {(r.cancel_requested && !r.status.is_final()).then(|| view! { <p class="notice">"Cancel requested: the run stops before its next step and undoes what ran."</p> })}
                {approval.map(|a| view! { <p class="notice approval-note">{a}</p> })}
            }
        })
    };
    let actions = {
        let id = run_id.clone();
        move || {
            let c = can.get();
            let [id_cancel, id_rollback, id_retry, id_decide] = [(); 4].map(|_| id.clone());
            let any = c.cancel || c.rollback || c.retry;
            view! {
                {any.then(|| view! {
                    <div class="toolbar run-actions">
                        {c.cancel.then(|| view! {
                            <ActionForm action=cancel attr:class="inline">
                                <input type="hidden" name="id" value=id_cancel/>
                                <button type="submit" class="button-danger" disabled=move || cancel.pending().get()>"Cancel run"</button>
                            </ActionForm>
                        })}
                        {c.rollback.then(|| view! {
                            <ActionForm action=rollback attr:class="inline">
                                <input type="hidden" name="id" value=id_rollback/>
                                <button type="submit" class="button-danger" disabled=move || rollback.pending().get()
                                    title="Undo the steps that ran, newest first">"Roll back"</button>
                            </ActionForm>
                        })}
                        {c.retry.then(|| view! {
                            <ActionForm action=retry attr:class="inline">
                                <input type="hidden" name="id" value=id_retry/>
                                <button type="submit" class="button-quiet" disabled=move || retry.pending().get()
                                    title="Start a new run with the same inputs">"Retry"</button>
                            </ActionForm>
                        })}
                    </div>
                })}
                {c.approve.then(|| view! {
                    <ActionForm action=decide attr:class="stack decide-form" attr:aria-label="Approve or reject">
                        <input type="hidden" name="id" value=id_decide/>
                        <label for="decide-comment">"Comment (optional)"</label>
                        <textarea id="decide-comment" name="comment" rows="2" maxlength="1000"></textarea>
                        <div class="toolbar">
                            <button type="submit" name="decision" value="approve" class="button-primary" disabled=move || decide.pending().get()>"Approve"</button>
                            <button type="submit" name="decision" value="reject" class="button-danger" disabled=move || decide.pending().get()>"Reject"</button>
                        </div>
                    </ActionForm>
                })}
            }
        }
    };
    let inputs = move || state.with(|d| pretty(&d.run.inputs));
    let live_text = move || match live.get() {
        Live::Off => None,
        Live::Connecting => Some("Connecting…"),
        Live::On => Some("Live"),
        Live::Ended => None,
        Live::Lost => Some("Not updating: reload the page"),
    };
    let log_ref = NodeRef::<leptos::html::Div>::new();
    // New lines scroll into view, unless the reader has scrolled up to read older ones.
    Effect::new(move |prev: Option<usize>| {
        let n = lines.with(Vec::len);
        if let Some(el) = log_ref.get() {
            let at_end = el.scroll_height() - el.scroll_top() - el.client_height() < 60;
            if prev.is_none() || at_end {
                el.set_scroll_top(el.scroll_height());
            }
        }
        n
    });
    let step_title = move |idx: Option<i64>| {
        idx.and_then(|i| state.with_untracked(|d| d.steps.get(i as usize).map(|s| s.title.clone())))
    };

    view! {
        <Title text=title.clone()/>
        <p class="crumbs"><A href="/workflows">"Workflows"</A>" / Run"</p>
        <div class="page-head run-head">
            <h1>{title}</h1>
            <p class="run-status" role="status" aria-label="Run status">
                {move || status_badge(status.get())}
                {move || live_text().map(|t| view! { <span class=move || format!("live live-{:?}", live.get()).to_lowercase()>{t}</span> })}
            </p>
        </div>
        <section class="card run-summary" aria-label="Run">
            {facts}
            {notes}
            {actions}
            // Only failures: what an action did shows in the status, the steps and the log.
            {form_status(cancel.value(), "")}
            {form_status(rollback.value(), "")}
            {form_status(retry.value(), "")}
            {form_status(decide.value(), "")}
            <details class="run-inputs">
                <summary>"Inputs"</summary>
                <pre class="code small">{inputs}</pre>
            </details>
        </section>
        <div class="run-body">
            <section class="card" aria-labelledby="steps-h">
                <h2 id="steps-h">"Steps"</h2>
                <ol class="timeline">
                    {(0..step_count).map(|i| view! { <StepItem state i/> }).collect_view()}
                </ol>
            </section>
            <section class="card" aria-labelledby="log-h">
                <h2 id="log-h">"Log"</h2>
                <div class="run-log" role="log" aria-live="polite" aria-labelledby="log-h" tabindex="0" node_ref=log_ref>
                    <ol class="log-lines">
                    {move || {
                        let l = lines.get();
                        if l.is_empty() {
                            return view! { <li class="muted">"Nothing logged yet."</li> }.into_any();
                        }
                        l.into_iter().map(|line| {
                            let step = step_title(line.step_idx);
                            view! {
                                <li class=format!("log-line log-{}", line.level)>
                                    <time datetime=line.at.clone()>{clock(&line.at)}</time>
                                    {step.map(|s| view! { <span class="log-step">{s}</span> })}
                                    <span class="log-message">{line.message.clone()}</span>
                                </li>
                            }
                        }).collect_view().into_any()
                    }}
                    </ol>
                </div>
                <p class="muted small">"Times in UTC."</p>
            </section>
        </div>
    }
}

/// One step of the timeline; its parts follow the run's state, while the element itself (and
/// whether its details are open) stays.
#[component]
fn StepItem(state: RwSignal<RunDetail>, i: usize) -> impl IntoView {
    let step = Memo::new(move |_| state.with(|d| d.steps.get(i).cloned()));
    let (title, kind) =
        step.with_untracked(|s| s.as_ref().map(|s| (s.title.clone(), s.kind.clone())).unwrap_or_default());
    let max_attempts =
        state.with_untracked(|d| d.run.definition.steps.get(i).map(|s| s.retry.max_attempts).unwrap_or(1));
    let with = move |f: fn(&Step) -> Option<AnyView>| move || step.with(|s| s.as_ref().and_then(f));
    let class = move || {
        step.with(|s| {
            s.as_ref()
                .map(|s| format!("step step-{} undo-{}", s.status.as_str(), s.undo.as_str()))
                .unwrap_or_else(|| "step".into())
        })
    };
    let state_text = move || {
        step.with(|s| {
            let s = s.as_ref()?;
            let (icon, text) = step_state(s);
            Some(view! {
                <span class="step-icon" aria-hidden="true">{icon}</span>
                <span class="step-state">{text}</span>
                {undo_label(s.undo).map(|u| view! { <span class=format!("badge undo undo-{}", s.undo.as_str())>{u}</span> })}
            })
        })
    };
    let meta = move || {
        step.with(|s| {
            let s = s.as_ref()?;
            let mut parts = Vec::new();
            // Attempts are worth a word only when there was more than one.
            if s.attempts > 1 || (s.attempts == 1 && s.status == StepStatus::Pending) {
                parts.push(format!("attempt {} of {max_attempts}", s.attempts));
            }
            if let Some(t) = &s.started_at {
                parts.push(format!("started {}", clock(t)));
            }
            if let Some(t) = &s.finished_at {
                parts.push(format!("finished {}", clock(t)));
            }
            if let Some(t) = &s.next_at {
                let what = match (s.status, s.kind.as_str()) {
                    (StepStatus::Waiting, "approval") => "deadline",
                    (StepStatus::Waiting, _) => "until",
                    _ => "next try",
                };
                parts.push(format!("{what} {}", clock(t)));
            }
            if s.undo_attempts > 1 {
                parts.push(format!("undo attempt {}", s.undo_attempts));
            }
            if let Some(who) = &s.decided_by {
                parts.push(format!("decided by {who}"));
            }
            (!parts.is_empty()).then(|| parts.join(" · "))
        })
    };
    let data = move || {
        step.with(|s| {
            let s = s.as_ref()?;
            let output = s.output.as_ref().map(pretty).unwrap_or_else(|| "—".into());
            Some(format!("input:\n{}\n\noutput:\n{output}", pretty(&s.input)))
        })
    };
    view! {
        <li class=class>
            <div class="step-head">
                <span class="step-title">{title}</span>
                <span class="muted small mono">{kind}</span>
                <span class="step-status">{state_text}</span>
            </div>
            <p class="muted small step-meta">{meta}</p>
            {with(|s| s.error.clone().map(|e| view! { <p class="step-error">{e}</p> }.into_any()))}
            {with(|s| s.undo_error.clone().map(|e| view! { <p class="step-error">"Undo: "{e}</p> }.into_any()))}
            <details class="step-data">
                <summary>"Input and output"</summary>
                <pre class="code small">{data}</pre>
            </details>
        </li>
    }
}

/// Following a run live in the browser: one `EventSource` on `/api/v1/runs/{id}/events`
/// while the run is not final. `run` events carry the whole `RunDetail`, `log` events one
/// `LogLine`, and `end` says the run is final (the stream is closed then, and opened again if
/// a person's action makes the run move again, as a rollback does).
#[cfg(feature = "hydrate")]
mod live {
    use super::{Live, append_logs, apply};
    use crate::api::load_run;
    use crate::workflow::{LogLine, RunDetail, RunStatus};
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{Event, EventSource, MessageEvent};

    struct Connection {
        source: EventSource,
        // Kept alive as long as the source can call them.
        _handlers: Vec<Closure<dyn FnMut(MessageEvent)>>,
        _on_error: Closure<dyn FnMut(Event)>,
        _on_open: Closure<dyn FnMut(Event)>,
    }

    impl Connection {
        fn closed(&self) -> bool {
            self.source.ready_state() == EventSource::CLOSED
        }
    }

    pub fn follow(
        id: String,
        state: RwSignal<RunDetail>,
        lines: RwSignal<Vec<crate::workflow::LogLine>>,
        live: RwSignal<Live>,
        status: Memo<RunStatus>,
    ) {
        let conn = StoredValue::new_local(None::<Connection>);
        on_cleanup(move || {
            conn.try_update_value(|c| {
                if let Some(c) = c.take() {
                    c.source.close();
                }
            });
        });
        Effect::new(move |_| {
            if status.get().is_final() {
                return;
            }
            let open = conn.with_value(|c| c.as_ref().is_some_and(|c| !c.closed()));
            if !open {
                // Replacing a closed connection here (not inside one of its handlers) is safe.
                conn.set_value(connect(&id, state, lines, live));
            }
        });
    }

    fn connect(
        id: &str,
        state: RwSignal<RunDetail>,
        lines: RwSignal<Vec<LogLine>>,
        live: RwSignal<Live>,
    ) -> Option<Connection> {
        let url = format!("/api/v1/runs/{}/events", crate::api::encode(id));
        let source = EventSource::new(&url).ok()?;
        live.set(Live::Connecting);
        let on_run = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(d) = e.data().as_string().and_then(|t| serde_json::from_str::<RunDetail>(&t).ok()) {
                apply(state, d);
            }
        });
        let on_log = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(l) = e.data().as_string().and_then(|t| serde_json::from_str::<LogLine>(&t).ok()) {
                append_logs(lines, vec![l]);
            }
        });
        let id_end = id.to_string();
        let source_end = source.clone();
        let on_end = Closure::<dyn FnMut(MessageEvent)>::new(move |_e: MessageEvent| {
            source_end.close();
            live.set(Live::Ended);
            // The final state, in case its `run` event was missed.
            let id = id_end.clone();
            leptos::task::spawn_local(async move {
                if let Ok(d) = load_run(id).await {
                    apply(state, d);
                }
            });
        });
        let source_err = source.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
            // An `error` event with a message comes from the server (the run is gone, or may no
            // longer be read): reconnecting would not help.
            let from_server = e.dyn_ref::<MessageEvent>().is_some_and(|m| m.data().as_string().is_some());
            if from_server {
                source_err.close();
            }
            // Otherwise the browser reconnects by itself, unless the server refused the stream.
            if source_err.ready_state() == EventSource::CLOSED {
                if live.get_untracked() != Live::Ended {
                    live.set(Live::Lost);
                }
            } else {
                live.set(Live::Connecting);
            }
        });
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_e: Event| live.set(Live::On));
        for (name, handler) in [("run", &on_run), ("log", &on_log), ("end", &on_end)] {
            let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
        }
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        Some(Connection { source, _handlers: vec![on_run, on_log, on_end], _on_error: on_error, _on_open: on_open })
    }
}

// ---- webhook sources ------------------------------------------------------------------------

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let signed_in = me_resource();
    let put = ServerAction::<DoPutWebhookSource>::new();
    let delete = ServerAction::<DoDeleteWebhookSource>::new();
    let url = use_query_map();
    let source = move || url.with(|m| m.get("source").filter(|s| !s.is_empty()));
    let sources = Resource::new(move || (put.version().get(), delete.version().get()), |_| load_webhook_sources());
    let deliveries = Resource::new(move || (source(), put.version().get()), |(s, _)| load_webhook_deliveries(s));
    view! {
        <Title text="Webhook sources"/>
        <p class="crumbs"><A href="/workflows">"Workflows"</A>" /"</p>
        <h1>"Webhook sources"</h1>
        <p class="lede">"Systems outside the platform (CI, a git host, monitoring) send events here. A delivery signed with a source's secret becomes an event of kind "<code>"webhook.<name>"</code>", which starts the workflows that listen for it."</p>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match require_me(signed_in).await {
                    Ok(me) if me.is_admin => {}
                    Ok(_) => return super::forbidden("Only Platform Admins manage webhook sources."),
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                }
                let list = match sources.await {
                    Ok(l) => l,
                    Err(e) => return view! { <ErrorPanel error=e/> }.into_any(),
                };
                view! {
                    <section class="card" aria-labelledby="new-source-h">
                        <h2 id="new-source-h">"Create a source"</h2>
                        <ActionForm action=put attr:class="stack">
                            <label for="src-name">"Name"</label>
                            <input id="src-name" name="name" required autocapitalize="none" spellcheck="false" placeholder="ci"
                                aria-describedby="src-name-help name-error"/>
                            <p id="src-name-help" class="muted small">"Lower-case letters, digits, '-', '.' or '_'. Deliveries go to /api/v1/hooks/<name>. An existing name gets a new secret."</p>
                            {field_errors(put.value(), "name")}
                            <label for="src-description">"Description"</label>
                            <input id="src-description" name="description" maxlength="500" aria-describedby="description-error"/>
                            {field_errors(put.value(), "description")}
                            <button type="submit" class="button-primary" disabled=move || put.pending().get()>"Create source"</button>
                        </ActionForm>
                        {form_status(put.value(), "")}
                        {move || put.value().get().and_then(Result::ok).map(|s| view! { <NewSecret s/> })}
                    </section>
                    {form_status(delete.value(), "Source deleted: its deliveries are refused from now on.")}
                    <section class="card" aria-labelledby="sources-h">
                        <h2 id="sources-h">"Sources"</h2>
                        {if list.is_empty() {
                            view! { <p class="muted">"No webhook sources yet."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table class="stacked sources-table">
                                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Description"</th><th scope="col">"Endpoint"</th><th scope="col">"Created"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|s| view! {
                                                <tr>
                                                    <td data-label="Name"><strong>{s.name.clone()}</strong></td>
                                                    <td data-label="Description">{s.description.clone()}</td>
                                                    <td data-label="Endpoint"><code>{format!("POST /api/v1/hooks/{}", s.name)}</code></td>
                                                    <td data-label="Created">{format!("{} by {}", short_time(&s.created_at), s.created_by)}</td>
                                                    <td class="actions">
                                                        <div class="row-actions">
                                                            <a href=format!("/workflows/webhooks?source={}#deliveries-h", encode(&s.name))
                                                                aria-label=format!("Deliveries to {}", s.name)>"Deliveries"</a>
                                                            <ActionForm action=delete attr:class="inline">
                                                                <input type="hidden" name="name" value=s.name.clone()/>
                                                                <button type="submit" class="button-danger" aria-label=format!("Delete source {}", s.name)>"Delete"</button>
                                                            </ActionForm>
                                                        </div>
                                                    </td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                    </section>
                    <Deliveries deliveries source=source()/>
                }.into_any()
            })}
        </Suspense>
    }
}

/// The secret of a source just created, shown this once, with how to sign a delivery.
#[component]
fn NewSecret(s: WebhookSource) -> impl IntoView {
    let secret = s.secret.clone().unwrap_or_default();
    let example = format!(
        "body='{{\"ref\":\"main\"}}'\n\
         sig=$(printf '%s' \"$body\" | openssl dgst -sha256 -hmac '{secret}' | sed 's/^.* //')\n\
         curl -X POST \"$PLATFORM_URL/api/v1/hooks/{name}\" \\\n  \
         -H 'Content-Type: application/json' \\\n  \
         -H \"X-Platform-Signature: sha256=$sig\" \\\n  \
         -H \"X-Platform-Delivery: $(uuidgen)\" \\\n  \
         --data \"$body\"",
        name = s.name
    );
    view! {
        <div class="notice webhook-secret" role="status">
            <p>"Source "<strong>{s.name.clone()}</strong>" is ready. Copy its secret now — it will not be shown again:"</p>
            <code class="secret" data-testid="webhook-secret">{secret}</code>
            <p>"To send an event, POST a JSON object to "<code>{format!("/api/v1/hooks/{}", s.name)}</code>" on this server with the headers:"</p>
            <ul class="plain">
                <li><code>"X-Platform-Signature: sha256=<hex>"</code>" — the HMAC-SHA256 of the exact body bytes, keyed with the secret, in hexadecimal;"</li>
                <li><code>"X-Platform-Delivery: <unique id>"</code>" — a new id for each delivery; a repeated id is ignored, so retries are safe."</li>
            </ul>
            <p>"For example:"</p>
            <pre class="code small">{example}</pre>
        </div>
    }
}

#[component]
fn Deliveries(deliveries: Resource<Result<Vec<WebhookDelivery>, AppError>>, source: Option<String>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="deliveries-h">
            <h2 id="deliveries-h">{match &source {
                Some(s) => format!("Recent deliveries to {s}"),
                None => "Recent deliveries".to_string(),
            }}</h2>
            {source.is_some().then(|| view! { <p><a href="/workflows/webhooks#deliveries-h">"Show every source"</a></p> })}
            <Suspense fallback=loading>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing received yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="stacked deliveries-table">
                                    <thead><tr><th scope="col">"Received (UTC)"</th><th scope="col">"Source"</th><th scope="col">"Delivery id"</th><th scope="col">"Outcome"</th><th scope="col">"Detail"</th><th scope="col">"Runs"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|d| {
                                            let ok = d.outcome == "accepted";
                                            view! {
                                                <tr>
                                                    <td data-label="Received">{short_time(&d.received_at)}</td>
                                                    <td data-label="Source">{d.source.clone()}</td>
                                                    <td data-label="Delivery id"><code>{d.delivery_id.clone().unwrap_or_else(|| "—".into())}</code></td>
                                                    <td data-label="Outcome"><span class=if ok { "badge ok" } else { "badge warn" }>{d.outcome.replace('_', " ")}</span></td>
                                                    <td data-label="Detail">{d.detail.clone()}</td>
                                                    <td data-label="Runs">
                                                        {if d.runs.is_empty() { "—".into_any() } else {
                                                            d.runs.iter().map(|r| view! { <a href=run_href(r)>{short_id(r)}</a>" " }).collect_view().into_any()
                                                        }}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
