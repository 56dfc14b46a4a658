//! Registrations in PostgreSQL (feature `postgres`): one `jsonb` row per
//! registration, validated with the registry file's rules on every read,
//! and a trigger that notifies every instance of each change
//! (`LISTEN/NOTIFY`), so cached entries are dropped within a second.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_fedauth::Authenticator;
//! use tower_fedauth::registry::PostgresRegistry;
//!
//! let registry = PostgresRegistry::connect("postgres://fedauth@db/fedauth").await?;
//! let auth = Authenticator::builder(registry.clone()).build();
//! // Drop the authenticator's cached entry of every registration that changes.
//! let _listener = registry.spawn_listener(auth.registry().clone());
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;

use super::check::RegistryEntry;
use super::{CachedRegistry, RegistrySource, SourceError};
use crate::registration::{Registration, RegistrationError, from_value};

mod listener;

pub use listener::ListenerHandle;

/// The channel the trigger notifies, with the changed id as payload.
pub(crate) const CHANNEL: &str = "fedauth_registrations";

/// Embedded migrations: (version, description, SQL). Applied in order,
/// each once, recorded in `fedauth_migrations` (not sqlx's
/// `_sqlx_migrations`, which belongs to the application sharing the
/// database).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "registrations table and change notifications",
        include_str!("../../migrations/0001_registrations.sql"),
    ),
    (
        2,
        "audit log of the admin API (fedauth-admin)",
        include_str!("../../migrations/0002_admin_audit.sql"),
    ),
];

/// Advisory lock key serializing concurrent migrations ("fedauth" in ASCII).
const MIGRATION_LOCK: i64 = 0x0066_6564_6175_7468;

/// Connection and timing settings of a [`PostgresRegistry`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresRegistryConfig {
    /// Pool size. Default 4.
    pub max_connections: u32,
    /// Bound on each lookup (acquire + query). Default 5 s.
    pub query_timeout: Duration,
    /// Apply the embedded migrations when connecting. Default on.
    pub migrate: bool,
    /// `application_name` of the listener's connection (visible in
    /// `pg_stat_activity`). Default `fedauth-registry-listener`.
    pub listener_application_name: String,
}

impl Default for PostgresRegistryConfig {
    fn default() -> Self {
        Self {
            max_connections: 4,
            query_timeout: Duration::from_secs(5),
            migrate: true,
            listener_application_name: "fedauth-registry-listener".into(),
        }
    }
}

crate::setters::setters!(PostgresRegistryConfig {
    max_connections: u32,
    query_timeout: Duration,
    migrate: bool,
    listener_application_name: String,
});

/// What went wrong with the PostgreSQL registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The database refused or failed (connection, query, constraint).
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
    /// A query took longer than `query_timeout`.
    #[error("PostgreSQL: no answer within {0:?}")]
    Timeout(Duration),
    /// A stored registration breaks a rule: refused with its id and field.
    #[error("PostgreSQL row {id:?}: {error}")]
    InvalidRow {
        /// The row's id.
        id: String,
        /// The broken rule.
        error: RegistrationError,
    },
    /// An applied migration differs from the embedded one.
    #[error("PostgreSQL migration {version} was applied with different SQL; refusing to continue")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
    },
}

/// A [`RegistrySource`] over the `fedauth_registrations` table. Cheap to
/// clone (clones share the pool).
///
/// Each lookup is one indexed query; put it behind the authenticator's
/// [`CachedRegistry`] (as every source is) and call
/// [`PostgresRegistry::spawn_listener`] with that cache, so a change made on
/// any instance (or in SQL) reaches every instance within a second.
#[derive(Clone)]
pub struct PostgresRegistry {
    pool: PgPool,
    config: Arc<PostgresRegistryConfig>,
}

impl PostgresRegistry {
    /// Connect with the default settings and apply the migrations.
    pub async fn connect(url: &str) -> Result<Self, PostgresError> {
        Self::connect_with(url, PostgresRegistryConfig::default()).await
    }

