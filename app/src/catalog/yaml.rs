//! Reading catalog files: multi-document YAML in, one result per document out.
//!
//! Each document is parsed on its own, so one broken document (bad indentation, a list where a
//! mapping belongs, a duplicated key) is reported with its position and the others still import.
//! A YAML parser stops at the first syntax error of a stream, which would lose every document
//! after it; so the text is first cut at its document markers (`---`, `...` at the start of a
//! line, which YAML forbids inside any scalar) and each piece goes to the parser alone.
//!
//! This module turns text into [`Entity`] values and reports problems of form (YAML syntax,
//! fields of the wrong type). Whether the values are acceptable is [`validate`](super::validate)'s
//! question, asked by the caller afterwards.
//!
//! Merge keys (`<<: *defaults`) are not expanded, as Backstage's YAML 1.2 parser does not
//! expand them; anchors and aliases do work.

use super::model::Entity;
use super::validate::key_path;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::fmt;
use yaml_serde::Value as Yaml;

/// A document that could not be read as an entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentError {
    /// The document's position among the results of [`parse_documents`], from 0. Empty documents
    /// are skipped and not counted; `line` says where the document is in the file.
    pub index: usize,
    /// The 1-based line in the whole text: where the parser found the problem when it says, or
    /// else the document's first line with content.
    pub line: Option<usize>,
    /// The field, as `metadata.name`; empty for the document as a whole (e.g. YAML syntax).
    pub path: String,
    pub message: String,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Document {}", self.index + 1)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if !self.path.is_empty() {
            write!(f, ", {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DocumentError {}

/// Parses every document of `text`, in order. Empty documents (nothing, only comments, or
/// `null`) are skipped, as Backstage skips them; every other document yields an entity or an
/// error, whatever happened to the documents before it.
pub fn parse_documents(text: &str) -> Vec<Result<Entity, DocumentError>> {
    documents(text).collect()
}

/// The documents of `text` as [`parse_documents`] gives them, parsed a thousand at a time as
/// they are asked for: an import checks and writes the first ones while the rest wait to be
/// parsed, instead of after the whole text is.
pub fn documents(text: &str) -> Documents<'_> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Documents { pieces: split_documents(text).into_iter(), parsed: Vec::new().into_iter(), index: 0 }
}

/// The iterator of [`documents`].
pub struct Documents<'a> {
    pieces: std::vec::IntoIter<Chunk<'a>>,
    parsed: std::vec::IntoIter<Option<Result<Entity, Failure>>>,
    /// The index of the next document.
    index: usize,
}

impl Iterator for Documents<'_> {
    type Item = Result<Entity, DocumentError>;

    fn next(&mut self) -> Option<Self::Item> {
        const AT_A_TIME: usize = 1000;
        loop {
            match self.parsed.next() {
                // An empty document: skipped, not counted.
                Some(None) => continue,
                Some(Some(parsed)) => {
                    let index = self.index;
                    self.index += 1;
                    return Some(parsed.map_err(|Failure { line, path, message }| DocumentError { index, line, path, message }));
                }
                None => {
                    let next: Vec<Chunk> = self.pieces.by_ref().take(AT_A_TIME).collect();
                    if next.is_empty() {
                        return None;
                    }
                    self.parsed = parse_all(&next).into_iter();
                }
            }
        }
    }
}

