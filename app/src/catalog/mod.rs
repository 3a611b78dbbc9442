//! The service catalog's pure core: Backstage entity descriptors ([`model`]), their validation
//! ([`validate`]), the relations they declare in both directions ([`relations`]) and, on the
//! server, reading them from multi-document YAML ([`yaml`]).
//!
//! Plain functions over plain data: no I/O, no database, no clock. The catalog service stores
//! what these functions return; the browser may use the same rules to check a form before it
//! is sent. Only `yaml` pulls in a dependency of its own, so it is compiled with `ssr` alone and
//! the browser bundle does not grow.
//!
//! The rules follow `BACKSTAGE-FORMAT.md` (the shared summary of Backstage's descriptor format
//! and its validators). Where Backstage leaves something open, the choice is written beside
//! the code that makes it.

pub mod apidoc;
pub mod model;
pub mod relations;
pub mod validate;
#[cfg(feature = "ssr")]
pub mod yaml;

pub use model::{DEFAULT_NAMESPACE, Entity, EntityRef, Link, Metadata, RefError};
pub use relations::{Relation, RelationType, declared_relations, derive_relations};
pub use validate::{ENVIRONMENT_API_VERSION, KNOWN_KINDS, Problem, field_errors, known_kind, shape_problems, validate};
#[cfg(feature = "ssr")]
pub use yaml::{DocumentError, Documents, documents, parse_documents};

/// The portal team that owns an entity: catalog Groups in the default namespace and portal teams
/// share their names, so `group:default/payments` is team `payments`. Other owners (users, groups
/// in other namespaces) belong to no team.
pub fn owner_team(owner_ref: Option<&str>) -> Option<String> {
    owner_ref.and_then(|r| r.strip_prefix("group:default/")).map(str::to_string)
}
