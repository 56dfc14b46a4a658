//! The PostgreSQL store (feature `postgres`): the core's
//! `fedauth_registrations` table, which its `PostgresRegistry` serves and
//! whose triggers notify every instance of a change, plus the
//! `fedauth_audit` table. Both come from the core's embedded migrations.
//!
//! A change is one transaction: the admin lock (a transaction-level
//! advisory lock, so audit `seq` follows commit order), `SELECT … FOR
//! UPDATE` of the row, the precondition against the row's entity tag, the
//! write or delete, the audit row, commit. Every call is bounded by the
//! query timeout: an unanswering server is [`StoreError::Unavailable`],
//! never a hang, and a transaction cut short is rolled back by the server.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use time::OffsetDateTime;
use tower_fedauth::registry::{PostgresError, PostgresRegistry, PostgresRegistryConfig};

use super::{AdminStore, AuditQuery, AuditRecord, Change, StoreError, Stored};

/// Advisory lock key serializing the admin API's changes ("fedadmin").
const ADMIN_LOCK: i64 = 0x6665_6461_646d_696e;

/// Connection and timing settings of a [`PostgresStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresStoreConfig {
    /// Pool size. Default 4.
    pub max_connections: u32,
    /// Bound on each call (acquire, queries, commit). Default 5 s.
    pub query_timeout: Duration,
    /// Apply the core's embedded migrations when connecting. Default on.
    pub migrate: bool,
}

impl Default for PostgresStoreConfig {
    fn default() -> Self {
        Self {
            max_connections: 4,
            query_timeout: Duration::from_secs(5),
            migrate: true,
        }
    }
}

impl PostgresStoreConfig {
    /// Sets [`max_connections`](Self#structfield.max_connections).
    pub fn max_connections(mut self, max_connections: u32) -> Self {
        self.max_connections = max_connections;
        self
    }

    /// Sets [`query_timeout`](Self#structfield.query_timeout).
    pub fn query_timeout(mut self, query_timeout: Duration) -> Self {
        self.query_timeout = query_timeout;
        self
    }

    /// Sets [`migrate`](Self#structfield.migrate).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}

/// Registrations in the core's `fedauth_registrations` table and the audit
/// log in `fedauth_audit`. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    config: Arc<PostgresStoreConfig>,
}

