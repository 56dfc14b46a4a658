//! The one shape of every cache of what another service answered: key
//! sets and discovery documents, userinfo, introspection and verification
//! answers, the HTTP registry's registrations and the user directory's
//! records.
//!
//! What every such cache shares ([`Cache`]):
//!
//! - **bounded in bytes**: each entry weighs what it keeps alive (its
//!   weigher, from the crate's size estimates), at least
//!   `max_bytes / max_entries`, so the byte bound also bounds the count;
//!   eviction happens inline on insert (quick_cache, scan resistant), so the
//!   bound holds at every moment;
//! - **expiry per entry**: a load says how long its value is fresh;
//! - **single flight**: concurrent lookups of one key that the cache cannot
//!   answer make one load, and every one of them gets its outcome — value,
//!   absence or failure — whatever its lifetime;
//! - **failures are not kept**, unless the instance sets a failure back-off:
//!   then a failure answers its key for that long instead of a new load;
//! - **stale-if-error**, when the instance sets a stale bound: while loads
//!   of a key fail, its last good value keeps serving that long past its
//!   freshness (and the load is given it, to revalidate it);
//! - **liveness**: each entry carries the [`Liveness`](crate::liveness)
//!   handle, which ends at its expiry or as soon as the cache lets go of it
//!   (evicted, replaced by a newer load, invalidated).
//!
//! No clock removes an entry past its lifetime: it answers nothing, the
//! next lookup of its key replaces it, and until then it is weighed within
//! the bound like any other. The outcome of a load that is not to be kept
//! (no lifetime, "absent", an error without back-off) stays the same way,
//! so that every lookup that waited for that load reads it.
//!
//! What each instance configures ([`Shape`]): the bounds (bytes, entries),
//! the stale bound and the failure back-off (both off by default), its
//! metric label; and, when it is made, its key, value and error types and
//! its weigher. A load says the value's freshness ([`Remote`]).
//!
//! The registry cache and the verified-token cache (consulted on every
//! request) are quick_cache maps of their own with the same liveness
//! handle: their hit path is a shard read lock and no more.

mod load;
mod sightings;
mod slot;
#[cfg(test)]
mod tests;

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache as Map;
use quick_cache::{Equivalent, OptionsBuilder, Weighter};

use crate::liveness::{Lives, MarkDropped};
use crate::weigh::{CacheSize, saturate};

pub(crate) use sightings::Sightings;
pub(crate) use slot::Remote;
use slot::{Lifetimes, Slot};

/// What one cache configures: its bounds, stale bound, failure back-off
/// and metric label.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// The bound on what the entries weigh: estimated bytes.
    pub max_bytes: u64,
    /// The bound on their number: every entry weighs at least
    /// `max_bytes / max_entries`. `u64::MAX`: no bound but the bytes.
    pub max_entries: u64,
    /// What an entry typically weighs: sizes the map, bounds nothing.
    pub typical_bytes: u64,
    /// How long past its freshness a value still serves while loads of its
    /// key fail. Zero: off.
    pub max_stale: Duration,
    /// How long a failed load answers its key before a new load. Zero: a
    /// failure answers only the lookups that waited for its load.
    pub failure_backoff: Duration,
    /// The `cache` label of `fedauth_cache_requests_total` (a lookup that
    /// loads is a miss, any other a hit); `None`: not counted.
    pub metric: Option<&'static str>,
}

impl Shape {
    /// Bounded by `max_bytes` alone, entries of about `typical_bytes`; no
    /// stale serving, no failure back-off, not counted.
    pub(crate) fn bytes(max_bytes: u64, typical_bytes: u64) -> Self {
        Self {
            max_bytes,
            max_entries: u64::MAX,
            typical_bytes,
            max_stale: Duration::ZERO,
            failure_backoff: Duration::ZERO,
            metric: None,
        }
    }

    /// Bounded by its number of entries alone: each weighs one.
    pub(crate) fn entries(max_entries: u64) -> Self {
        Self {
            max_entries,
            ..Self::bytes(max_entries, 1)
        }
    }

    /// The least an entry weighs.
    fn floor(&self) -> u64 {
        self.max_bytes / self.max_entries.max(1)
    }
}

/// At most this many shards: each holds an equal share of the bound, and
/// an entry heavier than its shard's share is answered but not kept, so a
/// share must hold the largest answer a fetch can bring (an eighth of the
/// default bounds does).
const MAX_SHARDS: usize = 8;

/// An entry weighs what its slot says.
#[derive(Clone, Copy)]
struct ByWeight;

impl<K, V, E> Weighter<K, Arc<Slot<V, E>>> for ByWeight {
    fn weight(&self, _: &K, slot: &Arc<Slot<V, E>>) -> u64 {
        u64::from(slot.weight())
    }
}

