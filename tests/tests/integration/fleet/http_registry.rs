//! The HTTP registry source: conditional requests, Cache-Control,
//! stale-if-error, and a service that is down, slow or answers garbage.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fedauth_tests::{assert_refused, call_with, fast_policy, jwks_registration, registrations};
use serde_json::json;
use tower_fedauth::registration::Secret;
use tower_fedauth::registry::{HttpClientConfig, HttpRegistryConfig, RegistrySource};
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{Authenticator, FedAuthLayer};

use super::suite::{Http, registration};

fn quick() -> HttpRegistryConfig {
    HttpRegistryConfig::default()
        .client(HttpClientConfig::default().timeout(Duration::from_millis(500)))
        .failure_backoff(Duration::ZERO)
}

#[tokio::test]
async fn revalidates_with_etag_and_honours_max_age() {
    let h = Http::start(quick()).await;
    let knobs = &h.service.knobs;
    knobs.put("quid-1", registration("quid-1", "app-1"));
    let first = h.registry.get("quid-1").await.unwrap().unwrap();
    let second = h.registry.get("quid-1").await.unwrap().unwrap();
    assert_eq!(knobs.hits(), 2, "no max-age: every lookup revalidates");
    assert_eq!(
        knobs.not_modified(),
        1,
        "the second one with If-None-Match → 304"
    );
    assert!(Arc::ptr_eq(&first, &second), "a 304 keeps the entry");

    knobs.put("quid-1", registration("quid-1", "app-1b"));
    let changed = h.registry.get("quid-1").await.unwrap().unwrap();
    assert_eq!(changed.client_id.as_deref(), Some("app-1b"));

    knobs.set_cache_control(Some("max-age=60"));
    knobs.put("quid-2", registration("quid-2", "app-2"));
    let before = knobs.hits();
    for _ in 0..5 {
        assert!(h.registry.get("quid-2").await.unwrap().is_some());
    }
    assert_eq!(knobs.hits(), before + 1, "max-age=60: one request");
    h.registry.invalidate("quid-2");
    assert!(h.registry.get("quid-2").await.unwrap().is_some());
    assert_eq!(knobs.hits(), before + 2);

    // no-store: never kept, so never revalidated.
    knobs.set_cache_control(Some("no-store"));
    knobs.put("quid-3", registration("quid-3", "app-3"));
    assert!(h.registry.get("quid-3").await.unwrap().is_some());
    assert!(h.registry.get("quid-3").await.unwrap().is_some());
    assert_eq!(knobs.not_modified(), 1);
}

#[tokio::test]
async fn outage_serves_the_last_good_registration_for_a_bounded_time() {
    let h = Http::start(quick().max_stale(Duration::from_millis(600))).await;
    let knobs = &h.service.knobs;
    knobs.put("quid-1", registration("quid-1", "app-1"));
    assert!(h.registry.get("quid-1").await.unwrap().is_some());
    for status in [500, 502, 503] {
        knobs.set_status(Some(status));
        let reg = h.registry.get("quid-1").await.unwrap();
        assert!(reg.is_some(), "HTTP {status}: stale-if-error");
        let e = h.registry.get("quid-never-seen").await.unwrap_err();
        assert!(e.message().contains(&status.to_string()), "{}", e.message());
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let e = h.registry.get("quid-1").await.unwrap_err();
    assert!(
        e.message().contains("503"),
        "past max_stale: {}",
        e.message()
    );
    knobs.set_status(None);
    assert!(h.registry.get("quid-1").await.unwrap().is_some(), "back up");
}

#[tokio::test]
async fn slow_garbage_oversize_and_foreign_answers_fail() {
    let h = Http::start(
        HttpRegistryConfig::default()
            .client(
                HttpClientConfig::default()
                    .timeout(Duration::from_millis(300))
                    .max_body_bytes(4096),
            )
            .failure_backoff(Duration::ZERO)
            .max_stale(Duration::ZERO),
    )
    .await;
    let knobs = &h.service.knobs;
    knobs.put("quid-1", registration("quid-1", "app-1"));

    knobs.set_delay(Duration::from_secs(3));
    let started = Instant::now();
    let e = h.registry.get("quid-1").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "timeout bounds the wait"
    );
    assert!(e.message().contains("timed out"), "{}", e.message());
    knobs.set_delay(Duration::ZERO);

    knobs.set_raw_body(Some("<html>oops</html>"));
    let e = h.registry.get("quid-1").await.unwrap_err();
    assert!(e.message().contains("not JSON"), "{}", e.message());
    let huge = json!({"id": "quid-1", "name": "x".repeat(10_000)}).to_string();
    knobs.set_raw_body(Some(&huge));
    let e = h.registry.get("quid-1").await.unwrap_err();
    assert!(e.message().contains("larger than 4096"), "{}", e.message());
    let other = registration("quid-2", "app-2").to_string();
    knobs.set_raw_body(Some(&other));
    let e = h.registry.get("quid-1").await.unwrap_err();
    assert!(e.message().contains("quid-2"), "{}", e.message());
    knobs.set_raw_body(None);

    // Nothing listening at all.
    let closed = tower_fedauth::registry::HttpRegistry::new(
        "http://127.0.0.1:9",
        HttpRegistryConfig::default()
            .client(HttpClientConfig::default().egress(tower_fedauth::testkit::local_egress())),
    )
    .unwrap();
    assert!(closed.get("quid-1").await.is_err());
}

