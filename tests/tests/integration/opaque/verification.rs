//! `provider = "verification-endpoint"` against a real endpoint.

use std::time::{Duration, Instant};

use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::testkit::{MockAnswer, MockOpaqueIdp};
use tower_fedauth::{Credentials, ErrorCode, FedAuthLayer};

use super::{last, layer, limited, raw_call, verification_toml};

const GET: &str = "quid-get";
const POST: &str = "quid-post";

async fn start(table: &str) -> (MockOpaqueIdp, FedAuthLayer) {
    let idp = MockOpaqueIdp::start().await;
    let toml =
        verification_toml(&idp, GET, "GET", table) + &verification_toml(&idp, POST, "POST", table);
    let l = layer(&toml);
    (idp, l)
}

#[tokio::test]
async fn get_sends_rendered_headers_and_query_and_maps_the_answer() {
    let (idp, l) = start("").await;
    let a = call_with(&l, "8b75a6c7", GET).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["subject"], "4324", "a numeric uid becomes text");
    assert_eq!(a.body["principal"]["username"], "samuel456");
    assert_eq!(
        a.body["principal"]["attributes"],
        json!({"full_name": "Samuel Johnson"})
    );
    assert_eq!(
        a.body["claims"],
        json!({"user": {"id": 4324, "login": "samuel456", "full_name": "Samuel Johnson"}})
    );
    assert_eq!(a.body["issuer"], serde_json::Value::Null);

    let r = last(&idp);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/verify"));
    assert_eq!(r.query_values("IdP_token"), ["8b75a6c7"]);
    assert_eq!(r.query_values("app"), ["app-v"]);
    assert_eq!(r.query_values("reg"), [GET]);
    assert_eq!(r.query.len(), 3);
    assert_eq!(r.header_values("idp-token"), ["8b75a6c7"], "_ becomes -");
    assert_eq!(r.header_values("x-registration"), [GET]);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn post_sends_a_form_body() {
    let (idp, l) = start("").await;
    let a = call_with(&l, "8b75a6c7", POST).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let r = last(&idp);
    assert_eq!(r.method, "POST");
    assert_eq!(r.raw_query, None);
    assert_eq!(
        r.header_values("content-type"),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(r.form_values("IdP_token"), ["8b75a6c7"]);
    assert_eq!(r.form_values("app"), ["app-v"]);
    assert_eq!(r.form_values("reg"), [POST]);
    assert_eq!(r.header_values("idp-token"), ["8b75a6c7"]);
}

#[tokio::test]
async fn error_answers_pass_through_as_they_are() {
    let (idp, l) = start("").await;
    let cases = [
        MockAnswer::raw(
            403,
            Some("text/plain; charset=utf-8"),
            "Access denied: \"revoked\"\n",
        ),
        MockAnswer::raw(
            422,
            Some("application/json"),
            r#"{"errors":{"base":["Unexpected token"]}}"#,
        ),
        MockAnswer::raw(401, None, "no content type"),
        MockAnswer::raw(503, Some("text/html"), "<h1>maintenance</h1>"),
    ];
    // Only JSON and plain text keep their media type: markup from the
    // endpoint is never served as such from the platform's origin.
    let sent_as = [
        "text/plain; charset=utf-8",
        "application/json",
        "",
        "text/plain",
    ];
    for (i, answer) in cases.into_iter().enumerate() {
        let token = format!("refused-{i}");
        idp.set_verification_answer_for(&token, answer.clone());
        for quid in [GET, POST] {
            let r = raw_call(&l, &token, quid).await;
            assert_eq!(r.status.as_u16(), answer.status);
            assert_eq!(r.body, answer.body, "byte for byte");
            assert_eq!(
                r.headers.get("content-type").map(|v| v.to_str().unwrap()),
                Some(sent_as[i]).filter(|s| !s.is_empty())
            );
            assert_eq!(r.headers["x-content-type-options"], "nosniff");
            assert!(r.headers.get("retry-after").is_none());
            let error = r.error.expect("typed error in the extensions");
            assert_eq!(error.code(), ErrorCode::VerificationRefused);
            assert_eq!(error.code().as_str(), "verification_refused");
            assert!(!format!("{error:?} {error}").contains(&token));
        }
    }
    // A refusal is not cached: each request asks again.
    let calls = idp.verification_calls();
    raw_call(&l, "refused-0", GET).await;
    assert_eq!(idp.verification_calls(), calls + 1);

    // Bodies over 64 KiB are cut to 64 KiB.
    let big = "x".repeat(70 * 1024);
    idp.set_verification_answer_for("big", MockAnswer::raw(400, Some("text/plain"), big.clone()));
    let r = raw_call(&l, "big", GET).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, big.as_bytes()[..64 * 1024]);
}

#[tokio::test]
async fn malformed_success_answers_are_invalid_claims() {
    let (idp, l) = start("").await;
    idp.set_verification_answer_for(
        "no-uid",
        MockAnswer::json(200, json!({"user": {"login": "x"}})),
    );
    let a = call_with(&l, "no-uid", GET).await;
    assert_refused(&a, 401, "invalid_claims", Some("invalid_token"));
    let detail = a.error.unwrap().detail().to_owned();
    assert!(detail.contains("user.id"), "{detail}");

    idp.set_verification_answer_for(
        "not-json",
        MockAnswer::raw(200, Some("text/html"), "<html>"),
    );
    let a = call_with(&l, "not-json", GET).await;
    assert_refused(&a, 401, "invalid_claims", Some("invalid_token"));
    assert!(a.error.unwrap().detail().contains("not JSON"));

    idp.set_verification_answer_for(
        "string-uid",
        MockAnswer::json(200, json!({"user": {"id": "u-42"}})),
    );
    let a = call_with(&l, "string-uid", GET).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["subject"], "u-42");
    assert_eq!(a.body["principal"]["username"], serde_json::Value::Null);
}

