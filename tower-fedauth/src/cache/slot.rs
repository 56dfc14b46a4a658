//! What a cache keeps per key: the last good value with its lifetimes, the
//! last failure with its back-off, when that outcome was loaded, and its
//! liveness. A slot is never changed: a load makes a new one.

use std::time::{Duration, Instant};

use crate::liveness::{Liveness, Lives};

/// What one load answered.
pub(crate) enum Remote<V> {
    /// A new value, fresh for this long (zero: it answers only the lookups
    /// that waited for it, and serves stale while loads fail).
    Value(V, Duration),
    /// A new value that must not be kept (`Cache-Control: no-store`): it
    /// answers the lookups that waited for it, and nothing after.
    Uncached(V),
    /// The last good value is still valid (HTTP 304), fresh for this long.
    /// With no last good value, the key is absent.
    NotModified(Duration),
    /// Nothing there (HTTP 404): the key is absent.
    Absent,
}

/// The answer of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookup<V> {
    /// The value, `None` when the key is absent at the remote side.
    pub value: Option<V>,
    /// Served past its freshness because loads fail (stale-if-error).
    pub stale: bool,
}

/// A value and how long it serves.
#[derive(Clone)]
pub(super) struct Good<V> {
    pub(super) value: V,
    /// Until then it is the answer, without a load.
    fresh_until: Instant,
    /// Until then it still answers while loads fail.
    stale_until: Instant,
}

/// A failed load and until when it answers instead of a new one.
struct Failure<E> {
    error: E,
    until: Instant,
}

/// See the module documentation.
pub(crate) struct Slot<V, E> {
    good: Option<Good<V>>,
    failure: Option<Failure<E>>,
    /// When the load that made it finished: it answers every lookup that
    /// began before, whatever its lifetimes (single flight).
    loaded_at: Instant,
    /// Ends when the slot answers nothing any more, or when the cache lets
    /// go of it.
    liveness: Liveness,
    /// Its weight in the cache, fixed when it is made.
    weight: u32,
}

impl<V, E> Lives for Slot<V, E> {
    fn liveness(&self) -> &Liveness {
        &self.liveness
    }
}

impl<V, E> Slot<V, E> {
    /// Weighed: `bytes` as the cache weighs it.
    pub(super) fn weighed(mut self, bytes: u32) -> Self {
        self.weight = bytes;
        self
    }

    /// Its weight.
    pub(super) fn weight(&self) -> u32 {
        self.weight
    }

    /// The value, if it holds one.
    pub(super) fn value(&self) -> Option<&V> {
        self.good.as_ref().map(|g| &g.value)
    }

    /// The failure, if the last load failed.
    pub(super) fn error(&self) -> Option<&E> {
        self.failure.as_ref().map(|f| &f.error)
    }
}

/// `now + d`, or a time far enough ahead when that overflows.
pub(super) fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// The lifetimes a load gives: how long its value is fresh, how long past
/// that it serves while loads fail, how long a failure answers.
#[derive(Clone, Copy)]
pub(super) struct Lifetimes {
    pub(super) max_stale: Duration,
    pub(super) failure_backoff: Duration,
}

impl<V: Clone, E: Clone> Slot<V, E> {
    /// The slot a load leaves at `now`: from `outcome`, with `last_good` (the
    /// value the load was given) kept while loads fail.
    pub(super) fn settle(
        outcome: Result<Remote<V>, E>,
        last_good: Option<Good<V>>,
        lifetimes: Lifetimes,
        now: Instant,
    ) -> Self {
        let stamped = |value: V, fresh: Duration| {
            let fresh_until = later(now, fresh);
            Good {
                value,
                fresh_until,
                stale_until: later(fresh_until, lifetimes.max_stale),
            }
        };
        let (good, failure) = match outcome {
            Ok(Remote::Value(value, fresh)) => (Some(stamped(value, fresh)), None),
            Ok(Remote::NotModified(fresh)) => (last_good.map(|g| stamped(g.value, fresh)), None),
            Ok(Remote::Uncached(value)) => {
                let gone = Good {
                    value,
                    fresh_until: now,
                    stale_until: now,
                };
                (Some(gone), None)
            }
            Ok(Remote::Absent) => (None, None),
            Err(error) => {
                let until = later(now, lifetimes.failure_backoff);
                (last_good, Some(Failure { error, until }))
            }
        };
        Self::new(good, failure, now)
    }

    /// A slot holding `value`, fresh for `fresh`, as if loaded at `now`.
    pub(super) fn holding(value: V, fresh: Duration, now: Instant) -> Self {
        let until = later(now, fresh);
        let good = Good {
            value,
            fresh_until: until,
            stale_until: until,
        };
        Self::new(Some(good), None, now)
    }

    fn new(good: Option<Good<V>>, failure: Option<Failure<E>>, now: Instant) -> Self {
        let kept_until = good.as_ref().map(|g| g.stale_until);
        let backing_off = failure.as_ref().map(|f| f.until);
        Self {
            good,
            failure,
            loaded_at: now,
            liveness: Liveness::until(kept_until.max(backing_off).unwrap_or(now)),
            weight: 0,
        }
    }

    /// The value a new load is given (to revalidate it, and to serve while
    /// the load fails): the last good one, within its stale bound at `now`.
    pub(super) fn last_good(&self, now: Instant) -> Option<Good<V>> {
        self.good.clone().filter(|g| now < g.stale_until)
    }

    /// What this slot answers a lookup that began at `asked`, at `now`:
    /// its value while fresh; its outcome if it was loaded since the lookup
    /// began (the lookup waited for that load) or while its failure backs
    /// off; `None` when a new load must answer.
    pub(super) fn answer(&self, now: Instant, asked: Instant) -> Option<Result<Lookup<V>, E>> {
        let fresh = self.good.as_ref().is_some_and(|g| now < g.fresh_until);
        let backing_off = self.failure.as_ref().is_some_and(|f| now < f.until);
        (fresh || backing_off || self.loaded_at >= asked).then(|| self.outcome(now))
    }

    /// The outcome of the load that made it, at `now`: its value; or, if
    /// it failed, the last good value within its stale bound, else the
    /// failure.
    pub(super) fn outcome(&self, now: Instant) -> Result<Lookup<V>, E> {
        let Some(failure) = &self.failure else {
            return Ok(Lookup {
                value: self.value().cloned(),
                stale: false,
            });
        };
        match self.good.as_ref().filter(|g| now < g.stale_until) {
            Some(g) => Ok(Lookup {
                value: Some(g.value.clone()),
                stale: now >= g.fresh_until,
            }),
            None => Err(failure.error.clone()),
        }
    }
}
