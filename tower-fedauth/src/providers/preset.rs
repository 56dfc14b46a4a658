//! What a provider preset must provide: a [`Loader`] that reads its
//! registry keys, and the [`Preset`] rules its settings implement. Every
//! preset lives in one file of this module with both; the one `match` that
//! maps a [`ProviderConfig`] to its rules is in the module root.

use std::borrow::Cow;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};
use url::Url;

use super::config::ProviderConfig;
use crate::error::{AuthError, ErrorCode};
use crate::registration::{Ctx, Registration, RegistrationError, TokenUse};
use crate::token::JoseHeader;
use crate::verify;

/// How a preset is read from a registry entry, known from its name alone.
pub(crate) struct Loader {
    /// The keys it takes besides every registration's (its raw keys type's
    /// fields): a key of another preset is refused naming that preset.
    pub keys: fn() -> &'static [&'static str],
    /// Its settings from those keys, each checked (a refusal names the key).
    pub load: fn(&Ctx, &Map<String, Value>) -> Result<ProviderConfig, RegistrationError>,
}

/// Whether a registration must name its `client_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientId<'a> {
    /// Required: it is the audience tokens must carry.
    Required,
    /// May be omitted; then the audience is this (Firebase: the project id).
    DefaultsTo(&'a str),
    /// May be omitted: the preset's answers carry no audience to check.
    Optional,
}

/// What a preset's tokens are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tokens {
    /// JWTs checked against keys, with the algorithm allowlist and token
    /// kind used when the registration names none.
    Signed {
        /// The default `algorithms`.
        algorithms: &'static [Algorithm],
        /// The default `token_use`.
        token_use: TokenUse,
    },
    /// Opaque tokens, checked by a call to the IdP or the application: no
    /// algorithms, keys or issuer rules.
    Opaque,
}

impl Tokens {
    /// Signed with RS256 (what the vendor IdPs sign with), either kind.
    pub(crate) const RS256: Tokens = Tokens::Signed {
        algorithms: &[Algorithm::RS256],
        token_use: TokenUse::Any,
    };
}

/// The rules of one provider preset. What it derives (its tokens, issuers,
/// keys) has no default: each preset says it. The rest defaults to plain
/// OpenID Connect, which a preset overrides where its registrations or
/// tokens differ; the request-time checks only run for signed tokens.
pub(crate) trait Preset: Sync {
    /// What its tokens are, and their defaults.
    fn tokens(&self) -> Tokens;

    /// Whether `client_id` may be omitted, and what the audience is then.
    fn client_id(&self) -> ClientId<'_> {
        ClientId::Required
    }

    /// Rules across the registration's fields, once each field passed its
    /// own (e.g. `oidc` requires `issuer`); warnings about what it admits.
    fn check(&self, cx: &Ctx, reg: &Registration) -> Result<(), RegistrationError> {
        let _ = (cx, reg);
        Ok(())
    }

    /// The issuer forms it derives from its keys (the registration's
    /// `issuer` overrides them); empty: `iss` is not checked.
    fn issuers(&self) -> Vec<String>;

    /// Where the keys are when the registration names neither `jwks_uri`
    /// nor `discovery_url`; `issuers` are the accepted forms, `issuer`
    /// override first. `None`: no keys (opaque tokens).
    fn key_source(&self, issuers: &[String]) -> Option<KeySource>;

    /// Its own discovery document, used when the registration overrides
    /// neither `issuer` nor `discovery_url` (Entra ID: the tenant's).
    /// `None`: `{issuer}/.well-known/openid-configuration`.
    fn discovery_url(&self) -> Option<Url> {
        None
    }

    /// Key step: a rule on the header's `kid` (Firebase requires one).
    fn check_key_id(&self, header: &JoseHeader) -> Checked {
        let _ = header;
        Ok(())
    }

    /// Token kind: by explicit typing (`typ: at+jwt`).
    fn check_token_use(&self, reg: &Registration, header: &JoseHeader, claims: &Claims) -> Checked {
        let _ = claims;
        verify::check_token_use(reg, header)
    }

    /// Issuer: `iss` is one of the accepted forms.
    fn check_issuer(&self, reg: &Registration, issuers: &[String], claims: &Claims) -> Checked {
        let _ = reg;
        verify::check_issuer(issuers, claims)
    }

    /// Whether a key restricted to `key_issuer` may sign this (accepted)
    /// token, whose `iss` is `iss`: only that issuer's tokens.
    fn key_may_sign(&self, key_issuer: &str, iss: &str, claims: &Claims) -> bool {
        let _ = claims;
        iss == key_issuer
    }

    /// Why a registration of this preset cannot name `audiences` (its
    /// tokens never name the platform's API in `aud`), refused at load;
    /// `None`: it can.
    fn without_api_audience(&self) -> Option<&'static str> {
        None
    }

    /// Whether one value of a token's `aud` names one of the registration's
    /// `audiences`: by default, it is one of them exactly.
    fn names_api(&self, audiences: &[String], aud: &str) -> bool {
        audiences.iter().any(|a| a == aud)
    }

    /// Audience: without `audiences`, `aud` names the client (with its
    /// authorized party when `aud` names several); with them, `aud` names
    /// one of them (see [`Preset::names_api`]) and the authorized party is
    /// the client.
    fn check_audience(&self, reg: &Registration, client_id: &str, claims: &Claims) -> Checked {
        let party = &reg.authorized_party_claims;
        match reg.audiences.as_slice() {
            [] => verify::check_audience(client_id, party, claims),
            apis => verify::check_api_audience(
                |aud| self.names_api(apis, aud),
                client_id,
                party,
                claims,
            ),
        }
    }

    /// Claims the preset requires beyond the common ones.
    fn check_claims(&self, now: i64, leeway: i64, claims: &Claims) -> Checked {
        let _ = (now, leeway, claims);
        Ok(())
    }
}

/// A token's claims, as the checks read them.
pub(crate) type Claims = Map<String, Value>;

/// What a request-time check answers.
pub(crate) type Checked = Result<(), AuthError>;

/// Where a registration's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// A key document at this URL (JWKS or X.509 certificate map).
    Direct(Url),
    /// The `jwks_uri` of the discovery document at this URL.
    Discovery(Url),
}

impl KeySource {
    /// A key document at a URL built by a preset (`None` if it is not one).
    pub(crate) fn direct(url: &str) -> Option<Self> {
        Url::parse(url).ok().map(KeySource::Direct)
    }

    /// Discovery from the first accepted issuer, as for any OpenID Connect
    /// IdP.
    pub(crate) fn discovery(issuers: &[String]) -> Option<Self> {
        issuers
            .first()
            .and_then(|i| crate::keys::discovery_url_for(i))
            .map(KeySource::Discovery)
    }
}

/// An `invalid_issuer` refusal.
pub(crate) fn invalid_issuer(detail: impl Into<Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::InvalidIssuer, detail)
}

/// An `invalid_claims` refusal.
pub(crate) fn invalid_claims(detail: impl Into<Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::InvalidClaims, detail)
}

/// The `iss` claim as a string.
pub(crate) fn issuer_claim(claims: &Map<String, Value>) -> Result<&str, AuthError> {
    match claims.get("iss") {
        Some(Value::String(iss)) => Ok(iss),
        Some(_) => Err(invalid_issuer("iss is not a string")),
        None => Err(invalid_issuer("iss is missing")),
    }
}
