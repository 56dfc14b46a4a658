//! Opaque tokens (issue 5): RFC 7662 introspection and custom verification
//! endpoints, against real servers on 127.0.0.1 (`MockOpaqueIdp`), through
//! the tower layer and both framework adapters.

mod adapters;
mod introspection;
mod verification;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;
use tower_fedauth::keys::FetchConfig;
use tower_fedauth::testkit::{MockOpaqueIdp, RecordedRequest};
use tower_fedauth::{AuthError, Authenticator, FedAuthLayer};

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An `introspection` registration `id` for client `app-3` at the mock,
/// `top` added to the registration and `table` to its introspection table.
fn introspection_toml(idp: &MockOpaqueIdp, id: &str, top: &str, table: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"introspection\"\nclient_id = \"app-3\"\n\
         roles = [\"reader\"]\n{top}\n[registrations.introspection]\nendpoint = \"{}\"\n\
         client_id = \"{}\"\nclient_secret = \"{}\"\n{table}\n",
        idp.introspection_url(),
        tower_fedauth::testkit::opaque::DEFAULT_RS_CLIENT_ID,
        tower_fedauth::testkit::opaque::DEFAULT_RS_SECRET,
    )
}

/// A `verification-endpoint` registration `id` (client `app-v`) calling the
/// mock with `method`, the token in a header and a param (`IdP_token`),
/// plus `table` keys.
fn verification_toml(idp: &MockOpaqueIdp, id: &str, method: &str, table: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"verification-endpoint\"\n\
         client_id = \"app-v\"\n[registrations.verification]\nurl = \"{}\"\nmethod = \"{method}\"\n\
         headers = {{ IdP_token = \"#{{token}}\", X_Registration = \"#{{registration}}\" }}\n\
         params = {{ IdP_token = \"#{{token}}\", app = \"#{{client_id}}\", reg = \"#{{registration}}\" }}\n\
         response = {{ uid = \"#{{user.id}}\", login = \"#{{user.login}}\", full_name = \"#{{user.full_name}}\" }}\n\
         {table}\n",
        idp.verification_url()
    )
}

/// An authenticator whose fetches time out after `timeout` and read at most
/// `max_body_bytes`.
fn limited(toml: &str, timeout: Duration, max_body_bytes: usize) -> Authenticator {
    fedauth_tests::builder(toml)
        .fetch(
            FetchConfig::default()
                .timeout(timeout)
                .max_body_bytes(max_body_bytes)
                .egress(tower_fedauth::testkit::local_egress()),
        )
        .build()
}

/// A layer over `toml` with the test defaults.
fn layer(toml: &str) -> FedAuthLayer {
    FedAuthLayer::new(fedauth_tests::builder(toml).build())
}

/// An answer with its body as bytes, for pass-through checks.
struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    error: Option<AuthError>,
}

/// One request through the layer (over a handler answering `ok`), body kept raw.
async fn raw_call(layer: &FedAuthLayer, token: &str, registration: &str) -> Raw {
    let svc = tower::ServiceBuilder::new()
        .layer(layer.clone())
        .service_fn(|_req: Request<Full<Bytes>>| async move {
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        });
    let req = Request::builder()
        .uri("/")
        .header("authorization", format!("Bearer {token}"))
        .header("x-sc-auth", registration)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = svc.oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    Raw {
        status: parts.status,
        error: parts.extensions.get::<AuthError>().cloned(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// The last request the mock received.
fn last(idp: &MockOpaqueIdp) -> RecordedRequest {
    idp.requests().pop().expect("the mock received a request")
}

/// The opaque-token snippets of the providers reference are valid registrations.
#[test]
fn documented_snippets_parse() {
    // The opaque-token registrations of the providers reference.
    let page = include_str!("../../../docs/providers.md");
    let blocks: Vec<&str> = page
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.contains("\"introspection\"") || b.contains("\"verification-endpoint\""))
        .collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        let regs = fedauth_tests::registrations(block);
        assert_eq!(regs.len(), 1);
        assert!(!regs[0].provider.uses_signed_tokens());
    }
}
