//! Secrets are write-only: masked in every answer and audit record, kept
//! when sent back masked, replaced when a new one is sent.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Fixture, on_both};

const LONG: &str = "client-secret-0123456789-6-OjH";
const MASKED_LONG: &str = "*************************6-OjH";

fn opaque_doc() -> Value {
    json!({
        "provider": "introspection", "client_id": "app",
        "introspection": {"endpoint": "https://idp.example/introspect", "client_id": "rs", "client_secret": LONG},
    })
}

fn verification_doc() -> Value {
    json!({
        "provider": "verification-endpoint",
        "verification": {
            "url": "https://app.example/identity", "method": "GET",
            "headers": {"X_Api_Key": "short-key", "Authorization": "Bearer #{token}"},
            "params": {"token": "#{token}"},
            "response": {"uid": "#{user.id}"},
        },
    })
}

#[tokio::test]
async fn answers_and_the_audit_log_show_secrets_masked() {
    on_both(async |fx: &Fixture| {
        assert_eq!(MASKED_LONG.len(), LONG.len());
        let created = fx
            .req(Method::POST, "/admin/v1/registrations")
            .json(&opaque_doc())
            .send()
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        assert_eq!(created.body["introspection"]["client_secret"], MASKED_LONG);
        assert_eq!(created.body["introspection"]["client_id"], "rs");
        let id = created.body["id"].as_str().unwrap().to_owned();
        let stored = fx.stored(&id).await.unwrap();
        assert_eq!(stored.document["introspection"]["client_secret"], LONG);

        let v = fx
            .req(Method::POST, "/admin/v1/registrations")
            .json(&verification_doc())
            .send()
            .await;
        assert_eq!(v.status, 201, "{}", v.text);
        assert_eq!(
            v.body["verification"]["headers"],
            json!({"X_Api_Key": "********", "Authorization": "Bearer #{token}"})
        );

        let got = fx
            .req(Method::GET, &format!("/admin/v1/registrations/{id}"))
            .send()
            .await;
        let list = fx.req(Method::GET, "/admin/v1/registrations").send().await;
        let audit = fx.req(Method::GET, "/admin/v1/audit").send().await;
        for text in [&created.text, &v.text, &got.text, &list.text, &audit.text] {
            assert!(
                !text.contains(LONG) && !text.contains("short-key"),
                "{text}"
            );
        }
        assert_eq!(got.body["introspection"]["client_secret"], MASKED_LONG);
        assert!(audit.text.contains(MASKED_LONG), "{}", audit.text);
        for record in fx.audit_log().await {
            let text = serde_json::to_string(&record).unwrap();
            assert!(
                !text.contains(LONG) && !text.contains("short-key"),
                "{text}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_masked_secret_sent_back_is_kept_and_a_new_one_replaces_it() {
    on_both(async |fx: &Fixture| {
        let (id, etag) = fx.create(&opaque_doc()).await;
        let path = format!("/admin/v1/registrations/{id}");
        // The whole document as read, sent back with one change.
        let mut read = fx.req(Method::GET, &path).send().await.body;
        read["name"] = json!("renamed");
        let a = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&read)
            .send()
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let doc = fx.stored(&id).await.unwrap().document;
        assert_eq!(
            (
                doc["name"].as_str(),
                doc["introspection"]["client_secret"].as_str()
            ),
            (Some("renamed"), Some(LONG))
        );
        let etag = a.header("etag").unwrap().to_owned();
        let b = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&json!({"introspection": {"client_secret": "new"}}))
            .send()
            .await;
        assert_eq!(
            (b.status, b.body["introspection"]["client_secret"].as_str()),
            (200, Some("********"))
        );
        assert_eq!(
            fx.stored(&id).await.unwrap().document["introspection"]["client_secret"],
            "new"
        );

        let (vid, vtag) = fx.create(&verification_doc()).await;
        let vpath = format!("/admin/v1/registrations/{vid}");
        let back = fx.req(Method::GET, &vpath).send().await.body;
        let c = fx
            .req(Method::PATCH, &vpath)
            .header("if-match", &vtag)
            .merge(&json!({"verification": back["verification"]}))
            .send()
            .await;
        assert_eq!(c.status, 200, "{}", c.text);
        // Nothing changed, so the entity tag did not either.
        assert_eq!(c.header("etag"), Some(vtag.as_str()));
        assert_eq!(
            fx.stored(&vid).await.unwrap().document["verification"]["headers"]["X_Api_Key"],
            "short-key"
        );
    })
    .await;
}
