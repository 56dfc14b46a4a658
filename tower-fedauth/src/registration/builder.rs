//! A fluent builder for registrations made in code (in-memory registries,
//! tests). It fills the same raw form as a registry file, so `build` applies
//! exactly the file's rules.

use std::collections::BTreeMap;

use jsonwebtoken::Algorithm;

use super::field::RegistrationError;
use serde_json::{Value, json};

use super::model::Registration;
use super::raw::{OneOrMany, RawRegistration};
use super::validate::validate;
use super::values::{BindingMode, ClaimsMapping, TokenUse};
use crate::providers::{AzureVersion, IntrospectionConfig, Provider, VerificationConfig};

/// Builds a [`Registration`]; see [`Registration::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct RegistrationBuilder {
    raw: RawRegistration,
}

/// Only the id and provider: the rest may hold secrets.
impl std::fmt::Debug for RegistrationBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationBuilder")
            .field("id", &self.raw.id)
            .field("provider", &self.raw.provider)
            .finish_non_exhaustive()
    }
}

impl Registration {
    /// Start a registration in code; `build` checks it like a registry file
    /// entry, so code cannot create what a file could not.
    pub fn builder(id: &str, provider: Provider) -> RegistrationBuilder {
        RegistrationBuilder {
            raw: RawRegistration {
                id: Some(id.to_owned()),
                provider: Some(provider.as_str().to_owned()),
                ..RawRegistration::default()
            },
        }
    }
}

