//! The value types a registration is made of, shared by every provider
//! preset: the token kind, the claims mapping, credentials, and the
//! algorithm and authorized-party defaults. A leaf: it imports nothing of
//! the crate.

use std::fmt;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

/// Which kind of token a registration accepts, so an ID token cannot be
/// replayed where an access token is meant, or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TokenUse {
    /// Access tokens only.
    Access,
    /// ID tokens only.
    Id,
    /// Either kind (the audience must still name the client).
    Any,
}

impl TokenUse {
    /// The name used in registry files.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
            TokenUse::Any => "any",
        }
    }

    /// The token use with this registry-file name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [TokenUse::Access, TokenUse::Id, TokenUse::Any]
            .into_iter()
            .find(|t| t.as_str() == name)
    }
}

impl fmt::Display for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
/// Whether a registration accepts, or requires, tokens bound to a key the
/// caller proves it holds (`dpop`, RFC 9449) or to its TLS client
/// certificate (`mtls`, RFC 8705). Whatever the mode, a token that *is*
/// bound is accepted only with its proof: there is no downgrade to bearer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BindingMode {
    /// `off`: DPoP — the `DPoP` scheme is refused (400 `invalid_request`);
    /// mTLS — client certificates are ignored. A bound token is refused.
    Off,
    /// `allowed` (the default): bearer tokens, and bound tokens with their
    /// proof.
    #[default]
    Allowed,
    /// `required`: only tokens bound this way, with their proof.
    Required,
}

impl BindingMode {
    /// The name used in registry files.
    pub fn as_str(self) -> &'static str {
        match self {
            BindingMode::Off => "off",
            BindingMode::Allowed => "allowed",
            BindingMode::Required => "required",
        }
    }

    /// The mode with this registry-file name, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            BindingMode::Off,
            BindingMode::Allowed,
            BindingMode::Required,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }
}

impl fmt::Display for BindingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How token claims map to the principal: IdPs name the user differently,
/// and the platform must not guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsMapping {
    /// Claim that identifies the user or app.
    pub subject: String,
    /// Claim holding the user name.
    pub username: String,
    /// Claim holding the email (never a basis for authorization).
    pub email: String,
    /// Fetch the OIDC userinfo endpoint when a mapped claim is missing.
    pub userinfo: bool,
    /// Claims copied into the principal's attributes.
    pub persist: Vec<String>,
}

impl Default for ClaimsMapping {
    fn default() -> Self {
        Self {
            subject: "sub".into(),
            username: "preferred_username".into(),
            email: "email".into(),
            userinfo: false,
            persist: Vec::new(),
        }
    }
}

/// A credential that must never reach a log: `Debug` prints `Secret(***)`
/// and there is no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a credential read from configuration.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, only where it is sent to the IdP.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// The claims read for a token's authorized party when a registration names
/// none: `azp` (OpenID Connect), `client_id` (RFC 9068 access tokens),
/// `appid` (Entra ID v1 access tokens), `cid` (Okta access tokens).
pub const DEFAULT_AUTHORIZED_PARTY_CLAIMS: [&str; 4] = ["azp", "client_id", "appid", "cid"];

/// Algorithms a registration may allow: asymmetric only.
pub const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
