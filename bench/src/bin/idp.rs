//! A mock IdP for the throughput run (`scripts/load.sh`): serves one key
//! on a free loopback port, writes a registry file for the example server
//! and mints tokens into files, then serves until SIGINT / SIGTERM.
//!
//! ```text
//! idp --dir DIR [--alg EdDSA|ES256|RS256|PS256] [--unique N] [--files K] [--ttl SECS]
//! ```
//!
//! Writes `DIR/registry.toml` (registration `bench`), `DIR/public.pem` (the
//! signing key's public half, for `jwt-authorizer-server`), `DIR/token.txt`
//! (one token, for the repeated-token run) and `DIR/tokens.txt` (`N` unique
//! tokens, one a line, default 200,000) — or, with `--files K`, `K` files
//! `DIR/tokens-1.txt` … `DIR/tokens-K.txt` of `N` tokens each, no token in
//! two files — then prints `idp ready ISSUER` and how long minting took.
//! Tokens are minted on every core with a key parsed once (AWS-LC): about
//! 0.2 ms of one core per RSA token, 20–40 µs per ECDSA or Ed25519 one.
#![forbid(unsafe_code)]

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fedauth_bench::{Alg, mint, registry_toml, start_idp};
use tower_fedauth::testkit::{MockIdp, TestKey};

struct Args {
    dir: PathBuf,
    alg: Alg,
    unique: usize,
    files: usize,
    ttl: i64,
}

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let mut args = Args {
        dir: PathBuf::new(),
        alg: Alg::EdDsa,
        unique: 200_000,
        files: 0,
        ttl: 3600,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--alg" => {
                let v = value()?;
                args.alg = Alg::parse(&v).ok_or_else(|| format!("--alg: unknown `{v}`"))?;
            }
            "--unique" => args.unique = value()?.parse().map_err(|e| format!("--unique: {e}"))?,
            "--files" => args.files = value()?.parse().map_err(|e| format!("--files: {e}"))?,
            "--ttl" => args.ttl = value()?.parse().map_err(|e| format!("--ttl: {e}"))?,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    args.dir = dir.ok_or("--dir is required")?;
    Ok(args)
}

fn write_tokens(path: &Path, tokens: &[String]) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for token in tokens {
        writeln!(out, "{token}")?;
    }
    out.flush()
}

/// The unique tokens `range` (`jti` `load-<i>`), minted on every core.
fn unique_tokens(
    idp: &MockIdp,
    key: &TestKey,
    args: &Args,
    range: std::ops::Range<usize>,
) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = range.len().div_ceil(threads).max(1);
    let (start, end) = (range.start, range.end);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let range = (start + t * per).min(end)..(start + (t + 1) * per).min(end);
                s.spawn(move || {
                    range
                        .map(|i| mint(idp, key, args.alg, args.ttl, Some(&format!("load-{i}"))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("minting thread"))
            .collect()
    })
}

async fn run(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    let (idp, key) = start_idp(args.alg).await;
    let io = |e: std::io::Error| e.to_string();
    std::fs::write(
        args.dir.join("registry.toml"),
        registry_toml(&idp, args.alg),
    )
    .map_err(io)?;
    let one = mint(&idp, &key, args.alg, args.ttl, Some("repeated"));
    write_tokens(&args.dir.join("token.txt"), &[one]).map_err(io)?;
    std::fs::write(args.dir.join("public.pem"), key.public_key_pem()).map_err(io)?;
    let started = std::time::Instant::now();
    let files: Vec<(PathBuf, std::ops::Range<usize>)> = match args.files {
        0 => vec![(args.dir.join("tokens.txt"), 0..args.unique)],
        k => (0..k)
            .map(|f| {
                let path = args.dir.join(format!("tokens-{}.txt", f + 1));
                (path, f * args.unique..(f + 1) * args.unique)
            })
            .collect(),
    };
    for (path, range) in files {
        let tokens = tokio::task::block_in_place(|| unique_tokens(&idp, &key, &args, range));
        write_tokens(&path, &tokens).map_err(io)?;
    }
    println!(
        "idp ready {} (tokens minted in {:.1} s)",
        idp.issuer(),
        started.elapsed().as_secs_f64()
    );
    fedauth_examples::shutdown_signal().await;
    eprintln!("idp: {} JWKS fetches served", idp.jwks_fetches());
    idp.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("idp: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("idp: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idp: {e}");
            ExitCode::FAILURE
        }
    }
}
