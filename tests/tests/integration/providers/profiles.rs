//! Token profiles (issue 22) beyond the audience: `issuer` lists (an IdP
//! moving to a custom domain: any passes, discovery from the first) and
//! `required_claims` (exact with the JSON type, one-of, array
//! contains-one-of) on signed tokens, introspection and verification
//! answers; the load-time rules of the new keys.

use fedauth_tests::*;
use serde_json::{Value, json};
use tower_fedauth::FedAuthLayer;
use tower_fedauth::registry::{RegistryFormat, parse_registry_str};
use tower_fedauth::testkit::{MockAnswer, MockIdp, MockOpaqueIdp, TestKey, TokenBuilder};

use super::api_audience::{now, refusal};
use super::{accepted, layer, refused};

const QUID: &str = "quid-p";
const NEW: &str = "https://login.acme.example";

#[tokio::test]
async fn any_issuer_of_a_list_passes() {
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let keys = format!(
        "id = \"{QUID}\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\nissuer = [\"{NEW}\", \"{}\"]",
        idp.issuer()
    );
    let l = layer(&idp, &keys, "");
    let body = accepted(&l, &idp.token().sign(&key), QUID).await;
    assert_eq!(body["issuer"], idp.issuer());
    let body = accepted(&l, &idp.token().issuer(NEW).sign(&key), QUID).await;
    assert_eq!(body["issuer"], NEW);
    for other in ["https://other.example", "https://login.acme.example/", ""] {
        let token = idp.token().issuer(other).sign(&key);
        let msg = refusal(&l, &token, QUID, "invalid_issuer").await;
        assert!(msg.contains("is not the registration's issuer"), "{msg}");
    }
    let msg = refusal(
        &l,
        &idp.token().remove_claim("iss").sign(&key),
        QUID,
        "invalid_issuer",
    )
    .await;
    assert_eq!(msg, "iss is missing");

    // The same list on an Auth0 registration overrides the derived issuer.
    let auth0 = format!(
        "id = \"{QUID}\"\nprovider = \"auth0\"\ndomain = \"acme.eu.auth0.com\"\nclient_id = \"app-1\"\n\
         issuer = [\"{NEW}/\", \"https://acme.eu.auth0.com/\"]"
    );
    let l = layer(&idp, &auth0, "");
    for iss in [format!("{NEW}/"), "https://acme.eu.auth0.com/".to_owned()] {
        accepted(&l, &idp.token().issuer(&iss).sign(&key), QUID).await;
    }
    refused(&l, &idp.token().sign(&key), QUID, "invalid_issuer").await;
}

#[tokio::test]
async fn discovery_starts_at_the_first_issuer() {
    // Distinct kids: a key of the other IdP is not in the set at all.
    let first = MockIdp::start_with_keys(vec![TestKey::rsa("first-1")]).await;
    let second = MockIdp::start_with_keys(vec![TestKey::rsa("second-1")]).await;
    let oidc = |issuers: [&MockIdp; 2]| {
        let toml = format!(
            "[[registrations]]\nid = \"{QUID}\"\nprovider = \"oidc\"\nclient_id = \"app-1\"\n\
             issuer = [\"{}\", \"{}\"]\n",
            issuers[0].issuer(),
            issuers[1].issuer()
        );
        FedAuthLayer::new(builder(&toml).build())
    };
    let l = oidc([&first, &second]);
    // Keys come from the first issuer's discovery; `iss` may be either.
    let by_first = |iss: String| first.token().issuer(iss).sign(&first.signing_key());
    let body = accepted(&l, &by_first(second.issuer()), QUID).await;
    assert_eq!(body["issuer"], second.issuer());
    accepted(&l, &by_first(first.issuer()), QUID).await;
    let by_second = second.token().sign(&second.signing_key());
    refused(&l, &by_second, QUID, "unknown_key").await;
    assert!(first.discovery_fetches() >= 1 && first.jwks_fetches() >= 1);
    assert_eq!((second.discovery_fetches(), second.jwks_fetches()), (0, 0));

    // The other order: the other IdP's keys.
    let l = oidc([&second, &first]);
    accepted(&l, &by_second, QUID).await;
    refused(&l, &by_first(first.issuer()), QUID, "unknown_key").await;
    assert!(second.discovery_fetches() >= 1);
}

