//! Registrations held in memory, managed by code (tests, admin APIs, a
//! source that syncs from elsewhere).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use futures_util::future::BoxFuture;

use super::parse::check_unique;
use super::{RegistryLoadError, RegistrySource, SourceError};
use crate::registration::{Registration, RegistrationId};

type Map = HashMap<RegistrationId, Arc<Registration>>;

/// A registry built in code. Changes take effect at once for the next
/// lookup; a [`CachedRegistry`](super::CachedRegistry) in front of it must
/// be invalidated to see them before its TTL.
#[derive(Default)]
pub struct InMemoryRegistry {
    // std lock: only held for a map access, never across an await.
    map: RwLock<Map>,
}

fn build(registrations: Vec<Registration>) -> Result<Map, RegistryLoadError> {
    check_unique(&registrations)?;
    Ok(registrations
        .into_iter()
        .map(|r| (r.id.clone(), Arc::new(r)))
        .collect())
}

impl InMemoryRegistry {
    /// A registry of these registrations; duplicate ids are refused, as in
    /// a registry file.
    pub fn new(registrations: Vec<Registration>) -> Result<Self, RegistryLoadError> {
        Ok(Self {
            map: RwLock::new(build(registrations)?),
        })
    }

    /// Add or replace one registration; returns the one it replaced.
    pub fn insert(&self, registration: Registration) -> Option<Arc<Registration>> {
        self.write()
            .insert(registration.id.clone(), Arc::new(registration))
    }

    /// Remove a registration; returns it if it was there.
    pub fn remove(&self, id: &str) -> Option<Arc<Registration>> {
        self.write().remove(id)
    }

    /// Swap in a whole new set at once (nothing changes on error), so that
    /// readers never see a half-updated registry.
    pub fn replace_all(&self, registrations: Vec<Registration>) -> Result<(), RegistryLoadError> {
        let map = build(registrations)?;
        *self.write() = map;
        Ok(())
    }

    /// The registration with this id, without going through a future.
    pub fn lookup(&self, id: &str) -> Option<Arc<Registration>> {
        self.read().get(id).cloned()
    }

    /// How many registrations there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The ids, sorted.
    pub fn ids(&self) -> Vec<RegistrationId> {
        let mut ids: Vec<_> = self.read().keys().cloned().collect();
        ids.sort();
        ids
    }

    // A panic elsewhere cannot leave the map half-written (every write is a
    // single map operation), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RegistrySource for InMemoryRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        let found = self.lookup(id);
        Box::pin(async move { Ok(found) })
    }

    fn describe(&self) -> String {
        format!("in-memory registry ({} registrations)", self.len())
    }
}

impl std::fmt::Debug for InMemoryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryRegistry")
            .field("ids", &self.ids())
            .finish()
    }
}
