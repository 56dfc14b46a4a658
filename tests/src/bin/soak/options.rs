//! The soak driver: options.

use super::*;
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) duration: f64,
    pub(crate) connections: usize,
    pub(crate) rotate_every: f64,
    pub(crate) outage_at: f64,
    pub(crate) outage_for: f64,
    pub(crate) grace: f64,
    pub(crate) sample_every: f64,
    pub(crate) server: Option<PathBuf>,
}

pub(crate) const USAGE: &str =
    "usage: soak [--duration SECS] [--connections N] [--rotate-every SECS]
            [--outage-at SECS] [--outage-for SECS] [--grace SECS]
            [--sample-every SECS] [--server PATH]

  --duration SECS      length of the load run (default 300)
  --connections N      concurrent keep-alive connections (default 200)
  --rotate-every SECS  key rotation period of the IdP (default 30)
  --outage-at SECS     when the IdP goes down (default 40 % of the duration)
  --outage-for SECS    how long it stays down (default 20; 0: no outage)
  --grace SECS         after the outage, 5xx for never-seen keys are still excused (default 2)
  --sample-every SECS  RSS and rate sampling period (default 5)
  --server PATH        the axum-server binary (default: next to this binary)
";

pub(crate) fn parse_options() -> Result<Options, String> {
    let mut o = Options {
        duration: 300.0,
        connections: 200,
        rotate_every: 30.0,
        outage_at: f64::NAN,
        outage_for: 20.0,
        grace: 2.0,
        sample_every: 5.0,
        server: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let secs = || -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{arg}: `{value}` is not a number of seconds"))
        };
        match arg.as_str() {
            "--duration" => o.duration = secs()?,
            "--rotate-every" => o.rotate_every = secs()?,
            "--outage-at" => o.outage_at = secs()?,
            "--outage-for" => o.outage_for = secs()?,
            "--grace" => o.grace = secs()?,
            "--sample-every" => o.sample_every = secs()?,
            "--connections" => {
                o.connections =
                    value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--connections: `{value}` is not a positive number")
                    })?;
            }
            "--server" => o.server = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    if o.outage_at.is_nan() {
        o.outage_at = 0.4 * o.duration;
    }
    if o.duration < 1.0 || o.rotate_every < 1.0 || o.sample_every < 0.5 {
        return Err(
            "--duration and --rotate-every must be at least 1 s, --sample-every 0.5 s".into(),
        );
    }
    if o.outage_for > 0.0 && o.outage_at + o.outage_for >= o.duration {
        return Err("the outage must end before the run does".into());
    }
    Ok(o)
}
