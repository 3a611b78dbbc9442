//! Validation of catalog entities as Backstage validates them (BACKSTAGE-FORMAT.md, which follows
//! Backstage's `KubernetesValidatorFunctions`, `CommonValidatorFunctions` and the built-in kinds'
//! schemas): the envelope, the metadata, and the spec of the kinds we know.
//!
//! Everything wrong is reported at once, each problem with the path of its field
//! (`metadata.name`, `spec.providesApis[1]`) and a message that says what to write instead, so
//! that a person fixes a file in one pass rather than one error per import.
//!
//! Kinds we do not know are kept: only the envelope and metadata rules apply to them.

use super::model::{Entity, EntityRef, Link, Metadata};
use super::relations::{RefField, ref_fields};
use crate::error::FieldErrors;
use crate::types::Tier;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

pub const BACKSTAGE_V1ALPHA1: &str = "backstage.io/v1alpha1";
pub const BACKSTAGE_V1BETA1: &str = "backstage.io/v1beta1";
pub const SCAFFOLDER_V1BETA3: &str = "scaffolder.backstage.io/v1beta3";
/// The apiVersion of `Environment`, a kind of our own: Backstage has no released Environment
/// kind, so it gets our own group rather than `backstage.io`. Its spec needs `lifecycle` (as
/// BACKSTAGE-FORMAT.md lists for Environment) and `tier`, one of `development`, `staging` or
/// `production`: the tiers the portal's access rules are written against ([`Tier`]).
pub const ENVIRONMENT_API_VERSION: &str = "platform.dev/v1alpha1";

/// The kinds we know, each with the apiVersions it accepts (BACKSTAGE-FORMAT.md, "Envelope").
pub const KNOWN_KINDS: &[(&str, &[&str])] = &[
    ("Component", &[BACKSTAGE_V1ALPHA1, BACKSTAGE_V1BETA1]),
    ("API", &[BACKSTAGE_V1ALPHA1]),
    ("Resource", &[BACKSTAGE_V1ALPHA1]),
    ("System", &[BACKSTAGE_V1ALPHA1]),
    ("Domain", &[BACKSTAGE_V1ALPHA1, BACKSTAGE_V1BETA1]),
    ("Group", &[BACKSTAGE_V1ALPHA1]),
    ("User", &[BACKSTAGE_V1ALPHA1]),
    ("Location", &[BACKSTAGE_V1ALPHA1]),
    ("Template", &[SCAFFOLDER_V1BETA3]),
    ("Environment", &[ENVIRONMENT_API_VERSION]),
];

/// The known kind that `kind` names, ignoring case, with its apiVersions. Backstage itself
/// matches kinds exactly; [`validate`] reports a wrongly capitalised kind rather than treating
/// `component` as an unknown kind that would skip every spec check.
pub fn known_kind(kind: &str) -> Option<(&'static str, &'static [&'static str])> {
    KNOWN_KINDS.iter().copied().find(|(k, _)| k.eq_ignore_ascii_case(kind))
}

/// One thing wrong with an entity: where, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The field, as `metadata.name` or `spec.providesApis[1]`; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Problems grouped by field, for `AppError::Validation` and forms that show messages beside
/// their fields.
pub fn field_errors(problems: &[Problem]) -> FieldErrors {
    let mut map = FieldErrors::new();
    for p in problems {
        map.entry(p.path.clone()).or_default().push(p.message.clone());
    }
    map
}

/// The path of a map entry: `metadata.labels.team`, or with brackets when the key would be
/// ambiguous in a dotted path: `metadata.annotations["backstage.io/techdocs-ref"]`.
pub(crate) fn key_path(base: &str, key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (bare, base.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{base}.{key}"),
        (false, _) => format!("{base}[{}]", Value::String(key.into())),
    }
}

// ---- Single-value rules (the regular expressions of Backstage's validator functions) ----

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Why `name` is not a valid entity name (`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`, 1–63),
/// as the end of a sentence; None when it is valid.
pub fn name_problem(name: &str) -> Option<String> {
    let count = name.chars().count();
    let first = name.chars().next()?;
    let last = name.chars().next_back()?;
    if count > 63 {
        return Some(format!("it has {count} characters, and names may have at most 63"));
    }
    if let Some(c) = name.chars().find(|&c| !(is_alnum(c) || matches!(c, '-' | '_' | '.'))) {
        return Some(format!("`{c}` is not allowed; use letters, digits, `-`, `_` and `.`"));
    }
    if !is_alnum(first) {
        return Some("it must start with a letter or a digit".into());
    }
    if !is_alnum(last) {
        return Some("it must end with a letter or a digit".into());
    }
    None
}

pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name_problem(name).is_none()
}

/// A DNS label, `^[a-z0-9]+(-[a-z0-9]+)*$`, 1–63: the rule for namespaces.
pub fn is_valid_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

pub fn is_valid_namespace(s: &str) -> bool {
    is_valid_dns_label(s)
}

/// DNS labels joined by dots, at most 253 characters: the prefix of keys and apiVersions.
pub fn is_valid_dns_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.split('.').all(is_valid_dns_label)
}

/// `^[a-zA-Z][a-zA-Z0-9]*$`, 1–63.
pub fn is_valid_kind(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// An optional DNS-subdomain prefix and `/`, then 1–63 letters and digits (`backstage.io/v1alpha1`).
pub fn is_valid_api_version(s: &str) -> bool {
    let version_ok = |v: &str| (1..=63).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric());
    match s.split_once('/') {
        None => version_ok(s),
        Some((prefix, version)) => is_valid_dns_subdomain(prefix) && version_ok(version),
    }
}

