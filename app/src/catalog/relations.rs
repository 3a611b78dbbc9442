//! The relations an entity's spec declares, in both directions (the table in
//! BACKSTAGE-FORMAT.md, "Spec fields and the relations they produce").
//!
//! An entity only writes one side (`owner: team-payments`); the catalog also needs the other
//! side on the target (the team `ownerOf` the component) to show a team's page without scanning
//! every entity. So each reference yields the relation as written and its reverse.
//!
//! Names follow BACKSTAGE-FORMAT.md, which follows Backstage's code: `subcomponentOf` produces
//! `partOf` / `hasPart` (Backstage has no `hasSubcomponent` relation, although issue 4 lists one).

use super::model::{Entity, EntityRef};
use super::validate::known_kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationType {
    OwnedBy,
    OwnerOf,
    PartOf,
    HasPart,
    DependsOn,
    DependencyOf,
    ProvidesApi,
    ApiProvidedBy,
    ConsumesApi,
    ApiConsumedBy,
    MemberOf,
    HasMember,
    ParentOf,
    ChildOf,
}

impl RelationType {
    pub const ALL: [RelationType; 14] = [
        RelationType::OwnedBy,
        RelationType::OwnerOf,
        RelationType::PartOf,
        RelationType::HasPart,
        RelationType::DependsOn,
        RelationType::DependencyOf,
        RelationType::ProvidesApi,
        RelationType::ApiProvidedBy,
        RelationType::ConsumesApi,
        RelationType::ApiConsumedBy,
        RelationType::MemberOf,
        RelationType::HasMember,
        RelationType::ParentOf,
        RelationType::ChildOf,
    ];

    /// The name Backstage stores and shows (`ownedBy`).
    pub fn as_str(self) -> &'static str {
        use RelationType::*;
        match self {
            OwnedBy => "ownedBy",
            OwnerOf => "ownerOf",
            PartOf => "partOf",
            HasPart => "hasPart",
            DependsOn => "dependsOn",
            DependencyOf => "dependencyOf",
            ProvidesApi => "providesApi",
            ApiProvidedBy => "apiProvidedBy",
            ConsumesApi => "consumesApi",
            ApiConsumedBy => "apiConsumedBy",
            MemberOf => "memberOf",
            HasMember => "hasMember",
            ParentOf => "parentOf",
            ChildOf => "childOf",
        }
    }

    pub fn parse(s: &str) -> Option<RelationType> {
        RelationType::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The same relation seen from the other end.
    pub fn reverse(self) -> RelationType {
        use RelationType::*;
        match self {
            OwnedBy => OwnerOf,
            OwnerOf => OwnedBy,
            PartOf => HasPart,
            HasPart => PartOf,
            DependsOn => DependencyOf,
            DependencyOf => DependsOn,
            ProvidesApi => ApiProvidedBy,
            ApiProvidedBy => ProvidesApi,
            ConsumesApi => ApiConsumedBy,
            ApiConsumedBy => ConsumesApi,
            MemberOf => HasMember,
            HasMember => MemberOf,
            ParentOf => ChildOf,
            ChildOf => ParentOf,
        }
    }
}

impl fmt::Display for RelationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `source` has the relation `relation` to `target`: `component:default/web ownedBy group:default/web-team`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Relation {
    #[serde(rename = "type")]
    pub relation: RelationType,
    pub source: EntityRef,
    pub target: EntityRef,
}

impl Relation {
    /// The same fact recorded on the target: `group:default/web-team ownerOf component:default/web`.
    pub fn reversed(&self) -> Relation {
        Relation { relation: self.relation.reverse(), source: self.target.clone(), target: self.source.clone() }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.source, self.relation, self.target)
    }
}

/// A spec field that holds references, and the relation each reference declares. Validation
/// reads the same table, so that a field is checked exactly as it will be resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RefField {
    pub field: &'static str,
    /// A list of references rather than one.
    pub many: bool,
    pub required: bool,
    /// The kind of a reference that does not name one; None means the kind must be written.
    pub default_kind: Option<&'static str>,
    /// The relation from the entity to the target; the target gets its reverse.
    pub relation: RelationType,
}

const fn one(
    field: &'static str,
    required: bool,
    default_kind: Option<&'static str>,
    relation: RelationType,
) -> RefField {
    RefField { field, many: false, required, default_kind, relation }
}

const fn many(
    field: &'static str,
    required: bool,
    default_kind: Option<&'static str>,
    relation: RelationType,
) -> RefField {
    RefField { field, many: true, required, default_kind, relation }
}

use RelationType::*;

const OWNER: RefField = one("owner", true, Some("Group"), OwnedBy);
const SYSTEM: RefField = one("system", false, Some("System"), PartOf);

