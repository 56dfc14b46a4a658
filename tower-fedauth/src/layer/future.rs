use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project::pin_project;
use tower_service::Service;

use super::ResponseBody;
use super::exchange::{add_nonce, insert_context, refusal_response};
use crate::{AuthContext, AuthError, Authenticator};

/// Verification of one request; a refusal comes back already rendered, so
/// the response future needs no handle on the authenticator.
pub(crate) type VerifyFuture =
    Pin<Box<dyn Future<Output = Result<AuthContext, Response<bytes::Bytes>>> + Send>>;

/// The response future of [`FedAuthService`](super::FedAuthService).
/// A request refused on its headers never allocates a boxed future.
#[pin_project]
pub struct ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    #[pin]
    state: State<S, ReqBody>,
}

#[pin_project(project = StateProj)]
enum State<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    Refused {
        response: Option<Response<bytes::Bytes>>,
    },
    Verifying {
        verify: VerifyFuture,
        inner: Option<(S, Request<ReqBody>)>,
    },
    Inner {
        #[pin]
        future: S::Future,
        /// A `DPoP-Nonce` for the response.
        nonce: Option<http::HeaderValue>,
    },
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn refused(auth: &Authenticator, error: AuthError) -> Self {
        Self {
            state: State::Refused {
                response: Some(refusal_response(auth, error)),
            },
        }
    }

    pub(crate) fn inner(future: S::Future, nonce: Option<http::HeaderValue>) -> Self {
        Self {
            state: State::Inner { future, nonce },
        }
    }

    pub(crate) fn authenticating(verify: VerifyFuture, inner: S, req: Request<ReqBody>) -> Self {
        Self {
            state: State::Verifying {
                verify,
                inner: Some((inner, req)),
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Refused { response } => {
                    let response = response.take().expect("polled after completion");
                    return Poll::Ready(Ok(response.map(ResponseBody::refusal)));
                }
                StateProj::Verifying { verify, inner } => {
                    let outcome = ready!(verify.as_mut().poll(cx));
                    let (mut service, mut req) = inner.take().expect("polled after completion");
                    match outcome {
                        Ok(ctx) => {
                            let nonce = insert_context(&mut req, ctx);
                            let future = service.call(req);
                            this.state.set(State::Inner { future, nonce });
                        }
                        Err(response) => {
                            this.state.set(State::Refused {
                                response: Some(response),
                            });
                        }
                    }
                }
                StateProj::Inner { future, nonce } => {
                    let mut response = ready!(future.poll(cx))?;
                    add_nonce(&mut response, nonce.take());
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
            }
        }
    }
}
