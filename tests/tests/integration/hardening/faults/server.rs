//! The misbehaving servers: raw `tokio` sockets that answer with each
//! fault (and healthy answers made of the same keys).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tower_fedauth::testkit::{TestKey, TokenBuilder, jwks};

use super::Fault;

/// What the healthy answers are made of; shared by the healthy and the
/// faulty server of a scenario.
pub(super) struct Idp {
    pub(super) keys: Mutex<Vec<TestKey>>,
    /// The issuer: the healthy server's base URL.
    pub(super) issuer: Mutex<String>,
    /// Where discovery documents say userinfo is.
    pub(super) userinfo_url: Mutex<String>,
    /// The registry service's registrations, by id.
    pub(super) registrations: Mutex<HashMap<String, Value>>,
}

/// RSA keys, generated once: key generation is slow CPU work that would
/// stall the runtime (and every timing assertion) if done per scenario.
pub(super) static KEYS: LazyLock<Vec<TestKey>> =
    LazyLock::new(|| (1..=4).map(|i| TestKey::rsa(format!("key-{i}"))).collect());

impl Idp {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            keys: Mutex::new(vec![KEYS[0].clone()]),
            issuer: Mutex::new(String::new()),
            userinfo_url: Mutex::new(String::new()),
            registrations: Mutex::new(HashMap::new()),
        })
    }

    pub(super) fn issuer(&self) -> String {
        self.issuer.lock().unwrap().clone()
    }

    pub(super) fn signing_key(&self) -> TestKey {
        self.keys.lock().unwrap()[0].clone()
    }

    /// A valid token, unique (`jti`), for client `app-1`.
    pub(super) fn mint(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        TokenBuilder::new()
            .issuer(self.issuer())
            .subject("alice")
            .audience("app-1")
            .claim("jti", format!("t-{}", N.fetch_add(1, Ordering::Relaxed)))
            .sign(&self.signing_key())
    }

    /// The correct answer to `method path`: (status, body).
    pub(super) fn answer(&self, method: &str, path: &str, authorized: bool) -> (u16, String) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let issuer = self.issuer();
        match (method, path) {
            ("GET", "/jwks") => (200, jwks(&self.keys.lock().unwrap()).to_string()),
            ("GET", "/.well-known/openid-configuration") => (
                200,
                json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}/jwks"),
                    "userinfo_endpoint": *self.userinfo_url.lock().unwrap(),
                })
                .to_string(),
            ),
            ("GET", "/userinfo") if authorized => (
                200,
                json!({"sub": "alice", "preferred_username": "alice-from-userinfo"}).to_string(),
            ),
            ("GET", "/userinfo") => (401, "{}".into()),
            ("POST", "/introspect") => (
                200,
                json!({"active": true, "sub": "alice", "client_id": "app-1", "exp": now + 300})
                    .to_string(),
            ),
            ("GET", p) if p.starts_with("/registrations/") => {
                let id = &p["/registrations/".len()..];
                match self.registrations.lock().unwrap().get(id) {
                    Some(reg) => (200, reg.to_string()),
                    None => (404, "{}".into()),
                }
            }
            _ => (404, "{}".into()),
        }
    }
}

pub(super) struct ServerState {
    fault: Mutex<Fault>,
    idp: Arc<Idp>,
    requests: AtomicUsize,
}

/// A loopback HTTP/1.1 server that answers correctly or with a fault.
pub(super) struct FaultServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(task) = self.accept.lock().unwrap().take() {
            task.abort();
        }
    }
}

