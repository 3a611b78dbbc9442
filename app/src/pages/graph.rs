//! The relation graph of the entity page: the entity in the middle, its neighbours around it on an
//! ellipse, one line per neighbour labelled with the relation, each neighbour in the catalog a
//! link to its page.
//!
//! Plain inline SVG computed in Rust, with no script and no layout library: it is rendered on the
//! server like the rest of the page and works before hydration. The relation list below the
//! graph stays the text alternative; the graph is a picture with links in it.
//!
//! Layout: neighbours are split into a right and a left column that follow the ellipse, evenly
//! spaced in height (so two labels on one side never overlap), and labels are centred under
//! their dot with the relation name above it. The drawing is 450 units wide, so it shrinks to a
//! 390px phone with its text still readable (labels are cut to 18 characters).

use crate::pages::catalog::entity_href;
use crate::types::RelationView;
use leptos::prelude::*;

/// Neighbours drawn; more are counted in a note (the list below names them all).
const MAX_NEIGHBOURS: usize = 16;
/// Labels are cut to this many characters, so a label fits between its neighbours.
const MAX_LABEL: usize = 18;
/// Relation names (several may join on one line) are cut to this many characters.
const MAX_RELATION: usize = 20;
/// Vertical distance between two neighbours on one side: two lines of text and a dot.
const ROW: f64 = 46.0;
/// Horizontal radius of the ellipse the neighbours sit on.
const RX: f64 = 150.0;
/// Half the drawing's width: the radius and half of the widest label.
const HALF_WIDTH: f64 = 225.0;

/// One neighbour: a target with every relation that points at it from this entity.
struct Neighbour {
    target: String,
    label: String,
    relations: Vec<String>,
    exists: bool,
}

/// Neighbours in the order their first relation comes, one per target (`dependsOn` and
/// `consumesApi` towards the same entity make one node with both names).
fn neighbours(center_ref: &str, relations: &[RelationView]) -> Vec<Neighbour> {
    let mut out: Vec<Neighbour> = Vec::new();
    for r in relations {
        if r.target.eq_ignore_ascii_case(center_ref) {
            continue; // An entity that names itself adds nothing to a picture of its neighbours.
        }
        match out.iter_mut().find(|n| n.target.eq_ignore_ascii_case(&r.target)) {
            Some(n) => {
                if !n.relations.contains(&r.relation) {
                    n.relations.push(r.relation.clone());
                }
            }
            None => out.push(Neighbour {
                target: r.target.clone(),
                label: r.target_title.clone().unwrap_or_else(|| short_name(&r.target)),
                relations: vec![r.relation.clone()],
                exists: r.target_exists,
            }),
        }
    }
    out
}

/// The neighbours to draw when there are too many: taken in turn from each relation (by the first
/// relation of each neighbour), so forty `ownerOf` do not hide the one `childOf`; drawn in their
/// original order.
fn pick(all: Vec<Neighbour>, max: usize) -> Vec<Neighbour> {
    if all.len() <= max {
        return all;
    }
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, nb) in all.iter().enumerate() {
        let relation = nb.relations[0].as_str();
        match groups.iter_mut().find(|(r, _)| *r == relation) {
            Some((_, members)) => members.push(i),
            None => groups.push((relation, vec![i])),
        }
    }
    let mut chosen = vec![false; all.len()];
    let (mut taken, mut round) = (0, 0);
    while taken < max {
        for (_, members) in &groups {
            if let Some(&i) = members.get(round).filter(|_| taken < max) {
                chosen[i] = true;
                taken += 1;
            }
        }
        round += 1;
    }
    all.into_iter().zip(chosen).filter_map(|(nb, keep)| keep.then_some(nb)).collect()
}

/// `group:default/payments` → `payments`.
fn short_name(entity_ref: &str) -> String {
    entity_ref.rsplit_once('/').map(|(_, n)| n).unwrap_or(entity_ref).to_string()
}

/// At most `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s[..i].trim_end()),
        None => s.to_string(),
    }
}

/// A coordinate with one decimal: enough for a drawing, and short in the HTML.
fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// Where neighbour `i` of `count` goes: the first half (rounded up) down the right side, the
/// rest down the left, each evenly spaced in height on an ellipse of half-height `ry`.
fn position(i: usize, count: usize, ry: f64) -> (f64, f64) {
    let right = count.div_ceil(2);
    let (side, row, rows) = if i < right { (1.0, i, right) } else { (-1.0, i - right, count - right) };
    let y = -ry + 2.0 * ry / rows as f64 * (row as f64 + 0.5);
    let x = side * RX * (1.0 - (y / ry).powi(2)).max(0.0).sqrt();
    (x, y)
}

