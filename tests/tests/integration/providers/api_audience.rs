//! Access tokens for the platform's API (`audiences`, issue 22): `aud`
//! names one of the registration's API identifiers instead of the client
//! id, and the token's authorized party (the first of
//! `authorized_party_claims` it carries) is the client — with the token
//! shapes of Auth0, Okta, Entra ID (v1 `appid`, v2 `azp`, `api://` and GUID
//! forms), RFC 9068 and introspection answers; Cognito keeps its rule.

use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::testkit::{MockIdp, MockOpaqueIdp, TokenBuilder};

use super::{accepted, layer, refused};

const API: &str = "https://api.platform.example";
const QUID: &str = "quid-api";

/// Seconds since the epoch.
pub(super) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A refusal with `code` (401, `invalid_token`); returns `details[0].msg`.
pub(super) async fn refusal(l: &FedAuthLayer, token: &str, quid: &str, code: &str) -> String {
    let a = call_with(l, token, quid).await;
    assert_refused(&a, 401, code, Some("invalid_token"));
    a.body["details"][0]["msg"]
        .as_str()
        .expect("a detail")
        .to_owned()
}

/// A `jwks` registration for client `app-1` at the mock IdP, plus `extra`.
fn jwks(idp: &MockIdp, extra: &str) -> String {
    format!(
        "id = \"{QUID}\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\nissuer = \"{}\"\nroles = [\"reader\"]\n{extra}",
        idp.issuer()
    )
}

#[tokio::test]
async fn the_api_is_the_audience_and_the_client_the_authorized_party() {
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let l = layer(&idp, &jwks(&idp, &format!("audiences = [\"{API}\"]")), "");
    let api = || idp.token().audience(API);

    // RFC 9068: `typ: at+jwt`, the party in `client_id`.
    let at = TokenBuilder::rfc9068_access(&idp.issuer(), API, "app-1").sign(&key);
    let body = accepted(&l, &at, QUID).await;
    assert_eq!(body["claims"]["aud"], API);
    assert_eq!(body["claims"]["client_id"], "app-1");
    assert_eq!(body["roles"], json!(["reader"]));
    // Each default party claim, with one audience or several.
    let no_party = "the token names no authorized party (azp, client_id, appid, cid)";
    for party in ["azp", "client_id", "appid", "cid"] {
        accepted(&l, &api().claim(party, "app-1").sign(&key), QUID).await;
        let several = idp.token().claim("aud", [API, "https://other.example"]);
        accepted(&l, &several.claim(party, "app-1").sign(&key), QUID).await;
        let wrong = api().claim(party, "app-2").sign(&key);
        assert_eq!(
            refusal(&l, &wrong, QUID, "invalid_audience").await,
            format!("the authorized party ({party}) is not the registration's client")
        );
    }
    // No party, even with a single audience.
    let msg = refusal(&l, &api().sign(&key), QUID, "invalid_audience").await;
    assert_eq!(msg, no_party);
    // The first party claim present decides.
    let first = api().claim("azp", "app-2").claim("client_id", "app-1");
    refusal(&l, &first.sign(&key), QUID, "invalid_audience").await;
    let not_text = api().claim("azp", json!(["app-1"])).sign(&key);
    assert_eq!(
        refusal(&l, &not_text, QUID, "invalid_audience").await,
        "the authorized party (azp) is not a string"
    );

    // The API missing from `aud`: the client id no longer serves.
    let not_api = "aud does not name one of the registration's audiences";
    for aud in [
        json!("app-1"),
        json!(["app-1"]),
        json!(["https://other.example", "app-1"]),
    ] {
        let token = idp
            .token()
            .claim("aud", aud)
            .claim("azp", "app-1")
            .sign(&key);
        assert_eq!(refusal(&l, &token, QUID, "invalid_audience").await, not_api);
    }
    let api_slash = idp
        .token()
        .audience(&format!("{API}/"))
        .claim("azp", "app-1");
    assert_eq!(
        refusal(&l, &api_slash.sign(&key), QUID, "invalid_audience").await,
        not_api,
        "compared exactly"
    );
    let no_aud = idp.token().remove_claim("aud").claim("azp", "app-1");
    assert_eq!(
        refusal(&l, &no_aud.sign(&key), QUID, "invalid_audience").await,
        "aud is missing"
    );
    // Audience comes before time in the order of checks.
    let expired = api().claim("azp", "app-2").expires_in(-3600).sign(&key);
    refused(&l, &expired, QUID, "invalid_audience").await;
    let expired = api().claim("azp", "app-1").expires_in(-3600).sign(&key);
    refused(&l, &expired, QUID, "token_expired").await;

    // Without `audiences`, as before: `aud` must name the client.
    let plain = layer(&idp, &jwks(&idp, ""), "");
    refused(&plain, &at, QUID, "invalid_audience").await;
    accepted(&plain, &idp.token().sign(&key), QUID).await;

    // A registration's own party claims replace the default.
    let cid_only = layer(
        &idp,
        &jwks(
            &idp,
            &format!("audiences = [\"{API}\"]\nauthorized_party_claims = [\"cid\"]"),
        ),
        "",
    );
    accepted(&cid_only, &api().claim("cid", "app-1").sign(&key), QUID).await;
    assert_eq!(
        refusal(&cid_only, &at, QUID, "invalid_audience").await,
        "the token names no authorized party (cid)"
    );
}

