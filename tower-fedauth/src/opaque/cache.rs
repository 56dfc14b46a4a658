//! Answers of introspection and verification endpoints, cached per token.
//!
//! The key is a SHA-256 over the registration, the endpoint call's
//! configuration and the token, so the raw token is never a key (nor a log
//! field), two registrations never share an answer, and a changed
//! configuration never reuses an answer obtained under the old one.
//! Concurrent requests with the same key make one call, and all get its
//! answer or its error; a failed call is not cached.
//!
//! Each cache is bounded in bytes (`CachePolicy::introspection_max_bytes`,
//! `CachePolicy::verification_max_bytes`, 64 MiB each by default): answers
//! may be up to the fetch size cap each, so the bound is on what they keep
//! alive, not their number. An entry weighs the larger of the answer's
//! body and the estimate of its parsed JSON, plus the entry's own
//! bookkeeping.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::introspection::Introspected;
use crate::cache::{Cache, Shape};
use crate::error::AuthError;
use crate::weigh::{self, CacheSize};

/// Bytes an entry keeps alive besides its answer: the cache's entry, key
/// and expiry bookkeeping.
const ENTRY_OVERHEAD: usize = 256;

/// What a cached answer keeps alive, in bytes.
pub(crate) trait Weigh {
    /// The estimate.
    fn weigh(&self) -> usize;
}

impl Weigh for Arc<Value> {
    fn weigh(&self) -> usize {
        weigh::ARC + weigh::value(self)
    }
}

impl Weigh for Introspected {
    fn weigh(&self) -> usize {
        match self {
            Introspected::Active(fields) => weigh::ARC + weigh::map(fields),
            Introspected::Inactive => 0,
        }
    }
}

/// A cache key: SHA-256 of the token and what the answer depends on.
pub(crate) type Key = [u8; 32];

/// Hash `parts` into a key; each is length-prefixed, so two different lists
/// never hash the same input.
pub(crate) fn key<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Key {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Single-flight cache of endpoint answers with a lifetime per answer:
/// the crate's one cache shape, bounded by bytes alone.
#[derive(Clone)]
pub(crate) struct AnswerCache<T: Weigh + Clone + Send + Sync + 'static> {
    cache: Cache<Key, Weighed<T>, AuthError>,
}

/// An answer and the size of the body it was read from.
#[derive(Clone)]
struct Weighed<T> {
    value: T,
    body: usize,
}

/// What an answer typically weighs (sizes the cache, bounds nothing).
const TYPICAL_BYTES: u64 = 2048;

impl<T: Weigh + Clone + Send + Sync + 'static> AnswerCache<T> {
    /// `label`: the `cache` label of its metrics; `max_bytes`: the bound on
    /// the weight of what it keeps.
    pub(crate) fn new(label: &'static str, max_bytes: u64) -> Self {
        let shape = Shape {
            metric: Some(label),
            ..Shape::bytes(max_bytes, TYPICAL_BYTES)
        };
        let weigh = |_: &Key, answer: Option<&Weighed<T>>, _: Option<&AuthError>| {
            ENTRY_OVERHEAD + answer.map_or(0, |a| a.body.max(a.value.weigh()))
        };
        Self {
            cache: Cache::new(shape, weigh),
        }
    }

    /// What the cache holds now.
    pub(crate) fn size(&self) -> CacheSize {
        self.cache.size()
    }

    /// The cached answer for `key`, or the one `fetch` gets, with how long
    /// to keep it (zero: only for the requests already waiting) and the
    /// size of the body it was read from.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: Key, fetch: F) -> Result<T, AuthError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(T, Duration, usize), AuthError>>,
    {
        let load = || async {
            let (value, ttl, body) = fetch().await?;
            Ok((Weighed { value, body }, ttl))
        };
        self.cache.get_or_load(&key, load).await.map(|a| a.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Answers of about 10 KB each through a cache bounded at 50 000 bytes:
    /// at most four are kept, each weighing what its parsed JSON holds even
    /// when its body was small (a compressed or terse answer).
    #[tokio::test]
    async fn answers_past_the_byte_bound_are_evicted() {
        let cache = AnswerCache::<Arc<Value>>::new("verification", 50_000);
        let answer = Arc::new(json!({"uid": "u", "blob": "b".repeat(10_000)}));
        let one = ENTRY_OVERHEAD + answer.weigh();
        assert!((10_000..12_000).contains(&one), "{one}");
        for i in 0u8..20 {
            let fetched = answer.clone();
            let got = cache
                .get_or_fetch(key([[i].as_slice()]), || async {
                    Ok((fetched.clone(), Duration::from_secs(60), 100))
                })
                .await;
            assert_eq!(got.unwrap(), answer);
            let size = cache.size();
            assert!(size.within_bound(), "after {i}: {size:?}");
            assert!(size.entries <= 4, "after {i}: {size:?}");
            assert_eq!(size.weighted_bytes, size.entries * one as u64);
        }
        // A body larger than its parsed form weighs the body.
        let cache = AnswerCache::<Introspected>::new("introspection", 50_000);
        let got = cache
            .get_or_fetch(key([b"x".as_slice()]), || async {
                Ok((Introspected::Inactive, Duration::from_secs(60), 30_000))
            })
            .await;
        assert!(matches!(got, Ok(Introspected::Inactive)));
        let size = cache.size();
        assert_eq!(size.weighted_bytes, (ENTRY_OVERHEAD + 30_000) as u64);
    }
}
