//! The catalog service: applying descriptor documents, listing with facets, reading one entity
//! with its relations, deleting and exporting. Each document is judged on its own, so one bad
//! document never stops the others.

use super::secrets::sha256_hex;
use super::service::{Caller, Services};
use super::store::*;
use super::now;
use crate::authz::{decide, Action};
use crate::catalog::{self, owner_team, Entity, EntityRef};
use crate::error::{AppError, FieldErrors};
use crate::types::*;
use std::sync::Arc;

/// Who applies: a person (authorized per entity) or the platform itself (seeding, locations).
#[derive(Clone, Copy)]
pub enum Applier<'a> {
    Person(&'a Caller),
    System,
}

use super::service::db;

/// List totals and facet counts per filter, each valid for the catalog generation it was
/// counted at. Bounded: when full it starts over.
#[derive(Default)]
pub struct CountCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (i64, i64, Option<Facets>)>>,
    /// Per filter and sort: the generation and the sort key of every [`ANCHOR_STEP`]th entity.
    anchors: std::sync::Mutex<std::collections::HashMap<String, (i64, Arc<Vec<SortKey>>)>>,
    /// Entities this process wrote by large imports: (in all, in all when statistics were last
    /// refreshed).
    imported: std::sync::Mutex<(usize, usize)>,
    /// Held while counting: requests that miss the cache together count once, not each (on
    /// 2 cores, 16 simultaneous counts of 250,000 rows would each take 16 times as long).
    counting: tokio::sync::Mutex<()>,
}

impl CountCache {
    /// Counts `written` entities of a large import; whether the planner's statistics are due
    /// now: whenever the entities imported have doubled since they were last refreshed (a bulk
    /// load refreshes them at 1k, 2k, 4k, … written, so the plans never lag far behind).
    fn analyze_due(&self, written: usize) -> bool {
        let mut imported = self.imported.lock().unwrap_or_else(|e| e.into_inner());
        imported.0 += written;
        let due = imported.0 >= 2 * imported.1;
        if due {
            imported.1 = imported.0;
        }
        due
    }

    const CAPACITY: usize = 512;

    /// Forgets every count and anchor (the benchmark measures uncached lists with it).
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.anchors.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn anchors(&self, key: &str, generation: i64) -> Option<Arc<Vec<SortKey>>> {
        let anchors = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        anchors.get(key).filter(|(g, _)| *g == generation).map(|(_, a)| a.clone())
    }

    fn put_anchors(&self, key: String, generation: i64, anchors: Arc<Vec<SortKey>>) {
        let mut all = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= Self::CAPACITY / 8 {
            all.clear();
        }
        all.insert(key, (generation, anchors));
    }

    fn get(&self, key: &str, generation: i64, with_facets: bool) -> Option<(i64, Option<Facets>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some((g, total, facets)) if *g == generation && (facets.is_some() || !with_facets) => Some((*total, facets.clone())),
            _ => None,
        }
    }

    fn put(&self, key: String, generation: i64, total: i64, facets: Option<Facets>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(key, (generation, total, facets));
    }
}

/// Entities between two anchors of a list (see `Services::anchored`).
pub const ANCHOR_STEP: i64 = 1_000;

/// Chunks written at once by one apply ([`Services::write_next`]).
const WRITES_IN_FLIGHT: usize = 2;

