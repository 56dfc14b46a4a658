//! Test kit: an in-process mock identity provider with real keys, real
//! signatures and real HTTP on `127.0.0.1` (ephemeral port).
//!
//! - [`TestKey`]: RSA, ECDSA P-256/P-384 and Ed25519 keys that sign every JWS
//!   algorithm a verifier may accept, and export JWKs, SPKI DER and PEM.
//! - [`TokenBuilder`]: mints valid tokens, provider-shaped claim sets (Entra
//!   ID, Cognito, Auth0, Firebase) and malicious ones (`alg: none`, HMAC key
//!   confusion, wrong `kid`, tampered claims, ...).
//! - [`MockIdp`]: serves discovery, JWKS and userinfo, counts fetches, and
//!   simulates rotation, outages, slowness and lying discovery documents.
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

pub mod keys;
pub mod server;
pub mod token;

#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod tests;

pub use keys::{KeyKind, TestKey, jwks};
pub use server::{DEFAULT_CLIENT_ID, MockIdp};
pub use token::TokenBuilder;
