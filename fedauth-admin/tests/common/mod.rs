//! The admin API served for real on 127.0.0.1 by axum and by actix-web,
//! over the memory store, with a mock IdP (real keys) behind the test
//! egress policy; a client that calls it and reads the answers.

#![allow(dead_code)] // Each test binary uses a part.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fedauth_admin::store::{
    Actor, AdminStore, AuditAction, AuditQuery, AuditRecord, Change, MemoryStore, Precondition,
    StoreError, Stored,
};
use fedauth_admin::{AdminApi, StaticTokens};
use reqwest::Method;
use serde_json::{Value, json};
use tower_fedauth::testkit::{MockIdp, local_egress};

/// The platform admin's token.
pub const PLATFORM: &str = "platform-admin-token-0123456789";
/// Property 1 and its admin's token.
pub const P1: &str = "property-1";
pub const P1_TOKEN: &str = "property-1-admin-token";
/// Property 2 and its admin's token.
pub const P2: &str = "property-2";
pub const P2_TOKEN: &str = "property-2-admin-token";
/// What the failing store says (must never reach a response).
pub const STORE_FAILURE: &str = "disk failure at /srv/secret/registry.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Axum,
    Actix,
}

/// The memory store, with faults a test can turn on: every call fails,
/// or the next `race` writes find the registration changed by someone
/// else just before.
pub struct Faulty {
    pub inner: Arc<MemoryStore>,
    pub down: AtomicBool,
    pub race: AtomicUsize,
}

impl Faulty {
    fn check(&self) -> Result<(), StoreError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(StoreError::Unavailable(STORE_FAILURE.into())),
            false => Ok(()),
        }
    }
}

#[async_trait]
impl AdminStore for Faulty {
    async fn get(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        self.check()?;
        self.inner.get(id).await
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, StoreError> {
        self.check()?;
        self.inner.list(after, limit).await
    }
    async fn enabled_in(&self, property: &str) -> Result<Vec<Stored>, StoreError> {
        self.check()?;
        self.inner.enabled_in(property).await
    }
    async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        self.check()?;
        let racing = self
            .race
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if racing && let Some(current) = self.inner.get(&change.id).await? {
            // Another writer changes the registration first.
            let mut doc = current.document.clone();
            let n = self.race.load(Ordering::SeqCst);
            doc.insert(
                "name".into(),
                json!(format!("changed by another writer {n}")),
            );
            let audit =
                AuditRecord::new(Actor::Platform, AuditAction::RegistrationUpdate, &change.id);
            let other = Change::new(&change.id, Precondition::Exists, Some(doc), audit);
            self.inner.apply(other).await?;
        }
        self.inner.apply(change).await
    }
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.check()?;
        self.inner.audit(query).await
    }
}

/// One framework serving one API over one store.
pub struct Fixture {
    pub framework: Framework,
    pub base: String,
    pub store: Arc<Faulty>,
    /// Ids the `on_change` hook was called with, in order.
    pub changes: Arc<Mutex<Vec<String>>>,
    pub idp: MockIdp,
    client: reqwest::Client,
    actix: Option<actix_web::dev::ServerHandle>,
}

/// Runs `test` against a fresh fixture on axum, then on actix-web.
pub async fn on_both(test: impl AsyncFn(&Fixture)) {
    for framework in [Framework::Axum, Framework::Actix] {
        eprintln!("--- {framework:?}");
        let fx = Fixture::start(framework).await;
        test(&fx).await;
        fx.stop().await;
    }
}

/// The API as the tests build it: static tokens, the local egress policy,
/// a hook that records changes after a pause (so a hook that ran after
/// the answer would not be seen by it).
fn api(store: Arc<Faulty>, changes: Arc<Mutex<Vec<String>>>) -> Arc<AdminApi> {
    let tokens = StaticTokens::new(PLATFORM)
        .property_admin(P1, P1_TOKEN)
        .property_admin(P2, P2_TOKEN);
    let api = AdminApi::builder(store, Arc::new(tokens))
        .egress(local_egress())
        .on_change(move |id| {
            std::thread::sleep(Duration::from_millis(20));
            changes.lock().unwrap().push(id.to_owned());
        })
        .build();
    Arc::new(api)
}

