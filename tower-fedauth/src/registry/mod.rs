//! Registry sources: where registrations come from (a file, code, or any
//! store behind [`RegistrySource`]), and the cache that shields the source
//! from per-request lookups.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::registration::Registration;

mod cache;
mod check;
mod file;
mod http;
mod map;
mod memory;
mod parse;
#[cfg(feature = "postgres")]
mod postgres;
mod resolved;

pub(crate) use cache::Answer;
pub use cache::{CacheConfig, CachedRegistry};
pub use check::{RegistryEntry, check_registry_file, check_registry_str, parse_registry_entries};
pub use file::FileRegistry;
pub(crate) use http::base_url;
pub use http::{BaseUrlError, HttpClientConfig, HttpRegistry, HttpRegistryConfig};
pub use map::Registrations;
pub use memory::InMemoryRegistry;
pub use parse::{RegistryFormat, RegistryLoadError, parse_registry_str};
#[cfg(feature = "postgres")]
pub use postgres::{ListenerHandle, PostgresError, PostgresRegistry, PostgresRegistryConfig};
pub(crate) use resolved::Resolved;

/// Where registrations are looked up; implement it to serve them from a
/// database or a remote service. Put a [`CachedRegistry`] in front of slow
/// sources: it is consulted on every request.
pub trait RegistrySource: Send + Sync + 'static {
    /// The registration with this id: `Ok(None)` when there is none (the
    /// caller answers "unknown registration"), `Err` when the source cannot
    /// answer (the caller answers "unavailable", not "unknown").
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>>;

    /// A short description for logs and debugging.
    fn describe(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

/// Shared sources (e.g. an `Arc<FileRegistry>` that is also being watched)
/// can be handed to code that takes a source by value.
impl<T: RegistrySource + ?Sized> RegistrySource for Arc<T> {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        (**self).get(id)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// A registry source could not answer. Cheap to clone, so that every
/// request waiting on the same lookup gets the same error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("registry source unavailable: {message}")]
pub struct SourceError {
    message: Arc<str>,
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// The source is down or refused to answer; `message` goes to logs.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: Arc::from(message.into()),
            source: None,
        }
    }

    /// Like [`SourceError::unavailable`], keeping the underlying error for
    /// `Error::source` chains.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: Arc::from(message.into()),
            source: Some(Arc::new(source)),
        }
    }

    /// What went wrong, as given by the source.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests;
