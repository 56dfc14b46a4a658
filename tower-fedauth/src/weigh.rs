//! Weights of cached answers, and what the caches hold.
//!
//! Every cache of what an identity provider answered is bounded in bytes,
//! not only in entries: an application runs its own IdP, so one answer can
//! be as large as the fetch size cap allows, and a bound on the number of
//! entries alone lets a few hundred large answers take the server's memory.
//! A weight estimates the bytes an entry keeps alive — its strings, arrays
//! and JSON objects as they sit in memory, the allocator's cost per
//! allocation, and the cache's own bookkeeping — and errs high rather than
//! low. The one JSON weigher here serves every cache.

use std::mem::size_of;

use serde_json::{Map, Value};

use crate::claims::Claims;
use crate::context::{Principal, TokenFacts};

/// What the allocator keeps per heap allocation besides the bytes asked
/// for (its header and the rounding to its size classes), on average.
pub(crate) const ALLOCATION: usize = 16;

/// A reference-counted allocation's counts.
pub(crate) const ARC: usize = 2 * size_of::<usize>() + ALLOCATION;

/// Slots of one B-tree node of a JSON object: up to 11 members, and a node
/// is allocated whole however few it holds.
const NODE_MEMBERS: usize = 11;

/// One member's slot in a node: its key and its value.
const MEMBER_SLOT: usize = size_of::<String>() + size_of::<Value>();

/// A node as allocated: 11 member slots and its header.
const NODE: usize = NODE_MEMBERS * MEMBER_SLOT + 16 + ALLOCATION;

/// Nodes are between half and entirely full: a member costs on average
/// about one and a half slots.
const MEMBER: usize = MEMBER_SLOT + MEMBER_SLOT / 2;

/// Heap bytes a string owns.
pub(crate) fn string_heap(s: &str, capacity: usize) -> usize {
    match capacity.max(s.len()) {
        0 => 0,
        n => n + ALLOCATION,
    }
}

fn owned(s: &String) -> usize {
    string_heap(s, s.capacity())
}

/// Heap bytes a JSON value owns (its own slot not counted).
fn heap(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => owned(s),
        Value::Array(items) => {
            let slots = match items.capacity() {
                0 => 0,
                n => n * size_of::<Value>() + ALLOCATION,
            };
            slots + items.iter().map(heap).sum::<usize>()
        }
        Value::Object(map) => members(map.len(), map.iter()),
    }
}

/// Heap bytes of a JSON object's members: its nodes (at least one whole
/// node when it has any member), and what each key and value owns.
fn members<'a>(count: usize, members: impl Iterator<Item = (&'a String, &'a Value)>) -> usize {
    if count == 0 {
        return 0;
    }
    let nodes = (count * MEMBER).max(NODE);
    nodes
        + members
            .map(|(key, value)| owned(key) + heap(value))
            .sum::<usize>()
}

/// Bytes a JSON value keeps alive.
pub(crate) fn value(v: &Value) -> usize {
    size_of::<Value>() + heap(v)
}

/// Bytes a JSON object keeps alive.
pub(crate) fn map(m: &Map<String, Value>) -> usize {
    size_of::<Map<String, Value>>() + members(m.len(), m.iter())
}

/// Bytes a principal keeps alive: the subject, username, email and
/// attributes, whether they came from the token or from userinfo.
pub(crate) fn principal(p: &Principal) -> usize {
    size_of::<Principal>()
        + owned(&p.subject)
        + p.username.as_ref().map_or(0, owned)
        + p.email.as_ref().map_or(0, owned)
        + members(p.attributes.len(), p.attributes.iter())
}

