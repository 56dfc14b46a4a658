//! Identity provider presets: what a registration of each `provider`
//! accepts, derived from the few keys it names (each preset's rules are
//! also in `docs/providers.md` in the repository).
//!
//! [`ProviderRules`] answers, for one registration: where its keys are,
//! whether discovery is used, which issuers, audience and token kind it
//! accepts, and the provider's extra claim rules. The authenticator runs
//! these checks in its fixed order of checks; this module only decides.
//!
//! `jwks_uri`, `issuer` and `discovery_url` override what is derived, with
//! every provider. Key URL precedence: `jwks_uri`, then discovery from
//! `discovery_url`, then the preset's key URL (`oidc`: discovery from
//! `issuer`).
//!
//! # `azure-ad` (Microsoft Entra ID)
//! - Issuers: v2 `https://login.microsoftonline.com/{tid}/v2.0`, v1
//!   `https://sts.windows.net/{tid}/`; the `ver` claim (`2.0` / `1.0`) says
//!   which applies, and `version` (`1`, `2`, `any`) which are accepted.
//! - `tid` must be a GUID; a GUID `tenant` accepts only itself; `common`
//!   any tenant, `organizations` any but the personal-account tenant
//!   ([`CONSUMERS_TENANT_ID`]), `consumers` only that one. The issuer form is
//!   filled with `tid` and `iss` must equal it exactly. An `issuer` override
//!   may hold [`TENANT_TEMPLATE`], filled the same way.
//! - `allowed_tenants` narrows a multi-tenant registration to the tenants
//!   the application serves: a `tid` not listed is `invalid_issuer`.
//!   Without it every tenant the `tenant` admits passes (`common`: every
//!   Entra ID tenant in the world), and loading the registration logs a
//!   warning.
//! - Keys: `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`
//!   (`/discovery/keys` when `version = 1`). A key whose `issuer` member is
//!   a concrete tenant signs only that tenant's tokens.
//! - Audience `aud` = `client_id` (see "Audience" below); RS256; token kind
//!   by `typ` as for `oidc`.
//!
//! # `cognito` (Amazon Cognito user pools)
//! - Issuer: `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}` or,
//!   for multi-region pools, the host `issuer.cognito-idp.{region}.amazonaws.com`;
//!   both for the configured pool only.
//! - Keys: `{issuer}/.well-known/jwks.json` (of the `issuer` override, if any).
//! - Token kind: the `token_use` claim must equal the registration's
//!   `token_use` (default `access`), else `invalid_token_use`.
//! - Audience: access tokens have no `aud`: their `client_id` claim must be
//!   the client id; ID tokens: `aud`. RS256.
//!
//! # `auth0`
//! - Issuer `https://{domain}/` (with the trailing slash); keys
//!   `https://{domain}/.well-known/jwks.json`; `aud` string or array naming
//!   the client id; RS256 only (an HS256 token is `unsupported_algorithm`).
//!
//! # `firebase`
//! - Issuer `https://securetoken.google.com/{project_id}`; `aud` = the
//!   project id; keys from Google's X.509 certificate map
//!   ([`FIREBASE_KEYS_URL`], `Cache-Control: max-age` honoured); RS256.
//! - The header must carry a `kid` (else `unknown_key`, before any fetch).
//! - `sub` a non-empty string of at most 128 characters; `iat` present;
//!   `auth_time` a number not in the future (leeway applies) — else
//!   `invalid_claims`. A future `iat` is `token_not_yet_valid`, like any
//!   token's.
//!
//! # `oidc` and `jwks`
//! - `oidc`: keys and userinfo endpoint by discovery from `issuer`; `jwks`:
//!   keys at `jwks_uri`, `iss` checked only if `issuer` is given.
//! - Token kind: with `token_use = "access"`, `typ: at+jwt` is required;
//!   with `"id"` it is refused (RFC 9068, RFC 8725 §3.11). `typ` is a media
//!   type: compared case-insensitively, with or without `application/`
//!   (RFC 7515 §4.1.9), so `Application/AT+JWT` is an access token.
//!
//! # Audience (every provider with signed tokens)
//! - `aud`, a string or an array, must name the client id. An array of more
//!   than one value also needs the token's authorized party — the first of
//!   the registration's `authorized_party_claims` (default `azp`,
//!   `client_id`, `appid`, `cid`) that the token carries — to be present
//!   and equal the client id (OpenID Connect Core §3.1.3.7); else
//!   `invalid_audience`. Cognito access tokens have no `aud` and are
//!   checked by their `client_id` claim alone.
//!
//! Roles are never read from token claims (`roles`, `groups`,
//! `cognito:groups`, namespaced Auth0 claims): only the registry grants them.

mod azure;
#[cfg(test)]
mod tests;
pub(crate) mod userinfo;

use std::borrow::Cow;

use serde_json::{Map, Value};
use url::Url;