const COMPONENT_REFS: &[RefField] = &[
    OWNER,
    SYSTEM,
    one("subcomponentOf", false, Some("Component"), PartOf),
    many("providesApis", false, Some("API"), ProvidesApi),
    many("consumesApis", false, Some("API"), ConsumesApi),
    many("dependsOn", false, None, DependsOn),
];
const API_REFS: &[RefField] = &[OWNER, SYSTEM];
const GROUP_REFS: &[RefField] = &[
    one("parent", false, Some("Group"), ChildOf),
    many("children", true, Some("Group"), ParentOf),
    many("members", false, Some("User"), HasMember),
];
const USER_REFS: &[RefField] = &[many("memberOf", true, Some("Group"), MemberOf)];
const RESOURCE_REFS: &[RefField] =
    &[OWNER, SYSTEM, many("dependsOn", false, None, DependsOn), many("dependencyOf", false, None, DependencyOf)];
const SYSTEM_REFS: &[RefField] = &[OWNER, one("domain", false, Some("Domain"), PartOf)];
const DOMAIN_REFS: &[RefField] = &[OWNER, one("subdomainOf", false, Some("Domain"), PartOf)];
const TEMPLATE_REFS: &[RefField] = &[one("owner", false, Some("Group"), OwnedBy)];

/// The reference fields of a known kind (its name exactly as in `validate::KNOWN_KINDS`).
pub(crate) fn ref_fields(kind: &str) -> &'static [RefField] {
    match kind {
        "Component" => COMPONENT_REFS,
        "API" => API_REFS,
        "Group" => GROUP_REFS,
        "User" => USER_REFS,
        "Resource" => RESOURCE_REFS,
        "System" => SYSTEM_REFS,
        "Domain" => DOMAIN_REFS,
        "Template" => TEMPLATE_REFS,
        _ => &[],
    }
}

/// Every relation `entity` declares, each followed by its reverse (to record on the target).
///
/// A reference without a namespace is in the entity's own namespace; one without a kind takes
/// the field's default kind. References that do not resolve (which validation reports) and
/// repeated ones are left out. Unknown kinds declare no relations.
pub fn derive_relations(entity: &Entity) -> Vec<Relation> {
    declared_relations(entity)
        .into_iter()
        .flat_map(|forward| {
            let reverse = forward.reversed();
            [forward, reverse]
        })
        .collect()
}

