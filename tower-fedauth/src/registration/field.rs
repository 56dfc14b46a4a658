//! The vocabulary of registration rules: the error that names a field, the
//! checks every plain string and URL goes through, and the limits. A leaf:
//! every rule imports it, it imports none of them.

use std::fmt::Display;

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
