//! A registry served by an HTTP service: `GET {base}/registrations/{id}`
//! answers the JSON form of one registration (as in a JSON registry
//! file), 404 when there is none. Answers are validated with the same rules
//! as a registry file, revalidated with `ETag` / `If-None-Match`, and kept
//! serving for a bounded time while the service is down.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::Method;
use url::Url;

use super::{RegistrySource, SourceError};
use crate::cache::{Cache, Remote, Shape};
use crate::egress::{EgressPolicy, FetchConfig, Fetcher, Redirects, cache_control};
use crate::registration::{Registration, Secret, from_value};

/// How an HTTP source (registry service, user directory) is called.
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpClientConfig {
    /// Sent as `Authorization: Bearer …` when set. Never printed.
    pub bearer: Option<Secret>,
    /// Whole-request timeout (connect, headers and body). Default 5 s.
    pub timeout: Duration,
    /// Largest accepted body. Default 256 KiB.
    pub max_body_bytes: usize,
    /// Which destinations may be reached. The default (`https` to public
    /// unicast addresses) refuses a service on an internal network: allow
    /// its host name or network explicitly.
    pub egress: EgressPolicy,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            bearer: None,
            timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
            egress: EgressPolicy::default(),
        }
    }
}

crate::setters::setters!(HttpClientConfig {
    timeout: Duration,
    max_body_bytes: usize,
    egress: EgressPolicy,
});

impl HttpClientConfig {
    /// Sets [`bearer`](Self#structfield.bearer): the token sent to the
    /// service.
    pub fn bearer(mut self, token: impl Into<Secret>) -> Self {
        self.bearer = Some(token.into());
        self
    }
}

impl std::fmt::Debug for HttpClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientConfig")
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("egress", &self.egress)
            .finish()
    }
}

