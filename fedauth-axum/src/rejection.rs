//! The rejection of every extractor and role check: a refusal of
//! `errors.md`, rendered exactly as the tower layer renders it.

use std::fmt;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use tower_fedauth::{AuthError, Authenticator, ErrorCode, RenderedRefusal};

/// The `realm` of `WWW-Authenticate` used when no [`Authenticator`] is at
/// hand (the extractors): the core's default.
pub const DEFAULT_REALM: &str = "fedauth";

/// A refusal from an extractor or a role check.
///
/// It renders itself with the contract's status, JSON body and headers
/// (`Content-Type`, `WWW-Authenticate`, `Retry-After`), realm
/// [`DEFAULT_REALM`], and puts the typed [`AuthError`] in the response's
/// extensions, like [`FedAuthLayer`](tower_fedauth::FedAuthLayer) does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    error: AuthError,
}

impl Rejection {
    /// The typed error.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The typed error, by value.
    pub fn into_error(self) -> AuthError {
        self.error
    }

    /// Render with an authenticator's realm and responder instead of the
    /// defaults.
    pub fn render_with(self, auth: &Authenticator) -> Response {
        let rendered = auth.render(&self.error);
        refusal_response(rendered, self.error)
    }
}

impl From<AuthError> for Rejection {
    fn from(error: AuthError) -> Self {
        Self { error }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Rejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let rendered = self.error.render(DEFAULT_REALM, None);
        refusal_response(rendered, self.error)
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

/// No [`AuthContext`] in the request: 401 `missing_token`.
///
/// The detail is the tower layer's when the request carried no token; when
/// it did, no layer verified it for this route, which is a wiring mistake
/// worth a log line.
pub(crate) fn missing_context(headers: &http::HeaderMap) -> Rejection {
    if headers.contains_key(http::header::AUTHORIZATION) {
        tracing::warn!(
            "a fedauth extractor found no AuthContext although the request has an \
             Authorization header: is FedAuthLayer applied to this route?"
        );
        AuthError::token(
            ErrorCode::MissingToken,
            "no verified credentials for this route",
        )
        .into()
    } else {
        AuthError::token(ErrorCode::MissingToken, "no Authorization header").into()
    }
}
