//! A cache in front of a user directory: every request of a known user
//! must not call the directory, and a short directory outage must not
//! refuse users it answered for a moment ago. Answers are kept per
//! registration and subject (never by subject alone), and the cache is
//! bounded by the bytes of what it holds, not only by its entry count.

use std::sync::Arc;
use std::time::Duration;

use super::{DirectoryError, User, UserDirectory, UserQuery};
use crate::cache::{Cache, Remote, Shape};

/// Lifetimes and size of a [`CachedDirectory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Most answers kept (found, unknown and failed). Default 10 000.
    pub max_entries: u64,
    /// Most bytes kept, estimated: each answer weighs its strings (the key,
    /// the record) plus a fixed overhead, and at least
    /// `max_bytes / max_entries`, so this bound also keeps the count
    /// within `max_entries`. A directory answers what it likes, up to the
    /// HTTP client's body cap, so a count alone does not bound memory.
    /// Default 16 MiB.
    pub max_bytes: u64,
}

impl Default for DirectoryCacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            max_stale: Duration::from_secs(300),
            failure_backoff: Duration::from_secs(1),
            max_entries: 10_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

crate::setters::setters!(DirectoryCacheConfig {
    ttl: Duration,
    negative_ttl: Duration,
    max_stale: Duration,
    failure_backoff: Duration,
    max_entries: u64,
    max_bytes: u64,
});

/// What a [`CachedDirectory`] holds now (answers past their lifetime count
/// until they are evicted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectoryCacheStats {
    /// Answers kept.
    pub entries: u64,
    /// Their weight: estimated bytes, at least `max_bytes / max_entries`
    /// each. Never above `max_bytes`.
    pub weighted_bytes: u64,
}

/// The cache key: a registration and a subject, compared as a pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct UserKey {
    registration: Box<str>,
    subject: Box<str>,
}

/// Bytes an answer keeps alive besides its strings: the cache's entry and
/// its bookkeeping, the slot, the key's boxes, the `User` struct and the
/// `Arc`s. Chosen to err high.
const ENTRY_OVERHEAD: usize = 512;

/// The estimated bytes of one cached answer.
fn estimated_bytes(
    key: &UserKey,
    answer: Option<&Option<Arc<User>>>,
    failure: Option<&DirectoryError>,
) -> usize {
    let record = answer.and_then(Option::as_deref).map_or(0, |u| {
        let optional = [&u.tenant, &u.create_time, &u.update_time, &u.login_time];
        u.id.len()
            + u.customer.len()
            + u.email.len()
            + optional
                .iter()
                .filter_map(|s| s.as_deref())
                .map(str::len)
                .sum::<usize>()
    });
    let strings = key.registration.len()
        + key.subject.len()
        + record
        + failure.map_or(0, |e| e.message().len());
    ENTRY_OVERHEAD.saturating_add(strings)
}

/// A [`UserDirectory`] behind a bounded cache: concurrent lookups of one
/// user make one directory call, found and unknown users are reused for
/// their TTLs, and while the directory fails the last answer serves for
/// `max_stale` (with nothing cached, the failure is returned). Answers are
/// kept per registration and subject; a record whose `tenant` belongs to
/// another registration is treated as unknown ([`User::belongs_to`]).
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct CachedDirectory {
    directory: Arc<dyn UserDirectory>,
    cache: Cache<UserKey, Option<Arc<User>>, DirectoryError>,
    config: DirectoryCacheConfig,
}

impl CachedDirectory {
    /// Put a cache in front of `directory`.
    pub fn new(directory: Arc<dyn UserDirectory>, config: DirectoryCacheConfig) -> Self {
        let shape = Shape {
            max_bytes: config.max_bytes,
            max_entries: config.max_entries,
            typical_bytes: 1024,
            max_stale: config.max_stale,
            failure_backoff: config.failure_backoff,
            metric: None,
        };
        Self {
            directory,
            cache: Cache::new(shape, estimated_bytes),
            config,
        }
    }

    /// The user `query.subject` of registration `query.registration`, from
    /// the cache or the directory. A record of another tenant is `None`.
    pub async fn get(&self, query: UserQuery<'_>) -> Result<Option<Arc<User>>, DirectoryError> {
        let directory = &self.directory;
        let config = self.config;
        let lookup = self
            .cache
            .get(&key(query), |_| async move {
                let user = directory
                    .get_user(query)
                    .await?
                    .filter(|user| own_tenant(user, query));
                let ttl = match user {
                    Some(_) => config.ttl,
                    None => config.negative_ttl,
                };
                Ok(Remote::Value(user.map(Arc::new), ttl))
            })
            .await?;
        if lookup.stale {
            tracing::warn!(
                directory = %directory.describe(),
                registration = query.registration,
                "user directory failing; serving a cached answer"
            );
        }
        Ok(lookup.value.flatten())
    }

    /// Forget one user of one registration, so its next lookup asks the
    /// directory.
    pub fn invalidate(&self, query: UserQuery<'_>) {
        self.cache.invalidate(&key(query));
    }

    /// Forget every user (of every registration).
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// What the cache holds.
    pub fn stats(&self) -> DirectoryCacheStats {
        let size = self.cache.size();
        DirectoryCacheStats {
            entries: size.entries,
            weighted_bytes: size.weighted_bytes,
        }
    }

    /// The directory behind the cache.
    pub fn directory(&self) -> &Arc<dyn UserDirectory> {
        &self.directory
    }
}

fn key(query: UserQuery<'_>) -> UserKey {
    UserKey {
        registration: query.registration.into(),
        subject: query.subject.into(),
    }
}

/// The tenant rule, logged when it drops a record: a directory that hands
/// one registration another tenant's record is misconfigured or is being
/// probed with a minted subject, and the operator needs to know.
fn own_tenant(user: &User, query: UserQuery<'_>) -> bool {
    let own = user.belongs_to(query.registration);
    if !own {
        tracing::warn!(
            registration = query.registration,
            subject = ?query.subject,
            tenant = ?user.tenant,
            "user directory answered a record of another tenant; the user is treated as unknown"
        );
    }
    own
}

impl std::fmt::Debug for CachedDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedDirectory")
            .field("directory", &self.directory.describe())
            .field("config", &self.config)
            .finish()
    }
}
