//! tower-fedauth: accept API calls from third-party applications signed in
//! with *their own* identity provider.
//!
//! A caller sends `Authorization` (a token from its IdP) and `x-sc-auth`
//! (the id of its application registration on the platform). The
//! [`Authenticator`] resolves the registration, verifies the token against
//! the registration's identity provider (keys cached, refreshed on rotation)
//! and grants the roles the platform assigned. [`FedAuthLayer`] puts the
//! resulting [`AuthContext`] and [`Claims`] in the request's extensions.
//!
//! Complete, tested examples for the web frameworks are on the front pages
//! of `fedauth-axum` (the tower layer and axum extractors) and
//! `fedauth-actix` (the actix-web middleware); runnable servers are in the
//! workspace's `examples/`.
//!
//! # Security model
//!
//! Checks run in a fixed order and the first failure is the answer: request
//! shape, registration, token structure, algorithm, key, signature, token
//! kind, issuer, audience, time, other claims, sender constraint (DPoP
//! proof, client certificate), user directory, property and role. No claim
//! is read for a decision before the signature verifies.
//! Never trusted: the token header's choice of algorithm (the registration's
//! allowlist and the key decide; `none` and `HS*` are refused), keys named
//! by the token (`jku`, `x5u`, `jwk`, `x5c`), roles in token claims (roles
//! come only from the registry), and discovery documents naming another
//! issuer. The token is never logged nor echoed in a refusal.
//!
//! # Configuration
//!
//! Registrations (one per application: provider, issuer, audience, key
//! source, algorithms, roles per property) come from a [`RegistrySource`]:
//! [`InMemoryRegistry`], [`FileRegistry`] (TOML or JSON; the format is
//! described in `docs/registry.md` in the repository),
//! `registry::HttpRegistry`, or, with the `postgres` feature,
//! `registry::PostgresRegistry`. Each field is
//! documented on [`Registration`]. The [`AuthenticatorBuilder`] sets the
//! rest:
//!
//! | builder method | default | what it bounds |
//! |---|---|---|
//! | [`headers`](AuthenticatorBuilder::headers) | `authorization`, `x-sc-auth`, 16 KiB token | header names, token size |
//! | [`registry_cache`](AuthenticatorBuilder::registry_cache) | TTL 30 s, unknown ids 10 s, 10 000 entries | how soon registry edits apply |
//! | [`key_cache`](AuthenticatorBuilder::key_cache) | TTL 10 min clamped to [1 min, 1 h] whatever `Cache-Control` says, stale 1 h, kid-miss cooldown 10 s (after a successful refresh), failure back-off 5 s; 64 MiB and 10 000 URLs each for key sets and discovery documents; userinfo answers 32 MiB; introspection and verification answers 64 MiB each | key sets and discovery documents (how long a withdrawn key keeps verifying), and the bytes of every cache of identity-provider answers |
//! | [`token_cache`](AuthenticatorBuilder::token_cache) | on: 5 min, 100 000 tokens, 64 MiB (an entry weighs its claims and principal, userinfo values copied into it included) | the verified-token cache |
//! | [`fetch`](AuthenticatorBuilder::fetch), [`allow_http`](AuthenticatorBuilder::allow_http) | timeout 5 s, 1 MiB (userinfo answers 64 KiB), 3 redirects, https only | every outgoing request |
//! | [`property`](AuthenticatorBuilder::property) | none | where a request names its property |
//! | [`realm`](AuthenticatorBuilder::realm), [`responder`](AuthenticatorBuilder::responder) | `fedauth`, the JSON refusal body | refusals (every code: `docs/refusals.md` in the repository) |
//! | [`user_directory`](AuthenticatorBuilder::user_directory) | none | a user directory consulted after verification |
//! | [`registration_metric_labels`](AuthenticatorBuilder::registration_metric_labels) | off | whether decision metrics carry the registration id |
//! | [`dpop`](AuthenticatorBuilder::dpop), [`client_certificate`](AuthenticatorBuilder::client_certificate) | `htu` from `http://{Host}`, `iat` ±60 s, 16 MiB replay cache, nonces rotating every 60 s; certificates from the connection | sender-constrained tokens ([`binding`]) |
//!
//! Crypto backend: feature `aws-lc-rs` (default) or `rust-crypto`; one must
//! be on (a build without either fails with a message, never a panic). With
//! `aws-lc-rs`, signatures are checked by AWS-LC with each key parsed once;
//! with `rust-crypto` alone, through jsonwebtoken.
//!
//! # Operations
//!
//! Key sets are cached per URL, refreshed on an unknown `kid` at most once
//! per cooldown, refreshed in the background ahead of expiry (jittered), and
//! served last-known-good within a bound while an IdP is down
//! ([`keys::CachePolicy`]). [`Authenticator::warm_up`] fetches keys before
//! serving. A token that passed every check is remembered (keyed by the
//! registration id and the whole token) until its `exp` or 5 minutes
//! ([`TokenCacheConfig`]); the registration, user directory and property
//! roles are still consulted on every request, and a key the IdP removes
//! ends the entries it verified. Every cache of what an identity provider
//! answered is bounded in bytes, each entry weighing what it keeps alive;
//! [`Authenticator::cache_sizes`] reports their weights against their
//! bounds. Metrics go through the `metrics` facade: see [`metrics`] for the
//! table of names and labels.
#![deny(missing_docs)]
#![deny(unreachable_pub)]
#![forbid(unsafe_code)]

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "tower-fedauth needs a crypto backend: enable the `aws-lc-rs` (default) or the `rust-crypto` feature"
);

pub mod adapter;
mod authenticator;
pub mod binding;
mod cache;
pub mod claims;
pub mod context;
mod crypto;
pub mod directory;
pub mod egress;
pub mod error;
pub mod headers;
pub mod jws;
pub mod keys;
pub mod layer;
mod liveness;
pub mod metrics;
mod opaque;
pub mod property;
pub mod providers;
pub mod registration;
pub mod registry;
mod setters;
#[cfg(feature = "testkit")]
pub mod testkit;
mod token;
mod token_cache;
mod verify;
mod weigh;

pub use authenticator::{Authenticator, AuthenticatorBuilder, Immediate, Pending, WarmUpReport};
pub use claims::{Claims, StandardClaims};
pub use context::{AuthContext, Principal, Roles};
pub use directory::{DirectoryConfig, User, UserDirectory};
pub use error::{AuthError, Check, ErrorCode, RenderedRefusal};
pub use headers::{Credentials, HeaderConfig, RequestView};
pub use layer::{FedAuthLayer, FedAuthService, ResponseBody};
pub use opaque::map_verification_answer;
pub use property::PropertyResolver;
pub use registration::{Provider, Registration, RegistrationId, TokenUse};
pub use registry::{CachedRegistry, FileRegistry, InMemoryRegistry, RegistrySource};
pub use token_cache::{TokenAdmission, TokenCacheConfig, TokenCacheStats};
pub use weigh::{CacheSize, CacheSizes};
#[cfg(all(test, feature = "testkit"))]
mod backend_tests;
#[cfg(all(test, feature = "testkit"))]
mod metrics_tests;
#[cfg(all(test, feature = "testkit"))]
mod token_cache_tests;
