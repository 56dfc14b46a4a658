//! Identity provider presets: what a registration of each `provider`
//! accepts, derived from the few keys it names (each preset's rules are
//! also in `docs/providers.md` in the repository).
//!
//! Each preset is one file here, which says in one screen what it takes and
//! derives: its registry keys and how they load (a `Loader`), and its rules
//! (the `Preset` trait: token kind and defaults, issuers, key URL, audience
//! rule, extra claim rules). [`ProviderConfig`] holds a registration's
//! preset with its settings; the one `match` from a preset name or setting
//! to its file is at the end of this file.
//!
//! `ProviderRules` answers, for one registration: where its keys are,
//! whether discovery is used, which issuers, audience and token kind it
//! accepts, and the provider's extra claim rules. The authenticator runs
//! these checks in its fixed order of checks; this module only decides.
//!
//! `jwks_uri`, `issuer` and `discovery_url` override what is derived, with
//! every provider. Key URL precedence: `jwks_uri`, then discovery from
//! `discovery_url`, then the preset's key URL (`oidc`: discovery from
//! `issuer`).
//!
//! # Every preset with signed tokens
//! - Token kind, unless the preset says otherwise: with
//!   `token_use = "access"`, `typ: at+jwt` is required; with `"id"` it is
//!   refused (RFC 9068, RFC 8725 §3.11). `typ` is a media type: compared
//!   case-insensitively, with or without `application/` (RFC 7515 §4.1.9),
//!   so `Application/AT+JWT` is an access token.
//! - Issuer: `issuer`, a string or a list (an IdP moving to a custom
//!   domain), overrides the preset's forms: `iss` may be any of them, and
//!   discovery starts at the first.
//! - Audience: `aud`, a string or an array, must name the client id. An
//!   array of more than one value also needs the token's authorized party —
//!   the first of the registration's `authorized_party_claims` (default
//!   `azp`, `client_id`, `appid`, `cid`) that the token carries — to be
//!   present and equal the client id (OpenID Connect Core §3.1.3.7); else
//!   `invalid_audience`. With `audiences` (the platform's API identifiers:
//!   OAuth access tokens), `aud` must name one of them instead, and the
//!   authorized party must be present and equal the client id however many
//!   audiences there are; each preset says how a value names an API
//!   (`Preset::names_api`; Entra ID: `api://{GUID}` and `{GUID}` alike).
//!   Cognito access tokens have no `aud` and are checked by their
//!   `client_id` claim alone; Cognito and Firebase refuse `audiences`.
//! - Claims: after time, the preset's own rules, then the registration's
//!   `required_claims` (`invalid_claims` naming the claim, never its
//!   value).
//! - A key whose JWKS entry names a concrete `issuer` signs only that
//!   issuer's tokens.
//!
//! Roles are never read from token claims (`roles`, `groups`,
//! `cognito:groups`, namespaced Auth0 claims): only the registry grants them.
//!
//! # Adding a preset
//! One file here with its keys (`Keys`, read by a `Loader`) and its
//! `Preset` implementation; one variant of [`ProviderConfig`] (with its
//! settings type in `config.rs`) and of [`Provider`] (with its name); then
//! the arms the compiler asks for in `Provider::as_str`,
//! `ProviderConfig::kind` and the two matches below, and the name in
//! `Provider::ALL`.

mod auth0;
mod azure;
mod cognito;
mod config;
mod firebase;
mod introspection;
mod oidc;
mod preset;
#[cfg(test)]
mod tests;
pub(crate) mod userinfo;
mod verification;

use std::borrow::Cow;

use serde_json::{Map, Value};
use url::Url;

pub use azure::{CONSUMERS_TENANT_ID, TENANT_TEMPLATE};
pub use config::{
    Auth0, AzureAd, AzureVersion, ClientAuthMethod, Cognito, DEFAULT_CACHE_SECONDS, Firebase,
    HttpMethod, IntrospectionConfig, Provider, ProviderConfig, VerificationConfig,
};
pub use firebase::FIREBASE_KEYS_URL;
pub(crate) use preset::KeySource;
pub(crate) use preset::{ClientId, Preset, Tokens};
use preset::{Loader, invalid_issuer, issuer_claim};

use crate::error::{AuthError, ErrorCode};
use crate::keys::{VerificationKey, discovery_url_for};
use crate::registration::{Ctx, RawRegistration, Registration, RegistrationError};
use crate::token::JoseHeader;
use crate::verify::printable;

