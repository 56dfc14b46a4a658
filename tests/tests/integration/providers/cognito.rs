//! `cognito`: access tokens by `client_id`, ID tokens by `aud`, `token_use`,
//! both issuer host forms of the configured pool only, RS256 only.

use serde_json::json;
use tower_fedauth::testkit::{MockIdp, TokenBuilder};

use super::{accepted, layer, refused};

const POOL: &str = "eu-west-1_AbCdEf123";
const CLIENT: &str = "3n4b5urk1ft4fl3mg5e62d9ado";
const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
/// The reference example of the registry format.
const KEYS: &str = "id = \"quid-cognito-1\"\nprovider = \"cognito\"\nregion = \"eu-west-1\"\n\
                    user_pool_id = \"eu-west-1_AbCdEf123\"\nclient_id = \"3n4b5urk1ft4fl3mg5e62d9ado\"";
const QUID: &str = "quid-cognito-1";

#[tokio::test]
async fn access_tokens_of_the_pool_and_client() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, KEYS, "roles = [\"reader\"]");
    let key = idp.signing_key();

    let body = accepted(
        &l,
        &TokenBuilder::cognito_access(ISSUER, CLIENT).sign(&key),
        QUID,
    )
    .await;
    assert_eq!(body["subject"], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    assert_eq!(body["issuer"], ISSUER);
    // Multi-region replicated pools use the `issuer.` host.
    let replicated = format!("https://issuer.cognito-idp.eu-west-1.amazonaws.com/{POOL}");
    let token = TokenBuilder::cognito_access(&replicated, CLIENT).sign(&key);
    accepted(&l, &token, QUID).await;

    // Groups stay plain claims: only the registry grants roles.
    let token = TokenBuilder::cognito_access(ISSUER, CLIENT)
        .claim("cognito:groups", ["admin"])
        .claim("roles", ["admin"])
        .claim("groups", ["admin"])
        .sign(&key);
    let body = accepted(&l, &token, QUID).await;
    assert_eq!(body["roles"], json!(["reader"]));
    assert_eq!(body["claims"]["cognito:groups"], json!(["admin"]));
}

#[tokio::test]
async fn cognito_refusals() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, KEYS, "");
    let key = idp.signing_key();
    let access = || TokenBuilder::cognito_access(ISSUER, CLIENT);

    // An ID token never passes as an access token.
    let id = TokenBuilder::cognito_id(ISSUER, CLIENT).sign(&key);
    refused(&l, &id, QUID, "invalid_token_use").await;
    let no_use = access().remove_claim("token_use").sign(&key);
    refused(&l, &no_use, QUID, "invalid_token_use").await;
    // Another app client of the pool.
    let other_client = TokenBuilder::cognito_access(ISSUER, "someotherclient").sign(&key);
    refused(&l, &other_client, QUID, "invalid_audience").await;
    let no_client = access().remove_claim("client_id").sign(&key);
    refused(&l, &no_client, QUID, "invalid_audience").await;
    // Another pool, or the pool id under another region's host.
    for iss in [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other99".to_owned(),
        format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"),
        format!("{ISSUER}/"),
    ] {
        let token = TokenBuilder::cognito_access(&iss, CLIENT).sign(&key);
        refused(&l, &token, QUID, "invalid_issuer").await;
    }
    // RS256 only.
    refused(
        &l,
        &access().sign_hs256(b"secret"),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    refused(
        &l,
        &access().alg("PS256").sign(&key),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    // Checks run in errors.md's order: token kind before issuer and audience.
    let id_elsewhere = TokenBuilder::cognito_id("https://elsewhere", "x").sign(&key);
    refused(&l, &id_elsewhere, QUID, "invalid_token_use").await;
}

#[tokio::test]
async fn id_token_registrations_check_aud() {
    let idp = MockIdp::start().await;
    let keys = format!("{KEYS}\ntoken_use = \"id\"");
    let l = layer(&idp, &keys, "");
    let key = idp.signing_key();

    accepted(
        &l,
        &TokenBuilder::cognito_id(ISSUER, CLIENT).sign(&key),
        QUID,
    )
    .await;
    let access = TokenBuilder::cognito_access(ISSUER, CLIENT).sign(&key);
    refused(&l, &access, QUID, "invalid_token_use").await;
    let other = TokenBuilder::cognito_id(ISSUER, "someotherclient").sign(&key);
    refused(&l, &other, QUID, "invalid_audience").await;
}
