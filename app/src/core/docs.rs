//! The documentation hub: standalone guides and entities' docs, written in the UI or read from
//! a location's `backstage.io/techdocs-ref: dir:` folder, rendered safely and searchable.

use super::service::{db, Caller, Services};
use super::store::*;
use super::now;
use crate::authz::{decide, Action, Decision};
use crate::catalog::{self, owner_team, EntityRef};
use crate::error::AppError;
use crate::types::*;

/// Largest document accepted, in bytes.
pub const MAX_DOC: usize = 512 * 1024;

fn summary(d: &DocRecord) -> DocSummary {
    DocSummary {
        id: d.id.clone(),
        title: d.title.clone(),
        entity_ref: d.entity_ref.clone(),
        path: d.path.clone(),
        source: d.source.clone(),
        updated_at: d.updated_at.clone(),
    }
}

/// A document path: `index`, `runbook`, `guides/setup` (letters, digits, `-`, `_`, `/`).
fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && path.split('/').all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// The search entry of a document.
pub fn doc_search_doc(d: &DocRecord, owner_ref: Option<String>) -> SearchDoc {
    let text = crate::search::plain_text(&d.markdown);
    SearchDoc {
        doc_key: format!("doc:{}", d.id),
        kind: "Doc".into(),
        entity_ref: d.entity_ref.clone(),
        name: d.title.to_lowercase(),
        title: d.title.clone(),
        summary: text.chars().take(240).collect(),
        owner_ref,
        body: text,
        url: format!("/docs/{}", d.id),
    }
}

impl Services {
    /// Who may change a document: the owning team of its entity, or for guides Team Leads.
    fn doc_decision(caller: &Caller, owner: Option<&str>, guide: bool) -> Decision {
        let Some(p) = caller.principal.as_ref() else { return Decision::Deny("Please sign in to continue.".into()) };
        if guide {
            decide(&p.subject(), Action::WriteGuides)
        } else {
            decide(&p.subject(), Action::EditEntity { team: owner_team(owner).as_deref() })
        }
    }

    async fn owner_of(&self, entity_ref: Option<&str>) -> Result<Option<String>, AppError> {
        match entity_ref {
            None => Ok(None),
            Some(r) => Ok(self.store.catalog_get(r).await.map_err(db)?.and_then(|e| e.owner_ref)),
        }
    }

    /// Every document (guides first), for the hub.
    pub async fn docs_index(&self, caller: &Caller) -> Result<Vec<DocSummary>, AppError> {
        caller.require()?;
        Ok(self.store.docs_all().await.map_err(db)?.iter().map(summary).collect())
    }

    pub async fn entity_docs(&self, caller: &Caller, entity_ref: &str) -> Result<Vec<DocSummary>, AppError> {
        caller.require()?;
        // As the entity page's address spells it (`Component:default/Payments` finds the same).
        let key = super::catalog::reference_key(entity_ref)?;
        Ok(self.store.docs_of(Some(&key)).await.map_err(db)?.iter().map(summary).collect())
    }

    pub async fn doc_page(&self, caller: &Caller, id: &str) -> Result<DocPage, AppError> {
        caller.require()?;
        let d = self
            .store
            .doc_get(id)
            .await
            .map_err(db)?
            .ok_or_else(|| AppError::NotFound(format!("There is no document {id}. Look for it on the Docs page or search.")))?;
        let rendered = crate::docs::render(&d.markdown);
        let siblings = self.store.docs_of(d.entity_ref.as_deref()).await.map_err(db)?.iter().map(summary).collect();
        let owner = self.owner_of(d.entity_ref.as_deref()).await?;
        Ok(DocPage {
            summary: summary(&d),
            html: rendered.html,
            toc: rendered.toc,
            markdown: d.markdown.clone(),
            version: d.version,
            updated_by: d.updated_by.clone(),
            siblings,
            editable: Self::doc_decision(caller, owner.as_deref(), d.entity_ref.is_none()).allowed(),
        })
    }

