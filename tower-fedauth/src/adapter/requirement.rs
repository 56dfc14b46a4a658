//! Route requirements: what a route asks of an authenticated request
//! beyond valid credentials, checked after the authenticator accepted it.

use std::fmt;
use std::sync::Arc;

use super::{RequestAuth, render_refusal};
use crate::authenticator::Authenticator;
use crate::context::AuthContext;
use crate::error::{AuthError, RenderedRefusal};

/// A role name known at compile time, for the adapters' typed
/// `RequireRole<R>` extractors.
///
/// ```
/// struct Admin;
/// impl tower_fedauth::adapter::RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
/// ```
pub trait RoleName: Send + Sync + 'static {
    /// The role.
    const NAME: &'static str;
}

/// One thing a route requires of an authenticated request; refused with
/// 403 when the request does not meet it.
///
/// Today the only kind is a role the platform granted the application
/// ([`Requirement::role`]). The kinds are a private enum, so that OAuth
/// scopes or step-up authentication can be added as one more kind (a
/// constructor and an arm of [`Requirement::check`]) without breaking a
/// caller.
#[derive(Clone, PartialEq, Eq)]
pub struct Requirement(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    /// The application holds this role for the request (its registration's
    /// roles and the roles of the request's property).
    Role(Name),
    // Scopes and step-up authentication go here, each with its arm in
    // `Requirement::check` and its refusal code.
}

/// A name that costs no allocation when known at compile time and one
/// shared allocation otherwise (a guard's copy per request is a count).
#[derive(Clone)]
enum Name {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    fn as_str(&self) -> &str {
        match self {
            Name::Static(name) => name,
            Name::Shared(name) => name,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl Requirement {
    /// The application holds `role` for this request; otherwise 403
    /// `insufficient_role`.
    pub fn role(role: impl Into<Arc<str>>) -> Self {
        Self(Kind::Role(Name::Shared(role.into())))
    }

    /// The role named by `R`, without allocating.
    pub const fn role_of<R: RoleName>() -> Self {
        Self(Kind::Role(Name::Static(R::NAME)))
    }

    /// The required role, when this requirement is one.
    pub fn as_role(&self) -> Option<&str> {
        match &self.0 {
            Kind::Role(name) => Some(name.as_str()),
        }
    }

    /// `Ok` when `context` meets the requirement; otherwise its refusal,
    /// counted in the decision metrics.
    pub fn check(&self, context: &AuthContext) -> Result<(), AuthError> {
        match &self.0 {
            Kind::Role(name) => context.require_role(name.as_str()),
        }
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Role(name) => f.debug_tuple("Role").field(&name.as_str()).finish(),
        }
    }
}

/// A [`Requirement`] and how to render its refusals: the state of both
/// adapters' route guards (`require_role(..)`), which only add their
/// framework's middleware plumbing.
#[derive(Debug, Clone)]
pub struct Guard {
    requirement: Requirement,
    auth: Option<Authenticator>,
}

impl Guard {
    /// A guard for `requirement`, rendering refusals with the default realm
    /// and the JSON body.
    pub fn new(requirement: Requirement) -> Self {
        Self {
            requirement,
            auth: None,
        }
    }

    /// Render refusals with this authenticator's realm and responder.
    pub fn rendered_by(mut self, auth: &Authenticator) -> Self {
        self.auth = Some(auth.clone());
        self
    }

    /// What the guard requires.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// `Ok` when the request meets the requirement; otherwise the refusal
    /// (401 `missing_token` when no authentication step left a context).
    pub fn check(&self, request: RequestAuth<'_>) -> Result<(), AuthError> {
        request.require(&self.requirement).map(drop)
    }

    /// A refusal of this guard, rendered as its settings say.
    pub fn render(&self, error: &AuthError) -> RenderedRefusal {
        render_refusal(error, self.auth.as_ref())
    }
}