/// A chunk being written in the background ([`Services::write_next`]).
struct Writing {
    chunk: Vec<(usize, Entity)>,
    /// Its entities' references.
    keys: std::collections::HashSet<String>,
    /// What becomes of its documents once written.
    outcomes: Vec<DocumentOutcome>,
    /// The entities it creates or updates, as [`Services::entities_changed`] takes them.
    changed: Vec<(String, &'static str)>,
    write: tokio::task::JoinHandle<Result<(), StoreError>>,
}

/// What `writes` create or update, as [`Services::entities_changed`] takes it.
fn changes(writes: &[CatalogWrite]) -> Vec<(String, &'static str)> {
    writes.iter().map(|w| (w.rec.entity_ref.clone(), if w.audit.action == "catalog.update" { "updated" } else { "created" })).collect()
}

/// The document is in the catalog now: written, or unchanged.
fn kept(o: &DocumentOutcome) -> bool {
    matches!(o.outcome.as_str(), "created" | "updated" | "unchanged")
}

/// The search entry of an entity: found by name, title, description, tags and its other
/// list columns.
pub fn entity_search_doc(entity: &Entity, rec: &CatalogRecord) -> SearchDoc {
    let mut body: Vec<&str> = Vec::new();
    body.extend(rec.description.as_deref());
    body.extend(rec.tags.iter().map(String::as_str));
    body.extend(rec.spec_type.as_deref());
    body.extend(rec.lifecycle.as_deref());
    body.extend(rec.owner_ref.as_deref());
    body.extend(rec.system_ref.as_deref());
    body.extend(entity.metadata.links.iter().filter_map(|l| l.title.as_deref()));
    SearchDoc {
        doc_key: format!("entity:{}", rec.entity_ref),
        kind: rec.kind.clone(),
        entity_ref: Some(rec.entity_ref.clone()),
        name: rec.name.to_lowercase(),
        title: rec.title.clone().unwrap_or_else(|| rec.name.clone()),
        summary: rec.description.clone().unwrap_or_default(),
        owner_ref: rec.owner_ref.clone(),
        body: body.join(" "),
        url: crate::pages::catalog::entity_href(&rec.entity_ref),
    }
}

/// The relations an entity declares, in their declared direction (the store keeps only these; the
/// reverse direction is derived when read).
fn declared_relations(entity: &Entity) -> Vec<RelationRow> {
    catalog::declared_relations(entity)
        .into_iter()
        .map(|r| RelationRow { relation: r.relation.as_str().into(), target_ref: r.target.key() })
        .collect()
}

/// The stored key of a reference as people write it (`Component:default/Payments` and
/// `component:payments` are the same); a malformed one is an error on the field `ref`.
pub(crate) fn reference_key(reference: &str) -> Result<String, AppError> {
    EntityRef::parse(reference, None, catalog::DEFAULT_NAMESPACE).map(|r| r.key()).map_err(|e| AppError::field("ref", e.to_string()))
}

fn one_error(path: &str, message: impl Into<String>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.insert(if path.is_empty() { "document".into() } else { path.into() }, vec![message.into()]);
    errors
}

/// The list and filter columns of an entity, and its reference.
fn record(entity: &Entity, body: String, source: &str) -> CatalogRecord {
    let ns = entity.namespace().to_string();
    let spec_ref = |field: &str, default_kind: &str| {
        entity
            .spec
            .get(field)
            .and_then(|v| v.as_str())
            .and_then(|s| EntityRef::parse(s, Some(default_kind), &ns).ok())
            .map(|r| r.key())
    };
    let spec_text = |field: &str| entity.spec.get(field).and_then(|v| v.as_str()).map(str::to_string);
    let at = now();
    CatalogRecord {
        entity_ref: entity.entity_ref().key(),
        kind: entity.kind.clone(),
        namespace: ns.to_lowercase(),
        name: entity.metadata.name.clone(),
        title: entity.metadata.title.clone(),
        description: entity.metadata.description.clone(),
        spec_type: spec_text("type"),
        lifecycle: spec_text("lifecycle"),
        owner_ref: spec_ref("owner", "group"),
        system_ref: spec_ref("system", "system"),
        tags: entity.metadata.tags.clone(),
        etag: sha256_hex(&body),
        body,
        version: 1,
        source: source.into(),
        orphan: false,
        created_at: at.clone(),
        updated_at: at,
    }
}

fn summary(r: &CatalogRecord) -> EntitySummary {
    EntitySummary {
        entity_ref: r.entity_ref.clone(),
        kind: r.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        title: r.title.clone(),
        description: r.description.clone(),
        spec_type: r.spec_type.clone(),
        lifecycle: r.lifecycle.clone(),
        owner: r.owner_ref.clone(),
        system: r.system_ref.clone(),
        tags: r.tags.clone(),
        orphan: r.orphan,
    }
}

fn filter_of(q: &CatalogQuery) -> Result<CatalogFilter, AppError> {
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(50);
    let mut problems = FieldErrors::new();
    if page < 1 {
        problems.insert("page".into(), vec!["Pages are numbered from 1.".into()]);
    }
    if !(1..=500).contains(&page_size) {
        problems.insert("page_size".into(), vec!["Choose between 1 and 500 entities per page.".into()]);
    }
    let sort = match q.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => CatalogSort::Kind,
        Some(s) => CatalogSort::CHOICES.iter().find(|(name, _)| *name == s).map(|(_, v)| *v).unwrap_or_else(|| {
            problems.insert("sort".into(), vec!["Sort by kind, name or updated.".into()]);
            CatalogSort::Kind
        }),
    };
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let clean = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let lower = |v: &Option<String>| clean(v).map(|s| s.to_lowercase());
    Ok(CatalogFilter {
        kind: clean(&q.kind),
        spec_type: clean(&q.spec_type),
        owner_ref: lower(&q.owner),
        lifecycle: clean(&q.lifecycle),
        tag: clean(&q.tag),
        system_ref: lower(&q.system),
        namespace: lower(&q.namespace),
        sort,
        after: None,
        offset: (page - 1).saturating_mul(page_size),
        limit: page_size,
    })
}

