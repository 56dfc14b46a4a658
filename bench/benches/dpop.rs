//! What a DPoP request costs on top of its proof's signature (issue 23),
//! per proof algorithm (ES256, ES384, EdDSA, RS256, PS256):
//!
//! - `s_signature_only`: the proof's signature check alone, the key
//!   parsed once (AWS-LC, as fedauth checks proofs), over the proofs `p`
//!   sends, in turn;
//! - `p_dpop_cached_token`: `Authenticator::authenticate_now` of a
//!   `DPoP` request whose token is in the caches (the token is verified
//!   once, then answered from the verified-token cache and the thread's
//!   hot set), each request with a proof never seen before: the whole
//!   sender-constraint step (proof header from its cache, signature,
//!   claims, `htm`, `htu`, `iat`, `ath`, `jkt`, the `jti` recorded in the
//!   replay cache) plus the decision around it;
//! - `b_bearer_cached_token`: the same token's decision as a plain
//!   bearer request would have it (an unbound token of the same IdP), for
//!   the decision's own share.
//!
//! `p - s` is what a DPoP request costs beyond its proof's signature (the
//! issue's bound: about 2 µs), and `p - s - b` what the binding check adds
//! to the decision. On a busy machine the signature checks' swings (tens
//! of µs) hide a difference of a microsecond, so the same parts can be
//! counted in instructions by callgrind, which neighbours do not move:
//!
//! ```sh
//! DPOP_COUNT="ES256 p 256" valgrind --tool=callgrind \
//!     --toggle-collect='*measured_*' target/release/deps/dpop-<hash>
//! ```
//!
//! (parts `p`, `s`, `b`; the total is for the iterations given, at most
//! [`POOL`]). Each proof is used once (the replay cache would refuse it
//! again), and signing an RSA proof takes a millisecond: a pool of proofs
//! is signed before measuring and served, a chunk at a time, to fresh
//! authenticators (built and warmed outside the timing), so no proof is
//! ever replayed.
//!
//! `cargo bench -p fedauth-bench --bench dpop`

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as lc, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::Criterion;
use http::Request;
use jsonwebtoken::Algorithm;
use tokio::runtime::Runtime;
use tower_fedauth::binding::DpopConfig;
use tower_fedauth::registration::{Provider, Registration};
use tower_fedauth::registry::InMemoryRegistry;
use tower_fedauth::testkit::{DpopKey, DpopProof, MockIdp};
use tower_fedauth::{Authenticator, Immediate};

const PUBLIC: &str = "https://api.example.com";
const HTU: &str = "https://api.example.com/whoami";

/// Proofs signed before measuring; a chunk of measured requests uses at
/// most this many, on one authenticator. Few enough that the requests
/// stay in the CPU's caches, as a request just read from the network is.
const POOL: usize = 256;

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// An authenticator of `quid-1` at `idp`; proofs' `iat` may be an hour
/// old (the pool outlives the default window).
fn authenticator(idp: &MockIdp) -> Authenticator {
    let reg = Registration::builder("quid-1", Provider::Jwks)
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .build()
        .expect("registration");
    let dpop = DpopConfig::default()
        .public_url(PUBLIC.parse().expect("URL"))
        .iat_window(Duration::from_secs(3600));
    Authenticator::builder(InMemoryRegistry::new(vec![reg]).expect("registry"))
        .egress(tower_fedauth::testkit::local_egress())
        .dpop(dpop)
        .build()
}

fn request(authorization: &str, proof: Option<&str>) -> Request<()> {
    let mut b = Request::get("/whoami")
        .header("authorization", authorization)
        .header("x-sc-auth", "quid-1");
    if let Some(proof) = proof {
        b = b.header("dpop", proof);
    }
    b.body(()).expect("request")
}

/// Accept `req`, waiting if the caches cannot answer at once.
fn accept(rt: &Runtime, auth: &Authenticator, req: &Request<()>) {
    match auth.authenticate_now(req) {
        Ok(Immediate::Accepted(_)) => {}
        Ok(Immediate::Pending(pending)) => {
            rt.block_on(auth.finish(pending)).expect("accepted");
        }
        other => panic!("expected an acceptance, got {other:?}"),
    }
}

/// The proof's signature check alone, as `keys::signature` does it.
struct Signature {
    key: ParsedPublicKey,
}

/// A proof's signing input and signature, decoded.
struct Signed {
    message: Vec<u8>,
    signature: Vec<u8>,
}

impl Signed {
    fn of(req: &Request<()>) -> Self {
        let proof = req.headers()["dpop"].to_str().expect("ASCII");
        let (message, signature) = proof.rsplit_once('.').expect("a JWS");
        Self {
            message: message.as_bytes().to_vec(),
            signature: URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
        }
    }
}

impl Signature {
    fn new(key: &DpopKey) -> Self {
        let algorithm: &'static dyn lc::VerificationAlgorithm = match key.alg() {
            Algorithm::RS256 => &lc::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::PS256 => &lc::RSA_PSS_2048_8192_SHA256,
            Algorithm::ES256 => &lc::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &lc::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &lc::ED25519,
            other => panic!("no proofs with {other:?}"),
        };
        let der = key.test_key().public_key_der();
        Self {
            key: ParsedPublicKey::new(algorithm, &der).expect("the public key parses"),
        }
    }

    fn verify(&self, signed: &Signed) -> bool {
        self.key
            .verify_sig(black_box(&signed.message), black_box(&signed.signature))
            .is_ok()
    }
}

