//! Backstage entity descriptors as they are written in `catalog-info.yaml` files, and the
//! references between entities.
//!
//! The types keep everything they do not know: fields outside the ones named here land in an
//! `extra` map and are written back out unchanged, so a descriptor from a newer Backstage (a new
//! kind, a new metadata field) survives an import and an export without losing anything.

use super::validate::{self, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

/// The namespace of an entity that does not name one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// One catalog entity: the envelope (`apiVersion`, `kind`), its `metadata` and its `spec`.
///
/// `spec` stays untyped JSON because its shape depends on the kind and unknown kinds must be
/// kept as they are; [`validate::validate`] checks it for the kinds we know.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    // Missing envelope fields deserialise as empty text so that validation can report every
    // missing field at once, instead of serde stopping at the first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub api_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: Metadata,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Map::is_empty")]
    pub spec: Map<String, Value>,
    /// Every other top-level field, kept and written back out.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// None means [`DEFAULT_NAMESPACE`]; kept as written so an export looks like the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default", skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Every other metadata field (`uid`, `etag`, fields of newer Backstage versions), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Every other link field (`type` in newer versions), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// YAML writes an empty value (`labels:`) as null; treat it like an absent field.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Entity {
    /// Builds an entity from a parsed document (YAML or JSON), or says which fields have the
    /// wrong type, each with its path. Values of the right type are accepted whatever they say:
    /// [`validate::validate`] judges them afterwards.
    ///
    /// `relations` and `status` are dropped: the catalog computes them (BACKSTAGE-FORMAT.md), and
    /// a copy in a file must not contradict what the catalog derived.
    pub fn from_json(mut value: Value) -> Result<Entity, Vec<Problem>> {
        let problems = validate::shape_problems(&value);
        if !problems.is_empty() {
            return Err(problems);
        }
        if let Some(map) = value.as_object_mut() {
            map.remove("relations");
            map.remove("status");
        }
        // The shape check above covers every typed field, so this only fails if the two drift
        // apart; the message then still reaches the person rather than a panic.
        serde_json::from_value(value).map_err(|e| vec![Problem::new("", e.to_string())])
    }

    /// The namespace, [`DEFAULT_NAMESPACE`] when none is written.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)
    }

    /// This entity's own reference, the key it is stored and found under.
    pub fn entity_ref(&self) -> EntityRef {
        EntityRef::new(&self.kind, self.namespace(), &self.metadata.name)
    }
}

/// A reference to an entity: `kind:namespace/name`, compared without regard to case, as
/// Backstage compares them (`Component:Default/Payments-API` and `component:default/payments-api`
/// are the same entity).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Why a text or value is not an entity reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// Not of the form `[kind:][namespace/]name` (an empty part, or not text at all).
    Malformed(String),
    /// No kind is written and the field has no default kind.
    MissingKind(String),
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefError::Malformed(text) => {
                write!(
                    f,
                    "`{text}` is not an entity reference: write [kind:][namespace/]name, as in `group:default/payments`."
                )
            }
            RefError::MissingKind(text) => {
                write!(f, "`{text}` needs its kind written out here, as in `resource:{text}` or `component:{text}`.")
            }
        }
    }
}

impl std::error::Error for RefError {}

