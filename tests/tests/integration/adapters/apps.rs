//! The apps under test (the example servers' routes plus routes for the
//! typed extractors, on axum and on actix-web), the IdPs behind them, and
//! the requests and answers of each case of the table.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use axum::Router;
use axum::routing::get;
use fedauth_axum::StepUpPolicy;
use fedauth_examples::{AppState, actix_app, axum_app, local_metrics};
use fedauth_tests::{builder, jwks_registration};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tower_fedauth::testkit::{MockIdp, TestKey};
use tower_fedauth::{Authenticator, PropertyResolver, StandardClaims};

use super::{Authz, Case, Expect, Reg, Token, contract, error_code};

/// The IdPs, a key they do not serve, and both apps on 127.0.0.1.
pub(super) struct Fixture {
    pub(super) idp: MockIdp,
    pub(super) down: MockIdp,
    pub(super) foreign_key: TestKey,
    pub(super) axum: SocketAddr,
    pub(super) actix: SocketAddr,
    pub(super) actix_server: actix_web::dev::ServerHandle,
    pub(super) client: reqwest::Client,
}

/// `quid-1` (roles everywhere and per property, `email` persisted),
/// `quid-off` (disabled), `quid-down` (at an IdP that is down), `quid-api`
/// (access tokens for the platform's API: `audiences`, an issuer list whose
/// first entry is an older domain, `required_claims`) and `quid-cognito`
/// (Cognito access tokens: `client_id`, no `aud` rule).
fn registry_toml(idp: &MockIdp, down: &MockIdp) -> String {
    jwks_registration(
        idp,
        "quid-1",
        "roles = [\"reader\"]\n\
         [registrations.properties]\n\
         \"property-42\" = [\"admin\", \"reader\"]\n\
         \"property-7\" = [\"viewer\", \"reader\"]\n\
         [registrations.claims]\n\
         persist = [\"email\"]",
    ) + &jwks_registration(idp, "quid-off", "enabled = false")
        + &jwks_registration(down, "quid-down", "")
        + &format!(
            "[[registrations]]\nid = \"quid-api\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\n\
             issuer = [\"https://idp.old.example\", \"{issuer}\"]\njwks_uri = \"{jwks}\"\n\
             audiences = [\"https://api.platform.example\"]\n\
             required_claims = {{ email_verified = true, tier = [\"gold\", \"silver\"], groups = [\"staff\"] }}\n\n\
             [[registrations]]\nid = \"quid-cognito\"\nprovider = \"cognito\"\nregion = \"eu-west-1\"\n\
             user_pool_id = \"eu-west-1_AbCdEf123\"\nclient_id = \"app-1\"\nissuer = \"{issuer}\"\njwks_uri = \"{jwks}\"\n",
            issuer = idp.issuer(),
            jwks = idp.jwks_uri(),
        )
}

/// Each app has its own authenticator over the same registry, so that each
/// framework fetches keys from its own runtime.
fn authenticator(toml: &str) -> Authenticator {
    builder(toml)
        .property(PropertyResolver::PathSegmentAfter("properties".into()))
        .build()
}

#[derive(Deserialize)]
struct NeedsTenant {
    tenant: String,
}

/// Both adapters re-export the core's `RoleName`, `ScopeName` and
/// `StepUpPolicy`: one impl serves both.
struct Admin;
impl fedauth_axum::RoleName for Admin {
    const NAME: &'static str = "admin";
}

struct Read;
impl fedauth_actix::ScopeName for Read {
    const NAME: &'static str = "read";
}

/// `urn:mfa`, at most 300 seconds ago: the rule of the step-up layers too.
struct Mfa;
impl StepUpPolicy for Mfa {
    const ACR: &'static [&'static str] = &["urn:mfa"];
    const MAX_AGE: Option<Duration> = Some(Duration::from_secs(300));
}

/// The example servers' `whoami` answer, owned.
fn whoami(ctx: &tower_fedauth::AuthContext) -> Value {
    serde_json::to_value(fedauth_examples::whoami_of(ctx)).unwrap()
}

fn maybe_json(registration: Option<&str>, claims: Option<StandardClaims>) -> Value {
    match (registration, claims) {
        (Some(registration), Some(claims)) => {
            json!({"registration": registration, "sub": claims.sub})
        }
        (None, None) => json!({"anonymous": true}),
        (r, c) => json!({"inconsistent": [r, c.is_some()]}),
    }
}

