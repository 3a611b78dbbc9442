//! Store tests: the same suite on SQLite and PostgreSQL.

mod common;

use app::core::store::{AuditDraft, CatalogRecord, CatalogWrite, RelationRow, SearchDoc, StoreError, UserRecord};
use app::core::{now, Caller, Services};
use common::*;

fn draft(action: &str, team: Option<&str>) -> AuditDraft {
    AuditDraft {
        at: now(),
        actor: "tester".into(),
        action: action.into(),
        target: "thing:1".into(),
        team: team.map(Into::into),
        before: None,
        after: Some(r#"{"n":1}"#.into()),
        decision: "allow".into(),
        reason: String::new(),
        request_id: "test".into(),
    }
}

fn user(name: &str) -> UserRecord {
    UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        username: name.into(),
        display_name: name.into(),
        email: format!("{name}@example.com"),
        password_hash: "x".into(),
        is_admin: false,
        disabled: false,
        failed_logins: 0,
        locked_until: None,
        created_at: now(),
        updated_at: now(),
        version: 1,
    }
}

/// A write of `component:default/<name>` at `version`, tagged and owned as given, with one
/// declared relation and its search entry.
fn entity(name: &str, version: i64, tags: &[&str], owner: &str) -> CatalogWrite {
    let entity_ref = format!("component:default/{name}");
    let body = format!(r#"{{"kind":"Component","metadata":{{"name":"{name}"}},"v":{version},"quote":"it's \"fine\" – ✓"}}"#);
    CatalogWrite {
        rec: CatalogRecord {
            entity_ref: entity_ref.clone(),
            kind: "Component".into(),
            namespace: "default".into(),
            name: name.into(),
            title: Some(format!("{name} v{version}")),
            description: None,
            spec_type: Some("service".into()),
            lifecycle: Some("production".into()),
            owner_ref: Some(owner.into()),
            system_ref: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            etag: format!("etag-{version}"),
            body,
            version,
            source: "test".into(),
            orphan: version > 2,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: now(),
        },
        relations: vec![RelationRow { relation: "ownedBy".into(), target_ref: owner.into() }],
        search: SearchDoc {
            doc_key: format!("entity:{entity_ref}"),
            kind: "Component".into(),
            entity_ref: Some(entity_ref),
            name: name.into(),
            title: format!("{name} v{version}"),
            summary: String::new(),
            owner_ref: Some(owner.into()),
            body: tags.join(" "),
            url: format!("/catalog/component/default/{name}"),
        },
        audit: draft(if version == 1 { "catalog.create" } else { "catalog.update" }, None),
    }
}

#[tokio::test]
async fn catalog_writes_are_whole_and_a_stale_version_changes_nothing() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let l = db.label;
        store.catalog_write(vec![entity("alpha", 1, &["a", "b", "a"], "group:default/one"), entity("beta", 1, &[], "group:default/one")]).await.unwrap();
        let alpha = store.catalog_get("component:default/alpha").await.unwrap().expect("alpha stored");
        assert_eq!((alpha.version, alpha.tags.clone(), alpha.orphan), (1, vec!["a".to_string(), "b".to_string()], false), "[{l}]");
        assert!(alpha.body.contains(r#""quote":"it's \"fine\" – ✓""#), "[{l}] the body is stored as sent: {}", alpha.body);

        // Version 3 of alpha replaces its tags, owner relation and search entry.
        store.catalog_write(vec![entity("alpha", 2, &["c"], "group:default/two")]).await.unwrap();
        store.catalog_write(vec![entity("alpha", 3, &["d"], "group:default/three")]).await.unwrap();
        let alpha = store.catalog_get("component:default/alpha").await.unwrap().unwrap();
        assert_eq!((alpha.version, alpha.tags.clone(), alpha.orphan, alpha.title.as_deref()), (3, vec!["d".to_string()], true, Some("alpha v3")), "[{l}]");
        let owners: Vec<String> = store.catalog_relations("component:default/alpha").await.unwrap().into_iter().map(|r| r.target_ref).collect();
        assert_eq!(owners, ["group:default/three"], "[{l}] only the current owner relation");
        let found = store.search_by_name("alpha", None, 10).await.unwrap();
        assert_eq!(found.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["alpha v3"], "[{l}] one search entry, updated");

        // A batch where one update was based on a version that is gone: a conflict, and none of
        // the batch is written (not the new entity, not beta's valid update).
        let generation = store.catalog_generation().await.unwrap();
        let stale = store
            .catalog_write(vec![entity("gamma", 1, &["new"], "group:default/one"), entity("beta", 2, &["x"], "group:default/one"), entity("alpha", 3, &["lost"], "group:default/one")])
            .await;
        assert!(matches!(stale, Err(StoreError::Conflict(_))), "[{l}] {stale:?}");
        assert!(store.catalog_get("component:default/gamma").await.unwrap().is_none(), "[{l}] gamma not created");
        let beta = store.catalog_get("component:default/beta").await.unwrap().unwrap();
        assert_eq!((beta.version, beta.tags.len()), (1, 0), "[{l}] beta unchanged");
        let alpha = store.catalog_get("component:default/alpha").await.unwrap().unwrap();
        assert_eq!((alpha.version, alpha.tags.clone()), (3, vec!["d".to_string()]), "[{l}] alpha keeps version 3");
        assert_eq!(store.catalog_generation().await.unwrap(), generation, "[{l}] nothing changed");

        // Creating what exists already is a conflict too.
        let again = store.catalog_write(vec![entity("beta", 1, &[], "group:default/one")]).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "[{l}] {again:?}");
    }
}

