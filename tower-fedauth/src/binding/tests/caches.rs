//! A bound token answered from the verified-token cache or the thread's
//! hot set is still checked against each request's proof and
//! certificate: a replayed proof is refused, a fresh one accepted.

use super::*;
use crate::testkit::ClientCert;

#[tokio::test(flavor = "current_thread")]
async fn cached_and_hot_tokens_check_every_proof() {
    let fx = Fx::start().await;
    let token = fx.bound();
    // The first request verifies the token (a key fetch) and waits.
    let first = fx.proof(&token);
    assert!(Req::dpop(&token, &first).now(&fx.auth).is_none());
    assert_accepted(Req::dpop(&token, &first).send(&fx.auth).await);
    let fetches = fx.idp.jwks_fetches();
    // Then from the caches at once: the shared caches twice (the second
    // hit admits the credentials to the hot set), then the hot set.
    for round in 0..4 {
        let fresh = fx.proof(&token);
        let outcome = Req::dpop(&token, &fresh)
            .now(&fx.auth)
            .expect("answered at once");
        assert_accepted(outcome);
        // The same proof again: refused, whichever cache answered.
        let replayed = Req::dpop(&token, &fresh)
            .now(&fx.auth)
            .expect("answered at once");
        assert_refused(
            &fx.auth,
            replayed,
            ErrorCode::InvalidDpopProof,
            &bad_proof(),
            "the DPoP proof's jti was used before",
        );
        // A proof of another key, and the token as a bearer token.
        let thief = DpopKey::generate(Algorithm::ES256);
        let stolen = DpopProof::new(&thief).htu(HTU).ath_for(&token);
        let error = Req::dpop(&token, &stolen)
            .now(&fx.auth)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            error.code(),
            ErrorCode::InvalidTokenBinding,
            "round {round}"
        );
        let error = Req::bearer(&token).now(&fx.auth).unwrap().unwrap_err();
        assert_eq!(
            error.code(),
            ErrorCode::InvalidTokenBinding,
            "round {round}"
        );
        let wrong_method = Req {
            method: Some("POST"),
            ..Req::dpop(&token, &fx.proof(&token))
        };
        let error = wrong_method.now(&fx.auth).unwrap().unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidDpopProof, "round {round}");
    }
    assert_eq!(
        fx.idp.jwks_fetches(),
        fetches,
        "every answer came from the caches"
    );
    assert!(crate::authenticator::hot_hits_on_this_thread() >= 2);
}

#[tokio::test(flavor = "current_thread")]
async fn a_hot_bearer_token_is_refused_with_the_dpop_scheme() {
    let fx = Fx::start().await;
    let token = fx.idp.mint();
    for _ in 0..3 {
        assert_accepted(Req::bearer(&token).send(&fx.auth).await);
    }
    let before = crate::authenticator::hot_hits_on_this_thread();
    assert_accepted(Req::bearer(&token).now(&fx.auth).unwrap());
    assert_eq!(crate::authenticator::hot_hits_on_this_thread(), before + 1);
    // The same credentials, now as the `DPoP` scheme with a valid proof.
    let outcome = Req::dpop(&token, &fx.proof(&token)).now(&fx.auth).unwrap();
    assert_unbound_dpop_refused(&fx.auth, outcome);
}

#[tokio::test(flavor = "current_thread")]
async fn a_cached_certificate_bound_token_checks_each_certificate() {
    let fx = Fx::start().await;
    let cert = ClientCert::generate();
    let token = fx.idp.token().cert_bound(&cert).sign(&fx.idp.signing_key());
    let with = |der: Option<&[u8]>| Req {
        cert: der.map(<[u8]>::to_vec),
        ..Req::bearer(&token)
    };
    assert_accepted(with(Some(cert.der())).send(&fx.auth).await);
    let other = ClientCert::generate();
    for _ in 0..4 {
        assert_accepted(with(Some(cert.der())).now(&fx.auth).unwrap());
        let error = with(Some(other.der())).now(&fx.auth).unwrap().unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidTokenBinding);
        let error = with(None).now(&fx.auth).unwrap().unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidTokenBinding);
    }
}
