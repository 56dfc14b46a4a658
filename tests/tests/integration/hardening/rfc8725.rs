//! RFC 8725 (JSON Web Token Best Current Practices), §3.1–3.12: one test
//! per item, named after the section, asserting the exact status and code
//! a caller gets through the tower layer. §3.5 and §3.6 are about producing
//! tokens (secrets, JWE compression); what applies to a verifier — never a
//! symmetric key, never a JWE — is tested under their names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::registry::{RegistryFormat, parse_registry_str};
use tower_fedauth::testkit::{MockIdp, TestKey};

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token over exactly these header and payload bytes, signed by `key`.
fn signed_raw(key: &TestKey, alg: &str, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = key.sign(alg, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// Replace one part (0 header, 1 payload, 2 signature) of a compact token.
fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[index] = part;
    parts.join(".")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn rfc8725_3_1_perform_algorithm_verification() {
    let s = setup("algorithms = [\"RS256\", \"ES256\"]").await;
    let key = s.idp.signing_key();
    let ok = call_with(&s.layer, &s.idp.mint(), "quid-1").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let refused = |t: String| {
        let layer = s.layer.clone();
        async move { call_with(&layer, &t, "quid-1").await }
    };
    // The registration's allowlist decides, not the header: RS384 and PS256
    // signed by the right key are refused.
    for alg in ["RS384", "PS256"] {
        let a = refused(s.idp.token().alg(alg).sign(&key)).await;
        assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    }
    // `none`, in any case.
    for alg in ["none", "None", "nOnE"] {
        let a = refused(s.idp.token().alg(alg).kid(key.kid()).unsigned()).await;
        assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    }
    // HMAC keyed with the RSA public key (key confusion).
    let a = refused(
        s.idp
            .token()
            .kid(key.kid())
            .sign_hs256(key.public_key_pem().as_bytes()),
    )
    .await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    // An allowed algorithm that does not fit the key's type: ES256 on the RSA kid.
    let ec = TestKey::ec_p256(key.kid());
    let a = refused(s.idp.token().sign(&ec)).await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));

    // The key's own `alg` restricts it too: PS256 allowed by the registration,
    // the JWK says RS256.
    let idp = MockIdp::start().await;
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    let t = idp.token().alg("PS256").sign(&idp.signing_key());
    let a = call_with(&layer, &t, "quid-1").await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    // Without an `alg` in the JWK, PS256 fits the RSA key and is accepted.
    idp.set_raw_jwks(Some(
        json!({"keys": [idp.signing_key().public_jwk_with_alg(None)]}).to_string(),
    ));
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    assert_eq!(call_with(&layer, &t, "quid-1").await.status, 200);
}

