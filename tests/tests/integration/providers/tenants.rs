//! `allowed_tenants` (azure-ad multi-tenant): listed tenants pass, others
//! are `invalid_issuer`; what is refused at load, naming the field; the
//! warning logged once at load for a multi-tenant registration without it.

use std::sync::{Arc, Mutex};

use fedauth_tests::*;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::providers::{CONSUMERS_TENANT_ID, ProviderConfig};
use tower_fedauth::registry::{RegistryFormat, RegistryLoadError, parse_registry_str};
use tower_fedauth::testkit::{MockIdp, TokenBuilder};

use super::{accepted, layer, refused, registration};

const X: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const Y: &str = "0b6a2c1e-3f4d-4e5a-9b8c-7d6e5f4a3b2c";
const Z: &str = "5c3d1e2f-aaaa-4bbb-8ccc-0123456789ab";
const CLIENT: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

fn azure(id: &str, tenant: &str, extra: &str) -> String {
    format!(
        "id = \"{id}\"\nprovider = \"azure-ad\"\ntenant = \"{tenant}\"\nclient_id = \"{CLIENT}\"\n{extra}"
    )
}

#[tokio::test]
async fn common_narrowed_to_the_listed_tenants() {
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    // Listed in upper case: tenant GUIDs compare case-insensitively.
    let list = format!(
        "allowed_tenants = [\"{}\", \"{Y}\"]",
        X.to_ascii_uppercase()
    );
    let l = layer(&idp, &azure("quid-az", "common", &list), "");

    let body = accepted(
        &l,
        &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&key),
        "quid-az",
    )
    .await;
    assert_eq!(body["claims"]["tid"], X);
    accepted(
        &l,
        &TokenBuilder::azure_ad_v1(X, CLIENT).sign(&key),
        "quid-az",
    )
    .await;
    accepted(
        &l,
        &TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&key),
        "quid-az",
    )
    .await;
    // A real tenant that `common` admits, but not listed: v2 and v1 forms.
    refused(
        &l,
        &TokenBuilder::azure_ad_v2(Z, CLIENT).sign(&key),
        "quid-az",
        "invalid_issuer",
    )
    .await;
    refused(
        &l,
        &TokenBuilder::azure_ad_v1(Z, CLIENT).sign(&key),
        "quid-az",
        "invalid_issuer",
    )
    .await;
    let msa = TokenBuilder::azure_ad_v2(CONSUMERS_TENANT_ID, CLIENT).sign(&key);
    refused(&l, &msa, "quid-az", "invalid_issuer").await;
    // A listed `tid` with another tenant's issuer is still refused.
    let crossed = TokenBuilder::azure_ad_v2(X, CLIENT)
        .issuer(format!("https://login.microsoftonline.com/{Z}/v2.0"))
        .sign(&key);
    refused(&l, &crossed, "quid-az", "invalid_issuer").await;
    // The same registration without the list admits Z: the list did it.
    let open = layer(&idp, &azure("quid-az", "common", ""), "");
    accepted(
        &open,
        &TokenBuilder::azure_ad_v2(Z, CLIENT).sign(&key),
        "quid-az",
    )
    .await;
}

#[tokio::test]
async fn organizations_and_consumers_narrowed() {
    let idp = MockIdp::start().await;
    let key = idp.signing_key();
    let orgs = layer(
        &idp,
        &azure(
            "quid-orgs",
            "organizations",
            &format!("allowed_tenants = [\"{X}\"]"),
        ),
        "",
    );
    accepted(
        &orgs,
        &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&key),
        "quid-orgs",
    )
    .await;
    refused(
        &orgs,
        &TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&key),
        "quid-orgs",
        "invalid_issuer",
    )
    .await;
    let msa = TokenBuilder::azure_ad_v2(CONSUMERS_TENANT_ID, CLIENT).sign(&key);
    refused(&orgs, &msa, "quid-orgs", "invalid_issuer").await;

    let list = format!("allowed_tenants = [\"{CONSUMERS_TENANT_ID}\"]");
    let consumers = layer(&idp, &azure("quid-msa", "consumers", &list), "");
    accepted(&consumers, &msa, "quid-msa").await;
    refused(
        &consumers,
        &TokenBuilder::azure_ad_v2(X, CLIENT).sign(&key),
        "quid-msa",
        "invalid_issuer",
    )
    .await;
}

/// The load error of one registration written as `keys`.
fn load_error(keys: &str) -> String {
    let toml = format!("[[registrations]]\n{keys}\n");
    match parse_registry_str(&toml, RegistryFormat::Toml) {
        Err(e @ RegistryLoadError::Invalid { .. }) => e.to_string(),
        other => panic!("expected a rule violation for\n{toml}\ngot {other:?}"),
    }
}