#[tokio::test]
async fn hostile_tokens_reach_the_endpoint_as_one_intact_value() {
    let (idp, l) = start("").await;
    let tokens = [
        "a&x=1",
        "%0d%0aX-Evil:1",
        "%0D%0AX-Evil:%201",
        "#frag",
        "#{registration}",
        "#{client_id}&reg=evil",
        "a=b+c;d?e/f%20g",
        "..%2F..%2Fadmin",
    ];
    for token in tokens {
        for quid in [GET, POST] {
            let a = call_with(&l, token, quid).await;
            assert_eq!(a.status, 200, "{token}: {:?}", a.body);
            let r = last(&idp);
            let (params, n) = match quid {
                GET => (r.query_values("IdP_token"), r.query.len()),
                _ => (r.form_values("IdP_token"), r.form.len()),
            };
            assert_eq!(params, [token], "{quid}: {token}");
            assert_eq!(n, 3, "{quid}: {token}: no parameter added");
            assert!(r.query_values("x").is_empty() && r.form_values("x").is_empty());
            assert_eq!(r.header_values("idp-token"), [token]);
            assert_eq!(r.header_values("x-registration"), [quid]);
            assert!(r.header_values("x-evil").is_empty());
        }
    }
    // A space cannot be in a token: 400 before any call.
    let calls = idp.verification_calls();
    let a = call(
        &l,
        &[("authorization", "Bearer a b"), ("x-sc-auth", GET)],
        "/",
    )
    .await;
    assert_refused(&a, 400, "invalid_request", Some("invalid_request"));
    // Nor CR/LF, even from code that builds credentials by hand.
    let auth = builder(&verification_toml(&idp, GET, "GET", "")).build();
    for token in ["a\r\nX-Evil: 1", "a b", "tab\there"] {
        let creds = Credentials {
            token: token.into(),
            registration: GET.into(),
        };
        let err = auth.verify(&creds, None).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest, "{token:?}");
    }
    assert_eq!(idp.verification_calls(), calls);
}

#[tokio::test]
async fn answers_are_cached_per_token() {
    let (idp, l) = start("").await;
    for _ in 0..3 {
        assert_eq!(call_with(&l, "tok-1", GET).await.status, 200);
    }
    assert_eq!(idp.verification_calls(), 1);
    assert_eq!(call_with(&l, "tok-2", GET).await.status, 200);
    assert_eq!(call_with(&l, "tok-1", POST).await.status, 200);
    assert_eq!(
        idp.verification_calls(),
        3,
        "per token and per registration"
    );

    let idp2 = MockOpaqueIdp::start().await;
    let nocache = layer(&verification_toml(&idp2, GET, "GET", "cache_seconds = 0"));
    for _ in 0..2 {
        assert_eq!(call_with(&nocache, "tok-1", GET).await.status, 200);
    }
    assert_eq!(idp2.verification_calls(), 2, "cache_seconds = 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_for_100_concurrent_requests() {
    let (idp, l) = start("").await;
    idp.set_delay(Duration::from_millis(300));
    let calls = (0..100).map(|_| call_with(&l, "tok-1", POST));
    for a in futures_util::future::join_all(calls).await {
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    assert_eq!(idp.verification_calls(), 1);

    // Concurrent requests also share one refusal.
    idp.set_verification_answer_for("denied", MockAnswer::raw(403, Some("text/plain"), "no"));
    let calls = (0..100).map(|_| raw_call(&l, "denied", POST));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!((r.status.as_u16(), &r.body[..]), (403, &b"no"[..]));
    }
    assert_eq!(idp.verification_calls(), 2);
}

#[tokio::test]
async fn unreachable_slow_or_redirecting_endpoints_are_idp_unavailable() {
    let idp = MockOpaqueIdp::start().await;
    let toml = verification_toml(&idp, GET, "GET", "");
    idp.set_delay(Duration::from_secs(5));
    let quick = FedAuthLayer::new(limited(&toml, Duration::from_millis(300), 1 << 20));
    let started = Instant::now();
    let a = call_with(&quick, "slow-token", GET).await;
    assert_refused(&a, 503, "idp_unavailable", None);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let detail = a.error.unwrap().detail().to_owned();
    assert!(
        detail.contains("timed out") && !detail.contains("slow-token"),
        "{detail}"
    );
    idp.set_delay(Duration::ZERO);

    idp.set_verification_answer_for("redirect", MockAnswer::raw(302, None, ""));
    let l = layer(&toml);
    assert_refused(
        &call_with(&l, "redirect", GET).await,
        503,
        "idp_unavailable",
        None,
    );

    idp.set_verification_answer_for(
        "huge",
        MockAnswer::json(200, json!({"user": {"id": 1, "pad": "x".repeat(4096)}})),
    );
    let small = FedAuthLayer::new(limited(&toml, Duration::from_secs(5), 1024));
    assert_refused(
        &call_with(&small, "huge", GET).await,
        503,
        "idp_unavailable",
        None,
    );

    idp.shutdown().await;
    let a = call_with(&l, "after-shutdown", GET).await;
    assert_refused(&a, 503, "idp_unavailable", None);
    assert!(!a.error.unwrap().detail().contains("after-shutdown"));
}
