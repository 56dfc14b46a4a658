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

use std::hint::black_box;

use tokio::runtime::Runtime;

use bytes::Bytes;
use fedauth_bench::{Alg, Headers, authenticator, mint, service, start_idp, warm_up};
use http_body_util::Empty;
use tower::ServiceExt as _;
use tower_fedauth::{AuthContext, Authenticator, Immediate, TokenCacheConfig};

fn usage() -> ! {
    eprintln!("usage: hit-instructions <RS256|PS256|ES256|EdDSA> <b|c|e|f|g|r> <iterations>");
    std::process::exit(2)
}

/// The one function callgrind counts. Never inlined, so its name survives.
#[inline(never)]
fn measured(part: &str, iterations: u64, run: &mut dyn FnMut()) {
    black_box(part);
    for _ in 0..iterations {
        run();
    }
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
    let first = rt.block_on(auth.authenticate(&headers.request(())));
    let ctx = first.expect("the token is accepted");
    let hit = service(auth.clone());
    let cold = service(cold_auth);
    let bare = tower::service_fn(fedauth_bench::ok_handler::<Empty<Bytes>>);

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
        _ => usage(),
    };
    measured(&part, iterations, &mut run);
    rt.block_on(idp.shutdown());
}
