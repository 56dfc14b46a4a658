//! A cache in front of any registry source: every request names a
//! registration, so the source must not be asked each time — nor be
//! floodable with random ids.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use moka::Expiry;
use moka::future::Cache;

use super::{RegistrySource, SourceError};
use crate::registration::{Registration, check_id};

/// Cached answer: `None` is a negative entry (the id is unknown).
type Entry = Option<Arc<Registration>>;

/// How long answers are reused and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Per-entry lifetime: positive and negative answers age differently.
struct TtlExpiry {
    ttl: Duration,
    negative_ttl: Duration,
}

impl TtlExpiry {
    fn of(&self, value: &Entry) -> Duration {
        if value.is_some() {
            self.ttl
        } else {
            self.negative_ttl
        }
    }
}

impl Expiry<String, Entry> for TtlExpiry {
    fn expire_after_create(&self, _: &String, value: &Entry, _: Instant) -> Option<Duration> {
        Some(self.of(value))
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.of(value))
    }
}

/// A [`RegistrySource`] behind a bounded cache with single-flight lookups:
/// concurrent requests for one cold id make one source call, unknown ids
/// are cached briefly, and source errors are never cached (the next request
/// tries again).
///
/// Ids that no registration can have (empty, over 128 bytes, not visible
/// ASCII) are answered `None` without touching the source or the cache.
#[derive(Clone)]
pub struct CachedRegistry {
    source: Arc<dyn RegistrySource>,
    cache: Cache<String, Entry>,
}

impl CachedRegistry {
    /// Put a cache in front of `source`.
    pub fn new(source: Arc<dyn RegistrySource>, config: CacheConfig) -> Self {
        let cache = Cache::builder()
            .max_capacity(config.max_entries)
            .expire_after(TtlExpiry {
                ttl: config.ttl,
                negative_ttl: config.negative_ttl,
            })
            .build();
        Self { source, cache }
    }

    /// The registration with this id, from the cache or the source.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Registration>>, SourceError> {
        if check_id(id).is_err() {
            return Ok(None);
        }
        let source = &self.source;
        let mut missed = false;
        let result = self
            .cache
            .try_get_with_by_ref(id, async {
                missed = true;
                source.get(id).await
            })
            .await
            .map_err(|shared: Arc<SourceError>| (*shared).clone());
        crate::metrics::cache("registry", !missed);
        result
    }

    /// Forget one id, so the next lookup asks the source (after an edit).
    pub async fn invalidate(&self, id: &str) {
        self.cache.invalidate(id).await;
    }

    /// Forget everything (after a bulk change at the source).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// The source behind the cache.
    pub fn source(&self) -> &Arc<dyn RegistrySource> {
        &self.source
    }

    /// Approximate number of cached entries (found and unknown).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

impl RegistrySource for CachedRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        Box::pin(CachedRegistry::get(self, id))
    }

    fn describe(&self) -> String {
        format!("cache in front of {}", self.source.describe())
    }
}

impl std::fmt::Debug for CachedRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRegistry")
            .field("source", &self.source.describe())
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use futures_util::future::join_all;

    use super::*;
    use crate::registration::Provider;
    use crate::registry::InMemoryRegistry;

    /// Counts calls; can fail on demand and be slow.
    struct Counting {
        inner: InMemoryRegistry,
        calls: AtomicUsize,
        fail: AtomicBool,
        delay: Duration,
    }

    impl RegistrySource for Counting {
        fn get<'a>(
            &'a self,
            id: &'a str,
        ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                if self.fail.load(Ordering::SeqCst) {
                    return Err(SourceError::unavailable("database down"));
                }
                Ok(self.inner.lookup(id))
            })
        }
    }

    fn setup(delay: Duration, config: CacheConfig) -> (Arc<Counting>, CachedRegistry) {
        let reg = Registration::builder("quid-1", Provider::Jwks)
            .client_id("a")
            .jwks_uri("https://idp.example.com/keys")
            .build()
            .unwrap();
        let source = Arc::new(Counting {
            inner: InMemoryRegistry::new(vec![reg]).unwrap(),
            calls: AtomicUsize::new(0),
            fail: AtomicBool::new(false),
            delay,
        });
        let cached = CachedRegistry::new(source.clone(), config);
        (source, cached)
    }

    fn calls(source: &Counting) -> usize {
        source.calls.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn hits_are_served_from_cache() {
        let (source, cached) = setup(Duration::ZERO, CacheConfig::default());
        assert!(cached.get("quid-1").await.unwrap().is_some());
        assert!(cached.get("quid-1").await.unwrap().is_some());
        assert_eq!(calls(&source), 1);
        cached.invalidate("quid-1").await;
        assert!(cached.get("quid-1").await.unwrap().is_some());
        assert_eq!(calls(&source), 2);
        cached.invalidate_all();
        assert!(cached.get("quid-1").await.unwrap().is_some());
        assert_eq!(calls(&source), 3);
    }

    #[tokio::test]
    async fn unknown_ids_are_negative_cached_then_expire() {
        let config = CacheConfig {
            negative_ttl: Duration::from_millis(100),
            ..CacheConfig::default()
        };
        let (source, cached) = setup(Duration::ZERO, config);
        for _ in 0..100 {
            assert!(cached.get("quid-unknown").await.unwrap().is_none());
        }
        assert_eq!(calls(&source), 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(cached.get("quid-unknown").await.unwrap().is_none());
        assert_eq!(
            calls(&source),
            2,
            "negative entries expire after negative_ttl"
        );
        // A found entry outlives the negative TTL.
        assert!(cached.get("quid-1").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(cached.get("quid-1").await.unwrap().is_some());
        assert_eq!(calls(&source), 3);
    }

    #[tokio::test]
    async fn impossible_ids_never_reach_the_source() {
        let (source, cached) = setup(Duration::ZERO, CacheConfig::default());
        for id in ["", "has space", &"x".repeat(129), "é"] {
            assert!(cached.get(id).await.unwrap().is_none());
        }
        assert_eq!(calls(&source), 0);
    }

    #[tokio::test]
    async fn a_flood_of_random_ids_stays_bounded() {
        let config = CacheConfig {
            max_entries: 50,
            ..CacheConfig::default()
        };
        let (source, cached) = setup(Duration::ZERO, config);
        for i in 0..1000 {
            assert!(cached.get(&format!("random-{i}")).await.unwrap().is_none());
        }
        assert_eq!(calls(&source), 1000);
        cached.cache.run_pending_tasks().await;
        assert!(
            cached.entry_count() <= 50,
            "{} entries",
            cached.entry_count()
        );
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let (source, cached) = setup(Duration::ZERO, CacheConfig::default());
        source.fail.store(true, Ordering::SeqCst);
        let err = cached.get("quid-1").await.unwrap_err();
        assert_eq!(err.message(), "database down");
        assert!(cached.get("quid-1").await.is_err());
        assert_eq!(calls(&source), 2);
        source.fail.store(false, Ordering::SeqCst);
        assert!(cached.get("quid-1").await.unwrap().is_some());
        assert_eq!(calls(&source), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_cold_gets_make_one_source_call() {
        let (source, cached) = setup(Duration::from_millis(50), CacheConfig::default());
        let results = join_all((0..50).map(|_| cached.get("quid-1"))).await;
        assert!(results.iter().all(|r| matches!(r, Ok(Some(_)))));
        assert_eq!(calls(&source), 1);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cached = cached.clone();
                tokio::spawn(async move { cached.get("quid-unknown").await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().unwrap().is_none());
        }
        assert_eq!(calls(&source), 2);
    }
}
