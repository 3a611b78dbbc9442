//! Catalog locations: a `catalog-info.yaml` file, or a folder searched for them, in a git
//! repository on the portal's machine. A refresh reads every catalog file (following `Location`
//! entities' targets inside the same repository), applies their documents, writes the Markdown
//! docs of entities whose `backstage.io/techdocs-ref` is `dir:…`, and marks entities that
//! vanished from the location orphaned — only after a clean read, so a broken file never
//! orphans what it used to declare.

use super::catalog::Applier;
use super::service::{db, Caller, Services};
use super::store::*;
use super::{new_id, now, parse_timestamp, timestamp};
use crate::authz::Action;
use crate::catalog::{self, Entity};
use crate::error::{AppError, FieldErrors};
use crate::types::*;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// Limits of one refresh, so that a huge or hostile folder cannot exhaust the portal.
const MAX_FILES: usize = 5_000;
const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
const MAX_DOCS_PER_ENTITY: usize = 200;
const MAX_DEPTH: usize = 12;
/// A refresh claimed longer ago than this is considered abandoned (its replica died).
const LEASE_MINUTES: i64 = 10;

/// What was read from disk: catalog files with their text, problems, and docs per entity.
#[derive(Debug, Default)]
pub struct Reading {
    /// (path relative to the repository, its documents as parsed).
    pub files: Vec<(String, Vec<Result<Entity, catalog::DocumentError>>)>,
    pub problems: Vec<String>,
    /// (entity reference, doc path, title, Markdown).
    pub docs: Vec<(String, String, String, String)>,
}

/// The git repository a path is in (the folder holding `.git`).
pub fn repository_of(path: &Path) -> Option<PathBuf> {
    let mut dir = if path.is_dir() { Some(path) } else { path.parent() };
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

fn skip_dir(name: &str) -> bool {
    name.starts_with('.') || matches!(name, "node_modules" | "target" | "vendor" | "dist" | "build")
}

/// Catalog files under a folder (named `catalog-info.yaml` or `.yml`), in a stable order.
fn find_catalog_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_FILES {
            return;
        }
        let name = e.file_name().to_string_lossy().to_string();
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() && depth < MAX_DEPTH && !skip_dir(&name) => find_catalog_files(&path, depth + 1, out),
            Ok(t) if t.is_file() && (name == "catalog-info.yaml" || name == "catalog-info.yml") => out.push(path),
            _ => {}
        }
    }
}

/// Markdown files under `dir`, as (path without `.md`, relative to `dir`; file).
fn find_markdown(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_DOCS_PER_ENTITY {
            return;
        }
        let name = e.file_name().to_string_lossy().to_string();
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        match e.file_type() {
            Ok(t) if t.is_dir() && depth < 4 && !skip_dir(&name) => find_markdown(&e.path(), &rel, depth + 1, out),
            Ok(t) if t.is_file() && name.ends_with(".md") => {
                let path: String = rel.trim_end_matches(".md").chars().map(|c| if c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_' { c } else { '-' }).collect();
                out.push((path, e.path()));
            }
            _ => {}
        }
    }
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!("larger than {} MB", MAX_FILE_BYTES / 1024 / 1024));
    }
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

/// Reads a location from disk (blocking: run it off the async threads).
pub fn read_location(target: &Path, repo: &Path) -> Reading {
    let mut reading = Reading::default();
    let mut queue: Vec<PathBuf> = Vec::new();
    if target.is_dir() {
        find_catalog_files(target, 0, &mut queue);
    } else {
        queue.push(target.to_path_buf());
    }
    let rel = |p: &Path| p.strip_prefix(repo).unwrap_or(p).display().to_string();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    while let Some(file) = queue.pop() {
        let Ok(file) = file.canonicalize() else {
            reading.problems.push(format!("{}: the file does not exist", rel(&file)));
            continue;
        };
        if !seen.insert(file.clone()) || seen.len() > MAX_FILES {
            continue;
        }
        let text = match read_limited(&file) {
            Ok(t) => t,
            Err(e) => {
                reading.problems.push(format!("{}: cannot read it: {e}", rel(&file)));
                continue;
            }
        };
        let dir = file.parent().unwrap_or(repo).to_path_buf();
        let documents = catalog::parse_documents(&text);
        for entity in documents.iter().flatten() {
            follow_targets(entity, &dir, repo, &mut queue, &mut reading.problems);
            collect_docs(entity, &dir, repo, &mut reading);
        }
        reading.files.push((rel(&file), documents));
    }
    reading.files.sort_by(|a, b| a.0.cmp(&b.0));
    reading
}

