//! The rules of the fields every registration has, one named function per
//! field: each takes the value as written and returns the effective value
//! (defaults applied) or a refusal naming the field.

use std::collections::BTreeMap;

use jsonwebtoken::Algorithm;

use super::field::{
    Ctx, DEFAULT_LEEWAY_SECONDS, MAX_CACHE_SECONDS, MAX_LEEWAY_SECONDS, RegistrationError, shown,
};
use super::id::RegistrationId;
use super::values::{
    ALLOWED_ALGORITHMS, BindingMode, ClaimsMapping, DEFAULT_AUTHORIZED_PARTY_CLAIMS, TokenUse,
};
use crate::providers::{ClientId, DEFAULT_CACHE_SECONDS, Preset, Provider, Tokens};

/// `id`: required, and a valid [`RegistrationId`].
pub(super) fn id(cx: &Ctx, id: Option<&str>) -> Result<RegistrationId, RegistrationError> {
    let text = id.ok_or_else(|| cx.err("id", "is required"))?;
    RegistrationId::new(text).map_err(|e| cx.err("id", e.reason))
}

/// `provider`: one of the preset names (default `oidc`).
pub(super) fn provider(cx: &Ctx, name: Option<&str>) -> Result<Provider, RegistrationError> {
    let Some(name) = name else {
        return Ok(Provider::default());
    };
    Provider::from_name(name).ok_or_else(|| {
        let known: Vec<_> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        cx.err(
            "provider",
            format!(
                "unknown provider {:?}; expected one of {}",
                shown(name),
                known.join(", ")
            ),
        )
    })
}

/// `name`: a plain string when present.
pub(super) fn name(cx: &Ctx, name: Option<&str>) -> Result<Option<String>, RegistrationError> {
    if let Some(name) = name {
        cx.text("name", name)?;
    }
    Ok(name.map(str::to_owned))
}

/// `issuer`: a plain string, or a non-empty list of them (an IdP moving to
/// a custom domain: `iss` may be any of them, discovery uses the first);
/// each a URL if it looks like one. Issuers are compared as strings, so
/// the values are kept verbatim, deduplicated in order (presets add their
/// own rule: `oidc` requires one, a URL). Empty: none written.
pub(super) fn issuer(
    cx: &Ctx,
    issuers: Option<&[String]>,
) -> Result<Vec<String>, RegistrationError> {
    let Some(issuers) = issuers else {
        return Ok(Vec::new());
    };
    let empty = "must not be an empty list (omit the key to use the provider's issuer)";
    text_list(cx, "issuer", issuers, empty, |iss| {
        cx.text("issuer", iss)?;
        if iss.contains("://") {
            cx.url("issuer", iss)?;
        }
        Ok(())
    })
}

/// A list key of plain strings: not empty (`empty` says what to do
/// instead), each entry passing `check`, deduplicated in order.
fn text_list(
    cx: &Ctx,
    field: &str,
    entries: &[String],
    empty: &str,
    check: impl Fn(&str) -> Result<(), RegistrationError>,
) -> Result<Vec<String>, RegistrationError> {
    if entries.is_empty() {
        return Err(cx.err(field, empty));
    }
    let mut out: Vec<String> = Vec::with_capacity(entries.len());
    for entry in entries {
        check(entry)?;
        if !out.contains(entry) {
            out.push(entry.clone());
        }
    }
    Ok(out)
}

/// `audiences`: the platform's API identifiers, a non-empty list of plain
/// strings, deduplicated in order; refused where the preset's tokens never
/// name an API (Cognito, Firebase, verification endpoints). Empty: the
/// key is absent, and `aud` names the client.
pub(super) fn audiences(
    cx: &Ctx,
    names: Option<&[String]>,
    preset: &dyn Preset,
    provider: Provider,
) -> Result<Vec<String>, RegistrationError> {
    const FIELD: &str = "audiences";
    let Some(names) = names else {
        return Ok(Vec::new());
    };
    if let Some(why) = preset.without_api_audience() {
        return Err(cx.err(
            FIELD,
            format!("is not used with provider {provider}: {why}"),
        ));
    }
    let empty = "must not be empty (omit the key for tokens whose aud names the client)";
    text_list(cx, FIELD, names, empty, |name| cx.text(FIELD, name))
}

