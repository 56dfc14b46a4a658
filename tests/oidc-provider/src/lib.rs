//! A real OpenID provider for tests: node `oidc-provider`, run from
//! `server.js` beside this crate. One crate of its own so that both the
//! integration suite (`fedauth-tests`) and the example servers' process
//! tests (`fedauth-examples`, which `fedauth-tests` depends on) can start
//! it without a dependency cycle; it depends on no fedauth crate.
//!
//! It issues RFC 9068 JWT access tokens (`typ: at+jwt`) through the
//! client-credentials grant for one resource indicator (RFC 8707),
//! [`RESOURCE`], to one client, [`CLIENT_ID`]: the shape of the access
//! tokens Auth0, Okta and Entra ID issue for an API, from a provider that
//! fedauth's code did not shape. With a DPoP proof (RFC 9449) the token is
//! DPoP-bound ([`OidcProvider::dpop_access_token`]): `cnf.jkt` names the
//! proof's key, and the provider requires its server nonce on the proof.
//!
//! [`OidcProvider::start`] spawns `node` on 127.0.0.1 (a port the system
//! picks) and waits for its `listening on` line; dropping the handle kills
//! the process, and the provider also exits when its parent does, so a
//! test process that dies leaves nothing behind. No node, or no
//! `npm ci` of `tests/oidc-provider`, is a failure, never a skip:
//! `scripts/test.sh` installs both.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use http::StatusCode;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The resource indicator the provider issues tokens for (the platform's
/// API identifier, the token's `aud`).
pub const RESOURCE: &str = "https://api.platform.example";
/// The provider's one client (`client_credentials`, `client_secret_basic`).
pub const CLIENT_ID: &str = "app-api-1";
/// That client's secret (as in `server.js`).
const CLIENT_SECRET: &str = "app-api-1-secret";
/// How long the provider may take to start (node loads ~40 modules and
/// generates an RSA key).
const STARTUP: Duration = Duration::from_secs(30);
/// How much of the provider's stderr is kept for failure messages.
const STDERR_CAP: usize = 16 * 1024;

/// A running provider; dropping it kills the process.
#[derive(Debug)]
pub struct OidcProvider {
    child: Child,
    issuer: String,
    stderr: Arc<Mutex<String>>,
}

