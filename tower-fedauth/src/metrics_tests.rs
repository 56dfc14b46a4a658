//! Metrics read through a test recorder, and refresh ahead of expiry.

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

use crate::keys::CachePolicy;
use crate::registration::{Provider, Registration};
use crate::registry::InMemoryRegistry;
use crate::testkit::MockIdp;
use crate::{Authenticator, Credentials, ErrorCode};

fn registration(idp: &MockIdp) -> Registration {
    Registration::builder("quid-1", Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .build()
        .unwrap()
}

/// A mock IdP and an authenticator with its registration `quid-1`,
/// counting decisions per registration.
async fn started() -> (MockIdp, Authenticator) {
    started_with(true).await
}

/// The same, with per-registration labels `on` or not.
async fn started_with(labels: bool) -> (MockIdp, Authenticator) {
    let idp = MockIdp::start().await;
    let auth = Authenticator::builder(InMemoryRegistry::new(vec![registration(&idp)]).unwrap())
        .egress(crate::testkit::local_egress())
        .registration_metric_labels(labels)
        .build();
    (idp, auth)
}

fn credentials(token: String, registration: &str) -> Credentials {
    Credentials {
        token,
        registration: registration.into(),
    }
}

/// A metric: name, sorted labels, value.
pub(crate) type Metric = (String, Vec<(String, String)>, DebugValue);

/// Every metric of the snapshot as `(name, sorted labels, value)`.
fn read(snapshotter: &Snapshotter) -> Vec<Metric> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<_> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            (key.name().to_owned(), labels, value)
        })
        .collect()
}

pub(crate) fn counter(all: &[Metric], name: &str, labels: &[(&str, &str)]) -> u64 {
    let mut want: Vec<_> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    all.iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|(_, _, v)| match v {
            DebugValue::Counter(c) => *c,
            other => panic!("{name} is not a counter: {other:?}"),
        })
        .unwrap_or(0)
}

/// `(hits, misses)` of one cache's lookups.
pub(crate) fn hits_and_misses(all: &[Metric], cache: &str) -> (u64, u64) {
    use crate::metrics::CACHE_REQUESTS;
    let count = |result| counter(all, CACHE_REQUESTS, &[("cache", cache), ("result", result)]);
    (count("hit"), count("miss"))
}

/// Accepted decisions of one registration.
pub(crate) fn accepted(all: &[Metric], registration: &str) -> u64 {
    use crate::metrics::DECISIONS;
    let labels = [
        ("outcome", "accepted"),
        ("code", "none"),
        ("registration", registration),
    ];
    counter(all, DECISIONS, &labels)
}

/// Every metric recorded while `body` runs on a current-thread runtime
/// (a local recorder sees only this thread).
pub(crate) fn recorded(body: impl AsyncFnOnce()) -> Vec<Metric> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(body()));
    read(&snapshotter)
}