#[tokio::test]
async fn rfc8725_3_2_use_appropriate_algorithms() {
    // Weak or unsecured algorithms cannot even be configured.
    for algs in ["[\"HS256\"]", "[\"none\"]", "[\"RS256\", \"HS512\"]"] {
        let toml = format!(
            "[[registrations]]\nid = \"q\"\nprovider = \"jwks\"\nclient_id = \"c\"\n\
             jwks_uri = \"https://idp.example/keys\"\nalgorithms = {algs}\n"
        );
        let err = parse_registry_str(&toml, RegistryFormat::Toml).unwrap_err();
        let err = err.registration_error().expect("a rule violation");
        assert_eq!(err.field, "algorithms", "{algs}: {err}");
    }
    // An algorithm fedauth does not implement (ES512) is refused as such.
    let s = setup("").await;
    let t = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"ES512","kid":"key-1"}"#),
        b64(
            json!({"iss": s.idp.issuer(), "aud": "app-1", "sub": "a", "exp": now() + 60})
                .to_string()
        ),
        b64([7u8; 132])
    );
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));

    // An RSA key under 2048 bits is never used, even when it signed.
    let good = TestKey::rsa("good");
    let idp = MockIdp::start_with_keys(vec![good.clone()]).await;
    let mut weak = good.public_jwk();
    weak["kid"] = "weak".into();
    weak["n"] = b64([0xc1u8; 128]).into();
    idp.set_raw_jwks(Some(json!({"keys": [weak, good.public_jwk()]}).to_string()));
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    let a = call_with(&layer, &idp.token().kid("weak").sign(&good), "quid-1").await;
    assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
    assert_eq!(
        call_with(&layer, &idp.token().sign(&good), "quid-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn rfc8725_3_3_validate_all_cryptographic_operations() {
    let s = setup("").await;
    let key = s.idp.signing_key();
    let good = s.idp.mint();
    let sig = good.split('.').nth(2).unwrap().to_owned();
    let raw = URL_SAFE_NO_PAD.decode(&sig).unwrap();
    let mut flipped = raw.clone();
    flipped[10] ^= 1;
    let other_payload = b64(
        json!({"iss": s.idp.issuer(), "aud": "app-1", "sub": "mallory", "exp": now() + 60})
            .to_string(),
    );
    for (what, t) in [
        (
            "another key, same kid",
            s.idp.token().sign(&TestKey::rsa(key.kid())),
        ),
        ("empty signature", with_part(&good, 2, "")),
        ("one bit flipped", with_part(&good, 2, &b64(flipped))),
        (
            "truncated signature",
            with_part(&good, 2, &b64(&raw[..raw.len() - 8])),
        ),
        (
            "payload swapped after signing",
            with_part(&good, 1, &other_payload),
        ),
    ] {
        let a = call_with(&s.layer, &t, "quid-1").await;
        assert_refused(&a, 401, "invalid_signature", Some("invalid_token"));
        assert_eq!(
            a.error.as_ref().map(|e| e.code().as_str()),
            Some("invalid_signature"),
            "{what}"
        );
    }
    // A nested JWT (`cty: JWT`): the inner token is never taken on trust;
    // the outer payload must itself be the claims.
    let inner = s.idp.mint();
    let nested = signed_raw(
        &key,
        "RS256",
        br#"{"alg":"RS256","kid":"key-1","cty":"JWT"}"#,
        inner.as_bytes(),
    );
    let a = call_with(&s.layer, &nested, "quid-1").await;
    assert_refused(&a, 401, "malformed_token", Some("invalid_token"));
}

#[tokio::test]
async fn rfc8725_3_4_validate_cryptographic_inputs() {
    let ec = TestKey::ec_p256("ec");
    let idp = MockIdp::start_with_keys(vec![ec.clone()]).await;
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    let good = idp.token().sign(&ec);
    assert_eq!(call_with(&layer, &good, "quid-1").await.status, 200);
    // ECDSA signatures with r or s out of range, or not the fixed 64 bytes.
    let sig = URL_SAFE_NO_PAD
        .decode(good.split('.').nth(2).unwrap())
        .unwrap();
    let zero_r = [&[0u8; 32][..], &sig[32..]].concat();
    let zero_s = [&sig[..32], &[0u8; 32][..]].concat();
    let n_p256 = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    let r_is_n = [&n_p256[..], &sig[32..]].concat();
    let long = [&sig[..], &[0u8][..]].concat();
    for bad in [zero_r, zero_s, r_is_n, long, sig[..63].to_vec()] {
        let a = call_with(&layer, &with_part(&good, 2, &b64(bad)), "quid-1").await;
        assert_refused(&a, 401, "invalid_signature", Some("invalid_token"));
    }
    // A public key that is not a point of the curve is never usable.
    let mut off_curve = ec.public_jwk();
    let mut y = URL_SAFE_NO_PAD
        .decode(off_curve["y"].as_str().unwrap())
        .unwrap();
    y[31] ^= 1;
    off_curve["y"] = b64(y).into();
    idp.set_raw_jwks(Some(json!({"keys": [off_curve]}).to_string()));
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    let a = call_with(&layer, &good, "quid-1").await;
    assert_refused(&a, 401, "invalid_signature", Some("invalid_token"));
    // Coordinates of the wrong length: the key is skipped at parse.
    let mut short = ec.public_jwk();
    short["x"] = b64([1u8; 31]).into();
    idp.set_raw_jwks(Some(json!({"keys": [short]}).to_string()));
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    let a = call_with(&layer, &good, "quid-1").await;
    assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn rfc8725_3_5_ensure_cryptographic_keys_have_sufficient_entropy() {
    // Human-memorable or short secrets are the concern; a verifier that never
    // accepts a symmetric key has none. A key set offering a short `oct`
    // secret, and a token MACed with it, are refused.
    let rsa = TestKey::rsa("rsa");
    let idp = MockIdp::start_with_keys(vec![rsa.clone()]).await;
    let secret = b"secret";
    idp.set_raw_jwks(Some(
        json!({"keys": [
            {"kty": "oct", "kid": "short", "alg": "HS256", "k": b64(secret)},
            rsa.public_jwk(),
        ]})
        .to_string(),
    ));
    let layer = FedAuthLayer::new(builder(&jwks_registration(&idp, "quid-1", "")).build());
    let t = idp.token().kid("short").sign_hs256(secret);
    let a = call_with(&layer, &t, "quid-1").await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
    assert_eq!(
        call_with(&layer, &idp.token().sign(&rsa), "quid-1")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn rfc8725_3_6_avoid_compression_of_encryption_inputs() {
    // Compression applies to JWE; fedauth accepts no JWE at all, compressed
    // (`zip`) or not: five parts are not a JWS.
    let s = setup("").await;
    let header = b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM","zip":"DEF","kid":"key-1"}"#);
    let jwe = format!(
        "{header}.{}.{}.{}.{}",
        b64([1; 256]),
        b64([2; 12]),
        b64([3; 40]),
        b64([4; 16])
    );
    let a = call_with(&s.layer, &jwe, "quid-1").await;
    assert_refused(&a, 401, "malformed_token", Some("invalid_token"));
}

#[tokio::test]
async fn rfc8725_3_7_use_utf8() {
    let s = setup("").await;
    let key = s.idp.signing_key();
    let claims = |sub: &str| {
        format!(
            r#"{{"iss":"{}","aud":"app-1","exp":{},"sub":{sub}}}"#,
            s.idp.issuer(),
            now() + 60
        )
    };
    let header = br#"{"alg":"RS256","kid":"key-1"}"#;
    let ok = signed_raw(&key, "RS256", header, claims("\"caf\u{e9}\"").as_bytes());
    assert_eq!(call_with(&s.layer, &ok, "quid-1").await.status, 200);
    // Properly signed, but not UTF-8 (a Latin-1 é), or a lone surrogate.
    let mut latin1 = claims("\"caf\u{0}\"").into_bytes();
    let nul = latin1.iter().position(|&b| b == 0).unwrap();
    latin1[nul] = 0xe9;
    let surrogate = claims(r#""\ud800""#);
    let mut bad_header = header.to_vec();
    bad_header.insert(9, 0xff);
    for t in [
        signed_raw(&key, "RS256", header, &latin1),
        signed_raw(&key, "RS256", header, surrogate.as_bytes()),
        signed_raw(&key, "RS256", &bad_header, claims("\"a\"").as_bytes()),
    ] {
        let a = call_with(&s.layer, &t, "quid-1").await;
        assert_refused(&a, 401, "malformed_token", Some("invalid_token"));
    }
}

#[tokio::test]
async fn rfc8725_3_8_validate_issuer_and_subject() {
    let a_idp = MockIdp::start().await;
    // Another IdP whose key has the same kid (`key-1`).
    let b_idp = MockIdp::start().await;
    let layer = FedAuthLayer::new(builder(&jwks_registration(&a_idp, "quid-a", "")).build());
    let key = a_idp.signing_key();
    for t in [
        a_idp.token().issuer(b_idp.issuer()).sign(&key),
        a_idp
            .token()
            .issuer(format!("{}/", a_idp.issuer()))
            .sign(&key),
        a_idp.token().remove_claim("iss").sign(&key),
        a_idp.token().claim("iss", 42).sign(&key),
    ] {
        let a = call_with(&layer, &t, "quid-a").await;
        assert_refused(&a, 401, "invalid_issuer", Some("invalid_token"));
    }
    // The keys are the registration's issuer's: a token claiming A's issuer
    // but signed by B's key is refused, whatever its kid says.
    let forged = a_idp.token().sign(&b_idp.signing_key());
    let a = call_with(&layer, &forged, "quid-a").await;
    assert_refused(&a, 401, "invalid_signature", Some("invalid_token"));
    // The subject must be there.
    let a = call_with(
        &layer,
        &a_idp.token().remove_claim("sub").sign(&key),
        "quid-a",
    )
    .await;
    assert_refused(&a, 401, "invalid_claims", Some("invalid_token"));
    let a = call_with(&layer, &a_idp.mint(), "quid-a").await;
    assert_eq!(
        (a.status.as_u16(), &a.body["subject"]),
        (200, &json!("alice"))
    );
}

#[tokio::test]
async fn rfc8725_3_9_use_and_validate_audience() {
    let idp = MockIdp::start().await;
    let toml = jwks_registration(&idp, "quid-a", "")
        + &jwks_registration(&idp, "quid-b", "").replace("app-1", "app-2");
    let layer = FedAuthLayer::new(builder(&toml).build());
    let key = idp.signing_key();
    let for_a = idp.mint();
    assert_eq!(call_with(&layer, &for_a, "quid-a").await.status, 200);
    for (t, reg) in [
        (for_a.clone(), "quid-b"),
        (idp.token().remove_claim("aud").sign(&key), "quid-a"),
        (idp.token().audience("app-3").sign(&key), "quid-a"),
        (idp.token().claim("aud", json!([])).sign(&key), "quid-a"),
        (
            idp.token().claim("aud", json!({"app-1": true})).sign(&key),
            "quid-a",
        ),
    ] {
        let a = call_with(&layer, &t, reg).await;
        assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
    }
    // Several audiences: one names the client and the authorized party is
    // the client (OpenID Connect Core §3.1.3.7); without the party, refused.
    let several = || idp.token().claim("aud", json!(["app-3", "app-2"]));
    let t = several().claim("azp", "app-2").sign(&key);
    assert_eq!(call_with(&layer, &t, "quid-b").await.status, 200);
    for t in [
        several().sign(&key),
        several().claim("azp", "app-3").sign(&key),
    ] {
        let a = call_with(&layer, &t, "quid-b").await;
        assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
    }
}

#[tokio::test]
async fn rfc8725_3_10_do_not_trust_received_claims() {
    let s = setup("roles = [\"reader\"]").await;
    let key = s.idp.signing_key();
    // Claims cannot grant platform roles: only the registration does.
    let t = s
        .idp
        .token()
        .claim("roles", ["admin"])
        .claim("groups", ["admin"])
        .claim("scope", "admin")
        .sign(&key);
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["roles"], json!(["reader"]));
    // The kid is only a lookup key; header key sources are never fetched or used.
    let attacker = TestKey::rsa("attacker");
    let t = s
        .idp
        .token()
        .kid("attacker")
        .header("x5c", [b64(attacker.public_key_der())])
        .header("jwk", attacker.public_jwk())
        .header("jku", format!("{}/jwks", s.idp.base_url()))
        .sign(&attacker);
    let fetches = s.idp.jwks_fetches();
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_refused(&a, 401, "unknown_key", Some("invalid_token"));
    assert!(
        s.idp.jwks_fetches() <= fetches + 1,
        "at most the registration's own key URL"
    );
    // A claim naming a different user in `sub` than the token's principal
    // elsewhere: the subject is the verified `sub`, nothing else.
    let t = s.idp.token().claim("preferred_username", "root").sign(&key);
    let a = call_with(&s.layer, &t, "quid-1").await;
    assert_eq!(a.body["subject"], json!("alice"));
}

#[tokio::test]
async fn rfc8725_3_11_use_explicit_typing() {
    let idp = MockIdp::start().await;
    let toml = jwks_registration(&idp, "quid-access", "token_use = \"access\"")
        + &jwks_registration(&idp, "quid-id", "token_use = \"id\"");
    let layer = FedAuthLayer::new(builder(&toml).build());
    let key = idp.signing_key();
    let at = idp.token().header("typ", "at+jwt").sign(&key);
    let at_full = idp.token().header("typ", "application/at+jwt").sign(&key);
    let id = idp.token().sign(&key);
    let untyped = idp.token().remove_header("typ").sign(&key);
    assert_eq!(call_with(&layer, &at, "quid-access").await.status, 200);
    assert_eq!(call_with(&layer, &at_full, "quid-access").await.status, 200);
    assert_eq!(call_with(&layer, &id, "quid-id").await.status, 200);
    assert_eq!(call_with(&layer, &untyped, "quid-id").await.status, 200);
    for (t, reg) in [
        (&id, "quid-access"),
        (&untyped, "quid-access"),
        (&at, "quid-id"),
        (&at_full, "quid-id"),
    ] {
        let a = call_with(&layer, t, reg).await;
        assert_refused(&a, 401, "invalid_token_use", Some("invalid_token"));
    }
}

#[tokio::test]
async fn rfc8725_3_12_use_mutually_exclusive_validation_rules() {
    // Same IdP, same keys, same client: an access-token registration and an
    // ID-token registration. No token passes both.
    let idp = MockIdp::start().await;
    let toml = jwks_registration(&idp, "quid-access", "token_use = \"access\"")
        + &jwks_registration(&idp, "quid-id", "token_use = \"id\"");
    let layer = FedAuthLayer::new(builder(&toml).build());
    let key = idp.signing_key();
    let tokens: Vec<(&str, String)> = vec![
        ("access", idp.token().header("typ", "at+jwt").sign(&key)),
        ("id", idp.token().sign(&key)),
        ("id, typ JWT", idp.token().header("typ", "JWT").sign(&key)),
        (
            "access, lower case",
            idp.token().header("typ", "AT+JWT").sign(&key),
        ),
    ];
    for (what, t) in &tokens {
        let access = call_with(&layer, t, "quid-access").await;
        let id = call_with(&layer, t, "quid-id").await;
        let statuses = (access.status.as_u16(), id.status.as_u16());
        assert!(
            statuses == (200, 401) || statuses == (401, 200),
            "{what}: {statuses:?}"
        );
        let refused = if access.status == 401 { &access } else { &id };
        assert_refused(refused, 401, "invalid_token_use", Some("invalid_token"));
    }
    // And a token is bound to its registration's client: the same kind for
    // another client is refused by audience.
    let other = idp
        .token()
        .audience("app-2")
        .header("typ", "at+jwt")
        .sign(&key);
    let a = call_with(&layer, &other, "quid-access").await;
    assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
}
