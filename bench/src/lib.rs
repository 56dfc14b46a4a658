//! Benchmarks of `tower-fedauth` (issue 7): the criterion benches
//! (`benches/verify.rs`), the key-set load run (`keyset-load`), the
//! token-cache memory run (`token-rss`), the throughput run
//! (`scripts/load.sh` with `idp` and `baseline-server`), the run against
//! jwt-authorizer (`scripts/vs-jwt-authorizer.sh` with
//! `jwt-authorizer-server`) and the report (`bench-report`). This library
//! holds their shared set-up: a mock IdP per algorithm, a registration
//! checking issuer and audience, an authenticator and the layer around a
//! trivial handler, and jwt-authorizer checking the same.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Empty;
use jwt_authorizer::{Authorizer, JwtAuthorizer};
use serde::de::DeserializeOwned;
use serde_json::json;
use tower::ServiceExt as _;
use tower_fedauth::keys::CachePolicy;
use tower_fedauth::registration::{Provider, Registration};
use tower_fedauth::registry::InMemoryRegistry;
use tower_fedauth::testkit::{MockIdp, TestKey};
use tower_fedauth::{Authenticator, FedAuthLayer, TokenCacheConfig};

mod baseline;
pub use baseline::baseline_router;

/// The registration id every benchmark uses (the `x-sc-auth` value).
pub const REGISTRATION: &str = "bench";

/// The audience (client id) of every benchmark token.
pub const AUDIENCE: &str = tower_fedauth::testkit::DEFAULT_CLIENT_ID;

/// The signature algorithms the benches compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit key.
    Rs256,
    /// RSASSA-PSS with SHA-256, 2048-bit key.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// Every algorithm, in report order.
    pub const ALL: [Alg; 4] = [Alg::Rs256, Alg::Ps256, Alg::Es256, Alg::EdDsa];

    /// The JWS `alg` name (also the criterion group name).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// Parse a JWS `alg` name.
    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The `jsonwebtoken` algorithm.
    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::Rs256 => jsonwebtoken::Algorithm::RS256,
            Alg::Ps256 => jsonwebtoken::Algorithm::PS256,
            Alg::Es256 => jsonwebtoken::Algorithm::ES256,
            Alg::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// A fresh key of the right kind.
    pub fn key(self, kid: &str) -> TestKey {
        match self {
            Alg::Rs256 | Alg::Ps256 => TestKey::rsa(kid),
            Alg::Es256 => TestKey::ec_p256(kid),
            Alg::EdDsa => TestKey::ed25519(kid),
        }
    }
}

/// A mock IdP serving one key for `alg`, and that key.
///
/// The JWK carries `"alg"` = `alg` (the test kit's default for an RSA key
/// is RS256, so PS256 gets a hand-written JWKS).
pub async fn start_idp(alg: Alg) -> (MockIdp, TestKey) {
    let key = alg.key(&format!("{}-1", alg.name().to_ascii_lowercase()));
    let idp = MockIdp::start_with_keys(vec![key.clone()]).await;
    if alg == Alg::Ps256 {
        let jwks = json!({ "keys": [key.public_jwk_with_alg(Some("PS256"))] });
        idp.set_raw_jwks(Some(jwks.to_string()));
    }
    (idp, key)
}

/// A token of `idp` signed with `alg`: `iss`, `aud` = [`AUDIENCE`], `sub`,
/// `iat`, `exp` = now + `ttl_secs`, and `jti` if given.
pub fn mint(idp: &MockIdp, key: &TestKey, alg: Alg, ttl_secs: i64, jti: Option<&str>) -> String {
    let mut builder = idp
        .token()
        .alg(alg.name())
        .expires_in(ttl_secs)
        .claim("scope", "read write");
    if let Some(jti) = jti {
        builder = builder.claim("jti", jti);
    }
    builder.sign(key)
}

/// The `jwks` registration [`REGISTRATION`] of `idp`: issuer and audience
/// checked, exactly `alg` allowed.
///
/// # Panics
/// If the registration does not validate (a bug in the bench).
pub fn registration(idp: &MockIdp, alg: Alg) -> Registration {
    Registration::builder(REGISTRATION, Provider::Jwks)
        .name("Benchmark application")
        .client_id(AUDIENCE)
        .issuer(idp.issuer())
        .jwks_uri(idp.jwks_uri())
        .algorithms([alg.jwt()])
        .roles(["reader"])
        .build()
        .expect("bench registration validates")
}

/// An authenticator over [`registration`] with the default key-cache
/// policy, `http://` allowed (the mock IdP is plain http on loopback) and
/// the given token cache.
///
/// # Panics
/// If the registry refuses the registration.
pub fn authenticator(idp: &MockIdp, alg: Alg, token_cache: TokenCacheConfig) -> Authenticator {
    let registry = InMemoryRegistry::new(vec![registration(idp, alg)]).expect("registry");
    Authenticator::builder(registry)
        .egress(tower_fedauth::testkit::local_egress())
        .key_cache(CachePolicy::default())
        .token_cache(token_cache)
        .build()
}

/// Fetch the bench registration's keys before measuring.
///
/// # Panics
/// If the warm-up fails (the mock IdP did not answer).
pub async fn warm_up(auth: &Authenticator) {
    let report = auth.warm_up([REGISTRATION], Duration::from_secs(30)).await;
    assert!(
        report.failed.is_empty(),
        "warm-up failed: {:?}",
        report.failed
    );
}

