//! The one cache shape: freshness, single flight, failures, stale-if-error,
//! bounds and liveness.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::join_all;

use super::*;

type Stale = Cache<String, u32, String>;

fn cache(max_stale: Duration, failure_backoff: Duration) -> Stale {
    let shape = Shape {
        max_entries: 100,
        max_stale,
        failure_backoff,
        ..Shape::bytes(100_000, 100)
    };
    Cache::new(shape, |_, _, _| 0)
}

async fn get(
    c: &Stale,
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

/// A cache with a stale bound, holding `value` loaded with no freshness
/// (one load counted).
async fn stale_with(value: u32, max_stale: Duration) -> (Stale, AtomicUsize) {
    let c = cache(max_stale, Duration::ZERO);
    let calls = AtomicUsize::new(0);
    let ok = Ok(Remote::Value(value, Duration::ZERO));
    assert_eq!(get(&c, &calls, ok).await, Ok((Some(value), false)));
    (c, calls)
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
    let (c, calls) = stale_with(7, Duration::from_millis(300)).await;
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
    assert_eq!(calls.load(Ordering::SeqCst), 3, "absent is not kept");
    assert_eq!(get(&c, &calls, Ok(Remote::Absent)).await, Ok((None, false)));
    assert_eq!(calls.load(Ordering::SeqCst), 4, "nor is an uncached value");
}

/// A weighted cache holds at most its weight, whatever its entry bound.
#[tokio::test]
async fn a_weighted_cache_is_bounded_by_weight() {
    let shape = Shape {
        max_stale: Duration::from_secs(60),
        ..Shape::bytes(1_000, 100)
    };
    let c: Stale = Cache::new(shape, |_, value, _| value.map_or(1, |v| *v as usize));
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
        let size = c.size();
        assert!(size.within_bound(), "after {key}: {size:?}");
    }
    let size = c.size();
    assert_eq!(size.weighted_bytes, size.entries * 100);
    assert!((1..=10).contains(&size.entries), "{size:?}");
}

/// Every entry weighs at least `max_bytes / max_entries`: the byte bound
/// also bounds the count.
#[tokio::test]
async fn the_floor_weight_bounds_the_count() {
    let shape = Shape {
        max_entries: 4,
        ..Shape::bytes(4_000, 10)
    };
    let c: Stale = Cache::new(shape, |_, _, _| 10);
    for key in 0..40 {
        let got = c
            .get_or_load(&key.to_string(), || async {
                Ok::<_, String>((key, Duration::from_secs(60)))
            })
            .await;
        assert_eq!(got, Ok(key));
        let size = c.size();
        assert!(size.entries <= 4 && size.within_bound(), "{size:?}");
    }
    assert_eq!(c.size().weighted_bytes, c.len() * 1_000);
}

/// One entry bounded at one: it weighs the whole bound, and is kept.
#[tokio::test]
async fn a_cache_of_one_keeps_its_entry() {
    let shape = Shape {
        max_entries: 1,
        ..Shape::bytes(1 << 20, 100)
    };
    let c: Stale = Cache::new(shape, |_, _, _| 100);
    let calls = AtomicUsize::new(0);
    for _ in 0..3 {
        let ok = Ok(Remote::Value(1, Duration::from_secs(60)));
        assert_eq!(get(&c, &calls, ok).await, Ok((Some(1), false)));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.size().weighted_bytes, 1 << 20);
}

/// Many concurrent lookups of one cold key make one load and all get its
/// value; of a failing key, one load and all get its error, which is not
/// kept for the next lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lookups_make_one_load_and_share_its_outcome() {
    let c = cache(Duration::ZERO, Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let lookup = |answer: Result<u32, String>| {
        let (c, calls) = (c.clone(), calls.clone());
        tokio::spawn(async move {
            c.get_or_load(&"k".to_owned(), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer.clone().map(|v| (v, Duration::from_secs(60)))
            })
            .await
        })
    };
    let all = join_all((0..100).map(|_| lookup(Ok(3)))).await;
    assert!(all.into_iter().all(|r| r.unwrap() == Ok(3)));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    c.invalidate_all();
    let all = join_all((0..100).map(|_| lookup(Err("down".to_owned())))).await;
    assert!(
        all.into_iter()
            .all(|r| r.unwrap() == Err("down".to_owned()))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one load for the failure");
    assert_eq!(
        lookup(Ok(4)).await.unwrap(),
        Ok(4),
        "the failure is not kept"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

/// An answer heavier than the whole cache is not kept, but every lookup
/// that waited for its load gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_too_heavy_to_keep_still_answers_its_waiters() {
    let c: Stale = Cache::new(Shape::bytes(1_000, 100), |_, _, _| 5_000);
    let calls = Arc::new(AtomicUsize::new(0));
    let lookups = (0..50).map(|_| {
        let (c, calls) = (c.clone(), calls.clone());
        tokio::spawn(async move {
            c.get_or_load("k", || async {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, String>((8, Duration::from_secs(60)))
            })
            .await
        })
    });
    let all = join_all(lookups).await;
    assert!(all.into_iter().all(|r| r.unwrap() == Ok(8)));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.len(), 0, "not kept");
}

/// A load whose lookup went away puts the entry it replaced back: its last
/// good value still serves while the next load fails.
#[tokio::test]
async fn a_load_dropped_midway_keeps_the_last_good_value() {
    let (c, calls) = stale_with(9, Duration::from_secs(60)).await;
    let slow = c.get("k", |_| async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok(Remote::Value(10, Duration::ZERO))
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(20), slow)
            .await
            .is_err()
    );
    let down = Err("down".to_owned());
    assert_eq!(get(&c, &calls, down).await, Ok((Some(9), true)));
}

/// An entry's liveness ends when the cache lets go of it: invalidated or
/// replaced by a newer load.
#[tokio::test]
async fn an_entry_ends_when_the_cache_lets_go_of_it() {
    let c = cache(Duration::from_secs(60), Duration::ZERO);
    let key = "k".to_owned();
    c.insert(key.clone(), 1, Duration::from_secs(60));
    let held = c.inner.entries.get(&key).unwrap();
    assert!(held.liveness().is_live(Instant::now()));
    c.invalidate(&key);
    assert!(!held.liveness().is_live(Instant::now()));

    // Fresh for no time, kept for its stale bound: the next lookup loads.
    let calls = AtomicUsize::new(0);
    let ok = |v| Ok(Remote::Value(v, Duration::ZERO));
    assert_eq!(get(&c, &calls, ok(2)).await, Ok((Some(2), false)));
    let held = c.inner.entries.get(&key).unwrap();
    assert!(held.liveness().is_live(Instant::now()));
    assert_eq!(get(&c, &calls, ok(3)).await, Ok((Some(3), false)));
    assert!(!held.liveness().is_live(Instant::now()), "replaced");
}
