//! Instructions per request on the cache-hit path, counted by callgrind:
//! a measure that a busy machine does not move, for comparing two builds
//! when wall-clock medians swing with the neighbours.
//!
//! ```sh
//! bash bench/scripts/instructions.sh            # all four parts, RS256 and EdDSA
//! ```
//!
//! which runs, for each part,
//!
//! ```sh
//! valgrind --tool=callgrind --toggle-collect='*hit_instructions*measured*' \
//!     target/release/hit-instructions <alg> <part> <iterations>
//! ```
//!
//! Only the inside of `measured` is counted (set-up, key generation and the
//! mock IdP are not), and the script divides by the iterations. Parts, as in
//! the criterion bench: `b` (the layer, token cache off: a full
//! verification, for its profile), `c` (the layer, a hit), `e` (no layer), `f`
//! (`authenticate_now` alone), `g` (the extensions), and `r`: building and
//! dropping the request alone. Every part builds and drops its request
//! inside the loop (the criterion bench does that outside its timing), so
//! `c - e` is fedauth's part, and `f - r` and `g - r` are the decision's
//! and the extensions'.
//!
//! Two more parts compare the throughput run's two servers in process, one
//! `GET /whoami` through each whole axum router with the response body
//! collected: `x`, the example server's router (the layer, a token-cache
//! hit, the `whoami` handler serialising the context), and `y`, the
//! baseline's router answering the same body with no layer. `x - y` is
//! what the example server's user-space work adds per request, the
//! loopback kernel aside. Each run also prints its wall-clock time per
//! iteration on stderr (meaningless under valgrind).
//!
//! Four parts send a token never seen before on every iteration (minted
//! before counting, one per iteration), the path of issue 21: `u`, the
//! layer with a verified-token cache already full (filled with
//! [`PREFILL`] other tokens; bounded at [`FULL_CACHE_BYTES`], so that
//! few tokens fill it), `v`, the same with the cache off (`u - v`: what
//! remembering a first-seen token costs), `w`, the example server's
//! router (the layer as in `u`, the `whoami` answer), and `j`,
//! jwt-authorizer's layer (as the criterion bench's `d`).

use std::hint::black_box;

use tokio::runtime::Runtime;

use axum::body::Body;
use bytes::Bytes;
use fedauth_bench::{
    AUDIENCE, Alg, Headers, authenticator, baseline_router, jwt_authorizer, jwt_authorizer_service,
    mint, service, start_idp, warm_up,
};
use fedauth_examples::AppState;
use http_body_util::{BodyExt as _, Empty};
use tower::ServiceExt as _;
use tower_fedauth::{AuthContext, Authenticator, Immediate, TokenCacheConfig};

fn usage() -> ! {
    eprintln!(
        "usage: hit-instructions <RS256|PS256|ES256|EdDSA> <b|c|e|f|g|r|x|y|u|v|w|j> <iterations>"
    );
    std::process::exit(2)
}

/// The bound of the verified-token cache of parts `u` and `w`: a full
/// cache that a few hundred tokens fill.
const FULL_CACHE_BYTES: u64 = 1024 * 1024;

/// Tokens verified before counting in parts `u` and `w`: more than
/// [`FULL_CACHE_BYTES`] holds, so every counted token evicts another.
const PREFILL: usize = 1000;

/// The one function callgrind counts. Never inlined, so its name survives.
#[inline(never)]
fn measured(part: &str, iterations: u64, run: &mut dyn FnMut()) {
    black_box(part);
    let started = std::time::Instant::now();
    for _ in 0..iterations {
        run();
    }
    let ns = started.elapsed().as_nanos() as f64 / iterations.max(1) as f64;
    eprintln!("{part}: {ns:.0} ns per iteration");
}

/// One request through `svc` on `rt`, answered 200.
fn respond<S, B>(rt: &Runtime, svc: S, headers: &Headers)
where
    S: tower::Service<http::Request<Empty<Bytes>>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
{
    let response = rt
        .block_on(svc.oneshot(headers.request(Empty::new())))
        .expect("infallible");
    assert_eq!(response.status(), 200);
}

/// `GET /whoami` through a whole router, answered 200; the body.
fn whoami(rt: &Runtime, router: &axum::Router, headers: &Headers) -> Bytes {
    let req = headers.request(Body::empty());
    let response = rt
        .block_on(router.clone().oneshot(req))
        .expect("infallible");
    assert_eq!(response.status(), 200);
    rt.block_on(response.into_body().collect())
        .expect("the body")
        .to_bytes()
}

