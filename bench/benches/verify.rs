//! Per-request cost of verifying a token (issue 7, measure 1), for RS256,
//! PS256, ES256 and EdDSA:
//!
//! - `a_raw_jsonwebtoken`: `jsonwebtoken::decode` with a prebuilt key and
//!   the same `iss` / `aud` / `exp` checks: the floor;
//! - `b_fedauth_cold`: `FedAuthLayer` around a trivial handler, keys cached,
//!   token cache off (every request verifies in full);
//! - `c_fedauth_hit`: the same with the token cache on (default) and the
//!   same token repeated;
//! - `d_jwt_authorizer`: jwt-authorizer 0.15's layer around a trivial
//!   handler, built from the same public key, requiring the same `iss` and
//!   `aud`;
//! - `e_no_auth`: the same request through the trivial handler alone, no
//!   layer: what the harness itself costs (request drop, `oneshot`,
//!   response), so `c - e` is what fedauth adds on a cache hit.
//!
//! Two breakdowns, to show what limits the targets that are not met:
//!
//! - `f_authenticate_now` and `g_extensions` split `c - e`: the decision
//!   itself (`Authenticator::authenticate_now` answering from both caches,
//!   context dropped outside the timing) and putting the context and the
//!   claims in the request's extensions (and dropping them); the rest of
//!   `c - e` is the layer's glue (the service clone, the response future);
//! - `s_signature_only`: the signature check alone with the key parsed
//!   once (AWS-LC, as fedauth and jsonwebtoken use it). No layer can cost
//!   less than `s`, so `s / d` is the lowest `b/d` any layer on this crypto
//!   can reach;
//! - `s_ring` (every algorithm) and `s_rustcrypto` (ES256): the same check
//!   on *ring*, as jwt-authorizer makes it, and on RustCrypto's `p256`
//!   (fedauth's `rust-crypto` backend): whether another backend would
//!   move a target AWS-LC's `s` rules out (see `verify/signature.rs`).
//!
//! The layers run on a current-thread Tokio runtime; the mock IdP serving
//! the JWKS runs on its own runtime. `bench-report` turns the results into
//! a table.

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fedauth_bench::{
    AUDIENCE, Alg, Headers, authenticator, call, jwt_authorizer, jwt_authorizer_service, mint,
    service, start_idp, warm_up,
};
use http::{Request, StatusCode};
use http_body_util::Empty;
use jsonwebtoken::{DecodingKey, Validation, decode};
use serde_json::Value;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use tower_fedauth::{Immediate, TokenCacheConfig};

#[path = "verify/signature.rs"]
mod signature;