impl Services {
    fn may_edit(&self, caller: &Caller, owner_ref: Option<&str>) -> Result<(), String> {
        let p = caller.principal.as_ref().ok_or_else(|| "Please sign in to continue.".to_string())?;
        let team = owner_team(owner_ref);
        match decide(&p.subject(), Action::EditEntity { team: team.as_deref() }) {
            crate::authz::Decision::Deny(why) => Err(why),
            _ => Ok(()),
        }
    }

    /// Applies a multi-document YAML text: each document is created, updated, left unchanged or
    /// refused with its problems, independently of the others. Valid documents are written in
    /// transactions of up to [`Store::apply_batch`] entities.
    pub async fn apply_catalog(&self, applier: Applier<'_>, yaml: &str, source: &str) -> Result<ApplyReport, AppError> {
        self.apply_entities(applier, catalog::documents(yaml), source).await
    }

    /// Applies parsed documents (or their parse errors), as [`Services::apply_catalog`].
    pub async fn apply_entities(
        &self,
        applier: Applier<'_>,
        parsed: impl IntoIterator<Item = Result<Entity, catalog::DocumentError>>,
        source: &str,
    ) -> Result<ApplyReport, AppError> {
        if let Applier::Person(c) = applier {
            c.require()?;
        }
        let mut outcomes: Vec<DocumentOutcome> = Vec::new();
        let mut chunk: Vec<(usize, Entity)> = Vec::new();
        let mut in_chunk = std::collections::HashSet::new();
        let mut writing: std::collections::VecDeque<Writing> = Default::default();
        let batch = self.store.apply_batch();
        for (index, doc) in parsed.into_iter().enumerate() {
            match doc {
                Err(e) => outcomes.push(DocumentOutcome {
                    index: e.index,
                    line: e.line,
                    entity_ref: None,
                    outcome: "error".into(),
                    errors: one_error(&e.path, e.message),
                    warnings: vec![],
                }),
                Ok(entity) => {
                    // The same entity twice in one text: the later document applies on top of
                    // the earlier one, so they go to separate transactions.
                    let key = entity.entity_ref().key();
                    if chunk.len() >= batch || in_chunk.contains(&key) {
                        let keys = std::mem::take(&mut in_chunk);
                        self.write_next(applier, std::mem::take(&mut chunk), keys, source, &mut writing, &mut outcomes).await?;
                    }
                    in_chunk.insert(key);
                    chunk.push((index, entity));
                }
            }
        }
        self.write_next(applier, chunk, in_chunk, source, &mut writing, &mut outcomes).await?;
        // Relation targets are reported when still missing once every document is in, so that a
        // reference to a later document of the same text is fine. Those that are not documents
        // of this text are looked up while its last chunks are written.
        let checked = || outcomes.iter().chain(writing.iter().flat_map(|w| &w.outcomes));
        let in_text: std::collections::HashSet<String> = checked().filter(|o| kept(o)).filter_map(|o| o.entity_ref.clone()).collect();
        let mut elsewhere: Vec<String> = checked().flat_map(|o| &o.warnings).filter(|t| !in_text.contains(*t)).cloned().collect();
        elsewhere.sort();
        elsewhere.dedup();
        let (found, last) = tokio::join!(self.store.catalog_existing(&elsewhere), async {
            let mut done = Vec::new();
            for last in writing {
                done.extend(self.written(applier, last, source).await?);
            }
            Ok::<_, AppError>(done)
        });
        outcomes.extend(last?);
        let mut found: std::collections::HashSet<String> = found.map_err(db)?.into_iter().collect();
        found.extend(outcomes.iter().filter(|o| kept(o)).filter_map(|o| o.entity_ref.clone()));
        // A document of the text that failed after all (someone changed it meanwhile) may still
        // be in the catalog.
        let again: Vec<String> = in_text.into_iter().filter(|r| !found.contains(r)).collect();
        if !again.is_empty() {
            found.extend(self.store.catalog_existing(&again).await.map_err(db)?);
        }
        outcomes.sort_by_key(|o| o.index);
        // After a large import the planner's statistics are stale (PostgreSQL would otherwise
        // pick scans over the ordering index until autovacuum gets to it).
        let written = outcomes.iter().filter(|o| o.outcome == "created" || o.outcome == "updated").count();
        if written >= 1000 && self.counts.analyze_due(written) {
            if let Err(e) = self.store.catalog_analyze().await {
                tracing::warn!(error = %e, "refreshing planner statistics failed");
            }
        }

        let mut report = ApplyReport { documents: Vec::new(), created: 0, updated: 0, unchanged: 0, failed: 0 };
        for o in &outcomes {
            match o.outcome.as_str() {
                "created" => report.created += 1,
                "updated" => report.updated += 1,
                "unchanged" => report.unchanged += 1,
                _ => report.failed += 1,
            }
        }
        for d in &mut outcomes {
            d.warnings = std::mem::take(&mut d.warnings)
                .into_iter()
                .filter(|t| !found.contains(t))
                .map(|t| format!("{t} is not in the catalog (yet); the relation is kept."))
                .collect();
        }
        report.documents = outcomes;
        Ok(report)
    }

