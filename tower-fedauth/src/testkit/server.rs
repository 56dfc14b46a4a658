//! [`MockIdp`]: an OpenID provider served over real HTTP on `127.0.0.1`.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::keys::{TestKey, jwks};
use super::token::TokenBuilder;
use super::x509::certificate_map;

/// The client id (audience) that [`MockIdp::token`] uses.
pub const DEFAULT_CLIENT_ID: &str = "app-1";

/// How long [`MockIdp::shutdown`] lets in-flight requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// State shared by the HTTP handlers and every clone of the [`MockIdp`].
struct Shared {
    base_url: String,
    addr: std::net::SocketAddr,
    keys: Mutex<Vec<TestKey>>,
    raw_jwks: Mutex<Option<String>>,
    x509: AtomicBool,
    max_age: Mutex<Option<u64>>,
    outage: AtomicBool,
    delay: Mutex<Duration>,
    discovery_issuer: Mutex<Option<String>>,
    userinfo: Mutex<Value>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    userinfo_fetches: AtomicUsize,
    next_kid: AtomicUsize,
}

/// Owns the server task; dropping the last handle stops the server.
struct ServerHandle {
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// An in-process mock OpenID Connect identity provider for tests.
///
/// It listens on `127.0.0.1` with an ephemeral port and serves
/// `/.well-known/openid-configuration`, `/jwks` and `/userinfo` with real
/// keys. Every knob (keys, outage, delay, cache lifetime, ...) can be turned
/// while it runs. Clones share the same server; dropping the last clone (or
/// calling [`MockIdp::shutdown`]) stops it.
#[derive(Clone)]
pub struct MockIdp {
    shared: Arc<Shared>,
    server: Arc<ServerHandle>,
}

impl fmt::Debug for MockIdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockIdp")
            .field("base_url", &self.shared.base_url)
            .field("keys", &*lock(&self.shared.keys))
            .finish_non_exhaustive()
    }
}

impl MockIdp {
    /// Starts a provider serving one RSA key with kid `key-1` (RS256).
    pub async fn start() -> MockIdp {
        Self::start_with_keys(vec![TestKey::rsa("key-1")]).await
    }

    /// Starts a provider serving `keys` (the first one signs [`Self::mint`]).
    ///
    /// # Panics
    /// If it cannot bind `127.0.0.1:0`. Must run inside a Tokio runtime.
    pub async fn start_with_keys(keys: Vec<TestKey>) -> MockIdp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("MockIdp: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("MockIdp: local address");
        let next_kid = keys.len() + 1;
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            addr,
            keys: Mutex::new(keys),
            raw_jwks: Mutex::new(None),
            x509: AtomicBool::new(false),
            max_age: Mutex::new(Some(300)),
            outage: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            discovery_issuer: Mutex::new(None),
            userinfo: Mutex::new(json!({ "sub": "alice" })),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            userinfo_fetches: AtomicUsize::new(0),
            next_kid: AtomicUsize::new(next_kid),
        });
        let router = Router::new()
            .route("/jwks", get(jwks_handler))
            .route("/.well-known/openid-configuration", get(discovery_handler))
            .route("/userinfo", get(userinfo_handler))
            .fallback(fallback_handler)
            .with_state(shared.clone());
        let (stop, mut stopped) = watch::channel(false);
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            // Completes on `true` or when the sender is dropped.
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "MockIdp server stopped with an error");
            }
        });
        tracing::debug!(base_url = %shared.base_url, "MockIdp started");
        MockIdp {
            shared,
            server: Arc::new(ServerHandle {
                stop,
                task: Mutex::new(Some(task)),
            }),
        }
    }

    /// The address it listens on, `127.0.0.1:PORT` (for an egress policy
    /// that allows exactly this IdP).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The issuer (same as [`Self::base_url`]).
    pub fn issuer(&self) -> String {
        self.base_url()
    }

    /// The JWKS endpoint: base URL + `/jwks`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.shared.base_url)
    }

    /// The discovery document: base URL + `/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.shared.base_url)
    }

    /// The userinfo endpoint: base URL + `/userinfo`.
    pub fn userinfo_url(&self) -> String {
        format!("{}/userinfo", self.shared.base_url)
    }

    /// The client id that [`Self::token`] puts in `aud` (`"app-1"`).
    pub fn client_id(&self) -> String {
        DEFAULT_CLIENT_ID.to_owned()
    }

    /// The keys currently served.
    pub fn keys(&self) -> Vec<TestKey> {
        lock(&self.shared.keys).clone()
    }

    /// The first served key, used by [`Self::mint`].
    ///
    /// # Panics
    /// If no key is served (after `set_keys(vec![])`).
    pub fn signing_key(&self) -> TestKey {
        lock(&self.shared.keys)
            .first()
            .cloned()
            .expect("MockIdp serves no key")
    }

    /// Replaces the served keys; the JWKS changes immediately.
    pub fn set_keys(&self, keys: Vec<TestKey>) {
        *lock(&self.shared.keys) = keys;
    }

    /// Replaces all keys by one new RSA key with a fresh kid and returns it.
    pub fn rotate(&self) -> TestKey {
        let kid = loop {
            let n = self.shared.next_kid.fetch_add(1, Ordering::Relaxed);
            let kid = format!("key-{n}");
            if lock(&self.shared.keys).iter().all(|k| k.kid() != kid) {
                break kid;
            }
        };
        let key = TestKey::rsa(kid);
        self.set_keys(vec![key.clone()]);
        key
    }

    /// Serves exactly `body` on `/jwks` instead of the generated set (`None`
    /// returns to the generated set).
    pub fn set_raw_jwks(&self, body: Option<String>) {
        *lock(&self.shared.raw_jwks) = body;
    }

    /// While `on`, `/jwks` serves the keys as Google's X.509 certificate map
    /// (`{kid: PEM certificate}`, the format of Firebase's key URL) instead
    /// of a JWKS. The keys must be RSA keys. A raw body set by
    /// [`Self::set_raw_jwks`] still wins.
    pub fn set_x509_certificate_map(&self, on: bool) {
        self.shared.x509.store(on, Ordering::SeqCst);
    }

    /// `Cache-Control: max-age=N` on `/jwks` and discovery; `None` sends no
    /// such header. Default `Some(300)`.
    pub fn set_max_age(&self, secs: Option<u64>) {
        *lock(&self.shared.max_age) = secs;
    }

    /// While `down`, every route answers `503` with body `down`.
    pub fn set_outage(&self, down: bool) {
        self.shared.outage.store(down, Ordering::SeqCst);
    }

    /// Delays every answer of `/jwks` and discovery by `d`.
    pub fn set_delay(&self, d: Duration) {
        *lock(&self.shared.delay) = d;
    }

    /// Overrides the `issuer` member of the discovery document (`None`: the
    /// real issuer).
    pub fn set_discovery_issuer(&self, iss: Option<String>) {
        *lock(&self.shared.discovery_issuer) = iss;
    }

    /// Number of `GET /jwks` received (outages included).
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Number of discovery documents requested (outages included).
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Number of `GET /userinfo` received (outages included).
    pub fn userinfo_fetches(&self) -> usize {
        self.shared.userinfo_fetches.load(Ordering::SeqCst)
    }

    /// The JSON `/userinfo` answers to a request with a non-empty bearer token.
    /// Default `{"sub":"alice"}`.
    pub fn set_userinfo(&self, body: Value) {
        *lock(&self.shared.userinfo) = body;
    }

    /// A token builder with `iss` = [`Self::issuer`], `sub` = `alice` and
    /// `aud` = `app-1`.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(self.issuer())
            .subject("alice")
            .audience(DEFAULT_CLIENT_ID)
    }

    /// A valid token from [`Self::token`] signed by [`Self::signing_key`].
    /// Every call mints a distinct token (a unique `jti`), as an IdP does,
    /// so that a test about verification is not answered by the
    /// verified-token cache.
    pub fn mint(&self) -> String {
        static MINTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = MINTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.token()
            .claim("jti", format!("mint-{n}"))
            .sign(&self.signing_key())
    }

    /// Stops serving: once this returns, new connections are refused.
    /// In-flight requests get a short grace period, then are cut.
    pub async fn shutdown(&self) {
        let _ = self.server.stop.send(true);
        let task = lock(&self.server.task).take();
        if let Some(mut task) = task {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
            tracing::debug!(base_url = %self.shared.base_url, "MockIdp stopped");
        }
    }
}