/// A `jwks` registration requiring `email_verified = true`, `tid` one of
/// two, `level = 2` and one of two groups; roles from the registry only.
fn required(idp: &MockIdp) -> FedAuthLayer {
    let keys = format!(
        "id = \"{QUID}\"\nprovider = \"jwks\"\nclient_id = \"app-1\"\nissuer = \"{}\"\n\
         roles = [\"reader\"]\n\
         required_claims = {{ email_verified = true, tid = [\"tenant-a\", \"tenant-b\"], level = 2, \
         groups = [\"g-admins\", \"g-ops\"] }}",
        idp.issuer()
    );
    layer(idp, &keys, "")
}

fn passing(idp: &MockIdp) -> TokenBuilder {
    idp.token()
        .claim("email_verified", true)
        .claim("tid", "tenant-a")
        .claim("level", 2)
        .claim("groups", ["g-ops"])
}

#[tokio::test]
async fn required_claims_match_exactly_one_of_or_contained() {
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let l = required(&idp);

    let body = accepted(&l, &passing(&idp).sign(&key), QUID).await;
    assert_eq!(
        body["roles"],
        json!(["reader"]),
        "required claims grant nothing"
    );
    // One of a list; an array claim holding one of the values; a number by value.
    for (claim, value) in [
        ("tid", json!("tenant-b")),
        ("tid", json!(["tenant-x", "tenant-b"])),
        ("groups", json!("g-admins")),
        ("groups", json!(["g-x", "g-admins", "g-ops"])),
        ("level", json!(2.0)),
        ("email_verified", json!([false, true])),
    ] {
        let token = passing(&idp).claim(claim, &value).sign(&key);
        accepted(&l, &token, QUID).await;
    }
    // Different, or the right value with another JSON type.
    for (claim, value) in [
        ("email_verified", json!("true")),
        ("email_verified", json!(false)),
        ("email_verified", json!(1)),
        ("level", json!("2")),
        ("level", json!(3)),
        ("tid", json!("tenant-secret-c")),
        ("tid", json!(["tenant-secret-c"])),
        ("tid", json!({"tenant-a": true})),
        ("tid", Value::Null),
        ("groups", json!([])),
        ("groups", json!("g-admins g-ops")),
    ] {
        let token = passing(&idp).claim(claim, &value).sign(&key);
        let a = call_with(&l, &token, QUID).await;
        assert_refused(&a, 401, "invalid_claims", Some("invalid_token"));
        let msg = a.body["details"][0]["msg"].as_str().unwrap();
        assert_eq!(
            msg,
            format!("the required claim `{claim}` does not have a required value"),
            "{claim} = {value}"
        );
        // The detail names the claim, never the token's value.
        let shown = format!("{} {:?}", a.body, a.www_authenticate());
        assert!(!shown.contains("tenant-secret-c"), "{shown}");
        assert!(!shown.contains("g-admins g-ops"), "{shown}");
    }
    for claim in ["email_verified", "tid", "level", "groups"] {
        let token = passing(&idp).remove_claim(claim).sign(&key);
        let msg = refusal(&l, &token, QUID, "invalid_claims").await;
        assert_eq!(msg, format!("the required claim `{claim}` is missing"));
    }
    // The Claims step comes after audience and time.
    let both = passing(&idp).remove_claim("tid");
    let expired = both.clone().expires_in(-3600).sign(&key);
    refused(&l, &expired, QUID, "token_expired").await;
    refused(
        &l,
        &both.audience("app-2").sign(&key),
        QUID,
        "invalid_audience",
    )
    .await;
}

