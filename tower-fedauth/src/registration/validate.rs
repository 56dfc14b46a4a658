//! The one validation path: registry files and the builder both fill a
//! [`RawRegistration`] and pass it through [`validate`], so a rule cannot hold
//! for one source and not the other.

use super::field::{Ctx, RegistrationError};
use super::id::RegistrationId;
use super::keys::{ProviderKeys, belong_to, provider_keys};
use super::model::{Provider, Registration};
use super::raw::RawRegistration;
use super::rules;

/// Apply every rule of the registry file format and the provider defaults,
/// field by field in the order a file is read: the first broken rule is
/// the refusal.
pub(crate) fn validate(raw: RawRegistration) -> Result<Registration, RegistrationError> {
    let cx = Ctx::new(raw.id.as_deref());
    let id = rules::id(&cx, raw.id.as_deref())?;
    let provider = rules::provider(&cx, raw.provider.as_deref())?;
    let name = rules::name(&cx, raw.name.as_deref())?;
    let issuer = rules::issuer(&cx, raw.issuer.as_deref(), provider)?;
    let jwks_uri = rules::jwks_uri(&cx, raw.jwks_uri.as_deref(), provider)?;
    let discovery_url = cx.optional_url("discovery_url", raw.discovery_url.as_deref())?;
    let algorithms = rules::algorithms(&cx, raw.algorithms.as_deref(), provider)?;
    let token_use = rules::token_use(&cx, raw.token_use.as_deref(), provider)?;
    let leeway_seconds = rules::leeway_seconds(&cx, raw.leeway_seconds)?;
    let roles = rules::roles(&cx, raw.roles.as_deref())?;
    let properties = rules::properties(&cx, raw.properties.as_ref())?;
    let claims = rules::claims(&cx, raw.claims.as_ref())?;
    belong_to(&cx, &raw, provider)?;
    let keys = provider_keys(&cx, &raw, provider)?;
    let client_id = rules::client_id(
        &cx,
        raw.client_id.as_deref(),
        provider,
        keys.project_id.as_deref(),
    )?;
    let authorized_party_claims =
        rules::authorized_party_claims(&cx, raw.authorized_party_claims.as_deref(), provider)?;
    warn_if_open(&id, provider, issuer.as_deref(), &keys);

    Ok(Registration {
        id,
        name,
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
        tenant: keys.tenant,
        version: keys.version,
        allowed_tenants: keys.allowed_tenants,
        region: keys.region,
        user_pool_id: keys.user_pool_id,
        domain: keys.domain,
        project_id: keys.project_id,
        claims,
        introspection: keys.introspection,
        verification: keys.verification,
        authorized_party_claims,
        require_known_user: raw.require_known_user,
        require_verified_email: raw.require_verified_email,
    })
}

/// Registrations that load but accept more than an operator may expect are
/// logged once, at load.
fn warn_if_open(
    id: &RegistrationId,
    provider: Provider,
    issuer: Option<&str>,
    keys: &ProviderKeys,
) {
    if provider == Provider::Jwks && issuer.is_none() {
        tracing::warn!(
            registration = %id,
            "jwks registration without issuer: the token's iss claim is not checked"
        );
    }
    if let Some(t) = keys
        .tenant
        .as_deref()
        .filter(|t| !crate::providers::is_guid(t))
        && keys.allowed_tenants.is_none()
    {
        tracing::warn!(
            registration = %id,
            tenant = %t,
            "azure-ad registration with a multi-tenant tenant and no allowed_tenants: tokens of every tenant it admits pass"
        );
    }
}