#[tokio::test]
async fn the_work_a_large_import_leaves_in_the_background_is_done_once_the_catalog_has_settled() {
    use std::time::Duration;
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let l = db.label;
        let writes: Vec<CatalogWrite> = (0..1000).map(|i| entity(&format!("bulk-{i:04}"), 1, &["bulk"], "group:default/one")).collect();
        store.catalog_write(writes).await.unwrap();
        store.catalog_analyze().await.unwrap();
        if l == "sqlite" {
            // PRAGMA optimize ran before catalog_analyze returned: nothing is left to wait for.
            tokio::time::timeout(Duration::from_millis(50), store.catalog_settled()).await.expect("[sqlite] settled at once");
            continue;
        }
        // PostgreSQL: the VACUUM waits for a second without catalog changes, so it is not done yet.
        let early = tokio::time::timeout(Duration::from_millis(300), store.catalog_settled()).await;
        assert!(early.is_err(), "[{l}] settled before the VACUUM could have run");
        tokio::time::timeout(Duration::from_secs(60), store.catalog_settled()).await.expect("[postgres] settled within a minute");
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let done: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT relname::text, last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables \
             WHERE relname IN ('catalog_entities', 'catalog_tags', 'catalog_relations', 'search_documents') ORDER BY relname",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(done.len(), 4, "[{l}] {done:?}");
        for (table, vacuumed, analyzed) in &done {
            assert!(*vacuumed && *analyzed, "[{l}] {table}: vacuumed {vacuumed}, analyzed {analyzed}");
        }
        pool.close().await;
    }
}

