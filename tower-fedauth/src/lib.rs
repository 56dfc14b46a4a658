//! tower-fedauth: accept API calls from third-party applications signed in
//! with *their own* identity provider.
//!
//! A caller sends `Authorization` (a token from its IdP) and `x-sc-auth`
//! (the id of its application registration on the platform). The
//! [`Authenticator`] resolves the registration, verifies the token against
//! the registration's identity provider (keys cached, refreshed on rotation)
//! and grants the roles the platform assigned. [`FedAuthLayer`] puts the
//! resulting [`AuthContext`] and [`Claims`] in the request's extensions.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "tower-fedauth needs a crypto backend: enable the `aws-lc-rs` (default) or the `rust-crypto` feature"
);

mod authenticator;
pub mod claims;
pub mod context;
mod crypto;
pub mod error;
pub mod headers;
pub mod keys;
pub mod layer;
pub mod property;
pub mod registration;
pub mod registry;
#[cfg(feature = "testkit")]
pub mod testkit;
mod token;
mod verify;

pub use authenticator::{Authenticator, AuthenticatorBuilder, Prepared, WarmUpReport};
pub use claims::{Claims, StandardClaims};
pub use context::{AuthContext, Principal, Roles};
pub use error::{AuthError, ErrorCode, RenderedRefusal};
pub use headers::{Credentials, HeaderConfig, RequestView};
pub use layer::{FedAuthLayer, FedAuthService, ResponseBody};
pub use property::PropertyResolver;
pub use registration::{Provider, Registration, RegistrationId, TokenUse};
pub use registry::{CachedRegistry, FileRegistry, InMemoryRegistry, RegistrySource};
#[cfg(all(test, feature = "testkit"))]
mod backend_tests;
