//! What the layer does to a request and a response, shared by the service
//! (answers known at once) and its future (answers that waited).

use http::{HeaderValue, Request, Response};

use crate::error::DPOP_NONCE;
use crate::{AuthContext, AuthError, Authenticator};

/// A refusal as a response, with the typed error in its extensions.
pub(crate) fn refusal_response(auth: &Authenticator, error: AuthError) -> Response<bytes::Bytes> {
    let rendered = auth.render(&error);
    let mut response = Response::new(rendered.body);
    *response.status_mut() = rendered.status;
    *response.headers_mut() = rendered.headers;
    response.extensions_mut().insert(error);
    response
}

/// Hand the context and its claims to the handlers; the `DPoP-Nonce` the
/// response must carry, if any (RFC 9449 §8.2).
pub(crate) fn insert_context<B>(req: &mut Request<B>, ctx: AuthContext) -> Option<HeaderValue> {
    let nonce = ctx.dpop_nonce().and_then(|n| HeaderValue::from_str(n).ok());
    req.extensions_mut().insert(ctx.claims().clone());
    req.extensions_mut().insert(ctx);
    nonce
}

/// Add the `DPoP-Nonce` of [`insert_context`] to the inner service's
/// response.
pub(crate) fn add_nonce<B>(response: &mut Response<B>, nonce: Option<HeaderValue>) {
    if let Some(nonce) = nonce {
        response.headers_mut().insert(DPOP_NONCE, nonce);
    }
}
