//! The one validation path: registry files and the builder both fill a
//! [`RawRegistration`] and pass it through [`validate`], so a rule cannot hold
//! for one source and not the other.

use url::Url;

use super::id::RegistrationId;
use super::model::{Provider, Registration, TokenUse, default_algorithms, default_token_use};
use super::raw::RawRegistration;
use super::rules::{
    algorithms, allowed_tenants, authorized_party_claims, azure_tenant, host_name,
    introspection_config, verification_config,
};

/// Largest `leeway_seconds`: more would keep expired tokens alive.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default `leeway_seconds`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Largest `cache_seconds` of introspection / verification answers: a
/// revoked token must stop working within a day at worst.
pub const MAX_CACHE_SECONDS: u64 = 86_400;

/// Why a registration was refused: which registration, which field, what
/// rule — enough for an operator to fix the file without guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}, field {:?}: {message}", shown_registration(.registration.as_deref()), .field)]
pub struct RegistrationError {
    /// The registration id as written (`None` when it has none).
    pub registration: Option<String>,
    /// The offending field (`introspection.endpoint` for nested ones).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn shown_registration(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("registration {:?}", shown(id)),
        None => "registration without id".to_owned(),
    }
}

/// A value quoted into a message, cut short so a huge value cannot flood logs.
pub(crate) fn shown(value: &str) -> &str {
    match value.char_indices().nth(128) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

/// Field-level error builder bound to one registration id.
pub(super) struct Ctx(Option<String>);

impl Ctx {
    pub(super) fn err(&self, field: &str, message: impl Into<String>) -> RegistrationError {
        RegistrationError {
            registration: self.0.clone(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// A plain configuration string: non-empty, no surrounding whitespace
    /// (compared exactly against tokens, a stray space never matches).
    pub(super) fn text(&self, field: &str, value: &str) -> Result<(), RegistrationError> {
        if value.trim().is_empty() {
            return Err(self.err(field, "must not be empty"));
        }
        if value.trim() != value {
            return Err(self.err(
                field,
                format!("{:?} has surrounding whitespace", shown(value)),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(self.err(field, "must not contain control characters"));
        }
        Ok(())
    }

    /// An absolute http(s) URL with a host, without credentials or fragment.
    pub(super) fn url(&self, field: &str, value: &str) -> Result<Url, RegistrationError> {
        let url = Url::parse(value).map_err(|e| {
            self.err(
                field,
                format!("{:?} is not an absolute URL: {e}", shown(value)),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.err(
                field,
                format!("{:?} is not an http or https URL", shown(value)),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(self.err(field, format!("{:?} has no host", shown(value))));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(self.err(field, "must not carry credentials (user:password@)"));
        }
        if url.fragment().is_some() {
            return Err(self.err(
                field,
                format!("{:?} must not have a #fragment", shown(value)),
            ));
        }
        Ok(url)
    }

    /// Keys of another provider are refused: they mean the `provider` line is
    /// wrong or missing, and silently ignoring them would hide that.
    pub(super) fn only_for(
        &self,
        field: &str,
        present: bool,
        for_: Provider,
        p: Provider,
    ) -> Result<(), RegistrationError> {
        if present && p != for_ {
            return Err(self.err(field, format!("is only used with provider {for_}, not {p}")));
        }
        Ok(())
    }

    pub(super) fn required<'v>(
        &self,
        field: &str,
        value: &'v Option<String>,
        p: Provider,
    ) -> Result<&'v str, RegistrationError> {
        let v = value
            .as_deref()
            .ok_or_else(|| self.err(field, format!("is required for provider {p}")))?;
        self.text(field, v)?;
        Ok(v)
    }
}

/// Apply every rule of `registry.md` and the provider defaults.
pub(crate) fn validate(raw: RawRegistration) -> Result<Registration, RegistrationError> {
    let cx = Ctx(raw.id.clone());
    let id_text = raw
        .id
        .as_deref()
        .ok_or_else(|| cx.err("id", "is required"))?;
    let id = RegistrationId::new(id_text).map_err(|e| cx.err("id", e.reason))?;

    let provider = match raw.provider.as_deref() {
        None => Provider::default(),
        Some(name) => Provider::from_name(name).ok_or_else(|| {
            let known: Vec<_> = Provider::ALL.iter().map(|p| p.as_str()).collect();
            cx.err(
                "provider",
                format!(
                    "unknown provider {:?}; expected one of {}",
                    shown(name),
                    known.join(", ")
                ),
            )
        })?,
    };

    if let Some(name) = &raw.name {
        cx.text("name", name)?;
    }

    // URLs. Issuers are compared as strings, so they are kept verbatim.
    let issuer = match &raw.issuer {
        None if provider == Provider::Oidc => {
            return Err(cx.err("issuer", "is required for provider oidc"));
        }
        None => None,
        Some(iss) => {
            cx.text("issuer", iss)?;
            if provider == Provider::Oidc || iss.contains("://") {
                cx.url("issuer", iss)?;
            }
            Some(iss.clone())
        }
    };
    let jwks_uri = raw
        .jwks_uri
        .as_deref()
        .map(|u| cx.url("jwks_uri", u))
        .transpose()?;
    if provider == Provider::Jwks && jwks_uri.is_none() {
        return Err(cx.err("jwks_uri", "is required for provider jwks"));
    }
    let discovery_url = raw
        .discovery_url
        .as_deref()
        .map(|u| cx.url("discovery_url", u))
        .transpose()?;

    let algorithms = match &raw.algorithms {
        None => default_algorithms(provider),
        Some(names) => algorithms(&cx, names)?,
    };

    let token_use = match raw.token_use.as_deref() {
        None => default_token_use(provider),
        Some(name) => TokenUse::from_name(name).ok_or_else(|| {
            cx.err(
                "token_use",
                format!(
                    "unknown token_use {:?}; expected access, id or any",
                    shown(name)
                ),
            )
        })?,
    };
    if provider == Provider::Cognito && token_use == TokenUse::Any {
        return Err(cx.err(
            "token_use",
            "cognito registrations accept access or id tokens, not any",
        ));
    }

    let leeway_seconds = raw.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
    if leeway_seconds > MAX_LEEWAY_SECONDS {
        return Err(cx.err(
            "leeway_seconds",
            format!("{leeway_seconds} is out of range 0-{MAX_LEEWAY_SECONDS}"),
        ));
    }

    let roles = raw.roles.clone().unwrap_or_default();
    for role in &roles {
        cx.text("roles", role)
            .map_err(|e| cx.err("roles", format!("role name {}", e.message)))?;
    }
    let properties = raw.properties.clone().unwrap_or_default();
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

    let claims = raw.claims.clone().unwrap_or_default();
    cx.text("claims.subject", &claims.subject)?;
    cx.text("claims.username", &claims.username)?;
    cx.text("claims.email", &claims.email)?;
    for claim in &claims.persist {
        cx.text("claims.persist", claim)?;
    }

    // Provider keys: required for their provider, refused for the others.
    use Provider::*;
    cx.only_for("tenant", raw.tenant.is_some(), AzureAd, provider)?;
    cx.only_for("version", raw.version.is_some(), AzureAd, provider)?;
    cx.only_for(
        "allowed_tenants",
        raw.allowed_tenants.is_some(),
        AzureAd,
        provider,
    )?;
    cx.only_for("region", raw.region.is_some(), Cognito, provider)?;
    cx.only_for(
        "user_pool_id",
        raw.user_pool_id.is_some(),
        Cognito,
        provider,
    )?;
    cx.only_for("domain", raw.domain.is_some(), Auth0, provider)?;
    cx.only_for("project_id", raw.project_id.is_some(), Firebase, provider)?;
    cx.only_for(
        "introspection",
        raw.introspection.is_some(),
        Introspection,
        provider,
    )?;
    cx.only_for(
        "verification",
        raw.verification.is_some(),
        VerificationEndpoint,
        provider,
    )?;

    let (mut tenant, mut tenants) = (None, None);
    let (mut region, mut user_pool_id, mut domain, mut project_id) = (None, None, None, None);
    let (mut introspection, mut verification) = (None, None);
    match provider {
        AzureAd => {
            let t = azure_tenant(&cx, cx.required("tenant", &raw.tenant, provider)?)?;
            if let Some(list) = &raw.allowed_tenants {
                tenants = Some(allowed_tenants(&cx, &t, list)?);
            }
            tenant = Some(t);
        }
        Cognito => {
            let r = cx.required("region", &raw.region, provider)?;
            if !r.starts_with(|c: char| c.is_ascii_lowercase())
                || !r
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(cx.err(
                    "region",
                    format!("{:?} is not an AWS region name (e.g. eu-west-1)", shown(r)),
                ));
            }
            let pool = cx.required("user_pool_id", &raw.user_pool_id, provider)?;
            let suffix = pool.strip_prefix(r).and_then(|s| s.strip_prefix('_'));
            if !suffix
                .is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                return Err(cx.err(
                    "user_pool_id",
                    format!("{:?} is not a user pool id of region {r} ({r}_ followed by letters and digits)", shown(pool)),
                ));
            }
            (region, user_pool_id) = (Some(r.to_owned()), Some(pool.to_owned()));
        }
        Auth0 => {
            domain = Some(host_name(
                &cx,
                cx.required("domain", &raw.domain, provider)?,
            )?)
        }
        Firebase => {
            let p = cx.required("project_id", &raw.project_id, provider)?;
            if !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.:".contains(c))
            {
                return Err(cx.err(
                    "project_id",
                    format!("{:?} is not a Firebase project id", shown(p)),
                ));
            }
            project_id = Some(p.to_owned());
        }
        Introspection => {
            let t = raw.introspection.as_ref().ok_or_else(|| {
                cx.err(
                    "introspection",
                    "table is required for provider introspection",
                )
            })?;
            introspection = Some(introspection_config(&cx, t)?);
        }
        VerificationEndpoint => {
            let t = raw.verification.as_ref().ok_or_else(|| {
                cx.err(
                    "verification",
                    "table is required for provider verification-endpoint",
                )
            })?;
            verification = Some(verification_config(&cx, t)?);
        }
        Oidc | Jwks => {}
    }

    let client_id = match (&raw.client_id, provider) {
        (Some(c), _) => {
            cx.text("client_id", c)?;
            if let Some(p) = project_id.as_deref().filter(|p| p != c) {
                return Err(cx.err("client_id", format!("must equal project_id ({p:?}) for provider firebase: Firebase tokens name the project as audience")));
            }
            Some(c.clone())
        }
        (None, VerificationEndpoint | Firebase) => None,
        (None, p) => return Err(cx.err("client_id", format!("is required for provider {p}"))),
    };

    // Only signed tokens carry the claims it names; elsewhere it would be
    // silently ignored.
    if raw.authorized_party_claims.is_some() && !provider.uses_signed_tokens() {
        return Err(cx.err(
            "authorized_party_claims",
            format!("is only used with providers whose tokens are signed JWTs, not {provider}"),
        ));
    }
    let authorized_party_claims =
        authorized_party_claims(&cx, raw.authorized_party_claims.as_deref())?;

    if provider == Jwks && issuer.is_none() {
        tracing::warn!(
            registration = %id,
            "jwks registration without issuer: the token's iss claim is not checked"
        );
    }
    if let Some(t) = tenant.as_deref().filter(|t| !crate::providers::is_guid(t))
        && tenants.is_none()
    {
        tracing::warn!(
            registration = %id,
            tenant = %t,
            "azure-ad registration with a multi-tenant tenant and no allowed_tenants: tokens of every tenant it admits pass"
        );
    }

    Ok(Registration {
        id,
        name: raw.name.clone(),
        enabled: raw.enabled.unwrap_or(true),
        client_id,
        provider,
        issuer,
        jwks_uri,
        discovery_url,
        algorithms,
        token_use,
        leeway_seconds,
        roles,
        properties,
        tenant,
        version: raw.version.unwrap_or_default(),
        allowed_tenants: tenants,
        region,
        user_pool_id,
        domain,
        project_id,
        claims,
        introspection,
        verification,
        authorized_party_claims,
        require_known_user: raw.require_known_user,
        require_verified_email: raw.require_verified_email,
    })
}
