//! The platform's users webhook: `GET {base}/users/{id}` → 200 with a
//! [`User`] (seed 002), 404 when unknown.

use futures_util::future::BoxFuture;
use url::Url;

use super::{DirectoryError, User, UserDirectory};
use crate::registry::{BaseUrlError, HttpClientConfig, SourceClient, base_url, item_url};

/// Subjects longer than this are not looked up (answered unknown): no
/// directory id is that long, and the URL must stay bounded.
const MAX_SUBJECT_LEN: usize = 1024;

/// A [`UserDirectory`] over HTTP: `GET {base}/users/{id}` with the id as
/// one percent-encoded path segment, optional bearer credential, timeout
/// and size cap ([`HttpClientConfig`]). 200: the user (its `id` must be
/// the one asked for); 404 or 410: unknown; anything else: an error.
pub struct HttpUserDirectory {
    base: Url,
    client: SourceClient,
}

impl HttpUserDirectory {
    /// A directory at `base` (e.g. `https://users.internal/v1`).
    pub fn new(base: &str, config: HttpClientConfig) -> Result<Self, BaseUrlError> {
        Ok(Self {
            base: base_url(base, config.allow_http)?,
            client: SourceClient::new(&config),
        })
    }

    /// The directory's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    async fn lookup(&self, subject: &str) -> Result<Option<User>, DirectoryError> {
        if subject.len() > MAX_SUBJECT_LEN {
            return Ok(None);
        }
        let Some(url) = item_url(&self.base, "users", subject) else {
            return Ok(None);
        };
        let unavailable =
            |why: String| DirectoryError::unavailable(format!("{}: {why}", self.base));
        let answer = self.client.get(&url, None).await.map_err(unavailable)?;
        match answer.status {
            200 => {
                let user: User = serde_json::from_slice(&answer.body)
                    .map_err(|e| unavailable(format!("the answer is not a user: {e}")))?;
                if user.id != subject {
                    return Err(unavailable(
                        "the answer is the record of another user".to_owned(),
                    ));
                }
                Ok(Some(user))
            }
            404 | 410 => Ok(None),
            status => Err(unavailable(format!("answered HTTP {status}"))),
        }
    }
}

impl UserDirectory for HttpUserDirectory {
    fn get_user<'a>(
        &'a self,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        Box::pin(self.lookup(subject))
    }

    fn describe(&self) -> String {
        format!("user directory {}", self.base)
    }
}

impl std::fmt::Debug for HttpUserDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUserDirectory")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}
