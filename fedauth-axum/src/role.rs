//! Role checks as a tower layer: `route_layer(require_role("admin"))`.
//! The check and its refusal are the core's [`Guard`]; this is the tower
//! plumbing around it.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

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
pub fn require_role(role: impl Into<String>) -> RequireRoleLayer {
    RequireRoleLayer {
        guard: Guard::new(Requirement::role(role.into())),
    }
}

/// The layer of [`require_role`].
#[derive(Debug, Clone)]
pub struct RequireRoleLayer {
    guard: Guard,
}

impl RequireRoleLayer {
    /// Render refusals with this authenticator's realm and responder (the
    /// default is realm `fedauth` and the JSON refusal body).
    pub fn rendered_by(self, auth: &Authenticator) -> Self {
        let guard = self.guard.rendered_by(auth);
        Self { guard }
    }

    /// The required role.
    pub fn role(&self) -> &str {
        self.guard.requirement().as_role().unwrap_or_default()
    }
}

impl<S> Layer<S> for RequireRoleLayer {
    type Service = RequireRoleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRoleService {
            inner,
            guard: self.guard.clone(),
        }
    }
}

/// The service of [`RequireRoleLayer`].
#[derive(Debug, Clone)]
pub struct RequireRoleService<S> {
    inner: S,
    guard: Guard,
}

impl<S, B> Service<Request<B>> for RequireRoleService<S>
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
