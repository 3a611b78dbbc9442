//! The search logic both databases share: reading a query into terms, trigrams for typo
//! tolerance, ranking (exact names first), highlighting and snippets. The databases only find
//! candidates through their trigram indexes (SQLite FTS5 `trigram`, PostgreSQL `pg_trgm`); what
//! a person sees is decided here, so it is the same on either.

use crate::types::TextPart;

/// Longest query accepted, in characters.
pub const MAX_QUERY: usize = 200;
/// Shortest term a trigram index can look up; shorter terms only match name prefixes.
pub const MIN_TERM: usize = 3;

/// The query's words, lower-case, without surrounding punctuation, at most eight.
pub fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in query.split_whitespace() {
        let t = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t.chars().take(64).collect());
        }
    }
    out.truncate(8);
    out
}

/// The overlapping three-character pieces of a term (the term itself when shorter).
pub fn trigrams(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    if chars.len() < 3 {
        return vec![term.to_string()];
    }
    chars.windows(3).map(|w| w.iter().collect()).collect()
}

/// Trigram similarity of two words as pg_trgm measures it (padded with two spaces in front and
/// one behind): shared trigrams over all distinct trigrams, 0 to 1.
pub fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> std::collections::BTreeSet<String> {
        let padded: Vec<char> = format!("  {} ", s.to_lowercase()).chars().collect();
        padded.windows(3).map(|w| w.iter().collect()).collect()
    };
    let (ga, gb) = (grams(a), grams(b));
    let shared = ga.intersection(&gb).count() as f64;
    let all = ga.union(&gb).count() as f64;
    if all == 0.0 { 0.0 } else { shared / all }
}

/// Words of a text as search sees them: split on anything that is not a letter or digit.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// How closely `term` resembles the most similar word of `text`.
pub fn word_similarity(term: &str, text: &str) -> f64 {
    words(text).map(|w| similarity(term, &w)).fold(0.0, f64::max)
}

/// A typo-tolerant candidate is kept only when every term resembles some word of its name or
/// title this closely.
pub const TYPO_THRESHOLD: f64 = 0.3;

pub fn resembles(terms: &[String], name: &str, title: &str) -> bool {
    let text = format!("{name} {title}");
    terms.iter().all(|t| word_similarity(t, &text) >= TYPO_THRESHOLD)
}