/// Queues the files a `Location` entity points at (relative paths inside the repository).
fn follow_targets(entity: &Entity, dir: &Path, repo: &Path, queue: &mut Vec<PathBuf>, problems: &mut Vec<String>) {
    if !entity.kind.eq_ignore_ascii_case("location") {
        return;
    }
    let mut targets: Vec<&str> = entity.spec.get("targets").and_then(|t| t.as_array()).map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
    targets.extend(entity.spec.get("target").and_then(|t| t.as_str()));
    for t in targets {
        let t = t.strip_prefix("file:").unwrap_or(t);
        if t.contains("://") {
            problems.push(format!("{t}: only files in the same repository are read (remote targets are not fetched)"));
            continue;
        }
        let path = dir.join(t);
        match path.canonicalize() {
            Ok(p) if p.starts_with(repo) => queue.push(p),
            Ok(_) => problems.push(format!("{t}: outside the repository, not read")),
            Err(_) => problems.push(format!("{t}: the file does not exist")),
        }
    }
}

/// The docs of an entity annotated `backstage.io/techdocs-ref: dir:<folder>`: the Markdown files
/// of `<folder>/docs` (as MkDocs lays them out), or of `<folder>` itself when it has no `docs`.
fn collect_docs(entity: &Entity, dir: &Path, repo: &Path, reading: &mut Reading) {
    let Some(folder) = entity.metadata.annotations.get("backstage.io/techdocs-ref").and_then(|v| v.strip_prefix("dir:")) else { return };
    let Ok(base) = dir.join(folder.trim()).canonicalize() else {
        reading.problems.push(format!("{}: techdocs-ref folder {folder} does not exist", entity.entity_ref().key()));
        return;
    };
    if !base.starts_with(repo) {
        reading.problems.push(format!("{}: techdocs-ref folder {folder} is outside the repository", entity.entity_ref().key()));
        return;
    }
    let docs_dir = if base.join("docs").is_dir() { base.join("docs") } else { base };
    let mut files = Vec::new();
    find_markdown(&docs_dir, "", 0, &mut files);
    for (path, file) in files {
        match read_limited(&file) {
            Ok(markdown) => {
                let title = markdown
                    .lines()
                    .find_map(|l| l.strip_prefix("# ").map(|t| t.trim().to_string()))
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).replace(['-', '_'], " "));
                reading.docs.push((entity.entity_ref().key(), path, title, markdown));
            }
            Err(e) => reading.problems.push(format!("{}: cannot read it: {e}", file.display())),
        }
    }
}

impl Services {
    async fn may_manage_locations(&self, caller: &Caller, action: &str, target: &str) -> Result<(), AppError> {
        self.authorize(caller, Action::ManageLocations, caller.audit(action, target.to_string())).await
    }

    pub async fn locations(&self, caller: &Caller) -> Result<Vec<Location>, AppError> {
        self.may_manage_locations(caller, "location.list", "locations").await?;
        self.store.locations().await.map_err(db)
    }

