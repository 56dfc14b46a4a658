//! Registration model and builder tests (file parsing is tested in
//! `registry`).

use jsonwebtoken::Algorithm;
use serde_json::json;
use url::Url;

use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn registration_id_rules() {
    assert!(RegistrationId::new("quid-1").is_ok());
    assert!(RegistrationId::new("a".repeat(128)).is_ok());
    assert!(RegistrationId::new("~!").is_ok());
    for bad in ["", "has space", "tab\t", "é", "\u{7f}"] {
        assert!(RegistrationId::new(bad).is_err(), "{bad:?}");
    }
    assert!(RegistrationId::new("a".repeat(129)).is_err());
    let id = RegistrationId::new("quid-1").unwrap();
    assert_eq!(id.as_str(), "quid-1");
    assert_eq!(id.to_string(), "quid-1");
    assert_eq!(serde_json::to_value(&id).unwrap(), json!("quid-1"));
    let back: RegistrationId = serde_json::from_value(json!("quid-1")).unwrap();
    assert_eq!(back, id);
    assert!(serde_json::from_value::<RegistrationId>(json!("a b")).is_err());
    let set: std::collections::HashSet<RegistrationId> = [id].into();
    assert!(set.contains("quid-1"));
}

#[test]
fn enum_names_match_the_registry_format() {
    let names: Vec<_> = Provider::ALL.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        names,
        [
            "oidc",
            "jwks",
            "azure-ad",
            "cognito",
            "auth0",
            "firebase",
            "introspection",
            "verification-endpoint"
        ]
    );
    for p in Provider::ALL {
        assert_eq!(serde_json::to_value(p).unwrap(), json!(p.as_str()));
        assert_eq!(
            serde_json::from_value::<Provider>(json!(p.as_str())).unwrap(),
            p
        );
    }
    assert_eq!(Provider::default(), Provider::Oidc);
    assert_eq!(
        serde_json::from_value::<TokenUse>(json!("access")).unwrap(),
        TokenUse::Access
    );
    assert_eq!(
        serde_json::from_value::<HttpMethod>(json!("POST")).unwrap(),
        HttpMethod::Post
    );
    assert_eq!(
        serde_json::from_value::<ClientAuthMethod>(json!("client_secret_post")).unwrap(),
        ClientAuthMethod::ClientSecretPost
    );
    for (v, want) in [
        (json!(1), AzureVersion::V1),
        (json!(2), AzureVersion::V2),
        (json!("1"), AzureVersion::V1),
        (json!("2"), AzureVersion::V2),
        (json!("any"), AzureVersion::Any),
    ] {
        assert_eq!(serde_json::from_value::<AzureVersion>(v).unwrap(), want);
    }
    for bad in [json!(3), json!("v2"), json!(-1), json!(true)] {
        assert!(serde_json::from_value::<AzureVersion>(bad).is_err());
    }
}

#[test]
fn builder_applies_provider_defaults() {
    let reg = Registration::builder("quid-1", Provider::Cognito)
        .region("eu-west-1")
        .user_pool_id("eu-west-1_AbC123")
        .client_id("abc")
        .build()
        .unwrap();
    assert_eq!(reg.algorithms, [Algorithm::RS256]);
    assert_eq!(reg.token_use, TokenUse::Access);
    assert_eq!(reg.leeway_seconds, 60);
    assert!(reg.enabled);
    assert_eq!(reg.claims, ClaimsMapping::default());

    let reg = Registration::builder("quid-2", Provider::Jwks)
        .client_id("app")
        .jwks_uri(url("https://idp.example.com/keys"))
        .build()
        .unwrap();
    assert_eq!(reg.algorithms, ALLOWED_ALGORITHMS);
    assert_eq!(reg.token_use, TokenUse::Any);
    assert!(reg.issuer.is_empty());

    let reg = Registration::builder("quid-3", Provider::Oidc)
        .issuer("https://idp.example.com")
        .client_id("app")
        .algorithms([Algorithm::ES256, Algorithm::ES256, Algorithm::RS256])
        .token_use(TokenUse::Id)
        .leeway_seconds(0)
        .build()
        .unwrap();
    assert_eq!(reg.algorithms, [Algorithm::ES256, Algorithm::RS256]);
    assert_eq!(reg.token_use, TokenUse::Id);
    assert_eq!(reg.leeway_seconds, 0);
}

