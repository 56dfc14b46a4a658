//! The [`FedAuth`] middleware: the actix twin of the tower `FedAuthLayer`.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;
use tower_fedauth::{AuthContext, AuthError, Authenticator, Immediate};

use crate::response::{ActixRequestView, refusal_response};

/// Authenticates every request it wraps with an [`Authenticator`]; puts the
/// [`AuthContext`](tower_fedauth::AuthContext) and
/// [`Claims`](tower_fedauth::Claims) in the request's extensions, or
/// answers with the refusal (same status, code, body and
/// headers as the tower layer; the typed [`AuthError`] in the response's
/// extensions).
///
/// ```
/// use actix_web::{App, web};
/// use fedauth_actix::{Auth, FedAuth};
/// # fn demo(auth: tower_fedauth::Authenticator) {
/// let app = App::new().service(
///     web::resource("/whoami")
///         .wrap(FedAuth::new(auth))
///         .route(web::get().to(|Auth(ctx): Auth| async move { ctx.subject().to_owned() })),
/// );
/// # let _ = app;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FedAuth {
    auth: Authenticator,
    optional: bool,
}

impl FedAuth {
    /// Require valid credentials on every request.
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: false,
        }
    }

    /// Let requests with neither auth header through without a context;
    /// requests that present credentials must still present valid ones.
    pub fn optional(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: true,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for FedAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = FedAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FedAuthMiddleware {
            service: Rc::new(service),
            auth: self.auth.clone(),
            optional: self.optional,
        }))
    }
}

/// The service of [`FedAuth`].
pub struct FedAuthMiddleware<S> {
    service: Rc<S>,
    auth: Authenticator,
    optional: bool,
}

fn refuse<B>(
    auth: &Authenticator,
    req: ServiceRequest,
    error: AuthError,
) -> ServiceResponse<EitherBody<B>> {
    let response = refusal_response(auth.render(&error), error);
    req.into_response(response).map_into_right_body()
}

impl<S, B> Service<ServiceRequest> for FedAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        match self.auth.authenticate_now(&ActixRequestView::of(&req)) {
            Err(error) => Box::pin(ready(Ok(refuse(&self.auth, req, error)))),
            Ok(Immediate::Anonymous) if self.optional => call_inner(&self.service, req, None),
            Ok(Immediate::Anonymous) => {
                let error = self.auth.refuse_anonymous();
                Box::pin(ready(Ok(refuse(&self.auth, req, error))))
            }
            // The common case: answered from the caches.
            Ok(Immediate::Accepted(ctx)) => {
                let nonce = insert_context(&req, ctx);
                call_inner(&self.service, req, nonce)
            }
            Ok(Immediate::Pending(pending)) => {
                let service = Rc::clone(&self.service);
                let auth = self.auth.clone();
                Box::pin(async move {
                    match auth.finish(pending).await {
                        Ok(ctx) => {
                            let nonce = insert_context(&req, ctx);
                            call_inner(&service, req, nonce).await
                        }
                        Err(error) => Ok(refuse(&auth, req, error)),
                    }
                })
            }
        }
    }
}

/// Hand the context and its claims to the handlers; the `DPoP-Nonce` the
/// response must carry, if any (RFC 9449 §8.2).
fn insert_context(req: &ServiceRequest, ctx: AuthContext) -> Option<HeaderValue> {
    let nonce = ctx.dpop_nonce().and_then(|n| HeaderValue::from_str(n).ok());
    req.extensions_mut().insert(ctx.claims().clone());
    req.extensions_mut().insert(ctx);
    nonce
}

/// The wrapped service's answer, with its body on the left (and the
/// `DPoP-Nonce` of [`insert_context`]).
fn call_inner<S, B>(
    service: &S,
    req: ServiceRequest,
    nonce: Option<HeaderValue>,
) -> LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    let future = service.call(req);
    Box::pin(async move {
        let mut response = future.await?;
        if let Some(nonce) = nonce {
            let name = HeaderName::from_static("dpop-nonce");
            response.headers_mut().insert(name, nonce);
        }
        Ok(response.map_into_left_body())
    })
}
