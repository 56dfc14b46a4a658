//! `auth0`: issuer `https://{domain}/` with the slash, RS256 only, `aud`
//! string or array, namespaced role claims ignored.

use serde_json::json;
use tower_fedauth::testkit::{MockIdp, TokenBuilder};

use super::{accepted, layer, refused};

const CLIENT: &str = "vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN";
const ISSUER: &str = "https://acme.eu.auth0.com/";
/// The reference example of the registry format.
const KEYS: &str = "id = \"quid-auth0-1\"\nprovider = \"auth0\"\ndomain = \"acme.eu.auth0.com\"\n\
                    client_id = \"vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN\"";
const QUID: &str = "quid-auth0-1";

#[tokio::test]
async fn auth0_id_tokens() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, KEYS, "");
    let key = idp.signing_key();

    let token = TokenBuilder::auth0_id(ISSUER, CLIENT)
        .claim("https://example.com/roles", ["admin"])
        .claim("roles", ["admin"])
        .sign(&key);
    let body = accepted(&l, &token, QUID).await;
    assert_eq!(body["subject"], "auth0|alice");
    assert_eq!(body["principal"]["email"], "alice@example.com");
    assert_eq!(
        body["roles"],
        json!([]),
        "roles come only from the registry"
    );

    // `aud` may be an array naming the client among others, with the
    // client as authorized party (`azp`), as Auth0 sets it.
    let array = || {
        TokenBuilder::auth0_id(ISSUER, CLIENT)
            .claim("aud", [CLIENT, "https://acme.eu.auth0.com/userinfo"])
    };
    accepted(&l, &array().claim("azp", CLIENT).sign(&key), QUID).await;
    refused(&l, &array().sign(&key), QUID, "invalid_audience").await;
}

#[tokio::test]
async fn auth0_refusals() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, KEYS, "");
    let key = idp.signing_key();
    let id = || TokenBuilder::auth0_id(ISSUER, CLIENT);

    let no_slash = TokenBuilder::auth0_id("https://acme.eu.auth0.com", CLIENT).sign(&key);
    refused(&l, &no_slash, QUID, "invalid_issuer").await;
    let other_tenant = TokenBuilder::auth0_id("https://evil.eu.auth0.com/", CLIENT).sign(&key);
    refused(&l, &other_tenant, QUID, "invalid_issuer").await;
    // Auth0 can sign with HS256 (the client secret): never from a key set.
    refused(
        &l,
        &id().sign_hs256(b"client-secret"),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    refused(
        &l,
        &id().alg("RS512").sign(&key),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    let other_app = TokenBuilder::auth0_id(ISSUER, "another-client").sign(&key);
    refused(&l, &other_app, QUID, "invalid_audience").await;
    let array_without = id().claim("aud", ["a", "b"]).sign(&key);
    refused(&l, &array_without, QUID, "invalid_audience").await;
    // An ID-token registration refuses RFC 9068 access tokens.
    let keys = format!("{KEYS}\ntoken_use = \"id\"");
    let ids_only = layer(&idp, &keys, "");
    let at = id().header("typ", "at+jwt").sign(&key);
    refused(&ids_only, &at, QUID, "invalid_token_use").await;
    accepted(&ids_only, &id().sign(&key), QUID).await;
}
