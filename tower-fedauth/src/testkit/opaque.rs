//! [`MockOpaqueIdp`]: an RFC 7662 introspection endpoint and a custom
//! verification endpoint (a GET or POST carrying the token, answering a
//! user object) over real HTTP on `127.0.0.1`, recording every request so
//! tests can check what fedauth sent.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{any, post};
use base64::Engine;
use bytes::Bytes;
use http::{StatusCode, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::form_urlencoded;

/// The resource server's client id the mock expects by default.
pub const DEFAULT_RS_CLIENT_ID: &str = "resource-server";
/// The resource server's secret the mock expects by default (with
/// characters that RFC 6749 §2.3.1's form-urlencoding must escape).
pub const DEFAULT_RS_SECRET: &str = "s3cr:t +/%é";

/// Largest request body the mock reads.
const MAX_REQUEST: usize = 1024 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One answer of the mock verification endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockAnswer {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Body bytes.
    pub body: Bytes,
}

impl MockAnswer {
    /// A JSON answer with this status.
    pub fn json(status: u16, body: Value) -> Self {
        Self::raw(status, Some("application/json"), body.to_string())
    }

    /// Any answer, byte for byte.
    pub fn raw(status: u16, content_type: Option<&str>, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type: content_type.map(str::to_owned),
            body: body.into(),
        }
    }

    fn response(&self) -> Response {
        let mut b =
            Response::builder().status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK));
        if let Some(ct) = &self.content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(self.body.clone()))
            .expect("valid response")
    }
}

/// A request the mock received, decoded.
#[derive(Debug, Clone, Default)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub raw_query: Option<String>,
    /// The decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names (lowercase) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
    /// The body decoded as a form, in order.
    pub form: Vec<(String, String)>,
    /// HTTP Basic credentials, base64- and then form-decoded (RFC 6749 §2.3.1).
    pub basic: Option<(String, String)>,
}

impl RecordedRequest {
    /// Every value of header `name` (case-insensitive).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        let values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        values.map(|(_, v)| v.as_str()).collect()
    }

    /// Every value of query param `name`.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        let values = self.query.iter().filter(|(n, _)| n == name);
        values.map(|(_, v)| v.as_str()).collect()
    }

    /// Every value of form field `name`.
    pub fn form_values(&self, name: &str) -> Vec<&str> {
        let values = self.form.iter().filter(|(n, _)| n == name);
        values.map(|(_, v)| v.as_str()).collect()
    }

    fn values(&self) -> impl Iterator<Item = &str> {
        let (q, f, h) = (&self.query, &self.form, &self.headers);
        q.iter().chain(f).chain(h).map(|(_, v)| v.as_str())
    }
}

struct Shared {
    base_url: String,
    credentials: (String, String),
    introspection: Mutex<HashMap<String, Value>>,
    raw_introspection: Mutex<Option<MockAnswer>>,
    verification: Mutex<MockAnswer>,
    verification_for: Mutex<Vec<(String, MockAnswer)>>,
    requests: Mutex<Vec<RecordedRequest>>,
    introspection_calls: AtomicUsize,
    verification_calls: AtomicUsize,
    delay: Mutex<Duration>,
    outage: AtomicBool,
}

