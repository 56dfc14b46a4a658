//! End-to-end through the [`Authenticator`] with whichever crypto backend
//! this build selected (CI runs it with `aws-lc-rs` and with `rust-crypto`).

use crate::registration::{Provider, Registration};
use crate::registry::InMemoryRegistry;
use crate::testkit::{MockIdp, TestKey};
use crate::{Authenticator, Credentials, ErrorCode};

#[tokio::test]
async fn every_algorithm_verifies_with_this_backend() {
    let keys = vec![
        TestKey::rsa("rsa"),
        TestKey::ec_p256("p256"),
        TestKey::ec_p384("p384"),
        TestKey::ed25519("ed"),
    ];
    let idp = MockIdp::start_with_keys(keys.clone()).await;
    let jwks: Vec<_> = keys.iter().map(|k| k.public_jwk_with_alg(None)).collect();
    idp.set_raw_jwks(Some(serde_json::json!({ "keys": jwks }).to_string()));
    let reg = Registration::builder("quid-1", Provider::Jwks)
        .client_id("app-1")
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .build()
        .unwrap();
    let auth = Authenticator::builder(InMemoryRegistry::new(vec![reg]).unwrap())
        .egress(crate::testkit::local_egress())
        .build();
    let verify = |token: String| {
        let auth = auth.clone();
        async move {
            auth.verify(
                &Credentials {
                    token,
                    registration: "quid-1".into(),
                },
                None,
            )
            .await
        }
    };
    for (kid, alg) in [
        ("rsa", "RS256"),
        ("rsa", "RS384"),
        ("rsa", "RS512"),
        ("rsa", "PS256"),
        ("rsa", "PS384"),
        ("rsa", "PS512"),
        ("p256", "ES256"),
        ("p384", "ES384"),
        ("ed", "EdDSA"),
    ] {
        let key = keys.iter().find(|k| k.kid() == kid).unwrap();
        let token = idp.token().alg(alg).sign(key);
        let ctx = verify(token.clone())
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(ctx.subject(), "alice");
        // One flipped signature byte must not verify.
        let (head, sig) = token.rsplit_once('.').unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        let bad = format!("{head}.{flipped}{}", &sig[1..]);
        let err = verify(bad).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidSignature, "{alg}");
    }
}
