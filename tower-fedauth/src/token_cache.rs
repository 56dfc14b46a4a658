//! The verified-token cache: a token that passed every check is not checked
//! again until it expires (or `max_ttl`), so a client that reuses its token
//! pays for one signature check, not one per request.
//!
//! What is cached is what the *token* established (issuer, principal,
//! claims). What the *platform* decides is looked up on every request: the
//! registration (so disabling an application or changing its roles takes
//! effect at the registry cache's pace), the property's roles, and the user
//! directory. An entry is only used under a registration that verifies
//! tokens the way the one it was verified under did, and only while the
//! key that verified it is still published: a key the IdP removes stops
//! its entries at once.
//!
//! Once the cache is full, a token is remembered from its second
//! verification on, by default ([`TokenAdmission`]): most tokens are
//! presented many times, but every token is met a first time, and in a
//! full cache a stream of tokens met once (many short-lived ones, or an
//! attacker's) would pay for an insertion, the eviction of an entry whose
//! memory is long out of the processor's caches, and an entry never used.
//! Measured in a server, that was the largest cost a first-seen token paid
//! beside its signature (`BENCHMARKS.md`, issue 21).
//!
//! The per-thread hot set (`authenticator::hot`) answers a thread's most
//! repeated credentials from its own copy of a hit of this cache and the
//! registry cache; it keeps the entry and checks its [`Verified::is_live`]
//! before every use, which ends when this cache lets go of the entry.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Lifecycle, OptionsBuilder, Weighter};

use crate::cache::Sightings;
use crate::context::TokenFacts;
use crate::keys::KeyLiveness;
use crate::liveness::{Liveness, Lives, MarkDropped};
use crate::metrics::CacheCounters;
use crate::registration::Registration;

/// Bounds of the verified-token cache.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheConfig {
    /// Off: every request verifies its token in full.
    pub enabled: bool,
    /// Upper bound on reusing a verification; the token's `exp` bounds it too.
    pub max_ttl: Duration,
    /// At most this many tokens are remembered. Default 100 000.
    pub max_entries: u64,
    /// At most about this many bytes, estimated: each entry weighs its key
    /// (registration id and token), what the token established — the claims
    /// map, the principal, and so whatever a userinfo answer put in it — and
    /// fixed bookkeeping. Unless admission is
    /// [`TokenAdmission::FirstSight`], the record of tokens met once takes
    /// 8 bytes a slot of it (two slots per entry the budget holds, at most
    /// a sixteenth of it: 512 KiB of the default). Default 64 MiB.
    pub max_bytes: u64,
    /// When a verified token is remembered. Default
    /// [`TokenAdmission::SecondSightWhenFull`].
    pub admission: TokenAdmission,
}

/// When the verified-token cache remembers a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenAdmission {
    /// From its first verification: every token verified is inserted (in
    /// a full cache, another entry is evicted for it).
    FirstSight,
    /// From its second verification: the first leaves an 8-byte
    /// fingerprint in a fixed table, and a token verified again while its
    /// fingerprint is there (on average, until as many other tokens met
    /// once as the table has slots) is inserted. A token presented once
    /// costs no insertion, eviction or memory; one presented again is
    /// verified in full once more before it is answered from the cache.
    SecondSight,
    /// First sight while the cache has room, second sight once it has had
    /// to evict an entry to make room (until [`invalidate_token_cache`]
    /// empties it): remembering a token costs little while nothing has to
    /// go for it.
    ///
    /// [`invalidate_token_cache`]: crate::Authenticator::invalidate_token_cache
    #[default]
    SecondSightWhenFull,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_ttl: Duration::from_secs(300),
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
            admission: TokenAdmission::default(),
        }
    }
}

impl TokenCacheConfig {
    /// No caching: every request is verified in full.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

crate::setters::setters!(TokenCacheConfig {
    enabled: bool,
    max_ttl: Duration,
    max_entries: u64,
    max_bytes: u64,
    admission: TokenAdmission,
});

/// What the verified-token cache holds now (entries past their lifetime
/// count until they are looked up again or evicted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenCacheStats {
    /// Tokens remembered.
    pub entries: u64,
    /// Their weight: estimated bytes, at least `max_bytes / max_entries` each.
    pub weighted_bytes: u64,
}

/// A registration id and a whole token: compared in full, never by a hash.
#[derive(PartialEq, Eq)]
struct TokenKey {
    registration: Box<str>,
    token: Box<str>,
}

/// The same, borrowed from the request: lookups allocate nothing.
struct TokenKeyRef<'a> {
    registration: &'a str,
    /// As the header carries it: already checked to be visible ASCII.
    token: &'a [u8],
}