/// The registry file (TOML) of [`registration`], for the example server.
pub fn registry_toml(idp: &MockIdp, alg: Alg) -> String {
    format!(
        "[[registrations]]\nid = \"{REGISTRATION}\"\nname = \"Benchmark application\"\n\
         provider = \"jwks\"\nclient_id = \"{AUDIENCE}\"\nissuer = \"{}\"\n\
         jwks_uri = \"{}\"\nalgorithms = [\"{}\"]\nroles = [\"reader\"]\n",
        idp.issuer(),
        idp.jwks_uri(),
        alg.name()
    )
}

/// jwt-authorizer 0.15 (the comparison, on axum 0.7) built from the
/// public key `pem` of `alg`, requiring `issuer` and `audience`, with its
/// claims as `C`.
///
/// # Errors
/// What jwt-authorizer says of the key.
pub async fn jwt_authorizer<C>(
    alg: Alg,
    pem: &str,
    issuer: &str,
    audience: &str,
) -> Result<Authorizer<C>, String>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let builder = match alg {
        Alg::Rs256 | Alg::Ps256 => JwtAuthorizer::<C>::from_rsa_pem_text(pem),
        Alg::Es256 => JwtAuthorizer::from_ec_pem_text(pem),
        Alg::EdDsa => JwtAuthorizer::from_ed_pem_text(pem),
    };
    builder
        .validation(
            jwt_authorizer::Validation::new()
                .iss(&[issuer])
                .aud(&[audience]),
        )
        .build()
        .await
        .map_err(|e| format!("jwt-authorizer: {e}"))
}

/// jwt-authorizer's layer around a trivial axum 0.7 handler (`200 OK`,
/// empty body).
pub fn jwt_authorizer_service<C>(
    authorizer: Authorizer<C>,
) -> impl tower::Service<
    Request<axum07::body::Body>,
    Response = axum07::response::Response,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    use jwt_authorizer::IntoLayer as _;
    tower::ServiceBuilder::new()
        .layer(authorizer.into_layer())
        .service(tower::service_fn(
            |_req: Request<axum07::body::Body>| async {
                Ok::<_, Infallible>(axum07::response::Response::new(axum07::body::Body::empty()))
            },
        ))
}

/// The trivial handler: `200 OK`, empty body.
pub async fn ok_handler<B>(_req: Request<B>) -> Result<Response<Empty<Bytes>>, Infallible> {
    Ok(Response::new(Empty::new()))
}

/// `FedAuthLayer` around [`ok_handler`].
pub fn service(
    auth: Authenticator,
) -> impl tower::Service<
    Request<Empty<Bytes>>,
    Response = Response<tower_fedauth::ResponseBody<Empty<Bytes>>>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    tower::ServiceBuilder::new()
        .layer(FedAuthLayer::new(auth))
        .service(tower::service_fn(ok_handler::<Empty<Bytes>>))
}

/// The two request headers, built once: `Authorization: Bearer <token>`
/// and `x-sc-auth: bench`.
#[derive(Clone, Debug)]
pub struct Headers {
    /// `Bearer <token>`.
    pub authorization: HeaderValue,
    /// [`REGISTRATION`].
    pub registration: HeaderValue,
}

impl Headers {
    /// The headers for `token`.
    ///
    /// # Panics
    /// If the token is not a valid header value.
    pub fn new(token: &str) -> Self {
        Self {
            authorization: HeaderValue::try_from(format!("Bearer {token}"))
                .expect("token is a header value"),
            registration: HeaderValue::from_static(REGISTRATION),
        }
    }

    /// `GET /whoami` with these headers (cloning a header value is a
    /// reference-count increment) and body `body`.
    pub fn request<B>(&self, body: B) -> Request<B> {
        let mut req = Request::new(body);
        *req.uri_mut() = http::Uri::from_static("/whoami");
        let headers = req.headers_mut();
        headers.insert(http::header::AUTHORIZATION, self.authorization.clone());
        headers.insert("x-sc-auth", self.registration.clone());
        req
    }
}

/// One request through `svc`; the status.
pub async fn call<S>(svc: &S, headers: &Headers) -> StatusCode
where
    S: tower::Service<
            Request<Empty<Bytes>>,
            Response = Response<tower_fedauth::ResponseBody<Empty<Bytes>>>,
            Error = Infallible,
        > + Clone,
{
    match svc.clone().oneshot(headers.request(Empty::new())).await {
        Ok(response) => response.status(),
        Err(never) => match never {},
    }
}

/// The `main` of the bench's servers: the command line from `parse`
/// (exit status 2 when it is wrong), logs to stderr as the example servers
/// log, then `run` on a multi-threaded Tokio runtime (exit status 1 with
/// its error, prefixed by `name`).
pub fn server_main<A, F>(
    name: &str,
    parse: impl FnOnce() -> Result<A, String>,
    run: impl FnOnce(A) -> F,
) -> ExitCode
where
    F: Future<Output = Result<(), String>>,
{
    let args = match parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    fedauth_examples::init_tracing();
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
        .and_then(|runtime| runtime.block_on(run(args)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A listener on `addr`, announced as the example servers announce theirs
/// (`listening on http://ADDR`, which the scripts wait for).
///
/// # Errors
/// When the address cannot be bound.
pub async fn listen(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    fedauth_examples::announce(bound, None);
    Ok(listener)
}

/// The resident set of this process in KiB (`VmRSS` of
/// `/proc/self/status`), `None` where there is no such file.
pub fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A duration in µs with two decimals, or ms above 10 ms.
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.2} µs")
    }
}
