//! Route requirements as a tower layer: `route_layer(require_role("admin"))`,
//! `require_scope("read")`, `require_step_up(..)`. The check and its
//! refusal are the core's [`Guard`]; this is the tower plumbing around it.

use std::future::{Ready, ready};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::Response;
use futures_util::future::Either;
use http::Request;
use tower_fedauth::Authenticator;
use tower_fedauth::adapter::{Guard, RequestAuth, Requirement};
use tower_layer::Layer;
use tower_service::Service;

use crate::rejection::refusal_response;

/// Refuse requests whose application does not hold `role`: 403
/// `insufficient_role` (`WWW-Authenticate: Bearer realm="fedauth",
/// error="insufficient_scope", ...`), or 401 `missing_token` when no
/// [`FedAuthLayer`](tower_fedauth::FedAuthLayer) authenticated the request.
///
/// Put it *inside* the authentication layer, e.g. on one route:
///
/// ```
/// use axum::{Router, routing::get};
/// use fedauth_axum::require_role;
///
/// let admin: Router = Router::new()
///     .route("/properties/{property}/admin", get(|| async { "hello admin" }))
///     .route_layer(require_role("admin"));
/// ```
pub fn require_role(role: impl Into<String>) -> RequireLayer {
    require(Requirement::role(role.into()))
}

/// Refuse requests whose token does not grant the OAuth scope `scope` (its
/// `scope` or `scp` claim): 403 `insufficient_scope` with `scope="…"` in
/// the challenge, or 401 `missing_token` when no
/// [`FedAuthLayer`](tower_fedauth::FedAuthLayer) authenticated the
/// request. Scopes are the token's, never platform roles: see
/// [`Requirement::scope`].
///
/// ```
/// use axum::{Router, routing::get};
/// use fedauth_axum::require_scope;
///
/// let reports: Router = Router::new()
///     .route("/reports", get(|| async { "reports" }))
///     .route_layer(require_scope("reports:read"));
/// ```
pub fn require_scope(scope: impl Into<String>) -> RequireLayer {
    require(Requirement::scope(scope.into()))
}

/// Refuse requests whose user authentication is not strong or recent
/// enough (RFC 9470): the token's `acr` must be one of `acr` (when any are
/// given) and its `auth_time` at most `max_age` ago (when given). Otherwise
/// 401 `insufficient_user_authentication` with `acr_values="…"` and
/// `max_age=N` in the challenge; see [`Requirement::step_up`].
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::post};
/// use fedauth_axum::require_step_up;
///
/// let transfers: Router = Router::new()
///     .route("/transfers", post(|| async { "sent" }))
///     .route_layer(require_step_up(&["urn:example:mfa"], Some(Duration::from_secs(300))));
/// ```
pub fn require_step_up<A: AsRef<str>>(acr: &[A], max_age: Option<Duration>) -> RequireLayer {
    require(Requirement::step_up(acr, max_age))
}

/// Refuse requests that do not meet `requirement` (the layer of
/// [`require_role`], [`require_scope`] and [`require_step_up`]).
///
/// Several requirements on one route are several layers; axum runs the
/// last `route_layer` first, so add them in reverse of the order of
/// refusals (`docs/refusals.md` in the repository: role, then scope, then
/// step-up) to keep its answers those of the order of checks.
pub fn require(requirement: Requirement) -> RequireLayer {
    RequireLayer {
        guard: Guard::new(requirement),
    }
}

/// The layer of [`require`], [`require_role`], [`require_scope`] and
/// [`require_step_up`].
#[derive(Debug, Clone)]
pub struct RequireLayer {
    guard: Guard,
}

impl RequireLayer {
    /// Render refusals with this authenticator's realm and responder (the
    /// default is realm `fedauth` and the JSON refusal body).
    pub fn rendered_by(self, auth: &Authenticator) -> Self {
        let guard = self.guard.rendered_by(auth);
        Self { guard }
    }

    /// What the layer requires.
    pub fn requirement(&self) -> &Requirement {
        self.guard.requirement()
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service of [`RequireLayer`].
#[derive(Debug, Clone)]
pub struct RequireService<S> {
    inner: S,
    guard: Guard,
}

impl<S, B> Service<Request<B>> for RequireService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self
            .guard
            .check(RequestAuth::of(req.extensions(), req.headers()))
        {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(error) => {
                let rendered = self.guard.render(&error);
                Either::Left(ready(Ok(refusal_response(rendered, error))))
            }
        }
    }
}
