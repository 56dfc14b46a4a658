//! Every refusal code reachable here (`docs/refusals.md`): status, code,
//! WWW-Authenticate.

use fedauth_tests::*;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::registry::{RegistrySource, SourceError};

#[tokio::test]
async fn header_shape_and_presence() {
    let s = setup("").await;
    let l = &s.layer;
    let token = s.idp.mint();
    let bearer = format!("Bearer {token}");

    let a = call(l, &[], "/").await;
    assert_refused(&a, 401, "missing_token", None);
    assert_eq!(a.www_authenticate(), Some("Bearer realm=\"fedauth\""));
    assert_refused(
        &call(l, &[("x-sc-auth", "quid-1")], "/").await,
        401,
        "missing_token",
        None,
    );
    assert_refused(
        &call(l, &[("authorization", &bearer)], "/").await,
        401,
        "missing_registration",
        Some("invalid_request"),
    );
    for headers in [
        vec![
            ("authorization", bearer.as_str()),
            ("authorization", bearer.as_str()),
            ("x-sc-auth", "quid-1"),
        ],
        vec![
            ("authorization", bearer.as_str()),
            ("x-sc-auth", "quid-1"),
            ("x-sc-auth", "quid-2"),
        ],
        vec![
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("x-sc-auth", "quid-1"),
        ],
        vec![
            ("authorization", bearer.as_str()),
            ("x-sc-auth", &"q".repeat(129)),
        ],
        vec![("authorization", bearer.as_str()), ("x-sc-auth", "")],
    ] {
        let a = call(l, &headers, "/").await;
        assert_refused(&a, 400, "invalid_request", Some("invalid_request"));
    }
    // Shape errors are reported before missing headers.
    let a = call(l, &[("authorization", "Digest x")], "/").await;
    assert_refused(&a, 400, "invalid_request", Some("invalid_request"));
}

#[tokio::test]
async fn registration_rows() {
    let idp = tower_fedauth::testkit::MockIdp::start().await;
    let toml = jwks_registration(&idp, "quid-1", "")
        + &jwks_registration(&idp, "quid-off", "enabled = false");
    let layer = FedAuthLayer::new(builder(&toml).build());
    let token = idp.mint();

    let a = call_with(&layer, &token, "quid-nope").await;
    assert_refused(&a, 401, "unknown_registration", Some("invalid_token"));
    assert_eq!(a.body["details"][0]["value"], "quid-nope");
    assert_eq!(a.body["details"][0]["param"], "x-sc-auth");
    let a = call_with(&layer, &token, "quid-off").await;
    assert_refused(&a, 403, "registration_disabled", None);
    // Registration is checked before the token's structure.
    let a = call_with(&layer, "not-a-jwt", "quid-nope").await;
    assert_refused(&a, 401, "unknown_registration", Some("invalid_token"));
}

struct FailingSource;
impl RegistrySource for FailingSource {
    fn get<'a>(
        &'a self,
        _id: &'a str,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<Option<std::sync::Arc<tower_fedauth::Registration>>, SourceError>,
    > {
        Box::pin(async { Err(SourceError::unavailable("database down")) })
    }
}

#[tokio::test]
async fn registry_unavailable() {
    let auth = tower_fedauth::Authenticator::builder(FailingSource).build();
    let a = call_with(&FedAuthLayer::new(auth), "a.b.c", "quid-1").await;
    assert_refused(&a, 503, "registry_unavailable", None);
    assert!(
        !a.body.to_string().contains("database"),
        "source error stays in logs"
    );
}

