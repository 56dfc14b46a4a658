//! Route requirements as actix middleware: `.wrap(require_role("admin"))`,
//! `.wrap(require_scope("read"))`, `.wrap(require_step_up(..))`. The check
//! and its refusal are the core's [`Guard`]; this is the actix plumbing
//! around it.

use std::future::{Ready, ready};
use std::time::Duration;

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::FutureExt as _;
use futures_util::future::{Either, Map};
use tower_fedauth::Authenticator;
use tower_fedauth::adapter::{Guard, Requirement};

use crate::response::{refusal_response, with_auth};

/// Refuse requests whose application does not hold `role`: 403
/// `insufficient_role` (`WWW-Authenticate: Bearer realm="fedauth",
/// error="insufficient_scope", ...`), or 401 `missing_token` when no
/// [`FedAuth`](crate::FedAuth) authenticated the request. Wrap it *inside*
/// `FedAuth` (actix runs the last `.wrap` first):
///
/// ```
/// use actix_web::web;
/// use fedauth_actix::{Auth, FedAuth, require_role};
/// # fn demo(auth: tower_fedauth::Authenticator) {
/// let admin = web::resource("/properties/{property}/admin")
///     .wrap(require_role("admin"))
///     .wrap(FedAuth::new(auth))
///     .route(web::get().to(|Auth(ctx): Auth| async move { ctx.subject().to_owned() }));
/// # let _ = admin;
/// # }
/// ```
pub fn require_role(role: impl Into<String>) -> RequireGuard {
    require(Requirement::role(role.into()))
}

/// Refuse requests whose token does not grant the OAuth scope `scope` (its
/// `scope` or `scp` claim): 403 `insufficient_scope` with `scope="…"` in
/// the challenge, or 401 `missing_token` when no
/// [`FedAuth`](crate::FedAuth) authenticated the request. Scopes are the
/// token's, never platform roles: see [`Requirement::scope`]. Wrap it
/// *inside* `FedAuth`:
///
/// ```
/// use actix_web::web;
/// use fedauth_actix::{Auth, FedAuth, require_scope};
/// # fn demo(auth: tower_fedauth::Authenticator) {
/// let reports = web::resource("/reports")
///     .wrap(require_scope("reports:read"))
///     .wrap(FedAuth::new(auth))
///     .route(web::get().to(|Auth(ctx): Auth| async move { ctx.subject().to_owned() }));
/// # let _ = reports;
/// # }
/// ```
pub fn require_scope(scope: impl Into<String>) -> RequireGuard {
    require(Requirement::scope(scope.into()))
}

/// Refuse requests whose user authentication is not strong or recent
/// enough (RFC 9470): the token's `acr` must be one of `acr` (when any are
/// given) and its `auth_time` at most `max_age` ago (when given). Otherwise
/// 401 `insufficient_user_authentication` with `acr_values="…"` and
/// `max_age=N` in the challenge; see [`Requirement::step_up`]. Wrap it
/// *inside* `FedAuth`:
///
/// ```
/// use std::time::Duration;
/// use actix_web::web;
/// use fedauth_actix::{Auth, FedAuth, require_step_up};
/// # fn demo(auth: tower_fedauth::Authenticator) {
/// let transfers = web::resource("/transfers")
///     .wrap(require_step_up(&["urn:example:mfa"], Some(Duration::from_secs(300))))
///     .wrap(FedAuth::new(auth))
///     .route(web::post().to(|Auth(ctx): Auth| async move { ctx.subject().to_owned() }));
/// # let _ = transfers;
/// # }
/// ```
pub fn require_step_up<A: AsRef<str>>(acr: &[A], max_age: Option<Duration>) -> RequireGuard {
    require(Requirement::step_up(acr, max_age))
}

/// Refuse requests that do not meet `requirement` (the middleware of
/// [`require_role`], [`require_scope`] and [`require_step_up`]).
///
/// Several requirements on one resource are several `.wrap`s; actix runs
/// the last one first, so wrap them in reverse of the order of refusals
/// (`docs/refusals.md` in the repository: role, then scope, then step-up)
/// to keep its answers those of the order of checks.
pub fn require(requirement: Requirement) -> RequireGuard {
    RequireGuard(Guard::new(requirement))
}

/// The middleware of [`require`], [`require_role`], [`require_scope`] and
/// [`require_step_up`].
#[derive(Debug, Clone)]
pub struct RequireGuard(Guard);

impl RequireGuard {
    /// Render refusals with this authenticator's realm and responder (the
    /// default is realm `fedauth` and the JSON refusal body).
    pub fn rendered_by(self, auth: &Authenticator) -> Self {
        Self(self.0.rendered_by(auth))
    }

    /// What the middleware requires.
    pub fn requirement(&self) -> &Requirement {
        self.0.requirement()
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireGuardMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let guard = self.0.clone();
        ready(Ok(RequireGuardMiddleware { service, guard }))
    }
}

/// The service of [`RequireGuard`].
pub struct RequireGuardMiddleware<S> {
    service: S,
    guard: Guard,
}

type Passed<F, B> =
    Map<F, fn(Result<ServiceResponse<B>, Error>) -> Result<ServiceResponse<EitherBody<B>>, Error>>;

fn left<B>(r: Result<ServiceResponse<B>, Error>) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    r.map(ServiceResponse::map_into_left_body)
}

impl<S, B> Service<ServiceRequest> for RequireGuardMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<Ready<Result<Self::Response, Error>>, Passed<S::Future, B>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        match with_auth(req.request(), |found| self.guard.check(found)) {
            Ok(()) => {
                let passed: fn(_) -> _ = left::<B>;
                Either::Right(self.service.call(req).map(passed))
            }
            Err(refusal) => {
                let error = refusal.into_error();
                let response = refusal_response(self.guard.render(&error), error);
                Either::Left(ready(Ok(req.into_response(response).map_into_right_body())))
            }
        }
    }
}
