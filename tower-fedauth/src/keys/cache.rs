//! A cache of documents fetched from identity providers (key sets, discovery
//! documents), one entry per URL.
//!
//! - single-flight: concurrent misses on one URL cause one fetch;
//! - freshness from `Cache-Control: max-age`, clamped to [min, max]: a key
//!   set is trusted at most [`CachePolicy::max_ttl`] (1 h by default)
//!   whatever its `Cache-Control` says, so a key the IdP withdrew stops
//!   verifying within that time;
//! - forced refresh (an unknown `kid`) at most once per cooldown per URL;
//! - last-known-good documents keep serving for a bounded time when a
//!   refresh fails, and a failed fetch is not retried before a back-off;
//! - refresh ahead: a document in use that nears the end of its freshness
//!   (past a jittered 80–95 % of its TTL) is refreshed in the background
//!   while the current copy keeps serving, so no request waits on a fetch in
//!   steady state and a fleet does not refresh in lockstep;
//! - bounded in bytes: the URL states are kept in the crate's one cache
//!   shape, each weighing what its document keeps alive
//!   ([`Document::weight`]); when the total passes
//!   [`CachePolicy::max_bytes`] the cache evicts the states it expects to be
//!   least used (quick_cache's S3-FIFO-like policy, which a scan of one-off
//!   URLs does not flush); a URL evicted is fetched again when next asked
//!   for.
//!
//! The fetches themselves are single-flight per URL under the state's own
//! refresh lock rather than the shared cache's loads, because a refresh
//! must let the current copy keep serving (refresh ahead, stale while
//! another request refreshes), and a forced refresh has its own cooldown.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use url::Url;

use crate::cache::{Cache, Shape};
use crate::egress::{FetchError, Fetched, Fetcher};
use crate::weigh::CacheSize;

/// Rules of the caches of what identity providers answer: freshness,
/// refresh and byte bounds of key sets and discovery documents, and the
/// byte bounds of the userinfo, introspection and verification answer
/// caches. Every bound is on the estimated bytes the entries keep alive,
/// so a few large answers cannot take the server's memory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachePolicy {
    /// Freshness when the IdP sends no `max-age`. Default 10 min.
    pub default_ttl: Duration,
    /// Lower clamp of `max-age`. Default 1 min.
    pub min_ttl: Duration,
    /// Upper clamp of `max-age`: the longest a key set is trusted whatever
    /// its `Cache-Control` says, so a key the IdP withdrew (compromised)
    /// stops verifying within it; the background refresh runs ahead of it.
    /// Default 1 h.
    pub max_ttl: Duration,
    /// How long past its freshness a document still serves while the IdP
    /// cannot be reached. Default 1 h.
    pub stale_for: Duration,
    /// Least time between two refreshes forced by an unknown `kid` (counted
    /// from the last one that succeeded). Default 10 s, as AWS's reference
    /// verifier does.
    pub refresh_cooldown: Duration,
    /// Least time between two fetches after a failed one. Default 5 s.
    pub failure_backoff: Duration,
    /// URLs kept at most, per cache (key sets; discovery documents): each
    /// URL weighs at least `max_bytes / max_urls`. Default 10 000.
    pub max_urls: u64,
    /// Bytes of documents kept at most, per cache (key sets; discovery
    /// documents). Default 64 MiB.
    pub max_bytes: u64,
    /// Bytes of userinfo answers kept at most (each answer is also capped
    /// by the fetch's `max_userinfo_bytes` before it is parsed). Default
    /// 32 MiB.
    pub userinfo_max_bytes: u64,
    /// Bytes of introspection answers kept at most. Default 64 MiB.
    pub introspection_max_bytes: u64,
    /// Bytes of verification endpoint answers kept at most. Default 64 MiB.
    pub verification_max_bytes: u64,
}

/// The default of [`CachePolicy::max_ttl`]: 1 hour.
pub(crate) const DEFAULT_MAX_TTL: Duration = Duration::from_secs(3600);

const MIB: u64 = 1024 * 1024;

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            default_ttl: Duration::from_secs(600),
            min_ttl: Duration::from_secs(60),
            max_ttl: DEFAULT_MAX_TTL,
            stale_for: Duration::from_secs(3600),
            refresh_cooldown: Duration::from_secs(10),
            failure_backoff: Duration::from_secs(5),
            max_urls: 10_000,
            max_bytes: 64 * MIB,
            userinfo_max_bytes: 32 * MIB,
            introspection_max_bytes: 64 * MIB,
            verification_max_bytes: 64 * MIB,
        }
    }
}

crate::setters::setters!(CachePolicy {
    default_ttl: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    stale_for: Duration,
    refresh_cooldown: Duration,
    failure_backoff: Duration,
    max_urls: u64,
    max_bytes: u64,
    userinfo_max_bytes: u64,
    introspection_max_bytes: u64,
    verification_max_bytes: u64,
});

