//! The IdP check: what verification will fetch, fetched through the
//! egress policy at create and when a PATCH changes where keys come from;
//! a failure names the field the URL came from, never what was met.

use reqwest::Method;
use serde_json::{Value, json};
use tower_fedauth::testkit::{MockIdp, TestKey};

use crate::common::{Answer, Fixture, on_both};

const REGS: &str = "/admin/v1/registrations";

/// A refusal by the IdP check: the field and message, and nothing of the
/// IdP's address, answer or status in the body.
fn refused_by_idp(a: &Answer, idp: &MockIdp, field: &str, msg: &str) {
    a.refused(422, "validation_failed", &[(Some(field), "body")]);
    assert_eq!(a.body["details"][0]["msg"], msg);
    assert_eq!(a.body["details"][0]["value"], Value::Null);
    let port = idp.local_addr().port().to_string();
    for leak in ["127.0.0", &port, "kty", "HTTP", "503", "egress", "refused"] {
        assert!(!a.text.contains(leak), "{leak} in {}", a.text);
    }
}

#[tokio::test]
async fn unreachable_mismatched_keyless_and_refused_idps_are_named() {
    on_both(async |fx: &Fixture| {
        let idp = &fx.idp;
        let post = |doc: Value| fx.req(Method::POST, REGS).json(&doc).send();
        // The IdP is down: discovery from the issuer fails.
        idp.set_outage(true);
        refused_by_idp(&post(fx.oidc_doc()).await, idp, "issuer", "not reachable");
        let with_discovery = json!({"issuer": idp.issuer(), "client_id": "c", "discovery_url": idp.discovery_url()});
        refused_by_idp(&post(with_discovery.clone()).await, idp, "discovery_url", "not reachable");
        idp.set_outage(false);
        // Discovery names another issuer.
        idp.set_discovery_issuer(Some("https://elsewhere.example".into()));
        refused_by_idp(&post(fx.oidc_doc()).await, idp, "issuer", "issuer mismatch");
        refused_by_idp(&post(with_discovery).await, idp, "discovery_url", "issuer mismatch");
        idp.set_discovery_issuer(None);
        assert_eq!(idp.jwks_fetches(), 0);
        // The keys are RSA; the registration allows only ES256.
        let es256 = json!({"provider": "jwks", "client_id": "c", "jwks_uri": idp.jwks_uri(), "algorithms": ["ES256"]});
        refused_by_idp(&post(es256).await, idp, "jwks_uri", "no usable signing key");
        idp.set_raw_jwks(Some(r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#.into()));
        refused_by_idp(&post(fx.oidc_doc()).await, idp, "issuer", "no usable signing key");
        idp.set_raw_jwks(None);
        // An address the egress policy refuses is never contacted.
        let (discovery, keys) = (idp.discovery_fetches(), idp.jwks_fetches());
        let refused = json!({"provider": "jwks", "client_id": "c", "jwks_uri": idp.jwks_uri().replace("127.0.0.1", "127.0.0.2")});
        refused_by_idp(&post(refused).await, idp, "jwks_uri", "not reachable");
        let metadata = json!({"issuer": "http://169.254.169.254", "client_id": "c"});
        refused_by_idp(&post(metadata).await, idp, "issuer", "not reachable");
        assert_eq!((idp.discovery_fetches(), idp.jwks_fetches()), (discovery, keys));
        assert!(fx.count().await == 0);
        assert!(fx.audit_log().await.is_empty());
        assert!(fx.changes().is_empty());
    })
    .await;
}

#[tokio::test]
async fn check_false_skips_it_and_opaque_providers_need_none() {
    on_both(async |fx: &Fixture| {
        fx.idp.set_outage(true);
        let a = fx.req(Method::POST, &format!("{REGS}?check=false")).json(&fx.oidc_doc()).send().await;
        assert_eq!(a.status, 201, "{}", a.text);
        let bad = fx.req(Method::POST, &format!("{REGS}?check=maybe")).json(&fx.oidc_doc()).send().await;
        bad.refused(422, "validation_failed", &[(Some("check"), "query")]);
        let opaque = json!({"provider": "introspection", "client_id": "c", "introspection": {"endpoint": "https://127.0.0.2/introspect", "client_id": "rs", "client_secret": "s"}});
        let b = fx.req(Method::POST, REGS).json(&opaque).send().await;
        assert_eq!(b.status, 201, "{}", b.text);
        assert_eq!((fx.idp.discovery_fetches(), fx.idp.jwks_fetches()), (0, 0));
    })
    .await;
}

#[tokio::test]
async fn a_patch_is_checked_when_it_moves_the_keys_only() {
    on_both(async |fx: &Fixture| {
        let mut doc = fx.oidc_doc();
        doc["algorithms"] = json!(["RS256"]);
        let (id, etag) = fx.create(&doc).await;
        let path = format!("{REGS}/{id}");
        let other = MockIdp::start_with_keys(vec![TestKey::ec_p256("ec")]).await;
        fx.idp.set_outage(true);
        // A name change fetches nothing, even with the IdP down.
        let named = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&json!({"name": "n"}))
            .send()
            .await;
        assert_eq!(named.status, 200, "{}", named.text);
        let etag = named.header("etag").unwrap().to_owned();
        // Keys that do not sign the registration's algorithm (RS256).
        let moved = json!({"jwks_uri": other.jwks_uri()});
        let a = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&moved)
            .send()
            .await;
        refused_by_idp(&a, &other, "jwks_uri", "no usable signing key");
        assert_eq!(other.jwks_fetches(), 1);
        let fits = json!({"jwks_uri": other.jwks_uri(), "algorithms": ["ES256"]});
        let b = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&fits)
            .send()
            .await;
        assert_eq!(b.status, 200, "{}", b.text);
        assert_eq!(
            fx.stored(&id).await.unwrap().document["jwks_uri"],
            json!(other.jwks_uri())
        );
    })
    .await;
}
