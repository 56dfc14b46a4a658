//! The PostgreSQL registry against a real server: the shared suite, two
//! instances on one database (a change in SQL reaches the other within a
//! second), a killed listener connection, bad rows, migrations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fedauth_tests::pg::{admin_sql, fresh_database};
use fedauth_tests::{assert_refused, call_with, fast_policy};
use serde_json::{Value, json};
use tower_fedauth::registry::{
    CachedRegistry, ListenerHandle, PostgresError, PostgresRegistry, PostgresRegistryConfig,
    RegistrySource,
};
use tower_fedauth::testkit::MockIdp;
use tower_fedauth::{Authenticator, FedAuthLayer};

use super::suite::{self, Harness, WhenDown, eventually};

fn config() -> PostgresRegistryConfig {
    PostgresRegistryConfig::default().query_timeout(Duration::from_secs(2))
}

fn database_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

struct Pg {
    url: String,
    registry: PostgresRegistry,
    listener: Mutex<Option<ListenerHandle>>,
}

impl Pg {
    async fn start() -> Self {
        let url = fresh_database().await;
        let registry = PostgresRegistry::connect_with(&url, config())
            .await
            .unwrap();
        Self {
            url,
            registry,
            listener: Mutex::new(None),
        }
    }
}

impl Harness for Pg {
    fn source(&self) -> Arc<dyn RegistrySource> {
        Arc::new(self.registry.clone())
    }
    async fn attach(&self, cache: &CachedRegistry) {
        let handle = self.registry.spawn_listener(cache.clone());
        assert!(
            handle.wait_listening(0, Duration::from_secs(10)).await,
            "listener up"
        );
        *self.listener.lock().unwrap() = Some(handle);
    }
    async fn put(&self, raw: Value) {
        self.registry.put(&raw).await.unwrap();
    }
    async fn remove(&self, id: &str) {
        assert!(self.registry.delete(id).await.unwrap());
    }
    async fn put_invalid(&self, raw: Value) -> Result<(), String> {
        // Straight through SQL, as an operator's typo would arrive.
        sqlx::query("INSERT INTO fedauth_registrations (id, registration) VALUES ($1, $2)")
            .bind(raw["id"].as_str().unwrap())
            .bind(sqlx::types::Json(&raw))
            .execute(self.registry.pool())
            .await
            .unwrap();
        Ok(())
    }
    async fn changed(&self, _cache: &CachedRegistry, _id: &str) {
        // The trigger notifies; the listener drops the entry.
    }
    async fn go_down(&self) -> WhenDown {
        let db = database_name(&self.url);
        admin_sql(&format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false")).await;
        admin_sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
        ))
        .await;
        WhenDown::Errors
    }
}

#[tokio::test]
async fn suite_postgres() {
    suite::run("postgres", &Pg::start().await).await;
}

/// One platform instance: its own pool, authenticator and listener.
struct Instance {
    layer: FedAuthLayer,
    _listener: ListenerHandle,
}

async fn instance(url: &str) -> Instance {
    let registry = PostgresRegistry::connect_with(url, config()).await.unwrap();
    let auth = Authenticator::builder(registry.clone())
        .egress(tower_fedauth::testkit::local_egress())
        .key_cache(fast_policy())
        .build();
    let listener = registry.spawn_listener(auth.registry().clone());
    assert!(listener.wait_listening(0, Duration::from_secs(10)).await);
    Instance {
        layer: FedAuthLayer::new(auth),
        _listener: listener,
    }
}

fn registration(idp: &MockIdp) -> Value {
    json!({
        "id": "quid-1", "provider": "jwks", "client_id": "app-1",
        "issuer": idp.issuer(), "jwks_uri": idp.jwks_uri(), "roles": ["reader"],
    })
}

async fn status(i: &Instance, token: &str) -> u16 {
    call_with(&i.layer, token, "quid-1").await.status.as_u16()
}

#[tokio::test]
async fn a_change_in_sql_reaches_every_instance_within_a_second() {
    let idp = MockIdp::start().await;
    let url = fresh_database().await;
    let a = instance(&url).await;
    let b = instance(&url).await;
    let admin = PostgresRegistry::connect_with(&url, config())
        .await
        .unwrap();
    admin.put(&registration(&idp)).await.unwrap();
    let token = idp.mint();
    assert_eq!(status(&a, &token).await, 200);
    assert_eq!(status(&b, &token).await, 200);

    // Disable on "one side": plain SQL, as a property admin's tool would.
    sqlx::query(
        "UPDATE fedauth_registrations SET registration = jsonb_set(registration, '{enabled}', 'false') WHERE id = 'quid-1'",
    )
    .execute(admin.pool())
    .await
    .unwrap();
    for (name, i) in [("a", &a), ("b", &b)] {
        let refused = eventually(Duration::from_secs(1), || async {
            status(i, &token).await == 403
        });
        assert!(refused.await, "instance {name} still accepts after 1 s");
    }
    let r = call_with(&b.layer, &token, "quid-1").await;
    assert_refused(&r, 403, "registration_disabled", None);

    // Re-enabled and deleted, the same way.
    admin.put(&registration(&idp)).await.unwrap();
    assert!(
        eventually(Duration::from_secs(1), || async {
            status(&b, &token).await == 200
        })
        .await
    );
    sqlx::query("DELETE FROM fedauth_registrations")
        .execute(admin.pool())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(1), || async {
            status(&a, &token).await == 401
        })
        .await
    );
}

