//! The change listener: `LISTEN fedauth_registrations` on a connection of
//! its own; each notification drops one cached entry; a lost connection is
//! re-established and then the whole cache is dropped, since changes made
//! meanwhile were not heard.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::CHANNEL;
use crate::registry::CachedRegistry;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The running listener of [`PostgresRegistry::spawn_listener`](super::PostgresRegistry::spawn_listener).
/// Dropping it stops the listener.
#[derive(Debug)]
pub struct ListenerHandle {
    task: JoinHandle<()>,
    listening: watch::Receiver<u64>,
}

impl ListenerHandle {
    /// How many times the listener has (re)started listening: 1 after the
    /// first `LISTEN`, one more after each reconnection.
    pub fn sessions(&self) -> u64 {
        *self.listening.borrow()
    }

    /// Wait until the listener has started listening more than `sessions`
    /// times (0: the first `LISTEN`), or `bound` has passed; whether it did.
    pub async fn wait_listening(&self, sessions: u64, bound: Duration) -> bool {
        let mut rx = self.listening.clone();
        tokio::time::timeout(bound, rx.wait_for(|n| *n > sessions))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Stop listening.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) fn spawn(
    options: PgConnectOptions,
    application_name: String,
    cache: CachedRegistry,
) -> ListenerHandle {
    let (tx, listening) = watch::channel(0);
    let options = options.application_name(&application_name);
    let task = tokio::spawn(run(options, cache, tx));
    ListenerHandle { task, listening }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn run(options: PgConnectOptions, cache: CachedRegistry, sessions: watch::Sender<u64>) {
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(MAX_BACKOFF)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(options);
    let mut backoff = MIN_BACKOFF;
    loop {
        let mut listener = match listen(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "registry listener cannot connect");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        // Listening now; whatever changed before is unknown.
        cache.invalidate_all();
        sessions.send_modify(|n| *n += 1);
        tracing::info!("registry listener listening; registry cache dropped");
        backoff = MIN_BACKOFF;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match notification.payload() {
                    "" => cache.invalidate_all(),
                    id => {
                        tracing::debug!(registration = %id, "registration changed; cache entry dropped");
                        cache.invalidate(id);
                    }
                },
                Ok(None) => {
                    // Lost and re-established (the listener reconnects
                    // and listens again before returning).
                    cache.invalidate_all();
                    sessions.send_modify(|n| *n += 1);
                    tracing::warn!("registry listener reconnected; registry cache dropped");
                }
                Err(error) => {
                    tracing::warn!(%error, "registry listener lost its connection");
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
    }
}