/// The example routes plus the test's typed-extractor routes, on axum.
fn axum_router(auth: Authenticator) -> Router {
    use fedauth_axum::{
        Auth, Claims, FedAuthLayer, RequireRole, RequireScope, RequireStepUp, require_scope,
        require_step_up,
    };
    let layer_whoami = || get(|Auth(ctx): Auth| async move { axum::Json(whoami(&ctx)) });
    let strict =
        Router::new()
            .route(
                "/typed",
                get(|Claims(c): Claims<NeedsTenant>| async move {
                    axum::Json(json!({"tenant": c.tenant}))
                }),
            )
            .route(
                "/properties/{property}/typed-admin",
                get(|ctx: RequireRole<Admin>| async move {
                    axum::Json(json!({"admin": ctx.subject()}))
                }),
            )
            .route(
                "/typed/scope",
                get(|ctx: RequireScope<Read>| async move {
                    axum::Json(json!({"scoped": ctx.subject()}))
                }),
            )
            .route(
                "/typed/step-up",
                get(|ctx: RequireStepUp<Mfa>| async move {
                    axum::Json(json!({"stepped_up": ctx.subject()}))
                }),
            )
            .route(
                "/layer/scope",
                layer_whoami().route_layer(require_scope("read")),
            )
            .route(
                "/layer/step-up",
                layer_whoami().route_layer(require_step_up(&["urn:mfa"], Mfa::MAX_AGE)),
            )
            .route_layer(FedAuthLayer::new(auth.clone()));
    let optional = Router::new()
        .route(
            "/maybe",
            get(|auth: Option<Auth>, claims: Option<Claims>| async move {
                axum::Json(maybe_json(
                    auth.as_ref().map(|a| a.registration_id()),
                    claims.map(|c| c.0),
                ))
            }),
        )
        .route_layer(FedAuthLayer::optional(auth.clone()));
    axum_app::router(AppState::new(auth, local_metrics()))
        .merge(strict)
        .merge(optional)
}

/// The same on actix.
fn actix_routes(auth: Authenticator) -> impl FnOnce(&mut web::ServiceConfig) {
    use fedauth_actix::{
        Auth, Claims, FedAuth, RequireRole, RequireScope, RequireStepUp, require_scope,
        require_step_up,
    };
    let layer_whoami =
        || web::get().to(|Auth(ctx): Auth| async move { HttpResponse::Ok().json(whoami(&ctx)) });
    move |cfg| {
        actix_app::configure(AppState::new(auth.clone(), local_metrics()))(cfg);
        cfg.service(
            web::resource("/typed")
                .wrap(FedAuth::new(auth.clone()))
                .route(web::get().to(|Claims(c): Claims<NeedsTenant>| async move {
                    HttpResponse::Ok().json(json!({"tenant": c.tenant}))
                })),
        )
        .service(
            web::resource("/properties/{property}/typed-admin")
                .wrap(FedAuth::new(auth.clone()))
                .route(web::get().to(|ctx: RequireRole<Admin>| async move {
                    HttpResponse::Ok().json(json!({"admin": ctx.subject()}))
                })),
        )
        .service(
            web::resource("/typed/scope")
                .wrap(FedAuth::new(auth.clone()))
                .route(web::get().to(|ctx: RequireScope<Read>| async move {
                    HttpResponse::Ok().json(json!({"scoped": ctx.subject()}))
                })),
        )
        .service(
            web::resource("/typed/step-up")
                .wrap(FedAuth::new(auth.clone()))
                .route(web::get().to(|ctx: RequireStepUp<Mfa>| async move {
                    HttpResponse::Ok().json(json!({"stepped_up": ctx.subject()}))
                })),
        )
        .service(
            web::resource("/layer/scope")
                .wrap(require_scope("read"))
                .wrap(FedAuth::new(auth.clone()))
                .route(layer_whoami()),
        )
        .service(
            web::resource("/layer/step-up")
                .wrap(require_step_up(&["urn:mfa"], Mfa::MAX_AGE))
                .wrap(FedAuth::new(auth.clone()))
                .route(layer_whoami()),
        )
        .service(
            web::resource("/maybe")
                .wrap(FedAuth::optional(auth))
                .route(
                    web::get().to(|auth: Option<Auth>, claims: Option<Claims>| async move {
                        HttpResponse::Ok().json(maybe_json(
                            auth.as_ref().map(|a| a.registration_id()),
                            claims.map(|c| c.0),
                        ))
                    }),
                ),
        );
    }
}

/// Seconds since the epoch.
fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_secs() as i64
}

