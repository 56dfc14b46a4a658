//! What the two example servers share: the command line, the registry or
//! demo setup, readiness, metrics and the `whoami` answer (the routes and
//! flags are described in `examples/README.md`). [`axum_app`] and
//! [`actix_app`] hold the routes of each framework.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod actix_app;
pub mod axum_app;
pub mod requirements;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use serde_json::Value;
use tower_fedauth::egress::EgressPolicy;
use tower_fedauth::registration::{Provider, Registration};
use tower_fedauth::registry::{FileRegistry, InMemoryRegistry};
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{AuthContext, Authenticator, Principal, PropertyResolver, Roles};

/// Where the servers listen without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How long the pre-warm pass waits for one registration's keys.
pub const WARM_UP_BOUND: Duration = Duration::from_secs(10);

/// The id of the demo registration.
pub const DEMO_REGISTRATION: &str = "demo";

/// The property where the demo application holds `admin`.
pub const DEMO_PROPERTY: &str = "property-42";

/// `Content-Type` of `/metrics` (Prometheus text exposition format).
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `Content-Type` of `/health` and `/ready`.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// `--registry PATH`: a `.toml` or `.json` registry; `None` is demo mode.
    pub registry: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: SocketAddr,
    /// `--allow-http`: fetch `http://` IdP URLs too.
    pub allow_http: bool,
    /// `--allow-network CIDR` (repeatable): outgoing requests may also go
    /// to these networks (or exact host names), beyond public unicast.
    pub allow_network: Vec<String>,
}

impl Args {
    /// The egress policy of the command line.
    pub fn egress(&self) -> EgressPolicy {
        self.allow_network.iter().fold(
            EgressPolicy::new().allow_http(self.allow_http),
            |policy, entry| {
                // Checked when parsed.
                policy.clone().allow(entry).unwrap_or(policy)
            },
        )
    }
}

/// The usage text of `bin`.
pub fn usage(bin: &str) -> String {
    format!(
        "usage: {bin} [--registry PATH] [--listen ADDR] [--allow-http] [--allow-network CIDR]...\n\
         \n\
         \x20 --registry PATH  registry file (.toml or .json); without it: demo mode with a local test IdP\n\
         \x20 --listen ADDR    address to serve on (default {DEFAULT_LISTEN}; port 0 picks a free one)\n\
         \x20 --allow-http     accept http:// JWKS, discovery, userinfo, introspection and verification URLs\n\
         \x20 --allow-network CIDR\n\
         \x20                  also fetch from this network or exact host name (repeatable); without it only\n\
         \x20                  public unicast addresses are fetched: a local test IdP needs 127.0.0.0/8\n\
         \x20 -h, --help       print this help\n\
         \n\
         RUST_LOG sets the log level (logs go to stderr).\n"
    )
}

/// Parse the arguments after the program name: `Ok(None)` asks for help.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        registry: None,
        listen: DEFAULT_LISTEN.parse().expect("default address"),
        allow_http: false,
        allow_network: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--registry" => parsed.registry = Some(PathBuf::from(value("--registry")?)),
            "--listen" => {
                let v = value("--listen")?;
                parsed.listen = v.parse().map_err(|_| {
                    format!("--listen: `{v}` is not an address like 127.0.0.1:8080")
                })?;
            }
            "--allow-http" if inline.is_none() => parsed.allow_http = true,
            "--allow-network" => {
                let v = value("--allow-network")?;
                EgressPolicy::new()
                    .allow(&v)
                    .map_err(|e| format!("--allow-network: {e}"))?;
                parsed.allow_network.push(v);
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok(Some(parsed))
}

/// The command line of this process; on a bad one, the usage on stderr and
/// exit status 2; on `--help`, the usage on stdout and exit status 0.
pub fn args_or_exit(bin: &str) -> Args {
    match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{}", usage(bin));
            std::process::exit(0);
        }
        Err(e) => {
            eprint!("{bin}: {e}\n\n{}", usage(bin));
            std::process::exit(2);
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Install the Prometheus recorder for this process and return its handle.
pub fn install_metrics() -> PrometheusHandle {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("a metrics recorder was already installed; /metrics shows only this one");
    }
    handle
}

/// A Prometheus handle that is not installed globally (tests).
pub fn local_metrics() -> PrometheusHandle {
    PrometheusBuilder::new().build_recorder().handle()
}

/// The demo: a local test IdP and a token it signed.
pub struct Demo {
    /// The in-process identity provider (keys generated at start, never on disk).
    pub idp: MockIdp,
    /// A token for the `demo` registration, valid for an hour.
    pub token: String,
}

