//! Tests of keys and tokens: every algorithm verifies with `jsonwebtoken`,
//! tampered signatures do not, and the builder mints what it promises.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::{KeyKind, TestKey, TokenBuilder, jwks};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Every JWS algorithm the kit signs, with the kind of key it needs.
pub(super) const ALL_ALGS: [(KeyKind, &str, Algorithm); 9] = [
    (KeyKind::Rsa2048, "RS256", Algorithm::RS256),
    (KeyKind::Rsa2048, "RS384", Algorithm::RS384),
    (KeyKind::Rsa2048, "RS512", Algorithm::RS512),
    (KeyKind::Rsa2048, "PS256", Algorithm::PS256),
    (KeyKind::Rsa2048, "PS384", Algorithm::PS384),
    (KeyKind::Rsa2048, "PS512", Algorithm::PS512),
    (KeyKind::EcP256, "ES256", Algorithm::ES256),
    (KeyKind::EcP384, "ES384", Algorithm::ES384),
    (KeyKind::Ed25519, "EdDSA", Algorithm::EdDSA),
];

/// Splits a compact JWS into (signing input, signature part).
pub(super) fn split(token: &str) -> (&str, &str) {
    let dot = token.rfind('.').expect("token has a signature part");
    (&token[..dot], &token[dot + 1..])
}

/// Decodes one base64url JSON part of a token (0: header, 1: claims).
pub(super) fn part(token: &str, index: usize) -> Value {
    let b64 = token.split('.').nth(index).expect("token part");
    let bytes = URL_SAFE_NO_PAD.decode(b64).expect("base64url part");
    serde_json::from_slice(&bytes).expect("JSON part")
}

/// Flips one bit in the middle of the signature.
fn tamper(token: &str) -> String {
    let (input, sig) = split(token);
    let mut raw = URL_SAFE_NO_PAD.decode(sig).expect("signature b64");
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
}

fn verifies(token: &str, key: &DecodingKey, alg: Algorithm) -> bool {
    let (input, sig) = split(token);
    jsonwebtoken::crypto::verify(sig, input.as_bytes(), key, alg).expect("verify runs")
}

#[test]
fn every_algorithm_verifies_with_jsonwebtoken_and_tampering_fails() -> TestResult {
    let rsa = TestKey::rsa("rsa-1");
    for (kind, alg_name, alg) in ALL_ALGS {
        let key = if kind == KeyKind::Rsa2048 {
            rsa.clone()
        } else {
            TestKey::generate(kind, format!("k-{alg_name}"))
        };
        let jwk = key.public_jwk_with_alg(Some(alg_name));
        let decoding = DecodingKey::from_jwk(&serde_json::from_value(jwk)?)?;
        let token = TokenBuilder::new()
            .issuer("https://issuer.example")
            .audience("app-1")
            .alg(alg_name)
            .sign(&key);
        assert!(verifies(&token, &decoding, alg), "{alg_name} must verify");
        assert!(
            !verifies(&tamper(&token), &decoding, alg),
            "{alg_name}: tampered signature must not verify"
        );
        // Full decode: header and claims are well-formed.
        let mut validation = Validation::new(alg);
        validation.set_audience(&["app-1"]);
        validation.set_issuer(&["https://issuer.example"]);
        let data = jsonwebtoken::decode::<Value>(&token, &decoding, &validation)?;
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
        assert_eq!(data.header.alg, alg);
        // The SPKI PEM export is the same public key.
        let from_pem = match kind {
            KeyKind::Rsa2048 => DecodingKey::from_rsa_pem(key.public_key_pem().as_bytes())?,
            KeyKind::EcP256 | KeyKind::EcP384 => {
                DecodingKey::from_ec_pem(key.public_key_pem().as_bytes())?
            }
            KeyKind::Ed25519 => DecodingKey::from_ed_pem(key.public_key_pem().as_bytes())?,
        };
        assert!(verifies(&token, &from_pem, alg), "{alg_name} via PEM");
    }
    Ok(())
}