async fn serve_axum(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// actix-web on its own thread and `System`; the test runtime is tokio's.
fn serve_actix(auth: Authenticator) -> (SocketAddr, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || App::new().configure(actix_routes(auth.clone())))
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
    pub(super) async fn start() -> Fixture {
        let idp = MockIdp::start().await;
        let down = MockIdp::start().await;
        down.set_outage(true);
        let toml = registry_toml(&idp, &down);
        let axum = serve_axum(axum_router(authenticator(&toml))).await;
        let (actix, actix_server) = serve_actix(authenticator(&toml));
        Fixture {
            idp,
            down,
            foreign_key: TestKey::rsa("key-1"),
            axum,
            actix,
            actix_server,
            client: reqwest::Client::new(),
        }
    }

    /// The token of `kind` and, for a valid one, its claims.
    fn token(&self, kind: Token) -> (String, Map<String, Value>) {
        let idp = &self.idp;
        let key = idp.signing_key();
        let valid = idp
            .token()
            .claim("preferred_username", "alice")
            .claim("email", "alice@example.com");
        let builder = match kind {
            Token::NotAJwt => return ("not-a-jwt".to_owned(), Map::new()),
            Token::AlgNone => return (valid.unsigned(), Map::new()),
            Token::Hs256 => return (valid.sign_hs256(b"secret"), Map::new()),
            Token::ForeignKey => return (valid.sign(&self.foreign_key), Map::new()),
            Token::FromDownIdp => {
                return (self.down.token().sign(&self.down.signing_key()), Map::new());
            }
            Token::Valid => valid,
            Token::WithTenant => valid.claim("tenant", "t-1"),
            Token::UnknownKid => valid.kid("no-such-key"),
            Token::Expired => valid.claim("exp", 1_000_000_000),
            Token::NotYetValid => valid.claim("nbf", 4_000_000_000_i64),
            Token::WrongIssuer => valid.issuer("https://evil.example"),
            Token::WrongAudience => valid.audience("app-2"),
            Token::NoSubject => valid.remove_claim("sub"),
            Token::With(claims) => {
                let claims: Map<String, Value> = serde_json::from_str(claims).unwrap();
                claims
                    .into_iter()
                    .fold(valid, |token, (name, value)| token.claim(&name, value))
            }
            Token::AuthTime { ago, acr } => {
                let token = valid.claim("auth_time", now() - ago);
                match acr {
                    Some(acr) => token.claim("acr", acr),
                    None => token,
                }
            }
        };
        (builder.sign(&key), builder.claims().clone())
    }

    /// The headers of a case, and the claims of its token.
    pub(super) fn headers(&self, case: &Case) -> (Vec<(&'static str, String)>, Map<String, Value>) {
        let mut headers = Vec::new();
        let mut claims = Map::new();
        let mut token = |kind| {
            let (token, c) = self.token(kind);
            claims = c;
            token
        };
        match case.authz {
            Authz::None => {}
            Authz::Bearer(kind) => {
                headers.push(("authorization", format!("Bearer {}", token(kind))))
            }
            Authz::LowerBearer(kind) => {
                headers.push(("authorization", format!("bearer {}", token(kind))))
            }
            Authz::Bare(kind) => headers.push(("authorization", token(kind))),
            Authz::Twice(kind) => {
                let value = format!("Bearer {}", token(kind));
                headers.push(("authorization", value.clone()));
                headers.push(("authorization", value));
            }
            Authz::Basic => headers.push(("authorization", "Basic dXNlcjpwYXNz".to_owned())),
        }
        match case.reg {
            Reg::None => {}
            Reg::Id(id) => headers.push(("x-sc-auth", id.to_owned())),
            Reg::Twice => {
                headers.push(("x-sc-auth", "quid-1".to_owned()));
                headers.push(("x-sc-auth", "quid-2".to_owned()));
            }
            Reg::TooLong => headers.push(("x-sc-auth", "q".repeat(129))),
        }
        (headers, claims)
    }

    /// The exact answer a case must get.
    pub(super) fn expected(&self, case: &Case, claims: Map<String, Value>) -> (u16, Value) {
        match case.expect {
            Expect::Whoami { property, roles } => (
                200,
                json!({
                    "registration": "quid-1",
                    "client_id": "app-1",
                    "provider": "jwks",
                    "issuer": self.idp.issuer(),
                    "subject": "alice",
                    "property": property,
                    "roles": roles,
                    "principal": {
                        "subject": "alice",
                        "username": "alice",
                        "email": "alice@example.com",
                        "attributes": {"email": "alice@example.com"},
                    },
                    "claims": claims,
                }),
            ),
            Expect::Json(body) => (200, serde_json::from_str(body).unwrap()),
            Expect::Refused {
                code,
                msg,
                value,
                param,
                location,
                challenge: _,
            } => (
                contract(code).0,
                json!({
                    "code": code,
                    "message": error_code(code).message(),
                    "details": [{
                        "value": value,
                        "msg": msg,
                        "param": param,
                        "location": location,
                    }],
                }),
            ),
        }
    }
}