/// The graph of `center` (its title) and the entities its relations point at.
#[component]
pub fn RelationGraph(center: String, center_ref: String, relations: Vec<RelationView>) -> impl IntoView {
    let all = neighbours(&center_ref, &relations);
    if all.is_empty() {
        return ().into_any();
    }
    let total = all.len();
    let shown = total.min(MAX_NEIGHBOURS);
    let more = total - shown;
    let ry = (shown.div_ceil(2) as f64 * ROW / 2.0).max(70.0);
    let top = ry + 16.0;
    let height = 2.0 * top + if more > 0 { 24.0 } else { 0.0 };

    // What the picture says, for those who do not see it: how many of each relation.
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in all.iter().flat_map(|n| n.relations.iter()) {
        match counts.iter_mut().find(|(k, _)| k == r) {
            Some((_, c)) => *c += 1,
            None => counts.push((r.clone(), 1)),
        }
    }
    let summary = counts.iter().map(|(r, c)| format!("{r} {c}")).collect::<Vec<_>>().join(", ");
    let aria = format!(
        "Relation graph: {center} and {total} related entit{} ({summary}){}. The list below names each one.",
        if total == 1 { "y" } else { "ies" },
        if more > 0 { format!("; {shown} drawn") } else { String::new() },
    );

    let placed: Vec<(Neighbour, (f64, f64))> =
        pick(all, shown).into_iter().enumerate().map(|(i, nb)| (nb, position(i, shown, ry))).collect();
    // Lines first, so the dots and labels are drawn over them.
    let edges = placed
        .iter()
        .map(|(nb, (x, y))| {
            let class = if nb.exists { "edge" } else { "edge missing" };
            view! { <line class=class x1="0" y1="0" x2=n(*x) y2=n(*y)/> }
        })
        .collect_view();
    let nodes = placed
        .into_iter()
        .map(|(nb, (x, y))| {
            let relation = cut(&nb.relations.join(", "), MAX_RELATION);
            let tip = format!(
                "{} ({}): {}{}",
                nb.label,
                nb.target,
                nb.relations.join(", "),
                if nb.exists { "" } else { ", not in the catalog" }
            );
            let label = cut(&nb.label, MAX_LABEL);
            let (cx, rel_y, name_y) = (n(x), n(y - 11.0), n(y + 20.0));
            // Each view starts at an SVG element, so `a` and `title` are made as SVG elements.
            if nb.exists {
                view! {
                    <g class="node">
                        <a href=entity_href(&nb.target)>
                            <title>{tip}</title>
                            <circle cx=cx.clone() cy=n(y) r="6"/>
                            <text class="rel" x=cx.clone() y=rel_y>{relation}</text>
                            <text class="name" x=cx y=name_y>{label}</text>
                        </a>
                    </g>
                }
                .into_any()
            } else {
                view! {
                    <g class="node missing">
                        <title>{tip}</title>
                        <circle cx=cx.clone() cy=n(y) r="6"/>
                        <text class="rel" x=cx.clone() y=rel_y>{relation}</text>
                        <text class="name" x=cx y=name_y>{label}</text>
                    </g>
                }
                .into_any()
            }
        })
        .collect_view();
    let center_label = cut(&center, MAX_LABEL);
    let pill = center_label.chars().count() as f64 * 7.6 + 24.0;
    let note = (more > 0).then(|| {
        view! { <text class="more" x="0" y=n(top + 14.0)>{format!("+{more} more in the list below")}</text> }
    });
    view! {
        <svg
            class="relation-graph"
            viewBox=format!("{} {} {} {}", n(-HALF_WIDTH), n(-top), n(2.0 * HALF_WIDTH), n(height))
            width="100%"
            role="img"
            aria-label=aria
        >
            <g class="edges">{edges}</g>
            <g class="center">
                <title>{format!("{center} ({center_ref}): this entity")}</title>
                <rect x=n(-pill / 2.0) y="-15" width=n(pill) height="30" rx="15"/>
                <text x="0" y="5">{center_label}</text>
            </g>
            {nodes}
            {note}
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(relation: &str, target: &str, exists: bool) -> RelationView {
        RelationView { relation: relation.into(), target: target.into(), target_title: None, target_exists: exists }
    }

    #[test]
    fn neighbours_are_one_per_target_with_every_relation() {
        let list = [
            rel("dependsOn", "component:default/db", true),
            rel("ownedBy", "group:default/payments", true),
            rel("consumesApi", "Component:default/DB", true),
            rel("dependsOn", "component:default/db", true),
            rel("partOf", "component:default/me", true),
        ];
        let got = neighbours("component:default/me", &list);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].relations, vec!["dependsOn", "consumesApi"]);
        assert_eq!(got[1].label, "payments");
    }

    #[test]
    fn every_relation_keeps_a_place_when_neighbours_are_cut() {
        let mut list: Vec<RelationView> = (0..30).map(|i| rel("ownerOf", &format!("component:default/c{i}"), true)).collect();
        list.push(rel("childOf", "group:default/parent", true));
        list.push(rel("hasMember", "user:default/ann", false));
        let got = pick(neighbours("group:default/me", &list), MAX_NEIGHBOURS);
        assert_eq!(got.len(), MAX_NEIGHBOURS);
        assert!(got.iter().any(|n| n.relations == ["childOf"]) && got.iter().any(|n| n.relations == ["hasMember"]));
        assert_eq!(got[0].target, "component:default/c0", "the original order is kept");
    }

    #[test]
    fn positions_stay_in_the_drawing_and_apart_on_each_side() {
        for count in 1..=MAX_NEIGHBOURS {
            let ry = (count.div_ceil(2) as f64 * ROW / 2.0).max(70.0);
            let points: Vec<(f64, f64)> = (0..count).map(|i| position(i, count, ry)).collect();
            for (i, (x, y)) in points.iter().enumerate() {
                assert!(x.abs() <= RX && y.abs() < ry, "{count}: {x} {y}");
                for (x2, y2) in &points[i + 1..] {
                    assert!(x.signum() != x2.signum() || (y - y2).abs() >= ROW - 0.01, "{count}: too close");
                }
            }
        }
    }

    #[test]
    fn labels_are_cut_on_characters() {
        assert_eq!(cut("ünïcödé-service-with-a-long-name", 18), "ünïcödé-service-wi…");
        assert_eq!(cut("short", 18), "short");
    }
}
