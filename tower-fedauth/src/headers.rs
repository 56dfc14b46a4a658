//! Reading the two auth headers, framework-neutrally.
//!
//! `Authorization` carries the token (`Bearer <token>`, or the bare token
//! as the header's whole value);
//! `x-sc-auth` names the application registration.

use http::HeaderName;

use crate::error::{AuthError, ErrorCode};

/// What the authenticator needs to see of a request: headers, path, query.
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
    /// Borrowed, as the decision's steps take them.
    pub(crate) fn as_refs(&self) -> CredentialRefs<'_> {
        CredentialRefs {
            token: self.token.as_bytes(),
            registration: &self.registration,
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

/// The token of an `Authorization` value, `Bearer <token>` (scheme
/// case-insensitive) or the bare token: the common shape in one pass,
/// anything else through [`checked_token_from`], which finds the refusal.
fn token_from<'a>(value: &'a [u8], cfg: &HeaderConfig) -> Result<&'a [u8], AuthError> {
    match well_formed_token(value, cfg.max_token_bytes) {
        Some(token) => Ok(token),
        None => checked_token_from(value, cfg),
    }
}

/// `Bearer` (any case), spaces, one token of visible ASCII without spaces
/// and optional trailing spaces; or a bare token. One pass over the token
/// (the hit path's largest read); `None` for anything else, which
/// [`checked_token_from`] accepts or refuses exactly as before.
fn well_formed_token(value: &[u8], max_token_bytes: usize) -> Option<&[u8]> {
    if value.len() > max_token_bytes + "bearer ".len() {
        return None;
    }
    let token = match value.split_at_checked("bearer ".len()) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => {
            let start = rest.iter().position(|&b| b != b' ')?;
            let end = rest.iter().rposition(|&b| b != b' ')?;
            &rest[start..=end]
        }
        _ => value,
    };
    (!token.is_empty() && token.len() <= max_token_bytes && all_in(token, b'!')).then_some(token)
}

