//! The soak driver: report.

use super::*;
pub(crate) struct RunInfo {
    pub(crate) options: Options,
    pub(crate) binary: PathBuf,
    pub(crate) ready_after: Duration,
    pub(crate) elapsed: f64,
    pub(crate) samples: Vec<Sample>,
    pub(crate) rotations: u64,
    pub(crate) jwks_fetches: usize,
    pub(crate) outage_on: Option<f64>,
    pub(crate) outage_off: Option<f64>,
    pub(crate) exit: Result<Option<i32>, String>,
    pub(crate) log: PathBuf,
    pub(crate) log_lines: usize,
    pub(crate) log_head: Vec<String>,
}

pub(crate) fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

pub(crate) fn codes_of<'a>(entries: impl Iterator<Item = (&'a Key, &'a u64)>) -> String {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in entries {
        *by.entry(k.outcome.label()).or_default() += v;
    }
    if by.is_empty() {
        return "—".into();
    }
    by.iter()
        .map(|(label, n)| format!("{label}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report and whether the run passed.
pub(crate) fn report(stats: &Stats, info: &RunInfo) -> (String, bool) {
    let o = &info.options;
    let mut r = String::new();
    let total: u64 = stats.counts.values().sum();
    let _ = writeln!(r, "# Soak report\n");
    let _ = writeln!(
        r,
        "- server: `{}` (release), registry: one `jwks` registration, EdDSA keys, on loopback",
        info.binary.display()
    );
    let _ = writeln!(
        r,
        "- duration {:.0} s (measured {:.1} s), {} keep-alive connections, closed loop (each connection sends its next request when the answer arrives)",
        o.duration, info.elapsed, o.connections
    );
    let _ = writeln!(
        r,
        "- token mix: 60 % fresh (minted per request), 30 % reused from a pool of {POOL_SIZE} recent valid tokens, 10 % forged (six kinds in turn)"
    );
    let _ = writeln!(
        r,
        "- key rotation every {:.0} s (new key published and used at once, previous kept one period): {} rotations; the IdP served `/jwks` {} times",
        o.rotate_every, info.rotations, info.jwks_fetches
    );
    match (info.outage_on, info.outage_off) {
        (Some(on), Some(off)) => {
            let _ = writeln!(
                r,
                "- IdP outage from {on:.1} s to {off:.1} s; the window for excused 5xx is the outage plus a grace of {:.0} s (to {:.1} s); a rotation falls in the middle of the outage",
                o.grace,
                off + o.grace
            );
        }
        _ => {
            let _ = writeln!(r, "- no IdP outage");
        }
    }
    let _ = writeln!(
        r,
        "- server ready {:.2} s after start",
        info.ready_after.as_secs_f64()
    );

    // Totals.
    let transport: u64 = stats
        .counts
        .iter()
        .filter(|(k, _)| matches!(k.outcome, Outcome::TransportError | Outcome::Timeout))
        .map(|(_, v)| v)
        .sum();
    let _ = writeln!(r, "\n## Totals\n");
    let _ = writeln!(
        r,
        "| requests | req/s | connections opened | connect errors | transport errors / timeouts |"
    );
    let _ = writeln!(r, "|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        r,
        "| {total} | {:.0} | {} | {} | {transport} |",
        total as f64 / info.elapsed.max(0.001),
        stats.connections,
        stats.connect_errors
    );

    // Per class.
    let _ = writeln!(r, "\n## Per class\n");
    let _ = writeln!(
        r,
        "| class | requests | 200 | 401 | 403 | 5xx | answers (status code: count) |"
    );
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|---|");
    let mut classes: Vec<Class> = vec![Class::Fresh, Class::Pooled];
    classes.extend(Forgery::ALL.iter().map(|f| Class::Forged(*f)));
    for class in classes {
        let of = || stats.counts.iter().filter(move |(k, _)| k.class == class);
        let n: u64 = of().map(|(_, v)| v).sum();
        let status = |s: u16| -> u64 {
            of().filter(|(k, _)| matches!(k.outcome, Outcome::Status(x, _) if x == s))
                .map(|(_, v)| v)
                .sum()
        };
        let s5xx: u64 = of()
            .filter(|(k, _)| k.outcome.is_5xx())
            .map(|(_, v)| v)
            .sum();
        let name = match class {
            Class::Forged(f) => format!("{} (expect {})", f.name(), f.expected()),
            _ => class.name().to_owned(),
        };
        let _ = writeln!(
            r,
            "| {name} | {n} | {} | {} | {} | {s5xx} | {} |",
            status(200),
            status(401),
            status(403),
            codes_of(of())
        );
    }

    // Valid tokens per phase.
    let _ = writeln!(r, "\n## Valid tokens by phase\n");
    let _ = writeln!(
        r,
        "| phase | key | requests | 200 | refusals (status code: count) |"
    );
    let _ = writeln!(r, "|---|---|---:|---:|---|");
    for phase in [Phase::Before, Phase::Outage, Phase::Grace, Phase::After] {
        for outage_key in [false, true] {
            let of = || {
                stats.counts.iter().filter(move |(k, _)| {
                    k.class.is_valid() && k.phase == phase && k.outage_key == outage_key
                })
            };
            let n: u64 = of().map(|(_, v)| v).sum();
            if n == 0 {
                continue;
            }
            let ok: u64 = of()
                .filter(|(k, _)| matches!(k.outcome, Outcome::Status(200, _)))
                .map(|(_, v)| v)
                .sum();
            let refused =
                codes_of(of().filter(|(k, _)| !matches!(k.outcome, Outcome::Status(200, _))));
            let _ = writeln!(
                r,
                "| {} | {} | {n} | {ok} | {refused} |",
                phase.name(),
                if outage_key {
                    "published while the IdP was down"
                } else {
                    "published while the IdP was up"
                }
            );
        }
    }

    // Verdicts.
    let forged_accepted: u64 = stats
        .counts
        .iter()
        .filter(|(k, _)| !k.class.is_valid() && matches!(k.outcome, Outcome::Status(200, _)))
        .map(|(_, v)| v)
        .sum();
    let s5xx_outside: u64 = stats
        .counts
        .iter()
        .filter(|(k, _)| k.outcome.is_5xx() && !k.phase.in_window())
        .map(|(_, v)| v)
        .sum();
    let s5xx_inside = || {
        stats
            .counts
            .iter()
            .filter(|(k, _)| k.outcome.is_5xx() && k.phase.in_window())
    };
    let unexcused: u64 = stats
        .counts
        .iter()
        .filter(|(k, _)| {
            k.outcome.is_5xx()
                && !(k.phase.in_window()
                    && k.outage_key
                    && k.outcome.code() == Some("idp_unavailable"))
        })
        .map(|(_, v)| v)
        .sum();
    let valid_refused_outside = || {
        stats.counts.iter().filter(|(k, _)| {
            k.class.is_valid()
                && !k.phase.in_window()
                && !matches!(k.outcome, Outcome::Status(200, _))
        })
    };
    let n_valid_refused_outside: u64 = valid_refused_outside().map(|(_, v)| v).sum();

    let _ = writeln!(r, "\n## Checks\n");
    let _ = writeln!(
        r,
        "- 5xx outside the outage window (outage + {:.0} s grace): **{s5xx_outside}** {}",
        o.grace,
        codes_of(
            stats
                .counts
                .iter()
                .filter(|(k, _)| k.outcome.is_5xx() && !k.phase.in_window())
        )
    );
    let inside_never_seen: u64 = s5xx_inside()
        .filter(|(k, _)| k.outage_key)
        .map(|(_, v)| v)
        .sum();
    let _ = writeln!(
        r,
        "- 5xx inside the window: {} (codes: {}); for never-seen keys: {inside_never_seen}, for keys the server had seen: {}",
        s5xx_inside().map(|(_, v)| v).sum::<u64>(),
        codes_of(s5xx_inside()),
        s5xx_inside()
            .filter(|(k, _)| !k.outage_key)
            .map(|(_, v)| v)
            .sum::<u64>()
    );
    let _ = writeln!(
        r,
        "- 5xx that are not `idp_unavailable` for a never-seen key inside the window: **{unexcused}**"
    );
    let _ = writeln!(r, "- forged tokens accepted: **{forged_accepted}**");
    let _ = writeln!(
        r,
        "- forged tokens refused with another code than errors.md prescribes (informational): {}",
        {
            let odd: u64 = stats
                .counts
                .iter()
                .filter(|(k, _)| match k.class {
                    Class::Forged(f) => {
                        matches!(k.outcome, Outcome::Status(s, _) if s != 200)
                            && k.outcome.code() != Some(f.expected())
                    }
                    _ => false,
                })
                .map(|(_, v)| v)
                .sum();
            odd
        }
    );
    let _ = writeln!(
        r,
        "- `200` answers naming another subject than the token's: **{}**",
        stats.subject_mismatch
    );
    let _ = writeln!(
        r,
        "- valid tokens refused outside the outage window: **{n_valid_refused_outside}** ({})",
        codes_of(valid_refused_outside())
    );

    // Memory.
    let _ = writeln!(r, "\n## Memory (server VmRSS) and rate\n");
    let rss: Vec<u64> = info.samples.iter().filter_map(|s| s.rss_kib).collect();
    if let (Some(first), Some(last), Some(max)) = (rss.first(), rss.last(), rss.iter().max()) {
        let half = o.duration / 2.0;
        let late: Vec<Sample> = info
            .samples
            .iter()
            .copied()
            .filter(|s| s.t >= half)
            .collect();
        let slope = slope_kib_per_min(&late)
            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:+.1} KiB/min"));
        // The first sample is taken before the load starts: "first under load" is more telling.
        let first_loaded = info
            .samples
            .get(1)
            .and_then(|s| s.rss_kib)
            .unwrap_or(*first);
        let _ = writeln!(
            r,
            "- RSS before load {} MiB, first sample under load {} MiB, max {} MiB, last {} MiB; slope over the last half (t ≥ {half:.0} s): {slope}\n",
            mib(*first),
            mib(first_loaded),
            mib(*max),
            mib(*last)
        );
    }
    let _ = writeln!(r, "| t (s) | RSS (MiB) | req/s | 5xx | valid refused |");
    let _ = writeln!(r, "|---:|---:|---:|---:|---:|");
    let mut prev_t = 0.0;
    for s in &info.samples {
        let dt = (s.t - prev_t).max(0.001);
        let _ = writeln!(
            r,
            "| {:.0} | {} | {:.0} | {} | {} |",
            s.t,
            s.rss_kib.map_or_else(|| "?".to_owned(), mib),
            if s.t == 0.0 {
                0.0
            } else {
                s.requests as f64 / dt
            },
            s.status_5xx,
            s.valid_refused
        );
        prev_t = s.t;
    }

    // Server exit.
    let _ = writeln!(r, "\n## Server\n");
    let exit_ok = matches!(info.exit, Ok(Some(0)));
    let _ = writeln!(
        r,
        "- SIGTERM: {}",
        match &info.exit {
            Ok(Some(code)) => format!("exited with status {code}"),
            Ok(None) => "killed by a signal".to_owned(),
            Err(e) => e.clone(),
        }
    );
    let _ = writeln!(
        r,
        "- server log (stderr, RUST_LOG={}): {} lines, `{}` (kept only when the run fails)",
        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        info.log_lines,
        info.log.display()
    );
    if !info.log_head.is_empty() {
        let _ = writeln!(r, "\n```text");
        for line in &info.log_head {
            let _ = writeln!(r, "{line}");
        }
        let _ = writeln!(r, "```");
    }

    if !stats.examples.is_empty() {
        let _ = writeln!(r, "\n## Examples (first {EXAMPLES} of each)\n");
        for (kind, list) in &stats.examples {
            let _ = writeln!(r, "- {kind}:");
            for text in list {
                let _ = writeln!(r, "  - `{}`", text.replace('`', "'"));
            }
        }
    }

    let mut failures = Vec::new();
    if forged_accepted > 0 {
        failures.push(format!("{forged_accepted} forged tokens accepted"));
    }
    if unexcused > 0 {
        failures.push(format!(
            "{unexcused} 5xx that are not idp_unavailable for a never-seen key within the outage window"
        ));
    }
    if stats.subject_mismatch > 0 {
        failures.push(format!(
            "{} answers named the wrong subject",
            stats.subject_mismatch
        ));
    }
    if !exit_ok {
        failures.push("the server did not exit 0 on SIGTERM".into());
    }
    let mut warnings = Vec::new();
    if n_valid_refused_outside > 0 {
        warnings.push(format!(
            "{n_valid_refused_outside} valid tokens refused outside the outage window (not a failure by the issue's criteria; see the phase table)"
        ));
    }
    if transport > 0 || stats.connect_errors > 0 {
        warnings.push(format!(
            "{transport} transport errors or timeouts, {} connect errors",
            stats.connect_errors
        ));
    }
    let passed = failures.is_empty();
    let _ = writeln!(
        r,
        "\n## Verdict: {}\n",
        if passed { "PASS" } else { "FAIL" }
    );
    for f in &failures {
        let _ = writeln!(r, "- {f}");
    }
    for w in &warnings {
        let _ = writeln!(r, "- warning: {w}");
    }
    (r, passed)
}
