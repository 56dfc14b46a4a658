//! The soak driver: memory.

use super::*;
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub(crate) async fn sampler(ctx: Arc<Ctx>, pid: u32, every: Duration) -> Vec<Sample> {
    let mut samples = vec![Sample {
        t: 0.0,
        rss_kib: rss_kib(pid),
        requests: 0,
        status_5xx: 0,
        valid_refused: 0,
    }];
    let mut next = ctx.start + every;
    let (mut last_req, mut last_5xx, mut last_ref) = (0, 0, 0);
    while next <= ctx.deadline + Duration::from_millis(50) {
        tokio::time::sleep_until(next.into()).await;
        let requests = ctx.requests.load(Ordering::Relaxed);
        let s5xx = ctx.status_5xx.load(Ordering::Relaxed);
        let refused = ctx.valid_refused.load(Ordering::Relaxed);
        let sample = Sample {
            t: ctx.start.elapsed().as_secs_f64(),
            rss_kib: rss_kib(pid),
            requests: requests - last_req,
            status_5xx: s5xx - last_5xx,
            valid_refused: refused - last_ref,
        };
        (last_req, last_5xx, last_ref) = (requests, s5xx, refused);
        eprintln!(
            "[{:7.1}s] {:>8.0} req/s  rss {}  5xx {}  valid refused {}",
            sample.t,
            sample.requests as f64 / every.as_secs_f64(),
            sample.rss_kib.map_or_else(
                || "?".to_owned(),
                |k| format!("{:.1} MiB", k as f64 / 1024.0)
            ),
            sample.status_5xx,
            sample.valid_refused
        );
        samples.push(sample);
        next += every;
    }
    samples
}

/// Least-squares slope of RSS (KiB) over time (s), in KiB per minute.
pub(crate) fn slope_kib_per_min(samples: &[Sample]) -> Option<f64> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| s.rss_kib.map(|r| (s.t, r as f64)))
        .collect();
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}