#[test]
fn a_refusal_and_an_acceptance_move_the_right_counters() {
    let all = recorded(async || {
        let (idp, auth) = started().await;
        let accepted = auth.verify(&credentials(idp.mint(), "quid-1"), None).await;
        assert_eq!(accepted.unwrap().subject(), "alice");
        let wrong_audience = idp
            .token()
            .audience("someone-else")
            .sign(&idp.signing_key());
        let refused = auth
            .verify(&credentials(wrong_audience, "quid-1"), None)
            .await;
        assert_eq!(refused.unwrap_err().code(), ErrorCode::InvalidAudience);
        let unknown = auth
            .verify(&credentials(idp.mint(), "quid-nobody"), None)
            .await;
        assert_eq!(unknown.unwrap_err().code(), ErrorCode::UnknownRegistration);
        idp.shutdown().await;
    });

    let decisions = "fedauth_decisions_total";
    let decision = |outcome, code, registration| {
        counter(
            &all,
            decisions,
            &[
                ("outcome", outcome),
                ("code", code),
                ("registration", registration),
            ],
        )
    };
    assert_eq!(decision("accepted", "none", "quid-1"), 1);
    assert_eq!(decision("refused", "invalid_audience", "quid-1"), 1);
    // An id that did not resolve is not a label value.
    assert_eq!(decision("refused", "unknown_registration", ""), 1);
    assert_eq!(
        decision("refused", "unknown_registration", "quid-nobody"),
        0
    );
    let total: u64 = all
        .iter()
        .filter(|(n, _, _)| n == decisions)
        .map(|(_, _, v)| match v {
            DebugValue::Counter(c) => *c,
            _ => 0,
        })
        .sum();
    assert_eq!(total, 3, "exactly one decision per request");

    let kind = |k| [("kind", k), ("outcome", "ok")];
    assert_eq!(counter(&all, "fedauth_key_fetches_total", &kind("jwks")), 1);
    assert_eq!(
        counter(
            &all,
            "fedauth_key_fetches_total",
            &[("kind", "jwks"), ("outcome", "error")]
        ),
        0
    );
    let cache = |c, r| {
        counter(
            &all,
            "fedauth_cache_requests_total",
            &[("cache", c), ("result", r)],
        )
    };
    assert_eq!((cache("jwks", "miss"), cache("jwks", "hit")), (1, 1));
    // quid-1 missed once, then hit; quid-nobody missed (and is now cached as unknown).
    assert_eq!(
        (cache("registry", "miss"), cache("registry", "hit")),
        (2, 1)
    );
    let durations = all
        .iter()
        .find(|(n, l, _)| {
            n == "fedauth_fetch_duration_seconds" && *l == [("kind".to_owned(), "jwks".to_owned())]
        })
        .map(|(_, _, v)| match v {
            DebugValue::Histogram(values) => values.len(),
            _ => 0,
        });
    assert_eq!(durations, Some(1));
}

#[test]
fn a_refusal_before_the_registration_is_counted_without_it() {
    let all = recorded(async || {
        let auth = Authenticator::builder(InMemoryRegistry::new(vec![]).unwrap())
            .registration_metric_labels(true)
            .build();
        let req = http::Request::builder().body(()).unwrap();
        let refused = auth.authenticate(&req).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::MissingToken);
    });
    assert_eq!(
        counter(
            &all,
            "fedauth_decisions_total",
            &[
                ("outcome", "refused"),
                ("code", "missing_token"),
                ("registration", "")
            ]
        ),
        1
    );
}

/// Keys about to expire under steady traffic: a background refresh renews
/// them, and no request after the first waits on a fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_refreshed_ahead_of_expiry_without_a_request_waiting() {
    let idp = MockIdp::start().await;
    // Every fetch takes 100 ms; keys stay fresh 3 s, refreshed from 2.4 s on.
    idp.set_delay(Duration::from_millis(100));
    let ttl = Duration::from_secs(3);
    let policy = CachePolicy {
        default_ttl: ttl,
        min_ttl: ttl,
        max_ttl: ttl,
        ..CachePolicy::default()
    };
    let auth = Authenticator::builder(InMemoryRegistry::new(vec![registration(&idp)]).unwrap())
        .egress(crate::testkit::local_egress())
        .key_cache(policy)
        // Every request must use the key set, not the verified-token cache.
        .token_cache(crate::TokenCacheConfig::disabled())
        .build();
    let token = idp.token().expires_in(3600).sign(&idp.signing_key());
    auth.verify(&credentials(token.clone(), "quid-1"), None)
        .await
        .unwrap();
    assert_eq!((auth.key_fetch_waits(), idp.jwks_fetches()), (1, 1));

    // Steady traffic for a little over two lifetimes of the key set.
    let started = tokio::time::Instant::now();
    // A request every 10 ms plus its own cost (a debug build of the
    // RustCrypto backend on a loaded machine takes tens of ms): counted by
    // the key set's refresh-ahead window (2.4–3 s, 4.8–6 s), which traffic
    // must reach.
    let mut in_windows = 0;
    while started.elapsed() < Duration::from_millis(6_900) {
        let at = started.elapsed();
        auth.verify(&credentials(token.clone(), "quid-1"), None)
            .await
            .unwrap();
        let ms = at.as_millis();
        in_windows += u32::from((2_400..3_000).contains(&ms) || (4_800..6_000).contains(&ms));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        in_windows >= 4,
        "only {in_windows} requests in the refresh windows"
    );
    // Two refreshes at least happened (at 2.4–2.85 s and 4.8–5.7 s), all in
    // the background: no request after the first saw a fetch.
    assert!(idp.jwks_fetches() >= 3, "{} fetches", idp.jwks_fetches());
    // Exact: the only wait was the first request's cold fetch.
    assert_eq!(auth.key_fetch_waits(), 1, "a request waited on a fetch");
    idp.shutdown().await;
}