/// A token valid for the whole run.
const TOKEN_TTL_SECS: i64 = 3600;

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn bench_alg(c: &mut Criterion, idp_rt: &Runtime, alg: Alg) {
    let (idp, key) = idp_rt.block_on(start_idp(alg));
    let token = mint(&idp, &key, alg, TOKEN_TTL_SECS, None);
    let headers = Headers::new(&token);
    let rt = current_thread();

    // (a) the floor: a prebuilt key and validation.
    let decoding_key = DecodingKey::from_jwk(
        &serde_json::from_value(key.public_jwk_with_alg(Some(alg.name()))).expect("JWK parses"),
    )
    .expect("decoding key");
    let mut validation = Validation::new(alg.jwt());
    validation.set_issuer(&[idp.issuer()]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    decode::<Value>(&token, &decoding_key, &validation).expect("raw decode accepts the token");

    // (b) and (c): keys fetched before measuring, each set-up checked to answer 200.
    let (cold, hit, hit_auth) = rt.block_on(async {
        let cold_auth = authenticator(&idp, alg, TokenCacheConfig::disabled());
        let hit_auth = authenticator(&idp, alg, TokenCacheConfig::default());
        for auth in [&cold_auth, &hit_auth] {
            warm_up(auth).await;
        }
        let cold = service(cold_auth);
        let hit = service(hit_auth.clone());
        assert_eq!(
            call(&cold, &headers).await,
            StatusCode::OK,
            "{} cold",
            alg.name()
        );
        assert_eq!(
            call(&hit, &headers).await,
            StatusCode::OK,
            "{} hit",
            alg.name()
        );
        (cold, hit, hit_auth)
    });

    // (d) jwt-authorizer around a trivial axum 0.7 handler.
    let jwt_auth = rt.block_on(async {
        let authorizer =
            jwt_authorizer::<Value>(alg, &key.public_key_pem(), &idp.issuer(), AUDIENCE)
                .await
                .expect("jwt-authorizer builds from the public key");
        let svc = jwt_authorizer_service(authorizer);
        let response = svc
            .clone()
            .oneshot(headers.request(axum07::body::Body::empty()))
            .await
            .expect("infallible");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{} jwt-authorizer",
            alg.name()
        );
        svc
    });

    let mut group = c.benchmark_group(alg.name());
    group.bench_function("a_raw_jsonwebtoken", |b| {
        b.iter(|| {
            decode::<Value>(black_box(token.as_str()), &decoding_key, &validation)
                .expect("valid token")
        })
    });
    group.bench_function("b_fedauth_cold", |b| {
        b.to_async(&rt).iter_batched(
            || headers.request(Empty::<Bytes>::new()),
            |req| cold.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("c_fedauth_hit", |b| {
        b.to_async(&rt).iter_batched(
            || headers.request(Empty::<Bytes>::new()),
            |req| hit.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("d_jwt_authorizer", |b| {
        b.to_async(&rt).iter_batched(
            || headers.request(axum07::body::Body::empty()),
            |req| jwt_auth.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });
    let bare = tower::service_fn(fedauth_bench::ok_handler::<Empty<Bytes>>);
    group.bench_function("e_no_auth", |b| {
        b.to_async(&rt).iter_batched(
            || headers.request(Empty::<Bytes>::new()),
            |req| bare.oneshot(req),
            BatchSize::SmallInput,
        )
    });

    // The breakdowns.
    let signed = signature::Signed::new(&token);
    let jwk = key.public_jwk();
    let aws_lc = signature::AwsLc::new(alg, &key.public_key_der());
    assert!(
        aws_lc.verify(&signed),
        "{} AWS-LC signature check",
        alg.name()
    );
    group.bench_function("s_signature_only", |b| b.iter(|| aws_lc.verify(&signed)));
    let ring = signature::Ring::new(alg, &jwk);
    assert!(ring.verify(&signed), "{} ring signature check", alg.name());
    group.bench_function("s_ring", |b| b.iter(|| ring.verify(&signed)));
    if alg == Alg::Es256 {
        let p256 = signature::RustCryptoP256::new(&jwk);
        assert!(p256.verify(&signed), "ES256 RustCrypto signature check");
        group.bench_function("s_rustcrypto", |b| b.iter(|| p256.verify(&signed)));
    }
    // The registry entry expires every so often during a run; the layer
    // then finishes the request asynchronously, and so does this.
    let accepted = |req: &Request<()>| match hit_auth.authenticate_now(req) {
        Ok(Immediate::Accepted(ctx)) => ctx,
        Ok(Immediate::Pending(pending)) => rt
            .block_on(hit_auth.finish(pending))
            .expect("the token is still accepted"),
        other => panic!("{} expected an acceptance, got {other:?}", alg.name()),
    };
    let ctx = accepted(&headers.request(()));
    group.bench_function("f_authenticate_now", |b| {
        b.iter_batched(
            || headers.request(()),
            |req| {
                let ctx = accepted(black_box(&req));
                (req, ctx)
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("g_extensions", |b| {
        b.iter_batched(
            || (headers.request(()), ctx.clone()),
            |(mut req, ctx)| {
                req.extensions_mut().insert(ctx.claims().clone());
                req.extensions_mut().insert(ctx);
                drop(std::mem::take(black_box(req.extensions_mut())));
                req
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // Still 200 after the run (the key set did not expire mid-run, say).
    rt.block_on(async {
        assert_eq!(call(&cold, &headers).await, StatusCode::OK);
        assert_eq!(call(&hit, &headers).await, StatusCode::OK);
    });
    drop((cold, hit, jwt_auth));
    idp_rt.block_on(idp.shutdown());
}

fn verify(c: &mut Criterion) {
    let idp_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let only = std::env::var("FEDAUTH_BENCH_ALGS").ok();
    for alg in Alg::ALL {
        let wanted = only
            .as_deref()
            .is_none_or(|only| only.split(',').any(|a| Alg::parse(a.trim()) == Some(alg)));
        if !wanted {
            continue;
        }
        bench_alg(c, &idp_rt, alg);
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = verify
}
criterion_main!(benches);
