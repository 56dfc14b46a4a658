//! Verified claims: standard claims typed, every other claim kept.

use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The registered claims of RFC 7519 that fedauth checks, typed.
///
/// Deserialises from any claims object (`aud` as a string or an array,
/// dates as integer or fractional numbers), so it is also the default type
/// of the adapters' `Claims<T>` extractors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StandardClaims {
    /// `iss`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `sub`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `aud`, always as a list.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aud: Vec<String>,
    /// `exp`, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<i64>,
    /// `nbf`, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// `iat`, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// `jti`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// A NumericDate, read exactly as [`as_numeric_date`] reads it (integers
/// as they are, not through `f64`, which rounds beyond 2^53), so the typed
/// claims and [`Claims::from_map`] always agree. Anything but a number (or
/// null) is an error, never coerced.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_numeric_date(&v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("a NumericDate must be a number")),
    }
}

/// A JSON number as seconds since the epoch; `None` for anything else
/// (a string `exp` is refused, never coerced).
pub(crate) fn as_numeric_date(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        }),
        _ => None,
    }
}

/// The claims of a verified token (or an introspection / verification answer).
///
/// Cheap to clone: the claim set is shared.
#[derive(Debug, Clone)]
pub struct Claims(Arc<ClaimSet>);

/// One allocation for both views, so a copy of [`Claims`] is one reference
/// count. The typed view is read from the map when first asked for: the
/// verification itself reads the map, and most handlers never ask.
#[derive(Debug)]
struct ClaimSet {
    raw: Value,
    standard: OnceLock<StandardClaims>,
}

impl Claims {
    /// Wrap a verified claim set. Callers have already checked the types of
    /// the standard claims, so reading them later cannot fail in practice.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(Arc::new(ClaimSet {
            raw: Value::Object(map),
            standard: OnceLock::new(),
        }))
    }

    /// The registered claims, typed.
    pub fn standard(&self) -> &StandardClaims {
        self.0
            .standard
            .get_or_init(|| standard_claims(self.as_map()))
    }

    /// One claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }

    /// One claim as a string, if it is one.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Every claim.
    pub fn as_map(&self) -> &Map<String, Value> {
        match &self.0.raw {
            Value::Object(m) => m,
            _ => unreachable_empty(),
        }
    }

    /// Every claim as a JSON value.
    pub fn as_value(&self) -> &Value {
        &self.0.raw
    }

    /// Deserialise the claims into the caller's own type.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0.raw)
    }
}

/// The typed registered claims of a claims map: strings and NumericDates
/// read as [`StandardClaims`]'s deserialiser reads them (anything else is
/// left out).
fn standard_claims(map: &Map<String, Value>) -> StandardClaims {
    let get_str = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
    let get_date = |k: &str| map.get(k).and_then(as_numeric_date);
    let aud = match map.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    StandardClaims {
        iss: get_str("iss"),
        sub: get_str("sub"),
        aud,
        exp: get_date("exp"),
        nbf: get_date("nbf"),
        iat: get_date("iat"),
        jti: get_str("jti"),
    }
}

/// `raw` is always built from a map; this keeps `as_map` total without panicking.
fn unreachable_empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the property test `standard_claims_round_trip_and_agree_with_claims_from_map`:
    /// dates beyond 2^53 went through `f64` and came back rounded.
    #[test]
    fn large_numeric_dates_round_trip_exactly() {
        for date in [
            -14_576_665_020_156_709_i64,
            9_007_199_254_740_993,
            i64::MAX,
            i64::MIN,
        ] {
            let claims = StandardClaims {
                iat: Some(date),
                ..StandardClaims::default()
            };
            let text = serde_json::to_string(&claims).unwrap();
            let back: StandardClaims = serde_json::from_str(&text).unwrap();
            assert_eq!(back.iat, Some(date), "{text}");
            let map = serde_json::from_str::<Value>(&text).unwrap();
            let wrapped = Claims::from_map(map.as_object().unwrap().clone());
            assert_eq!(wrapped.standard().iat, Some(date));
        }
        // Fractions are floored; anything but a number is refused.
        let c: StandardClaims = serde_json::from_str(r#"{"exp": -1.5, "nbf": null}"#).unwrap();
        assert_eq!((c.exp, c.nbf), (Some(-2), None));
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp": "1"}"#).is_err());
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp": true}"#).is_err());
    }

    #[test]
    fn standard_claims_from_map_and_serde_agree() {
        let v = json!({"iss":"i","sub":"s","aud":"a","exp":10.7,"nbf":1,"iat":2,"jti":"j","x":[1]});
        let c = Claims::from_map(v.as_object().unwrap().clone());
        let via_serde: StandardClaims = c.deserialize().unwrap();
        assert_eq!(&via_serde, c.standard());
        assert_eq!(c.standard().aud, vec!["a".to_string()]);
        assert_eq!(c.standard().exp, Some(10));
        assert_eq!(c.get("x"), Some(&json!([1])));
        let arr = Claims::from_map(json!({"aud":["a","b"]}).as_object().unwrap().clone());
        assert_eq!(
            arr.deserialize::<StandardClaims>().unwrap().aud,
            vec!["a", "b"]
        );
    }
}