fn hash_parts<H: Hasher>(registration: &str, token: &[u8], state: &mut H) {
    registration.hash(state);
    token.hash(state);
}

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(&self.registration, self.token.as_bytes(), state);
    }
}

impl Hash for TokenKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.registration, self.token, state);
    }
}

impl Equivalent<TokenKey> for TokenKeyRef<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        *key.registration == *self.registration && key.token.as_bytes() == self.token
    }
}

/// One remembered verification.
pub(crate) struct Verified {
    /// The registration the token was verified under.
    registration: Arc<Registration>,
    /// The key that verified its signature.
    key: KeyLiveness,
    /// Until `min(exp, max_ttl)`, ended early once the cache lets go of it
    /// (evicted, or [`TokenCache::invalidate_all`]).
    liveness: Liveness,
    weight: u32,
    pub(crate) facts: Arc<TokenFacts>,
}

impl Lives for Verified {
    fn liveness(&self) -> &Liveness {
        &self.liveness
    }
}

impl Verified {
    /// Usable at `now`: within its lifetime, still held by the cache, and
    /// its key still published by the IdP.
    pub(crate) fn is_live(&self, now: Instant) -> bool {
        self.liveness.is_live(now) && self.key.is_live()
    }

    /// Its weight in the cache: estimated bytes, at least
    /// `max_bytes / max_entries`.
    pub(crate) fn weight(&self) -> u32 {
        self.weight
    }
}

/// An entry weighs its estimated bytes, at least `max_bytes / max_entries`.
#[derive(Clone, Copy)]
struct ByWeight;

impl Weighter<TokenKey, Arc<Verified>> for ByWeight {
    fn weight(&self, _: &TokenKey, value: &Arc<Verified>) -> u64 {
        u64::from(value.weight)
    }
}

/// A keyed fast hash: tokens are long and attacker-chosen, so SipHash's
/// cost is avoided and the seed is random per cache.
type Hashing = foldhash::quality::RandomState;

/// quick_cache, as every cache here, but a map of its own rather than the
/// shared shape (`crate::cache`): a hit here is a read lock on one shard
/// and an atomic "referenced" mark, with no read log, housekeeping or
/// clock read inside the cache; eviction happens inline on insert, so the
/// bounds hold at every moment, and its policy (S3-FIFO-like) is scan
/// resistant: a flood of one-off tokens does not push out the tokens
/// clients reuse.
type Entries = Cache<TokenKey, Arc<Verified>, ByWeight, Hashing, Evictions>;

/// The cache's lifecycle: an entry let go ends its liveness handle
/// (`MarkDropped`), and an eviction marks the cache full.
#[derive(Clone)]
struct Evictions {
    dropped: MarkDropped<TokenKey, Verified>,
    full: Arc<AtomicBool>,
}

impl Lifecycle<TokenKey, Arc<Verified>> for Evictions {
    type RequestState =
        <MarkDropped<TokenKey, Verified> as Lifecycle<TokenKey, Arc<Verified>>>::RequestState;

    fn begin_request(&self) -> Self::RequestState {
        self.dropped.begin_request()
    }

    fn on_evict(&self, state: &mut Self::RequestState, key: TokenKey, val: Arc<Verified>) {
        self.full.store(true, Ordering::Relaxed);
        self.dropped.on_evict(state, key, val);
    }
}

/// The cache itself. Cheap to clone.
#[derive(Clone)]
pub(crate) struct TokenCache {
    cache: Option<Arc<Entries>>,
    /// The tokens verified once, unless admission is at first sight.
    sightings: Option<Arc<Sightings>>,
    /// Set when the cache evicts an entry to make room (`Evictions`).
    full: Arc<AtomicBool>,
    config: TokenCacheConfig,
    /// The least an entry weighs (`entry_floor`).
    floor: u64,
    lookups: Arc<CacheCounters>,
}

impl TokenCache {
    pub(crate) fn new(config: TokenCacheConfig) -> Self {
        let second_sight = config.admission != TokenAdmission::FirstSight;
        let sightings = (config.enabled && second_sight).then(|| {
            let slots = Sightings::slots_for(items(&config), config.max_bytes);
            Arc::new(Sightings::new(slots))
        });
        // The record of tokens met once is paid for from the byte budget.
        let reserved = sightings.as_ref().map_or(0, |s| s.bytes());
        let capacity = config.max_bytes.saturating_sub(reserved);
        let full = Arc::new(AtomicBool::new(false));
        let cache = config
            .enabled
            .then(|| Arc::new(entries(&config, capacity, &full)));
        Self {
            cache,
            sightings,
            full,
            floor: entry_floor(capacity, config.max_entries),
            config,
            lookups: Arc::new(CacheCounters::new("token")),
        }
    }

