//! The admin API's refusals through both servers (registry file store):
//! each error row of the contract with its status, code and the field
//! named in `details`; secrets write-only; pagination; two PATCHes with
//! one ETag; the IdP check's refusals, which name the field and nothing
//! of what was fetched.

use serde_json::{Value, json};
use tower_fedauth::testkit::MockIdp;

use crate::admin::{
    ADMIN, Admin, Dir, P7, P7_TOKEN, Reply, bytes, jwks_document, on_file, start_with,
};
use crate::harness::{Canned, SERVERS, Server, assert_silent_about_egress};

/// A registry with one application enabled in property-42 only (an
/// introspection endpoint: nothing to fetch at start).
const ONE_IN_42: &str = r#"
[[registrations]]
id = "quid-in-42"
name = "Enabled in 42"
provider = "introspection"
client_id = "app-42"
[registrations.introspection]
endpoint = "https://idp.example.com/introspect"
client_id = "resource-server"
client_secret = "a-secret-of-the-file-0123456789"
[registrations.properties]
"property-42" = ["reader"]
"#;

fn introspection(secret: &str) -> Value {
    json!({
        "name": "Opaque tokens",
        "provider": "introspection",
        "client_id": "app-3",
        "introspection": {
            "endpoint": "https://idp.example.com/introspect",
            "client_id": "resource-server",
            "client_secret": secret,
        },
    })
}

/// A body of exactly `size` bytes: a valid registration with a long name.
fn body_of(size: usize) -> Vec<u8> {
    let mut document = introspection("x");
    document["name"] = json!("");
    let room = size - document.to_string().len();
    document["name"] = json!("n".repeat(room));
    let body = document.to_string().into_bytes();
    assert_eq!(body.len(), size);
    body
}

async fn no_credential_and_other_callers(admin: &Admin) {
    for token in [None, Some("not-a-known-token")] {
        let reply = admin.send("GET", "/registrations", token, &[], None).await;
        reply.refused(401, "unauthorized", &[]);
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer realm="fedauth-admin""#)
        );
    }
    let empty = json!({});
    for (method, path) in [
        ("POST", "/registrations".to_owned()),
        ("GET", "/registrations".to_owned()),
        ("DELETE", "/registrations/quid-in-42".to_owned()),
        ("GET", "/properties/property-42/registrations".to_owned()),
        (
            "PUT",
            "/properties/property-42/registrations/quid-in-42".to_owned(),
        ),
    ] {
        let reply = admin.json(method, &path, P7_TOKEN, &empty).await;
        reply.refused(403, "forbidden", &[]);
    }
    let own = "must be your own property";
    for query in ["", "?property=property-42"] {
        let reply = admin.get(&format!("/audit{query}"), P7_TOKEN).await;
        reply.refused(403, "forbidden", &[("property", "query", own)]);
    }
    // Not enabled in the property admin's property: as if it did not exist.
    let unknown = admin.get("/registrations/quid-nope", ADMIN).await;
    unknown.refused(404, "not_found", &[("id", "path", "no such registration")]);
    assert_eq!(unknown.body["details"][0]["value"], "quid-nope");
    let elsewhere = admin.get("/registrations/quid-in-42", P7_TOKEN).await;
    elsewhere.refused(404, "not_found", &[("id", "path", "no such registration")]);
    let path = format!("/properties/{P7}/registrations/quid-in-42");
    let not_there = admin.send("DELETE", &path, Some(P7_TOKEN), &[], None).await;
    not_there.refused(
        404,
        "not_found",
        &[("id", "path", "not enabled in this property")],
    );
    let reply = admin.enable(P7, "quid-nope", P7_TOKEN, &["reader"]).await;
    reply.refused(404, "not_found", &[("id", "path", "no such registration")]);
}