/// Lowercase, character by character. (`str::to_lowercase` treats a final Greek sigma
/// specially; comparing and hashing must agree, so both use this.)
fn lower(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

impl EntityRef {
    pub fn new(kind: &str, namespace: &str, name: &str) -> EntityRef {
        EntityRef { kind: kind.into(), namespace: namespace.into(), name: name.into() }
    }

    /// Parses the string form `[kind:][namespace/]name`, the way Backstage's `parseEntityRef`
    /// does: the kind ends at the first `:` (unless a `/` comes before it), the namespace at the
    /// first `/`, and the rest is the name. A missing kind is `default_kind` (an error when that
    /// is None); a missing namespace is `default_namespace`, which for a reference written in an
    /// entity is that entity's own namespace.
    pub fn parse(text: &str, default_kind: Option<&str>, default_namespace: &str) -> Result<EntityRef, RefError> {
        let slash = text.find('/');
        let colon = text.find(':').filter(|c| slash.is_none_or(|s| *c < s));
        let kind = colon.map(|c| &text[..c]);
        let namespace = slash.map(|s| &text[colon.map_or(0, |c| c + 1)..s]);
        let name = &text[slash.map(|s| s + 1).into_iter().chain(colon.map(|c| c + 1)).max().unwrap_or(0)..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(RefError::Malformed(text.into()));
        }
        let kind = kind.or(default_kind).ok_or_else(|| RefError::MissingKind(text.into()))?;
        Ok(EntityRef::new(kind, namespace.unwrap_or(default_namespace), name))
    }

    /// Parses either form: a string, or the compound form `{kind, namespace, name}` in which
    /// `kind` and `namespace` may be left out and take the same defaults as in [`EntityRef::parse`].
    pub fn from_value(
        value: &Value,
        default_kind: Option<&str>,
        default_namespace: &str,
    ) -> Result<EntityRef, RefError> {
        let text_of = |v: &Value| v.to_string();
        match value {
            Value::String(s) => EntityRef::parse(s, default_kind, default_namespace),
            Value::Object(map) => {
                let field = |key: &str| match map.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
                    Some(_) => Err(RefError::Malformed(text_of(value))),
                };
                let name = field("name")?.ok_or_else(|| RefError::Malformed(text_of(value)))?;
                let kind = field("kind")?.or(default_kind).ok_or_else(|| RefError::MissingKind(text_of(value)))?;
                let namespace = field("namespace")?.unwrap_or(default_namespace);
                Ok(EntityRef::new(kind, namespace, name))
            }
            other => Err(RefError::Malformed(text_of(other))),
        }
    }

    /// The normalised key, all lowercase: `component:default/payments-api`. Two references to the
    /// same entity have the same key however they were capitalised.
    pub fn key(&self) -> String {
        let mut key = String::with_capacity(self.kind.len() + self.namespace.len() + self.name.len() + 2);
        key.extend(lower(&self.kind));
        key.push(':');
        key.extend(lower(&self.namespace));
        key.push('/');
        key.extend(lower(&self.name));
        key
    }

    fn parts(&self) -> [&str; 3] {
        [&self.kind, &self.namespace, &self.name]
    }
}

/// Shown as Backstage writes references: kind and namespace in lowercase, the name as written.
impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind: String = lower(&self.kind).collect();
        let namespace: String = lower(&self.namespace).collect();
        write!(f, "{kind}:{namespace}/{}", self.name)
    }
}

