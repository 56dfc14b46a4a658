//! The soak run of issue 8: a bounded load run against the release
//! `axum-server` on loopback while a mock IdP rotates its keys and goes down
//! once. Prints a markdown report on stdout (progress on stderr) and exits
//! non-zero when a forged token was accepted, a `whoami` answer named the
//! wrong subject, a 5xx came outside the outage window (plus a grace) or was
//! not `idp_unavailable` for a never-seen key, or the server did not exit 0
//! on SIGTERM.
//!
//! ```text
//! soak [--duration SECS] [--connections N] [--rotate-every SECS]
//!      [--outage-at SECS] [--outage-for SECS] [--grace SECS]
//!      [--sample-every SECS] [--server PATH]
//! ```
//!
//! Token mix per connection, by request number: 60 % a token minted for
//! this request by the current key, 30 % one of a small pool of recent valid
//! tokens (the verified-token cache), 10 % forged, rotating among an
//! attacker's Ed25519 key with the real `kid`, `alg: none`, HS256 with the
//! public key as secret, a wrong audience, an expired token and a tampered
//! payload.
//!
//! The IdP publishes a new Ed25519 key every `--rotate-every` seconds and
//! signs with it at once, keeps the previous key published for one period
//! and drops older ones. The rotations are placed so that one falls in the
//! middle of the outage: a key the server has never seen is presented while
//! the IdP is down.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tower_fedauth::testkit::{MockIdp, TestKey};

/// The registration id the driver registers and sends in `x-sc-auth`.
const REGISTRATION: &str = "soak-1";
/// The client id (audience) of that registration.
const CLIENT_ID: &str = "app-1";
/// How many recent valid tokens the reuse pool holds.
const POOL_SIZE: usize = 64;
/// One fresh token in this many (by request number) joins the pool.
const POOL_EVERY: u64 = 50;
/// A request that takes longer than this counts as a timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How many examples of each kind of anomaly the report quotes.
const EXAMPLES: usize = 5;

mod load;
mod memory;
mod model;
mod options;
mod report;
mod schedule;
mod server;

use load::*;
use memory::*;
use model::*;
use options::*;
use report::*;
use schedule::*;
use server::*;

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprint!("soak: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("soak: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<bool, String> {
    let binary = server_binary(&options)?;
    let dir = std::env::temp_dir().join(format!("fedauth-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let first = TestKey::ed25519("soak-key-0");
    let idp = MockIdp::start_with_keys(vec![first.clone()]).await;
    let registry = dir.join("registry.toml");
    let toml = format!(
        "[[registrations]]\nid = \"{REGISTRATION}\"\nname = \"soak\"\nprovider = \"jwks\"\n\
         client_id = \"{CLIENT_ID}\"\nissuer = \"{}\"\njwks_uri = \"{}\"\n\
         algorithms = [\"EdDSA\"]\nroles = [\"reader\"]\n",
        idp.issuer(),
        idp.jwks_uri()
    );
    std::fs::write(&registry, toml).map_err(|e| format!("{}: {e}", registry.display()))?;

    let mut server = start_server(&binary, &registry, &dir)?;
    let pid = server.child.id();
    eprintln!(
        "soak: server {} (pid {pid}) on {}; IdP at {}",
        binary.display(),
        server.addr,
        idp.base_url()
    );
    let ready_after = match wait_ready(server.addr).await {
        Ok(d) => d,
        Err(e) => {
            let _ = server.child.kill();
            let _ = server.child.wait();
            return Err(format!("{e} (log: {})", server.log.display()));
        }
    };

    let start = Instant::now();
    let ctx = Arc::new(Ctx {
        idp: idp.clone(),
        attacker: TestKey::ed25519("attacker"),
        signing: RwLock::new(Signing {
            generation: 0,
            key: first,
            outage_key: false,
        }),
        pool: Mutex::new(VecDeque::new()),
        addr: server.addr,
        start,
        deadline: start + Duration::from_secs_f64(options.duration),
        grace_ms: (options.grace * 1000.0) as u64,
        outage_on_ms: AtomicU64::new(u64::MAX),
        outage_off_ms: AtomicU64::new(u64::MAX),
        outage_now: AtomicBool::new(false),
        rotations: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        status_5xx: AtomicU64::new(0),
        valid_refused: AtomicU64::new(0),
    });
    eprintln!(
        "soak: {} connections for {:.0} s; rotation every {:.0} s; outage {}",
        options.connections,
        options.duration,
        options.rotate_every,
        if options.outage_for > 0.0 {
            format!(
                "at {:.0} s for {:.0} s",
                options.outage_at, options.outage_for
            )
        } else {
            "none".into()
        }
    );

    let controller = tokio::spawn(run_schedule(ctx.clone(), schedule(&options)));
    let sampling = tokio::spawn(sampler(
        ctx.clone(),
        pid,
        Duration::from_secs_f64(options.sample_every),
    ));
    let workers: Vec<_> = (0..options.connections)
        .map(|conn| tokio::spawn(worker(ctx.clone(), conn)))
        .collect();
    let mut stats = Stats::default();
    for w in workers {
        match w.await {
            Ok(s) => stats.merge(s),
            Err(e) => return Err(format!("a load worker failed: {e}")),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let samples = sampling.await.map_err(|e| e.to_string())?;
    controller.abort();
    if ctx.outage_now.load(Ordering::SeqCst) {
        ctx.set_outage(false);
    }

    let exit = tokio::task::block_in_place(|| stop_server(&mut server));
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let log_lines = log.lines().count();
    // The first lines of the server's log go into the report (no token is logged).
    let log_head: Vec<String> = log
        .lines()
        .take(20)
        .map(|l| l.chars().take(400).collect())
        .collect();
    let at = |ms: u64| (ms != u64::MAX).then_some(ms as f64 / 1000.0);
    let info = RunInfo {
        options: options.clone(),
        binary,
        ready_after,
        elapsed,
        samples,
        rotations: ctx.rotations.load(Ordering::SeqCst),
        jwks_fetches: idp.jwks_fetches(),
        outage_on: at(ctx.outage_on_ms.load(Ordering::SeqCst)),
        outage_off: at(ctx.outage_off_ms.load(Ordering::SeqCst)),
        exit,
        log: server.log.clone(),
        log_lines,
        log_head,
    };
    let (text, passed) = report(&stats, &info);
    print!("{text}");
    idp.shutdown().await;
    if passed {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!(
            "soak: FAIL; registry and server log kept in {}",
            dir.display()
        );
    }
    Ok(passed)
}
