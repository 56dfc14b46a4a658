//! The store test suite: every behaviour of `suite.rs` against each store
//! (memory, the registry file, PostgreSQL with feature `postgres`), then
//! each store's own failure and durability tests.

mod file;
#[cfg(feature = "postgres")]
mod pg;
mod suite;

use fedauth_admin::store::{AdminStore, AuditQuery, ETag, MemoryStore, StoreError};
use serde_json::json;

/// A store for one test, with whatever must live as long as it (its
/// directory).
pub struct Fixture {
    pub store: Box<dyn AdminStore>,
    _keep: Box<dyn std::any::Any + Send>,
}

impl Fixture {
    pub fn new(store: impl AdminStore, keep: impl std::any::Any + Send) -> Self {
        Self {
            store: Box::new(store),
            _keep: Box::new(keep),
        }
    }
}

/// One `#[tokio::test]` per suite behaviour, on a fresh store from `$make`.
macro_rules! run_suite {
    ($store:ident, $make:path) => {
        mod $store {
            macro_rules! behaviour {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let fixture = $make().await;
                        crate::suite::$name(&*fixture.store).await;
                    }
                };
            }
            behaviour!(create_get_and_list);
            behaviour!(documents_are_normalised);
            behaviour!(enabled_in_a_property);
            behaviour!(every_precondition_outcome);
            behaviour!(delete_removes);
            behaviour!(audit_log);
        }
    };
}

async fn memory() -> Fixture {
    Fixture::new(MemoryStore::new(), ())
}

#[cfg(feature = "postgres")]
async fn postgres() -> Option<Fixture> {
    Some(pg::store().await)
}

#[cfg(not(feature = "postgres"))]
async fn postgres() -> Option<Fixture> {
    None
}

run_suite!(memory_store, crate::memory);
run_suite!(file_store, crate::file::empty_toml_store);
run_suite!(file_store_json, crate::file::empty_json_store);
#[cfg(feature = "postgres")]
run_suite!(postgres_store, crate::pg::store);

/// One document has one entity tag on every store: a client may read from
/// one instance and write through another.
#[tokio::test]
async fn the_same_document_has_the_same_etag_on_every_store() {
    let document = suite::doc(
        "same-1",
        json!({"name": "n", "properties": {"p": ["r"]}, "roles": ["a", "b"]}),
    );
    let fixtures = [
        Some(memory().await),
        Some(file::empty_toml_store().await),
        postgres().await,
    ];
    for fixture in fixtures.iter().flatten() {
        let store = &*fixture.store;
        let stored = store
            .apply(suite::create("same-1", document.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.etag, ETag::of(&document));
        assert_eq!(
            store.get("same-1").await.unwrap().unwrap().etag,
            ETag::of(&document)
        );
    }
    assert_eq!(
        fixtures.iter().flatten().count(),
        if cfg!(feature = "postgres") { 3 } else { 2 }
    );
}

/// Demo mode's starting point: the documents, in id order, and no audit.
#[tokio::test]
async fn a_memory_store_starts_with_its_documents() {
    let documents = [
        suite::doc("m-2", json!({})),
        suite::doc("m-1", json!({"name": "one"})),
    ];
    let store = MemoryStore::with_documents(documents.clone()).unwrap();
    let listed = store.list(None, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|s| s.document.clone())
            .collect::<Vec<_>>(),
        [documents[1].clone(), documents[0].clone()]
    );
    assert_eq!(listed[0].etag, ETag::of(&documents[1]));
    assert!(store.audit(&AuditQuery::new(10)).await.unwrap().is_empty());
    let mut no_id = suite::doc("x", json!({}));
    no_id.remove("id");
    assert!(matches!(
        MemoryStore::with_documents([no_id]),
        Err(StoreError::Unavailable(_))
    ));
}