/// Keys are hashed with a fast keyed hash, seeded per cache.
type Hashing = foldhash::quality::RandomState;

type Entries<K, V, E> = Map<K, Arc<Slot<V, E>>, ByWeight, Hashing, MarkDropped<K, Slot<V, E>>>;

/// What an entry weighs, in bytes, from its key, its value and its failure.
type Weigh<K, V, E> = dyn Fn(&K, Option<&V>, Option<&E>) -> usize + Send + Sync;

struct Inner<K, V, E> {
    entries: Entries<K, V, E>,
    shape: Shape,
    weigh: Box<Weigh<K, V, E>>,
}

/// See the module documentation. Cheap to clone; clones share the entries.
pub(crate) struct Cache<K, V, E> {
    inner: Arc<Inner<K, V, E>>,
}

impl<K, V, E> Clone for Cache<K, V, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<K, V, E> Cache<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// An empty cache of `shape`, its entries weighed by `weigh` (bytes;
    /// the floor of `shape` applies on top).
    pub(crate) fn new<W>(shape: Shape, weigh: W) -> Self
    where
        W: Fn(&K, Option<&V>, Option<&E>) -> usize + Send + Sync + 'static,
    {
        let per_entry = shape.typical_bytes.max(shape.floor()).max(1);
        let items = (shape.max_bytes / per_entry).clamp(1, shape.max_entries.max(1));
        let items = usize::try_from(items).unwrap_or(usize::MAX);
        // Shards share the bound equally: a multiple of every shard count
        // (a power of two up to 8) keeps their sum within it.
        let capacity = match shape.max_bytes {
            n if n >= MAX_SHARDS as u64 => n - n % MAX_SHARDS as u64,
            n => n,
        };
        // A lone entry weighs the whole bound: admit it, as quick_cache
        // otherwise keeps a share of each shard for entries seen twice.
        let hot = if shape.max_entries <= 1 { 1.0 } else { 0.97 };
        let options = OptionsBuilder::new()
            .estimated_items_capacity(items)
            .weight_capacity(capacity)
            .hot_allocation(hot)
            .shards(MAX_SHARDS)
            .build();
        let lifecycle = MarkDropped::default();
        let entries = match options {
            Ok(options) => Map::with_options(options, ByWeight, Hashing::default(), lifecycle),
            Err(_) => Map::with(items, capacity, ByWeight, Hashing::default(), lifecycle),
        };
        Self {
            inner: Arc::new(Inner {
                entries,
                shape,
                weigh: Box::new(weigh),
            }),
        }
    }

    /// Keep `value` for `key`, fresh for `fresh`, in place of what it held.
    pub(crate) fn insert(&self, key: K, value: V, fresh: Duration) {
        let slot = self.weighed(&key, Slot::holding(value, fresh, Instant::now()));
        self.inner.entries.insert(key, slot);
    }

    /// Forget `key`: its next lookup loads.
    pub(crate) fn invalidate<Q>(&self, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        if let Some((_, slot)) = self.inner.entries.remove(key) {
            slot.liveness().drop_now();
        }
    }

    /// Forget every key.
    pub(crate) fn invalidate_all(&self) {
        // Drained, not cleared: whoever keeps an entry sees it end.
        for (_, slot) in self.inner.entries.drain() {
            slot.liveness().drop_now();
        }
    }

    /// What the cache holds now: entries (those past their lifetime count
    /// until they are evicted or replaced), their weight, the bound.
    pub(crate) fn size(&self) -> CacheSize {
        let entries = &self.inner.entries;
        CacheSize {
            entries: entries.len() as u64,
            weighted_bytes: entries.weight(),
            max_bytes: self.inner.shape.max_bytes,
        }
    }

    /// Number of entries held.
    pub(crate) fn len(&self) -> u64 {
        self.inner.entries.len() as u64
    }

    /// `slot` for `key`, weighed.
    fn weighed(&self, key: &K, slot: Slot<V, E>) -> Arc<Slot<V, E>> {
        let bytes = (self.inner.weigh)(key, slot.value(), slot.error());
        let floor = usize::try_from(self.inner.shape.floor()).unwrap_or(usize::MAX);
        Arc::new(slot.weighed(saturate(bytes.max(floor))))
    }

    fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            max_stale: self.inner.shape.max_stale,
            failure_backoff: self.inner.shape.failure_backoff,
        }
    }

    /// Count a lookup, if the shape names a metric.
    fn count(&self, hit: bool) {
        if let Some(label) = self.inner.shape.metric {
            crate::metrics::cache(label, hit);
        }
    }
}
