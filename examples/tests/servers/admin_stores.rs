//! A store that fails mid-change, through both servers: the change is
//! `503 store_unavailable` with `Retry-After`, and the registry file and
//! its audit log (or the table and the audit table) are exactly as they
//! were; once the store is back, changes apply again.

use std::time::{Duration, Instant};

use fedauth_test_pg::{admin_sql, fresh_database};
use serde_json::json;
use tower_fedauth::testkit::MockIdp;

use crate::admin::{
    ADMIN, Admin, Dir, P7, Reply, bytes, jwks_document, on_file, outcome, start, token,
};
use crate::harness::SERVERS;

fn unavailable(reply: &Reply) {
    reply.refused(503, "store_unavailable", &[]);
    assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
}

/// A rename, a name change and an enablement of `id`, each refused with
/// 503; the registration afterwards is `before`.
async fn every_change_is_unavailable(admin: &Admin, id: &str, before: &Reply, idp: &MockIdp) {
    unavailable(
        &admin
            .patch(id, Some(&before.etag()), &json!({"name": "lost"}))
            .await,
    );
    unavailable(&admin.enable(P7, id, ADMIN, &["reader"]).await);
    unavailable(
        &admin
            .json("POST", "/registrations", ADMIN, &jwks_document(idp, "lost"))
            .await,
    );
    let path = format!("/registrations/{id}");
    unavailable(&admin.send("DELETE", &path, Some(ADMIN), &[], None).await);
    let after = admin.get(&path, ADMIN).await;
    assert_eq!(
        (after.status, after.etag(), &after.body),
        (200, before.etag(), &before.body)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_file_that_cannot_be_replaced_stays_as_it_was_with_its_audit_log() {
    let idp = MockIdp::start().await;
    for bin in SERVERS {
        let (_dir, path, server) = on_file(bin, "r.toml", "registrations = []\n");
        let admin = Admin::of(&server);
        let (id, created) = admin.create(&jwks_document(&idp, "kept")).await;
        let audit_path = format!("{path}.audit.jsonl");
        let (file, audit) = (bytes(&path), bytes(&audit_path));
        // The store writes `<file>.tmp` and renames it over the file: a
        // directory in its place fails the write, for root too.
        let temp = std::fs::canonicalize(&path)
            .unwrap()
            .with_extension("toml.tmp");
        std::fs::create_dir(&temp).unwrap();
        std::fs::write(temp.join("occupied"), "x").unwrap();
        every_change_is_unavailable(&admin, &id, &created, &idp).await;
        assert!(bytes(&path) == file, "{bin}: the registry file changed");
        assert!(bytes(&audit_path) == audit, "{bin}: the audit log changed");
        // Still served as it was.
        let token = token(&idp);
        let p7 = format!("/properties/{P7}/whoami");
        assert_eq!(
            outcome(&server, &p7, &token, &id).await,
            (403, json!("property_not_enabled"))
        );

        std::fs::remove_dir_all(&temp).unwrap();
        assert_eq!(admin.enable(P7, &id, ADMIN, &["reader"]).await.status, 201);
        assert_eq!(
            outcome(&server, &p7, &token, &id).await,
            (200, json!(["reader"]))
        );
        assert_eq!(admin.audit("").await.len(), 2, "{bin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_registry_file_is_refused_while_the_first_holds_its_lock() {
    let idp = MockIdp::start().await;
    let dir = Dir::new("locked");
    let path = dir.registry("r.json", r#"{"registrations": []}"#);
    let first = start(SERVERS[0], &["--registry", &path]);
    let second = start(SERVERS[1], &["--registry", &path]);
    let (id, created) = Admin::of(&first)
        .create(&jwks_document(&idp, "first"))
        .await;
    let audit_path = format!("{path}.audit.jsonl");
    let (file, audit) = (bytes(&path), bytes(&audit_path));
    // The second one reads what the first wrote, and may not write.
    let admin = Admin::of(&second);
    every_change_is_unavailable(&admin, &id, &created, &idp).await;
    assert!(bytes(&path) == file && bytes(&audit_path) == audit);
    // Once the first has stopped, the lock is free.
    assert!(first.stop("-TERM").success());
    let renamed = admin
        .patch(&id, Some(&created.etag()), &json!({"name": "second"}))
        .await;
    assert_eq!(
        (renamed.status, &renamed.body["name"]),
        (200, &json!("second"))
    );
}

fn database_name(url: &str) -> String {
    let name = url.rsplit('/').next().unwrap();
    name.split('?').next().unwrap().to_owned()
}

/// The database refuses connections and drops the ones it has: stopped,
/// for this database only (other tests share the server).
async fn stop_database(name: &str) {
    admin_sql(&format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
    ))
    .await;
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_changes_nothing_and_answers_within_the_query_timeout() {
    let idp = MockIdp::start().await;
    for bin in SERVERS {
        let url = fresh_database().await;
        let name = database_name(&url);
        let server = start(bin, &["--database-url", &url]);
        let admin = Admin::of(&server);
        let (id, created) = admin.create(&jwks_document(&idp, "kept")).await;
        let audit_before = admin.audit("").await;

        stop_database(&name).await;
        let started = Instant::now();
        let path = format!("/registrations/{id}");
        unavailable(
            &admin
                .patch(&id, Some(&created.etag()), &json!({"name": "lost"}))
                .await,
        );
        unavailable(&admin.enable(P7, &id, ADMIN, &["reader"]).await);
        unavailable(&admin.send("DELETE", &path, Some(ADMIN), &[], None).await);
        // The store's query timeout is 5 s: each call ends within it.
        assert!(
            started.elapsed() < Duration::from_secs(16),
            "{bin}: {:?}",
            started.elapsed()
        );

        admin_sql(&format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
        ))
        .await;
        let after = admin.get(&path, ADMIN).await;
        assert_eq!(
            (after.status, after.etag(), &after.body),
            (200, created.etag(), &created.body)
        );
        assert_eq!(admin.audit("").await, audit_before, "{bin}");
        let renamed = admin
            .patch(&id, Some(&created.etag()), &json!({"name": "back"}))
            .await;
        assert_eq!(
            (renamed.status, &renamed.body["name"]),
            (200, &json!("back"))
        );
        let actions = admin.actions().await;
        assert_eq!(actions, ["registration.update", "registration.create"]);
    }
}