/// The rules of one registration's provider (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct ProviderRules<'r> {
    reg: &'r Registration,
    preset: &'r dyn Preset,
}

impl std::fmt::Debug for ProviderRules<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRules")
            .field("registration", &self.reg.id)
            .field("provider", &self.reg.provider.kind())
            .finish()
    }
}

impl<'r> ProviderRules<'r> {
    /// The rules of `reg`.
    pub(crate) fn new(reg: &'r Registration) -> Self {
        Self {
            reg,
            preset: reg.provider.preset(),
        }
    }

    /// Where the keys are: `jwks_uri`, else discovery from `discovery_url`,
    /// else the preset's key URL (`oidc`: discovery from `issuer`). `None`
    /// for providers without signed tokens.
    pub(crate) fn key_source(&self) -> Option<KeySource> {
        let reg = self.reg;
        if let Some(url) = &reg.jwks_uri {
            return Some(KeySource::Direct(url.clone()));
        }
        if let Some(url) = &reg.discovery_url {
            return Some(KeySource::Discovery(url.clone()));
        }
        self.preset.key_source(&self.accepted_issuers())
    }

    /// The discovery document, where the userinfo endpoint is found:
    /// `discovery_url`, else the preset's own document when `issuer` is not
    /// overridden (Entra ID: the tenant's, whose issuer is the `{tenantid}`
    /// template), else `{issuer}/.well-known/openid-configuration` of the
    /// (overridden or derived) issuer.
    pub(crate) fn discovery_url(&self) -> Option<Url> {
        let reg = self.reg;
        if let Some(url) = &reg.discovery_url {
            return Some(url.clone());
        }
        if reg.issuer.is_empty()
            && let Some(url) = self.preset.discovery_url()
        {
            return Some(url);
        }
        self.accepted_issuers()
            .first()
            .filter(|i| !i.contains(TENANT_TEMPLATE))
            .and_then(|i| discovery_url_for(i))
    }

    /// Every form `iss` may take, owned (tests).
    #[cfg(test)]
    pub(crate) fn issuers(&self) -> Vec<String> {
        self.accepted_issuers().into_owned()
    }

