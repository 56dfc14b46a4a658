//! Answers of introspection and verification endpoints, cached per token.
//!
//! The key is a SHA-256 over the registration, the endpoint call's
//! configuration and the token, so the raw token is never a key (nor a log
//! field), two registrations never share an answer, and a changed
//! configuration never reuses an answer obtained under the old one.
//! Concurrent requests with the same key make one call (`try_get_with`);
//! a failed call is not cached.

use std::future::Future;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::AuthError;

/// Bytes of answers kept at most, per kind: answers may be up to the fetch
/// size cap each, so the bound is on their total size, not their number.
const MAX_BYTES: u64 = 64 * 1024 * 1024;

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
pub(crate) struct AnswerCache<T: Clone + Send + Sync + 'static> {
    cache: moka::future::Cache<Key, Entry<T>>,
    label: &'static str,
}

impl<T: Clone + Send + Sync + 'static> AnswerCache<T> {
    /// `label`: the `cache` label of its metrics.
    pub(crate) fn new(label: &'static str) -> Self {
        Self {
            label,
            cache: moka::future::Cache::builder()
                .max_capacity(MAX_BYTES)
                .weigher(|_key: &Key, entry: &Entry<T>| entry.weight)
                .expire_after(PerEntry)
                .build(),
        }
    }

    /// The cached answer for `key`, or the one `fetch` gets, with how long
    /// to keep it (zero: only for the requests already waiting) and its
    /// size in bytes.
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
                let weight = u32::try_from(size.saturating_add(64)).unwrap_or(u32::MAX);
                Ok::<_, AuthError>(Entry { value, ttl, weight })
            })
            .await
            .map(|entry| entry.value)
            .map_err(|e| (*e).clone());
        crate::metrics::cache(self.label, !missed);
        result
    }
}
