//! Sender-constrained tokens: DPoP (RFC 9449) and certificate-bound tokens
//! (RFC 8705). A bearer token works for whoever holds it; a bound token
//! names a key (`cnf.jkt`) or a TLS client certificate (`cnf["x5t#S256"]`)
//! and is accepted only from a caller that proves it holds that key or
//! certificate, on every request (`docs/dpop.md` in the repository).
//!
//! What the platform configures here is the same for every registration:
//! the external URL DPoP proofs name ([`DpopConfig::public_url`]), the
//! proof algorithms, the `iat` window, the replay cache and the nonces
//! ([`DpopConfig`]), and where a client certificate comes from
//! ([`ClientCertSource`]). Each registration says whether it allows or
//! requires each binding (`dpop`, `dpop_nonce`, `mtls` in the registry).
//!
//! The checks are one step of the decision,
//! [`Check::SenderConstraint`](crate::Check::SenderConstraint), after the
//! claims and before the user directory; they run on every request, also
//! when the token itself is answered from the verified-token cache or the
//! per-thread hot set, against the binding remembered with the token.

mod cert;
mod check;
mod confirmation;
mod htu;
mod nonce;
mod presented;
mod proof;
mod replay;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderName;
use jsonwebtoken::Algorithm;
use url::Url;

use crate::registration::{ALLOWED_ALGORITHMS, Secret};

pub(crate) use check::{Binding, EarlyProof};
pub(crate) use confirmation::Confirmation;
pub(crate) use presented::{Presented, Scheme};

/// The DER of the TLS client certificate of the connection a request came
/// on, put in the request's extensions by the server's TLS acceptor (a
/// rustls acceptor has it as the first of `peer_certificates()`), for
/// certificate-bound tokens with [`ClientCertSource::Connection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate(pub Bytes);

/// Where the client certificate of a request comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientCertSource {
    /// The TLS connection's own ([`PeerCertificate`] in the request's
    /// extensions, or the adapter's connection data). Headers are never
    /// read: a caller cannot claim a certificate by sending one.
    #[default]
    Connection,
    /// A header set by a TLS-terminating proxy in front of the server. Only
    /// configure this behind a proxy that always sets or removes the
    /// header: a caller reaching the server directly could send its own.
    Header {
        /// The header name (e.g. `x-ssl-client-cert`).
        name: HeaderName,
        /// How the proxy writes the certificate in it.
        format: ClientCertFormat,
    },
}

/// How a proxy writes the client certificate in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientCertFormat {
    /// The URL-encoded PEM of nginx's `$ssl_client_escaped_cert`.
    NginxEscapedPem,
    /// Envoy's `x-forwarded-client-cert`: the `Cert="…"` element (the
    /// URL-encoded PEM) of its last entry, the one the proxy next to this
    /// server appended.
    EnvoyXfcc,
}

/// How DPoP proofs are checked (RFC 9449 §4.3), for every registration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DpopConfig {
    /// The external base URL of the server (scheme, host, optional port
    /// and path prefix, no trailing slash): a proof's `htu` must be this
    /// plus the request path. `None` (default): `http://{Host}` from the
    /// request, right only when the server is reached directly over plain
    /// HTTP.
    pub public_url: Option<Url>,
    /// How far a proof's `iat` may be from now, either way, on top of the
    /// registration's `leeway_seconds`. Default 60 s.
    pub iat_window: Duration,
    /// The proof algorithms accepted, and listed in the challenge's
    /// `algs`. Only asymmetric ones ever are (`none` and `HS*` are refused
    /// whatever this lists). Default: every algorithm a registration may
    /// allow (RS256–512, PS256–512, ES256, ES384, EdDSA).
    pub algorithms: Vec<Algorithm>,
    /// Bytes of the replay cache of proof ids (`jti`). When it is full,
    /// the oldest ids are forgotten and proofs as old as them are refused
    /// from then on, so a forgotten id can never be replayed: the
    /// accepted window shrinks instead. Default 16 MiB (about 170,000
    /// proofs).
    pub replay_cache_bytes: u64,
    /// Bytes of the cache of parsed proof headers (each client's key,
    /// parsed once). Default 4 MiB.
    pub key_cache_bytes: u64,
    /// How often the server nonce changes (RFC 9449 §8); a nonce is
    /// accepted during its period and the next. Default 60 s.
    pub nonce_rotation: Duration,
    /// The secret nonces are derived from. `None` (default): a random one
    /// per authenticator, so a proof only works on the server that issued
    /// its nonce. Servers given the same secret accept each other's nonces.
    pub nonce_secret: Option<Secret>,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            iat_window: Duration::from_secs(60),
            algorithms: ALLOWED_ALGORITHMS.to_vec(),
            replay_cache_bytes: 16 * 1024 * 1024,
            key_cache_bytes: 4 * 1024 * 1024,
            nonce_rotation: Duration::from_secs(60),
            nonce_secret: None,
        }
    }
}

impl DpopConfig {
    /// Sets [`public_url`](Self#structfield.public_url).
    pub fn public_url(mut self, url: Url) -> Self {
        self.public_url = Some(url);
        self
    }

    /// Sets [`nonce_secret`](Self#structfield.nonce_secret).
    pub fn nonce_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.nonce_secret = Some(secret.into());
        self
    }

    /// The accepted proof algorithms: the configured ones that are
    /// asymmetric, in order, without repeats.
    fn accepted_algorithms(&self) -> Vec<Algorithm> {
        let mut out: Vec<Algorithm> = Vec::with_capacity(self.algorithms.len());
        for alg in &self.algorithms {
            if ALLOWED_ALGORITHMS.contains(alg) && !out.contains(alg) {
                out.push(*alg);
            }
        }
        out
    }
}

crate::setters::setters!(DpopConfig {
    iat_window: Duration,
    algorithms: Vec<Algorithm>,
    replay_cache_bytes: u64,
    key_cache_bytes: u64,
    nonce_rotation: Duration,
});

/// The `algs` of the `DPoP` challenge: the accepted algorithms,
/// space-separated.
fn algs_text(algorithms: &[Algorithm]) -> Arc<str> {
    let names: Vec<String> = algorithms.iter().map(|a| format!("{a:?}")).collect();
    names.join(" ").into()
}
