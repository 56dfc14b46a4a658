//! Refusals: one typed error whose status, `code`, JSON body and headers are
//! fixed, whatever framework serves the request (every code, with its cause
//! and fix: `docs/refusals.md` in the repository).

mod check;
mod render;

pub use check::Check;
pub use render::{Challenge, RefusalBody, RefusalResponder, RenderedRefusal};
pub(crate) use render::{DPOP_NONCE, SenderChallenge};

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

/// The machine-readable reason of a refusal: the `code` member of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No `Authorization` header.
    MissingToken,
    /// A token, but no `x-sc-auth` header.
    MissingRegistration,
    /// The request's auth headers are malformed (duplicate, not ASCII, too long, unknown scheme).
    InvalidRequest,
    /// The token is not a compact JWS with JSON header and payload.
    MalformedToken,
    /// No registration with the given id.
    UnknownRegistration,
    /// The registration exists but is disabled.
    RegistrationDisabled,
    /// The token's `alg` is not allowed for the registration or its key.
    UnsupportedAlgorithm,
    /// No key with the token's `kid`, even after a refresh.
    UnknownKey,
    /// The signature does not verify.
    InvalidSignature,
    /// `exp` missing, not a number, or past.
    TokenExpired,
    /// `nbf` or `iat` in the future, or not a number.
    TokenNotYetValid,
    /// `iss` missing or not the registration's issuer.
    InvalidIssuer,
    /// `aud` (or Cognito `client_id`) does not name the registration's client.
    InvalidAudience,
    /// An ID token where an access token is required, or the reverse.
    InvalidTokenUse,
    /// Another required claim is missing or wrongly typed.
    InvalidClaims,
    /// Introspection answered `active: false`.
    InactiveToken,
    /// The `DPoP` scheme without exactly one valid DPoP proof (RFC 9449
    /// §4.3): none, two, or one failing a proof check.
    InvalidDpopProof,
    /// The registration requires a server nonce in DPoP proofs and the
    /// proof has none or a stale one; the refusal carries a fresh
    /// `DPoP-Nonce` header (RFC 9449 §8).
    UseDpopNonce,
    /// The token is bound (`cnf.jkt`, `cnf["x5t#S256"]`) and was presented
    /// without its proof or certificate, or with another key or
    /// certificate; or the registration requires a binding the token lacks.
    InvalidTokenBinding,
    /// The request names a property where the application is not enabled.
    PropertyNotEnabled,
    /// A route requires a role the application does not hold.
    InsufficientRole,
    /// A route requires an OAuth scope the token does not grant.
    InsufficientScope,
    /// A route requires an `acr` or a recent `auth_time` the token does not
    /// have (RFC 9470 step-up).
    InsufficientUserAuthentication,
    /// The user directory does not know the user.
    UserUnknown,
    /// The user directory says the user is blocked.
    UserBlocked,
    /// Keys, discovery, introspection or userinfo could not be fetched.
    IdpUnavailable,
    /// The registry source failed and nothing cached can serve.
    RegistryUnavailable,
    /// The user directory failed and nothing cached can serve.
    DirectoryUnavailable,
    /// A custom verification endpoint refused the token; its own answer is
    /// passed to the caller as it is (see [`AuthError::pass_through`]).
    VerificationRefused,
}

/// The `error=` attribute of RFC 6750's `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerError {
    /// `error="invalid_request"`
    InvalidRequest,
    /// `error="invalid_token"`
    InvalidToken,
    /// `error="insufficient_scope"`
    InsufficientScope,
    /// `error="insufficient_user_authentication"` (RFC 9470)
    InsufficientUserAuthentication,
    /// `error="invalid_dpop_proof"` (RFC 9449 §7.1)
    InvalidDpopProof,
    /// `error="use_dpop_nonce"` (RFC 9449 §8)
    UseDpopNonce,
}

