//! The apps of the sender-constraint suite, on axum and on actix-web, over
//! one registry and one mock IdP; requests over real HTTP and their
//! answers.
//!
//! Each framework serves two authenticators: `/whoami` reads client
//! certificates from a proxy's header (nginx's escaped PEM in
//! `x-ssl-client-cert`), `/tls/whoami` from the connection — where a
//! stand-in for the server's TLS acceptor puts [`TLS_CLIENT`]'s
//! certificate (axum: a `PeerCertificate` request extension; actix: the
//! connection data of `HttpServer::on_connect`).

use std::net::SocketAddr;
use std::sync::LazyLock;

use actix_web::{App, HttpResponse, HttpServer, web};
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use fedauth_tests::{builder, jwks_registration};
use serde_json::{Value, json};
use tower_fedauth::binding::{ClientCertFormat, ClientCertSource, DpopConfig, PeerCertificate};
use tower_fedauth::testkit::{ClientCert, MockIdp};
use tower_fedauth::{AuthContext, Authenticator};

/// The proxy's header of `/whoami`.
pub(super) const CERT_HEADER: &str = "x-ssl-client-cert";

/// The certificate every connection presents to the stand-in TLS acceptor.
pub(super) static TLS_CLIENT: LazyLock<ClientCert> = LazyLock::new(ClientCert::generate);

/// Every server shares it, so nonces are the same on both frameworks.
const NONCE_SECRET: &str = "the suite's nonce secret, shared by every server";

/// How often nonces change: short, for the rotation test.
pub(super) const NONCE_ROTATION_SECS: u64 = 2;

fn registry_toml(idp: &MockIdp) -> String {
    [
        jwks_registration(idp, "quid-1", ""),
        jwks_registration(idp, "quid-required", "dpop = \"required\""),
        jwks_registration(idp, "quid-off", "dpop = \"off\""),
        jwks_registration(idp, "quid-nonce", "dpop_nonce = true"),
        jwks_registration(idp, "quid-mtls", "mtls = \"required\""),
        jwks_registration(idp, "quid-no-mtls", "mtls = \"off\""),
    ]
    .concat()
}

fn authenticator(toml: &str, certs: ClientCertSource) -> Authenticator {
    let dpop = DpopConfig::default()
        .nonce_secret(NONCE_SECRET)
        .nonce_rotation(std::time::Duration::from_secs(NONCE_ROTATION_SECS));
    builder(toml).dpop(dpop).client_certificate(certs).build()
}

/// The two authenticators of one framework.
fn authenticators(toml: &str) -> (Authenticator, Authenticator) {
    let header = ClientCertSource::Header {
        name: CERT_HEADER.parse().unwrap(),
        format: ClientCertFormat::NginxEscapedPem,
    };
    (
        authenticator(toml, header),
        authenticator(toml, ClientCertSource::Connection),
    )
}

/// What both frameworks answer an accepted request with.
fn whoami(ctx: &AuthContext) -> Value {
    json!({
        "registration": ctx.registration_id(),
        "subject": ctx.subject(),
        "cnf": ctx.claims().as_map().get("cnf"),
    })
}

async fn serve_axum(toml: &str) -> SocketAddr {
    use fedauth_axum::{Auth, FedAuthLayer};
    let (by_header, by_connection) = authenticators(toml);
    let handler = || get(|Auth(ctx): Auth| async move { axum::Json(whoami(&ctx)) });
    let tls = Router::new()
        .route("/tls/whoami", handler())
        .layer(FedAuthLayer::new(by_connection))
        .layer(axum::middleware::map_request(
            |mut req: axum::extract::Request| async move {
                let der = Bytes::copy_from_slice(TLS_CLIENT.der());
                req.extensions_mut().insert(PeerCertificate(der));
                req
            },
        ));
    let router = Router::new()
        .route("/whoami", handler())
        .layer(FedAuthLayer::new(by_header))
        .merge(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// actix-web on its own thread and `System`.
fn serve_actix(toml: &str) -> (SocketAddr, actix_web::dev::ServerHandle) {
    use fedauth_actix::{Auth, FedAuth};
    let (by_header, by_connection) = authenticators(toml);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let handler = || {
                web::get()
                    .to(|Auth(ctx): Auth| async move { HttpResponse::Ok().json(whoami(&ctx)) })
            };
            let server = HttpServer::new(move || {
                App::new()
                    .service(
                        web::resource("/whoami")
                            .wrap(FedAuth::new(by_header.clone()))
                            .route(handler()),
                    )
                    .service(
                        web::resource("/tls/whoami")
                            .wrap(FedAuth::new(by_connection.clone()))
                            .route(handler()),
                    )
            })
            .on_connect(|_, data| {
                let der = Bytes::copy_from_slice(TLS_CLIENT.der());
                data.insert(PeerCertificate(der));
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

/// The IdP and both apps.
pub(super) struct Apps {
    pub(super) idp: MockIdp,
    pub(super) axum: SocketAddr,
    pub(super) actix: SocketAddr,
    actix_server: actix_web::dev::ServerHandle,
    client: reqwest::Client,
}

/// What a request got: status, headers (but `date`) in order, body.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Bytes,
}

impl Answer {
    /// Every value of header `name`.
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl Apps {
    pub(super) async fn start() -> Self {
        let idp = MockIdp::start().await;
        let toml = registry_toml(&idp);
        let axum = serve_axum(&toml).await;
        let (actix, actix_server) = serve_actix(&toml);
        Self {
            idp,
            axum,
            actix,
            actix_server,
            client: reqwest::Client::new(),
        }
    }

    pub(super) async fn send(
        &self,
        to: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("http://{to}{path}"));
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let response = req.send().await.unwrap();
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| n.as_str() != "date")
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        // Names sorted; the values of one name keep their order.
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        let body = response.bytes().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(super) async fn stop(self) {
        self.actix_server.stop(true).await;
    }
}
