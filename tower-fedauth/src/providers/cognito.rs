//! `cognito`: Amazon Cognito user pools.
//!
//! - Keys: `region`, `user_pool_id` (`{region}_` then letters and digits).
//! - Issuers: `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`
//!   and, for multi-region pools, the host
//!   `issuer.cognito-idp.{region}.amazonaws.com`; both for this pool only.
//! - Keys: `{issuer}/.well-known/jwks.json` (of the `issuer` override, if
//!   any). RS256.
//! - Token kind: the `token_use` claim must equal the registration's
//!   `token_use`: default `access`, never `any` (the claim always says).
//! - Audience: access tokens have no `aud`: their `client_id` claim must be
//!   the client id; ID tokens: `aud`. `audiences` is refused at load: no
//!   Cognito token names the platform's API in `aud`.

use serde::Deserialize;
use serde_json::Value;

use super::config::{Cognito, ProviderConfig};
use super::preset::{Checked, Claims, KeySource, Loader, Preset, Tokens};
use crate::error::{AuthError, ErrorCode};
use crate::registration::{
    Ctx, Provider, Registration, RegistrationError, TokenUse, field_names, read, shown,
};
use crate::token::JoseHeader;
use crate::verify::printable;

/// The keys of a `cognito` registration, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    region: Option<String>,
    user_pool_id: Option<String>,
}

/// Reads [`Keys`] into [`Cognito`].
pub(super) const LOADER: Loader = Loader {
    keys: field_names::<Keys>,
    load: |cx, keys| load(cx, read(cx, keys, &[])?).map(ProviderConfig::Cognito),
};

fn load(cx: &Ctx, keys: Keys) -> Result<Cognito, RegistrationError> {
    let region = cx.required("region", keys.region.as_deref(), Provider::Cognito)?;
    let ok = region.starts_with(|c: char| c.is_ascii_lowercase())
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(cx.err(
            "region",
            format!(
                "{:?} is not an AWS region name (e.g. eu-west-1)",
                shown(region)
            ),
        ));
    }
    let pool = cx.required(
        "user_pool_id",
        keys.user_pool_id.as_deref(),
        Provider::Cognito,
    )?;
    let suffix = pool.strip_prefix(region).and_then(|s| s.strip_prefix('_'));
    if !suffix.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())) {
        return Err(cx.err(
            "user_pool_id",
            format!(
                "{:?} is not a user pool id of region {region} ({region}_ followed by letters and digits)",
                shown(pool)
            ),
        ));
    }
    Ok(Cognito {
        region: region.to_owned(),
        user_pool_id: pool.to_owned(),
    })
}

impl Preset for Cognito {
    fn tokens(&self) -> Tokens {
        Tokens::Signed {
            algorithms: &[jsonwebtoken::Algorithm::RS256],
            token_use: TokenUse::Access,
        }
    }

    /// Cognito tokens say which kind they are: a registration picks one.
    fn check(&self, cx: &Ctx, reg: &Registration) -> Result<(), RegistrationError> {
        if reg.token_use == TokenUse::Any {
            return Err(cx.err(
                "token_use",
                "cognito registrations accept access or id tokens, not any",
            ));
        }
        Ok(())
    }

    fn issuers(&self) -> Vec<String> {
        let Cognito {
            region,
            user_pool_id: pool,
        } = self;
        vec![
            format!("https://cognito-idp.{region}.amazonaws.com/{pool}"),
            format!("https://issuer.cognito-idp.{region}.amazonaws.com/{pool}"),
        ]
    }

    fn key_source(&self, issuers: &[String]) -> Option<KeySource> {
        let issuer = issuers.first()?.trim_end_matches('/');
        KeySource::direct(&format!("{issuer}/.well-known/jwks.json"))
    }

    fn without_api_audience(&self) -> Option<&'static str> {
        Some(
            "Cognito access tokens carry no aud (their client_id claim names the client) and ID tokens name the client",
        )
    }

    /// By the `token_use` claim, not by typing.
    fn check_token_use(&self, reg: &Registration, _: &JoseHeader, claims: &Claims) -> Checked {
        let required = reg.token_use;
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

    /// Access tokens carry no `aud`: their `client_id` claim names the
    /// client.
    fn check_audience(&self, reg: &Registration, client_id: &str, claims: &Claims) -> Checked {
        if reg.token_use != TokenUse::Access {
            return crate::verify::check_audience(client_id, &reg.authorized_party_claims, claims);
        }
        match claims.get("client_id") {
            Some(Value::String(c)) if c == client_id => Ok(()),
            Some(Value::String(_)) => Err(AuthError::token(
                ErrorCode::InvalidAudience,
                "client_id does not name the registration's client",
            )),
            _ => Err(AuthError::token(
                ErrorCode::InvalidAudience,
                "client_id is missing or not a string",
            )),
        }
    }
}
