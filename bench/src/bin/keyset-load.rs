//! Key-set behaviour under load (issue 7, measure 2), against a real mock
//! IdP with tower-fedauth's default key-cache policy:
//!
//! 1. 1,000 concurrent requests on a cold key cache: JWKS fetches;
//! 2. 10,000 requests whose `kid` the IdP never published: JWKS fetches
//!    (bounded by the unknown-`kid` refresh cooldown);
//! 3. a key rotation: time from the rotation to the first `200` for a token
//!    signed by the new key;
//! 4. the same rotation right after an unknown `kid` forced a refresh (the
//!    cooldown is running): the worst case (skip with
//!    `FEDAUTH_KEYSET_SKIP_COOLDOWN=1`).
//!
//! `FEDAUTH_IDP_DELAY_MS` (default 20) delays every JWKS answer, like a
//! remote IdP. Prints a markdown table.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedauth_bench::{Alg, Headers, authenticator, call, fmt_duration, mint, service, start_idp};
use http::StatusCode;
use rand::Rng as _;
use tower_fedauth::TokenCacheConfig;

const TOKEN_TTL_SECS: i64 = 3600;

struct Row {
    scenario: String,
    requests: usize,
    statuses: String,
    fetches: String,
    time: String,
    notes: String,
}

fn statuses(counts: &BTreeMap<u16, usize>) -> String {
    counts
        .iter()
        .map(|(status, n)| format!("{n}× {status}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends every token at once (spawned tasks released together by a barrier);
/// status counts, wall time and the slowest request.
async fn concurrent<S>(svc: &S, tokens: Vec<String>) -> (BTreeMap<u16, usize>, Duration, Duration)
where
    S: tower::Service<
            http::Request<http_body_util::Empty<bytes::Bytes>>,
            Response = http::Response<
                tower_fedauth::ResponseBody<http_body_util::Empty<bytes::Bytes>>,
            >,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(tokens.len() + 1));
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let svc = svc.clone();
            let barrier = barrier.clone();
            let headers = Headers::new(&token);
            tokio::spawn(async move {
                barrier.wait().await;
                let start = Instant::now();
                let status = call(&svc, &headers).await;
                (status, start.elapsed())
            })
        })
        .collect();
    barrier.wait().await;
    let start = Instant::now();
    let mut counts = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for task in tasks {
        let (status, took) = task.await.expect("request task");
        *counts.entry(status.as_u16()).or_default() += 1;
        slowest = slowest.max(took);
    }
    (counts, start.elapsed(), slowest)
}

async fn cold_start(delay: Duration) -> Row {
    const N: usize = 1_000;
    let alg = Alg::Rs256;
    let (idp, key) = start_idp(alg).await;
    idp.set_delay(delay);
    let auth = authenticator(&idp, alg, TokenCacheConfig::default());
    let svc = service(auth.clone());
    let tokens: Vec<String> = (0..N)
        .map(|i| mint(&idp, &key, alg, TOKEN_TTL_SECS, Some(&format!("cold-{i}"))))
        .collect();
    let (counts, wall, slowest) = concurrent(&svc, tokens).await;
    let row = Row {
        scenario: format!("{N} concurrent requests, cold key cache ({})", alg.name()),
        requests: N,
        statuses: statuses(&counts),
        fetches: format!(
            "{} (IdP count; authenticator: {} fetches, {} waits)",
            idp.jwks_fetches(),
            auth.key_fetches(),
            auth.key_fetch_waits()
        ),
        time: format!(
            "wall {}, slowest {}",
            fmt_duration(wall),
            fmt_duration(slowest)
        ),
        notes: format!("unique tokens; IdP answers after {}", fmt_duration(delay)),
    };
    idp.shutdown().await;
    row
}

fn random_kid() -> String {
    let n: u128 = rand::rng().random();
    format!("never-{n:032x}")
}

