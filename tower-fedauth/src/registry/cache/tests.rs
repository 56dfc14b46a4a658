//! The registry cache: single flight, negative answers, TTLs, invalidation
//! and the liveness of what it hands out.

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
            Ok(self.inner.registrations().get(id))
        })
    }
}

fn registration() -> Registration {
    Registration::builder("quid-1", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .build()
        .unwrap()
}

fn setup(delay: Duration, config: CacheConfig) -> (Arc<Counting>, CachedRegistry) {
    let source = Arc::new(Counting {
        inner: InMemoryRegistry::new(vec![registration()]).unwrap(),
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
    cached.invalidate("quid-1");
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

#[tokio::test]
async fn an_answer_read_before_an_invalidation_is_not_kept() {
    let (source, cached) = setup(Duration::from_millis(100), CacheConfig::default());
    let early = tokio::spawn({
        let cached = cached.clone();
        async move { cached.get("quid-1").await }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    cached.invalidate("quid-1");
    // The request that was waiting still gets the answer ...
    assert!(early.await.unwrap().unwrap().is_some());
    assert_eq!(calls(&source), 1);
    // ... but the next one asks the source again.
    assert!(cached.get("quid-1").await.unwrap().is_some());
    assert_eq!(calls(&source), 2);
    assert!(cached.get("quid-1").await.unwrap().is_some());
    assert_eq!(calls(&source), 2);
}

#[tokio::test]
async fn a_lookup_whose_requests_all_went_away_still_finishes() {
    let (source, cached) = setup(Duration::from_millis(50), CacheConfig::default());
    let abandoned = tokio::time::timeout(Duration::from_millis(10), cached.get("quid-1")).await;
    assert!(abandoned.is_err(), "the lookup was still in flight");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(cached.entry_count(), 1);
    assert!(cached.get("quid-1").await.unwrap().is_some());
    assert_eq!(calls(&source), 1);
}

#[tokio::test]
async fn waiters_on_a_failing_lookup_share_its_error() {
    let (source, cached) = setup(Duration::from_millis(50), CacheConfig::default());
    source.fail.store(true, Ordering::SeqCst);
    let results = join_all((0..20).map(|_| cached.get("quid-1"))).await;
    for result in results {
        assert_eq!(result.unwrap_err().message(), "database down");
    }
    assert_eq!(calls(&source), 1);
    assert_eq!(cached.entry_count(), 0);
}

/// Panics on its first lookup, answers afterwards.
struct PanicsOnce {
    inner: InMemoryRegistry,
    panicked: AtomicBool,
}

impl RegistrySource for PanicsOnce {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        Box::pin(async move {
            if !self.panicked.swap(true, Ordering::SeqCst) {
                panic!("a bug in the registry source");
            }
            Ok(self.inner.registrations().get(id))
        })
    }
}

#[tokio::test]
async fn a_lookup_that_panics_is_an_error_once_then_tried_again() {
    let source = Arc::new(PanicsOnce {
        inner: InMemoryRegistry::new(vec![registration()]).unwrap(),
        panicked: AtomicBool::new(false),
    });
    let cached = CachedRegistry::new(source, CacheConfig::default());
    let err = cached.get("quid-1").await.unwrap_err();
    assert!(
        err.message()
            .starts_with("the registry lookup did not finish"),
        "{err}"
    );
    assert!(cached.get("quid-1").await.unwrap().is_some());
}

#[test]
fn lookups_work_outside_a_tokio_runtime() {
    let source = InMemoryRegistry::new(vec![registration()]).unwrap();
    let cached = CachedRegistry::new(Arc::new(source), CacheConfig::default());
    for id in ["quid-1", "quid-1", "quid-unknown"] {
        let found = cached.get(id).now_or_never().expect("ready at once");
        assert_eq!(found.unwrap().is_some(), id == "quid-1");
    }
    assert_eq!(cached.entry_count(), 2);
}
