//! The audit record: who changed which registration, how, and what it was
//! before and after. Its JSON form is the audit item of the admin API and a
//! line of the file store's `<registry>.audit.jsonl`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A platform admin.
    Platform,
    /// A property admin of this property.
    Property(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Platform => f.write_str("platform"),
            Actor::Property(p) => write!(f, "property:{p}"),
        }
    }
}

impl FromStr for Actor {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("property:") {
            _ if s == "platform" => Ok(Actor::Platform),
            Some(p) if !p.is_empty() => Ok(Actor::Property(p.to_owned())),
            _ => Err(UnknownName(s.to_owned())),
        }
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// `registration.create`
    RegistrationCreate,
    /// `registration.update`
    RegistrationUpdate,
    /// `registration.delete`
    RegistrationDelete,
    /// `property.enable`: the application enabled in a property.
    PropertyEnable,
    /// `property.update`: its roles in a property replaced.
    PropertyUpdate,
    /// `property.disable`: the application disabled in a property.
    PropertyDisable,
}

impl AuditAction {
    /// Every action, in the order of the contract's list.
    pub const ALL: [AuditAction; 6] = [
        AuditAction::RegistrationCreate,
        AuditAction::RegistrationUpdate,
        AuditAction::RegistrationDelete,
        AuditAction::PropertyEnable,
        AuditAction::PropertyUpdate,
        AuditAction::PropertyDisable,
    ];

    /// The action's name in the audit log (`registration.create`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::RegistrationCreate => "registration.create",
            AuditAction::RegistrationUpdate => "registration.update",
            AuditAction::RegistrationDelete => "registration.delete",
            AuditAction::PropertyEnable => "property.enable",
            AuditAction::PropertyUpdate => "property.update",
            AuditAction::PropertyDisable => "property.disable",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// A name that is no [`Actor`] or [`AuditAction`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(String);

macro_rules! string_serde {
    ($($ty:ty),+) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    )+};
}

string_serde!(Actor, AuditAction);

/// One entry of the audit log. `before` and `after` are what the API
/// shows (secrets already masked): the registration for `registration.*`,
/// `{"roles": [...]}` for `property.*`, `None` where there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Position in the log, assigned by the store (increasing; 0 when
    /// passed in).
    pub seq: u64,
    /// When the change was made (UTC, microsecond precision once stored).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who made it.
    pub actor: Actor,
    /// What it did.
    pub action: AuditAction,
    /// The registration changed.
    pub registration: String,
    /// The property, for `property.*` actions.
    pub property: Option<String>,
    /// The state before (masked), if any.
    pub before: Option<Value>,
    /// The state after (masked), if any.
    pub after: Option<Value>,
}

impl AuditRecord {
    /// A record of `action` by `actor` on `registration`, made now, with no
    /// property, before or after (set them with the setters).
    pub fn new(actor: Actor, action: AuditAction, registration: impl Into<String>) -> Self {
        Self {
            seq: 0,
            at: OffsetDateTime::now_utc(),
            actor,
            action,
            registration: registration.into(),
            property: None,
            before: None,
            after: None,
        }
    }

    /// Sets [`property`](Self#structfield.property).
    pub fn property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    /// Sets [`before`](Self#structfield.before).
    pub fn before(mut self, before: Option<Value>) -> Self {
        self.before = before;
        self
    }

    /// Sets [`after`](Self#structfield.after).
    pub fn after(mut self, after: Option<Value>) -> Self {
        self.after = after;
        self
    }

    /// Sets [`at`](Self#structfield.at).
    pub fn at(mut self, at: OffsetDateTime) -> Self {
        self.at = at;
        self
    }

