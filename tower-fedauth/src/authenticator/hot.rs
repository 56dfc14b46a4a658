//! The per-thread hot set: the contexts of the few tokens a thread sees
//! again and again, answered without touching anything another thread
//! writes.
//!
//! A hit in the shared caches clones and drops reference counts of the
//! cached registration, token facts and claims, and takes the caches'
//! read locks: cache lines that every worker thread writes. When two cores
//! serve the same caller, each of those lines moves between them on every
//! request, and on some placements of a VM's vCPUs that costs more than
//! the rest of the decision (`hit-parallel`: 0.4 µs alone, 1.3–1.6 µs on
//! each of two threads at once). Machine callers that reuse one token for
//! an hour are common, so each thread keeps a few prepared contexts of its
//! own: a hit here reads the thread's slot, compares the registration id,
//! token and property in full, checks that nothing the entry relied on has
//! changed, and clones a context only this thread holds. Only the metric
//! counters stay shared.
//!
//! An entry keeps the two answers it was made of — the registry cache's
//! and the verified-token cache's — and is used only while each cache's
//! liveness handle (`crate::liveness`) says a lookup there would still
//! return it: unexpired, not evicted to make room, not removed or
//! invalidated, and the token's key still published. So it never outlives
//! what the shared caches would have answered, and it reaches into neither:
//! the caches end the handles, the hot set only reads them. Entries are
//! per authenticator (a process-unique number).
//!
//! Entries are admitted on the second consecutive shared-cache hit of the
//! same credentials in their slot, so a stream of distinct tokens costs a
//! hash and a store, not a copy. Memory: [`SLOTS`] entries per thread,
//! tokens up to [`MAX_TOKEN_BYTES`], entries weighing up to
//! [`MAX_ENTRY_BYTES`] (so a large userinfo answer copied into a principal
//! is not copied again per thread), outside the token cache's bounds.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::context::{AuthContext, TokenFacts};
use crate::registry::{Answer, Resolved};
use crate::token_cache::Verified;

/// Entries per thread (direct-mapped by hash).
const SLOTS: usize = 16;

/// Longer tokens are never kept here (they still hit the shared caches).
const MAX_TOKEN_BYTES: usize = 4096;

/// Verified-token entries weighing more (token, claims, principal, as the
/// token cache weighs them) are never kept here either.
const MAX_ENTRY_BYTES: u32 = 32 * 1024;

/// A number no other authenticator of this process has.
pub(super) fn new_owner() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The credentials of a request, borrowed.
#[derive(Clone, Copy)]
pub(super) struct Credentials<'a> {
    pub(super) owner: u64,
    pub(super) registration: &'a str,
    pub(super) token: &'a [u8],
    pub(super) property: Option<&'a str>,
}

struct Entry {
    owner: u64,
    hash: u64,
    registration: Box<str>,
    token: Box<[u8]>,
    property: Option<Box<str>>,
    /// The registry cache's answer it came from (its registration counts
    /// the acceptance), and the verified-token entry: the entry is used
    /// while both caches would still answer them.
    registry_answer: Answer,
    verified: Arc<Verified>,
    /// This thread's own context: its reference count and its claims'
    /// are written by this thread only.
    ctx: AuthContext,
}

impl Entry {
    fn matches(&self, hash: u64, creds: &Credentials<'_>) -> bool {
        self.hash == hash
            && self.owner == creds.owner
            && *self.registration == *creds.registration
            && *self.token == *creds.token
            && self.property.as_deref() == creds.property
    }

    fn usable(&self, now: Instant) -> bool {
        self.registry_answer.is_current(now) && self.verified.is_live(now)
    }
}

#[derive(Default)]
struct Slot {
    entry: Option<Box<Entry>>,
    /// The hash of the last credentials offered here and not admitted.
    candidate: u64,
}

struct HotSet {
    hasher: foldhash::fast::RandomState,
    slots: [Slot; SLOTS],
}

impl HotSet {
    fn hash(&self, creds: &Credentials<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        creds.owner.hash(&mut h);
        creds.registration.hash(&mut h);
        creds.token.hash(&mut h);
        creds.property.hash(&mut h);
        h.finish()
    }
}

thread_local! {
    static HOT: RefCell<HotSet> = RefCell::new(HotSet {
        hasher: foldhash::fast::RandomState::default(),
        slots: Default::default(),
    });
}

