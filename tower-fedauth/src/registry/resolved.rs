//! What the registry cache keeps for a registration: the registration and
//! what every request derives from it, computed once per load instead of
//! once per request.

use std::collections::HashMap;
use std::sync::Arc;

use crate::context::Roles;
use crate::metrics::AcceptedCounter;
use crate::registration::Registration;

/// A registration as loaded into the registry cache, with the roles of
/// each of its properties and its `accepted` counter ready for requests.
#[derive(Debug)]
pub(crate) struct Resolved {
    registration: Arc<Registration>,
    /// `roles` alone: requests without a property.
    roles: Roles,
    /// `roles ∪ properties[p]` for each property `p` the app is enabled in.
    property_roles: HashMap<String, Roles>,
    accepted: AcceptedCounter,
}

impl Resolved {
    /// Derive the per-request answers of `registration`.
    pub(crate) fn new(registration: Arc<Registration>) -> Self {
        // `Registration::roles_in` is the one definition of the merge.
        let roles_in = |property| Roles::new(registration.roles_in(property).unwrap_or_default());
        let property_roles = registration
            .properties
            .keys()
            .map(|property| (property.clone(), roles_in(Some(property.as_str()))))
            .collect();
        Self {
            roles: roles_in(None),
            property_roles,
            accepted: AcceptedCounter::default(),
            registration,
        }
    }

    /// The registration itself.
    pub(crate) fn registration(&self) -> &Arc<Registration> {
        &self.registration
    }

    /// The roles of a request for `property` (`None`: no property), or
    /// `None` when the app is not enabled in that property — the same
    /// answer as [`Registration::roles_in`], without building it.
    pub(crate) fn roles_in(&self, property: Option<&str>) -> Option<&Roles> {
        match property {
            None => Some(&self.roles),
            Some(property) => self.property_roles.get(property),
        }
    }

    /// Count an accepted request of this registration (`labelled`: with
    /// its id as a label, when the authenticator opted in).
    pub(crate) fn count_accepted(&self, labelled: bool) {
        self.accepted
            .increment(self.registration.id.shared(), labelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::{Provider, Registration};

    /// The precomputed answers are `Registration::roles_in`'s, property by
    /// property, duplicates and order included.
    #[test]
    fn roles_match_the_registration_for_every_property() {
        let mut reg = Registration::builder("quid-1", Provider::Jwks)
            .client_id("app-1")
            .issuer("https://idp.example")
            .jwks_uri("https://idp.example/keys")
            .build()
            .unwrap();
        reg.roles = vec!["writer".into(), "reader".into(), "writer".into()];
        reg.properties
            .insert("p-1".into(), vec!["admin".into(), "reader".into()]);
        reg.properties.insert("p-2".into(), vec![]);
        let resolved = Resolved::new(Arc::new(reg.clone()));
        for property in [None, Some("p-1"), Some("p-2"), Some("p-3"), Some("")] {
            let expected = reg.roles_in(property).map(Roles::new);
            assert_eq!(
                resolved.roles_in(property).cloned(),
                expected,
                "{property:?}"
            );
        }
        assert_eq!(
            resolved.roles_in(Some("p-1")).unwrap().as_slice(),
            ["admin", "reader", "writer"]
        );
        assert_eq!(
            resolved.roles_in(None).unwrap().as_slice(),
            ["reader", "writer"]
        );
        assert_eq!(resolved.roles_in(Some("p-3")), None);
    }
}
