//! Shared helpers for the cross-crate integration tests: a mock IdP, an
//! authenticator over registrations written in the registry file format,
//! and a tower service that echoes what the layer put in extensions; a
//! real PostgreSQL ([`pg`]) and a real OpenID provider ([`oidc_provider`]).
#![forbid(unsafe_code)]

pub mod oidc_provider;
pub mod pg;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_fedauth::keys::CachePolicy;
use tower_fedauth::registry::{InMemoryRegistry, RegistryFormat, parse_registry_str};
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{AuthContext, Authenticator, AuthenticatorBuilder, FedAuthLayer};

/// Registrations from a TOML snippet (the registry file format).
pub fn registrations(toml: &str) -> Vec<tower_fedauth::Registration> {
    parse_registry_str(toml, RegistryFormat::Toml).expect("test registry parses")
}

/// A `jwks` registration `quid-1` for client `app-1` at the mock IdP, plus
/// `extra` TOML keys.
pub fn jwks_registration(idp: &MockIdp, id: &str, extra: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\n\
         issuer = \"{}\"\njwks_uri = \"{}\"\n{extra}\n",
        idp.issuer(),
        idp.jwks_uri()
    )
}

/// A key-cache policy with short timings for tests.
pub fn fast_policy() -> CachePolicy {
    CachePolicy::default()
        .refresh_cooldown(Duration::from_secs(30))
        .failure_backoff(Duration::from_millis(0))
}

/// An authenticator builder over in-memory registrations, http allowed.
pub fn builder(toml: &str) -> AuthenticatorBuilder {
    let registry = InMemoryRegistry::new(registrations(toml)).expect("registry");
    Authenticator::builder(registry)
        .egress(tower_fedauth::testkit::local_egress())
        .key_cache(fast_policy())
}

/// The echo handler's answer: what the layer put in the extensions.
pub fn echo(ctx: Option<&AuthContext>) -> Value {
    match ctx {
        None => json!({"anonymous": true}),
        Some(ctx) => json!({
            "registration": ctx.registration_id(),
            "issuer": ctx.issuer(),
            "subject": ctx.subject(),
            "property": ctx.property(),
            "roles": ctx.roles(),
            "principal": ctx.principal(),
            "claims": ctx.claims().as_value(),
        }),
    }
}

/// What a call returned.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON (Null if not JSON).
    pub body: Value,
    /// The typed error the layer put in the response extensions.
    pub error: Option<tower_fedauth::AuthError>,
}

impl Answer {
    /// The refusal `code`, if any.
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }

    /// `WWW-Authenticate`, if any.
    pub fn www_authenticate(&self) -> Option<&str> {
        self.headers
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
    }
}

/// Send one request through `FedAuthLayer` over the echo handler.
pub async fn call(layer: &FedAuthLayer, headers: &[(&str, &str)], uri: &str) -> Answer {
    let svc = tower::ServiceBuilder::new()
        .layer(layer.clone())
        .service_fn(|req: Request<Full<Bytes>>| async move {
            let body = echo(req.extensions().get::<AuthContext>());
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                body.to_string(),
            ))))
        });
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = svc
        .oneshot(req.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        error: parts.extensions.get::<tower_fedauth::AuthError>().cloned(),
        headers: parts.headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// `call` with a token and registration id on `/`.
pub async fn call_with(layer: &FedAuthLayer, token: &str, registration: &str) -> Answer {
    let bearer = format!("Bearer {token}");
    call(
        layer,
        &[("authorization", &bearer), ("x-sc-auth", registration)],
        "/",
    )
    .await
}

/// Assert a refusal: status, code and the `error=` of `WWW-Authenticate`.
#[track_caller]
pub fn assert_refused(a: &Answer, status: u16, code: &str, bearer_error: Option<&str>) {
    assert_eq!(a.status.as_u16(), status, "status for {code}: {:?}", a.body);
    assert_eq!(a.code(), Some(code), "code: {:?}", a.body);
    assert_eq!(
        a.error.as_ref().map(|e| e.code().as_str()),
        Some(code),
        "typed error in response extensions"
    );
    assert_eq!(
        a.headers.get(http::header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    match status {
        401 | 403 => {
            let h = a.www_authenticate().expect("WWW-Authenticate on 401/403");
            assert!(h.starts_with("Bearer realm=\""), "{h}");
            match bearer_error {
                Some(e) => assert!(h.contains(&format!("error=\"{e}\"")), "{h}"),
                None => assert!(!h.contains("error=\""), "{h}"),
            }
        }
        503 => {
            assert!(a.www_authenticate().is_none());
            assert!(a.headers.contains_key(http::header::RETRY_AFTER));
        }
        _ => {}
    }
}

/// Shared for tests that need the same IdP and authenticator.
pub struct Setup {
    /// The mock IdP.
    pub idp: MockIdp,
    /// The authenticator.
    pub auth: Authenticator,
    /// A layer over it.
    pub layer: FedAuthLayer,
}

/// An IdP and one `jwks` registration `quid-1` (plus `extra` TOML keys).
pub async fn setup(extra: &str) -> Setup {
    let idp = MockIdp::start().await;
    let auth = builder(&jwks_registration(&idp, "quid-1", extra)).build();
    Setup {
        layer: FedAuthLayer::new(auth.clone()),
        auth,
        idp,
    }
}
