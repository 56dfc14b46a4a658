use tower_layer::Layer;

use super::FedAuthService;
use crate::Authenticator;

/// Applies [`FedAuthService`]: every request must carry valid credentials
/// (or, in optional mode, none at all).
#[derive(Debug, Clone)]
pub struct FedAuthLayer {
    auth: Authenticator,
    optional: bool,
}

impl FedAuthLayer {
    /// Require valid credentials on every request.
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: false,
        }
    }

    /// Let requests with neither auth header through without a context;
    /// requests that present credentials must still present valid ones.
    pub fn optional(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: true,
        }
    }
}

impl<S> Layer<S> for FedAuthLayer {
    type Service = FedAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FedAuthService::new(inner, self.auth.clone(), self.optional)
    }
}