/// Parses the pieces, in order. A large text is parsed on every core, a slice of pieces each:
/// they are independent of each other.
fn parse_all(chunks: &[Chunk]) -> Vec<Option<Result<Entity, Failure>>> {
    const PIECES_PER_THREAD: usize = 256;
    let cores = if cfg!(target_arch = "wasm32") { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) };
    let threads = cores.min(chunks.len() / PIECES_PER_THREAD).max(1);
    if threads == 1 {
        return chunks.iter().map(parse_document).collect();
    }
    std::thread::scope(|s| {
        let parts: Vec<_> = chunks
            .chunks(chunks.len().div_ceil(threads))
            .map(|part| s.spawn(move || part.iter().map(parse_document).collect::<Vec<_>>()))
            .collect();
        parts.into_iter().flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// One document's text, with where it starts in the whole text.
#[derive(Debug)]
struct Chunk<'a> {
    text: &'a str,
    /// The 1-based line of `text`'s first line.
    first_line: usize,
    /// The 1-based line of its first line with content (not blank, not only a comment).
    content_line: usize,
}

struct Failure {
    line: Option<usize>,
    path: String,
    message: String,
}

/// `line` is the document marker `marker`, alone or followed by a space or a tab.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn has_content(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// Cuts `text` at its document markers. Comments, blank lines and directives (`%YAML 1.2`) before
/// a `---` stay with the document that follows; pieces without content are dropped, as they are
/// empty documents. Each piece ends with its last line that is not blank: the parser refuses a
/// trailing line holding only a tab, which editors leave behind.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut push = |from: usize, to: usize, first_line: usize, content_line: Option<usize>| {
        if let Some(content_line) = content_line {
            chunks.push(Chunk { text: &text[from..to.max(from)], first_line, content_line });
        }
    };
    // The current piece: where it starts, where its last non-blank line ends, its first line
    // with content, and whether it has its `---` already.
    let (mut start, mut start_line, mut end) = (0, 1, 0);
    let (mut content_line, mut has_marker) = (None, false);
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let number = i + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        let next = offset + line.len();
        if is_marker(bare, "---") {
            if content_line.is_some() || has_marker {
                push(start, end, start_line, content_line);
                (start, start_line, content_line) = (offset, number, None);
            }
            has_marker = true;
            // `--- {kind: ...}` or `--- |`: the document starts on the marker's line.
            if has_content(&bare[3..]) {
                content_line = Some(number);
            }
        } else if is_marker(bare, "...") {
            push(start, end, start_line, content_line);
            (start, start_line, end, content_line, has_marker) = (next, number + 1, next, None, false);
            offset = next;
            continue;
        } else if content_line.is_none() && has_content(bare) && (has_marker || !bare.starts_with('%')) {
            content_line = Some(number);
        }
        if !bare.trim().is_empty() {
            end = next;
        }
        offset = next;
    }
    push(start, end, start_line, content_line);
    chunks
}

fn parse_document(chunk: &Chunk) -> Option<Result<Entity, Failure>> {
    let yaml: Yaml = match yaml_serde::from_str(chunk.text) {
        Ok(v) => v,
        Err(e) => return Some(Err(syntax_failure(&e, chunk))),
    };
    if yaml.is_null() {
        return None;
    }
    let at_document = |path: String, message: String| Failure { line: Some(chunk.content_line), path, message };
    let json = match to_json(yaml) {
        Ok(json) => json,
        Err((mut segments, message)) => {
            segments.reverse();
            return Some(Err(at_document(join_path(&segments), message)));
        }
    };
    Some(Entity::from_json(json).map_err(|problems| {
        let first = problems
            .into_iter()
            .next()
            .unwrap_or_else(|| super::validate::Problem::new("", "This document is not a catalog entity."));
        at_document(first.path, first.message)
    }))
}

/// A parser error, with its line numbers made relative to the whole text rather than the piece.
fn syntax_failure(e: &yaml_serde::Error, chunk: &Chunk) -> Failure {
    let shift = chunk.first_line - 1;
    let line = e.location().map(|l| l.line() + shift).or(Some(chunk.content_line));
    let full = shift_line_numbers(&e.to_string(), shift);
    // Errors raised while building values (duplicate keys, unknown anchors) start with the path
    // of the mapping they were found in, `metadata: duplicate entry with key "name"`; syntax
    // errors start with words, never with a path followed by ": ".
    match full.split_once(": ") {
        Some((path, message)) if !path.is_empty() && !path.contains(char::is_whitespace) => {
            Failure { line, path: path.to_string(), message: message.to_string() }
        }
        _ => Failure { line, path: String::new(), message: full },
    }
}

