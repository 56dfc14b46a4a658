//! The reference examples of the registry format (verbatim) and every
//! bad-input rule.

use jsonwebtoken::Algorithm::{self, *};

use super::TempFile;
use crate::registration::{
    ALLOWED_ALGORITHMS, ClientAuthMethod, HttpMethod, Provider, ProviderConfig, Registration,
    TokenUse,
};
use crate::registry::{FileRegistry, RegistryFormat, RegistryLoadError, parse_registry_str};

/// The reference TOML examples of the registry format (the contract that
/// outside tests drive), copied verbatim: every one must keep loading.
const SPEC_TOML: &str = r##"
[[registrations]]
id = "quid-azure-1"
name = "Contoso dashboard"
provider = "azure-ad"
tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
client_id = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
roles = ["reader"]
[registrations.properties]
"property-42" = ["admin", "reader"]

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
algorithms = ["RS256", "ES256", "EdDSA"]
[registrations.claims]
username = "preferred_username"
userinfo = true
persist = ["email", "name"]

[[registrations]]
id = "quid-minimal-1"
provider = "jwks"
client_id = "app-2"
jwks_uri = "https://idp.example.com/keys"

[[registrations]]
id = "quid-opaque-1"
provider = "introspection"
client_id = "app-3"
[registrations.introspection]
endpoint = "https://idp.example.com/token/introspection"
client_id = "resource-server"
client_secret = "s3cret"

[[registrations]]
id = "quid-quickblox-style-1"
provider = "verification-endpoint"
[registrations.verification]
url = "https://youripserver.example/users/identity"
method = "GET"
params = { IdP_token = "#{token}" }
response = { uid = "#{user.id}", login = "#{user.login}", full_name = "#{user.full_name}" }
"##;

/// The same registry in the JSON form.
const SPEC_JSON: &str = r##"{"registrations": [
  {"id": "quid-azure-1", "name": "Contoso dashboard", "provider": "azure-ad",
   "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47",
   "client_id": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "roles": ["reader"],
   "properties": {"property-42": ["admin", "reader"]}},
  {"id": "quid-cognito-1", "provider": "cognito", "region": "eu-west-1",
   "user_pool_id": "eu-west-1_AbCdEf123", "client_id": "3n4b5urk1ft4fl3mg5e62d9ado"},
  {"id": "quid-auth0-1", "provider": "auth0", "domain": "acme.eu.auth0.com",
   "client_id": "vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN"},
  {"id": "quid-firebase-1", "provider": "firebase", "project_id": "acme-prod"},
  {"id": "quid-oidc-1", "provider": "oidc", "issuer": "https://idp.example.com",
   "client_id": "app-1", "algorithms": ["RS256", "ES256", "EdDSA"],
   "claims": {"username": "preferred_username", "userinfo": true, "persist": ["email", "name"]}},
  {"id": "quid-minimal-1", "provider": "jwks", "client_id": "app-2",
   "jwks_uri": "https://idp.example.com/keys"},
  {"id": "quid-opaque-1", "provider": "introspection", "client_id": "app-3",
   "introspection": {"endpoint": "https://idp.example.com/token/introspection",
                     "client_id": "resource-server", "client_secret": "s3cret"}},
  {"id": "quid-quickblox-style-1", "provider": "verification-endpoint",
   "verification": {"url": "https://youripserver.example/users/identity", "method": "GET",
     "params": {"IdP_token": "#{token}"},
     "response": {"uid": "#{user.id}", "login": "#{user.login}", "full_name": "#{user.full_name}"}}}
]}"##;

/// id, provider, client_id(), effective algorithms, effective token_use.
type Expected = (
    &'static str,
    Provider,
    Option<&'static str>,
    &'static [Algorithm],
    TokenUse,
);

