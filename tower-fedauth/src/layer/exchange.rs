//! What the layer does to a request and a response, shared by the service
//! (answers known at once) and its future (answers that waited).

use http::{Request, Response};

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

/// Hand the context and its claims to the handlers.
pub(crate) fn insert_context<B>(req: &mut Request<B>, ctx: AuthContext) {
    req.extensions_mut().insert(ctx.claims().clone());
    req.extensions_mut().insert(ctx);
}