/// What a server serves: the authenticator, the registrations to pre-warm,
/// and the demo, if in demo mode.
pub struct Setup {
    /// The authenticator.
    pub auth: Authenticator,
    /// Every registration id, for the pre-warm pass.
    pub ids: Vec<String>,
    /// Demo mode.
    pub demo: Option<Demo>,
}

/// An authenticator builder with the servers' settings: the property is
/// the path segment after `properties`.
fn configured(builder: tower_fedauth::AuthenticatorBuilder, egress: EgressPolicy) -> Authenticator {
    builder
        .egress(egress)
        .property(PropertyResolver::PathSegmentAfter("properties".into()))
        .build()
}

/// The registry of `--registry`, or the demo. Must run inside a Tokio
/// runtime (the demo IdP serves from it).
pub async fn setup(args: &Args) -> Result<Setup, String> {
    match &args.registry {
        Some(path) => {
            let registry = FileRegistry::load(path).map_err(|e| e.to_string())?;
            let ids: Vec<String> = registry
                .registrations()
                .ids()
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect();
            tracing::info!(path = %path.display(), registrations = ids.len(), "registry loaded");
            let auth = configured(Authenticator::builder(registry), args.egress());
            Ok(Setup {
                auth,
                ids,
                demo: None,
            })
        }
        None => {
            let idp = MockIdp::start().await;
            let registration = demo_registration(&idp)?;
            let registry = InMemoryRegistry::new(vec![registration]).map_err(|e| e.to_string())?;
            // The demo IdP serves plain http on 127.0.0.1: exactly its
            // address and port are allowed, nothing else on this machine.
            let egress = args
                .egress()
                .allow_http(true)
                .allow_socket(idp.local_addr());
            let auth = configured(Authenticator::builder(registry), egress);
            let token = demo_token(&idp);
            tracing::info!(issuer = %idp.issuer(), "demo mode: a local test identity provider is running");
            Ok(Setup {
                auth,
                ids: vec![DEMO_REGISTRATION.to_owned()],
                demo: Some(Demo { idp, token }),
            })
        }
    }
}

/// The demo application: `demo`, client `app-1`, role `reader`
/// everywhere, `admin` and `reader` in [`DEMO_PROPERTY`].
pub fn demo_registration(idp: &MockIdp) -> Result<Registration, String> {
    Registration::builder(DEMO_REGISTRATION, Provider::Jwks)
        .name("Demo application")
        .client_id(idp.client_id())
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .roles(["reader"])
        .property(DEMO_PROPERTY, ["admin", "reader"])
        .build()
        .map_err(|e| e.to_string())
}

/// A token of the demo IdP for user `alice`, valid for an hour.
pub fn demo_token(idp: &MockIdp) -> String {
    idp.token()
        .claim("preferred_username", "alice")
        .claim("email", "alice@example.com")
        .expires_in(3600)
        .sign(&idp.signing_key())
}

/// The ready-to-paste `curl` line of demo mode.
pub fn curl_line(addr: SocketAddr, token: &str) -> String {
    format!(
        "curl -H 'Authorization: Bearer {token}' -H 'x-sc-auth: {DEMO_REGISTRATION}' http://{addr}/whoami"
    )
}

/// Print `listening on http://ADDR` (and, in demo mode, the `curl` line)
/// to stdout and flush it.
pub fn announce(addr: SocketAddr, demo: Option<&Demo>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    if let Some(demo) = demo {
        let _ = writeln!(out, "{}", curl_line(addr, &demo.token));
        let _ = writeln!(
            out,
            "# same token: http://{addr}/properties/{DEMO_PROPERTY}/whoami and \
             http://{addr}/properties/{DEMO_PROPERTY}/admin answer 200 too"
        );
    }
    let _ = out.flush();
}

/// Shared by the handlers of both servers. One `Arc`, because axum clones
/// the state for every request: one reference count to touch, not three.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares (reached through `Deref`).
pub struct Shared {
    /// The authenticator.
    pub auth: Authenticator,
    /// Set once the pre-warm pass has finished.
    pub ready: AtomicBool,
    /// The Prometheus handle rendered by `/metrics`.
    pub metrics: PrometheusHandle,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// A state that is not ready yet.
    pub fn new(auth: Authenticator, metrics: PrometheusHandle) -> Self {
        Self(Arc::new(Shared {
            auth,
            ready: AtomicBool::new(false),
            metrics,
        }))
    }

