//! The no-auth baseline of the throughput run: the routes of `axum-server`
//! (`fedauth_examples::axum_app`) without `FedAuthLayer`, answering
//! `/whoami` with a fixed JSON body of the same shape and size.
//!
//! ```text
//! baseline-server [--listen ADDR] [--body FILE] [--work-ns N]
//! ```
//!
//! `--work-ns N`: busy CPU for N ns before each `/whoami` answer (default
//! 0), to see what that much work of any kind costs the throughput run.
//! `--body FILE`: the JSON to answer (`scripts/load.sh` passes the example
//! server's own `/whoami` answer for the benchmark token); without it, a
//! built-in answer of the same shape. Prints `listening on http://ADDR`
//! like the example server, then serves until SIGINT / SIGTERM.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use fedauth_bench::baseline_router;
use fedauth_examples::{DEFAULT_LISTEN, install_metrics};
use serde_json::{Value, json};

struct Args {
    listen: SocketAddr,
    body: Option<PathBuf>,
    work: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: DEFAULT_LISTEN.parse().map_err(|e| format!("{e}"))?,
        body: None,
        work: Duration::ZERO,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let v = value()?;
                args.listen = v
                    .parse()
                    .map_err(|_| format!("--listen: `{v}` is not an address"))?;
            }
            "--body" => args.body = Some(PathBuf::from(value()?)),
            "--work-ns" => {
                let v = value()?;
                let ns = v
                    .parse()
                    .map_err(|_| format!("--work-ns: `{v}` is not a number of nanoseconds"))?;
                args.work = Duration::from_nanos(ns);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(args)
}

/// An answer shaped like `fedauth_examples::whoami` for a benchmark token.
fn default_body() -> Value {
    json!({
        "registration": "bench",
        "client_id": "app-1",
        "provider": "jwks",
        "issuer": "http://127.0.0.1:40000",
        "subject": "alice",
        "property": null,
        "roles": ["reader"],
        "principal": { "subject": "alice", "email": null, "name": null },
        "claims": {
            "iss": "http://127.0.0.1:40000",
            "sub": "alice",
            "aud": "app-1",
            "iat": 1_700_000_000,
            "exp": 1_700_003_600,
            "scope": "read write",
            "jti": "repeated"
        }
    })
}

async fn run(args: Args) -> Result<(), String> {
    let body = match &args.body {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => default_body(),
    };
    // The same process set-up as axum-server (logging, metrics recorder).
    let _metrics = install_metrics();
    let listener = fedauth_bench::listen(args.listen).await?;
    axum::serve(listener, baseline_router(body, args.work))
        .with_graceful_shutdown(fedauth_examples::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    fedauth_bench::server_main("baseline-server", parse_args, run)
}