impl PostgresStore {
    /// Connects with the default settings and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(url, PostgresStoreConfig::default()).await
    }

    /// Connects with these settings (migrations applied if
    /// `config.migrate`).
    pub async fn connect_with(
        url: &str,
        config: PostgresStoreConfig,
    ) -> Result<Self, PostgresError> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.query_timeout)
            .connect_with(options.application_name("fedauth-admin"))
            .await?;
        Self::from_pool(pool, config).await
    }

    /// Uses an existing pool (migrations applied if `config.migrate`).
    pub async fn from_pool(
        pool: PgPool,
        config: PostgresStoreConfig,
    ) -> Result<Self, PostgresError> {
        if config.migrate {
            // The core's runner: one list of migrations, one version table.
            let registry = PostgresRegistryConfig::default()
                .migrate(false)
                .query_timeout(config.query_timeout);
            PostgresRegistry::from_pool(pool.clone(), registry)
                .await?
                .migrate()
                .await?;
        }
        Ok(Self {
            pool,
            config: Arc::new(config),
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `work` within the query timeout.
    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.config.query_timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Failure::Store(error))) => Err(error),
            Ok(Err(Failure::Database(error))) => {
                Err(StoreError::Unavailable(format!("PostgreSQL: {error}")))
            }
            Err(_) => Err(StoreError::Unavailable(format!(
                "PostgreSQL: no answer within {:?}",
                self.config.query_timeout
            ))),
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection options hold the password: not shown.
        f.debug_struct("PostgresStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a call stopped: the store's answer, or the database's failure.
enum Failure {
    Store(StoreError),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure::Database(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

/// A row of `fedauth_registrations` as a stored registration.
fn stored(id: String, Json(value): Json<Value>) -> Result<Stored, Failure> {
    match value {
        Value::Object(document) => Ok(Stored::new(id, document)),
        _ => Err(StoreError::Unavailable(format!("row {id:?} is not a JSON object")).into()),
    }
}

fn rows(rows: Vec<(String, Json<Value>)>) -> Result<Vec<Stored>, Failure> {
    rows.into_iter()
        .map(|(id, value)| stored(id, value))
        .collect()
}

type AuditRow = (
    i64,
    OffsetDateTime,
    String,
    String,
    String,
    Option<String>,
    Option<Json<Value>>,
    Option<Json<Value>>,
);

fn audit_record(row: AuditRow) -> Result<AuditRecord, Failure> {
    let (seq, at, actor, action, registration, property, before, after) = row;
    let bad = |e| Failure::Store(StoreError::Unavailable(format!("audit row {seq}: {e}")));
    let record = AuditRecord::new(
        actor.parse().map_err(bad)?,
        action.parse().map_err(bad)?,
        registration,
    )
    .at(at)
    .before(before.map(|Json(v)| v))
    .after(after.map(|Json(v)| v));
    let record = match property {
        Some(property) => record.property(property),
        None => record,
    };
    Ok(record.stored_as(u64::try_from(seq).unwrap_or(0)))
}

#[async_trait::async_trait]
impl AdminStore for PostgresStore {
    async fn get(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        self.bounded(async {
            let row: Option<(String, Json<Value>)> =
                sqlx::query_as("SELECT id, registration FROM fedauth_registrations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            row.map(|(id, value)| stored(id, value)).transpose()
        })
        .await
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, StoreError> {
        self.bounded(async {
            // Byte order (COLLATE "C"), as the other stores sort ids.
            rows(
                sqlx::query_as(
                    r#"SELECT id, registration FROM fedauth_registrations
                       WHERE $1::text IS NULL OR id COLLATE "C" > $1::text COLLATE "C"
                       ORDER BY id COLLATE "C" LIMIT $2"#,
                )
                .bind(after)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await?,
            )
        })
        .await
    }

    async fn enabled_in(&self, property: &str) -> Result<Vec<Stored>, StoreError> {
        self.bounded(async {
            rows(
                sqlx::query_as(
                    r#"SELECT id, registration FROM fedauth_registrations
                       WHERE jsonb_typeof(registration->'properties') = 'object'
                         AND registration->'properties' ? $1
                       ORDER BY id COLLATE "C""#,
                )
                .bind(property)
                .fetch_all(&self.pool)
                .await?,
            )
        })
        .await
    }

    async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        self.bounded(async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(ADMIN_LOCK)
                .execute(&mut *tx)
                .await?;
            let current: Option<(String, Json<Value>)> = sqlx::query_as(
                "SELECT id, registration FROM fedauth_registrations WHERE id = $1 FOR UPDATE",
            )
            .bind(&change.id)
            .fetch_optional(&mut *tx)
            .await?;
            let current = current.map(|(id, value)| stored(id, value)).transpose()?;
            super::check(&change, current.as_ref())?;
            let after = match super::new_state(&change.id, change.document) {
                Some(next) => {
                    // What the table holds (jsonb), so the tag is the one a
                    // later read computes.
                    let (id, value): (String, Json<Value>) = sqlx::query_as(
                        "INSERT INTO fedauth_registrations (id, registration) VALUES ($1, $2)
                         ON CONFLICT (id) DO UPDATE
                            SET registration = EXCLUDED.registration, updated_at = now()
                         RETURNING id, registration",
                    )
                    .bind(&next.id)
                    .bind(Json(Value::Object(next.document)))
                    .fetch_one(&mut *tx)
                    .await?;
                    Some(stored(id, value)?)
                }
                None => {
                    sqlx::query("DELETE FROM fedauth_registrations WHERE id = $1")
                        .bind(&change.id)
                        .execute(&mut *tx)
                        .await?;
                    None
                }
            };
            let record = change.audit.stored_as(0);
            sqlx::query(
                "INSERT INTO fedauth_audit (at, actor, action, registration, property, before, after)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(record.at)
            .bind(record.actor.to_string())
            .bind(record.action.as_str())
            .bind(&record.registration)
            .bind(&record.property)
            .bind(record.before.map(Json))
            .bind(record.after.map(Json))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(after)
        })
        .await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.bounded(async {
            let rows: Vec<AuditRow> = sqlx::query_as(
                "SELECT seq, at, actor, action, registration, property, before, after
                 FROM fedauth_audit
                 WHERE ($1::text IS NULL OR registration = $1)
                   AND ($2::text IS NULL OR property = $2)
                   AND ($3::bigint IS NULL OR seq < $3)
                 ORDER BY seq DESC LIMIT $4",
            )
            .bind(&query.registration)
            .bind(&query.property)
            .bind(
                query
                    .before_seq
                    .map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
            )
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
            rows.into_iter().map(audit_record).collect()
        })
        .await
    }
}
