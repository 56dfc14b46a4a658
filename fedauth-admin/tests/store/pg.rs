//! The PostgreSQL store's own behaviour: a change notifies every instance
//! and reads back in the core's registry; a database that stops in the
//! middle of a change, or does not answer, is `Unavailable` within the
//! query timeout and nothing is half-written.

use std::time::{Duration, Instant};

use fedauth_admin::store::{
    AdminStore, PostgresStore, PostgresStoreConfig, Precondition, StoreError, Stored,
};
use fedauth_test_pg::{admin_sql, fresh_database};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgListener};
use tower_fedauth::registry::PostgresRegistry;

use crate::Fixture;
use crate::suite::{create, created, doc, renamed, seqs};

const TIMEOUT: Duration = Duration::from_secs(2);

async fn connect(url: &str) -> PostgresStore {
    PostgresStore::connect_with(url, PostgresStoreConfig::default().query_timeout(TIMEOUT))
        .await
        .unwrap()
}

pub async fn store() -> Fixture {
    Fixture::new(connect(&fresh_database().await).await, ())
}

fn database_name(url: &str) -> String {
    let path = url.rsplit('/').next().unwrap();
    path.split('?').next().unwrap().to_owned()
}

async fn count_audit_rows(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM fedauth_audit")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_change_notifies_every_instance_and_loads_in_the_core() {
    let url = fresh_database().await;
    let store = connect(&url).await;
    let mut listener = PgListener::connect(&url).await.unwrap();
    listener.listen("fedauth_registrations").await.unwrap();
    store
        .apply(create(
            "quid-1",
            doc("quid-1", json!({"roles": ["reader"]})),
        ))
        .await
        .unwrap();
    let note = tokio::time::timeout(Duration::from_secs(1), listener.recv())
        .await
        .expect("a notification within 1 s")
        .unwrap();
    assert_eq!(note.payload(), "quid-1");
    let registry = PostgresRegistry::connect(&url).await.unwrap();
    let loaded = registry.fetch("quid-1").await.unwrap().unwrap();
    assert_eq!(loaded.roles, ["reader"]);
}

/// A connection in a transaction that holds what `sql` locks.
async fn hold(url: &str, sql: &str) -> PgConnection {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let begin = format!("BEGIN; {sql}");
    sqlx::raw_sql(&begin).execute(&mut conn).await.unwrap();
    conn
}

/// The registration and the log are as before the failed change, and the
/// store works again.
async fn nothing_half_written(store: &PostgresStore, url: &str, before: Stored) {
    assert_eq!(store.get("quid-1").await.unwrap(), Some(before));
    assert_eq!(count_audit_rows(url).await, 1);
    let applied = store
        .apply(renamed("quid-1", Precondition::Exists, "whole"))
        .await;
    assert_eq!(applied.unwrap().unwrap().document["name"], "whole");
    assert_eq!(seqs(store).await.len(), 2);
}

/// Waits until the store's connection is blocked on a lock in `query`.
async fn wait_blocked_in(url: &str, query: &str) {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'fedauth-admin'
               AND wait_event_type = 'Lock' AND query LIKE $1",
        )
        .bind(format!("{query}%"))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if n > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the change never reached {query}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_database_stopped_mid_change_leaves_nothing_half_written() {
    let url = fresh_database().await;
    let db = database_name(&url);
    let store = connect(&url).await;
    let created = created(&store, "quid-1").await;

    // Hold the audit table so the change stops after its row is written,
    // before its audit row: then stop the database under it.
    let mut holder = hold(&url, "LOCK TABLE fedauth_audit IN EXCLUSIVE MODE").await;
    let change = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .apply(renamed("quid-1", Precondition::Exists, "half"))
                .await
        })
    };
    wait_blocked_in(&url, "INSERT INTO fedauth_audit").await;
    admin_sql(&format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false")).await;
    admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = '{db}' AND application_name = 'fedauth-admin'"
    ))
    .await;
    let stopped = Instant::now();
    let outcome = change.await.unwrap();
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(stopped.elapsed() < TIMEOUT, "{:?}", stopped.elapsed());

    // While it is down: every call answers Unavailable within the timeout.
    let started = Instant::now();
    let read = store.get("quid-1").await;
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    assert!(
        started.elapsed() < TIMEOUT + Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // Back up: the registration and the log are as before the change.
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    admin_sql(&format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true")).await;
    nothing_half_written(&store, &url, created).await;
}

#[tokio::test]
async fn a_database_that_does_not_answer_is_unavailable_within_the_timeout() {
    let url = fresh_database().await;
    let store = connect(&url).await;
    let created = created(&store, "quid-1").await;
    let mut holder = hold(&url, "SELECT * FROM fedauth_registrations FOR UPDATE").await;
    let started = Instant::now();
    let outcome = store
        .apply(renamed("quid-1", Precondition::Exists, "late"))
        .await;
    let elapsed = started.elapsed();
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(ref m)) if m.contains("no answer")),
        "{outcome:?}"
    );
    assert!(
        elapsed >= TIMEOUT && elapsed < TIMEOUT + Duration::from_secs(1),
        "{elapsed:?}"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    // The abandoned transaction is rolled back: nothing of it remains.
    nothing_half_written(&store, &url, created).await;
}
