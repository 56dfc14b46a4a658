//! A cache in front of a user directory: every request of a known user
//! must not call the directory, and a short directory outage must not
//! refuse users it answered for a moment ago.

use std::sync::Arc;
use std::time::Duration;

use super::{DirectoryError, User, UserDirectory};
use crate::registry::stale::{Remote, StaleCache, StaleConfig};

/// Lifetimes and size of a [`CachedDirectory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryCacheConfig {
    /// How long a found user is reused: the delay before a change in the
    /// directory (e.g. `blocked`) takes effect. Default 60 s.
    pub ttl: Duration,
    /// How long "unknown user" is reused. Default 10 s.
    pub negative_ttl: Duration,
    /// How long past its TTL an answer keeps serving while the directory
    /// fails. Default 5 min; zero turns stale-if-error off.
    pub max_stale: Duration,
    /// How long a failure is reused before the directory is asked again
    /// for the same user. Default 1 s.
    pub failure_backoff: Duration,
    /// Most users kept (found and unknown). Default 10 000.
    pub max_entries: u64,
}

impl Default for DirectoryCacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            max_stale: Duration::from_secs(300),
            failure_backoff: Duration::from_secs(1),
            max_entries: 10_000,
        }
    }
}

/// A [`UserDirectory`] behind a bounded cache: concurrent lookups of one
/// user make one directory call, found and unknown users are reused for
/// their TTLs, and while the directory fails the last answer serves for
/// `max_stale` (with nothing cached, the failure is returned). Cheap to
/// clone; clones share the cache.
#[derive(Clone)]
pub struct CachedDirectory {
    directory: Arc<dyn UserDirectory>,
    cache: Arc<StaleCache<String, Option<Arc<User>>, DirectoryError>>,
    config: DirectoryCacheConfig,
}

impl CachedDirectory {
    /// Put a cache in front of `directory`.
    pub fn new(directory: Arc<dyn UserDirectory>, config: DirectoryCacheConfig) -> Self {
        Self {
            directory,
            cache: Arc::new(StaleCache::new(StaleConfig {
                max_stale: config.max_stale,
                failure_backoff: config.failure_backoff,
                max_entries: config.max_entries,
            })),
            config,
        }
    }

    /// The user with this id, from the cache or the directory.
    pub async fn get(&self, subject: &str) -> Result<Option<Arc<User>>, DirectoryError> {
        let directory = &self.directory;
        let config = self.config;
        let lookup = self
            .cache
            .get(&subject.to_owned(), |_| async move {
                let user = directory.get_user(subject).await?;
                let ttl = match user {
                    Some(_) => config.ttl,
                    None => config.negative_ttl,
                };
                Ok(Remote::Value(user.map(Arc::new), ttl))
            })
            .await?;
        if lookup.stale {
            tracing::warn!(directory = %directory.describe(), "user directory failing; serving a cached answer");
        }
        Ok(lookup.value.flatten())
    }

    /// Forget one user, so the next lookup asks the directory.
    pub async fn invalidate(&self, subject: &str) {
        self.cache.invalidate(&subject.to_owned()).await;
    }

    /// Forget every user.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// The directory behind the cache.
    pub fn directory(&self) -> &Arc<dyn UserDirectory> {
        &self.directory
    }
}

impl std::fmt::Debug for CachedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedDirectory")
            .field("directory", &self.directory.describe())
            .field("config", &self.config)
            .finish()
    }
}
