//! Outgoing requests and the policy that governs them.
//!
//! Every URL fedauth fetches comes from a third party, or from a document a
//! third party serves: key sets, discovery documents, userinfo,
//! introspection and verification endpoints. A registered application must
//! not be able to make the platform call its own internal network (SSRF), so
//! every outgoing request — those and the operator's HTTP registry and user
//! directory — goes through one client (`Fetcher`) that applies one
//! [`EgressPolicy`]:
//!
//! - `https` only, unless plain `http` is allowed;
//! - public unicast addresses only ([`classify`] lists what is not),
//!   unless the operator allows more networks or exact host names;
//! - a host name is resolved once, every address it resolves to is checked,
//!   and the connection goes only to the allowed ones (no second
//!   resolution: DNS rebinding cannot slip in between); a name with no
//!   allowed address is refused;
//! - each redirect hop is checked by the same rule, at most
//!   [`FetchConfig::max_redirects`] of them, and requests that carry the
//!   caller's token or a credential follow none;
//! - no proxy from the environment: a proxy would make the destination
//!   check meaningless;
//! - a refused destination is never connected to.
//!
//! What an outgoing request met (URL, address, status, connection error)
//! goes to logs and to `fedauth explain`, never into a response to the
//! caller.

mod client;
mod policy;
mod ranges;
mod resolve;

pub(crate) use client::{Answer, Fetched, Fetcher, Outgoing, Redirects, cache_control};
pub use client::{FetchConfig, FetchError};
pub use policy::{EgressPolicy, ParseAllowError, Refusal};
pub use ranges::{Special, classify};
