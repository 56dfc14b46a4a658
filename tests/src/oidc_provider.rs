//! The real OpenID provider (node `oidc-provider`): the crate
//! `fedauth-oidc-provider` (`tests/oidc-provider`), which the example
//! servers' tests share; re-exported here under its old path.

pub use fedauth_oidc_provider::*;
