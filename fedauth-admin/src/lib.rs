//! fedauth-admin: the admin API of fedauth's application registry.
//!
//! A platform registers applications (the server issues each one's QUID),
//! property admins enable them in their properties with roles, and every
//! change is recorded in an audit log. The API runs over an
//! [`AdminStore`](store::AdminStore): the registry file, PostgreSQL
//! (feature `postgres`) or memory. See the repository's
//! `docs/admin-stores.md` for how each store behaves.

#![deny(missing_docs)]
#![deny(unreachable_pub)]

#[cfg(feature = "actix")]
pub mod actix;
pub mod api;
pub mod authz;
#[cfg(feature = "axum")]
pub mod axum;
pub mod openapi;
pub mod store;

pub use api::{AdminApi, AdminApiBuilder, AdminRequest, AdminResponse};
pub use authz::{AdminAuthorizer, AdminIdentity, StaticTokens};
