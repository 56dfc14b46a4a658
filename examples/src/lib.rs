//! What the two example servers share: the command line, the registry or
//! demo setup, readiness, metrics and the `whoami` answer (the routes and
//! flags are described in `examples/README.md`). [`axum_app`] and
//! [`actix_app`] hold the routes of each framework.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod actix_app;
pub mod admin;
pub mod args;
pub mod axum_app;
pub mod requirements;

pub use args::{Args, args_or_exit, parse_args, usage};

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fedauth_admin::AdminApi;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tower_fedauth::binding::{ClientCertFormat, ClientCertSource, DpopConfig};
use tower_fedauth::egress::EgressPolicy;
use tower_fedauth::registration::Registration;
use tower_fedauth::registry::{FileRegistry, InMemoryRegistry};
use tower_fedauth::registry::{ListenerHandle, PostgresError, PostgresRegistry};
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
    /// The registry the authenticator reads (the admin API's memory store
    /// writes through to it).
    pub registry: Arc<InMemoryRegistry>,
    /// The demo registration's JSON form (the registry format).
    pub document: Map<String, Value>,
    /// Whether the admin API is served (`--admin-token`): the demo then
    /// prints a second `curl` line that enables the application.
    pub admin: bool,
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
    /// With `--database-url`: the registry and the listener that keeps the
    /// cache in step with the table (dropped with the setup).
    pub postgres: Option<(PostgresRegistry, ListenerHandle)>,
    /// With `--registry`: the file registry the authenticator reads.
    pub file: Option<Arc<FileRegistry>>,
    /// The egress policy the authenticator fetches with (the admin API's
    /// IdP check uses it too).
    pub egress: EgressPolicy,
    /// With `--admin-token`: the admin API, served at `/admin/v1`.
    pub admin: Option<Arc<AdminApi>>,
}

impl Setup {
    fn serving(auth: Authenticator, ids: Vec<String>) -> Self {
        Self {
            auth,
            ids,
            demo: None,
            postgres: None,
            file: None,
            egress: EgressPolicy::new(),
            admin: None,
        }
    }
}

/// An authenticator builder with the servers' settings: the property is
/// the path segment after `properties`; DPoP proofs name `--public-url`
/// (else `http://{Host}`); with `--client-cert-header`, the client
/// certificate is read from that header, as nginx writes it, and from
/// nowhere else.
fn configured(
    builder: tower_fedauth::AuthenticatorBuilder,
    egress: EgressPolicy,
    args: &Args,
) -> Authenticator {
    let dpop = match &args.public_url {
        Some(url) => DpopConfig::default().public_url(url.clone()),
        None => DpopConfig::default(),
    };
    let mut builder = builder
        .egress(egress)
        .property(PropertyResolver::PathSegmentAfter("properties".into()))
        .dpop(dpop);
    if let Some(name) = &args.client_cert_header {
        builder = builder.client_certificate(ClientCertSource::Header {
            name: name.clone(),
            format: ClientCertFormat::NginxEscapedPem,
        });
    }
    builder.build()
}

/// The registry of `--registry` or `--database-url`, or the demo. Must
/// run inside a Tokio runtime (the demo IdP serves from it).
/// With `--admin-token`, the admin API over the matching store
/// ([`admin::api`]).
pub async fn setup(args: &Args) -> Result<Setup, String> {
    let mut setup = registry_setup(args).await?;
    setup.egress = match &setup.demo {
        Some(demo) => demo_egress(args, &demo.idp),
        None => args.egress(),
    };
    setup.admin = admin::api(args, &setup).await?;
    if let Some(demo) = &mut setup.demo {
        demo.admin = setup.admin.is_some();
    }
    Ok(setup)
}

