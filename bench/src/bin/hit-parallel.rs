//! The cache-hit decision on several threads at once, against one
//! `Authenticator`: what the threads' sharing of the caches' cache lines
//! (reference counts, read locks, metric counters) adds to a hit, which a
//! one-thread bench cannot show and a loopback load run buries under the
//! kernel's share.
//!
//! ```sh
//! cargo run --release -p fedauth-bench --bin hit-parallel -- EdDSA 2 3
//! ```
//!
//! Each thread, for the given seconds, builds a request, takes the
//! decision from the caches (`Authenticator::authenticate_now`), puts the
//! context and claims in the request's extensions as the layer does, and
//! drops it all. Printed: nanoseconds per decision on each thread, with
//! one thread and with `THREADS` threads, and their ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fedauth_bench::{Alg, Headers, authenticator, mint, start_idp, warm_up};
use tower_fedauth::{Authenticator, Immediate, TokenCacheConfig};

fn usage() -> ! {
    eprintln!("usage: hit-parallel <RS256|PS256|ES256|EdDSA> <threads> <seconds>");
    std::process::exit(2)
}

/// Decisions per thread for `seconds`, with `threads` threads at once:
/// nanoseconds per decision, the mean over the threads.
fn run(auth: &Authenticator, token: &str, threads: usize, seconds: f64) -> f64 {
    let per_thread: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    // Each thread its own header values: a clone of one
                    // shared value would write its reference count on
                    // every request, which a server's requests (each
                    // parsed from its own connection) do not.
                    let headers = Headers::new(token);
                    let until = Instant::now() + Duration::from_secs_f64(seconds);
                    let started = Instant::now();
                    let mut done = 0u64;
                    while Instant::now() < until {
                        for _ in 0..256 {
                            let mut req = headers.request(());
                            let Ok(Immediate::Accepted(ctx)) = auth.authenticate_now(&req) else {
                                panic!("expected an acceptance from the caches");
                            };
                            req.extensions_mut().insert(ctx.claims().clone());
                            req.extensions_mut().insert(ctx);
                            drop(black_box(req));
                        }
                        done += 256;
                    }
                    started.elapsed().as_nanos() as f64 / done as f64
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    per_thread.iter().sum::<f64>() / per_thread.len() as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(alg), Some(threads), Some(seconds)) = (args.next(), args.next(), args.next()) else {
        usage()
    };
    let Some(alg) = Alg::parse(&alg) else { usage() };
    let (Ok(threads), Ok(seconds)) = (threads.parse::<usize>(), seconds.parse::<f64>()) else {
        usage()
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (idp, key) = rt.block_on(start_idp(alg));
    let token = mint(&idp, &key, alg, 3600, None);
    let headers = Headers::new(&token);
    let auth = authenticator(&idp, alg, TokenCacheConfig::default());
    rt.block_on(warm_up(&auth));
    rt.block_on(auth.authenticate(&headers.request(())))
        .expect("the token is accepted");

    let one = run(&auth, &token, 1, seconds);
    let many = run(&auth, &token, threads, seconds);
    println!(
        "{alg:?}: 1 thread {one:.0} ns per decision; {threads} threads {many:.0} ns per decision on each ({:.2}x)",
        many / one
    );
    rt.block_on(idp.shutdown());
}