    /// Checks `chunk` and starts writing it, in the background: the next chunk is checked while
    /// this one is written, and up to [`WRITES_IN_FLIGHT`] chunks are written at once (each in a
    /// transaction of its own: PostgreSQL writes each on a core of its own; SQLite's one writer
    /// takes them in turn). Chunks being written that share an entity with `chunk` are finished
    /// before it is checked (the later document applies on top of the earlier one); their
    /// outcomes, and those of chunks finished to make room, are added to `outcomes` in order.
    async fn write_next(
        &self,
        applier: Applier<'_>,
        chunk: Vec<(usize, Entity)>,
        keys: std::collections::HashSet<String>,
        source: &str,
        writing: &mut std::collections::VecDeque<Writing>,
        outcomes: &mut Vec<DocumentOutcome>,
    ) -> Result<(), AppError> {
        if chunk.is_empty() {
            return Ok(());
        }
        if let Some(last_shared) = writing.iter().rposition(|w| !w.keys.is_disjoint(&keys)) {
            for before in writing.drain(..=last_shared).collect::<Vec<_>>() {
                outcomes.extend(self.written(applier, before, source).await?);
            }
        }
        let (checked, writes) = self.check(applier, &chunk, source).await?;
        while writing.len() >= WRITES_IN_FLIGHT {
            let before = writing.pop_front().expect("not empty");
            outcomes.extend(self.written(applier, before, source).await?);
        }
        let changed = changes(&writes);
        let store = self.store.clone();
        let write = tokio::spawn(async move { store.catalog_write(writes).await });
        writing.push_back(Writing { chunk, keys, outcomes: checked, changed, write });
        Ok(())
    }

    /// Waits for a chunk's write. If someone changed one of its entities meanwhile (nothing was
    /// written then), the chunk is written entity by entity so that only that one reports the
    /// conflict.
    async fn written(&self, applier: Applier<'_>, w: Writing, source: &str) -> Result<Vec<DocumentOutcome>, AppError> {
        let result = w.write.await.map_err(AppError::internal)?;
        if let Some(done) = self.after_write(w.outcomes, &w.changed, result).await? {
            return Ok(done);
        }
        let mut outcomes = Vec::new();
        for item in w.chunk {
            let entity_ref = item.1.entity_ref().key();
            let index = item.0;
            match self.try_apply(applier, std::slice::from_ref(&item), source).await? {
                Some(done) => outcomes.extend(done),
                None => outcomes.push(DocumentOutcome {
                    index,
                    line: None,
                    entity_ref: Some(entity_ref),
                    outcome: "error".into(),
                    errors: one_error("", "Someone else changed this entity at the same time. Apply it again to see the result."),
                    warnings: vec![],
                }),
            }
        }
        Ok(outcomes)
    }

    /// One transaction for the valid, permitted and changed entities of `items`; None when a
    /// concurrent change made it conflict (nothing was written then).
    async fn try_apply(&self, applier: Applier<'_>, items: &[(usize, Entity)], source: &str) -> Result<Option<Vec<DocumentOutcome>>, AppError> {
        let (outcomes, writes) = self.check(applier, items, source).await?;
        let changed = changes(&writes);
        let result = self.store.catalog_write(writes).await;
        self.after_write(outcomes, &changed, result).await
    }

