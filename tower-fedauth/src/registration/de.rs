//! Registrations read from documents: the serde entry points. A document's
//! keys are split into the common ones, read here (a serde refusal names
//! its field), and the provider preset's, which the preset reads; then the
//! same rules as the builder's apply.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::field::{Ctx, RegistrationError, read};
use super::model::Registration;
use super::raw::RawRegistration;
use super::validate::validate;

impl<'de> Deserialize<'de> for Registration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// One registration from a parsed document (a TOML table turned JSON value,
/// or a JSON object).
pub(crate) fn from_value(value: &Value) -> Result<Registration, RegistrationError> {
    let Value::Object(map) = value else {
        return Err(RegistrationError {
            registration: None,
            field: "registrations".into(),
            message: "each registration must be a table (an object)".into(),
        });
    };
    let cx = Ctx::new(map.get("id").and_then(Value::as_str));
    let common = RawRegistration::keys();
    let (common_keys, preset_keys): (Map<String, Value>, Map<String, Value>) = map
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| common.contains(&k.as_str()));
    let mut raw: RawRegistration = read(&cx, &common_keys, &["claims"])?;
    raw.preset_keys = preset_keys;
    validate(raw)
}