impl RegistrationBuilder {
    /// Human label, for logs.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.raw.name = Some(name.into());
        self
    }

    /// `false` refuses every request with this id (default `true`).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.raw.enabled = Some(enabled);
        self
    }

    /// The application's client id at its IdP (the expected audience).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.raw.client_id = Some(client_id.into());
        self
    }

    /// Exact expected `iss` (replaces earlier ones).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.raw.issuer = Some(OneOrMany(vec![issuer.into()]));
        self
    }

    /// Several accepted `iss` values, e.g. an IdP moving to a custom domain:
    /// a token passes with any of them, discovery starts at the first
    /// (replaces earlier ones).
    pub fn issuers<S: Into<String>>(mut self, issuers: impl IntoIterator<Item = S>) -> Self {
        self.raw.issuer = Some(OneOrMany(issuers.into_iter().map(Into::into).collect()));
        self
    }

    /// The platform's API identifiers: `aud` must name one of them instead
    /// of the client id, and the token's authorized party must be the
    /// client id (replaces earlier ones).
    pub fn audiences<S: Into<String>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        self.raw.audiences = Some(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// Require `claim` to have `value` (a string, number or boolean, with
    /// its JSON type), or one of the values of a JSON array; an array
    /// claim passes when it holds one of them.
    pub fn required_claim(mut self, claim: impl Into<String>, value: impl Into<Value>) -> Self {
        self.raw
            .required_claims
            .get_or_insert_with(serde_json::Map::new)
            .insert(claim.into(), value.into());
        self
    }

    /// Where the signing keys are (a `&str`, `String` or `Url`).
    pub fn jwks_uri(mut self, url: impl AsRef<str>) -> Self {
        self.raw.jwks_uri = Some(url.as_ref().to_owned());
        self
    }

    /// Override of the discovery document URL.
    pub fn discovery_url(mut self, url: impl AsRef<str>) -> Self {
        self.raw.discovery_url = Some(url.as_ref().to_owned());
        self
    }

    /// Algorithm allowlist; symmetric algorithms are refused by `build`.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.raw.algorithms = Some(algorithms.into_iter().map(|a| format!("{a:?}")).collect());
        self
    }

    /// Which token kind is accepted (default per provider).
    pub fn token_use(mut self, token_use: TokenUse) -> Self {
        self.raw.token_use = Some(token_use.as_str().to_owned());
        self
    }

    /// Clock skew allowed, 0–300 s (default 60).
    pub fn leeway_seconds(mut self, seconds: u64) -> Self {
        self.raw.leeway_seconds = Some(seconds);
        self
    }

    /// Roles granted in every property (replaces earlier ones).
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.raw.roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Enable the application in one property with these roles.
    pub fn property<S: Into<String>>(
        mut self,
        property: impl Into<String>,
        roles: impl IntoIterator<Item = S>,
    ) -> Self {
        self.raw
            .properties
            .get_or_insert_with(BTreeMap::new)
            .insert(property.into(), roles.into_iter().map(Into::into).collect());
        self
    }

    /// All properties at once (replaces earlier ones).
    pub fn properties(mut self, properties: BTreeMap<String, Vec<String>>) -> Self {
        self.raw.properties = Some(properties);
        self
    }

    /// `azure-ad`: tenant GUID or `common` / `organizations` / `consumers`.
    pub fn tenant(self, tenant: impl Into<String>) -> Self {
        self.preset_key("tenant", Value::String(tenant.into()))
    }

    /// `azure-ad`: accepted token versions.
    pub fn version(self, version: AzureVersion) -> Self {
        self.preset_key("version", json!(version))
    }

    /// `azure-ad` with `common` / `organizations` / `consumers`: only tokens
    /// of these tenants (GUIDs) pass; replaces earlier ones.
    pub fn allowed_tenants<S: Into<String>>(self, tenants: impl IntoIterator<Item = S>) -> Self {
        let tenants: Vec<String> = tenants.into_iter().map(Into::into).collect();
        self.preset_key("allowed_tenants", json!(tenants))
    }

    /// `cognito`: AWS region.
    pub fn region(self, region: impl Into<String>) -> Self {
        self.preset_key("region", Value::String(region.into()))
    }

    /// `cognito`: user pool id.
    pub fn user_pool_id(self, pool: impl Into<String>) -> Self {
        self.preset_key("user_pool_id", Value::String(pool.into()))
    }

    /// `auth0`: tenant or custom domain (host name only).
    pub fn domain(self, domain: impl Into<String>) -> Self {
        self.preset_key("domain", Value::String(domain.into()))
    }

    /// `firebase`: project id.
    pub fn project_id(self, project: impl Into<String>) -> Self {
        self.preset_key("project_id", Value::String(project.into()))
    }

    /// Claims → principal mapping.
    pub fn claims(mut self, claims: ClaimsMapping) -> Self {
        self.raw.claims = Some(claims);
        self
    }

    /// `introspection`: the RFC 7662 endpoint.
    pub fn introspection(self, config: IntrospectionConfig) -> Self {
        let IntrospectionConfig {
            endpoint,
            client_id,
            client_secret,
            auth_method,
            cache_seconds,
        } = config;
        self.preset_key(
            "introspection",
            json!({
                "endpoint": endpoint.as_str(),
                "client_id": client_id,
                "client_secret": client_secret.expose(),
                "auth_method": auth_method,
                "cache_seconds": cache_seconds,
            }),
        )
    }

    /// `verification-endpoint`: the custom endpoint.
    pub fn verification(self, config: VerificationConfig) -> Self {
        let VerificationConfig {
            url,
            method,
            headers,
            params,
            response,
            cache_seconds,
        } = config;
        self.preset_key(
            "verification",
            json!({
                "url": url.as_str(),
                "method": method,
                "headers": headers,
                "params": params,
                "response": response,
                "cache_seconds": cache_seconds,
            }),
        )
    }

    /// The claims naming a token's authorized party, first present wins
    /// (default `azp`, `client_id`, `appid`, `cid`); replaces earlier ones.
    pub fn authorized_party_claims<S: Into<String>>(
        mut self,
        claims: impl IntoIterator<Item = S>,
    ) -> Self {
        self.raw.authorized_party_claims = Some(claims.into_iter().map(Into::into).collect());
        self
    }

    /// With a user directory: whether users it does not know are refused
    /// (default: the authenticator's setting).
    pub fn require_known_user(mut self, require: bool) -> Self {
        self.raw.require_known_user = Some(require);
        self
    }

    /// With a user directory: whether users with an unverified email are
    /// refused (default: the authenticator's setting).
    pub fn require_verified_email(mut self, require: bool) -> Self {
        self.raw.require_verified_email = Some(require);
        self
    }

    /// DPoP-bound tokens: `off`, `allowed` (default) or `required`.
    pub fn dpop(mut self, mode: BindingMode) -> Self {
        self.raw.dpop = Some(mode.as_str().to_owned());
        self
    }

    /// Require server nonces in DPoP proofs (default `false`).
    pub fn dpop_nonce(mut self, require: bool) -> Self {
        self.raw.dpop_nonce = Some(require);
        self
    }

    /// Certificate-bound tokens: `off`, `allowed` (default) or `required`.
    pub fn mtls(mut self, mode: BindingMode) -> Self {
        self.raw.mtls = Some(mode.as_str().to_owned());
        self
    }

    /// A key of the provider preset, as a registry file would hold it.
    fn preset_key(mut self, key: &str, value: Value) -> Self {
        self.raw.preset_keys.insert(key.to_owned(), value);
        self
    }

    /// Check every rule and apply provider defaults.
    pub fn build(self) -> Result<Registration, RegistrationError> {
        validate(self.raw)
    }
}