impl OidcProvider {
    /// Start the provider and wait until it listens. Panics, with what to
    /// do, when node or the package is missing or it does not start.
    pub async fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the test OpenID provider is not installed: run \
             `npm ci --prefix tests/oidc-provider` (scripts/test.sh does)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("server.js"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run `node` ({e}): Node.js 20 or later is required by these tests \
                     (scripts/test.sh checks for it)"
                )
            });
        let stderr = Arc::new(Mutex::new(String::new()));
        drain_stderr(child.stderr.take().expect("piped stderr"), stderr.clone());
        let ready = read_listening_line(child.stdout.take().expect("piped stdout"));
        let mut provider = Self {
            child,
            issuer: String::new(),
            stderr,
        };
        let line = tokio::task::spawn_blocking(move || ready.recv_timeout(STARTUP))
            .await
            .expect("waiting for the provider");
        match line {
            Ok(issuer) => provider.issuer = issuer,
            Err(_) => {
                let status = provider.child.try_wait().ok().flatten();
                panic!(
                    "the test OpenID provider did not print `listening on` within {STARTUP:?} \
                     (exit status: {status:?}); its stderr:\n{}",
                    provider.stderr_text()
                )
            }
        }
        provider
    }

    /// Its issuer: its own base URL, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A client-credentials access token of [`CLIENT_ID`] for `resource`
    /// with `scope`, from the token endpoint its discovery document names.
    pub async fn access_token(&self, resource: &str, scope: &str) -> String {
        let endpoint = self.token_endpoint().await;
        let (status, _, answer) = self.token_request(&endpoint, resource, scope, None).await;
        assert_eq!(status, StatusCode::OK, "token endpoint answered {answer}");
        assert_eq!(answer["token_type"], "Bearer", "{answer}");
        access_token_of(&answer)
    }

    /// A DPoP-bound client-credentials access token of [`CLIENT_ID`] for
    /// `resource` with `scope`: `proof(htu, nonce)` must return a DPoP proof
    /// (RFC 9449 §4.2) for `POST htu` signed with the key the token is to be
    /// bound to, carrying `nonce` when one is given. The provider requires
    /// its nonce: the first request is answered 400 `use_dpop_nonce` with a
    /// `DPoP-Nonce` header, and a second proof carrying it gets the token.
    pub async fn dpop_access_token(
        &self,
        resource: &str,
        scope: &str,
        mut proof: impl FnMut(&str, Option<&str>) -> String,
    ) -> DpopGrant {
        let endpoint = self.token_endpoint().await;
        let first = proof(&endpoint, None);
        let (status, headers, answer) = self
            .token_request(&endpoint, resource, scope, Some(&first))
            .await;
        let (status, answer, nonce) = match status {
            StatusCode::BAD_REQUEST if answer["error"] == "use_dpop_nonce" => {
                let nonce = headers
                    .get("dpop-nonce")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("use_dpop_nonce without a DPoP-Nonce header"))
                    .to_owned();
                let second = proof(&endpoint, Some(&nonce));
                let (status, _, answer) = self
                    .token_request(&endpoint, resource, scope, Some(&second))
                    .await;
                (status, answer, Some(nonce))
            }
            _ => (status, answer, None),
        };
        assert_eq!(status, StatusCode::OK, "token endpoint answered {answer}");
        assert_eq!(answer["token_type"], "DPoP", "{answer}");
        DpopGrant {
            access_token: access_token_of(&answer),
            nonce,
        }
    }

    /// The token endpoint its discovery document names.
    async fn token_endpoint(&self) -> String {
        let client = http_client();
        let discovery = format!("{}/.well-known/openid-configuration", self.issuer);
        let (status, _, metadata) = self.send(client.get(discovery)).await;
        assert_eq!(status, StatusCode::OK, "discovery answered {metadata}");
        metadata["token_endpoint"]
            .as_str()
            .expect("token_endpoint in the discovery document")
            .to_owned()
    }

    /// A client-credentials request for `resource` and `scope`, with a
    /// `DPoP` header when `proof` is given.
    async fn token_request(
        &self,
        endpoint: &str,
        resource: &str,
        scope: &str,
        proof: Option<&str>,
    ) -> (StatusCode, http::HeaderMap, Value) {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("resource", resource)
            .append_pair("scope", scope)
            .finish();
        let mut request = http_client()
            .post(endpoint)
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        self.send(request).await
    }

    /// Send `request`: its status, headers and JSON body.
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, http::HeaderMap, Value) {
        let response = request.send().await.unwrap_or_else(|e| {
            panic!(
                "the test OpenID provider did not answer: {e}; its stderr:\n{}",
                self.stderr_text()
            )
        });
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("provider answer body");
        let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
        (status, headers, json)
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What [`OidcProvider::dpop_access_token`] obtained.
#[derive(Debug, Clone)]
pub struct DpopGrant {
    /// The access token (`token_type: DPoP`), bound to the proof's key.
    pub access_token: String,
    /// The `DPoP-Nonce` the provider asked for before it issued the token.
    pub nonce: Option<String>,
}

/// A client that never goes through a proxy: the provider is on 127.0.0.1.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// The `access_token` of a token response.
fn access_token_of(answer: &Value) -> String {
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no access_token in {answer}"))
        .to_owned()
}

/// A JWT's header and claims, decoded without verifying anything: what the
/// provider put in its token, for assertions about the token itself.
pub fn decode_unverified(token: &str) -> (Value, Value) {
    let part = |p: &str| -> Value {
        let bytes = URL_SAFE_NO_PAD.decode(p).expect("base64url JWT part");
        serde_json::from_slice(&bytes).expect("JSON JWT part")
    };
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("not a compact JWS (three parts)");
    };
    (part(header), part(claims))
}

/// Read the provider's stdout on a thread: the URL of its first
/// `listening on URL` line goes to the channel, the rest is drained (a full
/// pipe would block it). The channel closes if the process exits first.
fn read_listening_line(stdout: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    rx
}

/// Keep the first [`STDERR_CAP`] bytes of the provider's stderr for failure
/// messages, and drain the rest.
fn drain_stderr(stderr: impl Read + Send + 'static, into: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut kept) = into.lock() {
                if kept.len() + line.len() < STDERR_CAP {
                    kept.push_str(&line);
                    kept.push('\n');
                }
            }
        }
    });
}