#[tokio::test]
async fn required_claims_on_introspection_and_verification_answers() {
    let idp = MockOpaqueIdp::start().await;
    let toml = format!(
        "[[registrations]]\nid = \"quid-i\"\nprovider = \"introspection\"\nclient_id = \"app-3\"\n\
         required_claims = {{ tid = [\"tenant-a\", \"tenant-b\"] }}\n\
         [registrations.introspection]\nendpoint = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\n\
         [[registrations]]\nid = \"quid-v\"\nprovider = \"verification-endpoint\"\n\
         required_claims = {{ verified = true }}\n\
         [registrations.verification]\nurl = \"{}\"\nmethod = \"GET\"\nparams = {{ t = \"#{{token}}\" }}\n\
         response = {{ uid = \"#{{user.id}}\" }}\n",
        idp.introspection_url(),
        tower_fedauth::testkit::opaque::DEFAULT_RS_CLIENT_ID,
        tower_fedauth::testkit::opaque::DEFAULT_RS_SECRET,
        idp.verification_url(),
    );
    let l = FedAuthLayer::new(builder(&toml).build());
    let active = |tid: Value| json!({"active": true, "sub": "alice", "client_id": "app-3", "exp": now() + 300, "tid": tid});
    idp.set_introspection("in-1", active(json!("tenant-b")));
    idp.set_introspection("in-2", active(json!("tenant-secret-c")));
    idp.set_introspection(
        "in-3",
        json!({"active": true, "sub": "alice", "client_id": "app-3"}),
    );
    // A verification endpoint's JSON answer stands for the claims.
    let answer = |verified: Value| json!({"user": {"id": 7}, "verified": verified});
    idp.set_verification_answer_for("v-ok", MockAnswer::json(200, answer(json!(true))));
    idp.set_verification_answer_for("v-str", MockAnswer::json(200, answer(json!("true"))));
    idp.set_verification_answer_for("v-none", MockAnswer::json(200, json!({"user": {"id": 7}})));

    let body = accepted(&l, "in-1", "quid-i").await;
    assert_eq!(body["claims"]["tid"], "tenant-b");
    assert_eq!(accepted(&l, "v-ok", "quid-v").await["subject"], "7");
    for (quid, token, claim, why) in [
        ("quid-i", "in-2", "tid", "does not have a required value"),
        ("quid-i", "in-3", "tid", "is missing"),
        (
            "quid-v",
            "v-str",
            "verified",
            "does not have a required value",
        ),
        ("quid-v", "v-none", "verified", "is missing"),
    ] {
        let msg = refusal(&l, token, quid, "invalid_claims").await;
        assert_eq!(
            msg,
            format!("the required claim `{claim}` {why}"),
            "{token}"
        );
        assert!(!msg.contains("tenant-secret-c"));
    }
}

/// Each bad value of the new keys is refused at load, naming the field.
#[test]
fn profile_keys_are_refused_at_load_naming_the_field() {
    let head = "[[registrations]]\nid = \"quid-bad\"\nprovider = \"jwks\"\nclient_id = \"a\"\n\
                jwks_uri = \"https://idp.example.com/keys\"\n";
    for (extra, field, says) in [
        ("audiences = []", "audiences", "must not be empty"),
        ("issuer = []", "issuer", "must not be an empty list"),
        ("issuer = [\"https://a\", 1]", "issuer", "expected a string"),
        (
            "required_claims = { tid = { id = \"a\" } }",
            "required_claims.tid",
            "not a table",
        ),
        (
            "required_claims = { tid = [] }",
            "required_claims.tid",
            "empty list",
        ),
        (
            "required_claims = { tid = [[\"a\"]] }",
            "required_claims.tid",
            "a list inside the list",
        ),
        (
            "required_claims = {}",
            "required_claims",
            "must not be empty",
        ),
    ] {
        let err =
            parse_registry_str(&format!("{head}{extra}\n"), RegistryFormat::Toml).unwrap_err();
        let inner = err.registration_error().expect("a registration error");
        assert_eq!(inner.field, field, "{extra}");
        assert_eq!(inner.registration.as_deref(), Some("quid-bad"));
        assert!(inner.message.contains(says), "{extra}: {}", inner.message);
    }
    let firebase = "[[registrations]]\nid = \"quid-bad\"\nprovider = \"firebase\"\nproject_id = \"p\"\n\
                    audiences = [\"https://api\"]\n";
    let err = parse_registry_str(firebase, RegistryFormat::Toml).unwrap_err();
    assert_eq!(err.registration_error().unwrap().field, "audiences");
}

