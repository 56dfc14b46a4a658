//! The audit log: every change with who, what, before and after (masked),
//! newest first, filtered and paged.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Fixture, P1, P1_TOKEN, P2, P2_TOKEN, on_both};

/// Create, patch, enable in P1, update there, enable in P2, disable in P1,
/// delete: the id and the registration as created and as patched.
async fn history(fx: &Fixture) -> (String, Value, Value) {
    let (id, etag) = fx.create(&fx.oidc_doc()).await;
    let reg = format!("/admin/v1/registrations/{id}");
    let created = fx.req(Method::GET, &reg).send().await.body;
    let patched = fx
        .req(Method::PATCH, &reg)
        .header("if-match", &etag)
        .merge(&json!({"name": "v2"}))
        .send()
        .await;
    assert_eq!(patched.status, 200);
    let p1 = format!("/admin/v1/properties/{P1}/registrations/{id}");
    let p2 = format!("/admin/v1/properties/{P2}/registrations/{id}");
    for (path, token, roles) in [
        (&p1, P1_TOKEN, json!(["reader"])),
        (&p1, P1_TOKEN, json!(["admin"])),
        (&p2, P2_TOKEN, json!([])),
    ] {
        let a = fx
            .req(Method::PUT, path)
            .token(token)
            .json(&json!({ "roles": roles }))
            .send()
            .await;
        assert!(a.status == 200 || a.status == 201, "{}", a.text);
    }
    assert_eq!(
        fx.req(Method::DELETE, &p1)
            .token(P1_TOKEN)
            .send()
            .await
            .status,
        204
    );
    assert_eq!(fx.req(Method::DELETE, &reg).send().await.status, 204);
    (id, created, patched.body)
}

fn is_rfc3339_utc(at: &str) -> bool {
    at.len() >= 20
        && at.ends_with('Z')
        && at.as_bytes()[10] == b'T'
        && at[..4].parse::<u16>().is_ok()
}

#[tokio::test]
async fn every_change_is_recorded_newest_first() {
    on_both(async |fx: &Fixture| {
        let (id, created, patched) = history(fx).await;
        let a = fx.req(Method::GET, "/admin/v1/audit").send().await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["next_cursor"], Value::Null);
        let items = a.body["items"].as_array().unwrap();
        let rows: Vec<Value> = items
            .iter()
            .map(|i| {
                assert!(is_rfc3339_utc(i["at"].as_str().unwrap()), "{i}");
                assert_eq!(i["registration"], json!(id));
                let mut keys: Vec<&String> = i.as_object().unwrap().keys().collect();
                keys.sort();
                assert_eq!(keys, ["action", "actor", "after", "at", "before", "property", "registration"]);
                json!([i["actor"], i["action"], i["property"], i["before"], i["after"]])
            })
            .collect();
        let mut final_doc = patched.clone();
        final_doc["properties"] = json!({P2: []});
        let want = vec![
            json!(["platform", "registration.delete", null, final_doc, null]),
            json!(["property:property-1", "property.disable", P1, {"roles": ["admin"]}, null]),
            json!(["property:property-2", "property.enable", P2, null, {"roles": []}]),
            json!(["property:property-1", "property.update", P1, {"roles": ["reader"]}, {"roles": ["admin"]}]),
            json!(["property:property-1", "property.enable", P1, null, {"roles": ["reader"]}]),
            json!(["platform", "registration.update", null, created, patched]),
            json!(["platform", "registration.create", null, null, created]),
        ];
        assert_eq!(rows, want);
    })
    .await;
}

#[tokio::test]
async fn filters_and_pages() {
    on_both(async |fx: &Fixture| {
        let (id, _, _) = history(fx).await;
        let (other, _) = fx.create(&fx.oidc_doc()).await;
        let actions = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["action"].as_str().unwrap().to_owned())
                .collect()
        };
        let p1 = fx
            .req(Method::GET, &format!("/admin/v1/audit?property={P1}"))
            .token(P1_TOKEN)
            .send()
            .await;
        assert_eq!(
            actions(&p1.body),
            ["property.disable", "property.update", "property.enable"]
        );
        let of_other = fx
            .req(
                Method::GET,
                &format!("/admin/v1/audit?registration={other}"),
            )
            .send()
            .await;
        assert_eq!(actions(&of_other.body), ["registration.create"]);
        let both = fx
            .req(
                Method::GET,
                &format!("/admin/v1/audit?registration={id}&property={P2}"),
            )
            .send()
            .await;
        assert_eq!(actions(&both.body), ["property.enable"]);
        let mut seen = Vec::new();
        let mut path = "/admin/v1/audit?limit=3".to_owned();
        loop {
            let page = fx.req(Method::GET, &path).send().await;
            assert_eq!(page.status, 200, "{}", page.text);
            seen.extend(actions(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(c) => path = format!("/admin/v1/audit?limit=3&cursor={c}"),
                None => break,
            }
        }
        let all = fx.req(Method::GET, "/admin/v1/audit").send().await;
        assert_eq!(seen, actions(&all.body));
        assert_eq!(seen.len(), 8);
        for q in ["limit=0", "limit=x"] {
            let a = fx
                .req(Method::GET, &format!("/admin/v1/audit?{q}"))
                .send()
                .await;
            a.refused(422, "validation_failed", &[(Some("limit"), "query")]);
        }
        let a = fx
            .req(Method::GET, "/admin/v1/audit?cursor=%%%")
            .send()
            .await;
        a.refused(422, "validation_failed", &[(Some("cursor"), "query")]);
    })
    .await;
}