/// Bytes a URL's state keeps alive besides its document: the state with
/// its locks and flags, the snapshot, the cache entry and its key.
const STATE_OVERHEAD: usize = 1024;

/// What a URL's state typically weighs (sizes the cache, bounds nothing).
const TYPICAL_BYTES: u64 = 8 * 1024;

/// A document kind this cache can hold.
pub(crate) trait Document: Send + Sync + 'static + Sized {
    /// Name used in logs (`key set`, `discovery document`).
    const KIND: &'static str;
    /// The `kind` / `cache` label of its metrics (`jwks`, `discovery`).
    const METRIC_KIND: &'static str = "other";
    /// Parse a fetched body.
    fn parse(body: &[u8]) -> Result<Self, String>;
    /// Called on a new copy before it replaces `previous` (key sets carry
    /// over which keys are still published).
    fn succeed(&mut self, _previous: &Self) {}
    /// Estimated bytes the parsed document keeps alive, given the size of
    /// the body it was parsed from. The default, four times the body, errs
    /// high for a document that keeps a few of its members; a document
    /// whose parsed form can outgrow its body (key sets: parsed keys)
    /// weighs itself.
    fn weight(&self, body_len: usize) -> usize {
        body_len.saturating_mul(4)
    }
}

/// A cached document and when it was fetched.
#[derive(Debug)]
pub(crate) struct Snapshot<T> {
    /// The document.
    pub doc: Arc<T>,
    /// When it was fetched (the tests measure its lifetimes from it).
    #[cfg(test)]
    pub fetched_at: Instant,
    /// When its fetch was sent: what it holds was published by then.
    requested_at: Instant,
    fresh_until: Instant,
    refresh_after: Instant,
    generation: u64,
}

impl<T> Snapshot<T> {
    /// Whether it is still within its freshness.
    pub(crate) fn is_fresh(&self, now: Instant) -> bool {
        now < self.fresh_until
    }
}

#[derive(Default)]
struct Meta {
    last_failure: Option<(Instant, String)>,
    last_forced: Option<Instant>,
}

struct UrlState<T> {
    snapshot: RwLock<Option<Arc<Snapshot<T>>>>,
    refresh: tokio::sync::Mutex<()>,
    meta: Mutex<Meta>,
    refreshing_ahead: AtomicBool,
    serving_stale: AtomicBool,
    /// What its document keeps alive: set before it is (re)inserted, which
    /// is when the cache weighs it.
    doc_bytes: AtomicUsize,
}

impl<T> UrlState<T> {
    fn new() -> Self {
        Self {
            doc_bytes: AtomicUsize::new(0),
            snapshot: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            meta: Mutex::new(Meta::default()),
            refreshing_ahead: AtomicBool::new(false),
            serving_stale: AtomicBool::new(false),
        }
    }