impl BearerError {
    /// The attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl ErrorCode {
    /// The `code` string of the body.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MissingToken => "missing_token",
            MissingRegistration => "missing_registration",
            InvalidRequest => "invalid_request",
            MalformedToken => "malformed_token",
            UnknownRegistration => "unknown_registration",
            RegistrationDisabled => "registration_disabled",
            UnsupportedAlgorithm => "unsupported_algorithm",
            UnknownKey => "unknown_key",
            InvalidSignature => "invalid_signature",
            TokenExpired => "token_expired",
            TokenNotYetValid => "token_not_yet_valid",
            InvalidIssuer => "invalid_issuer",
            InvalidAudience => "invalid_audience",
            InvalidTokenUse => "invalid_token_use",
            InvalidClaims => "invalid_claims",
            InactiveToken => "inactive_token",
            InvalidDpopProof => "invalid_dpop_proof",
            UseDpopNonce => "use_dpop_nonce",
            InvalidTokenBinding => "invalid_token_binding",
            PropertyNotEnabled => "property_not_enabled",
            InsufficientRole => "insufficient_role",
            InsufficientScope => "insufficient_scope",
            InsufficientUserAuthentication => "insufficient_user_authentication",
            UserUnknown => "user_unknown",
            UserBlocked => "user_blocked",
            IdpUnavailable => "idp_unavailable",
            RegistryUnavailable => "registry_unavailable",
            DirectoryUnavailable => "directory_unavailable",
            VerificationRefused => "verification_refused",
        }
    }

    /// The HTTP status of the refusal.
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            InvalidRequest => StatusCode::BAD_REQUEST,
            RegistrationDisabled | PropertyNotEnabled | InsufficientRole | InsufficientScope
            | UserUnknown | UserBlocked => StatusCode::FORBIDDEN,
            IdpUnavailable | RegistryUnavailable | DirectoryUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error=` attribute, for the codes that carry one (the
    /// table of codes: `docs/refusals.md` in the repository).
    pub fn bearer_error(self) -> Option<BearerError> {
        use ErrorCode::*;
        match self {
            MissingToken | RegistrationDisabled | PropertyNotEnabled | UserUnknown
            | UserBlocked | IdpUnavailable | RegistryUnavailable | DirectoryUnavailable => None,
            MissingRegistration | InvalidRequest => Some(BearerError::InvalidRequest),
            InsufficientRole | InsufficientScope => Some(BearerError::InsufficientScope),
            InsufficientUserAuthentication => Some(BearerError::InsufficientUserAuthentication),
            InvalidDpopProof => Some(BearerError::InvalidDpopProof),
            UseDpopNonce => Some(BearerError::UseDpopNonce),
            _ => Some(BearerError::InvalidToken),
        }
    }

    /// The human sentence of the body's `message`.
    pub fn message(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MissingToken => "The Authorization header is missing.",
            MissingRegistration => {
                "The x-sc-auth header with the application registration id is missing."
            }
            InvalidRequest => "The authentication headers of the request are malformed.",
            MalformedToken => "The token is not a well-formed JWT.",
            UnknownRegistration => "No application registration has this id.",
            RegistrationDisabled => "The application registration is disabled.",
            UnsupportedAlgorithm => "The token's signing algorithm is not allowed.",
            UnknownKey => "The token's signing key is not in the identity provider's key set.",
            InvalidSignature => "The token's signature is invalid.",
            TokenExpired => "The token has expired.",
            TokenNotYetValid => "The token is not valid yet.",
            InvalidIssuer => "The token was not issued by the registration's identity provider.",
            InvalidAudience => "The token was not issued for the registration's client.",
            InvalidTokenUse => "The token is not of the kind this registration accepts.",
            InvalidClaims => "The token's claims are invalid.",
            InactiveToken => "The token is not active.",
            InvalidDpopProof => "The DPoP proof is missing or invalid.",
            UseDpopNonce => "The DPoP proof must carry the server's current nonce.",
            InvalidTokenBinding => {
                "The token is bound to a key or certificate the request does not prove."
            }
            PropertyNotEnabled => "The application is not enabled in this property.",
            InsufficientRole => "The application does not hold the role this route requires.",
            InsufficientScope => "The token does not grant the scope this route requires.",
            InsufficientUserAuthentication => {
                "The user's authentication is not strong or recent enough for this route."
            }
            UserUnknown => "The user is not known.",
            UserBlocked => "The user is blocked.",
            IdpUnavailable => "The identity provider could not be reached.",
            RegistryUnavailable => "The application registry could not be reached.",
            DirectoryUnavailable => "The user directory could not be reached.",
            VerificationRefused => "The verification endpoint refused the token.",
        }
    }

    /// Seconds for `Retry-After` on a 503.
    fn retry_after(self) -> Option<u32> {
        (self.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(5)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the offending input came from: `details[].param` and `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSource {
    /// The parameter name, e.g. `Authorization`.
    pub param: Cow<'static, str>,
    /// The location, e.g. `header`.
    pub location: &'static str,
}