    /// What becomes of each document of `items` (validated, permitted, compared with what is
    /// stored), and the writes for those created or updated.
    async fn check(&self, applier: Applier<'_>, items: &[(usize, Entity)], source: &str) -> Result<(Vec<DocumentOutcome>, Vec<CatalogWrite>), AppError> {
        let refs: Vec<String> = items.iter().map(|(_, e)| e.entity_ref().key()).collect();
        let stamps: std::collections::HashMap<String, CatalogStamp> =
            self.store.catalog_stamps(&refs).await.map_err(db)?.into_iter().map(|s| (s.entity_ref.clone(), s)).collect();
        let mut outcomes = Vec::with_capacity(items.len());
        let mut writes = Vec::new();
        for ((index, entity), entity_ref) in items.iter().zip(refs) {
            let mut outcome = DocumentOutcome {
                index: *index,
                line: None,
                entity_ref: Some(entity_ref.clone()),
                outcome: "error".into(),
                errors: FieldErrors::new(),
                warnings: vec![],
            };
            let problems = catalog::validate(entity);
            if !problems.is_empty() {
                outcome.errors = catalog::field_errors(&problems);
                outcomes.push(outcome);
                continue;
            }
            let body = serde_json::to_string(entity).map_err(AppError::internal)?;
            let mut rec = record(entity, body, source);
            let existing = stamps.get(&entity_ref);
            // Nothing to change is an answer for anyone, whoever owns it (re-applying a whole
            // export is fine); only changes need the owning team.
            if existing.is_some_and(|old| old.etag == rec.etag && !old.orphan) {
                outcome.outcome = "unchanged".into();
                outcomes.push(outcome);
                continue;
            }
            let action = if existing.is_some() { "catalog.update" } else { "catalog.create" };
            let audit = match applier {
                Applier::Person(c) => {
                    // Both the current owner and the new one must allow it: nobody moves another
                    // team's entity into their own hands, or hands theirs to a team they are not in.
                    let current = existing.map(|e| e.owner_ref.as_deref());
                    if let Some(why) = current.into_iter().chain([rec.owner_ref.as_deref()]).find_map(|o| self.may_edit(c, o).err()) {
                        outcome.errors = one_error("spec.owner", why);
                        outcomes.push(outcome);
                        continue;
                    }
                    c.audit(action, format!("entity:{entity_ref}"))
                }
                Applier::System => Caller::system_audit("catalog", action, format!("entity:{entity_ref}")),
            };
            let audit = audit.owned_by(rec.owner_ref.as_deref());
            if let Some(old) = existing {
                rec.version = old.version + 1;
                rec.created_at = old.created_at.clone();
            }
            let relations = declared_relations(entity);
            let audit = audit
                .before(&existing.map(|e| serde_json::json!({"version": e.version, "etag": e.etag})))
                .after(&serde_json::json!({"version": rec.version, "etag": rec.etag, "source": source}));
            outcome.outcome = if existing.is_some() { "updated" } else { "created" }.into();
            let mut targets: Vec<String> = relations.iter().map(|r| r.target_ref.clone()).collect();
            targets.sort();
            targets.dedup();
            outcome.warnings = targets;
            let search = entity_search_doc(entity, &rec);
            writes.push(CatalogWrite { rec, relations, search, audit });
            outcomes.push(outcome);
        }
        Ok((outcomes, writes))
    }