#[test]
fn builder_refuses_what_a_file_would() {
    let err = Registration::builder("quid-1", Provider::Oidc)
        .issuer("https://idp.example.com")
        .client_id("app")
        .algorithms([Algorithm::RS256, Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"registration "quid-1", field "algorithms": HS256 is a symmetric algorithm and is never accepted"#
    );
    let err = Registration::builder("quid-1", Provider::Oidc)
        .client_id("app")
        .build()
        .unwrap_err();
    assert_eq!(
        (err.registration.as_deref(), err.field.as_str()),
        (Some("quid-1"), "issuer")
    );
    let err = Registration::builder("bad id", Provider::Jwks)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "id");
    let err = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .leeway_seconds(301)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "leeway_seconds");
    let err = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .tenant("common")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "tenant");
    let err = Registration::builder("q", Provider::Cognito)
        .client_id("a")
        .region("eu-west-1")
        .user_pool_id("us-east-1_Abc")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "user_pool_id");
    let err = Registration::builder("q", Provider::Cognito)
        .client_id("a")
        .region("eu-west-1")
        .user_pool_id("eu-west-1_Abc")
        .token_use(TokenUse::Any)
        .build()
        .unwrap_err();
    assert_eq!(err.field, "token_use");
}

#[test]
fn provider_key_formats() {
    let azure = |tenant: &str| {
        Registration::builder("q", Provider::AzureAd)
            .client_id("a")
            .tenant(tenant)
            .build()
    };
    let tenant = |reg: Registration| match reg.provider {
        ProviderConfig::AzureAd(azure) => Some(azure.tenant),
        _ => None,
    };
    assert_eq!(tenant(azure("common").unwrap()).as_deref(), Some("common"));
    assert_eq!(
        tenant(azure("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap()).as_deref(),
        Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
    );
    assert_eq!(
        azure("contoso.onmicrosoft.com").unwrap_err().field,
        "tenant"
    );
    let auth0 = |domain: &str| {
        Registration::builder("q", Provider::Auth0)
            .client_id("a")
            .domain(domain)
            .build()
    };
    let domain = |reg: Registration| match reg.provider {
        ProviderConfig::Auth0(auth0) => Some(auth0.domain),
        _ => None,
    };
    assert_eq!(
        domain(auth0("Acme.EU.auth0.com").unwrap()).as_deref(),
        Some("acme.eu.auth0.com")
    );
    for bad in [
        "https://acme.auth0.com",
        "acme.auth0.com/",
        "acme.auth0.com:443",
        "",
        "a..b",
    ] {
        assert_eq!(auth0(bad).unwrap_err().field, "domain", "{bad:?}");
    }
    let firebase = Registration::builder("q", Provider::Firebase)
        .project_id("acme-prod")
        .build()
        .unwrap();
    assert_eq!(firebase.client_id(), Some("acme-prod"));
    assert_eq!(firebase.client_id, None);
    let err = Registration::builder("q", Provider::Firebase)
        .project_id("acme-prod")
        .client_id("other")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "client_id");
    assert_eq!(
        Registration::builder("q", Provider::Firebase)
            .build()
            .unwrap_err()
            .field,
        "project_id"
    );
}

#[test]
fn urls_must_be_absolute_http() {
    let jwks = |u: &str| {
        Registration::builder("q", Provider::Jwks)
            .client_id("a")
            .jwks_uri(u)
            .build()
    };
    assert!(jwks("http://localhost:8080/keys").is_ok());
    for bad in [
        "ftp://x",
        "not a url",
        "/keys",
        "https://user:pw@idp.example.com/keys",
        "https://idp.example.com/keys#frag",
        "file:///etc/passwd",
    ] {
        let err = jwks(bad).unwrap_err();
        assert_eq!(err.field, "jwks_uri", "{bad:?}");
    }
    // Non-URL issuers are fine outside oidc (compared as strings).
    let reg = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .issuer("my-issuer")
        .build()
        .unwrap();
    assert_eq!(reg.issuer, ["my-issuer"]);
    // ... but an oidc issuer is where discovery starts: it must be a URL.
    let err = Registration::builder("q", Provider::Oidc)
        .client_id("a")
        .issuer("my-issuer")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "issuer");
    // Issuers are kept verbatim (no trailing slash added).
    let reg = Registration::builder("q", Provider::Oidc)
        .client_id("a")
        .issuer("https://idp.example.com")
        .build()
        .unwrap();
    assert_eq!(reg.issuer, ["https://idp.example.com"]);
}

#[test]
fn roles_in_merges_and_refuses_unknown_properties() {
    let reg = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .roles(["reader", "writer"])
        .property("property-42", ["admin", "reader"])
        .property("property-7", Vec::<String>::new())
        .build()
        .unwrap();
    assert_eq!(reg.roles_in(None).unwrap(), ["reader", "writer"]);
    assert_eq!(
        reg.roles_in(Some("property-42")).unwrap(),
        ["admin", "reader", "writer"]
    );
    assert_eq!(
        reg.roles_in(Some("property-7")).unwrap(),
        ["reader", "writer"]
    );
    assert_eq!(reg.roles_in(Some("property-9")), None);
    let err = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .roles([""])
        .build()
        .unwrap_err();
    assert_eq!(err.field, "roles");
    let err = Registration::builder("q", Provider::Jwks)
        .client_id("a")
        .jwks_uri("https://idp.example.com/keys")
        .property("", ["admin"])
        .build()
        .unwrap_err();
    assert_eq!(err.field, "properties");
}

