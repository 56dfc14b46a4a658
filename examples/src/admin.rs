//! The admin API of the example servers (`--admin-token`, served at
//! `/admin/v1`; the repository's `docs/admin.md`): which store it writes,
//! who may call it, and how a change reaches the serving authenticator
//! before the API answers.
//!
//! - `--registry FILE`: the file store rewrites that file atomically and
//!   reloads the [`FileRegistry`](tower_fedauth::registry::FileRegistry) the
//!   authenticator reads.
//! - `--database-url`: the PostgreSQL store writes the table the
//!   authenticator reads; other instances hear of it by NOTIFY.
//! - demo mode: a memory store, mirrored into the demo's
//!   [`InMemoryRegistry`].
//!
//! In every case the API's change hook then drops the registration from
//! the authenticator's registry cache, so the next request sees it.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use fedauth_admin::store::{
    AdminStore, AuditQuery, AuditRecord, Change, FileStore, MemoryStore, PostgresStore,
    PostgresStoreConfig, StoreError, Stored,
};
use fedauth_admin::{AdminApi, StaticTokens};
use serde_json::{Map, Value};
use tower_fedauth::Registration;
use tower_fedauth::registry::InMemoryRegistry;
use tower_fedauth::testkit::MockIdp;

use crate::{Args, DEMO_REGISTRATION, Setup};

/// The property the demo's second `curl` line enables the demo
/// application in (it is not enabled there at start).
pub const DEMO_ADMIN_PROPERTY: &str = "property-7";

/// The variable the demo's admin `curl` line reads the admin token from
/// (the same one `fedauth admin` reads), so the line does not print it.
pub const ADMIN_TOKEN_VAR: &str = "FEDAUTH_ADMIN_TOKEN";

/// The callers of `--admin-token` (a platform admin) and of each
/// `--property-admin P=TOKEN`; `None` without `--admin-token`.
pub fn authorizer(args: &Args) -> Option<StaticTokens> {
    let platform = args.admin_token.as_ref()?;
    Some(
        args.property_admins
            .iter()
            .fold(StaticTokens::new(platform), |tokens, (property, token)| {
                tokens.property_admin(property, token)
            }),
    )
}

/// The admin API over the store that matches `setup`, or `None` without
/// `--admin-token`. Its IdP check fetches through the server's egress
/// policy, so it reaches exactly what verification may reach.
pub async fn api(args: &Args, setup: &Setup) -> Result<Option<Arc<AdminApi>>, String> {
    let Some(authorizer) = authorizer(args) else {
        return Ok(None);
    };
    let store: Arc<dyn AdminStore> = if let Some(file) = &setup.file {
        let store = FileStore::open(file.path())
            .map_err(|e| format!("--admin-token: the registry file store: {e}"))?;
        Arc::new(store.with_registry(file.clone()))
    } else if let Some((registry, _)) = &setup.postgres {
        // The server applied the migrations already.
        let config = PostgresStoreConfig::default().migrate(false);
        let store = PostgresStore::from_pool(registry.pool().clone(), config)
            .await
            .map_err(|e| format!("--admin-token: the PostgreSQL store: {e}"))?;
        Arc::new(store)
    } else if let Some(demo) = &setup.demo {
        Arc::new(Mirrored::new(
            demo.registry.clone(),
            [demo.document.clone()],
        )?)
    } else {
        return Err("--admin-token: no registry to administer".into());
    };
    let cache = setup.auth.registry().clone();
    let api = AdminApi::builder(store, Arc::new(authorizer))
        .egress(setup.egress.clone())
        .on_change(move |id| cache.invalidate(id))
        .build();
    tracing::info!("admin API served at /admin/v1");
    Ok(Some(Arc::new(api)))
}

/// Demo mode's admin lines: the demo identity provider (to register
/// another application with it, as the README's quickstart does), and the
/// `curl` line that enables the demo application in
/// [`DEMO_ADMIN_PROPERTY`].
pub fn announce(out: &mut impl Write, addr: SocketAddr, idp: &MockIdp) -> std::io::Result<()> {
    writeln!(
        out,
        "# demo identity provider: issuer {}, key set {}, client {}",
        idp.issuer(),
        idp.jwks_uri(),
        idp.client_id()
    )?;
    writeln!(
        out,
        "# admin API: with ${ADMIN_TOKEN_VAR} set to the --admin-token value, this enables the \
         application in {DEMO_ADMIN_PROPERTY} (then http://{addr}/properties/{DEMO_ADMIN_PROPERTY}/whoami answers 200):"
    )?;
    writeln!(out, "{}", enable_line(addr))
}

/// The demo's second `curl` line: a platform admin enables the demo
/// application in [`DEMO_ADMIN_PROPERTY`] with the role `reader`.
pub fn enable_line(addr: SocketAddr) -> String {
    format!(
        "curl -X PUT -H \"Authorization: Bearer ${ADMIN_TOKEN_VAR}\" \
         -H 'Content-Type: application/json' -d '{{\"roles\": [\"reader\"]}}' \
         http://{addr}/admin/v1/properties/{DEMO_ADMIN_PROPERTY}/registrations/{DEMO_REGISTRATION}"
    )
}

/// Demo mode's store: a [`MemoryStore`] whose every applied change is
/// copied into the registry the authenticator reads, before the API
/// answers.
struct Mirrored {
    store: MemoryStore,
    registry: Arc<InMemoryRegistry>,
}

impl Mirrored {
    fn new(
        registry: Arc<InMemoryRegistry>,
        documents: impl IntoIterator<Item = Map<String, Value>>,
    ) -> Result<Self, String> {
        let store = MemoryStore::with_documents(documents).map_err(|e| e.to_string())?;
        Ok(Self { store, registry })
    }
}

#[async_trait::async_trait]
impl AdminStore for Mirrored {
    async fn get(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        self.store.get(id).await
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<Stored>, StoreError> {
        self.store.list(after, limit).await
    }

    async fn enabled_in(&self, property: &str) -> Result<Vec<Stored>, StoreError> {
        self.store.enabled_in(property).await
    }

    async fn apply(&self, change: Change) -> Result<Option<Stored>, StoreError> {
        let id = change.id.clone();
        let after = self.store.apply(change).await?;
        match &after {
            // The API validated the document by the same rules.
            Some(stored) => {
                match Registration::from_document(&Value::Object(stored.document.clone())) {
                    Ok(registration) => {
                        self.registry.insert(registration);
                    }
                    Err(error) => {
                        tracing::error!(registration = %id, %error, "stored registration does not load; removed from the demo registry");
                        self.registry.remove(&id);
                    }
                }
            }
            None => {
                self.registry.remove(&id);
            }
        }
        Ok(after)
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.store.audit(query).await
    }
}
