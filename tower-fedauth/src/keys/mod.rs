//! Signing keys: key set parsing (JWKS and Google's X.509 certificate map),
//! fetching, caching, OIDC discovery.

mod cache;
mod certs;
mod discovery;
mod key;
mod probe;
#[cfg(all(test, feature = "testkit"))]
mod probe_tests;
mod set;
mod signature;

pub(crate) use crate::egress::Fetcher;
pub use crate::egress::{FetchConfig, FetchError};
pub use cache::CachePolicy;
pub(crate) use cache::{Document, DocumentCache};
pub(crate) use discovery::{DiscoveryDocument, discovery_url_for};
pub(crate) use key::KeyLiveness;
pub use key::{KeyType, MIN_RSA_BITS, VerificationKey};
pub use probe::{IdpProbe, ProbeFailure, ProbeField, ProbeProblem};
pub(crate) use set::parse_key;
pub use set::{KeySet, KeySetError};

impl Document for KeySet {
    const KIND: &'static str = "key set";
    const METRIC_KIND: &'static str = "jwks";
    fn parse(body: &[u8]) -> Result<Self, String> {
        KeySet::from_document_slice(body).map_err(|e| e.to_string())
    }
    fn succeed(&mut self, previous: &Self) {
        KeySet::succeed(self, previous);
    }
    /// Each key as parsed (its components, the backend's parsed key, its
    /// published material) at up to 4 KiB, plus its `kid` and `issuer`.
    fn weight(&self, _body_len: usize) -> usize {
        self.keys()
            .iter()
            .map(|k| {
                let kid = k.kid.as_ref().map_or(0, String::len);
                4096 + kid + k.issuer.as_ref().map_or(0, String::len)
            })
            .sum::<usize>()
            + std::mem::size_of::<Self>()
    }
}