#[tokio::test]
async fn search_counts_per_kind_up_to_the_cap_and_a_kind_narrows_matches() {
    use app::core::store::{SearchSpec, SEARCH_COUNT_CAP};
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let l = db.label;
        // 1,100 components mention "needle", then three APIs do: written after the cap.
        let mut writes: Vec<CatalogWrite> = (0..1100).map(|i| entity(&format!("widget-{i:04}"), 1, &["needle"], "group:default/one")).collect();
        for i in 0..3 {
            let mut api = entity(&format!("needle-api-{i}"), 1, &["needle"], "group:default/one");
            api.search.kind = "API".into();
            writes.push(api);
        }
        store.catalog_write(writes).await.unwrap();

        let spec = SearchSpec { terms: vec!["needle".into()], fuzzy: false, kind: None, limit: 200 };
        assert_eq!(store.search(&spec).await.unwrap().len(), 200, "[{l}] at most the limit");
        let counts = store.search_counts(&spec).await.unwrap();
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), SEARCH_COUNT_CAP, "[{l}] counted up to the cap: {counts:?}");
        assert_eq!(counts[0].0, "Component", "[{l}] most frequent first: {counts:?}");

        // Asked for APIs only: all three, though they lie beyond the counted matches.
        let apis = SearchSpec { kind: Some("API".into()), ..spec.clone() };
        let mut found: Vec<String> = store.search(&apis).await.unwrap().into_iter().map(|d| d.doc_key).collect();
        found.sort();
        assert_eq!(found, (0..3).map(|i| format!("entity:component:default/needle-api-{i}")).collect::<Vec<_>>(), "[{l}]");

        // Under the cap, counts are exact per kind; nothing found is no count.
        let few = SearchSpec { terms: vec!["widget-000".into()], ..spec.clone() };
        assert_eq!(store.search_counts(&few).await.unwrap(), [("Component".to_string(), 10)], "[{l}]");
        let both = SearchSpec { terms: vec!["needle-api".into()], ..spec.clone() };
        assert_eq!(store.search_counts(&both).await.unwrap(), [("API".to_string(), 3)], "[{l}]");
        let none = SearchSpec { terms: vec!["haystack".into()], ..spec };
        assert_eq!(store.search_counts(&none).await.unwrap(), [], "[{l}]");
    }
}

#[tokio::test]
async fn search_finds_exactly_the_entries_containing_part_of_a_hyphenated_word() {
    use app::core::store::SearchSpec;
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let l = db.label;
        // Names and bodies (the tags) with punctuation inside words, and near misses.
        let writes = vec![
            entity("cart-bucket-36", 1, &["owned", "by", "b-team"], "group:default/one"),
            entity("ledger", 1, &["system:default/cart-billing", "s3-bucket"], "group:default/one"),
            entity("cart-bin", 1, &["cart", "bucket"], "group:default/one"),
            entity("cartqbucket", 1, &["cart_box"], "group:default/one"),
            entity("other", 1, &["cart", "b"], "group:default/one"),
        ];
        store.catalog_write(writes).await.unwrap();
        let names = |term: &str| {
            let (spec, store) = (SearchSpec { terms: vec![term.into()], fuzzy: false, kind: None, limit: 50 }, store.clone());
            async move {
                let mut found: Vec<String> = store.search(&spec).await.unwrap().into_iter().map(|d| d.name).collect();
                found.sort();
                let counted: i64 = store.search_counts(&spec).await.unwrap().iter().map(|(_, n)| n).sum();
                assert_eq!(counted, found.len() as i64, "[{l}] {:?}: counted as found", spec.terms);
                found
            }
        };
        assert_eq!(names("cart-b").await, ["cart-bin", "cart-bucket-36", "ledger"], "[{l}]");
        assert_eq!(names("default/cart-bil").await, ["ledger"], "[{l}]");
        assert_eq!(names("t-b").await, ["cart-bin", "cart-bucket-36", "ledger"], "[{l}]");
        // Punctuation is matched as typed: an underscore is not a hyphen, nor a letter.
        assert_eq!(names("cart_b").await, ["cartqbucket"], "[{l}]");
        assert_eq!(names("s3-bucket").await, ["ledger"], "[{l}]");
        // A letter is not punctuation: only the name spelled with a q.
        assert_eq!(names("tqb").await, ["cartqbucket"], "[{l}]");
        assert_eq!(names("rtqbu").await, ["cartqbucket"], "[{l}]");
    }
}

