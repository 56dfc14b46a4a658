//! The platform's users webhook as a [`UserDirectory`]: its get-by-id call,
//! `GET {base}/users/{id}?registration={registration id}` → 200 with a
//! [`User`] (the platform's User schema), 404 when unknown. The
//! registration travels with every request so that a directory serving
//! several tenants answers only within the one the token was verified
//! under: the same subject minted by two applications' IdPs is two
//! different questions.

use futures_util::future::BoxFuture;
use url::Url;

use super::{DirectoryError, User, UserDirectory, UserQuery, UsersWebhook, UsersWebhookError};
use crate::registry::{BaseUrlError, HttpClientConfig};

/// A [`UserDirectory`] over HTTP: [`UsersWebhook::get_by_id`],
/// `GET {base}/users/{id}?registration={registration id}`, the id as one
/// percent-encoded path segment and the registration as a form-encoded
/// query parameter; optional bearer credential, static headers, timeout
/// and size cap. 200: the user (its `id` must be the one asked for); 404
/// or 410: unknown; anything else: an error. An id or registration no
/// request can carry (empty, oversized, `.`, `..`) is not asked about: the
/// user is unknown. The directory is expected to answer only users of that
/// registration's tenant; a record whose `tenant` names another one is not
/// used anyway.
pub struct HttpUserDirectory {
    webhook: UsersWebhook,
}

impl HttpUserDirectory {
    /// A directory at `base` (e.g. `https://users.internal/v1`).
    pub fn new(base: &str, config: HttpClientConfig) -> Result<Self, BaseUrlError> {
        UsersWebhook::new(base, config).map(Self::from)
    }

    /// The directory's base URL.
    pub fn base_url(&self) -> &Url {
        self.webhook.base_url()
    }

    /// The webhook client the directory asks.
    pub fn webhook(&self) -> &UsersWebhook {
        &self.webhook
    }

    async fn lookup(&self, query: UserQuery<'_>) -> Result<Option<User>, DirectoryError> {
        match self
            .webhook
            .get_by_id(query.registration, query.subject)
            .await
        {
            Ok(user) => Ok(Some(user)),
            Err(UsersWebhookError::NotFound | UsersWebhookError::InvalidInput(_)) => Ok(None),
            Err(UsersWebhookError::Unavailable(why)) => Err(DirectoryError::unavailable(why)),
            Err(UsersWebhookError::Rejected(status)) => Err(DirectoryError::unavailable(format!(
                "{}: answered HTTP {status}",
                self.base_url()
            ))),
        }
    }
}

/// A directory asking this webhook (with its static headers).
impl From<UsersWebhook> for HttpUserDirectory {
    fn from(webhook: UsersWebhook) -> Self {
        Self { webhook }
    }
}

impl UserDirectory for HttpUserDirectory {
    fn get_user<'a>(
        &'a self,
        query: UserQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        Box::pin(self.lookup(query))
    }

    fn describe(&self) -> String {
        format!("user directory {}", self.base_url())
    }
}

impl std::fmt::Debug for HttpUserDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUserDirectory")
            .field("webhook", &self.webhook)
            .finish()
    }
}
