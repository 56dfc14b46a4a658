//! `verification-endpoint`: tokens checked by a call to the application's
//! own verification endpoint.
//!
//! - Keys: the `verification` table (`url`, `method`, `headers`, `params`,
//!   `response` with `uid` required, `cache_seconds` at most a day).
//!   Request templates may use `#{token}`, `#{registration}` and
//!   `#{client_id}` only; `response` templates name paths of the answer.
//! - `client_id` may be omitted: the endpoint decides who the token is.
//! - Tokens are opaque: no algorithms, keys or issuer rules; `audiences`
//!   is refused at load. `required_claims` applies to the endpoint's JSON
//!   answer, as to a token's claims.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::config::{HttpMethod, ProviderConfig, VerificationConfig};
use super::preset::{ClientId, KeySource, Loader, Preset, Tokens};
use crate::registration::{Ctx, RegistrationError, cache_seconds, read_table, shown};

/// The `verification` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerification {
    url: Option<String>,
    method: Option<HttpMethod>,
    headers: Option<BTreeMap<String, String>>,
    params: Option<BTreeMap<String, String>>,
    response: Option<BTreeMap<String, String>>,
    cache_seconds: Option<u64>,
}

/// Reads the `verification` table, which is required.
pub(super) const LOADER: Loader = Loader {
    keys: || &["verification"],
    load: |cx, keys| {
        let Some(t) = keys.get("verification") else {
            return Err(cx.err(
                "verification",
                "table is required for provider verification-endpoint",
            ));
        };
        table(cx, read_table(cx, "verification", t)?)
    },
};

/// The table's rules: `url`, `method` and `response.uid` required, every
/// template checked.
fn table(cx: &Ctx, t: RawVerification) -> Result<ProviderConfig, RegistrationError> {
    let url = t
        .url
        .as_deref()
        .ok_or_else(|| cx.err("verification.url", "is required"))?;
    let url = cx.url("verification.url", url)?;
    // Required: a silent GET default would put tokens in query strings.
    let method = t
        .method
        .ok_or_else(|| cx.err("verification.method", "is required (GET or POST)"))?;
    let headers = t.headers.unwrap_or_default();
    for (name, value) in &headers {
        header_template(cx, name, value)?;
    }
    let params = t.params.unwrap_or_default();
    for (name, value) in &params {
        if name.is_empty() {
            return Err(cx.err("verification.params", "param names must not be empty"));
        }
        request_template(cx, "verification.params", value)?;
    }
    let response = t.response.unwrap_or_default();
    response_templates(cx, &response)?;
    Ok(ProviderConfig::VerificationEndpoint(VerificationConfig {
        url,
        method,
        headers,
        params,
        response,
        cache_seconds: cache_seconds(cx, "verification.cache_seconds", t.cache_seconds)?,
    }))
}

/// A header sent to the verification endpoint: a token name, a value on one
/// line, known placeholders.
fn header_template(cx: &Ctx, name: &str, value: &str) -> Result<(), RegistrationError> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_tchar) {
        return Err(cx.err(
            "verification.headers",
            format!("{:?} is not a header name", shown(name)),
        ));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(cx.err(
            "verification.headers",
            format!("the value of {name:?} contains a line break"),
        ));
    }
    request_template(cx, "verification.headers", value)
}

/// The answer mapping: `uid` is required, every placeholder a path.
fn response_templates(
    cx: &Ctx,
    response: &BTreeMap<String, String>,
) -> Result<(), RegistrationError> {
    if !response.contains_key("uid") {
        return Err(cx.err(
            "verification.response",
            "must map `uid` (the principal's id)",
        ));
    }
    for value in response.values() {
        for name in placeholders(cx, "verification.response", value)? {
            if name.is_empty() || name.split('.').any(str::is_empty) {
                return Err(cx.err(
                    "verification.response",
                    format!("#{{{name}}} is not a path of the answer"),
                ));
            }
        }
    }
    Ok(())
}

/// Request templates may only use the placeholders the endpoint call knows,
/// so a typo is caught at load rather than sent to the application.
fn request_template(cx: &Ctx, field: &str, value: &str) -> Result<(), RegistrationError> {
    for name in placeholders(cx, field, value)? {
        if !matches!(name, "token" | "registration" | "client_id") {
            return Err(cx.err(
                field,
                format!("unknown placeholder #{{{name}}}; expected #{{token}}, #{{registration}} or #{{client_id}}"),
            ));
        }
    }
    Ok(())
}

fn placeholders<'v>(
    cx: &Ctx,
    field: &str,
    mut value: &'v str,
) -> Result<Vec<&'v str>, RegistrationError> {
    let mut names = Vec::new();
    while let Some(start) = value.find("#{") {
        let rest = &value[start + 2..];
        let end = rest
            .find('}')
            .ok_or_else(|| cx.err(field, format!("unclosed placeholder in {:?}", shown(value))))?;
        names.push(&rest[..end]);
        value = &rest[end + 1..];
    }
    Ok(names)
}

impl Preset for VerificationConfig {
    fn tokens(&self) -> Tokens {
        Tokens::Opaque
    }

    fn client_id(&self) -> ClientId<'_> {
        ClientId::Optional
    }

    fn issuers(&self) -> Vec<String> {
        Vec::new()
    }

    fn key_source(&self, _: &[String]) -> Option<KeySource> {
        None
    }

    fn without_api_audience(&self) -> Option<&'static str> {
        Some("the verification endpoint decides whom a token is for; no aud is read")
    }
}
