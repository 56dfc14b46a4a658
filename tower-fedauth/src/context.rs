//! What a verified request hands to its handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::binding::Confirmation;
use crate::claims::Claims;
use crate::directory::User;
use crate::error::{AuthError, ErrorCode};
use crate::registration::Registration;

/// The roles the platform granted the application for this request:
/// registration `roles` ∪ the roles of the request's property. Sorted, unique.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Roles(Arc<[String]>);

impl Roles {
    /// Build from any list; sorts and removes duplicates.
    pub fn new(mut roles: Vec<String>) -> Self {
        roles.sort_unstable();
        roles.dedup();
        Self(roles.into())
    }

    /// Whether `role` is held.
    pub fn contains(&self, role: &str) -> bool {
        self.0.binary_search_by(|r| r.as_str().cmp(role)).is_ok()
    }

    /// The roles, sorted.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Iterate over the roles.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Who the caller is, mapped from the claims by the registration's `claims`
/// table (principal mapping: `docs/registry.md` in the repository).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Principal {
    /// The subject claim's value.
    pub subject: String,
    /// The user name, if the mapped claim is present.
    pub username: Option<String>,
    /// The email, if present. Never authorise on it (it may be unverified).
    pub email: Option<String>,
    /// Claims copied by `persist`.
    pub attributes: BTreeMap<String, Value>,
}

/// What the token itself established: the same for every request that
/// presents it, so the verified-token cache shares it between them.
#[derive(Debug)]
pub(crate) struct TokenFacts {
    pub(crate) issuer: Option<String>,
    pub(crate) principal: Principal,
    pub(crate) claims: Claims,
    /// What the token is bound to (its `cnf`), checked on every request.
    pub(crate) confirmation: Confirmation,
}

impl TokenFacts {
    /// The facts of a verified token (or introspection answer): its
    /// confirmation is read from its `cnf` claim; `token` is what was
    /// verified, whose hash a DPoP proof's `ath` must carry.
    pub(crate) fn new(
        issuer: Option<String>,
        principal: Principal,
        claims: Claims,
        token: &str,
    ) -> Self {
        let confirmation = Confirmation::of(claims.as_map(), token);
        Self {
            issuer,
            principal,
            claims,
            confirmation,
        }
    }
}

#[derive(Debug, Clone)]
struct Inner {
    registration: Arc<Registration>,
    property: Option<String>,
    roles: Roles,
    token: Arc<TokenFacts>,
    user: Option<Arc<User>>,
    /// A fresh DPoP server nonce for the response's `DPoP-Nonce` header.
    dpop_nonce: Option<Arc<str>>,
    /// Whether its refusals are counted with the registration id as a
    /// metric label (the authenticator's setting).
    registration_label: bool,
}

/// The outcome of a successful authentication, put in request extensions.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuthContext(Arc<Inner>);

impl AuthContext {
    /// Assemble a context (the authenticator does this).
    pub fn new(
        registration: Arc<Registration>,
        issuer: Option<String>,
        property: Option<String>,
        roles: Roles,
        principal: Principal,
        claims: Claims,
    ) -> Self {
        let token = Arc::new(TokenFacts {
            issuer,
            principal,
            claims,
            confirmation: Confirmation::default(),
        });
        Self::from_facts(registration, property, roles, token, false)
    }

    /// Assemble a context around facts already established (a cache hit).
    pub(crate) fn from_facts(
        registration: Arc<Registration>,
        property: Option<String>,
        roles: Roles,
        token: Arc<TokenFacts>,
        registration_label: bool,
    ) -> Self {
        Self(Arc::new(Inner {
            registration,
            property,
            roles,
            token,
            user: None,
            dpop_nonce: None,
            registration_label,
        }))
    }

    /// Whether decisions about this context are counted with the
    /// registration id as a metric label.
    pub(crate) fn registration_label(&self) -> bool {
        self.0.registration_label
    }

    /// Attach the user directory's record of the subject.
    pub fn with_user(mut self, user: Option<Arc<User>>) -> Self {
        Arc::make_mut(&mut self.0).user = user;
        self
    }

    /// Attach a fresh DPoP server nonce for the response.
    pub(crate) fn with_dpop_nonce(mut self, nonce: Arc<str>) -> Self {
        Arc::make_mut(&mut self.0).dpop_nonce = Some(nonce);
        self
    }

    /// A fresh DPoP server nonce the response should carry in its
    /// `DPoP-Nonce` header (RFC 9449 §8.2): set when the request's proof
    /// carried the previous one. The tower layer and the actix middleware
    /// add the header.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.0.dpop_nonce.as_deref()
    }

    /// What the token is bound to.
    pub(crate) fn confirmation(&self) -> &Confirmation {
        &self.0.token.confirmation
    }

    /// The user directory's record of the subject, when a directory is
    /// configured and knows the user.
    pub fn user(&self) -> Option<&User> {
        self.0.user.as_deref()
    }

    /// The application registration the caller named.
    pub fn registration(&self) -> &Arc<Registration> {
        &self.0.registration
    }

    /// The registration id.
    pub fn registration_id(&self) -> &str {
        self.0.registration.id.as_str()
    }

    /// The token's verified issuer, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.0.token.issuer.as_deref()
    }

    /// The subject (the principal's subject).
    pub fn subject(&self) -> &str {
        &self.0.token.principal.subject
    }

    /// The property this request is for, if the resolver found one.
    pub fn property(&self) -> Option<&str> {
        self.0.property.as_deref()
    }

    /// The granted roles.
    pub fn roles(&self) -> &Roles {
        &self.0.roles
    }

    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.0.token.principal
    }

    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.0.token.claims
    }

    /// `Ok` when the application holds `role` for this request; otherwise
    /// the 403 `insufficient_role` refusal, counted in the decision metrics.
    /// Both adapters' role guards and extractors use this.
    pub fn require_role(&self, role: &str) -> Result<(), AuthError> {
        if self.0.roles.contains(role) {
            return Ok(());
        }
        let detail = match self.property() {
            Some(property) => format!(
                "the route requires the role `{role}`, which the application does not hold in property `{property}`"
            ),
            None => {
                format!("the route requires the role `{role}`, which the application does not hold")
            }
        };
        let error =
            AuthError::at(ErrorCode::InsufficientRole, detail, "role", "route").with_value(role);
        let id = self.0.registration.id.shared();
        crate::metrics::refused(&error, Some(id), self.0.registration_label);
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_sorted_unique_and_searchable() {
        let r = Roles::new(vec!["reader".into(), "admin".into(), "reader".into()]);
        assert_eq!(r.as_slice(), ["admin", "reader"]);
        assert!(r.contains("admin") && !r.contains("owner"));
    }
}
