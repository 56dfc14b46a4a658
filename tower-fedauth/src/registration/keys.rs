//! The provider keys: which provider each belongs to, and the format each
//! must have (tenants, AWS names, host names, the introspection and
//! verification tables).

use super::field::{Ctx, MAX_CACHE_SECONDS, RegistrationError, shown};
use super::model::{
    AzureVersion, DEFAULT_CACHE_SECONDS, IntrospectionConfig, Provider, VerificationConfig,
};
use super::raw::{RawIntrospection, RawRegistration, RawVerification};

/// The provider keys of one registration, checked, for its provider only.
#[derive(Default)]
pub(super) struct ProviderKeys {
    pub tenant: Option<String>,
    pub version: AzureVersion,
    pub allowed_tenants: Option<Vec<String>>,
    pub region: Option<String>,
    pub user_pool_id: Option<String>,
    pub domain: Option<String>,
    pub project_id: Option<String>,
    pub introspection: Option<IntrospectionConfig>,
    pub verification: Option<VerificationConfig>,
}

/// Keys of another provider are refused: they mean the `provider` line is
/// wrong or missing, and silently ignoring them would hide that.
pub(super) fn belong_to(
    cx: &Ctx,
    raw: &RawRegistration,
    provider: Provider,
) -> Result<(), RegistrationError> {
    use Provider::*;
    let owners = [
        ("tenant", raw.tenant.is_some(), AzureAd),
        ("version", raw.version.is_some(), AzureAd),
        ("allowed_tenants", raw.allowed_tenants.is_some(), AzureAd),
        ("region", raw.region.is_some(), Cognito),
        ("user_pool_id", raw.user_pool_id.is_some(), Cognito),
        ("domain", raw.domain.is_some(), Auth0),
        ("project_id", raw.project_id.is_some(), Firebase),
        ("introspection", raw.introspection.is_some(), Introspection),
        (
            "verification",
            raw.verification.is_some(),
            VerificationEndpoint,
        ),
    ];
    match owners
        .into_iter()
        .find(|&(_, present, owner)| present && owner != provider)
    {
        Some((field, _, owner)) => Err(cx.err(
            field,
            format!("is only used with provider {owner}, not {provider}"),
        )),
        None => Ok(()),
    }
}

/// The keys `provider` requires, checked; the others are `None`
/// ([`belong_to`] has refused them).
pub(super) fn provider_keys(
    cx: &Ctx,
    raw: &RawRegistration,
    provider: Provider,
) -> Result<ProviderKeys, RegistrationError> {
    let mut keys = ProviderKeys {
        version: raw.version.unwrap_or_default(),
        ..ProviderKeys::default()
    };
    match provider {
        Provider::AzureAd => {
            let tenant = azure_tenant(cx, cx.required("tenant", raw.tenant.as_deref(), provider)?)?;
            if let Some(list) = &raw.allowed_tenants {
                keys.allowed_tenants = Some(allowed_tenants(cx, &tenant, list)?);
            }
            keys.tenant = Some(tenant);
        }
        Provider::Cognito => {
            let region = aws_region(cx, cx.required("region", raw.region.as_deref(), provider)?)?;
            let pool = cx.required("user_pool_id", raw.user_pool_id.as_deref(), provider)?;
            keys.user_pool_id = Some(user_pool_id(cx, region, pool)?);
            keys.region = Some(region.to_owned());
        }
        Provider::Auth0 => {
            let domain = cx.required("domain", raw.domain.as_deref(), provider)?;
            keys.domain = Some(host_name(cx, domain)?);
        }
        Provider::Firebase => {
            let project = cx.required("project_id", raw.project_id.as_deref(), provider)?;
            keys.project_id = Some(firebase_project(cx, project)?);
        }
        Provider::Introspection => {
            let t = raw.introspection.as_ref().ok_or_else(|| {
                cx.err(
                    "introspection",
                    "table is required for provider introspection",
                )
            })?;
            keys.introspection = Some(introspection_config(cx, t)?);
        }
        Provider::VerificationEndpoint => {
            let t = raw.verification.as_ref().ok_or_else(|| {
                cx.err(
                    "verification",
                    "table is required for provider verification-endpoint",
                )
            })?;
            keys.verification = Some(verification_config(cx, t)?);
        }
        Provider::Oidc | Provider::Jwks => {}
    }
    Ok(keys)
}

/// A tenant GUID or one of Microsoft's multi-tenant names, lowercased
/// because issuers and key URLs are built from it and compared exactly.
fn azure_tenant(cx: &Ctx, tenant: &str) -> Result<String, RegistrationError> {
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
fn allowed_tenants(
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

/// An AWS region name (`eu-west-1`): the issuer host is built from it.
fn aws_region<'r>(cx: &Ctx, region: &'r str) -> Result<&'r str, RegistrationError> {
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
    Ok(region)
}

/// A Cognito user pool id of `region`: `{region}_` then letters and digits.
fn user_pool_id(cx: &Ctx, region: &str, pool: &str) -> Result<String, RegistrationError> {
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
    Ok(pool.to_owned())
}

/// A bare DNS host name (Auth0 domain), lowercased: the issuer is
/// `https://{domain}/`, so a scheme or path here would break it.
fn host_name(cx: &Ctx, domain: &str) -> Result<String, RegistrationError> {
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

/// A Firebase project id: the issuer and the audience are built from it.
fn firebase_project(cx: &Ctx, project: &str) -> Result<String, RegistrationError> {
    if !project
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c))
    {
        return Err(cx.err(
            "project_id",
            format!("{:?} is not a Firebase project id", shown(project)),
        ));
    }
    Ok(project.to_owned())
}

fn cache_seconds(cx: &Ctx, field: &str, value: Option<u64>) -> Result<u64, RegistrationError> {
    let v = value.unwrap_or(DEFAULT_CACHE_SECONDS);
    if v > MAX_CACHE_SECONDS {
        return Err(cx.err(field, format!("{v} is out of range 0-{MAX_CACHE_SECONDS}")));
    }
    Ok(v)
}

fn introspection_config(
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

fn verification_config(
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
        header_template(cx, name, value)?;
    }
    let params = t.params.clone().unwrap_or_default();
    for (name, value) in &params {
        if name.is_empty() {
            return Err(cx.err("verification.params", "param names must not be empty"));
        }
        request_template(cx, "verification.params", value)?;
    }
    let response = t.response.clone().unwrap_or_default();
    response_templates(cx, &response)?;
    Ok(VerificationConfig {
        url,
        method,
        headers,
        params,
        response,
        cache_seconds: cache_seconds(cx, "verification.cache_seconds", t.cache_seconds)?,
    })
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
    response: &std::collections::BTreeMap<String, String>,
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
