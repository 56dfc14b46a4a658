//! The validated registration model: what a registration *is* once it has
//! passed the rules of the registry format (`docs/registry.md` in the
//! repository).

use std::collections::BTreeMap;

use jsonwebtoken::Algorithm;
use url::Url;

use super::id::RegistrationId;
use super::required::RequiredClaims;
use super::values::{BindingMode, ClaimsMapping, TokenUse};
use crate::providers::ProviderConfig;

/// One application registration, validated: every rule of the registry
/// format holds, so request-time code never re-checks configuration.
///
/// Build one with [`Registration::builder`] or read it from a registry file
/// (see `crate::registry`). `algorithms` and `token_use` hold the
/// *effective* values (provider defaults applied).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Registration {
    /// The QUID sent in `x-sc-auth`.
    pub id: RegistrationId,
    /// Human label, for logs.
    pub name: Option<String>,
    /// `false`: every request with this id is refused.
    pub enabled: bool,
    /// The application's client id at its IdP, as configured.
    pub client_id: Option<String>,
    /// The identity provider preset, with its own settings.
    pub provider: ProviderConfig,
    /// Exact expected `iss` when configured (not derived here): a token
    /// passes with any of them, and discovery starts at the first. Empty:
    /// none configured (the preset's issuers apply).
    pub issuer: Vec<String>,
    /// Where the signing keys are, when configured.
    pub jwks_uri: Option<Url>,
    /// Override of `{issuer}/.well-known/openid-configuration`.
    pub discovery_url: Option<Url>,
    /// Effective algorithm allowlist (empty for providers without JWTs).
    pub algorithms: Vec<Algorithm>,
    /// Effective token kind accepted.
    pub token_use: TokenUse,
    /// Clock skew allowed on `exp`/`nbf`/`iat`, 0–300 s.
    pub leeway_seconds: u64,
    /// Roles granted in every property.
    pub roles: Vec<String>,
    /// Property id → roles granted there; a property not listed has not
    /// enabled the application.
    pub properties: BTreeMap<String, Vec<String>>,
    /// Claims → principal mapping.
    pub claims: ClaimsMapping,
    /// The claims that name a token's *authorized party* (the client it was
    /// issued to), in order: the first one the token carries is the party.
    /// When `aud` lists more than one audience, the party must be present
    /// and equal the client id, else the token is refused as
    /// `invalid_audience`: the client id being one audience among several
    /// does not show the token was issued to this application (OpenID
    /// Connect Core §3.1.3.7). Default
    /// [`DEFAULT_AUTHORIZED_PARTY_CLAIMS`](super::DEFAULT_AUTHORIZED_PARTY_CLAIMS).
    pub authorized_party_claims: Vec<String>,
    /// The platform's API identifiers (`audiences`): when not empty, `aud`
    /// must name one of them instead of the client id, and the token's
    /// authorized party must be the client id, whatever the number of
    /// audiences (`docs/access-tokens.md` in the repository). Empty: `aud`
    /// names the client.
    pub audiences: Vec<String>,
    /// Claims a token must carry with one of the listed values; they
    /// narrow who may call and never grant a role.
    pub required_claims: RequiredClaims,
    /// With a user directory: refuse users it does not know (403
    /// `user_unknown`); `None` follows the authenticator's setting.
    pub require_known_user: Option<bool>,
    /// With a user directory: refuse users whose email it has not verified
    /// (403 `user_unknown`); `None` follows the authenticator's setting.
    pub require_verified_email: Option<bool>,
    /// DPoP-bound tokens (RFC 9449): `allowed` by default; `required`
    /// refuses tokens that are not DPoP-bound; `off` refuses the `DPoP`
    /// scheme. A token with `cnf.jkt` needs a valid proof whatever the mode.
    pub dpop: BindingMode,
    /// Require a server nonce in DPoP proofs (RFC 9449 §8): a proof
    /// without the current one is refused `use_dpop_nonce`, with a fresh
    /// `DPoP-Nonce` header.
    pub dpop_nonce: bool,
    /// Certificate-bound tokens (RFC 8705): `allowed` by default;
    /// `required` refuses tokens without `cnf["x5t#S256"]`; `off` ignores
    /// client certificates. A token with `cnf["x5t#S256"]` needs the
    /// client certificate of that thumbprint whatever the mode.
    pub mtls: BindingMode,
}

// `Registration::client_id`, the audience, is in `crate::providers`: a
// preset may name the audience itself (Firebase: the project id).
impl Registration {
    /// Whether a token this registration accepted would be accepted by
    /// `other` too: every field that verification reads is equal. Name,
    /// `enabled`, roles and properties are decided per request, not here.
    pub(crate) fn verifies_like(&self, other: &Registration) -> bool {
        // Destructured so that a new field must be placed on one side.
        let Registration {
            id,
            name: _,
            enabled: _,
            client_id,
            provider,
            issuer,
            jwks_uri,
            discovery_url,
            algorithms,
            token_use,
            leeway_seconds,
            roles: _,
            properties: _,
            claims,
            authorized_party_claims,
            audiences,
            required_claims,
            require_known_user,
            require_verified_email,
            // What a token is bound to is remembered with it; whether the
            // binding is required and how it is proven is decided on every
            // request.
            dpop: _,
            dpop_nonce: _,
            mtls: _,
        } = self;
        *id == other.id
            && *client_id == other.client_id
            && *provider == other.provider
            && *issuer == other.issuer
            && *jwks_uri == other.jwks_uri
            && *discovery_url == other.discovery_url
            && *algorithms == other.algorithms
            && *token_use == other.token_use
            && *leeway_seconds == other.leeway_seconds
            && *claims == other.claims
            && *authorized_party_claims == other.authorized_party_claims
            && *audiences == other.audiences
            && *required_claims == other.required_claims
            && *require_known_user == other.require_known_user
            && *require_verified_email == other.require_verified_email
    }

    /// The roles this application has in `property` (or everywhere, for
    /// `None`), sorted and deduplicated; `None` when the property has not
    /// enabled the application, which must refuse the request.
    pub fn roles_in(&self, property: Option<&str>) -> Option<Vec<String>> {
        let mut roles = self.roles.clone();
        if let Some(property) = property {
            roles.extend(self.properties.get(property)?.iter().cloned());
        }
        roles.sort();
        roles.dedup();
        Some(roles)
    }
}