impl FaultServer {
    pub(super) async fn start(idp: Arc<Idp>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState {
            fault: Mutex::new(Fault::Healthy),
            idp,
            requests: AtomicUsize::new(0),
        });
        let server = FaultServer {
            addr,
            state,
            accept: Mutex::new(None),
        };
        server.serve(listener);
        server
    }

    pub(super) fn serve(&self, listener: TcpListener) {
        let state = self.state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream, state.clone()));
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    pub(super) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(super) fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Switch the fault; `Refuse` closes the listening socket, leaving it
    /// opens it again on the same port.
    pub(super) async fn set(&self, fault: Fault) {
        let before = std::mem::replace(&mut *self.state.fault.lock().unwrap(), fault);
        if fault == Fault::Refuse && before != Fault::Refuse {
            let task = self.accept.lock().unwrap().take();
            if let Some(task) = task {
                task.abort();
                let _ = task.await;
            }
        } else if before == Fault::Refuse && fault != Fault::Refuse {
            let mut attempts = 0;
            let listener = loop {
                match TcpListener::bind(self.addr).await {
                    Ok(l) => break l,
                    Err(e) if attempts < 100 => {
                        attempts += 1;
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
                }
            };
            self.serve(listener);
        }
    }
}

/// Read one request: (method, path, whether it has an Authorization).
pub(super) async fn read_request(stream: &mut TcpStream) -> Option<(String, String, bool)> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.split('?').next()?.to_owned();
    let mut length = 0usize;
    let mut authorized = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        } else if name.eq_ignore_ascii_case("authorization") {
            authorized = true;
        }
    }
    // Read the body, so closing the socket does not reset the answer.
    let mut have = buf.len() - head_end;
    while have < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some((method, path, authorized))
}

pub(super) fn head(status: u16, length: Option<usize>, extra: &str) -> String {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let length = length
        .map(|l| format!("content-length: {l}\r\n"))
        .unwrap_or_default();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
         cache-control: max-age=0\r\nconnection: close\r\n{length}{extra}\r\n"
    )
}

pub(super) async fn handle(mut stream: TcpStream, state: Arc<ServerState>) {
    let Some((method, path, authorized)) = read_request(&mut stream).await else {
        return;
    };
    state.requests.fetch_add(1, Ordering::SeqCst);
    let fault = *state.fault.lock().unwrap();
    let (status, body) = state.idp.answer(&method, &path, authorized);
    pub(super) const FIFTY_MIB: usize = 50 << 20;
    match fault {
        Fault::Healthy | Fault::Refuse => {
            let _ = stream
                .write_all(format!("{}{body}", head(status, Some(body.len()), "")).as_bytes())
                .await;
        }
        Fault::Hang => {
            // Keep the connection open, say nothing, until the client gives up.
            let mut sink = [0u8; 64];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::Status500 => {
            let body = "internal error";
            let _ = stream
                .write_all(format!("{}{body}", head(500, Some(body.len()), "")).as_bytes())
                .await;
        }
        Fault::Garbage => {
            let body = "<html>\u{0}\u{7f} this is not { JSON";
            let _ = stream
                .write_all(format!("{}{body}", head(200, Some(body.len()), "")).as_bytes())
                .await;
        }
        Fault::Empty => {
            let body = if path == "/jwks" {
                r#"{"keys":[]}"#
            } else {
                "{}"
            };
            let _ = stream
                .write_all(format!("{}{body}", head(200, Some(body.len()), "")).as_bytes())
                .await;
        }
        Fault::HugeWithLength | Fault::HugeStreamed => {
            let length = (fault == Fault::HugeWithLength).then_some(FIFTY_MIB);
            if stream
                .write_all(head(200, length, "").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < FIFTY_MIB && stream.write_all(&chunk).await.is_ok() {
                sent += chunk.len();
            }
        }
        Fault::Slow => {
            let whole = format!("{}{body}", head(status, Some(body.len()), ""));
            let (head_part, body_part) = whole.split_at(whole.len() - body.len());
            if stream.write_all(head_part.as_bytes()).await.is_err() {
                return;
            }
            for byte in body_part.bytes() {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        }
        Fault::RedirectLoop => {
            let _ = stream
                .write_all(head(302, Some(0), &format!("location: {path}\r\n")).as_bytes())
                .await;
        }
        Fault::Delayed => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let _ = stream
                .write_all(format!("{}{body}", head(status, Some(body.len()), "")).as_bytes())
                .await;
        }
    }
}