/// The base URL of an HTTP source is unusable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("base URL {url:?}: {reason}")]
pub struct BaseUrlError {
    /// The URL as given (without credentials, which are refused).
    pub url: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Check a base URL: absolute http(s), allowed by the egress policy (a
/// host name is checked again on what it resolves to, at every request),
/// no credentials, query or fragment (paths are appended to it).
pub(crate) fn base_url(url: &str, egress: &EgressPolicy) -> Result<Url, BaseUrlError> {
    let err = |reason: &str| BaseUrlError {
        url: url.split('@').next_back().unwrap_or(url).to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| err(&format!("not an absolute URL: {e}")))?;
    match parsed.scheme() {
        "https" | "http" => {}
        _ => return Err(err("not an http(s) URL")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(err("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(err("must not carry credentials; use the bearer setting"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(err("must not have a query or a fragment"));
    }
    egress
        .check_url(&parsed)
        .map_err(|refusal| err(&format!("refused by the egress policy: {refusal}")))?;
    Ok(parsed)
}

/// `{base}/{collection}/{key}` with `key` as one percent-encoded path
/// segment; `None` for keys no URL path can carry (empty, `.`, `..`).
pub(crate) fn item_url(base: &Url, collection: &str, key: &str) -> Option<Url> {
    if key.is_empty() || key == "." || key == ".." {
        return None;
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push(collection)
        .push(key);
    Some(url)
}

/// An answer of an HTTP source, read within the limits.
pub(crate) struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    /// `Cache-Control: s-maxage` or `max-age`.
    pub max_age: Option<Duration>,
    /// `no-cache`: revalidate every time.
    pub no_cache: bool,
    /// `no-store`: do not keep.
    pub no_store: bool,
    /// The body of a 200 (empty otherwise).
    pub body: Bytes,
}

/// The client of an HTTP source: the shared outgoing client ([`Fetcher`])
/// with its egress policy, timeout and size cap, an optional bearer, and no
/// redirects (a source that moves is misconfigured, and a redirect could
/// carry the credential elsewhere).
#[derive(Clone)]
pub(crate) struct SourceClient {
    fetcher: Fetcher,
    bearer: Option<Secret>,
}

impl SourceClient {
    pub(crate) fn new(config: &HttpClientConfig) -> Self {
        Self {
            fetcher: Fetcher::new(FetchConfig {
                timeout: config.timeout,
                max_body_bytes: config.max_body_bytes,
                egress: config.egress.clone(),
                ..FetchConfig::default()
            }),
            bearer: config.bearer.clone(),
        }
    }

    /// GET `url`; the body is read (within the cap) only for a 200. The
    /// error is the reason without the URL (callers name it), for logs.
    pub(crate) async fn get(
        &self,
        url: &Url,
        if_none_match: Option<&str>,
    ) -> Result<Answer, String> {
        let out = self
            .fetcher
            .request(Method::GET, url, Redirects::None)
            .map_err(|e| e.reason())?
            .with(|mut req| {
                req = req.header(http::header::ACCEPT, "application/json");
                if let Some(token) = &self.bearer {
                    req = req.bearer_auth(token.expose());
                }
                if let Some(etag) = if_none_match {
                    req = req.header(http::header::IF_NONE_MATCH, etag);
                }
                req
            });
        let answer = self.fetcher.send(out).await.map_err(|e| e.reason())?;
        let status = answer.status.as_u16();
        if status == 200 && answer.cut {
            return Err(format!("answer larger than {} bytes", answer.limit));
        }
        let advice = cache_control(answer.header(http::header::CACHE_CONTROL));
        Ok(Answer {
            status,
            etag: answer.header(http::header::ETAG).map(str::to_owned),
            max_age: advice.max_age,
            no_cache: advice.no_cache,
            no_store: advice.no_store,
            body: if status == 200 {
                answer.body
            } else {
                Bytes::new()
            },
        })
    }
}

/// Freshness, stale bound and size of an [`HttpRegistry`]'s own cache.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpRegistryConfig {
    /// How the registry service is called.
    pub client: HttpClientConfig,
    /// Freshness of an answer without `Cache-Control: max-age`. Default 0:
    /// every lookup that reaches this source (a
    /// [`CachedRegistry`](super::CachedRegistry) miss) revalidates, cheaply
    /// with `If-None-Match` when the service sends an `ETag`.
    pub default_fresh: Duration,
    /// Upper bound on `max-age`. Default 5 min.
    pub max_fresh: Duration,
    /// How long past freshness a registration keeps serving while the
    /// service fails (5xx, timeout, refused connection). Default 5 min;
    /// zero turns stale-if-error off.
    pub max_stale: Duration,
    /// How long a failure is reused before the service is called again for
    /// the same id. Default 1 s.
    pub failure_backoff: Duration,
    /// Most registrations kept. Default 10 000.
    pub max_entries: u64,
}

impl Default for HttpRegistryConfig {
    fn default() -> Self {
        Self {
            client: HttpClientConfig::default(),
            default_fresh: Duration::ZERO,
            max_fresh: Duration::from_secs(300),
            max_stale: Duration::from_secs(300),
            failure_backoff: Duration::from_secs(1),
            max_entries: 10_000,
        }
    }
}

crate::setters::setters!(HttpRegistryConfig {
    client: HttpClientConfig,
    default_fresh: Duration,
    max_fresh: Duration,
    max_stale: Duration,
    failure_backoff: Duration,
    max_entries: u64,
});

/// A registration with the validator of its representation.
#[derive(Clone)]
struct Held {
    registration: Arc<Registration>,
    etag: Option<String>,
}

/// A [`RegistrySource`] over a registry service: `GET
/// {base}/registrations/{id}` → 200 with the JSON form of the registration,
/// 404 when unknown.
///
/// - Every answer passes the registry file's rules (and must carry the
///   requested id); a broken one is refused with its id and field, never
///   half-used.
/// - `Cache-Control: max-age` (bounded by `max_fresh`) says how long an
///   answer is reused; after that it is revalidated with `If-None-Match`
///   when the service sent an `ETag` (a 304 keeps it); `no-store` is not kept.
/// - A 5xx, a timeout or a refused connection with nothing cached is an
///   error (the authenticator answers 503 `registry_unavailable`); with a
///   cached registration, it keeps serving for `max_stale`.
///
/// Put it behind the authenticator's [`CachedRegistry`](super::CachedRegistry)
/// as any source: that cache shields the service from per-request calls,
/// this one makes its misses cheap and outage-tolerant.
pub struct HttpRegistry {
    base: Url,
    client: SourceClient,
    config: HttpRegistryConfig,
    /// The crate's one cache shape, bounded by its count of registrations.
    cache: Cache<String, Held, SourceError>,
}

impl HttpRegistry {
    /// A source at `base` (e.g. `https://registry.internal/v1`).
    pub fn new(base: &str, config: HttpRegistryConfig) -> Result<Self, BaseUrlError> {
        let base = base_url(base, &config.client.egress)?;
        Ok(Self {
            client: SourceClient::new(&config.client),
            cache: Cache::new(
                Shape {
                    max_stale: config.max_stale,
                    failure_backoff: config.failure_backoff,
                    ..Shape::entries(config.max_entries)
                },
                |_, _, _| 0,
            ),
            base,
            config,
        })
    }

    /// The service's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Forget what this source holds for one id.
    pub fn invalidate(&self, id: &str) {
        self.cache.invalidate(id);
    }

    /// Forget everything this source holds.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    async fn fetch(
        &self,
        id: &str,
        url: &Url,
        last: Option<Held>,
    ) -> Result<Remote<Held>, SourceError> {
        let etag = last.as_ref().and_then(|h| h.etag.as_deref());
        let unavailable =
            |why: String| SourceError::unavailable(format!("registry service {url}: {why}"));
        let answer = self.client.get(url, etag).await.map_err(unavailable)?;
        let fresh = if answer.no_cache {
            Duration::ZERO
        } else {
            answer
                .max_age
                .unwrap_or(self.config.default_fresh)
                .min(self.config.max_fresh)
        };
        match answer.status {
            200 => {
                let registration = parse_answer(id, &answer.body).map_err(unavailable)?;
                let held = Held {
                    registration: Arc::new(registration),
                    etag: answer.etag,
                };
                Ok(if answer.no_store {
                    Remote::Uncached(held)
                } else {
                    Remote::Value(held, fresh)
                })
            }
            304 if etag.is_some() => Ok(Remote::NotModified(fresh)),
            404 | 410 => Ok(Remote::Absent),
            status => Err(unavailable(format!("answered HTTP {status}"))),
        }
    }
}

/// A 200's body → a validated registration with the requested id.
fn parse_answer(id: &str, body: &[u8]) -> Result<Registration, String> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("registration {id:?}: the answer is not JSON: {e}"))?;
    let registration = from_value(&value).map_err(|e| format!("invalid registration: {e}"))?;
    if registration.id.as_str() != id {
        return Err(format!(
            "registration {id:?}: the answer is registration {:?}",
            registration.id.as_str()
        ));
    }
    Ok(registration)
}

impl RegistrySource for HttpRegistry {
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Registration>>, SourceError>> {
        Box::pin(async move {
            let Some(url) = item_url(&self.base, "registrations", id) else {
                return Ok(None);
            };
            let lookup = self
                .cache
                .get(id, |last| self.fetch(id, &url, last))
                .await?;
            if lookup.stale {
                tracing::warn!(registration = %id, "registry service failing; serving the last good registration");
            }
            Ok(lookup.value.map(|h| h.registration))
        })
    }

