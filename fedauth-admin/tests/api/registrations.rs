//! Registrations: create with a server-issued QUID, read, list with
//! cursors, merge-patch with If-Match, delete.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Fixture, on_both};

const REGS: &str = "/admin/v1/registrations";

fn is_quid(id: &str) -> bool {
    id.strip_prefix("quid-").is_some_and(|b| {
        b.len() == 32
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
    })
}

fn is_strong_etag(tag: &str) -> bool {
    tag.len() > 2 && tag.starts_with('"') && tag.ends_with('"') && !tag.starts_with("W/")
}

#[tokio::test]
async fn create_read_patch_delete() {
    on_both(async |fx: &Fixture| {
        let doc = fx.oidc_doc();
        let a = fx.req(Method::POST, REGS).json(&doc).send().await;
        assert_eq!(a.status, 201, "{}", a.text);
        let id = a.body["id"].as_str().unwrap().to_owned();
        assert!(is_quid(&id), "{id}");
        assert_eq!(a.header("location"), Some(format!("{REGS}/{id}").as_str()));
        let etag = a.header("etag").unwrap().to_owned();
        assert!(is_strong_etag(&etag), "{etag}");
        let mut want = doc.clone();
        want["id"] = json!(id);
        assert_eq!(a.body, want);
        // It fetched what verification will: discovery, then the keys.
        assert_eq!((fx.idp.discovery_fetches(), fx.idp.jwks_fetches()), (1, 1));
        assert_eq!(fx.changes(), std::slice::from_ref(&id));

        let got = fx.req(Method::GET, &format!("{REGS}/{id}")).send().await;
        assert_eq!((got.status, got.header("etag")), (200, Some(etag.as_str())));
        assert_eq!(got.body, want);

        let patched = fx
            .req(Method::PATCH, &format!("{REGS}/{id}"))
            .header("if-match", &etag)
            .merge(&json!({"name": "Renamed", "roles": ["reader"]}))
            .send()
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        let new_etag = patched.header("etag").unwrap().to_owned();
        assert!(is_strong_etag(&new_etag) && new_etag != etag);
        assert_eq!(patched.body["name"], "Renamed");
        assert_eq!(patched.body["roles"], json!(["reader"]));
        assert_eq!(patched.body["issuer"], doc["issuer"]);
        // Only the name and roles changed: the IdP was not asked again.
        assert_eq!(fx.idp.discovery_fetches(), 1);
        let stored = fx.stored(&id).await.unwrap();
        assert_eq!(stored.etag.as_str(), new_etag);

        let removed = fx
            .req(Method::PATCH, &format!("{REGS}/{id}"))
            .header("if-match", &new_etag)
            .merge(&json!({"name": null}))
            .send()
            .await;
        assert_eq!(removed.status, 200, "{}", removed.text);
        assert_eq!(removed.body.get("name"), None);

        let deleted = fx.req(Method::DELETE, &format!("{REGS}/{id}")).send().await;
        assert_eq!((deleted.status, deleted.text.as_str()), (204, ""));
        assert!(fx.stored(&id).await.is_none());
        let gone = fx.req(Method::GET, &format!("{REGS}/{id}")).send().await;
        gone.refused(404, "not_found", &[(Some("id"), "path")]);
        assert_eq!(fx.changes(), [id.clone(), id.clone(), id.clone(), id]);
    })
    .await;
}

