//! Role checks as actix middleware: `.wrap(require_role("admin"))`. The
//! check and its refusal are the core's [`Guard`]; this is the actix
//! plumbing around it.

use std::future::{Ready, ready};

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
pub fn require_role(role: impl Into<String>) -> RoleGuard {
    RoleGuard(Guard::new(Requirement::role(role.into())))
}

/// The middleware of [`require_role`].
#[derive(Debug, Clone)]
pub struct RoleGuard(Guard);

impl RoleGuard {
    /// Render refusals with this authenticator's realm and responder (the
    /// default is realm `fedauth` and the JSON refusal body).
    pub fn rendered_by(self, auth: &Authenticator) -> Self {
        Self(self.0.rendered_by(auth))
    }

    /// The required role.
    pub fn role(&self) -> &str {
        self.0.requirement().as_role().unwrap_or_default()
    }
}

impl<S, B> Transform<S, ServiceRequest> for RoleGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RoleGuardMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let guard = self.0.clone();
        ready(Ok(RoleGuardMiddleware { service, guard }))
    }
}

/// The service of [`RoleGuard`].
pub struct RoleGuardMiddleware<S> {
    service: S,
    guard: Guard,
}

type Passed<F, B> =
    Map<F, fn(Result<ServiceResponse<B>, Error>) -> Result<ServiceResponse<EitherBody<B>>, Error>>;

fn left<B>(r: Result<ServiceResponse<B>, Error>) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    r.map(ServiceResponse::map_into_left_body)
}

impl<S, B> Service<ServiceRequest> for RoleGuardMiddleware<S>
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