pub(crate) use azure::is_guid;
pub use azure::{CONSUMERS_TENANT_ID, TENANT_TEMPLATE};

use crate::claims::as_numeric_date;
use crate::error::{AuthError, ErrorCode};
use crate::keys::{VerificationKey, discovery_url_for};
use crate::registration::{Provider, Registration, TokenUse};
use crate::token::JoseHeader;
use crate::verify::{self, printable};

/// Where Google publishes the keys of Firebase ID tokens (X.509 certificate map).
pub const FIREBASE_KEYS_URL: &str =
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com";

/// Longest Firebase `sub` (Firebase's own verifier's rule).
const FIREBASE_MAX_SUB_CHARS: usize = 128;

pub(crate) fn invalid_issuer(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::token(ErrorCode::InvalidIssuer, detail)
}

fn invalid_claims(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
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

/// Where a registration's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key document at this URL (JWKS or X.509 certificate map).
    Direct(Url),
    /// The `jwks_uri` of the discovery document at this URL.
    Discovery(Url),
}

/// The rules of one registration's provider (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct ProviderRules<'r> {
    reg: &'r Registration,
}

impl<'r> ProviderRules<'r> {
    /// The rules of `reg`.
    pub fn new(reg: &'r Registration) -> Self {
        Self { reg }
    }

    /// Where the keys are: `jwks_uri`, else discovery from `discovery_url`,
    /// else the preset's key URL (`oidc`: discovery from `issuer`). `None`
    /// for providers without signed tokens.
    pub fn key_source(&self) -> Option<KeySource> {
        let reg = self.reg;
        if let Some(url) = &reg.jwks_uri {
            return Some(KeySource::Direct(url.clone()));
        }
        if let Some(url) = &reg.discovery_url {
            return Some(KeySource::Discovery(url.clone()));
        }
        let derived = match reg.provider {
            Provider::AzureAd => {
                azure::keys_url(reg.version, reg.tenant.as_deref().unwrap_or("common"))
            }
            Provider::Cognito => format!(
                "{}/.well-known/jwks.json",
                self.primary_issuer()?.trim_end_matches('/')
            ),
            Provider::Auth0 => format!("https://{}/.well-known/jwks.json", reg.domain.as_deref()?),
            Provider::Firebase => FIREBASE_KEYS_URL.to_owned(),
            Provider::Oidc | Provider::Jwks => {
                return reg
                    .issuer
                    .as_deref()
                    .and_then(discovery_url_for)
                    .map(KeySource::Discovery);
            }
            Provider::Introspection | Provider::VerificationEndpoint => return None,
        };
        Url::parse(&derived).ok().map(KeySource::Direct)
    }

    /// The discovery document, where the userinfo endpoint is found:
    /// `discovery_url`, else `{issuer}/.well-known/openid-configuration` of
    /// the (overridden or derived) issuer; Entra ID multi-tenant: the
    /// tenant's document, whose issuer is the `{tenantid}` template.
    pub fn discovery_url(&self) -> Option<Url> {
        let reg = self.reg;
        if let Some(url) = &reg.discovery_url {
            return Some(url.clone());
        }
        if reg.provider == Provider::AzureAd && reg.issuer.is_none() {
            let tenant = reg.tenant.as_deref().unwrap_or("common");
            return Url::parse(&azure::discovery_url(reg.version, tenant)).ok();
        }
        self.primary_issuer()
            .filter(|i| !i.contains(TENANT_TEMPLATE))
            .as_deref()
            .and_then(discovery_url_for)
    }

    /// Every form `iss` may take (Entra ID multi-tenant forms hold
    /// [`TENANT_TEMPLATE`]); empty when `iss` is not checked (`jwks`
    /// without `issuer`).
    pub fn issuers(&self) -> Vec<String> {
        self.accepted_issuers().into_owned()
    }