/// Writes data as an older portal stored it: connects to `$db`, migrates it only up to `$sqlite`
/// (SQLite) or `$postgres` (PostgreSQL), runs `$write` with the pool as `$pool` (the block is
/// expanded once per kind of pool), and closes it. The upgraded portal
/// (`server::store::connect`) then runs the remaining migrations.
macro_rules! stored_before_the_upgrade {
    ($db:expr, sqlite: $sqlite:literal, postgres: $postgres:literal, |$pool:ident| $write:block) => {{
        let db = &$db;
        if db.label == "sqlite" {
            let opts = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&db.url)
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true);
            let $pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
            sqlx::migrate!("migrations/sqlite").run_to($sqlite, &$pool).await.unwrap();
            $write
            $pool.close().await;
        } else {
            let $pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::migrate!("migrations/postgres").run_to($postgres, &$pool).await.unwrap();
            $write
            $pool.close().await;
        }
    }};
}

/// Search entries stored before the last search migrations (PostgreSQL 0010: the haystack written
/// by the portal, with its joined spelling, and 0011: the names index; SQLite 0010: the kinds
/// index) are found exactly as entries the upgraded portal writes: the migration re-spells the
/// existing rows in SQL as `haystack` spells new ones in Rust.
#[tokio::test]
async fn entries_stored_before_an_upgrade_are_found_as_entries_written_after_it() {
    use app::core::store::SearchSpec;
    // Name, title and text: upper case, every kind of ASCII punctuation, tabs, newlines and
    // runs of spaces, and words without punctuation between the punctuated ones.
    let texts = [
        ("cart-bucket-36", "Cart Bucket", "Stores carts.\tOwned by group:default/Team-Payments;  see S3-bucket/eu_west (v2.1)\nand cart_box!"),
        ("ledger", "Ledger API", "system:default/cart-billing, s3-bucket\u{2026} and more"),
        ("pay@ment", "Payments", "ISO-8601 dates; https://example.com/a?b=c&d=e #tag {x} [y] ~z^ `q` |p| \\r\\ \"it's\" 100% +10 <a>"),
    ];
    let search = |ns: &str, (name, title, body): (&str, &str, &str)| SearchDoc {
        doc_key: format!("entity:component:{ns}/{name}"),
        kind: "Component".into(),
        entity_ref: Some(format!("component:{ns}/{name}")),
        name: name.into(),
        title: title.into(),
        summary: String::new(),
        owner_ref: Some("group:default/one".into()),
        body: body.into(),
        url: format!("/catalog/component/{ns}/{name}"),
    };
    for db in databases().await {
        let l = db.label;
        // The schema as it was before (migrations up to 9), with entries written into it directly.
        stored_before_the_upgrade!(db, sqlite: 9, postgres: 9, |pool| {
            for t in texts {
                let d = search("old", t);
                sqlx::query(
                    "INSERT INTO search_documents (doc_key, kind, entity_ref, name, title, summary, owner_ref, body, url) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&d.doc_key)
                .bind(&d.kind)
                .bind(&d.entity_ref)
                .bind(&d.name)
                .bind(&d.title)
                .bind(&d.summary)
                .bind(&d.owner_ref)
                .bind(&d.body)
                .bind(&d.url)
                .execute(&pool)
                .await
                .unwrap();
            }
        });
        // The upgraded portal: the remaining migrations run here; then the same texts again.
        let store = server::store::connect(&db.url).await.unwrap();
        let writes: Vec<CatalogWrite> = texts
            .iter()
            .map(|&t| CatalogWrite { search: search("default", t), ..entity(t.0, 1, &[], "group:default/one") })
            .collect();
        store.catalog_write(writes).await.unwrap();

        let found = |term: &str, fuzzy: bool| {
            let (spec, store) = (SearchSpec { terms: vec![term.to_lowercase()], fuzzy, kind: None, limit: 50 }, store.clone());
            async move {
                let (mut old, mut new) = (Vec::new(), Vec::new());
                for d in store.search(&spec).await.unwrap() {
                    let ns = if d.doc_key.contains(":old/") { &mut old } else { &mut new };
                    ns.push(d.name);
                }
                old.sort();
                new.sort();
                (old, new)
            }
        };
        for term in [
            "cart-b", "t-b", "default/team-pay", "Team-Payments", "s3-bucket/eu", "eu_west", "(v2.1)", "v2.1", "cart_box!", "group:def",
            "ISO-8601", "a?b=c&d", "{x}", "\\r\\", "\"it's\"", "100%", "+10", "<a>", "cart", "bucket", "Ledger", "s3-bucket\u{2026}",
            "pay@m", "payments", "carts.",
        ] {
            let (old, new) = found(term, false).await;
            assert!(!new.is_empty(), "[{l}] {term:?} should find what was written after the upgrade");
            assert_eq!(old, new, "[{l}] {term:?}: entries from before the upgrade found as those written after");
        }
        // Typo-tolerant search reads names and titles (on PostgreSQL its own index, built by
        // migration 0011 over the existing rows).
        let (old, new) = found("ledgr", true).await;
        assert_eq!((old.as_slice(), new.as_slice()), (["ledger".to_string()].as_slice(), ["ledger".to_string()].as_slice()), "[{l}] ledgr");
    }
}

/// Migration 0011 (SQLite) / 0012 (PostgreSQL) re-keys tags and relations by entity id and, on
/// SQLite, rebuilds the entity table: entities, tags, relations (both directions) and docs
/// stored before it are all still there after it, and behave as ones written after it.
#[tokio::test]
async fn the_catalog_stored_before_entity_ids_is_whole_after_the_upgrade() {
    use app::core::store::CatalogFilter;
    for db in databases().await {
        let l = db.label;
        // Two entities and a doc in the schema as it was: alpha depends on beta; both are tagged.
        stored_before_the_upgrade!(db, sqlite: 10, postgres: 11, |pool| {
            for (name, tags, relations) in [
                ("alpha", vec!["java", "pay"], vec![("ownedBy", "group:default/one"), ("dependsOn", "component:default/beta")]),
                ("beta", vec!["pay"], vec![("ownedBy", "group:default/one")]),
            ] {
                let entity_ref = format!("component:default/{name}");
                sqlx::query(
                    "INSERT INTO catalog_entities (entity_ref, kind, namespace, name, title, spec_type, lifecycle, owner_ref, body, \
                     etag, version, source, orphan, created_at, updated_at) \
                     VALUES ($1, 'Component', 'default', $2, $2, 'service', 'production', 'group:default/one', '{}', 'e', 1, 'api', \
                     false, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                )
                .bind(&entity_ref)
                .bind(name)
                .execute(&pool)
                .await
                .unwrap();
                for tag in tags {
                    sqlx::query("INSERT INTO catalog_tags (entity_ref, tag) VALUES ($1, $2)").bind(&entity_ref).bind(tag).execute(&pool).await.unwrap();
                }
                for (relation, target) in relations {
                    sqlx::query("INSERT INTO catalog_relations (origin_ref, relation, target_ref) VALUES ($1, $2, $3)")
                        .bind(&entity_ref)
                        .bind(relation)
                        .bind(target)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
            }
            sqlx::query(
                "INSERT INTO docs (id, entity_ref, path, title, markdown, source, version, updated_by, created_at, updated_at) \
                 VALUES ('component:default/alpha/index', 'component:default/alpha', 'index.md', 'Alpha', '# Alpha', 'ui', 1, \
                 'tester', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            )
            .execute(&pool)
            .await
            .unwrap();
        });
        let store = server::store::connect(&db.url).await.unwrap();

        // What was stored before is whole: the docs were not deleted with the rebuilt table.
        let alpha = store.catalog_get("component:default/alpha").await.unwrap().expect("alpha after the upgrade");
        assert_eq!(alpha.tags, ["java", "pay"], "[{l}] alpha's tags");
        let docs = store.docs_of(Some("component:default/alpha")).await.unwrap();
        assert_eq!(docs.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["Alpha"], "[{l}] alpha's docs");
        let seen_from = |entity: &'static str| {
            let store = store.clone();
            async move {
                let mut r: Vec<String> =
                    store.catalog_relations(entity).await.unwrap().into_iter().map(|r| format!("{} {}", r.relation, r.target_ref)).collect();
                r.sort();
                r
            }
        };
        assert_eq!(seen_from("component:default/alpha").await, ["dependsOn component:default/beta", "ownedBy group:default/one"], "[{l}]");
        assert_eq!(seen_from("component:default/beta").await, ["dependencyOf component:default/alpha", "ownedBy group:default/one"], "[{l}]");

        // A new entity after the upgrade sits beside them: by tag, and as a relation's origin.
        store.catalog_write(vec![entity("gamma", 1, &["pay"], "group:default/one")]).await.unwrap();
        let tagged = |tag: &str| CatalogFilter { tag: Some(tag.into()), limit: 50, ..Default::default() };
        let names = |recs: Vec<CatalogRecord>| recs.into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(names(store.catalog_page(&tagged("pay")).await.unwrap()), ["alpha", "beta", "gamma"], "[{l}] tagged pay");
        assert_eq!(names(store.catalog_page(&tagged("java")).await.unwrap()), ["alpha"], "[{l}] tagged java");
        let mut owned = seen_from("group:default/one").await;
        owned.retain(|r| r.starts_with("ownerOf"));
        assert_eq!(owned, ["ownerOf component:default/alpha", "ownerOf component:default/beta", "ownerOf component:default/gamma"], "[{l}]");

        // Deleting an entity from before the upgrade takes its tags and relations with it.
        store.catalog_delete("component:default/alpha", 1, draft("catalog.delete", None)).await.unwrap();
        assert_eq!(names(store.catalog_page(&tagged("java")).await.unwrap()), Vec::<String>::new(), "[{l}] java after the delete");
        assert_eq!(seen_from("component:default/beta").await, ["ownedBy group:default/one"], "[{l}] beta after alpha's delete");
    }
}

#[tokio::test]
async fn deep_pages_start_from_anchors_and_match_plain_offsets() {
    use app::core::store::{CatalogFilter, CatalogSort};
    use app::types::CatalogQuery;
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let l = db.label;
        let services = Services::new(store.clone(), Default::default());
        server::seed::seed_demo(&services).await.unwrap();
        let (_, admin) = services.login(&Caller::default(), "admin", "demo-password").await.unwrap();
        let admin = Caller { principal: Some(admin), ..Default::default() };
        // 2,450 entities, every third owned by team two, written in an order unlike any sort.
        let writes: Vec<CatalogWrite> = (0..2450)
            .map(|i| {
                let n = (i * 7919) % 2450;
                entity(&format!("item-{n:05}"), 1, &[], if n % 3 == 0 { "group:default/two" } else { "group:default/one" })
            })
            .collect();
        store.catalog_write(writes).await.unwrap();

        let plain = |sort: CatalogSort, owner: Option<&str>, page: i64, size: i64| {
            let store = store.clone();
            let f = CatalogFilter { owner_ref: owner.map(str::to_string), sort, offset: (page - 1) * size, limit: size, ..Default::default() };
            async move { store.catalog_page(&f).await.unwrap().into_iter().map(|r| r.entity_ref).collect::<Vec<_>>() }
        };
        let listed = |sort: &str, owner: Option<&str>, page: i64, size: i64| {
            let q = CatalogQuery { sort: Some(sort.into()), owner: owner.map(str::to_string), page: Some(page), page_size: Some(size), ..Default::default() };
            let (services, admin) = (&services, &admin);
            async move { services.catalog_list(admin, &q, false).await.unwrap().items.into_iter().map(|e| e.entity_ref).collect::<Vec<_>>() }
        };
        for (name, sort) in [("kind", CatalogSort::Kind), ("name", CatalogSort::Name), ("updated", CatalogSort::Updated)] {
            for owner in [None, Some("group:default/two")] {
                // Pages before, at, across and after anchors (every 1,000th entity), the last
                // page, and past the end.
                for (page, size) in [(1, 50), (20, 50), (21, 50), (22, 50), (40, 50), (41, 50), (49, 50), (3, 500), (7, 400), (60, 50)] {
                    let want = plain(sort, owner, page, size).await;
                    assert_eq!(listed(name, owner, page, size).await, want, "[{l}] sort {name}, owner {owner:?}, page {page} of {size}");
                }
            }
        }
        assert_eq!(listed("name", None, 49, 50).await.last().map(String::as_str), Some("component:default/item-02449"), "[{l}]");

        // After a change the anchors are read again: deleting the first 30 entities by name
        // moves every later one forward.
        for n in 0..30 {
            let r = format!("component:default/item-{n:05}");
            let version = store.catalog_get(&r).await.unwrap().unwrap().version;
            store.catalog_delete(&r, version, draft("catalog.delete", None)).await.unwrap();
        }
        assert_eq!(listed("name", None, 21, 50).await, plain(CatalogSort::Name, None, 21, 50).await, "[{l}] after deletes");
        assert_eq!(listed("name", None, 21, 50).await[0], "component:default/item-01030", "[{l}]");
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_environments_exist() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.expect("first open");
        drop(store);
        let store = server::store::connect(&db.url).await.expect("second open runs no migration twice");
        assert_eq!(store.dialect(), db.label);
        let envs: Vec<String> = store.list_environments().await.unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(envs, ["development", "staging", "production"], "[{}]", db.label);
    }
}

#[tokio::test]
async fn users_are_unique_and_updates_are_optimistic() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let alice = user("alice");
        store.insert_user(&alice, draft("user.create", None)).await.unwrap();
        let again = store.insert_user(&user("alice"), draft("user.create", None)).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "[{}] {again:?}", db.label);

        let mut v2 = alice.clone();
        v2.display_name = "Alice A.".into();
        v2.version = 2;
        store.update_user(&v2, Some(draft("user.update", None))).await.unwrap();
        let mut stale = alice.clone();
        stale.display_name = "Lost update".into();
        stale.version = 2; // based on version 1, which is gone
        assert!(matches!(store.update_user(&stale, None).await, Err(StoreError::Conflict(_))));
        assert_eq!(store.user_by_username("alice").await.unwrap().unwrap().display_name, "Alice A.");
        // A failed write leaves no audit entry behind: the change and its entry are one transaction.
        let entries = store.audit_chain(0, 100).await.unwrap();
        assert_eq!(entries.len(), 2, "[{}] only the successful create and update are recorded", db.label);
    }
}

