//! The attacks the core must refuse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fedauth_tests::*;
use tower_fedauth::testkit::TestKey;

#[tokio::test]
async fn alg_none_is_refused() {
    let s = setup("").await;
    for alg in ["none", "None", "NONE"] {
        let t = s.idp.token().alg(alg).unsigned();
        let a = call_with(&s.layer, &t, "quid-1").await;
        assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let s = setup("").await;
    let key = s.idp.signing_key();
    // The classic key confusion: HMAC keyed with the RSA public key's bytes.
    for secret in [key.public_key_pem().into_bytes(), key.public_key_der()] {
        let t = s.idp.token().kid(key.kid()).sign_hs256(&secret);
        let a = call_with(&s.layer, &t, "quid-1").await;
        assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    }
}

#[tokio::test]
async fn a_token_for_registration_a_is_refused_for_b() {
    let idp = tower_fedauth::testkit::MockIdp::start().await;
    let toml = jwks_registration(&idp, "quid-a", "")
        + &jwks_registration(&idp, "quid-b", "").replace("app-1", "app-2");
    let layer = tower_fedauth::FedAuthLayer::new(builder(&toml).build());
    let token_for_a = idp.mint();
    assert_eq!(call_with(&layer, &token_for_a, "quid-a").await.status, 200);
    let a = call_with(&layer, &token_for_a, "quid-b").await;
    assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
}

#[tokio::test]
async fn hostile_kids_are_unknown_keys() {
    let s = setup("").await;
    let key = s.idp.signing_key();
    for kid in [
        "../../../../etc/passwd",
        "key-1' OR '1'='1",
        &"k".repeat(10_000),
    ] {
        let t = s.idp.token().kid(kid).sign(&key);
        let a = call_with(&s.layer, &t, "quid-1").await;
        assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
        assert!(
            a.body.to_string().len() < 2_000,
            "a long kid is not echoed whole"
        );
    }
    // One initial fetch, at most one refresh for all unknown kids.
    assert!(s.idp.jwks_fetches() <= 2, "{}", s.idp.jwks_fetches());
}

#[tokio::test]
async fn embedded_jwk_and_jku_are_never_used_as_keys() {
    let s = setup("").await;
    let attacker = TestKey::rsa("attacker");
    let t = s
        .idp
        .token()
        .kid("attacker")
        .header("jwk", attacker.public_jwk())
        .header("jku", format!("{}/attacker-keys", s.idp.base_url()))
        .header("x5u", "https://evil.example/cert.pem")
        .sign(&attacker);
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
    // The same with the IdP's kid: the signature does not verify with the IdP's key.
    let t = s
        .idp
        .token()
        .kid(s.idp.signing_key().kid())
        .header("jwk", attacker.public_jwk())
        .sign(&attacker);
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_refused(&a, 401, "invalid_signature", Some("invalid_token"));
}

#[tokio::test]
async fn exp_must_be_a_present_number() {
    let s = setup("").await;
    let key = s.idp.signing_key();
    let in_an_hour = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600)
        .to_string();
    for t in [
        s.idp.token().claim("exp", in_an_hour).sign(&key),
        s.idp.token().remove_claim("exp").sign(&key),
        s.idp
            .token()
            .claim("exp", serde_json::Value::Null)
            .sign(&key),
    ] {
        let a = call_with(&s.layer, &t, "quid-1").await;
        assert_refused(&a, 401, "token_expired", Some("invalid_token"));
    }
}

#[tokio::test]
async fn a_100_kib_token_is_refused_before_any_work() {
    let s = setup("").await;
    let big = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
        "A".repeat(100 * 1024)
    );
    let a = call_with(&s.layer, &big, "quid-1").await;
    assert_refused(&a, 400, "invalid_request", Some("invalid_request"));
    assert_eq!(s.idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn unknown_critical_header_is_refused() {
    let s = setup("").await;
    let t = s
        .idp
        .token()
        .header("crit", ["x-unknown"])
        .header("x-unknown", 1)
        .sign(&s.idp.signing_key());
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_refused(&a, 401, "malformed_token", Some("invalid_token"));
}

#[tokio::test]
async fn key_type_must_fit_the_algorithm() {
    let ec = TestKey::ec_p256("ec");
    let idp = tower_fedauth::testkit::MockIdp::start_with_keys(vec![ec.clone()]).await;
    let layer =
        tower_fedauth::FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    // An RSA-signed token claiming the EC key's kid.
    let rsa = TestKey::rsa("ec");
    let a = call_with(&layer, &idp.token().alg("RS256").sign(&rsa), "quid-1").await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    // ES384 with a P-256 key.
    let a = call_with(
        &layer,
        &idp.token()
            .alg("ES384")
            .kid("ec")
            .sign(&TestKey::ec_p384("ec")),
        "quid-1",
    )
    .await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    assert_eq!(
        call_with(&layer, &idp.token().sign(&ec), "quid-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn refusals_never_log_the_token() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, so events from every thread of this test binary are captured.
    tracing::subscriber::set_global_default(subscriber).expect("only this test installs one");

    let s = setup("").await;
    let key = s.idp.signing_key();
    let tokens = [
        s.idp.token().expires_in(-999).sign(&key),
        s.idp.token().audience("x").sign(&key),
        s.idp.mint(),
    ];
    for t in &tokens {
        call_with(&s.layer, t, "quid-1").await;
    }
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("refused"), "refusals are logged: {logs}");
    // The verify span names the registration, the issuer and the kid.
    for field in [
        "registration=quid-1".to_owned(),
        "kid=".to_owned(),
        key.kid().to_owned(),
        "issuer=".to_owned(),
        "outcome=".to_owned(),
    ] {
        assert!(logs.contains(&field), "no `{field}` in the logs: {logs}");
    }
    for t in &tokens {
        let signature = t.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature), "token found in logs");
    }
}
