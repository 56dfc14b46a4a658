//! [`Fetcher`]: the one HTTP client of every outgoing request.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use super::policy::{EgressPolicy, Refusal};
use super::resolve::PolicyResolver;

/// Limits and policy of every outgoing request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchConfig {
    /// Whole-request timeout (connect, headers and body). Default 5 s.
    pub timeout: Duration,
    /// Largest accepted body (key sets, discovery, introspection and
    /// verification answers). Default 1 MiB.
    pub max_body_bytes: usize,
    /// Largest accepted userinfo answer. Default 64 KiB: a userinfo answer
    /// is a handful of claims, and it is cached per token.
    pub max_userinfo_bytes: usize,
    /// Redirects followed at most (key sets and discovery only; requests
    /// that carry a token or a credential follow none). Default 3.
    pub max_redirects: usize,
    /// Which destinations may be reached. Default: `https` to public
    /// unicast addresses only.
    pub egress: EgressPolicy,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            max_userinfo_bytes: 64 * 1024,
            max_redirects: 3,
            egress: EgressPolicy::default(),
        }
    }
}

crate::setters::setters!(FetchConfig {
    timeout: Duration,
    max_body_bytes: usize,
    max_userinfo_bytes: usize,
    max_redirects: usize,
    egress: EgressPolicy,
});

/// Why an outgoing request failed. Its text names the URL and what the
/// request met: for logs and `fedauth explain`, never for a response to
/// the caller. Never contains a credential.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The egress policy refused the destination (or a redirect's); nothing
    /// was sent there.
    #[error("{url}: refused by the egress policy: {refusal}")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        refusal: Refusal,
    },
    /// The server answered a status the caller does not accept.
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

impl FetchError {
    /// What went wrong, without the URL (for callers that name it).
    pub fn reason(&self) -> String {
        match self {
            FetchError::Refused { refusal, .. } => {
                format!("refused by the egress policy: {refusal}")
            }
            FetchError::Status { status, .. } => format!("answered HTTP {status}"),
            FetchError::TooLarge { limit, .. } => format!("answered more than {limit} bytes"),
            FetchError::Transport { reason, .. } => reason.clone(),
        }
    }

    /// Whether the egress policy refused the request.
    pub fn is_refused(&self) -> bool {
        matches!(self, FetchError::Refused { .. })
    }
}

/// A fetched document with the caching advice of its response.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    /// The body.
    pub body: Bytes,
    /// `Cache-Control: s-maxage` or `max-age`, if given.
    pub max_age: Option<Duration>,
    /// `Cache-Control: no-cache` or `no-store`.
    pub no_cache: bool,
}

/// Whether a request may follow redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// Key sets and discovery: up to the configured number, each hop
    /// checked by the policy, never to another scheme.
    Follow,
    /// Requests that carry the caller's token or a credential.
    None,
}

/// A request built by [`Fetcher::request`], whose URL the policy passed.
/// The only way to send anything out.
pub(crate) struct Outgoing {
    builder: reqwest::RequestBuilder,
    url: Url,
    max_body: usize,
}

impl Outgoing {
    /// Add headers, a body, credentials.
    pub(crate) fn with(
        mut self,
        f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Self {
        self.builder = f(self.builder);
        self
    }

    /// Read at most `limit` bytes of the answer.
    pub(crate) fn max_body(mut self, limit: usize) -> Self {
        self.max_body = limit;
        self
    }
}

/// An answer of any status, its body read up to the request's cap.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body went on past the cap (and was cut there).
    pub(crate) cut: bool,
    pub(crate) url: Url,
    pub(crate) limit: usize,
}

impl Answer {
    /// A 2xx answer read whole, or the error a document fetch makes of
    /// anything else.
    pub(crate) fn into_fetched(self) -> Result<Fetched, FetchError> {
        if !self.status.is_success() {
            return Err(FetchError::Status {
                url: shown(&self.url),
                status: self.status.as_u16(),
            });
        }
        if self.cut {
            return Err(FetchError::TooLarge {
                url: shown(&self.url),
                limit: self.limit,
            });
        }
        let advice = cache_control(self.header(http::header::CACHE_CONTROL));
        Ok(Fetched {
            body: self.body,
            max_age: advice.max_age,
            no_cache: advice.no_cache || advice.no_store,
        })
    }

