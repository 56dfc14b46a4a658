//! Role checks as a tower layer: `route_layer(require_role("admin"))`.

use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use futures_util::future::Either;
use http::Request;
use tower_fedauth::{AuthContext, Authenticator};
use tower_layer::Layer;
use tower_service::Service;

use crate::rejection::{Rejection, missing_context};

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
        role: Arc::from(role.into()),
        auth: None,
    }
}

/// The layer of [`require_role`].
#[derive(Debug, Clone)]
pub struct RequireRoleLayer {
    role: Arc<str>,
    auth: Option<Authenticator>,
}

impl RequireRoleLayer {
    /// Render refusals with this authenticator's realm and responder (the
    /// default is realm `fedauth` and the default JSON refusal body).
    pub fn rendered_by(mut self, auth: &Authenticator) -> Self {
        self.auth = Some(auth.clone());
        self
    }

    /// The required role.
    pub fn role(&self) -> &str {
        &self.role
    }
}

impl<S> Layer<S> for RequireRoleLayer {
    type Service = RequireRoleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRoleService {
            inner,
            role: self.role.clone(),
            auth: self.auth.clone(),
        }
    }
}

/// The service of [`RequireRoleLayer`].
#[derive(Debug, Clone)]
pub struct RequireRoleService<S> {
    inner: S,
    role: Arc<str>,
    auth: Option<Authenticator>,
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
        let refusal: Rejection = match req.extensions().get::<AuthContext>() {
            Some(ctx) => match ctx.require_role(&self.role) {
                Ok(()) => return Either::Right(self.inner.call(req)),
                Err(error) => error.into(),
            },
            None => missing_context(req.headers()),
        };
        let response = match &self.auth {
            Some(auth) => refusal.render_with(auth),
            None => axum::response::IntoResponse::into_response(refusal),
        };
        Either::Left(ready(Ok(response)))
    }
}
