//! Registration ids: the one value a caller controls before anything is
//! verified, so it is checked before it is used as a key anywhere.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest registration id accepted: ids travel in a header and key caches.
pub const MAX_ID_LEN: usize = 128;

/// The id of an application registration (the "QUID" of `x-sc-auth`).
///
/// Only 1–128 visible ASCII characters are possible, so an id is always safe
/// to log and cheap to hash; a flood of junk ids cannot be made of huge keys.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(Arc<str>);

/// Why a string cannot be a [`RegistrationId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid registration id: {reason}")]
pub struct InvalidRegistrationId {
    /// What rule the id breaks, for the operator.
    pub reason: String,
}

impl RegistrationId {
    /// Check and wrap an id, so that nothing downstream meets an id that
    /// could not have come from a valid registry.
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidRegistrationId> {
        let id = id.as_ref();
        check_id(id).map_err(|reason| InvalidRegistrationId { reason })?;
        Ok(Self(Arc::from(id)))
    }

    /// The id as a string slice, for lookups and headers.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared id (a metrics label without a copy).
    pub(crate) fn shared(&self) -> &Arc<str> {
        &self.0
    }
}

/// The id rule, shared with lookups that want to reject junk ids cheaply.
pub(crate) fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_ID_LEN} are allowed",
            id.len()
        ));
    }
    if let Some(c) = id.chars().find(|c| !matches!(c, '\x21'..='\x7e')) {
        return Err(format!(
            "contains {c:?}; only visible ASCII characters (0x21-0x7E) are allowed"
        ));
    }
    Ok(())
}

impl fmt::Debug for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistrationId({:?})", &*self.0)
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Borrow<str> for RegistrationId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for RegistrationId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for RegistrationId {
    type Err = InvalidRegistrationId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for RegistrationId {
    type Error = InvalidRegistrationId;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for RegistrationId {
    type Error = InvalidRegistrationId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Serialize for RegistrationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegistrationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}