    /// Whether the pre-warm pass has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// `/ready`: status and body.
    pub fn readiness(&self) -> (u16, &'static str) {
        if self.is_ready() {
            (200, "ready")
        } else {
            (503, "warming up")
        }
    }

    /// `/metrics`: the Prometheus text.
    pub fn render_metrics(&self) -> String {
        self.metrics.run_upkeep();
        self.metrics.render()
    }
}

/// The pre-warm pass: fetch every registration's keys (each within
/// [`WARM_UP_BOUND`]; failures are logged and counted), then mark the
/// state ready.
pub async fn warm_up(state: AppState, ids: Vec<String>) {
    let report = state.auth.warm_up(&ids, WARM_UP_BOUND).await;
    metrics::gauge!("fedauth_warmup_registrations", "outcome" => "ready")
        .set(report.ready.len() as f64);
    metrics::gauge!("fedauth_warmup_registrations", "outcome" => "failed")
        .set(report.failed.len() as f64);
    for (id, why) in &report.failed {
        tracing::warn!(registration = %id, reason = %why, "pre-warm: key set not fetched");
    }
    tracing::info!(
        ready = report.ready.len(),
        failed = report.failed.len(),
        "pre-warm pass finished"
    );
    state.ready.store(true, Ordering::SeqCst);
}

/// The `whoami` answer (`examples/README.md`), borrowed from the request's
/// context and serialised straight into the response: nothing is copied or
/// rebuilt per request.
#[derive(Debug, Serialize)]
pub struct WhoAmI<'a> {
    registration: &'a str,
    client_id: Option<&'a str>,
    provider: &'static str,
    issuer: Option<&'a str>,
    subject: &'a str,
    property: Option<&'a str>,
    roles: &'a Roles,
    principal: &'a Principal,
    claims: &'a Value,
}

/// The `whoami` answer: who called, under which registration, with which
/// roles and claims.
pub fn whoami<'a>(
    ctx: &'a AuthContext,
    roles: &'a Roles,
    principal: &'a Principal,
    claims: &'a Value,
) -> WhoAmI<'a> {
    let registration = ctx.registration();
    WhoAmI {
        registration: ctx.registration_id(),
        client_id: registration.client_id(),
        provider: registration.provider.as_str(),
        issuer: ctx.issuer(),
        subject: ctx.subject(),
        property: ctx.property(),
        roles,
        principal,
        claims,
    }
}

/// [`whoami`] from the context alone.
pub fn whoami_of(ctx: &AuthContext) -> WhoAmI<'_> {
    whoami(ctx, ctx.roles(), ctx.principal(), ctx.claims().as_value())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn command_line() {
        let defaults = parse(&[]).unwrap().unwrap();
        assert_eq!(
            defaults,
            Args {
                registry: None,
                listen: "127.0.0.1:8080".parse().unwrap(),
                allow_http: false,
                allow_network: vec![],
            }
        );
        let all = parse(&[
            "--registry",
            "r.toml",
            "--listen=127.0.0.1:0",
            "--allow-http",
            "--allow-network",
            "127.0.0.0/8",
            "--allow-network=idp.corp.example",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            all,
            Args {
                registry: Some("r.toml".into()),
                listen: "127.0.0.1:0".parse().unwrap(),
                allow_http: true,
                allow_network: vec!["127.0.0.0/8".into(), "idp.corp.example".into()],
            }
        );
        assert_eq!(
            all.egress(),
            EgressPolicy::new()
                .allow_http(true)
                .allow_network("127.0.0.0/8".parse().unwrap())
                .allow_host("idp.corp.example")
        );
        assert_eq!(parse(&[]).unwrap().unwrap().egress(), EgressPolicy::new());
        assert_eq!(
            parse(&["--allow-network", "10.0.0.0/40"]).unwrap_err(),
            "--allow-network: \"10.0.0.0/40\" is not a CIDR, an IP address or a host name"
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
        assert_eq!(
            parse(&["--verbose"]).unwrap_err(),
            "unknown argument `--verbose`"
        );
        assert_eq!(parse(&["--listen"]).unwrap_err(), "--listen needs a value");
        assert_eq!(
            parse(&["--listen", "localhost"]).unwrap_err(),
            "--listen: `localhost` is not an address like 127.0.0.1:8080"
        );
        assert_eq!(
            parse(&["--allow-http=yes"]).unwrap_err(),
            "unknown argument `--allow-http=yes`"
        );
    }
}
