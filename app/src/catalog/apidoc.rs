//! API definitions made readable: the `spec.definition` of an API entity (OpenAPI 3, Swagger 2,
//! AsyncAPI 2 and 3, GraphQL SDL) summarised as its operations, for the entity page.
//!
//! The summary is made on the server, where `yaml_serde` already is, so the browser bundle does
//! not grow and receives only the small [`ApiView`]. It is best-effort and never fails: a
//! definition that cannot be read gives a view whose `problem` says why, and the page still
//! shows the source text below it. Only the parts a reader scans for are kept (title, version,
//! servers, operations); schemas and messages stay in the source.

use serde::{Deserialize, Serialize};

/// The most operations a view lists; a larger definition is cut, and `problem` says so.
pub const MAX_OPERATIONS: usize = 500;

/// What an API offers, read from its definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiView {
    /// `openapi` (Swagger 2 included), `asyncapi`, `graphql` or `other`.
    pub kind: String,
    pub title: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Where it is served: base URLs (OpenAPI), brokers (AsyncAPI).
    pub servers: Vec<String>,
    /// Sorted by path (OpenAPI) or channel (AsyncAPI), in the schema's order (GraphQL); at most
    /// [`MAX_OPERATIONS`].
    pub operations: Vec<ApiOperation>,
    /// Why the view is empty or partial, in words for the reader; `None` when all is shown.
    pub problem: Option<String>,
}

/// One operation: an HTTP method on a path, a message on a channel, or a root field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiOperation {
    /// `GET`, `POST`, … (OpenAPI); `PUBLISH`, `SUBSCRIBE`, `SEND`, `RECEIVE` (AsyncAPI);
    /// `query`, `mutation`, `subscription` (GraphQL).
    pub method: String,
    /// The path (OpenAPI), the channel (AsyncAPI) or the field with its arguments (GraphQL).
    pub path: String,
    pub summary: Option<String>,
    pub tags: Vec<String>,
}

impl ApiView {
    /// The format's name as people write it.
    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "openapi" => "OpenAPI",
            "asyncapi" => "AsyncAPI",
            "graphql" => "GraphQL",
            _ => "Definition",
        }
    }
}

/// Summarises `definition`, an API entity's `spec.definition`; `spec_type` is its `spec.type`.
///
/// The document says what it is (`openapi:`, `swagger:`, `asyncapi:` at the top), and that wins
/// over `spec_type`, which people get wrong; `spec_type` decides only for GraphQL (SDL is not
/// YAML) and for documents that do not say.
#[cfg(feature = "ssr")]
pub fn api_view(spec_type: Option<&str>, definition: &str) -> ApiView {
    read::api_view(spec_type, definition)
}

#[cfg(feature = "ssr")]
mod read {
    use super::{ApiOperation, ApiView, MAX_OPERATIONS};
    use serde_json::{Map, Value};
    use std::collections::HashMap;

    /// Definitions larger than this are not parsed (the page would not be read anyway, and a
    /// page view should not cost a large parse); the source is still shown.
    pub const MAX_DEFINITION_BYTES: usize = 1 << 20;
    /// Cuts for single texts, so one pasted essay does not become the page.
    const MAX_TEXT: usize = 300;
    const MAX_DESCRIPTION: usize = 1000;
    const MAX_SERVERS: usize = 20;
    /// The HTTP methods of an OpenAPI path item, in the order they are listed for one path.
    const METHODS: [&str; 8] = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

    fn empty(kind: &str) -> ApiView {
        ApiView {
            kind: kind.to_string(),
            title: None,
            version: None,
            description: None,
            servers: Vec::new(),
            operations: Vec::new(),
            problem: None,
        }
    }

    fn with_problem(kind: &str, problem: String) -> ApiView {
        ApiView { problem: Some(problem), ..empty(kind) }
    }

