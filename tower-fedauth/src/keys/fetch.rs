//! Fetching documents from an identity provider: https only (unless the
//! operator allows http), a timeout, a size cap and bounded redirects.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use url::Url;

/// Limits of every outgoing fetch.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Whole-request timeout (connect, headers and body). Default 5 s.
    pub timeout: Duration,
    /// Largest accepted body. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Accept `http://` URLs (local IdPs, tests). Default off.
    pub allow_http: bool,
    /// Redirects followed at most. Default 3.
    pub max_redirects: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            allow_http: false,
            max_redirects: 3,
        }
    }
}

/// Why a fetch failed. Never contains a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The URL is `http://` and http is not allowed.
    #[error("{0} is not https and plain http is not allowed")]
    HttpNotAllowed(String),
    /// The server answered a non-2xx status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body exceeded the size cap.
    #[error("{url} answered more than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// Timeout, connection refused, too many redirects, TLS failure.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// A fetched document with the caching advice of its response.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The body.
    pub body: Bytes,
    /// `Cache-Control: max-age`, if given.
    pub max_age: Option<Duration>,
    /// `Cache-Control: no-cache` or `no-store`.
    pub no_cache: bool,
}

/// The HTTP client behind key sets, discovery, userinfo and introspection.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
}

/// Parse `Cache-Control` into (max-age, no-cache).
pub(crate) fn cache_control(value: Option<&str>) -> (Option<Duration>, bool) {
    let mut max_age = None;
    let mut no_cache = false;
    for directive in value.unwrap_or("").split(',') {
        let d = directive.trim();
        if let Some(v) = d
            .strip_prefix("max-age=")
            .or_else(|| d.strip_prefix("s-maxage="))
        {
            if let Ok(secs) = v.trim_matches('"').parse::<u64>() {
                max_age = Some(Duration::from_secs(secs));
            }
        } else if d.eq_ignore_ascii_case("no-cache") || d.eq_ignore_ascii_case("no-store") {
            no_cache = true;
        }
    }
    (max_age, no_cache)
}

impl Fetcher {
    /// Build a client with these limits.
    pub fn new(config: FetchConfig) -> Self {
        let allow_http = config.allow_http;
        let max_redirects = config.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                attempt.error("too many redirects")
            } else if attempt.url().scheme() != "https" && !allow_http {
                attempt.error("redirect to a non-https URL")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(policy)
            .user_agent(concat!("tower-fedauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { client, config }
    }

    /// The limits in force.
    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Refuse plain http unless allowed.
    pub fn check_scheme(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.config.allow_http => Ok(()),
            _ => Err(FetchError::HttpNotAllowed(url.to_string())),
        }
    }

    /// The underlying client, for requests other than a plain GET.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// GET `url` (optionally with a bearer credential) and read at most the
    /// size cap.
    pub async fn get(&self, url: &Url, bearer: Option<&str>) -> Result<Fetched, FetchError> {
        self.check_scheme(url)?;
        let mut req = self
            .client
            .get(url.clone())
            .header(http::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        self.send(req, url).await
    }

    /// Send a prepared request and read the answer within the limits.
    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Fetched, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.to_string(),
            reason: describe(&e),
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let (max_age, no_cache) = cache_control(
            resp.headers()
                .get(http::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
        );
        let limit = self.config.max_body_bytes;
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit,
        };
        if resp.content_length().is_some_and(|l| l > limit as u64) {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            body: body.freeze(),
            max_age,
            no_cache,
        })
    }
}

/// A short reason without the URL (the error carries it already).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_redirect() {
        "redirect refused (loop, too many, or to plain http)".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        let mut s = e.to_string();
        if let Some(u) = e.url() {
            s = s.replace(u.as_str(), "");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_directives() {
        assert_eq!(
            cache_control(Some("public, max-age=3600, must-revalidate")),
            (Some(Duration::from_secs(3600)), false)
        );
        assert_eq!(cache_control(Some("no-store")), (None, true));
        assert_eq!(cache_control(None), (None, false));
        assert_eq!(cache_control(Some("max-age=abc")), (None, false));
    }

    #[test]
    fn http_is_refused_unless_allowed() {
        let strict = Fetcher::new(FetchConfig::default());
        let url = Url::parse("http://127.0.0.1/keys").unwrap();
        assert!(matches!(
            strict.check_scheme(&url),
            Err(FetchError::HttpNotAllowed(_))
        ));
        let lax = Fetcher::new(FetchConfig {
            allow_http: true,
            ..Default::default()
        });
        assert!(lax.check_scheme(&url).is_ok());
    }
}