fn check_spec_examples(regs: &[Registration]) {
    let expected: [Expected; 8] = [
        (
            "quid-azure-1",
            Provider::AzureAd,
            Some("6e74172b-be56-4843-9ff4-e66a39bb12e3"),
            &[RS256],
            TokenUse::Any,
        ),
        (
            "quid-cognito-1",
            Provider::Cognito,
            Some("3n4b5urk1ft4fl3mg5e62d9ado"),
            &[RS256],
            TokenUse::Access,
        ),
        (
            "quid-auth0-1",
            Provider::Auth0,
            Some("vJ0SCKchr4XjC0xHNE8DkH6Pmlg2lkCN"),
            &[RS256],
            TokenUse::Any,
        ),
        (
            "quid-firebase-1",
            Provider::Firebase,
            Some("acme-prod"),
            &[RS256],
            TokenUse::Any,
        ),
        (
            "quid-oidc-1",
            Provider::Oidc,
            Some("app-1"),
            &[RS256, ES256, EdDSA],
            TokenUse::Any,
        ),
        (
            "quid-minimal-1",
            Provider::Jwks,
            Some("app-2"),
            &ALLOWED_ALGORITHMS,
            TokenUse::Any,
        ),
        (
            "quid-opaque-1",
            Provider::Introspection,
            Some("app-3"),
            &[],
            TokenUse::Any,
        ),
        (
            "quid-quickblox-style-1",
            Provider::VerificationEndpoint,
            None,
            &[],
            TokenUse::Any,
        ),
    ];
    assert_eq!(regs.len(), expected.len());
    for (reg, (id, provider, client_id, algorithms, token_use)) in regs.iter().zip(expected) {
        assert_eq!(reg.id.as_str(), id);
        assert_eq!(reg.provider.kind(), provider, "{id}");
        assert_eq!(reg.client_id(), client_id, "{id}");
        assert_eq!(reg.algorithms, algorithms, "{id}");
        assert_eq!(reg.token_use, token_use, "{id}");
        assert!(reg.enabled, "{id}");
        assert_eq!(reg.leeway_seconds, 60, "{id}");
    }
    let azure = &regs[0];
    assert_eq!(azure.name.as_deref(), Some("Contoso dashboard"));
    let ProviderConfig::AzureAd(azure_ad) = &azure.provider else {
        panic!("not azure-ad: {azure:?}");
    };
    assert_eq!(azure_ad.tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert_eq!(azure.roles_in(None).unwrap(), ["reader"]);
    assert_eq!(
        azure.roles_in(Some("property-42")).unwrap(),
        ["admin", "reader"]
    );
    assert_eq!(azure.roles_in(Some("property-1")), None);
    let ProviderConfig::Cognito(cognito) = &regs[1].provider else {
        panic!("not cognito: {:?}", regs[1]);
    };
    assert_eq!(cognito.user_pool_id, "eu-west-1_AbCdEf123");
    let ProviderConfig::Auth0(auth0) = &regs[2].provider else {
        panic!("not auth0: {:?}", regs[2]);
    };
    assert_eq!(auth0.domain, "acme.eu.auth0.com");
    let oidc = &regs[4];
    assert_eq!(oidc.issuer, ["https://idp.example.com"]);
    assert!(oidc.claims.userinfo);
    assert_eq!(oidc.claims.persist, ["email", "name"]);
    assert_eq!(oidc.claims.subject, "sub");
    assert_eq!(
        regs[5].jwks_uri.as_ref().unwrap().as_str(),
        "https://idp.example.com/keys"
    );
    let ProviderConfig::Introspection(intro) = &regs[6].provider else {
        panic!("not introspection: {:?}", regs[6]);
    };
    assert_eq!(
        intro.endpoint.as_str(),
        "https://idp.example.com/token/introspection"
    );
    assert_eq!(intro.client_id, "resource-server");
    assert_eq!(intro.client_secret.expose(), "s3cret");
    assert_eq!(intro.auth_method, ClientAuthMethod::ClientSecretBasic);
    assert_eq!(intro.cache_seconds, 60);
    let ProviderConfig::VerificationEndpoint(ver) = &regs[7].provider else {
        panic!("not verification-endpoint: {:?}", regs[7]);
    };
    assert_eq!(ver.method, HttpMethod::Get);
    assert_eq!(ver.params["IdP_token"], "#{token}");
    assert_eq!(ver.response["uid"], "#{user.id}");
    assert_eq!(ver.response.len(), 3);
}

#[test]
fn spec_examples_parse_as_toml_and_json() {
    let toml = parse_registry_str(SPEC_TOML, RegistryFormat::Toml).unwrap();
    check_spec_examples(&toml);
    let json = parse_registry_str(SPEC_JSON, RegistryFormat::Json).unwrap();
    check_spec_examples(&json);
    assert_eq!(toml, json);
}

#[test]
fn spec_examples_load_from_files() {
    for (ext, text) in [("toml", SPEC_TOML), ("json", SPEC_JSON)] {
        let file = TempFile::new(ext, text);
        let reg = FileRegistry::load(&file.path).unwrap();
        assert_eq!(reg.registrations().len(), 8);
        assert_eq!(reg.registrations().ids()[0].as_str(), "quid-auth0-1");
        assert_eq!(
            reg.registrations()
                .get("quid-cognito-1")
                .unwrap()
                .provider
                .kind(),
            Provider::Cognito
        );
        assert!(reg.registrations().get("quid-nope").is_none());
    }
}

const OK_HEAD: &str = "[[registrations]]\nid = \"quid-ok\"\nprovider = \"jwks\"\nclient_id = \"a\"\njwks_uri = \"https://idp.example.com/keys\"\n\n";

/// Load `body` (after a valid first registration) from a file and return
/// the error's text, checked to name the file.
fn file_error(ext: &str, body: &str) -> String {
    let text = if ext == "toml" {
        format!("{OK_HEAD}{body}")
    } else {
        body.to_owned()
    };
    let file = TempFile::new(ext, &text);
    let err = FileRegistry::load(&file.path).expect_err("the registry must be refused");
    let shown = err.to_string();
    assert!(
        shown.contains(&file.path.display().to_string()),
        "no path in: {shown}"
    );
    assert_eq!(err.path(), Some(file.path.as_path()));
    shown
}

fn assert_names(shown: &str, parts: &[&str]) {
    for part in parts {
        assert!(shown.contains(part), "{part:?} missing from: {shown}");
    }
}

const JWKS: &str =
    "provider = \"jwks\"\nclient_id = \"a\"\njwks_uri = \"https://idp.example.com/keys\"\n";

#[test]
fn bad_inputs_name_file_registration_and_field() {
    let cases: &[(String, &[&str])] = &[
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"okta\"\nclient_id = \"a\"\n".into(), &["\"provider\"", "okta"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}algorithms = [\"RS256\", \"HS256\"]\n"), &["\"algorithms\"", "HS256", "symmetric", "never"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}algorithms = [\"none\"]\n"), &["\"algorithms\"", "none", "never"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}algorithms = [\"XS999\"]\n"), &["\"algorithms\"", "unknown algorithm"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}algorithms = []\n"), &["\"algorithms\"", "empty"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"jwks\"\njwks_uri = \"https://idp.example.com/keys\"\n".into(), &["\"client_id\"", "required"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"oidc\"\nclient_id = \"a\"\n".into(), &["\"issuer\"", "required"]),
        ("[[registrations]]\nid = \"quid-bad\"\nclient_id = \"a\"\n".into(), &["\"issuer\"", "oidc"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"jwks\"\nclient_id = \"a\"\n".into(), &["\"jwks_uri\"", "required"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"jwks\"\nclient_id = \"a\"\njwks_uri = \"ftp://x\"\n".into(), &["\"jwks_uri\"", "ftp://x"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"jwks\"\nclient_id = \"a\"\njwks_uri = \"not a url\"\n".into(), &["\"jwks_uri\"", "not a url"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"oidc\"\nclient_id = \"a\"\nissuer = \"not a url\"\n".into(), &["\"issuer\"", "not a url"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}discovery_url = \"https://x/#f\"\n"), &["\"discovery_url\"", "fragment"]),
        (format!("[[registrations]]\nid = \"quid-ok\"\n{JWKS}"), &["\"quid-ok\"", "\"id\"", "duplicate", "registrations[1]"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}leeway_seconds = 301\n"), &["\"leeway_seconds\"", "301"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}leeway_seconds = -1\n"), &["\"leeway_seconds\""]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}leeway_seconds = \"sixty\"\n"), &["\"leeway_seconds\"", "string"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}enable = false\n"), &["\"enable\"", "unknown field"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}token_use = \"refresh\"\n"), &["\"token_use\"", "refresh"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}roles = [\"\"]\n"), &["\"roles\"", "empty"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}[registrations.properties]\n\"\" = [\"admin\"]\n"), &["\"properties\"", "empty"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}[registrations.claims]\nsubjet = \"oid\"\n"), &["\"claims.subjet\"", "unknown field"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"verification-endpoint\"\n[registrations.verification]\nurl = \"https://x.example/v\"\nmethod = \"GET\"\nresponse = { login = \"#{user.login}\" }\n".into(), &["\"verification.response\"", "uid"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"verification-endpoint\"\n".into(), &["\"verification\"", "required"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"introspection\"\nclient_id = \"a\"\n[registrations.introspection]\nendpoint = \"https://x.example/i\"\nclient_id = \"rs\"\nclient_secret = \"s\"\nauth_method = \"magic\"\n".into(), &["\"introspection.auth_method\"", "magic"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"introspection\"\nclient_id = \"a\"\n[registrations.introspection]\nendpoint = \"https://x.example/i\"\nclient_id = \"rs\"\n".into(), &["\"introspection.client_secret\"", "required"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"azure-ad\"\nclient_id = \"a\"\ntenant = \"contoso\"\n".into(), &["\"tenant\"", "contoso"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"azure-ad\"\nclient_id = \"a\"\ntenant = \"common\"\nversion = 3\n".into(), &["\"version\""]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"cognito\"\nclient_id = \"a\"\nregion = \"eu-west-1\"\n".into(), &["\"user_pool_id\"", "required"]),
        ("[[registrations]]\nid = \"quid-bad\"\nprovider = \"auth0\"\nclient_id = \"a\"\ndomain = \"https://acme.auth0.com/\"\n".into(), &["\"domain\"", "scheme"]),
        (format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}region = \"eu-west-1\"\n"), &["\"region\"", "cognito"]),
    ];
    for (body, parts) in cases {
        let shown = file_error("toml", body);
        assert_names(&shown, parts);
        let id = if parts.contains(&"\"quid-ok\"") {
            "quid-ok"
        } else {
            "quid-bad"
        };
        assert_names(
            &shown,
            &[&format!("registration \"{id}\""), "registrations[1]"],
        );
    }
}

#[test]
fn syntax_and_shape_errors() {
    let shown = file_error(
        "toml",
        "[[registrations]]\nid = \"quid-bad\nprovider = \"jwks\"\n",
    );
    assert_names(&shown, &["TOML syntax error", "line 8, column 15"]);
    let shown = file_error(
        "json",
        "{\"registrations\": [\n  {\"id\": \"quid-bad\",}\n]}",
    );
    assert_names(&shown, &["JSON syntax error", "line 2"]);
    let shown = file_error(
        "json",
        r#"{"registrations": [{"id": "quid-bad", "provider": "jwks", "enabled": "no"}]}"#,
    );
    assert_names(
        &shown,
        &[
            "registration \"quid-bad\"",
            "field \"enabled\"",
            "registrations[0]",
        ],
    );
    let shown = file_error(
        "json",
        r#"{"registrations": [{"id": "quid-bad", "enable": false}]}"#,
    );
    assert_names(
        &shown,
        &[
            "registration \"quid-bad\"",
            "field \"enable\"",
            "unknown field",
        ],
    );
    let shown = file_error("json", r#"{"registration": []}"#);
    assert_names(&shown, &["field \"registration\"", "top-level"]);
    let shown = file_error("json", "{}");
    assert_names(&shown, &["field \"registrations\"", "missing"]);
    let shown = file_error("json", r#"{"registrations": [{"provider": "jwks"}]}"#);
    assert_names(
        &shown,
        &[
            "registration without id",
            "field \"id\"",
            "registrations[0]",
        ],
    );
    let shown = file_error(
        "json",
        r#"{"registrations": [{"id": "has space", "provider": "jwks"}]}"#,
    );
    assert_names(&shown, &["registration \"has space\"", "field \"id\""]);
    // An empty registry must be said explicitly.
    assert!(
        parse_registry_str("registrations = []", RegistryFormat::Toml)
            .unwrap()
            .is_empty()
    );
    assert!(parse_registry_str("", RegistryFormat::Toml).is_err());
}

#[test]
fn load_refuses_unknown_extension_and_missing_file() {
    let file = TempFile::new("yaml", "registrations: []");
    let err = FileRegistry::load(&file.path).unwrap_err();
    assert!(
        matches!(err, RegistryLoadError::UnknownFormat { .. }),
        "{err}"
    );
    let missing = std::env::temp_dir().join("fedauth-registry-does-not-exist.toml");
    let err = FileRegistry::load(&missing).unwrap_err();
    assert!(matches!(err, RegistryLoadError::Read { .. }), "{err}");
    assert!(err.to_string().contains(&missing.display().to_string()));
}

#[test]
fn error_display_format() {
    let err = parse_registry_str(
        &format!("[[registrations]]\nid = \"quid-1\"\n{JWKS}algorithms = [\"HS256\"]\n"),
        RegistryFormat::Toml,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"registrations[0]: registration "quid-1", field "algorithms": HS256 is a symmetric algorithm and is never accepted"#
    );
    let inner = err.registration_error().unwrap();
    assert_eq!(inner.registration.as_deref(), Some("quid-1"));
    assert_eq!(inner.field, "algorithms");
}

/// Issue 22's keys in both forms: an issuer list (an IdP moving to a custom
/// domain), the platform's API `audiences` and `required_claims`.
const PROFILES_TOML: &str = r#"
[[registrations]]
id = "quid-moving-1"
provider = "oidc"
issuer = ["https://login.acme.example", "https://acme.eu.auth0.com/"]
client_id = "app-1"
audiences = ["https://api.platform.example", "api://platform"]
required_claims = { email_verified = true, tid = ["t1", "t2"], level = 2 }

[[registrations]]
id = "quid-single-1"
provider = "oidc"
issuer = "https://login.acme.example"
client_id = "app-1"
"#;

#[test]
fn issuer_lists_round_trip_through_toml_and_json() {
    use crate::providers::ProviderRules;
    use serde_json::json;

    let from_toml = parse_registry_str(PROFILES_TOML, RegistryFormat::Toml).unwrap();
    let [moving, single] = &from_toml[..] else {
        panic!("two registrations: {from_toml:?}");
    };
    assert_eq!(
        moving.issuer,
        ["https://login.acme.example", "https://acme.eu.auth0.com/"]
    );
    assert_eq!(single.issuer, ["https://login.acme.example"]);
    // Discovery starts at the first issuer; `iss` may be any of them.
    let rules = ProviderRules::new(moving);
    assert_eq!(
        rules.discovery_url().unwrap().as_str(),
        "https://login.acme.example/.well-known/openid-configuration"
    );
    assert_eq!(rules.issuers(), moving.issuer);
    assert_eq!(
        moving.audiences,
        ["https://api.platform.example", "api://platform"]
    );
    let required = &moving.required_claims;
    assert_eq!(required.get("email_verified"), Some(&[json!(true)][..]));
    assert_eq!(required.get("tid"), Some(&[json!("t1"), json!("t2")][..]));
    assert_eq!(required.get("level"), Some(&[json!(2)][..]));
    assert!(single.audiences.is_empty() && single.required_claims.is_empty());

    // TOML → JSON text → the same registrations, and back to TOML.
    let doc = super::super::parse::document(PROFILES_TOML, RegistryFormat::Toml).unwrap();
    assert_eq!(doc["registrations"][0]["issuer"], json!(moving.issuer));
    assert_eq!(doc["registrations"][1]["issuer"], json!(single.issuer[0]));
    let json_text = serde_json::to_string_pretty(&doc).unwrap();
    let from_json = parse_registry_str(&json_text, RegistryFormat::Json).unwrap();
    assert_eq!(from_json, from_toml);
    let toml_text = toml::to_string(&doc).unwrap();
    assert!(toml_text.contains("issuer = ["), "{toml_text}");
    let back = parse_registry_str(&toml_text, RegistryFormat::Toml).unwrap();
    assert_eq!(back, from_toml);

    // A list of one is the string form.
    let one = PROFILES_TOML.replace(
        "issuer = \"https://login.acme.example\"",
        "issuer = [\"https://login.acme.example\"]",
    );
    let one = parse_registry_str(&one, RegistryFormat::Toml).unwrap();
    assert_eq!(one[1], *single);
}

#[test]
fn profile_keys_are_checked_at_load() {
    let reg = |extra: &str| format!("[[registrations]]\nid = \"quid-bad\"\n{JWKS}{extra}\n");
    let cognito = "[[registrations]]\nid = \"quid-bad\"\nprovider = \"cognito\"\nclient_id = \"a\"\n\
                   region = \"eu-west-1\"\nuser_pool_id = \"eu-west-1_Ab1\"\naudiences = [\"https://api\"]\n";
    let cases: &[(String, &[&str])] = &[
        (reg("issuer = []"), &["\"issuer\"", "empty list"]),
        (reg("issuer = [\"https://a\", 7]"), &["\"issuer\"", "integer"]),
        (reg("issuer = [\"https://a\", \"\"]"), &["\"issuer\"", "empty"]),
        (reg("issuer = { url = \"https://a\" }"), &["\"issuer\"", "a string or a list of strings"]),
        (
            "[[registrations]]\nid = \"quid-bad\"\nprovider = \"oidc\"\nclient_id = \"a\"\nissuer = [\"https://a\", \"not-a-url\"]\n".into(),
            &["\"issuer\"", "not-a-url"],
        ),
        (reg("audiences = []"), &["\"audiences\"", "empty"]),
        (reg("audiences = [\" api\"]"), &["\"audiences\"", "whitespace"]),
        (reg("audiences = \"https://api\""), &["\"audiences\"", "sequence"]),
        (cognito.into(), &["\"audiences\"", "cognito", "client_id claim"]),
        (reg("required_claims = {}"), &["\"required_claims\"", "empty"]),
        (reg("required_claims = { tid = { id = \"t1\" } }"), &["\"required_claims.tid\"", "not a table"]),
        (reg("required_claims = { tid = [] }"), &["\"required_claims.tid\"", "empty list"]),
        (reg("required_claims = { tid = [[\"t1\"]] }"), &["\"required_claims.tid\"", "a list inside the list"]),
        (reg("required_claims = [\"tid\"]"), &["\"required_claims\"", "map"]),
    ];
    for (body, parts) in cases {
        let shown = file_error("toml", body);
        assert_names(&shown, parts);
        assert_names(&shown, &["registration \"quid-bad\"", "registrations[1]"]);
    }
    // JSON's null is no value to require.
    let json = r#"{"registrations": [{"id": "quid-bad", "provider": "jwks", "client_id": "a",
        "jwks_uri": "https://idp.example.com/keys", "required_claims": {"tid": null}}]}"#;
    assert_names(
        &file_error("json", json),
        &["\"required_claims.tid\"", "null"],
    );
}
