//! The audit trail's hash chain. Each entry's hash covers its own fields and the previous entry's
//! hash, so changing, removing or reordering any stored entry breaks every hash after it.
//! Pure functions: the store feeds them rows, they say whether the chain holds.

use super::store::{AuditDraft, AuditRow};
use crate::types::{AuditEntry, ChainReport};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over every field, each length-prefixed so that no two different rows hash alike.
pub fn entry_hash(seq: i64, d: &AuditDraft, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    let none = "\u{0}none";
    let fields: [&str; 12] = [
        &seq.to_string(),
        &d.at,
        &d.actor,
        &d.action,
        &d.target,
        d.team.as_deref().unwrap_or(none),
        d.before.as_deref().unwrap_or(none),
        d.after.as_deref().unwrap_or(none),
        &d.decision,
        &d.reason,
        &d.request_id,
        prev_hash,
    ];
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Chains a draft after the entry (`last_seq`, `last_hash`).
pub fn chain(draft: AuditDraft, last: Option<(i64, String)>) -> AuditRow {
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let hash = entry_hash(seq, &draft, &prev_hash);
    AuditRow { seq, draft, prev_hash, hash }
}

/// Verifies rows in order, page by page: keep one `Verifier` and feed it every page.
#[derive(Debug)]
pub struct Verifier {
    expected_seq: i64,
    prev_hash: String,
    checked: i64,
    broken: Option<(i64, String)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier { expected_seq: 1, prev_hash: GENESIS.to_string(), checked: 0, broken: None }
    }
}

impl Verifier {
    /// Returns false once the chain is found broken (no need to feed more).
    pub fn feed(&mut self, row: &AuditRow) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let problem = if row.seq != self.expected_seq {
            Some(format!("entry {} is missing (found {} next)", self.expected_seq, row.seq))
        } else if row.prev_hash != self.prev_hash {
            Some(format!("entry {} does not follow the entry before it", row.seq))
        } else if entry_hash(row.seq, &row.draft, &row.prev_hash) != row.hash {
            Some(format!("entry {} was changed after it was written", row.seq))
        } else {
            None
        };
        if let Some(p) = problem {
            self.broken = Some((row.seq, p));
            return false;
        }
        self.checked += 1;
        self.expected_seq += 1;
        self.prev_hash = row.hash.clone();
        true
    }

    pub fn report(&self) -> ChainReport {
        match &self.broken {
            None => ChainReport {
                ok: true,
                checked: self.checked,
                first_bad_seq: None,
                message: format!("The audit trail is intact: {} entries verified.", self.checked),
            },
            Some((seq, why)) => ChainReport {
                ok: false,
                checked: self.checked,
                first_bad_seq: Some(*seq),
                message: format!("The audit trail is broken: {why}."),
            },
        }
    }
}

impl AuditRow {
    pub fn to_entry(&self) -> AuditEntry {
        let json = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
        AuditEntry {
            seq: self.seq,
            at: self.draft.at.clone(),
            actor: self.draft.actor.clone(),
            action: self.draft.action.clone(),
            target: self.draft.target.clone(),
            team: self.draft.team.clone(),
            before: json(&self.draft.before),
            after: json(&self.draft.after),
            decision: self.draft.decision.clone(),
            reason: self.draft.reason.clone(),
            request_id: self.draft.request_id.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(action: &str) -> AuditDraft {
        AuditDraft {
            at: "2026-11-26T10:00:00.000Z".into(),
            actor: "admin".into(),
            action: action.into(),
            target: "user:alice".into(),
            team: None,
            before: None,
            after: Some(r#"{"is_admin":false}"#.into()),
            decision: "allow".into(),
            reason: String::new(),
            request_id: "r1".into(),
        }
    }

    fn build(n: usize) -> Vec<AuditRow> {
        let mut rows: Vec<AuditRow> = Vec::new();
        for i in 0..n {
            let last = rows.last().map(|r| (r.seq, r.hash.clone()));
            rows.push(chain(draft(&format!("user.update.{i}")), last));
        }
        rows
    }

    fn verify(rows: &[AuditRow]) -> ChainReport {
        let mut v = Verifier::default();
        for r in rows {
            if !v.feed(r) {
                break;
            }
        }
        v.report()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let rows = build(5);
        assert_eq!(rows[0].prev_hash, GENESIS);
        assert_eq!(rows[4].seq, 5);
        let r = verify(&rows);
        assert!(r.ok, "{}", r.message);
        assert_eq!(r.checked, 5);
    }

    #[test]
    fn a_tampered_row_is_found() {
        let mut rows = build(5);
        rows[2].draft.after = Some(r#"{"is_admin":true}"#.into());
        let r = verify(&rows);
        assert!(!r.ok);
        assert_eq!(r.first_bad_seq, Some(3));
        assert_eq!(r.checked, 2);
        assert!(r.message.contains("changed"), "{}", r.message);
    }

    #[test]
    fn a_removed_or_reordered_row_is_found() {
        let mut rows = build(5);
        rows.remove(1);
        assert_eq!(verify(&rows).first_bad_seq, Some(3));
        let mut rows = build(5);
        rows.swap(3, 4);
        assert_eq!(verify(&rows).first_bad_seq, Some(5));
    }

    #[test]
    fn a_recomputed_hash_still_breaks_the_next_link() {
        let mut rows = build(4);
        rows[1].draft.actor = "mallory".into();
        rows[1].hash = entry_hash(rows[1].seq, &rows[1].draft, &rows[1].prev_hash);
        let r = verify(&rows);
        assert_eq!(r.first_bad_seq, Some(3), "{}", r.message);
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        let mut a = draft("x");
        a.team = None;
        let mut b = draft("x");
        b.team = Some(String::new());
        assert_ne!(entry_hash(1, &a, GENESIS), entry_hash(1, &b, GENESIS));
    }
}
