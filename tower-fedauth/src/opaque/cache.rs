//! Answers of introspection and verification endpoints, cached per token.
//!
//! The key is a SHA-256 over the registration, the endpoint call's
//! configuration and the token, so the raw token is never a key (nor a log
//! field), two registrations never share an answer, and a changed
//! configuration never reuses an answer obtained under the old one.
//! Concurrent requests with the same key make one call (`try_get_with`);
//! a failed call is not cached.
//!
//! Each cache is bounded in bytes (`CachePolicy::introspection_max_bytes`,
//! `CachePolicy::verification_max_bytes`, 64 MiB each by default): answers
//! may be up to the fetch size cap each, so the bound is on what they keep
//! alive, not their number. An entry weighs the larger of the answer's
//! body and the estimate of its parsed JSON, plus the entry's own
//! bookkeeping.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::introspection::Introspected;
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

#[derive(Clone)]
struct Entry<T> {
    value: T,
    ttl: Duration,
    weight: u32,
}

/// Each entry lives for the time its answer allows.
struct PerEntry;

impl<T> moka::Expiry<Key, Entry<T>> for PerEntry {
    fn expire_after_create(&self, _key: &Key, entry: &Entry<T>, _at: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Single-flight cache of endpoint answers with a lifetime per answer.
#[derive(Clone)]
pub(crate) struct AnswerCache<T: Weigh + Clone + Send + Sync + 'static> {
    cache: moka::future::Cache<Key, Entry<T>>,
    label: &'static str,
    max_bytes: u64,
}

impl<T: Weigh + Clone + Send + Sync + 'static> AnswerCache<T> {
    /// `label`: the `cache` label of its metrics; `max_bytes`: the bound on
    /// the weight of what it keeps.
    pub(crate) fn new(label: &'static str, max_bytes: u64) -> Self {
        Self {
            label,
            max_bytes,
            cache: moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_key: &Key, entry: &Entry<T>| entry.weight)
                .expire_after(PerEntry)
                .build(),
        }
    }

    /// What the cache holds now, pending evictions done.
    pub(crate) async fn size(&self) -> CacheSize {
        self.cache.run_pending_tasks().await;
        CacheSize {
            entries: self.cache.entry_count(),
            weighted_bytes: self.cache.weighted_size(),
            max_bytes: self.max_bytes,
        }
    }

    /// The cached answer for `key`, or the one `fetch` gets, with how long
    /// to keep it (zero: only for the requests already waiting) and the
    /// size of the body it was read from.
    pub(crate) async fn get_or_fetch<F>(&self, key: Key, fetch: F) -> Result<T, AuthError>
    where
        F: Future<Output = Result<(T, Duration, usize), AuthError>>,
    {
        let mut missed = false;
        let result = self
            .cache
            .try_get_with(key, async {
                missed = true;
                let (value, ttl, size) = fetch.await?;
                let weight = weigh::saturate(ENTRY_OVERHEAD + size.max(value.weigh()));
                Ok::<_, AuthError>(Entry { value, ttl, weight })
            })
            .await
            .map(|entry| entry.value)
            .map_err(|e| (*e).clone());
        if missed {
            // Evict now what the new answer pushed past the bound, rather
            // than after the cache's next batch of writes.
            self.cache.run_pending_tasks().await;
        }
        crate::metrics::cache(self.label, !missed);
        result
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
                .get_or_fetch(key([[i].as_slice()]), async move {
                    Ok((fetched, Duration::from_secs(60), 100))
                })
                .await;
            assert_eq!(got.unwrap(), answer);
            let size = cache.size().await;
            assert!(size.within_bound(), "after {i}: {size:?}");
            assert!(size.entries <= 4, "after {i}: {size:?}");
            assert_eq!(size.weighted_bytes, size.entries * one as u64);
        }
        // A body larger than its parsed form weighs the body.
        let cache = AnswerCache::<Introspected>::new("introspection", 50_000);
        let got = cache
            .get_or_fetch(key([b"x".as_slice()]), async {
                Ok((Introspected::Inactive, Duration::from_secs(60), 30_000))
            })
            .await;
        assert!(matches!(got, Ok(Introspected::Inactive)));
        let size = cache.size().await;
        assert_eq!(size.weighted_bytes, (ENTRY_OVERHEAD + 30_000) as u64);
    }
}
