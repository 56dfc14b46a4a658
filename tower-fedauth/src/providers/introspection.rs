//! `introspection`: opaque tokens checked at an RFC 7662 introspection
//! endpoint.
//!
//! - Keys: the `introspection` table (`endpoint`, `client_id`,
//!   `client_secret`, optional `auth_method` and `cache_seconds`, at most a
//!   day). `client_id` of the registration is required.
//! - Tokens are opaque: no algorithms, keys or issuer rules; the endpoint's
//!   answer is checked where it is read (`crate::opaque`): `iss` against
//!   the registration's `issuer` (any of a list), `client_id` or `aud`
//!   against the client — with `audiences`, `aud` naming one of them and
//!   `client_id` the client — time, then `required_claims`.

use serde::Deserialize;

use super::config::{ClientAuthMethod, IntrospectionConfig, ProviderConfig};
use super::preset::{KeySource, Loader, Preset, Tokens};
use crate::registration::{Ctx, RegistrationError, Secret, cache_seconds, read_table};

impl Preset for IntrospectionConfig {
    fn tokens(&self) -> Tokens {
        Tokens::Opaque
    }

    fn issuers(&self) -> Vec<String> {
        Vec::new()
    }

    fn key_source(&self, _: &[String]) -> Option<KeySource> {
        None
    }
}

/// Reads the `introspection` table, which is required.
pub(super) const LOADER: Loader = Loader {
    keys: || &["introspection"],
    load: |cx, keys| match keys.get("introspection") {
        Some(t) => table(cx, read_table(cx, "introspection", t)?),
        None => Err(cx.err(
            "introspection",
            "table is required for provider introspection",
        )),
    },
};

/// The `introspection` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntrospection {
    endpoint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    auth_method: Option<ClientAuthMethod>,
    cache_seconds: Option<u64>,
}

/// The table's rules: every key but `auth_method` and `cache_seconds`
/// required.
fn table(cx: &Ctx, t: RawIntrospection) -> Result<ProviderConfig, RegistrationError> {
    let missing = |f: &str| cx.err(f, "is required");
    let endpoint = t
        .endpoint
        .as_deref()
        .ok_or_else(|| missing("introspection.endpoint"))?;
    let endpoint = cx.url("introspection.endpoint", endpoint)?;
    let client_id = t
        .client_id
        .as_deref()
        .ok_or_else(|| missing("introspection.client_id"))?;
    cx.text("introspection.client_id", client_id)?;
    let secret = t
        .client_secret
        .ok_or_else(|| missing("introspection.client_secret"))?;
    if secret.expose().is_empty() {
        return Err(cx.err("introspection.client_secret", "must not be empty"));
    }
    Ok(ProviderConfig::Introspection(IntrospectionConfig {
        endpoint,
        client_id: client_id.to_owned(),
        client_secret: secret,
        auth_method: t.auth_method.unwrap_or_default(),
        cache_seconds: cache_seconds(cx, "introspection.cache_seconds", t.cache_seconds)?,
    }))
}
