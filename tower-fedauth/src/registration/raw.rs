//! Registrations as written in a registry document, before any rule, and
//! the serde plumbing that pins a serde error to the field that caused it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::model::{
    AzureVersion, ClaimsMapping, ClientAuthMethod, HttpMethod, Registration, Secret,
};
use super::validate::{RegistrationError, validate};

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

impl<'de> Deserialize<'de> for Registration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRegistration::deserialize(d)?;
        validate(raw).map_err(serde::de::Error::custom)
    }
}

/// One registration from a parsed document (a TOML table turned JSON value,
/// or a JSON object). Serde errors are pinned to the field that caused them.
pub(crate) fn from_value(value: &Value) -> Result<Registration, RegistrationError> {
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let Value::Object(map) = value else {
        return Err(RegistrationError {
            registration: None,
            field: "registrations".into(),
            message: "each registration must be a table (an object)".into(),
        });
    };
    match RawRegistration::deserialize(value) {
        Ok(raw) => validate(raw),
        Err(whole) => {
            let (field, message) = locate::<RawRegistration>(map)
                .map(|(k, e)| {
                    let nested = match (k.as_str(), map.get(&k)) {
                        ("claims", Some(Value::Object(m))) => locate::<ClaimsMapping>(m),
                        ("introspection", Some(Value::Object(m))) => locate::<RawIntrospection>(m),
                        ("verification", Some(Value::Object(m))) => locate::<RawVerification>(m),
                        _ => None,
                    };
                    match nested {
                        Some((sub, e)) => (format!("{k}.{sub}"), e.to_string()),
                        None => (k, e.to_string()),
                    }
                })
                .unwrap_or_else(|| ("registrations".into(), whole.to_string()));
            Err(RegistrationError {
                registration: id,
                field,
                message,
            })
        }
    }
}

/// The first key of `map` that fails to deserialize into `T` on its own.
/// Every field of the raw types is optional, so only the culprit fails.
fn locate<T: DeserializeOwned>(map: &Map<String, Value>) -> Option<(String, serde_json::Error)> {
    map.iter().find_map(|(k, v)| {
        let single = Value::Object(Map::from_iter([(k.clone(), v.clone())]));
        T::deserialize(&single).err().map(|e| (k.clone(), e))
    })
}