/// Run `measure` over the requests of `iters` iterations, a chunk of at
/// most [`POOL`] on each fresh authenticator (warmed with the last
/// request, untimed); `measure` returns the time it counts for a chunk.
fn chunked(
    rt: &Runtime,
    idp: &MockIdp,
    requests: &[Request<()>],
    iters: u64,
    mut measure: impl FnMut(&Authenticator, std::ops::Range<usize>) -> Duration,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(POOL).min(POOL);
        let auth = authenticator(idp);
        accept(rt, &auth, &requests[POOL]);
        total += measure(&auth, 0..n);
        left -= n as u64;
    }
    total
}

/// Accepted at once, from the caches.
fn accepted_now(auth: &Authenticator, req: &Request<()>) -> bool {
    matches!(
        auth.authenticate_now(black_box(req)),
        Ok(Immediate::Accepted(_))
    )
}

/// A client's key, `n + 1` requests with fresh proofs of it (the last
/// one warms an authenticator), their signatures, and a bearer request.
struct Setup {
    requests: Vec<Request<()>>,
    signature: Signature,
    signed: Vec<Signed>,
    bearer: Request<()>,
}

impl Setup {
    fn new(idp: &MockIdp, alg: Algorithm, n: usize) -> Self {
        let key = DpopKey::generate(alg);
        let token = idp
            .token()
            .dpop_bound(&key)
            .expires_in(7200)
            .sign(&idp.signing_key());
        let authorization = format!("DPoP {token}");
        let requests: Vec<Request<()>> = (0..=n)
            .map(|_| {
                let proof = DpopProof::new(&key).htu(HTU).ath_for(&token).sign();
                request(&authorization, Some(&proof))
            })
            .collect();
        let signature = Signature::new(&key);
        let signed: Vec<Signed> = requests.iter().map(Signed::of).collect();
        assert!(signature.verify(&signed[0]), "{alg:?}: the signature check");
        let bearer_token = idp.token().expires_in(7200).sign(&idp.signing_key());
        Self {
            requests,
            signature,
            signed,
            bearer: request(&format!("Bearer {bearer_token}"), None),
        }
    }
}

fn bench_alg(c: &mut Criterion, idp: &MockIdp, alg: Algorithm) {
    let rt = current_thread();
    let Setup {
        requests,
        signature,
        signed,
        bearer,
    } = Setup::new(idp, alg, POOL);

    let mut group = c.benchmark_group(format!("dpop/{alg:?}"));
    // The signatures of the very proofs `p` checks, in turn.
    let mut next = 0;
    group.bench_function("s_signature_only", |b| {
        b.iter(|| {
            next = (next + 1) % POOL;
            signature.verify(&signed[next])
        })
    });
    group.bench_function("p_dpop_cached_token", |b| {
        b.iter_custom(|iters| {
            chunked(&rt, idp, &requests, iters, |auth, range| {
                let start = Instant::now();
                let accepted = requests[range.clone()]
                    .iter()
                    .filter(|req| accepted_now(auth, req))
                    .count();
                let spent = start.elapsed();
                assert_eq!(accepted, range.len(), "{alg:?}: accepted from the caches");
                spent
            })
        })
    });
    let auth = authenticator(idp);
    accept(&rt, &auth, &bearer);
    group.bench_function("b_bearer_cached_token", |b| {
        b.iter(|| match auth.authenticate_now(black_box(&bearer)) {
            Ok(Immediate::Accepted(ctx)) => ctx,
            other => panic!("expected an acceptance, got {other:?}"),
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let idp_rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let idp = idp_rt.block_on(MockIdp::start());
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::PS256,
    ] {
        bench_alg(c, &idp, alg);
    }
}

/// Part `p`: the DPoP requests, counted by callgrind.
#[inline(never)]
fn measured_p(auth: &Authenticator, requests: &[Request<()>]) -> usize {
    requests
        .iter()
        .filter(|req| accepted_now(auth, req))
        .count()
}

/// Part `s`: their proofs' signature checks.
#[inline(never)]
fn measured_s(signature: &Signature, signed: &[Signed]) -> usize {
    signed.iter().filter(|s| signature.verify(s)).count()
}

/// Part `b`: the bearer request, `n` times.
#[inline(never)]
fn measured_b(auth: &Authenticator, bearer: &Request<()>, n: usize) -> usize {
    (0..n).filter(|_| accepted_now(auth, bearer)).count()
}

/// `DPOP_COUNT="<alg> <part> <n>"`: run one part `n` times (at most
/// [`POOL`]) for callgrind, instead of criterion.
fn count(spec: &str) {
    let mut words = spec.split_whitespace();
    let (Some(alg), Some(part), Some(n)) = (words.next(), words.next(), words.next()) else {
        panic!("DPOP_COUNT is \"<alg> <part p|s|b> <iterations>\", not {spec:?}");
    };
    let alg: Algorithm = alg.parse().expect("an algorithm");
    let n: usize = n.parse::<usize>().expect("iterations").min(POOL);
    let idp_rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let idp = idp_rt.block_on(MockIdp::start());
    let rt = current_thread();
    let fx = Setup::new(&idp, alg, n);
    let auth = authenticator(&idp);
    let done = match part {
        "p" => {
            accept(&rt, &auth, &fx.requests[n]);
            measured_p(&auth, &fx.requests[..n])
        }
        "s" => measured_s(&fx.signature, &fx.signed[..n]),
        "b" => {
            accept(&rt, &auth, &fx.bearer);
            measured_b(&auth, &fx.bearer, n)
        }
        other => panic!("no part {other:?}"),
    };
    assert_eq!(done, n, "{alg:?} {part}: every iteration passes");
    eprintln!("{alg:?} {part}: {n} iterations");
}

fn main() {
    if let Ok(spec) = std::env::var("DPOP_COUNT") {
        return count(&spec);
    }
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
}