async fn serve_axum(api: Arc<AdminApi>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = fedauth_admin::axum::router(api);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// actix-web on its own thread and `System`; the test runtime is tokio's.
fn serve_actix(api: Arc<AdminApi>) -> (SocketAddr, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new().service(fedauth_admin::actix::scope(api.clone()))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)
            .unwrap()
            .run();
            tx.send(server.handle()).unwrap();
            server.await
        })
    });
    (addr, rx.recv().unwrap())
}

impl Fixture {
    pub async fn start(framework: Framework) -> Fixture {
        let store = Arc::new(Faulty {
            inner: Arc::new(MemoryStore::new()),
            down: AtomicBool::new(false),
            race: AtomicUsize::new(0),
        });
        let changes = Arc::new(Mutex::new(Vec::new()));
        let api = api(store.clone(), changes.clone());
        let (addr, actix) = match framework {
            Framework::Axum => (serve_axum(api).await, None),
            Framework::Actix => {
                let (addr, handle) = serve_actix(api);
                (addr, Some(handle))
            }
        };
        Fixture {
            framework,
            base: format!("http://{addr}"),
            store,
            changes,
            idp: MockIdp::start().await,
            client: reqwest::Client::new(),
            actix,
        }
    }

    pub async fn stop(self) {
        if let Some(handle) = self.actix {
            handle.stop(false).await;
        }
    }

    /// A request as the platform admin.
    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            fx: self,
            builder: self.client.request(method, format!("{}{path}", self.base)),
            token: Some(PLATFORM.to_owned()),
        }
    }

    /// A registration of the mock IdP by discovery from its issuer.
    pub fn oidc_doc(&self) -> Value {
        json!({"name": "Demo app", "issuer": self.idp.issuer(), "client_id": "app-1"})
    }

    /// Create `doc` (as the platform admin, checked against the IdP):
    /// its id and `ETag`.
    pub async fn create(&self, doc: &Value) -> (String, String) {
        let a = self
            .req(Method::POST, "/admin/v1/registrations")
            .json(doc)
            .send()
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        let id = a.body["id"].as_str().unwrap().to_owned();
        (id, a.header("etag").unwrap().to_owned())
    }

    /// The registration as stored (real secrets).
    pub async fn stored(&self, id: &str) -> Option<Stored> {
        self.store.inner.get(id).await.unwrap()
    }

    /// How many registrations are stored.
    pub async fn count(&self) -> usize {
        self.store.inner.list(None, 1000).await.unwrap().len()
    }

    /// The whole audit log, newest first.
    pub async fn audit_log(&self) -> Vec<AuditRecord> {
        self.store
            .inner
            .audit(&AuditQuery::new(1000))
            .await
            .unwrap()
    }

    pub fn changes(&self) -> Vec<String> {
        self.changes.lock().unwrap().clone()
    }
}

/// A request being built.
pub struct Req<'f> {
    fx: &'f Fixture,
    builder: reqwest::RequestBuilder,
    token: Option<String>,
}

impl Req<'_> {
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    pub fn no_token(mut self) -> Self {
        self.token = None;
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.builder = self
            .builder
            .header("content-type", content_type)
            .body(body.into());
        self
    }
    pub fn json(self, body: &Value) -> Self {
        self.body("application/json", body.to_string())
    }
    pub fn merge(self, body: &Value) -> Self {
        self.body("application/merge-patch+json", body.to_string())
    }
    pub async fn send(self) -> Answer {
        let mut builder = self.builder;
        if let Some(token) = self.token {
            builder = builder.bearer_auth(token);
        }
        let resp = builder.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = match text.is_empty() {
            true => Value::Null,
            false => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
        };
        let _ = self.fx;
        Answer {
            status,
            headers,
            body,
            text,
        }
    }
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a refusal: status, code, and the `(param, location)` of
    /// each detail, in order.
    pub fn refused(&self, status: u16, code: &str, details: &[(Option<&str>, &str)]) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.text
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let got: Vec<(Option<&str>, &str)> = self.body["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["param"].as_str(), d["location"].as_str().unwrap()))
            .collect();
        assert_eq!(got, details, "{}", self.text);
    }
}
