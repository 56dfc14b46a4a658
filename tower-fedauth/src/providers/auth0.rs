//! `auth0`: an Auth0 tenant or custom domain.
//!
//! - Keys: `domain`, a bare host name (e.g. `acme.eu.auth0.com`),
//!   lowercased.
//! - Issuer `https://{domain}/` (with the trailing slash); keys
//!   `https://{domain}/.well-known/jwks.json`.
//! - Audience: ID tokens: `aud` (string or array) names `client_id`.
//!   Access tokens for the platform's API (`audiences`, the API's
//!   *identifier* in Auth0): `aud` names it — alongside
//!   `https://{domain}/userinfo` when `openid` was asked — and `azp` (in
//!   the default `authorized_party_claims`) names the calling application.
//!   Token kind by explicit typing. RS256 only (an HS256 token is
//!   `unsupported_algorithm`).

use serde::Deserialize;

use super::config::{Auth0, ProviderConfig};
use super::preset::{KeySource, Loader, Preset, Tokens};
use crate::registration::{Ctx, Provider, RegistrationError, field_names, read, shown};

/// The keys of an `auth0` registration, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    domain: Option<String>,
}

/// Reads [`Keys`] into [`Auth0`].
pub(super) const LOADER: Loader = Loader {
    keys: field_names::<Keys>,
    load: |cx, keys| load(cx, read(cx, keys, &[])?).map(ProviderConfig::Auth0),
};

/// The domain as a bare DNS host name, lowercased: the issuer is
/// `https://{domain}/`, so a scheme or path here would break it.
fn load(cx: &Ctx, keys: Keys) -> Result<Auth0, RegistrationError> {
    let domain = cx.required("domain", keys.domain.as_deref(), Provider::Auth0)?;
    if domain.contains("://") {
        return Err(cx.err(
            "domain",
            format!(
                "{:?} must be a host name without scheme (e.g. acme.eu.auth0.com)",
                shown(domain)
            ),
        ));
    }
    let lower = domain.to_ascii_lowercase();
    let ok = lower.len() <= 253
        && lower.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !ok {
        return Err(cx.err(
            "domain",
            format!(
                "{:?} is not a host name (no scheme, port or path)",
                shown(domain)
            ),
        ));
    }
    Ok(Auth0 { domain: lower })
}

impl Preset for Auth0 {
    fn tokens(&self) -> Tokens {
        Tokens::RS256
    }

    fn issuers(&self) -> Vec<String> {
        vec![format!("https://{}/", self.domain)]
    }

    fn key_source(&self, _: &[String]) -> Option<KeySource> {
        KeySource::direct(&format!("https://{}/.well-known/jwks.json", self.domain))
    }
}
