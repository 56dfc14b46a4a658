//! Happy paths, per algorithm, and what the handler receives.

use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::testkit::{MockIdp, TestKey, TokenBuilder};

#[tokio::test]
async fn every_algorithm_family_verifies() {
    let keys = vec![
        TestKey::rsa("rsa"),
        TestKey::ec_p256("p256"),
        TestKey::ec_p384("p384"),
        TestKey::ed25519("ed"),
    ];
    let idp = MockIdp::start_with_keys(keys.clone()).await;
    // JWKs without `alg`: then the key type alone bounds the algorithms.
    let jwks: Vec<_> = keys.iter().map(|k| k.public_jwk_with_alg(None)).collect();
    idp.set_raw_jwks(Some(serde_json::json!({ "keys": jwks }).to_string()));
    let auth = builder(&jwks_registration(&idp, "quid-1", "")).build();
    let layer = FedAuthLayer::new(auth);
    let cases = [
        ("rsa", "RS256"),
        ("rsa", "RS384"),
        ("rsa", "RS512"),
        ("rsa", "PS256"),
        ("rsa", "PS384"),
        ("rsa", "PS512"),
        ("p256", "ES256"),
        ("p384", "ES384"),
        ("ed", "EdDSA"),
    ];
    for (kid, alg) in cases {
        let key = keys.iter().find(|k| k.kid() == kid).unwrap();
        let token = idp.token().alg(alg).sign(key);
        let a = call_with(&layer, &token, "quid-1").await;
        assert_eq!(a.status, 200, "{alg}: {:?}", a.body);
        assert_eq!(a.body["subject"], "alice", "{alg}");
        assert_eq!(a.body["registration"], "quid-1");
    }
    // One fetch served every algorithm.
    assert_eq!(idp.jwks_fetches(), 1);

    // A JWK with `alg` restricts its key to that algorithm.
    let restricted = MockIdp::start().await;
    let layer = FedAuthLayer::new(builder(&jwks_registration(&restricted, "quid-1", "")).build());
    let token = restricted
        .token()
        .alg("PS256")
        .sign(&restricted.signing_key());
    let a = call_with(&layer, &token, "quid-1").await;
    assert_refused(&a, 401, "unsupported_algorithm", Some("invalid_token"));
}

#[tokio::test]
async fn handler_sees_context_claims_roles_and_principal() {
    let idp = MockIdp::start().await;
    let toml = jwks_registration(
        &idp,
        "quid-1",
        "roles = [\"reader\"]\n[registrations.properties]\n\"property-42\" = [\"admin\", \"reader\"]\n\
         [registrations.claims]\npersist = [\"name\"]\n",
    );
    let auth = builder(&toml)
        .property(tower_fedauth::PropertyResolver::PathSegmentAfter(
            "properties".into(),
        ))
        .build();
    let layer = FedAuthLayer::new(auth);
    let token = idp
        .token()
        .claim("preferred_username", "alice.a")
        .claim("email", "alice@example.com")
        .claim("name", "Alice")
        .claim("roles", ["owner"])
        .sign(&idp.signing_key());
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str()), ("x-sc-auth", "quid-1")];

    let a = call(&layer, &headers, "/properties/property-42/whoami").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["property"], "property-42");
    // Token `roles` never grant platform roles.
    assert_eq!(a.body["roles"], json!(["admin", "reader"]));
    assert_eq!(a.body["issuer"], idp.issuer());
    assert_eq!(
        a.body["principal"],
        json!({"subject": "alice", "username": "alice.a", "email": "alice@example.com",
               "attributes": {"name": "Alice"}})
    );
    assert_eq!(a.body["claims"]["roles"], json!(["owner"]));
    assert_eq!(a.body["claims"]["aud"], "app-1");

    let a = call(&layer, &headers, "/whoami").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["property"], json!(null));
    assert_eq!(a.body["roles"], json!(["reader"]));

    let a = call(&layer, &headers, "/properties/property-7/whoami").await;
    assert_refused(&a, 403, "property_not_enabled", None);
}

#[tokio::test]
async fn bare_token_and_audience_arrays_are_accepted() {
    let s = setup("").await;
    // Several audiences: the client must be the authorized party too.
    let token = s
        .idp
        .token()
        .claim("aud", ["other", "app-1"])
        .claim("azp", "app-1")
        .sign(&s.idp.signing_key());
    let a = call(
        &s.layer,
        &[("authorization", &token), ("x-sc-auth", "quid-1")],
        "/",
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
}

#[tokio::test]
async fn typed_claims_deserialize_into_the_users_type() {
    #[derive(serde::Deserialize)]
    struct Mine {
        sub: String,
        tenant: u32,
    }
    let s = setup("").await;
    let token = s.idp.token().claim("tenant", 7).sign(&s.idp.signing_key());
    let ctx = s
        .auth
        .verify(
            &tower_fedauth::Credentials {
                token,
                registration: "quid-1".into(),
            },
            None,
        )
        .await
        .unwrap();
    let mine: Mine = ctx.claims().deserialize().unwrap();
    assert_eq!((mine.sub.as_str(), mine.tenant), ("alice", 7));
    assert_eq!(ctx.claims().standard().aud, vec!["app-1".to_string()]);
}

#[tokio::test]
async fn oidc_discovery_finds_the_keys_and_checks_the_issuer() {
    let idp = MockIdp::start().await;
    let toml = format!(
        "[[registrations]]\nid = \"quid-oidc\"\nprovider = \"oidc\"\nissuer = \"{}\"\nclient_id = \"app-1\"\n",
        idp.issuer()
    );
    let layer = FedAuthLayer::new(builder(&toml).build());
    let a = call_with(&layer, &idp.mint(), "quid-oidc").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (1, 1));

    // A discovery document naming another issuer is not used.
    let idp2 = MockIdp::start().await;
    idp2.set_discovery_issuer(Some("https://evil.example".into()));
    let toml = format!(
        "[[registrations]]\nid = \"quid-oidc\"\nprovider = \"oidc\"\nissuer = \"{}\"\nclient_id = \"app-1\"\n",
        idp2.issuer()
    );
    let layer = FedAuthLayer::new(builder(&toml).build());
    let a = call_with(&layer, &idp2.mint(), "quid-oidc").await;
    assert_refused(&a, 503, "idp_unavailable", None);
    assert_eq!(idp2.jwks_fetches(), 0);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_ones() {
    let s = setup("").await;
    let layer = FedAuthLayer::optional(s.auth.clone());
    let a = call(&layer, &[], "/").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"anonymous": true}));
    let a = call_with(&layer, "garbage", "quid-1").await;
    assert_refused(&a, 401, "malformed_token", Some("invalid_token"));
    let a = call_with(&layer, &s.idp.mint(), "quid-1").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["subject"], "alice");
}

#[tokio::test]
async fn responder_replaces_the_body_but_not_status_or_headers() {
    let idp = MockIdp::start().await;
    let responder: tower_fedauth::error::RefusalResponder =
        std::sync::Arc::new(|e| tower_fedauth::error::RefusalBody {
            content_type: http::HeaderValue::from_static("text/plain"),
            body: format!("denied: {}", e.code()).into(),
        });
    let auth = builder(&jwks_registration(&idp, "quid-1", ""))
        .responder(responder)
        .build();
    let layer = FedAuthLayer::new(auth);
    let a = call_with(&layer, &TokenBuilder::new().unsigned(), "quid-1").await;
    assert_eq!(a.status, 401);
    assert_eq!(a.headers["content-type"], "text/plain");
    assert!(
        a.www_authenticate()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_eq!(a.error.unwrap().code().as_str(), "unsupported_algorithm");
}