    /// [`ProviderRules::issuers`], borrowed when the registration names its
    /// issuer: this runs on every full verification.
    fn accepted_issuers(&self) -> Cow<'r, [String]> {
        let reg = self.reg;
        if let Some(issuer) = &reg.issuer {
            return Cow::Borrowed(std::slice::from_ref(issuer));
        }
        Cow::Owned(match reg.provider {
            Provider::AzureAd => azure::Ver::accepted(reg.version)
                .map(|v| azure::issuer(v, azure::tenant_or_template(reg)))
                .collect(),
            Provider::Cognito => match (&reg.region, &reg.user_pool_id) {
                (Some(region), Some(pool)) => vec![
                    format!("https://cognito-idp.{region}.amazonaws.com/{pool}"),
                    format!("https://issuer.cognito-idp.{region}.amazonaws.com/{pool}"),
                ],
                _ => Vec::new(),
            },
            Provider::Auth0 => reg.domain.iter().map(|d| format!("https://{d}/")).collect(),
            Provider::Firebase => reg
                .project_id
                .iter()
                .map(|p| format!("https://securetoken.google.com/{p}"))
                .collect(),
            _ => Vec::new(),
        })
    }

    fn primary_issuer(&self) -> Option<String> {
        self.accepted_issuers().first().cloned()
    }

    /// Whether a discovery document naming `issuer` belongs to this
    /// registration (OIDC Discovery §4.3: exact match).
    pub fn accepts_discovery_issuer(&self, issuer: &str) -> bool {
        let forms = self.accepted_issuers();
        forms.is_empty() || forms.iter().any(|f| f == issuer)
    }

    /// Key step: Firebase tokens must name their key (`unknown_key`).
    pub(crate) fn check_key_id(&self, header: &JoseHeader) -> Result<(), AuthError> {
        if self.reg.provider == Provider::Firebase && header.kid.is_none() {
            return Err(AuthError::token(
                ErrorCode::UnknownKey,
                "Firebase tokens must name their key (`kid`)",
            ));
        }
        Ok(())
    }

    /// Token kind: Cognito's `token_use` claim, else explicit typing.
    pub(crate) fn check_token_use(
        &self,
        header: &JoseHeader,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        if self.reg.provider != Provider::Cognito {
            return verify::check_token_use(self.reg, header);
        }
        let required = self.reg.token_use;
        match claims.get("token_use").and_then(Value::as_str) {
            Some(used) if required == TokenUse::Any || used == required.as_str() => Ok(()),
            Some(used) => Err(AuthError::token(
                ErrorCode::InvalidTokenUse,
                format!(
                    "token_use `{}` where `{required}` is required",
                    printable(used, 16)
                ),
            )),
            None => Err(AuthError::token(
                ErrorCode::InvalidTokenUse,
                "token_use is missing or not a string",
            )),
        }
    }

    /// Issuer: the provider's accepted forms; then a key's own `issuer`
    /// restriction.
    pub(crate) fn check_issuer(
        &self,
        key: &VerificationKey,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        if self.reg.provider == Provider::AzureAd {
            azure::check_issuer(self.reg, claims)?;
        } else {
            verify::check_issuer(&self.accepted_issuers(), claims)?;
        }
        // A key that names a concrete issuer signs only that issuer's tokens.
        if let Some(key_issuer) = key.issuer.as_deref().filter(|i| !i.contains('{')) {
            let iss = issuer_claim(claims)?;
            let ok = if self.reg.provider == Provider::AzureAd {
                azure::key_may_sign(key_issuer, claims)
            } else {
                iss == key_issuer
            };
            if !ok {
                return Err(invalid_issuer(format!(
                    "the key `{}` signs only for `{}`, not for `{}`",
                    printable(key.kid.as_deref().unwrap_or(""), 64),
                    printable(key_issuer, 128),
                    printable(iss, 128)
                )));
            }
        }
        Ok(())
    }

    /// Audience: `aud` names the client; Cognito access tokens: `client_id`.
    pub(crate) fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        let client_id = self.reg.client_id().ok_or_else(|| {
            AuthError::token(
                ErrorCode::InvalidAudience,
                "the registration has no client id",
            )
        })?;
        if self.reg.provider == Provider::Cognito && self.reg.token_use == TokenUse::Access {
            return match claims.get("client_id") {
                Some(Value::String(c)) if c == client_id => Ok(()),
                Some(Value::String(_)) => Err(AuthError::token(
                    ErrorCode::InvalidAudience,
                    "client_id does not name the registration's client",
                )),
                _ => Err(AuthError::token(
                    ErrorCode::InvalidAudience,
                    "client_id is missing or not a string",
                )),
            };
        }
        verify::check_audience(client_id, &self.reg.authorized_party_claims, claims)
    }

    /// Other claims (Firebase: `sub`, `iat`, `auth_time`).
    pub(crate) fn check_claims(
        &self,
        now: i64,
        leeway: i64,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        if self.reg.provider != Provider::Firebase {
            return Ok(());
        }
        match claims.get("sub") {
            Some(Value::String(s)) if s.is_empty() => return Err(invalid_claims("sub is empty")),
            Some(Value::String(s)) if s.chars().count() > FIREBASE_MAX_SUB_CHARS => {
                return Err(invalid_claims(format!(
                    "sub is longer than {FIREBASE_MAX_SUB_CHARS} characters"
                )));
            }
            Some(Value::String(_)) => {}
            _ => return Err(invalid_claims("sub is missing or not a string")),
        }
        if claims.get("iat").and_then(as_numeric_date).is_none() {
            return Err(invalid_claims("iat is missing"));
        }
        match claims.get("auth_time").and_then(as_numeric_date) {
            Some(t) if t <= now.saturating_add(leeway) => Ok(()),
            Some(t) => Err(invalid_claims(format!(
                "auth_time {t} is after now plus leeway"
            ))),
            None => Err(invalid_claims("auth_time is missing or not a number")),
        }
    }
}