/// A label or annotation key: an optional lowercase DNS-subdomain prefix and `/`, then a name
/// part that follows the name rule (`example.com/cost-center`, `team`).
pub fn is_valid_key(key: &str) -> bool {
    match key.split_once('/') {
        None => is_valid_name(key),
        Some((prefix, name)) => is_valid_dns_subdomain(prefix) && is_valid_name(name),
    }
}

/// A label value: empty, or like a name.
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_name(value)
}

/// `^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`, 1–63. The `:`, `+` and `#` of newer Backstage versions
/// are accepted, so that tags such as `c++` and `c#` from newer files import.
pub fn is_valid_tag(tag: &str) -> bool {
    let word_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '+' | '#');
    (1..=63).contains(&tag.chars().count()) && tag.split('-').all(|w| !w.is_empty() && w.chars().all(word_char))
}

/// A link would run script when clicked. Browsers ignore whitespace and control characters
/// inside a scheme, so they are ignored here too.
fn is_script_url(url: &str) -> bool {
    let cleaned: String = url.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control()).take(16).collect();
    let lowered = cleaned.to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:"].iter().any(|s| lowered.starts_with(s))
}

/// How a JSON value is called in a message.
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn must_be_text(v: &Value) -> String {
    match v {
        Value::Number(_) | Value::Bool(_) => {
            format!("must be text, not {}; put it in quotes, as in \"{v}\".", describe(v))
        }
        _ => format!("must be text, not {}.", describe(v)),
    }
}

// ---- The shape of a document: which fields must be text, lists or mappings ----

#[derive(Clone, Copy)]
enum Shape {
    Text,
    List,
    Mapping,
}

/// Checks the field `key` of `map`, if present and not empty, against `shape`.
fn expect<'v>(
    problems: &mut Vec<Problem>,
    map: &'v Map<String, Value>,
    base: &str,
    key: &str,
    shape: Shape,
) -> Option<&'v Value> {
    let v = map.get(key).filter(|v| !v.is_null())?;
    let path = key_path(base, key);
    let ok = match shape {
        Shape::Text => v.is_string(),
        Shape::List => v.is_array(),
        Shape::Mapping => v.is_object(),
    };
    if ok {
        return Some(v);
    }
    let message = match shape {
        Shape::Text => must_be_text(v),
        Shape::List => format!("must be a list, not {}.", describe(v)),
        Shape::Mapping => format!("must be a mapping (`key: value` lines), not {}.", describe(v)),
    };
    problems.push(Problem::new(path, message));
    None
}

/// Type problems of a parsed document: the fields [`Entity`] types must have the right type
/// (text, list, mapping) before the values themselves can be judged. Empty (null) values count
/// as absent, as YAML writes `labels:` with nothing after it.
pub fn shape_problems(value: &Value) -> Vec<Problem> {
    let mut p = Vec::new();
    let Some(root) = value.as_object() else {
        p.push(Problem::new(
            "",
            format!(
                "A catalog entity is a mapping with `apiVersion`, `kind`, `metadata` and usually `spec`; \
                 this document is {}.",
                describe(value)
            ),
        ));
        return p;
    };
    expect(&mut p, root, "", "apiVersion", Shape::Text);
    expect(&mut p, root, "", "kind", Shape::Text);
    expect(&mut p, root, "", "spec", Shape::Mapping);
    let Some(Value::Object(meta)) = expect(&mut p, root, "", "metadata", Shape::Mapping) else {
        return p;
    };
    for key in ["name", "namespace", "title", "description"] {
        expect(&mut p, meta, "metadata", key, Shape::Text);
    }
    for key in ["labels", "annotations"] {
        if let Some(Value::Object(entries)) = expect(&mut p, meta, "metadata", key, Shape::Mapping) {
            let base = key_path("metadata", key);
            for k in entries.keys() {
                if entries[k].is_null() {
                    // serde would refuse an empty value inside the map; say so with the path.
                    p.push(Problem::new(key_path(&base, k), "must be text; write \"\" for an empty value."));
                } else {
                    expect(&mut p, entries, &base, k, Shape::Text);
                }
            }
        }
    }
    if let Some(Value::Array(tags)) = expect(&mut p, meta, "metadata", "tags", Shape::List) {
        for (i, t) in tags.iter().enumerate().filter(|(_, t)| !t.is_string()) {
            p.push(Problem::new(format!("metadata.tags[{i}]"), must_be_text(t)));
        }
    }
    if let Some(Value::Array(links)) = expect(&mut p, meta, "metadata", "links", Shape::List) {
        for (i, link) in links.iter().enumerate() {
            let base = format!("metadata.links[{i}]");
            match link {
                Value::Object(fields) => {
                    for key in ["url", "title", "icon"] {
                        expect(&mut p, fields, &base, key, Shape::Text);
                    }
                }
                other => p.push(Problem::new(
                    base,
                    format!("must be a mapping with `url` and optionally `title` and `icon`, not {}.", describe(other)),
                )),
            }
        }
    }
    p
}

// ---- The entity ----

/// Every problem of `entity`; empty when it is valid.
pub fn validate(entity: &Entity) -> Vec<Problem> {
    let mut p = Vec::new();
    check_envelope(entity, &mut p);
    check_metadata(&entity.metadata, &mut p);
    if let Some((kind, _)) = known_kind(&entity.kind) {
        let mut spec = SpecCheck { kind, spec: &entity.spec, namespace: entity.namespace(), problems: &mut p };
        spec.check();
    }
    p
}

