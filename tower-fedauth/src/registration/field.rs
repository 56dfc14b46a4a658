//! The vocabulary of registration rules: the error that names a field, the
//! checks every plain string and URL goes through, the limits, and reading
//! a registry table with serde so that a refusal names the key. A leaf:
//! every rule imports it, it imports none of them.

use std::fmt::{self, Display};

use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};
use url::Url;

/// Largest `leeway_seconds`: more would keep expired tokens alive.
pub const MAX_LEEWAY_SECONDS: u64 = 300;
/// Default `leeway_seconds`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 60;
/// Largest `cache_seconds` of introspection / verification answers: a
/// revoked token must stop working within a day at worst.
pub const MAX_CACHE_SECONDS: u64 = 86_400;

/// Why a registration was refused: which registration, which field, what
/// rule — enough for an operator to fix the file without guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}, field {:?}: {message}", shown_registration(.registration.as_deref()), .field)]
pub struct RegistrationError {
    /// The registration id as written (`None` when it has none).
    pub registration: Option<String>,
    /// The offending field (`introspection.endpoint` for nested ones).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn shown_registration(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("registration {:?}", shown(id)),
        None => "registration without id".to_owned(),
    }
}

/// A value quoted into a message, cut short so a huge value cannot flood logs.
pub(crate) fn shown(value: &str) -> &str {
    match value.char_indices().nth(128) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

/// Field-level error builder bound to one registration id, so every rule
/// names the registration the same way.
pub(crate) struct Ctx(Option<String>);

impl Ctx {
    /// The rules of the registration with this id as written (`None`: it has
    /// none, which is itself refused).
    pub(crate) fn new(id: Option<&str>) -> Self {
        Self(id.map(str::to_owned))
    }

    /// A refusal of `field`.
    pub(crate) fn err(&self, field: &str, message: impl Into<String>) -> RegistrationError {
        RegistrationError {
            registration: self.0.clone(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// A plain configuration string: non-empty, no surrounding whitespace
    /// (compared exactly against tokens, a stray space never matches).
    pub(crate) fn text(&self, field: &str, value: &str) -> Result<(), RegistrationError> {
        if value.trim().is_empty() {
            return Err(self.err(field, "must not be empty"));
        }
        if value.trim() != value {
            return Err(self.err(
                field,
                format!("{:?} has surrounding whitespace", shown(value)),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(self.err(field, "must not contain control characters"));
        }
        Ok(())
    }

    /// An absolute http(s) URL with a host, without credentials or fragment.
    pub(crate) fn url(&self, field: &str, value: &str) -> Result<Url, RegistrationError> {
        let url = Url::parse(value).map_err(|e| {
            self.err(
                field,
                format!("{:?} is not an absolute URL: {e}", shown(value)),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.err(
                field,
                format!("{:?} is not an http or https URL", shown(value)),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(self.err(field, format!("{:?} has no host", shown(value))));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(self.err(field, "must not carry credentials (user:password@)"));
        }
        if url.fragment().is_some() {
            return Err(self.err(
                field,
                format!("{:?} must not have a #fragment", shown(value)),
            ));
        }
        Ok(url)
    }

    /// A key that `provider` requires: present and a plain string.
    pub(crate) fn required<'v>(
        &self,
        field: &str,
        value: Option<&'v str>,
        provider: impl Display,
    ) -> Result<&'v str, RegistrationError> {
        let v =
            value.ok_or_else(|| self.err(field, format!("is required for provider {provider}")))?;
        self.text(field, v)?;
        Ok(v)
    }

    /// An optional URL field.
    pub(crate) fn optional_url(
        &self,
        field: &str,
        value: Option<&str>,
    ) -> Result<Option<Url>, RegistrationError> {
        value.map(|u| self.url(field, u)).transpose()
    }
}

/// `T` read from the keys of a registry entry. A refusal names the key
/// serde refused, `table.key` inside the nested tables listed in `tables`:
/// every field of the raw types is optional, so a key read on its own fails
/// only if it is the culprit.
pub(crate) fn read<T: DeserializeOwned>(
    cx: &Ctx,
    map: &Map<String, Value>,
    tables: &[&str],
) -> Result<T, RegistrationError> {
    T::deserialize(map).map_err(|whole| match locate::<T>(map) {
        Some((key, e)) => {
            let nested = match map.get(&key) {
                Some(Value::Object(inner)) if tables.contains(&key.as_str()) => {
                    locate_in::<T>(&key, inner)
                }
                _ => None,
            };
            match nested {
                Some((sub, e)) => cx.err(&format!("{key}.{sub}"), e.to_string()),
                None => cx.err(&key, e.to_string()),
            }
        }
        None => cx.err("registrations", whole.to_string()),
    })
}

/// `T` read from the registry table `name` (e.g. `introspection`); a
/// refusal names `name.key` of the key serde refused.
pub(crate) fn read_table<T: DeserializeOwned>(
    cx: &Ctx,
    name: &str,
    table: &Value,
) -> Result<T, RegistrationError> {
    T::deserialize(table).map_err(|whole| {
        let culprit = match table {
            Value::Object(inner) => locate::<T>(inner),
            _ => None,
        };
        match culprit {
            Some((key, e)) => cx.err(&format!("{name}.{key}"), e.to_string()),
            None => cx.err(name, whole.to_string()),
        }
    })
}

/// The first key of `map` that fails to deserialize into `T` on its own.
fn locate<T: DeserializeOwned>(map: &Map<String, Value>) -> Option<(String, serde_json::Error)> {
    map.iter().find_map(|(k, v)| {
        let single = Map::from_iter([(k.clone(), v.clone())]);
        T::deserialize(&single).err().map(|e| (k.clone(), e))
    })
}

/// The first key of the nested table `table` that fails on its own.
fn locate_in<T: DeserializeOwned>(
    table: &str,
    inner: &Map<String, Value>,
) -> Option<(String, serde_json::Error)> {
    inner.iter().find_map(|(k, v)| {
        let nested = Map::from_iter([(k.clone(), v.clone())]);
        let single = Map::from_iter([(table.to_owned(), Value::Object(nested))]);
        T::deserialize(&single).err().map(|e| (k.clone(), e))
    })
}

/// The keys a raw table type accepts: the field names its derived
/// `Deserialize` hands to serde, so the list is never written twice.
pub(crate) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    // Only `deserialize_struct` records anything; the error ends the read.
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// A deserializer that records the field names of the struct asked of it.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

/// Every read through [`FieldNames`] stops with this.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names read")
    }
}

impl std::error::Error for Stop {}

impl serde::de::Error for Stop {
    fn custom<M: Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}
