//! A cache in front of any registry source: every request names a
//! registration, so the source must not be asked each time — nor be
//! floodable with random ids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use quick_cache::UnitWeighter;
use quick_cache::sync::Cache;

use super::resolved::Resolved;
use super::{RegistrySource, SourceError};
use crate::liveness::{Liveness, Lives, MarkDropped};
use crate::metrics::CacheCounters;
use crate::registration::{Registration, check_id};

/// How long answers are reused and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// How long a found registration is reused: the delay before a change
    /// at the source (e.g. `enabled = false`) takes effect. Default 30 s.
    pub ttl: Duration,
    /// How long "no such id" is reused, so unknown ids cost the source one
    /// lookup per id per period. Default 10 s.
    pub negative_ttl: Duration,
    /// Most entries kept (found and unknown together): bounds memory under
    /// a flood of random ids. Default 10 000.
    pub max_entries: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            negative_ttl: Duration::from_secs(10),
            max_entries: 10_000,
        }
    }
}

crate::setters::setters!(CacheConfig {
    ttl: Duration,
    negative_ttl: Duration,
    max_entries: u64,
});

/// A cached answer and when it stops being used.
#[derive(Debug)]
struct Loaded {
    /// `None`: the id is unknown (a negative entry).
    found: Option<Arc<Resolved>>,
    /// Its expiry, ended early once the cache lets go of it (evicted to
    /// make room, or removed by an invalidation).
    liveness: Liveness,
}

impl Loaded {
    fn new(found: Option<Arc<Resolved>>, expires_at: Instant) -> Self {
        Self {
            found,
            liveness: Liveness::until(expires_at),
        }
    }
}

impl Lives for Loaded {
    fn liveness(&self) -> &Liveness {
        &self.liveness
    }
}

/// An answer of the cache as something else keeps it (the per-thread hot
/// set): whether a lookup now would still return it.
#[derive(Debug, Clone)]
pub(crate) struct Answer(Arc<Loaded>);

impl Answer {
    /// Unexpired at `now` and still held by the cache (not evicted, not
    /// removed by [`CachedRegistry::invalidate`] or
    /// [`CachedRegistry::invalidate_all`]).
    pub(crate) fn is_current(&self, now: Instant) -> bool {
        self.0.liveness.is_live(now)
    }

    /// The registration answered, `None` for an unknown id.
    pub(crate) fn found(&self) -> Option<&Arc<Resolved>> {
        self.0.found.as_ref()
    }
}

/// The answers kept. quick_cache: a hit is a read lock on one shard and an
/// atomic mark, which matters because every request makes one.
type Entries = Cache<
    String,
    Arc<Loaded>,
    UnitWeighter,
    foldhash::quality::RandomState,
    MarkDropped<String, Loaded>,
>;

/// One source lookup in flight, shared by every request waiting on it.
type Load = Shared<BoxFuture<'static, Result<Arc<Loaded>, SourceError>>>;

/// A lookup in flight and its number, so that only that lookup removes it.
struct InFlight {
    number: u64,
    load: Load,
}

struct Inner {
    source: Arc<dyn RegistrySource>,
    config: CacheConfig,
    entries: Entries,
    /// Lookups in flight by id. Also serialises "a lookup finished" with
    /// invalidation, so an answer read before an invalidation is never
    /// stored after it.
    loads: Mutex<HashMap<String, InFlight>>,
    /// Numbers lookups.
    started: AtomicU64,
    /// Bumped by every invalidation.
    generation: AtomicU64,
    lookups: CacheCounters,
}

impl Inner {
    /// The cached answer for `id`, if it has not expired.
    fn fresh(&self, id: &str) -> Option<Option<Arc<Resolved>>> {
        self.fresh_at(id, Instant::now())
    }

    /// [`Inner::fresh`] at a time the caller read.
    fn fresh_at(&self, id: &str, now: Instant) -> Option<Option<Arc<Resolved>>> {
        self.fresh_until(id, now).map(|(found, _)| found)
    }