    fn current(&self) -> Option<Arc<Snapshot<T>>> {
        self.snapshot.read().map(|s| s.clone()).unwrap_or_default()
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, Meta> {
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why no document can serve.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unavailable(pub String);

/// The cache. Cheap to clone.
pub(crate) struct DocumentCache<T: Document> {
    /// Keyed by URL: looked up on every full verification. Never expire by
    /// themselves (a snapshot carries its own freshness and stale bound).
    states: Cache<String, Arc<UrlState<T>>, Infallible>,
    fetcher: Fetcher,
    policy: CachePolicy,
    fetches: Arc<AtomicU64>,
    generations: Arc<AtomicU64>,
    waited: Arc<AtomicU64>,
    /// `fedauth_cache_requests_total` handles, registered on first use.
    counters: Arc<crate::metrics::CacheCounters>,
}

impl<T: Document> Clone for DocumentCache<T> {
    fn clone(&self) -> Self {
        Self {
            states: self.states.clone(),
            fetcher: self.fetcher.clone(),
            policy: self.policy.clone(),
            fetches: self.fetches.clone(),
            generations: self.generations.clone(),
            waited: self.waited.clone(),
            counters: self.counters.clone(),
        }
    }
}

impl<T: Document> DocumentCache<T> {
    /// An empty cache.
    pub(crate) fn new(fetcher: Fetcher, policy: CachePolicy) -> Self {
        let shape = Shape {
            max_entries: policy.max_urls,
            ..Shape::bytes(policy.max_bytes, TYPICAL_BYTES)
        };
        let states = Cache::new(
            shape,
            |url: &String, state: Option<&Arc<UrlState<T>>>, _| {
                let doc = state.map_or(0, |s| s.doc_bytes.load(Ordering::Relaxed));
                STATE_OVERHEAD.saturating_add(url.len()).saturating_add(doc)
            },
        );
        Self {
            states,
            fetcher,
            policy,
            fetches: Arc::default(),
            generations: Arc::default(),
            waited: Arc::default(),
            counters: Arc::new(crate::metrics::CacheCounters::new(T::METRIC_KIND)),
        }
    }

    /// Fetches attempted so far (all URLs).
    pub(crate) fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Lookups that could not be answered from the cache at once and waited
    /// on a fetch (or a back-off check) before answering.
    pub(crate) fn waited_count(&self) -> u64 {
        self.waited.load(Ordering::Relaxed)
    }

    /// What the cache holds now.
    pub(crate) fn size(&self) -> CacheSize {
        self.states.size()
    }

    /// Weigh `state` anew now that its document keeps `weight` bytes alive
    /// (each URL weighs at least `max_bytes / max_urls`, so that the byte
    /// bound also bounds the number of URLs), and evict what no longer
    /// fits. Re-inserting it is what makes the cache weigh it anew; a state
    /// evicted meanwhile comes back.
    fn reweigh(&self, url: &Url, state: &Arc<UrlState<T>>, weight: usize) {
        state.doc_bytes.store(weight, Ordering::Relaxed);
        self.states
            .insert(url.as_str().to_owned(), state.clone(), Duration::MAX);
    }

    async fn state(&self, url: &Url) -> Arc<UrlState<T>> {
        let new = || async { Ok((Arc::new(UrlState::new()), Duration::MAX)) };
        let Ok(state) = self.states.get_or_load(url.as_str(), new).await;
        state
    }

    /// The document at `url`: fresh, refreshed, or last-known-good within
    /// the stale bound.
    pub(crate) async fn get(&self, url: &Url) -> Result<Arc<Snapshot<T>>, Unavailable> {
        let state = self.state(url).await;
        let now = Instant::now();
        let current = state.current();
        if let Some(snap) = &current {
            if snap.is_fresh(now) {
                self.counters.record(true);
                if now >= snap.refresh_after {
                    self.refresh_ahead(&state, url, snap.generation, now);
                }
                return Ok(snap.clone());
            }
        }
        // Someone is already refreshing: serve the stale copy rather than wait.
        let guard = match (&current, state.refresh.try_lock()) {
            (_, Ok(guard)) => guard,
            (Some(stale), Err(_)) if self.within_stale_bound(stale, now) => {
                self.counters.record(true);
                return Ok(stale.clone());
            }
            (_, Err(_)) => state.refresh.lock().await,
        };
        self.counters.record(false);
        self.waited.fetch_add(1, Ordering::Relaxed);
        let current = state.current();
        let now = Instant::now();
        if let Some(snap) = &current {
            if snap.is_fresh(now) {
                return Ok(snap.clone());
            }
        }
        let recent_failure = state
            .meta()
            .last_failure
            .as_ref()
            .filter(|(at, _)| now.duration_since(*at) < self.policy.failure_backoff)
            .map(|(_, why)| why.clone());
        let result = match recent_failure {
            Some(why) => Err(why),
            None => self.fetch_into(&state, url).await,
        };
        drop(guard);
        match result {
            Ok(snap) => Ok(snap),
            Err(why) => match current {
                Some(stale) if self.within_stale_bound(&stale, Instant::now()) => {
                    if !state.serving_stale.swap(true, Ordering::Relaxed) {
                        crate::metrics::stale(T::METRIC_KIND, 1.0);
                    }
                    tracing::warn!(url = %url, kind = T::KIND, reason = %why, "serving last-known-good copy");
                    Ok(stale)
                }
                _ => Err(Unavailable(why)),
            },
        }
    }

    /// Refresh now because the cached copy lacks something (an unknown
    /// `kid`), at most once per cooldown per URL. Requests that arrive while
    /// that refresh runs wait for it and see its result.
    ///
    /// A newer copy answers the miss only if its fetch was sent after the
    /// miss was seen: one sent earlier (a background refresh racing a key
    /// rotation) may predate the key, and is refetched. Only a refresh that
    /// succeeded starts the cooldown: while the source is failing, a miss
    /// is `Unavailable` (within the failure back-off, without a fetch), and
    /// the first miss after the back-off tries again, so a key published
    /// during an outage is found as soon as the source is back.
    pub(crate) async fn refresh_for_miss(
        &self,
        url: &Url,
        seen: &Snapshot<T>,
    ) -> Result<Arc<Snapshot<T>>, Unavailable> {
        let missed_at = Instant::now();
        let state = self.state(url).await;
        let guard = state.refresh.lock().await;
        let current = state.current();
        if let Some(current) = &current {
            if current.generation != seen.generation && current.requested_at >= missed_at {
                return Ok(current.clone());
            }
        }
        let now = Instant::now();
        let (cooling, failing) = {
            let meta = state.meta();
            let cooling = meta
                .last_forced
                .is_some_and(|at| now.duration_since(at) < self.policy.refresh_cooldown);
            let failing = meta
                .last_failure
                .as_ref()
                .filter(|(at, _)| now.duration_since(*at) < self.policy.failure_backoff)
                .map(|(_, why)| why.clone());
            (cooling, failing)
        };
        if let Some(why) = failing {
            return Err(Unavailable(why));
        }
        if cooling {
            if let Some(current) = current {
                return Ok(current);
            }
        }
        let result = self.fetch_into(&state, url).await;
        if result.is_ok() {
            state.meta().last_forced = Some(Instant::now());
        }
        drop(guard);
        result.map_err(Unavailable)
    }

    /// Start one background refresh of a fresh document near its expiry,
    /// unless one runs already, the last fetch failed within the back-off,
    /// or there is no tokio runtime.
    fn refresh_ahead(&self, state: &Arc<UrlState<T>>, url: &Url, generation: u64, now: Instant) {
        let backing_off = state
            .meta()
            .last_failure
            .as_ref()
            .is_some_and(|(at, _)| now.duration_since(*at) < self.policy.failure_backoff);
        if backing_off {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if state.refreshing_ahead.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::metrics::background_refresh(T::METRIC_KIND);
        let (cache, state, url) = (self.clone(), state.clone(), url.clone());
        runtime.spawn(async move {
            {
                let _guard = state.refresh.lock().await;
                // Still the copy that asked for it: nobody refreshed meanwhile.
                if state.current().is_some_and(|c| c.generation == generation) {
                    let _ = cache.fetch_into(&state, &url).await;
                }
            }
            state.refreshing_ahead.store(false, Ordering::Release);
        });
    }

    fn within_stale_bound(&self, snap: &Snapshot<T>, now: Instant) -> bool {
        now < snap.fresh_until + self.policy.stale_for
    }

    fn ttl(&self, fetched: &Fetched) -> Duration {
        if fetched.no_cache {
            return self.policy.min_ttl;
        }
        fetched.max_age.unwrap_or(self.policy.default_ttl).clamp(
            self.policy.min_ttl,
            self.policy.max_ttl.max(self.policy.min_ttl),
        )
    }

    /// Fetch, parse and store; the caller holds the refresh lock.
    async fn fetch_into(
        &self,
        state: &Arc<UrlState<T>>,
        url: &Url,
    ) -> Result<Arc<Snapshot<T>>, String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let outcome = self
            .fetcher
            .get(url)
            .await
            .map_err(|e: FetchError| e.to_string())
            .and_then(|f| {
                let ttl = self.ttl(&f);
                T::parse(&f.body)
                    .map(|doc| (doc, ttl, f.body.len()))
                    .map_err(|e| format!("{url}: {e}"))
            });
        match outcome {
            Ok((mut doc, ttl, body_len)) => {
                if let Some(previous) = state.current() {
                    doc.succeed(&previous.doc);
                }
                let weight = doc.weight(body_len);
                let now = Instant::now();
                let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
                let snap = Arc::new(Snapshot {
                    doc: Arc::new(doc),
                    #[cfg(test)]
                    fetched_at: now,
                    requested_at: started,
                    fresh_until: now + ttl,
                    refresh_after: now + ttl.mul_f64(refresh_fraction(generation)),
                    generation,
                });
                if let Ok(mut slot) = state.snapshot.write() {
                    *slot = Some(snap.clone());
                }
                state.meta().last_failure = None;
                crate::metrics::fetch(T::METRIC_KIND, true, started.elapsed());
                if state.serving_stale.swap(false, Ordering::Relaxed) {
                    crate::metrics::stale(T::METRIC_KIND, -1.0);
                }
                tracing::debug!(url = %url, kind = T::KIND, ttl_s = ttl.as_secs(), elapsed_ms = started.elapsed().as_millis() as u64, "fetched");
                self.reweigh(url, state, weight);
                Ok(snap)
            }
            Err(why) => {
                tracing::warn!(url = %url, kind = T::KIND, reason = %why, "fetch failed");
                crate::metrics::fetch(T::METRIC_KIND, false, started.elapsed());
                state.meta().last_failure = Some((Instant::now(), why.clone()));
                Err(why)
            }
        }
    }
}

/// When, as a fraction of its TTL, a document is refreshed ahead: between
/// 0.80 and 0.95, varying per fetch and per process so that a fleet spreads
/// its refreshes.
fn refresh_fraction(generation: u64) -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x =
        nanos ^ generation.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id());
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    0.80 + 0.15 * ((x % 10_000) as f64 / 10_000.0)
}

#[cfg(all(test, feature = "testkit"))]
#[path = "cache_tests.rs"]
mod tests;
