//! The per-field rules that need more than a presence check: algorithms,
//! provider key formats, and the introspection / verification tables.

use jsonwebtoken::Algorithm;

use super::model::{
    ALLOWED_ALGORITHMS, DEFAULT_AUTHORIZED_PARTY_CLAIMS, DEFAULT_CACHE_SECONDS,
    IntrospectionConfig, VerificationConfig,
};
use super::raw::{RawIntrospection, RawVerification};
use super::validate::{Ctx, MAX_CACHE_SECONDS, RegistrationError, shown};

pub(super) fn algorithms(cx: &Ctx, names: &[String]) -> Result<Vec<Algorithm>, RegistrationError> {
    if names.is_empty() {
        return Err(cx.err(
            "algorithms",
            "must not be empty (omit the key to use the provider's default)",
        ));
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
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
        let alg = ALLOWED_ALGORITHMS
            .into_iter()
            .find(|a| format!("{a:?}") == *name)
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
            })?;
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    Ok(out)
}

/// A tenant GUID or one of Microsoft's multi-tenant names, lowercased
/// because issuers and key URLs are built from it and compared exactly.
pub(super) fn azure_tenant(cx: &Ctx, tenant: &str) -> Result<String, RegistrationError> {
    let lower = tenant.to_ascii_lowercase();
    if crate::providers::is_guid(&lower)
        || matches!(lower.as_str(), "common" | "organizations" | "consumers")
    {
        Ok(lower)
    } else {
        Err(cx.err(
            "tenant",
            format!(
                "{:?} is neither a tenant GUID nor common, organizations or consumers",
                shown(tenant)
            ),
        ))
    }
}

/// `allowed_tenants` of an `azure-ad` registration whose `tenant` is
/// `tenant` (already checked): lowercase GUIDs, deduplicated. Only a
/// multi-tenant `tenant` can be narrowed: with a tenant GUID the list could
/// only repeat it, so it is refused rather than silently meaningless; so is
/// an entry the `tenant` itself never admits (the personal-account tenant
/// under `organizations`, any other under `consumers`), since no token of
/// it could pass.
pub(super) fn allowed_tenants(
    cx: &Ctx,
    tenant: &str,
    list: &[String],
) -> Result<Vec<String>, RegistrationError> {
    const FIELD: &str = "allowed_tenants";
    if crate::providers::is_guid(tenant) {
        return Err(cx.err(
            FIELD,
            format!(
                "is only used with a multi-tenant tenant (common, organizations or consumers); tenant {tenant} already admits only itself"
            ),
        ));
    }
    if list.is_empty() {
        return Err(cx.err(
            FIELD,
            "must not be empty (omit the key to admit every tenant of `tenant`)",
        ));
    }
    let consumers = crate::providers::CONSUMERS_TENANT_ID;
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for entry in list {
        let lower = entry.to_ascii_lowercase();
        if !crate::providers::is_guid(&lower) {
            return Err(cx.err(FIELD, format!("{:?} is not a tenant GUID", shown(entry))));
        }
        let admitted = match tenant {
            "organizations" => lower != consumers,
            "consumers" => lower == consumers,
            _ => true,
        };
        if !admitted {
            return Err(cx.err(
                FIELD,
                format!(
                    "{lower} is never admitted by tenant {tenant}, so no token of it could pass"
                ),
            ));
        }
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Ok(out)
}

/// `authorized_party_claims`: claim names, in order, at least one (an
/// empty list would refuse every token with several audiences).
pub(super) fn authorized_party_claims(
    cx: &Ctx,
    names: Option<&[String]>,
) -> Result<Vec<String>, RegistrationError> {
    const FIELD: &str = "authorized_party_claims";
    let Some(names) = names else {
        return Ok(DEFAULT_AUTHORIZED_PARTY_CLAIMS
            .iter()
            .map(|&n| n.to_owned())
            .collect());
    };
    if names.is_empty() {
        return Err(cx.err(
            FIELD,
            "must not be empty (omit the key for azp, client_id, appid, cid)",
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        cx.text(FIELD, name)
            .map_err(|e| cx.err(FIELD, format!("claim name {}", e.message)))?;
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// A bare DNS host name (Auth0 domain), lowercased: the issuer is
/// `https://{domain}/`, so a scheme or path here would break it.
pub(super) fn host_name(cx: &Ctx, domain: &str) -> Result<String, RegistrationError> {
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
    Ok(lower)
}

fn cache_seconds(cx: &Ctx, field: &str, value: Option<u64>) -> Result<u64, RegistrationError> {
    let v = value.unwrap_or(DEFAULT_CACHE_SECONDS);
    if v > MAX_CACHE_SECONDS {
        return Err(cx.err(field, format!("{v} is out of range 0-{MAX_CACHE_SECONDS}")));
    }
    Ok(v)
}

pub(super) fn introspection_config(
    cx: &Ctx,
    t: &RawIntrospection,
) -> Result<IntrospectionConfig, RegistrationError> {
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
        .clone()
        .ok_or_else(|| missing("introspection.client_secret"))?;
    if secret.expose().is_empty() {
        return Err(cx.err("introspection.client_secret", "must not be empty"));
    }
    Ok(IntrospectionConfig {
        endpoint,
        client_id: client_id.to_owned(),
        client_secret: secret,
        auth_method: t.auth_method.unwrap_or_default(),
        cache_seconds: cache_seconds(cx, "introspection.cache_seconds", t.cache_seconds)?,
    })
}

pub(super) fn verification_config(
    cx: &Ctx,
    t: &RawVerification,
) -> Result<VerificationConfig, RegistrationError> {
    let url = t
        .url
        .as_deref()
        .ok_or_else(|| cx.err("verification.url", "is required"))?;
    let url = cx.url("verification.url", url)?;
    // Required: a silent GET default would put tokens in query strings.
    let method = t
        .method
        .ok_or_else(|| cx.err("verification.method", "is required (GET or POST)"))?;
    let headers = t.headers.clone().unwrap_or_default();
    for (name, value) in &headers {
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
        request_template(cx, "verification.headers", value)?;
    }
    let params = t.params.clone().unwrap_or_default();
    for (name, value) in &params {
        if name.is_empty() {
            return Err(cx.err("verification.params", "param names must not be empty"));
        }
        request_template(cx, "verification.params", value)?;
    }
    let response = t.response.clone().unwrap_or_default();
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
    Ok(VerificationConfig {
        url,
        method,
        headers,
        params,
        response,
        cache_seconds: cache_seconds(cx, "verification.cache_seconds", t.cache_seconds)?,
    })
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
