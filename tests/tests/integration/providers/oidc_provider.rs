//! Access tokens from a real OpenID provider (node `oidc-provider`, see
//! `fedauth_tests::oidc_provider`): a client-credentials token for a
//! resource indicator names the API in `aud` and the calling app in
//! `client_id` (RFC 9068). A registration with `audiences` accepts it; one
//! without refuses it, and so does one for another app (`audiences` and
//! `authorized_party_claims`, docs/registry.md). The registrations are
//! `oidc`: the keys come through the provider's own discovery document.

use fedauth_tests::oidc_provider::{CLIENT_ID, OidcProvider, RESOURCE, decode_unverified};
use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;

/// An `oidc` registration `id` at the provider for `client_id`, plus
/// `extra` TOML keys.
fn registration(op: &OidcProvider, id: &str, client_id: &str, extra: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"oidc\"\nissuer = \"{}\"\n\
         client_id = \"{client_id}\"\ntoken_use = \"access\"\n{extra}\n",
        op.issuer()
    )
}

fn with_audiences() -> String {
    format!("audiences = [\"{RESOURCE}\"]")
}

/// The provider's token is an RFC 9068 access token for the API, which a
/// registration without `audiences` refuses.
#[tokio::test]
async fn issues_jwt_access_tokens_that_need_audiences() {
    let op = OidcProvider::start().await;
    let token = op.access_token(RESOURCE, "read").await;

    // What the provider issued, read without trusting it.
    let (header, claims) = decode_unverified(&token);
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(header["alg"], "RS256", "{header}");
    assert_eq!(claims["aud"], RESOURCE, "{claims}");
    assert_eq!(claims["client_id"], CLIENT_ID, "{claims}");
    assert_eq!(claims["sub"], CLIENT_ID, "{claims}");
    assert_eq!(claims["iss"], op.issuer(), "{claims}");
    assert_eq!(claims["scope"], "read", "{claims}");
    assert!(claims.get("azp").is_none(), "{claims}");

    // Without `audiences`, `aud` must name the client: it names the API.
    let toml = registration(&op, "quid-op", CLIENT_ID, "");
    let layer = FedAuthLayer::new(builder(&toml).build());
    let a = call_with(&layer, &token, "quid-op").await;
    assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
}

/// The API named in `audiences` and the client as the authorized party:
/// accepted; the same token presented for another app is not.
#[tokio::test]
async fn accepted_through_audiences_for_its_own_client_only() {
    let op = OidcProvider::start().await;
    let token = op.access_token(RESOURCE, "read").await;
    let toml = [
        registration(&op, "quid-op", CLIENT_ID, &with_audiences()),
        registration(&op, "quid-other", "app-api-2", &with_audiences()),
    ]
    .concat();
    let layer = FedAuthLayer::new(builder(&toml).build());

    let a = call_with(&layer, &token, "quid-op").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["registration"], "quid-op");
    assert_eq!(a.body["issuer"], op.issuer());
    assert_eq!(a.body["subject"], CLIENT_ID);
    assert_eq!(a.body["claims"]["client_id"], CLIENT_ID);
    assert_eq!(a.body["claims"]["aud"], RESOURCE);
    assert_eq!(a.body["claims"]["scope"], "read");
    assert_eq!(a.body["roles"], json!([]));

    // The API is named, but the authorized party is another app.
    let a = call_with(&layer, &token, "quid-other").await;
    assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
}