#[test]
fn allowed_tenants_refused_at_load_naming_the_field() {
    let field = "field \"allowed_tenants\"";
    let cases: [(String, &str); 7] = [
        (
            azure("quid-bad", X, &format!("allowed_tenants = [\"{X}\"]")),
            "multi-tenant",
        ),
        (
            azure("quid-bad", "common", "allowed_tenants = []"),
            "must not be empty",
        ),
        (
            azure(
                "quid-bad",
                "common",
                &format!("allowed_tenants = [\"{X}\", \"contoso.onmicrosoft.com\"]"),
            ),
            "\"contoso.onmicrosoft.com\" is not a tenant GUID",
        ),
        (
            azure(
                "quid-bad",
                "organizations",
                &format!("allowed_tenants = [\"{CONSUMERS_TENANT_ID}\"]"),
            ),
            "never admitted by tenant organizations",
        ),
        (
            azure(
                "quid-bad",
                "consumers",
                &format!("allowed_tenants = [\"{X}\"]"),
            ),
            "never admitted by tenant consumers",
        ),
        (
            azure("quid-bad", "common", &format!("allowed_tenants = \"{X}\"")),
            "sequence",
        ),
        (
            format!(
                "id = \"quid-bad\"\nprovider = \"jwks\"\nclient_id = \"a\"\n\
                 jwks_uri = \"https://idp.example.com/keys\"\nallowed_tenants = [\"{X}\"]"
            ),
            "is only used with provider azure-ad, not jwks",
        ),
    ];
    for (keys, why) in cases {
        let shown = load_error(&keys);
        for part in ["registration \"quid-bad\"", field, why] {
            assert!(shown.contains(part), "{part:?} missing from: {shown}");
        }
    }
}

/// Log lines written by a subscriber installed for this thread only.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// The lines of the multi-tenant warning.
    fn warnings(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains("no allowed_tenants"))
            .map(str::to_owned)
            .collect()
    }
}

/// One warning per multi-tenant registration without `allowed_tenants`,
/// when the registry is loaded, naming it — and none per request. The
/// test runs on one thread (current-thread runtime), so a thread-local
/// subscriber sees everything it does.
#[tokio::test(flavor = "current_thread")]
async fn multi_tenant_without_a_list_is_warned_once_at_load() {
    let idp = MockIdp::start().await;
    // Register the warning's callsite before the subscriber: tracing caches
    // a callsite's interest when it is first hit, and a first hit on another
    // test's thread racing with `set_default` below could cache "never".
    // Registered first, the callsite is re-evaluated by `set_default`.
    registrations(&registration(&idp, &azure("quid-warm", "common", ""), ""));
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let list = format!("allowed_tenants = [\"{X}\"]");
    let toml = [
        registration(&idp, &azure("quid-common", "common", ""), ""),
        registration(&idp, &azure("quid-orgs", "organizations", ""), ""),
        registration(&idp, &azure("quid-narrowed", "common", &list), ""),
        registration(&idp, &azure("quid-single", X, ""), ""),
    ]
    .concat();
    let l = FedAuthLayer::new(builder(&toml).build());

    let warned = logs.warnings();
    assert_eq!(warned.len(), 2, "{warned:#?}");
    assert!(
        warned[0].contains("WARN") && warned[0].contains("registration=quid-common"),
        "{}",
        warned[0]
    );
    assert!(warned[0].contains("tenant=common"), "{}", warned[0]);
    assert!(
        warned[1].contains("registration=quid-orgs"),
        "{}",
        warned[1]
    );

    // Requests, accepted or refused, add nothing.
    let key = idp.signing_key();
    for tid in [X, Y, X] {
        let token = TokenBuilder::azure_ad_v2(tid, CLIENT).sign(&key);
        accepted(&l, &token, "quid-common").await;
    }
    refused(
        &l,
        &TokenBuilder::azure_ad_v2(Y, CLIENT).sign(&key),
        "quid-narrowed",
        "invalid_issuer",
    )
    .await;
    assert_eq!(logs.warnings(), warned);
}

/// The examples of `docs/registry.md` load as written.
#[test]
fn the_documented_examples_load() {
    let doc = include_str!("../../../../docs/registry.md");
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    let find = |id: &str| {
        let block = blocks
            .iter()
            .find(|b| b.contains(&format!("id = \"{id}\"")))
            .unwrap_or_else(|| panic!("no example {id} in docs/registry.md"));
        let regs = parse_registry_str(block, RegistryFormat::Toml).expect("example loads");
        assert_eq!(regs.len(), 1);
        regs.into_iter().next().unwrap()
    };
    let multi = find("quid-azure-multi");
    let ProviderConfig::AzureAd(azure) = &multi.provider else {
        panic!("not azure-ad: {multi:?}");
    };
    assert_eq!(
        azure.allowed_tenants,
        Some(vec![X.to_owned(), Y.to_owned()])
    );
    let custom = find("quid-custom-party");
    assert_eq!(custom.authorized_party_claims, ["client"]);
}