    fn describe(&self) -> String {
        format!("registry service {}", self.base)
    }
}

impl std::fmt::Debug for HttpRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRegistry")
            .field("base", &self.base.as_str())
            .field("config", &self.config)
            .field("entries", &self.cache.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        let strict = EgressPolicy::default();
        let local = EgressPolicy::default()
            .allow_http(true)
            .allow("127.0.0.1")
            .unwrap();
        assert!(base_url("https://registry.example/v1", &strict).is_ok());
        assert!(base_url("http://127.0.0.1:1", &strict).is_err());
        // https alone does not make an internal address reachable.
        assert!(base_url("https://127.0.0.1:1", &strict).is_err());
        assert!(base_url("https://[::ffff:10.0.0.1]/", &strict).is_err());
        assert!(base_url("http://127.0.0.1:1", &local).is_ok());
        assert!(base_url("http://127.0.0.2:1", &local).is_err());
        let e = base_url("https://user:pw@registry.example/", &strict).unwrap_err();
        assert!(!e.to_string().contains("pw"), "{e}");
        assert!(base_url("https://registry.example/?a=b", &strict).is_err());
        assert!(base_url("ftp://registry.example/", &local).is_err());
        assert!(base_url("registry.example", &local).is_err());
    }

    #[test]
    fn ids_are_one_encoded_segment() {
        let base = Url::parse("https://r.example/api/").unwrap();
        let url = |id| item_url(&base, "registrations", id).map(|u| u.to_string());
        assert_eq!(
            url("quid-1").as_deref(),
            Some("https://r.example/api/registrations/quid-1")
        );
        assert_eq!(
            url("a/b?c#d%").as_deref(),
            Some("https://r.example/api/registrations/a%2Fb%3Fc%23d%25")
        );
        assert_eq!(url(".."), None);
        assert_eq!(url(""), None);
    }

    #[test]
    fn bearer_is_redacted() {
        let config = HttpRegistryConfig {
            client: HttpClientConfig {
                bearer: Some(Secret::new("s3cret-token")),
                ..HttpClientConfig::default()
            },
            ..HttpRegistryConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let source = HttpRegistry::new("https://r.example", config).unwrap();
        assert!(!format!("{source:?}").contains("s3cret"));
    }

    #[test]
    fn answers_must_be_valid_and_name_the_id() {
        let good = br#"{"id":"quid-1","provider":"jwks","client_id":"a","jwks_uri":"https://i.example/k"}"#;
        assert!(parse_answer("quid-1", good).is_ok());
        let other = parse_answer("quid-2", good).unwrap_err();
        assert!(
            other.contains("quid-2") && other.contains("quid-1"),
            "{other}"
        );
        let bad = br#"{"id":"quid-1","provider":"jwks","client_id":"a","jwks_uri":"https://i.example/k","algorithms":["HS256"]}"#;
        let e = parse_answer("quid-1", bad).unwrap_err();
        assert!(e.contains("quid-1") && e.contains("algorithms"), "{e}");
        assert!(parse_answer("quid-1", b"<html>").is_err());
    }
}
