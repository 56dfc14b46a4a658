//! Registrations as written in a registry document, before any rule: plain
//! data, filled by a document (`de`) or by the builder, read by the rules.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::model::{AzureVersion, ClaimsMapping, ClientAuthMethod, HttpMethod, Secret};

/// A registration as written, before any rule: every field optional so that
/// the validator, not serde, says what is missing (and names the field).
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistration {
    pub id: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub client_id: Option<String>,
    pub provider: Option<String>,
    pub issuer: Option<String>,
    pub jwks_uri: Option<String>,
    pub discovery_url: Option<String>,
    pub algorithms: Option<Vec<String>>,
    pub token_use: Option<String>,
    pub leeway_seconds: Option<u64>,
    pub roles: Option<Vec<String>>,
    pub properties: Option<BTreeMap<String, Vec<String>>>,
    pub tenant: Option<String>,
    pub version: Option<AzureVersion>,
    pub allowed_tenants: Option<Vec<String>>,
    pub region: Option<String>,
    pub user_pool_id: Option<String>,
    pub domain: Option<String>,
    pub project_id: Option<String>,
    pub claims: Option<ClaimsMapping>,
    pub introspection: Option<RawIntrospection>,
    pub verification: Option<RawVerification>,
    pub authorized_party_claims: Option<Vec<String>>,
    pub require_known_user: Option<bool>,
    pub require_verified_email: Option<bool>,
}

/// The `introspection` table as written.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntrospection {
    pub endpoint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub auth_method: Option<ClientAuthMethod>,
    pub cache_seconds: Option<u64>,
}

/// The `verification` table as written.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVerification {
    pub url: Option<String>,
    pub method: Option<HttpMethod>,
    pub headers: Option<BTreeMap<String, String>>,
    pub params: Option<BTreeMap<String, String>>,
    pub response: Option<BTreeMap<String, String>>,
    pub cache_seconds: Option<u64>,
}