    pub fn api_view(spec_type: Option<&str>, definition: &str) -> ApiView {
        let declared = spec_type.map(|t| t.trim().to_ascii_lowercase()).unwrap_or_default();
        let guess = match declared.as_str() {
            "openapi" | "asyncapi" | "graphql" => declared.as_str(),
            _ => "other",
        };
        if definition.len() > MAX_DEFINITION_BYTES {
            return with_problem(
                guess,
                format!(
                    "The definition is {} KiB, more than the {} KiB summarised here; read the source below.",
                    definition.len() / 1024,
                    MAX_DEFINITION_BYTES / 1024
                ),
            );
        }
        if declared == "graphql" {
            return graphql(definition);
        }
        // YAML is a superset of JSON, so one parser reads both spellings of OpenAPI and AsyncAPI.
        let doc = match yaml_serde::from_str::<Value>(definition) {
            Ok(doc) => doc,
            Err(_) if looks_like_graphql(definition) => return graphql(definition),
            Err(e) if guess != "other" => {
                return with_problem(guess, format!("The definition could not be read as YAML or JSON: {}", cut(&e.to_string(), MAX_TEXT)));
            }
            Err(_) => return other(&declared),
        };
        let Some(map) = doc.as_object() else {
            if looks_like_graphql(definition) {
                return graphql(definition);
            }
            return match guess {
                "other" => other(&declared),
                _ => with_problem(guess, format!("The definition is {}, not an {} document.", describe(&doc), label(guess))),
            };
        };
        if map.contains_key("openapi") || map.contains_key("swagger") {
            openapi(map)
        } else if map.contains_key("asyncapi") {
            asyncapi(map)
        } else if guess == "openapi" && map.contains_key("paths") {
            // An OpenAPI document without its version line still has its paths.
            openapi(map)
        } else if guess != "other" {
            with_problem(guess, format!("The definition has no `{guess}` field at its top, so it is not read as {}.", label(guess)))
        } else {
            other(&declared)
        }
    }

    /// A definition type this summary does not read (gRPC, trpc, …): shown as source only.
    fn other(declared: &str) -> ApiView {
        let problem = if declared.is_empty() {
            "This definition is not OpenAPI, AsyncAPI or GraphQL; read the source below.".to_string()
        } else {
            format!("Definitions of type “{}” are shown as source only.", cut(declared, 40))
        };
        with_problem("other", problem)
    }

