//! Registrations as written in a registry document, before any rule: plain
//! data, filled by a document (`de`) or by the builder, read by the rules.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::field::field_names;
use super::values::ClaimsMapping;

/// A registration as written, before any rule: every field optional so that
/// the validator, not serde, says what is missing (and names the field).
/// These are the keys every registration may have; the keys of a provider
/// preset are kept apart, as written, for the preset to read.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegistration {
    pub id: Option<String>,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub client_id: Option<String>,
    pub provider: Option<String>,
    pub issuer: Option<OneOrMany>,
    pub jwks_uri: Option<String>,
    pub discovery_url: Option<String>,
    pub algorithms: Option<Vec<String>>,
    pub token_use: Option<String>,
    pub leeway_seconds: Option<u64>,
    pub roles: Option<Vec<String>>,
    pub properties: Option<BTreeMap<String, Vec<String>>>,
    pub claims: Option<ClaimsMapping>,
    pub authorized_party_claims: Option<Vec<String>>,
    pub audiences: Option<Vec<String>>,
    pub required_claims: Option<Map<String, Value>>,
    pub require_known_user: Option<bool>,
    pub require_verified_email: Option<bool>,
    pub dpop: Option<String>,
    pub dpop_nonce: Option<bool>,
    pub mtls: Option<String>,
    /// Every other key (`tenant`, `region`, the `introspection` table, …),
    /// read by the provider preset, which refuses what is not its own.
    #[serde(skip)]
    pub preset_keys: Map<String, Value>,
}

impl RawRegistration {
    /// The keys every registration may have (its fields, as serde reads
    /// them).
    pub(crate) fn keys() -> &'static [&'static str] {
        field_names::<Self>()
    }
}

/// A key that takes a string or a list of strings (`issuer`), as written:
/// one string is a list of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}