fn check_envelope(entity: &Entity, p: &mut Vec<Problem>) {
    let (api_version, kind) = (entity.api_version.as_str(), entity.kind.as_str());
    if api_version.is_empty() {
        p.push(Problem::new("apiVersion", format!("An apiVersion is required, such as `{BACKSTAGE_V1ALPHA1}`.")));
    } else if !is_valid_api_version(api_version) {
        p.push(Problem::new(
            "apiVersion",
            format!(
                "`{api_version}` is not a valid apiVersion: write an optional lowercase domain, `/`, and a \
                 version of letters and digits, such as `{BACKSTAGE_V1ALPHA1}`."
            ),
        ));
    }
    if kind.is_empty() {
        p.push(Problem::new("kind", "A kind is required, such as `Component`, `API` or `Group`."));
    } else if !is_valid_kind(kind) {
        p.push(Problem::new(
            "kind",
            format!("`{kind}` is not a valid kind: start with a letter and use only letters and digits, at most 63."),
        ));
    } else if let Some((known, versions)) = known_kind(kind) {
        if known != kind {
            p.push(Problem::new("kind", format!("Kinds are case-sensitive: write `{known}`, not `{kind}`.")));
        }
        if is_valid_api_version(api_version) && !versions.contains(&api_version) {
            let accepted = versions.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(" or ");
            p.push(Problem::new(
                "apiVersion",
                format!("{known} entities use apiVersion {accepted}, not `{api_version}`."),
            ));
        }
    }
}

fn check_metadata(m: &Metadata, p: &mut Vec<Problem>) {
    if m.name.is_empty() {
        p.push(Problem::new(
            "metadata.name",
            "A name is required: letters, digits, `-`, `_` and `.`, such as `payments-api`.",
        ));
    } else if let Some(why) = name_problem(&m.name) {
        p.push(Problem::new("metadata.name", format!("`{}` is not a valid name: {why}.", m.name)));
    }
    if let Some(ns) = &m.namespace
        && !is_valid_namespace(ns)
    {
        p.push(Problem::new(
            "metadata.namespace",
            format!(
                "`{ns}` is not a valid namespace: use lowercase letters and digits with single dashes between \
                 them, at most 63 characters, such as `payments-eu`."
            ),
        ));
    }
    let key_rule = "write an optional lowercase domain and `/`, then a name of letters and digits separated by \
                    `-`, `_` or `.` (at most 63 characters), such as `example.com/cost-center`";
    for (key, value) in &m.labels {
        let path = key_path("metadata.labels", key);
        if !is_valid_key(key) {
            p.push(Problem::new(&path, format!("`{key}` is not a valid label key: {key_rule}.")));
        }
        if !is_valid_label_value(value) {
            p.push(Problem::new(
                &path,
                format!(
                    "`{value}` is not a valid label value: use letters and digits separated by `-`, `_` or `.` \
                     (at most 63 characters), or leave it empty."
                ),
            ));
        }
    }
    for key in m.annotations.keys().filter(|k| !is_valid_key(k)) {
        p.push(Problem::new(
            key_path("metadata.annotations", key),
            format!("`{key}` is not a valid annotation key: {key_rule}."),
        ));
    }
    for (i, tag) in m.tags.iter().enumerate().filter(|(_, t)| !is_valid_tag(t)) {
        p.push(Problem::new(
            format!("metadata.tags[{i}]"),
            format!(
                "`{tag}` is not a valid tag: use lowercase letters, digits, `+`, `#` and `:`, in words joined by \
                 single dashes, at most 63 characters, such as `java` or `team-payments`."
            ),
        ));
    }
    for (i, Link { url, .. }) in m.links.iter().enumerate() {
        let path = format!("metadata.links[{i}].url");
        if url.trim().is_empty() {
            p.push(Problem::new(path, "A link needs a `url`."));
        } else if is_script_url(url) {
            // Backstage does not check this; the portal refuses links that would run script in
            // the browser of whoever clicks them.
            let message = "Links that run script (`javascript:`, `vbscript:`, `data:`) are not allowed; \
                           use an `https://` address.";
            p.push(Problem::new(path, message));
        }
    }
}

// ---- The spec of the known kinds ----

/// An example for a required field's message, so the person knows what kind of value goes there.
fn example(kind: &str, field: &str) -> &'static str {
    match (kind, field) {
        ("Component", "type") => " such as `service`, `website` or `library`",
        ("API", "type") => " such as `openapi`, `asyncapi`, `graphql` or `grpc`",
        ("Resource", "type") => " such as `database` or `s3-bucket`",
        ("Group", "type") => " such as `team` or `business-unit`",
        ("Template", "type") => " such as `service` or `website`: what the template creates",
        (_, field) => example_for_field(field),
    }
}

fn example_for_field(field: &str) -> &'static str {
    match field {
        "lifecycle" => " such as `production`, `experimental` or `deprecated`",
        "owner" => ", the team that owns it, such as `payments` or `group:default/payments`",
        "definition" => {
            ": the API's definition (OpenAPI, AsyncAPI, GraphQL…) written inline, \
             or `$text: ./openapi.yaml` to read it from a file"
        }
        "steps" => ", the list of actions the template runs (each with an `action`, such as `fetch:template`)",
        "tier" => ": `development`, `staging` or `production`",
        "children" | "memberOf" => ", a list of group references (it may be empty: `[]`)",
        _ => "",
    }
}

