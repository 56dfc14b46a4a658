//! The registration's `dpop` modes, bound tokens without their proof (no
//! downgrade to bearer), and server nonces (RFC 9449 §8).

use super::*;
use crate::binding::DpopConfig;
use crate::registration::BindingMode;

async fn modes() -> Fx {
    Fx::with(
        |idp| {
            vec![
                reg(idp, "quid-required", |b| b.dpop(BindingMode::Required)),
                reg(idp, "quid-off", |b| b.dpop(BindingMode::Off)),
            ]
        },
        DpopConfig::default(),
    )
    .await
}

#[tokio::test]
async fn allowed_takes_bearer_tokens_and_bound_tokens_with_their_proof() {
    let fx = modes().await;
    assert_accepted(Req::bearer(&fx.idp.mint()).send(&fx.auth).await);
    let token = fx.bound();
    assert_accepted(Req::dpop(&token, &fx.proof(&token)).send(&fx.auth).await);
    // A DPoP header beside a bearer token is not read.
    let req = Req {
        proofs: vec!["garbage".into()],
        ..Req::bearer(&fx.idp.mint())
    };
    assert_accepted(req.send(&fx.auth).await);
}

#[tokio::test]
async fn a_bound_token_without_its_proof_is_refused_in_every_mode() {
    let fx = modes().await;
    let token = fx.bound();
    let detail =
        "the token is DPoP-bound (cnf.jkt) and was sent without the DPoP scheme and its proof";
    for (id, challenges) in [
        ("quid-1", dpop_binding()),
        ("quid-off", dpop_binding()),
        (
            "quid-required",
            vec![dpop_challenge("invalid_token", BINDING)],
        ),
    ] {
        let outcome = Req::bearer(&token).to(id).send(&fx.auth).await;
        assert_refused(
            &fx.auth,
            outcome,
            ErrorCode::InvalidTokenBinding,
            &challenges,
            detail,
        );
    }
    // The bare token is a bearer token too.
    let bare = Req {
        authorization: Some(token.clone()),
        ..Req::default()
    };
    let error = bare.send(&fx.auth).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidTokenBinding);
}

#[tokio::test]
async fn required_refuses_tokens_that_are_not_dpop_bound() {
    let fx = modes().await;
    let outcome = Req::bearer(&fx.idp.mint())
        .to("quid-required")
        .send(&fx.auth)
        .await;
    assert_refused(
        &fx.auth,
        outcome,
        ErrorCode::InvalidTokenBinding,
        &bearer_binding(),
        "the registration requires DPoP-bound tokens (dpop = required); this one has no cnf.jkt",
    );
    let token = fx.bound();
    let req = Req::dpop(&token, &fx.proof(&token)).to("quid-required");
    assert_accepted(req.send(&fx.auth).await);
    // Where DPoP is required, no Bearer challenge beside the DPoP one.
    let req = Req::dpop(&token, &fx.proof(&token).htm("PUT")).to("quid-required");
    assert_refused(
        &fx.auth,
        req.send(&fx.auth).await,
        ErrorCode::InvalidDpopProof,
        &[dpop_challenge("invalid_dpop_proof", BAD_PROOF)],
        "the DPoP proof's htm is not the request's method",
    );
}

#[tokio::test]
async fn off_refuses_the_dpop_scheme_as_a_bad_request() {
    let fx = modes().await;
    let token = fx.bound();
    let req = Req::dpop(&token, &fx.proof(&token)).to("quid-off");
    let error = assert_refused(
        &fx.auth,
        req.send(&fx.auth).await,
        ErrorCode::InvalidRequest,
        &[],
        "the DPoP scheme is not accepted for this registration (dpop = off)",
    );
    assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    assert_accepted(
        Req::bearer(&fx.idp.mint())
            .to("quid-off")
            .send(&fx.auth)
            .await,
    );
}

#[tokio::test]
async fn the_dpop_scheme_with_an_unbound_token_is_refused() {
    let fx = modes().await;
    let token = fx.idp.mint();
    let outcome = Req::dpop(&token, &fx.proof(&token)).send(&fx.auth).await;
    assert_unbound_dpop_refused(&fx.auth, outcome);
}

