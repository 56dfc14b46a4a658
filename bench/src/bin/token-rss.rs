//! Memory of the verified-token cache (issue 7, measure 3): verifies many
//! unique EdDSA tokens (1,000,000 by default) through one authenticator and
//! prints the resident set (`VmRSS`) and the token cache's size before,
//! every 10% and after.
//!
//! ```text
//! token-rss [--count N] [--batch N] [--config off|default|small|all]
//! ```
//!
//! `--config all` (the default) runs `off` (no token cache: the control),
//! `default` (100,000 tokens / 64 MiB) and `small` (10,000 tokens / 8 MiB),
//! each in a child process of its own so that one run's heap does not
//! hide the next one's. Tokens are minted `--batch` at a time (default
//! 10,000, unique `jti`), so the token list itself stays small.
//! `FEDAUTH_RSS_TOKENS` sets the default count.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use fedauth_bench::{Alg, Headers, authenticator, call, mint, service, start_idp, vm_rss_kib};
use http::StatusCode;
use tower_fedauth::TokenCacheConfig;

const CONFIGS: [&str; 3] = ["off", "default", "small"];

struct Args {
    count: u64,
    batch: u64,
    config: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        count: std::env::var("FEDAUTH_RSS_TOKENS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000),
        batch: 10_000,
        config: "all".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--batch" => args.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--config" => args.config = value()?,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.batch == 0 {
        return Err("--batch must be positive".into());
    }
    if args.config != "all" && !CONFIGS.contains(&args.config.as_str()) {
        return Err(format!("--config: one of all, {}", CONFIGS.join(", ")));
    }
    Ok(args)
}

fn config(name: &str) -> TokenCacheConfig {
    match name {
        "off" => TokenCacheConfig::disabled(),
        "small" => TokenCacheConfig::default()
            .max_entries(10_000)
            .max_bytes(8 * 1024 * 1024),
        _ => TokenCacheConfig::default(),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn rss_mib() -> String {
    vm_rss_kib().map_or_else(|| "n/a".into(), |kib| format!("{:.1}", kib as f64 / 1024.0))
}

async fn run(args: &Args) -> Result<(), String> {
    let alg = Alg::EdDsa;
    let cache = config(&args.config);
    let (idp, key) = start_idp(alg).await;
    let auth = authenticator(&idp, alg, cache.clone());
    let svc = service(auth.clone());
    let warm = Headers::new(&mint(&idp, &key, alg, 3600, Some("warm")));
    if call(&svc, &warm).await != StatusCode::OK {
        return Err("the warm-up request was refused".into());
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "\n### token cache `{}`: enabled {}, max_entries {}, max_bytes {:.0} MiB; {} unique EdDSA tokens\n",
        args.config,
        cache.enabled,
        cache.max_entries,
        mib(cache.max_bytes),
        args.count
    );
    println!("| tokens verified | VmRSS MiB | cache entries | cache weighted MiB | elapsed |");
    println!("|---:|---:|---:|---:|---:|");
    let stats = auth.token_cache_stats();
    println!(
        "| 0 (before) | {} | {} | {:.1} | 0 s |",
        rss_mib(),
        stats.entries,
        mib(stats.weighted_bytes)
    );
    let start = Instant::now();
    let report_every = (args.count / 10).max(1);
    let mut done = 0u64;
    let mut next_report = report_every;
    let mut refused = 0u64;
    while done < args.count {
        let n = args.batch.min(args.count - done);
        let tokens: Vec<String> = (done..done + n)
            .map(|i| mint(&idp, &key, alg, 3600, Some(&format!("rss-{i}"))))
            .collect();
        let chunk = tokens.len().div_ceil(workers).max(1);
        let mut tasks = Vec::new();
        for part in tokens.chunks(chunk) {
            let part = part.to_vec();
            let svc = svc.clone();
            tasks.push(tokio::spawn(async move {
                let mut refused = 0u64;
                for token in part {
                    if call(&svc, &Headers::new(&token)).await != StatusCode::OK {
                        refused += 1;
                    }
                }
                refused
            }));
        }
        for task in tasks {
            refused += task.await.map_err(|e| e.to_string())?;
        }
        done += n;
        if done >= next_report || done == args.count {
            let stats = auth.token_cache_stats();
            println!(
                "| {done} | {} | {} | {:.1} | {:.0} s |",
                rss_mib(),
                stats.entries,
                mib(stats.weighted_bytes),
                start.elapsed().as_secs_f64()
            );
            next_report = done + report_every;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = auth.token_cache_stats();
    println!(
        "| {done} (after, settled) | {} | {} | {:.1} | {:.0} s |",
        rss_mib(),
        stats.entries,
        mib(stats.weighted_bytes),
        start.elapsed().as_secs_f64()
    );
    println!(
        "\nrefused: {refused}; {:.0} tokens/s (mint + verify, {workers} tasks)",
        done as f64 / start.elapsed().as_secs_f64()
    );
    idp.shutdown().await;
    if refused > 0 {
        return Err(format!("{refused} tokens were refused"));
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("token-rss: {e}");
            return ExitCode::from(2);
        }
    };
    if args.config == "all" {
        println!("## Resident set with unique tokens (one process per configuration)");
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("token-rss: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut ok = true;
        for name in CONFIGS {
            let status = std::process::Command::new(&exe)
                .args(["--count", &args.count.to_string()])
                .args(["--batch", &args.batch.to_string()])
                .args(["--config", name])
                .status();
            match status {
                Ok(s) if s.success() => {}
                Ok(s) => {
                    eprintln!("token-rss: config {name}: {s}");
                    ok = false;
                }
                Err(e) => {
                    eprintln!("token-rss: config {name}: {e}");
                    ok = false;
                }
            }
        }
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("token-rss: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token-rss: {e}");
            ExitCode::FAILURE
        }
    }
}
