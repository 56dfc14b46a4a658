//! Running the example servers as real processes, and the small HTTP
//! servers the tests point them at.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const SERVERS: [&str; 2] = [
    env!("CARGO_BIN_EXE_axum-server"),
    env!("CARGO_BIN_EXE_actix-server"),
];

/// A running server process.
pub(crate) struct Server {
    child: Child,
    pub(crate) bin: &'static str,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    stdout: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

fn spawn(bin: &'static str, args: &[&str]) -> (Child, Receiver<String>, Arc<Mutex<String>>) {
    let mut child = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let (tx, stdout) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    let sink = stderr.clone();
    let mut err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    (child, stdout, stderr)
}

impl Server {
    /// Start `bin` on a free port and wait for its `listening on` line.
    pub(crate) fn start(bin: &'static str, args: &[&str]) -> Server {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let (child, stdout, stderr) = spawn(bin, &all);
        let mut server = Server {
            child,
            bin,
            base: String::new(),
            stdout,
            stderr,
        };
        let first = server.line();
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{bin}: first line is {first:?}"));
        assert!(
            base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"),
            "{first}"
        );
        server.base = base.to_owned();
        server
    }

    /// The next line of stdout.
    pub(crate) fn line(&self) -> String {
        tokio::task::block_in_place(|| self.stdout.recv_timeout(Duration::from_secs(60)))
            .unwrap_or_else(|e| {
                panic!(
                    "{}: no line on stdout ({e}); stderr:\n{}",
                    self.bin,
                    self.logs()
                )
            })
    }

    pub(crate) fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send `signal` and wait for the exit.
    pub(crate) fn stop(mut self, signal: &str) -> ExitStatus {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit after {signal}; stderr:\n{}",
                self.bin,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) async fn get(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// What a server answered: status, the headers but `date` ordered by name
/// (a repeated header keeps its order), and the body.
pub(crate) type Answer = (u16, Vec<(String, String)>, String);

/// Send `method url` with `headers`; a name given twice is sent twice.
pub(crate) async fn send(
    client: &reqwest::Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let request = headers
        .iter()
        .fold(client.request(method, url), |r, (k, v)| r.header(*k, *v));
    let resp = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let mut kept: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(n, v)| {
            (
                n.to_string(),
                v.to_str().unwrap_or("(not ASCII)").to_owned(),
            )
        })
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    (resp.status().as_u16(), kept, resp.text().await.unwrap())
}

/// The values of header `name` in `answer`, in order.
pub(crate) fn header_values<'a>(answer: &'a Answer, name: &str) -> Vec<&'a str> {
    answer
        .1
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Both servers with `args` (and a free port), once ready.
pub(crate) async fn start_both(client: &reqwest::Client, args: &[&str]) -> Vec<Server> {
    let servers: Vec<Server> = SERVERS
        .into_iter()
        .map(|bin| Server::start(bin, args))
        .collect();
    for server in &servers {
        wait_ready(client, server).await;
    }
    servers
}

/// Stop each server with SIGTERM: each must exit with status 0.
pub(crate) fn stop_all(servers: impl IntoIterator<Item = Server>) {
    for server in servers {
        let bin = server.bin;
        assert_eq!(server.stop("-TERM").code(), Some(0), "{bin}");
    }
}

/// Poll `/ready` until it answers 200 (bounded).
pub(crate) async fn wait_ready(client: &reqwest::Client, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(client, &server.url("/ready"), &[]).await;
        match status {
            200 => return assert_eq!(body, "ready"),
            503 => assert_eq!(body, "warming up"),
            other => panic!("/ready answered {other}"),
        }
        assert!(
            Instant::now() < deadline,
            "{} never became ready; stderr:\n{}",
            server.bin,
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A server on `ip` that answers every connection with one canned HTTP
/// response and counts the connections it accepted: "the service saw no
/// request" is `hits() == 0`, stricter than counting parsed requests.
pub(crate) struct Canned {
    pub(crate) addr: std::net::SocketAddr,
    hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl Canned {
    /// Serve `status`, `headers` and the body made of the server's own
    /// address on `ip` (port 0: a free one).
    pub(crate) async fn start(
        ip: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: impl FnOnce(std::net::SocketAddr) -> String,
    ) -> Canned {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body = body(addr);
        let mut response = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            response.push_str(&format!("{k}: {v}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(&body);
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let response = response.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Canned { addr, hits }
    }

    /// Connections accepted so far.
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `http://ADDR{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Write a registry file for one test; removed when dropped.
pub(crate) struct RegistryFile(pub(crate) std::path::PathBuf);

impl RegistryFile {
    pub(crate) fn new(name: &str, toml: &str) -> RegistryFile {
        let path = std::env::temp_dir().join(format!(
            "fedauth-examples-{}-{name}.toml",
            std::process::id()
        ));
        std::fs::write(&path, toml).unwrap();
        RegistryFile(path)
    }

    pub(crate) fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for RegistryFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Assert that a refusal body tells nothing of an outgoing request: no
/// address, port, URL, status or connection error.
pub(crate) fn assert_silent_about_egress(body: &str, ports: &[u16], context: &str) {
    let lower = body.to_ascii_lowercase();
    for needle in [
        "127.",
        "localhost",
        "0x7f",
        "2130706433",
        "[::",
        "::1",
        "0.0.0.0",
        "http:",
        "https:",
        "/jwks",
        "/keys",
        "openid-configuration",
        "introspect",
        "verify",
        "refused",
        "connection",
        "timed out",
        "egress",
        "redirect",
        " 500",
        " 404",
        " 302",
        "http 5",
        "http 4",
        "http 3",
    ] {
        assert!(
            !lower.contains(needle),
            "{context}: the body names `{needle}`: {body}"
        );
    }
    for port in ports {
        assert!(
            !body.contains(&port.to_string()),
            "{context}: the body names port {port}: {body}"
        );
    }
}
