//! The platform's users webhook:
//! `GET {base}/users/{id}?registration={registration id}` → 200 with a
//! [`User`] (the platform's User schema), 404 when unknown. The
//! registration travels with every request so that a directory serving
//! several tenants answers only within the one the token was verified
//! under: the same subject minted by two applications' IdPs is two
//! different questions.

use futures_util::future::BoxFuture;
use url::Url;

use super::{DirectoryError, User, UserDirectory, UserQuery};
use crate::registry::{BaseUrlError, HttpClientConfig, SourceClient, base_url, item_url};

/// Subjects longer than this are not looked up (answered unknown): no
/// directory id is that long, and the URL must stay bounded.
const MAX_SUBJECT_LEN: usize = 1024;

/// Registration ids longer than this are not looked up (answered unknown):
/// no valid registration id is (see [`crate::registration::MAX_ID_LEN`]).
const MAX_REGISTRATION_LEN: usize = crate::registration::MAX_ID_LEN;

/// A [`UserDirectory`] over HTTP:
/// `GET {base}/users/{id}?registration={registration id}`, the id as one
/// percent-encoded path segment and the registration as a form-encoded
/// query parameter; optional bearer credential, timeout and size cap
/// ([`HttpClientConfig`]). 200: the user (its `id` must be the one asked
/// for); 404 or 410: unknown; anything else: an error. The directory is
/// expected to answer only users of that registration's tenant; a record
/// whose `tenant` names another one is not used anyway.
pub struct HttpUserDirectory {
    base: Url,
    client: SourceClient,
}

impl HttpUserDirectory {
    /// A directory at `base` (e.g. `https://users.internal/v1`).
    pub fn new(base: &str, config: HttpClientConfig) -> Result<Self, BaseUrlError> {
        Ok(Self {
            base: base_url(base, &config.egress)?,
            client: SourceClient::new(&config),
        })
    }

    /// The directory's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `{base}/users/{subject}?registration={registration}`; `None` for
    /// what no request can carry (empty or oversized parts, `.`, `..`).
    fn user_url(&self, query: UserQuery<'_>) -> Option<Url> {
        let UserQuery {
            registration,
            subject,
        } = query;
        if subject.len() > MAX_SUBJECT_LEN
            || registration.is_empty()
            || registration.len() > MAX_REGISTRATION_LEN
        {
            return None;
        }
        let mut url = item_url(&self.base, "users", subject)?;
        url.query_pairs_mut()
            .append_pair("registration", registration);
        Some(url)
    }

    async fn lookup(&self, query: UserQuery<'_>) -> Result<Option<User>, DirectoryError> {
        let Some(url) = self.user_url(query) else {
            return Ok(None);
        };
        let unavailable =
            |why: String| DirectoryError::unavailable(format!("{}: {why}", self.base));
        let answer = self.client.get(&url, None).await.map_err(unavailable)?;
        match answer.status {
            200 => {
                let user: User = serde_json::from_slice(&answer.body)
                    .map_err(|e| unavailable(format!("the answer is not a user: {e}")))?;
                if user.id != query.subject {
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
        query: UserQuery<'a>,
    ) -> BoxFuture<'a, Result<Option<User>, DirectoryError>> {
        Box::pin(self.lookup(query))
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