/// Names and queries compared with `-`, `_`, `.` and spaces alike.
fn normalize(s: &str) -> String {
    s.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// How good a match is, best first: 0 exact name or title, 1 name starting with the query,
/// 2 every term in the name or title, 3 every term somewhere, 4 only alike (typo tolerance).
pub fn tier(terms: &[String], name: &str, title: &str, body: &str) -> u8 {
    let phrase = terms.join(" ");
    let (n, t) = (normalize(name), normalize(title));
    if n == phrase || t == phrase {
        return 0;
    }
    if n.starts_with(&phrase) {
        return 1;
    }
    let head = format!("{} {}", name.to_lowercase(), title.to_lowercase());
    if terms.iter().all(|term| head.contains(term.as_str())) {
        return 2;
    }
    // Only the terms missing from name and title are looked for in the (longer) text.
    let body = body.to_lowercase();
    if terms.iter().all(|term| head.contains(term.as_str()) || body.contains(term.as_str())) {
        return 3;
    }
    4
}

/// Byte ranges of `text` where any term occurs (case-insensitive), merged.
fn hits(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let lower = text.to_lowercase();
    // Lower-casing can change byte lengths (rarely); then only exact-length matches are marked.
    if lower.len() != text.len() {
        return Vec::new();
    }
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let mut from = 0;
        while let Some(i) = lower[from..].find(term.as_str()) {
            let start = from + i;
            ranges.push((start, start + term.len()));
            from = start + term.len();
        }
    }
    ranges.sort();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// `text` cut into parts, those matching a term (or a word of a hyphenated term) marked.
pub fn highlight(text: &str, terms: &[String]) -> Vec<TextPart> {
    let mut pieces: Vec<String> = terms.to_vec();
    for t in terms {
        pieces.extend(words(t).filter(|w| w.chars().count() >= 2 && !pieces_contains(terms, w)));
    }
    let mut parts = Vec::new();
    let mut at = 0;
    for (s, e) in hits(text, &pieces) {
        if s > at {
            parts.push(TextPart { text: text[at..s].to_string(), hit: false });
        }
        parts.push(TextPart { text: text[s..e].to_string(), hit: true });
        at = e;
    }
    if at < text.len() || parts.is_empty() {
        parts.push(TextPart { text: text[at..].to_string(), hit: false });
    }
    parts
}

fn pieces_contains(terms: &[String], w: &str) -> bool {
    terms.iter().any(|t| t == w)
}

/// About `width` characters of `text` around its first match (its start when nothing
/// matches), highlighted, with an ellipsis where it was cut.
pub fn snippet(text: &str, terms: &[String], width: usize) -> Vec<TextPart> {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = hits(&flat, terms).first().map(|h| h.0).unwrap_or(0);
    let chars: Vec<(usize, char)> = flat.char_indices().collect();
    let centre = chars.iter().position(|(i, _)| *i >= first).unwrap_or(0);
    let start = centre.saturating_sub(width / 3);
    let end = (start + width).min(chars.len());
    let byte = |ix: usize| chars.get(ix).map(|(i, _)| *i).unwrap_or(flat.len());
    let mut cut = flat[byte(start)..byte(end)].to_string();
    if start > 0 {
        cut = format!("…{cut}");
    }
    if end < chars.len() {
        cut.push('…');
    }
    highlight(&cut, terms)
}

/// Markdown reduced to its words, for the index and for snippets (link targets dropped).
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in markdown.lines() {
        let line = line.trim_start_matches(['#', '>', '-', '*', ' ', '|']);
        if line.trim().is_empty() {
            continue;
        }
        let mut rest = line;
        // `[text](target)` keeps only `text`.
        while let Some(i) = rest.find("](") {
            out.push_str(&rest[..i]);
            rest = rest[i + 2..].split_once(')').map_or("", |(_, after)| after);
        }
        out.push_str(rest);
        out.push(' ');
    }
    out.replace(['`', '*', '|', '['], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(q: &str) -> Vec<String> {
        terms(q)
    }

    #[test]
    fn terms_are_lower_case_words_without_punctuation() {
        assert_eq!(t("  Payments-API, (checkout)  "), vec!["payments-api", "checkout"]);
        assert_eq!(t("a a A"), vec!["a"]);
        assert_eq!(t("🚀 émoji Straße"), vec!["émoji", "straße"]);
        assert!(t("  ... !!").is_empty());
        assert_eq!(t("1 2 3 4 5 6 7 8 9 10").len(), 8);
    }

    #[test]
    fn trigrams_and_similarity() {
        assert_eq!(trigrams("pay"), vec!["pay"]);
        assert_eq!(trigrams("paym"), vec!["pay", "aym"]);
        assert_eq!(trigrams("ab"), vec!["ab"]);
        assert_eq!(similarity("payments", "payments"), 1.0);
        assert!(similarity("paymnets", "payments") > TYPO_THRESHOLD);
        assert!(similarity("checkout", "payments") < 0.1);
        assert!(word_similarity("ledgr", "The Ledger service") > TYPO_THRESHOLD);
        assert!(resembles(&t("paymnt"), "payments-api", "Payments API"));
        assert!(!resembles(&t("zebra"), "payments-api", "Payments API"));
    }

    #[test]
    fn exact_names_rank_first() {
        let q = t("payments api");
        assert_eq!(tier(&q, "payments-api", "", ""), 0);
        assert_eq!(tier(&q, "other", "Payments API", ""), 0);
        assert_eq!(tier(&t("payments"), "payments-api", "", ""), 1);
        assert_eq!(tier(&q, "api-for-payments", "", ""), 2);
        assert_eq!(tier(&q, "ledger", "Ledger", "the payments api uses it"), 3);
        assert_eq!(tier(&q, "ledger", "Ledger", "nothing"), 4);
    }

    #[test]
    fn highlighting_marks_every_occurrence_and_keeps_all_text() {
        let parts = highlight("Payments API for payments", &t("payment"));
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "Payments API for payments");
        let marked: Vec<&str> = parts.iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect();
        assert_eq!(marked, vec!["Payment", "payment"]);
        assert_eq!(highlight("", &t("x")), vec![TextPart { text: String::new(), hit: false }]);
        // Overlapping terms merge into one mark.
        let parts = highlight("checkout", &t("check eck"));
        assert_eq!(parts.iter().filter(|p| p.hit).count(), 1);
        // A hyphenated query marks its words in a title written with spaces.
        let parts = highlight("Card Vault", &t("card-va"));
        assert_eq!(parts.iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect::<Vec<_>>(), vec!["Card", "Va"]);
    }

    #[test]
    fn snippets_centre_on_the_first_match() {
        let text = format!("{} needle {}", "hay ".repeat(100), "hay ".repeat(100));
        let parts = snippet(&text, &t("needle"), 60);
        let s: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(parts.iter().any(|p| p.hit && p.text == "needle"));
        assert!(s.chars().count() <= 62);
        // Multi-byte text is cut on character boundaries.
        let s: String = snippet(&"é🚀".repeat(100), &t("x"), 9).iter().map(|p| p.text.clone()).collect();
        assert_eq!(s.chars().count(), 10);
    }

    #[test]
    fn markdown_becomes_plain_words() {
        assert_eq!(plain_text("# Title\n\n- item `code`\n> quote\n\n| a | b |"), "Title item code quote a b");
        assert_eq!(plain_text("Part of the [Payments](/catalog/system/default/payments) system."), "Part of the Payments system.");
    }
}