async fn invalid_bodies_and_queries(admin: &Admin) {
    let broken = json!({
        "provider": "jwks", "client_id": "a", "jwks_uri": "https://idp.example/keys",
        "algorithms": ["HS256"], "colour": "red", "roles": "x",
    });
    let reply = admin.json("POST", "/registrations", ADMIN, &broken).await;
    reply.refused(
        422,
        "validation_failed",
        &[
            (
                "roles",
                "body",
                "invalid type: string \"x\", expected a sequence",
            ),
            ("colour", "body", "unknown field `colour`"),
            (
                "algorithms",
                "body",
                "HS256 is a symmetric algorithm and is never accepted",
            ),
        ],
    );
    let mut with_id = introspection("s");
    with_id["id"] = json!("quid-mine");
    let reply = admin.json("POST", "/registrations", ADMIN, &with_id).await;
    reply.refused(
        422,
        "validation_failed",
        &[("id", "body", "is issued by the server: leave it out")],
    );
    let reply = admin
        .json(
            "PUT",
            &format!("/properties/{P7}/registrations/quid-in-42"),
            ADMIN,
            &json!({"roles": "r", "x": 1}),
        )
        .await;
    reply.refused(
        422,
        "validation_failed",
        &[
            ("roles", "body", "must be a list of strings"),
            ("x", "body", "unknown field; only `roles` is taken"),
        ],
    );
    for query in ["limit=0", "limit=501", "limit=ten"] {
        let reply = admin.get(&format!("/registrations?{query}"), ADMIN).await;
        reply.refused(
            422,
            "validation_failed",
            &[("limit", "query", "must be an integer from 1 to 500")],
        );
    }
    let reply = admin.get("/registrations?cursor=zzz", ADMIN).await;
    reply.refused(
        422,
        "validation_failed",
        &[("cursor", "query", "not a cursor of this list")],
    );

    let post = |content_type: &'static str, body: Vec<u8>| {
        admin.send(
            "POST",
            "/registrations",
            Some(ADMIN),
            &[],
            Some((content_type, body)),
        )
    };
    let json_type = "application/json";
    post(json_type, b"{\"provider\": ".to_vec()).await.refused(
        400,
        "malformed_request",
        &[("null", "body", "not JSON")],
    );
    post(json_type, b"[1]".to_vec()).await.refused(
        400,
        "malformed_request",
        &[("null", "body", "the body must be a JSON object")],
    );
    post("text/plain", b"{}".to_vec()).await.refused(
        400,
        "malformed_request",
        &[("Content-Type", "header", "must be application/json")],
    );
    post(json_type, body_of(64 * 1024 + 1)).await.refused(
        400,
        "malformed_request",
        &[("null", "body", "the body is larger than 65536 bytes")],
    );
    let largest = post(json_type, body_of(64 * 1024)).await;
    assert_eq!(
        largest.status, 201,
        "a 64 KiB body is taken: {:?}",
        largest.body["code"]
    );
}