struct ServerHandle {
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A mock introspection endpoint (`POST /introspect`) and verification
/// endpoint (`GET|POST /verify`) for tests.
///
/// Introspection: the resource server must authenticate with
/// [`DEFAULT_RS_CLIENT_ID`] / [`DEFAULT_RS_SECRET`] (Basic or in the form),
/// else 401; a token set by [`Self::set_introspection`] gets that answer,
/// any other `{"active":false}`. Verification: the answer of
/// [`Self::set_verification_answer_for`] whose value appears in a param or
/// header, else [`Self::set_verification_answer`] (default: a user object,
/// `{"user":{"id":4324,...}}`). Clones share the server; dropping the last
/// one stops it.
#[derive(Clone)]
pub struct MockOpaqueIdp {
    shared: Arc<Shared>,
    server: Arc<ServerHandle>,
}

impl fmt::Debug for MockOpaqueIdp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockOpaqueIdp")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl MockOpaqueIdp {
    /// Start on `127.0.0.1` with an ephemeral port.
    ///
    /// # Panics
    /// If it cannot bind. Must run inside a Tokio runtime.
    pub async fn start() -> MockOpaqueIdp {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("MockOpaqueIdp: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("MockOpaqueIdp: local address");
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            credentials: (DEFAULT_RS_CLIENT_ID.into(), DEFAULT_RS_SECRET.into()),
            introspection: Mutex::new(HashMap::new()),
            raw_introspection: Mutex::new(None),
            verification: Mutex::new(MockAnswer::json(
                200,
                json!({"user": {"id": 4324, "login": "samuel456", "full_name": "Samuel Johnson"}}),
            )),
            verification_for: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            introspection_calls: AtomicUsize::new(0),
            verification_calls: AtomicUsize::new(0),
            delay: Mutex::new(Duration::ZERO),
            outage: AtomicBool::new(false),
        });
        let router = Router::new()
            .route("/introspect", post(introspect))
            .route("/verify", any(verify))
            .with_state(shared.clone());
        let (stop, mut stopped) = watch::channel(false);
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "MockOpaqueIdp stopped with an error");
            }
        });
        MockOpaqueIdp {
            shared,
            server: Arc::new(ServerHandle {
                stop,
                task: Mutex::new(Some(task)),
            }),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The introspection endpoint: base URL + `/introspect`.
    pub fn introspection_url(&self) -> String {
        format!("{}/introspect", self.shared.base_url)
    }

    /// The verification endpoint: base URL + `/verify`.
    pub fn verification_url(&self) -> String {
        format!("{}/verify", self.shared.base_url)
    }

    /// The introspection answer for `token` (served as is).
    pub fn set_introspection(&self, token: &str, answer: Value) {
        lock(&self.shared.introspection).insert(token.to_owned(), answer);
    }

    /// Serve `answer` to every introspection request instead (`None`: back
    /// to the per-token answers); for garbage and error answers.
    pub fn set_raw_introspection(&self, answer: Option<MockAnswer>) {
        *lock(&self.shared.raw_introspection) = answer;
    }

    /// The verification answer when no [`Self::set_verification_answer_for`] matches.
    pub fn set_verification_answer(&self, answer: MockAnswer) {
        *lock(&self.shared.verification) = answer;
    }

    /// Answer `answer` to verification requests carrying `value` in a
    /// query param, form field or header.
    pub fn set_verification_answer_for(&self, value: &str, answer: MockAnswer) {
        lock(&self.shared.verification_for).push((value.to_owned(), answer));
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Introspection requests received (outages included).
    pub fn introspection_calls(&self) -> usize {
        self.shared.introspection_calls.load(Ordering::SeqCst)
    }

    /// Verification requests received (outages included).
    pub fn verification_calls(&self) -> usize {
        self.shared.verification_calls.load(Ordering::SeqCst)
    }

    /// Delay every answer by `d`.
    pub fn set_delay(&self, d: Duration) {
        *lock(&self.shared.delay) = d;
    }

    /// While `down`, both endpoints answer `503` with body `down`.
    pub fn set_outage(&self, down: bool) {
        self.shared.outage.store(down, Ordering::SeqCst);
    }

    /// Stop serving: once this returns, new connections are refused.
    pub async fn shutdown(&self) {
        let _ = self.server.stop.send(true);
        let task = lock(&self.server.task).take();
        if let Some(mut task) = task {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

fn decode_form(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn decode_basic(value: &str) -> Option<(String, String)> {
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let unform = |s: &str| {
        form_urlencoded::parse(s.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some((unform(id), unform(secret)))
}

impl Shared {
    async fn record(&self, req: Request) -> RecordedRequest {
        let (parts, body) = req.into_parts();
        let body = to_bytes(body, MAX_REQUEST).await.unwrap_or_default();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let basic = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(decode_basic);
        let raw_query = parts.uri.query().map(str::to_owned);
        let recorded = RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: decode_form(raw_query.as_deref().unwrap_or("").as_bytes()),
            raw_query,
            headers,
            form: decode_form(&body),
            body,
            basic,
        };
        lock(&self.requests).push(recorded.clone());
        let delay = *lock(&self.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        recorded
    }

    fn down(&self) -> Option<Response> {
        self.outage
            .load(Ordering::SeqCst)
            .then(|| MockAnswer::raw(503, Some("text/plain"), "down").response())
    }
}

async fn introspect(State(s): State<Arc<Shared>>, req: Request) -> Response {
    s.introspection_calls.fetch_add(1, Ordering::SeqCst);
    let r = s.record(req).await;
    if let Some(down) = s.down() {
        return down;
    }
    if let Some(raw) = lock(&s.raw_introspection).clone() {
        return raw.response();
    }
    let (ids, secrets) = (r.form_values("client_id"), r.form_values("client_secret"));
    let form_credentials = match (ids.as_slice(), secrets.as_slice()) {
        ([id], [secret]) => Some((id.to_string(), secret.to_string())),
        _ => None,
    };
    let credentials = match (r.basic.clone(), form_credentials) {
        (Some(c), None) | (None, Some(c)) => Some(c),
        _ => None, // none, or both (RFC 6749 §2.3: one method per request)
    };
    if credentials.as_ref() != Some(&s.credentials) {
        return MockAnswer::json(401, json!({"error": "invalid_client"})).response();
    }
    let answer = match r.form_values("token").as_slice() {
        [token] => lock(&s.introspection).get(*token).cloned(),
        _ => return MockAnswer::json(400, json!({"error": "invalid_request"})).response(),
    };
    MockAnswer::json(200, answer.unwrap_or_else(|| json!({"active": false}))).response()
}

async fn verify(State(s): State<Arc<Shared>>, req: Request) -> Response {
    s.verification_calls.fetch_add(1, Ordering::SeqCst);
    let r = s.record(req).await;
    if let Some(down) = s.down() {
        return down;
    }
    let matched = lock(&s.verification_for)
        .iter()
        .find(|(value, _)| r.values().any(|v| v == value))
        .map(|(_, answer)| answer.clone());
    matched
        .unwrap_or_else(|| lock(&s.verification).clone())
        .response()
}
