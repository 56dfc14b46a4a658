//! Key sets under rotation, floods, concurrency and outages.

use std::time::Duration;

use fedauth_tests::*;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::keys::CachePolicy;
use tower_fedauth::testkit::{MockIdp, TestKey};

#[tokio::test]
async fn rotation_is_picked_up_after_one_refresh() {
    let s = setup("").await;
    assert_eq!(
        call_with(&s.layer, &s.idp.mint(), "quid-1").await.status,
        200
    );
    assert_eq!(s.idp.jwks_fetches(), 1);
    let new_key = s.idp.rotate();
    let a = call_with(&s.layer, &s.idp.token().sign(&new_key), "quid-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(s.idp.jwks_fetches(), 2);
    // Served from the refreshed cache.
    assert_eq!(
        call_with(&s.layer, &s.idp.token().sign(&new_key), "quid-1")
            .await
            .status,
        200
    );
    assert_eq!(s.idp.jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_causes_at_most_one_refresh() {
    let s = setup("").await;
    assert_eq!(
        call_with(&s.layer, &s.idp.mint(), "quid-1").await.status,
        200
    );
    let attacker = TestKey::rsa("x");
    let tokens: Vec<String> = (0..1000)
        .map(|i| s.idp.token().kid(format!("random-{i}")).sign(&attacker))
        .collect();
    let mut tasks = Vec::new();
    for chunk in tokens.chunks(100) {
        let layer = s.layer.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut codes = Vec::new();
            for t in chunk {
                codes.push(
                    call_with(&layer, &t, "quid-1")
                        .await
                        .code()
                        .map(str::to_owned),
                );
            }
            codes
        }));
    }
    for t in tasks {
        for code in t.await.unwrap() {
            assert_eq!(code.as_deref(), Some("unknown_key"));
        }
    }
    assert_eq!(s.idp.jwks_fetches(), 2, "one initial fetch and one refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cold_requests_cause_one_fetch() {
    let s = setup("").await;
    s.idp.set_delay(Duration::from_millis(300));
    let token = s.idp.mint();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let layer = s.layer.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            call_with(&layer, &token, "quid-1").await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(s.idp.jwks_fetches(), 1);
}

fn short_policy(stale_for: Duration) -> CachePolicy {
    CachePolicy::default()
        .default_ttl(Duration::from_millis(200))
        .min_ttl(Duration::from_millis(200))
        .max_ttl(Duration::from_millis(200))
        .stale_for(stale_for)
        .failure_backoff(Duration::ZERO)
}

#[tokio::test]
async fn cached_keys_serve_through_an_outage_within_the_stale_bound() {
    let idp = MockIdp::start().await;
    let auth = builder(&jwks_registration(&idp, "quid-1", ""))
        .key_cache(short_policy(Duration::from_secs(2)))
        .build();
    let layer = FedAuthLayer::new(auth);
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    idp.set_outage(true);
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired, refresh fails: the last-known-good keys still serve.
    let a = call_with(&layer, &idp.mint(), "quid-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert!(idp.jwks_fetches() >= 2, "a refresh was attempted");
    // Past the stale bound: unavailable.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let a = call_with(&layer, &idp.mint(), "quid-1").await;
    assert_refused(&a, 503, "idp_unavailable", None);
    // The IdP comes back: service recovers by itself.
    idp.set_outage(false);
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
}

#[tokio::test]
async fn no_cache_and_idp_down_is_503() {
    let s = setup("").await;
    s.idp.set_outage(true);
    let a = call_with(&s.layer, &s.idp.mint(), "quid-1").await;
    assert_refused(&a, 503, "idp_unavailable", None);
    s.idp.shutdown().await;
    let a = call_with(&s.layer, &s.idp.mint(), "quid-1").await;
    assert_refused(&a, 503, "idp_unavailable", None);
}

#[tokio::test]
async fn http_key_urls_are_refused_unless_allowed() {
    let idp = MockIdp::start().await;
    let auth = builder(&jwks_registration(&idp, "quid-1", ""))
        .allow_http(false)
        .build();
    let a = call_with(&FedAuthLayer::new(auth), &idp.mint(), "quid-1").await;
    assert_refused(&a, 503, "idp_unavailable", None);
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn bad_keys_are_skipped_alone_and_jwks_without_alg_work() {
    let good = TestKey::rsa("good");
    let idp = MockIdp::start_with_keys(vec![good.clone()]).await;
    let mut weak = good.public_jwk();
    weak["kid"] = "weak".into();
    weak["n"] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        [0xc1u8; 128],
    )
    .into();
    let doc = serde_json::json!({"keys": [
        {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
        weak,
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": good.public_jwk()["n"], "e": "AQAB"},
        good.public_jwk_with_alg(None),
    ]});
    idp.set_raw_jwks(Some(doc.to_string()));
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    assert_eq!(
        call_with(&layer, &idp.token().sign(&good), "quid-1")
            .await
            .status,
        200
    );
    let a = call_with(&layer, &idp.token().kid("weak").sign(&good), "quid-1").await;
    assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
}

#[tokio::test]
async fn without_kid_only_a_single_candidate_is_used() {
    let one = MockIdp::start().await;
    let layer = FedAuthLayer::new(builder(&jwks_registration(&one, "quid-1", "")).build());
    let t = one.token().remove_header("kid").sign(&one.signing_key());
    assert_eq!(call_with(&layer, &t, "quid-1").await.status, 200);

    let (k1, k2) = (TestKey::rsa("k1"), TestKey::rsa("k2"));
    let two = MockIdp::start_with_keys(vec![k1.clone(), k2]).await;
    let layer = FedAuthLayer::new(builder(&jwks_registration(&two, "quid-1", "")).build());
    let t = two.token().remove_header("kid").sign(&k1);
    let a = call_with(&layer, &t, "quid-1").await;
    assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
}

#[tokio::test]
async fn max_age_is_clamped_to_the_policy() {
    let idp = MockIdp::start().await;
    let policy = fast_policy()
        .min_ttl(Duration::from_millis(300))
        .max_ttl(Duration::from_millis(300));
    let layer = FedAuthLayer::new(
        builder(&jwks_registration(&idp, "quid-1", ""))
            .key_cache(policy)
            .build(),
    );
    // max-age=3600 is clamped down to 300 ms.
    idp.set_max_age(Some(3600));
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    assert_eq!(idp.jwks_fetches(), 1, "fresh within the TTL");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    assert_eq!(idp.jwks_fetches(), 2, "refetched after the clamped TTL");
    // max-age=0 is clamped up to 300 ms: no refetch at once.
    idp.set_max_age(Some(0));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    assert_eq!(idp.jwks_fetches(), 3);
}

#[tokio::test]
async fn oversized_slow_and_redirecting_key_urls_are_bounded() {
    use tower_fedauth::keys::FetchConfig;
    let fetch = FetchConfig::default()
        .timeout(Duration::from_millis(500))
        .egress(tower_fedauth::testkit::local_egress());
    // Over the 1 MiB cap.
    let idp = MockIdp::start().await;
    idp.set_raw_jwks(Some(format!(
        "{{\"keys\":[],\"pad\":\"{}\"}}",
        "x".repeat(2 << 20)
    )));
    let layer = FedAuthLayer::new(
        builder(&jwks_registration(&idp, "quid-1", ""))
            .fetch(fetch.clone())
            .build(),
    );
    assert_refused(
        &call_with(&layer, &idp.mint(), "quid-1").await,
        503,
        "idp_unavailable",
        None,
    );

    // Slower than the timeout: refused within a bound, not hung.
    let slow = MockIdp::start().await;
    slow.set_delay(Duration::from_secs(5));
    let layer = FedAuthLayer::new(
        builder(&jwks_registration(&slow, "quid-1", ""))
            .fetch(fetch.clone())
            .build(),
    );
    let started = std::time::Instant::now();
    assert_refused(
        &call_with(&layer, &slow.mint(), "quid-1").await,
        503,
        "idp_unavailable",
        None,
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // A redirect loop.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/keys",
        axum::routing::get(|| async { axum::response::Redirect::temporary("/keys") }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let toml = format!(
        "[[registrations]]\nid = \"quid-1\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\njwks_uri = \"http://{addr}/keys\"\n"
    );
    let layer = FedAuthLayer::new(builder(&toml).fetch(fetch).build());
    let a = call_with(&layer, &idp.mint(), "quid-1").await;
    assert_refused(&a, 503, "idp_unavailable", None);
}

/// Regression (found by the soak run): a key published while the IdP was
/// down used to be refused `unknown_key` for a whole cooldown after the IdP
/// came back, because the failed forced refresh had started the cooldown.
#[tokio::test]
async fn a_key_published_during_an_outage_is_found_once_the_idp_is_back() {
    let idp = MockIdp::start().await;
    let policy = CachePolicy::default()
        .refresh_cooldown(Duration::from_secs(60))
        .failure_backoff(Duration::from_millis(300));
    let layer = FedAuthLayer::new(
        builder(&jwks_registration(&idp, "quid-1", ""))
            .key_cache(policy)
            .build(),
    );
    assert_eq!(call_with(&layer, &idp.mint(), "quid-1").await.status, 200);
    let old_key = idp.signing_key();
    idp.set_outage(true);
    let new_key = idp.rotate();
    let token = idp.token().sign(&new_key);
    // Down: the new key cannot be fetched; that is an outage, not a bad key,
    // also for the next request within the back-off (which does not fetch).
    assert_refused(
        &call_with(&layer, &token, "quid-1").await,
        503,
        "idp_unavailable",
        None,
    );
    let fetches = idp.jwks_fetches();
    assert_refused(
        &call_with(&layer, &token, "quid-1").await,
        503,
        "idp_unavailable",
        None,
    );
    assert_eq!(idp.jwks_fetches(), fetches, "no fetch within the back-off");
    // Known keys still serve meanwhile.
    let known = idp.token().claim("jti", "known").sign(&old_key);
    assert_eq!(call_with(&layer, &known, "quid-1").await.status, 200);
    // Back: after the back-off, the first request with the new key finds it.
    idp.set_outage(false);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let a = call_with(&layer, &token, "quid-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}
