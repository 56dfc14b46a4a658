//! Registrations held in memory, managed by code (tests, admin APIs, a
//! source that syncs from elsewhere).

use std::sync::{Arc, PoisonError, RwLock};

use futures_util::future::BoxFuture;

use super::map::Registrations;
use super::{RegistryLoadError, RegistrySource, SourceError};
use crate::registration::Registration;

/// A registry built in code. Changes take effect at once for the next
/// lookup; a [`CachedRegistry`](super::CachedRegistry) in front of it must
/// be invalidated to see them before its TTL.
#[derive(Default)]
pub struct InMemoryRegistry {
    // std lock: only held to clone or swap the snapshot, never across an
    // await. A panic elsewhere cannot leave it half-written (every write is
    // one swap or one map operation), so a poisoned lock is still safe.
    current: RwLock<Arc<Registrations>>,
}

impl InMemoryRegistry {
    /// A registry of these registrations; duplicate ids are refused, as in
    /// a registry file.
    pub fn new(registrations: Vec<Registration>) -> Result<Self, RegistryLoadError> {
        Ok(Self {
            current: RwLock::new(Arc::new(Registrations::build(registrations)?)),
        })
    }

    /// Add or replace one registration; returns the one it replaced.
    pub fn insert(&self, registration: Registration) -> Option<Arc<Registration>> {
        self.change(|all| all.insert(registration))
    }

    /// Remove a registration; returns it if it was there.
    pub fn remove(&self, id: &str) -> Option<Arc<Registration>> {
        self.change(|all| all.remove(id))
    }

    /// Swap in a whole new set at once (nothing changes on error), so that
    /// readers never see a half-updated registry.
    pub fn replace_all(&self, registrations: Vec<Registration>) -> Result<(), RegistryLoadError> {
        let all = Registrations::build(registrations)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(all);
        Ok(())
    }

    /// What it serves now.
    pub fn registrations(&self) -> Arc<Registrations> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Apply `edit` to the set (copied if a reader holds it).
    fn change<T>(&self, edit: impl FnOnce(&mut Registrations) -> T) -> T {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        edit(Arc::make_mut(&mut current))
    }
}

impl RegistrySource for InMemoryRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        let found = self.registrations().get(id);
        Box::pin(async move { Ok(found) })
    }

    fn describe(&self) -> String {
        let count = self.registrations().len();
        format!("in-memory registry ({count} registrations)")
    }
}

impl std::fmt::Debug for InMemoryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryRegistry")
            .field("ids", &self.registrations().ids())
            .finish()
    }
}
