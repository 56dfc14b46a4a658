//! The one handle a cache gives whoever keeps one of its answers past the
//! lookup (the per-thread hot set): whether a lookup now would still return
//! that answer. It ends at the answer's expiry, or as soon as the cache
//! lets go of it — evicted to make room, removed, or invalidated — so a
//! kept answer never outlives what the cache itself would answer.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use quick_cache::Lifecycle;
use quick_cache::sync::DefaultLifecycle;

/// Expiry plus a flag the cache sets when it lets go.
#[derive(Debug)]
pub(crate) struct Liveness {
    expires_at: Instant,
    dropped: AtomicBool,
}

impl Liveness {
    /// Live until `expires_at`, unless dropped before.
    pub(crate) fn until(expires_at: Instant) -> Self {
        Self {
            expires_at,
            dropped: AtomicBool::new(false),
        }
    }

    /// Unexpired at `now` and still held by its cache.
    pub(crate) fn is_live(&self, now: Instant) -> bool {
        now < self.expires_at && !self.dropped.load(Ordering::Acquire)
    }

    /// When it expires.
    pub(crate) fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// The cache let go of the answer.
    pub(crate) fn drop_now(&self) {
        self.dropped.store(true, Ordering::Release);
    }
}

/// A cached value that carries its [`Liveness`].
pub(crate) trait Lives {
    /// Its handle.
    fn liveness(&self) -> &Liveness;
}

/// quick_cache's default lifecycle (evicted items are dropped after the
/// shard's lock is released), marking each evicted value as dropped.
pub(crate) struct MarkDropped<K, V>(DefaultLifecycle<K, Arc<V>>, PhantomData<fn() -> K>);

impl<K, V> Default for MarkDropped<K, V> {
    fn default() -> Self {
        Self(DefaultLifecycle::default(), PhantomData)
    }
}

impl<K, V> Clone for MarkDropped<K, V> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<K, V: Lives> Lifecycle<K, Arc<V>> for MarkDropped<K, V> {
    type RequestState = <DefaultLifecycle<K, Arc<V>> as Lifecycle<K, Arc<V>>>::RequestState;

    fn begin_request(&self) -> Self::RequestState {
        self.0.begin_request()
    }

    fn on_evict(&self, state: &mut Self::RequestState, key: K, val: Arc<V>) {
        val.liveness().drop_now();
        self.0.on_evict(state, key, val);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn ends_at_expiry_or_when_dropped() {
        let now = Instant::now();
        let live = Liveness::until(now + Duration::from_secs(1));
        assert!(live.is_live(now));
        assert!(!live.is_live(now + Duration::from_secs(1)));
        live.drop_now();
        assert!(!live.is_live(now));
    }
}