    /// A header as text.
    pub(crate) fn header(&self, name: http::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What `Cache-Control` advises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CacheAdvice {
    /// `s-maxage` (fedauth is a cache shared by every caller of the
    /// platform, so it takes precedence), else `max-age`.
    pub max_age: Option<Duration>,
    /// `no-cache`: revalidate before every reuse.
    pub no_cache: bool,
    /// `no-store`: do not keep.
    pub no_store: bool,
}

/// Parse `Cache-Control` (RFC 9111 §5.2.2), the one parser of every
/// outgoing client.
pub(crate) fn cache_control(value: Option<&str>) -> CacheAdvice {
    let mut advice = CacheAdvice::default();
    let mut shared = None;
    for directive in value.unwrap_or("").split(',') {
        let d = directive.trim();
        let (name, arg) = match d.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (d, None),
        };
        let seconds = || {
            arg.and_then(|a| a.parse::<u64>().ok())
                .map(Duration::from_secs)
        };
        if name.eq_ignore_ascii_case("max-age") {
            advice.max_age = advice.max_age.or(seconds());
        } else if name.eq_ignore_ascii_case("s-maxage") {
            shared = shared.or(seconds());
        } else if name.eq_ignore_ascii_case("no-cache") {
            advice.no_cache = true;
        } else if name.eq_ignore_ascii_case("no-store") {
            advice.no_store = true;
        }
    }
    advice.max_age = shared.or(advice.max_age);
    advice
}

/// The HTTP client of every outgoing request: the egress policy on every
/// destination and redirect hop, a timeout, a size cap. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    follow: reqwest::Client,
    direct: reqwest::Client,
    config: Arc<FetchConfig>,
}

/// A redirect hop to another scheme.
#[derive(Debug, thiserror::Error)]
#[error("redirect to another scheme ({from} to {to})")]
struct SchemeChange {
    from: String,
    to: String,
}

/// More redirects than allowed.
#[derive(Debug, thiserror::Error)]
#[error("more than {0} redirects")]
struct TooManyRedirects(usize);

