//! Route requirements: what a route asks of an authenticated request
//! beyond valid credentials, checked after the authenticator accepted it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::step_up::StepUp;
use super::{RequestAuth, render_refusal, scope};
use crate::authenticator::Authenticator;
use crate::context::AuthContext;
use crate::error::{AuthError, RenderedRefusal};
use crate::verify::now_unix;

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

/// An OAuth scope known at compile time, for the adapters' typed
/// `RequireScope<S>` extractors.
///
/// ```
/// struct Read;
/// impl tower_fedauth::adapter::ScopeName for Read {
///     const NAME: &'static str = "read";
/// }
/// ```
pub trait ScopeName: Send + Sync + 'static {
    /// The scope.
    const NAME: &'static str;
}

/// A step-up rule known at compile time (RFC 9470), for the adapters'
/// typed `RequireStepUp<P>` extractors; see [`Requirement::step_up`].
///
/// ```
/// use std::time::Duration;
///
/// struct Mfa;
/// impl tower_fedauth::adapter::StepUpPolicy for Mfa {
///     const ACR: &'static [&'static str] = &["urn:example:mfa"];
///     const MAX_AGE: Option<Duration> = Some(Duration::from_secs(300));
/// }
/// ```
pub trait StepUpPolicy: Send + Sync + 'static {
    /// The `acr` values accepted, any one of them; none: `acr` is not
    /// checked.
    const ACR: &'static [&'static str] = &[];
    /// The largest age of the user's authentication (`auth_time`), in
    /// whole seconds; `None`: `auth_time` is not checked.
    const MAX_AGE: Option<Duration> = None;
}

/// One thing a route requires of an authenticated request, checked after
/// the authenticator accepted it: a role the platform granted the
/// application ([`Requirement::role`], 403 `insufficient_role`), an OAuth
/// scope the token grants ([`Requirement::scope`], 403
/// `insufficient_scope`), or a strong or recent enough user
/// authentication ([`Requirement::step_up`], 401
/// `insufficient_user_authentication`).
///
/// The kinds are a private enum, so that another kind can be added (a
/// constructor and an arm of [`Requirement::check`]) without breaking a
/// caller. The route requirements of `docs/access-tokens.md` in the
/// repository show them in both adapters.
#[derive(Clone, PartialEq, Eq)]
pub struct Requirement(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    /// The application holds this role for the request (its registration's
    /// roles and the roles of the request's property).
    Role(Name),
    /// The token's `scope` or `scp` claim grants this scope.
    Scope(Name),
    /// The token's `acr` and `auth_time` meet the rule.
    StepUp(StepUp),
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

    /// The token grants the OAuth scope `scope`: its `scope` or its `scp`
    /// claim lists it (a string is a space-separated list, an array a list
    /// of strings; other values grant nothing). Otherwise 403
    /// `insufficient_scope`, whose challenge carries `scope="…"`.
    ///
    /// Scopes are what the user or the IdP let the calling application do;
    /// they are never platform roles, which only the registry grants.
    pub fn scope(scope: impl Into<Arc<str>>) -> Self {
        Self(Kind::Scope(Name::Shared(scope.into())))
    }

    /// The scope named by `S`, without allocating.
    pub const fn scope_of<S: ScopeName>() -> Self {
        Self(Kind::Scope(Name::Static(S::NAME)))
    }

    /// Step-up authentication (RFC 9470): when `acr` lists values, the
    /// token's `acr` claim must be one of them; when `max_age` is given,
    /// its `auth_time` must be at most that many whole seconds ago (a
    /// fraction of a second is dropped), and a token without `auth_time`
    /// is refused. Otherwise 401 `insufficient_user_authentication`, whose
    /// challenge carries `acr_values="…"` (space-separated) and `max_age=N`
    /// as the rule has them, so that the client knows what to ask its IdP
    /// for.
    ///
    /// The registration's clock leeway is not added to `max_age`: the
    /// leeway forgives clock skew on a token's validity window, while
    /// `max_age` is the route's own bound, sent to the client as it is; an
    /// `auth_time` ahead of the clock counts as just now. Empty `acr`
    /// values are ignored; a value must not contain a space, which
    /// separates the values of the challenge.
    pub fn step_up<A: AsRef<str>>(acr: &[A], max_age: Option<Duration>) -> Self {
        Self(Kind::StepUp(StepUp::new(acr, max_age)))
    }

    /// The step-up rule of `P`, without allocating.
    pub const fn step_up_of<P: StepUpPolicy>() -> Self {
        Self(Kind::StepUp(StepUp::of(P::ACR, P::MAX_AGE)))
    }

    /// The required role, when this requirement is one.
    pub fn as_role(&self) -> Option<&str> {
        match &self.0 {
            Kind::Role(name) => Some(name.as_str()),
            Kind::Scope(_) | Kind::StepUp(_) => None,
        }
    }

    /// The required scope, when this requirement is one.
    pub fn as_scope(&self) -> Option<&str> {
        match &self.0 {
            Kind::Scope(name) => Some(name.as_str()),
            Kind::Role(_) | Kind::StepUp(_) => None,
        }
    }

    /// `Ok` when `context` meets the requirement; otherwise its refusal,
    /// counted in the decision metrics.
    pub fn check(&self, context: &AuthContext) -> Result<(), AuthError> {
        let refused = match &self.0 {
            Kind::Role(name) => return context.require_role(name.as_str()),
            Kind::Scope(name) => scope::check(context.claims(), name.as_str()),
            Kind::StepUp(rule) => rule.check(context.claims(), now_unix()),
        };
        refused.inspect_err(|error| {
            let id = context.registration().id.shared();
            crate::metrics::refused(error, Some(id), context.registration_label());
        })
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Role(name) => f.debug_tuple("Role").field(&name.as_str()).finish(),
            Kind::Scope(name) => f.debug_tuple("Scope").field(&name.as_str()).finish(),
            Kind::StepUp(rule) => fmt::Debug::fmt(rule, f),
        }
    }
}

/// A [`Requirement`] and how to render its refusals: the state of both
/// adapters' route guards (`require_role(..)`, `require_scope(..)`,
/// `require_step_up(..)`), which only add their framework's middleware
/// plumbing.
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
