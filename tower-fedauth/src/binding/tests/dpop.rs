//! Every check of RFC 9449 §4.3, one refusal at a time, and the proofs
//! that pass: each algorithm, `htu` normalisation, the `iat` window's
//! edges.

use super::*;
use crate::testkit::{ath_of, token::now};

#[tokio::test]
async fn a_valid_proof_of_each_algorithm_is_accepted() {
    let fx = Fx::start().await;
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
    ] {
        let key = DpopKey::generate(alg);
        let token = fx.bound_to(&key);
        let proof = DpopProof::new(&key).htu(HTU).ath_for(&token);
        let ctx = assert_accepted(Req::dpop(&token, &proof).send(&fx.auth).await);
        assert_eq!(ctx.dpop_nonce(), None, "{alg:?}");
        assert_eq!(
            ctx.claims().as_map()["cnf"]["jkt"],
            key.thumbprint(),
            "{alg:?}"
        );
    }
}

/// One proof refused as `invalid_dpop_proof` with `detail`.
async fn refused_proof(fx: &Fx, token: &str, proof: DpopProof, detail: &str) {
    let outcome = Req::dpop(token, &proof).send(&fx.auth).await;
    assert_refused(
        &fx.auth,
        outcome,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        detail,
    );
}

#[tokio::test]
async fn each_proof_check_refuses_on_its_own() {
    let fx = Fx::start().await;
    let token = fx.bound();
    let other = DpopKey::generate(Algorithm::ES256);
    let cases: Vec<(DpopProof, &str)> = vec![
        (
            fx.proof(&token).htm("POST"),
            "the DPoP proof's htm is not the request's method",
        ),
        (
            fx.proof(&token).htm("get"),
            "the DPoP proof's htm is not the request's method",
        ),
        (
            fx.proof(&token).htu("https://api.example.com/other"),
            "the DPoP proof's htu is not the request's URL",
        ),
        (
            fx.proof(&token).htu("https://evil.example.com/whoami"),
            "the DPoP proof's htu is not the request's URL",
        ),
        (
            fx.proof(&token).htu("http://api.example.com/whoami"),
            "the DPoP proof's htu is not the request's URL",
        ),
        (
            fx.proof(&token).htu("https://api.example.com:8443/whoami"),
            "the DPoP proof's htu is not the request's URL",
        ),
        (
            fx.proof(&token).iat(now() - 121),
            "the DPoP proof's iat is too old",
        ),
        (
            fx.proof(&token).iat(now() + 125),
            "the DPoP proof's iat is in the future",
        ),
        (
            fx.proof(&token).claim("ath", ath_of("another.token")),
            "the DPoP proof's ath is not the hash of the access token",
        ),
        (
            fx.proof(&token).remove_claim("ath"),
            "the DPoP proof has no ath",
        ),
        (
            fx.proof(&token).claim("ath", "not-a-hash"),
            "the DPoP proof's ath is not the hash of the access token",
        ),
        (
            fx.proof(&token).corrupt_signature(),
            "the DPoP proof's signature does not verify with its jwk",
        ),
        (
            // Signed by the fixture's key, naming another key.
            fx.proof(&token).jwk_of(&other),
            "the DPoP proof's signature does not verify with its jwk",
        ),
        (
            fx.proof(&token).remove_claim("jti"),
            "the DPoP proof lacks one of jti, htm, htu, iat",
        ),
        (
            fx.proof(&token).remove_claim("htu"),
            "the DPoP proof lacks one of jti, htm, htu, iat",
        ),
        (
            fx.proof(&token).jti(""),
            "the DPoP proof's jti is empty or over 256 characters",
        ),
        (
            fx.proof(&token).claim("iat", "yesterday"),
            "the DPoP proof's claims are not a JSON object of the RFC 9449 types",
        ),
    ];
    for (proof, detail) in cases {
        refused_proof(&fx, &token, proof, detail).await;
    }
}