impl Fetcher {
    /// Build the client with these limits and this policy.
    pub(crate) fn new(config: FetchConfig) -> Self {
        let policy = Arc::new(config.egress.clone());
        let max_redirects = config.max_redirects;
        let hops = Arc::clone(&policy);
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            let from = attempt.previous().last().map(|u| u.scheme().to_owned());
            if attempt.previous().len() > max_redirects {
                attempt.error(TooManyRedirects(max_redirects))
            } else if let Err(refusal) = hops.check_url(attempt.url()) {
                attempt.error(refusal)
            } else if from.as_deref().is_some_and(|s| s != attempt.url().scheme()) {
                let to = attempt.url().scheme().to_owned();
                attempt.error(SchemeChange {
                    from: from.unwrap_or_default(),
                    to,
                })
            } else {
                attempt.follow()
            }
        });
        let build = |redirect: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.timeout)
                .redirect(redirect)
                // An environment proxy would connect on our behalf to
                // addresses the resolver never sees.
                .no_proxy()
                .dns_resolver(PolicyResolver {
                    policy: Arc::clone(&policy),
                })
                .user_agent(concat!("tower-fedauth/", env!("CARGO_PKG_VERSION")))
                .build()
        };
        let (follow, direct) = match (build(redirects), build(reqwest::redirect::Policy::none())) {
            (Ok(follow), Ok(direct)) => (follow, direct),
            (Err(e), _) | (_, Err(e)) => {
                // Only a broken TLS backend gets here. A client without the
                // resolver would bypass the policy, so this one refuses
                // everything instead.
                tracing::error!(error = %e, "cannot build the outgoing HTTP client; every outgoing request will fail");
                let refuse_all = reqwest::Client::builder()
                    .no_proxy()
                    .dns_resolver(PolicyResolver {
                        policy: Arc::new(EgressPolicy::default()),
                    })
                    .build()
                    .unwrap_or_default();
                (refuse_all.clone(), refuse_all)
            }
        };
        Self {
            follow,
            direct,
            config: Arc::new(config),
        }
    }

    /// The limits and policy in force.
    pub(crate) fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// Check a URL against the policy before any resolution (scheme, and
    /// the host when it is an address).
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        self.config
            .egress
            .check_url(url)
            .map_err(|refusal| FetchError::Refused {
                url: shown(url),
                refusal,
            })
    }

    /// Start a request to `url`; the policy checks it first.
    pub(crate) fn request(
        &self,
        method: Method,
        url: &Url,
        redirects: Redirects,
    ) -> Result<Outgoing, FetchError> {
        self.check_url(url)?;
        let client = match redirects {
            Redirects::Follow => &self.follow,
            Redirects::None => &self.direct,
        };
        Ok(Outgoing {
            builder: client.request(method, url.clone()),
            url: url.clone(),
            max_body: self.config.max_body_bytes,
        })
    }

    /// GET a document (key set, discovery), following redirects: a 2xx
    /// answer within the size cap.
    pub(crate) async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        let out = self
            .request(Method::GET, url, Redirects::Follow)?
            .with(|b| b.header(http::header::ACCEPT, "application/json"));
        self.send(out).await?.into_fetched()
    }

    /// Send a request and read its answer, of any status, up to the cap.
    pub(crate) async fn send(&self, out: Outgoing) -> Result<Answer, FetchError> {
        let Outgoing {
            builder,
            url,
            max_body,
        } = out;
        let failed = |e: reqwest::Error| transport(&url, &e);
        let mut resp = builder.send().await.map_err(failed)?;
        let status = resp.status();
        let headers = std::mem::take(resp.headers_mut());
        let mut body = BytesMut::new();
        let mut cut = false;
        if resp.content_length().is_some_and(|l| l > max_body as u64) && status.is_success() {
            cut = true;
        } else {
            while let Some(chunk) = resp.chunk().await.map_err(failed)? {
                let room = max_body - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    cut = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
        Ok(Answer {
            status,
            headers,
            body: body.freeze(),
            cut,
            url,
            limit: max_body,
        })
    }
}

/// A URL for messages: without query, fragment and credentials, which may
/// hold a token or a secret.
pub(crate) fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A transport error as a [`FetchError`]: a refusal by the policy (in the
/// resolver or on a redirect hop) is told apart from a failure.
fn transport(url: &Url, e: &reqwest::Error) -> FetchError {
    let chain = || {
        std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    if let Some(refusal) = chain().find_map(|err| err.downcast_ref::<Refusal>()) {
        return FetchError::Refused {
            url: shown(url),
            refusal: refusal.clone(),
        };
    }
    // Our own redirect refusals say what they are; reqwest's kinds the rest.
    let ours = chain().find_map(|err| {
        err.downcast_ref::<SchemeChange>()
            .map(ToString::to_string)
            .or_else(|| {
                err.downcast_ref::<TooManyRedirects>()
                    .map(ToString::to_string)
            })
    });
    let reason = ours.unwrap_or_else(|| {
        if e.is_timeout() {
            "timed out".into()
        } else if e.is_connect() {
            "connection failed".into()
        } else if e.is_redirect() {
            "redirect refused".into()
        } else {
            // Without the URL: the error carries it already.
            let text = e.to_string();
            e.url()
                .map_or(text.clone(), |u| text.replace(u.as_str(), ""))
        }
    });
    FetchError::Transport {
        url: shown(url),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_directives() {
        let advice = |v| cache_control(Some(v));
        assert_eq!(
            advice("public, max-age=3600, must-revalidate").max_age,
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            advice("max-age=60, s-maxage=600").max_age,
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            advice("s-maxage=600, max-age=60").max_age,
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            advice("Max-Age=\"30\"").max_age,
            Some(Duration::from_secs(30))
        );
        let stored = advice("no-store");
        assert!(stored.no_store && !stored.no_cache && stored.max_age.is_none());
        let revalidate = advice("no-cache, max-age=5");
        assert!(revalidate.no_cache && !revalidate.no_store);
        assert_eq!(cache_control(None), CacheAdvice::default());
        assert_eq!(advice("max-age=abc").max_age, None);
    }

    #[tokio::test]
    async fn a_name_resolving_inside_is_refused_before_any_connection() {
        let fetcher = Fetcher::new(FetchConfig {
            egress: EgressPolicy::new().allow_http(true),
            ..Default::default()
        });
        let url = Url::parse("http://localhost:1/keys").unwrap();
        let got = fetcher.get(&url).await.unwrap_err();
        assert!(
            matches!(
                &got,
                FetchError::Refused {
                    refusal: Refusal::Address { .. },
                    ..
                }
            ),
            "{got:?}"
        );
    }

    #[test]
    fn http_is_refused_unless_allowed() {
        let url = Url::parse("http://8.8.8.8/keys").unwrap();
        let strict = Fetcher::new(FetchConfig::default());
        assert!(matches!(
            strict.check_url(&url),
            Err(FetchError::Refused {
                refusal: Refusal::Scheme(_),
                ..
            })
        ));
        let lax = Fetcher::new(FetchConfig {
            egress: EgressPolicy::new().allow_http(true),
            ..Default::default()
        });
        assert!(lax.check_url(&url).is_ok());
    }
}
