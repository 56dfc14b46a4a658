//! Who may call: no or unknown credential is 401 with the challenge;
//! a property admin outside their property is 403, or 404 for a
//! registration not enabled there; any admin reads the OpenAPI document.

use reqwest::Method;
use serde_json::json;

use crate::common::{Fixture, P1, P1_TOKEN, P2, P2_TOKEN, on_both};

/// Every endpoint with a concrete path.
fn every_endpoint(id: &str) -> Vec<(Method, String)> {
    fedauth_admin::api::ENDPOINTS
        .iter()
        .map(|e| {
            let path = e.path.replace("{id}", id).replace("{property}", P1);
            (
                Method::from_bytes(e.method.as_str().as_bytes()).unwrap(),
                path,
            )
        })
        .collect()
}

#[tokio::test]
async fn no_or_unknown_credentials_are_401_with_the_challenge_everywhere() {
    on_both(async |fx: &Fixture| {
        let (id, _) = fx.create(&fx.oidc_doc()).await;
        let before = fx.stored(&id).await.unwrap();
        for (method, path) in every_endpoint(&id) {
            let variants = [
                fx.req(method.clone(), &path).no_token(),
                fx.req(method.clone(), &path).token("not-a-known-token"),
                fx.req(method.clone(), &path)
                    .no_token()
                    .header("authorization", "Basic cGxhdGZvcm0="),
                fx.req(method.clone(), &path)
                    .token(&format!("{}x", crate::common::PLATFORM)),
            ];
            for req in variants {
                let a = req.json(&json!({"roles": []})).send().await;
                a.refused(401, "unauthorized", &[]);
                assert_eq!(
                    a.header("www-authenticate"),
                    Some("Bearer realm=\"fedauth-admin\""),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(fx.stored(&id).await.unwrap(), before);
        assert_eq!(fx.audit_log().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_property_admin_is_kept_to_their_property() {
    on_both(async |fx: &Fixture| {
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let reg = format!("/admin/v1/registrations/{id}");
        let forbidden = [
            fx.req(Method::POST, "/admin/v1/registrations")
                .json(&fx.oidc_doc()),
            fx.req(Method::GET, "/admin/v1/registrations"),
            fx.req(Method::PATCH, &reg)
                .header("if-match", &etag)
                .merge(&json!({"name": "n"})),
            fx.req(Method::DELETE, &reg),
            fx.req(
                Method::GET,
                &format!("/admin/v1/properties/{P2}/registrations"),
            ),
            fx.req(
                Method::PUT,
                &format!("/admin/v1/properties/{P2}/registrations/{id}"),
            )
            .json(&json!({"roles": ["r"]})),
            fx.req(
                Method::DELETE,
                &format!("/admin/v1/properties/{P2}/registrations/{id}"),
            ),
        ];
        for req in forbidden {
            let a = req.token(P1_TOKEN).send().await;
            a.refused(403, "forbidden", &[]);
        }
        for q in ["", "?property=property-2", "?registration=x"] {
            let a = fx
                .req(Method::GET, &format!("/admin/v1/audit{q}"))
                .token(P1_TOKEN)
                .send()
                .await;
            a.refused(403, "forbidden", &[(Some("property"), "query")]);
        }
        // Not enabled in their property: as if it did not exist.
        let hidden = fx.req(Method::GET, &reg).token(P1_TOKEN).send().await;
        let missing = fx
            .req(Method::GET, "/admin/v1/registrations/quid-none")
            .token(P1_TOKEN)
            .send()
            .await;
        hidden.refused(404, "not_found", &[(Some("id"), "path")]);
        missing.refused(404, "not_found", &[(Some("id"), "path")]);
        assert_eq!(
            hidden.body["details"][0]["msg"],
            missing.body["details"][0]["msg"]
        );
        // Once P2 enabled it, P2's admin reads it, P1's still does not.
        let put = fx
            .req(
                Method::PUT,
                &format!("/admin/v1/properties/{P2}/registrations/{id}"),
            )
            .token(P2_TOKEN)
            .json(&json!({"roles": ["reader"]}))
            .send()
            .await;
        assert_eq!(put.status, 201, "{}", put.text);
        let seen = fx.req(Method::GET, &reg).token(P2_TOKEN).send().await;
        assert_eq!(seen.status, 200, "{}", seen.text);
        assert_eq!(seen.body["properties"], json!({P2: ["reader"]}));
        let still = fx.req(Method::GET, &reg).token(P1_TOKEN).send().await;
        still.refused(404, "not_found", &[(Some("id"), "path")]);
        let own = fx
            .req(Method::GET, &format!("/admin/v1/audit?property={P1}"))
            .token(P1_TOKEN)
            .send()
            .await;
        assert_eq!((own.status, own.body["items"].clone()), (200, json!([])));
        assert_eq!(fx.stored(&id).await.unwrap().document["name"], "Demo app");
    })
    .await;
}

#[tokio::test]
async fn any_admin_reads_the_openapi_document() {
    on_both(async |fx: &Fixture| {
        for token in [crate::common::PLATFORM, P1_TOKEN, P2_TOKEN] {
            let a = fx
                .req(Method::GET, "/admin/v1/openapi.json")
                .token(token)
                .send()
                .await;
            assert_eq!(a.status, 200, "{}", a.text);
            assert_eq!(a.header("content-type"), Some("application/json"));
            assert_eq!(a.body, fedauth_admin::openapi::document_json());
        }
        let anonymous = fx
            .req(Method::GET, "/admin/v1/openapi.json")
            .no_token()
            .send()
            .await;
        anonymous.refused(401, "unauthorized", &[]);
    })
    .await;
}
