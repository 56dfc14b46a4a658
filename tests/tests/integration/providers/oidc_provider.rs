//! Access tokens from a real OpenID provider (node `oidc-provider`, see
//! `fedauth_tests::oidc_provider`): a client-credentials token for a
//! resource indicator names the API in `aud` and the calling app in
//! `client_id` (RFC 9068). A registration with `audiences` accepts it; one
//! without refuses it, and so does one for another app (`audiences` and
//! `authorized_party_claims`, docs/registry.md). The registrations are
//! `oidc`: the keys come through the provider's own discovery document.
//! With a DPoP proof on its token request the provider binds the token to
//! the proof's key, and the token then needs a proof of that key.

use fedauth_tests::oidc_provider::{CLIENT_ID, OidcProvider, RESOURCE, decode_unverified};
use fedauth_tests::*;
use serde_json::json;
use tower_fedauth::FedAuthLayer;
use tower_fedauth::binding::DpopConfig;
use tower_fedauth::jws::Algorithm;
use tower_fedauth::testkit::{DpopKey, DpopProof};

/// An `oidc` registration `id` at the provider for `client_id`, plus
/// `extra` TOML keys.
fn registration(op: &OidcProvider, id: &str, client_id: &str, extra: &str) -> String {
    format!(
        "[[registrations]]\nid = \"{id}\"\nprovider = \"oidc\"\nissuer = \"{}\"\n\
         client_id = \"{client_id}\"\ntoken_use = \"access\"\n{extra}\n",
        op.issuer()
    )
}

fn with_audiences() -> String {
    format!("audiences = [\"{RESOURCE}\"]")
}

/// The provider's token is an RFC 9068 access token for the API, which a
/// registration without `audiences` refuses.
#[tokio::test]
async fn issues_jwt_access_tokens_that_need_audiences() {
    let op = OidcProvider::start().await;
    let token = op.access_token(RESOURCE, "read").await;

    // What the provider issued, read without trusting it.
    let (header, claims) = decode_unverified(&token);
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert_eq!(header["alg"], "RS256", "{header}");
    assert_eq!(claims["aud"], RESOURCE, "{claims}");
    assert_eq!(claims["client_id"], CLIENT_ID, "{claims}");
    assert_eq!(claims["sub"], CLIENT_ID, "{claims}");
    assert_eq!(claims["iss"], op.issuer(), "{claims}");
    assert_eq!(claims["scope"], "read", "{claims}");
    assert!(claims.get("azp").is_none(), "{claims}");

    // Without `audiences`, `aud` must name the client: it names the API.
    let toml = registration(&op, "quid-op", CLIENT_ID, "");
    let layer = FedAuthLayer::new(builder(&toml).build());
    let a = call_with(&layer, &token, "quid-op").await;
    assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
}

/// The API named in `audiences` and the client as the authorized party:
/// accepted; the same token presented for another app is not.
#[tokio::test]
async fn accepted_through_audiences_for_its_own_client_only() {
    let op = OidcProvider::start().await;
    let token = op.access_token(RESOURCE, "read").await;
    let toml = [
        registration(&op, "quid-op", CLIENT_ID, &with_audiences()),
        registration(&op, "quid-other", "app-api-2", &with_audiences()),
    ]
    .concat();
    let layer = FedAuthLayer::new(builder(&toml).build());

    let a = call_with(&layer, &token, "quid-op").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["registration"], "quid-op");
    assert_eq!(a.body["issuer"], op.issuer());
    assert_eq!(a.body["subject"], CLIENT_ID);
    assert_eq!(a.body["claims"]["client_id"], CLIENT_ID);
    assert_eq!(a.body["claims"]["aud"], RESOURCE);
    assert_eq!(a.body["claims"]["scope"], "read");
    assert_eq!(a.body["roles"], json!([]));

    // The API is named, but the authorized party is another app.
    let a = call_with(&layer, &token, "quid-other").await;
    assert_refused(&a, 401, "invalid_audience", Some("invalid_token"));
}

/// The platform's public URL, which DPoP proofs name in `htu`.
const API_URL: &str = "https://api.platform.example";

/// A DPoP proof of `key` for `GET {API_URL}/orders` with `token`.
fn orders_proof(key: &DpopKey, token: &str) -> String {
    DpopProof::new(key)
        .htm("GET")
        .htu(format!("{API_URL}/orders"))
        .ath_for(token)
        .sign()
}

