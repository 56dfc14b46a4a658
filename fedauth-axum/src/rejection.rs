//! The rejection of every extractor and role check: the core's refusal,
//! rendered exactly as the tower layer renders it.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use tower_fedauth::adapter::render_refusal;
use tower_fedauth::{AuthError, Authenticator, RenderedRefusal};

pub use tower_fedauth::adapter::DEFAULT_REALM;

tower_fedauth::__define_rejection! {
    /// A refusal from an extractor or a role check.
    ///
    /// It renders itself with the contract's status, JSON body and headers
    /// (`Content-Type`, `WWW-Authenticate`, `Retry-After`), realm
    /// [`DEFAULT_REALM`], and puts the typed [`AuthError`] in the response's
    /// extensions, like [`FedAuthLayer`](tower_fedauth::FedAuthLayer) does.
    pub struct Rejection;
}

impl Rejection {
    /// Render with an authenticator's realm and responder instead of the
    /// defaults.
    pub fn render_with(self, auth: &Authenticator) -> Response {
        let rendered = render_refusal(self.error(), Some(auth));
        refusal_response(rendered, self.into_error())
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let rendered = render_refusal(self.error(), None);
        refusal_response(rendered, self.into_error())
    }
}

/// A rendered refusal as an axum response, with the typed error in its
/// extensions.
pub(crate) fn refusal_response(rendered: RenderedRefusal, error: AuthError) -> Response {
    let mut response = Response::new(Body::from(rendered.body));
    *response.status_mut() = rendered.status;
    *response.headers_mut() = rendered.headers;
    response.extensions_mut().insert(error);
    response
}
