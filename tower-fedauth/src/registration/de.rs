//! Registrations read from documents: the serde entry points, which pin a
//! serde error to the field that caused it and then apply the same rules
//! as the builder.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::field::RegistrationError;
use super::model::{ClaimsMapping, Registration};
use super::raw::{RawIntrospection, RawRegistration, RawVerification};
use super::validate::validate;

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
            let (field, message) =
                culprit(map).unwrap_or_else(|| ("registrations".into(), whole.to_string()));
            Err(RegistrationError {
                registration: id,
                field,
                message,
            })
        }
    }
}

/// The field (`claims.subjet` for a nested one) whose value serde refused,
/// and serde's message.
fn culprit(map: &Map<String, Value>) -> Option<(String, String)> {
    let (k, e) = locate::<RawRegistration>(map)?;
    let nested = match (k.as_str(), map.get(&k)) {
        ("claims", Some(Value::Object(m))) => locate::<ClaimsMapping>(m),
        ("introspection", Some(Value::Object(m))) => locate::<RawIntrospection>(m),
        ("verification", Some(Value::Object(m))) => locate::<RawVerification>(m),
        _ => None,
    };
    Some(match nested {
        Some((sub, e)) => (format!("{k}.{sub}"), e.to_string()),
        None => (k, e.to_string()),
    })
}

/// The first key of `map` that fails to deserialize into `T` on its own.
/// Every field of the raw types is optional, so only the culprit fails.
fn locate<T: DeserializeOwned>(map: &Map<String, Value>) -> Option<(String, serde_json::Error)> {
    map.iter().find_map(|(k, v)| {
        let single = Value::Object(Map::from_iter([(k.clone(), v.clone())]));
        T::deserialize(&single).err().map(|e| (k.clone(), e))
    })
}