    async fn location(&self, id: &str) -> Result<Location, AppError> {
        self.store
            .locations()
            .await
            .map_err(db)?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| AppError::NotFound(format!("There is no location {id}; the Locations page lists them.")))
    }

    /// Registers a location and reads it at once.
    pub async fn add_location(&self, caller: &Caller, new: &NewLocation) -> Result<RefreshReport, AppError> {
        let target = new.target.trim().to_string();
        self.may_manage_locations(caller, "location.create", &format!("location:{target}")).await?;
        let minutes = new.refresh_minutes.unwrap_or(30);
        let mut problems = FieldErrors::new();
        if !(1..=1440).contains(&minutes) {
            problems.insert("refresh_minutes".into(), vec!["Refresh every 1 to 1440 minutes.".into()]);
        }
        let path = PathBuf::from(&target);
        let canonical = if !path.is_absolute() {
            problems.insert("target".into(), vec!["Give an absolute path, like /srv/git/payments/catalog-info.yaml.".into()]);
            None
        } else {
            match path.canonicalize() {
                Err(_) => {
                    problems.insert("target".into(), vec![format!("{target} does not exist on the portal's machine.")]);
                    None
                }
                Ok(p) if repository_of(&p).is_none() => {
                    problems.insert("target".into(), vec![format!("{target} is not inside a git repository.")]);
                    None
                }
                Ok(p) if p.is_file() && !p.extension().is_some_and(|e| e == "yaml" || e == "yml") => {
                    problems.insert("target".into(), vec!["A file location must be a .yaml file (usually catalog-info.yaml).".into()]);
                    None
                }
                Ok(p) => Some(p),
            }
        };
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let canonical = canonical.unwrap_or(path).display().to_string();
        let p = caller.require()?;
        let location = Location {
            id: new_id(),
            target: canonical.clone(),
            refresh_minutes: minutes,
            status: "pending".into(),
            last_refresh_at: None,
            last_error: None,
            entities: 0,
            orphans: 0,
            created_by: p.user.username.clone(),
            created_at: now(),
        };
        let audit = caller.audit("location.create", format!("location:{}", location.id)).after(&serde_json::json!({"target": canonical, "refresh_minutes": minutes}));
        self.store.location_insert(&location, audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::field("target", format!("{canonical} is already registered.")),
            e => db(e),
        })?;
        // Claimed before reading, so the scheduler does not read it at the same time.
        let stale = timestamp(chrono::Utc::now() - chrono::Duration::minutes(LEASE_MINUTES));
        self.store.location_claim(&location.id, &now(), &stale).await.map_err(db)?;
        self.refresh(&location).await
    }

    /// Refreshes a location now, on a person's request.
    pub async fn refresh_location(&self, caller: &Caller, id: &str) -> Result<RefreshReport, AppError> {
        self.may_manage_locations(caller, "location.refresh", &format!("location:{id}")).await?;
        let location = self.location(id).await?;
        let at = now();
        let stale = timestamp(chrono::Utc::now() - chrono::Duration::minutes(LEASE_MINUTES));
        if !self.store.location_claim(id, &at, &stale).await.map_err(db)? {
            return Err(AppError::Conflict("This location is being refreshed right now; look again in a moment.".into()));
        }
        self.refresh(&location).await
    }

    /// Removes a location; its entities stay, marked orphaned (delete them if they are gone for good).
    pub async fn delete_location(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        self.may_manage_locations(caller, "location.delete", &format!("location:{id}")).await?;
        let location = self.location(id).await?;
        let refs = self.store.catalog_refs_from(&format!("location:{id}")).await.map_err(db)?;
        let audits = refs.iter().map(|r| Caller::system_audit(&caller.request_id, "catalog.orphan", format!("entity:{r}"))).collect();
        self.store.catalog_set_orphan(&refs, true, audits).await.map_err(db)?;
        let audit = caller.audit("location.delete", format!("location:{id}")).before(&serde_json::json!({"target": location.target}));
        self.store.location_delete(id, audit).await.map_err(db)
    }

    /// Refreshes every location whose interval has passed (called by the scheduler of each
    /// replica; the lease makes one replica do each). Returns how many it refreshed.
    pub async fn refresh_due_locations(&self) -> usize {
        let Ok(locations) = self.store.locations().await else { return 0 };
        let now_t = chrono::Utc::now();
        let mut done = 0;
        for l in locations {
            let due = match l.last_refresh_at.as_deref().and_then(parse_timestamp) {
                None => true,
                Some(last) => now_t - last >= chrono::Duration::minutes(l.refresh_minutes),
            };
            if !due {
                continue;
            }
            let stale = timestamp(now_t - chrono::Duration::minutes(LEASE_MINUTES));
            if !matches!(self.store.location_claim(&l.id, &now(), &stale).await, Ok(true)) {
                continue;
            }
            match self.refresh(&l).await {
                Ok(r) => tracing::info!(location = %l.target, created = r.apply.created, updated = r.apply.updated, orphaned = r.orphaned.len(), "location refreshed"),
                Err(e) => tracing::warn!(location = %l.target, error = %e, "location refresh failed"),
            }
            done += 1;
        }
        done
    }

    /// Reads the location, applies what it declares, writes its docs, marks vanished entities
    /// orphaned (after a clean read only) and records the outcome on the location.
    async fn refresh(&self, location: &Location) -> Result<RefreshReport, AppError> {
        let source = format!("location:{}", location.id);
        let target = PathBuf::from(&location.target);
        let reading = match repository_of(&target) {
            Some(repo) if target.exists() => {
                let (t, r) = (target.clone(), repo.clone());
                tokio::task::spawn_blocking(move || read_location(&t, &r)).await.map_err(AppError::internal)?
            }
            _ => Reading { problems: vec![format!("{} no longer exists or is no longer in a git repository", location.target)], ..Default::default() },
        };
        let mut problems = reading.problems.clone();
        // Every file's documents are applied together (large transactions, not one per file);
        // each outcome is then given back its file and its position in that file.
        let mut parsed = Vec::new();
        let mut origin: Vec<(usize, usize)> = Vec::new();
        let mut files = Vec::new();
        for (file, documents) in reading.files {
            for (position, mut doc) in documents.into_iter().enumerate() {
                if let Err(e) = &mut doc {
                    e.index = parsed.len();
                }
                parsed.push(doc);
                origin.push((files.len(), position));
            }
            files.push(file);
        }
        let mut apply = self.apply_entities(Applier::System, parsed, &source).await?;
        let mut found: BTreeSet<String> = BTreeSet::new();
        for d in &mut apply.documents {
            let (file, position) = origin[d.index];
            let file = &files[file];
            d.index = position;
            match (&d.entity_ref, d.outcome.as_str()) {
                (Some(r), "created" | "updated" | "unchanged") => {
                    found.insert(r.clone());
                }
                _ => {
                    let place = d.line.map(|l| format!(":{l}")).unwrap_or_default();
                    let what: Vec<String> = d.errors.iter().map(|(f, m)| format!("{f}: {}", m.join(" "))).collect();
                    problems.push(format!("{file}{place}: {}", what.join("; ")));
                }
            }
        }
        let mut docs_written = 0;
        for (entity, path, title, markdown) in &reading.docs {
            if found.contains(entity) && self.put_doc_as_system(Some(entity), path, title, markdown, &source).await? {
                docs_written += 1;
            }
        }
        let mut orphaned = Vec::new();
        if problems.is_empty() {
            let before = self.store.catalog_stamps(&self.store.catalog_refs_from(&source).await.map_err(db)?).await.map_err(db)?;
            orphaned = before.into_iter().filter(|s| !s.orphan && !found.contains(&s.entity_ref)).map(|s| s.entity_ref).collect();
            let audits = orphaned.iter().map(|r| Caller::system_audit(&source, "catalog.orphan", format!("entity:{r}"))).collect();
            self.store.catalog_set_orphan(&orphaned, true, audits).await.map_err(db)?;
        }
        let error = (!problems.is_empty()).then(|| {
            let mut shown: Vec<String> = problems.iter().take(20).cloned().collect();
            if problems.len() > 20 {
                shown.push(format!("… and {} more", problems.len() - 20));
            }
            if !files.is_empty() {
                shown.push("Nothing was marked orphaned this time, because the read was not clean.".into());
            }
            shown.join("\n")
        });
        let status = if error.is_some() { "error" } else { "ok" };
        self.store.location_finish(&location.id, status, error.as_deref(), &now()).await.map_err(db)?;
        let location = self.location(&location.id).await?;
        Ok(RefreshReport { location, files, apply, docs_written, orphaned })
    }
}