    /// After a chunk's write: workflows hear of the changes; None when it conflicted.
    async fn after_write(
        &self,
        outcomes: Vec<DocumentOutcome>,
        changed: &[(String, &'static str)],
        result: Result<(), StoreError>,
    ) -> Result<Option<Vec<DocumentOutcome>>, AppError> {
        match result {
            Ok(()) => {
                self.entities_changed(changed).await;
                Ok(Some(outcomes))
            }
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(db(e)),
        }
    }

    /// A page of entities; with `with_facets`, also the counts per facet value. Totals and
    /// facet counts are cached per filter until the catalog changes (its generation moves).
    pub async fn catalog_list(&self, caller: &Caller, q: &CatalogQuery, with_facets: bool) -> Result<CatalogPage, AppError> {
        caller.require()?;
        let filter = filter_of(q)?;
        let generation = self.store.catalog_generation().await.map_err(db)?;
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            filter.kind, filter.spec_type, filter.owner_ref, filter.lifecycle, filter.tag, filter.system_ref, filter.namespace
        );
        let cached = self.counts.get(&key, generation, with_facets);
        let records = self.store.catalog_page(&self.anchored(&filter, &key, generation).await?).await.map_err(db)?;
        let (total, facets) = match cached {
            Some(hit) => hit,
            None => {
                let _counting = self.counts.counting.lock().await;
                // Whoever held the lock before may have counted this very view.
                match self.counts.get(&key, generation, with_facets) {
                    Some(hit) => hit,
                    None => {
                        let total = self.store.catalog_count(&filter).await.map_err(db)?;
                        let facets = if with_facets { Some(self.facets(&filter).await?) } else { None };
                        self.counts.put(key, generation, total, facets.clone());
                        (total, facets)
                    }
                }
            }
        };
        Ok(CatalogPage {
            items: records.iter().map(summary).collect(),
            total,
            page: filter.offset / filter.limit + 1,
            page_size: filter.limit,
            facets: facets.unwrap_or_default(),
        })
    }

    /// The filter of a deep page, starting from the nearest anchor before it instead of the
    /// first entity: the database skips at most ANCHOR_STEP entries, not half the catalog (at
    /// 250,000 entities on PostgreSQL, 15 ms or more for the middle page). The anchors are read
    /// once per filter and sort until the catalog changes.
    async fn anchored(&self, filter: &CatalogFilter, key: &str, generation: i64) -> Result<CatalogFilter, AppError> {
        if filter.offset < ANCHOR_STEP {
            return Ok(filter.clone());
        }
        let key = format!("{key}|{:?}", filter.sort);
        let anchors = match self.counts.anchors(&key, generation) {
            Some(hit) => hit,
            None => {
                let _counting = self.counts.counting.lock().await;
                match self.counts.anchors(&key, generation) {
                    Some(hit) => hit,
                    None => {
                        let anchors = Arc::new(self.store.catalog_anchors(filter, ANCHOR_STEP).await.map_err(db)?);
                        self.counts.put_anchors(key, generation, anchors.clone());
                        anchors
                    }
                }
            }
        };
        // Anchor j is entity number j·STEP: the page starts after it.
        let j = (filter.offset / ANCHOR_STEP).min(anchors.len() as i64);
        if j == 0 {
            return Ok(filter.clone());
        }
        Ok(CatalogFilter { after: Some(anchors[j as usize - 1].clone()), offset: filter.offset - j * ANCHOR_STEP, ..filter.clone() })
    }

    /// The seven facet counts, queried at once (each is a scan of the filtered rows; on a
    /// multi-core machine they overlap).
    async fn facets(&self, filter: &CatalogFilter) -> Result<Facets, AppError> {
        let count = |facet: Facet| async move {
            self.store
                .catalog_facet(facet, filter)
                .await
                .map(|v| v.into_iter().map(|(value, count)| FacetCount { value, count }).collect::<Vec<_>>())
                .map_err(db)
        };
        let (kind, spec_type, owner, lifecycle, tag, system, namespace) = tokio::join!(
            count(Facet::Kind),
            count(Facet::SpecType),
            count(Facet::Owner),
            count(Facet::Lifecycle),
            count(Facet::Tag),
            count(Facet::System),
            count(Facet::Namespace)
        );
        Ok(Facets {
            kind: kind?,
            spec_type: spec_type?,
            owner: owner?,
            lifecycle: lifecycle?,
            tag: tag?,
            system: system?,
            namespace: namespace?,
        })
    }

    /// One entity by reference (`kind:namespace/name`, `kind:name`; case does not matter).
    pub async fn catalog_entity(&self, caller: &Caller, reference: &str) -> Result<EntityDetail, AppError> {
        caller.require()?;
        let key = reference_key(reference)?;
        let rec = self
            .store
            .catalog_get(&key)
            .await
            .map_err(db)?
            .ok_or_else(|| AppError::NotFound(format!("{key} is not in the catalog. Check the name, or search for it.")))?;
        let relations = self.store.catalog_relations(&key).await.map_err(db)?;
        let descriptor: serde_json::Value = serde_json::from_str(&rec.body).map_err(AppError::internal)?;
        // An API's definition is summarised here, so the browser gets operations, not YAML to parse.
        let spec = &descriptor["spec"];
        let api = match (descriptor["kind"].as_str(), spec["definition"].as_str()) {
            (Some(kind), Some(definition)) if kind.eq_ignore_ascii_case("api") => {
                Some(crate::catalog::apidoc::api_view(spec["type"].as_str(), definition))
            }
            _ => None,
        };
        Ok(EntityDetail {
            summary: summary(&rec),
            descriptor,
            relations: relations
                .into_iter()
                .map(|r| RelationView {
                    relation: r.relation,
                    target: r.target_ref,
                    target_title: r.target_title,
                    target_exists: r.target_exists,
                })
                .collect(),
            source: rec.source.clone(),
            version: rec.version,
            updated_at: rec.updated_at.clone(),
            api,
        })
    }

    pub async fn delete_entity(&self, caller: &Caller, reference: &str, version: i64) -> Result<(), AppError> {
        let detail = self.catalog_entity(caller, reference).await?;
        let key = detail.summary.entity_ref.clone();
        let owner = detail.summary.owner.clone();
        let audit = caller.audit("catalog.delete", format!("entity:{key}"));
        let audit = audit.owned_by(owner.as_deref());
        if let Err(why) = self.may_edit(caller, owner.as_deref()) {
            self.store.append_audit(audit.deny(&why)).await.map_err(db)?;
            return Err(AppError::Forbidden(why));
        }
        let audit = audit.before(&detail.descriptor);
        self.store.catalog_delete(&key, version, audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict(format!(
                "{key} was changed since you loaded it (now version {}). Reload and try again.",
                detail.version
            )),
            e => db(e),
        })?;
        self.entities_changed(&[(key, "deleted")]).await;
        Ok(())
    }