/// Every registration of `docs/access-tokens.md` (one per IdP) and the
/// token-profile examples of `docs/registry.md` load as written.
#[test]
fn the_documented_registrations_load() {
    let blocks = |page: &'static str| -> Vec<&'static str> {
        page.split("```toml\n")
            .skip(1)
            .filter_map(|rest| rest.split("```").next())
            .filter(|b| b.contains("[[registrations]]"))
            .collect()
    };
    let load = |block: &str| {
        let regs = parse_registry_str(block, RegistryFormat::Toml)
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        assert_eq!(regs.len(), 1, "{block}");
        regs.into_iter().next().unwrap()
    };
    let page: Vec<_> = blocks(include_str!("../../../../docs/access-tokens.md"))
        .into_iter()
        .map(load)
        .collect();
    let ids: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "quid-auth0-api",
            "quid-okta-api",
            "quid-entra-api",
            "quid-cognito-api",
            "quid-oidc-api",
            "quid-narrow-api"
        ]
    );
    for reg in &page {
        let cognito = reg.id.as_str() == "quid-cognito-api";
        assert_eq!(reg.audiences.is_empty(), cognito, "{}", reg.id);
    }
    assert_eq!(page[5].issuer.len(), 2);
    assert_eq!(
        page[5].required_claims.get("https://shop.example/plan"),
        Some(&[json!("pro"), json!("enterprise")][..])
    );
    let mut moving = 0;
    for block in blocks(include_str!("../../../../docs/registry.md")) {
        let regs = parse_registry_str(block, RegistryFormat::Toml)
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        for reg in regs.iter().filter(|r| r.id.as_str() == "quid-moving-1") {
            assert_eq!(reg.issuer.len(), 2);
            moving += 1;
        }
    }
    assert_eq!(moving, 1, "the issuer-list example of docs/registry.md");
}

/// The test kit's helpers for what route requirements read.
#[tokio::test]
async fn testkit_scope_and_step_up_helpers() {
    let idp = MockIdp::start().await;
    let l = layer(
        &idp,
        &format!("id = \"{QUID}\"\nprovider = \"jwks\"\nclient_id = \"app-1\""),
        "",
    );
    let token = idp
        .token()
        .scope("read write")
        .scp("user.read")
        .acr("urn:mfa")
        .authenticated_ago(30)
        .sign(&idp.signing_key());
    let claims = &accepted(&l, &token, QUID).await["claims"];
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["scp"], "user.read");
    assert_eq!(claims["acr"], "urn:mfa");
    let ago = now() - claims["auth_time"].as_i64().unwrap();
    assert!((30..35).contains(&ago), "{ago}");
    let list = idp.token().scp_list(["a", "b"]).auth_time(7);
    assert_eq!(list.claims()["scp"], json!(["a", "b"]));
    assert_eq!(list.claims()["auth_time"], 7);
}

/// The README's "Access tokens for your API" block: one registration per
/// IdP, each with the audience rule it documents.
#[test]
fn the_readme_access_token_registrations_load() {
    let readme = include_str!("../../../../README.md");
    let block = readme
        .split("## Access tokens for your API")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README has the access-token block");
    let regs = parse_registry_str(block, RegistryFormat::Toml).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = regs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "quid-auth0-api",
            "quid-okta-api",
            "quid-entra-api",
            "quid-cognito-api",
            "quid-oidc-api"
        ]
    );
    assert_eq!(regs[0].audiences, ["https://api.platform.example"]);
    assert!(
        regs[3].audiences.is_empty(),
        "Cognito keeps its client_id rule"
    );
    assert!(!regs[4].required_claims.is_empty());
}
