//! `firebase`: keys from Google's X.509 certificate map, issuer and audience
//! from the project, `kid` required, `sub` / `iat` / `auth_time` rules.

use serde_json::json;
use tower_fedauth::testkit::{MockIdp, TokenBuilder};

use super::{accepted, layer, refused};
use fedauth_tests::call_with;

const PROJECT: &str = "acme-prod";
/// The reference example of the registry format: the project id alone.
const KEYS: &str = "id = \"quid-firebase-1\"\nprovider = \"firebase\"\nproject_id = \"acme-prod\"";
const QUID: &str = "quid-firebase-1";

/// A mock IdP serving its keys as Google does: a `{kid: PEM}` certificate map.
async fn google() -> MockIdp {
    let idp = MockIdp::start().await;
    idp.set_x509_certificate_map(true);
    idp
}

#[tokio::test]
async fn certificate_map_source_is_accepted_and_cached() {
    let idp = google().await;
    let l = layer(&idp, KEYS, "roles = [\"reader\"]");
    let key = idp.signing_key();

    let token = TokenBuilder::firebase_id(PROJECT)
        .claim("roles", ["admin"])
        .sign(&key);
    let body = accepted(&l, &token, QUID).await;
    assert_eq!(body["subject"], "alice-uid");
    assert_eq!(
        body["issuer"],
        format!("https://securetoken.google.com/{PROJECT}")
    );
    assert_eq!(
        body["roles"],
        json!(["reader"]),
        "token roles grant nothing"
    );
    // `Cache-Control: max-age` of the map keeps it for the next request.
    accepted(&l, &TokenBuilder::firebase_id(PROJECT).sign(&key), QUID).await;
    assert_eq!(idp.jwks_fetches(), 1);

    // Rotation: a new certificate under a new kid is fetched on the miss.
    let next = idp.rotate();
    accepted(&l, &TokenBuilder::firebase_id(PROJECT).sign(&next), QUID).await;
    assert_eq!(idp.jwks_fetches(), 2);

    // A JWKS at the overridden URL is read as well.
    let jwks_idp = MockIdp::start().await;
    let l = layer(&jwks_idp, KEYS, "");
    let token = TokenBuilder::firebase_id(PROJECT).sign(&jwks_idp.signing_key());
    accepted(&l, &token, QUID).await;
}

#[tokio::test]
async fn firebase_claim_rules() {
    let idp = google().await;
    let l = layer(&idp, KEYS, "");
    let key = idp.signing_key();
    let id = || TokenBuilder::firebase_id(PROJECT);

    refused(&l, &id().subject("").sign(&key), QUID, "invalid_claims").await;
    refused(
        &l,
        &id().subject("u".repeat(129)).sign(&key),
        QUID,
        "invalid_claims",
    )
    .await;
    accepted(&l, &id().subject("u".repeat(128)).sign(&key), QUID).await;
    refused(
        &l,
        &id().claim("sub", 42).sign(&key),
        QUID,
        "invalid_claims",
    )
    .await;
    refused(
        &l,
        &id().remove_claim("sub").sign(&key),
        QUID,
        "invalid_claims",
    )
    .await;
    let now = now();
    let future_auth = id().claim("auth_time", now + 3600).sign(&key);
    refused(&l, &future_auth, QUID, "invalid_claims").await;
    refused(
        &l,
        &id().remove_claim("auth_time").sign(&key),
        QUID,
        "invalid_claims",
    )
    .await;
    refused(
        &l,
        &id().remove_claim("iat").sign(&key),
        QUID,
        "invalid_claims",
    )
    .await;
    // `auth_time` within the leeway passes; a future `iat` is a time error.
    accepted(&l, &id().claim("auth_time", now + 30).sign(&key), QUID).await;
    let future_iat = id().claim("iat", now + 3600).sign(&key);
    refused(&l, &future_iat, QUID, "token_not_yet_valid").await;
}

#[tokio::test]
async fn firebase_refusals() {
    let idp = google().await;
    let l = layer(&idp, KEYS, "");
    let key = idp.signing_key();
    let id = || TokenBuilder::firebase_id(PROJECT);

    // No `kid`: refused before any key is fetched.
    let no_kid = id().remove_header("kid").sign(&key);
    refused(&l, &no_kid, QUID, "unknown_key").await;
    assert_eq!(idp.jwks_fetches(), 0);
    refused(&l, &id().kid("not-a-key").sign(&key), QUID, "unknown_key").await;

    let other_project = TokenBuilder::firebase_id("other-project").sign(&key);
    refused(&l, &other_project, QUID, "invalid_issuer").await;
    let other_aud = id().audience("other-project").sign(&key);
    refused(&l, &other_aud, QUID, "invalid_audience").await;
    refused(
        &l,
        &id().sign_hs256(b"secret"),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    refused(
        &l,
        &id().alg("RS384").sign(&key),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    let unsigned = call_with(&l, &id().kid(key.kid()).unsigned(), QUID).await;
    fedauth_tests::assert_refused(
        &unsigned,
        401,
        "unsupported_algorithm",
        Some("invalid_token"),
    );
    let ids_only = layer(&idp, &format!("{KEYS}\ntoken_use = \"id\""), "");
    let at = id().header("typ", "at+jwt").sign(&key);
    refused(&ids_only, &at, QUID, "invalid_token_use").await;
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