    /// Connect with these settings (migrations applied if `config.migrate`).
    pub async fn connect_with(
        url: &str,
        config: PostgresRegistryConfig,
    ) -> Result<Self, PostgresError> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.query_timeout)
            .connect_with(options.application_name("fedauth-registry"))
            .await?;
        Self::from_pool(pool, config).await
    }

    /// Use an existing pool (migrations applied if `config.migrate`).
    pub async fn from_pool(
        pool: PgPool,
        config: PostgresRegistryConfig,
    ) -> Result<Self, PostgresError> {
        let this = Self {
            pool,
            config: Arc::new(config),
        };
        if this.config.migrate {
            this.migrate().await?;
        }
        Ok(this)
    }

    /// Apply the embedded migrations not applied yet, in one transaction
    /// under an advisory lock (instances starting together do not race).
    pub async fn migrate(&self) -> Result<(), PostgresError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS fedauth_migrations (
                version bigint PRIMARY KEY,
                description text NOT NULL,
                checksum bytea NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT version, checksum FROM fedauth_migrations")
                .fetch_all(&mut *tx)
                .await?;
        for &(version, description, sql) in MIGRATIONS {
            let checksum = Sha256::digest(sql.as_bytes()).to_vec();
            match applied.iter().find(|(v, _)| *v == version) {
                Some((_, done)) if *done == checksum => continue,
                Some(_) => return Err(PostgresError::MigrationChanged { version }),
                None => {}
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO fedauth_migrations (version, description, checksum) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(description)
            .bind(checksum)
            .execute(&mut *tx)
            .await?;
            tracing::info!(version, description, "fedauth migration applied");
        }
        tx.commit().await?;
        Ok(())
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The registration with this id, validated. A row that breaks a rule
    /// is an error naming its id and field, never a half-used registration.
    pub async fn fetch(&self, id: &str) -> Result<Option<Registration>, PostgresError> {
        let query = sqlx::query_as::<_, (Json<Value>,)>(
            "SELECT registration FROM fedauth_registrations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool);
        let row = tokio::time::timeout(self.config.query_timeout, query)
            .await
            .map_err(|_| PostgresError::Timeout(self.config.query_timeout))??;
        row.map(|(Json(value),)| row_registration(id, &value))
            .transpose()
    }

    /// Validate and store one registration in its JSON form (insert or
    /// replace). Returns the validated registration.
    pub async fn put(&self, raw: &Value) -> Result<Registration, PostgresError> {
        let registration = from_value(raw).map_err(|error| PostgresError::InvalidRow {
            id: raw
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            error,
        })?;
        upsert(&self.pool, registration.id.as_str(), raw).await?;
        Ok(registration)
    }

    /// Delete one registration; whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, PostgresError> {
        let done = sqlx::query("DELETE FROM fedauth_registrations WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Store these registrations (validated already) in one transaction:
    /// each is inserted or replaced; with `replace`, rows not among them
    /// are deleted. Returns (stored, deleted).
    pub async fn import(
        &self,
        entries: &[RegistryEntry],
        replace: bool,
    ) -> Result<(u64, u64), PostgresError> {
        let mut tx = self.pool.begin().await?;
        for entry in entries {
            upsert(&mut *tx, entry.registration.id.as_str(), &entry.raw).await?;
        }
        let mut deleted = 0;
        if replace {
            let ids: Vec<&str> = entries.iter().map(|e| e.registration.id.as_str()).collect();
            deleted = sqlx::query("DELETE FROM fedauth_registrations WHERE NOT (id = ANY($1))")
                .bind(&ids)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok((entries.len() as u64, deleted))
    }

    /// Every registration, sorted by id, read in one statement (a
    /// consistent snapshot) and validated: one bad row refuses the export
    /// with its id, so the result always loads as a registry file.
    pub async fn export(&self) -> Result<Vec<RegistryEntry>, PostgresError> {
        let rows: Vec<(String, Json<Value>)> =
            sqlx::query_as("SELECT id, registration FROM fedauth_registrations ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, Json(raw))| {
                let registration = row_registration(&id, &raw)?;
                Ok(RegistryEntry { registration, raw })
            })
            .collect()
    }

    /// Listen for changes and drop `cache`'s entry of each changed id; after
    /// a lost connection, reconnect and drop the whole cache (changes may
    /// have been missed). Needs a Tokio runtime; stops when the handle is
    /// dropped or [`ListenerHandle::stop`]ped.
    pub fn spawn_listener(&self, cache: CachedRegistry) -> ListenerHandle {
        listener::spawn(
            self.pool.connect_options().as_ref().clone(),
            self.config.listener_application_name.clone(),
            cache,
        )
    }
}

/// A row's JSON → a validated registration that carries the row's id.
fn row_registration(id: &str, value: &Value) -> Result<Registration, PostgresError> {
    let invalid = |error| PostgresError::InvalidRow {
        id: id.to_owned(),
        error,
    };
    let registration = from_value(value).map_err(invalid)?;
    if registration.id.as_str() != id {
        return Err(invalid(RegistrationError {
            registration: Some(id.to_owned()),
            field: "id".into(),
            message: format!("the row holds registration {:?}", registration.id.as_str()),
        }));
    }
    Ok(registration)
}

async fn upsert<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    id: &str,
    raw: &Value,
) -> Result<(), PostgresError> {
    sqlx::query(
        "INSERT INTO fedauth_registrations (id, registration) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET registration = EXCLUDED.registration, updated_at = now()",
    )
    .bind(id)
    .bind(Json(raw))
    .execute(executor)
    .await?;
    Ok(())
}

impl RegistrySource for PostgresRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        Box::pin(async move {
            match self.fetch(id).await {
                Ok(found) => Ok(found.map(Arc::new)),
                Err(error) => Err(SourceError::unavailable(error.to_string())),
            }
        })
    }

    fn describe(&self) -> String {
        let options = self.pool.connect_options();
        format!(
            "PostgreSQL registry {}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        )
    }
}

/// The connection options hold the password: only the source shows.
impl std::fmt::Debug for PostgresRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresRegistry")
            .field("source", &self.describe())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