/// Bytes a claim set keeps alive: the map, and the typed view of the
/// standard claims, which copies `iss`, `sub`, `jti` and `aud` when it is
/// read (counted as if it had been).
pub(crate) fn claims(c: &Claims) -> usize {
    let m = c.as_map();
    let text = |name: &str| m.get(name).and_then(Value::as_str).map_or(0, str::len);
    let copied: usize = ["iss", "sub", "jti"]
        .into_iter()
        .map(|name| string_heap("", text(name)))
        .sum();
    let audiences = match m.get("aud") {
        Some(Value::String(s)) => size_of::<String>() + ALLOCATION + string_heap(s, 0),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| size_of::<String>() + a.as_str().map_or(0, |s| string_heap(s, 0)))
            .sum::<usize>()
            .saturating_add(ALLOCATION),
        _ => 0,
    };
    ARC + size_of::<Value>() + size_of::<crate::StandardClaims>() + 8 + map(m) + copied + audiences
}

/// Bytes what a token established keeps alive: its issuer, principal and
/// claims.
pub(crate) fn facts(f: &TokenFacts) -> usize {
    ARC + size_of::<TokenFacts>()
        + f.issuer.as_ref().map_or(0, owned)
        + principal(&f.principal)
        + claims(&f.claims)
}

/// A weight as the caches take it: saturated to `u32`.
pub(crate) fn saturate(bytes: usize) -> u32 {
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// What one cache holds, weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheSize {
    /// Entries held.
    pub entries: u64,
    /// Their weight: the estimated bytes they keep alive.
    pub weighted_bytes: u64,
    /// The bound on that weight (the setting in force).
    pub max_bytes: u64,
}

impl CacheSize {
    /// Whether the weight is within the bound.
    pub fn within_bound(&self) -> bool {
        self.weighted_bytes <= self.max_bytes
    }
}

/// What every cache of an [`Authenticator`](crate::Authenticator) that
/// holds what an identity provider answered holds now
/// ([`Authenticator::cache_sizes`](crate::Authenticator::cache_sizes)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheSizes {
    /// Key sets, one per URL.
    pub key_sets: CacheSize,
    /// Discovery documents, one per URL.
    pub discovery: CacheSize,
    /// Userinfo answers, one per token.
    pub userinfo: CacheSize,
    /// Introspection answers, one per token.
    pub introspection: CacheSize,
    /// Verification endpoint answers, one per token.
    pub verification: CacheSize,
    /// Verified tokens and what each established (claims, principal,
    /// the userinfo values copied into it).
    pub tokens: CacheSize,
}

impl CacheSizes {
    /// Whether every cache's weight is within its bound.
    pub fn within_bounds(&self) -> bool {
        [
            self.key_sets,
            self.discovery,
            self.userinfo,
            self.introspection,
            self.verification,
            self.tokens,
        ]
        .iter()
        .all(CacheSize::within_bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_weighs_at_least_the_bytes_it_holds() {
        let big = "x".repeat(100_000);
        let v = json!({"sub": "alice", "name": big, "list": [big, 1, null]});
        let w = value(&v);
        assert!(w >= 200_000 + 2 * ALLOCATION, "{w}");
        assert!(
            w < 200_000 + 2_000,
            "{w}: an honest estimate, not a multiple"
        );
        // A small object costs at least the node it is allocated in.
        let small = json!({"a": 1});
        assert_eq!(value(&small), size_of::<Value>() + NODE + 1 + ALLOCATION);
        assert_eq!(value(&json!(null)), size_of::<Value>());
        // Many members: more than one slot each.
        let mut many = Map::new();
        for i in 0..100 {
            many.insert(format!("k{i:03}"), json!(i));
        }
        assert!(map(&many) >= 100 * MEMBER_SLOT + 100 * (4 + ALLOCATION));
    }

    #[test]
    fn principal_counts_what_userinfo_put_in_it() {
        let p = Principal {
            subject: "alice".into(),
            username: Some("u".repeat(50_000)),
            email: Some("e".repeat(10_000)),
            attributes: [("k".to_owned(), json!("v".repeat(5_000)))].into(),
        };
        assert!(principal(&p) >= 65_000, "{}", principal(&p));
        let facts = TokenFacts {
            issuer: Some("https://idp.example".into()),
            principal: p,
            claims: Claims::from_map(
                json!({"sub": "alice", "aud": ["a", "b"], "x": "y".repeat(7_000)})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            confirmation: Default::default(),
        };
        assert!(self::facts(&facts) >= 72_000, "{}", self::facts(&facts));
    }
}