/// The `realm` of `WWW-Authenticate`: the default of
/// [`AuthenticatorBuilder::realm`](crate::AuthenticatorBuilder::realm),
/// and the realm of a refusal rendered with no authenticator at hand (an
/// extractor's).
pub const DEFAULT_REALM: &str = "fedauth";

/// Largest body of a verification endpoint's answer passed to the caller
/// (64 KiB); the rest is cut off.
pub const PASS_THROUGH_MAX_BODY: usize = 64 * 1024;

/// A verification endpoint's own refusal, sent to the caller as it is: the
/// endpoint owns its error format, not fedauth. Only its media type is
/// narrowed: the answer is served from the platform's origin, so markup or
/// script of a third party must not be rendered there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassThrough {
    /// The endpoint's status (4xx or 5xx).
    pub status: StatusCode,
    /// The `Content-Type` sent on: the endpoint's own when its media type
    /// is `application/json` or `text/plain` (compared case-insensitively,
    /// parameters such as `charset` kept), `text/plain` for any other, and
    /// none when the endpoint sent none (the response then carries only
    /// `X-Content-Type-Options: nosniff`, so nothing is guessed from the
    /// body).
    pub content_type: Option<HeaderValue>,
    /// The endpoint's body, at most [`PASS_THROUGH_MAX_BODY`] bytes.
    pub body: Bytes,
}

/// The `Content-Type` a passed-through answer is sent with: `value` when
/// its media type (before any `;`, trimmed, compared case-insensitively) is
/// `application/json` or `text/plain`, else `text/plain`.
fn passable_content_type(value: HeaderValue) -> HeaderValue {
    let media = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match media {
        Some(m) if m.eq_ignore_ascii_case("application/json") => value,
        Some(m) if m.eq_ignore_ascii_case("text/plain") => value,
        _ => HeaderValue::from_static("text/plain"),
    }
}

/// A refusal: the code, a precise detail for operators, and where it came from.
///
/// The detail never holds a token, a secret or a whole header value; `value`
/// may only hold a registration id.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthError {
    code: ErrorCode,
    detail: Cow<'static, str>,
    source: ErrorSource,
    value: Option<String>,
    pass_through: Option<Arc<PassThrough>>,
    /// The check that refused, where the code alone does not say it.
    check: Option<Check>,
    /// What the `WWW-Authenticate` challenge asks for beyond `error=`.
    challenge: Option<Box<Challenge>>,
    /// The `DPoP` challenge and `DPoP-Nonce` of a sender-constraint
    /// refusal (RFC 9449 §7.1, §8).
    sender: Option<Box<SenderChallenge>>,
}

impl AuthError {
    /// A refusal about the token (`Authorization` header).
    pub fn token(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::at(code, detail, "Authorization", "header")
    }

    /// A refusal with an explicit source.
    pub fn at(
        code: ErrorCode,
        detail: impl Into<Cow<'static, str>>,
        param: impl Into<Cow<'static, str>>,
        location: &'static str,
    ) -> Self {
        Self {
            code,
            detail: detail.into(),
            source: ErrorSource {
                param: param.into(),
                location,
            },
            value: None,
            pass_through: None,
            check: None,
            challenge: None,
            sender: None,
        }
    }

