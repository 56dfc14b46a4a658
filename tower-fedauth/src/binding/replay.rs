//! The replay cache of DPoP proofs (RFC 9449 §11.1): every accepted proof's
//! id — a 128-bit keyed hash of its key's thumbprint and its `jti` (two
//! foldhash hashes under random seeds: ids of different proofs coincide
//! with negligible odds, and a coincidence could only refuse a proof,
//! never accept one twice) — until the time its `iat` stops being accepted
//! anyway.
//!
//! Bounded in bytes. When it is full, the oldest ids are forgotten first,
//! and the cache's *floor* rises to the last moment any forgotten id was
//! still acceptable: from then on a proof whose acceptance ends at or before
//! the floor is refused, as if its `iat` were too old. So a forgotten id can
//! never be replayed; under a flood the accepted window shrinks instead (and
//! returns as the entries expire). Ids that expire are dropped the same way.
//!
//! Sharded by the id's hash, each shard a set and a queue in arrival order
//! under its own lock; a replay lands in the shard of the original.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;

/// Bytes an id costs: its slot in the set and in the queue, with the
/// tables' spare room.
pub(crate) const ENTRY_BYTES: u64 = 96;

const SHARDS: usize = 16;

/// Why a proof was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its id was seen before.
    Replayed,
    /// Ids of its age may have been forgotten (the cache was full).
    TooOld,
}

#[derive(Default)]
struct Shard {
    seen: HashSet<u128, foldhash::fast::RandomState>,
    /// Ids in arrival order, with the unix second their acceptance ends.
    order: VecDeque<(u64, u128)>,
    /// Proofs whose acceptance ends at or before this second are refused.
    floor: u64,
}

impl Shard {
    /// Forget the front id, raising the floor to its end.
    fn forget_oldest(&mut self) {
        if let Some((until, id)) = self.order.pop_front() {
            self.seen.remove(&id);
            self.floor = self.floor.max(until);
        }
    }
}

pub(crate) struct ReplayCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// The two halves of an id.
    ids: [foldhash::quality::RandomState; 2],
    hasher: foldhash::fast::RandomState,
}

impl ReplayCache {
    pub(crate) fn new(max_bytes: u64) -> Self {
        let entries = usize::try_from(max_bytes / ENTRY_BYTES).unwrap_or(usize::MAX);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: (entries / SHARDS).max(1),
            ids: Default::default(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Record the proof `jti` of the key `thumbprint`, acceptable until the
    /// unix second `until`, at `now`; refused if seen, or if ids that old
    /// may have been forgotten.
    pub(crate) fn record(
        &self,
        thumbprint: &[u8; 32],
        jti: &str,
        until: u64,
        now: u64,
    ) -> Result<(), Refused> {
        let half = |seeds: &foldhash::quality::RandomState| {
            let mut h = seeds.build_hasher();
            thumbprint.hash(&mut h);
            jti.hash(&mut h);
            u128::from(h.finish())
        };
        let id = half(&self.ids[0]) << 64 | half(&self.ids[1]);
        let shard = self.hasher.hash_one(id) as usize % SHARDS;
        // A poisoned lock only means another thread panicked mid-update;
        // the set and queue stay consistent enough to keep refusing.
        let mut shard = self.shards[shard]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while shard.order.front().is_some_and(|&(end, _)| end < now) {
            shard.forget_oldest();
        }
        if until <= shard.floor {
            return Err(Refused::TooOld);
        }
        if !shard.seen.insert(id) {
            return Err(Refused::Replayed);
        }
        shard.order.push_back((until, id));
        while shard.order.len() > self.per_shard {
            shard.forget_oldest();
        }
        // The proof itself may have been the one forgotten.
        match shard.seen.contains(&id) {
            true => Ok(()),
            false => Err(Refused::TooOld),
        }
    }

    /// Ids remembered now (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.seen.len()).unwrap_or(0))
            .sum()
    }
}
