//! The error table: malformed bodies, sizes, media types, routes, the
//! store failing — each with its status, code and named detail, and
//! nothing changed.

use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::json;

use crate::common::{Fixture, STORE_FAILURE, on_both};

const REGS: &str = "/admin/v1/registrations";

/// A registration document padded with spaces to exactly `len` bytes.
fn padded(fx: &Fixture, len: usize) -> String {
    let doc = fx.oidc_doc().to_string();
    let mut body = String::from("{");
    body.push_str(&" ".repeat(len - doc.len()));
    body.push_str(&doc[1..]);
    assert_eq!(body.len(), len);
    body
}

#[tokio::test]
async fn bodies_that_cannot_be_read_are_malformed_requests() {
    on_both(async |fx: &Fixture| {
        let cases: [(&str, &str, Option<&str>, &str); 6] = [
            ("application/json", "{\"name\": ", None, "body"),
            ("application/json", "[1, 2]", None, "body"),
            ("application/json", "\"a string\"", None, "body"),
            ("application/json", "", None, "body"),
            ("text/plain", "{}", Some("Content-Type"), "header"),
            (
                "application/merge-patch+json",
                "{}",
                Some("Content-Type"),
                "header",
            ),
        ];
        for (content_type, body, param, location) in cases {
            let a = fx
                .req(Method::POST, REGS)
                .body(content_type, body)
                .send()
                .await;
            a.refused(400, "malformed_request", &[(param, location)]);
        }
        let none = fx.req(Method::POST, REGS).send().await;
        none.refused(
            400,
            "malformed_request",
            &[(Some("Content-Type"), "header")],
        );
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let path = format!("{REGS}/{id}");
        let json_patch = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .json(&json!({"name": "n"}))
            .send()
            .await;
        json_patch.refused(
            400,
            "malformed_request",
            &[(Some("Content-Type"), "header")],
        );
        let not_json = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .body("application/merge-patch+json", "nope")
            .send()
            .await;
        not_json.refused(400, "malformed_request", &[(None, "body")]);
        assert_eq!(fx.stored(&id).await.unwrap().etag.as_str(), etag);
        assert_eq!(fx.audit_log().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_body_of_64_kib_is_taken_and_one_byte_more_is_refused() {
    on_both(async |fx: &Fixture| {
        let at_limit = fx
            .req(Method::POST, REGS)
            .body("application/json", padded(fx, 64 * 1024))
            .send()
            .await;
        assert_eq!(at_limit.status, 201, "{}", at_limit.text);
        let over = fx
            .req(Method::POST, REGS)
            .body("application/json", padded(fx, 64 * 1024 + 1))
            .send()
            .await;
        over.refused(400, "malformed_request", &[(None, "body")]);
        let huge = fx
            .req(Method::POST, REGS)
            .body("application/json", padded(fx, 2 * 1024 * 1024))
            .send()
            .await;
        huge.refused(400, "malformed_request", &[(None, "body")]);
        assert_eq!(fx.count().await, 1);
    })
    .await;
}

#[tokio::test]
async fn registry_rules_refuse_with_each_field_named() {
    on_both(async |fx: &Fixture| {
        let mut doc = fx.oidc_doc();
        doc["algorithms"] = json!(["HS256"]);
        doc["leeway_seconds"] = json!(9999);
        doc["colour"] = json!("red");
        let a = fx.req(Method::POST, REGS).json(&doc).send().await;
        assert_eq!((a.status, a.body["code"].as_str()), (422, Some("validation_failed")), "{}", a.text);
        let mut params: Vec<&str> = a.body["details"].as_array().unwrap().iter().map(|d| {
            assert_eq!(d["location"], "body");
            assert!(d["msg"].as_str().is_some_and(|m| !m.is_empty()));
            d["param"].as_str().unwrap()
        }).collect();
        params.sort();
        assert_eq!(params, ["algorithms", "colour", "leeway_seconds"], "{}", a.text);
        let wrong_type = fx.req(Method::POST, REGS).json(&json!({"issuer": fx.idp.issuer(), "client_id": "c", "enabled": "yes"})).send().await;
        wrong_type.refused(422, "validation_failed", &[(Some("enabled"), "body")]);
        let missing = fx.req(Method::POST, REGS).json(&json!({"provider": "jwks", "client_id": "c"})).send().await;
        missing.refused(422, "validation_failed", &[(Some("jwks_uri"), "body")]);
        let nested = fx.req(Method::POST, REGS).json(&json!({"provider": "introspection", "client_id": "c", "introspection": {"endpoint": "not a url", "client_id": "rs", "client_secret": "s"}})).send().await;
        nested.refused(422, "validation_failed", &[(Some("introspection.endpoint"), "body")]);
        // A patch is checked on its result.
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let bad = fx.req(Method::PATCH, &format!("{REGS}/{id}")).header("if-match", &etag).merge(&json!({"leeway_seconds": -1})).send().await;
        bad.refused(422, "validation_failed", &[(Some("leeway_seconds"), "body")]);
        assert_eq!(fx.audit_log().await.len(), 1);
        assert_eq!(fx.changes().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn unknown_paths_are_404_and_other_methods_405() {
    on_both(async |fx: &Fixture| {
        for path in [
            "/admin/v1",
            "/admin/v1/nothing",
            "/admin/v1/registrations/a/b",
            "/admin/v1/properties/p",
        ] {
            let a = fx.req(Method::GET, path).send().await;
            a.refused(404, "not_found", &[(None, "path")]);
        }
        let a = fx.req(Method::PUT, REGS).send().await;
        a.refused(405, "method_not_allowed", &[]);
        assert_eq!(a.header("allow"), Some("POST, GET"));
        let a = fx.req(Method::POST, "/admin/v1/audit").send().await;
        assert_eq!((a.status, a.header("allow")), (405, Some("GET")));
    })
    .await;
}

#[tokio::test]
async fn a_failing_store_is_503_with_retry_after_and_says_nothing_of_why() {
    on_both(async |fx: &Fixture| {
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        fx.store.down.store(true, Ordering::SeqCst);
        let calls = [
            fx.req(Method::GET, REGS).send().await,
            fx.req(Method::GET, &format!("{REGS}/{id}")).send().await,
            fx.req(Method::POST, REGS).json(&fx.oidc_doc()).send().await,
            fx.req(Method::PATCH, &format!("{REGS}/{id}"))
                .header("if-match", &etag)
                .merge(&json!({"name": "n"}))
                .send()
                .await,
            fx.req(Method::DELETE, &format!("{REGS}/{id}")).send().await,
            fx.req(
                Method::PUT,
                &format!("/admin/v1/properties/p/registrations/{id}"),
            )
            .json(&json!({"roles": []}))
            .send()
            .await,
            fx.req(Method::GET, "/admin/v1/properties/p/registrations")
                .send()
                .await,
            fx.req(Method::GET, "/admin/v1/audit").send().await,
        ];
        for a in calls {
            a.refused(503, "store_unavailable", &[]);
            assert_eq!(a.header("retry-after"), Some("1"));
            assert!(
                !a.text.contains("secret") && !a.text.contains("disk"),
                "{}",
                a.text
            );
        }
        assert!(STORE_FAILURE.contains("secret"));
        fx.store.down.store(false, Ordering::SeqCst);
        assert_eq!(fx.stored(&id).await.unwrap().etag.as_str(), etag);
        assert_eq!(fx.audit_log().await.len(), 1);
        assert_eq!(fx.changes(), [id]);
    })
    .await;
}
