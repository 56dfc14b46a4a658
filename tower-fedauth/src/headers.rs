//! Reading the two auth headers, framework-neutrally.
//!
//! `Authorization` carries the token (`Bearer <token>`, `DPoP <token>` with
//! a DPoP proof, or the bare token as the header's whole value);
//! `x-sc-auth` names the application registration.

use http::{HeaderName, Method};

use crate::binding::{PeerCertificate, Scheme};
use crate::error::{AuthError, ErrorCode};

/// What the authenticator needs to see of a request: headers, method,
/// path, query, authority and the TLS client certificate.
///
/// Implemented for [`http::request::Parts`] and [`http::Request`]; the actix
/// adapter implements it for its own request type.
pub trait RequestView {
    /// Every value of the header `name`, as raw bytes.
    fn header_values<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a [u8]>;
    /// The request path.
    fn path(&self) -> &str;
    /// The query string, if any.
    fn query(&self) -> Option<&str>;
    /// The request method (a DPoP proof's `htm`).
    fn method(&self) -> &Method;
    /// The authority the request was sent to, `host[:port]` (a DPoP
    /// proof's `htu` when no public URL is configured). Default: the
    /// request's one `Host` header.
    fn authority(&self) -> Option<&str> {
        host_header(self)
    }
    /// The DER of the TLS client certificate of the request's connection,
    /// when the server's TLS acceptor made it available (certificate-bound
    /// tokens). Default: none.
    fn client_certificate_der(&self) -> Option<&[u8]> {
        None
    }
}

/// The one `Host` header of `req`, if it is visible ASCII.
fn host_header(req: &(impl RequestView + ?Sized)) -> Option<&str> {
    let mut values = req.header_values(&http::header::HOST);
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    std::str::from_utf8(first)
        .ok()
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
}

/// The authority of an `http` request: its URI's (HTTP/2, absolute form),
/// else its `Host` header.
fn http_authority<'a>(uri: &'a http::Uri, req: &'a impl RequestView) -> Option<&'a str> {
    match uri.authority() {
        Some(authority) => Some(authority.as_str()),
        None => host_header(req),
    }
}

impl RequestView for http::request::Parts {
    fn header_values<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.headers.get_all(name).iter().map(|v| v.as_bytes())
    }
    fn path(&self) -> &str {
        self.uri.path()
    }
    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
    fn method(&self) -> &Method {
        &self.method
    }
    fn authority(&self) -> Option<&str> {
        http_authority(&self.uri, self)
    }
    fn client_certificate_der(&self) -> Option<&[u8]> {
        self.extensions.get::<PeerCertificate>().map(|c| &c.0[..])
    }
}

impl<B> RequestView for http::Request<B> {
    fn header_values<'a>(&'a self, name: &HeaderName) -> impl Iterator<Item = &'a [u8]> {
        self.headers().get_all(name).iter().map(|v| v.as_bytes())
    }
    fn path(&self) -> &str {
        self.uri().path()
    }
    fn query(&self) -> Option<&str> {
        self.uri().query()
    }
    fn method(&self) -> &Method {
        self.method()
    }
    fn authority(&self) -> Option<&str> {
        http_authority(self.uri(), self)
    }
    fn client_certificate_der(&self) -> Option<&[u8]> {
        self.extensions().get::<PeerCertificate>().map(|c| &c.0[..])
    }
}

/// Header names and size limits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HeaderConfig {
    /// The token header (default `authorization`).
    pub token_header: HeaderName,
    /// The registration header (default `x-sc-auth`).
    pub registration_header: HeaderName,
    /// Largest accepted token, in bytes (default 16 KiB).
    pub max_token_bytes: usize,
}

impl Default for HeaderConfig {
    fn default() -> Self {
        Self {
            token_header: http::header::AUTHORIZATION,
            registration_header: HeaderName::from_static("x-sc-auth"),
            max_token_bytes: 16 * 1024,
        }
    }
}

crate::setters::setters!(HeaderConfig {
    token_header: HeaderName,
    registration_header: HeaderName,
    max_token_bytes: usize,
});

/// Longest registration id: ids are 1 to this many visible ASCII characters.
pub(crate) const MAX_REGISTRATION_ID: usize = crate::registration::MAX_ID_LEN;

/// The credentials of a request, before anything is verified.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The token, without scheme.
    pub token: String,
    /// The registration id.
    pub registration: String,
}