/// Every check of an `Authorization` value in order, each with its own
/// refusal.
fn checked_token_from<'a>(value: &'a [u8], cfg: &HeaderConfig) -> Result<&'a [u8], AuthError> {
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
    let token = match value.iter().position(|&b| b == b' ') {
        None => value,
        Some(space) => {
            let (scheme, rest) = value.split_at(space);
            if !scheme.eq_ignore_ascii_case(b"bearer") {
                return Err(bad_request(
                    format!("{name} header uses a scheme other than Bearer"),
                    name,
                ));
            }
            let token = rest.trim_ascii();
            if token.is_empty() || token.contains(&b' ') {
                return Err(bad_request(
                    format!("{name} header must be `Bearer <token>` with one token"),
                    name,
                ));
            }
            token
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
    Ok(token)
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
        (Some(token), Some(registration)) => Ok(Some(CredentialRefs {
            token,
            registration,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &[u8])]) -> http::Request<()> {
        let mut b = http::Request::builder().uri("/x");
        for (k, v) in headers {
            b = b.header(*k, http::HeaderValue::from_bytes(v).unwrap());
        }
        b.body(()).unwrap()
    }

    fn code(headers: &[(&str, &[u8])]) -> ErrorCode {
        read_credentials(&req(headers), &HeaderConfig::default())
            .unwrap_err()
            .code()
    }

    /// The one-pass reading and the full checks agree on every shape,
    /// accepted or refused (and the refusal's detail is the full checks').
    #[test]
    fn the_fast_path_agrees_with_the_full_checks() {
        let cfg = HeaderConfig {
            max_token_bytes: 8,
            ..HeaderConfig::default()
        };
        let cases: &[&[u8]] = &[
            b"Bearer a.b.c",
            b"bearer a.b.c",
            b"BeArEr   a.b.c   ",
            b"Bearer",
            b"Bearer ",
            b"Bearer    ",
            b"Bearer a b",
            b"Bearer\ta.b",
            b"Bearer a.b\t",
            b"Bearer a.b\x7f",
            b"Basic a.b",
            b"Bearerx a.b",
            b"a.b.c",
            b"",
            b" a.b",
            b"a.b ",
            b"a\x80b",
            b"12345678",
            b"123456789",
            b"Bearer 12345678",
            b"Bearer 123456789",
            b"Bearer 12345678 ",
            b"Bearer         12345678",
            b"Bearer          12345678",
        ];
        let outcome = |r: Result<&[u8], AuthError>| {
            r.map(<[u8]>::to_vec)
                .map_err(|e| (e.code(), e.detail().to_owned()))
        };
        for &value in cases {
            let full = outcome(checked_token_from(value, &cfg));
            assert_eq!(outcome(token_from(value, &cfg)), full, "{value:?}");
            if let Some(fast) = well_formed_token(value, cfg.max_token_bytes) {
                assert_eq!(Ok(fast.to_vec()), full, "{value:?}");
            }
        }
        // The common shapes do take the one-pass reading.
        for value in [&b"Bearer a.b.c"[..], b"bearer  a.b ", b"a.b.c"] {
            assert!(well_formed_token(value, 8).is_some(), "{value:?}");
        }
    }

    #[test]
    fn bearer_and_bare_tokens() {
        for v in [
            &b"Bearer a.b.c"[..],
            b"bearer a.b.c",
            b"BEARER  a.b.c",
            b"Bearer a.b.c ",
            b"Bearer  a.b.c  ",
            b"a.b.c",
        ] {
            let got = read_credentials(
                &req(&[("authorization", v), ("x-sc-auth", b"quid-1")]),
                &HeaderConfig::default(),
            )
            .unwrap();
            assert_eq!(
                got,
                Presented::Credentials(Credentials {
                    token: "a.b.c".into(),
                    registration: "quid-1".into()
                })
            );
        }
    }

    #[test]
    fn shape_errors_are_400_and_come_first() {
        use ErrorCode::*;
        assert_eq!(
            code(&[("authorization", b"Basic abc"), ("x-sc-auth", b"q")]),
            InvalidRequest
        );
        // A space inside the token, however many follow the scheme.
        for value in [
            &b"Bearer a b"[..],
            b"Bearer  a b",
            b"Bearer a  b",
            b"Bearer a b ",
        ] {
            assert_eq!(
                code(&[("authorization", value), ("x-sc-auth", b"q")]),
                InvalidRequest,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        assert_eq!(
            code(&[("authorization", b"Bearer "), ("x-sc-auth", b"q")]),
            InvalidRequest
        );
        assert_eq!(
            code(&[("authorization", b"t\xc3\xa9"), ("x-sc-auth", b"q")]),
            InvalidRequest
        );
        assert_eq!(
            code(&[("authorization", b"t"), ("x-sc-auth", b"q\xc3\xa9")]),
            InvalidRequest
        );
        let long_id = vec![b'a'; 129];
        assert_eq!(
            code(&[("authorization", b"t"), ("x-sc-auth", &long_id)]),
            InvalidRequest
        );
        let big = vec![b'a'; 16 * 1024 + 1];
        assert_eq!(
            code(&[("authorization", &big), ("x-sc-auth", b"q")]),
            InvalidRequest
        );
        assert_eq!(
            code(&[
                ("authorization", b"t"),
                ("authorization", b"u"),
                ("x-sc-auth", b"q")
            ]),
            InvalidRequest
        );
        assert_eq!(
            code(&[("x-sc-auth", b"q"), ("x-sc-auth", b"r")]),
            InvalidRequest
        );
        assert_eq!(code(&[("x-sc-auth", b"q")]), MissingToken);
        assert_eq!(code(&[("authorization", b"t")]), MissingRegistration);
        assert_eq!(
            read_credentials(&req(&[]), &HeaderConfig::default()).unwrap(),
            Presented::Anonymous
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = Credentials {
            token: "secret.token.value".into(),
            registration: "q".into(),
        };
        assert!(!format!("{c:?}").contains("secret"));
    }
}
