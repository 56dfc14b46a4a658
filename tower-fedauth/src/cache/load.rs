//! Lookups: answered from the entry when it can, otherwise by one load
//! for every lookup of the key that waits on it.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::Equivalent;
use quick_cache::sync::{EntryAction, EntryResult, PlaceholderGuard};

use super::slot::{Lookup, Remote, Slot};
use super::{ByWeight, Cache, Hashing};
use crate::liveness::{Lives, MarkDropped};

type Guard<'a, K, V, E> =
    PlaceholderGuard<'a, K, Arc<Slot<V, E>>, ByWeight, Hashing, MarkDropped<K, Slot<V, E>>>;

/// A load under way: the key's placeholder, which makes the other lookups
/// of the key wait, and the entry it replaces. A load dropped before it
/// finishes (its request went away) puts that entry back, so its last good
/// value is not lost, and a waiting lookup loads instead.
struct Loading<'a, K: Hash + Eq, V, E> {
    guard: Option<Guard<'a, K, V, E>>,
    previous: Option<Arc<Slot<V, E>>>,
}

impl<'a, K: Hash + Eq, V, E> Loading<'a, K, V, E> {
    fn new(guard: Guard<'a, K, V, E>, previous: Option<Arc<Slot<V, E>>>) -> Self {
        Self {
            guard: Some(guard),
            previous,
        }
    }

    /// Keep `slot` and wake the lookups waiting for it (they read it
    /// whatever its lifetime); the entry it replaces ends.
    fn finish(mut self, slot: Arc<Slot<V, E>>) {
        if let Some(guard) = self.guard.take() {
            let _ = guard.insert(slot);
        }
        if let Some(previous) = self.previous.take() {
            previous.liveness().drop_now();
        }
    }
}

impl<K: Hash + Eq, V, E> Drop for Loading<'_, K, V, E> {
    fn drop(&mut self) {
        if let (Some(guard), Some(previous)) = (self.guard.take(), self.previous.take()) {
            let _ = guard.insert(previous);
        }
    }
}

impl<K, V, E> Cache<K, V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// The value of `key`: from the entry while it is fresh (or while its
    /// failure backs off), else from `load` — given the last good value, to
    /// revalidate it — or, while `load` fails, the last good value within
    /// the stale bound. Concurrent lookups make one load and share its
    /// outcome.
    pub(crate) async fn get<Q, F, Fut>(&self, key: &Q, load: F) -> Result<Lookup<V>, E>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        F: FnOnce(Option<V>) -> Fut,
        Fut: Future<Output = Result<Remote<V>, E>>,
    {
        let asked = Instant::now();
        let entries = &self.inner.entries;
        let loading = loop {
            // Waits for a load under way, and takes its outcome even when
            // it is not kept (heavier than the cache holds).
            match entries.get_value_or_guard_async(key).await {
                Ok(slot) => {
                    if let Some(answer) = slot.answer(Instant::now(), asked) {
                        self.count(true);
                        return answer;
                    }
                }
                Err(guard) => {
                    break Loading::new(guard, None);
                }
            }
            // An entry that does not answer: replace it, unless another
            // lookup did meanwhile.
            let entry = entries
                .entry_async(key, |_, slot| match slot.answer(Instant::now(), asked) {
                    Some(answer) => EntryAction::Retain(answer),
                    None => EntryAction::ReplaceWithGuard,
                })
                .await;
            match entry {
                EntryResult::Retained(answer) => {
                    self.count(true);
                    return answer;
                }
                EntryResult::Replaced(guard, previous) => {
                    break Loading::new(guard, Some(previous));
                }
                EntryResult::Vacant(guard) => {
                    break Loading::new(guard, None);
                }
                // Neither is asked for.
                EntryResult::Removed(..) | EntryResult::Timeout => {}
            }
        };
        self.count(false);
        let last_good = loading
            .previous
            .as_ref()
            .and_then(|p| p.last_good(Instant::now()));
        let outcome = load(last_good.as_ref().map(|g| g.value.clone())).await;
        let now = Instant::now();
        let slot = Slot::settle(outcome, last_good, self.lifetimes(), now);
        let slot = self.weighed(&key.to_owned(), slot);
        let answer = slot.outcome(now);
        loading.finish(slot);
        answer
    }

    /// The value of `key`, from the entry while it is fresh or from `load`
    /// (a value and how long it is fresh): for caches whose loads always
    /// give a value or fail.
    pub(crate) async fn get_or_load<Q, F, Fut>(&self, key: &Q, load: F) -> Result<V, E>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(V, Duration), E>>,
    {
        loop {
            let lookup = self
                .get(key, |_| async {
                    load()
                        .await
                        .map(|(value, fresh)| Remote::Value(value, fresh))
                })
                .await?;
            // Every load gives a value; an entry without one was put there
            // by nothing but another kind of load, and is loaded over.
            if let Some(value) = lookup.value {
                return Ok(value);
            }
        }
    }
}
