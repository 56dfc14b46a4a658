//! What every web-framework adapter shares, written once: the route
//! requirements (roles, OAuth scopes, step-up authentication), what an
//! extractor finds on a request, the refusal when it finds nothing, typed
//! claims, and how a refusal is rendered.
//!
//! This is the `axum-core` half of the split: `fedauth-axum` and
//! `fedauth-actix` are thin shells that read their framework's request into
//! a [`RequestAuth`], call the functions here, and turn the typed
//! [`AuthError`] into their framework's response through
//! [`render_refusal`]. So a refusal has the same status, code, body and
//! headers whichever adapter, extractor or guard gives it.
//!
//! Route requirements are values of [`Requirement`]; an adapter's guard
//! (`require_role(..)`, `require_scope(..)`, `require_step_up(..)`) holds
//! one in a [`Guard`], and its typed extractors (`RequireRole<R>`,
//! `RequireScope<S>`, `RequireStepUp<P>`) build one from a [`RoleName`], a
//! [`ScopeName`] or a [`StepUpPolicy`]. A new kind of route requirement is
//! one more variant of the private enum inside [`Requirement`], one
//! constructor and one arm of [`Requirement::check`]; the guards carry it
//! unchanged.

mod claims;
mod macros;
mod requirement;
mod scope;
mod step_up;

pub use requirement::{Guard, Requirement, RoleName, ScopeName, StepUpPolicy};

use crate::authenticator::Authenticator;
use crate::claims::Claims;
use crate::context::AuthContext;
use crate::error::{AuthError, ErrorCode, RenderedRefusal};
use serde::de::DeserializeOwned;

pub use crate::error::DEFAULT_REALM;

/// A refusal as status, headers and body: with the authenticator's realm
/// and responder when there is one, else with [`DEFAULT_REALM`] and the
/// JSON body. Every adapter renders through this.
pub fn render_refusal(error: &AuthError, auth: Option<&Authenticator>) -> RenderedRefusal {
    match auth {
        Some(auth) => auth.render(error),
        None => error.render(DEFAULT_REALM, None),
    }
}

/// What the authentication step (the tower layer, the actix middleware)
/// left on a request, as an extractor or a route guard sees it.
///
/// An adapter builds one from its framework's request ([`RequestAuth::of`]
/// for `http` types); the answers are the same for every framework.
#[derive(Debug, Clone, Copy)]
pub struct RequestAuth<'a> {
    context: Option<&'a AuthContext>,
    claims: Option<&'a Claims>,
    authorization: bool,
}

impl<'a> RequestAuth<'a> {
    /// From the request's verified context and claims (either may be
    /// absent) and whether it carried an `Authorization` header.
    pub fn new(
        context: Option<&'a AuthContext>,
        claims: Option<&'a Claims>,
        authorization: bool,
    ) -> Self {
        Self {
            context,
            claims,
            authorization,
        }
    }

    /// From an `http` request's extensions and headers (tower, axum).
    pub fn of(extensions: &'a http::Extensions, headers: &http::HeaderMap) -> Self {
        Self::new(
            extensions.get(),
            extensions.get(),
            headers.contains_key(http::header::AUTHORIZATION),
        )
    }

    /// The verified context, if the request has one; `None` on an
    /// anonymous request or a route without authentication.
    pub fn context(&self) -> Option<&'a AuthContext> {
        self.context
    }

    /// The verified context, or the refusal for its absence.
    pub fn require_context(&self) -> Result<&'a AuthContext, AuthError> {
        self.context
            .ok_or_else(|| missing_context(self.authorization))
    }

    /// The context, provided it meets `requirement`; otherwise the
    /// requirement's refusal (401 `missing_token` without a context).
    pub fn require(&self, requirement: &Requirement) -> Result<&'a AuthContext, AuthError> {
        let context = self.require_context()?;
        requirement.check(context)?;
        Ok(context)
    }

    /// The verified claims deserialised into `T`: `None` when the request
    /// has none, 401 `invalid_claims` when they do not fit `T`. The claims
    /// put on the request are preferred to the context's.
    pub fn claims<T: DeserializeOwned>(&self) -> Option<Result<T, AuthError>> {
        let claims = self
            .claims
            .or_else(|| self.context.map(AuthContext::claims))?;
        Some(claims::claims_as(claims))
    }

    /// [`RequestAuth::claims`], with 401 `missing_token` when the request
    /// has no claims.
    pub fn require_claims<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        self.claims()
            .unwrap_or_else(|| Err(missing_context(self.authorization)))
    }
}

/// No context on the request: 401 `missing_token`. A request that carried
/// an `Authorization` header yet has no context went through no
/// authentication step on this route, a wiring mistake worth a log line.
fn missing_context(authorization: bool) -> AuthError {
    if authorization {
        tracing::warn!(
            "a fedauth extractor or guard found no AuthContext although the request has an \
             Authorization header: is the fedauth layer or middleware applied to this route?"
        );
        AuthError::token(
            ErrorCode::MissingToken,
            "no verified credentials for this route",
        )
    } else {
        AuthError::token(ErrorCode::MissingToken, "no Authorization header")
    }
}

#[cfg(test)]
mod tests;
