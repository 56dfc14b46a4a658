//! Seed 000's workflow through the admin API of both servers, on the
//! registry file, on PostgreSQL and in demo mode: register (the server
//! issues the QUID), call, be refused in a property, be enabled there by
//! its admin with a role, change the roles, be disabled — each change
//! served before the API answers; the changes survive a restart, and a
//! second instance on the same database serves them within a second.

use std::time::{Duration, Instant};

use fedauth_test_pg::fresh_database;
use serde_json::{Value, json};
use tower_fedauth::registry::FileRegistry;
use tower_fedauth::testkit::MockIdp;

use crate::admin::{
    ADMIN, Admin, Dir, P7, P7_TOKEN, assert_quid, call, jwks_document, outcome, start, token,
};
use crate::harness::{SERVERS, Server};

/// The whole flow against `server`; the registration's id.
async fn seed_000_flow(server: &Server, idp: &MockIdp) -> String {
    let admin = Admin::of(server);
    let document = jwks_document(idp, "Partner dashboard");
    let (id, created) = admin.create(&document).await;
    assert_quid(&id);
    let mut stored = document.clone();
    stored["id"] = json!(id);
    assert_eq!(created.body, stored);
    let etag = created.etag();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );
    let got = admin.get(&format!("/registrations/{id}"), ADMIN).await;
    assert_eq!((got.status, &got.body, got.etag()), (200, &stored, etag));

    let token = token(idp);
    let (status, body) = call(server, "/whoami", &token, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["registration"], &body["roles"], &body["property"]),
        (&json!(id), &json!([]), &Value::Null)
    );
    let p7_whoami = format!("/properties/{P7}/whoami");
    let p7_admin = format!("/properties/{P7}/admin");
    assert_eq!(
        outcome(server, &p7_whoami, &token, &id).await,
        (403, json!("property_not_enabled"))
    );

    // The property admin enables the application with `reader`.
    let enabled = admin.enable(P7, &id, P7_TOKEN, &["reader"]).await;
    let item = |roles: Value| json!({"id": id, "name": "Partner dashboard", "roles": roles});
    assert_eq!(
        (enabled.status, &enabled.body),
        (201, &item(json!(["reader"])))
    );
    assert_eq!(
        outcome(server, &p7_whoami, &token, &id).await,
        (200, json!(["reader"]))
    );
    assert_eq!(
        outcome(server, &p7_admin, &token, &id).await,
        (403, json!("insufficient_role"))
    );

    // Its roles there are replaced: the admin route opens.
    let replaced = admin.enable(P7, &id, P7_TOKEN, &["admin", "reader"]).await;
    let both = json!(["admin", "reader"]);
    assert_eq!(
        (replaced.status, &replaced.body),
        (200, &item(both.clone()))
    );
    let (status, body) = call(server, &p7_admin, &token, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["roles"], &body["property"]), (&both, &json!(P7)));
    let listed = admin
        .get(&format!("/properties/{P7}/registrations"), P7_TOKEN)
        .await;
    assert_eq!(
        (listed.status, &listed.body),
        (200, &json!({"items": [item(both.clone())]}))
    );

    // Disabled: refused at once.
    let path = format!("/properties/{P7}/registrations/{id}");
    let disabled = admin.send("DELETE", &path, Some(P7_TOKEN), &[], None).await;
    assert_eq!((disabled.status, &disabled.body), (204, &Value::Null));
    assert_eq!(
        outcome(server, &p7_whoami, &token, &id).await,
        (403, json!("property_not_enabled"))
    );

    let items = admin.audit(&format!("registration={id}")).await;
    let actor = format!("property:{P7}");
    let roles = |r: Value| json!({ "roles": r });
    let expected = [
        (
            "property.disable",
            actor.as_str(),
            json!(P7),
            roles(both.clone()),
            Value::Null,
        ),
        (
            "property.update",
            &actor,
            json!(P7),
            roles(json!(["reader"])),
            roles(both),
        ),
        (
            "property.enable",
            &actor,
            json!(P7),
            Value::Null,
            roles(json!(["reader"])),
        ),
        (
            "registration.create",
            "platform",
            Value::Null,
            Value::Null,
            stored,
        ),
    ];
    assert_eq!(items.len(), expected.len(), "{items:?}");
    for (item, (action, actor, property, before, after)) in items.iter().zip(expected) {
        let mut without_time = item.as_object().unwrap().clone();
        let at = without_time.remove("at").unwrap();
        assert_rfc3339_utc(at.as_str().unwrap());
        assert_eq!(
            Value::Object(without_time),
            json!({
                "actor": actor, "action": action, "registration": id,
                "property": property, "before": before, "after": after,
            })
        );
    }
    let times: Vec<&str> = items.iter().map(|i| i["at"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    id
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
fn assert_rfc3339_utc(at: &str) {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = at.split_once('T').unwrap_or_else(|| panic!("{at}"));
    let time = time
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("not UTC: {at}"));
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    assert!(
        date.len() == 10 && hms.len() == 8 && digits(&date.replace('-', "")),
        "{at}"
    );
    assert!(digits(&hms.replace(':', "")) && digits(fraction), "{at}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_flow_on_the_registry_file_through_both_servers() {
    let idp = MockIdp::start().await;
    for bin in SERVERS {
        for (name, empty) in [
            ("r.toml", "registrations = []\n"),
            ("r.json", r#"{"registrations": []}"#),
        ] {
            let dir = Dir::new("flow");
            let path = dir.registry(name, empty);
            let server = start(bin, &["--registry", &path]);
            let id = seed_000_flow(&server, &idp).await;
            // The file is still a registry file the core loads, in its
            // format, and the audit log lies beside it.
            let loaded = FileRegistry::load(&path).unwrap();
            let registration = loaded.registrations().get(&id);
            let registration =
                registration.unwrap_or_else(|| panic!("{bin} {name}: {id} not in the file"));
            assert_eq!(registration.client_id(), Some(idp.client_id().as_str()));
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                text.trim_start().starts_with('{'),
                name.ends_with(".json"),
                "{text}"
            );
            let audit = std::fs::read_to_string(format!("{path}.audit.jsonl")).unwrap();
            assert_eq!(audit.lines().count(), 4, "{audit}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_flow_on_postgres_through_both_servers() {
    let idp = MockIdp::start().await;
    for bin in SERVERS {
        let url = fresh_database().await;
        let server = start(bin, &["--database-url", &url]);
        seed_000_flow(&server, &idp).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_file_stores_changes() {
    let idp = MockIdp::start().await;
    let dir = Dir::new("restart");
    let path = dir.registry("r.toml", "registrations = []\n");
    let token = token(&idp);
    let p7_whoami = format!("/properties/{P7}/whoami");
    // Written by one server, served by the other after it stopped.
    let first = start(SERVERS[0], &["--registry", &path]);
    let (id, _) = Admin::of(&first).create(&jwks_document(&idp, "Kept")).await;
    let enabled = Admin::of(&first)
        .enable(P7, &id, P7_TOKEN, &["reader"])
        .await;
    assert_eq!(enabled.status, 201, "{enabled:?}");
    let before = Admin::of(&first)
        .get(&format!("/registrations/{id}"), ADMIN)
        .await;
    assert!(first.stop("-TERM").success());

    let second = start(SERVERS[1], &["--registry", &path]);
    let admin = Admin::of(&second);
    let after = admin.get(&format!("/registrations/{id}"), ADMIN).await;
    assert_eq!(
        (after.status, &after.body, after.etag()),
        (200, &before.body, before.etag())
    );
    assert_eq!(
        outcome(&second, &p7_whoami, &token, &id).await,
        (200, json!(["reader"]))
    );
    let actions = admin.actions().await;
    assert_eq!(actions, ["property.enable", "registration.create"]);
    // The first process let go of the writer's lock: this one writes.
    let disabled = admin
        .send(
            "DELETE",
            &format!("/properties/{P7}/registrations/{id}"),
            Some(ADMIN),
            &[],
            None,
        )
        .await;
    assert_eq!(disabled.status, 204, "{disabled:?}");
    assert_eq!(
        outcome(&second, &p7_whoami, &token, &id).await,
        (403, json!("property_not_enabled"))
    );
}

/// Polls `server` until the call's outcome is `want`; how long it took.
async fn served_within(
    server: &Server,
    path: &str,
    token: &str,
    id: &str,
    want: (u16, Value),
) -> Duration {
    let started = Instant::now();
    loop {
        let got = outcome(server, path, token, id).await;
        if got == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}: still {got:?}, want {want:?}",
            server.bin
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A change one instance makes.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// Enable in property-7 with these roles.
    Enable(&'static [&'static str]),
    /// Disable in property-7.
    Disable,
    /// Delete the registration.
    Delete,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_on_the_database_serves_each_change_within_a_second() {
    let idp = MockIdp::start().await;
    let url = fresh_database().await;
    let one = start(SERVERS[0], &["--database-url", &url]);
    let other = start(SERVERS[1], &["--database-url", &url]);
    let token = token(&idp);
    let p7_whoami = format!("/properties/{P7}/whoami");
    let p7_admin = format!("/properties/{P7}/admin");
    let whoami = "/whoami".to_owned();

    let (id, _) = Admin::of(&one).create(&jwks_document(&idp, "Shared")).await;
    // The other instance now holds the registration in its cache.
    assert_eq!(
        outcome(&other, &p7_whoami, &token, &id).await,
        (403, json!("property_not_enabled"))
    );
    // (writer, change, the route to call, what both instances then answer)
    let steps = [
        (
            &one,
            Change::Enable(&["reader"]),
            &p7_whoami,
            (200, json!(["reader"])),
        ),
        (
            &other,
            Change::Enable(&["admin"]),
            &p7_admin,
            (200, json!(["admin"])),
        ),
        (
            &one,
            Change::Disable,
            &p7_whoami,
            (403, json!("property_not_enabled")),
        ),
        (
            &other,
            Change::Delete,
            &whoami,
            (401, json!("unknown_registration")),
        ),
    ];
    for (writer, change, path, want) in steps {
        let admin = Admin::of(writer);
        let what = format!("{change:?}");
        let reply = match change {
            Change::Enable(roles) => admin.enable(P7, &id, ADMIN, roles).await,
            Change::Disable => {
                let path = format!("/properties/{P7}/registrations/{id}");
                admin.send("DELETE", &path, Some(ADMIN), &[], None).await
            }
            Change::Delete => {
                let path = format!("/registrations/{id}");
                admin.send("DELETE", &path, Some(ADMIN), &[], None).await
            }
        };
        assert!(matches!(reply.status, 200 | 201 | 204), "{what}: {reply:?}");
        let reader = if std::ptr::eq(writer, &one) {
            &other
        } else {
            &one
        };
        // The writer serves it at once, the other instance within 1 s.
        assert_eq!(
            outcome(writer, path, &token, &id).await,
            want,
            "{what} on {}",
            writer.bin
        );
        let took = served_within(reader, path, &token, &id, want).await;
        assert!(
            took <= Duration::from_secs(1),
            "{what}: {} took {took:?}",
            reader.bin
        );
    }
}

/// The token and registration of demo mode's first `curl` line.
fn demo_token(line: &str) -> String {
    let rest = line
        .strip_prefix("curl -H 'Authorization: Bearer ")
        .unwrap_or_else(|| panic!("{line}"));
    rest.split_once('\'').unwrap().0.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_enables_the_demo_application_and_follows_the_readme() {
    for bin in SERVERS {
        let server = Server::start(
            bin,
            &[
                "--admin-token",
                ADMIN,
                "--property-admin",
                &format!("{P7}={P7_TOKEN}"),
            ],
        );
        let demo = demo_token(&server.line());
        assert!(server.line().starts_with("# same token: "));
        let idp_line = server.line();
        let (issuer, jwks_uri) = idp_line
            .strip_prefix("# demo identity provider: issuer ")
            .and_then(|rest| rest.strip_suffix(", client app-1"))
            .and_then(|rest| rest.split_once(", key set "))
            .unwrap_or_else(|| panic!("{idp_line}"));
        let (issuer, jwks_uri) = (issuer.to_owned(), jwks_uri.to_owned());
        assert_eq!(jwks_uri, format!("{issuer}/jwks"));
        assert!(issuer.starts_with("http://127.0.0.1:"), "{issuer}");
        assert_eq!(
            server.line(),
            format!(
                "# admin API: with $FEDAUTH_ADMIN_TOKEN set to the --admin-token value, this enables \
                 the application in {P7} (then {}/properties/{P7}/whoami answers 200):",
                server.base
            )
        );
        let line = server.line();
        assert_eq!(
            line,
            format!(
                "curl -X PUT -H \"Authorization: Bearer $FEDAUTH_ADMIN_TOKEN\" -H 'Content-Type: application/json' \
                 -d '{{\"roles\": [\"reader\"]}}' {}/admin/v1/properties/{P7}/registrations/demo",
                server.base
            )
        );
        let p7_whoami = format!("/properties/{P7}/whoami");
        assert_eq!(
            outcome(&server, &p7_whoami, &demo, "demo").await,
            (403, json!("property_not_enabled"))
        );
        // What the line sends, as the shell would with the variable set.
        let admin = Admin::of(&server);
        let enabled = admin.enable(P7, "demo", ADMIN, &["reader"]).await;
        assert_eq!(
            (enabled.status, &enabled.body),
            (
                201,
                &json!({"id": "demo", "name": "Demo application", "roles": ["reader"]})
            )
        );
        assert_eq!(
            outcome(&server, &p7_whoami, &demo, "demo").await,
            (200, json!(["reader"]))
        );

        // The README's three lines: register with the printed IdP, the
        // property admin enables it, the demo token calls as the new
        // application (same IdP, same client id).
        let document = json!({
            "client_id": "app-1", "provider": "jwks", "issuer": issuer, "jwks_uri": jwks_uri,
        });
        let (quid, _) = admin.create(&document).await;
        assert_eq!(
            admin.enable(P7, &quid, P7_TOKEN, &["reader"]).await.status,
            201
        );
        let (status, body) = call(&server, &p7_whoami, &demo, &quid).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (&body["registration"], &body["roles"]),
            (&json!(quid), &json!(["reader"]))
        );
    }
}
