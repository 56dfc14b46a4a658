//! `azure-ad`: v1/v2 issuers by `ver`, single- and multi-tenant with the
//! `{tenantid}` template filled from a GUID `tid`, the signing key's
//! `issuer` restriction.

use serde_json::json;
use tower_fedauth::testkit::{MockIdp, TestKey, TokenBuilder};

use super::{accepted, layer, refused};

const X: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const Y: &str = "0b6a2c1e-3f4d-4e5a-9b8c-7d6e5f4a3b2c";
const CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
/// The reference example of the registry format (its property table goes
/// after `jwks_uri`).
const KEYS: &str = "id = \"quid-azure-1\"\nname = \"Contoso dashboard\"\nprovider = \"azure-ad\"\n\
                    tenant = \"72f988bf-86f1-41af-91ab-2d7cd011db47\"\n\
                    client_id = \"6e74172b-be56-4843-9ff4-e66a39bb12e3\"\nroles = [\"reader\"]";
const TABLES: &str = "[registrations.properties]\n\"property-42\" = [\"admin\", \"reader\"]";
const QUID: &str = "quid-azure-1";

fn multi_tenant(tenant: &str) -> String {
    format!(
        "id = \"{QUID}\"\nprovider = \"azure-ad\"\ntenant = \"{tenant}\"\nclient_id = \"{CLIENT}\""
    )
}

fn v2_iss(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/v2.0")
}

#[tokio::test]
async fn single_tenant_v1_and_v2() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, KEYS, TABLES);
    let key = idp.signing_key();

    let v2 = TokenBuilder::azure_ad_v2(X, CLIENT)
        .claim("roles", ["admin"])
        .claim("groups", ["g-admins"])
        .sign(&key);
    let body = accepted(&l, &v2, QUID).await;
    assert_eq!(body["issuer"], v2_iss(X));
    assert_eq!(body["principal"]["username"], "alice@contoso.example");
    assert_eq!(
        body["roles"],
        json!(["reader"]),
        "token roles grant nothing"
    );
    let v1 = TokenBuilder::azure_ad_v1(X, CLIENT).sign(&key);
    let body = accepted(&l, &v1, QUID).await;
    assert_eq!(body["issuer"], format!("https://sts.windows.net/{X}/"));

    // `version` restricts the forms; `ver` selects which applies.
    let v2_only = layer(&idp, &format!("{KEYS}\nversion = 2"), "");
    accepted(&v2_only, &v2, QUID).await;
    refused(&v2_only, &v1, QUID, "invalid_issuer").await;
    let v1_only = layer(&idp, &format!("{KEYS}\nversion = 1"), "");
    accepted(&v1_only, &v1, QUID).await;
    refused(&v1_only, &v2, QUID, "invalid_issuer").await;
    // A v2 token claiming the v1 issuer form, or no `ver` at all.
    let mixed = TokenBuilder::azure_ad_v2(X, CLIENT)
        .issuer(format!("https://sts.windows.net/{X}/"))
        .sign(&key);
    refused(&l, &mixed, QUID, "invalid_issuer").await;
    let no_ver = TokenBuilder::azure_ad_v2(X, CLIENT)
        .remove_claim("ver")
        .sign(&key);
    refused(&l, &no_ver, QUID, "invalid_issuer").await;
}

#[tokio::test]
async fn single_tenant_refusals() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, KEYS, TABLES);
    let key = idp.signing_key();
    let v2 = || TokenBuilder::azure_ad_v2(X, CLIENT);

    // Token of tenant X with the issuer of tenant Y, and a token of tenant Y.
    refused(
        &l,
        &v2().issuer(v2_iss(Y)).sign(&key),
        QUID,
        "invalid_issuer",
    )
    .await;
    let y = TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&key);
    refused(&l, &y, QUID, "invalid_issuer").await;
    refused(
        &l,
        &v2().remove_claim("tid").sign(&key),
        QUID,
        "invalid_issuer",
    )
    .await;
    let other_app = TokenBuilder::azure_ad_v2(X, "00000000-0000-0000-0000-000000000001").sign(&key);
    refused(&l, &other_app, QUID, "invalid_audience").await;
    refused(
        &l,
        &v2().sign_hs256(b"secret"),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    refused(
        &l,
        &v2().alg("PS256").sign(&key),
        QUID,
        "unsupported_algorithm",
    )
    .await;
    let ids_only = layer(&idp, &format!("{KEYS}\ntoken_use = \"id\""), "");
    let at = v2().header("typ", "at+jwt").sign(&key);
    refused(&ids_only, &at, QUID, "invalid_token_use").await;
}