#[tokio::test]
async fn a_cnf_that_cannot_be_checked_is_refused() {
    let fx = modes().await;
    let key = fx.idp.signing_key();
    for (cnf, detail) in [
        (
            serde_json::json!({"jwk": {"kty": "EC"}}),
            "the token's cnf names a confirmation method other than jkt and x5t#S256",
        ),
        (
            serde_json::json!("bound"),
            "the token's cnf claim is not an object",
        ),
    ] {
        let token = fx.idp.token().claim("cnf", cnf).sign(&key);
        let outcome = Req::bearer(&token).send(&fx.auth).await;
        assert_refused(
            &fx.auth,
            outcome,
            ErrorCode::InvalidTokenBinding,
            &bearer_binding(),
            detail,
        );
    }
    // A jkt that is no thumbprint matches no key.
    let token = fx.idp.token().confirmation("jkt", "short").sign(&key);
    let outcome = Req::dpop(&token, &fx.proof(&token)).send(&fx.auth).await;
    assert_refused(
        &fx.auth,
        outcome,
        ErrorCode::InvalidTokenBinding,
        &dpop_binding(),
        "the token's cnf.jkt is not the thumbprint of the DPoP proof's key",
    );
}

/// A registration requiring nonces, and its `use_dpop_nonce` challenges.
async fn nonces(config: DpopConfig) -> Fx {
    Fx::with(
        |idp| vec![reg(idp, "quid-nonce", |b| b.dpop_nonce(true))],
        config,
    )
    .await
}

fn use_nonce() -> Vec<String> {
    let message = "The DPoP proof must carry the server's current nonce.";
    vec![dpop_challenge("use_dpop_nonce", message), BEARER.into()]
}

#[tokio::test]
async fn a_nonce_is_required_then_satisfied() {
    let fx = nonces(DpopConfig::default()).await;
    let token = fx.bound();
    let first = Req::dpop(&token, &fx.proof(&token)).to("quid-nonce");
    let error = assert_refused(
        &fx.auth,
        first.send(&fx.auth).await,
        ErrorCode::UseDpopNonce,
        &use_nonce(),
        "the registration requires a server nonce in DPoP proofs",
    );
    let nonce = error.dpop_nonce().expect("a fresh nonce").to_owned();
    let rendered = fx.auth.render(&error);
    assert_eq!(rendered.headers["dpop-nonce"], nonce.as_str());
    assert_eq!(rendered.status, http::StatusCode::UNAUTHORIZED);
    // Retried with it: accepted, and no new nonce to send.
    let retry = Req::dpop(&token, &fx.proof(&token).nonce(&nonce)).to("quid-nonce");
    let ctx = assert_accepted(retry.send(&fx.auth).await);
    assert_eq!(ctx.dpop_nonce(), None);
    // A stale one is refused, with the nonce again.
    let stale = Req::dpop(&token, &fx.proof(&token).nonce("stale")).to("quid-nonce");
    let error = assert_refused(
        &fx.auth,
        stale.send(&fx.auth).await,
        ErrorCode::UseDpopNonce,
        &use_nonce(),
        "the DPoP proof's nonce is not the server's current one",
    );
    assert_eq!(error.dpop_nonce(), Some(nonce.as_str()));
    // Other refusals of the registration carry the nonce too.
    let bad = Req::dpop(&token, &fx.proof(&token).htm("DELETE")).to("quid-nonce");
    let error = bad.send(&fx.auth).await.unwrap_err();
    assert_eq!(
        (error.code(), error.dpop_nonce()),
        (ErrorCode::InvalidDpopProof, Some(nonce.as_str()))
    );
    // Registrations without nonces send none.
    let plain = Req::dpop(&token, &fx.proof(&token).htm("DELETE"));
    assert_eq!(plain.send(&fx.auth).await.unwrap_err().dpop_nonce(), None);
}

#[tokio::test]
async fn servers_sharing_a_secret_accept_each_others_nonces() {
    let shared = DpopConfig::default().nonce_secret("a fleet's shared nonce secret, 32+ bytes");
    let a = nonces(shared.clone()).await;
    let b = nonces(shared).await;
    let alone = nonces(DpopConfig::default()).await;
    let token = a.bound();
    let asked = Req::dpop(&token, &a.proof(&token)).to("quid-nonce");
    let error = asked.send(&a.auth).await.unwrap_err();
    let nonce = error.dpop_nonce().unwrap().to_owned();
    // `b` holds the secret; `alone` has its own random one.
    let token_b = b.bound_to(&a.key);
    let proof = DpopProof::new(&a.key)
        .htu(HTU)
        .ath_for(&token_b)
        .nonce(&nonce);
    assert_accepted(
        Req::dpop(&token_b, &proof)
            .to("quid-nonce")
            .send(&b.auth)
            .await,
    );
    let token_alone = alone.bound_to(&a.key);
    let proof = DpopProof::new(&a.key)
        .htu(HTU)
        .ath_for(&token_alone)
        .nonce(&nonce);
    let error = Req::dpop(&token_alone, &proof)
        .to("quid-nonce")
        .send(&alone.auth)
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::UseDpopNonce);
    assert_ne!(error.dpop_nonce(), Some(nonce.as_str()));
}