async fn registry_setup(args: &Args) -> Result<Setup, String> {
    if let Some(path) = &args.registry {
        let registry = Arc::new(FileRegistry::load(path).map_err(|e| e.to_string())?);
        let file = registry.clone();
        let ids = registry
            .registrations()
            .ids()
            .iter()
            .map(|id| id.as_str().to_owned())
            .collect();
        tracing::info!(path = %path.display(), "registry loaded");
        let auth = configured(Authenticator::builder(registry), args.egress(), args);
        return Ok(Setup {
            file: Some(file),
            ..Setup::serving(auth, ids)
        });
    }
    if let Some(url) = &args.database_url {
        return database(url, args).await;
    }
    let idp = MockIdp::start().await;
    let document = demo_document(&idp);
    let registration = demo_registration(&idp)?;
    let registry = Arc::new(InMemoryRegistry::new(vec![registration]).map_err(|e| e.to_string())?);
    let memory = registry.clone();
    let egress = demo_egress(args, &idp);
    let auth = configured(Authenticator::builder(registry), egress, args);
    let token = demo_token(&idp);
    tracing::info!(issuer = %idp.issuer(), "demo mode: a local test identity provider is running");
    Ok(Setup {
        demo: Some(Demo {
            idp,
            token,
            registry: memory,
            document,
            admin: false,
        }),
        ..Setup::serving(auth, vec![DEMO_REGISTRATION.to_owned()])
    })
}

/// The PostgreSQL registry of `--database-url`: migrations applied, and a
/// listener that drops cached entries when any instance (or `psql`)
/// changes a row.
async fn database(url: &str, args: &Args) -> Result<Setup, String> {
    let failed = |e: PostgresError| format!("--database-url: {e}");
    let registry = PostgresRegistry::connect(url).await.map_err(failed)?;
    registry.migrate().await.map_err(failed)?;
    let ids = registry
        .export()
        .await
        .map_err(failed)?
        .into_iter()
        .map(|entry| entry.registration.id.as_str().to_owned())
        .collect();
    let auth = configured(
        Authenticator::builder(registry.clone()),
        args.egress(),
        args,
    );
    let listener = registry.spawn_listener(auth.registry().clone());
    tracing::info!("PostgreSQL registry connected");
    Ok(Setup {
        postgres: Some((registry, listener)),
        ..Setup::serving(auth, ids)
    })
}

/// The demo IdP serves plain http on 127.0.0.1: exactly its address and
/// port are allowed, nothing else on this machine.
fn demo_egress(args: &Args, idp: &MockIdp) -> EgressPolicy {
    args.egress()
        .allow_http(true)
        .allow_socket(idp.local_addr())
}

/// The demo application in the registry's JSON form: `demo`, client
/// `app-1`, role `reader` everywhere, `admin` and `reader` in
/// [`DEMO_PROPERTY`].
pub fn demo_document(idp: &MockIdp) -> Map<String, Value> {
    let document = json!({
        "id": DEMO_REGISTRATION,
        "name": "Demo application",
        "provider": "jwks",
        "client_id": idp.client_id(),
        "issuer": idp.issuer(),
        "jwks_uri": idp.jwks_uri(),
        "roles": ["reader"],
        "properties": { DEMO_PROPERTY: ["admin", "reader"] },
    });
    match document {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The demo application ([`demo_document`]), read by the registry's rules.
pub fn demo_registration(idp: &MockIdp) -> Result<Registration, String> {
    Registration::from_document(&Value::Object(demo_document(idp))).map_err(|e| e.to_string())
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
        if demo.admin {
            let _ = admin::announce(&mut out, addr, &demo.idp);
        }
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
    /// With `--admin-token`: the admin API, served at `/admin/v1`.
    pub admin: Option<Arc<AdminApi>>,
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
        Self::with_admin(auth, metrics, None)
    }

    /// A state that is not ready yet, serving `admin` at `/admin/v1`.
    pub fn with_admin(
        auth: Authenticator,
        metrics: PrometheusHandle,
        admin: Option<Arc<AdminApi>>,
    ) -> Self {
        Self(Arc::new(Shared {
            auth,
            ready: AtomicBool::new(false),
            metrics,
            admin,
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