#[tokio::test]
async fn auth0_and_okta_access_tokens() {
    const CLIENT: &str = "vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN";
    let idp = MockIdp::start().await;
    let key = idp.signing_key();

    let auth0 = format!(
        "id = \"{QUID}\"\nprovider = \"auth0\"\ndomain = \"acme.eu.auth0.com\"\n\
         client_id = \"{CLIENT}\"\naudiences = [\"{API}\"]"
    );
    let l = layer(&idp, &auth0, "");
    let issuer = "https://acme.eu.auth0.com/";
    let token = TokenBuilder::auth0_access(issuer, API, CLIENT);
    let body = accepted(&l, &token.clone().sign(&key), QUID).await;
    assert_eq!(
        body["claims"]["aud"],
        json!([API, "https://acme.eu.auth0.com/userinfo"])
    );
    assert_eq!(body["claims"]["azp"], CLIENT);
    let other = token.clone().claim("azp", "another-app").sign(&key);
    refused(&l, &other, QUID, "invalid_audience").await;
    let no_party = token.remove_claim("azp").sign(&key);
    refused(&l, &no_party, QUID, "invalid_audience").await;
    // An ID token names the client, not the API: refused here.
    let id_token = TokenBuilder::auth0_id(issuer, CLIENT).claim("azp", CLIENT);
    refused(&l, &id_token.sign(&key), QUID, "invalid_audience").await;

    // Okta: `aud` the authorization server's audience, the party in `cid`.
    let okta_iss = "https://acme.okta.com/oauth2/default";
    let okta = format!(
        "id = \"{QUID}\"\nprovider = \"jwks\"\nissuer = \"{okta_iss}\"\n\
         client_id = \"0oa1b2c3d4\"\naudiences = [\"api://default\"]"
    );
    let l = layer(&idp, &okta, "");
    let token = TokenBuilder::okta_access(okta_iss, "api://default", "0oa1b2c3d4");
    let body = accepted(&l, &token.clone().sign(&key), QUID).await;
    assert_eq!(body["claims"]["cid"], "0oa1b2c3d4");
    assert_eq!(body["claims"]["scp"], json!(["openid", "email", "read"]));
    let other = token.clone().claim("cid", "0oa-other").sign(&key);
    refused(&l, &other, QUID, "invalid_audience").await;
    let other_api = token.audience("api://other").sign(&key);
    refused(&l, &other_api, QUID, "invalid_audience").await;
}

