//! Provider presets (`docs/providers.md`): each reference example of the
//! registry format, pointed by override at a mock IdP shaped like the
//! provider, accepts that provider's token shape and refuses each variation
//! with the code the order of checks prescribes. Also the
//! userinfo fallback of the principal mapping, access tokens for the
//! platform's API (`audiences`) and the other token profiles (issuer lists,
//! `required_claims`), and access tokens from a real OpenID provider (node
//! `oidc-provider`).

mod api_audience;
mod audience;
mod auth0;
mod azure;
mod cognito;
mod firebase;
mod oidc_provider;
mod profiles;
mod tenants;
mod userinfo;

use fedauth_tests::*;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::testkit::MockIdp;

/// One registration `[[registrations]]` of `keys` (TOML lines) with its
/// `jwks_uri` overridden to the mock IdP's, then `tables` (sub-tables).
fn registration(idp: &MockIdp, keys: &str, tables: &str) -> String {
    format!(
        "[[registrations]]\n{keys}\njwks_uri = \"{}\"\n{tables}\n",
        idp.jwks_uri()
    )
}

/// A layer over one registration (see [`registration`]).
fn layer(idp: &MockIdp, keys: &str, tables: &str) -> FedAuthLayer {
    FedAuthLayer::new(builder(&registration(idp, keys, tables)).build())
}

/// Call and expect 200; returns the echoed context.
async fn accepted(layer: &FedAuthLayer, token: &str, quid: &str) -> serde_json::Value {
    let a = call_with(layer, token, quid).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

/// Call and expect a 401 `invalid_token` refusal with `code`.
async fn refused(layer: &FedAuthLayer, token: &str, quid: &str, code: &str) {
    let a = call_with(layer, token, quid).await;
    assert_refused(&a, 401, code, Some("invalid_token"));
}
