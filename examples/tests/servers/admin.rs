//! What the admin API's process tests share: the servers started with
//! `--admin-token` over a registry file or a PostgreSQL database, a client
//! of `/admin/v1`, and federated calls with a token of a mock IdP.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tower_fedauth::testkit::MockIdp;

use crate::harness::{Server, json};

/// The platform admin's token (`--admin-token`).
pub(crate) const ADMIN: &str = "platform-admin-token-0123456789";
/// The property whose admin is [`P7_TOKEN`].
pub(crate) const P7: &str = "property-7";
/// `--property-admin property-7=…`.
pub(crate) const P7_TOKEN: &str = "property-7-admin-token-abcdef";
/// `--property-admin property-42=…`.
pub(crate) const P42_TOKEN: &str = "property-42-admin-token-uvwxyz";

/// A directory of one test, removed when dropped.
pub(crate) struct Dir(PathBuf);

impl Dir {
    pub(crate) fn new(name: &str) -> Dir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fedauth-admin-{}-{}-{name}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// `name` in the directory.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A registry file `name` holding `content`; its path.
    pub(crate) fn registry(&self, name: &str, content: &str) -> String {
        let path = self.join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bytes of a file (empty when it does not exist).
pub(crate) fn bytes(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// `bin` serving the admin API: `store` is `["--registry", FILE]` or
/// `["--database-url", URL]`; the mock IdPs on 127.0.0.1 are reachable
/// (`--allow-http --allow-network 127.0.0.0/8`); one platform admin and
/// the admins of property-7 and property-42.
pub(crate) fn start(bin: &'static str, store: &[&str]) -> Server {
    start_with(
        bin,
        store,
        &["--allow-http", "--allow-network", "127.0.0.0/8"],
    )
}

/// As [`start`], with `egress` flags instead of the local network.
pub(crate) fn start_with(bin: &'static str, store: &[&str], egress: &[&str]) -> Server {
    let p7 = format!("{P7}={P7_TOKEN}");
    let p42 = format!("property-42={P42_TOKEN}");
    let mut args: Vec<&str> = store.to_vec();
    args.extend_from_slice(egress);
    args.extend_from_slice(&["--admin-token", ADMIN]);
    args.extend_from_slice(&["--property-admin", &p7, "--property-admin", &p42]);
    Server::start(bin, &args)
}

/// `bin` on a registry file `name` holding `content`, in a directory of
/// its own: the directory, the file's path and the server.
pub(crate) fn on_file(bin: &'static str, name: &str, content: &str) -> (Dir, String, Server) {
    let dir = Dir::new(name);
    let path = dir.registry(name, content);
    let server = start(bin, &["--registry", &path]);
    (dir, path, server)
}

/// An answer of the admin API.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    /// The JSON body; `Null` when empty.
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn etag(&self) -> String {
        self.header("etag")
            .unwrap_or_else(|| panic!("no ETag: {self:?}"))
            .to_owned()
    }

    /// Asserts a refusal: status, `code`, JSON, and each detail's
    /// `(param, location, msg)` in order (`msg` may stop short: serde's
    /// "expected one of" lists grow with the registry format).
    pub(crate) fn refused(&self, status: u16, code: &str, details: &[(&str, &str, &str)]) {
        assert_eq!(
            (self.status, self.body["code"].as_str()),
            (status, Some(code)),
            "{self:?}"
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let got = self.body["details"]
            .as_array()
            .unwrap_or_else(|| panic!("no details: {self:?}"));
        assert_eq!(got.len(), details.len(), "{self:?}");
        for (detail, (param, location, msg)) in got.iter().zip(details) {
            assert_eq!(
                (
                    detail["param"].as_str().unwrap_or("null"),
                    detail["location"].as_str()
                ),
                (*param, Some(*location)),
                "{self:?}"
            );
            let text = detail["msg"].as_str().unwrap_or_default();
            assert!(text.starts_with(msg), "{param}: {text:?} is not {msg:?}");
        }
    }
}

/// A client of one server's `/admin/v1`.
pub(crate) struct Admin {
    client: reqwest::Client,
    base: String,
}

impl Admin {
    pub(crate) fn of(server: &Server) -> Admin {
        Admin {
            client: reqwest::Client::new(),
            base: server.url("/admin/v1"),
        }
    }

    /// `method` on `path` (below `/admin/v1`), as `token`, with extra
    /// `headers` and a raw body of `content_type`.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, body)) = body {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            json(&text)
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path` as `token`.
    pub(crate) async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), &[], None).await
    }

    /// `method path` as `token` with a JSON body.
    pub(crate) async fn json(&self, method: &str, path: &str, token: &str, body: &Value) -> Reply {
        let bytes = body.to_string().into_bytes();
        let body = Some(("application/json", bytes));
        self.send(method, path, Some(token), &[], body).await
    }

    /// `PATCH /registrations/{id}` (a merge patch) with `If-Match`.
    pub(crate) async fn patch(&self, id: &str, if_match: Option<&str>, patch: &Value) -> Reply {
        let headers: Vec<(&str, &str)> = if_match.map(|e| ("if-match", e)).into_iter().collect();
        let body = Some((
            "application/merge-patch+json",
            patch.to_string().into_bytes(),
        ));
        let path = format!("/registrations/{id}");
        self.send("PATCH", &path, Some(ADMIN), &headers, body).await
    }

    /// `PUT /properties/{property}/registrations/{id}` as `token`.
    pub(crate) async fn enable(
        &self,
        property: &str,
        id: &str,
        token: &str,
        roles: &[&str],
    ) -> Reply {
        let path = format!("/properties/{property}/registrations/{id}");
        self.json("PUT", &path, token, &json!({ "roles": roles }))
            .await
    }

    /// `POST /registrations` as the platform admin; asserts `201` and
    /// returns the id and the answer.
    pub(crate) async fn create(&self, document: &Value) -> (String, Reply) {
        let reply = self.json("POST", "/registrations", ADMIN, document).await;
        assert_eq!(reply.status, 201, "{reply:?}");
        let id = reply.body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            reply.header("location"),
            Some(format!("/admin/v1/registrations/{id}").as_str())
        );
        (id, reply)
    }

    /// The actions of the whole audit log, newest first.
    pub(crate) async fn actions(&self) -> Vec<String> {
        let items = self.audit("").await;
        items
            .iter()
            .map(|i| i["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `GET /audit?{query}` as the platform admin: the items.
    pub(crate) async fn audit(&self, query: &str) -> Vec<Value> {
        let reply = self.get(&format!("/audit?{query}"), ADMIN).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body["items"].as_array().unwrap().clone()
    }
}

/// A QUID as the server issues them: `quid-` and 160 random bits in
/// lower-case base32 (32 characters).
pub(crate) fn assert_quid(id: &str) {
    let bits = id.strip_prefix("quid-").unwrap_or_else(|| panic!("{id}"));
    assert_eq!(bits.len(), 32, "{id}");
    assert!(
        bits.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
        "{id}"
    );
}

/// A registration of `idp` as seed 000 has it: client id and JWKS URL
/// (and its issuer), named `name`.
pub(crate) fn jwks_document(idp: &MockIdp, name: &str) -> Value {
    json!({
        "name": name,
        "provider": "jwks",
        "client_id": idp.client_id(),
        "issuer": idp.issuer(),
        "jwks_uri": idp.jwks_uri(),
    })
}

/// A token of `idp` for alice, valid for an hour.
pub(crate) fn token(idp: &MockIdp) -> String {
    idp.token()
        .claim("preferred_username", "alice")
        .expires_in(3600)
        .sign(&idp.signing_key())
}

/// A federated call: `GET path` with `token` for registration `id`.
pub(crate) async fn call(server: &Server, path: &str, token: &str, id: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token)
        .header("x-sc-auth", id)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, json(&response.text().await.unwrap()))
}

/// A federated call's outcome: its status and `code`, or its roles when
/// it passed.
pub(crate) async fn outcome(server: &Server, path: &str, token: &str, id: &str) -> (u16, Value) {
    let (status, body) = call(server, path, token, id).await;
    match status {
        200 => (status, body["roles"].clone()),
        _ => (status, body["code"].clone()),
    }
}
