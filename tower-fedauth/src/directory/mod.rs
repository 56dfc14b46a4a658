//! User directories: who the platform knows. After a token verifies, the
//! principal's subject is looked up; a blocked user is refused (403
//! `user_blocked`), and, where required, an unknown user or an unverified
//! email too (403 `user_unknown`). The user record reaches the handler
//! through [`AuthContext::user`](crate::AuthContext::user).
//!
//! Implement [`UserDirectory`] for any store, or use [`HttpUserDirectory`]
//! (the get-by-id call of the platform's users webhook,
//! `GET {base}/users/{id}?registration={registration id}`). The
//! authenticator puts a [`CachedDirectory`] in front of it. The webhook's
//! other calls (by email, by customer id, delete, email verification,
//! password reset) are [`UsersWebhook`]'s, for the platform's own use.
//!
//! **Tenant isolation.** Every application runs its own IdP and can mint
//! any `sub`, including one that another application's users have. So a
//! subject alone never identifies a user: the directory is asked, and its
//! answers cached, by the registration the token was verified under and the
//! subject together ([`UserQuery`]). A record is also checked against the
//! registration: its `tenant` (the platform tenant the record belongs to)
//! must be absent or equal to the registration's id, as fedauth maps a
//! registration to the tenant of the same id. A record of another tenant
//! is not used: the user counts as unknown and a warning is logged.

use std::sync::Arc;

use futures_util::future::BoxFuture;

mod cache;
mod http;
mod policy;
mod user;
mod webhook;

pub use cache::{CachedDirectory, DirectoryCacheConfig, DirectoryCacheStats};
pub use http::HttpUserDirectory;
pub use policy::DirectoryConfig;
pub(crate) use policy::UserGate;
pub use user::User;
pub use webhook::{UsersWebhook, UsersWebhookError, WebhookHeaderError};

/// Whom a directory is asked for: the subject as one registration's IdP
/// names it. Two registrations may present the same subject for different
/// people, so an answer is only ever about this pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserQuery<'a> {
    /// The id of the registration the token was verified under.
    pub registration: &'a str,
    /// The principal's subject (`sub`), as that registration's IdP wrote it.
    pub subject: &'a str,
}

impl<'a> UserQuery<'a> {
    /// The user `subject` of registration `registration`.
    pub fn new(registration: &'a str, subject: &'a str) -> Self {
        Self {
            registration,
            subject,
        }
    }
}

/// Where users are looked up by the registration and the principal's
/// subject together.
pub trait UserDirectory: Send + Sync + 'static {
    /// The user `query.subject` as known to `query.registration`: `Ok(None)`
    /// when the directory does not know it, `Err` when the directory cannot
    /// answer (the request is then refused 503 `directory_unavailable`
    /// unless a cached answer serves). A directory shared by several
    /// registrations must scope the lookup by the registration, or set each
    /// record's `tenant` (a record of another tenant is not used).
    fn get_user<'a>(
        &'a self,
        query: UserQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>>;

    /// A short description for logs.
    fn describe(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }
}

impl<T: UserDirectory + ?Sized> UserDirectory for Arc<T> {
    fn get_user<'a>(
        &'a self,
        query: UserQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        (**self).get_user(query)
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

#[cfg(all(test, feature = "testkit"))]
mod http_tests;
#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "testkit"))]
mod webhook_tests;
