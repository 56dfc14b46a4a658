//! The User model of the platform's users webhooks.

use serde::{Deserialize, Deserializer, Serialize};

/// A user as the directory knows it (the platform's User schema). Unknown
/// members of the directory's answer are ignored; times are kept as the
/// directory wrote them (RFC 3339 date-times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The identity provider's id of the user: the principal's subject.
    pub id: String,
    /// The customer's id of the user in the tenant's scope.
    pub customer: String,
    /// The user's email address. Never authorise on it unless
    /// `email_verified`.
    pub email: String,
    /// Whether the email address is verified (absent: not verified).
    #[serde(default, deserialize_with = "null_as_false")]
    pub email_verified: bool,
    /// Whether the user is blocked (absent: not blocked).
    #[serde(default, deserialize_with = "null_as_false")]
    pub blocked: bool,
    /// The platform tenant the record belongs to. fedauth maps a
    /// registration to the tenant of the same id: a record whose tenant is
    /// set to anything else is not used for that registration
    /// ([`User::belongs_to`]). Absent: the record is not tied to a tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// When the user was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When the user was last updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    /// When the user last logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_time: Option<String>,
    /// How many times the user logged in (the schema sends an int64 as a
    /// string; a number is accepted too).
    #[serde(
        default,
        deserialize_with = "int64",
        skip_serializing_if = "Option::is_none"
    )]
    pub logins_count: Option<i64>,
}

impl User {
    /// Whether this record may be used for a token of `registration`: its
    /// `tenant` is absent or is exactly that registration's id. Anything
    /// else (an empty string included) is another tenant's record: an
    /// application controls its own IdP and can mint any subject, so a
    /// record scoped elsewhere must never become its user.
    pub fn belongs_to(&self, registration: &str) -> bool {
        self.tenant.as_deref().is_none_or(|t| t == registration)
    }
}

fn null_as_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Count {
        Number(i64),
        Text(String),
    }
    match Option::<Count>::deserialize(d)? {
        None => Ok(None),
        Some(Count::Number(n)) => Ok(Some(n)),
        Some(Count::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("logins_count is not an int64")),
    }
}