#[test]
fn default_algorithms_and_jwk_shapes() {
    let rsa = TestKey::rsa("r");
    let p256 = TestKey::ec_p256("p256");
    let p384 = TestKey::ec_p384("p384");
    let ed = TestKey::ed25519("ed");
    assert_eq!(rsa.default_alg(), "RS256");
    assert_eq!(p256.default_alg(), "ES256");
    assert_eq!(p384.default_alg(), "ES384");
    assert_eq!(ed.default_alg(), "EdDSA");
    assert_eq!(ed.kind(), KeyKind::Ed25519);

    let j = rsa.public_jwk();
    assert_eq!(j["kty"], "RSA");
    assert_eq!(j["kid"], "r");
    assert_eq!(j["use"], "sig");
    assert_eq!(j["alg"], "RS256");
    assert_eq!(j["e"], "AQAB");
    let n = URL_SAFE_NO_PAD
        .decode(j["n"].as_str().expect("n"))
        .expect("n is base64url without padding");
    assert_eq!(n.len(), 256);
    assert_ne!(n[0], 0, "no leading zero");

    for (key, crv, len) in [(&p256, "P-256", 32), (&p384, "P-384", 48)] {
        let j = key.public_jwk();
        assert_eq!(j["kty"], "EC");
        assert_eq!(j["crv"], crv);
        for c in ["x", "y"] {
            let bytes = URL_SAFE_NO_PAD
                .decode(j[c].as_str().expect("coordinate"))
                .expect("base64url");
            assert_eq!(bytes.len(), len);
        }
    }
    let j = ed.public_jwk();
    assert_eq!(j["kty"], "OKP");
    assert_eq!(j["crv"], "Ed25519");
    assert_eq!(j["alg"], "EdDSA");
    assert_eq!(j["x"].as_str().map(str::len), Some(43));

    assert!(rsa.public_jwk_with_alg(None).get("alg").is_none());
    assert_eq!(rsa.public_jwk_with_alg(Some("PS256"))["alg"], "PS256");

    let set = jwks(&[rsa.clone(), ed.clone()]);
    let kids: Vec<_> = set["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert_eq!(kids, vec![json!("r"), json!("ed")]);

    let pem = rsa.public_key_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    assert_eq!(rsa.public_key_der()[0], 0x30, "DER SEQUENCE");
}

#[test]
fn debug_does_not_leak_private_key() {
    let key = TestKey::ec_p256("dbg");
    let shown = format!("{key:?}");
    assert!(shown.contains("dbg") && shown.contains("EcP256"), "{shown}");
    assert!(shown.len() < 80, "{shown}");
}

#[test]
#[should_panic(expected = "cannot sign")]
fn mismatched_algorithm_panics() {
    let _ = TestKey::ec_p256("ec").sign("ES384", b"input");
}

#[test]
#[should_panic(expected = "cannot sign")]
fn rsa_key_refuses_ecdsa() {
    let _ = TokenBuilder::new().alg("ES256").sign(&TestKey::rsa("r"));
}

#[test]
fn builder_defaults_and_edits() {
    let b = TokenBuilder::new();
    let iat = b.claims()["iat"].as_i64().expect("iat number");
    let exp = b.claims()["exp"].as_i64().expect("exp number");
    assert_eq!(exp - iat, 300);
    assert!(b.claims().get("nbf").is_none());

    let b = b
        .issuer("iss")
        .subject("sub")
        .audience("aud")
        .claim("roles", ["a", "b"])
        .claim("nbf", iat)
        .remove_claim("iat")
        .expires_in(-60);
    assert_eq!(b.claims()["iss"], "iss");
    assert_eq!(b.claims()["sub"], "sub");
    assert_eq!(b.claims()["aud"], "aud");
    assert_eq!(b.claims()["roles"], json!(["a", "b"]));
    assert!(b.claims().get("iat").is_none());
    assert!(b.claims()["exp"].as_i64().expect("exp") < iat);

    let key = TestKey::ed25519("ed-1");
    let token = b.clone().header("x5t", "abc").sign(&key);
    let header = part(&token, 0);
    assert_eq!(
        header,
        json!({"typ": "JWT", "alg": "EdDSA", "kid": "ed-1", "x5t": "abc"})
    );
    assert_eq!(part(&token, 1), Value::Object(b.claims().clone()));
    assert!(!token.contains('='));

    // kid: explicit value, explicit removal.
    let token = b.clone().kid("other").sign(&key);
    assert_eq!(part(&token, 0)["kid"], "other");
    let token = b.clone().remove_header("kid").sign(&key);
    assert!(part(&token, 0).get("kid").is_none());
    let token = b.clone().remove_header("typ").sign(&key);
    assert!(part(&token, 0).get("typ").is_none());
}

#[test]
fn unsigned_and_hmac_tokens() -> TestResult {
    let key = TestKey::rsa("rsa-1");
    let b = TokenBuilder::new().subject("mallory");

    let none = b.unsigned();
    assert!(none.ends_with('.'));
    assert_eq!(none.split('.').count(), 3);
    assert_eq!(part(&none, 0), json!({"typ": "JWT", "alg": "none"}));

    // Key confusion: HMAC keyed with the public key PEM, kid of the RSA key.
    let pem = key.public_key_pem();
    let forged = b.clone().kid(key.kid()).sign_hs256(pem.as_bytes());
    assert_eq!(
        part(&forged, 0),
        json!({"typ": "JWT", "alg": "HS256", "kid": "rsa-1"})
    );
    let secret = DecodingKey::from_secret(pem.as_bytes());
    assert!(verifies(&forged, &secret, Algorithm::HS256));
    assert!(!verifies(&tamper(&forged), &secret, Algorithm::HS256));
    let wrong = DecodingKey::from_secret(b"another secret");
    assert!(!verifies(&forged, &wrong, Algorithm::HS256));
    Ok(())
}

#[test]
fn provider_presets() {
    let az2 = TokenBuilder::azure_ad_v2("tid-1", "client-1");
    let c = az2.claims();
    assert_eq!(c["iss"], "https://login.microsoftonline.com/tid-1/v2.0");
    assert_eq!(c["aud"], "client-1");
    assert_eq!(c["tid"], "tid-1");
    assert_eq!(c["ver"], "2.0");
    for name in ["oid", "preferred_username", "sub", "iat", "exp"] {
        assert!(c.contains_key(name), "azure v2 {name}");
    }

    let az1 = TokenBuilder::azure_ad_v1("tid-1", "client-1");
    assert_eq!(az1.claims()["iss"], "https://sts.windows.net/tid-1/");
    assert_eq!(az1.claims()["ver"], "1.0");
    assert_eq!(az1.claims()["aud"], "client-1");

    let iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
    let access = TokenBuilder::cognito_access(iss, "client-1");
    let c = access.claims();
    assert_eq!(c["iss"], iss);
    assert_eq!(c["token_use"], "access");
    assert_eq!(c["client_id"], "client-1");
    assert!(c.get("aud").is_none());
    for name in ["scope", "username", "jti", "auth_time", "sub"] {
        assert!(c.contains_key(name), "cognito access {name}");
    }
    let other = TokenBuilder::cognito_access(iss, "client-1");
    assert_ne!(c["jti"], other.claims()["jti"], "jti is unique");

    let id = TokenBuilder::cognito_id(iss, "client-1");
    assert_eq!(id.claims()["token_use"], "id");
    assert_eq!(id.claims()["aud"], "client-1");

    let a0 = TokenBuilder::auth0_id("https://tenant.auth0.com/", "client-1");
    assert_eq!(a0.claims()["iss"], "https://tenant.auth0.com/");
    assert_eq!(a0.claims()["aud"], "client-1");

    let fb = TokenBuilder::firebase_id("proj-1");
    let c = fb.claims();
    assert_eq!(c["iss"], "https://securetoken.google.com/proj-1");
    assert_eq!(c["aud"], "proj-1");
    assert_eq!(c["user_id"], c["sub"]);
    assert!(c["auth_time"].is_i64());
    assert!(c["firebase"]["sign_in_provider"].is_string());
}

#[test]
fn certificate_map_serves_the_keys_public_keys() -> TestResult {
    let keys = [TestKey::rsa("c1"), TestKey::rsa("c2")];
    let map = super::certificate_map(&keys);
    let pem = map["c1"].as_str().unwrap_or_default();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    assert!(pem.ends_with("-----END CERTIFICATE-----\n"));

    let set = crate::keys::KeySet::from_document_slice(map.to_string().as_bytes())?;
    assert_eq!(set.keys().len(), 2);
    assert_eq!(set.skipped(), 0);
    let key = set.by_kid("c2").next().ok_or("c2 parsed")?;
    assert_eq!(key.key_type, crate::keys::KeyType::Rsa);
    let token = TokenBuilder::new().subject("s").sign(&keys[1]);
    let (input, sig) = split(&token);
    assert!(jsonwebtoken::crypto::verify(
        sig,
        input.as_bytes(),
        key.signature.decoding(),
        Algorithm::RS256
    )?);
    let other = TokenBuilder::new().subject("s").sign(&keys[0]);
    let (input, sig) = split(&other);
    assert!(!jsonwebtoken::crypto::verify(
        sig,
        input.as_bytes(),
        key.signature.decoding(),
        Algorithm::RS256
    )?);
    Ok(())
}

#[test]
#[should_panic(expected = "RSA keys only")]
fn certificates_are_rsa_only() {
    let _ = super::certificate_pem(&TestKey::ec_p256("ec"));
}

/// The key set's own signature check (keys parsed once and kept): one RSA
/// key serves all six RSA algorithms, each parsed key is reused, and a
/// tampered, truncated, over-long or non-base64url signature, or a
/// signature of another algorithm, never verifies.
#[test]
fn key_set_keys_verify_every_algorithm_and_nothing_else() -> TestResult {
    let rsa = TestKey::rsa("rsa-1");
    let others = [
        TestKey::ec_p256("p256"),
        TestKey::ec_p384("p384"),
        TestKey::ed25519("ed"),
    ];
    let mut all = vec![rsa.clone()];
    all.extend(others.iter().cloned());
    let set = crate::keys::KeySet::from_document_slice(jwks(&all).to_string().as_bytes())?;
    for (kind, alg_name, alg) in ALL_ALGS {
        let signer = match kind {
            KeyKind::Rsa2048 => &rsa,
            KeyKind::EcP256 => &others[0],
            KeyKind::EcP384 => &others[1],
            _ => &others[2],
        };
        let key = set.by_kid(signer.kid()).next().ok_or("key in the set")?;
        let token = TokenBuilder::new().subject("s").alg(alg_name).sign(signer);
        let (input, sig) = split(&token);
        let check = |sig: &str, alg| key.signature.verifies(alg, input.as_bytes(), sig);
        // Twice: the second check runs on the parsed key kept by the first.
        assert!(check(sig, alg), "{alg_name} verifies");
        assert!(check(sig, alg), "{alg_name} verifies again");
        let tampered_token = tamper(&token);
        let (_, tampered) = split(&tampered_token);
        assert!(!check(tampered, alg), "{alg_name}: tampered");
        assert!(!check(&sig[..sig.len() - 4], alg), "{alg_name}: truncated");
        assert!(!check("", alg), "{alg_name}: empty");
        assert!(!check(&format!("{sig}="), alg), "{alg_name}: padded");
        assert!(!check(&"A".repeat(1400), alg), "{alg_name}: over-long");
        assert!(
            !check(&format!("+{}", &sig[1..]), alg),
            "{alg_name}: not base64url"
        );
        // Another algorithm's signature under the same key.
        let other = match alg {
            Algorithm::RS256 => Algorithm::PS256,
            Algorithm::PS256 => Algorithm::RS256,
            Algorithm::RS384 | Algorithm::PS384 => Algorithm::RS512,
            Algorithm::RS512 | Algorithm::PS512 => Algorithm::RS384,
            _ => continue,
        };
        assert!(!check(sig, other), "{alg_name} signature as {other:?}");
    }
    Ok(())
}