#[tokio::test]
async fn two_patches_with_one_etag_one_wins_one_is_412() {
    on_both(async |fx: &Fixture| {
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let path = format!("{REGS}/{id}");
        let patch = |name: &'static str| {
            fx.req(Method::PATCH, &path)
                .header("if-match", &etag)
                .merge(&json!({ "name": name }))
                .send()
        };
        let (a, b) = tokio::join!(patch("first"), patch("second"));
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "{} / {}", a.text, b.text);
        let (won, lost) = if a.status == 200 { (&a, &b) } else { (&b, &a) };
        lost.refused(412, "precondition_failed", &[(Some("If-Match"), "header")]);
        let stored = fx.stored(&id).await.unwrap();
        assert_eq!(stored.document["name"], won.body["name"]);
        // One create, one update: the loser left no trace.
        assert_eq!(fx.audit_log().await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn if_match_rules_of_patch_and_delete() {
    on_both(async |fx: &Fixture| {
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let path = format!("{REGS}/{id}");
        let rename = json!({"name": "x"});
        let none = fx.req(Method::PATCH, &path).merge(&rename).send().await;
        none.refused(
            428,
            "precondition_required",
            &[(Some("If-Match"), "header")],
        );
        for stale in ["\"nope\"", "W/\"nope\"", "garbage", &format!("W/{etag}")] {
            let a = fx
                .req(Method::PATCH, &path)
                .header("if-match", stale)
                .merge(&rename)
                .send()
                .await;
            a.refused(412, "precondition_failed", &[(Some("If-Match"), "header")]);
        }
        let stale = fx
            .req(Method::DELETE, &path)
            .header("if-match", "\"nope\"")
            .send()
            .await;
        stale.refused(412, "precondition_failed", &[(Some("If-Match"), "header")]);
        assert_eq!(fx.stored(&id).await.unwrap().etag.as_str(), etag);
        assert_eq!(fx.audit_log().await.len(), 1);
        // `*` and a list holding the current tag match.
        let any = fx
            .req(Method::PATCH, &path)
            .header("if-match", "*")
            .merge(&rename)
            .send()
            .await;
        assert_eq!(any.status, 200, "{}", any.text);
        let current = any.header("etag").unwrap().to_owned();
        let listed = format!("\"other\", {current}");
        let del = fx
            .req(Method::DELETE, &path)
            .header("if-match", &listed)
            .send()
            .await;
        assert_eq!(del.status, 204, "{}", del.text);
        let missing = fx
            .req(Method::PATCH, &path)
            .header("if-match", &current)
            .merge(&rename)
            .send()
            .await;
        missing.refused(404, "not_found", &[(Some("id"), "path")]);
        let missing = fx.req(Method::DELETE, &path).send().await;
        missing.refused(404, "not_found", &[(Some("id"), "path")]);
    })
    .await;
}

#[tokio::test]
async fn the_id_is_issued_and_cannot_change() {
    on_both(async |fx: &Fixture| {
        let mut doc = fx.oidc_doc();
        doc["id"] = json!("quid-mine");
        let a = fx.req(Method::POST, REGS).json(&doc).send().await;
        a.refused(422, "validation_failed", &[(Some("id"), "body")]);
        assert!(fx.count().await == 0);
        let (id, etag) = fx.create(&fx.oidc_doc()).await;
        let path = format!("{REGS}/{id}");
        let a = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&json!({"id": "quid-other"}))
            .send()
            .await;
        a.refused(422, "validation_failed", &[(Some("id"), "body")]);
        assert_eq!(a.body["details"][0]["value"], "quid-other");
        // Sending its own id back is no change of id.
        let same = fx
            .req(Method::PATCH, &path)
            .header("if-match", &etag)
            .merge(&json!({"id": id, "name": "n"}))
            .send()
            .await;
        assert_eq!(same.status, 200, "{}", same.text);
        assert!(fx.stored("quid-other").await.is_none());
    })
    .await;
}

#[tokio::test]
async fn list_pages_in_id_order_with_cursors() {
    on_both(async |fx: &Fixture| {
        let mut ids = Vec::new();
        for i in 0..5 {
            let doc = json!({"name": format!("app {i}"), "provider": "jwks", "client_id": "c", "jwks_uri": fx.idp.jwks_uri()});
            ids.push(fx.create(&doc).await.0);
        }
        ids.sort();
        let all = fx.req(Method::GET, REGS).send().await;
        assert_eq!(all.status, 200);
        assert_eq!(all.body["next_cursor"], Value::Null);
        let listed: Vec<&str> = all.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(listed, ids);
        let mut seen = Vec::new();
        let mut path = format!("{REGS}?limit=2");
        let mut pages = 0;
        loop {
            let page = fx.req(Method::GET, &path).send().await;
            assert_eq!(page.status, 200, "{}", page.text);
            let items = page.body["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            pages += 1;
            match page.body["next_cursor"].as_str() {
                Some(c) => path = format!("{REGS}?limit=2&cursor={c}"),
                None => break,
            }
        }
        assert_eq!((seen, pages), (ids, 3));
    })
    .await;
}

#[tokio::test]
async fn list_parameters_out_of_range_are_named() {
    on_both(async |fx: &Fixture| {
        for q in ["limit=0", "limit=501", "limit=ten", "limit=-1"] {
            let a = fx.req(Method::GET, &format!("{REGS}?{q}")).send().await;
            a.refused(422, "validation_failed", &[(Some("limit"), "query")]);
        }
        for q in ["cursor=nonsense", "cursor=YToz"] {
            // `YToz` is an audit cursor ("a:3"): not one of this list.
            let a = fx.req(Method::GET, &format!("{REGS}?{q}")).send().await;
            a.refused(422, "validation_failed", &[(Some("cursor"), "query")]);
        }
        let ok = fx
            .req(Method::GET, &format!("{REGS}?limit=500"))
            .send()
            .await;
        assert_eq!((ok.status, ok.body["items"].clone()), (200, json!([])));
    })
    .await;
}