    /// A token verified before under a registration that still verifies
    /// alike, with its key still published, within its lifetime at `now`
    /// (one clock read serves both caches on the hit path). The token is
    /// the header's bytes.
    pub(crate) fn get_at(
        &self,
        registration: &Arc<Registration>,
        token: &[u8],
        now: Instant,
    ) -> Option<Arc<Verified>> {
        let cache = self.cache.as_ref()?;
        let key = TokenKeyRef {
            registration: registration.id.as_str(),
            token,
        };
        let Some(hit) = cache.get(&key) else {
            self.lookups.record(false);
            return None;
        };
        // Its key is gone for good, or its time is up.
        let ended = !hit.is_live(now);
        let usable = !ended
            && (Arc::ptr_eq(&hit.registration, registration)
                || hit.registration.verifies_like(registration));
        self.lookups.record(usable);
        if usable {
            return Some(hit);
        }
        if ended {
            // Free the memory now (unless a newer verification replaced it).
            cache.remove_if(&key, |current| Arc::ptr_eq(current, &hit));
        }
        None
    }

    /// Remember a verification until `min(exp, max_ttl)`, if the admission
    /// policy lets it in now.
    pub(crate) fn insert(
        &self,
        registration: &Arc<Registration>,
        token: &str,
        key: &KeyLiveness,
        exp: Option<i64>,
        now_unix: i64,
        facts: &Arc<TokenFacts>,
    ) {
        let Some(cache) = &self.cache else { return };
        let mut ttl = self.config.max_ttl;
        if let Some(exp) = exp {
            match u64::try_from(exp.saturating_sub(now_unix)) {
                Ok(left) if left > 0 => ttl = ttl.min(Duration::from_secs(left)),
                _ => return,
            }
        }
        if !self.admits(registration, token) {
            return;
        }
        let bytes = estimated_bytes(registration.id.as_str(), token, facts);
        let weight = bytes.max(self.floor);
        let value = Arc::new(Verified {
            registration: registration.clone(),
            key: key.clone(),
            liveness: Liveness::until(Instant::now() + ttl),
            weight: u32::try_from(weight).unwrap_or(u32::MAX),
            facts: facts.clone(),
        });
        let key = TokenKey {
            registration: registration.id.as_str().into(),
            token: token.into(),
        };
        cache.insert(key, value);
    }

    /// Whether a verified token goes in now: always at first sight; else
    /// on its second sight (when the cache is full, for the default).
    fn admits(&self, registration: &Registration, token: &str) -> bool {
        let Some(sightings) = &self.sightings else {
            return true;
        };
        let full = || self.full.load(Ordering::Relaxed);
        if self.config.admission == TokenAdmission::SecondSightWhenFull && !full() {
            return true;
        }
        sightings.again((registration.id.as_str(), token))
    }

    /// The byte bound in force (0 when the cache is off).
    pub(crate) fn max_bytes(&self) -> u64 {
        match self.cache {
            Some(_) => self.config.max_bytes,
            None => 0,
        }
    }

    pub(crate) fn stats(&self) -> TokenCacheStats {
        match &self.cache {
            Some(cache) => TokenCacheStats {
                entries: cache.len() as u64,
                weighted_bytes: cache.weight(),
            },
            None => TokenCacheStats::default(),
        }
    }

    /// Forget every remembered verification.
    pub(crate) fn invalidate_all(&self) {
        if let Some(cache) = &self.cache {
            // Drained, not cleared: whoever keeps an entry sees it end.
            for (_, entry) in cache.drain() {
                entry.liveness.drop_now();
            }
            self.full.store(false, Ordering::Relaxed);
        }
    }

    /// Count a hit answered from elsewhere on this cache's behalf (the
    /// per-thread hot set, which holds an entry of this cache).
    pub(crate) fn count_hit(&self) {
        self.lookups.record(true);
    }
}

/// How many entries of about 3 KiB (a typical token's estimate) the
/// budget holds, up to `max_entries`.
fn items(config: &TokenCacheConfig) -> u64 {
    (config.max_bytes / 3072).clamp(1, config.max_entries.max(1))
}

/// The cache for `config`, sized for [`items`] entries, its weight bounded
/// by `capacity` (`max_bytes` less the record of tokens met once); its
/// evictions set `full`.
fn entries(config: &TokenCacheConfig, capacity: u64, full: &Arc<AtomicBool>) -> Entries {
    let items = items(config);
    // A lone entry weighs the whole budget (`entry_floor`): admit it, as
    // quick_cache keeps a share of each shard for entries seen twice.
    let hot = if config.max_entries <= 1 { 1.0 } else { 0.97 };
    let options = OptionsBuilder::new()
        .estimated_items_capacity(usize::try_from(items).unwrap_or(usize::MAX))
        .weight_capacity(capacity)
        .hot_allocation(hot)
        .build();
    let options = options.expect("capacity and weight are both set");
    Cache::with_options(
        options,
        ByWeight,
        Hashing::default(),
        Evictions {
            dropped: MarkDropped::default(),
            full: full.clone(),
        },
    )
}