#[tokio::test]
async fn a_broken_proof_header_is_refused_before_the_token_is_read() {
    let fx = Fx::start().await;
    // The token is not even a JWT: the proof's header refuses first.
    let garbage = "not-a-token";
    let rsa = DpopKey::generate(Algorithm::RS256);
    let cases: Vec<(DpopProof, String)> = vec![
        (
            fx.proof(garbage).typ("JWT"),
            "the DPoP proof's typ is not dpop+jwt".into(),
        ),
        (
            fx.proof(garbage).remove_header("typ"),
            "the DPoP proof's typ is not dpop+jwt".into(),
        ),
        (
            fx.proof(garbage).alg("none"),
            "the DPoP proof's alg none is not an asymmetric signature algorithm".into(),
        ),
        (
            fx.proof(garbage).alg("HS256"),
            "the DPoP proof's alg HS256 is not an asymmetric signature algorithm".into(),
        ),
        (
            fx.proof(garbage).private_jwk(),
            "the DPoP proof's jwk holds private or symmetric key material (`d`)".into(),
        ),
        (
            fx.proof(garbage)
                .jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"})),
            "the DPoP proof's jwk holds private or symmetric key material (`k`)".into(),
        ),
        (
            // An ES256 signature claimed for an RSA key.
            fx.proof(garbage).jwk_of(&rsa),
            "the DPoP proof's alg ES256 does not fit its jwk (Rsa)".into(),
        ),
        (
            fx.proof(garbage).remove_header("jwk"),
            "the DPoP proof's header has no jwk".into(),
        ),
        (
            fx.proof(garbage).header("crit", ["exp"]),
            "the DPoP proof's header has crit, which is not understood".into(),
        ),
    ];
    for (proof, detail) in cases {
        refused_proof(&fx, garbage, proof, &detail).await;
    }
    // An algorithm outside the configured list.
    let only_es256 = Fx::with(
        |_| Vec::new(),
        DpopConfig::default().algorithms(vec![Algorithm::ES256, Algorithm::HS256]),
    )
    .await;
    let key = DpopKey::generate(Algorithm::PS256);
    let token = only_es256.bound_to(&key);
    let outcome = Req::dpop(&token, &DpopProof::new(&key).htu(HTU).ath_for(&token))
        .send(&only_es256.auth)
        .await;
    let challenge = "DPoP realm=\"fedauth\", algs=\"ES256\", error=\"invalid_dpop_proof\", \
                     error_description=\"The DPoP proof is missing or invalid.\"";
    assert_refused(
        &only_es256.auth,
        outcome,
        ErrorCode::InvalidDpopProof,
        &[challenge.into(), BEARER.into()],
        "the DPoP proof's alg PS256 is not accepted",
    );
}

#[tokio::test]
async fn the_scheme_needs_exactly_one_proof() {
    let fx = Fx::start().await;
    let token = fx.bound();
    let none = Req {
        proofs: Vec::new(),
        ..Req::dpop(&token, &fx.proof(&token))
    };
    assert_refused(
        &fx.auth,
        none.send(&fx.auth).await,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        "the DPoP scheme without a DPoP header",
    );
    let two = Req {
        proofs: vec![fx.proof(&token).sign(), fx.proof(&token).sign()],
        ..Req::dpop(&token, &fx.proof(&token))
    };
    assert_refused(
        &fx.auth,
        two.send(&fx.auth).await,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        "the request has more than one DPoP header",
    );
    let not_a_jwt = Req {
        proofs: vec!["a.b".into()],
        ..Req::dpop(&token, &fx.proof(&token))
    };
    assert_refused(
        &fx.auth,
        not_a_jwt.send(&fx.auth).await,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        "the DPoP proof is not a compact JWT (three parts)",
    );
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let fx = Fx::start().await;
    let token = fx.bound();
    let proof = fx.proof(&token).jti("once");
    assert_accepted(Req::dpop(&token, &proof).send(&fx.auth).await);
    assert_refused(
        &fx.auth,
        Req::dpop(&token, &proof).send(&fx.auth).await,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        "the DPoP proof's jti was used before",
    );
    // The same id from another key is another proof.
    let other = DpopKey::generate(Algorithm::ES256);
    let token = fx.bound_to(&other);
    let proof = DpopProof::new(&other).htu(HTU).ath_for(&token).jti("once");
    assert_accepted(Req::dpop(&token, &proof).send(&fx.auth).await);
}

