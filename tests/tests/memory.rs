//! Memory under large userinfo answers (issue 19, "bytes, not entries"):
//! 300 distinct tokens whose userinfo answers are about 900 KB each, sent
//! through the tower layer and the real authenticator to a mock IdP over
//! HTTP, keep every cache within its byte bound and the process's resident
//! set with them. Before the caches were bounded in bytes, the userinfo
//! cache (bounded by entries) and the verified-token cache (weighing only
//! the token, not the user name copied from userinfo into it) held all 300
//! answers twice: about 515 MiB.
//!
//! A test binary of its own with one test, so that the resident set it
//! reads (`VmRSS` of `/proc/self/status`) is this scenario's alone. To see
//! the numbers: `cargo test -p fedauth-tests --test memory -- --nocapture`.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use tower::{Service, ServiceExt};
use tower_fedauth::egress::FetchConfig;
use tower_fedauth::testkit::{MockIdp, local_egress};
use tower_fedauth::{AuthContext, FedAuthLayer, TokenCacheConfig};

const TOKENS: usize = 300;
/// The user name each userinfo answer carries: the answer is this plus a
/// few bytes of JSON.
const ANSWER_BYTES: usize = 900 * 1000;
/// Requests in flight at once.
const CONCURRENCY: usize = 4;
const MIB: u64 = 1024 * 1024;
/// The userinfo cache's byte bound in this test.
const USERINFO_BOUND: u64 = 16 * MIB;
/// The verified-token cache's byte bound in this test.
const TOKEN_BOUND: u64 = 16 * MIB;
/// What the process may grow by besides what the caches may hold: the
/// runtime's threads, the mock IdP rendering each 900 KB answer, the HTTP
/// client's buffers, the copies of an answer the requests in flight hold
/// (body, parsed JSON, principal), and the allocator's slack. Generous on
/// purpose: what it must catch is growth with the number of tokens (about
/// 1.8 MB per token unbounded, 515 MiB for 300).
const ALLOWANCE: u64 = 64 * MIB;

fn vm_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// One request through the layer; the handler answers the user name's
/// length (not the name: the response stays small).
async fn call<S>(svc: &mut S, token: &str) -> (StatusCode, String)
where
    S: Service<Request<Full<Bytes>>, Response = Response<tower_fedauth::ResponseBody<Full<Bytes>>>>
        + Clone,
    S::Error: std::fmt::Debug,
{
    let req = Request::builder()
        .header("authorization", format!("Bearer {token}"))
        .header("x-sc-auth", "quid-oidc")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = svc.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_userinfo_answers_keep_memory_within_the_byte_bounds() {
    let idp = MockIdp::start().await;
    let name = "u".repeat(ANSWER_BYTES);
    idp.set_userinfo(json!({"sub": "alice", "preferred_username": name}));
    drop(name);
    let toml = format!(
        "[[registrations]]\nid = \"quid-oidc\"\nprovider = \"oidc\"\nissuer = \"{}\"\n\
         client_id = \"{}\"\n[registrations.claims]\nuserinfo = true\n",
        idp.issuer(),
        idp.client_id()
    );
    let auth = fedauth_tests::builder(&toml)
        .fetch(
            FetchConfig::default()
                // The answers are accepted: what is bounded is what is kept.
                .max_userinfo_bytes(1024 * 1024)
                .egress(local_egress()),
        )
        .key_cache(fedauth_tests::fast_policy().userinfo_max_bytes(USERINFO_BOUND))
        .token_cache(TokenCacheConfig::default().max_bytes(TOKEN_BOUND))
        .build();
    let svc = tower::ServiceBuilder::new()
        .layer(FedAuthLayer::new(auth.clone()))
        .service_fn(|req: Request<Full<Bytes>>| async move {
            let ctx = req.extensions().get::<AuthContext>().cloned();
            let len = ctx.and_then(|c| c.principal().username.as_ref().map(String::len));
            let body = len.map_or_else(|| "none".to_owned(), |n| n.to_string());
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
        });

    // Warm up: the key set, the discovery document, one userinfo answer,
    // the runtime's and the HTTP client's first allocations.
    let tokens: Vec<String> = (0..=TOKENS)
        .map(|i| idp.token().claim("jti", i).sign(&idp.signing_key()))
        .collect();
    let mut warm = svc.clone();
    assert_eq!(
        call(&mut warm, &tokens[TOKENS]).await,
        (StatusCode::OK, ANSWER_BYTES.to_string())
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = vm_rss();

    let mut sizes_seen = Vec::new();
    for chunk in tokens[..TOKENS].chunks(CONCURRENCY) {
        let calls = chunk.iter().map(|token| {
            let mut svc = svc.clone();
            async move { call(&mut svc, token).await }
        });
        for answer in futures_util::future::join_all(calls).await {
            assert_eq!(answer, (StatusCode::OK, ANSWER_BYTES.to_string()));
        }
        let sizes = auth.cache_sizes();
        assert!(sizes.within_bounds(), "{sizes:?}");
        sizes_seen.push(sizes);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = vm_rss();
    let sizes = auth.cache_sizes();

    assert_eq!(idp.userinfo_fetches(), TOKENS + 1, "one fetch per token");
    // Each cache's own weight, exactly within its bound, at every step.
    assert_eq!(sizes.userinfo.max_bytes, USERINFO_BOUND);
    assert_eq!(sizes.tokens.max_bytes, TOKEN_BOUND);
    assert!(sizes.userinfo.weighted_bytes <= USERINFO_BOUND, "{sizes:?}");
    assert!(sizes.tokens.weighted_bytes <= TOKEN_BOUND, "{sizes:?}");
    for seen in &sizes_seen {
        assert!(seen.userinfo.weighted_bytes <= USERINFO_BOUND, "{seen:?}");
        assert!(seen.tokens.weighted_bytes <= TOKEN_BOUND, "{seen:?}");
        // An answer weighs at least its user name.
        let at_least = seen.userinfo.entries * ANSWER_BYTES as u64;
        assert!(seen.userinfo.weighted_bytes >= at_least, "{seen:?}");
        let at_least = seen.tokens.entries * ANSWER_BYTES as u64;
        assert!(seen.tokens.weighted_bytes >= at_least, "{seen:?}");
    }
    assert!(
        sizes.userinfo.entries >= 1,
        "the cache keeps answers: {sizes:?}"
    );

    let growth = after.saturating_sub(before);
    let bound = USERINFO_BOUND + TOKEN_BOUND;
    println!(
        "{TOKENS} tokens, userinfo answers of {ANSWER_BYTES} bytes, {CONCURRENCY} at a time\n\
         VmRSS before {}, after {}, growth {}; cache bounds {} (userinfo {}, tokens {}), \
         allowance {}\n\
         userinfo cache: {} entries, {} weighted; token cache: {} entries, {} weighted",
        mib(before),
        mib(after),
        mib(growth),
        mib(bound),
        mib(USERINFO_BOUND),
        mib(TOKEN_BOUND),
        mib(ALLOWANCE),
        sizes.userinfo.entries,
        mib(sizes.userinfo.weighted_bytes),
        sizes.tokens.entries,
        mib(sizes.tokens.weighted_bytes),
    );
    assert!(
        growth <= bound + ALLOWANCE,
        "resident set grew by {} for caches bounded at {}",
        mib(growth),
        mib(bound)
    );
    idp.shutdown().await;
}
