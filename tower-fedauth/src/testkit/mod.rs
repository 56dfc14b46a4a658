//! Test kit: an in-process mock identity provider with real keys, real
//! signatures and real HTTP on `127.0.0.1` (ephemeral port).
//!
//! - [`TestKey`]: RSA, ECDSA P-256/P-384 and Ed25519 keys that sign every JWS
//!   algorithm a verifier may accept, and export JWKs, SPKI DER and PEM;
//!   [`certificate_pem`] / [`certificate_map`] wrap RSA keys in self-signed
//!   X.509 certificates, in Google's `{kid: PEM}` map (Firebase).
//! - [`TokenBuilder`]: mints valid tokens, provider-shaped claim sets (Entra
//!   ID, Cognito, Auth0, Firebase) and malicious ones (`alg: none`, HMAC key
//!   confusion, wrong `kid`, tampered claims, ...).
//! - [`MockIdp`]: serves discovery, JWKS (or an X.509 certificate map) and
//!   userinfo, counts fetches, and
//!   simulates rotation, outages, slowness and lying discovery documents.
//! - [`MockOpaqueIdp`]: an RFC 7662 introspection endpoint and a custom
//!   verification endpoint (opaque tokens) that record what they receive.
//! - [`DpopKey`], [`DpopProof`], [`ClientCert`]: sender-constrained tokens
//!   ([`TokenBuilder::dpop_bound`], [`TokenBuilder::cert_bound`]) and what
//!   a caller presents with them.
//!
//! ```no_run
//! # async fn demo() {
//! use tower_fedauth::testkit::MockIdp;
//!
//! let idp = MockIdp::start().await;
//! let token = idp.token().claim("scope", "read").sign(&idp.signing_key());
//! # let _ = (token, idp.jwks_uri());
//! # }
//! ```

pub mod client_cert;
pub mod dpop;
pub mod keys;
pub mod opaque;
pub mod server;
pub mod token;
pub mod x509;

#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod tests;

pub use client_cert::ClientCert;
pub use dpop::{DpopKey, DpopProof, ath_of};
pub use keys::{KeyKind, TestKey, jwks};
pub use opaque::{MockAnswer, MockOpaqueIdp, RecordedRequest};
pub use server::{DEFAULT_CLIENT_ID, MockIdp};
pub use token::TokenBuilder;
pub use x509::{certificate_der, certificate_map, certificate_pem};

/// The egress policy of tests whose IdPs the test kit serves: plain `http`
/// to `127.0.0.1` and nothing else, so every test still goes through the
/// policy (any other loopback address, e.g. `127.0.0.2`, stays refused).
pub fn local_egress() -> crate::egress::EgressPolicy {
    crate::egress::EgressPolicy::new()
        .allow_http(true)
        .allow_network(ipnet::IpNet::from(std::net::IpAddr::from(
            std::net::Ipv4Addr::LOCALHOST,
        )))
}