#[tokio::test]
async fn token_rows() {
    let s = setup("").await;
    let (l, idp, key) = (&s.layer, &s.idp, s.idp.signing_key());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        ("a.b".into(), 401, "malformed_token", Some("invalid_token")),
        (
            "e30.e30.!!".into(),
            401,
            "malformed_token",
            Some("invalid_token"),
        ),
        (
            format!("W10.{}", idp.mint().split('.').nth(1).unwrap()) + ".c2ln",
            401,
            "malformed_token",
            Some("invalid_token"),
        ),
        (
            idp.token().kid("no-such-key").sign(&key),
            401,
            "unknown_key",
            Some("invalid_token"),
        ),
        (
            {
                let t = idp.mint();
                let (head, sig) = t.rsplit_once('.').unwrap();
                let mut sig = sig.to_string();
                let flipped = if sig.starts_with('A') { "B" } else { "A" };
                sig.replace_range(0..1, flipped);
                format!("{head}.{sig}")
            },
            401,
            "invalid_signature",
            Some("invalid_token"),
        ),
        (
            idp.token().expires_in(-3600).sign(&key),
            401,
            "token_expired",
            Some("invalid_token"),
        ),
        (
            idp.token().claim("nbf", now + 3600).sign(&key),
            401,
            "token_not_yet_valid",
            Some("invalid_token"),
        ),
        (
            idp.token().claim("iat", now + 3600).sign(&key),
            401,
            "token_not_yet_valid",
            Some("invalid_token"),
        ),
        (
            idp.token().issuer("https://other.example").sign(&key),
            401,
            "invalid_issuer",
            Some("invalid_token"),
        ),
        (
            idp.token().remove_claim("iss").sign(&key),
            401,
            "invalid_issuer",
            Some("invalid_token"),
        ),
        (
            idp.token().audience("app-2").sign(&key),
            401,
            "invalid_audience",
            Some("invalid_token"),
        ),
        (
            idp.token().remove_claim("aud").sign(&key),
            401,
            "invalid_audience",
            Some("invalid_token"),
        ),
        (
            idp.token().remove_claim("sub").sign(&key),
            401,
            "invalid_claims",
            Some("invalid_token"),
        ),
        (
            idp.token().subject("").sign(&key),
            401,
            "invalid_claims",
            Some("invalid_token"),
        ),
        (idp.mint(), 200, "", None),
    ];
    for (token, status, code, err) in cases {
        let a = call_with(l, &token, "quid-1").await;
        if status == 200 {
            assert_eq!(a.status, 200, "{:?}", a.body);
        } else {
            assert_refused(&a, status, code, err);
            assert!(
                !a.body.to_string().contains(&token),
                "token echoed in the body"
            );
        }
    }
}

#[tokio::test]
async fn algorithm_allowlist_of_the_registration() {
    let s = setup("algorithms = [\"ES256\"]").await;
    let a = call_with(&s.layer, &s.idp.mint(), "quid-1").await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
}

#[tokio::test]
async fn token_kind_by_explicit_typing() {
    let access = setup("token_use = \"access\"").await;
    let key = access.idp.signing_key();
    let at = access.idp.token().header("typ", "at+jwt").sign(&key);
    let id = access.idp.token().sign(&key);
    assert_eq!(call_with(&access.layer, &at, "quid-1").await.status, 200);
    let a = call_with(&access.layer, &id, "quid-1").await;
    assert_refused(&a, 401, "invalid_token_use", Some("invalid_token"));

    let id_only = setup("token_use = \"id\"").await;
    let key = id_only.idp.signing_key();
    let at = id_only
        .idp
        .token()
        .header("typ", "application/at+jwt")
        .sign(&key);
    let a = call_with(&id_only.layer, &at, "quid-1").await;
    assert_refused(&a, 401, "invalid_token_use", Some("invalid_token"));
    assert_eq!(
        call_with(&id_only.layer, &id_only.idp.mint(), "quid-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn order_of_checks_reports_the_first_failure() {
    let s = setup("").await;
    let key = s.idp.signing_key();
    // Wrong issuer, wrong audience and expired: the issuer is reported.
    let t = s
        .idp
        .token()
        .issuer("https://x")
        .audience("y")
        .expires_in(-999)
        .sign(&key);
    assert_eq!(
        call_with(&s.layer, &t, "quid-1").await.code(),
        Some("invalid_issuer")
    );
    // Wrong audience and expired: the audience.
    let t = s.idp.token().audience("y").expires_in(-999).sign(&key);
    assert_eq!(
        call_with(&s.layer, &t, "quid-1").await.code(),
        Some("invalid_audience")
    );
    // Bad signature and expired: the signature (no claim read before it verifies).
    let other = tower_fedauth::testkit::TestKey::rsa(key.kid());
    let t = s.idp.token().expires_in(-999).sign(&other);
    assert_eq!(
        call_with(&s.layer, &t, "quid-1").await.code(),
        Some("invalid_signature")
    );
}