#[tokio::test]
async fn htu_is_compared_normalised_without_query_and_fragment() {
    let fx = Fx::start().await;
    let token = fx.bound();
    for htu in [
        "https://api.example.com/whoami",
        "HTTPS://API.Example.COM/whoami",
        "https://api.example.com:443/whoami",
        "https://api.example.com/whoami?x=1",
        "https://api.example.com/whoami#fragment",
        "https://api.example.com/./whoami",
        "https://api.example.com/a/../whoami",
        "https://api.example.com/%77hoami",
    ] {
        let proof = fx.proof(&token).htu(htu);
        let outcome = Req::dpop(&token, &proof).send(&fx.auth).await;
        assert!(outcome.is_ok(), "{htu}: {outcome:?}");
    }
    // The request's query is not part of the URL either.
    let req = Req {
        path: Some("/whoami?page=2"),
        ..Req::dpop(&token, &fx.proof(&token))
    };
    assert_accepted(req.send(&fx.auth).await);
}

#[tokio::test]
async fn without_a_public_url_htu_is_http_and_the_host() {
    let idp = MockIdp::start().await;
    let auth = authenticator(
        vec![reg(&idp, "quid-1", |b| b)],
        DpopConfig::default(),
        ClientCertSource::Connection,
    );
    let key = DpopKey::generate(Algorithm::ES256);
    let token = idp.token().dpop_bound(&key).sign(&idp.signing_key());
    let proof = DpopProof::new(&key)
        .htu("http://internal:8080/whoami")
        .ath_for(&token);
    assert_accepted(Req::dpop(&token, &proof).send(&auth).await);
    let proof = DpopProof::new(&key).htu(HTU).ath_for(&token);
    assert_refused(
        &auth,
        Req::dpop(&token, &proof).send(&auth).await,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        "the DPoP proof's htu is not the request's URL",
    );
}

#[tokio::test]
async fn iat_is_accepted_within_the_window_and_the_leeway() {
    let fx = Fx::with(
        |idp| vec![reg(idp, "quid-strict", |b| b.leeway_seconds(0))],
        DpopConfig::default(),
    )
    .await;
    let token = fx.bound();
    // 60 s window + 60 s default leeway, with a second to spare.
    for iat in [now() - 118, now() + 118, now() - 30] {
        let proof = fx.proof(&token).iat(iat);
        assert_accepted(Req::dpop(&token, &proof).send(&fx.auth).await);
    }
    // Without leeway the window alone.
    let proof = fx.proof(&token).iat(now() - 65);
    assert_refused(
        &fx.auth,
        Req::dpop(&token, &proof)
            .to("quid-strict")
            .send(&fx.auth)
            .await,
        ErrorCode::InvalidDpopProof,
        &bad_proof(),
        "the DPoP proof's iat is too old",
    );
}

#[tokio::test]
async fn a_proof_of_another_key_than_the_tokens_is_a_binding_refusal() {
    let fx = Fx::start().await;
    let token = fx.bound();
    let thief = DpopKey::generate(Algorithm::ES256);
    let proof = DpopProof::new(&thief).htu(HTU).ath_for(&token);
    assert_refused(
        &fx.auth,
        Req::dpop(&token, &proof).send(&fx.auth).await,
        ErrorCode::InvalidTokenBinding,
        &dpop_binding(),
        "the token's cnf.jkt is not the thumbprint of the DPoP proof's key",
    );
}

#[tokio::test]
async fn a_broken_proof_does_not_hide_an_earlier_refusal() {
    let fx = Fx::start().await;
    let token = fx.bound();
    // Registration first, even before a broken proof header.
    let req = Req::dpop(&token, &fx.proof(&token).typ("JWT")).to("quid-nobody");
    let error = req.send(&fx.auth).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::UnknownRegistration);
    // The token's claims (step 10) before the proof's signature (step 12).
    let expired = fx
        .idp
        .token()
        .dpop_bound(&fx.key)
        .expires_in(-600)
        .sign(&fx.idp.signing_key());
    let req = Req::dpop(&expired, &fx.proof(&expired).corrupt_signature());
    let error = req.send(&fx.auth).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::TokenExpired);
}
