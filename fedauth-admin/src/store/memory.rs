//! The in-memory store: demo mode and tests. One mutex over the
//! registrations and the log, so a change and its record are one step.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::{AdminStore, AuditQuery, AuditRecord, Change, StoreError, Stored};

/// Registrations and their audit log in memory; gone when dropped.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    registrations: BTreeMap<String, Stored>,
    log: Vec<AuditRecord>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding these registration documents (each with its `id`),
    /// and an empty audit log: the demo's starting point.
    pub fn with_documents(
        documents: impl IntoIterator<Item = Map<String, Value>>,
    ) -> Result<Self, StoreError> {
        let mut registrations = BTreeMap::new();
        for document in documents {
            let id = super::document_id(&document)?;
            registrations.insert(id.clone(), Stored::new(id, document));
        }
        Ok(Self {
            state: Mutex::new(State {
                registrations,
                log: Vec::new(),
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock, but a poisoned lock still
        // holds consistent data: every step writes after its checks.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl AdminStore for MemoryStore {
    async fn get(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        Ok(self.state().registrations.get(id).cloned())
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, StoreError> {
        Ok(super::page(
            self.state().registrations.values(),
            after,
            limit,
        ))
    }

    async fn enabled_in(&self, property: &str) -> Result<Vec<Stored>, StoreError> {
        Ok(super::enabled_in(
            self.state().registrations.values(),
            property,
        ))
    }

    async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        let mut state = self.state();
        let current = state.registrations.get(&change.id);
        super::check(&change, current)?;
        let seq = state.log.last().map_or(1, |r| r.seq + 1);
        let record = change.audit.stored_as(seq);
        let after = super::new_state(&change.id, change.document);
        match &after {
            Some(stored) => state.registrations.insert(change.id, stored.clone()),
            None => state.registrations.remove(&change.id),
        };
        state.log.push(record);
        Ok(after)
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(super::newest_first(self.state().log.iter(), query))
    }
}