#[tokio::test]
async fn a_killed_listener_reconnects_and_drops_the_cache() {
    let idp = MockIdp::start().await;
    let url = fresh_database().await;
    let db = database_name(&url);
    let registry = PostgresRegistry::connect_with(
        &url,
        config().listener_application_name(format!("listener-{db}")),
    )
    .await
    .unwrap();
    registry.put(&registration(&idp)).await.unwrap();
    let auth = Authenticator::builder(registry.clone())
        .egress(tower_fedauth::testkit::local_egress())
        .key_cache(fast_policy())
        .build();
    let listener = registry.spawn_listener(auth.registry().clone());
    assert!(listener.wait_listening(0, Duration::from_secs(10)).await);
    let layer = FedAuthLayer::new(auth);
    let token = idp.mint();
    assert_eq!(call_with(&layer, &token, "quid-1").await.status, 200);

    for round in 0..2 {
        let sessions = listener.sessions();
        admin_sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'listener-{db}'"
        ))
        .await;
        // Changed right away: the notification may well be lost.
        let enabled = round == 1;
        sqlx::query(
            "UPDATE fedauth_registrations SET registration = jsonb_set(registration, '{enabled}', $1) WHERE id = 'quid-1'",
        )
        .bind(sqlx::types::Json(enabled))
        .execute(registry.pool())
        .await
        .unwrap();
        assert!(
            listener
                .wait_listening(sessions, Duration::from_secs(10))
                .await,
            "round {round}: the listener reconnects"
        );
        let want = if enabled { 200 } else { 403 };
        let seen = eventually(Duration::from_secs(2), || async {
            call_with(&layer, &token, "quid-1").await.status.as_u16() == want
        });
        assert!(
            seen.await,
            "round {round}: the change takes effect after reconnection"
        );
    }
}

#[tokio::test]
async fn bad_rows_are_refused_with_their_id_never_half_used() {
    let idp = MockIdp::start().await;
    let pg = Pg::start().await;
    let mut raw = registration(&idp);
    raw["algorithms"] = json!(["RS256", "none"]);
    pg.put_invalid(raw).await.unwrap();
    match pg.registry.fetch("quid-1").await {
        Err(PostgresError::InvalidRow { id, error }) => {
            assert_eq!(id, "quid-1");
            assert_eq!(error.field, "algorithms");
        }
        other => panic!("expected InvalidRow, got {other:?}"),
    }
    let auth = Authenticator::builder(pg.registry.clone())
        .egress(tower_fedauth::testkit::local_egress())
        .build();
    let a = call_with(&FedAuthLayer::new(auth), &idp.mint(), "quid-1").await;
    assert_refused(&a, 503, "registry_unavailable", None);
    // The put path validates before writing.
    let e = pg
        .registry
        .put(&json!({"id": "quid-2", "provider": "nope"}))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("quid-2") && e.to_string().contains("provider"),
        "{e}"
    );
    assert!(pg.registry.fetch("quid-2").await.unwrap().is_none());
    // The schema refuses a row whose JSON names another id.
    let wrong = sqlx::query("INSERT INTO fedauth_registrations (id, registration) VALUES ('quid-3', '{\"id\": \"quid-4\"}')")
        .execute(pg.registry.pool())
        .await;
    assert!(wrong.is_err());
}

#[tokio::test]
async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
    let url = fresh_database().await;
    let (a, b) = tokio::join!(
        PostgresRegistry::connect_with(&url, config()),
        PostgresRegistry::connect_with(&url, config())
    );
    let (a, _b) = (a.unwrap(), b.unwrap());
    a.migrate().await.unwrap();
    let applied: (i64,) = sqlx::query_as("SELECT count(*) FROM fedauth_migrations")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert_eq!(applied.0, 2);
    // No _sqlx_migrations: that table belongs to the application.
    let sqlx_table: (bool,) = sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(a.pool())
        .await
        .unwrap();
    assert!(!sqlx_table.0);
    assert!(format!("{a:?}").contains("PostgreSQL registry"));
}
