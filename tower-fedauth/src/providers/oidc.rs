//! `oidc` and `jwks`: plain OpenID Connect, the rules every other preset
//! starts from. Neither takes keys of its own.
//!
//! - `oidc`: `issuer` is required (a URL, or a list of them: an IdP moving
//!   to a custom domain); keys and the userinfo endpoint by discovery from
//!   the first; `iss` must equal one of them.
//! - `jwks`: `jwks_uri` is required (the minimal registration: client id +
//!   key URL); `iss` is checked only if `issuer` is given (a warning is
//!   logged at load otherwise).
//! - Both: audience `aud` names `client_id` (required), or with
//!   `audiences` one of them, the authorized party naming `client_id`
//!   (OAuth access tokens: `aud` is the API); token kind by
//!   explicit typing (`typ: at+jwt`), default `any`; every supported
//!   asymmetric algorithm.

use super::config::ProviderConfig;
use super::preset::{KeySource, Loader, Preset, Tokens};
use crate::registration::{ALLOWED_ALGORITHMS, Ctx, Registration, RegistrationError, TokenUse};

/// The two plain presets: where the keys are is all that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Oidc {
    /// `oidc`: keys by discovery from `issuer`.
    Discovery,
    /// `jwks`: keys at `jwks_uri`.
    KeyUrl,
}

/// `oidc` takes no keys of its own.
pub(super) const OIDC: Loader = Loader {
    keys: || &[],
    load: |_, _| Ok(ProviderConfig::Oidc),
};

/// `jwks` takes no keys of its own.
pub(super) const JWKS: Loader = Loader {
    keys: || &[],
    load: |_, _| Ok(ProviderConfig::Jwks),
};

impl Preset for Oidc {
    fn tokens(&self) -> Tokens {
        Tokens::Signed {
            algorithms: &ALLOWED_ALGORITHMS,
            token_use: TokenUse::Any,
        }
    }

    /// `oidc`: discovery starts at `issuer`, so it must be there and be a
    /// URL. `jwks`: `jwks_uri` is the only way to the keys.
    fn check(&self, cx: &Ctx, reg: &Registration) -> Result<(), RegistrationError> {
        match self {
            Oidc::Discovery => {
                if reg.issuer.is_empty() {
                    return Err(cx.err("issuer", "is required for provider oidc"));
                }
                for issuer in &reg.issuer {
                    cx.url("issuer", issuer)?;
                }
                Ok(())
            }
            Oidc::KeyUrl => {
                if reg.jwks_uri.is_none() {
                    return Err(cx.err("jwks_uri", "is required for provider jwks"));
                }
                if reg.issuer.is_empty() {
                    tracing::warn!(
                        registration = %reg.id,
                        "jwks registration without issuer: the token's iss claim is not checked"
                    );
                }
                Ok(())
            }
        }
    }

    /// Only the registration's `issuer`.
    fn issuers(&self) -> Vec<String> {
        Vec::new()
    }

    fn key_source(&self, issuers: &[String]) -> Option<KeySource> {
        KeySource::discovery(issuers)
    }
}