#[tokio::test]
async fn the_audit_log_is_append_only_and_tampering_is_found() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let services = Services::new(store.clone(), Default::default());
        for i in 0..5 {
            store.append_audit(draft(&format!("test.{i}"), None)).await.unwrap();
        }
        assert!(services.verify_audit(None).await.unwrap().ok);

        let raw = RawDb::open(&db.url).await;
        let refused = raw.exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await;
        assert!(refused.is_err_and(|e| e.contains("append-only")), "[{}] updates are refused", db.label);
        let refused = raw.exec("DELETE FROM audit_log WHERE seq = 2").await;
        assert!(refused.is_err(), "[{}] deletes are refused", db.label);

        // Someone with full database access disables the guard and edits a row: verification finds it.
        raw.disable_guard().await;
        raw.exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await.unwrap();
        let report = services.verify_audit(None).await.unwrap();
        assert!(!report.ok);
        assert_eq!(report.first_bad_seq, Some(3), "[{}] {}", db.label, report.message);
        assert_eq!(report.checked, 2);
    }
}

#[tokio::test]
async fn concurrent_writers_keep_one_linear_chain() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move { store.append_audit(draft(&format!("race.{i}"), None)).await }));
        }
        for t in tasks {
            t.await.unwrap().expect("every append succeeds");
        }
        let rows = store.audit_chain(0, 1000).await.unwrap();
        assert_eq!(rows.len(), 40);
        let services = Services::new(store, Default::default());
        let report = services.verify_audit(None).await.unwrap();
        assert!(report.ok, "[{}] {}", db.label, report.message);
    }
}