    /// The same, with the answer as the cache holds it.
    fn fresh_until(&self, id: &str, now: Instant) -> Option<(Option<Arc<Resolved>>, Answer)> {
        let hit = self.entries.get(id)?;
        (now < hit.liveness.expires_at()).then(|| (hit.found.clone(), Answer(hit)))
    }

    fn loads(&self) -> MutexGuard<'_, HashMap<String, InFlight>> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (single insert / remove calls), so a poisoned lock is still usable.
        self.loads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Take lookup `number` of `id` off the in-flight map (if it is still
    /// there); the lock stays held for what the caller does next.
    fn finish(&self, id: &str, number: u64) -> MutexGuard<'_, HashMap<String, InFlight>> {
        let mut loads = self.loads();
        if loads.get(id).is_some_and(|f| f.number == number) {
            loads.remove(id);
        }
        loads
    }
}

/// A [`RegistrySource`] behind a bounded cache with single-flight lookups:
/// concurrent requests for one cold id make one source call (and all get
/// its answer or its error), unknown ids are cached briefly, and source
/// errors are never cached (the next request tries again).
///
/// Ids that no registration can have (empty, over 128 bytes, not visible
/// ASCII) are answered `None` without touching the source or the cache.
///
/// A source lookup runs as its own tokio task when a runtime is present,
/// so it finishes (and its answer is kept) even if every request waiting
/// on it is dropped.
#[derive(Clone)]
pub struct CachedRegistry {
    inner: Arc<Inner>,
}

impl CachedRegistry {
    /// Put a cache in front of `source`.
    pub fn new(source: Arc<dyn RegistrySource>, config: CacheConfig) -> Self {
        let max_entries = config.max_entries.max(1);
        let entries = Cache::with(
            usize::try_from(max_entries).unwrap_or(usize::MAX),
            max_entries,
            UnitWeighter,
            foldhash::quality::RandomState::default(),
            MarkDropped::default(),
        );
        Self {
            inner: Arc::new(Inner {
                source,
                config,
                entries,
                loads: Mutex::new(HashMap::new()),
                started: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                lookups: CacheCounters::new("registry"),
            }),
        }
    }

    /// The registration with this id, from the cache or the source.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Registration>>, SourceError> {
        let resolved = self.resolve(id).await?;
        Ok(resolved.map(|r| r.registration().clone()))
    }

    /// [`CachedRegistry::get`] with what requests derive from the
    /// registration, computed when it was loaded.
    pub(crate) async fn resolve(&self, id: &str) -> Result<Option<Arc<Resolved>>, SourceError> {
        if check_id(id).is_err() {
            return Ok(None);
        }
        let inner = &self.inner;
        if let Some(found) = inner.fresh(id) {
            inner.lookups.record(true);
            return Ok(found);
        }
        inner.lookups.record(false);
        let load = {
            let mut loads = inner.loads();
            // A lookup may have finished between the miss above and the lock.
            if let Some(found) = inner.fresh(id) {
                return Ok(found);
            }
            match loads.get(id) {
                Some(in_flight) => in_flight.load.clone(),
                None => {
                    let in_flight = start_load(inner, id.to_owned());
                    let load = in_flight.load.clone();
                    loads.insert(id.to_owned(), in_flight);
                    load
                }
            }
        };
        Ok(load.await?.found.clone())
    }

    /// The answer for `id` if the cache holds a fresh one at `now`, without
    /// waiting: the cache-hit path of a request. A hit is counted; a miss
    /// is not, because the request goes on to [`CachedRegistry::resolve`],
    /// which counts it. `id` comes from the `x-sc-auth` header, whose
    /// reading already applies the id rule (`check_id`), so it is not
    /// applied twice on the hit path.
    ///
    /// With the answer comes the cache's own handle on it.
    pub(crate) fn cached(&self, id: &str, now: Instant) -> Option<(Option<Arc<Resolved>>, Answer)> {
        debug_assert!(
            check_id(id).is_ok(),
            "the header reading applies the id rule"
        );
        let found = self.inner.fresh_until(id, now)?;
        self.inner.lookups.record(true);
        Some(found)
    }

    /// Count a hit answered from elsewhere on the registry's behalf (the
    /// per-thread hot set, which holds a fresh answer of this cache).
    pub(crate) fn count_hit(&self) {
        self.inner.lookups.record(true);
    }

    /// Forget one id, so the next lookup asks the source (after an edit).
    /// A lookup already in flight still answers the requests waiting on
    /// it, but its answer is not kept.
    pub fn invalidate(&self, id: &str) {
        let inner = &self.inner;
        let _loads = inner.loads();
        inner.generation.fetch_add(1, Ordering::SeqCst);
        if let Some((_, answer)) = inner.entries.remove(id) {
            answer.liveness.drop_now();
        }
    }

    /// Forget everything (after a bulk change at the source).
    pub fn invalidate_all(&self) {
        let inner = &self.inner;
        let _loads = inner.loads();
        inner.generation.fetch_add(1, Ordering::SeqCst);
        // Drained, not cleared: whoever keeps an answer sees it end.
        for (_, answer) in inner.entries.drain() {
            answer.liveness.drop_now();
        }
    }

    /// The source behind the cache.
    pub fn source(&self) -> &Arc<dyn RegistrySource> {
        &self.inner.source
    }

    /// Number of cached entries (found and unknown; expired ones count
    /// until they are looked up again or evicted).
    pub fn entry_count(&self) -> u64 {
        self.inner.entries.len() as u64
    }
}