impl PartialEq for EntityRef {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for EntityRef {}

impl Ord for EntityRef {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.parts(), other.parts());
        a.iter().zip(b).map(|(x, y)| lower(x).cmp(lower(y))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for EntityRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for EntityRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashSet;

    #[test]
    fn a_full_reference_keeps_every_part() {
        let r = EntityRef::parse("component:payments/checkout-api", Some("Group"), "default").unwrap();
        assert_eq!(r.parts(), ["component", "payments", "checkout-api"]);
    }

    #[test]
    fn a_bare_name_takes_the_default_kind_and_namespace() {
        let r = EntityRef::parse("team-a", Some("Group"), "payments").unwrap();
        assert_eq!(r.parts(), ["Group", "payments", "team-a"]);
    }

    #[test]
    fn a_reference_with_a_namespace_but_no_kind_takes_the_default_kind() {
        let r = EntityRef::parse("platform/team-a", Some("Group"), "payments").unwrap();
        assert_eq!(r.parts(), ["Group", "platform", "team-a"]);
    }

    #[test]
    fn a_reference_with_a_kind_but_no_namespace_takes_the_default_namespace() {
        let r = EntityRef::parse("user:jdoe", Some("Group"), "payments").unwrap();
        assert_eq!(r.parts(), ["user", "payments", "jdoe"]);
    }

    #[test]
    fn a_slash_before_the_colon_means_there_is_no_kind() {
        // As in Backstage: the colon belongs to the name when a slash comes first.
        let r = EntityRef::parse("ns/a:b", Some("Component"), "default").unwrap();
        assert_eq!(r.parts(), ["Component", "ns", "a:b"]);
    }

    #[test]
    fn a_reference_without_kind_is_refused_where_there_is_no_default() {
        assert_eq!(EntityRef::parse("payments-db", None, "default"), Err(RefError::MissingKind("payments-db".into())));
        assert!(EntityRef::parse("resource:payments-db", None, "default").is_ok());
    }

    #[test]
    fn empty_parts_are_refused() {
        for text in ["", ":name", "kind:", "kind:/name", "kind:ns/", "/name"] {
            assert!(
                matches!(EntityRef::parse(text, Some("Group"), "default"), Err(RefError::Malformed(_))),
                "{text:?} should be refused"
            );
        }
    }

    #[test]
    fn the_compound_form_parses_with_the_same_defaults() {
        let full = json!({"kind": "API", "namespace": "billing", "name": "invoices"});
        assert_eq!(EntityRef::from_value(&full, None, "default").unwrap().parts(), ["API", "billing", "invoices"]);
        let bare = json!({"name": "invoices"});
        assert_eq!(
            EntityRef::from_value(&bare, Some("API"), "payments").unwrap().parts(),
            ["API", "payments", "invoices"]
        );
        assert!(matches!(EntityRef::from_value(&bare, None, "default"), Err(RefError::MissingKind(_))));
        assert!(matches!(EntityRef::from_value(&json!({"kind": "API"}), None, "d"), Err(RefError::Malformed(_))));
        assert!(matches!(EntityRef::from_value(&json!(42), Some("API"), "d"), Err(RefError::Malformed(_))));
        let text = json!("api:billing/invoices");
        assert_eq!(EntityRef::from_value(&text, None, "default").unwrap().key(), "api:billing/invoices");
    }

    #[test]
    fn references_compare_and_hash_without_regard_to_case() {
        let a = EntityRef::parse("Component:Default/Payments-API", None, "default").unwrap();
        let b = EntityRef::parse("component:default/payments-api", None, "default").unwrap();
        let c = EntityRef::parse("component:default/payments-apx", None, "default").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.key(), "component:default/payments-api");
        let set: HashSet<EntityRef> = [a, b, c].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn a_reference_is_shown_as_kind_namespace_name() {
        let r = EntityRef::new("Component", "Default", "Payments-API");
        assert_eq!(r.to_string(), "component:default/Payments-API");
    }

    #[test]
    fn an_entity_without_namespace_is_in_the_default_namespace() {
        let e = Entity {
            kind: "Component".into(),
            metadata: Metadata { name: "web".into(), ..Default::default() },
            ..Default::default()
        };
        assert_eq!(e.entity_ref().key(), "component:default/web");
    }

    #[test]
    fn unknown_kinds_and_extra_fields_survive_a_round_trip() {
        let doc = json!({
            "apiVersion": "example.com/v2",
            "kind": "Pipeline",
            "metadata": {
                "name": "nightly",
                "namespace": "ci",
                "uid": "1234",
                "links": [{"url": "https://ci.example.com", "title": "CI", "type": "dashboard"}],
            },
            "spec": {"schedule": "0 3 * * *", "stages": [{"name": "build"}]},
            "x-owner-note": {"keep": true},
        });
        let entity = Entity::from_json(doc.clone()).unwrap();
        assert_eq!(entity.kind, "Pipeline");
        assert_eq!(entity.metadata.extra["uid"], "1234");
        assert_eq!(entity.metadata.links[0].extra["type"], "dashboard");
        assert_eq!(entity.extra["x-owner-note"], json!({"keep": true}));
        let written = serde_json::to_value(&entity).unwrap();
        assert_eq!(written, doc);
        assert_eq!(Entity::from_json(written).unwrap(), entity);
    }

    #[test]
    fn computed_fields_in_a_file_are_dropped() {
        let doc = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "web"},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/nobody"}],
            "status": {"items": []},
            "x-kept": 1,
        });
        let entity = Entity::from_json(doc).unwrap();
        assert!(!entity.extra.contains_key("relations"));
        assert!(!entity.extra.contains_key("status"));
        assert_eq!(entity.extra["x-kept"], 1);
    }

    #[test]
    fn empty_yaml_values_count_as_absent() {
        let doc = json!({"apiVersion": null, "kind": "Component", "metadata": {"name": "web", "labels": null, "tags": null}, "spec": null});
        let entity = Entity::from_json(doc).unwrap();
        assert_eq!(entity.api_version, "");
        assert!(entity.metadata.labels.is_empty() && entity.metadata.tags.is_empty() && entity.spec.is_empty());
    }

    #[test]
    fn a_field_of_the_wrong_type_is_reported_with_its_path() {
        let doc = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": 7, "tags": ["ok", 3]}});
        let problems = Entity::from_json(doc).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["metadata.name", "metadata.tags[1]"]);
    }
}
