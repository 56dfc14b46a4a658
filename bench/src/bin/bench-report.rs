//! The tables of issue 7's measure 1, from criterion's results: the median
//! of a, b, c, d (and e, the harness without any layer) per algorithm in
//! µs, the ratios b/a, c/a, b/d against the targets, and c − e; then the
//! breakdowns of what limits c and b/d (f, g, s; see `benches/verify.rs`)
//! and the signature check alone on each backend (AWS-LC, *ring*,
//! RustCrypto);
//! then the same costs from each function's fastest sample, the one least
//! disturbed by other load (on a shared machine, load only adds time).
//!
//! ```text
//! bench-report [CRITERION_DIR]
//! ```
//!
//! `CRITERION_DIR` defaults to `$CARGO_TARGET_DIR/criterion`, else
//! `target/criterion`; it reads `<group>/<function>/new/estimates.json`
//! and `sample.json`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fedauth_bench::Alg;
use serde_json::Value;

const FUNCTIONS: [&str; 10] = [
    "a_raw_jsonwebtoken",
    "b_fedauth_cold",
    "c_fedauth_hit",
    "d_jwt_authorizer",
    "e_no_auth",
    "f_authenticate_now",
    "g_extensions",
    "s_signature_only",
    "s_ring",
    "s_rustcrypto",
];

/// One of criterion's result files for `group/function`, parsed.
fn result(dir: &Path, group: &str, function: &str, file: &str) -> Option<Value> {
    let path = dir.join(group).join(function).join("new").join(file);
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The median in µs, `None` if the bench did not run.
fn median_us(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let json = result(dir, group, function, "estimates.json")?;
    json.pointer("/median/point_estimate")?
        .as_f64()
        .map(|ns| ns / 1000.0)
}

/// The fastest sample's time per iteration in µs (criterion's samples are
/// each the mean of many iterations), `None` if the bench did not run.
fn fastest_us(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let json = result(dir, group, function, "sample.json")?;
    let per_iteration = |(t, i): (&Value, &Value)| Some(t.as_f64()? / i.as_f64()?);
    json["times"]
        .as_array()?
        .iter()
        .zip(json["iters"].as_array()?)
        .filter_map(per_iteration)
        .reduce(f64::min)
        .map(|ns| ns / 1000.0)
}

fn us(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.2}"))
}

/// `x - y` when both were measured.
fn diff(x: Option<f64>, y: Option<f64>) -> Option<f64> {
    x.zip(y).map(|(x, y)| x - y)
}