/// Adds `shift` to every `line N column M` in a parser message.
fn shift_line_numbers(message: &str, shift: usize) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (before, after) = rest.split_at(at + "line ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(n) if after[digits..].starts_with(" column ") => {
                out.push_str(&(n + shift).to_string());
                rest = &after[digits..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

enum Segment {
    Key(String),
    Index(usize),
}

fn join_path(segments: &[Segment]) -> String {
    segments.iter().fold(String::new(), |path, s| match s {
        Segment::Key(k) => key_path(&path, k),
        Segment::Index(i) => format!("{path}[{i}]"),
    })
}

/// The failing value's path from the inside out (segments are pushed as the error returns
/// through each level, so the path is only built when something failed), and the message.
type ConvertError = (Vec<Segment>, String);

/// YAML values as JSON, the form the catalog stores. Numbers and booleans used as keys become
/// text, as JavaScript (and so Backstage) turns them into text; what JSON cannot hold is refused.
fn to_json(value: Yaml) -> Result<Value, ConvertError> {
    let fail = |message: String| Err((Vec::new(), message));
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::String(s) => Value::String(s),
        Yaml::Number(n) => {
            let json = if let Some(i) = n.as_i64() {
                Some(Number::from(i))
            } else if let Some(u) = n.as_u64() {
                Some(Number::from(u))
            } else {
                n.as_f64().and_then(Number::from_f64)
            };
            match json {
                Some(j) => Value::Number(j),
                None => {
                    return fail(format!(
                        "`{n}` is not a number the catalog can store; put it in quotes to keep it as text."
                    ));
                }
            }
        }
        Yaml::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.push(to_json(item).map_err(|(mut path, m)| {
                    path.push(Segment::Index(i));
                    (path, m)
                })?);
            }
            Value::Array(out)
        }
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return fail(format!("Keys must be text, but one key here is {}.", yaml_kind(&other))),
                };
                let v = to_json(v).map_err(|(mut path, m)| {
                    path.push(Segment::Key(key.clone()));
                    (path, m)
                })?;
                out.insert(key, v);
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => {
            return fail(format!("YAML tags such as `{}` are not supported in catalog files; remove the tag.", t.tag));
        }
    })
}

