//! Metrics, through the [`metrics`](https://docs.rs/metrics) facade: the
//! application installs the recorder (Prometheus, StatsD, …); without one,
//! every call below is a no-op.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `fedauth_decisions_total` | counter | `outcome` (`accepted`, `refused`), `code` (a refusal code, `none` when accepted); `registration` only when opted in | authentication decisions of the [`Authenticator`](crate::Authenticator); with [`registration_metric_labels`](crate::AuthenticatorBuilder::registration_metric_labels) on, `registration` is the registration id once it resolved, empty for `unknown_registration`, `registry_unavailable` and refusals before the registration is read (so an attacker cannot grow the label set) |
//! | `fedauth_key_fetches_total` | counter | `kind` (`jwks`, `discovery`), `outcome` (`ok`, `error`) | fetches of key sets and discovery documents from identity providers |
//! | `fedauth_fetch_duration_seconds` | histogram | `kind` (`jwks`, `discovery`) | how long those fetches took, failed ones included |
//! | `fedauth_cache_requests_total` | counter | `cache` (`jwks`, `discovery`, `registry`, `token`, `introspection`, `verification`, `userinfo`), `result` (`hit`, `miss`) | cache lookups; `miss`: the lookup waited on a fetch (for `token`, the verified-token cache: a miss means a full verification); a request answered by a thread's hot set counts as a hit of `registry` and `token`, whose answers it holds |
//! | `fedauth_stale_documents` | gauge | `kind` (`jwks`, `discovery`) | documents currently served past their freshness because the identity provider cannot be reached (last-known-good); non-zero means an IdP is down |
//! | `fedauth_background_refreshes_total` | counter | `kind` (`jwks`, `discovery`) | refreshes started ahead of expiry, off the request path |
//!
//! Per-registration labels are off by default: registration ids name the
//! platform's customers, and a `/metrics` endpoint is often reachable
//! without authentication, so an operator turns them on
//! ([`AuthenticatorBuilder::registration_metric_labels`](crate::AuthenticatorBuilder::registration_metric_labels))
//! only where the metrics are private. Off, decisions carry no
//! `registration` label at all.
//!
//! Label values are static strings or the registration id (shared, not
//! copied). On the request path the handles are registered with the
//! recorder once and then reused — the registry and verified-token caches'
//! hit and miss counters once per [`Authenticator`](crate::Authenticator)
//! (those of the key-set and discovery caches too, which a full
//! verification consults),
//! a registration's `accepted` counter once each time the registry cache
//! loads it — so an accepted request costs three atomic additions, not
//! three lookups in the recorder's registry. A handle stays with the
//! recorder that was current when it was registered: install the recorder
//! before serving, as the `metrics` crate asks of every application.
//! Role checks ([`AuthContext::require_role`](crate::AuthContext::require_role),
//! which both adapters use) run after the authenticator accepted the
//! request and count their refusals too, so such a request shows as one
//! `accepted` and one `insufficient_role` decision; an extractor's
//! `missing_token` in optional mode is not counted.

use std::sync::{Arc, OnceLock};

use metrics::Counter;

use crate::error::AuthError;

/// `fedauth_decisions_total`.
pub const DECISIONS: &str = "fedauth_decisions_total";
/// `fedauth_key_fetches_total`.
pub const KEY_FETCHES: &str = "fedauth_key_fetches_total";
/// `fedauth_fetch_duration_seconds`.
pub const FETCH_DURATION: &str = "fedauth_fetch_duration_seconds";
/// `fedauth_cache_requests_total`.
pub const CACHE_REQUESTS: &str = "fedauth_cache_requests_total";
/// `fedauth_stale_documents`.
pub const STALE_DOCUMENTS: &str = "fedauth_stale_documents";
/// `fedauth_background_refreshes_total`.
pub const BACKGROUND_REFRESHES: &str = "fedauth_background_refreshes_total";

/// `fedauth_decisions_total{outcome="accepted"}` of one registration,
/// registered on first use.
#[derive(Debug, Default)]
pub(crate) struct AcceptedCounter(OnceLock<Counter>);

impl AcceptedCounter {
    /// An accepted request of this registration; `labelled`: whether the
    /// decisions carry the registration id (the same for every call on one
    /// counter: it belongs to one authenticator's registry cache).
    pub(crate) fn increment(&self, registration: &Arc<str>, labelled: bool) {
        self.0
            .get_or_init(|| match labelled {
                true => metrics::counter!(
                    DECISIONS,
                    "outcome" => "accepted",
                    "code" => "none",
                    "registration" => registration.clone(),
                ),
                false => metrics::counter!(
                    DECISIONS,
                    "outcome" => "accepted",
                    "code" => "none",
                ),
            })
            .increment(1);
    }
}

/// A refused request; `registration` is `None` when it did not resolve;
/// `labelled`: whether decisions carry the registration label at all.
pub(crate) fn refused(error: &AuthError, registration: Option<&Arc<str>>, labelled: bool) {
    let code = error.code().as_str();
    match (labelled, registration) {
        (false, _) => metrics::counter!(
            DECISIONS,
            "outcome" => "refused",
            "code" => code,
        )
        .increment(1),
        (true, Some(id)) => metrics::counter!(
            DECISIONS,
            "outcome" => "refused",
            "code" => code,
            "registration" => id.clone(),
        )
        .increment(1),
        (true, None) => metrics::counter!(
            DECISIONS,
            "outcome" => "refused",
            "code" => code,
            "registration" => "",
        )
        .increment(1),
    }
}

/// A lookup in one of the caches off the hot path (opaque tokens,
/// userinfo): they are consulted on a cache miss of the verified-token
/// cache at most.
pub(crate) fn cache(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
}

/// The hit and miss counters of a cache consulted on every request (the
/// registry and verified-token caches) or every full verification (key
/// sets, discovery), registered on first use.
#[derive(Debug)]
pub(crate) struct CacheCounters {
    cache: &'static str,
    handles: OnceLock<[Counter; 2]>,
}

impl CacheCounters {
    /// The counters of the cache labelled `cache`.
    pub(crate) fn new(cache: &'static str) -> Self {
        Self {
            cache,
            handles: OnceLock::new(),
        }
    }

    /// A lookup that hit (`true`) or missed.
    pub(crate) fn record(&self, hit: bool) {
        let [hits, misses] = self.handles.get_or_init(|| {
            [
                metrics::counter!(CACHE_REQUESTS, "cache" => self.cache, "result" => "hit"),
                metrics::counter!(CACHE_REQUESTS, "cache" => self.cache, "result" => "miss"),
            ]
        });
        if hit { hits } else { misses }.increment(1);
    }
}

/// A fetch from an identity provider.
pub(crate) fn fetch(kind: &'static str, ok: bool, elapsed: std::time::Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!(KEY_FETCHES, "kind" => kind, "outcome" => outcome).increment(1);
    metrics::histogram!(FETCH_DURATION, "kind" => kind).record(elapsed.as_secs_f64());
}

/// One more (`+1.0`) or one fewer (`-1.0`) document served stale.
pub(crate) fn stale(kind: &'static str, delta: f64) {
    let gauge = metrics::gauge!(STALE_DOCUMENTS, "kind" => kind);
    if delta >= 0.0 {
        gauge.increment(delta);
    } else {
        gauge.decrement(-delta);
    }
}

/// A refresh started ahead of expiry.
pub(crate) fn background_refresh(kind: &'static str) {
    metrics::counter!(BACKGROUND_REFRESHES, "kind" => kind).increment(1);
}
