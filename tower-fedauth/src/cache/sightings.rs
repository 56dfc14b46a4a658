//! A fixed-size record of keys met once, for caches that admit a key on
//! its second sight (the verified-token cache).
//!
//! Remembering a key costs more than the lookup that missed it: the entry
//! is allocated, weighed and linked, and in a full cache another entry is
//! evicted and freed, its memory long out of the processor's caches. A key
//! met once and never again (a stream of one-off tokens: many short-lived
//! ones, or an attacker's) pays all of that for nothing. So the cache asks
//! [`Sightings::again`] first: the first sight leaves an 8-byte
//! fingerprint in a direct-mapped table, the second (while the fingerprint
//! is still there) admits the key.
//!
//! The table never grows: [`Sightings::slots_for`] slots of 8 bytes, set
//! once. A fingerprint lasts until another key lands in its slot, on
//! average as many one-off keys later as there are slots; a key presented
//! again after that is simply met for the first time again. Lock-free: two
//! threads racing on a slot can only make a key wait one sight longer.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots of a table sized for a cache: the fewest and the most.
const MIN_SLOTS: usize = 16;
const MAX_SLOTS: usize = 1 << 20;

/// The record of keys met once.
pub(crate) struct Sightings {
    slots: Box<[AtomicU64]>,
    hasher: foldhash::fast::RandomState,
}

impl Sightings {
    /// A table of `slots` slots (a power of two, at least [`MIN_SLOTS`]).
    pub(crate) fn new(slots: usize) -> Self {
        let slots = slots.clamp(MIN_SLOTS, MAX_SLOTS).next_power_of_two();
        Self {
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The slots for a cache of about `entries` entries with a byte budget
    /// of `max_bytes`: two per entry, so that a key met again before the
    /// cache has turned over once is still recorded, and at most a
    /// sixteenth of the budget.
    pub(crate) fn slots_for(entries: u64, max_bytes: u64) -> usize {
        let wanted = usize::try_from(entries.saturating_mul(2)).unwrap_or(MAX_SLOTS);
        let affordable = usize::try_from(max_bytes / 16 / 8).unwrap_or(MAX_SLOTS);
        let most = prev_power_of_two(affordable.clamp(MIN_SLOTS, MAX_SLOTS));
        wanted
            .clamp(MIN_SLOTS, MAX_SLOTS)
            .next_power_of_two()
            .min(most)
    }

    /// The table's memory.
    pub(crate) fn bytes(&self) -> u64 {
        (self.slots.len() * std::mem::size_of::<AtomicU64>()) as u64
    }

    /// Whether `key` was met before (and its fingerprint is still here):
    /// then the fingerprint is cleared and the caller admits the key. Else
    /// the key's fingerprint takes its slot.
    pub(crate) fn again(&self, key: impl Hash) -> bool {
        // Never 0, the empty slot.
        let print = self.hasher.hash_one(key) | 1;
        let slot = &self.slots[(print >> 32) as usize & (self.slots.len() - 1)];
        if slot.load(Ordering::Relaxed) == print {
            slot.store(0, Ordering::Relaxed);
            return true;
        }
        slot.store(print, Ordering::Relaxed);
        false
    }

    /// The slot `key` takes (tests).
    #[cfg(test)]
    pub(crate) fn slot_of(&self, key: impl Hash) -> usize {
        ((self.hasher.hash_one(key) | 1) >> 32) as usize & (self.slots.len() - 1)
    }
}

fn prev_power_of_two(n: usize) -> usize {
    match n {
        0 => 0,
        n => 1 << (usize::BITS - 1 - n.leading_zeros()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_admitted_on_its_second_sight_then_starts_over() {
        let s = Sightings::new(64);
        assert!(!s.again(("quid-1", "a.b.c")), "first sight");
        assert!(s.again(("quid-1", "a.b.c")), "second sight");
        assert!(
            !s.again(("quid-1", "a.b.c")),
            "admitted: the record is cleared"
        );
        assert!(s.again(("quid-1", "a.b.c")));
        // The registration is part of the key.
        assert!(!s.again(("quid-2", "a.b.c")));
        assert!(!s.again(("quid-1", "a.b.d")));
    }

    #[test]
    fn another_key_in_the_slot_ends_the_record() {
        let s = Sightings::new(MIN_SLOTS);
        let first = "token-0";
        let rival = (1..)
            .map(|i| format!("token-{i}"))
            .find(|k| s.slot_of(k.as_str()) == s.slot_of(first))
            .unwrap_or_default();
        assert!(!s.again(first));
        assert!(!s.again(rival.as_str()), "the rival's first sight");
        assert!(
            !s.again(first),
            "its record was overwritten: a first sight again"
        );
        assert!(s.again(first));
    }

    #[test]
    fn the_table_is_sized_for_the_cache_within_a_sixteenth_of_its_budget() {
        // The verified-token cache's defaults: about 21,845 entries in 64 MiB.
        assert_eq!(Sightings::slots_for(21_845, 64 << 20), 65_536);
        assert_eq!(Sightings::new(65_536).bytes(), 512 * 1024);
        // A small budget caps the table: 16 KiB allows 1 KiB, 128 slots.
        assert_eq!(Sightings::slots_for(100_000, 16 * 1024), 128);
        assert_eq!(Sightings::slots_for(5, 16 * 1024), MIN_SLOTS);
        assert_eq!(Sightings::slots_for(u64::MAX, u64::MAX), MAX_SLOTS);
        assert_eq!(Sightings::slots_for(0, 0), MIN_SLOTS);
        assert_eq!(Sightings::new(100).bytes(), 128 * 8);
    }
}