    /// Every form `iss` may take (Entra ID multi-tenant forms hold
    /// [`TENANT_TEMPLATE`]), borrowed when the registration names its
    /// issuers: this runs on every full verification; empty when `iss` is
    /// not checked (`jwks` without `issuer`).
    fn accepted_issuers(&self) -> Cow<'r, [String]> {
        match self.reg.issuer.as_slice() {
            [] => Cow::Owned(self.preset.issuers()),
            written => Cow::Borrowed(written),
        }
    }

    /// Whether a discovery document naming `issuer` belongs to this
    /// registration (OIDC Discovery §4.3: exact match).
    pub(crate) fn accepts_discovery_issuer(&self, issuer: &str) -> bool {
        let forms = self.accepted_issuers();
        forms.is_empty() || forms.iter().any(|f| f == issuer)
    }

    /// Key step: the preset's rule on `kid` (Firebase requires one).
    pub(crate) fn check_key_id(&self, header: &JoseHeader) -> Result<(), AuthError> {
        self.preset.check_key_id(header)
    }

    /// Token kind: explicit typing, or the preset's own rule (Cognito's
    /// `token_use` claim).
    pub(crate) fn check_token_use(
        &self,
        header: &JoseHeader,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        self.preset.check_token_use(self.reg, header, claims)
    }

    /// Issuer: the provider's accepted forms; then a key's own `issuer`
    /// restriction.
    pub(crate) fn check_issuer(
        &self,
        key: Option<&VerificationKey>,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        self.preset
            .check_issuer(self.reg, &self.accepted_issuers(), claims)?;
        // A key that names a concrete issuer signs only that issuer's tokens.
        let restriction = key.and_then(|k| Some((k, k.issuer.as_deref()?)));
        if let Some((key, key_issuer)) = restriction.filter(|(_, i)| !i.contains('{')) {
            let iss = issuer_claim(claims)?;
            if !self.preset.key_may_sign(key_issuer, iss, claims) {
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

    /// Audience: `aud` names the client, or with `audiences` one of them
    /// and the authorized party the client; Cognito access tokens:
    /// `client_id`.
    pub(crate) fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        let client_id = self.reg.client_id().ok_or_else(|| {
            AuthError::token(
                ErrorCode::InvalidAudience,
                "the registration has no client id",
            )
        })?;
        self.preset.check_audience(self.reg, client_id, claims)
    }

    /// Steps 7–11 on claims whose signature verified with `key`, in the
    /// order of checks: token kind, issuer (and the key's own issuer
    /// restriction), audience, time, other claims. The one sequence the
    /// request path and the fuzz targets run.
    pub(crate) fn check_verified(
        &self,
        key: Option<&VerificationKey>,
        header: &JoseHeader,
        claims: &Map<String, Value>,
        now: i64,
    ) -> Result<(), AuthError> {
        let leeway = i64::try_from(self.reg.leeway_seconds).unwrap_or(0);
        self.check_token_use(header, claims)?;
        self.check_issuer(key, claims)?;
        self.check_audience(claims)?;
        crate::verify::check_time(now, leeway, claims)?;
        self.check_claims(now, leeway, claims)
    }

    /// Other claims: those the preset requires (Firebase: `sub`, `iat`,
    /// `auth_time`), then the registration's `required_claims`.
    pub(crate) fn check_claims(
        &self,
        now: i64,
        leeway: i64,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        self.preset.check_claims(now, leeway, claims)?;
        self.reg.required_claims.check(claims)
    }
}

impl Registration {
    /// The audience a token must carry: the `client_id`, else the one the
    /// preset names itself (Firebase tokens name the project, so a firebase
    /// registration may omit `client_id`).
    pub fn client_id(&self) -> Option<&str> {
        match (&self.client_id, self.provider.preset().client_id()) {
            (Some(c), _) => Some(c),
            (None, ClientId::DefaultsTo(audience)) => Some(audience),
            (None, ClientId::Required | ClientId::Optional) => None,
        }
    }
}

impl ProviderConfig {
    /// Whether tokens of this provider are JWTs checked against keys (and so
    /// whether `algorithms`, `issuer` and `jwks_uri` mean anything).
    pub fn uses_signed_tokens(&self) -> bool {
        matches!(self.preset().tokens(), Tokens::Signed { .. })
    }

    /// The settings of `provider` from its registry keys (every key that is
    /// not common to all registrations). A key of another preset is refused
    /// naming the preset it belongs to, an unknown key as unknown.
    pub(crate) fn load(
        provider: Provider,
        cx: &Ctx,
        keys: &Map<String, Value>,
    ) -> Result<Self, RegistrationError> {
        let own = (loader(provider).keys)();
        if let Some(key) = keys.keys().find(|k| !own.contains(&k.as_str())) {
            let owner = Provider::ALL
                .into_iter()
                .find(|p| (loader(*p).keys)().contains(&key.as_str()));
            return Err(match owner {
                Some(owner) => cx.err(
                    key,
                    format!("is only used with provider {owner}, not {provider}"),
                ),
                None => {
                    let expected: Vec<_> = RawRegistration::keys()
                        .iter()
                        .chain(own)
                        .map(|k| format!("`{k}`"))
                        .collect();
                    cx.err(
                        key,
                        format!(
                            "unknown field `{key}`, expected one of {}",
                            expected.join(", ")
                        ),
                    )
                }
            });
        }
        (loader(provider).load)(cx, keys)
    }

    /// The rules of this preset: the one place a setting meets its file.
    pub(crate) fn preset(&self) -> &dyn Preset {
        match self {
            ProviderConfig::Oidc => &oidc::Oidc::Discovery,
            ProviderConfig::Jwks => &oidc::Oidc::KeyUrl,
            ProviderConfig::AzureAd(settings) => settings,
            ProviderConfig::Cognito(settings) => settings,
            ProviderConfig::Auth0(settings) => settings,
            ProviderConfig::Firebase(settings) => settings,
            ProviderConfig::Introspection(settings) => settings,
            ProviderConfig::VerificationEndpoint(settings) => settings,
        }
    }
}

/// How each preset is read: the one place a name meets its file.
fn loader(provider: Provider) -> &'static Loader {
    match provider {
        Provider::Oidc => &oidc::OIDC,
        Provider::Jwks => &oidc::JWKS,
        Provider::AzureAd => &azure::LOADER,
        Provider::Cognito => &cognito::LOADER,
        Provider::Auth0 => &auth0::LOADER,
        Provider::Firebase => &firebase::LOADER,
        Provider::Introspection => &introspection::LOADER,
        Provider::VerificationEndpoint => &verification::LOADER,
    }
}
