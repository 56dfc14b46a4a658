//! The resolver behind every outgoing connection: it resolves a host name
//! once, checks every address against the [`EgressPolicy`], and hands the
//! connector only the addresses it allowed — the connection cannot go
//! anywhere the check did not see.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::policy::{EgressPolicy, Refusal};

/// Resolves with the system resolver, then applies the policy.
pub(super) struct PolicyResolver {
    pub(super) policy: Arc<EgressPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            // Boxed as the trait object itself (not a box in a box), so
            // the client finds the `Refusal` in the error's source chain.
            let allowed = policy.allowed_addrs(&host, addrs).map_err(
                |refusal: Refusal| -> Box<dyn std::error::Error + Send + Sync> {
                    Box::new(refusal)
                },
            )?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
