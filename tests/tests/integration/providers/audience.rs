//! Tokens with several audiences need their authorized party to be the
//! client (`authorized_party_claims`, default `azp`, `client_id`, `appid`,
//! `cid`); a single audience does not. `typ` is compared as a media type.

use serde_json::json;
use tower_fedauth::testkit::{MockIdp, TokenBuilder};

use super::{accepted, layer, refused};

const API: &str = "https://api.platform.example";

fn jwks(idp: &MockIdp, extra: &str) -> String {
    format!(
        "id = \"quid-1\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\nissuer = \"{}\"\n{extra}",
        idp.issuer()
    )
}

#[tokio::test]
async fn several_audiences_need_the_client_as_authorized_party() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, &jwks(&idp, ""), "");
    let key = idp.signing_key();
    let both = || idp.token().claim("aud", ["app-1", API]);

    let body = accepted(&l, &both().claim("azp", "app-1").sign(&key), "quid-1").await;
    assert_eq!(body["claims"]["azp"], "app-1");
    assert_eq!(body["claims"]["aud"], json!(["app-1", API]));
    // Each default party claim serves when it is the first present.
    for party in ["client_id", "appid", "cid"] {
        accepted(&l, &both().claim(party, "app-1").sign(&key), "quid-1").await;
        let other = both().claim(party, "app-2").sign(&key);
        refused(&l, &other, "quid-1", "invalid_audience").await;
    }
    refused(
        &l,
        &both().claim("azp", "app-2").sign(&key),
        "quid-1",
        "invalid_audience",
    )
    .await;
    refused(&l, &both().sign(&key), "quid-1", "invalid_audience").await;
    // `azp` comes first: a right `client_id` does not rescue a wrong `azp`.
    let wrong_first = both().claim("azp", "app-2").claim("client_id", "app-1");
    refused(&l, &wrong_first.sign(&key), "quid-1", "invalid_audience").await;
    refused(
        &l,
        &both().claim("azp", json!(["app-1"])).sign(&key),
        "quid-1",
        "invalid_audience",
    )
    .await;
    // The client named twice is still more than one value.
    let twice = idp.token().claim("aud", ["app-1", "app-1"]);
    refused(&l, &twice.sign(&key), "quid-1", "invalid_audience").await;
    // A party does not make up for an `aud` that does not name the client.
    let not_named = idp
        .token()
        .claim("aud", ["app-2", API])
        .claim("azp", "app-1");
    refused(&l, &not_named.sign(&key), "quid-1", "invalid_audience").await;

    // One audience, as a string or a one-element array: no party needed,
    // and a party that is another client is not read.
    accepted(
        &l,
        &idp.token().claim("aud", ["app-1"]).sign(&key),
        "quid-1",
    )
    .await;
    accepted(&l, &idp.token().claim("azp", "app-2").sign(&key), "quid-1").await;
}

#[tokio::test]
async fn a_registration_names_its_own_party_claims() {
    let idp = MockIdp::start().await;
    let keys = jwks(&idp, "authorized_party_claims = [\"party\", \"azp\"]");
    let l = layer(&idp, &keys, "");
    let key = idp.signing_key();
    let both = || idp.token().claim("aud", ["app-1", API]);

    accepted(&l, &both().claim("party", "app-1").sign(&key), "quid-1").await;
    accepted(&l, &both().claim("azp", "app-1").sign(&key), "quid-1").await;
    let first_wins = both().claim("party", "app-2").claim("azp", "app-1");
    refused(&l, &first_wins.sign(&key), "quid-1", "invalid_audience").await;
    // `client_id` is not in this registration's list.
    refused(
        &l,
        &both().claim("client_id", "app-1").sign(&key),
        "quid-1",
        "invalid_audience",
    )
    .await;
}

#[tokio::test]
async fn entra_and_cognito_shapes() {
    const X: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let azure = format!(
        "id = \"quid-az\"\nprovider = \"azure-ad\"\ntenant = \"{X}\"\nclient_id = \"{CLIENT}\""
    );
    let l = layer(&idp, &azure, "");
    let v1 = || TokenBuilder::azure_ad_v1(X, CLIENT).claim("aud", [CLIENT, API]);
    // Entra ID v1 names the calling app in `appid`, v2 in `azp`.
    accepted(&l, &v1().claim("appid", CLIENT).sign(&key), "quid-az").await;
    refused(
        &l,
        &v1().claim("appid", "someone-else").sign(&key),
        "quid-az",
        "invalid_audience",
    )
    .await;
    refused(&l, &v1().sign(&key), "quid-az", "invalid_audience").await;
    let v2 = TokenBuilder::azure_ad_v2(X, CLIENT).claim("aud", [CLIENT, API]);
    accepted(&l, &v2.claim("azp", CLIENT).sign(&key), "quid-az").await;

    // Cognito access tokens keep their rule: `client_id`, `aud` not read.
    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
    let cognito = "id = \"quid-cog\"\nprovider = \"cognito\"\nregion = \"eu-west-1\"\n\
                   user_pool_id = \"eu-west-1_AbCdEf123\"\nclient_id = \"cog-client\"";
    let l = layer(&idp, cognito, "");
    let access = || TokenBuilder::cognito_access(ISSUER, "cog-client");
    accepted(&l, &access().sign(&key), "quid-cog").await;
    accepted(
        &l,
        &access().claim("aud", ["x", "y"]).sign(&key),
        "quid-cog",
    )
    .await;
    let other = TokenBuilder::cognito_access(ISSUER, "other").claim("azp", "cog-client");
    refused(&l, &other.sign(&key), "quid-cog", "invalid_audience").await;
}

/// `typ` spellings with `token_use = "access"` and `"id"`: accepted, or
/// refused as exactly `invalid_token_use`.
#[tokio::test]
async fn typ_is_compared_as_a_media_type() {
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let access = layer(&idp, &jwks(&idp, "token_use = \"access\""), "");
    let id = layer(&idp, &jwks(&idp, "token_use = \"id\""), "");
    let any = layer(&idp, &jwks(&idp, ""), "");
    let typed = |typ: &str| idp.token().header("typ", typ).sign(&key);

    for at in [
        "at+jwt",
        "AT+JWT",
        "At+Jwt",
        "application/at+jwt",
        "Application/AT+JWT",
        "APPLICATION/at+JWT",
    ] {
        accepted(&access, &typed(at), "quid-1").await;
        refused(&id, &typed(at), "quid-1", "invalid_token_use").await;
        accepted(&any, &typed(at), "quid-1").await;
    }
    let untyped = idp.token().remove_header("typ").sign(&key);
    for (what, token) in [
        ("JWT", typed("JWT")),
        ("jwt", typed("jwt")),
        ("application/jwt", typed("application/jwt")),
        ("Application/JWT", typed("Application/JWT")),
        ("no typ", untyped),
        // Not the access-token media type, whatever it resembles.
        ("text/at+jwt", typed("text/at+jwt")),
        ("at+jwt with a parameter", typed("application/at+jwt; v=1")),
    ] {
        accepted(&id, &token, "quid-1").await;
        let a = fedauth_tests::call_with(&access, &token, "quid-1").await;
        fedauth_tests::assert_refused(&a, 401, "invalid_token_use", Some("invalid_token"));
        assert!(a.body.to_string().contains("at+jwt"), "{what}: {}", a.body);
    }
}
