//! The one validation path: registry files and the builder both fill a
//! [`RawRegistration`] and pass it through [`validate`], so a rule cannot hold
//! for one source and not the other.

use super::field::{Ctx, RegistrationError};
use super::model::Registration;
use super::raw::RawRegistration;
use super::{required, rules};
use crate::providers::ProviderConfig;

/// Apply every rule of the registry file format and the provider defaults:
/// the provider preset reads its own keys first (refusing any other), then
/// each common field its rule, then the preset its rules across fields. The
/// first broken rule is the refusal.
pub(crate) fn validate(raw: RawRegistration) -> Result<Registration, RegistrationError> {
    let cx = Ctx::new(raw.id.as_deref());
    let id = rules::id(&cx, raw.id.as_deref())?;
    let kind = rules::provider(&cx, raw.provider.as_deref())?;
    let provider = ProviderConfig::load(kind, &cx, &raw.preset_keys)?;
    let tokens = provider.preset().tokens();
    let name = rules::name(&cx, raw.name.as_deref())?;
    let issuer = rules::issuer(&cx, raw.issuer.as_ref().map(|i| i.0.as_slice()))?;
    let jwks_uri = cx.optional_url("jwks_uri", raw.jwks_uri.as_deref())?;
    let discovery_url = cx.optional_url("discovery_url", raw.discovery_url.as_deref())?;
    let algorithms = rules::algorithms(&cx, raw.algorithms.as_deref(), tokens)?;
    let token_use = rules::token_use(&cx, raw.token_use.as_deref(), tokens)?;
    let leeway_seconds = rules::leeway_seconds(&cx, raw.leeway_seconds)?;
    let roles = rules::roles(&cx, raw.roles.as_deref())?;
    let properties = rules::properties(&cx, raw.properties.as_ref())?;
    let claims = rules::claims(&cx, raw.claims.as_ref())?;
    let client_id = rules::client_id(
        &cx,
        raw.client_id.as_deref(),
        provider.preset().client_id(),
        kind,
    )?;
    let authorized_party_claims =
        rules::authorized_party_claims(&cx, raw.authorized_party_claims.as_deref(), tokens, kind)?;
    let audiences = rules::audiences(&cx, raw.audiences.as_deref(), provider.preset(), kind)?;
    let required_claims = required::required_claims(&cx, raw.required_claims.as_ref())?;
    let dpop = rules::binding_mode(&cx, "dpop", raw.dpop.as_deref())?;
    let mtls = rules::binding_mode(&cx, "mtls", raw.mtls.as_deref())?;
    let registration = Registration {
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
        claims,
        authorized_party_claims,
        audiences,
        required_claims,
        require_known_user: raw.require_known_user,
        require_verified_email: raw.require_verified_email,
        dpop,
        dpop_nonce: raw.dpop_nonce.unwrap_or(false),
        mtls,
    };
    registration.provider.preset().check(&cx, &registration)?;
    Ok(registration)
}