async fn random_kids(delay: Duration) -> Row {
    const N: usize = 10_000;
    const WAVE: usize = 1_000;
    let alg = Alg::EdDsa;
    let (idp, key) = start_idp(alg).await;
    idp.set_delay(delay);
    let auth = authenticator(&idp, alg, TokenCacheConfig::default());
    let svc = service(auth.clone());
    let valid = Headers::new(&mint(&idp, &key, alg, TOKEN_TTL_SECS, None));
    assert_eq!(call(&svc, &valid).await, StatusCode::OK);
    let before = idp.jwks_fetches();
    let mut counts = BTreeMap::new();
    let mut wall = Duration::ZERO;
    let mut slowest = Duration::ZERO;
    for wave in 0..N / WAVE {
        let tokens: Vec<String> = (0..WAVE)
            .map(|i| {
                idp.token()
                    .kid(random_kid())
                    .claim("jti", format!("kid-{wave}-{i}"))
                    .expires_in(TOKEN_TTL_SECS)
                    .sign(&key)
            })
            .collect();
        let (c, w, s) = concurrent(&svc, tokens).await;
        for (status, n) in c {
            *counts.entry(status).or_default() += n;
        }
        wall += w;
        slowest = slowest.max(s);
    }
    let after = idp.jwks_fetches();
    let still_valid = call(&svc, &valid).await;
    let row = Row {
        scenario: format!(
            "{N} requests with never-published random kids ({})",
            alg.name()
        ),
        requests: N,
        statuses: statuses(&counts),
        fetches: format!("{} during the run ({before} before)", after - before),
        time: format!(
            "wall {} ({:.0} req/s), slowest {}",
            fmt_duration(wall),
            N as f64 / wall.as_secs_f64(),
            fmt_duration(slowest)
        ),
        notes: format!(
            "waves of {WAVE} concurrent; valid token afterwards: {}",
            still_valid.as_u16()
        ),
    };
    idp.shutdown().await;
    row
}

/// Rotates the IdP's key and polls with a token of the new key until `200`
/// (every `poll`, at most `limit`).
async fn rotation(delay: Duration, after_kid_miss: bool, poll: Duration, limit: Duration) -> Row {
    let alg = Alg::Rs256;
    let (idp, key) = start_idp(alg).await;
    idp.set_delay(delay);
    let auth = authenticator(&idp, alg, TokenCacheConfig::default());
    let svc = service(auth.clone());
    let old = Headers::new(&mint(&idp, &key, alg, TOKEN_TTL_SECS, None));
    assert_eq!(call(&svc, &old).await, StatusCode::OK);
    if after_kid_miss {
        let miss = idp
            .token()
            .kid(random_kid())
            .expires_in(TOKEN_TTL_SECS)
            .sign(&key);
        let status = call(&svc, &Headers::new(&miss)).await;
        assert_ne!(status, StatusCode::OK);
    }
    let before = idp.jwks_fetches();
    let new_key = idp.rotate();
    let new = Headers::new(&mint(&idp, &new_key, alg, TOKEN_TTL_SECS, None));
    let start = Instant::now();
    let mut attempts = 0usize;
    let mut first_refusal = None;
    let outcome = loop {
        attempts += 1;
        let status = call(&svc, &new).await;
        if status == StatusCode::OK {
            break Some(start.elapsed());
        }
        first_refusal.get_or_insert(status);
        if start.elapsed() >= limit {
            break None;
        }
        tokio::time::sleep(poll).await;
    };
    let old_after = call(&svc, &old).await;
    let row = Row {
        scenario: if after_kid_miss {
            format!("rotation during the unknown-kid cooldown ({})", alg.name())
        } else {
            format!("rotation, first request with the new key ({})", alg.name())
        },
        requests: attempts,
        statuses: match first_refusal {
            None => "200 at once".to_owned(),
            Some(s) => format!("{} until the 200", s.as_u16()),
        },
        fetches: format!("{} after the rotation", idp.jwks_fetches() - before),
        time: match outcome {
            Some(took) => format!("first 200 after {}", fmt_duration(took)),
            None => format!("no 200 within {}", fmt_duration(limit)),
        },
        notes: format!(
            "polled every {}; old key's token afterwards: {}",
            fmt_duration(poll),
            old_after.as_u16()
        ),
    };
    idp.shutdown().await;
    row
}

fn print_table(rows: &[Row]) {
    println!("| scenario | requests | statuses | JWKS fetches | time | notes |");
    println!("|---|---:|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.scenario, r.requests, r.statuses, r.fetches, r.time, r.notes
        );
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let delay = Duration::from_millis(env_u64("FEDAUTH_IDP_DELAY_MS", 20));
    let skip_cooldown = std::env::var("FEDAUTH_KEYSET_SKIP_COOLDOWN").is_ok_and(|v| v == "1");
    println!(
        "## Key sets under load (default CachePolicy, JWKS answers delayed {})\n",
        fmt_duration(delay)
    );
    let mut rows = vec![cold_start(delay).await, random_kids(delay).await];
    rows.push(
        rotation(
            delay,
            false,
            Duration::from_millis(10),
            Duration::from_secs(10),
        )
        .await,
    );
    if !skip_cooldown {
        rows.push(
            rotation(
                delay,
                true,
                Duration::from_millis(250),
                Duration::from_secs(45),
            )
            .await,
        );
    }
    print_table(&rows);
}