    /// A verification endpoint's refusal (code `verification_refused`),
    /// rendered as the endpoint's own status and body (cut to
    /// [`PASS_THROUGH_MAX_BODY`]) instead of the JSON refusal body, with
    /// its `Content-Type` narrowed as [`PassThrough::content_type`] says
    /// and `X-Content-Type-Options: nosniff`. The body is never logged: it
    /// is the endpoint's, not ours.
    pub fn pass_through(
        status: StatusCode,
        content_type: Option<HeaderValue>,
        mut body: Bytes,
    ) -> Self {
        body.truncate(PASS_THROUGH_MAX_BODY);
        let mut error = Self::token(
            ErrorCode::VerificationRefused,
            format!(
                "the verification endpoint answered HTTP {}",
                status.as_u16()
            ),
        );
        error.pass_through = Some(Arc::new(PassThrough {
            status,
            content_type: content_type.map(passable_content_type),
            body,
        }));
        error
    }

    /// The endpoint answer a pass-through refusal carries.
    pub fn passed_through(&self) -> Option<&PassThrough> {
        self.pass_through.as_deref()
    }

    /// Attach the offending value (only ever a registration or property id).
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Add parameters to the refusal's `WWW-Authenticate` challenge: what
    /// the client must come back with (the route's scope, `acr` values,
    /// `max_age`), added after `error_description`.
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(Box::new(challenge));
        self
    }

    /// The challenge parameters of [`with_challenge`](Self::with_challenge).
    pub fn challenge(&self) -> Option<&Challenge> {
        self.challenge.as_deref()
    }

    /// Answer with the `DPoP` challenge (and the rest `sender` says).
    pub(crate) fn with_sender(mut self, sender: SenderChallenge) -> Self {
        self.sender = Some(Box::new(sender));
        self
    }

    /// The fresh server nonce sent in the refusal's `DPoP-Nonce` header, if
    /// any (RFC 9449 §8: `use_dpop_nonce`, and every refusal of a
    /// registration that requires nonces).
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.sender.as_ref()?.nonce.as_deref()
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The check that refused the request (see [`Check`]).
    pub fn check(&self) -> Check {
        self.check.unwrap_or(self.code.check())
    }

    /// Say which check refused, where the code is shared by several (an
    /// unreachable userinfo endpoint is `idp_unavailable` during the claim
    /// checks, not the key lookup).
    pub(crate) fn during(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }

    /// The precise reason, for logs and `fedauth explain`. For a
    /// dependency outage it names what the outgoing request met (URL,
    /// status, connection error), so it is not what the caller is shown:
    /// see [`public_detail`](Self::public_detail).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The reason the caller is shown (the body's `details[0].msg`). An
    /// outage of a dependency (`idp_unavailable`, `registry_unavailable`,
    /// `directory_unavailable`) says only which dependency failed: what an
    /// outgoing request met would make the platform a scanner of whatever
    /// network a registered URL points at.
    pub fn public_detail(&self) -> &str {
        match self.code {
            ErrorCode::IdpUnavailable => "the identity provider gave no usable answer",
            ErrorCode::RegistryUnavailable => "the application registry gave no usable answer",
            ErrorCode::DirectoryUnavailable => "the user directory gave no usable answer",
            _ => &self.detail,
        }
    }

    /// Where the offending input came from.
    pub fn source_param(&self) -> &ErrorSource {
        &self.source
    }

    /// The offending value, if it may be shown.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The HTTP status (a pass-through refusal's is the endpoint's).
    pub fn status(&self) -> StatusCode {
        match &self.pass_through {
            Some(p) => p.status,
            None => self.code.status(),
        }
    }

    /// `Retry-After` seconds, on 503s (never on a pass-through refusal:
    /// only the endpoint knows when to retry).
    pub fn retry_after(&self) -> Option<u32> {
        match self.pass_through {
            Some(_) => None,
            None => self.code.retry_after(),
        }
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("code", &self.code.as_str())
            .field("detail", &self.detail)
            .field("param", &self.source.param)
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

impl std::error::Error for AuthError {}