#[test]
fn a_role_refusal_is_counted_for_its_registration() {
    let all = recorded(async || {
        let (idp, auth) = started().await;
        let ctx = auth.verify(&credentials(idp.mint(), "quid-1"), None).await;
        let refused = ctx.unwrap().require_role("admin").unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InsufficientRole);
        assert_eq!(refused.status().as_u16(), 403);
        idp.shutdown().await;
    });
    let decision = |outcome, code| {
        counter(
            &all,
            "fedauth_decisions_total",
            &[
                ("outcome", outcome),
                ("code", code),
                ("registration", "quid-1"),
            ],
        )
    };
    assert_eq!(decision("accepted", "none"), 1);
    assert_eq!(decision("refused", "insufficient_role"), 1);
}

/// By default no decision carries a `registration` label: accepted,
/// refused after the registration resolved (at once from the caches, after
/// a full verification, by a role check), refused before it.
#[test]
fn decisions_carry_no_registration_label_unless_opted_in() {
    let all = recorded(async || {
        let (idp, auth) = started_with(false).await;
        let token = idp.mint();
        for _ in 0..4 {
            // A full verification, then answers from the shared caches and
            // from this thread's hot set.
            let req = crate::authenticator::test_request(&token, "quid-1", None);
            let ctx = auth.authenticate(&req).await.unwrap();
            let refused = ctx.require_role("admin").unwrap_err();
            assert_eq!(refused.code(), ErrorCode::InsufficientRole);
        }
        let wrong_audience = idp.token().audience("else").sign(&idp.signing_key());
        let refused = auth
            .verify(&credentials(wrong_audience, "quid-1"), None)
            .await;
        assert_eq!(refused.unwrap_err().code(), ErrorCode::InvalidAudience);
        let unknown = auth.verify(&credentials(token, "quid-nobody"), None).await;
        assert_eq!(unknown.unwrap_err().code(), ErrorCode::UnknownRegistration);
        let bare = http::Request::builder().body(()).unwrap();
        let anonymous = auth.authenticate(&bare).await.unwrap_err();
        assert_eq!(anonymous.code(), ErrorCode::MissingToken);
        idp.shutdown().await;
    });
    let decisions: Vec<_> = all
        .iter()
        .filter(|(name, _, _)| name == crate::metrics::DECISIONS)
        .collect();
    for (_, labels, _) in &decisions {
        let names: Vec<_> = labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["code", "outcome"], "{labels:?}");
    }
    let decision = |outcome, code| {
        counter(
            &all,
            crate::metrics::DECISIONS,
            &[("outcome", outcome), ("code", code)],
        )
    };
    assert_eq!(decision("accepted", "none"), 4);
    assert_eq!(decision("refused", "insufficient_role"), 4);
    assert_eq!(decision("refused", "invalid_audience"), 1);
    assert_eq!(decision("refused", "unknown_registration"), 1);
    assert_eq!(decision("refused", "missing_token"), 1);
    assert_eq!(decisions.len(), 5, "one series per outcome and code");
}
