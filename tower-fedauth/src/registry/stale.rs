//! A revalidating cache for remote lookups (the HTTP registry source, the
//! user directory): a fresh answer is reused, a stale one is revalidated, and
//! while the remote side fails the last good answer keeps serving for a
//! bounded time (stale-if-error). Concurrent lookups of one key make one
//! remote call: the others wait for it and reuse its outcome, failure
//! included, for a short back-off.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};

/// What one remote call answered.
pub(crate) enum Remote<V> {
    /// A new value, fresh for this long.
    Value(V, Duration),
    /// A new value that must not be kept (`Cache-Control: no-store`).
    Uncached(V),
    /// The cached value is still valid (HTTP 304), fresh for this long.
    NotModified(Duration),
    /// Nothing there any more (HTTP 404): forget the key.
    Absent,
}

/// The last good value of a key and its lifetimes.
struct Good<V> {
    value: V,
    fresh_until: Instant,
    stale_until: Instant,
}

/// One key's state: the last good value (if any, and not past its stale
/// bound) and a recent failure that answers instead of a new attempt.
struct Slot<V, E> {
    good: Option<Good<V>>,
    failure: Option<(Instant, E)>,
}

impl<V, E> Slot<V, E> {
    fn expires_at(&self) -> Option<Instant> {
        let good = self.good.as_ref().map(|g| g.stale_until);
        let failed = self.failure.as_ref().map(|f| f.0);
        good.max(failed)
    }
}

struct SlotExpiry;

impl<K, V, E> Expiry<K, Arc<Slot<V, E>>> for SlotExpiry {
    fn expire_after_create(
        &self,
        _: &K,
        value: &Arc<Slot<V, E>>,
        now: Instant,
    ) -> Option<Duration> {
        Some(
            value
                .expires_at()
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(now)),
        )
    }

    fn expire_after_update(
        &self,
        key: &K,
        value: &Arc<Slot<V, E>>,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, value, now)
    }
}

/// Lifetimes and bounds of a [`StaleCache`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct StaleConfig {
    /// How long past freshness the last good value still serves while the
    /// remote side fails.
    pub max_stale: Duration,
    /// How long a failure is reused before the next attempt.
    pub failure_backoff: Duration,
    /// Most keys kept.
    pub max_entries: u64,
}

/// The outcome of a lookup.
pub(crate) struct Lookup<V> {
    /// The value (`None`: absent at the remote side).
    pub value: Option<V>,
    /// Served past its freshness because the remote side failed.
    pub stale: bool,
}

/// See the module documentation.
pub(crate) struct StaleCache<K, V, E> {
    cache: Cache<K, Arc<Slot<V, E>>>,
    config: StaleConfig,
}

