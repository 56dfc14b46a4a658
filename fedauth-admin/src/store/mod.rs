//! Where the admin API keeps registrations and its audit log.
//!
//! [`AdminStore`] is what the API needs from a store: read one registration,
//! list them in id order, find those enabled in a property, apply a change
//! together with its audit record (both or neither), and read the audit log
//! newest first. Three stores implement it: [`MemoryStore`] (demo mode and
//! tests), [`FileStore`] (the registry file itself, rewritten atomically)
//! and `PostgresStore` (feature `postgres`, the core's registrations table).
//! How each one keeps "both or neither" is in the repository's
//! `docs/admin-stores.md`.

use serde_json::{Map, Value};

mod audit;
mod etag;
mod file;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;

pub use audit::{Actor, AuditAction, AuditQuery, AuditRecord, UnknownName};
pub use etag::ETag;
pub use file::FileStore;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresStoreConfig};

/// A registration as stored: its JSON form (registry.md), real secrets
/// included. `document["id"]` always equals `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The registration's id (its QUID).
    pub id: String,
    /// The registration's JSON form, as the registry reads it.
    pub document: Map<String, Value>,
    /// The entity tag of `document`, the same on every store.
    pub etag: ETag,
}

impl Stored {
    /// A stored registration: its entity tag computed from `document`.
    pub fn new(id: impl Into<String>, document: Map<String, Value>) -> Self {
        let etag = ETag::of(&document);
        Self {
            id: id.into(),
            document,
            etag,
        }
    }
}

/// What must hold of the stored registration for a change to apply; the
/// store checks it inside the change's atomic step, so two writers that
/// read the same state cannot both win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No registration with this id exists (create).
    Absent,
    /// A registration with this id exists, whatever its state.
    Exists,
    /// The registration exists and its entity tag is this one (`If-Match`).
    Matches(ETag),
}

/// One change to one registration, with the audit record that describes it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Change {
    /// The registration changed.
    pub id: String,
    /// What must hold before the change, checked atomically with it.
    pub precondition: Precondition,
    /// The new document (its `id` is set to [`Change::id`], its `null`
    /// members are dropped); `None` deletes.
    pub document: Option<Map<String, Value>>,
    /// What the audit log records; its `seq` and `at` are assigned by the
    /// store.
    pub audit: AuditRecord,
}

impl Change {
    /// A change of `id` to `document` (`None` deletes) when `precondition`
    /// holds, recorded as `audit`.
    pub fn new(
        id: impl Into<String>,
        precondition: Precondition,
        document: Option<Map<String, Value>>,
        audit: AuditRecord,
    ) -> Self {
        Self {
            id: id.into(),
            precondition,
            document,
            audit,
        }
    }
}

/// Why a store did not answer or did not apply a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The change's precondition does not hold: the entity tag differs, or
    /// the registration exists where it must be absent, or is missing where
    /// it must exist. Nothing was changed.
    #[error("the registration is not in the expected state")]
    PreconditionFailed,
    /// No such registration. The stores of this crate answer a change of
    /// a missing registration with `PreconditionFailed` (its precondition
    /// said what it expected); this is for stores that tell them apart.
    #[error("no such registration")]
    NotFound,
    /// The store failed or is held by another process (the file store's
    /// lock); nothing was changed. The message is for logs only.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// What the admin API needs from a store. Object-safe: the API holds an
/// `Arc<dyn AdminStore>`.
#[async_trait::async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// The registration with this id, or `None`.
    async fn get(&self, id: &str) -> Result<Option<Stored>, StoreError>;

    /// Registrations ordered by id, ids strictly after `after`, at most
    /// `limit`.
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, StoreError>;

    /// Registrations whose `properties` has the key `property`, ordered by
    /// id.
    async fn enabled_in(&self, property: &str) -> Result<Vec<Stored>, StoreError>;

    /// Applies the change and appends its audit record, atomically: both or
    /// neither. Returns the new state (`None` after a delete).
    async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError>;

    /// Audit records matching the query, newest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// The `id` of a registration document, which every store requires.
pub(crate) fn document_id(document: &Map<String, Value>) -> Result<String, StoreError> {
    match document.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(StoreError::Unavailable(
            "a stored registration has no string `id`".into(),
        )),
    }
}

/// Whether `change` may apply to `current`: its precondition holds, and a
/// delete has something to delete.
pub(crate) fn check(change: &Change, current: Option<&Stored>) -> Result<(), StoreError> {
    let holds = match (&change.precondition, current) {
        (Precondition::Absent, None) => change.document.is_some(),
        (Precondition::Exists, Some(_)) => true,
        (Precondition::Matches(tag), Some(stored)) => stored.etag == *tag,
        _ => false,
    };
    if holds {
        Ok(())
    } else {
        Err(StoreError::PreconditionFailed)
    }
}

/// The state after a change: the document with its `id` set and its
/// `null` members dropped, or `None`.
pub(crate) fn new_state(id: &str, document: Option<Map<String, Value>>) -> Option<Stored> {
    document.map(|mut document| {
        drop_nulls(&mut document);
        document.insert("id".into(), Value::String(id.to_owned()));
        Stored::new(id, document)
    })
}

/// A `null` member means "absent" (as in a JSON merge patch); TOML has no
/// null, so every store keeps the document without them.
fn drop_nulls(object: &mut Map<String, Value>) {
    object.retain(|_, value| !value.is_null());
    for value in object.values_mut() {
        match value {
            Value::Object(inner) => drop_nulls(inner),
            Value::Array(items) => items.iter_mut().for_each(|item| {
                if let Value::Object(inner) = item {
                    drop_nulls(inner);
                }
            }),
            _ => {}
        }
    }
}

/// One page of registrations in id order (the input is in id order).
pub(crate) fn page<'a>(
    stored: impl Iterator<Item = &'a Stored>,
    after: Option<&str>,
    limit: usize,
) -> Vec<Stored> {
    stored
        .filter(|s| after.is_none_or(|a| s.id.as_str() > a))
        .take(limit)
        .cloned()
        .collect()
}

/// Whether a registration document is enabled in `property`.
pub(crate) fn is_enabled_in(document: &Map<String, Value>, property: &str) -> bool {
    document
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.contains_key(property))
}

/// The registrations enabled in `property` (the input is in id order).
pub(crate) fn enabled_in<'a>(
    stored: impl Iterator<Item = &'a Stored>,
    property: &str,
) -> Vec<Stored> {
    stored
        .filter(|s| is_enabled_in(&s.document, property))
        .cloned()
        .collect()
}

/// The records of `query`, newest first (the input is oldest first).
pub(crate) fn newest_first<'a>(
    log: impl DoubleEndedIterator<Item = &'a AuditRecord>,
    query: &AuditQuery,
) -> Vec<AuditRecord> {
    log.rev()
        .filter(|r| query.matches(r))
        .take(query.limit)
        .cloned()
        .collect()
}
