//! The IdP check against a real mock IdP on 127.0.0.1, through the test
//! egress policy.

use serde_json::json;

use super::probe::{IdpProbe, ProbeField, ProbeProblem};
use crate::keys::FetchConfig;
use crate::registration::Registration;
use crate::testkit::{MockIdp, TestKey, local_egress};

fn probe() -> IdpProbe {
    IdpProbe::new(FetchConfig::default().egress(local_egress()))
}

fn reg(doc: serde_json::Value) -> Registration {
    Registration::from_document(&doc).expect("a valid registration")
}

fn oidc(idp: &MockIdp) -> Registration {
    reg(json!({"id": "r", "issuer": idp.issuer(), "client_id": "app"}))
}

#[tokio::test]
async fn discovery_then_keys_pass_and_fetch_both() {
    let idp = MockIdp::start().await;
    probe().check(&oidc(&idp)).await.unwrap();
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (1, 1));
}

#[tokio::test]
async fn a_discovery_naming_another_issuer_is_a_mismatch_of_issuer() {
    let idp = MockIdp::start().await;
    idp.set_discovery_issuer(Some("https://other.example".into()));
    let e = probe().check(&oidc(&idp)).await.unwrap_err();
    assert_eq!(
        (e.field, e.problem),
        (ProbeField::Issuer, ProbeProblem::IssuerMismatch)
    );
    assert_eq!(idp.jwks_fetches(), 0);
}

#[tokio::test]
async fn keys_of_no_allowed_algorithm_are_no_usable_key_of_jwks_uri() {
    let idp = MockIdp::start_with_keys(vec![TestKey::rsa("k")]).await;
    let r = reg(json!({
        "id": "r", "provider": "jwks", "client_id": "app",
        "jwks_uri": idp.jwks_uri(), "algorithms": ["ES256"],
    }));
    let e = probe().check(&r).await.unwrap_err();
    assert_eq!(
        (e.field, e.problem),
        (ProbeField::JwksUri, ProbeProblem::NoUsableSigningKey)
    );
    assert_eq!(idp.discovery_fetches(), 0);
}

#[tokio::test]
async fn an_address_the_policy_refuses_is_not_reachable_and_never_contacted() {
    let idp = MockIdp::start().await;
    let url = idp.jwks_uri().replace("127.0.0.1", "127.0.0.2");
    let r = reg(json!({
        "id": "r", "issuer": idp.issuer(), "client_id": "app",
        "discovery_url": idp.discovery_url(), "jwks_uri": url,
    }));
    let e = probe().check(&r).await.unwrap_err();
    assert_eq!(
        (e.field, e.problem),
        (ProbeField::JwksUri, ProbeProblem::NotReachable)
    );
    assert!(e.detail.contains("egress"), "{}", e.detail);
    assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (0, 0));
}

#[tokio::test]
async fn an_outage_of_the_discovery_url_names_it() {
    let idp = MockIdp::start().await;
    idp.set_outage(true);
    let r = reg(json!({
        "id": "r", "issuer": idp.issuer(), "client_id": "app",
        "discovery_url": idp.discovery_url(),
    }));
    let e = probe().check(&r).await.unwrap_err();
    assert_eq!(
        (e.field, e.problem),
        (ProbeField::DiscoveryUrl, ProbeProblem::NotReachable)
    );
}

#[tokio::test]
async fn opaque_token_providers_are_not_fetched() {
    let r = reg(json!({
        "id": "r", "provider": "introspection", "client_id": "app",
        "introspection": {"endpoint": "https://127.0.0.2/i", "client_id": "rs", "client_secret": "s"},
    }));
    probe().check(&r).await.unwrap();
}