/// The relations `entity` declares, in their declared direction only (what the catalog stores:
/// the reverse ones are derived when read); the rules of [`derive_relations`].
pub fn declared_relations(entity: &Entity) -> Vec<Relation> {
    let Some((kind, _)) = known_kind(&entity.kind) else { return Vec::new() };
    let me = entity.entity_ref();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for rf in ref_fields(kind) {
        let texts: Vec<&str> = match entity.spec.get(rf.field) {
            Some(Value::String(s)) if !rf.many => vec![s],
            Some(Value::Array(items)) if rf.many => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for text in texts {
            let Ok(target) = EntityRef::parse(text, rf.default_kind, entity.namespace()) else { continue };
            if !seen.insert((rf.relation, target.key())) {
                continue;
            }
            out.push(Relation { relation: rf.relation, source: me.clone(), target });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(kind: &str, namespace: &str, spec: Value) -> Entity {
        let api_version = known_kind(kind).map_or("example.com/v1", |(_, versions)| versions[0]);
        Entity::from_json(json!({"apiVersion": api_version, "kind": kind,
            "metadata": {"name": "me", "namespace": namespace}, "spec": spec}))
        .unwrap()
    }

    /// The relations as `source type target` lines, keys in lowercase, in the order derived.
    fn lines(e: &Entity) -> Vec<String> {
        derive_relations(e).iter().map(|r| format!("{} {} {}", r.source.key(), r.relation, r.target.key())).collect()
    }

    fn check(kind: &str, spec: Value, want: &[&str]) {
        assert_eq!(lines(&entity(kind, "default", spec)), want, "{kind}");
    }

    #[test]
    fn component_owner_is_a_group_unless_the_kind_says_otherwise() {
        check(
            "Component",
            json!({"owner": "team-a"}),
            &["component:default/me ownedBy group:default/team-a", "group:default/team-a ownerOf component:default/me"],
        );
        check(
            "Component",
            json!({"owner": "user:jdoe"}),
            &["component:default/me ownedBy user:default/jdoe", "user:default/jdoe ownerOf component:default/me"],
        );
    }

    #[test]
    fn component_system_and_subcomponent_of_are_part_of() {
        check(
            "Component",
            json!({"system": "checkout", "subcomponentOf": "payments"}),
            &[
                "component:default/me partOf system:default/checkout",
                "system:default/checkout hasPart component:default/me",
                "component:default/me partOf component:default/payments",
                "component:default/payments hasPart component:default/me",
            ],
        );
    }

    #[test]
    fn component_provided_and_consumed_apis() {
        check(
            "Component",
            json!({"providesApis": ["payments"], "consumesApis": ["billing/invoices"]}),
            &[
                "component:default/me providesApi api:default/payments",
                "api:default/payments apiProvidedBy component:default/me",
                "component:default/me consumesApi api:billing/invoices",
                "api:billing/invoices apiConsumedBy component:default/me",
            ],
        );
    }

    #[test]
    fn component_depends_on_only_references_that_name_their_kind() {
        check(
            "Component",
            json!({"dependsOn": ["resource:payments-db", "payments-cache"]}),
            &[
                "component:default/me dependsOn resource:default/payments-db",
                "resource:default/payments-db dependencyOf component:default/me",
            ],
        );
    }

    #[test]
    fn api_owner_and_system() {
        check(
            "API",
            json!({"owner": "team-a", "system": "checkout"}),
            &[
                "api:default/me ownedBy group:default/team-a",
                "group:default/team-a ownerOf api:default/me",
                "api:default/me partOf system:default/checkout",
                "system:default/checkout hasPart api:default/me",
            ],
        );
    }

    #[test]
    fn group_parent_children_and_members() {
        check(
            "Group",
            json!({"parent": "engineering", "children": ["team-b"], "members": ["jdoe"]}),
            &[
                "group:default/me childOf group:default/engineering",
                "group:default/engineering parentOf group:default/me",
                "group:default/me parentOf group:default/team-b",
                "group:default/team-b childOf group:default/me",
                "group:default/me hasMember user:default/jdoe",
                "user:default/jdoe memberOf group:default/me",
            ],
        );
    }

    #[test]
    fn user_member_of() {
        check(
            "User",
            json!({"memberOf": ["team-a"]}),
            &["user:default/me memberOf group:default/team-a", "group:default/team-a hasMember user:default/me"],
        );
    }

    #[test]
    fn resource_owner_system_and_dependencies_both_ways() {
        check(
            "Resource",
            json!({"owner": "team-a", "system": "checkout", "dependsOn": ["resource:storage"], "dependencyOf": ["component:web", "web-without-kind"]}),
            &[
                "resource:default/me ownedBy group:default/team-a",
                "group:default/team-a ownerOf resource:default/me",
                "resource:default/me partOf system:default/checkout",
                "system:default/checkout hasPart resource:default/me",
                "resource:default/me dependsOn resource:default/storage",
                "resource:default/storage dependencyOf resource:default/me",
                "resource:default/me dependencyOf component:default/web",
                "component:default/web dependsOn resource:default/me",
            ],
        );
    }

    #[test]
    fn system_owner_and_domain() {
        check(
            "System",
            json!({"owner": "team-a", "domain": "commerce"}),
            &[
                "system:default/me ownedBy group:default/team-a",
                "group:default/team-a ownerOf system:default/me",
                "system:default/me partOf domain:default/commerce",
                "domain:default/commerce hasPart system:default/me",
            ],
        );
    }

    #[test]
    fn domain_owner_and_subdomain_of() {
        check(
            "Domain",
            json!({"owner": "team-a", "subdomainOf": "company"}),
            &[
                "domain:default/me ownedBy group:default/team-a",
                "group:default/team-a ownerOf domain:default/me",
                "domain:default/me partOf domain:default/company",
                "domain:default/company hasPart domain:default/me",
            ],
        );
    }

    #[test]
    fn template_owner() {
        check(
            "Template",
            json!({"owner": "team-platform", "type": "service", "steps": []}),
            &[
                "template:default/me ownedBy group:default/team-platform",
                "group:default/team-platform ownerOf template:default/me",
            ],
        );
    }

    #[test]
    fn kinds_without_reference_fields_declare_nothing() {
        check("Location", json!({"target": "./catalog-info.yaml", "owner": "team-a"}), &[]);
        check("Environment", json!({"tier": "staging", "lifecycle": "production", "owner": "team-a"}), &[]);
        check("Pipeline", json!({"owner": "team-a"}), &[]);
    }

    #[test]
    fn references_without_namespace_stay_in_the_entitys_namespace() {
        let e = entity(
            "Component",
            "payments",
            json!({"owner": "team-a", "system": "platform/checkout", "providesApis": ["api:default/public"]}),
        );
        let targets: Vec<String> = derive_relations(&e).iter().step_by(2).map(|r| r.target.key()).collect();
        assert_eq!(targets, ["group:payments/team-a", "system:platform/checkout", "api:default/public"]);
        assert_eq!(derive_relations(&e)[0].source.key(), "component:payments/me");
    }

    #[test]
    fn a_reference_repeated_in_another_case_yields_one_relation() {
        check(
            "Component",
            json!({"providesApis": ["payments", "API:Default/Payments", "payments"]}),
            &[
                "component:default/me providesApi api:default/payments",
                "api:default/payments apiProvidedBy component:default/me",
            ],
        );
    }

    #[test]
    fn every_relation_reverses_to_a_different_one_and_back() {
        for r in RelationType::ALL {
            assert_ne!(r.reverse(), r);
            assert_eq!(r.reverse().reverse(), r);
            assert_eq!(RelationType::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
    }
}