fn ratio(num: Option<f64>, den: Option<f64>, target: Option<f64>) -> String {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => {
            let r = n / d;
            match target {
                Some(t) if r <= t => format!("{r:.2} ✓"),
                Some(_) => format!("{r:.2} ✗"),
                None => format!("{r:.2}"),
            }
        }
        _ => "n/a".into(),
    }
}

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| PathBuf::from("target"), PathBuf::from)
                .join("criterion")
        });
    if !dir.is_dir() {
        eprintln!(
            "bench-report: {} is not a directory (run `cargo bench -p fedauth-bench` first)",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "## Per-request cost, median of criterion's samples ({})\n",
        dir.display()
    );
    println!(
        "a = `jsonwebtoken::decode`, prebuilt key (floor); b = fedauth layer, token cache off, keys cached; \
         c = fedauth layer, token-cache hit; d = jwt-authorizer 0.15 layer; e = the same request, no layer \
         (c − e: what fedauth adds on a hit). Targets: b/a ≤ 1.15, c ≤ 2 µs, b/d ≤ 0.8.\n"
    );
    println!("| alg | a µs | b µs | c µs | d µs | e µs | c − e µs | b/a | c/a | b/d |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // Every median, read once for both tables.
    let medians = Alg::ALL.map(|alg| (alg, FUNCTIONS.map(|f| median_us(&dir, alg.name(), f))));
    let mut any = false;
    for (alg, [a, b, c, d, e, ..]) in medians {
        let added = diff(c, e);
        any |= a.is_some() || b.is_some() || c.is_some() || d.is_some();
        let c_cell = match c {
            Some(v) if v <= 2.0 => format!("{v:.2} ✓"),
            Some(v) => format!("{v:.2} ✗"),
            None => "n/a".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            alg.name(),
            us(a),
            us(b),
            c_cell,
            us(d),
            us(e),
            us(added),
            ratio(b, a, Some(1.15)),
            ratio(c, a, None),
            ratio(b, d, Some(0.8)),
        );
    }
    if !any {
        eprintln!("bench-report: no results under {}", dir.display());
        return ExitCode::FAILURE;
    }
    breakdown(&medians);
    backends(&medians);
    fastest(&dir);
    ExitCode::SUCCESS
}

/// What limits c (where a hit's time goes) and b/d (the signature check
/// alone against jwt-authorizer's whole request).
fn breakdown(medians: &[(Alg, [Option<f64>; FUNCTIONS.len()])]) {
    println!(
        "\n## What limits c and b/d\n\n\
         f = `Authenticator::authenticate_now` answering from both caches; g = the context and the \
         claims into the request's extensions, and dropped; glue = c − e − f − g (the layer's service \
         clone and response future); s = the signature check alone, key parsed once (AWS-LC); \
         b − s = what a full verification adds to the signature; s/d = the lowest b/d any layer on \
         AWS-LC can reach.\n"
    );
    println!("| alg | c µs | e µs | f µs | g µs | glue µs | s µs | b − s µs | d − s µs | s/d |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &(alg, [_, b, c, d, e, f, g, s, ..]) in medians {
        if c.is_none() && s.is_none() {
            continue;
        }
        let glue = diff(diff(diff(c, e), f), g);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            alg.name(),
            us(c),
            us(e),
            us(f),
            us(g),
            us(glue),
            us(s),
            us(diff(b, s)),
            us(diff(d, s)),
            ratio(s, d, None),
        );
    }
}

/// The signature check alone on each backend: whether another crypto
/// library would move b/d where AWS-LC's own `s` rules the target out.
fn backends(medians: &[(Alg, [Option<f64>; FUNCTIONS.len()])]) {
    println!(
        "\n## The signature check alone, by backend\n\n\
         s = AWS-LC, key parsed once (fedauth's default); s ring = *ring*, key built on every check \
         (what jwt-authorizer does, so d − s ring is jwt-authorizer's own cost around its signature); \
         s RustCrypto = `p256`, key prebuilt (fedauth's `rust-crypto` backend; ES256 only). \
         min s / d: the lowest b/d any layer on the fastest of them can reach.\n"
    );
    println!(
        "| alg | s µs | s ring µs | s RustCrypto µs | d µs | d − s ring µs | b − s µs | min s / d |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &(alg, [_, b, _, d, _, _, _, s, ring, rust_crypto]) in medians {
        if s.is_none() && ring.is_none() {
            continue;
        }
        let fastest = [s, ring, rust_crypto]
            .into_iter()
            .flatten()
            .reduce(f64::min);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            alg.name(),
            us(s),
            us(ring),
            us(rust_crypto),
            us(d),
            us(diff(d, ring)),
            us(diff(b, s)),
            ratio(fastest, d, None),
        );
    }
}

/// The same costs from each function's fastest sample: when other load
/// comes and goes during a run, medians move with it and ratios between
/// functions measured minutes apart mislead; the fastest samples are the
/// closest the run came to an undisturbed machine.
fn fastest(dir: &Path) {
    println!(
        "\n## Fastest sample of each function (least disturbed by other load)\n\n\
         Each criterion sample is the mean of many iterations; this is the fastest of them. \
         Targets are judged on the medians above; these say what an undisturbed run would show.\n"
    );
    println!("| alg | a µs | b µs | c µs | d µs | e µs | f µs | g µs | s µs | b/a | b/d | s/d |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for alg in Alg::ALL {
        let [a, b, c, d, e, f, g, s, ..] = FUNCTIONS.map(|f| fastest_us(dir, alg.name(), f));
        if a.is_none() && c.is_none() {
            continue;
        }
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            alg.name(),
            us(a),
            us(b),
            us(c),
            us(d),
            us(e),
            us(f),
            us(g),
            us(s),
            ratio(b, a, Some(1.15)),
            ratio(b, d, Some(0.8)),
            ratio(s, d, None),
        );
    }
}
