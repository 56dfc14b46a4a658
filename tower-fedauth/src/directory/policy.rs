//! Step 12 of the order of checks: the user directory, after the token and
//! its claims, before property and roles. The user is looked up under the
//! registration the token was verified under, never by subject alone.

use std::sync::Arc;

use super::{CachedDirectory, DirectoryCacheConfig, User, UserDirectory, UserQuery};
use crate::error::{AuthError, ErrorCode};
use crate::registration::Registration;

/// What a configured user directory enforces. A registration's own
/// `require_known_user` / `require_verified_email` override these.
///
/// Whatever the settings, a user the directory marks `blocked` is refused
/// (403 `user_blocked`), and a directory that fails with nothing cached
/// refuses the request (503 `directory_unavailable`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectoryConfig {
    /// Refuse users the directory does not know: 403 `user_unknown`
    /// (the platform admits only users it already knows).
    /// Default off: unknown subjects (e.g. client-credential apps) pass
    /// with no user record.
    pub require_known_user: bool,
    /// Refuse users whose email the directory has not verified, and users
    /// it does not know: 403 `user_unknown` (there is no code of its own for
    /// an unverified email; the detail says which). Default off.
    pub require_verified_email: bool,
    /// The cache in front of the directory.
    pub cache: DirectoryCacheConfig,
}

crate::setters::setters!(DirectoryConfig {
    require_known_user: bool,
    require_verified_email: bool,
    cache: DirectoryCacheConfig,
});

/// The configured directory and its policy, as the authenticator holds it.
#[derive(Debug, Clone)]
pub(crate) struct UserGate {
    directory: CachedDirectory,
    config: DirectoryConfig,
}

fn refuse(code: ErrorCode, detail: &'static str) -> AuthError {
    AuthError::token(code, detail)
}

impl UserGate {
    pub(crate) fn new(directory: Arc<dyn UserDirectory>, config: DirectoryConfig) -> Self {
        Self {
            directory: CachedDirectory::new(directory, config.cache),
            config,
        }
    }

    /// The cached directory (to invalidate users after a change).
    pub(crate) fn directory(&self) -> &CachedDirectory {
        &self.directory
    }

    /// Look the subject up under `registration` and apply the policy; the
    /// user record, if any, goes to the handler. A record of another
    /// tenant counts as no record (the cache drops it).
    pub(crate) async fn check(
        &self,
        registration: &Registration,
        subject: &str,
    ) -> Result<Option<Arc<User>>, AuthError> {
        let query = UserQuery::new(registration.id.as_str(), subject);
        let user = self.directory.get(query).await.map_err(|e| {
            tracing::warn!(
                registration = query.registration,
                error = %e,
                "user directory failed"
            );
            refuse(
                ErrorCode::DirectoryUnavailable,
                "the user directory could not be read",
            )
        })?;
        let require_verified = registration
            .require_verified_email
            .unwrap_or(self.config.require_verified_email);
        let require_known = require_verified
            || registration
                .require_known_user
                .unwrap_or(self.config.require_known_user);
        match user {
            None if require_known => Err(refuse(
                ErrorCode::UserUnknown,
                "the user directory does not know the user",
            )),
            Some(user) if user.blocked => Err(refuse(
                ErrorCode::UserBlocked,
                "the user directory marks the user as blocked",
            )),
            Some(user) if require_verified && !user.email_verified => Err(refuse(
                ErrorCode::UserUnknown,
                "the user's email address is not verified",
            )),
            user => Ok(user),
        }
    }
}