#[tokio::test]
async fn entra_api_forms_only_when_listed() {
    const X: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    const API_ID: &str = "0b6a2c1e-3f4d-4e5a-9b8c-7d6e5f4a3b2c";
    let uri = format!("api://{API_ID}");
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let entra = |audiences: &str| {
        let keys = format!(
            "id = \"{QUID}\"\nprovider = \"azure-ad\"\ntenant = \"{X}\"\n\
             client_id = \"{CLIENT}\"\naudiences = {audiences}"
        );
        layer(&idp, &keys, "")
    };
    let v1 = |api: &str| TokenBuilder::azure_ad_v1_access(X, api, CLIENT);
    let v2 = |api: &str| TokenBuilder::azure_ad_v2_access(X, api, CLIENT);

    // `api://{GUID}` listed: v1 tokens name it, v2 tokens the bare GUID.
    for l in [
        entra(&format!("[\"{uri}\"]")),
        entra(&format!("[\"{API_ID}\"]")),
    ] {
        let body = accepted(&l, &v1(&uri).sign(&key), QUID).await;
        assert_eq!(body["claims"]["appid"], CLIENT);
        assert_eq!(body["claims"]["scp"], "access_as_user");
        let body = accepted(&l, &v2(API_ID).sign(&key), QUID).await;
        assert_eq!(body["claims"]["azp"], CLIENT);
        // v1 names the caller in `appid`, v2 in `azp`: a wrong or missing one.
        let wrong = v1(&uri).claim("appid", "someone-else").sign(&key);
        refused(&l, &wrong, QUID, "invalid_audience").await;
        refused(
            &l,
            &v2(API_ID).remove_claim("azp").sign(&key),
            QUID,
            "invalid_audience",
        )
        .await;
        // Another API, or the caller's own id (an ID token's audience).
        let other = format!("api://{X}");
        refused(&l, &v1(&other).sign(&key), QUID, "invalid_audience").await;
        refused(&l, &v2(CLIENT).sign(&key), QUID, "invalid_audience").await;
    }

    // A custom Application ID URI matches as written, and no GUID stands for it.
    let custom = entra("[\"https://api.contoso.example\"]");
    accepted(&custom, &v1("https://api.contoso.example").sign(&key), QUID).await;
    let msg = refusal(&custom, &v2(API_ID).sign(&key), QUID, "invalid_audience").await;
    assert_eq!(msg, "aud does not name one of the registration's audiences");

    // Without `audiences`, an Entra access token for an API is refused.
    let plain = layer(
        &idp,
        &format!(
            "id = \"{QUID}\"\nprovider = \"azure-ad\"\ntenant = \"{X}\"\nclient_id = \"{CLIENT}\""
        ),
        "",
    );
    refused(&plain, &v2(API_ID).sign(&key), QUID, "invalid_audience").await;
}

#[tokio::test]
async fn cognito_access_tokens_keep_their_client_id_rule() {
    const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let keys = "id = \"quid-cog\"\nprovider = \"cognito\"\nregion = \"eu-west-1\"\n\
                user_pool_id = \"eu-west-1_AbCdEf123\"\nclient_id = \"cog-client\"";
    let l = layer(&idp, keys, "");
    let access = || TokenBuilder::cognito_access(ISSUER, "cog-client");
    accepted(&l, &access().sign(&key), "quid-cog").await;
    // An API audience and a right `azp` do not stand in for `client_id`.
    let other = TokenBuilder::cognito_access(ISSUER, "other")
        .audience(API)
        .claim("azp", "cog-client");
    assert_eq!(
        refusal(&l, &other.sign(&key), "quid-cog", "invalid_audience").await,
        "client_id does not name the registration's client"
    );
    // And a Cognito registration cannot name `audiences` at all.
    let err = tower_fedauth::registry::parse_registry_str(
        &format!("[[registrations]]\n{keys}\naudiences = [\"{API}\"]\n"),
        tower_fedauth::registry::RegistryFormat::Toml,
    )
    .unwrap_err();
    assert_eq!(err.registration_error().unwrap().field, "audiences");
}

#[tokio::test]
async fn introspection_answers_name_the_api_and_the_client() {
    let idp = MockOpaqueIdp::start().await;
    let toml = format!(
        "[[registrations]]\nid = \"{QUID}\"\nprovider = \"introspection\"\nclient_id = \"app-3\"\n\
         audiences = [\"{API}\"]\n[registrations.introspection]\nendpoint = \"{}\"\n\
         client_id = \"{}\"\nclient_secret = \"{}\"\n",
        idp.introspection_url(),
        tower_fedauth::testkit::opaque::DEFAULT_RS_CLIENT_ID,
        tower_fedauth::testkit::opaque::DEFAULT_RS_SECRET,
    );
    let l = FedAuthLayer::new(builder(&toml).build());
    let answer = |aud: serde_json::Value, client: &str| {
        json!({"active": true, "sub": "alice", "aud": aud, "client_id": client,
               "exp": now() + 300})
    };
    idp.set_introspection("ok-1", answer(json!([API, "other"]), "app-3"));
    idp.set_introspection("party-1", answer(json!(API), "app-9"));
    idp.set_introspection("api-1", answer(json!("app-3"), "app-3"));
    let body = accepted(&l, "ok-1", QUID).await;
    assert_eq!(body["subject"], "alice");
    assert_eq!(
        refusal(&l, "party-1", QUID, "invalid_audience").await,
        "client_id of the introspection answer is not the registration's client"
    );
    assert_eq!(
        refusal(&l, "api-1", QUID, "invalid_audience").await,
        "aud of the introspection answer does not name one of the registration's audiences"
    );
}