    /// Creates (no id) or changes a document. A stale version is a conflict; what was typed
    /// is the caller's to keep.
    pub async fn save_doc(&self, caller: &Caller, input: &DocInput) -> Result<DocSummary, AppError> {
        let p = caller.require()?;
        let mut problems = crate::error::FieldErrors::new();
        let title = input.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            problems.insert("title".into(), vec!["Give the document a title of at most 200 characters.".into()]);
        }
        if input.markdown.len() > MAX_DOC {
            problems.insert("markdown".into(), vec![format!("Documents are limited to {} KB; split it into several.", MAX_DOC / 1024)]);
        }
        let existing = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => Some(self.store.doc_get(id).await.map_err(db)?.ok_or_else(|| AppError::NotFound(format!("There is no document {id}.")))?),
            None => None,
        };
        let entity_ref = match (&existing, input.entity_ref.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
            (Some(d), _) => d.entity_ref.clone(),
            (None, None) => None,
            (None, Some(r)) => match EntityRef::parse(r, None, catalog::DEFAULT_NAMESPACE) {
                Err(e) => {
                    problems.insert("entity_ref".into(), vec![e.to_string()]);
                    None
                }
                Ok(r) => {
                    let key = r.key();
                    if self.store.catalog_get(&key).await.map_err(db)?.is_none() {
                        problems.insert("entity_ref".into(), vec![format!("{key} is not in the catalog.")]);
                    }
                    Some(key)
                }
            },
        };
        let path = match &existing {
            Some(d) => d.path.clone(),
            None => {
                let path = input.path.trim().trim_matches('/').trim_end_matches(".md").to_string();
                if !valid_path(&path) {
                    problems.insert("path".into(), vec!["Use letters, digits, '-', '_' and '/' (for example runbook or setup/local).".into()]);
                }
                path
            }
        };
        if !problems.is_empty() {
            return Err(AppError::Validation(problems));
        }
        let owner = self.owner_of(entity_ref.as_deref()).await?;
        let id = match (&existing, &entity_ref) {
            (Some(d), _) => d.id.clone(),
            (None, Some(e)) => format!("{e}/{path}"),
            (None, None) => format!("guides/{path}"),
        };
        let audit = caller.audit(if existing.is_some() { "docs.update" } else { "docs.create" }, format!("doc:{id}"));
        let audit = audit.owned_by(owner.as_deref());
        if let Decision::Deny(why) = Self::doc_decision(caller, owner.as_deref(), entity_ref.is_none()) {
            self.store.append_audit(audit.deny(&why)).await.map_err(db)?;
            return Err(AppError::Forbidden(why));
        }
        if let Some(d) = &existing {
            if d.version != input.version {
                return Err(AppError::Conflict(format!(
                    "{} changed this document since you opened it (now version {}). Copy your text, reload, and apply your change again.",
                    d.updated_by, d.version
                )));
            }
        }
        let at = now();
        let doc = DocRecord {
            id: id.clone(),
            entity_ref,
            path,
            title: title.to_string(),
            markdown: input.markdown.clone(),
            source: "ui".into(),
            version: existing.as_ref().map_or(1, |d| d.version + 1),
            updated_by: p.user.username.clone(),
            created_at: existing.as_ref().map(|d| d.created_at.clone()).unwrap_or_else(|| at.clone()),
            updated_at: at,
        };
        let audit = audit.after(&serde_json::json!({"version": doc.version, "title": doc.title}));
        self.store.doc_put(&doc, &doc_search_doc(&doc, owner), audit).await.map_err(|e| match e {
            StoreError::Conflict(_) if existing.is_none() => AppError::field("path", format!("There is already a document {id}; choose another path.")),
            StoreError::Conflict(_) => AppError::Conflict("Someone saved this document at the same moment. Copy your text, reload, and apply your change again.".into()),
            e => db(e),
        })?;
        Ok(summary(&doc))
    }

    pub async fn delete_doc(&self, caller: &Caller, id: &str, version: i64) -> Result<(), AppError> {
        caller.require()?;
        let d = self.store.doc_get(id).await.map_err(db)?.ok_or_else(|| AppError::NotFound(format!("There is no document {id}.")))?;
        let owner = self.owner_of(d.entity_ref.as_deref()).await?;
        let audit = caller.audit("docs.delete", format!("doc:{id}")).before(&serde_json::json!({"version": d.version, "title": d.title}));
        let audit = audit.owned_by(owner.as_deref());
        if let Decision::Deny(why) = Self::doc_decision(caller, owner.as_deref(), d.entity_ref.is_none()) {
            self.store.append_audit(audit.deny(&why)).await.map_err(db)?;
            return Err(AppError::Forbidden(why));
        }
        self.store.doc_delete(id, version, audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::Conflict(format!("{id} was changed since you loaded it. Reload and try again.")),
            e => db(e),
        })
    }

    /// Writes a document on the platform's behalf (seeding, locations) when it is new or its
    /// text changed; returns whether it wrote.
    pub async fn put_doc_as_system(&self, entity_ref: Option<&str>, path: &str, title: &str, markdown: &str, source: &str) -> Result<bool, AppError> {
        let id = match entity_ref {
            Some(e) => format!("{e}/{path}"),
            None => format!("guides/{path}"),
        };
        let existing = self.store.doc_get(&id).await.map_err(db)?;
        if existing.as_ref().is_some_and(|d| d.markdown == markdown && d.title == title) {
            return Ok(false);
        }
        let at = now();
        let doc = DocRecord {
            id: id.clone(),
            entity_ref: entity_ref.map(str::to_string),
            path: path.to_string(),
            title: title.to_string(),
            markdown: markdown.to_string(),
            source: source.to_string(),
            version: existing.as_ref().map_or(1, |d| d.version + 1),
            updated_by: "system".into(),
            created_at: existing.as_ref().map(|d| d.created_at.clone()).unwrap_or_else(|| at.clone()),
            updated_at: at,
        };
        let owner = self.owner_of(entity_ref).await?;
        let audit = Caller::system_audit(source, if existing.is_some() { "docs.update" } else { "docs.create" }, format!("doc:{id}"));
        let audit = audit.owned_by(owner.as_deref());
        self.store.doc_put(&doc, &doc_search_doc(&doc, owner), audit).await.map_err(db)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_paths() {
        for ok in ["index", "runbook", "setup/local-dev", "a_b/c-d/e1"] {
            assert!(valid_path(ok), "{ok}");
        }
        for bad in ["", "../etc/passwd", "a//b", "with space", "dot.md", "ü", &"x".repeat(201)] {
            assert!(!valid_path(bad), "{bad}");
        }
    }
}