#[tokio::test]
async fn audit_filters_by_team_action_and_page() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        store.append_audit(draft("team.member.set", Some("payments"))).await.unwrap();
        store.append_audit(draft("team.member.set", Some("checkout"))).await.unwrap();
        store.append_audit(draft("teamXmember", None)).await.unwrap();
        store.append_audit(draft("auth.login", None)).await.unwrap();
        let f = |action: Option<&str>, teams: Option<Vec<&str>>, before: Option<i64>| app::core::store::AuditFilter {
            action_prefix: action.map(Into::into),
            actor: None,
            teams: teams.map(|t| t.into_iter().map(Into::into).collect()),
            before,
            limit: 50,
        };
        let seqs = |rows: Vec<app::core::store::AuditRow>| rows.into_iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(store.list_audit(&f(None, None, None)).await.unwrap()), [4, 3, 2, 1], "newest first");
        assert_eq!(seqs(store.list_audit(&f(Some("team.member"), None, None)).await.unwrap()), [2, 1]);
        // `_` and `%` in a prefix are literal characters, not wildcards.
        assert_eq!(seqs(store.list_audit(&f(Some("team_"), None, None)).await.unwrap()), Vec::<i64>::new(), "[{}]", db.label);
        assert_eq!(seqs(store.list_audit(&f(None, Some(vec!["payments"]), None)).await.unwrap()), [1]);
        assert_eq!(seqs(store.list_audit(&f(None, None, Some(3))).await.unwrap()), [2, 1]);
    }
}

