//! A registration's JSON form checked on its own, for tools that store one
//! rather than a whole registry file (the admin API, `docs/admin-api.md` in
//! the repository): the same rules as a registry file's entry.

use serde_json::Value;

use super::{Registration, RegistrationError, from_value};

impl Registration {
    /// Validate one registration written in the registry format's JSON form
    /// (an object with the keys of `docs/registry.md` in the repository),
    /// by the rules a registry file's entry goes through. A refusal names
    /// the first broken rule's field (`introspection.endpoint` for nested
    /// ones).
    pub fn from_document(document: &Value) -> Result<Registration, RegistrationError> {
        from_value(document)
    }
}