#[tokio::test]
async fn multi_tenant_fills_the_template_from_tid() {
    let idp = MockIdp::start().await;
    let l = layer(&idp, &multi_tenant("common"), "");
    let key = idp.signing_key();

    accepted(&l, &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&key), QUID).await;
    accepted(&l, &TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&key), QUID).await;
    accepted(&l, &TokenBuilder::azure_ad_v1(Y, CLIENT).sign(&key), QUID).await;
    // `tid` X, `iss` of tenant Y: the filled template does not match.
    let crossed = TokenBuilder::azure_ad_v2(X, CLIENT)
        .issuer(v2_iss(Y))
        .sign(&key);
    refused(&l, &crossed, QUID, "invalid_issuer").await;
    // `tid` must be a GUID, even when `iss` is built from the same value.
    for tid in ["contoso", "{tenantid}", "72f988bf86f141af91ab2d7cd011db47"] {
        let token = TokenBuilder::azure_ad_v2(tid, CLIENT).sign(&key);
        refused(&l, &token, QUID, "invalid_issuer").await;
    }
    let numeric_tid = TokenBuilder::azure_ad_v2(X, CLIENT)
        .claim("tid", 7)
        .sign(&key);
    refused(&l, &numeric_tid, QUID, "invalid_issuer").await;
    // The template itself is not an issuer.
    let template = TokenBuilder::azure_ad_v2(X, CLIENT)
        .issuer(v2_iss("{tenantid}"))
        .sign(&key);
    refused(&l, &template, QUID, "invalid_issuer").await;

    // `consumers` accepts only the personal-account tenant, `organizations` all others.
    let msa = tower_fedauth::providers::CONSUMERS_TENANT_ID;
    let consumers = layer(&idp, &multi_tenant("consumers"), "");
    accepted(
        &consumers,
        &TokenBuilder::azure_ad_v2(msa, CLIENT).sign(&key),
        QUID,
    )
    .await;
    refused(
        &consumers,
        &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&key),
        QUID,
        "invalid_issuer",
    )
    .await;
    let orgs = layer(&idp, &multi_tenant("organizations"), "");
    accepted(
        &orgs,
        &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&key),
        QUID,
    )
    .await;
    refused(
        &orgs,
        &TokenBuilder::azure_ad_v2(msa, CLIENT).sign(&key),
        QUID,
        "invalid_issuer",
    )
    .await;
}

#[tokio::test]
async fn a_key_of_tenant_x_does_not_sign_for_tenant_y() {
    let x_key = TestKey::rsa("x-key");
    let shared_key = TestKey::rsa("shared-key");
    let idp = MockIdp::start_with_keys(vec![x_key.clone(), shared_key.clone()]).await;
    let mut x_jwk = x_key.public_jwk();
    x_jwk["issuer"] = json!(v2_iss(X));
    let mut shared_jwk = shared_key.public_jwk();
    shared_jwk["issuer"] = json!(v2_iss("{tenantid}"));
    idp.set_raw_jwks(Some(json!({ "keys": [x_jwk, shared_jwk] }).to_string()));
    let l = layer(&idp, &multi_tenant("common"), "");

    accepted(&l, &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&x_key), QUID).await;
    // The same tenant in the v1 form is still tenant X.
    accepted(&l, &TokenBuilder::azure_ad_v1(X, CLIENT).sign(&x_key), QUID).await;
    let for_y = TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&x_key);
    refused(&l, &for_y, QUID, "invalid_issuer").await;
    // A key whose issuer is the template signs for any tenant.
    accepted(
        &l,
        &TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&shared_key),
        QUID,
    )
    .await;
}
