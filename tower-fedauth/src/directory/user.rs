//! The User model of the platform's users webhooks.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A user as the directory knows it (the platform's User schema). Unknown
/// members of the directory's answer are ignored; times are kept as the
/// directory wrote them (RFC 3339 date-times). Serialized, it follows the
/// schema again (`logins_count` as a string). Built outside this crate with
/// [`User::new`] and the setters, so a new member of the schema is not a
/// breaking change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
        serialize_with = "int64_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub logins_count: Option<i64>,
}

crate::setters::setters!(User {
    email_verified: bool,
    blocked: bool,
    tenant: Option<String>,
    create_time: Option<String>,
    update_time: Option<String>,
    login_time: Option<String>,
    logins_count: Option<i64>,
});

impl User {
    /// A user with the schema's required members; the optional ones are
    /// absent (not verified, not blocked, no tenant) until set.
    pub fn new(
        id: impl Into<String>,
        customer: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            customer: customer.into(),
            email: email.into(),
            email_verified: false,
            blocked: false,
            tenant: None,
            create_time: None,
            update_time: None,
            login_time: None,
            logins_count: None,
        }
    }

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

/// The schema's int64 is a string (JSON numbers lose precision past 2^53).
fn int64_text<S: Serializer>(count: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match count {
        Some(n) => s.collect_str(n),
        None => s.serialize_none(),
    }
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
