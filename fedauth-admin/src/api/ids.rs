//! What the API issues: QUIDs (`quid-` and 160 random bits from the
//! operating system, in lower-case base32) and opaque page cursors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;

/// Random bytes of a QUID: 160 bits, more than the contract's 128, and a
/// whole number of base32 characters (32).
const QUID_BYTES: usize = 20;
/// RFC 4648 base32, lower-case (ids are compared exactly; one case only).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A fresh QUID, or `None` if the operating system's generator failed.
pub(crate) fn new_quid() -> Option<String> {
    let mut bytes = [0u8; QUID_BYTES];
    OsRng.try_fill_bytes(&mut bytes).ok()?;
    let mut out = String::from("quid-");
    // Five bytes make eight characters of five bits each.
    for chunk in bytes.chunks(5) {
        let bits = chunk.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        for i in (0..8).rev() {
            out.push(char::from(BASE32[(bits >> (i * 5) & 31) as usize]));
        }
    }
    Some(out)
}

/// What a cursor points after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// Registrations: ids after this one.
    After(String),
    /// Audit records: older than this sequence number.
    Before(u64),
}

impl Cursor {
    /// The opaque form a client sends back.
    pub(crate) fn encode(&self) -> String {
        let plain = match self {
            Cursor::After(id) => format!("r:{id}"),
            Cursor::Before(seq) => format!("a:{seq}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// The id of a registrations cursor.
    pub(crate) fn after(self) -> Option<String> {
        match self {
            Cursor::After(id) => Some(id),
            Cursor::Before(_) => None,
        }
    }

    /// The sequence number of an audit cursor.
    pub(crate) fn before(self) -> Option<u64> {
        match self {
            Cursor::Before(seq) => Some(seq),
            Cursor::After(_) => None,
        }
    }

    /// A cursor this API issued, or `None`.
    pub(crate) fn decode(text: &str) -> Option<Cursor> {
        let plain = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        match plain.split_once(':')? {
            ("r", id) if !id.is_empty() => Some(Cursor::After(id.to_owned())),
            ("a", seq) => seq.parse().ok().map(Cursor::Before),
            _ => None,
        }
    }
}

/// One page of what a store answered when asked for `limit + 1`: the
/// first `limit`, and the cursor after the last of them when there is more.
pub(crate) fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> Cursor,
) -> (Vec<T>, Option<String>) {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| items.last().map(|i| cursor(i).encode()))
        .flatten();
    (items, next)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn quids_are_long_random_lower_case_base32() {
        let ids: HashSet<String> = (0..1000).map(|_| new_quid().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let body = id.strip_prefix("quid-").unwrap();
            assert_eq!(body.len(), 32);
            assert!(body.bytes().all(|b| BASE32.contains(&b)), "{id}");
        }
        // Every character position takes many values: the bits are used.
        for i in 0..32 {
            let seen: HashSet<u8> = ids.iter().map(|id| id.as_bytes()[5 + i]).collect();
            assert!(seen.len() > 16, "position {i}: {seen:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        for c in [Cursor::After("quid-a:b".into()), Cursor::Before(42)] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for junk in [
            "",
            "!!",
            "cjo",
            &URL_SAFE_NO_PAD.encode("a:x"),
            &URL_SAFE_NO_PAD.encode("z:1"),
        ] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }
}
