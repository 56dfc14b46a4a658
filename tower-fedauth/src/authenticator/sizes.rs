//! What the authenticator's caches of identity-provider answers hold,
//! against their byte bounds (observability, tests).

use super::Authenticator;
use crate::weigh::{CacheSize, CacheSizes};

impl Authenticator {
    /// Entries, weight and byte bound of every cache that holds what an
    /// identity provider answered: key sets, discovery documents, userinfo,
    /// introspection and verification answers, and verified tokens with
    /// what they established. The caches evict as they insert, so each
    /// weight is within its bound at every moment.
    pub fn cache_sizes(&self) -> CacheSizes {
        let inner = &*self.inner;
        let (introspection, verification) = inner.opaque.sizes();
        let tokens = inner.tokens.stats();
        CacheSizes {
            key_sets: inner.keys.size(),
            discovery: inner.discovery.size(),
            userinfo: inner.userinfo.size(),
            introspection,
            verification,
            tokens: CacheSize {
                entries: tokens.entries,
                weighted_bytes: tokens.weighted_bytes,
                max_bytes: inner.tokens.max_bytes(),
            },
        }
    }
}