/// `GET /orders` with `authorization` and the `proofs`.
async fn orders(layer: &FedAuthLayer, authorization: &str, proofs: &[String]) -> Answer {
    let mut headers = vec![("authorization", authorization), ("x-sc-auth", "quid-op")];
    headers.extend(proofs.iter().map(|p| ("dpop", p.as_str())));
    call(layer, &headers, "/orders").await
}

/// Every `WWW-Authenticate` value, in order.
fn challenges(a: &Answer) -> Vec<&str> {
    a.headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().expect("ASCII challenge"))
        .collect()
}

/// A DPoP-bound token from the real provider (RFC 9449), for a key of each
/// kind the provider takes: it asked for its nonce first, and bound the
/// token to the proof's key (`cnf.jkt`, the RFC 7638 thumbprint node's
/// `jose` computed). The authenticator accepts the token with a proof of
/// that key, and refuses it as a bearer token and with another key's proof
/// (`invalid_token_binding`, the `DPoP` challenge with the Bearer one
/// beside it).
#[tokio::test]
async fn dpop_bound_tokens_need_a_proof_of_their_key() {
    let op = OidcProvider::start().await;
    let toml = registration(&op, "quid-op", CLIENT_ID, &with_audiences());
    let public = url::Url::parse(API_URL).expect("URL");
    let auth = builder(&toml)
        .dpop(DpopConfig::default().public_url(public))
        .build();
    let layer = FedAuthLayer::new(auth);
    let binding = "The token is bound to a key or certificate the request does not prove.";
    let dpop_challenge = format!(
        "DPoP realm=\"fedauth\", algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA\", \
         error=\"invalid_token\", error_description=\"{binding}\""
    );
    for alg in [Algorithm::ES256, Algorithm::PS256, Algorithm::EdDSA] {
        let key = DpopKey::generate(alg);
        let grant = op
            .dpop_access_token(RESOURCE, "read", |htu, nonce| {
                let proof = DpopProof::new(&key).htm("POST").htu(htu);
                match nonce {
                    Some(nonce) => proof.nonce(nonce).sign(),
                    None => proof.sign(),
                }
            })
            .await;
        assert!(
            grant.nonce.is_some(),
            "{alg:?}: the provider asked for a nonce"
        );
        let token = grant.access_token;
        let (header, claims) = decode_unverified(&token);
        assert_eq!(header["typ"], "at+jwt", "{alg:?}: {header}");
        assert_eq!(claims["cnf"], json!({"jkt": key.thumbprint()}), "{alg:?}");

        let dpop = format!("DPoP {token}");
        let a = orders(&layer, &dpop, &[orders_proof(&key, &token)]).await;
        assert_eq!(a.status, 200, "{alg:?}: {:?}", a.body);
        assert_eq!(a.body["registration"], "quid-op");
        assert_eq!(a.body["subject"], CLIENT_ID);
        assert_eq!(a.body["claims"]["cnf"]["jkt"], key.thumbprint());

        let as_bearer = format!("Bearer {token}");
        for (how, authorization, proofs) in [
            ("as Bearer", &as_bearer, vec![]),
            (
                "another key's proof",
                &dpop,
                vec![orders_proof(&DpopKey::generate(alg), &token)],
            ),
        ] {
            let a = orders(&layer, authorization, &proofs).await;
            assert_eq!(a.status, 401, "{alg:?} {how}: {:?}", a.body);
            assert_eq!(a.code(), Some("invalid_token_binding"), "{alg:?} {how}");
            assert_eq!(
                challenges(&a),
                [dpop_challenge.as_str(), "Bearer realm=\"fedauth\""],
                "{alg:?} {how}"
            );
        }
    }
}

/// The README's "Sender-constrained tokens" block loads, with the modes it
/// documents.
#[test]
fn the_readme_sender_constrained_registration_loads() {
    use tower_fedauth::registration::BindingMode;
    use tower_fedauth::registry::{RegistryFormat, parse_registry_str};
    let readme = include_str!("../../../../README.md");
    let section = &readme[readme
        .find("## Sender-constrained tokens")
        .expect("the section")..];
    let fence = "```toml\n";
    let start = section.find(fence).expect("a TOML block") + fence.len();
    let block = &section[start..start + section[start..].find("```").expect("its end")];
    let regs = parse_registry_str(block, RegistryFormat::Toml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].id.as_str(), "quid-bank-app");
    assert_eq!(regs[0].dpop, BindingMode::Required);
    assert!(regs[0].dpop_nonce);
    assert_eq!(regs[0].mtls, BindingMode::Allowed);
}
