//! Between actix-web's types (http 0.2) and the core's (http 1): the
//! request view the authenticator reads, and refusals as actix responses.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use std::fmt;
use tower_fedauth::{AuthError, Authenticator, ErrorCode, RenderedRefusal, RequestView};

/// The `realm` of `WWW-Authenticate` used when no [`Authenticator`] is at
/// hand (the extractors): the core's default.
pub const DEFAULT_REALM: &str = "fedauth";

/// An actix request as the core's [`RequestView`]: header names are looked
/// up by their (lowercase) text.
pub struct ActixRequestView<'a>(pub &'a HttpRequest);

impl<'a> ActixRequestView<'a> {
    /// View a middleware's request.
    pub fn of(req: &'a ServiceRequest) -> Self {
        Self(req.request())
    }
}

impl RequestView for ActixRequestView<'_> {
    fn header_values<'a>(&'a self, name: &http::HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.0
            .headers()
            .get_all(name.as_str())
            .map(HeaderValue::as_bytes)
    }

    fn path(&self) -> &str {
        self.0.path()
    }

    fn query(&self) -> Option<&str> {
        self.0.uri().query()
    }
}

/// A rendered refusal as an actix response (status, every header, body),
/// with the typed error in the response's extensions.
pub fn refusal_response(rendered: RenderedRefusal, error: AuthError) -> HttpResponse {
    let status =
        StatusCode::from_u16(rendered.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, rendered.body).map_into_boxed_body();
    for (name, value) in &rendered.headers {
        match (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            (Ok(name), Ok(value)) => response.headers_mut().append(name, value),
            _ => tracing::error!(header = %name, "refusal header not representable in actix-web"),
        }
    }
    response.extensions_mut().insert(error);
    response
}

/// A refusal from an extractor or a role check; as an actix
/// [`ResponseError`] it renders the contract's status, JSON body and
/// headers (realm [`DEFAULT_REALM`]), like the [`FedAuth`](crate::FedAuth)
/// middleware.
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

    /// Render with an authenticator's realm and responder.
    pub fn render_with(&self, auth: &Authenticator) -> HttpResponse {
        refusal_response(auth.render(&self.error), self.error.clone())
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

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status().as_u16())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        refusal_response(self.error.render(DEFAULT_REALM, None), self.error.clone())
    }
}

/// No [`AuthContext`] in the request: 401 `missing_token`, with the same
/// detail as the fedauth-axum extractors.
pub(crate) fn missing_context(req: &HttpRequest) -> Rejection {
    if req.headers().contains_key("authorization") {
        tracing::warn!(
            "a fedauth extractor found no AuthContext although the request has an \
             Authorization header: is the FedAuth middleware wrapping this route?"
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
