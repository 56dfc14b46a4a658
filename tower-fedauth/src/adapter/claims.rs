//! The verified claims in a handler's own type, for the adapters'
//! `Claims<T>` extractors.
//!
//! serde_json deserialises, as [`Claims::deserialize`] always has. When it
//! refuses, the claims are read a second time through [`Probe`], a
//! deserialiser of the same JSON whose error records *what* failed as data
//! (a missing field's name, or anything else), so the refusal's detail
//! never depends on the wording of serde's messages and never quotes a
//! claim's value.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

use crate::claims::Claims;
use crate::error::{AuthError, ErrorCode};

/// `claims` as `T`, or 401 `invalid_claims` naming the missing claim when
/// one is missing.
pub(super) fn claims_as<T: DeserializeOwned>(claims: &Claims) -> Result<T, AuthError> {
    claims.deserialize::<T>().map_err(|_| {
        let missing = match T::deserialize(Probe(claims.as_value())) {
            Err(Failure::Missing(field)) => Some(field),
            Err(Failure::Other) | Ok(_) => None,
        };
        invalid_claims(missing)
    })
}

/// The refusal for claims that do not fit the handler's type.
fn invalid_claims(missing: Option<&'static str>) -> AuthError {
    match missing {
        Some(field) => AuthError::token(
            ErrorCode::InvalidClaims,
            format!("the claim `{field}` required by the handler is missing"),
        ),
        None => AuthError::token(
            ErrorCode::InvalidClaims,
            "a claim does not have the type the handler requires",
        ),
    }
}

/// Why [`Probe`] could not give a `T`.
#[derive(Debug)]
enum Failure {
    /// A field `T` requires is absent (its name as `T` spells it).
    Missing(&'static str),
    /// Anything else: a wrong type, an unknown field `T` denies, ...
    Other,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Missing(field) => write!(f, "missing field `{field}`"),
            Failure::Other => f.write_str("invalid claims"),
        }
    }
}

impl std::error::Error for Failure {}

impl de::Error for Failure {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Failure::Other
    }

    fn missing_field(field: &'static str) -> Self {
        Failure::Missing(field)
    }
}

/// A JSON value as a deserialiser that visits exactly what serde_json's
/// own deserialiser of a `Value` visits, with [`Failure`] as its error.
#[derive(Clone, Copy)]
struct Probe<'de>(&'de Value);

impl<'de> IntoDeserializer<'de, Failure> for Probe<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Probe<'de> {
    type Error = Failure;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, Some(f)) => visitor.visit_f64(f),
                (None, None, None) => Err(Failure::Other),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(SeqDeserializer::new(items.iter().map(Probe))),
            Value::Object(map) => visitor.visit_map(MapDeserializer::new(
                map.iter().map(|(k, v)| (k.as_str(), Probe(v))),
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Failure> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Failure> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Failure> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let entries = map.iter().map(|(k, v)| (k.as_str(), Probe(v)));
                visitor.visit_enum(MapAccessDeserializer::new(MapDeserializer::new(entries)))
            }
            _ => Err(Failure::Other),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::tests::claims;
    use serde::Deserialize;
    use serde_json::json;

    fn detail<T: DeserializeOwned>(value: Value) -> String {
        match claims_as::<T>(&claims(value)) {
            Ok(_) => "accepted".to_owned(),
            Err(error) => {
                assert_eq!(error.code(), ErrorCode::InvalidClaims);
                error.detail().to_owned()
            }
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Tenant {
        tenant: String,
        #[serde(rename = "org-id", default)]
        org: Option<u32>,
    }

    #[test]
    fn a_missing_claim_is_named_by_the_name_the_type_reads() {
        assert_eq!(
            detail::<Tenant>(json!({"sub": "alice"})),
            "the claim `tenant` required by the handler is missing"
        );
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Renamed {
            #[serde(rename = "x-tenant")]
            tenant: String,
        }
        assert_eq!(
            detail::<Renamed>(json!({"tenant": "t"})),
            "the claim `x-tenant` required by the handler is missing"
        );
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Nested {
            org: Tenant,
        }
        assert_eq!(
            detail::<Nested>(json!({"org": {"id": 1}})),
            "the claim `tenant` required by the handler is missing"
        );
    }

    #[test]
    fn other_misfits_never_quote_a_value() {
        let type_detail = "a claim does not have the type the handler requires";
        assert_eq!(
            detail::<Tenant>(json!({"tenant": "t", "org-id": "secret-42"})),
            type_detail
        );
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            sub: String,
        }
        assert_eq!(
            detail::<Strict>(json!({"sub": "a", "secret": 1})),
            type_detail
        );
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Level {
            Low,
            High,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct WithLevel {
            level: Level,
            tags: Vec<u8>,
        }
        assert_eq!(
            detail::<WithLevel>(json!({"level": "Top", "tags": []})),
            type_detail
        );
        assert_eq!(
            detail::<WithLevel>(json!({"level": "High"})),
            "the claim `tags` required by the handler is missing"
        );
    }

    #[test]
    fn claims_that_fit_are_read_by_serde_json() {
        let read = claims_as::<Tenant>(&claims(json!({"tenant": "t", "org-id": 7}))).unwrap();
        assert_eq!(
            read,
            Tenant {
                tenant: "t".into(),
                org: Some(7)
            }
        );
        let all = json!({"sub": "a", "n": -1, "f": 1.5, "l": [true, null]});
        assert_eq!(claims_as::<Value>(&claims(all.clone())).unwrap(), all);
    }

    /// The probe agrees with serde_json on what fits: every value serde_json
    /// accepts, it accepts too.
    #[test]
    fn the_probe_accepts_what_serde_json_accepts() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Shape {
            Unit,
            Pair(i64, f64),
            Named { big: u128 },
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct All {
            shapes: Vec<Shape>,
            maybe: Option<char>,
            negative: i8,
            wrapped: Wrapped,
            any: Value,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Wrapped(String);
        let value = json!({
            "shapes": ["Unit", {"Pair": [-3, 2.5]}, {"Named": {"big": 18446744073709551615_u64}}],
            "maybe": "x", "negative": -8, "wrapped": "w", "any": {"k": [1, "2"]}
        });
        assert!(serde_json::from_value::<All>(value.clone()).is_ok());
        assert!(All::deserialize(Probe(&value)).is_ok());
    }
}
