//! `claims.userinfo = true`: a mapped claim missing from the token is read
//! from the IdP's userinfo endpoint (found by discovery) with the same token.

use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::testkit::MockIdp;

/// The reference `quid-oidc-1` example of the registry format, its issuer
/// the mock IdP.
fn oidc(idp: &MockIdp) -> FedAuthLayer {
    let toml = format!(
        "[[registrations]]\nid = \"quid-oidc-1\"\nprovider = \"oidc\"\nissuer = \"{}\"\n\
         client_id = \"app-1\"\nalgorithms = [\"RS256\", \"ES256\", \"EdDSA\"]\n\
         [registrations.claims]\nusername = \"preferred_username\"\nuserinfo = true\n\
         persist = [\"email\", \"name\"]\n",
        idp.issuer()
    );
    FedAuthLayer::new(builder(&toml).build())
}

const QUID: &str = "quid-oidc-1";

fn alice_info() -> serde_json::Value {
    json!({"sub": "alice", "preferred_username": "alice.a", "email": "alice@example.com"})
}

#[tokio::test]
async fn missing_claims_are_filled_from_userinfo_once_per_token() {
    let idp = MockIdp::start().await;
    idp.set_userinfo(alice_info());
    let l = oidc(&idp);
    let token = idp.token().claim("name", "Alice").sign(&idp.signing_key());

    let a = call_with(&l, &token, QUID).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let principal = &a.body["principal"];
    assert_eq!(principal["subject"], "alice");
    assert_eq!(principal["username"], "alice.a");
    assert_eq!(principal["email"], "alice@example.com");
    assert_eq!(principal["attributes"], json!({"name": "Alice"}));
    // The handler's claims are the token's, untouched.
    assert!(a.body["claims"].get("preferred_username").is_none());
    assert_eq!(idp.userinfo_fetches(), 1);

    // The same token again: served from the cache.
    let again = call_with(&l, &token, QUID).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["principal"]["username"], "alice.a");
    assert_eq!(idp.userinfo_fetches(), 1);

    // Concurrent requests with a new token share one fetch.
    let fresh = idp.token().claim("jti", "t-2").sign(&idp.signing_key());
    let calls = (0..6).map(|_| call_with(&l, &fresh, QUID));
    for a in futures_util::future::join_all(calls).await {
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    assert_eq!(idp.userinfo_fetches(), 2);

    // A token that carries every mapped claim needs no userinfo.
    let full = idp
        .token()
        .claim("preferred_username", "alice.t")
        .claim("email", "t@example.com")
        .sign(&idp.signing_key());
    let a = call_with(&l, &full, QUID).await;
    assert_eq!(a.body["principal"]["username"], "alice.t");
    assert_eq!(idp.userinfo_fetches(), 2);
}

#[tokio::test]
async fn userinfo_about_another_subject_is_refused() {
    let idp = MockIdp::start().await;
    let l = oidc(&idp);
    idp.set_userinfo(json!({"sub": "mallory", "preferred_username": "mallory"}));
    let token = idp.mint();
    assert_refused(
        &call_with(&l, &token, QUID).await,
        401,
        "invalid_claims",
        Some("invalid_token"),
    );
    idp.set_userinfo(json!({"preferred_username": "nobody"}));
    let token = idp.token().claim("jti", "t-2").sign(&idp.signing_key());
    assert_refused(
        &call_with(&l, &token, QUID).await,
        401,
        "invalid_claims",
        Some("invalid_token"),
    );
}

#[tokio::test]
async fn userinfo_outage_is_503_never_an_empty_principal() {
    let idp = MockIdp::start().await;
    idp.set_userinfo(alice_info());
    let l = oidc(&idp);
    // Warm the discovery and key caches with a token that needs no userinfo.
    let full = idp
        .token()
        .claim("preferred_username", "alice.t")
        .claim("email", "t@example.com")
        .sign(&idp.signing_key());
    assert_eq!(call_with(&l, &full, QUID).await.status, 200);

    idp.set_outage(true);
    let token = idp.mint();
    let a = call_with(&l, &token, QUID).await;
    assert_refused(&a, 503, "idp_unavailable", None);
    // The failure is not cached: the next request after recovery succeeds.
    idp.set_outage(false);
    let a = call_with(&l, &token, QUID).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["principal"]["username"], "alice.a");
    assert_eq!(idp.userinfo_fetches(), 2);
}

#[tokio::test]
async fn presets_find_userinfo_through_a_discovery_url_override() {
    let idp = MockIdp::start().await;
    idp.set_userinfo(alice_info());
    // An auth0 registration pointed at the mock by issuer and discovery
    // overrides: keys and userinfo endpoint both come from discovery.
    let toml = format!(
        "[[registrations]]\nid = \"quid-auth0-1\"\nprovider = \"auth0\"\n\
         domain = \"acme.eu.auth0.com\"\nclient_id = \"app-1\"\nissuer = \"{}\"\n\
         discovery_url = \"{}\"\n[registrations.claims]\nuserinfo = true\n",
        idp.issuer(),
        idp.discovery_url()
    );
    let l = FedAuthLayer::new(builder(&toml).build());
    let a = call_with(&l, &idp.mint(), "quid-auth0-1").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["principal"]["username"], "alice.a");
    assert_eq!((idp.discovery_fetches(), idp.userinfo_fetches()), (1, 1));

    // A discovery document naming another issuer is not used.
    idp.set_discovery_issuer(Some("https://elsewhere.example".into()));
    let other = FedAuthLayer::new(builder(&toml).build());
    assert_refused(
        &call_with(&other, &idp.mint(), "quid-auth0-1").await,
        503,
        "idp_unavailable",
        None,
    );
}