#[test]
fn debug_never_prints_secrets() {
    let mut verification = VerificationConfig::new(
        url("https://app.example/verify"),
        HttpMethod::Post,
        "#{user.id}",
    );
    verification
        .headers
        .insert("X_Api_Key".into(), "static-api-key-123".into());
    verification
        .params
        .insert("key".into(), "param-secret-456".into());
    let regs = [
        Registration::builder("q1", Provider::Introspection)
            .client_id("app")
            .introspection(IntrospectionConfig::new(
                url("https://idp.example.com/introspect"),
                "rs",
                "s3cret-value",
            ))
            .build()
            .unwrap(),
        Registration::builder("q2", Provider::VerificationEndpoint)
            .verification(verification)
            .build()
            .unwrap(),
    ];
    for reg in &regs {
        let debug = format!("{reg:?} {reg:#?}");
        for secret in ["s3cret-value", "static-api-key-123", "param-secret-456"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
    assert!(format!("{regs:?}").contains("Secret(***)"));
    let ProviderConfig::Introspection(introspection) = &regs[0].provider else {
        panic!("not introspection: {:?}", regs[0]);
    };
    assert_eq!(introspection.client_secret.expose(), "s3cret-value");
}

#[test]
fn verification_templates_are_checked() {
    let build = |f: &dyn Fn(&mut VerificationConfig)| {
        let mut v = VerificationConfig::new(
            url("https://app.example/verify"),
            HttpMethod::Get,
            "#{user.id}",
        );
        f(&mut v);
        Registration::builder("q", Provider::VerificationEndpoint)
            .verification(v)
            .build()
    };
    assert!(build(&|_| {}).is_ok());
    let err = build(&|v| {
        v.response.clear();
    })
    .unwrap_err();
    assert_eq!(err.field, "verification.response");
    let err = build(&|v| {
        v.params.insert("t".into(), "#{tokne}".into());
    })
    .unwrap_err();
    assert_eq!(err.field, "verification.params");
    let err = build(&|v| {
        v.headers.insert("bad header".into(), "#{token}".into());
    })
    .unwrap_err();
    assert_eq!(err.field, "verification.headers");
    let err = build(&|v| {
        v.headers.insert("X-A".into(), "a\r\nb".into());
    })
    .unwrap_err();
    assert_eq!(err.field, "verification.headers");
    let err = build(&|v| v.cache_seconds = MAX_CACHE_SECONDS + 1).unwrap_err();
    assert_eq!(err.field, "verification.cache_seconds");
}

#[test]
fn registration_deserializes_with_the_same_rules() {
    let reg: Registration = serde_json::from_value(json!({
        "id": "q", "provider": "auth0", "domain": "acme.eu.auth0.com", "client_id": "c"
    }))
    .unwrap();
    assert_eq!(reg.provider.kind(), Provider::Auth0);
    let err = serde_json::from_value::<Registration>(json!({
        "id": "q", "provider": "auth0", "domain": "acme.eu.auth0.com", "client_id": "c",
        "algorithms": ["HS256"]
    }))
    .unwrap_err();
    assert!(err.to_string().contains("symmetric"), "{err}");
}

#[test]
fn a_preset_key_on_another_provider_names_its_preset() {
    let keys = [
        ("tenant", json!("common"), "azure-ad"),
        ("version", json!(2), "azure-ad"),
        ("allowed_tenants", json!([]), "azure-ad"),
        ("region", json!("eu-west-1"), "cognito"),
        ("user_pool_id", json!("eu-west-1_A"), "cognito"),
        ("domain", json!("acme.auth0.com"), "auth0"),
        ("project_id", json!("acme"), "firebase"),
        ("introspection", json!({}), "introspection"),
        ("verification", json!({}), "verification-endpoint"),
    ];
    for (key, value, owner) in keys {
        let mut doc = json!({
            "id": "q", "provider": "jwks", "client_id": "a",
            "jwks_uri": "https://idp.example.com/keys"
        });
        doc[key] = value;
        let err = serde_json::from_value::<Registration>(doc).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                r#"registration "q", field "{key}": is only used with provider {owner}, not jwks"#
            )
        );
    }
    let err = serde_json::from_value::<Registration>(json!({
        "id": "q", "provider": "auth0", "domain": "acme.auth0.com", "client_id": "a",
        "enable": false
    }))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            r#"field "enable": unknown field `enable`, expected one of `id`, `name`, `enabled`"#
        ),
        "{err}"
    );
    assert!(
        err.ends_with("`require_verified_email`, `dpop`, `dpop_nonce`, `mtls`, `domain`"),
        "{err}"
    );
}