fn yaml_kind(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "empty",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
        _ => "a value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  description: Takes payments.
spec:
  type: service
  lifecycle: production
  owner: team-payments
";

    fn ok(result: &Result<Entity, DocumentError>) -> &Entity {
        result.as_ref().unwrap_or_else(|e| panic!("expected an entity, got: {e}"))
    }

    fn err(result: &Result<Entity, DocumentError>) -> &DocumentError {
        result.as_ref().expect_err("expected an error")
    }

    fn names(results: &[Result<Entity, DocumentError>]) -> Vec<String> {
        results
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| format!("error {}", e.index), |e| e.metadata.name.clone()))
            .collect()
    }

    #[test]
    fn one_document_becomes_one_entity() {
        let results = parse_documents(COMPONENT);
        assert_eq!(results.len(), 1);
        let e = ok(&results[0]);
        assert_eq!(e.entity_ref().key(), "component:default/payments-api");
        assert_eq!(e.spec["owner"], "team-payments");
        assert_eq!(e.metadata.description.as_deref(), Some("Takes payments."));
    }

    #[test]
    fn a_mistyped_document_among_good_ones_is_reported_and_the_others_still_parse() {
        let text = format!(
            "{COMPONENT}---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [not, a, name]\n---\n{}",
            COMPONENT.replace("payments-api", "web")
        );
        let results = parse_documents(&text);
        assert_eq!(names(&results), ["payments-api", "error 1", "web"]);
        let e = err(&results[1]);
        assert_eq!((e.index, e.path.as_str(), e.line), (1, "metadata.name", Some(11)));
        assert!(e.message.contains("must be text, not a list"), "{}", e.message);
    }

    #[test]
    fn a_syntax_error_stops_only_its_own_document_and_gives_the_line_in_the_file() {
        let broken = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\n   description: wrongly indented\n";
        let text = format!("{COMPONENT}---\n{broken}---\n{}", COMPONENT.replace("payments-api", "web"));
        let results = parse_documents(&text);
        assert_eq!(names(&results), ["payments-api", "error 1", "web"]);
        let e = err(&results[1]);
        assert_eq!(e.path, "");
        // The broken line is line 15 of the file, and line 6 of its piece (which starts with the `---` on line 10).
        assert_eq!(e.line, Some(15), "{e}");
        assert!(e.message.contains("line 15"), "{}", e.message);
        assert!(!e.message.contains("line 6 "), "{}", e.message);
    }

    #[test]
    fn a_valid_yaml_document_that_is_not_a_mapping_is_reported() {
        let text = format!("- just\n- a list\n---\nplain text\n---\n{COMPONENT}");
        let results = parse_documents(&text);
        assert_eq!(names(&results), ["error 0", "error 1", "payments-api"]);
        for (i, r) in results.iter().take(2).enumerate() {
            let e = err(r);
            assert_eq!((e.index, e.path.as_str()), (i, ""));
            assert!(e.message.contains("A catalog entity is a mapping"), "{}", e.message);
        }
        assert!(err(&results[0]).message.contains("a list"));
        assert_eq!(err(&results[1]).line, Some(4));
    }

    #[test]
    fn empty_documents_are_skipped() {
        let text = format!("---\n---\n# only a comment\n---\n{COMPONENT}...\n---\n~\n---\n\n---\n");
        let results = parse_documents(&text);
        assert_eq!(names(&results), ["payments-api"]);
        assert!(parse_documents("").is_empty());
        assert!(parse_documents("\n\n   \n# nothing here\n").is_empty());
    }

    #[test]
    fn a_long_text_read_a_thousand_at_a_time_numbers_its_documents_as_a_whole() {
        // Empty documents and broken ones on both sides of the parse batches' boundaries.
        let mut pieces: Vec<String> = Vec::new();
        for i in 0..2500 {
            pieces.push(match i % 700 {
                3 => "# nothing\n".to_string(),
                5 => "this is: [not, a, valid\n".to_string(),
                _ => COMPONENT.replace("payments-api", &format!("c-{i}")),
            });
        }
        let text = pieces.join("---\n");
        let lazy: Vec<_> = documents(&text).collect();
        let names: Vec<String> = lazy.iter().filter_map(|r| r.as_ref().ok()).map(|e| e.metadata.name.clone()).collect();
        let expected: Vec<String> = (0..2500).filter(|i| ![3, 5].contains(&(i % 700))).map(|i| format!("c-{i}")).collect();
        assert_eq!(names, expected, "every valid document, once, in order");
        let empty = (0..2500).filter(|i| i % 700 == 3).count();
        assert_eq!(lazy.len(), 2500 - empty);
        let indexes: Vec<usize> = lazy.iter().filter_map(|r| r.as_ref().err()).map(|e| e.index).collect();
        // Document 705 of the text is the 704th that counts (one empty one before it), and so on.
        assert_eq!(indexes, [4, 703, 1402, 2101]);
        assert_eq!(lazy[1999].as_ref().map(|e| e.metadata.name.as_str()), Ok("c-2002"));
    }

    #[test]
    fn trailing_whitespace_lines_a_missing_final_newline_and_crlf_are_fine() {
        let trailing = format!("{COMPONENT}\n   \n\t\n\n");
        let no_newline = COMPONENT.trim_end().to_string();
        let crlf = COMPONENT.replace('\n', "\r\n");
        let two_without_newline = format!("{COMPONENT}---\n{}", COMPONENT.replace("payments-api", "web").trim_end());
        for text in [trailing, no_newline, crlf] {
            let results = parse_documents(&text);
            assert_eq!(names(&results), ["payments-api"], "{text:?}");
            assert_eq!(ok(&results[0]).spec["owner"], "team-payments");
        }
        assert_eq!(names(&parse_documents(&two_without_newline)), ["payments-api", "web"]);
    }

    #[test]
    fn comments_directives_and_a_byte_order_mark_are_accepted() {
        let text = format!(
            "\u{feff}# The payments team's entities.\n%YAML 1.2\n--- # first\n{}\n---\n# a comment before the second\n{}",
            COMPONENT.replace("  owner: team-payments", "  owner: team-payments # the owner\n  # a comment line"),
            COMPONENT.replace("payments-api", "web")
        );
        let results = parse_documents(&text);
        assert_eq!(names(&results), ["payments-api", "web"]);
        assert_eq!(ok(&results[0]).spec["owner"], "team-payments");
    }

    #[test]
    fn a_document_may_start_on_its_marker_line() {
        let text = "--- {apiVersion: backstage.io/v1alpha1, kind: Group, metadata: {name: team-a}, spec: {type: team, children: []}}\n";
        assert_eq!(names(&parse_documents(text)), ["team-a"]);
    }

    #[test]
    fn emoji_and_other_scripts_survive() {
        // No final newline, either.
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: rocket\n  \
                    title: \"🚀 Launch service\"\n  description: Zahlungen, 支付, платежи 💳\n  annotations:\n    \
                    example.com/mood: 😀\nspec: {type: service, lifecycle: production, owner: team-a}";
        let results = parse_documents(text);
        let e = ok(&results[0]);
        assert_eq!(e.metadata.title.as_deref(), Some("🚀 Launch service"));
        assert_eq!(e.metadata.description.as_deref(), Some("Zahlungen, 支付, платежи 💳"));
        assert_eq!(e.metadata.annotations["example.com/mood"], "😀");
    }

    #[test]
    fn a_one_megabyte_inline_definition_is_read_whole() {
        let line = "      /payments/{id}: {get: {summary: Fetch one payment, responses: {'200': {description: OK}}}}\n";
        let body = line.repeat(1_100_000 / line.len());
        let api = |name: &str| {
            format!("apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}\nspec:\n  type: openapi\n  \
                     lifecycle: production\n  owner: team-a\n")
        };
        let block = format!("{}  definition: |\n    openapi: 3.0.0\n    paths:\n{body}", api("big"));
        let one_line = format!("{}  definition: \"{}\"\n", api("long"), "x".repeat(1_048_576));
        let results = parse_documents(&format!("{block}---\n{one_line}"));
        assert_eq!(names(&results), ["big", "long"]);
        let definition = ok(&results[0]).spec["definition"].as_str().unwrap();
        assert!(definition.len() > 1_000_000);
        assert!(definition.ends_with("{description: OK}}}}\n"));
        assert_eq!(ok(&results[1]).spec["definition"].as_str().unwrap().len(), 1_048_576);
    }

    #[test]
    fn a_duplicated_key_is_reported_with_the_mapping_it_is_in() {
        let text = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: one\n  name: two\n";
        let e = err(&parse_documents(text)[0]).clone();
        assert_eq!(e.path, "metadata");
        assert!(e.message.contains("duplicate entry with key \"name\""), "{}", e.message);
    }

    #[test]
    fn tags_and_mapping_keys_are_reported_at_their_path() {
        let tagged = format!("{COMPONENT}  providesApis: [ok, !Ref other]\n");
        let e = err(&parse_documents(&tagged)[0]).clone();
        assert_eq!((e.path.as_str(), e.line), ("spec.providesApis[1]", Some(1)));
        assert!(e.message.contains("`!Ref`"), "{}", e.message);
        let list_key = format!("{COMPONENT}  ? [a, b]\n  : value\n");
        assert_eq!(err(&parse_documents(&list_key)[0]).path, "spec");
    }

    #[test]
    fn numbers_and_booleans_as_keys_become_text() {
        let text = format!("{COMPONENT}  ports:\n    8080: http\n    true: yes\n");
        let e = ok(&parse_documents(&text)[0]).clone();
        assert_eq!(e.spec["ports"], serde_json::json!({"8080": "http", "true": "yes"}));
    }

    #[test]
    fn an_unknown_kind_with_extra_fields_survives_writing_back_to_yaml() {
        let text = "\
apiVersion: example.com/v2
kind: Pipeline
metadata:
  name: nightly
  uid: 1234-abcd
  title: Nightly 🌙
  links:
    - url: https://ci.example.com
      type: dashboard
spec:
  schedule: '0 3 * * *'
  stages: [{name: build}, {name: test, retries: 2}]
x-notes: |
  Two lines,
  kept.
";
        let first = ok(&parse_documents(text)[0]).clone();
        assert_eq!(first.metadata.extra["uid"], "1234-abcd");
        assert_eq!(first.extra["x-notes"], "Two lines,\nkept.\n");
        let written = yaml_serde::to_string(&first).unwrap();
        let again = parse_documents(&written);
        assert_eq!(again.len(), 1, "{written}");
        assert_eq!(ok(&again[0]), &first, "{written}");
    }

    #[test]
    fn an_error_reads_as_a_sentence_with_its_place() {
        let e = DocumentError {
            index: 2,
            line: Some(14),
            path: "metadata.name".into(),
            message: "A name is required.".into(),
        };
        assert_eq!(e.to_string(), "Document 3 (line 14), metadata.name: A name is required.");
    }

    #[test]
    fn line_numbers_in_parser_messages_are_shifted() {
        assert_eq!(
            shift_line_numbers(
                "did not find expected key at line 2 column 4, while parsing a block mapping at line 1 column 1",
                10
            ),
            "did not find expected key at line 12 column 4, while parsing a block mapping at line 11 column 1"
        );
        assert_eq!(shift_line_numbers("a line without numbers", 10), "a line without numbers");
    }
}
