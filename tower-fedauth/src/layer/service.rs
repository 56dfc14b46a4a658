use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::exchange::{insert_context, refusal_response};
use super::{ResponseBody, ResponseFuture};
use crate::{Authenticator, Immediate};

/// Verifies each request before handing it to the inner service.
#[derive(Debug, Clone)]
pub struct FedAuthService<S> {
    inner: S,
    auth: Authenticator,
    optional: bool,
}

impl<S> FedAuthService<S> {
    pub(crate) fn new(inner: S, auth: Authenticator, optional: bool) -> Self {
        Self {
            inner,
            auth,
            optional,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FedAuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.auth.authenticate_now(&req) {
            Err(error) => ResponseFuture::refused(&self.auth, error),
            Ok(Immediate::Anonymous) if self.optional => {
                ResponseFuture::inner(self.inner.call(req), None)
            }
            Ok(Immediate::Anonymous) => {
                ResponseFuture::refused(&self.auth, self.auth.refuse_anonymous())
            }
            // The common case: answered from the caches, no future to build.
            Ok(Immediate::Accepted(ctx)) => {
                let nonce = insert_context(&mut req, ctx);
                ResponseFuture::inner(self.inner.call(req), nonce)
            }
            Ok(Immediate::Pending(pending)) => {
                // Take the service that was polled ready; leave a clone behind.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let auth = self.auth.clone();
                let verify = Box::pin(async move {
                    let outcome = auth.finish(pending).await;
                    outcome.map_err(|error| refusal_response(&auth, error))
                });
                ResponseFuture::authenticating(verify, inner, req)
            }
        }
    }
}
