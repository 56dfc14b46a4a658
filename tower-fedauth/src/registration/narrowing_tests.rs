//! `allowed_tenants` and `authorized_party_claims`: what loads, what is
//! refused (naming the field), and the effective values.

use serde_json::json;

use super::*;
use crate::providers::CONSUMERS_TENANT_ID;

const X: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const Y: &str = "0b6a2c1e-3f4d-4e5a-9b8c-7d6e5f4a3b2c";

fn azure(tenant: &str, allowed: Option<&[&str]>) -> Result<Registration, RegistrationError> {
    let b = Registration::builder("quid-az", Provider::AzureAd)
        .client_id("app")
        .tenant(tenant);
    match allowed {
        Some(list) => b.allowed_tenants(list.iter().copied()).build(),
        None => b.build(),
    }
}

/// The `allowed_tenants` of an `azure-ad` registration.
fn allowed_tenants(reg: &Registration) -> Option<Vec<String>> {
    match &reg.provider {
        ProviderConfig::AzureAd(azure) => azure.allowed_tenants.clone(),
        other => panic!("not azure-ad: {other:?}"),
    }
}

/// The refused field and message of a registration that must not load.
fn refused(r: Result<Registration, RegistrationError>) -> (String, String) {
    let e = r.expect_err("must be refused");
    assert_eq!(e.registration.as_deref(), Some("quid-az"));
    (e.field, e.message)
}

#[test]
fn allowed_tenants_are_lowercase_guids_of_a_multi_tenant_registration() {
    let upper = X.to_ascii_uppercase();
    let reg = azure("common", Some(&[&upper, Y, X])).unwrap();
    assert_eq!(
        allowed_tenants(&reg),
        Some(vec![X.to_owned(), Y.to_owned()])
    );
    assert_eq!(allowed_tenants(&azure("common", None).unwrap()), None);
    let orgs = azure("organizations", Some(&[X])).unwrap();
    assert_eq!(allowed_tenants(&orgs), Some(vec![X.to_owned()]));
    let consumers = azure("consumers", Some(&[CONSUMERS_TENANT_ID])).unwrap();
    assert_eq!(
        allowed_tenants(&consumers),
        Some(vec![CONSUMERS_TENANT_ID.to_owned()])
    );
}

#[test]
fn allowed_tenants_refusals_name_the_field() {
    let field = "allowed_tenants".to_owned();
    let (f, m) = refused(azure(X, Some(&[X])));
    assert_eq!(f, field);
    assert!(m.contains("multi-tenant") && m.contains(X), "{m}");
    let (f, m) = refused(azure("common", Some(&[])));
    assert_eq!((f, m.contains("must not be empty")), (field.clone(), true));
    for bad in [
        "contoso.onmicrosoft.com",
        "72f988bf86f141af91ab2d7cd011db47",
        "",
    ] {
        let (f, m) = refused(azure("common", Some(&[X, bad])));
        assert_eq!(f, field, "{bad:?}");
        assert!(m.contains("is not a tenant GUID"), "{m}");
    }
    let (f, m) = refused(azure("organizations", Some(&[CONSUMERS_TENANT_ID])));
    assert_eq!(f, field);
    assert!(m.contains("never admitted by tenant organizations"), "{m}");
    let (f, m) = refused(azure("consumers", Some(&[X])));
    assert_eq!(f, field);
    assert!(m.contains("never admitted by tenant consumers"), "{m}");
    // Other providers: the field belongs to azure-ad.
    let e = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .allowed_tenants([X])
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"registration "q", field "allowed_tenants": is only used with provider azure-ad, not jwks"#
    );
}

#[test]
fn authorized_party_claims_default_and_rules() {
    let jwks = || {
        Registration::builder("q", Provider::Jwks)
            .client_id("a")
            .jwks_uri("https://idp.example.com/keys")
    };
    let reg = jwks().build().unwrap();
    assert_eq!(reg.authorized_party_claims, DEFAULT_AUTHORIZED_PARTY_CLAIMS);
    assert_eq!(
        DEFAULT_AUTHORIZED_PARTY_CLAIMS,
        ["azp", "client_id", "appid", "cid"]
    );
    let reg = jwks()
        .authorized_party_claims(["party", "azp", "party"])
        .build()
        .unwrap();
    assert_eq!(reg.authorized_party_claims, ["party", "azp"]);
    for bad in [vec![], vec![""], vec!["azp", " azp"]] {
        let e = jwks()
            .authorized_party_claims(bad.clone())
            .build()
            .unwrap_err();
        assert_eq!(e.field, "authorized_party_claims", "{bad:?}");
    }
    let e = Registration::builder("q", Provider::Introspection)
        .client_id("app")
        .introspection(IntrospectionConfig::new(
            url::Url::parse("https://idp.example.com/introspect").unwrap(),
            "rs",
            "s",
        ))
        .authorized_party_claims(["azp"])
        .build()
        .unwrap_err();
    assert_eq!(e.field, "authorized_party_claims");
    assert!(e.message.contains("signed JWTs"), "{}", e.message);
}

#[test]
fn both_fields_read_from_a_document_and_change_verification() {
    let reg: Registration = serde_json::from_value(json!({
        "id": "q", "provider": "azure-ad", "tenant": "common", "client_id": "c",
        "allowed_tenants": [X], "authorized_party_claims": ["appid"]
    }))
    .unwrap();
    assert_eq!(allowed_tenants(&reg).as_deref(), Some(&[X.to_owned()][..]));
    assert_eq!(reg.authorized_party_claims, ["appid"]);
    // Both are read by verification, so a cached verdict of one registration
    // must not serve the other.
    let mut other = reg.clone();
    if let ProviderConfig::AzureAd(azure) = &mut other.provider {
        azure.allowed_tenants = Some(vec![Y.to_owned()]);
    }
    assert!(!reg.verifies_like(&other));
    let mut other = reg.clone();
    other.authorized_party_claims = vec!["azp".to_owned()];
    assert!(!reg.verifies_like(&other));
    assert!(reg.verifies_like(&reg.clone()));
    let e = serde_json::from_value::<Registration>(json!({
        "id": "q", "provider": "azure-ad", "tenant": "common", "client_id": "c",
        "allowed_tenants": X
    }))
    .unwrap_err();
    assert!(e.to_string().contains("sequence"), "{e}");
}
