//! Role checks as actix middleware: `.wrap(require_role("admin"))`.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::FutureExt as _;
use futures_util::future::{Either, Map};
use tower_fedauth::{AuthContext, Authenticator};

use crate::response::{Rejection, missing_context};

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
    RoleGuard {
        role: Rc::from(role.into()),
        auth: None,
    }
}

/// The middleware of [`require_role`].
#[derive(Debug, Clone)]
pub struct RoleGuard {
    role: Rc<str>,
    auth: Option<Authenticator>,
}

impl RoleGuard {
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
        ready(Ok(RoleGuardMiddleware {
            service,
            role: self.role.clone(),
            auth: self.auth.clone(),
        }))
    }
}

/// The service of [`RoleGuard`].
pub struct RoleGuardMiddleware<S> {
    service: S,
    role: Rc<str>,
    auth: Option<Authenticator>,
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
        let refusal: Rejection = {
            let extensions = req.extensions();
            match extensions
                .get::<AuthContext>()
                .map(|c| c.require_role(&self.role))
            {
                Some(Ok(())) => {
                    drop(extensions);
                    let passed: fn(_) -> _ = left::<B>;
                    return Either::Right(self.service.call(req).map(passed));
                }
                Some(Err(error)) => error.into(),
                None => missing_context(req.request()),
            }
        };
        let response = match &self.auth {
            Some(auth) => refusal.render_with(auth),
            None => refusal.error_response(),
        };
        Either::Left(ready(Ok(req.into_response(response).map_into_right_body())))
    }
}
