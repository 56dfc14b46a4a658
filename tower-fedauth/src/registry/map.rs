//! [`Registrations`]: registrations by id, as the sources that hold them in
//! memory (a registry file, a registry built in code) keep and serve them.

use std::collections::HashMap;
use std::sync::Arc;

use super::RegistryLoadError;
use super::parse::check_unique;
use crate::registration::{Registration, RegistrationId};

/// A set of registrations by id, read without a future. Sources hand out a
/// shared snapshot of it, so a reader never sees a half-applied change.
#[derive(Debug, Clone, Default)]
pub struct Registrations {
    by_id: HashMap<RegistrationId, Arc<Registration>>,
}

impl Registrations {
    /// The set of `registrations`; duplicate ids are refused, as in a
    /// registry file.
    pub(crate) fn build(registrations: Vec<Registration>) -> Result<Self, RegistryLoadError> {
        check_unique(&registrations)?;
        Ok(Self {
            by_id: registrations
                .into_iter()
                .map(|r| (r.id.clone(), Arc::new(r)))
                .collect(),
        })
    }

    /// The registration with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Registration>> {
        self.by_id.get(id).cloned()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The ids, sorted.
    pub fn ids(&self) -> Vec<RegistrationId> {
        let mut ids: Vec<_> = self.by_id.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Add or replace one; the one it replaced.
    pub(crate) fn insert(&mut self, registration: Registration) -> Option<Arc<Registration>> {
        self.by_id
            .insert(registration.id.clone(), Arc::new(registration))
    }

    /// Remove one; it, if it was there.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Arc<Registration>> {
        self.by_id.remove(id)
    }
}