impl Credentials {
    /// Borrowed, as the decision's steps take them. Owned credentials keep
    /// no scheme (what the request presented for the sender constraint is
    /// kept apart, `crate::binding::Presented`): `Bearer`.
    pub(crate) fn as_refs(&self) -> CredentialRefs<'_> {
        CredentialRefs {
            token: self.token.as_bytes(),
            registration: &self.registration,
            scheme: Scheme::Bearer,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &"<redacted>")
            .field("registration", &self.registration)
            .finish()
    }
}

/// What a request carried, owned (the request path borrows it instead).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    /// Both headers present and well-formed.
    Credentials(Credentials),
    /// Neither header: an anonymous request (let through in optional mode).
    Anonymous,
}

/// At most one value; a second one is a 400.
fn single<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
    name: &HeaderName,
) -> Result<Option<&'a [u8]>, AuthError> {
    let first = values.next();
    if first.is_some() && values.next().is_some() {
        return Err(bad_request(format!("duplicate {name} header"), name));
    }
    Ok(first)
}

fn bad_request(detail: String, name: &HeaderName) -> AuthError {
    AuthError::at(
        ErrorCode::InvalidRequest,
        detail,
        header_param(name),
        "header",
    )
}

/// The contract's spelling of our default header names in `details[].param`.
fn header_param(name: &HeaderName) -> std::borrow::Cow<'static, str> {
    if name == http::header::AUTHORIZATION {
        "Authorization".into()
    } else {
        name.as_str().to_owned().into()
    }
}

/// Whether every byte is in `lowest..=b'~'`: one branch-free pass that the
/// compiler vectorises (tokens are a kilobyte or more and read on every
/// request; a byte-at-a-time early-exit loop was the hot path's top cost,
/// and so was a fold that also counted spaces, which did not vectorise).
fn all_in(bytes: &[u8], lowest: u8) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & (b >= lowest) & (b <= b'~'))
}

/// Text of bytes already checked to be visible ASCII (never fails then).
fn ascii_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The scheme and token of an `Authorization` value, `Bearer <token>` or
/// `DPoP <token>` (schemes case-insensitive) or the bare token: the common
/// shape in one pass, anything else through [`checked_token_from`], which
/// finds the refusal.
fn token_from<'a>(value: &'a [u8], cfg: &HeaderConfig) -> Result<(Scheme, &'a [u8]), AuthError> {
    match well_formed_token(value, cfg.max_token_bytes) {
        Some(token) => Ok(token),
        None => checked_token_from(value, cfg),
    }
}

/// The scheme of a `scheme ` prefix of `value` (space included) and the
/// rest, if it is `Bearer` or `DPoP` in any case.
fn split_scheme(value: &[u8]) -> Option<(Scheme, &[u8])> {
    match value.split_at_checked("bearer ".len()) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => {
            Some((Scheme::Bearer, rest))
        }
        _ => match value.split_at_checked("dpop ".len()) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"dpop ") => {
                Some((Scheme::Dpop, rest))
            }
            _ => None,
        },
    }
}

/// `Bearer` or `DPoP` (any case), spaces, one token of visible ASCII
/// without spaces and optional trailing spaces; or a bare token. One pass
/// over the token (the hit path's largest read); `None` for anything else,
/// which [`checked_token_from`] accepts or refuses exactly as before.
fn well_formed_token(value: &[u8], max_token_bytes: usize) -> Option<(Scheme, &[u8])> {
    if value.len() > max_token_bytes + "bearer ".len() {
        return None;
    }
    let (scheme, token) = match split_scheme(value) {
        Some((scheme, rest)) => {
            let start = rest.iter().position(|&b| b != b' ')?;
            let end = rest.iter().rposition(|&b| b != b' ')?;
            (scheme, &rest[start..=end])
        }
        None => (Scheme::Bearer, value),
    };
    (!token.is_empty() && token.len() <= max_token_bytes && all_in(token, b'!'))
        .then_some((scheme, token))
}

