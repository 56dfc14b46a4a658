//! The other side of `scripts/vs-jwt-authorizer.sh`: jwt-authorizer 0.15
//! on axum 0.7, verifying the benchmark tokens with the same public key,
//! issuer and audience as the example server, and answering `/whoami`
//! with a JSON of the same shape (registration, client, issuer, subject,
//! roles, principal, the claims), serialised per request from the claims
//! the layer verified. The claims are an `Arc<Value>`, so the
//! `JwtClaims` extractor's copy is a reference count, as the example
//! server's context is borrowed.
//!
//! ```text
//! jwt-authorizer-server --pem FILE --alg RS256|PS256|ES256|EdDSA --issuer URL
//!     [--audience AUD] [--body FILE] [--listen ADDR]
//! ```
//!
//! Routes: `/whoami` behind the layer; `/public/whoami`, no layer,
//! answering `--body` (a JSON file: the script passes the example server's
//! own `/whoami` answer) serialised per request, as `baseline-server`
//! does; `/health`. Prints `listening on http://ADDR`, then serves until
//! SIGINT / SIGTERM. Logs filtered by `RUST_LOG` (the script sets `warn`
//! for every server); no metrics recorder.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum07::extract::State;
use axum07::response::{IntoResponse, Response};
use axum07::routing::get;
use axum07::{Json, Router};
use fedauth_bench::{AUDIENCE, Alg, REGISTRATION, jwt_authorizer};
use fedauth_examples::DEFAULT_LISTEN;
use jwt_authorizer::{IntoLayer, JwtClaims};
use serde::Serialize;
use serde_json::Value;

struct Args {
    pem: PathBuf,
    alg: Alg,
    issuer: String,
    audience: String,
    body: Option<PathBuf>,
    listen: SocketAddr,
}

fn parse_args() -> Result<Args, String> {
    let (mut pem, mut alg, mut issuer, mut body) = (None, None, None, None);
    let mut audience = AUDIENCE.to_owned();
    let mut listen: SocketAddr = DEFAULT_LISTEN.parse().map_err(|e| format!("{e}"))?;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--pem" => pem = Some(PathBuf::from(value()?)),
            "--alg" => {
                let v = value()?;
                alg = Some(Alg::parse(&v).ok_or_else(|| format!("--alg: unknown `{v}`"))?);
            }
            "--issuer" => issuer = Some(value()?),
            "--audience" => audience = value()?,
            "--body" => body = Some(PathBuf::from(value()?)),
            "--listen" => {
                let v = value()?;
                listen = v
                    .parse()
                    .map_err(|_| format!("--listen: `{v}` is not an address"))?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Args {
        pem: pem.ok_or("--pem is required")?,
        alg: alg.ok_or("--alg is required")?,
        issuer: issuer.ok_or("--issuer is required")?,
        audience,
        body,
        listen,
    })
}

/// The answer's shape, as the example server's `whoami` (a provider name
/// of its own), borrowed from the verified claims.
#[derive(Serialize)]
struct WhoAmI<'a> {
    registration: &'static str,
    client_id: &'a str,
    provider: &'static str,
    issuer: Option<&'a str>,
    subject: &'a str,
    property: Option<&'a str>,
    roles: [&'static str; 1],
    principal: Principal<'a>,
    claims: &'a Value,
}

#[derive(Serialize)]
struct Principal<'a> {
    subject: &'a str,
    email: Option<&'a str>,
    name: Option<&'a str>,
}

/// What the handlers share.
struct Shared {
    audience: String,
    /// `/public/whoami`'s answer.
    public: Value,
}

/// `/whoami`: the claims the layer verified.
async fn whoami(
    State(shared): State<Arc<Shared>>,
    JwtClaims(claims): JwtClaims<Arc<Value>>,
) -> Response {
    let claims = &*claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let subject = text("sub").unwrap_or_default();
    Json(WhoAmI {
        registration: REGISTRATION,
        client_id: &shared.audience,
        provider: "jwt-authorizer",
        issuer: text("iss"),
        subject,
        property: None,
        roles: ["reader"],
        principal: Principal {
            subject,
            email: text("email"),
            name: text("name"),
        },
        claims,
    })
    .into_response()
}

/// `/public/whoami`: the prepared answer, serialised, no layer.
async fn public_whoami(State(shared): State<Arc<Shared>>) -> Response {
    Json(&shared.public).into_response()
}

async fn run(args: Args) -> Result<(), String> {
    let pem =
        std::fs::read_to_string(&args.pem).map_err(|e| format!("{}: {e}", args.pem.display()))?;
    let public = match &args.body {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Value::Null,
    };
    let authorizer =
        jwt_authorizer::<Arc<Value>>(args.alg, &pem, &args.issuer, &args.audience).await?;
    let shared = Arc::new(Shared {
        audience: args.audience,
        public,
    });
    let protected = Router::new()
        .route("/whoami", get(whoami))
        .layer(authorizer.into_layer());
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/public/whoami", get(public_whoami))
        .merge(protected)
        .with_state(shared);
    let listener = fedauth_bench::listen(args.listen).await?;
    axum07::serve(listener, app)
        .with_graceful_shutdown(fedauth_examples::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    fedauth_bench::server_main("jwt-authorizer-server", parse_args, run)
}
