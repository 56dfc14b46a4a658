//! What each preset derives from the reference registrations of the
//! registry format (one per provider).

use super::*;
use crate::registration::AzureVersion;
use crate::registry::{RegistryFormat, parse_registry_str};

const EXAMPLES: &str = r#"
[[registrations]]
id = "quid-azure-1"
provider = "azure-ad"
tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
client_id = "6e74172b-be56-4843-9ff4-e66a39bb12e3"

[[registrations]]
id = "quid-azure-common"
provider = "azure-ad"
tenant = "common"
version = 1
client_id = "6e74172b-be56-4843-9ff4-e66a39bb12e3"

[[registrations]]
id = "quid-cognito-1"
provider = "cognito"
region = "eu-west-1"
user_pool_id = "eu-west-1_AbCdEf123"
client_id = "3n4b5urk1ft4fl3mg5e62d9ado"

[[registrations]]
id = "quid-auth0-1"
provider = "auth0"
domain = "acme.eu.auth0.com"
client_id = "vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN"

[[registrations]]
id = "quid-firebase-1"
provider = "firebase"
project_id = "acme-prod"

[[registrations]]
id = "quid-oidc-1"
provider = "oidc"
issuer = "https://idp.example.com"
client_id = "app-1"

[[registrations]]
id = "quid-minimal-1"
provider = "jwks"
client_id = "app-2"
jwks_uri = "https://idp.example.com/keys"

[[registrations]]
id = "quid-cognito-override"
provider = "cognito"
region = "eu-west-1"
user_pool_id = "eu-west-1_AbCdEf123"
client_id = "c"
issuer = "http://127.0.0.1:9/pool/"
"#;

fn reg(id: &str) -> Registration {
    parse_registry_str(EXAMPLES, RegistryFormat::Toml)
        .unwrap()
        .into_iter()
        .find(|r| r.id.as_str() == id)
        .unwrap()
}

fn direct(id: &str) -> String {
    match ProviderRules::new(&reg(id)).key_source() {
        Some(KeySource::Direct(url)) => url.to_string(),
        other => panic!("{id}: {other:?}"),
    }
}

fn discovery(id: &str) -> Option<String> {
    ProviderRules::new(&reg(id))
        .discovery_url()
        .map(|u| u.to_string())
}

fn issuers(id: &str) -> Vec<String> {
    ProviderRules::new(&reg(id)).issuers()
}

#[test]
fn derived_key_urls() {
    const MS: &str = "https://login.microsoftonline.com";
    assert_eq!(
        direct("quid-azure-1"),
        format!("{MS}/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys")
    );
    assert_eq!(
        direct("quid-azure-common"),
        format!("{MS}/common/discovery/keys")
    );
    assert_eq!(
        direct("quid-cognito-1"),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json"
    );
    assert_eq!(
        direct("quid-auth0-1"),
        "https://acme.eu.auth0.com/.well-known/jwks.json"
    );
    assert_eq!(direct("quid-firebase-1"), FIREBASE_KEYS_URL);
    assert_eq!(direct("quid-minimal-1"), "https://idp.example.com/keys");
    assert_eq!(
        direct("quid-cognito-override"),
        "http://127.0.0.1:9/pool/.well-known/jwks.json"
    );
    assert_eq!(
        ProviderRules::new(&reg("quid-oidc-1")).key_source(),
        Some(KeySource::Discovery(
            Url::parse("https://idp.example.com/.well-known/openid-configuration").unwrap()
        ))
    );
}

#[test]
fn derived_issuers_and_discovery() {
    let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    assert_eq!(
        issuers("quid-azure-1"),
        [
            format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            format!("https://sts.windows.net/{tenant}/"),
        ]
    );
    assert_eq!(
        issuers("quid-azure-common"),
        ["https://sts.windows.net/{tenantid}/"]
    );
    assert_eq!(
        issuers("quid-cognito-1"),
        [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
            "https://issuer.cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        ]
    );
    assert_eq!(issuers("quid-auth0-1"), ["https://acme.eu.auth0.com/"]);
    assert_eq!(
        issuers("quid-firebase-1"),
        ["https://securetoken.google.com/acme-prod"]
    );
    assert!(issuers("quid-minimal-1").is_empty());
    assert!(ProviderRules::new(&reg("quid-minimal-1")).accepts_discovery_issuer("https://any"));

    assert_eq!(
        discovery("quid-azure-1").as_deref(),
        Some(
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration"
        )
    );
    assert_eq!(
        discovery("quid-azure-common").as_deref(),
        Some("https://login.microsoftonline.com/common/.well-known/openid-configuration")
    );
    assert_eq!(
        discovery("quid-auth0-1").as_deref(),
        Some("https://acme.eu.auth0.com/.well-known/openid-configuration")
    );
    assert_eq!(discovery("quid-minimal-1"), None);
    // Microsoft's multi-tenant discovery document names the template.
    let common = reg("quid-azure-common");
    let ProviderConfig::AzureAd(azure) = &common.provider else {
        panic!("not azure-ad: {common:?}");
    };
    assert_eq!(azure.version, AzureVersion::V1);
    assert!(
        ProviderRules::new(&common).accepts_discovery_issuer("https://sts.windows.net/{tenantid}/")
    );
    assert!(!ProviderRules::new(&common).accepts_discovery_issuer("https://sts.windows.net/x/"));
}