/// Every check of an `Authorization` value in order, each with its own
/// refusal.
fn checked_token_from<'a>(
    value: &'a [u8],
    cfg: &HeaderConfig,
) -> Result<(Scheme, &'a [u8]), AuthError> {
    let name = &cfg.token_header;
    if value.len() > cfg.max_token_bytes + "bearer ".len() {
        return Err(bad_request(
            format!(
                "{name} header is {} bytes, over the limit of {} bytes",
                value.len(),
                cfg.max_token_bytes
            ),
            name,
        ));
    }
    if !all_in(value, b' ') {
        return Err(bad_request(
            format!("{name} header holds characters that are not visible ASCII"),
            name,
        ));
    }
    let (scheme, token) = match value.iter().position(|&b| b == b' ') {
        None => (Scheme::Bearer, value),
        Some(space) => {
            let (written, rest) = value.split_at(space);
            let scheme = if written.eq_ignore_ascii_case(b"bearer") {
                Scheme::Bearer
            } else if written.eq_ignore_ascii_case(b"dpop") {
                Scheme::Dpop
            } else {
                return Err(bad_request(
                    format!("{name} header uses a scheme other than Bearer"),
                    name,
                ));
            };
            let token = rest.trim_ascii();
            if token.is_empty() || token.contains(&b' ') {
                return Err(bad_request(
                    format!("{name} header must be `Bearer <token>` with one token"),
                    name,
                ));
            }
            (scheme, token)
        }
    };
    if token.is_empty() {
        return Err(bad_request(format!("{name} header is empty"), name));
    }
    if token.len() > cfg.max_token_bytes {
        return Err(bad_request(
            format!(
                "token is {} bytes, over the limit of {} bytes",
                token.len(),
                cfg.max_token_bytes
            ),
            name,
        ));
    }
    Ok((scheme, token))
}

fn registration_from<'a>(value: &'a [u8], cfg: &HeaderConfig) -> Result<&'a str, AuthError> {
    let name = &cfg.registration_header;
    if value.is_empty() || value.len() > MAX_REGISTRATION_ID {
        return Err(bad_request(
            format!("{name} must be 1 to {MAX_REGISTRATION_ID} characters long"),
            name,
        ));
    }
    if !all_in(value, 0x21) {
        return Err(bad_request(
            format!("{name} holds characters that are not visible ASCII"),
            name,
        ));
    }
    Ok(ascii_str(value))
}

/// The credentials of a request, borrowed from its headers: what the
/// cache-hit path looks up with, copying nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct CredentialRefs<'a> {
    /// Checked to be visible ASCII; kept as bytes so that the cache-hit
    /// path needs no UTF-8 check of a kilobyte token.
    pub(crate) token: &'a [u8],
    pub(crate) registration: &'a str,
    /// `Bearer` (or none) or `DPoP`.
    pub(crate) scheme: Scheme,
}

impl CredentialRefs<'_> {
    /// Owned credentials, for work that outlives the request's headers.
    pub(crate) fn to_owned(self) -> Credentials {
        Credentials {
            token: ascii_str(self.token).to_owned(),
            registration: self.registration.to_owned(),
        }
    }
}

/// [`read_credential_refs`], owned: the form the header tests assert on.
#[cfg(test)]
pub(crate) fn read_credentials(
    req: &impl RequestView,
    cfg: &HeaderConfig,
) -> Result<Presented, AuthError> {
    Ok(match read_credential_refs(req, cfg)? {
        None => Presented::Anonymous,
        Some(refs) => Presented::Credentials(refs.to_owned()),
    })
}

/// Read both headers without copying. Shape errors (400) come first, then
/// `missing_token`, then `missing_registration`, as the order of checks
/// says; `None` is an anonymous request.
pub(crate) fn read_credential_refs<'a>(
    req: &'a impl RequestView,
    cfg: &HeaderConfig,
) -> Result<Option<CredentialRefs<'a>>, AuthError> {
    let token = single(req.header_values(&cfg.token_header), &cfg.token_header)?;
    let registration = single(
        req.header_values(&cfg.registration_header),
        &cfg.registration_header,
    )?;
    let token = token.map(|v| token_from(v, cfg)).transpose()?;
    let registration = registration
        .map(|v| registration_from(v, cfg))
        .transpose()?;
    match (token, registration) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(AuthError::token(
            ErrorCode::MissingToken,
            format!("no {} header", header_param(&cfg.token_header)),
        )),
        (Some(_), None) => Err(AuthError::at(
            ErrorCode::MissingRegistration,
            format!("no {} header", cfg.registration_header),
            header_param(&cfg.registration_header),
            "header",
        )),
        (Some((scheme, token)), Some(registration)) => Ok(Some(CredentialRefs {
            token,
            registration,
            scheme,
        })),
    }
}

#[cfg(test)]
#[path = "headers_tests.rs"]
mod tests;
