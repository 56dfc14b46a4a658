//! The tower middleware: [`FedAuthLayer`] wraps a service so that it sees a
//! request only when its credentials verify, with the [`AuthContext`] and
//! [`Claims`] in its extensions.
//!
//! [`AuthContext`]: crate::AuthContext
//! [`Claims`]: crate::Claims

mod body;
mod exchange;
mod future;
#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::FedAuthLayer;
pub use service::FedAuthService;
