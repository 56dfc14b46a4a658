//! Signing keys: key set parsing, fetching, caching, OIDC discovery.

mod cache;
mod discovery;
mod fetch;
mod set;

pub use cache::{CachePolicy, Document, DocumentCache, Snapshot, Unavailable};
pub use discovery::{DiscoveryDocument, discovery_url_for};
pub use fetch::{FetchConfig, FetchError, Fetched, Fetcher};
pub use set::{KeySet, KeySetError, KeyType, MIN_RSA_BITS, VerificationKey};

impl Document for KeySet {
    const KIND: &'static str = "key set";
    fn parse(body: &[u8]) -> Result<Self, String> {
        KeySet::from_jwks_slice(body).map_err(|e| e.to_string())
    }
}