#[tokio::test]
async fn sessions_expire_and_disabling_a_user_ends_them() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let services = Services::new(store.clone(), Default::default());
        server::seed::seed_demo(&services).await.unwrap();
        let caller = Caller::default();
        let (cookie, _) = services.login(&caller, "junior", "demo-password").await.unwrap();
        assert!(services.authenticate_session(&cookie).await.unwrap().is_some());
        assert_eq!(store.delete_expired_sessions("9999-01-01T00:00:00.000Z").await.unwrap(), 1);
        assert!(services.authenticate_session(&cookie).await.unwrap().is_none(), "[{}] expired", db.label);

        let (cookie, _) = services.login(&caller, "junior", "demo-password").await.unwrap();
        let (_, admin) = services.login(&caller, "admin", "demo-password").await.unwrap();
        let admin = Caller { principal: Some(admin), ..Default::default() };
        let junior = store.user_by_username("junior").await.unwrap().unwrap();
        let update = app::types::UserUpdate { disabled: Some(true), version: junior.version, ..Default::default() };
        services.update_user(&admin, "junior", update).await.unwrap();
        assert!(services.authenticate_session(&cookie).await.unwrap().is_none(), "[{}] disabled users are signed out", db.label);
        let refused = services.login(&caller, "junior", "demo-password").await;
        assert!(matches!(refused, Err(app::error::AppError::Forbidden(ref m)) if m.contains("disabled")));
    }
}