/// What a lookup found.
pub(super) enum Lookup {
    /// A context of this thread's own (already counted through `count`).
    Hit(AuthContext),
    /// Not here: the hash to offer the shared caches' answer under.
    Miss(u64),
    /// Not kept here at all (a long token, or the thread is exiting).
    Never,
}

/// Look `creds` up; on a hit, `count` runs with the entry's registration
/// and token facts (the caller checks the request's sender constraint and
/// counts the outcome) before the context is returned, unless it says no.
pub(super) fn lookup(
    creds: &Credentials<'_>,
    now: Instant,
    count: impl FnOnce(&Resolved, &TokenFacts) -> bool,
) -> Lookup {
    if creds.token.len() > MAX_TOKEN_BYTES {
        return Lookup::Never;
    }
    // `try_`: a thread being torn down, or (never expected) a lookup from
    // inside a metrics recorder called by this one, simply misses.
    HOT.try_with(|hot| {
        let Ok(hot) = hot.try_borrow() else {
            return Lookup::Never;
        };
        let hash = hot.hash(creds);
        match &hot.slots[slot_of(hash)].entry {
            Some(entry) if entry.matches(hash, creds) && entry.usable(now) => {
                // Always found: only acceptances are offered.
                let Some(resolved) = entry.registry_answer.found() else {
                    return Lookup::Miss(hash);
                };
                if !count(resolved, &entry.verified.facts) {
                    return Lookup::Never;
                }
                #[cfg(test)]
                HITS.with(|hits| hits.set(hits.get() + 1));
                Lookup::Hit(entry.ctx.clone())
            }
            _ => Lookup::Miss(hash),
        }
    })
    .unwrap_or(Lookup::Never)
}

/// Offer the shared caches' acceptance of `creds` (hashed to `hash` by
/// [`lookup`]): `ctx`, made from the registry cache's `answer` and the
/// verified-token entry `token`. Admitted if
/// the same credentials were offered to this slot last time, else
/// remembered as the slot's candidate.
pub(super) fn offer(
    hash: u64,
    creds: &Credentials<'_>,
    ctx: &AuthContext,
    answer: Answer,
    token: Arc<Verified>,
) {
    if token.weight() > MAX_ENTRY_BYTES {
        return;
    }
    let _ = HOT.try_with(|hot| {
        let Ok(mut hot) = hot.try_borrow_mut() else {
            return;
        };
        let slot = &mut hot.slots[slot_of(hash)];
        if slot.candidate != hash {
            slot.candidate = hash;
            return;
        }
        slot.candidate = 0;
        #[cfg(test)]
        ADMITTED.with(|admitted| admitted.set(admitted.get() + 1));
        slot.entry = Some(Box::new(Entry {
            owner: creds.owner,
            hash,
            registration: creds.registration.into(),
            token: creds.token.into(),
            property: creds.property.map(Into::into),
            registry_answer: answer,
            verified: token,
            ctx: own_copy(ctx),
        }));
    });
}

fn slot_of(hash: u64) -> usize {
    // The high bits: foldhash mixes them best.
    (hash >> 60) as usize % SLOTS
}

/// A context equal to `ctx` whose reference counts (its own and its
/// claims') no other thread touches. Never with a user: the hot set is
/// off when a user directory is configured.
fn own_copy(ctx: &AuthContext) -> AuthContext {
    let facts = Arc::new(TokenFacts {
        issuer: ctx.issuer().map(str::to_owned),
        principal: ctx.principal().clone(),
        claims: crate::claims::Claims::from_map(ctx.claims().as_map().clone()),
        confirmation: ctx.confirmation().clone(),
    });
    AuthContext::from_facts(
        ctx.registration().clone(),
        ctx.property().map(str::to_owned),
        ctx.roles().clone(),
        facts,
        ctx.registration_label(),
    )
}

#[cfg(test)]
thread_local! {
    static HITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static ADMITTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Entries this thread has made so far (tests).
#[cfg(test)]
fn admitted_on_this_thread() -> u64 {
    ADMITTED.with(std::cell::Cell::get)
}

/// The slot `creds` take on this thread (tests).
#[cfg(test)]
fn slot_on_this_thread(creds: &Credentials<'_>) -> usize {
    HOT.with(|hot| slot_of(hot.borrow().hash(creds)))
}

/// Requests this thread answered from its hot set so far (tests).
#[cfg(test)]
pub(super) fn hits_on_this_thread() -> u64 {
    HITS.with(std::cell::Cell::get)
}

#[cfg(test)]
#[path = "hot_tests.rs"]
mod tests;