impl Shared {
    fn is_down(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
    }

    async fn apply_delay(&self) {
        let delay = *lock(&self.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// A JSON response with the configured `Cache-Control`.
    fn cacheable_json(&self, body: String) -> Response {
        let max_age = *lock(&self.max_age);
        let mut builder = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(secs) = max_age {
            builder = builder.header(header::CACHE_CONTROL, format!("max-age={secs}"));
        }
        builder.body(Body::from(body)).expect("valid response")
    }
}

fn down() -> Response {
    plain(StatusCode::SERVICE_UNAVAILABLE, "down")
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(body))
        .expect("valid response")
}

async fn jwks_handler(State(s): State<Arc<Shared>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    s.apply_delay().await;
    if s.is_down() {
        return down();
    }
    let raw = lock(&s.raw_jwks).clone();
    let body = raw.unwrap_or_else(|| {
        let keys = lock(&s.keys);
        if s.x509.load(Ordering::SeqCst) {
            certificate_map(&keys).to_string()
        } else {
            jwks(&keys).to_string()
        }
    });
    s.cacheable_json(body)
}

async fn discovery_handler(State(s): State<Arc<Shared>>) -> Response {
    s.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    s.apply_delay().await;
    if s.is_down() {
        return down();
    }
    let issuer = lock(&s.discovery_issuer)
        .clone()
        .unwrap_or_else(|| s.base_url.clone());
    let mut algs: Vec<&'static str> = Vec::new();
    for key in lock(&s.keys).iter() {
        if !algs.contains(&key.default_alg()) {
            algs.push(key.default_alg());
        }
    }
    if algs.is_empty() {
        algs.push("RS256");
    }
    let doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", s.base_url),
        "userinfo_endpoint": format!("{}/userinfo", s.base_url),
        "id_token_signing_alg_values_supported": algs,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    });
    s.cacheable_json(doc.to_string())
}

async fn userinfo_handler(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    s.userinfo_fetches.fetch_add(1, Ordering::SeqCst);
    if s.is_down() {
        return down();
    }
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()
        });
    if !authorized {
        let mut resp = plain(StatusCode::UNAUTHORIZED, "unauthorized");
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return resp;
    }
    let body = lock(&s.userinfo).to_string();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("valid response")
}

async fn fallback_handler(State(s): State<Arc<Shared>>) -> Response {
    if s.is_down() {
        return down();
    }
    plain(StatusCode::NOT_FOUND, "not found")
}