    /// Every matching entity as one multi-document YAML text that applies back to the same catalog.
    pub async fn export_catalog(&self, caller: &Caller, q: &CatalogQuery) -> Result<String, AppError> {
        caller.require()?;
        let filter = filter_of(q)?;
        let mut out = String::new();
        for body in self.store.catalog_bodies(&filter).await.map_err(db)? {
            let entity: Entity = serde_json::from_str(&body).map_err(AppError::internal)?;
            out.push_str("---\n");
            out.push_str(&yaml_serde::to_string(&entity).map_err(AppError::internal)?);
        }
        Ok(out)
    }

    /// Remembers that the caller opened an entity's page (for their home page and their teams').
    pub async fn record_entity_view(&self, caller: &Caller, entity_ref: &str) -> Result<(), AppError> {
        let p = caller.require()?;
        self.store.record_view(&p.user.id, entity_ref, &now()).await.map_err(db)
    }

    /// Recently viewed, and popular with the caller's teams over the last 30 days (what the
    /// caller viewed recently is left out of the popular list).
    pub async fn home_picks(&self, caller: &Caller) -> Result<HomePicks, AppError> {
        let p = caller.require()?;
        let recent = self.store.recent_views(&p.user.id, 8).await.map_err(db)?;
        let teams: Vec<String> = p.memberships.iter().map(|m| m.team.clone()).collect();
        let since = super::timestamp(chrono::Utc::now() - chrono::Duration::days(30));
        let popular = self
            .store
            .popular_in_teams(&teams, &since, 16)
            .await
            .map_err(db)?
            .into_iter()
            .filter(|e| !recent.iter().any(|r| r.entity_ref == e.entity_ref))
            .take(8)
            .collect();
        let mut owned = Vec::new();
        for team in teams {
            let page = self.team_owned(caller, &team, 8).await?;
            owned.push(TeamOwned { team, page });
        }
        Ok(HomePicks { recent, popular, owned })
    }

    /// The first `limit` entities a team owns (no facet counts).
    pub async fn team_owned(&self, caller: &Caller, team: &str, limit: i64) -> Result<CatalogPage, AppError> {
        let query = CatalogQuery { owner: Some(format!("group:default/{team}")), page_size: Some(limit), ..Default::default() };
        self.catalog_list(caller, &query, false).await
    }

    /// Replaces one entity's descriptor if it is still at `version` (what the editor loaded):
    /// a stale edit is a conflict, never a lost update. Problems come back by field path.
    pub async fn edit_entity(&self, caller: &Caller, reference: &str, yaml: &str, version: i64) -> Result<EntityDetail, AppError> {
        let current = self.catalog_entity(caller, reference).await?;
        let key = current.summary.entity_ref.clone();
        // Who may not change it learns that first, whatever they sent.
        if let Err(why) = self.may_edit(caller, current.summary.owner.as_deref()) {
            let audit = caller.audit("catalog.update", format!("entity:{key}"));
            let audit = audit.owned_by(current.summary.owner.as_deref());
            self.store.append_audit(audit.deny(&why)).await.map_err(db)?;
            return Err(AppError::Forbidden(why));
        }
        let mut docs = catalog::parse_documents(yaml);
        if docs.len() != 1 {
            return Err(AppError::field("yaml", format!("Give exactly one descriptor (found {}).", docs.len())));
        }
        let entity = match docs.remove(0) {
            Ok(e) => e,
            Err(e) => return Err(AppError::Validation(one_error(&e.path, e.message))),
        };
        if entity.entity_ref().key() != key {
            return Err(AppError::field(
                "metadata.name",
                format!("This edits {key}; to rename or move it, import the new entity and delete this one."),
            ));
        }
        let problems = catalog::validate(&entity);
        if !problems.is_empty() {
            return Err(AppError::Validation(catalog::field_errors(&problems)));
        }
        let body = serde_json::to_string(&entity).map_err(AppError::internal)?;
        let mut rec = record(&entity, body, "ui");
        let audit = caller.audit("catalog.update", format!("entity:{key}"));
        let audit = audit.owned_by(rec.owner_ref.as_deref());
        if let Err(why) = self.may_edit(caller, rec.owner_ref.as_deref()) {
            self.store.append_audit(audit.deny(&why)).await.map_err(db)?;
            return Err(AppError::Forbidden(why));
        }
        let stale = || {
            AppError::Conflict(format!(
                "Someone changed {key} since you opened it (it is now at a newer version). Your text is still in the editor: copy it, reload, and apply your change again."
            ))
        };
        if current.version != version {
            return Err(stale());
        }
        rec.version = version + 1;
        let stamps = self.store.catalog_stamps(std::slice::from_ref(&key)).await.map_err(db)?;
        rec.created_at = stamps.first().map(|s| s.created_at.clone()).unwrap_or_else(now);
        let relations = declared_relations(&entity);
        let audit = audit
            .before(&serde_json::json!({"version": version, "descriptor": current.descriptor}))
            .after(&serde_json::json!({"version": rec.version, "etag": rec.etag, "source": "ui"}));
        let search = entity_search_doc(&entity, &rec);
        match self.store.catalog_write(vec![CatalogWrite { rec, relations, search, audit }]).await {
            Ok(()) => {
                self.entities_changed(&[(key.clone(), "updated")]).await;
                self.catalog_entity(caller, &key).await
            }
            Err(StoreError::Conflict(_)) => Err(stale()),
            Err(e) => Err(db(e)),
        }
    }

