//! Property enablement: PUT enables with exactly these roles (201 new,
//! 200 replaced), GET lists, DELETE disables; each change recorded and
//! announced before the answer.

use std::sync::atomic::Ordering;

use reqwest::Method;
use serde_json::json;

use crate::common::{Fixture, P1, P1_TOKEN, on_both};

fn enablement(id: &str) -> String {
    format!("/admin/v1/properties/{P1}/registrations/{id}")
}

const LIST: &str = "/admin/v1/properties/property-1/registrations";

#[tokio::test]
async fn enable_replace_list_and_disable() {
    on_both(async |fx: &Fixture| {
        let (id, _) = fx.create(&fx.oidc_doc()).await;
        let (other, _) = fx
            .create(&json!({"issuer": fx.idp.issuer(), "client_id": "app-2"}))
            .await;
        let path = enablement(&id);
        let empty = fx.req(Method::GET, LIST).token(P1_TOKEN).send().await;
        assert_eq!(
            (empty.status, empty.body.clone()),
            (200, json!({"items": []}))
        );

        let new = fx
            .req(Method::PUT, &path)
            .token(P1_TOKEN)
            .json(&json!({"roles": ["reader"]}))
            .send()
            .await;
        assert_eq!(new.status, 201, "{}", new.text);
        assert_eq!(
            new.body,
            json!({"id": id, "name": "Demo app", "roles": ["reader"]})
        );
        assert_eq!(
            fx.stored(&id).await.unwrap().document["properties"],
            json!({P1: ["reader"]})
        );
        assert_eq!(fx.changes().last(), Some(&id));

        let replaced = fx
            .req(Method::PUT, &path)
            .token(P1_TOKEN)
            .json(&json!({"roles": ["admin", "reader"]}))
            .send()
            .await;
        assert_eq!(replaced.status, 200, "{}", replaced.text);
        assert_eq!(replaced.body["roles"], json!(["admin", "reader"]));
        let again = fx
            .req(Method::PUT, &path)
            .json(&json!({"roles": ["admin", "reader"]}))
            .send()
            .await;
        assert_eq!(
            (again.status, again.body.clone()),
            (200, replaced.body.clone())
        );
        // Create, create, enable, update: the same roles again wrote nothing.
        assert_eq!(fx.audit_log().await.len(), 4);
        assert_eq!(fx.changes().len(), 4);

        let other_path = enablement(&other);
        let b = fx
            .req(Method::PUT, &other_path)
            .json(&json!({"roles": []}))
            .send()
            .await;
        assert_eq!(b.status, 201, "{}", b.text);
        let list = fx.req(Method::GET, LIST).token(P1_TOKEN).send().await;
        let mut want = vec![
            json!({"id": id, "name": "Demo app", "roles": ["admin", "reader"]}),
            json!({"id": other, "name": null, "roles": []}),
        ];
        want.sort_by_key(|i| i["id"].as_str().unwrap().to_owned());
        assert_eq!(list.body, json!({"items": want}));

        let off = fx.req(Method::DELETE, &path).token(P1_TOKEN).send().await;
        assert_eq!((off.status, off.text.as_str()), (204, ""));
        assert_eq!(
            fx.stored(&id).await.unwrap().document.get("properties"),
            None
        );
        assert_eq!(fx.changes().last(), Some(&id));
        let twice = fx.req(Method::DELETE, &path).token(P1_TOKEN).send().await;
        twice.refused(404, "not_found", &[(Some("id"), "path")]);
        let list = fx.req(Method::GET, LIST).send().await;
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn bad_enablements_are_named_and_change_nothing() {
    on_both(async |fx: &Fixture| {
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let path = enablement(&id);
        let cases = [
            (json!({"roles": "reader"}), vec![(Some("roles"), "body")]),
            (json!({}), vec![(Some("roles"), "body")]),
            (json!({"roles": [1]}), vec![(Some("roles"), "body")]),
            (json!({"roles": [" padded"]}), vec![(Some("roles"), "body")]),
            (
                json!({"roles": ["a"], "extra": 1}),
                vec![(Some("extra"), "body")],
            ),
        ];
        for (body, details) in cases {
            let a = fx
                .req(Method::PUT, &path)
                .token(P1_TOKEN)
                .json(&body)
                .send()
                .await;
            a.refused(422, "validation_failed", &details);
        }
        let bad_property = fx
            .req(
                Method::PUT,
                &format!("/admin/v1/properties/%20p/registrations/{id}"),
            )
            .json(&json!({"roles": []}))
            .send()
            .await;
        bad_property.refused(422, "validation_failed", &[(Some("property"), "path")]);
        let not_json = fx
            .req(Method::PUT, &path)
            .token(P1_TOKEN)
            .body("application/json", "roles")
            .send()
            .await;
        not_json.refused(400, "malformed_request", &[(None, "body")]);
        let unknown = fx
            .req(Method::PUT, &enablement("quid-none"))
            .token(P1_TOKEN)
            .json(&json!({"roles": []}))
            .send()
            .await;
        unknown.refused(404, "not_found", &[(Some("id"), "path")]);
        let not_enabled = fx.req(Method::DELETE, &path).token(P1_TOKEN).send().await;
        not_enabled.refused(404, "not_found", &[(Some("id"), "path")]);
        assert_eq!(fx.stored(&id).await.unwrap().etag.as_str(), etag);
        assert_eq!(fx.audit_log().await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_write_that_loses_a_race_is_retried_once_then_409() {
    on_both(async |fx: &Fixture| {
        let (id, _) = fx.create(&fx.oidc_doc()).await;
        let path = enablement(&id);
        // Someone else writes just before this one: the retry wins.
        fx.store.race.store(1, Ordering::SeqCst);
        let a = fx
            .req(Method::PUT, &path)
            .token(P1_TOKEN)
            .json(&json!({"roles": ["reader"]}))
            .send()
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        let doc = fx.stored(&id).await.unwrap().document;
        assert_eq!(
            (doc["name"].as_str(), &doc["properties"]),
            (
                Some("changed by another writer 0"),
                &json!({P1: ["reader"]})
            )
        );
        // Twice: 409, and only the other writer's changes are there.
        fx.store.race.store(2, Ordering::SeqCst);
        let b = fx
            .req(Method::PUT, &path)
            .token(P1_TOKEN)
            .json(&json!({"roles": ["admin"]}))
            .send()
            .await;
        b.refused(409, "conflict", &[]);
        assert_eq!(
            fx.stored(&id).await.unwrap().document["properties"],
            json!({P1: ["reader"]})
        );
        let actions: Vec<String> = fx
            .audit_log()
            .await
            .iter()
            .map(|r| r.action.to_string())
            .collect();
        assert_eq!(
            actions,
            [
                "registration.update",
                "registration.update",
                "property.enable",
                "registration.update",
                "registration.create"
            ]
        );
    })
    .await;
}