fn accepted(auth: &Authenticator, req: &http::Request<()>) -> AuthContext {
    match auth.authenticate_now(req) {
        Ok(Immediate::Accepted(ctx)) => ctx,
        other => panic!("expected an acceptance from the caches, got {other:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(alg), Some(part), Some(iterations)) = (args.next(), args.next(), args.next()) else {
        usage()
    };
    let Some(alg) = Alg::parse(&alg) else { usage() };
    let Ok(iterations) = iterations.parse::<u64>() else {
        usage()
    };
    // The two servers' process set-up (the Prometheus recorder, whose
    // counters the example server increments), before any counter is
    // registered; the other parts run without a recorder, as before.
    let metrics = matches!(part.as_str(), "x" | "y").then(fedauth_examples::install_metrics);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (idp, key) = rt.block_on(start_idp(alg));
    let token = mint(&idp, &key, alg, 3600, None);
    let headers = Headers::new(&token);
    let auth = authenticator(&idp, alg, TokenCacheConfig::default());
    let cold_auth = authenticator(&idp, alg, TokenCacheConfig::disabled());
    for auth in [&auth, &cold_auth] {
        rt.block_on(warm_up(auth));
    }
    // The first request verifies and caches the token; the rest are hits.
    // The distinct-token parts: one new token per iteration (and the
    // prefill), minted before counting.
    let distinct = matches!(part.as_str(), "u" | "v" | "w" | "j");
    let fresh: Vec<Headers> = match distinct {
        true => (0..iterations as usize + PREFILL)
            .map(|i| Headers::new(&mint(&idp, &key, alg, 3600, Some(&format!("fresh-{i}")))))
            .collect(),
        false => Vec::new(),
    };
    let (prefill, fresh) = fresh.split_at(PREFILL.min(fresh.len()));
    let mut fresh = fresh.iter();
    let mut next = move || fresh.next().expect("a token per iteration");
    let full_auth = authenticator(
        &idp,
        alg,
        TokenCacheConfig::default().max_bytes(FULL_CACHE_BYTES),
    );
    rt.block_on(warm_up(&full_auth));
    let full = service(full_auth.clone());
    for headers in prefill {
        respond(&rt, full.clone(), headers);
    }
    let pem = key.public_key_pem();
    let jwt = rt.block_on(jwt_authorizer::<serde_json::Value>(
        alg,
        &pem,
        &idp.issuer(),
        AUDIENCE,
    ));
    let jwt = jwt_authorizer_service(jwt.expect("jwt-authorizer builds"));
    let first = rt.block_on(auth.authenticate(&headers.request(())));
    let ctx = first.expect("the token is accepted");
    let hit = service(auth.clone());
    let cold = service(cold_auth);
    let bare = tower::service_fn(fedauth_bench::ok_handler::<Empty<Bytes>>);
    // The throughput run's two servers, in process; the baseline answers
    // what the example server answers.
    let example = fedauth_examples::axum_app::router(AppState::new(
        auth.clone(),
        metrics.unwrap_or_else(fedauth_examples::local_metrics),
    ));
    let full_example = fedauth_examples::axum_app::router(AppState::new(
        full_auth,
        fedauth_examples::local_metrics(),
    ));
    let body = whoami(&rt, &example, &headers);
    let baseline = baseline_router(
        serde_json::from_slice(&body).expect("whoami is JSON"),
        std::time::Duration::ZERO,
    );
    // The same answer, its members in another order (`Value` sorts them),
    // as in the throughput run.
    let answer = whoami(&rt, &baseline, &headers);
    assert_eq!(answer.len(), body.len());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&answer).expect("JSON"),
        serde_json::from_slice::<serde_json::Value>(&body).expect("JSON"),
    );

    let mut run: Box<dyn FnMut() + '_> = match part.as_str() {
        "b" => Box::new(|| respond(&rt, cold.clone(), &headers)),
        "c" => Box::new(|| respond(&rt, hit.clone(), &headers)),
        "e" => Box::new(|| respond(&rt, bare, &headers)),
        "f" => Box::new(|| {
            let req = headers.request(());
            black_box(accepted(&auth, black_box(&req)));
        }),
        "g" => Box::new(|| {
            let mut req = headers.request(());
            let ctx = ctx.clone();
            req.extensions_mut().insert(ctx.claims().clone());
            req.extensions_mut().insert(ctx);
            drop(black_box(req));
        }),
        "r" => Box::new(|| drop(black_box(headers.request(())))),
        "x" => Box::new(|| drop(black_box(whoami(&rt, &example, &headers)))),
        "y" => Box::new(|| drop(black_box(whoami(&rt, &baseline, &headers)))),
        "u" => Box::new(|| respond(&rt, full.clone(), next())),
        "v" => Box::new(|| respond(&rt, cold.clone(), next())),
        "w" => Box::new(|| drop(black_box(whoami(&rt, &full_example, next())))),
        "j" => Box::new(|| {
            let req = next().request(axum07::body::Body::empty());
            let response = rt.block_on(jwt.clone().oneshot(req)).expect("infallible");
            assert_eq!(response.status(), 200);
        }),
        _ => usage(),
    };
    measured(&part, iterations, &mut run);
    rt.block_on(idp.shutdown());
}