#[tokio::test]
async fn seeding_happens_once() {
    for db in databases().await {
        let store = server::store::connect(&db.url).await.unwrap();
        let services = Services::new(store.clone(), Default::default());
        assert!(server::seed::seed_demo(&services).await.unwrap());
        assert!(!server::seed::seed_demo(&services).await.unwrap());
        assert_eq!(store.user_count().await.unwrap(), 5);
        assert_eq!(store.list_teams().await.unwrap().len(), 3);
        let lead = store.user_by_username("lead").await.unwrap().unwrap();
        let m = store.memberships_of(&lead.id).await.unwrap();
        assert_eq!((m[0].team.as_str(), m[0].role), ("payments", app::types::Role::TeamLead));
    }
}

/// A second, raw connection for doing what the application never does.
enum RawDb {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl RawDb {
    async fn open(url: &str) -> RawDb {
        if url.starts_with("sqlite") {
            RawDb::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            RawDb::Pg(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    async fn exec(&self, sql: &'static str) -> Result<(), String> {
        match self {
            RawDb::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            RawDb::Pg(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .map_err(|e| e.to_string())
    }

    async fn disable_guard(&self) {
        match self {
            RawDb::Sqlite(_) => self.exec("DROP TRIGGER audit_log_no_update").await.unwrap(),
            RawDb::Pg(_) => self.exec("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change").await.unwrap(),
        }
    }
}