struct SpecCheck<'a> {
    kind: &'static str,
    spec: &'a Map<String, Value>,
    namespace: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl<'a> SpecCheck<'a> {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    /// The field's value, or None when it is absent or empty (reported when `required`).
    fn get(&mut self, field: &str, required: bool) -> Option<&'a Value> {
        let v = self.spec.get(field).filter(|v| !v.is_null());
        if v.is_none() && required {
            let (kind, example) = (self.kind, example(self.kind, field));
            let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U']) { "An" } else { "A" };
            self.push(format!("spec.{field}"), format!("{article} {kind} needs `spec.{field}`{example}."));
        }
        v
    }

    /// Non-empty text at `path`.
    fn text_at(&mut self, path: String, v: &'a Value) -> Option<&'a str> {
        match v {
            Value::String(s) if s.trim().is_empty() => {
                self.push(path, "must not be empty.");
                None
            }
            Value::String(s) => Some(s),
            other => {
                self.push(path, must_be_text(other));
                None
            }
        }
    }

    fn text(&mut self, field: &str, required: bool) -> Option<&'a str> {
        let v = self.get(field, required)?;
        self.text_at(format!("spec.{field}"), v)
    }

    /// A list whose items are each checked by `item`.
    fn list(&mut self, field: &str, required: bool, mut item: impl FnMut(&mut Self, String, &'a Value)) {
        let Some(v) = self.get(field, required) else { return };
        let Value::Array(items) = v else {
            self.push(format!("spec.{field}"), format!("must be a list, not {}.", describe(v)));
            return;
        };
        for (i, it) in items.iter().enumerate() {
            item(self, format!("spec.{field}[{i}]"), it);
        }
    }

    fn mapping(&mut self, field: &str) -> Option<&'a Map<String, Value>> {
        match self.get(field, false)? {
            Value::Object(m) => Some(m),
            other => {
                self.push(
                    format!("spec.{field}"),
                    format!("must be a mapping (`key: value` lines), not {}.", describe(other)),
                );
                None
            }
        }
    }

    /// A reference written at `path`, resolved as the relation would resolve it, and its parts
    /// checked against the rules for kinds, namespaces and names: a reference that breaks them
    /// could never point at an entity.
    fn reference_at(&mut self, path: String, v: &'a Value, rf: &RefField) {
        let Some(text) = self.text_at(path.clone(), v) else { return };
        match EntityRef::parse(text, rf.default_kind, self.namespace) {
            Err(e) => self.push(path, e.to_string()),
            Ok(r) => {
                // References compare without regard to case, so `Default/x` names namespace `default`.
                if !is_valid_kind(&r.kind) {
                    self.push(&path, format!("`{text}` names the kind `{}`, which is not a valid kind.", r.kind));
                }
                if !is_valid_namespace(&r.namespace.to_ascii_lowercase()) {
                    self.push(
                        &path,
                        format!("`{text}` names the namespace `{}`, which is not a valid namespace.", r.namespace),
                    );
                }
                if let Some(why) = name_problem(&r.name) {
                    self.push(&path, format!("`{text}` refers to the name `{}`, which is not valid: {why}.", r.name));
                }
            }
        }
    }

    fn references(&mut self, rf: &RefField) {
        if rf.many {
            self.list(rf.field, rf.required, |s, path, v| s.reference_at(path, v, rf));
        } else if let Some(v) = self.get(rf.field, rf.required) {
            self.reference_at(format!("spec.{}", rf.field), v, rf);
        }
    }

    fn text_list(&mut self, field: &str, required: bool) {
        self.list(field, required, |s, path, v| {
            s.text_at(path, v);
        });
    }

    /// `profile` of Groups and Users: display name, email and picture, all text.
    fn profile(&mut self) {
        if let Some(profile) = self.mapping("profile") {
            for key in ["displayName", "email", "picture"] {
                if let Some(v) = profile.get(key).filter(|v| !v.is_null()) {
                    self.text_at(format!("spec.profile.{key}"), v);
                }
            }
        }
    }

    /// An API's definition: inline text, or a `$text` placeholder that reads it from a file.
    fn definition(&mut self) {
        let Some(v) = self.get("definition", true) else { return };
        match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("$text") => {
                self.text_at("spec.definition.$text".into(), &m["$text"]);
            }
            Value::Object(_) => self
                .push("spec.definition", "must be the definition as text, or `$text: <path>` to read it from a file."),
            other => {
                self.text_at("spec.definition".into(), other);
            }
        }
    }

    /// A Template's steps: each a mapping with an `action`.
    fn steps(&mut self) {
        self.list("steps", true, |s, path, v| match v {
            Value::Object(step) => match step.get("action").filter(|a| !a.is_null()) {
                Some(a) => {
                    s.text_at(format!("{path}.action"), a);
                }
                None => s.push(
                    format!("{path}.action"),
                    "Each step needs an `action`, such as `fetch:template` or `publish:github`.",
                ),
            },
            other => s.push(path, format!("must be a mapping with an `action`, not {}.", describe(other))),
        });
    }

    /// A Template's parameters: one JSON Schema (a mapping), or a list of them, one per form page.
    fn parameters(&mut self) {
        match self.get("parameters", false) {
            None | Some(Value::Object(_)) => {}
            Some(Value::Array(pages)) => {
                for (i, page) in pages.iter().enumerate().filter(|(_, p)| !p.is_object()) {
                    self.push(
                        format!("spec.parameters[{i}]"),
                        format!("must be a mapping (a JSON Schema for one form page), not {}.", describe(page)),
                    );
                }
            }
            Some(other) => self.push(
                "spec.parameters",
                format!(
                    "must be a mapping (a JSON Schema) or a list of them, one per form page, not {}.",
                    describe(other)
                ),
            ),
        }
    }

    fn tier(&mut self) {
        if let Some(tier) = self.text("tier", true)
            && Tier::parse(tier).is_none()
        {
            self.push("spec.tier", format!("`{tier}` is not a tier: write `development`, `staging` or `production`."));
        }
    }

    fn check(&mut self) {
        match self.kind {
            "Component" | "API" => {
                self.text("type", true);
                self.text("lifecycle", true);
                if self.kind == "API" {
                    self.definition();
                }
            }
            "Group" => {
                self.text("type", true);
                self.profile();
            }
            "User" => self.profile(),
            "Resource" => {
                self.text("type", true);
            }
            "Location" => {
                self.text("type", false);
                self.text("target", false);
                self.text_list("targets", false);
            }
            "Template" => {
                self.text("type", true);
                self.steps();
                self.parameters();
                self.mapping("output");
            }
            "Environment" => {
                self.text("lifecycle", true);
                self.tier();
            }
            _ => {}
        }
        for rf in ref_fields(self.kind) {
            self.references(rf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(doc: Value) -> Entity {
        Entity::from_json(doc).expect("the test document has the right shape")
    }

    fn problems(doc: Value) -> Vec<Problem> {
        validate(&entity(doc))
    }

    fn paths(doc: Value) -> Vec<String> {
        problems(doc).into_iter().map(|p| p.path).collect()
    }

    fn with_name(name: &str) -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": name}})
    }

    fn with_metadata(extra: Value) -> Value {
        let mut meta = json!({"name": "thing"});
        meta.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": meta})
    }

    /// One realistic, valid descriptor of every known kind.
    fn examples() -> Vec<Value> {
        let v1 = BACKSTAGE_V1ALPHA1;
        vec![
            json!({"apiVersion": v1, "kind": "Component",
                "metadata": {"name": "payments-api", "title": "Payments API", "description": "Takes payments.",
                    "labels": {"example.com/cost-center": "cc-42", "tier": ""},
                    "annotations": {"backstage.io/techdocs-ref": "dir:.", "github.com/project-slug": "acme/payments"},
                    "tags": ["java", "c++", "payments"],
                    "links": [{"url": "https://grafana.example.com/d/payments", "title": "Dashboard", "icon": "dashboard"}]},
                "spec": {"type": "service", "lifecycle": "production", "owner": "team-payments", "system": "checkout",
                    "subcomponentOf": "payments", "providesApis": ["payments-api"], "consumesApis": ["api:billing/invoices"],
                    "dependsOn": ["resource:payments-db"]}}),
            json!({"apiVersion": BACKSTAGE_V1BETA1, "kind": "Component", "metadata": {"name": "web"},
                "spec": {"type": "website", "lifecycle": "experimental", "owner": "user:jdoe"}}),
            json!({"apiVersion": v1, "kind": "API", "metadata": {"name": "payments-api"},
                "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-payments", "system": "checkout",
                    "definition": "openapi: 3.0.0\ninfo:\n  title: Payments\n"}}),
            json!({"apiVersion": v1, "kind": "API", "metadata": {"name": "events"},
                "spec": {"type": "asyncapi", "lifecycle": "production", "owner": "team-payments", "definition": {"$text": "./asyncapi.yaml"}}}),
            json!({"apiVersion": v1, "kind": "Resource", "metadata": {"name": "payments-db"},
                "spec": {"type": "database", "owner": "team-payments", "system": "checkout",
                    "dependsOn": ["resource:default/storage"], "dependencyOf": ["component:payments-api"]}}),
            json!({"apiVersion": v1, "kind": "System", "metadata": {"name": "checkout"}, "spec": {"owner": "team-payments", "domain": "commerce"}}),
            json!({"apiVersion": BACKSTAGE_V1BETA1, "kind": "Domain", "metadata": {"name": "commerce"}, "spec": {"owner": "group:leadership", "subdomainOf": "company"}}),
            json!({"apiVersion": v1, "kind": "Group", "metadata": {"name": "team-payments", "namespace": "default"},
                "spec": {"type": "team", "profile": {"displayName": "Payments", "email": "payments@example.com"},
                    "parent": "engineering", "children": [], "members": ["jdoe"]}}),
            json!({"apiVersion": v1, "kind": "User", "metadata": {"name": "jdoe"},
                "spec": {"profile": {"displayName": "Jane Doe", "picture": "https://example.com/jane.png"}, "memberOf": ["team-payments"]}}),
            json!({"apiVersion": v1, "kind": "Location", "metadata": {"name": "payments-repo"},
                "spec": {"type": "url", "targets": ["./services/*/catalog-info.yaml", "./apis.yaml"]}}),
            json!({"apiVersion": SCAFFOLDER_V1BETA3, "kind": "Template", "metadata": {"name": "rust-service", "title": "Rust service"},
                "spec": {"owner": "team-platform", "type": "service",
                    "parameters": [{"title": "Name", "required": ["name"], "properties": {"name": {"type": "string"}}}],
                    "steps": [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}}],
                    "output": {"links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"}]}}}),
            json!({"apiVersion": ENVIRONMENT_API_VERSION, "kind": "Environment", "metadata": {"name": "staging-eu"},
                "spec": {"lifecycle": "production", "tier": "staging", "owner": "team-platform"}}),
        ]
    }

    #[test]
    fn a_valid_example_of_every_known_kind_has_no_problems() {
        let examples = examples();
        for kind in KNOWN_KINDS.iter().map(|(k, _)| *k) {
            assert!(examples.iter().any(|e| e["kind"] == kind), "no example of {kind}");
        }
        for doc in examples {
            assert_eq!(problems(doc.clone()), vec![], "{doc}");
        }
    }

    #[test]
    fn an_unknown_kind_is_accepted_with_any_spec_but_its_metadata_is_checked() {
        let doc = json!({"apiVersion": "example.com/v2", "kind": "Pipeline", "metadata": {"name": "nightly"}, "spec": {"owner": 42}});
        assert_eq!(problems(doc), vec![]);
        let bad = json!({"apiVersion": "example.com/v2", "kind": "Pipeline", "metadata": {"name": "-nightly", "tags": ["Nightly"]}});
        assert_eq!(paths(bad), ["metadata.name", "metadata.tags[0]"]);
    }

    #[test]
    fn names_follow_the_backstage_rule() {
        for good in ["a", "payments-api", "Payments_API.v2", "9lives", "x".repeat(63).as_str()] {
            assert!(is_valid_name(good), "{good} should be valid");
            assert_eq!(problems(with_name(good)), vec![], "{good}");
        }
        for bad in [
            "",
            "x".repeat(64).as_str(),
            "-payments",
            "payments-",
            ".hidden",
            "pay ments",
            "pay/ments",
            "zahlungsübersicht",
            "a:b",
        ] {
            assert!(!is_valid_name(bad), "{bad} should be invalid");
            assert_eq!(paths(with_name(bad)), ["metadata.name"], "{bad}");
        }
    }

    #[test]
    fn a_name_problem_says_what_is_wrong() {
        assert!(problems(with_name("x".repeat(64).as_str()))[0].message.contains("64 characters"));
        assert!(problems(with_name("-payments"))[0].message.contains("start with a letter or a digit"));
        assert!(problems(with_name("payments-"))[0].message.contains("end with a letter or a digit"));
        assert!(problems(with_name("pay ments"))[0].message.contains("` ` is not allowed"));
        assert!(problems(with_name(""))[0].message.contains("A name is required"));
    }

    #[test]
    fn namespaces_are_lowercase_dns_labels() {
        for good in ["default", "payments-eu", "a1", "n".repeat(63).as_str()] {
            assert_eq!(problems(with_metadata(json!({"namespace": good}))), vec![], "{good}");
        }
        for bad in ["Payments", "-eu", "eu-", "a--b", "a_b", "a.b", "", "n".repeat(64).as_str()] {
            assert_eq!(paths(with_metadata(json!({"namespace": bad}))), ["metadata.namespace"], "{bad}");
        }
    }

    #[test]
    fn label_keys_take_an_optional_lowercase_domain_prefix() {
        for good in ["team", "cost_center", "example.com/cost-center", "backstage.io/source", "a.b.c/X.y"] {
            assert!(is_valid_key(good), "{good} should be valid");
            assert_eq!(problems(with_metadata(json!({"labels": {good: "v"}}))), vec![], "{good}");
        }
        // Four labels of 63 and three dots: 255 characters, over the 253 of a DNS subdomain.
        let long_prefix = format!("{}/x", ["a".repeat(63).as_str(); 4].join("."));
        assert!(is_valid_key(&format!("{}/x", ["a".repeat(63).as_str(); 3].join("."))));
        for bad in [
            "Example.com/x",
            "a/b/c",
            "/x",
            "example.com/",
            "-x",
            "bad key",
            "exa_mple.com/x",
            "k".repeat(64).as_str(),
            long_prefix.as_str(),
        ] {
            assert!(!is_valid_key(bad), "{bad} should be invalid");
            let ps = problems(with_metadata(json!({"labels": {bad: "v"}})));
            assert_eq!(ps.len(), 1, "{bad}: {ps:?}");
            assert!(ps[0].message.contains("label key"), "{bad}");
        }
    }

    #[test]
    fn label_values_are_empty_or_like_names_and_the_path_names_the_label() {
        assert_eq!(problems(with_metadata(json!({"labels": {"tier": "", "version": "v1.2"}}))), vec![]);
        let ps = problems(with_metadata(json!({"labels": {"tier": "-gold", "example.com/owner": "two words"}})));
        let got: Vec<&str> = ps.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(got, ["metadata.labels[\"example.com/owner\"]", "metadata.labels.tier"]);
        assert!(ps.iter().all(|p| p.message.contains("label value")));
    }

    #[test]
    fn annotation_keys_follow_the_key_rule_and_values_are_free_text() {
        let ok = json!({"annotations": {"backstage.io/techdocs-ref": "dir:.", "example.com/note": "Any text: even spaces & symbols ✓"}});
        assert_eq!(problems(with_metadata(ok)), vec![]);
        let ps = problems(with_metadata(json!({"annotations": {"Backstage.io/techdocs-ref": "dir:."}})));
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].path, "metadata.annotations[\"Backstage.io/techdocs-ref\"]");
        assert!(ps[0].message.contains("annotation key"));
    }

    #[test]
    fn tags_are_lowercase_words_joined_by_dashes() {
        for good in ["java", "c++", "c#", "team-payments", "k8s", "t".repeat(63).as_str()] {
            assert!(is_valid_tag(good), "{good} should be valid");
        }
        for bad in ["Java", "two words", "-x", "x-", "a--b", "", "snake_case", "t".repeat(64).as_str()] {
            assert!(!is_valid_tag(bad), "{bad} should be invalid");
        }
        assert_eq!(paths(with_metadata(json!({"tags": ["ok", "Not-Ok", "fine"]}))), ["metadata.tags[1]"]);
    }

    #[test]
    fn links_need_a_url_that_does_not_run_script() {
        let links = json!({"links": [
            {"url": "https://example.com"},
            {"title": "no url"},
            {"url": "javascript:alert(1)"},
            {"url": " JaVa\tScript:alert(1)"},
            {"url": "mailto:team@example.com"},
        ]});
        assert_eq!(
            paths(with_metadata(links)),
            ["metadata.links[1].url", "metadata.links[2].url", "metadata.links[3].url"]
        );
    }

    #[test]
    fn api_version_and_kind_must_be_well_formed_and_present() {
        let doc = |api: &str, kind: &str| json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x"}});
        assert_eq!(problems(doc("example.com/v1", "Thing")), vec![]);
        assert_eq!(problems(doc("v1", "Thing")), vec![]);
        for bad in ["backstage.io/v1/alpha", "Backstage.io/v1", "example.com/v1-alpha", "/v1", "example.com/"] {
            assert_eq!(paths(doc(bad, "Thing")), ["apiVersion"], "{bad}");
        }
        for bad in ["1Thing", "Some-Kind", "Thing_2", "K".repeat(64).as_str()] {
            assert_eq!(paths(doc("example.com/v1", bad)), ["kind"], "{bad}");
        }
        let empty = json!({"metadata": {}});
        assert_eq!(paths(empty), ["apiVersion", "kind", "metadata.name"]);
    }

    #[test]
    fn each_known_kind_accepts_only_its_own_api_versions() {
        for mut doc in examples() {
            let kind = doc["kind"].as_str().unwrap().to_string();
            doc["apiVersion"] = json!("example.com/v1");
            let ps = problems(doc);
            assert_eq!(ps.len(), 1, "{kind}: {ps:?}");
            assert_eq!(ps[0].path, "apiVersion");
            assert!(ps[0].message.starts_with(&format!("{kind} entities use apiVersion")), "{}", ps[0].message);
        }
        let api_beta = json!({"apiVersion": BACKSTAGE_V1BETA1, "kind": "API", "metadata": {"name": "x"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team", "definition": "openapi: 3.0.0"}});
        assert_eq!(paths(api_beta), ["apiVersion"]);
    }

    #[test]
    fn a_known_kind_written_in_the_wrong_case_is_reported_not_treated_as_unknown() {
        let doc =
            json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "component", "metadata": {"name": "web"}, "spec": {}});
        let ps = problems(doc);
        assert_eq!(ps[0], Problem::new("kind", "Kinds are case-sensitive: write `Component`, not `component`."));
        // The spec is still checked as a Component's.
        assert!(ps.iter().any(|p| p.path == "spec.owner"));
    }

    #[test]
    fn missing_required_spec_fields_are_all_reported_with_their_paths() {
        let expected: &[(&str, &[&str])] = &[
            ("Component", &["spec.type", "spec.lifecycle", "spec.owner"]),
            ("API", &["spec.type", "spec.lifecycle", "spec.definition", "spec.owner"]),
            ("Resource", &["spec.type", "spec.owner"]),
            ("System", &["spec.owner"]),
            ("Domain", &["spec.owner"]),
            ("Group", &["spec.type", "spec.children"]),
            ("User", &["spec.memberOf"]),
            ("Location", &[]),
            ("Template", &["spec.type", "spec.steps"]),
            ("Environment", &["spec.lifecycle", "spec.tier"]),
        ];
        for (kind, want) in expected {
            let (_, versions) = known_kind(kind).unwrap();
            let doc = json!({"apiVersion": versions[0], "kind": kind, "metadata": {"name": "x"}});
            assert_eq!(paths(doc), *want, "{kind}");
        }
    }

    #[test]
    fn a_missing_field_message_says_what_to_write() {
        let doc = json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "API", "metadata": {"name": "x"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team"}});
        let ps = problems(doc);
        assert_eq!(ps.len(), 1);
        assert!(ps[0].message.starts_with("An API needs `spec.definition`"), "{}", ps[0].message);
        assert!(ps[0].message.contains("$text"));
        let resource = json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Resource", "metadata": {"name": "x"}, "spec": {"owner": "team"}});
        assert_eq!(problems(resource)[0].message, "A Resource needs `spec.type` such as `database` or `s3-bucket`.");
    }

    #[test]
    fn empty_or_mistyped_spec_fields_are_reported() {
        let doc = json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Component", "metadata": {"name": "x"},
            "spec": {"type": "", "lifecycle": 3, "owner": "team", "providesApis": "payments-api", "consumesApis": ["ok", 7]}});
        assert_eq!(paths(doc), ["spec.type", "spec.lifecycle", "spec.providesApis", "spec.consumesApis[1]"]);
    }

    fn component_spec(spec: Value) -> Value {
        let mut full = json!({"type": "service", "lifecycle": "production", "owner": "team-a"});
        full.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
        json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Component", "metadata": {"name": "x", "namespace": "payments"}, "spec": full})
    }

    #[test]
    fn references_with_and_without_kind_and_namespace_are_accepted() {
        let spec = json!({"owner": "Group:Payments/Team-A", "system": "platform/checkout",
            "providesApis": ["payments-api", "api:payments-api", "API:default/payments-api"]});
        assert_eq!(problems(component_spec(spec)), vec![]);
    }

    #[test]
    fn malformed_references_are_reported_at_their_index() {
        let spec = json!({"providesApis": ["good", "api:", "api:Bad Namespace/x", "api:ns/-x", "9kind:x"]});
        let ps = problems(component_spec(spec));
        let got: Vec<&str> = ps.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            got,
            ["spec.providesApis[1]", "spec.providesApis[2]", "spec.providesApis[3]", "spec.providesApis[4]"]
        );
        assert!(ps[0].message.contains("[kind:][namespace/]name"));
        assert!(ps[1].message.contains("namespace"));
        assert!(ps[2].message.contains("start with a letter or a digit"));
        assert!(ps[3].message.contains("not a valid kind"));
    }

    #[test]
    fn depends_on_needs_an_explicit_kind() {
        let ps = problems(component_spec(json!({"dependsOn": ["resource:payments-db", "payments-cache"]})));
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].path, "spec.dependsOn[1]");
        assert!(ps[0].message.contains("resource:payments-cache"), "{}", ps[0].message);
        let resource = json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Resource", "metadata": {"name": "db"},
            "spec": {"type": "database", "owner": "team", "dependsOn": ["storage"], "dependencyOf": ["web"]}});
        assert_eq!(paths(resource), ["spec.dependsOn[0]", "spec.dependencyOf[0]"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let doc = json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Component",
            "metadata": {"name": "-web", "namespace": "Web", "tags": ["Web"], "labels": {"a/b/c": "x"}},
            "spec": {"type": "service", "lifecycle": "production"}});
        assert_eq!(
            paths(doc),
            ["metadata.name", "metadata.namespace", "metadata.labels[\"a/b/c\"]", "metadata.tags[0]", "spec.owner"]
        );
    }

    #[test]
    fn an_api_definition_is_text_or_a_text_placeholder() {
        let api = |definition: Value| {
            json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "API", "metadata": {"name": "x"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team", "definition": definition}})
        };
        assert_eq!(paths(api(json!({"$json": "./x.json"}))), ["spec.definition"]);
        assert_eq!(paths(api(json!({"$text": 5}))), ["spec.definition.$text"]);
        assert_eq!(paths(api(json!(""))), ["spec.definition"]);
        assert_eq!(paths(api(json!("openapi: 3.1.0"))), Vec::<String>::new());
    }

    #[test]
    fn template_steps_need_actions_and_parameters_are_schemas() {
        let doc = json!({"apiVersion": SCAFFOLDER_V1BETA3, "kind": "Template", "metadata": {"name": "t"},
            "spec": {"type": "service", "steps": [{"id": "fetch"}, "publish", {"action": "publish:github"}],
                "parameters": [{"title": "ok"}, "page two"], "output": ["not", "a", "mapping"]}});
        assert_eq!(paths(doc), ["spec.steps[0].action", "spec.steps[1]", "spec.parameters[1]", "spec.output"]);
    }

    #[test]
    fn an_environment_tier_is_one_of_the_three_tiers() {
        let env = |tier: &str| {
            json!({"apiVersion": ENVIRONMENT_API_VERSION, "kind": "Environment", "metadata": {"name": "e"},
            "spec": {"lifecycle": "production", "tier": tier}})
        };
        for good in ["development", "staging", "production"] {
            assert_eq!(problems(env(good)), vec![], "{good}");
        }
        let ps = problems(env("prod"));
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].path, "spec.tier");
        assert!(ps[0].message.contains("`development`, `staging` or `production`"));
    }

    #[test]
    fn group_children_and_user_memberships_may_be_empty_lists_but_must_be_lists() {
        let group = |children: Value| {
            json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Group", "metadata": {"name": "g"},
            "spec": {"type": "team", "children": children}})
        };
        assert_eq!(problems(group(json!([]))), vec![]);
        assert_eq!(paths(group(json!("team-b"))), ["spec.children"]);
    }

    #[test]
    fn the_shape_check_names_the_mistyped_field() {
        assert_eq!(shape_problems(&json!(["a", "list"]))[0].path, "");
        assert!(shape_problems(&json!("text"))[0].message.contains("this document is text"));
        let doc = json!({"apiVersion": 1, "kind": "Component", "metadata": {"name": "x", "labels": {"tier": 1, "empty": null},
            "annotations": {"a": ["x"]}, "links": ["https://example.com", {"url": 5}]}, "spec": []});
        let ps = shape_problems(&doc);
        let got: Vec<&str> = ps.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            got,
            [
                "apiVersion",
                "spec",
                "metadata.labels.empty",
                "metadata.labels.tier",
                "metadata.annotations.a",
                "metadata.links[0]",
                "metadata.links[1].url"
            ]
        );
        assert!(ps[3].message.contains("put it in quotes, as in \"1\""), "{}", ps[3].message);
    }

    #[test]
    fn problems_group_by_field_for_forms() {
        let doc = json!({"apiVersion": BACKSTAGE_V1ALPHA1, "kind": "Component", "metadata": {"name": "x", "labels": {"Bad/Key": "-v"}}, "spec": {"type": "s", "lifecycle": "l", "owner": "o"}});
        let map = field_errors(&problems(doc));
        assert_eq!(map.len(), 1);
        assert_eq!(map["metadata.labels[\"Bad/Key\"]"].len(), 2);
    }
}