    /// The record as a store keeps it: `seq` assigned, `at` in UTC and cut
    /// to microseconds (what PostgreSQL keeps), so every store reads back
    /// exactly what it wrote.
    pub(crate) fn stored_as(mut self, seq: u64) -> Self {
        self.seq = seq;
        let at = self.at.to_offset(time::UtcOffset::UTC);
        let micros = at.nanosecond() / 1_000 * 1_000;
        self.at = at.replace_nanosecond(micros).unwrap_or(at);
        self
    }
}

/// Which audit records to read: newest first, optionally of one
/// registration and/or one property, older than a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Only records of this registration.
    pub registration: Option<String>,
    /// Only records whose `property` is this one.
    pub property: Option<String>,
    /// Only records with a `seq` below this one (the cursor of the next
    /// page is the last `seq` of the page before).
    pub before_seq: Option<u64>,
    /// At most this many records.
    pub limit: usize,
}

impl AuditQuery {
    /// The newest `limit` records, unfiltered.
    pub fn new(limit: usize) -> Self {
        Self {
            registration: None,
            property: None,
            before_seq: None,
            limit,
        }
    }

    /// Sets [`registration`](Self#structfield.registration).
    pub fn registration(mut self, registration: Option<String>) -> Self {
        self.registration = registration;
        self
    }

    /// Sets [`property`](Self#structfield.property).
    pub fn property(mut self, property: Option<String>) -> Self {
        self.property = property;
        self
    }

    /// Sets [`before_seq`](Self#structfield.before_seq).
    pub fn before_seq(mut self, before_seq: Option<u64>) -> Self {
        self.before_seq = before_seq;
        self
    }

    /// Whether a record passes the query's filters (not the limit).
    pub(crate) fn matches(&self, record: &AuditRecord) -> bool {
        self.registration
            .as_ref()
            .is_none_or(|r| *r == record.registration)
            && self
                .property
                .as_ref()
                .is_none_or(|p| record.property.as_ref() == Some(p))
            && self.before_seq.is_none_or(|s| record.seq < s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_has_the_api_json_shape_and_reads_back() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let record = AuditRecord::new(
            Actor::Property("p-1".into()),
            AuditAction::PropertyEnable,
            "quid-1",
        )
        .property("p-1")
        .after(Some(json!({"roles": ["reader"]})))
        .at(at.to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap()))
        .stored_as(7);
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(
            value,
            json!({
                "seq": 7, "at": "2023-11-14T22:13:20.123456Z", "actor": "property:p-1",
                "action": "property.enable", "registration": "quid-1", "property": "p-1",
                "before": null, "after": {"roles": ["reader"]},
            })
        );
        assert_eq!(
            serde_json::from_value::<AuditRecord>(value).unwrap(),
            record
        );
    }

    #[test]
    fn names_read_back_and_unknown_ones_are_refused() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
        }
        assert_eq!("platform".parse::<Actor>(), Ok(Actor::Platform));
        assert_eq!(
            "property:p:x".parse::<Actor>(),
            Ok(Actor::Property("p:x".into()))
        );
        for bad in ["", "admin", "property:", "Platform"] {
            assert!(bad.parse::<Actor>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "registration.rename".parse::<AuditAction>(),
            Err(UnknownName("registration.rename".into()))
        );
        assert!(serde_json::from_value::<Actor>(json!("someone")).is_err());
    }

    #[test]
    fn a_query_filters_by_registration_property_and_cursor() {
        let record = AuditRecord::new(Actor::Platform, AuditAction::PropertyUpdate, "q")
            .property("p")
            .stored_as(5);
        let query = |r: Option<&str>, p: Option<&str>, before: Option<u64>| {
            AuditQuery::new(1)
                .registration(r.map(str::to_owned))
                .property(p.map(str::to_owned))
                .before_seq(before)
                .matches(&record)
        };
        assert!(query(None, None, None));
        assert!(query(Some("q"), Some("p"), Some(6)));
        assert!(!query(Some("r"), None, None));
        assert!(!query(None, Some("o"), None));
        assert!(!query(None, None, Some(5)));
    }
}