async fn preconditions(admin: &Admin) {
    let got = admin.get("/registrations/quid-in-42", ADMIN).await;
    let etag = got.etag();
    admin
        .patch("quid-in-42", None, &json!({"name": "x"}))
        .await
        .refused(
            428,
            "precondition_required",
            &[("If-Match", "header", "is required")],
        );
    for stale in ["\"not-the-etag\"", "unquoted"] {
        admin
            .patch("quid-in-42", Some(stale), &json!({"name": "x"}))
            .await
            .refused(
                412,
                "precondition_failed",
                &[("If-Match", "header", "is not the current ETag")],
            );
    }
    admin
        .patch("quid-in-42", Some(&etag), &json!({"id": "quid-other"}))
        .await
        .refused(422, "validation_failed", &[("id", "body", "cannot change")]);
    let wrong_type = admin
        .send(
            "PATCH",
            "/registrations/quid-in-42",
            Some(ADMIN),
            &[("if-match", &etag)],
            Some(("application/json", b"{}".to_vec())),
        )
        .await;
    wrong_type.refused(
        400,
        "malformed_request",
        &[(
            "Content-Type",
            "header",
            "must be application/merge-patch+json",
        )],
    );
    // Nothing changed.
    let after = admin.get("/registrations/quid-in-42", ADMIN).await;
    assert_eq!((after.etag(), &after.body), (etag, &got.body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_of_the_contract_through_both_servers() {
    for bin in SERVERS {
        let (_dir, _, server) = on_file(bin, "r.toml", ONE_IN_42);
        let admin = Admin::of(&server);
        no_credential_and_other_callers(&admin).await;
        invalid_bodies_and_queries(&admin).await;
        preconditions(&admin).await;
        // Only the 64 KiB body was stored.
        let actions = admin.actions().await;
        assert_eq!(actions, ["registration.create"], "{bin}");
    }
}

/// `*` for each hidden character, then the last 5 (seed 001's masking).
fn masked(secret: &str) -> String {
    format!(
        "{}{}",
        "*".repeat(secret.len() - 5),
        &secret[secret.len() - 5..]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_write_only_and_masked_everywhere_but_the_registry_file() {
    let secret = "s3cret-0123456789-abcdefXYZ12";
    let newer = "n3wer-secret-0123456789-QRSTU";
    for bin in SERVERS {
        let (_dir, path, server) = on_file(bin, "r.json", r#"{"registrations": []}"#);
        let admin = Admin::of(&server);
        let (id, created) = admin.create(&introspection(secret)).await;
        let secret_at = "/introspection/client_secret";
        assert_eq!(
            created.body.pointer(secret_at),
            Some(&json!(masked(secret)))
        );
        let got = admin.get(&format!("/registrations/{id}"), ADMIN).await;
        assert_eq!(got.body.pointer(secret_at), Some(&json!(masked(secret))));
        assert!(String::from_utf8(bytes(&path)).unwrap().contains(secret));

        // Sent back masked, with another change: the secret stays.
        let renamed = admin
            .patch(
                &id,
                Some(&got.etag()),
                &json!({"name": "Renamed", "introspection": {"client_secret": masked(secret)}}),
            )
            .await;
        assert_eq!(renamed.status, 200, "{renamed:?}");
        assert_eq!(
            renamed.body.pointer(secret_at),
            Some(&json!(masked(secret)))
        );
        assert!(String::from_utf8(bytes(&path)).unwrap().contains(secret));
        // A new one replaces it.
        let replaced = admin
            .patch(
                &id,
                Some(&renamed.etag()),
                &json!({"introspection": {"client_secret": newer}}),
            )
            .await;
        assert_eq!(
            replaced.body.pointer(secret_at),
            Some(&json!(masked(newer)))
        );
        let file = String::from_utf8(bytes(&path)).unwrap();
        assert!(file.contains(newer) && !file.contains(secret), "{file}");

        // A property admin where it is enabled reads it masked too.
        assert_eq!(admin.enable(P7, &id, ADMIN, &["reader"]).await.status, 201);
        let read = admin.get(&format!("/registrations/{id}"), P7_TOKEN).await;
        assert_eq!(read.body.pointer(secret_at), Some(&json!(masked(newer))));

        // A short secret is 8 asterisks; a header template is no secret.
        let (_, short) = admin.create(&introspection("short-secret")).await;
        assert_eq!(short.body.pointer(secret_at), Some(&json!("********")));
        let key = "k3y-0123456789-abcdefgh-LAST5";
        let verification = json!({
            "provider": "verification-endpoint",
            "verification": {
                "url": "https://verify.example.com/", "method": "GET",
                "headers": {"x_api_key": key, "Authorization": "Bearer #{token}"},
                "params": {"t": "#{token}"}, "response": {"uid": "#{user.id}"},
            },
        });
        let (_, custom) = admin.create(&verification).await;
        assert_eq!(
            custom.body.pointer("/verification/headers"),
            Some(&json!({"x_api_key": masked(key), "Authorization": "Bearer #{token}"}))
        );

        // The audit log, in the API and in the file beside the registry,
        // never holds a secret.
        let audit = admin.get("/audit", ADMIN).await;
        let audit_file = String::from_utf8(bytes(format!("{path}.audit.jsonl"))).unwrap();
        assert_eq!(audit_file.lines().count(), 6, "{audit_file}");
        for text in [audit.body.to_string(), audit_file] {
            for real in [secret, newer, "short-secret", key] {
                assert!(!text.contains(real), "{bin}: {real} in {text}");
            }
            assert!(text.contains(&masked(newer)), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_registrations_hold_each_one_once_in_id_order() {
    for bin in SERVERS {
        let (_dir, _, server) = on_file(bin, "r.toml", ONE_IN_42);
        let admin = Admin::of(&server);
        let mut ids = vec!["quid-in-42".to_owned()];
        for n in 0..4 {
            let mut document = introspection("secret");
            document["name"] = json!(format!("app {n}"));
            ids.push(admin.create(&document).await.0);
        }
        ids.sort();
        let mut seen = Vec::new();
        let mut query = "limit=2".to_owned();
        let mut pages = 0;
        loop {
            let page = admin.get(&format!("/registrations?{query}"), ADMIN).await;
            assert_eq!(page.status, 200, "{page:?}");
            let items = page.body["items"].as_array().unwrap();
            pages += 1;
            assert_eq!(items.len(), if pages == 3 { 1 } else { 2 }, "{page:?}");
            seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => query = format!("limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!((pages, &seen), (3, &ids), "{bin}");
        let all = admin.get("/registrations", ADMIN).await;
        assert_eq!(all.body["next_cursor"], Value::Null);
        assert_eq!(all.body["items"].as_array().unwrap().len(), 5);
        // The audit log pages the same way, newest first.
        let first = admin.get("/audit?limit=3", ADMIN).await;
        let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
        let rest = admin
            .get(&format!("/audit?limit=3&cursor={cursor}"), ADMIN)
            .await;
        let names: Vec<&Value> = first.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(rest.body["items"].as_array().unwrap())
            .map(|i| &i["after"]["name"])
            .collect();
        assert_eq!(
            names,
            [
                &json!("app 3"),
                &json!("app 2"),
                &json!("app 1"),
                &json!("app 0")
            ]
        );
        assert_eq!(rest.body["next_cursor"], Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_patches_with_one_etag_one_wins_the_other_is_412() {
    for bin in SERVERS {
        let (_dir, _, server) = on_file(bin, "r.toml", ONE_IN_42);
        let admin = Admin::of(&server);
        let etag = admin.get("/registrations/quid-in-42", ADMIN).await.etag();
        let (name_a, name_b) = (json!({"name": "A"}), json!({"name": "B"}));
        let (a, b) = tokio::join!(
            admin.patch("quid-in-42", Some(&etag), &name_a),
            admin.patch("quid-in-42", Some(&etag), &name_b),
        );
        let (won, lost) = if a.status == 200 { (a, b) } else { (b, a) };
        assert_eq!(won.status, 200, "{bin}: {won:?} / {lost:?}");
        lost.refused(
            412,
            "precondition_failed",
            &[("If-Match", "header", "is not the current ETag")],
        );
        let now = admin.get("/registrations/quid-in-42", ADMIN).await;
        assert_eq!(
            (now.etag(), &now.body["name"]),
            (won.etag(), &won.body["name"])
        );
        let updates = admin.audit("registration=quid-in-42").await;
        assert_eq!(updates.len(), 1, "{updates:?}");
        assert_eq!(updates[0]["after"]["name"], won.body["name"]);
    }
}

/// Creating `document` is refused naming `field` for `msg`; nothing was
/// stored and nothing of the fetch is in the answer.
async fn refused_by_the_idp_check(
    admin: &Admin,
    document: &Value,
    field: &str,
    msg: &str,
    ports: &[u16],
) -> Reply {
    let reply = admin.json("POST", "/registrations", ADMIN, document).await;
    reply.refused(422, "validation_failed", &[(field, "body", msg)]);
    assert_eq!(reply.body["details"][0]["value"], Value::Null);
    assert_silent_about_egress(&reply.body.to_string(), ports, field);
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idp_check_names_the_field_and_nothing_it_fetched() {
    let no_keys = MockIdp::start().await;
    no_keys.set_raw_jwks(Some(r#"{"keys": []}"#.to_owned()));
    let other_issuer = MockIdp::start().await;
    other_issuer.set_discovery_issuer(Some("https://someone-else.example.com".to_owned()));
    let good = MockIdp::start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let canned = Canned::start(
        "127.0.0.1",
        200,
        &[("content-type", "application/json")],
        |_| r#"{"keys": []}"#.to_owned(),
    )
    .await;
    let port = |idp: &MockIdp| idp.local_addr().port();
    let ports = [
        port(&no_keys),
        port(&other_issuer),
        port(&good),
        closed_port,
        canned.addr.port(),
    ];
    let unreachable = format!("http://127.0.0.1:{closed_port}/jwks");
    for bin in SERVERS {
        let (_dir, _, server) = on_file(bin, "r.toml", "registrations = []\n");
        let admin = Admin::of(&server);
        let mut down = jwks_document(&good, "down");
        down["jwks_uri"] = json!(unreachable);
        refused_by_the_idp_check(&admin, &down, "jwks_uri", "not reachable", &ports).await;
        let empty = jwks_document(&no_keys, "no keys");
        refused_by_the_idp_check(&admin, &empty, "jwks_uri", "no usable signing key", &ports).await;
        let oidc =
            json!({"provider": "oidc", "client_id": "app-1", "issuer": other_issuer.issuer()});
        refused_by_the_idp_check(&admin, &oidc, "issuer", "issuer mismatch", &ports).await;
        let mut by_url = oidc.clone();
        by_url["issuer"] = json!(good.issuer());
        by_url["discovery_url"] = json!(format!(
            "http://127.0.0.1:{closed_port}/.well-known/openid-configuration"
        ));
        refused_by_the_idp_check(&admin, &by_url, "discovery_url", "not reachable", &ports).await;
        assert_eq!(
            admin.get("/registrations", ADMIN).await.body,
            json!({"items": [], "next_cursor": null})
        );
        assert!(admin.audit("").await.is_empty());

        // Discovery through the issuer passes; a PATCH of an IdP field is
        // checked again, one of another field is not.
        let mut good_oidc = oidc.clone();
        good_oidc["issuer"] = json!(good.issuer());
        let (id, created) = admin.create(&good_oidc).await;
        let moved = admin
            .patch(
                &id,
                Some(&created.etag()),
                &json!({"jwks_uri": unreachable}),
            )
            .await;
        moved.refused(
            422,
            "validation_failed",
            &[("jwks_uri", "body", "not reachable")],
        );
        // `?check=false` (platform admin) stores it unchecked.
        let reply = admin
            .json("POST", "/registrations?check=false", ADMIN, &down)
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
        let renamed = admin
            .patch(
                reply.body["id"].as_str().unwrap(),
                Some(&reply.etag()),
                &json!({"name": "still down"}),
            )
            .await;
        assert_eq!(renamed.status, 200, "{renamed:?}");
    }
    // Without --allow-network, a loopback key set is refused by the egress
    // policy before any connection.
    for bin in SERVERS {
        let dir = Dir::new("egress");
        let path = dir.registry("r.toml", "registrations = []\n");
        let server: Server = start_with(bin, &["--registry", &path], &["--allow-http"]);
        let mut local = jwks_document(&good, "local");
        local["jwks_uri"] = json!(canned.url("/jwks"));
        refused_by_the_idp_check(
            &Admin::of(&server),
            &local,
            "jwks_uri",
            "not reachable",
            &ports,
        )
        .await;
    }
    assert_eq!(canned.hits(), 0, "the egress policy let a request through");
}