impl<K, V, E> StaleCache<K, V, E>
where
    K: Hash + Eq + Send + Sync + Clone + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(config: StaleConfig) -> Self {
        let cache = Cache::builder()
            .max_capacity(config.max_entries)
            .expire_after(SlotExpiry)
            .build();
        Self { cache, config }
    }

    /// A cache bounded by weight instead of count: the keys' weights, as
    /// `weigh` gives them from the key, its last good value and its recent
    /// failure, add up to at most `max_weight` (`config.max_entries` is not
    /// used: give each key a floor weight to bound the count too).
    pub(crate) fn weighted<W>(config: StaleConfig, max_weight: u64, weigh: W) -> Self
    where
        W: Fn(&K, Option<&V>, Option<&E>) -> u32 + Send + Sync + 'static,
    {
        let cache = Cache::builder()
            .max_capacity(max_weight)
            .weigher(move |key, slot: &Arc<Slot<V, E>>| {
                let good = slot.good.as_ref().map(|g| &g.value);
                weigh(key, good, slot.failure.as_ref().map(|f| &f.1))
            })
            .expire_after(SlotExpiry)
            .build();
        Self { cache, config }
    }

    /// The value of `key`: fresh from the cache, or from `fetch` (which gets
    /// the last good value, to revalidate it), or the last good value while
    /// `fetch` fails and the stale bound allows.
    pub(crate) async fn get<F, Fut>(&self, key: &K, fetch: F) -> Result<Lookup<V>, E>
    where
        F: FnOnce(Option<V>) -> Fut,
        Fut: Future<Output = Result<Remote<V>, E>>,
    {
        let cached = self.cache.get(key).await;
        let fresh = cached
            .as_ref()
            .and_then(|slot| slot.good.as_ref())
            .filter(|g| Instant::now() < g.fresh_until);
        if let Some(good) = fresh {
            return Ok(Lookup {
                value: Some(good.value.clone()),
                stale: false,
            });
        }
        let config = self.config;
        // What this call fetched (or revalidated) is its answer, whatever its
        // lifetime: a zero TTL must not turn a found value into "absent".
        let mut answered = None;
        let outcome = self
            .cache
            .entry(key.clone())
            .and_compute_with(|current| {
                let current = current.map(|e| e.into_value());
                let answered = &mut answered;
                async move {
                    let now = Instant::now();
                    if let Some(slot) = &current {
                        let fresh = slot.good.as_ref().is_some_and(|g| now < g.fresh_until);
                        let backing_off = slot.failure.as_ref().is_some_and(|f| now < f.0);
                        if fresh || backing_off {
                            // Another caller just answered for us.
                            return Op::Nop;
                        }
                    }
                    let last_good = current
                        .as_ref()
                        .and_then(|s| s.good.as_ref())
                        .filter(|g| now < g.stale_until);
                    let stamped = |value: V, fresh: Duration| Good {
                        value,
                        fresh_until: now + fresh,
                        stale_until: now + fresh + config.max_stale,
                    };
                    match fetch(last_good.map(|g| g.value.clone())).await {
                        Ok(Remote::Value(value, fresh)) => {
                            *answered = Some(value.clone());
                            Op::Put(Arc::new(Slot {
                                good: Some(stamped(value, fresh)),
                                failure: None,
                            }))
                        }
                        Ok(Remote::NotModified(fresh)) => match last_good {
                            Some(g) => {
                                *answered = Some(g.value.clone());
                                Op::Put(Arc::new(Slot {
                                    good: Some(stamped(g.value.clone(), fresh)),
                                    failure: None,
                                }))
                            }
                            None => Op::Remove,
                        },
                        Ok(Remote::Uncached(value)) => {
                            *answered = Some(value);
                            Op::Remove
                        }
                        Ok(Remote::Absent) => Op::Remove,
                        Err(error) => Op::Put(Arc::new(Slot {
                            good: last_good.map(|g| Good {
                                value: g.value.clone(),
                                fresh_until: g.fresh_until,
                                stale_until: g.stale_until,
                            }),
                            failure: Some((now + config.failure_backoff, error)),
                        })),
                    }
                }
            })
            .await;
        if let Some(value) = answered {
            return Ok(Lookup {
                value: Some(value),
                stale: false,
            });
        }
        let slot = match outcome {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) | CompResult::Unchanged(e) => {
                e.into_value()
            }
            CompResult::StillNone(_) | CompResult::Removed(_) => {
                return Ok(Lookup {
                    value: None,
                    stale: false,
                });
            }
        };
        let now = Instant::now();
        if let Some(good) = slot.good.as_ref().filter(|g| now < g.stale_until) {
            return Ok(Lookup {
                value: Some(good.value.clone()),
                stale: slot.failure.is_some() && now >= good.fresh_until,
            });
        }
        match &slot.failure {
            Some((_, error)) => Err(error.clone()),
            // Cannot happen (a slot has a good value or a failure); answer
            // "absent" rather than panic.
            None => Ok(Lookup {
                value: None,
                stale: false,
            }),
        }
    }

    /// Forget one key.
    pub(crate) async fn invalidate(&self, key: &K) {
        self.cache.invalidate(key).await;
    }

    /// Forget every key.
    pub(crate) fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Approximate number of keys held.
    pub(crate) fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// The keys held and their total weight (the key count when built
    /// without a weigher), after pending evictions have run.
    pub(crate) async fn size(&self) -> (u64, u64) {
        self.cache.run_pending_tasks().await;
        (self.cache.entry_count(), self.cache.weighted_size())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn cache(max_stale: Duration, backoff: Duration) -> StaleCache<String, u32, String> {
        StaleCache::new(StaleConfig {
            max_stale,
            failure_backoff: backoff,
            max_entries: 100,
        })
    }

    async fn get(
        c: &StaleCache<String, u32, String>,
        calls: &AtomicUsize,
        answer: Result<Remote<u32>, String>,
    ) -> Result<(Option<u32>, bool), String> {
        c.get(&"k".to_owned(), |_| async {
            calls.fetch_add(1, Ordering::SeqCst);
            answer
        })
        .await
        .map(|l| (l.value, l.stale))
    }

    #[tokio::test]
    async fn fresh_values_are_reused_and_revalidated_after() {
        let c = cache(Duration::from_secs(60), Duration::ZERO);
        let calls = AtomicUsize::new(0);
        let ok = |v| Ok(Remote::Value(v, Duration::from_millis(100)));
        assert_eq!(get(&c, &calls, ok(1)).await, Ok((Some(1), false)));
        assert_eq!(get(&c, &calls, ok(2)).await, Ok((Some(1), false)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(150)).await;
        let not_modified = Ok(Remote::NotModified(Duration::from_secs(10)));
        assert_eq!(get(&c, &calls, not_modified).await, Ok((Some(1), false)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(get(&c, &calls, ok(3)).await, Ok((Some(1), false)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A zero TTL with no stale bound ("do not cache") still answers what
    /// was fetched: it used to come back "absent", so a user directory
    /// configured without caching reported every user unknown (and let a
    /// blocked user through).
    #[tokio::test]
    async fn a_value_fetched_with_zero_lifetime_is_still_the_answer() {
        let c = cache(Duration::ZERO, Duration::ZERO);
        let calls = AtomicUsize::new(0);
        for (round, value) in [(1, 5), (2, 6)] {
            let ok = Ok(Remote::Value(value, Duration::ZERO));
            assert_eq!(get(&c, &calls, ok).await, Ok((Some(value), false)));
            assert_eq!(calls.load(Ordering::SeqCst), round, "fetched every time");
        }
        let not_modified = Ok(Remote::NotModified(Duration::ZERO));
        assert_eq!(get(&c, &calls, not_modified).await, Ok((None, false)));
    }

    #[tokio::test]
    async fn stale_values_serve_while_failing_within_the_bound() {
        let c = cache(Duration::from_millis(300), Duration::ZERO);
        let calls = AtomicUsize::new(0);
        let ok = Ok(Remote::Value(7, Duration::ZERO));
        assert_eq!(get(&c, &calls, ok).await, Ok((Some(7), false)));
        let down = || Err("down".to_owned());
        assert_eq!(get(&c, &calls, down()).await, Ok((Some(7), true)));
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(get(&c, &calls, down()).await, Err("down".to_owned()));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn failures_back_off_and_absent_forgets() {
        let c = cache(Duration::ZERO, Duration::from_millis(200));
        let calls = AtomicUsize::new(0);
        let down = || Err("down".to_owned());
        assert!(get(&c, &calls, down()).await.is_err());
        assert!(
            get(&c, &calls, Ok(Remote::Value(1, Duration::ZERO)))
                .await
                .is_err()
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "failure reused within back-off"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(get(&c, &calls, Ok(Remote::Absent)).await, Ok((None, false)));
        assert_eq!(
            get(&c, &calls, Ok(Remote::Uncached(4))).await,
            Ok((Some(4), false))
        );
        c.cache.run_pending_tasks().await;
        assert_eq!(c.entry_count(), 0);
    }

    /// A weighted cache holds at most its weight, not its `max_entries`.
    #[tokio::test]
    async fn a_weighted_cache_is_bounded_by_weight() {
        let config = StaleConfig {
            max_stale: Duration::from_secs(60),
            failure_backoff: Duration::ZERO,
            max_entries: 1_000,
        };
        let c: StaleCache<String, u32, String> =
            StaleCache::weighted(config, 1_000, |_, value, _| value.copied().unwrap_or(1));
        for key in 0..50 {
            let got = c
                .get(&key.to_string(), |_| async {
                    Ok::<_, String>(Remote::Value(100, Duration::from_secs(60)))
                })
                .await;
            assert_eq!(
                got.map(|l| l.value),
                Ok(Some(100)),
                "the answer, kept or not"
            );
        }
        let (entries, weight) = c.size().await;
        assert!(weight <= 1_000, "weight {weight}");
        assert_eq!(weight, entries * 100);
        assert!((1..=10).contains(&entries), "{entries} entries");
    }
}