    /// One entity's descriptor as YAML, for the editor.
    pub fn descriptor_yaml(detail: &EntityDetail) -> Result<String, AppError> {
        let entity: Entity = serde_json::from_value(detail.descriptor.clone()).map_err(AppError::internal)?;
        yaml_serde::to_string(&entity).map_err(AppError::internal)
    }

    /// The catalog by domain and system (with how many entities each system has), and each
    /// kind's types with counts.
    pub async fn browse(&self, caller: &Caller) -> Result<BrowseView, AppError> {
        caller.require()?;
        let all = CatalogFilter { limit: 1, ..Default::default() };
        let per_system: std::collections::HashMap<String, i64> =
            self.store.catalog_facet(Facet::System, &all).await.map_err(db)?.into_iter().collect();
        let of_kind = |kind: &str| CatalogFilter { kind: Some(kind.into()), limit: 1, ..Default::default() };
        let read = |body: &String| serde_json::from_str::<Entity>(body).ok();
        let mut domains: Vec<BrowseDomain> = self
            .store
            .catalog_bodies(&of_kind("Domain"))
            .await
            .map_err(db)?
            .iter()
            .filter_map(read)
            .map(|d| BrowseDomain {
                entity_ref: d.entity_ref().key(),
                title: d.metadata.title.clone().unwrap_or_else(|| d.metadata.name.clone()),
                description: d.metadata.description.clone(),
                systems: Vec::new(),
            })
            .collect();
        let mut other_systems = Vec::new();
        for system in self.store.catalog_bodies(&of_kind("System")).await.map_err(db)?.iter().filter_map(read) {
            let key = system.entity_ref().key();
            let domain = system
                .spec
                .get("domain")
                .and_then(|v| v.as_str())
                .and_then(|d| EntityRef::parse(d, Some("domain"), system.namespace()).ok())
                .map(|r| r.key());
            // The facet lists the 50 largest systems; smaller ones beyond those are counted one by one.
            let entities = match per_system.get(&key) {
                Some(n) => *n,
                None if per_system.len() >= 50 => {
                    let f = CatalogFilter { system_ref: Some(key.clone()), limit: 1, ..Default::default() };
                    self.store.catalog_count(&f).await.map_err(db)?
                }
                None => 0,
            };
            let entry = BrowseSystem {
                title: system.metadata.title.clone().unwrap_or_else(|| system.metadata.name.clone()),
                entities,
                entity_ref: key,
            };
            match domains.iter_mut().find(|d| Some(&d.entity_ref) == domain.as_ref()) {
                Some(d) => d.systems.push(entry),
                None => other_systems.push(entry),
            }
        }
        let mut types = Vec::new();
        for kind in ["Component", "API", "Resource", "Template"] {
            let counts: Vec<FacetCount> = self
                .store
                .catalog_facet(Facet::SpecType, &of_kind(kind))
                .await
                .map_err(db)?
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            if !counts.is_empty() {
                types.push((kind.to_string(), counts));
            }
        }
        Ok(BrowseView { domains, other_systems, types })
    }
}
