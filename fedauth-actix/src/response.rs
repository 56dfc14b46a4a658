//! Between actix-web's types (http 0.2) and the core's (http 1): the
//! request view the authenticator reads, what the extractors and guards
//! find on a request, and refusals as actix responses.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use tower_fedauth::adapter::{RequestAuth, render_refusal};
use tower_fedauth::binding::PeerCertificate;
use tower_fedauth::{AuthError, Authenticator, RenderedRefusal, RequestView};

pub use tower_fedauth::adapter::DEFAULT_REALM;

/// An actix request as the core's [`RequestView`]: header names are looked
/// up by their (lowercase) text; the method in the core's `http` type; the
/// client certificate, for certificate-bound tokens, from the connection
/// data (`HttpServer::on_connect` inserting a [`PeerCertificate`]) or the
/// request's extensions.
pub struct ActixRequestView<'a> {
    request: &'a HttpRequest,
    method: http::Method,
    /// A certificate found in the request's extensions (the connection
    /// data's is borrowed instead).
    extension_cert: Option<PeerCertificate>,
}

impl<'a> ActixRequestView<'a> {
    /// View a middleware's request.
    pub fn of(req: &'a ServiceRequest) -> Self {
        Self::new(req.request())
    }

    /// View a request.
    pub fn new(request: &'a HttpRequest) -> Self {
        // actix-web's method is `http` 0.2's: the same token, re-parsed (a
        // standard method allocates nothing).
        let method = http::Method::from_bytes(request.method().as_str().as_bytes())
            .unwrap_or_else(|_| http::Method::from_bytes(b"INVALID").unwrap_or_default());
        let extension_cert = match request.conn_data::<PeerCertificate>() {
            Some(_) => None,
            None => request.extensions().get::<PeerCertificate>().cloned(),
        };
        Self {
            request,
            method,
            extension_cert,
        }
    }
}

impl RequestView for ActixRequestView<'_> {
    fn header_values<'a>(&'a self, name: &http::HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.request
            .headers()
            .get_all(name.as_str())
            .map(HeaderValue::as_bytes)
    }

    fn path(&self) -> &str {
        self.request.path()
    }

    fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    fn method(&self) -> &http::Method {
        &self.method
    }

    fn authority(&self) -> Option<&str> {
        if let Some(authority) = self.request.uri().authority() {
            return Some(authority.as_str());
        }
        let mut hosts = self.request.headers().get_all("host");
        match (hosts.next(), hosts.next()) {
            (Some(host), None) => host.to_str().ok().filter(|h| !h.is_empty()),
            _ => None,
        }
    }

    fn client_certificate_der(&self) -> Option<&[u8]> {
        match self.request.conn_data::<PeerCertificate>() {
            Some(cert) => Some(&cert.0),
            None => self.extension_cert.as_ref().map(|cert| &cert.0[..]),
        }
    }
}

/// `answer` applied to what the [`FedAuth`](crate::FedAuth) middleware
/// left on the request, its refusal as a [`Rejection`].
pub(crate) fn with_auth<T>(
    req: &HttpRequest,
    answer: impl FnOnce(RequestAuth<'_>) -> Result<T, AuthError>,
) -> Result<T, Rejection> {
    let extensions = req.extensions();
    let authorization = req.headers().contains_key("authorization");
    let found = RequestAuth::new(extensions.get(), extensions.get(), authorization);
    answer(found).map_err(Rejection::from)
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

tower_fedauth::__define_rejection! {
    /// A refusal from an extractor or a role check; as an actix
    /// [`ResponseError`] it renders the contract's status, JSON body and
    /// headers (realm [`DEFAULT_REALM`]), like the [`FedAuth`](crate::FedAuth)
    /// middleware.
    pub struct Rejection;
}

impl Rejection {
    /// Render with an authenticator's realm and responder.
    pub fn render_with(&self, auth: &Authenticator) -> HttpResponse {
        let rendered = render_refusal(self.error(), Some(auth));
        refusal_response(rendered, self.error().clone())
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error().status().as_u16())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let rendered = render_refusal(self.error(), None);
        refusal_response(rendered, self.error().clone())
    }
}