#[tokio::test]
async fn bearer_credential_and_encoded_ids() {
    let h = Http::start(
        quick().client(HttpClientConfig::default().bearer(Secret::new("registry-token"))),
    )
    .await;
    let knobs = &h.service.knobs;
    *knobs.bearer.lock().unwrap() = Some("registry-token".into());
    knobs.put("team/a?b#c", registration("team/a?b#c", "app-1"));
    let reg = h.registry.get("team/a?b#c").await.unwrap().unwrap();
    assert_eq!(reg.id.as_str(), "team/a?b#c");
    assert_eq!(
        knobs.requested.lock().unwrap().last().unwrap(),
        "team/a?b#c"
    );
    assert!(!format!("{:?}", h.registry).contains("registry-token"));

    let wrong =
        Http::start(quick().client(HttpClientConfig::default().bearer(Secret::new("wrong")))).await;
    *wrong.service.knobs.bearer.lock().unwrap() = Some("registry-token".into());
    wrong
        .service
        .knobs
        .put("quid-1", registration("quid-1", "app-1"));
    let e = wrong.registry.get("quid-1").await.unwrap_err();
    assert!(e.message().contains("401"), "{}", e.message());
}

#[tokio::test]
async fn through_the_authenticator_503_then_stale_then_recovery() {
    let idp = MockIdp::start().await;
    let h = Http::start(quick().max_stale(Duration::from_secs(60))).await;
    let knobs = &h.service.knobs;
    let toml = jwks_registration(&idp, "quid-1", "");
    let reg = &registrations(&toml)[0];
    let raw = json!({
        "id": "quid-1", "provider": "jwks", "client_id": "app-1",
        "issuer": reg.issuer, "jwks_uri": reg.jwks_uri.as_ref().map(|u| u.as_str()),
    });
    let auth = Authenticator::builder_arc(h.registry.clone())
        .registry_cache(
            tower_fedauth::registry::CacheConfig::default()
                .ttl(Duration::ZERO)
                .negative_ttl(Duration::ZERO),
        )
        .egress(tower_fedauth::testkit::local_egress())
        .key_cache(fast_policy())
        .build();
    let layer = FedAuthLayer::new(auth);
    let token = idp.mint();

    knobs.set_status(Some(503));
    let a = call_with(&layer, &token, "quid-1").await;
    assert_refused(&a, 503, "registry_unavailable", None);

    knobs.set_status(None);
    assert_eq!(
        call_with(&layer, &token, "quid-1").await.code(),
        Some("unknown_registration")
    );
    knobs.put("quid-1", raw);
    let a = call_with(&layer, &token, "quid-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    knobs.set_status(Some(500));
    let a = call_with(&layer, &token, "quid-1").await;
    assert_eq!(a.status, 200, "stale-if-error keeps serving: {:?}", a.body);
    assert!(knobs.hits.load(Ordering::SeqCst) >= 4);
}