/// Each entry weighs at least `capacity / max_entries`, so that the byte
/// bound also bounds the entry count by `max_entries`.
fn entry_floor(capacity: u64, max_entries: u64) -> u64 {
    capacity / max_entries.max(1)
}

/// Fixed bookkeeping of an entry: the cache's slot, the `Verified` and its
/// `Arc`, the key's two boxes. Chosen, with the weigher's per-allocation
/// cost, so that the estimate errs high against resident memory.
const ENTRY_OVERHEAD: usize = 1536;

/// Bytes an entry keeps alive: the key (id and token), what the token
/// established as it sits in memory (the claims map and its typed view,
/// the principal — with whatever a userinfo answer put in it — and the
/// issuer), and fixed bookkeeping.
fn estimated_bytes(registration: &str, token: &str, facts: &TokenFacts) -> u64 {
    let key = registration.len() + token.len();
    let bytes = ENTRY_OVERHEAD
        .saturating_add(key)
        .saturating_add(crate::weigh::facts(facts));
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

/// One hash of a lookup key, for tests of key equivalence.
#[cfg(test)]
fn hash_of(hashing: &Hashing, registration: &str, token: &str) -> (u64, u64) {
    use std::hash::BuildHasher;
    let owned = TokenKey {
        registration: registration.into(),
        token: token.into(),
    };
    let borrowed = TokenKeyRef {
        registration,
        token: token.as_bytes(),
    };
    (hashing.hash_one(&owned), hashing.hash_one(&borrowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_and_borrowed_keys_hash_alike_and_compare_in_full() {
        let hashing = Hashing::default();
        let (a, b) = hash_of(&hashing, "quid-1", "h.p.s");
        assert_eq!(a, b);
        let key = TokenKey {
            registration: "quid-1".into(),
            token: "h.p.s".into(),
        };
        let same = TokenKeyRef {
            registration: "quid-1",
            token: b"h.p.s",
        };
        assert!(same.equivalent(&key));
        for (registration, token) in [
            ("quid-1", "h.p.t"),
            ("quid-2", "h.p.s"),
            ("quid-1h", ".p.s"),
        ] {
            assert!(
                !TokenKeyRef {
                    registration,
                    token: token.as_bytes()
                }
                .equivalent(&key)
            );
        }
        // The split between id and token is part of the key.
        assert_ne!(
            hash_of(&hashing, "ab", "c").0,
            hash_of(&hashing, "a", "bc").0
        );
    }

    /// Unless tokens are admitted at first sight, the record of tokens met
    /// once (512 KiB at the defaults) comes out of the byte budget, and so
    /// does each entry's floor.
    #[test]
    fn the_record_of_tokens_met_once_is_paid_from_the_byte_budget() {
        let budget = 64 * 1024 * 1024;
        let record = 512 * 1024;
        for admission in [
            TokenAdmission::SecondSightWhenFull,
            TokenAdmission::SecondSight,
        ] {
            let cache = TokenCache::new(TokenCacheConfig::default().admission(admission));
            let sightings = cache.sightings.as_ref().map(|s| s.bytes());
            assert_eq!(sightings, Some(record), "{admission:?}");
            assert_eq!(cache.floor, (budget - record) / 100_000);
            let entries = cache.cache.as_ref().map(|c| c.capacity());
            assert!(entries.is_some_and(|c| c <= budget - record && c > budget - record - 64));
            assert_eq!(cache.max_bytes(), budget);
        }
        let cache =
            TokenCache::new(TokenCacheConfig::default().admission(TokenAdmission::FirstSight));
        assert!(cache.sightings.is_none());
        assert_eq!(cache.floor, budget / 100_000);
        let off = TokenCache::new(TokenCacheConfig::disabled());
        assert!(off.sightings.is_none() && off.cache.is_none());
    }

    #[test]
    fn the_byte_budget_also_bounds_the_entry_count() {
        assert_eq!(entry_floor(1_000_000, 1000), 1000);
        assert_eq!(entry_floor(1_000_000, 0), 1_000_000);
        let facts = TokenFacts {
            issuer: None,
            principal: crate::Principal::default(),
            claims: crate::Claims::from_map(serde_json::Map::new()),
            confirmation: Default::default(),
        };
        assert!(estimated_bytes("quid-1", "aaaa.bbbb.cccc", &facts) > 1536);
    }
}
