//! User directories (seeds 002 and 003): who the platform knows. After a
//! token verifies, the principal's subject is looked up; a blocked user is
//! refused (403 `user_blocked`), and, where required, an unknown user or an
//! unverified email too (403 `user_unknown`). The user record reaches the
//! handler through [`AuthContext::user`](crate::AuthContext::user).
//!
//! Implement [`UserDirectory`] for any store, or use [`HttpUserDirectory`]
//! (the platform's users webhook, `GET {base}/users/{id}`). The
//! authenticator puts a [`CachedDirectory`] in front of it.

use std::sync::Arc;

use futures_util::future::BoxFuture;

mod cache;
mod http;
mod policy;
mod user;

pub use cache::{CachedDirectory, DirectoryCacheConfig};
pub use http::HttpUserDirectory;
pub use policy::DirectoryConfig;
pub(crate) use policy::UserGate;
pub use user::User;

/// Where users are looked up by the principal's subject.
pub trait UserDirectory: Send + Sync + 'static {
    /// The user with this id: `Ok(None)` when the directory does not know
    /// it, `Err` when the directory cannot answer (the request is then
    /// refused 503 `directory_unavailable` unless a cached answer serves).
    fn get_user<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>>;

    /// A short description for logs.
    fn describe(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

impl<T: UserDirectory + ?Sized> UserDirectory for Arc<T> {
    fn get_user<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        (**self).get_user(subject)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// A user directory could not answer. Cheap to clone.
#[derive(Debug, Clone, thiserror::Error)]
#[error("user directory unavailable: {message}")]
pub struct DirectoryError {
    message: Arc<str>,
}

impl DirectoryError {
    /// The directory is down or answered something unusable; `message`
    /// goes to logs (never put a credential in it).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: Arc::from(message.into()),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests;