    fn label(kind: &str) -> &'static str {
        match kind {
            "openapi" => "OpenAPI",
            "asyncapi" => "AsyncAPI",
            _ => "API",
        }
    }

    fn describe(v: &Value) -> &'static str {
        match v {
            Value::Null => "empty",
            Value::Array(_) => "a list",
            Value::String(_) => "plain text",
            _ => "a single value",
        }
    }

    /// SDL has type definitions where YAML has keys; used when `spec.type` does not say GraphQL.
    fn looks_like_graphql(text: &str) -> bool {
        text.lines().map(str::trim_start).any(|l| {
            ["type Query", "type Mutation", "type Subscription", "schema {", "extend type Query"]
                .iter()
                .any(|p| l.starts_with(p))
        })
    }

    /// At most `max` characters, with an ellipsis when cut (on a character boundary).
    fn cut(s: &str, max: usize) -> String {
        let s = s.trim();
        match s.char_indices().nth(max) {
            Some((i, _)) => format!("{}…", s[..i].trim_end()),
            None => s.to_string(),
        }
    }

    /// A short text field: strings, and numbers (`version: 1.0` is a number in YAML).
    fn text(v: Option<&Value>, max: usize) -> Option<String> {
        let s = match v? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        let s = cut(&s, max);
        (!s.is_empty()).then_some(s)
    }

    /// The first line of a longer text, for an operation that has only a description.
    fn first_line(v: Option<&Value>) -> Option<String> {
        let s = v?.as_str()?.lines().map(str::trim).find(|l| !l.is_empty())?;
        Some(cut(s, MAX_TEXT))
    }

    /// Tags as OpenAPI writes them (strings) or as AsyncAPI does (objects with a `name`).
    fn tags(v: Option<&Value>) -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| text(Some(t), 60).or_else(|| text(t.get("name"), 60)))
                    .take(10)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `info.title`, `info.version`, `info.description`: the same in OpenAPI and AsyncAPI.
    fn info(doc: &Map<String, Value>, view: &mut ApiView) {
        let info = doc.get("info");
        view.title = text(info.and_then(|i| i.get("title")), MAX_TEXT);
        view.version = text(info.and_then(|i| i.get("version")), 60);
        view.description = text(info.and_then(|i| i.get("description")), MAX_DESCRIPTION);
    }

    /// Keeps at most [`MAX_OPERATIONS`], saying how many there were when that cuts.
    fn cap(view: &mut ApiView) {
        let total = view.operations.len();
        if total > MAX_OPERATIONS {
            view.operations.truncate(MAX_OPERATIONS);
            view.problem = Some(format!("The definition has {total} operations; the first {MAX_OPERATIONS} are listed."));
        }
    }

    fn openapi(doc: &Map<String, Value>) -> ApiView {
        let mut view = empty("openapi");
        info(doc, &mut view);
        if let Some(servers) = doc.get("servers").and_then(Value::as_array) {
            view.servers = servers.iter().filter_map(|s| text(s.get("url"), MAX_TEXT)).take(MAX_SERVERS).collect();
        } else if let Some(host) = text(doc.get("host"), MAX_TEXT) {
            // Swagger 2: one host, a base path and the schemes it answers on (https by default).
            let scheme = doc.get("schemes").and_then(|s| text(s.get(0), 20)).unwrap_or_else(|| "https".into());
            let base = text(doc.get("basePath"), MAX_TEXT).unwrap_or_default();
            view.servers.push(format!("{scheme}://{host}{base}"));
        }
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            view.problem = Some("The definition has no `paths`, so there are no operations to list.".into());
            return view;
        };
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                view.operations.push(ApiOperation {
                    method: method.to_ascii_uppercase(),
                    path: cut(path, MAX_TEXT),
                    summary: text(op.get("summary"), MAX_TEXT)
                        .or_else(|| text(op.get("operationId"), MAX_TEXT))
                        .or_else(|| first_line(op.get("description"))),
                    tags: tags(op.get("tags")),
                });
            }
        }
        // Stable: the methods of one path keep their conventional order.
        view.operations.sort_by(|a, b| a.path.cmp(&b.path));
        cap(&mut view);
        view
    }

    fn asyncapi(doc: &Map<String, Value>) -> ApiView {
        let mut view = empty("asyncapi");
        info(doc, &mut view);
        // Servers are a map from a name to a broker: `url` in 2.x, `host` (and `pathname`) in 3.
        if let Some(servers) = doc.get("servers").and_then(Value::as_object) {
            view.servers = servers
                .iter()
                .filter_map(|(name, s)| {
                    let address = text(s.get("url"), MAX_TEXT).or_else(|| {
                        let host = text(s.get("host"), MAX_TEXT)?;
                        Some(format!("{host}{}", text(s.get("pathname"), MAX_TEXT).unwrap_or_default()))
                    })?;
                    let protocol = text(s.get("protocol"), 30).map(|p| format!(" ({p})")).unwrap_or_default();
                    Some(format!("{}: {address}{protocol}", cut(name, 60)))
                })
                .take(MAX_SERVERS)
                .collect();
        }
        let channels = doc.get("channels").and_then(Value::as_object);
        if let Some(operations) = doc.get("operations").and_then(Value::as_object) {
            // AsyncAPI 3: operations are their own section, each pointing at a channel by `$ref`.
            for (id, op) in operations {
                let method = match op.get("action").and_then(Value::as_str) {
                    Some("send") => "SEND",
                    Some("receive") => "RECEIVE",
                    _ => continue,
                };
                let channel = op
                    .get("channel")
                    .and_then(|c| c.get("$ref"))
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/channels/"))
                    .map(|name| name.replace("~1", "/").replace("~0", "~"));
                let address = channel
                    .as_deref()
                    .and_then(|name| text(channels.and_then(|c| c.get(name)).and_then(|c| c.get("address")), MAX_TEXT))
                    .or(channel)
                    .unwrap_or_default();
                view.operations.push(ApiOperation {
                    method: method.into(),
                    path: cut(&address, MAX_TEXT),
                    summary: text(op.get("summary"), MAX_TEXT)
                        .or_else(|| text(op.get("title"), MAX_TEXT))
                        .or_else(|| Some(cut(id, MAX_TEXT))),
                    tags: tags(op.get("tags")),
                });
            }
        } else if let Some(channels) = channels {
            // AsyncAPI 2: each channel may be published to and subscribed from.
            for (name, item) in channels {
                for (action, method) in [("publish", "PUBLISH"), ("subscribe", "SUBSCRIBE")] {
                    let Some(op) = item.get(action) else { continue };
                    view.operations.push(ApiOperation {
                        method: method.into(),
                        path: cut(name, MAX_TEXT),
                        summary: text(op.get("summary"), MAX_TEXT)
                            .or_else(|| text(op.get("operationId"), MAX_TEXT))
                            .or_else(|| first_line(op.get("description")))
                            .or_else(|| first_line(item.get("description"))),
                        tags: tags(op.get("tags")),
                    });
                }
            }
        }
        if view.operations.is_empty() {
            view.problem = Some("The definition declares no operations (publish or subscribe, send or receive) to list.".into());
        }
        view.operations.sort_by(|a, b| a.path.cmp(&b.path));
        cap(&mut view);
        view
    }

    /// A piece of SDL: code (without comments), a brace, or a description (`"…"`, `"""…"""`).
    #[derive(Debug, PartialEq)]
    enum Piece {
        Code(String),
        Open,
        Close,
        Description(String),
    }

    /// Cuts SDL into pieces, line by line: comments dropped, descriptions kept apart, and the
    /// text split at braces outside parentheses, so `type Query { a: Int }` on one line reads
    /// like the same definition written over three.
    fn pieces(sdl: &str) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut block: Option<String> = None;
        for raw in sdl.lines() {
            let mut line = raw.trim();
            if let Some(text) = block.as_mut() {
                match line.find("\"\"\"") {
                    Some(end) => {
                        text.push(' ');
                        text.push_str(&line[..end]);
                        out.push(Piece::Description(cut(text, MAX_TEXT)));
                        block = None;
                        line = line[end + 3..].trim();
                    }
                    None => {
                        text.push(' ');
                        text.push_str(line);
                        continue;
                    }
                }
            }
            if let Some(rest) = line.strip_prefix("\"\"\"") {
                match rest.find("\"\"\"") {
                    Some(end) => {
                        out.push(Piece::Description(cut(&rest[..end], MAX_TEXT)));
                        line = rest[end + 3..].trim();
                    }
                    None => {
                        block = Some(rest.to_string());
                        continue;
                    }
                }
            } else if let Some(rest) = line.strip_prefix('"') {
                let end = closing_quote(rest).unwrap_or(rest.len());
                out.push(Piece::Description(cut(&rest[..end], MAX_TEXT)));
                line = rest.get(end + 1..).unwrap_or("").trim();
            }
            split_braces(line, &mut out);
        }
        out
    }

    /// The byte index of the `"` that closes a string whose opening quote was just before `s`.
    fn closing_quote(s: &str) -> Option<usize> {
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => return Some(i),
                _ => escaped = false,
            }
        }
        None
    }

    /// Pushes the code of one line, without its comment, cut at braces outside parentheses and
    /// strings (a default value may hold either).
    fn split_braces(line: &str, out: &mut Vec<Piece>) {
        let (mut start, mut parens, mut in_string, mut escaped) = (0, 0usize, false, false);
        let push_code = |code: &str, out: &mut Vec<Piece>| {
            let code = code.trim();
            if !code.is_empty() {
                out.push(Piece::Code(code.to_string()));
            }
        };
        for (i, c) in line.char_indices() {
            if in_string {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => in_string = false,
                    _ => escaped = false,
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '#' => {
                    push_code(&line[start..i], out);
                    return;
                }
                '(' => parens += 1,
                ')' => parens = parens.saturating_sub(1),
                '{' | '}' if parens == 0 => {
                    push_code(&line[start..i], out);
                    out.push(if c == '{' { Piece::Open } else { Piece::Close });
                    start = i + 1;
                }
                _ => {}
            }
        }
        push_code(&line[start..], out);
    }

    /// The type a definition header names: `type Query`, `extend type Query implements Node`.
    fn type_name(header: &str) -> Option<&str> {
        let mut words = header.split_whitespace();
        let mut word = words.next()?;
        if word == "extend" {
            word = words.next()?;
        }
        (word == "type").then(|| words.next()).flatten()
    }

    /// The root operation types: `Query`, `Mutation`, `Subscription`, unless a `schema { … }`
    /// block names others (then only those).
    fn root_types(pieces: &[Piece]) -> HashMap<String, &'static str> {
        let mut named = HashMap::new();
        let (mut depth, mut header, mut in_schema) = (0usize, String::new(), false);
        for piece in pieces {
            match piece {
                Piece::Open => {
                    in_schema = depth == 0 && header.split_whitespace().any(|w| w == "schema");
                    depth += 1;
                }
                Piece::Close => {
                    depth = depth.saturating_sub(1);
                    in_schema &= depth > 0;
                }
                Piece::Code(code) if depth == 0 => header = code.clone(),
                Piece::Code(code) if in_schema && depth == 1 => {
                    let (operation, name) = code.split_once(':').unwrap_or((code, ""));
                    let kind = match operation.trim() {
                        "query" => "query",
                        "mutation" => "mutation",
                        "subscription" => "subscription",
                        _ => continue,
                    };
                    named.insert(name.trim().to_string(), kind);
                }
                _ => {}
            }
        }
        if named.is_empty() {
            named = [("Query", "query"), ("Mutation", "mutation"), ("Subscription", "subscription")]
                .into_iter()
                .map(|(n, k)| (n.to_string(), k))
                .collect();
        }
        named
    }

    /// Root fields of a GraphQL schema (SDL): each field of a root type, with its arguments as
    /// the "path" and its description (or else its type) as the summary. Line-based, not a full
    /// GraphQL parser: it reads schemas as people and tools write them (one field per line,
    /// arguments on the field's line or one per line).
    fn graphql(sdl: &str) -> ApiView {
        let mut view = empty("graphql");
        let pieces = pieces(sdl);
        let roots = root_types(&pieces);
        let (mut depth, mut header_kind, mut current) = (0usize, None, None);
        let mut description: Option<String> = None;
        // The field being read, and how many of its parentheses are still open.
        let (mut pending, mut open) = (String::new(), 0i64);
        for piece in pieces {
            match piece {
                Piece::Description(d) => {
                    // Descriptions of arguments (inside a field being read) are not kept.
                    if pending.is_empty() {
                        description = Some(d);
                    }
                }
                Piece::Open => {
                    if depth == 0 {
                        current = header_kind.take();
                    }
                    depth += 1;
                }
                Piece::Close => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        current = None;
                        pending.clear();
                        open = 0;
                    }
                }
                Piece::Code(code) if depth == 0 => {
                    header_kind = type_name(&code).and_then(|name| roots.get(name).copied());
                    description = None;
                }
                Piece::Code(code) => {
                    let Some(kind) = current.filter(|_| depth == 1) else { continue };
                    // Arguments written one per line are joined back into `name(a: A, b: B)`.
                    if !pending.is_empty() && !pending.ends_with('(') && !pending.ends_with(',') && !code.starts_with(')') {
                        pending.push_str(", ");
                    } else if pending.ends_with(',') {
                        pending.push(' ');
                    }
                    pending.push_str(&code);
                    open += code.matches('(').count() as i64 - code.matches(')').count() as i64;
                    if open > 0 {
                        continue;
                    }
                    if let Some(op) = field(&pending, kind, description.take()) {
                        view.operations.push(op);
                    }
                    pending.clear();
                    open = 0;
                }
            }
        }
        if view.operations.is_empty() {
            view.problem = Some("No fields of a `Query`, `Mutation` or `Subscription` type were found in this schema.".into());
        }
        cap(&mut view);
        view
    }

    /// One field, `name(args): Type @directives`, as an operation of `kind`.
    fn field(text: &str, kind: &str, description: Option<String>) -> Option<ApiOperation> {
        let name_end = text.find(['(', ':'])?;
        let name = text[..name_end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let (signature, rest) = if text[name_end..].starts_with('(') {
            let close = name_end + matching_paren(&text[name_end..])?;
            (format!("{name}{}", &text[name_end..=close]), &text[close + 1..])
        } else {
            (name.to_string(), &text[name_end..])
        };
        let ty = rest.trim_start().strip_prefix(':')?.split('@').next().unwrap_or("").trim();
        Some(ApiOperation {
            method: kind.to_string(),
            path: cut(&signature, MAX_TEXT),
            summary: description.or_else(|| (!ty.is_empty()).then(|| format!("Returns {}", cut(ty, 80)))),
            tags: Vec::new(),
        })
    }

    /// The byte index of the `)` that closes the `(` that `s` starts with (strings skipped:
    /// a default value may hold parentheses).
    fn matching_paren(s: &str) -> Option<usize> {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for (i, c) in s.char_indices() {
            if in_string {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => in_string = false,
                    _ => escaped = false,
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '(' => depth += 1,
                ')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    #[cfg(test)]
    mod tests {
        use super::super::api_view;
        use super::MAX_DEFINITION_BYTES;
        use crate::catalog::apidoc::{ApiOperation, MAX_OPERATIONS};

        fn ops(view: &super::ApiView) -> Vec<(String, String)> {
            view.operations.iter().map(|o| (o.method.clone(), o.path.clone())).collect()
        }

        fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
            list.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect()
        }

        #[test]
        fn openapi_yaml_lists_operations_sorted_by_path() {
            let yaml = r#"openapi: 3.0.3
info:
  title: Orders API
  version: 1.2.0
  description: Orders, from basket to delivery.
servers:
  - url: https://api.acme.example/orders/v1
paths:
  /orders/{id}:
    parameters:
      - name: id
        in: path
    get:
      operationId: getOrder
      tags: [orders]
      responses:
        200:
          description: The order.
  /orders:
    post:
      summary: Create an order
      responses:
        '201':
          description: Created.
    get:
      summary: List orders
      tags: [orders, public]
"#;
            let v = api_view(Some("openapi"), yaml);
            assert_eq!(v.kind, "openapi");
            assert_eq!(v.problem, None);
            assert_eq!(v.title.as_deref(), Some("Orders API"));
            assert_eq!(v.version.as_deref(), Some("1.2.0"));
            assert_eq!(v.description.as_deref(), Some("Orders, from basket to delivery."));
            assert_eq!(v.servers, vec!["https://api.acme.example/orders/v1"]);
            assert_eq!(ops(&v), pairs(&[("GET", "/orders"), ("POST", "/orders"), ("GET", "/orders/{id}")]));
            assert_eq!(
                v.operations[0],
                ApiOperation {
                    method: "GET".into(),
                    path: "/orders".into(),
                    summary: Some("List orders".into()),
                    tags: vec!["orders".into(), "public".into()],
                }
            );
            // Without a summary, the operation id names it.
            assert_eq!(v.operations[2].summary.as_deref(), Some("getOrder"));
        }

        #[test]
        fn swagger_json_reads_host_base_path_and_paths() {
            let json = r#"{"swagger": "2.0", "info": {"title": "Legacy", "version": 2},
                "host": "legacy.acme.example", "basePath": "/api", "schemes": ["http"],
                "paths": {"/things": {"get": {"summary": "All things"}, "delete": {"operationId": "purge"}}}}"#;
            let v = api_view(None, json);
            assert_eq!(v.kind, "openapi");
            assert_eq!(v.version.as_deref(), Some("2"));
            assert_eq!(v.servers, vec!["http://legacy.acme.example/api"]);
            assert_eq!(ops(&v), pairs(&[("GET", "/things"), ("DELETE", "/things")]));
            assert_eq!(v.operations[1].summary.as_deref(), Some("purge"));
        }

        #[test]
        fn asyncapi_2_lists_publish_and_subscribe_per_channel() {
            let yaml = r#"asyncapi: 2.6.0
info:
  title: Orders events
  version: 1.0.0
servers:
  production:
    url: kafka.acme.example:9092
    protocol: kafka
channels:
  orders.events:
    subscribe:
      operationId: onOrderEvent
      tags:
        - name: orders
      message:
        name: OrderChanged
  orders.commands:
    description: Commands to the order service.
    publish:
      message:
        name: CancelOrder
"#;
            let v = api_view(Some("asyncapi"), yaml);
            assert_eq!(v.kind, "asyncapi");
            assert_eq!(v.problem, None);
            assert_eq!(v.servers, vec!["production: kafka.acme.example:9092 (kafka)"]);
            assert_eq!(ops(&v), pairs(&[("PUBLISH", "orders.commands"), ("SUBSCRIBE", "orders.events")]));
            assert_eq!(v.operations[0].summary.as_deref(), Some("Commands to the order service."));
            assert_eq!(v.operations[1].summary.as_deref(), Some("onOrderEvent"));
            assert_eq!(v.operations[1].tags, vec!["orders"]);
        }

        #[test]
        fn asyncapi_3_operations_point_at_channel_addresses() {
            let yaml = r#"asyncapi: 3.0.0
info: {title: Signups, version: 1.0.0}
servers:
  prod: {host: broker.acme.example, protocol: amqp}
channels:
  userSignedUp:
    address: user/signedup
operations:
  sendSignup:
    action: send
    channel:
      $ref: '#/channels/userSignedUp'
    summary: Tell the world
"#;
            let v = api_view(Some("asyncapi"), yaml);
            assert_eq!(v.servers, vec!["prod: broker.acme.example (amqp)"]);
            assert_eq!(ops(&v), pairs(&[("SEND", "user/signedup")]));
            assert_eq!(v.operations[0].summary.as_deref(), Some("Tell the world"));
        }

        #[test]
        fn graphql_sdl_lists_root_fields_with_arguments() {
            let sdl = r#""""The products the shop shows, read-only."""
type Query {
  "One product by its id."
  product(id: ID!): Product
  "A page of products, newest first."
  products(first: Int = 20, after: String): ProductConnection!
  # a comment
  search(
    """
    What to look for.
    """
    text: String!
    limit: Int = 10
  ): [Product!]! @deprecated(reason: "use products")
}

type Product {
  id: ID!
  title: String!
}

extend type Mutation { rename(id: ID!, title: String!): Product }
type Subscription {
  productChanged: Product
}
"#;
            let v = api_view(Some("GraphQL"), sdl);
            assert_eq!(v.kind, "graphql");
            assert_eq!(v.problem, None);
            assert_eq!(
                ops(&v),
                pairs(&[
                    ("query", "product(id: ID!)"),
                    ("query", "products(first: Int = 20, after: String)"),
                    ("query", "search(text: String!, limit: Int = 10)"),
                    ("mutation", "rename(id: ID!, title: String!)"),
                    ("subscription", "productChanged"),
                ])
            );
            assert_eq!(v.operations[0].summary.as_deref(), Some("One product by its id."));
            assert_eq!(v.operations[2].summary.as_deref(), Some("Returns [Product!]!"));
            assert_eq!(v.operations[4].summary.as_deref(), Some("Returns Product"));
        }

        #[test]
        fn graphql_schema_block_names_the_root_types() {
            let sdl = "schema {\n  query: Root\n}\ntype Root {\n  hello: String\n}\ntype Query {\n  ignored: Int\n}\n";
            let v = api_view(None, sdl);
            assert_eq!(v.kind, "graphql");
            assert_eq!(ops(&v), pairs(&[("query", "hello")]));
        }

        #[test]
        fn garbage_gives_a_readable_problem_and_no_operations() {
            for (spec_type, text) in [
                (Some("openapi"), "{{{ ::: ]] \n  - - :"),
                (Some("openapi"), "just some words"),
                (Some("asyncapi"), "- a\n- list\n"),
                (Some("openapi"), "title: no version line\n"),
                (Some("graphql"), "this is not a schema { at all"),
                (Some("openapi"), ""),
                (None, "\u{0}\u{1}binary"),
            ] {
                let v = api_view(spec_type, text);
                assert!(v.operations.is_empty(), "{text:?}: {v:?}");
                assert!(v.problem.as_deref().is_some_and(|p| p.len() > 10), "{text:?}: {v:?}");
            }
            // Deep nesting stops at the parser's recursion limit instead of the stack.
            let deep = "[".repeat(100_000);
            assert!(api_view(Some("openapi"), &deep).problem.is_some());
            let deep_sdl = format!("type Query {{\n{}\n", "a(".repeat(100_000));
            assert!(api_view(Some("graphql"), &deep_sdl).problem.is_some());
        }

        #[test]
        fn unknown_types_are_shown_as_source_only() {
            let v = api_view(Some("grpc"), "syntax = \"proto3\";\nservice Orders { rpc Get (Req) returns (Res); }");
            assert_eq!(v.kind, "other");
            assert!(v.operations.is_empty());
            assert!(v.problem.unwrap().contains("grpc"));
        }

        #[test]
        fn huge_definitions_are_cut_or_not_parsed() {
            let mut yaml = String::from("openapi: 3.1.0\ninfo:\n  title: Big\n  version: '1'\npaths:\n");
            for i in 0..600 {
                yaml.push_str(&format!("  /things/{i:04}:\n    get:\n      summary: Thing {i}\n"));
            }
            let v = api_view(Some("openapi"), &yaml);
            assert_eq!(v.operations.len(), MAX_OPERATIONS);
            assert_eq!(v.operations[0].path, "/things/0000");
            assert!(v.problem.unwrap().contains("600"));

            let huge = format!("openapi: 3.0.0\ndescription: {}\n", "x".repeat(MAX_DEFINITION_BYTES));
            let v = api_view(Some("openapi"), &huge);
            assert!(v.operations.is_empty());
            assert!(v.problem.unwrap().contains("KiB"));
        }
    }
}
