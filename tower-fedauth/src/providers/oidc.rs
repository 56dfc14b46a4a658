//! `oidc` and `jwks`: plain OpenID Connect, the rules every other preset
//! starts from. Neither takes keys of its own.
//!
//! - `oidc`: `issuer` is required (a URL); keys and the userinfo endpoint
//!   by discovery from it; `iss` must equal it.
//! - `jwks`: `jwks_uri` is required (the minimal registration: client id +
//!   key URL); `iss` is checked only if `issuer` is given (a warning is
//!   logged at load otherwise).
//! - Both: audience `aud` names `client_id` (required); token kind by
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
                let issuer = reg
                    .issuer
                    .as_deref()
                    .ok_or_else(|| cx.err("issuer", "is required for provider oidc"))?;
                cx.url("issuer", issuer).map(drop)
            }
            Oidc::KeyUrl => {
                if reg.jwks_uri.is_none() {
                    return Err(cx.err("jwks_uri", "is required for provider jwks"));
                }
                if reg.issuer.is_none() {
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
