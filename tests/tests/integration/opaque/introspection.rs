//! `provider = "introspection"` (RFC 7662) against a real endpoint.

use std::time::{Duration, Instant};

use base64::Engine;
use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::testkit::opaque::{DEFAULT_RS_CLIENT_ID, DEFAULT_RS_SECRET};
use tower_fedauth::testkit::{MockAnswer, MockOpaqueIdp};

use super::{introspection_toml, last, layer, limited, now};

const QUID: &str = "quid-opaque-1";

/// An active answer for client `app-3`, plus `extra` fields.
fn active(extra: serde_json::Value) -> serde_json::Value {
    let mut v = json!({"active": true, "sub": "alice", "client_id": "app-3",
                       "exp": now() + 300, "scope": "read write", "username": "alice.a"});
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

async fn start(top: &str, table: &str) -> (MockOpaqueIdp, FedAuthLayer) {
    let idp = MockOpaqueIdp::start().await;
    let l = layer(&introspection_toml(&idp, QUID, top, table));
    (idp, l)
}

#[tokio::test]
async fn active_token_is_accepted_with_client_secret_basic() {
    let (idp, l) = start("", "").await;
    idp.set_introspection("opaque-1", active(json!({})));
    let a = call_with(&l, "opaque-1", QUID).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["subject"], "alice");
    assert_eq!(a.body["principal"]["username"], "alice.a");
    assert_eq!(a.body["roles"], json!(["reader"]));
    assert_eq!(a.body["claims"]["scope"], "read write");
    assert_eq!(a.body["claims"]["active"], true);

    let r = last(&idp);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/introspect")
    );
    assert_eq!(
        r.header_values("content-type"),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(
        r.form,
        [
            ("token".to_owned(), "opaque-1".to_owned()),
            ("token_type_hint".to_owned(), "access_token".to_owned())
        ]
    );
    // RFC 6749 §2.3.1: form-urlencoded, then base64.
    let basic = r.header_values("authorization")[0]
        .strip_prefix("Basic ")
        .unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .unwrap();
    assert_eq!(
        String::from_utf8(raw).unwrap(),
        "resource-server:s3cr%3At+%2B%2F%25%C3%A9"
    );
    assert_eq!(
        r.basic,
        Some((DEFAULT_RS_CLIENT_ID.into(), DEFAULT_RS_SECRET.into()))
    );
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_form() {
    let (idp, l) = start("", "auth_method = \"client_secret_post\"").await;
    idp.set_introspection("opaque-1", active(json!({})));
    let a = call_with(&l, "opaque-1", QUID).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let r = last(&idp);
    assert!(r.header_values("authorization").is_empty());
    assert_eq!(r.form_values("token"), ["opaque-1"]);
    assert_eq!(r.form_values("client_id"), [DEFAULT_RS_CLIENT_ID]);
    assert_eq!(r.form_values("client_secret"), [DEFAULT_RS_SECRET]);
}

#[tokio::test]
async fn inactive_token_is_refused_and_the_answer_cached_briefly() {
    let (idp, l) = start("", "").await;
    let a = call_with(&l, "unknown-token", QUID).await;
    assert_refused(&a, 401, "inactive_token", Some("invalid_token"));
    let again = call_with(&l, "unknown-token", QUID).await;
    assert_refused(&again, 401, "inactive_token", Some("invalid_token"));
    assert_eq!(idp.introspection_calls(), 1);
}

#[tokio::test]
async fn answers_are_checked_like_tokens() {
    let (idp, l) = start("issuer = \"https://idp.example\"", "").await;
    let iss = json!({"iss": "https://idp.example"});
    let cases = [
        (
            json!({"iss": "https://evil.example"}),
            Some("invalid_issuer"),
        ),
        (json!({}), Some("invalid_issuer")),
        (
            json!({"iss": "https://idp.example", "client_id": "other", "aud": "other"}),
            Some("invalid_audience"),
        ),
        (
            json!({"iss": "https://idp.example", "client_id": "other", "aud": ["x", "app-3"]}),
            None,
        ),
        (
            json!({"iss": "https://idp.example", "exp": now() - 120}),
            Some("token_expired"),
        ),
        (
            json!({"iss": "https://idp.example", "exp": "tomorrow"}),
            Some("token_expired"),
        ),
        (
            json!({"iss": "https://idp.example", "nbf": now() + 600}),
            Some("token_not_yet_valid"),
        ),
        (
            json!({"iss": "https://idp.example", "sub": null}),
            None, // the client acting for itself: subject = client_id
        ),
        (
            json!({"iss": "https://idp.example", "sub": null, "client_id": null, "aud": "app-3"}),
            Some("invalid_claims"),
        ),
        (iss.clone(), None),
    ];
    for (i, (extra, expected)) in cases.into_iter().enumerate() {
        let token = format!("case-{i}");
        let mut answer = active(extra.clone());
        answer.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        idp.set_introspection(&token, answer);
        let a = call_with(&l, &token, QUID).await;
        match expected {
            Some(code) => assert_refused(&a, 401, code, Some("invalid_token")),
            None => assert_eq!(a.status, 200, "{extra}: {:?}", a.body),
        }
        if extra.get("sub").is_some_and(|s| s.is_null()) && expected.is_none() {
            assert_eq!(a.body["subject"], "app-3");
        }
    }
}

#[tokio::test]
async fn active_answers_are_cached_until_min_of_exp_and_cache_seconds() {
    let toml = |idp: &MockOpaqueIdp| {
        introspection_toml(idp, QUID, "leeway_seconds = 0", "")
            + &introspection_toml(idp, "quid-nocache", "", "cache_seconds = 0")
    };
    let idp = MockOpaqueIdp::start().await;
    let l = layer(&toml(&idp));
    idp.set_introspection("opaque-1", active(json!({})));
    for _ in 0..3 {
        assert_eq!(call_with(&l, "opaque-1", QUID).await.status, 200);
    }
    assert_eq!(idp.introspection_calls(), 1, "cache hit");
    // Another registration never reuses this registration's answer.
    for _ in 0..2 {
        assert_eq!(call_with(&l, "opaque-1", "quid-nocache").await.status, 200);
    }
    assert_eq!(idp.introspection_calls(), 3, "cache_seconds = 0: no reuse");

    // exp two seconds away bounds the reuse below cache_seconds (60).
    idp.set_introspection("short", active(json!({"exp": now() + 2})));
    assert_eq!(call_with(&l, "short", QUID).await.status, 200);
    assert_eq!(call_with(&l, "short", QUID).await.status, 200);
    assert_eq!(idp.introspection_calls(), 4);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let a = call_with(&l, "short", QUID).await;
    assert_refused(&a, 401, "token_expired", Some("invalid_token"));
    assert_eq!(idp.introspection_calls(), 5, "fetched again after exp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_for_100_concurrent_requests() {
    let (idp, l) = start("", "").await;
    idp.set_introspection("opaque-1", active(json!({})));
    idp.set_delay(Duration::from_millis(300));
    let calls = (0..100).map(|_| call_with(&l, "opaque-1", QUID));
    for a in futures_util::future::join_all(calls).await {
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    assert_eq!(idp.introspection_calls(), 1);
}

#[tokio::test]
async fn endpoint_failures_are_idp_unavailable_and_not_cached() {
    let (idp, l) = start("", "").await;
    idp.set_introspection("opaque-1", active(json!({})));
    let unavailable = |a: &Answer| assert_refused(a, 503, "idp_unavailable", None);

    idp.set_outage(true);
    unavailable(&call_with(&l, "opaque-1", QUID).await);
    idp.set_outage(false);
    for garbage in [
        MockAnswer::raw(200, Some("application/json"), "not json"),
        MockAnswer::json(200, json!({"sub": "alice"})),
        MockAnswer::json(200, json!({"active": "true"})),
        MockAnswer::json(401, json!({"error": "invalid_client"})),
        MockAnswer::raw(302, None, ""),
    ] {
        idp.set_raw_introspection(Some(garbage));
        unavailable(&call_with(&l, "opaque-1", QUID).await);
    }
    idp.set_raw_introspection(None);
    let calls = idp.introspection_calls();
    assert_eq!(call_with(&l, "opaque-1", QUID).await.status, 200);
    assert_eq!(
        idp.introspection_calls(),
        calls + 1,
        "failures were not cached"
    );

    // Wrong resource-server credentials: the endpoint says 401, we say 503.
    let wrong =
        introspection_toml(&idp, "quid-wrong", "", "").replace(DEFAULT_RS_SECRET, "wrong-secret");
    unavailable(&call_with(&layer(&wrong), "opaque-1", "quid-wrong").await);

    idp.shutdown().await;
    unavailable(&call_with(&l, "never-seen", QUID).await);
}

#[tokio::test]
async fn timeouts_and_size_cap_are_enforced() {
    let idp = MockOpaqueIdp::start().await;
    let toml = introspection_toml(&idp, QUID, "", "");
    idp.set_introspection("big", active(json!({"blob": "x".repeat(4096)})));
    let small = FedAuthLayer::new(limited(&toml, Duration::from_secs(5), 1024));
    assert_refused(
        &call_with(&small, "big", QUID).await,
        503,
        "idp_unavailable",
        None,
    );

    idp.set_introspection("slow", active(json!({})));
    idp.set_delay(Duration::from_secs(5));
    let quick = FedAuthLayer::new(limited(&toml, Duration::from_millis(300), 1 << 20));
    let started = Instant::now();
    let a = call_with(&quick, "slow", QUID).await;
    assert_refused(&a, 503, "idp_unavailable", None);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(a.error.unwrap().detail().contains("timed out"));
}

#[tokio::test]
async fn the_token_never_appears_in_a_refusal() {
    let (idp, l) = start("", "").await;
    idp.set_outage(true);
    let token = "secret-opaque-token-123";
    let a = call_with(&l, token, QUID).await;
    assert_refused(&a, 503, "idp_unavailable", None);
    assert!(!a.body.to_string().contains(token));
    assert!(!format!("{:?}", a.error).contains(token));
}