/// Ask the source for `id`, once for every request that wants it now.
/// The lookup holds the cache weakly: the in-flight map holds the lookup,
/// so a strong reference would be a cycle.
fn start_load(inner: &Arc<Inner>, id: String) -> InFlight {
    let number = inner.started.fetch_add(1, Ordering::Relaxed);
    let generation = inner.generation.load(Ordering::SeqCst);
    let (source, config) = (inner.source.clone(), inner.config);
    let cache = Arc::downgrade(inner);
    let key = id.clone();
    let lookup = async move {
        let answer = source.get(&id).await;
        let Some(inner) = cache.upgrade() else {
            // The cache is gone: answer the waiters, keep nothing.
            return answer.map(|found| {
                Arc::new(Loaded::new(
                    found.map(|reg| Arc::new(Resolved::new(reg))),
                    Instant::now(),
                ))
            });
        };
        let (found, ttl) = match answer {
            Ok(Some(reg)) => (Some(Arc::new(Resolved::new(reg))), config.ttl),
            Ok(None) => (None, config.negative_ttl),
            Err(e) => {
                drop(inner.finish(&id, number));
                return Err(e);
            }
        };
        let loaded = Arc::new(Loaded::new(found, Instant::now() + ttl));
        let _loads = inner.finish(&id, number);
        if inner.generation.load(Ordering::SeqCst) == generation {
            inner.entries.insert(id, loaded.clone());
        }
        Ok(loaded)
    };
    let load = match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let task = runtime.spawn(lookup);
            let cache = Arc::downgrade(inner);
            async move {
                task.await.unwrap_or_else(|e| {
                    // The task panicked or its runtime shut down before it
                    // took itself off the map: do it here, so the next
                    // request starts a new lookup instead of this error.
                    if let Some(inner) = cache.upgrade() {
                        drop(inner.finish(&key, number));
                    }
                    Err(SourceError::unavailable(format!(
                        "the registry lookup did not finish: {e}"
                    )))
                })
            }
            .boxed()
            .shared()
        }
        Err(_) => lookup.boxed().shared(),
    };
    InFlight { number, load }
}

impl RegistrySource for CachedRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        Box::pin(CachedRegistry::get(self, id))
    }

    fn describe(&self) -> String {
        format!("cache in front of {}", self.inner.source.describe())
    }
}

impl std::fmt::Debug for CachedRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRegistry")
            .field("source", &self.inner.source.describe())
            .field("entries", &self.entry_count())
            .finish()
    }
}

#[cfg(test)]
mod tests;