/// `algorithms`: the provider's default when absent; otherwise known
/// asymmetric names only, deduplicated in order.
pub(super) fn algorithms(
    cx: &Ctx,
    names: Option<&[String]>,
    tokens: Tokens,
) -> Result<Vec<Algorithm>, RegistrationError> {
    let Some(names) = names else {
        return Ok(match tokens {
            Tokens::Signed { algorithms, .. } => algorithms.to_vec(),
            Tokens::Opaque => Vec::new(),
        });
    };
    if names.is_empty() {
        return Err(cx.err(
            "algorithms",
            "must not be empty (omit the key to use the provider's default)",
        ));
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let alg = algorithm(cx, name)?;
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    Ok(out)
}

/// One algorithm name: never `none`, never symmetric, never unknown.
fn algorithm(cx: &Ctx, name: &str) -> Result<Algorithm, RegistrationError> {
    let upper = name.to_ascii_uppercase();
    if upper == "NONE" {
        return Err(cx.err(
            "algorithms",
            format!("{:?} (unsigned tokens) is never accepted", shown(name)),
        ));
    }
    if upper.starts_with("HS") {
        return Err(cx.err(
            "algorithms",
            format!(
                "{} is a symmetric algorithm and is never accepted",
                shown(name)
            ),
        ));
    }
    ALLOWED_ALGORITHMS
        .into_iter()
        .find(|a| format!("{a:?}") == name)
        .ok_or_else(|| {
            let known: Vec<_> = ALLOWED_ALGORITHMS
                .iter()
                .map(|a| format!("{a:?}"))
                .collect();
            cx.err(
                "algorithms",
                format!(
                    "unknown algorithm {:?}; expected one of {}",
                    shown(name),
                    known.join(", ")
                ),
            )
        })
}

/// `token_use`: the provider's default when absent (`any` for opaque
/// tokens).
pub(super) fn token_use(
    cx: &Ctx,
    name: Option<&str>,
    tokens: Tokens,
) -> Result<TokenUse, RegistrationError> {
    match name {
        None => Ok(match tokens {
            Tokens::Signed { token_use, .. } => token_use,
            Tokens::Opaque => TokenUse::Any,
        }),
        Some(name) => TokenUse::from_name(name).ok_or_else(|| {
            cx.err(
                "token_use",
                format!(
                    "unknown token_use {:?}; expected access, id or any",
                    shown(name)
                ),
            )
        }),
    }
}

/// `dpop` and `mtls`: `off`, `allowed` (the default) or `required`.
pub(super) fn binding_mode(
    cx: &Ctx,
    field: &str,
    name: Option<&str>,
) -> Result<BindingMode, RegistrationError> {
    let Some(name) = name else {
        return Ok(BindingMode::default());
    };
    BindingMode::from_name(name).ok_or_else(|| {
        cx.err(
            field,
            format!(
                "unknown mode {:?}; expected off, allowed or required",
                shown(name)
            ),
        )
    })
}

/// `leeway_seconds`: 0–300, default 60.
pub(super) fn leeway_seconds(cx: &Ctx, value: Option<u64>) -> Result<u64, RegistrationError> {
    let leeway = value.unwrap_or(DEFAULT_LEEWAY_SECONDS);
    if leeway > MAX_LEEWAY_SECONDS {
        return Err(cx.err(
            "leeway_seconds",
            format!("{leeway} is out of range 0-{MAX_LEEWAY_SECONDS}"),
        ));
    }
    Ok(leeway)
}

/// `roles`: plain role names.
pub(super) fn roles(cx: &Ctx, roles: Option<&[String]>) -> Result<Vec<String>, RegistrationError> {
    let roles = roles.unwrap_or_default();
    for role in roles {
        cx.text("roles", role)
            .map_err(|e| cx.err("roles", format!("role name {}", e.message)))?;
    }
    Ok(roles.to_vec())
}

/// `properties`: plain property ids, each with plain role names.
pub(super) fn properties(
    cx: &Ctx,
    properties: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<BTreeMap<String, Vec<String>>, RegistrationError> {
    let properties = properties.cloned().unwrap_or_default();
    for (property, roles) in &properties {
        cx.text("properties", property)
            .map_err(|e| cx.err("properties", format!("property id {}", e.message)))?;
        for role in roles {
            cx.text("properties", role).map_err(|e| {
                cx.err(
                    "properties",
                    format!("role name in property {:?} {}", shown(property), e.message),
                )
            })?;
        }
    }
    Ok(properties)
}

/// `claims`: every claim name a plain string.
pub(super) fn claims(
    cx: &Ctx,
    claims: Option<&ClaimsMapping>,
) -> Result<ClaimsMapping, RegistrationError> {
    let claims = claims.cloned().unwrap_or_default();
    cx.text("claims.subject", &claims.subject)?;
    cx.text("claims.username", &claims.username)?;
    cx.text("claims.email", &claims.email)?;
    for claim in &claims.persist {
        cx.text("claims.persist", claim)?;
    }
    Ok(claims)
}

/// `client_id`: a plain string; required unless the preset names the
/// audience itself (Firebase: the project id) or checks none.
pub(super) fn client_id(
    cx: &Ctx,
    client_id: Option<&str>,
    rule: ClientId<'_>,
    provider: Provider,
) -> Result<Option<String>, RegistrationError> {
    match client_id {
        Some(c) => cx.text("client_id", c).map(|()| Some(c.to_owned())),
        None if rule == ClientId::Required => {
            Err(cx.err("client_id", format!("is required for provider {provider}")))
        }
        None => Ok(None),
    }
}

/// `authorized_party_claims`: claim names, in order, at least one (an empty
/// list would refuse every token with several audiences). Only signed
/// tokens carry the claims it names; elsewhere it would be silently ignored.
pub(super) fn authorized_party_claims(
    cx: &Ctx,
    names: Option<&[String]>,
    tokens: Tokens,
    provider: Provider,
) -> Result<Vec<String>, RegistrationError> {
    const FIELD: &str = "authorized_party_claims";
    let Some(names) = names else {
        return Ok(DEFAULT_AUTHORIZED_PARTY_CLAIMS
            .iter()
            .map(|&n| n.to_owned())
            .collect());
    };
    if tokens == Tokens::Opaque {
        return Err(cx.err(
            FIELD,
            format!("is only used with providers whose tokens are signed JWTs, not {provider}"),
        ));
    }
    let empty = "must not be empty (omit the key for azp, client_id, appid, cid)";
    text_list(cx, FIELD, names, empty, |name| {
        cx.text(FIELD, name)
            .map_err(|e| cx.err(FIELD, format!("claim name {}", e.message)))
    })
}

/// `cache_seconds` of an introspection or verification table: how long an
/// answer is reused, at most a day.
pub(crate) fn cache_seconds(
    cx: &Ctx,
    field: &str,
    value: Option<u64>,
) -> Result<u64, RegistrationError> {
    let v = value.unwrap_or(DEFAULT_CACHE_SECONDS);
    if v > MAX_CACHE_SECONDS {
        return Err(cx.err(field, format!("{v} is out of range 0-{MAX_CACHE_SECONDS}")));
    }
    Ok(v)
}
